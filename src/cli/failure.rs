//! Why a command failed, and how that becomes the process's exit code: 1 for no result, 2 for invalid input.

use std::io::{self, Write};
use std::process::ExitCode;

use super::message;
use crate::registry::AccessError;
use crate::spool::Spooled;

/// Why a command failed, and so which exit code it gets.
#[derive(Debug)]
pub enum Failure {
    /// The command ran but there is no right answer (exit 1).
    NoResult(String),
    /// The input is invalid (exit 2).
    Invalid(String),
}

impl Failure {
    pub(super) fn message(&self) -> &str {
        match self {
            Failure::NoResult(m) | Failure::Invalid(m) => m,
        }
    }
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
                | E::SecretMountedFlat { .. }
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

/// What a command prints on success: text, or output too large to hold that was kept aside until complete.
#[derive(Debug)]
pub enum Output {
    Text(String),
    Spooled(Spooled),
}

impl From<String> for Output {
    fn from(text: String) -> Output {
        Output::Text(text)
    }
}

/// Prints the outcome of [`run`](super::run) and turns it into the process's exit code. A closed stdout (`| head`)
/// is not an error.
pub fn exit_code(outcome: Result<Output, Failure>) -> ExitCode {
    match outcome {
        Ok(data) => {
            let mut stdout = io::stdout().lock();
            let written = match data {
                Output::Text(text) => stdout.write_all(text.as_bytes()),
                Output::Spooled(spooled) => spooled.copy_to(&mut stdout).map(drop),
            };
            match written.and_then(|()| stdout.flush()) {
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
