//! The `argocd-image-resolver` binary: parse the command line, run the subcommand, map the outcome to an exit code.

use std::process::ExitCode;

use argocd_image_resolver::cli::{self, Cli};

fn main() -> ExitCode {
    let cli: Cli = cli::parse();
    cli::init_logging(&cli.global);
    cli::exit_code(cli::run(cli))
}
