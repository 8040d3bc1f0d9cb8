//! Tag listing with pagination: follows `Link: <…>; rel="next"` on the same origin, falls back to `?last=` when a
//! page is exactly full and carries no link (Quay caps `n`), de-duplicates, and caps the number of pages.
//! Pages are never assumed to be sorted: the fallback stops as soon as a page brings no new tag.
//!
//! This is where tags enter from a registry, so every name is checked against the OCI tag grammar here, as each
//! page is decoded: invalid ones (`x/../y`, `x@sha256:…`, control characters, 200 characters) are counted and
//! skipped, and nothing downstream ever holds one. Decoding goes straight from the page's bytes to [`Tag`]s (no
//! intermediate list of strings), checks the deadline as it goes, and the pages of one listing together may not
//! exceed [`ClientOptions::max_response_size`](super::ClientOptions::max_response_size).

use std::borrow::Cow;
use std::collections::hash_map::{Entry, RandomState};
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};
use std::time::Duration;

use reqwest::Method;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use tokio::time::Instant;

use super::client::{Call, RegistryClient, validate};
use super::config::QUAY_PAGE_SIZE;
use super::error::{RegistryError, RegistryErrorKind};
use super::transport::Purpose;
use super::urls::{self, redact};
use crate::tag::{Tag, TagName};

/// Tags decoded between two looks at the clock.
const DEADLINE_CHECK_EVERY: usize = 1 << 14;

/// The tags of one repository and what listing them cost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagList {
    /// In the order the registry sent them (which `tagsortmode` may describe), duplicates removed; every name valid.
    pub tags: Vec<Tag>,
    /// Names the registry listed that are not valid tags, skipped.
    pub invalid: usize,
    /// Pages read.
    pub pages: u32,
    /// HTTP requests sent for this listing, token requests and retries included.
    pub requests: u32,
    pub elapsed: Duration,
}

impl TagList {
    /// The tags' names, in order.
    pub fn names(&self) -> Vec<&str> {
        self.tags.iter().map(|t| t.name.as_str()).collect()
    }
}

