//! `init` for a chart, as Argo CD's repo-server prepares one: the dependencies `Chart.yaml` / `requirements.yaml`
//! declare and `Chart.lock` / `requirements.lock` pin, each repository checked (`file://` inside the repository;
//! otherwise only `http(s)://`, `oci://` and repositories helm knows by name), every `http(s)://` chart repository
//! added (`helm repo add`) to a repository list private to this build, then `helm dependency build`.
//!
//! `helm dependency build` refuses a locked dependency whose repository was never `helm repo add`ed ("no repository
//! definition for …"), and the sidecar's helm starts with no repositories. The private list starts with the
//! operator's entries (`HELM_REPOSITORY_CONFIG`, else `repositories.yaml` in helm's config home) that the chart
//! names, so `@name` / `alias:name` and credentials configured there keep working; an entry one Application adds
//! is never seen, or refreshed, by another's build. `oci://` dependencies need no adding: helm pulls them directly,
//! with the logins of helm's registry config (`HELM_REGISTRY_CONFIG`), else anonymously.

use std::collections::BTreeSet;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::{HELM_OVERRIDE, helm_env, temp_dir};
use crate::process::{Env, ProcessError, Tool, ToolCommand};
use crate::registry::urls::redact;
use crate::render::{RenderError, RenderOptions, RepositoryProblem, normalize};

/// [`crate::render::init`] for a chart: nothing when every dependency declared in `Chart.yaml` or
/// `requirements.yaml` is in `charts/`; else, after checking every repository the dependencies and the lock file
/// name, each `http(s)://` chart repository added to a private repository list, then `helm dependency build`.
pub(in crate::render) async fn build_missing_dependencies(
    dir: &Path,
    opts: &RenderOptions,
    deadline: Instant,
) -> Result<(), RenderError> {
    let declared = read_dependencies(dir, &["Chart.yaml", "requirements.yaml"])?;
    if missing_dependencies(dir, &declared)?.is_empty() {
        return Ok(());
    }
    // helm downloads what the lock file says, not what `Chart.yaml` says: the lock's repositories are checked too.
    let mut all = declared;
    all.extend(read_dependencies(
        dir,
        &["Chart.lock", "requirements.lock"],
    )?);
    let sources = all
        .iter()
        .map(|(file, dependency)| Ok((file, dependency, classify(file, dependency)?)))
        .collect::<Result<Vec<Classified>, RenderError>>()?;
    check_local_dependencies(
        dir,
        opts.repo_root.as_deref().unwrap_or(dir),
        sources
            .iter()
            .filter_map(|(file, dependency, source)| match source {
                Source::Local(path) => Some((*file, *dependency, *path)),
                _ => None,
            }),
    )?;

    let tool = Tool::locate("helm", HELM_OVERRIDE, &opts.env)?;
    let mut env = helm_env(opts)?;
    let (to_add, names) = repositories(&sources);
    let urls: Vec<&str> = to_add.iter().map(|(_, _, url)| *url).collect();
    let private = PrivateRepositories::create(opts, &env, &urls, &names)?;
    // The cache home too: before 3.13, `helm dependency build` refreshes indexes into `$HELM_CACHE_HOME/repository`
    // whatever `HELM_REPOSITORY_CACHE` says, and reads them from `HELM_REPOSITORY_CACHE` (helm #11369).
    env.set("HELM_REPOSITORY_CONFIG", private.config())
        .set("HELM_CACHE_HOME", private.cache_home())
        .set(
            "HELM_REPOSITORY_CACHE",
            private.cache_home().join("repository"),
        );
    let command = || {
        tool.command()
            .current_dir(dir)
            .env(env.clone())
            .max_stdout(opts.max_manifest_size)
    };

    for (file, dependency, url) in to_add {
        if private.configured.iter().any(|known| same_url(known, url)) {
            continue;
        }
        // The URL after `--`: it starts with `http`, but no text from the repository goes where a flag could be.
        add_repository(command(), url, deadline)
            .await
            .map_err(|source| RenderError::DependencyRepositoryAdd {
                name: dependency.name.clone(),
                chart_file: file.clone(),
                url: url.to_owned(),
                source: Box::new(source),
            })?;
    }
    // `helm repo add` has just fetched the index of each repository it added; only entries taken from the
    // operator's list have none in the private cache yet.
    let refresh = !private.configured.is_empty();
    command()
        .args(["dependency", "build"])
        .args((!refresh).then_some("--skip-refresh"))
        .cause_on_stdout()
        .run(deadline)
        .await?;
    Ok(())
}

