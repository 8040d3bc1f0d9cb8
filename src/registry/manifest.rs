//! Manifests, indexes and image configs: reading them (pure parsers at the top) and fetching them (`digest` by
//! `HEAD`, `manifest` by `GET` with all four media types accepted, `image_config` through an index to a platform's
//! config blob for its creation date and labels).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use reqwest::Method;
use serde::Deserialize;
use sha2::{Digest as _, Sha256};

use super::client::{Call, RegistryClient, validate};
use super::error::{RegistryError, RegistryErrorKind};
use super::transport::{Op, Purpose};
use super::urls::{self, MANIFEST_ACCEPT, redact};
use crate::platform::{self, Platform};

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";

/// Largest manifest read (the OCI specification suggests registries accept at least 4 MiB).
const MAX_MANIFEST_BODY: usize = 4 << 20;
/// Largest config blob read.
const MAX_CONFIG_BODY: usize = 8 << 20;

/// A content descriptor: what a manifest or index points at.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    #[serde(default)]
    pub media_type: String,
    pub digest: String,
    #[serde(default)]
    pub size: u64,
    #[serde(default)]
    pub platform: Option<Platform>,
    #[serde(default)]
    pub annotations: Option<BTreeMap<String, String>>,
}

/// The two shapes a manifest can take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ManifestKind {
    /// An image manifest (OCI or Docker v2): one config and its layers.
    Image {
        config: Descriptor,
        layers: Vec<Descriptor>,
    },
    /// An index or manifest list: one manifest per platform (plus attestations).
    Index { manifests: Vec<Descriptor> },
}

/// A fetched manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    pub media_type: String,
    /// `sha256:` of the bytes received (checked against a digest reference and `Docker-Content-Digest`).
    pub digest: String,
    pub kind: ManifestKind,
    pub body: Vec<u8>,
}

/// What newest-build and label filters need from an image, for one platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageConfig {
    /// Digest of what the reference names: the index digest for a multi-platform image.
    pub digest: String,
    /// Digest of the chosen platform's image manifest (equals `digest` for a single-platform image).
    pub manifest_digest: String,
    pub config_digest: String,
    /// The chosen platform (from the index entry, else from the config).
    pub platform: Option<Platform>,
    /// `created` from the config, when present.
    pub created: Option<DateTime<Utc>>,
    /// `config.Labels` from the config.
    pub labels: BTreeMap<String, String>,
}

/// Why manifest or config bytes could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    #[error("unsupported media type '{0}'")]
    Unsupported(String),
    #[error("not a manifest: {0}")]
    Invalid(String),
    #[error("image config is not valid JSON: {0}")]
    InvalidConfig(String),
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawManifest {
    schema_version: Option<u32>,
    #[serde(default)]
    media_type: Option<String>,
    config: Option<Descriptor>,
    #[serde(default)]
    layers: Option<Vec<Descriptor>>,
    manifests: Option<Vec<Descriptor>>,
}

/// Reads manifest bytes. The media type is the body's `mediaType`, else a `Content-Type` of the
/// `application/vnd.…` family (proxies send `application/octet-stream` or `application/json`), else the shape.
pub fn parse_manifest(
    content_type: Option<&str>,
    body: &[u8],
) -> Result<(String, ManifestKind), ManifestError> {
    let raw: RawManifest =
        serde_json::from_slice(body).map_err(|e| ManifestError::Invalid(e.to_string()))?;
    let header_type = content_type
        .map(|c| {
            c.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        })
        .filter(|c| c.starts_with("application/vnd."));
    let body_type = raw.media_type.clone().filter(|m| !m.is_empty());
    let media_type =
        body_type
            .or(header_type)
            .unwrap_or_else(|| match (&raw.manifests, &raw.config) {
                (Some(_), _) => OCI_INDEX.to_string(),
                (None, Some(_)) => OCI_MANIFEST.to_string(),
                (None, None) => String::new(),
            });
    match media_type.as_str() {
        OCI_INDEX | DOCKER_MANIFEST_LIST => {
            let manifests = raw
                .manifests
                .ok_or_else(|| ManifestError::Invalid("index without 'manifests'".into()))?;
            Ok((media_type, ManifestKind::Index { manifests }))
        }
        OCI_MANIFEST | DOCKER_MANIFEST => {
            if raw.schema_version.is_some_and(|v| v != 2) {
                return Err(ManifestError::Unsupported(format!(
                    "{media_type} with schemaVersion {:?}",
                    raw.schema_version
                )));
            }
            let config = raw
                .config
                .ok_or_else(|| ManifestError::Invalid("image manifest without 'config'".into()))?;
            Ok((
                media_type,
                ManifestKind::Image {
                    config,
                    layers: raw.layers.unwrap_or_default(),
                },
            ))
        }
        "" => Err(ManifestError::Invalid(
            "neither 'manifests' nor 'config' present".into(),
        )),
        other => Err(ManifestError::Unsupported(other.to_string())),
    }
}

