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

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use url::Url;

use super::credentials::parse_go_duration;
use super::limit::DEFAULT_REQUESTS_PER_SECOND;
use crate::image::{self, ImageDefaults, ImageRef};

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

/// A YAML value where Go's yaml.v2 would accept a boolean or a YAML 1.1 word, or a duration or a number.
#[derive(Deserialize)]
#[serde(untagged)]
enum Loose {
    Bool(bool),
    Int(i64),
    Text(String),
}

impl Loose {
    fn text(&self) -> String {
        match self {
            Loose::Bool(b) => b.to_string(),
            Loose::Int(i) => i.to_string(),
            Loose::Text(s) => s.clone(),
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    registries: Option<Vec<RawEntry>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    name: Option<String>,
    api_url: Option<String>,
    prefix: Option<String>,
    ping: Option<Loose>,
    insecure: Option<Loose>,
    default: Option<Loose>,
    credentials: Option<String>,
    credsexpire: Option<Loose>,
    limit: Option<i64>,
    tagsortmode: Option<String>,
    ca_file: Option<String>,
    ca_data: Option<String>,
    defaultns: Option<String>,
    pagesize: Option<u32>,
}

/// Parses and validates `registries.conf` text.
///
/// ```
/// use argocd_image_resolver::registry::config::parse;
/// let conf = parse("registries:\n- name: Quay\n  prefix: quay.io\n  ping: yes\n  limit: 5\n").unwrap();
/// let endpoint = conf.endpoint("quay.io", "org/app").unwrap();
/// assert_eq!((endpoint.api_url.as_str(), endpoint.limit, endpoint.page_size), ("https://quay.io/", Some(5), 100));
/// ```
pub fn parse(text: &str) -> Result<RegistriesConf, ConfigError> {
    let raw: RawFile = if text.trim().is_empty() {
        RawFile::default()
    } else {
        serde_norway::from_str(text).map_err(|e| ConfigError::Yaml(e.to_string()))?
    };
    let mut registries: Vec<RegistryEntry> = Vec::new();
    for (index, entry) in raw.registries.unwrap_or_default().into_iter().enumerate() {
        let entry = validate_entry(index + 1, entry)?;
        for other in &registries {
            if other.prefix == entry.prefix && !entry.prefix.is_empty() {
                return Err(ConfigError::DuplicatePrefix {
                    prefix: entry.prefix.clone(),
                    first: other.name.clone(),
                    second: entry.name.clone(),
                });
            }
            if other.prefix.is_empty() && entry.prefix.is_empty() {
                return Err(ConfigError::TwoWithoutPrefix {
                    first: other.name.clone(),
                    second: entry.name.clone(),
                });
            }
            if other.default && entry.default {
                return Err(ConfigError::TwoDefaults {
                    first: other.name.clone(),
                    second: entry.name.clone(),
                });
            }
        }
        registries.push(entry);
    }
    Ok(RegistriesConf { registries })
}

fn validate_entry(index: usize, raw: RawEntry) -> Result<RegistryEntry, ConfigError> {
    let name = raw
        .name
        .filter(|n| !n.trim().is_empty())
        .ok_or(ConfigError::MissingName { index })?;
    let prefix = raw
        .prefix
        .unwrap_or_default()
        .trim()
        .trim_end_matches('/')
        .to_string();
    let api_url = match raw
        .api_url
        .as_deref()
        .map(str::trim)
        .filter(|u| !u.is_empty())
    {
        Some(text) => parse_api_url(&name, text)?,
        None if prefix.is_empty() => return Err(ConfigError::MissingApiUrl { index, name }),
        None => {
            let host = prefix.split('/').next().unwrap_or_default();
            inferred_api_url(host).ok_or_else(|| ConfigError::BadRegistry(host.to_string()))?
        }
    };
    let flag = |field: &'static str, value: Option<Loose>| -> Result<bool, ConfigError> {
        match value {
            None => Ok(false),
            Some(v) => yaml11_bool(&v).ok_or_else(|| ConfigError::BadBool {
                name: name.clone(),
                field,
                value: v.text(),
            }),
        }
    };
    let ping = flag("ping", raw.ping)?;
    let insecure = flag("insecure", raw.insecure)?;
    let default = flag("default", raw.default)?;
    let host = prefix.split('/').next().unwrap_or_default();
    // A host the image grammar refuses would never match an image, and as the default registry it would become
    // the registry of every image written without one: those images would then not parse.
    if image::is_registry_host(host) && ImageRef::parse(&format!("{host}/x")).is_err() {
        return Err(ConfigError::BadRegistry(host.to_string()));
    }
    if default && !host.is_empty() && !image::is_registry_host(host) {
        return Err(ConfigError::BadDefault {
            name,
            prefix: prefix.clone(),
        });
    }
    // Image names always start with a registry host once normalised (`team/app` is `docker.io/team/app`): a
    // prefix that does not would never match, and the entry would be ignored without a word.
    if !host.is_empty() && !image::is_registry_host(host) {
        return Err(ConfigError::PrefixNotHost {
            index,
            name,
            prefix,
        });
    }
    let creds_expire = match raw.credsexpire {
        None => None,
        Some(Loose::Text(text)) => {
            let duration = parse_go_duration(&text).map_err(|_| ConfigError::BadDuration {
                name: name.clone(),
                value: text.clone(),
            })?;
            (!duration.is_zero()).then_some(duration)
        }
        Some(Loose::Int(0)) => None,
        Some(other) => {
            return Err(ConfigError::BadDuration {
                name,
                value: other.text(),
            });
        }
    };
    let tag_sort = match raw
        .tagsortmode
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("" | "none") => TagSortMode::None,
        Some("latest-first") => TagSortMode::LatestFirst,
        Some("latest-last") => TagSortMode::LatestLast,
        Some(_) => {
            return Err(ConfigError::BadTagSortMode {
                name,
                value: raw.tagsortmode.unwrap_or_default(),
            });
        }
    };
    if raw.pagesize == Some(0) {
        return Err(ConfigError::BadPageSize { name });
    }
    let limit = match raw.limit {
        None => Some(DEFAULT_REQUESTS_PER_SECOND),
        Some(n) if n <= 0 => None,
        Some(n) => Some(u32::try_from(n).unwrap_or(u32::MAX)),
    };
    Ok(RegistryEntry {
        name,
        prefix,
        api_url,
        ping,
        insecure,
        default,
        credentials: raw.credentials.filter(|c| !c.trim().is_empty()),
        creds_expire,
        limit,
        tag_sort,
        ca_file: raw.ca_file.filter(|f| !f.is_empty()).map(PathBuf::from),
        ca_data: raw.ca_data.filter(|d| !d.trim().is_empty()),
        default_ns: raw.defaultns.filter(|n| !n.is_empty()),
        page_size: raw.pagesize,
    })
}