/// A dependency (with the file naming it) and what it comes from.
type Classified<'a> = (&'a PathBuf, &'a ChartDependency, Source<'a>);

/// The `http(s)://` repositories among `sources`, each once (with the first dependency naming it), and the names
/// `@name` / `alias:name` refer to.
fn repositories<'a>(
    sources: &[Classified<'a>],
) -> (
    Vec<(&'a PathBuf, &'a ChartDependency, &'a str)>,
    BTreeSet<&'a str>,
) {
    let mut urls: Vec<(&PathBuf, &ChartDependency, &str)> = Vec::new();
    let mut names = BTreeSet::new();
    for &(file, dependency, source) in sources {
        match source {
            Source::Http(url) if !urls.iter().any(|(_, _, seen)| same_url(seen, url)) => {
                urls.push((file, dependency, url));
            }
            Source::Named(name) => {
                names.insert(name);
            }
            _ => {}
        }
    }
    (urls, names)
}

async fn add_repository(
    command: ToolCommand,
    url: &str,
    deadline: Instant,
) -> Result<(), ProcessError> {
    command
        .args(["repo", "add", "--", &repository_name(url), url])
        .run(deadline)
        .await
        .map(drop)
}

/// The name a chart repository is added under: derived from its URL alone (a trailing `/` aside), so the same
/// repository always gets the same name, and a valid helm repository name (no `/`).
fn repository_name(url: &str) -> String {
    let hash = Sha256::digest(url.trim_end_matches('/').as_bytes());
    let hex: String = hash[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("argocd-image-resolver-{hex}")
}

/// Whether helm would take the two repository URLs for the same repository (it ignores a trailing `/`).
fn same_url(a: &str, b: &str) -> bool {
    a.trim_end_matches('/') == b.trim_end_matches('/')
}

/// Where a dependency comes from, by its `repository`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Source<'a> {
    /// No repository: the chart must already be in `charts/`.
    Charts,
    /// `file://PATH`, relative to the chart or absolute.
    Local(&'a str),
    /// `@NAME` or `alias:NAME`: a repository helm knows by that name.
    Named(&'a str),
    /// `oci://…`, which helm pulls directly.
    Oci,
    /// An `http://` or `https://` chart repository, as written.
    Http(&'a str),
}

/// What `dependency` of `file` fetches from, or why helm may not fetch it: a repository that is neither a chart
/// repository URL (`http(s)`, `oci`) nor a local directory nor a configured name, or a URL carrying credentials.
fn classify<'a>(file: &Path, dependency: &'a ChartDependency) -> Result<Source<'a>, RenderError> {
    let repository = dependency.repository.as_deref().unwrap_or_default();
    let refuse = |repository: String, problem| RenderError::DependencyRepository {
        name: dependency.name.clone(),
        chart_file: file.to_path_buf(),
        repository,
        problem,
    };
    if repository.is_empty() {
        return Ok(Source::Charts);
    }
    if let Some(path) = repository.strip_prefix("file://") {
        return Ok(Source::Local(path));
    }
    if let Some(name) = repository
        .strip_prefix('@')
        .or_else(|| repository.strip_prefix("alias:"))
    {
        return Ok(Source::Named(name));
    }
    let oci = repository.starts_with("oci://");
    if !(oci || repository.starts_with("http://") || repository.starts_with("https://")) {
        return Err(refuse(repository.to_owned(), RepositoryProblem::Scheme));
    }
    let url = url::Url::parse(repository)
        .ok()
        .filter(|url| url.host_str().is_some_and(|host| !host.is_empty()))
        .ok_or_else(|| refuse(repository.to_owned(), RepositoryProblem::NotUrl))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(refuse(redact(&url), RepositoryProblem::Credentials));
    }
    Ok(if oci {
        Source::Oci
    } else {
        Source::Http(repository)
    })
}

/// The repository list and cache of one dependency build, in a directory of their own (mode 0700: entries
/// may hold the operator's credentials), removed when dropped.
struct PrivateRepositories {
    dir: tempfile::TempDir,
    /// URLs of the operator's entries copied in.
    configured: Vec<String>,
}

impl PrivateRepositories {
    /// A fresh list holding the operator's entries (from the repository file helm would read with `env`) whose URL
    /// is among `urls` or whose name is among `names`.
    fn create(
        opts: &RenderOptions,
        env: &Env,
        urls: &[&str],
        names: &BTreeSet<&str>,
    ) -> Result<Self, RenderError> {
        let parent = opts.helm.home.clone().unwrap_or_else(|| temp_dir(opts));
        let dir = std::fs::create_dir_all(&parent)
            .and_then(|()| {
                tempfile::Builder::new()
                    .prefix("helm-dependency-build-")
                    .tempdir_in(&parent)
            })
            .map_err(|source| RenderError::HelmHome {
                path: parent.clone(),
                source,
            })?;
        let mut private = PrivateRepositories {
            dir,
            configured: Vec::new(),
        };
        let operators = env.get("HELM_REPOSITORY_CONFIG").map_or_else(
            || {
                env.get("HELM_CONFIG_HOME")
                    .map(|home| Path::new(home).join("repositories.yaml"))
            },
            |file| Some(PathBuf::from(file)),
        );
        if let Some(operators) = operators {
            private.configured = copy_entries(&operators, &private.config(), urls, names)?;
        }
        Ok(private)
    }

    fn config(&self) -> PathBuf {
        self.dir.path().join("repositories.yaml")
    }

    fn cache_home(&self) -> PathBuf {
        self.dir.path().join("cache")
    }
}

/// Copies into `to` the entries of helm's repository file `from` that [`PrivateRepositories::create`] wants, with
/// the file's other fields; returns their URLs. Nothing when `from` does not exist or no entry is wanted.
fn copy_entries(
    from: &Path,
    to: &Path,
    urls: &[&str],
    names: &BTreeSet<&str>,
) -> Result<Vec<String>, RenderError> {
    let text = match std::fs::read_to_string(from) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(RenderError::Read {
                path: from.to_path_buf(),
                source,
            });
        }
    };
    let bad_file = |message: String| RenderError::HelmRepositoryFile {
        path: from.to_path_buf(),
        message,
    };
    let mut file: serde_norway::Mapping = serde_norway::from_str::<Option<_>>(&text)
        .map_err(|e| bad_file(e.to_string()))?
        .unwrap_or_default();
    let all = match file.get("repositories") {
        None | Some(serde_norway::Value::Null) => return Ok(Vec::new()),
        Some(serde_norway::Value::Sequence(all)) => all.clone(),
        Some(_) => return Err(bad_file("`repositories` is not a list".to_owned())),
    };
    let mut kept = Vec::new();
    let mut urls_kept = Vec::new();
    for value in all {
        let entry: RepositoryEntry =
            serde_norway::from_value(value.clone()).map_err(|e| bad_file(e.to_string()))?;
        if names.contains(entry.name.as_str()) || urls.iter().any(|url| same_url(url, &entry.url)) {
            kept.push(value);
            urls_kept.push(entry.url);
        }
    }
    if kept.is_empty() {
        return Ok(Vec::new());
    }
    file.insert("repositories".into(), serde_norway::Value::Sequence(kept));
    let written = serde_norway::to_string(&file).map_err(|e| bad_file(e.to_string()))?;
    std::fs::write(to, written).map_err(|source| RenderError::Write {
        path: to.to_path_buf(),
        source,
    })?;
    Ok(urls_kept)
}

