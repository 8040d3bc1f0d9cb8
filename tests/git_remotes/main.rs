//! The git wrapper against real git remotes started by the tests: a bare repository over `file://`, `git daemon`,
//! smart HTTP (`git http-backend` behind an in-test server checking basic auth) and SSH (Debian's `sshd`). For each:
//! clone, commit, push, a second clone sees it; a push rejected because someone else pushed, then refresh,
//! re-apply and push (linear history, no force); a review branch pushed with a lease. Plus wrong credentials,
//! host keys, redirects, signing, damaged clones and history.
//!
//! Needs git (with `git daemon` and `git http-backend`), openssh-client and openssh-server
//! (`scripts/install-test-deps`). Each test binds random loopback ports and works in its own temp dirs.

mod behaviour;
mod daemon;
mod file;
mod http;
mod servers;
mod ssh;
#[path = "../support/mod.rs"]
mod support;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use argocd_image_resolver::git::{
    Author, BranchName, Checkout, CommitOutcome, Git, GitError, GitOptions, Lease, Remote, RepoPath,
};
use argocd_image_resolver::process::Env;
use tempfile::TempDir;

/// The file the committer edits in these tests.
pub const LOCK: &str = "apps/shop/image-resolver.lock.yaml";

pub fn deadline() -> Instant {
    Instant::now() + Duration::from_secs(60)
}

pub fn main_branch() -> BranchName {
    BranchName::new("main").unwrap()
}

pub fn lock_path() -> RepoPath {
    RepoPath::new(LOCK).unwrap()
}

pub fn bot() -> Author {
    Author::new("image-resolver", "image-resolver@example.com").unwrap()
}

/// A wrapper with its own clone directory, running this package's binary as askpass.
pub struct TestGit {
    pub git: Git,
    pub dir: TempDir,
}

pub fn test_git() -> TestGit {
    let dir = tempfile::tempdir().expect("temp dir");
    let git = Git::new(GitOptions {
        dir: dir.path().join("git"),
        env: Env::current(),
        askpass: PathBuf::from(env!("CARGO_BIN_EXE_argocd-image-resolver")),
    })
    .expect("git wrapper");
    TestGit { git, dir }
}

pub use crate::support::gitcli::git;

/// A bare repository with branch `main` holding the lock file and a README, in a private temp dir; people push
/// to it directly (its path), whatever transport the wrapper uses.
pub struct Origin {
    pub dir: TempDir,
}

impl Origin {
    pub fn seeded() -> Origin {
        let dir = tempfile::tempdir().expect("temp dir");
        git(
            dir.path(),
            &["init", "--quiet", "--bare", "-b", "main", "repo.git"],
        );
        let origin = Origin { dir };
        origin.push_as_human(
            &[(LOCK, "shop: v1.0.0\n"), ("README.md", "config\n")],
            "seed",
        );
        origin
    }

