//! `init`, `generate` and `parameters`: the commands argocd-cmp-server runs in the application's directory, with
//! Argo CD's environment (`ARGOCD_APP_*`, `KUBE_*`, `ARGOCD_ENV_*`, `ARGOCD_APP_PARAMETERS`).

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use serde::Serialize;
use tokio::time::Instant;

use super::budget::{self, Budget};
use super::{Failure, GlobalArgs, RegistryArgs};
use crate::cache::{self, Cache, FileCache};
use crate::generate::{self, AppContext, Decision, GenerateError, Plan, Resolutions};
use crate::image::ImageDefaults;
use crate::manifest::{ImagePath, ScanError};
use crate::policy::source::{Parameter, parse_parameters};
use crate::process::{Env, ProcessError};
use crate::registry::Registries;
use crate::registry::credentials::SecretScope;
use crate::render::{
    self, ApiVersion, InvalidInput, KubeVersion, Namespace, ReleaseName, RenderError,
    RenderOptions, SourceFile,
};
use crate::resolver::RegistryCache;
use crate::size::ByteSize;

/// Options of `init`, which only prepares the application's source.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// The application directory (Argo CD runs the plugin in it).
    #[arg(
        long,
        env = "IMAGE_RESOLVER_APP_DIR",
        default_value = ".",
        value_name = "DIR"
    )]
    pub app_dir: PathBuf,
}

/// Options of the commands that render the application.
#[derive(Debug, Args)]
pub struct AppArgs {
    #[command(flatten)]
    pub source: InitArgs,
    /// Where registry answers are kept: the last resolved tag of each image (for when its registry is
    /// unavailable), shared tag lists and build times. Default: the user's cache directory (the sidecar mounts a
    /// volume at /var/cache/argocd-image-resolver).
    #[arg(long, env = cache::CACHE_DIR_ENV, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Extra places images live in custom resources, comma-separated `[Kind:]path`, such as
    /// `MyApp:spec.image,spec.workers[*].image`.
    #[arg(
        long,
        env = "IMAGE_RESOLVER_IMAGE_PATHS",
        value_delimiter = ',',
        value_name = "PATHS"
    )]
    pub image_paths: Vec<String>,
    /// Extra arguments for `kustomize build`, space-separated, such as `--enable-helm`.
    #[arg(
        long,
        env = "IMAGE_RESOLVER_KUSTOMIZE_ARGS",
        value_name = "ARGS",
        allow_hyphen_values = true
    )]
    pub kustomize_args: Option<String>,
    /// Plain directories: read manifests in subdirectories too (Argo CD's directory.recurse).
    #[arg(long, env = "IMAGE_RESOLVER_RECURSE")]
    pub recurse: bool,
    /// Namespaces whose mounted pull secrets every Application may name or have found for it, comma-separated
    /// (`*`: all), such as `argocd`. An Application may always use those of its own destination namespace.
    #[arg(
        long,
        env = "IMAGE_RESOLVER_PULL_SECRET_NAMESPACES",
        value_delimiter = ',',
        value_name = "NAMESPACES"
    )]
    pub pull_secret_namespaces: Vec<String>,
    /// The most a render may produce, such as 64Mi or 100MB: kustomize or helm printing more is stopped, and a
    /// plain directory whose files add up to more is not read. The operator's alone (an Application cannot set
    /// it), so that no Application can fill the sidecar's memory.
    #[arg(
        long,
        env = "IMAGE_RESOLVER_MAX_MANIFEST_SIZE",
        default_value = "64Mi",
        value_name = "SIZE"
    )]
    pub max_manifest_size: ByteSize,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

/// Options of `generate` and `parameters`: rendering, and how long registry answers are shared.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    #[command(flatten)]
    pub app: AppArgs,
    /// How long a repository's tag list, once fetched, answers later calls for every Application (kept in the
    /// cache dir; concurrent renders wait for one fetch), as do the digests its tags name; such as 30s or 2m. 0
    /// asks the registry every time.
    #[arg(
        long,
        env = "IMAGE_RESOLVER_TAGS_TTL",
        default_value = "30s",
        value_parser = super::parse_ttl,
        value_name = "DURATION"
    )]
    pub tags_ttl: Duration,
}

