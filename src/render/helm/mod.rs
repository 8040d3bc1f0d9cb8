//! The helm wrapper: `helm template` with every value the Application controls in `--flag=value` form, values
//! files checked to stay inside the repository, helm's own directories made writable; and for `init`,
//! `dependencies`: the chart repositories the dependencies name added to a private repository list, then
//! `helm dependency build`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::{
    ApiVersion, BASE_ALLOW, KubeVersion, Namespace, ReleaseName, RenderError, RenderOptions,
    RepositoryFileError, SourceFile,
};
use crate::process::{Env, Tool, ToolCommand};

mod dependencies;

pub(super) use dependencies::build_missing_dependencies;

/// Variable naming the helm binary to use.
pub const HELM_OVERRIDE: &str = "IMAGE_RESOLVER_HELM";
const HELM_ALLOW: [&str; 2] = ["HELM_*", "KUBECONFIG"];

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

/// Helm's `# Source: <chart>/templates/<file>` comments, one before each document it prints.
pub(super) fn helm_sources(output: &str) -> Vec<SourceFile> {
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

fn helm_command(dir: &Path, opts: &RenderOptions) -> Result<ToolCommand, RenderError> {
    let tool = Tool::locate("helm", HELM_OVERRIDE, &opts.env)?;
    Ok(tool.command().current_dir(dir).env(helm_env(opts)?))
}

/// What helm gets of the source environment, with its config, cache and data directories made (see
/// [`HelmOptions::home`]).
fn helm_env(opts: &RenderOptions) -> Result<Env, RenderError> {
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
            None => temp_dir(opts).join("argocd-image-resolver-helm").join(sub),
        };
        std::fs::create_dir_all(&path).map_err(|source| RenderError::HelmHome {
            path: path.clone(),
            source,
        })?;
        env.set(var, path);
    }
    Ok(env)
}

/// The source environment's `TMPDIR`, else the system's temp dir.
fn temp_dir(opts: &RenderOptions) -> PathBuf {
    opts.env
        .get("TMPDIR")
        .map_or_else(std::env::temp_dir, PathBuf::from)
}

pub(super) fn helm_template_command(
    dir: &Path,
    opts: &RenderOptions,
) -> Result<ToolCommand, RenderError> {
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
/// `root` (see [`super::repository_file`]).
fn check_values_file(chart_dir: &Path, root: &Path, file: &str) -> Result<PathBuf, RenderError> {
    super::repository_file(chart_dir, root, file).map_err(|e| match e {
        RepositoryFileError::Outside => RenderError::ValuesFileOutside {
            file: file.to_owned(),
            root: root.to_path_buf(),
        },
        RepositoryFileError::Missing { dir } => RenderError::ValuesFileMissing {
            file: file.to_owned(),
            dir,
        },
        RepositoryFileError::Read { path, source } => RenderError::Read { path, source },
    })
}
