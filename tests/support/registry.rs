//! A real registry for tests: Debian's `docker-registry` (CNCF distribution 2.8) started with
//! `docker-registry serve CONFIG.yml` on a free loopback port in a temp dir, killed when dropped.
//! Variants: plain HTTP, htpasswd Basic auth, bearer tokens from an in-test [`TokenServer`], TLS from a [`TestCa`].

use std::fs;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use argocd_image_resolver::registry::Endpoint;
use tempfile::TempDir;
use url::Url;

use super::pki::TestCa;
use super::push::{PushAuth, Pusher};
use super::token::TokenServer;

/// How the registry authenticates.
enum Auth {
    None,
    Htpasswd { user: String, password: String },
    Token { server: TokenServer, user: String },
}

/// A running `docker-registry`.
pub struct TestRegistry {
    /// `127.0.0.1:<port>`: the registry as image references name it.
    pub registry: String,
    /// `http://127.0.0.1:<port>/` or `https://…` for TLS.
    pub base: Url,
    /// The test CA when the registry serves TLS.
    pub ca: Option<TestCa>,
    auth: Auth,
    child: Child,
    log: PathBuf,
    // Last: the directory outlives the process that writes into it.
    dir: TempDir,
}

/// A free loopback port: bind `:0`, read the port, release it. Another process may grab it before the registry
/// binds, so [`TestRegistry`] retries with a new port when the registry exits at start-up.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind a loopback port")
        .port()
}

impl TestRegistry {
    /// Plain HTTP, no authentication.
    pub async fn plain() -> TestRegistry {
        Self::start(Auth::None, false, tempfile::tempdir().expect("temp dir")).await
    }

    /// Plain HTTP with its storage on tmpfs (`/dev/shm`, when the machine has it): for big fixtures such as
    /// thousands of tags, whose tens of thousands of small files are slow to write and delete on disk.
    pub async fn plain_on_tmpfs() -> TestRegistry {
        let shm = std::path::Path::new("/dev/shm");
        let dir = if shm.is_dir() {
            tempfile::tempdir_in(shm)
        } else {
            tempfile::tempdir()
        };
        Self::start(Auth::None, false, dir.expect("temp dir")).await
    }

    /// Basic auth from an htpasswd file (bcrypt, made with `htpasswd -Bbn`) holding one user.
    pub async fn htpasswd(user: &str, password: &str) -> TestRegistry {
        Self::start(
            Auth::Htpasswd {
                user: user.into(),
                password: password.into(),
            },
            false,
            tempfile::tempdir().expect("temp dir"),
        )
        .await
    }

    /// Bearer tokens from an in-test token server knowing `users` and `refresh_tokens` (token, user); the first
    /// user is the one the test pushes as.
    pub async fn token(
        users: &[(&str, &str)],
        refresh_tokens: &[(&str, &str)],
        expires_in: u64,
    ) -> TestRegistry {
        let dir = tempfile::tempdir().expect("temp dir");
        let server = TokenServer::start(dir.path(), users, refresh_tokens, expires_in).await;
        Self::start(
            Auth::Token {
                server,
                user: users[0].0.to_string(),
            },
            false,
            dir,
        )
        .await
    }

    /// TLS with a certificate from a fresh test CA, no authentication.
    pub async fn tls() -> TestRegistry {
        Self::start(Auth::None, true, tempfile::tempdir().expect("temp dir")).await
    }

    /// Plain HTTP, calling `url` with a notification envelope for each push (distribution's `notifications`), with
    /// `Authorization: <authorization>`.
    pub async fn plain_notifying(url: &str, authorization: &str) -> TestRegistry {
        let notifications = format!(
            "notifications:\n  endpoints:\n    - name: test\n      url: {url}\n      headers:\n        \
             Authorization: [\"{authorization}\"]\n      timeout: 2s\n      threshold: 10\n      backoff: 100ms\n"
        );
        Self::start_with(
            Auth::None,
            false,
            tempfile::tempdir().expect("temp dir"),
            &notifications,
        )
        .await
    }

    async fn start(auth: Auth, tls: bool, dir: TempDir) -> TestRegistry {
        Self::start_with(auth, tls, dir, "").await
    }

