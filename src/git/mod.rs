//! The one wrapper around the `git` CLI: a working clone per repository, reused between rounds, and the few
//! operations the committer needs — read a file at the tip, write files, commit (signed when asked, never empty),
//! push without force (a rejected push is its own error), push a review branch with a lease, list the commits
//! touching a path.
//!
//! Every git command goes through the [`process`](crate::process) runner: an argument vector (no shell), a
//! deadline with the whole process group stopped, bounded output, and an environment built here from nothing
//! ([`invocation`]): no system, global or repository config or hooks, transports limited to the remote's own, a
//! private `HOME`. Credentials are files ([`GitCredentials`]); git reaches them through this binary as its
//! askpass program ([`askpass`]) or through `ssh -i`, so no secret is in an argument, a URL, a variable, a log
//! line or an error.
//!
//! Here: [`Git`] (git located once, the clone directory), [`Remote`] and [`Author`]; `remote` the validated names
//! (URL, branch, object id, path); `checkout` the clone's life (clone, refresh, reclone when damaged, lock);
//! `edit` reading, writing and committing; `push`; `history`; `error` the typed errors and the reading of git's
//! stderr.

pub mod askpass;
mod checkout;
mod credentials;
mod edit;
mod error;
mod history;
mod invocation;
mod push;
mod remote;
mod worktree;

use std::fs;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use crate::process::{Completed, Env, ProcessError, Tool, ToolCommand};
use crate::size::ByteSize;

pub use crate::redact::redact_url;
pub use checkout::Checkout;
pub use credentials::{
    GitCredentials, HttpCredentials, SigningKey, SshCredentials, TOKEN_USERNAME,
};
pub use edit::CommitOutcome;
pub use error::GitError;
pub use history::CommitInfo;
pub use push::Lease;
pub use remote::{BranchName, Oid, RemoteUrl, RepoPath, Transport};
pub use worktree::WorkTree;

use error::{Cause, cause_text, classify};
use invocation::Setting;

/// Variable naming the git binary to use instead of `git` on `PATH`.
pub const GIT_OVERRIDE: &str = "IMAGE_RESOLVER_GIT";

/// The most any git command may print on stdout (a file read at the tip, a log): past it the command is stopped.
const MAX_STDOUT: ByteSize = ByteSize(64 << 20);

/// Where git keeps its clones and how it is run.
#[derive(Clone, Debug)]
pub struct GitOptions {
    /// The wrapper's own directory (`<cache-dir>/git`): clones in `clones/`, git's private `HOME` in `home/`.
    pub dir: PathBuf,
    /// The environment `git`, `ssh` and `ssh-keygen` are looked up in (`PATH`, [`GIT_OVERRIDE`]); only `PATH`
    /// and `TMPDIR` of it reach git.
    pub env: Env,
    /// The program git runs as `GIT_ASKPASS` for HTTP credentials: this binary (`std::env::current_exe()`),
    /// which answers in [`askpass::serve_if_asked`].
    pub askpass: PathBuf,
}

/// git, located once, with its clone directory. Cheap to clone; clones of it share everything.
#[derive(Clone, Debug)]
pub struct Git {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    git: Tool,
    ssh: Option<Tool>,
    ssh_keygen: Option<Tool>,
    env: Env,
    askpass: PathBuf,
    home: PathBuf,
    clones: PathBuf,
    /// This process's user, read from a directory it created: ssh refuses a private key it owns that others can
    /// read, and so is told about that before it runs.
    uid: u32,
}

