//! The registry client against in-process axum servers, for behaviour the real registry here (distribution 2.8,
//! which ignores `n`/`last`, sends no `Link`, never redirects and never fails on purpose) cannot show: other
//! registries' paging, faults, deadlines, limits and blob redirects. Each test says what it stands in for.

mod support;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use argocd_image_resolver::registry::{
    ClientOptions, Credential, CredentialSource, Endpoint, RegistryClient, ResolvedCredential,
    RetryPolicy, Secret,
};
use argocd_image_resolver::size::ByteSize;
use axum::Router;
use axum::extract::Query;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;
use support::MockServer;
use support::push::{basic_header, sha256};

type Params = Query<HashMap<String, String>>;

fn options() -> ClientOptions {
    ClientOptions {
        deadline: Duration::from_secs(10),
        retry: RetryPolicy {
            max_retries: 2,
            base: Duration::from_millis(10),
            max: Duration::from_millis(40),
        },
        ..ClientOptions::default()
    }
}

fn endpoint(server: &MockServer, page_size: u32) -> Endpoint {
    let mut endpoint = Endpoint::at(&server.registry(), server.url());
    endpoint.page_size = page_size;
    endpoint.limit = None;
    endpoint
}

fn client(server: &MockServer, page_size: u32) -> RegistryClient {
    RegistryClient::new(endpoint(server, page_size), None, options()).expect("client")
}

fn creds(user: &str, password: &str) -> ResolvedCredential {
    ResolvedCredential {
        credential: Credential::Basic {
            username: user.into(),
            password: Secret::new(password),
        },
        source: CredentialSource {
            kind: "env",
            name: "CREDS".into(),
        },
        expires_at: None,
    }
}

fn page(tags: &[String]) -> Response {
    axum::Json(json!({"name": "team/app", "tags": tags})).into_response()
}

fn with_link(link: String, response: Response) -> Response {
    let mut response = response;
    response.headers_mut().insert("link", link.parse().unwrap());
    response
}

fn names(prefix: &str, count: usize) -> Vec<String> {
    (0..count).map(|i| format!("{prefix}{i:03}")).collect()
}

fn uris(server: &MockServer) -> Vec<String> {
    server.seen().into_iter().map(|s| s.uri).collect()
}

#[tokio::test]
async fn quay_style_next_page_token() {
    // Quay caps n at 100 and pages with an opaque next_page token in a relative Link.
    let all = Arc::new(names("t", 250));
    let tags = all.clone();
    let router = Router::new().route(
        "/v2/team/app/tags/list",
        get(move |Query(q): Params| async move {
            let n = q
                .get("n")
                .and_then(|n| n.parse::<usize>().ok())
                .unwrap_or(50)
                .min(100);
            let start = q
                .get("next_page")
                .and_then(|t| t.strip_prefix("tok"))
                .map_or(0, |o| o.parse().unwrap());
            let end = (start + n).min(tags.len());
            let body = page(&tags[start..end]);
            if end < tags.len() {
                with_link(
                    format!("</v2/team/app/tags/list?n={n}&next_page=tok{end}>; rel=\"next\""),
                    body,
                )
            } else {
                body
            }
        }),
    );
    let server = MockServer::start(router).await;
    let list = client(&server, 1000).tags("team/app").await.expect("tags");
    assert_eq!(list.names(), *all);
    assert_eq!((list.pages, list.requests), (3, 3));
    assert_eq!(
        uris(&server),
        [
            "/v2/team/app/tags/list?n=1000",
            "/v2/team/app/tags/list?n=100&next_page=tok100",
            "/v2/team/app/tags/list?n=100&next_page=tok200"
        ]
    );
}

