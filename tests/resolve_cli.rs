//! The `resolve` command as a user runs it: flags, tag lists from files and stdin, exit codes and messages.

use assert_cmd::Command;
use predicates::prelude::*;

const NGINX_TAGS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/tags/nginx.txt");

fn resolve() -> Command {
    let mut cmd = Command::cargo_bin("argocd-image-resolver").unwrap();
    cmd.arg("resolve").env_remove("IMAGE_RESOLVER_STRATEGY");
    cmd
}

#[test]
fn picks_the_tag_each_policy_allows() {
    for (name, args, want) in [
        ("default semver, no prereleases", vec!["nginx"], "1.27.0\n"),
        // Issue 11, item 8: a blank value is "not set", as for an annotation or a parameter.
        (
            "blank filters are not set",
            vec![
                "nginx",
                "--allow-tags",
                "",
                "--ignore-tags",
                " ",
                "--platforms",
                "",
            ],
            "1.27.0\n",
        ),
        ("constraint on the image", vec!["nginx:~1.25"], "1.25.5\n"),
        (
            "constraint flag",
            vec!["nginx", "--constraint", "<1.26"],
            "1.25.5\n",
        ),
        (
            "range with spaces",
            vec!["nginx:>=1.24 <1.26.1"],
            "1.26.0\n",
        ),
        (
            "prerelease opt-in",
            vec!["nginx", "--include-prerelease"],
            "1.27.1-rc.1\n",
        ),
        (
            "newest build",
            vec![
                "nginx",
                "--strategy",
                "newest-build",
                "--ignore-tags",
                "mainline,latest,*-rc.*",
            ],
            "1.27.0-alpine\n",
        ),
        (
            "old name latest",
            vec![
                "nginx",
                "--strategy",
                "latest",
                "--allow-tags",
                "regexp:^[0-9.]+$",
            ],
            "1.27.0\n",
        ),
        (
            "alphabetical",
            vec!["nginx", "--strategy", "alphabetical"],
            "stable\n",
        ),
        (
            "strategy name in any case, as annotations take it (issue 10: one policy builder)",
            vec!["nginx", "--strategy", "Alphabetical", "--order", "desc"],
            "1.24.0\n",
        ),
        (
            "allow-tags alpine",
            vec![
                "nginx",
                "--allow-tags",
                r"regexp:^\d+\.\d+\.\d+-alpine$",
                "--tag-pattern",
                r"^(?P<v>.*)-alpine$",
                "--extract",
                "$v",
            ],
            "1.27.0-alpine\n",
        ),
        (
            "--pin-digest: the winner with the digest its tag names",
            vec![
                "nginx",
                "--allow-tags",
                "regexp:^latest$",
                "--strategy",
                "alphabetical",
                "--pin-digest",
            ],
            "latest@sha256:56b388b0d79c738f4cf51bbaf184a14fab19337f4819ceb2cae7d94100262de8\n",
        ),
        (
            "digest of the tracked tag",
            vec!["nginx:stable", "--strategy", "digest"],
            "stable@sha256:0c86dddac19f2ce4fd716ac58c0fd87bf69bfd4edabfd6971fb885bafd12a00b\n",
        ),
    ] {
        let output = resolve()
            .args(&args)
            .args(["--tags-file", NGINX_TAGS])
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&output.stderr), "", "{name}");
        assert!(output.status.success(), "{name}");
        assert_eq!(String::from_utf8_lossy(&output.stdout), want, "{name}");
    }
}

#[test]
fn reads_tags_from_stdin_and_the_command_line() {
    resolve()
        .args(["ghcr.io/org/app:^2", "--tags-file", "-"])
        .write_stdin("v1.9.0\nv2.3.1\nv2.10.0\nv3.0.0\n")
        .assert()
        .success()
        .stdout("v2.10.0\n");
    resolve()
        .args(["app", "--tags", "1.0.0, 1.1.0 ,0.9.0"])
        .assert()
        .success()
        .stdout("1.1.0\n");
}

#[test]
fn environment_variables_set_options() {
    resolve()
        .args(["nginx", "--tags-file", NGINX_TAGS])
        .env("IMAGE_RESOLVER_STRATEGY", "alphabetical")
        .env("IMAGE_RESOLVER_ORDER", "desc")
        .assert()
        .success()
        .stdout("1.24.0\n");
}

