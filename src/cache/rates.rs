//! A registry's `limit` booked in the cache, so that it holds for every process using it: the renders of one
//! sidecar (the cache directory) or of every replica (Redis), rather than for each render alone. The bucket is the
//! registry module's ([`Bucket`]: requests spaced evenly at the rate, no burst after idle time), kept as two
//! times: when the next request may go, and the end of a back-off.
//!
//! Directory: `<cache-dir>/rates/<sha256 of the registry's origin>`, the two times in microseconds since the epoch
//! by the cache's clock, read and rewritten under `flock(2)` (held for the read and write, microseconds). Redis: a
//! hash under `argocd-image-resolver:v1:rate:<sha256>`, updated by one script with Redis's own clock, so that the
//! replicas' clocks need not agree; it expires a minute after its last booking.
//!
//! When the cache cannot book (an unwritable directory, Redis down), the process's own bucket does.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use nix::fcntl::{Flock, FlockArg};

use super::Cache;
use crate::registry::limit::Bucket;
use crate::registry::{ProcessRates, SharedRate};

/// The directory the file backend keeps its buckets in, under the cache directory (outside `v1/`, whose entries
/// are evicted by age and size; a bucket is a few bytes per registry).
pub const RATES_DIR: &str = "rates";

/// The rates of every process using `cache`, falling back to this process's own.
#[derive(Debug)]
pub struct CacheRates {
    cache: Arc<dyn Cache>,
}

impl CacheRates {
    pub fn new(cache: Arc<dyn Cache>) -> Arc<Self> {
        Arc::new(CacheRates { cache })
    }
}

impl SharedRate for CacheRates {
    fn reserve<'a>(&'a self, registry: &'a str, per_second: u32) -> BoxFuture<'a, Duration> {
        Box::pin(async move {
            match self.cache.reserve_request(registry, per_second).await {
                Some(wait) => wait,
                None => ProcessRates::global().reserve(registry, per_second).await,
            }
        })
    }

    fn back_off<'a>(&'a self, registry: &'a str, delay: Duration) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            // Both: should the cache fail at the next booking, this process still waits.
            ProcessRates::global().back_off(registry, delay).await;
            self.cache.back_off(registry, delay).await;
        })
    }
}

fn micros(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

/// [`Cache::reserve_request`] of the file backend: the bucket of `registry` under `dir`, at `now`.
pub fn file_reserve(
    dir: &Path,
    registry: &str,
    per_second: u32,
    now: DateTime<Utc>,
) -> Option<Duration> {
    let now = micros(now);
    let wait = update(dir, registry, |bucket| bucket.book(now, per_second))?;
    Some(Duration::from_micros(u64::try_from(wait).unwrap_or(0)))
}

/// [`Cache::back_off`] of the file backend.
pub fn file_back_off(dir: &Path, registry: &str, delay: Duration, now: DateTime<Utc>) {
    let now = micros(now);
    update(dir, registry, |bucket| {
        bucket.block(now, delay);
        0
    });
}

/// Reads the bucket of `registry`, lets `change` change it, and writes it back, under an exclusive lock; what
/// `change` returns, or `None` (logged at debug) when the file cannot be used.
fn update(dir: &Path, registry: &str, change: impl FnOnce(&mut Bucket) -> i64) -> Option<i64> {
    let dir = dir.join(RATES_DIR);
    let path = dir.join(super::key::sha256_hex(&[registry]));
    let used = (|| -> std::io::Result<i64> {
        std::fs::create_dir_all(&dir)?;
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)?;
        // Held for a read and a write of a few bytes: others wait microseconds.
        let mut file: Flock<File> = Flock::lock(file, FlockArg::LockExclusive)
            .map_err(|(_, errno)| std::io::Error::from(errno))?;
        let mut text = String::new();
        file.read_to_string(&mut text)?;
        // A missing or garbled bucket is an empty one: at worst one request goes early.
        let mut numbers = text.split_whitespace().map(|n| n.parse::<i64>().ok());
        let mut bucket = match (numbers.next().flatten(), numbers.next().flatten()) {
            (Some(next_free), Some(blocked_until)) => Bucket {
                next_free,
                blocked_until,
            },
            _ => Bucket::default(),
        };
        let result = change(&mut bucket);
        file.seek(SeekFrom::Start(0))?;
        file.set_len(0)?;
        file.write_all(format!("{} {}\n", bucket.next_free, bucket.blocked_until).as_bytes())?;
        Ok(result)
    })();
    match used {
        Ok(result) => Some(result),
        Err(e) => {
            tracing::debug!(path = %path.display(), error = %e, "cannot book in the cache; booking in this process");
            None
        }
    }
}