/// `sha256:<hex>` of some bytes.
pub fn sha256_digest(bytes: &[u8]) -> String {
    let hash = Sha256::digest(bytes);
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// What [`ImageConfig`] takes from a config blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigFields {
    /// `None` also when the value is not an RFC 3339 time: the image is then undated (as the zero time is in
    /// argocd-image-updater), not an error that would fail every policy on the repository.
    pub created: Option<DateTime<Utc>>,
    /// The `created` value that could not be read, for a warning.
    pub unreadable_created: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub platform: Option<Platform>,
}

#[derive(Deserialize)]
struct RawConfig {
    created: Option<String>,
    os: Option<String>,
    architecture: Option<String>,
    variant: Option<String>,
    config: Option<RawRuntime>,
}

#[derive(Deserialize)]
struct RawRuntime {
    #[serde(rename = "Labels", default)]
    labels: Option<BTreeMap<String, String>>,
}

/// Reads `created`, `config.Labels` and the platform from an image config blob (OCI or Docker).
pub fn parse_image_config(body: &[u8]) -> Result<ConfigFields, ManifestError> {
    let raw: RawConfig =
        serde_json::from_slice(body).map_err(|e| ManifestError::InvalidConfig(e.to_string()))?;
    let (created, unreadable_created) = match raw.created.filter(|c| !c.is_empty()) {
        None => (None, None),
        Some(text) => match DateTime::parse_from_rfc3339(&text) {
            Ok(time) => (Some(time.with_timezone(&Utc)), None),
            Err(_) => (None, Some(text)),
        },
    };
    let platform = match (raw.os, raw.architecture) {
        (Some(os), Some(arch)) if !os.is_empty() && !arch.is_empty() => Some(Platform {
            os,
            architecture: arch,
            variant: raw.variant.filter(|v| !v.is_empty()),
        }),
        _ => None,
    };
    Ok(ConfigFields {
        created,
        unreadable_created,
        labels: raw.config.and_then(|c| c.labels).unwrap_or_default(),
        platform,
    })
}

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
fn available(manifests: &[Descriptor]) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    const INDEX: &str = r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[
        {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:aa","size":1,"platform":{"os":"linux","architecture":"arm","variant":"v7"}},
        {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:bb","size":2,"platform":{"os":"linux","architecture":"amd64"}}]}"#;
    const IMAGE: &str = r#"{"schemaVersion":2,"config":{"mediaType":"application/vnd.docker.container.image.v1+json","digest":"sha256:cc","size":3},"layers":[]}"#;

    #[test]
    fn parses_manifests() {
        for (name, content_type, body, want) in [
            ("oci index from body", None, INDEX, Ok((OCI_INDEX, 2))),
            (
                "docker manifest from header",
                Some("application/vnd.docker.distribution.manifest.v2+json"),
                IMAGE,
                Ok((DOCKER_MANIFEST, 0)),
            ),
            (
                "header with parameters",
                Some("application/vnd.oci.image.manifest.v1+json; charset=utf-8"),
                IMAGE,
                Ok((OCI_MANIFEST, 0)),
            ),
            (
                "octet-stream header, shape decides",
                Some("application/octet-stream"),
                INDEX,
                Ok((OCI_INDEX, 2)),
            ),
            (
                "body media type wins over header",
                Some(DOCKER_MANIFEST),
                INDEX,
                Ok((OCI_INDEX, 2)),
            ),
            (
                "generic json header, shape decides",
                Some("application/json"),
                IMAGE,
                Ok((OCI_MANIFEST, 0)),
            ),
            (
                "docker list from header when the body has no media type",
                Some(DOCKER_MANIFEST_LIST),
                r#"{"schemaVersion":2,"manifests":[]}"#,
                Ok((DOCKER_MANIFEST_LIST, 0)),
            ),
            (
                "schema 1",
                Some("application/vnd.docker.distribution.manifest.v1+prettyjws"),
                r#"{"schemaVersion":1}"#,
                Err(ManifestError::Unsupported(
                    "application/vnd.docker.distribution.manifest.v1+prettyjws".into(),
                )),
            ),
            (
                "index without manifests",
                Some(OCI_INDEX),
                "{}",
                Err(ManifestError::Invalid("index without 'manifests'".into())),
            ),
            (
                "no shape",
                None,
                "{}",
                Err(ManifestError::Invalid(
                    "neither 'manifests' nor 'config' present".into(),
                )),
            ),
        ] {
            let got = parse_manifest(content_type, body.as_bytes()).map(|(media_type, kind)| {
                let count = match kind {
                    ManifestKind::Index { manifests } => manifests.len(),
                    ManifestKind::Image { .. } => 0,
                };
                (media_type, count)
            });
            assert_eq!(got, want.map(|(m, c)| (m.to_string(), c)), "{name}");
        }
        assert!(
            matches!(
                parse_manifest(None, b"not json"),
                Err(ManifestError::Invalid(_))
            ),
            "not json"
        );
    }

    #[test]
    fn parses_image_configs() {
        let full = r#"{"created":"2024-01-02T03:04:05.123456789Z","os":"linux","architecture":"arm64","variant":"v8",
            "config":{"Labels":{"org.opencontainers.image.revision":"abc"}}}"#;
        let got = parse_image_config(full.as_bytes()).unwrap();
        assert_eq!(
            got.created.unwrap().to_rfc3339(),
            "2024-01-02T03:04:05.123456789+00:00"
        );
        assert_eq!(
            got.labels
                .get("org.opencontainers.image.revision")
                .map(String::as_str),
            Some("abc")
        );
        assert_eq!(
            got.platform,
            Some(Platform::new("linux", "arm64", Some("v8")))
        );
        for (name, body, want) in [
            (
                "offset time",
                r#"{"created":"2024-01-02T05:04:05+02:00"}"#,
                Ok(Some("2024-01-02T03:04:05+00:00")),
            ),
            ("no created", r#"{"config":{"Labels":null}}"#, Ok(None)),
            ("null config", r#"{"config":null}"#, Ok(None)),
            (
                "bad created: undated",
                r#"{"created":"yesterday"}"#,
                Ok(None),
            ),
            (
                "month 0: undated",
                r#"{"created":"2024-00-01T00:00:00Z"}"#,
                Ok(None),
            ),
        ] {
            let got =
                parse_image_config(body.as_bytes()).map(|c| c.created.map(|t| t.to_rfc3339()));
            assert_eq!(got, want.map(|o| o.map(str::to_string)), "{name}");
        }
        assert_eq!(
            parse_image_config(br#"{"created":"yesterday"}"#)
                .unwrap()
                .unreadable_created
                .as_deref(),
            Some("yesterday"),
            "kept for the warning"
        );
        assert_eq!(
            parse_image_config(b"[").unwrap_err().to_string(),
            "image config is not valid JSON: EOF while parsing a list at line 1 column 1"
        );
    }

    #[test]
    fn digests_and_availability() {
        assert_eq!(
            sha256_digest(b""),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let (_, kind) = parse_manifest(None, INDEX.as_bytes()).unwrap();
        let ManifestKind::Index { manifests } = kind else {
            panic!("index expected")
        };
        assert_eq!(available(&manifests), "linux/arm/v7, linux/amd64");
        assert_eq!(available(&[]), "no platform entries");
    }
}
