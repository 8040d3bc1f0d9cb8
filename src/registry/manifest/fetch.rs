//! Fetching manifests, indexes and config blobs through [`RegistryClient`], each verified against its digest.

use reqwest::Method;

use super::{
    Descriptor, ImageConfig, MAX_CONFIG_BODY, MAX_MANIFEST_BODY, Manifest, ManifestError,
    ManifestKind, parse_image_config, parse_manifest, sha256_digest,
};
use crate::platform::{self, Platform};
use crate::registry::client::{Call, RegistryClient, validate};
use crate::registry::error::{RegistryError, RegistryErrorKind};
use crate::registry::transport::{Op, Purpose};
use crate::registry::urls::{self, MANIFEST_ACCEPT, redact};

impl RegistryClient {
    /// The digest of `reference` (tag or digest) from `HEAD` (`Docker-Content-Digest`), or from hashing the
    /// manifest `GET` when the registry sends no such header. `HEAD` does not count as a pull on Docker Hub.
    pub async fn digest(&self, repository: &str, reference: &str) -> Result<String, RegistryError> {
        let inner = &self.inner;
        let op = inner.op(repository, "digest");
        validate(&op, repository, Some(reference))?;
        let url = urls::manifest_url(&inner.endpoint.api_url, repository, reference);
        let accept = MANIFEST_ACCEPT.join(", ");
        let scope = urls::pull_scope(repository);
        let purpose = Purpose::Manifest { reference };
        let call = Call {
            method: Method::HEAD,
            url: &url,
            accept: &accept,
            scope: &scope,
            purpose,
            max_body: 0,
        };
        let response = inner.registry_request(&op, call).await?;
        match response
            .header("docker-content-digest")
            .map(str::trim)
            .filter(|d| crate::image::is_valid_digest(d))
        {
            Some(digest) => Ok(digest.to_string()),
            None => Ok(self
                .fetch_manifest(&op, repository, reference)
                .await?
                .digest),
        }
    }

    /// The manifest or index `reference` names, verified against the digest when `reference` is one.
    pub async fn manifest(
        &self,
        repository: &str,
        reference: &str,
    ) -> Result<Manifest, RegistryError> {
        let op = self.inner.op(repository, "manifest");
        validate(&op, repository, Some(reference))?;
        self.fetch_manifest(&op, repository, reference).await
    }

    /// Creation time, labels and digests of `reference` for the first of `platforms` it has (default
    /// `linux/amd64`): through the index to the platform's manifest, then its config blob. A single-platform
    /// image whose config names another platform is an error, as is an index without a wanted platform.
    pub async fn image_config(
        &self,
        repository: &str,
        reference: &str,
        platforms: &[Platform],
    ) -> Result<ImageConfig, RegistryError> {
        let op = self.inner.op(repository, "image config");
        validate(&op, repository, Some(reference))?;
        let default = [Platform::linux_amd64()];
        let wanted = if platforms.is_empty() {
            &default[..]
        } else {
            platforms
        };
        let wanted_text = || {
            wanted
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        };
        let top = self.fetch_manifest(&op, repository, reference).await?;
        let (config, manifest_digest, index_platform) = match &top.kind {
            ManifestKind::Image { config, .. } => (config.clone(), top.digest.clone(), None),
            ManifestKind::Index { manifests } => {
                let chosen =
                    platform::select(manifests.iter().map(|m| m.platform.as_ref()), wanted)
                        .map(|i| &manifests[i])
                        .ok_or_else(|| {
                            RegistryError::new(
                                op.target.clone(),
                                RegistryErrorKind::PlatformNotFound {
                                    reference: reference.to_string(),
                                    wanted: wanted_text(),
                                    available: available(manifests),
                                },
                            )
                        })?;
                let child = self.fetch_manifest(&op, repository, &chosen.digest).await?;
                let ManifestKind::Image { config, .. } = child.kind else {
                    return Err(RegistryError::new(
                        op.target.clone(),
                        RegistryErrorKind::UnsupportedMediaType {
                            reference: chosen.digest.clone(),
                            media_type: format!("{} nested in an index", child.media_type),
                        },
                    ));
                };
                (config, child.digest, chosen.platform.clone())
            }
        };
        let blob = self.fetch_blob(&op, repository, &config.digest).await?;
        let fields = parse_image_config(&blob).map_err(|e| {
            RegistryError::new(
                op.target.clone(),
                RegistryErrorKind::InvalidResponse {
                    url: redact(&urls::blob_url(
                        &self.inner.endpoint.api_url,
                        repository,
                        &config.digest,
                    )),
                    reason: e.to_string(),
                },
            )
        })?;
        if let Some(text) = &fields.unreadable_created {
            tracing::warn!(
                repository,
                reference,
                "image config 'created' value '{text}' is not an RFC 3339 time; the image counts as undated"
            );
        }
        if index_platform.is_none()
            && let Some(own) = &fields.platform
            && !wanted.iter().any(|w| w.accepts(own))
        {
            return Err(RegistryError::new(
                op.target.clone(),
                RegistryErrorKind::PlatformNotFound {
                    reference: reference.to_string(),
                    wanted: wanted_text(),
                    available: own.to_string(),
                },
            ));
        }
        Ok(ImageConfig {
            digest: top.digest,
            manifest_digest,
            config_digest: config.digest,
            platform: index_platform.or(fields.platform),
            created: fields.created,
            labels: fields.labels,
        })
    }

