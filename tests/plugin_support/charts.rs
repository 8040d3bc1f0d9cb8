//! Charts for dependency tests, made with the real helm: packaged, served from a chart repository over HTTP, pushed
//! to a test registry as OCI artifacts, and locked (`Chart.lock`) as a chart's author locks them.

use std::path::{Path, PathBuf};
use std::process::Command;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::Response;
use base64::Engine;
use tempfile::TempDir;

use super::helm_path;
use crate::support::{MockServer, TestRegistry};

/// Runs the real helm with `args` in `dir`, its config, cache and data in `home`; panics when it fails.
fn helm(home: &Path, dir: &Path, args: &[&str]) -> String {
    let output = Command::new(helm_path())
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", home)
        .env("HELM_CONFIG_HOME", home.join("config"))
        .env("HELM_CACHE_HOME", home.join("cache"))
        .env("HELM_DATA_HOME", home.join("data"))
        .output()
        .expect("run helm");
    assert!(
        output.status.success(),
        "helm {args:?} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A chart `name` at `version` whose one template is a Deployment of `image`, tracked with `policy`
/// (`alias=image:constraint`, the `image-list` annotation).
pub fn deployment_chart(
    name: &str,
    version: &str,
    image: &str,
    policy: &str,
) -> Vec<(String, String)> {
    vec![
        (
            "Chart.yaml".into(),
            format!("apiVersion: v2\nname: {name}\nversion: {version}\n"),
        ),
        (
            "templates/deployment.yaml".into(),
            format!(
                "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\n  annotations:\n    \
                 argocd-image-updater.argoproj.io/image-list: {policy}\nspec:\n  template:\n    spec:\n      \
                 containers:\n      - name: {name}\n        image: {image}\n"
            ),
        ),
    ]
}

/// Packages the chart made of `files` with `helm package` into `into`; returns the archive.
pub fn package(files: &[(String, String)], into: &Path) -> PathBuf {
    let work = tempfile::tempdir().expect("temp dir");
    let chart = work.path().join("chart");
    for (path, content) in files {
        let path = chart.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }
    std::fs::create_dir_all(into).unwrap();
    let printed = helm(
        work.path(),
        work.path(),
        &[
            "package",
            "chart",
            "--destination",
            &into.display().to_string(),
        ],
    );
    let archive = printed
        .trim()
        .rsplit_once(": ")
        .map(|(_, path)| PathBuf::from(path))
        .expect("helm package prints where it saved the chart");
    assert!(archive.is_file(), "{printed}");
    archive
}

/// A chart repository: charts packaged into a directory indexed by `helm repo index`, served by an in-process HTTP
/// server on a random loopback port. A chart repository is nothing but static files, which no component of the
/// test machine serves without a configuration of its own; the server also records what helm asked for.
pub struct ChartRepository {
    pub server: MockServer,
    dir: TempDir,
}

impl ChartRepository {
    /// Serves `charts` (each chart's files) under `/charts/`, anonymously or, with `basic_auth`, only to that user
    /// (401 otherwise).
    pub async fn serve(charts: &[Vec<(String, String)>], basic_auth: Option<(&str, &str)>) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path().join("charts");
        for chart in charts {
            package(chart, &root);
        }
        helm(dir.path(), &root, &["repo", "index", "."]);
        let wanted = basic_auth.map(|(user, password)| {
            let pair =
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
            format!("Basic {pair}")
        });
        let files = dir.path().to_path_buf();
        let router = Router::new().fallback(move |uri: Uri, headers: HeaderMap| {
            let files = files.clone();
            let wanted = wanted.clone();
            async move { serve_file(&files, uri.path(), &headers, wanted.as_deref()) }
        });
        let server = MockServer::start(router).await;
        ChartRepository { server, dir }
    }

    /// `http://127.0.0.1:<port>/charts`, as a chart's `dependencies[].repository` names it.
    pub fn url(&self) -> String {
        format!("{}charts", self.server.url())
    }

    /// The paths requested so far, each with whether it carried an `Authorization` header.
    pub fn requests(&self) -> Vec<(String, bool)> {
        self.server
            .seen()
            .into_iter()
            .map(|seen| (seen.uri, seen.authorization.is_some()))
            .collect()
    }

    /// The directory the repository serves.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

fn serve_file(root: &Path, path: &str, headers: &HeaderMap, wanted: Option<&str>) -> Response {
    let status = |code: StatusCode| {
        let mut response = Response::new(Body::empty());
        *response.status_mut() = code;
        response
    };
    if let Some(wanted) = wanted {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        if given != Some(wanted) {
            let mut response = status(StatusCode::UNAUTHORIZED);
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                "Basic realm=charts".parse().unwrap(),
            );
            return response;
        }
    }
    let relative = path.trim_start_matches('/');
    if relative
        .split('/')
        .any(|part| part == ".." || part.is_empty())
    {
        return status(StatusCode::NOT_FOUND);
    }
    match std::fs::read(root.join(relative)) {
        Ok(bytes) => Response::new(Body::from(bytes)),
        Err(_) => status(StatusCode::NOT_FOUND),
    }
}

/// Packages the chart made of `files` and pushes it with `helm push` to `oci://<registry>/charts`, the reference
/// a chart's `dependencies[].repository` then names. helm 3.10 speaks plain HTTP to a loopback registry by itself
/// (no `--plain-http` exists before 3.13), as it does for `helm dependency build`.
pub fn push_chart(registry: &TestRegistry, files: &[(String, String)]) -> String {
    let work = tempfile::tempdir().expect("temp dir");
    let archive = package(files, work.path());
    let repository = format!("oci://{}/charts", registry.registry);
    helm(
        work.path(),
        work.path(),
        &["push", &archive.display().to_string(), &repository],
    );
    repository
}

/// The `Chart.lock` its author would commit for the chart whose `Chart.yaml` is `chart_yaml`: what
/// `helm dependency update` writes, with the repositories as they are now, after `helm repo add` of each of
/// `repositories` (name, URL, user and password).
pub fn lock(chart_yaml: &str, repositories: &[(&str, &str, &str, &str)]) -> String {
    let work = tempfile::tempdir().expect("temp dir");
    let chart = work.path().join("chart");
    std::fs::create_dir_all(&chart).unwrap();
    std::fs::write(chart.join("Chart.yaml"), chart_yaml).unwrap();
    for (name, url, user, password) in repositories {
        let (user, password) = (
            format!("--username={user}"),
            format!("--password={password}"),
        );
        helm(
            work.path(),
            &chart,
            &["repo", "add", &user, &password, name, url],
        );
    }
    helm(work.path(), &chart, &["dependency", "update"]);
    std::fs::read_to_string(chart.join("Chart.lock"))
        .expect("helm dependency update wrote Chart.lock")
}