/// What the commands read from Argo CD's environment, once.
pub(super) struct Argo {
    app_name: Option<String>,
    namespace: Option<String>,
    kube_version: Option<String>,
    api_versions: Vec<String>,
    source_path: Option<String>,
    /// `ARGOCD_APP_PARAMETERS` as given, and parsed.
    parameters: Option<String>,
    parsed_parameters: Vec<Parameter>,
    env: Vec<(String, String)>,
}

impl Argo {
    /// Reads Argo CD's environment. What the Application sets (its parameters, its plugin env) must be text, and
    /// the parameters a JSON list of the expected shape: otherwise the error names the variable.
    pub(super) fn from_env() -> Result<Argo, Failure> {
        let mut env: Vec<(String, String)> = Vec::new();
        for (name, value) in std::env::vars_os() {
            match (name.into_string(), value.into_string()) {
                (Ok(name), Ok(value)) => env.push((name, value)),
                (Ok(name), Err(_))
                    if name == "ARGOCD_APP_PARAMETERS" || name.starts_with("ARGOCD_ENV_") =>
                {
                    return Err(Failure::Invalid(format!(
                        "{name} is not UTF-8 text: Argo CD passes the Application's parameters and plugin env as \
                         text"
                    )));
                }
                // Variables with names that are not text are no one's input to this plugin.
                _ => {}
            }
        }
        let get = |name: &str| {
            env.iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
                .filter(|v| !v.is_empty())
        };
        let parameters = get("ARGOCD_APP_PARAMETERS");
        let app_name = get("ARGOCD_APP_NAME");
        let parsed_parameters = parse_parameters(parameters.as_deref().unwrap_or_default())
            .map_err(|e| {
                let prefix = app_name
                    .as_ref()
                    .map(|n| format!("application {n}: "))
                    .unwrap_or_default();
                Failure::Invalid(format!("{prefix}{e}"))
            })?;
        Ok(Argo {
            app_name,
            namespace: get("ARGOCD_APP_NAMESPACE"),
            kube_version: get("KUBE_VERSION"),
            api_versions: get("KUBE_API_VERSIONS")
                .map(|v| {
                    v.split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(String::from)
                        .collect()
                })
                .unwrap_or_default(),
            source_path: get("ARGOCD_APP_SOURCE_PATH"),
            parameters,
            parsed_parameters,
            env,
        })
    }

    /// The parameters as JSON values, for the renderer's own (non-policy) parameters.
    fn parameters(&self) -> Vec<serde_json::Value> {
        self.parsed_parameters
            .iter()
            .map(|p| serde_json::to_value(p).expect("strings serialise"))
            .collect()
    }

    /// A message prefix naming the application, as Argo CD shows it in the UI.
    pub(super) fn prefix(&self) -> String {
        match &self.app_name {
            Some(name) => format!("application {name}: "),
            None => String::new(),
        }
    }
}

/// Renderer options from Argo CD's environment and the Application's renderer parameters: `release-name`,
/// `values-files` (array or comma-separated), `set` and `set-string` (maps).
fn render_options(argo: &Argo, args: &AppArgs, app_dir: &Path) -> Result<RenderOptions, Failure> {
    let mut options = source_options(argo, app_dir)?;
    options.kustomize.extra_args = args
        .kustomize_args
        .as_deref()
        .map(|a| a.split_whitespace().map(String::from).collect())
        .unwrap_or_default();
    options.plain.recursive = args.recurse;
    options.max_manifest_size = args.max_manifest_size;
    Ok(options)
}

