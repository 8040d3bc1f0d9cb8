//! A remote's credentials, as files (mounted Kubernetes secrets): checked when configured, read by git's helper
//! processes only when a server asks, never held in this process, an argument vector, a URL or a message.
//!
//! - HTTP(S): a user name and a password (or token) file. Git runs this very binary as its `GIT_ASKPASS` program
//!   (see [`super::askpass`]), told only the user name, the password file's path and the one origin they belong
//!   to; the askpass reads the file when a prompt names that origin, and refuses any other (a redirect to another
//!   host). So the secret goes from the file to git through a pipe and nowhere else.
//! - SSH: a private key file and a known_hosts file, handed to `ssh` as paths (`-i`, `UserKnownHostsFile=`).

use std::fmt;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::{GitError, Transport};

/// The user name git gets with a token when none is given: GitHub's convention, accepted with a token as the
/// password by GitHub, GitLab (any non-empty name), Gitea and Bitbucket Cloud app passwords need their own.
pub const TOKEN_USERNAME: &str = "x-access-token";

/// The credentials of one remote. `Debug` shows file paths and the user name, never a file's content (this type
/// never holds it).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum GitCredentials {
    /// Anonymous: `file://`, `git://`, public HTTP; a server asking for credentials is an authentication error.
    #[default]
    None,
    Http(HttpCredentials),
    Ssh(SshCredentials),
}

impl GitCredentials {
    /// Whether these credentials can serve a remote reached over `transport`.
    pub(super) fn check_transport(&self, transport: Transport) -> Result<(), &'static str> {
        match (self, transport) {
            (GitCredentials::None, _)
            | (GitCredentials::Http(_), Transport::Http { .. })
            | (GitCredentials::Ssh(_), Transport::Ssh) => Ok(()),
            (GitCredentials::Http(_), _) => {
                Err("user name and password files serve only http(s):// remotes")
            }
            (GitCredentials::Ssh(_), Transport::Http { .. }) => {
                Err("an ssh key serves only ssh:// remotes, not http(s)://")
            }
            (GitCredentials::Ssh(_), _) => Err("an ssh key serves only ssh:// remotes"),
        }
    }
}

/// Basic credentials for smart HTTP: a user name (not secret) and the file holding the password or token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpCredentials {
    username: String,
    password_file: PathBuf,
}

impl HttpCredentials {
    /// A user name and the file holding its password, checked now: readable, one non-empty line (a trailing line
    /// break, as `kubectl create secret --from-file` leaves, is ignored).
    pub fn new(username: &str, password_file: &Path) -> Result<HttpCredentials, GitError> {
        check_username(username, None)?;
        read_secret_file(password_file)?;
        Ok(HttpCredentials {
            username: username.to_owned(),
            password_file: absolute(password_file)?,
        })
    }

    /// The `username` and `password` files of a mounted `kubernetes.io/basic-auth` secret (or any two files).
    pub fn from_files(
        username_file: &Path,
        password_file: &Path,
    ) -> Result<HttpCredentials, GitError> {
        Self::new(&Self::username_from_file(username_file)?, password_file)
    }

    /// A user name kept in a file (a mounted secret's `username`), checked as the name of [`Self::new`] is.
    pub fn username_from_file(username_file: &Path) -> Result<String, GitError> {
        let username = read_secret_file(username_file)?;
        check_username(&username, Some(username_file))?;
        Ok(username)
    }

    /// A token file, sent as the password of [`TOKEN_USERNAME`] (or of `username` when the server wants another:
    /// `oauth2` for GitLab OAuth tokens, `x-token-auth` for Bitbucket).
    pub fn token(token_file: &Path, username: Option<&str>) -> Result<HttpCredentials, GitError> {
        Self::new(username.unwrap_or(TOKEN_USERNAME), token_file)
    }

    pub fn username(&self) -> &str {
        &self.username
    }

    pub fn password_file(&self) -> &Path {
        &self.password_file
    }
}

/// An SSH private key and the known_hosts file that must list the server's host key (`StrictHostKeyChecking=yes`:
/// an unknown or changed host key fails the connection).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SshCredentials {
    key_file: PathBuf,
    known_hosts_file: PathBuf,
}

