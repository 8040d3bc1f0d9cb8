//! Where an image's policy comes from when argocd-cmp-server runs the plugin: annotations on the rendered objects,
//! the Application's plugin parameters over them key by key, its plugin env over both; the plugin's own options
//! from plugin env; pins (checked against the registry) and holds; and bad annotations failing the render with a
//! message for the Argo CD UI.

mod plugin_support;
mod support;

use plugin_support::{
    Application, Repo, Sidecar, documents, images, resolved_entries, shop_registry, unreachable_url,
};
use support::MockServer;

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

/// One tracked image, `web` ([`plugin_support::WEB_TAGS`] in the shop registry).
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

/// What the render of a missing pin `1.0.9` offers instead, from the shop registry's `team/web` tags.
const NEAREST_TO_1_0_9: &str = "nearest existing tags: 1.0.5, 1.0.0, 1.2.0, 2.0.0, 2.1.0; pin one of those, or \
                                remove the pin to follow the policy again";

/// Regression (issue 11, item 6): a pin to a tag that does not exist rendered it, exit 0, and the pod went into
/// ImagePullBackOff — on a rollback typo, the worst moment. The registry is asked (one HEAD): a tag it has renders,
/// one it does not have fails the render naming the pin, where it was written and the nearest existing tags.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pin_to_a_tag_the_registry_does_not_have_fails_naming_the_nearest_tags() {
    let registry = shop_registry().await;
    let sidecar = Sidecar::new(&[("apps.test", &registry)]);
    let repo = Repo::new(&[("apps/web/deployment.yaml", PINNED)]);
    let app = Application::new("web", "apps/web");

    let existing = sidecar
        .generate(&repo, &app.clone().string("web.pin", "1.0.5"))
        .await;
    let manifests = existing.success();
    assert_eq!(images(manifests), ["apps.test/team/web:1.0.5"]);
    assert_eq!(
        resolved_entries(&documents(manifests)[0])[0]["decision"],
        "pin"
    );
    assert_eq!(existing.stderr, "", "a verified pin says nothing");

    let annotated = Repo::new(&[(
        "apps/web/deployment.yaml",
        &PINNED.replace(
            "web=apps.test/team/web:~1.0\n",
            "web=apps.test/team/web:~1.0\n    argocd-image-updater.argoproj.io/web.pin: \"1.0.9\"\n",
        ),
    )]);
    for (name, repo, app, at) in [
        (
            "a parameter",
            &repo,
            app.clone().string("web.pin", "1.0.9"),
            "parameter web.pin = '1.0.9'",
        ),
        (
            "plugin env",
            &repo,
            app.clone().env("WEB_PIN", "1.0.9"),
            "env ARGOCD_ENV_WEB_PIN = '1.0.9'",
        ),
        (
            "an annotation",
            &annotated,
            app.clone(),
            "annotation argocd-image-updater.argoproj.io/web.pin = '1.0.9' (on Deployment/web)",
        ),
    ] {
        let output = sidecar.generate(repo, &app).await;
        // The Application's pin is at fault, not the registry: exit 2, as for a pin that is no tag at all.
        assert_eq!(output.status.code(), Some(2), "{name}: {}", output.stderr);
        assert_eq!(output.stdout, "", "{name}: nothing rendered");
        assert_eq!(
            output.stderr,
            format!(
                "argocd-image-resolver: application web: {at} pins image apps.test/team/web to a tag its \
                 registry does not have; {NEAREST_TO_1_0_9}\n"
            ),
            "{name}"
        );
    }

    // The Parameters tab stays: it is where the pin gets corrected.
    let announced = sidecar
        .parameters(&repo, &app.clone().string("web.pin", "1.0.9"))
        .await;
    let announced: serde_json::Value = serde_json::from_str(announced.success()).unwrap();
    let web = &announced[0];
    assert_eq!(
        (&web["name"], &web["title"], &web["string"]),
        (
            &serde_json::json!("web.pin"),
            &serde_json::json!("web: apps.test/team/web (pinned tag not found)"),
            &serde_json::json!("1.0.9")
        )
    );
    assert_eq!(
        web["tooltip"],
        "The pinned tag 1.0.9 of apps.test/team/web does not exist in its registry (nearest existing tags: 1.0.5, \
         1.0.0, 1.2.0, 2.0.0, 2.1.0), so the application does not render. Set this parameter to an existing tag, or \
         remove it to follow the policy again (strategy semver, constraint '~1.0')."
    );
}