/// What every renderer takes from Argo CD: where the repository is, and Helm's release, namespace, cluster and
/// the Application's Helm parameters. Each value that reaches helm's command line is checked here, and an invalid
/// one is refused naming the variable or parameter it came from.
fn source_options(argo: &Argo, app_dir: &Path) -> Result<RenderOptions, Failure> {
    let mut options = RenderOptions {
        env: Env::current(),
        ..RenderOptions::default()
    };
    // Argo CD unpacks the whole repository and runs the plugin in the app's path inside it.
    if let Some(source_path) = &argo.source_path {
        options.repo_root = Some(repo_root(app_dir, source_path).map_err(|reason| {
            Failure::Invalid(format!(
                "{}ARGOCD_APP_SOURCE_PATH '{}' {reason}",
                argo.prefix(),
                crate::escape::shown(source_path, 200)
            ))
        })?);
    }
    let helm = &mut options.helm;
    // ARGOCD_APP_NAME is `<namespace>_<name>` for apps outside the control plane's namespace; names have no `_`.
    let mut release_name = argo.app_name.as_deref().map(|n| {
        (
            "ARGOCD_APP_NAME",
            n.rsplit('_').next().unwrap_or(n).to_string(),
        )
    });
    helm.namespace = argo
        .namespace
        .as_deref()
        .map(|ns| parse_input::<Namespace>(argo, "ARGOCD_APP_NAMESPACE", ns, ""))
        .transpose()?;
    helm.kube_version = argo
        .kube_version
        .as_deref()
        .map(|v| parse_input::<KubeVersion>(argo, "KUBE_VERSION", v, ""))
        .transpose()?;
    helm.api_versions = argo
        .api_versions
        .iter()
        .map(|api| parse_input::<ApiVersion>(argo, "KUBE_API_VERSIONS", api, ""))
        .collect::<Result<_, _>>()?;
    for parameter in argo.parameters() {
        let name = parameter["name"].as_str().unwrap_or_default();
        let strings = |value: &serde_json::Value| -> Vec<String> {
            match value {
                serde_json::Value::String(s) => s
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect(),
                serde_json::Value::Array(items) => items
                    .iter()
                    .filter_map(|i| i.as_str())
                    .map(String::from)
                    .collect(),
                _ => Vec::new(),
            }
        };
        let pairs = |value: &serde_json::Value| -> Vec<String> {
            value
                .as_object()
                .map(|m| {
                    m.iter()
                        .filter_map(|(k, v)| Some(format!("{k}={}", helm_set_value(v.as_str()?))))
                        .collect()
                })
                .unwrap_or_default()
        };
        match name {
            "release-name" => {
                release_name = parameter["string"]
                    .as_str()
                    .map(|n| ("parameter release-name", n.to_owned()));
            }
            "values-files" => {
                helm.values_files = strings(if parameter["array"].is_null() {
                    &parameter["string"]
                } else {
                    &parameter["array"]
                })
            }
            "set" => helm.set = pairs(&parameter["map"]),
            "set-string" => helm.set_string = pairs(&parameter["map"]),
            _ => {}
        }
    }
    helm.release_name = release_name
        .map(|(origin, name)| {
            let fix = if origin == "ARGOCD_APP_NAME" {
                "; set the release-name parameter"
            } else {
                ""
            };
            parse_input::<ReleaseName>(argo, origin, &name, fix)
        })
        .transpose()?;
    Ok(options)
}

/// `value`, which came from `origin` (a variable or parameter), parsed; an invalid one is refused naming the
/// application, the origin and the value, then `fix` when there is one.
fn parse_input<T: FromStr<Err = InvalidInput>>(
    argo: &Argo,
    origin: &str,
    value: &str,
    fix: &str,
) -> Result<T, Failure> {
    value
        .parse()
        .map_err(|e| Failure::Invalid(format!("{}{origin}: {e}{fix}", argo.prefix())))
}

/// A `set` / `set-string` value as helm's `--set` must receive it to read it as one value: helm splits at every
/// unescaped `,`, so those are escaped, except in a `{a,b}` list, which helm reads as a list. Argo CD's own Helm
/// support passes values the same way, so a value works alike in both.
fn helm_set_value(value: &str) -> String {
    if value.starts_with('{') && value.ends_with('}') {
        return value.to_string();
    }
    let mut out = String::with_capacity(value.len());
    let mut escaped = false;
    for c in value.chars() {
        if c == ',' && !escaped {
            out.push('\\');
        }
        escaped = c == '\\';
        out.push(c);
    }
    out
}

fn app_dir(args: &InitArgs) -> Result<PathBuf, Failure> {
    std::fs::canonicalize(&args.app_dir).map_err(|e| {
        Failure::Invalid(format!(
            "cannot open the application directory {}: {e}",
            args.app_dir.display()
        ))
    })
}

