//! Registry credentials: the values, where they came from, and how [`CredentialStore`] looks them up per registry.
//!
//! Secret values are redacted by type: nothing here derives `Debug` over a password or a token, so a credential
//! can be logged or put in an error without leaking. Errors name the source (variable, script, file, helper),
//! never its value, and never the output of a failed program.
//!
//! # Lookup order
//!
//! For a registry host (normalised by [`normalize_registry`]: `docker.io`, `ghcr.io`, `127.0.0.1:5000`, …):
//!
//! 1. **Explicit spec** ([`CredentialSpec`]), when the caller has one (`registries.conf` `credentials:` or an
//!    image's `pull-secret` annotation): `env:VAR`, `ext:/path/to/script`, `pullsecret:<namespace>/<name>`,
//!    `secret:<namespace>/<name>#<field>`. Its failure is an error: nothing else is tried in its place.
//! 2. **Pull-secret directory scan**: the first `.dockerconfigjson` under `--pull-secrets-dir` (sorted by path)
//!    with an `auths` entry for the registry (layout below).
//! 3. **Docker `config.json`** in `--docker-config`: a `credHelpers` entry for the registry (its answer is final
//!    for this file, as in the docker CLI), else an `auths` entry holding a credential, else `credsStore`.
//! 4. **Providers**, each for the registries it recognises by host, in order (`provider.rs`). Today only the GCP
//!    metadata server, for `gcr.io`, `*.gcr.io` and `*-docker.pkg.dev`: an access token used as
//!    `oauth2accesstoken:<token>`. No server (outside GCP) means anonymous, remembered for a while.
//! 5. Anonymous: `Ok(None)`.
//!
//! `auths` and `credHelpers` keys match a registry only when they normalise to the same host (argocd-image-updater
//! matches by prefix), so a credential for `ghcr.io` is never sent to `ghcr.io.example.com`. The metadata server is
//! asked at [`DEFAULT_METADATA_HOST`] (or `GCE_METADATA_HOST`) with `Metadata-Flavor: Google`, and its answer is
//! trusted only when it carries that header back.
//!
//! # Mounted secrets
//!
//! The sidecar has no Kubernetes API access; secrets are volumes under `--pull-secrets-dir`, at
//! `<dir>/<namespace>/<name>/<key>`. The flat `<dir>/<name>/<key>` is read only when the operator names the one
//! namespace such secrets come from (`--pull-secrets-flat-namespace`), and then only as that namespace's. A
//! `kubernetes.io/dockerconfigjson` secret's key is `.dockerconfigjson`; a `secret:` spec names its key.
//!
//! # Caching
//!
//! Each result, anonymous included, is cached per registry and spec until its expiry: a spec's `credsexpire`
//! (none: until [`CredentialStore::invalidate`]), a metadata token's lifetime minus a margin, and
//! [`CredentialOptions::discovery_ttl`] for what sources 2–5 found. Concurrent lookups of one key wait for a
//! single read, so an `ext:` script runs once however many renders ask at the same time.
//!
//! # Files
//!
//! Here the credential values and their origin; `error` the one error type; `store` the lookup in the order above
//! and its cache; one file per source (`spec`, `files`, `dockerconfig`, `programs`, `gcp` behind `provider`).

mod dockerconfig;
mod error;
mod files;
mod gcp;
mod options;
mod programs;
mod provider;
mod spec;
mod store;
#[cfg(test)]
mod tests;

use std::fmt;
use std::time::Instant;

pub use dockerconfig::normalize_registry;
pub use error::CredentialError;
pub use gcp::DEFAULT_METADATA_HOST;
pub use options::{Clock, CredentialOptions, EnvLookup, SystemClock};
/// The one DNS-1123 label check (namespaces, secret and helm release name parts).
pub(crate) use spec::is_dns_label;
pub use spec::{
    CredentialSpec, DurationError, SecretScope, SpecError, SpecProblem, SpecSource,
    parse_go_duration,
};
pub use store::CredentialStore;

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

/// Where a credential came from: safe to show in logs, errors and `explain` output (never the secret). Serialises
/// as `{"kind", "name"}`, the form every JSON report uses.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct CredentialSource {
    /// The kind of source: `env`, `ext`, `pull-secret`, `secret`, `docker-config`, `credential-helper`,
    /// `gcp-metadata`.
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

/// What a source found, before it gets an expiry.
type Found = (Credential, CredentialSource);

fn source(kind: &'static str, name: impl Into<String>) -> CredentialSource {
    CredentialSource {
        kind,
        name: name.into(),
    }
}
