//! The file backend of the cache: one JSON file per key, replaced atomically, and an advisory lock per tag list so
//! that concurrent processes fetch a repository's tags once.
//!
//! Layout under the cache directory (`v1` versions the format, so a new one never misreads an old file):
//!
//! ```text
//! v1/resolved/<sha256 of repository NUL policy>.json   last-known-good resolution
//! v1/tags/<sha256 of repository>.json                  tag list with its fetch time
//! v1/tags/<sha256 of repository>.lock                  flock(2) held while one process fetches that list
//! v1/metadata/<sha256 of repository NUL platforms>.json  build time per image digest (immutable)
//! ```
//!
//! Files are written to a temporary name in the same directory and renamed over the old one, so a reader sees the
//! old file or the new one, never a mix. The files are small and local: they are read and written inline rather
//! than on tokio's blocking pool, which also keeps [`FileCache::tags_or_fetch`]'s steps in a fixed order.

use std::any::Any;
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::fs::{self, DirBuilder, File, OpenOptions};
use std::future::Future;
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use super::{
    CacheError, CachedTags, Clock, ImageMetadata, KnownImages, MetadataKey, ResolutionKey,
    Resolved, SystemClock, TagsKey, TagsOutcome, TagsSource,
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
    /// How long [`FileCache::tags_or_fetch`] waits for another process that is fetching the same tag list before
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
/// (behind an `Arc`): calls of [`FileCache::tags_or_fetch`] on the same instance also de-duplicate in memory.
pub struct FileCache {
    dir: PathBuf,
    resolved_dir: PathBuf,
    tags_dir: PathBuf,
    metadata_dir: PathBuf,
    clock: Arc<dyn Clock>,
    lock_wait: Duration,
    /// Tag lists being fetched by a call of this process, by file stem.
    flights: Mutex<HashMap<String, Flight>>,
    next_flight: AtomicU64,
}

impl std::fmt::Debug for FileCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileCache")
            .field("dir", &self.dir)
            .field("lock_wait", &self.lock_wait)
            .finish_non_exhaustive()
    }
}

/// The result of one fetch, type-erased so one map holds fetches with any error type: a
/// `Result<CachedTags, Arc<E>>`.
type SharedResult = Arc<dyn Any + Send + Sync>;

struct Flight {
    id: u64,
    result: watch::Sender<Option<SharedResult>>,
}

