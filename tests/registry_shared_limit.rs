//! A registry's `limit` holds for all the renders sharing a cache, not for each `generate` process alone: 20
//! processes started together against a real `docker-registry` behind a recording proxy (the proxy notes when
//! each request arrives), with `limit: 10` and tag lists never cached (every process asks). Counted per one-second
//! window of arrivals, never more than the limit (plus one for a request that arrived late in its slot). Once with
//! the shared cache directory of one sidecar, once with Redis shared by three replicas' directories.
//!
//! Needs docker-registry and redis-server (`scripts/install-test-deps`).

mod support;

#[path = "support/redis.rs"]
mod redis_support;

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use redis_support::TestRedis;
use support::MockServer;
use support::proxied::ProxiedApp;

const LIMIT: usize = 10;
const PROCESSES: usize = 20;

/// Starts `PROCESSES` `generate`s at once, process `n` with cache directory `cache_dir(n)` and `extra` args, and
/// waits for them all.
fn render_all(dir: &Path, cache_dir: impl Fn(usize) -> String, extra: &[&str]) -> Vec<Output> {
    let children: Vec<_> = (0..PROCESSES)
        .map(|n| {
            support::proxied::generate(dir, Path::new(&cache_dir(n)))
                .args(extra)
                .env("IMAGE_RESOLVER_TAGS_TTL", "0")
                .env("IMAGE_RESOLVER_BUDGET", "40s")
                .spawn()
                .unwrap()
        })
        .collect();
    children
        .into_iter()
        .map(|child| child.wait_with_output().unwrap())
        .collect()
}

/// The most requests that arrived within any one second.
fn busiest_second(proxy: &MockServer) -> usize {
    let mut arrivals: Vec<_> = proxy.seen().into_iter().map(|s| s.at).collect();
    arrivals.sort();
    (0..arrivals.len())
        .map(|i| {
            arrivals[i..]
                .iter()
                .take_while(|at| at.duration_since(arrivals[i]) < Duration::from_secs(1))
                .count()
        })
        .max()
        .unwrap_or(0)
}

