//! Pushing: the checked-out branch never by force (a rejected push is [`GitError::PushRejected`], for the caller
//! to refresh, re-apply its edit and retry), a review branch the caller owns with `--force-with-lease` only; and
//! asking the remote where a branch is.

use std::fmt;
use std::time::Instant;

use super::{BranchName, Checkout, GitError, Oid, Run};

/// Where a review branch must be for a push to replace it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lease {
    /// The branch must not exist yet.
    Absent,
    /// The branch must be at this commit (as [`Checkout::remote_tip`] reported it).
    At(Oid),
}

impl fmt::Display for Lease {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Lease::Absent => f.write_str("not existing"),
            Lease::At(oid) => write!(f, "at {oid}"),
        }
    }
}

/// One ref's line of `git push --porcelain`: `<flag> TAB <src>:<dst> TAB <summary>`.
#[derive(Debug, PartialEq, Eq)]
struct RefStatus {
    flag: char,
    summary: String,
}

/// The status line of `dst` in `git push --porcelain`'s stdout.
fn ref_status(stdout: &str, dst: &str) -> Option<RefStatus> {
    stdout.lines().find_map(|line| {
        let mut parts = line.splitn(3, '\t');
        let flag = parts.next()?;
        let refs = parts.next()?;
        let summary = parts.next().unwrap_or_default();
        let mut chars = flag.chars();
        let (Some(flag), None) = (chars.next(), chars.next()) else {
            return None;
        };
        (refs.rsplit_once(':')?.1 == dst).then(|| RefStatus {
            flag,
            summary: summary.to_owned(),
        })
    })
}

/// How a push of one ref ended, read from its status line.
#[derive(Debug, PartialEq, Eq)]
enum Pushed {
    /// Updated, created, or already there.
    Done,
    /// Not a fast-forward (`non-fast-forward`, `fetch first`).
    Behind,
    /// `--force-with-lease` found the ref elsewhere (`stale info`).
    Stale,
    /// Refused by the server (`[remote rejected] (reason)`) or for another reason.
    Declined(String),
}

fn judge(status: &RefStatus) -> Pushed {
    let summary = status.summary.as_str();
    match status.flag {
        ' ' | '*' | '+' | '=' | '-' => Pushed::Done,
        _ if summary.contains("(stale info)") => Pushed::Stale,
        _ if summary.contains("(non-fast-forward)") || summary.contains("(fetch first)") => {
            Pushed::Behind
        }
        _ => Pushed::Declined(
            summary
                .split_once('(')
                .map_or(summary, |(_, reason)| reason.trim_end_matches(')'))
                .to_owned(),
        ),
    }
}

/// Whether a ref update the server declined (`[remote rejected] (failed to update ref)`, or `(failed to lock)` from
/// older servers) failed because another push moved or held the branch meanwhile: git then says `cannot lock ref
/// '<ref>': is at <oid> but expected <oid>` or `… '<ref>.lock': File exists`.
fn lost_ref_race(reason: &str, stderr: &[u8]) -> bool {
    (reason == "failed to update ref" || reason == "failed to lock")
        && String::from_utf8_lossy(stderr).contains("cannot lock ref")
}

impl Checkout {
    /// Pushes the head to the checked-out branch as a fast-forward, never forced. When someone else pushed first
    /// this is [`GitError::PushRejected`]: [`Checkout::refresh`], re-apply the edit, commit and push again.
    pub async fn push(&self, deadline: Instant) -> Result<(), GitError> {
        let branch = self.branch.clone();
        self.push_to(&branch, None, deadline).await?;
        // The clone's idea of the remote follows, as a fetch would have it.
        let update =
            self.command(None)?
                .args(["update-ref", &branch.tracking_ref(), self.head.as_str()]);
        self.run("update-ref")
            .success(&update, deadline, false)
            .await?;
        Ok(())
    }

    /// Pushes the head to `review`, a branch the caller owns (one commit ahead of the target branch), replacing
    /// it only when the remote has it where `lease` says (`--force-with-lease=refs/heads/<review>:<expected>`);
    /// otherwise [`GitError::LeaseBroken`]. Never for the checked-out (target) branch.
    pub async fn push_review(
        &self,
        review: &BranchName,
        lease: &Lease,
        deadline: Instant,
    ) -> Result<(), GitError> {
        self.not_the_target(review)?;
        self.push_to(review, Some(lease), deadline).await
    }

    /// Deletes `review`, a branch the caller owns, when the remote still has it at `at` (else
    /// [`GitError::LeaseBroken`]): a proposal with nothing left to propose. Never the checked-out branch.
    pub async fn delete_review(
        &self,
        review: &BranchName,
        at: &Oid,
        deadline: Instant,
    ) -> Result<(), GitError> {
        self.not_the_target(review)?;
        self.push_ref("", review, Some(&Lease::At(at.clone())), deadline)
            .await
    }

