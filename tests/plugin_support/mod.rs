//! Driving the binary the way argocd-cmp-server does: the repository unpacked into a fresh working directory per
//! call, the app's path inside it as the current directory, the sidecar's environment plus what Argo CD adds for
//! the call (see DESIGN.md, "The CMP contract"), `init` then `generate` in one directory, `parameters` in another
//! with the reduced environment, and the working directory deleted afterwards.
//!
//! ```ignore
//! mod plugin_support;
//! mod support;
//! use plugin_support::{Application, Repo, Sidecar};
//!
//! let registry = support::TestRegistry::plain().await;
//! plugin_support::push_tags(&registry, "team/web", &["1.0.0", "1.2.0"]).await;
//! let sidecar = Sidecar::new(&[("apps.test", &registry)]);     // registries.conf: apps.test → the registry
//! let repo = Repo::new(&[("apps/web/deployment.yaml", "…")]);  // the repository as it is in git
//! let app = Application::new("web", "apps/web");
//! let run = sidecar.generate(&repo, &app).await;                // init, then generate
//! let manifests = run.success();                                // stdout, after checking the exit status
//! ```
//!
//! Needs `kubectl` (its built-in kustomize) on the system PATH and the helm of `scripts/install-helm` (or
//! `IMAGE_RESOLVER_HELM`), besides what `tests/support` needs.
#![allow(dead_code)] // each test binary uses a different part

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use tempfile::TempDir;

use crate::support::TestRegistry;

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_argocd-image-resolver");

/// Argo CD's default deadline for a whole manifest request (`controller.repo.server.timeout.seconds`).
const ARGO_DEADLINE: Duration = Duration::from_secs(60);

/// The annotation the plugin adds to each object whose images it tracks.
pub const RESOLVED: &str = "argocd-image-resolver/images";

/// The real helm the tests use: `IMAGE_RESOLVER_HELM` when set, else `.tools/bin/helm` in the repository.
pub fn helm_path() -> PathBuf {
    let path = std::env::var_os("IMAGE_RESOLVER_HELM")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".tools/bin/helm"));
    assert!(
        path.is_file(),
        "helm not found at {}: run scripts/install-helm (or set IMAGE_RESOLVER_HELM)",
        path.display()
    );
    path
}

/// Pushes one small image to `repository` and tags it with every tag in `tags`.
pub async fn push_tags(registry: &TestRegistry, repository: &str, tags: &[&str]) {
    registry
        .pusher()
        .image_tagged(repository, "2024-05-01T00:00:00Z", tags)
        .await;
}

/// A repository as it is in git: a temp dir of files.
pub struct Repo {
    dir: TempDir,
}

impl Repo {
    /// A repository holding `files` (path relative to the repository root, content).
    pub fn new(files: &[(&str, &str)]) -> Repo {
        let repo = Repo {
            dir: tempfile::tempdir().expect("temp dir"),
        };
        repo.write(files);
        repo
    }

