//! The application's write-back settings — argocd-image-updater's `write-back-method`, `write-back-target`,
//! `git-branch` and `git-repository` — validated once into a [`WriteBack`], each error naming the key, its value
//! and where it was written.
//!
//! Semantics follow argocd-image-updater's (`pkg/argocd/argocd.go` `newWBCFromSettings`, `update.go`
//! `parseTarget`/`parseKustomizeBase`/`parseGitConfig`, `gitcreds.go`), with its silent fallbacks turned into
//! errors: an unknown method, a target that is neither `kustomization[:path]` nor `helmvalues[:path]`, a branch with
//! more than one `:`.

use std::fmt;

use serde::Serialize;
use thiserror::Error;

use super::branch::{BranchProblem, BranchTemplate, check_branch_name};
use super::image::ValuePathError;
use crate::credential_spec::{SecretScope, is_dns_label, is_secret_name};
use crate::policy::source::{KeyOrigin, Located};

/// The file the lock-file target is: what `write-back-method: git` without a target edits, in the app directory.
pub const LOCK_FILE: &str = "image-resolver.lock.yaml";

/// The values file `helmvalues` without a path names, in the app directory (argocd-image-updater's default).
pub const DEFAULT_VALUES_FILE: &str = "values.yaml";

/// What an application's write-back keys say, validated.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WriteBack {
    pub method: Method,
    /// Each write-back key that shaped it, in the order `write-back-method`, `write-back-target`, `git-branch`,
    /// `git-repository`: what `explain` shows.
    pub origins: Vec<KeyOrigin>,
}

/// How resolved tags reach the cluster.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Method {
    /// `write-back-method: argocd`, or none: tags are resolved while Argo CD renders; nothing is written to git.
    /// (argocd-image-updater's `argocd` method edits the Application instead; rendering is where this plugin
    /// acts.)
    #[default]
    RenderTime,
    /// `write-back-method: git[:<credentials>]`: the committer records the tags in git.
    Git(GitWriteBack),
}

/// Where and how the committer writes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GitWriteBack {
    pub credentials: GitCredentials,
    pub target: Target,
    pub branch: GitBranch,
    /// `git-repository`; `None`: the Application's source repository.
    pub repository: Option<GitRepository>,
}

/// Which credentials push to the repository: the part of `write-back-method` after `git:`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum GitCredentials {
    /// `git` or `git:repocreds`: the credentials Argo CD has for the repository.
    RepoCreds,
    /// `git:secret:[<namespace>/]<name>`: a secret holding `username`/`password` or `sshPrivateKey`. Without a
    /// namespace, the application's destination namespace.
    Secret {
        namespace: Option<String>,
        name: String,
    },
}

/// The file the committer edits: `write-back-target`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// No `write-back-target`: [`LOCK_FILE`] in the app directory.
    LockFile,
    /// `kustomization[:<directory>]`: the `images:` of the kustomization file in that directory (the app
    /// directory by default), as `kustomize edit set image` would.
    Kustomization(TargetPath),
    /// `helmvalues[:<file>]`: image values in that values file ([`DEFAULT_VALUES_FILE`] in the app directory by
    /// default).
    HelmValues(TargetPath),
}

/// A path of a write-back target, as written, validated as far as it can be without the repository.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TargetPath {
    /// Relative to the application's directory (`spec.source.path`): `../base`, `values.yaml`, `.`.
    App(String),
    /// From the repository's root: written with a leading `/`, kept without it.
    Repo(String),
}

/// `git-branch`: the branch to check out, and where to push.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GitBranch {
    /// The branch to check out and base commits on; `None`: the Application's target revision. `HEAD` means the
    /// remote's default branch.
    pub base: Option<String>,
    /// `base:<template>`: push to this branch (created from `base` when missing) instead of `base`.
    pub write: Option<BranchTemplate>,
}

/// `git-repository`: where to push instead of the Application's source repository, without credentials.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GitRepository {
    url: String,
    transport: Transport,
}