#[test]
fn json_report_says_what_each_filter_dropped() {
    let output = resolve()
        .args([
            "nginx:^1.25",
            "--ignore-tags",
            "1.27.*",
            "-o",
            "json",
            "--tags-file",
            NGINX_TAGS,
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let report: serde_json::Value = serde_json::from_slice(&output).unwrap();
    assert_eq!(report["image"], "docker.io/library/nginx");
    assert_eq!(report["tag"], "1.26.1");
    assert_eq!(report["reference"], "docker.io/library/nginx:1.26.1");
    assert_eq!(report["strategy"], "semver");
    assert_eq!(report["constraint"], "^1.25");
    assert_eq!(report["considered"], 14);
    assert_eq!(report["candidates"], 5);
    assert_eq!(
        report["dropped"]["ignore_tags"],
        serde_json::json!(["1.27.0", "1.27.0-alpine", "1.27.1-rc.1"])
    );
    assert_eq!(
        report["dropped"]["unparsable"],
        serde_json::json!(["stable", "mainline", "latest"])
    );
    assert_eq!(
        report["dropped"]["constraint"],
        serde_json::json!(["1.25.3-alpine", "1.26.0-alpine", "1.24.0"])
    );
}

#[test]
fn no_matching_tag_exits_1_and_names_image_and_policy() {
    resolve()
        .args(["nginx:>=2", "--tags-file", NGINX_TAGS, "--allow-tags", "regexp:^1"])
        .assert()
        .code(1)
        .stdout("")
        .stderr(
            "argocd-image-resolver: no tag of docker.io/library/nginx satisfies its policy (strategy semver, \
             constraint '>=2', allow-tags 'regexp:^1'): of 14 tags, 3 not allowed by allow-tags, \
             11 outside the constraint\n",
        );
    resolve()
        .args(["nginx", "--tags", ""])
        .assert()
        .code(1)
        .stdout("")
        .stderr(predicate::str::ends_with("the tag list is empty\n"));
}

/// Issue 11, item 10: with no constraint, only prereleases are left out, and the message says so and how to let
/// them in (it used to say "outside the constraint" though none was given).
#[test]
fn only_prereleases_left_name_include_prerelease() {
    resolve()
        .args(["redis", "--tags", "7.4.1-alpine,7.4.0-rc.1"])
        .assert()
        .code(1)
        .stdout("")
        .stderr(
            "argocd-image-resolver: no tag of docker.io/library/redis satisfies its policy (strategy semver): of 2 \
             tags, 2 prereleases, which semver leaves out by default (set --include-prerelease, or a constraint \
             such as '>=0.0.0-0')\n",
        );
    resolve()
        .args([
            "redis",
            "--tags",
            "7.4.1-alpine,7.4.0-rc.1",
            "--include-prerelease",
        ])
        .assert()
        .success()
        .stdout("7.4.1-alpine\n");
}

/// Issue 11, item 10: `-o json` with no tag satisfying the policy prints the report (tag null, every drop) and
/// exits 1, the message on stderr; it used to print nothing.
#[test]
fn json_report_without_a_winner_says_what_was_dropped() {
    let output = resolve()
        .args([
            "nginx:>=2",
            "--tags-file",
            NGINX_TAGS,
            "--allow-tags",
            "regexp:^1",
            "-o",
            "json",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["tag"], serde_json::Value::Null);
    assert_eq!(report["reference"], serde_json::Value::Null);
    assert_eq!(
        (report["considered"].as_u64(), report["candidates"].as_u64()),
        (Some(14), Some(0))
    );
    assert_eq!(
        report["dropped"]["allow_tags"].as_array().map(Vec::len),
        Some(3)
    );
    assert_eq!(
        report["dropped"]["constraint"].as_array().map(Vec::len),
        Some(11)
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("no tag of docker.io/library/nginx satisfies its policy"),
        "{stderr}"
    );
}

#[test]
fn bad_input_exits_2_with_a_message_naming_it() {
    for (name, args, want) in [
        (
            "bad constraint",
            vec!["nginx:>=x.y.z.w"],
            "invalid policy: invalid constraint '>=x.y.z.w'",
        ),
        (
            "bad regexp",
            vec!["nginx", "--allow-tags", "regexp:v[0-9"],
            "invalid --allow-tags: ",
        ),
        (
            "bad glob",
            vec!["nginx", "--ignore-tags", "[a-"],
            "invalid --ignore-tags: ",
        ),
        ("bad image", vec!["Nginx"], "invalid image: "),
        (
            "bad strategy",
            vec!["nginx", "--strategy", "newest"],
            "invalid policy: unknown update strategy 'newest'",
        ),
        (
            "tag and constraint",
            vec!["nginx:1.0", "--constraint", "^1"],
            "image 'nginx:1.0' should not carry a tag when --constraint is given; remove ':1.0'",
        ),
        (
            "semver-only flag",
            vec!["nginx", "--strategy", "alphabetical", "--strict-semver"],
            "--strict-semver applies to the semver strategy only, not to alphabetical",
        ),
        (
            "pin-digest with the digest strategy, which renders the digest already",
            vec!["nginx:stable", "--strategy", "digest", "--pin-digest"],
            "--pin-digest applies to the semver, newest-build, alphabetical and numerical strategies only, not to \
             digest",
        ),
        (
            "order with a strategy that has none (issue 10: one policy builder)",
            vec!["nginx", "--order", "desc"],
            "--order applies to the alphabetical and numerical strategies only, not to semver",
        ),
        (
            "extract naming a group the pattern lacks",
            vec!["nginx", "--tag-pattern", r"^(\d+)", "--extract", "$2"],
            "invalid --extract: extract template '$2' refers to group '2'",
        ),
        (
            "bad platform",
            vec!["nginx", "--platforms", "linux"],
            "invalid --platforms: platform 'linux' is not os/arch or os/arch/variant",
        ),
        (
            "platforms of a tag list",
            vec!["nginx", "--platforms", "linux/arm64"],
            "--platforms needs the registry: a tag list does not say which platforms each tag has an image for",
        ),
    ] {
        resolve()
            .args(&args)
            .args(["--tags", "1.0.0"])
            .assert()
            .code(2)
            .stdout("")
            .stderr(
                predicate::str::starts_with(format!("argocd-image-resolver: {want}")).name(name),
            );
    }
}

#[test]
fn bad_tag_files_name_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tags.txt");
    std::fs::write(&file, "1.0.0\n1.1.0 yesterday\n").unwrap();
    resolve()
        .arg("nginx")
        .arg("--tags-file")
        .arg(&file)
        .assert()
        .code(2)
        .stdout("")
        .stderr(format!(
            "argocd-image-resolver: invalid tag list {}: line 2: invalid creation time 'yesterday' for tag '1.1.0': \
             expected RFC 3339 such as 2024-05-01T10:00:00Z, or '-'\n",
            file.display()
        ));
    resolve()
        .args(["nginx", "--tags-file", "/nonexistent/tags.txt"])
        .assert()
        .code(2)
        .stderr(predicate::str::starts_with(
            "argocd-image-resolver: cannot read --tags-file /nonexistent/tags.txt: ",
        ));
}

#[test]
fn digest_strategy_needs_a_digest() {
    resolve()
        .args(["nginx", "--strategy", "digest", "--tags", "latest,1.0"])
        .assert()
        .code(1)
        .stdout("")
        .stderr(predicate::str::contains(
            "the digest strategy needs the digest of nginx:latest",
        ));
    resolve()
        .args(["nginx:^1", "--pin-digest", "--tags", "1.0.0,1.1.0"])
        .assert()
        .code(1)
        .stdout("")
        .stderr(predicate::str::contains(
            "--pin-digest needs the digest of nginx:1.1.0",
        ));
}

#[test]
fn unknown_log_levels_are_refused_and_known_ones_taken_in_any_case() {
    resolve()
        .args(["nginx", "--tags", "1.0.0", "--log-level", "verbose"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(
            "argocd-image-resolver: invalid value 'verbose' for --log-level: use 'error', 'warn', 'info', \
             'debug' or 'trace'\n",
        );
    for level in ["WARNING", "Info", "error"] {
        resolve()
            .args(["nginx", "--tags", "1.0.0"])
            .env("IMAGE_RESOLVER_LOG_LEVEL", level)
            .assert()
            .success()
            .stdout("1.0.0\n");
    }
}

#[test]
fn a_broken_registries_conf_only_matters_when_a_registry_is_asked() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("registries.conf");
    std::fs::write(&conf, "registries: [").unwrap();
    let conf = conf.to_str().unwrap();
    resolve()
        .args(["nginx", "--tags", "1.0.0,1.1.0", "--registries-conf", conf])
        .assert()
        .success()
        .stdout("1.1.0\n")
        .stderr(predicate::str::contains("naming images as Docker does"));
    resolve()
        .args(["nginx", "--registries-conf", conf])
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::starts_with(format!(
            "argocd-image-resolver: invalid {conf}: "
        )));
}

/// Issue 11, item 11: `completions SHELL` prints a script; an unknown shell is a usage error.
#[test]
fn completions_are_printed_for_known_shells() {
    let mut cmd = Command::cargo_bin("argocd-image-resolver").unwrap();
    cmd.args(["completions", "bash"])
        .assert()
        .success()
        .stdout(predicate::str::contains("complete -F"));
    let mut cmd = Command::cargo_bin("argocd-image-resolver").unwrap();
    cmd.args(["completions", "tcsh"]).assert().code(2);
}
