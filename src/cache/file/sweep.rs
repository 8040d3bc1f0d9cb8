//! The sweep: keeps the file cache's entries within its age and size bounds and removes what killed writers left,
//! at most once per interval across every process sharing the directory.
//!
//! Which process sweeps is decided by `v1/last-sweep`: its content is when the last sweep ended (by the cache's
//! clock), and whoever sweeps holds its `flock(2)`. A process reads it (one small read) and goes on at once when the
//! last sweep is recent or another process holds the lock; so hundreds of concurrent renders cost one sweep. The
//! time is in the content rather than the file's mtime so that a new, empty marker reads as "never swept".
//!
//! "Least recently used" is an entry's modification time: writes set it, and a read that finds it older than
//! the touch interval sets it again (a metadata update, no data write or sync). Access times would cost nothing
//! but are not kept on `noatime` volumes and are kept lazily under `relatime`; touching on every read would
//! update an inode per hot entry per render. So an entry read at least once per (age bound − touch interval)
//! survives the age bound, and the size bound's order is exact to within the touch interval.
//!
//! Only names the cache writes are considered, in its three directories under `v1/`: entries (`<sha256>.json`),
//! tag-list locks (`tags/<sha256>.lock`) and temporary files (`.<entry>.<pid>.<random>.tmp`). Anything else (other
//! names, directories, symbolic links, `git/`, `metrics/`, helm's files, other layouts) is neither counted nor
//! removed: the cache cannot know what it is for, and a size bound counting it could only evict real entries.
//! Concurrent writers and sweepers are safe: a file gone between listing and removal is skipped, and an entry
//! replaced or touched since it was listed is kept (its inode and time are checked again just before removal; what
//! slips through that window costs one cache miss, never a wrong answer).

use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, SecondsFormat, Utc};
use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg, OFlag};

use super::{METADATA_DIR, RESOLVED_DIR, TAGS_DIR};

/// The sweep's marker under `v1/`: when the last sweep ended, and the lock held while one runs.
pub(super) const MARKER: &str = "last-sweep";

/// How old a temporary file or an unused tag-list lock must be before the sweep removes it. A write takes
/// milliseconds and a lock is taken right after its file is opened; minutes leave room for a stalled disk. (The
/// process id in a temporary name cannot say whether its writer lives: the daemon's container, sharing the volume,
/// has its own process ids.)
pub(super) const GRACE: Duration = Duration::from_secs(5 * 60);

/// The directories the sweep looks in, under `v1/`.
const DIRS: [&str; 3] = [RESOLVED_DIR, TAGS_DIR, METADATA_DIR];

/// The bounds a sweep keeps the entries within; `None`: no bound.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Bounds {
    /// Bytes on disk, as `du` and the kubelet count them.
    pub max_size: Option<u64>,
    /// Since an entry was last written or read.
    pub max_age: Option<Duration>,
}

/// What a name in one of the cache's directories is, if the cache could have written it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    Entry,
    /// A tag list's `flock` file.
    Lock,
    /// A write's temporary file, renamed over its entry when complete.
    Temp,
}

/// Classifies `name` in the cache's directory `dir` (`resolved`, `tags` or `metadata`); `None` for any name the
/// cache never writes there.
pub(super) fn classify(dir: &str, name: &str) -> Option<Kind> {
    if name.strip_suffix(".json").is_some_and(is_stem) {
        return Some(Kind::Entry);
    }
    if dir == TAGS_DIR && name.strip_suffix(".lock").is_some_and(is_stem) {
        return Some(Kind::Lock);
    }
    // `.<entry>.<pid>.<16 hex digits>.tmp`, as `temp_name` makes them.
    let inner = name.strip_prefix('.')?.strip_suffix(".tmp")?;
    let (rest, random) = inner.rsplit_once('.')?;
    let (entry, pid) = rest.rsplit_once('.')?;
    let digits = |s: &str, len: std::ops::RangeInclusive<usize>, hex: bool| {
        len.contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (hex && (b'a'..=b'f').contains(&b)))
    };
    (digits(random, 16..=16, true)
        && digits(pid, 1..=10, false)
        && classify(dir, entry) == Some(Kind::Entry))
    .then_some(Kind::Temp)
}