/// Which namespaces' pull secrets this Application may use: its destination namespace's and the operator's
/// shared ones.
pub(super) fn secret_scope(args: &AppArgs, argo: &Argo) -> SecretScope {
    let shared = args
        .pull_secret_namespaces
        .iter()
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty())
        .collect();
    SecretScope::new(argo.namespace.clone(), shared)
}

/// The registries an Application's images are resolved from: credentials limited to its [`secret_scope`].
pub(super) fn app_registries(
    global: &GlobalArgs,
    args: &AppArgs,
    argo: &Argo,
) -> Result<Registries, Failure> {
    super::registries_scoped(global, &args.registry, Some(secret_scope(args, argo)))
}

/// The cache the command's options name: the one place a backend is chosen.
pub(super) fn open_cache(args: &AppArgs) -> Result<Arc<dyn Cache>, Failure> {
    let dir = args
        .cache_dir
        .clone()
        .unwrap_or_else(|| cache::default_dir(|name| std::env::var_os(name)));
    let cache = FileCache::open(dir).map_err(|e| Failure::NoResult(e.to_string()))?;
    Ok(Arc::new(cache))
}

fn extra_paths(args: &AppArgs) -> Result<Vec<ImagePath>, Failure> {
    args.image_paths
        .iter()
        .map(|p| p.trim())
        .filter(|p| !p.is_empty())
        .map(|p| {
            p.parse::<ImagePath>()
                .map_err(|e| Failure::Invalid(format!("invalid --image-paths: {e}")))
        })
        .collect()
}

/// `init`: prepare the source before `generate` (build a Helm chart's missing dependencies).
pub fn init(global: &GlobalArgs, args: InitArgs) -> Result<String, Failure> {
    let argo = Argo::from_env()?;
    let dir = app_dir(&args)?;
    let options = source_options(&argo, &dir)?;
    budget::mark_init(&dir);
    super::within_budget(global, "init", async {
        render::init(
            &dir,
            &options,
            budget::deadline_after(std::time::Instant::now(), global.budget),
        )
        .await
        .map_err(|e| render_failure(&argo.prefix(), e))
    })?;
    Ok(String::new())
}

/// The repository holding `app_dir`, the directory Argo CD runs the plugin in: `app_dir` less the trailing
/// directories it shares with the application's `source_path`. Everything the repository may reach is judged
/// against it, so it must never come out larger than what Argo CD unpacked: only directories whose names match
/// the path are climbed, judged on the resolved `app_dir`, so `..` in the path or a symlinked directory on the way
/// cannot lift it, and where Argo CD unpacks only part of the repository (`manifest-generate-paths`: the working
/// directory then ends with only the end of the path) it stops at what was unpacked. A path that climbs out of the
/// repository is refused.
fn repo_root(app_dir: &Path, source_path: &str) -> Result<PathBuf, &'static str> {
    use std::path::Component;
    let mut clean: Vec<&std::ffi::OsStr> = Vec::new();
    for component in Path::new(source_path).components() {
        match component {
            Component::Normal(name) => clean.push(name),
            Component::CurDir | Component::RootDir => {}
            Component::ParentDir => {
                if clean.pop().is_none() {
                    return Err("climbs out of the repository");
                }
            }
            Component::Prefix(_) => return Err("is not a path inside the repository"),
        }
    }
    let mut root = app_dir;
    for name in clean.iter().rev() {
        match (root.file_name(), root.parent()) {
            (Some(own), Some(parent)) if own == *name => root = parent,
            _ => break,
        }
    }
    Ok(root.to_path_buf())
}

/// A render's failure: the tools' and the file system's troubles have no result (exit 1), anything about the
/// application's own source or parameters is invalid input (exit 2).
fn render_failure(prefix: &str, error: RenderError) -> Failure {
    let message = match error {
        RenderError::ValuesFileOutside { .. } | RenderError::ValuesFileMissing { .. } => {
            format!("{prefix}parameter values-files: {error}")
        }
        _ => format!("{prefix}{error}"),
    };
    match error {
        RenderError::KustomizeNotFound
        | RenderError::SymlinkCheckTimedOut { .. }
        | RenderError::Read { .. }
        | RenderError::HelmHome { .. }
        | RenderError::TimedOut { .. }
        | RenderError::Process(
            ProcessError::NotFound { .. }
            | ProcessError::Spawn { .. }
            | ProcessError::TimedOut { .. }
            | ProcessError::Output { .. },
        ) => Failure::NoResult(message),
        _ => Failure::Invalid(message),
    }
}

