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
//! `<dir>/<namespace>/<name>/<key>` or, when all come from one namespace, `<dir>/<name>/<key>`. A
//! `kubernetes.io/dockerconfigjson` secret's key is `.dockerconfigjson`; a `secret:` spec names its key.
//!
//! # Caching
//!
//! Each result, anonymous included, is cached per registry and spec until its expiry: a spec's `credsexpire`
//! (none: until [`CredentialStore::invalidate`]), a metadata token's lifetime minus a margin, and
//! [`CredentialOptions::discovery_ttl`] for what sources 2–5 found. Concurrent lookups of one key wait for a
//! single read, so an `ext:` script runs once however many renders ask at the same time.

mod dockerconfig;
mod files;
mod gcp;
mod options;
mod programs;
mod provider;
mod spec;

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

pub use dockerconfig::normalize_registry;
pub use gcp::DEFAULT_METADATA_HOST;
pub use options::{Clock, CredentialOptions, EnvLookup, SystemClock};
/// The one DNS-1123 label check (namespaces, secret and helm release name parts).
pub(crate) use spec::is_dns_label;
pub use spec::{
    CredentialSpec, DurationError, SecretScope, SpecError, SpecProblem, SpecSource,
    parse_go_duration,
};

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

/// Looks up and caches credentials per registry. Clones share one cache.
#[derive(Clone)]
pub struct CredentialStore {
    inner: Arc<Inner>,
}

struct Inner {
    options: CredentialOptions,
    /// Sources tied to registry families (GCP), asked in order after the files.
    providers: Vec<Box<dyn provider::CredentialProvider>>,
    slots: Mutex<HashMap<SlotKey, Slot>>,
}

/// Normalised registry and the explicit spec, if any.
type SlotKey = (String, Option<CredentialSpec>);
/// An async lock per key, so that concurrent lookups of one key wait for one read.
type Slot = Arc<tokio::sync::Mutex<Option<Cached>>>;

struct Cached {
    value: Option<ResolvedCredential>,
    /// `None`: until invalidated.
    valid_until: Option<Instant>,
}

/// What a source found, before it gets an expiry.
type Found = (Credential, CredentialSource);

fn source(kind: &'static str, name: impl Into<String>) -> CredentialSource {
    CredentialSource {
        kind,
        name: name.into(),
    }
}

impl CredentialStore {
    /// Cheap: nothing is read and no program runs until the first lookup.
    pub fn new(options: CredentialOptions) -> CredentialStore {
        let providers = provider::providers(&options);
        CredentialStore::with_providers(options, providers)
    }

