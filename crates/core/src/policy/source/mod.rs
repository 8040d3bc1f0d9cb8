//! Where image policies come from: argocd-image-updater's key vocabulary, read from a rendered object's annotations,
//! the Application's plugin parameters and its plugin env, merged key by key and validated into [`TrackedImage`]s.
//!
//! Pure: the caller reads the environment and the rendered objects and hands over strings.
//!
//! # Vocabulary
//!
//! Keys are argocd-image-updater's, under the prefix `argocd-image-updater.argoproj.io/`:
//! - `image-list`: `[<alias>=]<image>[:<constraint>]`, comma-separated; spaces around entries are ignored and empty
//!   entries skipped. The list is split at every `,`, as upstream splits it, so comparisons inside one constraint
//!   are separated by spaces (`app:>=1.0 <2`); a leftover piece such as `<2` gets an error saying so. An
//!   `image-list` given as an array parameter has one entry per item, and there a constraint may hold `,`. The text
//!   before the first `=` is the alias unless it holds a `:`, so `nginx:>=1.2` has no alias (upstream would take
//!   `nginx:>` for one). A digest in an entry is ignored with a warning: a policy is about a repository.
//! - `<alias>.<option>`, per image: upstream's `update-strategy`, `allow-tags` (and its deprecated name `tag-match`,
//!   read only when no `allow-tags` applies), `ignore-tags`, `platforms`, `pull-secret`, `kustomize.image-name`;
//!   this plugin's `pin` (use exactly this tag), `hold` (leave the image as rendered), `pin-digest` (render
//!   `tag@<digest>`), and Flux-style `tag-pattern`, `extract`, `order`, `include-prerelease`, `strict-semver`,
//!   meaning what the `resolve` flags of the same names mean. An alias holding `/` is written with `_` in keys, as
//!   upstream does (`argoproj/argocd` → `argoproj_argocd.update-strategy`).
//! - the same options without alias are defaults for every image where upstream has them (`update-strategy`,
//!   `allow-tags`, `ignore-tags`, `pull-secret`) and for this plugin's `platforms`, `hold`, `pin-digest`,
//!   `tag-pattern`, `extract`, `order`, `include-prerelease`, `strict-semver`. An alias's own key beats the default
//!   whichever sources they come from. An image listed without alias gets the defaults only, as upstream (where its
//!   keys would start with a bare `.`).
//! - upstream's write-back keys, read into [`crate::writeback`]'s types for the committer and `explain`: the
//!   application-wide `write-back-method`, `write-back-target`, `git-branch`, `git-repository` (from parameters
//!   and plugin env only: [`Settings::write_back_spec`]; on an object's annotations they are ignored with a
//!   warning, as the application's settings cannot differ per object), and per image `kustomize.image-name`,
//!   `helm.image-name`, `helm.image-tag`, `helm.image-spec` ([`TrackedImage::write_back`], validated like any
//!   option). `force-update` (write back an image the application does not run) is recognised and ignored with
//!   a warning.
//!
//! Values: surrounding whitespace is ignored, and an empty value counts as not set, so a field cleared in the Argo CD
//! UI never erases a policy kept in git. `update-strategy` ignores case, as upstream. Booleans are `true` or `false`
//! and nothing else (upstream silently reads anything but `true` as false). Everything is validated before any image
//! is resolved; an error names the source, the key and the value. A `pin` wins over everything, `hold` included.
//!
//! # Sources and precedence
//!
//! 1. the annotations of a rendered object (a Deployment's own `metadata.annotations`; only prefixed keys): they
//!    govern that object's images;
//! 2. the Application's plugin parameters (`ARGOCD_APP_PARAMETERS`), for every object;
//! 3. the Application's plugin env (`ARGOCD_ENV_*`), for every object.
//!
//! The caller merges them per object: `Settings::from_annotations(..).overridden_by(&parameters).overridden_by(&env)`.
//! For each key the latest source wins. `image-list` is merged by entry instead: the lists of all sources are
//! joined, and an entry of a later source replaces an earlier entry with the same alias (without alias: the same
//! repository). So an Application can add images to those its manifests list, or change one's constraint; to stop
//! resolving an image listed in git, set its `hold`. Within one source a key given twice is an error (a parameter
//! with and without prefix, an env variable in both spellings), except in annotations, where the last one wins, as
//! when Kubernetes decodes an object.
//!
//! # Parameters
//!
//! A parameter's name is a key, with or without the prefix; other names are left alone (they may be the renderer's).
//! Values are `string`s; an `array` is accepted for `image-list` (one entry per item) and for `ignore-tags` and
//! `platforms` (items joined with `,`). A `map` parameter named `policy` holds keys (with or without the prefix) and
//! their values: one table in the Parameters tab of the Argo CD UI for the whole policy. Its entries are named
//! `policy[<key>]` in messages.
//!
//! # Plugin env
//!
//! Argo CD passes each entry of the Application's `spec.source.plugin.env` as `ARGOCD_ENV_<name>`, the name as
//! written and unvalidated, so a name may hold `.`, `-` and `/`. Two spellings are read:
//! - the exact key, with or without prefix: `ARGOCD_ENV_web.update-strategy`,
//!   `ARGOCD_ENV_argocd-image-updater.argoproj.io/web.update-strategy`;
//! - upper snake, for shells and habits: `ARGOCD_ENV_IMAGE_LIST`, `ARGOCD_ENV_UPDATE_STRATEGY` (the default for
//!   every image), `ARGOCD_ENV_<ALIAS>_<OPTION>` with the option upper-cased and `.` and `-` written `_`
//!   (`ARGOCD_ENV_WEB_HELM_IMAGE_NAME`). The longest option wins (`X_HELM_IMAGE_NAME` is alias `X`). `<ALIAS>`
//!   matches the image-list alias that reads the same once upper-cased with every character other than a letter or
//!   digit written `_`; when two aliases read the same (`my-app`, `my_app`) it is an error asking for the exact
//!   spelling, when none does, a warning. Names starting with `IMAGE_RESOLVER_` are the plugin's own options, never
//!   keys. Names that are neither spelling are left alone.
//!
//! Argo CD expands `$NAME` and `${NAME}` in env values before the plugin sees them, so `extract` templates (`$ts`,
//! `${1}`) belong in parameters or annotations.
//!
//! # Warnings
//!
//! Questionable input that does not change the output is returned as warnings, never printed here. Because
//! parameters and env apply to every object, [`Settings::tracked_images`] warns only about keys from annotations
//! (plus what it notices about each image), and [`Settings::app_wide_warnings`] about parameter and env keys, once,
//! given the aliases of all objects. Warnings about one image can repeat across objects: deduplicate them.

