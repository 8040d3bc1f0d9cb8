//! The Redis backend of the cache (`--cache redis://…`): what every repo-server replica's sidecar shares, so a
//! tag list fetched by one render answers the renders of all replicas, and a restarted pod keeps its
//! last-known-good answers. Argo CD already runs Redis (`argocd-redis`, or `argocd-redis-ha-haproxy` in front of
//! its Sentinel-managed HA set), so nothing new needs running.
//!
//! Keys, under [`PREFIX`] (`argocd-image-resolver:v1:`, so a new layout never misreads an old one), hold the same
//! JSON documents as the file backend's files ([`super::entry`]), named by the same key hashes, each with a TTL so
//! that nothing grows without bound:
//!
//! ```text
//! argocd-image-resolver:v1:resolved:<sha256>   last-known-good answer       30 days, renewed when rewritten
//! argocd-image-resolver:v1:tags:<sha256>       tag list and fetch time      1 day (freshness is the reader's TTL)
//! argocd-image-resolver:v1:metadata:<sha256>   build times, tag digests     30 days, renewed when rewritten
//! argocd-image-resolver:v1:lock:<sha256>       one fetch of a tag list      `SET NX PX`, 30 s unless released
//! argocd-image-resolver:v1:rate:<sha256>       a registry's request slots   a minute past the last (see `rates`)
//! ```
//!
//! The lock is released by a compare-and-delete script, so a holder whose lock expired never releases another's;
//! a holder that dies (a killed `generate`) leaves it to expire.
//!
//! Redis is never what makes a render fail. Every operation is bounded by a timeout (connecting and a tag list 2 s,
//! any other command 250 ms: some run in the half second a render keeps after its deadline); when Redis cannot be
//! reached, refuses the password, or answers garbage, the process says so once (a warning naming the server,
//! never the password) and uses the local cache directory instead ([`FileCache`]) until a retry a little later
//! succeeds. Last-known-good answers are also written to the local directory, so that a pod still has them when
//! both its registry and Redis are unreachable.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Client, IntoConnectionInfo, RedisError};

use super::location::RedisTarget;
use super::{
    BoxFuture, Cache, CacheError, CachedTags, Clock, FileCache, Flights, KnownImages, MetadataKey,
    ResolutionKey, Resolved, SystemClock, TagsKey, TagsLock, entry,
};

/// Every key starts with it.
pub const PREFIX: &str = "argocd-image-resolver:v1:";

/// How long an answer, build time or tag digest is kept unread.
const LONG_TTL: Duration = Duration::from_secs(30 * 24 * 3600);
/// How long a tag list is kept: far past any tag-list TTL, for `Duration::MAX` readers.
const TAGS_TTL: Duration = Duration::from_secs(24 * 3600);
/// The longest pause between two attempts to take a lock.
const MAX_LOCK_PAUSE: Duration = Duration::from_millis(100);
/// After Redis failed, how long the local cache answers before Redis is tried again (the daemon lives long).
const RETRY_AFTER: Duration = Duration::from_secs(30);

/// Books the next request slot of a registry (`ARGV[1]`: the interval in microseconds) by Redis's clock, shared
/// by every replica: [`crate::registry::limit::Bucket::book`] in Lua. The key expires a minute after its last slot.
const RESERVE: &str = r#"
local t = redis.call("TIME")
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local next_free = tonumber(redis.call("HGET", KEYS[1], "next") or "0") or 0
local blocked = tonumber(redis.call("HGET", KEYS[1], "blocked") or "0") or 0
local slot = math.max(now, next_free, blocked)
local after = slot + tonumber(ARGV[1])
redis.call("HSET", KEYS[1], "next", string.format("%.0f", after))
redis.call("PEXPIRE", KEYS[1], math.floor((math.max(after, blocked) - now) / 1000) + 60000)
return math.floor(slot - now)
"#;

