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
//! ```
//!
//! Files are written to a temporary name in the same directory, synced, and renamed over the old one, so a reader
//! sees the old file or the new one, never a mix. Nothing is written that has not changed: a render that reads a
//! fresh tag list and known build times from the cache, and gets the answers already recorded, writes no file
//! (a last-known-good answer is rewritten only when its tag or digest changes, or every
//! [`super::RESOLVED_AT_REFRESH`]), and opening the cache creates nothing once its directories exist. The files
//! are small and local: they are read and written inline rather than on tokio's blocking pool (the [`Cache`]
//! futures are ready when first polled), which also keeps [`super::tags_or_fetch`]'s steps in a fixed order.
//!
//! A last-known-good file's name hashes [`ResolutionKey::encode`], which carries the key's version: a new key
//! scheme names new files and never reads an old one (that stays until the volume goes, a few hundred bytes).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};
use nix::unistd::{AccessFlags, access};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::{
    BoxFuture, Cache, CacheError, CachedTags, Clock, Flights, ImageMetadata, KnownImages,
    MetadataKey, ResolutionKey, Resolved, SystemClock, TagsKey, TagsLock,
};
use crate::image::is_valid_digest;
use crate::tag::{Tag, escape, is_valid_tag};

const LAYOUT: &str = "v1";
const RESOLVED_DIR: &str = "resolved";
const TAGS_DIR: &str = "tags";
const METADATA_DIR: &str = "metadata";

/// The longest pause between two attempts to take a tag list's lock.
const MAX_LOCK_PAUSE: Duration = Duration::from_millis(100);

/// How a [`FileCache`] measures ages and how long it waits for other processes.
pub struct CacheOptions {
    pub clock: Arc<dyn Clock>,
    /// How long [`super::tags_or_fetch`] waits for another process that is fetching the same tag list before
    /// fetching it too. Default 15 s: long enough for a repository with thousands of tags, short enough to leave
    /// time in `generate`'s 40 s budget.
    pub lock_wait: Duration,
}

impl Default for CacheOptions {
    fn default() -> Self {
        CacheOptions {
            clock: Arc::new(SystemClock),
            lock_wait: Duration::from_secs(15),
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
    resolved_dir: PathBuf,
    tags_dir: PathBuf,
    metadata_dir: PathBuf,
    clock: Arc<dyn Clock>,
    lock_wait: Duration,
    /// Tag lists being fetched by a call of this process.
    flights: Flights,
}

impl std::fmt::Debug for FileCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileCache")
            .field("dir", &self.dir)
            .field("lock_wait", &self.lock_wait)
            .finish_non_exhaustive()
    }
}

/// On-disk form of a [`Resolved`], with its key in clear.
#[derive(Serialize, Deserialize)]
struct ResolvedFile<'a> {
    key: Cow<'a, ResolutionKey>,
    tag: Cow<'a, str>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    digest: Option<Cow<'a, str>>,
    resolved_at: DateTime<Utc>,
}

/// On-disk form of [`KnownImages`], with its key in clear.
#[derive(Serialize, Deserialize)]
struct MetadataFile<'a> {
    repository: Cow<'a, str>,
    platforms: Cow<'a, str>,
    images: Cow<'a, BTreeMap<String, ImageMetadata>>,
    #[serde(default)]
    tags: Cow<'a, BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tags_checked_at: Option<DateTime<Utc>>,
}

