//! Container image references: parse, normalise and display them as the Docker/OCI tooling does.
//!
//! Parsing follows distribution/reference's `ParseNormalizedNamed`: a familiar name such as `nginx` becomes
//! `docker.io/library/nginx`, the first path component is a registry when it contains `.` or `:`, is `localhost`, or
//! has an upper-case letter (`Foo/bar` is registry `Foo`, as Docker reads it), and `index.docker.io` means `docker.io`.
//! Two deliberate additions: `registry-1.docker.io` also normalises to `docker.io` (it is Docker Hub's API host, and
//! users copy it from registry configuration), and a first component that names a registry but is not a valid host
//! (`foo_bar.com/x`) is an error instead of a registry-less name.
//!
//! Digests follow go-digest: `sha256`, `sha384` and `sha512` with the exact number of lower-case hex digits; any other
//! algorithm that fits the reference grammar is rejected as unsupported, as Docker rejects it.
//!
//! [`ImageRef`] and its accessors live here; `parse` holds the reference grammar, `defaults` the default registry
//! and namespaces (Docker Hub's or registries.conf's), `familiar` how Docker reads and writes short names.

mod defaults;
mod familiar;
mod parse;
#[cfg(test)]
mod tests;

use std::fmt;
use std::str::FromStr;

use defaults::DOCKER_DEFAULTS;
use parse::parse_reference;

pub use defaults::ImageDefaults;
pub use familiar::{is_registry_host, normalise_registry};
pub use parse::{is_valid_digest, is_valid_tag};

/// Why a string is not an image reference. Every message quotes the input (a URL in it without its credentials)
/// and says how to fix it.
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
pub enum ImageRefError {
    #[error(
        "invalid image reference '': the reference is empty; give an image name such as 'nginx:1.27'"
    )]
    Empty,
    #[error(
        "invalid image reference '{input}': a 64-character hexadecimal string is an image ID, not a repository name"
    )]
    HexIdentifier { input: String },
    #[error(
        "invalid image reference '{input}': repository name must be lowercase (write '{suggestion}')"
    )]
    Uppercase { input: String, suggestion: String },
    #[error(
        "invalid image reference '{input}': registry '{registry}' is not a host name, IPv4 address or \
         [IPv6] address with an optional ':port'"
    )]
    Registry { input: String, registry: String },
    #[error("invalid image reference '{input}': no repository name before the tag or digest")]
    MissingName { input: String },
    #[error(
        "invalid image reference '{input}': empty path component; remove the doubled or trailing '/'"
    )]
    EmptyPathComponent { input: String },
    #[error(
        "invalid image reference '{input}': path component '{component}' is invalid; use lowercase letters and \
         digits, separated by '.', '_', '__' or dashes"
    )]
    PathComponent { input: String, component: String },
    #[error(
        "invalid image reference '{input}': repository name is {length} characters long, more than the 255 allowed"
    )]
    NameTooLong { input: String, length: usize },
    #[error(
        "invalid image reference '{input}': tag '{tag}' is invalid; a tag is 1 to 128 letters, digits, '_', '.' \
         or '-' and does not start with '.' or '-'"
    )]
    Tag { input: String, tag: String },
    #[error(
        "invalid image reference '{input}': digest '{digest}' is invalid; write '<algorithm>:<hex>', such as \
         'sha256:' and 64 hex digits"
    )]
    DigestFormat { input: String, digest: String },
    #[error(
        "invalid image reference '{input}': digest algorithm '{algorithm}' is not supported; use sha256, sha384 \
         or sha512"
    )]
    DigestAlgorithm { input: String, algorithm: String },
    #[error(
        "invalid image reference '{input}': a {algorithm} digest has {expected} hex digits, not {actual}"
    )]
    DigestLength {
        input: String,
        algorithm: String,
        expected: usize,
        actual: usize,
    },
    #[error(
        "invalid image reference '{input}': digest hex digits must be lowercase (write '{suggestion}')"
    )]
    DigestCase { input: String, suggestion: String },
    #[error(
        "invalid image reference '{input}': nothing follows ':'; remove the ':' or add a version constraint"
    )]
    EmptyConstraint { input: String },
}

/// A normalised image reference: registry, repository path, and an optional tag and digest.
///
/// Equality and hashing compare the normalised form, so `nginx` and `docker.io/library/nginx` are equal.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ImageRef {
    registry: String,
    repository: String,
    tag: Option<String>,
    digest: Option<String>,
}

impl ImageRef {
    /// Parses a reference the way `docker pull` does and normalises it.
    ///
    /// ```
    /// use argocd_image_resolver_core::image::ImageRef;
    ///
    /// let image = ImageRef::parse("nginx:1.27").unwrap();
    /// assert_eq!(image.canonical(), "docker.io/library/nginx:1.27");
    /// assert_eq!(image.familiar(), "nginx:1.27");
    /// assert_eq!(ImageRef::parse("localhost:5000/app").unwrap().registry(), "localhost:5000");
    /// assert!(ImageRef::parse("Nginx").is_err());
    /// ```
    pub fn parse(s: &str) -> Result<ImageRef, ImageRefError> {
        parse_reference(s, s, &DOCKER_DEFAULTS)
    }

