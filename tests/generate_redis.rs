//! `generate --cache redis://…` through the real CLI, against a real `docker-registry` behind a recording proxy and
//! a real `redis-server` (`scripts/install-test-deps`): renders of three "replicas" (three cache directories) at
//! once ask the registry for a tag list once; a URL that is not one is refused at once without repeating its
//! password; a Redis that refuses the password leaves the render working on its cache directory, with a warning
//! that names the server and never the password.

mod support;

#[path = "support/redis.rs"]
mod redis_support;

use std::path::Path;
use std::process::Output;

use redis_support::TestRedis;
use support::proxied::ProxiedApp;

fn generate(dir: &Path, replica: usize, args: &[&str]) -> std::process::Child {
    support::proxied::generate(dir, &dir.join(format!("replica-{replica}")))
        .args(args)
        .spawn()
        .unwrap()
}

fn text(output: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_sharing_redis_ask_the_registry_once() {
    let setup = ProxiedApp::new("redis.test", None).await;
    let redis = TestRedis::start();
    let dir = setup.dir.path().to_owned();
    let url = redis.url();
    let outputs: Vec<Output> = tokio::task::spawn_blocking(move || {
        let children: Vec<_> = (0..12)
            .map(|n| generate(&dir, n % 3, &["--cache", &url]))
            .collect();
        children
            .into_iter()
            .map(|c| c.wait_with_output().unwrap())
            .collect()
    })
    .await
    .unwrap();
    for output in &outputs {
        let (stdout, stderr) = text(output);
        assert!(output.status.success(), "{stderr}");
        assert!(
            stdout.contains("image: redis.test/shop/web:1.1.0"),
            "{stdout}"
        );
    }
    assert_eq!(setup.tag_lists(), 1, "{:?}", setup.proxy.seen());
    // Each fetch's lock was let go before its process went on: none is left to hold up the next renders.
    let keys = redis.keys_with_ttl();
    assert!(
        !keys.iter().any(|(key, _)| key.contains(":lock:")),
        "{keys:?}"
    );

    // A later render in a new replica (an empty directory) is answered by Redis.
    let later = tokio::task::spawn_blocking({
        let dir = setup.dir.path().to_owned();
        let url = redis.url();
        move || {
            generate(&dir, 7, &["--cache", &url])
                .wait_with_output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    assert!(later.status.success());
    assert_eq!(setup.tag_lists(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_url_is_refused_and_a_wrong_password_falls_back() {
    let setup = ProxiedApp::new("redis.test", None).await;
    let dir = setup.dir.path().to_owned();
    let refused = tokio::task::spawn_blocking({
        let dir = dir.clone();
        move || {
            generate(&dir, 0, &["--cache", "redis://:hunter2-secret@cache/zero"])
                .wait_with_output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    let (stdout, stderr) = text(&refused);
    assert_eq!(refused.status.code(), Some(2), "{stderr}");
    assert!(stdout.is_empty(), "nothing partial on stdout: {stdout}");
    assert!(
        stderr.contains("--cache: what follows the host is not a database number"),
        "{stderr}"
    );
    assert!(!stderr.contains("hunter2"), "{stderr}");
    let help = std::process::Command::new(env!("CARGO_BIN_EXE_argocd-image-resolver"))
        .args(["generate", "--help"])
        .env(
            "IMAGE_RESOLVER_CACHE",
            "redis://:hunter2-secret@cache:6379/0",
        )
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(help.contains("--cache <URL>"), "{help}");
    assert!(!help.contains("hunter2"), "--help shows no URL: {help}");

    let redis = TestRedis::with_password("the-right-password");
    let url = format!("redis://:not-the-password@127.0.0.1:{}/0", redis.port);
    let fallback = tokio::task::spawn_blocking({
        let dir = dir.clone();
        move || {
            generate(&dir, 0, &["--cache", &url])
                .wait_with_output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    let (stdout, stderr) = text(&fallback);
    assert!(fallback.status.success(), "{stderr}");
    assert!(
        stdout.contains("image: redis.test/shop/web:1.1.0"),
        "{stdout}"
    );
    assert!(
        stderr.contains(&format!("redis://127.0.0.1:{}/0", redis.port))
            && stderr.contains("using the local cache directory"),
        "the warning names the server: {stderr}"
    );
    assert!(!stderr.contains("not-the-password"), "{stderr}");

    // The right password, from a file as a mounted Secret gives it.
    let password = dir.join("redis-password");
    std::fs::write(&password, "the-right-password\n").unwrap();
    let url = format!("redis://127.0.0.1:{}/0", redis.port);
    let with_file = tokio::task::spawn_blocking({
        let dir = dir.clone();
        move || {
            generate(
                &dir,
                1,
                &[
                    "--cache",
                    &url,
                    "--cache-password-file",
                    password.to_str().unwrap(),
                ],
            )
            .wait_with_output()
            .unwrap()
        }
    })
    .await
    .unwrap();
    let (_, stderr) = text(&with_file);
    assert!(with_file.status.success(), "{stderr}");
    assert!(!stderr.contains("Redis cache:"), "no fallback: {stderr}");
    assert!(
        redis
            .keys_with_ttl()
            .iter()
            .any(|(key, _)| key.starts_with("argocd-image-resolver:v1:tags:")),
        "the list is in Redis"
    );
}

/// `rediss://`: the server's certificate is checked against the system's roots (here the test CA, given as
/// `SSL_CERT_FILE` as a pod would mount a CA bundle); a certificate not trusted is a fallback, not a render error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rediss_checks_the_server_s_certificate() {
    let setup = ProxiedApp::new("redis.test", None).await;
    let pki = tempfile::tempdir().unwrap();
    let ca = support::pki::TestCa::create(pki.path());
    let redis = TestRedis::with_tls(&ca.server_cert, &ca.server_key);
    let dir = setup.dir.path().to_owned();
    let url = redis.url();
    assert!(url.starts_with("rediss://"), "{url}");
    let render = |replica: usize, trust: Option<std::path::PathBuf>| {
        let (dir, url) = (dir.clone(), url.clone());
        tokio::task::spawn_blocking(move || {
            let mut command =
                support::proxied::generate(&dir, &dir.join(format!("replica-{replica}")));
            command.args(["--cache", &url]);
            if let Some(ca) = trust {
                command.env("SSL_CERT_FILE", ca);
            }
            command.spawn().unwrap().wait_with_output().unwrap()
        })
    };
    let trusted = render(0, Some(ca.ca_cert.clone())).await.unwrap();
    let (_, stderr) = text(&trusted);
    assert!(trusted.status.success(), "{stderr}");
    assert!(!stderr.contains("Redis cache:"), "no fallback: {stderr}");
    let shared = render(1, Some(ca.ca_cert.clone())).await.unwrap();
    assert!(shared.status.success());
    assert_eq!(
        setup.tag_lists(),
        1,
        "the second replica read Redis over TLS"
    );

    let untrusted = render(2, None).await.unwrap();
    let (stdout, stderr) = text(&untrusted);
    assert!(untrusted.status.success(), "{stderr}");
    assert!(
        stdout.contains("image: redis.test/shop/web:1.1.0"),
        "{stdout}"
    );
    assert!(
        stderr.contains("Redis cache: cannot connect"),
        "an untrusted certificate is a fallback: {stderr}"
    );
}

/// Redis that stops answering mid-render (`CLIENT PAUSE`, as an overloaded or failing-over server) while the
/// registry never answers either: the render still ends within its budget with the last tag it resolved, from
/// the pod's own directory, rather than waiting on Redis past its deadline.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_redis_never_takes_a_render_past_its_budget() {
    let setup = ProxiedApp::new("redis.test", None).await;
    let redis = TestRedis::start();
    let dir = setup.dir.path().to_owned();
    let url = redis.url();
    // The second asks the registry (no tag list kept), so that it books its requests in Redis first.
    let render = |budget: &'static str, tags_ttl: &'static str| {
        let (dir, url) = (dir.clone(), url.clone());
        tokio::task::spawn_blocking(move || {
            support::proxied::generate(&dir, &dir.join("replica-0"))
                .args(["--cache", &url, "--budget", budget, "--tags-ttl", tags_ttl])
                .spawn()
                .unwrap()
                .wait_with_output()
                .unwrap()
        })
    };
    let first = render("30s", "30s").await.unwrap();
    assert!(first.status.success(), "{}", text(&first).1);

    // A registry that accepts connections and never answers.
    let (silent_port, _held) = redis_support::broken_server(false);
    std::fs::write(
        dir.join("registries.conf"),
        format!("registries:\n- name: local\n  prefix: redis.test\n  api_url: http://127.0.0.1:{silent_port}\n"),
    )
    .unwrap();
    // The second render books its registry requests in Redis, then waits on the silent registry: once its booking
    // is there (its connection is up), Redis stops answering, before the render falls back after its deadline.
    let rate_keys = || {
        redis
            .keys_with_ttl()
            .into_iter()
            .filter(|(key, _)| key.contains(":rate:"))
            .count()
    };
    for (key, _) in redis.keys_with_ttl() {
        if key.contains(":rate:") {
            redis.command(&["DEL", &key]);
        }
    }
    let second = render("5s", "0");
    let until = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while rate_keys() == 0 {
        assert!(
            std::time::Instant::now() < until,
            "the render never booked in Redis"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(redis.command(&["CLIENT", "PAUSE", "30000", "ALL"]), "+OK");
    let second = second.await.unwrap();
    let (stdout, stderr) = text(&second);
    assert!(second.status.success(), "{stderr}");
    assert!(
        stdout.contains("image: redis.test/shop/web:1.1.0"),
        "{stdout}"
    );
    assert!(stderr.contains("Redis cache:"), "{stderr}");
}

/// The cache is the operator's: an Application's plugin env (`ARGOCD_ENV_…`) cannot point the sidecar at a Redis
/// of its choosing, nor name a file to be read and sent as the password.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_application_cannot_choose_the_cache() {
    let setup = ProxiedApp::new("redis.test", None).await;
    let redis = TestRedis::start();
    let output = tokio::task::spawn_blocking({
        let dir = setup.dir.path().to_owned();
        let url = redis.url();
        move || {
            support::proxied::generate(&dir, &dir.join("replica-0"))
                .env("ARGOCD_ENV_IMAGE_RESOLVER_CACHE", &url)
                .env(
                    "ARGOCD_ENV_IMAGE_RESOLVER_CACHE_PASSWORD_FILE",
                    "/etc/hostname",
                )
                .env("ARGOCD_ENV_IMAGE_RESOLVER_CACHE_MAX_SIZE", "1")
                .spawn()
                .unwrap()
                .wait_with_output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    let (stdout, stderr) = text(&output);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stdout.contains("image: redis.test/shop/web:1.1.0"),
        "{stdout}"
    );
    assert!(
        redis.keys_with_ttl().is_empty(),
        "the Application's Redis was not used"
    );
}