impl SshCredentials {
    /// Checked now: both files readable and non-empty; the key not readable by others when this process owns it
    /// (ssh refuses such a key; a secret mounted by Kubernetes belongs to root and passes); the known_hosts path
    /// free of whitespace and quotes (ssh's option parser would split it).
    pub fn new(key_file: &Path, known_hosts_file: &Path) -> Result<SshCredentials, GitError> {
        check_non_empty(key_file, "is empty: it must hold an ssh private key")?;
        check_non_empty(
            known_hosts_file,
            "is empty: it must list the server's host key",
        )?;
        let known_hosts_file = absolute(known_hosts_file)?;
        if known_hosts_file
            .to_string_lossy()
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '"' | '\''))
        {
            return Err(GitError::CredentialFile {
                path: known_hosts_file,
                problem: "has whitespace or quotes in its path, which ssh's options cannot carry"
                    .to_owned(),
            });
        }
        Ok(SshCredentials {
            key_file: absolute(key_file)?,
            known_hosts_file,
        })
    }

    pub fn key_file(&self) -> &Path {
        &self.key_file
    }

    pub fn known_hosts_file(&self) -> &Path {
        &self.known_hosts_file
    }

    /// Refuses a key that ssh would refuse: owned by `uid` (this process) and readable by group or others.
    pub(super) fn check_key_mode(&self, uid: u32) -> Result<(), GitError> {
        check_private_file(&self.key_file, uid)
    }
}

/// How commits are signed: git signs, with `gpg.format=ssh` and this private key (`ssh-keygen -Y sign`).
/// Verified with `git verify-commit` and an allowed-signers file naming the key's public half.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SigningKey {
    Ssh { key_file: PathBuf },
}

impl SigningKey {
    /// An SSH private key file for signing, checked as [`SshCredentials::new`] checks a key.
    pub fn ssh(key_file: &Path) -> Result<SigningKey, GitError> {
        check_non_empty(key_file, "is empty: it must hold an ssh private key")?;
        Ok(SigningKey::Ssh {
            key_file: absolute(key_file)?,
        })
    }
}

/// Refuses a file that cannot be read or holds nothing.
fn check_non_empty(path: &Path, when_empty: &str) -> Result<(), GitError> {
    let content = fs::read(path).map_err(|e| GitError::CredentialFile {
        path: path.to_path_buf(),
        problem: format!("cannot be read: {e}"),
    })?;
    if content.iter().all(u8::is_ascii_whitespace) {
        return Err(GitError::CredentialFile {
            path: path.to_path_buf(),
            problem: when_empty.to_owned(),
        });
    }
    Ok(())
}

/// Refuses a secret file that `ssh`/`ssh-keygen` would refuse: owned by `uid` and readable by group or others.
pub(super) fn check_private_file(path: &Path, uid: u32) -> Result<(), GitError> {
    let meta = fs::metadata(path).map_err(|e| GitError::CredentialFile {
        path: path.to_path_buf(),
        problem: format!("cannot be read: {e}"),
    })?;
    if meta.uid() == uid && meta.mode() & 0o077 != 0 {
        return Err(GitError::CredentialFile {
            path: path.to_path_buf(),
            problem: format!(
                "is readable by others (mode {:o}), which ssh refuses for a private key: make it 0600 \
                 (a Kubernetes secret volume: defaultMode 0400)",
                meta.mode() & 0o777
            ),
        });
    }
    Ok(())
}

/// A secret file's one line: readable, non-empty, no line break inside (a trailing one is dropped). The value is
/// returned only to check it; callers keep nothing but the path.
pub(super) fn read_secret_file(path: &Path) -> Result<String, GitError> {
    let problem = |problem: String| GitError::CredentialFile {
        path: path.to_path_buf(),
        problem,
    };
    let text = fs::read_to_string(path).map_err(|e| problem(format!("cannot be read: {e}")))?;
    let line = trim_line_end(&text);
    if line.is_empty() {
        return Err(problem("is empty".to_owned()));
    }
    if line.contains(['\n', '\r']) {
        return Err(problem("holds a line break inside its value".to_owned()));
    }
    Ok(line.to_owned())
}

/// `text` without one trailing `\n` or `\r\n`.
pub(super) fn trim_line_end(text: &str) -> &str {
    let text = text.strip_suffix('\n').unwrap_or(text);
    text.strip_suffix('\r').unwrap_or(text)
}

