//! `commit`: one round of the committer for each application — the ones a config file lists, or one repository's
//! paths named on the command line — printing what each round did. `watch` runs the same rounds on an interval.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use tokio::time::Instant;

use super::generate::{RenderArgs, open_cache, settings};
use super::{Failure, GlobalArgs, OutputFormat};
use crate::argo::ArgoRequest;
use argocd_image_resolver_core::commit::{
    DEFAULT_AUTHOR_EMAIL, DEFAULT_AUTHOR_NAME, GitSettings, SecretFile, Username,
};

use crate::commit::{
    AppSpec, CommitConfig, CommitError, Committer, CredentialFiles, DEFAULT_ATTEMPTS,
    DEFAULT_REVIEW_BRANCH, GitAccess, MessageTemplate, Outcome, RepoCredentials, Report,
    UsernameSource,
};
use crate::git::{Author, Git, GitOptions, SigningKey};
use crate::policy::source::Parameter;
use crate::registry::Registries;
use crate::resolver::RegistryCache;
use crate::writeback::BranchTemplate;

/// Which applications, and how to reach their repositories.
#[derive(Debug, Args)]
pub struct CommitArgs {
    /// The committer's config file: its applications, git credentials, author, signing and commit message
    /// (docs/committer.md). Instead of --repo, --branch and --path.
    #[arg(long, env = "IMAGE_RESOLVER_COMMIT_CONFIG", value_name = "FILE", conflicts_with_all = ["repo", "paths", "app", "params", "review_branch"])]
    pub config: Option<PathBuf>,
    /// The repository of the application(s) to commit for (https://, http://, ssh://, git://, file://).
    #[arg(long, value_name = "URL", requires = "branch")]
    pub repo: Option<String>,
    /// The branch the applications deploy (their targetRevision): commits go there, or are based on it in
    /// review-branch mode.
    #[arg(long, value_name = "BRANCH")]
    pub branch: Option<String>,
    /// An application's directory in the repository; repeat for several. Default: the repository's root.
    #[arg(long = "path", value_name = "DIR")]
    pub paths: Vec<String>,
    /// The application's name (default: the last component of its path). Only with one --path.
    #[arg(long, value_name = "NAME")]
    pub app: Option<String>,
    /// The applications' destination namespace: scopes the pull secrets and git:secret credentials they may use.
    #[arg(long, value_name = "NAMESPACE", value_parser = super::parse_namespace)]
    pub namespace: Option<String>,
    /// A plugin parameter or argocd-image-updater key, such as image-list=web=ghcr.io/org/web:^1 or
    /// write-back-target=kustomization; repeat for several.
    #[arg(long = "param", value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    /// Push to a review branch per application, kept one commit ahead of --branch, instead of to --branch. Its
    /// name is a template (default image-resolver/{{.AppName}}); only that branch is ever replaced, and only
    /// with --force-with-lease.
    #[arg(long, value_name = "TEMPLATE", num_args = 0..=1, default_missing_value = DEFAULT_REVIEW_BRANCH)]
    pub review_branch: Option<String>,
    /// How long one application's round may take: clone or fetch, render, registries, commit and push.
    #[arg(long, env = "IMAGE_RESOLVER_ROUND_TIMEOUT", default_value = "5m", value_parser = super::parse_ttl, value_name = "DURATION")]
    pub round_timeout: Duration,
    /// How long a repository's tag list answers later rounds (see generate's --tags-ttl); 0 asks every time.
    #[arg(long, env = "IMAGE_RESOLVER_TAGS_TTL", default_value = "30s", value_parser = super::parse_ttl, value_name = "DURATION")]
    pub tags_ttl: Duration,
    #[command(flatten)]
    pub git: GitArgs,
    #[command(flatten)]
    pub render: RenderArgs,
    /// Output format of the report.
    #[arg(short, long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
}

