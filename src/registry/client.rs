//! The registry client: one per registry, owning its connection pool, TLS trust, credential, limits and
//! statistics. Every HTTP exchange goes through `Inner::send` (limits, deadline, retries with backoff) and then
//! [`response::check`], the one place a status becomes a result.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use reqwest::header::HeaderMap;
use reqwest::{Method, redirect};
use tokio::time::Instant;
use url::Url;

use super::auth::AuthState;
use super::config::Endpoint;
use super::credentials::{CredentialSource, ResolvedCredential};
use super::error::{RegistryError, Target};
use super::limit::{DEFAULT_MAX_CONCURRENCY, Limits, RetryPolicy};
use super::response::{self, Failure, FailureKind, Response};
use super::urls::{self, redact};
use crate::size::ByteSize;

/// Tunables that are not part of a registry's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientOptions {
    /// Time allowed for one operation (`tags`, `digest`, `manifest`, `image_config`), retries and waits included.
    pub deadline: Duration,
    pub retry: RetryPolicy,
    /// Requests to this registry in flight at once.
    pub max_concurrency: usize,
    /// Tag-list pages followed before giving up with [`RegistryError::TooManyPages`].
    pub max_pages: u32,
    pub connect_timeout: Duration,
    pub user_agent: String,
    /// The largest response body read: a tag list (all its pages together), and at most this for manifests,
    /// config blobs and tokens, which have smaller fixed limits of their own. Operator option
    /// `--max-response-size`.
    pub max_response_size: ByteSize,
}

/// Default of [`ClientOptions::max_response_size`]: about a million tags of a dozen characters.
pub const DEFAULT_MAX_RESPONSE_SIZE: ByteSize = ByteSize(16 << 20);

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            deadline: Duration::from_secs(30),
            retry: RetryPolicy::default(),
            max_concurrency: DEFAULT_MAX_CONCURRENCY,
            max_pages: 1000,
            connect_timeout: Duration::from_secs(10),
            user_agent: concat!("argocd-image-resolver/", env!("CARGO_PKG_VERSION")).to_string(),
            max_response_size: DEFAULT_MAX_RESPONSE_SIZE,
        }
    }
}

/// What a client has cost so far (for `-o json` output and logs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stats {
    /// HTTP requests sent, retries and token requests included.
    pub requests: u64,
    /// Requests that were repeats after a 429, a 5xx or a connection error.
    pub retries: u64,
    pub token_requests: u64,
    /// Time spent in HTTP exchanges (overlapping requests each count).
    pub time: Duration,
}

#[derive(Debug, Default)]
struct Counters {
    requests: AtomicU64,
    retries: AtomicU64,
    token_requests: AtomicU64,
    nanos: AtomicU64,
}

/// A client for one registry. Cheap to clone; clones share connections, tokens, limits and statistics, so build
/// one per registry and share it.
#[derive(Clone)]
pub struct RegistryClient {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) endpoint: Endpoint,
    pub(crate) credential: Option<ResolvedCredential>,
    pub(crate) options: ClientOptions,
    http: reqwest::Client,
    limits: Limits,
    pub(crate) auth: AuthState,
    counters: Counters,
}

impl fmt::Debug for RegistryClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegistryClient")
            .field("registry", &self.inner.endpoint.registry)
            .field("api_url", &redact(&self.inner.endpoint.api_url))
            .field(
                "credential",
                &self.inner.credential.as_ref().map(|c| c.source.to_string()),
            )
            .finish()
    }
}

impl RegistryClient {
    /// Builds the client: TLS trust from the endpoint (`ca_file`/`ca_data` added to the system roots, or no
    /// verification when `insecure`), plain HTTP when `api_url` is `http://`. Fails only on unusable CA data.
    ///
    /// The credential is sent only to this registry and to the token server its challenge names.
    pub fn new(
        endpoint: Endpoint,
        credential: Option<ResolvedCredential>,
        options: ClientOptions,
    ) -> Result<Self, RegistryError> {
        let http = build_http(&endpoint, &options)?;
        let limits = Limits::new(options.max_concurrency, endpoint.limit);
        Ok(Self {
            inner: Arc::new(Inner {
                endpoint,
                credential,
                options,
                http,
                limits,
                auth: AuthState::default(),
                counters: Counters::default(),
            }),
        })
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.inner.endpoint
    }

    /// Where the credential came from, for `explain` output; `None` when anonymous.
    pub fn credential_source(&self) -> Option<&CredentialSource> {
        self.inner.credential.as_ref().map(|c| &c.source)
    }

    /// Whether the credential's source said it has expired: the caller should look it up again and build a new
    /// client.
    pub fn credential_expired(&self) -> bool {
        self.inner
            .credential
            .as_ref()
            .and_then(|c| c.expires_at)
            .is_some_and(|at| at <= std::time::Instant::now())
    }

