//! One application's entry validated: its name, repository, revision, path, keys and review branch, and the
//! write-back settings its annotations, parameters and env give.

use super::raw::{RawApp, RawReview};
use super::{
    AppConfig, ConfigError, ConfigProblem, DEFAULT_REVIEW_BRANCH, DEFAULT_REVISION, error,
};
use crate::credential_spec::{is_dns_label, is_secret_name};
use crate::policy::source::{Located, Origin, PREFIX, Settings};
use crate::writeback::{
    BranchTemplate, GitRepository, TargetPath, WriteBack, WriteBackSpec, check_branch_name,
};

/// A repository URL read as `git-repository` is: the write-back key's rules, its words.
pub(super) fn repository(at: &str, url: &str) -> Result<GitRepository, ConfigError> {
    let located = |key: &str, value: &str| Located {
        origin: Origin::Parameter { name: key.into() },
        key: format!("{PREFIX}{key}"),
        value: value.into(),
        entry: false,
    };
    let spec = WriteBackSpec {
        method: Some(located("write-back-method", "git")),
        repository: Some(located("git-repository", url)),
        ..WriteBackSpec::default()
    };
    match spec.build() {
        Ok((write_back, _)) => write_back
            .git()
            .and_then(|git| git.repository.clone())
            .ok_or_else(|| error(at, ConfigProblem::Repository("not a repository URL".into()))),
        Err(e) => Err(error(at, ConfigProblem::Repository(e.problem.to_string()))),
    }
}

/// Whether `text` names a commit rather than a branch: 40 or 64 hex digits.
fn is_commit_id(text: &str) -> bool {
    matches!(text.len(), 40 | 64) && text.bytes().all(|b| b.is_ascii_hexdigit())
}

pub(super) fn app_config(at: &str, raw: RawApp) -> Result<AppConfig, ConfigError> {
    let key = |key: &str| format!("{at}.{key}");
    let name_ok = match raw.name.split_once('_') {
        Some((namespace, name)) => is_dns_label(namespace) && is_secret_name(name),
        None => is_secret_name(&raw.name),
    };
    if !name_ok {
        return Err(error(key("name"), ConfigProblem::AppName(raw.name)));
    }
    if let Some(namespace) = raw.namespace.as_ref().filter(|ns| !is_dns_label(ns)) {
        return Err(error(
            key("namespace"),
            ConfigProblem::Namespace(namespace.clone()),
        ));
    }
    let repository = repository(&key("repository"), &raw.repository)?;
    let target_revision = raw
        .target_revision
        .unwrap_or_else(|| DEFAULT_REVISION.to_string());
    let revision_problem = if target_revision == DEFAULT_REVISION {
        None
    } else if target_revision.starts_with("refs/") {
        Some(ConfigProblem::RevisionRef(target_revision.clone()))
    } else if is_commit_id(&target_revision) {
        Some(ConfigProblem::RevisionCommit(target_revision.clone()))
    } else {
        check_branch_name(&target_revision)
            .err()
            .map(ConfigProblem::Revision)
    };
    if let Some(problem) = revision_problem {
        return Err(error(key("targetRevision"), problem));
    }
    let path = app_path(&key("path"), raw.path.as_deref().unwrap_or("."))?;
    for (name, pairs) in [("parameters", &raw.parameters), ("env", &raw.env)] {
        for (n, _) in &pairs.0 {
            if n.is_empty() {
                return Err(error(key(name), ConfigProblem::EmptyName));
            }
            if name == "env" && n.contains(|c: char| c == '=' || c.is_control()) {
                return Err(error(key(name), ConfigProblem::EnvName(n.clone())));
            }
        }
    }
    // An annotation and a parameter setting one key would be one source setting it twice.
    let parameter_names: Vec<&str> = raw.parameters.0.iter().map(|(n, _)| n.as_str()).collect();
    if let Some((parameter, annotation)) = super::annotation_and_parameter(
        raw.annotations.0.iter().map(|(n, _)| n.as_str()),
        &parameter_names,
    ) {
        return Err(error(
            format!("{at}.parameters.{parameter}"),
            ConfigProblem::KeyTwice {
                key: annotation
                    .strip_prefix(PREFIX)
                    .unwrap_or(annotation)
                    .to_string(),
                other: format!("{at}.annotations.{annotation}"),
            },
        ));
    }
    let mut app = AppConfig {
        name: raw.name,
        namespace: raw.namespace,
        repository,
        target_revision,
        path,
        annotations: raw.annotations.0,
        parameters: raw.parameters.0,
        env: raw.env.0,
        write_back: WriteBack::default(),
        review_branch: None,
    };
    let request = app.request();
    let parameters = Settings::from_parameters(request.parameters)
        .map_err(|e| error(at, ConfigProblem::Policy(Box::new(e))))?;
    let env = Settings::from_env(request.plugin_env)
        .map_err(|e| error(key("env"), ConfigProblem::Policy(Box::new(e))))?;
    let (write_back, _) = parameters
        .overridden_by(&env)
        .write_back_spec()
        .build()
        .map_err(|e| error(at, ConfigProblem::WriteBack(Box::new(e))))?;
    app.write_back = write_back;
    app.review_branch = match raw.review_branch {
        None | Some(RawReview::Flag(false)) => None,
        Some(RawReview::Flag(true)) => Some(
            BranchTemplate::parse(DEFAULT_REVIEW_BRANCH)
                .map_err(|e| error(key("reviewBranch"), ConfigProblem::ReviewBranch(e)))?,
        ),
        Some(RawReview::Template(text)) => {
            let template = BranchTemplate::parse(&text)
                .map_err(|e| error(key("reviewBranch"), ConfigProblem::ReviewBranch(e)))?;
            if template.is_static() {
                check_branch_name(template.as_str())
                    .map_err(|e| error(key("reviewBranch"), ConfigProblem::ReviewBranch(e)))?;
                if template.as_str() == app.target_revision {
                    return Err(error(
                        key("reviewBranch"),
                        ConfigProblem::ReviewIsTarget(app.target_revision),
                    ));
                }
            }
            Some(template)
        }
    };
    if app.review_branch.is_some()
        && let Some(git) = app.write_back.git()
        && let Some(write) = &git.branch.write
    {
        return Err(error(
            key("reviewBranch"),
            ConfigProblem::ReviewAndGitBranch(write.to_string()),
        ));
    }
    Ok(app)
}

/// `spec.source.path` normalised from the repository's root: `.` for the root itself.
pub(in crate::commit) fn app_path(at: &str, path: &str) -> Result<String, ConfigError> {
    if path.starts_with('/') {
        return Err(error(at, ConfigProblem::PathAbsolute(path.to_string())));
    }
    if path.chars().any(char::is_control) {
        return Err(error(
            at,
            ConfigProblem::Path(format!(
                "'{}' holds a control character",
                crate::escape::escape(path)
            )),
        ));
    }
    let normal = TargetPath::Repo(path.to_string())
        .in_repo("")
        .map_err(|_| {
            error(
                at,
                ConfigProblem::Path(format!(
                    "'{path}' leaves the repository; write a path inside it"
                )),
            )
        })?;
    Ok(if normal.is_empty() {
        ".".to_string()
    } else {
        normal
    })
}