    async fn start_with(auth: Auth, tls: bool, dir: TempDir, extra_yaml: &str) -> TestRegistry {
        let ca = tls.then(|| TestCa::create(dir.path()));
        let auth_yaml = match &auth {
            Auth::None => String::new(),
            Auth::Htpasswd { user, password } => {
                let output = Command::new("htpasswd")
                    .args(["-Bbn", user, password])
                    .output()
                    .expect("htpasswd is needed by the registry tests: apt-get install -y apache2-utils");
                assert!(
                    output.status.success(),
                    "htpasswd failed: {}",
                    String::from_utf8_lossy(&output.stderr)
                );
                let path = dir.path().join("htpasswd");
                fs::write(&path, &output.stdout).expect("write htpasswd");
                format!(
                    "auth:\n  htpasswd:\n    realm: test-realm\n    path: {}\n",
                    path.display()
                )
            }
            Auth::Token { server, .. } => server.registry_auth_yaml(),
        };
        let tls_yaml = ca.as_ref().map_or_else(String::new, |ca| {
            format!(
                "  tls:\n    certificate: {}\n    key: {}\n",
                ca.server_cert.display(),
                ca.server_key.display()
            )
        });
        let scheme = if tls { "https" } else { "http" };
        let probe = probe_client(ca.as_ref());
        let log = dir.path().join("registry.log");
        let mut last_log = String::new();
        for _ in 0..5 {
            let port = free_port();
            let config = format!(
                "version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\n\
                 storage:\n  filesystem:\n    rootdirectory: {data}\n  delete:\n    enabled: true\n\
                 http:\n  addr: 127.0.0.1:{port}\n  secret: registry-test-secret\n{tls_yaml}{auth_yaml}{extra_yaml}",
                data = dir.path().join("data").display(),
            );
            let config_path = dir.path().join("config.yml");
            fs::write(&config_path, config).expect("write registry config");
            let log_file = fs::File::create(&log).expect("create registry log");
            let mut child = Command::new("docker-registry")
                .arg("serve")
                .arg(&config_path)
                .stdin(Stdio::null())
                .stdout(log_file.try_clone().expect("clone log handle"))
                .stderr(log_file)
                .spawn()
                .expect("docker-registry is needed by the registry tests: apt-get install -y docker-registry");
            let base = Url::parse(&format!("{scheme}://127.0.0.1:{port}/")).expect("registry URL");
            if wait_ready(&mut child, &probe, &base).await {
                let registry = format!("127.0.0.1:{port}");
                return TestRegistry {
                    registry,
                    base,
                    ca,
                    auth,
                    child,
                    log,
                    dir,
                };
            }
            let _ = child.kill();
            let _ = child.wait();
            last_log = fs::read_to_string(&log).unwrap_or_default();
        }
        panic!("docker-registry did not start after 5 ports; last log:\n{last_log}");
    }

    /// The endpoint a client should use: this registry's URL, trusting the test CA for TLS, no rate limit.
    pub fn endpoint(&self) -> Endpoint {
        let mut endpoint = Endpoint::at(&self.registry, self.base.clone());
        endpoint.ca_file = self.ca.as_ref().map(|ca| ca.ca_cert.clone());
        endpoint.limit = None;
        endpoint
    }

    /// Pushes as the registry's admin (the htpasswd user, or the token server's first user).
    pub fn pusher(&self) -> Pusher {
        let auth = match &self.auth {
            Auth::None => PushAuth::None,
            Auth::Htpasswd { user, password } => PushAuth::Basic(user.clone(), password.clone()),
            Auth::Token { server, user } => PushAuth::Bearer(server.minter(user)),
        };
        Pusher::new(
            self.base.clone(),
            self.ca.as_ref().map(|ca| ca.ca_cert.clone()),
            auth,
        )
    }

    /// The token server of a [`TestRegistry::token`] registry.
    pub fn token_server(&self) -> &TokenServer {
        match &self.auth {
            Auth::Token { server, .. } => server,
            _ => panic!("this registry does not use a token server"),
        }
    }

    /// The registry's log so far (for failure messages).
    pub fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The temp dir holding the registry's data and configuration.
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }
}

impl Drop for TestRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A client for readiness probes that trusts the test CA.
fn probe_client(ca: Option<&TestCa>) -> reqwest::Client {
    let mut builder = reqwest::Client::builder().timeout(Duration::from_secs(2));
    if let Some(ca) = ca {
        let pem = fs::read(&ca.ca_cert).expect("read test CA");
        builder = builder
            .tls_certs_merge(reqwest::Certificate::from_pem_bundle(&pem).expect("test CA PEM"));
    }
    builder.build().expect("probe client")
}

/// Polls `GET /v2/` until the registry answers (any status: 401 means up and guarded), or gives up when the
/// process exits (port taken) or 20 s pass.
async fn wait_ready(child: &mut Child, probe: &reqwest::Client, base: &Url) -> bool {
    let ping = base.join("v2/").expect("ping URL");
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(20) {
        if child.try_wait().ok().flatten().is_some() {
            return false;
        }
        if probe.get(ping.clone()).send().await.is_ok() {
            return true;
        }
        // Polling interval between readiness checks, not a wait for an assumed start-up time.
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    false
}