/// On-disk form of a [`CachedTags`], with its key in clear.
#[derive(Serialize, Deserialize)]
struct TagsFile<'a> {
    repository: Cow<'a, str>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    credentials: Option<Cow<'a, str>>,
    fetched_at: DateTime<Utc>,
    tags: Cow<'a, [Tag]>,
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
        Ok(FileCache {
            dir,
            resolved_dir,
            tags_dir,
            metadata_dir,
            clock: options.clock,
            lock_wait: options.lock_wait,
            flights: Flights::default(),
        })
    }

    /// The cache directory, made absolute.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// [`Cache::last_known_good`], at once. A file that cannot be read or parsed, that holds another key, or
    /// whose tag or digest is malformed is a miss (with a warning): a broken cache must never break a render.
    pub fn last_known_good(&self, key: &ResolutionKey) -> Option<Resolved> {
        let path = self.resolved_path(key);
        let file: ResolvedFile = read_json(&path)?;
        if *file.key != *key {
            return ignore(&path, "it holds another key");
        }
        if !is_valid_tag(&file.tag) {
            return ignore(&path, "its tag is malformed");
        }
        if file.digest.as_deref().is_some_and(|d| !is_valid_digest(d)) {
            return ignore(&path, "its digest is malformed");
        }
        Some(Resolved {
            tag: file.tag.into_owned(),
            digest: file.digest.map(Cow::into_owned),
            resolved_at: file.resolved_at,
        })
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
        let file = ResolvedFile {
            key: Cow::Borrowed(key),
            tag: Cow::Borrowed(&resolved.tag),
            digest: resolved.digest.as_deref().map(Cow::Borrowed),
            resolved_at: resolved.resolved_at,
        };
        write_json(&path, &file)
    }

    /// [`Cache::tags`], at once: the cached tag list of `key` when it is younger than `max_age` (pass
    /// `Duration::MAX` for any age). Broken files are a miss with a warning, as for [`FileCache::last_known_good`].
    pub fn tags(&self, key: &TagsKey, max_age: Duration) -> Option<CachedTags> {
        let path = self.tags_path(key);
        let file: TagsFile = read_json(&path)?;
        if file.repository != key.repository
            || file.credentials.as_deref() != key.credentials.as_deref()
        {
            return ignore(&path, "it holds another key");
        }
        // Tag names were checked as they were read (`TagName`); a bad one made the whole file unreadable.
        if let Some(bad) = file
            .tags
            .iter()
            .find(|t| t.digest.as_deref().is_some_and(|d| !is_valid_digest(d)))
        {
            return ignore(
                &path,
                &format!("the digest of its tag '{}' is malformed", bad.name),
            );
        }
        let cached = CachedTags {
            tags: file.tags.into_owned(),
            fetched_at: file.fetched_at,
        };
        cached.is_fresh(self.clock.now(), max_age).then_some(cached)
    }

    /// [`Cache::store_tags`], at once: stores `tags` as the tag list of `key`, replacing the previous one atomically.
    pub fn store_tags(&self, key: &TagsKey, tags: &CachedTags) -> Result<(), CacheError> {
        let file = TagsFile {
            repository: Cow::Borrowed(&key.repository),
            credentials: key.credentials.as_deref().map(Cow::Borrowed),
            fetched_at: tags.fetched_at,
            tags: Cow::Borrowed(&tags.tags),
        };
        write_json(&self.tags_path(key), &file)
    }

    /// [`Cache::image_metadata`], at once: what is known of the images of `key`; nothing when the file is missing or broken (with a warning).
    pub fn image_metadata(&self, key: &MetadataKey) -> KnownImages {
        let path = self.metadata_path(key);
        let Some(file) = read_json::<MetadataFile>(&path) else {
            return KnownImages::default();
        };
        if file.repository != key.repository || file.platforms != key.platforms {
            return ignore(&path, "it holds another key").unwrap_or_default();
        }
        let digests = file.images.keys().chain(file.tags.values());
        if let Some(bad) = digests.into_iter().find(|d| !is_valid_digest(d)) {
            return ignore(&path, &format!("its digest '{}' is malformed", escape(bad)))
                .unwrap_or_default();
        }
        if let Some(bad) = file.tags.keys().find(|t| !is_valid_tag(t)) {
            return ignore(&path, &format!("its tag '{}' is malformed", escape(bad)))
                .unwrap_or_default();
        }
        KnownImages {
            images: file.images.into_owned(),
            tags: file.tags.into_owned(),
            tags_checked_at: file.tags_checked_at,
        }
    }

    /// [`Cache::store_image_metadata`], at once: stores `known` as all that is known of the images of `key`,
    /// replacing what was, atomically.
    pub fn store_image_metadata(
        &self,
        key: &MetadataKey,
        known: &KnownImages,
    ) -> Result<(), CacheError> {
        let file = MetadataFile {
            repository: Cow::Borrowed(&key.repository),
            platforms: Cow::Borrowed(&key.platforms),
            images: Cow::Borrowed(&known.images),
            tags: Cow::Borrowed(&known.tags),
            tags_checked_at: known.tags_checked_at,
        };
        write_json(&self.metadata_path(key), &file)
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
                Ok(locked) => return Some(locked),
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

fn read_json<T: DeserializeOwned>(path: &Path) -> Option<T> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return None,
        Err(e) => return ignore(path, &format!("it cannot be read: {e}")),
    };
    match serde_json::from_slice(&bytes) {
        Ok(value) => Some(value),
        Err(e) => ignore(path, &format!("it is not a valid cache file: {e}")),
    }
}

/// The answer stored at `path` for `key`, read quietly for [`FileCache::record`] (one small read): a missing,
/// unreadable or broken file, or one holding another key, is `None`, and the write that follows replaces it. A
/// broken file is reported where it matters, when [`FileCache::last_known_good`] reads it for a fallback.
fn stored_resolution(path: &Path, key: &ResolutionKey) -> Option<Resolved> {
    let bytes = fs::read(path).ok()?;
    let file: ResolvedFile = serde_json::from_slice(&bytes).ok()?;
    (*file.key == *key).then(|| Resolved {
        tag: file.tag.into_owned(),
        digest: file.digest.map(Cow::into_owned),
        resolved_at: file.resolved_at,
    })
}

fn ignore<T>(path: &Path, why: &str) -> Option<T> {
    tracing::warn!(path = %path.display(), "ignoring cache file: {why}");
    None
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), CacheError> {
    let write_error = |source| CacheError::Write {
        path: path.to_path_buf(),
        source,
    };
    let bytes = serde_json::to_vec_pretty(value).map_err(|e| write_error(io::Error::other(e)))?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let temp = dir.join(temp_name(&name));
    let written = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&temp)?;
        file.write_all(&bytes)?;
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
