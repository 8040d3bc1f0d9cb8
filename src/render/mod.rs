//! Rendering an Argo CD application directory into one YAML stream: `kustomize build`, `helm template`, or the
//! plain manifest files joined.
//!
//! Everything runs under a deadline the caller takes from its request budget, through [`crate::process`]. Paths the
//! repository controls (values files, symlinks, `file://` dependencies) must stay inside the repository: a symlink
//! to a mounted secret would otherwise end up in the rendered output, or in an error shown in the Argo CD UI. No
//! value the Application controls reaches helm's command line as a flag, and what is read from a renderer is
//! bounded ([`RenderOptions::max_manifest_size`]).
//!
//! One wrapper per renderer: `kustomize`, `helm` (and `helm_input`, its typed inputs), `plain` files; and
//! `symlinks`, the repository check every one of them runs first.

use std::fmt;
use std::io;
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, Instant};

use crate::process::{Env, ProcessError, ToolCommand};
use crate::size::ByteSize;

mod helm;
mod helm_input;
mod kustomize;
mod plain;
mod symlinks;
#[cfg(test)]
mod tests;

pub use helm::{HELM_OVERRIDE, HelmOptions};
pub use helm_input::{ApiVersion, InvalidInput, KubeVersion, Namespace, ReleaseName, shown};
pub use kustomize::{KUSTOMIZE_OVERRIDE, KustomizeOptions};
pub use plain::PlainOptions;

/// The files that make a directory a Kustomize application, as Kustomize itself accepts them.
pub const KUSTOMIZATION_FILES: [&str; 3] =
    ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// How much a renderer may print, or a plain directory hold, unless the operator says otherwise.
pub const DEFAULT_MAX_MANIFEST_SIZE: ByteSize = ByteSize(64 << 20);
/// The option that raises [`RenderOptions::max_manifest_size`], for messages.
const MAX_MANIFEST_SIZE_OPTION: &str = "--max-manifest-size (IMAGE_RESOLVER_MAX_MANIFEST_SIZE)";

/// What every tool gets of the source environment: where programs and home are, and what reaching the network
/// needs behind a corporate proxy or with a private CA (remote kustomize bases, chart dependencies), in both the
/// upper- and lower-case spellings tools read. Each tool adds its own (`HELM_*`, `KUSTOMIZE_*`, …).
const BASE_ALLOW: [&str; 13] = [
    "PATH",
    "HOME",
    "TMPDIR",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "all_proxy",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
];

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

    #[error("cannot write {}: {source}", path.display())]
    Write { path: PathBuf, source: io::Error },

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

    /// `repository` is shown without user name and password.
    #[error("dependency {} of {} has repository '{}': {problem}", shown(name), chart_file.display(), shown(repository))]
    DependencyRepository {
        name: String,
        chart_file: PathBuf,
        repository: String,
        problem: RepositoryProblem,
    },

    /// `helm repo add` failed for a dependency's chart repository: unreachable, or not a chart repository.
    #[error("cannot add chart repository {} for dependency {} of {}: {source}", shown(url), shown(name),
        chart_file.display())]
    DependencyRepositoryAdd {
        name: String,
        chart_file: PathBuf,
        url: String,
        source: Box<ProcessError>,
    },

    #[error("cannot parse {}: {message}", path.display())]
    ChartMetadata { path: PathBuf, message: String },

    /// The operator's helm repository file (`HELM_REPOSITORY_CONFIG`, or `repositories.yaml` in helm's config home).
    #[error("cannot parse helm's repository file {}: {message}", path.display())]
    HelmRepositoryFile { path: PathBuf, message: String },

    #[error("cannot create helm's directory {}: {source}", path.display())]
    HelmHome { path: PathBuf, source: io::Error },

    #[error("no manifests found in {}: no non-empty *.yaml, *.yml or *.json file{}", dir.display(),
        if *recursive { " in it or below it" } else { " in it (subdirectories are not searched)" })]
    NoManifests { dir: PathBuf, recursive: bool },

    #[error("reading the manifests in {} did not finish within its deadline of {:.1}s", dir.display(), allowed.as_secs_f64())]
    TimedOut { dir: PathBuf, allowed: Duration },
}