#[tokio::test]
async fn capped_pages_without_link_fall_back_to_last() {
    // A registry that caps n at 100 and sends no Link (older Quay): full pages are continued with ?last=.
    for (name, total, want_uris) in [
        (
            "250 tags",
            250,
            vec![
                "/v2/team/app/tags/list?n=100",
                "/v2/team/app/tags/list?n=100&last=t099",
                "/v2/team/app/tags/list?n=100&last=t199",
            ],
        ),
        (
            "exactly two pages ends with an empty page",
            200,
            vec![
                "/v2/team/app/tags/list?n=100",
                "/v2/team/app/tags/list?n=100&last=t099",
                "/v2/team/app/tags/list?n=100&last=t199",
            ],
        ),
        ("short first page", 7, vec!["/v2/team/app/tags/list?n=100"]),
    ] {
        let all = Arc::new(names("t", total));
        let tags = all.clone();
        let router = Router::new().route(
            "/v2/team/app/tags/list",
            get(move |Query(q): Params| async move {
                let n = q
                    .get("n")
                    .and_then(|n| n.parse::<usize>().ok())
                    .unwrap_or(50)
                    .min(100);
                let after: Vec<String> = match q.get("last") {
                    Some(last) => tags.iter().filter(|t| *t > last).cloned().collect(),
                    None => tags.to_vec(),
                };
                page(&after[..n.min(after.len())])
            }),
        );
        let server = MockServer::start(router).await;
        let list = client(&server, 100).tags("team/app").await.expect(name);
        assert_eq!(list.names(), *all, "{name}");
        assert_eq!(uris(&server), want_uris, "{name}");
    }
}

#[tokio::test]
async fn registry_ignoring_last_does_not_loop() {
    // A registry that sends exactly n tags and ignores last: the follow-up page brings nothing new, so listing stops.
    let router = Router::new().route(
        "/v2/team/app/tags/list",
        get(|| async { page(&names("t", 10)) }),
    );
    let server = MockServer::start(router).await;
    let list = client(&server, 10).tags("team/app").await.expect("tags");
    assert_eq!(list.names(), names("t", 10));
    assert_eq!(list.pages, 2);
}

#[tokio::test]
async fn acr_style_relative_link() {
    // ACR answers with a path-only Link carrying last, n and an empty orderby.
    let all = Arc::new(vec![
        "a".to_string(),
        "b".into(),
        "c".into(),
        "d".into(),
        "e".into(),
    ]);
    let tags = all.clone();
    let router = Router::new().route(
        "/v2/team/app/tags/list",
        get(move |Query(q): Params| async move {
            let n: usize = q.get("n").unwrap().parse().unwrap();
            let after: Vec<String> = tags
                .iter()
                .filter(|t| q.get("last").is_none_or(|l| *t > l))
                .cloned()
                .collect();
            let chunk = after[..n.min(after.len())].to_vec();
            match chunk.last() {
                Some(last) if after.len() > n => with_link(
                    format!("</v2/team/app/tags/list?last={last}&n={n}&orderby=>; rel=\"next\""),
                    page(&chunk),
                ),
                _ => page(&chunk),
            }
        }),
    );
    let server = MockServer::start(router).await;
    let list = client(&server, 2).tags("team/app").await.expect("tags");
    assert_eq!(list.names(), *all);
    assert_eq!(
        uris(&server),
        [
            "/v2/team/app/tags/list?n=2",
            "/v2/team/app/tags/list?last=b&n=2&orderby=",
            "/v2/team/app/tags/list?last=d&n=2&orderby="
        ]
    );
}

#[tokio::test]
async fn ghcr_style_oldest_first_with_duplicates() {
    // GHCR lists tags oldest first (not lexical) and pages with absolute same-origin links; a tag may repeat.
    let pages: Arc<Vec<Vec<String>>> = Arc::new(vec![
        vec!["v1.10.0".into(), "v1.2.0".into()],
        vec!["v1.2.0".into(), "latest".into(), "v0.1.0".into()],
    ]);
    let port = Arc::new(AtomicUsize::new(0));
    let (pages_in, port_in) = (pages.clone(), port.clone());
    let router = Router::new().route(
        "/v2/team/app/tags/list",
        get(move |Query(q): Params| async move {
            let index: usize = q.get("page").map_or(0, |p| p.parse().unwrap());
            let body = page(&pages_in[index]);
            if index + 1 < pages_in.len() {
                let origin = format!("http://127.0.0.1:{}", port_in.load(Ordering::SeqCst));
                with_link(
                    format!(
                        "<{origin}/v2/team/app/tags/list?n=2&page={}>; rel=\"next\"",
                        index + 1
                    ),
                    body,
                )
            } else {
                body
            }
        }),
    );
    let server = MockServer::start(router).await;
    port.store(usize::from(server.addr.port()), Ordering::SeqCst);
    let list = client(&server, 2).tags("team/app").await.expect("tags");
    assert_eq!(
        list.names(),
        ["v1.10.0", "v1.2.0", "latest", "v0.1.0"],
        "registry order kept, duplicate dropped"
    );
}