impl RegistryClient {
    /// Lists every tag of `repository` (e.g. `library/nginx`), within the operation deadline.
    ///
    /// A registry that rejects the page size (`TOO_MANY_TAGS_REQUESTED` or `PAGINATION_NUMBER_INVALID`) is asked
    /// again once with `n=100` before the error is returned.
    pub async fn tags(&self, repository: &str) -> Result<TagList, RegistryError> {
        let inner = &self.inner;
        let op = inner.op(repository, "tags/list");
        validate(&op, repository, None)?;
        let scope = urls::pull_scope(repository);
        let base = &inner.endpoint.api_url;
        let mut page_size = inner.endpoint.page_size.max(1);
        let mut url = urls::tags_url(base, repository, Some(page_size), None);
        let mut visited = HashSet::from([url.clone()]);
        let mut sink = Sink::new(op.deadline);
        let mut pages = 0u32;
        let max_size = inner.options.max_response_size.as_usize();
        let mut read = 0usize;
        loop {
            if pages >= inner.options.max_pages {
                return Err(RegistryError::new(
                    op.target.clone(),
                    RegistryErrorKind::TooManyPages {
                        max_pages: inner.options.max_pages,
                    },
                ));
            }
            let purpose = Purpose::TagPage { page_size };
            let call = Call {
                method: Method::GET,
                url: &url,
                accept: "application/json",
                scope: &scope,
                purpose,
                // One limit for the whole listing: paging must not multiply it.
                max_body: max_size.saturating_sub(read),
            };
            let response = match inner.registry_request(&op, call).await {
                Ok(response) => response,
                Err(error)
                    if matches!(error.kind(), RegistryErrorKind::PageSizeRejected { .. })
                        && page_size > QUAY_PAGE_SIZE =>
                {
                    tracing::debug!(url = %redact(&url), page_size, "page size rejected; retrying with n=100");
                    page_size = QUAY_PAGE_SIZE;
                    let last = url
                        .query_pairs()
                        .find(|(k, _)| k == "last")
                        .map(|(_, v)| v.into_owned());
                    url = urls::tags_url(base, repository, Some(page_size), last.as_deref());
                    visited.insert(url.clone());
                    continue;
                }
                Err(error) => return Err(error),
            };
            pages += 1;
            read += response.body.len();
            let page = sink.page(&response.body).map_err(|error| match error {
                DecodeError::Deadline => inner.fail_deadline(&op),
                DecodeError::Json(e) => RegistryError::new(
                    op.target.clone(),
                    RegistryErrorKind::InvalidResponse {
                        url: redact(&url),
                        reason: format!("tag list is not {{\"tags\": [...]}} JSON: {e}"),
                    },
                ),
            })?;
            let links = response.header_all("link");
            // Relative links resolve against the URL we asked, keeping its host and port.
            let next = urls::next_link(&links, &url).map_err(|source| {
                RegistryError::new(op.target.clone(), RegistryErrorKind::Url { source })
            })?;
            if let Some(next) = next {
                if !visited.insert(next.clone()) {
                    return Err(RegistryError::new(
                        op.target.clone(),
                        RegistryErrorKind::InvalidResponse {
                            url: redact(&url),
                            reason: format!(
                                "next page link {} was already followed",
                                redact(&next)
                            ),
                        },
                    ));
                }
                url = next;
                continue;
            }
            // No link, but exactly `n` tags: the registry may have capped the page without saying so. A page
            // with more than `n` tags means the registry ignored `n` (distribution 2.8) and sent everything.
            match page.last_valid {
                Some(last) if page.len == page_size as usize && page.new_tags > 0 => {
                    url = urls::tags_url(base, repository, Some(page_size), Some(&last));
                    visited.insert(url.clone());
                }
                _ => break,
            }
        }
        if sink.invalid > 0 {
            tracing::warn!(
                repository,
                invalid = sink.invalid,
                "skipped names the registry listed that are not valid tags"
            );
        }
        Ok(TagList {
            tags: sink.tags,
            invalid: sink.invalid,
            pages,
            requests: op.requests.load(std::sync::atomic::Ordering::Relaxed),
            elapsed: op.started.elapsed(),
        })
    }
}

/// Decodes one tag-list page as [`RegistryClient::tags`] does: the valid tags in order, de-duplicated, and the
/// number of invalid names skipped. For tools and benchmarks; the client adds paging, the size limit and the
/// deadline.
pub fn decode_page(body: &[u8]) -> Result<(Vec<Tag>, usize), serde_json::Error> {
    // No deadline: a day is as good as none for one page.
    let mut sink = Sink::new(Instant::now() + Duration::from_secs(86_400));
    match sink.page(body) {
        Ok(_) => Ok((sink.tags, sink.invalid)),
        Err(DecodeError::Json(e)) => Err(e),
        Err(DecodeError::Deadline) => unreachable!("a page does not take a day"),
    }
}

/// What one page added.
#[derive(Default)]
struct PageSummary {
    /// Entries in the page, valid or not (to tell a full page).
    len: usize,
    new_tags: usize,
    /// The page's last valid tag, for `?last=`: an invalid name never goes into a URL.
    last_valid: Option<TagName>,
}

enum DecodeError {
    Deadline,
    Json(serde_json::Error),
}

/// The listing so far: valid tags in order, the count of invalid names, and a de-duplication index.
struct Sink {
    tags: Vec<Tag>,
    invalid: usize,
    dedup: Dedup,
    deadline: Instant,
    expired: bool,
    page: PageSummary,
}

impl Sink {
    fn new(deadline: Instant) -> Self {
        Sink {
            tags: Vec::new(),
            invalid: 0,
            dedup: Dedup::default(),
            deadline,
            expired: false,
            page: PageSummary::default(),
        }
    }