fn parse_api_url(name: &str, text: &str) -> Result<Url, ConfigError> {
    let bad = || ConfigError::BadApiUrl {
        name: name.to_string(),
        url: text.to_string(),
    };
    let url = Url::parse(text).map_err(|_| bad())?;
    if !matches!(url.scheme(), "http" | "https")
        || url.host_str().is_none()
        || url.query().is_some()
    {
        return Err(bad());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ConfigError::ApiUrlUserinfo {
            name: name.to_string(),
        });
    }
    Ok(url)
}

/// Go yaml.v2's booleans: true/false and the YAML 1.1 words, in any case.
fn yaml11_bool(value: &Loose) -> Option<bool> {
    match value {
        Loose::Bool(b) => Some(*b),
        Loose::Text(s) => match s.to_ascii_lowercase().as_str() {
            "y" | "yes" | "true" | "on" => Some(true),
            "n" | "no" | "false" | "off" => Some(false),
            _ => None,
        },
        Loose::Int(_) => None,
    }
}

/// The tag-list page size a registry host is known to accept: Quay caps `n` at 100, ECR at 1000.
pub fn default_page_size(host: &str) -> u32 {
    let host = host.to_ascii_lowercase();
    if host == "quay.io" || host.ends_with(".quay.io") {
        QUAY_PAGE_SIZE
    } else {
        DEFAULT_PAGE_SIZE
    }
}

