//! The `argocd-image-resolver` binary: parse the command line, run the subcommand, map the outcome to an exit code
//! (or, started by git as its askpass program, answer git's credential prompt).

use std::process::ExitCode;

use argocd_image_resolver::cli;

fn main() -> ExitCode {
    // Started by git as its askpass program (see `git::askpass`): answer the prompt and stop.
    if let Some(code) = argocd_image_resolver::git::askpass::serve_if_asked() {
        return code;
    }
    let cli = match cli::parse() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    cli::init_logging(&cli.global);
    cli::exit_code(cli::run(cli))
}
