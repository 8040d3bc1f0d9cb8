//! Tests of the file backend, and of single flight across its instances (as across processes).

use std::future::{Future, poll_fn};
use std::pin::{Pin, pin};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::Poll;

use chrono::TimeDelta;
use tokio::sync::Notify;

use super::*;
use crate::cache::{TagsOutcome, TagsSource, tags_or_fetch};
use crate::image::ImageRef;
use crate::platform::Platform;
use crate::policy::filter::{AllowTags, IgnoreTags};
use crate::policy::{Order, Policy, Strategy};

const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const TTL: Duration = Duration::from_secs(60);

#[derive(Debug)]
struct FetchFailed(&'static str);

/// A clock that moves only when told to.
struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    fn at(rfc3339: &str) -> Arc<Self> {
        Arc::new(ManualClock(Mutex::new(time(rfc3339))))
    }
    fn set(&self, now: DateTime<Utc>) {
        *self.0.lock().unwrap() = now;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

fn time(rfc3339: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(rfc3339)
        .unwrap()
        .with_timezone(&Utc)
}

fn open(dir: &Path, clock: Arc<dyn Clock>) -> FileCache {
    FileCache::open_with(
        dir,
        CacheOptions {
            clock,
            ..CacheOptions::default()
        },
    )
    .unwrap()
}

fn policy(strategy: &str, constraint: &str) -> Policy {
    Policy::new(Strategy::parse(strategy, Some(constraint), Order::Asc).unwrap())
}

/// The key of `image` under `policy`, read with the sidecar's own credentials.
fn resolution_key(image: &str, policy: &Policy) -> ResolutionKey {
    ResolutionKey::new(&ImageRef::parse(image).unwrap(), policy)
}

fn names(tags: &[Tag]) -> Vec<&str> {
    tags.iter().map(|t| t.name.as_str()).collect()
}

fn tag_list(names: &[&str]) -> Vec<Tag> {
    names.iter().map(|n| Tag::parse(n).unwrap()).collect()
}

/// Polls `future` exactly once, so a test knows it has reached its first wait.
async fn poll_once<F: Future>(mut future: Pin<&mut F>) -> Poll<F::Output> {
    poll_fn(|cx| Poll::Ready(future.as_mut().poll(cx))).await
}

#[test]
fn resolutions_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let cache = FileCache::open(dir.path()).unwrap();
    for (name, key, resolved) in [
        (
            "with digest",
            resolution_key("docker.io/library/nginx", &policy("semver", "~1.25")),
            Resolved {
                tag: "1.25.5".into(),
                digest: Some(DIGEST.into()),
                resolved_at: time("2026-01-01T10:00:00Z"),
            },
        ),
        (
            "without digest, policy with non-ascii and newline",
            resolution_key(
                "ghcr.io/org/app",
                &Policy {
                    allow: AllowTags::parse("regexp:^2\n?").unwrap(),
                    ignore: IgnoreTags::parse("é*").unwrap(),
                    ..policy("alphabetical", "")
                },
            ),
            Resolved {
                tag: "2024.05.01".into(),
                digest: None,
                resolved_at: time("2026-01-01T10:00:00.123456789Z"),
            },
        ),
    ] {
        assert_eq!(cache.last_known_good(&key), None, "{name}: before");
        cache.record(&key, &resolved).unwrap();
        assert_eq!(
            cache.last_known_good(&key),
            Some(resolved.clone()),
            "{name}"
        );
        let newer = Resolved {
            tag: "9.9.9".into(),
            ..resolved
        };
        cache.record(&key, &newer).unwrap();
        assert_eq!(cache.last_known_good(&key), Some(newer), "{name}: replaced");
    }
    let other = resolution_key("docker.io/library/nginx", &policy("semver", ""));
    assert_eq!(
        cache.last_known_good(&other),
        None,
        "another policy shares nothing"
    );
}

#[test]
fn tag_lists_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::at("2026-01-01T10:00:00Z");
    let cache = open(dir.path(), clock.clone());
    let key = TagsKey::new("docker.io/library/nginx");
    for (name, tags) in [
        ("empty", Vec::new()),
        (
            "with metadata",
            vec![
                Tag {
                    name: "1.25.5".parse().unwrap(),
                    created: Some(time("2024-05-01T10:00:00Z")),
                    digest: Some(DIGEST.into()),
                },
                Tag::parse("latest").unwrap(),
            ],
        ),
    ] {
        let cached = CachedTags {
            tags,
            fetched_at: clock.now(),
        };
        cache.store_tags(&key, &cached).unwrap();
        assert_eq!(cache.tags(&key, TTL), Some(cached), "{name}");
    }
    let leftovers: Vec<String> = fs::read_dir(dir.path().join("v1/tags"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        leftovers,
        [format!("{}.json", key.file_stem())],
        "only the cache file remains: no temporary files"
    );
}

#[test]
fn files_carry_their_key_in_clear() {
    let dir = tempfile::tempdir().unwrap();
    let cache = FileCache::open(dir.path()).unwrap();
    let key = resolution_key("docker.io/library/nginx", &policy("semver", ""));
    let resolved = Resolved {
        tag: "1.25.5".into(),
        digest: None,
        resolved_at: time("2026-01-01T10:00:00Z"),
    };
    cache.record(&key, &resolved).unwrap();
    let path = dir
        .path()
        .join("v1/resolved")
        .join(format!("{}.json", key.file_stem()));
    let json: serde_json::Value = serde_json::from_slice(&fs::read(path).unwrap()).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "key": {
                "registry": "docker.io",
                "repository": "library/nginx",
                "policy": {
                    "strategy": {
                        "name": "semver",
                        "constraint": null,
                        "include_prerelease": false,
                        "strict": false,
                    },
                    "allow_tags": null,
                    "ignore_tags": [],
                    "tag_pattern": null,
                    "platforms": [],
                },
                "credential": null,
                "scope": null,
            },
            "tag": "1.25.5",
            "resolved_at": "2026-01-01T10:00:00Z",
        })
    );
}

