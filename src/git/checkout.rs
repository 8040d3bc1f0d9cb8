//! A working clone per repository, kept under `clones/` between rounds: cloned shallow (one branch, depth 1) the
//! first time, then fetched and hard-reset to the remote's tip. A clone is made in a temp directory and renamed
//! into place, so a process killed while cloning leaves nothing half-written where the next round looks; a clone
//! that is damaged anyway (a crash mid-checkout leaving `index.lock`, a truncated object) fails its refresh and is
//! cloned afresh. An exclusive `flock` on `<clone>.lock`, held by the [`Checkout`], keeps two processes from
//! working in one clone at once.

use std::collections::BTreeSet;
use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};
use sha2::{Digest, Sha256};

use super::{BranchName, Git, GitError, Oid, Remote, RemoteUrl, RepoPath, Run, SigningKey};
use crate::process::ToolCommand;

/// The longest pause between two attempts at the clone's lock.
const MAX_LOCK_PAUSE: Duration = Duration::from_millis(200);

/// A clone of one repository with one branch checked out at the remote's tip, locked for this process while held.
/// Local edits and commits stay local until pushed; [`Checkout::refresh`] drops them.
#[derive(Debug)]
pub struct Checkout {
    pub(super) git: Git,
    pub(super) remote: Remote,
    pub(super) branch: BranchName,
    pub(super) dir: PathBuf,
    pub(super) head: Oid,
    /// Files written since the last commit or refresh: what the next commit stages.
    pub(super) written: BTreeSet<RepoPath>,
    _lock: Flock<File>,
}

impl Git {
    /// The clone of `remote` with `branch` checked out at the remote's tip: the existing clone fetched and reset,
    /// or a new shallow clone (also when the existing one turns out damaged). Waits for another process using the
    /// same clone until `deadline`.
    pub async fn checkout(
        &self,
        remote: &Remote,
        branch: &BranchName,
        deadline: Instant,
    ) -> Result<Checkout, GitError> {
        let key = clone_key(remote.url());
        let dir = self.inner.clones.join(&key);
        let lock = lock(
            remote.url(),
            &self.inner.clones.join(format!("{key}.lock")),
            &dir,
            deadline,
        )
        .await?;
        remove_leftovers(&self.inner.clones, &key)?;
        let mut checkout = Checkout {
            git: self.clone(),
            remote: remote.clone(),
            branch: branch.clone(),
            dir,
            head: Oid::new(&"0".repeat(40))?,
            written: BTreeSet::new(),
            _lock: lock,
        };
        if checkout.dir.exists() {
            match checkout.refresh(deadline).await {
                Ok(()) => return Ok(checkout),
                Err(e) if e.may_be_the_clone() => {
                    tracing::warn!(
                        repository = %remote.url(),
                        dir = %checkout.dir.display(),
                        error = %e,
                        "the clone is damaged; cloning afresh"
                    );
                    remove_dir(&checkout.dir)?;
                }
                Err(e) => return Err(e),
            }
        }
        checkout.clone_fresh(&key, deadline).await?;
        Ok(checkout)
    }
}

