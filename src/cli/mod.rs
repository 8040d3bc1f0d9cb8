//! The command line: the clap definitions and the dispatch, one module per subcommand, and the helpers they share:
//! `failure` (what failed and its exit code), `logging` (set-up, condensed warnings), `registries` (the registry
//! clients and credentials the options describe).
//!
//! Exit codes: 0 success; 1 the command ran but has no right answer (no tag satisfies the policy, a registry
//! failed); 2 the input is invalid (a bad image, constraint, pattern or file). Data goes to stdout, diagnostics to
//! stderr, and nothing is printed to stdout on error.

pub mod budget;
pub mod commit;
pub mod explain;
pub mod generate;
pub mod message;
pub mod resolve;
pub mod tags;
pub mod watch;

mod failure;
mod logging;
mod registries;
#[cfg(test)]
mod tests;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use budget::Budget;

pub use failure::{Failure, Output, access_failure, exit_code};
pub use logging::{condensed, init_logging, warn_all};
pub use registries::{credential_spec, registries, registries_scoped, registries_within};

/// Resolve container image tags from OCI registries while Argo CD renders an application.
#[derive(Debug, Parser)]
#[command(name = "argocd-image-resolver", version, about, max_term_width = 110)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every subcommand takes; each is also an `IMAGE_RESOLVER_*` environment variable.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Least severe log level written to stderr.
    #[arg(
        long,
        global = true,
        env = "IMAGE_RESOLVER_LOG_LEVEL",
        value_enum,
        ignore_case = true,
        default_value_t = LogLevel::Warn
    )]
    pub log_level: LogLevel,
    /// Log line format on stderr.
    #[arg(long, global = true, env = "IMAGE_RESOLVER_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Time budget of one command, such as 40s or 1m30s, at most 1h: past it the command fails rather than run
    /// late. It bounds: for `init` and `generate` of one Argo CD request, both together (Argo CD's own deadline
    /// covers both: rendering, every registry request and the output); for `parameters`, preparing, rendering and
    /// resolving; for `explain`, the whole report; for `resolve` and `tags`, the registry conversation. In the
    /// sidecar keep it under Argo CD's deadline for the request (`controller.repo.server.timeout.seconds`, 60s by
    /// default).
    #[arg(long, global = true, env = "IMAGE_RESOLVER_BUDGET", default_value = "40s", value_parser = parse_budget)]
    pub budget: Duration,
}

/// Options of the commands that talk to registries.
#[derive(Clone, Debug, Args)]
pub struct RegistryArgs {
    /// argocd-image-updater's registries.conf (api_url, credentials, insecure, limit per registry). Default:
    /// /app/config/registries.conf when that file exists.
    #[arg(long, env = "IMAGE_RESOLVER_REGISTRIES_CONF", value_name = "FILE")]
    pub registries_conf: Option<PathBuf>,
    /// Directory holding docker's config.json (auths, credHelpers, credsStore). Default: $DOCKER_CONFIG, else
    /// ~/.docker.
    #[arg(long, env = "IMAGE_RESOLVER_DOCKER_CONFIG", value_name = "DIR")]
    pub docker_config: Option<PathBuf>,
    /// Directory of mounted pull secrets: <namespace>/<name>/.dockerconfigjson, the namespace being the one the
    /// Secret comes from.
    #[arg(long, env = "IMAGE_RESOLVER_PULL_SECRETS_DIR", value_name = "DIR")]
    pub pull_secrets_dir: Option<PathBuf>,
    /// The one namespace whose secrets are mounted flat in the pull-secrets directory (<name>/.dockerconfigjson,
    /// no namespace directory): they are read as that namespace's secrets, and for no other namespace. Unset:
    /// only <namespace>/<name>/ is read.
    #[arg(
        long,
        env = "IMAGE_RESOLVER_PULL_SECRETS_FLAT_NAMESPACE",
        value_name = "NAMESPACE",
        value_parser = parse_namespace
    )]
    pub pull_secrets_flat_namespace: Option<String>,
    /// Skip TLS certificate verification of registries (argocd-image-updater's `insecure`).
    #[arg(long, env = "IMAGE_RESOLVER_INSECURE")]
    pub insecure: bool,
    /// Extra trusted CA certificates (PEM) for registries.
    #[arg(long, env = "IMAGE_RESOLVER_CA_FILE", value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
    /// Largest answer read from a registry: a tag list, all its pages together (manifests, configs and tokens
    /// have smaller fixed limits). Sizes as in Kubernetes: 16Mi, 64Mi, 100MB.
    #[arg(long, env = "IMAGE_RESOLVER_MAX_RESPONSE_SIZE", value_name = "SIZE", default_value_t = crate::registry::client::DEFAULT_MAX_RESPONSE_SIZE)]
    pub max_response_size: crate::size::ByteSize,
}

