//! The system's CA roots are read once per process, and only when a TLS connection needs them: a plain-HTTP
//! registry works where the system has no roots at all, and two clients of a TLS registry share one reading.
//! Observed as a user runs the binary: `SSL_CERT_FILE` (which the root loader obeys) and the debug log line
//! "loading CA roots".

mod support;

use std::path::Path;
use std::process::Output;

use support::TestRegistry;

const LOADING: &str = "loading CA roots";

/// Pushes `repository` with the tags `1.0.0` and `1.1.0`.
async fn push(registry: &TestRegistry, repository: &str) {
    registry
        .pusher()
        .image_tagged(repository, "2024-05-01T00:00:00Z", &["1.0.0", "1.1.0"])
        .await;
}

/// Runs the binary with debug logs, off the async runtime, in `cwd`, isolated from the machine's docker config.
async fn cli(args: &[&str], cwd: &Path, env: Vec<(&'static str, String)>) -> Output {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let cwd = cwd.to_path_buf();
    tokio::task::spawn_blocking(move || {
        assert_cmd::Command::cargo_bin("argocd-image-resolver")
            .unwrap()
            .args(&args)
            .args(["--log-level", "debug"])
            .current_dir(cwd)
            .env("DOCKER_CONFIG", "/nonexistent")
            .env_remove("IMAGE_RESOLVER_DOCKER_CONFIG")
            .env_remove("ARGOCD_APP_PARAMETERS")
            .env_remove("SSL_CERT_DIR")
            .env_remove("SSL_CERT_FILE")
            .envs(env)
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_reads_no_ca_roots_cold_or_warm() {
    let registry = TestRegistry::plain().await;
    push(&registry, "team/app").await;
    let dir = tempfile::tempdir().unwrap();
    let env = vec![
        // Roots that cannot be read: a client that reads them anyway finds none and cannot be built.
        (
            "SSL_CERT_FILE",
            dir.path().join("missing.pem").display().to_string(),
        ),
        (
            "IMAGE_RESOLVER_CACHE_DIR",
            dir.path().join("cache").display().to_string(),
        ),
    ];
    let image = format!("{}/team/app:^1", registry.registry);
    for run in ["cold", "warm"] {
        let output = cli(&["resolve", &image], dir.path(), env.clone()).await;
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(
            String::from_utf8_lossy(&output.stdout),
            "1.1.0\n",
            "{run}: {stderr}"
        );
        assert!(!stderr.contains(LOADING), "{run}: {stderr}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_reads_ca_roots_once_for_two_clients() {
    let registry = TestRegistry::tls().await;
    push(&registry, "team/app").await;
    let dir = tempfile::tempdir().unwrap();
    // Two registries.conf entries for one registry: two clients, each with its own TLS configuration.
    let conf = dir.path().join("registries.conf");
    std::fs::write(
        &conf,
        format!(
            "registries:\n- name: a\n  prefix: a.test\n  api_url: {0}\n- name: b\n  prefix: b.test\n  api_url: {0}\n",
            registry.base.as_str().trim_end_matches('/')
        ),
    )
    .unwrap();
    let app = dir.path().join("app");
    std::fs::create_dir(&app).unwrap();
    std::fs::write(
        app.join("deployment.yaml"),
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  annotations:\n    \
         argocd-image-updater.argoproj.io/image-list: a=a.test/team/app:~1, b=b.test/team/app:~1\n\
         spec:\n  template:\n    spec:\n      containers:\n      \
         - name: a\n        image: a.test/team/app:1.0.0\n      \
         - name: b\n        image: b.test/team/app:1.0.0\n",
    )
    .unwrap();
    let ca = registry.ca.as_ref().unwrap().ca_cert.display().to_string();
    let env = vec![
        ("IMAGE_RESOLVER_REGISTRIES_CONF", conf.display().to_string()),
        ("IMAGE_RESOLVER_CA_FILE", ca),
        (
            "IMAGE_RESOLVER_CACHE_DIR",
            dir.path().join("cache").display().to_string(),
        ),
    ];
    let output = cli(&["generate"], &app, env).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "generate failed: {stderr}");
    for image in ["a.test/team/app:1.1.0", "b.test/team/app:1.1.0"] {
        assert!(stdout.contains(image), "{image} resolved: {stdout}");
    }
    assert_eq!(stderr.matches(LOADING).count(), 1, "{stderr}");
}
