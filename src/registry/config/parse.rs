//! The `registries.conf` format: the YAML read as Go's yaml.v2 reads it (YAML 1.1 booleans, durations, unknown
//! keys refused), each entry validated into a [`RegistryEntry`] and the entries checked against each other.

use std::path::PathBuf;

use serde::Deserialize;
use url::Url;

use super::endpoint::inferred_api_url;
use super::{ConfigError, RegistriesConf, RegistryEntry, TagSortMode};
use crate::image::{self, ImageRef};
use crate::registry::credentials::parse_go_duration;
use crate::registry::limit::DEFAULT_REQUESTS_PER_SECOND;

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