/// How git reaches a [`GitRepository`]: the committer may refuse some (the operator's choice).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Transport {
    Https,
    Http,
    /// `ssh://…` or the scp-like `user@host:path`.
    Ssh,
    Git,
    File,
}

/// Why a write-back key cannot be used: the key, value and source at fault, and the problem.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("{at}: {problem}")]
pub struct WriteBackError {
    pub at: Box<Located>,
    pub problem: Problem,
}

/// What is wrong with a write-back value, worded to follow `<where>: `.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum Problem {
    #[error(
        "unknown write-back method; use 'argocd' (tags resolved at render time, nothing written back) or \
         'git', 'git:repocreds', 'git:secret:[<namespace>/]<name>'"
    )]
    Method,
    #[error(
        "unknown git credentials '{0}'; use git (Argo CD's repository credentials), git:repocreds or \
         git:secret:[<namespace>/]<name>"
    )]
    Credentials(String),
    #[error("{0}")]
    SecretName(String),
    #[error(
        "unknown write-back target; use kustomization[:<directory>] or helmvalues[:<values file>] (relative to the \
         application's directory, or from the repository's root with a leading '/'), or leave it unset to write \
         {LOCK_FILE}; argocd-image-updater's other targets are files of Argo CD parameter overrides, which a \
         plugin source cannot use"
    )]
    Target,
    #[error("nothing follows '{0}:'; write '{0}' alone for the default")]
    EmptyTargetPath(&'static str),
    #[error("{0}")]
    TargetPath(String),
    #[error("more than one ':'; write <branch>, or <base branch>:<branch to push to>")]
    BranchShape,
    #[error("{0}")]
    Branch(BranchProblem),
    #[error("{0}")]
    Repository(String),
    #[error("{0}")]
    SecretNamespace(String),
    #[error("{0}")]
    ValuePath(ValuePathError),
}

/// The write-back keys as the sources gave them (the latest source's value of each), not yet validated.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WriteBackSpec {
    pub method: Option<Located>,
    pub target: Option<Located>,
    pub branch: Option<Located>,
    pub repository: Option<Located>,
}

impl WriteBackSpec {
    /// Validates the keys into a [`WriteBack`], with warnings about keys that have no effect (a target, branch or
    /// repository without `write-back-method: git`).
    ///
    /// ```
    /// use argocd_image_resolver_core::policy::source::{Located, Origin};
    /// use argocd_image_resolver_core::writeback::{Method, Target, TargetPath, WriteBackSpec};
    ///
    /// let at = |key: &str, value: &str| Located {
    ///     origin: Origin::Parameter { name: key.into() },
    ///     key: format!("argocd-image-updater.argoproj.io/{key}"),
    ///     value: value.into(),
    ///     entry: false,
    /// };
    /// let spec = WriteBackSpec {
    ///     method: Some(at("write-back-method", "git")),
    ///     target: Some(at("write-back-target", "kustomization:../base")),
    ///     ..WriteBackSpec::default()
    /// };
    /// let (write_back, warnings) = spec.build().unwrap();
    /// let Method::Git(git) = write_back.method else { panic!() };
    /// assert_eq!(git.target, Target::Kustomization(TargetPath::App("../base".into())));
    /// assert!(warnings.is_empty());
    ///
    /// let bad = WriteBackSpec { method: Some(at("write-back-method", "gti")), ..WriteBackSpec::default() };
    /// assert!(bad.build().unwrap_err().to_string().starts_with(
    ///     "parameter write-back-method = 'gti': unknown write-back method"
    /// ));
    /// ```
    ///
    /// # Errors
    ///
    /// The first key whose value is invalid, whatever the method (so a typo never waits until `git` is set).
    pub fn build(&self) -> Result<(WriteBack, Vec<String>), WriteBackError> {
        let error = |at: &Located, problem| WriteBackError {
            at: Box::new(at.clone()),
            problem,
        };
        let git_credentials = match &self.method {
            None => None,
            Some(at) => parse_method(&at.value).map_err(|p| error(at, p))?,
        };
        let target = match &self.target {
            None => Target::LockFile,
            Some(at) => parse_target(&at.value).map_err(|p| error(at, p))?,
        };
        let branch = match &self.branch {
            None => GitBranch::default(),
            Some(at) => parse_branch(&at.value).map_err(|p| error(at, p))?,
        };
        let repository = match &self.repository {
            None => None,
            Some(at) => Some(GitRepository::parse(&at.value).map_err(|p| error(at, p))?),
        };
        let mut warnings = Vec::new();
        let method = match git_credentials {
            Some(credentials) => Method::Git(GitWriteBack {
                credentials,
                target,
                branch,
                repository,
            }),
            None => {
                let why = match &self.method {
                    Some(_) => {
                        "write-back-method 'argocd' resolves tags at render time and writes nothing back"
                    }
                    None => {
                        "no write-back-method is set, so tags are resolved at render time and nothing is written \
                         back; set write-back-method: git to record them in git"
                    }
                };
                for at in [&self.target, &self.branch, &self.repository]
                    .into_iter()
                    .flatten()
                {
                    warnings.push(format!("{at}: has no effect: {why}"));
                }
                Method::RenderTime
            }
        };
        let origins = [&self.method, &self.target, &self.branch, &self.repository]
            .into_iter()
            .flatten()
            .map(|at| KeyOrigin {
                key: at.key.clone(),
                value: at.value.clone(),
                origin: at.origin.clone(),
            })
            .collect();
        Ok((WriteBack { method, origins }, warnings))
    }
}

