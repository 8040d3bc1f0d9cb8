//! The daemon's HTTP server on a random loopback port, driven by a real HTTP client (reqwest): health, the
//! readiness flag, `/metrics` as OpenMetrics text, and webhooks accepted or refused with the right status, each
//! counted, and events queued only for accepted ones. The webhook bodies are in each sender's documented format
//! (the core's parsers are tested against them in detail); here they only need to be good or bad.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use argocd_image_resolver::metrics::{Metrics, WebhookResult};
use argocd_image_resolver::server::{self, Limits, ServerState};
use argocd_image_resolver::webhook::{AuthMethod, ImageEvent, Source, WebhookSecret};
use tokio::sync::{mpsc, oneshot};

const SECRET: &str = "s3cret-of-sixteen-chars";

/// A CNCF distribution notification envelope with one manifest push (the registry's notifications document).
const DISTRIBUTION_PUSH: &str = r#"{"events": [{
  "id": "1", "timestamp": "2026-01-01T00:00:00Z", "action": "push",
  "target": {"mediaType": "application/vnd.oci.image.manifest.v1+json", "repository": "shop/web",
             "digest": "sha256:1111111111111111111111111111111111111111111111111111111111111111", "tag": "1.2.0"},
  "request": {"host": "registry.example.com"}
}]}"#;

/// A running server and what it was given.
struct Server {
    base: String,
    metrics: Arc<Metrics>,
    ready: Arc<std::sync::atomic::AtomicBool>,
    events: mpsc::Receiver<ImageEvent>,
    client: reqwest::Client,
    _stop: oneshot::Sender<()>,
}

async fn start(queue: usize) -> Server {
    start_with(queue, Duration::from_secs(5)).await
}

async fn start_with(queue: usize, request_timeout: Duration) -> Server {
    start_configured(
        queue,
        request_timeout,
        &[Source::Distribution, Source::GitHub],
    )
    .await
}

async fn start_configured(queue: usize, request_timeout: Duration, sources: &[Source]) -> Server {
    let metrics = Arc::new(Metrics::new());
    let (sender, events) = mpsc::channel(queue);
    let mut state = ServerState::new(Arc::clone(&metrics), sender);
    let secret = WebhookSecret::new(SECRET).unwrap();
    state.webhooks = Arc::new(
        sources
            .iter()
            .map(|source| (*source, secret.clone()))
            .collect::<HashMap<_, _>>(),
    );
    state.limits = Limits {
        request_timeout,
        max_webhooks: 8,
    };
    let ready = Arc::clone(&state.ready);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = oneshot::channel();
    tokio::spawn(server::serve(listener, state, async {
        let _ = stopped.await;
    }));
    Server {
        base,
        metrics,
        ready,
        events,
        client: reqwest::Client::new(),
        _stop: stop,
    }
}

impl Server {
    async fn get(&self, path: &str) -> (u16, String, String) {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (status, content_type, response.text().await.unwrap())
    }

    async fn webhook(&self, path: &str, headers: &[(&str, &str)], body: Vec<u8>) -> u16 {
        let mut request = self.client.post(format!("{}{path}", self.base)).body(body);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send().await.unwrap().status().as_u16()
    }

    fn count(&self, source: &str, result: WebhookResult) -> u64 {
        self.metrics.webhooks(source, result)
    }
}

/// The value of `series` in the OpenMetrics text, checking the lines around it are well formed.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

/// A minimal OpenMetrics reading: every line a `# TYPE`/`# HELP`/`# UNIT` comment or `name{labels} value`, every
/// sample's family declared by a `# TYPE` before it, `# EOF` last.
fn check_openmetrics(text: &str) {
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.last(), Some(&"# EOF"), "{text}");
    let mut families: Vec<String> = Vec::new();
    for line in &lines[..lines.len() - 1] {
        if let Some(rest) = line.strip_prefix("# ") {
            let mut words = rest.split(' ');
            let kind = words.next().unwrap();
            assert!(matches!(kind, "TYPE" | "HELP" | "UNIT"), "{line}");
            if kind == "TYPE" {
                families.push(words.next().unwrap().to_owned());
            }
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("{line}"));
        value
            .parse::<f64>()
            .unwrap_or_else(|_| panic!("value of {line}"));
        let name = series.split('{').next().unwrap();
        assert!(
            families.iter().any(|f| name.starts_with(f.as_str())),
            "{name} has no # TYPE before it"
        );
        if let Some(labels) = series.split_once('{').map(|(_, l)| l) {
            assert!(labels.ends_with('}'), "{line}");
        }
    }
}

#[tokio::test]
async fn health_and_readiness() {
    let server = start(8).await;
    assert_eq!(server.get("/healthz").await.0, 200);
    assert_eq!(server.get("/readyz").await.0, 503, "not ready at first");
    server.ready.store(true, Ordering::Release);
    assert_eq!(server.get("/readyz").await.0, 200);
    server.ready.store(false, Ordering::Release);
    assert_eq!(server.get("/readyz").await.0, 503, "and not ready again");
    assert_eq!(server.get("/nothing").await.0, 404);
}

