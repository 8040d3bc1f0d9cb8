//! What must outlive one `generate` call: the last-known-good resolution per image and policy, short-lived tag
//! lists per repository shared by concurrent renders, and the build time of each image (by digest, so it never
//! goes stale), which `newest-build` would otherwise read from every tag's config on every render.
//!
//! The pipeline sees the [`Cache`] trait, held as `Arc<dyn Cache>`; a backend is one file implementing it.
//! argocd-cmp-server runs every call in a fresh working directory that it deletes afterwards, and every call is its
//! own process, so the first backend keeps this state in files under a cache directory on a volume the sidecar's
//! processes share ([`FileCache`]). Keys ([`key`]) are structured values with stable encodings, hashed into entry
//! names; entries carry their key in clear, for people debugging and to catch a misplaced entry.
//!
//! One fetch of a tag list at a time ([`tags_or_fetch`]) is the same for every backend: calls of one process join
//! in memory ([`flight`]), and processes meet on the backend's lock ([`Cache::lock_tags`]).
//!
//! The cache directory is `--cache-dir` / `IMAGE_RESOLVER_CACHE_DIR`; the sidecar sets it to an `emptyDir` mounted at
//! `/var/cache/argocd-image-resolver` (see `manifests/`). Without it, [`default_dir`] picks a per-user directory.
//!
//! With several repo-server replicas, `--cache redis://…` puts the cache in Redis ([`RedisCache`]), shared by all of
//! them; the directory then answers only while Redis cannot, and keeps a copy of the last-known-good answers.

mod entry;
mod file;
pub mod flight;
pub mod key;
pub mod location;
pub mod rates;
mod redis;

use std::any::Any;
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

pub use self::redis::{PREFIX as REDIS_PREFIX, RedisCache, RedisOptions};
use crate::tag::Tag;
pub use file::{CacheOptions, FileCache};
pub use flight::{Flights, tags_or_fetch};
pub use key::{MetadataKey, RESOLUTION_KEY_VERSION, ResolutionKey, TagsKey};
pub use location::{RedisPassword, RedisTarget, RedisUrlError};
pub use rates::CacheRates;

/// A boxed future that can move between threads, as the [`Cache`] methods return (trait objects cannot return
/// `impl Future`).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A backend's claim on fetching one tag list, held by the one caller that fetches it; dropping it lets the next
/// caller (in any process) go. A backend whose release needs I/O starts it on drop, or lets the claim expire.
pub type TagsLock = Box<dyn Any + Send>;

/// What the pipeline needs of a cache, whatever holds it (files on a shared volume; a store shared by several
/// repo-server replicas). Methods are async for backends behind a network; the file backend answers at once.
///
/// Reading never fails: an entry that cannot be read, or that holds another key or malformed values, is a miss
/// (the backend logs a warning): a broken cache must never break a render. Writes replace an entry whole, so
/// every reader sees one old or one new value, never a mix.
pub trait Cache: Send + Sync + std::fmt::Debug {
    /// The time by the cache's clock, which ages its entries (and stamps fetched tag lists).
    fn now(&self) -> DateTime<Utc>;

    /// The last answer recorded for `key`, if any.
    fn last_known_good<'a>(&'a self, key: &'a ResolutionKey) -> BoxFuture<'a, Option<Resolved>>;

    /// Records `resolved` as the answer for `key` (concurrent writers: the last one wins). A backend skips the
    /// write when the stored answer already records this one ([`Resolved::is_recorded_by`]), so that a render
    /// whose answers have not changed writes nothing.
    fn record<'a>(
        &'a self,
        key: &'a ResolutionKey,
        resolved: &'a Resolved,
    ) -> BoxFuture<'a, Result<(), CacheError>>;

    /// The tag list of `key` when it is younger than `max_age` at [`Cache::now`] (`Duration::MAX`: any age).
    fn tags<'a>(&'a self, key: &'a TagsKey, max_age: Duration)
    -> BoxFuture<'a, Option<CachedTags>>;

    /// Stores `tags` as the tag list of `key`.
    fn store_tags<'a>(
        &'a self,
        key: &'a TagsKey,
        tags: &'a CachedTags,
    ) -> BoxFuture<'a, Result<(), CacheError>>;

    /// What is known of the images of `key`: nothing when the entry is missing or broken.
    fn image_metadata<'a>(&'a self, key: &'a MetadataKey) -> BoxFuture<'a, KnownImages>;

    /// Stores `known` as all that is known of the images of `key`.
    fn store_image_metadata<'a>(
        &'a self,
        key: &'a MetadataKey,
        known: &'a KnownImages,
    ) -> BoxFuture<'a, Result<(), CacheError>>;

    /// Claims the fetch of `key`'s tag list against every other process using the cache, waiting a bounded time
    /// for the one holding it. `None` (with a warning) when the wait runs out or the claim cannot be made: the
    /// caller then fetches without it, since a render must not wait for ever on another.
    fn lock_tags<'a>(&'a self, key: &'a TagsKey) -> BoxFuture<'a, Option<TagsLock>>;

    /// Lets go of a claim [`Cache::lock_tags`] gave (dropping it does too, but a backend whose release needs I/O
    /// can only start it then): what [`tags_or_fetch`] does once the list is stored.
    fn release_tags<'a>(&'a self, lock: TagsLock) -> BoxFuture<'a, ()> {
        drop(lock);
        Box::pin(std::future::ready(()))
    }

    /// The fetches in progress in this process, which [`tags_or_fetch`] lets concurrent calls on this instance
    /// share: one per instance, so share the instance (behind an `Arc`) between a process's tasks.
    fn flights(&self) -> &Flights;

    /// Books the next request to `registry` (its API origin) at `per_second` among every process using the
    /// cache ([`rates`]), and says how long to wait before sending it; `None` when the cache cannot book (the
    /// caller then books in its own process).
    fn reserve_request<'a>(
        &'a self,
        registry: &'a str,
        per_second: u32,
    ) -> BoxFuture<'a, Option<Duration>>;

    /// Has every process using the cache wait `delay` before its next request to `registry`.
    fn back_off<'a>(&'a self, registry: &'a str, delay: Duration) -> BoxFuture<'a, ()>;
}

