//! In-process HTTP servers (axum) on random loopback ports, recording every request they see: for behaviour no
//! real component here shows (other registries' paging, faults, redirects), for the token server, and as a
//! recording proxy in front of a real registry ([`MockServer::proxy`]), which keeps no request log a test can read.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use tokio::sync::oneshot;
use url::Url;

/// A request as a mock server saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub method: String,
    /// Path and query.
    pub uri: String,
    pub authorization: Option<String>,
    /// When it arrived.
    pub at: std::time::Instant,
}

type Log = Arc<Mutex<Vec<Seen>>>;

/// A running axum server; stopped when dropped.
pub struct MockServer {
    pub addr: SocketAddr,
    log: Log,
    shutdown: Option<oneshot::Sender<()>>,
}

async fn record(State(log): State<Log>, request: Request, next: Next) -> Response {
    let authorization = request
        .headers()
        .get("authorization")
        .map(|v| v.to_str().unwrap_or("<binary>").to_string());
    let uri = request
        .uri()
        .path_and_query()
        .map_or_else(|| request.uri().path().to_string(), |pq| pq.to_string());
    log.lock().unwrap().push(Seen {
        method: request.method().to_string(),
        uri,
        authorization,
        at: std::time::Instant::now(),
    });
    next.run(request).await
}

impl MockServer {
    /// Serves `router` on `127.0.0.1:0` (a port the OS picks, so parallel tests never collide).
    pub async fn start(router: Router) -> MockServer {
        let log: Log = Arc::default();
        let app = router.layer(middleware::from_fn_with_state(log.clone(), record));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port");
        let addr = listener.local_addr().expect("local address");
        let (shutdown, stop) = oneshot::channel::<()>();
        tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stop.await;
                })
                .await
                .expect("mock server");
        });
        MockServer {
            addr,
            log,
            shutdown: Some(shutdown),
        }
    }

    /// Forwards every request to `upstream` (a real registry) and answers with its reply, recording each one:
    /// what the real registry was asked, in order.
    pub async fn proxy(upstream: Url) -> MockServer {
        let state = Arc::new((reqwest::Client::new(), upstream));
        MockServer::start(Router::new().fallback(forward).with_state(state)).await
    }

    /// `http://127.0.0.1:<port>/`.
    pub fn url(&self) -> Url {
        Url::parse(&format!("http://{}/", self.addr)).expect("mock URL")
    }

    /// `127.0.0.1:<port>`, as an image reference names the registry.
    pub fn registry(&self) -> String {
        self.addr.to_string()
    }

    /// Every request seen so far, in arrival order.
    pub fn seen(&self) -> Vec<Seen> {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// [`MockServer::proxy`]'s one handler: the request sent on to the upstream as it came (method, path and query,
/// the headers a registry client sends, body), its reply returned as it came.
async fn forward(
    State(upstream): State<Arc<(reqwest::Client, Url)>>,
    request: Request,
) -> Response {
    let (http, base) = &*upstream;
    let path = request
        .uri()
        .path_and_query()
        .map_or("/", |pq| pq.as_str())
        .to_string();
    let mut outgoing = http.request(request.method().clone(), base.join(&path).unwrap());
    for name in ["accept", "authorization", "content-type"] {
        if let Some(value) = request.headers().get(name) {
            outgoing = outgoing.header(name, value);
        }
    }
    let body = axum::body::to_bytes(request.into_body(), usize::MAX)
        .await
        .unwrap();
    let reply = outgoing
        .body(body)
        .send()
        .await
        .expect("registry reachable");
    let mut response = Response::builder().status(reply.status());
    for (name, value) in reply.headers() {
        if name != "content-length" && name != "transfer-encoding" {
            response = response.header(name, value);
        }
    }
    response
        .body(Body::from(reply.bytes().await.unwrap()))
        .unwrap()
}