/// A registry that wants Basic auth: the 401 challenge to answer with, unless the right header was sent.
fn challenge_unless(headers: &HeaderMap, user: &str, password: &str) -> Option<Response> {
    if headers.get("authorization").and_then(|v| v.to_str().ok())
        == Some(basic_header(user, password).as_str())
    {
        return None;
    }
    let body = json!({"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]});
    Some(
        (
            StatusCode::UNAUTHORIZED,
            [("www-authenticate", "Basic realm=\"mock\"")],
            axum::Json(body),
        )
            .into_response(),
    )
}

#[tokio::test]
async fn cross_origin_link_is_refused_and_gets_no_credentials() {
    // A registry whose next link points at another origin: following it would hand the credential elsewhere.
    let other =
        MockServer::start(Router::new().fallback(|| async { page(&["stolen".to_string()]) })).await;
    let other_origin = format!("http://{}", other.addr);
    let link_target = format!("{other_origin}/v2/team/app/tags/list?last=b");
    let link = link_target.clone();
    let router = Router::new().route(
        "/v2/team/app/tags/list",
        get(move |headers: HeaderMap| async move {
            if let Some(challenge) = challenge_unless(&headers, "u", "p") {
                return challenge;
            }
            with_link(
                format!("<{link}>; rel=\"next\""),
                page(&["a".to_string(), "b".to_string()]),
            )
        }),
    );
    let server = MockServer::start(router).await;
    let client =
        RegistryClient::new(endpoint(&server, 2), Some(creds("u", "p")), options()).unwrap();
    let error = client.tags("team/app").await.unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "registry {}, repository team/app (credential: env CREDS): next page link '{link_target}' leaves \
             http://{}: refusing to follow it to another origin",
            server.registry(),
            server.addr
        )
    );
    assert!(
        other.seen().iter().all(|s| s.authorization.is_none()),
        "no credential at the other origin"
    );
    assert_eq!(
        other.seen(),
        [],
        "the other origin was not contacted at all"
    );
    let seen = server.seen();
    assert_eq!(seen.len(), 2, "challenge, then the authorized page");
    assert_eq!(
        seen[1].authorization.as_deref(),
        Some(basic_header("u", "p").as_str())
    );
}

#[tokio::test]
async fn retry_after_429_then_success() {
    // Docker Hub style rate limiting: 429 with Retry-After in seconds, then success.
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let router = Router::new().route(
        "/v2/team/app/tags/list",
        get(move || async move {
            if counter.fetch_add(1, Ordering::SeqCst) == 0 {
                let body = json!({"errors": [{"code": "TOOMANYREQUESTS", "message": "slow down"}]});
                return (
                    StatusCode::TOO_MANY_REQUESTS,
                    [("retry-after", "1")],
                    axum::Json(body),
                )
                    .into_response();
            }
            page(&["v1".to_string()])
        }),
    );
    let server = MockServer::start(router).await;
    let client = client(&server, 100);
    let started = Instant::now();
    let list = client.tags("team/app").await.expect("tags after retry");
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "waited as Retry-After asked: {:?}",
        started.elapsed()
    );
    assert_eq!(list.names(), ["v1"]);
    assert_eq!(list.requests, 2);
    let stats = client.stats();
    assert_eq!((stats.requests, stats.retries), (2, 1));
}

#[tokio::test]
async fn server_errors_are_retried_a_bounded_number_of_times() {
    // Transient 5xx: retried with backoff; a registry that keeps failing is reported after max_retries + 1 attempts.
    for (name, failures, status, want) in [
        ("500 twice then success", 2, 500, Ok(("v1".to_string(), 3))),
        (
            "503 forever",
            usize::MAX,
            503,
            Err("registry error after 3 attempts: HTTP 503 (UNAVAILABLE: try later)".to_string()),
        ),
    ] {
        let calls = Arc::new(AtomicUsize::new(0));
        let counter = calls.clone();
        let router = Router::new().route(
            "/v2/team/app/tags/list",
            get(move || async move {
                if counter.fetch_add(1, Ordering::SeqCst) < failures {
                    let body = json!({"errors": [{"code": "UNAVAILABLE", "message": "try later"}]});
                    return (StatusCode::from_u16(status).unwrap(), axum::Json(body))
                        .into_response();
                }
                page(&["v1".to_string()])
            }),
        );
        let server = MockServer::start(router).await;
        let got = client(&server, 100).tags("team/app").await;
        let prefix = format!(
            "registry {}, repository team/app (anonymous): ",
            server.registry()
        );
        let got = got
            .map(|l| (l.names().join(","), l.requests))
            .map_err(|e| e.to_string().replace(&prefix, ""));
        assert_eq!(got, want, "{name}");
    }
}