/// A back-off of `ARGV[1]` microseconds from now, by Redis's clock, never shortening a longer one.
const BACK_OFF: &str = r#"
local t = redis.call("TIME")
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local next_free = tonumber(redis.call("HGET", KEYS[1], "next") or "0") or 0
local blocked = math.max(tonumber(redis.call("HGET", KEYS[1], "blocked") or "0") or 0, now + tonumber(ARGV[1]))
redis.call("HSET", KEYS[1], "blocked", string.format("%.0f", blocked))
redis.call("PEXPIRE", KEYS[1], math.floor((math.max(next_free, blocked) - now) / 1000) + 60000)
return 0
"#;

/// Deletes the lock only while it still holds this holder's token.
const RELEASE: &str = r#"if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) else return 0 end"#;

/// How a [`RedisCache`] connects, measures ages and waits.
pub struct RedisOptions {
    pub clock: Arc<dyn Clock>,
    /// Bound on connecting (handshake included) and on reading or writing a tag list, which may be megabytes.
    pub timeout: Duration,
    /// Bound on every other command's answer: small values, and some run in the little time a render has left
    /// after its deadline (a last-known-good answer), where a stalled Redis must not take it past its budget.
    pub command_timeout: Duration,
    /// How long a render waits for another fetching the same tag list (as [`super::CacheOptions::lock_wait`]).
    pub lock_wait: Duration,
    /// How long a lock outlives a holder that never releases it (killed mid-fetch).
    pub lock_ttl: Duration,
}

impl Default for RedisOptions {
    fn default() -> Self {
        RedisOptions {
            clock: Arc::new(SystemClock),
            timeout: Duration::from_secs(2),
            command_timeout: Duration::from_millis(250),
            lock_wait: Duration::from_secs(15),
            lock_ttl: Duration::from_secs(30),
        }
    }
}

/// The cache in Redis, with a local directory for when Redis cannot answer. Share one instance between a
/// process's tasks (behind an `Arc`): it holds one multiplexed connection.
pub struct RedisCache {
    client: Client,
    /// The server without its password, for messages.
    target: String,
    local: Arc<FileCache>,
    options: RedisOptions,
    connection: tokio::sync::Mutex<Connection>,
    /// Set once a failure has been reported, so that a render with many images warns once.
    warned: AtomicBool,
    flights: Flights,
}

enum Connection {
    NotYet,
    Up(MultiplexedConnection),
    /// Failed at this instant: the local cache answers until [`RETRY_AFTER`] has passed.
    Down(Instant),
}

impl std::fmt::Debug for RedisCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisCache")
            .field("target", &self.target)
            .field("local", &self.local)
            .finish_non_exhaustive()
    }
}

impl RedisCache {
    /// The cache at `target`, falling back to `local`. Connects on first use, not here: a render that needs no
    /// registry answer never touches Redis.
    pub fn new(target: &RedisTarget, local: Arc<FileCache>, options: RedisOptions) -> Self {
        let target_text = target.to_string();
        let scheme = if target.tls { "rediss" } else { "redis" };
        // The URL handed to the client holds no credentials; they are set on its settings, never formatted.
        let url = format!("{scheme}://{}/{}", target.address(), target.db);
        let info = url
            .as_str()
            .into_connection_info()
            .expect("a URL built from a parsed target is valid");
        let mut settings = info.redis_settings().clone();
        if let Some(user) = &target.username {
            settings = settings.set_username(user);
        }
        if let Some(password) = &target.password {
            settings = settings.set_password(password.expose());
        }
        let info = info.set_redis_settings(settings);
        let client = Client::open(info).expect("connection info is accepted as it is");
        RedisCache {
            client,
            target: target_text,
            local,
            options,
            connection: tokio::sync::Mutex::new(Connection::NotYet),
            warned: AtomicBool::new(false),
            flights: Flights::default(),
        }
    }

    /// The local cache that answers while Redis cannot.
    pub fn local(&self) -> &FileCache {
        &self.local
    }

