//! Malformed input of every kind, through the real binary: each case must fail with the exit code its kind of
//! failure gets (2 invalid input, 1 no answer), print nothing on stdout, and print one paragraph on stderr that
//! starts with the program's name, names the input at fault, and shows no raw control character. Never a panic
//! (exit 101), never a hang (each run has a budget, and the harness a generous timeout).
//!
//! Nothing here needs a network: tag lists come from `--tags`/`--tags-file`, applications are plain directories,
//! and the commands that must ask a registry are pointed at a loopback port nothing listens on, so that only the
//! validation that comes first is exercised.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
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

#[test]
fn image_references() {
    let long = format!("{}/app", "a".repeat(300));
    let hex = "a".repeat(64);
    let cases: Vec<(&str, &str, &str)> = vec![
        ("empty", "", "the reference is empty"),
        ("tag without repository", ":1.0", "':1.0'"),
        ("digest without repository", "@sha256:abc", "'@sha256:abc'"),
        ("upper case", "Nginx", "'Nginx'"),
        ("doubled slash", "org//app", "'org//app'"),
        ("trailing slash", "org/app/", "'org/app/'"),
        ("leading dash", "-app", "use '-- -a'"),
        ("space inside", "my app", "'my app'"),
        ("SOH", "ng\u{1}inx", r"ng\u{1}inx"),
        ("escape sequence", "\u{1b}[31mnginx", r"\u{1b}[31mnginx"),
        (
            "right-to-left override",
            "nginx\u{202e}xnign",
            r"nginx\u{202e}xnign",
        ),
        ("zero width space", "ngi\u{200b}nx", r"ngi\u{200b}nx"),
        ("byte order mark", "\u{feff}nginx", r"\u{feff}nginx"),
        ("newline", "nginx\nx", "invalid image reference 'nginx"),
        ("tab", "nginx\tx", r"nginx\tx"),
        ("image ID", &hex, "image ID"),
        ("repository too long", &long, "more than the 255 allowed"),
        ("short digest", "nginx@sha256:abc", "'sha256:abc'"),
        ("unknown digest algorithm", "nginx@md5:abc", "'md5:abc'"),
        ("double dot", "org/a..b", "'a..b'"),
        ("non-ASCII letter", "ngïnx", "'ngïnx'"),
        ("bad port", "localhost:x/app", "'localhost:x/app'"),
        ("unclosed IPv6", "[::1/app", "'[::1/app'"),
        ("only a slash", "/", "'/'"),
        ("dash component", "org/-app", "'-app'"),
    ];
    let mut all: Vec<Case> = cases
        .into_iter()
        .map(|(name, image, names)| {
            named(&format!("image: {name}"), resolve(image, &[]).names(names))
        })
        .collect();
    all.extend([
        named(
            "image: nothing after the colon",
            resolve("nginx:", &[]).names("nothing follows ':'"),
        ),
        named(
            "image: tag with --constraint",
            resolve("nginx:1.0", &["--constraint", ">=1"]).names("remove ':1.0'"),
        ),
        named(
            "image: tag too long with --constraint",
            resolve(
                &format!("nginx:{}", "a".repeat(129)),
                &["--constraint", ">=1"],
            )
            .names("is invalid"),
        ),
    ]);
    check(all);
}

#[test]
fn policy_flags() {
    let flags: Vec<(&str, &[&str], &str)> = vec![
        (
            "constraint: operator alone",
            &["--constraint", ">="],
            "'>='",
        ),
        ("constraint: words", &["--constraint", "newest"], "'newest'"),
        (
            "constraint: five parts",
            &["--constraint", "1.2.3.4.5"],
            "'1.2.3.4.5'",
        ),
        (
            "constraint: dangling or",
            &["--constraint", ">1 ||"],
            "'>1 ||'",
        ),
        (
            "constraint: control character",
            &["--constraint", ">1\u{1}"],
            r">1\u{1}",
        ),
        (
            "constraint: bidi override",
            &["--constraint", ">1\u{202e}"],
            r">1\u{202e}",
        ),
        ("strategy: unknown", &["--strategy", "newest"], "'newest'"),
        (
            "strategy: control character",
            &["--strategy", "semver\u{7}"],
            r"semver\u{7}",
        ),
        (
            "order: unknown",
            &["--strategy", "alphabetical", "--order", "up"],
            "'up'",
        ),
        ("allow-tags: no prefix", &["--allow-tags", "^v"], "'^v'"),
        (
            "allow-tags: regex prefix",
            &["--allow-tags", "regex:^v"],
            "'regex:^v'",
        ),
        (
            "allow-tags: unclosed group",
            &["--allow-tags", "regexp:("],
            "'('",
        ),
        (
            "allow-tags: unclosed class",
            &["--allow-tags", "regexp:[a"],
            "'[a'",
        ),
        (
            "allow-tags: nested repetition",
            &["--allow-tags", "regexp:a**"],
            "'a**'",
        ),
        (
            "allow-tags: count too large",
            &["--allow-tags", "regexp:a{1001}"],
            "'a{1001}'",
        ),
        (
            "allow-tags: bad escape",
            &["--allow-tags", "regexp:\\8"],
            "'\\8'",
        ),
        (
            "ignore-tags: unclosed class",
            &["--ignore-tags", "["],
            "'['",
        ),
        (
            "ignore-tags: unclosed range",
            &["--ignore-tags", "latest,[a-"],
            "'[a-'",
        ),
        (
            "ignore-tags: trailing backslash",
            &["--ignore-tags", "x\\"],
            "'x\\'",
        ),
        (
            "tag-pattern: unclosed group",
            &["--tag-pattern", "(", "--extract", "$1"],
            "'('",
        ),
        (
            "tag-pattern: perl lookahead",
            &["--tag-pattern", "(?=x)"],
            "'(?=x)'",
        ),
        (
            "extract: unknown name",
            &[
                "--tag-pattern",
                r"^(\d+)\.(\d+)\.(\d+)$",
                "--extract",
                "$nope",
            ],
            "'nope'",
        ),
        (
            "extract: group past the last",
            &["--tag-pattern", r"^(\d+)", "--extract", "$2"],
            "'2'",
        ),
        (
            "extract: letters after a number",
            &["--tag-pattern", r"^(\d+)", "--extract", "$1x"],
            "'1x'",
        ),
        ("platforms: os only", &["--platforms", "linux"], "'linux'"),
        (
            "platforms: trailing slash",
            &["--platforms", "linux/"],
            "'linux/'",
        ),
        ("platforms: no os", &["--platforms", "/amd64"], "'/amd64'"),
        (
            "platforms: four parts",
            &["--platforms", "linux/arm/v7/x"],
            "'linux/arm/v7/x'",
        ),
        (
            "platforms: space",
            &["--platforms", "linux/am d64"],
            "'linux/am d64'",
        ),
        (
            "platforms: with a tag list",
            &["--platforms", "linux/amd64"],
            "--platforms",
        ),
        (
            "include-prerelease with alphabetical",
            &["--strategy", "alphabetical", "--include-prerelease"],
            "--include-prerelease",
        ),
        (
            "strict-semver with newest-build",
            &["--strategy", "newest-build", "--strict-semver"],
            "--strict-semver",
        ),
        ("output: unknown format", &["--output", "yaml"], "--output"),
        (
            "credentials: no source",
            &["--credentials", "user:pass"],
            "--credentials",
        ),
        (
            "credentials: empty env",
            &["--credentials", "env:"],
            "--credentials",
        ),
        (
            "credentials: pull secret without namespace",
            &["--credentials", "pullsecret:x"],
            "--credentials",
        ),
        (
            "credentials: secret without field",
            &["--credentials", "secret:ns/name"],
            "--credentials",
        ),
        (
            "credentials: empty script",
            &["--credentials", "ext:"],
            "--credentials",
        ),
    ];
    let mut cases: Vec<Case> = flags
        .into_iter()
        .map(|(name, extra, names)| named(name, resolve("nginx", extra).names(names)))
        .collect();
    cases.extend([
        named(
            "tags: none allowed",
            resolve("nginx:>=2", &[]).code(1).names("nginx"),
        ),
        named(
            "tags: empty list",
            case("", &["resolve", "nginx", "--tags", ""])
                .code(1)
                .names("nginx"),
        ),
        named(
            "tags: only commas",
            case("", &["resolve", "nginx", "--tags", ",,,"])
                .code(1)
                .names("nginx"),
        ),
        named(
            "tags: digest strategy without digests",
            resolve("nginx", &["--strategy", "digest"])
                .code(1)
                .names("digest"),
        ),
    ]);
    check(cases);
}