/// Git credentials, identity and signing.
#[derive(Debug, Args)]
pub struct GitArgs {
    /// Where the clones of the applications' repositories are kept (default: <cache-dir>/git). In the repo-server
    /// pod, give `watch` a volume of its own: the sidecar, which shares the cache volume, must not reach the
    /// clones the daemon pushes from.
    #[arg(long, env = "IMAGE_RESOLVER_GIT_DIR", value_name = "DIR")]
    pub git_dir: Option<PathBuf>,
    /// The user name for the password or token file (https remotes).
    #[arg(long, env = "IMAGE_RESOLVER_GIT_USERNAME", value_name = "NAME")]
    pub git_username: Option<String>,
    /// A file holding the password for --git-username.
    #[arg(long, env = "IMAGE_RESOLVER_GIT_PASSWORD_FILE", value_name = "FILE", requires = "git_username", conflicts_with_all = ["git_token_file", "git_ssh_key_file"])]
    pub git_password_file: Option<PathBuf>,
    /// A file holding an access token (sent as the password of --git-username, default x-access-token).
    #[arg(
        long,
        env = "IMAGE_RESOLVER_GIT_TOKEN_FILE",
        value_name = "FILE",
        conflicts_with = "git_ssh_key_file"
    )]
    pub git_token_file: Option<PathBuf>,
    /// An ssh private key file (ssh remotes); the server's host key must be in --git-known-hosts-file.
    #[arg(long, env = "IMAGE_RESOLVER_GIT_SSH_KEY_FILE", value_name = "FILE")]
    pub git_ssh_key_file: Option<PathBuf>,
    /// The ssh servers' host keys (known_hosts format).
    #[arg(long, env = "IMAGE_RESOLVER_GIT_KNOWN_HOSTS_FILE", value_name = "FILE")]
    pub git_known_hosts_file: Option<PathBuf>,
    /// Extra CA certificates (PEM) trusted for https remotes.
    #[arg(long, env = "IMAGE_RESOLVER_GIT_CA_FILE", value_name = "FILE")]
    pub git_ca_file: Option<PathBuf>,
    /// Where write-back-method git:secret:<namespace>/<name> secrets are mounted: <dir>/<namespace>/<name>/
    /// holding username and password, or sshPrivateKey.
    #[arg(long, env = "IMAGE_RESOLVER_GIT_SECRETS_DIR", value_name = "DIR")]
    pub git_secrets_dir: Option<PathBuf>,
    /// The commits' author and committer name (default: the config file's, else argocd-image-resolver).
    #[arg(long, env = "IMAGE_RESOLVER_GIT_AUTHOR_NAME", value_name = "NAME")]
    pub git_author_name: Option<String>,
    /// The commits' author and committer email (default: the config file's).
    #[arg(long, env = "IMAGE_RESOLVER_GIT_AUTHOR_EMAIL", value_name = "EMAIL")]
    pub git_author_email: Option<String>,
    /// A file holding the commit message template (Go template syntax, argocd-image-updater's
    /// git.commit-message-template: {{ .AppName }}, {{ range .AppChanges }}{{ .Image }} {{ .OldTag }}
    /// {{ .NewTag }}{{ end }}).
    #[arg(
        long,
        env = "IMAGE_RESOLVER_COMMIT_MESSAGE_TEMPLATE_FILE",
        value_name = "FILE"
    )]
    pub commit_message_template_file: Option<PathBuf>,
    /// Sign commits with this ssh private key (git's gpg.format=ssh).
    #[arg(long, env = "IMAGE_RESOLVER_GIT_SIGNING_KEY", value_name = "FILE")]
    pub git_signing_key: Option<PathBuf>,
}

