//! The bounded cache: which names the sweep may touch, what it removes (age, least recently used beyond the size,
//! killed writers' temporary files, locks of lists gone), what it leaves (anything else in the directory, held
//! locks, writes in progress, entries replaced meanwhile), and how rarely it runs. Time is the injected clock's:
//! the cache stamps what it writes and reads by it.

use std::os::unix::fs::MetadataExt;
use std::time::{SystemTime, UNIX_EPOCH};

use nix::sys::stat::Mode;
use nix::unistd::mkfifo;

use super::*;
use crate::cache::file::sweep::{self, Bounds, Found, GRACE, Kind, Why};

const T0: &str = "2026-01-01T00:00:00Z";
const INTERVAL: Duration = Duration::from_secs(5 * 60);
const HOUR: i64 = 60 * 60;

fn stem(seed: u32) -> String {
    format!("{seed:064x}")
}

fn options(
    clock: Arc<dyn Clock>,
    max_size: Option<u64>,
    max_age: Option<Duration>,
    sweep_interval: Duration,
) -> CacheOptions {
    CacheOptions {
        clock,
        max_size: max_size.map(ByteSize),
        max_age,
        sweep_interval,
        ..CacheOptions::default()
    }
}

/// Bytes on disk, as the sweep counts them.
fn usage(path: &Path) -> u64 {
    let meta = fs::symlink_metadata(path).unwrap();
    meta.len().max(meta.blocks() * 512)
}

fn set_time(path: &Path, at: DateTime<Utc>) {
    File::open(path)
        .unwrap()
        .set_modified(SystemTime::from(at))
        .unwrap();
}

fn modified(path: &Path) -> DateTime<Utc> {
    fs::metadata(path).unwrap().modified().unwrap().into()
}

fn seconds(s: i64) -> TimeDelta {
    TimeDelta::seconds(s)
}

#[test]
fn names_the_cache_writes() {
    let entry = format!("{}.json", stem(1));
    for (name, dir, file, want) in [
        ("an entry", "resolved", entry.clone(), Some(Kind::Entry)),
        ("an entry of tags", "tags", entry.clone(), Some(Kind::Entry)),
        (
            "a lock",
            "tags",
            format!("{}.lock", stem(1)),
            Some(Kind::Lock),
        ),
        (
            "a lock outside tags",
            "metadata",
            format!("{}.lock", stem(1)),
            None,
        ),
        (
            "a temporary file as written",
            "metadata",
            temp_name(&entry),
            Some(Kind::Temp),
        ),
        (
            "a temporary file",
            "resolved",
            format!(".{entry}.7.{:016x}.tmp", 9),
            Some(Kind::Temp),
        ),
        (
            "upper-case hex",
            "resolved",
            format!("{}.json", stem(0xab).to_uppercase()),
            None,
        ),
        (
            "a short hash",
            "resolved",
            format!("{}.json", &stem(1)[1..]),
            None,
        ),
        ("no extension", "resolved", stem(1), None),
        (
            "another extension",
            "resolved",
            format!("{}.yaml", stem(1)),
            None,
        ),
        (
            "an old layout's name",
            "resolved",
            "nginx.json".to_owned(),
            None,
        ),
        (
            "a temporary file of no entry",
            "resolved",
            format!(".notes.7.{:016x}.tmp", 9),
            None,
        ),
        (
            "a temporary file without a pid",
            "resolved",
            format!(".{entry}.{:016x}.tmp", 9),
            None,
        ),
        (
            "a temporary file with a short random part",
            "resolved",
            format!(".{entry}.7.{:015x}.tmp", 9),
            None,
        ),
        (
            "a temporary file of a lock",
            "tags",
            format!(".{}.lock.7.{:016x}.tmp", stem(1), 9),
            None,
        ),
        (
            "not hidden",
            "resolved",
            format!("{entry}.7.{:016x}.tmp", 9),
            None,
        ),
        (
            "the sweep marker",
            "resolved",
            sweep::MARKER.to_owned(),
            None,
        ),
        ("empty", "resolved", String::new(), None),
    ] {
        assert_eq!(sweep::classify(dir, &file), want, "{name}: {file}");
    }
}

