//! Tags as the policy sees them (name, creation time, digest) and the plain-text tag list format of `--tags-file`.
//!
//! The format is one tag per line, optionally followed by whitespace and an RFC 3339 creation time, then optionally
//! a digest: `v1.2.3 2024-05-01T10:00:00Z sha256:…`. Blank lines and lines starting with `#` are skipped. A `-` in
//! the time column means "unknown", so a digest can be given without a time.
//!
//! [`nearest`] ranks a repository's tags by closeness to one it does not have (a mistyped pin).

use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::image::is_valid_digest;
pub use crate::image::is_valid_tag;

mod nearest;

pub use nearest::nearest;

/// A tag name in the OCI distribution grammar `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`, checked when it is made, so it
/// is safe to put into an image reference, a URL path, a file or a log line as it is. Every [`Tag`] has one, so
/// nothing past the edge where tags are read (registry, cache, `--tags`) can see a name like `x/../y` or `x@sha256:…`.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(try_from = "String")]
pub struct TagName(Box<str>);

/// Why a name is not a tag. Shows the name escaped (control and bidi characters as `\u{…}`) and cut short, since
/// it may come from a hostile registry.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error(
    "invalid tag '{}': a tag is 1 to 128 letters, digits, '_', '.' or '-', and does not start with '.' or '-'",
    escape(.0)
)]
pub struct InvalidTag(pub String);

/// `text` escaped and cut at 64 characters: fit for a log line or an error however hostile the input.
pub fn escape(text: &str) -> String {
    crate::escape::shown(text, 64)
}

impl TagName {
    /// Checks `name` against the tag grammar.
    ///
    /// ```
    /// use argocd_image_resolver_core::tag::TagName;
    /// assert!(TagName::new("v1.2.3").is_ok());
    /// assert!(TagName::new("x/../y").is_err());
    /// ```
    pub fn new(name: impl Into<String>) -> Result<Self, InvalidTag> {
        let name = name.into();
        if is_valid_tag(&name) {
            Ok(TagName(name.into_boxed_str()))
        } else {
            Err(InvalidTag(name))
        }
    }