#[tokio::test]
async fn deadline_stops_slow_and_rate_limited_operations() {
    // A registry that hangs, and one that asks to come back after the deadline: both end at the deadline.
    let hang = Router::new().route(
        "/v2/team/app/tags/list",
        get(|| async {
            tokio::time::sleep(Duration::from_secs(30)).await;
            page(&[])
        }),
    );
    let later = Router::new().route(
        "/v2/team/app/tags/list",
        get(|| async {
            (StatusCode::TOO_MANY_REQUESTS, [("retry-after", "30")], "").into_response()
        }),
    );
    for (name, router, want) in [
        (
            "hanging server",
            hang,
            "tags/list did not finish within 300ms (the deadline)",
        ),
        (
            "retry-after beyond the deadline",
            later,
            "the registry asked to retry tags/list after 30s, past the deadline of 300ms: HTTP 429; try again later",
        ),
    ] {
        let server = MockServer::start(router).await;
        let short = ClientOptions {
            deadline: Duration::from_millis(300),
            ..options()
        };
        let client = RegistryClient::new(endpoint(&server, 100), None, short).unwrap();
        let started = Instant::now();
        let error = client.tags("team/app").await.unwrap_err();
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{name}: returned at the deadline"
        );
        assert_eq!(
            error.to_string(),
            format!(
                "registry {}, repository team/app (anonymous): {want}",
                server.registry()
            ),
            "{name}"
        );
    }
}

/// Regression, issue 9 item 11: `Retry-After: 3600` gave up at once (right) but said "did not finish within 10s",
/// as if the registry had been slow. RFC 9110 §10.2.3 (`Retry-After`, seconds or an HTTP date), sent by Docker Hub
/// and others with 429 and 503; distribution 2.8 never rate-limits, hence the in-test server.
#[tokio::test]
async fn retry_after_past_the_deadline_names_the_wait() {
    for (name, status, retry_after, want) in [
        (
            "429 for an hour",
            StatusCode::TOO_MANY_REQUESTS,
            "3600",
            "the registry asked to retry tags/list after 3600s, past the deadline of 10s: HTTP 429 \
             (TOOMANYREQUESTS: slow down); try again later",
        ),
        (
            "503 for an hour",
            StatusCode::SERVICE_UNAVAILABLE,
            "3600",
            "the registry asked to retry tags/list after 3600s, past the deadline of 10s: HTTP 503 \
             (TOOMANYREQUESTS: slow down); try again later",
        ),
    ] {
        let router = Router::new().route(
            "/v2/team/app/tags/list",
            get(move || async move {
                let body = json!({"errors": [{"code": "TOOMANYREQUESTS", "message": "slow down"}]});
                (status, [("retry-after", retry_after)], axum::Json(body)).into_response()
            }),
        );
        let server = MockServer::start(router).await;
        let client = client(&server, 100);
        let error = client.tags("team/app").await.unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "registry {}, repository team/app (anonymous): {want}",
                server.registry()
            ),
            "{name}"
        );
        assert_eq!(uris(&server).len(), 1, "{name}: gave up without waiting");
    }
}

/// A registry that answers every request on a connection with a chunked body that never ends (no
/// `Content-Length`, so only reading shows the size): `GET /v2/` gets `{}`, anything else `{"tags":["aaa…",…`
/// forever. HTTP/1.1 chunked transfer coding (RFC 9112 §7.1); axum here has no streaming body without a new
/// dependency, hence a raw socket.
async fn endless_tag_list() -> std::net::SocketAddr {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                loop {
                    while !head.ends_with(b"\r\n\r\n") {
                        if socket.read(&mut byte).await.unwrap_or(0) == 0 {
                            return;
                        }
                        head.push(byte[0]);
                    }
                    if head.starts_with(b"GET /v2/ ") {
                        let ok = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}";
                        if socket.write_all(ok.as_bytes()).await.is_err() {
                            return;
                        }
                        head.clear();
                        continue;
                    }
                    let start = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                                 transfer-encoding: chunked\r\n\r\n9\r\n{\"tags\":[\r\n";
                    if socket.write_all(start.as_bytes()).await.is_err() {
                        return;
                    }
                    let entry = format!("\"{}\",", "a".repeat(100));
                    let chunk = format!("{:x}\r\n{}\r\n", entry.len() * 100, entry.repeat(100));
                    while socket.write_all(chunk.as_bytes()).await.is_ok() {}
                    return;
                }
            });
        }
    });
    addr
}

