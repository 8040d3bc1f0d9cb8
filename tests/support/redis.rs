#![allow(dead_code)]
//! A real `redis-server` (Debian's package, `scripts/install-test-deps`) on a random loopback port, in a temp dir,
//! with no persistence; killed when dropped.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

pub struct TestRedis {
    pub port: u16,
    pub password: Option<String>,
    /// Serving TLS only, with this certificate and key (PEM).
    tls: bool,
    child: Child,
    // Last: the directory outlives the process working in it.
    _dir: TempDir,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind a loopback port")
        .port()
}

impl TestRedis {
    /// No password.
    pub fn start() -> TestRedis {
        Self::start_with(None, None)
    }

    /// Clients must `AUTH` with `password` (the `default` user's `requirepass`).
    pub fn with_password(password: &str) -> TestRedis {
        Self::start_with(Some(password), None)
    }

    /// TLS only (no plain port), with `cert` and `key` (PEM); clients need no certificate of their own.
    pub fn with_tls(cert: &std::path::Path, key: &std::path::Path) -> TestRedis {
        Self::start_with(None, Some((cert, key)))
    }

    fn start_with(
        password: Option<&str>,
        tls: Option<(&std::path::Path, &std::path::Path)>,
    ) -> TestRedis {
        // Another process may take the port between the probe and the bind: try again with a new one.
        for _ in 0..5 {
            let dir = tempfile::tempdir().expect("temp dir");
            let port = free_port();
            let mut command = Command::new("redis-server");
            match tls {
                None => {
                    command.args(["--port", &port.to_string()]);
                }
                Some((cert, key)) => {
                    command
                        .args(["--port", "0", "--tls-port", &port.to_string()])
                        .arg("--tls-cert-file")
                        .arg(cert)
                        .arg("--tls-key-file")
                        .arg(key)
                        .args(["--tls-auth-clients", "no"]);
                }
            }
            command
                .current_dir(dir.path())
                .args(["--bind", "127.0.0.1"])
                .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
                .args(["--dir", dir.path().to_str().unwrap()]);
            if let Some(password) = password {
                command.args(["--requirepass", password]);
            }
            let mut child = command
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start redis-server (apt-get install -y redis-server)");
            let until = Instant::now() + Duration::from_secs(20);
            while Instant::now() < until {
                if child.try_wait().expect("redis-server status").is_some() {
                    break;
                }
                // A TLS port cannot be pinged in plain text: accepting connections is enough there.
                let ready = match tls {
                    None => answers(port),
                    Some(_) => TcpStream::connect(("127.0.0.1", port)).is_ok(),
                };
                if ready {
                    return TestRedis {
                        port,
                        password: password.map(str::to_owned),
                        tls: tls.is_some(),
                        child,
                        _dir: dir,
                    };
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("redis-server did not start");
    }

    /// `redis://127.0.0.1:<port>/0` (`rediss://localhost:…` with TLS, the name its certificate holds), without
    /// the password.
    pub fn url(&self) -> String {
        if self.tls {
            format!("rediss://localhost:{}/0", self.port)
        } else {
            format!("redis://127.0.0.1:{}/0", self.port)
        }
    }

    /// Sends one command in Redis's inline form and returns the first line of the answer (`+OK`, `$5`, …).
    pub fn command(&self, words: &[&str]) -> String {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connect to redis");
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut request = String::new();
        if let Some(password) = &self.password {
            request.push_str(&resp(&["AUTH", password]));
        }
        request.push_str(&resp(words));
        stream.write_all(request.as_bytes()).unwrap();
        let mut reader = BufReader::new(stream);
        let mut line = String::new();
        if self.password.is_some() {
            reader.read_line(&mut line).unwrap();
            line.clear();
        }
        reader.read_line(&mut line).unwrap();
        line.trim_end().to_owned()
    }

    /// Every key, as `KEYS *` lists them, with its remaining TTL in seconds (-1: none).
    pub fn keys_with_ttl(&self) -> Vec<(String, i64)> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connect to redis");
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut read_line = || {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            line.trim_end().to_owned()
        };
        if let Some(password) = &self.password {
            stream
                .write_all(resp(&["AUTH", password]).as_bytes())
                .unwrap();
            read_line();
        }
        stream.write_all(resp(&["KEYS", "*"]).as_bytes()).unwrap();
        let count: usize = read_line()[1..].parse().unwrap();
        let mut keys = Vec::new();
        for _ in 0..count {
            read_line(); // $len
            keys.push(read_line());
        }
        keys.into_iter()
            .map(|key| {
                stream.write_all(resp(&["TTL", &key]).as_bytes()).unwrap();
                let ttl: i64 = read_line()[1..].parse().unwrap();
                (key, ttl)
            })
            .collect()
    }

    /// Stops the server at once (SIGKILL), as a crashed or deleted Redis pod.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for TestRedis {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A command in RESP's array form (binary-safe, unlike the inline form).
fn resp(words: &[&str]) -> String {
    let mut out = format!("*{}\r\n", words.len());
    for word in words {
        out.push_str(&format!("${}\r\n{word}\r\n", word.len()));
    }
    out
}

fn answers(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    if stream.write_all(b"PING\r\n").is_err() {
        return false;
    }
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line).is_ok()
        && (line.starts_with("+PONG") || line.starts_with("-NOAUTH"))
}

/// A TCP server on a loopback port standing for a broken server (a Redis, or a registry): it accepts
/// connections and never answers, or with `garbage`, answers each with bytes no protocol expects. Connections
/// stay open until the test ends.
pub fn broken_server(garbage: bool) -> (u16, std::thread::JoinHandle<()>) {
    use std::io::Read;
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let thread = std::thread::spawn(move || {
        let mut open = Vec::new();
        for stream in listener.incoming().take(16) {
            let Ok(mut stream) = stream else { continue };
            if garbage {
                let mut buf = [0u8; 256];
                let _ = stream.read(&mut buf);
                let _ = stream.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n\x00\xff");
            }
            open.push(stream);
        }
    });
    (port, thread)
}