impl Checkout {
    /// The clone's directory (its work tree). Change files through [`Checkout::write_file`], which the next
    /// commit stages.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn remote(&self) -> &Remote {
        &self.remote
    }

    /// The branch checked out: the one pushes go to.
    pub fn branch(&self) -> &BranchName {
        &self.branch
    }

    /// The commit checked out: the remote's tip after a refresh, the new commit after a commit.
    pub fn head(&self) -> &Oid {
        &self.head
    }

    /// Fetches the branch and resets the clone hard to the remote's tip, dropping local commits, edits and
    /// untracked files: the start of a round, and of a retry after a rejected push.
    pub async fn refresh(&mut self, deadline: Instant) -> Result<(), GitError> {
        if !self.dir.join(".git").is_dir() {
            return Err(GitError::Io {
                action: "not a git clone:",
                path: self.dir.clone(),
                source: std::io::Error::other("no .git directory"),
            });
        }
        let tracking = self.branch.tracking_ref();
        // Fetched at depth 1 when this clone has never seen the branch; else only what is new since.
        let known = self
            .run("rev-parse")
            .output(
                &self.command(None)?.args([
                    "rev-parse",
                    "--verify",
                    "--quiet",
                    &format!("{tracking}^{{commit}}"),
                ]),
                deadline,
            )
            .await?
            .status
            .success();
        self.fetch(&self.branch.clone(), !known, deadline).await?;
        let checkout = self.command(None)?.args([
            "checkout",
            "--quiet",
            "--force",
            "--no-track",
            "-B",
            self.branch.as_str(),
            &tracking,
        ]);
        self.run("checkout")
            .success(&checkout, deadline, false)
            .await?;
        let clean = self.command(None)?.args(["clean", "-ffdxq"]);
        self.run("clean").success(&clean, deadline, false).await?;
        self.head = self.rev_parse("HEAD", deadline).await?;
        self.written.clear();
        Ok(())
    }

    /// Fetches `branch` of the remote into `refs/remotes/origin/<branch>` (`shallow`: at depth 1).
    pub(super) async fn fetch(
        &self,
        branch: &BranchName,
        shallow: bool,
        deadline: Instant,
    ) -> Result<(), GitError> {
        let mut fetch =
            self.command(None)?
                .args(["fetch", "--quiet", "--no-tags", "--no-write-fetch-head"]);
        if shallow {
            fetch = fetch.arg("--depth=1");
        }
        let refspec = format!("+{}:{}", branch.full_ref(), branch.tracking_ref());
        let fetch = fetch.args(["--", self.remote.url().as_str(), &refspec]);
        let run = Run {
            remote: &self.remote,
            branch,
            operation: "fetch",
        };
        run.success(&fetch, deadline, true).await.map(drop)
    }

    /// Clones into a temp directory beside the clone's place, then renames it there.
    async fn clone_fresh(&mut self, key: &str, deadline: Instant) -> Result<(), GitError> {
        let clones = self.dir.parent().unwrap_or(Path::new("."));
        let tmp = clones.join(format!("{}{}", tmp_prefix(key), std::process::id()));
        let mut branch_arg = std::ffi::OsString::from("--branch=");
        branch_arg.push(self.branch.as_str());
        let clone = self
            .git
            .command(&self.remote, None, None)?
            .args([
                "clone",
                "--quiet",
                "--template=",
                "--depth=1",
                "--single-branch",
                "--no-tags",
            ])
            .arg(branch_arg)
            .args(["--", self.remote.url().as_str()])
            .arg(&tmp);
        let result = self.run("clone").success(&clone, deadline, true).await;
        if let Err(e) = result {
            let _ = fs::remove_dir_all(&tmp);
            return Err(e);
        }
        fs::rename(&tmp, &self.dir).map_err(|source| GitError::Io {
            action: "cannot move the new clone to",
            path: self.dir.clone(),
            source,
        })?;
        self.head = self.rev_parse("HEAD", deadline).await?;
        self.written.clear();
        Ok(())
    }

    /// The commit `rev` names in the clone.
    pub(super) async fn rev_parse(&self, rev: &str, deadline: Instant) -> Result<Oid, GitError> {
        let command = self.command(None)?.args([
            "rev-parse",
            "--verify",
            "--end-of-options",
            &format!("{rev}^{{commit}}"),
        ]);
        let out = self
            .run("rev-parse")
            .success(&command, deadline, false)
            .await?;
        Oid::new(&String::from_utf8_lossy(&out))
    }

    /// A git command in this clone.
    pub(super) fn command(&self, signing: Option<&SigningKey>) -> Result<ToolCommand, GitError> {
        self.git.command(&self.remote, Some(&self.dir), signing)
    }

    /// The error context of one operation on the checked-out branch.
    pub(super) fn run(&self, operation: &'static str) -> Run<'_> {
        Run {
            remote: &self.remote,
            branch: &self.branch,
            operation,
        }
    }
}

/// The clone's directory name: readable, and unique per URL (`config-1f2e3d4c5b6a7988`).
fn clone_key(url: &RemoteUrl) -> String {
    let hash = Sha256::digest(url.as_str().as_bytes());
    let hex: String = hash[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("{}-{hex}", url.slug())
}

/// Takes the exclusive lock on `path`, polling (with growing pauses) until `deadline`.
async fn lock(
    repo: &RemoteUrl,
    path: &Path,
    dir: &Path,
    deadline: Instant,
) -> Result<Flock<File>, GitError> {
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)
        .map_err(|source| GitError::Io {
            action: "cannot open the lock file",
            path: path.to_path_buf(),
            source,
        })?;
    let started = Instant::now();
    let mut pause = Duration::from_millis(5);
    loop {
        match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(locked) => return Ok(locked),
            Err((unlocked, errno)) if errno == Errno::EWOULDBLOCK || errno == Errno::EINTR => {
                file = unlocked;
            }
            Err((_, errno)) => {
                return Err(GitError::Io {
                    action: "cannot lock",
                    path: path.to_path_buf(),
                    source: errno.into(),
                });
            }
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(GitError::Locked {
                repo: repo.clone(),
                dir: dir.to_path_buf(),
                waited: started.elapsed(),
            });
        }
        tokio::time::sleep(pause.min(deadline - now)).await;
        pause = (pause * 2).min(MAX_LOCK_PAUSE);
    }
}

/// The name of a temp clone of `key` starts with this.
fn tmp_prefix(key: &str) -> String {
    format!(".tmp-{key}-")
}

/// Removes the temp clones of `key` left by a process killed while cloning: dead, since this process holds the
/// lock of `key`.
fn remove_leftovers(clones: &Path, key: &str) -> Result<(), GitError> {
    let prefix = tmp_prefix(key);
    if let Ok(entries) = fs::read_dir(clones) {
        for entry in entries.flatten() {
            if entry.file_name().to_string_lossy().starts_with(&prefix) {
                remove_dir(&entry.path())?;
            }
        }
    }
    Ok(())
}

fn remove_dir(dir: &Path) -> Result<(), GitError> {
    match fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(GitError::Io {
            action: "cannot remove",
            path: dir.to_path_buf(),
            source: e,
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clone_keys_differ_per_url() {
        let a = RemoteUrl::parse("https://example.com/a/config.git").unwrap();
        let b = RemoteUrl::parse("https://example.com/b/config.git").unwrap();
        let (ka, kb) = (clone_key(&a), clone_key(&b));
        assert!(
            ka.starts_with("config-") && kb.starts_with("config-"),
            "{ka} {kb}"
        );
        assert_ne!(ka, kb);
        assert_eq!(ka.len(), "config-".len() + 16);
    }
}