fn check(outputs: &[Output], proxy: &MockServer, what: &str) {
    for output in outputs {
        assert!(
            output.status.success(),
            "{what}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(
            String::from_utf8_lossy(&output.stdout).contains("image: limit.test/shop/web:1.1.0"),
            "{what}"
        );
    }
    let requests = proxy.seen().len();
    assert!(
        requests >= PROCESSES,
        "{what}: every process asked ({requests} requests)"
    );
    let busiest = busiest_second(proxy);
    assert!(
        busiest <= LIMIT + 1,
        "{what}: {busiest} requests within one second, limit {LIMIT} ({requests} in all)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_sidecar_s_renders_share_the_limit_through_the_cache_directory() {
    let app = ProxiedApp::new("limit.test", Some(LIMIT as u32)).await;
    let (proxy, dir) = (&app.proxy, &app.dir);
    let shared = dir.path().join("cache").display().to_string();
    let outputs = tokio::task::spawn_blocking({
        let dir = dir.path().to_owned();
        move || render_all(&dir, |_| shared.clone(), &[])
    })
    .await
    .unwrap();
    check(&outputs, proxy, "one cache directory");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_share_the_limit_through_redis() {
    let app = ProxiedApp::new("limit.test", Some(LIMIT as u32)).await;
    let (proxy, dir) = (&app.proxy, &app.dir);
    let redis = TestRedis::start();
    let outputs = tokio::task::spawn_blocking({
        let dir = dir.path().to_owned();
        let url = redis.url();
        move || {
            let replica = |n: usize| dir.join(format!("replica-{}", n % 3)).display().to_string();
            render_all(&dir, replica, &["--cache", &url])
        }
    })
    .await
    .unwrap();
    check(&outputs, proxy, "three directories, one Redis");
    let keys = redis.keys_with_ttl();
    assert!(
        keys.iter().any(|(k, ttl)| k.contains(":rate:") && *ttl > 0),
        "the limit was booked in Redis, with an expiry: {keys:?}"
    );
}

/// A 429 holds every render back, not only the one that got it: render A is told "Retry-After: 2"; render B,
/// started once A has recorded that back-off in the shared cache directory, sends nothing until it is over.
/// (The registry is an in-test mock: docker-registry never answers 429.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_holds_back_every_render_sharing_the_cache() {
    use axum::Router;
    use axum::http::StatusCode;
    use axum::response::IntoResponse;
    use axum::routing::get;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    let asked = Arc::new(AtomicUsize::new(0));
    let router = Router::new()
        .route("/v2/", get(|| async { StatusCode::OK }))
        .route(
            "/v2/shop/web/tags/list",
            get({
                let asked = Arc::clone(&asked);
                move || async move {
                    if asked.fetch_add(1, Ordering::SeqCst) == 0 {
                        (
                            StatusCode::TOO_MANY_REQUESTS,
                            [("retry-after", "2")],
                            "slow down",
                        )
                            .into_response()
                    } else {
                        (
                            [("content-type", "application/json")],
                            r#"{"name": "shop/web", "tags": ["1.0.0", "1.1.0"]}"#,
                        )
                            .into_response()
                    }
                }
            }),
        );
    let registry = MockServer::start(router).await;
    let dir = support::proxied::app_dir("limit.test", registry.url().as_str(), Some(100));
    let cache = dir.path().join("cache");
    let start = |dir: &Path, cache: &Path| {
        support::proxied::generate(dir, cache)
            .env("IMAGE_RESOLVER_TAGS_TTL", "0")
            .spawn()
            .unwrap()
    };
    let first = start(dir.path(), &cache);
    // A has recorded the back-off once the bucket's second time (its end) is set.
    let rates = cache.join("rates");
    let until = std::time::Instant::now() + Duration::from_secs(60);
    let backed_off = || {
        std::fs::read_dir(&rates)
            .into_iter()
            .flatten()
            .flatten()
            .any(|entry| {
                std::fs::read_to_string(entry.path()).is_ok_and(|text| {
                    text.split_whitespace()
                        .nth(1)
                        .and_then(|n| n.parse::<i64>().ok())
                        .is_some_and(|blocked| blocked > 0)
                })
            })
    };
    while !backed_off() {
        assert!(std::time::Instant::now() < until, "no back-off recorded");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let throttled_at = registry.seen()[0].at;
    let second = start(dir.path(), &cache);
    for child in [first, second] {
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let seen = registry.seen();
    let tag_lists: Vec<_> = seen
        .iter()
        .filter(|s| s.uri.starts_with("/v2/shop/web/tags/list"))
        .collect();
    assert_eq!(tag_lists.len(), 3, "A, A again, B: {seen:?}");
    let during = tag_lists
        .iter()
        .filter(|s| {
            s.at > throttled_at && s.at.duration_since(throttled_at) < Duration::from_millis(1500)
        })
        .count();
    assert_eq!(during, 0, "nothing during the back-off: {seen:?}");
}

/// A 429 asking for more time than the render has: that render gives up, but the registry's wait still holds
/// for the renders after it (recorded in the shared bucket, capped at 5 minutes).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_past_the_deadline_still_holds_back_the_others() {
    use axum::Router;
    use axum::http::StatusCode;
    use axum::routing::get;

    let router = Router::new().route(
        "/v2/shop/web/tags/list",
        get(|| async {
            (
                StatusCode::TOO_MANY_REQUESTS,
                [("retry-after", "3600")],
                "later",
            )
        }),
    );
    let registry = MockServer::start(router).await;
    let dir = support::proxied::app_dir("limit.test", registry.url().as_str(), None);
    let cache = dir.path().join("cache");
    let output = tokio::task::spawn_blocking({
        let (dir, cache) = (dir.path().to_owned(), cache.clone());
        move || {
            support::proxied::generate(&dir, &cache)
                .env("IMAGE_RESOLVER_BUDGET", "5s")
                .spawn()
                .unwrap()
                .wait_with_output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    assert!(!output.status.success(), "no answer, no last tag: it fails");
    let now_micros = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_micros() as i64;
    let blocked: Vec<i64> = std::fs::read_dir(cache.join("rates"))
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read_to_string(e.path()).ok())
        .filter_map(|text| text.split_whitespace().nth(1)?.parse().ok())
        .collect();
    assert_eq!(blocked.len(), 1, "one bucket: {blocked:?}");
    let ahead = Duration::from_micros((blocked[0] - now_micros).max(0) as u64);
    assert!(
        ahead > Duration::from_secs(240) && ahead <= Duration::from_secs(300),
        "the back-off, capped at 5 minutes: {ahead:?}"
    );
}