/// `error`'s message, with a YAML error located in the file it came from (`b.yaml at line 3`) when the stream was
/// joined from files, rather than in the joined stream ("document 2 at line 11"); for a rendered template, the
/// template is named beside the stream's position.
fn located(error: &GenerateError, sources: &[SourceFile]) -> String {
    let GenerateError::Scan(ScanError::Yaml {
        line,
        column,
        message,
        ..
    }) = error
    else {
        return error.to_string();
    };
    match SourceFile::locate(sources, *line) {
        Some((source, Some(file_line))) => format!(
            "invalid yaml in {} at line {file_line}, column {column}: {message}",
            source.path
        ),
        Some((source, None)) => format!("{error} (rendered from {})", source.path),
        None => error.to_string(),
    }
}

/// The rendered text, the context it was planned with, and the plan: everything before a registry is asked.
pub(super) struct Planned {
    pub rendered: String,
    /// Where each stretch of `rendered` came from.
    pub sources: Vec<SourceFile>,
    pub context: AppContext,
    pub plan: Plan,
}

/// Renders the application (after `init` when `prepare`) and plans its images, as every command that renders it
/// does.
pub(super) async fn rendered_and_planned(
    args: &AppArgs,
    argo: &Argo,
    image_defaults: ImageDefaults,
    deadline: Instant,
    prepare: bool,
) -> Result<Planned, Failure> {
    let prefix = argo.prefix();
    let dir = app_dir(&args.source)?;
    let options = render_options(argo, args, &dir)?;
    if prepare {
        render::init(&dir, &options, deadline.into_std())
            .await
            .map_err(|e| render_failure(&prefix, e))?;
    }
    let rendered = render::render(&dir, &options, deadline.into_std())
        .await
        .map_err(|e| render_failure(&prefix, e))?;
    let context = AppContext {
        name: argo.app_name.clone(),
        parameters: argo.parameters.clone(),
        env: argo.env.clone(),
        extra_paths: extra_paths(args)?,
        image_defaults,
        secret_scope: Some(secret_scope(args, argo)),
    };
    // Scanning a large stream is CPU work no async timeout interrupts: the plan asks the clock itself.
    let stop_at = deadline.into_std();
    let plan = generate::plan_until(&rendered.output, &context, &mut || {
        std::time::Instant::now() >= stop_at
    })
    .map_err(|e| {
        if e.is_out_of_time() {
            Failure::NoResult(format!("{prefix}{e} (--budget / IMAGE_RESOLVER_BUDGET)"))
        } else {
            Failure::Invalid(format!("{prefix}{}", located(&e, &rendered.sources)))
        }
    })?;
    Ok(Planned {
        rendered: rendered.output,
        sources: rendered.sources,
        context,
        plan,
    })
}

/// Everything up to resolved tags: (`init` when `prepare`), render, plan, resolve. Shared by `generate` and
/// `parameters`.
async fn rendered_and_resolved(
    global: &GlobalArgs,
    budget: Budget,
    args: &GenerateArgs,
    argo: &Argo,
    prepare: bool,
) -> Result<(String, Plan, Resolutions), Failure> {
    let deadline = Instant::from_std(budget::deadline_after(
        std::time::Instant::now(),
        budget.left().saturating_sub(generate::OUTPUT_MARGIN),
    ));
    let registries = Arc::new(app_registries(global, &args.app, argo)?);
    let Planned { rendered, plan, .. } = rendered_and_planned(
        &args.app,
        argo,
        registries.image_defaults(),
        deadline,
        prepare,
    )
    .await?;
    let cache = RegistryCache {
        cache: open_cache(&args.app)?,
        tags_ttl: args.tags_ttl,
    };
    let resolutions = generate::resolve_plan(&plan, &registries, Some(&cache), deadline).await;
    Ok((rendered, plan, resolutions))
}