/// `commit`: one round per application; the report on stdout. Fails (after every application had its round)
/// when one failed: exit 2 when its settings are at fault, else 1.
pub fn run(global: &GlobalArgs, args: CommitArgs) -> Result<String, Failure> {
    let config = args.config.as_deref().map(read_config).transpose()?;
    let (committer, apps, _) = setup(global, &args, config, false)?;
    // Each round has its own deadline; the whole command's is a little later, so that a round running out of
    // time is reported as that application's, naming it.
    let per_round = args.round_timeout + ROUND_MARGIN;
    let whole = per_round * u32::try_from(apps.len()).unwrap_or(u32::MAX).max(1);
    super::within(super::budget::Budget::whole(whole), "commit", async {
        let mut rounds = Vec::new();
        for app in &apps {
            let deadline = Instant::now() + args.round_timeout;
            let round = committer.round(app, deadline).await;
            rounds.push((app.name().to_owned(), round));
        }
        finish(rounds, args.output)
    })
}

/// How much later than the rounds' deadlines `commit` as a whole gives up.
const ROUND_MARGIN: std::time::Duration = std::time::Duration::from_secs(5);

/// One failed round in `-o json`: the application and the message its failure prints.
#[derive(serde::Serialize)]
struct FailedRound<'a> {
    app: &'a str,
    outcome: FailedOutcome,
}

#[derive(serde::Serialize)]
#[serde(tag = "kind", rename = "failed")]
struct FailedOutcome {
    error: String,
}

/// The reports (each failed round among them in `-o json`), then the first failure after the others were
/// logged. A round that left images unresolved (their registry did not answer) is a failure too, after its
/// report: it did not do all it should.
fn finish(
    rounds: Vec<(String, Result<Report, CommitError>)>,
    format: OutputFormat,
) -> Result<String, Failure> {
    let mut failures: Vec<(String, bool)> = Vec::new();
    let mut entries: Vec<serde_json::Value> = Vec::new();
    let mut out = String::new();
    for (app, round) in &rounds {
        match round {
            Ok(report) => {
                match format {
                    OutputFormat::Json => {
                        entries.push(serde_json::to_value(report).expect("a report serialises"))
                    }
                    OutputFormat::Text => out.push_str(&text(report)),
                }
                if !report.unresolved.is_empty() {
                    failures.push((
                        format!("application {app}: {}", report.unresolved.join("; ")),
                        report.unresolved_by_settings,
                    ));
                }
            }
            Err(error) => {
                let message = format!("application {app}: {error}");
                if format == OutputFormat::Json {
                    let failed = FailedRound {
                        app,
                        outcome: FailedOutcome {
                            error: message.clone(),
                        },
                    };
                    entries.push(serde_json::to_value(failed).expect("a failure serialises"));
                }
                failures.push((message, error.is_invalid_input()));
            }
        }
    }
    if format == OutputFormat::Json {
        out = super::json(&entries);
    }
    let Some(((first, _), rest)) = failures.split_first() else {
        return Ok(out);
    };
    for (message, _) in rest {
        tracing::error!("{message}");
    }
    // What did work is still reported.
    if !out.is_empty() {
        use std::io::Write as _;
        let _ = std::io::stdout().lock().write_all(out.as_bytes());
    }
    if failures.iter().any(|(_, invalid)| *invalid) {
        Err(Failure::Invalid(first.clone()))
    } else {
        Err(Failure::NoResult(first.clone()))
    }
}

