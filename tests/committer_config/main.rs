//! The committer driven by its config file (`commit --config FILE`, `watch --config FILE`), as an operator
//! migrating from argocd-image-updater writes it: the seed's two real policies with the annotations exactly as
//! upstream users write them, over every transport (`file://`, `git://`, smart HTTP with basic auth, ssh) with
//! credentials from files, and bad input that must fail with one paragraph naming the application, the file and
//! the key, pushing nothing.
//!
//! Needs git, docker-registry and openssh (`scripts/install-test-deps`). Every server binds a random loopback
//! port; every repository, cache and clone lives in the test's own temp dirs.

#[path = "../committer_support/mod.rs"]
mod committer_support;
#[path = "../git_remotes/servers.rs"]
#[allow(dead_code)]
mod servers;
#[path = "../support/mod.rs"]
mod support;

mod bad_input;
mod policies;
mod transports;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub use committer_support::*;

/// The annotation prefix argocd-image-updater users write.
pub const P: &str = "argocd-image-updater.argoproj.io/";

/// argocd-image-updater's default `git.commit-message-template`, as upstream users copy it into their config.
pub const UPSTREAM_TEMPLATE: &str = "build: automatic update of {{ .AppName }}\n\n{{ range .AppChanges -}}\nupdates image {{ .Image }} tag '{{ .OldTag }}' to '{{ .NewTag }}'\n{{ end -}}\n";

/// The lock file of app `web`.
pub const WEB_LOCK: &str = "apps/web/image-resolver.lock.yaml";

/// The kustomization app `api` deploys from.
pub const API_KUSTOMIZATION: &str = "apps/api/kustomization.yaml";

pub fn api_kustomization(tag: &str) -> String {
    format!(
        "# api overlay — owned by the shop team\napiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n\
         resources:\n- deployment.yaml\n\nimages:\n  - name: apps.test/shop/api\n    newTag: \"{tag}\"   # set by the bot\n"
    )
}

/// The repository of both applications: `web` (plain manifests, commit-SHA tags) and `api` (a kustomization,
/// semver tags).
pub fn shop_files() -> Vec<(&'static str, String)> {
    vec![
        (
            "apps/web/deployment.yaml",
            deployment("web", "apps.test/shop/web:0a1b2c3"),
        ),
        (
            "apps/api/deployment.yaml",
            deployment("api", "apps.test/shop/api:1.0.0"),
        ),
        (API_KUSTOMIZATION, api_kustomization("1.0.0")),
    ]
}

pub fn shop_origin() -> Origin {
    let files = shop_files();
    let files: Vec<(&str, &str)> = files.iter().map(|(p, c)| (*p, c.as_str())).collect();
    Origin::new(&files)
}

/// The seed's first policy as upstream annotations: commit-SHA tags, the newest build, `latest` ignored, written
/// to the lock file (`write-back-method: git`, no target). `strategy` is `newest-build` or its old name `latest`.
pub fn web_annotations(strategy: &str) -> Vec<(String, String)> {
    vec![
        (
            format!("{P}image-list"),
            "web=apps.test/shop/web".to_owned(),
        ),
        (format!("{P}web.update-strategy"), strategy.to_owned()),
        (format!("{P}web.ignore-tags"), "latest".to_owned()),
        (format!("{P}write-back-method"), "git".to_owned()),
    ]
}

/// The seed's second policy: semver ignoring `latest`, written back to the kustomization.
pub fn api_annotations() -> Vec<(String, String)> {
    vec![
        (
            format!("{P}image-list"),
            "api=apps.test/shop/api".to_owned(),
        ),
        (format!("{P}api.update-strategy"), "semver".to_owned()),
        (format!("{P}api.ignore-tags"), "latest".to_owned()),
        (format!("{P}write-back-method"), "git".to_owned()),
        (format!("{P}write-back-target"), "kustomization".to_owned()),
    ]
}