#[test]
fn answers_are_kept_per_credential_an_application_named() {
    let dir = tempfile::tempdir().unwrap();
    let cache = FileCache::open(dir.path()).unwrap();
    let key = |credentials: Option<&str>| {
        ResolutionKey::with_credentials(
            &ImageRef::parse("ghcr.io/org/app").unwrap(),
            &policy("semver", ""),
            credentials.map(|c| c.parse().unwrap()).as_ref(),
            None,
        )
    };
    let resolved = Resolved {
        tag: "1.2.0".into(),
        digest: None,
        resolved_at: time("2026-01-01T10:00:00Z"),
    };
    cache
        .record(&key(Some("pullsecret:team-a/regcred")), &resolved)
        .unwrap();
    for (name, credentials, want) in [
        (
            "the same secret",
            Some("pullsecret:team-a/regcred"),
            Some(&resolved),
        ),
        ("another secret", Some("pullsecret:team-b/regcred"), None),
        ("the sidecar's own credentials", None, None),
    ] {
        assert_eq!(
            cache.last_known_good(&key(credentials)).as_ref(),
            want,
            "{name}"
        );
    }
    fs::copy(
        cache.resolved_path(&key(Some("pullsecret:team-a/regcred"))),
        cache.resolved_path(&key(None)),
    )
    .unwrap();
    assert_eq!(
        cache.last_known_good(&key(None)),
        None,
        "a file moved under another key's name"
    );
}

#[test]
fn tag_lists_are_kept_per_credential_source() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::at("2026-01-01T10:00:00Z");
    let cache = open(dir.path(), clock.clone());
    let read_with = |credentials: Option<&str>| {
        TagsKey::with_credentials("ghcr.io/org/app", credentials.map(String::from))
    };
    let private = CachedTags {
        tags: tag_list(&["1.0-private"]),
        fetched_at: clock.now(),
    };
    cache
        .store_tags(&read_with(Some("pull-secret team-a/regcred")), &private)
        .unwrap();
    for (name, credentials, want) in [
        (
            "the same source",
            Some("pull-secret team-a/regcred"),
            Some(&private),
        ),
        ("another source", Some("pull-secret team-b/regcred"), None),
        ("anonymous", None, None),
    ] {
        assert_eq!(
            cache.tags(&read_with(credentials), TTL).as_ref(),
            want,
            "{name}"
        );
    }

    // A file moved under another key's name is not that key's list.
    fs::copy(
        cache.tags_path(&read_with(Some("pull-secret team-a/regcred"))),
        cache.tags_path(&read_with(None)),
    )
    .unwrap();
    assert_eq!(cache.tags(&read_with(None), TTL), None, "copied file");
}