    async fn fetch_manifest(
        &self,
        op: &Op,
        repository: &str,
        reference: &str,
    ) -> Result<Manifest, RegistryError> {
        let inner = &self.inner;
        let url = urls::manifest_url(&inner.endpoint.api_url, repository, reference);
        let accept = MANIFEST_ACCEPT.join(", ");
        let scope = urls::pull_scope(repository);
        let purpose = Purpose::Manifest { reference };
        let call = Call {
            method: Method::GET,
            url: &url,
            accept: &accept,
            scope: &scope,
            purpose,
            max_body: inner.body_limit(MAX_MANIFEST_BODY),
        };
        let response = inner.registry_request(op, call).await?;
        let digest = sha256_digest(&response.body);
        let claimed = response
            .header("docker-content-digest")
            .map(str::trim)
            .filter(|d| d.starts_with("sha256:"));
        let expected =
            if crate::image::is_valid_digest(reference) && reference.starts_with("sha256:") {
                Some(reference)
            } else {
                claimed
            };
        if let Some(expected) = expected
            && expected != digest
        {
            return Err(RegistryError::new(
                op.target.clone(),
                RegistryErrorKind::DigestMismatch {
                    expected: expected.to_string(),
                    actual: digest,
                },
            ));
        }
        let (media_type, kind) = parse_manifest(response.header("content-type"), &response.body)
            .map_err(|e| match e {
                ManifestError::Unsupported(media_type) => RegistryError::new(
                    op.target.clone(),
                    RegistryErrorKind::UnsupportedMediaType {
                        reference: reference.to_string(),
                        media_type,
                    },
                ),
                other => RegistryError::new(
                    op.target.clone(),
                    RegistryErrorKind::InvalidResponse {
                        url: redact(&url),
                        reason: other.to_string(),
                    },
                ),
            })?;
        Ok(Manifest {
            media_type,
            digest,
            kind,
            body: response.body,
        })
    }

    /// A blob by digest, verified; redirects (to storage) are followed without the `Authorization` header when
    /// they leave the registry's origin.
    async fn fetch_blob(
        &self,
        op: &Op,
        repository: &str,
        digest: &str,
    ) -> Result<Vec<u8>, RegistryError> {
        let inner = &self.inner;
        let url = urls::blob_url(&inner.endpoint.api_url, repository, digest);
        let scope = urls::pull_scope(repository);
        let purpose = Purpose::Blob { digest };
        let call = Call {
            method: Method::GET,
            url: &url,
            accept: "*/*",
            scope: &scope,
            purpose,
            max_body: inner.body_limit(MAX_CONFIG_BODY),
        };
        let response = inner.registry_request(op, call).await?;
        if digest.starts_with("sha256:") {
            let actual = sha256_digest(&response.body);
            if actual != digest {
                return Err(RegistryError::new(
                    op.target.clone(),
                    RegistryErrorKind::DigestMismatch {
                        expected: digest.to_string(),
                        actual,
                    },
                ));
            }
        }
        Ok(response.body)
    }
}

/// The platforms an index offers, for error messages (entries without one are left out).
pub(super) fn available(manifests: &[Descriptor]) -> String {
    let list: Vec<String> = manifests
        .iter()
        .filter_map(|m| m.platform.as_ref())
        .map(ToString::to_string)
        .collect();
    if list.is_empty() {
        "no platform entries".to_string()
    } else {
        list.join(", ")
    }
}