#[tokio::test]
async fn metrics_are_openmetrics_text_and_show_events() {
    let server = start(8).await;
    let (status, content_type, text) = server.get("/metrics").await;
    assert_eq!(status, 200);
    assert_eq!(
        content_type,
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    check_openmetrics(&text);
    let accepted =
        r#"argocd_image_resolver_webhook_events_total{source="distribution",result="accepted"}"#;
    assert_eq!(sample(&text, accepted), None, "{text}");

    let status = server
        .webhook(
            "/webhook/distribution",
            &[("authorization", SECRET)],
            DISTRIBUTION_PUSH.into(),
        )
        .await;
    assert_eq!(status, 202);
    let text = server.get("/metrics").await.2;
    check_openmetrics(&text);
    assert_eq!(sample(&text, accepted), Some(1.0), "{text}");
}

#[tokio::test]
async fn webhooks_are_checked_counted_and_only_good_ones_queued() {
    let mut server = start(8).await;
    let good = server
        .webhook(
            "/webhook/distribution",
            &[("authorization", &format!("Bearer {SECRET}"))],
            DISTRIBUTION_PUSH.into(),
        )
        .await;
    assert_eq!(good, 202);
    let event = server.events.try_recv().expect("the push was queued");
    assert_eq!(event.repository, "shop/web");
    assert_eq!(event.tag.as_deref(), Some("1.2.0"));
    assert_eq!(event.registry.as_deref(), Some("registry.example.com"));

    let big = vec![b' '; server::MAX_BODY + 1];
    for (name, path, headers, body, status, source, result) in [
        (
            "wrong secret",
            "/webhook/distribution",
            vec![("authorization", "not-the-secret")],
            DISTRIBUTION_PUSH.as_bytes().to_vec(),
            401,
            "distribution",
            WebhookResult::Unauthenticated,
        ),
        (
            "no secret",
            "/webhook/distribution",
            vec![],
            DISTRIBUTION_PUSH.as_bytes().to_vec(),
            401,
            "distribution",
            WebhookResult::Unauthenticated,
        ),
        (
            "GitHub without a signature",
            "/webhook/github",
            vec![("x-github-event", "package")],
            b"{}".to_vec(),
            401,
            "github",
            WebhookResult::Unauthenticated,
        ),
        (
            "authenticated but not an envelope",
            "/webhook/distribution",
            vec![("authorization", SECRET)],
            br#"{"events": "push"}"#.to_vec(),
            400,
            "distribution",
            WebhookResult::Malformed,
        ),
        (
            "not JSON",
            "/webhook/distribution",
            vec![("authorization", SECRET)],
            b"<xml/>".to_vec(),
            400,
            "distribution",
            WebhookResult::Malformed,
        ),
        (
            "too large, even with the secret",
            "/webhook/distribution",
            vec![("authorization", SECRET)],
            big.clone(),
            413,
            "distribution",
            WebhookResult::TooLarge,
        ),
        (
            "a known source not configured",
            "/webhook/quay",
            vec![],
            b"{}".to_vec(),
            404,
            "quay",
            WebhookResult::UnknownSource,
        ),
        (
            "an unknown source",
            "/webhook/gitlab",
            vec![],
            b"{}".to_vec(),
            404,
            "unknown",
            WebhookResult::UnknownSource,
        ),
        (
            "a delete: nothing to do",
            "/webhook/distribution",
            vec![("authorization", SECRET)],
            DISTRIBUTION_PUSH
                .replace("\"push\"", "\"delete\"")
                .into_bytes(),
            202,
            "distribution",
            WebhookResult::Ignored,
        ),
    ] {
        let before = server.count(source, result);
        let got = server.webhook(path, &headers, body).await;
        assert_eq!(got, status, "{name}");
        assert_eq!(server.count(source, result), before + 1, "{name}: counted");
        assert!(server.events.try_recv().is_err(), "{name}: nothing queued");
    }
    assert_eq!(
        server.count("distribution", WebhookResult::Accepted),
        1,
        "only the good one"
    );
}

#[tokio::test]
async fn a_full_queue_answers_503_and_counts_it() {
    let mut server = start(1).await;
    async fn send(server: &Server) -> u16 {
        server
            .webhook(
                "/webhook/distribution",
                &[("authorization", SECRET)],
                DISTRIBUTION_PUSH.into(),
            )
            .await
    }
    assert_eq!(send(&server).await, 202);
    assert_eq!(
        send(&server).await,
        503,
        "the daemon has not taken the first yet"
    );
    assert_eq!(server.count("distribution", WebhookResult::QueueFull), 1);
    server.events.try_recv().unwrap();
    assert_eq!(send(&server).await, 202, "room again");
}

#[tokio::test]
async fn a_sender_that_stalls_is_cut_off() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = start_with(8, Duration::from_millis(300)).await;
    let address = server.base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    // Headers promising a body that never comes.
    stream
        .write_all(
            format!(
                "POST /webhook/distribution HTTP/1.1\r\nhost: {address}\r\nauthorization: {SECRET}\r\n\
                 content-length: 100\r\n\r\n{{"
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    let mut answer = vec![0; 64];
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut answer))
        .await
        .expect("answered before the test's own timeout")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer[..read]);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
}

