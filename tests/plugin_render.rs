//! The plugin driven as argocd-cmp-server drives it, one test per kind of application: Kustomize (with an
//! `images:` override), a Helm chart (values files, `--set`, `.Capabilities`, a `file://` dependency built by
//! `init`), a plain directory of YAML and JSON, and Argo CD's own install manifest. Real registry, real
//! `kubectl kustomize`, real helm.

mod fixtures;
mod plugin_support;
mod support;

use std::process::Command;

use plugin_support::{
    Application, RESOLVED, Repo, Sidecar, annotated, documents, helm_repo, images,
    only_images_and_annotations, resolved_entries, shop_registry,
};
use support::TestRegistry;

const KUSTOMIZE_BASE: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  annotations:
    argocd-image-updater.argoproj.io/image-list: web=apps.test/team/web:~1, worker=apps.test/team/worker
    argocd-image-updater.argoproj.io/worker.update-strategy: alphabetical
    argocd-image-updater.argoproj.io/worker.allow-tags: regexp:^\d{4}\.\d{2}\.\d{2}$
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      initContainers:
      - name: migrate
        image: team-web
      containers:
      - name: web
        image: team-web   # a placeholder the overlay's images: replaces
      - name: worker
        image: apps.test/team/worker:2023.12.01
      - name: proxy
        image: nginx:1.27
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports:
  - port: 80
"#;

/// The overlay at the app's path renames the placeholder and sets both tags, as teams do.
const KUSTOMIZE_OVERLAY: &str = r#"namespace: shop
resources:
- ../../base
images:
- name: team-web
  newName: apps.test/team/web
  newTag: 1.0.0
