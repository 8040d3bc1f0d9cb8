//! `<alias>.pin-digest` through the real CLI against a real registry (Debian's docker-registry): `generate`
//! renders the semver winner as `1.2.0@sha256:…`, the digest of the index the tag names (what `HEAD
//! /v2/<repo>/manifests/1.2.0` answers), learnt through the cache: within the tag-list TTL a render asks no `HEAD`,
//! and once it has passed a re-pushed tag's new digest is what renders.

mod support;

use std::process::Output;

use support::{ImageSpec, MockServer, TestRegistry};

/// Images named `pin.test/…` are mapped to the registry (through a recording proxy) by registries.conf.
const PREFIX: &str = "pin.test";

const DEPLOYMENT: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: shop
  annotations:
    argocd-image-updater.argoproj.io/image-list: web=pin.test/shop/web:~1
    argocd-image-updater.argoproj.io/web.pin-digest: \"true\"
spec:
  template:
    spec:
      containers:
      - name: web
        image: pin.test/shop/web:1.0.0
";

/// The tag-list TTL of the renders that must be answered from the cache: far longer than the test.
const LONG_TTL: &str = "1h";

/// A TTL the cached answers are past without waiting for it (two renders never share a nanosecond). Not 0, which
/// would leave the cache out rather than find its entries stale.
const PASSED_TTL: &str = "1ns";

/// `generate` of a plain app with `pin.test` at `api_url`, its cache in `dir`, tag lists kept for `ttl`.
async fn generate(dir: &std::path::Path, api_url: &str, ttl: &'static str) -> Output {
    let app = dir.join("app");
    std::fs::create_dir_all(&app).unwrap();
    std::fs::write(app.join("deployment.yaml"), DEPLOYMENT).unwrap();
    let conf = dir.join("registries.conf");
    std::fs::write(
        &conf,
        format!("registries:\n- name: local\n  prefix: {PREFIX}\n  api_url: {api_url}\n"),
    )
    .unwrap();
    let cache = dir.join("cache");
    tokio::task::spawn_blocking(move || {
        assert_cmd::Command::cargo_bin("argocd-image-resolver")
            .unwrap()
            .arg("generate")
            .arg("--app-dir")
            .arg(&app)
            .env("DOCKER_CONFIG", "/nonexistent")
            .env_remove("IMAGE_RESOLVER_DOCKER_CONFIG")
            .env_remove("ARGOCD_APP_PARAMETERS")
            .env("IMAGE_RESOLVER_REGISTRIES_CONF", &conf)
            .env("IMAGE_RESOLVER_CACHE_DIR", &cache)
            .env("IMAGE_RESOLVER_TAGS_TTL", ttl)
            .env("IMAGE_RESOLVER_BUDGET", "30s")
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

/// The one image `generate` rendered, failing the test (with stderr) when it failed.
fn rendered_image(output: &Output) -> String {
    let (stdout, stderr) = (
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    assert!(output.status.success(), "generate failed: {stderr}");
    stdout
        .lines()
        .find_map(|line| line.trim().strip_prefix("image: "))
        .unwrap_or_else(|| panic!("no image rendered:\n{stdout}"))
        .to_string()
}

fn heads_of(proxy: &MockServer, tag: &str) -> usize {
    let path = format!("/v2/shop/web/manifests/{tag}");
    proxy
        .seen()
        .iter()
        .filter(|s| s.method == "HEAD" && s.uri == path)
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pin_digest_renders_the_index_digest_of_the_winner_and_follows_a_re_push_after_the_ttl() {
    let registry = TestRegistry::plain().await;
    let pusher = registry.pusher();
    pusher
        .image_tagged("shop/web", "2024-05-01T10:00:00Z", &["1.0.0", "1.1.0"])
        .await;
    // 1.2.0 is a multi-platform index: the digest rendered is the index's, not a platform image's.
    let amd64 = pusher
        .image(
            "shop/web",
            &ImageSpec::linux("amd64", None, "2024-06-01T10:00:00Z"),
        )
        .await;
    let arm64 = pusher
        .image(
            "shop/web",
            &ImageSpec::linux("arm64", Some("v8"), "2024-06-01T10:00:00Z"),
        )
        .await;
    let first = pusher
        .index("shop/web", "1.2.0", &[amd64.clone(), arm64])
        .await;
    let proxy = MockServer::proxy(registry.base.clone()).await;
    let api_url = proxy.url().to_string();
    let dir = tempfile::tempdir().unwrap();

    let image = rendered_image(&generate(dir.path(), &api_url, LONG_TTL).await);
    assert_eq!(image, format!("{PREFIX}/shop/web:1.2.0@{}", first.digest));
    assert_eq!(heads_of(&proxy, "1.2.0"), 1, "one HEAD names the digest");

    // 1.2.0 re-pushed: a single-platform image now.
    let moved = pusher
        .image(
            "shop/web",
            &ImageSpec::linux("amd64", None, "2024-07-01T10:00:00Z"),
        )
        .await;
    pusher.tag("shop/web", "1.2.0", &moved).await;
    assert_ne!(moved.digest, first.digest);

    // Within the TTL the digest comes from the cache, as the tag list does: no HEAD, the same bytes.
    let again = rendered_image(&generate(dir.path(), &api_url, LONG_TTL).await);
    assert_eq!(again, image, "within the TTL");
    assert_eq!(heads_of(&proxy, "1.2.0"), 1, "no HEAD within the TTL");

    // The same cache, its answers now past the TTL.
    let after = rendered_image(&generate(dir.path(), &api_url, PASSED_TTL).await);
    assert_eq!(after, format!("{PREFIX}/shop/web:1.2.0@{}", moved.digest));
    assert_eq!(heads_of(&proxy, "1.2.0"), 2, "one HEAD once the TTL passed");
}
