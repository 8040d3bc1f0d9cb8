//! `resolve` and `tags` against a real registry (Debian's docker-registry), as a user runs them: credentials from
//! each source, registries.conf, TLS, and the strategies that read manifests and configs.

mod support;

use std::path::Path;
use std::process::Output;

use assert_cmd::Command;
use support::{ImageSpec, TestRegistry};

/// Runs the binary off the async runtime: the registry's token server runs on it and must keep serving.
async fn cli(args: Vec<String>, envs: Vec<(&'static str, String)>) -> Output {
    tokio::task::spawn_blocking(move || {
        let mut cmd = Command::cargo_bin("argocd-image-resolver").unwrap();
        // Isolate from the machine's own docker config and registries.conf.
        cmd.env("DOCKER_CONFIG", "/nonexistent")
            .env_remove("IMAGE_RESOLVER_DOCKER_CONFIG");
        cmd.args(&args).envs(envs).output().unwrap()
    })
    .await
    .unwrap()
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Pushes `team/app` with the given tags, each its own image built at the given day of May 2024.
async fn push_app(registry: &TestRegistry, tags: &[(&str, u32)]) {
    let pusher = registry.pusher();
    for (tag, day) in tags {
        let created = format!("2024-05-{day:02}T10:00:00Z");
        let image = pusher
            .image("team/app", &ImageSpec::linux("amd64", None, &created))
            .await;
        pusher.tag("team/app", tag, &image).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resolves_from_a_plain_registry() {
    let registry = TestRegistry::plain().await;
    push_app(
        &registry,
        &[
            ("v1.0.0", 1),
            ("v1.2.0", 2),
            ("v2.0.0-rc.1", 3),
            ("latest", 4),
            ("v0.9.0", 5),
        ],
    )
    .await;
    let image = format!("{}/team/app", registry.registry);

    let output = cli(args(&["resolve", &format!("{image}:^1")]), vec![]).await;
    assert_eq!(
        (stdout(&output).as_str(), stderr(&output).as_str()),
        ("v1.2.0\n", "")
    );

    let output = cli(args(&["resolve", &image, "-o", "json"]), vec![]).await;
    assert!(output.status.success(), "{}", stderr(&output));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["tag"], "v1.2.0");
    assert_eq!(report["registry"]["registry"], registry.registry.as_str());
    assert_eq!(report["registry"]["credential"], serde_json::Value::Null);
    assert!(report["registry"]["requests"].as_u64().unwrap() >= 1);
    assert_eq!(
        report["dropped"]["constraint"],
        serde_json::json!(["v2.0.0-rc.1"])
    );

    let output = cli(args(&["tags", &image]), vec![]).await;
    let mut listed: Vec<String> = stdout(&output).lines().map(String::from).collect();
    listed.sort();
    assert_eq!(
        listed,
        ["latest", "v0.9.0", "v1.0.0", "v1.2.0", "v2.0.0-rc.1"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn newest_build_reads_creation_times_and_digest_pins_a_tag() {
    let registry = TestRegistry::plain().await;
    push_app(
        &registry,
        &[
            ("build-7", 7),
            ("build-12", 12),
            ("build-9", 9),
            ("latest", 1),
        ],
    )
    .await;
    let image = format!("{}/team/app", registry.registry);

    let output = cli(
        args(&["resolve", &image, "--strategy", "newest-build"]),
        vec![],
    )
    .await;
    assert_eq!(stdout(&output), "build-12\n", "{}", stderr(&output));

    let expected = registry.pusher();
    let latest = expected
        .image(
            "team/app",
            &ImageSpec::linux("amd64", None, "2024-05-01T10:00:00Z"),
        )
        .await;
    let output = cli(
        args(&[
            "resolve",
            &format!("{image}:latest"),
            "--strategy",
            "digest",
        ]),
        vec![],
    )
    .await;
    assert_eq!(
        stdout(&output),
        format!("latest@{}\n", latest.digest),
        "{}",
        stderr(&output)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn platforms_skip_tags_without_an_image_for_them() {
    let registry = TestRegistry::plain().await;
    let pusher = registry.pusher();
    let amd64 = pusher
        .image(
            "team/app",
            &ImageSpec::linux("amd64", None, "2024-05-01T00:00:00Z"),
        )
        .await;
    let arm64 = pusher
        .image(
            "team/app",
            &ImageSpec::linux("arm64", None, "2024-05-01T00:00:00Z"),
        )
        .await;
    pusher
        .index("team/app", "1.0.0", &[amd64.clone(), arm64])
        .await;
    pusher.tag("team/app", "1.1.0", &amd64).await;
    let image = format!("{}/team/app", registry.registry);

    let output = cli(
        args(&[
            "resolve",
            &image,
            "--platforms",
            "linux/arm64",
            "-o",
            "json",
        ]),
        vec![],
    )
    .await;
    assert!(output.status.success(), "{}", stderr(&output));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["tag"], "1.0.0", "1.1.0 has no arm64 image");
    assert_eq!(report["dropped"]["platforms"], serde_json::json!(["1.1.0"]));

    let output = cli(
        args(&["resolve", &image, "--platforms", "linux/s390x"]),
        vec![],
    )
    .await;
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("2 without an image for the wanted platforms"),
        "{}",
        stderr(&output)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_from_each_source() {
    let registry = TestRegistry::htpasswd("robot", "s3cr3t-pw").await;
    push_app(&registry, &[("1.0.0", 1), ("1.1.0", 2)]).await;
    let image = format!("{}/team/app", registry.registry);
    let dir = tempfile::tempdir().unwrap();

    // Anonymous: refused, and the message names registry, repository and that no credential was used.
    let output = cli(args(&["resolve", &image]), vec![]).await;
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(stdout(&output), "");
    let message = stderr(&output);
    assert!(
        message.contains(&registry.registry) && message.contains("team/app"),
        "{message}"
    );
    assert!(message.contains("anonymous"), "{message}");

    // --credentials env:VAR
    let output = cli(
        args(&[
            "resolve",
            &image,
            "--credentials",
            "env:APP_PULL",
            "-o",
            "json",
        ]),
        vec![("APP_PULL", "robot:s3cr3t-pw".into())],
    )
    .await;
    assert!(output.status.success(), "{}", stderr(&output));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["tag"], "1.1.0");
    assert_eq!(
        report["registry"]["credential"],
        serde_json::json!({"kind": "env", "name": "APP_PULL"})
    );

    // A wrong password fails without showing it.
    let output = cli(
        args(&["resolve", &image, "--credentials", "env:APP_PULL"]),
        vec![("APP_PULL", "robot:wrong-pw".into())],
    )
    .await;
    assert_eq!(output.status.code(), Some(1));
    assert!(!stderr(&output).contains("wrong-pw"), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("env APP_PULL"),
        "{}",
        stderr(&output)
    );

    // docker config.json in --docker-config
    let docker = dir.path().join("docker");
    std::fs::create_dir(&docker).unwrap();
    std::fs::write(
        docker.join("config.json"),
        format!(
            r#"{{"auths": {{"{}": {{"username": "robot", "password": "s3cr3t-pw"}}}}}}"#,
            registry.registry
        ),
    )
    .unwrap();
    let output = cli(
        args(&[
            "resolve",
            &image,
            "--docker-config",
            docker.to_str().unwrap(),
        ]),
        vec![],
    )
    .await;
    assert_eq!(stdout(&output), "1.1.0\n", "{}", stderr(&output));

    // registries.conf naming the credentials for the registry's prefix
    let conf = dir.path().join("registries.conf");
    std::fs::write(
        &conf,
        format!(
            "registries:\n- name: team\n  prefix: {}\n  api_url: {}\n  credentials: env:TEAM_PULL\n",
            registry.registry, registry.base
        ),
    )
    .unwrap();
    let output = cli(
        args(&[
            "resolve",
            &image,
            "--registries-conf",
            conf.to_str().unwrap(),
        ]),
        vec![("TEAM_PULL", "robot:s3cr3t-pw".into())],
    )
    .await;
    assert_eq!(stdout(&output), "1.1.0\n", "{}", stderr(&output));
    let output = cli(
        args(&["tags", &image]),
        vec![
            (
                "IMAGE_RESOLVER_REGISTRIES_CONF",
                conf.to_str().unwrap().into(),
            ),
            ("TEAM_PULL", "robot:s3cr3t-pw".into()),
        ],
    )
    .await;
    assert!(
        output.status.success(),
        "the env variable names the conf too: {}",
        stderr(&output)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bearer_token_registry() {
    let registry = TestRegistry::token(&[("robot", "tok-pw")], &[], 300).await;
    push_app(&registry, &[("2.0.0", 1), ("2.1.0", 2)]).await;
    let image = format!("{}/team/app", registry.registry);
    let output = cli(
        args(&["resolve", &image, "--credentials", "env:PULL"]),
        vec![("PULL", "robot:tok-pw".into())],
    )
    .await;
    assert_eq!(stdout(&output), "2.1.0\n", "{}", stderr(&output));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_registry_needs_its_ca() {
    let registry = TestRegistry::tls().await;
    push_app(&registry, &[("3.0.0", 1)]).await;
    let image = format!("{}/team/app", registry.registry);
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("registries.conf");
    std::fs::write(
        &conf,
        format!(
            "registries:\n- name: secure\n  prefix: {}\n  api_url: {}\n",
            registry.registry, registry.base
        ),
    )
    .unwrap();
    let conf = conf.to_str().unwrap();
    let ca: &Path = &registry.ca.as_ref().unwrap().ca_cert;

    let output = cli(
        args(&["resolve", &image, "--registries-conf", conf]),
        vec![],
    )
    .await;
    assert_eq!(output.status.code(), Some(1), "an unknown CA is refused");
    assert_eq!(stdout(&output), "");

    let output = cli(
        args(&[
            "resolve",
            &image,
            "--registries-conf",
            conf,
            "--ca-file",
            ca.to_str().unwrap(),
        ]),
        vec![],
    )
    .await;
    assert_eq!(stdout(&output), "3.0.0\n", "{}", stderr(&output));

    let output = cli(
        args(&["resolve", &image, "--registries-conf", conf, "--insecure"]),
        vec![],
    )
    .await;
    assert_eq!(
        stdout(&output),
        "3.0.0\n",
        "--insecure skips verification: {}",
        stderr(&output)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_registry_fails_with_its_name() {
    // A port nothing listens on: bind, note the port, release it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let output = cli(
        args(&[
            "resolve",
            &format!("127.0.0.1:{port}/team/app"),
            "--budget",
            "5s",
        ]),
        vec![],
    )
    .await;
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(stdout(&output), "");
    assert!(
        stderr(&output).contains(&format!("127.0.0.1:{port}")),
        "{}",
        stderr(&output)
    );
}

/// registries.conf's `default: true` entry serves images written without a registry host, and its `defaultns`
/// completes one-component names, as in argocd-image-updater.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_registry_serves_names_without_a_host() {
    let registry = TestRegistry::plain().await;
    push_app(&registry, &[("1.0.0", 1), ("1.4.0", 2), ("2.0.0", 3)]).await;
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("registries.conf");
    std::fs::write(
        &conf,
        format!(
            "registries:\n- name: corp\n  prefix: corp.test\n  api_url: {}\n  default: true\n  defaultns: team\n",
            registry.base
        ),
    )
    .unwrap();
    let conf = conf.to_str().unwrap();
    for (image, want) in [("app:^1", "1.4.0\n"), ("team/app:^1", "1.4.0\n")] {
        let output = cli(args(&["resolve", image, "--registries-conf", conf]), vec![]).await;
        assert_eq!(stdout(&output), want, "{image}: {}", stderr(&output));
    }
    let output = cli(
        args(&["resolve", "app:^1", "--registries-conf", conf, "-o", "json"]),
        vec![],
    )
    .await;
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["image"], "corp.test/team/app", "{report}");
}

/// Regression, issue 9 item 10: a 62 MB tag list was read whole (6.3 s past a 1 s budget, 807 MB). Every answer
/// is bounded by the operator's `--max-response-size` (not an Application's: `ARGOCD_ENV_…` is ignored), and
/// the error names the URL, the limit and the option.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tag_lists_past_the_size_limit_fail_naming_the_limit() {
    let registry = TestRegistry::plain().await;
    let pusher = registry.pusher();
    let image = pusher
        .image(
            "team/app",
            &ImageSpec::linux("amd64", None, "2024-05-01T10:00:00Z"),
        )
        .await;
    // About 2 KiB of tag list.
    let tags: Vec<String> = (0..200).map(|i| format!("1.0.{i}")).collect();
    pusher.tag_many("team/app", &image, tags, 4).await;
    let name = format!("{}/team/app", registry.registry);
    let too_large = format!(
        "argocd-image-resolver: registry {r}, repository team/app (anonymous): the tag list from \
         http://{r}/v2/team/app/tags/list?n=1000 is larger than 1Ki; raise --max-response-size \
         (IMAGE_RESOLVER_MAX_RESPONSE_SIZE) if the registry really sends that much\n",
        r = registry.registry
    );
    for (case, extra, envs, want) in [
        (
            "flag",
            vec!["--max-response-size", "1Ki"],
            vec![],
            Err(too_large.clone()),
        ),
        (
            "operator env",
            vec![],
            vec![("IMAGE_RESOLVER_MAX_RESPONSE_SIZE", "1Ki".to_string())],
            Err(too_large),
        ),
        (
            "an application cannot set it",
            vec![],
            vec![(
                "ARGOCD_ENV_IMAGE_RESOLVER_MAX_RESPONSE_SIZE",
                "1Ki".to_string(),
            )],
            Ok(200),
        ),
        ("default", vec![], vec![], Ok(200)),
    ] {
        let mut list = args(&["tags", &name]);
        list.extend(args(&extra));
        let output = cli(list, envs).await;
        let got = if output.status.success() {
            Ok(stdout(&output).lines().count())
        } else {
            Err(stderr(&output))
        };
        assert_eq!(got, want, "{case}");
    }
}
