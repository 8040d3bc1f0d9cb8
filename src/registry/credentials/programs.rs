//! Credential programs (`ext:` scripts and `docker-credential-*` helpers) run through [`crate::process`], and
//! their answers read.
//!
//! Their output is never put into an error, and their stderr is not even read: a failing script may well have
//! printed the secret (think `set -x`), so errors name only the program and its exit status.

use std::io;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::process::{Completed, Env, ProcessError, Tool};

use super::{Credential, CredentialError, CredentialOptions, Found, dockerconfig, source, spec};

/// How running a program went wrong before it could report success or failure itself.
enum Failure {
    Io(io::Error),
    TimedOut,
}

/// The environment of a credential program: the sidecar's own, unlike a render tool's, since cloud helpers need
/// `HOME`, `AWS_*`, `GOOGLE_APPLICATION_CREDENTIALS` … and the operator chose the program; `PATH` is the
/// configured search path when there is one.
fn environment(options: &CredentialOptions) -> Env {
    let mut env = Env::current();
    if let Some(path) = &options.search_path {
        env.set("PATH", path);
    }
    env
}

/// Runs `tool args…` with `stdin` as its input, killed with its process group if it outlives the timeout.
async fn run(
    tool: &Tool,
    args: &[&str],
    stdin: Option<&str>,
    env: Env,
    timeout: Duration,
) -> Result<Completed, Failure> {
    let mut command = tool.command().args(args).env(env).discard_stderr();
    if let Some(input) = stdin {
        command = command.stdin(input);
    }
    let now = Instant::now();
    // A timeout past the clock's range never ends a run, as with no deadline.
    let deadline = now
        .checked_add(timeout)
        .unwrap_or_else(|| now + Duration::from_secs(100 * 365 * 24 * 3600));
    command.output(deadline).await.map_err(|e| match e {
        ProcessError::TimedOut { .. } => Failure::TimedOut,
        ProcessError::Spawn { source, .. }
        | ProcessError::Output { source, .. }
        | ProcessError::Input { source, .. } => Failure::Io(source),
        // Not produced by `output` without a stdout limit; none of these carries the program's output.
        other => Failure::Io(io::Error::other(other.to_string())),
    })
}

/// Runs an `ext:` script (no arguments, no input) and reads `user:pass` from the last non-blank line it printed.
pub(super) async fn run_ext(
    options: &CredentialOptions,
    script: &Path,
) -> Result<Credential, CredentialError> {
    let finished = run(
        &Tool::at(script),
        &[],
        None,
        environment(options),
        options.command_timeout,
    )
    .await
    .map_err(|failure| match failure {
        Failure::Io(source) => CredentialError::ScriptRun {
            path: script.to_path_buf(),
            source,
        },
        Failure::TimedOut => CredentialError::ScriptTimeout {
            path: script.to_path_buf(),
            timeout: options.command_timeout,
        },
    })?;
    if !finished.status.success() {
        return Err(CredentialError::ScriptFailed {
            path: script.to_path_buf(),
            status: finished.status,
        });
    }
    let (username, password) = std::str::from_utf8(&finished.stdout)
        .ok()
        .and_then(|out| out.lines().rev().find(|line| !line.trim().is_empty()))
        .and_then(spec::parse_user_pass)
        .ok_or_else(|| CredentialError::ScriptOutput {
            path: script.to_path_buf(),
        })?;
    Ok(Credential::Basic { username, password })
}

/// Runs `docker-credential-<name> get` with the registry's server URL on stdin. A missing helper is an error for a
/// `credHelpers` entry (`required`), but only a warning for `credsStore`: configs copied from a workstation often
/// name `desktop` or `osxkeychain`.
pub(super) async fn run_helper(
    options: &CredentialOptions,
    name: &str,
    registry: &str,
    config: &Path,
    required: bool,
) -> Result<Option<Found>, CredentialError> {
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    {
        return Err(CredentialError::HelperName {
            name: name.to_string(),
            config: config.to_path_buf(),
        });
    }
    let helper = format!("docker-credential-{name}");
    let env = environment(options);
    let Some(tool) = Tool::find(&helper, &env) else {
        if required {
            return Err(CredentialError::HelperNotFound {
                helper,
                registry: registry.to_string(),
                config: config.to_path_buf(),
            });
        }
        tracing::warn!(%helper, config = %config.display(), "credsStore helper is not on PATH; ignoring it");
        return Ok(None);
    };
    let server_url = dockerconfig::helper_server_url(registry);
    let finished = run(
        &tool,
        &["get"],
        Some(&server_url),
        env,
        options.command_timeout,
    )
    .await
    .map_err(|failure| match failure {
        Failure::Io(source) => CredentialError::HelperRun {
            path: tool.path().to_path_buf(),
            source,
        },
        Failure::TimedOut => CredentialError::HelperTimeout {
            helper: helper.clone(),
            timeout: options.command_timeout,
        },
    })?;
    if !finished.status.success() {
        // The protocol's "nothing stored for this server" answer, which the docker CLI treats as anonymous.
        if String::from_utf8_lossy(&finished.stdout).trim()
            == "credentials not found in native keychain"
        {
            return Ok(None);
        }
        return Err(CredentialError::HelperFailed {
            helper,
            registry: registry.to_string(),
            status: finished.status,
        });
    }
    let credential = dockerconfig::parse_helper_reply(&finished.stdout, &helper)?;
    Ok(credential.map(|credential| (credential, source("credential-helper", helper))))
}
