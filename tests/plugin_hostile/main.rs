//! Hostile Applications (issue 9): the author of an Application is not the operator of the sidecar. Whatever an
//! Application sets (parameters, destination namespace, kube version, API versions) and whatever its repository
//! holds must not run a program in the sidecar, write files outside the call's working directory, or read files
//! outside the repository. Driven as argocd-cmp-server drives the plugin, with the real helm and kustomize.

mod outside_repository;
#[path = "../plugin_support/mod.rs"]
mod plugin_support;
#[path = "../support/mod.rs"]
mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use axum::Router;
use plugin_support::{Application, Repo, Sidecar};
use support::MockServer;

/// A chart with no tracked image (so no registry is asked), showing its release name and a `--set` value.
fn chart_repo() -> Repo {
    Repo::new(&[
        (
            "apps/web/Chart.yaml",
            "apiVersion: v2\nname: web\nversion: 0.1.0\n",
        ),
        ("apps/web/values.yaml", "x: from-values\n"),
        (
            "apps/web/templates/cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndata:\n  x: {{ .Values.x | quote }}\n",
        ),
    ])
}

/// A post-renderer that would leave `marker` behind if helm ever ran it.
fn evil_script(dir: &Path, marker: &Path) -> String {
    let path = dir.join("evil.sh");
    std::fs::write(
        &path,
        format!("#!/bin/sh\ntouch '{}'\ncat\n", marker.display()),
    )
    .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path.display().to_string()
}

/// Exit 2 (invalid input), nothing on stdout, exactly `message` (one paragraph) on stderr.
const INVALID: i32 = 2;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_controlled_values_never_become_helm_flags() {
    let sidecar = Sidecar::with_urls(&[]);
    let repo = chart_repo();
    let tmp = tempfile::tempdir().unwrap();
    let marker = tmp.path().join("pwned");
    let script = evil_script(tmp.path(), &marker);
    let out_dir = tmp.path().join("written");
    let post = format!("--post-renderer={script}");
    let output = format!("--output-dir={}", out_dir.display());
    let base = || Application::new("web", "apps/web");
    let release = "parameter release-name: '{}' is not a Helm release name (at most 53 characters: lower-case \
                   letters, digits, '-' and '.', starting and ending with a letter or digit)";
    let invalid = |template: &str, value: &str| {
        Err(format!(
            "argocd-image-resolver: application web: {}\n",
            template.replace("{}", value)
        ))
    };

    type Case = (&'static str, Application, Result<&'static str, String>);
    let cases: Vec<Case> = vec![
        (
            "release-name runs a post-renderer",
            base().string("release-name", &post),
            invalid(release, &post),
        ),
        (
            "release-name writes files elsewhere",
            base().string("release-name", &output),
            invalid(release, &output),
        ),
        (
            "release-name too long for helm",
            base().string("release-name", &"a".repeat(54)),
            invalid(release, &"a".repeat(54)),
        ),
        (
            "release-name in upper case",
            base().string("release-name", "Web"),
            invalid(release, "Web"),
        ),
        (
            "release-name with a control character, shown escaped",
            base().string("release-name", "web\u{202e}x"),
            invalid(release, "web\\u{202e}x"),
        ),
        (
            "release-name with dots, as helm allows",
            base().string("release-name", "web.v2"),
            Ok("name: web.v2\n"),
        ),
        (
            "application name too long for a release",
            Application::new(&format!("team-a_{}", "w".repeat(54)), "apps/web"),
            Err(format!(
                "argocd-image-resolver: application team-a_{w}: ARGOCD_APP_NAME: '{w}' is not a Helm release name \
                 (at most 53 characters: lower-case letters, digits, '-' and '.', starting and ending with a letter \
                 or digit); set the release-name parameter\n",
                w = "w".repeat(54)
            )),
        ),
        (
            "destination namespace as a flag",
            Application {
                namespace: post.clone(),
                ..base()
            },
            invalid(
                "ARGOCD_APP_NAMESPACE: '{}' is not a Kubernetes namespace (at most 63 characters: lower-case \
                 letters, digits and '-', starting and ending with a letter or digit)",
                &post,
            ),
        ),
        (
            "kube version as a flag",
            Application {
                kube_version: output.clone(),
                ..base()
            },
            invalid(
                "KUBE_VERSION: '{}' is not a Kubernetes version such as 1.29.3, v1.30 or 1.28.4+k3s1",
                &output,
            ),
        ),
        (
            "API version as a flag",
            Application {
                api_versions: vec!["v1".into(), post.clone()],
                ..base()
            },
            invalid(
                "KUBE_API_VERSIONS: '{}' is not an API version such as v1, apps/v1 or apps/v1/Deployment",
                &post,
            ),
        ),
        (
            "values file as a flag",
            base().array("values-files", &[post.as_str()]),
            invalid(
                "parameter values-files: values file '{}' not found in WORKDIR/apps/web",
                &post,
            ),
        ),
        (
            "set key as a flag is only a key",
            base().map("set", &[("--post-renderer", script.as_str())]),
            Ok("x: \"from-values\"\n"),
        ),
        (
            "set value as a flag is only a value",
            base().map("set", &[("x", post.as_str())]),
            Ok("--post-renderer="),
        ),
        (
            "set-string value as a flag is only a value",
            base().map("set-string", &[("x", output.as_str())]),
            Ok("--output-dir="),
        ),
    ];
    for (name, app, want) in cases {
        let run = sidecar.manifest_request(&repo, &app).await;
        assert!(!marker.exists(), "case {name}: the post-renderer ran");
        assert!(
            !out_dir.exists(),
            "case {name}: helm wrote files to {}",
            out_dir.display()
        );
        match want {
            Ok(want) => {
                let manifests = run.success();
                assert!(manifests.contains(want), "case {name}: {manifests}");
            }
            Err(want) => {
                assert_eq!(run.status.code(), Some(INVALID), "case {name}: {run:?}");
                assert_eq!(run.stdout, "", "case {name}");
                let stderr = mask_workdir(&sidecar, &run.stderr);
                assert_eq!(stderr, want, "case {name}");
            }
        }
    }
}

