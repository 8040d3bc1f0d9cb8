//! Load control for one registry: a concurrency cap, a requests-per-second token bucket and the retry backoff.
//!
//! The arithmetic ([`TokenBucket::reserve`], [`RetryPolicy::delay`]) is pure and takes the clock and the jitter as
//! arguments; only [`Limits::acquire`] waits.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::sync::{Semaphore, SemaphorePermit};

/// argocd-image-updater's default `limit`: requests per second to one registry.
pub const DEFAULT_REQUESTS_PER_SECOND: u32 = 20;

/// Requests to one registry in flight at once, unless configured.
pub const DEFAULT_MAX_CONCURRENCY: usize = 8;

/// A token bucket holding one token: requests are spaced evenly at `per_second`, like the leaky-bucket limiter
/// argocd-image-updater uses, so no one-second window sees much more than the limit.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    interval: Duration,
    /// When the next request may go out.
    next_free: Instant,
}

impl TokenBucket {
    /// A bucket for `per_second` requests per second (at least one); the first request may go at `now`.
    pub fn new(per_second: u32, now: Instant) -> Self {
        Self {
            interval: Duration::from_secs(1) / per_second.max(1),
            next_free: now,
        }
    }

    /// Books the next slot and returns how long to wait before sending (zero when the slot is now).
    pub fn reserve(&mut self, now: Instant) -> Duration {
        let slot = self.next_free.max(now);
        self.next_free = slot + self.interval;
        slot - now
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

/// The concurrency cap and rate limit shared by every request a client sends.
#[derive(Debug)]
pub struct Limits {
    concurrency: Semaphore,
    bucket: Option<Mutex<TokenBucket>>,
}

impl Limits {
    /// `per_second: None` means no rate limit; `max_concurrency` is at least one.
    pub fn new(max_concurrency: usize, per_second: Option<u32>) -> Self {
        Self {
            concurrency: Semaphore::new(max_concurrency.max(1)),
            bucket: per_second.map(|rate| Mutex::new(TokenBucket::new(rate, Instant::now()))),
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
        if let Some(bucket) = &self.bucket {
            let wait = bucket
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .reserve(Instant::now());
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
        }
        permit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_spaces_requests() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut bucket = TokenBucket::new(20, t0);
        for (name, at, want) in [
            ("first is free", t0, ms(0)),
            ("second waits one interval", t0, ms(50)),
            ("third waits two", t0, ms(100)),
            ("later arrival waits less", t0 + ms(120), ms(30)),
            ("after a pause no debt", t0 + ms(1000), ms(0)),
            ("idle time does not build a burst", t0 + ms(5000), ms(0)),
            ("but the next one waits", t0 + ms(5000), ms(50)),
        ] {
            assert_eq!(bucket.reserve(at), want, "{name}");
        }
        let mut zero = TokenBucket::new(0, t0);
        assert_eq!(
            zero.reserve(t0),
            ms(0),
            "zero rate is treated as one per second"
        );
        assert_eq!(
            zero.reserve(t0),
            Duration::from_secs(1),
            "zero rate is treated as one per second"
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
        let limits = Limits::new(2, None);
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