#[test]
fn plans() {
    let now = time(T0);
    let file = |dir: &'static str, seed: u32, kind: Kind, age: i64, usage: u64| Found {
        dir,
        name: match kind {
            Kind::Entry => format!("{}.json", stem(seed)),
            Kind::Lock => format!("{}.lock", stem(seed)),
            Kind::Temp => format!(".{}.json.1.{:016x}.tmp", stem(seed), 0),
        },
        kind,
        modified: now - seconds(age),
        usage,
    };
    let entry = |seed, age, usage| file("resolved", seed, Kind::Entry, age, usage);
    let list = |seed, age| file("tags", seed, Kind::Entry, age, 10);
    let lock = |seed, age| file("tags", seed, Kind::Lock, age, 0);
    let temp = |seed, age, usage| file("metadata", seed, Kind::Temp, age, usage);
    let grace = GRACE.as_secs().cast_signed();
    let bounds = |max_size, max_age: Option<i64>| Bounds {
        max_size,
        max_age: max_age.map(|s| Duration::from_secs(s.cast_unsigned())),
    };
    type Case = (&'static str, Vec<Found>, Bounds, Vec<(usize, Why)>);
    let cases: Vec<Case> = vec![
        (
            "within both bounds, everything stays",
            vec![entry(1, 100, 10), entry(2, 0, 10)],
            bounds(Some(20), Some(200)),
            vec![],
        ),
        (
            "unused for the age bound or longer goes",
            vec![entry(1, 199, 10), entry(2, 200, 10), entry(3, 5000, 10)],
            bounds(None, Some(200)),
            vec![(1, Why::Age), (2, Why::Age)],
        ),
        (
            "over the size, the least recently used go until the rest fit",
            vec![
                entry(1, 30, 10),
                entry(2, 10, 10),
                entry(3, 20, 10),
                entry(4, 40, 5),
            ],
            bounds(Some(20), None),
            vec![(3, Why::Size), (0, Why::Size)],
        ),
        (
            "one large entry can make room for several",
            vec![entry(1, 30, 100), entry(2, 10, 10), entry(3, 20, 10)],
            bounds(Some(25), None),
            vec![(0, Why::Size)],
        ),
        (
            "ties go by directory, then name",
            vec![list(2, 10), entry(2, 10, 10), entry(1, 10, 10)],
            bounds(Some(10), None),
            vec![(2, Why::Size), (1, Why::Size)],
        ),
        (
            "age first, then size over what is left",
            vec![
                entry(1, 300, 10),
                entry(2, 30, 10),
                entry(3, 20, 10),
                entry(4, 10, 10),
            ],
            bounds(Some(20), Some(200)),
            vec![(0, Why::Age), (1, Why::Size)],
        ),
        (
            "a time after now (the clock was set back) is the newest",
            vec![entry(1, -50, 10), entry(2, 10, 10)],
            bounds(Some(10), Some(200)),
            vec![(1, Why::Size)],
        ),
        (
            "a write in progress counts but stays; a killed writer's file goes",
            vec![temp(1, grace - 1, 15), temp(2, grace, 15), entry(3, 10, 10)],
            bounds(Some(20), None),
            vec![(1, Why::Temp), (2, Why::Size)],
        ),
        (
            "without bounds, only what killed writers and unused locks left",
            vec![
                entry(1, 1 << 40, 1 << 40),
                temp(2, grace, 1),
                lock(3, grace),
            ],
            bounds(None, None),
            vec![(1, Why::Temp), (2, Why::Lock)],
        ),
        (
            "a lock stays with its list, or while young; goes with its list",
            vec![
                list(1, 10),
                lock(1, grace),
                lock(2, grace - 1),
                list(3, 300),
                lock(3, grace),
                lock(4, grace),
                entry(4, 10, 10),
            ],
            bounds(None, Some(200)),
            vec![(3, Why::Age), (4, Why::Lock), (5, Why::Lock)],
        ),
    ];
    for (name, found, bounds, want) in cases {
        let mut got = sweep::plan(&found, now, bounds);
        got.sort_by_key(|&(i, _)| i);
        let mut want = want;
        want.sort_by_key(|&(i, _)| i);
        assert_eq!(got, want, "{name}");
    }
}

