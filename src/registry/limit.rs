//! Load control for one registry: a concurrency cap, a requests-per-second token bucket and the retry backoff.
//!
//! The arithmetic ([`Bucket::book`], [`RetryPolicy::delay`]) is pure and takes the clock and the jitter as
//! arguments; only [`Limits::acquire`] waits.
//!
//! A registry's `limit` is booked where every client of that registry books it ([`SharedRate`]): this process's
//! buckets by default ([`ProcessRates`], one per registry however many clients — credentials, namespaces — the
//! process has), or the cache, so that it holds for all of a sidecar's renders (its directory) or of all replicas
//! (Redis). A 429 makes every one of them wait, not only the request that got it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use tokio::sync::{Semaphore, SemaphorePermit};

/// argocd-image-updater's default `limit`: requests per second to one registry.
pub const DEFAULT_REQUESTS_PER_SECOND: u32 = 20;

/// Requests to one registry in flight at once, unless configured.
pub const DEFAULT_MAX_CONCURRENCY: usize = 8;

/// One registry's request slots, as times in microseconds on some clock: a token bucket holding one token, so
/// requests are spaced evenly at the rate, like the leaky-bucket limiter argocd-image-updater uses (no one-second
/// window sees much more than the limit), and the end of a back-off. The one arithmetic of every place a `limit` is
/// booked: this process ([`ProcessRates`]), the cache directory and Redis (`cache::rates`, whose script mirrors it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Bucket {
    /// When the next request may go out.
    pub next_free: i64,
    /// No request before it.
    pub blocked_until: i64,
}

/// The interval between two requests at `per_second`, in microseconds (a rate of 0 counts as 1).
pub fn interval_micros(per_second: u32) -> i64 {
    1_000_000 / i64::from(per_second.max(1))
}

impl Bucket {
    /// Books the next slot at `now` for `per_second` and returns the wait before sending (zero when the slot is
    /// now). Idle time builds no burst.
    pub fn book(&mut self, now: i64, per_second: u32) -> i64 {
        let slot = now.max(self.next_free).max(self.blocked_until);
        self.next_free = slot + interval_micros(per_second);
        slot - now
    }

    /// No request before `delay` from `now`; a shorter back-off never shortens a longer one.
    pub fn block(&mut self, now: i64, delay: Duration) {
        let until = now.saturating_add(i64::try_from(delay.as_micros()).unwrap_or(i64::MAX));
        self.blocked_until = self.blocked_until.max(until);
    }
}

/// How often and how patiently a failed request is retried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (so `max_retries + 1` attempts in all).
    pub max_retries: u32,
    /// Delay before the first retry; doubled for each further retry.
    pub base: Duration,
    /// Cap of the exponential delay (a `Retry-After` may ask for longer, within the deadline).
    pub max: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 4,
            base: Duration::from_millis(250),
            max: Duration::from_secs(8),
        }
    }
}

impl RetryPolicy {
    /// The wait before retry number `attempt` (0-based): the server's `Retry-After` when given, else
    /// `min(max, base·2^attempt)` scaled by a jitter factor in `[0.5, 1)` from `jitter` in `[0, 1)`.
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>, jitter: f64) -> Duration {
        if let Some(asked) = retry_after {
            return asked;
        }
        let exponential = self
            .base
            .saturating_mul(1u32.checked_shl(attempt.min(31)).unwrap_or(u32::MAX))
            .min(self.max);
        exponential.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0))
    }
}

/// Where the request slots of a registry's `limit` are booked, by every client that talks to it.
pub trait SharedRate: Send + Sync + std::fmt::Debug {
    /// Books the next request to `registry` (its API origin) at `per_second`, and returns how long to wait before
    /// sending it.
    fn reserve<'a>(&'a self, registry: &'a str, per_second: u32) -> BoxFuture<'a, Duration>;

    /// Has every request to `registry` wait `delay` from now (a 429's `Retry-After`, or the backoff).
    fn back_off<'a>(&'a self, registry: &'a str, delay: Duration) -> BoxFuture<'a, ()>;
}

/// The buckets of this process, one per registry, with their rate; times are microseconds since `epoch`.
#[derive(Debug)]
pub struct ProcessRates {
    epoch: Instant,
    registries: Mutex<HashMap<String, (u32, Bucket)>>,
}

impl Default for ProcessRates {
    fn default() -> Self {
        ProcessRates {
            epoch: Instant::now(),
            registries: Mutex::default(),
        }
    }
}

