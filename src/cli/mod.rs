//! The command line: the clap definitions, logging set-up, and one module per subcommand.
//!
//! Exit codes: 0 success; 1 the command ran but has no right answer (no tag satisfies the policy, a registry
//! failed); 2 the input is invalid (a bad image, constraint, pattern or file). Data goes to stdout, diagnostics to
//! stderr, and nothing is printed to stdout on error.

pub mod budget;
pub mod explain;
pub mod generate;
pub mod message;
pub mod resolve;
pub mod tags;

use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use budget::Budget;

use crate::registry::credentials::{
    CredentialOptions, CredentialSpec, CredentialStore, SecretScope,
};
use crate::registry::{AccessError, ClientOptions, Overrides, Registries, RegistriesConf, config};

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
    /// late. `init` and `generate` of one Argo CD request share it, as Argo CD's own deadline covers both.
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
    /// Directory of mounted pull secrets: <namespace>/<name>/.dockerconfigjson (or <name>/.dockerconfigjson).
    #[arg(long, env = "IMAGE_RESOLVER_PULL_SECRETS_DIR", value_name = "DIR")]
    pub pull_secrets_dir: Option<PathBuf>,
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

/// Where argocd-image-updater's images read `registries.conf` from, used when it exists and no file is named.
const DEFAULT_REGISTRIES_CONF: &str = "/app/config/registries.conf";

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

fn parse_ttl(value: &str) -> Result<Duration, String> {
    crate::registry::credentials::parse_go_duration(value)
        .map_err(|_| format!("'{value}' is not a duration such as 30s, 2m or 0"))
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
}

/// Output format of commands that print data.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    #[default]
    Text,
    Json,
}

/// Why a command failed, and so which exit code it gets.
#[derive(Debug)]
pub enum Failure {
    /// The command ran but there is no right answer (exit 1).
    NoResult(String),
    /// The input is invalid (exit 2).
    Invalid(String),
}

impl Failure {
    fn message(&self) -> &str {
        match self {
            Failure::NoResult(m) | Failure::Invalid(m) => m,
        }
    }
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
pub fn run(cli: Cli) -> Result<String, Failure> {
    match cli.command {
        Command::Resolve(args) => resolve::run(&cli.global, *args),
        Command::Tags(args) => tags::run(&cli.global, args),
        Command::Generate(args) => generate::generate(&cli.global, args),
        Command::Init(args) => generate::init(&cli.global, args),
        Command::Parameters(args) => generate::parameters(&cli.global, args),
        Command::Explain(args) => explain::run(&cli.global, *args),
    }
}

/// The registries a command may talk to, from the global options and the command's registry options.
pub fn registries(global: &GlobalArgs, args: &RegistryArgs) -> Result<Registries, Failure> {
    registries_scoped(global, args, None)
}

/// [`registries`] whose credentials may read only the mounted secrets `scope` permits (an Application's).
pub fn registries_scoped(
    global: &GlobalArgs,
    args: &RegistryArgs,
    scope: Option<SecretScope>,
) -> Result<Registries, Failure> {
    let conf_path = args.registries_conf.clone().or_else(|| {
        Path::new(DEFAULT_REGISTRIES_CONF)
            .is_file()
            .then(|| DEFAULT_REGISTRIES_CONF.into())
    });
    let conf = match &conf_path {
        None => RegistriesConf::default(),
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| {
                Failure::Invalid(format!(
                    "cannot read registries.conf {}: {e}",
                    path.display()
                ))
            })?;
            config::parse(&text)
                .map_err(|e| Failure::Invalid(format!("invalid {}: {e}", path.display())))?
        }
    };
    let mut options = CredentialOptions::from_env();
    if let Some(dir) = &args.docker_config {
        options.docker_config_dir = Some(dir.clone());
    }
    options.pull_secrets_dir = args.pull_secrets_dir.clone();
    options.pull_secret_scope = scope;
    let client_options = ClientOptions {
        deadline: global.budget.min(ClientOptions::default().deadline),
        max_response_size: args.max_response_size,
        ..ClientOptions::default()
    };
    Ok(
        Registries::new(conf, CredentialStore::new(options), client_options).with_overrides(
            Overrides {
                insecure: args.insecure,
                ca_file: args.ca_file.clone(),
            },
        ),
    )
}

