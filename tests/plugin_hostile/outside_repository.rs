//! Files outside the repository: reached through symlinks, chart dependencies, the source path, or values files.

use std::path::Path;

use crate::plugin_support::{Application, Repo, Sidecar};
use crate::{INVALID, chart_repo, mask_workdir};

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
    std::fs::write(sidecar.cmp_work_dir().join("next-door"), "s3cr3t-next-door").unwrap();
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

/// Regression (review of issue 9): the repository root was the working directory minus as many directories as
/// `ARGOCD_APP_SOURCE_PATH` has names, but that path is the Application's `spec.source.path` as written, while the
/// working directory is resolved. A `..` in the path (`x/../apps/web`) or a symlinked directory in it
/// (`x/apps/web` with `x -> .`) made the "repository" the sidecar's temp dir, so a values file (or a link) could
/// read a sibling of the call's working directory into the rendered output.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_source_path_never_widens_the_repository() {
    let sidecar = Sidecar::with_urls(&[]);
    std::fs::write(
        sidecar.cmp_work_dir().join("next-door.yaml"),
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

/// Regression (issue 11, item 5): with `reposerver.plugin.use.manifest.generate.paths` Argo CD sends only the common
/// root of the app's path and its `manifest-generate-paths` (here `apps/`), while `ARGOCD_APP_SOURCE_PATH` stays
/// `apps/web`. The root was the working directory less the names it shares with that path, so where the directory
/// the part is unpacked into bears the part's name it climbed above what was sent, and a values file read a sibling
/// of the call's directory. What Argo CD sent is still the application's to read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_what_argo_cd_sent_is_the_repository() {
    let sidecar = Sidecar::with_urls(&[]);
    std::fs::write(
        sidecar.cmp_work_dir().join("secret.yaml"),
        "x: s3cr3t-next-door\n",
    )
    .unwrap();
    let repo = chart_repo();
    repo.write(&[
        ("apps/shared.yaml", "x: from-apps\n"),
        ("top.yaml", "x: from-the-top\n"),
    ]);
    let outside = Err(
        "argocd-image-resolver: application web: parameter values-files: values file '../../secret.yaml' is \
         outside WORKDIR: values files must stay inside the repository\n",
    );
    for (name, sent, unpacked_as, values_file, want) in [
        (
            "the whole repository: a file of it",
            "",
            "apps",
            "../../top.yaml",
            Ok("x: \"from-the-top\""),
        ),
        (
            "apps/ only: a file of it",
            "apps",
            "apps",
            "../shared.yaml",
            Ok("x: \"from-apps\""),
        ),
        (
            "apps/ only, unpacked under its own name: above it",
            "apps",
            "apps",
            "../../secret.yaml",
            outside,
        ),
        (
            "apps/ only: above it",
            "apps",
            "3f2a9c",
            "../../secret.yaml",
            outside,
        ),
    ] {
        let app = Application::new("web", "apps/web").array("values-files", &[values_file]);
        let run = sidecar
            .manifest_request_of_part(&repo, &app, sent, unpacked_as)
            .await;
        assert!(
            !run.stdout.contains("s3cr3t"),
            "case {name}: leaked {}",
            run.stdout
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
