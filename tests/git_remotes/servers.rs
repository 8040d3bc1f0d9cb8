//! The git servers the tests talk to, each on a random free loopback port in a private temp dir, stopped when
//! dropped: `git daemon --enable=receive-pack`, smart HTTP (`git http-backend` run as CGI per request behind an
//! in-test axum server that checks basic auth), and Debian's `sshd`.

use std::fs;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use tempfile::TempDir;
use tokio::io::AsyncWriteExt;

use crate::support::MockServer;

/// A free loopback port: bind `:0`, read the port, release it (the server binds it next; a race with another
/// process is retried by the callers).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind a loopback port")
        .port()
}

/// Waits until `port` accepts connections, or `child` exits (the port was taken: the caller retries).
fn wait_listening(child: &mut Child, port: u16) -> bool {
    let until = Instant::now() + Duration::from_secs(10);
    while Instant::now() < until {
        if child.try_wait().expect("poll the server").is_some() {
            return false;
        }
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// A started server process, killed when dropped.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `git daemon` serving every repository under `root`, push enabled.
pub struct GitDaemon {
    pub port: u16,
    _process: Process,
}

impl GitDaemon {
    pub fn start(root: &Path, log: &Path) -> GitDaemon {
        for _ in 0..5 {
            let port = free_port();
            let log_file = fs::File::create(log).expect("daemon log");
            let mut child = Command::new("git")
                .args([
                    "daemon",
                    "--reuseaddr",
                    "--export-all",
                    "--enable=receive-pack",
                    "--informative-errors",
                ])
                .arg("--listen=127.0.0.1")
                .arg(format!("--port={port}"))
                .arg(format!("--base-path={}", root.display()))
                .arg(root)
                .env("GIT_CONFIG_NOSYSTEM", "1")
                .env("HOME", root)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log_file)
                .spawn()
                .expect("git daemon");
            if wait_listening(&mut child, port) {
                return GitDaemon {
                    port,
                    _process: Process(child),
                };
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!(
            "git daemon did not start after 5 ports: {}",
            fs::read_to_string(log).unwrap_or_default()
        );
    }
}

/// What the smart HTTP server accepts and serves.
struct Cgi {
    root: PathBuf,
    user: String,
    /// `Basic <base64(user:password)>`.
    authorization: String,
}

/// Smart HTTP: axum in front of `git http-backend` (CGI, one run per request), answering 401 unless the request
/// carries the one user's basic credentials. Records every request's `Authorization` header.
pub struct SmartHttp {
    pub server: MockServer,
}

impl SmartHttp {
    pub async fn start(root: &Path, user: &str, password: &str) -> SmartHttp {
        let credentials =
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        let cgi = Arc::new(Cgi {
            root: root.to_path_buf(),
            user: user.to_owned(),
            authorization: format!("Basic {credentials}"),
        });
        let router = Router::new().fallback(serve_cgi).with_state(cgi);
        SmartHttp {
            server: MockServer::start(router).await,
        }
    }

    pub fn url(&self, repo: &str) -> String {
        format!("http://{}/{repo}", self.server.addr)
    }
}

async fn serve_cgi(State(cgi): State<Arc<Cgi>>, request: Request) -> Response {
    let headers = request.headers().clone();
    let authorized = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == cgi.authorization);
    if !authorized {
        return (
            StatusCode::UNAUTHORIZED,
            [("www-authenticate", "Basic realm=\"git\"")],
            "authentication required\n",
        )
            .into_response();
    }
    let method = request.method().to_string();
    let path = request.uri().path().to_owned();
    let query = request.uri().query().unwrap_or_default().to_owned();
    let body = axum::body::to_bytes(request.into_body(), usize::MAX)
        .await
        .expect("request body");
    let header = |name: &str| header_value(&headers, name);
    let mut command = tokio::process::Command::new("git");
    command
        .arg("http-backend")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", &cgi.root)
        .env("GIT_PROJECT_ROOT", &cgi.root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("REMOTE_USER", &cgi.user)
        .env("REMOTE_ADDR", "127.0.0.1")
        .env("REQUEST_METHOD", method)
        .env("PATH_INFO", path)
        .env("QUERY_STRING", query)
        .env("CONTENT_TYPE", header("content-type"))
        .env("CONTENT_LENGTH", body.len().to_string())
        .env("HTTP_CONTENT_ENCODING", header("content-encoding"))
        .env("GIT_PROTOCOL", header("git-protocol"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("git http-backend");
    let mut stdin = child.stdin.take().expect("stdin");
    let writer = tokio::spawn(async move {
        let _ = stdin.write_all(&body).await;
    });
    let output = child.wait_with_output().await.expect("http-backend output");
    let _ = writer.await;
    cgi_response(&output.stdout)
}

fn header_value(headers: &HeaderMap, name: &str) -> String {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// A CGI program's output (`Header: value` lines, a blank line, the body) as an HTTP response.
fn cgi_response(output: &[u8]) -> Response {
    let split = output
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| (i, i + 4))
        .or_else(|| {
            output
                .windows(2)
                .position(|w| w == b"\n\n")
                .map(|i| (i, i + 2))
        });
    let Some((end, body_start)) = split else {
        return (StatusCode::BAD_GATEWAY, "bad CGI output").into_response();
    };
    let mut response = Response::builder().status(StatusCode::OK);
    for line in String::from_utf8_lossy(&output[..end]).lines() {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("status") {
            let code = value.split_whitespace().next().unwrap_or("500");
            response = response.status(code.parse::<u16>().unwrap_or(500));
        } else {
            response = response.header(name.trim(), value);
        }
    }
    response
        .body(Body::from(output[body_start..].to_vec()))
        .expect("CGI response")
}

/// Answers every request with a redirect to the same path on `target` (another port: another origin).
pub async fn redirector(target: std::net::SocketAddr) -> MockServer {
    let router = Router::new().fallback(move |request: Request| async move {
        let location = format!(
            "http://{target}{}",
            request
                .uri()
                .path_and_query()
                .map_or_else(|| request.uri().path().to_owned(), ToString::to_string)
        );
        (StatusCode::FOUND, [("location", location)]).into_response()
    });
    MockServer::start(router).await
}

/// A TCP server that accepts connections and never answers: a remote that hangs.
pub struct Silent {
    pub port: u16,
    _listener: TcpListener,
}

impl Silent {
    pub fn start() -> Silent {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        Silent {
            port: listener.local_addr().expect("address").port(),
            _listener: listener,
        }
    }

    /// The next connection, once a client has made it (left unanswered): when it returns, the client is running
    /// and waiting for an answer.
    pub async fn accept(&self) -> tokio::net::TcpStream {
        let listener = self._listener.try_clone().expect("the listener");
        listener.set_nonblocking(true).expect("non-blocking");
        let listener = tokio::net::TcpListener::from_std(listener).expect("the listener");
        listener.accept().await.expect("a connection").0
    }
}

/// Debian's `sshd` (openssh-server) on a loopback port: a generated host key, one authorized client key, no
/// password logins, `StrictModes no` for keys under the temp dir.
pub struct SshServer {
    pub port: u16,
    pub user: String,
    /// The client's private key (mode 0600) and the known_hosts file listing this server's host key.
    pub client_key: PathBuf,
    pub known_hosts: PathBuf,
    _process: Process,
}

/// `ssh-keygen -t ed25519` into `path` (and `path.pub`), no passphrase.
pub fn keygen(path: &Path, comment: &str) {
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f"])
        .arg(path)
        .stdin(Stdio::null())
        .status()
        .expect("ssh-keygen (openssh-client) is needed by the git tests");
    assert!(status.success(), "ssh-keygen failed");
}

impl SshServer {
    pub fn start(dir: &Path) -> SshServer {
        let sshd = Path::new("/usr/sbin/sshd");
        assert!(
            sshd.exists(),
            "sshd is needed by the git ssh tests: apt-get install -y openssh-server (scripts/install-test-deps)"
        );
        // sshd's privilege-separation directory; the package's service (never started here) would make it.
        fs::create_dir_all("/run/sshd").expect("create /run/sshd (the tests run as root)");
        let host_key = dir.join("host_key");
        let client_key = dir.join("client_key");
        keygen(&host_key, "host");
        keygen(&client_key, "client");
        fs::copy(dir.join("client_key.pub"), dir.join("authorized_keys")).expect("authorized_keys");
        let user = String::from_utf8(Command::new("id").arg("-un").output().expect("id").stdout)
            .expect("user name")
            .trim()
            .to_owned();
        let host_public = fs::read_to_string(dir.join("host_key.pub")).expect("host key");
        let log = dir.join("sshd.log");
        for _ in 0..5 {
            let port = free_port();
            let config = dir.join("sshd_config");
            fs::write(
                &config,
                format!(
                    "Port {port}\nListenAddress 127.0.0.1\nHostKey {host}\nPidFile {dir}/sshd.pid\n\
                     AuthorizedKeysFile {dir}/authorized_keys\nStrictModes no\nPasswordAuthentication no\n\
                     KbdInteractiveAuthentication no\nPubkeyAuthentication yes\nUsePAM no\n\
                     PermitRootLogin prohibit-password\nAllowUsers {user}\nLogLevel ERROR\n",
                    host = host_key.display(),
                    dir = dir.display(),
                ),
            )
            .expect("sshd_config");
            let log_file = fs::File::create(&log).expect("sshd log");
            let mut child = Command::new(sshd)
                .args(["-D", "-e", "-f"])
                .arg(&config)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log_file)
                .spawn()
                .expect("start sshd");
            if wait_listening(&mut child, port) {
                let known_hosts = dir.join("known_hosts");
                fs::write(&known_hosts, format!("[127.0.0.1]:{port} {host_public}"))
                    .expect("known_hosts");
                return SshServer {
                    port,
                    user,
                    client_key,
                    known_hosts,
                    _process: Process(child),
                };
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!(
            "sshd did not start after 5 ports: {}",
            fs::read_to_string(&log).unwrap_or_default()
        );
    }

    pub fn url(&self, repo: &Path) -> String {
        format!(
            "ssh://{}@127.0.0.1:{}{}",
            self.user,
            self.port,
            repo.display()
        )
    }
}

/// A private temp dir for one server's files.
pub fn server_dir() -> TempDir {
    tempfile::tempdir().expect("temp dir")
}

/// TLS in front of a plain server: accepts on its own loopback port with the test CA's server certificate and
/// relays the bytes to `upstream`. (No TLS-terminating server is installed here; rustls is what the package uses.)
pub struct TlsProxy {
    pub port: u16,
    task: tokio::task::JoinHandle<()>,
}

impl TlsProxy {
    pub async fn start(upstream: std::net::SocketAddr, cert: &Path, key: &Path) -> TlsProxy {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
            .expect("server certificate")
            .map(|c| c.expect("certificate"))
            .collect();
        let key = PrivateKeyDer::from_pem_file(key).expect("server key");
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .expect("server config");
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("address").port();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(stream).await else {
                        return;
                    };
                    let Ok(mut plain) = tokio::net::TcpStream::connect(upstream).await else {
                        return;
                    };
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
                });
            }
        });
        TlsProxy { port, task }
    }
}

impl Drop for TlsProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}
