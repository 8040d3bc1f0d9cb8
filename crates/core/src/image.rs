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

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::sync::LazyLock;

/// The registry of familiar names, as Docker writes it in canonical names.
const DEFAULT_REGISTRY: &str = "docker.io";
/// Registry host names that mean Docker Hub.
const DOCKER_HUB_ALIASES: [&str; 2] = ["index.docker.io", "registry-1.docker.io"];
/// The namespace of Docker Hub's official images.
const OFFICIAL_PREFIX: &str = "library/";
/// distribution/reference's `RepositoryNameTotalLengthMax`, counted on the repository path.
const MAX_REPOSITORY_LEN: usize = 255;
const MAX_TAG_LEN: usize = 128;
/// go-digest's registered algorithms and their hex lengths.
const DIGEST_ALGORITHMS: [(&str, usize); 3] = [("sha256", 64), ("sha384", 96), ("sha512", 128)];

/// Why a string is not an image reference. Every message quotes the input and says how to fix it.
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

    /// The full canonical reference: name, then `:tag` and `@digest` when present.
    pub fn canonical(&self) -> String {
        with_suffixes(self.name(), self.tag(), self.digest())
    }

    /// The familiar name followed by `:tag` and `@digest` when present: `nginx:1.27`.
    pub fn familiar(&self) -> String {
        with_suffixes(self.familiar_name(), self.tag(), self.digest())
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

/// Where an image written without a registry host lives, and the namespace a one-component repository name gets on
/// a registry: Docker Hub and its `library/`, unless registries.conf names a `default` registry or `defaultns`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageDefaults {
    registry: String,
    namespaces: BTreeMap<String, String>,
}

/// Docker's defaults, built once: every plain [`ImageRef::parse`] uses them.
static DOCKER_DEFAULTS: LazyLock<ImageDefaults> = LazyLock::new(ImageDefaults::default);

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

    fn namespace(&self, registry: &str) -> Option<&str> {
        self.namespaces.get(registry).map(String::as_str)
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
            input: s.to_string(),
        });
    }
    let image = parse_reference(&format!("{}{digest}", &base[..colon]), s, defaults)?;
    Ok((image, Some(constraint.to_string())))
}

/// Whether `tag` fits the tag grammar `[\w][\w.-]{0,127}` (ASCII word characters).
pub fn is_valid_tag(tag: &str) -> bool {
    let bytes = tag.as_bytes();
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    !bytes.is_empty()
        && bytes.len() <= MAX_TAG_LEN
        && word(bytes[0])
        && bytes[1..]
            .iter()
            .all(|&b| word(b) || b == b'.' || b == b'-')
}