/// `generate`: print the rendered manifests with every tracked image resolved. Nothing reaches stdout on error.
pub fn generate(global: &GlobalArgs, args: GenerateArgs) -> Result<String, Failure> {
    let argo = Argo::from_env()?;
    // argocd-cmp-server has just run `init` in this directory, under the same deadline.
    let budget = Budget::left_in(&app_dir(&args.app.source)?, global.budget);
    if budget.left() <= generate::OUTPUT_MARGIN {
        return Err(Failure::NoResult(format!(
            "{}init used {:.1?} of the budget of {:?}, which leaves generate no time (--budget / \
             IMAGE_RESOLVER_BUDGET)",
            argo.prefix(),
            budget.used_by_init,
            budget.total
        )));
    }
    if !budget.used_by_init.is_zero() {
        tracing::debug!("{}generate has {budget}", argo.prefix());
    }
    super::within(budget, "generate", async {
        let (rendered, plan, resolutions) =
            rendered_and_resolved(global, budget, &args, &argo, false).await?;
        if let Some(failure) = resolutions.failures.first() {
            return Err(Failure::NoResult(format!("{}{failure}", argo.prefix())));
        }
        super::warn_all(
            &argo.prefix(),
            plan.warnings.iter().chain(&resolutions.warnings),
        );
        generate::apply(&rendered, &plan, &resolutions).map_err(|e| {
            let message = format!("{}{e}", argo.prefix());
            // A stream whose anchors would make an edit change more than the image is the source's to fix.
            match e {
                GenerateError::Annotate(_) | GenerateError::Replace(_) => Failure::Invalid(message),
                _ => Failure::NoResult(message),
            }
        })
    })
}

/// One dynamic parameter announcement, as Argo CD's Parameters tab reads them.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Announcement {
    name: String,
    title: String,
    tooltip: String,
    collection_type: &'static str,
    string: String,
}

