//! The registry client against in-process axum servers, for behaviour the real registry here (distribution 2.8,
//! which ignores `n`/`last`, sends no `Link`, never redirects and never fails on purpose) cannot show: other
//! registries' paging, faults, deadlines, limits and blob redirects. Each test says what it stands in for.

mod credentials;
mod faults;
mod limits;
mod paging;
#[path = "../support/mod.rs"]
mod support;

use std::collections::HashMap;
use std::time::Duration;

use argocd_image_resolver::registry::{
    ClientOptions, Credential, CredentialSource, Endpoint, RegistryClient, ResolvedCredential,
    RetryPolicy, Secret,
};
use axum::extract::Query;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use support::MockServer;

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
