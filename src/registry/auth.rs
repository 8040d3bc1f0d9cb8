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

use super::client::{Call, Inner, Op, Purpose, SendError, Spec};
use super::credentials::Credential;
use super::error::RegistryError;
use super::response::{Failure, FailureKind, Response};
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

/// A client's authentication state: the learned scheme and the token cache.
#[derive(Default)]
pub(crate) struct AuthState {
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

impl Inner {
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
        self.ensure_pinged(op).await?;
        let mut relearned = false;
        loop {
            let mut headers = HeaderMap::new();
            let accept = HeaderValue::from_str(accept).map_err(|_| RegistryError::Setup {
                registry: self.endpoint.registry.clone(),
                reason: format!("accept header '{accept}' is not a valid header value"),
            })?;
            headers.insert(ACCEPT, accept);
            let sent = self.authorization(op, scope).await?;
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
            match self.send(op, &spec).await {
                Ok(response) => return Ok(response),
                Err(SendError::Failure { failure, .. })
                    if failure.kind == FailureKind::Unauthorized && !relearned =>
                {
                    self.learn(op, &failure)?;
                    if let Some(sent) = &sent {
                        self.forget_token(scope, sent).await;
                    }
                    relearned = true;
                }
                Err(error) => return Err(self.fail(op, purpose, error)),
            }
        }
    }

    /// `GET /v2/` once per client when the endpoint asks for it, to learn the scheme before the first request.
    async fn ensure_pinged(&self, op: &Op) -> Result<(), RegistryError> {
        if !self.endpoint.ping {
            return Ok(());
        }
        self.auth
            .pinged
            .get_or_try_init(|| async {
                let spec = Spec {
                    method: Method::GET,
                    url: urls::ping_url(&self.endpoint.api_url),
                    headers: HeaderMap::new(),
                    form: None,
                    max_body: self.body_limit(MAX_TOKEN_BODY),
                };
                match self.send(op, &spec).await {
                    Ok(_) => {
                        let mut scheme = lock(&self.auth.scheme);
                        if matches!(*scheme, Scheme::Unknown) {
                            *scheme = Scheme::Anonymous;
                        }
                        Ok(())
                    }
                    Err(SendError::Failure { failure, .. })
                        if failure.kind == FailureKind::Unauthorized =>
                    {
                        self.learn(op, &failure)
                    }
                    Err(error) => Err(self.fail(op, Purpose::Ping, error)),
                }
            })
            .await
            .map(|_| ())
    }

    /// Records what a 401's challenges ask for; errors when nothing this client holds can answer them.
    fn learn(&self, op: &Op, failure: &Failure) -> Result<(), RegistryError> {
        let unauthorized = |hint| RegistryError::Unauthorized {
            target: op.target.clone(),
            failure: failure.to_string(),
            hint,
        };
        let challenges =
            failure
                .challenges
                .clone()
                .map_err(|e| RegistryError::InvalidResponse {
                    target: op.target.clone(),
                    url: failure.url.clone(),
                    reason: e.to_string(),
                })?;
        if let Some(bearer) = challenges.iter().find(|c| c.is("bearer")) {
            let realm = bearer
                .param("realm")
                .ok_or_else(|| RegistryError::InvalidResponse {
                    target: op.target.clone(),
                    url: failure.url.clone(),
                    reason: format!("bearer challenge '{bearer}' has no realm"),
                })?;
            let realm = urls::parse_realm(realm).map_err(|source| RegistryError::Url {
                target: op.target.clone(),
                source,
            })?;
            *lock(&self.auth.scheme) = Scheme::Bearer {
                realm,
                service: bearer.param("service").map(str::to_string),
            };
            return Ok(());
        }
        if challenges.iter().any(|c| c.is("basic")) {
            return match self.credential.as_ref().map(|c| &c.credential) {
                Some(Credential::Basic { .. }) => {
                    *lock(&self.auth.scheme) = Scheme::Basic;
                    Ok(())
                }
                Some(Credential::IdentityToken(_)) => Err(unauthorized(
                    "the registry asks for basic auth, but the credential is an identity token, which needs a bearer token server",
                )),
                None => Err(unauthorized(self.unauthorized_hint())),
            };
        }
        Err(unauthorized(
            "the registry sent no bearer or basic challenge this client can answer",
        ))
    }

