//! The one runner of external programs (kustomize, kubectl, helm, credential helpers and `ext:` scripts): argument
//! vector, caller-chosen environment, deadline.
//!
//! Every program is located once ([`Tool::locate`], [`Tool::find`]), run without a shell, with stdin closed or fed
//! a given input, output captured and only the environment variables it is given ([`Env`]): the sidecar's own
//! environment holds registry credentials, and a tool's stderr ends up in the Argo CD UI. Each child leads its own
//! process group, so that on a deadline the whole tree (helm plugins, kustomize's helm, shell wrappers, a helper's
//! forked children) is stopped, not just the first process.

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::fmt;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::process::Command;

use crate::size::ByteSize;

/// How long a process group gets between SIGTERM and SIGKILL, and how long its pipes may stay open after that.
const KILL_GRACE: Duration = Duration::from_secs(2);

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

    #[error("`{command}` failed ({}){}", describe_status(*status), stderr_suffix(stderr))]
    Failed {
        command: String,
        status: ExitStatus,
        stderr: String,
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

/// A set of environment variables: either what a child gets, or a source (a snapshot of this process's
/// environment) to look tools up in and to pick allowed variables from.
///
/// `Debug` shows only the names: values may be secrets.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Env {
    vars: BTreeMap<OsString, OsString>,
}

impl Env {
    pub fn new() -> Self {
        Self::default()
    }

    /// A snapshot of this process's environment. Hand a child only [`Env::allowed`] parts of it.
    pub fn current() -> Self {
        std::env::vars_os().collect()
    }

    /// Sets (or replaces) one variable; returns `self` for chaining.
    pub fn set(&mut self, name: impl Into<OsString>, value: impl Into<OsString>) -> &mut Self {
        self.vars.insert(name.into(), value.into());
        self
    }

    pub fn get(&self, name: &str) -> Option<&OsStr> {
        self.vars.get(OsStr::new(name)).map(OsString::as_os_str)
    }

    /// The variables whose names `allow` lists: exact names, or prefixes ending in `*` (`HELM_*`).
    pub fn allowed(&self, allow: &[&str]) -> Env {
        let permitted = |name: &OsStr| {
            let Some(name) = name.to_str() else {
                return false;
            };
            allow.iter().any(|pattern| match pattern.strip_suffix('*') {
                Some(prefix) => name.starts_with(prefix),
                None => name == *pattern,
            })
        };
        self.vars
            .iter()
            .filter(|(name, _)| permitted(name))
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&OsStr, &OsStr)> {
        self.vars
            .iter()
            .map(|(k, v)| (k.as_os_str(), v.as_os_str()))
    }
}

impl<K: Into<OsString>, V: Into<OsString>> FromIterator<(K, V)> for Env {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Self {
            vars: iter
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }
}

impl fmt::Debug for Env {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.vars.keys()).finish()
    }
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
        ToolCommand {
            tool: self.clone(),
            args: Vec::new(),
            dir: None,
            env: Env::new(),
            max_stdout: None,
            stdin: None,
            keep_stderr: true,
        }
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

/// One invocation of a [`Tool`]: arguments, working directory and the complete environment the child gets.
#[derive(Clone, Debug)]
pub struct ToolCommand {
    tool: Tool,
    args: Vec<OsString>,
    dir: Option<PathBuf>,
    env: Env,
    max_stdout: Option<ByteSize>,
    stdin: Option<Input>,
    keep_stderr: bool,
}

/// What a program is fed on stdin. `Debug` shows only its length: it may be a secret.
#[derive(Clone)]
struct Input(Vec<u8>);

impl fmt::Debug for Input {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{} bytes>", self.0.len())
    }
}

/// What a successful run printed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Output {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

/// How a run ended, successful or not (see [`ToolCommand::output`]). `Debug` shows only the output's sizes: a
/// credential helper's stdout is a secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Completed {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    /// Empty when the command discards stderr ([`ToolCommand::discard_stderr`]).
    pub stderr: Vec<u8>,
}

impl fmt::Debug for Completed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Completed")
            .field("status", &self.status)
            .field("stdout", &format_args!("<{} bytes>", self.stdout.len()))
            .field("stderr", &format_args!("<{} bytes>", self.stderr.len()))
            .finish()
    }
}

impl ToolCommand {
    pub fn arg(mut self, arg: impl Into<OsString>) -> Self {
        self.args.push(arg.into());
        self
    }

    pub fn args<I: IntoIterator<Item = S>, S: Into<OsString>>(mut self, args: I) -> Self {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    pub fn current_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.dir = Some(dir.into());
        self
    }

    /// The child's whole environment (nothing is inherited): build it with [`Env::allowed`].
    pub fn env(mut self, env: Env) -> Self {
        self.env = env;
        self
    }

