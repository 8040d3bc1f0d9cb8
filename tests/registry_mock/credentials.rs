//! Credentials: never sent to another origin, replaced when rejected, named when the registry refuses.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use argocd_image_resolver::registry::RegistryClient;
use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use crate::support::MockServer;
use crate::support::push::{basic_header, sha256};
use crate::{client, creds, endpoint, options, page, with_link};

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
