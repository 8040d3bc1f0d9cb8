//! `explain` as a person runs it: a Kustomize application in a temp dir whose images live in a real registry
//! (Debian's docker-registry) reached through registries.conf, rendered with the real kustomize inside kubectl.

mod support;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use serde_json::{Value, json};
use support::{ImageSpec, TestRegistry};

/// Images named `explain.test/…` are mapped to the test registry by registries.conf.
const PREFIX: &str = "explain.test";

/// gcloud's versioned kubectl when present (it starts faster and probes no cluster), else `kubectl` on PATH.
fn kubectl() -> PathBuf {
    let versioned = Path::new("/usr/lib/google-cloud-sdk/bin/kubectl.1.32");
    if versioned.is_file() {
        return versioned.to_path_buf();
    }
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join("kubectl"))
        .find(|path| path.is_file())
        .expect("kubectl not found: these tests render with `kubectl kustomize`; install kubectl")
}

/// A Kustomize app, its registries.conf and its cache, in one temp dir.
struct App {
    dir: tempfile::TempDir,
}

impl App {
    /// `deployments` are the manifests; `api_url` is where `explain.test` images live; `credentials` the
    /// registries.conf credential spec, if any.
    fn new(deployments: &[&str], api_url: &str, credentials: Option<&str>) -> App {
        let dir = tempfile::tempdir().unwrap();
        let app = dir.path().join("app");
        std::fs::create_dir(&app).unwrap();
        let mut resources = String::new();
        for (n, deployment) in deployments.iter().enumerate() {
            let name = format!("deployment-{n}.yaml");
            std::fs::write(app.join(&name), deployment).unwrap();
            resources.push_str(&format!("  - {name}\n"));
        }
        std::fs::write(
            app.join("kustomization.yaml"),
            format!("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n{resources}"),
        )
        .unwrap();
        let mut conf =
            format!("registries:\n- name: local\n  prefix: {PREFIX}\n  api_url: {api_url}\n");
        if let Some(spec) = credentials {
            conf.push_str(&format!("  credentials: {spec}\n"));
        }
        std::fs::write(dir.path().join("registries.conf"), conf).unwrap();
        App { dir }
    }

    fn app_dir(&self) -> String {
        self.dir.path().join("app").display().to_string()
    }

    /// The options every run gets: registries.conf, cache, kustomize.
    fn env(&self) -> Vec<(String, String)> {
        let path = |name: &str| self.dir.path().join(name).display().to_string();
        vec![
            (
                "IMAGE_RESOLVER_REGISTRIES_CONF".into(),
                path("registries.conf"),
            ),
            ("IMAGE_RESOLVER_CACHE_DIR".into(), path("cache")),
            (
                "IMAGE_RESOLVER_KUSTOMIZE".into(),
                kubectl().display().to_string(),
            ),
            ("IMAGE_RESOLVER_BUDGET".into(), "30s".into()),
        ]
    }
}

/// Runs the binary off the async runtime, in `cwd`, isolated from the machine's docker config.
async fn cli(args: &[&str], cwd: Option<String>, env: Vec<(String, String)>) -> Output {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let mut cmd = Command::cargo_bin("argocd-image-resolver").unwrap();
        cmd.env("DOCKER_CONFIG", "/nonexistent")
            .env_remove("IMAGE_RESOLVER_DOCKER_CONFIG")
            .env_remove("ARGOCD_APP_PARAMETERS");
        if let Some(dir) = cwd {
            cmd.current_dir(dir);
        }
        cmd.args(&args).envs(env).output().unwrap()
    })
    .await
    .unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn json_report(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}\nstderr: {}",
            stdout(output),
            stderr(output)
        )
    })
}

/// Pushes `repository` with each of `tags`.
async fn push(registry: &TestRegistry, repository: &str, tags: &[&str]) {
    let pusher = registry.pusher();
    let image = pusher
        .image(
            repository,
            &ImageSpec::linux("amd64", None, "2024-05-01T10:00:00Z"),
        )
        .await;
    for tag in tags {
        pusher.tag(repository, tag, &image).await;
    }
}

const WEB: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  annotations:
    argocd-image-updater.argoproj.io/image-list: web=explain.test/shop/web:~1, worker=explain.test/shop/worker
    argocd-image-updater.argoproj.io/web.ignore-tags: '*-debug'
spec:
  template:
    spec:
      containers:
      - name: web
        image: explain.test/shop/web:1.0.0
      - name: worker
        image: explain.test/shop/worker:2024.01.01
      - name: proxy
        image: nginx:1.27
