//! One HTTP exchange with a registry or its token server, as every part of the client sends it: within the
//! registry's limits and the operation's deadline, retried with backoff, its body read up to a bound, and a
//! failure turned into the operation's [`RegistryError`]. Shared by the client and auth, which both send.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use reqwest::Method;
use reqwest::header::HeaderMap;
use tokio::time::Instant;
use url::Url;

use super::error::{RegistryError, RegistryErrorKind, Target};
use super::limit::{Limits, RetryPolicy};

/// The longest back-off a 429 imposes on the other renders when the one that got it gives up.
const MAX_SHARED_BACK_OFF: std::time::Duration = std::time::Duration::from_secs(300);
use super::response::{self, Failure, FailureKind, Response};
use super::urls::redact;
use crate::size::ByteSize;

/// What a client has sent so far; read by [`super::RegistryClient::stats`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) requests: AtomicU64,
    pub(crate) retries: AtomicU64,
    pub(crate) token_requests: AtomicU64,
    pub(crate) nanos: AtomicU64,
}

/// A client's HTTP side: its connection pool, limits, retry policy and counters.
pub(crate) struct Transport {
    pub(crate) http: reqwest::Client,
    pub(crate) limits: Limits,
    pub(crate) retry: RetryPolicy,
    /// Time allowed for one operation (named in deadline errors).
    pub(crate) deadline: Duration,
    /// The operator's `--max-response-size`.
    pub(crate) max_response_size: ByteSize,
    pub(crate) counters: Counters,
}

/// One operation in progress: its target for errors, its deadline and its request count.
pub(crate) struct Op {
    pub(crate) target: Box<Target>,
    pub(crate) operation: &'static str,
    pub(crate) deadline: Instant,
    pub(crate) started: Instant,
    pub(crate) requests: AtomicU32,
}

/// One HTTP request as the client sends it (possibly several times). Not `Debug`: the form may hold a secret.
pub(crate) struct Spec {
    pub(crate) method: Method,
    pub(crate) url: Url,
    pub(crate) headers: HeaderMap,
    pub(crate) form: Option<Vec<(&'static str, String)>>,
    pub(crate) max_body: usize,
}

/// Why [`Transport::send`] gave up, before it is turned into a [`RegistryError`] with the operation's context.
pub(crate) enum SendError {
    Failure {
        failure: Box<Failure>,
        attempts: u32,
    },
    Transport {
        url: String,
        reason: String,
        attempts: u32,
    },
    TooLarge {
        url: String,
        limit: usize,
    },
    Deadline {
        last: Option<String>,
    },
    /// The registry's `Retry-After` ends past the deadline: waiting would be futile, and the reason is the
    /// registry's, not slowness.
    RetryAfterPastDeadline {
        retry_after: Duration,
        failure: String,
    },
}

/// What a request was for: names the missing thing in a 404 and spots rejected page sizes.
#[derive(Clone, Copy)]
pub(crate) enum Purpose<'a> {
    Ping,
    TagPage { page_size: u32 },
    Manifest { reference: &'a str },
    Blob { digest: &'a str },
    Token,
}

/// Adds the elapsed time to the counters even when the exchange is cancelled by the deadline.
struct Timer<'a> {
    started: Instant,
    nanos: &'a AtomicU64,
}

impl Drop for Timer<'_> {
    fn drop(&mut self) {
        let nanos = u64::try_from(self.started.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.nanos.fetch_add(nanos, Ordering::Relaxed);
    }
}

/// One exchange for the process's metrics (the daemon's; none in the plugin commands), recorded when it ends,
/// however it ends: the deadline drops an exchange in progress, which is then counted without a status.
struct Observed {
    started: Option<(Instant, String)>,
    status: Option<u16>,
}

impl Observed {
    fn start(url: &Url) -> Observed {
        let host = || {
            let host = url.host_str().unwrap_or_default();
            match url.port() {
                Some(port) => format!("{host}:{port}"),
                None => host.to_owned(),
            }
        };
        Observed {
            started: crate::metrics::global().map(|_| (Instant::now(), host())),
            status: None,
        }
    }
}

impl Drop for Observed {
    fn drop(&mut self) {
        if let (Some((started, host)), Some(metrics)) =
            (self.started.take(), crate::metrics::global())
        {
            metrics.registry_request(&host, self.status, started.elapsed());
        }
    }
}

impl Transport {
    /// Sends `spec` until it succeeds, fails for good, runs out of retries or hits the operation's deadline.
    /// Retries 429, 408, 500/502/503/504 and connection errors with backoff, honouring `Retry-After`.
    pub(crate) async fn send(&self, op: &Op, spec: &Spec) -> Result<Response, SendError> {
        let mut attempt = 0u32;
        let mut last: Option<String> = None;
        loop {
            let outcome = match tokio::time::timeout_at(op.deadline, self.attempt(op, spec)).await {
                Ok(outcome) => outcome,
                Err(_) => return Err(SendError::Deadline { last }),
            };
            let attempts = attempt + 1;
            let mut throttled = false;
            let (retry_after, described, error) = match outcome {
                Ok(response) => match response::check(response, SystemTime::now()) {
                    Ok(response) => return Ok(response),
                    Err(failure) if failure.retryable() => (
                        failure.retry_after,
                        {
                            throttled = failure.kind == FailureKind::RateLimited;
                            failure.to_string()
                        },
                        SendError::Failure { failure, attempts },
                    ),
                    Err(failure) => return Err(SendError::Failure { failure, attempts }),
                },
                Err(Attempt::Transport { reason, retryable }) => {
                    let url = redact(&spec.url);
                    if !retryable {
                        return Err(SendError::Transport {
                            url,
                            reason,
                            attempts,
                        });
                    }
                    (
                        None,
                        reason.clone(),
                        SendError::Transport {
                            url,
                            reason,
                            attempts,
                        },
                    )
                }
                Err(Attempt::TooLarge) => {
                    return Err(SendError::TooLarge {
                        url: redact(&spec.url),
                        limit: spec.max_body,
                    });
                }
            };
            let delay = self.retry.delay(attempt, retry_after, fastrand::f64());
            let past_deadline = attempt >= self.retry.max_retries
                // A Retry-After past the clock's range is past any deadline too.
                || Instant::now()
                    .checked_add(delay)
                    .is_none_or(|at| at >= op.deadline);
            if throttled && past_deadline {
                // This render gives up, but the registry's "wait" still holds for every other one (within reason:
                // a registry asking for hours is not taken at its word for longer than the cap).
                self.limits.back_off(delay.min(MAX_SHARED_BACK_OFF)).await;
            }
            if attempt >= self.retry.max_retries {
                return Err(error);
            }
            if past_deadline {
                return Err(match retry_after {
                    Some(retry_after) => SendError::RetryAfterPastDeadline {
                        retry_after,
                        failure: described,
                    },
                    None => SendError::Deadline {
                        last: Some(described),
                    },
                });
            }
            tracing::debug!(url = %redact(&spec.url), attempt = attempts, ?delay, failure = %described, "retrying");
            self.counters.retries.fetch_add(1, Ordering::Relaxed);
            // Throttled: every request to this registry waits too (in every process sharing the rates), and this
            // one with them, when it books its next slot.
            if !(throttled && self.limits.back_off(delay).await) {
                tokio::time::sleep(delay).await;
            }
            attempt += 1;
            last = Some(described);
        }
    }