/// On-disk form of a [`Resolved`], with its key in clear.
#[derive(Serialize, Deserialize)]
struct ResolvedFile<'a> {
    repository: Cow<'a, str>,
    policy: Cow<'a, str>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    credentials: Option<Cow<'a, str>>,
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
            let probe = sub.join(temp_name("probe"));
            OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&probe)
                .map_err(unwritable)?;
            fs::remove_file(&probe).map_err(unwritable)?;
        }
        Ok(FileCache {
            dir,
            resolved_dir,
            tags_dir,
            metadata_dir,
            clock: options.clock,
            lock_wait: options.lock_wait,
            flights: Mutex::new(HashMap::new()),
            next_flight: AtomicU64::new(0),
        })
    }

    /// The cache directory, made absolute.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The last answer recorded for `key`, if any. A file that cannot be read or parsed, that holds another key, or
    /// whose tag or digest is malformed is a miss (with a warning): a broken cache must never break a render.
    pub fn last_known_good(&self, key: &ResolutionKey) -> Option<Resolved> {
        let path = self.resolved_path(key);
        let file: ResolvedFile = read_json(&path)?;
        if file.repository != key.repository
            || file.policy != key.policy
            || file.credentials.as_deref() != key.credentials.as_deref()
        {
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

    /// Records `resolved` as the answer for `key`, replacing the previous one atomically (concurrent writers: the
    /// last rename wins, and every reader sees one whole answer).
    pub fn record(&self, key: &ResolutionKey, resolved: &Resolved) -> Result<(), CacheError> {
        let file = ResolvedFile {
            repository: Cow::Borrowed(&key.repository),
            policy: Cow::Borrowed(&key.policy),
            credentials: key.credentials.as_deref().map(Cow::Borrowed),
            tag: Cow::Borrowed(&resolved.tag),
            digest: resolved.digest.as_deref().map(Cow::Borrowed),
            resolved_at: resolved.resolved_at,
        };
        write_json(&self.resolved_path(key), &file)
    }

    /// The cached tag list of `key` when it is younger than `max_age` (pass `Duration::MAX` for any age). Broken
    /// files are a miss with a warning, as for [`FileCache::last_known_good`].
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

    /// Stores `tags` as the tag list of `key`, replacing the previous one atomically.
    pub fn store_tags(&self, key: &TagsKey, tags: &CachedTags) -> Result<(), CacheError> {
        let file = TagsFile {
            repository: Cow::Borrowed(&key.repository),
            credentials: key.credentials.as_deref().map(Cow::Borrowed),
            fetched_at: tags.fetched_at,
            tags: Cow::Borrowed(&tags.tags),
        };
        write_json(&self.tags_path(key), &file)
    }

    /// What is known of the images of `key`: nothing when the file is missing or broken (with a warning).
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

    /// Stores `known` as all that is known of the images of `key`, replacing what was, atomically.
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

    /// The time by the cache's clock, which ages its entries.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// The tag list of `key`: from the cache when younger than `ttl`, else from `fetch`, which is then stored.
    ///
    /// One fetch per key at a time: a call finding another call of this process already fetching waits for it
    /// and gets its outcome, error included ([`TagsSource::Shared`]); a call finding another *process* fetching
    /// (holding the key's lock file) waits up to [`CacheOptions::lock_wait`] for it and then reads what it stored
    /// ([`TagsSource::Cache`]), or, after that wait or when the lock cannot be taken at all, fetches anyway. If the
    /// call a waiter depends on is dropped (its render ran out of time), the waiter fetches itself. A list that
    /// cannot be stored is still returned, with a warning. `fetch` is not polled unless this call fetches.
    pub async fn tags_or_fetch<E, F>(
        &self,
        key: &TagsKey,
        ttl: Duration,
        fetch: F,
    ) -> Result<TagsOutcome, Arc<E>>
    where
        F: Future<Output = Result<Vec<Tag>, E>>,
        E: Send + Sync + 'static,
    {
        let stem = key.file_stem();
        // Join a fetch in progress, or become the one that fetches. This happens before the first await, so two
        // calls started together always meet here.
        let flight = loop {
            match self.join_or_lead(&stem) {
                Role::Lead(flight) => break flight,
                Role::Follow(receiver) => {
                    if let Some(outcome) = follow::<E>(receiver).await {
                        return outcome;
                    }
                }
            }
        };
        let outcome = self.lead(key, ttl, fetch).await;
        flight.publish(&outcome);
        outcome
    }

    fn join_or_lead(&self, stem: &str) -> Role<'_> {
        let mut flights = lock(&self.flights);
        if let Some(flight) = flights.get(stem) {
            return Role::Follow(flight.result.subscribe());
        }
        let id = self.next_flight.fetch_add(1, Ordering::Relaxed);
        let (result, _) = watch::channel(None);
        flights.insert(stem.to_owned(), Flight { id, result });
        Role::Lead(FlightGuard {
            flights: &self.flights,
            stem: stem.to_owned(),
            id,
        })
    }

    async fn lead<E, F>(
        &self,
        key: &TagsKey,
        ttl: Duration,
        fetch: F,
    ) -> Result<TagsOutcome, Arc<E>>
    where
        F: Future<Output = Result<Vec<Tag>, E>>,
    {
        let cached = |tags| TagsOutcome {
            tags,
            source: TagsSource::Cache,
        };
        if let Some(tags) = self.tags(key, ttl) {
            return Ok(cached(tags));
        }
        let lock = self.lock_tags(key).await;
        // Another process may have stored a fresh list while this one waited for the lock.
        if lock.is_some()
            && let Some(tags) = self.tags(key, ttl)
        {
            return Ok(cached(tags));
        }
        let tags = CachedTags {
            tags: fetch.await.map_err(Arc::new)?,
            fetched_at: self.clock.now(),
        };
        if let Err(e) = self.store_tags(key, &tags) {
            tracing::warn!(repository = %key, error = %e, "cannot cache the tag list; using it uncached");
        }
        drop(lock);
        Ok(TagsOutcome {
            tags,
            source: TagsSource::Fetched,
        })
    }

    /// Takes the exclusive lock of `key`'s tag list, waiting at most `lock_wait`; `None` (with a warning) when
    /// the wait runs out or the lock file cannot be used, and the caller goes on without it.
    async fn lock_tags(&self, key: &TagsKey) -> Option<Flock<File>> {
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

enum Role<'a> {
    Lead(FlightGuard<'a>),
    Follow(watch::Receiver<Option<SharedResult>>),
}

/// The leader's registration in `flights`; dropping it (also when the leading call is dropped mid-way) removes
/// the registration, which closes the channel and sends waiters off to fetch for themselves.
struct FlightGuard<'a> {
    flights: &'a Mutex<HashMap<String, Flight>>,
    stem: String,
    id: u64,
}

impl FlightGuard<'_> {
    /// Hands the outcome to the waiting calls, if any (no copy of the list is made for nobody), and unregisters.
    fn publish<E: Send + Sync + 'static>(self, outcome: &Result<TagsOutcome, Arc<E>>) {
        let flights = lock(self.flights);
        if let Some(flight) = flights.get(&self.stem).filter(|f| f.id == self.id)
            && flight.result.receiver_count() > 0
        {
            let shared: Result<CachedTags, Arc<E>> = match outcome {
                Ok(outcome) => Ok(outcome.tags.clone()),
                Err(e) => Err(Arc::clone(e)),
            };
            flight.result.send_replace(Some(Arc::new(shared)));
        }
        // `flights` is released before `self` drops and takes it again to unregister.
        drop(flights);
    }
}

