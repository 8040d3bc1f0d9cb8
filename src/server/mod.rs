//! The daemon's HTTP port: `GET /healthz`, `GET /readyz`, `GET /metrics` and `POST /webhook/{source}`, on axum.
//!
//! The server decides nothing: health is "the process answers", readiness is a flag the daemon sets
//! ([`ServerState::ready`]), metrics are [`Metrics::encode`]'s, and a webhook is checked (size, then the sender's
//! authentication, then its body, by the core's [`webhook`] parsers) and its [`ImageEvent`]s handed to the daemon
//! through a bounded channel. A webhook only says "look now": the daemon still asks the registry, and the policy
//! chooses the tag, so a forged but authenticated payload cannot choose an image.
//!
//! Every request has [`Limits::request_timeout`] to be answered (body read included: a slow sender cannot hold a
//! connection), and at most [`Limits::max_webhooks`] webhook requests are handled at once (more get 503 at once
//! rather than queueing); the probes and `/metrics` are not limited by webhooks, so a flood of webhooks does not
//! make the kubelet restart the pod.

mod webhooks;

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, mpsc};

use crate::metrics::{self, Metrics};
use argocd_image_resolver_core::webhook::{self, ImageEvent, Source, WebhookSecret};

/// Bounds on the work one request can cause.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Time to answer one request, reading its body included (408 after).
    pub request_timeout: Duration,
    /// Webhook requests handled at once; more are answered 503 straight away.
    pub max_webhooks: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            request_timeout: Duration::from_secs(10),
            max_webhooks: 64,
        }
    }
}

/// What the routes need. Cheap to clone (shared parts behind `Arc`s).
#[derive(Clone)]
pub struct ServerState {
    pub metrics: Arc<Metrics>,
    /// Set by the daemon once its loop runs (before its first pass: in the repo-server pod, a daemon not ready would
    /// take repo-server out of its Service); `/readyz` answers 503 until then, and again if the daemon clears it.
    pub ready: Arc<AtomicBool>,
    /// The webhook sources accepted, each with its secret: a source without one answers 404.
    pub webhooks: Arc<HashMap<Source, WebhookSecret>>,
    /// Where accepted webhooks' events go (to the daemon's triggers). Never waited on: a full queue answers 503.
    pub events: mpsc::Sender<ImageEvent>,
    pub limits: Limits,
}

impl std::fmt::Debug for ServerState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut sources: Vec<&str> = self.webhooks.keys().map(|s| s.as_str()).collect();
        sources.sort_unstable();
        f.debug_struct("ServerState")
            .field("ready", &self.ready.load(Ordering::Relaxed))
            .field("webhooks", &sources)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl ServerState {
    /// A state with no webhook source, not ready, default limits.
    pub fn new(metrics: Arc<Metrics>, events: mpsc::Sender<ImageEvent>) -> ServerState {
        ServerState {
            metrics,
            ready: Arc::new(AtomicBool::new(false)),
            webhooks: Arc::new(HashMap::new()),
            events,
            limits: Limits::default(),
        }
    }
}

/// Serves `state`'s routes on `listener` until `shutdown` completes, then lets requests in progress finish.
pub async fn serve(
    listener: TcpListener,
    state: ServerState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}

/// The routes, for [`serve`] or to mount elsewhere.
pub fn router(state: ServerState) -> Router {
    let timeout = state.limits.request_timeout;
    let webhook_slots = Arc::new(Semaphore::new(state.limits.max_webhooks.max(1)));
    let webhooks = Router::new()
        .route("/webhook/{source}", post(webhooks::receive))
        .layer(middleware::from_fn_with_state(webhook_slots, limit));
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
        .merge(webhooks)
        .with_state(state)
        .layer(middleware::from_fn_with_state(timeout, within))
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(state): State<ServerState>) -> Response {
    if state.ready.load(Ordering::Acquire) {
        (StatusCode::OK, "ready\n").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready\n").into_response()
    }
}

async fn metrics_text(State(state): State<ServerState>) -> Response {
    // Encoding folds the render log in: file reads, kept off the runtime's threads.
    let metrics = Arc::clone(&state.metrics);
    match tokio::task::spawn_blocking(move || metrics.encode()).await {
        Ok(text) => ([(header::CONTENT_TYPE, metrics::CONTENT_TYPE)], text).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "encoding the metrics failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// Answers 408 when the request is not answered within the timeout.
async fn within(State(timeout): State<Duration>, request: Request, next: Next) -> Response {
    match tokio::time::timeout(timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => (StatusCode::REQUEST_TIMEOUT, "request took too long\n").into_response(),
    }
}

/// Answers 503 when every webhook slot is taken.
async fn limit(State(slots): State<Arc<Semaphore>>, request: Request, next: Next) -> Response {
    match slots.try_acquire() {
        Ok(_slot) => next.run(request).await,
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "1")],
            "too many webhook requests at once\n",
        )
            .into_response(),
    }
}

/// The most a webhook body may hold, from the core's parsers.
pub const MAX_BODY: usize = webhook::MAX_BODY;
