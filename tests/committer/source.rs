//! Source write-back, as argocd-image-updater users configure it (`write-back-method: git` with
//! `write-back-target: kustomization` or `helmvalues:<file>`): the committer edits the tag where the source
//! declares it, keeping every other byte, and a revert there sticks too (the history says so).

use crate::{Operator, Origin, deployment, helm, push_tags, registry_with};

/// The seed's first policy: commit-SHA tags, newest build, `latest` ignored.
const KUSTOMIZATION: &str = "# prod overlay — owned by the shop team\napiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- deployment.yaml   # the app\n\nimages:\n  - name: apps.test/shop/web\n    newTag: \"0a1b2c3\"   # set by the committer\n";

/// `commit` for `apps/web` of `origin` on `main`, tracking `web` and writing to its kustomization, with `params`
/// (the policy's keys).
fn kustomization_args(origin: &Origin, params: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "--repo",
        &origin.url(),
        "--branch",
        "main",
        "--path",
        "apps/web",
    ]
    .map(str::to_owned)
    .to_vec();
    let tracked = ["image-list=web=apps.test/shop/web"];
    let write_back = ["write-back-method=git", "write-back-target=kustomization"];
    for param in tracked.iter().chain(params).chain(&write_back) {
        args.extend(["--param".to_owned(), (*param).to_owned()]);
    }
    args
}

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
    let args = kustomization_args(
        &origin,
        &["web.update-strategy=newest-build", "web.ignore-tags=latest"],
    );
    let args = crate::strs(&args);
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
    let reverted = origin.file("main", "apps/web/kustomization.yaml");
    assert_eq!(reverted, KUSTOMIZATION.trim_end());

    // Later rounds leave it too: a source file records no rejection, so each round finds the revert again.
    for round in 1..=2 {
        let out = operator.commit(&args);
        assert!(
            out.success().contains("9f8e7d6 rejected, taken back in"),
            "round {round} after the revert: {}",
            out.stdout
        );
        assert_eq!(origin.commits("main"), commits, "round {round}");
        assert_eq!(
            origin.file("main", "apps/web/kustomization.yaml"),
            reverted,
            "round {round}"
        );
    }

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

    // A newer build moves it again, from the tag the revert restored.
    push_tags(&registry, "2024-06-01T00:00:00Z", &["1c2d3e4", "latest"]).await;
    let out = operator.commit(&args);
    assert!(
        out.success().contains("  web: 0a1b2c3 → 1c2d3e4"),
        "{}",
        out.stdout
    );
    assert_eq!(origin.commits("main"), commits + 1);
    assert_eq!(
        origin.file("main", "apps/web/kustomization.yaml"),
        KUSTOMIZATION.replace("0a1b2c3", "1c2d3e4").trim_end()
    );
}

/// `<alias>.hold` and `<alias>.pin` parameters win over the source when rendering: the committer leaves the
/// kustomization as it is while a newer build waits, and moves it once the parameter is gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hold_and_pin_parameters_leave_the_kustomization_alone() {
    let registry = registry_with(&["0a1b2c3", "latest"]).await;
    let operator = Operator::new(&registry);
    let origin = Origin::new(&[
        (
            "apps/web/deployment.yaml",
            &deployment("web", "apps.test/shop/web:0a1b2c3"),
        ),
        ("apps/web/kustomization.yaml", KUSTOMIZATION),
    ]);
    push_tags(&registry, "2024-05-01T00:00:00Z", &["9f8e7d6", "latest"]).await;
    let args = |extra: Option<&str>| {
        let mut params = vec!["web.update-strategy=newest-build", "web.ignore-tags=latest"];
        params.extend(extra);
        kustomization_args(&origin, &params)
    };
    for (param, why) in [
        ("web.hold=true", "held by the Application's hold"),
        (
            "web.pin=0a1b2c3",
            "pinned to 0a1b2c3 by the Application's pin",
        ),
        (
            "web.pin=9f8e7d6",
            "pinned to 9f8e7d6 by the Application's pin",
        ),
    ] {
        let out = operator.commit(&crate::strs(&args(Some(param))));
        assert_eq!(
            out.success(),
            format!(
                "web: up to date (apps/web/kustomization.yaml)\n  web=apps.test/shop/web: {why}: nothing \
                 recorded\n"
            ),
            "{param}"
        );
        assert_eq!(origin.commits("main"), 1, "{param}");
        assert_eq!(
            origin.file("main", "apps/web/kustomization.yaml"),
            KUSTOMIZATION.trim_end(),
            "{param}"
        );
    }
    let out = operator.commit(&crate::strs(&args(None)));
    assert!(
        out.success().contains("  web: 0a1b2c3 → 9f8e7d6"),
        "{}",
        out.stdout
    );
}

/// A chart whose values file declares the image as argocd-image-updater's `helm.image-name`/`image-tag` name it.
const VALUES: &str = "# Default values for web.\nimage:\n  repository: apps.test/shop/web\n  tag: \"1.0.0\"   # semver, set by the committer\n\nreplicas: 2\n";