    /// [`TagName::new`] for a borrowed name: allocates only when it is valid.
    pub fn parse(name: &str) -> Option<Self> {
        is_valid_tag(name).then(|| TagName(name.into()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Serialize for TagName {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl Deref for TagName {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for TagName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for TagName {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TagName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for TagName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl FromStr for TagName {
    type Err = InvalidTag;
    fn from_str(name: &str) -> Result<Self, InvalidTag> {
        TagName::parse(name).ok_or_else(|| InvalidTag(name.to_string()))
    }
}

impl TryFrom<String> for TagName {
    type Error = InvalidTag;
    fn try_from(name: String) -> Result<Self, InvalidTag> {
        TagName::new(name)
    }
}

impl From<TagName> for String {
    fn from(name: TagName) -> String {
        name.0.into_string()
    }
}

impl PartialEq<str> for TagName {
    fn eq(&self, other: &str) -> bool {
        &*self.0 == other
    }
}

impl PartialEq<&str> for TagName {
    fn eq(&self, other: &&str) -> bool {
        &*self.0 == *other
    }
}

impl PartialEq<String> for TagName {
    fn eq(&self, other: &String) -> bool {
        *self.0 == **other
    }
}

/// One tag of a repository, with what is known about the image it points to.
///
/// Serialised (by the tag-list cache) as `{"name": …, "created": RFC 3339, "digest": …}`, unknown fields left out;
/// reading one back checks the name again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    pub name: TagName,
    /// When the image was built (the config blob's `created`), needed by `newest-build`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<DateTime<Utc>>,
    /// The manifest digest, needed by `digest`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
}

impl Tag {
    pub fn new(name: TagName) -> Self {
        Tag {
            name,
            created: None,
            digest: None,
        }
    }

    /// A tag named `name`, when that is a valid tag.
    pub fn parse(name: &str) -> Result<Self, InvalidTag> {
        name.parse().map(Tag::new)
    }
}

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum TagListError {
    #[error("line {line}: {source}")]
    InvalidTag {
        line: usize,
        #[source]
        source: InvalidTag,
    },
    #[error(
        "line {line}: invalid creation time '{value}' for tag '{tag}': expected RFC 3339 such as 2024-05-01T10:00:00Z, or '-'"
    )]
    InvalidTime {
        line: usize,
        tag: String,
        value: String,
    },
    #[error(
        "line {line}: invalid digest '{value}' for tag '{tag}': expected <algorithm>:<hex> such as sha256:…"
    )]
    InvalidDigest {
        line: usize,
        tag: String,
        value: String,
    },
    #[error("line {line}: unexpected '{value}' after the digest of tag '{tag}'")]
    TrailingField {
        line: usize,
        tag: String,
        value: String,
    },
}

/// Reads a tag list (the `--tags-file` format above). Later duplicates of a tag are dropped.
pub fn parse_tag_list(text: &str) -> Result<Vec<Tag>, TagListError> {
    let mut tags: Vec<Tag> = Vec::new();
    // Borrowed from `text`, so de-duplication costs no allocation per line.
    let mut seen: std::collections::HashSet<&str> = std::collections::HashSet::new();
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let content = raw.trim();
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        let mut fields = content.split_whitespace();
        let name = fields.next().unwrap_or_default();
        let mut tag =
            Tag::parse(name).map_err(|source| TagListError::InvalidTag { line, source })?;
        if let Some(time) = fields.next().filter(|t| *t != "-") {
            let parsed =
                DateTime::parse_from_rfc3339(time).map_err(|_| TagListError::InvalidTime {
                    line,
                    tag: name.to_string(),
                    value: time.to_string(),
                })?;
            tag.created = Some(parsed.with_timezone(&Utc));
        }
        if let Some(digest) = fields.next() {
            if !is_valid_digest(digest) {
                return Err(TagListError::InvalidDigest {
                    line,
                    tag: name.to_string(),
                    value: digest.to_string(),
                });
            }
            tag.digest = Some(digest.to_string());
        }
        if let Some(extra) = fields.next() {
            return Err(TagListError::TrailingField {
                line,
                tag: name.to_string(),
                value: extra.to_string(),
            });
        }
        if seen.insert(name) {
            tags.push(tag);
        }
    }
    Ok(tags)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn valid_tags() {
        for (name, tag, want) in [
            ("simple", "v1.2.3", true),
            ("underscore first", "_x", true),
            ("dot first", ".x", false),
            ("dash first", "-x", false),
            ("empty", "", false),
            ("128 chars", &"a".repeat(128), true),
            ("129 chars", &"a".repeat(129), false),
            ("colon", "a:b", false),
            ("slash", "a/b", false),
            ("non-ascii", "vé", false),
        ] {
            assert_eq!(is_valid_tag(tag), want, "{name}");
        }
    }

    #[test]
    fn tag_names_are_checked_wherever_they_are_made() {
        for (name, input, valid) in [
            ("version", "v1.2.3", true),
            ("path traversal", "zzz/../../x", false),
            ("digest", "zzz@sha256:00", false),
            ("colon", "zzz:1", false),
            ("newline", "zzz\n", false),
            ("bidi override", "zzz\u{202e}1", false),
            ("129 characters", &"a".repeat(129), false),
        ] {
            assert_eq!(TagName::new(input).is_ok(), valid, "{name}: new");
            assert_eq!(input.parse::<TagName>().is_ok(), valid, "{name}: parse");
            let json = serde_json::to_string(&serde_json::json!({ "name": input })).unwrap();
            assert_eq!(
                serde_json::from_str::<Tag>(&json).is_ok(),
                valid,
                "{name}: deserialised"
            );
        }
        let tag = Tag::parse("v1").unwrap();
        assert_eq!(serde_json::to_string(&tag).unwrap(), r#"{"name":"v1"}"#);
    }

    #[test]
    fn escape_shows_hostile_text_harmlessly() {
        for (name, input, want) in [
            ("plain", "v1.2", "v1.2".to_string()),
            ("newline", "a\nb", "a\\nb".to_string()),
            ("bidi override", "a\u{202e}b", "a\\u{202e}b".to_string()),
            (
                "long",
                &"x".repeat(70),
                format!("{}… (70 characters)", "x".repeat(64)),
            ),
        ] {
            assert_eq!(escape(input), want, "{name}");
        }
        assert_eq!(
            InvalidTag("zzz\n".into()).to_string(),
            "invalid tag 'zzz\\n': a tag is 1 to 128 letters, digits, '_', '.' or '-', and does not start with \
             '.' or '-'"
        );
    }

    #[test]
    fn parses_lines() {
        let text = format!(
            "# comment\n\nv1.0.0\nv1.1.0 2024-05-01T10:00:00Z\n  v1.2.0\t2024-05-02T10:00:00+02:00 {DIGEST}\nlatest - {DIGEST}\nv1.0.0 2030-01-01T00:00:00Z\n"
        );
        let tags = parse_tag_list(&text).unwrap();
        let names: Vec<&str> = tags.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["v1.0.0", "v1.1.0", "v1.2.0", "latest"]);
        assert_eq!(tags[0].created, None, "duplicate later line is dropped");
        assert_eq!(
            tags[1].created.unwrap().to_rfc3339(),
            "2024-05-01T10:00:00+00:00"
        );
        assert_eq!(
            tags[2].created.unwrap().to_rfc3339(),
            "2024-05-02T08:00:00+00:00",
            "offsets are normalised to UTC"
        );
        assert_eq!(tags[2].digest.as_deref(), Some(DIGEST));
        assert_eq!(tags[3].created, None);
        assert_eq!(tags[3].digest.as_deref(), Some(DIGEST));
    }

    #[test]
    fn errors_name_the_line() {
        for (name, text, want) in [
            (
                "bad tag",
                "v1\nv:2\n",
                "line 2: invalid tag 'v:2': a tag is 1 to 128 letters, digits, '_', '.' or '-', and does not start with '.' or '-'",
            ),
            (
                "bad time",
                "v1 yesterday\n",
                "line 1: invalid creation time 'yesterday' for tag 'v1': expected RFC 3339 such as 2024-05-01T10:00:00Z, or '-'",
            ),
            (
                "bad digest",
                "v1 - md5\n",
                "line 1: invalid digest 'md5' for tag 'v1': expected <algorithm>:<hex> such as sha256:…",
            ),
            (
                "trailing",
                &format!("v1 - {DIGEST} extra\n"),
                "line 1: unexpected 'extra' after the digest of tag 'v1'",
            ),
        ] {
            assert_eq!(
                parse_tag_list(text).unwrap_err().to_string(),
                want,
                "{name}"
            );
        }
    }
}