/// `https://<registry>`, except Docker Hub's API host and plain HTTP for loopback registries (which Docker
/// also treats as insecure by default); `None` when `registry` is not `host[:port]`.
fn inferred_api_url(registry: &str) -> Option<Url> {
    if registry == DOCKER_HUB {
        return Url::parse(DOCKER_HUB_API).ok();
    }
    let url = Url::parse(&format!("https://{registry}")).ok()?;
    let host = url.host_str()?;
    let rebuilt = match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    };
    if !rebuilt.eq_ignore_ascii_case(registry) || url.path() != "/" || !url.username().is_empty() {
        return None;
    }
    let loopback = match url.host()? {
        url::Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
    };
    if loopback {
        Url::parse(&format!("http://{registry}")).ok()
    } else {
        Some(url)
    }
}

impl Endpoint {
    /// The endpoint of a registry nobody configured: `https://<registry>`, except
    /// Docker Hub's API host and plain HTTP for loopback registries; limit 20/s, no ping
    /// except for Docker Hub (as argocd-image-updater).
    pub fn infer(registry: &str) -> Result<Endpoint, ConfigError> {
        let api_url = inferred_api_url(registry)
            .ok_or_else(|| ConfigError::BadRegistry(registry.to_string()))?;
        Ok(Endpoint {
            registry: registry.to_string(),
            name: registry.to_string(),
            page_size: default_page_size(api_url.host_str().unwrap_or_default()),
            api_url,
            ping: registry == DOCKER_HUB,
            insecure: false,
            ca_file: None,
            ca_data: None,
            limit: Some(DEFAULT_REQUESTS_PER_SECOND),
            tag_sort: TagSortMode::None,
            credentials: None,
            creds_expire: None,
            default_ns: (registry == DOCKER_HUB).then(|| "library".to_string()),
        })
    }

    /// An endpoint at an explicit API URL with default settings (tests, `--registry-url` style overrides).
    pub fn at(registry: &str, api_url: Url) -> Endpoint {
        Endpoint {
            registry: registry.to_string(),
            name: registry.to_string(),
            page_size: default_page_size(api_url.host_str().unwrap_or_default()),
            api_url,
            ping: false,
            insecure: false,
            ca_file: None,
            ca_data: None,
            limit: Some(DEFAULT_REQUESTS_PER_SECOND),
            tag_sort: TagSortMode::None,
            credentials: None,
            creds_expire: None,
            default_ns: None,
        }
    }

    fn from_entry(registry: &str, entry: &RegistryEntry) -> Endpoint {
        Endpoint {
            registry: registry.to_string(),
            name: entry.name.clone(),
            api_url: entry.api_url.clone(),
            ping: entry.ping,
            insecure: entry.insecure,
            ca_file: entry.ca_file.clone(),
            ca_data: entry.ca_data.clone(),
            limit: entry.limit,
            page_size: entry
                .page_size
                .unwrap_or_else(|| default_page_size(entry.api_url.host_str().unwrap_or_default())),
            tag_sort: entry.tag_sort,
            credentials: entry.credentials.clone(),
            creds_expire: entry.creds_expire,
            default_ns: entry.default_ns.clone(),
        }
    }
}

impl RegistriesConf {
    /// The registry that images without a host belong to: the prefix of the `default: true` entry, else Docker Hub.
    pub fn default_registry(&self) -> &str {
        self.registries
            .iter()
            .find(|e| e.default && !e.prefix.is_empty())
            .map_or(DOCKER_HUB, |e| {
                image::normalise_registry(e.prefix.split('/').next().unwrap_or(DOCKER_HUB))
            })
    }