    /// Writes (or overwrites) files, creating their directories.
    pub fn write(&self, files: &[(&str, &str)]) {
        for (path, content) in files {
            let path = self.dir.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, content).unwrap();
        }
    }

    /// Copies a file from outside into the repository at `to`.
    pub fn copy_in(&self, from: &Path, to: &str) {
        let to = self.dir.path().join(to);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(from, &to)
            .unwrap_or_else(|e| panic!("copy {} into the repository: {e}", from.display()));
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// One Application using the plugin: what Argo CD puts into the environment of the plugin's commands.
#[derive(Clone, Debug)]
pub struct Application {
    /// `ARGOCD_APP_NAME` as Argo CD sets it (`<namespace>_<name>` for apps outside the control plane's namespace).
    pub name: String,
    /// The destination namespace.
    pub namespace: String,
    pub project: String,
    pub repo_url: String,
    /// `spec.source.path`: the app's directory inside the repository.
    pub path: String,
    pub target_revision: String,
    pub revision: String,
    pub kube_version: String,
    pub api_versions: Vec<String>,
    /// `spec.source.plugin.env`, names as written (Argo CD adds `ARGOCD_ENV_`).
    pub plugin_env: Vec<(String, String)>,
    /// `spec.source.plugin.parameters`, each `{"name": …, "string" | "array" | "map": …}`.
    pub parameters: Vec<serde_json::Value>,
}

impl Application {
    pub fn new(name: &str, path: &str) -> Application {
        Application {
            name: name.into(),
            namespace: "shop".into(),
            project: "default".into(),
            repo_url: "https://git.example/org/deploy.git".into(),
            path: path.into(),
            target_revision: "HEAD".into(),
            revision: "3f2a9c0d8e7b6a5f4e3d2c1b0a9f8e7d6c5b4a39".into(),
            kube_version: "1.29.3".into(),
            api_versions: vec![
                "v1".into(),
                "apps/v1".into(),
                "apps/v1/Deployment".into(),
                "batch/v1".into(),
            ],
            plugin_env: Vec::new(),
            parameters: Vec::new(),
        }
    }

    /// Adds a string parameter.
    pub fn string(mut self, name: &str, value: &str) -> Application {
        self.parameters
            .push(serde_json::json!({"name": name, "string": value}));
        self
    }

    /// Adds an array parameter.
    pub fn array(mut self, name: &str, items: &[&str]) -> Application {
        self.parameters
            .push(serde_json::json!({"name": name, "array": items}));
        self
    }

    /// Adds a map parameter.
    pub fn map(mut self, name: &str, entries: &[(&str, &str)]) -> Application {
        let map: serde_json::Map<String, serde_json::Value> = entries
            .iter()
            .map(|(k, v)| (k.to_string(), serde_json::json!(v)))
            .collect();
        self.parameters
            .push(serde_json::json!({"name": name, "map": map}));
        self
    }

    /// Adds a plugin env entry (Argo CD passes it as `ARGOCD_ENV_<name>`).
    pub fn env(mut self, name: &str, value: &str) -> Application {
        self.plugin_env.push((name.into(), value.into()));
        self
    }

    /// What the Application's `spec.source.plugin` contributes: `ARGOCD_ENV_*` (entries with empty values are
    /// dropped, as argocd-cmp-server drops them), `ARGOCD_APP_PARAMETERS` (`null` without parameters, as Go
    /// marshals a nil list) and the `PARAM_*` variables.
    fn plugin_vars(&self) -> Vec<(String, String)> {
        let mut vars: Vec<(String, String)> = self
            .plugin_env
            .iter()
            .map(|(k, v)| (format!("ARGOCD_ENV_{k}"), v.clone()))
            .collect();
        let json = if self.parameters.is_empty() {
            "null".to_string()
        } else {
            serde_json::to_string(&self.parameters).unwrap()
        };
        vars.push(("ARGOCD_APP_PARAMETERS".into(), json));
        let escaped = |name: &str| -> String {
            name.chars()
                .map(|c| {
                    let c = c.to_ascii_uppercase();
                    if c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_' {
                        c
                    } else {
                        '_'
                    }
                })
                .collect()
        };
        for parameter in &self.parameters {
            let base = format!("PARAM_{}", escaped(parameter["name"].as_str().unwrap()));
            if let Some(s) = parameter["string"].as_str() {
                vars.push((base.clone(), s.into()));
            }
            for (key, value) in parameter["map"].as_object().into_iter().flatten() {
                let value = value.as_str().unwrap().to_string();
                vars.push((format!("{base}_{}", escaped(key)), value));
            }
            for (i, value) in parameter["array"]
                .as_array()
                .into_iter()
                .flatten()
                .enumerate()
            {
                vars.push((format!("{base}_{i}"), value.as_str().unwrap().into()));
            }
        }
        vars.retain(|(_, v)| !v.is_empty());
        vars
    }

    /// The variables of `init` and `generate`.
    pub fn generate_vars(&self) -> Vec<(String, String)> {
        let short = |n: usize| self.revision[..n].to_string();
        let mut vars = vec![
            ("ARGOCD_APP_NAME".to_string(), self.name.clone()),
            ("ARGOCD_APP_NAMESPACE".into(), self.namespace.clone()),
            ("ARGOCD_APP_PROJECT_NAME".into(), self.project.clone()),
            ("ARGOCD_APP_REVISION".into(), self.revision.clone()),
            ("ARGOCD_APP_REVISION_SHORT".into(), short(7)),
            ("ARGOCD_APP_REVISION_SHORT_8".into(), short(8)),
            ("ARGOCD_APP_SOURCE_REPO_URL".into(), self.repo_url.clone()),
            ("ARGOCD_APP_SOURCE_PATH".into(), self.path.clone()),
            (
                "ARGOCD_APP_SOURCE_TARGET_REVISION".into(),
                self.target_revision.clone(),
            ),
            ("KUBE_VERSION".into(), self.kube_version.clone()),
            ("KUBE_API_VERSIONS".into(), self.api_versions.join(",")),
        ];
        vars.extend(self.plugin_vars());
        vars
    }

    /// The reduced variables of the dynamic `parameters` command: no revision, namespace, project or `KUBE_*`.
    pub fn parameters_vars(&self) -> Vec<(String, String)> {
        let mut vars = vec![
            ("ARGOCD_APP_NAME".to_string(), self.name.clone()),
            ("ARGOCD_APP_SOURCE_REPO_URL".into(), self.repo_url.clone()),
            ("ARGOCD_APP_SOURCE_PATH".into(), self.path.clone()),
            (
                "ARGOCD_APP_SOURCE_TARGET_REVISION".into(),
                self.target_revision.clone(),
            ),
        ];
        vars.extend(self.plugin_vars());
        vars
    }
}

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
        for sub in ["home", "tmp", "cache"] {
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

    /// Receives the repository into a fresh working directory (argocd-cmp-server's `_cmp_server/<uuid>` under
    /// its temp dir), deleted when the returned guard drops.
    fn unpack(&self, repo: &Repo) -> TempDir {
        let work = tempfile::Builder::new()
            .prefix("cmp-server-")
            .tempdir_in(self.dir.path().join("tmp"))
            .unwrap();
        copy_tree(repo.path(), work.path());
        work
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
        let dir = work.path().join(&app.path);
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

/// Copies the tree at `from` into `to` (files and directories; symlinks as symlinks).
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        let kind = entry.file_type().unwrap();
        if kind.is_dir() {
            copy_tree(&src, &dst);
        } else if kind.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(&src).unwrap(), &dst).unwrap();
        } else {
            std::fs::copy(&src, &dst).unwrap();
        }
    }
}