/// The explicit credential spec of `--credentials`, validated.
pub fn credential_spec(args: &CredentialArgs) -> Result<Option<CredentialSpec>, Failure> {
    args.credentials
        .as_deref()
        .map(CredentialSpec::parse)
        .transpose()
        .map_err(|e| Failure::Invalid(format!("invalid --credentials: {e}")))
}

/// A failure to reach or use a registry: bad configuration (registries.conf, a credential spec, a docker config or
/// pull secret that cannot be read as one) is invalid input, anything else (a registry, a credential program or
/// the network failing) has no result.
pub fn access_failure(error: AccessError) -> Failure {
    use crate::registry::credentials::CredentialError as E;
    let invalid = match &error {
        AccessError::Config { .. } | AccessError::ConfSpec { .. } => true,
        AccessError::Credential { source, .. } => matches!(
            source,
            E::InvalidSpec(_)
                | E::InvalidDuration(_)
                | E::RegistryMismatch { .. }
                | E::EnvNotSet { .. }
                | E::EnvMalformed { .. }
                | E::NoPullSecretsDir { .. }
                | E::SecretNotMounted { .. }
                | E::SecretMalformed { .. }
                | E::NoAuthInPullSecret { .. }
                | E::DockerConfigSyntax { .. }
                | E::AuthEntry { .. }
                | E::HelperName { .. }
                | E::HelperNotFound { .. }
                | E::MetadataHost { .. }
        ),
        AccessError::Client(_) => false,
    };
    if invalid {
        Failure::Invalid(error.to_string())
    } else {
        Failure::NoResult(error.to_string())
    }
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

/// Prints the outcome of [`run`] and turns it into the process's exit code. A closed stdout (`| head`) is not an
/// error.
pub fn exit_code(outcome: Result<String, Failure>) -> ExitCode {
    match outcome {
        Ok(data) => {
            let mut stdout = io::stdout().lock();
            match stdout
                .write_all(data.as_bytes())
                .and_then(|()| stdout.flush())
            {
                Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
                    eprintln!("argocd-image-resolver: cannot write the output: {e}");
                    ExitCode::from(1)
                }
                _ => ExitCode::SUCCESS,
            }
        }
        Err(failure) => {
            eprint!("{}", message::paragraph(failure.message()));
            ExitCode::from(match failure {
                Failure::NoResult(_) => 1,
                Failure::Invalid(_) => 2,
            })
        }
    }
}

/// Sends `tracing` events to stderr at the requested level and format.
pub fn init_logging(global: &GlobalArgs) {
    // Argo CD shows a failing command's stderr in its UI: colour codes only for a person at a terminal.
    let ansi = io::stderr().is_terminal();
    let json = global.log_format == LogFormat::Json;
    let builder = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::from(global.log_level))
        .with_writer(move || message::SafeStderr { json, ansi })
        .with_ansi(ansi)
        .with_target(false);
    // A second initialisation (tests calling this twice) is harmless, so its error is ignored.
    let _ = match global.log_format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

/// How many warnings of one kind are shown before the rest are only counted.
const REPEATED_WARNINGS: usize = 3;

/// `warnings` as the lines to log: each kind of warning (the same text once quoted values are left out) at most
/// [`REPEATED_WARNINGS`] times, then one line counting the rest, after the last one shown. A 10,000-entry
/// image-list must not print 10,000 lines into the sidecar's log.
pub fn condensed(warnings: impl IntoIterator<Item = impl ToString>) -> Vec<String> {
    /// The warning with each '…' quoted value replaced by an ellipsis.
    fn kind(warning: &str) -> String {
        let mut out = String::with_capacity(warning.len());
        let mut quoted = false;
        for c in warning.chars() {
            if c == '\'' {
                quoted = !quoted;
                out.push_str(if quoted { "'…" } else { "'" });
            } else if !quoted {
                out.push(c);
            }
        }
        out
    }
    let mut kinds: Vec<(String, usize, usize)> = Vec::new(); // kind, count, index of the last line shown
    let mut lines: Vec<String> = Vec::new();
    for warning in warnings {
        let warning = warning.to_string();
        let this = kind(&warning);
        match kinds.iter_mut().find(|(k, _, _)| *k == this) {
            Some((_, count, _)) if *count >= REPEATED_WARNINGS => *count += 1,
            Some((_, count, last)) => {
                *count += 1;
                lines.push(warning);
                *last = lines.len() - 1;
            }
            None => {
                lines.push(warning);
                kinds.push((this, 1, lines.len() - 1));
            }
        }
    }
    // Insert the counts from the end, so the recorded positions stay right.
    kinds.sort_by_key(|(_, _, last)| std::cmp::Reverse(*last));
    for (kind, count, last) in kinds {
        if count > REPEATED_WARNINGS {
            lines.insert(
                last + 1,
                format!("{} more warnings like: {kind}", count - REPEATED_WARNINGS),
            );
        }
    }
    lines
}

