//! Limits: answer sizes, request rate and concurrency per registry.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use argocd_image_resolver::registry::{ClientOptions, Endpoint, RegistryClient};
use argocd_image_resolver::size::ByteSize;
use axum::Router;
use axum::extract::Query;
use axum::response::IntoResponse;
use axum::routing::get;

use crate::support::MockServer;
use crate::{Params, endpoint, options, page, with_link};

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
    // In-flight requests counted by the server, each held until a second one is in flight (a barrier of two, not a
    // sleep): so the cap of two is reached for certain, and a third request could only arrive while two are held.
    let in_flight = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let pair = Arc::new(tokio::sync::Barrier::new(2));
    let (now, max) = (in_flight.clone(), peak.clone());
    let router = Router::new().route(
        "/v2/team/app/manifests/{tag}",
        get(move || {
            let (now, max, pair) = (now.clone(), max.clone(), pair.clone());
            async move {
                let current = now.fetch_add(1, Ordering::SeqCst) + 1;
                max.fetch_max(current, Ordering::SeqCst);
                pair.wait().await;
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
    // Only a safety net against a hang (a client letting one request run at a time never completes a pair), not
    // a measure of speed.
    let all = async {
        while let Some(done) = set.join_next().await {
            done.unwrap().expect("digest");
        }
    };
    tokio::time::timeout(Duration::from_secs(120), all)
        .await
        .expect("requests ran two at a time");
    assert_eq!(
        peak.load(Ordering::SeqCst),
        2,
        "never more than two at once"
    );
    assert_eq!(client.stats().requests, 6);
}
