//! argocd-image-updater's `registries.conf`, as the operator mounts it. What validation accepts must be usable:
//! URLs are plain http(s) without userinfo or query, prefixes unique, at most one default, every configured
//! registry gets an endpoint, and the image defaults it implies give references that read back the same.
#![no_main]

use argocd_image_resolver::image::{ImageRef, is_registry_host};
use argocd_image_resolver::registry::config;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(conf) = config::parse(text) else {
        return;
    };
    assert!(
        conf.registries.iter().filter(|e| e.default).count() <= 1,
        "two defaults"
    );
    for (i, entry) in conf.registries.iter().enumerate() {
        assert!(!entry.name.trim().is_empty(), "entry {i} without a name");
        assert!(
            matches!(entry.api_url.scheme(), "http" | "https"),
            "entry {i}: {}",
            entry.api_url
        );
        assert!(
            entry.api_url.host_str().is_some() && entry.api_url.query().is_none(),
            "entry {i}"
        );
        assert!(
            entry.api_url.username().is_empty() && entry.api_url.password().is_none(),
            "entry {i}"
        );
        assert!(
            !entry.prefix.ends_with('/'),
            "entry {i}: prefix {:?}",
            entry.prefix
        );
        assert_ne!(entry.page_size, Some(0), "entry {i}");
        for other in &conf.registries[i + 1..] {
            assert!(
                entry.prefix.is_empty() || entry.prefix != other.prefix,
                "prefix {:?} twice",
                entry.prefix
            );
        }
        if entry.prefix.is_empty() {
            continue;
        }
        let (host, repository) = entry
            .prefix
            .split_once('/')
            .unwrap_or((&entry.prefix, "app"));
        let endpoint = conf.endpoint(host, repository).unwrap_or_else(|e| {
            panic!("configured prefix {:?} has no endpoint: {e}", entry.prefix)
        });
        assert_eq!(endpoint.registry, host);
        assert!(endpoint.page_size >= 1);
    }
    let default = conf.default_registry();
    assert!(
        is_registry_host(default),
        "default registry {default:?} is not a host"
    );
    let defaults = conf.image_defaults();
    for written in ["app", "team/app", "app:1.0", "localhost:5000/app"] {
        let Ok(image) = ImageRef::parse_with(written, &defaults) else {
            continue;
        };
        let canonical = image.canonical();
        for (how, again) in [
            (
                "with these defaults",
                ImageRef::parse_with(&canonical, &defaults),
            ),
            ("with Docker's", ImageRef::parse(&canonical)),
        ] {
            let again = again.unwrap_or_else(|e| {
                panic!("{written:?} reads as {canonical:?}, which does not parse {how}: {e}")
            });
            assert_eq!(
                again, image,
                "{written:?} reads as {canonical:?}, which reads back differently {how}"
            );
        }
    }
});