    /// How image references name this configuration's registries: images without a host belong to
    /// [`RegistriesConf::default_registry`], and a one-component name gets its registry's `defaultns` (Docker Hub's
    /// `library/` unless an entry says otherwise), as argocd-image-updater reads them.
    pub fn image_defaults(&self) -> ImageDefaults {
        let default = self.default_registry();
        let mut defaults = ImageDefaults::new(default);
        for entry in &self.registries {
            let Some(namespace) = &entry.default_ns else {
                continue;
            };
            // A prefix with a path serves part of a registry: its namespace is not the registry's.
            let host = match entry.prefix.as_str() {
                "" => default,
                prefix if !prefix.contains('/') => prefix,
                _ => continue,
            };
            defaults = defaults.with_namespace(host, namespace.clone());
        }
        defaults
    }

    /// The endpoint for `registry` (normalised `host[:port]`) and `repository`: the entry with the longest prefix
    /// matching `registry/repository` at a path boundary, else the prefix-less entry when `registry` is the default
    /// registry, else [`Endpoint::infer`].
    pub fn endpoint(&self, registry: &str, repository: &str) -> Result<Endpoint, ConfigError> {
        let full = format!("{registry}/{repository}");
        let matches = |prefix: &str| {
            !prefix.is_empty()
                && (full == prefix || registry == prefix || full.starts_with(&format!("{prefix}/")))
        };
        let best = self
            .registries
            .iter()
            .filter(|e| matches(&e.prefix))
            .max_by_key(|e| e.prefix.len());
        if let Some(entry) = best {
            return Ok(Endpoint::from_entry(registry, entry));
        }
        if registry == self.default_registry()
            && let Some(entry) = self.registries.iter().find(|e| e.prefix.is_empty())
        {
            return Ok(Endpoint::from_entry(registry, entry));
        }
        Endpoint::infer(registry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::ImageRef;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn parses_documented_example() {
        let text = r#"
registries:
- name: Docker Hub
  api_url: https://registry-1.docker.io
  ping: yes
  credentials: secret:foo/bar#creds
  defaultns: library
- name: Google Container Registry
  api_url: https://gcr.io
  prefix: gcr.io
  ping: no
  credentials: pullsecret:foo/bar
- name: RedHat Quay
  api_url: https://quay.io
  ping: no
  prefix: quay.io
  insecure: yes
  credentials: env:REGISTRY_SECRET
  credsexpire: 1h30m
  limit: 10
  tagsortmode: latest-first
  ca_file: /app/config/certs/quay-ca.pem
- name: Local
  prefix: 127.0.0.1:5000
  api_url: http://127.0.0.1:5000
  default: true
  limit: 0
  pagesize: 50
"#;
        let conf = parse(text).unwrap();
        let names: Vec<&str> = conf.registries.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "Docker Hub",
                "Google Container Registry",
                "RedHat Quay",
                "Local"
            ]
        );
        let quay = &conf.registries[2];
        assert_eq!(
            quay,
            &RegistryEntry {
                name: "RedHat Quay".into(),
                prefix: "quay.io".into(),
                api_url: url("https://quay.io"),
                ping: false,
                insecure: true,
                default: false,
                credentials: Some("env:REGISTRY_SECRET".into()),
                creds_expire: Some(Duration::from_secs(5400)),
                limit: Some(10),
                tag_sort: TagSortMode::LatestFirst,
                ca_file: Some(PathBuf::from("/app/config/certs/quay-ca.pem")),
                ca_data: None,
                default_ns: None,
                page_size: None,
            }
        );
        assert!(conf.registries[0].ping, "yes is true");
        assert_eq!(conf.registries[0].limit, Some(20), "limit defaults to 20");
        assert_eq!(conf.registries[3].limit, None, "limit 0 is unlimited");
        assert_eq!(conf.default_registry(), "127.0.0.1:5000");
    }

