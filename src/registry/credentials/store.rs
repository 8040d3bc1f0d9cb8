//! [`CredentialStore`]: the lookup in the order of the module docs (explicit spec, pull-secret scan, docker
//! config, providers, anonymous), each answer cached per registry and spec until it expires.

use std::collections::HashMap;
use std::io;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use super::{
    Credential, CredentialError, CredentialOptions, CredentialSpec, Found, ResolvedCredential,
    SpecSource, dockerconfig, files, normalize_registry, programs, provider, source, spec,
};

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

impl CredentialStore {
    /// Cheap: nothing is read and no program runs until the first lookup.
    pub fn new(options: CredentialOptions) -> CredentialStore {
        let providers = provider::providers(&options);
        CredentialStore::with_providers(options, providers)
    }

    pub(super) fn with_providers(
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
                    self.flat_namespace(),
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
                let (path, bytes) = files::read_mounted(
                    dir,
                    self.flat_namespace(),
                    namespace,
                    name,
                    field,
                    &spec.to_string(),
                )
                .await?;
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

    /// The namespace the secrets mounted flat belong to (`--pull-secrets-flat-namespace`); `None`: no one.
    fn flat_namespace(&self) -> Option<&str> {
        self.inner.options.pull_secrets_flat_namespace.as_deref()
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
            && let Some((path, credential)) = files::scan_pull_secrets(
                dir,
                self.flat_namespace(),
                registry,
                options.pull_secret_scope.as_ref(),
            )
            .await?
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
