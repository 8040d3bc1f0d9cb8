//! Registry endpoints: argocd-image-updater's `registries.conf` parsed and validated, and the lookup that gives
//! the [`Endpoint`] (API URL, TLS, limits, page size) for a registry and repository. Pure: no file or network I/O.
//!
//! Semantics follow argocd-image-updater (`registry-scanner/pkg/registry`): `name` is required; `prefix` is the
//! image prefix an entry serves (a registry host, optionally with a repository path); the most specific prefix
//! wins; `default: true` marks the registry used for images without a host, at most once; an entry without a
//! prefix serves that default registry; `limit` is requests per second (default 20, `0` or less = unlimited);
//! booleans accept YAML 1.1 spellings (`yes`, `no`, `on`, `off`) as Go's yaml.v2 does; unknown keys are errors.
//! Differences, on purpose: `api_url` may be omitted when there is a prefix (it defaults to `https://<prefix host>`,
//! and `docker.io` to `https://registry-1.docker.io`, as for unconfigured registries); a repository prefix only
//! matches whole path components (`ghcr.io/org` does not serve `ghcr.io/organisation/x`); `pagesize` is our
//! addition (the `n` of tag-list requests).

mod endpoint;
mod parse;
#[cfg(test)]
mod tests;

use std::path::PathBuf;
use std::time::Duration;

use url::Url;

pub use endpoint::default_page_size;
pub use parse::parse;

/// Docker Hub's image prefix and its API host: image references say one, the API lives at the other.
pub const DOCKER_HUB: &str = "docker.io";
const DOCKER_HUB_API: &str = "https://registry-1.docker.io";

/// Tag-list page size for registries not known to cap it lower.
pub const DEFAULT_PAGE_SIZE: u32 = 1000;
/// Quay caps `n` at 100.
pub const QUAY_PAGE_SIZE: u32 = 100;

/// The order a registry returns tags in (argocd-image-updater's `tagsortmode`); informs strategies, not paging.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TagSortMode {
    #[default]
    None,
    LatestFirst,
    LatestLast,
}

/// One validated `registries:` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct RegistryEntry {
    /// Symbolic name, for messages.
    pub name: String,
    /// Image prefix served (`quay.io`, `ghcr.io/org`); empty for the entry serving the default registry.
    pub prefix: String,
    pub api_url: Url,
    /// Send `GET /v2/` before the first request.
    pub ping: bool,
    /// Skip TLS certificate verification.
    pub insecure: bool,
    pub default: bool,
    /// The credential source spec (`pullsecret:ns/name`, `env:VAR`, …), parsed by the credentials module.
    pub credentials: Option<String>,
    /// When credentials from this entry must be looked up again.
    pub creds_expire: Option<Duration>,
    /// Requests per second; `None` is unlimited.
    pub limit: Option<u32>,
    pub tag_sort: TagSortMode,
    /// PEM bundle file of extra trusted roots.
    pub ca_file: Option<PathBuf>,
    /// PEM text of extra trusted roots.
    pub ca_data: Option<String>,
    /// Namespace for one-component image names (`library` on Docker Hub); used by image normalisation.
    pub default_ns: Option<String>,
    /// `n` for tag-list pages; `None` means the registry's default from [`default_page_size`].
    pub page_size: Option<u32>,
}

/// A parsed `registries.conf`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RegistriesConf {
    pub registries: Vec<RegistryEntry>,
}

/// Everything a [`super::RegistryClient`] needs to know about one registry, configured or inferred.
#[derive(Debug, Clone, PartialEq)]
pub struct Endpoint {
    /// The registry as image references name it (`docker.io`, `127.0.0.1:5000`): shown in errors.
    pub registry: String,
    /// The configured entry's name, or the registry.
    pub name: String,
    /// API base without `/v2` (`https://registry-1.docker.io`); `http://` means plain HTTP.
    pub api_url: Url,
    pub ping: bool,
    pub insecure: bool,
    pub ca_file: Option<PathBuf>,
    pub ca_data: Option<String>,
    /// Requests per second; `None` is unlimited.
    pub limit: Option<u32>,
    /// `n` sent with tag-list requests.
    pub page_size: u32,
    pub tag_sort: TagSortMode,
    pub credentials: Option<String>,
    pub creds_expire: Option<Duration>,
    pub default_ns: Option<String>,
}

/// Why `registries.conf` or a registry name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("registries.conf is not valid YAML for this format: {0}")]
    Yaml(String),
    #[error("registries.conf entry {index}: 'name' is missing")]
    MissingName { index: usize },
    #[error(
        "registries.conf entry {index} ('{name}'): neither 'prefix' nor 'api_url' is set; give the image prefix it \
         serves, such as 'registry.example:5000/team'"
    )]
    MissingApiUrl { index: usize, name: String },
    #[error(
        "registries.conf entry {index} ('{name}'): prefix '{prefix}' does not start with a registry host (a name with \
         a '.' or ':port', or localhost), so no image would ever use this entry; write the host first, such as \
         'registry.example/{prefix}' (or 'docker.io/{prefix}' for Docker Hub)"
    )]
    PrefixNotHost {
        index: usize,
        name: String,
        prefix: String,
    },
    #[error("registry '{name}': api_url '{url}' is not an http(s) URL without query")]
    BadApiUrl { name: String, url: String },
    #[error("registry '{name}': api_url must not carry a user name or password; use 'credentials'")]
    ApiUrlUserinfo { name: String },
    #[error("registry '{name}': '{field}: {value}' is not a boolean (use true/false or yes/no)")]
    BadBool {
        name: String,
        field: &'static str,
        value: String,
    },
    #[error("registry '{name}': credsexpire '{value}' is not a duration such as 30m, 5h or 1h30m")]
    BadDuration { name: String, value: String },
    #[error(
        "registry '{name}': unknown tagsortmode '{value}' (use latest-first, latest-last or none)"
    )]
    BadTagSortMode { name: String, value: String },
    #[error("registry '{name}': pagesize must be at least 1")]
    BadPageSize { name: String },
    #[error(
        "registry '{name}': a default registry's prefix must start with a registry host ('{prefix}' has no '.' or \
         ':port' and is not localhost), or image names written with it would read as Docker Hub's"
    )]
    BadDefault { name: String, prefix: String },
    #[error(
        "registries '{first}' and '{second}' both have prefix '{prefix}'; prefixes must be unique"
    )]
    DuplicatePrefix {
        prefix: String,
        first: String,
        second: String,
    },
    #[error(
        "registries '{first}' and '{second}' both say 'default: true'; only one default registry is allowed"
    )]
    TwoDefaults { first: String, second: String },
    #[error(
        "registries '{first}' and '{second}' both lack a prefix; only the default registry may omit it"
    )]
    TwoWithoutPrefix { first: String, second: String },
    #[error(
        "registry '{0}' is not a host name with an optional port (e.g. ghcr.io or 127.0.0.1:5000)"
    )]
    BadRegistry(String),
}
