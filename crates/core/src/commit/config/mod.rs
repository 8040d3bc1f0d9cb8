//! The committer's configuration file (`commit --config FILE`, `watch --config FILE`), read and validated once:
//! every error names the key path at fault (`applications[1].targetRevision`) and what is wrong, in one
//! paragraph, before any repository is cloned.
//!
//! ```yaml
//! interval: 2m                  # watch's polling interval, a Go duration; default 2m, at least 1s
//! git:
//!   author: {name: argocd-image-resolver, email: noreply@argocd-image-resolver}   # the defaults
//!   signingKey: /etc/git-signing/key          # optional: an SSH private key; commits are signed (gpg.format=ssh)
//!   commitMessageTemplate: |                  # optional: argocd-image-updater's template language
//!     image-resolver: update {{ .AppName }}
//!   knownHostsFile: /etc/ssh/ssh_known_hosts  # for ssh remotes
//!   caFile: /etc/ssl/git-ca.pem               # optional: an extra CA for https remotes
//!   secretsDir: /var/run/secrets/image-resolver/git   # git:secret:<ns>/<name> → <dir>/<ns>/<name>/{username,password} or sshPrivateKey
//!   credentials:                              # Argo CD's repository credentials: the longest url prefix wins
//!   - url: https://git.example.org/org/
//!     username: bot                           # or usernameFile
//!     passwordFile: /var/run/secrets/repo/password   # exactly one of passwordFile, tokenFile, sshPrivateKeyFile
//!   - url: ssh://git@git.example.org/
//!     sshPrivateKeyFile: /var/run/secrets/repo/key
//! applications:
//! - name: web                   # the Application's name: a DNS-1123 subdomain, or <namespace>_<name>
//!   namespace: web              # its destination namespace (optional)
//!   repository: https://git.example.org/org/deploy.git   # spec.source.repoURL
//!   targetRevision: main        # a branch, or HEAD (the default): the remote's default branch
//!   path: apps/web              # spec.source.path; default "."
//!   annotations:                # the Application's annotations, as argocd-image-updater users write them
//!     argocd-image-updater.argoproj.io/image-list: web=registry/web:^1
//!     argocd-image-updater.argoproj.io/write-back-method: git
//!   parameters: {web.pin: "1.2.3"}   # spec.source.plugin.parameters, name → string
//!   env: {}                     # spec.source.plugin.env, name → value
//!   reviewBranch: false         # true: push to image-resolver/<app>; or a branch template
//! ```
//!
//! The file holds paths to secrets, never secrets: those are read by the main crate when they are used.
//!
//! # The Application's annotations
//!
//! Argo CD never passes an Application's annotations to a plugin, so `generate` in the repo server cannot see
//! them. The committer can: [`AppConfig::request`] hands each annotation with argocd-image-updater's prefix to
//! the policy sources as a plugin parameter of the same name (parameters accept keys with the prefix), so that
//! they count as Argo CD's parameters do — policy keys and write-back keys alike (write-back keys on rendered
//! objects are ignored, but an Application's are argocd-image-updater's usual place for them). Other annotations
//! are ignored. Two consequences, checked here:
//! - an annotation and a parameter setting the same key would be one source setting it twice: refused, naming
//!   both;
//! - with the lock file as target, the render would not know the images the annotations list, and would not read
//!   their lock file entries: a warning says to move the keys into parameters (source write-back, where `generate`
//!   renders the edited source as it is, needs no such move).

mod app;
mod raw;

use std::time::Duration;

use thiserror::Error;

use super::message::MessageTemplate;
use super::template::TemplateError;
use crate::argo::{ArgoRequest, PLUGIN_ENV_PREFIX};
use crate::duration::parse_go_duration;
use crate::policy::source::{PREFIX, Parameter, SourceError};
use crate::writeback::{
    BranchProblem, BranchTemplate, GitRepository, Transport, WriteBack, WriteBackError,
};
pub(in crate::commit) use app::app_path;
use app::{app_config, repository};
use raw::{RawCredential, RawFile, RawGit};

/// `interval` when the file has none.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(120);