    /// A connection, or `None` while Redis is down.
    async fn connection(&self) -> Option<MultiplexedConnection> {
        let mut connection = self.connection.lock().await;
        match &*connection {
            Connection::Up(conn) => return Some(conn.clone()),
            Connection::Down(at) if at.elapsed() < RETRY_AFTER => return None,
            Connection::NotYet | Connection::Down(_) => {}
        }
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(self.options.timeout))
            .set_response_timeout(Some(self.options.timeout));
        let connecting = self
            .client
            .get_multiplexed_async_connection_with_config(&config);
        // The connection timeout bounds the TCP connect; this bounds the handshake (AUTH, SELECT) too.
        match tokio::time::timeout(self.options.timeout, connecting).await {
            Ok(Ok(conn)) => {
                if self.warned.swap(false, Ordering::Relaxed) {
                    tracing::info!(redis = %self.target, "the Redis cache answers again");
                }
                *connection = Connection::Up(conn.clone());
                Some(conn)
            }
            Ok(Err(e)) => {
                *connection = Connection::Down(Instant::now());
                self.report("cannot connect", &e.to_string());
                None
            }
            Err(_) => {
                *connection = Connection::Down(Instant::now());
                self.report("cannot connect", "no answer in time");
                None
            }
        }
    }

    /// Runs `command` on Redis within `limit`; `None` when Redis is down, or the command failed or got no answer
    /// in time (then it is down).
    async fn run<T: redis::FromRedisValue>(
        &self,
        what: &str,
        command: redis::Cmd,
        limit: Duration,
    ) -> Option<T> {
        let mut conn = self.connection().await?;
        self.answer(what, limit, command.query_async::<T>(&mut conn))
            .await
    }

    /// The answer of `request` within `limit`, or `None` with Redis marked down.
    async fn answer<T>(
        &self,
        what: &str,
        limit: Duration,
        request: impl std::future::Future<Output = Result<T, RedisError>>,
    ) -> Option<T> {
        match tokio::time::timeout(limit, request).await {
            Ok(Ok(value)) => Some(value),
            Ok(Err(e)) => {
                self.failed(what, &e.to_string()).await;
                None
            }
            Err(_) => {
                self.failed(what, "no answer in time").await;
                None
            }
        }
    }

    /// Marks Redis down after a failed command.
    async fn failed(&self, what: &str, why: &str) {
        *self.connection.lock().await = Connection::Down(Instant::now());
        self.report(what, why);
    }

    fn report(&self, what: &str, why: &str) {
        if !self.warned.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                redis = %self.target,
                "Redis cache: {what}: {why}; using the local cache directory {} meanwhile",
                self.local.dir().display()
            );
        }
    }

    async fn get(&self, name: &str, limit: Duration) -> Option<Option<Vec<u8>>> {
        self.run("cannot read", redis::cmd("GET").arg(name).clone(), limit)
            .await
    }

    async fn set(&self, name: &str, value: Vec<u8>, ttl: Duration, limit: Duration) -> bool {
        let mut command = redis::cmd("SET");
        command.arg(name).arg(value).arg("PX").arg(millis(ttl));
        self.run::<()>("cannot write", command, limit)
            .await
            .is_some()
    }

    /// A stored entry decoded by `decode`; a broken one is a miss, logged.
    fn decoded<T>(
        &self,
        name: &str,
        bytes: Option<Vec<u8>>,
        decode: impl FnOnce(&[u8]) -> Result<T, entry::Refused>,
    ) -> Option<T> {
        match decode(&bytes?) {
            Ok(value) => Some(value),
            Err(why) => {
                tracing::warn!(key = name, "ignoring Redis cache entry: {why}");
                None
            }
        }
    }

    /// Runs `script` on the rate key of `registry` with `arg`; `None` when Redis is down or it failed.
    async fn script(&self, what: &str, script: &str, registry: &str, arg: u64) -> Option<i64> {
        let mut conn = self.connection().await?;
        let key = format!("{PREFIX}rate:{}", super::key::sha256_hex(&[registry]));
        let script = redis::Script::new(script);
        let mut invocation = script.key(key);
        invocation.arg(arg);
        self.answer(
            what,
            self.options.command_timeout,
            invocation.invoke_async::<i64>(&mut conn),
        )
        .await
    }

    async fn take_lock(&self, key: &TagsKey) -> Option<Option<TagsLock>> {
        let name = format!("{PREFIX}lock:{}", key.file_stem());
        let token = format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..));
        let started = Instant::now();
        let mut pause = Duration::from_millis(5);
        loop {
            let mut command = redis::cmd("SET");
            command
                .arg(&name)
                .arg(&token)
                .arg("NX")
                .arg("PX")
                .arg(millis(self.options.lock_ttl));
            let taken: Option<String> = self
                .run("cannot lock", command, self.options.command_timeout)
                .await?;
            if taken.is_some() {
                let conn = self.connection().await?;
                let limit = self.options.command_timeout;
                return Some(Some(Box::new(RedisLock {
                    conn,
                    name,
                    token,
                    limit,
                }) as TagsLock));
            }
            let waited = started.elapsed();
            if waited >= self.options.lock_wait {
                tracing::warn!(
                    repository = %key,
                    waited = ?waited,
                    "another render is still fetching these tags; fetching them too"
                );
                return Some(None);
            }
            tokio::time::sleep(pause.min(self.options.lock_wait - waited)).await;
            pause = (pause * 2).min(MAX_LOCK_PAUSE);
        }
    }
}

