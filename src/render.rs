//! Rendering an Argo CD application directory into one YAML stream: `kustomize build`, `helm template`, or the
//! plain manifest files joined.
//!
//! Everything runs under a deadline the caller takes from its request budget, through [`crate::process`]. Paths the
//! repository controls (values files, symlinks, `file://` dependencies) must stay inside the repository: a symlink
//! to a mounted secret would otherwise end up in the rendered output, or in an error shown in the Argo CD UI. No
//! value the Application controls reaches helm's command line as a flag, and what is read from a renderer is
//! bounded ([`RenderOptions::max_manifest_size`]).

use std::ffi::OsString;
use std::fmt;
use std::io::{self, Read as _};
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::process::{Env, ProcessError, Tool, ToolCommand};
use crate::size::ByteSize;

mod helm_input;
mod symlinks;

pub use helm_input::{ApiVersion, InvalidInput, KubeVersion, Namespace, ReleaseName, shown};

/// Variable naming the kustomize binary to use (or a `kubectl…` binary, run as `kubectl kustomize`).
pub const KUSTOMIZE_OVERRIDE: &str = "IMAGE_RESOLVER_KUSTOMIZE";
/// Variable naming the helm binary to use.
pub const HELM_OVERRIDE: &str = "IMAGE_RESOLVER_HELM";

/// The files that make a directory a Kustomize application, as Kustomize itself accepts them.
pub const KUSTOMIZATION_FILES: [&str; 3] =
    ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// How much a renderer may print, or a plain directory hold, unless the operator says otherwise.
pub const DEFAULT_MAX_MANIFEST_SIZE: ByteSize = ByteSize(64 << 20);
/// The option that raises [`RenderOptions::max_manifest_size`], for messages.
const MAX_MANIFEST_SIZE_OPTION: &str = "--max-manifest-size (IMAGE_RESOLVER_MAX_MANIFEST_SIZE)";

/// Variables every tool gets from the source environment, on top of its own.
const BASE_ALLOW: [&str; 3] = ["PATH", "HOME", "TMPDIR"];
const KUSTOMIZE_ALLOW: [&str; 4] = ["KUSTOMIZE_*", "XDG_CONFIG_HOME", "HELM_*", "KUBECONFIG"];
const HELM_ALLOW: [&str; 2] = ["HELM_*", "KUBECONFIG"];

/// Errors of rendering an application directory.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error(transparent)]
    Process(#[from] ProcessError),

    #[error(
        "kustomize not found: install kustomize or kubectl, or set {KUSTOMIZE_OVERRIDE} to its path"
    )]
    KustomizeNotFound,

    #[error("`{command}` printed no manifests")]
    EmptyOutput { command: String },

    #[error(
        "`{command}` printed more than {limit} of manifests and was stopped: raise {MAX_MANIFEST_SIZE_OPTION} \
        if the application really is that large"
    )]
    OutputTooLarge { command: String, limit: ByteSize },

    #[error("the manifests in {} add up to {size} bytes, more than the limit of {limit}: raise \
        {MAX_MANIFEST_SIZE_OPTION} if the application really is that large", dir.display())]
    ManifestsTooLarge {
        dir: PathBuf,
        size: u64,
        limit: ByteSize,
    },

    #[error("the output of `{command}` is not UTF-8 text")]
    OutputNotUtf8 { command: String },

    #[error("values file '{file}' is outside {}: values files must stay inside the repository", root.display())]
    ValuesFileOutside { file: String, root: PathBuf },

    #[error("values file '{file}' not found in {}", dir.display())]
    ValuesFileMissing { file: String, dir: PathBuf },

    /// `path` is relative to `root` where it can be.
    #[error("symlink {} points outside {}: an application may only use files of its own repository; replace the \
        link with a copy of what it points to", path.display(), root.display())]
    SymlinkOutside { path: PathBuf, root: PathBuf },

    #[error("checking the symlinks in {} did not finish within the deadline", root.display())]
    SymlinkCheckTimedOut { root: PathBuf },

    #[error("cannot read {}: {source}", path.display())]
    Read { path: PathBuf, source: io::Error },

    #[error("{} is not UTF-8 text", path.display())]
    NotUtf8 { path: PathBuf },

    #[error("dependency {name} of {} has repository '{repository}', outside {}: a chart may only depend on \
        charts of its own repository (file://) or on chart repositories", chart_file.display(), root.display())]
    DependencyOutside {
        name: String,
        chart_file: PathBuf,
        repository: String,
        root: PathBuf,
    },

    #[error("cannot parse {}: {message}", path.display())]
    ChartMetadata { path: PathBuf, message: String },

    #[error("cannot create helm's directory {}: {source}", path.display())]
    HelmHome { path: PathBuf, source: io::Error },

    #[error("no manifests found in {}: no non-empty *.yaml, *.yml or *.json file{}", dir.display(),
        if *recursive { " in it or below it" } else { " in it (subdirectories are not searched)" })]
    NoManifests { dir: PathBuf, recursive: bool },

    #[error("reading the manifests in {} did not finish within its deadline of {:.1}s", dir.display(), allowed.as_secs_f64())]
    TimedOut { dir: PathBuf, allowed: Duration },
}

