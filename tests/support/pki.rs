//! Test certificates made with the `openssl` CLI: a CA with a server certificate for 127.0.0.1/localhost (TLS
//! registries), and an RSA key with a self-signed certificate that signs registry tokens.

use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine;

/// Runs `openssl` in `dir`, panicking with its stderr on failure.
fn openssl(dir: &Path, args: &[&str]) {
    let output = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl is needed by the registry tests: apt-get install -y openssl");
    assert!(
        output.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A CA (v3, CA:TRUE) and a server certificate signed by it with SAN `IP:127.0.0.1, DNS:localhost`.
pub struct TestCa {
    /// PEM of the CA certificate: what a client must trust.
    pub ca_cert: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
}

impl TestCa {
    /// Writes `ca.crt`, `server.crt` and `server.key` (EC P-256, quick to make) into `dir`.
    pub fn create(dir: &Path) -> TestCa {
        let ec = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
        ];
        let mut ca = vec!["req", "-x509"];
        ca.extend(ec);
        ca.extend([
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
            "-days",
            "2",
            "-subj",
            "/CN=registry test CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ]);
        openssl(dir, &ca);
        let mut csr = vec!["req"];
        csr.extend(ec);
        csr.extend([
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=localhost",
        ]);
        openssl(dir, &csr);
        std::fs::write(
            dir.join("server.ext"),
            "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n\
             extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n",
        )
        .expect("write server.ext");
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                "server.csr",
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "2",
                "-out",
                "server.crt",
                "-extfile",
                "server.ext",
            ],
        );
        TestCa {
            ca_cert: dir.join("ca.crt"),
            server_cert: dir.join("server.crt"),
            server_key: dir.join("server.key"),
        }
    }
}

/// The token server's signing material: distribution checks the `x5c` certificate against `rootcertbundle`
/// and wants `digitalSignature` in its key usage.
pub struct SigningKey {
    /// PKCS#1 DER of the RSA private key (what `jsonwebtoken::EncodingKey::from_rsa_der` takes).
    pub key_der: Vec<u8>,
    /// PEM certificate file for the registry's `rootcertbundle`.
    pub cert_pem: PathBuf,
    /// Base64 DER of the certificate, for the JWT header's `x5c`.
    pub cert_x5c: String,
}

impl SigningKey {
    pub fn create(dir: &Path) -> SigningKey {
        openssl(
            dir,
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                "token.key",
                "-out",
                "token.crt",
                "-days",
                "2",
                "-subj",
                "/CN=registry test token signer",
                "-addext",
                "keyUsage=critical,digitalSignature,keyCertSign",
            ],
        );
        openssl(
            dir,
            &[
                "rsa",
                "-in",
                "token.key",
                "-outform",
                "DER",
                "-traditional",
                "-out",
                "token.der",
            ],
        );
        openssl(
            dir,
            &[
                "x509",
                "-in",
                "token.crt",
                "-outform",
                "DER",
                "-out",
                "token.crt.der",
            ],
        );
        let read = |name: &str| {
            std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("read {name}: {e}"))
        };
        SigningKey {
            key_der: read("token.der"),
            cert_pem: dir.join("token.crt"),
            cert_x5c: base64::engine::general_purpose::STANDARD.encode(read("token.crt.der")),
        }
    }
}