const TEMPLATE: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: {{ .Values.replicas }}\n  template:\n    spec:\n      containers:\n      - name: web\n        image: \"{{ .Values.image.repository }}:{{ .Values.image.tag }}\"\n";

/// The chart of `charts/web`, its values at `values`.
fn chart(values: &str) -> Origin {
    Origin::new(&[
        (
            "charts/web/Chart.yaml",
            "apiVersion: v2\nname: web\nversion: 0.1.0\n",
        ),
        ("charts/web/values.yaml", values),
        ("charts/web/templates/deployment.yaml", TEMPLATE),
    ])
}

/// `commit` for `charts/web` with the seed's second policy, then `params`.
fn chart_args(origin: &Origin, params: &[&str]) -> Vec<String> {
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
        "write-back-method=git",
        "write-back-target=helmvalues:values.yaml",
    ]
    .iter()
    .chain(params)
    {
        args.extend(["--param".to_owned(), (*param).to_owned()]);
    }
    args
}

/// `commit` with the test's helm.
fn commit_chart(operator: &Operator, args: &[String]) -> crate::Run {
    let helm = helm();
    operator.run_with_env(
        &crate::strs(args),
        &[("IMAGE_RESOLVER_HELM", helm.to_str().unwrap())],
    )
}

/// argocd-image-updater's `helm.image-name`/`helm.image-tag` keys.
const NAME_AND_TAG: [&str; 2] = [
    "web.helm.image-name=image.repository",
    "web.helm.image-tag=image.tag",
];

/// The seed's second policy (semver, `latest` ignored) with a Helm values file as the target.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_helm_values_file_gets_the_new_tag_at_its_path() {
    let registry = registry_with(&["1.0.0", "latest", "1.4.0"]).await;
    let operator = Operator::new(&registry);
    let origin = chart(VALUES);
    let args = chart_args(&origin, &NAME_AND_TAG);
    let out = commit_chart(&operator, &args);
    assert!(
        out.success().contains("  web: 1.0.0 → 1.4.0"),
        "{}",
        out.stdout
    );
    assert_eq!(
        origin.file("main", "charts/web/values.yaml"),
        VALUES.replace("\"1.0.0\"", "\"1.4.0\"").trim_end()
    );
    assert!(
        origin
            .message("main")
            .contains("web: 1.0.0 → 1.4.0 (strategy semver"),
        "{}",
        origin.message("main")
    );
    push_tags(&registry, "2024-06-01T00:00:00Z", &["1.5.0"]).await;
    let out = commit_chart(&operator, &args);
    assert!(
        out.success().contains("  web: 1.4.0 → 1.5.0"),
        "{}",
        out.stdout
    );
    assert_eq!(origin.commits("main"), 3);
}

/// Rollback in a values file: a person's revert of the bump stands round after round (the history says why), and
/// a newer tag moves the image again from the tag the revert restored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reverted_helm_values_bump_sticks_until_a_newer_tag_appears() {
    let registry = registry_with(&["1.0.0", "latest", "1.4.0"]).await;
    let operator = Operator::new(&registry);
    let origin = chart(VALUES);
    let args = chart_args(&origin, &NAME_AND_TAG);
    commit_chart(&operator, &args).success();
    assert!(
        origin
            .file("main", "charts/web/values.yaml")
            .contains("\"1.4.0\"")
    );

    let revert = origin.revert_tip();
    let commits = origin.commits("main");
    for round in 1..=3 {
        let out = commit_chart(&operator, &args);
        assert!(
            out.success()
                .contains(&format!("1.4.0 rejected, taken back in {}", &revert[..12])),
            "round {round} after the revert: {}",
            out.stdout
        );
        assert_eq!(origin.commits("main"), commits, "round {round}");
        assert_eq!(
            origin.file("main", "charts/web/values.yaml"),
            VALUES.trim_end(),
            "round {round}"
        );
    }

    push_tags(&registry, "2024-06-01T00:00:00Z", &["1.5.0"]).await;
    let out = commit_chart(&operator, &args);
    assert!(
        out.success().contains("  web: 1.0.0 → 1.5.0"),
        "{}",
        out.stdout
    );
    assert_eq!(origin.commits("main"), commits + 1);
    assert_eq!(
        origin.file("main", "charts/web/values.yaml"),
        VALUES.replace("\"1.0.0\"", "\"1.5.0\"").trim_end()
    );
}

