//! The commits that touched a path since a revision: how the committer sees a person's revert or edit of what it
//! committed. The clone is shallow, so its history is deepened first until it reaches that revision.

use std::time::Instant;

use super::{Checkout, GitError, Oid, RepoPath};

/// How far each deepening goes back, in commits from the current shallow boundary; after the last step the whole
/// history is fetched.
const DEEPEN_STEPS: [u32; 3] = [64, 512, 4096];

/// One commit, as `git log` describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommitInfo {
    pub oid: Oid,
    /// Empty for a root commit (and for the oldest commit of a shallow clone).
    pub parents: Vec<Oid>,
    pub author_name: String,
    pub author_email: String,
    pub committer_name: String,
    pub committer_email: String,
    /// Committer time, in seconds since the Unix epoch.
    pub committed_at: i64,
    /// The whole message, trailing line breaks removed (a revert's body says "This reverts commit …").
    pub message: String,
}

/// `git log`'s format: fields separated by NUL, each commit ended by NUL (`-z`).
pub(super) const FORMAT: &str = "--format=%H%x00%P%x00%an%x00%ae%x00%cn%x00%ce%x00%ct%x00%B";
const FIELDS: usize = 8;

impl Checkout {
    /// The commits after `since` up to the head (`since..HEAD`) that changed `path` (a file or a directory),
    /// newest first. [`GitError::NotAncestor`] when `since` is not in the head's history (the branch was rewritten).
    pub async fn commits_touching(
        &self,
        path: &RepoPath,
        since: &Oid,
        deadline: Instant,
    ) -> Result<Vec<CommitInfo>, GitError> {
        self.reach(since, deadline).await?;
        let log = self.command(None)?.args([
            "log",
            "-z",
            FORMAT,
            &format!("{since}..{}", self.head),
            "--",
            path.as_str(),
        ]);
        let out = self.run("log").success(&log, deadline, false).await?;
        parse_log(&String::from_utf8_lossy(&out))
    }

    /// The newest commits up to the head that changed `path` and whose message holds `needle` (a fixed string),
    /// newest first, at most `limit`: how the committer finds its own last change of an image. The clone is
    /// deepened step by step until `limit` are found or the history is complete, so a shallow clone costs only
    /// as much history as the answer needs (once: later fetches keep it) — and at most [`DEEPEN_STEPS`]' sum
    /// (4,672 commits) beyond its boundary.
    pub async fn commits_mentioning(
        &self,
        path: &RepoPath,
        needle: &str,
        limit: usize,
        deadline: Instant,
    ) -> Result<Vec<CommitInfo>, GitError> {
        let mut steps = DEEPEN_STEPS.iter();
        loop {
            let found = self
                .commits_mentioning_here(path, needle, limit, deadline)
                .await?;
            // Bounded: past the last step the search gives up rather than fetch the whole history of a large
            // repository (an image the committer never wrote would otherwise cost that, once per clone).
            let Some(&step) = steps.next() else {
                return Ok(found);
            };
            if found.len() >= limit || !self.deepen(Some(step), deadline).await? {
                return Ok(found);
            }
        }
    }

    /// [`Checkout::commits_mentioning`] in the history the clone has, fetching nothing.
    pub async fn commits_mentioning_here(
        &self,
        path: &RepoPath,
        needle: &str,
        limit: usize,
        deadline: Instant,
    ) -> Result<Vec<CommitInfo>, GitError> {
        let log = self.command(None)?.args([
            "log",
            "-z",
            FORMAT,
            "--fixed-strings",
            &format!("--grep={needle}"),
            &format!("--max-count={limit}"),
            self.head.as_str(),
            "--",
            path.as_str(),
        ]);
        let out = self.run("log").success(&log, deadline, false).await?;
        parse_log(&String::from_utf8_lossy(&out))
    }

