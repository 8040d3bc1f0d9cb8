//! `init`, `generate` and `parameters`: the commands argocd-cmp-server runs in the application's directory, with
//! Argo CD's environment (`ARGOCD_APP_*`, `KUBE_*`, `ARGOCD_ENV_*`, `ARGOCD_APP_PARAMETERS`).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use serde::Serialize;
use tokio::time::Instant;

use super::budget::{self, Budget};
use super::{Failure, GlobalArgs, RegistryArgs};
use crate::argo::ArgoRequest;
use crate::cache::{
    self, Cache, CacheOptions, CacheRates, FileCache, RedisCache, RedisOptions, RedisPassword,
    RedisTarget,
};
use crate::generate::{self, Decision, GenerateError, Resolutions};
use crate::manifest::ImagePath;
use crate::metrics::{self, Metrics, RenderLine, RenderOutcome, ResolutionOutcome};
use crate::pipeline::{self, AppSettings, PipelineError, Planned, RenderSettings};
use crate::registry::Registries;
use crate::resolver::RegistryCache;
use crate::size::ByteSize;
use crate::spool::Spooled;

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

/// Options of the commands that render the application in a directory.
#[derive(Debug, Args)]
pub struct AppArgs {
    #[command(flatten)]
    pub source: InitArgs,
    #[command(flatten)]
    pub render: RenderArgs,
}

impl std::ops::Deref for AppArgs {
    type Target = RenderArgs;

    fn deref(&self) -> &RenderArgs {
        &self.render
    }
}

/// Options of the commands that render applications: the cache, rendering, and the registries.
#[derive(Debug, Args)]
pub struct RenderArgs {
    /// Where registry answers are kept: the last resolved tag of each image (for when its registry is
    /// unavailable), shared tag lists and build times. Default: the user's cache directory (the sidecar mounts a
    /// volume at /var/cache/argocd-image-resolver).
    #[arg(long, env = cache::CACHE_DIR_ENV, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// A Redis server shared by every repo-server replica as the cache: redis://[user@]host[:port][/db], or
    /// rediss://… for TLS (Argo CD's own: redis://argocd-redis:6379). The cache directory then answers while
    /// Redis cannot, and keeps a copy of the last-known-good answers. The password: --cache-password-file, or the
    /// variable IMAGE_RESOLVER_CACHE_PASSWORD, or the URL.
    // The URL may hold a password: `--help` must not print the variable's value.
    #[arg(
        long = "cache",
        env = "IMAGE_RESOLVER_CACHE",
        hide_env_values = true,
        value_name = "URL"
    )]
    pub cache: Option<String>,
    /// A file holding the Redis password (a mounted Secret, such as Argo CD's argocd-redis, key auth).
    #[arg(long, env = "IMAGE_RESOLVER_CACHE_PASSWORD_FILE", value_name = "FILE")]
    pub cache_password_file: Option<PathBuf>,
    /// The most the cache's entries may take on disk, such as 256Mi or 1Gi: beyond it, the least recently used
    /// go (one process sweeps every 5 minutes at most, so keep the cache volume's limit well above it). 0: no
    /// bound.
    #[arg(
        long,
        env = "IMAGE_RESOLVER_CACHE_MAX_SIZE",
        default_value_t = CacheOptions::DEFAULT_MAX_SIZE,
        value_name = "SIZE"
    )]
    pub cache_max_size: ByteSize,
    /// How long a cache entry nobody reads or writes is kept, such as 720h (30 days; Argo CD renders every
    /// application at least daily). 0: however long.
    #[arg(
        long,
        env = "IMAGE_RESOLVER_CACHE_MAX_AGE",
        default_value = "720h",
        value_parser = super::parse_cache_age,
        value_name = "DURATION"
    )]
    pub cache_max_age: Duration,
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

/// Argo CD's request, read once from this process's environment.
pub(super) fn request() -> Result<ArgoRequest, Failure> {
    ArgoRequest::from_vars(std::env::vars_os()).map_err(|e| Failure::Invalid(e.to_string()))
}

