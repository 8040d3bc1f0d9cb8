//! Hostile Applications (issue 9): the author of an Application is not the operator of the sidecar. Whatever an
//! Application sets (parameters, destination namespace, kube version, API versions) and whatever its repository
//! holds must not run a program in the sidecar, write files outside the call's working directory, or read files
//! outside the repository. Driven as argocd-cmp-server drives the plugin, with the real helm and kustomize.

mod plugin_support;
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

/// `stderr` with the call's working directory (a fresh `cmp-server-*` directory in the sidecar's temp dir) written
/// `WORKDIR`.
fn mask_workdir(sidecar: &Sidecar, stderr: &str) -> String {
    let prefix = format!("{}/cmp-server-", sidecar.tmp_dir().display());
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

/// The chart of [`chart_repo`], also showing what it reads through `.Files`, its description and a subchart's.
const LEAKY_TEMPLATE: &str = r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}
data:
  tok: {{ .Files.Get "files/tok" | quote }}
  conf: {{ range $path, $_ := .Files.Glob "conf/*" }}{{ $.Files.Get $path | quote }}{{ end }}
  x: {{ .Values.x | quote }}
  description: {{ .Chart.Description | quote }}
"#;

/// Files outside the repository that a hostile chart tries to read: each holds `s3cr3t`.
fn outside_files(dir: &Path) {
    let chart = "apiVersion: v2\nname: dep\nversion: 0.1.0\ndescription: s3cr3t-chart\n";
    for (path, content) in [
        ("tok", "s3cr3t-token"),
        ("conf/a.conf", "s3cr3t-conf"),
        (
            "leak.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: leak\ndata:\n  x: s3cr3t-template\n",
        ),
        ("values.yaml", "x: s3cr3t-values\n"),
        ("Chart.yaml", chart),
        ("dep/Chart.yaml", chart),
        (
            "dep/templates/cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: dep\ndata:\n  x: s3cr3t-subchart\n",
        ),
    ] {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }
}