/// One round's report as a few lines of text.
pub fn text(report: &Report) -> String {
    let mut out = match &report.outcome {
        Outcome::Committed { commit } => format!(
            "{}: committed {} to {} ({})\n",
            report.app,
            &commit[..commit.len().min(12)],
            report.branch,
            report.file
        ),
        Outcome::Unchanged if report.unresolved.is_empty() => {
            format!("{}: up to date ({})\n", report.app, report.file)
        }
        Outcome::Unchanged => format!("{}: nothing committed ({})\n", report.app, report.file),
        Outcome::UpToDate { commit } => format!(
            "{}: review branch {} already at {}\n",
            report.app,
            report.branch,
            &commit[..commit.len().min(12)]
        ),
        Outcome::ReviewEdited { commit } => format!(
            "{}: review branch {} has a commit of someone else on top ({}): left as it is; delete the branch \
             to let the committer propose again\n",
            report.app,
            report.branch,
            &commit[..commit.len().min(12)]
        ),
        Outcome::ReviewClosed { commit } => format!(
            "{}: nothing left to propose: review branch {} (at {}) deleted\n",
            report.app,
            report.branch,
            &commit[..commit.len().min(12)]
        ),
    };
    if matches!(
        report.outcome,
        Outcome::Committed { .. } | Outcome::UpToDate { .. }
    ) {
        for change in &report.changes {
            out.push_str(&format!(
                "  {}: {} → {} ({})\n",
                change.image,
                change.old.as_deref().unwrap_or("(none)"),
                change.new,
                change.policy
            ));
        }
    }
    for rejection in &report.rejected {
        out.push_str(&format!(
            "  {}: {} rejected, taken back in {}\n",
            rejection.image,
            rejection.tag,
            &rejection.reverted_in[..rejection.reverted_in.len().min(12)]
        ));
    }
    for skip in &report.skipped {
        out.push_str(&format!("  {}: {}\n", skip.key, skip.why));
    }
    for warning in &report.warnings {
        out.push_str(&format!("  warning: {warning}\n"));
    }
    for unresolved in &report.unresolved {
        out.push_str(&format!("  not resolved: {unresolved}\n"));
    }
    out
}

/// The committer and the applications `args` and its config file (already read, or `None`) describe.
pub(super) fn setup(
    global: &GlobalArgs,
    args: &CommitArgs,
    config: Option<CommitConfig>,
    discovering: bool,
) -> Result<(Committer, Vec<AppSpec>, Option<CommitConfig>), Failure> {
    let invalid = |m: String| Failure::Invalid(m);
    let apps = match &config {
        Some(config) => config_apps(config),
        // `watch` with Application discovery needs no application named here.
        None if args.repo.is_none() && discovering => Vec::new(),
        None => command_line_apps(args)?,
    };
    let git_settings = config.as_ref().map(|c| &c.git);
    let settings = settings(&args.render)?;
    let cache_dir = super::generate::cache_dir(&args.render);
    let git = Git::new(GitOptions {
        dir: args
            .git
            .git_dir
            .clone()
            .unwrap_or_else(|| cache_dir.join("git")),
        env: crate::process::Env::current(),
        askpass: std::env::current_exe()
            .map_err(|e| Failure::NoResult(format!("cannot find this program's path: {e}")))?,
    })
    .map_err(|e| Failure::NoResult(e.to_string()))?;
    let author_name = args
        .git
        .git_author_name
        .clone()
        .or_else(|| git_settings.map(|g| g.author.name.clone()))
        .unwrap_or_else(|| DEFAULT_AUTHOR_NAME.to_owned());
    let author_email = args
        .git
        .git_author_email
        .clone()
        .or_else(|| git_settings.map(|g| g.author.email.clone()))
        .unwrap_or_else(|| DEFAULT_AUTHOR_EMAIL.to_owned());
    let author = Author::new(&author_name, &author_email)
        .map_err(|e| invalid(format!("--git-author-name/--git-author-email: {e}")))?;
    let signing_key = args
        .git
        .git_signing_key
        .clone()
        .or_else(|| git_settings.and_then(|g| g.signing_key.as_ref().map(PathBuf::from)));
    let signing = signing_key
        .as_deref()
        .map(SigningKey::ssh)
        .transpose()
        .map_err(|e| invalid(format!("git signing key: {e}")))?;
    let message = match &args.git.commit_message_template_file {
        Some(file) => {
            let text = std::fs::read_to_string(file).map_err(|e| {
                invalid(format!(
                    "cannot read --commit-message-template-file {}: {e}",
                    file.display()
                ))
            })?;
            MessageTemplate::parse(&text).map_err(|e| {
                invalid(format!(
                    "--commit-message-template-file {}: {e}",
                    file.display()
                ))
            })?
        }
        None => git_settings
            .map(|g| g.commit_message_template.clone())
            .unwrap_or_default(),
    };
    let cache = RegistryCache {
        cache: open_cache(&args.render)?,
        tags_ttl: args.tags_ttl,
    };
    let registry_args = args.render.registry.clone();
    // One booking of each registry's `limit` for every namespace's clients, in the cache the renders share.
    let rates: Arc<dyn crate::registry::SharedRate> =
        crate::cache::CacheRates::new(Arc::clone(&cache.cache));
    let budget = global.budget;
    let shared = settings.shared_secret_namespaces.clone();
    // One set of clients per destination namespace (its pull-secret scope), kept across rounds: connections,
    // tokens and rate limits carry over from one round to the next.
    let built: std::sync::Mutex<HashMap<Option<String>, Arc<Registries>>> = Default::default();
    let registries = move |request: &ArgoRequest| {
        let mut built = built
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(registries) = built.get(&request.namespace) {
            return Ok(Arc::clone(registries));
        }
        let scope = crate::registry::credentials::SecretScope::new(
            request.namespace.clone(),
            shared.clone(),
        );
        let registries = super::registries_within(budget, &registry_args, Some(scope))
            .map(|r| Arc::new(r.with_rates(Arc::clone(&rates))))
            .map_err(|e| e.message().to_owned())?;
        built.insert(request.namespace.clone(), Arc::clone(&registries));
        Ok(registries)
    };
    Ok((
        Committer {
            git,
            settings,
            access: access(&args.git, args.repo.as_deref(), git_settings),
            author,
            signing,
            message,
            cache: Some(cache),
            registries: Box::new(registries),
            max_attempts: DEFAULT_ATTEMPTS,
            backoff: Duration::from_millis(200),
        },
        apps,
        config,
    ))
}