    /// Fetches `step` more commits of history (all of it when `None`); `false` when the history was complete
    /// already.
    async fn deepen(&self, step: Option<u32>, deadline: Instant) -> Result<bool, GitError> {
        let shallow = self
            .command(None)?
            .args(["rev-parse", "--is-shallow-repository"]);
        let out = self
            .run("rev-parse")
            .success(&shallow, deadline, false)
            .await?;
        if String::from_utf8_lossy(&out).trim() != "true" {
            return Ok(false);
        }
        let deepen = match step {
            Some(n) => format!("--deepen={n}"),
            None => "--unshallow".to_owned(),
        };
        let fetch = self.command(None)?.args([
            "fetch",
            "--quiet",
            "--no-tags",
            "--no-write-fetch-head",
            &deepen,
            "--",
            self.remote.url().as_str(),
            &format!("+{}:{}", self.branch.full_ref(), self.branch.tracking_ref()),
        ]);
        self.run("fetch").success(&fetch, deadline, true).await?;
        Ok(true)
    }

    /// Deepens the clone until `since` is an ancestor of the head, or the history is complete.
    async fn reach(&self, since: &Oid, deadline: Instant) -> Result<(), GitError> {
        let mut steps = DEEPEN_STEPS.iter();
        loop {
            let is_ancestor = self.command(None)?.args([
                "merge-base",
                "--is-ancestor",
                since.as_str(),
                self.head.as_str(),
            ]);
            // 0: an ancestor; 1: not one; 128: `since` is not in this clone (yet).
            if self
                .run("merge-base")
                .output(&is_ancestor, deadline)
                .await?
                .status
                .success()
            {
                return Ok(());
            }
            if !self.deepen(steps.next().copied(), deadline).await? {
                return Err(GitError::NotAncestor {
                    repo: self.remote.url().clone(),
                    branch: self.branch.clone(),
                    revision: since.to_string(),
                });
            }
        }
    }
}

pub(super) fn parse_log(text: &str) -> Result<Vec<CommitInfo>, GitError> {
    let mut fields: Vec<&str> = text.split('\0').collect();
    if fields.last() == Some(&"") {
        fields.pop();
    }
    let bad = || GitError::InvalidOid {
        value: crate::escape::shown(text, 80),
    };
    if !fields.len().is_multiple_of(FIELDS) {
        return Err(bad());
    }
    fields
        .chunks_exact(FIELDS)
        .map(|c| {
            Ok(CommitInfo {
                oid: Oid::new(c[0])?,
                parents: c[1]
                    .split_whitespace()
                    .map(Oid::new)
                    .collect::<Result<_, _>>()?,
                author_name: c[2].to_owned(),
                author_email: c[3].to_owned(),
                committer_name: c[4].to_owned(),
                committer_email: c[5].to_owned(),
                committed_at: c[6].trim().parse().map_err(|_| bad())?,
                message: c[7].trim_end_matches('\n').to_owned(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_log_records() {
        let a = "a".repeat(40);
        let b = "b".repeat(40);
        let text = format!(
            "{a}\0{b}\0Ann\0ann@x\0Bot\0bot@x\01700000000\0Revert \"bump\"\n\nThis reverts commit {b}.\n\0\
             {b}\0\0Bot\0bot@x\0Bot\0bot@x\01600000000\0bump\n\0"
        );
        let commits = parse_log(&text).unwrap();
        assert_eq!(commits.len(), 2);
        assert_eq!(commits[0].oid.as_str(), a);
        assert_eq!(commits[0].parents, [Oid::new(&b).unwrap()]);
        assert_eq!(commits[0].author_name, "Ann");
        assert_eq!(commits[0].committer_email, "bot@x");
        assert_eq!(commits[0].committed_at, 1_700_000_000);
        assert_eq!(
            commits[0].message,
            format!("Revert \"bump\"\n\nThis reverts commit {b}.")
        );
        assert!(commits[1].parents.is_empty());
        assert_eq!(parse_log("").unwrap(), []);
        assert!(parse_log("x\0y\0").is_err());
    }
}
