//! Lock mode (issue 12) as argocd-cmp-server runs the plugin: with `image-resolver.lock.yaml` in the application's
//! directory, each tracked image it has an entry for renders exactly as the entry says, with no registry request,
//! so two renders of one revision are byte-identical whether the registry is up or down; an image the lock lacks
//! is resolved from the registry, with a warning; an unusable lock file fails the render (exit 2) naming the
//! application and the file, with nothing on stdout.

mod plugin_support;
mod support;

use plugin_support::{
    Application, Repo, Sidecar, documents, images, resolved_entries, shop_registry, unreachable_url,
};
use support::MockServer;

/// `web` follows `~1.0` (the shop registry's newest is 1.0.5); `worker` follows the digest of `latest`.
const DEPLOYMENT: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  annotations:
    argocd-image-updater.argoproj.io/image-list: web=apps.test/team/web:~1.0, worker=apps.test/team/worker:latest
    argocd-image-updater.argoproj.io/worker.update-strategy: digest
spec:
  template:
    spec:
      containers:
      - name: web
        image: apps.test/team/web:1.0.0
      - name: worker
        image: apps.test/team/worker:latest
"#;

/// Not the digest the registry has for `latest`: the lock file's word is what renders.
const LOCKED_DIGEST: &str =
    "sha256:0f3a5e8b7c2d4f6a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a";

fn lock_file() -> String {
    format!(
        "# The shop's images ☕\nversion: 1\nimages:\n  web=apps.test/team/web:\n    tag: 1.0.0   # 1.0.5 is out: \
         not yet\n    policy: \"strategy semver, constraint '~1.0'\"\n  worker=apps.test/team/worker:\n    tag: \
         latest\n    digest: {LOCKED_DIGEST}\n    policy: \"strategy digest, tracking 'latest'\"\n"
    )
}

fn decisions(manifests: &str) -> Vec<String> {
    resolved_entries(&documents(manifests)[0])
        .iter()
        .map(|e| e["decision"].as_str().unwrap().to_string())
        .collect()
}

/// The locked tag renders though newer ones exist, a digest-strategy image as `tag@digest`, and the registry is
/// never asked (a recording proxy in front of the real registry counts the requests); with the registry gone
/// and the cache emptied, the output is the same to the byte.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lock_file_renders_as_it_says_asking_no_registry_and_alike_when_it_is_down() {
    let registry = shop_registry().await;
    let proxy = MockServer::proxy(registry.base.clone()).await;
    let sidecar = Sidecar::with_urls(&[("apps.test", proxy.url().to_string())]);
    let lock = lock_file();
    let repo = Repo::new(&[
        ("apps/web/deployment.yaml", DEPLOYMENT),
        ("apps/web/image-resolver.lock.yaml", &lock),
    ]);
    let app = Application::new("web", "apps/web");

    let up = sidecar.generate(&repo, &app).await;
    let manifests = up.success();
    assert_eq!(
        images(manifests),
        [
            "apps.test/team/web:1.0.0".to_string(),
            format!("apps.test/team/worker:latest@{LOCKED_DIGEST}"),
        ]
    );
    assert_eq!(decisions(manifests), ["lock", "lock"]);
    assert_eq!(
        documents(manifests).len(),
        1,
        "the lock file is no manifest"
    );
    assert_eq!(up.stderr, "", "nothing to warn about");
    assert_eq!(proxy.seen(), [], "no registry request at all");

    // The Parameters tab announces the locked tag (setting the parameter pins another one: a pin wins).
    let announced = sidecar.parameters(&repo, &app).await;
    let announced: serde_json::Value = serde_json::from_str(announced.success()).unwrap();
    assert_eq!(
        (&announced[0]["title"], &announced[0]["string"]),
        (
            &serde_json::json!("web: apps.test/team/web (locked in image-resolver.lock.yaml)"),
            &serde_json::json!("1.0.0")
        )
    );
    assert_eq!(
        proxy.seen(),
        [],
        "no registry request for the parameters either"
    );

    // Without the lock file, the same revision resolves from the registry: the lock file is what held it back.
    let unlocked = Repo::new(&[("apps/web/deployment.yaml", DEPLOYMENT)]);
    let live = sidecar.generate(&unlocked, &app).await;
    assert_eq!(images(live.success())[0], "apps.test/team/web:1.0.5");
    assert!(!proxy.seen().is_empty());

    drop(proxy);
    drop(registry);
    sidecar.clear_cache();
    let down = sidecar.generate(&repo, &app).await;
    assert_eq!(down.stderr, "");
    assert_eq!(
        down.success(),
        manifests,
        "byte-identical, registry up or down"
    );
}