mod keys;
mod parameters;
mod resolve;
mod tracked;

use std::collections::BTreeMap;
use std::fmt;

use thiserror::Error;

use super::spec::PolicyError;
use crate::image::ImageRefError;
use crate::writeback::{WriteBackError, WriteBackSpec};
use keys::{ENV_PREFIX, Key, Opt};
pub use keys::{PREFIX, WriteBackKey, is_valid_alias};
pub use parameters::{Parameter, parameters_from_value, parse_parameters};
pub use tracked::{Action, KeyOrigin, Tracked, TrackedImage, find};

/// Where a key's value came from, for messages and `explain`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Origin {
    /// An annotation of a rendered object, named `Kind/name`.
    Annotation { object: String },
    /// A plugin parameter, named as written (`web.pin`; `policy[web.pin]` for an entry of the `policy` map).
    Parameter { name: String },
    /// A plugin env variable, with its full name (`ARGOCD_ENV_WEB_PIN`).
    Env { var: String },
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Annotation { object } => write!(f, "annotation on {object}"),
            Origin::Parameter { name } => write!(f, "parameter {name}"),
            Origin::Env { var } => write!(f, "env {var}"),
        }
    }
}

/// A value and where it was written, as messages show it:
/// `annotation argocd-image-updater.argoproj.io/web.pin = '1.2' (on Deployment/web)`, `parameter web.pin = '1.2'`,
/// `env ARGOCD_ENV_WEB_PIN = '1.2'`; one entry of an image list reads `… image-list entry 'web=app:^1'`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Located {
    pub origin: Origin,
    /// The canonical annotation key.
    pub key: String,
    pub value: String,
    /// Whether `value` is one entry of an image list rather than the whole value.
    pub entry: bool,
}

