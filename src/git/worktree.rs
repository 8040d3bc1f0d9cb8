//! A work tree of the user's own — `explain` run in a checkout —, asked about its history only: nothing is fetched,
//! written or configured, and a directory outside any repository is no error (there is simply no history).

use std::path::{Path, PathBuf};
use std::time::Instant;

use super::history::{FORMAT, parse_log};
use super::{CommitInfo, Git, GitCredentials, GitError, Remote, RemoteUrl, RepoPath};

/// A local work tree, found from a directory inside it.
#[derive(Debug)]
pub struct WorkTree {
    git: Git,
    top: PathBuf,
    /// The work tree as a remote: only to build git's isolated environment (no credentials, no network).
    remote: Remote,
}

impl Git {
    /// The work tree `dir` is in, or `None` when it is in none (or git cannot tell).
    pub async fn work_tree(&self, dir: &Path, deadline: Instant) -> Option<WorkTree> {
        let remote = Remote::new(
            RemoteUrl::parse(&format!("file://{}", dir.display())).ok()?,
            GitCredentials::None,
        )
        .ok()?;
        let command = self
            .command(&remote, None, None)
            .ok()?
            .current_dir(dir)
            .args(["rev-parse", "--show-toplevel"]);
        let done = command.output(deadline).await.ok()?;
        if !done.status.success() {
            return None;
        }
        let top = PathBuf::from(String::from_utf8(done.stdout).ok()?.trim_end_matches('\n'));
        Some(WorkTree {
            git: self.clone(),
            top,
            remote,
        })
    }
}

impl WorkTree {
    /// The work tree's top directory.
    pub fn top(&self) -> &Path {
        &self.top
    }

    /// The newest commit of the checked-out history that changed `path` and whose message holds `needle`.
    pub async fn last_commit_mentioning(
        &self,
        path: &RepoPath,
        needle: &str,
        deadline: Instant,
    ) -> Result<Option<CommitInfo>, GitError> {
        let command = self
            .git
            .command(&self.remote, None, None)?
            .current_dir(&self.top)
            .args([
                "log",
                "-z",
                FORMAT,
                "--fixed-strings",
                &format!("--grep={needle}"),
                "--max-count=1",
                "HEAD",
                "--",
                path.as_str(),
            ]);
        let done = command.output(deadline).await.map_err(GitError::Tool)?;
        if !done.status.success() {
            // No commit yet, or a history git cannot read: nothing to report.
            return Ok(None);
        }
        Ok(parse_log(&String::from_utf8_lossy(&done.stdout))?
            .into_iter()
            .next())
    }
}
