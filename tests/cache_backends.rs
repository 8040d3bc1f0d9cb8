//! The cache's semantics, the same for both backends: each test runs against the file backend (a temp dir) and
//! the Redis backend (a real `redis-server` on a loopback port, `scripts/install-test-deps`), with two instances
//! on one store standing for two processes (or two repo-server replicas). Then what only Redis has: its keys all
//! expire, a lock whose holder died expires, and a Redis that is gone, refuses the password, never answers or
//! answers garbage leaves the cache working on its local directory.

#[path = "support/redis.rs"]
mod redis_support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use argocd_image_resolver::cache::{
    Cache, CacheOptions, CachedTags, Clock, FileCache, KnownImages, MetadataKey, REDIS_PREFIX,
    RedisCache, RedisOptions, RedisTarget, ResolutionKey, Resolved, TagsKey, tags_or_fetch,
};
use argocd_image_resolver::image::ImageRef;
use argocd_image_resolver::platform::Platform;
use argocd_image_resolver::policy::{Order, Policy, Strategy};
use argocd_image_resolver::tag::Tag;
use chrono::{DateTime, TimeDelta, Utc};
use redis_support::TestRedis;

const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const TTL: Duration = Duration::from_secs(60);

/// A clock that moves only when told to.
struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    fn new() -> Arc<Self> {
        Arc::new(ManualClock(Mutex::new(
            DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
                .unwrap()
                .with_timezone(&Utc),
        )))
    }
    fn advance(&self, by: Duration) {
        *self.0.lock().unwrap() += TimeDelta::from_std(by).unwrap();
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

/// One store (a directory, or a Redis server) and how to open an instance on it.
enum Store {
    Files(tempfile::TempDir),
    Redis {
        server: TestRedis,
        /// Each instance's own local directory, as each replica has.
        locals: tempfile::TempDir,
    },
}

impl Store {
    fn files() -> Store {
        Store::Files(tempfile::tempdir().unwrap())
    }

    fn redis() -> Store {
        Store::Redis {
            server: TestRedis::start(),
            locals: tempfile::tempdir().unwrap(),
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Store::Files(_) => "files",
            Store::Redis { .. } => "redis",
        }
    }

    /// Instance `n` on the store.
    fn open(&self, n: usize, clock: Arc<dyn Clock>, lock_wait: Duration) -> Arc<dyn Cache> {
        match self {
            Store::Files(dir) => Arc::new(
                FileCache::open_with(
                    dir.path(),
                    CacheOptions {
                        clock,
                        lock_wait,
                        ..CacheOptions::default()
                    },
                )
                .unwrap(),
            ),
            Store::Redis { server, locals } => {
                let local = FileCache::open_with(
                    locals.path().join(n.to_string()),
                    CacheOptions::default(),
                )
                .unwrap();
                Arc::new(RedisCache::new(
                    &RedisTarget::parse(&server.url()).unwrap(),
                    Arc::new(local),
                    RedisOptions {
                        clock,
                        lock_wait,
                        ..RedisOptions::default()
                    },
                ))
            }
        }
    }

    /// Copies the stored tag list of `from` to where `to`'s belongs, as a misplaced entry.
    fn misplace_tags(&self, from: &TagsKey, to: &TagsKey) {
        match self {
            Store::Files(dir) => {
                let path = |key: &TagsKey| {
                    dir.path()
                        .join("v1/tags")
                        .join(format!("{}.json", key.file_stem()))
                };
                std::fs::copy(path(from), path(to)).unwrap();
            }
            Store::Redis { server, .. } => {
                let name = |key: &TagsKey| format!("{REDIS_PREFIX}tags:{}", key.file_stem());
                assert_eq!(server.command(&["COPY", &name(from), &name(to)]), ":1");
            }
        }
    }

    /// Overwrites the stored tag list of `key` with bytes that are no cache entry.
    fn break_tags(&self, key: &TagsKey) {
        match self {
            Store::Files(dir) => std::fs::write(
                dir.path()
                    .join("v1/tags")
                    .join(format!("{}.json", key.file_stem())),
                "{not json",
            )
            .unwrap(),
            Store::Redis { server, .. } => {
                let name = format!("{REDIS_PREFIX}tags:{}", key.file_stem());
                assert_eq!(server.command(&["SET", &name, "{not json"]), "+OK");
            }
        }
    }
}

fn both() -> [Store; 2] {
    [Store::files(), Store::redis()]
}

fn tags(names: &[&str]) -> Vec<Tag> {
    names.iter().map(|n| Tag::parse(n).unwrap()).collect()
}

fn names(tags: &[Tag]) -> Vec<&str> {
    tags.iter().map(|t| t.name.as_str()).collect()
}

fn resolution_key(image: &str) -> ResolutionKey {
    let policy = Policy::new(Strategy::parse("semver", Some("~1"), Order::Asc).unwrap());
    ResolutionKey::new(&ImageRef::parse(image).unwrap(), &policy)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_round_trip_under_their_key_and_are_shared() {
    for store in both() {
        let clock = ManualClock::new();
        let (a, b) = (
            store.open(0, clock.clone(), TTL),
            store.open(1, clock.clone(), TTL),
        );
        let key = resolution_key("ghcr.io/acme/web");
        let other = resolution_key("ghcr.io/acme/api");
        assert_eq!(a.last_known_good(&key).await, None, "{}", store.name());
        let resolved = Resolved {
            tag: "1.2.3".to_owned(),
            digest: Some(DIGEST.to_owned()),
            resolved_at: clock.now(),
        };
        a.record(&key, &resolved).await.unwrap();
        assert_eq!(
            b.last_known_good(&key).await.as_ref(),
            Some(&resolved),
            "{}: another instance reads it",
            store.name()
        );
        assert_eq!(b.last_known_good(&other).await, None, "{}", store.name());
        let newer = Resolved {
            tag: "1.2.4".to_owned(),
            digest: None,
            resolved_at: clock.now(),
        };
        b.record(&key, &newer).await.unwrap();
        assert_eq!(
            a.last_known_good(&key).await,
            Some(newer),
            "{}",
            store.name()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tag_lists_are_fresh_for_the_reader_s_ttl_and_broken_ones_are_misses() {
    for store in both() {
        let clock = ManualClock::new();
        let (a, b) = (
            store.open(0, clock.clone(), TTL),
            store.open(1, clock.clone(), TTL),
        );
        let key = TagsKey::new("ghcr.io/acme/web");
        let with_credentials =
            TagsKey::with_credentials("ghcr.io/acme/web", Some("pull-secret:shop/regcred".into()));
        let list = CachedTags {
            tags: tags(&["1.0.0", "1.1.0"]),
            fetched_at: clock.now(),
        };
        a.store_tags(&key, &list).await.unwrap();
        let name = store.name();
        assert_eq!(b.tags(&key, TTL).await.as_ref(), Some(&list), "{name}");
        assert_eq!(
            b.tags(&with_credentials, TTL).await,
            None,
            "{name}: read with other credentials, another list"
        );
        clock.advance(TTL);
        assert_eq!(b.tags(&key, TTL).await, None, "{name}: stale at its TTL");
        assert_eq!(
            b.tags(&key, Duration::MAX).await.as_ref(),
            Some(&list),
            "{name}: any age"
        );
        let other = TagsKey::new("ghcr.io/acme/api");
        store.misplace_tags(&key, &other);
        assert_eq!(
            b.tags(&other, Duration::MAX).await,
            None,
            "{name}: an entry holding another key"
        );
        store.break_tags(&key);
        assert_eq!(b.tags(&key, Duration::MAX).await, None, "{name}: broken");
        // A list fetched "in the future" (the clock was set back) is stale: its age cannot be known.
        let future = CachedTags {
            tags: tags(&["9.9.9"]),
            fetched_at: clock.now() + TimeDelta::seconds(30),
        };
        a.store_tags(&key, &future).await.unwrap();
        assert_eq!(b.tags(&key, TTL).await, None, "{name}: from the future");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn build_times_round_trip() {
    for store in both() {
        let clock = ManualClock::new();
        let (a, b) = (
            store.open(0, clock.clone(), TTL),
            store.open(1, clock.clone(), TTL),
        );
        let key = MetadataKey::new(
            "ghcr.io/acme/web",
            &Platform::parse_list("linux/amd64").unwrap(),
        );
        assert_eq!(b.image_metadata(&key).await, KnownImages::default());
        let mut known = KnownImages::default();
        known.images.insert(
            DIGEST.to_owned(),
            argocd_image_resolver::cache::ImageMetadata::Built {
                created: Some(clock.now()),
            },
        );
        known.tags.insert("1.0.0".to_owned(), DIGEST.to_owned());
        known.tags_checked_at = Some(clock.now());
        a.store_image_metadata(&key, &known).await.unwrap();
        assert_eq!(b.image_metadata(&key).await, known, "{}", store.name());
        let arm = MetadataKey::new(
            "ghcr.io/acme/web",
            &Platform::parse_list("linux/arm64").unwrap(),
        );
        assert_eq!(b.image_metadata(&arm).await, KnownImages::default());
    }
}

/// Five instances (processes, or replicas) want the same list at once: one fetches it, the others wait for the
/// lock and read what it stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_instances_fetch_a_list_once() {
    for store in both() {
        let clock = ManualClock::new();
        let fetches = Arc::new(AtomicUsize::new(0));
        let key = TagsKey::new("ghcr.io/acme/web");
        let mut renders = tokio::task::JoinSet::new();
        for n in 0..5 {
            let cache = store.open(n, clock.clone(), Duration::from_secs(30));
            let (fetches, key) = (Arc::clone(&fetches), key.clone());
            renders.spawn(async move {
                let fetch = async {
                    fetches.fetch_add(1, Ordering::SeqCst);
                    // Long enough that the others are waiting on the lock, not yet asking.
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    Ok::<_, std::io::Error>(tags(&["1.0.0", "2.0.0"]))
                };
                let outcome = tags_or_fetch(cache.as_ref(), &key, TTL, fetch)
                    .await
                    .unwrap();
                names(&outcome.tags.tags).join(",")
            });
        }
        while let Some(listed) = renders.join_next().await {
            assert_eq!(listed.unwrap(), "1.0.0,2.0.0", "{}", store.name());
        }
        assert_eq!(fetches.load(Ordering::SeqCst), 1, "{}", store.name());
    }
}

/// The lock is exclusive across instances; a waiter that runs out of patience goes on without it, and gets it
/// once the holder lets go.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tag_list_lock_is_exclusive_and_a_wait_is_bounded() {
    for store in both() {
        let clock = ManualClock::new();
        let holder = store.open(0, clock.clone(), TTL);
        let impatient = store.open(1, clock.clone(), Duration::from_millis(200));
        let patient = store.open(2, clock.clone(), Duration::from_secs(30));
        let key = TagsKey::new("ghcr.io/acme/web");
        let held = holder.lock_tags(&key).await;
        assert!(held.is_some(), "{}", store.name());
        assert!(
            impatient.lock_tags(&key).await.is_none(),
            "{}: waited out",
            store.name()
        );
        let waiting = tokio::spawn(async move { patient.lock_tags(&key).await.is_some() });
        drop(held);
        assert!(
            waiting.await.unwrap(),
            "{}: taken once released",
            store.name()
        );
    }
}

/// Every key the Redis backend writes expires.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_redis_key_expires() {
    let store = Store::redis();
    let clock = ManualClock::new();
    let cache = store.open(0, clock.clone(), TTL);
    let key = TagsKey::new("ghcr.io/acme/web");
    tags_or_fetch(cache.as_ref(), &key, TTL, async {
        Ok::<_, std::io::Error>(tags(&["1.0.0"]))
    })
    .await
    .unwrap();
    cache
        .record(
            &resolution_key("ghcr.io/acme/web"),
            &Resolved {
                tag: "1.0.0".to_owned(),
                digest: None,
                resolved_at: clock.now(),
            },
        )
        .await
        .unwrap();
    let metadata = MetadataKey::new("ghcr.io/acme/web", &[]);
    cache
        .store_image_metadata(&metadata, &KnownImages::default())
        .await
        .unwrap();
    let held = cache.lock_tags(&TagsKey::new("ghcr.io/acme/api")).await;
    assert!(held.is_some());
    let Store::Redis { server, .. } = &store else {
        unreachable!()
    };
    let keys = server.keys_with_ttl();
    let kinds: Vec<&str> = keys
        .iter()
        .map(|(k, _)| {
            k.strip_prefix(REDIS_PREFIX)
                .unwrap_or_else(|| panic!("{k} has the prefix"))
                .split(':')
                .next()
                .unwrap()
        })
        .collect();
    for kind in ["tags", "resolved", "metadata", "lock"] {
        assert!(kinds.contains(&kind), "{kind} in {keys:?}");
    }
    for (key, ttl) in &keys {
        assert!(*ttl > 0, "{key} has a TTL: {ttl}");
    }
}

/// A lock whose holder died without releasing it (a `generate` killed mid-fetch) expires: the next one takes it
/// well before its own wait runs out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_holder_s_lock_expires() {
    let server = TestRedis::start();
    let locals = tempfile::tempdir().unwrap();
    let open = |n: usize, lock_ttl, lock_wait| {
        RedisCache::new(
            &RedisTarget::parse(&server.url()).unwrap(),
            Arc::new(FileCache::open(locals.path().join(n.to_string())).unwrap()),
            RedisOptions {
                lock_ttl,
                lock_wait,
                ..RedisOptions::default()
            },
        )
    };
    let dead = open(0, Duration::from_millis(500), TTL);
    let next = open(1, Duration::from_secs(30), Duration::from_secs(60));
    let key = TagsKey::new("ghcr.io/acme/web");
    // Never dropped, never released: as a process killed while holding it.
    std::mem::forget(dead.lock_tags(&key).await.expect("taken"));
    let taken = next.lock_tags(&key).await;
    assert!(
        taken.is_some(),
        "taken after the dead holder's lock expired"
    );
}

/// Redis unreachable in four ways: the cache still answers, from and into the local directory.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_redis_the_local_directory_answers() {
    let protected = TestRedis::with_password("right-password");
    let mut killed = TestRedis::start();
    let killed_url = killed.url();
    killed.kill();
    let (silent, _silent) = redis_support::broken_server(false);
    let (garbage, _garbage) = redis_support::broken_server(true);
    for (what, url) in [
        ("gone", killed_url),
        (
            "wrong password",
            format!("redis://:wrong-password@127.0.0.1:{}/0", protected.port),
        ),
        ("never answers", format!("redis://127.0.0.1:{silent}/0")),
        ("answers garbage", format!("redis://127.0.0.1:{garbage}/0")),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let cache = RedisCache::new(
            &RedisTarget::parse(&url).unwrap(),
            Arc::new(FileCache::open(dir.path()).unwrap()),
            RedisOptions {
                timeout: Duration::from_millis(300),
                ..RedisOptions::default()
            },
        );
        let key = TagsKey::new("ghcr.io/acme/web");
        let outcome = tags_or_fetch(&cache, &key, TTL, async {
            Ok::<_, std::io::Error>(tags(&["1.0.0"]))
        })
        .await
        .unwrap();
        assert_eq!(names(&outcome.tags.tags), ["1.0.0"], "{what}");
        assert!(
            cache.local().tags(&key, TTL).is_some(),
            "{what}: stored in the local directory"
        );
        let answer = Resolved {
            tag: "1.0.0".to_owned(),
            digest: None,
            resolved_at: cache.now(),
        };
        let resolution = resolution_key("ghcr.io/acme/web");
        cache.record(&resolution, &answer).await.unwrap();
        assert_eq!(
            cache.last_known_good(&resolution).await,
            Some(answer),
            "{what}"
        );
    }
    // The right password works, and what was recorded is shared through Redis.
    let url = format!("redis://:right-password@127.0.0.1:{}/0", protected.port);
    let dirs = tempfile::tempdir().unwrap();
    let open = |n: &str| {
        RedisCache::new(
            &RedisTarget::parse(&url).unwrap(),
            Arc::new(FileCache::open(dirs.path().join(n)).unwrap()),
            RedisOptions::default(),
        )
    };
    let (a, b) = (open("a"), open("b"));
    let key = TagsKey::new("ghcr.io/acme/web");
    let list = CachedTags {
        tags: tags(&["3.0.0"]),
        fetched_at: a.now(),
    };
    a.store_tags(&key, &list).await.unwrap();
    assert_eq!(b.tags(&key, TTL).await, Some(list));
    assert!(
        b.local().tags(&key, TTL).is_none(),
        "in Redis, not the directory"
    );
}

/// Redis killed while an instance is connected (a render in progress): the next operations fail over to the
/// local directory, and nothing hangs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_killed_mid_render_leaves_the_local_directory_answering() {
    let mut server = TestRedis::start();
    let dir = tempfile::tempdir().unwrap();
    let cache = RedisCache::new(
        &RedisTarget::parse(&server.url()).unwrap(),
        Arc::new(FileCache::open(dir.path()).unwrap()),
        RedisOptions {
            timeout: Duration::from_millis(500),
            ..RedisOptions::default()
        },
    );
    let key = TagsKey::new("ghcr.io/acme/web");
    let list = CachedTags {
        tags: tags(&["1.0.0"]),
        fetched_at: cache.now(),
    };
    cache.store_tags(&key, &list).await.unwrap();
    assert_eq!(
        cache.tags(&key, TTL).await.as_ref(),
        Some(&list),
        "through Redis"
    );
    assert!(cache.local().tags(&key, TTL).is_none());
    server.kill();
    assert_eq!(
        cache.tags(&key, TTL).await,
        None,
        "Redis's copy is gone with it"
    );
    let outcome = tags_or_fetch(&cache, &key, TTL, async {
        Ok::<_, std::io::Error>(tags(&["1.0.0", "1.1.0"]))
    })
    .await
    .unwrap();
    assert_eq!(names(&outcome.tags.tags), ["1.0.0", "1.1.0"]);
    assert!(cache.local().tags(&key, TTL).is_some(), "stored locally");
    assert!(
        cache
            .reserve_request("https://registry.test", 10)
            .await
            .is_none(),
        "the process books the limit"
    );
}

/// A registry's request slots are booked where every instance sees them: three requests at 10 per second from
/// two instances queue behind each other (by the cache's clock for files, Redis's own for Redis).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_slots_are_shared_between_instances() {
    for store in both() {
        let clock = ManualClock::new();
        let (a, b) = (
            store.open(0, clock.clone(), TTL),
            store.open(1, clock.clone(), TTL),
        );
        let registry = "https://registry.test";
        let mut waits = Vec::new();
        for cache in [&a, &b, &a] {
            waits.push(cache.reserve_request(registry, 10).await.expect("booked"));
        }
        let name = store.name();
        assert!(
            waits[0] < waits[1] && waits[1] < waits[2],
            "{name}: {waits:?}"
        );
        assert!(waits[2] > Duration::from_millis(150), "{name}: {waits:?}");
        b.back_off(registry, Duration::from_secs(5)).await;
        let after = a.reserve_request(registry, 10).await.expect("booked");
        assert!(
            after > Duration::from_secs(4),
            "{name}: a back-off holds the others: {after:?}"
        );
        assert_eq!(
            a.reserve_request("https://other.test", 10).await,
            Some(Duration::ZERO),
            "{name}: another registry"
        );
    }
}