/// `stderr` with the call's working directory (a fresh `_cmp_server/*` directory in the sidecar's temp dir) written
/// `WORKDIR`.
fn mask_workdir(sidecar: &Sidecar, stderr: &str) -> String {
    let prefix = format!("{}/", sidecar.cmp_work_dir().display());
    let mut out = String::new();
    let mut rest = stderr;
    while let Some(at) = rest.find(&prefix) {
        out.push_str(&rest[..at]);
        out.push_str("WORKDIR");
        rest = &rest[at + prefix.len()..];
        rest = rest.trim_start_matches(|c: char| c.is_ascii_alphanumeric());
    }
    out.push_str(rest);
    out
}

/// helm reads a values file named like a URL from the network: a repository holding a file at
/// `http:/127.0.0.1:PORT/v.yaml` would pass the inside-the-repository check and then make helm fetch from any
/// address the sidecar reaches (a metadata server, an internal service). The values file must be read from the
/// repository. An in-process server stands in for such an address: what matters is whether anything connects.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn values_files_are_never_fetched_from_the_network() {
    let server =
        MockServer::start(Router::new().fallback(|| async { "x: from-the-network\n" })).await;
    let sidecar = Sidecar::with_urls(&[]);
    let repo = chart_repo();
    let addr = server.addr.to_string();
    let local = format!("apps/web/http:/{addr}/v.yaml");
    repo.write(&[(local.as_str(), "x: from-the-repository\n")]);
    let url = format!("http://{addr}/v.yaml");
    let app = Application::new("web", "apps/web").array("values-files", &[url.as_str()]);

    let run = sidecar.manifest_request(&repo, &app).await;

    assert_eq!(server.seen().len(), 0, "helm fetched the values file");
    assert!(
        run.success().contains("x: \"from-the-repository\"\n"),
        "{}",
        run.stdout
    );
}

