//! The process runner against real programs: location, environment, failures, deadlines.

mod support_render;

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use argocd_image_resolver::process::{Env, ProcessError, STDERR_KEPT_BYTES, Tool};
use argocd_image_resolver::size::ByteSize;
use support_render::{fake_tool, generous_deadline, process_ended};

fn env_with_path(path: &std::path::Path) -> Env {
    let mut env = Env::new();
    env.set("PATH", path);
    env
}

#[test]
fn locates_tools() {
    let tmp = tempfile::tempdir().unwrap();
    let bin = tmp.path().join("bin");
    let helm = fake_tool(&bin, "helm", "exit 0");
    let other = fake_tool(&tmp.path().join("other"), "helm3", "exit 0");
    std::fs::write(bin.join("not-executable"), "").unwrap();
    // `bin` as a path relative to the working directory: found there, were relative entries honoured.
    let cwd = std::env::current_dir().unwrap();
    let mut relative = PathBuf::new();
    for _ in cwd.components().skip(1) {
        relative.push("..");
    }
    relative.push(bin.strip_prefix("/").unwrap());
    assert!(
        relative.join("helm").is_file(),
        "precondition: {} names the fake helm",
        relative.display()
    );

    type Case<'a> = (
        &'a str,
        Vec<(&'a str, OsString)>,
        &'a str,
        Result<PathBuf, String>,
    );
    let cases: Vec<Case> = vec![
        (
            "on PATH",
            vec![("PATH", bin.clone().into())],
            "helm",
            Ok(helm.clone()),
        ),
        (
            "relative PATH entries skipped",
            vec![("PATH", relative.clone().into())],
            "helm",
            Err("helm not found: install it or set IMAGE_RESOLVER_HELM to its path".to_owned()),
        ),
        (
            "override path",
            vec![
                ("PATH", bin.clone().into()),
                ("IMAGE_RESOLVER_HELM", other.clone().into()),
            ],
            "helm",
            Ok(other.clone()),
        ),
        (
            "override bare name looked up on PATH",
            vec![
                ("PATH", other.parent().unwrap().into()),
                ("IMAGE_RESOLVER_HELM", "helm3".into()),
            ],
            "helm",
            Ok(other.clone()),
        ),
        (
            "empty override ignored",
            vec![
                ("PATH", bin.clone().into()),
                ("IMAGE_RESOLVER_HELM", "".into()),
            ],
            "helm",
            Ok(helm.clone()),
        ),
        (
            "missing",
            vec![("PATH", tmp.path().into())],
            "helm",
            Err("helm not found: install it or set IMAGE_RESOLVER_HELM to its path".to_owned()),
        ),
        (
            "no PATH at all",
            vec![],
            "helm",
            Err("helm not found: install it or set IMAGE_RESOLVER_HELM to its path".to_owned()),
        ),
        (
            "not executable",
            vec![("PATH", bin.clone().into())],
            "not-executable",
            Err(
                "not-executable not found: install it or set IMAGE_RESOLVER_HELM to its path"
                    .to_owned(),
            ),
        ),
        (
            "override to a missing file",
            vec![
                ("PATH", bin.clone().into()),
                ("IMAGE_RESOLVER_HELM", "/nonexistent/helm".into()),
            ],
            "helm",
            Err(
                "IMAGE_RESOLVER_HELM=/nonexistent/helm is not an executable file: point it at helm"
                    .to_owned(),
            ),
        ),
        (
            "override to a directory",
            vec![("IMAGE_RESOLVER_HELM", bin.clone().into())],
            "helm",
            Err(format!(
                "IMAGE_RESOLVER_HELM={} is not an executable file: point it at helm",
                bin.display()
            )),
        ),
    ];
    for (name, vars, tool, want) in cases {
        let env: Env = vars.into_iter().collect();
        let got = Tool::locate(tool, "IMAGE_RESOLVER_HELM", &env)
            .map(|t| t.path().to_path_buf())
            .map_err(|e| e.to_string());
        assert_eq!(got, want, "case {name}");
    }
}

