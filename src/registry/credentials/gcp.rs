//! OAuth2 access tokens from the GCP metadata server (GCE, and GKE Workload Identity), for Google's registries.
//!
//! Outside GCP nothing answers, so the first failed attempt is remembered and lookups fall through to anonymous
//! without waiting again until the retry interval has passed.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Deserialize;

use super::provider::{CredentialProvider, ProviderFuture};
use super::{Clock, Credential, CredentialError, ResolvedCredential, Secret, source};

/// The metadata server's link-local address. Google's Go client uses it rather than `metadata.google.internal`,
/// which is the same server but needs a DNS lookup that can hang outside GCP.
pub const DEFAULT_METADATA_HOST: &str = "169.254.169.254";

const TOKEN_PATH: &str = "/computeMetadata/v1/instance/service-accounts/default/token";

/// A token is given up this long before it expires (at most half its lifetime), so it never dies mid-request.
const TOKEN_MARGIN: Duration = Duration::from_secs(300);

/// `gcr.io`, `*.gcr.io` and Artifact Registry's `*-docker.pkg.dev`: the registries a metadata token is sent to.
fn is_gcp_registry(registry: &str) -> bool {
    registry == "gcr.io" || registry.ends_with(".gcr.io") || registry.ends_with("-docker.pkg.dev")
}

/// Timeouts and the retry interval for the metadata server.
pub(super) struct MetadataSettings {
    pub host: String,
    pub connect_timeout: Duration,
    pub timeout: Duration,
    pub retry_after: Duration,
}

/// The metadata-server provider with its token cache; one per credential store. Google's registries share one
/// token, so forgetting it for one forgets it for all.
pub(super) struct GcpMetadata {
    settings: MetadataSettings,
    state: Mutex<State>,
    /// Held across a fetch so concurrent lookups wait for one request instead of each sending their own.
    fetching: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct State {
    token: Option<(Secret, Instant)>,
    unavailable_until: Option<Instant>,
}

/// The token response. Holds the token, so it has no `Debug`.
#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    expires_in: u64,
}

impl GcpMetadata {
    pub(super) fn new(settings: MetadataSettings) -> GcpMetadata {
        GcpMetadata {
            settings,
            state: Mutex::new(State::default()),
            fetching: tokio::sync::Mutex::new(()),
        }
    }

    /// The token endpoint, shown as the credential's source.
    fn endpoint(&self) -> String {
        format!("http://{}{TOKEN_PATH}", self.settings.host)
    }

    /// A token and the instant to stop using it, or `None` when no metadata server gives one (remembered for the
    /// retry interval). Only an unusable metadata host setting is an error.
    async fn token(&self, clock: &dyn Clock) -> Result<Option<(Secret, Instant)>, CredentialError> {
        let _fetching = self.fetching.lock().await;
        let now = clock.now();
        {
            let state = self
                .state
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some((token, until)) = &state.token
                && now < *until
            {
                return Ok(Some((token.clone(), *until)));
            }
            if state.unavailable_until.is_some_and(|until| now < until) {
                return Ok(None);
            }
        }
        let fetched = self.fetch().await?;
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match fetched {
            Ok((token, lifetime)) => {
                // A lifetime past the clock's range is not believed: the token is not reused.
                let until = now
                    .checked_add(lifetime.saturating_sub(TOKEN_MARGIN.min(lifetime / 2)))
                    .unwrap_or(now);
                state.token = Some((token.clone(), until));
                state.unavailable_until = None;
                Ok(Some((token, until)))
            }
            Err(reason) => {
                tracing::info!(endpoint = %self.endpoint(), %reason, "no GCP metadata token; using anonymous access");
                state.unavailable_until = Some(now + self.settings.retry_after);
                Ok(None)
            }
        }
    }

    /// Drops the cached token (after the registry refused it); a remembered absence of the server stays.
    fn forget_token(&self) {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .token = None;
    }

    /// One request; the inner `Err` says why there is no token, for the log.
    async fn fetch(&self) -> Result<Result<(Secret, Duration), String>, CredentialError> {
        let url = url::Url::parse(&self.endpoint()).map_err(|_| CredentialError::MetadataHost {
            host: self.settings.host.clone(),
        })?;
        let client = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(self.settings.connect_timeout)
            .timeout(self.settings.timeout)
            .build()
            .map_err(|source| CredentialError::HttpClient { source })?;
        let response = match client
            .get(url)
            .header("Metadata-Flavor", "Google")
            .send()
            .await
        {
            Ok(response) => response,
            Err(e) => return Ok(Err(format!("no answer: {e}"))),
        };
        // Anything else listening there (another cloud's metadata service) is not Google's and gets no trust.
        let flavor = response
            .headers()
            .get("metadata-flavor")
            .and_then(|v| v.to_str().ok());
        if !flavor.is_some_and(|v| v.eq_ignore_ascii_case("google")) {
            return Ok(Err("the answer lacks 'Metadata-Flavor: Google'".to_string()));
        }
        let status = response.status();
        if !status.is_success() {
            return Ok(Err(format!("status {status}")));
        }
        let body = match response.bytes().await {
            Ok(body) => body,
            Err(e) => return Ok(Err(format!("reading the answer failed: {e}"))),
        };
        match serde_json::from_slice::<TokenResponse>(&body) {
            Ok(TokenResponse {
                access_token,
                expires_in,
            }) if !access_token.is_empty() => Ok(Ok((
                Secret::new(access_token),
                Duration::from_secs(expires_in),
            ))),
            _ => Ok(Err("the answer is not a token response".to_string())),
        }
    }
}

impl CredentialProvider for GcpMetadata {
    fn applies_to(&self, registry: &str) -> bool {
        is_gcp_registry(registry)
    }

    fn credential<'a>(&'a self, _registry: &'a str, clock: &'a dyn Clock) -> ProviderFuture<'a> {
        Box::pin(async move {
            let Some((token, until)) = self.token(clock).await? else {
                return Ok(None);
            };
            Ok(Some(ResolvedCredential {
                credential: Credential::Basic {
                    username: "oauth2accesstoken".to_string(),
                    password: token,
                },
                source: source("gcp-metadata", self.endpoint()),
                expires_at: Some(until),
            }))
        })
    }

    fn invalidate(&self, _registry: &str) {
        self.forget_token();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_google_registries() {
        let cases = [
            ("gcr", "gcr.io", true),
            ("regional gcr", "eu.gcr.io", true),
            ("artifact registry", "europe-docker.pkg.dev", true),
            (
                "artifact registry multi-part region",
                "us-central1-docker.pkg.dev",
                true,
            ),
            ("docker hub", "docker.io", false),
            ("lookalike", "gcr.io.example.com", false),
            ("suffix without dot", "notgcr.io", false),
            ("gcr with port", "gcr.io:443", false),
            ("other pkg.dev", "europe-maven.pkg.dev", false),
        ];
        for (name, registry, want) in cases {
            assert_eq!(is_gcp_registry(registry), want, "{name}");
        }
    }
}
