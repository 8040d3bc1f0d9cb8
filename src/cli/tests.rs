use std::time::Duration;

use super::*;
use crate::cache::CacheOptions;
use crate::size::ByteSize;

#[test]
fn repeated_warnings_are_counted() {
    let overlap = |i: usize| {
        format!("alias 'a0' and alias 'a{i}' both match the images of x; alias 'a0' governs them")
    };
    let mut many: Vec<String> = (1..10_000).map(overlap).collect();
    many.insert(2, "env X: ignored".to_string());
    many.push("env Y: ignored".to_string());
    assert_eq!(
        condensed(&many),
        vec![
            overlap(1),
            overlap(2),
            "env X: ignored".to_string(),
            overlap(3),
            "9996 more warnings like: alias '…' and alias '…' both match the images of x; alias '…' governs \
             them"
                .to_string(),
            "env Y: ignored".to_string(),
        ],
        "regression: a 10,000-alias image-list printed 9,999 warnings"
    );
    let few: Vec<String> = (1..=3).map(overlap).collect();
    assert_eq!(condensed(&few), few, "up to the limit, all are shown");
}

#[test]
fn budgets_are_positive_and_at_most_an_hour() {
    let cases: &[(&str, &str, Result<Duration, &str>)] = &[
        ("seconds", "40s", Ok(Duration::from_secs(40))),
        ("mixed units", "1m30s", Ok(Duration::from_secs(90))),
        ("the maximum", "1h", Ok(Duration::from_secs(3600))),
        (
            "just over the maximum",
            "1h0m0.001s",
            Err(
                "'1h0m0.001s' is more than the maximum of 1h: Argo CD gives a whole manifest request a \
                 minute by default",
            ),
        ),
        (
            "regression: i64::MAX seconds overflowed Instant::now() + budget (exit 101)",
            "9223372036854775807s",
            Err(
                "'9223372036854775807s' is more than the maximum of 1h: Argo CD gives a whole manifest \
                 request a minute by default",
            ),
        ),
        (
            "zero",
            "0s",
            Err("'0s' is not a positive duration such as 40s or 1m30s"),
        ),
        (
            "words",
            "soon",
            Err("'soon' is not a positive duration such as 40s or 1m30s"),
        ),
    ];
    for (name, value, want) in cases {
        assert_eq!(parse_budget(value), want.map_err(String::from), "{name}");
    }
}

/// Every flag a command's help lists does something for it: commands take only the options they use.
#[test]
fn commands_take_only_the_options_they_use() {
    let parses = |args: &[&str]| {
        command()
            .try_get_matches_from(
                std::iter::once("argocd-image-resolver").chain(args.iter().copied()),
            )
            .is_ok()
    };
    let cases: &[(&str, &[&str], bool)] = &[
        ("init: the app dir", &["init", "--app-dir", "."], true),
        (
            "init renders nothing",
            &["init", "--kustomize-args", "--enable-helm"],
            false,
        ),
        (
            "init resolves nothing",
            &["init", "--image-paths", "spec.image"],
            false,
        ),
        (
            "init asks no registry",
            &["init", "--registries-conf", "r.conf"],
            false,
        ),
        (
            "init keeps nothing",
            &["init", "--cache-dir", "/tmp"],
            false,
        ),
        (
            "generate shares tag lists",
            &["generate", "--tags-ttl", "0"],
            true,
        ),
        (
            "parameters shares tag lists",
            &["parameters", "--tags-ttl", "1m"],
            true,
        ),
        (
            "explain always asks",
            &["explain", "--tags-ttl", "0"],
            false,
        ),
        (
            "explain reads the cache",
            &["explain", "--cache-dir", "/tmp"],
            true,
        ),
        (
            "explain bounds the cache it opens",
            &[
                "explain",
                "--cache-max-size",
                "1Gi",
                "--cache-max-age",
                "24h",
            ],
            true,
        ),
        (
            "init keeps nothing to bound",
            &["init", "--cache-max-size", "1Gi"],
            false,
        ),
    ];
    for (name, args, want) in cases {
        assert_eq!(parses(args), *want, "{name}");
    }
}