#[test]
fn image_metadata_round_trips_under_its_key() {
    let dir = tempfile::tempdir().unwrap();
    let cache = FileCache::open(dir.path()).unwrap();
    let amd64 = MetadataKey::new("ghcr.io/org/app", &[Platform::linux_amd64()]);
    let (built, undated, missing) = (DIGEST.replace('0', "f"), DIGEST.replace('0', "e"), DIGEST);
    let known = KnownImages {
        images: BTreeMap::from([
            (
                built.clone(),
                ImageMetadata::Built {
                    created: Some(time("2024-05-01T10:00:00Z")),
                },
            ),
            (undated.clone(), ImageMetadata::Built { created: None }),
            (missing.to_string(), ImageMetadata::NoImageForPlatforms),
        ]),
        tags: BTreeMap::from([
            ("build-1".to_string(), built.clone()),
            ("build-2".to_string(), undated.clone()),
        ]),
        tags_checked_at: Some(time("2026-01-01T10:00:00Z")),
    };
    let nothing = KnownImages::default();
    assert_eq!(cache.image_metadata(&amd64), nothing, "nothing yet");
    cache.store_image_metadata(&amd64, &known).unwrap();
    assert_eq!(cache.image_metadata(&amd64), known);

    let arm64 = MetadataKey::new("ghcr.io/org/app", &["linux/arm64".parse().unwrap()]);
    assert_eq!(cache.image_metadata(&arm64), nothing, "other platforms");
    let path = cache.metadata_path(&amd64);
    fs::copy(&path, cache.metadata_path(&arm64)).unwrap();
    assert_eq!(
        cache.image_metadata(&arm64),
        nothing,
        "a file holding another key"
    );

    let text = fs::read_to_string(&path).unwrap();
    for (name, broken) in [
        (
            "a malformed image digest",
            text.replace(DIGEST, "sha256:short"),
        ),
        ("a malformed tag digest", text.replace(&built, "md5:x")),
        ("a malformed tag", text.replace("build-1", "build:1")),
        ("a truncated file", text[..text.len() / 2].to_string()),
    ] {
        fs::write(&path, broken).unwrap();
        assert_eq!(cache.image_metadata(&amd64), nothing, "{name}");
    }
}

#[test]
fn tag_mappings_age_like_tag_lists() {
    let at = time("2026-01-01T10:00:00Z");
    let known = KnownImages {
        tags_checked_at: Some(at),
        ..KnownImages::default()
    };
    let ttl = Duration::from_secs(30);
    let seconds = |s| at + TimeDelta::seconds(s);
    assert!(known.tags_fresh(seconds(29), ttl), "within the TTL");
    assert!(!known.tags_fresh(seconds(30), ttl), "at the TTL");
    assert!(!known.tags_fresh(seconds(-1), ttl), "from the future");
    assert!(!KnownImages::default().tags_fresh(at, ttl), "never checked");
}