/// A hash as the cache names entries: 64 lower-case hex digits.
fn is_stem(stem: &str) -> bool {
    stem.len() == 64 && stem.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// A file the sweep may remove, as listed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Found {
    /// `resolved`, `tags` or `metadata`.
    pub dir: &'static str,
    pub name: String,
    pub kind: Kind,
    /// When it was last written or read ([`Kind::Entry`]), written ([`Kind::Temp`]) or taken ([`Kind::Lock`]).
    pub modified: DateTime<Utc>,
    /// Bytes on disk.
    pub usage: u64,
}

/// Why the sweep removes a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Why {
    /// Unused for longer than the age bound.
    Age,
    /// Among the least recently used while the entries were over the size bound.
    Size,
    /// A temporary file its writer left.
    Temp,
    /// The lock of a tag list no longer cached.
    Lock,
}

/// Which of `found` to remove at `now`, and why (indexes into `found`). Entries go by age first, then the least
/// recently used (ties by directory and name, so that every sweeper picks the same) until the rest fit
/// `max_size`; temporary files and locks older than [`GRACE`] go, a lock only when its list does not stay. Kept
/// temporary files count towards the size (they are on disk) but are never evicted for it. A time after `now`
/// (the wall clock was set back) is an age of zero.
pub(super) fn plan(found: &[Found], now: DateTime<Utc>, bounds: Bounds) -> Vec<(usize, Why)> {
    let age = |f: &Found| (now - f.modified).to_std().unwrap_or(Duration::ZERO);
    let mut remove = Vec::new();
    let mut kept = Vec::new();
    let mut total: u64 = 0;
    for (i, f) in found.iter().enumerate() {
        match f.kind {
            Kind::Temp if age(f) >= GRACE => remove.push((i, Why::Temp)),
            Kind::Entry if bounds.max_age.is_some_and(|max| age(f) >= max) => {
                remove.push((i, Why::Age));
            }
            Kind::Entry => {
                kept.push(i);
                total = total.saturating_add(f.usage);
            }
            Kind::Temp | Kind::Lock => total = total.saturating_add(f.usage),
        }
    }
    if let Some(max) = bounds.max_size {
        kept.sort_by(|&a, &b| {
            let (a, b) = (&found[a], &found[b]);
            (a.modified, a.dir, &a.name).cmp(&(b.modified, b.dir, &b.name))
        });
        let mut evicted = 0;
        for &i in &kept {
            if total <= max {
                break;
            }
            total = total.saturating_sub(found[i].usage);
            remove.push((i, Why::Size));
            evicted += 1;
        }
        kept.drain(..evicted);
    }
    let lists: HashSet<&str> = kept
        .iter()
        .map(|&i| &found[i])
        .filter(|f| f.dir == TAGS_DIR)
        .filter_map(|f| f.name.strip_suffix(".json"))
        .collect();
    for (i, f) in found.iter().enumerate() {
        if f.kind == Kind::Lock
            && age(f) >= GRACE
            && !f
                .name
                .strip_suffix(".lock")
                .is_some_and(|stem| lists.contains(stem))
        {
            remove.push((i, Why::Lock));
        }
    }
    remove
}

/// What one sweep did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Swept {
    pub by_age: usize,
    pub by_size: usize,
    pub temp: usize,
    pub locks: usize,
    /// Files the plan named that were replaced, touched, locked or already gone when their turn came.
    pub skipped: usize,
}

