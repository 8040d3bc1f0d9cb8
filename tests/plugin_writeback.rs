//! Write-back through the plugin's commands, as Argo CD runs them: argocd-image-updater's leftover
//! `.argocd-source-<app>.yaml` fails `generate` (exit 2) and is a warning in `explain`, each saying what to delete;
//! the write-back keys are read, refused when invalid, and shown by `explain`; with a source target
//! (`kustomization`, `helmvalues`), `generate` renders the source as written and asks no registry.

mod plugin_support;
mod support;

use std::process::Command;

use plugin_support::{
    Application, BIN, Repo, Sidecar, documents, resolved_entries, unreachable_url,
};
use serde_json::{Value, json};

/// A plain application with one image and no policy: nothing here asks a registry.
const DEPLOYMENT: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
      - name: web
        image: nginx:1.27
";

const KUSTOMIZE_LEFTOVER: &str = "kustomize:\n  images:\n  - nginx:1.27.1\n";

fn repo(extra: &[(&str, &str)]) -> Repo {
    let repo = Repo::new(&[("apps/web/deployment.yaml", DEPLOYMENT)]);
    repo.write(extra);
    repo
}

/// `explain -o json` in the application's directory, with what Argo CD sets for `generate`.
fn explain(repo: &Repo, app: &Application) -> (i32, Value, String) {
    let home = tempfile::tempdir().unwrap();
    let output = Command::new(BIN)
        .args(["explain", "-o", "json"])
        .current_dir(repo.path().join(&app.path))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .env("IMAGE_RESOLVER_CACHE_DIR", home.path().join("cache"))
        .envs(app.generate_vars())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let report = serde_json::from_slice(&output.stdout).unwrap_or(Value::Null);
    (output.status.code().unwrap_or(-1), report, stderr)
}

#[tokio::test]
async fn leftover_override_files_fail_generate_and_warn_in_explain() {
    let sidecar = Sidecar::with_urls(&[]);
    let app = Application::new("web", "apps/web");
    let message = ".argocd-source-web.yaml (argocd-image-updater's git write-back file) has a kustomize: block, \
                   which Argo CD merges into the Application's source: beside the plugin that makes two source \
                   types, and Argo CD refuses to render (\"multiple application sources defined\"); delete \
                   .argocd-source-web.yaml, or keep only its plugin: block. With write-back-method: git this plugin \
                   records tags itself, in image-resolver.lock.yaml or in the kustomization or values file \
                   write-back-target names";

    let leftover = repo(&[("apps/web/.argocd-source-web.yaml", KUSTOMIZE_LEFTOVER)]);
    let run = sidecar.manifest_request(&leftover, &app).await;
    assert_eq!(run.status.code(), Some(2), "{}", run.stderr);
    assert!(run.stdout.is_empty(), "nothing rendered: {}", run.stdout);
    assert!(
        run.stderr.contains(&format!("application web: {message}")),
        "{}",
        run.stderr
    );

    let (code, report, stderr) = explain(&leftover, &app);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(report["warnings"], json!([message]));

    for (name, files) in [
        (
            "a plugin block only: Argo CD merges it into the plugin source",
            vec![(
                "apps/web/.argocd-source-web.yaml",
                "plugin:\n  env:\n  - name: WEB_PIN\n    value: 1.27.1\n",
            )],
        ),
        (
            "another application's file",
            vec![("apps/web/.argocd-source-api.yaml", KUSTOMIZE_LEFTOVER)],
        ),
        ("no file", vec![]),
    ] {
        let run = sidecar.manifest_request(&repo(&files), &app).await;
        assert!(run.status.success(), "{name}: {}", run.stderr);
        assert!(run.stdout.contains("image: nginx:1.27\n"), "{name}");
    }

    let shared = repo(&[("apps/web/.argocd-source.yaml", "helm:\n  parameters: []\n")]);
    let run = sidecar.manifest_request(&shared, &app).await;
    assert_eq!(run.status.code(), Some(2), "{}", run.stderr);
    assert!(
        run.stderr.contains(
            ".argocd-source.yaml (argocd-image-updater's git write-back file) has a helm: block"
        ),
        "{}",
        run.stderr
    );
}