#[test]
fn broken_files_are_misses() {
    let dir = tempfile::tempdir().unwrap();
    let cache = FileCache::open(dir.path()).unwrap();
    let key = resolution_key("docker.io/library/nginx", &policy("semver", ""));
    let tags_key = TagsKey::new("docker.io/library/nginx");
    let resolved_path = cache.resolved_path(&key);
    let tags_path = cache.tags_path(&tags_key);
    let good_resolved = r#"{"key":{"registry":"docker.io","repository":"library/nginx","policy":{"strategy":{"name":"semver","constraint":null,"include_prerelease":false,"strict":false},"allow_tags":null,"ignore_tags":[],"tag_pattern":null,"platforms":[]},"credential":null,"scope":null},"tag":"1.0","resolved_at":"2026-01-01T00:00:00Z"}"#;
    let good_tags = r#"{"repository":"docker.io/library/nginx","fetched_at":"2099-01-01T00:00:00Z","tags":[{"name":"1.0"}]}"#;
    for (name, resolved, tags) in [
        ("empty", "", ""),
        ("not json", "tag: 1.0", "- 1.0"),
        (
            "truncated",
            &good_resolved[..good_resolved.len() / 2],
            &good_tags[..good_tags.len() / 2],
        ),
        (
            "wrong type",
            "[]",
            r#"{"repository":"docker.io/library/nginx","fetched_at":"2099-01-01T00:00:00Z","tags":"1.0"}"#,
        ),
        (
            "another key",
            &good_resolved.replace("nginx", "redis"),
            &good_tags.replace("nginx", "redis"),
        ),
        (
            "malformed tag",
            &good_resolved.replace(r#""1.0""#, r#""a:b""#),
            &good_tags.replace(r#""1.0""#, r#""a:b""#),
        ),
        (
            "malformed digest",
            &good_resolved.replace(r#""tag""#, r#""digest":"md5:x","tag""#),
            &good_tags.replace(r#""name""#, r#""digest":"md5:x","name""#),
        ),
        (
            "bad time",
            &good_resolved.replace("2026-01-01T00:00:00Z", "yesterday"),
            &good_tags.replace("2099-01-01T00:00:00Z", "tomorrow"),
        ),
    ] {
        fs::write(&resolved_path, resolved).unwrap();
        fs::write(&tags_path, tags).unwrap();
        assert_eq!(cache.last_known_good(&key), None, "{name}: resolution");
        assert_eq!(cache.tags(&tags_key, Duration::MAX), None, "{name}: tags");
    }
    // The same files, well-formed, are hits: the cases above fail for the reason they name.
    fs::write(&resolved_path, good_resolved).unwrap();
    fs::write(&tags_path, good_tags).unwrap();
    assert!(cache.last_known_good(&key).is_some(), "good resolution");
    assert!(
        cache.tags(&tags_key, Duration::MAX).is_none(),
        "good tags fetched in the future are stale"
    );
    fs::write(&tags_path, good_tags.replace("2099", "2000")).unwrap();
    assert!(cache.tags(&tags_key, Duration::MAX).is_some(), "good tags");

    // An unreadable file (a directory in its place) is a miss too, and writing over it is an error.
    fs::remove_file(&resolved_path).unwrap();
    fs::create_dir(&resolved_path).unwrap();
    assert_eq!(
        cache.last_known_good(&key),
        None,
        "directory in place of the file"
    );
    let resolved = Resolved {
        tag: "1.0".into(),
        digest: None,
        resolved_at: time("2026-01-01T00:00:00Z"),
    };
    let err = cache.record(&key, &resolved).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "cannot write cache file {}: Is a directory (os error 21)",
            resolved_path.display()
        )
    );
}

#[test]
fn unwritable_dirs_are_errors_naming_the_option() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("file");
    fs::write(&file, "").unwrap();
    let layout_is_file = dir.path().join("cache");
    fs::create_dir_all(layout_is_file.join("v1")).unwrap();
    fs::write(layout_is_file.join("v1/resolved"), "").unwrap();
    for (name, cache_dir, reason) in [
        (
            "below a file",
            file.join("cache"),
            "Not a directory (os error 20)",
        ),
        (
            "a file where a directory belongs",
            layout_is_file,
            "File exists (os error 17)",
        ),
    ] {
        let err = FileCache::open(&cache_dir).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "cache directory {} is not writable: {reason}; point --cache-dir (or IMAGE_RESOLVER_CACHE_DIR) \
                 at a writable directory",
                cache_dir.display()
            ),
            "{name}"
        );
    }
}

#[test]
fn relative_dirs_are_made_absolute() {
    let cache_dir = tempfile::tempdir_in(".").unwrap();
    let relative = cache_dir
        .path()
        .strip_prefix(std::env::current_dir().unwrap())
        .unwrap();
    assert!(relative.is_relative(), "the test needs a relative path");
    let cache = FileCache::open(relative).unwrap();
    assert_eq!(cache.dir(), std::path::absolute(relative).unwrap());
}