#[tokio::test]
async fn child_sees_only_the_environment_it_is_given() {
    // The test process's own environment carries CARGO_MANIFEST_DIR (cargo sets it): it must not leak through.
    assert!(
        std::env::var_os("CARGO_MANIFEST_DIR").is_some(),
        "precondition: cargo sets CARGO_MANIFEST_DIR"
    );
    let tmp = tempfile::tempdir().unwrap();
    let tool = fake_tool(
        &tmp.path().join("bin"),
        "printenv-tool",
        "exec /usr/bin/env",
    );
    let source: Env = [
        ("PATH", "/usr/bin:/bin"),
        ("HOME", "/home/x"),
        ("REGISTRY_PASSWORD", "hunter2"),
    ]
    .into_iter()
    .collect();
    let env = Tool::locate(
        "printenv-tool",
        "NONE",
        &env_with_path(tool.parent().unwrap()),
    )
    .unwrap();
    let out = env
        .command()
        .current_dir(tmp.path())
        .env(source.allowed(&["PATH", "HOME"]))
        .run(generous_deadline())
        .await
        .unwrap();
    let mut lines: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    lines.sort();
    let pwd = format!("PWD={}", tmp.path().display()); // the shell exports its own working directory
    assert_eq!(lines, ["HOME=/home/x", "PATH=/usr/bin:/bin", pwd.as_str()]);
}

#[tokio::test]
async fn failures_carry_argv_status_and_stderr() {
    let tmp = tempfile::tempdir().unwrap();
    let bin = tmp.path().join("bin");
    let noisy: String = (1..=30).map(|i| format!("echo 'line {i}' >&2\n")).collect();
    let tail: Vec<String> = (11..=30).map(|i| format!("line {i}")).collect();
    let cases = [
        (
            "exit code and stderr",
            "echo 'Error: chart not found' >&2\necho partial\nexit 3",
            "`tool sub 'two words'` failed (exit status 3): Error: chart not found".to_owned(),
        ),
        (
            "no stderr",
            "exit 1",
            "`tool sub 'two words'` failed (exit status 1) with nothing on stderr".to_owned(),
        ),
        (
            "killed by a signal",
            "kill -9 $$",
            "`tool sub 'two words'` failed (killed by signal 9) with nothing on stderr".to_owned(),
        ),
        (
            "long stderr trimmed to its end",
            &format!("{noisy}exit 1"),
            format!(
                "`tool sub 'two words'` failed (exit status 1): …{}",
                tail.join("\n")
            ),
        ),
    ];
    for (name, body, want) in cases {
        let path = fake_tool(&bin, "tool", body);
        let tool = Tool::locate("tool", "NONE", &env_with_path(path.parent().unwrap())).unwrap();
        let err = tool
            .command()
            .args(["sub", "two words"])
            .run(generous_deadline())
            .await
            .unwrap_err();
        assert_eq!(err.to_string(), want, "case {name}");
    }
}

/// `output` hands back how a run ended, failures included (credential helpers answer "not found" on stdout with a
/// non-zero exit); `stdin` feeds the program and closes its input; `discard_stderr` keeps stderr out entirely.
#[tokio::test]
async fn output_returns_any_exit_with_the_input_fed() {
    let tmp = tempfile::tempdir().unwrap();
    let bin = tmp.path().join("bin");
    let more_than_a_pipe_holds = "x".repeat(1 << 20);
    type Case<'a> = (
        &'a str,
        &'a str,
        Option<&'a str>,
        bool,
        i32,
        &'a str,
        &'a str,
    );
    let cases: [Case; 5] = [
        (
            "no input: stdin is empty",
            "cat; echo done; echo err >&2",
            None,
            true,
            0,
            "done\n",
            "err\n",
        ),
        (
            "input read to its end",
            "echo \"[$(cat)]\"",
            Some("ghcr.io"),
            true,
            0,
            "[ghcr.io]\n",
            "",
        ),
        (
            "failure with stdout",
            "cat >/dev/null; echo 'credentials not found'; echo why >&2; exit 1",
            Some("x"),
            true,
            1,
            "credentials not found\n",
            "why\n",
        ),
        (
            "stderr discarded",
            "echo secret >&2; echo out",
            None,
            false,
            0,
            "out\n",
            "",
        ),
        // More input than a pipe holds, never read: the exit status decides, not the broken pipe.
        (
            "input ignored",
            "exit 2",
            Some(&more_than_a_pipe_holds),
            true,
            2,
            "",
            "",
        ),
    ];
    for (name, body, input, keep_stderr, code, stdout, stderr) in cases {
        let path = fake_tool(&bin, "tool", body);
        let tool = Tool::locate("tool", "NONE", &env_with_path(path.parent().unwrap())).unwrap();
        let mut command = tool.command();
        if let Some(input) = input {
            command = command.stdin(input);
        }
        if !keep_stderr {
            command = command.discard_stderr();
        }
        let got = command
            .output(generous_deadline())
            .await
            .unwrap_or_else(|e| panic!("case {name}: {e}"));
        assert_eq!(got.status.code(), Some(code), "case {name}");
        assert_eq!(String::from_utf8_lossy(&got.stdout), stdout, "case {name}");
        assert_eq!(String::from_utf8_lossy(&got.stderr), stderr, "case {name}");
    }
}

