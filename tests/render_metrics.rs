//! The sidecar's renders made visible: each `generate` run (the real binary, against a real registry, Debian's
//! docker-registry) appends its line to `<cache-dir>/metrics/renders.log`, and the daemon's side
//! (`Metrics::with_render_log`, folded at each encoding) counts it by outcome, with its duration and its image
//! requests — rendered, stale (the registry gone, the last-known-good tag used), invalid and failed.

mod support;

use std::path::{Path, PathBuf};
use std::process::Output;

use argocd_image_resolver::metrics::Metrics;
use support::TestRegistry;

const DEPLOYMENT: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: shop
  annotations:
    argocd-image-updater.argoproj.io/image-list: web=metrics.test/shop/web:~1
spec:
  template:
    spec:
      containers:
      - name: web
        image: metrics.test/shop/web:1.0.0
";

/// `generate` of the app in `dir/app` with `metrics.test` at `api_url` and the cache in `dir/cache`.
async fn generate(dir: &Path, api_url: &str) -> Output {
    let conf = dir.join("registries.conf");
    std::fs::write(
        &conf,
        format!("registries:\n- name: local\n  prefix: metrics.test\n  api_url: {api_url}\n"),
    )
    .unwrap();
    let dir = dir.to_path_buf();
    tokio::task::spawn_blocking(move || {
        assert_cmd::Command::cargo_bin("argocd-image-resolver")
            .unwrap()
            .arg("generate")
            .arg("--app-dir")
            .arg(dir.join("app"))
            .env("DOCKER_CONFIG", "/nonexistent")
            .env_remove("IMAGE_RESOLVER_DOCKER_CONFIG")
            .env_remove("ARGOCD_APP_PARAMETERS")
            .env("ARGOCD_APP_NAME", "shop")
            .env("IMAGE_RESOLVER_REGISTRIES_CONF", &conf)
            .env("IMAGE_RESOLVER_CACHE_DIR", dir.join("cache"))
            // Every render asks the registry, so that the second one finds it gone.
            .env("IMAGE_RESOLVER_TAGS_TTL", "0")
            .env("IMAGE_RESOLVER_BUDGET", "20s")
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

/// The value of the sample `series` in `text`, 0 when absent.
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or(0.0)
}

fn renders(text: &str, outcome: &str) -> f64 {
    sample(
        text,
        &format!(r#"argocd_image_resolver_renders_total{{outcome="{outcome}"}}"#),
    )
}

fn resolutions(text: &str, outcome: &str) -> f64 {
    sample(
        text,
        &format!(r#"argocd_image_resolver_resolutions_total{{outcome="{outcome}",by="generate"}}"#),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_generate_run_is_counted_by_the_daemon_sharing_its_cache_directory() {
    let registry = TestRegistry::plain().await;
    registry
        .pusher()
        .image_tagged("shop/web", "2024-05-01T10:00:00Z", &["1.0.0", "1.1.0"])
        .await;
    let dir = tempfile::tempdir().unwrap();
    let app = dir.path().join("app");
    std::fs::create_dir(&app).unwrap();
    std::fs::write(app.join("deployment.yaml"), DEPLOYMENT).unwrap();
    let cache: PathBuf = dir.path().join("cache");
    // The daemon starts first: renders logged before it are not its to count.
    let metrics = Metrics::new().with_render_log(&cache);

    let output = generate(dir.path(), registry.base.as_str()).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "generate failed: {stderr}");
    let log = std::fs::read_to_string(cache.join("metrics/renders.log")).unwrap();
    assert_eq!(log.lines().count(), 1, "one line per run: {log}");
    assert!(
        log.contains(r#""outcome":"rendered""#) && log.contains(r#""app":"shop""#),
        "{log}"
    );
    let text = metrics.encode();
    assert_eq!(renders(&text, "rendered"), 1.0, "{text}");
    assert_eq!(resolutions(&text, "registry"), 1.0, "{text}");
    assert_eq!(
        sample(
            &text,
            r#"argocd_image_resolver_render_duration_seconds_count{outcome="rendered"}"#
        ),
        1.0,
        "{text}"
    );

    // The registry gone: the tag last resolved renders, and the run counts as stale.
    let gone = format!("http://127.0.0.1:{}/", closed_port());
    let output = generate(dir.path(), &gone).await;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = metrics.encode();
    assert_eq!(renders(&text, "stale"), 1.0, "{text}");
    assert_eq!(resolutions(&text, "last-known-good"), 1.0, "{text}");

    // The Application's own fault: a policy that does not parse.
    std::fs::write(
        app.join("deployment.yaml"),
        DEPLOYMENT.replace(
            "web=metrics.test/shop/web:~1",
            "web=metrics.test/shop/web:~~1",
        ),
    )
    .unwrap();
    let output = generate(dir.path(), registry.base.as_str()).await;
    assert_eq!(output.status.code(), Some(2));
    // Nothing to render at all: the directory is gone.
    std::fs::remove_dir_all(&app).unwrap();
    std::fs::create_dir(&app).unwrap();
    std::fs::write(
        app.join("kustomization.yaml"),
        "resources: [missing.yaml]\n",
    )
    .unwrap();
    let output = generate(dir.path(), registry.base.as_str()).await;
    assert!(!output.status.success());

    let text = metrics.encode();
    assert_eq!(
        renders(&text, "invalid") + renders(&text, "failed"),
        2.0,
        "{text}"
    );
    assert_eq!(
        renders(&text, "rendered"),
        1.0,
        "each line counts once: {text}"
    );
}

/// A loopback port nothing listens on.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}