/// At most this many characters of a key or value go into a message.
const SHOWN_MAX_CHARS: usize = 200;

impl fmt::Display for Located {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Everything here is written by whoever edits the Application: escaped and cut, so that no value can forge
        // a line of the message or fill it.
        let shown = |text: &str| crate::escape::shown(text, SHOWN_MAX_CHARS);
        // Credentials in a URL never reach a message, even the one refusing them: a git-repository value in either
        // of git's forms (scp-like `user:password@host:path` too), any other value's `scheme://` URLs.
        let value = if self.key.strip_prefix(PREFIX) == Some(WriteBackKey::Repository.name()) {
            crate::redact::redact_remote(&self.value)
        } else {
            crate::redact::redact_url(&self.value)
        };
        match &self.origin {
            Origin::Annotation { .. } => write!(f, "annotation {}", shown(&self.key))?,
            Origin::Parameter { name } => write!(f, "parameter {}", shown(name))?,
            Origin::Env { var } => write!(f, "env {}", shown(var))?,
        }
        if self.entry {
            write!(f, " entry '{}'", shown(&value))?;
        } else {
            write!(f, " = '{}'", shown(&value))?;
        }
        if let Origin::Annotation { object } = &self.origin {
            write!(f, " (on {})", shown(object))?;
        }
        Ok(())
    }
}

/// Why the policy settings cannot be used. Each message names the source, key and value at fault.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum SourceError {
    #[error(
        "invalid ARGOCD_APP_PARAMETERS: {reason}; expected a JSON list of {{\"name\": …, \"string\" | \"array\" | \"map\": …}} or null"
    )]
    ParametersJson { reason: String },
    #[error("parameter {name}: its \"{field}\" {given}, but must be {expected}")]
    ParameterValue {
        name: String,
        field: &'static str,
        /// `is a number`, `holds a boolean`.
        given: String,
        expected: &'static str,
    },
    #[error("parameter {name} sets more than one of string, array and map; give one")]
    ParameterShape { name: String },
    #[error("parameter {name} is {given}, but {key} takes {expected}")]
    ParameterType {
        name: String,
        key: String,
        given: &'static str,
        expected: &'static str,
    },
    #[error("{first} and {second} both set {key}; remove one")]
    Twice {
        key: String,
        first: Box<Located>,
        second: Box<Located>,
    },
    #[error("{at}: {source}")]
    Image {
        at: Box<Located>,
        source: ImageRefError,
    },
    #[error(
        "{at}: not an image but the rest of a version constraint; image-list is split at every ',', so separate \
         comparisons with spaces ('>=1.0 <2') or give image-list as an array parameter"
    )]
    ConstraintSplit { at: Box<Located> },
    #[error(
        "{at}: invalid alias '{alias}': use letters, digits, '-', '_', '.' and '/', beginning and ending with a \
         letter or digit"
    )]
    Alias { at: Box<Located>, alias: String },
    #[error(
        "{at}: alias '{alias}' is already used in this image-list; give each entry its own alias"
    )]
    DuplicateAlias { at: Box<Located>, alias: String },
    #[error(
        "{at}: {image} is already listed without alias in this image-list; give the entries aliases"
    )]
    DuplicateImage { at: Box<Located>, image: String },
    /// A policy option's value (`update-strategy`, `allow-tags`, …), named by its key.
    #[error(transparent)]
    Policy(#[from] PolicyError),
    #[error("{at}: expected 'true' or 'false'")]
    Bool { at: Box<Located> },
    #[error(
        "{at}: invalid tag to pin: a tag is 1 to 128 letters, digits, '_', '.' or '-', and does not start with '.' or '-'"
    )]
    Pin { at: Box<Located> },
    #[error("{at}: {reason}")]
    PullSecret { at: Box<Located>, reason: String },
    #[error("{at}: the name reads as aliases {aliases}; name one exactly, such as {example}")]
    AmbiguousEnv {
        at: Box<Located>,
        aliases: String,
        example: String,
    },
    /// A write-back key's value (`write-back-method`, `helm.image-tag`, …), named by its key.
    #[error(transparent)]
    WriteBack(#[from] WriteBackError),
}

