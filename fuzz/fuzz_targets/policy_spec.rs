//! Policy annotations on a rendered object, then tag selection over a fuzzed tag list. Input: `key=value` lines
//! (the key without argocd-image-updater's prefix), a line `--`, then a tag list in the `--tags-file` format.
//!
//! Selection must account for every tag exactly once, pick a tag that passed the filters, not depend on the
//! order the registry listed the tags in, and pick another tag (or none) when the winner is unavailable.
#![no_main]

use std::collections::HashSet;

use argocd_image_resolver::policy::source::{PREFIX, Settings};
use argocd_image_resolver::tag::parse_tag_list;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (head, tags) = text.split_once("\n--\n").unwrap_or((text, ""));
    let annotations: Vec<(String, String)> = head
        .lines()
        .filter_map(|line| line.split_once('='))
        .map(|(k, v)| (format!("{PREFIX}{k}"), v.to_string()))
        .collect();
    let Ok(tags) = parse_tag_list(tags) else {
        return;
    };
    let Ok(tracked) = Settings::from_annotations("Deployment/fuzz", &annotations).tracked_images()
    else {
        return;
    };
    let reversed: Vec<_> = tags.iter().rev().cloned().collect();
    for image in &tracked.images {
        let policy = &image.policy;
        let _ = policy.to_string();
        let selection = policy.select(&tags);
        assert_eq!(selection.considered, tags.len());
        assert!(
            selection.dropped.total() <= tags.len(),
            "{policy}: more tags dropped than given"
        );
        let passed = policy.filter(&tags);
        assert!(
            selection.candidates() <= passed.len(),
            "{policy}: candidates that did not pass the filters"
        );
        let Some(winner) = selection.winner else {
            assert!(
                policy.select(&reversed).winner.is_none(),
                "{policy}: a winner only in reverse order"
            );
            continue;
        };
        assert!(
            tags.iter().any(|t| std::ptr::eq(t, winner)),
            "{policy}: winner is not one of the tags"
        );
        assert!(
            passed.iter().any(|t| std::ptr::eq(*t, winner)),
            "{policy}: winner {} was filtered out",
            winner.name
        );
        let other = policy.select(&reversed).winner.map(|t| &t.name);
        assert_eq!(
            other,
            Some(&winner.name),
            "{policy}: the winner depends on the tags' order"
        );
        let unavailable = HashSet::from([winner.name.to_string()]);
        let without = policy.select_except(&tags, &unavailable);
        assert_ne!(
            without.winner.map(|t| &t.name),
            Some(&winner.name),
            "{policy}: an unavailable winner"
        );
        assert_eq!(without.dropped.no_platform.len(), 1, "{policy}");
    }
});
