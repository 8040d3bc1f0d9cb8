//! `explain`'s write-back section: how the application's resolved tags reach the cluster (render time, or the
//! committer's git target, branch, repository and credentials) and the keys that said so.

use serde::Serialize;

use super::{OriginReport, origin_reports, text::row};
use crate::writeback::{GitCredentials, Method, Target, TargetPath, WriteBack};

/// The write-back settings as `explain` reports them.
#[derive(Serialize)]
pub(super) struct WriteBackReport {
    /// `render-time` or `git`.
    method: &'static str,
    /// One line, as the text output shows it.
    summary: String,
    /// For `git`: `lock-file`, `kustomization` or `helm-values`, and the path as written (`null` for the lock file).
    target: Option<TargetReport>,
    /// For `git`: the branch to check out (`null`: the Application's target revision) and the push template.
    base_branch: Option<String>,
    write_branch: Option<String>,
    /// For `git`: `null` means the Application's source repository.
    repository: Option<String>,
    credentials: Option<GitCredentials>,
    origins: Vec<OriginReport>,
}

#[derive(Serialize)]
struct TargetReport {
    kind: &'static str,
    path: Option<String>,
}

impl WriteBackReport {
    pub(super) fn of(write_back: &WriteBack) -> WriteBackReport {
        let git = write_back.git();
        let target = git.map(|git| {
            let (kind, path) = match &git.target {
                Target::LockFile => ("lock-file", None),
                Target::Kustomization(path) => ("kustomization", Some(path)),
                Target::HelmValues(path) => ("helm-values", Some(path)),
            };
            TargetReport {
                kind,
                path: path.map(TargetPath::to_string),
            }
        });
        WriteBackReport {
            method: match write_back.method {
                Method::RenderTime => "render-time",
                Method::Git(_) => "git",
            },
            summary: write_back.method.to_string(),
            target,
            base_branch: git.and_then(|g| g.branch.base.clone()),
            write_branch: git.and_then(|g| g.branch.write.as_ref().map(ToString::to_string)),
            repository: git.and_then(|g| g.repository.as_ref().map(ToString::to_string)),
            credentials: git.map(|g| g.credentials.clone()),
            origins: origin_reports(&write_back.origins),
        }
    }

    /// The text section: the summary, then each key with where it was written.
    pub(super) fn rows(&self, out: &mut String) {
        out.push_str("write-back\n");
        row(out, "method", &self.summary);
        for origin in &self.origins {
            let value = origin.value.as_deref().unwrap_or("?");
            row(
                out,
                "",
                &format!("{} = {value}   ({})", origin.key, origin.text),
            );
        }
        out.push('\n');
    }
}