/// The operator's settings for every Application, validated before anything is rendered.
pub(super) fn settings(args: &RenderArgs) -> Result<AppSettings, Failure> {
    let extra_paths = args
        .image_paths
        .iter()
        .map(|p| p.trim())
        .filter(|p| !p.is_empty())
        .map(|p| {
            p.parse::<ImagePath>()
                .map_err(|e| Failure::Invalid(format!("invalid --image-paths: {e}")))
        })
        .collect::<Result<_, _>>()?;
    Ok(AppSettings {
        render: RenderSettings {
            kustomize_args: args
                .kustomize_args
                .as_deref()
                .map(|a| a.split_whitespace().map(String::from).collect())
                .unwrap_or_default(),
            recurse: args.recurse,
            max_manifest_size: args.max_manifest_size,
        },
        extra_paths,
        shared_secret_namespaces: args
            .pull_secret_namespaces
            .iter()
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty())
            .collect(),
    })
}

/// The registries an Application's images are resolved from: credentials limited to its secret scope.
pub(super) fn app_registries(
    global: &GlobalArgs,
    args: &RenderArgs,
    request: &ArgoRequest,
    settings: &AppSettings,
) -> Result<Registries, Failure> {
    super::registries_scoped(global, &args.registry, Some(settings.secret_scope(request)))
}

/// The variable a Redis password may come in (from a Secret's key), never a flag: flags show in `ps`.
pub const CACHE_PASSWORD_ENV: &str = "IMAGE_RESOLVER_CACHE_PASSWORD";

/// The cache the command's options name: the one place a backend is chosen.
pub(super) fn open_cache(args: &RenderArgs) -> Result<Arc<dyn Cache>, Failure> {
    let local = FileCache::open_with(cache_dir(args), cache_options(args))
        .map_err(|e| Failure::NoResult(e.to_string()))?;
    let Some(url) = args.cache.as_deref().filter(|u| !u.trim().is_empty()) else {
        return Ok(Arc::new(local));
    };
    let mut target = RedisTarget::parse(url).map_err(|e| Failure::Invalid(e.to_string()))?;
    if let Some(file) = &args.cache_password_file {
        let contents = std::fs::read_to_string(file).map_err(|e| {
            Failure::Invalid(format!(
                "--cache-password-file {}: cannot read it: {e}",
                file.display()
            ))
        })?;
        target.password = Some(RedisPassword::from_file_contents(&contents).ok_or_else(|| {
            Failure::Invalid(format!(
                "--cache-password-file {}: the file is empty",
                file.display()
            ))
        })?);
    } else if let Some(password) = std::env::var(CACHE_PASSWORD_ENV)
        .ok()
        .and_then(RedisPassword::new)
    {
        target.password = Some(password);
    }
    Ok(Arc::new(RedisCache::new(
        &target,
        Arc::new(local),
        RedisOptions::default(),
    )))
}

/// The file cache's bounds the options set; 0 is no bound.
pub(super) fn cache_options(args: &RenderArgs) -> CacheOptions {
    CacheOptions {
        max_size: Some(args.cache_max_size).filter(|size| size.bytes() > 0),
        max_age: Some(args.cache_max_age).filter(|age| !age.is_zero()),
        ..CacheOptions::default()
    }
}

/// The cache directory the options name, else the user's.
pub(super) fn cache_dir(args: &RenderArgs) -> PathBuf {
    args.cache_dir
        .clone()
        .unwrap_or_else(|| cache::default_dir(|name| std::env::var_os(name)))
}

pub(super) fn app_dir(args: &InitArgs) -> Result<PathBuf, Failure> {
    pipeline::app_dir(&args.app_dir).map_err(|e| Failure::Invalid(e.to_string()))
}