/// Whether `digest` is a digest this module accepts: a supported algorithm and its exact lower-case hex length.
pub fn is_valid_digest(digest: &str) -> bool {
    check_digest(digest, "").is_ok()
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

/// Parses `s`; errors quote `shown` (the text the user wrote, which differs from `s` for [`split_constraint`]).
fn parse_reference(
    s: &str,
    shown: &str,
    defaults: &ImageDefaults,
) -> Result<ImageRef, ImageRefError> {
    let input = || shown.to_string();
    if s.is_empty() {
        // `:1.0` splits into an empty image and a constraint: the repository is what is missing.
        return Err(if shown.is_empty() {
            ImageRefError::Empty
        } else {
            ImageRefError::MissingName { input: input() }
        });
    }
    if is_image_id(s) {
        return Err(ImageRefError::HexIdentifier { input: input() });
    }
    let (registry, explicit_registry, remainder) = split_registry(s);
    // The path ends at the tag's ':' or the digest's '@'; neither character can occur in a path.
    let path_end = remainder.find([':', '@']).unwrap_or(remainder.len());
    let user_path = &remainder[..path_end];
    if user_path.is_empty() {
        return Err(ImageRefError::MissingName { input: input() });
    }
    let lower_path = user_path.to_lowercase();
    if lower_path != user_path {
        // `shown` normally agrees with `s` up to the end of the path, so the same offsets locate the path in it.
        let start = s.len() - remainder.len();
        let end = start + user_path.len();
        let text = if shown.get(start..end) == Some(user_path) {
            shown
        } else {
            s
        };
        let suggestion = format!("{}{lower_path}{}", &text[..start], &text[end..]);
        return Err(ImageRefError::Uppercase {
            input: input(),
            suggestion,
        });
    }
    if explicit_registry && !is_valid_registry(registry) {
        return Err(ImageRefError::Registry {
            input: input(),
            registry: registry.to_string(),
        });
    }
    let registry = if explicit_registry {
        normalise_registry(registry)
    } else {
        defaults.registry.as_str()
    };
    let repository = match defaults.namespace(registry) {
        Some(namespace) if !user_path.contains('/') => format!("{namespace}/{user_path}"),
        _ => user_path.to_string(),
    };
    for component in repository.split('/') {
        if component.is_empty() {
            return Err(ImageRefError::EmptyPathComponent { input: input() });
        }
        if !is_valid_path_component(component) {
            return Err(ImageRefError::PathComponent {
                input: input(),
                component: component.to_string(),
            });
        }
    }
    if repository.len() > MAX_REPOSITORY_LEN {
        return Err(ImageRefError::NameTooLong {
            input: input(),
            length: repository.len(),
        });
    }
    let suffix = &remainder[path_end..];
    let (before_digest, digest) = match suffix.find('@') {
        Some(at) => (&suffix[..at], Some(&suffix[at + 1..])),
        None => (suffix, None),
    };
    let tag = match before_digest.strip_prefix(':') {
        Some(tag) if is_valid_tag(tag) => Some(tag.to_string()),
        Some(tag) => {
            return Err(ImageRefError::Tag {
                input: input(),
                tag: tag.to_string(),
            });
        }
        None => None,
    };
    if let Some(digest) = digest {
        check_digest(digest, shown)?;
    }
    Ok(ImageRef {
        registry: registry.to_string(),
        repository,
        tag,
        digest: digest.map(str::to_string),
    })
}

/// Whether `s` is an image ID (64 lower-case hex digits), which Docker refuses as a name.
fn is_image_id(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// distribution/reference's `splitDockerDomain`: returns the registry, whether the input named it, and the rest.
fn split_registry(s: &str) -> (&str, bool, &str) {
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

/// `host [':' port]` where host is a DNS-like name (letters of either case, digits, inner dashes), an IPv4 address,
/// or a bracketed IPv6 address of hex digits and colons.
fn is_valid_registry(registry: &str) -> bool {
    let (host_ok, port) = if let Some(inner) = registry.strip_prefix('[') {
        let Some(close) = inner.find(']') else {
            return false;
        };
        let address = &inner[..close];
        let ok = !address.is_empty() && address.bytes().all(|b| b.is_ascii_hexdigit() || b == b':');
        (ok, &inner[close + 1..])
    } else {
        let (host, port) = registry.split_at(registry.find(':').unwrap_or(registry.len()));
        (host.split('.').all(is_valid_domain_component), port)
    };
    let port_ok = port.is_empty()
        || port
            .strip_prefix(':')
            .is_some_and(|digits| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()));
    host_ok && port_ok
}

fn is_valid_domain_component(component: &str) -> bool {
    let bytes = component.as_bytes();
    let alnum = |b: &u8| b.is_ascii_alphanumeric();
    match bytes {
        [] => false,
        [only] => alnum(only),
        [first, middle @ .., last] => {
            alnum(first) && alnum(last) && middle.iter().all(|b| alnum(b) || *b == b'-')
        }
    }
}

/// `[a-z0-9]+ ((\.|_|__|-+) [a-z0-9]+)*`
fn is_valid_path_component(component: &str) -> bool {
    let bytes = component.as_bytes();
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let mut i = 0;
    loop {
        let run_start = i;
        while i < bytes.len() && alnum(bytes[i]) {
            i += 1;
        }
        if i == run_start {
            return false;
        }
        if i == bytes.len() {
            return true;
        }
        match bytes[i] {
            b'.' => i += 1,
            b'_' => {
                i += if bytes.get(i + 1) == Some(&b'_') {
                    2
                } else {
                    1
                }
            }
            b'-' => {
                while bytes.get(i) == Some(&b'-') {
                    i += 1;
                }
            }
            _ => return false,
        }
    }
}

/// The reference grammar's digest (`algorithm ':' hex{32,}`), then go-digest's check of the algorithm and encoding.
fn check_digest(digest: &str, shown: &str) -> Result<(), ImageRefError> {
    let input = || shown.to_string();
    let format_error = || ImageRefError::DigestFormat {
        input: input(),
        digest: digest.to_string(),
    };
    let Some((algorithm, hex)) = digest.split_once(':') else {
        return Err(format_error());
    };
    if !is_digest_algorithm(algorithm)
        || hex.len() < 32
        || !hex.bytes().all(|b| b.is_ascii_hexdigit())
    {
        return Err(format_error());
    }
    let Some(&(_, expected)) = DIGEST_ALGORITHMS
        .iter()
        .find(|(name, _)| *name == algorithm)
    else {
        return Err(ImageRefError::DigestAlgorithm {
            input: input(),
            algorithm: algorithm.to_string(),
        });
    };
    if hex.len() != expected {
        return Err(ImageRefError::DigestLength {
            input: input(),
            algorithm: algorithm.to_string(),
            expected,
            actual: hex.len(),
        });
    }
    if hex.bytes().any(|b| b.is_ascii_uppercase()) {
        // The digest ends the input, so its hex is the last occurrence (a tag could repeat the same text).
        let at = shown.rfind(hex).unwrap_or(shown.len());
        let suggestion = format!(
            "{}{}{}",
            &shown[..at],
            hex.to_ascii_lowercase(),
            &shown[(at + hex.len()).min(shown.len())..]
        );
        return Err(ImageRefError::DigestCase {
            input: input(),
            suggestion,
        });
    }
    Ok(())
}

/// `[A-Za-z][A-Za-z0-9]* ([-_+.][A-Za-z][A-Za-z0-9]*)*`
fn is_digest_algorithm(algorithm: &str) -> bool {
    algorithm.split(['-', '_', '+', '.']).all(|part| {
        let mut bytes = part.bytes();
        bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
            && bytes.all(|b| b.is_ascii_alphanumeric())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SHA: &str = "sha256:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff";
    const SHA512: &str = "sha512:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff\
                          ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff";

    fn parsed(input: &str) -> ImageRef {
        ImageRef::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"))
    }

    /// (input, registry, repository, tag, digest): distribution/reference's TestReferenceParse,
    /// TestParseRepositoryInfo, TestNormalizedSplitHostname and TestValidateReferenceName cases, normalised.
    #[test]
    fn parses_and_normalises() {
        type Case = (
            &'static str,
            &'static str,
            &'static str,
            Option<&'static str>,
            Option<&'static str>,
        );
        let cases: &[Case] = &[
            ("nginx", "docker.io", "library/nginx", None, None),
            (
                "nginx:1.27",
                "docker.io",
                "library/nginx",
                Some("1.27"),
                None,
            ),
            ("user/app", "docker.io", "user/app", None, None),
            ("docker.io/nginx", "docker.io", "library/nginx", None, None),
            (
                "docker.io/library/nginx",
                "docker.io",
                "library/nginx",
                None,
                None,
            ),
            (
                "index.docker.io/nginx",
                "docker.io",
                "library/nginx",
                None,
                None,
            ),
            (
                "index.docker.io/fooo/bar",
                "docker.io",
                "fooo/bar",
                None,
                None,
            ),
            (
                "registry-1.docker.io/library/nginx",
                "docker.io",
                "library/nginx",
                None,
                None,
            ),
            ("library/ubuntu", "docker.io", "library/ubuntu", None, None),
            (
                "library/foo/bar",
                "docker.io",
                "library/foo/bar",
                None,
                None,
            ),
            ("store/foo/bar", "docker.io", "store/foo/bar", None, None),
            ("other/library", "docker.io", "other/library", None, None),
            (
                "ubuntu-12.04-base",
                "docker.io",
                "library/ubuntu-12.04-base",
                None,
                None,
            ),
            ("ghcr.io/x/y", "ghcr.io", "x/y", None, None),
            ("localhost/x", "localhost", "x", None, None),
            ("localhost:5000/x", "localhost:5000", "x", None, None),
            ("localhost", "docker.io", "library/localhost", None, None),
            (
                "localhost:5000",
                "docker.io",
                "library/localhost",
                Some("5000"),
                None,
            ),
            ("test_com", "docker.io", "library/test_com", None, None),
            ("test_com/foo", "docker.io", "test_com/foo", None, None),
            (
                "test.com:tag",
                "docker.io",
                "library/test.com",
                Some("tag"),
                None,
            ),
            (
                "test.com:5000",
                "docker.io",
                "library/test.com",
                Some("5000"),
                None,
            ),
            ("test.com/repo:tag", "test.com", "repo", Some("tag"), None),
            ("test:5000/repo", "test:5000", "repo", None, None),
            ("test:5000/repo:tag", "test:5000", "repo", Some("tag"), None),
            ("test-com:8080/foo", "test-com:8080", "foo", None, None),
            (
                "xn--n3h.com:18080/foo",
                "xn--n3h.com:18080",
                "foo",
                None,
                None,
            ),
            (
                "xn--n3h.com/myimage:xn--n3h.com",
                "xn--n3h.com",
                "myimage",
                Some("xn--n3h.com"),
                None,
            ),
            (
                "sub-dom1.foo.com/bar/baz/quux:some-long-tag",
                "sub-dom1.foo.com",
                "bar/baz/quux",
                Some("some-long-tag"),
                None,
            ),
            (
                "b.gcr.io/test.example.com/my-app:test.example.com",
                "b.gcr.io",
                "test.example.com/my-app",
                Some("test.example.com"),
                None,
            ),
            (
                "lowercase:Uppercase",
                "docker.io",
                "library/lowercase",
                Some("Uppercase"),
                None,
            ),
            (
                "foo_bar.com:8080",
                "docker.io",
                "library/foo_bar.com",
                Some("8080"),
                None,
            ),
            (
                "foo/foo_bar.com:8080",
                "docker.io",
                "foo/foo_bar.com",
                Some("8080"),
                None,
            ),
            (
                "192.168.1.1",
                "docker.io",
                "library/192.168.1.1",
                None,
                None,
            ),
            (
                "192.168.1.1:5000",
                "docker.io",
                "library/192.168.1.1",
                Some("5000"),
                None,
            ),
            ("192.168.1.1/repo", "192.168.1.1", "repo", None, None),
            (
                "192.168.1.1:5000/repo:5050",
                "192.168.1.1:5000",
                "repo",
                Some("5050"),
                None,
            ),
            (
                "127.0.0.1:8000/private/moonbase",
                "127.0.0.1:8000",
                "private/moonbase",
                None,
                None,
            ),
            ("[2001:db8::1]/repo", "[2001:db8::1]", "repo", None, None),
            (
                "[2001:db8:1:2:3:4:5:6]/repo:tag",
                "[2001:db8:1:2:3:4:5:6]",
                "repo",
                Some("tag"),
                None,
            ),
            (
                "[2001:db8::1]:5000/repo",
                "[2001:db8::1]:5000",
                "repo",
                None,
                None,
            ),
            ("[::1]:5000/repo", "[::1]:5000", "repo", None, None),
            ("Foo/bar", "Foo", "bar", None, None),
            ("DOCKER/docker", "DOCKER", "docker", None, None),
            (
                "docker---rules/docker",
                "docker.io",
                "docker---rules/docker",
                None,
                None,
            ),
            (
                "dock__er/docker",
                "docker.io",
                "dock__er/docker",
                None,
                None,
            ),
            ("d/docker", "docker.io", "d/docker", None, None),
            (
                "thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev",
                "docker.io",
                "library/thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev",
                None,
                None,
            ),
            (
                "docker.io/1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a",
                "docker.io",
                "library/1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a",
                None,
                None,
            ),
            (
                "dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9",
                "docker.io",
                "library/dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9",
                None,
                None,
            ),
        ];
        for &(input, registry, repository, tag, digest) in cases {
            let image = parsed(input);
            assert_eq!(image.registry(), registry, "{input}: registry");
            assert_eq!(image.repository(), repository, "{input}: repository");
            assert_eq!(image.tag(), tag, "{input}: tag");
            assert_eq!(image.digest(), digest, "{input}: digest");
        }
    }

    #[test]
    fn registries_conf_defaults_apply_to_names_without_a_host() {
        let corp = ImageDefaults::new("registry.corp:5000")
            .with_namespace("registry.corp:5000", "base")
            .with_namespace("quay.io", "acme");
        let cases = [
            (
                "no host: the default registry and namespace",
                "nginx:1.27",
                "registry.corp:5000/base/nginx:1.27",
            ),
            (
                "no host, with a namespace",
                "team/app",
                "registry.corp:5000/team/app",
            ),
            (
                "Docker Hub named: library as ever",
                "docker.io/nginx",
                "docker.io/library/nginx",
            ),
            (
                "a Docker Hub alias",
                "index.docker.io/redis",
                "docker.io/library/redis",
            ),
            (
                "another registry's namespace",
                "quay.io/app",
                "quay.io/acme/app",
            ),
            ("a registry without one", "ghcr.io/app", "ghcr.io/app"),
            (
                "the default registry named",
                "registry.corp:5000/app",
                "registry.corp:5000/base/app",
            ),
        ];
        for (name, input, want) in cases {
            let got = ImageRef::parse_with(input, &corp).map(|i| i.canonical());
            assert_eq!(got.as_deref(), Ok(want), "{name}");
        }
        let (image, constraint) = split_constraint_with("app:~1.2", &corp).unwrap();
        assert_eq!(
            (image.canonical().as_str(), constraint.as_deref()),
            ("registry.corp:5000/base/app", Some("~1.2")),
            "image-list entries too"
        );
        assert_eq!(
            ImageRef::parse_with("nginx", &ImageDefaults::default()),
            ImageRef::parse("nginx"),
            "the default defaults are Docker's"
        );
    }

    #[test]
    fn parses_digests() {
        let cases = [
            ("digest only", format!("test:5000/repo@{SHA}"), None, SHA),
            (
                "tag and digest",
                format!("test:5000/repo:tag@{SHA}"),
                Some("tag"),
                SHA,
            ),
            (
                "ipv6 registry",
                format!("[2001:db8::1]:5000/repo:tag@{SHA}"),
                Some("tag"),
                SHA,
            ),
            (
                "sha512",
                format!("xn--7o8h.com/myimage:xn--7o8h.com@{SHA512}"),
                Some("xn--7o8h.com"),
                SHA512,
            ),
            (
                "familiar with tag and digest",
                format!("busybox:latest@{SHA}"),
                Some("latest"),
                SHA,
            ),
        ];
        for (name, input, tag, digest) in cases {
            let image = parsed(&input);
            assert_eq!(image.tag(), tag, "{name}: tag");
            assert_eq!(image.digest(), Some(digest), "{name}: digest");
        }
        let busybox = parsed(&format!("busybox:latest@{SHA}"));
        assert_eq!(
            busybox.canonical(),
            format!("docker.io/library/busybox:latest@{SHA}")
        );
        assert_eq!(busybox.familiar(), format!("busybox:latest@{SHA}"));
    }

    #[test]
    fn rejects_with_named_part() {
        let long_path = format!("{}a:tag", "a/".repeat(128));
        let long_namespace = format!(
            "{}docker/docker",
            "this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_".repeat(4)
        );
        let cases: Vec<(&str, String, String)> = vec![
            ("empty", String::new(), "invalid image reference '': the reference is empty; give an image name such as 'nginx:1.27'".into()),
            ("upper-case familiar name", "Nginx".into(),
             "invalid image reference 'Nginx': repository name must be lowercase (write 'nginx')".into()),
            ("upper-case with tag", "Uppercase:tag".into(),
             "invalid image reference 'Uppercase:tag': repository name must be lowercase (write 'uppercase:tag')".into()),
            ("upper-case path after registry", "test:5000/Uppercase/lowercase:tag".into(),
             "invalid image reference 'test:5000/Uppercase/lowercase:tag': repository name must be lowercase (write 'test:5000/uppercase/lowercase:tag')".into()),
            ("upper-case path on docker hub", "docker/Docker".into(),
             "invalid image reference 'docker/Docker': repository name must be lowercase (write 'docker/docker')".into()),
            ("hex identifier", "1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a".into(),
             "invalid image reference '1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a': a 64-character hexadecimal string is an image ID, not a repository name".into()),
            ("url", "https://github.com/docker/docker".into(),
             "invalid image reference 'https://github.com/docker/docker': registry 'https:' is not a host name, IPv4 address or [IPv6] address with an optional ':port'".into()),
            ("leading dash registry", "-docker.io/docker/docker".into(),
             "invalid image reference '-docker.io/docker/docker': registry '-docker.io' is not a host name, IPv4 address or [IPv6] address with an optional ':port'".into()),
            ("underscore in registry", "foo_bar.com/x".into(),
             "invalid image reference 'foo_bar.com/x': registry 'foo_bar.com' is not a host name, IPv4 address or [IPv6] address with an optional ':port'".into()),
            ("ipv6 without brackets", "fc00::1:5000/debian".into(),
             "invalid image reference 'fc00::1:5000/debian': registry 'fc00::1:5000' is not a host name, IPv4 address or [IPv6] address with an optional ':port'".into()),
            ("ipv6 zone", "[fe80::1%eth0]:5000/debian".into(),
             "invalid image reference '[fe80::1%eth0]:5000/debian': registry '[fe80::1%eth0]:5000' is not a host name, IPv4 address or [IPv6] address with an optional ':port'".into()),
            ("ipv6 with ipv4 tail", "[2001:db8:3:4::192.0.2.33]:5000/debian".into(),
             "invalid image reference '[2001:db8:3:4::192.0.2.33]:5000/debian': registry '[2001:db8:3:4::192.0.2.33]:5000' is not a host name, IPv4 address or [IPv6] address with an optional ':port'".into()),
            ("empty port", "localhost:/x".into(),
             "invalid image reference 'localhost:/x': registry 'localhost:' is not a host name, IPv4 address or [IPv6] address with an optional ':port'".into()),
            ("ipv6 alone", "[fc00::1]".into(),
             "invalid image reference '[fc00::1]': path component '[fc00' is invalid; use lowercase letters and digits, separated by '.', '_', '__' or dashes".into()),
            ("ipv6 with port alone", "[2001:db8::1]:5000".into(),
             "invalid image reference '[2001:db8::1]:5000': path component '[2001' is invalid; use lowercase letters and digits, separated by '.', '_', '__' or dashes".into()),
            ("leading dash", "-docker".into(),
             "invalid image reference '-docker': path component '-docker' is invalid; use lowercase letters and digits, separated by '.', '_', '__' or dashes".into()),
            ("trailing dash", "docker-/docker".into(),
             "invalid image reference 'docker-/docker': path component 'docker-' is invalid; use lowercase letters and digits, separated by '.', '_', '__' or dashes".into()),
            ("underscores only", "____/____".into(),
             "invalid image reference '____/____': path component '____' is invalid; use lowercase letters and digits, separated by '.', '_', '__' or dashes".into()),
            ("double period", "dock..er/docker".into(),
             "invalid image reference 'dock..er/docker': registry 'dock..er' is not a host name, IPv4 address or [IPv6] address with an optional ':port'".into()),
            ("underscore then period", "dock_.er/docker".into(),
             "invalid image reference 'dock_.er/docker': registry 'dock_.er' is not a host name, IPv4 address or [IPv6] address with an optional ':port'".into()),
            ("double period in path", "x/dock..er".into(),
             "invalid image reference 'x/dock..er': path component 'dock..er' is invalid; use lowercase letters and digits, separated by '.', '_', '__' or dashes".into()),
            ("triple underscore", "a___b/c".into(),
             "invalid image reference 'a___b/c': path component 'a___b' is invalid; use lowercase letters and digits, separated by '.', '_', '__' or dashes".into()),
            ("dollar", "aa/asdf$$^/aa".into(),
             "invalid image reference 'aa/asdf$$^/aa': path component 'asdf$$^' is invalid; use lowercase letters and digits, separated by '.', '_', '__' or dashes".into()),
            ("tripled slash", "docker///docker".into(),
             "invalid image reference 'docker///docker': empty path component; remove the doubled or trailing '/'".into()),
            ("trailing slash", "docker/".into(),
             "invalid image reference 'docker/': empty path component; remove the doubled or trailing '/'".into()),
            ("tag only", ":justtag".into(),
             "invalid image reference ':justtag': no repository name before the tag or digest".into()),
            ("digest only", format!("@{SHA}"),
             format!("invalid image reference '@{SHA}': no repository name before the tag or digest")),
            ("registry only", "ghcr.io/".into(),
             "invalid image reference 'ghcr.io/': no repository name before the tag or digest".into()),
            ("path too long", long_path.clone(),
             format!("invalid image reference '{long_path}': repository name is 257 characters long, more than the 255 allowed")),
            ("namespace too long", long_namespace.clone(),
             format!("invalid image reference '{long_namespace}': repository name is 285 characters long, more than the 255 allowed")),
            ("constraint as tag", "nginx:^1.2".into(),
             "invalid image reference 'nginx:^1.2': tag '^1.2' is invalid; a tag is 1 to 128 letters, digits, '_', '.' or '-' and does not start with '.' or '-'".into()),
            ("empty tag", "nginx:".into(),
             "invalid image reference 'nginx:': tag '' is invalid; a tag is 1 to 128 letters, digits, '_', '.' or '-' and does not start with '.' or '-'".into()),
            ("tag starting with dot", "nginx:.x".into(),
             "invalid image reference 'nginx:.x': tag '.x' is invalid; a tag is 1 to 128 letters, digits, '_', '.' or '-' and does not start with '.' or '-'".into()),
            ("non-ascii tag", "nginx:é".into(),
             "invalid image reference 'nginx:é': tag 'é' is invalid; a tag is 1 to 128 letters, digits, '_', '.' or '-' and does not start with '.' or '-'".into()),
            ("short digest", "repo@sha256:ffffffffffffffffffffffffffffffffff".into(),
             "invalid image reference 'repo@sha256:ffffffffffffffffffffffffffffffffff': a sha256 digest has 64 hex digits, not 34".into()),
            ("digest under 32 digits", "repo@sha256:abc".into(),
             "invalid image reference 'repo@sha256:abc': digest 'sha256:abc' is invalid; write '<algorithm>:<hex>', such as 'sha256:' and 64 hex digits".into()),
            ("unknown algorithm", "validname@invaliddigest:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff".into(),
             "invalid image reference 'validname@invaliddigest:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff': digest algorithm 'invaliddigest' is not supported; use sha256, sha384 or sha512".into()),
            ("upper-case digest", format!("repo@sha256:{}", "F".repeat(64)),
             format!("invalid image reference 'repo@sha256:{}': digest hex digits must be lowercase (write 'repo@sha256:{}')", "F".repeat(64), "f".repeat(64))),
            ("digest without algorithm", "repo@ffff".into(),
             "invalid image reference 'repo@ffff': digest 'ffff' is invalid; write '<algorithm>:<hex>', such as 'sha256:' and 64 hex digits".into()),
            ("two digests", format!("repo@{SHA}@{SHA}"),
             format!("invalid image reference 'repo@{SHA}@{SHA}': digest '{SHA}@{SHA}' is invalid; write '<algorithm>:<hex>', such as 'sha256:' and 64 hex digits")),
        ];
        for (name, input, want) in cases {
            match ImageRef::parse(&input) {
                Ok(image) => panic!("{name}: parsed as {image}"),
                Err(e) => assert_eq!(e.to_string(), want, "{name}"),
            }
        }
    }

    #[test]
    fn accepts_path_length_limit() {
        let input = format!("{}a:tag-puts-this-over-max", "a/".repeat(127));
        let image = parsed(&input);
        assert_eq!(
            image.repository().len(),
            255,
            "path of exactly 255 characters"
        );
        assert_eq!(
            image.tag(),
            Some("tag-puts-this-over-max"),
            "tag not counted"
        );
    }

    #[test]
    fn displays_names() {
        // (input, name, familiar_name, canonical, familiar)
        let cases = [
            (
                "nginx",
                "docker.io/library/nginx",
                "nginx",
                "docker.io/library/nginx",
                "nginx",
            ),
            (
                "nginx:1.27",
                "docker.io/library/nginx",
                "nginx",
                "docker.io/library/nginx:1.27",
                "nginx:1.27",
            ),
            (
                "docker.io/user/app:v1",
                "docker.io/user/app",
                "user/app",
                "docker.io/user/app:v1",
                "user/app:v1",
            ),
            (
                "library/foo/bar",
                "docker.io/library/foo/bar",
                "library/foo/bar",
                "docker.io/library/foo/bar",
                "library/foo/bar",
            ),
            (
                "ghcr.io/x/y:1",
                "ghcr.io/x/y",
                "ghcr.io/x/y",
                "ghcr.io/x/y:1",
                "ghcr.io/x/y:1",
            ),
            (
                "localhost:5000/app",
                "localhost:5000/app",
                "localhost:5000/app",
                "localhost:5000/app",
                "localhost:5000/app",
            ),
            (
                "example.com/privatebase",
                "example.com/privatebase",
                "example.com/privatebase",
                "example.com/privatebase",
                "example.com/privatebase",
            ),
        ];
        for (input, name, familiar_name, canonical, familiar) in cases {
            let image = parsed(input);
            assert_eq!(image.name(), name, "{input}: name");
            assert_eq!(
                image.familiar_name(),
                familiar_name,
                "{input}: familiar_name"
            );
            assert_eq!(image.canonical(), canonical, "{input}: canonical");
            assert_eq!(image.to_string(), canonical, "{input}: Display");
            assert_eq!(image.familiar(), familiar, "{input}: familiar");
            assert_eq!(
                input.parse::<ImageRef>().as_ref(),
                Ok(&image),
                "{input}: FromStr"
            );
        }
    }

    /// Regression (issue 9, item 7): shortening a Docker Hub name must not change what it names.
    #[test]
    fn familiar_names_keep_the_registry() {
        let hex = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        let s = |a: &str| a.to_owned();
        let cases = [
            (
                "dotted namespace",
                s("docker.io/a.b/c"),
                s("docker.io/a.b/c"),
            ),
            (
                "dotted org",
                s("docker.io/my.org/app"),
                s("docker.io/my.org/app"),
            ),
            (
                "localhost namespace",
                s("docker.io/localhost/app"),
                s("docker.io/localhost/app"),
            ),
            (
                "hex name",
                format!("docker.io/{hex}"),
                format!("library/{hex}"),
            ),
            (
                "hex name under library",
                format!("docker.io/library/{hex}"),
                format!("library/{hex}"),
            ),
            (
                "hex namespace",
                format!("docker.io/{hex}/app"),
                format!("{hex}/app"),
            ),
            (
                "dotted name under library",
                s("docker.io/library/a.b"),
                s("a.b"),
            ),
            ("plain namespace", s("docker.io/user/app"), s("user/app")),
        ];
        for (name, input, want) in cases {
            let image = parsed(&input);
            assert_eq!(image.familiar_name(), want, "{name}: familiar_name");
            let back =
                ImageRef::parse(&image.familiar_name()).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(
                back.same_repository(&image),
                "{name}: {back} is not {image}"
            );
        }
    }

    #[test]
    fn replaces_tag_and_digest() {
        let digest2 = "sha256:1234567890098765432112345667890098765432112345667890098765432112";
        let cases = [
            (
                "new tag drops digest",
                parsed(&format!("test.com:8000/foo:old@{SHA}")).with_tag("TAG5"),
                "test.com:8000/foo:TAG5",
            ),
            (
                "tag on familiar",
                parsed("foo").with_tag("tag2"),
                "docker.io/library/foo:tag2",
            ),
            (
                "digest keeps tag",
                parsed("test.com:8000/foo:TAG5").with_digest(SHA),
                &format!("test.com:8000/foo:TAG5@{SHA}"),
            ),
            (
                "digest replaces digest",
                parsed(&format!("foo@{SHA}")).with_digest(digest2),
                &format!("docker.io/library/foo@{digest2}"),
            ),
        ];
        for (name, image, want) in cases {
            assert_eq!(image.canonical(), want, "{name}");
        }
    }

    #[test]
    fn compares_repositories() {
        // (name, a, b, same repository, equal references)
        let cases = [
            (
                "familiar and canonical",
                "nginx:1",
                "docker.io/library/nginx:1",
                true,
                true,
            ),
            (
                "different tags",
                "nginx:1",
                "docker.io/library/nginx:2",
                true,
                false,
            ),
            (
                "legacy hub host",
                "index.docker.io/user/app",
                "user/app",
                true,
                true,
            ),
            (
                "api hub host",
                "registry-1.docker.io/library/nginx",
                "nginx",
                true,
                true,
            ),
            (
                "other registry",
                "ghcr.io/library/nginx",
                "nginx",
                false,
                false,
            ),
            ("other namespace", "user/nginx", "nginx", false, false),
            (
                "port matters",
                "localhost:5000/app",
                "localhost/app",
                false,
                false,
            ),
        ];
        for (name, a, b, same, equal) in cases {
            assert_eq!(
                parsed(a).same_repository(&parsed(b)),
                same,
                "{name}: same_repository"
            );
            assert_eq!(parsed(a) == parsed(b), equal, "{name}: Eq");
        }
    }

    #[test]
    fn splits_constraints() {
        let cases: &[(&str, &str, Option<&str>)] = &[
            ("nginx", "docker.io/library/nginx", None),
            ("nginx:1.x", "docker.io/library/nginx", Some("1.x")),
            (
                "nginx:>=1.0 <2.0",
                "docker.io/library/nginx",
                Some(">=1.0 <2.0"),
            ),
            (
                "nginx:~1.2 || ^2, !=2.1",
                "docker.io/library/nginx",
                Some("~1.2 || ^2, !=2.1"),
            ),
            ("nginx:1.25", "docker.io/library/nginx", Some("1.25")),
            ("localhost:5000/app", "localhost:5000/app", None),
            (
                "localhost:5000/app:^1.2",
                "localhost:5000/app",
                Some("^1.2"),
            ),
            ("[::1]:5000/app:*", "[::1]:5000/app", Some("*")),
            ("ghcr.io/org/app:<3", "ghcr.io/org/app", Some("<3")),
            (
                "localhost:5000",
                "docker.io/library/localhost",
                Some("5000"),
            ),
            (
                "nginx@sha256:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
                "docker.io/library/nginx@sha256:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
                None,
            ),
            (
                "nginx:^1@sha256:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
                "docker.io/library/nginx@sha256:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
                Some("^1"),
            ),
            ("nginx:a:b", "docker.io/library/nginx", Some("a:b")),
        ];
        for &(input, canonical, constraint) in cases {
            let (image, got) = split_constraint(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(image.canonical(), canonical, "{input}: image");
            assert_eq!(image.tag(), None, "{input}: no tag");
            assert_eq!(got.as_deref(), constraint, "{input}: constraint");
        }
    }

    #[test]
    fn split_constraint_rejects() {
        let cases = [
            (
                "nothing after colon",
                "nginx:",
                "invalid image reference 'nginx:': nothing follows ':'; remove the ':' or add a version constraint",
            ),
            (
                "blank constraint",
                "nginx: ",
                "invalid image reference 'nginx: ': nothing follows ':'; remove the ':' or add a version constraint",
            ),
            (
                "bad name quotes the whole entry",
                "Nginx:^1",
                "invalid image reference 'Nginx:^1': repository name must be lowercase (write 'nginx:^1')",
            ),
            (
                "bad name with digest",
                "App:^1@sha256:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
                "invalid image reference 'App:^1@sha256:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff': repository name must be lowercase (write 'app:^1@sha256:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff')",
            ),
            // Regression (found by proptest): a '/' after the '@' moved the path out of the entry's offsets and the
            // suggestion sliced out of bounds.
            (
                "path inside the digest part",
                ": a0@A/Ab",
                "invalid image reference ': a0@A/Ab': repository name must be lowercase (write '@A/ab')",
            ),
            (
                "regression: a constraint without repository was reported as an empty reference",
                ":1.0",
                "invalid image reference ':1.0': no repository name before the tag or digest",
            ),
            (
                "bad registry",
                "-x.io/app:^1",
                "invalid image reference '-x.io/app:^1': registry '-x.io' is not a host name, IPv4 address or [IPv6] address with an optional ':port'",
            ),
        ];
        for (name, input, want) in cases {
            match split_constraint(input) {
                Ok(got) => panic!("{name}: split as {got:?}"),
                Err(e) => assert_eq!(e.to_string(), want, "{name}"),
            }
        }
    }

    #[test]
    fn validates_tags_and_digests() {
        let tags = [
            ("word", "v1.2.3-rc_1", true),
            ("128 chars", &"a".repeat(128), true),
            ("129 chars", &"a".repeat(129), false),
            ("leading dash", "-x", false),
            ("leading underscore", "_x", true),
            ("empty", "", false),
            ("slash", "a/b", false),
        ];
        for (name, tag, want) in tags {
            assert_eq!(is_valid_tag(tag), want, "tag {name}");
        }
        let digests = [
            ("sha256", SHA, true),
            ("sha512", SHA512, true),
            ("short", "sha256:abcd", false),
            ("md5", "md5:ffffffffffffffffffffffffffffffff", false),
        ];
        for (name, digest, want) in digests {
            assert_eq!(is_valid_digest(digest), want, "digest {name}");
        }
    }

    fn component() -> impl Strategy<Value = String> {
        "[a-z0-9]{1,5}((\\.|_|__|-{1,2})[a-z0-9]{1,5}){0,2}"
    }

    proptest! {
        #[test]
        fn parse_never_panics(s in "\\PC{0,40}") {
            let _ = ImageRef::parse(&s);
            let _ = split_constraint(&s);
        }

        #[test]
        fn parse_never_panics_on_reference_alphabet(s in "[a-zA-Z0-9:/@._\\-\\[\\]]{0,40}") {
            let _ = ImageRef::parse(&s);
            let _ = split_constraint(&s);
        }

        /// Every written form reads back as the same reference, whatever the registry and first component.
        #[test]
        fn written_forms_read_back(
            registry in prop_oneof![
                Just(None),
                Just(Some("docker.io")),
                Just(Some("index.docker.io")),
                Just(Some("localhost")),
                Just(Some("localhost:5000")),
                Just(Some("reg.example:443")),
            ],
            first in prop_oneof![
                component(),
                Just("library".to_owned()),
                Just("localhost".to_owned()),
                "[a-z]{1,4}\\.[a-z]{1,4}",
                "[0-9a-f]{64}",
            ],
            rest in prop::collection::vec(component(), 0..3),
            tag in prop::option::of("[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}"),
            digest in prop::option::of("[0-9a-f]{64}"),
        ) {
            let mut path = vec![first];
            path.extend(rest);
            let path = path.join("/");
            let mut input = match registry {
                Some(registry) => format!("{registry}/{path}"),
                None => path,
            };
            if let Some(tag) = &tag {
                input = format!("{input}:{tag}");
            }
            if let Some(digest) = &digest {
                input = format!("{input}@sha256:{digest}");
            }
            // Inputs Docker refuses (a bare image ID, a dotted first component read as a bad host) are not written.
            let Ok(image) = ImageRef::parse(&input) else { return Ok(()) };
            for written in [image.familiar(), image.canonical()] {
                let back = ImageRef::parse(&written);
                prop_assert_eq!(back.as_ref(), Ok(&image), "{} written as {}", input, written);
            }
            let name = ImageRef::parse(&image.familiar_name());
            prop_assert!(name.is_ok_and(|n| n.same_repository(&image)), "{} named {}", input, image.familiar_name());
        }

        #[test]
        fn canonical_round_trips(
            registry in prop::option::of("[a-z]{1,6}\\.(io|com)(:[0-9]{1,5})?"),
            path in prop::collection::vec(component(), 1..4),
            tag in prop::option::of("[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}"),
            digest in prop::option::of("[0-9a-f]{64}"),
        ) {
            let mut path = path;
            if registry.is_none() {
                // A dotted first component would name a registry.
                path[0] = path[0].replace('.', "-");
            }
            let mut input = path.join("/");
            if let Some(registry) = &registry {
                input = format!("{registry}/{input}");
            }
            if let Some(tag) = &tag {
                input = format!("{input}:{tag}");
            }
            if let Some(digest) = &digest {
                input = format!("{input}@sha256:{digest}");
            }
            let image = ImageRef::parse(&input).unwrap();
            prop_assert_eq!(ImageRef::parse(&image.canonical()).unwrap(), image.clone());
            prop_assert_eq!(ImageRef::parse(&image.familiar()).unwrap(), image.clone());
            prop_assert_eq!(image.tag(), tag.as_deref());
        }
    }
}