/// The `--credentials` option of the commands that query one image's registry.
#[derive(Clone, Debug, Args)]
pub struct CredentialArgs {
    /// Credentials for the image's registry, as argocd-image-updater's pull-secret: env:VAR (user:pass),
    /// ext:/path/to/script, pullsecret:<namespace>/<name>, secret:<namespace>/<name>#<field>.
    #[arg(long, env = "IMAGE_RESOLVER_CREDENTIALS", value_name = "SPEC")]
    pub credentials: Option<String>,
}

fn parse_budget(value: &str) -> Result<Duration, String> {
    match crate::registry::credentials::parse_go_duration(value) {
        Ok(d) if d > budget::MAX_BUDGET => Err(format!(
            "'{value}' is more than the maximum of 1h: Argo CD gives a whole manifest request a minute by default"
        )),
        Ok(d) if !d.is_zero() => Ok(d),
        _ => Err(format!(
            "'{value}' is not a positive duration such as 40s or 1m30s"
        )),
    }
}

fn parse_namespace(value: &str) -> Result<String, String> {
    if crate::registry::credentials::is_dns_label(value) {
        Ok(value.to_string())
    } else {
        Err(format!(
            "'{value}' is not a Kubernetes namespace name (a DNS-1123 label: lower-case letters, digits and '-')"
        ))
    }
}

fn parse_ttl(value: &str) -> Result<Duration, String> {
    crate::registry::credentials::parse_go_duration(value)
        .map_err(|_| format!("'{value}' is not a duration such as 30s, 2m or 0"))
}

