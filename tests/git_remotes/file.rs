//! A bare repository over `file://`: the transport needs no server, so it also carries the tests of the clone's
//! life (see `behaviour`).

use argocd_image_resolver::git::{GitCredentials, GitError, Remote, RemoteUrl};

use crate::{Origin, deadline, main_branch, round_trip, test_git};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_round_trip() {
    let origin = Origin::seeded();
    let url = RemoteUrl::parse(&origin.file_url()).unwrap();
    let remote = Remote::new(url, GitCredentials::None).unwrap();
    round_trip(&remote, &origin).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_repository_is_named() {
    let origin = Origin::seeded();
    let url = RemoteUrl::parse(&format!("file://{}/nope.git", origin.root().display())).unwrap();
    let remote = Remote::new(url, GitCredentials::None).unwrap();
    let git = test_git();
    let err = git
        .git
        .checkout(&remote, &main_branch(), deadline())
        .await
        .expect_err("no repository");
    assert!(
        matches!(err, GitError::RepositoryNotFound { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("nope.git"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_branch_is_named() {
    let origin = Origin::seeded();
    let remote = Remote::new(
        RemoteUrl::parse(&origin.file_url()).unwrap(),
        GitCredentials::None,
    )
    .unwrap();
    let git = test_git();
    let branch = argocd_image_resolver::git::BranchName::new("release").unwrap();
    let err = git
        .git
        .checkout(&remote, &branch, deadline())
        .await
        .expect_err("no branch");
    assert!(matches!(err, GitError::BranchNotFound { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!("repository {} has no branch 'release'", origin.file_url())
    );
}
