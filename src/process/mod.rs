//! The one runner of external programs (kustomize, kubectl, helm, credential helpers and `ext:` scripts): argument
//! vector, caller-chosen environment, deadline.
//!
//! Every program is located once ([`Tool::locate`], [`Tool::find`]), run without a shell, with stdin closed or fed
//! a given input, output captured and only the environment variables it is given ([`Env`]): the sidecar's own
//! environment holds registry credentials, and a tool's stderr ends up in the Argo CD UI. Each child leads its own
//! process group, so that on a deadline the whole tree (helm plugins, kustomize's helm, shell wrappers, a helper's
//! forked children) is stopped, not just the first process.
//!
//! Here: locating a program ([`Tool`]) and the errors; `env` the environments handed to children; `command`
//! one run ([`ToolCommand`]: pipes, limits, deadline, process group).

mod command;
mod env;
#[cfg(test)]
mod tests;

use std::ffi::{OsStr, OsString};
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::time::Duration;

use crate::size::ByteSize;

pub use command::{Completed, Output, ToolCommand};
pub use env::Env;

/// How much of a failing program's stderr goes into an error: its end, where the reason usually is.
const STDERR_MAX_LINES: usize = 20;
const STDERR_MAX_BYTES: usize = 4096;

/// How much of a program's stderr is kept (its end): a program printing without end must not fill memory.
pub const STDERR_KEPT_BYTES: usize = 64 << 10;

/// Errors of locating and running an external program.
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    #[error("{tool} not found: install it or set {override_var} to its path")]
    NotFound { tool: String, override_var: String },

    #[error("{override_var}={value} is not an executable file: point it at {tool}")]
    BadOverride {
        tool: String,
        override_var: String,
        value: String,
    },

    #[error("cannot start `{command}`: {source}")]
    Spawn { command: String, source: io::Error },

    #[error("`{command}` failed ({}){}{}", describe_status(*status), stderr_suffix(stderr), stdout_suffix(stdout))]
    Failed {
        command: String,
        status: ExitStatus,
        stderr: String,
        /// The end of stdout, for a program that prints its cause there ([`ToolCommand::cause_on_stdout`]); else
        /// empty.
        stdout: String,
    },

    #[error("`{command}` did not finish within its deadline of {:.1}s and was killed", allowed.as_secs_f64())]
    TimedOut { command: String, allowed: Duration },

    #[error("cannot read the output of `{command}`: {source}")]
    Output { command: String, source: io::Error },

    #[error("cannot write the input of `{command}`: {source}")]
    Input { command: String, source: io::Error },

    #[error("`{command}` printed more than {limit} on stdout and was stopped")]
    OutputTooLarge { command: String, limit: ByteSize },
}

/// An external program found on disk. Its name (for messages) is the file name it was found under.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tool {
    name: String,
    path: PathBuf,
}

impl Tool {
    /// Finds `name`: the value of `override_var` in `env` when set (a path, or a bare name looked up on `PATH`),
    /// else `name` on `env`'s `PATH`. Relative and empty `PATH` entries are ignored: the working directory is the
    /// checked-out repository, which must not be able to plant a `helm` of its own.
    pub fn locate(name: &str, override_var: &str, env: &Env) -> Result<Tool, ProcessError> {
        let search_path = env.get("PATH");
        if let Some(value) = env.get(override_var).filter(|v| !v.is_empty()) {
            let found = if value.as_encoded_bytes().contains(&b'/') {
                Some(PathBuf::from(value)).filter(|p| is_executable(p))
            } else {
                find_in_path(value, search_path)
            };
            return found
                .map(Tool::at)
                .ok_or_else(|| ProcessError::BadOverride {
                    tool: name.to_owned(),
                    override_var: override_var.to_owned(),
                    value: value.to_string_lossy().into_owned(),
                });
        }
        Tool::find(name, env).ok_or_else(|| ProcessError::NotFound {
            tool: name.to_owned(),
            override_var: override_var.to_owned(),
        })
    }

    /// Finds `name` on `env`'s `PATH` only (no override variable), with [`Tool::locate`]'s rules: for programs
    /// named by configuration (`docker-credential-*`), whose absence the caller reports in its own words.
    pub fn find(name: &str, env: &Env) -> Option<Tool> {
        find_in_path(OsStr::new(name), env.get("PATH")).map(Tool::at)
    }

    /// The program at `path` as given, not looked up (an `ext:` script): a missing or non-executable file is
    /// reported by the run, as [`ProcessError::Spawn`].
    pub fn at(path: impl Into<PathBuf>) -> Tool {
        let path = path.into();
        let name = path.file_name().map_or_else(
            || path.to_string_lossy().into_owned(),
            |n| n.to_string_lossy().into_owned(),
        );
        Tool { name, path }
    }

    /// The file name the tool was found under (`helm`, `kubectl.1.32`).
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A command running this tool with no arguments, no working directory change and an empty environment.
    pub fn command(&self) -> ToolCommand {
        ToolCommand::new(self.clone())
    }
}

fn find_in_path(name: &OsStr, search_path: Option<&OsStr>) -> Option<PathBuf> {
    std::env::split_paths(search_path?)
        .filter(|dir| dir.is_absolute())
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

fn describe_status(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit status {code}"),
        (None, Some(signal)) => format!("killed by signal {signal}"),
        (None, None) => status.to_string(),
    }
}

fn stdout_suffix(stdout: &str) -> String {
    if stdout.is_empty() {
        String::new()
    } else {
        format!("; before that it printed: {stdout}")
    }
}

fn stderr_suffix(stderr: &str) -> String {
    if stderr.is_empty() {
        " with nothing on stderr".to_owned()
    } else {
        format!(": {stderr}")
    }
}

/// The end of a program's stderr: at most the last [`STDERR_MAX_LINES`] lines and [`STDERR_MAX_BYTES`] bytes,
/// trimmed, with `…` in front when something was cut.
pub(crate) fn trim_stderr(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let text = text.trim();
    let mut start = text
        .rmatch_indices('\n')
        .nth(STDERR_MAX_LINES - 1)
        .map_or(0, |(i, _)| i + 1);
    if text.len() - start > STDERR_MAX_BYTES {
        start = text.len() - STDERR_MAX_BYTES;
        while !text.is_char_boundary(start) {
            start += 1;
        }
    }
    let tail = text[start..].trim_start();
    if start == 0 {
        tail.to_owned()
    } else {
        format!("…{tail}")
    }
}

/// `name args…`, each argument single-quoted when a shell would split or expand it.
fn display_command(name: &str, args: &[OsString]) -> String {
    let mut out = quote(name);
    for arg in args {
        out.push(' ');
        out.push_str(&quote(&arg.to_string_lossy()));
    }
    out
}

fn quote(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_./=:,@+%^".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}
