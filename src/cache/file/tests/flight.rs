//! Freshness and single flight through the file backend: lists expire after their TTL, one fetch serves concurrent
//! callers in one process and across instances (as across processes), failures are shared and not stored, and
//! concurrent writers never leave a torn file.

use super::*;

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