impl Git {
    /// Locates git (and `ssh`, `ssh-keygen` when present) and prepares the directory: `home/` and `clones/`,
    /// mode 0700.
    pub fn new(options: GitOptions) -> Result<Git, GitError> {
        let git = Tool::locate("git", GIT_OVERRIDE, &options.env).map_err(|e| match e {
            ProcessError::NotFound { .. } => GitError::GitNotFound {
                override_var: GIT_OVERRIDE,
            },
            e => GitError::Tool(e),
        })?;
        let home = options.dir.join("home");
        let clones = options.dir.join("clones");
        for dir in [&options.dir, &home, &clones] {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|source| GitError::Io {
                    action: "cannot create",
                    path: dir.clone(),
                    source,
                })?;
        }
        let uid = fs::metadata(&home)
            .map_err(|source| GitError::Io {
                action: "cannot read",
                path: home.clone(),
                source,
            })?
            .uid();
        Ok(Git {
            inner: Arc::new(Inner {
                git,
                ssh: Tool::find("ssh", &options.env),
                ssh_keygen: Tool::find("ssh-keygen", &options.env),
                env: options.env,
                askpass: options.askpass,
                home,
                clones,
                uid,
            }),
        })
    }

    /// The git binary in use.
    pub fn tool(&self) -> &Tool {
        &self.inner.git
    }

    /// The remote's default branch (where its `HEAD` points), as `git ls-remote --symref` reports it: what
    /// Argo CD's `targetRevision: HEAD` deploys.
    pub async fn default_branch(
        &self,
        remote: &Remote,
        deadline: Instant,
    ) -> Result<BranchName, GitError> {
        let head = BranchName::new("main")?;
        let command = self.command(remote, None, None)?.args([
            "ls-remote",
            "--symref",
            "--",
            remote.url.as_str(),
            "HEAD",
        ]);
        let run = Run {
            remote,
            branch: &head,
            operation: "ls-remote",
        };
        let out = run.success(&command, deadline, true).await?;
        String::from_utf8_lossy(&out)
            .lines()
            .find_map(|line| {
                let (target, name) = line.strip_prefix("ref: ")?.split_once('\t')?;
                (name == "HEAD").then(|| target.strip_prefix("refs/heads/").map(BranchName::new))?
            })
            .unwrap_or_else(|| {
                Err(GitError::InvalidBranch {
                    branch: "HEAD".to_owned(),
                    reason: format!("{} names no default branch; name the branch", remote.url),
                })
            })
    }

    /// A git command for `remote`, run in `clone_dir` (as `--git-dir`/`--work-tree`) when given, with the
    /// isolated environment; `signing` adds the signing config.
    fn command(
        &self,
        remote: &Remote,
        clone_dir: Option<&Path>,
        signing: Option<&SigningKey>,
    ) -> Result<ToolCommand, GitError> {
        let inner = &self.inner;
        let ssh = match remote.url.transport() {
            Transport::Ssh => Some(
                inner
                    .ssh
                    .as_ref()
                    .ok_or(GitError::ToolNotFound {
                        program: "ssh",
                        purpose: "for ssh:// remotes",
                    })?
                    .path(),
            ),
            _ => None,
        };
        if let GitCredentials::Ssh(ssh) = &remote.credentials {
            ssh.check_key_mode(inner.uid)?;
        }
        let signing = match signing {
            Some(key) => {
                let SigningKey::Ssh { key_file } = key;
                credentials::check_private_file(key_file, inner.uid)?;
                let program = inner.ssh_keygen.as_ref().ok_or(GitError::ToolNotFound {
                    program: "ssh-keygen",
                    purpose: "to sign commits with an ssh key",
                })?;
                Some((program.path(), key))
            }
            None => None,
        };
        let env = invocation::environment(&Setting {
            source: &inner.env,
            home: &inner.home,
            askpass: &inner.askpass,
            ssh,
            transport: remote.url.transport(),
            origin: remote.url.origin(),
            credentials: &remote.credentials,
            clone_dir,
            signing,
            ca_file: remote.ca_file.as_deref(),
        });
        let mut command = inner.git.command().env(env).max_stdout(MAX_STDOUT);
        if let Some(dir) = clone_dir {
            let mut git_dir = std::ffi::OsString::from("--git-dir=");
            git_dir.push(dir.join(".git"));
            let mut work_tree = std::ffi::OsString::from("--work-tree=");
            work_tree.push(dir);
            command = command.arg(git_dir).arg(work_tree).current_dir(dir);
        }
        Ok(command)
    }
}

/// A remote repository and its credentials, checked to fit each other.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Remote {
    url: RemoteUrl,
    credentials: GitCredentials,
    ca_file: Option<PathBuf>,
}

impl Remote {
    pub fn new(url: RemoteUrl, credentials: GitCredentials) -> Result<Remote, GitError> {
        credentials
            .check_transport(url.transport())
            .map_err(|problem| GitError::CredentialsMismatch {
                repo: url.clone(),
                problem,
            })?;
        Ok(Remote {
            url,
            credentials,
            ca_file: None,
        })
    }

