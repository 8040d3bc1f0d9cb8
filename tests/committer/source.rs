//! Source write-back, as argocd-image-updater users configure it (`write-back-method: git` with
//! `write-back-target: kustomization` or `helmvalues:<file>`): the committer edits the tag where the source
//! declares it, keeping every other byte, and a revert there sticks too (the history says so).

use std::path::PathBuf;

use crate::{Operator, Origin, deployment, push_tags, registry_with};

/// The seed's first policy: commit-SHA tags, newest build, `latest` ignored.
const KUSTOMIZATION: &str = "# prod overlay — owned by the shop team\napiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- deployment.yaml   # the app\n\nimages:\n  - name: apps.test/shop/web\n    newTag: \"0a1b2c3\"   # set by the committer\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kustomization_is_edited_in_place_with_the_newest_build() {
    let registry = registry_with(&["0a1b2c3", "latest"]).await;
    let operator = Operator::new(&registry);
    let origin = Origin::new(&[
        (
            "apps/web/deployment.yaml",
            &deployment("web", "apps.test/shop/web:0a1b2c3"),
        ),
        ("apps/web/kustomization.yaml", KUSTOMIZATION),
    ]);
    let args = [
        "--repo",
        &origin.url(),
        "--branch",
        "main",
        "--path",
        "apps/web",
        "--param",
        "image-list=web=apps.test/shop/web",
        "--param",
        "web.update-strategy=newest-build",
        "--param",
        "web.ignore-tags=latest",
        "--param",
        "write-back-method=git",
        "--param",
        "write-back-target=kustomization",
    ];
    // Nothing newer than what runs.
    let out = operator.commit(&args);
    assert_eq!(
        origin.commits("main"),
        1,
        "{}{}{}",
        out.stdout,
        out.stderr,
        origin.file("main", "apps/web/kustomization.yaml")
    );

    push_tags(&registry, "2024-05-01T00:00:00Z", &["9f8e7d6", "latest"]).await;
    let out = operator.commit(&args);
    assert!(
        out.success()
            .contains("  web: 0a1b2c3 → 9f8e7d6 (strategy newest-build"),
        "{}",
        out.stdout
    );
    assert_eq!(
        origin.file("main", "apps/web/kustomization.yaml"),
        KUSTOMIZATION.replace("0a1b2c3", "9f8e7d6").trim_end()
    );
    let message = origin.message("main");
    assert!(
        message.contains("Image-Resolver-Update: web=apps.test/shop/web 0a1b2c3 9f8e7d6"),
        "{message}"
    );

    // A revert of the bump sticks: no commit, and the report says why.
    origin.revert_tip();
    let commits = origin.commits("main");
    let out = operator.commit(&args);
    assert!(
        out.success().contains("9f8e7d6 rejected, taken back in"),
        "{}",
        out.stdout
    );
    assert_eq!(origin.commits("main"), commits);
    assert!(
        origin
            .file("main", "apps/web/kustomization.yaml")
            .contains("0a1b2c3")
    );

    // explain, run in a checkout, shows the tag taken back.
    let checkout = tempfile::tempdir().unwrap();
    crate::git(
        checkout.path(),
        &["clone", "--quiet", origin.bare().to_str().unwrap(), "w"],
    );
    let out = std::process::Command::new(crate::BIN)
        .current_dir(checkout.path().join("w/apps/web"))
        .args(["explain", "-o", "json", "--registries-conf"])
        .arg(operator.path().join("registries.conf"))
        .arg("--cache-dir")
        .arg(operator.path().join("cache"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", operator.path().join("home"))
        .env(
            "ARGOCD_APP_PARAMETERS",
            r#"[{"name":"image-list","string":"web=apps.test/shop/web"},{"name":"web.update-strategy","string":"newest-build"},{"name":"web.ignore-tags","string":"latest"},{"name":"write-back-method","string":"git"},{"name":"write-back-target","string":"kustomization"}]"#,
        )
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    let taken_back = &report["write_back"]["taken_back"];
    assert_eq!(taken_back[0]["tag"], "9f8e7d6", "{report:#}");
    assert_eq!(taken_back[0]["now"], "0a1b2c3");
}

/// A chart whose values file declares the image as argocd-image-updater's `helm.image-name`/`image-tag` name it.
const VALUES: &str = "# Default values for web.\nimage:\n  repository: apps.test/shop/web\n  tag: \"1.0.0\"   # semver, set by the committer\n\nreplicas: 2\n";

const TEMPLATE: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: {{ .Values.replicas }}\n  template:\n    spec:\n      containers:\n      - name: web\n        image: \"{{ .Values.image.repository }}:{{ .Values.image.tag }}\"\n";

fn helm() -> PathBuf {
    std::env::var_os("IMAGE_RESOLVER_HELM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".tools/bin/helm"))
}

/// The seed's second policy (semver, `latest` ignored) with a Helm values file as the target.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_helm_values_file_gets_the_new_tag_at_its_path() {
    let registry = registry_with(&["1.0.0", "latest", "1.4.0"]).await;
    let operator = Operator::new(&registry);
    let origin = Origin::new(&[
        (
            "charts/web/Chart.yaml",
            "apiVersion: v2\nname: web\nversion: 0.1.0\n",
        ),
        ("charts/web/values.yaml", VALUES),
        ("charts/web/templates/deployment.yaml", TEMPLATE),
    ]);
    let helm = helm();
    let mut args = vec![
        "--repo".to_owned(),
        origin.url(),
        "--branch".to_owned(),
        "main".to_owned(),
        "--path".to_owned(),
        "charts/web".to_owned(),
    ];
    for param in [
        "image-list=web=apps.test/shop/web",
        "web.update-strategy=semver",
        "web.ignore-tags=latest",
        "web.helm.image-name=image.repository",
        "web.helm.image-tag=image.tag",
        "write-back-method=git",
        "write-back-target=helmvalues:values.yaml",
    ] {
        args.extend(["--param".to_owned(), param.to_owned()]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = operator.run_with_env(&args, &[("IMAGE_RESOLVER_HELM", helm.to_str().unwrap())]);
    assert!(
        out.success().contains("  web: 1.0.0 → 1.4.0"),
        "{}",
        out.stdout
    );
    assert_eq!(
        origin.file("main", "charts/web/values.yaml"),
        VALUES.replace("\"1.0.0\"", "\"1.4.0\"").trim_end()
    );
    push_tags(&registry, "2024-06-01T00:00:00Z", &["1.5.0"]).await;
    let out = operator.run_with_env(&args, &[("IMAGE_RESOLVER_HELM", helm.to_str().unwrap())]);
    assert!(
        out.success().contains("  web: 1.4.0 → 1.5.0"),
        "{}",
        out.stdout
    );
    assert_eq!(origin.commits("main"), 3);
}

/// `git-repository`: the committer writes to that repository instead of the Application's source repository
/// (which is left alone), rendering the application from its checkout there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn git_repository_sends_the_commit_elsewhere() {
    let registry = registry_with(&["0a1b2c3", "9f8e7d6"]).await;
    let operator = Operator::new(&registry);
    let files = [
        (
            "apps/web/deployment.yaml",
            deployment("web", "apps.test/shop/web:0a1b2c3"),
        ),
        ("apps/web/kustomization.yaml", KUSTOMIZATION.to_owned()),
    ];
    let files: Vec<(&str, &str)> = files.iter().map(|(p, c)| (*p, c.as_str())).collect();
    let source = Origin::new(&files);
    let config = Origin::new(&files);
    let repository = format!("git-repository={}", config.url());
    let args = [
        "--repo",
        &source.url(),
        "--branch",
        "main",
        "--path",
        "apps/web",
        "--param",
        "image-list=web=apps.test/shop/web",
        "--param",
        "web.update-strategy=alphabetical",
        "--param",
        "write-back-method=git",
        "--param",
        "write-back-target=kustomization",
        "--param",
        &repository,
    ];
    let out = operator.commit(&args);
    assert!(
        out.success().contains("  web: 0a1b2c3 → 9f8e7d6"),
        "{}",
        out.stdout
    );
    assert_eq!((source.commits("main"), config.commits("main")), (1, 2));
    assert!(
        config
            .file("main", "apps/web/kustomization.yaml")
            .contains("\"9f8e7d6\"")
    );
}