/// What kind of application a directory holds, decided as Argo CD decides it (a kustomization wins over a chart).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppKind {
    Kustomize,
    Helm,
    /// A directory of manifest files.
    Plain,
}

impl fmt::Display for AppKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AppKind::Kustomize => "kustomize",
            AppKind::Helm => "helm",
            AppKind::Plain => "plain",
        })
    }
}

/// Looks at the files in `dir` (not below it): a kustomization file, else `Chart.yaml`, else plain manifests.
pub fn detect(dir: &Path) -> AppKind {
    if KUSTOMIZATION_FILES.iter().any(|f| dir.join(f).is_file()) {
        AppKind::Kustomize
    } else if dir.join("Chart.yaml").is_file() {
        AppKind::Helm
    } else {
        AppKind::Plain
    }
}

/// Everything that steers rendering; the caller fills it from its flags, Argo CD's environment (`KUBE_VERSION`,
/// `KUBE_API_VERSIONS`, `ARGOCD_APP_NAMESPACE`, …) and the Application's parameters.
#[derive(Clone, Debug)]
pub struct RenderOptions {
    /// The source environment: tools are looked up on its `PATH` and through [`KUSTOMIZE_OVERRIDE`] /
    /// [`HELM_OVERRIDE`], and each tool gets only its allowed variables from it (`PATH`, `HOME`, `TMPDIR`, and
    /// `HELM_*`, `KUBECONFIG`, `KUSTOMIZE_*`, `XDG_CONFIG_HOME` as the tool needs). Default: this process's.
    pub env: Env,
    /// The directory values files and followed symlinks must stay inside; `None` means the app directory itself.
    /// In the sidecar: the working directory minus `ARGOCD_APP_SOURCE_PATH`.
    pub repo_root: Option<PathBuf>,
    /// The most a renderer may print on stdout (it is stopped past it), and the most the files of a plain
    /// directory may add up to (checked before any is read), so that an application cannot fill the sidecar's
    /// memory. Default: [`DEFAULT_MAX_MANIFEST_SIZE`].
    pub max_manifest_size: ByteSize,
    pub kustomize: KustomizeOptions,
    pub helm: HelmOptions,
    pub plain: PlainOptions,
}

