//! Running credential programs (`ext:` scripts and `docker-credential-*` helpers): no shell, a time limit, stdout
//! captured, stderr discarded.
//!
//! Their output is never put into an error: a failing script may well have printed the secret (think `set -x`),
//! so callers report only the program and its exit status.

use std::ffi::{OsStr, OsString};
use std::io;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::process::Command;

/// How running a program went wrong before it could report success or failure itself.
pub(super) enum RunFailure {
    Spawn(io::Error),
    Io(io::Error),
    Timeout,
}

/// What a program that ran to completion left behind.
pub(super) struct Finished {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
}

/// Runs `program args…` with `stdin` as its input. The child inherits the environment (cloud credential helpers
/// need `HOME`, `AWS_*`, `GOOGLE_APPLICATION_CREDENTIALS` …) except that `PATH` is `search_path` when given; it is
/// killed if it outlives `timeout`.
pub(super) async fn run(
    program: &Path,
    args: &[&str],
    stdin: Option<&[u8]>,
    search_path: Option<&OsStr>,
    timeout: Duration,
) -> Result<Finished, RunFailure> {
    let mut command = Command::new(program);
    command
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    if let Some(path) = search_path {
        command.env("PATH", path);
    }
    let mut child = spawn(&mut command).await.map_err(RunFailure::Spawn)?;
    let work = async {
        if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
            // A program that exits without reading its input is judged by its exit status, not by the broken pipe.
            if let Err(e) = pipe.write_all(input).await
                && e.kind() != io::ErrorKind::BrokenPipe
            {
                return Err(e);
            }
            // Dropping the pipe closes it, so a helper reading to end of input stops waiting.
        }
        child.wait_with_output().await
    };
    match tokio::time::timeout(timeout, work).await {
        Ok(Ok(output)) => Ok(Finished {
            status: output.status,
            stdout: output.stdout,
        }),
        Ok(Err(e)) => Err(RunFailure::Io(e)),
        Err(_) => Err(RunFailure::Timeout),
    }
}

/// Spawns, retrying briefly on `ETXTBSY`: a script written just before (by an installer, or a sibling thread
/// whose forked child still holds the write descriptor for an instant) cannot be executed until that closes.
async fn spawn(command: &mut Command) -> io::Result<tokio::process::Child> {
    const ETXTBSY: i32 = 26;
    let mut attempts = 0;
    loop {
        match command.spawn() {
            Err(e) if e.raw_os_error() == Some(ETXTBSY) && attempts < 5 => {
                attempts += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            result => return result,
        }
    }
}

/// The first executable file called `name` in `search_path` (or the process's `PATH`).
pub(super) async fn find_executable(name: &str, search_path: Option<&OsStr>) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt as _;
    let path: OsString = match search_path {
        Some(path) => path.to_os_string(),
        None => std::env::var_os("PATH")?,
    };
    // An empty entry would mean the working directory: never look for helpers there.
    for dir in std::env::split_paths(&path).filter(|dir| !dir.as_os_str().is_empty()) {
        let candidate = dir.join(name);
        if let Ok(meta) = tokio::fs::metadata(&candidate).await
            && meta.is_file()
            && meta.permissions().mode() & 0o111 != 0
        {
            return Some(candidate);
        }
    }
    None
}
