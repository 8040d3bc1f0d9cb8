//! Registry credentials: the values, where they came from, and (not yet) how they are looked up.
//!
//! Secret values are redacted by type: nothing here derives `Debug` over a password or a token, so a credential
//! can be logged or put in an error without leaking.

use std::fmt;
use std::time::Instant;

/// A secret string (password, token). Shown as `<redacted>` by `Debug` and `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself: call this only where it is sent to the registry it belongs to.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// What is presented to a registry (or its token server).
#[derive(Clone, PartialEq, Eq)]
pub enum Credential {
    /// User name and password (or access token used as a password, e.g. `oauth2accesstoken:<token>`).
    Basic { username: String, password: Secret },
    /// An OAuth2 refresh token (docker `config.json` `identitytoken`), exchanged with `grant_type=refresh_token`.
    IdentityToken(Secret),
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credential::Basic { username, .. } => f
                .debug_struct("Basic")
                .field("username", username)
                .field("password", &"<redacted>")
                .finish(),
            Credential::IdentityToken(_) => f.write_str("IdentityToken(<redacted>)"),
        }
    }
}

/// Where a credential came from: safe to show in logs, errors and `explain` output (never the secret).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CredentialSource {
    /// The kind of source: `env`, `ext`, `pull-secret`, `docker-config`, `credential-helper`, `gcp-metadata`.
    pub kind: &'static str,
    /// Which one: the variable, script, file path, helper name or endpoint (never a secret).
    pub name: String,
}

impl fmt::Display for CredentialSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind, self.name)
    }
}

/// A credential ready for one registry, with its origin and, when the source says so, its expiry.
#[derive(Clone, Debug)]
pub struct ResolvedCredential {
    pub credential: Credential,
    pub source: CredentialSource,
    /// After this instant the credential must be looked up again (e.g. a metadata-server token).
    pub expires_at: Option<Instant>,
}