    /// The bare repository's path (served as `repo.git` under [`Origin::root`]).
    pub fn bare(&self) -> PathBuf {
        self.dir.path().join("repo.git")
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn file_url(&self) -> String {
        format!("file://{}", self.bare().display())
    }

    /// A person's commit of `files` on `main`, pushed straight to the bare repository; its id.
    pub fn push_as_human(&self, files: &[(&str, &str)], message: &str) -> String {
        let work = tempfile::tempdir().expect("temp dir");
        let bare = self.bare();
        let has_main = !git(
            self.root(),
            &[
                "--git-dir",
                bare.to_str().unwrap(),
                "branch",
                "--list",
                "main",
            ],
        )
        .is_empty();
        if has_main {
            git(
                work.path(),
                &["clone", "--quiet", bare.to_str().unwrap(), "w"],
            );
        } else {
            git(work.path(), &["init", "--quiet", "-b", "main", "w"]);
        }
        let w = work.path().join("w");
        for (path, content) in files {
            let file = w.join(path);
            fs::create_dir_all(file.parent().unwrap()).unwrap();
            fs::write(file, content).unwrap();
        }
        git(&w, &["add", "--all"]);
        git(&w, &["commit", "--quiet", "-m", message]);
        git(
            &w,
            &[
                "push",
                "--quiet",
                bare.to_str().unwrap(),
                "HEAD:refs/heads/main",
            ],
        );
        git(&w, &["rev-parse", "HEAD"])
    }

    /// `git` on the bare repository.
    pub fn git(&self, args: &[&str]) -> String {
        let bare = self.bare();
        let mut all = vec!["--git-dir", bare.to_str().unwrap()];
        all.extend_from_slice(args);
        git(self.root(), &all)
    }

    pub fn tip(&self, branch: &str) -> String {
        self.git(&["rev-parse", &format!("refs/heads/{branch}")])
    }

    pub fn file(&self, branch: &str, path: &str) -> String {
        self.git(&["show", &format!("{branch}:{path}")])
    }
}

/// Writes the lock file, commits it and returns the new commit.
pub async fn bump(checkout: &mut Checkout, content: &str) -> String {
    checkout
        .write_file(&lock_path(), content.as_bytes())
        .unwrap();
    match checkout
        .commit(&format!("shop: {content}"), &bot(), None, deadline())
        .await
        .expect("commit")
    {
        CommitOutcome::Committed(oid) => oid.to_string(),
        CommitOutcome::NothingChanged => panic!("nothing changed"),
    }
}

/// What every transport must do: clone, commit, push, a second clone sees it; a push rejected because someone
/// else pushed, then refresh, re-apply, push, with linear history and the other push kept; a review branch
/// pushed with a lease that must match.
pub async fn round_trip(remote: &Remote, origin: &Origin) {
    let name = remote.url().to_string();
    let main = main_branch();

    // Clone, read, edit, commit, push.
    let first = test_git();
    let mut checkout = first
        .git
        .checkout(remote, &main, deadline())
        .await
        .expect("clone");
    assert_eq!(
        checkout.head().as_str(),
        origin.tip("main"),
        "{name}: clone at the tip"
    );
    let content = checkout
        .read_file(&lock_path(), deadline())
        .await
        .expect("read");
    assert_eq!(content.as_deref(), Some(&b"shop: v1.0.0\n"[..]), "{name}");
    let missing = RepoPath::new("apps/none.yaml").unwrap();
    assert_eq!(
        checkout
            .read_file(&missing, deadline())
            .await
            .expect("read missing"),
        None
    );
    let pushed = bump(&mut checkout, "shop: v1.1.0\n").await;
    checkout.push(deadline()).await.expect("push");
    assert_eq!(
        origin.tip("main"),
        pushed,
        "{name}: the remote has the commit"
    );

    // A second clone (another cache) sees it.
    let second = test_git();
    let other = second
        .git
        .checkout(remote, &main, deadline())
        .await
        .expect("second clone");
    assert_eq!(other.head().as_str(), pushed, "{name}");
    let content = other
        .read_file(&lock_path(), deadline())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(content, b"shop: v1.1.0\n", "{name}");
    drop(other);

    // Someone else pushes first: rejected, typed; then refresh, re-apply on the new tip, push.
    let human = origin.push_as_human(&[("README.md", "edited by a person\n")], "docs");
    bump(&mut checkout, "shop: v1.2.0\n").await;
    let err = checkout
        .push(deadline())
        .await
        .expect_err("push behind the remote");
    assert!(
        matches!(err, GitError::PushRejected { .. }),
        "{name}: {err:?}"
    );
    let text = err.to_string();
    assert!(
        text.contains(&name) && text.contains("'main'"),
        "{name}: {text}"
    );
    assert_eq!(origin.tip("main"), human, "{name}: nothing was forced");
    checkout.refresh(deadline()).await.expect("refresh");
    assert_eq!(
        checkout.head().as_str(),
        human,
        "{name}: refreshed to the new tip"
    );
    let retried = bump(&mut checkout, "shop: v1.2.0\n").await;
    checkout.push(deadline()).await.expect("push after refresh");
    assert_eq!(origin.tip("main"), retried);
    assert_eq!(
        origin.git(&["rev-parse", &format!("{retried}^")]),
        human,
        "{name}: on top of the other push"
    );
    assert_eq!(
        origin.git(&["rev-list", "--merges", "main"]),
        "",
        "{name}: linear history"
    );
    assert_eq!(
        origin.file("main", "README.md"),
        "edited by a person",
        "{name}: no lost update"
    );

    // Nothing to commit when the file is as the tip has it.
    checkout
        .write_file(&lock_path(), b"shop: v1.2.0\n")
        .unwrap();
    let outcome = checkout
        .commit("noop", &bot(), None, deadline())
        .await
        .unwrap();
    assert_eq!(outcome, CommitOutcome::NothingChanged, "{name}");

    // A review branch, created with the lease "absent", then replaced only with the right lease.
    let review = BranchName::new("image-resolver/shop").unwrap();
    assert_eq!(
        checkout.remote_tip(&review, deadline()).await.unwrap(),
        None,
        "{name}"
    );
    let first_review = bump(&mut checkout, "shop: v2.0.0\n").await;
    checkout
        .push_review(&review, &Lease::Absent, deadline())
        .await
        .expect("create review branch");
    assert_eq!(origin.tip("image-resolver/shop"), first_review, "{name}");
    assert_eq!(
        origin.tip("main"),
        retried,
        "{name}: the target branch did not move"
    );

    checkout.refresh(deadline()).await.unwrap();
    let second_review = bump(&mut checkout, "shop: v2.1.0\n").await;
    let err = checkout
        .push_review(&review, &Lease::Absent, deadline())
        .await
        .expect_err("lease: absent, but it exists");
    assert!(
        matches!(err, GitError::LeaseBroken { .. }),
        "{name}: {err:?}"
    );
    let stale = Lease::At(argocd_image_resolver::git::Oid::new(&retried).unwrap());
    let err = checkout
        .push_review(&review, &stale, deadline())
        .await
        .expect_err("stale lease");
    assert!(
        matches!(err, GitError::LeaseBroken { .. }),
        "{name}: {err:?}"
    );
    assert_eq!(
        origin.tip("image-resolver/shop"),
        first_review,
        "{name}: not overwritten"
    );
    let lease = Lease::At(
        checkout
            .remote_tip(&review, deadline())
            .await
            .unwrap()
            .expect("review tip"),
    );
    checkout
        .push_review(&review, &lease, deadline())
        .await
        .expect("push with the right lease");
    assert_eq!(
        origin.tip("image-resolver/shop"),
        second_review,
        "{name}: rewritten under the lease"
    );
    assert_eq!(
        origin.git(&["rev-parse", &format!("{second_review}^")]),
        retried,
        "{name}: one ahead of main"
    );

    // The review branch's file can be read after fetching it.
    let tip = checkout
        .fetch_branch(&review, deadline())
        .await
        .unwrap()
        .expect("review branch");
    let content = checkout
        .read_file_at(&tip, &lock_path(), deadline())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(content, b"shop: v2.1.0\n", "{name}");
    let none = BranchName::new("no-such-branch").unwrap();
    assert_eq!(
        checkout.fetch_branch(&none, deadline()).await.unwrap(),
        None,
        "{name}"
    );

    // The target branch cannot be pushed as a review branch.
    let err = checkout
        .push_review(&main, &Lease::Absent, deadline())
        .await
        .expect_err("target as review");
    assert!(
        matches!(err, GitError::InvalidBranch { .. }),
        "{name}: {err:?}"
    );
}

/// `text` holds none of `secrets`.
pub fn assert_no_secret(text: &str, secrets: &[&str]) {
    for secret in secrets {
        assert!(!text.contains(secret), "a secret shows in: {text}");
    }
}