/// Policy settings from one or more sources: each key's value with its [`Origin`], merged key by key.
/// `Settings::default()` stands for an object without annotations.
///
/// ```
/// use argocd_image_resolver_core::image::ImageRef;
/// use argocd_image_resolver_core::policy::source::{Action, Settings, find};
///
/// let annotations = [(
///     "argocd-image-updater.argoproj.io/image-list".to_string(),
///     "web=ghcr.io/org/web:^1.2".to_string(),
/// )];
/// let object = Settings::from_annotations("Deployment/web", &annotations);
/// let parameters =
///     Settings::from_parameters_json(r#"[{"name": "web.pin", "string": "1.2.7"}]"#).unwrap();
/// let env = Settings::from_env([("ARGOCD_ENV_WEB_ALLOW_TAGS".to_string(), "regexp:^1".to_string())]).unwrap();
///
/// let tracked = object.overridden_by(&parameters).overridden_by(&env).tracked_images().unwrap();
/// let web = find(&tracked.images, &ImageRef::parse("ghcr.io/org/web:1.2.3").unwrap()).unwrap();
/// assert_eq!(web.action(), Action::Pin("1.2.7"));
/// assert_eq!(web.policy.to_string(), "strategy semver, constraint '^1.2', allow-tags 'regexp:^1'");
/// ```
#[derive(Clone, Debug, Default)]
pub struct Settings {
    entries: Vec<Entry>,
    /// How many sources were merged; entries of later sources have higher layers.
    layers: u32,
}

/// One key as one source set it.
#[derive(Clone, Debug)]
struct Entry {
    key: Key,
    /// Trimmed, never empty. For `image-list`, the entries joined with `, `.
    value: String,
    /// `image-list` only: the entries.
    items: Vec<String>,
    /// `image-list` only: whether the entries were split from one string at `,` (rather than given as an array).
    split: bool,
    origin: Origin,
    layer: u32,
}

impl Entry {
    fn new(key: Key, value: &str, origin: Origin) -> Option<Entry> {
        let value = value.trim();
        if value.is_empty() {
            return None;
        }
        let (items, split) = if key == Key::ImageList {
            (split_list(value), true)
        } else {
            (Vec::new(), false)
        };
        Some(Entry {
            key,
            value: value.to_string(),
            items,
            split,
            origin,
            layer: 0,
        })
    }

    fn located(&self) -> Box<Located> {
        Box::new(Located {
            origin: self.origin.clone(),
            key: self.key.to_string(),
            value: self.value.clone(),
            entry: false,
        })
    }

    fn located_item(&self, item: &str) -> Box<Located> {
        Box::new(Located {
            value: item.to_string(),
            entry: true,
            ..*self.located()
        })
    }
}

/// Splits a comma-separated value as upstream does, trimming each part; empty parts are dropped.
fn split_list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .map(String::from)
        .collect()
}

/// The one value of a parameter.
enum ParamValue {
    String(String),
    Array(Vec<String>),
    Map(BTreeMap<String, String>),
}

/// The name of the map parameter that holds a whole policy.
const POLICY_MAP: &str = "policy";