#[test]
fn command_line_and_its_variables() {
    let port = closed_port();
    let registry_image = format!("127.0.0.1:{port}/app");
    let cases = vec![
        named(
            "flag given twice",
            case(
                "",
                &[
                    "--budget", "1s", "--budget", "2s", "resolve", "nginx", "--tags", "1.0",
                ],
            )
            .names("--budget is given more than once"),
        ),
        named(
            "value for a switch",
            resolve("nginx", &["--include-prerelease=yes"]).names("'yes' for --include-prerelease"),
        ),
        named(
            "switch variable not a boolean",
            resolve("nginx", &[])
                .env("IMAGE_RESOLVER_INCLUDE_PRERELEASE", "yes")
                .names("IMAGE_RESOLVER_INCLUDE_PRERELEASE (--include-prerelease)"),
        ),
        named(
            "second image",
            resolve("nginx", &["other"]).names("'other'"),
        ),
        named(
            "empty output format",
            resolve("nginx", &["--output", ""]).names("--output needs a value"),
        ),
        named(
            "unknown flag",
            resolve("nginx", &["--regexp", "x"]).names("'--regexp'"),
        ),
        named(
            "misspelt flag",
            resolve("nginx", &["--tag-patern", "x"]).names("--tag-pattern"),
        ),
        named(
            "unknown command",
            case("", &["resolv", "nginx"]).names("'resolv'"),
        ),
        named("no command", case("", &[]).names("resolve")),
        named("missing image", case("", &["resolve"]).names("<IMAGE>")),
        named(
            "tags and tags-file",
            resolve("nginx", &["--tags-file", "t"]).names("--tags-file"),
        ),
        named(
            "extract without tag-pattern",
            resolve("nginx", &["--extract", "$1"]).names("--tag-pattern"),
        ),
        named(
            "log level unknown",
            resolve("nginx", &["--log-level", "loud"]).names("--log-level"),
        ),
        named(
            "log format unknown",
            resolve("nginx", &["--log-format", "xml"]).names("--log-format"),
        ),
        named(
            "budget: words",
            resolve("nginx", &["--budget", "soon"]).names("--budget"),
        ),
        named(
            "budget: zero",
            resolve("nginx", &["--budget", "0s"]).names("--budget"),
        ),
        named(
            "budget: negative",
            resolve("nginx", &["--budget=-1s"]).names("--budget"),
        ),
        named(
            "budget: no unit",
            resolve("nginx", &["--budget", "40"]).names("--budget"),
        ),
        named(
            "budget: over an hour",
            resolve("nginx", &["--budget", "61m"]).names("maximum of 1h"),
        ),
        named(
            "budget: i64::MAX seconds",
            resolve("nginx", &["--budget", "9223372036854775807s"]).names("--budget"),
        ),
        named(
            "budget: overflowing nanoseconds",
            resolve("nginx", &["--budget", "99999999999999999999h"]).names("--budget"),
        ),
        named(
            "budget variable: words",
            resolve("nginx", &[])
                .env("IMAGE_RESOLVER_BUDGET", "soon")
                .names("IMAGE_RESOLVER_BUDGET (--budget)"),
        ),
        named(
            "log level variable",
            resolve("nginx", &[])
                .env("IMAGE_RESOLVER_LOG_LEVEL", "loud")
                .names("IMAGE_RESOLVER_LOG_LEVEL (--log-level)"),
        ),
        named(
            "log format variable",
            resolve("nginx", &[])
                .env("IMAGE_RESOLVER_LOG_FORMAT", "xml")
                .names("IMAGE_RESOLVER_LOG_FORMAT (--log-format)"),
        ),
        named(
            "strategy variable",
            resolve("nginx", &[])
                .env("IMAGE_RESOLVER_STRATEGY", "newest")
                .names("'newest'"),
        ),
        named(
            "constraint variable",
            resolve("nginx", &[])
                .env("IMAGE_RESOLVER_CONSTRAINT", "~>~1")
                .names("'~>~1'"),
        ),
        named(
            "allow-tags variable",
            resolve("nginx", &[])
                .env("IMAGE_RESOLVER_ALLOW_TAGS", "regexp:(")
                .names("'('"),
        ),
        named(
            "platforms variable",
            resolve("nginx", &[])
                .env("IMAGE_RESOLVER_PLATFORMS", "linux")
                .names("'linux'"),
        ),
        named(
            "budget variable not UTF-8",
            resolve("nginx", &[])
                .env(
                    "IMAGE_RESOLVER_BUDGET",
                    OsString::from_vec(b"4\xff0s".to_vec()),
                )
                .names("IMAGE_RESOLVER_BUDGET"),
        ),
        named(
            "argument not UTF-8",
            case("", &["resolve", "--tags", "1.0"])
                .arg(OsString::from_vec(b"ngi\xffnx".to_vec()))
                .names("not UTF-8"),
        ),
        named(
            "plugin env budget: i64::MAX seconds (was a panic in every Argo CD command)",
            case("", &["generate"])
                .env("ARGOCD_ENV_IMAGE_RESOLVER_BUDGET", "9223372036854775807s")
                .names("ARGOCD_ENV_IMAGE_RESOLVER_BUDGET (--budget)"),
        ),
        named(
            "plugin env budget in init",
            case("", &["init"])
                .env("ARGOCD_ENV_IMAGE_RESOLVER_BUDGET", "9223372036854775807s")
                .names("ARGOCD_ENV_IMAGE_RESOLVER_BUDGET (--budget)"),
        ),
        named(
            "plugin env budget in parameters",
            case("", &["parameters"])
                .env("ARGOCD_ENV_IMAGE_RESOLVER_BUDGET", "9223372036854775807s")
                .names("ARGOCD_ENV_IMAGE_RESOLVER_BUDGET (--budget)"),
        ),
        named(
            "plugin env budget in explain",
            case("", &["explain"])
                .env("ARGOCD_ENV_IMAGE_RESOLVER_BUDGET", "9223372036854775807s")
                .names("ARGOCD_ENV_IMAGE_RESOLVER_BUDGET (--budget)"),
        ),
        named(
            "plugin env budget: words",
            case("", &["generate"])
                .env("ARGOCD_ENV_IMAGE_RESOLVER_BUDGET", "soon")
                .names("invalid value 'soon' for ARGOCD_ENV_IMAGE_RESOLVER_BUDGET (--budget)"),
        ),
        named(
            "plugin env budget beats the sidecar's",
            case("", &["generate"])
                .env("IMAGE_RESOLVER_BUDGET", "30s")
                .env("ARGOCD_ENV_IMAGE_RESOLVER_BUDGET", "2h")
                .names("ARGOCD_ENV_IMAGE_RESOLVER_BUDGET (--budget)"),
        ),
        named(
            "plugin env tags TTL",
            case("", &["generate"])
                .env("ARGOCD_ENV_IMAGE_RESOLVER_TAGS_TTL", "a while")
                .names("ARGOCD_ENV_IMAGE_RESOLVER_TAGS_TTL (--tags-ttl)"),
        ),
        named(
            "plugin env log level",
            case("", &["generate"])
                .env("ARGOCD_ENV_IMAGE_RESOLVER_LOG_LEVEL", "chatty")
                .names("ARGOCD_ENV_IMAGE_RESOLVER_LOG_LEVEL (--log-level)"),
        ),
        named(
            "plugin env log format",
            case("", &["generate"])
                .env("ARGOCD_ENV_IMAGE_RESOLVER_LOG_FORMAT", "xml")
                .names("ARGOCD_ENV_IMAGE_RESOLVER_LOG_FORMAT (--log-format)"),
        ),
        named(
            "plugin env recurse",
            case("", &["generate"])
                .env("ARGOCD_ENV_IMAGE_RESOLVER_RECURSE", "maybe")
                .names("ARGOCD_ENV_IMAGE_RESOLVER_RECURSE (--recurse)"),
        ),
        named(
            "plugin env budget with a control character",
            case("", &["generate"])
                .env("ARGOCD_ENV_IMAGE_RESOLVER_BUDGET", "4\u{1b}[2J0s")
                .names(r"4\u{1b}[2J0s"),
        ),
        named(
            "sidecar tags TTL variable",
            case("", &["generate"])
                .env("IMAGE_RESOLVER_TAGS_TTL", "-5s")
                .names("IMAGE_RESOLVER_TAGS_TTL (--tags-ttl)"),
        ),
        named(
            "tags TTL flag",
            case("", &["generate", "--tags-ttl", "5 minutes"]).names("--tags-ttl"),
        ),
        named(
            "image paths flag",
            case("", &["generate", "--image-paths", "spec..image"])
                .file("app.yaml", DEPLOYMENT)
                .names("--image-paths"),
        ),
        named(
            "plugin env image paths",
            case("", &["generate"])
                .file("app.yaml", DEPLOYMENT)
                .env("ARGOCD_ENV_IMAGE_RESOLVER_IMAGE_PATHS", "[*]")
                .names("image-paths"),
        ),
        named(
            "app dir missing",
            case("", &["generate", "--app-dir", "{dir}/nope"]).names("nope"),
        ),
        named(
            "init: app dir missing",
            case("", &["init", "--app-dir", "{dir}/nope"]).names("nope"),
        ),
        named(
            "explain: dir missing",
            case("", &["explain", "{dir}/nope"]).names("nope"),
        ),
        named(
            "tags: image on a closed port with a bad credential spec",
            case("", &["tags", &registry_image, "--credentials", "bogus"]).names("--credentials"),
        ),
    ];
    check(cases);
}