/// Regression, issue 9 item 10: a 62 MB tag list was read whole (807 MB, 6.3 s past a 1 s budget). Every answer
/// is read no further than its limit: a tag list's is the operator's `max_response_size` for all its pages
/// together (paging must not multiply it), a manifest's a fixed 4 MiB (the size the OCI distribution spec asks
/// registries to accept). Distribution 2.8 neither pages nor streams without a length, hence the fakes.
#[tokio::test]
async fn answers_past_their_size_limit_stop_being_read() {
    let endless = endless_tag_list().await;
    let paged = MockServer::start(Router::new().route(
        "/v2/team/app/tags/list",
        get(|Query(q): Params| async move {
            // About 630 bytes a page (60 tags), and a next page forever: the second page passes 1Ki.
            let page_no: usize = q
                .get("last")
                .map_or(0, |l| l[1..4].parse::<usize>().unwrap() + 1);
            let tags: Vec<String> = (0..60).map(|i| format!("p{page_no:03}t{i:02}")).collect();
            let last = tags.last().unwrap().clone();
            with_link(
                format!("</v2/team/app/tags/list?last={last}&n=60>; rel=\"next\""),
                page(&tags),
            )
        }),
    ))
    .await;
    let huge = MockServer::start(Router::new().route(
        "/v2/team/app/manifests/v1",
        get(|| async { "x".repeat((4 << 20) + 1) }),
    ))
    .await;
    let endless_endpoint = Endpoint::at(
        &endless.to_string(),
        url::Url::parse(&format!("http://{endless}/")).unwrap(),
    );
    let limited = |endpoint: Endpoint, limit| {
        let options = ClientOptions {
            max_response_size: ByteSize(limit),
            ..options()
        };
        RegistryClient::new(
            Endpoint {
                limit: None,
                ..endpoint
            },
            None,
            options,
        )
        .unwrap()
    };
    let fix = "raise --max-response-size (IMAGE_RESOLVER_MAX_RESPONSE_SIZE) if the registry really sends that much";
    for (name, client, manifest, want) in [
        (
            "endless chunked tag list",
            limited(endless_endpoint, 64 << 10),
            false,
            format!(
                "registry {endless}, repository team/app (anonymous): the tag list from \
                 http://{endless}/v2/team/app/tags/list?n=1000 is larger than 64Ki; {fix}"
            ),
        ),
        (
            "pages adding up past the limit",
            limited(endpoint(&paged, 60), 1 << 10),
            false,
            format!(
                "registry {r}, repository team/app (anonymous): the tag list from \
                 http://{r}/v2/team/app/tags/list?last=p000t59&n=60 is larger than 1Ki; {fix}",
                r = paged.registry()
            ),
        ),
        (
            "manifest past 4 MiB",
            limited(endpoint(&huge, 100), 64 << 20),
            true,
            format!(
                "registry {r}, repository team/app (anonymous): the manifest from \
                 http://{r}/v2/team/app/manifests/v1 is larger than 4Mi, the fixed limit for a manifest",
                r = huge.registry()
            ),
        ),
        (
            "manifest past a smaller operator limit",
            limited(endpoint(&huge, 100), 1 << 20),
            true,
            format!(
                "registry {r}, repository team/app (anonymous): the manifest from \
                 http://{r}/v2/team/app/manifests/v1 is larger than 1Mi; {fix}",
                r = huge.registry()
            ),
        ),
    ] {
        let error = if manifest {
            client.manifest("team/app", "v1").await.unwrap_err()
        } else {
            client.tags("team/app").await.unwrap_err()
        };
        assert_eq!(error.to_string(), want, "{name}");
    }
}

