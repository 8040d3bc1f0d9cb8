//! Regression, issue 9 item 4: names a registry lists are checked against the OCI tag grammar before any use.
//! A registry listing `zzz/../../x`, `zzz@sha256:…`, `zzz:1`, a newline, U+202E or 200 characters got that name
//! written into the image with exit 0. Each hostile name is shaped to win its strategy if it were taken.
//!
//! The registry here is an in-test fake following the OCI distribution spec (`GET /v2/<name>/tags/list`,
//! manifests, blobs): distribution 2.8 itself refuses to store such tags (its PUT checks the same grammar), so no
//! real registry can list them.

mod support;

use std::process::Output;

use assert_cmd::Command;
use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use serde_json::{Value, json};
use support::MockServer;
use support::push::{OCI_MANIFEST, sha256};

const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// Names that are not tags, each starting with `winner` so that the strategy would pick it if it got through.
fn hostile(winner: &str) -> Vec<(&'static str, String)> {
    vec![
        ("path traversal", format!("{winner}/../../x")),
        ("digest", format!("{winner}@{DIGEST}")),
        ("colon", format!("{winner}:1")),
        ("newline", format!("{winner}\n")),
        ("right-to-left override", format!("{winner}\u{202e}1")),
        (
            "200 characters",
            format!("{winner}{}", "9".repeat(200 - winner.len())),
        ),
    ]
}

/// The build time of each valid tag; `1.1.0` is the newest, and anything else asked for would be newer still.
fn created(reference: &str) -> &'static str {
    match reference {
        "1.0.0" => "2024-05-01T10:00:00Z",
        "1.1.0" => "2024-05-02T10:00:00Z",
        _ => "2030-01-01T00:00:00Z",
    }
}

fn config(reference: &str) -> Vec<u8> {
    json!({
        "created": created(reference),
        "architecture": "amd64",
        "os": "linux",
        "config": {},
        "rootfs": {"type": "layers", "diff_ids": []},
    })
    .to_string()
    .into_bytes()
}

/// A fake registry for `team/app` listing `tags`, with a manifest and config for any reference.
async fn registry(tags: Vec<String>) -> MockServer {
    let manifest = |Path(reference): Path<String>| async move {
        let config = config(&reference);
        let body = json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": sha256(&config),
                "size": config.len(),
            },
            "layers": [],
        })
        .to_string();
        let digest = sha256(body.as_bytes());
        let mut headers = HeaderMap::new();
        headers.insert("content-type", OCI_MANIFEST.parse().unwrap());
        headers.insert("docker-content-digest", digest.parse().unwrap());
        (headers, body).into_response()
    };
    // Config blobs are addressed by digest: find the reference whose config has it.
    let blob = |Path(digest): Path<String>| async move {
        ["1.0.0", "1.1.0", "other"]
            .into_iter()
            .map(config)
            .find(|c| sha256(c) == digest)
            .map_or_else(
                || StatusCode::NOT_FOUND.into_response(),
                IntoResponse::into_response,
            )
    };
    let router = Router::new()
        .route("/v2/", get(|| async { "{}" }))
        .route(
            "/v2/team/app/tags/list",
            get(move || async move { axum::Json(json!({"name": "team/app", "tags": tags})) }),
        )
        .route("/v2/team/app/manifests/{reference}", get(manifest))
        .route("/v2/team/app/blobs/{digest}", get(blob));
    MockServer::start(router).await
}

