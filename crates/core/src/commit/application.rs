//! An Argo CD `Application` object, as the Kubernetes API serves it, read into what Argo CD would send this plugin
//! for each of its sources that names the plugin: the request `generate` gets, and the revision it deploys.
//!
//! Pure: the main crate's `argo_api` watches Applications and hands each object here as JSON; the tables in
//! `tests/application.rs` pin the mapping. Argo CD's rules, as DESIGN.md ("The CMP contract") records them:
//! - `spec.sources`, when it has items, replaces `spec.source` (a multi-source Application); each source that names
//!   the plugin is one request of its own;
//! - a source names the plugin when its `plugin.name` is plugin.yaml's `<metadata.name>-<spec.version>`
//!   ([`DEFAULT_PLUGIN_NAME`]); a `plugin` section without a name is matched by a `discover` block in Argo CD, which
//!   this plugin does not declare, so such a source counts only when asked ([`Matching::unnamed`]);
//! - `ARGOCD_APP_NAME` is `<name>`, or `<namespace>_<name>` outside the control plane's namespace;
//!   `ARGOCD_APP_NAMESPACE` is the destination namespace; parameters and env are the plugin section's;
//! - the Application's `argocd-image-updater.argoproj.io/*` annotations become parameters of the same name, as the
//!   committer's config file makes them (one function does it for both), and one key set by an annotation and by a
//!   parameter is refused the same way.
//!
//! An Application that is not this plugin's, or that cannot be read, is an [`ApplicationError`]: the watcher skips
//! it, logs and counts it, and goes on.

use std::fmt;

use serde_json::{Map, Value};
use thiserror::Error;

use super::config::{annotation_and_parameter, annotation_parameters, app_path};
use super::{ConfigError, DEFAULT_REVISION};
use crate::argo::{ArgoRequest, PLUGIN_ENV_PREFIX};
use crate::policy::source::{PREFIX, Parameter, Settings, SourceError, parameters_from_value};
use crate::writeback::WriteBackError;

/// The plugin name Applications give: plugin.yaml's `metadata.name` + `-` + `spec.version`.
pub const DEFAULT_PLUGIN_NAME: &str = "argocd-image-resolver-v1";

/// Argo CD's own namespace, where Applications get their bare name as `ARGOCD_APP_NAME`.
pub const DEFAULT_CONTROL_PLANE_NAMESPACE: &str = "argocd";

/// Which sources are this plugin's, and how Argo CD names applications.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Matching {
    /// The `plugin.name` a source must give.
    pub plugin_name: String,
    /// Whether a `plugin` section without a name (or with an empty one) counts too, as Argo CD's discovery would
    /// pick this plugin for it when plugin.yaml has a `discover` block.
    pub unnamed: bool,
    /// Argo CD's control-plane namespace (`argocd`).
    pub control_plane_namespace: String,
}

impl Default for Matching {
    fn default() -> Self {
        Matching {
            plugin_name: DEFAULT_PLUGIN_NAME.to_string(),
            unnamed: false,
            control_plane_namespace: DEFAULT_CONTROL_PLANE_NAMESPACE.to_string(),
        }
    }
}

/// An Application's identity in the cluster: `namespace/name`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AppKey {
    pub namespace: String,
    pub name: String,
}

impl AppKey {
    pub fn new(namespace: impl Into<String>, name: impl Into<String>) -> AppKey {
        AppKey {
            namespace: namespace.into(),
            name: name.into(),
        }
    }
}

impl fmt::Display for AppKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

/// One source of an Application that names this plugin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PluginSource {
    /// What Argo CD sends the plugin for it, but the revision and cluster, which only a render knows.
    pub request: ArgoRequest,
    /// `targetRevision`, [`DEFAULT_REVISION`] when empty: a branch, a tag or a commit.
    pub target_revision: String,
    /// Its place in `spec.sources`; `None` for `spec.source`.
    pub index: Option<usize>,
}

/// Why an Application is skipped.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("application {app}: {problem}")]
pub struct ApplicationError {
    /// `namespace/name`, as far as the object says.
    pub app: String,
    pub problem: ApplicationProblem,
}

