//! How Docker reads and writes short names: which first component is a registry, Docker Hub's other host names,
//! and the familiar form written back (`nginx`, `user/app`), which always reads back as the same repository.

use super::defaults::{DEFAULT_REGISTRY, OFFICIAL_PREFIX};
use super::{ImageRef, with_suffixes};

/// Registry host names that mean Docker Hub.
const DOCKER_HUB_ALIASES: [&str; 2] = ["index.docker.io", "registry-1.docker.io"];

impl ImageRef {
    /// The name as Docker prints it: `nginx`, `user/app`, `ghcr.io/x/y` (Docker Hub and `library/` left out),
    /// always read back by [`ImageRef::parse`] as this repository. So Docker Hub stays when the path would read as a
    /// registry (`docker.io/my.org/app`, not `my.org/app`), and `library/` when the name alone would read as an image
    /// ID (64 hex digits).
    pub fn familiar_name(&self) -> String {
        if self.registry != DEFAULT_REGISTRY {
            return self.name();
        }
        let first = self.repository.split('/').next().unwrap_or_default();
        if is_registry_host(first) {
            return self.name();
        }
        match self.repository.strip_prefix(OFFICIAL_PREFIX) {
            Some(rest) if !rest.contains('/') && !is_image_id(rest) => rest.to_string(),
            _ => self.repository.clone(),
        }
    }

    /// The familiar name followed by `:tag` and `@digest` when present: `nginx:1.27`.
    pub fn familiar(&self) -> String {
        with_suffixes(self.familiar_name(), self.tag(), self.digest())
    }
}

/// Whether `s` is an image ID (64 lower-case hex digits), which Docker refuses as a name.
pub(super) fn is_image_id(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// distribution/reference's `splitDockerDomain`: returns the registry, whether the input named it, and the rest.
pub(super) fn split_registry(s: &str) -> (&str, bool, &str) {
    let Some((first, rest)) = s.split_once('/') else {
        // A single component is always a Docker Hub name, even "localhost" or "example.com".
        return (DEFAULT_REGISTRY, false, s);
    };
    if is_registry_host(first) || first.to_lowercase() != first {
        (first, true, rest)
    } else {
        (DEFAULT_REGISTRY, false, s)
    }
}

/// Whether the first component of a reference names a registry rather than a namespace, as docker reads it: it
/// holds a `.` or a `:port`, or is `localhost`. A default registry must, too, or names written with it would read
/// back as Docker Hub's.
pub fn is_registry_host(first: &str) -> bool {
    first == "localhost" || first.contains(['.', ':'])
}

/// Docker Hub's other names (`index.docker.io`, `registry-1.docker.io`) as `docker.io`; other hosts unchanged.
pub fn normalise_registry(registry: &str) -> &str {
    if DOCKER_HUB_ALIASES.contains(&registry) {
        DEFAULT_REGISTRY
    } else {
        registry
    }
}
