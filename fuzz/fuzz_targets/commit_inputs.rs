//! What the committer reads from people: its config file, a commit message template, and commit messages in the
//! history (any text a person wrote). None may panic; a template that parses renders a message git accepts
//! (non-empty, no NUL) whose trailers read back as the changes given; trailers read from any text are well formed.
#![no_main]

use argocd_image_resolver::commit::{
    Change, CommitConfig, MessageContext, MessageTemplate, Trailer, parse_trailers,
};
use argocd_image_resolver::lock::LockKey;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = CommitConfig::parse(text);
    for trailer in parse_trailers(text) {
        match trailer {
            Trailer::Update { new, .. } => assert!(!new.is_empty() && !new.contains(char::is_whitespace)),
            Trailer::Reject { tag, .. } => assert!(!tag.is_empty() && !tag.contains(char::is_whitespace)),
        }
    }
    if let Ok(template) = MessageTemplate::parse(text) {
        let change = Change {
            key: LockKey::parse("web=ghcr.io/acme/web").unwrap(),
            image: "ghcr.io/acme/web".to_owned(),
            alias: Some("web".to_owned()),
            old: Some("1.0.0".to_owned()),
            new: "1.1.0".to_owned(),
            policy: "strategy semver".to_owned(),
        };
        let message = template.render(&MessageContext {
            app_name: "shop",
            app_namespace: Some("shop"),
            branch: "main",
            file: "apps/shop/image-resolver.lock.yaml",
            changes: std::slice::from_ref(&change),
            rejections: &[],
        });
        assert!(!message.trim().is_empty() && !message.contains('\0'), "{message:?}");
        let trailers = parse_trailers(&message);
        assert!(
            trailers.iter().any(|t| matches!(t, Trailer::Update { key, new, .. } if *key == change.key && *new == change.new)),
            "the update's trailer does not read back from {message:?}"
        );
    }
});