    #[test]
    fn image_defaults_follow_default_and_defaultns() {
        let name = |conf: &RegistriesConf, image: &str| {
            ImageRef::parse_with(image, &conf.image_defaults())
                .unwrap()
                .name()
        };
        let empty = RegistriesConf::default();
        assert_eq!(name(&empty, "nginx"), "docker.io/library/nginx", "Docker's");
        let conf = parse(
            r#"
registries:
- name: corp
  prefix: registry.corp
  api_url: https://registry.corp
  default: true
  defaultns: base
- name: quay
  prefix: quay.io
  api_url: https://quay.io
  defaultns: acme
- name: team
  prefix: ghcr.io/team
  api_url: https://ghcr.io
  defaultns: ignored
"#,
        )
        .unwrap();
        for (image, want) in [
            ("nginx", "registry.corp/base/nginx"),
            ("team/app", "registry.corp/team/app"),
            ("docker.io/nginx", "docker.io/library/nginx"),
            ("quay.io/app", "quay.io/acme/app"),
            ("ghcr.io/app", "ghcr.io/app"),
        ] {
            assert_eq!(name(&conf, image), want, "{image}");
        }
        assert_eq!(
            conf.endpoint("registry.corp", "base/nginx").unwrap().name,
            "corp",
            "and the default entry serves them"
        );
        let hub = parse(
            "registries:\n- name: hub\n  prefix: index.docker.io\n  api_url: https://registry-1.docker.io\n  \
             default: true\n",
        )
        .unwrap();
        assert_eq!(
            name(&hub, "nginx"),
            "docker.io/library/nginx",
            "Docker Hub by another name"
        );
    }

    #[test]
    fn endpoint_lookup() {
        let conf = parse(
            r#"
registries:
- name: hub
  api_url: https://mirror.example
  credentials: env:HUB
- name: ghcr
  prefix: ghcr.io
  credentials: env:GHCR
- name: ghcr org
  prefix: ghcr.io/org
  api_url: https://ghcr.io
  credentials: env:ORG
- name: quay
  prefix: quay.io/
- name: ecr
  prefix: 1234.dkr.ecr.eu-west-1.amazonaws.com
"#,
        )
        .unwrap();
        for (name, registry, repository, api, creds, page) in [
            (
                "prefix-less entry serves docker hub",
                "docker.io",
                "library/nginx",
                "https://mirror.example/",
                Some("env:HUB"),
                1000,
            ),
            (
                "host prefix",
                "ghcr.io",
                "someone/app",
                "https://ghcr.io/",
                Some("env:GHCR"),
                1000,
            ),
            (
                "longer repository prefix wins",
                "ghcr.io",
                "org/app",
                "https://ghcr.io/",
                Some("env:ORG"),
                1000,
            ),
            (
                "repository prefix itself",
                "ghcr.io",
                "org",
                "https://ghcr.io/",
                Some("env:ORG"),
                1000,
            ),
            (
                "prefix needs a path boundary",
                "ghcr.io",
                "organisation/app",
                "https://ghcr.io/",
                Some("env:GHCR"),
                1000,
            ),
            (
                "trailing slash trimmed; quay page size",
                "quay.io",
                "a/b",
                "https://quay.io/",
                None,
                100,
            ),
            (
                "ecr",
                "1234.dkr.ecr.eu-west-1.amazonaws.com",
                "a",
                "https://1234.dkr.ecr.eu-west-1.amazonaws.com/",
                None,
                1000,
            ),
            (
                "unconfigured is inferred",
                "registry.example:8443",
                "a",
                "https://registry.example:8443/",
                None,
                1000,
            ),
            (
                "loopback is plain http",
                "127.0.0.1:5000",
                "a",
                "http://127.0.0.1:5000/",
                None,
                1000,
            ),
            (
                "localhost is plain http",
                "localhost:5000",
                "a",
                "http://localhost:5000/",
                None,
                1000,
            ),
        ] {
            let endpoint = conf.endpoint(registry, repository).unwrap();
            assert_eq!(endpoint.api_url.as_str(), api, "{name}");
            assert_eq!(endpoint.credentials.as_deref(), creds, "{name}");
            assert_eq!(endpoint.page_size, page, "{name}");
            assert_eq!(endpoint.registry, registry, "{name}");
        }
        let empty = RegistriesConf::default();
        let hub = empty.endpoint("docker.io", "library/nginx").unwrap();
        assert_eq!(hub.api_url.as_str(), "https://registry-1.docker.io/");
        assert!(hub.ping);
        assert_eq!(hub.default_ns.as_deref(), Some("library"));
        assert_eq!(hub.limit, Some(20));
        assert_eq!(empty.default_registry(), "docker.io");
    }