/// argocd-image-updater's users keep the policy in the Application's annotations, which Argo CD never passes to a
/// plugin: the lock file the committer writes is then all `generate` knows, and it renders each image whose
/// repository has an entry as the entry says (the digest where the entry's policy renders one), asking no registry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lock_file_decides_images_whose_policy_the_plugin_never_sees() {
    let registry = shop_registry().await;
    let proxy = MockServer::proxy(registry.base.clone()).await;
    let sidecar = Sidecar::with_urls(&[("apps.test", proxy.url().to_string())]);
    let lock = lock_file();
    let without_policy: String = DEPLOYMENT
        .lines()
        .filter(|l| !l.contains("argocd-image-updater.argoproj.io/") && *l != "  annotations:")
        .map(|l| format!("{l}\n"))
        .collect();
    let repo = Repo::new(&[
        ("apps/web/deployment.yaml", &without_policy),
        ("apps/web/image-resolver.lock.yaml", &lock),
    ]);
    let out = sidecar
        .generate(&repo, &Application::new("web", "apps/web"))
        .await;
    let manifests = out.success();
    assert_eq!(
        images(manifests),
        [
            "apps.test/team/web:1.0.0".to_string(),
            format!("apps.test/team/worker:latest@{LOCKED_DIGEST}"),
        ]
    );
    assert_eq!(decisions(manifests), ["lock", "lock"]);
    assert_eq!(out.stderr, "", "nothing to warn about");
    assert_eq!(proxy.seen(), [], "no registry request at all");
}

/// An image the lock file has no entry for is resolved from its registry as without a lock file, and the warning
/// names the entry the committer will add; an entry no image uses is warned about. A pin set on the Application
/// wins over the lock file, as it wins over the registry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_image_the_lock_file_lacks_is_resolved_from_the_registry_with_a_warning() {
    let registry = shop_registry().await;
    let sidecar = Sidecar::new(&[("apps.test", &registry)]);
    let lock = "version: 1\nimages:\n  web=apps.test/team/web: {tag: 1.0.0}\n  gone=apps.test/team/gone: {tag: 1.0.0}\n";
    let repo = Repo::new(&[
        ("apps/web/deployment.yaml", DEPLOYMENT),
        ("apps/web/image-resolver.lock.yaml", lock),
    ]);
    let app = Application::new("web", "apps/web");

    let output = sidecar.generate(&repo, &app).await;
    let manifests = output.success();
    let worker = images(manifests)[1].clone();
    assert!(
        worker.starts_with("apps.test/team/worker:latest@sha256:"),
        "resolved from the registry: {worker}"
    );
    assert_eq!(images(manifests)[0], "apps.test/team/web:1.0.0");
    assert_eq!(decisions(manifests), ["lock", "registry"]);
    let warnings: Vec<&str> = output.stderr.lines().collect();
    assert_eq!(warnings.len(), 2, "{}", output.stderr);
    assert!(
        warnings[0].ends_with(
            " WARN application web: image-resolver.lock.yaml has no entry 'worker=apps.test/team/worker': image \
             apps.test/team/worker is resolved from its registry at each render until the committer adds it"
        ),
        "{}",
        output.stderr
    );
    assert!(
        warnings[1].ends_with(
            " WARN application web: image-resolver.lock.yaml entry 'gone=apps.test/team/gone' is for no image \
             tracked in the rendered manifests: remove it, or check the image-list that should track it"
        ),
        "{}",
        output.stderr
    );

    let pinned = sidecar
        .generate(&repo, &app.clone().string("web.pin", "1.0.5"))
        .await;
    assert_eq!(images(pinned.success())[0], "apps.test/team/web:1.0.5");
    assert_eq!(decisions(pinned.success()), ["pin", "registry"]);
}