fn check_username(username: &str, file: Option<&Path>) -> Result<(), GitError> {
    let problem = if username.is_empty() {
        Some("the user name is empty")
    } else if username.chars().any(char::is_control) {
        Some("the user name holds control characters")
    } else {
        None
    };
    match problem {
        None => Ok(()),
        Some(problem) => Err(match file {
            Some(path) => GitError::CredentialFile {
                path: path.to_path_buf(),
                problem: problem.to_owned(),
            },
            None => GitError::InvalidCredentials {
                problem: problem.to_owned(),
            },
        }),
    }
}

fn absolute(path: &Path) -> Result<PathBuf, GitError> {
    std::path::absolute(path).map_err(|e| GitError::CredentialFile {
        path: path.to_path_buf(),
        problem: format!("cannot be made absolute: {e}"),
    })
}

/// A secret held in memory for a moment (the askpass's answer): `Debug` and `Display` show `<redacted>`.
pub(super) struct SecretLine(pub String);

impl fmt::Debug for SecretLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_files_are_one_line() {
        let dir = tempfile::tempdir().unwrap();
        let cases = [
            ("plain", "hunter2", Ok("hunter2")),
            ("trailing newline", "hunter2\n", Ok("hunter2")),
            ("trailing crlf", "hunter2\r\n", Ok("hunter2")),
            ("empty", "", Err("is empty")),
            ("only a newline", "\n", Err("is empty")),
            ("two lines", "a\nb\n", Err("line break")),
        ];
        for (name, content, want) in cases {
            let path = dir.path().join(name);
            fs::write(&path, content).unwrap();
            match (read_secret_file(&path), want) {
                (Ok(got), Ok(want)) => assert_eq!(got, want, "case {name}"),
                (Err(e), Err(want)) => {
                    let text = e.to_string();
                    assert!(text.contains(want), "case {name}: {text}");
                    assert!(!text.contains("hunter2"), "case {name}: {text}");
                }
                (got, want) => panic!("case {name}: got {got:?}, want {want:?}"),
            }
        }
        let missing = read_secret_file(&dir.path().join("missing")).unwrap_err();
        assert!(missing.to_string().contains("cannot be read"), "{missing}");
    }

    #[test]
    fn debug_shows_paths_not_secrets() {
        let dir = tempfile::tempdir().unwrap();
        let password = dir.path().join("password");
        fs::write(&password, "hunter2\n").unwrap();
        let creds = GitCredentials::Http(HttpCredentials::new("alice", &password).unwrap());
        let shown = format!("{creds:?}");
        assert!(
            shown.contains("alice") && shown.contains("password"),
            "{shown}"
        );
        assert!(!shown.contains("hunter2"), "{shown}");
        assert_eq!(format!("{:?}", SecretLine("hunter2".into())), "<redacted>");
    }

    #[test]
    fn private_keys_must_not_be_readable_by_others() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("key");
        fs::write(&key, "-----BEGIN OPENSSH PRIVATE KEY-----\nx\n").unwrap();
        let uid = fs::metadata(dir.path()).unwrap().uid();
        fs::set_permissions(&key, fs::Permissions::from_mode(0o644)).unwrap();
        let err = check_private_file(&key, uid).unwrap_err().to_string();
        assert!(err.contains("mode 644") && err.contains("0600"), "{err}");
        assert!(
            check_private_file(&key, uid + 1).is_ok(),
            "another owner's key is ssh's business"
        );
        fs::set_permissions(&key, fs::Permissions::from_mode(0o600)).unwrap();
        assert!(check_private_file(&key, uid).is_ok());
    }

    #[test]
    fn credentials_match_their_transport() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        fs::write(&file, "x").unwrap();
        let http = GitCredentials::Http(HttpCredentials::new("u", &file).unwrap());
        let ssh = GitCredentials::Ssh(SshCredentials::new(&file, &file).unwrap());
        let https = Transport::Http { tls: true };
        assert!(http.check_transport(https).is_ok());
        assert!(http.check_transport(Transport::Ssh).is_err());
        assert!(ssh.check_transport(Transport::Ssh).is_ok());
        assert!(ssh.check_transport(https).is_err());
        assert!(
            GitCredentials::None
                .check_transport(Transport::File)
                .is_ok()
        );
    }
}