/// A Deployment with one container, to hang annotations on.
const DEPLOYMENT: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n      - name: web\n        image: registry.test/web:1.0.0\n";

#[test]
fn tag_files() {
    let tags_file = |name: &str, content: &[u8], code: i32, names: &str| {
        named(
            &format!("tags file: {name}"),
            case("", &["resolve", "nginx", "--tags-file", "{dir}/tags.txt"])
                .file("tags.txt", content.to_vec())
                .code(code)
                .names(names),
        )
    };
    let stdin = |name: &str, content: &[u8], code: i32, names: &str| {
        named(
            &format!("tags on stdin: {name}"),
            case("", &["resolve", "nginx", "--tags-file", "-"])
                .stdin(content.to_vec())
                .code(code)
                .names(names),
        )
    };
    let cases = vec![
        named("tags file: missing", case("", &["resolve", "nginx", "--tags-file", "{dir}/none.txt"]).names("none.txt")),
        named("tags file: a directory", case("", &["resolve", "nginx", "--tags-file", "{dir}"]).names("--tags-file")),
        tags_file("not UTF-8", b"1.0.0\n\xff\xfe\n", 2, "tags.txt"),
        tags_file("bad creation time", b"1.0.0 yesterday\n", 2, "yesterday"),
        tags_file("bad digest", b"1.0.0 - sha256:zz\n", 2, "sha256:zz"),
        tags_file("too many fields", b"1.0.0 - sha256:0000000000000000000000000000000000000000000000000000000000000000 extra\n", 2, "extra"),
        tags_file("tag with a slash", b"../../x\n", 2, "../../x"),
        tags_file("tag with a colon", b"zzz:1\n", 2, "zzz:1"),
        tags_file("tag with a control character", b"1.0.\x01\n", 2, r"1.0.\u{1}"),
        tags_file("tag with a bidi override", "1.0.0\u{202e}\n".as_bytes(), 2, r"\u{202e}"),
        tags_file("tag too long", format!("{}\n", "a".repeat(129)).as_bytes(), 2, "aaaa"),
        tags_file("NUL", b"1.0.0\x00\n", 2, r"\0"),
        tags_file("empty", b"", 1, "nginx"),
        tags_file("only blank lines", b"\n\n  \n", 1, "nginx"),
        tags_file("no version", b"latest\nstable\n", 1, "nginx"),
        stdin("not UTF-8", b"\xff\n", 2, "stdin"),
        stdin("bad creation time", b"1.0.0 2024-13-01T00:00:00Z\n", 2, "2024-13-01"),
        stdin("empty", b"", 1, "nginx"),
    ];
    check(cases);
}