/// `helm.image-spec`: one value holding `repository:tag`, which argocd-image-updater writes whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn helm_image_spec_gets_the_whole_image() {
    const SPEC_VALUES: &str = "# one value for the whole image\nweb:\n  image: apps.test/shop/web:1.0.0   # set by the committer\nreplicas: 2\n";
    const SPEC_TEMPLATE: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: {{ .Values.replicas }}\n  template:\n    spec:\n      containers:\n      - name: web\n        image: {{ .Values.web.image | quote }}\n";
    let registry = registry_with(&["1.0.0", "latest", "1.4.0"]).await;
    let operator = Operator::new(&registry);
    let origin = Origin::new(&[
        (
            "charts/web/Chart.yaml",
            "apiVersion: v2\nname: web\nversion: 0.1.0\n",
        ),
        ("charts/web/values.yaml", SPEC_VALUES),
        ("charts/web/templates/deployment.yaml", SPEC_TEMPLATE),
    ]);
    let args = chart_args(&origin, &["web.helm.image-spec=web.image"]);
    let out = commit_chart(&operator, &args);
    assert!(
        out.success().contains("  web: 1.0.0 → 1.4.0"),
        "{}",
        out.stdout
    );
    assert_eq!(
        origin.file("main", "charts/web/values.yaml"),
        SPEC_VALUES
            .replace("shop/web:1.0.0", "shop/web:1.4.0")
            .trim_end()
    );
    // Written: nothing more to do.
    let out = commit_chart(&operator, &args);
    assert!(out.success().contains("up to date"), "{}", out.stdout);
    assert_eq!(origin.commits("main"), 2);
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

/// `<alias>.kustomize.image-name`: the manifests name the image by another name (`example/web`), and the
/// kustomization's entry of that name gets the image-list image as `newName` and the tag as `newTag`, as
/// argocd-image-updater's `kustomize edit set image example/web=apps.test/shop/web:<tag>` writes them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kustomize_image_name_names_the_entry_to_edit() {
    const RENAMED: &str = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- deployment.yaml\n\nimages:\n# the base's name for the shop's front end\n- name: example/web\n  newTag: 1.0.0   # set by the committer\n";
    let registry = registry_with(&["1.0.0", "1.1.0"]).await;
    let operator = Operator::new(&registry);
    let origin = Origin::new(&[
        (
            "apps/web/deployment.yaml",
            &deployment("web", "example/web:placeholder"),
        ),
        ("apps/web/kustomization.yaml", RENAMED),
    ]);
    let args = kustomization_args(
        &origin,
        &[
            "web.update-strategy=semver",
            "web.kustomize.image-name=example/web",
        ],
    );
    let args = crate::strs(&args);
    let out = operator.commit(&args);
    assert!(
        out.success().contains("  web: 1.0.0 → 1.1.0"),
        "{}{}",
        out.stdout,
        out.stderr
    );
    let written = origin.file("main", "apps/web/kustomization.yaml");
    let entry = written.split_once("- name: example/web\n").unwrap().1;
    let mut fields: Vec<&str> = entry.lines().map(str::trim).collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        [
            "newName: apps.test/shop/web",
            "newTag: 1.1.0   # set by the committer"
        ],
        "{written}"
    );
    assert!(
        written.starts_with(RENAMED.split_once("- name").unwrap().0),
        "{written}"
    );
    assert_eq!(origin.commits("main"), 2);

    // Rendered under the image-list's name now, the image is still the policy's: a newer tag moves it again.
    push_tags(&registry, "2024-06-01T00:00:00Z", &["1.2.0"]).await;
    let out = operator.commit(&args);
    assert!(
        out.success().contains("  web: 1.1.0 → 1.2.0"),
        "{}{}",
        out.stdout,
        out.stderr
    );
    assert!(
        origin
            .file("main", "apps/web/kustomization.yaml")
            .contains("newTag: 1.2.0   # set by the committer"),
        "{}",
        origin.file("main", "apps/web/kustomization.yaml")
    );
}

/// A values file the chart's render does not read (argocd-image-updater writes it all the same): the report warns
/// that what is written there is not deployed, until the file is among the `values-files`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_values_file_the_render_does_not_read_is_warned_about() {
    let registry = registry_with(&["1.0.0", "1.4.0"]).await;
    let operator = Operator::new(&registry);
    let origin = Origin::new(&[
        (
            "charts/web/Chart.yaml",
            "apiVersion: v2\nname: web\nversion: 0.1.0\n",
        ),
        ("charts/web/values.yaml", VALUES),
        ("charts/web/values-prod.yaml", VALUES),
        ("charts/web/templates/deployment.yaml", TEMPLATE),
    ]);
    let args: Vec<String> = chart_args(&origin, &NAME_AND_TAG)
        .into_iter()
        .map(|a| a.replace("helmvalues:values.yaml", "helmvalues:values-prod.yaml"))
        .collect();
    let out = commit_chart(&operator, &args);
    assert!(
        out.success().contains(
            "  warning: the committer writes tags to charts/web/values-prod.yaml, which the chart's render does \
             not read (it reads charts/web/values.yaml): they are not deployed;"
        ),
        "{}",
        out.stdout
    );
    push_tags(&registry, "2024-06-01T00:00:00Z", &["1.5.0"]).await;
    let mut read = args.clone();
    read.extend([
        "--param".to_owned(),
        "values-files=values-prod.yaml".to_owned(),
    ]);
    let out = commit_chart(&operator, &read);
    assert!(
        out.success().contains("  web: 1.4.0 → 1.5.0") && !out.stdout.contains("warning"),
        "{}",
        out.stdout
    );
}