/// A pin is for emergencies, and a registry that is down may be one: the pin renders, with a warning in the
/// sidecar's log saying it was not verified and why. A hold asks no registry at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pin_renders_unverified_when_the_registry_is_down_and_a_hold_asks_nothing() {
    let down = unreachable_url();
    let sidecar = Sidecar::with_urls(&[("apps.test", down.clone())]);
    let repo = Repo::new(&[("apps/web/deployment.yaml", PINNED)]);
    let app = Application::new("web", "apps/web");
    let not_verified = |at: &str, tag: &str| {
        format!(
            "application web: {at} pins image apps.test/team/web to a tag that could not be verified, rendered as \
             pinned: registry apps.test, repository team/web (anonymous): cannot reach \
             {down}/v2/team/web/manifests/{tag}"
        )
    };
    for (name, app, want_image, want_decision, want_warnings) in [
        (
            "pin: exactly that tag, even outside the constraint",
            app.clone().string("web.pin", "0.9.3"),
            "apps.test/team/web:0.9.3",
            "pin",
            vec![not_verified("parameter web.pin = '0.9.3'", "0.9.3")],
        ),
        (
            "hold: as rendered",
            app.clone().string("web.hold", "true"),
            "apps.test/team/web:1.0.0",
            "hold",
            vec![],
        ),
        (
            "pin wins over hold",
            app.clone()
                .string("web.hold", "true")
                .env("web.pin", "1.0.1"),
            "apps.test/team/web:1.0.1",
            "pin",
            vec![
                "application web: env ARGOCD_ENV_web.pin = '1.0.1' wins over parameter web.hold = 'true': the \
                 image runs the pinned tag\n"
                    .to_string(),
                not_verified("env ARGOCD_ENV_web.pin = '1.0.1'", "1.0.1"),
            ],
        ),
    ] {
        let output = sidecar.generate(&repo, &app).await;
        let manifests = output.success();
        assert_eq!(images(manifests), [want_image], "{name}");
        let entries = resolved_entries(&documents(manifests)[0]);
        assert_eq!(entries[0]["decision"], want_decision, "{name}");
        assert_eq!(entries[0]["from"], "apps.test/team/web:1.0.0", "{name}");
        assert_eq!(
            output.stderr.lines().count(),
            want_warnings.len(),
            "{name}: {}",
            output.stderr
        );
        let mut rest = output.stderr.as_str();
        for warning in &want_warnings {
            let at = rest
                .find(warning.as_str())
                .unwrap_or_else(|| panic!("{name}: no {warning:?} in order in {}", output.stderr));
            rest = &rest[at + warning.len()..];
        }
    }
}

/// Warm renders stay request-free: a fresh cached tag list that holds the pinned tag verifies it. A recording
/// proxy in front of the real registry counts the requests, since the real registry keeps no request log the test
/// can read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pin_the_cached_tag_list_holds_is_verified_without_a_request() {
    let registry = shop_registry().await;
    let proxy = MockServer::proxy(registry.base.clone()).await;
    let sidecar = Sidecar::with_urls(&[("apps.test", proxy.url().to_string())]);
    let repo = Repo::new(&[("apps/web/deployment.yaml", PINNED)]);
    let app = Application::new("web", "apps/web");
    let requests = || {
        proxy
            .seen()
            .into_iter()
            .map(|s| format!("{} {}", s.method, s.uri))
    };

    // Following the policy lists the tags, which the cache keeps (for 30s, --tags-ttl's default).
    let following = sidecar.generate(&repo, &app).await;
    assert_eq!(images(following.success()), ["apps.test/team/web:1.0.5"]);
    let warm = requests().count();
    assert!(warm > 0, "the first render asked the registry");

    // Then a rollback: pinned to a tag the cached list holds.
    let rollback = sidecar
        .generate(&repo, &app.clone().string("web.pin", "1.0.0"))
        .await;
    assert_eq!(images(rollback.success()), ["apps.test/team/web:1.0.0"]);
    assert_eq!(rollback.stderr, "");
    assert_eq!(
        requests().skip(warm).collect::<Vec<_>>(),
        Vec::<String>::new(),
        "verified from the cached tag list"
    );

    // A tag the list does not hold is asked about (it may be newer than the list), and the nearest tags come from
    // the cached list.
    let typo = sidecar
        .generate(&repo, &app.clone().string("web.pin", "1.0.9"))
        .await;
    assert_eq!(typo.status.code(), Some(2), "{}", typo.stderr);
    assert!(typo.stderr.contains(NEAREST_TO_1_0_9), "{}", typo.stderr);
    assert_eq!(
        requests().skip(warm).collect::<Vec<_>>(),
        ["HEAD /v2/team/web/manifests/1.0.9"],
        "one HEAD, no tag list"
    );
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