/// The shortest `interval` accepted.
pub const MIN_INTERVAL: Duration = Duration::from_secs(1);

/// The commit author when the file names none.
pub const DEFAULT_AUTHOR_NAME: &str = "argocd-image-resolver";

/// The commit author's email when the file names none.
pub const DEFAULT_AUTHOR_EMAIL: &str = "noreply@argocd-image-resolver";

/// The branch `reviewBranch: true` pushes to.
pub const DEFAULT_REVIEW_BRANCH: &str = "image-resolver/{{.AppName}}";

/// `targetRevision` when an application has none: the remote's default branch.
pub const DEFAULT_REVISION: &str = "HEAD";

/// A validated configuration file.
#[derive(Clone, Debug)]
pub struct CommitConfig {
    /// How often `watch` looks for newer tags.
    pub interval: Duration,
    pub git: GitSettings,
    /// In the order written; names unique.
    pub applications: Vec<AppConfig>,
}

/// How the committer talks to git: `git`.
#[derive(Clone, Debug)]
pub struct GitSettings {
    pub author: Author,
    /// An SSH private key file: commits are signed with it (git's `gpg.format=ssh`).
    pub signing_key: Option<String>,
    /// The template, or [`MessageTemplate::default`].
    pub commit_message_template: MessageTemplate,
    pub known_hosts_file: Option<String>,
    pub ca_file: Option<String>,
    /// Where the secrets `write-back-method: git:secret:<namespace>/<name>` names are mounted:
    /// `<dir>/<namespace>/<name>/{username,password}` or `…/sshPrivateKey`.
    pub secrets_dir: Option<String>,
    /// Argo CD's repository credentials (`write-back-method: git`, `git:repocreds`), in the order written.
    pub credentials: Vec<RepoCredential>,
}

/// The commit author (and committer).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Author {
    pub name: String,
    pub email: String,
}

/// Credentials for every repository whose URL starts with `url`. Paths only: no secret is held.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RepoCredential {
    pub url: String,
    pub username: Option<Username>,
    pub secret: SecretFile,
}

/// The user name of an HTTP(S) credential.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Username {
    /// `username`: written in the file.
    Name(String),
    /// `usernameFile`: read from this file.
    File(String),
}

/// The file a credential's secret is read from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SecretFile {
    /// `passwordFile`, for HTTP(S), with a user name.
    Password(String),
    /// `tokenFile`, for HTTP(S), the user name optional.
    Token(String),
    /// `sshPrivateKeyFile`, for ssh; the user is the URL's.
    SshPrivateKey(String),
}

/// One application the committer looks after: what Argo CD's Application says of its source.
#[derive(Clone, Debug)]
pub struct AppConfig {
    /// `<name>`, or `<namespace>_<name>` for an Application outside Argo CD's namespace (as `ARGOCD_APP_NAME`).
    pub name: String,
    /// The destination namespace: scopes `git:secret` and pull secrets.
    pub namespace: Option<String>,
    pub repository: GitRepository,
    /// A branch name, or [`DEFAULT_REVISION`] for the remote's default branch.
    pub target_revision: String,
    /// The application's directory from the repository's root, normalised; `.` for the root.
    pub path: String,
    /// All the annotations, in the order written; only those with [`PREFIX`] are read.
    pub annotations: Vec<(String, String)>,
    /// The plugin parameters (name → string), in the order written.
    pub parameters: Vec<(String, String)>,
    /// The plugin env (name without `ARGOCD_ENV_` → value), in the order written.
    pub env: Vec<(String, String)>,
    /// The write-back keys of the annotations, parameters and env, validated.
    pub write_back: WriteBack,
    /// Where to push for review instead of `target_revision`, when set.
    pub review_branch: Option<BranchTemplate>,
}

/// Why a configuration file cannot be used: the key path (empty for the whole file) and the problem.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("{}{problem}", if at.is_empty() { String::new() } else { format!("{at}: ") })]
pub struct ConfigError {
    /// `applications[1].parameters`, `git.credentials[0].url`.
    pub at: String,
    pub problem: Box<ConfigProblem>,
}

