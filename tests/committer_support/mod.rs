//! What the committer's tests share: a bare git repository with a person's clone to push from ([`Origin`]), the
//! operator's side running the binary ([`Operator`]), and a real `docker-registry` holding `shop/web`.
//!
//! Each test binary compiles this module and uses a part of it, so unused-item warnings are silenced here.
#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use tempfile::TempDir;

use crate::support::TestRegistry;

pub const BIN: &str = env!("CARGO_BIN_EXE_argocd-image-resolver");

/// A plain Deployment of `image`.
pub fn deployment(name: &str, image: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\nspec:\n  template:\n    spec:\n      \
         containers:\n      - name: {name}\n        image: {image}\n"
    )
}

pub use crate::support::gitcli::git;

/// A bare repository with branch `main`, and a person's clone of it to push from.
pub struct Origin {
    dir: TempDir,
}

impl Origin {
    pub fn new(files: &[(&str, &str)]) -> Origin {
        let dir = tempfile::tempdir().expect("temp dir");
        git(
            dir.path(),
            &["init", "--quiet", "--bare", "-b", "main", "repo.git"],
        );
        git(dir.path(), &["clone", "--quiet", "repo.git", "human"]);
        let origin = Origin { dir };
        origin.push(files, "seed");
        origin
    }

    pub fn bare(&self) -> PathBuf {
        self.dir.path().join("repo.git")
    }

    pub fn url(&self) -> String {
        format!("file://{}", self.bare().display())
    }

    fn human(&self) -> PathBuf {
        self.dir.path().join("human")
    }

    /// Brings the person's clone to the remote's `main`.
    pub fn pull(&self) {
        let human = self.human();
        git(&human, &["fetch", "--quiet", "origin"]);
        if !git(&human, &["branch", "-r", "--list", "origin/main"]).is_empty() {
            git(
                &human,
                &["checkout", "--quiet", "-B", "main", "origin/main"],
            );
        }
    }

    /// A person's commit of `files` on `main`, pushed; its id.
    pub fn push(&self, files: &[(&str, &str)], message: &str) -> String {
        self.pull();
        let human = self.human();
        for (path, content) in files {
            let file = human.join(path);
            fs::create_dir_all(file.parent().unwrap()).unwrap();
            fs::write(file, content).unwrap();
        }
        git(&human, &["add", "--all"]);
        git(&human, &["commit", "--quiet", "-m", message]);
        git(
            &human,
            &["push", "--quiet", "origin", "HEAD:refs/heads/main"],
        );
        git(&human, &["rev-parse", "HEAD"])
    }

    /// A person's `git revert` of the commit at `main`'s tip, pushed; its id.
    pub fn revert_tip(&self) -> String {
        self.pull();
        let human = self.human();
        git(&human, &["revert", "--no-edit", "HEAD"]);
        git(
            &human,
            &["push", "--quiet", "origin", "HEAD:refs/heads/main"],
        );
        git(&human, &["rev-parse", "HEAD"])
    }

    /// `git` on the bare repository.
    pub fn git(&self, args: &[&str]) -> String {
        let bare = self.bare();
        let mut all = vec!["--git-dir", bare.to_str().unwrap()];
        all.extend_from_slice(args);
        git(self.dir.path(), &all)
    }

    pub fn file(&self, branch: &str, path: &str) -> String {
        self.git(&["show", &format!("{branch}:{path}")])
    }

    pub fn commits(&self, branch: &str) -> usize {
        self.git(&["rev-list", "--count", branch]).parse().unwrap()
    }

    pub fn message(&self, rev: &str) -> String {
        self.git(&["log", "-1", "--format=%B", rev])
    }
}

/// The operator's side: a registries.conf mapping `apps.test` to the test registry, the cache, and the
/// committer's invocation.
pub struct Operator {
    pub dir: TempDir,
}

/// How one run ended.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn success(&self) -> &str {
        assert_eq!(
            self.code, 0,
            "the command failed: {}{}",
            self.stdout, self.stderr
        );
        &self.stdout
    }
}

impl Operator {
    pub fn new(registry: &TestRegistry) -> Operator {
        Operator::with_url(registry.base.as_str())
    }