/// How an output differs from its input, line by line, for outputs made by replacing text inside lines and
/// inserting whole lines (what the plugin's splice does): unequal lines are paired as changed, unless the next
/// few lines of the output reach the input line again, in which case the lines before it count as inserted.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct LineDiff {
    /// (input line, output line).
    pub changed: Vec<(String, String)>,
    pub inserted: Vec<String>,
    pub removed: Vec<String>,
}

/// At most this many lines inserted in one place (`annotations:` and its entry, or `metadata:` as well).
const MAX_INSERTED: usize = 3;

pub fn line_diff(before: &str, after: &str) -> LineDiff {
    let (b, a): (Vec<&str>, Vec<&str>) = (before.lines().collect(), after.lines().collect());
    let (mut i, mut j) = (0, 0);
    let mut diff = LineDiff::default();
    loop {
        match (b.get(i), a.get(j)) {
            (None, None) => break,
            (Some(x), Some(y)) if x == y => (i, j) = (i + 1, j + 1),
            (Some(x), Some(y)) => match (1..=MAX_INSERTED).find(|k| a.get(j + k) == Some(x)) {
                Some(k) => {
                    diff.inserted
                        .extend(a[j..j + k].iter().map(|l| l.to_string()));
                    j += k;
                }
                None => {
                    diff.changed.push((x.to_string(), y.to_string()));
                    (i, j) = (i + 1, j + 1);
                }
            },
            (Some(x), None) => {
                diff.removed.push(x.to_string());
                i += 1;
            }
            (None, Some(y)) => {
                diff.inserted.push(y.to_string());
                j += 1;
            }
        }
    }
    diff
}