/// A held tag-list lock. [`Cache::release_tags`] releases it, awaited; dropped otherwise (a fetch cancelled), the
/// release runs in the background, and a process that exits first leaves it to expire.
struct RedisLock {
    conn: MultiplexedConnection,
    /// Empty once released.
    name: String,
    token: String,
    /// How long the release may take.
    limit: Duration,
}

impl RedisLock {
    /// Compare-and-delete: only while the lock still holds this holder's token. Not released in time, it expires.
    async fn release(
        mut conn: MultiplexedConnection,
        name: String,
        token: String,
        limit: Duration,
    ) {
        let script = redis::Script::new(RELEASE);
        let mut invocation = script.key(&name);
        invocation.arg(&token);
        match tokio::time::timeout(limit, invocation.invoke_async::<i64>(&mut conn)).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::debug!(key = name, "cannot release the lock (it expires): {e}"),
            Err(_) => tracing::debug!(key = name, "no answer to the lock's release (it expires)"),
        }
    }
}

impl Drop for RedisLock {
    fn drop(&mut self) {
        if self.name.is_empty() {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let (name, token) = (
            std::mem::take(&mut self.name),
            std::mem::take(&mut self.token),
        );
        runtime.spawn(RedisLock::release(
            self.conn.clone(),
            name,
            token,
            self.limit,
        ));
    }
}

impl Cache for RedisCache {
    fn now(&self) -> DateTime<Utc> {
        self.options.clock.now()
    }

    fn last_known_good<'a>(&'a self, key: &'a ResolutionKey) -> BoxFuture<'a, Option<Resolved>> {
        Box::pin(async move {
            let name = format!("{PREFIX}resolved:{}", key.file_stem());
            // Redis first; the local copy when Redis is down or lacks it (written before Redis was configured,
            // or while it was down).
            let shared = match self.get(&name, self.options.command_timeout).await {
                Some(bytes) => self.decoded(&name, bytes, |b| entry::decode_resolved(b, key)),
                None => None,
            };
            shared.or_else(|| self.local.last_known_good(key))
        })
    }