/// One `applications` entry.
pub struct App {
    pub name: &'static str,
    pub repository: String,
    pub revision: &'static str,
    pub path: &'static str,
    pub annotations: Vec<(String, String)>,
}

impl App {
    pub fn web(repository: &str, strategy: &str) -> App {
        App {
            name: "web",
            repository: repository.to_owned(),
            revision: "main",
            path: "apps/web",
            annotations: web_annotations(strategy),
        }
    }

    pub fn api(repository: &str) -> App {
        App {
            name: "api",
            repository: repository.to_owned(),
            revision: "main",
            path: "apps/api",
            annotations: api_annotations(),
        }
    }

    /// This entry with `key` (without the prefix) set to `value`.
    pub fn with(mut self, key: &str, value: &str) -> App {
        let key = format!("{P}{key}");
        self.annotations.retain(|(k, _)| *k != key);
        self.annotations.push((key, value.to_owned()));
        self
    }

    fn yaml(&self) -> String {
        let mut out = format!(
            "- name: {}\n  repository: {}\n  targetRevision: {}\n  path: {}\n  annotations:\n",
            self.name, self.repository, self.revision, self.path
        );
        for (key, value) in &self.annotations {
            out.push_str(&format!("    {key}: \"{value}\"\n"));
        }
        out
    }
}

/// A config file: `git` (already indented YAML lines under `git:`) and the applications.
pub fn config(git: &str, apps: &[App]) -> String {
    let mut out = String::from("interval: 1s\n");
    if !git.is_empty() {
        out.push_str("git:\n");
        out.push_str(git);
    }
    out.push_str("applications:\n");
    for app in apps {
        out.push_str(&app.yaml());
    }
    out
}

/// The `git:` block of the policies test: upstream's default template and a named author.
pub fn git_block() -> String {
    let mut out = String::from(
        "  author:\n    name: Shop Bot\n    email: shop-bot@example.com\n  commitMessageTemplate: |\n",
    );
    for line in UPSTREAM_TEMPLATE.lines() {
        if line.is_empty() {
            out.push('\n');
        } else {
            out.push_str(&format!("    {line}\n"));
        }
    }
    out
}

/// Writes `text` as the operator's config file; its path.
pub fn write_config(operator: &Operator, text: &str) -> PathBuf {
    let path = operator.path().join("committer.yaml");
    fs::write(&path, text).unwrap();
    path
}

/// Polls `check` every 100 ms until it holds, failing after `timeout` with `what` and `context()`.
pub fn wait_until(
    timeout: Duration,
    what: &str,
    mut check: impl FnMut() -> bool,
    context: impl Fn() -> String,
) {
    let until = Instant::now() + timeout;
    while !check() {
        assert!(
            Instant::now() < until,
            "{what}: not after {timeout:?}\n{}",
            context()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Pushes `tags` of `repository` in the registry (a new image built at `created`).
pub async fn push(
    registry: &support::TestRegistry,
    repository: &str,
    created: &str,
    tags: &[&str],
) {
    registry
        .pusher()
        .image_tagged(repository, created, tags)
        .await;
}

/// The tag the lock file `text` records for `web` (quotes taken off).
pub fn web_tag(text: &str) -> String {
    let entry = text
        .split_once("  web=apps.test/shop/web:\n")
        .map_or("", |(_, rest)| rest);
    entry
        .lines()
        .find_map(|line| line.strip_prefix("    tag: "))
        .unwrap_or_default()
        .trim_matches('"')
        .to_owned()
}

/// `path`'s files, recursively: whether any holds `needle`.
pub fn any_file_holds(dir: &Path, needle: &[u8]) -> Option<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return None;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(meta) = fs::symlink_metadata(&path) else {
            continue;
        };
        if meta.is_dir() {
            if let Some(found) = any_file_holds(&path, needle) {
                return Some(found);
            }
        } else if meta.is_file()
            && let Ok(bytes) = fs::read(&path)
            && bytes.windows(needle.len()).any(|w| w == needle)
        {
            return Some(path);
        }
    }
    None
}