impl Settings {
    /// The policy keys among a rendered object's annotations; `object` names it (`Deployment/web`) in messages.
    /// Only keys with the prefix count; a key given twice keeps its last value.
    pub fn from_annotations(object: &str, annotations: &[(String, String)]) -> Settings {
        let mut entries: Vec<(String, Entry)> = Vec::new();
        for (name, value) in annotations {
            let Some(rest) = name.strip_prefix(PREFIX) else {
                continue;
            };
            let key = Key::parse(rest).unwrap_or_else(|| Key::Unknown(rest.to_string()));
            let origin = Origin::Annotation {
                object: object.to_string(),
            };
            entries.retain(|(written, _)| written != name);
            if let Some(entry) = Entry::new(key, value, origin) {
                entries.push((name.clone(), entry));
            }
        }
        Settings::single(entries.into_iter().map(|(_, entry)| entry).collect())
    }

    /// The policy keys among the plugin parameters, from the JSON of `ARGOCD_APP_PARAMETERS` (`null`, empty or
    /// blank text means none). See the module documentation for the names and value types read.
    pub fn from_parameters_json(json: &str) -> Result<Settings, SourceError> {
        Settings::from_parameters(parse_parameters(json)?)
    }

    /// The policy keys among `parameters` (see [`parse_parameters`]).
    pub fn from_parameters(parameters: Vec<Parameter>) -> Result<Settings, SourceError> {
        let mut entries = Vec::new();
        for parameter in parameters {
            let name = parameter.name.clone();
            let Some(value) = parameter_value(parameter)? else {
                continue;
            };
            if name == POLICY_MAP {
                let ParamValue::Map(map) = value else {
                    return Err(SourceError::ParameterType {
                        name,
                        key: POLICY_MAP.to_string(),
                        given: value.kind(),
                        expected: "a map of keys and values",
                    });
                };
                for (key_name, value) in map {
                    let key = Key::parse_name(&key_name)
                        .unwrap_or_else(|| Key::Unknown(key_name.clone()));
                    let origin = Origin::Parameter {
                        name: format!("{POLICY_MAP}[{key_name}]"),
                    };
                    entries.extend(Entry::new(key, &value, origin));
                }
                continue;
            }
            let Some(key) = Key::parse_name(&name) else {
                continue;
            };
            let origin = Origin::Parameter { name: name.clone() };
            entries.extend(parameter_entry(key, &name, value, origin)?);
        }
        check_twice(&entries)?;
        Ok(Settings::single(entries))
    }

    /// The policy keys among plugin env variables (`ARGOCD_ENV_*`; any other variable is skipped, so the whole
    /// environment can be passed). See the module documentation for the two spellings.
    pub fn from_env(
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Settings, SourceError> {
        let mut vars: Vec<(String, String)> = vars
            .into_iter()
            .filter(|(name, _)| name.starts_with(ENV_PREFIX))
            .collect();
        // The process environment has no order; sort so that messages do not change between runs.
        vars.sort();
        let mut entries = Vec::new();
        for (var, value) in vars {
            let Some(key) = Key::parse_env(&var[ENV_PREFIX.len()..]) else {
                continue;
            };
            entries.extend(Entry::new(key, &value, Origin::Env { var }));
        }
        check_twice(&entries)?;
        Ok(Settings::single(entries))
    }

    /// These settings with `later`'s on top: for each key, `later`'s value wins; image lists are joined by entry.
    #[must_use]
    pub fn overridden_by(mut self, later: &Settings) -> Settings {
        let base = self.layers;
        self.entries
            .extend(later.entries.iter().cloned().map(|mut entry| {
                entry.layer += base;
                entry
            }));
        self.layers += later.layers;
        self
    }

    /// The application's write-back keys: the latest parameter or plugin env value of each, with where it was
    /// written; annotations never set them (see the module documentation). Validate with
    /// [`WriteBackSpec::build`].
    pub fn write_back_spec(&self) -> WriteBackSpec {
        let latest = |wanted: WriteBackKey| {
            self.entries
                .iter()
                .filter(|e| e.key == Key::WriteBack(wanted))
                .filter(|e| !matches!(e.origin, Origin::Annotation { .. }))
                .max_by_key(|e| e.layer)
                .map(|e| *e.located())
        };
        WriteBackSpec {
            method: latest(WriteBackKey::Method),
            target: latest(WriteBackKey::Target),
            branch: latest(WriteBackKey::Branch),
            repository: latest(WriteBackKey::Repository),
        }
    }

    /// Whether no source set any policy key.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The value each key ends up with and where it came from, by canonical key (upper-snake env names, whose
    /// alias is matched only when images are built, by their own name; image lists, one per source).
    pub fn effective(&self) -> Vec<(String, String, Origin)> {
        let mut winners: BTreeMap<String, &Entry> = BTreeMap::new();
        let mut lists = Vec::new();
        for entry in &self.entries {
            if entry.key == Key::ImageList {
                lists.push((
                    entry.key.to_string(),
                    entry.value.clone(),
                    entry.origin.clone(),
                ));
                continue;
            }
            let key = entry.key.to_string();
            if winners.get(&key).is_none_or(|won| won.layer <= entry.layer) {
                winners.insert(key, entry);
            }
        }
        lists
            .into_iter()
            .chain(
                winners
                    .into_iter()
                    .map(|(key, entry)| (key, entry.value.clone(), entry.origin.clone())),
            )
            .collect()
    }

    fn single(entries: Vec<Entry>) -> Settings {
        Settings { entries, layers: 1 }
    }
}

impl ParamValue {
    fn kind(&self) -> &'static str {
        match self {
            ParamValue::String(_) => "a string",
            ParamValue::Array(_) => "an array",
            ParamValue::Map(_) => "a map",
        }
    }
}

