//! The registry client: one per registry, owning its connection pool, TLS trust, credential, limits and
//! statistics. Every HTTP exchange goes through `Transport::send` (limits, deadline, retries with backoff) and
//! then [`super::response::check`], the one place a status becomes a result; [`super::auth`] says which
//! credential a request carries.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderMap, HeaderValue};
use reqwest::{Method, redirect};
use tokio::time::Instant;
use url::Url;

use super::auth::{self, Auth};
use super::config::Endpoint;
use super::credentials::{CredentialSource, ResolvedCredential};
use super::error::{RegistryError, RegistryErrorKind, Target};
use super::limit::{DEFAULT_MAX_CONCURRENCY, Limits, ProcessRates, RetryPolicy, SharedRate};
use super::response::{FailureKind, Response};
use super::tls;
use super::transport::{Counters, Op, Purpose, SendError, Spec, Transport, error_chain};
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
    transport: Transport,
    auth: Auth,
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
        Self::with_rates(endpoint, credential, options, ProcessRates::global())
    }

    /// [`RegistryClient::new`], booking the registry's `limit` in `rates`.
    pub fn with_rates(
        endpoint: Endpoint,
        credential: Option<ResolvedCredential>,
        options: ClientOptions,
        rates: Arc<dyn SharedRate>,
    ) -> Result<Self, RegistryError> {
        let origin = endpoint.api_url.origin().ascii_serialization();
        let transport = Transport {
            http: build_http(&endpoint, &options)?,
            limits: Limits::new(options.max_concurrency, endpoint.limit, origin, rates),
            retry: options.retry.clone(),
            deadline: options.deadline,
            max_response_size: options.max_response_size,
            counters: Counters::default(),
        };
        Ok(Self {
            inner: Arc::new(Inner {
                endpoint,
                credential,
                options,
                transport,
                auth: Auth::default(),
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

    /// Whether both are handles of one client, sharing its connections, tokens, rate limit and statistics.
    pub fn same_client(&self, other: &RegistryClient) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// Requests made and time spent by this client and its clones so far.
    pub fn stats(&self) -> Stats {
        let c = &self.inner.transport.counters;
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
    let setup = |reason: String| RegistryError::setup(&endpoint.registry, reason);
    // reqwest drops `Authorization` when a redirect leaves the origin (scheme, host or port), which is what blob
    // downloads redirected to storage need; tests/registry_mock.rs checks it.
    let mut builder = reqwest::Client::builder()
        .user_agent(options.user_agent.clone())
        .connect_timeout(options.connect_timeout)
        .redirect(redirect::Policy::limited(5));
    if endpoint.insecure {
        builder = builder.tls_danger_accept_invalid_certs(true);
    } else {
        let config = tls::client_config(endpoint).map_err(setup)?;
        builder = builder.tls_backend_preconfigured(config);
    }
    builder.build().map_err(|e| setup(error_chain(&e)))
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

    /// A GET or HEAD on the registry with the credential the learned scheme needs; on a 401 it learns the
    /// challenge and tries once more, so the first request to a registry may be anonymous.
    pub(crate) async fn registry_request(
        &self,
        op: &Op,
        call: Call<'_>,
    ) -> Result<Response, RegistryError> {
        let Call {
            method,
            url,
            accept,
            scope,
            purpose,
            max_body,
        } = call;
        let peer = auth::Peer {
            transport: &self.transport,
            api_url: &self.endpoint.api_url,
            credential: self.credential.as_ref().map(|c| &c.credential),
        };
        if self.endpoint.ping {
            self.auth.ensure_pinged(&peer, op).await?;
        }
        let accept = HeaderValue::from_str(accept).map_err(|_| {
            RegistryError::setup(
                &self.endpoint.registry,
                format!("accept header '{accept}' is not a valid header value"),
            )
        })?;
        let mut relearned = false;
        loop {
            let mut headers = HeaderMap::new();
            headers.insert(ACCEPT, accept.clone());
            let sent = self.auth.authorization(&peer, op, scope).await?;
            if let Some(authorization) = &sent {
                headers.insert(AUTHORIZATION, authorization.clone());
            }
            let spec = Spec {
                method: method.clone(),
                url: url.clone(),
                headers,
                form: None,
                max_body,
            };
            match self.transport.send(op, &spec).await {
                Ok(response) => return Ok(response),
                Err(SendError::Failure { failure, .. })
                    if failure.kind == FailureKind::Unauthorized && !relearned =>
                {
                    self.auth.learn(&peer, op, &failure)?;
                    if let Some(sent) = &sent {
                        self.auth.forget_token(scope, sent).await;
                    }
                    relearned = true;
                }
                Err(error) => return Err(self.transport.fail(op, purpose, error)),
            }
        }
    }

    /// The deadline error of `op`, for work past the HTTP exchanges (decoding a large answer).
    pub(crate) fn fail_deadline(&self, op: &Op) -> RegistryError {
        self.transport.fail_deadline(op)
    }

    /// A fixed body limit, never above the operator's `max_response_size`.
    pub(crate) fn body_limit(&self, fixed: usize) -> usize {
        self.transport.body_limit(fixed)
    }
}

/// Checks the caller's repository (and reference) before they go into a URL.
pub(crate) fn validate(
    op: &Op,
    repository: &str,
    reference: Option<&str>,
) -> Result<(), RegistryError> {
    let url_error =
        |source| RegistryError::new(op.target.clone(), RegistryErrorKind::Url { source });
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
