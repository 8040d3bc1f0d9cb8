//! Issue 11, item 1: charts whose dependencies come from chart repositories, driven as argocd-cmp-server drives the
//! plugin (`init`, then `generate`), with the real helm. `helm dependency build` refuses a locked dependency whose
//! repository was never `helm repo add`ed, and the sidecar's helm starts with no repositories: `init` adds them, as
//! Argo CD's repo-server does (Argo CD managing itself with argo-helm's `argo-cd` chart is such a chart). Chart
//! repositories are served over HTTP by the test; OCI charts are pushed into a real registry.

mod plugin_support;
mod support;

use plugin_support::{
    Application, ChartRepository, Repo, Sidecar, deployment_chart, images, lock, push_chart,
    shop_registry, unreachable_url,
};

/// `Chart.yaml` of the chart at `apps/shop`, depending on each (name, version, repository).
fn umbrella(dependencies: &[(&str, &str, &str)]) -> String {
    let mut chart = String::from("apiVersion: v2\nname: shop\nversion: 1.0.0\ndependencies:\n");
    for (name, version, repository) in dependencies {
        chart.push_str(&format!(
            "- name: {name}\n  version: {version}\n  repository: {repository}\n"
        ));
    }
    chart
}

/// A chart of one Deployment running `apps.test/team/web:1.0.0` (resolved to 1.0.5 by its `~1.0`).
fn web_chart() -> Vec<(String, String)> {
    deployment_chart(
        "web",
        "1.0.0",
        "apps.test/team/web:1.0.0",
        "web=apps.test/team/web:~1.0",
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_adds_the_chart_repository_of_a_locked_dependency() {
    let registry = shop_registry().await;
    let sidecar = Sidecar::new(&[("apps.test", &registry)]);
    let charts = ChartRepository::serve(&[web_chart()], None).await;
    let chart_yaml = umbrella(&[("web", "1.0.0", &charts.url())]);
    let repo = Repo::new(&[
        ("apps/shop/Chart.yaml", &chart_yaml),
        ("apps/shop/Chart.lock", &lock(&chart_yaml, &[])),
    ]);
    let fetched_to_lock = charts.requests().len();

    let output = sidecar
        .generate(&repo, &Application::new("shop", "apps/shop"))
        .await;

    assert_eq!(images(output.success()), ["apps.test/team/web:1.0.5"]);
    let paths: Vec<String> = charts.requests()[fetched_to_lock..]
        .iter()
        .map(|(path, _)| path.clone())
        .collect();
    assert_eq!(
        paths,
        ["/charts/index.yaml", "/charts/web-1.0.0.tgz"],
        "the index once (by `helm repo add`), then the chart"
    );
    let shared = sidecar.tmp_dir().join("argocd-image-resolver-helm");
    assert!(
        !shared.join("config/repositories.yaml").exists(),
        "the repository went into a list of this build's own, not helm's shared one"
    );
    let leftovers: Vec<_> = std::fs::read_dir(sidecar.tmp_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|name| name.to_string_lossy().starts_with("helm-dependency-build-"))
        .collect();
    assert!(leftovers.is_empty(), "left behind: {leftovers:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_pulls_an_oci_dependency_beside_a_chart_repository_one() {
    let registry = shop_registry().await;
    let sidecar = Sidecar::new(&[("apps.test", &registry)]);
    let charts = ChartRepository::serve(&[web_chart()], None).await;
    // The chart in the same registry as the images, at `charts/api`.
    let oci = push_chart(
        &registry,
        &deployment_chart(
            "api",
            "0.3.0",
            "apps.test/team/web:1.0.0",
            "api=apps.test/team/web:^1",
        ),
    );
    let chart_yaml = umbrella(&[("web", "1.0.0", &charts.url()), ("api", "0.3.0", &oci)]);
    let repo = Repo::new(&[
        ("apps/shop/Chart.yaml", &chart_yaml),
        ("apps/shop/Chart.lock", &lock(&chart_yaml, &[])),
    ]);

    let output = sidecar
        .generate(&repo, &Application::new("shop", "apps/shop"))
        .await;

    let mut got = images(output.success());
    got.sort();
    assert_eq!(
        got,
        ["apps.test/team/web:1.0.5", "apps.test/team/web:1.2.0"]
    );
}

/// The operator's repositories (`HELM_REPOSITORY_CONFIG`) keep working inside the private list: a dependency
/// naming one by `@name`, and its credentials, which only that repository is sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operators_repositories_keep_their_names_and_credentials() {
    let registry = shop_registry().await;
    let charts = ChartRepository::serve(&[web_chart()], Some(("robot", "hunter2"))).await;
    let operator = tempfile::tempdir().unwrap();
    let repositories = operator.path().join("repositories.yaml");
    std::fs::write(
        &repositories,
        format!(
            "apiVersion: \"\"\nrepositories:\n- name: corp\n  url: {}\n  username: robot\n  password: hunter2\n\
             - name: elsewhere\n  url: {}\n",
            charts.url(),
            unreachable_url()
        ),
    )
    .unwrap();
    let mut sidecar = Sidecar::new(&[("apps.test", &registry)]);
    sidecar.env.push((
        "HELM_REPOSITORY_CONFIG".into(),
        repositories.display().to_string(),
    ));
    let chart_yaml = umbrella(&[("web", "1.0.0", "\"@corp\"")]);
    let locked = lock(&chart_yaml, &[("corp", &charts.url(), "robot", "hunter2")]);
    let repo = Repo::new(&[
        ("apps/shop/Chart.yaml", &chart_yaml),
        ("apps/shop/Chart.lock", &locked),
    ]);
    let fetched_to_lock = charts.requests().len();

    let output = sidecar
        .generate(&repo, &Application::new("shop", "apps/shop"))
        .await;

    assert_eq!(images(output.success()), ["apps.test/team/web:1.0.5"]);
    let requests = &charts.requests()[fetched_to_lock..];
    assert_eq!(
        requests,
        [
            ("/charts/index.yaml".to_owned(), true),
            ("/charts/web-1.0.0.tgz".to_owned(), true)
        ],
        "the index refreshed and the chart fetched, both with the operator's credentials; the unreachable entry \
         the chart does not name was left out"
    );
    assert!(!output.stderr.contains("hunter2"), "{}", output.stderr);
}

/// A repository `init` may not add fails the request with an error naming the chart file, the dependency and the
/// repository; a `Chart.lock` may no more take a `file://` dependency out of the repository than `Chart.yaml`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repositories_init_cannot_use_fail_naming_them() {
    let registry = shop_registry().await;
    let sidecar = Sidecar::new(&[("apps.test", &registry)]);
    let down = format!("{}/charts", unreachable_url());
    let lock_naming = |repository: &str| {
        format!(
            "dependencies:\n- name: web\n  repository: {repository}\n  version: 1.0.0\n\
             digest: sha256:0000000000000000000000000000000000000000000000000000000000000000\n\
             generated: \"2024-01-01T00:00:00Z\"\n"
        )
    };
    // (name, the repository's files, parts of the message)
    type Case<'a> = (&'a str, Vec<(&'a str, String)>, Vec<String>);
    let cases: [Case; 4] = [
        (
            "unreachable",
            vec![
                ("apps/shop/Chart.yaml", umbrella(&[("web", "1.0.0", &down)])),
                ("apps/shop/Chart.lock", lock_naming(&down)),
            ],
            vec![
                format!("cannot add chart repository {down} for dependency web of "),
                "/apps/shop/Chart.yaml: `helm repo add -- argocd-image-resolver-".into(),
                format!("Error: looks like \"{down}\" is not a valid chart repository or cannot be reached"),
                "connection refused".into(),
            ],
        ),
        (
            "scheme helm would hand to a plugin",
            vec![
                ("apps/shop/Chart.yaml", umbrella(&[("web", "1.0.0", "s3://bucket/charts")])),
            ],
            vec![
                "dependency web of ".into(),
                "/apps/shop/Chart.yaml has repository 's3://bucket/charts': a dependency comes from an http://, \
                 https:// or oci:// chart repository"
                    .into(),
            ],
        ),
        (
            "credentials in the URL, not shown",
            vec![(
                "apps/shop/Chart.yaml",
                umbrella(&[("web", "1.0.0", "https://robot:hunter2@charts.example/")]),
            )],
            vec![
                "has repository 'https://charts.example/': a chart repository URL may not carry a user name or \
                 password"
                    .into(),
            ],
        ),
        (
            "lock file leaving the repository",
            vec![
                ("apps/shop/Chart.yaml", umbrella(&[("web", "1.0.0", "file://../web")])),
                ("apps/shop/Chart.lock", lock_naming("file://../../../outside")),
                ("apps/web/Chart.yaml", "apiVersion: v2\nname: web\nversion: 1.0.0\n".into()),
            ],
            vec![
                "dependency web of ".into(),
                "/apps/shop/Chart.lock has repository 'file://../../../outside', outside ".into(),
            ],
        ),
    ];
    for (name, files, want) in cases {
        let files: Vec<(&str, &str)> = files.iter().map(|(p, c)| (*p, c.as_str())).collect();
        let output = sidecar
            .manifest_request(&Repo::new(&files), &Application::new("shop", "apps/shop"))
            .await;
        assert_eq!(
            output.status.code(),
            Some(2),
            "case {name}: {}",
            output.stderr
        );
        for part in want {
            assert!(
                output.stderr.contains(&part),
                "case {name}: want {part:?} in:\n{}",
                output.stderr
            );
        }
        assert!(
            !output.stderr.contains("hunter2"),
            "case {name}: {}",
            output.stderr
        );
    }
}
