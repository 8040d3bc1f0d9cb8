//! Registry authentication: learns the scheme from `WWW-Authenticate` challenges (or the `/v2/` ping), fetches
//! bearer tokens (anonymous, Basic exchange, or OAuth2 refresh token) and reuses them per scope until shortly
//! before they expire, and sends Basic credentials only when the registry asks for Basic.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use reqwest::Method;
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderMap, HeaderValue};
use serde::Deserialize;
use tokio::time::Instant;
use url::Url;

use super::credentials::Credential;
use super::error::{RegistryError, RegistryErrorKind};
use super::response::{Failure, FailureKind};
use super::transport::{Op, Purpose, SendError, Spec, Transport};
use super::urls::{self, redact};

/// OAuth2 `client_id` sent with refresh-token exchanges.
pub const CLIENT_ID: &str = "argocd-image-resolver";

/// Token lifetime assumed when the token server does not say (the Docker token specification's default).
pub const DEFAULT_TOKEN_SECONDS: u64 = 60;

/// Largest token-server reply read.
const MAX_TOKEN_BODY: usize = 1 << 20;

/// How the registry wants to be authenticated, as learned so far.
#[derive(Clone, Default)]
enum Scheme {
    /// Nothing learned yet: send requests without credentials and learn from a 401.
    #[default]
    Unknown,
    /// The ping succeeded without credentials.
    Anonymous,
    Basic,
    Bearer {
        realm: Url,
        service: Option<String>,
    },
}

/// A bearer token ready to send. Not `Debug`: it is a secret (the header value is also marked sensitive).
struct CachedToken {
    header: HeaderValue,
    reuse_until: Instant,
}

/// One slot per scope, locked while a token is fetched so concurrent requests share one token request.
type TokenSlot = Arc<tokio::sync::Mutex<Option<CachedToken>>>;

/// What auth uses of its client for one request: the way to send, the registry's API URL and the credential.
pub(crate) struct Peer<'a> {
    pub(crate) transport: &'a Transport,
    pub(crate) api_url: &'a Url,
    pub(crate) credential: Option<&'a Credential>,
}

/// A client's authentication state: the learned scheme and the token cache.
#[derive(Default)]
pub(crate) struct Auth {
    scheme: Mutex<Scheme>,
    tokens: Mutex<HashMap<String, TokenSlot>>,
    pinged: tokio::sync::OnceCell<()>,
}

/// The token server's reply. Not `Debug`: it holds the token.
#[derive(Deserialize)]
struct TokenBody {
    token: Option<String>,
    access_token: Option<String>,
    expires_in: Option<u64>,
}

