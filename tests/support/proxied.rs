//! A plain app (one Deployment tracking `<prefix>/shop/web:~1`) whose registry is a real `docker-registry` holding
//! `shop/web` 1.0.0 and 1.1.0, reached through a recording proxy that notes each request and when it arrived.

use std::path::Path;

use super::{MockServer, TestRegistry};

pub struct ProxiedApp {
    pub registry: TestRegistry,
    pub proxy: MockServer,
    /// `app/deployment.yaml` and `registries.conf` (`prefix` → the proxy, with `limit` when given).
    pub dir: tempfile::TempDir,
}

impl ProxiedApp {
    pub async fn new(prefix: &str, limit: Option<u32>) -> ProxiedApp {
        let registry = TestRegistry::plain().await;
        registry
            .pusher()
            .image_tagged("shop/web", "2024-05-01T10:00:00Z", &["1.0.0", "1.1.0"])
            .await;
        let proxy = MockServer::proxy(registry.base.clone()).await;
        let dir = app_dir(prefix, proxy.url().as_str(), limit);
        ProxiedApp {
            registry,
            proxy,
            dir,
        }
    }

    /// Tag-list requests of `shop/web` the proxy saw.
    pub fn tag_lists(&self) -> usize {
        self.proxy
            .seen()
            .iter()
            .filter(|s| s.uri.starts_with("/v2/shop/web/tags/list"))
            .count()
    }
}

/// A temp dir with the app (`write_app`) and a registries.conf sending `prefix` to `api_url`, with `limit` when
/// given.
pub fn app_dir(prefix: &str, api_url: &str, limit: Option<u32>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write_app(dir.path(), prefix);
    let limit = limit.map(|l| format!("  limit: {l}\n")).unwrap_or_default();
    std::fs::write(
        dir.path().join("registries.conf"),
        format!(
            "registries:\n- name: local\n  prefix: {prefix}\n  api_url: {}\n{limit}",
            api_url.trim_end_matches('/')
        ),
    )
    .unwrap();
    dir
}

/// `dir/app/deployment.yaml`: a Deployment of `<prefix>/shop/web:1.0.0` tracking `~1`.
pub fn write_app(dir: &Path, prefix: &str) {
    std::fs::create_dir_all(dir.join("app")).unwrap();
    std::fs::write(
        dir.join("app/deployment.yaml"),
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  annotations:\n    \
             argocd-image-updater.argoproj.io/image-list: web={prefix}/shop/web:~1\nspec:\n  template:\n    spec:\n      \
             containers:\n      - name: web\n        image: {prefix}/shop/web:1.0.0\n"
        ),
    )
    .unwrap();
}

/// `generate` of `dir/app` with `cache_dir`, `dir/registries.conf` and nothing else from the environment (no
/// docker config), its output piped; the caller adds its own arguments and variables, then spawns it.
pub fn generate(dir: &Path, cache_dir: &Path) -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_argocd-image-resolver"));
    command
        .arg("generate")
        .arg("--app-dir")
        .arg(dir.join("app"))
        .arg("--cache-dir")
        .arg(cache_dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("DOCKER_CONFIG", "/nonexistent")
        .env(
            "IMAGE_RESOLVER_REGISTRIES_CONF",
            dir.join("registries.conf"),
        )
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    command
}
