//! Shared helpers for the credential integration tests: a steppable clock, scripts on a private PATH, options
//! that never read the process environment.

#![allow(dead_code)] // each test binary uses a different subset

use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use argocd_image_resolver::registry::credentials::{Clock, Credential, CredentialOptions, Secret};

/// A clock that moves only when told to.
pub struct ManualClock {
    base: Instant,
    offset: Mutex<Duration>,
}

impl ManualClock {
    pub fn new() -> Arc<ManualClock> {
        Arc::new(ManualClock {
            base: Instant::now(),
            offset: Mutex::new(Duration::ZERO),
        })
    }

    pub fn advance(&self, by: Duration) {
        *self.offset.lock().unwrap() += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        self.base + *self.offset.lock().unwrap()
    }
}

/// A temp dir with `bin/` (the only PATH helpers and scripts see) and a clock.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
    pub clock: Arc<ManualClock>,
}

impl Sandbox {
    pub fn new() -> Sandbox {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("bin")).unwrap();
        Sandbox {
            dir,
            clock: ManualClock::new(),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn bin(&self) -> PathBuf {
        self.dir.path().join("bin")
    }

    /// The sandbox's `bin/` followed by the system directories for `sh`, `cat`, `sleep`.
    pub fn search_path(&self) -> String {
        format!("{}:/usr/bin:/bin", self.bin().display())
    }

    /// Options with no discovered source, the sandbox's PATH and clock, and `env` as the only variables.
    pub fn options(&self, env: &[(&str, &str)]) -> CredentialOptions {
        let vars: HashMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        CredentialOptions {
            search_path: Some(self.search_path().into()),
            env: Arc::new(move |name| vars.get(name).cloned()),
            clock: self.clock.clone(),
            ..CredentialOptions::default()
        }
    }

    /// Writes an executable `/bin/sh` script at `relative` (parents created) and returns its path.
    pub fn script(&self, relative: &str, body: &str) -> PathBuf {
        let path = self.dir.path().join(relative);
        write_file(&path, &format!("#!/bin/sh\n{body}\n"));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    /// Writes a plain file at `relative` (parents created) and returns its path.
    pub fn file(&self, relative: &str, contents: &str) -> PathBuf {
        let path = self.dir.path().join(relative);
        write_file(&path, contents);
        path
    }

    /// How many lines a counting script appended to `relative` (0 when it never ran).
    pub fn count(&self, relative: &str) -> usize {
        std::fs::read_to_string(self.dir.path().join(relative)).map_or(0, |s| s.lines().count())
    }
}

pub fn write_file(path: &Path, contents: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, contents).unwrap();
}

pub fn basic(user: &str, pass: &str) -> Credential {
    Credential::Basic {
        username: user.into(),
        password: Secret::new(pass),
    }
}

/// Fails when `secret` shows in the value's `Display` or `Debug`.
pub fn assert_hidden<T: std::fmt::Display + std::fmt::Debug>(name: &str, value: &T, secret: &str) {
    assert!(
        !value.to_string().contains(secret),
        "{name}: Display leaks the secret: {value}"
    );
    assert!(
        !format!("{value:?}").contains(secret),
        "{name}: Debug leaks the secret: {value:?}"
    );
}

/// base64 of `user:pass`, as `auths.*.auth` holds it.
pub fn auth_field(user: &str, pass: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
}

/// A `/bin/sh` body that starts `sleep` in the background, records its pid in `pid_file` (whole or not at all,
/// by renaming) and then waits for it: a program that hangs and leaves a child behind when only it is killed.
pub fn hang_with_child(pid_file: &Path) -> String {
    format!(
        "/bin/sleep 300 &\necho $! > '{p}.tmp' && mv '{p}.tmp' '{p}'\nwait",
        p = pid_file.display()
    )
}

/// Runs `lookup_times_out(timeout)` (a lookup whose program hangs: it asserts the timeout error) until the program
/// got as far as writing `pid_file` before it was stopped, and returns that pid. The timeout starts small and
/// doubles, so a loaded machine that did not even start the child in time is retried rather than misread.
pub async fn child_of_timed_out_program<F, Fut>(pid_file: &Path, mut lookup_times_out: F) -> i32
where
    F: FnMut(Duration) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut timeout = Duration::from_millis(200);
    loop {
        lookup_times_out(timeout).await;
        if let Ok(pid) = std::fs::read_to_string(pid_file) {
            return pid.trim().parse().expect("pid file holds a pid");
        }
        assert!(
            timeout < Duration::from_secs(10),
            "the program never started its child"
        );
        timeout *= 2;
    }
}

/// Whether process `pid` is gone: `kill(pid, 0)` finds none, or it is dead but not yet reaped (once its parent
/// was killed, init reaps it when it gets to it; `kill(pid, 0)` still succeeds on a zombie) or already exiting
/// (`PF_EXITING`, set before it closes its files). A process found alive is killed, so no test leaves it behind.
pub fn process_gone(pid: i32) -> bool {
    use nix::errno::Errno;
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;

    match kill(Pid::from_raw(pid), None) {
        Err(Errno::ESRCH) => return true,
        Err(e) => panic!("kill({pid}, 0): {e}"),
        Ok(()) => {}
    }
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return true;
    };
    // After the command name (in parentheses, may hold spaces): state, ppid, pgrp, session, tty_nr, tpgid, flags.
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 1..]
        .split_whitespace()
        .collect();
    const PF_EXITING: u64 = 0x4;
    let flags: u64 = fields[6].parse().unwrap();
    let gone = matches!(fields[0], "Z" | "X") || flags & PF_EXITING != 0;
    if !gone {
        let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
    }
    gone
}
