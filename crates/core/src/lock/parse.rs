//! The lock file's reading: `serde_norway` for the YAML, into raw values kept as written (a tag `1.10` stays
//! `1.10`, never the number 1.1), then each entry checked with the core's own tag, digest and image rules.
//!
//! The visitors note where they are (entry, key) as they go, so that an error, `serde_norway`'s or one of
//! theirs (unknown key, a key or entry twice), names the entry and the key it is in.

use std::cell::RefCell;
use std::collections::HashSet;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};

use super::{LockEntry, LockError, LockFile, LockKey, Problem, VERSION};
use crate::image::is_valid_digest;
use crate::tag::TagName;

const FILE_KEYS: &str = "a lock file has `version` and `images`";
const ENTRY_KEYS: &str = "an entry has tag, digest, policy, pin, hold and rejected";

/// Where the reading is, and the problem the visitors found there (`None`: `serde_norway`'s error).
#[derive(Default)]
struct Place {
    entry: Option<String>,
    key: Option<String>,
    problem: Option<Problem>,
}

type Shared<'p> = &'p RefCell<Place>;

#[derive(Default)]
struct RawFile {
    version: Option<u64>,
    images: Vec<(String, RawEntry)>,
}

#[derive(Default)]
struct RawEntry {
    tag: Option<String>,
    digest: Option<String>,
    policy: Option<String>,
    pin: Option<String>,
    hold: Option<bool>,
    rejected: Option<Vec<String>>,
}

pub(super) fn parse(text: &str) -> Result<LockFile, LockError> {
    // A byte order mark (some editors write one) is no part of the YAML; libyaml would read it as a second
    // document's start.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let place = RefCell::new(Place::default());
    let read = FileSeed(&place).deserialize(serde_norway::Deserializer::from_str(text));
    let raw = match read {
        Ok(Some(raw)) => raw,
        Ok(None) => return Err(error(None, None, Problem::Empty)),
        Err(e) => {
            let Place {
                entry,
                key,
                problem,
            } = place.into_inner();
            return Err(match problem {
                Some(problem) => error(entry, key, problem),
                None => yaml_error(&e, entry, key),
            });
        }
    };
    check(raw)
}

fn error(entry: Option<String>, key: Option<String>, problem: Problem) -> LockError {
    LockError {
        entry,
        key,
        problem,
    }
}

/// `serde_norway`'s error, named by the entry and key it happened in. Its message starts with the path it
/// happened at (`images.web=ghcr.io/shop/web.hold: invalid type…`), which the entry and key now say; a syntax
/// error has no path, and is where the parser stopped, not necessarily in the entry being read: it names none.
fn yaml_error(e: &serde_norway::Error, entry: Option<String>, key: Option<String>) -> LockError {
    let message = e.to_string();
    let path = match (&entry, &key) {
        (Some(entry), Some(key)) => format!("images.{entry}.{key}"),
        (Some(entry), None) => format!("images.{entry}"),
        (None, Some(key)) => key.clone(),
        (None, None) => String::new(),
    };
    match message.strip_prefix(path.as_str()) {
        Some(rest) if !path.is_empty() => {
            let rest = rest.strip_prefix(": ").unwrap_or(rest);
            error(entry, key, Problem::Yaml(rest.to_owned()))
        }
        _ => error(None, None, Problem::Yaml(message)),
    }
}

/// Each raw entry checked and turned into a [`LockEntry`].
fn check(raw: RawFile) -> Result<LockFile, LockError> {
    match raw.version {
        None => return Err(error(None, None, Problem::NoVersion)),
        Some(VERSION) => {}
        Some(other) => {
            return Err(error(None, Some("version".into()), Problem::Version(other)));
        }
    }
    let mut entries = Vec::with_capacity(raw.images.len());
    for (written, raw) in raw.images {
        let at = |key: Option<&str>, problem| {
            error(Some(written.clone()), key.map(str::to_owned), problem)
        };
        let key = LockKey::parse(&written).map_err(|e| at(None, Problem::Key(e)))?;
        let tag_of = |field: &str, text: String| {
            TagName::new(text).map_err(|e| at(Some(field), Problem::Tag(e)))
        };
        let tag = tag_of("tag", raw.tag.ok_or_else(|| at(None, Problem::NoTag))?)?;
        if let Some(digest) = &raw.digest
            && !is_valid_digest(digest)
        {
            return Err(at(Some("digest"), Problem::Digest(digest.clone())));
        }
        let pin = raw.pin.map(|p| tag_of("pin", p)).transpose()?;
        let mut rejected: Vec<TagName> = Vec::new();
        for text in raw.rejected.unwrap_or_default() {
            let name = tag_of("rejected", text)?;
            if name == tag {
                return Err(at(Some("rejected"), Problem::TagRejected(name)));
            }
            if rejected.contains(&name) {
                return Err(at(Some("rejected"), Problem::RejectedTwice(name)));
            }
            rejected.push(name);
        }
        entries.push(LockEntry {
            key,
            tag,
            digest: raw.digest,
            policy: raw.policy,
            pin,
            hold: raw.hold.unwrap_or(false),
            rejected,
        });
    }
    Ok(LockFile::from_entries(entries))
}

