//! The core crate stays pure (issue 10): no async runtime, HTTP client or process runner in its dependency tree,
//! and no file, network, process, environment or clock access in its sources. The compiler enforces the first
//! only as long as nobody adds a dependency, and the second not at all; this test is the line made visible.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Crates that do I/O of the kinds the core must not: runtimes, HTTP stacks, process runners and raw OS access.
const FORBIDDEN_CRATES: &[&str] = &[
    "tokio",
    "async-std",
    "smol",
    "mio",
    "reqwest",
    "hyper",
    "ureq",
    "rustls",
    "nix",
    "duct",
    "subprocess",
    "process-wrap",
    "command-group",
    "os_pipe",
    "tracing-subscriber",
];

/// What in a source line means the core touches the world: the std modules for files, processes, sockets and
/// the environment, and the clocks (the core gets time from its caller, so tests can give it any).
const FORBIDDEN_PATHS: &[&str] = &[
    "std::fs",
    "std::process",
    "std::net",
    "std::env",
    "std::io::stdin",
    "std::io::stdout",
    "Command::new",
    "Instant::now",
    "SystemTime::now",
    "Utc::now",
    "Local::now",
    "tokio::",
    "reqwest::",
];

/// The forbidden crates named in `cargo tree --prefix none --format {p}` output (one `name vX.Y.Z …` a line).
fn forbidden_crates(tree: &str) -> Vec<String> {
    let mut found: Vec<String> = tree
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| FORBIDDEN_CRATES.contains(name))
        .map(str::to_owned)
        .collect();
    found.sort();
    found.dedup();
    found
}

/// `file:line: text` for every code line (comments skipped) that uses a forbidden path.
fn forbidden_uses(file: &str, source: &str) -> Vec<String> {
    source
        .lines()
        .enumerate()
        .filter(|(_, line)| {
            let code = line.trim_start();
            !code.starts_with("//") && FORBIDDEN_PATHS.iter().any(|p| code.contains(p))
        })
        .map(|(n, line)| format!("{file}:{}: {}", n + 1, line.trim()))
        .collect()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn core_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/core")
}

#[test]
fn the_core_dependency_tree_has_no_runtime_http_client_or_process_runner() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let out = Command::new(cargo)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "tree",
            "--locked",
            "--offline",
            "-p",
            "argocd-image-resolver-core",
            "-e",
            "normal,build",
            "--prefix",
            "none",
            "--format",
            "{p}",
        ])
        .output()
        .expect("cargo runs");
    let tree = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && tree.contains("argocd-image-resolver-core"),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        forbidden_crates(&tree),
        Vec::<String>::new(),
        "the core crate must stay pure; its tree:\n{tree}"
    );
}

#[test]
fn the_core_sources_touch_no_files_processes_sockets_environment_or_clock() {
    let mut files = Vec::new();
    rust_files(&core_dir().join("src"), &mut files);
    assert!(files.len() > 10, "found the core's sources: {files:?}");
    let mut found = Vec::new();
    for file in &files {
        let source = std::fs::read_to_string(file).unwrap();
        found.extend(forbidden_uses(&file.display().to_string(), &source));
    }
    assert_eq!(found, Vec::<String>::new(), "the core crate must stay pure");
}

/// The checks themselves catch what they are for (a check that cannot fail proves nothing).
#[test]
fn the_checks_catch_an_impure_core() {
    let tree = "argocd-image-resolver-core v0.1.0 (/x)\nregex v1.13.2\ntokio v1.54.0\nreqwest v0.13.0\n\
                tokio v1.54.0 (*)\nnix v0.32.0\n";
    assert_eq!(forbidden_crates(tree), ["nix", "reqwest", "tokio"]);
    assert_eq!(
        forbidden_crates("regex v1.13.2\ntokio-util-free v1.0.0\n"),
        Vec::<String>::new()
    );
    let cases = [
        ("a file read", "    let s = std::fs::read_to_string(p)?;", 1),
        ("a spawned program", "use std::process::Command;", 1),
        ("the clock", "let t = chrono::Utc::now();", 1),
        ("the environment", "std::env::var(\"HOME\")", 1),
        (
            "a comment naming them",
            "// unlike std::fs, this reads nothing",
            0,
        ),
        ("pure code", "let v = Version::parse(s)?;", 0),
    ];
    for (name, line, want) in cases {
        assert_eq!(forbidden_uses("x.rs", line).len(), want, "{name}");
    }
}
