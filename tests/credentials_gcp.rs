//! GCP metadata-server tokens. The metadata server is an in-test axum server: no real component here can play
//! it (it exists only inside GCP), and its protocol is one GET.

mod credentials_support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use argocd_image_resolver::registry::credentials::{
    Clock as _, CredentialOptions, CredentialStore,
};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use credentials_support::{Sandbox, basic};

const TOKEN: &str = "ya29.s3cr3t-access-token";
const TOKEN_PATH: &str = "/computeMetadata/v1/instance/service-accounts/default/token";

#[derive(Clone, Copy)]
enum Reply {
    Token,
    /// Answers like something that is not Google's metadata server.
    NoFlavor,
    NotFound,
}

#[derive(Clone)]
struct Server {
    reply: Reply,
    /// The `Metadata-Flavor` header of each request received.
    flavors: Arc<Mutex<Vec<Option<String>>>>,
}

impl Server {
    fn hits(&self) -> usize {
        self.flavors.lock().unwrap().len()
    }
}

async fn token(State(server): State<Server>, headers: HeaderMap) -> impl IntoResponse {
    let flavor = headers
        .get("metadata-flavor")
        .map(|v| v.to_str().unwrap().to_string());
    server.flavors.lock().unwrap().push(flavor);
    let body = format!(r#"{{"access_token":"{TOKEN}","expires_in":3600,"token_type":"Bearer"}}"#);
    match server.reply {
        Reply::Token => (StatusCode::OK, [("metadata-flavor", "Google")], body).into_response(),
        Reply::NoFlavor => (StatusCode::OK, body).into_response(),
        Reply::NotFound => (
            StatusCode::NOT_FOUND,
            [("metadata-flavor", "Google")],
            "not found",
        )
            .into_response(),
    }
}

/// Starts the fake metadata server on a random loopback port; returns it and its `host:port`.
async fn start(reply: Reply) -> (Server, String) {
    let server = Server {
        reply,
        flavors: Arc::default(),
    };
    let app = axum::Router::new()
        .route(TOKEN_PATH, axum::routing::get(token))
        .with_state(server.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let host = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (server, host)
}

fn gcp_options(sandbox: &Sandbox, host: &str) -> CredentialOptions {
    CredentialOptions {
        gcp_metadata_host: Some(host.to_string()),
        ..sandbox.options(&[])
    }
}

#[tokio::test]
async fn token_is_fetched_with_the_flavor_header_and_cached_until_expiry() {
    let (server, host) = start(Reply::Token).await;
    let sandbox = Sandbox::new();
    let store = CredentialStore::new(gcp_options(&sandbox, &host));
    let start = sandbox.clock.now();

    let got = store.credential_for("gcr.io", None).await.unwrap().unwrap();
    assert_eq!(got.credential, basic("oauth2accesstoken", TOKEN));
    assert_eq!(
        (got.source.kind, got.source.name),
        ("gcp-metadata", format!("http://{host}{TOKEN_PATH}"))
    );
    // 3600 s lifetime minus the 300 s margin.
    assert_eq!(got.expires_at, Some(start + Duration::from_secs(3300)));
    assert!(
        !format!("{:?}", got.credential).contains(TOKEN),
        "Debug leaks the token"
    );
    assert_eq!(
        *server.flavors.lock().unwrap(),
        vec![Some("Google".to_string())]
    );

    let cases = [
        (
            "another Google registry shares the token",
            "europe-docker.pkg.dev",
            0,
            1,
        ),
        ("regional gcr after the discovery ttl", "eu.gcr.io", 301, 1),
        ("just before the token expiry", "gcr.io", 2998, 1),
        ("at the token expiry", "gcr.io", 1, 2),
    ];
    for (name, registry, advance, hits) in cases {
        sandbox.clock.advance(Duration::from_secs(advance));
        let got = store
            .credential_for(registry, None)
            .await
            .unwrap()
            .expect(name);
        assert_eq!(got.credential, basic("oauth2accesstoken", TOKEN), "{name}");
        assert_eq!(server.hits(), hits, "{name}");
    }
}

#[tokio::test]
async fn other_registries_never_ask_the_metadata_server() {
    let (server, host) = start(Reply::Token).await;
    let sandbox = Sandbox::new();
    let store = CredentialStore::new(gcp_options(&sandbox, &host));
    for registry in [
        "docker.io",
        "ghcr.io",
        "gcr.io.example.com",
        "europe-maven.pkg.dev",
    ] {
        assert!(
            store
                .credential_for(registry, None)
                .await
                .unwrap()
                .is_none(),
            "{registry}"
        );
    }
    assert_eq!(server.hits(), 0);
}

#[tokio::test]
async fn invalidate_fetches_a_new_token() {
    let (server, host) = start(Reply::Token).await;
    let sandbox = Sandbox::new();
    let store = CredentialStore::new(gcp_options(&sandbox, &host));
    store.credential_for("gcr.io", None).await.unwrap().unwrap();
    store.invalidate("gcr.io");
    store
        .credential_for("europe-docker.pkg.dev", None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(server.hits(), 2, "the shared token was dropped");
}

#[tokio::test]
async fn a_server_that_is_not_google_or_has_no_token_means_anonymous_for_a_while() {
    for (name, reply) in [
        ("no Metadata-Flavor in the answer", Reply::NoFlavor),
        ("404", Reply::NotFound),
    ] {
        let (server, host) = start(reply).await;
        let sandbox = Sandbox::new();
        let store = CredentialStore::new(CredentialOptions {
            metadata_retry_after: Duration::from_secs(600),
            ..gcp_options(&sandbox, &host)
        });
        assert!(
            store
                .credential_for("gcr.io", None)
                .await
                .unwrap()
                .is_none(),
            "{name}"
        );
        assert!(
            store
                .credential_for("europe-docker.pkg.dev", None)
                .await
                .unwrap()
                .is_none(),
            "{name}"
        );
        sandbox.clock.advance(Duration::from_secs(599));
        store.invalidate("gcr.io");
        assert!(
            store
                .credential_for("gcr.io", None)
                .await
                .unwrap()
                .is_none(),
            "{name}"
        );
        assert_eq!(server.hits(), 1, "{name}: absence remembered");
        sandbox.clock.advance(Duration::from_secs(1));
        store.invalidate("gcr.io");
        assert!(
            store
                .credential_for("gcr.io", None)
                .await
                .unwrap()
                .is_none(),
            "{name}"
        );
        assert_eq!(
            server.hits(),
            2,
            "{name}: asked again after the retry interval"
        );
    }
}

/// Outside GCP nothing answers the metadata host: lookups go anonymous (public images keep working), and the
/// absence is remembered, so later lookups for any Google registry do not try again. Remembering is shown by
/// counting connections, not by timing.
#[tokio::test]
async fn no_server_means_anonymous_and_is_remembered() {
    // A port nothing listens on: bound, then released.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .to_string();
    // A server that accepts connections, counts them and never answers.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_host = silent.local_addr().unwrap().to_string();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&accepted);
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            held.push(socket);
        }
    });
    for (name, host, counted) in [
        ("connection refused", closed, false),
        ("no answer", silent_host, true),
    ] {
        let sandbox = Sandbox::new();
        let store = CredentialStore::new(CredentialOptions {
            metadata_timeout: Duration::from_millis(300),
            ..gcp_options(&sandbox, &host)
        });
        for registry in ["gcr.io", "eu.gcr.io", "europe-docker.pkg.dev"] {
            let found = store.credential_for(registry, None).await.unwrap();
            assert!(found.is_none(), "{name}: {registry} goes anonymous");
        }
        if counted {
            assert_eq!(
                accepted.load(Ordering::SeqCst),
                1,
                "{name}: asked once, then remembered"
            );
        }
    }
}

#[tokio::test]
async fn a_bad_metadata_host_is_an_error() {
    let sandbox = Sandbox::new();
    let store = CredentialStore::new(gcp_options(&sandbox, "bad host"));
    let err = store.credential_for("gcr.io", None).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "GCP metadata host 'bad host' does not form a URL; set GCE_METADATA_HOST to host[:port]"
    );
}
