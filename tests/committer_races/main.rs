//! The committer (`commit`) under pressure, end to end: two committers and a person pushing to one branch at
//! once for 100 rounds, a committer killed at every git command of a round, and review-branch mode with its lease
//! broken by a person. Real git (a bare repository over `file://` and `git daemon`), a real `docker-registry`,
//! and the binary; the committer's git is replaced, where a test needs to step in, by a small shell wrapper
//! around the real git ([`GitWrapper`], through `IMAGE_RESOLVER_GIT`), never by a sleep.
//!
//! Needs git and docker-registry (`scripts/install-test-deps`). Every server binds a random loopback port; every
//! repository, cache and clone lives in the test's own temp dirs.

#[path = "../committer_support/mod.rs"]
mod committer_support;
mod crash;
mod races;
mod retry;
mod review;
#[allow(dead_code)]
#[path = "../git_remotes/servers.rs"]
mod servers;
#[path = "../support/mod.rs"]
mod support;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use tempfile::TempDir;

pub use committer_support::*;

/// The repository every test starts from: `apps/web` deploying `shop/web:1.0.0`, and a file people edit.
pub fn seeded_origin() -> Origin {
    Origin::new(&[
        (
            "apps/web/deployment.yaml",
            &deployment("web", "apps.test/shop/web:1.0.0"),
        ),
        ("notes.txt", "notes\n"),
    ])
}

/// The real git, found on `PATH` (the wrapper runs it by its full path: git's environment is sanitised).
pub fn real_git() -> PathBuf {
    std::env::var_os("PATH")
        .and_then(|path| {
            std::env::split_paths(&path)
                .map(|dir| dir.join("git"))
                .find(|p| p.is_file())
        })
        .expect("git on PATH")
}

pub use crate::support::gitcli::try_git;

/// The `Image-Resolver-Update` trailers of `branch`'s commits, oldest first: `(commit, old, new)` for `web`.
pub fn bumps(origin: &Origin, branch: &str) -> Vec<(String, String, String)> {
    let log = origin.git(&["log", "--reverse", "--format=%H%n%B%x00", branch]);
    log.split('\0')
        .filter_map(|entry| {
            let entry = entry.trim();
            let (commit, message) = entry.split_once('\n')?;
            let trailer = message
                .lines()
                .find_map(|l| l.strip_prefix("Image-Resolver-Update: web=apps.test/shop/web "))?;
            let (old, new) = trailer.split_once(' ')?;
            Some((commit.to_owned(), old.to_owned(), new.to_owned()))
        })
        .collect()
}

/// The tag the lock file's `web` entry names.
pub fn locked_tag(lock: &str) -> String {
    let parsed = argocd_image_resolver::lock::LockFile::parse(lock)
        .unwrap_or_else(|e| panic!("the lock file does not parse: {e}\n{lock}"));
    let key = argocd_image_resolver::lock::LockKey::parse("web=apps.test/shop/web").unwrap();
    parsed.get(&key).expect("web in the lock").tag.to_string()
}

/// A person's edit for [`GitWrapper::before_push`]: in a clone of `url` of their own (under `dir`), a note line
/// put before the lock file's first line, committed and pushed to `main`; each pushed commit's id is appended to
/// `dir/pushed`.
pub fn person_edit_script(url: &str, dir: &std::path::Path) -> String {
    format!(
        r##"set -e
export HOME='{d}' GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
g='{git}'
cd '{d}'
[ -d clone ] || "$g" -c protocol.file.allow=always clone -q '{url}' clone
cd clone
"$g" -c protocol.file.allow=always fetch -q origin
"$g" reset -q --hard origin/main
n=$(( $(cat ../edits 2>/dev/null || echo 0) + 1 ))
echo "$n" > ../edits
{{ echo "# a person's note $n"; cat '{LOCK}'; }} > ../lock.tmp
mv ../lock.tmp '{LOCK}'
"$g" -c user.name=Human -c user.email=human@example.com commit -q -am "a person's note $n"
"$g" -c protocol.file.allow=always push -q origin HEAD:refs/heads/main
"$g" rev-parse HEAD >> ../pushed
"##,
        d = dir.display(),
        git = real_git().display(),
    )
}

/// The commits [`person_edit_script`] pushed, in order.
pub fn persons_pushes(dir: &std::path::Path) -> Vec<String> {
    fs::read_to_string(dir.join("pushed"))
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// A shell script standing in for git (`IMAGE_RESOLVER_GIT`): it numbers each call and logs its arguments (as a
/// line, and as an exact argument vector), may SIGKILL the committer (its parent) before or after the real git
/// runs at call N, and may run a person's script just before the first push `--force-with-lease`, or before
/// plain pushes to `refs/heads/main` (once, or every time). Its settings are files in its directory, read at each
/// call (the committer runs git with a sanitised environment, so nothing can come through variables).
pub struct GitWrapper {
    dir: TempDir,
}

/// When the wrapper kills the committer at the chosen call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kill {
    /// Before the real git runs: the command never happens.
    Before,
    /// After the real git finished: the command happened, the committer never learns how it ended.
    After,
}

