//! One Application through render → plan → resolve → apply within a deadline: what `generate`, `parameters` and
//! `explain` call (and the daemon will), so that each decision is made in one place. The commands only build the
//! inputs from their flags and present the result.
//!
//! The steps are separate functions because the commands stop at different places: `explain` plans and then
//! resolves with a report of every request, `parameters` resolves and announces, `generate` applies.

pub mod leftovers;
pub mod lock;
mod options;
pub mod resolve;
pub mod trace;

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use thiserror::Error;
use tokio::time::Instant;

pub use options::{RenderSettings, RequestError, render_options, source_options};
pub use resolve::{
    Answered, Requests, ResolveOptions, ResolvedPlan, ask_all, resolve_plan, resolve_traced,
};

use crate::argo::ArgoRequest;
use crate::generate::{self, AppContext, GenerateError, Plan, Resolutions};
use crate::image::ImageDefaults;
use crate::lock::LockFile;
use crate::manifest::{ImagePath, ScanError};
use crate::process::ProcessError;
use crate::registry::Registries;
use crate::registry::credentials::SecretScope;
use crate::render::{self, RenderError, RenderOptions, SourceFile};
use crate::resolver::RegistryCache;
use crate::spool::{Spool, Spooled};

/// The operator's settings for every Application (flags and `IMAGE_RESOLVER_*`), validated.
#[derive(Clone, Debug, Default)]
pub struct AppSettings {
    pub render: RenderSettings,
    /// Extra places images live in custom resources (`--image-paths`).
    pub extra_paths: Vec<ImagePath>,
    /// Namespaces whose pull secrets every Application may use (`--pull-secret-namespaces`).
    pub shared_secret_namespaces: Vec<String>,
}

impl AppSettings {
    /// What the pipeline knows about the Application of `request` besides its rendered text.
    pub fn context(&self, request: &ArgoRequest, image_defaults: ImageDefaults) -> AppContext {
        AppContext {
            extra_paths: self.extra_paths.clone(),
            image_defaults,
            secret_scope: Some(self.secret_scope(request)),
            ..AppContext::for_request(request)
        }
    }

    /// Which namespaces' pull secrets the Application of `request` may use: its destination namespace's and the
    /// operator's shared ones.
    pub fn secret_scope(&self, request: &ArgoRequest) -> SecretScope {
        SecretScope::new(
            request.namespace.clone(),
            self.shared_secret_namespaces.clone(),
        )
    }
}

/// The rendered text, where each stretch of it came from, the context it was planned with, and the plan:
/// everything before a registry is asked.
pub struct Planned {
    pub rendered: String,
    pub sources: Vec<SourceFile>,
    pub context: AppContext,
    pub plan: Plan,
}

/// Why an Application could not go through the pipeline. Shown after the application's prefix (except
/// [`PipelineError::AppDir`], which is the operator's); [`PipelineError::is_invalid_input`] tells the
/// Application's fault (exit 2) from the tools' and registries' (exit 1).
#[derive(Debug, Error)]
pub enum PipelineError {
    #[error("cannot open the application directory {}: {source}", dir.display())]
    AppDir { dir: PathBuf, source: io::Error },
    #[error(transparent)]
    Request(#[from] RequestError),
    #[error("{}", render_message(.0))]
    Render(RenderError),
    /// The application's lock file is there but cannot be used.
    #[error(transparent)]
    Lock(lock::LockFileError),
    /// The stream or its policies are wrong (or planning ran out of time); `located` names the source file of a
    /// YAML error when the stream was joined from files.
    #[error("{located}")]
    Plan {
        error: Box<GenerateError>,
        located: String,
    },
    /// An image no registry answered for and nothing was resolved before, or a pinned tag its registry does not
    /// have.
    #[error("{0}")]
    Resolve(Box<GenerateError>),
    #[error("{0}")]
    Apply(Box<GenerateError>),
    /// argocd-image-updater's `.argocd-source` file would make Argo CD refuse the plugin (see [`leftovers`]).
    #[error("{0}")]
    Leftover(String),
    /// The output outgrew memory and could not be kept in a temporary file.
    #[error(
        "cannot keep the output (past {limit} MiB it goes to a temporary file in TMPDIR): {0}",
        limit = crate::spool::IN_MEMORY >> 20
    )]
    Output(io::Error),
}