#[test]
fn a_sweep_is_due_once_per_interval() {
    let now = time(T0);
    for (name, last, interval, want) in [
        ("never swept", None, INTERVAL, true),
        ("just swept", Some(now), INTERVAL, false),
        (
            "a second before the interval",
            Some(now - seconds(299)),
            INTERVAL,
            false,
        ),
        ("at the interval", Some(now - seconds(300)), INTERVAL, true),
        (
            "swept in the future (the clock was set back)",
            Some(now + seconds(1)),
            INTERVAL,
            true,
        ),
        ("no interval", Some(now), Duration::ZERO, true),
    ] {
        assert_eq!(sweep::is_due(last, now, interval), want, "{name}");
    }
}

#[test]
fn file_times_of_any_value_convert() {
    let far = Duration::from_secs(1 << 62);
    for (name, file_time, want) in [
        ("now-ish", SystemTime::from(time(T0)), time(T0)),
        (
            "with nanoseconds",
            SystemTime::from(time("2026-01-01T00:00:00.123456789Z")),
            time("2026-01-01T00:00:00.123456789Z"),
        ),
        (
            "before 1970",
            UNIX_EPOCH - Duration::from_secs(60),
            time("1969-12-31T23:59:00Z"),
        ),
        (
            "past chrono's range",
            UNIX_EPOCH + far,
            DateTime::<Utc>::MAX_UTC,
        ),
        (
            "before chrono's range",
            UNIX_EPOCH - far,
            DateTime::<Utc>::MIN_UTC,
        ),
    ] {
        assert_eq!(sweep::file_time(file_time), want, "{name}");
    }
}