/// The environment variable behind `--cache-dir`.
pub const CACHE_DIR_ENV: &str = "IMAGE_RESOLVER_CACHE_DIR";

/// The directory name [`default_dir`] puts under a user's cache directory.
pub const DIR_NAME: &str = "argocd-image-resolver";

/// The cache directory when `--cache-dir` is not given: `$XDG_CACHE_HOME/argocd-image-resolver`, else
/// `$HOME/.cache/argocd-image-resolver`, else `argocd-image-resolver` in the system temp dir. Relative or empty
/// variables are ignored, as the XDG base directory specification says. `var` reads one environment variable.
///
/// A per-user directory rather than a shared `/tmp` path: what the cache holds decides which image gets deployed
/// when a registry is down, so another user must not be able to plant it.
///
/// ```
/// use std::path::PathBuf;
/// use argocd_image_resolver::cache::default_dir;
///
/// let dir = default_dir(|name| (name == "HOME").then(|| "/home/me".into()));
/// assert_eq!(dir, PathBuf::from("/home/me/.cache/argocd-image-resolver"));
/// ```
pub fn default_dir(var: impl Fn(&str) -> Option<OsString>) -> PathBuf {
    let absolute = |name: &str| var(name).map(PathBuf::from).filter(|p| p.is_absolute());
    if let Some(xdg) = absolute("XDG_CACHE_HOME") {
        xdg.join(DIR_NAME)
    } else if let Some(home) = absolute("HOME") {
        home.join(".cache").join(DIR_NAME)
    } else {
        std::env::temp_dir().join(DIR_NAME)
    }
}

/// What `newest-build` needs of one image manifest (named by its digest, so it never changes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImageMetadata {
    /// An image for one of the wanted platforms, with its config's `created` time if it has one.
    Built { created: Option<DateTime<Utc>> },
    /// No image for any of the wanted platforms.
    NoImageForPlatforms,
}

/// What is known of a repository's images for one [`MetadataKey`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KnownImages {
    /// By manifest digest. Immutable, so kept however old.
    pub images: BTreeMap<String, ImageMetadata>,
    /// The digest each tag named when the registry was last asked. Tags move, so this ages like a tag list.
    pub tags: BTreeMap<String, String>,
    /// When [`KnownImages::tags`] was learnt (its oldest entry).
    pub tags_checked_at: Option<DateTime<Utc>>,
}

impl KnownImages {
    /// Whether [`KnownImages::tags`] is younger than `max_age` at `now`.
    pub fn tags_fresh(&self, now: DateTime<Utc>, max_age: Duration) -> bool {
        self.tags_checked_at
            .is_some_and(|at| is_fresh(at, now, max_age))
    }
}

/// The last answer a registry gave for a [`ResolutionKey`]: what `generate` renders when the registry cannot be
/// asked in time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved {
    pub tag: String,
    /// The manifest digest of the tag, when the resolution learnt it.
    pub digest: Option<String>,
    /// When a registry last gave this answer, to within [`RESOLVED_AT_REFRESH`]: an unchanged answer is rewritten
    /// no more often than that. Never rendered (output must not change between renders); `explain` shows it with
    /// a fallback ("last known good, resolved …"), where it tells how long the registry has not answered.
    pub resolved_at: DateTime<Utc>,
}

/// How long an unchanged last-known-good answer goes without being rewritten: at most this long, its
/// [`Resolved::resolved_at`] stays that of the write before.
///
/// Rewriting it on every render cost a warm `generate` a file write, an fsync and a rename per request (17–35 ms
/// a render on a busy disk, issue 11) to move a time only `explain` shows. Not "first resolved at" (never
/// refreshed): an answer unchanged for months would then look months old on the day its registry goes down,
/// when what `explain`'s "last known good, resolved …" should tell is since when the registry has not answered.
/// Ten minutes is finer than anyone reads that time, and leaves at most one write per request every ten minutes.
pub const RESOLVED_AT_REFRESH: Duration = Duration::from_secs(10 * 60);

