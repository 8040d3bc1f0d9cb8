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

impl Target {
    /// The fix a 401 suggests: another credential, or one at all.
    pub(crate) fn unauthorized_hint(&self) -> &'static str {
        if self.credential.is_some() {
            "the registry rejected this credential: check that it is current and valid for this registry"
        } else {
            "anonymous access is not allowed: configure a credential for this registry"
        }
    }
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

/// What went wrong in a [`RegistryError`]; its message follows the target's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryErrorKind {
    #[error("authentication failed: {failure}; {hint}")]
    Unauthorized { failure: String, hint: &'static str },
    #[error("token server {realm} refused the token request: {failure}; {hint}")]
    TokenRefused {
        realm: String,
        failure: String,
        hint: &'static str,
    },
    #[error("access denied: {failure}; the credential lacks pull permission on this repository")]
    Denied { failure: String },
    #[error("{what} not found: {failure}")]
    NotFound { what: String, failure: String },
    /// A 404 to a manifest request: the registry says the tag or digest does not exist in the repository (or the
    /// repository does not exist). Apart from [`RegistryErrorKind::NotFound`] because a pin is checked by it.
    #[error("manifest '{reference}' not found: {failure}")]
    ManifestNotFound { reference: String, failure: String },
    #[error(
        "rate limited after {attempts} attempts: {failure}; lower 'limit' for this registry or try later"
    )]
    RateLimited { failure: String, attempts: u32 },
    #[error("registry error after {attempts} attempts: {failure}")]
    Server { failure: String, attempts: u32 },
    #[error("request refused by {url}: {failure}")]
    Rejected { url: String, failure: String },
    #[error(
        "tag list page size n={page_size} was rejected: {failure}; set a smaller 'pagesize' for this registry"
    )]
    PageSizeRejected { page_size: u32, failure: String },
    #[error("{operation} did not finish within {deadline:?} (the deadline){}", last_suffix(.last))]
    Deadline {
        operation: &'static str,
        deadline: Duration,
        last: Option<String>,
    },
    #[error(
        "the registry asked to retry {operation} after {retry_after:?}, past the deadline of {deadline:?}: \
         {failure}; try again later"
    )]
    RetryAfterPastDeadline {
        operation: &'static str,
        retry_after: Duration,
        deadline: Duration,
        failure: String,
    },
    #[error("cannot reach {url} after {attempts} attempts: {reason}")]
    Connection {
        url: String,
        attempts: u32,
        reason: String,
    },
    #[error("{source}")]
    Url {
        #[source]
        source: UrlError,
    },
    #[error(
        "the tag list has more than {max_pages} pages (max_pages); raise the cap or use larger pages"
    )]
    TooManyPages { max_pages: u32 },
    #[error("invalid response from {url}: {reason}")]
    InvalidResponse { url: String, reason: String },
    #[error("the {what} from {url} is larger than {limit}{}", too_large_fix(*.operator_limit, .what))]
    TooLarge {
        what: &'static str,
        /// Without userinfo.
        url: String,
        limit: ByteSize,
        /// Whether the limit is the operator's `--max-response-size` (else a fixed one for this kind of answer).
        operator_limit: bool,
    },
    #[error("content fetched as {expected} hashes to {actual}")]
    DigestMismatch { expected: String, actual: String },
    #[error("'{reference}' has no image for {wanted}; it has {available}")]
    PlatformNotFound {
        reference: String,
        wanted: String,
        available: String,
    },
    #[error("'{reference}' has unsupported media type '{media_type}'")]
    UnsupportedMediaType {
        reference: String,
        media_type: String,
    },
    /// Before any operation, so the only kind without a target.
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

/// A failed registry operation: what it was about and what went wrong. Every message but a
/// [`RegistryErrorKind::Setup`]'s starts with the [`Target`], which is boxed to keep the error small.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryError {
    /// `None` only for [`RegistryErrorKind::Setup`], which comes before any operation.
    target: Option<Box<Target>>,
    kind: RegistryErrorKind,
}

impl RegistryError {
    /// An operation's failure; `kind` is anything but [`RegistryErrorKind::Setup`] (see [`RegistryError::setup`]).
    pub fn new(target: Box<Target>, kind: RegistryErrorKind) -> Self {
        debug_assert!(
            !matches!(kind, RegistryErrorKind::Setup { .. }),
            "a setup error has no target"
        );
        Self {
            target: Some(target),
            kind,
        }
    }

    /// A client for `registry` could not be built (or a request to it not even formed).
    pub fn setup(registry: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            target: None,
            kind: RegistryErrorKind::Setup {
                registry: registry.into(),
                reason: reason.into(),
            },
        }
    }

    /// The operation's target, when the error has one (all but [`RegistryErrorKind::Setup`]).
    pub fn target(&self) -> Option<&Target> {
        self.target.as_deref()
    }

    pub fn kind(&self) -> &RegistryErrorKind {
        &self.kind
    }
}

impl fmt::Display for RegistryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.target {
            Some(target) => write!(f, "{target}: {}", self.kind),
            None => self.kind.fmt(f),
        }
    }
}

/// The kind's own source (a [`UrlError`]), not the kind: its text is already in this error's message.
impl std::error::Error for RegistryError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(&self.kind)
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
                RegistryError::new(
                    anonymous.clone(),
                    RegistryErrorKind::ManifestNotFound {
                        reference: "v1".into(),
                        failure: "HTTP 404".into(),
                    },
                ),
                "registry ghcr.io, repository org/app (anonymous): manifest 'v1' not found: HTTP 404",
            ),
            (
                "deadline with last failure",
                RegistryError::new(
                    with_env.clone(),
                    RegistryErrorKind::Deadline {
                        operation: "tags/list",
                        deadline: Duration::from_millis(1500),
                        last: Some("HTTP 503".into()),
                    },
                ),
                "registry ghcr.io, repository org/app (credential: env GHCR_TOKEN): tags/list did not finish within \
                 1.5s (the deadline); last: HTTP 503",
            ),
            (
                "deadline without last failure",
                RegistryError::new(
                    with_env.clone(),
                    RegistryErrorKind::Deadline {
                        operation: "manifest",
                        deadline: Duration::from_secs(2),
                        last: None,
                    },
                ),
                "registry ghcr.io, repository org/app (credential: env GHCR_TOKEN): manifest did not finish within 2s \
                 (the deadline)",
            ),
            (
                "setup",
                RegistryError::setup("r", "bad CA"),
                "cannot set up a client for registry r: bad CA",
            ),
        ] {
            assert_eq!(error.to_string(), want, "{name}");
            assert_eq!(error.target().is_some(), name != "setup", "{name}");
        }
    }
}
