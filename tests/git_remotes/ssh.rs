//! SSH through Debian's `sshd` on a loopback port: a private key and a known_hosts file, strict host key
//! checking, the port from the URL.

use std::fs;

use argocd_image_resolver::git::{GitCredentials, GitError, Remote, RemoteUrl, SshCredentials};

use crate::servers::{SshServer, keygen, server_dir};
use crate::{Origin, assert_no_secret, deadline, main_branch, round_trip, test_git};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssh_round_trip() {
    let origin = Origin::seeded();
    let dir = server_dir();
    let server = SshServer::start(dir.path());
    let creds =
        GitCredentials::Ssh(SshCredentials::new(&server.client_key, &server.known_hosts).unwrap());
    let remote = Remote::new(
        RemoteUrl::parse(&server.url(&origin.bare())).unwrap(),
        creds,
    )
    .unwrap();
    round_trip(&remote, &origin).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_the_server_does_not_know_is_an_auth_error() {
    let origin = Origin::seeded();
    let dir = server_dir();
    let server = SshServer::start(dir.path());
    let stranger = dir.path().join("stranger");
    keygen(&stranger, "stranger");
    let creds = GitCredentials::Ssh(SshCredentials::new(&stranger, &server.known_hosts).unwrap());
    let url = server.url(&origin.bare());
    let remote = Remote::new(RemoteUrl::parse(&url).unwrap(), creds).unwrap();
    let git = test_git();
    let err = git
        .git
        .checkout(&remote, &main_branch(), deadline())
        .await
        .expect_err("unknown key");
    assert!(matches!(err, GitError::AuthFailed { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains(&url) && text.contains("Permission denied"),
        "{text}"
    );
    let key = fs::read_to_string(&stranger).unwrap();
    let key_body: Vec<&str> = key.lines().filter(|l| !l.starts_with("-----")).collect();
    assert_no_secret(&text, &key_body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_key_not_in_known_hosts_is_refused() {
    let origin = Origin::seeded();
    let dir = server_dir();
    let server = SshServer::start(dir.path());
    let impostor = dir.path().join("impostor");
    keygen(&impostor, "impostor");
    let wrong_known_hosts = dir.path().join("wrong_known_hosts");
    let impostor_public = fs::read_to_string(dir.path().join("impostor.pub")).unwrap();
    fs::write(
        &wrong_known_hosts,
        format!("[127.0.0.1]:{} {impostor_public}", server.port),
    )
    .unwrap();
    let creds =
        GitCredentials::Ssh(SshCredentials::new(&server.client_key, &wrong_known_hosts).unwrap());
    let remote = Remote::new(
        RemoteUrl::parse(&server.url(&origin.bare())).unwrap(),
        creds,
    )
    .unwrap();
    let git = test_git();
    let err = git
        .git
        .checkout(&remote, &main_branch(), deadline())
        .await
        .expect_err("wrong host key");
    assert!(matches!(err, GitError::HostKey { .. }), "{err:?}");

    // A known_hosts file that does not list the server at all fails the same way.
    let other = dir.path().join("other_known_hosts");
    fs::write(&other, format!("[127.0.0.1]:1 {impostor_public}")).unwrap();
    let creds = GitCredentials::Ssh(SshCredentials::new(&server.client_key, &other).unwrap());
    let remote = Remote::new(
        RemoteUrl::parse(&server.url(&origin.bare())).unwrap(),
        creds,
    )
    .unwrap();
    let err = git
        .git
        .checkout(&remote, &main_branch(), deadline())
        .await
        .expect_err("unknown host");
    assert!(matches!(err, GitError::HostKey { .. }), "{err:?}");
}

/// ssh refuses a private key others can read; the wrapper says so before running it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_readable_by_others_is_refused_with_the_fix() {
    use std::os::unix::fs::PermissionsExt;
    let origin = Origin::seeded();
    let dir = server_dir();
    let key = dir.path().join("open_key");
    keygen(&key, "open");
    fs::set_permissions(&key, fs::Permissions::from_mode(0o644)).unwrap();
    let known_hosts = dir.path().join("known_hosts");
    fs::write(&known_hosts, "[127.0.0.1]:1 ssh-ed25519 AAAA\n").unwrap();
    let creds = GitCredentials::Ssh(SshCredentials::new(&key, &known_hosts).unwrap());
    let url = format!("ssh://git@127.0.0.1:1{}", origin.bare().display());
    let remote = Remote::new(RemoteUrl::parse(&url).unwrap(), creds).unwrap();
    let git = test_git();
    let err = git
        .git
        .checkout(&remote, &main_branch(), deadline())
        .await
        .expect_err("open key");
    assert!(matches!(err, GitError::CredentialFile { .. }), "{err:?}");
    assert!(err.to_string().contains("mode 644"), "{err}");
}
