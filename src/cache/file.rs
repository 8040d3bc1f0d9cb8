//! The file backend of the cache: one JSON file per key, replaced atomically, and an advisory lock per tag list so
//! that concurrent processes fetch a repository's tags once.
//!
//! Layout under the cache directory (`v1` versions the format, so a new one never misreads an old file):
//!
//! ```text
//! v1/resolved/<sha256 of the key's encoding>.json     last-known-good resolution
//! v1/tags/<sha256 of repository>.json                  tag list with its fetch time
//! v1/tags/<sha256 of repository>.lock                  flock(2) held while one process fetches that list
//! v1/metadata/<sha256 of repository NUL platforms>.json  build time per image digest (immutable)
//! v1/last-sweep                                        when the last sweep ended; flock(2) held while one runs
//! ```
//!
//! Files are written to a temporary name in the same directory, synced, and renamed over the old one, so a reader
//! sees the old file or the new one, never a mix. Nothing is written that has not changed: a render that reads a
//! fresh tag list and known build times from the cache, and gets the answers already recorded, writes no file
//! (a last-known-good answer is rewritten only when its tag or digest changes, or every
//! [`super::RESOLVED_AT_REFRESH`]), and opening the cache creates nothing once its directories and the sweep marker
//! exist. The files are small and local: they are read and written inline rather than on tokio's blocking pool
//! (the [`Cache`] futures are ready when first polled), which also keeps [`super::tags_or_fetch`]'s steps in a
//! fixed order.
//!
//! The cache is bounded ([`sweep`]): an entry's modification time is when it was last used, set by the cache's
//! clock when it is written and again when a read finds it older than the touch interval (an hour at most, so a
//! hot entry costs one metadata update an hour, not one per read). At most once per
//! [`CacheOptions::sweep_interval`], the first process to open the cache or write to it after that interval
//! removes the entries unused for [`CacheOptions::max_age`], then the least recently used beyond
//! [`CacheOptions::max_size`], the temporary files of writers killed mid-write, and the locks of tag lists no
//! longer cached. It looks at nothing but the names it writes, under `v1/`: the committer's `git/`, the render log
//! in `metrics/` and anything else in the directory are left alone.
//!
//! A last-known-good file's name hashes [`ResolutionKey::encode`], which carries the key's version: a new key
//! scheme names new files and never reads an old one (unused, it goes with the age bound).

use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use chrono::{DateTime, Utc};
use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};
use nix::unistd::{AccessFlags, access};

use super::{
    BoxFuture, Cache, CacheError, CachedTags, Clock, Flights, KnownImages, MetadataKey,
    ResolutionKey, Resolved, SystemClock, TagsKey, TagsLock, entry,
};
use crate::size::ByteSize;

mod sweep;

const LAYOUT: &str = "v1";
const RESOLVED_DIR: &str = "resolved";
const TAGS_DIR: &str = "tags";
const METADATA_DIR: &str = "metadata";

/// The longest pause between two attempts to take a tag list's lock.
const MAX_LOCK_PAUSE: Duration = Duration::from_millis(100);

/// The longest an entry read goes without its time being set again (less with a short age bound).
const MAX_TOUCH_INTERVAL: Duration = Duration::from_secs(60 * 60);

/// How a [`FileCache`] measures ages, how long it waits for other processes, and the bounds its sweep keeps.
pub struct CacheOptions {
    pub clock: Arc<dyn Clock>,
    /// How long [`super::tags_or_fetch`] waits for another process that is fetching the same tag list before
    /// fetching it too. Default 15 s: long enough for a repository with thousands of tags, short enough to leave
    /// time in `generate`'s 40 s budget.
    pub lock_wait: Duration,
    /// The most the entries may take on disk (allocated blocks, as `du` and the kubelet count them), beyond which
    /// the least recently used go; `None`: no bound. Default [`CacheOptions::DEFAULT_MAX_SIZE`].
    pub max_size: Option<ByteSize>,
    /// How long an entry nobody reads or writes is kept; `None`: however long. Default
    /// [`CacheOptions::DEFAULT_MAX_AGE`].
    pub max_age: Option<Duration>,
    /// How often at most one of the processes sharing the directory sweeps it. Default 5 minutes: a sweep lists
    /// and stats every entry (milliseconds for thousands), so one render in that time pays it, and what renders
    /// write meanwhile is the most the entries can exceed `max_size` by.
    pub sweep_interval: Duration,
}

