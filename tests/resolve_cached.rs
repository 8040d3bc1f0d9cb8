//! `newest-build` with the cache in front of a real registry (Debian's docker-registry): build times are kept by
//! image digest, so a later resolution pays one `HEAD` per tag instead of a manifest and a config read (or nothing
//! while the tag list and the tags' digests are within their TTL), and a re-pushed tag is read again because it
//! names another image.

mod support;

use std::sync::Arc;
use std::time::Duration;

use argocd_image_resolver::cache::FileCache;
use argocd_image_resolver::image::ImageRef;
use argocd_image_resolver::policy::{Policy, Strategy};
use argocd_image_resolver::registry::{ClientOptions, RegistryClient};
use argocd_image_resolver::resolver::{self, RegistryCache};
use support::{ImageSpec, TestRegistry};

async fn push(registry: &TestRegistry, tag: &str, created: &str) {
    let pusher = registry.pusher();
    let image = pusher
        .image("team/app", &ImageSpec::linux("amd64", None, created))
        .await;
    pusher.tag("team/app", tag, &image).await;
}

/// Resolves with a new client (no connection, token or memory shared with earlier calls, as in a new `generate`
/// process) and returns the winner and the requests it took.
async fn resolve(registry: &TestRegistry, cache: &RegistryCache) -> (String, u64) {
    let client = RegistryClient::new(registry.endpoint(), None, ClientOptions::default()).unwrap();
    let image: ImageRef = format!("{}/team/app", registry.registry).parse().unwrap();
    let policy = Policy::new(Strategy::NewestBuild);
    let resolution = resolver::resolve(&client, &image, &policy, Some(cache))
        .await
        .expect("resolve");
    let winner = resolution
        .select(&policy)
        .winner
        .expect("a winner")
        .name
        .clone();
    (winner, client.stats().requests)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn build_times_are_read_once_per_image() {
    let registry = TestRegistry::plain().await;
    for (tag, day) in [("build-1", 1), ("build-2", 2), ("build-3", 3)] {
        push(&registry, tag, &format!("2024-05-{day:02}T10:00:00Z")).await;
    }
    let dir = tempfile::tempdir().unwrap();
    let cache = RegistryCache {
        cache: Arc::new(FileCache::open(dir.path()).unwrap()),
        // Tag lists are always fetched here: only the build times are cached.
        tags_ttl: Duration::ZERO,
    };

    let (winner, cold) = resolve(&registry, &cache).await;
    assert_eq!(winner, "build-3");
    let (winner, warm) = resolve(&registry, &cache).await;
    assert_eq!(winner, "build-3", "from the kept build times");
    assert_eq!(warm, 1 + 3, "the tag list and one HEAD per tag");
    assert!(cold > warm, "cold {cold}, warm {warm}");

    // build-1 now names a newer image: its digest is new, so its build time is read, by digest.
    push(&registry, "build-1", "2024-06-01T10:00:00Z").await;
    let (winner, moved) = resolve(&registry, &cache).await;
    assert_eq!(winner, "build-1", "the re-pushed tag's new build time");
    assert_eq!(moved, 1 + 3 + 2, "and the new image's manifest and config");
    let (_, again) = resolve(&registry, &cache).await;
    assert_eq!(again, 1 + 3, "the new image is known too");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn within_the_ttl_a_resolution_asks_nothing() {
    let registry = TestRegistry::plain().await;
    for (tag, day) in [("build-1", 1), ("build-2", 2)] {
        push(&registry, tag, &format!("2024-05-{day:02}T10:00:00Z")).await;
    }
    let dir = tempfile::tempdir().unwrap();
    let cache = RegistryCache {
        cache: Arc::new(FileCache::open(dir.path()).unwrap()),
        tags_ttl: Duration::from_secs(600),
    };

    let (winner, cold) = resolve(&registry, &cache).await;
    assert_eq!((winner.as_str(), cold), ("build-2", 1 + 2 * 2));
    let (winner, warm) = resolve(&registry, &cache).await;
    assert_eq!(
        (winner.as_str(), warm),
        ("build-2", 0),
        "all from the cache"
    );
}