    fn with_providers(
        options: CredentialOptions,
        providers: Vec<Box<dyn provider::CredentialProvider>>,
    ) -> CredentialStore {
        CredentialStore {
            inner: Arc::new(Inner {
                providers,
                options,
                slots: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// A store with [`CredentialOptions::from_env`].
    pub fn from_env() -> CredentialStore {
        CredentialStore::new(CredentialOptions::from_env())
    }

    /// The options the store was built with, e.g. for `explain` to say where it looked.
    pub fn options(&self) -> &CredentialOptions {
        &self.inner.options
    }

    /// The credential for `registry` (any form [`normalize_registry`] accepts), from `explicit` when given, else
    /// from the first discovered source that has one (order in the module docs); `Ok(None)` means anonymous.
    pub async fn credential_for(
        &self,
        registry: &str,
        explicit: Option<&CredentialSpec>,
    ) -> Result<Option<ResolvedCredential>, CredentialError> {
        let registry = normalize_registry(registry);
        if let Some(spec) = explicit
            && let Some(spec_registry) = spec.registry()
            && normalize_registry(spec_registry) != registry
        {
            return Err(CredentialError::RegistryMismatch {
                spec: spec.to_string(),
                spec_registry: spec_registry.to_string(),
                registry,
            });
        }
        let slot = {
            let mut slots = self
                .inner
                .slots
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            slots
                .entry((registry.clone(), explicit.cloned()))
                .or_default()
                .clone()
        };
        let mut cached = slot.lock().await;
        let now = self.inner.options.clock.now();
        if let Some(hit) = cached.as_ref()
            && hit.valid_until.is_none_or(|until| now < until)
        {
            return Ok(hit.value.clone());
        }
        let (value, valid_until) = match explicit {
            Some(spec) => {
                let resolved = self.resolve_spec(&registry, spec, now).await?;
                let until = resolved.expires_at;
                (Some(resolved), until)
            }
            None => {
                let ttl_end = now + self.inner.options.discovery_ttl;
                let resolved = self.discover(&registry, ttl_end).await?;
                let until = resolved
                    .as_ref()
                    .and_then(|r| r.expires_at)
                    .map_or(ttl_end, |e| e.min(ttl_end));
                (resolved, Some(until))
            }
        };
        match &value {
            Some(found) => {
                tracing::debug!(%registry, source = %found.source, "registry credential found")
            }
            None => tracing::debug!(%registry, "no registry credential; anonymous access"),
        }
        *cached = Some(Cached {
            value: value.clone(),
            valid_until,
        });
        Ok(value)
    }

    /// Forgets everything cached for `registry` (after it answered 401), so the next lookup reads the sources
    /// again, and has every provider serving it forget its own cache (for a Google registry the metadata token,
    /// which all Google registries share).
    pub fn invalidate(&self, registry: &str) {
        let registry = normalize_registry(registry);
        self.inner
            .slots
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|(r, _), _| *r != registry);
        for provider in self.providers_for(&registry) {
            provider.invalidate(&registry);
        }
    }

    async fn resolve_spec(
        &self,
        registry: &str,
        spec: &CredentialSpec,
        now: Instant,
    ) -> Result<ResolvedCredential, CredentialError> {
        let options = &self.inner.options;
        let (credential, source) = match spec.source() {
            SpecSource::Env { var } => {
                let value = (options.env)(var)
                    .ok_or_else(|| CredentialError::EnvNotSet { var: var.clone() })?;
                let (username, password) = spec::parse_user_pass(&value)
                    .ok_or_else(|| CredentialError::EnvMalformed { var: var.clone() })?;
                (
                    Credential::Basic { username, password },
                    source("env", var.clone()),
                )
            }
            SpecSource::Ext { script } => (
                programs::run_ext(options, script).await?,
                source("ext", script.display().to_string()),
            ),
            SpecSource::PullSecret { namespace, name } => {
                let dir = self.pull_secrets_dir(spec)?;
                let (path, bytes) = files::read_mounted(
                    dir,
                    namespace,
                    name,
                    files::DOCKERCONFIGJSON,
                    &spec.to_string(),
                )
                .await?;
                let credential = dockerconfig::DockerConfig::parse(&bytes, &path)?
                    .auth_for(registry, &path)?
                    .ok_or_else(|| CredentialError::NoAuthInPullSecret {
                        path: path.clone(),
                        registry: registry.to_string(),
                    })?;
                (
                    credential,
                    source("pull-secret", path.display().to_string()),
                )
            }
            SpecSource::Secret {
                namespace,
                name,
                field,
            } => {
                let dir = self.pull_secrets_dir(spec)?;
                let (path, bytes) =
                    files::read_mounted(dir, namespace, name, field, &spec.to_string()).await?;
                let (username, password) = std::str::from_utf8(&bytes)
                    .ok()
                    .and_then(spec::parse_user_pass)
                    .ok_or_else(|| CredentialError::SecretMalformed { path: path.clone() })?;
                (
                    Credential::Basic { username, password },
                    source("secret", path.display().to_string()),
                )
            }
        };
        Ok(ResolvedCredential {
            credential,
            source,
            // A credsexpire too far to add to the clock is never reached: the same as none.
            expires_at: spec.expiry().and_then(|d| now.checked_add(d)),
        })
    }

    fn pull_secrets_dir(&self, spec: &CredentialSpec) -> Result<&Path, CredentialError> {
        self.inner
            .options
            .pull_secrets_dir
            .as_deref()
            .ok_or_else(|| CredentialError::NoPullSecretsDir {
                spec: spec.to_string(),
            })
    }

    /// Sources 2–5. `ttl_end` is when a file- or helper-based credential is looked up again.
    async fn discover(
        &self,
        registry: &str,
        ttl_end: Instant,
    ) -> Result<Option<ResolvedCredential>, CredentialError> {
        let options = &self.inner.options;
        let with_ttl = |(credential, source): Found| ResolvedCredential {
            credential,
            source,
            expires_at: Some(ttl_end),
        };
        if let Some(dir) = &options.pull_secrets_dir
            && let Some((path, credential)) =
                files::scan_pull_secrets(dir, registry, options.pull_secret_scope.as_ref()).await?
        {
            return Ok(Some(with_ttl((
                credential,
                source("pull-secret", path.display().to_string()),
            ))));
        }
        if let Some(dir) = &options.docker_config_dir {
            let path = dir.join("config.json");
            match self.read_docker_config(registry, &path).await? {
                DockerConfigAnswer::Found(found) => return Ok(Some(with_ttl(found))),
                DockerConfigAnswer::HelperHasNone | DockerConfigAnswer::Nothing => {}
            }
        }
        for provider in self.providers_for(registry) {
            if let Some(found) = provider
                .credential(registry, options.clock.as_ref())
                .await?
            {
                return Ok(Some(found));
            }
        }
        Ok(None)
    }

    fn providers_for<'a>(
        &'a self,
        registry: &'a str,
    ) -> impl Iterator<Item = &'a dyn provider::CredentialProvider> {
        self.inner
            .providers
            .iter()
            .map(Box::as_ref)
            .filter(move |provider| provider.applies_to(registry))
    }

    async fn read_docker_config(
        &self,
        registry: &str,
        path: &Path,
    ) -> Result<DockerConfigAnswer, CredentialError> {
        let bytes = match tokio::fs::read(path).await {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Ok(DockerConfigAnswer::Nothing);
            }
            Err(source) => {
                return Err(CredentialError::ReadFile {
                    path: path.to_path_buf(),
                    source,
                });
            }
        };
        let config = dockerconfig::DockerConfig::parse(&bytes, path)?;
        if let Some(helper) = config.helper_for(registry) {
            return Ok(
                match programs::run_helper(&self.inner.options, helper, registry, path, true)
                    .await?
                {
                    Some(found) => DockerConfigAnswer::Found(found),
                    None => DockerConfigAnswer::HelperHasNone,
                },
            );
        }
        if let Some(credential) = config.auth_for(registry, path)? {
            return Ok(DockerConfigAnswer::Found((
                credential,
                source("docker-config", path.display().to_string()),
            )));
        }
        if let Some(store) = config.creds_store()
            && let Some(found) =
                programs::run_helper(&self.inner.options, store, registry, path, false).await?
        {
            return Ok(DockerConfigAnswer::Found(found));
        }
        Ok(DockerConfigAnswer::Nothing)
    }
}