/// Issue 9, item 10: the operator bounds what a render may produce (`IMAGE_RESOLVER_MAX_MANIFEST_SIZE`); an
/// Application cannot raise the bound through its plugin env, and the error says which option raises it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manifest_size_limit_is_the_operators() {
    let mut sidecar = Sidecar::with_urls(&[]);
    sidecar
        .env
        .push(("IMAGE_RESOLVER_MAX_MANIFEST_SIZE".into(), "4Ki".into()));
    let repo = chart_repo();
    repo.write(&[(
        "apps/web/templates/many.yaml",
        "{{ range until 500 }}---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{{ . }}\n{{ end }}",
    )]);
    let mut plain = String::new();
    for i in 0..500 {
        plain.push_str(&format!(
            "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{i}\n"
        ));
    }
    repo.write(&[("apps/plain/many.yaml", &plain)]);
    let command = "`helm template --namespace=shop --kube-version=1.29.3 --api-versions=v1 --api-versions=apps/v1 \
                   --api-versions=apps/v1/Deployment --api-versions=batch/v1 --include-crds -- web .`";
    let cases = [
        (
            "chart",
            Application::new("web", "apps/web"),
            format!("{command} printed more than 4Ki of manifests and was stopped"),
        ),
        (
            "chart, the Application asking for more",
            Application::new("web", "apps/web").env("IMAGE_RESOLVER_MAX_MANIFEST_SIZE", "1Gi"),
            format!("{command} printed more than 4Ki of manifests and was stopped"),
        ),
        (
            "plain directory",
            Application::new("web", "apps/plain"),
            format!(
                "the manifests in WORKDIR/apps/plain add up to {} bytes, more than the limit of 4Ki",
                plain.len()
            ),
        ),
    ];
    for (name, app, want) in cases {
        let run = sidecar.manifest_request(&repo, &app).await;
        assert_eq!(run.status.code(), Some(INVALID), "case {name}: {run:?}");
        assert_eq!(run.stdout, "", "case {name}");
        assert_eq!(
            mask_workdir(&sidecar, &run.stderr),
            format!(
                "argocd-image-resolver: application web: {want}: raise --max-manifest-size \
                 (IMAGE_RESOLVER_MAX_MANIFEST_SIZE) if the application really is that large\n"
            ),
            "case {name}"
        );
    }
}

/// Regression (review of issue 9): a policy value quoted in an error (`parameter web.pin = '…'`) was shown raw, so
/// a newline in it forged a line of its own in the Argo CD UI, and a value of any length was quoted whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policy_values_in_messages_are_escaped_and_cut() {
    let sidecar = Sidecar::with_urls(&[]);
    let repo = Repo::new(&[(
        "apps/web/deployment.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  annotations:\n    \
         argocd-image-updater.argoproj.io/image-list: web=reg.test/a\nspec:\n  template:\n    spec:\n      \
         containers:\n      - name: main\n        image: reg.test/a:1.0.0\n",
    )]);
    let long = "!".repeat(10_000);
    for (name, value) in [
        ("a forged line", "1\nargocd-image-resolver: all good"),
        ("a long value", long.as_str()),
    ] {
        let app = Application::new("web", "apps/web").string("web.pin", value);
        let output = sidecar.manifest_request(&repo, &app).await;
        assert_eq!(
            output.status.code(),
            Some(INVALID),
            "{name}: {}",
            output.stderr
        );
        assert_eq!(output.stdout, "", "{name}");
        assert_eq!(
            output.stderr.lines().count(),
            1,
            "{name}: {}",
            output.stderr
        );
        assert!(
            output.stderr.len() < 1000,
            "{name}: {} bytes",
            output.stderr.len()
        );
    }
}