impl Default for RenderOptions {
    fn default() -> Self {
        Self {
            env: Env::current(),
            repo_root: None,
            max_manifest_size: DEFAULT_MAX_MANIFEST_SIZE,
            kustomize: KustomizeOptions::default(),
            helm: HelmOptions::default(),
            plain: PlainOptions::default(),
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct KustomizeOptions {
    /// Arguments after `build .`: `--enable-helm`, `--load-restrictor LoadRestrictionsNone`, `--helm-command PATH`.
    pub extra_args: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct HelmOptions {
    /// `None` leaves the name to helm, which calls the release `release-name`.
    pub release_name: Option<ReleaseName>,
    /// `--namespace`; `None` leaves helm's default (`default`, as no kubeconfig is passed unless allowed).
    pub namespace: Option<Namespace>,
    /// `--kube-version` (Argo CD's `KUBE_VERSION`, e.g. `1.29.3`), the version `.Capabilities` reports.
    pub kube_version: Option<KubeVersion>,
    /// One `--api-versions` each (Argo CD's `KUBE_API_VERSIONS`, split at commas).
    pub api_versions: Vec<ApiVersion>,
    /// `--values`, in order, relative to the chart; each must resolve to a file inside the repository root, and
    /// is always read as a file (helm would fetch one that looks like a URL).
    pub values_files: Vec<String>,
    /// `--set`, in order: `key=value`, any text (it cannot become a flag).
    pub set: Vec<String>,
    /// `--set-string`, in order, as `set`.
    pub set_string: Vec<String>,
    /// Render the chart's `crds/` too (`--include-crds`), as Argo CD does unless told to skip CRDs.
    pub include_crds: bool,
    /// A writable directory for helm's config, cache and data (`HELM_CONFIG_HOME`, … under it), since the
    /// sidecar's `HOME` may be read-only. `None`: the source environment's `HELM_*_HOME` where set, else
    /// `argocd-image-resolver-helm/` in its `TMPDIR` (or the system temp dir).
    pub home: Option<PathBuf>,
}

impl Default for HelmOptions {
    fn default() -> Self {
        Self {
            release_name: None,
            namespace: None,
            kube_version: None,
            api_versions: Vec::new(),
            values_files: Vec::new(),
            set: Vec::new(),
            set_string: Vec::new(),
            include_crds: true,
            home: None,
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct PlainOptions {
    /// Also read manifests in subdirectories (Argo CD's `directory.recurse`).
    pub recursive: bool,
}

/// A rendered application.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendered {
    pub kind: AppKind,
    /// The YAML stream exactly as the tool printed it (or the files joined with `---`).
    pub output: String,
    /// The command that produced it, for logs and `explain`; `None` for plain files.
    pub command: Option<String>,
    /// Where each stretch of `output` came from, in order, for `explain`: every plain file, Helm's templates (from
    /// its `# Source:` comments); nothing for Kustomize, which does not say.
    pub sources: Vec<SourceFile>,
}

/// Where a stretch of the rendered stream came from: from `first_line` (counting from 1) to the next one's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceFile {
    /// Relative to the application directory (plain files) or the chart's parent (Helm templates).
    pub path: String,
    pub first_line: usize,
    /// Whether the stretch is the file's own text (plain files), so a line in it is a line of the file.
    pub verbatim: bool,
}

impl SourceFile {
    /// The source of stream line `line` among `sources` (in stream order), and that line in it when the source is
    /// verbatim.
    pub fn locate(sources: &[SourceFile], line: usize) -> Option<(&SourceFile, Option<usize>)> {
        let source = sources.iter().rev().find(|s| s.first_line <= line)?;
        Some((
            source,
            source.verbatim.then(|| line - source.first_line + 1),
        ))
    }
}

/// Helm's `# Source: <chart>/templates/<file>` comments, one before each document it prints.
fn helm_sources(output: &str) -> Vec<SourceFile> {
    output
        .lines()
        .enumerate()
        .filter_map(|(i, line)| {
            let path = line.strip_prefix("# Source: ")?.trim();
            Some(SourceFile {
                path: path.to_string(),
                first_line: i + 1,
                verbatim: false,
            })
        })
        .collect()
}

/// Renders the application in `dir` (see [`detect`]), finishing by `deadline` or failing. Refuses first a
/// repository with a symlink leading outside it.
pub async fn render(
    dir: &Path,
    opts: &RenderOptions,
    deadline: Instant,
) -> Result<Rendered, RenderError> {
    check_symlinks(dir, opts, deadline).await?;
    let kind = detect(dir);
    let (output, command, sources) = match kind {
        AppKind::Kustomize => {
            let command = kustomize_command(dir, opts)?;
            let (output, command) = run_tool(command, opts.max_manifest_size, deadline).await?;
            (output, command, Vec::new())
        }
        AppKind::Helm => {
            let command = helm_template_command(dir, opts)?;
            let (output, command) = run_tool(command, opts.max_manifest_size, deadline).await?;
            let sources = helm_sources(&output);
            (output, command, sources)
        }
        AppKind::Plain => {
            let (output, sources) = read_plain(dir, opts, deadline).await?;
            (output, None, sources)
        }
    };
    Ok(Rendered {
        kind,
        output,
        command,
        sources,
    })
}

/// Prepares `dir` for [`render`]: for a chart whose dependencies (in `Chart.yaml` or `requirements.yaml`) are not
/// all in `charts/`, `helm dependency build`. Nothing for other kinds of application. Refuses first a repository
/// with a symlink leading outside it (`helm dependency build` packs linked files too).
pub async fn init(dir: &Path, opts: &RenderOptions, deadline: Instant) -> Result<(), RenderError> {
    check_symlinks(dir, opts, deadline).await?;
    if detect(dir) != AppKind::Helm {
        return Ok(());
    }
    let declared = declared_dependencies(dir)?;
    if missing_dependencies(dir, &declared)?.is_empty() {
        return Ok(());
    }
    check_local_dependencies(dir, opts.repo_root.as_deref().unwrap_or(dir), &declared)?;
    helm_command(dir, opts)?
        .args(["dependency", "build"])
        .max_stdout(opts.max_manifest_size)
        .run(deadline)
        .await?;
    Ok(())
}

/// [`symlinks::check_tree`] over the repository of the application in `dir`, off the async runtime.
async fn check_symlinks(
    dir: &Path,
    opts: &RenderOptions,
    deadline: Instant,
) -> Result<(), RenderError> {
    let root = opts.repo_root.clone().unwrap_or_else(|| dir.to_path_buf());
    tokio::task::spawn_blocking(move || symlinks::check_tree(&root, deadline))
        .await
        .map_err(|e| RenderError::Read {
            path: dir.to_path_buf(),
            source: io::Error::other(e),
        })?
}

async fn run_tool(
    command: ToolCommand,
    limit: ByteSize,
    deadline: Instant,
) -> Result<(String, Option<String>), RenderError> {
    let command = command.max_stdout(limit);
    let output = match command.run(deadline).await {
        Ok(output) => output,
        Err(ProcessError::OutputTooLarge { command, limit }) => {
            return Err(RenderError::OutputTooLarge { command, limit });
        }
        Err(e) => return Err(e.into()),
    };
    let display = command.display();
    let text = String::from_utf8(output.stdout).map_err(|_| RenderError::OutputNotUtf8 {
        command: display.clone(),
    })?;
    if text.trim().is_empty() {
        return Err(RenderError::EmptyOutput { command: display });
    }
    Ok((text, Some(display)))
}

fn kustomize_command(dir: &Path, opts: &RenderOptions) -> Result<ToolCommand, RenderError> {
    let env = &opts.env;
    let tool = match Tool::locate("kustomize", KUSTOMIZE_OVERRIDE, env) {
        Ok(tool) => tool,
        Err(ProcessError::NotFound { .. }) => {
            match Tool::locate("kubectl", KUSTOMIZE_OVERRIDE, env) {
                Ok(tool) => tool,
                Err(ProcessError::NotFound { .. }) => return Err(RenderError::KustomizeNotFound),
                Err(e) => return Err(e.into()),
            }
        }
        Err(e) => return Err(e.into()),
    };
    // kubectl carries kustomize as a subcommand; gcloud ships it as `kubectl.1.32` etc.
    let subcommand = if tool.name().starts_with("kubectl") {
        "kustomize"
    } else {
        "build"
    };
    let allow: Vec<&str> = BASE_ALLOW.iter().chain(&KUSTOMIZE_ALLOW).copied().collect();
    Ok(tool
        .command()
        .args([subcommand, "."])
        .args(&opts.kustomize.extra_args)
        .current_dir(dir)
        .env(env.allowed(&allow)))
}

fn helm_command(dir: &Path, opts: &RenderOptions) -> Result<ToolCommand, RenderError> {
    let tool = Tool::locate("helm", HELM_OVERRIDE, &opts.env)?;
    let allow: Vec<&str> = BASE_ALLOW.iter().chain(&HELM_ALLOW).copied().collect();
    let mut env = opts.env.allowed(&allow);
    for (var, sub) in [
        ("HELM_CONFIG_HOME", "config"),
        ("HELM_CACHE_HOME", "cache"),
        ("HELM_DATA_HOME", "data"),
    ] {
        let path = match &opts.helm.home {
            Some(home) => home.join(sub),
            None if env.get(var).is_some() => continue,
            None => {
                let tmp = opts
                    .env
                    .get("TMPDIR")
                    .map_or_else(std::env::temp_dir, PathBuf::from);
                tmp.join("argocd-image-resolver-helm").join(sub)
            }
        };
        std::fs::create_dir_all(&path).map_err(|source| RenderError::HelmHome {
            path: path.clone(),
            source,
        })?;
        env.set(var, path);
    }
    Ok(tool.command().current_dir(dir).env(env))
}

fn helm_template_command(dir: &Path, opts: &RenderOptions) -> Result<ToolCommand, RenderError> {
    let helm = &opts.helm;
    let root = opts.repo_root.as_deref().unwrap_or(dir);
    // Helm gets the path that was checked, resolved: judged as written, `link/..` means one place to a lexical
    // check and another to the kernel, which resolves the link first.
    let values_files = helm
        .values_files
        .iter()
        .map(|file| check_values_file(dir, root, file))
        .collect::<Result<Vec<_>, _>>()?;
    // Every value the Application controls goes in `--flag=value` form, where pflag never reads it as a flag of
    // its own, and the positionals come after `--`: a release name such as `--post-renderer=/bin/sh` would
    // otherwise run a program. The types already refuse such values; this keeps the class closed for any value.
    let flag = |name: &str, value: &str| OsString::from(format!("--{name}={value}"));
    let mut args: Vec<OsString> = vec!["template".into()];
    if let Some(ns) = &helm.namespace {
        args.push(flag("namespace", ns.as_str()));
    }
    if let Some(version) = &helm.kube_version {
        args.push(flag("kube-version", version.as_str()));
    }
    for api in &helm.api_versions {
        args.push(flag("api-versions", api.as_str()));
    }
    if helm.include_crds {
        args.push("--include-crds".into());
    }
    for file in &values_files {
        // Absolute: helm never reads it as a URL (`http://…`) or as stdin (`-`).
        args.push(flag("values", &file.to_string_lossy()));
    }
    for (name, values) in [("set", &helm.set), ("set-string", &helm.set_string)] {
        for value in values {
            args.push(flag(name, value));
        }
    }
    args.push("--".into());
    args.extend(helm.release_name.iter().map(|n| OsString::from(n.as_str())));
    args.push(".".into());
    Ok(helm_command(dir, opts)?.args(args))
}

/// The values file `file` (relative to the chart) resolved as the kernel resolves it, refused when it leaves
/// `root`, by `..` or an absolute path (checked on the path as written) or through a symlink (checked on the
/// resolved path).
fn check_values_file(chart_dir: &Path, root: &Path, file: &str) -> Result<PathBuf, RenderError> {
    let outside = || RenderError::ValuesFileOutside {
        file: file.to_owned(),
        root: root.to_path_buf(),
    };
    let read_error = |path: &Path| {
        let path = path.to_path_buf();
        move |source| RenderError::Read { path, source }
    };
    let chart_dir = std::path::absolute(chart_dir).map_err(read_error(chart_dir))?;
    let root_abs = std::path::absolute(root).map_err(read_error(root))?;
    let written = normalize(&chart_dir.join(file));
    if !written.starts_with(normalize(&root_abs)) {
        return Err(outside());
    }
    // Not `written`: `..` after a symlink climbs from the link's target, not from where the link is.
    let resolved = match chart_dir.join(file).canonicalize() {
        Ok(path) => path,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(RenderError::ValuesFileMissing {
                file: file.to_owned(),
                dir: chart_dir,
            });
        }
        Err(source) => {
            return Err(RenderError::Read {
                path: written,
                source,
            });
        }
    };
    let root_resolved = root_abs.canonicalize().map_err(read_error(&root_abs))?;
    if !resolved.starts_with(root_resolved) {
        return Err(outside());
    }
    Ok(resolved)
}

/// `a/b/../c` → `a/c` without touching the file system (`..` above the root stays at the root).
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

#[derive(Deserialize)]
struct ChartDependencies {
    #[serde(default)]
    dependencies: Option<Vec<ChartDependency>>,
}

#[derive(Deserialize)]
struct ChartDependency {
    name: String,
    #[serde(default)]
    repository: Option<String>,
}

/// Refuses a dependency that `helm dependency build` would copy from a directory outside `root`
/// (`repository: file://…`, absolute or relative to the chart, as helm reads it).
fn check_local_dependencies(
    dir: &Path,
    root: &Path,
    declared: &[(PathBuf, ChartDependency)],
) -> Result<(), RenderError> {
    let read_error = |path: &Path| {
        let path = path.to_path_buf();
        move |source| RenderError::Read { path, source }
    };
    let dir_abs = std::path::absolute(dir).map_err(read_error(dir))?;
    let root_abs = std::path::absolute(root).map_err(read_error(root))?;
    let root_resolved = root_abs.canonicalize().map_err(read_error(&root_abs))?;
    for (file, dependency) in declared {
        let Some(repository) = &dependency.repository else {
            continue;
        };
        let Some(local) = repository.strip_prefix("file://") else {
            continue;
        };
        let written = normalize(&dir_abs.join(local));
        let inside = written.starts_with(normalize(&root_abs))
            && written
                .canonicalize()
                .map_or(true, |resolved| resolved.starts_with(&root_resolved));
        if !inside {
            return Err(RenderError::DependencyOutside {
                name: dependency.name.clone(),
                chart_file: file.clone(),
                repository: repository.clone(),
                root: root.to_path_buf(),
            });
        }
    }
    Ok(())
}

/// The dependencies declared in `Chart.yaml` / `requirements.yaml`, each with the file declaring it.
fn declared_dependencies(dir: &Path) -> Result<Vec<(PathBuf, ChartDependency)>, RenderError> {
    let mut declared = Vec::new();
    for file in ["Chart.yaml", "requirements.yaml"] {
        let path = dir.join(file);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(source) => return Err(RenderError::Read { path, source }),
        };
        let parsed: ChartDependencies =
            serde_norway::from_str(&text).map_err(|e| RenderError::ChartMetadata {
                path: path.clone(),
                message: e.to_string(),
            })?;
        declared.extend(
            parsed
                .dependencies
                .unwrap_or_default()
                .into_iter()
                .map(|d| (path.clone(), d)),
        );
    }
    Ok(declared)
}

/// Names of the `declared` dependencies that `charts/` lacks, judged by file name: a directory `charts/NAME` or
/// an archive `charts/NAME-VERSION.tgz`.
fn missing_dependencies(
    dir: &Path,
    declared: &[(PathBuf, ChartDependency)],
) -> Result<Vec<String>, RenderError> {
    let charts = dir.join("charts");
    let present: Vec<String> = match std::fs::read_dir(&charts) {
        Ok(entries) => entries
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
        Err(source) => {
            return Err(RenderError::Read {
                path: charts,
                source,
            });
        }
    };
    let satisfied = |name: &str| {
        present.iter().any(|entry| {
            entry == name
                || entry
                    .strip_prefix(name)
                    .and_then(|rest| rest.strip_prefix('-'))
                    .and_then(|rest| rest.strip_suffix(".tgz"))
                    .is_some_and(|version| {
                        version.starts_with(|c: char| c.is_ascii_digit() || c == 'v')
                    })
        })
    };
    Ok(declared
        .iter()
        .map(|(_, d)| d.name.clone())
        .filter(|name| !satisfied(name))
        .collect())
}

async fn read_plain(
    dir: &Path,
    opts: &RenderOptions,
    deadline: Instant,
) -> Result<(String, Vec<SourceFile>), RenderError> {
    let dir = dir.to_path_buf();
    let root = opts.repo_root.clone().unwrap_or_else(|| dir.clone());
    let recursive = opts.plain.recursive;
    let limit = opts.max_manifest_size;
    let allowed = deadline.saturating_duration_since(Instant::now());
    if allowed.is_zero() {
        return Err(RenderError::TimedOut { dir, allowed });
    }
    let task = tokio::task::spawn_blocking({
        let dir = dir.clone();
        move || join_plain(&dir, &root, recursive, limit, deadline)
    });
    match tokio::time::timeout(allowed, task).await {
        Ok(joined) => joined.map_err(|e| RenderError::Read {
            path: dir.clone(),
            source: io::Error::other(e),
        })?,
        Err(_) => Err(RenderError::TimedOut { dir, allowed }),
    }
}

/// The manifest files in `dir`, in path order (depth-first, entries by name, as Argo CD walks a directory), as
/// one stream: each file's bytes unchanged but for a leading byte order mark, `---` on a line of its own between
/// files. Hidden entries (`.git`) are skipped, so are empty files and symlinked directories; a symlinked file is
/// read only when it resolves inside `root`. Refused when the files add up to more than `limit`, judged from
/// their metadata before any is read (and again while reading, should one grow).
fn join_plain(
    dir: &Path,
    root: &Path,
    recursive: bool,
    limit: ByteSize,
    deadline: Instant,
) -> Result<(String, Vec<SourceFile>), RenderError> {
    // The caller stops waiting at the deadline, but a blocking task cannot be cancelled and the process waits for
    // it on the way out: it must stop by itself.
    let started = Instant::now();
    let late = || {
        (Instant::now() >= deadline).then(|| RenderError::TimedOut {
            dir: dir.to_path_buf(),
            allowed: deadline.saturating_duration_since(started),
        })
    };
    let root = root.canonicalize().map_err(|source| RenderError::Read {
        path: root.to_path_buf(),
        source,
    })?;
    let mut files = Vec::new();
    collect_manifest_files(dir, &root, recursive, &mut files, deadline)?;
    if let Some(error) = late() {
        return Err(error);
    }
    files.sort();
    let too_large = |size| RenderError::ManifestsTooLarge {
        dir: dir.to_path_buf(),
        size,
        limit,
    };
    let mut total: u64 = 0;
    for path in &files {
        let metadata = std::fs::metadata(path).map_err(|source| RenderError::Read {
            path: path.clone(),
            source,
        })?;
        total = total.saturating_add(metadata.len());
    }
    if total > limit.bytes() {
        return Err(too_large(total));
    }
    let mut out = String::with_capacity(usize::try_from(total).unwrap_or(0));
    let mut sources = Vec::new();
    let mut lines = 0;
    let mut read: u64 = 0;
    for path in files {
        if let Some(error) = late() {
            return Err(error);
        }
        let mut bytes = Vec::new();
        std::fs::File::open(&path)
            .and_then(|file| {
                io::Read::take(file, (limit.bytes() - read).saturating_add(1))
                    .read_to_end(&mut bytes)
            })
            .map_err(|source| RenderError::Read {
                path: path.clone(),
                source,
            })?;
        read += bytes.len() as u64;
        if read > limit.bytes() {
            return Err(too_large(read));
        }
        let text =
            String::from_utf8(bytes).map_err(|_| RenderError::NotUtf8 { path: path.clone() })?;
        // Argo CD parses each file as a stream of its own, which may start with a byte order mark; in the joined
        // stream a mark would sit inside a document, where YAML forbids it.
        let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
        if text.trim().is_empty() {
            continue;
        }
        if !out.is_empty() {
            // Any of YAML's line breaks ends the file's last line (a CR-only file's `\r` too).
            if !out.ends_with(['\n', '\r']) {
                out.push('\n');
                lines += 1;
            }
            out.push_str("---\n");
            lines += 1;
        }
        sources.push(SourceFile {
            path: path
                .strip_prefix(dir)
                .unwrap_or(&path)
                .to_string_lossy()
                .into_owned(),
            first_line: lines + 1,
            verbatim: true,
        });
        lines += crate::manifest::line_breaks(text);
        out.push_str(text);
    }
    if out.is_empty() {
        return Err(RenderError::NoManifests {
            dir: dir.to_path_buf(),
            recursive,
        });
    }
    Ok((out, sources))
}

fn collect_manifest_files(
    dir: &Path,
    root: &Path,
    recursive: bool,
    files: &mut Vec<PathBuf>,
    deadline: Instant,
) -> Result<(), RenderError> {
    let read_error = |path: &Path| {
        let path = path.to_path_buf();
        move |source| RenderError::Read { path, source }
    };
    for entry in std::fs::read_dir(dir).map_err(read_error(dir))? {
        // Past the deadline the walk just stops: the caller says the time ran out.
        if Instant::now() >= deadline {
            return Ok(());
        }
        let entry = entry.map_err(read_error(dir))?;
        let path = entry.path();
        let name = entry.file_name();
        if name.as_encoded_bytes().starts_with(b".") {
            continue;
        }
        let file_type = entry.file_type().map_err(read_error(&path))?;
        if file_type.is_dir() {
            if recursive {
                collect_manifest_files(&path, root, recursive, files, deadline)?;
            }
            continue;
        }
        let is_manifest = Path::new(&name)
            .extension()
            .is_some_and(|ext| ext == "yaml" || ext == "yml" || ext == "json");
        if !is_manifest {
            continue;
        }
        if file_type.is_symlink() {
            let target = match path.canonicalize() {
                Ok(target) => target,
                // A dangling link is no manifest; Argo CD skips it as well.
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(source) => return Err(RenderError::Read { path, source }),
            };
            if !target.starts_with(root) {
                return Err(RenderError::SymlinkOutside {
                    path,
                    root: root.to_path_buf(),
                });
            }
            if !target.is_file() {
                continue;
            }
        } else if !file_type.is_file() {
            continue;
        }
        files.push(path);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_paths_lexically() {
        let cases = [
            ("plain", "/r/app/values.yaml", "/r/app/values.yaml"),
            ("dot", "/r/app/./values.yaml", "/r/app/values.yaml"),
            ("parent", "/r/app/../common/v.yaml", "/r/common/v.yaml"),
            ("above the root", "/r/../../etc/passwd", "/etc/passwd"),
        ];
        for (name, input, want) in cases {
            assert_eq!(normalize(Path::new(input)), Path::new(want), "case {name}");
        }
    }

    /// Regression (found in review): the joining ran on past the deadline in its blocking task, which the
    /// process then waited for on its way out.
    #[test]
    fn joining_a_plain_directory_stops_at_the_deadline() {
        let dir = std::env::temp_dir().join(format!("join-deadline-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("a.yaml"), "kind: ConfigMap\n").unwrap();
        let limit = ByteSize(1 << 20);
        let on_time = join_plain(
            &dir,
            &dir,
            false,
            limit,
            Instant::now() + Duration::from_secs(60),
        );
        let late = join_plain(&dir, &dir, false, limit, Instant::now());
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(on_time.is_ok(), "{on_time:?}");
        assert!(
            matches!(late, Err(RenderError::TimedOut { .. })),
            "{late:?}"
        );
    }
}
