//! Manifests, indexes and image configs: reading them (the pure parsers, here) and fetching them (in `fetch`:
//! `digest` by `HEAD`, `manifest` by `GET` with all four media types accepted, `image_config` through an index to a
//! platform's config blob for its creation date and labels).

mod fetch;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use sha2::{Digest as _, Sha256};

use crate::platform::Platform;

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