/// Four last-known-good answers written an hour apart (`app-a` first), some read later, then a sweep by another
/// process: which answers are left.
#[test]
fn bounds_keep_the_recently_used() {
    let images = ["app-a", "app-b", "app-c", "app-d"];
    let hours = |h: i64| time(T0) + seconds(h * HOUR);
    let minutes = |m: i64| time(T0) + seconds(m * 60);
    // (name, size bound in answers, age bound in minutes, reads, answers left)
    type Case = (
        &'static str,
        Option<u64>,
        Option<u64>,
        Vec<(&'static str, DateTime<Utc>)>,
        Vec<&'static str>,
    );
    let cases: Vec<Case> = vec![
        (
            "no bounds keep all",
            None,
            None,
            vec![],
            vec!["app-a", "app-b", "app-c", "app-d"],
        ),
        (
            "the size: least recently written go first",
            Some(2),
            None,
            vec![],
            vec!["app-c", "app-d"],
        ),
        (
            "the size: an old entry read keeps its place",
            Some(2),
            None,
            vec![("app-a", hours(4))],
            vec!["app-a", "app-d"],
        ),
        (
            "the size: a read soon after a write does not touch the entry",
            Some(2),
            None,
            vec![("app-a", minutes(59))],
            vec!["app-c", "app-d"],
        ),
        (
            "the age: unused for it, gone",
            None,
            Some(150),
            vec![],
            vec!["app-c", "app-d"],
        ),
        (
            "the age: an entry read is used",
            None,
            Some(150),
            vec![("app-a", hours(4))],
            vec!["app-a", "app-c", "app-d"],
        ),
        (
            "the age, then the size",
            Some(1),
            Some(150),
            vec![("app-a", hours(4))],
            vec!["app-a"],
        ),
    ];
    let swept_at = hours(4) + seconds(INTERVAL.as_secs().cast_signed());
    for (name, max_entries, max_age_minutes, reads, want) in cases {
        let dir = tempfile::tempdir().unwrap();
        let clock = ManualClock::at(T0);
        let max_age = max_age_minutes.map(|m| Duration::from_secs(m * 60));
        let key = |image: &str| {
            resolution_key(&format!("docker.io/library/{image}"), &policy("semver", ""))
        };
        // One process writes and reads; its sweeps, all but the first, are not due within the test.
        let user = FileCache::open_with(
            dir.path(),
            options(clock.clone(), None, max_age, Duration::MAX),
        )
        .unwrap();
        let mut unit = None;
        for (i, image) in images.iter().enumerate() {
            clock.set(hours(i as i64));
            let resolved = Resolved {
                tag: "1.0".into(),
                digest: None,
                resolved_at: clock.now(),
            };
            user.record(&key(image), &resolved).unwrap();
            let size = usage(&user.resolved_path(&key(image)));
            assert_eq!(
                *unit.get_or_insert(size),
                size,
                "{name}: the answers take the same room"
            );
        }
        for (image, at) in reads {
            clock.set(at);
            assert!(
                user.last_known_good(&key(image)).is_some(),
                "{name}: {image} read"
            );
        }

        clock.set(swept_at);
        let max_size = max_entries.map(|n| n * unit.unwrap());
        FileCache::open_with(
            dir.path(),
            options(clock.clone(), max_size, max_age, INTERVAL),
        )
        .unwrap();
        let left: Vec<&str> = images
            .into_iter()
            .filter(|image| user.resolved_path(&key(image)).exists())
            .collect();
        assert_eq!(left, want, "{name}");
    }
}

#[test]
fn writes_and_reads_stamp_entries_by_the_clock() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::at(T0);
    let max_age = Duration::from_secs(2 * 60 * 60);
    let cache = FileCache::open_with(
        dir.path(),
        options(clock.clone(), None, Some(max_age), Duration::MAX),
    )
    .unwrap();
    let key = TagsKey::new("docker.io/library/nginx");
    let path = cache.tags_path(&key);
    let list = CachedTags {
        tags: tag_list(&["1.0"]),
        fetched_at: clock.now(),
    };
    cache.store_tags(&key, &list).unwrap();
    assert_eq!(modified(&path), time(T0), "written");
    // With a 2 h age bound, a read marks the entry used when it is 30 minutes old or more (an hour at most).
    for (name, read_at, want) in [
        ("read within the touch interval", 30 * 60 - 1, 0),
        ("read at it", 30 * 60, 30 * 60),
        ("read again soon", 45 * 60, 30 * 60),
        ("read much later", 110 * 60, 110 * 60),
    ] {
        clock.set(time(T0) + seconds(read_at));
        assert!(cache.tags(&key, Duration::MAX).is_some(), "{name}");
        assert_eq!(modified(&path), time(T0) + seconds(want), "{name}");
    }
    // A broken entry is never marked used, so that it ages out.
    fs::write(&path, "{").unwrap();
    set_time(&path, time(T0));
    assert!(cache.tags(&key, Duration::MAX).is_none());
    assert_eq!(modified(&path), time(T0), "broken entry left as it was");
}

#[test]
fn killed_writers_files_go_and_writes_in_progress_stay() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::at(T0);
    let cache = open(dir.path(), clock.clone());
    let grace = seconds(GRACE.as_secs().cast_signed());
    let entry = format!("{}.json", stem(1));
    let now = time(T0) + seconds(HOUR);
    let cases = [
        (
            "a killed writer's file",
            "resolved",
            temp_name(&entry),
            now - grace,
            false,
        ),
        (
            "long ago",
            "metadata",
            temp_name(&entry),
            now - seconds(100 * HOUR),
            false,
        ),
        (
            "a write in progress",
            "tags",
            temp_name(&entry),
            now - grace + seconds(1),
            true,
        ),
        (
            "a temporary file the cache did not write",
            "resolved",
            ".notes.tmp".to_owned(),
            now - grace,
            true,
        ),
    ];
    for (_, sub, name, at, _) in &cases {
        let path = cache.dir().join("v1").join(sub).join(name);
        fs::write(&path, "{").unwrap();
        set_time(&path, *at);
    }
    clock.set(now);
    open(dir.path(), clock.clone());
    for (name, sub, file, _, kept) in cases {
        assert_eq!(
            cache.dir().join("v1").join(sub).join(file).exists(),
            kept,
            "{name}"
        );
    }
}