/// A process the program leaves behind holding stdin unread must not keep the run waiting to write the rest of
/// the input: the program exited, and the run ends with it.
#[tokio::test]
async fn input_left_unread_by_a_leftover_process_is_dropped() {
    let tmp = tempfile::tempdir().unwrap();
    let pid_file = tmp.path().join("holder.pid");
    let path = fake_tool(
        &tmp.path().join("bin"),
        "tool",
        &format!(
            "exec 3<&0\n/bin/sleep 300 <&3 >/dev/null 2>&1 &\necho $! > '{}'\necho done",
            pid_file.display()
        ),
    );
    // (A background command's stdin is /dev/null unless redirected from a saved descriptor, hence fd 3.)
    let tool = Tool::locate("tool", "NONE", &env_with_path(path.parent().unwrap())).unwrap();
    let got = tool
        .command()
        .stdin("x".repeat(1 << 20))
        .output(generous_deadline())
        .await
        .unwrap();
    let holder: i32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // Waiting for the input to be written would have meant waiting for the holder to end.
    let holder_ran_on = !process_ended(holder as u32);
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(holder),
        nix::sys::signal::Signal::SIGKILL,
    );
    assert!(holder_ran_on, "the run waited for the holder of stdin");
    assert_eq!(
        (got.status.code(), got.stdout),
        (Some(0), b"done\n".to_vec())
    );
}

#[tokio::test]
async fn start_failure_names_the_command() {
    let tmp = tempfile::tempdir().unwrap();
    // A script whose interpreter does not exist: found (executable), but exec fails.
    let path = tmp.path().join("bin/broken");
    fake_tool(path.parent().unwrap(), "broken", "");
    std::fs::write(&path, "#!/nonexistent/interpreter\n").unwrap();
    let tool = Tool::locate("broken", "NONE", &env_with_path(path.parent().unwrap())).unwrap();
    let err = tool
        .command()
        .arg("x")
        .run(generous_deadline())
        .await
        .unwrap_err();
    assert!(matches!(err, ProcessError::Spawn { .. }), "got {err:?}");
    assert_eq!(
        err.to_string(),
        "cannot start `broken x`: No such file or directory (os error 2)"
    );
}

#[tokio::test]
async fn deadline_already_past_starts_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let marker = tmp.path().join("ran");
    let path = fake_tool(
        &tmp.path().join("bin"),
        "tool",
        &format!("touch '{}'", marker.display()),
    );
    let tool = Tool::locate("tool", "NONE", &env_with_path(path.parent().unwrap())).unwrap();
    let err = tool.command().run(Instant::now()).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "`tool` did not finish within its deadline of 0.0s and was killed"
    );
    assert!(
        !marker.exists(),
        "the tool ran although the deadline had passed"
    );
}