/// `--cache-max-age`: a Go duration as for [`parse_ttl`], whose example is in hours (Go durations have no days).
fn parse_cache_age(value: &str) -> Result<Duration, String> {
    crate::registry::credentials::parse_go_duration(value)
        .map_err(|_| format!("'{value}' is not a duration such as 720h (30 days), 24h or 0"))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogLevel {
    Error,
    #[value(alias = "warning")]
    Warn,
    Info,
    Debug,
    Trace,
}

impl From<LogLevel> for tracing::Level {
    fn from(level: LogLevel) -> Self {
        match level {
            LogLevel::Error => tracing::Level::ERROR,
            LogLevel::Warn => tracing::Level::WARN,
            LogLevel::Info => tracing::Level::INFO,
            LogLevel::Debug => tracing::Level::DEBUG,
            LogLevel::Trace => tracing::Level::TRACE,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Pick the tag an image's policy allows and print it.
    Resolve(Box<resolve::ResolveArgs>),
    /// List an image's tags as its registry returns them (for debugging credentials and registries.conf).
    Tags(tags::TagsArgs),
    /// Render the application in the current directory, resolve its images, print the manifests (Argo CD's
    /// generate step).
    Generate(generate::GenerateArgs),
    /// Prepare the application before generate: build a Helm chart's missing dependencies (Argo CD's init step).
    Init(generate::InitArgs),
    /// Print Argo CD dynamic parameters: one `<alias>.pin` per tracked image, holding its resolved tag.
    Parameters(generate::GenerateArgs),
    /// Explain, for an application directory, each image's policy and where its keys came from, the registry and
    /// credential asked, the tags dropped by each filter, and the winner and why.
    Explain(Box<explain::ExplainArgs>),
    /// Record the tags the applications' policies resolve now in git, one commit per application: in its lock
    /// file, or where its source declares them (argocd-image-updater's write-back-method: git).
    Commit(Box<commit::CommitArgs>),
    /// Run the committer as a daemon: a round for every application of the config file each interval, until
    /// SIGTERM.
    Watch(Box<watch::WatchArgs>),
    /// Print a shell completion script: `source <(argocd-image-resolver completions bash)`.
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
}

/// Output format of commands that print data.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    #[default]
    Text,
    Json,
}

/// The options an Application may set for itself through plugin env. The others stay the operator's: whoever can
/// edit an Application must not be able to point `registries.conf`, docker config, pull secrets or CA trust at
/// files of their choosing (sending credentials elsewhere), share-poison the cache, or hand `kustomize build` a
/// `--helm-command` to run in the sidecar.
const APPLICATION_OPTIONS: &[&str] = &[
    "IMAGE_RESOLVER_LOG_LEVEL",
    "IMAGE_RESOLVER_LOG_FORMAT",
    "IMAGE_RESOLVER_BUDGET",
    "IMAGE_RESOLVER_RECURSE",
    "IMAGE_RESOLVER_IMAGE_PATHS",
    "IMAGE_RESOLVER_TAGS_TTL",
];

/// The clap command, with one adjustment for Argo CD: an Application's plugin env reaches the plugin as
/// `ARGOCD_ENV_<name>`, so where `ARGOCD_ENV_IMAGE_RESOLVER_X` is set it takes the place of the sidecar's
/// `IMAGE_RESOLVER_X`, for the options in [`APPLICATION_OPTIONS`] only.
pub fn command() -> clap::Command {
    let present = |name: &str| {
        APPLICATION_OPTIONS.contains(&name)
            && std::env::var_os(format!("ARGOCD_ENV_{name}")).is_some()
    };
    fn adjust(cmd: clap::Command, present: &dyn Fn(&str) -> bool) -> clap::Command {
        let overridden: Vec<(clap::Id, String)> = cmd
            .get_arguments()
            .filter_map(|arg| {
                let env = arg.get_env()?.to_str()?;
                (env.starts_with("IMAGE_RESOLVER_") && present(env))
                    .then(|| (arg.get_id().clone(), format!("ARGOCD_ENV_{env}")))
            })
            .collect();
        let cmd = overridden
            .into_iter()
            .fold(cmd, |cmd, (id, env)| cmd.mut_arg(id, |arg| arg.env(env)));
        let names: Vec<String> = cmd
            .get_subcommands()
            .map(|s| s.get_name().to_string())
            .collect();
        names.into_iter().fold(cmd, |cmd, name| {
            cmd.mut_subcommand(name, |sub| adjust(sub, present))
        })
    }
    adjust(<Cli as clap::CommandFactory>::command(), &present)
}

/// Parses the process's command line with [`command`]. `Err` is the exit code when there is nothing to run:
/// `--help` and `--version` (printed to stdout, 0), or a usage error (one paragraph on stderr, see
/// [`message::usage`], 2).
pub fn parse() -> Result<Cli, ExitCode> {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    parse_from(&args)
}

fn parse_from(args: &[std::ffi::OsString]) -> Result<Cli, ExitCode> {
    let command = command();
    let parsed = command
        .clone()
        .try_get_matches_from(args)
        .and_then(|matches| <Cli as clap::FromArgMatches>::from_arg_matches(&matches));
    match parsed {
        Ok(cli) => Ok(cli),
        Err(e)
            if matches!(
                e.kind(),
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion
            ) =>
        {
            // A closed stdout (`--help | head`) is not an error.
            let _ = e.print();
            Err(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprint!(
                "{}",
                message::paragraph(&message::usage(&e, &command, args))
            );
            Err(ExitCode::from(2))
        }
    }
}

/// Runs the parsed command line; the data to print goes to stdout only on success.
pub fn run(cli: Cli) -> Result<Output, Failure> {
    match cli.command {
        Command::Resolve(args) => resolve::run(&cli.global, *args).map(Output::from),
        Command::Tags(args) => tags::run(&cli.global, args).map(Output::from),
        Command::Generate(args) => generate::generate(&cli.global, args).map(Output::Spooled),
        Command::Init(args) => generate::init(&cli.global, args).map(Output::from),
        Command::Parameters(args) => generate::parameters(&cli.global, args).map(Output::from),
        Command::Explain(args) => explain::run(&cli.global, *args).map(Output::from),
        Command::Commit(args) => commit::run(&cli.global, *args).map(Output::from),
        Command::Watch(args) => watch::run(&cli.global, *args).map(Output::from),
        Command::Completions { shell } => Ok(Output::Text(completions(shell))),
    }
}

/// The completion script for `shell`, of the command line as `--help` shows it.
fn completions(shell: clap_complete::Shell) -> String {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command(), "argocd-image-resolver", &mut script);
    String::from_utf8_lossy(&script).into_owned()
}

/// Runs `work` on a runtime for this command, within the global budget.
pub fn within_budget<T>(
    global: &GlobalArgs,
    what: &str,
    work: impl std::future::Future<Output = Result<T, Failure>>,
) -> Result<T, Failure> {
    within(Budget::whole(global.budget), what, work)
}

/// Runs `work` on a runtime for this command, within `budget`.
pub fn within<T>(
    budget: Budget,
    what: &str,
    work: impl std::future::Future<Output = Result<T, Failure>>,
) -> Result<T, Failure> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::NoResult(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async {
        tokio::time::timeout(budget.left(), work)
            .await
            .unwrap_or_else(|_| {
                Err(Failure::NoResult(format!(
                    "{what} did not finish within {budget} (--budget / IMAGE_RESOLVER_BUDGET)"
                )))
            })
    })
}

/// Prints `data` (a report that is the point even when the command fails: `explain`, `resolve -o json`), then
/// returns the failure `message`. A closed stdout (`| head`) is no reason for a second message.
fn print_then_fail<T>(data: &str, message: String) -> Result<T, Failure> {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    let _ = stdout
        .write_all(data.as_bytes())
        .and_then(|()| stdout.flush());
    Err(Failure::NoResult(message))
}

/// Pretty JSON with a final newline, for `-o json`.
fn json(value: &impl serde::Serialize) -> String {
    let mut out =
        serde_json::to_string_pretty(value).expect("reports of strings and numbers serialise");
    out.push('\n');
    out
}
