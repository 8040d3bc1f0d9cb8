//! Reading a file at a commit, writing files into the clone, and committing them: staged are exactly the files
//! written, a commit only when they differ from the tip (never an empty commit), signed when a key is given.

use std::fs;
use std::io::ErrorKind;
use std::path::PathBuf;
use std::time::Instant;

use super::{Author, Checkout, GitError, Oid, RepoPath, SigningKey};

/// What [`Checkout::commit`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CommitOutcome {
    /// A new commit, now the clone's head.
    Committed(Oid),
    /// The written files are as the tip has them: no commit was made.
    NothingChanged,
}

impl Checkout {
    /// The content of `path` at the checked-out commit (the remote's tip after a refresh), or `None` when the
    /// commit has no such path. A directory, a symlink or a submodule there is an error.
    pub async fn read_file(
        &self,
        path: &RepoPath,
        deadline: Instant,
    ) -> Result<Option<Vec<u8>>, GitError> {
        let head = self.head.clone();
        self.read_file_at(&head, path, deadline).await
    }

    /// The content of `path` at commit `rev` (which this clone must have: the head, or a tip from
    /// [`Checkout::fetch_branch`]), or `None` when `rev` has no such path.
    pub async fn read_file_at(
        &self,
        rev: &Oid,
        path: &RepoPath,
        deadline: Instant,
    ) -> Result<Option<Vec<u8>>, GitError> {
        let ls_tree = self.command(None)?.args([
            "ls-tree",
            "-z",
            "--full-tree",
            rev.as_str(),
            "--",
            path.as_str(),
        ]);
        let listing = self
            .run("ls-tree")
            .success(&ls_tree, deadline, false)
            .await?;
        let Some(entry) = listing.split(|b| *b == 0).find(|e| !e.is_empty()) else {
            return Ok(None);
        };
        // `<mode> SP <type> SP <object> TAB <path>`
        let entry = String::from_utf8_lossy(entry);
        let mut fields = entry.split(['\t', ' ']);
        let (mode, kind, object) = (
            fields.next().unwrap_or_default(),
            fields.next().unwrap_or_default(),
            fields.next().unwrap_or_default(),
        );
        if kind != "blob" || mode == "120000" {
            let kind = if mode == "120000" { "a symlink" } else { kind };
            return Err(GitError::NotAFile {
                repo: self.remote.url().clone(),
                path: path.to_string(),
                revision: rev.to_string(),
                kind: kind.to_owned(),
            });
        }
        let object = Oid::new(object)?;
        let cat = self
            .command(None)?
            .args(["cat-file", "blob", object.as_str()]);
        self.run("cat-file")
            .success(&cat, deadline, false)
            .await
            .map(Some)
    }

    /// Writes `content` to `path` in the clone's work tree, creating directories; the next commit stages it.
    /// Refused: a path through a symlink, or onto one (it could lead out of the clone).
    pub fn write_file(&mut self, path: &RepoPath, content: &[u8]) -> Result<(), GitError> {
        let unsafe_write = |problem: String| GitError::UnsafeWrite {
            repo: self.remote.url().clone(),
            path: path.to_string(),
            problem,
        };
        let mut at = self.dir.clone();
        let components: Vec<&str> = path.as_str().split('/').collect();
        for (i, component) in components.iter().enumerate() {
            at.push(component);
            match fs::symlink_metadata(&at) {
                Ok(meta) if meta.file_type().is_symlink() => {
                    return Err(unsafe_write(format!(
                        "'{}' is a symlink",
                        components[..=i].join("/")
                    )));
                }
                Ok(meta) if i + 1 < components.len() && !meta.is_dir() => {
                    return Err(unsafe_write(format!(
                        "'{}' is not a directory",
                        components[..=i].join("/")
                    )));
                }
                Ok(meta) if i + 1 == components.len() && meta.is_dir() => {
                    return Err(unsafe_write("it is a directory".to_owned()));
                }
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::NotFound => {
                    if i + 1 < components.len() {
                        fs::create_dir(&at).map_err(|source| io("cannot create", &at, source))?;
                    }
                }
                Err(source) => return Err(io("cannot read", &at, source)),
            }
        }
        fs::write(&at, content).map_err(|source| io("cannot write", &at, source))?;
        self.written.insert(path.clone());
        Ok(())
    }

    /// Commits the files written since the last commit or refresh with `message`, by `author` (as author and
    /// committer), signed with `signing` when given. When they are as the head has them, nothing is committed.
    pub async fn commit(
        &mut self,
        message: &str,
        author: &Author,
        signing: Option<&SigningKey>,
        deadline: Instant,
    ) -> Result<CommitOutcome, GitError> {
        if message.trim().is_empty() {
            return Err(GitError::InvalidCommit {
                what: "message",
                problem: "it is empty",
            });
        }
        if message.contains('\0') {
            return Err(GitError::InvalidCommit {
                what: "message",
                problem: "it holds a NUL character",
            });
        }
        if self.written.is_empty() {
            return Ok(CommitOutcome::NothingChanged);
        }
        let paths: Vec<&str> = self.written.iter().map(RepoPath::as_str).collect();
        let add = self
            .command(None)?
            .args(["add", "--all", "--"])
            .args(&paths);
        self.run("add").success(&add, deadline, false).await?;
        let diff = self
            .command(None)?
            .args(["diff", "--cached", "--quiet", "--exit-code"]);
        let done = self.run("diff").output(&diff, deadline).await?;
        match done.status.code() {
            Some(0) => {
                self.written.clear();
                return Ok(CommitOutcome::NothingChanged);
            }
            Some(1) => {}
            _ => return Err(self.run("diff").failure(&diff, &done, false)),
        }
        let mut commit = self.command(signing)?;
        for (name, value) in [
            ("GIT_AUTHOR_NAME", author.name()),
            ("GIT_AUTHOR_EMAIL", author.email()),
            ("GIT_COMMITTER_NAME", author.name()),
            ("GIT_COMMITTER_EMAIL", author.email()),
        ] {
            commit = commit.env_var(name, value);
        }
        commit = commit
            .args([
                "commit",
                "--quiet",
                "--no-verify",
                "--cleanup=whitespace",
                "--file=-",
            ])
            .stdin(message.as_bytes().to_vec());
        if signing.is_some() {
            commit = commit.arg("--gpg-sign");
        }
        self.run("commit").success(&commit, deadline, false).await?;
        self.head = self.rev_parse("HEAD", deadline).await?;
        self.written.clear();
        Ok(CommitOutcome::Committed(self.head.clone()))
    }
}

fn io(action: &'static str, path: &std::path::Path, source: std::io::Error) -> GitError {
    GitError::Io {
        action,
        path: PathBuf::from(path),
        source,
    }
}