/// Why a chart dependency's `repository` is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RepositoryProblem {
    #[error(
        "a dependency comes from an http://, https:// or oci:// chart repository, a file:// directory of the \
        repository, or a repository the sidecar's helm knows by name (@name or alias:name)"
    )]
    Scheme,
    #[error("not a URL with a host")]
    NotUrl,
    #[error(
        "a chart repository URL may not carry a user name or password; configure the repository's credentials in \
        the sidecar's helm repository file (HELM_REPOSITORY_CONFIG) instead"
    )]
    Credentials,
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
    /// [`HELM_OVERRIDE`], and each tool gets only its allowed variables from it (`PATH`, `HOME`, `TMPDIR`, the
    /// proxy and CA variables, and `HELM_*`, `KUBECONFIG`, `KUSTOMIZE_*`, `XDG_CONFIG_HOME` as the tool needs).
    /// Default: this process's.
    pub env: Env,
    /// The directory values files and followed symlinks must stay inside; `None` means the app directory itself.
    /// In the sidecar: what Argo CD sent for the call (`pipeline::options::repo_root`).
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
            let command = kustomize::kustomize_command(dir, opts)?;
            let (output, command) = run_tool(command, opts.max_manifest_size, deadline).await?;
            (output, command, Vec::new())
        }
        AppKind::Helm => {
            let command = helm::helm_template_command(dir, opts)?;
            let (output, command) = run_tool(command, opts.max_manifest_size, deadline).await?;
            let sources = helm::helm_sources(&output);
            (output, command, sources)
        }
        AppKind::Plain => {
            let (output, sources) = plain::read_plain(dir, opts, deadline).await?;
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
/// all in `charts/`, each `http(s)://` chart repository they or the lock file name added to a private repository
/// list (`helm repo add`), then `helm dependency build`. Nothing for other kinds of application. Refuses first a
/// repository with a symlink leading outside it (`helm dependency build` packs linked files too).
pub async fn init(dir: &Path, opts: &RenderOptions, deadline: Instant) -> Result<(), RenderError> {
    check_symlinks(dir, opts, deadline).await?;
    if detect(dir) != AppKind::Helm {
        return Ok(());
    }
    helm::build_missing_dependencies(dir, opts, deadline).await
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
/// Why [`repository_file`] refuses a file the application names.
#[derive(Debug)]
pub enum RepositoryFileError {
    /// `..`, an absolute path or a symlink leads out of the repository.
    Outside,
    /// Nothing is there (judged on the resolved path); `dir` is where it was looked for.
    Missing {
        dir: PathBuf,
    },
    Read {
        path: PathBuf,
        source: io::Error,
    },
}

/// `file` (relative to `dir`) resolved as the kernel resolves it, refused when it leaves `root`: by `..` or an
/// absolute path (checked on the path as written) or through a symlink (checked on the resolved path). What
/// values files and the lock file go through before they are read.
pub fn repository_file(
    dir: &Path,
    root: &Path,
    file: &str,
) -> Result<PathBuf, RepositoryFileError> {
    let read_error = |path: &Path| {
        let path = path.to_path_buf();
        move |source| RepositoryFileError::Read { path, source }
    };
    let dir = std::path::absolute(dir).map_err(read_error(dir))?;
    let root_abs = std::path::absolute(root).map_err(read_error(root))?;
    let written = normalize(&dir.join(file));
    if !written.starts_with(normalize(&root_abs)) {
        return Err(RepositoryFileError::Outside);
    }
    // Not `written`: `..` after a symlink climbs from the link's target, not from where the link is.
    let resolved = match dir.join(file).canonicalize() {
        Ok(path) => path,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(RepositoryFileError::Missing { dir });
        }
        Err(source) => {
            return Err(RepositoryFileError::Read {
                path: written,
                source,
            });
        }
    };
    let root_resolved = root_abs.canonicalize().map_err(read_error(&root_abs))?;
    if !resolved.starts_with(root_resolved) {
        return Err(RepositoryFileError::Outside);
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