/// Notes a problem of the visitors' own at `place` and returns the error that stops the reading.
fn stop<E: de::Error>(place: Shared<'_>, key: Option<String>, problem: Problem) -> E {
    let mut place = place.borrow_mut();
    let message = problem.to_string();
    place.key = key;
    place.problem = Some(problem);
    E::custom(message)
}

/// The whole file: `None` when it holds no document (empty, or only comments) or a null one.
struct FileSeed<'p>(Shared<'p>);

impl<'de> DeserializeSeed<'de> for FileSeed<'_> {
    type Value = Option<RawFile>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<RawFile>, D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for FileSeed<'_> {
    type Value = Option<RawFile>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a lock file: a mapping of `version` and `images`")
    }

    fn visit_none<E: de::Error>(self) -> Result<Option<RawFile>, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Option<RawFile>, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Option<RawFile>, D::Error> {
        d.deserialize_map(FileVisitor(self.0)).map(Some)
    }
}

struct FileVisitor<'p>(Shared<'p>);

impl<'de> Visitor<'de> for FileVisitor<'_> {
    type Value = RawFile;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a lock file: a mapping of `version` and `images`")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawFile, A::Error> {
        let mut file = RawFile::default();
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if !seen.insert(key.clone()) {
                return Err(stop(self.0, Some(key), Problem::Duplicate));
            }
            self.0.borrow_mut().key = Some(key.clone());
            match key.as_str() {
                "version" => file.version = Some(map.next_value::<Version>()?.0),
                "images" => file.images = map.next_value_seed(EntriesSeed(self.0))?,
                _ => {
                    return Err(stop(
                        self.0,
                        Some(key),
                        Problem::UnknownKey { known: FILE_KEYS },
                    ));
                }
            }
            self.0.borrow_mut().key = None;
        }
        Ok(file)
    }
}

/// The format version: a whole number.
struct Version(u64);

impl<'de> de::Deserialize<'de> for Version {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Version, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Version;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "the format's version, a whole number such as {VERSION}")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Version, E> {
                Ok(Version(v))
            }
        }
        d.deserialize_u64(V)
    }
}

/// `images`: the entries in the order written, each key once; null or absent means none.
struct EntriesSeed<'p>(Shared<'p>);

impl<'de> DeserializeSeed<'de> for EntriesSeed<'_> {
    type Value = Vec<(String, RawEntry)>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for EntriesSeed<'_> {
    type Value = Vec<(String, RawEntry)>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a mapping of `[alias=]repository` to entries")
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut entries: Vec<(String, RawEntry)> = Vec::new();
        while let Some(written) = map.next_key::<String>()? {
            {
                let mut place = self.0.borrow_mut();
                place.entry = Some(written.clone());
                place.key = None;
            }
            if entries.iter().any(|(w, _)| *w == written) {
                return Err(stop(self.0, None, Problem::Duplicate));
            }
            let entry = map.next_value_seed(EntrySeed(self.0))?;
            entries.push((written, entry));
        }
        self.0.borrow_mut().entry = None;
        Ok(entries)
    }
}

/// One entry's keys; null means an entry without keys (which then has no tag).
struct EntrySeed<'p>(Shared<'p>);

impl<'de> DeserializeSeed<'de> for EntrySeed<'_> {
    type Value = RawEntry;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<RawEntry, D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for EntrySeed<'_> {
    type Value = RawEntry;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an entry: a mapping of tag, digest, policy, pin, hold and rejected")
    }

    fn visit_none<E: de::Error>(self) -> Result<RawEntry, E> {
        Ok(RawEntry::default())
    }

    fn visit_unit<E: de::Error>(self) -> Result<RawEntry, E> {
        Ok(RawEntry::default())
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<RawEntry, D::Error> {
        d.deserialize_map(self)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawEntry, A::Error> {
        let mut entry = RawEntry::default();
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if !seen.insert(key.clone()) {
                return Err(stop(self.0, Some(key), Problem::Duplicate));
            }
            self.0.borrow_mut().key = Some(key.clone());
            match key.as_str() {
                "tag" => entry.tag = map.next_value()?,
                "digest" => entry.digest = map.next_value()?,
                "policy" => entry.policy = map.next_value()?,
                "pin" => entry.pin = map.next_value()?,
                "hold" => entry.hold = map.next_value()?,
                "rejected" => entry.rejected = map.next_value()?,
                _ => {
                    return Err(stop(
                        self.0,
                        Some(key),
                        Problem::UnknownKey { known: ENTRY_KEYS },
                    ));
                }
            }
            self.0.borrow_mut().key = None;
        }
        Ok(entry)
    }
}