/// What the docker config said about one registry.
enum DockerConfigAnswer {
    Found(Found),
    /// A `credHelpers` entry owns the registry and has nothing: the rest of the file is not consulted.
    HelperHasNone,
    Nothing,
}

#[cfg(test)]
mod tests {
    use super::provider::{CredentialProvider, ProviderFuture};
    use super::*;

    type Log = Arc<Mutex<Vec<String>>>;

    /// A provider for fixed hosts that records what it was asked; `answer` is its user name, or `None`.
    struct FakeProvider {
        name: &'static str,
        hosts: &'static [&'static str],
        answer: Option<&'static str>,
        log: Log,
    }

    impl CredentialProvider for FakeProvider {
        fn applies_to(&self, registry: &str) -> bool {
            self.hosts.contains(&registry)
        }

        fn credential<'a>(
            &'a self,
            registry: &'a str,
            _clock: &'a dyn Clock,
        ) -> ProviderFuture<'a> {
            self.log
                .lock()
                .unwrap()
                .push(format!("{} get {registry}", self.name));
            Box::pin(async move {
                Ok(self.answer.map(|user| ResolvedCredential {
                    credential: Credential::Basic {
                        username: user.to_string(),
                        password: Secret::new("pw"),
                    },
                    source: source("fake", self.name),
                    expires_at: None,
                }))
            })
        }

        fn invalidate(&self, registry: &str) {
            self.log
                .lock()
                .unwrap()
                .push(format!("{} invalidate {registry}", self.name));
        }
    }

    /// `first` serves a.io and shared.io but has nothing; `second` serves shared.io and b.io.
    fn store_with_fakes(log: &Log) -> CredentialStore {
        let fake = |name, hosts, answer| -> Box<dyn CredentialProvider> {
            Box::new(FakeProvider {
                name,
                hosts,
                answer,
                log: log.clone(),
            })
        };
        CredentialStore::with_providers(
            CredentialOptions::default(),
            vec![
                fake("first", &["a.io", "shared.io"], None),
                fake("second", &["shared.io", "b.io"], Some("robot")),
            ],
        )
    }

    #[tokio::test]
    async fn providers_are_asked_in_order_for_their_registries_only() {
        let cases: [(&str, &str, Option<&str>, &[&str]); 4] = [
            ("first has none", "a.io", None, &["first get a.io"]),
            (
                "second answers after first",
                "shared.io",
                Some("second"),
                &["first get shared.io", "second get shared.io"],
            ),
            (
                "only second applies",
                "b.io",
                Some("second"),
                &["second get b.io"],
            ),
            ("none applies", "other.io", None, &[]),
        ];
        for (name, registry, want, asked) in cases {
            let log = Log::default();
            let got = store_with_fakes(&log)
                .credential_for(registry, None)
                .await
                .unwrap();
            assert_eq!(
                got.map(|g| g.source.name),
                want.map(str::to_string),
                "{name}"
            );
            assert_eq!(*log.lock().unwrap(), asked, "{name}");
        }
    }

    #[tokio::test]
    async fn invalidate_reaches_the_providers_of_the_registry_only() {
        let cases: [(&str, &str, &[&str]); 3] = [
            (
                "both apply",
                "shared.io",
                &["first invalidate shared.io", "second invalidate shared.io"],
            ),
            ("one applies", "b.io", &["second invalidate b.io"]),
            ("none applies", "other.io", &[]),
        ];
        for (name, registry, want) in cases {
            let log = Log::default();
            store_with_fakes(&log).invalidate(registry);
            assert_eq!(*log.lock().unwrap(), want, "{name}");
        }
    }

    #[test]
    fn gcp_is_the_first_provider_when_a_metadata_host_is_set() {
        let cases = [
            ("no metadata host", None, 0),
            ("metadata host", Some("127.0.0.1:1"), 1),
        ];
        for (name, host, want) in cases {
            let providers = provider::providers(&CredentialOptions {
                gcp_metadata_host: host.map(str::to_string),
                ..CredentialOptions::default()
            });
            assert_eq!(providers.len(), want, "{name}");
            assert_eq!(
                providers.first().map(|p| p.applies_to("gcr.io")),
                host.map(|_| true),
                "{name}"
            );
        }
    }

    #[test]
    fn resolved_credentials_hide_their_secret() {
        let cases = [
            (
                "basic",
                Credential::Basic {
                    username: "robot".into(),
                    password: Secret::new("hunter2"),
                },
            ),
            (
                "identity token",
                Credential::IdentityToken(Secret::new("hunter2")),
            ),
        ];
        for (name, credential) in cases {
            let resolved = ResolvedCredential {
                credential,
                source: source("env", "CREDS"),
                expires_at: None,
            };
            assert!(!format!("{resolved:?}").contains("hunter2"), "{name}");
        }
    }
}