#[test]
fn registries_conf() {
    let port = closed_port();
    let image = format!("127.0.0.1:{port}/app");
    let conf = |name: &str, text: &[u8], names: &str| {
        named(
            &format!("registries.conf: {name}"),
            case(
                "",
                &["tags", &image, "--registries-conf", "{dir}/registries.conf"],
            )
            .file("registries.conf", text.to_vec())
            .names(names),
        )
    };
    let cases = vec![
        conf("not YAML", b"registries: [", "registries.conf"),
        conf("a list at the top", b"- name: x\n", "registries.conf"),
        conf("unknown top-level key", b"registry:\n- name: x\n", "registry"),
        conf("unknown entry key", b"registries:\n- name: x\n  prefix: a.test\n  prefx: b\n", "prefx"),
        conf("entry without name", b"registries:\n- prefix: a.test\n", "entry 1"),
        conf("empty entry", b"registries:\n- {}\n", "entry 1"),
        conf("entry without prefix or api_url", b"registries:\n- name: corp\n", "corp"),
        conf("prefix without a registry host", b"registries:\n- name: team\n  prefix: team/apps\n", "entry 1 ('team')"),
        conf("api_url not a URL", b"registries:\n- name: x\n  api_url: not a url\n  prefix: a.test\n", "not a url"),
        conf("api_url ftp", b"registries:\n- name: x\n  api_url: ftp://a.test\n  prefix: a.test\n", "ftp://a.test"),
        conf("api_url with a password", b"registries:\n- name: x\n  api_url: https://u:p@a.test\n  prefix: a.test\n", "api_url must not carry"),
        conf("api_url with a query", b"registries:\n- name: x\n  api_url: https://a.test/?q=1\n  prefix: a.test\n", "https://a.test/?q=1"),
        conf("ping not a boolean", b"registries:\n- name: x\n  prefix: a.test\n  ping: often\n", "often"),
        conf("insecure not a boolean", b"registries:\n- name: x\n  prefix: a.test\n  insecure: 2\n", "insecure"),
        conf("credsexpire words", b"registries:\n- name: x\n  prefix: a.test\n  credsexpire: 5 hours\n", "5 hours"),
        conf("credsexpire number", b"registries:\n- name: x\n  prefix: a.test\n  credsexpire: 5\n", "credsexpire"),
        conf("tagsortmode unknown", b"registries:\n- name: x\n  prefix: a.test\n  tagsortmode: random\n", "random"),
        conf("pagesize zero", b"registries:\n- name: x\n  prefix: a.test\n  pagesize: 0\n", "pagesize"),
        conf("pagesize negative", b"registries:\n- name: x\n  prefix: a.test\n  pagesize: -1\n", "registries.conf"),
        conf("limit not a number", b"registries:\n- name: x\n  prefix: a.test\n  limit: fast\n", "registries.conf"),
        conf("two defaults", b"registries:\n- name: a\n  prefix: a.test\n  default: true\n- name: b\n  prefix: b.test\n  default: true\n", "default"),
        conf("duplicate prefix", b"registries:\n- name: a\n  prefix: a.test\n- name: b\n  prefix: a.test\n", "a.test"),
        conf("two without prefix", b"registries:\n- name: a\n  api_url: https://registry-1.docker.io\n- name: b\n  api_url: https://registry-1.docker.io\n", "'b'"),
        conf("default prefix not a host", b"registries:\n- name: a\n  prefix: org\n  default: true\n", "'org'"),
        conf("prefix not a host", b"registries:\n- name: a\n  prefix: a b/c\n", "a b"),
        conf("not UTF-8", b"registries:\n- name: \xff\n", "registries.conf"),
        conf("control character in a name", b"registries:\n- name: \"a\\u202e\"\n", r"a\u{202e}"),
        conf("deeply nested", format!("registries: {}{}", "[".repeat(10_000), "]".repeat(10_000)).as_bytes(), "registries.conf"),
        named(
            "registries.conf: missing file",
            case("", &["tags", &image, "--registries-conf", "{dir}/none.conf"]).names("none.conf"),
        ),
        named(
            "registries.conf: a directory",
            case("", &["tags", &image, "--registries-conf", "{dir}"]).names("registries.conf"),
        ),
        named(
            "registries.conf variable: missing file",
            case("", &["tags", &image]).env("IMAGE_RESOLVER_REGISTRIES_CONF", "{dir}/none.conf").names("none.conf"),
        ),
    ];
    check(cases);
}