/// What is wrong with an Application, each naming the field at fault.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum ApplicationProblem {
    /// Not an error of the Application: it is simply not this plugin's.
    #[error("no source names plugin {plugin} ({found}); skipped")]
    NotThisPlugin { plugin: String, found: String },
    #[error("{at} is missing")]
    Missing { at: String },
    #[error("{at} is {given}, but must be {expected}")]
    Type {
        at: String,
        given: &'static str,
        expected: &'static str,
    },
    #[error("{at} is empty")]
    Empty { at: String },
    #[error("{at}: {problem}")]
    Path { at: String, problem: String },
    #[error(
        "{at}: '{name}' cannot be an environment variable's name (it holds '=' or a control character)"
    )]
    EnvName { at: String, name: String },
    /// The parameters, the policy keys among them and the env, as `generate` would read them.
    #[error("{at}: {source}")]
    Policy {
        at: String,
        source: Box<SourceError>,
    },
    #[error("{at}: sets {key}, as annotation {annotation} does; set it in one place")]
    KeyTwice {
        at: String,
        key: String,
        annotation: String,
    },
    #[error("{at}: {source}")]
    WriteBack {
        at: String,
        source: Box<WriteBackError>,
    },
}

impl ApplicationProblem {
    /// Whether the Application is wrong (rather than another plugin's, or none's).
    pub fn is_malformed(&self) -> bool {
        !matches!(self, ApplicationProblem::NotThisPlugin { .. })
    }
}

/// The sources of `application` (an `argoproj.io/v1alpha1` `Application` as JSON) that name the plugin, in the
/// order written, each with the request Argo CD would send for it.
///
/// # Errors
///
/// [`ApplicationProblem::NotThisPlugin`] when no source names the plugin; otherwise the first field that cannot
/// be read, in any source that names it (the whole Application is skipped then, as Argo CD fails to render it).
///
/// ```
/// use argocd_image_resolver_core::commit::{Matching, plugin_sources};
///
/// let app = serde_json::json!({
///     "metadata": {"name": "web", "namespace": "team"},
///     "spec": {
///         "destination": {"namespace": "web"},
///         "source": {
///             "repoURL": "https://git.example.org/deploy.git",
///             "path": "apps/web",
///             "plugin": {"name": "argocd-image-resolver-v1",
///                        "parameters": [{"name": "image-list", "string": "web=ghcr.io/org/web:^1"}]},
///         },
///     },
/// });
/// let sources = plugin_sources(&app, &Matching::default()).unwrap();
/// let request = &sources[0].request;
/// assert_eq!(request.app_name.as_deref(), Some("team_web"));
/// assert_eq!(request.namespace.as_deref(), Some("web"));
/// assert_eq!(sources[0].target_revision, "HEAD");
/// ```
pub fn plugin_sources(
    application: &Value,
    matching: &Matching,
) -> Result<Vec<PluginSource>, ApplicationError> {
    let metadata = application.get("metadata");
    let name = metadata.and_then(|m| m.get("name")).and_then(Value::as_str);
    let namespace = metadata
        .and_then(|m| m.get("namespace"))
        .and_then(Value::as_str);
    let app = format!(
        "{}/{}",
        namespace.unwrap_or("(no namespace)"),
        name.unwrap_or("(no name)")
    );
    read(application, matching).map_err(|problem| ApplicationError { app, problem })
}

