//! Why a credential could not be produced, one variant per way each source fails.

use std::io;
use std::path::PathBuf;
use std::process::ExitStatus;
use std::time::Duration;

use super::{DurationError, SpecError};

/// Why a credential could not be produced. Messages name the source (variable, script, file, helper) and never
/// a secret, nor the output of a program that failed, since that output may contain one.
#[derive(thiserror::Error, Debug)]
pub enum CredentialError {
    #[error(transparent)]
    InvalidSpec(#[from] SpecError),
    #[error(transparent)]
    InvalidDuration(#[from] DurationError),
    #[error(
        "credential spec '{spec}' is for registry {spec_registry}, not {registry}; fix or remove the '{spec_registry}=' prefix"
    )]
    RegistryMismatch {
        spec: String,
        spec_registry: String,
        registry: String,
    },
    #[error(
        "environment variable {var} named by credential spec 'env:{var}' is not set; set it to 'user:pass'"
    )]
    EnvNotSet { var: String },
    #[error(
        "environment variable {var} named by credential spec 'env:{var}' does not hold 'user:pass'"
    )]
    EnvMalformed { var: String },
    #[error("cannot run ext script {}: {source}", path.display())]
    ScriptRun { path: PathBuf, source: io::Error },
    #[error("ext script {} failed ({status}); run it by hand to see its output", path.display())]
    ScriptFailed { path: PathBuf, status: ExitStatus },
    #[error("ext script {} did not finish within {timeout:?}", path.display())]
    ScriptTimeout { path: PathBuf, timeout: Duration },
    #[error("ext script {} did not print 'user:pass' on its last line", path.display())]
    ScriptOutput { path: PathBuf },
    #[error(
        "credential spec '{spec}' reads a mounted secret, but no pull-secrets directory is set (--pull-secrets-dir)"
    )]
    NoPullSecretsDir { spec: String },
    #[error("pull secret '{spec}' is in namespace {namespace}: {reason}")]
    NamespaceNotAllowed {
        spec: String,
        namespace: String,
        reason: String,
    },
    #[error(
        "the secret of credential spec '{spec}' is not mounted: {}",
        none_exists(tried)
    )]
    SecretNotMounted { spec: String, tried: Vec<PathBuf> },
    /// Where the namespaced mount is missing but a secret of that name is mounted flat, for another namespace or
    /// (no `--pull-secrets-flat-namespace`) for none.
    #[error(
        "the secret of credential spec '{spec}' is not mounted: {} does not exist; {} is mounted without a \
         namespace directory, {}",
        expected.display(),
        flat.display(),
        flat_owner(namespace, flat_namespace.as_deref())
    )]
    SecretMountedFlat {
        spec: String,
        namespace: String,
        expected: PathBuf,
        flat: PathBuf,
        flat_namespace: Option<String>,
    },
    #[error("cannot read {}: {source}", path.display())]
    ReadFile { path: PathBuf, source: io::Error },
    #[error("secret file {} does not hold 'user:pass'", path.display())]
    SecretMalformed { path: PathBuf },
    #[error("pull secret {} has no auths entry with a credential for registry {registry}", path.display())]
    NoAuthInPullSecret { path: PathBuf, registry: String },
    #[error("docker config {} is not valid JSON of the expected shape (line {line}, column {column})", path.display())]
    DockerConfigSyntax {
        path: PathBuf,
        line: usize,
        column: usize,
    },
    #[error("auth entry '{key}' in {} is malformed: {problem}", path.display())]
    AuthEntry {
        path: PathBuf,
        key: String,
        problem: &'static str,
    },
    #[error("credential helper name '{name}' in {} is not a plain name", config.display())]
    HelperName { name: String, config: PathBuf },
    #[error(
        "credential helper {helper} (credHelpers entry for {registry} in {}) is not on PATH; install it or remove the entry",
        config.display()
    )]
    HelperNotFound {
        helper: String,
        registry: String,
        config: PathBuf,
    },
    #[error("cannot run credential helper {}: {source}", path.display())]
    HelperRun { path: PathBuf, source: io::Error },
    #[error(
        "credential helper {helper} failed ({status}) for registry {registry}; run '{helper} get' by hand to see why"
    )]
    HelperFailed {
        helper: String,
        registry: String,
        status: ExitStatus,
    },
    #[error("credential helper {helper} did not finish within {timeout:?}")]
    HelperTimeout { helper: String, timeout: Duration },
    #[error("credential helper {helper} printed something other than its JSON reply")]
    HelperOutput { helper: String },
    #[error("GCP metadata host '{host}' does not form a URL; set GCE_METADATA_HOST to host[:port]")]
    MetadataHost { host: String },
    #[error("cannot build the HTTP client for the GCP metadata server: {source}")]
    HttpClient { source: reqwest::Error },
}

/// `a does not exist`, or `none of a, b exists`.
fn none_exists(paths: &[PathBuf]) -> String {
    let shown: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    match shown.as_slice() {
        [one] => format!("{one} does not exist"),
        _ => format!("none of {} exists", shown.join(", ")),
    }
}

/// Why a flat secret is not `namespace`'s, and what the operator can do about it.
fn flat_owner(namespace: &str, flat_namespace: Option<&str>) -> String {
    match flat_namespace {
        None => format!(
            "which is read for no namespace unless --pull-secrets-flat-namespace \
             (IMAGE_RESOLVER_PULL_SECRETS_FLAT_NAMESPACE) names the one namespace such secrets come from; mount \
             the secret as <pull-secrets-dir>/{namespace}/<name>/, or set that option"
        ),
        Some(owner) => format!(
            "so it is a secret of namespace {owner} (--pull-secrets-flat-namespace), not of {namespace}; mount \
             {namespace}'s secret as <pull-secrets-dir>/{namespace}/<name>/"
        ),
    }
}