/// What is wrong at a [`ConfigError`]'s key path.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum ConfigProblem {
    /// Not YAML, an unknown key, a missing one, a value of the wrong type: `serde_norway`'s words, with the line
    /// and column.
    #[error("{0}")]
    Yaml(String),
    #[error("the file is empty; it needs at least `applications`")]
    Empty,
    #[error(
        "lists no applications; the committer has nothing to do (write `applications: []` when \
         `watch --application-namespaces` finds them)"
    )]
    NoApplications,
    #[error("invalid duration '{input}': {problem}; use a Go duration such as 30s or 2m")]
    Duration {
        input: String,
        problem: &'static str,
    },
    #[error("{0} is too short; poll at most once a second")]
    IntervalTooShort(String),
    #[error(
        "'{0}' is not an absolute path; the committer reads it in its own file system, so write it from '/'"
    )]
    NotAbsolute(String),
    #[error("is empty")]
    EmptyValue,
    #[error(
        "'{0}' may not hold '<', '>' or a control character, which git's author line cannot carry"
    )]
    AuthorText(String),
    #[error("{0}")]
    Template(TemplateError),
    #[error("{0}")]
    Repository(String),
    #[error("{0} is listed twice; the longest matching url wins, so each is listed once")]
    CredentialTwice(String),
    #[error("gives {0}; give exactly one of passwordFile, tokenFile and sshPrivateKeyFile")]
    CredentialSecrets(&'static str),
    #[error("gives both username and usernameFile; give one")]
    UsernameTwice,
    #[error("passwordFile needs a username (username or usernameFile)")]
    PasswordWithoutUsername,
    #[error("sshPrivateKeyFile takes no username: the ssh user is the url's (ssh://git@host/…)")]
    SshWithUsername,
    #[error("{secret} is for {wanted} urls, and this url is {transport}")]
    CredentialTransport {
        secret: &'static str,
        wanted: &'static str,
        transport: &'static str,
    },
    #[error(
        "'{0}' is not an Application name: a DNS-1123 subdomain (lower-case letters, digits, '-' and '.', at most \
         253 characters), or <namespace>_<name> for an Application outside Argo CD's namespace"
    )]
    AppName(String),
    #[error("application {name} is listed twice (first at {first}); list each once")]
    AppTwice { name: String, first: String },
    #[error(
        "'{0}' is not a namespace name (lower-case letters, digits and '-', at most 63 characters)"
    )]
    Namespace(String),
    #[error("{0}")]
    Revision(BranchProblem),
    #[error(
        "'{0}' names a ref; write the branch name alone (without refs/heads/), or HEAD for the remote's default \
         branch"
    )]
    RevisionRef(String),
    #[error(
        "'{0}' is a commit; the committer pushes to a branch: write a branch name, or HEAD for the remote's \
         default branch"
    )]
    RevisionCommit(String),
    #[error("'{0}' is relative to the repository's root; remove the leading '/'")]
    PathAbsolute(String),
    #[error("{0}")]
    Path(String),
    #[error("a name is empty")]
    EmptyName,
    #[error("'{0}' cannot be an environment variable's name (it holds '=' or a control character)")]
    EnvName(String),
    #[error("sets {key}, as {other} does; set it in one place")]
    KeyTwice { key: String, other: String },
    #[error("{0}")]
    Policy(Box<SourceError>),
    #[error("{0}")]
    WriteBack(Box<WriteBackError>),
    #[error("{0}")]
    ReviewBranch(BranchProblem),
    #[error(
        "is the target revision {0} itself; a review branch is another branch, kept one commit ahead of it"
    )]
    ReviewIsTarget(String),
    #[error(
        "and git-branch '{0}' both name a branch to push to; keep one (reviewBranch, or git-branch's \
         <base>:<branch>)"
    )]
    ReviewAndGitBranch(String),
}

pub(super) fn error(at: impl Into<String>, problem: ConfigProblem) -> ConfigError {
    ConfigError {
        at: at.into(),
        problem: Box::new(problem),
    }
}