    fn record<'a>(
        &'a self,
        key: &'a ResolutionKey,
        resolved: &'a Resolved,
    ) -> BoxFuture<'a, Result<(), CacheError>> {
        Box::pin(async move {
            let local = self.local.record(key, resolved);
            let name = format!("{PREFIX}resolved:{}", key.file_stem());
            let stored = match self.get(&name, self.options.command_timeout).await {
                Some(bytes) => bytes.and_then(|b| entry::decode_resolved(&b, key).ok()),
                None => return local,
            };
            if !stored.is_some_and(|stored| resolved.is_recorded_by(&stored)) {
                self.set(
                    &name,
                    entry::encode_resolved(key, resolved),
                    LONG_TTL,
                    self.options.command_timeout,
                )
                .await;
            }
            local
        })
    }

    fn tags<'a>(
        &'a self,
        key: &'a TagsKey,
        max_age: Duration,
    ) -> BoxFuture<'a, Option<CachedTags>> {
        Box::pin(async move {
            let name = format!("{PREFIX}tags:{}", key.file_stem());
            match self.get(&name, self.options.timeout).await {
                Some(bytes) => self
                    .decoded(&name, bytes, |b| entry::decode_tags(b, key))
                    .filter(|tags| tags.is_fresh(self.now(), max_age)),
                None => self.local.tags(key, max_age),
            }
        })
    }

    fn store_tags<'a>(
        &'a self,
        key: &'a TagsKey,
        tags: &'a CachedTags,
    ) -> BoxFuture<'a, Result<(), CacheError>> {
        Box::pin(async move {
            let name = format!("{PREFIX}tags:{}", key.file_stem());
            if self
                .set(
                    &name,
                    entry::encode_tags(key, tags),
                    TAGS_TTL,
                    self.options.timeout,
                )
                .await
            {
                Ok(())
            } else {
                self.local.store_tags(key, tags)
            }
        })
    }

    fn image_metadata<'a>(&'a self, key: &'a MetadataKey) -> BoxFuture<'a, KnownImages> {
        Box::pin(async move {
            let name = format!("{PREFIX}metadata:{}", key.file_stem());
            match self.get(&name, self.options.timeout).await {
                Some(bytes) => self
                    .decoded(&name, bytes, |b| entry::decode_metadata(b, key))
                    .unwrap_or_default(),
                None => self.local.image_metadata(key),
            }
        })
    }

    fn store_image_metadata<'a>(
        &'a self,
        key: &'a MetadataKey,
        known: &'a KnownImages,
    ) -> BoxFuture<'a, Result<(), CacheError>> {
        Box::pin(async move {
            let name = format!("{PREFIX}metadata:{}", key.file_stem());
            if self
                .set(
                    &name,
                    entry::encode_metadata(key, known),
                    LONG_TTL,
                    self.options.timeout,
                )
                .await
            {
                Ok(())
            } else {
                self.local.store_image_metadata(key, known)
            }
        })
    }

    /// `SET <lock> <token> NX PX <lock_ttl>`, tried again (with growing pauses up to 100 ms) for at most
    /// [`RedisOptions::lock_wait`]; with Redis down, the local directory's lock.
    fn lock_tags<'a>(&'a self, key: &'a TagsKey) -> BoxFuture<'a, Option<TagsLock>> {
        Box::pin(async move {
            match self.take_lock(key).await {
                Some(lock) => lock,
                None => Cache::lock_tags(self.local.as_ref(), key).await,
            }
        })
    }

    fn flights(&self) -> &Flights {
        &self.flights
    }

    /// The compare-and-delete, awaited, so that the renders waiting for the lock go on at once rather than when a
    /// background release gets to run (or the lock expires, if the process exits first).
    fn release_tags<'a>(&'a self, lock: TagsLock) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            match lock.downcast::<RedisLock>() {
                Ok(mut lock) => {
                    let (name, token) = (
                        std::mem::take(&mut lock.name),
                        std::mem::take(&mut lock.token),
                    );
                    RedisLock::release(lock.conn.clone(), name, token, lock.limit).await;
                }
                // The local directory's lock, taken while Redis was down.
                Err(other) => self.local.release_tags(other).await,
            }
        })
    }

    /// One script ([`RESERVE`]) on Redis's clock; with Redis down, `None`: the process books.
    fn reserve_request<'a>(
        &'a self,
        registry: &'a str,
        per_second: u32,
    ) -> BoxFuture<'a, Option<Duration>> {
        Box::pin(async move {
            let interval = crate::registry::limit::interval_micros(per_second).unsigned_abs();
            let wait: i64 = self
                .script("cannot book a request", RESERVE, registry, interval)
                .await?;
            Some(Duration::from_micros(u64::try_from(wait).unwrap_or(0)))
        })
    }

    fn back_off<'a>(&'a self, registry: &'a str, delay: Duration) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let micros = u64::try_from(delay.as_micros()).unwrap_or(u64::MAX);
            let _: Option<i64> = self
                .script("cannot record a back-off", BACK_OFF, registry, micros)
                .await;
        })
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis())
        .unwrap_or(u64::MAX)
        .max(1)
}
