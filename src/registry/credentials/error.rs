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
        "the secret of credential spec '{spec}' is not mounted: none of {} exists",
        join_paths(tried)
    )]
    SecretNotMounted { spec: String, tried: Vec<PathBuf> },
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

fn join_paths(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}