impl PipelineError {
    /// Whether the Application's own source, parameters or request are at fault (rather than a tool, a
    /// registry, the file system or the clock).
    pub fn is_invalid_input(&self) -> bool {
        match self {
            PipelineError::AppDir { .. }
            | PipelineError::Request(_)
            | PipelineError::Leftover(_) => true,
            PipelineError::Render(e) => match e {
                RenderError::Process(e) => tool_judged_the_input(e),
                RenderError::DependencyRepositoryAdd { source, .. } => {
                    tool_judged_the_input(source)
                }
                _ => !matches!(
                    e,
                    RenderError::KustomizeNotFound
                        | RenderError::SymlinkCheckTimedOut { .. }
                        | RenderError::Read { .. }
                        | RenderError::Write { .. }
                        | RenderError::HelmHome { .. }
                        | RenderError::HelmRepositoryFile { .. }
                        | RenderError::TimedOut { .. }
                ),
            },
            PipelineError::Lock(e) => e.is_invalid_input(),
            PipelineError::Plan { error, .. } => !error.is_out_of_time(),
            // A registry that gave no answer is nobody's fault in the Application (exit 1: try again later). A
            // registry that answered that the pinned tag does not exist is: the fix is the Application's pin
            // (a parameter, an annotation or plugin env), as with a pin that is no tag at all, which planning
            // refuses with exit 2. Retrying will not help; editing the pin will.
            PipelineError::Resolve(e) => matches!(**e, GenerateError::PinNotFound { .. }),
            PipelineError::Output(_) => false,
            // A stream whose anchors would make an edit change more than the image is the source's to fix.
            PipelineError::Apply(e) => {
                matches!(**e, GenerateError::Annotate(_) | GenerateError::Replace(_))
            }
        }
    }

    /// Whether the deadline ran out while planning.
    pub fn is_out_of_time(&self) -> bool {
        matches!(self, PipelineError::Plan { error, .. } if error.is_out_of_time())
    }
}

/// Whether a tool that failed this way failed on the Application's input (it ran and refused it), rather than
/// being missing, unable to start or out of time.
fn tool_judged_the_input(error: &ProcessError) -> bool {
    !matches!(
        error,
        ProcessError::NotFound { .. }
            | ProcessError::Spawn { .. }
            | ProcessError::TimedOut { .. }
            | ProcessError::Output { .. }
    )
}

/// A values file's trouble is the `values-files` parameter's.
fn render_message(error: &RenderError) -> String {
    match error {
        RenderError::ValuesFileOutside { .. } | RenderError::ValuesFileMissing { .. } => {
            format!("parameter values-files: {error}")
        }
        _ => error.to_string(),
    }
}

/// The application directory, resolved: everything the repository may reach is judged against it.
pub fn app_dir(dir: &Path) -> Result<PathBuf, PipelineError> {
    std::fs::canonicalize(dir).map_err(|source| PipelineError::AppDir {
        dir: dir.to_path_buf(),
        source,
    })
}

/// `init`: prepares the source in `dir` (builds a Helm chart's missing dependencies).
pub async fn init(
    request: &ArgoRequest,
    dir: &Path,
    deadline: std::time::Instant,
) -> Result<(), PipelineError> {
    let options = source_options(request, dir)?;
    render::init(dir, &options, deadline)
        .await
        .map_err(PipelineError::Render)
}

/// Renders the application in `dir` (after `init` when `prepare`) and plans its images.
pub async fn render_and_plan(
    request: &ArgoRequest,
    settings: &AppSettings,
    dir: &Path,
    image_defaults: ImageDefaults,
    deadline: Instant,
    prepare: bool,
) -> Result<Planned, PipelineError> {
    render_and_plan_with(
        request,
        settings,
        dir,
        image_defaults,
        deadline,
        prepare,
        true,
    )
    .await
}

/// [`render_and_plan`] as the committer needs it: every tracked image planned to be resolved from its registry,
/// whatever the application's lock file says (the committer compares the two itself).
pub async fn render_and_plan_live(
    request: &ArgoRequest,
    settings: &AppSettings,
    dir: &Path,
    image_defaults: ImageDefaults,
    deadline: Instant,
) -> Result<Planned, PipelineError> {
    render_and_plan_with(
        request,
        settings,
        dir,
        image_defaults,
        deadline,
        true,
        false,
    )
    .await
}

async fn render_and_plan_with(
    request: &ArgoRequest,
    settings: &AppSettings,
    dir: &Path,
    image_defaults: ImageDefaults,
    deadline: Instant,
    prepare: bool,
    with_lock: bool,
) -> Result<Planned, PipelineError> {
    let options = render_options(request, &settings.render, dir)?;
    if prepare {
        render::init(dir, &options, deadline.into_std())
            .await
            .map_err(PipelineError::Render)?;
    }
    let rendered = render::render(dir, &options, deadline.into_std())
        .await
        .map_err(PipelineError::Render)?;
    let context = AppContext {
        lock: if with_lock {
            app_lock(dir, &options)?
        } else {
            None
        },
        live: !with_lock,
        ..settings.context(request, image_defaults)
    };
    let mut plan = generate::plan_until(&rendered.output, &context, &mut stop_at(deadline))
        .map_err(|error| plan_error(error, &rendered.sources))?;
    plan.warnings
        .extend(leftovers::find(dir, request.app_name.as_deref()));
    Ok(Planned {
        rendered: rendered.output,
        sources: rendered.sources,
        context,
        plan,
    })
}

