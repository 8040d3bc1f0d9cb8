//! The sidecar container and how argocd-cmp-server runs the plugin's commands in it.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use tempfile::TempDir;

use super::{Application, BIN, Repo, copy_tree, helm_path};
use crate::support::TestRegistry;

/// Argo CD's default deadline for a whole manifest request (`controller.repo.server.timeout.seconds`).
const ARGO_DEADLINE: Duration = Duration::from_secs(60);

/// The outcome of one command.
#[derive(Debug)]
pub struct Run {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// stdout, after checking that the command succeeded.
    pub fn success(&self) -> &str {
        assert!(
            self.status.success(),
            "the command failed ({}): {}",
            self.status,
            self.stderr
        );
        &self.stdout
    }
}

/// The plugin's sidecar container: its own home and `/tmp`, the operator's `registries.conf`, the cache volume,
/// and the operator's extra environment.
pub struct Sidecar {
    dir: TempDir,
    pub registries_conf: PathBuf,
    pub cache_dir: PathBuf,
    /// Variables the operator sets on the sidecar container (`IMAGE_RESOLVER_*`).
    pub env: Vec<(String, String)>,
}

impl Sidecar {
    /// A sidecar whose `registries.conf` maps each image prefix to a registry (a running [`TestRegistry`]).
    pub fn new(registries: &[(&str, &TestRegistry)]) -> Sidecar {
        let urls: Vec<(&str, String)> = registries
            .iter()
            .map(|(prefix, registry)| (*prefix, registry.base.to_string()))
            .collect();
        Sidecar::with_urls(&urls)
    }

    /// A sidecar whose `registries.conf` maps each image prefix to an API URL.
    pub fn with_urls(registries: &[(&str, String)]) -> Sidecar {
        let dir = tempfile::tempdir().expect("temp dir");
        for sub in ["home", "tmp", "tmp/_cmp_server", "cache"] {
            std::fs::create_dir(dir.path().join(sub)).unwrap();
        }
        let mut conf = String::from("registries:\n");
        for (i, (prefix, url)) in registries.iter().enumerate() {
            conf.push_str(&format!(
                "- name: test-{i}\n  prefix: {prefix}\n  api_url: {}\n  limit: 0\n",
                url.trim_end_matches('/')
            ));
        }
        let registries_conf = dir.path().join("registries.conf");
        std::fs::write(&registries_conf, conf).unwrap();
        Sidecar {
            registries_conf,
            cache_dir: dir.path().join("cache"),
            dir,
            env: Vec::new(),
        }
    }

    /// The container's own environment: a clean base (`PATH` with kubectl and helm, `HOME`, `TMPDIR` on the
    /// sidecar's own `/tmp`), the operator's `IMAGE_RESOLVER_*` settings, and nothing from the test process.
    fn base_vars(&self) -> Vec<(String, String)> {
        let helm_dir = helm_path().parent().unwrap().to_path_buf();
        let mut vars = vec![
            (
                "PATH".to_string(),
                format!("{}:/usr/local/bin:/usr/bin:/bin", helm_dir.display()),
            ),
            (
                "HOME".into(),
                self.dir.path().join("home").display().to_string(),
            ),
            (
                "TMPDIR".into(),
                self.dir.path().join("tmp").display().to_string(),
            ),
            (
                "IMAGE_RESOLVER_REGISTRIES_CONF".into(),
                self.registries_conf.display().to_string(),
            ),
            (
                "IMAGE_RESOLVER_CACHE_DIR".into(),
                self.cache_dir.display().to_string(),
            ),
        ];
        vars.extend(self.env.iter().cloned());
        vars
    }

    /// Receives the repository into a fresh working directory, deleted when the returned guard drops.
    fn unpack(&self, repo: &Repo) -> TempDir {
        self.unpack_part(repo, "", None)
    }

    /// Receives `part` of the repository (`""`: all of it) into a fresh working directory, as argocd-cmp-server
    /// does: `_cmp_server/<uuid>` in its temp dir (here `<name>` instead of a UUID when one is given), deleted when
    /// the returned guard drops.
    fn unpack_part(&self, repo: &Repo, part: &str, name: Option<&str>) -> TempDir {
        let mut builder = tempfile::Builder::new();
        builder.prefix("");
        if let Some(name) = name {
            builder.prefix(name).rand_bytes(0);
        }
        let work = builder.tempdir_in(self.cmp_work_dir()).unwrap();
        copy_tree(&repo.path().join(part), work.path());
        work
    }

    /// Where argocd-cmp-server unpacks each call: `_cmp_server` in its temp dir (`TMPDIR`, shared with the
    /// plugin).
    pub fn cmp_work_dir(&self) -> PathBuf {
        self.tmp_dir().join("_cmp_server")
    }

