//! Registry webhooks as `watch` receives them (bodies, headers and query strings anyone can send): neither
//! authenticating nor parsing panics; every event parsed is valid as image references read it (a repository path
//! under its registry, a valid tag and digest); errors are one short line; authentication errors never hold the secret.
//!
//! Input: a source name (or any first line: its first byte picks the source), then `?query`, then `name: value`
//! header lines, a blank line, and the body.
#![no_main]

use argocd_image_resolver::image::{ImageRef, is_valid_digest, is_valid_tag};
use argocd_image_resolver::webhook::{Source, WebhookSecret, authenticate, parse};
use libfuzzer_sys::fuzz_target;

const SECRET: &str = "fuzz-secret-0123456789";

fuzz_target!(|data: &[u8]| {
    let (head, body) = match data.windows(2).position(|w| w == b"\n\n") {
        Some(i) => (&data[..i], &data[i + 2..]),
        None => (data, &[][..]),
    };
    let head = String::from_utf8_lossy(head);
    let mut lines = head.lines();
    let first = lines.next().unwrap_or_default();
    let source = first.parse::<Source>().unwrap_or_else(|_| {
        Source::ALL[usize::from(first.bytes().next().unwrap_or(0)) % Source::ALL.len()]
    });
    let mut query = "";
    let mut headers = Vec::new();
    for line in lines {
        if let Some(q) = line.strip_prefix('?') {
            query = q;
        } else if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
    }

    let secret = WebhookSecret::new(SECRET).unwrap();
    if let Err(e) = authenticate(source, &secret, &headers, query, body) {
        let message = e.to_string();
        assert!(
            !message.contains(SECRET) && !message.contains('\n'),
            "{message}"
        );
    }

    let parsed = parse(source, &headers, body);
    assert_eq!(
        parsed,
        parse(source, &headers, body),
        "parsing is deterministic"
    );
    match parsed {
        Ok(events) => {
            for event in &events {
                let registry = event.registry.as_deref().unwrap_or("registry.invalid");
                let image = ImageRef::parse(&format!("{registry}/{}", event.repository))
                    .unwrap_or_else(|e| panic!("{event:?} does not read back: {e}"));
                assert_eq!(image.repository(), event.repository, "{event:?}");
                assert_eq!(image.registry(), registry, "{event:?}");
                assert!(
                    image.tag().is_none() && image.digest().is_none(),
                    "{event:?}"
                );
                assert!(event.tag.as_deref().is_none_or(is_valid_tag), "{event:?}");
                assert!(
                    event.digest.as_deref().is_none_or(is_valid_digest),
                    "{event:?}"
                );
            }
            let mut unique = events.clone();
            unique.dedup();
            assert_eq!(unique.len(), events.len(), "duplicates removed");
        }
        Err(e) => {
            let message = e.to_string();
            // A field path can be long (deep arrays), but a quoted value is cut at a few characters.
            assert!(
                !message.contains('\n') && message.len() < 1_000,
                "{message}"
            );
            // parse never sees the secret: it can only quote one the body itself holds.
            let body_holds_secret = body.windows(SECRET.len()).any(|w| w == SECRET.as_bytes());
            assert!(body_holds_secret || !message.contains(SECRET), "{message}");
        }
    }
});