impl CacheOptions {
    /// 256 MiB: a last-known-good answer takes one 4 KiB block, a tag list of 10,000 tags about 1 MiB, so
    /// thousands of images and hundreds of large repositories fit; the sidecar's volume limit (`manifests/`, 1 GiB)
    /// leaves room above it for what renders write between two sweeps and for the render log.
    pub const DEFAULT_MAX_SIZE: ByteSize = ByteSize(256 << 20);

    /// 30 days. Argo CD renders every application again at least daily (its manifest cache expires after 24 h),
    /// and each render reads or rewrites its entries, so an entry unused for 30 days belongs to an application,
    /// image or policy that is gone, while a registry outage or a stopped repo-server of days keeps its answers.
    pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(30 * 24 * 60 * 60);
}

impl Default for CacheOptions {
    fn default() -> Self {
        CacheOptions {
            clock: Arc::new(SystemClock),
            lock_wait: Duration::from_secs(15),
            max_size: Some(Self::DEFAULT_MAX_SIZE),
            max_age: Some(Self::DEFAULT_MAX_AGE),
            sweep_interval: Duration::from_secs(5 * 60),
        }
    }
}

/// The cache in a directory shared by the sidecar's processes. Share one instance between the tasks of a process
/// (behind an `Arc`): calls of [`super::tags_or_fetch`] on the same instance also de-duplicate in memory. Two
/// instances on one directory share only the files and their locks, as two processes do.
///
/// Its inherent `last_known_good`, `record`, `tags`, `store_tags`, `image_metadata` and `store_image_metadata` are
/// the synchronous forms of the [`Cache`] methods of the same names (which wrap them), for callers off the runtime.
pub struct FileCache {
    dir: PathBuf,
    /// `<dir>/v1`.
    root: PathBuf,
    resolved_dir: PathBuf,
    tags_dir: PathBuf,
    metadata_dir: PathBuf,
    clock: Arc<dyn Clock>,
    lock_wait: Duration,
    bounds: sweep::Bounds,
    sweep_interval: Duration,
    /// How old an entry must be for a read to set its time again.
    touch_interval: Duration,
    /// When this instance last looked at the sweep marker: a long-lived process (the daemon) looks again on a
    /// write once the interval has passed, without reading the marker on every write.
    sweep_checked: Mutex<Option<DateTime<Utc>>>,
    /// Tag lists being fetched by a call of this process.
    flights: Flights,
}

impl std::fmt::Debug for FileCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileCache")
            .field("dir", &self.dir)
            .field("lock_wait", &self.lock_wait)
            .field("bounds", &self.bounds)
            .field("sweep_interval", &self.sweep_interval)
            .finish_non_exhaustive()
    }
}

impl FileCache {
    /// [`FileCache::open_with`] the default options.
    pub fn open(dir: impl Into<PathBuf>) -> Result<Self, CacheError> {
        Self::open_with(dir, CacheOptions::default())
    }

    /// Creates the cache's directories under `dir` (mode 0700: the cache decides which image is deployed when a
    /// registry is down) and checks that files can be created there, so that a read-only volume fails the command
    /// at once, naming the directory and the option, rather than every write later.
    ///
    /// The check asks the kernel (`access(2)`: permissions, ACLs, read-only mounts; the binary is not setuid, so
    /// the real ids it checks are the ones that write) instead of creating and removing a probe file in each
    /// directory: every render opens the cache and most write nothing. What `access` cannot foresee (a full disk)
    /// fails the write that meets it, with its own error, as it did after a probe.
    ///
    /// Then it sweeps the cache if no process has for [`CacheOptions::sweep_interval`] (see the module docs); a
    /// sweep never fails the open.
    pub fn open_with(dir: impl Into<PathBuf>, options: CacheOptions) -> Result<Self, CacheError> {
        let given = dir.into();
        let dir = std::path::absolute(&given).map_err(|source| CacheError::Unwritable {
            dir: given.clone(),
            source,
        })?;
        let unwritable = |source| CacheError::Unwritable {
            dir: dir.clone(),
            source,
        };
        let root = dir.join(LAYOUT);
        let resolved_dir = root.join(RESOLVED_DIR);
        let tags_dir = root.join(TAGS_DIR);
        let metadata_dir = root.join(METADATA_DIR);
        for sub in [&resolved_dir, &tags_dir, &metadata_dir] {
            DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(sub)
                .map_err(unwritable)?;
            access(sub.as_path(), AccessFlags::W_OK | AccessFlags::X_OK)
                .map_err(|errno| unwritable(io::Error::from(errno)))?;
        }
        let bounds = sweep::Bounds {
            max_size: options.max_size.map(ByteSize::bytes),
            max_age: options.max_age,
        };
        // A quarter of a short age bound: an entry read once per (bound - interval) stays.
        let touch_interval = options
            .max_age
            .map_or(MAX_TOUCH_INTERVAL, |age| (age / 4).min(MAX_TOUCH_INTERVAL));
        let cache = FileCache {
            dir,
            root,
            resolved_dir,
            tags_dir,
            metadata_dir,
            clock: options.clock,
            lock_wait: options.lock_wait,
            bounds,
            sweep_interval: options.sweep_interval,
            touch_interval,
            sweep_checked: Mutex::new(None),
            flights: Flights::default(),
        };
        cache.sweep_if_due();
        Ok(cache)
    }

