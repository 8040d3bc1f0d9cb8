//! The error of every registry operation, shared by the client, auth, tags and manifest modules because each
//! names the same things: the registry, the repository and the credential source used (never a secret).

use std::fmt;
use std::time::Duration;

use super::credentials::CredentialSource;
use super::urls::UrlError;
use crate::size::ByteSize;

/// What an operation was about, shown at the start of every [`RegistryError`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub registry: String,
    pub repository: String,
    /// `None` when the request was anonymous.
    pub credential: Option<CredentialSource>,
}

/// `registry ghcr.io, repository org/app (credential: env GHCR_TOKEN)` or `(anonymous)`.
impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "registry {}, repository {} ",
            self.registry, self.repository
        )?;
        match &self.credential {
            Some(source) => write!(f, "(credential: {source})"),
            None => f.write_str("(anonymous)"),
        }
    }
}

/// A failed registry operation; every message starts with its [`Target`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    #[error("{target}: authentication failed: {failure}; {hint}")]
    Unauthorized {
        target: Box<Target>,
        failure: String,
        hint: &'static str,
    },
    #[error("{target}: token server {realm} refused the token request: {failure}; {hint}")]
    TokenRefused {
        target: Box<Target>,
        realm: String,
        failure: String,
        hint: &'static str,
    },
    #[error(
        "{target}: access denied: {failure}; the credential lacks pull permission on this repository"
    )]
    Denied {
        target: Box<Target>,
        failure: String,
    },
    #[error("{target}: {what} not found: {failure}")]
    NotFound {
        target: Box<Target>,
        what: String,
        failure: String,
    },
    #[error(
        "{target}: rate limited after {attempts} attempts: {failure}; lower 'limit' for this registry or try later"
    )]
    RateLimited {
        target: Box<Target>,
        failure: String,
        attempts: u32,
    },
    #[error("{target}: registry error after {attempts} attempts: {failure}")]
    Server {
        target: Box<Target>,
        failure: String,
        attempts: u32,
    },
    #[error("{target}: request refused by {url}: {failure}")]
    Rejected {
        target: Box<Target>,
        url: String,
        failure: String,
    },
    #[error(
        "{target}: tag list page size n={page_size} was rejected: {failure}; set a smaller 'pagesize' for this registry"
    )]
    PageSizeRejected {
        target: Box<Target>,
        page_size: u32,
        failure: String,
    },
    #[error("{target}: {operation} did not finish within {deadline:?} (the deadline){}", last_suffix(.last))]
    Deadline {
        target: Box<Target>,
        operation: &'static str,
        deadline: Duration,
        last: Option<String>,
    },
    #[error(
        "{target}: the registry asked to retry {operation} after {retry_after:?}, past the deadline of {deadline:?}: \
         {failure}; try again later"
    )]
    RetryAfterPastDeadline {
        target: Box<Target>,
        operation: &'static str,
        retry_after: Duration,
        deadline: Duration,
        failure: String,
    },
    #[error("{target}: cannot reach {url} after {attempts} attempts: {reason}")]
    Connection {
        target: Box<Target>,
        url: String,
        attempts: u32,
        reason: String,
    },
    #[error("{target}: {source}")]
    Url {
        target: Box<Target>,
        #[source]
        source: UrlError,
    },
    #[error(
        "{target}: the tag list has more than {max_pages} pages (max_pages); raise the cap or use larger pages"
    )]
    TooManyPages { target: Box<Target>, max_pages: u32 },
    #[error("{target}: invalid response from {url}: {reason}")]
    InvalidResponse {
        target: Box<Target>,
        url: String,
        reason: String,
    },
    #[error("{target}: the {what} from {url} is larger than {limit}{}", too_large_fix(*.operator_limit, .what))]
    TooLarge {
        target: Box<Target>,
        what: &'static str,
        /// Without userinfo.
        url: String,
        limit: ByteSize,
        /// Whether the limit is the operator's `--max-response-size` (else a fixed one for this kind of answer).
        operator_limit: bool,
    },
    #[error("{target}: content fetched as {expected} hashes to {actual}")]
    DigestMismatch {
        target: Box<Target>,
        expected: String,
        actual: String,
    },
    #[error("{target}: '{reference}' has no image for {wanted}; it has {available}")]
    PlatformNotFound {
        target: Box<Target>,
        reference: String,
        wanted: String,
        available: String,
    },
    #[error("{target}: '{reference}' has unsupported media type '{media_type}'")]
    UnsupportedMediaType {
        target: Box<Target>,
        reference: String,
        media_type: String,
    },
    #[error("cannot set up a client for registry {registry}: {reason}")]
    Setup { registry: String, reason: String },
}