impl Drop for FlightGuard<'_> {
    fn drop(&mut self) {
        let mut flights = lock(self.flights);
        if flights.get(&self.stem).is_some_and(|f| f.id == self.id) {
            flights.remove(&self.stem);
        }
    }
}

/// Waits for the leader's outcome; `None` when the leader went away without one, or used another error type.
async fn follow<E: Send + Sync + 'static>(
    mut receiver: watch::Receiver<Option<SharedResult>>,
) -> Option<Result<TagsOutcome, Arc<E>>> {
    let shared = receiver.wait_for(Option::is_some).await.ok()?.clone()?;
    let result = shared.downcast::<Result<CachedTags, Arc<E>>>().ok()?;
    Some(match result.as_ref() {
        Ok(tags) => Ok(TagsOutcome {
            tags: tags.clone(),
            source: TagsSource::Shared,
        }),
        Err(e) => Err(Arc::clone(e)),
    })
}

/// The map stays consistent even if a thread panicked while holding it: every change is a single insert or remove.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
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
mod tests {
    use std::future::poll_fn;
    use std::pin::{Pin, pin};
    use std::sync::atomic::AtomicUsize;
    use std::task::Poll;

    use chrono::TimeDelta;
    use tokio::sync::Notify;

    use super::*;
    use crate::platform::Platform;

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
                ResolutionKey::new(
                    "docker.io/library/nginx",
                    "strategy semver, constraint '~1.25'",
                ),
                Resolved {
                    tag: "1.25.5".into(),
                    digest: Some(DIGEST.into()),
                    resolved_at: time("2026-01-01T10:00:00Z"),
                },
            ),
            (
                "without digest, policy with non-ascii and newline",
                ResolutionKey::new(
                    "ghcr.io/org/app",
                    "strategy alphabetical\n, ignore-tags 'é*'",
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
        let other = ResolutionKey::new("docker.io/library/nginx", "strategy semver");
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
        let key = ResolutionKey::new("docker.io/library/nginx", "strategy semver");
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
                "repository": "docker.io/library/nginx",
                "policy": "strategy semver",
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
                "ghcr.io/org/app",
                "strategy semver",
                credentials.map(String::from),
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
        let (built, undated, missing) =
            (DIGEST.replace('0', "f"), DIGEST.replace('0', "e"), DIGEST);
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
        let key = ResolutionKey::new("docker.io/library/nginx", "strategy semver");
        let tags_key = TagsKey::new("docker.io/library/nginx");
        let resolved_path = cache.resolved_path(&key);
        let tags_path = cache.tags_path(&tags_key);
        let good_resolved = r#"{"repository":"docker.io/library/nginx","policy":"strategy semver","tag":"1.0","resolved_at":"2026-01-01T00:00:00Z"}"#;
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

        let first = cache
            .tags_or_fetch(&key, TTL, fetch(&["1.0"]))
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
            let outcome = cache
                .tags_or_fetch(&key, TTL, async {
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

        let leader = leader_cache.tags_or_fetch(key, TTL, async {
            calls.fetch_add(1, Ordering::SeqCst);
            entered.notify_one();
            release.notified().await;
            leader_result
        });
        let follower = async {
            entered.notified().await;
            let mut follower = pin!(follower_cache.tags_or_fetch(key, TTL, async {
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
        assert!(lock(&cache.flights).is_empty(), "no flight left registered");
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
        let call = cache.tags_or_fetch(&key, TTL, async { Ok::<_, FetchFailed>(Vec::new()) });
        assert_send(&call);
    }

    #[tokio::test]
    async fn a_waiter_fetches_itself_when_the_leader_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let cache = FileCache::open(dir.path()).unwrap();
        let key = TagsKey::new("docker.io/library/nginx");
        let calls = AtomicUsize::new(0);

        let mut leader = Box::pin(cache.tags_or_fetch(&key, TTL, async {
            calls.fetch_add(1, Ordering::SeqCst);
            std::future::pending::<Result<Vec<Tag>, FetchFailed>>().await
        }));
        assert!(
            poll_once(leader.as_mut()).await.is_pending(),
            "leader fetching"
        );
        let mut follower = pin!(cache.tags_or_fetch(&key, TTL, async {
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
        let outcome = cache
            .tags_or_fetch(&key, TTL, async {
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
        let key = ResolutionKey::new("docker.io/library/nginx", "strategy semver");
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
}
