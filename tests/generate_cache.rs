//! `generate` and its cache directory, through the real CLI against a real registry (Debian's docker-registry)
//! on a plain app: a warm render (tag lists, build times and answers all in the cache) leaves every file and
//! directory of the cache as it was, but for marking entries it reads used once an hour, and a changed answer is
//! still recorded (issue 11: every warm render rewrote and synced its last-known-good answers, and created and
//! removed a probe file in each directory).

mod support;

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, SystemTime};

use support::TestRegistry;

/// Images named `cache.test/…` are mapped to a registry by registries.conf.
const PREFIX: &str = "cache.test";

/// Two images on two strategies: `web` by semver (tag list), `builds` by newest-build (tag list, then the build
/// time of each image, kept by digest).
const DEPLOYMENT: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: shop
  annotations:
    argocd-image-updater.argoproj.io/image-list: web=cache.test/shop/web:~1, builds=cache.test/shop/builds
    argocd-image-updater.argoproj.io/builds.update-strategy: newest-build
spec:
  template:
    spec:
      containers:
      - name: web
        image: cache.test/shop/web:1.0.0
      - name: builds
        image: cache.test/shop/builds:b0
";

/// A plain app, its registries.conf and its cache, in one temp dir.
struct App {
    dir: tempfile::TempDir,
}

impl App {
    fn new() -> App {
        let dir = tempfile::tempdir().unwrap();
        let app = dir.path().join("app");
        std::fs::create_dir(&app).unwrap();
        std::fs::write(app.join("deployment.yaml"), DEPLOYMENT).unwrap();
        App { dir }
    }

    fn cache(&self) -> PathBuf {
        self.dir.path().join("cache")
    }

    /// `generate` with `cache.test` at `api_url`, tag lists kept for `tags_ttl`.
    async fn generate(&self, api_url: &str, tags_ttl: &str) -> Output {
        let conf = self.dir.path().join("registries.conf");
        std::fs::write(
            &conf,
            format!("registries:\n- name: local\n  prefix: {PREFIX}\n  api_url: {api_url}\n"),
        )
        .unwrap();
        let (app, cache, tags_ttl) = (
            self.dir.path().join("app"),
            self.cache(),
            tags_ttl.to_owned(),
        );
        tokio::task::spawn_blocking(move || {
            assert_cmd::Command::cargo_bin("argocd-image-resolver")
                .unwrap()
                .arg("generate")
                .arg("--app-dir")
                .arg(&app)
                .env("DOCKER_CONFIG", "/nonexistent")
                .env_remove("IMAGE_RESOLVER_DOCKER_CONFIG")
                .env_remove("ARGOCD_APP_PARAMETERS")
                .env("IMAGE_RESOLVER_REGISTRIES_CONF", &conf)
                .env("IMAGE_RESOLVER_CACHE_DIR", &cache)
                .env("IMAGE_RESOLVER_TAGS_TTL", &tags_ttl)
                .env("IMAGE_RESOLVER_BUDGET", "30s")
                .output()
                .unwrap()
        })
        .await
        .unwrap()
    }
}

/// Runs `generate` and returns its output, failing the test (with stderr) when it fails or misses a `want`ed image.
async fn rendered(app: &App, api_url: &str, tags_ttl: &str, want: &[&str]) -> String {
    let output = app.generate(api_url, tags_ttl).await;
    let (stdout, stderr) = (
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    assert!(output.status.success(), "generate failed: {stderr}");
    for image in want {
        assert!(
            stdout.contains(&format!("image: {PREFIX}/{image}\n")),
            "{image} rendered:\n{stdout}\nstderr: {stderr}"
        );
    }
    stderr.into_owned()
}

/// `shop/web` tagged 1.0.0 and 1.1.0; `shop/builds` tagged b1 (older) and b2 (newer), two images.
async fn push_shop(registry: &TestRegistry) {
    let pusher = registry.pusher();
    pusher
        .image_tagged("shop/web", "2024-05-01T10:00:00Z", &["1.0.0", "1.1.0"])
        .await;
    pusher
        .image_tagged("shop/builds", "2024-05-01T10:00:00Z", &["b1"])
        .await;
    pusher
        .image_tagged("shop/builds", "2024-06-01T10:00:00Z", &["b2"])
        .await;
}

/// Every entry under `dir` (itself included) by path: inode, modification time and size. Renaming a file over
/// another changes its inode; writing it, its time and size; creating or removing an entry, its directory's time.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, (u64, i64, i64, u64)> {
    let mut entries = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(path) = todo.pop() {
        // The render log, which every run appends one line to for the daemon's metrics (one write, no sync or
        // rename): not a cache entry.
        if path.ends_with("metrics") {
            continue;
        }
        let meta = std::fs::symlink_metadata(&path).unwrap();
        if meta.is_dir() {
            todo.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
        }
        entries.insert(
            path,
            (meta.ino(), meta.mtime(), meta.mtime_nsec(), meta.size()),
        );
    }
    entries
}

