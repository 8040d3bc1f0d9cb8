//! Credential providers: sources tied to a family of registries by host (a cloud's registries and its metadata
//! service), asked in order after the files have nothing. GCP is the one today; ECR or ACR would each be one file
//! implementing [`CredentialProvider`] and one line in [`providers`].

use std::future::Future;
use std::pin::Pin;

use super::{Clock, CredentialError, CredentialOptions, ResolvedCredential, gcp};

/// What [`CredentialProvider::credential`] returns: boxed, so that providers can sit in one list.
pub(super) type ProviderFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Option<ResolvedCredential>, CredentialError>> + Send + 'a>>;

/// A source of credentials for the registries it recognises by host.
pub(super) trait CredentialProvider: Send + Sync {
    /// Whether `registry` (normalised) is one this provider serves: its credentials are sent nowhere else.
    fn applies_to(&self, registry: &str) -> bool;

    /// A credential for `registry`, with `expires_at` set when it has a lifetime; `Ok(None)` when the provider
    /// has none (e.g. not running in its cloud), so the next provider is asked. Only called when
    /// [`CredentialProvider::applies_to`] said yes.
    fn credential<'a>(&'a self, registry: &'a str, clock: &'a dyn Clock) -> ProviderFuture<'a>;

    /// Forgets what the provider cached for `registry`, after the registry refused it.
    fn invalidate(&self, registry: &str);
}

/// The providers `options` enable, in the order they are asked.
pub(super) fn providers(options: &CredentialOptions) -> Vec<Box<dyn CredentialProvider>> {
    let mut providers: Vec<Box<dyn CredentialProvider>> = Vec::new();
    if let Some(host) = &options.gcp_metadata_host {
        providers.push(Box::new(gcp::GcpMetadata::new(gcp::MetadataSettings {
            host: host.clone(),
            connect_timeout: options.metadata_connect_timeout,
            timeout: options.metadata_timeout,
            retry_after: options.metadata_retry_after,
        })));
    }
    providers
}