#[tokio::test]
async fn blob_redirect_to_other_origin_drops_authorization() {
    // Registries redirect blob downloads to storage (S3, GCS, a CDN) on another origin, which must not get the
    // registry credential. distribution's filesystem storage never redirects.
    let config = br#"{"created":"2024-02-03T04:05:06Z","os":"linux","architecture":"amd64","config":{"Labels":{"a":"b"}}}"#;
    let config_digest = sha256(config);
    let storage = MockServer::start(
        Router::new().route("/blobs/config", get(move || async move { config.to_vec() })),
    )
    .await;
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config.len()},
        "layers": []
    }))
    .unwrap();
    let manifest_digest = sha256(&manifest);
    let storage_url = format!("http://{}/blobs/config", storage.addr);
    let router = Router::new()
        .route(
            "/v2/team/app/manifests/v1",
            get(move |headers: HeaderMap| async move {
                if let Some(challenge) = challenge_unless(&headers, "u", "p") {
                    return challenge;
                }
                (
                    [("content-type", "application/vnd.oci.image.manifest.v1+json")],
                    manifest,
                )
                    .into_response()
            }),
        )
        .route(
            &format!("/v2/team/app/blobs/{config_digest}"),
            get(move |headers: HeaderMap| async move {
                if let Some(challenge) = challenge_unless(&headers, "u", "p") {
                    return challenge;
                }
                (StatusCode::TEMPORARY_REDIRECT, [("location", storage_url)]).into_response()
            }),
        );
    let server = MockServer::start(router).await;
    let client =
        RegistryClient::new(endpoint(&server, 100), Some(creds("u", "p")), options()).unwrap();
    let image = client
        .image_config("team/app", "v1", &[])
        .await
        .expect("config through redirect");
    assert_eq!(image.digest, manifest_digest);
    assert_eq!(
        image.created.map(|c| c.to_rfc3339()).as_deref(),
        Some("2024-02-03T04:05:06+00:00")
    );
    assert_eq!(image.labels.get("a").map(String::as_str), Some("b"));
    let blob_requests: Vec<_> = server
        .seen()
        .into_iter()
        .filter(|s| s.uri.contains("/blobs/"))
        .collect();
    assert_eq!(blob_requests.len(), 1);
    assert_eq!(
        blob_requests[0].authorization.as_deref(),
        Some(basic_header("u", "p").as_str()),
        "registry got it"
    );
    let at_storage = storage.seen();
    assert_eq!(at_storage.len(), 1);
    assert_eq!(
        at_storage[0].authorization, None,
        "storage did not get the credential"
    );
}

#[tokio::test]
async fn rejected_page_size_falls_back_to_100() {
    // Registries that refuse large n with an error code instead of capping it.
    for (name, max_n, want) in [
        (
            "accepts 100",
            100,
            Ok(vec![
                "/v2/team/app/tags/list?n=1000",
                "/v2/team/app/tags/list?n=100",
            ]),
        ),
        (
            "refuses even 100",
            50,
            Err(
                "tag list page size n=100 was rejected: HTTP 400 (TOO_MANY_TAGS_REQUESTED: n is too large); set a \
                 smaller 'pagesize' for this registry",
            ),
        ),
    ] {
        let router = Router::new().route(
            "/v2/team/app/tags/list",
            get(move |Query(q): Params| async move {
                let n: usize = q.get("n").unwrap().parse().unwrap();
                if n > max_n {
                    let body = json!({"errors": [{"code": "TOO_MANY_TAGS_REQUESTED", "message": "n is too large"}]});
                    return (StatusCode::BAD_REQUEST, axum::Json(body)).into_response();
                }
                page(&["v1".to_string()])
            }),
        );
        let server = MockServer::start(router).await;
        let page_size = if max_n == 100 { 1000 } else { 100 };
        let got = client(&server, page_size).tags("team/app").await;
        let prefix = format!(
            "registry {}, repository team/app (anonymous): ",
            server.registry()
        );
        match want {
            Ok(want_uris) => {
                assert_eq!(got.expect(name).names(), ["v1"], "{name}");
                assert_eq!(uris(&server), want_uris, "{name}");
            }
            Err(message) => assert_eq!(
                got.unwrap_err().to_string(),
                format!("{prefix}{message}"),
                "{name}"
            ),
        }
    }
}