- name: apps.test/team/worker
  newTag: "2024.01.01"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kustomize_images_override_is_resolved_in_the_rendered_output() {
    let registry = shop_registry().await;
    let sidecar = Sidecar::new(&[("apps.test", &registry)]);
    let repo = Repo::new(&[
        ("base/kustomization.yaml", "resources: [deployment.yaml]\n"),
        ("base/deployment.yaml", KUSTOMIZE_BASE),
        ("apps/shop/kustomization.yaml", KUSTOMIZE_OVERLAY),
    ]);
    let app = Application::new("shop", "apps/shop");

    let output = sidecar.generate(&repo, &app).await;
    let manifests = output.success();

    let kustomize = Command::new("kubectl")
        .args(["kustomize", "apps/shop"])
        .current_dir(repo.path())
        .output()
        .unwrap();
    assert!(kustomize.status.success());
    let plain = String::from_utf8(kustomize.stdout).unwrap();
    let (changed, inserted) = only_images_and_annotations(&plain, manifests);
    assert_eq!(
        changed,
        [
            ("apps.test/team/web:1.0.0", "apps.test/team/web:1.2.0"),
            (
                "apps.test/team/worker:2024.01.01",
                "apps.test/team/worker:2024.06.15"
            ),
            ("apps.test/team/web:1.0.0", "apps.test/team/web:1.2.0"),
        ]
        .map(|(a, b)| (a.to_string(), b.to_string())),
        "web follows ~1 without the pre-release, worker the last CalVer tag; nginx is not tracked"
    );
    assert_eq!(inserted.len(), 1, "one annotation line: {inserted:?}");

    // Structurally too: kustomize's output with the new images and the annotation is the plugin's output.
    let mut want = documents(&plain);
    let got = documents(manifests);
    let deployment = &mut want[1];
    for (list, index, image) in [
        ("containers", 0, "apps.test/team/web:1.2.0"),
        ("containers", 1, "apps.test/team/worker:2024.06.15"),
        ("initContainers", 0, "apps.test/team/web:1.2.0"),
    ] {
        deployment["spec"]["template"]["spec"][list][index]["image"] = image.into();
    }
    deployment["metadata"]["annotations"][RESOLVED] =
        got[1]["metadata"]["annotations"][RESOLVED].clone();
    assert_eq!(got, want);
    assert_eq!(
        resolved_entries(&got[1]),
        [
            serde_json::json!({"container": "web", "from": "apps.test/team/web:1.0.0",
                "image": "apps.test/team/web:1.2.0", "policy": "strategy semver, constraint '~1'",
                "decision": "registry"}),
            serde_json::json!({"container": "worker", "from": "apps.test/team/worker:2024.01.01",
                "image": "apps.test/team/worker:2024.06.15",
                "policy": r"strategy alphabetical, allow-tags 'regexp:^\d{4}\.\d{2}\.\d{2}$'",
                "decision": "registry"}),
            serde_json::json!({"container": "migrate", "from": "apps.test/team/web:1.0.0",
                "image": "apps.test/team/web:1.2.0", "policy": "strategy semver, constraint '~1'",
                "decision": "registry"}),
        ]
    );
    assert_eq!(output.stderr, "", "nothing to warn about");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn helm_chart_with_values_set_capabilities_and_a_file_dependency() {
    let registry = shop_registry().await;
    let sidecar = Sidecar::new(&[("apps.test", &registry)]);
    let repo = helm_repo();
    let mut app = Application::new("team-a_web", "apps/web")
        .array(
            "values-files",
            &["values-prod.yaml", "../../env/prod/web.yaml"],
        )
        // A comma inside a value is part of it, as with Argo CD's own Helm parameters.
        .map(
            "set",
            &[("tier", "canary,eu"), ("image.constraint", "~1.2")],
        );
    app.api_versions.push("monitoring.coreos.com/v1".into());

    let output = sidecar.generate(&repo, &app).await;
    let manifests = output.success();

    let docs = documents(manifests);
    assert_eq!(docs.len(), 1, "{manifests}");
    let deployment = &docs[0];
    let metadata = &deployment["metadata"];
    for (what, got, want) in [
        (
            "release name from ARGOCD_APP_NAME without its namespace",
            &metadata["name"],
            "web",
        ),
        ("namespace", &metadata["namespace"], "shop"),
        (
            "library chart built by init",
            &metadata["labels"]["app.kubernetes.io/name"],
            "web",
        ),
        (
            "KUBE_VERSION",
            &metadata["annotations"]["kube-version"],
            "v1.29.3",
        ),
        (
            "KUBE_API_VERSIONS",
            &metadata["annotations"]["prometheus"],
            "available",
        ),
        (
            "constraint from --set",
            &metadata["annotations"]["argocd-image-updater.argoproj.io/image-list"],
            "web=apps.test/team/web:~1.2",
        ),
        (
            "value from --set",
            &deployment["spec"]["template"]["spec"]["containers"][0]["env"][0]["value"],
            "canary,eu",
        ),
    ] {
        assert_eq!(got.as_str(), Some(want), "{what}");
    }
    assert_eq!(
        deployment["spec"]["replicas"].as_u64(),
        Some(3),
        "values files in order, the last one outside the chart but inside the repository"
    );
    assert_eq!(images(manifests), ["apps.test/team/web:1.2.0"]);
    assert!(
        manifests.contains("        image: \"apps.test/team/web:1.2.0\"\n"),
        "the quoted scalar stays quoted: {manifests}"
    );
    assert_eq!(
        resolved_entries(deployment),
        [
            serde_json::json!({"container": "web", "from": "apps.test/team/web:1.0.0",
            "image": "apps.test/team/web:1.2.0", "policy": "strategy semver, constraint '~1.2'",
            "decision": "registry"})
        ]
    );
    assert!(
        !repo.path().join("apps/web/charts").exists(),
        "init worked in the call's copy, not in the repository"
    );
}

const PLAIN_YAML: &str = r#"# The web tier. Its policy lives on the Deployment.
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  annotations:
    argocd-image-updater.argoproj.io/image-list: apps.test/team/web:^1
spec:
  template:
    spec:
      containers:
      - name: web
        image: 'apps.test/team/web:1.0.0'  # quoted, with a comment
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  image: apps.test/team/web:1.0.0
"#;

const PLAIN_JSON: &str = r#"{
  "apiVersion": "batch/v1",
  "kind": "CronJob",
  "metadata": {
    "name": "report",
    "annotations": {
      "argocd-image-updater.argoproj.io/image-list": "worker=apps.test/team/worker",
      "argocd-image-updater.argoproj.io/worker.update-strategy": "alphabetical",
      "argocd-image-updater.argoproj.io/worker.allow-tags": "regexp:^build-"
    }
  },
  "spec": {
    "schedule": "0 * * * *",
    "jobTemplate": {"spec": {"template": {"spec": {
      "restartPolicy": "Never",
      "containers": [{"name": "report", "image": "apps.test/team/worker:build-1"}]
    }}}}
  }
}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_directory_of_yaml_and_json() {
    let registry = shop_registry().await;
    let sidecar = Sidecar::new(&[("apps.test", &registry)]);
    let repo = Repo::new(&[
        ("apps/plain/a-web.yaml", PLAIN_YAML),
        ("apps/plain/b-report.json", PLAIN_JSON),
        ("apps/plain/README.md", "image: apps.test/team/web:0.1.0\n"),
        // Not read: Argo CD's directory apps read subdirectories only with recurse.
        ("apps/plain/old/web.yaml", PLAIN_YAML),
    ]);
    let app = Application::new("plain", "apps/plain");

    let output = sidecar.generate(&repo, &app).await;
    let manifests = output.success();

    let input = format!("{PLAIN_YAML}---\n{PLAIN_JSON}");
    let (changed, inserted) = only_images_and_annotations(&input, manifests);
    let want: Vec<(String, String)> = [
        ("apps.test/team/web:1.0.0", "apps.test/team/web:1.2.0"),
        (
            "apps.test/team/worker:build-1",
            "apps.test/team/worker:build-9",
        ),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(
        changed, want,
        "^1 keeps web below 2; worker takes the last build-* tag"
    );
    assert_eq!(inserted.len(), 2, "one annotation per object: {inserted:?}");
    assert_eq!(annotated(manifests), ["Deployment/web", "CronJob/report"]);
    assert!(
        manifests.contains("  image: apps.test/team/web:1.0.0\n"),
        "a ConfigMap value is no container image"
    );
    let json_part = manifests.split("\n---\n").nth(2).unwrap();
    let cronjob: serde_json::Value = serde_json::from_str(json_part).expect("JSON stays JSON");
    assert_eq!(
        cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["image"],
        "apps.test/team/worker:build-9"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn argocd_install_manifest_changes_only_in_its_images_and_annotations() {
    const TRACKED: &str = "quay.io/argoproj/argocd:";
    const RESOLVED_TO: &str = "quay.io/argoproj/argocd:v3.0.5";
    let registry = TestRegistry::plain().await;
    let tags = [
        "v2.14.3",
        "v3.0.0",
        "v3.0.5",
        "v3.0.6",
        "v3.1.0-rc1",
        "latest",
    ];
    plugin_support::push_tags(&registry, "argoproj/argocd", &tags).await;
    // quay.io/argoproj/… is served by the test registry, under the same repository path.
    let sidecar = Sidecar::new(&[("quay.io/argoproj", &registry)]);
    for install in fixtures::install_manifests() {
        let case = install.name;
        let repo = Repo::new(&[("argocd/install.yaml", &install.text)]);
        let app = Application::new("argocd", "argocd")
            .string("image-list", "argocd=quay.io/argoproj/argocd:~3.0")
            // A release withdrawn after a bad rollout.
            .map("policy", &[("argocd.ignore-tags", "v3.0.6")]);

        let output = sidecar.generate(&repo, &app).await;
        let manifests = output.success();

        // The images of the tracked repository (the fixtures write each on a line of its own, as the line diff
        // needs).
        let tracked: Vec<_> = install
            .want
            .images
            .iter()
            .filter(|i| i.value.starts_with(TRACKED))
            .collect();
        let (changed, inserted) = only_images_and_annotations(&install.text, manifests);
        let want: Vec<(String, String)> = tracked
            .iter()
            .map(|i| (i.value.clone(), RESOLVED_TO.to_owned()))
            .collect();
        assert_eq!(changed, want, "{case}");
        let mut want_objects: Vec<String> = tracked
            .iter()
            .map(|i| format!("{}/{}", i.kind, i.name))
            .collect();
        want_objects.dedup();
        let objects = annotated(manifests);
        assert_eq!(objects, want_objects, "{case}");
        assert_eq!(
            inserted.iter().filter(|l| l.contains(RESOLVED)).count(),
            objects.len(),
            "{case}: one annotation per object holding the image"
        );
        // Every other `image:` line as it was, the ones that only look like images included.
        let count = |lines: &[String], image: &str| lines.iter().filter(|i| *i == image).count();
        let (before, after) = (images(&install.text), images(manifests));
        let mut values = before.clone();
        values.sort();
        values.dedup();
        for image in values.iter().filter(|v| v.as_str() != RESOLVED_TO) {
            let resolved = tracked.iter().filter(|i| i.value == *image).count();
            assert_eq!(
                count(&after, image),
                count(&before, image) - resolved,
                "{case}: {image}: only the tracked images change"
            );
        }
        assert_eq!(
            count(&after, RESOLVED_TO),
            count(&before, RESOLVED_TO) + tracked.len(),
            "{case}: {RESOLVED_TO}"
        );
        assert_eq!(output.stderr, "", "{case}");
    }
}

/// The checks above rest on this diff: it must see each kind of change.
#[test]
fn the_line_diff_tells_image_changes_from_other_changes() {
    let input = "a: 1\n  image: x:1\nmetadata:\n  name: n\n";
    for (name, output, changed, inserted, removed) in [
        ("same", input.to_string(), vec![], vec![], vec![]),
        (
            "image",
            input.replace("x:1", "x:2"),
            vec![("  image: x:1", "  image: x:2")],
            vec![],
            vec![],
        ),
        (
            "other line",
            input.replace("a: 1", "a: 2"),
            vec![("a: 1", "a: 2")],
            vec![],
            vec![],
        ),
        (
            "inserted",
            input.replace("  name: n", "  annotations:\n    k: v\n  name: n"),
            vec![],
            vec!["  annotations:", "    k: v"],
            vec![],
        ),
        (
            "removed",
            input.replace("  name: n\n", ""),
            vec![],
            vec![],
            vec!["  name: n"],
        ),
    ] {
        let diff = plugin_support::line_diff(input, &output);
        let strings = |v: Vec<&str>| v.into_iter().map(String::from).collect::<Vec<_>>();
        let pairs: Vec<(String, String)> = changed
            .into_iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        assert_eq!(diff.changed, pairs, "{name}");
        assert_eq!(diff.inserted, strings(inserted), "{name}");
        assert_eq!(diff.removed, strings(removed), "{name}");
    }
    for (name, before, after, want) in [
        (
            "block",
            "  image: x:1",
            "  image: x:2",
            Some(("x:1", "x:2")),
        ),
        (
            "list item",
            "- image: x:1",
            "- image: x:2",
            Some(("x:1", "x:2")),
        ),
        (
            "quoted, comment",
            "  image: 'x:1'  # c",
            "  image: 'x:2'  # c",
            Some(("x:1", "x:2")),
        ),
        (
            "json",
            r#""image": "x:1","#,
            r#""image": "x:2","#,
            Some(("x:1", "x:2")),
        ),
        (
            "flow",
            "{name: a, image: x:1}",
            "{name: a, image: x:2}",
            Some(("x:1", "x:2")),
        ),
        (
            "comment changed too",
            "  image: x:1  # a",
            "  image: x:2  # b",
            None,
        ),
        ("not an image field", "  name: x:1", "  name: x:2", None),
        (
            "an image-like key",
            "  myimage: x:1",
            "  myimage: x:2",
            None,
        ),
    ] {
        assert_eq!(plugin_support::image_change(before, after), want, "{name}");
    }
}

/// Issue 9, item 8: each file of a plain directory is its own stream to Argo CD, so each may start with a UTF-8
/// byte order mark, not only the first. The joined stream drops them (a mark inside a stream is no YAML), and
/// changes nothing else but the images and annotations.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_directory_files_may_each_start_with_a_byte_order_mark() {
    let registry = shop_registry().await;
    let sidecar = Sidecar::new(&[("apps.test", &registry)]);
    let bom = "\u{feff}";
    let repo = Repo::new(&[
        ("apps/plain/a-web.yaml", &format!("{bom}{PLAIN_YAML}")),
        ("apps/plain/b-report.json", &format!("{bom}{PLAIN_JSON}")),
        ("apps/plain/c-blank.yaml", &format!("{bom}\n")),
    ]);
    let app = Application::new("plain", "apps/plain");

    let output = sidecar.generate(&repo, &app).await;
    let manifests = output.success();

    assert!(!manifests.contains(bom), "{manifests:?}");
    let input = format!("{PLAIN_YAML}---\n{PLAIN_JSON}");
    let (changed, _) = only_images_and_annotations(&input, manifests);
    assert_eq!(changed.len(), 2, "{changed:?}");
    assert_eq!(annotated(manifests), ["Deployment/web", "CronJob/report"]);
}
