//! The seed's two real policies from one config file, annotations as argocd-image-updater users write them:
//! `web` (commit-SHA tags, newest build — and its old name `latest` — ignoring `latest`) into its lock file, and
//! `api` (semver ignoring `latest`) into its kustomization. One `commit` run commits both; a newer tag becomes a
//! commit; the config's author and upstream's default message template show in `git log`; `watch` does the same
//! on its interval and stops cleanly on SIGTERM.

use std::fs::File;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::TestRegistry;
use crate::{
    API_KUSTOMIZATION, App, BIN, Operator, Origin, Run, WEB_LOCK, api_kustomization, config,
    git_block, push, shop_origin, wait_until, write_config,
};

/// A registry holding the first builds of both images.
async fn shop_registry() -> TestRegistry {
    let registry = crate::registry_with(&["0a1b2c3", "latest"]).await;
    push(
        &registry,
        "shop/api",
        "2024-01-01T00:00:00Z",
        &["1.0.0", "1.2.0", "latest"],
    )
    .await;
    registry
}

fn author(origin: &Origin, rev: &str) -> String {
    origin.git(&["log", "-1", "--format=%an <%ae> / %cn <%ce>", rev])
}

async fn both_policies_from_one_config(strategy: &str) {
    let registry = shop_registry().await;
    let operator = Operator::new(&registry);
    let origin = shop_origin();
    let file = write_config(
        &operator,
        &config(
            &git_block(),
            &[
                App::web(&origin.url(), strategy)
                    .with("web.allow-tags", "regexp:^[0-9a-f]{7}$")
                    .with("git-branch", "main"),
                App::api(&origin.url()).with("git-branch", "main"),
            ],
        ),
    );
    let args = ["--config", file.to_str().unwrap()];

    // One run: both applications committed, each in its own commit.
    let out = operator.commit(&args);
    let report = out.success();
    assert!(
        report.contains("web: committed ") && report.contains("api: committed "),
        "{report}{}",
        out.stderr
    );
    assert_eq!(origin.commits("main"), 3, "{report}");
    let lock = origin.file("main", WEB_LOCK);
    assert_eq!(crate::web_tag(&lock), "0a1b2c3", "{lock}");
    assert!(
        lock.contains(
            "policy: \"strategy newest-build, allow-tags 'regexp:^[0-9a-f]{7}$', ignore-tags 'latest'\""
        ),
        "{lock}"
    );
    assert_eq!(
        origin.file("main", API_KUSTOMIZATION),
        api_kustomization("1.2.0").trim_end()
    );
    let web_commit = origin.git(&["log", "-1", "--format=%H", "main", "--", WEB_LOCK]);
    assert_eq!(
        origin
            .message(&web_commit)
            .lines()
            .take(3)
            .collect::<Vec<_>>(),
        [
            "build: automatic update of web",
            "",
            "updates image apps.test/shop/web tag '(none)' to '0a1b2c3'"
        ]
    );
    let api_message = origin.message("main");
    assert!(
        api_message.starts_with(
            "build: automatic update of api\n\nupdates image apps.test/shop/api tag '1.0.0' to '1.2.0'\n"
        ),
        "{api_message}"
    );
    assert_eq!(
        author(&origin, "main"),
        "Shop Bot <shop-bot@example.com> / Shop Bot <shop-bot@example.com>"
    );

    // Nothing new: no commit.
    operator.commit(&args).success();
    assert_eq!(origin.commits("main"), 3);

    // Newer builds in the registry (each with `latest` moved along, which is ignored; a newer web build tagged
    // other than a commit SHA, which allow-tags leaves out): two commits.
    push(
        &registry,
        "shop/web",
        "2024-05-01T00:00:00Z",
        &["9f8e7d6", "latest"],
    )
    .await;
    push(
        &registry,
        "shop/web",
        "2024-06-01T00:00:00Z",
        &["nightly-42"],
    )
    .await;
    push(
        &registry,
        "shop/api",
        "2024-05-01T00:00:00Z",
        &["1.3.0", "latest"],
    )
    .await;
    let out = operator.commit(&args);
    let report = out.success();
    assert!(
        report.contains("  web: 0a1b2c3 → 9f8e7d6") && report.contains("  api: 1.2.0 → 1.3.0"),
        "{report}"
    );
    assert_eq!(origin.commits("main"), 5);
    assert!(
        crate::web_tag(&origin.file("main", WEB_LOCK)) == "9f8e7d6",
        "{}",
        origin.file("main", WEB_LOCK)
    );
    assert_eq!(
        origin.file("main", API_KUSTOMIZATION),
        api_kustomization("1.3.0").trim_end()
    );
    let log = origin.git(&["log", "--format=%an|%s", "-4", "main"]);
    assert_eq!(
        log,
        "Shop Bot|build: automatic update of api\nShop Bot|build: automatic update of web\n\
         Shop Bot|build: automatic update of api\nShop Bot|build: automatic update of web"
    );
    assert_eq!(
        origin.git(&["rev-list", "--min-parents=2", "--count", "main"]),
        "0"
    );

    // What Argo CD deploys: each application rendered by the plugin from the pushed revision, which sees none of
    // the Application's annotations — with the registry gone, so only git can have said it.
    drop(registry);
    let web = render_as_argo_cd(&operator, &origin, "apps/web", "web");
    assert!(
        has_line(&web.stdout, "image: apps.test/shop/web:9f8e7d6"),
        "{}{}",
        web.stdout,
        web.stderr
    );
    assert!(
        web.stdout.contains(r#"\"decision\":\"lock\""#),
        "{}",
        web.stdout
    );
    assert_eq!(web.stderr, "", "the lock file renders without a warning");
    let api = render_as_argo_cd(&operator, &origin, "apps/api", "api");
    assert!(
        has_line(&api.stdout, "- image: apps.test/shop/api:1.3.0"),
        "{}{}",
        api.stdout,
        api.stderr
    );
}

fn has_line(text: &str, line: &str) -> bool {
    text.lines().any(|l| l.trim() == line)
}

/// `generate` in `app` of a fresh clone of `origin`'s `main`, as the sidecar runs it for the Application `name`:
/// no parameters (the policy is in the Application's annotations, which the plugin never sees).
fn render_as_argo_cd(operator: &Operator, origin: &Origin, app: &str, name: &str) -> Run {
    let checkout = tempfile::tempdir().unwrap();
    crate::git(
        checkout.path(),
        &["clone", "--quiet", "--branch", "main", &origin.url(), "w"],
    );
    let dir = checkout.path().join("w").join(app);
    operator.run_with_env_in(&dir, "generate", &[], &[("ARGOCD_APP_NAME", name)])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_seed_policies_commit_from_one_config_file() {
    both_policies_from_one_config("newest-build").await;
}

/// `latest` is newest-build's old name in argocd-image-updater: configs written for it work unchanged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_old_strategy_name_latest_works_the_same() {
    both_policies_from_one_config("latest").await;
}

/// `watch --config FILE --interval 1s`: a tag pushed to the registry becomes a commit on the next round; SIGTERM
/// stops it with exit 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_turns_a_pushed_tag_into_a_commit_and_stops_on_sigterm() {
    let registry = shop_registry().await;
    let operator = Operator::new(&registry);
    let origin = shop_origin();
    let file = write_config(
        &operator,
        &config(
            &git_block(),
            &[
                App::web(&origin.url(), "newest-build"),
                App::api(&origin.url()),
            ],
        ),
    );
    let stdout = operator.path().join("watch.out");
    let stderr = operator.path().join("watch.err");
    let mut child = Command::new(BIN)
        .arg("watch")
        .args(["--config", file.to_str().unwrap(), "--interval", "1s"])
        // Its HTTP port on loopback, any free one: never the default, which another process may hold.
        .args(["--listen", "127.0.0.1:0"])
        .args([
            "--registries-conf",
            operator.path().join("registries.conf").to_str().unwrap(),
        ])
        .args([
            "--cache-dir",
            operator.path().join("cache").to_str().unwrap(),
        ])
        .args(["--tags-ttl", "0"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", operator.path().join("home"))
        .stdin(Stdio::null())
        .stdout(File::create(&stdout).unwrap())
        .stderr(File::create(&stderr).unwrap())
        .spawn()
        .expect("start watch");
    let logs = || {
        format!(
            "stdout:\n{}\nstderr:\n{}",
            std::fs::read_to_string(&stdout).unwrap_or_default(),
            std::fs::read_to_string(&stderr).unwrap_or_default()
        )
    };
    // Generous: the machine is shared with other builds; the figure is benches/committer-bench's.
    let timeout = Duration::from_secs(120);
    wait_until(
        timeout,
        "the first round's two commits",
        || origin.commits("main") == 3,
        logs,
    );

    push(
        &registry,
        "shop/web",
        "2024-05-01T00:00:00Z",
        &["9f8e7d6", "latest"],
    )
    .await;
    wait_until(
        timeout,
        "the pushed tag committed",
        || crate::web_tag(&origin.file("main", WEB_LOCK)) == "9f8e7d6",
        logs,
    );
    assert_eq!(origin.commits("main"), 4, "{}", logs());
    assert!(
        origin
            .message("main")
            .contains("updates image apps.test/shop/web tag '0a1b2c3' to '9f8e7d6'"),
        "{}",
        origin.message("main")
    );

    let pid = child.id().to_string();
    let status = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(status.success());
    let until = std::time::Instant::now() + timeout;
    let code = loop {
        if let Some(status) = child.try_wait().expect("wait for watch") {
            break status.code();
        }
        assert!(
            std::time::Instant::now() < until,
            "watch did not stop after SIGTERM\n{}",
            logs()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(code, Some(0), "{}", logs());
    assert!(
        std::fs::read_to_string(&stdout)
            .unwrap()
            .contains("web: committed "),
        "{}",
        logs()
    );
}