/// How long a token that lives `expires_in` seconds (default 60) is reused: its lifetime minus a margin of a
/// tenth, at least one and at most thirty seconds, so a token is never sent in its last moments.
pub fn token_reuse(expires_in: Option<u64>) -> Duration {
    let lifetime = Duration::from_secs(
        expires_in
            .filter(|s| *s > 0)
            .unwrap_or(DEFAULT_TOKEN_SECONDS),
    );
    let margin = (lifetime / 10).clamp(Duration::from_secs(1), Duration::from_secs(30));
    lifetime.saturating_sub(margin)
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Auth {
    /// `GET /v2/` once per client, to learn the scheme before the first request (for endpoints that ask for it).
    pub(crate) async fn ensure_pinged(
        &self,
        peer: &Peer<'_>,
        op: &Op,
    ) -> Result<(), RegistryError> {
        self.pinged
            .get_or_try_init(|| async {
                let spec = Spec {
                    method: Method::GET,
                    url: urls::ping_url(peer.api_url),
                    headers: HeaderMap::new(),
                    form: None,
                    max_body: peer.transport.body_limit(MAX_TOKEN_BODY),
                };
                match peer.transport.send(op, &spec).await {
                    Ok(_) => {
                        let mut scheme = lock(&self.scheme);
                        if matches!(*scheme, Scheme::Unknown) {
                            *scheme = Scheme::Anonymous;
                        }
                        Ok(())
                    }
                    Err(SendError::Failure { failure, .. })
                        if failure.kind == FailureKind::Unauthorized =>
                    {
                        self.learn(peer, op, &failure)
                    }
                    Err(error) => Err(peer.transport.fail(op, Purpose::Ping, error)),
                }
            })
            .await
            .map(|_| ())
    }

    /// Records what a 401's challenges ask for; errors when nothing this client holds can answer them.
    pub(crate) fn learn(
        &self,
        peer: &Peer<'_>,
        op: &Op,
        failure: &Failure,
    ) -> Result<(), RegistryError> {
        let error = |kind| RegistryError::new(op.target.clone(), kind);
        let unauthorized = |hint| {
            error(RegistryErrorKind::Unauthorized {
                failure: failure.to_string(),
                hint,
            })
        };
        let invalid = |reason| {
            error(RegistryErrorKind::InvalidResponse {
                url: failure.url.clone(),
                reason,
            })
        };
        let challenges = failure
            .challenges
            .clone()
            .map_err(|e| invalid(e.to_string()))?;
        if let Some(bearer) = challenges.iter().find(|c| c.is("bearer")) {
            let realm = bearer
                .param("realm")
                .ok_or_else(|| invalid(format!("bearer challenge '{bearer}' has no realm")))?;
            let realm = urls::parse_realm(realm)
                .map_err(|source| error(RegistryErrorKind::Url { source }))?;
            *lock(&self.scheme) = Scheme::Bearer {
                realm,
                service: bearer.param("service").map(str::to_string),
            };
            return Ok(());
        }
        if challenges.iter().any(|c| c.is("basic")) {
            return match peer.credential {
                Some(Credential::Basic { .. }) => {
                    *lock(&self.scheme) = Scheme::Basic;
                    Ok(())
                }
                Some(Credential::IdentityToken(_)) => Err(unauthorized(
                    "the registry asks for basic auth, but the credential is an identity token, which needs a bearer token server",
                )),
                None => Err(unauthorized(op.target.unauthorized_hint())),
            };
        }
        Err(unauthorized(
            "the registry sent no bearer or basic challenge this client can answer",
        ))
    }

    /// Drops the cached token of `scope` if it is the one the registry just refused; a token fetched meanwhile
    /// by a concurrent request (whose own anonymous attempt was refused) is kept.
    pub(crate) async fn forget_token(&self, scope: &str, refused: &HeaderValue) {
        let slot = lock(&self.tokens).get(scope).cloned();
        if let Some(slot) = slot {
            let mut cached = slot.lock().await;
            if cached.as_ref().is_some_and(|t| t.header == *refused) {
                *cached = None;
            }
        }
    }

    /// The `Authorization` header the learned scheme needs for `scope`, fetching a token if needed.
    pub(crate) async fn authorization(
        &self,
        peer: &Peer<'_>,
        op: &Op,
        scope: &str,
    ) -> Result<Option<HeaderValue>, RegistryError> {
        let scheme = lock(&self.scheme).clone();
        match scheme {
            Scheme::Unknown | Scheme::Anonymous => Ok(None),
            Scheme::Basic => Ok(basic_header(peer.credential)),
            Scheme::Bearer { realm, service } => self
                .bearer(peer, op, &realm, service.as_deref(), scope)
                .await
                .map(Some),
        }
    }

    async fn bearer(
        &self,
        peer: &Peer<'_>,
        op: &Op,
        realm: &Url,
        service: Option<&str>,
        scope: &str,
    ) -> Result<HeaderValue, RegistryError> {
        let slot = lock(&self.tokens)
            .entry(scope.to_string())
            .or_default()
            .clone();
        let mut cached = slot.lock().await;
        if let Some(token) = cached.as_ref().filter(|t| t.reuse_until > Instant::now()) {
            return Ok(token.header.clone());
        }
        let sent_at = Instant::now();
        let body = fetch_token(peer, op, realm, service, scope).await?;
        let invalid = |reason: &str| {
            RegistryError::new(
                op.target.clone(),
                RegistryErrorKind::InvalidResponse {
                    url: redact(realm),
                    reason: reason.to_string(),
                },
            )
        };
        let token = body
            .token
            .filter(|t| !t.is_empty())
            .or(body.access_token.filter(|t| !t.is_empty()))
            .ok_or_else(|| invalid("token response has neither 'token' nor 'access_token'"))?;
        let mut header = HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|_| invalid("token is not a valid header value"))?;
        header.set_sensitive(true);
        *cached = Some(CachedToken {
            header: header.clone(),
            // A lifetime past the clock's range (a hostile `expires_in`) is not reused at all.
            reuse_until: sent_at
                .checked_add(token_reuse(body.expires_in))
                .unwrap_or(sent_at),
        });
        Ok(header)
    }
}

