//! Other registries' tag-list paging: their `Link`s and tokens, capped and rejected page sizes.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use argocd_image_resolver::registry::{ClientOptions, RegistryClient};
use axum::Router;
use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use serde_json::json;

use crate::support::MockServer;
use crate::{Params, client, endpoint, names, options, page, uris, with_link};

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