impl CommitConfig {
    /// Reads and validates the text of a configuration file.
    ///
    /// ```
    /// use std::time::Duration;
    /// use argocd_image_resolver_core::commit::CommitConfig;
    ///
    /// let config = CommitConfig::parse(
    ///     r#"
    /// interval: 30s
    /// applications:
    /// - name: web
    ///   repository: https://git.example.org/org/deploy.git
    ///   targetRevision: main
    ///   path: apps/web/
    ///   annotations:
    ///     argocd-image-updater.argoproj.io/image-list: web=ghcr.io/org/web:^1
    ///     argocd-image-updater.argoproj.io/write-back-method: git
    ///     argocd-image-updater.argoproj.io/write-back-target: kustomization
    ///     kubernetes.io/description: ignored
    ///   parameters:
    ///     web.pin: 1.10
    /// "#,
    /// )
    /// .unwrap();
    /// assert_eq!(config.interval, Duration::from_secs(30));
    /// let web = &config.applications[0];
    /// assert_eq!((web.path.as_str(), web.write_back.git().is_some()), ("apps/web", true));
    /// let request = web.request();
    /// assert_eq!(request.source_path.as_deref(), Some("apps/web"));
    /// let names: Vec<&str> = request.parameters.iter().map(|p| p.name.as_str()).collect();
    /// assert_eq!(names, [
    ///     "argocd-image-updater.argoproj.io/image-list",
    ///     "argocd-image-updater.argoproj.io/write-back-method",
    ///     "argocd-image-updater.argoproj.io/write-back-target",
    ///     "web.pin",
    /// ]);
    /// assert_eq!(request.parameter("web.pin").unwrap().string.as_deref(), Some("1.10"));
    ///
    /// let bad = CommitConfig::parse(
    ///     "applications:\n- name: web\n  repository: https://git.example.org/deploy.git\n  targetRevision: a..b\n",
    /// );
    /// assert_eq!(
    ///     bad.unwrap_err().to_string(),
    ///     "applications[0].targetRevision: 'a..b' is not a valid branch name: it holds '..'",
    /// );
    /// ```
    ///
    /// # Errors
    ///
    /// The first problem found, named by its key path: see [`ConfigProblem`].
    pub fn parse(text: &str) -> Result<CommitConfig, ConfigError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let raw: Option<RawFile> = serde_norway::from_str(text).map_err(|e| yaml_error(&e))?;
        let raw = raw.ok_or_else(|| error("", ConfigProblem::Empty))?;
        let interval = match &raw.interval {
            None => DEFAULT_INTERVAL,
            Some(text) => {
                let interval = parse_go_duration(text).map_err(|e| {
                    error(
                        "interval",
                        ConfigProblem::Duration {
                            input: e.input,
                            problem: e.problem,
                        },
                    )
                })?;
                if interval < MIN_INTERVAL {
                    return Err(error(
                        "interval",
                        ConfigProblem::IntervalTooShort(text.clone()),
                    ));
                }
                interval
            }
        };
        let git = git_settings(raw.git.unwrap_or_default())?;
        // `applications: []` written out is a choice (`watch --application-namespaces` finds them in the
        // cluster); no `applications` at all is more likely a mistake.
        let Some(raw_apps) = raw.applications else {
            return Err(error("applications", ConfigProblem::NoApplications));
        };
        let mut applications: Vec<AppConfig> = Vec::with_capacity(raw_apps.len());
        for (i, raw) in raw_apps.into_iter().enumerate() {
            let at = format!("applications[{i}]");
            if let Some(first) = applications.iter().position(|a| a.name == raw.name) {
                return Err(error(
                    format!("{at}.name"),
                    ConfigProblem::AppTwice {
                        name: raw.name,
                        first: format!("applications[{first}]"),
                    },
                ));
            }
            applications.push(app_config(&at, raw)?);
        }
        Ok(CommitConfig {
            interval,
            git,
            applications,
        })
    }
}

/// `serde_norway`'s error, its path (`applications[1].parameters.image-list: …`) made the error's key path.
fn yaml_error(e: &serde_norway::Error) -> ConfigError {
    let mut message = e.to_string();
    if let Some(at) = e.location()
        && !message.contains(" at line ")
    {
        message.push_str(&format!(" at line {} column {}", at.line(), at.column()));
    }
    match message.split_once(": ") {
        Some((path, rest))
            if !path.is_empty() && !path.contains(|c: char| c.is_whitespace() || c == '`') =>
        {
            error(path, ConfigProblem::Yaml(rest.to_string()))
        }
        _ => error("", ConfigProblem::Yaml(message)),
    }
}