/// A lock file that cannot be used fails the render: exit 2 (the repository's to fix), nothing on stdout, one
/// paragraph naming the application, the file, the entry and the key. No registry is needed to say so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unusable_lock_file_fails_the_render_naming_the_app_and_the_file() {
    let sidecar = Sidecar::with_urls(&[("apps.test", unreachable_url())]);
    let app = Application::new("team-a_web", "apps/web");
    let entry = |fields: &str| format!("version: 1\nimages:\n  web=apps.test/team/web:\n{fields}");
    for (name, lock, want) in [
        (
            "not YAML: a key out of line",
            entry("    tag: 1.0.0\n   policy: x\n"),
            "image-resolver.lock.yaml: did not find expected key at line 5 column 4, while parsing a block mapping \
             at line 3 column 3"
                .to_string(),
        ),
        (
            "an invalid tag",
            entry("    tag: 1.0.0 beta\n"),
            "image-resolver.lock.yaml: entry 'web=apps.test/team/web', key 'tag': invalid tag '1.0.0 beta': a tag \
             is 1 to 128 letters, digits, '_', '.' or '-', and does not start with '.' or '-'"
                .to_string(),
        ),
        (
            "a typo in a key",
            entry("    tag: 1.0.0\n    pinned: 1.0.0\n"),
            "image-resolver.lock.yaml: entry 'web=apps.test/team/web', key 'pinned': unknown key; an entry has tag, \
             digest, policy, pin, hold and rejected"
                .to_string(),
        ),
        (
            "a familiar repository name",
            "version: 1\nimages:\n  web=apps.test/team/web: {tag: 1.0.0}\n  nginx: {tag: '1.27'}\n".to_string(),
            "image-resolver.lock.yaml: entry 'nginx': repository 'nginx' is not written in canonical form, with its \
             registry and full path: write 'docker.io/library/nginx'"
                .to_string(),
        ),
        (
            "no digest for a digest-strategy image",
            "version: 1\nimages:\n  web=apps.test/team/web: {tag: 1.0.0}\n  worker=apps.test/team/worker: {tag: \
             latest}\n"
                .to_string(),
            "image-resolver.lock.yaml entry 'worker=apps.test/team/worker' has no digest, which its policy \
             (strategy digest, tracking 'latest') renders with the tag: add the digest the tag named when it was \
             resolved, or take the entry out to resolve the image from its registry"
                .to_string(),
        ),
    ] {
        let repo = Repo::new(&[
            ("apps/web/deployment.yaml", DEPLOYMENT),
            ("apps/web/image-resolver.lock.yaml", &lock),
        ]);
        let output = sidecar.generate(&repo, &app).await;
        assert_eq!(output.status.code(), Some(2), "{name}: {}", output.stderr);
        assert_eq!(output.stdout, "", "{name}: nothing rendered");
        assert_eq!(
            output.stderr,
            format!("argocd-image-resolver: application team-a_web: {want}\n"),
            "{name}"
        );
    }

    // A lock file that is a symlink out of the repository is never read.
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("lock.yaml"), lock_file()).unwrap();
    let repo = Repo::new(&[("apps/web/deployment.yaml", DEPLOYMENT)]);
    std::os::unix::fs::symlink(
        outside.path().join("lock.yaml"),
        repo.path().join("apps/web/image-resolver.lock.yaml"),
    )
    .unwrap();
    let output = sidecar.manifest_request(&repo, &app).await;
    assert_eq!(output.status.code(), Some(2), "{}", output.stderr);
    assert_eq!(output.stdout, "");
    assert!(
        output
            .stderr
            .contains("apps/web/image-resolver.lock.yaml points outside"),
        "{}",
        output.stderr
    );
}
