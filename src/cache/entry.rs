//! The stored form of each cache entry, the same for every backend: a JSON document carrying its key in clear
//! (for people debugging, and to catch a misplaced entry), checked as it is read. A document that does not parse,
//! that holds another key, or whose tags or digests are malformed is refused with the reason, which the backend
//! logs before treating the entry as a miss.

use std::borrow::Cow;
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{
    CachedTags, ImageMetadata, KnownImages, MetadataKey, ResolutionKey, Resolved, TagsKey,
};
use crate::image::is_valid_digest;
use crate::tag::{Tag, escape, is_valid_tag};

/// Stored form of a [`Resolved`].
#[derive(Serialize, Deserialize)]
struct ResolvedEntry<'a> {
    key: Cow<'a, ResolutionKey>,
    tag: Cow<'a, str>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    digest: Option<Cow<'a, str>>,
    resolved_at: DateTime<Utc>,
}

/// Stored form of [`KnownImages`].
#[derive(Serialize, Deserialize)]
struct MetadataEntry<'a> {
    repository: Cow<'a, str>,
    platforms: Cow<'a, str>,
    images: Cow<'a, BTreeMap<String, ImageMetadata>>,
    #[serde(default)]
    tags: Cow<'a, BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tags_checked_at: Option<DateTime<Utc>>,
}

/// Stored form of a [`CachedTags`].
#[derive(Serialize, Deserialize)]
struct TagsEntry<'a> {
    repository: Cow<'a, str>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    credentials: Option<Cow<'a, str>>,
    fetched_at: DateTime<Utc>,
    tags: Cow<'a, [Tag]>,
}

/// Why a stored entry is not used.
pub type Refused = String;

pub fn encode_resolved(key: &ResolutionKey, resolved: &Resolved) -> Vec<u8> {
    to_json(&ResolvedEntry {
        key: Cow::Borrowed(key),
        tag: Cow::Borrowed(&resolved.tag),
        digest: resolved.digest.as_deref().map(Cow::Borrowed),
        resolved_at: resolved.resolved_at,
    })
}

pub fn decode_resolved(bytes: &[u8], key: &ResolutionKey) -> Result<Resolved, Refused> {
    let entry: ResolvedEntry = from_json(bytes)?;
    if *entry.key != *key {
        return Err("it holds another key".to_owned());
    }
    if !is_valid_tag(&entry.tag) {
        return Err("its tag is malformed".to_owned());
    }
    if entry.digest.as_deref().is_some_and(|d| !is_valid_digest(d)) {
        return Err("its digest is malformed".to_owned());
    }
    Ok(Resolved {
        tag: entry.tag.into_owned(),
        digest: entry.digest.map(Cow::into_owned),
        resolved_at: entry.resolved_at,
    })
}

pub fn encode_tags(key: &TagsKey, tags: &CachedTags) -> Vec<u8> {
    to_json(&TagsEntry {
        repository: Cow::Borrowed(&key.repository),
        credentials: key.credentials.as_deref().map(Cow::Borrowed),
        fetched_at: tags.fetched_at,
        tags: Cow::Borrowed(&tags.tags),
    })
}

pub fn decode_tags(bytes: &[u8], key: &TagsKey) -> Result<CachedTags, Refused> {
    let entry: TagsEntry = from_json(bytes)?;
    if entry.repository != key.repository
        || entry.credentials.as_deref() != key.credentials.as_deref()
    {
        return Err("it holds another key".to_owned());
    }
    // Tag names were checked as they were read (`TagName`); a bad one made the whole entry unreadable.
    if let Some(bad) = entry
        .tags
        .iter()
        .find(|t| t.digest.as_deref().is_some_and(|d| !is_valid_digest(d)))
    {
        return Err(format!("the digest of its tag '{}' is malformed", bad.name));
    }
    Ok(CachedTags {
        tags: entry.tags.into_owned(),
        fetched_at: entry.fetched_at,
    })
}

pub fn encode_metadata(key: &MetadataKey, known: &KnownImages) -> Vec<u8> {
    to_json(&MetadataEntry {
        repository: Cow::Borrowed(&key.repository),
        platforms: Cow::Borrowed(&key.platforms),
        images: Cow::Borrowed(&known.images),
        tags: Cow::Borrowed(&known.tags),
        tags_checked_at: known.tags_checked_at,
    })
}

pub fn decode_metadata(bytes: &[u8], key: &MetadataKey) -> Result<KnownImages, Refused> {
    let entry: MetadataEntry = from_json(bytes)?;
    if entry.repository != key.repository || entry.platforms != key.platforms {
        return Err("it holds another key".to_owned());
    }
    let digests = entry.images.keys().chain(entry.tags.values());
    if let Some(bad) = digests.into_iter().find(|d| !is_valid_digest(d)) {
        return Err(format!("its digest '{}' is malformed", escape(bad)));
    }
    if let Some(bad) = entry.tags.keys().find(|t| !is_valid_tag(t)) {
        return Err(format!("its tag '{}' is malformed", escape(bad)));
    }
    Ok(KnownImages {
        images: entry.images.into_owned(),
        tags: entry.tags.into_owned(),
        tags_checked_at: entry.tags_checked_at,
    })
}

fn to_json<T: Serialize>(value: &T) -> Vec<u8> {
    // Maps with string keys, strings and times: serialising cannot fail.
    serde_json::to_vec_pretty(value).expect("a cache entry serialises")
}

fn from_json<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, Refused> {
    serde_json::from_slice(bytes).map_err(|e| format!("it is not a valid cache entry: {e}"))
}
