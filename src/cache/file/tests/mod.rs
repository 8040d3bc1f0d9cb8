//! Tests of the file backend, and of single flight across its instances (as across processes): `entries` what is
//! stored and read back (keys, round trips, broken files, directories), `flight` freshness and concurrent fetches
//! (within an instance, among instances, torn writes), `writes` what is left alone (answers already recorded,
//! directories that exist), `sweep` the bounds and what the sweep removes and leaves. Here the fixtures they share.

mod entries;
mod flight;
mod sweep;
mod writes;

use std::future::{Future, poll_fn};
use std::pin::{Pin, pin};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::Poll;

use chrono::TimeDelta;
use tokio::sync::Notify;

use super::*;
use crate::cache::ImageMetadata;
use crate::cache::{TagsOutcome, TagsSource, tags_or_fetch};
use crate::image::ImageRef;
use crate::platform::Platform;
use crate::policy::filter::{AllowTags, IgnoreTags};
use crate::policy::{Order, Policy, Strategy};
use crate::tag::Tag;
use std::collections::BTreeMap;

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

fn policy(strategy: &str, constraint: &str) -> Policy {
    Policy::new(Strategy::parse(strategy, Some(constraint), Order::Asc).unwrap())
}

/// The key of `image` under `policy`, read with the sidecar's own credentials.
fn resolution_key(image: &str, policy: &Policy) -> ResolutionKey {
    ResolutionKey::new(&ImageRef::parse(image).unwrap(), policy)
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