/// Everything up to resolved tags: render and plan (after `init` when `prepare`), then every tracked image
/// resolved through `cache`, all before `deadline`. Failed requests are in the resolutions, for the caller to
/// decide: `generate` fails on the first, `parameters` announces without a value.
pub async fn render_and_resolve(
    request: &ArgoRequest,
    settings: &AppSettings,
    dir: &Path,
    registries: &Arc<Registries>,
    cache: Option<&RegistryCache>,
    deadline: Instant,
    prepare: bool,
) -> Result<(Planned, Resolutions), PipelineError> {
    let planned = render_and_plan(
        request,
        settings,
        dir,
        registries.image_defaults(),
        deadline,
        prepare,
    )
    .await?;
    let resolutions = resolve_plan(&planned.plan, registries, cache, deadline).await;
    Ok((planned, resolutions))
}

/// What `generate` hands Argo CD, and what the sidecar's log should say about it.
#[derive(Debug)]
pub struct Generated {
    /// The rendered text with every tracked image resolved.
    pub output: Spooled,
    /// The plan's warnings, then the resolution's (fallbacks to last-known-good).
    pub warnings: Vec<String>,
}

/// `generate`: render the application in `dir`, resolve every tracked image through `cache`, and write the new
/// image strings into the rendered text, all before `deadline`. Fails on the first request that has no answer at
/// all (rendering the old tag silently would look like success), and on a pinned tag the registry does not have.
////// With a lock file in `dir` (see [`crate::lock`]), an image its entry decides is written as the entry says and
/// makes no request; the file unusable fails the render, naming it.
///
/// A stream is planned twice, a document at a time, rather than held planned whole: the first pass finds the
/// distinct requests, the second (after the registries answered) plans each document again and writes it out.
/// Planning is deterministic, so both passes decide alike. What is held at once is the rendered text, the
/// requests, one document's plan, and the output up to [`crate::spool::IN_MEMORY`] (past that it goes to a
/// temporary file), whatever the number of objects: a stream planned whole takes ~1 KB an object.
pub async fn generate(
    request: &ArgoRequest,
    settings: &AppSettings,
    dir: &Path,
    registries: &Arc<Registries>,
    cache: Option<&RegistryCache>,
    deadline: Instant,
) -> Result<Generated, PipelineError> {
    let options = render_options(request, &settings.render, dir)?;
    let rendered = render::render(dir, &options, deadline.into_std())
        .await
        .map_err(PipelineError::Render)?;
    leftovers::refuse(dir, request)?;
    let context = AppContext {
        lock: app_lock(dir, &options)?,
        ..settings.context(request, registries.image_defaults())
    };
    let text = &rendered.output;
    let planning = std::time::Instant::now();
    let mut requests = Requests::new(registries.secret_scope());
    let mut warnings =
        generate::plan_each(text, &context, &mut stop_at(deadline), &mut |planned| {
            requests.add(planned);
        })
        .map_err(|error| plan_error(error, &rendered.sources))?;
    // The second pass costs about what the first did: resolution leaves it that much time.
    let answering = deadline.checked_sub(planning.elapsed()).unwrap_or(deadline);
    let answered = ask_all(
        &requests,
        registries,
        ResolveOptions::through(cache),
        answering,
    )
    .await;
    if let Some(failure) = answered.failures.first() {
        return Err(PipelineError::Resolve(Box::new(failure.clone())));
    }
    warnings.extend(answered.warnings.iter().cloned());
    let mut output = Spool::default();
    generate::apply_each(
        text,
        &context,
        &mut stop_at(deadline),
        &mut |planned| answered.outcome(planned, requests.of(planned)),
        &mut |piece| output.push_str(piece),
    )
    .map_err(|error| match error {
        GenerateError::Annotate(_) | GenerateError::Replace(_) | GenerateError::Splice(_) => {
            PipelineError::Apply(Box::new(error))
        }
        error => plan_error(error, &rendered.sources),
    })?;
    Ok(Generated {
        output: output.finish().map_err(PipelineError::Output)?,
        warnings,
    })
}

/// The lock file of the application in `dir` (read after rendering, which checked the repository's symlinks):
/// with one, each tracked image it has an entry for renders as the entry says.
fn app_lock(dir: &Path, options: &RenderOptions) -> Result<Option<Arc<LockFile>>, PipelineError> {
    let root = options.repo_root.as_deref().unwrap_or(dir);
    let lock = lock::read(dir, root).map_err(PipelineError::Lock)?;
    if let Some(lock) = &lock {
        tracing::debug!(
            "lock mode: {} with {} entries",
            crate::lock::FILE_NAME,
            lock.entries().len()
        );
    }
    Ok(lock.map(Arc::new))
}

/// A `stop` for the core's long loops: scanning a large stream is CPU work no async timeout interrupts, so the
/// core asks the clock itself.
fn stop_at(deadline: Instant) -> impl FnMut() -> bool {
    let deadline = deadline.into_std();
    move || std::time::Instant::now() >= deadline
}

fn plan_error(error: GenerateError, sources: &[SourceFile]) -> PipelineError {
    PipelineError::Plan {
        located: located(&error, sources),
        error: Box::new(error),
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
}