/// Runs the binary off the async runtime (the fake registry runs on it).
async fn cli(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        Command::cargo_bin("argocd-image-resolver")
            .unwrap()
            .env("DOCKER_CONFIG", "/nonexistent")
            .env_remove("IMAGE_RESOLVER_DOCKER_CONFIG")
            .env_remove("IMAGE_RESOLVER_REGISTRIES_CONF")
            .args(&args)
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_names_in_a_tag_list_are_skipped_and_counted() {
    // The strategies, how to make each pick by a prefix, and the prefix a hostile name needs to win.
    let strategies: [(&str, &[&str], &str); 4] = [
        ("alphabetical", &[], "zzz"),
        (
            "numerical",
            &["--tag-pattern", r"^(?P<n>\d+)", "--extract", "$n"],
            "999",
        ),
        (
            "semver",
            &["--tag-pattern", r"^(?P<v>\d+\.\d+\.\d+)", "--extract", "$v"],
            "9.9.9",
        ),
        ("newest-build", &[], "zzz"),
    ];
    for (strategy, options, winner) in strategies {
        for (name, bad) in hostile(winner) {
            let case = format!("{strategy}, {name}");
            let tags = vec!["1.0.0".to_string(), bad.clone(), "1.1.0".to_string()];
            let server = registry(tags).await;
            let mut args: Vec<String> = [
                "resolve",
                &format!("{}/team/app", server.registry()),
                "--strategy",
                strategy,
                "-o",
                "json",
                "--log-level",
                "debug",
            ]
            .map(str::to_string)
            .into();
            args.extend(options.iter().map(|o| o.to_string()));
            let output = cli(args).await;
            let stdout = String::from_utf8_lossy(&output.stdout);
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert!(output.status.success(), "{case}: {stderr}");
            let report: Value = serde_json::from_str(&stdout).unwrap();
            assert_eq!(report["tag"], "1.1.0", "{case}: {stdout}");
            // The registry's address (a random port: `127.0.0.1:39995`) may hold the winner's digits.
            let reported = stdout.replace(&server.registry(), "REGISTRY");
            assert!(
                !reported.contains(winner),
                "{case}: in the output: {stdout}"
            );
            assert!(
                stderr.contains("invalid=1")
                    && !stderr.contains(&bad)
                    && !stderr.contains('\u{202e}'),
                "{case}: the log counts it without showing it: {stderr}"
            );
            let asked: Vec<String> = server.seen().into_iter().map(|s| s.uri).collect();
            assert!(
                asked.iter().all(|uri| !uri.contains(winner)),
                "{case}: asked the registry about it: {asked:?}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explain_counts_the_skipped_names_and_the_image_never_gets_one() {
    let mut tags: Vec<String> = hostile("zzz").into_iter().map(|(_, bad)| bad).collect();
    tags.extend(["1.0.0".to_string(), "1.1.0".to_string()]);
    let server = registry(tags).await;
    let image = format!("{}/team/app", server.registry());
    let dir = tempfile::tempdir().unwrap();
    let app = dir.path().join("app");
    std::fs::create_dir(&app).unwrap();
    std::fs::write(
        app.join("deployment.yaml"),
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  annotations:\n    \
             argocd-image-updater.argoproj.io/image-list: app={image}\n    \
             argocd-image-updater.argoproj.io/app.update-strategy: alphabetical\nspec:\n  template:\n    spec:\n      \
             containers:\n      - name: web\n        image: {image}:1.0.0\n"
        ),
    )
    .unwrap();
    let cache = dir.path().join("cache").display().to_string();
    let output = cli([
        "explain",
        &app.display().to_string(),
        "-o",
        "json",
        "--cache-dir",
        &cache,
    ]
    .map(str::to_string)
    .into())
    .await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_str(&stdout).unwrap();
    let found = &report["images"][0];
    assert_eq!(found["new_image"], format!("{image}:1.1.0"), "{stdout}");
    let tags = &found["tracked"]["resolution"]["tags"];
    assert_eq!(
        (&tags["listed"], &tags["invalid"]),
        (&json!(2), &json!(6)),
        "{stdout}"
    );
    assert!(!stdout.contains("zzz"), "{stdout}");
}

/// Regression (review of issue 9): the `Docker-Content-Digest` a registry sends was checked only against a loose
/// digest shape (`urls::is_digest`), not the grammar image references are parsed with, so `sha512:zz` became
/// `…:latest@sha512:zz`, a reference that does not parse back, with exit 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_content_digest_never_reaches_the_reference() {
    let manifest = || async {
        let mut headers = HeaderMap::new();
        headers.insert("content-type", OCI_MANIFEST.parse().unwrap());
        headers.insert("docker-content-digest", "sha512:zz".parse().unwrap());
        let body = json!({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json", "digest": DIGEST, "size": 2}, "layers": []});
        (headers, body.to_string()).into_response()
    };
    let router = Router::new()
        .route("/v2/", get(|| async { "{}" }))
        .route(
            "/v2/team/app/tags/list",
            get(|| async { axum::Json(json!({"name": "team/app", "tags": ["latest"]})) }),
        )
        .route("/v2/team/app/manifests/{reference}", get(manifest));
    let server = MockServer::start(router).await;
    let output = cli([
        "resolve",
        &format!("{}/team/app:latest", server.registry()),
        "--strategy",
        "digest",
        "-o",
        "json",
    ]
    .map(str::to_string)
    .into())
    .await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if output.status.success() {
        let report: Value = serde_json::from_str(&stdout).unwrap();
        let reference = report["reference"].as_str().unwrap();
        assert!(
            argocd_image_resolver::image::ImageRef::parse(reference).is_ok(),
            "written reference does not parse: {reference}"
        );
    }
    assert!(!stdout.contains("sha512:zz"), "{stdout}");
}