#[test]
fn docker_config() {
    let port = closed_port();
    let image = format!("127.0.0.1:{port}/app");
    let host = format!("127.0.0.1:{port}");
    let config = |name: &str, text: String, names: &str| {
        named(
            &format!("docker config: {name}"),
            case("", &["tags", &image, "--docker-config", "{dir}/docker"])
                .file("docker/config.json", text)
                .names(names),
        )
    };
    let cases = vec![
        config("not JSON", "{".to_string(), "config.json"),
        config("an array", "[]".to_string(), "config.json"),
        config("an array of objects", "[{}, {}]".to_string(), "config.json"),
        config(
            "auths a list",
            r#"{"auths": []}"#.to_string(),
            "config.json",
        ),
        config(
            "auth not base64",
            format!(r#"{{"auths": {{"{host}": {{"auth": "%%%"}}}}}}"#),
            "config.json",
        ),
        config(
            "auth without a colon",
            format!(r#"{{"auths": {{"{host}": {{"auth": "dXNlcg=="}}}}}}"#),
            "config.json",
        ),
        config(
            "auth a number",
            format!(r#"{{"auths": {{"{host}": {{"auth": 1}}}}}}"#),
            "config.json",
        ),
        config(
            "credential helper name with a slash",
            format!(r#"{{"credHelpers": {{"{host}": "../evil"}}}}"#),
            "../evil",
        ),
        config(
            "credential store name with a slash",
            r#"{"credsStore": "a/b"}"#.to_string(),
            "a/b",
        ),
        config(
            "credential helper not found",
            format!(r#"{{"credHelpers": {{"{host}": "nothere"}}}}"#),
            "nothere",
        ),
        config(
            "control characters in an auth",
            format!("{{\"auths\": {{\"{host}\": {{\"auth\": \"\\u202e\\u0001\"}}}}}}"),
            "config.json",
        ),
    ];
    check(cases);
}

/// `generate` of the plain directory `app/` holding `files`.
fn app(name: &str, files: &[(&str, &[u8])]) -> Case {
    let mut case = case(name, &["generate", "--app-dir", "{dir}/app"]);
    for (path, content) in files {
        case = case.file(&format!("app/{path}"), content.to_vec());
    }
    case
}

const CONFIG_MAP: &[u8] = b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  k: v\n";

#[test]
fn plain_directory_manifests() {
    let deep_list = format!("a: {}\n", "[".repeat(100_000));
    let deep_map = format!(
        "{}x\n",
        (0..3000)
            .map(|i| format!("{}k:\n", "  ".repeat(i)))
            .collect::<String>()
    );
    let huge_flow = format!(
        "apiVersion: v1\nkind: ConfigMap\ndata: [{}\n",
        "1, ".repeat(700_000)
    );
    let cases = vec![
        app(
            "yaml: unclosed flow sequence in the second file",
            &[
                ("a.yaml", CONFIG_MAP),
                ("b.yaml", b"kind: Pod\nspec:\n  containers: [\n  - x\n"),
            ],
        )
        .names("b.yaml"),
        app(
            "yaml: error on line 3 of the second file is reported there",
            &[
                ("a.yaml", CONFIG_MAP),
                ("b.yaml", b"kind: Pod\nmetadata:\n  name: a: b\n"),
            ],
        )
        .names("b.yaml at line 3"),
        app(
            "yaml: unclosed quote",
            &[("a.yaml", b"kind: Pod\nmetadata:\n  name: \"web\n")],
        )
        .names("a.yaml"),
        app(
            "yaml: tab indentation",
            &[("a.yaml", b"kind: Pod\nmetadata:\n\tname: web\n")],
        )
        .names("a.yaml"),
        app(
            "yaml: mapping in a plain scalar",
            &[("a.yaml", b"kind: Pod: x\n")],
        )
        .names("a.yaml"),
        app(
            "yaml: bad indentation in a later document",
            &[("a.yaml", b"kind: A\n---\nkind: B\n---\nkind: C\n  x: 1\n")],
        )
        .names("a.yaml at line 6"),
        app(
            "yaml: NUL byte",
            &[("a.yaml", b"kind: Pod\nmetadata:\n  name: a\x00b\n")],
        )
        .names("a.yaml"),
        app(
            "yaml: deeply nested lists",
            &[("a.yaml", deep_list.as_bytes())],
        )
        .names("a.yaml"),
        app(
            "yaml: deeply nested maps",
            &[("a.yaml", deep_map.as_bytes())],
        )
        .names("a.yaml"),
        app(
            "yaml: a huge unclosed flow sequence",
            &[("a.yaml", huge_flow.as_bytes())],
        )
        .names("a.yaml"),
        app("json: broken", &[("a.json", b"{\"kind\": \"Pod\",\n")]).names("a.json"),
        app("yml: broken", &[("z.yml", b"kind: [\n")]).names("z.yml"),
        app(
            "not UTF-8: the first file",
            &[("a.yaml", b"kind: Pod\nmetadata:\n  name: \xff\n")],
        )
        .names("a.yaml is not UTF-8"),
        app(
            "not UTF-8: a later file",
            &[("a.yaml", CONFIG_MAP), ("c.yaml", b"\xff\xfe")],
        )
        .names("c.yaml is not UTF-8"),
        app(
            "not UTF-8: latin-1 text",
            &[("a.yaml", b"kind: ConfigMap\ndata:\n  k: caf\xe9\n")],
        )
        .names("a.yaml"),
        app(
            "no manifests: empty directory",
            &[("README.md", b"# app\n")],
        )
        .names("no manifests"),
        app(
            "no manifests: only blank files",
            &[("a.yaml", b"\n\n"), ("b.yml", b"   \n")],
        )
        .names("no manifests"),
        app(
            "recurse: a broken file below",
            &[("a.yaml", CONFIG_MAP), ("sub/b.yaml", b"kind: [\n")],
        )
        .arg("--recurse")
        .names("b.yaml"),
        app(
            "image paths: bad path",
            &[("a.yaml", DEPLOYMENT.as_bytes())],
        )
        .arg("--image-paths")
        .arg("spec.[")
        .names("--image-paths"),
        // Regression (issue 10): the operator's settings are checked before anything is rendered, so a bad one is
        // what the message names, not whatever the render ran into.
        app(
            "image paths: checked before rendering",
            &[("kustomization.yaml", b"resources: [\n")],
        )
        .arg("--image-paths")
        .arg("spec.[")
        .names("--image-paths"),
        app(
            "kustomize: broken kustomization",
            &[("kustomization.yaml", b"resources: [\n")],
        )
        .names("kustomize"),
        app(
            "kustomize: missing resource",
            &[("kustomization.yaml", b"resources:\n- nothere.yaml\n")],
        )
        .names("nothere.yaml"),
        app(
            "helm: broken Chart.yaml",
            &[
                ("Chart.yaml", b"name: [\n"),
                ("templates/a.yaml", CONFIG_MAP),
            ],
        )
        .env(
            "IMAGE_RESOLVER_HELM",
            concat!(env!("CARGO_MANIFEST_DIR"), "/.tools/bin/helm"),
        )
        .names("Chart.yaml"),
        app(
            "helm: Chart.yaml not UTF-8",
            &[
                ("Chart.yaml", b"name: \xff\nversion: 1.0.0\n"),
                ("templates/a.yaml", CONFIG_MAP),
            ],
        )
        .env(
            "IMAGE_RESOLVER_HELM",
            concat!(env!("CARGO_MANIFEST_DIR"), "/.tools/bin/helm"),
        )
        .names("Chart.yaml"),
        app(
            "helm: a template that fails",
            &[
                ("Chart.yaml", b"apiVersion: v2\nname: c\nversion: 1.0.0\n"),
                ("templates/a.yaml", b"x: {{ .Values.a.b }}\n"),
            ],
        )
        .env(
            "IMAGE_RESOLVER_HELM",
            concat!(env!("CARGO_MANIFEST_DIR"), "/.tools/bin/helm"),
        )
        .names("helm"),
        app(
            "helm: a template that renders broken YAML",
            &[
                ("Chart.yaml", b"apiVersion: v2\nname: c\nversion: 1.0.0\n"),
                ("templates/a.yaml", b"kind: [\n"),
            ],
        )
        .env(
            "IMAGE_RESOLVER_HELM",
            concat!(env!("CARGO_MANIFEST_DIR"), "/.tools/bin/helm"),
        )
        .names("templates/a.yaml"),
        named(
            "init: broken Chart.yaml",
            case("", &["init", "--app-dir", "{dir}/app"])
                .file("app/Chart.yaml", b"name: [\n".to_vec()),
        )
        .env(
            "IMAGE_RESOLVER_HELM",
            concat!(env!("CARGO_MANIFEST_DIR"), "/.tools/bin/helm"),
        )
        .names("Chart.yaml"),
        app(
            "yaml: control character in a plain scalar",
            &[
                ("a.yaml", CONFIG_MAP),
                ("b.yaml", b"kind: Pod\nmetadata:\n  name: web\x01\n"),
            ],
        )
        .names("b.yaml at line 3"),
        app(
            "yaml: NUL in a value",
            &[("a.yaml", b"kind: Pod\nmetadata:\n  name: a\x00b\n")],
        )
        .names(r"\0"),
        app(
            "yaml: C1 control in a value",
            &[("a.yaml", "kind: Pod\nmetadata:\n  name: a\u{9b}b\n".as_bytes())],
        )
        .names(r"\u{9b}"),
        app(
            "yaml: an image pinned through an anchor shared with a non-image value",
            &[(
                "a.yaml",
                b"apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  annotations:\n    \
                  argocd-image-updater.argoproj.io/image-list: web=registry.test/web\n    \
                  argocd-image-updater.argoproj.io/web.pin: 2.0.0\nspec:\n  containers:\n  - name: web\n    \
                  image: &img registry.test/web:1.0.0\n    env:\n    - name: IMAGE\n      value: *img\n",
            )],
        )
        .names("&img"),
        app(
            "helm: a release-name parameter that is a flag",
            &[
                ("Chart.yaml", b"apiVersion: v2\nname: c\nversion: 1.0.0\n"),
                ("templates/a.yaml", b"kind: ConfigMap\n"),
            ],
        )
        .env(
            "IMAGE_RESOLVER_HELM",
            concat!(env!("CARGO_MANIFEST_DIR"), "/.tools/bin/helm"),
        )
        .env(
            "ARGOCD_APP_PARAMETERS",
            r#"[{"name":"release-name","string":"--post-renderer=/bin/sh"}]"#,
        )
        .names("--post-renderer=/bin/sh"),
        app(
            "helm: a namespace that is a flag",
            &[
                ("Chart.yaml", b"apiVersion: v2\nname: c\nversion: 1.0.0\n"),
                ("templates/a.yaml", b"kind: ConfigMap\n"),
            ],
        )
        .env(
            "IMAGE_RESOLVER_HELM",
            concat!(env!("CARGO_MANIFEST_DIR"), "/.tools/bin/helm"),
        )
        .env("ARGOCD_APP_NAMESPACE", "--output-dir=/tmp")
        .names("ARGOCD_APP_NAMESPACE"),
        named(
            "explain: broken manifest",
            case("", &["explain", "{dir}/app"]).file("app/a.yaml", b"kind: [\n".to_vec()),
        )
        .names("a.yaml"),
        named(
            "parameters: broken manifest",
            case("", &["parameters", "--app-dir", "{dir}/app"])
                .file("app/a.yaml", b"kind: [\n".to_vec()),
        )
        .names("a.yaml"),
    ];
    check(cases);
}

const KEY: &str = "argocd-image-updater.argoproj.io/";

/// A Deployment of `registry.test/web:1.0.0` with `annotations` (key after the prefix, value as YAML).
fn annotated(name: &str, annotations: &[(&str, &str)]) -> Case {
    let mut text = String::from(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  annotations:\n",
    );
    for (key, value) in annotations {
        text.push_str(&format!("    {KEY}{key}: {value}\n"));
    }
    text.push_str("spec:\n  template:\n    spec:\n      containers:\n      - name: web\n        image: registry.test/web:1.0.0\n");
    app(
        &format!("annotation: {name}"),
        &[("web.yaml", text.as_bytes())],
    )
}

#[test]
fn policy_annotations() {
    let list = "web=registry.test/web";
    let per_image = |name: &str, option: &str, value: &str, names: &str| {
        annotated(
            name,
            &[("image-list", list), (&format!("web.{option}"), value)],
        )
        .names(names)
    };
    let cases = vec![
        annotated(
            "image-list: upper case",
            &[("image-list", "web=registry.test/Web")],
        )
        .names("registry.test/Web"),
        annotated(
            "image-list: empty constraint",
            &[("image-list", "'web=registry.test/web:'")],
        )
        .names("registry.test/web:"),
        annotated(
            "image-list: bad constraint",
            &[("image-list", "'web=registry.test/web:>=x.y.z.w'")],
        )
        .names("x.y.z.w"),
        annotated(
            "image-list: comma inside a constraint",
            &[("image-list", "'web=registry.test/web:>=1,<2'")],
        )
        .names("<2"),
        annotated(
            "image-list: alias with a space",
            &[("image-list", "'we b=registry.test/web'")],
        )
        .names("we b"),
        annotated(
            "image-list: empty alias",
            &[("image-list", "=registry.test/web")],
        )
        .names("image-list"),
        annotated(
            "image-list: duplicate alias",
            &[("image-list", "web=registry.test/web,web=registry.test/api")],
        )
        .names("web"),
        annotated("image-list: only a tag", &[("image-list", "web=:1.0")]).names(":1.0"),
        annotated(
            "image-list: escaped NUL",
            &[("image-list", "\"web=registry.test/w\\0eb\"")],
        )
        .names(r"\0"),
        annotated(
            "image-list: bidi override",
            &[("image-list", "\"web=registry.test/w\\u202eeb\"")],
        )
        .names(r"\u{202e}"),
        per_image(
            "update-strategy unknown",
            "update-strategy",
            "newest",
            "newest",
        ),
        per_image(
            "update-strategy with a control character",
            "update-strategy",
            "\"semver\\x07\"",
            r"semver\u{7}",
        ),
        per_image("allow-tags without regexp", "allow-tags", "^v", "^v"),
        per_image("allow-tags unclosed group", "allow-tags", "'regexp:('", "("),
        per_image("tag-match unclosed class", "tag-match", "'regexp:[a'", "[a"),
        per_image("ignore-tags unclosed class", "ignore-tags", "'['", "["),
        per_image("platforms os only", "platforms", "linux", "linux"),
        per_image(
            "platforms empty part",
            "platforms",
            "'linux/amd64,,/'",
            "platforms",
        ),
        per_image(
            "pull-secret without source",
            "pull-secret",
            "user:pass",
            "pull-secret",
        ),
        per_image(
            "pull-secret without namespace",
            "pull-secret",
            "pullsecret:x",
            "pullsecret:x",
        ),
        per_image(
            "pull-secret secret without field",
            "pull-secret",
            "secret:ns/x",
            "secret:ns/x",
        ),
        per_image(
            "tag-pattern unclosed group",
            "tag-pattern",
            "'('",
            "tag-pattern",
        ),
        per_image(
            "include-prerelease not a boolean",
            "include-prerelease",
            "yes",
            "include-prerelease",
        ),
        per_image(
            "strict-semver not a boolean",
            "strict-semver",
            "'1'",
            "strict-semver",
        ),
        per_image("hold not a boolean", "hold", "maybe", "maybe"),
        per_image("pin not a tag", "pin", "../x", "../x"),
        per_image(
            "pin with a control character",
            "pin",
            "\"1.0\\x01\"",
            r"1.0\u{1}",
        ),
        per_image("order unknown", "order", "up", "up"),
        per_image(
            "kustomize.image-name upper case",
            "kustomize.image-name",
            "Web",
            "Web",
        ),
        annotated(
            "extract refers to a group the pattern lacks",
            &[
                ("image-list", list),
                ("web.tag-pattern", "'^(\\d+)$'"),
                ("web.extract", "$nope"),
            ],
        )
        .names("web.extract"),
        annotated(
            "extract without tag-pattern",
            &[("image-list", list), ("web.extract", "$1")],
        )
        .names("web.extract"),
        annotated(
            "app-wide update-strategy unknown",
            &[("image-list", list), ("update-strategy", "newest")],
        )
        .names("newest"),
        annotated(
            "app-wide ignore-tags unclosed",
            &[("image-list", list), ("ignore-tags", "'[a-'")],
        )
        .names("[a-"),
        annotated(
            "app-wide platforms bad",
            &[("image-list", list), ("platforms", "/arm64")],
        )
        .names("/arm64"),
    ];
    check(cases);
}

/// `generate` of an app with the tracked Deployment and `ARGOCD_APP_PARAMETERS` set to `json`.
fn with_parameters(name: &str, json: impl Into<OsString>, names: &str) -> Case {
    app(
        &format!("parameters: {name}"),
        &[("web.yaml", DEPLOYMENT.as_bytes())],
    )
    .env("ARGOCD_APP_PARAMETERS", json)
    .names(names)
}

#[test]
fn app_parameters() {
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let cases = vec![
        with_parameters("not JSON", "not json", "ARGOCD_APP_PARAMETERS"),
        with_parameters("an object", "{}", "ARGOCD_APP_PARAMETERS"),
        with_parameters("a list of numbers", "[1]", "ARGOCD_APP_PARAMETERS"),
        with_parameters(
            "an item without name",
            r#"[{"string": "x"}]"#,
            "ARGOCD_APP_PARAMETERS",
        ),
        with_parameters(
            "a number for a name",
            r#"[{"name": 1, "string": "x"}]"#,
            "ARGOCD_APP_PARAMETERS",
        ),
        with_parameters(
            "regression: a number for image-list was reported only by column",
            r#"[{"name":"image-list","string":1}]"#,
            "parameter image-list",
        ),
        with_parameters(
            "an array of numbers",
            r#"[{"name":"image-list","array":[1]}]"#,
            "parameter image-list",
        ),
        with_parameters(
            "a map of numbers",
            r#"[{"name":"policy","map":{"update-strategy":1}}]"#,
            "parameter policy",
        ),
        with_parameters(
            "a boolean for a renderer parameter",
            r#"[{"name":"release-name","string":true}]"#,
            "parameter release-name",
        ),
        with_parameters(
            "two values",
            r#"[{"name":"image-list","string":"a","array":["b"]}]"#,
            "image-list",
        ),
        with_parameters(
            "policy as a string",
            r#"[{"name":"policy","string":"x"}]"#,
            "policy",
        ),
        with_parameters(
            "bad image",
            r#"[{"name":"image-list","string":"web=registry.test/Web"}]"#,
            "registry.test/Web",
        ),
        with_parameters(
            "bad strategy",
            r#"[{"name":"image-list","string":"web=registry.test/web"},{"name":"update-strategy","string":"newest"}]"#,
            "newest",
        ),
        with_parameters(
            "bad pin",
            r#"[{"name":"image-list","string":"web=registry.test/web"},{"name":"web.pin","string":"a/b"}]"#,
            "a/b",
        ),
        with_parameters(
            "escaped control character",
            r#"[{"name":"image-list","string":"web=registry.test/web"},{"name":"update-strategy","string":"x\u0001\u202e"}]"#,
            r"x\u{1}\u{202e}",
        ),
        with_parameters("deeply nested", deep, "ARGOCD_APP_PARAMETERS"),
        with_parameters("trailing text", "[] x", "ARGOCD_APP_PARAMETERS"),
        with_parameters(
            "regression: not UTF-8 was silently ignored",
            OsString::from_vec(b"[{\"name\":\"\xff\"}]".to_vec()),
            "ARGOCD_APP_PARAMETERS",
        ),
        named(
            "parameters command: a number for image-list",
            case("", &["parameters", "--app-dir", "{dir}/app"])
                .file("app/web.yaml", DEPLOYMENT)
                .env(
                    "ARGOCD_APP_PARAMETERS",
                    r#"[{"name":"image-list","string":1}]"#,
                ),
        )
        .names("parameter image-list"),
        named(
            "init: not UTF-8",
            case("", &["init", "--app-dir", "{dir}/app"])
                .file("app/web.yaml", DEPLOYMENT)
                .env(
                    "ARGOCD_APP_PARAMETERS",
                    OsString::from_vec(b"\xff".to_vec()),
                ),
        )
        .names("ARGOCD_APP_PARAMETERS"),
        named(
            "explain: not JSON",
            case("", &["explain", "{dir}/app"])
                .file("app/web.yaml", DEPLOYMENT)
                .env("ARGOCD_APP_PARAMETERS", "[{"),
        )
        .names("ARGOCD_APP_PARAMETERS"),
    ];
    check(cases);
}

#[test]
fn plugin_env() {
    let env = |name: &str, var: &str, value: &str, names: &str| {
        named(
            &format!("plugin env: {name}"),
            app("", &[("web.yaml", DEPLOYMENT.as_bytes())])
                .env("ARGOCD_ENV_IMAGE_LIST", "web=registry.test/web")
                .env(var, value)
                .names(names),
        )
    };
    let cases = vec![
        named(
            "plugin env: image list upper case",
            app("", &[("web.yaml", DEPLOYMENT.as_bytes())])
                .env("ARGOCD_ENV_IMAGE_LIST", "web=registry.test/Web"),
        )
        .names("ARGOCD_ENV_IMAGE_LIST"),
        env(
            "strategy unknown",
            "ARGOCD_ENV_UPDATE_STRATEGY",
            "newest",
            "ARGOCD_ENV_UPDATE_STRATEGY",
        ),
        env(
            "allow-tags unclosed",
            "ARGOCD_ENV_ALLOW_TAGS",
            "regexp:(",
            "ARGOCD_ENV_ALLOW_TAGS",
        ),
        env(
            "ignore-tags unclosed",
            "ARGOCD_ENV_IGNORE_TAGS",
            "[",
            "ARGOCD_ENV_IGNORE_TAGS",
        ),
        env(
            "platforms bad",
            "ARGOCD_ENV_PLATFORMS",
            "linux",
            "ARGOCD_ENV_PLATFORMS",
        ),
        env(
            "exact key strategy",
            "ARGOCD_ENV_update-strategy",
            "newest",
            "ARGOCD_ENV_update-strategy",
        ),
        env(
            "bidi override in a value",
            "ARGOCD_ENV_UPDATE_STRATEGY",
            "semver\u{202e}",
            r"semver\u{202e}",
        ),
        env(
            "escape sequence in a value",
            "ARGOCD_ENV_UPDATE_STRATEGY",
            "\u{1b}[2Jsemver",
            r"\u{1b}[2Jsemver",
        ),
        named(
            "plugin env: a key in both spellings",
            app("", &[("web.yaml", DEPLOYMENT.as_bytes())])
                .env("ARGOCD_ENV_IMAGE_LIST", "web=registry.test/web")
                .env("ARGOCD_ENV_UPDATE_STRATEGY", "semver")
                .env("ARGOCD_ENV_update-strategy", "digest"),
        )
        .names("remove one"),
        named(
            "plugin env: per-image pin not a tag",
            app("", &[("web.yaml", DEPLOYMENT.as_bytes())])
                .env("ARGOCD_ENV_IMAGE_LIST", "web=registry.test/web")
                .env("ARGOCD_ENV_WEB_PIN", "../x"),
        )
        .names("../x"),
        named(
            "plugin env: image list not UTF-8",
            app("", &[("web.yaml", DEPLOYMENT.as_bytes())]).env(
                "ARGOCD_ENV_IMAGE_LIST",
                OsString::from_vec(b"web=\xff".to_vec()),
            ),
        )
        .names("ARGOCD_ENV_IMAGE_LIST"),
    ];
    check(cases);
}

/// Regression: an image-list of 10,000 aliases of one repository printed 9,999 warnings, one per line.
#[test]
fn repeated_warnings_are_counted_not_repeated() {
    let tmp = tempfile::tempdir().unwrap();
    let list: Vec<String> = (0..10_000)
        .map(|i| format!("a{i}=registry.test/img"))
        .collect();
    let manifest = format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations:\n    {KEY}image-list: \"{}\"\nspec:\n  \
         containers:\n  - name: c\n    image: nginx:1.0\n",
        list.join(",")
    );
    std::fs::write(tmp.path().join("p.yaml"), &manifest).unwrap();
    let output = Command::cargo_bin("argocd-image-resolver")
        .unwrap()
        .args(["generate", "--app-dir"])
        .arg(tmp.path())
        .env("IMAGE_RESOLVER_LOG_LEVEL", "warn")
        .env("XDG_CACHE_HOME", tmp.path().join("cache"))
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    assert_eq!(
        output.stdout,
        manifest.as_bytes(),
        "nothing tracked is in the manifest"
    );
    let stderr = String::from_utf8(output.stderr).unwrap();
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 4, "{stderr}");
    assert!(
        lines[3].ends_with(
            "9996 more warnings like: alias '…' and alias '…' both match the images of registry.test/img; alias '…' \
             governs them"
        ),
        "{stderr}"
    );
}

/// Usage errors are rewritten; `--help` and `--version` are not errors and must still print to stdout, exit 0.
#[test]
fn help_and_version_still_print_to_stdout() {
    for args in [
        &["--help"][..],
        &["--version"],
        &["resolve", "--help"],
        &["generate", "-h"],
        &["help", "explain"],
    ] {
        let output = Command::cargo_bin("argocd-image-resolver")
            .unwrap()
            .args(args)
            .timeout(Duration::from_secs(60))
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(0), "{args:?}");
        assert!(!output.stdout.is_empty(), "{args:?}");
        assert!(output.stderr.is_empty(), "{args:?}");
    }
}

/// Durations at the edge of what parses, where the command must still fail cleanly (here: the registry is a closed
/// loopback port, so exit 1) rather than overflow the clock (exit 101).
#[test]
fn huge_durations() {
    let port = closed_port();
    let image = format!("127.0.0.1:{port}/app");
    let tracked = format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations:\n    {KEY}image-list: web={image}\nspec:\n  \
         containers:\n  - name: c\n    image: {image}:1.0.0\n"
    );
    let conf = format!(
        "registries:\n- name: local\n  prefix: 127.0.0.1:{port}\n  credentials: env:CREDS\n  credsexpire: \
         9223372036854775807s\n"
    );
    let cases = vec![
        app(
            "tags TTL of i64::MAX seconds",
            &[("p.yaml", tracked.as_bytes())],
        )
        .env("ARGOCD_ENV_IMAGE_RESOLVER_TAGS_TTL", "9223372036854775807s")
        .code(1)
        .names(&image),
        app(
            "tags TTL of u64::MAX seconds",
            &[("p.yaml", tracked.as_bytes())],
        )
        .env("IMAGE_RESOLVER_TAGS_TTL", "18446744073709551615s")
        .code(1)
        .names(&image),
        named(
            "credsexpire of i64::MAX seconds",
            case(
                "",
                &["tags", &image, "--registries-conf", "{dir}/registries.conf"],
            )
            .file("registries.conf", conf.clone())
            .env("CREDS", "user:pass")
            .code(1),
        )
        .names(format!("registry 127.0.0.1:{port}")),
        named(
            "the longest budget",
            case("", &["tags", &image])
                .env("IMAGE_RESOLVER_BUDGET", "1h")
                .code(1),
        )
        .names(format!("registry 127.0.0.1:{port}")),
        named(
            "credsexpire overflowing a duration",
            case(
                "",
                &["tags", &image, "--registries-conf", "{dir}/registries.conf"],
            )
            .file(
                "registries.conf",
                conf.replace("9223372036854775807s", "99999999999999999999h"),
            ),
        )
        .names("credsexpire"),
    ];
    check(cases);
}
