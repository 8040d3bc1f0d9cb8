//! TLS trust of registry clients: the endpoint's extra roots (`ca_file`, `ca_data`) plus the system's CA roots,
//! which are read once per process and only when a connection first has a certificate to verify, so a client
//! that only speaks plain HTTP never reads them (and works where the system has none).

use std::sync::{Arc, OnceLock};

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};

use super::config::Endpoint;

/// The system's roots, parsed: read by the first verification in the process, shared by every client after.
static SYSTEM_ROOTS: OnceLock<RootCertStore> = OnceLock::new();

fn system_roots() -> &'static RootCertStore {
    SYSTEM_ROOTS.get_or_init(|| {
        // Tests run the binary with `--log-level debug` and look for this line (or its absence).
        tracing::debug!("loading CA roots");
        let loaded = rustls_native_certs::load_native_certs();
        for error in &loaded.errors {
            tracing::warn!(%error, "cannot read system CA roots");
        }
        let mut roots = RootCertStore::empty();
        let (added, ignored) = roots.add_parsable_certificates(loaded.certs);
        if ignored > 0 {
            tracing::warn!("{ignored} system CA root certificates were ignored as unparsable");
        }
        tracing::debug!(added, "loaded CA roots");
        roots
    })
}

/// The rustls configuration of a verifying client for `endpoint`: its extra roots are read and checked now (an
/// unusable `ca_file` fails the client's construction); the system roots wait for the first handshake.
pub(crate) fn client_config(endpoint: &Endpoint) -> Result<rustls::ClientConfig, String> {
    let mut extra = RootCertStore::empty();
    if let Some(path) = &endpoint.ca_file {
        let pem = std::fs::read(path)
            .map_err(|e| format!("cannot read CA file {}: {e}", path.display()))?;
        let certs = pem_certificates(&pem)
            .map_err(|e| format!("CA file {} is not a PEM bundle: {e}", path.display()))?;
        if certs.is_empty() {
            return Err(format!(
                "CA file {} holds no PEM certificate",
                path.display()
            ));
        }
        add_all(&mut extra, certs)?;
    }
    if let Some(data) = &endpoint.ca_data {
        let certs = pem_certificates(data.as_bytes())
            .map_err(|e| format!("ca_data is not a PEM bundle: {e}"))?;
        if certs.is_empty() {
            return Err("ca_data holds no PEM certificate".to_string());
        }
        add_all(&mut extra, certs)?;
    }
    // reqwest's choice: a provider the process installed, else aws-lc-rs (the one its `rustls` feature brings).
    let provider = CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(rustls::crypto::aws_lc_rs::default_provider()));
    let verifier = LazyVerifier {
        extra,
        provider: Arc::clone(&provider),
        verifier: OnceLock::new(),
    };
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(rustls::ALL_VERSIONS)
        .map_err(|e| format!("TLS versions: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    // What reqwest offers by default with its http2 feature: a preconfigured config is used as given.
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// The certificates of a PEM bundle (other PEM sections are skipped, as reqwest did).
fn pem_certificates(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| "invalid certificate encoding".to_string())
}

fn add_all(store: &mut RootCertStore, certs: Vec<CertificateDer<'static>>) -> Result<(), String> {
    for cert in certs {
        store
            .add(cert)
            .map_err(|e| format!("unusable CA certificate: {e}"))?;
    }
    Ok(())
}

/// Verifies server certificates against the extra roots and the system's, building its WebPKI verifier on the
/// first certificate it sees. Signatures need no roots, so they are checked without building it.
#[derive(Debug)]
struct LazyVerifier {
    extra: RootCertStore,
    provider: Arc<CryptoProvider>,
    verifier: OnceLock<Result<Arc<WebPkiServerVerifier>, rustls::Error>>,
}

impl LazyVerifier {
    fn verifier(&self) -> Result<&Arc<WebPkiServerVerifier>, rustls::Error> {
        self.verifier
            .get_or_init(|| {
                let mut roots = self.extra.clone();
                roots.roots.extend(system_roots().roots.iter().cloned());
                if roots.is_empty() {
                    return Err(rustls::Error::General(
                        "no CA certificates were loaded from the system".to_string(),
                    ));
                }
                WebPkiServerVerifier::builder_with_provider(
                    Arc::new(roots),
                    Arc::clone(&self.provider),
                )
                .build()
                .map_err(|e| rustls::Error::General(e.to_string()))
            })
            .as_ref()
            .map_err(Clone::clone)
    }
}

impl ServerCertVerifier for LazyVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.verifier()?.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        )
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