    /// [`ImageRef::parse`] with another default registry or namespaces (registries.conf's `default` and
    /// `defaultns`).
    ///
    /// ```
    /// use argocd_image_resolver_core::image::{ImageDefaults, ImageRef};
    ///
    /// let corp = ImageDefaults::new("registry.corp").with_namespace("registry.corp", "base");
    /// assert_eq!(ImageRef::parse_with("nginx", &corp).unwrap().name(), "registry.corp/base/nginx");
    /// assert_eq!(ImageRef::parse_with("team/app", &corp).unwrap().name(), "registry.corp/team/app");
    /// assert_eq!(ImageRef::parse_with("docker.io/nginx", &corp).unwrap().name(), "docker.io/library/nginx");
    /// ```
    pub fn parse_with(s: &str, defaults: &ImageDefaults) -> Result<ImageRef, ImageRefError> {
        parse_reference(s, s, defaults)
    }

    /// The registry host, with a port when one was given: `docker.io`, `ghcr.io`, `localhost:5000`.
    pub fn registry(&self) -> &str {
        &self.registry
    }

    /// The repository path inside the registry, with Docker Hub's `library/` made explicit: `library/nginx`.
    pub fn repository(&self) -> &str {
        &self.repository
    }

    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    /// The digest including its algorithm: `sha256:…`.
    pub fn digest(&self) -> Option<&str> {
        self.digest.as_deref()
    }

    /// The canonical name without tag or digest: `docker.io/library/nginx`.
    pub fn name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    /// The full canonical reference: name, then `:tag` and `@digest` when present.
    pub fn canonical(&self) -> String {
        with_suffixes(self.name(), self.tag(), self.digest())
    }

    /// The same repository with `tag` and no digest (the old digest belonged to the old tag).
    ///
    /// The tag is not validated: it normally comes from a registry's tag list. Check untrusted text with
    /// [`is_valid_tag`] first.
    pub fn with_tag(&self, tag: &str) -> ImageRef {
        ImageRef {
            tag: Some(tag.to_string()),
            digest: None,
            ..self.clone()
        }
    }

    /// The same reference pinned to `digest`, keeping the tag (`name:tag@digest`).
    ///
    /// The digest is not validated: it normally comes from a registry's response. Check untrusted text with
    /// [`is_valid_digest`] first.
    pub fn with_digest(&self, digest: &str) -> ImageRef {
        ImageRef {
            digest: Some(digest.to_string()),
            ..self.clone()
        }
    }

    /// The repository alone, without tag or digest.
    pub fn repository_only(&self) -> ImageRef {
        ImageRef {
            tag: None,
            digest: None,
            ..self.clone()
        }
    }

    /// Whether both references name the same repository in the same registry, ignoring tag and digest.
    pub fn same_repository(&self, other: &ImageRef) -> bool {
        self.registry == other.registry && self.repository == other.repository
    }
}

impl fmt::Display for ImageRef {
    /// Writes the canonical form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.canonical())
    }
}

impl FromStr for ImageRef {
    type Err = ImageRefError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ImageRef::parse(s)
    }
}

/// Splits an argocd-image-updater `image-list` entry, `image[:constraint]`, into the image and its constraint.
///
/// The constraint is everything after the first `:` that follows the last `/`, so a registry port
/// (`localhost:5000/app`) is never mistaken for one, and the text may hold characters no tag allows
/// (`^ ~ > < = * x , |` and spaces). A digest (`@sha256:…`) stays on the returned reference, which never has a tag.
///
/// ```
/// use argocd_image_resolver_core::image::split_constraint;
///
/// let (image, constraint) = split_constraint("localhost:5000/app:^1.2").unwrap();
/// assert_eq!(image.canonical(), "localhost:5000/app");
/// assert_eq!(constraint.as_deref(), Some("^1.2"));
/// assert_eq!(split_constraint("localhost:5000/app").unwrap().1, None);
/// ```
pub fn split_constraint(s: &str) -> Result<(ImageRef, Option<String>), ImageRefError> {
    split_constraint_with(s, &DOCKER_DEFAULTS)
}

/// [`split_constraint`] with another default registry or namespaces.
pub fn split_constraint_with(
    s: &str,
    defaults: &ImageDefaults,
) -> Result<(ImageRef, Option<String>), ImageRefError> {
    // A constraint never contains '@', so the digest is whatever follows the first one.
    let (base, digest) = s.split_at(s.find('@').unwrap_or(s.len()));
    let last_component = base.rfind('/').map_or(0, |i| i + 1);
    let Some(colon) = base[last_component..].find(':').map(|i| i + last_component) else {
        return Ok((parse_reference(s, s, defaults)?, None));
    };
    let constraint = &base[colon + 1..];
    if constraint.trim().is_empty() {
        return Err(ImageRefError::EmptyConstraint {
            input: crate::redact::redact_url(s),
        });
    }
    let image = parse_reference(&format!("{}{digest}", &base[..colon]), s, defaults)?;
    Ok((image, Some(constraint.to_string())))
}

fn with_suffixes(mut name: String, tag: Option<&str>, digest: Option<&str>) -> String {
    if let Some(tag) = tag {
        name.push(':');
        name.push_str(tag);
    }
    if let Some(digest) = digest {
        name.push('@');
        name.push_str(digest);
    }
    name
}