fn read(application: &Value, matching: &Matching) -> Result<Vec<PluginSource>, ApplicationProblem> {
    let metadata = object(application.get("metadata"), "metadata")?;
    let name = text(metadata.get("name"), "metadata.name")?;
    let namespace = text(metadata.get("namespace"), "metadata.namespace")?;
    let annotations = annotations(metadata.get("annotations"))?;
    let spec = object(application.get("spec"), "spec")?;
    let destination = match optional(spec.get("destination")) {
        None => None,
        Some(value) => {
            let destination = object(Some(value), "spec.destination")?;
            optional_text(destination.get("namespace"), "spec.destination.namespace")?
                .filter(|ns| !ns.is_empty())
        }
    };
    let app_name = if namespace == matching.control_plane_namespace {
        name.to_string()
    } else {
        format!("{namespace}_{name}")
    };

    // Argo CD reads `spec.sources` whenever it has items, and `spec.source` only otherwise.
    let sources: Vec<(String, Option<usize>, &Value)> = match optional(spec.get("sources")) {
        Some(Value::Array(items)) if !items.is_empty() => items
            .iter()
            .enumerate()
            .map(|(i, source)| (format!("spec.sources[{i}]"), Some(i), source))
            .collect(),
        Some(Value::Array(_)) | None => match optional(spec.get("source")) {
            Some(source) => vec![("spec.source".to_string(), None, source)],
            None => Vec::new(),
        },
        Some(other) => return Err(wrong_type("spec.sources", other, "a list of sources")),
    };
    if sources.is_empty() {
        return Err(ApplicationProblem::NotThisPlugin {
            plugin: matching.plugin_name.clone(),
            found: "it has no source".to_string(),
        });
    }

    let mut found: Vec<String> = Vec::new();
    let mut ours = Vec::new();
    for (at, index, source) in sources {
        let source = object(Some(source), &at)?;
        let Some(plugin) = optional(source.get("plugin")) else {
            found.push("no plugin".to_string());
            continue;
        };
        let plugin = object(Some(plugin), &format!("{at}.plugin"))?;
        let plugin_name =
            optional_text(plugin.get("name"), &format!("{at}.plugin.name"))?.unwrap_or_default();
        let named = plugin_name == matching.plugin_name;
        if !(named || (plugin_name.is_empty() && matching.unnamed)) {
            found.push(if plugin_name.is_empty() {
                "a plugin without a name".to_string()
            } else {
                format!("plugin {plugin_name}")
            });
            continue;
        }
        ours.push(plugin_source(
            &at,
            index,
            source,
            plugin,
            &app_name,
            destination,
            &annotations,
        )?);
    }
    if ours.is_empty() {
        found.dedup();
        return Err(ApplicationProblem::NotThisPlugin {
            plugin: matching.plugin_name.clone(),
            found: format!("found {}", found.join(", ")),
        });
    }
    Ok(ours)
}