/// The config file, read and checked; its warnings logged.
pub(super) fn read_config(path: &std::path::Path) -> Result<CommitConfig, Failure> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Failure::Invalid(format!(
            "cannot read the config file {}: {e}",
            path.display()
        ))
    })?;
    let config = CommitConfig::parse(&text).map_err(|e| {
        let app = entry_name(&text, &e.at)
            .map(|name| format!("application {name}: "))
            .unwrap_or_default();
        Failure::Invalid(format!("{app}config file {}: {e}", path.display()))
    })?;
    Ok(config)
}

/// The `name` of the `applications[N]` entry a config error's key path `at` points into, when the file says it:
/// an error there names the application as a round's error does, not only its position.
fn entry_name(text: &str, at: &str) -> Option<String> {
    let index: usize = at
        .strip_prefix("applications[")?
        .split_once(']')?
        .0
        .parse()
        .ok()?;
    let value: serde_norway::Value = serde_norway::from_str(text).ok()?;
    let name = value
        .get("applications")?
        .get(index)?
        .get("name")?
        .as_str()?;
    Some(crate::escape::escape(name))
}

/// The applications of the config file.
pub(super) fn config_apps(config: &CommitConfig) -> Vec<AppSpec> {
    config
        .applications
        .iter()
        .map(|app| AppSpec {
            request: app.request(),
            branch: app.target_revision.clone(),
            review: app.review_branch.clone(),
        })
        .collect()
}