/// Asks the token server for a `scope` token: anonymous GET, GET with Basic credentials, or the OAuth2
/// refresh-token POST for an identity token.
async fn fetch_token(
    peer: &Peer<'_>,
    op: &Op,
    realm: &Url,
    service: Option<&str>,
    scope: &str,
) -> Result<TokenBody, RegistryError> {
    let credential = peer.credential;
    let refused = |failure: String, hint| {
        RegistryError::new(
            op.target.clone(),
            RegistryErrorKind::TokenRefused {
                realm: redact(realm),
                failure,
                hint,
            },
        )
    };
    if credential.is_some() && realm.scheme() == "http" && peer.api_url.scheme() == "https" {
        return Err(refused(
            "the realm is plain http while the registry is https".to_string(),
            "the credential is not sent over plain http; fix the registry's token realm",
        ));
    }
    let mut headers = HeaderMap::new();
    headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
    let spec = match credential {
        Some(Credential::IdentityToken(refresh_token)) => {
            let mut form = vec![
                ("grant_type", "refresh_token".to_string()),
                ("refresh_token", refresh_token.expose().to_string()),
            ];
            if let Some(service) = service {
                form.push(("service", service.to_string()));
            }
            form.push(("scope", scope.to_string()));
            form.push(("client_id", CLIENT_ID.to_string()));
            Spec {
                method: Method::POST,
                url: realm.clone(),
                headers,
                form: Some(form),
                max_body: peer.transport.body_limit(MAX_TOKEN_BODY),
            }
        }
        _ => {
            if let Some(basic) = basic_header(credential) {
                headers.insert(AUTHORIZATION, basic);
            }
            let url = urls::token_url(realm.as_str(), service, scope).map_err(|source| {
                RegistryError::new(op.target.clone(), RegistryErrorKind::Url { source })
            })?;
            Spec {
                method: Method::GET,
                url,
                headers,
                form: None,
                max_body: peer.transport.body_limit(MAX_TOKEN_BODY),
            }
        }
    };
    peer.transport.count_token_request();
    let response = match peer.transport.send(op, &spec).await {
        Ok(response) => response,
        Err(SendError::Failure { failure, .. })
            if matches!(
                failure.kind,
                FailureKind::Unauthorized | FailureKind::Denied
            ) =>
        {
            let hint = if credential.is_some() {
                "the token server rejected this credential: check that it is current and valid for this registry"
            } else {
                "the token server requires a credential: configure one for this registry"
            };
            return Err(refused(failure.to_string(), hint));
        }
        Err(error) => return Err(peer.transport.fail(op, Purpose::Token, error)),
    };
    serde_json::from_slice(&response.body).map_err(|e| {
        RegistryError::new(
            op.target.clone(),
            RegistryErrorKind::InvalidResponse {
                url: redact(realm),
                reason: format!("token response is not JSON: {e}"),
            },
        )
    })
}

/// The `Authorization: Basic` header of a username/password credential; `None` for any other.
fn basic_header(credential: Option<&Credential>) -> Option<HeaderValue> {
    let Some(Credential::Basic { username, password }) = credential else {
        return None;
    };
    let encoded = base64::engine::general_purpose::STANDARD
        .encode(format!("{username}:{}", password.expose()));
    let mut value = HeaderValue::from_str(&format!("Basic {encoded}")).ok()?;
    value.set_sensitive(true);
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_reuse_leaves_a_margin() {
        for (name, expires_in, want) in [
            ("default is 60 s", None, 54),
            ("zero means default", Some(0), 54),
            ("short token keeps at least one second margin", Some(5), 4),
            ("five minutes", Some(300), 270),
            ("margin capped at 30 s", Some(3600), 3570),
            ("one second", Some(1), 0),
        ] {
            assert_eq!(token_reuse(expires_in), Duration::from_secs(want), "{name}");
        }
    }
}