impl WriteBack {
    /// Refuses credentials in a namespace the application may not use: as with pull secrets, its own destination
    /// namespace and those the operator shares. Only where the destination is known.
    ///
    /// # Errors
    ///
    /// `git:secret:<namespace>/<name>` names a namespace outside `scope`.
    pub fn check_scope(&self, scope: &SecretScope) -> Result<(), WriteBackError> {
        let Method::Git(git) = &self.method else {
            return Ok(());
        };
        let GitCredentials::Secret {
            namespace: Some(namespace),
            ..
        } = &git.credentials
        else {
            return Ok(());
        };
        let Some(destination) = scope.destination() else {
            return Ok(());
        };
        if scope.permits(namespace) {
            return Ok(());
        }
        let at = self
            .origins
            .first()
            .map(KeyOrigin::located)
            .unwrap_or_else(|| Located {
                origin: crate::policy::source::Origin::Parameter {
                    name: "write-back-method".into(),
                },
                key: format!("{}write-back-method", crate::policy::source::PREFIX),
                value: String::new(),
                entry: false,
            });
        Err(WriteBackError {
            at: Box::new(at),
            problem: Problem::SecretNamespace(format!(
                "the git credentials are in namespace {namespace}, but an application deploying to namespace \
                 {destination} may only use secrets of {destination} and of the namespaces the operator shares \
                 (--pull-secret-namespaces); use a secret of {destination}, or ask the operator to share \
                 {namespace}"
            )),
        })
    }

    /// The git settings, when tags are written to git.
    pub fn git(&self) -> Option<&GitWriteBack> {
        match &self.method {
            Method::Git(git) => Some(git),
            Method::RenderTime => None,
        }
    }

    /// The source file the committer edits, when it edits one (`write-back-method: git` with a
    /// `write-back-target` of `kustomization[:path]` or `helmvalues[:path]`): then the source, not a registry,
    /// says which tag each tracked image runs, and `generate` renders it as written. `None` at render time and for
    /// the lock file target.
    pub fn source_target(&self) -> Option<&Target> {
        self.git()
            .map(|git| &git.target)
            .filter(|target| !matches!(target, Target::LockFile))
    }
}