fn absolute(at: &str, path: Option<String>) -> Result<Option<String>, ConfigError> {
    match path {
        Some(path) if !path.starts_with('/') || path.chars().any(char::is_control) => {
            Err(error(at, ConfigProblem::NotAbsolute(path)))
        }
        path => Ok(path),
    }
}

fn git_settings(raw: RawGit) -> Result<GitSettings, ConfigError> {
    let raw_author = raw.author.unwrap_or_default();
    let author_text = |key: &str, value: Option<String>, default: &str| match value {
        None => Ok(default.to_string()),
        Some(v) if v.trim().is_empty() => Err(error(key, ConfigProblem::EmptyValue)),
        Some(v) if v.contains(|c: char| c == '<' || c == '>' || c.is_control()) => {
            Err(error(key, ConfigProblem::AuthorText(v)))
        }
        Some(v) => Ok(v),
    };
    let author = Author {
        name: author_text("git.author.name", raw_author.name, DEFAULT_AUTHOR_NAME)?,
        email: author_text("git.author.email", raw_author.email, DEFAULT_AUTHOR_EMAIL)?,
    };
    let commit_message_template = match raw.commit_message_template {
        None => MessageTemplate::default(),
        Some(text) => MessageTemplate::parse(&text)
            .map_err(|e| error("git.commitMessageTemplate", ConfigProblem::Template(e)))?,
    };
    let mut credentials: Vec<RepoCredential> = Vec::new();
    for (i, raw) in raw.credentials.unwrap_or_default().into_iter().enumerate() {
        let at = format!("git.credentials[{i}]");
        let credential = credential(&at, raw)?;
        if credentials.iter().any(|c| c.url == credential.url) {
            return Err(error(
                format!("{at}.url"),
                ConfigProblem::CredentialTwice(credential.url),
            ));
        }
        credentials.push(credential);
    }
    Ok(GitSettings {
        author,
        signing_key: absolute("git.signingKey", raw.signing_key)?,
        commit_message_template,
        known_hosts_file: absolute("git.knownHostsFile", raw.known_hosts_file)?,
        ca_file: absolute("git.caFile", raw.ca_file)?,
        secrets_dir: absolute("git.secretsDir", raw.secrets_dir)?,
        credentials,
    })
}

fn credential(at: &str, raw: RawCredential) -> Result<RepoCredential, ConfigError> {
    let repository = repository(&format!("{at}.url"), &raw.url)?;
    let path = |key: &str, value: Option<String>| absolute(&format!("{at}.{key}"), value);
    let secrets = [
        path("passwordFile", raw.password_file)?.map(SecretFile::Password),
        path("tokenFile", raw.token_file)?.map(SecretFile::Token),
        path("sshPrivateKeyFile", raw.ssh_private_key_file)?.map(SecretFile::SshPrivateKey),
    ];
    let mut given: Vec<SecretFile> = secrets.into_iter().flatten().collect();
    let secret = match given.len() {
        1 => given.remove(0),
        0 => return Err(error(at, ConfigProblem::CredentialSecrets("none"))),
        _ => return Err(error(at, ConfigProblem::CredentialSecrets("more than one"))),
    };
    let username = match (raw.username, path("usernameFile", raw.username_file)?) {
        (Some(_), Some(_)) => return Err(error(at, ConfigProblem::UsernameTwice)),
        (Some(name), None) => Some(Username::Name(name)),
        (None, Some(file)) => Some(Username::File(file)),
        (None, None) => None,
    };
    let (name, http) = match &secret {
        SecretFile::Password(_) => ("passwordFile", true),
        SecretFile::Token(_) => ("tokenFile", true),
        SecretFile::SshPrivateKey(_) => ("sshPrivateKeyFile", false),
    };
    let transport = repository.transport();
    let is_http = matches!(transport, Transport::Https | Transport::Http);
    if http != is_http {
        return Err(error(
            at,
            ConfigProblem::CredentialTransport {
                secret: name,
                wanted: if http { "http(s)" } else { "ssh" },
                transport: transport_name(transport),
            },
        ));
    }
    match (&secret, &username) {
        (SecretFile::Password(_), None) => {
            return Err(error(at, ConfigProblem::PasswordWithoutUsername));
        }
        (SecretFile::SshPrivateKey(_), Some(_)) => {
            return Err(error(at, ConfigProblem::SshWithUsername));
        }
        _ => {}
    }
    Ok(RepoCredential {
        url: raw.url,
        username,
        secret,
    })
}