    /// Decodes one page (`{"tags": [...]}`; other fields ignored, `null` tags mean none) into the listing.
    fn page(&mut self, body: &[u8]) -> Result<PageSummary, DecodeError> {
        self.page = PageSummary::default();
        // Room for every string in the page at once, instead of doubling (which briefly holds both copies). A
        // valid entry takes at least 4 bytes (`"a",`), which bounds what a page of something else can reserve.
        let strings = body.iter().filter(|&&b| b == b'"').count() / 2;
        let room = strings.min(body.len() / 4);
        self.tags.reserve(room);
        self.dedup.first.reserve(room);
        let mut decoder = serde_json::Deserializer::from_slice(body);
        let outcome = PageSeed(self)
            .deserialize(&mut decoder)
            .and_then(|()| decoder.end());
        match outcome {
            Ok(()) => Ok(std::mem::take(&mut self.page)),
            Err(_) if self.expired => Err(DecodeError::Deadline),
            Err(e) => Err(DecodeError::Json(e)),
        }
    }

    /// Takes one entry of a page's `tags` array.
    fn push(&mut self, raw: Raw<'_>) -> Result<(), &'static str> {
        self.page.len += 1;
        if self.page.len.is_multiple_of(DEADLINE_CHECK_EVERY) && Instant::now() >= self.deadline {
            self.expired = true;
            return Err("the deadline passed");
        }
        let Some(name) = (match raw {
            Raw::Text(text) => TagName::parse(&text),
            Raw::Other => None,
        }) else {
            self.invalid += 1;
            return Ok(());
        };
        if self.dedup.insert(&self.tags, &name) {
            self.page.new_tags += 1;
            self.page.last_valid = Some(name.clone());
            self.tags.push(Tag::new(name));
        } else {
            self.page.last_valid = Some(name);
        }
        Ok(())
    }
}

/// Order-keeping de-duplication that holds a hash and an index per tag instead of a second copy of every name.
/// Equal hashes are told apart by comparing names, so a collision costs a little, never a tag.
#[derive(Default)]
struct Dedup {
    hasher: RandomState,
    /// Hash of a name → index of the first tag with that hash.
    first: HashMap<u64, usize, BuildHasherDefault<Prehashed>>,
    /// Names whose hash an earlier, different name already had (practically never).
    collided: HashSet<Box<str>>,
}

impl Dedup {
    /// Whether `name` is new; `tags` holds the names seen so far, where the index points. The caller pushes it.
    fn insert(&mut self, tags: &[Tag], name: &str) -> bool {
        match self.first.entry(self.hasher.hash_one(name)) {
            Entry::Vacant(entry) => {
                entry.insert(tags.len());
                true
            }
            Entry::Occupied(entry) => {
                tags[*entry.get()].name.as_str() != name && self.collided.insert(name.into())
            }
        }
    }
}

/// The hasher of keys that are already hashes (keyed by [`RandomState`]): hashing them again with SipHash only
/// costs time.
#[derive(Default)]
struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Only u64 keys come here; fold anything else in rather than lose it.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// A page's top level: a map whose `tags` entry is read into the sink.
struct PageSeed<'s>(&'s mut Sink);

impl<'de> DeserializeSeed<'de> for PageSeed<'_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for PageSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object with a \"tags\" array")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            if key == "tags" {
                map.next_value_seed(TagsSeed(&mut *self.0))?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

/// The `tags` array (or `null`), each entry pushed into the sink as it is decoded.
struct TagsSeed<'s>(&'s mut Sink);

impl<'de> DeserializeSeed<'de> for TagsSeed<'_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for TagsSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of tags or null")
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_some<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(raw) = seq.next_element::<Raw<'de>>()? {
            self.0.push(raw).map_err(de::Error::custom)?;
        }
        Ok(())
    }
}

/// One entry of `tags`: text (borrowed from the page when it has no escapes), or anything else, which is invalid.
enum Raw<'a> {
    Text(Cow<'a, str>),
    Other,
}

impl<'de> de::Deserialize<'de> for Raw<'de> {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(RawVisitor)
    }
}

struct RawVisitor;