    /// One HTTP exchange within the registry's limits, with the whole body read (up to `max_body`).
    async fn attempt(&self, op: &Op, spec: &Spec) -> Result<Response, Attempt> {
        let _permit = self.limits.acquire().await;
        let _timer = Timer {
            started: Instant::now(),
            nanos: &self.counters.nanos,
        };
        let mut observed = Observed::start(&spec.url);
        self.counters.requests.fetch_add(1, Ordering::Relaxed);
        op.requests.fetch_add(1, Ordering::Relaxed);
        let mut request = self
            .http
            .request(spec.method.clone(), spec.url.clone())
            .headers(spec.headers.clone());
        if let Some(form) = &spec.form {
            request = request.form(form);
        }
        let mut response = request.send().await.map_err(Attempt::transport)?;
        // Read no further than the limit: a declared length past it fails before the body is read at all.
        if response
            .content_length()
            .is_some_and(|length| length > spec.max_body as u64)
        {
            return Err(Attempt::TooLarge);
        }
        let status = response.status();
        observed.status = Some(status.as_u16());
        let headers = response.headers().clone();
        let url = response.url().clone();
        // Room for a declared length at once: growing by doubling would briefly hold two copies of a large body.
        let declared = response.content_length().unwrap_or(0);
        let mut body = Vec::with_capacity(usize::try_from(declared).unwrap_or(0));
        while let Some(chunk) = response.chunk().await.map_err(Attempt::transport)? {
            if body.len() + chunk.len() > spec.max_body {
                return Err(Attempt::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        tracing::debug!(method = %spec.method, url = %redact(&spec.url), status = status.as_u16(), "registry request");
        Ok(Response {
            status,
            headers,
            body,
            url,
        })
    }

    /// Turns a [`SendError`] into the operation's [`RegistryError`].
    pub(crate) fn fail(&self, op: &Op, purpose: Purpose<'_>, error: SendError) -> RegistryError {
        let kind = match error {
            SendError::Failure { failure, attempts } => {
                let text = failure.to_string();
                match failure.kind {
                    FailureKind::Unauthorized => RegistryErrorKind::Unauthorized {
                        failure: text,
                        hint: op.target.unauthorized_hint(),
                    },
                    FailureKind::Denied => RegistryErrorKind::Denied { failure: text },
                    FailureKind::NotFound => match purpose {
                        Purpose::Manifest { reference } => RegistryErrorKind::ManifestNotFound {
                            reference: reference.to_string(),
                            failure: text,
                        },
                        _ => RegistryErrorKind::NotFound {
                            what: purpose.what(),
                            failure: text,
                        },
                    },
                    FailureKind::RateLimited => RegistryErrorKind::RateLimited {
                        failure: text,
                        attempts,
                    },
                    FailureKind::Server => RegistryErrorKind::Server {
                        failure: text,
                        attempts,
                    },
                    FailureKind::Rejected => match purpose {
                        Purpose::TagPage { page_size }
                            if failure.has_code("TOO_MANY_TAGS_REQUESTED")
                                || failure.has_code("PAGINATION_NUMBER_INVALID") =>
                        {
                            RegistryErrorKind::PageSizeRejected {
                                page_size,
                                failure: text,
                            }
                        }
                        _ => RegistryErrorKind::Rejected {
                            url: failure.url.clone(),
                            failure: text,
                        },
                    },
                }
            }
            SendError::Transport {
                url,
                reason,
                attempts,
            } => RegistryErrorKind::Connection {
                url,
                attempts,
                reason,
            },
            SendError::TooLarge { url, limit } => {
                let option = self.max_response_size;
                // A tag list's limit is what is left of the option after the earlier pages.
                let operator_limit =
                    matches!(purpose, Purpose::TagPage { .. }) || limit as u64 >= option.bytes();
                RegistryErrorKind::TooLarge {
                    what: purpose.body(),
                    url,
                    limit: if operator_limit {
                        option
                    } else {
                        ByteSize(limit as u64)
                    },
                    operator_limit,
                }
            }
            SendError::RetryAfterPastDeadline {
                retry_after,
                failure,
            } => RegistryErrorKind::RetryAfterPastDeadline {
                operation: op.operation,
                retry_after,
                deadline: self.deadline,
                failure,
            },
            SendError::Deadline { last } => RegistryErrorKind::Deadline {
                operation: op.operation,
                deadline: self.deadline,
                last,
            },
        };
        RegistryError::new(op.target.clone(), kind)
    }

    /// The deadline error of `op`, for work past the HTTP exchanges (decoding a large answer).
    pub(crate) fn fail_deadline(&self, op: &Op) -> RegistryError {
        RegistryError::new(
            op.target.clone(),
            RegistryErrorKind::Deadline {
                operation: op.operation,
                deadline: self.deadline,
                last: None,
            },
        )
    }

    /// A fixed body limit, never above the operator's `max_response_size`.
    pub(crate) fn body_limit(&self, fixed: usize) -> usize {
        fixed.min(self.max_response_size.as_usize())
    }

    pub(crate) fn count_token_request(&self) {
        self.counters.token_requests.fetch_add(1, Ordering::Relaxed);
    }
}

impl Purpose<'_> {
    /// What the response body is, for a size error.
    fn body(&self) -> &'static str {
        match self {
            Purpose::Ping => "registry API answer",
            Purpose::TagPage { .. } => "tag list",
            Purpose::Manifest { .. } => "manifest",
            Purpose::Blob { .. } => "blob",
            Purpose::Token => "token answer",
        }
    }

    fn what(&self) -> String {
        match self {
            Purpose::Ping => "registry API (/v2/)".to_string(),
            Purpose::TagPage { .. } => "repository".to_string(),
            Purpose::Manifest { reference } => format!("manifest '{reference}'"),
            Purpose::Blob { digest } => format!("blob {digest}"),
            Purpose::Token => "token endpoint".to_string(),
        }
    }
}

enum Attempt {
    Transport { reason: String, retryable: bool },
    TooLarge,
}

impl Attempt {
    fn transport(error: reqwest::Error) -> Attempt {
        let transient =
            error.is_connect() || error.is_timeout() || error.is_request() || error.is_body();
        let reason = error_chain(&error.without_url());
        // An untrusted certificate will not become trusted by retrying (rustls reports "invalid peer
        // certificate"); everything else at the connection level may be transient.
        let certificate = reason.to_ascii_lowercase().contains("certificate");
        Attempt::Transport {
            reason,
            retryable: transient && !certificate,
        }
    }
}

/// An error and its sources joined by `: `, skipping repeats (hyper and reqwest often repeat each other).
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut parts: Vec<String> = vec![error.to_string()];
    let mut source = error.source();
    while let Some(inner) = source {
        let text = inner.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = inner.source();
    }
    parts.join(": ")
}
