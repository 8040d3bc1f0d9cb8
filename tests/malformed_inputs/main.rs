//! Malformed input of every kind, through the real binary: each case must fail with the exit code its kind of
//! failure gets (2 invalid input, 1 no answer), print nothing on stdout, and print one paragraph on stderr that
//! starts with the program's name, names the input at fault, and shows no raw control character. Never a panic
//! (exit 101), never a hang (each run has a budget, and the harness a generous timeout).
//!
//! Nothing here needs a network: tag lists come from `--tags`/`--tags-file`, applications are plain directories,
//! and the commands that must ask a registry are pointed at a loopback port nothing listens on, so that only the
//! validation that comes first is exercised.

mod annotations;
mod command_line;
mod config_files;
mod manifests;
mod plugin_inputs;
mod policy_flags;

use std::ffi::OsString;
use std::time::Duration;

use assert_cmd::Command;

/// A loopback port with nothing behind it: binding then dropping a listener leaves it closed.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// One malformed input and what the binary must make of it.
struct Case {
    name: String,
    args: Vec<OsString>,
    env: Vec<(String, OsString)>,
    /// Files written into the case's private directory before the run: path relative to it, content.
    files: Vec<(String, Vec<u8>)>,
    stdin: Option<Vec<u8>>,
    code: i32,
    /// A piece of the message that names the input at fault.
    names: String,
}

fn case(name: impl Into<String>, args: &[&str]) -> Case {
    Case {
        name: name.into(),
        args: args.iter().map(OsString::from).collect(),
        env: Vec::new(),
        files: Vec::new(),
        stdin: None,
        code: 2,
        names: String::new(),
    }
}

impl Case {
    fn env(mut self, name: &str, value: impl Into<OsString>) -> Case {
        self.env.push((name.to_string(), value.into()));
        self
    }
    fn file(mut self, path: &str, content: impl Into<Vec<u8>>) -> Case {
        self.files.push((path.to_string(), content.into()));
        self
    }
    fn stdin(mut self, content: impl Into<Vec<u8>>) -> Case {
        self.stdin = Some(content.into());
        self
    }
    fn arg(mut self, arg: impl Into<OsString>) -> Case {
        self.args.push(arg.into());
        self
    }
    fn code(mut self, code: i32) -> Case {
        self.code = code;
        self
    }
    fn names(mut self, piece: impl Into<String>) -> Case {
        self.names = piece.into();
        self
    }
}

/// Characters that must never reach stderr raw: control characters other than the line break, and the format
/// characters that reorder or hide text.
fn raw_unsafe(c: char) -> bool {
    (c.is_control() && c != '\n')
        || matches!(c, '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}')
}

/// Runs `case` in its own temp dir (`{dir}` in arguments and env values is replaced by its path); the problems
/// found, if any.
fn run(case: &Case) -> Vec<String> {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    for (path, content) in &case.files {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, content).unwrap();
    }
    let expand = |value: &OsString| -> OsString {
        match value.to_str() {
            Some(text) => text.replace("{dir}", dir.to_str().unwrap()).into(),
            None => value.clone(),
        }
    };
    let mut cmd = Command::cargo_bin("argocd-image-resolver").unwrap();
    cmd.env_clear()
        .current_dir(dir)
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("HOME", dir)
        .env("TMPDIR", dir)
        .env("XDG_CACHE_HOME", dir.join("cache"))
        .env("DOCKER_CONFIG", dir.join("docker"))
        .env("IMAGE_RESOLVER_BUDGET", "20s")
        .timeout(Duration::from_secs(120));
    for (name, value) in &case.env {
        cmd.env(name, expand(value));
    }
    cmd.args(case.args.iter().map(expand));
    if let Some(stdin) = &case.stdin {
        cmd.write_stdin(stdin.clone());
    }
    let output = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    // `MALFORMED_INPUTS_SHOW=1 cargo test --test malformed_inputs -- --nocapture` prints every message, to read them.
    if std::env::var_os("MALFORMED_INPUTS_SHOW").is_some() {
        eprintln!("{}: {stderr}", case.name);
    }
    let mut problems = Vec::new();
    match output.status.code() {
        Some(code) if code == case.code => {}
        Some(101) => problems.push("panicked (exit 101)".to_string()),
        Some(code) => problems.push(format!("exit {code}, want {}", case.code)),
        None => problems.push("killed: no exit code (a hang?)".to_string()),
    }
    if !stdout.is_empty() {
        problems.push(format!("stdout is not empty: {stdout:?}"));
    }
    if !stderr.starts_with("argocd-image-resolver: ") {
        problems.push("stderr does not start with 'argocd-image-resolver: '".to_string());
    }
    if stderr.trim_end().contains("\n\n") || !stderr.ends_with('\n') {
        problems.push("stderr is not one paragraph ending in a newline".to_string());
    }
    if let Some(c) = stderr.chars().find(|&c| raw_unsafe(c)) {
        problems.push(format!("stderr holds a raw {c:?}"));
    }
    if !stderr.contains(&case.names) {
        problems.push(format!("stderr does not name {:?}", case.names));
    }
    if problems.is_empty() {
        Vec::new()
    } else {
        vec![format!(
            "{}: {}\n    stderr: {stderr:?}",
            case.name,
            problems.join("; ")
        )]
    }
}

/// Runs every case and fails listing each one that misbehaved.
fn check(cases: Vec<Case>) {
    let mut names = std::collections::HashSet::new();
    for case in &cases {
        assert!(
            names.insert(case.name.clone()),
            "duplicate case name {}",
            case.name
        );
        assert!(
            !case.names.is_empty(),
            "{}: say what the message must name",
            case.name
        );
    }
    let failures: Vec<String> = cases.iter().flat_map(run).collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

fn resolve(image: &str, extra: &[&str]) -> Case {
    let mut args = vec!["resolve", image, "--tags", "1.0.0,1.1.0"];
    args.extend_from_slice(extra);
    case("", &args)
}

fn named(name: &str, mut case: Case) -> Case {
    case.name = name.to_string();
    case
}

/// A Deployment with one container, to hang annotations on.
const DEPLOYMENT: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n      - name: web\n        image: registry.test/web:1.0.0\n";

/// `generate` of the plain directory `app/` holding `files`.
fn app(name: &str, files: &[(&str, &[u8])]) -> Case {
    let mut case = case(name, &["generate", "--app-dir", "{dir}/app"]);
    for (path, content) in files {
        case = case.file(&format!("app/{path}"), content.to_vec());
    }
    case
}

const CONFIG_MAP: &[u8] = b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  k: v\n";

const KEY: &str = "argocd-image-updater.argoproj.io/";