impl Resolved {
    /// Whether `stored` already records this answer, so that it need not be written again: the same tag and
    /// digest, stamped less than [`RESOLVED_AT_REFRESH`] before this one. A stored time after this one (the wall
    /// clock was set back) is not trusted: the answer is rewritten with this one's.
    ///
    /// ```
    /// use argocd_image_resolver::cache::Resolved;
    /// use chrono::{TimeDelta, Utc};
    ///
    /// let stored = Resolved { tag: "1.2.0".into(), digest: None, resolved_at: Utc::now() };
    /// let again = Resolved { resolved_at: stored.resolved_at + TimeDelta::minutes(3), ..stored.clone() };
    /// assert!(again.is_recorded_by(&stored));
    /// let moved = Resolved { tag: "1.3.0".into(), ..again.clone() };
    /// assert!(!moved.is_recorded_by(&stored));
    /// ```
    pub fn is_recorded_by(&self, stored: &Resolved) -> bool {
        self.tag == stored.tag
            && self.digest == stored.digest
            && is_fresh(stored.resolved_at, self.resolved_at, RESOLVED_AT_REFRESH)
    }
}

/// A repository's tag list as fetched at one moment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CachedTags {
    pub tags: Vec<Tag>,
    pub fetched_at: DateTime<Utc>,
}

impl CachedTags {
    /// Whether the list is younger than `max_age` at `now`. A list fetched "in the future" (the wall clock was set
    /// back) is stale: its age cannot be known.
    pub fn is_fresh(&self, now: DateTime<Utc>, max_age: Duration) -> bool {
        is_fresh(self.fetched_at, now, max_age)
    }
}

/// Whether something learnt `at` is younger than `max_age` at `now`; learnt "in the future" (the wall clock was set
/// back), it is stale.
fn is_fresh(at: DateTime<Utc>, now: DateTime<Utc>, max_age: Duration) -> bool {
    let age = now.signed_duration_since(at);
    let max_age = TimeDelta::from_std(max_age).unwrap_or(TimeDelta::MAX);
    age >= TimeDelta::zero() && age < max_age
}

/// Where [`tags_or_fetch`] got a tag list from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TagsSource {
    /// A fresh list in the cache (possibly just stored by another process this call waited for).
    Cache,
    /// Another call in this process that was already getting the list.
    Shared,
    /// This call's own fetch.
    Fetched,
}

/// A tag list and where it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TagsOutcome {
    pub tags: CachedTags,
    pub source: TagsSource,
}

/// The time source for cache ages, replaceable so tests can move time.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// The system's wall clock: ages must compare across processes, which share no monotonic clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// Errors of the cache. Reading never fails: an unreadable or corrupt file is a miss, logged as a warning.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error(
        "cache directory {} is not writable: {source}; point --cache-dir (or {CACHE_DIR_ENV}) at a writable directory",
        dir.display()
    )]
    Unwritable {
        dir: PathBuf,
        source: std::io::Error,
    },

    #[error("cannot write cache file {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_dirs() {
        let temp = std::env::temp_dir().join(DIR_NAME);
        for (name, vars, want) in [
            (
                "xdg wins",
                &[("XDG_CACHE_HOME", "/x/cache"), ("HOME", "/home/me")][..],
                PathBuf::from("/x/cache/argocd-image-resolver"),
            ),
            (
                "home",
                &[("HOME", "/home/me")],
                PathBuf::from("/home/me/.cache/argocd-image-resolver"),
            ),
            (
                "relative xdg ignored",
                &[("XDG_CACHE_HOME", "cache"), ("HOME", "/home/me")],
                PathBuf::from("/home/me/.cache/argocd-image-resolver"),
            ),
            ("empty home ignored", &[("HOME", "")], temp.clone()),
            ("nothing set", &[], temp.clone()),
        ] {
            let got = default_dir(|var| {
                vars.iter()
                    .find(|(n, _)| *n == var)
                    .map(|(_, v)| OsString::from(v))
            });
            assert_eq!(got, want, "{name}");
        }
    }

    #[test]
    fn freshness() {
        let fetched_at = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let list = CachedTags {
            tags: Vec::new(),
            fetched_at,
        };
        let minute = Duration::from_secs(60);
        for (name, offset_secs, max_age, want) in [
            ("just fetched", 0, minute, true),
            ("one second before expiry", 59, minute, true),
            ("at expiry", 60, minute, false),
            ("long expired", 3600, minute, false),
            ("clock set back", -1, minute, false),
            ("zero ttl is never fresh", 0, Duration::ZERO, false),
            ("unbounded age", 10_000_000, Duration::MAX, true),
        ] {
            let now = fetched_at + TimeDelta::seconds(offset_secs);
            assert_eq!(list.is_fresh(now, max_age), want, "{name}");
        }
    }
}
