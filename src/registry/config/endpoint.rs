//! Which [`Endpoint`] serves a registry and repository: the longest configured prefix at a path boundary, the
//! prefix-less entry for the default registry, else an endpoint inferred from the host; and how image references
//! read under the configuration (default registry, `defaultns`).

use url::Url;

use super::{
    ConfigError, DEFAULT_PAGE_SIZE, DOCKER_HUB, DOCKER_HUB_API, Endpoint, QUAY_PAGE_SIZE,
    RegistriesConf, RegistryEntry, TagSortMode,
};
use crate::image::{self, ImageDefaults};
use crate::registry::limit::DEFAULT_REQUESTS_PER_SECOND;

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
pub(super) fn inferred_api_url(registry: &str) -> Option<Url> {
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