#[test]
fn the_sweep_touches_only_the_cache_s_own_files() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let clock = ManualClock::at(T0);
    let cache = open(root, clock.clone());
    let key = resolution_key("docker.io/library/nginx", &policy("semver", ""));
    let resolved = Resolved {
        tag: "1.0".into(),
        digest: None,
        resolved_at: clock.now(),
    };
    cache.record(&key, &resolved).unwrap();
    let outside = tempfile::NamedTempFile::new().unwrap();

    let foreign = [
        "git/clones/repo/.git/HEAD",
        "git/home/.gitconfig",
        "metrics/renders.log",
        "helm/repository/index.yaml",
        "v0/resolved/old.json",
        "v1/resolved/README",
        "v1/notes.json",
        "v1/other/0000000000000000000000000000000000000000000000000000000000000001.json",
    ];
    for path in foreign {
        let path = root.join(path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, "x").unwrap();
    }
    let resolved_dir = root.join("v1/resolved");
    let directory = resolved_dir.join(format!("{}.json", stem(2)));
    fs::create_dir(&directory).unwrap();
    let link = resolved_dir.join(format!("{}.json", stem(3)));
    std::os::unix::fs::symlink(outside.path(), &link).unwrap();
    let redis = resolution_key("docker.io/library/redis", &policy("semver", ""));
    let fifo = cache.resolved_path(&redis);
    mkfifo(&fifo, Mode::S_IRUSR | Mode::S_IWUSR).unwrap();
    let old = time("2000-01-01T00:00:00Z");
    for path in [
        root.join("git"),
        root.join("metrics"),
        outside.path().to_path_buf(),
        directory.clone(),
    ] {
        set_time(&path, old);
    }

    // Everything the cache wrote is over both bounds.
    clock.set(time(T0) + seconds(100 * HOUR));
    let bounds = options(
        clock.clone(),
        Some(1),
        Some(Duration::from_secs(1)),
        INTERVAL,
    );
    let sweeper = FileCache::open_with(root, bounds).unwrap();
    assert!(
        !cache.resolved_path(&key).exists(),
        "the cache's own entry is swept"
    );
    for path in foreign {
        assert!(root.join(path).exists(), "{path} left alone");
    }
    assert!(
        directory.is_dir(),
        "a directory under an entry's name left alone"
    );
    assert!(link.symlink_metadata().is_ok(), "a link left alone");
    assert!(outside.path().exists(), "and what it points to");
    assert!(fifo.exists(), "a FIFO left alone");
    // Readers take it for a miss, without waiting for a writer.
    assert_eq!(sweeper.last_known_good(&redis), None, "a FIFO is a miss");
}