    /// What argocd-cmp-server does for a manifest request: unpack, `init`, then (if it succeeded) `generate` in
    /// the same directory. Panics when `init` fails; returns `generate`'s outcome.
    pub async fn generate(&self, repo: &Repo, app: &Application) -> Run {
        self.generate_after_init(repo, app, |_| {}).await
    }

    /// [`Sidecar::generate`], calling `between` with the application directory after `init` succeeded.
    pub async fn generate_after_init(
        &self,
        repo: &Repo,
        app: &Application,
        between: impl FnOnce(&Path),
    ) -> Run {
        let work = self.unpack(repo);
        let dir = work.path().join(&app.path);
        let mut vars = self.base_vars();
        vars.extend(app.generate_vars());
        let init = run(dir.clone(), "init", vars.clone()).await;
        assert!(
            init.status.success(),
            "init failed ({}): {}",
            init.status,
            init.stderr
        );
        between(&dir);
        let generate = run(dir, "generate", vars).await;
        drop(work);
        generate
    }

    /// A manifest request that may fail at either step, as argocd-cmp-server runs it: `init`, then `generate`
    /// only when `init` succeeded. Returns the outcome of the last command run (the one Argo CD reports).
    pub async fn manifest_request(&self, repo: &Repo, app: &Application) -> Run {
        let work = self.unpack(repo);
        self.init_then_generate(work.path().join(&app.path), app)
            .await
    }

    /// [`Sidecar::manifest_request`] as it goes with `reposerver.plugin.use.manifest.generate.paths`: Argo CD sends
    /// only `root`, the common root of the app's path and its `manifest-generate-paths` (a directory of the
    /// repository above or at `app.path`), unpacked as `_cmp_server/<name>`; the plugin runs in the app's path
    /// inside it, and `ARGOCD_APP_SOURCE_PATH` is still the app's path in the repository.
    pub async fn manifest_request_of_part(
        &self,
        repo: &Repo,
        app: &Application,
        root: &str,
        name: &str,
    ) -> Run {
        let inside = Path::new(&app.path)
            .strip_prefix(root)
            .expect("the common root is above the app's path");
        let work = self.unpack_part(repo, root, Some(name));
        self.init_then_generate(work.path().join(inside), app).await
    }

    /// `init` in `dir`, then `generate` when it succeeded; the outcome of the last command run.
    async fn init_then_generate(&self, dir: PathBuf, app: &Application) -> Run {
        let mut vars = self.base_vars();
        vars.extend(app.generate_vars());
        let init = run(dir.clone(), "init", vars.clone()).await;
        if !init.status.success() {
            return init;
        }
        run(dir, "generate", vars).await
    }

    /// What argocd-cmp-server does for a parameters request: unpack, then the dynamic parameters command alone
    /// (no `init`), with the reduced environment.
    pub async fn parameters(&self, repo: &Repo, app: &Application) -> Run {
        let work = self.unpack(repo);
        let dir = work.path().join(&app.path);
        let mut vars = self.base_vars();
        vars.extend(app.parameters_vars());
        let outcome = run(dir, "parameters", vars).await;
        drop(work);
        outcome
    }

    /// The sidecar's own temp directory (its `TMPDIR`).
    pub fn tmp_dir(&self) -> PathBuf {
        self.dir.path().join("tmp")
    }

    /// Empties the cache volume (a new sidecar pod).
    pub fn clear_cache(&self) {
        std::fs::remove_dir_all(&self.cache_dir).unwrap();
        std::fs::create_dir(&self.cache_dir).unwrap();
    }
}

/// Runs `argocd-image-resolver <command>` in `dir` with exactly `vars`, off the async runtime, as its own process
/// group; past Argo CD's deadline the group is killed (as argocd-cmp-server does) and the test fails.
async fn run(dir: PathBuf, command: &'static str, vars: Vec<(String, String)>) -> Run {
    tokio::task::spawn_blocking(move || {
        let child = Command::new(BIN)
            .arg(command)
            .current_dir(&dir)
            .env_clear()
            .envs(vars)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .expect("start the binary");
        let pid = child.id();
        let (done, finished) = mpsc::channel();
        std::thread::spawn(move || {
            let _ = done.send(child.wait_with_output());
        });
        match finished.recv_timeout(ARGO_DEADLINE) {
            Ok(output) => {
                let output = output.expect("wait for the binary");
                Run {
                    status: output.status,
                    stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
                    stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
                }
            }
            Err(_) => {
                let group = nix::unistd::Pid::from_raw(pid as i32);
                let _ = nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGKILL);
                panic!("`{command}` ran past Argo CD's deadline of {ARGO_DEADLINE:?}");
            }
        }
    })
    .await
    .unwrap()
}