    /// Refuses the checked-out (target) branch as a review branch: it is never force-pushed nor deleted.
    fn not_the_target(&self, review: &BranchName) -> Result<(), GitError> {
        if review == &self.branch {
            return Err(GitError::InvalidBranch {
                branch: review.to_string(),
                reason: "a review branch must not be the target branch, which is never force-pushed nor \
                         deleted"
                    .to_owned(),
            });
        }
        Ok(())
    }

    /// The author's email and the message of `commit`, which the clone has (a tip [`Checkout::fetch_branch`]
    /// fetched).
    pub async fn author_and_message(
        &self,
        commit: &Oid,
        deadline: Instant,
    ) -> Result<(String, String), GitError> {
        let show = self
            .command(None)?
            .args(["cat-file", "commit", commit.as_str()]);
        let out = self.run("cat-file").success(&show, deadline, false).await?;
        let text = String::from_utf8_lossy(&out);
        let (header, message) = text.split_once("\n\n").unwrap_or((&text, ""));
        // `author Name <email> 1700000000 +0000`
        let email = header
            .lines()
            .find_map(|line| line.strip_prefix("author "))
            .and_then(|author| author.split_once('<'))
            .and_then(|(_, rest)| rest.split_once('>'))
            .map_or("", |(email, _)| email);
        Ok((email.to_owned(), message.to_owned()))
    }

    async fn push_to(
        &self,
        branch: &BranchName,
        lease: Option<&Lease>,
        deadline: Instant,
    ) -> Result<(), GitError> {
        self.push_ref(self.head.as_str(), branch, lease, deadline)
            .await
    }

    /// Pushes `source` (a commit; empty: delete) to `branch`.
    async fn push_ref(
        &self,
        source: &str,
        branch: &BranchName,
        lease: Option<&Lease>,
        deadline: Instant,
    ) -> Result<(), GitError> {
        let dst = branch.full_ref();
        let mut push = self.command(None)?.args([
            "push",
            "--porcelain",
            "--no-verify",
            "--no-recurse-submodules",
        ]);
        if let Some(lease) = lease {
            let expected = match lease {
                Lease::Absent => String::new(),
                Lease::At(oid) => oid.to_string(),
            };
            push = push.arg(format!("--force-with-lease={dst}:{expected}"));
        }
        let push = push.args(["--", self.remote.url().as_str(), &format!("{source}:{dst}")]);
        let run = Run {
            remote: &self.remote,
            branch,
            operation: "push",
        };
        let done = run.output(&push, deadline).await?;
        let stdout = String::from_utf8_lossy(&done.stdout);
        let repo = self.remote.url().clone();
        let branch = branch.clone();
        let cause = || super::error::cause_text(&crate::process::trim_stderr(&done.stderr));
        match ref_status(&stdout, &dst).map(|s| judge(&s)) {
            Some(Pushed::Done) if done.status.success() => Ok(()),
            Some(Pushed::Behind) => Err(GitError::PushRejected {
                repo,
                branch,
                cause: cause(),
            }),
            Some(Pushed::Stale) => Err(GitError::LeaseBroken {
                repo,
                branch,
                expected: lease.map_or_else(String::new, ToString::to_string),
            }),
            // Another push updated the branch between this push's look at it and its update: someone pushed
            // first, though the server says it as a failed ref update.
            Some(Pushed::Declined(reason)) if lost_ref_race(&reason, &done.stderr) => {
                Err(GitError::PushRejected {
                    repo,
                    branch,
                    cause: cause(),
                })
            }
            Some(Pushed::Declined(reason)) => Err(GitError::PushDeclined {
                repo,
                branch,
                reason: format!("{reason}: {}", cause()),
            }),
            Some(Pushed::Done) | None => Err(run.failure(&push, &done, true)),
        }
    }

    /// Where the remote has `branch` now (`git ls-remote`), or `None` when it has no such branch: the lease for
    /// [`Checkout::push_review`].
    pub async fn remote_tip(
        &self,
        branch: &BranchName,
        deadline: Instant,
    ) -> Result<Option<Oid>, GitError> {
        let dst = branch.full_ref();
        let ls_remote = self.command(None)?.args([
            "ls-remote",
            "--refs",
            "--",
            self.remote.url().as_str(),
            &dst,
        ]);
        let run = Run {
            remote: &self.remote,
            branch,
            operation: "ls-remote",
        };
        let out = run.success(&ls_remote, deadline, true).await?;
        String::from_utf8_lossy(&out)
            .lines()
            .find_map(|line| {
                let (oid, name) = line.split_once('\t')?;
                (name == dst).then(|| Oid::new(oid))
            })
            .transpose()
    }