fn too_large_fix(operator_limit: bool, what: &str) -> String {
    if operator_limit {
        "; raise --max-response-size (IMAGE_RESOLVER_MAX_RESPONSE_SIZE) if the registry really sends that much"
            .to_string()
    } else {
        format!(", the fixed limit for a {what}")
    }
}

fn last_suffix(last: &Option<String>) -> String {
    last.as_ref()
        .map(|l| format!("; last: {l}"))
        .unwrap_or_default()
}

impl RegistryError {
    /// The operation's target, when the error has one (all but [`RegistryError::Setup`]).
    pub fn target(&self) -> Option<&Target> {
        use RegistryError::*;
        match self {
            Unauthorized { target, .. }
            | TokenRefused { target, .. }
            | Denied { target, .. }
            | NotFound { target, .. }
            | RateLimited { target, .. }
            | Server { target, .. }
            | Rejected { target, .. }
            | PageSizeRejected { target, .. }
            | Deadline { target, .. }
            | RetryAfterPastDeadline { target, .. }
            | Connection { target, .. }
            | Url { target, .. }
            | TooManyPages { target, .. }
            | InvalidResponse { target, .. }
            | TooLarge { target, .. }
            | DigestMismatch { target, .. }
            | PlatformNotFound { target, .. }
            | UnsupportedMediaType { target, .. } => Some(target),
            Setup { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_name_the_credential_source() {
        let anonymous = Box::new(Target {
            registry: "ghcr.io".into(),
            repository: "org/app".into(),
            credential: None,
        });
        let with_env = Box::new(Target {
            credential: Some(CredentialSource {
                kind: "env",
                name: "GHCR_TOKEN".into(),
            }),
            ..(*anonymous).clone()
        });
        for (name, error, want) in [
            (
                "anonymous not found",
                RegistryError::NotFound {
                    target: anonymous.clone(),
                    what: "manifest 'v1'".into(),
                    failure: "HTTP 404".into(),
                },
                "registry ghcr.io, repository org/app (anonymous): manifest 'v1' not found: HTTP 404",
            ),
            (
                "deadline with last failure",
                RegistryError::Deadline {
                    target: with_env.clone(),
                    operation: "tags/list",
                    deadline: Duration::from_millis(1500),
                    last: Some("HTTP 503".into()),
                },
                "registry ghcr.io, repository org/app (credential: env GHCR_TOKEN): tags/list did not finish within \
                 1.5s (the deadline); last: HTTP 503",
            ),
            (
                "deadline without last failure",
                RegistryError::Deadline {
                    target: with_env.clone(),
                    operation: "manifest",
                    deadline: Duration::from_secs(2),
                    last: None,
                },
                "registry ghcr.io, repository org/app (credential: env GHCR_TOKEN): manifest did not finish within 2s \
                 (the deadline)",
            ),
            (
                "setup",
                RegistryError::Setup {
                    registry: "r".into(),
                    reason: "bad CA".into(),
                },
                "cannot set up a client for registry r: bad CA",
            ),
        ] {
            assert_eq!(error.to_string(), want, "{name}");
            assert_eq!(error.target().is_some(), name != "setup", "{name}");
        }
    }
}