#[test]
fn locks_go_only_with_their_list_and_when_nobody_holds_them() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::at(T0);
    let max_age = Some(Duration::from_secs(HOUR.cast_unsigned()));
    // Its sweeps, all but the first, are not due within the test.
    let cache = FileCache::open_with(
        dir.path(),
        options(clock.clone(), None, max_age, Duration::MAX),
    )
    .unwrap();
    let now = time(T0) + seconds(10 * HOUR);
    let grace = seconds(GRACE.as_secs().cast_signed());
    let cases = [
        // (name, list written at, lock taken at, held, lock kept)
        (
            "a held lock of no list",
            None,
            now - seconds(9 * HOUR),
            true,
            true,
        ),
        (
            "a held lock of a list the sweep removes",
            Some(time(T0)),
            time(T0),
            true,
            true,
        ),
        ("an old lock of no list", None, now - grace, false, false),
        (
            "the lock of a list the sweep removes",
            Some(time(T0)),
            time(T0),
            false,
            false,
        ),
        (
            "the lock of a list kept",
            Some(now - seconds(HOUR / 2)),
            time(T0),
            false,
            true,
        ),
        (
            "a lock just taken of a list not yet stored",
            None,
            now - grace + seconds(1),
            false,
            true,
        ),
    ];
    let mut held = Vec::new();
    for (i, (_, list_at, lock_at, hold, _)) in cases.iter().enumerate() {
        let key = TagsKey::new(format!("docker.io/library/app{i}"));
        if let Some(at) = list_at {
            clock.set(*at);
            cache
                .store_tags(
                    &key,
                    &CachedTags {
                        tags: Vec::new(),
                        fetched_at: *at,
                    },
                )
                .unwrap();
        }
        let lock = cache.tags_dir.join(format!("{}.lock", key.file_stem()));
        let file = File::create(&lock).unwrap();
        file.set_modified(SystemTime::from(*lock_at)).unwrap();
        if *hold {
            held.push(Flock::lock(file, FlockArg::LockExclusiveNonblock).unwrap());
        }
    }
    clock.set(now);
    FileCache::open_with(dir.path(), options(clock.clone(), None, max_age, INTERVAL)).unwrap();
    for (i, (name, _, _, _, kept)) in cases.iter().enumerate() {
        let key = TagsKey::new(format!("docker.io/library/app{i}"));
        let lock = cache.tags_dir.join(format!("{}.lock", key.file_stem()));
        assert_eq!(lock.exists(), *kept, "{name}");
    }
    drop(held);
}

#[tokio::test]
async fn a_lock_taken_is_stamped_so_the_sweep_leaves_it() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::at(T0);
    let cache = open(dir.path(), clock.clone());
    let key = TagsKey::new("docker.io/library/nginx");
    clock.set(time(T0) + seconds(HOUR));
    let lock = cache.lock_tags(&key).await.expect("locked");
    drop(lock);
    let path = cache.tags_dir.join(format!("{}.lock", key.file_stem()));
    assert_eq!(modified(&path), time(T0) + seconds(HOUR));
}

#[test]
fn sweeps_run_at_most_once_per_interval() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::at(T0);
    let stale = |name: u32| {
        let path = dir
            .path()
            .join("v1/resolved")
            .join(temp_name(&format!("{}.json", stem(name))));
        fs::write(&path, "{").unwrap();
        set_time(&path, time("2000-01-01T00:00:00Z"));
        path
    };
    let long_lived = open(dir.path(), clock.clone());
    let marker = dir.path().join("v1").join(sweep::MARKER);
    assert!(marker.exists(), "the first open swept");

    let first = stale(1);
    clock.set(time(T0) + seconds(299));
    open(dir.path(), clock.clone());
    assert!(
        first.exists(),
        "another open within the interval does not sweep"
    );

    clock.set(time(T0) + seconds(300));
    open(dir.path(), clock.clone());
    assert!(!first.exists(), "the first open after it does");

    // A process that stays (the daemon) sweeps on a write once the interval has passed.
    let second = stale(2);
    clock.set(time(T0) + seconds(600));
    let key = resolution_key("docker.io/library/nginx", &policy("semver", ""));
    let resolved = |at| Resolved {
        tag: "1.0".into(),
        digest: None,
        resolved_at: at,
    };
    long_lived.record(&key, &resolved(clock.now())).unwrap();
    assert!(!second.exists(), "a write after the interval sweeps");

    // While another process sweeps (holds the marker's lock), nobody else does.
    let third = stale(3);
    clock.set(time(T0) + seconds(900));
    let sweeping = Flock::lock(
        File::open(&marker).unwrap(),
        FlockArg::LockExclusiveNonblock,
    )
    .unwrap();
    open(dir.path(), clock.clone());
    assert!(third.exists(), "not while another process sweeps");
    drop(sweeping);
    open(dir.path(), clock.clone());
    assert!(!third.exists(), "after it, if it did not finish");

    // A marker that does not hold a time is no recent sweep.
    let fourth = stale(4);
    fs::write(&marker, "garbage").unwrap();
    open(dir.path(), clock.clone());
    assert!(!fourth.exists(), "a broken marker");
}