/// Sweeps `root` (the `v1` directory) when the last sweep ended `interval` or more before `now` and no other
/// process is sweeping. Never fails: problems are logged.
pub(super) fn sweep_if_due(
    root: &Path,
    now: impl Fn() -> DateTime<Utc>,
    interval: Duration,
    bounds: Bounds,
) {
    let marker = root.join(MARKER);
    if !is_due(read_marker(&marker), now(), interval) {
        return;
    }
    let file = match OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .custom_flags(NO_WAIT | OFlag::O_NOFOLLOW.bits())
        .open(&marker)
    {
        Ok(file) => file,
        Err(e) => {
            tracing::warn!(path = %marker.display(), error = %e, "cannot open the sweep marker; not sweeping");
            return;
        }
    };
    let locked = match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
        Ok(locked) => locked,
        Err((_, Errno::EWOULDBLOCK | Errno::EINTR)) => return,
        Err((_, errno)) => {
            tracing::warn!(path = %marker.display(), error = %errno, "cannot lock the sweep marker; not sweeping");
            return;
        }
    };
    // Another process may have finished a sweep between the read above and the lock.
    if !is_due(read_time(&locked), now(), interval) {
        return;
    }
    sweep(root, now(), bounds);
    // The registries' request buckets live beside `v1/` (see `rates`): idle ones go with the same sweep.
    if let Some(dir) = root.parent() {
        crate::cache::rates::prune(dir, std::time::SystemTime::now());
    }
    let text = format!("{}\n", now().to_rfc3339_opts(SecondsFormat::Nanos, true));
    let written = locked
        .write_all_at(text.as_bytes(), 0)
        .and_then(|()| locked.set_len(text.len() as u64));
    if let Err(e) = written {
        tracing::warn!(path = %marker.display(), error = %e, "cannot record the sweep's time");
    }
}

/// `O_NONBLOCK`: opening a FIFO someone left under a cache file's name must not hang a render (on regular files
/// the flag does nothing).
pub(super) const NO_WAIT: i32 = OFlag::O_NONBLOCK.bits();

/// Whether a sweep is due at `now` after one that ended at `last` (`None`: never, or unknown). A time after
/// `now` (the wall clock was set back) is not trusted.
pub(super) fn is_due(last: Option<DateTime<Utc>>, now: DateTime<Utc>, interval: Duration) -> bool {
    last.is_none_or(|at| !crate::cache::is_fresh(at, now, interval))
}

fn read_marker(path: &Path) -> Option<DateTime<Utc>> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(NO_WAIT)
        .open(path)
        .ok()?;
    read_time(&file)
}

/// The time a marker holds (an RFC 3339 line); `None` when empty or unreadable.
fn read_time(file: &File) -> Option<DateTime<Utc>> {
    let mut text = String::new();
    // A time is 31 bytes; a longer file is not one.
    file.take(64).read_to_string(&mut text).ok()?;
    DateTime::parse_from_rfc3339(text.trim())
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// One sweep of `root` at `now`, whatever the marker says. Safe against concurrent writers and sweepers.
pub(super) fn sweep(root: &Path, now: DateTime<Utc>, bounds: Bounds) -> Swept {
    let listed = list(root);
    let found: Vec<Found> = listed.iter().map(|(_, f, _)| f.clone()).collect();
    let mut swept = Swept::default();
    for (i, why) in plan(&found, now, bounds) {
        let (path, _, listed_as) = &listed[i];
        let removed = match why {
            Why::Lock => remove_lock(path),
            Why::Age | Why::Size | Why::Temp => remove_unchanged(path, *listed_as),
        };
        match (removed, why) {
            (Ok(true), Why::Age) => swept.by_age += 1,
            (Ok(true), Why::Size) => swept.by_size += 1,
            (Ok(true), Why::Temp) => swept.temp += 1,
            (Ok(true), Why::Lock) => swept.locks += 1,
            (Ok(false), _) => swept.skipped += 1,
            (Err(e), _) => {
                swept.skipped += 1;
                tracing::warn!(path = %path.display(), error = %e, "cannot remove a cache file");
            }
        }
    }
    tracing::debug!(dir = %root.display(), listed = found.len(), ?swept, "cache swept");
    swept
}

/// A file's time as a `DateTime`, clamped to chrono's range: its `From` panics past it, and any file can be
/// given any time (`touch -d`). Before 1970, whole seconds.
pub(super) fn file_time(time: SystemTime) -> DateTime<Utc> {
    let seconds = |d: Duration| i64::try_from(d.as_secs()).ok();
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => seconds(after)
            .and_then(|s| DateTime::from_timestamp(s, after.subsec_nanos()))
            .unwrap_or(DateTime::<Utc>::MAX_UTC),
        Err(before) => seconds(before.duration())
            .and_then(|s| DateTime::from_timestamp(-s, 0))
            .unwrap_or(DateTime::<Utc>::MIN_UTC),
    }
}

