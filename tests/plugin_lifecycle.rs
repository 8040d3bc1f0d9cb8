//! The plugin across calls of argocd-cmp-server: shared tag lists, the last-known-good tags that carry a render through a registry
//! outage or a hung registry (within the plugin's time budget), the dynamic `parameters` command with its reduced
//! environment, renders of one state printing the same bytes, and the time budget `init` and `generate` share.

mod plugin_support;
mod support;

use std::path::Path;
use std::time::{Duration, SystemTime};

use plugin_support::{
    Application, Repo, Sidecar, documents, images, push_tags, resolved_entries, shop_registry,
};

const DEPLOYMENT: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  annotations:
    argocd-image-updater.argoproj.io/image-list: web=apps.test/team/web:^1, worker=apps.test/team/worker
    argocd-image-updater.argoproj.io/worker.update-strategy: alphabetical
    argocd-image-updater.argoproj.io/worker.allow-tags: regexp:^\d{4}\.
spec:
  template:
    spec:
      containers:
      - name: web
        image: apps.test/team/web:1.0.0
      - name: worker
        image: apps.test/team/worker:2024.01.01
"#;

/// A tag list fetched by one render answers the renders after it for `--tags-ttl` (30 s by default), whichever
/// Application they are for; an Application can ask for fresh lists with its plugin env.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetched_tag_lists_answer_later_renders_for_their_ttl() {
    let registry = shop_registry().await;
    let sidecar = Sidecar::new(&[("apps.test", &registry)]);
    let repo = Repo::new(&[
        ("apps/web/deployment.yaml", DEPLOYMENT),
        ("apps/other/deployment.yaml", DEPLOYMENT),
    ]);
    let web = Application::new("web", "apps/web");
    let before = [
        "apps.test/team/web:1.2.0",
        "apps.test/team/worker:2024.06.15",
    ];
    assert_eq!(
        images(sidecar.generate(&repo, &web).await.success()),
        before
    );

    push_tags(&registry, "team/web", &["1.4.0"]).await;
    let other = Application::new("other", "apps/other");
    assert_eq!(
        images(sidecar.generate(&repo, &other).await.success()),
        before,
        "another Application within the TTL: the list already fetched"
    );
    let fresh = Application::new("other", "apps/other").env("IMAGE_RESOLVER_TAGS_TTL", "0");
    assert_eq!(
        images(sidecar.generate(&repo, &fresh).await.success()),
        [
            "apps.test/team/web:1.4.0",
            "apps.test/team/worker:2024.06.15"
        ],
        "tags-ttl 0: asked the registry"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registry_down_falls_back_to_the_last_known_good_tags_or_fails_clearly() {
    let registry = shop_registry().await;
    let api_url = registry.base.to_string();
    let mut sidecar = Sidecar::new(&[("apps.test", &registry)]);
    // An outage that outlasts the shared tag lists (the next test shows them answering).
    sidecar
        .env
        .push(("IMAGE_RESOLVER_TAGS_TTL".into(), "0".into()));
    let repo = Repo::new(&[("apps/web/deployment.yaml", DEPLOYMENT)]);
    let app = Application::new("team-a_web", "apps/web");
    let want = [
        "apps.test/team/web:1.2.0",
        "apps.test/team/worker:2024.06.15",
    ];

    let up = sidecar.generate(&repo, &app).await;
    assert_eq!(images(up.success()), want, "registry up");

    drop(registry);
    let down = sidecar.generate(&repo, &app).await;
    let manifests = down.success();
    assert_eq!(images(manifests), want, "the tags resolved before");
    let decisions: Vec<_> = resolved_entries(&documents(manifests)[0])
        .iter()
        .map(|e| e["decision"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(decisions, ["last-known-good", "last-known-good"]);
    let warned: Vec<usize> = [
        "image apps.test/team/web (",
        "image apps.test/team/worker (",
    ]
    .iter()
    .map(|image| {
        let at = down.stderr.find(image);
        at.unwrap_or_else(|| panic!("a warning names {image}: {}", down.stderr))
    })
    .collect();
    assert!(
        warned[0] < warned[1],
        "warnings in text order: {}",
        down.stderr
    );

    sidecar.clear_cache();
    let failed = sidecar.generate(&repo, &app).await;
    assert_eq!(failed.status.code(), Some(1), "{}", failed.stderr);
    assert_eq!(failed.stdout, "", "nothing on stdout");
    let message = failed.stderr.trim_end();
    assert!(!message.contains("\n\n"), "one paragraph: {message}");
    let parts = [
        "argocd-image-resolver: application team-a_web: image apps.test/team/web (strategy semver, constraint \
         '^1'): registry apps.test, repository team/web (anonymous): cannot reach ",
        api_url.trim_end_matches('/'),
        "; no tag of it was resolved before, so there is nothing to fall back to",
    ];
    for part in parts {
        assert!(
            message.contains(part),
            "the message names the app, the first image in text order, the registry: {message}"
        );
    }

    // The Parameters tab stays usable (it is where a rollback is pinned): the images are announced without a value.
    let announced = sidecar.parameters(&repo, &app).await;
    let announced: serde_json::Value = serde_json::from_str(announced.success()).unwrap();
    let unresolved: Vec<(&str, &str, &str)> = announced
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["name"].as_str().unwrap(),
                a["title"].as_str().unwrap(),
                a["string"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        unresolved,
        [
            (
                "web.pin",
                "web: apps.test/team/web (registry unavailable)",
                ""
            ),
            (
                "worker.pin",
                "worker: apps.test/team/worker (registry unavailable)",
                ""
            ),
        ]
    );
}

/// One announcement as `parameters` prints it.
fn announcement(
    alias: &str,
    image: &str,
    state: &str,
    policy: &str,
    tag: &str,
) -> serde_json::Value {
    serde_json::json!({
        "name": format!("{}.pin", alias.replace('/', "_")),
        "title": format!("{alias}: {image} ({state})"),
        "tooltip": format!(
            "The tag {tag} of {image} runs ({state}; policy: {policy}). Set this parameter to pin another tag (roll \
             back); remove it to follow the policy again."
        ),
        "collectionType": "string",
        "string": tag,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parameters_announce_each_alias_with_its_resolved_tag() {
    let registry = shop_registry().await;
    let sidecar = Sidecar::new(&[("apps.test", &registry)]);
    let kustomize = Repo::new(&[
        ("apps/web/deployment.yaml", DEPLOYMENT),
        (
            "apps/web/kustomization.yaml",
            "resources: [deployment.yaml]\n",
        ),
    ]);
    let helm = plugin_support::helm_repo();
    let pod = Repo::new(&[(
        "apps/pod/pod.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  containers:\n  - name: web\n    \
         image: apps.test/team/web:1.0.0\n",
    )]);
    let slash_alias =
        Application::new("pod", "apps/pod").string("image-list", "team/web=apps.test/team/web:^1");
    let worker_policy = r"strategy alphabetical, allow-tags 'regexp:^\d{4}\.'";
    for (name, repo, app, want) in [
        (
            "kustomize",
            &kustomize,
            Application::new("web", "apps/web"),
            vec![
                announcement(
                    "web",
                    "apps.test/team/web",
                    "newest allowed",
                    "strategy semver, constraint '^1'",
                    "1.2.0",
                ),
                announcement(
                    "worker",
                    "apps.test/team/worker",
                    "newest allowed",
                    worker_policy,
                    "2024.06.15",
                ),
            ],
        ),
        (
            "kustomize with a pin",
            &kustomize,
            Application::new("web", "apps/web").string("web.pin", "1.0.0"),
            vec![
                announcement(
                    "web",
                    "apps.test/team/web",
                    "pinned here",
                    "strategy semver, constraint '^1'",
                    "1.0.0",
                ),
                announcement(
                    "worker",
                    "apps.test/team/worker",
                    "newest allowed",
                    worker_policy,
                    "2024.06.15",
                ),
            ],
        ),
        (
            "helm chart with a file:// dependency (Argo CD runs no init before parameters)",
            &helm,
            Application::new("team-a_web", "apps/web"),
            vec![announcement(
                "web",
                "apps.test/team/web",
                "newest allowed",
                "strategy semver, constraint '~1.0'",
                "1.0.5",
            )],
        ),
        (
            "no tracked image: an empty list, which Argo CD needs to read as JSON",
            &pod,
            Application::new("pod", "apps/pod"),
            vec![],
        ),
        (
            "an alias holding '/' is announced in key form",
            &pod,
            slash_alias.clone(),
            vec![announcement(
                "team/web",
                "apps.test/team/web",
                "newest allowed",
                "strategy semver, constraint '^1'",
                "1.2.0",
            )],
        ),
    ] {
        let output = sidecar.parameters(repo, &app).await;
        let printed: serde_json::Value = serde_json::from_str(output.success())
            .unwrap_or_else(|e| panic!("{name}: not JSON ({e}): {}", output.stdout));
        assert_eq!(printed, serde_json::Value::Array(want), "{name}");
        assert_eq!(output.stderr, "", "{name}");
    }

    // Pins are keyed by alias: an image listed without one is not announced, and the log says why.
    let unaliased =
        Application::new("pod", "apps/pod").string("image-list", "apps.test/team/web:^1");
    let output = sidecar.parameters(&pod, &unaliased).await;
    assert_eq!(output.success(), "[]\n");
    assert!(
        output.stderr.contains(
            "application pod: image apps.test/team/web has no alias in image-list, so the Parameters tab cannot \
             pin it; list it as <alias>=apps.test/team/web\n"
        ),
        "{}",
        output.stderr
    );

    // Regression: `team/web.pin` was announced, which the policy sources ignore; the announced name must pin.
    let pinned = sidecar
        .generate(&pod, &slash_alias.string("team_web.pin", "1.0.0"))
        .await;
    assert_eq!(images(pinned.success()), ["apps.test/team/web:1.0.0"]);
    assert_eq!(pinned.stderr, "");
}

/// More objects sharing images under different policies, for the determinism test.
const MORE_OBJECTS: &str = r#"apiVersion: batch/v1
kind: CronJob
metadata:
  name: report
  annotations:
    argocd-image-updater.argoproj.io/image-list: worker=apps.test/team/worker
    argocd-image-updater.argoproj.io/worker.update-strategy: alphabetical
    argocd-image-updater.argoproj.io/worker.allow-tags: regexp:^build-
spec:
  schedule: "0 * * * *"
  jobTemplate:
    spec:
      template:
        spec:
          containers:
          - name: report
            image: apps.test/team/worker:build-1
          - name: sidecar
            image: apps.test/team/web:1.0.0
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: cache
  annotations:
    argocd-image-updater.argoproj.io/image-list: apps.test/team/web:~1.0
spec:
  template:
    spec:
      initContainers:
      - name: warm
        image: apps.test/team/web:1.0.0
      containers:
      - name: cache
        image: apps.test/team/web:1.0.0
      - name: proxy
        image: nginx:1.27
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renders_of_the_same_state_print_the_same_bytes() {
    let registry = shop_registry().await;
    let sidecar = Sidecar::new(&[("apps.test", &registry)]);
    let repo = Repo::new(&[
        ("apps/web/deployment.yaml", DEPLOYMENT),
        ("apps/web/more.yaml", MORE_OBJECTS),
        (
            "apps/web/kustomization.yaml",
            "resources: [deployment.yaml, more.yaml]\n",
        ),
    ]);
    let app = Application::new("web", "apps/web").map("policy", &[("ignore-tags", "latest")]);

    let first = sidecar.generate(&repo, &app).await;
    let again = sidecar.generate(&repo, &app).await;
    sidecar.clear_cache();
    let new_pod = sidecar.generate(&repo, &app).await;

    let manifests = first.success();
    assert_eq!(again.success(), manifests, "a second render");
    assert_eq!(new_pod.success(), manifests, "a render with an empty cache");
    assert_eq!(
        images(manifests),
        [
            "apps.test/team/web:1.2.0",
            "apps.test/team/worker:2024.06.15",
            "apps.test/team/web:1.0.5",
            "nginx:1.27",
            "apps.test/team/web:1.0.5",
            "apps.test/team/worker:build-9",
            "apps.test/team/web:1.0.0",
        ],
        "in kustomize's order: Deployment, StatefulSet, CronJob (whose image-list leaves web alone)"
    );

    let announced = sidecar.parameters(&repo, &app).await;
    let announced_again = sidecar.parameters(&repo, &app).await;
    assert_eq!(announced_again.success(), announced.success(), "parameters");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registry_that_never_answers_costs_the_budget_not_the_render() {
    let registry = shop_registry().await;
    // Accepts connections and never answers: a hung registry, which only the time budget ends.
    let hung = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let hung_url = format!("http://{}", hung.local_addr().unwrap());
    std::thread::spawn(move || {
        // Holds every connection open; the thread ends with the test process.
        let mut held = Vec::new();
        for connection in hung.incoming() {
            held.push(connection);
        }
    });
    let mut sidecar = Sidecar::new(&[("apps.test", &registry)]);
    sidecar.env.extend([
        ("IMAGE_RESOLVER_BUDGET".into(), "3s".into()),
        ("IMAGE_RESOLVER_TAGS_TTL".into(), "0".into()),
    ]);
    let repo = Repo::new(&[("apps/web/deployment.yaml", DEPLOYMENT)]);
    let app = Application::new("web", "apps/web");
    let want = images(sidecar.generate(&repo, &app).await.success());

    std::fs::write(
        &sidecar.registries_conf,
        format!("registries:\n- name: hung\n  prefix: apps.test\n  api_url: {hung_url}\n"),
    )
    .unwrap();
    let late = sidecar.generate(&repo, &app).await;
    assert_eq!(images(late.success()), want, "the last known good tags");
    assert!(
        late.stderr.contains(
            "image apps.test/team/web (strategy semver, constraint '^1'): registry apps.test did not answer \
             within the time budget (--budget); using 1.2.0, the tag last resolved for it\n"
        ),
        "{}",
        late.stderr
    );

    sidecar.clear_cache();
    let failed = sidecar.generate(&repo, &app).await;
    assert_eq!(failed.status.code(), Some(1));
    assert_eq!(failed.stdout, "");
    assert_eq!(
        failed.stderr,
        "argocd-image-resolver: application web: image apps.test/team/web (strategy semver, constraint '^1'): \
         registry apps.test did not answer within the time budget (--budget); no tag of it was resolved before, \
         so there is nothing to fall back to\n"
    );
}

/// Argo CD's deadline covers `init` and `generate` together, so `generate` has only what `init` left of the budget.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_and_generate_share_the_budget() {
    let registry = shop_registry().await;
    let sidecar = Sidecar::new(&[("apps.test", &registry)]);
    let repo = Repo::new(&[("apps/web/deployment.yaml", DEPLOYMENT)]);
    let app = Application::new("web", "apps/web");
    // What an `init` that took `took` would have left: its mark (in the sidecar's temp dir, never in the source),
    // dated when it started.
    let tmp = sidecar.tmp_dir();
    let init_took = |took: Duration| {
        let tmp = tmp.clone();
        move |dir: &Path| {
            let in_source = std::fs::read_dir(dir)
                .unwrap()
                .filter_map(|e| e.ok())
                .any(|e| {
                    e.file_name()
                        .to_string_lossy()
                        .contains("argocd-image-resolver")
                });
            assert!(!in_source, "init writes nothing into the source");
            let marks: Vec<_> = std::fs::read_dir(&tmp)
                .unwrap()
                .filter_map(|e| e.ok())
                .filter(|e| {
                    e.file_name()
                        .to_string_lossy()
                        .starts_with("argocd-image-resolver-init-")
                })
                .collect();
            assert_eq!(marks.len(), 1, "this request's init left one mark");
            let mark = std::fs::File::options()
                .write(true)
                .open(marks[0].path())
                .unwrap();
            mark.set_modified(SystemTime::now() - took).unwrap();
        }
    };

    let quick = sidecar.generate(&repo, &app).await;
    let slow = sidecar
        .generate_after_init(&repo, &app, init_took(Duration::from_secs(30)))
        .await;
    assert_eq!(slow.success(), quick.success(), "10 s left is enough");

    let used_up = sidecar
        .generate_after_init(&repo, &app, init_took(Duration::from_millis(39_700)))
        .await;
    assert_eq!(used_up.status.code(), Some(1));
    assert_eq!(used_up.stdout, "");
    assert!(
        used_up
            .stderr
            .starts_with("argocd-image-resolver: application web: init used 39.")
            && used_up.stderr.ends_with(
                "s of the budget of 40s, which leaves generate no time (--budget / IMAGE_RESOLVER_BUDGET)\n"
            ),
        "{}",
        used_up.stderr
    );
}