    /// Stops the program once it has printed more than `limit` on stdout (see [`ToolCommand::run`]).
    pub fn max_stdout(mut self, limit: ByteSize) -> Self {
        self.max_stdout = Some(limit);
        self
    }

    /// Feeds `input` on stdin, then closes it (a credential helper reads the server URL to end of input). A program
    /// that exits without reading it all is judged by its exit status, not by the broken pipe.
    pub fn stdin(mut self, input: impl Into<Vec<u8>>) -> Self {
        self.stdin = Some(Input(input.into()));
        self
    }

    /// Sends stderr to `/dev/null`: for programs whose stderr may hold a secret (a credential script run with
    /// `set -x`), which then never enters this process.
    pub fn discard_stderr(mut self) -> Self {
        self.keep_stderr = false;
        self
    }

    /// The command line as a person would type it (`helm template app . -n ns`), quoted where needed.
    pub fn display(&self) -> String {
        display_command(&self.tool.name, &self.args)
    }

    /// Runs the command to completion. Fails when it cannot start, exits unsuccessfully, prints more on stdout than
    /// its [`ToolCommand::max_stdout`], or is still running at `deadline`. In the last two cases its process group
    /// gets SIGTERM, SIGKILL after a short grace, and this returns once the group's processes have let go of the
    /// output pipes (or the grace ran out again). Of stderr only the last [`STDERR_KEPT_BYTES`] are kept.
    pub async fn run(&self, deadline: Instant) -> Result<Output, ProcessError> {
        let Completed {
            status,
            stdout,
            stderr,
        } = self.output(deadline).await?;
        if !status.success() {
            return Err(ProcessError::Failed {
                command: self.display(),
                status,
                stderr: trim_stderr(&stderr),
            });
        }
        Ok(Output { stdout, stderr })
    }

