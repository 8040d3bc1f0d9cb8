//! The default registry and namespaces of names written without a host: Docker Hub's `docker.io` and `library/`,
//! or registries.conf's `default` and `defaultns`.

use std::collections::BTreeMap;
use std::sync::LazyLock;

/// The registry of familiar names, as Docker writes it in canonical names.
pub(super) const DEFAULT_REGISTRY: &str = "docker.io";
/// The namespace of Docker Hub's official images.
pub(super) const OFFICIAL_PREFIX: &str = "library/";

/// Where an image written without a registry host lives, and the namespace a one-component repository name gets on
/// a registry: Docker Hub and its `library/`, unless registries.conf names a `default` registry or `defaultns`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageDefaults {
    registry: String,
    namespaces: BTreeMap<String, String>,
}

/// Docker's defaults, built once: every plain [`super::ImageRef::parse`] uses them.
pub(super) static DOCKER_DEFAULTS: LazyLock<ImageDefaults> = LazyLock::new(ImageDefaults::default);

impl Default for ImageDefaults {
    fn default() -> Self {
        ImageDefaults::new(DEFAULT_REGISTRY)
    }
}

impl ImageDefaults {
    /// Images without a host belong to `registry` (normalised `host[:port]`); Docker Hub keeps `library/`.
    pub fn new(registry: impl Into<String>) -> Self {
        ImageDefaults {
            registry: registry.into(),
            namespaces: BTreeMap::from([(
                DEFAULT_REGISTRY.to_string(),
                OFFICIAL_PREFIX.trim_end_matches('/').to_string(),
            )]),
        }
    }

    /// One-component names on `registry` live under `namespace`.
    pub fn with_namespace(
        mut self,
        registry: impl Into<String>,
        namespace: impl Into<String>,
    ) -> Self {
        self.namespaces.insert(registry.into(), namespace.into());
        self
    }

    /// The registry of images written without one.
    pub fn registry(&self) -> &str {
        &self.registry
    }

    pub(super) fn namespace(&self, registry: &str) -> Option<&str> {
        self.namespaces.get(registry).map(String::as_str)
    }
}