/// The cache's bounds: by default the file cache's own, 0 lifts a bound, and a bad value names its flag.
#[test]
fn cache_bounds() {
    let bounds = |args: &[&str]| {
        let argv = ["argocd-image-resolver", "generate"]
            .into_iter()
            .chain(args.iter().copied());
        match <Cli as clap::Parser>::try_parse_from(argv) {
            Ok(Cli {
                command: Command::Generate(args),
                ..
            }) => {
                let options = generate::cache_options(&args.app);
                Ok((options.max_size, options.max_age))
            }
            Ok(_) => unreachable!("generate parses as generate"),
            Err(e) => Err(e.to_string().lines().next().unwrap_or_default().to_owned()),
        }
    };
    let day = Duration::from_secs(24 * 60 * 60);
    type Bounds = (Option<ByteSize>, Option<Duration>);
    let cases: &[(&str, &[&str], Result<Bounds, &str>)] = &[
        (
            "defaults",
            &[],
            Ok((
                Some(CacheOptions::DEFAULT_MAX_SIZE),
                Some(CacheOptions::DEFAULT_MAX_AGE),
            )),
        ),
        (
            "both set",
            &["--cache-max-size", "1Gi", "--cache-max-age", "24h"],
            Ok((Some(ByteSize(1 << 30)), Some(day))),
        ),
        (
            "0 lifts both bounds",
            &["--cache-max-size", "0", "--cache-max-age", "0"],
            Ok((None, None)),
        ),
        (
            "a fraction",
            &["--cache-max-size", "1.5Gi"],
            Err(
                "error: invalid value '1.5Gi' for '--cache-max-size <SIZE>': '1.5Gi' is not a size such as 64Mi, \
                 512Ki, 10MB or 1048576",
            ),
        ),
        (
            "days are not a Go duration",
            &["--cache-max-age", "30d"],
            Err(
                "error: invalid value '30d' for '--cache-max-age <DURATION>': '30d' is not a duration such as 720h \
                 (30 days), 24h or 0",
            ),
        ),
    ];
    for (name, args, want) in cases {
        assert_eq!(bounds(args), want.map_err(String::from), "{name}");
    }
}

/// Issue 11, item 11: colour only for a terminal, and never with `NO_COLOR` set to something (no-color.org).
#[test]
fn colour_follows_the_terminal_and_no_color() {
    for (name, terminal, no_color, want) in [
        ("terminal", true, None, true),
        ("not a terminal", false, None, false),
        ("NO_COLOR=1", true, Some("1"), false),
        ("NO_COLOR empty counts as unset", true, Some(""), true),
    ] {
        assert_eq!(
            logging::colour(terminal, no_color.map(std::ffi::OsString::from)),
            want,
            "{name}"
        );
    }
}

/// Issue 11, item 11: completion scripts name every subcommand, for each shell.
#[test]
fn completions_cover_every_subcommand() {
    for shell in [
        clap_complete::Shell::Bash,
        clap_complete::Shell::Zsh,
        clap_complete::Shell::Fish,
    ] {
        let script = completions(shell);
        for subcommand in [
            "resolve",
            "generate",
            "parameters",
            "explain",
            "completions",
        ] {
            assert!(script.contains(subcommand), "{shell}: {subcommand}");
        }
        assert!(script.contains("max-manifest-size"), "{shell}: options too");
    }
}

#[test]
fn the_flat_namespace_is_a_namespace_name() {
    let cases: &[(&str, &str, Result<&str, &str>)] = &[
        ("a namespace", "argocd", Ok("argocd")),
        (
            "a path",
            "../argocd",
            Err(
                "'../argocd' is not a Kubernetes namespace name (a DNS-1123 label: lower-case letters, digits and '-')",
            ),
        ),
        (
            "upper case",
            "ArgoCD",
            Err(
                "'ArgoCD' is not a Kubernetes namespace name (a DNS-1123 label: lower-case letters, digits and '-')",
            ),
        ),
    ];
    for (name, value, want) in cases {
        assert_eq!(
            parse_namespace(value),
            want.map(String::from).map_err(String::from),
            "{name}"
        );
    }
}
