//! What must outlive one `generate` call: the last-known-good resolution per image and policy, short-lived tag
//! lists per repository shared by concurrent renders, and the build time of each image (by digest, so it never
//! goes stale), which `newest-build` would otherwise read from every tag's config on every render.
//!
//! argocd-cmp-server runs every call in a fresh working directory that it deletes afterwards, and every call is its
//! own process, so this state lives in files under a cache directory on a volume the sidecar's processes share
//! ([`FileCache`]). Keys are hashed into file names; the files carry the key in clear, for people debugging.
//!
//! The cache directory is `--cache-dir` / `IMAGE_RESOLVER_CACHE_DIR`; the sidecar sets it to an `emptyDir` mounted at
//! `/var/cache/argocd-image-resolver` (see `manifests/`). Without it, [`default_dir`] picks a per-user directory.

mod file;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::platform::Platform;
use crate::tag::Tag;
pub use file::{CacheOptions, FileCache};

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

/// Which last-known-good answer: one image repository under one policy.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ResolutionKey {
    /// The normalised repository with its registry, as [`crate::image::ImageRef::name`] gives it:
    /// `docker.io/library/nginx`.
    pub repository: String,
    /// The policy's one-line summary ([`crate::policy::Policy`]'s `Display`), which names everything that changes
    /// the answer: a new constraint must not reuse the answer of the old one.
    pub policy: String,
    /// The credential an Application named for the image (its pull secret), if any: an answer read with one
    /// Application's secret must not stand in for another's.
    pub credentials: Option<String>,
}

impl ResolutionKey {
    /// The key of an image resolved with the sidecar's own credentials.
    pub fn new(repository: impl Into<String>, policy: impl Into<String>) -> Self {
        Self::with_credentials(repository, policy, None)
    }

    /// The key of an image resolved with the credentials an Application named.
    pub fn with_credentials(
        repository: impl Into<String>,
        policy: impl Into<String>,
        credentials: Option<String>,
    ) -> Self {
        ResolutionKey {
            repository: repository.into(),
            policy: policy.into(),
            credentials,
        }
    }

    /// The file name stem: the lower-case hex SHA-256 of `repository`, a NUL byte, and `policy` (NUL cannot occur
    /// in a repository name, so no two keys share a stem by moving text from one part to the other), and of a
    /// NUL byte and the credentials when there are some.
    pub fn file_stem(&self) -> String {
        match &self.credentials {
            None => sha256_hex(&[&self.repository, &self.policy]),
            Some(credentials) => sha256_hex(&[&self.repository, &self.policy, credentials]),
        }
    }
}

impl fmt::Display for ResolutionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.repository, self.policy)
    }
}

/// Which tag list: one image repository as read with one credential. Tags do not depend on the policy, so every
/// policy shares the list; they may depend on who asks (a list fetched with one Application's pull secret must not
/// answer another that has no access).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TagsKey {
    /// The normalised repository with its registry: `docker.io/library/nginx`.
    pub repository: String,
    /// The credential source the list is read with (its kind and name, never a secret); `None`: anonymous.
    pub credentials: Option<String>,
}

impl TagsKey {
    /// The key of `repository` read anonymously.
    pub fn new(repository: impl Into<String>) -> Self {
        TagsKey {
            repository: repository.into(),
            credentials: None,
        }
    }

    /// The key of `repository` read with `credentials`.
    pub fn with_credentials(repository: impl Into<String>, credentials: Option<String>) -> Self {
        TagsKey {
            repository: repository.into(),
            credentials,
        }
    }

    /// The file name stem: the lower-case hex SHA-256 of the repository, and of a NUL byte and the credential
    /// source when there is one.
    pub fn file_stem(&self) -> String {
        match &self.credentials {
            None => sha256_hex(&[&self.repository]),
            Some(credentials) => sha256_hex(&[&self.repository, credentials]),
        }
    }
}

impl fmt::Display for TagsKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.credentials {
            None => f.write_str(&self.repository),
            Some(credentials) => write!(f, "{} (read with {credentials})", self.repository),
        }
    }
}

