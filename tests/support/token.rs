//! A Docker-style token server for distribution's `auth: token` (the Docker Hub flow): `GET /token` with optional
//! Basic credentials, and the OAuth2 `POST /token` refresh-token grant. Tokens are RS256 JWTs whose header carries
//! the signing certificate in `x5c`; the registry trusts that certificate through `rootcertbundle`.
//! Users get the actions they ask for; anonymous callers get a token with no access, so the registry refuses them.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Form, Json, Router};
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;

use super::mock::MockServer;
use super::pki::SigningKey;

pub const SERVICE: &str = "test-registry";
pub const ISSUER: &str = "test-token-issuer";

/// What the token server was asked, for assertions (secrets left out).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRequest {
    pub method: String,
    /// The authenticated user, if any.
    pub user: Option<String>,
    pub scopes: Vec<String>,
    pub service: Option<String>,
    pub grant_type: Option<String>,
    pub client_id: Option<String>,
}

pub struct TokenState {
    key: EncodingKey,
    x5c: String,
    users: HashMap<String, String>,
    refresh_tokens: HashMap<String, String>,
    expires_in: u64,
    requests: Mutex<Vec<TokenRequest>>,
}

/// The running token server.
pub struct TokenServer {
    pub server: MockServer,
    pub cert_pem: PathBuf,
    state: Arc<TokenState>,
}

impl TokenServer {
    /// Starts with `users` (name, password) and `refresh_tokens` (token, user); tokens live `expires_in` seconds.
    pub async fn start(
        dir: &Path,
        users: &[(&str, &str)],
        refresh_tokens: &[(&str, &str)],
        expires_in: u64,
    ) -> Self {
        let signing = SigningKey::create(dir);
        let state = Arc::new(TokenState {
            key: EncodingKey::from_rsa_der(&signing.key_der),
            x5c: signing.cert_x5c,
            users: users
                .iter()
                .map(|(u, p)| (u.to_string(), p.to_string()))
                .collect(),
            refresh_tokens: refresh_tokens
                .iter()
                .map(|(t, u)| (t.to_string(), u.to_string()))
                .collect(),
            expires_in,
            requests: Mutex::default(),
        });
        let router = Router::new()
            .route("/token", get(get_token).post(post_token))
            .with_state(state.clone());
        TokenServer {
            server: MockServer::start(router).await,
            cert_pem: signing.cert_pem,
            state,
        }
    }

    /// The realm URL for the registry's `auth.token.realm`.
    pub fn realm(&self) -> String {
        format!("{}token", self.server.url())
    }

    /// The registry configuration's `auth:` section.
    pub fn registry_auth_yaml(&self) -> String {
        format!(
            "auth:\n  token:\n    realm: {}\n    service: {SERVICE}\n    issuer: {ISSUER}\n    rootcertbundle: {}\n",
            self.realm(),
            self.cert_pem.display()
        )
    }

    /// Every token request so far.
    pub fn requests(&self) -> Vec<TokenRequest> {
        self.state.requests.lock().unwrap().clone()
    }

    /// Mints tokens with pull and push on a repository for `user`, directly (for the test's own pushes).
    pub fn minter(&self, user: &str) -> Minter {
        let state = self.state.clone();
        let user = user.to_string();
        Arc::new(move |repository: &str| {
            state.mint(Some(&user), &[format!("repository:{repository}:pull,push")])
        })
    }
}

/// Makes a push token for a repository.
pub type Minter = Arc<dyn Fn(&str) -> String + Send + Sync>;

impl TokenState {
    fn mint(&self, user: Option<&str>, scopes: &[String]) -> String {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let access: Vec<serde_json::Value> = match user {
            None => Vec::new(),
            Some(_) => scopes
                .iter()
                .filter_map(|scope| {
                    let (kind, rest) = scope.split_once(':')?;
                    let (name, actions) = rest.rsplit_once(':')?;
                    Some(json!({"type": kind, "name": name, "actions": actions.split(',').collect::<Vec<_>>()}))
                })
                .collect(),
        };
        let claims = json!({
            "iss": ISSUER, "sub": user.unwrap_or(""), "aud": SERVICE,
            "exp": now + 600, "nbf": now - 10, "iat": now, "jti": format!("{now}-{}", fastrand::u64(..)),
            "access": access,
        });
        let mut header = Header::new(Algorithm::RS256);
        header.x5c = Some(vec![self.x5c.clone()]);
        jsonwebtoken::encode(&header, &claims, &self.key).expect("sign token")
    }

    /// The user of a valid Basic header, `None` without one; a wrong password is an error.
    fn basic_user(&self, headers: &HeaderMap) -> Result<Option<String>, &'static str> {
        let Some(value) = headers.get("authorization").and_then(|v| v.to_str().ok()) else {
            return Ok(None);
        };
        let decoded = value
            .strip_prefix("Basic ")
            .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
            .and_then(|b| String::from_utf8(b).ok());
        match decoded.as_deref().and_then(|d| d.split_once(':')) {
            Some((user, pass)) if self.users.get(user).is_some_and(|p| p == pass) => {
                Ok(Some(user.to_string()))
            }
            _ => Err("invalid username or password"),
        }
    }
}

fn denied(message: &str) -> Response {
    let body = json!({"errors": [{"code": "UNAUTHORIZED", "message": message}]});
    (StatusCode::UNAUTHORIZED, Json(body)).into_response()
}

async fn get_token(
    State(state): State<Arc<TokenState>>,
    Query(query): Query<Vec<(String, String)>>,
    headers: HeaderMap,
) -> Response {
    let user = match state.basic_user(&headers) {
        Ok(user) => user,
        Err(message) => return denied(message),
    };
    let scopes: Vec<String> = query
        .iter()
        .filter(|(k, _)| k == "scope")
        .map(|(_, v)| v.clone())
        .collect();
    let service = query
        .iter()
        .find(|(k, _)| k == "service")
        .map(|(_, v)| v.clone());
    state.requests.lock().unwrap().push(TokenRequest {
        method: "GET".into(),
        user: user.clone(),
        scopes: scopes.clone(),
        service,
        grant_type: None,
        client_id: None,
    });
    let token = state.mint(user.as_deref(), &scopes);
    Json(json!({"token": token, "access_token": token, "expires_in": state.expires_in}))
        .into_response()
}

async fn post_token(
    State(state): State<Arc<TokenState>>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let user = form
        .get("refresh_token")
        .filter(|_| form.get("grant_type").map(String::as_str) == Some("refresh_token"))
        .and_then(|t| state.refresh_tokens.get(t))
        .cloned();
    let scopes: Vec<String> = form
        .get("scope")
        .map(|s| s.split(' ').map(str::to_string).collect())
        .unwrap_or_default();
    state.requests.lock().unwrap().push(TokenRequest {
        method: "POST".into(),
        user: user.clone(),
        scopes: scopes.clone(),
        service: form.get("service").cloned(),
        grant_type: form.get("grant_type").cloned(),
        client_id: form.get("client_id").cloned(),
    });
    let Some(user) = user else {
        return denied("invalid refresh token");
    };
    let token = state.mint(Some(&user), &scopes);
    Json(json!({"access_token": token, "expires_in": state.expires_in, "scope": scopes.join(" ")}))
        .into_response()
}