/// Logs `warnings`, each prefixed, [`condensed`].
pub fn warn_all(prefix: &str, warnings: impl IntoIterator<Item = impl ToString>) {
    for line in condensed(warnings) {
        tracing::warn!("{prefix}{line}");
    }
}

/// Pretty JSON with a final newline, for `-o json`.
fn json(value: &impl serde::Serialize) -> String {
    let mut out =
        serde_json::to_string_pretty(value).expect("reports of strings and numbers serialise");
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_warnings_are_counted() {
        let overlap = |i: usize| {
            format!(
                "alias 'a0' and alias 'a{i}' both match the images of x; alias 'a0' governs them"
            )
        };
        let mut many: Vec<String> = (1..10_000).map(overlap).collect();
        many.insert(2, "env X: ignored".to_string());
        many.push("env Y: ignored".to_string());
        assert_eq!(
            condensed(&many),
            vec![
                overlap(1),
                overlap(2),
                "env X: ignored".to_string(),
                overlap(3),
                "9996 more warnings like: alias '…' and alias '…' both match the images of x; alias '…' governs \
                 them"
                    .to_string(),
                "env Y: ignored".to_string(),
            ],
            "regression: a 10,000-alias image-list printed 9,999 warnings"
        );
        let few: Vec<String> = (1..=3).map(overlap).collect();
        assert_eq!(condensed(&few), few, "up to the limit, all are shown");
    }

    #[test]
    fn budgets_are_positive_and_at_most_an_hour() {
        let cases: &[(&str, &str, Result<Duration, &str>)] = &[
            ("seconds", "40s", Ok(Duration::from_secs(40))),
            ("mixed units", "1m30s", Ok(Duration::from_secs(90))),
            ("the maximum", "1h", Ok(Duration::from_secs(3600))),
            (
                "just over the maximum",
                "1h0m0.001s",
                Err(
                    "'1h0m0.001s' is more than the maximum of 1h: Argo CD gives a whole manifest request a \
                     minute by default",
                ),
            ),
            (
                "regression: i64::MAX seconds overflowed Instant::now() + budget (exit 101)",
                "9223372036854775807s",
                Err(
                    "'9223372036854775807s' is more than the maximum of 1h: Argo CD gives a whole manifest \
                     request a minute by default",
                ),
            ),
            (
                "zero",
                "0s",
                Err("'0s' is not a positive duration such as 40s or 1m30s"),
            ),
            (
                "words",
                "soon",
                Err("'soon' is not a positive duration such as 40s or 1m30s"),
            ),
        ];
        for (name, value, want) in cases {
            assert_eq!(parse_budget(value), want.map_err(String::from), "{name}");
        }
    }

    /// Every flag a command's help lists does something for it: commands take only the options they use.
    #[test]
    fn commands_take_only_the_options_they_use() {
        let parses = |args: &[&str]| {
            command()
                .try_get_matches_from(
                    std::iter::once("argocd-image-resolver").chain(args.iter().copied()),
                )
                .is_ok()
        };
        let cases: &[(&str, &[&str], bool)] = &[
            ("init: the app dir", &["init", "--app-dir", "."], true),
            (
                "init renders nothing",
                &["init", "--kustomize-args", "--enable-helm"],
                false,
            ),
            (
                "init resolves nothing",
                &["init", "--image-paths", "spec.image"],
                false,
            ),
            (
                "init asks no registry",
                &["init", "--registries-conf", "r.conf"],
                false,
            ),
            (
                "init keeps nothing",
                &["init", "--cache-dir", "/tmp"],
                false,
            ),
            (
                "generate shares tag lists",
                &["generate", "--tags-ttl", "0"],
                true,
            ),
            (
                "parameters shares tag lists",
                &["parameters", "--tags-ttl", "1m"],
                true,
            ),
            (
                "explain always asks",
                &["explain", "--tags-ttl", "0"],
                false,
            ),
            (
                "explain reads the cache",
                &["explain", "--cache-dir", "/tmp"],
                true,
            ),
        ];
        for (name, args, want) in cases {
            assert_eq!(parses(args), *want, "{name}");
        }
    }
}