    /// Requests made and time spent by this client and its clones so far.
    pub fn stats(&self) -> Stats {
        let c = &self.inner.counters;
        Stats {
            requests: c.requests.load(Ordering::Relaxed),
            retries: c.retries.load(Ordering::Relaxed),
            token_requests: c.token_requests.load(Ordering::Relaxed),
            time: Duration::from_nanos(c.nanos.load(Ordering::Relaxed)),
        }
    }
}

fn build_http(
    endpoint: &Endpoint,
    options: &ClientOptions,
) -> Result<reqwest::Client, RegistryError> {
    let setup = |reason: String| RegistryError::Setup {
        registry: endpoint.registry.clone(),
        reason,
    };
    // reqwest drops `Authorization` when a redirect leaves the origin (scheme, host or port), which is what blob
    // downloads redirected to storage need; tests/registry_mock.rs checks it.
    let mut builder = reqwest::Client::builder()
        .user_agent(options.user_agent.clone())
        .connect_timeout(options.connect_timeout)
        .redirect(redirect::Policy::limited(5));
    if endpoint.insecure {
        builder = builder.tls_danger_accept_invalid_certs(true);
    } else {
        let mut roots = Vec::new();
        if let Some(path) = &endpoint.ca_file {
            let pem = std::fs::read(path)
                .map_err(|e| setup(format!("cannot read CA file {}: {e}", path.display())))?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
                setup(format!(
                    "CA file {} is not a PEM bundle: {e}",
                    path.display()
                ))
            })?;
            if certs.is_empty() {
                return Err(setup(format!(
                    "CA file {} holds no PEM certificate",
                    path.display()
                )));
            }
            roots.extend(certs);
        }
        if let Some(data) = &endpoint.ca_data {
            let certs = reqwest::Certificate::from_pem_bundle(data.as_bytes())
                .map_err(|e| setup(format!("ca_data is not a PEM bundle: {e}")))?;
            if certs.is_empty() {
                return Err(setup("ca_data holds no PEM certificate".to_string()));
            }
            roots.extend(certs);
        }
        if !roots.is_empty() {
            builder = builder.tls_certs_merge(roots);
        }
    }
    builder.build().map_err(|e| setup(error_chain(&e)))
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

/// A request to the registry API itself, sent with whatever credential the registry's challenge asks for.
pub(crate) struct Call<'a> {
    pub(crate) method: Method,
    pub(crate) url: &'a Url,
    pub(crate) accept: &'a str,
    /// Token scope (`repository:<name>:pull`).
    pub(crate) scope: &'a str,
    pub(crate) purpose: Purpose<'a>,
    pub(crate) max_body: usize,
}

/// Why [`Inner::send`] gave up, before it is turned into a [`RegistryError`] with the operation's context.
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

impl Inner {
    pub(crate) fn op(&self, repository: &str, operation: &'static str) -> Op {
        let now = Instant::now();
        Op {
            target: Box::new(Target {
                registry: self.endpoint.registry.clone(),
                repository: repository.to_string(),
                credential: self.credential.as_ref().map(|c| c.source.clone()),
            }),
            operation,
            deadline: now + self.options.deadline,
            started: now,
            requests: AtomicU32::new(0),
        }
    }