/// `argocd` → `None`; `git[:<credentials>]` → the credentials (argocd-image-updater's split at the first `:`).
fn parse_method(value: &str) -> Result<Option<GitCredentials>, Problem> {
    if value == "argocd" {
        return Ok(None);
    }
    let (method, credentials) = match value.split_once(':') {
        Some((method, credentials)) => (method, Some(credentials)),
        None => (value, None),
    };
    if method != "git" {
        return Err(Problem::Method);
    }
    let Some(credentials) = credentials else {
        return Ok(Some(GitCredentials::RepoCreds));
    };
    if credentials == "repocreds" {
        return Ok(Some(GitCredentials::RepoCreds));
    }
    let Some(secret) = credentials.strip_prefix("secret:") else {
        return Err(Problem::Credentials(credentials.to_string()));
    };
    let (namespace, name) = match secret.split_once('/') {
        Some((namespace, name)) => (Some(namespace), name),
        None => (None, secret),
    };
    if let Some(namespace) = namespace.filter(|ns| !is_dns_label(ns)) {
        return Err(Problem::SecretName(format!(
            "'{namespace}' is not a namespace name (lower-case letters, digits and '-', at most 63 characters)"
        )));
    }
    if !is_secret_name(name) {
        return Err(Problem::SecretName(format!(
            "'{name}' is not a secret name (lower-case letters, digits, '-' and '.', at most 253 characters); \
             write git:secret:[<namespace>/]<name>"
        )));
    }
    Ok(Some(GitCredentials::Secret {
        namespace: namespace.map(String::from),
        name: name.to_string(),
    }))
}

fn parse_target(value: &str) -> Result<Target, Problem> {
    for (kind, make) in [
        (
            "kustomization",
            Target::Kustomization as fn(TargetPath) -> Target,
        ),
        ("helmvalues", Target::HelmValues),
    ] {
        let Some(rest) = value.strip_prefix(kind) else {
            continue;
        };
        let file = kind == "helmvalues";
        if rest.is_empty() {
            return Ok(make(TargetPath::App(
                if file { DEFAULT_VALUES_FILE } else { "." }.to_string(),
            )));
        }
        let Some(path) = rest.strip_prefix(':') else {
            break;
        };
        if path.is_empty() {
            return Err(Problem::EmptyTargetPath(kind));
        }
        return TargetPath::parse(path, file).map(make);
    }
    Err(Problem::Target)
}

fn parse_branch(value: &str) -> Result<GitBranch, Problem> {
    let mut parts = value.split(':');
    let (base, write) = (parts.next().unwrap_or_default(), parts.next());
    if parts.next().is_some() {
        return Err(Problem::BranchShape);
    }
    let base = (!base.is_empty()).then_some(base);
    if let Some(base) = base
        && base != "HEAD"
    {
        check_branch_name(base).map_err(Problem::Branch)?;
    }
    let write = match write.filter(|w| !w.is_empty()) {
        Some(template) => {
            let template = BranchTemplate::parse(template).map_err(Problem::Branch)?;
            if template.is_static() {
                check_branch_name(template.as_str()).map_err(Problem::Branch)?;
            }
            Some(template)
        }
        None => None,
    };
    Ok(GitBranch {
        base: base.map(String::from),
        write,
    })
}

impl TargetPath {
    /// `path` as written after `kustomization:` or `helmvalues:`; `file`: it must name a file (a values file).
    fn parse(path: &str, file: bool) -> Result<TargetPath, Problem> {
        if path.chars().any(char::is_control) {
            return Err(Problem::TargetPath(
                "the path holds a control character".to_string(),
            ));
        }
        let target = match path.strip_prefix('/') {
            Some(in_repo) => TargetPath::Repo(in_repo.to_string()),
            None => TargetPath::App(path.to_string()),
        };
        if let TargetPath::Repo(in_repo) = &target {
            // Checked now: it does not depend on where the application is.
            normalise(&[], in_repo).ok_or_else(|| {
                Problem::TargetPath(format!(
                    "'{path}' leaves the repository; write a path inside it"
                ))
            })?;
        }
        if file && (path.ends_with('/') || matches!(path.rsplit('/').next(), Some("." | ".."))) {
            return Err(Problem::TargetPath(format!(
                "'{path}' names a directory; helmvalues needs the values file, such as {path}{}values.yaml",
                if path.ends_with('/') { "" } else { "/" }
            )));
        }
        Ok(target)
    }