    /// Whether `tip`, a branch's tip the clone has ([`Checkout::fetch_branch`]), already holds what the head
    /// holds: the same tree on the same parents (a review branch rebuilt from the same target tip with the same
    /// change).
    pub async fn same_change(&self, tip: &Oid, deadline: Instant) -> Result<bool, GitError> {
        let mut shapes = Vec::new();
        for commit in [self.head.as_str(), tip.as_str()] {
            let show = self.command(None)?.args(["cat-file", "commit", commit]);
            let out = self.run("cat-file").success(&show, deadline, false).await?;
            let text = String::from_utf8_lossy(&out).into_owned();
            // The header up to the author: `tree` and `parent` lines.
            let shape: Vec<String> = text
                .lines()
                .take_while(|line| line.starts_with("tree ") || line.starts_with("parent "))
                .map(str::to_owned)
                .collect();
            shapes.push(shape);
        }
        Ok(shapes[0] == shapes[1])
    }

    /// Fetches `branch` of the remote at depth 1 (into `refs/remotes/origin/<branch>`), so that its files can be
    /// read with [`Checkout::read_file_at`]; its tip, or `None` when the remote has no such branch.
    pub async fn fetch_branch(
        &self,
        branch: &BranchName,
        deadline: Instant,
    ) -> Result<Option<Oid>, GitError> {
        match self.fetch(branch, true, deadline).await {
            Ok(()) => self
                .rev_parse(&branch.tracking_ref(), deadline)
                .await
                .map(Some),
            Err(GitError::BranchNotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ref_update_lost_to_another_push_is_someone_pushing_first() {
        let cases = [
            (
                "moved meanwhile",
                "failed to update ref",
                "remote: error: cannot lock ref 'refs/heads/main': is at e0ae4c1e but expected 88df9321\n",
                true,
            ),
            (
                "held meanwhile",
                "failed to update ref",
                "remote: error: cannot lock ref 'refs/heads/main': Unable to create '/r/refs/heads/main.lock': \
                 File exists.\n",
                true,
            ),
            (
                "older server",
                "failed to lock",
                "remote: error: cannot lock ref 'refs/heads/main'\n",
                true,
            ),
            (
                "disk full",
                "failed to update ref",
                "remote: error: unable to write file: No space left on device\n",
                false,
            ),
            (
                "hook",
                "pre-receive hook declined",
                "remote: cannot lock ref: not yours\n",
                false,
            ),
        ];
        for (name, reason, stderr, want) in cases {
            assert_eq!(
                lost_ref_race(reason, stderr.as_bytes()),
                want,
                "case {name}"
            );
        }
    }

    #[test]
    fn reads_push_porcelain() {
        let dst = "refs/heads/main";
        let cases = [
            (
                "fast-forward",
                "To file:///r\n \tHEAD:refs/heads/main\tabc..def\nDone\n",
                Some(Pushed::Done),
            ),
            (
                "new branch",
                "To x\n*\tabc:refs/heads/main\t[new branch]\nDone\n",
                Some(Pushed::Done),
            ),
            (
                "forced",
                "To x\n+\tabc:refs/heads/main\tabc...def (forced update)\nDone\n",
                Some(Pushed::Done),
            ),
            (
                "up to date",
                "To x\n=\tHEAD:refs/heads/main\t[up to date]\nDone\n",
                Some(Pushed::Done),
            ),
            (
                "fetch first",
                "To x\n!\tHEAD:refs/heads/main\t[rejected] (fetch first)\nDone\n",
                Some(Pushed::Behind),
            ),
            (
                "non-ff",
                "!\tHEAD:refs/heads/main\t[rejected] (non-fast-forward)\n",
                Some(Pushed::Behind),
            ),
            (
                "stale lease",
                "!\tabc:refs/heads/main\t[rejected] (stale info)\n",
                Some(Pushed::Stale),
            ),
            (
                "hook",
                "!\tabc:refs/heads/main\t[remote rejected] (pre-receive hook declined)\n",
                Some(Pushed::Declined("pre-receive hook declined".into())),
            ),
            (
                "other ref",
                "!\tabc:refs/heads/other\t[rejected] (fetch first)\n",
                None,
            ),
            ("nothing", "", None),
        ];
        for (name, stdout, want) in cases {
            assert_eq!(
                ref_status(stdout, dst).map(|s| judge(&s)),
                want,
                "case {name}"
            );
        }
    }
}