    /// [`ToolCommand::run`], except that an unsuccessful exit is returned rather than an error: for callers that
    /// read a failing program's stdout (a credential helper's "not found" answer) or must keep its stderr out of
    /// errors.
    pub async fn output(&self, deadline: Instant) -> Result<Completed, ProcessError> {
        let command = self.display();
        let started = Instant::now();
        let allowed = deadline.saturating_duration_since(started);
        if allowed.is_zero() {
            return Err(ProcessError::TimedOut { command, allowed });
        }

        let mut cmd = Command::new(&self.tool.path);
        cmd.args(&self.args)
            .env_clear()
            .envs(self.env.iter())
            .stdin(if self.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(if self.keep_stderr {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .process_group(0)
            .kill_on_drop(true);
        if let Some(dir) = &self.dir {
            cmd.current_dir(dir);
        }
        tracing::debug!(%command, dir = ?self.dir, "running");
        let mut child = spawn(&mut cmd)
            .await
            .map_err(|source| ProcessError::Spawn {
                command: command.clone(),
                source,
            })?;
        let mut group = GroupGuard::new(child.id());
        // Written beside the reads, so a program that prints before reading all its input cannot deadlock us.
        let stdin = tokio::spawn(write_input(
            child.stdin.take(),
            self.stdin.as_ref().map(|input| input.0.clone()),
        ));
        let mut stdout = tokio::spawn(read_limited(
            child.stdout.take(),
            self.max_stdout.map(ByteSize::as_usize),
        ));
        let mut stderr = tokio::spawn(read_tail(child.stderr.take(), STDERR_KEPT_BYTES));

        let finished = tokio::time::timeout_at(tokio::time::Instant::from_std(deadline), async {
            // stdout first: past its limit the program is stopped at once, not waited for.
            let out = match (&mut stdout).await {
                Ok(Ok(Stdout::TooLarge)) => return None,
                Ok(Ok(Stdout::All(bytes))) => Ok(Ok(bytes)),
                Ok(Err(e)) => Ok(Err(e)),
                Err(e) => Err(e),
            };
            let (status, err) = tokio::join!(child.wait(), &mut stderr);
            Some((status, out, err))
        })
        .await;

        let (status, out, err) = match finished {
            Ok(Some(done)) => done,
            stopped => {
                stdin.abort();
                group.terminate(&mut child).await;
                // Wait for every holder of the pipes to exit, so nothing of this run outlives the call; a process
                // that left the group (setsid) could hold them forever, hence the bound.
                settle(stdout).await;
                settle(stderr).await;
                return Err(match stopped {
                    Ok(_) => ProcessError::OutputTooLarge {
                        command,
                        limit: self.max_stdout.unwrap_or(ByteSize(0)),
                    },
                    Err(_) => ProcessError::TimedOut { command, allowed },
                });
            }
        };
        group.disarm();

        let output_error = |source| ProcessError::Output {
            command: command.clone(),
            source,
        };
        let status = status.map_err(output_error)?;
        let stdout = joined(out).map_err(output_error)?;
        let stderr = joined(err).map_err(output_error)?;
        // A writer still blocked means a process left behind holds stdin without reading it: the program itself
        // exited, and is judged by its exit status, so the rest of the input is dropped rather than waited for.
        if stdin.is_finished() {
            joined(stdin.await).map_err(|source| ProcessError::Input {
                command: command.clone(),
                source,
            })?;
        } else {
            stdin.abort();
        }
        tracing::debug!(%command, elapsed = ?started.elapsed(), %status, "finished");
        Ok(Completed {
            status,
            stdout,
            stderr,
        })
    }
}

/// Spawns, retrying briefly on `ETXTBSY`: a script written just before (by an installer, or a sibling thread whose
/// forked child still holds the write descriptor for an instant) cannot be executed until that closes.
async fn spawn(command: &mut Command) -> io::Result<tokio::process::Child> {
    let mut attempts = 0;
    loop {
        match command.spawn() {
            Err(e)
                if e.raw_os_error() == Some(nix::errno::Errno::ETXTBSY as i32) && attempts < 5 =>
            {
                attempts += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            result => return result,
        }
    }
}

/// Writes `input` to the program's stdin and closes it (by dropping the pipe).
async fn write_input(
    pipe: Option<tokio::process::ChildStdin>,
    input: Option<Vec<u8>>,
) -> io::Result<()> {
    let (Some(mut pipe), Some(input)) = (pipe, input) else {
        return Ok(());
    };
    match pipe.write_all(&input).await {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(e),
        _ => Ok(()),
    }
}

/// What was read from a program's stdout.
enum Stdout {
    All(Vec<u8>),
    /// More than the limit: reading stopped there.
    TooLarge,
}

/// Reads `pipe` to its end, or until more than `limit` bytes came.
async fn read_limited<R: AsyncRead + Unpin>(
    pipe: Option<R>,
    limit: Option<usize>,
) -> io::Result<Stdout> {
    let mut buf = Vec::new();
    let Some(pipe) = pipe else {
        return Ok(Stdout::All(buf));
    };
    match limit {
        None => {
            let mut pipe = pipe;
            pipe.read_to_end(&mut buf).await?;
        }
        Some(limit) => {
            let wanted = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
            pipe.take(wanted).read_to_end(&mut buf).await?;
            if buf.len() > limit {
                return Ok(Stdout::TooLarge);
            }
        }
    }
    Ok(Stdout::All(buf))
}

/// Reads `pipe` to its end, keeping only its last `keep` bytes (the start may then be cut inside a character).
async fn read_tail<R: AsyncRead + Unpin>(pipe: Option<R>, keep: usize) -> io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    let Some(mut pipe) = pipe else {
        return Ok(buf);
    };
    let mut chunk = vec![0; 16 << 10];
    loop {
        let n = pipe.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
        // Drop the front only now and then, so that a long stderr costs linear time.
        if buf.len() > 2 * keep {
            buf.drain(..buf.len() - keep);
        }
    }
    if buf.len() > keep {
        buf.drain(..buf.len() - keep);
    }
    Ok(buf)
}

/// Waits a little for a reader of a stopped program's pipes, at most [`KILL_GRACE`].
async fn settle<T>(reader: tokio::task::JoinHandle<T>) {
    if !reader.is_finished() {
        let _ = tokio::time::timeout(KILL_GRACE, reader).await;
    }
}

fn joined<T>(result: Result<io::Result<T>, tokio::task::JoinError>) -> io::Result<T> {
    result.map_err(io::Error::other)?
}

/// The child's process group, killed when dropped while armed: a caller that abandons a run (its own deadline,
/// a cancelled request) leaves nothing running behind.
struct GroupGuard {
    pgid: Option<Pid>,
}

impl GroupGuard {
    fn new(pid: Option<u32>) -> Self {
        Self {
            pgid: pid.and_then(|p| i32::try_from(p).ok()).map(Pid::from_raw),
        }
    }

    fn signal(&self, signal: Signal) {
        if let Some(pgid) = self.pgid {
            // ESRCH (the group is already gone) is the outcome we want anyway.
            let _ = killpg(pgid, signal);
        }
    }

    /// SIGTERM to the group, SIGKILL after the grace (always: members other than the leader may ignore SIGTERM),
    /// and the leader reaped.
    async fn terminate(&mut self, child: &mut tokio::process::Child) {
        self.signal(Signal::SIGTERM);
        let _ = tokio::time::timeout(KILL_GRACE, child.wait()).await;
        self.signal(Signal::SIGKILL);
        let _ = child.wait().await;
        self.disarm();
    }

    fn disarm(&mut self) {
        self.pgid = None;
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        self.signal(Signal::SIGKILL);
    }
}

fn describe_status(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit status {code}"),
        (None, Some(signal)) => format!("killed by signal {signal}"),
        (None, None) => status.to_string(),
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
fn trim_stderr(stderr: &[u8]) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_stderr_to_its_end() {
        let many_lines: String = (1..=25).map(|i| format!("line {i}\n")).collect();
        let want_lines: String = (6..=25)
            .map(|i| format!("line {i}"))
            .collect::<Vec<_>>()
            .join("\n");
        let long_line = format!("{}é{}", "a".repeat(10), "b".repeat(STDERR_MAX_BYTES - 1));
        let cases: Vec<(&str, Vec<u8>, String)> = vec![
            ("empty", Vec::new(), String::new()),
            ("blank lines only", b"\n \n".to_vec(), String::new()),
            (
                "short, trimmed",
                b"\nError: bad chart\n\n".to_vec(),
                "Error: bad chart".to_owned(),
            ),
            (
                "exactly 20 lines",
                (1..=20)
                    .map(|i| format!("{i}\n"))
                    .collect::<String>()
                    .into_bytes(),
                (1..=20)
                    .map(|i| i.to_string())
                    .collect::<Vec<_>>()
                    .join("\n"),
            ),
            (
                "last 20 of 25 lines",
                many_lines.into_bytes(),
                format!("…{want_lines}"),
            ),
            // The cut would land inside `é` (2 bytes): it moves forward to the next character.
            (
                "byte limit on a char boundary",
                long_line.clone().into_bytes(),
                format!("…{}", "b".repeat(STDERR_MAX_BYTES - 1)),
            ),
            (
                "invalid UTF-8 replaced",
                b"bad \xff byte".to_vec(),
                "bad \u{fffd} byte".to_owned(),
            ),
        ];
        for (name, input, want) in cases {
            assert_eq!(trim_stderr(&input), want, "case {name}");
        }
    }

    #[test]
    fn displays_commands_as_typed() {
        let cases: [(&str, &str, &[&str], &str); 5] = [
            (
                "plain words",
                "helm",
                &["template", "app", ".", "-n", "ns"],
                "helm template app . -n ns",
            ),
            (
                "set value",
                "helm",
                &["--set", "image.tag=1.2,a=b"],
                "helm --set image.tag=1.2,a=b",
            ),
            (
                "space quoted",
                "kustomize",
                &["build", "my app"],
                "kustomize build 'my app'",
            ),
            (
                "quote escaped",
                "helm",
                &["--set", "a=it's"],
                r"helm --set 'a=it'\''s'",
            ),
            ("empty argument", "helm", &[""], "helm ''"),
        ];
        for (name, tool, args, want) in cases {
            let args: Vec<OsString> = args.iter().map(OsString::from).collect();
            assert_eq!(display_command(tool, &args), want, "case {name}");
        }
    }

    #[test]
    fn allows_only_listed_variables() {
        let env: Env = [
            ("PATH", "/usr/bin"),
            ("HOME", "/home/argocd"),
            ("HELM_CACHE_HOME", "/tmp/c"),
            ("HELMFILE", "x"),
            ("REGISTRY_PASSWORD", "hunter2"),
            ("PATHOLOGICAL", "y"),
        ]
        .into_iter()
        .collect();
        let cases: [(&str, &[&str], &[&str]); 4] = [
            ("nothing allowed", &[], &[]),
            ("exact names only", &["PATH", "HOME"], &["HOME", "PATH"]),
            (
                "prefix pattern",
                &["PATH", "HELM_*"],
                &["HELM_CACHE_HOME", "PATH"],
            ),
            ("absent name ignored", &["KUBECONFIG"], &[]),
        ];
        for (name, allow, want) in cases {
            let got = env.allowed(allow);
            let names: Vec<&str> = got.iter().map(|(k, _)| k.to_str().unwrap()).collect();
            assert_eq!(names, want, "case {name}");
        }
    }

    #[test]
    fn env_debug_hides_values() {
        let env: Env = [("REGISTRY_PASSWORD", "hunter2")].into_iter().collect();
        assert_eq!(format!("{env:?}"), r#"{"REGISTRY_PASSWORD"}"#);
    }

    #[test]
    fn describes_exit_statuses() {
        let cases = [
            ("exit code", ExitStatus::from_raw(1 << 8), "exit status 1"),
            ("signal", ExitStatus::from_raw(9), "killed by signal 9"),
        ];
        for (name, status, want) in cases {
            assert_eq!(describe_status(status), want, "case {name}");
        }
    }
}