/// What [`copy_entries`] reads of an entry of helm's repository file.
#[derive(Deserialize)]
struct RepositoryEntry {
    name: String,
    url: String,
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
fn check_local_dependencies<'a>(
    dir: &Path,
    root: &Path,
    local: impl IntoIterator<Item = (&'a PathBuf, &'a ChartDependency, &'a str)>,
) -> Result<(), RenderError> {
    let read_error = |path: &Path| {
        let path = path.to_path_buf();
        move |source| RenderError::Read { path, source }
    };
    let dir_abs = std::path::absolute(dir).map_err(read_error(dir))?;
    let root_abs = std::path::absolute(root).map_err(read_error(root))?;
    let root_resolved = root_abs.canonicalize().map_err(read_error(&root_abs))?;
    for (file, dependency, path) in local {
        let written = normalize(&dir_abs.join(path));
        let inside = written.starts_with(normalize(&root_abs))
            && written
                .canonicalize()
                .map_or(true, |resolved| resolved.starts_with(&root_resolved));
        if !inside {
            return Err(RenderError::DependencyOutside {
                name: dependency.name.clone(),
                chart_file: file.clone(),
                repository: format!("file://{path}"),
                root: root.to_path_buf(),
            });
        }
    }
    Ok(())
}

/// The dependencies listed in those of `files` (in the chart directory `dir`) that exist, each with the file
/// listing it.
fn read_dependencies(
    dir: &Path,
    files: &[&str],
) -> Result<Vec<(PathBuf, ChartDependency)>, RenderError> {
    let mut declared = Vec::new();
    for file in files {
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

#[cfg(test)]
mod tests;