fn transport_name(transport: Transport) -> &'static str {
    match transport {
        Transport::Https => "https",
        Transport::Http => "http",
        Transport::Ssh => "ssh",
        Transport::Git => "git://",
        Transport::File => "file://",
    }
}

impl GitSettings {
    /// The repository credentials for `url`: the entry whose `url` is the longest prefix of it, as Argo CD picks
    /// repository credential templates. `None`: no entry matches.
    pub fn credential_for(&self, url: &str) -> Option<&RepoCredential> {
        self.credentials
            .iter()
            .filter(|c| url.starts_with(&c.url))
            .max_by_key(|c| c.url.len())
    }
}

impl AppConfig {
    /// The request Argo CD would send the plugin for this application, as far as the file says: name,
    /// namespace, repository URL, source path, the parameters — the prefixed annotations first, as parameters
    /// of the same name (see the module documentation), then the parameters — and the plugin env as
    /// `ARGOCD_ENV_<name>` variables. The revision, cluster version and API versions are unknown here: the
    /// committer sets the revision once it has checked the branch out.
    ///
    /// Infallible: the file was validated when read, this request included.
    pub fn request(&self) -> ArgoRequest {
        let parameters = annotation_parameters(&self.annotations)
            .chain(self.parameters.iter().map(|(name, value)| Parameter {
                name: name.clone(),
                string: Some(value.clone()),
                ..Parameter::default()
            }))
            .collect();
        let mut plugin_env: Vec<(String, String)> = self
            .env
            .iter()
            .map(|(name, value)| (format!("{PLUGIN_ENV_PREFIX}{name}"), value.clone()))
            .collect();
        plugin_env.sort();
        ArgoRequest {
            app_name: Some(self.name.clone()),
            namespace: self.namespace.clone(),
            revision: None,
            repo_url: Some(self.repository.url().to_string()),
            source_path: Some(self.path.clone()),
            kube_version: None,
            api_versions: Vec::new(),
            parameters,
            plugin_env,
        }
    }
}

/// An Application's annotations with argocd-image-updater's prefix as the plugin parameters of the same name
/// (string parameters, in the order given); the others are dropped. See the module documentation: the config
/// file's applications and the ones read from the Kubernetes API (`commit::application`) both go through here.
pub(crate) fn annotation_parameters<'a, K, V>(
    annotations: impl IntoIterator<Item = &'a (K, V)>,
) -> impl Iterator<Item = Parameter>
where
    K: AsRef<str> + 'a,
    V: AsRef<str> + 'a,
{
    annotations
        .into_iter()
        .filter(|(name, _)| name.as_ref().starts_with(PREFIX))
        .map(|(name, value)| Parameter {
            name: name.as_ref().to_string(),
            string: Some(value.as_ref().to_string()),
            ..Parameter::default()
        })
}

/// The first prefixed annotation and parameter that set the same key (with or without the prefix), as
/// `(parameter, annotation)`: one source setting a key twice, which both readers refuse.
pub(crate) fn annotation_and_parameter<'a>(
    annotations: impl IntoIterator<Item = &'a str>,
    parameters: &[&'a str],
) -> Option<(&'a str, &'a str)> {
    annotations.into_iter().find_map(|annotation| {
        let bare = annotation.strip_prefix(PREFIX)?;
        parameters
            .iter()
            .find(|name| name.strip_prefix(PREFIX).unwrap_or(name) == bare)
            .map(|parameter| (*parameter, annotation))
    })
}
