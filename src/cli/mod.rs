//! The command line: the clap definitions, logging set-up, and one module per subcommand.
//!
//! Exit codes: 0 success; 1 the command ran but has no right answer (no tag satisfies the policy, a registry
//! failed); 2 the input is invalid (a bad image, constraint, pattern or file). Data goes to stdout, diagnostics to
//! stderr, and nothing is printed to stdout on error.

pub mod resolve;

use std::io::{self, Write};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

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
    /// Least severe log level written to stderr: error, warn, info, debug or trace.
    #[arg(
        long,
        global = true,
        env = "IMAGE_RESOLVER_LOG_LEVEL",
        default_value = "warn"
    )]
    pub log_level: String,
    /// Log line format on stderr.
    #[arg(long, global = true, env = "IMAGE_RESOLVER_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Pick the tag an image's policy allows and print it.
    Resolve(resolve::ResolveArgs),
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

/// Runs the parsed command line; the data to print goes to stdout only on success.
pub fn run(cli: Cli) -> Result<String, Failure> {
    match cli.command {
        Command::Resolve(args) => resolve::run(args),
    }
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
            eprintln!("argocd-image-resolver: {}", failure.message());
            ExitCode::from(match failure {
                Failure::NoResult(_) => 1,
                Failure::Invalid(_) => 2,
            })
        }
    }
}

/// Sends `tracing` events to stderr at the requested level and format; a bad level falls back to `warn`.
pub fn init_logging(global: &GlobalArgs) {
    let filter = tracing_subscriber::EnvFilter::try_new(&global.log_level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(io::stderr)
        .with_target(false);
    // A second initialisation (tests calling this twice) is harmless, so its error is ignored.
    let _ = match global.log_format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}