#[tokio::test]
async fn page_count_is_capped() {
    // A registry whose next links never end.
    let router = Router::new().route(
        "/v2/team/app/tags/list",
        get(|Query(q): Params| async move {
            let index: usize = q.get("page").map_or(0, |p| p.parse().unwrap());
            with_link(
                format!("</v2/team/app/tags/list?page={}>; rel=\"next\"", index + 1),
                page(&[format!("t{index}")]),
            )
        }),
    );
    let server = MockServer::start(router).await;
    let capped = ClientOptions {
        max_pages: 5,
        ..options()
    };
    let client = RegistryClient::new(endpoint(&server, 1), None, capped).unwrap();
    assert_eq!(
        client.tags("team/app").await.unwrap_err().to_string(),
        format!(
            "registry {}, repository team/app (anonymous): the tag list has more than 5 pages (max_pages); raise \
             the cap or use larger pages",
            server.registry()
        )
    );
    assert_eq!(server.seen().len(), 5);
}

#[tokio::test]
async fn rate_limit_spaces_requests() {
    // Six pages at limit 10/s: five waits of 100 ms after the first request.
    let router = Router::new().route(
        "/v2/team/app/tags/list",
        get(|Query(q): Params| async move {
            let index: usize = q.get("page").map_or(0, |p| p.parse().unwrap());
            let body = page(&[format!("t{index}")]);
            if index < 5 {
                with_link(
                    format!("</v2/team/app/tags/list?page={}>; rel=\"next\"", index + 1),
                    body,
                )
            } else {
                body
            }
        }),
    );
    let server = MockServer::start(router).await;
    let mut limited = endpoint(&server, 100);
    limited.limit = Some(10);
    let client = RegistryClient::new(limited, None, options()).unwrap();
    let started = Instant::now();
    let list = client.tags("team/app").await.expect("tags");
    assert_eq!(list.pages, 6);
    assert!(
        started.elapsed() >= Duration::from_millis(500),
        "spaced by the limit: {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn concurrency_is_capped_per_registry() {
    // In-flight requests counted by the server while each is held for 100 ms.
    let in_flight = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let (now, max) = (in_flight.clone(), peak.clone());
    let router = Router::new().route(
        "/v2/team/app/manifests/{tag}",
        get(move || {
            let (now, max) = (now.clone(), max.clone());
            async move {
                let current = now.fetch_add(1, Ordering::SeqCst) + 1;
                max.fetch_max(current, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(100)).await;
                now.fetch_sub(1, Ordering::SeqCst);
                [(
                    "docker-content-digest",
                    format!("sha256:{}", "a".repeat(64)),
                )]
                .into_response()
            }
        }),
    );
    let server = MockServer::start(router).await;
    let narrow = ClientOptions {
        max_concurrency: 2,
        ..options()
    };
    let client = RegistryClient::new(endpoint(&server, 100), None, narrow).unwrap();
    let mut set = tokio::task::JoinSet::new();
    for i in 0..6 {
        let client = client.clone();
        set.spawn(async move { client.digest("team/app", &format!("v{i}")).await });
    }
    while let Some(done) = set.join_next().await {
        done.unwrap().expect("digest");
    }
    assert_eq!(
        peak.load(Ordering::SeqCst),
        2,
        "never more than two at once"
    );
    assert_eq!(client.stats().requests, 6);
}

#[tokio::test]
async fn digest_without_header_hashes_the_body_and_lies_are_caught() {
    // Some registries (and proxies) send no Docker-Content-Digest; one that sends a wrong one must be caught.
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": format!("sha256:{}", "0".repeat(64)), "size": 2},
        "layers": []
    }))
    .unwrap();
    let digest = sha256(&manifest);
    let wrong = format!("sha256:{}", "f".repeat(64));
    let (plain, lying, wrong_header) = (manifest.clone(), manifest.clone(), wrong.clone());
    let router = Router::new()
        .route(
            "/v2/team/app/manifests/plain",
            get(move || async move { plain }),
        )
        .route(
            "/v2/team/app/manifests/lying",
            get(move || async move {
                ([("docker-content-digest", wrong_header)], lying).into_response()
            }),
        );
    let server = MockServer::start(router).await;
    let client = client(&server, 100);
    assert_eq!(
        client.digest("team/app", "plain").await.expect("digest"),
        digest
    );
    assert_eq!(
        server
            .seen()
            .iter()
            .map(|s| s.method.as_str())
            .collect::<Vec<_>>(),
        ["HEAD", "GET"],
        "HEAD first, GET only because the header was missing"
    );
    assert_eq!(
        client
            .manifest("team/app", "lying")
            .await
            .unwrap_err()
            .to_string(),
        format!(
            "registry {}, repository team/app (anonymous): content fetched as {wrong} hashes to {digest}",
            server.registry()
        )
    );
}

