//! Smart HTTP with basic auth: `git http-backend` as CGI behind an in-test axum server that answers 401 without
//! the right `Authorization` (no HTTP server is installed here; TEST-INFRA's nginx+fcgiwrap would do the same).

use std::fs;
use std::time::{Duration, Instant};

use argocd_image_resolver::git::{GitCredentials, GitError, HttpCredentials, Remote, RemoteUrl};

use crate::servers::{Silent, SmartHttp, redirector};
use crate::{Origin, assert_no_secret, deadline, main_branch, round_trip, test_git};

const PASSWORD: &str = "pa55-Correct-Horse";
const WRONG: &str = "wr0ng-Battery-Staple";

fn password_file(dir: &std::path::Path, name: &str, secret: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    fs::write(&path, format!("{secret}\n")).unwrap();
    path
}

fn remote(url: &str, credentials: GitCredentials) -> Remote {
    Remote::new(RemoteUrl::parse(url).unwrap(), credentials).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_basic_auth_round_trip() {
    let origin = Origin::seeded();
    let server = SmartHttp::start(origin.root(), "alice", PASSWORD).await;
    let file = password_file(origin.root(), "password", PASSWORD);
    let creds = GitCredentials::Http(HttpCredentials::new("alice", &file).unwrap());
    round_trip(&remote(&server.url("repo.git"), creds), &origin).await;
    let seen = server.server.seen();
    assert!(
        seen.iter().any(|s| s.authorization.is_some()),
        "credentials were sent"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_is_the_password_of_x_access_token() {
    let origin = Origin::seeded();
    let server = SmartHttp::start(origin.root(), "x-access-token", PASSWORD).await;
    let token = password_file(origin.root(), "token", PASSWORD);
    let creds = GitCredentials::Http(HttpCredentials::token(&token, None).unwrap());
    let git = test_git();
    let checkout = git
        .git
        .checkout(
            &remote(&server.url("repo.git"), creds),
            &main_branch(),
            deadline(),
        )
        .await
        .expect("clone with a token");
    assert_eq!(checkout.head().as_str(), origin.tip("main"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_or_missing_credentials_are_an_auth_error_without_the_secret() {
    let origin = Origin::seeded();
    let server = SmartHttp::start(origin.root(), "alice", PASSWORD).await;
    let url = server.url("repo.git");
    let wrong = password_file(origin.root(), "wrong", WRONG);
    let cases = [
        (
            "wrong password",
            GitCredentials::Http(HttpCredentials::new("alice", &wrong).unwrap()),
        ),
        ("no credentials", GitCredentials::None),
    ];
    for (name, creds) in cases {
        let git = test_git();
        let err = git
            .git
            .checkout(&remote(&url, creds), &main_branch(), deadline())
            .await
            .expect_err(name);
        assert!(
            matches!(err, GitError::AuthFailed { .. }),
            "case {name}: {err:?}"
        );
        let text = err.to_string();
        assert!(
            text.starts_with(&format!(
                "repository {url} (branch 'main') refused the credentials"
            )),
            "case {name}: {text}"
        );
        assert_no_secret(&text, &[PASSWORD, WRONG]);
        assert_no_secret(&format!("{err:?}"), &[PASSWORD, WRONG]);
    }
}

/// A server redirecting to another origin (another port) never gets the credentials: the askpass refuses the
/// prompt naming the new origin, and the target server sees no `Authorization` at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_do_not_follow_a_redirect_to_another_origin() {
    let origin = Origin::seeded();
    let target = SmartHttp::start(origin.root(), "alice", PASSWORD).await;
    let redirect = redirector(target.server.addr).await;
    let file = password_file(origin.root(), "password", PASSWORD);
    let creds = GitCredentials::Http(HttpCredentials::new("alice", &file).unwrap());
    let url = format!("http://{}/repo.git", redirect.addr);
    let git = test_git();
    let err = git
        .git
        .checkout(&remote(&url, creds), &main_branch(), deadline())
        .await
        .expect_err("redirected");
    assert!(matches!(err, GitError::AuthFailed { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("refusing to send the credentials"), "{text}");
    assert_no_secret(&text, &[PASSWORD]);
    assert!(
        !target.server.seen().is_empty(),
        "git followed the redirect"
    );
    for seen in target.server.seen() {
        assert_eq!(
            seen.authorization, None,
            "credentials reached another origin: {seen:?}"
        );
    }
}

/// The processes whose argument vector names `port`, after checking that no process on the machine has the
/// password in its argument vector or environment (what `ps` and `/proc` show).
fn processes_naming(port: u16) -> usize {
    let mut naming = 0;
    for entry in fs::read_dir("/proc").unwrap().flatten() {
        let proc_dir = entry.path();
        let Ok(cmdline) = fs::read(proc_dir.join("cmdline")) else {
            continue;
        };
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        let environ =
            String::from_utf8_lossy(&fs::read(proc_dir.join("environ")).unwrap_or_default())
                .into_owned();
        if cmdline.contains(&format!("127.0.0.1:{port}")) {
            naming += 1;
        }
        assert_no_secret(&cmdline, &[PASSWORD]);
        assert_no_secret(&environ, &[PASSWORD]);
    }
    naming
}

/// A server that accepts and never answers: the deadline stops git and its helpers. While git waits, no process
/// on the machine has the password in its argument vector or environment.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_server_times_out_and_no_process_shows_the_secret() {
    let silent = Silent::start();
    let dir = tempfile::tempdir().unwrap();
    let file = password_file(dir.path(), "password", PASSWORD);
    let creds = GitCredentials::Http(HttpCredentials::new("alice", &file).unwrap());
    let url = format!("http://127.0.0.1:{}/repo.git", silent.port);
    let git = test_git();
    let clone = {
        let (git, remote) = (git.git.clone(), remote(&url, creds));
        tokio::spawn(async move {
            // Long enough for the look at /proc below, which starts as soon as git has connected.
            git.checkout(
                &remote,
                &main_branch(),
                Instant::now() + Duration::from_secs(5),
            )
            .await
            .map(drop)
        })
    };
    // Git has connected and waits for an answer: it is running now.
    let mut connection = tokio::time::timeout(Duration::from_secs(60), silent.accept())
        .await
        .expect("git connects to the server");
    assert!(
        processes_naming(silent.port) > 0,
        "git was running against the silent server"
    );
    let err = clone.await.unwrap().expect_err("hangs");
    assert!(
        matches!(
            err,
            GitError::TimedOut {
                operation: "clone",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains(&url), "{err}");
    // Stopped, helpers included: the connection git held is closed (a helper left running would hold it open),
    // and no process names the server any more.
    let mut request = Vec::new();
    tokio::time::timeout(
        Duration::from_secs(60),
        tokio::io::AsyncReadExt::read_to_end(&mut connection, &mut request),
    )
    .await
    .expect("the connection is closed once the checkout returned")
    .ok();
    assert_eq!(
        processes_naming(silent.port),
        0,
        "a git process outlived the deadline"
    );
}

/// HTTPS: the server's certificate from a private CA, trusted through the remote's CA file; without it the
/// certificate is refused (never skipped) and nothing is sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_with_a_private_ca_round_trip() {
    let origin = Origin::seeded();
    let server = SmartHttp::start(origin.root(), "alice", PASSWORD).await;
    let pki = tempfile::tempdir().unwrap();
    let ca = crate::support::pki::TestCa::create(pki.path());
    let tls =
        crate::servers::TlsProxy::start(server.server.addr, &ca.server_cert, &ca.server_key).await;
    let file = password_file(origin.root(), "password", PASSWORD);
    let creds = GitCredentials::Http(HttpCredentials::new("alice", &file).unwrap());
    let url = format!("https://127.0.0.1:{}/repo.git", tls.port);

    let untrusted = remote(&url, creds.clone());
    let git = test_git();
    let err = git
        .git
        .checkout(&untrusted, &main_branch(), deadline())
        .await
        .expect_err("certificate of an unknown CA");
    assert!(matches!(err, GitError::Network { .. }), "{err:?}");
    assert!(
        err.to_string().to_lowercase().contains("certificate"),
        "{err}"
    );
    assert!(
        server.server.seen().is_empty(),
        "nothing reached the server"
    );

    let trusted = remote(&url, creds).with_ca_file(&ca.ca_cert).unwrap();
    round_trip(&trusted, &origin).await;
}
