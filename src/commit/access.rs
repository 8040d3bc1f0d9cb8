//! Which git credentials an application's write-back uses, as files: Argo CD's repository credentials
//! (`write-back-method: git` or `git:repocreds`) matched by URL prefix, or a mounted secret
//! (`git:secret:[<namespace>/]<name>`). Only paths are held; git's helpers read the files when a server asks.

use std::path::{Path, PathBuf};

use crate::git::{GitCredentials, HttpCredentials, Remote, RemoteUrl, SshCredentials};
use crate::writeback::GitCredentials as CredentialsKey;

/// The credential files of one repository URL prefix (Argo CD's `repo-creds`: the longest matching prefix wins).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RepoCredentials {
    pub url_prefix: String,
    pub files: CredentialFiles,
}

/// Where a user name comes from: written in the configuration, or a file (a secret's `username` key).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UsernameSource {
    Name(String),
    File(PathBuf),
}

impl RepoCredentials {
    /// These credentials with `username` as the user name of a password or token, when given.
    pub fn with_username(mut self, username: Option<UsernameSource>) -> RepoCredentials {
        let Some(username) = username else {
            return self;
        };
        let source = Some(username);
        match &mut self.files {
            CredentialFiles::Password {
                username_file,
                username,
                ..
            }
            | CredentialFiles::Token {
                username_file,
                username,
                ..
            } => match source {
                Some(UsernameSource::Name(name)) => *username = Some(name),
                Some(UsernameSource::File(file)) => *username_file = Some(file),
                None => {}
            },
            CredentialFiles::SshKey { .. } => {}
        }
        self
    }
}

/// Where a repository's secret is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CredentialFiles {
    /// A user name and the file holding the password.
    Password {
        username: Option<String>,
        username_file: Option<PathBuf>,
        password_file: PathBuf,
    },
    /// A token file, sent as the password of `username` (or [`crate::git::TOKEN_USERNAME`]).
    Token {
        username: Option<String>,
        username_file: Option<PathBuf>,
        token_file: PathBuf,
    },
    /// An ssh private key file; the server's key must be in the known_hosts file.
    SshKey { key_file: PathBuf },
}

/// Every place the committer takes git credentials from.
#[derive(Clone, Debug, Default)]
pub struct GitAccess {
    pub repo_credentials: Vec<RepoCredentials>,
    /// Where `git:secret:<namespace>/<name>` secrets are mounted: `<dir>/<namespace>/<name>/` holding `username`
    /// and `password`, or `sshPrivateKey` (the keys of Argo CD's repository secrets).
    pub secrets_dir: Option<PathBuf>,
    /// The ssh servers' host keys.
    pub known_hosts_file: Option<PathBuf>,
    /// Extra CA certificates for https remotes.
    pub ca_file: Option<PathBuf>,
}

impl GitAccess {
    /// The remote for `url` with the credentials `key` names; `namespace` is the application's destination
    /// namespace (a secret without one is looked for there).
    ///
    /// # Errors
    ///
    /// A message saying which credentials are missing or unusable (the key, the file), for the caller to prefix
    /// with the application.
    pub fn remote(
        &self,
        url: &str,
        key: &CredentialsKey,
        namespace: Option<&str>,
    ) -> Result<Remote, String> {
        let parsed = RemoteUrl::parse(url).map_err(|e| e.to_string())?;
        let credentials = match key {
            CredentialsKey::RepoCreds => self.repo_creds(url)?,
            CredentialsKey::Secret {
                namespace: secret_namespace,
                name,
            } => self.secret(secret_namespace.as_deref().or(namespace), name)?,
        };
        let remote = Remote::new(parsed, credentials).map_err(|e| e.to_string())?;
        match &self.ca_file {
            Some(ca) if url.starts_with("https://") => {
                remote.with_ca_file(ca).map_err(|e| e.to_string())
            }
            _ => Ok(remote),
        }
    }

    fn repo_creds(&self, url: &str) -> Result<GitCredentials, String> {
        let Some(found) = self
            .repo_credentials
            .iter()
            .filter(|c| url.starts_with(&c.url_prefix))
            .max_by_key(|c| c.url_prefix.len())
        else {
            return Ok(GitCredentials::None);
        };
        let what = format!("the credentials for {}", found.url_prefix);
        let named = |username: &Option<String>, file: &Option<PathBuf>| match file {
            Some(file) => HttpCredentials::username_from_file(file)
                .map(Some)
                .map_err(|e| e.to_string()),
            None => Ok(username.clone()),
        };
        match &found.files {
            CredentialFiles::Password {
                username,
                username_file,
                password_file,
            } => {
                let username = named(username, username_file)
                    .map_err(|e| format!("{what}: {e}"))?
                    .ok_or_else(|| {
                        format!("{what}: a password needs a user name (username or usernameFile)")
                    })?;
                HttpCredentials::new(&username, password_file).map(GitCredentials::Http)
            }
            CredentialFiles::Token {
                username,
                username_file,
                token_file,
            } => {
                let username =
                    named(username, username_file).map_err(|e| format!("{what}: {e}"))?;
                HttpCredentials::token(token_file, username.as_deref()).map(GitCredentials::Http)
            }
            CredentialFiles::SshKey { key_file } => self.ssh(key_file, &what)?,
        }
        .map_err(|e| format!("{what}: {e}"))
    }

    fn secret(&self, namespace: Option<&str>, name: &str) -> Result<GitCredentials, String> {
        let shown = format!(
            "write-back-method git:secret:{}{name}",
            namespace.map(|n| format!("{n}/")).unwrap_or_default()
        );
        let Some(namespace) = namespace else {
            return Err(format!(
                "{shown}: the secret has no namespace and the application no destination namespace; write \
                 git:secret:<namespace>/{name}"
            ));
        };
        let Some(root) = &self.secrets_dir else {
            return Err(format!(
                "{shown}: no directory of mounted git secrets is configured (--git-secrets-dir, or git.secretsDir \
                 in the config file); mount the secret at <dir>/{namespace}/{name}/"
            ));
        };
        let dir = root.join(namespace).join(name);
        let file = |key: &str| dir.join(key);
        let result = if file("sshPrivateKey").is_file() {
            self.ssh(&file("sshPrivateKey"), &shown)?
        } else if file("password").is_file() && file("username").is_file() {
            HttpCredentials::from_files(&file("username"), &file("password"))
                .map(GitCredentials::Http)
        } else {
            return Err(format!(
                "{shown}: {} holds neither sshPrivateKey nor username and password",
                dir.display()
            ));
        };
        result.map_err(|e| format!("{shown}: {e}"))
    }

    fn ssh(
        &self,
        key_file: &Path,
        what: &str,
    ) -> Result<Result<GitCredentials, crate::git::GitError>, String> {
        let Some(known_hosts) = &self.known_hosts_file else {
            return Err(format!(
                "{what}: an ssh key needs the servers' host keys: set --git-known-hosts-file (git.knownHostsFile)"
            ));
        };
        Ok(SshCredentials::new(key_file, known_hosts).map(GitCredentials::Ssh))
    }
}
