//! `image-resolver.lock.yaml`, as a repository holds it: parse → edit → parse. What parses has valid tags and
//! digests and canonical keys, each key once; each of the committer's edits (set the first entry's tag, digest and
//! policy; add an entry; reject a tag) either refuses for a reason it names or gives a text that parses to the old
//! file with exactly that change — never one that reads back otherwise (`EditError::Unverified`); a new file
//! written from the entries reads back as them.
#![no_main]

use argocd_image_resolver::image::{is_valid_digest, is_valid_tag};
use argocd_image_resolver::lock::edit::{add_entry, add_rejected, set_resolved};
use argocd_image_resolver::lock::{EditError, LockEntry, LockFile, LockKey, Resolved, write};
use argocd_image_resolver::tag::TagName;
use libfuzzer_sys::fuzz_target;

const DIGEST: &str = "sha256:0f3a5e8b7c2d4f6a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a";

/// An edit's outcome: refused for a named reason, or exactly `expected`.
fn check(what: &str, outcome: Result<String, EditError>, expected: &LockFile) {
    match outcome {
        Ok(text) => assert_eq!(
            LockFile::parse(&text).as_ref(),
            Ok(expected),
            "{what} gave a file that reads otherwise: {text:?}"
        ),
        Err(e @ EditError::Unverified { .. }) => panic!("{what}: {e}"),
        Err(_) => {}
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(lock) = LockFile::parse(text) else {
        return;
    };
    let entries: Vec<LockEntry> = lock.entries().iter().map(|e| (**e).clone()).collect();
    for (i, entry) in entries.iter().enumerate() {
        assert_eq!(LockKey::parse(&entry.key.to_string()).as_ref(), Ok(&entry.key));
        assert!(is_valid_tag(&entry.tag));
        assert!(entry.digest.as_deref().is_none_or(is_valid_digest));
        assert!(!entry.rejected.contains(&entry.tag));
        assert!(entries[i + 1..].iter().all(|other| other.key != entry.key));
    }
    assert_eq!(LockFile::parse(&write(&entries)), Ok(LockFile::from_entries({
        let mut sorted = entries.clone();
        sorted.sort_by(|a, b| a.key.cmp(&b.key));
        sorted
    })));

    let new_tag = TagName::new("9.9.9").unwrap();
    if let Some(first) = entries.first().filter(|e| !e.rejected.contains(&new_tag)) {
        let resolved = Resolved {
            tag: &new_tag,
            digest: if first.digest.is_some() { None } else { Some(DIGEST) },
            policy: "strategy semver, constraint '^9'",
        };
        let mut expected = entries.clone();
        expected[0].tag = new_tag.clone();
        expected[0].digest = resolved.digest.map(str::to_owned);
        expected[0].policy = Some(resolved.policy.to_owned());
        check(
            "set_resolved",
            set_resolved(text, &first.key, &resolved),
            &LockFile::from_entries(expected),
        );
    }

    let added = LockEntry {
        key: LockKey::parse("fuzz=ghcr.io/fuzz/added").unwrap(),
        tag: new_tag.clone(),
        digest: Some(DIGEST.to_owned()),
        policy: Some("strategy newest-build".to_owned()),
        pin: None,
        hold: true,
        rejected: vec![TagName::new("1.10").unwrap()],
    };
    if lock.get(&added.key).is_none() {
        let mut expected = entries.clone();
        expected.push(added.clone());
        check("add_entry", add_entry(text, &added), &LockFile::from_entries(expected));
    }

    if let Some(last) = entries.last().filter(|e| e.tag != new_tag) {
        let mut expected = entries.clone();
        let slot = expected.last_mut().unwrap();
        if !slot.rejected.contains(&new_tag) {
            slot.rejected.push(new_tag.clone());
        }
        check(
            "add_rejected",
            add_rejected(text, &last.key, &new_tag),
            &LockFile::from_entries(expected),
        );
    }
});