/// A pipeline failure as the command reports it: named by the application, exit 2 for the Application's own
/// fault and 1 for the rest.
pub(super) fn failure(request: &ArgoRequest, error: PipelineError) -> Failure {
    let mut message = format!("{}{error}", request.prefix());
    if error.is_out_of_time() {
        message.push_str(" (--budget / IMAGE_RESOLVER_BUDGET)");
    }
    if error.is_invalid_input() {
        Failure::Invalid(message)
    } else {
        Failure::NoResult(message)
    }
}

/// `init`: prepare the application's source before `generate` (build a Helm chart's missing dependencies).
pub fn init(global: &GlobalArgs, args: InitArgs) -> Result<String, Failure> {
    let request = request()?;
    let dir = app_dir(&args)?;
    budget::mark_init(&dir);
    super::within_budget(global, "init", async {
        let deadline = budget::deadline_after(std::time::Instant::now(), global.budget);
        pipeline::init(&request, &dir, deadline)
            .await
            .map_err(|e| failure(&request, e))
    })?;
    Ok(String::new())
}

/// When the pipeline must be done: what is left of `budget`, less the time printing needs.
fn resolve_deadline(budget: Budget) -> Instant {
    Instant::from_std(budget::deadline_after(
        std::time::Instant::now(),
        budget.left().saturating_sub(generate::OUTPUT_MARGIN),
    ))
}

/// The cache of tag lists, build times and last-known-good answers `args` name.
fn registry_cache(args: &GenerateArgs) -> Result<RegistryCache, Failure> {
    Ok(RegistryCache {
        cache: open_cache(&args.app)?,
        tags_ttl: args.tags_ttl,
    })
}

/// Everything up to resolved tags (after `init` when `prepare`), within what is left of `budget`. Shared by
/// `generate` and `parameters`.
async fn render_and_resolve(
    global: &GlobalArgs,
    budget: Budget,
    args: &GenerateArgs,
    request: &ArgoRequest,
    prepare: bool,
) -> Result<(Planned, Resolutions), Failure> {
    let deadline = resolve_deadline(budget);
    let settings = settings(&args.app)?;
    let dir = app_dir(&args.app.source)?;
    let cache = registry_cache(args)?;
    let registries = Arc::new(
        app_registries(global, &args.app, request, &settings)?
            .with_rates(CacheRates::new(Arc::clone(&cache.cache))),
    );
    pipeline::render_and_resolve(
        request,
        &settings,
        &dir,
        &registries,
        Some(&cache),
        deadline,
        prepare,
    )
    .await
    .map_err(|e| failure(request, e))
}

/// `generate`: print the rendered manifests with every tracked image resolved. Nothing reaches stdout on error.
///
/// Each run, whatever its outcome, appends one line to the render log in the cache directory
/// ([`metrics::renders`]), which the daemon folds into its metrics: this process lives too briefly to be scraped.
pub fn generate(global: &GlobalArgs, args: GenerateArgs) -> Result<Spooled, Failure> {
    let started = std::time::Instant::now();
    // A private registry of counters, only to count this run's resolutions for its line: never served.
    let counts = Arc::new(Metrics::new());
    let counts = if metrics::install(Arc::clone(&counts)) {
        counts
    } else {
        Arc::clone(metrics::global().expect("installed"))
    };
    let dir = cache_dir(&args.app);
    let (app, result) = match request() {
        Ok(request) => (
            request.app_name.clone().unwrap_or_default(),
            render(global, args, request),
        ),
        Err(failure) => (String::new(), Err(failure)),
    };
    let count = |outcome| u32::try_from(counts.resolutions(outcome)).unwrap_or(u32::MAX);
    let last_known_good = count(ResolutionOutcome::LastKnownGood);
    let outcome = match &result {
        Ok(_) if last_known_good > 0 => RenderOutcome::Stale,
        Ok(_) => RenderOutcome::Rendered,
        Err(Failure::Invalid(_)) => RenderOutcome::Invalid,
        Err(Failure::NoResult(_)) => RenderOutcome::Failed,
    };
    metrics::renders::append(
        &dir,
        &RenderLine {
            at: chrono::Utc::now().timestamp_millis(),
            outcome,
            ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            registry: count(ResolutionOutcome::Registry),
            last_known_good,
            pin: count(ResolutionOutcome::Pin),
            failed: count(ResolutionOutcome::Failed),
            app,
        },
    );
    result
}

