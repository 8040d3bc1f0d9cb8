//! Where an image's policy comes from when argocd-cmp-server runs the plugin: annotations on the rendered objects,
//! the Application's plugin parameters over them key by key, its plugin env over both; the plugin's own options
//! from plugin env; pins and holds; and bad annotations failing the render with a message for the Argo CD UI.

mod plugin_support;
mod support;

use plugin_support::{
    Application, Repo, Sidecar, documents, images, resolved_entries, shop_registry, unreachable_url,
};

/// A Deployment whose annotations track two images, with one key the plugin does not know.
const ANNOTATED: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  annotations:
    argocd-image-updater.argoproj.io/image-list: web=apps.test/team/web:~1.0, worker=apps.test/team/worker
    argocd-image-updater.argoproj.io/web.ignore-tags: 1.2.0
    argocd-image-updater.argoproj.io/worker.update-strategy: alphabetical
    argocd-image-updater.argoproj.io/worker.allow-tags: regexp:^\d{4}\.
    argocd-image-updater.argoproj.io/web.frobnicate: "yes"
spec:
  template:
    spec:
      containers:
      - name: web
        image: apps.test/team/web:1.0.0
      - name: worker
        image: apps.test/team/worker:2024.01.01
"#;

/// The `policy` field of each entry of the resolver's annotation on the only object.
fn policies(manifests: &str) -> Vec<String> {
    resolved_entries(&documents(manifests)[0])
        .iter()
        .map(|e| e["policy"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parameters_override_annotations_and_plugin_env_overrides_parameters() {
    let registry = shop_registry().await;
    let sidecar = Sidecar::new(&[("apps.test", &registry)]);
    let repo = Repo::new(&[("apps/web/deployment.yaml", ANNOTATED)]);
    let annotations_only = Application::new("web", "apps/web");
    // The image-list entry replaces the annotation's entry of the same alias (a new constraint), the annotation's
    // other keys for that alias still apply; a parameter replaces the annotation's key of the same name.
    let with_parameters = annotations_only
        .clone()
        .string("image-list", "web=apps.test/team/web:^1")
        .string("worker.allow-tags", "regexp:^build-");
    // Plugin env in both spellings: the exact key, and upper snake.
    let with_env = with_parameters
        .clone()
        .env("web.ignore-tags", "1.0.5")
        .env("WORKER_ALLOW_TAGS", r"regexp:^\d{4}\.01");

    for (name, app, want_images, want_policies) in [
        (
            "annotations only",
            annotations_only,
            [
                "apps.test/team/web:1.0.5",
                "apps.test/team/worker:2024.06.15",
            ],
            [
                "strategy semver, constraint '~1.0', ignore-tags '1.2.0'",
                r"strategy alphabetical, allow-tags 'regexp:^\d{4}\.'",
            ],
        ),
        (
            "parameters over annotations",
            with_parameters,
            ["apps.test/team/web:1.0.5", "apps.test/team/worker:build-9"],
            [
                "strategy semver, constraint '^1', ignore-tags '1.2.0'",
                "strategy alphabetical, allow-tags 'regexp:^build-'",
            ],
        ),
        (
            "plugin env over parameters",
            with_env,
            [
                "apps.test/team/web:1.2.0",
                "apps.test/team/worker:2024.01.01",
            ],
            [
                "strategy semver, constraint '^1', ignore-tags '1.0.5'",
                r"strategy alphabetical, allow-tags 'regexp:^\d{4}\.01'",
            ],
        ),
    ] {
        let output = sidecar.generate(&repo, &app).await;
        let manifests = output.success();
        assert_eq!(images(manifests), want_images, "{name}");
        assert_eq!(policies(manifests), want_policies, "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugin_env_sets_the_plugins_own_options() {
    let registry = shop_registry().await;
    let mut sidecar = Sidecar::new(&[("apps.test", &registry)]);
    sidecar
        .env
        .push(("IMAGE_RESOLVER_LOG_LEVEL".into(), "warn".into()));
    let repo = Repo::new(&[("apps/web/deployment.yaml", ANNOTATED)]);
    let app = Application::new("web", "apps/web");

    let warned = sidecar.generate(&repo, &app).await;
    let quiet_app = app.clone().env("IMAGE_RESOLVER_LOG_LEVEL", "error");
    let quiet = sidecar.generate(&repo, &quiet_app).await;

    let warning = "application web: annotation argocd-image-updater.argoproj.io/web.frobnicate = 'yes' (on \
                   Deployment/web): ignored: argocd-image-updater and this plugin know no such key\n";
    assert!(
        warned.stderr.ends_with(warning),
        "the sidecar's level shows warnings: {}",
        warned.stderr
    );
    assert_eq!(quiet.stderr, "", "the Application's plugin env wins");
    assert_eq!(quiet.success(), warned.success(), "same manifests");

    // Where registries are and which credentials go to them stays the operator's choice: an Application pointing
    // the plugin at its own registries.conf (here: one sending apps.test to a port nothing serves) changes nothing.
    repo.write(&[(
        "apps/web/evil-registries.conf",
        "registries:\n- name: evil\n  prefix: apps.test\n  api_url: http://127.0.0.1:9\n",
    )]);
    let hijack = app
        .clone()
        .env("IMAGE_RESOLVER_REGISTRIES_CONF", "evil-registries.conf")
        .env("IMAGE_RESOLVER_CACHE_DIR", "/tmp");
    let hijacked = sidecar.generate(&repo, &hijack).await;
    assert_eq!(
        hijacked.success(),
        warned.success(),
        "the operator's registries.conf is used"
    );
}

/// One tracked image; the tests point its registry at a port nothing listens on.
const PINNED: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  annotations:
    argocd-image-updater.argoproj.io/image-list: web=apps.test/team/web:~1.0
spec:
  template:
    spec:
      containers:
      - name: web
        image: apps.test/team/web:1.0.0
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pin_and_hold_need_no_registry() {
    let sidecar = Sidecar::with_urls(&[("apps.test", unreachable_url())]);
    let repo = Repo::new(&[("apps/web/deployment.yaml", PINNED)]);
    let app = Application::new("web", "apps/web");
    for (name, app, want_image, want_decision, want_warning) in [
        (
            "pin: exactly that tag, even outside the constraint",
            app.clone().string("web.pin", "0.9.3"),
            "apps.test/team/web:0.9.3",
            "pin",
            None,
        ),
        (
            "hold: as rendered",
            app.clone().string("web.hold", "true"),
            "apps.test/team/web:1.0.0",
            "hold",
            None,
        ),
        (
            "pin wins over hold",
            app.clone()
                .string("web.hold", "true")
                .env("web.pin", "1.0.1"),
            "apps.test/team/web:1.0.1",
            "pin",
            Some(
                "application web: env ARGOCD_ENV_web.pin = '1.0.1' wins over parameter web.hold = 'true': the \
                 image runs the pinned tag\n",
            ),
        ),
    ] {
        let output = sidecar.generate(&repo, &app).await;
        let manifests = output.success();
        assert_eq!(images(manifests), [want_image], "{name}");
        let entries = resolved_entries(&documents(manifests)[0]);
        assert_eq!(entries[0]["decision"], want_decision, "{name}");
        assert_eq!(entries[0]["from"], "apps.test/team/web:1.0.0", "{name}");
        match want_warning {
            None => assert_eq!(output.stderr, "", "{name}"),
            Some(warning) => assert!(
                output.stderr.ends_with(warning),
                "{name}: {}",
                output.stderr
            ),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_annotations_fail_the_render_naming_app_key_value_and_object() {
    let sidecar = Sidecar::with_urls(&[("apps.test", unreachable_url())]);
    let app = Application::new("team-a_web", "apps/web");
    for (name, annotations, want) in [
        (
            "unknown strategy",
            "argocd-image-updater.argoproj.io/image-list: web=apps.test/team/web\n    \
             argocd-image-updater.argoproj.io/web.update-strategy: fastest",
            "annotation argocd-image-updater.argoproj.io/web.update-strategy = 'fastest' (on Deployment/web): \
             unknown update strategy 'fastest': expected semver, newest-build, alphabetical, digest or numerical \
             (old names: latest, name)",
        ),
        (
            "bad constraint",
            "argocd-image-updater.argoproj.io/image-list: web=apps.test/team/web:>=1.0 <<2",
            "annotation argocd-image-updater.argoproj.io/image-list entry 'web=apps.test/team/web:>=1.0 <<2' (on \
             Deployment/web): invalid constraint '>=1.0 <<2': cannot read \
             '>=1.0 <<2'; expected comparisons such as '>=1.2 <2', '~1.4', '^0.3', '1.x' or '1.0 - 2.0', separated \
             by ',' or spaces, with '||' between alternatives",
        ),
        (
            "bad regexp",
            "argocd-image-updater.argoproj.io/image-list: web=apps.test/team/web\n    \
             argocd-image-updater.argoproj.io/web.allow-tags: regexp:^(1",
            "annotation argocd-image-updater.argoproj.io/web.allow-tags = 'regexp:^(1' (on Deployment/web): \
             invalid regular expression '^(1': missing closing )",
        ),
        (
            // Whoever writes the manifests must not be able to send the sidecar's variables to a host of theirs.
            "a credential that names no registry",
            "argocd-image-updater.argoproj.io/image-list: web=apps.test/team/web\n    \
             argocd-image-updater.argoproj.io/web.pull-secret: env:HOME",
            "annotation argocd-image-updater.argoproj.io/web.pull-secret = 'env:HOME' (on Deployment/web): an \
             application may only name a mounted pull secret (pullsecret:<namespace>/<name>), which is sent only to \
             the registries it has auths for; env:, secret: and ext: credentials are the operator's, set in \
             registries.conf",
        ),
    ] {
        let repo = Repo::new(&[(
            "apps/web/deployment.yaml",
            &PINNED.replace(
                "argocd-image-updater.argoproj.io/image-list: web=apps.test/team/web:~1.0",
                annotations,
            ),
        )]);
        let output = sidecar.generate(&repo, &app).await;
        assert_eq!(output.status.code(), Some(2), "{name}: invalid input");
        assert_eq!(output.stdout, "", "{name}");
        let prefix = "argocd-image-resolver: application team-a_web: ";
        assert_eq!(output.stderr, format!("{prefix}{want}\n"), "{name}");
    }
}

/// With a `default: true` registry in registries.conf, an image written without a host (in the manifests and in
/// image-list alike) is that registry's, as argocd-image-updater reads it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn images_without_a_host_belong_to_the_default_registry() {
    let registry = shop_registry().await;
    let sidecar = Sidecar::with_urls(&[]);
    std::fs::write(
        &sidecar.registries_conf,
        format!(
            "registries:\n- name: corp\n  prefix: corp.test\n  api_url: {}\n  default: true\n",
            registry.base
        ),
    )
    .unwrap();
    let repo = Repo::new(&[(
        "apps/web/deployment.yaml",
        &ANNOTATED.replace("apps.test/team/", "team/").replace(
            "    argocd-image-updater.argoproj.io/web.frobnicate: \"yes\"\n",
            "",
        ),
    )]);
    let output = sidecar
        .generate(&repo, &Application::new("web", "apps/web"))
        .await;
    assert_eq!(
        images(output.success()),
        ["team/web:1.0.5", "team/worker:2024.06.15"],
        "resolved from the default registry, written as before"
    );
}