/// One source that names the plugin, read and checked as `generate` would read its request.
fn plugin_source(
    at: &str,
    index: Option<usize>,
    source: &Map<String, Value>,
    plugin: &Map<String, Value>,
    app_name: &str,
    destination: Option<&str>,
    annotations: &[(String, String)],
) -> Result<PluginSource, ApplicationProblem> {
    let repo_url = text(source.get("repoURL"), &format!("{at}.repoURL"))?;
    let target_revision = optional_text(
        source.get("targetRevision"),
        &format!("{at}.targetRevision"),
    )?
    .filter(|r| !r.is_empty())
    .unwrap_or(DEFAULT_REVISION);
    let path_at = format!("{at}.path");
    let path = optional_text(source.get("path"), &path_at)?
        .filter(|p| !p.is_empty())
        .unwrap_or(".");
    let path = app_path(&path_at, path).map_err(|e: ConfigError| ApplicationProblem::Path {
        at: e.at,
        problem: e.problem.to_string(),
    })?;

    let env_at = format!("{at}.plugin.env");
    let mut plugin_env = Vec::new();
    match optional(plugin.get("env")) {
        None => {}
        Some(Value::Array(entries)) => {
            for (i, entry) in entries.iter().enumerate() {
                let entry_at = format!("{env_at}[{i}]");
                let entry = object(Some(entry), &entry_at)?;
                let name = text(entry.get("name"), &format!("{entry_at}.name"))?;
                if name.contains(|c: char| c == '=' || c.is_control()) {
                    return Err(ApplicationProblem::EnvName {
                        at: format!("{entry_at}.name"),
                        name: name.to_string(),
                    });
                }
                let value = optional_text(entry.get("value"), &format!("{entry_at}.value"))?
                    .unwrap_or_default();
                plugin_env.push((format!("{PLUGIN_ENV_PREFIX}{name}"), value.to_string()));
            }
        }
        Some(other) => {
            return Err(wrong_type(&env_at, other, "a list of {name, value}"));
        }
    }
    plugin_env.sort();

    let parameters_at = format!("{at}.plugin.parameters");
    let own: Vec<Parameter> = parameters_from_value(
        plugin.get("parameters").cloned().unwrap_or(Value::Null),
    )
    .map_err(|e| ApplicationProblem::Policy {
        at: parameters_at.clone(),
        source: Box::new(e),
    })?;
    let own_names: Vec<&str> = own.iter().map(|p| p.name.as_str()).collect();
    if let Some((parameter, annotation)) =
        annotation_and_parameter(annotations.iter().map(|(n, _)| n.as_str()), &own_names)
    {
        return Err(ApplicationProblem::KeyTwice {
            at: format!("{parameters_at}[{parameter}]"),
            key: annotation
                .strip_prefix(PREFIX)
                .unwrap_or(annotation)
                .to_string(),
            annotation: annotation.to_string(),
        });
    }
    let parameters: Vec<Parameter> = annotation_parameters(annotations).chain(own).collect();

    // What generate and the committer will read of them, checked now so that a bad key names the Application
    // once, here, instead of failing every round.
    let settings =
        Settings::from_parameters(parameters.clone()).map_err(|e| ApplicationProblem::Policy {
            at: parameters_at.clone(),
            source: Box::new(e),
        })?;
    let env = Settings::from_env(plugin_env.clone()).map_err(|e| ApplicationProblem::Policy {
        at: env_at,
        source: Box::new(e),
    })?;
    settings
        .overridden_by(&env)
        .write_back_spec()
        .build()
        .map_err(|e| ApplicationProblem::WriteBack {
            at: format!("{at}.plugin"),
            source: Box::new(e),
        })?;

    Ok(PluginSource {
        request: ArgoRequest {
            app_name: Some(app_name.to_string()),
            namespace: destination.map(str::to_string),
            revision: None,
            repo_url: Some(repo_url.to_string()),
            source_path: Some(path),
            kube_version: None,
            api_versions: Vec::new(),
            parameters,
            plugin_env,
        },
        target_revision: target_revision.to_string(),
        index,
    })
}

/// `metadata.annotations`: a map of strings, in the API's order.
fn annotations(value: Option<&Value>) -> Result<Vec<(String, String)>, ApplicationProblem> {
    let Some(value) = optional(value) else {
        return Ok(Vec::new());
    };
    let map = object(Some(value), "metadata.annotations")?;
    map.iter()
        .map(|(key, value)| {
            let at = format!("metadata.annotations[{key}]");
            let value =
                optional_text(Some(value), &at)?.ok_or(ApplicationProblem::Missing { at })?;
            Ok((key.clone(), value.to_string()))
        })
        .collect()
}

/// A field that may be absent: JSON `null` counts as absent, as Go's decoder reads it.
fn optional(value: Option<&Value>) -> Option<&Value> {
    value.filter(|v| !v.is_null())
}

fn object<'a>(
    value: Option<&'a Value>,
    at: &str,
) -> Result<&'a Map<String, Value>, ApplicationProblem> {
    match optional(value) {
        Some(Value::Object(map)) => Ok(map),
        Some(other) => Err(wrong_type(at, other, "an object")),
        None => Err(ApplicationProblem::Missing { at: at.to_string() }),
    }
}

/// A required, non-empty string.
fn text<'a>(value: Option<&'a Value>, at: &str) -> Result<&'a str, ApplicationProblem> {
    match optional_text(value, at)? {
        Some("") => Err(ApplicationProblem::Empty { at: at.to_string() }),
        Some(text) => Ok(text),
        None => Err(ApplicationProblem::Missing { at: at.to_string() }),
    }
}

fn optional_text<'a>(
    value: Option<&'a Value>,
    at: &str,
) -> Result<Option<&'a str>, ApplicationProblem> {
    match optional(value) {
        None => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(other) => Err(wrong_type(at, other, "a string")),
    }
}

fn wrong_type(at: &str, value: &Value, expected: &'static str) -> ApplicationProblem {
    let given = match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    };
    ApplicationProblem::Type {
        at: at.to_string(),
        given,
        expected,
    }
}
