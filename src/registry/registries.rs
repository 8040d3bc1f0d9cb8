//! All the registries a command talks to: `registries.conf`, the credential store, and one shared client per
//! registry and credential, built on first use.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use thiserror::Error;

use super::config::{ConfigError, RegistriesConf};
use super::credentials::{CredentialError, CredentialSpec, CredentialStore, SecretScope};
use super::limit::{ProcessRates, SharedRate};
use super::{ClientOptions, RegistryClient, RegistryError};
use crate::image::{ImageDefaults, ImageRef};

#[derive(Debug, Error)]
pub enum AccessError {
    #[error("registry {registry}: {source}")]
    Config {
        registry: String,
        source: ConfigError,
    },
    #[error(
        "registry {registry}: invalid credentials '{spec}' in registries.conf entry '{entry}': {source}"
    )]
    ConfSpec {
        registry: String,
        entry: String,
        spec: String,
        source: CredentialError,
    },
    #[error("registry {registry}: {source}")]
    Credential {
        registry: String,
        source: CredentialError,
    },
    #[error(transparent)]
    Client(#[from] RegistryError),
}

/// Command-line settings applied to every endpoint (`--insecure`, `--ca-file`).
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// Skip TLS certificate verification.
    pub insecure: bool,
    /// Extra trusted roots (PEM).
    pub ca_file: Option<std::path::PathBuf>,
}

/// (registry, registries.conf entry, credential spec): what makes two clients differ.
type ClientKey = (String, String, Option<String>);

/// Where one client is made once: callers that come while it is being made wait for it.
type ClientSlot = Arc<tokio::sync::OnceCell<RegistryClient>>;

/// Clients keyed by registry, repository prefix entry and credential spec: images of one registry share a client
/// (its connections, tokens and rate limit) unless they need different credentials.
pub struct Registries {
    conf: RegistriesConf,
    credentials: CredentialStore,
    options: ClientOptions,
    overrides: Overrides,
    /// Where each registry's `limit` is booked.
    rates: Arc<dyn SharedRate>,
    clients: Mutex<HashMap<ClientKey, ClientSlot>>,
}

impl Registries {
    /// How image references name these registries (registries.conf's `default` and `defaultns`).
    pub fn image_defaults(&self) -> ImageDefaults {
        self.conf.image_defaults()
    }

    pub fn new(conf: RegistriesConf, credentials: CredentialStore, options: ClientOptions) -> Self {
        Registries {
            conf,
            credentials,
            options,
            overrides: Overrides::default(),
            rates: ProcessRates::global(),
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// Books each registry's `limit` in `rates` (the cache's, shared by other processes) rather than in this
    /// process's own.
    pub fn with_rates(mut self, rates: Arc<dyn SharedRate>) -> Self {
        self.rates = rates;
        self
    }

    /// Settings from the command line that apply to every registry, over what `registries.conf` says.
    pub fn with_overrides(mut self, overrides: Overrides) -> Self {
        self.overrides = overrides;
        self
    }

    /// The namespaces whose mounted secrets these registries' credentials may read; `None`: all.
    pub fn secret_scope(&self) -> Option<&SecretScope> {
        self.credentials.options().pull_secret_scope.as_ref()
    }

    pub fn conf(&self) -> &RegistriesConf {
        &self.conf
    }

    /// The client for `image`'s registry. `explicit` (an image's `pull-secret`) overrides the configured
    /// `credentials`; without either, the store discovers one (pull secrets, docker config, GCP) or goes anonymous.
    pub async fn client_for(
        &self,
        image: &ImageRef,
        explicit: Option<&CredentialSpec>,
    ) -> Result<RegistryClient, AccessError> {
        let registry = image.registry();
        let mut endpoint = self
            .conf
            .endpoint(registry, image.repository())
            .map_err(|source| AccessError::Config {
                registry: registry.to_string(),
                source,
            })?;
        endpoint.insecure |= self.overrides.insecure;
        if let Some(ca_file) = &self.overrides.ca_file {
            endpoint.ca_file = Some(ca_file.clone());
        }
        let configured = match (&endpoint.credentials, explicit) {
            (Some(spec), None) => {
                let parsed =
                    CredentialSpec::parse(spec).map_err(|source| AccessError::ConfSpec {
                        registry: registry.to_string(),
                        entry: endpoint.name.clone(),
                        spec: spec.clone(),
                        source: source.into(),
                    })?;
                Some(match endpoint.creds_expire {
                    Some(expiry) => parsed.with_expiry(expiry),
                    None => parsed,
                })
            }
            _ => None,
        };
        // What an application names is checked against its scope; registries.conf is the operator's own.
        if let (Some(scope), Some(namespace)) = (
            self.secret_scope(),
            explicit.and_then(CredentialSpec::namespace),
        ) && !scope.permits(namespace)
        {
            return Err(AccessError::Credential {
                registry: registry.to_string(),
                source: CredentialError::NamespaceNotAllowed {
                    spec: explicit.map(ToString::to_string).unwrap_or_default(),
                    namespace: namespace.to_string(),
                    reason: scope.refusal(namespace),
                },
            });
        }
        let spec = explicit.or(configured.as_ref());
        let key = (
            registry.to_string(),
            endpoint.name.clone(),
            spec.map(ToString::to_string),
        );
        // One slot per key, taken under the lock and filled outside it: images of one registry asked for together
        // share one client (and so its rate limit), where each used to make its own while the first awaited its
        // credential.
        let slot = {
            let mut clients = self.lock();
            let slot = clients.entry(key).or_default();
            if slot.get().is_some_and(RegistryClient::credential_expired) {
                *slot = ClientSlot::default();
            }
            Arc::clone(slot)
        };
        let client = slot
            .get_or_try_init(|| async {
                let credential = self
                    .credentials
                    .credential_for(registry, spec)
                    .await
                    .map_err(|source| AccessError::Credential {
                        registry: registry.to_string(),
                        source,
                    })?;
                Ok::<_, AccessError>(RegistryClient::with_rates(
                    endpoint,
                    credential,
                    self.options.clone(),
                    Arc::clone(&self.rates),
                )?)
            })
            .await?;
        Ok(client.clone())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ClientKey, ClientSlot>> {
        // A panic while holding the lock leaves a map that is still valid, so a poisoned lock is used as is.
        self.clients.lock().unwrap_or_else(|e| e.into_inner())
    }
}