    pub(crate) fn count_token_request(&self) {
        self.counters.token_requests.fetch_add(1, Ordering::Relaxed);
    }

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
            let (retry_after, described, error) = match outcome {
                Ok(response) => match response::check(response, SystemTime::now()) {
                    Ok(response) => return Ok(response),
                    Err(failure) if failure.retryable() => (
                        failure.retry_after,
                        failure.to_string(),
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
            if attempt >= self.options.retry.max_retries {
                return Err(error);
            }
            let delay = self
                .options
                .retry
                .delay(attempt, retry_after, fastrand::f64());
            // A Retry-After past the clock's range is past any deadline too.
            if Instant::now()
                .checked_add(delay)
                .is_none_or(|at| at >= op.deadline)
            {
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
            tokio::time::sleep(delay).await;
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
        let target = op.target.clone();
        match error {
            SendError::Failure { failure, attempts } => {
                let text = failure.to_string();
                match failure.kind {
                    FailureKind::Unauthorized => RegistryError::Unauthorized {
                        target,
                        failure: text,
                        hint: self.unauthorized_hint(),
                    },
                    FailureKind::Denied => RegistryError::Denied {
                        target,
                        failure: text,
                    },
                    FailureKind::NotFound => RegistryError::NotFound {
                        target,
                        what: purpose.what(),
                        failure: text,
                    },
                    FailureKind::RateLimited => RegistryError::RateLimited {
                        target,
                        failure: text,
                        attempts,
                    },
                    FailureKind::Server => RegistryError::Server {
                        target,
                        failure: text,
                        attempts,
                    },
                    FailureKind::Rejected => match purpose {
                        Purpose::TagPage { page_size }
                            if failure.has_code("TOO_MANY_TAGS_REQUESTED")
                                || failure.has_code("PAGINATION_NUMBER_INVALID") =>
                        {
                            RegistryError::PageSizeRejected {
                                target,
                                page_size,
                                failure: text,
                            }
                        }
                        _ => RegistryError::Rejected {
                            target,
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
            } => RegistryError::Connection {
                target,
                url,
                attempts,
                reason,
            },
            SendError::TooLarge { url, limit } => {
                let option = self.options.max_response_size;
                // A tag list's limit is what is left of the option after the earlier pages.
                let operator_limit =
                    matches!(purpose, Purpose::TagPage { .. }) || limit as u64 >= option.bytes();
                RegistryError::TooLarge {
                    target,
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
            } => RegistryError::RetryAfterPastDeadline {
                target,
                operation: op.operation,
                retry_after,
                deadline: self.options.deadline,
                failure,
            },
            SendError::Deadline { last } => RegistryError::Deadline {
                target,
                operation: op.operation,
                deadline: self.options.deadline,
                last,
            },
        }
    }

    /// The deadline error of `op`, for work past the HTTP exchanges (decoding a large answer).
    pub(crate) fn fail_deadline(&self, op: &Op) -> RegistryError {
        RegistryError::Deadline {
            target: op.target.clone(),
            operation: op.operation,
            deadline: self.options.deadline,
            last: None,
        }
    }

    /// A fixed body limit, never above the operator's `max_response_size`.
    pub(crate) fn body_limit(&self, fixed: usize) -> usize {
        fixed.min(self.options.max_response_size.as_usize())
    }

    pub(crate) fn unauthorized_hint(&self) -> &'static str {
        if self.credential.is_some() {
            "the registry rejected this credential: check that it is current and valid for this registry"
        } else {
            "anonymous access is not allowed: configure a credential for this registry"
        }
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
fn error_chain(error: &dyn std::error::Error) -> String {
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

/// Checks the caller's repository (and reference) before they go into a URL.
pub(crate) fn validate(
    op: &Op,
    repository: &str,
    reference: Option<&str>,
) -> Result<(), RegistryError> {
    let url_error = |source| RegistryError::Url {
        target: op.target.clone(),
        source,
    };
    urls::validate_repository(repository).map_err(url_error)?;
    if let Some(reference) = reference {
        urls::validate_reference(reference).map_err(url_error)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::credentials::{Credential, Secret};
    use std::path::PathBuf;

    fn endpoint() -> Endpoint {
        Endpoint::at("r.example", Url::parse("https://r.example").unwrap())
    }

    #[test]
    fn credential_expiry_follows_its_source() {
        let now = std::time::Instant::now();
        for (name, expires_at, want) in [
            ("no expiry", None, false),
            ("in the future", Some(now + Duration::from_secs(60)), false),
            ("in the past", now.checked_sub(Duration::from_secs(1)), true),
        ] {
            let credential = ResolvedCredential {
                credential: Credential::Basic {
                    username: "u".into(),
                    password: Secret::new("p"),
                },
                source: CredentialSource {
                    kind: "env",
                    name: "X".into(),
                },
                expires_at,
            };
            let client =
                RegistryClient::new(endpoint(), Some(credential), ClientOptions::default())
                    .unwrap();
            assert_eq!(client.credential_expired(), want, "{name}");
            assert_eq!(
                client
                    .credential_source()
                    .map(ToString::to_string)
                    .as_deref(),
                Some("env X"),
                "{name}"
            );
        }
        let anonymous = RegistryClient::new(endpoint(), None, ClientOptions::default()).unwrap();
        assert!(!anonymous.credential_expired());
        assert_eq!(anonymous.stats(), Stats::default());
        assert_eq!(
            format!("{anonymous:?}"),
            r#"RegistryClient { registry: "r.example", api_url: "https://r.example/", credential: None }"#
        );
    }

    #[test]
    fn unusable_ca_data_is_a_setup_error() {
        for (name, ca_file, ca_data, want) in [
            (
                "missing file",
                Some("/nonexistent/ca.pem"),
                None,
                "cannot set up a client for registry r.example: cannot read CA file /nonexistent/ca.pem: No such \
                 file or directory (os error 2)",
            ),
            (
                "data without certificates",
                None,
                Some("not a certificate"),
                "cannot set up a client for registry r.example: ca_data holds no PEM certificate",
            ),
        ] {
            let mut endpoint = endpoint();
            endpoint.ca_file = ca_file.map(PathBuf::from);
            endpoint.ca_data = ca_data.map(str::to_string);
            let error = RegistryClient::new(endpoint, None, ClientOptions::default()).unwrap_err();
            assert_eq!(error.to_string(), want, "{name}");
        }
        let mut insecure = endpoint();
        insecure.insecure = true;
        insecure.ca_data = Some("ignored when verification is off".into());
        assert!(
            RegistryClient::new(insecure, None, ClientOptions::default()).is_ok(),
            "insecure skips CA data"
        );
    }
}