#[tokio::test]
async fn write_back_keys_are_read_validated_and_explained() {
    let sidecar = Sidecar::with_urls(&[]);
    let source = repo(&[]);
    let app = Application::new("web", "apps/web")
        .string("write-back-method", "git:secret:shop/git-creds")
        .string("write-back-target", "kustomization:../base")
        .env("GIT_BRANCH", "main:image-updater-{{.SHA256}}");

    let run = sidecar.manifest_request(&source, &app).await;
    assert!(run.status.success(), "{}", run.stderr);
    let (code, report, stderr) = explain(&source, &app);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        report["write_back"],
        json!({
            "method": "git",
            "summary": "git: the images of the kustomization in ../base; branch main, pushed to branch \
                        image-updater-{{.SHA256}}; repository of the Application's source; credentials: secret \
                        shop/git-creds",
            "tags": "source",
            "tags_summary": "as written in the source: generate renders tracked images as the source writes \
                             them, no registry asked; the committer writes new tags to the images of the \
                             kustomization in ../base",
            "target": {"kind": "kustomization", "path": "../base"},
            "base_branch": "main",
            "write_branch": "image-updater-{{.SHA256}}",
            "repository": null,
            "credentials": {"kind": "secret", "namespace": "shop", "name": "git-creds"},
            "origins": [
                {"key": "write-back-method", "value": "git:secret:shop/git-creds", "source": "parameter",
                 "name": "write-back-method"},
                {"key": "write-back-target", "value": "kustomization:../base", "source": "parameter",
                 "name": "write-back-target"},
                {"key": "git-branch", "value": "main:image-updater-{{.SHA256}}", "source": "env",
                 "name": "ARGOCD_ENV_GIT_BRANCH"},
            ],
            // No git history here (a directory outside any repository, as in the sidecar).
            "taken_back": [],
        })
    );

    for (name, app, want) in [
        (
            "a typo in the method",
            Application::new("web", "apps/web").string("write-back-method", "gti"),
            "application web: parameter write-back-method = 'gti': unknown write-back method; use 'argocd'",
        ),
        (
            "a parameter-override file as the target",
            Application::new("web", "apps/web")
                .env("write-back-target", ".argocd-source-web.yaml")
                .string("write-back-method", "git"),
            "application web: env ARGOCD_ENV_write-back-target = '.argocd-source-web.yaml': unknown write-back \
             target",
        ),
        (
            "git credentials of another namespace",
            Application::new("web", "apps/web")
                .string("write-back-method", "git:secret:other/creds"),
            "application web: parameter write-back-method = 'git:secret:other/creds': the git credentials are in \
             namespace other, but an application deploying to namespace shop may only use secrets of shop",
        ),
        (
            "a values path",
            Application::new("web", "apps/web")
                .string("image-list", "web=nginx")
                .string("web.helm.image-tag", "image.[0]"),
            "application web: parameter web.helm.image-tag = 'image.[0]': 'image.[0]' is not a values path",
        ),
    ] {
        let run = sidecar.manifest_request(&source, &app).await;
        assert_eq!(run.status.code(), Some(2), "{name}: {}", run.stderr);
        assert!(run.stderr.contains(want), "{name}: {}", run.stderr);
    }
}

/// The source's kustomization sets the tags (one with a digest); the committer edits them there.
const KUSTOMIZATION: &str = "resources:\n- deployment.yaml\nimages:\n- name: apps.test/team/web\n  newTag: 1.0.0\n\
- name: apps.test/team/worker\n  newTag: \"2.0\"\n  digest: sha256:0f3a5e8b7c2d4f6a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a\n";

/// Two containers whose tags the kustomization sets; an annotation of its own, so that the resolver's is one line.
const KUSTOMIZED: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  annotations:
    team: shop
spec:
  template:
    spec:
      containers:
      - name: web
        image: apps.test/team/web
      - name: worker
        image: apps.test/team/worker
";

/// Source write-back (issue 12): with `write-back-method: git` and a `write-back-target` of the kustomization,
/// `generate` renders each tracked image as the kustomization writes it, with no registry request — the registry
/// here is a closed port, and nothing is in the cache — and the output is the source's render to the byte, plus
/// the resolver's annotation; `explain` says so per image and in its write-back section.
#[tokio::test]
async fn a_source_target_renders_the_source_as_written_asking_no_registry() {
    let sidecar = Sidecar::with_urls(&[("apps.test", unreachable_url())]);
    let source = Repo::new(&[
        ("apps/web/kustomization.yaml", KUSTOMIZATION),
        ("apps/web/deployment.yaml", KUSTOMIZED),
    ]);
    let untracked = Application::new("web", "apps/web");
    let app = Application::new("web", "apps/web")
        .string(
            "image-list",
            "web=apps.test/team/web:~1.0, worker=apps.test/team/worker",
        )
        .string("write-back-method", "git")
        .string("write-back-target", "kustomization");

    let plain = sidecar.manifest_request(&source, &untracked).await;
    let plain = plain.success().to_string();
    let run = sidecar.manifest_request(&source, &app).await;
    assert_eq!(run.stderr, "", "no warning, no registry error");
    let manifests = run.success();
    let without_annotation: String = manifests
        .split_inclusive('\n')
        .filter(|line| !line.contains("argocd-image-resolver/images:"))
        .collect();
    assert_eq!(
        without_annotation, plain,
        "the source's render to the byte, plus the annotation"
    );
    let entries = resolved_entries(&documents(manifests)[0]);
    let decided: Vec<(&str, &str)> = entries
        .iter()
        .map(|e| {
            (
                e["image"].as_str().unwrap(),
                e["decision"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        decided,
        [
            ("apps.test/team/web:1.0.0", "source"),
            (
                "apps.test/team/worker:2.0@sha256:0f3a5e8b7c2d4f6a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a",
                "source"
            ),
        ]
    );

    let (code, report, stderr) = explain(&source, &app);
    assert_eq!(code, 0, "{stderr}");
    let statuses: Vec<&Value> = (0..2).map(|i| &report["images"][i]["status"]).collect();
    assert_eq!(statuses, [&json!("source"), &json!("source")]);
    assert_eq!(report["images"][0]["tracked"]["resolution"], Value::Null);
    assert_eq!(report["write_back"]["tags"], json!("source"));
    assert_eq!(
        report["write_back"]["tags_summary"],
        json!(
            "as written in the source: generate renders tracked images as the source writes them, no registry \
             asked; the committer writes new tags to the images of the kustomization in the application's directory"
        )
    );

    // Without the target, the lock file is the target: the images are resolved, and the closed port fails them.
    let lock_target = Application::new("web", "apps/web")
        .string("image-list", "web=apps.test/team/web:~1.0")
        .string("write-back-method", "git");
    let run = sidecar.manifest_request(&source, &lock_target).await;
    assert_ne!(run.status.code(), Some(0), "{}", run.stderr);
    assert!(run.stderr.contains("apps.test/team/web"), "{}", run.stderr);
}