/// Sets every entry under `dir` to a modification time `ago` before now, so that any write shows, however coarse
/// the file system's timestamps.
fn age(dir: &Path, ago: Duration) {
    let old = SystemTime::now() - ago;
    for path in snapshot(dir).keys() {
        std::fs::File::open(path)
            .unwrap()
            .set_modified(old)
            .unwrap();
    }
}

/// The cache's files by kind (`resolved`, `tags`, `metadata`): how many of each.
fn kinds(
    snapshot: &BTreeMap<PathBuf, (u64, i64, i64, u64)>,
    cache: &Path,
) -> BTreeMap<String, usize> {
    let mut kinds = BTreeMap::new();
    for path in snapshot.keys() {
        let relative = path.strip_prefix(cache).unwrap();
        if let [_, kind, _] = relative.iter().collect::<Vec<_>>()[..] {
            *kinds
                .entry(kind.to_string_lossy().into_owned())
                .or_default() += 1;
        }
    }
    kinds
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_warm_render_leaves_the_cache_untouched() {
    let registry = TestRegistry::plain().await;
    push_shop(&registry).await;
    let app = App::new();
    let want = ["shop/web:1.1.0", "shop/builds:b2"];
    rendered(&app, registry.base.as_str(), "10m", &want).await;
    let cache = app.cache();
    // Younger than the hour after which a read marks an entry used again.
    age(&cache, Duration::from_secs(10 * 60));
    let cold = snapshot(&cache);
    assert_eq!(
        kinds(&cold, &cache),
        BTreeMap::from([
            ("metadata".to_owned(), 1),
            ("resolved".to_owned(), 2),
            ("tags".to_owned(), 4),
        ]),
        "the cold render filled the cache (tags: two lists and their lock files): {cold:#?}"
    );

    rendered(&app, registry.base.as_str(), "10m", &want).await;
    assert_eq!(snapshot(&cache), cold, "the warm render wrote to the cache");

    // Older than that, the entries it reads get a new time, and nothing else changes: no file is written,
    // replaced, created or removed.
    age(&cache, Duration::from_secs(2 * 60 * 60));
    let old = snapshot(&cache);
    rendered(&app, registry.base.as_str(), "10m", &want).await;
    let marked = snapshot(&cache);
    let files = |snapshot: &BTreeMap<PathBuf, (u64, i64, i64, u64)>| {
        snapshot
            .iter()
            .map(|(path, &(inode, _, _, size))| (path.clone(), (inode, size)))
            .collect::<BTreeMap<_, _>>()
    };
    assert_eq!(
        files(&marked),
        files(&old),
        "the warm render wrote to the cache"
    );
    let used: BTreeMap<_, _> = marked
        .into_iter()
        .filter(|(path, entry)| old[path] != *entry)
        .collect();
    assert_eq!(
        kinds(&used, &cache),
        BTreeMap::from([("metadata".to_owned(), 1), ("tags".to_owned(), 2)]),
        "the tag lists and build times read are marked used (the registry answered: no fallback read): {used:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_tag_is_recorded_and_is_what_a_later_render_falls_back_to() {
    let registry = TestRegistry::plain().await;
    push_shop(&registry).await;
    let app = App::new();
    let api_url = registry.base.as_str();
    rendered(&app, api_url, "10m", &["shop/web:1.1.0", "shop/builds:b2"]).await;

    // A new release, seen at once (no tag list kept), recorded within seconds of the answer it replaces.
    registry
        .pusher()
        .image_tagged("shop/web", "2024-07-01T10:00:00Z", &["1.2.0"])
        .await;
    rendered(&app, api_url, "0s", &["shop/web:1.2.0", "shop/builds:b2"]).await;

    // The registry now a port nobody listens on: the answers recorded last are rendered.
    let closed = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/", listener.local_addr().unwrap())
    };
    let stderr = rendered(&app, &closed, "0s", &["shop/web:1.2.0", "shop/builds:b2"]).await;
    assert!(
        stderr.contains("using 1.2.0, the tag last resolved for it"),
        "{stderr}"
    );
}