/// Whether `c` can be part of an image reference.
fn in_reference(c: char) -> bool {
    c.is_ascii_alphanumeric() || "._-/:@".contains(c)
}

/// The image an `image` field holds in `line` (YAML block or flow style, quoted or not, or JSON), if any.
pub fn image_of_line(line: &str) -> Option<&str> {
    let at = line.find("image\":").map(|i| i + 7).or_else(|| {
        let i = line.find("image:")?;
        (i == 0 || line[..i].ends_with(['{', ' '])).then_some(i + 6)
    })?;
    let rest = line[at..].trim_start().trim_start_matches(['\'', '"']);
    let end = rest.find(|c| !in_reference(c)).unwrap_or(rest.len());
    Some(&rest[..end])
}

/// When `before` and `after` differ only in the value of an `image` field: that value in each.
pub fn image_change<'a>(before: &'a str, after: &'a str) -> Option<(&'a str, &'a str)> {
    let (from, to) = (image_of_line(before)?, image_of_line(after)?);
    let offset = |line: &str, value: &str| value.as_ptr() as usize - line.as_ptr() as usize;
    let (at_b, at_a) = (offset(before, from), offset(after, to));
    let same_around =
        before[..at_b] == after[..at_a] && before[at_b + from.len()..] == after[at_a + to.len()..];
    same_around.then_some((from, to))
}

/// Checks that `output` differs from `input` only in image values (each changed line the same but for the value
/// of its `image` field) and in inserted annotation lines (`annotations:` and the resolver's own annotation); returns
/// the changed images (from, to) and the inserted lines.
pub fn only_images_and_annotations(
    input: &str,
    output: &str,
) -> (Vec<(String, String)>, Vec<String>) {
    let diff = line_diff(input, output);
    assert_eq!(diff.removed, Vec::<String>::new(), "no line may disappear");
    let mut images = Vec::new();
    for (before, after) in &diff.changed {
        let Some((from, to)) = image_change(before, after) else {
            panic!("only image values may change, but\n  {before}\nbecame\n  {after}");
        };
        images.push((from.to_string(), to.to_string()));
    }
    for line in &diff.inserted {
        let trimmed = line.trim();
        assert!(
            trimmed == "annotations:"
                || trimmed.starts_with(&format!("{RESOLVED}: "))
                || trimmed.starts_with(&format!("\"{RESOLVED}\": ")),
            "only annotation lines may be inserted, but got {line:?}"
        );
    }
    (images, diff.inserted)
}

/// The YAML documents of a stream, as values (empty documents skipped).
pub fn documents(stream: &str) -> Vec<serde_norway::Value> {
    use serde::Deserialize;
    serde_norway::Deserializer::from_str(stream)
        .map(|doc| serde_norway::Value::deserialize(doc).expect("a YAML document"))
        .filter(|doc| !doc.is_null())
        .collect()
}

/// The resolver's annotation of `object`, parsed: one entry per tracked container.
pub fn resolved_entries(object: &serde_norway::Value) -> Vec<serde_json::Value> {
    let text = object["metadata"]["annotations"][RESOLVED]
        .as_str()
        .unwrap_or_else(|| panic!("no {RESOLVED} annotation on {object:?}"));
    serde_json::from_str(text).expect("the annotation holds JSON")
}