#[tokio::test]
async fn deadline_kills_the_whole_process_group() {
    let tmp = tempfile::tempdir().unwrap();
    let leader_pid = tmp.path().join("leader.pid");
    let child_pid = tmp.path().join("child.pid");
    // A grandchild that ignores SIGTERM must be killed too (SIGKILL after the grace).
    let body = format!(
        "(trap '' TERM; exec sleep 30) &\necho $! > '{}'\necho $$ > '{}'\nexec sleep 30",
        child_pid.display(),
        leader_pid.display()
    );
    let path = fake_tool(&tmp.path().join("bin"), "hang", &body);
    let tool = Tool::locate("hang", "NONE", &env_with_path(path.parent().unwrap())).unwrap();
    let started = Instant::now();
    let err = tool
        .command()
        .arg("now")
        .run(started + Duration::from_millis(1500))
        .await
        .unwrap_err();
    let elapsed = started.elapsed();

    let ProcessError::TimedOut { allowed, .. } = &err else {
        panic!("want TimedOut, got {err:?}")
    };
    assert_eq!(
        err.to_string(),
        format!(
            "`hang now` did not finish within its deadline of {:.1}s and was killed",
            allowed.as_secs_f64()
        )
    );
    assert!(
        *allowed <= Duration::from_millis(1500) && *allowed > Duration::from_millis(1000),
        "allowed {allowed:?}"
    );
    // 1.5 s deadline, at most 2 s grace for the leader and 2 s for the pipes, plus slack for a loaded machine.
    assert!(elapsed < Duration::from_secs(10), "took {elapsed:?}");
    for pid_file in [&leader_pid, &child_pid] {
        let pid: u32 = std::fs::read_to_string(pid_file)
            .unwrap_or_else(|e| {
                panic!(
                    "{} not written before the deadline: {e}",
                    pid_file.display()
                )
            })
            .trim()
            .parse()
            .unwrap();
        assert!(
            process_ended(pid),
            "process {pid} from {} still runs",
            pid_file.display()
        );
    }
}

/// Issue 9, item 10: stdout is read up to the command's limit; one byte more and the program (its whole group) is
/// stopped rather than read into memory.
#[tokio::test]
async fn stdout_past_its_limit_stops_the_program() {
    let tmp = tempfile::tempdir().unwrap();
    let bin = tmp.path().join("bin");
    let pids = tmp.path().join("pids");
    // Each process writes its pid before it prints anything: once output starts, the runner may stop the group at
    // any moment (under load, before a `echo $!` after `yes &` ran).
    let endless = format!(
        "echo $$ >> '{p}'\n/bin/sh -c \"echo \\$\\$ >> '{p}'; exec /usr/bin/yes\" &\nexec /usr/bin/yes",
        p = pids.display()
    );
    let cases = [
        (
            "exactly the limit",
            "/usr/bin/head -c 1024 /dev/zero".to_owned(),
            Ok(1024),
        ),
        (
            "one byte more",
            "/usr/bin/head -c 1025 /dev/zero".to_owned(),
            Err("`tool` printed more than 1Ki on stdout and was stopped"),
        ),
        (
            "endless, from two processes",
            endless,
            Err("`tool` printed more than 1Ki on stdout and was stopped"),
        ),
    ];
    for (name, body, want) in cases {
        let path = fake_tool(&bin, "tool", &body);
        let tool = Tool::locate("tool", "NONE", &env_with_path(path.parent().unwrap())).unwrap();
        let got = tool
            .command()
            .max_stdout(ByteSize(1024))
            .run(generous_deadline())
            .await
            .map(|o| o.stdout.len())
            .map_err(|e| e.to_string());
        assert_eq!(got, want.map_err(str::to_owned), "case {name}");
    }
    let pids = std::fs::read_to_string(&pids).unwrap();
    for pid in pids.lines() {
        assert!(
            process_ended(pid.parse().unwrap()),
            "process {pid} still runs"
        );
    }
}

/// Only the end of stderr is kept, however much a program prints there.
#[tokio::test]
async fn stderr_is_kept_only_at_its_end() {
    let tmp = tempfile::tempdir().unwrap();
    let path = fake_tool(
        &tmp.path().join("bin"),
        "tool",
        "/usr/bin/head -c 10000000 /dev/zero >&2\necho 'the last line' >&2\necho out",
    );
    let tool = Tool::locate("tool", "NONE", &env_with_path(path.parent().unwrap())).unwrap();
    let output = tool.command().run(generous_deadline()).await.unwrap();
    assert_eq!(output.stdout, b"out\n");
    assert_eq!(output.stderr.len(), STDERR_KEPT_BYTES);
    assert!(output.stderr.ends_with(b"\0the last line\n"));
}