    /// The cache directory, made absolute.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// [`Cache::last_known_good`], at once. A file that cannot be read or parsed, that holds another key, or
    /// whose tag or digest is malformed is a miss (with a warning): a broken cache must never break a render.
    pub fn last_known_good(&self, key: &ResolutionKey) -> Option<Resolved> {
        let path = self.resolved_path(key);
        let (resolved, opened) = read_decoded(&path, |b| entry::decode_resolved(b, key))?;
        self.used(opened);
        Some(resolved)
    }

    /// [`Cache::record`], at once: replaces the previous one atomically (concurrent writers: the
    /// last rename wins, and every reader sees one whole answer), unless it already records `resolved`
    /// ([`Resolved::is_recorded_by`]). Skipping is safe among concurrent writers too: it is the same as having
    /// written just before whichever write comes next.
    pub fn record(&self, key: &ResolutionKey, resolved: &Resolved) -> Result<(), CacheError> {
        let path = self.resolved_path(key);
        if stored_resolution(&path, key).is_some_and(|stored| resolved.is_recorded_by(&stored)) {
            return Ok(());
        }
        self.write(&path, &entry::encode_resolved(key, resolved))
    }

    /// [`Cache::tags`], at once: the cached tag list of `key` when it is younger than `max_age` (pass
    /// `Duration::MAX` for any age). Broken files are a miss with a warning, as for [`FileCache::last_known_good`].
    pub fn tags(&self, key: &TagsKey, max_age: Duration) -> Option<CachedTags> {
        let path = self.tags_path(key);
        let (cached, opened) = read_decoded(&path, |b| entry::decode_tags(b, key))?;
        // Used even when stale: it is about to be fetched again, or to answer for a registry that did not.
        self.used(opened);
        cached.is_fresh(self.clock.now(), max_age).then_some(cached)
    }

    /// [`Cache::store_tags`], at once: stores `tags` as the tag list of `key`, replacing the previous one atomically.
    pub fn store_tags(&self, key: &TagsKey, tags: &CachedTags) -> Result<(), CacheError> {
        self.write(&self.tags_path(key), &entry::encode_tags(key, tags))
    }

    /// [`Cache::image_metadata`], at once: what is known of the images of `key`; nothing when the file is missing or broken (with a warning).
    pub fn image_metadata(&self, key: &MetadataKey) -> KnownImages {
        let path = self.metadata_path(key);
        let Some((known, opened)) = read_decoded(&path, |b| entry::decode_metadata(b, key)) else {
            return KnownImages::default();
        };
        self.used(opened);
        known
    }

    /// [`Cache::store_image_metadata`], at once: stores `known` as all that is known of the images of `key`,
    /// replacing what was, atomically.
    pub fn store_image_metadata(
        &self,
        key: &MetadataKey,
        known: &KnownImages,
    ) -> Result<(), CacheError> {
        self.write(
            &self.metadata_path(key),
            &entry::encode_metadata(key, known),
        )
    }

