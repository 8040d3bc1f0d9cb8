//! The lock file's tables: reading (every kind of valid and invalid file, full messages), editing (byte for byte),
//! writing, and a property test of edits on generated layouts.

mod edit;
mod parse;
mod proptests;

use super::{LockEntry, LockKey};
use crate::tag::TagName;

/// A digest that reads as one.
const DIGEST: &str = "sha256:0f3a5e8b7c2d4f6a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a";
/// Another.
const DIGEST_2: &str = "sha256:9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b1a0f9e8d";

fn key(text: &str) -> LockKey {
    LockKey::parse(text).unwrap()
}

fn tag(text: &str) -> TagName {
    TagName::new(text).unwrap()
}

/// An entry of `key` at `tag`, nothing else.
fn entry(key_text: &str, tag_text: &str) -> LockEntry {
    LockEntry {
        key: key(key_text),
        tag: tag(tag_text),
        digest: None,
        policy: None,
        pin: None,
        hold: false,
        rejected: Vec::new(),
    }
}