#[tokio::test]
async fn tag_lists_expire_after_their_ttl() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::at("2026-01-01T10:00:00Z");
    let cache = open(dir.path(), clock.clone());
    let key = TagsKey::new("docker.io/library/nginx");
    let start = clock.now();
    let calls = AtomicUsize::new(0);
    let fetch = |names: &'static [&'static str]| {
        calls.fetch_add(1, Ordering::SeqCst);
        std::future::ready(Ok::<_, FetchFailed>(tag_list(names)))
    };

    let first = tags_or_fetch(&cache, &key, TTL, fetch(&["1.0"]))
        .await
        .unwrap();
    assert_eq!(first.source, TagsSource::Fetched);
    assert_eq!(first.tags.fetched_at, start, "stamped with the clock");

    for (name, offset, want_source, want_names, want_fetched_at) in [
        ("within the ttl", 59, TagsSource::Cache, ["1.0"], start),
        (
            "at the ttl",
            60,
            TagsSource::Fetched,
            ["2.0"],
            start + TimeDelta::seconds(60),
        ),
        (
            "new list within its ttl",
            119,
            TagsSource::Cache,
            ["2.0"],
            start + TimeDelta::seconds(60),
        ),
    ] {
        clock.set(start + TimeDelta::seconds(offset));
        let calls_before = calls.load(Ordering::SeqCst);
        let outcome = tags_or_fetch(&cache, &key, TTL, async {
            calls.fetch_add(1, Ordering::SeqCst);
            Ok::<_, FetchFailed>(tag_list(&["2.0"]))
        })
        .await
        .unwrap();
        assert_eq!(outcome.source, want_source, "{name}");
        assert_eq!(names(&outcome.tags.tags), want_names, "{name}");
        assert_eq!(outcome.tags.fetched_at, want_fetched_at, "{name}");
        let fetched = calls.load(Ordering::SeqCst) - calls_before;
        assert_eq!(
            fetched,
            usize::from(want_source == TagsSource::Fetched),
            "{name}: fetches"
        );
    }
    assert_eq!(
        cache.tags(&key, Duration::MAX).map(|t| t.fetched_at),
        Some(start + TimeDelta::seconds(60)),
        "the refetched list was stored"
    );
}

type Shared = Result<TagsOutcome, Arc<FetchFailed>>;

/// Starts a fetch through `leader_cache` that ends with `leader_result` once a second call for the same key,
/// through `follower_cache` (the same instance: another task; another one on the directory: another process),
/// has been seen waiting for it; returns both outcomes and how many fetches ran.
async fn leader_and_follower(
    leader_cache: &FileCache,
    follower_cache: &FileCache,
    key: &TagsKey,
    leader_result: Result<Vec<Tag>, FetchFailed>,
) -> (Shared, Shared, usize) {
    let calls = AtomicUsize::new(0);
    let (entered, release) = (Notify::new(), Notify::new());

    let leader = tags_or_fetch(leader_cache, key, TTL, async {
        calls.fetch_add(1, Ordering::SeqCst);
        entered.notify_one();
        release.notified().await;
        leader_result
    });
    let follower = async {
        entered.notified().await;
        let mut follower = pin!(tags_or_fetch(follower_cache, key, TTL, async {
            calls.fetch_add(1, Ordering::SeqCst);
            Ok::<_, FetchFailed>(tag_list(&["other"]))
        }));
        // Its first poll found the leader's flight, or no list and the lock taken: it is now waiting.
        assert!(
            poll_once(follower.as_mut()).await.is_pending(),
            "waits for the leader"
        );
        release.notify_one();
        follower.await
    };
    let (leader, follower) = tokio::join!(leader, follower);
    (leader, follower, calls.load(Ordering::SeqCst))
}

