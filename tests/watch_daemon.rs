//! `watch` as a daemon against a real `docker-registry` and real git remotes: applications sharing an image are
//! polled with one tag-list request per repository per interval, and only those whose repository changed act.
//!
//! Needs git and docker-registry (`scripts/install-test-deps`).

#[path = "committer_support/mod.rs"]
mod committer_support;
#[path = "support/mod.rs"]
mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use committer_support::{BIN, Operator, Origin, deployment, push_tags, registry_with, web_origin};

/// A free loopback port for the daemon's HTTP server.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `command` with the operator's registries.conf and cache, and nothing else from the environment but `PATH` and
/// a `HOME` of its own.
fn operator_command(operator: &Operator, command: &str) -> Command {
    let mut built = Command::new(BIN);
    built
        .arg(command)
        .args([
            "--registries-conf",
            operator.path().join("registries.conf").to_str().unwrap(),
        ])
        .args([
            "--cache-dir",
            operator.path().join("cache").to_str().unwrap(),
        ])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", operator.path().join("home"));
    built
}

/// Starts `watch` with `args`, the operator's registries.conf and cache, serving on loopback `port`, and a
/// channel of its log lines (read on a thread: the tests wait for what it says).
fn start_daemon(
    operator: &Operator,
    port: u16,
    args: &[&str],
    env: &[(&str, &std::path::Path)],
) -> (std::process::Child, std::sync::mpsc::Receiver<String>) {
    let mut daemon = operator_command(operator, "watch")
        .args(args)
        .args([
            "--log-level",
            "info",
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (lines, log) = std::sync::mpsc::channel::<String>();
    let stderr = daemon.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    (daemon, log)
}

/// The shared secret of the registry's notifications to the daemon.
const NOTIFICATION_SECRET: &str = "notification-secret-0123456789";

/// A docker-registry holding `shop/web` 1.0.0 that notifies the daemon's webhook on loopback `port` of every push
/// (distribution's own envelope, [`NOTIFICATION_SECRET`] in `Authorization`).
async fn notifying_registry(port: u16) -> support::TestRegistry {
    let registry = support::TestRegistry::plain_notifying(
        &format!("http://127.0.0.1:{port}/webhook/distribution"),
        NOTIFICATION_SECRET,
    )
    .await;
    push_tags(&registry, "2024-01-01T00:00:00Z", &["1.0.0"]).await;
    registry
}

/// `--webhook-secret` for the registry's notifications, the secret in a file as a mounted Secret has it (with the
/// newline an editor adds).
fn webhook_secret_arg(operator: &Operator) -> String {
    let file = operator.path().join("webhook-secret");
    std::fs::write(&file, format!("{NOTIFICATION_SECRET}\n")).unwrap();
    format!("--webhook-secret=distribution={}", file.display())
}

/// A config file's entry for `apps/web` of `origin` on `main`, in lock-file mode (semver `~1`).
fn lock_entry(name: &str, origin: &Origin) -> String {
    format!(
        "- name: {name}\n  repository: {}\n  targetRevision: main\n  path: apps/web\n  parameters:\n    \
         image-list: web=apps.test/shop/web:~1\n    write-back-method: git\n",
        origin.url()
    )
}

/// Reads the daemon's log into `seen` until a line satisfies `what`, and returns that line; fails the test if
/// the daemon stops or two minutes pass.
fn wait_for_line(
    log: &std::sync::mpsc::Receiver<String>,
    seen: &mut Vec<String>,
    what: &dyn Fn(&str) -> bool,
) -> String {
    let until = Instant::now() + Duration::from_secs(120);
    loop {
        match log.recv_timeout(Duration::from_secs(1)) {
            Ok(line) => {
                let hit = what(&line);
                seen.push(line);
                if hit {
                    return seen.last().unwrap().clone();
                }
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(e) => panic!("the daemon stopped: {e}: {seen:#?}"),
        }
        assert!(Instant::now() < until, "timed out: {seen:#?}");
    }
}

/// Sends SIGTERM, as the kubelet does, and checks the daemon stops cleanly (exit 0).
fn stop(daemon: &mut std::process::Child) {
    send_sigterm(daemon);
    assert!(daemon.wait().unwrap().success());
}

fn send_sigterm(daemon: &std::process::Child) {
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(daemon.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
}

/// Three applications (three repositories) tracking the same image: each interval the daemon asks the registry
/// for its tag list once, not once per application; a pushed tag becomes one commit in each repository.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn applications_sharing_an_image_cost_one_tag_list_request_per_interval() {
    let registry = registry_with(&["1.0.0"]).await;
    // The registry's requests, counted by a recording proxy in front of it (its own access log is off).
    let proxy = support::MockServer::proxy(registry.base.clone()).await;
    let operator = Operator::with_url(proxy.url().as_str());
    let origins: Vec<Origin> = (0..3).map(|_| web_origin()).collect();
    let mut config = String::from("interval: 1s\napplications:\n");
    for (n, origin) in origins.iter().enumerate() {
        config.push_str(&lock_entry(&format!("web-{n}"), origin));
    }
    let file = operator.path().join("committer.yaml");
    std::fs::write(&file, config).unwrap();
    let (mut daemon, log) = start_daemon(
        &operator,
        free_port(),
        &["--config", file.to_str().unwrap()],
        &[],
    );
    let wait_for = |what: &dyn Fn(&str) -> bool, seen: &mut Vec<String>| {
        wait_for_line(&log, seen, what);
    };
    let mut seen = Vec::new();
    // The first pass writes each lock file, then the polls begin.
    wait_for(&|l| l.contains("polled"), &mut seen);
    push_tags(&registry, "2024-02-01T00:00:00Z", &["1.1.0"]).await;
    for origin in &origins {
        let until = Instant::now() + Duration::from_secs(120);
        while !origin
            .file("main", "apps/web/image-resolver.lock.yaml")
            .contains("tag: 1.1.0")
        {
            assert!(Instant::now() < until, "no commit of 1.1.0: {seen:#?}");
            wait_for(&|l| l.contains("polled"), &mut seen);
        }
    }
    // Two more polls with nothing new.
    for _ in 0..2 {
        wait_for(&|l| l.contains("polled"), &mut seen);
    }
    stop(&mut daemon);
    for line in log.try_iter() {
        seen.push(line);
    }

    let polls = seen.iter().filter(|l| l.contains("polled")).count();
    let requests = proxy
        .seen()
        .iter()
        .filter(|r| r.method == "GET" && r.uri.starts_with("/v2/shop/web/tags/list"))
        .count();
    // One per poll, plus the first pass (one list for the three applications) and the round after the push
    // (the list the poll just stored).
    assert!(polls >= 3, "{seen:#?}");
    assert!(requests >= 1, "the registry's log shows its requests");
    assert!(
        requests <= polls + 2,
        "{requests} tag-list requests for {polls} polls of three applications"
    );
    for origin in &origins {
        assert_eq!(
            origin.commits("main"),
            3,
            "the first lock file, then one bump"
        );
    }
}

/// A registry's push notification wakes the daemon at once: Debian's docker-registry, configured to notify the
/// daemon's webhook endpoint (distribution's own envelope, with the shared secret in `Authorization`), and a
/// polling interval far longer than the test, so that only the webhook can explain the commit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registry_notification_becomes_a_commit_without_waiting_for_the_poll() {
    let port = free_port();
    let registry = notifying_registry(port).await;
    let operator = Operator::new(&registry);
    let origin = web_origin();
    let config = format!(
        "interval: 1h\napplications:\n{}",
        lock_entry("web", &origin)
    );
    let file = operator.path().join("committer.yaml");
    std::fs::write(&file, config).unwrap();
    let (mut daemon, log) = start_daemon(
        &operator,
        port,
        &[
            "--config",
            file.to_str().unwrap(),
            &webhook_secret_arg(&operator),
        ],
        &[],
    );
    // Ready, and the first pass wrote the lock file.
    let client = reqwest::Client::new();
    let until = Instant::now() + Duration::from_secs(120);
    loop {
        let ready = client
            .get(format!("http://127.0.0.1:{port}/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success());
        let written = origin
            .git(&["ls-tree", "--name-only", "main", "apps/web/"])
            .contains("image-resolver.lock.yaml");
        if ready && written {
            break;
        }
        assert!(
            Instant::now() < until && daemon.try_wait().unwrap().is_none(),
            "never ready: {:#?}",
            log.try_iter().collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        origin
            .file("main", "apps/web/image-resolver.lock.yaml")
            .contains("tag: 1.0.0")
    );

    push_tags(&registry, "2024-02-01T00:00:00Z", &["1.1.0"]).await;
    let until = Instant::now() + Duration::from_secs(60);
    while !origin
        .file("main", "apps/web/image-resolver.lock.yaml")
        .contains("tag: 1.1.0")
    {
        assert!(
            Instant::now() < until,
            "no commit: {:#?}",
            log.try_iter().collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let metrics = client
        .get(format!("http://127.0.0.1:{port}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.lines().any(
            |l| l.starts_with("argocd_image_resolver_webhook_events_total")
                && l.contains("source=\"distribution\"")
                && l.contains("result=\"accepted\"")
                && !l.ends_with(" 0")
        ),
        "{metrics}"
    );
    stop(&mut daemon);
}

/// The sidecar's `generate` of the render-time Application `web` (`shop/web:~1`) in a checkout of `origin`, as
/// Argo CD runs it: the operator's cache directory (the volume the daemon shares) and the default tag-list TTL.
fn sidecar_render(operator: &Operator, origin: &Origin) -> String {
    let checkout = operator.path().join("checkout");
    let _ = std::fs::remove_dir_all(&checkout);
    let cloned = Command::new("git")
        .args(["clone", "-q", &origin.url()])
        .arg(&checkout)
        .output()
        .unwrap();
    assert!(cloned.status.success(), "{cloned:?}");
    let out = operator_command(operator, "generate")
        .current_dir(checkout.join("apps/web"))
        .env("ARGOCD_APP_NAME", "web")
        .env("ARGOCD_APP_NAMESPACE", "shop")
        .env(
            "ARGOCD_APP_PARAMETERS",
            r#"[{"name": "image-list", "string": "web=apps.test/shop/web:~1"}]"#,
        )
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap()
}

/// The render-time Application `web` (`shop/web:~1` from `origin`, in `argocd`) that the fake API server holds,
/// with another plugin's beside it, and a kubeconfig naming that server.
struct Cluster {
    fake: support::kubeapi::Shared,
    api: support::kubeapi::Server,
    kubeconfig: std::path::PathBuf,
}

impl Cluster {
    async fn with_web(
        operator: &Operator,
        origin: &Origin,
        annotations: serde_json::Value,
    ) -> Cluster {
        use support::kubeapi::{Fake, serve};
        let fake = Fake::new();
        fake.put("argocd", "web", annotations, web_spec(origin));
        // Another plugin's Application: left alone.
        fake.put(
            "argocd",
            "other",
            serde_json::json!({}),
            serde_json::json!({"source": {"repoURL": origin.url(), "path": "apps/web", "plugin": {"name": "other-v1"}}}),
        );
        let api = serve(&fake, 0).await;
        let kubeconfig = operator.path().join("kubeconfig");
        std::fs::write(
            &kubeconfig,
            format!(
                "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n    server: http://127.0.0.1:{}\n\
                 contexts:\n- name: fake\n  context:\n    cluster: fake\n    user: fake\ncurrent-context: fake\n\
                 users:\n- name: fake\n  user: {{}}\n",
                api.port
            ),
        )
        .unwrap();
        Cluster {
            fake,
            api,
            kubeconfig,
        }
    }

    fn patches(&self) -> usize {
        self.fake.store().patches.len()
    }
}

fn web_spec(origin: &Origin) -> serde_json::Value {
    serde_json::json!({
        "destination": {"namespace": "shop"},
        "source": {"repoURL": origin.url(), "path": "apps/web", "targetRevision": "main",
                   "plugin": {"name": "argocd-image-resolver-v1",
                              "parameters": [{"name": "image-list", "string": "web=apps.test/shop/web:~1"}]}},
    })
}

/// Waits until the daemon has probed the discovered application and polled its repository once; the log so far.
fn wait_first_poll(log: &std::sync::mpsc::Receiver<String>) -> Vec<String> {
    let mut seen = Vec::new();
    wait_for_line(log, &mut seen, &|l| {
        l.contains("polled") && l.contains("repositories=1")
    });
    seen
}

/// A render-time Application found in the cluster (the Kubernetes API is an in-test fake, see
/// `support::kubeapi`: no kube-apiserver runs here): when its registry notifies a newer tag its policy allows (a
/// polling interval far longer than the test: only the webhook can explain it), the daemon asks Argo CD for a
/// hard refresh of exactly that Application, with the merge patch `argocd app get --hard-refresh` sends; nothing
/// is committed to its repository. The render that refresh brings shows the new tag at once, although the
/// sidecar's cache held the old tag list well within its TTL: the daemon stored the list it fetched there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pushed_image_of_a_render_time_application_asks_argo_cd_for_a_hard_refresh() {
    let port = free_port();
    let registry = notifying_registry(port).await;
    let operator = Operator::new(&registry);
    let origin = web_origin();
    let cluster = Cluster::with_web(&operator, &origin, serde_json::json!({})).await;
    let (mut daemon, log) = start_daemon(
        &operator,
        port,
        &[
            "--application-namespaces",
            "argocd",
            "--interval",
            "1h",
            &webhook_secret_arg(&operator),
        ],
        &[("KUBECONFIG", cluster.kubeconfig.as_path())],
    );
    wait_first_poll(&log);
    assert_eq!(cluster.patches(), 0, "nothing changed yet");
    // Argo CD's render before the push: the sidecar's cache now holds the list of 1.0.0, fresh for 30 s.
    assert!(sidecar_render(&operator, &origin).contains("image: apps.test/shop/web:1.0.0"));
    push_tags(&registry, "2024-02-01T00:00:00Z", &["1.1.0"]).await;
    let until = Instant::now() + Duration::from_secs(60);
    while cluster.patches() == 0 {
        assert!(
            Instant::now() < until,
            "no refresh: {:#?}",
            log.try_iter().collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let patches = cluster.fake.store().patches.clone();
    assert_eq!(patches.len(), 1, "{patches:?}");
    let (path, content_type, body) = &patches[0];
    assert_eq!(
        path,
        "/apis/argoproj.io/v1alpha1/namespaces/argocd/applications/web"
    );
    assert_eq!(content_type, "application/merge-patch+json");
    assert_eq!(
        body,
        &serde_json::json!({"metadata": {"annotations": {"argocd.argoproj.io/refresh": "hard"}}})
    );
    assert_eq!(
        origin.commits("main"),
        1,
        "a render-time application gets no commit"
    );
    // The render the refresh asks for.
    let rendered = sidecar_render(&operator, &origin);
    assert!(
        rendered.contains("image: apps.test/shop/web:1.1.0"),
        "{rendered}"
    );
    stop(&mut daemon);
    cluster.api.stop(&cluster.fake).await;
}

/// A hard refresh still pending when the new tag arrives (Argo CD may be rendering it already, with the old list)
/// is not patched over — the patch would change nothing — but asked for again once Argo CD has taken the
/// annotation off, at the next poll.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_pending_when_the_tag_arrives_is_asked_again_once_done() {
    let registry = registry_with(&["1.0.0"]).await;
    let operator = Operator::new(&registry);
    let origin = web_origin();
    let pending = serde_json::json!({"argocd.argoproj.io/refresh": "hard"});
    let cluster = Cluster::with_web(&operator, &origin, pending).await;
    let port = free_port();
    let (mut daemon, log) = start_daemon(
        &operator,
        port,
        &["--application-namespaces", "argocd", "--interval", "1s"],
        &[("KUBECONFIG", cluster.kubeconfig.as_path())],
    );
    let mut seen = wait_first_poll(&log);
    push_tags(&registry, "2024-02-01T00:00:00Z", &["1.1.0"]).await;
    let skipped = r#"argocd_image_resolver_refreshes_total{result="skipped"}"#;
    let client = reqwest::Client::new();
    let until = Instant::now() + Duration::from_secs(60);
    loop {
        let metrics = client
            .get(format!("http://127.0.0.1:{port}/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if metrics
            .lines()
            .any(|l| l.starts_with(skipped) && !l.ends_with(" 0"))
        {
            break;
        }
        seen.extend(log.try_iter());
        assert!(Instant::now() < until, "never found pending: {seen:#?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        cluster.patches(),
        0,
        "nothing patched over a pending refresh"
    );
    // Argo CD's controller finishes the refresh it was doing and takes the annotation off.
    cluster
        .fake
        .put("argocd", "web", serde_json::json!({}), web_spec(&origin));
    while cluster.patches() == 0 {
        seen.extend(log.try_iter());
        assert!(Instant::now() < until, "not asked again: {seen:#?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let patches = cluster.fake.store().patches.clone();
    assert_eq!(
        patches[0].2,
        serde_json::json!({"metadata": {"annotations": {"argocd.argoproj.io/refresh": "hard"}}})
    );
    stop(&mut daemon);
    cluster.api.stop(&cluster.fake).await;
}

/// The config file is read again when it changes, as a mounted ConfigMap does: a version with an unknown key is
/// logged (naming the key) and counted, and the daemon goes on with the applications it had; a valid version
/// that adds an application gets it its first commit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_config_file_is_read_again_and_a_bad_one_changes_nothing() {
    let registry = registry_with(&["1.0.0"]).await;
    let operator = Operator::new(&registry);
    let origins: Vec<Origin> = (0..2).map(|_| web_origin()).collect();
    let entry = |n: usize| lock_entry(&format!("web-{n}"), &origins[n]);
    let file = operator.path().join("committer.yaml");
    // Replaced whole, as the kubelet swaps a ConfigMap's files.
    let write = |text: String| {
        let next = operator.path().join("committer.yaml.next");
        std::fs::write(&next, text).unwrap();
        std::fs::rename(&next, &file).unwrap();
    };
    write(format!("interval: 1s\napplications:\n{}", entry(0)));
    let port = free_port();
    let (mut daemon, log) =
        start_daemon(&operator, port, &["--config", file.to_str().unwrap()], &[]);
    let mut seen = Vec::new();
    let mut wait_for = |what: &dyn Fn(&str) -> bool| wait_for_line(&log, &mut seen, what);
    wait_for(&|l| l.contains("polled"));
    assert_eq!(origins[0].commits("main"), 2, "web-0's lock file");

    write(format!(
        "interval: 1s\napplications:\n{}  imageList: web=apps.test/shop/web:~2\n",
        entry(1)
    ));
    let error = wait_for(&|l| l.contains("ERROR"));
    assert!(
        error.contains("committer.yaml") && error.contains("imageList"),
        "the error names the file and the key: {error}"
    );
    assert!(
        error.contains("the 1 applications read before stay watched"),
        "{error}"
    );
    wait_for(&|l| l.contains("polled"));
    let client = reqwest::Client::new();
    let metrics = client
        .get(format!("http://127.0.0.1:{port}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics
            .lines()
            .any(|l| l == r#"argocd_image_resolver_config_reloads_total{result="invalid"} 1"#),
        "{metrics}"
    );
    assert_eq!(origins[1].commits("main"), 1, "not from the bad version");

    write(format!(
        "interval: 1s\napplications:\n{}{}",
        entry(0),
        entry(1)
    ));
    let until = Instant::now() + Duration::from_secs(120);
    while origins[1].commits("main") < 2 {
        assert!(Instant::now() < until, "web-1 never committed");
        wait_for(&|l| l.contains("polled"));
    }
    assert!(
        origins[1]
            .file("main", "apps/web/image-resolver.lock.yaml")
            .contains("tag: 1.0.0")
    );
    assert_eq!(origins[0].commits("main"), 2, "web-0 had nothing new");
    stop(&mut daemon);
}

/// In the repo-server pod a daemon that exits takes repo-server out of service with it, so a config file that
/// does not read and a webhook secret that is missing at start are reported, not fatal: the daemon serves, and
/// picks up the config file once it is fixed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daemon_started_with_a_bad_config_or_secret_keeps_running() {
    let registry = registry_with(&["1.0.0"]).await;
    let operator = Operator::new(&registry);
    let origin = web_origin();
    let entry = lock_entry("web", &origin);
    let file = operator.path().join("committer.yaml");
    std::fs::write(
        &file,
        format!("interval: 1s\napplications:\n{entry}  tpyo: 1\n"),
    )
    .unwrap();
    let port = free_port();
    let missing = operator.path().join("no-such-secret");
    let (mut daemon, log) = start_daemon(
        &operator,
        port,
        &[
            "--config",
            file.to_str().unwrap(),
            &format!("--webhook-secret=github={}", missing.display()),
            "--interval",
            "1s",
        ],
        &[],
    );
    let mut seen = Vec::new();
    let until = Instant::now() + Duration::from_secs(120);
    while seen
        .iter()
        .filter(|l: &&String| l.contains("ERROR"))
        .count()
        < 2
    {
        match log.recv_timeout(Duration::from_secs(1)) {
            Ok(line) => seen.push(line),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(e) => panic!("the daemon stopped: {e}: {seen:#?}"),
        }
        assert!(Instant::now() < until, "{seen:#?}");
    }
    let errors: Vec<&String> = seen.iter().filter(|l| l.contains("ERROR")).collect();
    assert!(
        errors
            .iter()
            .any(|l| l.contains("committer.yaml") && l.contains("tpyo")),
        "{errors:#?}"
    );
    assert!(
        errors
            .iter()
            .any(|l| l.contains("--webhook-secret github") && l.contains("no-such-secret")),
        "{errors:#?}"
    );
    let client = reqwest::Client::new();
    let status = client
        .post(format!("http://127.0.0.1:{port}/webhook/github"))
        .body("{}")
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 404, "a source without its secret is refused");
    assert!(daemon.try_wait().unwrap().is_none(), "still running");

    std::fs::write(&file, format!("interval: 1s\napplications:\n{entry}")).unwrap();
    while origin.commits("main") < 2 {
        seen.extend(log.try_iter());
        assert!(
            Instant::now() < until && daemon.try_wait().unwrap().is_none(),
            "the fixed config was not picked up: {seen:#?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop(&mut daemon);
}

/// SIGTERM during a push: the daemon finishes it (the commit lands), then exits 0. The remote's pre-receive hook
/// holds the push until the test has sent the signal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_the_push_in_flight_finish() {
    use std::os::unix::fs::PermissionsExt as _;

    let registry = registry_with(&["1.0.0"]).await;
    let operator = Operator::new(&registry);
    let origin = web_origin();
    let gate = operator.path().join("gate");
    std::fs::create_dir(&gate).unwrap();
    let hook = origin.bare().join("hooks/pre-receive");
    std::fs::write(
        &hook,
        format!(
            "#!/bin/sh\ntouch '{0}/entered'\nwhile [ ! -e '{0}/release' ]; do sleep 0.05; done\n",
            gate.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    let file = operator.path().join("committer.yaml");
    std::fs::write(
        &file,
        format!(
            "interval: 1h\napplications:\n{}",
            lock_entry("web", &origin)
        ),
    )
    .unwrap();
    let (mut daemon, log) = start_daemon(
        &operator,
        free_port(),
        &["--config", file.to_str().unwrap()],
        &[],
    );
    let until = Instant::now() + Duration::from_secs(120);
    while !gate.join("entered").exists() {
        assert!(
            Instant::now() < until && daemon.try_wait().unwrap().is_none(),
            "the push never reached the remote: {:#?}",
            log.try_iter().collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    send_sigterm(&daemon);
    std::fs::write(gate.join("release"), "").unwrap();
    let status = daemon.wait().unwrap();
    let seen: Vec<String> = log.try_iter().collect();
    assert!(status.success(), "{status}: {seen:#?}");
    assert!(
        origin
            .file("main", "apps/web/image-resolver.lock.yaml")
            .contains("tag: 1.0.0"),
        "the lock file was pushed: {seen:#?}"
    );
}

/// An application added while the daemon runs (here by its config file) resolves a repository no poll has seen
/// yet. A tag pushed right after that first action, before the next poll, is still a change: the list the action
/// used is the repository's baseline, not whatever the next poll finds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tag_pushed_between_an_added_application_s_first_action_and_the_next_poll_is_noticed() {
    let registry = registry_with(&["1.0.0"]).await;
    registry
        .pusher()
        .image_tagged("shop/api", "2024-01-01T00:00:00Z", &["1.0.0"])
        .await;
    let operator = Operator::new(&registry);
    let web = web_origin();
    let api = Origin::new(&[(
        "apps/web/deployment.yaml",
        &deployment("api", "apps.test/shop/api:1.0.0"),
    )]);
    let file = operator.path().join("committer.yaml");
    std::fs::write(
        &file,
        format!("interval: 1s\napplications:\n{}", lock_entry("web", &web)),
    )
    .unwrap();
    let (mut daemon, log) = start_daemon(
        &operator,
        free_port(),
        &["--config", file.to_str().unwrap()],
        &[],
    );
    let mut seen = Vec::new();
    wait_for_line(&log, &mut seen, &|l| l.contains("polled"));
    let api_entry = format!(
        "- name: api\n  repository: {}\n  targetRevision: main\n  path: apps/web\n  parameters:\n    \
         image-list: api=apps.test/shop/api:~1\n    write-back-method: git\n",
        api.url()
    );
    let next = operator.path().join("committer.yaml.next");
    std::fs::write(
        &next,
        format!(
            "interval: 1s\napplications:\n{}{api_entry}",
            lock_entry("web", &web)
        ),
    )
    .unwrap();
    std::fs::rename(&next, &file).unwrap();
    let until = Instant::now() + Duration::from_secs(120);
    while api.commits("main") < 2 {
        seen.extend(log.try_iter());
        assert!(Instant::now() < until, "api never committed: {seen:#?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    registry
        .pusher()
        .image_tagged("shop/api", "2024-02-01T00:00:00Z", &["1.1.0"])
        .await;
    while !api
        .file("main", "apps/web/image-resolver.lock.yaml")
        .contains("tag: 1.1.0")
    {
        seen.extend(log.try_iter());
        assert!(Instant::now() < until, "1.1.0 never committed: {seen:#?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop(&mut daemon);
}