    /// The path from the repository's root, given the application's directory there (`spec.source.path`,
    /// `ARGOCD_APP_SOURCE_PATH`): normalised, `""` for the root itself.
    ///
    /// ```
    /// use argocd_image_resolver_core::writeback::TargetPath;
    ///
    /// assert_eq!(TargetPath::App("../base".into()).in_repo("apps/web/overlays/prod").unwrap(), "apps/web/overlays/base");
    /// assert_eq!(TargetPath::Repo("config/values.yaml".into()).in_repo("apps/web").unwrap(), "config/values.yaml");
    /// assert!(TargetPath::App("../../..".into()).in_repo("apps/web").is_err());
    /// ```
    ///
    /// # Errors
    ///
    /// The path leads out of the repository.
    pub fn in_repo(&self, app_dir: &str) -> Result<String, String> {
        let (base, path): (Vec<&str>, &str) = match self {
            TargetPath::App(path) => (app_dir.split('/').filter(|s| !s.is_empty()).collect(), path),
            TargetPath::Repo(path) => (Vec::new(), path),
        };
        let base = normalise(&[], &base.join("/")).ok_or_else(|| {
            format!("the application's directory '{app_dir}' leaves the repository")
        })?;
        let base: Vec<&str> = base.iter().map(String::as_str).collect();
        normalise(&base, path)
            .map(|parts| parts.join("/"))
            .ok_or_else(|| format!("'{self}' leaves the repository from '{app_dir}'"))
    }
}

/// `path` (`/`-separated) joined to `base` with `.` and `..` worked out; `None` when `..` climbs above the root.
fn normalise(base: &[&str], path: &str) -> Option<Vec<String>> {
    let mut parts: Vec<String> = base.iter().map(|s| (*s).to_string()).collect();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            part => parts.push(part.to_string()),
        }
    }
    Some(parts)
}

impl GitRepository {
    /// Reads a repository URL as git does: `https://`, `http://`, `ssh://`, `git://`, `file://`, or scp-like
    /// `user@host:path`. Refused: credentials in the URL (it is shown in logs and messages; they belong in a
    /// secret), a query or fragment (`?access_token=…`, a credential too), git's remote helpers (`ext::…` runs a
    /// command), options (`-…`), local paths and white space. Messages show the value through [`Located`], which
    /// redacts all of these.
    fn parse(value: &str) -> Result<GitRepository, Problem> {
        const CREDENTIALS: &str = "credentials do not belong in the repository URL, which logs and messages show; \
                                   remove them and name a secret: write-back-method: git:secret:[<namespace>/]<name>";
        let refuse = |why: &str| Err(Problem::Repository(why.to_string()));
        if value.starts_with('-') {
            return refuse("a repository URL cannot start with '-'");
        }
        if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return refuse("a repository URL holds no white space or control characters");
        }
        if let Some((scheme, rest)) = value.split_once("://") {
            let transport = match scheme.to_ascii_lowercase().as_str() {
                "https" => Transport::Https,
                "http" => Transport::Http,
                "ssh" => Transport::Ssh,
                "git" => Transport::Git,
                "file" => Transport::File,
                _ => {
                    return refuse(
                        "unknown transport; use https://, http://, ssh://, git://, file:// or user@host:path",
                    );
                }
            };
            let authority = rest.split('/').next().unwrap_or_default();
            if transport != Transport::File && authority.is_empty() {
                return refuse("the URL names no host");
            }
            if let Some((userinfo, _)) = authority.rsplit_once('@') {
                let secret = match transport {
                    // A token passes as a user name over HTTP(S).
                    Transport::Https | Transport::Http => true,
                    _ => userinfo.contains(':'),
                };
                if secret {
                    return refuse(CREDENTIALS);
                }
            }
            if rest.contains(['?', '#']) {
                return refuse(
                    "a query or fragment does not belong in the repository URL: a token there is a credential, \
                     which logs and messages show; remove it and name a secret: write-back-method: \
                     git:secret:[<namespace>/]<name>",
                );
            }
            return Ok(GitRepository {
                url: value.to_string(),
                transport,
            });
        }
        if value.contains("::") {
            return refuse("git's remote helpers (<transport>::<address>) are not accepted");
        }
        // scp-like: `[user@]host:path`, with no `/` before the `:`. git reads `user:password@host:path` as host
        // `user`, path `password@host:path`: refused as the credentials it was meant to hold.
        if value
            .split_once(':')
            .is_some_and(|(host, path)| !host.contains('/') && path.contains('@'))
        {
            return refuse(CREDENTIALS);
        }
        match value.split_once(':') {
            Some((host, path)) if !host.is_empty() && !host.contains('/') && !path.is_empty() => {
                Ok(GitRepository {
                    url: value.to_string(),
                    transport: Transport::Ssh,
                })
            }
            _ => refuse(
                "not a repository URL; use https://…, ssh://…, git://…, file://… or user@host:path",
            ),
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn transport(&self) -> Transport {
        self.transport
    }
}

impl fmt::Display for GitRepository {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.url)
    }
}