/// Which images' metadata: one repository's, as read for one list of platforms (an index's build time is that of
/// the platform image chosen from it).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MetadataKey {
    /// The normalised repository with its registry: `docker.io/library/nginx`.
    pub repository: String,
    /// The wanted platforms in order, comma-separated: `linux/amd64,linux/arm64`.
    pub platforms: String,
}

impl MetadataKey {
    pub fn new(repository: impl Into<String>, platforms: &[Platform]) -> Self {
        MetadataKey {
            repository: repository.into(),
            platforms: platforms
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(","),
        }
    }

    /// The file name stem: the lower-case hex SHA-256 of `repository`, a NUL byte, and `platforms`.
    pub fn file_stem(&self) -> String {
        sha256_hex(&[&self.repository, &self.platforms])
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

fn sha256_hex(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            hasher.update([0u8]);
        }
        hasher.update(part.as_bytes());
    }
    hasher
        .finalize()
        .iter()
        .fold(String::with_capacity(64), |mut hex, byte| {
            use fmt::Write;
            let _ = write!(hex, "{byte:02x}");
            hex
        })
}

/// The last answer a registry gave for a [`ResolutionKey`]: what `generate` renders when the registry cannot be
/// asked in time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved {
    pub tag: String,
    /// The manifest digest of the tag, when the resolution learnt it.
    pub digest: Option<String>,
    /// When a registry last gave this answer. Never rendered (output must not change between renders).
    pub resolved_at: DateTime<Utc>,
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

/// Where [`FileCache::tags_or_fetch`] got a tag list from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TagsSource {
    /// A fresh list in the cache directory (possibly just written by another process this call waited for).
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
    fn resolution_key_stems() {
        for (name, repository, policy, want) in [
            (
                "repository and policy",
                "docker.io/library/nginx",
                "strategy semver, constraint '~1.25'",
                "766438169403b527099b4a1353a56696a990b31415e64b39a7ee41a20c90fbb5",
            ),
            (
                "same repository, other policy",
                "docker.io/library/nginx",
                "strategy semver",
                "52b6b5a3e536978c40f4008157176d77f0a15fd28bf3fcbcd2be60d9be62ac48",
            ),
            (
                "empty parts still hash the separator",
                "",
                "",
                "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            ),
            (
                "text moved left of the separator",
                "a",
                "bc",
                "40bb547d936bbd31318ee37ac8799e7ecbb22eda2651f65e3214bffb8ce97bb4",
            ),
            (
                "text moved right of the separator",
                "ab",
                "c",
                "6c032e631d39a14d85aff7e319546af701e26c97b57ca95fbfe9c6ba855f67bf",
            ),
        ] {
            assert_eq!(
                ResolutionKey::new(repository, policy).file_stem(),
                want,
                "{name}"
            );
        }
    }

    #[test]
    fn tags_key_stems() {
        for (name, repository, want) in [
            (
                "docker hub",
                "docker.io/library/nginx",
                "7e59ad64326bc321517fb6fc6586de5ee149178394d9edfa2a877176cdf6fad5",
            ),
            (
                "ghcr",
                "ghcr.io/org/app",
                "e9465cd7cbf7b49c52338f7abc7e7ef8cea3a39d36f1a5c1066d2e362f642ed3",
            ),
            (
                "empty",
                "",
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            ),
        ] {
            assert_eq!(TagsKey::new(repository).file_stem(), want, "{name}");
        }
        let read_with = |credentials: &str| {
            TagsKey::with_credentials("docker.io/library/nginx", Some(credentials.into()))
                .file_stem()
        };
        assert_eq!(
            read_with("pull-secret argocd/regcred"),
            "35c5226a6048ac0b62ffb8b8a02be7bcd18a97572e20eb106d92da164ffdb88d",
            "with a credential source"
        );
        assert_ne!(
            read_with("pull-secret argocd/other"),
            read_with("pull-secret argocd/regcred"),
            "each credential source has its own list"
        );
    }

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