    /// Trusts the CA certificates (PEM) in `ca_file` for an `https://` remote, instead of the system's: a server
    /// with a private CA. TLS is always verified.
    pub fn with_ca_file(mut self, ca_file: &Path) -> Result<Remote, GitError> {
        if self.url.transport() != (Transport::Http { tls: true }) {
            return Err(GitError::CredentialsMismatch {
                repo: self.url,
                problem: "a CA file serves only https:// remotes",
            });
        }
        fs::metadata(ca_file).map_err(|e| GitError::CredentialFile {
            path: ca_file.to_path_buf(),
            problem: format!("cannot be read: {e}"),
        })?;
        self.ca_file = Some(std::path::absolute(ca_file).map_err(|source| GitError::Io {
            action: "cannot make absolute",
            path: ca_file.to_path_buf(),
            source,
        })?);
        Ok(self)
    }

    pub fn url(&self) -> &RemoteUrl {
        &self.url
    }

    pub fn credentials(&self) -> &GitCredentials {
        &self.credentials
    }
}

/// Who a commit is by: author and committer alike.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Author {
    name: String,
    email: String,
}

impl Author {
    /// A name and an email git accepts: non-empty, no `<`, `>` or control characters.
    pub fn new(name: &str, email: &str) -> Result<Author, GitError> {
        let bad = |s: &str| {
            s.trim().is_empty() || s.chars().any(|c| c.is_control() || c == '<' || c == '>')
        };
        if bad(name) {
            return Err(GitError::InvalidCommit {
                what: "author name",
                problem: "it must be non-empty, without '<', '>' or control characters",
            });
        }
        if bad(email) {
            return Err(GitError::InvalidCommit {
                what: "author email",
                problem: "it must be non-empty, without '<', '>' or control characters",
            });
        }
        Ok(Author {
            name: name.to_owned(),
            email: email.to_owned(),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn email(&self) -> &str {
        &self.email
    }
}

/// One git run for `operation` against `remote`'s `branch`, its failure turned into a typed error: remote failures
/// read from stderr ([`classify`]), the deadline as [`GitError::TimedOut`].
struct Run<'a> {
    remote: &'a Remote,
    branch: &'a BranchName,
    operation: &'static str,
}

impl Run<'_> {
    /// Runs `command`; an unsuccessful exit is returned, not an error (the caller may read it).
    async fn output(
        &self,
        command: &ToolCommand,
        deadline: Instant,
    ) -> Result<Completed, GitError> {
        command
            .output(deadline)
            .await
            .map_err(|e| self.process_error(e))
    }

    /// Runs `command` and fails unless it succeeds, classifying stderr when `remote_side`.
    async fn success(
        &self,
        command: &ToolCommand,
        deadline: Instant,
        remote_side: bool,
    ) -> Result<Vec<u8>, GitError> {
        let done = self.output(command, deadline).await?;
        if done.status.success() {
            Ok(done.stdout)
        } else {
            Err(self.failure(command, &done, remote_side))
        }
    }

    fn process_error(&self, error: ProcessError) -> GitError {
        match error {
            ProcessError::TimedOut { allowed, .. } => GitError::TimedOut {
                repo: self.remote.url.clone(),
                branch: self.branch.clone(),
                operation: self.operation,
                allowed,
            },
            ProcessError::Spawn { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
                GitError::GitNotFound {
                    override_var: GIT_OVERRIDE,
                }
            }
            e => GitError::Tool(e),
        }
    }

    /// The typed error for a failed run.
    fn failure(&self, command: &ToolCommand, done: &Completed, remote_side: bool) -> GitError {
        let stderr = String::from_utf8_lossy(&done.stderr);
        let cause = cause_text(&crate::process::trim_stderr(&done.stderr));
        let repo = self.remote.url.clone();
        let branch = self.branch.clone();
        let kind = if remote_side {
            classify(&stderr)
        } else {
            Cause::Other
        };
        match kind {
            Cause::HostKey => GitError::HostKey {
                repo,
                branch,
                cause,
            },
            Cause::Auth => GitError::AuthFailed {
                repo,
                branch,
                cause,
            },
            Cause::RepositoryNotFound => GitError::RepositoryNotFound { repo, cause },
            Cause::BranchNotFound => GitError::BranchNotFound { repo, branch },
            Cause::Network => GitError::Network {
                repo,
                branch,
                cause,
            },
            Cause::Other => GitError::Failed {
                repo,
                branch,
                operation: self.operation,
                command: redact_url(&command.display()),
                status: done.status,
                cause,
            },
        }
    }
}