#[tokio::test]
async fn connection_errors_are_retried_then_reported() {
    // Nothing listens on the port: connection refused on every attempt.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let registry = format!("127.0.0.1:{port}");
    let endpoint = Endpoint::at(
        &registry,
        url::Url::parse(&format!("http://{registry}/")).unwrap(),
    );
    let client = RegistryClient::new(endpoint, None, options()).unwrap();
    let error = client.tags("team/app").await.unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "registry {registry}, repository team/app (anonymous): cannot reach http://{registry}/v2/team/app/tags/list?n=1000 \
             after 3 attempts: error sending request: client error (Connect): tcp connect error: Connection refused (os error 111)"
        )
    );
    assert_eq!(client.stats().retries, 2);
}

#[tokio::test]
async fn rejected_cached_token_is_replaced() {
    // A registry that rotates its token signing key: the cached token is refused with a 401 and a fresh one is
    // fetched, once. distribution's keys are fixed for its lifetime.
    let epoch = Arc::new(AtomicUsize::new(1));
    let minted = Arc::new(AtomicUsize::new(0));
    let (epoch_in, minted_in) = (epoch.clone(), minted.clone());
    let tokens = MockServer::start(Router::new().route(
        "/token",
        get(move || async move {
            let n = minted_in.fetch_add(1, Ordering::SeqCst) + 1;
            let token = format!("{}-{n}", epoch_in.load(Ordering::SeqCst));
            axum::Json(json!({"token": token, "expires_in": 300}))
        }),
    ))
    .await;
    let realm = format!("{}token", tokens.url());
    let epoch_in = epoch.clone();
    let router = Router::new().route(
        "/v2/team/app/tags/list",
        get(move |headers: HeaderMap| async move {
            let current = format!("Bearer {}-", epoch_in.load(Ordering::SeqCst));
            let sent = headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if sent.starts_with(&current) {
                return page(&["v1".to_string()]);
            }
            let challenge = format!("Bearer realm=\"{realm}\",service=\"mock\"");
            (StatusCode::UNAUTHORIZED, [("www-authenticate", challenge)]).into_response()
        }),
    );
    let server = MockServer::start(router).await;
    let client = client(&server, 100);
    assert_eq!(
        client
            .tags("team/app")
            .await
            .expect("first listing")
            .names(),
        ["v1"]
    );
    epoch.store(2, Ordering::SeqCst);
    assert_eq!(
        client
            .tags("team/app")
            .await
            .expect("after rotation")
            .names(),
        ["v1"]
    );
    let sent: Vec<Option<String>> = server.seen().into_iter().map(|s| s.authorization).collect();
    assert_eq!(
        sent,
        [
            None,
            Some("Bearer 1-1".into()),
            Some("Bearer 1-1".into()),
            Some("Bearer 2-2".into())
        ],
        "anonymous, first token, cached token refused, fresh token"
    );
    assert_eq!(tokens.seen().len(), 2);
}

#[tokio::test]
async fn status_errors_name_registry_repository_and_credential() {
    // Statuses distribution 2.8 does not produce for reads (403 from registries with per-repository permissions,
    // 400 from strict gateways), each mapped to a message that names the credential source, never the secret.
    for (name, status, body, want) in [
        (
            "forbidden",
            403,
            r#"{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}"#,
            "access denied: HTTP 403 (DENIED: requested access to the resource is denied); the credential lacks \
             pull permission on this repository",
        ),
        (
            "bad request with a plain-text body",
            400,
            "bad\n request",
            "request refused by {url}: HTTP 400 (bad request)",
        ),
    ] {
        let router =
            Router::new().route(
                "/v2/team/app/tags/list",
                get(move || async move {
                    (StatusCode::from_u16(status).unwrap(), body).into_response()
                }),
            );
        let server = MockServer::start(router).await;
        let client = RegistryClient::new(
            endpoint(&server, 100),
            Some(creds("u", "hunter2")),
            options(),
        )
        .unwrap();
        let url = format!("{}v2/team/app/tags/list?n=100", server.url());
        let error = client.tags("team/app").await.unwrap_err().to_string();
        assert_eq!(
            error,
            format!(
                "registry {}, repository team/app (credential: env CREDS): {}",
                server.registry(),
                want.replace("{url}", &url)
            ),
            "{name}"
        );
        assert!(
            !error.contains("hunter2"),
            "{name}: no secret in the message"
        );
    }
}