impl ProcessRates {
    /// The process's own: what every client uses unless given the cache's.
    pub fn global() -> Arc<ProcessRates> {
        static GLOBAL: OnceLock<Arc<ProcessRates>> = OnceLock::new();
        Arc::clone(GLOBAL.get_or_init(Arc::default))
    }

    /// [`SharedRate::reserve`] at `now`.
    pub fn reserve_at(&self, registry: &str, per_second: u32, now: Instant) -> Duration {
        let now = self.micros(now);
        let mut registries = self.lock();
        let (rate, bucket) = registries
            .entry(registry.to_owned())
            .or_insert((per_second, Bucket::default()));
        if *rate != per_second {
            // Another configuration of the same registry: the newest one's rate, from now.
            *rate = per_second;
            bucket.next_free = now;
        }
        Duration::from_micros(bucket.book(now, per_second).unsigned_abs())
    }

    /// [`SharedRate::back_off`] at `now`.
    pub fn back_off_at(&self, registry: &str, delay: Duration, now: Instant) {
        let now = self.micros(now);
        // A registry backed off before any request has no rate yet: its first booking sets one.
        self.lock()
            .entry(registry.to_owned())
            .or_insert((0, Bucket::default()))
            .1
            .block(now, delay);
    }

    fn micros(&self, at: Instant) -> i64 {
        i64::try_from(at.saturating_duration_since(self.epoch).as_micros()).unwrap_or(i64::MAX)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (u32, Bucket)>> {
        self.registries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl SharedRate for ProcessRates {
    fn reserve<'a>(&'a self, registry: &'a str, per_second: u32) -> BoxFuture<'a, Duration> {
        Box::pin(std::future::ready(self.reserve_at(
            registry,
            per_second,
            Instant::now(),
        )))
    }

    fn back_off<'a>(&'a self, registry: &'a str, delay: Duration) -> BoxFuture<'a, ()> {
        self.back_off_at(registry, delay, Instant::now());
        Box::pin(std::future::ready(()))
    }
}

/// The concurrency cap of one client, and the rate limit of its registry.
#[derive(Debug)]
pub struct Limits {
    concurrency: Semaphore,
    /// Requests per second, and where they are booked.
    rate: Option<u32>,
    registry: String,
    rates: Arc<dyn SharedRate>,
}

impl Limits {
    /// `per_second: None` means no rate limit; `max_concurrency` is at least one. `registry` names the registry
    /// in `rates` (its API origin).
    pub fn new(
        max_concurrency: usize,
        per_second: Option<u32>,
        registry: impl Into<String>,
        rates: Arc<dyn SharedRate>,
    ) -> Self {
        Self {
            concurrency: Semaphore::new(max_concurrency.max(1)),
            rate: per_second,
            registry: registry.into(),
            rates,
        }
    }

    /// Waits for a free slot and then for the rate limit; the permit is held for one HTTP exchange.
    pub async fn acquire(&self) -> SemaphorePermit<'_> {
        // The semaphore is never closed, so acquiring cannot fail.
        let permit = self
            .concurrency
            .acquire()
            .await
            .expect("registry semaphore is never closed");
        if let Some(per_second) = self.rate {
            let wait = self.rates.reserve(&self.registry, per_second).await;
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
        }
        permit
    }

    /// The registry said "too many requests": every request to it waits `delay`, in every process sharing the
    /// rates. Whether [`Limits::acquire`] makes the next request wait it out (the registry has a rate limit);
    /// otherwise the caller waits itself.
    pub async fn back_off(&self, delay: Duration) -> bool {
        if self.rate.is_none() {
            return false;
        }
        self.rates.back_off(&self.registry, delay).await;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_spaces_requests() {
        let ms = |n: i64| n * 1000;
        let mut bucket = Bucket::default();
        for (name, at, want) in [
            ("first is free", ms(0), ms(0)),
            ("second waits one interval", ms(0), ms(50)),
            ("third waits two", ms(0), ms(100)),
            ("later arrival waits less", ms(120), ms(30)),
            ("after a pause no debt", ms(1000), ms(0)),
            ("idle time does not build a burst", ms(5000), ms(0)),
            ("but the next one waits", ms(5000), ms(50)),
        ] {
            assert_eq!(bucket.book(at, 20), want, "{name}");
        }
        let mut zero = Bucket::default();
        assert_eq!(
            zero.book(0, 0),
            ms(0),
            "zero rate is treated as one per second"
        );
        assert_eq!(
            zero.book(0, 0),
            ms(1000),
            "zero rate is treated as one per second"
        );
    }

    #[test]
    fn booking_spaces_requests_and_honours_back_offs() {
        let ms = |n: i64| n * 1000;
        let mut bucket = Bucket::default();
        for (name, now, per_second, back_off, want) in [
            ("first is free", ms(1000), 10, None, ms(0)),
            ("next waits one interval", ms(1000), 10, None, ms(100)),
            ("a later arrival waits less", ms(1150), 10, None, ms(50)),
            ("after idle time, no burst", ms(9000), 10, None, ms(0)),
            ("then it waits again", ms(9000), 10, None, ms(100)),
            (
                "a back-off holds everyone",
                ms(9000),
                10,
                Some(Duration::from_secs(2)),
                ms(2000),
            ),
            ("and queues behind it", ms(9000), 10, None, ms(2100)),
            (
                "a shorter back-off changes nothing",
                ms(9000),
                10,
                Some(Duration::from_millis(1)),
                ms(2200),
            ),
            ("a rate of 0 is one per second", ms(20_000), 0, None, ms(0)),
            ("…indeed", ms(20_000), 0, None, ms(1000)),
        ] {
            if let Some(delay) = back_off {
                bucket.block(now, delay);
            }
            assert_eq!(bucket.book(now, per_second), want, "{name}");
        }
    }

    #[test]
    fn one_registry_s_rate_is_shared_and_a_back_off_delays_everyone() {
        let rates = ProcessRates::default();
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        for (name, registry, per_second, at, want) in [
            ("first is free", "a", 10, t0, ms(0)),
            ("the next waits, whoever asks", "a", 10, t0, ms(100)),
            ("another registry has its own", "b", 10, t0, ms(0)),
            ("a third on a", "a", 10, t0, ms(200)),
            ("a new rate starts afresh", "a", 20, t0 + ms(10), ms(0)),
        ] {
            assert_eq!(rates.reserve_at(registry, per_second, at), want, "{name}");
        }
        rates.back_off_at("b", Duration::from_secs(2), t0);
        assert_eq!(
            rates.reserve_at("b", 10, t0 + ms(500)),
            ms(1500),
            "b waits out the back-off"
        );
        assert_eq!(
            rates.reserve_at("b", 10, t0 + ms(500)),
            ms(1600),
            "and then its rate"
        );
        rates.back_off_at("c", ms(300), t0);
        assert_eq!(
            rates.reserve_at("c", 5, t0),
            ms(300),
            "backed off before any request"
        );
        rates.back_off_at("a", ms(1), t0);
        assert_eq!(
            rates.reserve_at("a", 20, t0 + ms(10)),
            ms(50),
            "a shorter back-off does not shorten the queue"
        );
    }

    #[test]
    fn backoff_delays() {
        let policy = RetryPolicy {
            max_retries: 5,
            base: Duration::from_millis(100),
            max: Duration::from_secs(1),
        };
        let ms = Duration::from_millis;
        for (name, attempt, retry_after, jitter, want) in [
            ("first retry, no jitter", 0, None, 1.0, ms(100)),
            ("first retry, full jitter", 0, None, 0.0, ms(50)),
            ("doubles", 2, None, 1.0, ms(400)),
            ("capped", 5, None, 1.0, ms(1000)),
            ("huge attempt stays capped", 400, None, 1.0, ms(1000)),
            (
                "retry-after wins",
                0,
                Some(Duration::from_secs(3)),
                0.3,
                Duration::from_secs(3),
            ),
            ("retry-after zero", 3, Some(Duration::ZERO), 0.3, ms(0)),
            ("jitter out of range is clamped", 0, None, 7.0, ms(100)),
        ] {
            assert_eq!(policy.delay(attempt, retry_after, jitter), want, "{name}");
        }
    }

    #[tokio::test]
    async fn limits_cap_concurrency() {
        let limits = Limits::new(2, None, "http://registry.test", ProcessRates::global());
        let a = limits.acquire().await;
        let _b = limits.acquire().await;
        assert_eq!(limits.concurrency.available_permits(), 0, "two permits out");
        drop(a);
        let _c = limits.acquire().await;
        assert_eq!(
            limits.concurrency.available_permits(),
            0,
            "a freed permit is reused"
        );
    }
}