/// GitHub's `X-Hub-Signature-256` of `body` under `secret` (GitHub Docs, "Validating webhook deliveries").
fn github_signature(secret: &str, body: &[u8]) -> String {
    use hmac::{KeyInit, Mac};
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256={hex}")
}

/// A request's credentials: headers, and a query string.
type Credentials = (Vec<(&'static str, String)>, &'static str);

/// Every sender, over HTTP, with a push in its documented format (the core's `webhook/testdata/`, whose module
/// documentation names each document) and its credentials the way that sender sends them: the right ones queue
/// the push, wrong ones (a signature of another body or secret, another token or header) are refused with 401,
/// counted, and queue nothing.
#[tokio::test]
async fn every_sender_is_accepted_with_its_credentials_and_refused_without() {
    let mut server = start_configured(16, Duration::from_secs(5), &Source::ALL).await;
    let testdata = |name: &str| {
        std::fs::read(format!(
            "{}/crates/core/src/webhook/testdata/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    };
    let bearer = format!("Bearer {SECRET}");
    for (source, fixture, extra, repository) in [
        (
            Source::Distribution,
            "distribution_push.json",
            vec![],
            "acme/web",
        ),
        (Source::DockerHub, "dockerhub_push.json", vec![], "acme/web"),
        (
            Source::GitHub,
            "github_package_published.json",
            vec![("x-github-event", "package")],
            "acme/web",
        ),
        (Source::Harbor, "harbor_push.json", vec![], "acme/web"),
        (Source::Quay, "quay_push.json", vec![], "acme/web"),
        (Source::Acr, "acr_push.json", vec![], "acme/web"),
        (Source::Alibaba, "alibaba_push.json", vec![], "acme/web"),
        (
            Source::CloudEvents,
            "cloudevents_ecr.json",
            vec![],
            "acme/web",
        ),
    ] {
        let body = testdata(fixture);
        let path = format!("/webhook/{}", source.as_str());
        // (credentials as headers, query string) good, then bad.
        let (good, bad): (Credentials, Credentials) = match source.auth_method() {
            AuthMethod::Signature => (
                (
                    vec![("x-hub-signature-256", github_signature(SECRET, &body))],
                    "",
                ),
                (
                    vec![(
                        "x-hub-signature-256",
                        github_signature("another-secret-of-16", &body),
                    )],
                    "",
                ),
            ),
            AuthMethod::AuthorizationHeader => (
                (vec![("authorization", bearer.clone())], ""),
                (
                    vec![("authorization", "Bearer not-the-secret".to_owned())],
                    "",
                ),
            ),
            AuthMethod::QueryToken => (
                (vec![], "?token=s3cret-of-sixteen-chars"),
                (vec![], "?token=not-the-secret"),
            ),
            AuthMethod::HeaderOrQueryToken => (
                (vec![("authorization", SECRET.to_owned())], ""),
                (vec![], "?token=not-the-secret"),
            ),
        };
        for ((credentials, query), want) in [(bad, 401), (good, 202)] {
            let mut headers: Vec<(&str, &str)> = extra.clone();
            headers.extend(credentials.iter().map(|(k, v)| (*k, v.as_str())));
            let result = if want == 202 {
                WebhookResult::Accepted
            } else {
                WebhookResult::Unauthenticated
            };
            let before = server.count(source.as_str(), result);
            let status = server
                .webhook(&format!("{path}{query}"), &headers, body.clone())
                .await;
            assert_eq!(status, want, "{source} {query} {headers:?}");
            assert_eq!(
                server.count(source.as_str(), result),
                before + 1,
                "{source}: counted as {result:?}"
            );
            if want == 202 {
                // One event per tag pushed (Quay's can name several).
                let events: Vec<ImageEvent> =
                    std::iter::from_fn(|| server.events.try_recv().ok()).collect();
                assert!(!events.is_empty(), "{source}: the push was queued");
                for event in events {
                    assert_eq!(event.repository, repository, "{source}");
                    assert!(
                        event.tag.is_some() || event.digest.is_some(),
                        "{source}: {event:?}"
                    );
                }
            } else {
                assert!(
                    server.events.try_recv().is_err(),
                    "{source}: nothing queued"
                );
            }
        }
    }
}