";

/// A second object with the same image and policy: its request is the first one's.
const API: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  annotations:
    argocd-image-updater.argoproj.io/image-list: web=explain.test/shop/web:~1
    argocd-image-updater.argoproj.io/web.ignore-tags: '*-debug'
spec:
  template:
    spec:
      containers:
      - name: api
        image: explain.test/shop/web:1.1.0
";

const WEB_TAGS: &[&str] = &["1.0.0", "1.1.0", "1.2.0", "1.3.0-debug", "2.0.0", "latest"];

/// The worker is pinned by a parameter, to a tag of [`WORKER_TAGS`]: a pin's tag is checked with one HEAD.
const PARAMETERS: &str = r#"[{"name": "worker.pin", "string": "2024.02.02"}]"#;

const WORKER_TAGS: &[&str] = &["2024.01.01", "2024.02.02"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_report_shows_winner_drops_origins_credential_pin_and_untracked() {
    let registry = TestRegistry::htpasswd("puller", "s3cret").await;
    push(&registry, "shop/web", WEB_TAGS).await;
    push(&registry, "shop/worker", WORKER_TAGS).await;
    let app = App::new(
        &[WEB, API],
        registry.base.as_str(),
        Some("env:EXPLAIN_PULL"),
    );
    let mut env = app.env();
    env.push(("EXPLAIN_PULL".into(), "puller:s3cret".into()));
    env.push(("ARGOCD_APP_PARAMETERS".into(), PARAMETERS.into()));
    env.push(("ARGOCD_ENV_WEB_INCLUDE_PRERELEASE".into(), "false".into()));

    let output = cli(&["explain", &app.app_dir(), "-o", "json"], None, env).await;
    assert!(
        output.status.success(),
        "exit {:?}: {}",
        output.status,
        stderr(&output)
    );
    let report = json_report(&output);
    let images = report["images"].as_array().unwrap();
    let found: Vec<(&str, &str, &str)> = images
        .iter()
        .map(|i| {
            (
                i["image"].as_str().unwrap(),
                i["status"].as_str().unwrap(),
                i["new_image"].as_str().unwrap_or("-"),
            )
        })
        .collect();
    // kustomize prints objects sorted by name: api before web.
    assert_eq!(
        found,
        [
            (
                "explain.test/shop/web:1.1.0",
                "registry",
                "explain.test/shop/web:1.2.0"
            ),
            (
                "explain.test/shop/web:1.0.0",
                "registry",
                "explain.test/shop/web:1.2.0"
            ),
            (
                "explain.test/shop/worker:2024.01.01",
                "pin",
                "explain.test/shop/worker:2024.02.02"
            ),
            ("nginx:1.27", "not-tracked", "-"),
        ]
    );

    let web = &images[1];
    assert_eq!(
        web["object"],
        json!({"kind": "Deployment", "name": "web", "namespace": null, "document": 2})
    );
    assert_eq!(web["path"], "spec.template.spec.containers[0].image");
    assert_eq!(web["container"], "web");
    let tracked = &web["tracked"];
    assert_eq!(
        tracked["policy"]["summary"],
        "strategy semver, constraint '~1', ignore-tags '*-debug'"
    );
    assert_eq!(
        tracked["origins"],
        json!([
            {"key": "image-list", "value": "web=explain.test/shop/web:~1",
             "source": "annotation", "name": "Deployment/web"},
            {"key": "web.include-prerelease", "value": "false",
             "source": "env", "name": "ARGOCD_ENV_WEB_INCLUDE_PRERELEASE"},
            {"key": "web.ignore-tags", "value": "*-debug",
             "source": "annotation", "name": "Deployment/web"},
        ])
    );
    let resolution = &tracked["resolution"];
    assert_eq!(resolution["registry"]["registry"], PREFIX);
    assert_eq!(resolution["registry"]["entry"], "local");
    assert_eq!(resolution["registry"]["api_url"], registry.base.as_str());
    assert_eq!(
        resolution["registry"]["credential"],
        json!({"kind": "env", "name": "EXPLAIN_PULL"})
    );
    assert_eq!(resolution["error"], Value::Null);
    assert_eq!(resolution["fallback"], Value::Null);
    let tags = &resolution["tags"];
    assert_eq!(tags["listed"], 6);
    assert_eq!(tags["candidates"], json!(["1.0.0", "1.1.0", "1.2.0"]));
    assert_eq!(tags["winner"]["tag"], "1.2.0");
    assert_eq!(tags["winner"]["reason"], "the highest version within '~1'");
    assert_eq!(
        tags["dropped"],
        json!({
            "allow_tags": [], "ignore_tags": ["1.3.0-debug"], "tag_pattern": [], "platforms": [],
            "unparsable": ["latest"], "constraint": ["2.0.0"],
        })
    );

    // Both objects' web images are one request, resolved once.
    let api = &images[0]["tracked"];
    assert_eq!(
        (api["request"].clone(), tracked["request"].clone()),
        (json!(0), json!(0))
    );
    assert_eq!(api["resolution"], tracked["resolution"]);
    assert_eq!(api["origins"][0]["name"], "Deployment/api");

    let worker = &images[2]["tracked"];
    assert_eq!(worker["request"], 1);
    let checked = &worker["resolution"];
    assert_eq!(
        checked["registry"]["credential"],
        json!({"kind": "env", "name": "EXPLAIN_PULL"})
    );
    assert_eq!(
        (
            &checked["registry"]["requests"],
            &checked["tags"],
            &checked["error"]
        ),
        (&json!(1), &Value::Null, &Value::Null),
        "one HEAD, no tag list"
    );
    let pin = &checked["pin"];
    assert_eq!(
        (&pin["status"], &pin["tag"], &pin["by"]),
        (&json!("verified"), &json!("2024.02.02"), &json!("head"))
    );
    assert!(
        pin["digest"].as_str().unwrap().starts_with("sha256:"),
        "{pin}"
    );
    assert_eq!(worker["policy"]["pin"], "2024.02.02");
    assert_eq!(
        worker["origins"],
        json!([
            {"key": "image-list", "value": "worker=explain.test/shop/worker",
             "source": "annotation", "name": "Deployment/web"},
            {"key": "worker.pin", "value": "2024.02.02", "source": "parameter", "name": "worker.pin"},
        ])
    );
    assert_eq!(images[3]["tracked"], Value::Null);
    assert_eq!(report["warnings"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_report_has_a_block_per_image() {
    let registry = TestRegistry::plain().await;
    push(&registry, "shop/web", WEB_TAGS).await;
    push(&registry, "shop/worker", WORKER_TAGS).await;
    let app = App::new(&[WEB, API], registry.base.as_str(), None);
    let mut env = app.env();
    env.push(("ARGOCD_APP_PARAMETERS".into(), PARAMETERS.into()));
    // An option for an alias no image has: a warning, shown at the end.
    env.push(("ARGOCD_ENV_nope.pin".into(), "1.0.0".into()));

    // Without DIR, the current directory is the application, as in the plugin's sidecar.
    let output = cli(&["explain"], Some(app.app_dir()), env).await;
    assert!(
        output.status.success(),
        "exit {:?}: {}",
        output.status,
        stderr(&output)
    );
    let text = stdout(&output);
    let url = registry.base.as_str();
    for want in [
        "[1] Deployment 'api' (document 1) · spec.template.spec.containers[0].image (line 12) · container api\n\
         \x20 image      explain.test/shop/web:1.1.0 → explain.test/shop/web:1.2.0 (resolved from the registry)\n\
         \x20 policy     strategy semver, constraint '~1', ignore-tags '*-debug'\n\
         \x20            image-list      = web=explain.test/shop/web:~1   (annotation on Deployment/api)\n\
         \x20            web.ignore-tags = *-debug                        (annotation on Deployment/api)\n",
        &format!(
            "  registry   explain.test → {url} (registries.conf entry 'local', anonymous), 1 request\n"
        ),
        "  tags       6 listed, 3 candidates: winner 1.2.0 (the highest version within '~1')\n\
         \x20 candidates 1.0.0 · 1.1.0 · 1.2.0\n\
         \x20 dropped    ignore-tags  1.3.0-debug\n\
         \x20            unparsable   latest\n\
         \x20            constraint   2.0.0\n",
        "  registry   the same request as [1]: resolved once\n",
        "  image      explain.test/shop/worker:2024.01.01 → explain.test/shop/worker:2024.02.02 (pinned)\n",
        "  pin        2024.02.02 verified: the registry has it, as sha256:",
        "  image      nginx:1.27 (not tracked: no image-list entry matches)\n",
        "warnings\n  - env ARGOCD_ENV_nope.pin = '1.0.0': ignored: no image-list entry has the alias \
         'nope'\n",
        "summary    4 images in .: 2 resolved from the registry, 1 pinned, 1 not tracked\n",
    ] {
        assert!(text.contains(want), "missing:\n{want}\nin:\n{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registry_down_is_reported_with_its_error_and_last_known_good() {
    let registry = TestRegistry::plain().await;
    push(&registry, "shop/web", WEB_TAGS).await;
    let app = App::new(&[API], registry.base.as_str(), None);
    // generate records the resolved tag; explain only reads it.
    let output = cli(&["generate", "--app-dir", &app.app_dir()], None, app.env()).await;
    assert!(output.status.success(), "generate: {}", stderr(&output));

    // The same app, its registry now a port nobody listens on.
    let closed = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/", listener.local_addr().unwrap())
    };
    let down = App::new(&[API], &closed, None);
    let cache = app.dir.path().join("cache").display().to_string();
    for (name, cache_dir, status, new_image, fallback) in [
        (
            "with a last-known-good tag",
            Some(cache),
            "last-known-good",
            json!("explain.test/shop/web:1.2.0"),
            json!("1.2.0"),
        ),
        ("without one", None, "failed", Value::Null, Value::Null),
    ] {
        let mut env = down.env();
        if let Some(dir) = cache_dir {
            env.push(("IMAGE_RESOLVER_CACHE_DIR".into(), dir));
        }
        let output = cli(&["explain", &down.app_dir(), "-o", "json"], None, env).await;
        assert_eq!(output.status.code(), Some(1), "{name}: {}", stderr(&output));
        let report = json_report(&output);
        let image = &report["images"][0];
        assert_eq!(
            (&image["status"], &image["new_image"]),
            (&json!(status), &new_image),
            "{name}"
        );
        let resolution = &image["tracked"]["resolution"];
        assert_eq!(resolution["fallback"]["tag"], fallback, "{name}");
        assert_eq!(resolution["tags"], Value::Null, "{name}");
        assert_eq!(resolution["registry"]["credential"], Value::Null, "{name}");
        let error = resolution["error"].as_str().unwrap();
        let want = format!(
            "registry {PREFIX}, repository shop/web (anonymous): cannot reach {closed}v2/shop/web/tags/list"
        );
        assert!(error.starts_with(&want), "{name}: {error}");
        let message = stderr(&output);
        assert!(
            message.starts_with(&format!(
                "argocd-image-resolver: 1 image request(s) got no tag from the registry: image explain.test/shop/web \
                 (strategy semver, constraint '~1', ignore-tags '*-debug'): {want}"
            )),
            "{name}: {message}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_policy_fails_before_any_registry_is_asked() {
    let bad = WEB.replace(
        "'*-debug'",
        "'*-debug'\n    argocd-image-updater.argoproj.io/web.update-strategy: fastest",
    );
    // No registry runs at all: a request would fail differently.
    let app = App::new(&[&bad], "http://127.0.0.1:9/", None);
    let output = cli(&["explain", &app.app_dir()], None, app.env()).await;
    assert_eq!(
        (
            output.status.code(),
            stdout(&output).as_str(),
            stderr(&output).as_str()
        ),
        (
            Some(2),
            "",
            "argocd-image-resolver: annotation \
             argocd-image-updater.argoproj.io/web.update-strategy = 'fastest' (on Deployment/web): unknown update \
             strategy 'fastest': expected semver, newest-build, alphabetical, digest or numerical (old names: latest, \
             name)\n"
        )
    );
}

/// No tag satisfying a policy and a pin to a tag the registry does not have both fail explain (exit 1) after the
/// report: the one with every drop, the other with the nearest existing tags.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_tag_satisfying_the_policy_shows_every_drop_a_missing_pin_its_nearest_tags_and_a_hold_asks_nothing()
 {
    let registry = TestRegistry::plain().await;
    push(&registry, "shop/web", WEB_TAGS).await;
    // Not the pinned 2024.02.02.
    push(
        &registry,
        "shop/worker",
        &["2024.01.01", "2024.02.01", "latest"],
    )
    .await;
    let app_yaml = WEB
        .replace(
            "web=explain.test/shop/web:~1",
            "web=explain.test/shop/web:~3, db=explain.test/shop/db",
        )
        .replace(
            "- name: proxy\n        image: nginx:1.27",
            "- name: db\n        image: explain.test/shop/db:5.0",
        );
    let app = App::new(&[&app_yaml], registry.base.as_str(), None);
    let mut env = app.env();
    env.push(("ARGOCD_APP_PARAMETERS".into(), PARAMETERS.into()));
    env.push(("ARGOCD_ENV_DB_HOLD".into(), "true".into()));
    let app_env = env.clone();

    let output = cli(&["explain", &app.app_dir(), "-o", "json"], None, env).await;
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let report = json_report(&output);
    let web = &report["images"][0];
    assert_eq!(
        (&web["status"], &web["new_image"]),
        (&json!("failed"), &Value::Null)
    );
    let resolution = &web["tracked"]["resolution"];
    assert_eq!(
        resolution["error"],
        "no tag satisfies the policy: of 6 tags, 6 were dropped by its filters or constraint"
    );
    assert_eq!(resolution["tags"]["winner"], Value::Null);
    assert_eq!(
        resolution["tags"]["dropped"],
        json!({
            "allow_tags": [], "ignore_tags": ["1.3.0-debug"], "tag_pattern": [], "platforms": [],
            "unparsable": ["latest"], "constraint": ["1.0.0", "1.1.0", "1.2.0", "2.0.0"],
        })
    );
    let worker = &report["images"][1];
    assert_eq!(
        (&worker["status"], &worker["new_image"]),
        (&json!("failed"), &Value::Null)
    );
    assert_eq!(
        worker["tracked"]["resolution"]["pin"],
        json!({"status": "not-found", "tag": "2024.02.02", "nearest": ["2024.02.01", "2024.01.01", "latest"],
               "unlisted": null})
    );
    let db = &report["images"][2];
    assert_eq!(
        (
            &db["status"],
            &db["new_image"],
            &db["tracked"]["resolution"]
        ),
        (
            &json!("hold"),
            &json!("explain.test/shop/db:5.0"),
            &Value::Null
        )
    );
    assert_eq!(
        db["tracked"]["origins"][1],
        json!({"key": "db.hold", "value": "true", "source": "env", "name": "ARGOCD_ENV_DB_HOLD"})
    );
    assert_eq!(
        stderr(&output),
        "argocd-image-resolver: 2 image request(s) got no tag from the registry: image explain.test/shop/web \
         (strategy semver, constraint '~3', ignore-tags '*-debug'): no tag satisfies the policy: of 6 tags, 6 were \
         dropped by its filters or constraint; parameter worker.pin = '2024.02.02' pins image \
         explain.test/shop/worker to a tag its registry does not have; nearest existing tags: 2024.02.01, \
         2024.01.01, latest; pin one of those, or remove the pin to follow the policy again\n"
    );

    let output = cli(&["explain", &app.app_dir()], None, app_env).await;
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let text = stdout(&output);
    for want in [
        "  image      explain.test/shop/worker:2024.01.01 → not rendered: the registry does not have the pinned \
         tag\n",
        "  pin        2024.02.02 not found: the registry does not have it; nearest existing tags: 2024.02.01 · \
         2024.01.01 · latest\n",
    ] {
        assert!(text.contains(want), "missing:\n{want}\nin:\n{text}");
    }
}

/// In a plain directory, each image is placed in its own file, at its line there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_directories_name_the_file_and_its_line() {
    let registry = TestRegistry::plain().await;
    push(&registry, "shop/web", WEB_TAGS).await;
    push(&registry, "shop/worker", WORKER_TAGS).await;
    let app = App::new(&[WEB, API], registry.base.as_str(), None);
    std::fs::remove_file(std::path::Path::new(&app.app_dir()).join("kustomization.yaml")).unwrap();
    let mut env = app.env();
    env.push(("ARGOCD_APP_PARAMETERS".into(), PARAMETERS.into()));
    let line_in =
        |text: &str, image: &str| text.lines().position(|l| l.contains(image)).unwrap() + 1;

    let output = cli(
        &["explain", &app.app_dir(), "-o", "json"],
        None,
        env.clone(),
    )
    .await;
    let report: serde_json::Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", stderr(&output)));
    let placed: Vec<(String, String, u64)> = report["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["image"].as_str().unwrap().to_string(),
                i["file"].as_str().unwrap().to_string(),
                i["file_line"].as_u64().unwrap(),
            )
        })
        .collect();
    let api_web = line_in(API, "image: explain.test/shop/web") as u64;
    assert!(
        placed.contains(&(
            "explain.test/shop/web:1.1.0".to_string(),
            "deployment-1.yaml".to_string(),
            api_web
        )),
        "{placed:?}"
    );
    assert!(
        placed
            .iter()
            .any(|(_, file, _)| file == "deployment-0.yaml"),
        "{placed:?}"
    );

    let text = stdout(&cli(&["explain", &app.app_dir()], None, env).await);
    assert!(
        text.contains(&format!(
            "spec.template.spec.containers[0].image (deployment-1.yaml line {api_web})"
        )),
        "{text}"
    );
}

/// Lock mode (issue 12): `explain` shows the lock file entry that decided an image (no registry asked for it, a
/// policy changed since warned about), and the entry of an image the Application pins (not used).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lock_file_entry_that_decided_an_image_is_shown() {
    let registry = TestRegistry::plain().await;
    push(&registry, "shop/web", WEB_TAGS).await;
    push(&registry, "shop/worker", WORKER_TAGS).await;
    let app = App::new(&[WEB, API], registry.base.as_str(), None);
    std::fs::write(
        Path::new(&app.app_dir()).join("image-resolver.lock.yaml"),
        "version: 1\nimages:\n  web=explain.test/shop/web:\n    tag: 1.1.0\n    policy: \"strategy semver, \
         constraint '~1'\"\n    rejected: [1.2.0]\n  worker=explain.test/shop/worker: {tag: 2024.01.01}\n  \
         docker.io/library/nginx: {tag: 1.27.3}\n",
    )
    .unwrap();
    let mut env = app.env();
    env.push(("ARGOCD_APP_PARAMETERS".into(), PARAMETERS.into()));

    let output = cli(
        &["explain", &app.app_dir(), "-o", "json"],
        None,
        env.clone(),
    )
    .await;
    assert!(output.status.success(), "{}", stderr(&output));
    let report = json_report(&output);
    let container = |name: &str| {
        report["images"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["container"] == name)
            .unwrap()
            .clone()
    };
    for name in ["web", "api"] {
        let image = container(name);
        assert_eq!(
            (&image["status"], &image["new_image"]),
            (&json!("lock"), &json!("explain.test/shop/web:1.1.0")),
            "{name}"
        );
        assert_eq!(
            image["tracked"]["lock"],
            json!({"entry": "web=explain.test/shop/web", "tag": "1.1.0", "digest": null,
                   "policy": "strategy semver, constraint '~1'", "policy_changed": true, "pin": null,
                   "hold": false, "rejected": ["1.2.0"], "decided": true}),
            "{name}"
        );
        assert_eq!(
            image["tracked"]["request"],
            Value::Null,
            "{name}: no request"
        );
        assert_eq!(image["tracked"]["resolution"], Value::Null, "{name}");
    }
    let worker = container("worker");
    assert_eq!(
        worker["status"], "pin",
        "the Application's pin wins over the lock file"
    );
    assert_eq!(worker["tracked"]["lock"]["decided"], json!(false));
    // An image no policy the plugin reads tracks (its policy may be in the Application's annotations, read by the
    // committer only): its repository's entry decides it.
    let proxy = container("proxy");
    assert_eq!(
        (
            &proxy["status"],
            &proxy["new_image"],
            &proxy["lock_entry"],
            &proxy["tracked"]
        ),
        (
            &json!("lock"),
            &json!("nginx:1.27.3"),
            &json!("docker.io/library/nginx"),
            &Value::Null
        )
    );
    assert_eq!(
        report["warnings"],
        json!([
            "image-resolver.lock.yaml entry 'web=explain.test/shop/web' was resolved under another policy (strategy \
             semver, constraint '~1') than the image's now (strategy semver, constraint '~1', ignore-tags \
             '*-debug'): its tag 1.1.0 renders until the committer resolves it again"
        ])
    );

    let text = stdout(&cli(&["explain", &app.app_dir()], None, env).await);
    for want in [
        "  image      explain.test/shop/web:1.1.0 → explain.test/shop/web:1.1.0 (from image-resolver.lock.yaml, \
         no registry asked)\n",
        "  lock       entry 'web=explain.test/shop/web': tag 1.1.0, resolved under another policy (strategy semver, \
         constraint '~1') than the image's now; rejected 1.2.0\n",
        "  lock       entry 'worker=explain.test/shop/worker': tag 2024.01.01 (not used: the Application pins the \
         image)\n",
        "  image      nginx:1.27 → nginx:1.27.3 (from image-resolver.lock.yaml entry 'docker.io/library/nginx', no \
         registry asked: no image-list the plugin reads tracks it)\n",
        "3 from the lock file, 1 pinned\n",
    ] {
        assert!(text.contains(want), "missing:\n{want}\nin:\n{text}");
    }
}
