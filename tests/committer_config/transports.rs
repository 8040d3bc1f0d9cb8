//! The lock-file round over every transport with its credentials from the config file: `git daemon` (git://,
//! anonymous), smart HTTP with basic auth (`git.credentials` by URL prefix, a password file), ssh (a private key
//! file and `git.knownHostsFile`), and `write-back-method: git:secret:<ns>/<name>` with a mounted secrets dir
//! (`git.secretsDir`, then `--git-secrets-dir`). The password never shows in the output, nor in the cache.

use std::fs;
use std::path::PathBuf;

use crate::servers::{GitDaemon, SmartHttp, SshServer, server_dir};
use crate::support::TestRegistry;
use crate::{
    App, Operator, Origin, WEB_LOCK, any_file_holds, config, push, shop_origin, write_config,
};

const PASSWORD: &str = "s3cret-Correct-Horse-Battery";

/// Two `commit --config` runs for `web` at `url`: the lock file written, then a pushed build committed. Returns
/// every run's stdout and stderr.
async fn lock_round(
    registry: &TestRegistry,
    operator: &Operator,
    origin: &Origin,
    config_text: &str,
    extra: &[&str],
) -> String {
    let file = write_config(operator, config_text);
    let mut args = vec!["--config", file.to_str().unwrap()];
    args.extend_from_slice(extra);
    let first = operator.commit(&args);
    assert!(
        first.success().contains("web: committed "),
        "{}{}",
        first.stdout,
        first.stderr
    );
    assert!(
        crate::web_tag(&origin.file("main", WEB_LOCK)) == "0a1b2c3",
        "{}",
        origin.file("main", WEB_LOCK)
    );
    assert_message(origin, "(none)", "0a1b2c3");
    push(
        registry,
        "shop/web",
        "2024-05-01T00:00:00Z",
        &["9f8e7d6", "latest"],
    )
    .await;
    let second = operator.commit(&args);
    assert!(
        second.success().contains("  web: 0a1b2c3 → 9f8e7d6"),
        "{}{}",
        second.stdout,
        second.stderr
    );
    assert!(crate::web_tag(&origin.file("main", WEB_LOCK)) == "9f8e7d6");
    assert_message(origin, "0a1b2c3", "9f8e7d6");
    assert_eq!(origin.commits("main"), 3);
    format!(
        "{}{}{}{}",
        first.stdout, first.stderr, second.stdout, second.stderr
    )
}

/// The message of `main`'s tip lists the change of `web` from `old` to `new` (the default template), and its
/// trailer records it.
fn assert_message(origin: &Origin, old: &str, new: &str) {
    let message = origin.message("main");
    assert!(
        message.starts_with(&format!(
            "image-resolver: update web\n\nweb: {old} → {new} (strategy newest-build"
        )),
        "{message}"
    );
    let trailer_old = if old == "(none)" { "-" } else { old };
    assert!(
        message.contains(&format!(
            "Image-Resolver-Update: web=apps.test/shop/web {trailer_old} {new}"
        )),
        "{message}"
    );
}

/// What the servers export: the bare repository's parent.
fn root(origin: &Origin) -> PathBuf {
    origin.bare().parent().unwrap().to_path_buf()
}

fn assert_secret_kept(output: &str, operator: &Operator) {
    assert!(
        !output.contains(PASSWORD),
        "the password was printed:\n{output}"
    );
    if let Some(file) = any_file_holds(&operator.path().join("cache"), PASSWORD.as_bytes()) {
        panic!("the password is in the cache: {}", file.display());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn git_daemon() {
    let registry = crate::registry_with(&["0a1b2c3", "latest"]).await;
    let operator = Operator::new(&registry);
    let origin = shop_origin();
    let daemon = GitDaemon::start(&root(&origin), &operator.path().join("daemon.log"));
    let url = format!("git://127.0.0.1:{}/repo.git", daemon.port);
    lock_round(
        &registry,
        &operator,
        &origin,
        &config("", &[App::web(&url, "newest-build")]),
        &[],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smart_http_with_basic_auth_from_repository_credentials() {
    let registry = crate::registry_with(&["0a1b2c3", "latest"]).await;
    let operator = Operator::new(&registry);
    let origin = shop_origin();
    let server = SmartHttp::start(&root(&origin), "shop-bot", PASSWORD).await;
    let password = operator.path().join("password");
    fs::write(&password, format!("{PASSWORD}\n")).unwrap();
    let url = server.url("repo.git");
    let prefix = format!("http://{}/", server.server.addr);
    let git = format!(
        "  credentials:\n  - url: {prefix}\n    username: shop-bot\n    passwordFile: {}\n",
        password.display()
    );
    let output = lock_round(
        &registry,
        &operator,
        &origin,
        &config(&git, &[App::web(&url, "newest-build")]),
        &[],
    )
    .await;
    assert_secret_kept(&output, &operator);
    assert!(
        server
            .server
            .seen()
            .iter()
            .any(|s| s.authorization.is_some())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssh_with_a_key_file_and_known_hosts() {
    let registry = crate::registry_with(&["0a1b2c3", "latest"]).await;
    let operator = Operator::new(&registry);
    let origin = shop_origin();
    let dir = server_dir();
    let server = SshServer::start(dir.path());
    let url = server.url(&origin.bare());
    let git = format!(
        "  knownHostsFile: {}\n  credentials:\n  - url: ssh://{}@127.0.0.1:{}/\n    sshPrivateKeyFile: {}\n",
        server.known_hosts.display(),
        server.user,
        server.port,
        server.client_key.display()
    );
    let output = lock_round(
        &registry,
        &operator,
        &origin,
        &config(&git, &[App::web(&url, "newest-build")]),
        &[],
    )
    .await;
    let key = fs::read_to_string(&server.client_key).unwrap();
    for line in key.lines().filter(|l| !l.starts_with("-----")) {
        assert!(!output.contains(line), "the key was printed:\n{output}");
    }
}

/// `git:secret:team/shop-git`: `<dir>/team/shop-git/{username,password}`, the dir from the config file, or from
/// `--git-secrets-dir`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mounted_secret_named_by_write_back_method() {
    for from_flag in [false, true] {
        let registry = crate::registry_with(&["0a1b2c3", "latest"]).await;
        let operator = Operator::new(&registry);
        let origin = shop_origin();
        let server = SmartHttp::start(&root(&origin), "shop-bot", PASSWORD).await;
        let secrets = operator.path().join("secrets");
        let secret = secrets.join("team/shop-git");
        fs::create_dir_all(&secret).unwrap();
        fs::write(secret.join("username"), "shop-bot\n").unwrap();
        fs::write(secret.join("password"), PASSWORD).unwrap();
        let app = App::web(&server.url("repo.git"), "newest-build")
            .with("write-back-method", "git:secret:team/shop-git");
        let (git, extra) = if from_flag {
            (
                String::new(),
                vec!["--git-secrets-dir", secrets.to_str().unwrap()],
            )
        } else {
            (format!("  secretsDir: {}\n", secrets.display()), vec![])
        };
        let output = lock_round(&registry, &operator, &origin, &config(&git, &[app]), &extra).await;
        assert_secret_kept(&output, &operator);
    }
}
