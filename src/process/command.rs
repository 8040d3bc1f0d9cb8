//! One run of a located program: argument vector, the complete environment, stdin fed or closed, stdout bounded,
//! the end of stderr kept, and on a deadline or an overlong stdout the whole process group stopped.

use std::ffi::OsString;
use std::fmt;
use std::io;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::process::Command;

use super::{Env, ProcessError, STDERR_KEPT_BYTES, Tool, display_command, trim_stderr};
use crate::size::ByteSize;

/// How long a process group gets between SIGTERM and SIGKILL, and how long its pipes may stay open after that.
const KILL_GRACE: Duration = Duration::from_secs(2);

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
    cause_on_stdout: bool,
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
    /// A command running `tool` with no arguments, no working directory change and an empty environment.
    pub(super) fn new(tool: Tool) -> Self {
        ToolCommand {
            tool,
            args: Vec::new(),
            dir: None,
            env: Env::new(),
            max_stdout: None,
            stdin: None,
            keep_stderr: true,
            cause_on_stdout: false,
        }
    }

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

    /// Sets one variable in the child's environment, on top of [`ToolCommand::env`]'s.
    pub fn env_var(mut self, name: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.env.set(name, value);
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

    /// On failure, keeps the end of stdout in the error too: for a program that prints the real cause there and
    /// only a summary on stderr (`helm dependency build`: "connection refused" on stdout, "no cached repository"
    /// on stderr). Only for output that holds no secret.
    pub fn cause_on_stdout(mut self) -> Self {
        self.cause_on_stdout = true;
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
                stdout: if self.cause_on_stdout {
                    trim_stderr(&stdout)
                } else {
                    String::new()
                },
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
