//! `git daemon --enable=receive-pack` (the `git://` transport): anonymous, push enabled.

use argocd_image_resolver::git::{GitCredentials, GitError, Remote, RemoteUrl};

use crate::servers::GitDaemon;
use crate::{Origin, deadline, main_branch, round_trip, test_git};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daemon_round_trip() {
    let origin = Origin::seeded();
    let daemon = GitDaemon::start(origin.root(), &origin.root().join("daemon.log"));
    let url = RemoteUrl::parse(&format!("git://127.0.0.1:{}/repo.git", daemon.port)).unwrap();
    let remote = Remote::new(url, GitCredentials::None).unwrap();
    round_trip(&remote, &origin).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daemon_that_is_down_is_a_network_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = RemoteUrl::parse(&format!("git://127.0.0.1:{port}/repo.git")).unwrap();
    let remote = Remote::new(url, GitCredentials::None).unwrap();
    let git = test_git();
    let err = git
        .git
        .checkout(&remote, &main_branch(), deadline())
        .await
        .expect_err("down");
    assert!(matches!(err, GitError::Network { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.starts_with(&format!(
            "cannot reach repository git://127.0.0.1:{port}/repo.git (branch 'main')"
        )),
        "{text}"
    );
}