/// A file as listed: its inode and modification time, to tell whether it changed before it is removed.
pub(super) type Identity = (u64, SystemTime);

/// The files under `root`'s directories the cache could have written, regular files only (never following a
/// symbolic link).
fn list(root: &Path) -> Vec<(PathBuf, Found, Identity)> {
    let mut listed = Vec::new();
    for dir in DIRS {
        let path = root.join(dir);
        let entries = match fs::read_dir(&path) {
            Ok(entries) => entries,
            Err(e) => {
                if e.kind() != io::ErrorKind::NotFound {
                    tracing::warn!(path = %path.display(), error = %e, "cannot list a cache directory; not sweeping it");
                }
                continue;
            }
        };
        for entry in entries.flatten() {
            let file_name = entry.file_name();
            let Some(name) = file_name.to_str() else {
                continue;
            };
            let Some(kind) = classify(dir, name) else {
                continue;
            };
            // `DirEntry::metadata` does not follow links; an error here is mostly a file removed since listing.
            let Ok(meta) = entry.metadata() else {
                continue;
            };
            let Ok(modified) = meta.modified() else {
                continue;
            };
            if !meta.file_type().is_file() {
                continue;
            }
            listed.push((
                entry.path(),
                Found {
                    dir,
                    name: name.to_owned(),
                    kind,
                    modified: file_time(modified),
                    usage: meta.len().max(meta.blocks().saturating_mul(512)),
                },
                (meta.ino(), modified),
            ));
        }
    }
    listed
}

/// Removes `path` if it is still the file that was listed; `Ok(false)` when it changed or is gone.
pub(super) fn remove_unchanged(path: &Path, listed_as: Identity) -> io::Result<bool> {
    let meta = match fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e),
    };
    if (meta.ino(), meta.modified()?) != listed_as {
        return Ok(false);
    }
    gone(fs::remove_file(path))
}

/// Removes a tag list's lock file unless a process holds it or has stored the list meanwhile. The file is
/// removed while the sweep holds its lock, so no fetch is in progress under it. A process that opened it just
/// before and locks it just after holds a lock nobody else sees: at worst the list is fetched twice, once, for a
/// repository nobody had used for the age bound (or the size bound pushed out).
fn remove_lock(path: &Path) -> io::Result<bool> {
    let file = match OpenOptions::new()
        .read(true)
        .custom_flags(NO_WAIT | OFlag::O_NOFOLLOW.bits())
        .open(path)
    {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e),
    };
    let _locked = match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
        Ok(locked) => locked,
        Err((_, Errno::EWOULDBLOCK | Errno::EINTR)) => return Ok(false),
        Err((_, errno)) => return Err(errno.into()),
    };
    if path.with_extension("json").exists() {
        return Ok(false);
    }
    gone(fs::remove_file(path))
}

/// A removal's result: a file already gone (another sweeper) is not an error, and not counted.
fn gone(removed: io::Result<()>) -> io::Result<bool> {
    match removed {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}