#[tokio::test]
async fn concurrent_calls_in_one_process_fetch_once() {
    let dir = tempfile::tempdir().unwrap();
    let cache = FileCache::open(dir.path()).unwrap();
    let key = TagsKey::new("docker.io/library/nginx");

    let (leader, follower, calls) =
        leader_and_follower(&cache, &cache, &key, Ok(tag_list(&["1.0", "1.1"]))).await;
    let (leader, follower) = (leader.unwrap(), follower.unwrap());

    assert_eq!(calls, 1, "one fetch");
    assert_eq!(leader.source, TagsSource::Fetched);
    assert_eq!(follower.source, TagsSource::Shared);
    assert_eq!(follower.tags, leader.tags);
    assert_eq!(names(&follower.tags.tags), ["1.0", "1.1"]);
    assert!(cache.flights().is_empty(), "no flight left registered");
}

#[tokio::test]
async fn a_failed_fetch_is_shared_and_not_stored() {
    let dir = tempfile::tempdir().unwrap();
    let cache = FileCache::open(dir.path()).unwrap();
    let key = TagsKey::new("docker.io/library/nginx");

    let (leader, follower, calls) = leader_and_follower(
        &cache,
        &cache,
        &key,
        Err(FetchFailed("registry answered 503")),
    )
    .await;
    let (leader, follower) = (leader.unwrap_err(), follower.unwrap_err());

    assert_eq!(calls, 1, "one fetch");
    assert!(Arc::ptr_eq(&leader, &follower), "the same error");
    assert_eq!(leader.0, "registry answered 503");
    assert_eq!(cache.tags(&key, Duration::MAX), None, "nothing stored");
}

#[test]
fn the_cache_and_its_fetches_can_move_between_threads() {
    fn assert_send_sync<T: Send + Sync>(_: &T) {}
    fn assert_send<T: Send>(_: &T) {}
    let dir = tempfile::tempdir().unwrap();
    let cache = FileCache::open(dir.path()).unwrap();
    assert_send_sync(&cache);
    let key = TagsKey::new("docker.io/library/nginx");
    let call = tags_or_fetch(&cache, &key, TTL, async {
        Ok::<_, FetchFailed>(Vec::new())
    });
    assert_send(&call);
}

#[tokio::test]
async fn a_waiter_fetches_itself_when_the_leader_is_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let cache = FileCache::open(dir.path()).unwrap();
    let key = TagsKey::new("docker.io/library/nginx");
    let calls = AtomicUsize::new(0);

    let mut leader = Box::pin(tags_or_fetch(&cache, &key, TTL, async {
        calls.fetch_add(1, Ordering::SeqCst);
        std::future::pending::<Result<Vec<Tag>, FetchFailed>>().await
    }));
    assert!(
        poll_once(leader.as_mut()).await.is_pending(),
        "leader fetching"
    );
    let mut follower = pin!(tags_or_fetch(&cache, &key, TTL, async {
        calls.fetch_add(1, Ordering::SeqCst);
        Ok::<_, FetchFailed>(tag_list(&["1.0"]))
    }));
    assert!(
        poll_once(follower.as_mut()).await.is_pending(),
        "follower waiting"
    );
    drop(leader);

    let follower = follower.await.unwrap();
    assert_eq!(follower.source, TagsSource::Fetched);
    assert_eq!(names(&follower.tags.tags), ["1.0"]);
    assert_eq!(
        calls.load(Ordering::SeqCst),
        2,
        "the dropped leader's fetch and the follower's"
    );
}

#[tokio::test]
async fn another_process_fetching_is_waited_for() {
    // Two instances on one directory share no memory, as two processes would: only the lock file joins them.
    let dir = tempfile::tempdir().unwrap();
    let (first, second) = (
        FileCache::open(dir.path()).unwrap(),
        FileCache::open(dir.path()).unwrap(),
    );
    let key = TagsKey::new("docker.io/library/nginx");

    let (leader, waiter, calls) =
        leader_and_follower(&first, &second, &key, Ok(tag_list(&["1.0"]))).await;
    let (leader, waiter) = (leader.unwrap(), waiter.unwrap());

    assert_eq!(calls, 1, "one fetch");
    assert_eq!(
        waiter.source,
        TagsSource::Cache,
        "read what the other process stored"
    );
    assert_eq!(waiter.tags, leader.tags);
}