impl fmt::Display for TargetPath {
    /// As written: relative, or with its leading `/`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TargetPath::App(path) => f.write_str(path),
            TargetPath::Repo(path) => write!(f, "/{path}"),
        }
    }
}

impl Target {
    /// The `write-back-target` value that selects this target, in its shortest form: `kustomization`,
    /// `kustomization:../base`, `helmvalues`, `helmvalues:/env/values.yaml`; `None` for the lock file (no target).
    ///
    /// ```
    /// use argocd_image_resolver_core::writeback::{Target, TargetPath};
    ///
    /// assert_eq!(Target::Kustomization(TargetPath::App(".".into())).key_value().as_deref(), Some("kustomization"));
    /// assert_eq!(
    ///     Target::HelmValues(TargetPath::Repo("env/values.yaml".into())).key_value().as_deref(),
    ///     Some("helmvalues:/env/values.yaml")
    /// );
    /// assert_eq!(Target::LockFile.key_value(), None);
    /// ```
    pub fn key_value(&self) -> Option<String> {
        let (kind, path, default) = match self {
            Target::LockFile => return None,
            Target::Kustomization(path) => ("kustomization", path, "."),
            Target::HelmValues(path) => ("helmvalues", path, DEFAULT_VALUES_FILE),
        };
        Some(match path {
            TargetPath::App(p) if p == default => kind.to_string(),
            path => format!("{kind}:{path}"),
        })
    }
}

impl fmt::Display for Target {
    /// What the committer edits, in words.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::LockFile => write!(
                f,
                "the lock file {LOCK_FILE} in the application's directory"
            ),
            Target::Kustomization(TargetPath::App(path)) if path == "." => {
                f.write_str("the images of the kustomization in the application's directory")
            }
            Target::Kustomization(path) => write!(f, "the images of the kustomization in {path}"),
            Target::HelmValues(path) => {
                write!(f, "the image values of the Helm values file {path}")
            }
        }
    }
}

impl fmt::Display for GitCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GitCredentials::RepoCreds => f.write_str("Argo CD's repository credentials"),
            GitCredentials::Secret {
                namespace: Some(namespace),
                name,
            } => write!(f, "secret {namespace}/{name}"),
            GitCredentials::Secret {
                namespace: None,
                name,
            } => write!(
                f,
                "secret {name} of the application's destination namespace"
            ),
        }
    }
}

impl fmt::Display for GitBranch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.base {
            Some(base) if base == "HEAD" => f.write_str("the repository's default branch")?,
            Some(base) => write!(f, "branch {base}")?,
            None => f.write_str("the Application's target revision")?,
        }
        if let Some(write) = &self.write {
            write!(f, ", pushed to branch {write}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Method {
    /// One line: `render time (nothing is written back)`, or the git settings.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Method::RenderTime => f.write_str(
                "render time: tags are resolved while Argo CD renders; nothing is written back",
            ),
            Method::Git(git) => {
                write!(
                    f,
                    "git: {}; {}; repository {}; credentials: {}",
                    git.target,
                    git.branch,
                    git.repository
                        .as_ref()
                        .map_or("of the Application's source", |r| r.url()),
                    git.credentials
                )
            }
        }
    }
}