    #[test]
    fn rejects_bad_files() {
        for (name, text, want) in [
            (
                "missing name",
                "registries:\n- prefix: a.io\n",
                "registries.conf entry 1: 'name' is missing",
            ),
            (
                "no api_url and no prefix",
                "registries:\n- name: x\n",
                "registries.conf entry 1 ('x'): neither 'prefix' nor 'api_url' is set; give the image prefix it \
                 serves, such as 'registry.example:5000/team'",
            ),
            (
                "regression: a prefix without registry host never matched, silently",
                "registries:\n- name: hub\n  prefix: docker.io\n- name: corp\n  prefix: corp\n",
                "registries.conf entry 2 ('corp'): prefix 'corp' does not start with a registry host (a name with a \
                 '.' or ':port', or localhost), so no image would ever use this entry; write the host first, such as \
                 'registry.example/corp' (or 'docker.io/corp' for Docker Hub)",
            ),
            (
                "ftp api_url",
                "registries:\n- name: x\n  api_url: ftp://a\n",
                "registry 'x': api_url 'ftp://a' is not an http(s) URL without query",
            ),
            (
                "userinfo",
                "registries:\n- name: x\n  api_url: https://u:p@a\n",
                "registry 'x': api_url must not carry a user name or password; use 'credentials'",
            ),
            (
                "bad bool",
                "registries:\n- name: x\n  prefix: a.io\n  insecure: maybe\n",
                "registry 'x': 'insecure: maybe' is not a boolean (use true/false or yes/no)",
            ),
            (
                "bad duration",
                "registries:\n- name: x\n  prefix: a.io\n  credsexpire: 5 hours\n",
                "registry 'x': credsexpire '5 hours' is not a duration such as 30m, 5h or 1h30m",
            ),
            (
                "duration without unit",
                "registries:\n- name: x\n  prefix: a.io\n  credsexpire: 5\n",
                "registry 'x': credsexpire '5' is not a duration such as 30m, 5h or 1h30m",
            ),
            (
                "tag sort",
                "registries:\n- name: x\n  prefix: a.io\n  tagsortmode: random\n",
                "registry 'x': unknown tagsortmode 'random' (use latest-first, latest-last or none)",
            ),
            (
                "page size",
                "registries:\n- name: x\n  prefix: a.io\n  pagesize: 0\n",
                "registry 'x': pagesize must be at least 1",
            ),
            (
                "a default registry that reads as a Docker Hub namespace",
                "registries:\n- name: x\n  prefix: harbor\n  api_url: https://harbor\n  default: true\n",
                "registry 'x': a default registry's prefix must start with a registry host ('harbor' has no '.' or \
                 ':port' and is not localhost), or image names written with it would read as Docker Hub's",
            ),
            (
                "duplicate prefix",
                "registries:\n- name: x\n  prefix: a.io\n- name: y\n  prefix: a.io\n",
                "registries 'x' and 'y' both have prefix 'a.io'; prefixes must be unique",
            ),
            (
                "two defaults",
                "registries:\n- name: x\n  prefix: a.io\n  default: true\n- name: y\n  prefix: b.io\n  default: on\n",
                "registries 'x' and 'y' both say 'default: true'; only one default registry is allowed",
            ),
            (
                "two without prefix",
                "registries:\n- name: x\n  api_url: https://a\n- name: y\n  api_url: https://b\n",
                "registries 'x' and 'y' both lack a prefix; only the default registry may omit it",
            ),
            (
                "bad prefix host",
                "registries:\n- name: x\n  prefix: 'a b'\n",
                "registry 'a b' is not a host name with an optional port (e.g. ghcr.io or 127.0.0.1:5000)",
            ),
            (
                // Fuzz (registries_conf): with an api_url the prefix host went unchecked, and as the default
                // registry it became the registry of every image without a host, which then did not parse.
                "default prefix host outside the image grammar, with api_url",
                "registries:\n- name: x\n  prefix: r$egistry.corp\n  api_url: https://registry.corp\n  default: true\n",
                "registry 'r$egistry.corp' is not a host name with an optional port (e.g. ghcr.io or 127.0.0.1:5000)",
            ),
            (
                "prefix host outside the image grammar, with api_url",
                "registries:\n- name: x\n  prefix: foo_bar.com/team\n  api_url: https://foo.com\n",
                "registry 'foo_bar.com' is not a host name with an optional port (e.g. ghcr.io or 127.0.0.1:5000)",
            ),
        ] {
            assert_eq!(parse(text).unwrap_err().to_string(), want, "{name}");
        }
        let unknown = parse("registries:\n- name: x\n  prefix: a.io\n  colour: red\n")
            .unwrap_err()
            .to_string();
        assert!(
            unknown.starts_with("registries.conf is not valid YAML for this format: registries[0]: unknown field `colour`"),
            "unknown key: {unknown}"
        );
        assert_eq!(parse("").unwrap(), RegistriesConf::default(), "empty file");
        assert_eq!(
            parse("registries:\n").unwrap(),
            RegistriesConf::default(),
            "empty list"
        );
    }

