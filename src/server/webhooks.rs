//! `POST /webhook/{source}`: one registry notification, checked in order — a configured source (else 404), a
//! body of at most [`super::MAX_BODY`] bytes (else 413), the sender's authentication (else 401), a body of that
//! sender's format (else 400) — and only then its events queued for the daemon (202; a full queue 503). Every
//! request is counted by source and result; a rejected one queues nothing.

use std::pin::Pin;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tokio::sync::mpsc::error::TrySendError;

use super::ServerState;
use crate::metrics::WebhookResult;
use argocd_image_resolver_core::webhook::{self, Source};

/// The source label of requests to a path naming no known source: a fixed value, so that requests to made-up
/// paths cannot grow the metric's series.
const UNKNOWN: &str = "unknown";

pub(super) async fn receive(
    State(state): State<ServerState>,
    Path(name): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let source = name.parse::<Source>().ok();
    let Some((source, secret)) =
        source.and_then(|source| Some((source, state.webhooks.get(&source)?)))
    else {
        let label = source.map_or(UNKNOWN, Source::as_str);
        state.metrics.webhook(label, WebhookResult::UnknownSource);
        return answer(
            StatusCode::NOT_FOUND,
            "no webhook is configured at this path",
        );
    };
    let label = source.as_str();
    let count = |result| state.metrics.webhook(label, result);
    let body = match read_limited(&headers, body).await {
        Ok(body) => body,
        Err(Read::TooLarge) => {
            count(WebhookResult::TooLarge);
            tracing::warn!(
                source = label,
                limit = super::MAX_BODY,
                "webhook refused: body too large"
            );
            return answer(StatusCode::PAYLOAD_TOO_LARGE, "the body is too large");
        }
        Err(Read::Failed(reason)) => {
            count(WebhookResult::Malformed);
            tracing::warn!(source = label, %reason, "webhook refused: body not read");
            return answer(StatusCode::BAD_REQUEST, "the body could not be read");
        }
    };
    // Names are lower case in `HeaderMap`, as the core expects; a value that is not text cannot be a secret or
    // an event header, so it is left out.
    let headers: Vec<(String, String)> = headers
        .iter()
        .filter_map(|(name, value)| {
            Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
        })
        .collect();
    let query = query.unwrap_or_default();
    if let Err(error) = webhook::authenticate(source, secret, &headers, &query, &body) {
        count(WebhookResult::Unauthenticated);
        tracing::warn!("webhook refused: {error}");
        return answer(StatusCode::UNAUTHORIZED, &error.to_string());
    }
    let events = match webhook::parse(source, &headers, &body) {
        Ok(events) => events,
        Err(error) => {
            count(WebhookResult::Malformed);
            tracing::warn!("webhook refused: {error}");
            return answer(StatusCode::BAD_REQUEST, &error.to_string());
        }
    };
    if events.is_empty() {
        count(WebhookResult::Ignored);
        tracing::debug!(source = label, "webhook without an image push");
        return answer(StatusCode::ACCEPTED, "nothing to do");
    }
    let total = events.len();
    for (sent, event) in events.into_iter().enumerate() {
        let repository = event.repository.clone();
        match state.events.try_send(event) {
            Ok(()) => {
                tracing::info!(source = label, repository, "webhook: look now");
            }
            Err(error) => {
                count(WebhookResult::QueueFull);
                let why = match error {
                    TrySendError::Full(_) => "the queue of events is full",
                    TrySendError::Closed(_) => "the daemon is stopping",
                };
                tracing::warn!(source = label, sent, total, "webhook not queued: {why}");
                // Events already queued stay: a repeat of one only makes the daemon look once more.
                return (
                    StatusCode::SERVICE_UNAVAILABLE,
                    [(header::RETRY_AFTER, "5")],
                    format!("{why}; try again\n"),
                )
                    .into_response();
            }
        }
    }
    count(WebhookResult::Accepted);
    answer(StatusCode::ACCEPTED, "accepted")
}

fn answer(status: StatusCode, text: &str) -> Response {
    (status, format!("{text}\n")).into_response()
}

enum Read {
    TooLarge,
    Failed(String),
}

/// The whole body, refused as soon as it is known to pass the limit: by its declared length before anything is
/// read, else when the bytes read pass it.
async fn read_limited(headers: &HeaderMap, mut body: Body) -> Result<Vec<u8>, Read> {
    let limit = super::MAX_BODY;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return Err(Read::TooLarge);
    }
    let mut bytes = Vec::with_capacity(declared.map_or(0, |d| usize::try_from(d).unwrap_or(0)));
    while let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
        let frame = frame.map_err(|e| Read::Failed(e.to_string()))?;
        if let Ok(data) = frame.into_data() {
            let data: Bytes = data;
            if bytes.len() + data.len() > limit {
                return Err(Read::TooLarge);
            }
            bytes.extend_from_slice(&data);
        }
    }
    Ok(bytes)
}
