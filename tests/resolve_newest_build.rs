//! `newest-build` against a real registry (Debian's docker-registry): with the cache in front, build times are kept
//! by image digest, so a later resolution pays one `HEAD` per tag instead of a manifest and a config read (or
//! nothing while the tag list and the tags' digests are within their TTL), and a re-pushed tag is read again
//! because it names another image; with registries.conf's `tagsortmode`, the list's order dates the tags and no
//! config is read at all.

mod support;

use std::sync::Arc;
use std::time::Duration;

use argocd_image_resolver::cache::FileCache;
use argocd_image_resolver::image::ImageRef;
use argocd_image_resolver::policy::filter::AllowTags;
use argocd_image_resolver::policy::{Policy, Strategy};
use argocd_image_resolver::registry::{ClientOptions, Endpoint, RegistryClient, TagSortMode};
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
    resolve_at(registry, registry.endpoint(), Some(cache)).await
}

async fn resolve_at(
    registry: &TestRegistry,
    endpoint: Endpoint,
    cache: Option<&RegistryCache>,
) -> (String, u64) {
    resolve_with(
        registry,
        endpoint,
        cache,
        Policy::new(Strategy::NewestBuild),
    )
    .await
}

async fn resolve_with(
    registry: &TestRegistry,
    endpoint: Endpoint,
    cache: Option<&RegistryCache>,
    policy: Policy,
) -> (String, u64) {
    let client = RegistryClient::new(endpoint, None, ClientOptions::default()).unwrap();
    let image: ImageRef = format!("{}/team/app", registry.registry).parse().unwrap();
    let resolution = resolver::resolve(&client, &image, &policy, cache)
        .await
        .expect("resolve");
    let winner = resolution
        .select(&policy)
        .winner
        .expect("a winner")
        .name
        .to_string();
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

/// Policies filtering different tags of one repository share what is known of its images: a tag the mapping does
/// not cover yet costs a HEAD, and a config read only when its image is new.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policies_on_one_repository_share_what_is_known() {
    let registry = TestRegistry::plain().await;
    // b-2 and b-3 name a-2's and a-1's images (the same config, so the same digest); b-1 is an image of its own.
    for (tag, day) in [("a-1", 1), ("a-2", 2), ("b-1", 3), ("b-2", 2), ("b-3", 1)] {
        push(&registry, tag, &format!("2024-05-{day:02}T10:00:00Z")).await;
    }
    let dir = tempfile::tempdir().unwrap();
    let cache = RegistryCache {
        cache: Arc::new(FileCache::open(dir.path()).unwrap()),
        tags_ttl: Duration::from_secs(600),
    };
    let policy = |allow: &str| {
        let mut policy = Policy::new(Strategy::NewestBuild);
        policy.allow = AllowTags::parse(allow).unwrap();
        policy
    };
    let run = |allow: &'static str| {
        let (registry, cache) = (&registry, &cache);
        async move { resolve_with(registry, registry.endpoint(), Some(cache), policy(allow)).await }
    };

    assert_eq!(
        run("regexp:^a-").await,
        ("a-2".into(), 1 + 2 * 2),
        "cold: the list, two images"
    );
    assert_eq!(
        run("regexp:^b-").await,
        ("b-1".into(), 3 + 2),
        "three HEADs; only b-1's image is new"
    );
    assert_eq!(run("regexp:^a-").await, ("a-2".into(), 0), "all known");
    assert_eq!(run("regexp:^b-").await, ("b-1".into(), 0), "all known");
}

/// With `tagsortmode`, the resolver takes the order the registry lists tags in for build order, whatever the
/// configs say, and reads no config.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_time_sorted_tag_list_dates_the_tags_by_position() {
    let registry = TestRegistry::plain().await;
    for (tag, day) in [("a", 3), ("b", 2), ("c", 1)] {
        push(&registry, tag, &format!("2024-05-{day:02}T10:00:00Z")).await;
    }
    // docker-registry's order is its own (neither name nor push order): read it as a registry client would.
    let listed = RegistryClient::new(registry.endpoint(), None, ClientOptions::default())
        .unwrap()
        .tags("team/app")
        .await
        .unwrap()
        .tags;
    let (first, last) = (listed[0].name.as_str(), listed[2].name.as_str());
    let sorted = |tag_sort| Endpoint {
        tag_sort,
        ..registry.endpoint()
    };
    for (name, tag_sort, want) in [
        (
            "build times read: a is the newest image",
            TagSortMode::None,
            ("a", 1 + 3 * 2),
        ),
        (
            "latest first: the first listed",
            TagSortMode::LatestFirst,
            (first, 1),
        ),
        (
            "latest last: the last listed",
            TagSortMode::LatestLast,
            (last, 1),
        ),
    ] {
        let (winner, requests) = resolve_at(&registry, sorted(tag_sort), None).await;
        assert_eq!((winner.as_str(), requests), want, "{name}");
    }
}
