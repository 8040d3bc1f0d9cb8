//! The clone's life and the operations around a commit, over `file://` (no server needed): signing, reuse,
//! damaged clones, history for reverts, unsafe writes, the lock, a missing git.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use argocd_image_resolver::git::{
    Author, CommitOutcome, Git, GitCredentials, GitError, GitOptions, Oid, Remote, RemoteUrl,
    RepoPath, SigningKey,
};
use argocd_image_resolver::process::Env;

use crate::servers::keygen;
use crate::{LOCK, Origin, bot, bump, deadline, git, lock_path, main_branch, test_git};

fn file_remote(origin: &Origin) -> Remote {
    Remote::new(
        RemoteUrl::parse(&origin.file_url()).unwrap(),
        GitCredentials::None,
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commits_are_signed_with_an_ssh_key() {
    let origin = Origin::seeded();
    let keys = tempfile::tempdir().unwrap();
    let key = keys.path().join("signing");
    keygen(&key, "signing");
    let public = fs::read_to_string(keys.path().join("signing.pub")).unwrap();
    let allowed = keys.path().join("allowed_signers");
    fs::write(
        &allowed,
        format!("image-resolver@example.com namespaces=\"git\" {public}"),
    )
    .unwrap();

    let test = test_git();
    let mut checkout = test
        .git
        .checkout(&file_remote(&origin), &main_branch(), deadline())
        .await
        .unwrap();
    checkout.write_file(&lock_path(), b"shop: v9\n").unwrap();
    let signing = SigningKey::ssh(&key).unwrap();
    let outcome = checkout
        .commit("shop: v9", &bot(), Some(&signing), deadline())
        .await
        .unwrap();
    let CommitOutcome::Committed(oid) = outcome else {
        panic!("{outcome:?}")
    };
    checkout.push(deadline()).await.unwrap();

    let verify = |rev: &str| {
        Command::new("git")
            .args(["--git-dir", origin.bare().to_str().unwrap()])
            .arg("-c")
            .arg(format!("gpg.ssh.allowedSignersFile={}", allowed.display()))
            .args(["verify-commit", rev])
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .output()
            .unwrap()
    };
    let out = verify(oid.as_str());
    assert!(
        out.status.success(),
        "verify-commit: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Good \"git\" signature"),
        "{out:?}"
    );
    let unsigned = verify(&format!("{oid}^"));
    assert!(!unsigned.status.success(), "the seed commit is not signed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_clone_is_reused_between_rounds() {
    let origin = Origin::seeded();
    let test = test_git();
    let remote = file_remote(&origin);
    let checkout = test
        .git
        .checkout(&remote, &main_branch(), deadline())
        .await
        .unwrap();
    let dir = checkout.dir().to_path_buf();
    let inode = fs::metadata(dir.join(".git")).unwrap().ino();
    drop(checkout);
    let human = origin.push_as_human(&[(LOCK, "shop: v3\n")], "by hand");
    let checkout = test
        .git
        .checkout(&remote, &main_branch(), deadline())
        .await
        .unwrap();
    assert_eq!(checkout.dir(), dir);
    assert_eq!(
        fs::metadata(dir.join(".git")).unwrap().ino(),
        inode,
        "fetched, not cloned again"
    );
    assert_eq!(checkout.head().as_str(), human);
    assert_eq!(
        checkout
            .read_file(&lock_path(), deadline())
            .await
            .unwrap()
            .unwrap(),
        b"shop: v3\n"
    );
    let shallow = git(&dir, &["rev-parse", "--is-shallow-repository"]);
    assert_eq!(shallow, "true", "cloned at depth 1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_clone_is_cloned_again() {
    type Damage = fn(&std::path::Path);
    let cases: [(&str, Damage); 5] = [
        ("index.lock left by a killed commit", |d| {
            fs::write(d.join(".git/index.lock"), "").unwrap()
        }),
        ("HEAD overwritten", |d| {
            fs::write(d.join(".git/HEAD"), "garbage\n").unwrap()
        }),
        ("no .git", |d| fs::remove_dir_all(d.join(".git")).unwrap()),
        ("objects gone", |d| {
            fs::remove_dir_all(d.join(".git/objects")).unwrap();
            fs::create_dir(d.join(".git/objects")).unwrap();
        }),
        ("local edits and a local commit", |d| {
            fs::write(d.join(LOCK), "edited\n").unwrap();
            fs::write(d.join("untracked.txt"), "x").unwrap();
        }),
    ];
    let origin = Origin::seeded();
    let remote = file_remote(&origin);
    for (name, damage) in cases {
        let test = test_git();
        let checkout = test
            .git
            .checkout(&remote, &main_branch(), deadline())
            .await
            .unwrap();
        let dir = checkout.dir().to_path_buf();
        drop(checkout);
        damage(&dir);
        // A half-written clone beside it, from a process killed while cloning.
        let leftover = dir.with_file_name(format!(
            ".tmp-{}-99999",
            dir.file_name().unwrap().to_string_lossy()
        ));
        fs::create_dir_all(leftover.join(".git")).unwrap();
        let checkout = test
            .git
            .checkout(&remote, &main_branch(), deadline())
            .await
            .unwrap_or_else(|e| panic!("case {name}: {e}"));
        assert_eq!(checkout.head().as_str(), origin.tip("main"), "case {name}");
        let content = checkout
            .read_file(&lock_path(), deadline())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(content, b"shop: v1.0.0\n", "case {name}");
        assert_eq!(
            fs::read(dir.join(LOCK)).unwrap(),
            b"shop: v1.0.0\n",
            "case {name}: work tree reset"
        );
        assert!(!dir.join("untracked.txt").exists(), "case {name}");
        assert!(!leftover.exists(), "case {name}: leftover removed");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_since_a_revision_shows_a_revert_through_a_shallow_clone() {
    let origin = Origin::seeded();
    let seed = origin.tip("main");
    let remote = file_remote(&origin);
    let test = test_git();
    let mut checkout = test
        .git
        .checkout(&remote, &main_branch(), deadline())
        .await
        .unwrap();
    let bumped = bump(&mut checkout, "shop: v1.1.0\n").await;
    checkout.push(deadline()).await.unwrap();
    drop(checkout);

    // A person makes 100 unrelated commits, then reverts the bump.
    let work = tempfile::tempdir().unwrap();
    git(
        work.path(),
        &["clone", "--quiet", origin.bare().to_str().unwrap(), "w"],
    );
    let w = work.path().join("w");
    for i in 0..100 {
        fs::write(w.join("README.md"), format!("{i}\n")).unwrap();
        git(&w, &["commit", "--quiet", "-am", &format!("docs {i}")]);
    }
    git(&w, &["revert", "--no-edit", &bumped]);
    git(&w, &["push", "--quiet", "origin", "HEAD:main"]);
    let revert = git(&w, &["rev-parse", "HEAD"]);

    // A fresh clone (depth 1) deepens until it reaches the revisions asked about.
    let fresh = test_git();
    let checkout = fresh
        .git
        .checkout(&remote, &main_branch(), deadline())
        .await
        .unwrap();
    let since_seed = checkout
        .commits_touching(&lock_path(), &Oid::new(&seed).unwrap(), deadline())
        .await
        .unwrap();
    let ids: Vec<&str> = since_seed.iter().map(|c| c.oid.as_str()).collect();
    assert_eq!(
        ids,
        [revert.as_str(), bumped.as_str()],
        "newest first, only commits touching the file"
    );
    assert!(
        since_seed[0]
            .message
            .contains(&format!("This reverts commit {bumped}")),
        "{:?}",
        since_seed[0]
    );
    assert_eq!(since_seed[0].author_email, "human@example.com");
    assert_eq!(since_seed[1].author_email, "image-resolver@example.com");
    let since_bump = checkout
        .commits_touching(&lock_path(), &Oid::new(&bumped).unwrap(), deadline())
        .await
        .unwrap();
    assert_eq!(since_bump.len(), 1);
    assert_eq!(since_bump[0].oid.as_str(), revert);

    let stranger = Oid::new(&"1".repeat(40)).unwrap();
    let err = checkout
        .commits_touching(&lock_path(), &stranger, deadline())
        .await
        .expect_err("not in the history");
    assert!(matches!(err, GitError::NotAncestor { .. }), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_never_go_through_a_symlink() {
    let origin = Origin::seeded();
    let outside = tempfile::tempdir().unwrap();
    // A symlink committed into the repository, pointing out of it.
    let work = tempfile::tempdir().unwrap();
    git(
        work.path(),
        &["clone", "--quiet", origin.bare().to_str().unwrap(), "w"],
    );
    let w = work.path().join("w");
    std::os::unix::fs::symlink(outside.path(), w.join("apps/link")).unwrap();
    git(&w, &["add", "--all"]);
    git(&w, &["commit", "--quiet", "-m", "link"]);
    git(&w, &["push", "--quiet", "origin", "HEAD:main"]);

    let test = test_git();
    let mut checkout = test
        .git
        .checkout(&file_remote(&origin), &main_branch(), deadline())
        .await
        .unwrap();
    for path in ["apps/link/evil.yaml", "apps/link"] {
        let err = checkout
            .write_file(&RepoPath::new(path).unwrap(), b"x")
            .expect_err(path);
        assert!(
            matches!(err, GitError::UnsafeWrite { .. }),
            "{path}: {err:?}"
        );
    }
    assert!(
        fs::read_dir(outside.path()).unwrap().next().is_none(),
        "nothing written outside"
    );
    let err = checkout
        .read_file(&RepoPath::new("apps/link").unwrap(), deadline())
        .await
        .expect_err("a symlink is not a file");
    assert!(matches!(err, GitError::NotAFile { .. }), "{err:?}");
    let err = checkout
        .read_file(&RepoPath::new("apps").unwrap(), deadline())
        .await
        .expect_err("a directory");
    assert!(
        err.to_string().contains("is not a regular file (tree)"),
        "{err}"
    );
    // Nothing written: nothing to commit.
    assert_eq!(
        checkout
            .commit("nothing", &bot(), None, deadline())
            .await
            .unwrap(),
        CommitOutcome::NothingChanged
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_clone_is_used_by_one_checkout_at_a_time() {
    let origin = Origin::seeded();
    let remote = file_remote(&origin);
    let test = test_git();
    let held = test
        .git
        .checkout(&remote, &main_branch(), deadline())
        .await
        .unwrap();
    // A second checkout waits for the first until its deadline, then gives up naming the lock.
    let err = test
        .git
        .checkout(
            &remote,
            &main_branch(),
            Instant::now() + Duration::from_millis(300),
        )
        .await
        .expect_err("locked");
    assert!(matches!(err, GitError::Locked { .. }), "{err:?}");
    drop(held);
    test.git
        .checkout(&remote, &main_branch(), deadline())
        .await
        .expect("free again");
}

#[test]
fn a_missing_git_names_the_variable() {
    let dir = tempfile::tempdir().unwrap();
    let env: Env = [("PATH", "/nonexistent")].into_iter().collect();
    let err = Git::new(GitOptions {
        dir: dir.path().to_path_buf(),
        env,
        askpass: PathBuf::from("/bin/false"),
    })
    .expect_err("no git");
    assert!(matches!(err, GitError::GitNotFound { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "git not found: install it or set IMAGE_RESOLVER_GIT to its path"
    );
}

#[test]
fn commits_need_an_author_and_a_message() {
    for (name, author, email) in [
        ("empty name", "", "a@b"),
        ("angle bracket", "a <b>", "a@b"),
        ("newline", "a", "a@b\n"),
    ] {
        assert!(Author::new(author, email).is_err(), "case {name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_message_is_refused() {
    let origin = Origin::seeded();
    let test = test_git();
    let mut checkout = test
        .git
        .checkout(&file_remote(&origin), &main_branch(), deadline())
        .await
        .unwrap();
    checkout.write_file(&lock_path(), b"x\n").unwrap();
    let err = checkout
        .commit(" \n", &bot(), None, deadline())
        .await
        .expect_err("empty message");
    assert_eq!(err.to_string(), "commit message is not usable: it is empty");
}

/// No hook runs: not from the clone's `.git/hooks`, nor from a `core.hooksPath` its config names (someone with
/// access to the cache volume could plant either).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_hook_runs() {
    use std::os::unix::fs::PermissionsExt;
    let origin = Origin::seeded();
    let remote = file_remote(&origin);
    let test = test_git();
    let checkout = test
        .git
        .checkout(&remote, &main_branch(), deadline())
        .await
        .unwrap();
    let dir = checkout.dir().to_path_buf();
    drop(checkout);
    let marker = test.dir.path().join("hook-ran");
    let planted = test.dir.path().join("planted-hooks");
    fs::create_dir_all(&planted).unwrap();
    for hooks in [dir.join(".git/hooks"), planted.clone()] {
        fs::create_dir_all(&hooks).unwrap();
        for name in [
            "post-checkout",
            "pre-commit",
            "commit-msg",
            "post-commit",
            "pre-push",
            "reference-transaction",
        ] {
            let hook = hooks.join(name);
            fs::write(
                &hook,
                format!("#!/bin/sh\necho {name} >> {}\n", marker.display()),
            )
            .unwrap();
            fs::set_permissions(&hook, fs::Permissions::from_mode(0o755)).unwrap();
        }
    }
    git(
        &dir,
        &["config", "core.hooksPath", planted.to_str().unwrap()],
    );

    let mut checkout = test
        .git
        .checkout(&remote, &main_branch(), deadline())
        .await
        .unwrap();
    bump(&mut checkout, "shop: v7\n").await;
    checkout.push(deadline()).await.unwrap();
    assert!(
        !marker.exists(),
        "a hook ran: {}",
        fs::read_to_string(&marker).unwrap_or_default()
    );
}