impl<'de> Visitor<'de> for RawVisitor {
    type Value = Raw<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a tag")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Raw<'de>, E> {
        Ok(Raw::Text(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Raw<'de>, E> {
        Ok(Raw::Text(Cow::Owned(v.to_string())))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Raw<'de>, E> {
        Ok(Raw::Other)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Raw<'de>, E> {
        Ok(Raw::Other)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Raw<'de>, E> {
        Ok(Raw::Other)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Raw<'de>, E> {
        Ok(Raw::Other)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Raw<'de>, E> {
        Ok(Raw::Other)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Raw<'de>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Raw::Other)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Raw<'de>, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Raw::Other)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(pages: &[&str]) -> (Vec<String>, usize, Vec<usize>) {
        let mut sink = Sink::new(Instant::now() + Duration::from_secs(60));
        let news = pages
            .iter()
            .map(|p| {
                sink.page(p.as_bytes())
                    .unwrap_or_else(|_| panic!("{p} decodes"))
                    .new_tags
            })
            .collect();
        let names = sink.tags.iter().map(|t| t.name.to_string()).collect();
        (names, sink.invalid, news)
    }

    /// Regression, issue 9 item 4: a registry's names went into the image field unchecked.
    #[test]
    fn pages_keep_valid_tags_only_and_count_the_rest() {
        let long = "a".repeat(200);
        for (name, page, want, invalid) in [
            (
                "plain",
                r#"{"name":"r","tags":["v1","v2"]}"#.to_string(),
                vec!["v1", "v2"],
                0,
            ),
            ("null tags", r#"{"tags":null}"#.into(), vec![], 0),
            ("no tags field", r#"{"name":"r"}"#.into(), vec![], 0),
            (
                "path traversal",
                r#"{"tags":["zzz/../../x","v1"]}"#.into(),
                vec!["v1"],
                1,
            ),
            (
                "digest",
                r#"{"tags":["zzz@sha256:00","v1"]}"#.into(),
                vec!["v1"],
                1,
            ),
            ("colon", r#"{"tags":["zzz:1"]}"#.into(), vec![], 1),
            (
                "newline",
                r#"{"tags":["zzz\n","v1"]}"#.into(),
                vec!["v1"],
                1,
            ),
            (
                "bidi override",
                "{\"tags\":[\"zzz\u{202e}1\"]}".into(),
                vec![],
                1,
            ),
            (
                "escaped bidi",
                r#"{"tags":["zzz\u202e1"]}"#.into(),
                vec![],
                1,
            ),
            (
                "too long",
                format!(r#"{{"tags":["{long}","v1"]}}"#),
                vec!["v1"],
                1,
            ),
            (
                "not strings",
                r#"{"tags":[1,null,true,["v1"],{"a":1},"v2"]}"#.into(),
                vec!["v2"],
                5,
            ),
            (
                "duplicates",
                r#"{"tags":["a","b","a"]}"#.into(),
                vec!["a", "b"],
                0,
            ),
        ] {
            let (names, count, _) = decode(&[&page]);
            assert_eq!(
                (names, count),
                (want.iter().map(ToString::to_string).collect(), invalid),
                "{name}"
            );
        }
    }

    #[test]
    fn pages_report_what_they_added() {
        let (names, _, news) = decode(&[
            r#"{"tags":["a","b"]}"#,
            r#"{"tags":["b","c","bad/x"]}"#,
            r#"{"tags":["a"]}"#,
        ]);
        assert_eq!(names, ["a", "b", "c"]);
        assert_eq!(news, [2, 1, 0]);
    }

    #[test]
    fn broken_pages_are_errors() {
        for (name, page) in [
            ("not json", "<html>"),
            ("array at the top", r#"["v1"]"#),
            ("tags not an array", r#"{"tags":"v1"}"#),
            ("trailing garbage", r#"{"tags":[]} x"#),
        ] {
            let mut sink = Sink::new(Instant::now() + Duration::from_secs(60));
            assert!(
                matches!(sink.page(page.as_bytes()), Err(DecodeError::Json(_))),
                "{name}"
            );
        }
    }

    #[test]
    fn decoding_stops_at_the_deadline() {
        let names: Vec<String> = (0..DEADLINE_CHECK_EVERY * 2)
            .map(|i| format!("t{i}"))
            .collect();
        let page = serde_json::json!({ "tags": names }).to_string();
        let mut sink = Sink::new(Instant::now());
        assert!(matches!(
            sink.page(page.as_bytes()),
            Err(DecodeError::Deadline)
        ));
        assert!(sink.tags.len() < names.len(), "stopped part-way");
    }
}