#[test]
fn racing_sweeps_remove_each_file_once() {
    const ENTRIES: u32 = 400;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("v1");
    open(dir.path(), ManualClock::at(T0));
    let now = time(T0);
    for seed in 0..ENTRIES {
        let sub = ["resolved", "tags", "metadata"][(seed % 3) as usize];
        let path = root.join(sub).join(format!("{}.json", stem(seed)));
        fs::write(&path, "{}").unwrap();
        set_time(&path, now - seconds(i64::from(seed)));
        let temp = root
            .join(sub)
            .join(temp_name(&format!("{}.json", stem(seed))));
        fs::write(&temp, "{").unwrap();
        set_time(&temp, now - seconds(HOUR));
    }
    let unit = usage(&root.join("resolved").join(format!("{}.json", stem(0))));
    let bounds = Bounds {
        max_size: Some(100 * unit),
        max_age: Some(Duration::from_secs(300)),
    };
    let start = std::sync::Barrier::new(2);
    let swept: Vec<sweep::Swept> = std::thread::scope(|scope| {
        let sweepers: Vec<_> = (0..2)
            .map(|_| {
                scope.spawn(|| {
                    start.wait();
                    sweep::sweep(&root, now, bounds)
                })
            })
            .collect();
        sweepers.into_iter().map(|s| s.join().unwrap()).collect()
    });
    let removed = |f: fn(&sweep::Swept) -> usize| swept.iter().map(f).sum::<usize>();
    assert_eq!(
        removed(|s| s.temp),
        ENTRIES as usize,
        "every temporary file once"
    );
    assert_eq!(
        removed(|s| s.by_age),
        (ENTRIES - 300) as usize,
        "past the age, once"
    );
    assert_eq!(removed(|s| s.by_size), 200, "over the size, once");
    let mut left: Vec<u32> = ["resolved", "tags", "metadata"]
        .iter()
        .flat_map(|sub| fs::read_dir(root.join(sub)).unwrap())
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .map(|name| u32::from_str_radix(name.strip_suffix(".json").unwrap(), 16).unwrap())
        .collect();
    left.sort_unstable();
    assert_eq!(
        left,
        (0..100).collect::<Vec<_>>(),
        "the 100 most recently used"
    );
}

#[test]
fn an_entry_replaced_after_listing_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::at(T0);
    let cache = open(dir.path(), clock.clone());
    let key = resolution_key("docker.io/library/nginx", &policy("semver", ""));
    let resolved = Resolved {
        tag: "1.0".into(),
        digest: None,
        resolved_at: clock.now(),
    };
    cache.record(&key, &resolved).unwrap();
    let path = cache.resolved_path(&key);
    let meta = fs::metadata(&path).unwrap();
    let listed = (meta.ino(), meta.modified().unwrap());

    clock.set(time(T0) + seconds(HOUR));
    cache
        .record(
            &key,
            &Resolved {
                tag: "2.0".into(),
                ..resolved.clone()
            },
        )
        .unwrap();
    assert!(!sweep::remove_unchanged(&path, listed).unwrap(), "replaced");
    assert_eq!(cache.last_known_good(&key).unwrap().tag, "2.0");

    let meta = fs::metadata(&path).unwrap();
    let listed = (meta.ino(), meta.modified().unwrap());
    clock.set(time(T0) + seconds(3 * HOUR));
    assert!(cache.last_known_good(&key).is_some(), "read: marked used");
    assert!(!sweep::remove_unchanged(&path, listed).unwrap(), "touched");

    let meta = fs::metadata(&path).unwrap();
    let listed = (meta.ino(), meta.modified().unwrap());
    assert!(sweep::remove_unchanged(&path, listed).unwrap(), "unchanged");
    assert!(
        !sweep::remove_unchanged(&path, listed).unwrap(),
        "already gone"
    );
}