/// The value a parameter sets, if any.
fn parameter_value(parameter: Parameter) -> Result<Option<ParamValue>, SourceError> {
    match (parameter.string, parameter.array, parameter.map) {
        (None, None, None) => Ok(None),
        (Some(s), None, None) => Ok(Some(ParamValue::String(s))),
        (None, Some(a), None) => Ok(Some(ParamValue::Array(a))),
        (None, None, Some(m)) => Ok(Some(ParamValue::Map(m))),
        _ => Err(SourceError::ParameterShape {
            name: parameter.name,
        }),
    }
}

/// The entry a policy parameter gives, checking that its type suits its key.
fn parameter_entry(
    key: Key,
    name: &str,
    value: ParamValue,
    origin: Origin,
) -> Result<Option<Entry>, SourceError> {
    let list_option = matches!(
        key,
        Key::App(Opt::IgnoreTags | Opt::Platforms)
            | Key::Alias(_, Opt::IgnoreTags | Opt::Platforms)
    );
    let wrong = |expected| SourceError::ParameterType {
        name: name.to_string(),
        key: key.to_string(),
        given: value.kind(),
        expected,
    };
    match &value {
        ParamValue::String(s) => Ok(Entry::new(key, s, origin)),
        ParamValue::Array(items) if key == Key::ImageList => {
            let items: Vec<String> = items
                .iter()
                .map(|item| item.trim())
                .filter(|item| !item.is_empty())
                .map(String::from)
                .collect();
            Ok((!items.is_empty()).then(|| Entry {
                key,
                value: items.join(", "),
                items,
                split: false,
                origin,
                layer: 0,
            }))
        }
        ParamValue::Array(items) if list_option => Ok(Entry::new(key, &items.join(","), origin)),
        ParamValue::Array(_) | ParamValue::Map(_) => Err(wrong(if key == Key::ImageList {
            "a string or an array"
        } else if list_option {
            "a comma-separated string or an array"
        } else {
            "a string"
        })),
    }
}

/// Rejects a key set twice by one source (spelled two ways, or once alone and once in the `policy` map).
fn check_twice(entries: &[Entry]) -> Result<(), SourceError> {
    for (i, second) in entries.iter().enumerate() {
        let settable = matches!(
            second.key,
            Key::ImageList | Key::App(_) | Key::Alias(..) | Key::Snake(..) | Key::WriteBack(_)
        );
        if !settable {
            continue;
        }
        if let Some(first) = entries[..i].iter().find(|first| first.key == second.key) {
            return Err(SourceError::Twice {
                key: second.key.to_string(),
                first: first.located(),
                second: second.located(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
