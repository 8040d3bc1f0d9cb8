//! Image references, the command line and its environment variables, `--help`/`--version`, and durations.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::time::Duration;

use assert_cmd::Command;

use crate::{Case, DEPLOYMENT, KEY, app, case, check, closed_port, named, resolve};

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