/// The `Kind/name` objects of a stream that carry the resolver's annotation.
pub fn annotated(stream: &str) -> Vec<String> {
    documents(stream)
        .iter()
        .filter(|d| !d["metadata"]["annotations"][RESOLVED].is_null())
        .map(|d| {
            format!(
                "{}/{}",
                d["kind"].as_str().unwrap_or_default(),
                d["metadata"]["name"].as_str().unwrap_or_default()
            )
        })
        .collect()
}

/// The values of a stream's `image:` lines, in order.
pub fn images(stream: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in stream.lines() {
        if let Some(image) = image_of_line(line) {
            out.push(image.to_string());
        }
    }
    out
}

/// The tags of `team/web` in [`shop_registry`]: semver, a pre-release and a floating tag.
pub const WEB_TAGS: [&str; 7] = [
    "1.0.0",
    "1.0.5",
    "1.2.0",
    "1.3.0-rc.1",
    "2.0.0",
    "2.1.0",
    "latest",
];

/// The tags of `team/worker` in [`shop_registry`]: CalVer, builds and a floating tag.
pub const WORKER_TAGS: [&str; 5] = ["2024.01.01", "2024.06.15", "build-9", "build-10", "latest"];

/// A plain registry holding `team/web` ([`WEB_TAGS`]) and `team/worker` ([`WORKER_TAGS`]).
pub async fn shop_registry() -> TestRegistry {
    let registry = TestRegistry::plain().await;
    push_tags(&registry, "team/web", &WEB_TAGS).await;
    push_tags(&registry, "team/worker", &WORKER_TAGS).await;
    registry
}

/// The URL of a loopback port nothing listens on (bound, read and released): a registry that is down.
pub fn unreachable_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

/// A Helm chart at `apps/web` whose Deployment shows `.Capabilities`, values and `--set` values, and which
/// depends on a library chart elsewhere in the repository through `file://` (so `init` must build it).
const CHART: &str = r#"apiVersion: v2
name: web
version: 0.1.0
dependencies:
- name: common
  version: 0.1.0
  repository: file://../../charts/common
"#;

const CHART_VALUES: &str = r#"replicas: 1
tier: dev
image:
  repository: apps.test/team/web
  tag: 1.0.0
  constraint: "~1.0"
"#;

const CHART_DEPLOYMENT: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "common.labels" . | nindent 4 }}
  annotations:
    argocd-image-updater.argoproj.io/image-list: web={{ .Values.image.repository }}:{{ .Values.image.constraint }}
    kube-version: {{ .Capabilities.KubeVersion.Version | quote }}
    {{- if .Capabilities.APIVersions.Has "monitoring.coreos.com/v1" }}
    prometheus: "available"
    {{- end }}
spec:
  replicas: {{ .Values.replicas }}
  template:
    spec:
      containers:
      - name: web
        image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
        env:
        - name: TIER
          value: {{ .Values.tier | quote }}
"#;

/// A library chart elsewhere in the repository, which the app's chart depends on through `file://`.
const LIBRARY_CHART: &str = "apiVersion: v2\nname: common\nversion: 0.1.0\ntype: library\n";
const LIBRARY_HELPERS: &str = r#"{{- define "common.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}
"#;

/// A repository holding the chart at `apps/web` (values files `values.yaml`, `values-prod.yaml`), its library, and
/// a values file outside the chart, `env/prod/web.yaml`.
pub fn helm_repo() -> Repo {
    Repo::new(&[
        ("charts/common/Chart.yaml", LIBRARY_CHART),
        ("charts/common/templates/_helpers.tpl", LIBRARY_HELPERS),
        ("apps/web/Chart.yaml", CHART),
        ("apps/web/values.yaml", CHART_VALUES),
        ("apps/web/values-prod.yaml", "replicas: 2\ntier: prod\n"),
        ("apps/web/templates/deployment.yaml", CHART_DEPLOYMENT),
        ("env/prod/web.yaml", "replicas: 3\n"),
    ])
}