    /// Takes the exclusive lock of `key`'s tag list, waiting at most `lock_wait`; `None` (with a warning) when
    /// the wait runs out or the lock file cannot be used, and the caller goes on without it.
    async fn flock_tags(&self, key: &TagsKey) -> Option<Flock<File>> {
        let path = self.tags_dir.join(format!("{}.lock", key.file_stem()));
        let mut file = match OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
        {
            Ok(file) => file,
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "cannot open the lock file; fetching without it");
                return None;
            }
        };
        let started = Instant::now();
        let mut pause = Duration::from_millis(5);
        loop {
            match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
                Ok(locked) => {
                    // Its time says when it was last taken, and the sweep leaves a lock taken recently alone
                    // (failing, the sweep still sees that it is held).
                    let _ = locked.set_modified(self.clock.now().into());
                    return Some(locked);
                }
                Err((unlocked, errno)) if errno == Errno::EWOULDBLOCK || errno == Errno::EINTR => {
                    file = unlocked;
                }
                Err((_, errno)) => {
                    tracing::warn!(path = %path.display(), error = %errno, "cannot lock; fetching without the lock");
                    return None;
                }
            }
            let waited = started.elapsed();
            if waited >= self.lock_wait {
                tracing::warn!(
                    repository = %key,
                    waited = ?waited,
                    "another process is still fetching these tags; fetching them too"
                );
                return None;
            }
            tokio::time::sleep(pause.min(self.lock_wait - waited)).await;
            pause = (pause * 2).min(MAX_LOCK_PAUSE);
        }
    }

    /// Writes an entry, stamped with the cache's clock as just used, then sweeps if a sweep is due.
    fn write(&self, path: &Path, bytes: &[u8]) -> Result<(), CacheError> {
        write_file(path, bytes, self.clock.now().into())?;
        self.sweep_if_due();
        Ok(())
    }

    /// Marks an entry just read as used: sets its time when it is older than the touch interval.
    fn used(&self, opened: Opened) {
        let Some(modified) = opened.modified else {
            return;
        };
        let now = self.clock.now();
        if super::is_fresh(sweep::file_time(modified), now, self.touch_interval) {
            return;
        }
        // Only the time: no data is written or synced. Failing, the entry ages as if unread.
        if let Err(e) = opened.file.set_modified(now.into()) {
            tracing::debug!(error = %e, "cannot mark a cache entry used");
        }
    }

    /// Sweeps (see [`sweep`]) if no process has for the sweep interval. This instance reads the marker at most once
    /// per interval.
    fn sweep_if_due(&self) {
        let now = self.clock.now();
        {
            let mut checked = self
                .sweep_checked
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if !sweep::is_due(*checked, now, self.sweep_interval) {
                return;
            }
            *checked = Some(now);
        }
        sweep::sweep_if_due(
            &self.root,
            || self.clock.now(),
            self.sweep_interval,
            self.bounds,
        );
    }

    fn resolved_path(&self, key: &ResolutionKey) -> PathBuf {
        self.resolved_dir.join(format!("{}.json", key.file_stem()))
    }

    fn tags_path(&self, key: &TagsKey) -> PathBuf {
        self.tags_dir.join(format!("{}.json", key.file_stem()))
    }

    fn metadata_path(&self, key: &MetadataKey) -> PathBuf {
        self.metadata_dir.join(format!("{}.json", key.file_stem()))
    }
}

/// Every answer is ready when first polled, except [`Cache::lock_tags`] while another process holds the lock.
impl Cache for FileCache {
    fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    fn last_known_good<'a>(&'a self, key: &'a ResolutionKey) -> BoxFuture<'a, Option<Resolved>> {
        Box::pin(std::future::ready(FileCache::last_known_good(self, key)))
    }

    fn record<'a>(
        &'a self,
        key: &'a ResolutionKey,
        resolved: &'a Resolved,
    ) -> BoxFuture<'a, Result<(), CacheError>> {
        Box::pin(std::future::ready(FileCache::record(self, key, resolved)))
    }

    fn tags<'a>(
        &'a self,
        key: &'a TagsKey,
        max_age: Duration,
    ) -> BoxFuture<'a, Option<CachedTags>> {
        Box::pin(std::future::ready(FileCache::tags(self, key, max_age)))
    }

    fn store_tags<'a>(
        &'a self,
        key: &'a TagsKey,
        tags: &'a CachedTags,
    ) -> BoxFuture<'a, Result<(), CacheError>> {
        Box::pin(std::future::ready(FileCache::store_tags(self, key, tags)))
    }

    fn image_metadata<'a>(&'a self, key: &'a MetadataKey) -> BoxFuture<'a, KnownImages> {
        Box::pin(std::future::ready(FileCache::image_metadata(self, key)))
    }

    fn store_image_metadata<'a>(
        &'a self,
        key: &'a MetadataKey,
        known: &'a KnownImages,
    ) -> BoxFuture<'a, Result<(), CacheError>> {
        Box::pin(std::future::ready(FileCache::store_image_metadata(
            self, key, known,
        )))
    }

    /// An exclusive `flock(2)` on `<stem>.lock` beside the list, polled (with growing pauses up to 100 ms) for at
    /// most [`CacheOptions::lock_wait`]; the kernel releases it when the holder exits, however it exits.
    fn lock_tags<'a>(&'a self, key: &'a TagsKey) -> BoxFuture<'a, Option<TagsLock>> {
        Box::pin(async move {
            let lock = self.flock_tags(key).await?;
            Some(Box::new(lock) as TagsLock)
        })
    }

    fn flights(&self) -> &Flights {
        &self.flights
    }

    fn reserve_request<'a>(
        &'a self,
        registry: &'a str,
        per_second: u32,
    ) -> BoxFuture<'a, Option<Duration>> {
        Box::pin(std::future::ready(super::rates::file_reserve(
            &self.dir,
            registry,
            per_second,
            self.clock.now(),
        )))
    }

    fn back_off<'a>(&'a self, registry: &'a str, delay: Duration) -> BoxFuture<'a, ()> {
        super::rates::file_back_off(&self.dir, registry, delay, self.clock.now());
        Box::pin(std::future::ready(()))
    }
}