/// A relative link target that climbs to `/` from any depth, then descends to `absolute`.
fn climbing(absolute: &Path) -> String {
    format!(
        "{}{}",
        "../".repeat(40),
        absolute.display().to_string().trim_start_matches('/')
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn symlinks_never_lead_out_of_the_repository() {
    let sidecar = Sidecar::with_urls(&[]);
    let outside = tempfile::tempdir().unwrap();
    outside_files(outside.path());
    let out = |p: &str| outside.path().join(p).display().to_string();
    // Outside the call's working directory, but a sibling of it: reached through a link inside the repository.
    std::fs::write(sidecar.tmp_dir().join("next-door"), "s3cr3t-next-door").unwrap();
    let refused = |link: &str| {
        Err(format!(
            "argocd-image-resolver: application web: symlink {link} points outside WORKDIR: an application may only \
             use files of its own repository; replace the link with a copy of what it points to\n"
        ))
    };

    type Case<'a> = (
        &'a str,
        &'a str,
        Vec<(&'a str, String)>,
        Result<&'a str, String>,
    );
    let cases: Vec<Case> = vec![
        (
            "Files.Get through an absolute link",
            "apps/web",
            vec![("apps/web/files/tok", out("tok"))],
            refused("apps/web/files/tok"),
        ),
        (
            "Files.Get through a relative link",
            "apps/web",
            vec![("apps/web/files/tok", climbing(&outside.path().join("tok")))],
            refused("apps/web/files/tok"),
        ),
        (
            "Files.Glob over a linked directory",
            "apps/web",
            vec![("apps/web/conf", out("conf"))],
            refused("apps/web/conf"),
        ),
        (
            "linked template",
            "apps/web",
            vec![("apps/web/templates/leak.yaml", out("leak.yaml"))],
            refused("apps/web/templates/leak.yaml"),
        ),
        (
            "linked values.yaml",
            "apps/web",
            vec![("apps/web/values.yaml", out("values.yaml"))],
            refused("apps/web/values.yaml"),
        ),
        (
            "linked Chart.yaml",
            "apps/web",
            vec![("apps/web/Chart.yaml", out("Chart.yaml"))],
            refused("apps/web/Chart.yaml"),
        ),
        (
            "linked subchart in charts/",
            "apps/web",
            vec![("apps/web/charts/dep", out("dep"))],
            refused("apps/web/charts/dep"),
        ),
        // Argo CD's lexical check lets this through: `s/..` is `files` as text, but the repository's parent on disk.
        (
            "out through another link's parent",
            "apps/web",
            vec![
                ("apps/web/files/s", "../../..".into()),
                ("apps/web/files/tok", "s/../next-door".into()),
            ],
            refused("apps/web/files/tok"),
        ),
        (
            "link elsewhere in the repository, as Argo CD refuses",
            "apps/web",
            vec![("apps/other/tok", out("tok"))],
            refused("apps/other/tok"),
        ),
        (
            "kustomize resource",
            "apps/kust",
            vec![("apps/kust/leak.yaml", out("leak.yaml"))],
            refused("apps/kust/leak.yaml"),
        ),
        (
            "link inside the repository is followed",
            "apps/web",
            vec![("apps/web/files/tok", "../../../shared/tok".into())],
            Ok("tok: \"shared-token\"\n"),
        ),
        (
            // Judged by its text (inside), as it reads nothing; helm itself refuses one in a chart.
            "dangling link elsewhere in the repository",
            "apps/web",
            vec![("apps/other/dangling", "../missing".into())],
            Ok("x: \"from-values\"\n"),
        ),
    ];
    for (name, path, links, want) in cases {
        let repo = chart_repo();
        repo.write(&[
            ("apps/web/templates/cm.yaml", LEAKY_TEMPLATE),
            ("shared/tok", "shared-token"),
            ("apps/kust/kustomization.yaml", "resources: [leak.yaml]\n"),
        ]);
        for (link, target) in &links {
            let link = repo.path().join(link);
            std::fs::create_dir_all(link.parent().unwrap()).unwrap();
            let _ = std::fs::remove_file(&link);
            std::os::unix::fs::symlink(target, &link).unwrap();
        }
        let run = sidecar
            .manifest_request(&repo, &Application::new("web", path))
            .await;
        assert!(
            !run.stdout.contains("s3cr3t"),
            "case {name}: leaked {}",
            run.stdout
        );
        assert!(
            !run.stderr.contains("s3cr3t"),
            "case {name}: leaked {}",
            run.stderr
        );
        match want {
            Ok(want) => assert!(run.success().contains(want), "case {name}: {}", run.stdout),
            Err(want) => {
                assert_eq!(run.status.code(), Some(INVALID), "case {name}: {run:?}");
                assert_eq!(mask_workdir(&sidecar, &run.stderr), want, "case {name}");
            }
        }
    }
}

/// `init` builds a chart's `file://` dependencies into `charts/`: one outside the repository would bring its
/// files (and whatever its templates read) into the output.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chart_dependencies_stay_inside_the_repository() {
    let sidecar = Sidecar::with_urls(&[]);
    let outside = tempfile::tempdir().unwrap();
    outside_files(outside.path());
    let dep = outside.path().join("dep");
    let repo = chart_repo();
    repo.write(&[(
        "charts/lib/Chart.yaml",
        "apiVersion: v2\nname: lib\nversion: 0.1.0\n",
    )]);
    let chart = |repository: &str| {
        format!(
            "apiVersion: v2\nname: web\nversion: 0.1.0\ndependencies:\n- name: dep\n  version: 0.1.0\n  repository: {repository}\n"
        )
    };
    let relative = climbing(&dep);
    let cases = [
        (
            "absolute file:// outside",
            format!("file://{}", dep.display()),
            Some(format!("file://{}", dep.display())),
        ),
        (
            "relative file:// climbing out",
            format!("file://{relative}"),
            Some(format!("file://{relative}")),
        ),
    ];
    for (name, repository, refused) in cases {
        repo.write(&[("apps/web/Chart.yaml", chart(&repository).as_str())]);
        let run = sidecar
            .manifest_request(&repo, &Application::new("web", "apps/web"))
            .await;
        assert!(
            !run.stdout.contains("s3cr3t"),
            "case {name}: leaked {}",
            run.stdout
        );
        if let Some(repository) = refused {
            assert_eq!(run.status.code(), Some(INVALID), "case {name}: {run:?}");
            assert_eq!(
                mask_workdir(&sidecar, &run.stderr),
                format!(
                    "argocd-image-resolver: application web: dependency dep of WORKDIR/apps/web/Chart.yaml has \
                     repository '{repository}', outside WORKDIR: a chart may only depend on charts of its own \
                     repository (file://) or on chart repositories\n"
                ),
                "case {name}"
            );
        }
    }
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

/// Regression (review of issue 9): the repository root was the working directory minus as many directories as
/// `ARGOCD_APP_SOURCE_PATH` has names, but that path is the Application's `spec.source.path` as written, while the
/// working directory is resolved. A `..` in the path (`x/../apps/web`) or a symlinked directory in it
/// (`x/apps/web` with `x -> .`) made the "repository" the sidecar's temp dir, so a values file (or a link) could
/// read a sibling of the call's working directory into the rendered output.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_source_path_never_widens_the_repository() {
    let sidecar = Sidecar::with_urls(&[]);
    std::fs::write(
        sidecar.tmp_dir().join("next-door.yaml"),
        "x: s3cr3t-next-door\n",
    )
    .unwrap();
    for (name, path) in [
        ("a '..' in spec.source.path", "x/../apps/web"),
        ("a symlinked directory in spec.source.path", "up/apps/web"),
    ] {
        let repo = chart_repo();
        repo.write(&[("x/keep", "")]);
        std::os::unix::fs::symlink(".", repo.path().join("up")).unwrap();
        let app = Application::new("web", path).array("values-files", &["../../../next-door.yaml"]);
        let output = sidecar.manifest_request(&repo, &app).await;
        assert!(
            !output.stdout.contains("s3cr3t"),
            "{name}: {}",
            output.stdout
        );
        assert_eq!(
            output.status.code(),
            Some(INVALID),
            "{name}: {}",
            output.stderr
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

/// Regression (review of issue 9): a values file was judged by its lexically normalised path, but helm opens the
/// path as written, where the kernel resolves each `..` after the symlink before it. With `r` a link to the
/// repository root (allowed: it resolves inside) nested `n` directories deep, `r/` followed by `n` `..` is the
/// repository root to the check and `n` levels above it to helm, so a values file reached any absolute path (a
/// decoy at the same path inside the repository satisfies the existence check). Every namespace's mounted pull
/// secret is a JSON map, which a chart prints with `toJson .Values`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn values_files_are_judged_where_helm_opens_them() {
    let sidecar = Sidecar::with_urls(&[]);
    let outside = tempfile::tempdir().unwrap();
    let secret = outside.path().join("dockerconfig.json");
    std::fs::write(&secret, r#"{"auths":{"reg.test":{"auth":"s3cr3t"}}}"#).unwrap();
    let relative = secret
        .display()
        .to_string()
        .trim_start_matches('/')
        .to_string();
    let depth = 40;
    let nest = "d/".repeat(depth - 1);
    let repo = Repo::new(&[
        (
            "apps/web/Chart.yaml",
            "apiVersion: v2\nname: web\nversion: 0.1.0\n",
        ),
        (
            "apps/web/templates/cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: leak\ndata:\n  x: {{ toJson .Values | quote }}\n",
        ),
        (&relative, "{}\n"),
        (&format!("{nest}keep"), ""),
    ]);
    std::os::unix::fs::symlink(
        "../".repeat(depth - 1),
        repo.path().join(format!("{nest}r")),
    )
    .unwrap();
    let value = format!("../../{nest}r/{}{relative}", "../".repeat(depth));
    let app = Application::new("web", "apps/web").array("values-files", &[value.as_str()]);
    let output = sidecar.manifest_request(&repo, &app).await;
    assert!(!output.stdout.contains("s3cr3t"), "{}", output.stdout);
    assert_eq!(output.status.code(), Some(INVALID), "{}", output.stderr);
}