#[tokio::test]
async fn the_wait_for_another_process_is_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let cache = FileCache::open_with(
        dir.path(),
        CacheOptions {
            lock_wait: Duration::from_millis(30),
            ..CacheOptions::default()
        },
    )
    .unwrap();
    let key = TagsKey::new("docker.io/library/nginx");
    // A process that took the lock and never finishes.
    let lock_path = dir
        .path()
        .join("v1/tags")
        .join(format!("{}.lock", key.file_stem()));
    let held = Flock::lock(File::create(&lock_path).unwrap(), FlockArg::LockExclusive).unwrap();

    let started = Instant::now();
    let outcome = tags_or_fetch(&cache, &key, TTL, async {
        Ok::<_, FetchFailed>(tag_list(&["1.0"]))
    })
    .await
    .unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(30),
        "waited for the lock first"
    );
    assert_eq!(outcome.source, TagsSource::Fetched, "then fetched anyway");
    assert_eq!(
        cache.tags(&key, TTL).map(|t| t.tags),
        Some(tag_list(&["1.0"])),
        "and stored"
    );
    drop(held);
}

#[test]
fn concurrent_writers_never_leave_a_torn_file() {
    const WRITERS: usize = 4;
    const ROUNDS: usize = 200;
    let dir = tempfile::tempdir().unwrap();
    let key = resolution_key("docker.io/library/nginx", &policy("semver", ""));
    let tags_key = TagsKey::new("docker.io/library/nginx");
    let now = time("2026-01-01T00:00:00Z");
    let resolution = |writer: usize, round: usize| Resolved {
        tag: format!("w{writer}-r{round}"),
        digest: Some(format!("sha256:{:064x}", writer * 1_000_000 + round)),
        resolved_at: now,
    };
    // Every list is 100 tags of one writer and round, so a mixed list shows a torn write.
    let list = |writer: usize, round: usize| CachedTags {
        tags: (0..100)
            .map(|i| Tag::parse(&format!("w{writer}-r{round}-{i}")).unwrap())
            .collect(),
        fetched_at: now,
    };
    let setup = FileCache::open(dir.path()).unwrap();
    setup.record(&key, &resolution(0, 0)).unwrap();
    setup.store_tags(&tags_key, &list(0, 0)).unwrap();

    let start = std::sync::Barrier::new(WRITERS + 1);
    let writing = AtomicUsize::new(WRITERS);
    let reads = std::thread::scope(|scope| {
        for writer in 0..WRITERS {
            let (start, writing, dir) = (&start, &writing, dir.path());
            let (key, tags_key) = (&key, &tags_key);
            scope.spawn(move || {
                let cache = FileCache::open(dir).unwrap();
                start.wait();
                for round in 0..ROUNDS {
                    cache.record(key, &resolution(writer, round)).unwrap();
                    cache.store_tags(tags_key, &list(writer, round)).unwrap();
                }
                writing.fetch_sub(1, Ordering::SeqCst);
            });
        }
        let reader = scope.spawn(|| {
            let cache = FileCache::open(dir.path()).unwrap();
            start.wait();
            let mut reads = 0;
            loop {
                // One more round of reads after the last writer finished.
                let finished = writing.load(Ordering::SeqCst) == 0;
                let got = cache.last_known_good(&key).expect("every read parses");
                let (writer, round) = got.tag[1..]
                    .split_once("-r")
                    .map(|(w, r)| (w.parse().unwrap(), r.parse().unwrap()))
                    .unwrap();
                assert_eq!(
                    got,
                    resolution(writer, round),
                    "tag and digest from one write"
                );
                let tags = cache
                    .tags(&tags_key, Duration::MAX)
                    .expect("every read parses");
                let prefix = tags.tags[0].name.rsplit_once('-').unwrap().0.to_owned();
                assert!(
                    tags.tags
                        .iter()
                        .all(|t| t.name.starts_with(&format!("{prefix}-")))
                        && tags.tags.len() == 100,
                    "one whole list"
                );
                reads += 1;
                if finished {
                    break reads;
                }
            }
        });
        reader.join().unwrap()
    });
    assert!(reads > 0);
    let leftovers = ["v1/resolved", "v1/tags"]
        .iter()
        .flat_map(|sub| fs::read_dir(dir.path().join(sub)).unwrap())
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".tmp")
        })
        .count();
    assert_eq!(leftovers, 0, "no temporary files left");
}