fn render(
    global: &GlobalArgs,
    args: GenerateArgs,
    request: ArgoRequest,
) -> Result<Spooled, Failure> {
    // argocd-cmp-server has just run `init` in this directory, under the same deadline.
    let budget = Budget::left_in(&app_dir(&args.app.source)?, global.budget);
    if budget.left() <= generate::OUTPUT_MARGIN {
        return Err(Failure::NoResult(format!(
            "{}init used {:.1?} of the budget of {:?}, which leaves generate no time (--budget / \
             IMAGE_RESOLVER_BUDGET)",
            request.prefix(),
            budget.used_by_init,
            budget.total
        )));
    }
    if !budget.used_by_init.is_zero() {
        tracing::debug!("{}generate has {budget}", request.prefix());
    }
    super::within(budget, "generate", async {
        let deadline = resolve_deadline(budget);
        let settings = settings(&args.app)?;
        let dir = app_dir(&args.app.source)?;
        let cache = registry_cache(&args)?;
        // Each registry's `limit` is booked in the cache: it holds for all the renders sharing it.
        let registries = Arc::new(
            app_registries(global, &args.app, &request, &settings)?
                .with_rates(CacheRates::new(Arc::clone(&cache.cache))),
        );
        let generated = pipeline::generate(
            &request,
            &settings,
            &dir,
            &registries,
            Some(&cache),
            deadline,
        )
        .await
        .map_err(|e| failure(&request, e))?;
        super::warn_all(&request.prefix(), &generated.warnings);
        Ok(generated.output)
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
    let request = request()?;
    super::within_budget(global, "parameters", async {
        // argocd-cmp-server runs `init` only before `generate`, never before the dynamic parameters command, so a
        // chart whose dependencies are not in git would not render here: prepare the source ourselves (the working
        // directory is a fresh copy that Argo CD deletes afterwards).
        let (planned, resolutions) =
            render_and_resolve(global, Budget::whole(global.budget), &args, &request, true).await?;
        let plan = &planned.plan;
        // A registry that cannot be asked must not take the Parameters tab away: that is when a user pins a
        // rollback. Such images are announced without a value.
        super::warn_all(
            &request.prefix(),
            plan.warnings
                .iter()
                .map(ToString::to_string)
                .chain(resolutions.failures.iter().map(ToString::to_string)),
        );
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
                        request.prefix(),
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
            // A pin to a tag the registry does not have is announced all the same: the Parameters tab is where
            // the user corrects it.
            if let (None, Some(pin)) = (outcome, &tracked.pin) {
                let nearest = resolutions.failures.iter().find_map(|f| match f {
                    GenerateError::PinNotFound {
                        image,
                        tag,
                        nearest,
                        ..
                    } if *image == tracked.image.to_string() && tag == pin => {
                        Some(nearest.join(", "))
                    }
                    _ => None,
                });
                let nearest = nearest
                    .filter(|n| !n.is_empty())
                    .map(|n| format!(" (nearest existing tags: {n})"))
                    .unwrap_or_default();
                announcements.push(Announcement {
                    title: format!("{alias}: {image} (pinned tag not found)"),
                    tooltip: format!(
                        "The pinned tag {pin} of {image} does not exist in its registry{nearest}, so the \
                         application does not render. Set this parameter to an existing tag, or remove it to \
                         follow the policy again ({}).",
                        tracked.policy
                    ),
                    collection_type: "string",
                    string: pin.clone(),
                    name,
                });
                continue;
            }
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
                Decision::Lock => "locked in image-resolver.lock.yaml",
                Decision::Source { .. } => "as written in the source, which the committer edits",
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