/// The git credentials the flags name (for the one repository of the command line), then the config file's.
fn access(args: &GitArgs, repo: Option<&str>, config: Option<&GitSettings>) -> GitAccess {
    let files = if let Some(password_file) = &args.git_password_file {
        Some(CredentialFiles::Password {
            username: args.git_username.clone(),
            username_file: None,
            password_file: password_file.clone(),
        })
    } else if let Some(token_file) = &args.git_token_file {
        Some(CredentialFiles::Token {
            username: args.git_username.clone(),
            username_file: None,
            token_file: token_file.clone(),
        })
    } else {
        args.git_ssh_key_file
            .clone()
            .map(|key_file| CredentialFiles::SshKey { key_file })
    };
    let mut repo_credentials: Vec<RepoCredentials> = files
        .into_iter()
        .map(|files| RepoCredentials {
            url_prefix: repo.unwrap_or_default().to_owned(),
            files,
        })
        .collect();
    let path = |p: &Option<String>| p.as_ref().map(PathBuf::from);
    if let Some(config) = config {
        repo_credentials.extend(config.credentials.iter().map(|c| {
            let username = match &c.username {
                Some(Username::Name(name)) => Some(UsernameSource::Name(name.clone())),
                Some(Username::File(file)) => Some(UsernameSource::File(PathBuf::from(file))),
                None => None,
            };
            RepoCredentials {
                url_prefix: c.url.clone(),
                files: match &c.secret {
                    SecretFile::Password(file) => CredentialFiles::Password {
                        username: None,
                        username_file: None,
                        password_file: PathBuf::from(file),
                    },
                    SecretFile::Token(file) => CredentialFiles::Token {
                        username: None,
                        username_file: None,
                        token_file: PathBuf::from(file),
                    },
                    SecretFile::SshPrivateKey(file) => CredentialFiles::SshKey {
                        key_file: PathBuf::from(file),
                    },
                },
            }
            .with_username(username)
        }));
    }
    GitAccess {
        repo_credentials,
        secrets_dir: args
            .git_secrets_dir
            .clone()
            .or_else(|| config.and_then(|c| path(&c.secrets_dir))),
        known_hosts_file: args
            .git_known_hosts_file
            .clone()
            .or_else(|| config.and_then(|c| path(&c.known_hosts_file))),
        ca_file: args
            .git_ca_file
            .clone()
            .or_else(|| config.and_then(|c| path(&c.ca_file))),
    }
}

/// The applications of `--repo`, `--branch` and `--path`.
fn command_line_apps(args: &CommitArgs) -> Result<Vec<AppSpec>, Failure> {
    let invalid = |m: String| Failure::Invalid(m);
    let (Some(repo), Some(branch)) = (&args.repo, &args.branch) else {
        return Err(invalid(
            "name the applications: --repo URL --branch BRANCH [--path DIR]...".to_owned(),
        ));
    };
    let paths = if args.paths.is_empty() {
        vec![".".to_owned()]
    } else {
        args.paths.clone()
    };
    if args.app.is_some() && paths.len() > 1 {
        return Err(invalid(
            "--app names one application: give one --path with it".to_owned(),
        ));
    }
    let parameters = args
        .params
        .iter()
        .map(|param| {
            let (name, value) = param
                .split_once('=')
                .ok_or_else(|| invalid(format!("--param '{param}' is not NAME=VALUE")))?;
            Ok(Parameter {
                name: name.trim().to_owned(),
                string: Some(value.to_owned()),
                array: None,
                map: None,
            })
        })
        .collect::<Result<Vec<_>, Failure>>()?;
    let review = args
        .review_branch
        .as_deref()
        .map(|t| {
            BranchTemplate::parse(t).map_err(|e| invalid(format!("--review-branch '{t}': {e}")))
        })
        .transpose()?;
    paths
        .iter()
        .map(|path| {
            let path = path.trim_matches('/');
            let path = if path.is_empty() { "." } else { path };
            let name = args.app.clone().unwrap_or_else(|| {
                path.rsplit('/')
                    .find(|c| !c.is_empty() && *c != ".")
                    .unwrap_or("root")
                    .to_owned()
            });
            Ok(AppSpec {
                request: ArgoRequest {
                    app_name: Some(name),
                    namespace: args.namespace.clone(),
                    repo_url: Some(repo.clone()),
                    source_path: Some(path.to_owned()),
                    parameters: parameters.clone(),
                    ..ArgoRequest::default()
                },
                branch: branch.clone(),
                review: review.clone(),
            })
        })
        .collect()
}
