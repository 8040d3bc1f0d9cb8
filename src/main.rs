//! The `argocd-image-resolver` binary: parse the command line, run the subcommand, map the outcome to an exit code.

use std::process::ExitCode;

use argocd_image_resolver::cli;

fn main() -> ExitCode {
    let cli = match cli::parse() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    cli::init_logging(&cli.global);
    cli::exit_code(cli::run(cli))
}