    #[test]
    fn go_durations() {
        for (name, text, want) in [
            ("hours", "5h", Some(Duration::from_secs(18_000))),
            ("compound", "1h30m", Some(Duration::from_secs(5400))),
            ("fraction", "1.5h", Some(Duration::from_secs(5400))),
            ("leading dot", ".5s", Some(Duration::from_millis(500))),
            ("millis", "300ms", Some(Duration::from_millis(300))),
            ("micros", "2us", Some(Duration::from_micros(2))),
            ("micro sign", "2µs", Some(Duration::from_micros(2))),
            ("nanos", "7ns", Some(Duration::from_nanos(7))),
            ("zero", "0", Some(Duration::ZERO)),
            ("plus sign", "+10s", Some(Duration::from_secs(10))),
            ("negative", "-1h", None),
            ("no unit", "10", None),
            ("unknown unit", "3d", None),
            ("empty", "", None),
            ("two dots", "1.2.3s", None),
            ("dot only", ".s", None),
        ] {
            assert_eq!(parse_go_duration(text).ok(), want, "{name}");
        }
    }

    #[test]
    fn inferred_endpoints() {
        for (name, registry, want) in [
            (
                "docker hub",
                "docker.io",
                Some("https://registry-1.docker.io/"),
            ),
            ("host", "ghcr.io", Some("https://ghcr.io/")),
            (
                "host and port",
                "r.example:5000",
                Some("https://r.example:5000/"),
            ),
            (
                "loopback ip",
                "127.0.0.1:5000",
                Some("http://127.0.0.1:5000/"),
            ),
            ("ipv6 loopback", "[::1]:5000", Some("http://[::1]:5000/")),
            ("path is not a registry", "ghcr.io/org", None),
            ("userinfo", "u@ghcr.io", None),
            ("space", "a b", None),
            ("empty", "", None),
        ] {
            let got = Endpoint::infer(registry)
                .map(|e| e.api_url.to_string())
                .ok();
            assert_eq!(got.as_deref(), want, "{name}");
        }
        assert_eq!(
            Endpoint::infer("a b").unwrap_err().to_string(),
            "registry 'a b' is not a host name with an optional port (e.g. ghcr.io or 127.0.0.1:5000)"
        );
        let quay = Endpoint::infer("quay.io").unwrap();
        assert_eq!((quay.page_size, quay.ping), (100, false));
    }
}
