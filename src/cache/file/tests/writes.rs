//! What the backend leaves alone: an answer it already holds is not rewritten, and opening a cache that exists
//! creates nothing (issue 11: every warm render rewrote and synced its answers and probed each directory).

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::time::SystemTime;

use super::*;
use crate::cache::RESOLVED_AT_REFRESH;

/// Every entry under `dir` (itself included) by path: inode, modification time and size. Renaming a file over
/// another changes its inode; writing it, its time and size; creating or removing an entry, its directory's time.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, (u64, i64, i64, u64)> {
    let mut entries = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(path) = todo.pop() {
        let meta = fs::symlink_metadata(&path).unwrap();
        if meta.is_dir() {
            todo.extend(fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
        }
        entries.insert(
            path,
            (meta.ino(), meta.mtime(), meta.mtime_nsec(), meta.size()),
        );
    }
    entries
}

/// Sets every entry under `dir` to an old modification time, so that a write now shows even within the file
/// system's timestamp granularity.
fn age(dir: &Path) {
    let old = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
    for path in snapshot(dir).keys() {
        File::open(path).unwrap().set_modified(old).unwrap();
    }
}

#[test]
fn answers_already_recorded_are_not_rewritten() {
    let first = time("2026-01-01T10:00:00Z");
    let refresh = TimeDelta::from_std(RESOLVED_AT_REFRESH).unwrap();
    let answer = |tag: &str, digest: Option<&str>, at| Resolved {
        tag: tag.into(),
        digest: digest.map(String::from),
        resolved_at: at,
    };
    let other_digest = DIGEST.replace('0', "f");
    let key = resolution_key("docker.io/library/nginx", &policy("semver", ""));
    for (name, next, rewritten) in [
        (
            "the same answer, a render later",
            answer("1.25.5", Some(DIGEST), first + TimeDelta::seconds(30)),
            false,
        ),
        (
            "the same answer, just before the refresh",
            answer(
                "1.25.5",
                Some(DIGEST),
                first + refresh - TimeDelta::seconds(1),
            ),
            false,
        ),
        (
            "the same answer, at the refresh",
            answer("1.25.5", Some(DIGEST), first + refresh),
            true,
        ),
        (
            "another tag",
            answer("1.25.6", Some(DIGEST), first + TimeDelta::seconds(30)),
            true,
        ),
        (
            "the tag moved to another image",
            answer(
                "1.25.5",
                Some(&other_digest),
                first + TimeDelta::seconds(30),
            ),
            true,
        ),
        (
            "the digest no longer known",
            answer("1.25.5", None, first + TimeDelta::seconds(30)),
            true,
        ),
        (
            "recorded in the future (the clock was set back)",
            answer("1.25.5", Some(DIGEST), first - TimeDelta::seconds(30)),
            true,
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let cache = FileCache::open(dir.path()).unwrap();
        let stored = answer("1.25.5", Some(DIGEST), first);
        cache.record(&key, &stored).unwrap();
        age(dir.path());
        let before = snapshot(dir.path());

        cache.record(&key, &next).unwrap();
        // Before reading it back: a read of an entry this old marks it used (its time only).
        let written = snapshot(dir.path()) != before;
        let want = if rewritten { &next } else { &stored };
        assert_eq!(cache.last_known_good(&key).as_ref(), Some(want), "{name}");
        assert_eq!(written, rewritten, "{name}: written");
    }
}

#[test]
fn broken_or_misplaced_answers_are_replaced() {
    let at = time("2026-01-01T10:00:00Z");
    let resolved = Resolved {
        tag: "1.0".into(),
        digest: None,
        resolved_at: at,
    };
    let key = resolution_key("docker.io/library/nginx", &policy("semver", ""));
    let other = resolution_key("docker.io/library/redis", &policy("semver", ""));
    for (name, content) in [
        ("empty", String::new()),
        ("truncated", "{\"key\":".to_owned()),
        ("another key's answer, the same tag", {
            let dir = tempfile::tempdir().unwrap();
            let cache = FileCache::open(dir.path()).unwrap();
            cache.record(&other, &resolved).unwrap();
            fs::read_to_string(cache.resolved_path(&other)).unwrap()
        }),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let cache = FileCache::open(dir.path()).unwrap();
        fs::write(cache.resolved_path(&key), content).unwrap();
        cache.record(&key, &resolved).unwrap();
        assert_eq!(
            cache.last_known_good(&key),
            Some(resolved.clone()),
            "{name}"
        );
    }
}

#[test]
fn opening_an_existing_cache_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let cache = FileCache::open(dir.path()).unwrap();
    let key = resolution_key("docker.io/library/nginx", &policy("semver", ""));
    let resolved = Resolved {
        tag: "1.0".into(),
        digest: None,
        resolved_at: time("2026-01-01T10:00:00Z"),
    };
    cache.record(&key, &resolved).unwrap();
    age(dir.path());
    let before = snapshot(dir.path());

    FileCache::open(dir.path()).unwrap();
    assert_eq!(snapshot(dir.path()), before);
}
