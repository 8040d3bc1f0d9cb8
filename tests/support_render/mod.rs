//! Helpers shared by the renderer's integration tests: app directories in temp dirs, fake tools, the real helm.
#![allow(dead_code)] // each test binary uses a different part

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use argocd_image_resolver::process::Env;

/// A deadline far enough away that only a hung tool reaches it.
pub fn generous_deadline() -> Instant {
    Instant::now() + Duration::from_secs(30)
}

/// Writes `files` (path relative to `dir`, content), creating parent directories.
pub fn write_files(dir: &Path, files: &[(&str, &str)]) {
    for (path, content) in files {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, content).unwrap();
    }
}

/// Writes an executable `/bin/sh` script called `name` into `bin` and returns its path.
pub fn fake_tool(bin: &Path, name: &str, body: &str) -> PathBuf {
    std::fs::create_dir_all(bin).unwrap();
    let path = bin.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// A source environment with only a system `PATH` (where `kubectl` lives) and a `HOME`.
pub fn system_env() -> Env {
    let mut env = Env::new();
    env.set("PATH", "/usr/local/bin:/usr/bin:/bin")
        .set("HOME", "/nonexistent");
    env
}

/// The real helm the tests use: `IMAGE_RESOLVER_HELM` when set, else `.tools/bin/helm` in the repository.
pub fn helm_path() -> PathBuf {
    let path = std::env::var_os("IMAGE_RESOLVER_HELM")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".tools/bin/helm"));
    assert!(
        path.is_file(),
        "helm not found at {}: run scripts/install-helm (or set IMAGE_RESOLVER_HELM)",
        path.display()
    );
    path
}

/// [`system_env`] with `IMAGE_RESOLVER_HELM` pointing at the real helm.
pub fn helm_env() -> Env {
    let mut env = system_env();
    env.set("IMAGE_RESOLVER_HELM", helm_path());
    env
}

/// Whether the process `pid` has ended (gone, a zombie, or exiting): `/proc/PID/stat` state `Z`/`X` or the
/// kernel's `PF_EXITING` flag, which is set before the process closes its files.
pub fn process_ended(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return true;
    };
    // Fields after the command name (which may hold spaces) in parentheses: state, ppid, pgrp, session, tty_nr,
    // tpgid, flags, …
    let rest = &stat[stat.rfind(')').unwrap() + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    const PF_EXITING: u64 = 0x4;
    let flags: u64 = fields[6].parse().unwrap();
    matches!(fields[0], "Z" | "X") || flags & PF_EXITING != 0
}

/// The variables a tool must get behind a proxy or with a private CA, and one it must not (a secret).
pub const PROXY_AND_CA: [(&str, &str); 10] = [
    ("HTTP_PROXY", "http://proxy.test:3128"),
    ("HTTPS_PROXY", "http://proxy.test:3128"),
    ("NO_PROXY", "localhost,.svc"),
    ("ALL_PROXY", "socks5://proxy.test:1080"),
    ("http_proxy", "http://proxy.test:3128"),
    ("https_proxy", "http://proxy.test:3128"),
    ("no_proxy", ".cluster.local"),
    ("all_proxy", "socks5://proxy.test:1080"),
    ("SSL_CERT_FILE", "/etc/corp/ca.pem"),
    ("SSL_CERT_DIR", "/etc/corp/certs"),
];

/// `env` with [`PROXY_AND_CA`] and a `PROXY_PASSWORD` secret set.
pub fn with_proxy_and_ca(env: &mut Env) {
    env.set("PROXY_PASSWORD", "hunter2");
    for (name, value) in PROXY_AND_CA {
        env.set(name, value);
    }
}

/// Checks that a fake tool printing its environment (`exec /usr/bin/env`) got every [`PROXY_AND_CA`] variable and
/// not the secret.
pub fn assert_got_proxy_and_ca(printed: &str) {
    for (name, value) in PROXY_AND_CA {
        let line = format!("{name}={value}");
        assert!(
            printed.lines().any(|l| l == line),
            "{line} missing:\n{printed}"
        );
    }
    assert!(!printed.contains("hunter2"), "{printed}");
}