/// `parameters`: one announcement per tracked image with an alias, named `<alias>.pin` (the alias in key form: a
/// `/` written `_`) and holding the tag it resolves to now, so the UI shows it and a user can pin it (setting the
/// parameter is the pin). Prepares the source first, as `init` would.
pub fn parameters(global: &GlobalArgs, args: GenerateArgs) -> Result<String, Failure> {
    let argo = Argo::from_env()?;
    super::within_budget(global, "parameters", async {
        // argocd-cmp-server runs `init` only before `generate`, never before the dynamic parameters command, so a
        // chart whose dependencies are not in git would not render here: prepare the source ourselves (the working
        // directory is a fresh copy that Argo CD deletes afterwards).
        let (_, plan, resolutions) =
            rendered_and_resolved(global, Budget::whole(global.budget), &args, &argo, true).await?;
        // A registry that cannot be asked must not take the Parameters tab away: that is when a user pins a
        // rollback. Such images are announced without a value.
        super::warn_all(&argo.prefix(), &resolutions.failures);
        let mut announcements: Vec<Announcement> = Vec::new();
        let mut unaliased = std::collections::HashSet::new();
        for (planned, outcome) in plan.images.iter().zip(&resolutions.outcomes) {
            let Some(tracked) = &planned.tracked else {
                continue;
            };
            let Some(alias) = &tracked.alias else {
                // Pins are keyed by alias: without one there is no parameter that would pin this image.
                if unaliased.insert(tracked.image.name()) {
                    tracing::warn!(
                        "{}image {} has no alias in image-list, so the Parameters tab cannot pin it; list it as \
                         <alias>={}",
                        argo.prefix(),
                        tracked.image.familiar_name(),
                        tracked.image.familiar_name()
                    );
                }
                continue;
            };
            // Keys spell an alias's `/` as `_` (argocd-image-updater's convention, which the policy sources
            // follow): a parameter named `team/web.pin` would be ignored, so announce the name that pins.
            let name = format!("{}.pin", alias.replace('/', "_"));
            if announcements.iter().any(|a| a.name == name) {
                continue;
            }
            let image = tracked.image.familiar_name();
            let Some(outcome) = outcome else {
                announcements.push(Announcement {
                    title: format!("{alias}: {image} (registry unavailable)"),
                    tooltip: format!(
                        "No tag of {image} could be resolved (policy: {}): its registry did not answer and no tag \
                         was resolved before. Set this parameter to a tag to run that tag.",
                        tracked.policy
                    ),
                    collection_type: "string",
                    string: String::new(),
                    name,
                });
                continue;
            };
            let state = match outcome.decision {
                Decision::Pin => "pinned here",
                Decision::Hold => "held",
                Decision::LastKnownGood => "last known tag, registry unavailable",
                Decision::Registry => "newest allowed",
            };
            announcements.push(Announcement {
                title: format!("{alias}: {image} ({state})"),
                tooltip: format!(
                    "The tag {} of {image} runs ({state}; policy: {}). Set this parameter to pin another tag (roll \
                     back); remove it to follow the policy again.",
                    outcome.tag, tracked.policy
                ),
                collection_type: "string",
                string: outcome.tag.clone(),
                name,
            });
        }
        Ok(super::json(&announcements))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_errors_are_located_in_their_file() {
        let error = |line| {
            GenerateError::Scan(ScanError::Yaml {
                document: 1,
                line,
                column: 3,
                message: "bad".into(),
            })
        };
        let plain = [
            SourceFile {
                path: "a.yaml".into(),
                first_line: 1,
                verbatim: true,
            },
            SourceFile {
                path: "sub/b.yaml".into(),
                first_line: 8,
                verbatim: true,
            },
        ];
        let helm = [SourceFile {
            path: "c/templates/x.yaml".into(),
            first_line: 2,
            verbatim: false,
        }];
        for (name, line, sources, want) in [
            (
                "regression: the second file, not 'document 2 at line 11' of the stream",
                11,
                &plain[..],
                "invalid yaml in sub/b.yaml at line 4, column 3: bad",
            ),
            (
                "the first file",
                2,
                &plain[..],
                "invalid yaml in a.yaml at line 2, column 3: bad",
            ),
            (
                "a template: the stream's position and the template",
                5,
                &helm[..],
                "cannot read the rendered manifests: invalid yaml in document 2 at line 5, column 3: bad (rendered \
                 from c/templates/x.yaml)",
            ),
            (
                "no sources (kustomize)",
                5,
                &[][..],
                "cannot read the rendered manifests: invalid yaml in document 2 at line 5, column 3: bad",
            ),
        ] {
            assert_eq!(located(&error(line), sources), want, "{name}");
        }
    }

    /// Regression (review of issue 9): the root was `app_dir` less as many directories as the path has names, so
    /// `x/../apps/web` or a symlinked `up/` made it the sidecar's temp dir.
    #[test]
    fn the_repository_root_never_exceeds_what_was_unpacked() {
        for (name, app_dir, source_path, want) in [
            ("plain", "/w/u/apps/web", "apps/web", Ok("/w/u")),
            ("trailing slash", "/w/u/apps/web", "apps/web/", Ok("/w/u")),
            ("the repository root", "/w/u", ".", Ok("/w/u")),
            (
                "a '..' inside",
                "/w/u/apps/web",
                "x/../apps/web",
                Ok("/w/u"),
            ),
            // The working directory is resolved: `up -> .` is not on it.
            (
                "a symlinked directory",
                "/w/u/apps/web",
                "up/apps/web",
                Ok("/w/u"),
            ),
            // manifest-generate-paths: Argo CD unpacks the common root (here `apps/`) only.
            (
                "part of the repository unpacked",
                "/w/u/web",
                "apps/web",
                Ok("/w/u"),
            ),
            (
                "names that do not match",
                "/w/app",
                "examples/shop",
                Ok("/w/app"),
            ),
            (
                "climbs out",
                "/w/u/web",
                "../web",
                Err("climbs out of the repository"),
            ),
        ] {
            assert_eq!(
                repo_root(Path::new(app_dir), source_path),
                want.map(PathBuf::from),
                "{name}"
            );
        }
    }

    #[test]
    fn helm_set_values_keep_their_commas() {
        for (name, value, want) in [
            ("plain", "prod", "prod"),
            ("comma", "a,b", r"a\,b"),
            ("commas", "a,b,,c", r"a\,b\,\,c"),
            ("already escaped", r"a\,b", r"a\,b"),
            ("list", "{a,b}", "{a,b}"),
            ("brace inside", "x{a,b}", r"x{a\,b}"),
            ("empty", "", ""),
        ] {
            assert_eq!(helm_set_value(value), want, "{name}");
        }
    }
}
