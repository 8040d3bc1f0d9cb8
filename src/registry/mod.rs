//! The OCI distribution client: the I/O edge that lists tags and reads manifests from registries.
//!
//! Build one [`RegistryClient`] per registry from its [`Endpoint`] (from `registries.conf` through
//! [`config::RegistriesConf::endpoint`], or [`Endpoint::infer`]) and an optional [`ResolvedCredential`], then call
//! [`RegistryClient::tags`], [`RegistryClient::digest`], [`RegistryClient::manifest`] or
//! [`RegistryClient::image_config`]. Every operation has a deadline, obeys the registry's concurrency and rate
//! limits, retries 429/5xx/connection errors with backoff, and fails with a [`RegistryError`] that names the
//! registry, repository and credential source.
//!
//! Pure pieces, tested with tables: [`urls`] (URL and scope builders, `Link` parsing), [`challenge`]
//! (`WWW-Authenticate`), [`response`] (the status/headers/body choke point), [`config`] and the
//! parsers in [`manifest`]. I/O: [`client`], [`auth`], [`tags`], the fetchers in [`manifest`].
//!
//! ```no_run
//! # async fn demo() -> Result<(), argocd_image_resolver::registry::RegistryError> {
//! use argocd_image_resolver::registry::{ClientOptions, Endpoint, RegistryClient};
//! let endpoint = Endpoint::infer("ghcr.io").expect("valid registry name");
//! let client = RegistryClient::new(endpoint, None, ClientOptions::default())?;
//! let tags = client.tags("argoproj/argocd").await?;
//! let config = client.image_config("argoproj/argocd", &tags.tags[0].name, &[]).await?;
//! println!("{} created {:?} ({} requests)", config.digest, config.created, client.stats().requests);
//! # Ok(()) }
//! ```

pub mod auth;
pub mod challenge;
pub mod client;
pub mod config;
pub mod credentials;
pub mod error;
pub mod limit;
pub mod manifest;
pub mod registries;
pub mod response;
pub mod tags;
mod tls;
mod transport;
pub mod urls;

pub use crate::platform::Platform;
pub use client::{ClientOptions, RegistryClient, Stats};
pub use config::{Endpoint, RegistriesConf, TagSortMode};
pub use credentials::{Credential, CredentialSource, ResolvedCredential, Secret};
pub use error::{RegistryError, RegistryErrorKind, Target};
pub use limit::{ProcessRates, RetryPolicy, SharedRate};
pub use manifest::{Descriptor, ImageConfig, Manifest, ManifestKind};
pub use registries::{AccessError, Overrides, Registries};
pub use tags::TagList;
