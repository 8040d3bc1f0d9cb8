//! One fetch of a tag list at a time, for every backend: calls of one process join the fetch in progress in memory
//! and get its outcome, error included; processes meet on the backend's lock and read what the fetching one stored.

use std::any::Any;
use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::watch;

use super::{Cache, CachedTags, TagsKey, TagsOutcome, TagsSource};
use crate::tag::Tag;

/// The tag lists being fetched by calls of this process, by key stem. A backend holds one and hands it out through
/// [`Cache::flights`].
#[derive(Default)]
pub struct Flights {
    flights: Mutex<HashMap<String, Flight>>,
    next_flight: AtomicU64,
}

impl std::fmt::Debug for Flights {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Flights")
            .field("in_progress", &lock(&self.flights).len())
            .finish()
    }
}

impl Flights {
    /// Whether no fetch is registered (every one finished or was dropped).
    pub fn is_empty(&self) -> bool {
        lock(&self.flights).is_empty()
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
}

/// The result of one fetch, type-erased so one map holds fetches with any error type: a
/// `Result<CachedTags, Arc<E>>`.
type SharedResult = Arc<dyn Any + Send + Sync>;

struct Flight {
    id: u64,
    result: watch::Sender<Option<SharedResult>>,
}

/// The tag list of `key`: from `cache` when younger than `ttl`, else from `fetch`, which is then stored.
///
/// One fetch per key at a time: a call finding another call on the same instance already fetching waits for it
/// and gets its outcome, error included ([`TagsSource::Shared`]); a call finding another *process* fetching
/// (holding the key's [`Cache::lock_tags`]) waits for it as long as the backend allows and then reads what it
/// stored ([`TagsSource::Cache`]), or, after that wait or when the lock cannot be taken at all, fetches anyway. If
/// the call a waiter depends on is dropped (its render ran out of time), the waiter fetches itself. A list that
/// cannot be stored is still returned, with a warning. `fetch` is not polled unless this call fetches.
pub async fn tags_or_fetch<C, E, F>(
    cache: &C,
    key: &TagsKey,
    ttl: Duration,
    fetch: F,
) -> Result<TagsOutcome, Arc<E>>
where
    C: Cache + ?Sized,
    F: Future<Output = Result<Vec<Tag>, E>>,
    E: Send + Sync + 'static,
{
    let stem = key.file_stem();
    // Join a fetch in progress, or become the one that fetches. This happens before the first await, so two
    // calls started together always meet here.
    let flight = loop {
        match cache.flights().join_or_lead(&stem) {
            Role::Lead(flight) => break flight,
            Role::Follow(receiver) => {
                if let Some(outcome) = follow::<E>(receiver).await {
                    count(&outcome);
                    return outcome;
                }
            }
        }
    };
    let outcome = lead(cache, key, ttl, fetch).await;
    flight.publish(&outcome);
    count(&outcome);
    outcome
}

/// Counts a lookup in the process's metrics, when it has some (the daemon): a hit when no fetch of this call's
/// was needed.
fn count<E>(outcome: &Result<TagsOutcome, Arc<E>>) {
    let hit = matches!(outcome, Ok(o) if o.source != TagsSource::Fetched);
    crate::metrics::count_cache_lookups(
        crate::metrics::CacheKind::Tags,
        u64::from(hit),
        u64::from(!hit),
    );
}

async fn lead<C, E, F>(
    cache: &C,
    key: &TagsKey,
    ttl: Duration,
    fetch: F,
) -> Result<TagsOutcome, Arc<E>>
where
    C: Cache + ?Sized,
    F: Future<Output = Result<Vec<Tag>, E>>,
{
    let cached = |tags| TagsOutcome {
        tags,
        source: TagsSource::Cache,
    };
    if let Some(tags) = cache.tags(key, ttl).await {
        return Ok(cached(tags));
    }
    let lock = cache.lock_tags(key).await;
    // Another process may have stored a fresh list while this one waited for the lock.
    if lock.is_some()
        && let Some(tags) = cache.tags(key, ttl).await
    {
        return Ok(cached(tags));
    }
    let tags = CachedTags {
        tags: fetch.await.map_err(Arc::new)?,
        fetched_at: cache.now(),
    };
    if let Err(e) = cache.store_tags(key, &tags).await {
        tracing::warn!(repository = %key, error = %e, "cannot cache the tag list; using it uncached");
    }
    if let Some(lock) = lock {
        cache.release_tags(lock).await;
    }
    Ok(TagsOutcome {
        tags,
        source: TagsSource::Fetched,
    })
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