/// A bucket not booked for this long is deleted by the cache's sweep (its slots and back-offs are long past).
pub const BUCKET_IDLE: Duration = Duration::from_secs(3600);

/// The most buckets kept: an Application may name any registry host, and each gets a bucket.
pub const MAX_BUCKETS: usize = 4096;

/// Deletes the buckets under `dir` not booked for [`BUCKET_IDLE`] at `now`, then the least recently booked beyond
/// [`MAX_BUCKETS`]. Only names a bucket has (64 hex digits) are touched. Called by the file cache's sweep.
pub fn prune(dir: &Path, now: std::time::SystemTime) {
    let Ok(entries) = std::fs::read_dir(dir.join(RATES_DIR)) else {
        return;
    };
    let mut kept: Vec<(std::time::SystemTime, std::path::PathBuf)> = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let is_bucket = name
            .to_str()
            .is_some_and(|n| n.len() == 64 && n.bytes().all(|b| b.is_ascii_hexdigit()));
        let Ok(meta) = entry.metadata() else { continue };
        if !is_bucket || !meta.is_file() {
            continue;
        }
        let booked = meta.modified().unwrap_or(now);
        let idle = now.duration_since(booked).unwrap_or_default();
        if idle >= BUCKET_IDLE {
            let _ = std::fs::remove_file(entry.path());
        } else {
            kept.push((booked, entry.path()));
        }
    }
    if kept.len() > MAX_BUCKETS {
        kept.sort();
        for (_, path) in &kept[..kept.len() - MAX_BUCKETS] {
            let _ = std::fs::remove_file(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_buckets_are_pruned_and_their_number_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let now = std::time::SystemTime::now();
        let rates = dir.path().join(RATES_DIR);
        std::fs::create_dir(&rates).unwrap();
        let bucket = |n: usize, idle: Duration| {
            let path = rates.join(format!("{n:064x}"));
            std::fs::write(&path, "0 0\n").unwrap();
            std::fs::File::options()
                .write(true)
                .open(&path)
                .unwrap()
                .set_modified(now - idle)
                .unwrap();
            path
        };
        let idle = bucket(1, BUCKET_IDLE + Duration::from_secs(1));
        let busy = bucket(2, Duration::from_secs(5));
        let foreign = rates.join("not-a-bucket");
        std::fs::write(&foreign, "").unwrap();
        prune(dir.path(), now);
        assert!(!idle.exists(), "idle for an hour");
        assert!(busy.exists(), "booked seconds ago");
        assert!(foreign.exists(), "not a name of ours");

        for n in 0..MAX_BUCKETS + 3 {
            bucket(
                10 + n,
                Duration::from_millis(u64::try_from(n).unwrap() + 10),
            );
        }
        prune(dir.path(), now);
        let left = std::fs::read_dir(&rates).unwrap().count();
        assert_eq!(left, MAX_BUCKETS + 1, "the bound, and the foreign file");
        assert!(
            rates.join(format!("{:064x}", 10)).exists(),
            "the most recently booked stay"
        );
        assert!(
            !rates
                .join(format!("{:064x}", 10 + MAX_BUCKETS + 2))
                .exists(),
            "the oldest went"
        );
    }

    #[test]
    fn the_file_bucket_is_shared_and_survives_garbage() {
        let dir = tempfile::tempdir().unwrap();
        let at = |ms: i64| DateTime::from_timestamp_millis(ms).unwrap();
        let ms = Duration::from_millis;
        let registry = "https://registry.test";
        assert_eq!(
            file_reserve(dir.path(), registry, 10, at(1000)),
            Some(ms(0))
        );
        assert_eq!(
            file_reserve(dir.path(), registry, 10, at(1000)),
            Some(ms(100))
        );
        assert_eq!(
            file_reserve(dir.path(), "https://other.test", 10, at(1000)),
            Some(ms(0)),
            "another registry"
        );
        file_back_off(dir.path(), registry, Duration::from_secs(1), at(1000));
        assert_eq!(
            file_reserve(dir.path(), registry, 10, at(1000)),
            Some(ms(1000))
        );
        let path = dir
            .path()
            .join(RATES_DIR)
            .join(super::super::key::sha256_hex(&[registry]));
        std::fs::write(&path, "garbage").unwrap();
        assert_eq!(
            file_reserve(dir.path(), registry, 10, at(5000)),
            Some(ms(0)),
            "a garbled bucket is an empty one"
        );
        let unwritable = dir.path().join("file");
        std::fs::write(&unwritable, "").unwrap();
        assert_eq!(
            file_reserve(&unwritable, registry, 10, at(0)),
            None,
            "no directory: the process books"
        );
    }
}