impl Default for GitWrapper {
    fn default() -> GitWrapper {
        GitWrapper::new()
    }
}

impl GitWrapper {
    pub fn new() -> GitWrapper {
        let dir = tempfile::tempdir().expect("temp dir");
        let d = dir.path().display();
        let git = real_git();
        let script = format!(
            r#"#!/bin/sh
d='{d}'
n=$(( $(cat "$d/count" 2>/dev/null || echo 0) + 1 ))
echo "$n" > "$d/count"
echo "$n $*" >> "$d/calls"
{{ for a in "$@"; do printf '%s\037' "$a"; done; printf '\036'; }} >> "$d/argv"
at=$(cat "$d/kill-at" 2>/dev/null || echo 0)
mode=$(cat "$d/kill-mode" 2>/dev/null || echo none)
if [ "$n" = "$at" ] && [ "$mode" = before ]; then
  echo "$n before: $*" > "$d/killed"
  kill -9 "$PPID"
  exit 137
fi
case " $* " in
  *" --force-with-lease="*)
    if [ -f "$d/before-lease.sh" ]; then
      mv "$d/before-lease.sh" "$d/before-lease.ran"
      sh "$d/before-lease.ran" >> "$d/hook.log" 2>&1 || echo failed >> "$d/hook.log"
    fi ;;
  *" push "*":refs/heads/main "*)
    if [ -f "$d/before-push.sh" ]; then
      [ -f "$d/before-push.every" ] || mv "$d/before-push.sh" "$d/before-push.ran"
      script="$d/before-push.sh"; [ -f "$script" ] || script="$d/before-push.ran"
      echo "$n" >> "$d/before-push.runs"
      sh "$script" >> "$d/hook.log" 2>&1 || echo failed >> "$d/hook.log"
    fi ;;
esac
'{git}' "$@"
status=$?
if [ "$n" = "$at" ] && [ "$mode" = after ]; then
  echo "$n after: $*" > "$d/killed"
  kill -9 "$PPID"
fi
exit $status
"#,
            git = git.display()
        );
        let path = dir.path().join("git");
        fs::write(&path, script).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
        GitWrapper { dir }
    }

    /// The value for `IMAGE_RESOLVER_GIT`.
    pub fn program(&self) -> String {
        self.dir.path().join("git").display().to_string()
    }

    /// Counts calls from zero again; at call `at` kill the committer (`None`: never).
    pub fn arm(&self, kill: Option<(u32, Kill)>) {
        let d = self.dir.path();
        for file in ["count", "calls", "argv", "killed"] {
            let _ = fs::remove_file(d.join(file));
        }
        let (at, mode) = match kill {
            Some((at, Kill::Before)) => (at, "before"),
            Some((at, Kill::After)) => (at, "after"),
            None => (0, "none"),
        };
        fs::write(d.join("kill-at"), at.to_string()).unwrap();
        fs::write(d.join("kill-mode"), mode).unwrap();
    }

    /// What the wrapper killed the committer at (`<call> <before|after>: <git arguments>`), if it did.
    pub fn killed(&self) -> Option<String> {
        fs::read_to_string(self.dir.path().join("killed")).ok()
    }

    /// Each call's number and arguments since [`GitWrapper::arm`].
    pub fn calls(&self) -> String {
        fs::read_to_string(self.dir.path().join("calls")).unwrap_or_default()
    }

    /// Each call's exact argument vector since [`GitWrapper::arm`].
    pub fn argvs(&self) -> Vec<Vec<String>> {
        let log = fs::read_to_string(self.dir.path().join("argv")).unwrap_or_default();
        log.split_terminator('\x1e')
            .map(|call| call.split_terminator('\x1f').map(str::to_owned).collect())
            .collect()
    }

    /// Runs `script` (sh) just before a plain push to `refs/heads/main`: the next one only, or every one.
    pub fn before_push(&self, script: &str, every: bool) {
        let d = self.dir.path();
        fs::write(d.join("before-push.sh"), script).unwrap();
        if every {
            fs::write(d.join("before-push.every"), "").unwrap();
        }
    }

    /// How many times the script of [`GitWrapper::before_push`] ran, and its output.
    pub fn push_hook(&self) -> (usize, String) {
        let d = self.dir.path();
        let runs = fs::read_to_string(d.join("before-push.runs")).unwrap_or_default();
        (
            runs.lines().count(),
            fs::read_to_string(d.join("hook.log")).unwrap_or_default(),
        )
    }

    /// Runs `script` (sh) once, just before the next push with a lease.
    pub fn before_lease(&self, script: &str) {
        fs::write(self.dir.path().join("before-lease.sh"), script).unwrap();
    }

    /// Whether the script of [`GitWrapper::before_lease`] ran, and its output.
    pub fn hook_log(&self) -> Option<String> {
        self.dir
            .path()
            .join("before-lease.ran")
            .exists()
            .then(|| fs::read_to_string(self.dir.path().join("hook.log")).unwrap_or_default())
    }
}