    pub fn with_url(url: &str) -> Operator {
        let dir = tempfile::tempdir().expect("temp dir");
        fs::write(
            dir.path().join("registries.conf"),
            format!(
                "registries:\n- name: test\n  prefix: apps.test\n  api_url: {}\n  limit: 0\n",
                url.trim_end_matches('/')
            ),
        )
        .unwrap();
        fs::create_dir(dir.path().join("home")).unwrap();
        Operator { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `commit` with `args`, the operator's registries.conf and cache (tag lists never cached: each run sees the
    /// registry as it is).
    pub fn commit(&self, args: &[&str]) -> Run {
        self.run_in(self.dir.path(), "commit", args)
    }

    /// `commit` with extra variables (the operator's `IMAGE_RESOLVER_*`).
    pub fn run_with_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        self.run_full(self.dir.path(), "commit", args, env, "0")
    }

    /// `commit` keeping tag lists in the operator's cache for `ttl` (`1h`): what a busy committer does.
    pub fn commit_keeping_lists(&self, args: &[&str], ttl: &str) -> Run {
        self.run_full(self.dir.path(), "commit", args, &[], ttl)
    }

    pub fn run_in(&self, cwd: &Path, command: &str, args: &[&str]) -> Run {
        self.run_full(cwd, command, args, &[], "0")
    }

    /// `command` in `cwd` with extra variables (`ARGOCD_APP_NAME` as Argo CD sets it).
    pub fn run_with_env_in(
        &self,
        cwd: &Path,
        command: &str,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Run {
        self.run_full(cwd, command, args, env, "0")
    }

    fn run_full(
        &self,
        cwd: &Path,
        command: &str,
        args: &[&str],
        env: &[(&str, &str)],
        tags_ttl: &str,
    ) -> Run {
        let out = Command::new(BIN)
            .current_dir(cwd)
            .arg(command)
            .args(args)
            .args([
                "--registries-conf",
                self.dir.path().join("registries.conf").to_str().unwrap(),
            ])
            .args([
                "--cache-dir",
                self.dir.path().join("cache").to_str().unwrap(),
            ])
            .args(["--tags-ttl", tags_ttl])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.dir.path().join("home"))
            .envs(env.iter().copied())
            .output()
            .expect("run the binary");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// The helm the tests render charts with: `IMAGE_RESOLVER_HELM`, else the one `scripts/install-helm` puts in `.tools`.
pub fn helm() -> PathBuf {
    std::env::var_os("IMAGE_RESOLVER_HELM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".tools/bin/helm"))
}

/// A registry holding `shop/web` with `tags`.
pub async fn registry_with(tags: &[&str]) -> TestRegistry {
    let registry = TestRegistry::plain().await;
    registry
        .pusher()
        .image_tagged("shop/web", "2024-01-01T00:00:00Z", tags)
        .await;
    registry
}

/// Pushes `tags` of `shop/web` (a new image, built at `created`).
pub async fn push_tags(registry: &TestRegistry, created: &str, tags: &[&str]) {
    registry
        .pusher()
        .image_tagged("shop/web", created, tags)
        .await;
}

/// A repository holding the application `apps/web`: a Deployment running `apps.test/shop/web:1.0.0`.
pub fn web_origin() -> Origin {
    Origin::new(&[(
        "apps/web/deployment.yaml",
        &deployment("web", "apps.test/shop/web:1.0.0"),
    )])
}

/// The lock file of the application `apps/web`.
pub const LOCK: &str = "apps/web/image-resolver.lock.yaml";

/// `commit`'s arguments for `apps/web` of `url` on `main` (lock-file mode, semver `~1`), then `extra`.
pub fn app_args(url: &str, extra: &[&str]) -> Vec<String> {
    [
        "--repo",
        url,
        "--branch",
        "main",
        "--path",
        "apps/web",
        "--param",
        "image-list=web=apps.test/shop/web:~1",
        "--param",
        "write-back-method=git",
    ]
    .iter()
    .chain(extra)
    .map(|s| s.to_string())
    .collect()
}

pub fn strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

/// What every error paragraph starts with.
pub const ERROR_PREFIX: &str = "argocd-image-resolver: ";

/// Whether `line` is a log record's (the `tracing` text format: an RFC 3339 time first).
fn is_log_record(line: &str) -> bool {
    let b = line.as_bytes();
    b.len() > 20
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
}

/// The failure's paragraph of `stderr`, failing the test unless stderr is log records, then exactly one paragraph
/// (its first line starting [`ERROR_PREFIX`], no blank or log line inside), ending with a newline.
pub fn error_paragraph(stderr: &str) -> String {
    let lines: Vec<&str> = stderr.lines().collect();
    let starts: Vec<usize> = (0..lines.len())
        .filter(|&i| lines[i].starts_with(ERROR_PREFIX))
        .collect();
    assert_eq!(starts.len(), 1, "one error paragraph on stderr:\n{stderr}");
    let (logs, paragraph) = lines.split_at(starts[0]);
    for line in logs {
        assert!(
            is_log_record(line),
            "a line before the error is not a log record: {line:?}\n{stderr}"
        );
    }
    for line in paragraph {
        assert!(
            !line.trim().is_empty() && !is_log_record(line),
            "the error is not one paragraph at the end:\n{stderr}"
        );
    }
    assert!(stderr.ends_with('\n'), "{stderr:?}");
    paragraph.join("\n")
}