    /// Drops the cached token of `scope` if it is the one the registry just refused; a token fetched meanwhile
    /// by a concurrent request (whose own anonymous attempt was refused) is kept.
    async fn forget_token(&self, scope: &str, refused: &HeaderValue) {
        let slot = lock(&self.auth.tokens).get(scope).cloned();
        if let Some(slot) = slot {
            let mut cached = slot.lock().await;
            if cached.as_ref().is_some_and(|t| t.header == *refused) {
                *cached = None;
            }
        }
    }

    /// The `Authorization` header the learned scheme needs for `scope`, fetching a token if needed.
    async fn authorization(
        &self,
        op: &Op,
        scope: &str,
    ) -> Result<Option<HeaderValue>, RegistryError> {
        let scheme = lock(&self.auth.scheme).clone();
        match scheme {
            Scheme::Unknown | Scheme::Anonymous => Ok(None),
            Scheme::Basic => Ok(self.basic_header()),
            Scheme::Bearer { realm, service } => self
                .bearer(op, &realm, service.as_deref(), scope)
                .await
                .map(Some),
        }
    }

    fn basic_header(&self) -> Option<HeaderValue> {
        let Some(Credential::Basic { username, password }) =
            self.credential.as_ref().map(|c| &c.credential)
        else {
            return None;
        };
        let encoded = base64::engine::general_purpose::STANDARD
            .encode(format!("{username}:{}", password.expose()));
        let mut value = HeaderValue::from_str(&format!("Basic {encoded}")).ok()?;
        value.set_sensitive(true);
        Some(value)
    }

    async fn bearer(
        &self,
        op: &Op,
        realm: &Url,
        service: Option<&str>,
        scope: &str,
    ) -> Result<HeaderValue, RegistryError> {
        let slot = lock(&self.auth.tokens)
            .entry(scope.to_string())
            .or_default()
            .clone();
        let mut cached = slot.lock().await;
        if let Some(token) = cached.as_ref().filter(|t| t.reuse_until > Instant::now()) {
            return Ok(token.header.clone());
        }
        let sent_at = Instant::now();
        let body = self.fetch_token(op, realm, service, scope).await?;
        let invalid = |reason: &str| RegistryError::InvalidResponse {
            target: op.target.clone(),
            url: redact(realm),
            reason: reason.to_string(),
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

    /// Asks the token server for a `scope` token: anonymous GET, GET with Basic credentials, or the OAuth2
    /// refresh-token POST for an identity token.
    async fn fetch_token(
        &self,
        op: &Op,
        realm: &Url,
        service: Option<&str>,
        scope: &str,
    ) -> Result<TokenBody, RegistryError> {
        let credential = self.credential.as_ref().map(|c| &c.credential);
        let refused = |failure: String, hint| RegistryError::TokenRefused {
            target: op.target.clone(),
            realm: redact(realm),
            failure,
            hint,
        };
        if credential.is_some()
            && realm.scheme() == "http"
            && self.endpoint.api_url.scheme() == "https"
        {
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
                    max_body: self.body_limit(MAX_TOKEN_BODY),
                }
            }
            _ => {
                if let Some(basic) = self.basic_header() {
                    headers.insert(AUTHORIZATION, basic);
                }
                let url = urls::token_url(realm.as_str(), service, scope).map_err(|source| {
                    RegistryError::Url {
                        target: op.target.clone(),
                        source,
                    }
                })?;
                Spec {
                    method: Method::GET,
                    url,
                    headers,
                    form: None,
                    max_body: self.body_limit(MAX_TOKEN_BODY),
                }
            }
        };
        self.count_token_request();
        let response = match self.send(op, &spec).await {
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
            Err(error) => return Err(self.fail(op, Purpose::Token, error)),
        };
        serde_json::from_slice(&response.body).map_err(|e| RegistryError::InvalidResponse {
            target: op.target.clone(),
            url: redact(realm),
            reason: format!("token response is not JSON: {e}"),
        })
    }
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