/// An entry's file as read, still open so that the entry can be marked used once its content proves valid.
struct Opened {
    file: File,
    modified: Option<SystemTime>,
}

/// The content of the regular file at `path`, `Ok(None)` when there is none, else why it cannot be read.
fn read_entry(path: &Path) -> Result<Option<(Vec<u8>, Opened)>, String> {
    let unreadable = |e: io::Error| format!("it cannot be read: {e}");
    let mut file = match OpenOptions::new()
        .read(true)
        .custom_flags(sweep::NO_WAIT)
        .open(path)
    {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(unreadable(e)),
    };
    let meta = file.metadata().map_err(unreadable)?;
    if !meta.is_file() {
        return Err("it is not a regular file".to_owned());
    }
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).map_err(unreadable)?;
    let modified = meta.modified().ok();
    Ok(Some((bytes, Opened { file, modified })))
}

/// The entry at `path` as `decode` reads it (with its open file); a miss, with a warning, when it cannot be read
/// or `decode` refuses it.
fn read_decoded<T>(
    path: &Path,
    decode: impl FnOnce(&[u8]) -> Result<T, entry::Refused>,
) -> Option<(T, Opened)> {
    let (bytes, opened) = match read_entry(path) {
        Ok(read) => read?,
        Err(why) => return ignore(path, &why),
    };
    match decode(&bytes) {
        Ok(value) => Some((value, opened)),
        Err(why) => ignore(path, &why),
    }
}

/// The answer stored at `path` for `key`, read quietly for [`FileCache::record`] (one small read): a missing,
/// unreadable or broken file, or one holding another key, is `None`, and the write that follows replaces it. A
/// broken file is reported where it matters, when [`FileCache::last_known_good`] reads it for a fallback.
fn stored_resolution(path: &Path, key: &ResolutionKey) -> Option<Resolved> {
    let (bytes, _) = read_entry(path).ok()??;
    entry::decode_resolved(&bytes, key).ok()
}

fn ignore<T>(path: &Path, why: &str) -> Option<T> {
    tracing::warn!(path = %path.display(), "ignoring cache file: {why}");
    None
}

/// Writes `bytes` to `path` atomically, modified at `now` (the cache's clock, which the sweep ages entries by).
fn write_file(path: &Path, bytes: &[u8], now: SystemTime) -> Result<(), CacheError> {
    let write_error = |source| CacheError::Write {
        path: path.to_path_buf(),
        source,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let temp = dir.join(temp_name(&name));
    let written = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&temp)?;
        file.write_all(bytes)?;
        // Failing, the file keeps the kernel's time, which is the clock's outside tests.
        let _ = file.set_modified(now);
        // Without it, a crash soon after the rename can leave an empty file under the final name.
        file.sync_data()?;
        fs::rename(&temp, path)
    })();
    written.map_err(|e| {
        let _ = fs::remove_file(&temp);
        write_error(e)
    })
}

/// A name no other writer uses (process id and a random number), hidden, in the target's directory so that the
/// rename stays on one file system.
fn temp_name(name: &str) -> String {
    format!(
        ".{name}.{}.{:016x}.tmp",
        std::process::id(),
        fastrand::u64(..)
    )
}

#[cfg(test)]
mod tests;
