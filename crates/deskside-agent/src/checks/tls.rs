//! TLS client setup shared by the network checks, and the
//! `tls_cert_expiry` kind.
//!
//! Verification is on by default, against the system's trust store plus
//! an optional CA file. A recording verifier keeps the server's certificate
//! even when verification fails, so an expired or untrusted certificate is
//! still reported with its expiry date.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use deskside_host::checks::Outcome;
use deskside_host::checks::policy::Check;
use deskside_host::checks::threshold::{self, Direction};
use deskside_protocol::{CheckState, PerfValue};
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

/// The crypto provider: ring, chosen explicitly rather than by feature
/// unification.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The system's trust store, read once per process.
fn system_roots() -> &'static RootCertStore {
    static ROOTS: OnceLock<RootCertStore> = OnceLock::new();
    ROOTS.get_or_init(|| {
        let mut store = RootCertStore::empty();
        let found = rustls_native_certs::load_native_certs();
        store.add_parsable_certificates(found.certs);
        store
    })
}

/// Remembers the server's end-entity certificate and verifies (or, with
/// `verify = false`, accepts) it.
#[derive(Debug)]
pub struct RecordingVerifier {
    inner: Arc<WebPkiServerVerifier>,
    verify: bool,
    seen: Mutex<Option<CertificateDer<'static>>>,
}

impl RecordingVerifier {
    /// The certificate the server presented, if the handshake got that far.
    pub fn seen(&self) -> Option<CertificateDer<'static>> {
        self.seen.lock().ok().and_then(|s| s.clone())
    }
}

impl ServerCertVerifier for RecordingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if let Ok(mut s) = self.seen.lock() {
            *s = Some(end_entity.clone().into_owned());
        }
        if self.verify {
            self.inner
                .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        } else {
            Ok(ServerCertVerified::assertion())
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// A client configuration trusting the system store and `ca_file`.
pub fn client_config(
    ca_file: Option<&str>,
    verify: bool,
) -> Result<(ClientConfig, Arc<RecordingVerifier>), String> {
    let mut roots = system_roots().clone();
    if let Some(path) = ca_file {
        let certs = CertificateDer::pem_file_iter(path)
            .map_err(|e| format!("cannot read ca_file {path}: {e}"))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("ca_file {path}: {e}"))?;
        if certs.is_empty() {
            return Err(format!("ca_file {path} holds no certificate"));
        }
        let (added, _) = roots.add_parsable_certificates(certs);
        if added == 0 {
            return Err(format!("ca_file {path}: no usable certificate"));
        }
    }
    if roots.is_empty() && verify {
        return Err("no trusted certificates: the system trust store is empty; set ca_file".into());
    }
    let provider = provider();
    let inner = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), Arc::clone(&provider))
        .build()
        .map_err(|e| format!("TLS setup: {e}"))?;
    let recorder = Arc::new(RecordingVerifier {
        inner,
        verify,
        seen: Mutex::new(None),
    });
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::clone(&recorder) as Arc<dyn ServerCertVerifier>)
        .with_no_client_auth();
    Ok((config, recorder))
}

/// Accepts exactly one server certificate, named by the SHA-256 of its
/// DER encoding, whoever signed it: how an agent trusts a desk with a
/// self-signed certificate without trusting anything else. The handshake
/// signatures are still checked, so only the key's holder passes.
#[derive(Debug)]
struct PinnedVerifier {
    pin: [u8; 32],
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for PinnedVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let seen = <sha2::Sha256 as sha2::Digest>::digest(end_entity.as_ref());
        if seen.as_slice() == self.pin {
            Ok(ServerCertVerified::assertion())
        } else {
            let hex: Vec<String> = seen.iter().map(|b| format!("{b:02X}")).collect();
            Err(rustls::Error::General(format!(
                "the server's certificate (SHA-256 {}) is not the pinned one",
                hex.join(":")
            )))
        }
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

/// A client configuration that accepts only the certificate whose SHA-256
/// fingerprint is `pin`.
pub fn pinned_client_config(pin: [u8; 32]) -> Result<ClientConfig, String> {
    let provider = provider();
    let verifier = Arc::new(PinnedVerifier {
        pin,
        provider: Arc::clone(&provider),
    });
    Ok(ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth())
}

/// Seconds from now until the certificate's `notAfter` (negative when
/// expired), with its subject.
pub fn expiry(cert: &CertificateDer<'_>) -> Option<(i64, String)> {
    let (_, parsed) = x509_parser::parse_x509_certificate(cert.as_ref()).ok()?;
    let not_after = parsed.validity().not_after.timestamp();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_secs();
    Some((
        not_after - i64::try_from(now).ok()?,
        parsed.subject().to_string(),
    ))
}

fn human(secs: i64) -> String {
    let d = Duration::from_secs(secs.unsigned_abs());
    let rounded = Duration::from_secs(d.as_secs() - d.as_secs() % 3600);
    if rounded.is_zero() {
        humantime::format_duration(Duration::from_secs(d.as_secs() - d.as_secs() % 60)).to_string()
    } else {
        humantime::format_duration(rounded).to_string()
    }
}

fn outcome(state: CheckState, summary: String, perfdata: Vec<PerfValue>) -> Outcome {
    Outcome {
        state,
        summary,
        perfdata,
        message: None,
    }
}

/// `tls_cert_expiry`.
pub fn cert_expiry(
    check: &Check,
    host: &str,
    port: u16,
    server_name: &str,
    ca_file: Option<&str>,
    verify: bool,
) -> Outcome {
    let deadline = Instant::now() + check.timeout;
    let (config, recorder) = match client_config(ca_file, verify) {
        Ok(c) => c,
        Err(e) => return outcome(CheckState::Unknown, e, vec![]),
    };
    let Ok(name) = ServerName::try_from(server_name.to_owned()) else {
        return outcome(
            CheckState::Unknown,
            format!("{server_name:?} is not a valid server name"),
            vec![],
        );
    };
    let handshake = (|| -> Result<(), String> {
        let addr = (host, port)
            .to_socket_addrs()
            .map_err(|e| format!("cannot resolve {host}: {e}"))?
            .next()
            .ok_or_else(|| format!("{host} has no addresses"))?;
        let left = deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(1));
        let mut sock = TcpStream::connect_timeout(&addr, left)
            .map_err(|e| format!("cannot connect to {host}:{port}: {e}"))?;
        let left = deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(1));
        sock.set_read_timeout(Some(left))
            .map_err(|e| e.to_string())?;
        sock.set_write_timeout(Some(left))
            .map_err(|e| e.to_string())?;
        let mut conn =
            rustls::ClientConnection::new(Arc::new(config), name).map_err(|e| e.to_string())?;
        while conn.is_handshaking() {
            conn.complete_io(&mut sock).map_err(|e| match e.kind() {
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => {
                    format!("TLS handshake with {host}:{port} timed out")
                }
                _ => format!("TLS handshake with {host}:{port} failed: {e}"),
            })?;
        }
        conn.send_close_notify();
        let _ = conn.complete_io(&mut sock);
        let _ = sock.flush();
        let mut sink = [0u8; 1];
        let _ = sock.read(&mut sink);
        Ok(())
    })();

    let cert = recorder.seen();
    let Some((left, subject)) = cert.as_ref().and_then(expiry) else {
        return outcome(
            CheckState::Critical,
            handshake
                .err()
                .unwrap_or_else(|| format!("{host}:{port} sent no certificate")),
            vec![],
        );
    };
    let perf = vec![PerfValue {
        // Seconds: the guidelines know no days.
        label: "time_left".into(),
        value: left as f64,
        unit: Some("s".into()),
        warn: check
            .warn
            .map(|q| threshold::perf_range(q.value(), Direction::LowIsBad)),
        crit: check
            .crit
            .map(|q| threshold::perf_range(q.value(), Direction::LowIsBad)),
        min: None,
        max: None,
    }];
    if left <= 0 {
        return outcome(
            CheckState::Critical,
            format!(
                "certificate of {host}:{port} expired {} ago ({subject})",
                human(left)
            ),
            perf,
        );
    }
    if let Err(e) = handshake {
        return outcome(
            CheckState::Critical,
            format!("{e} (certificate expires in {})", human(left)),
            perf,
        );
    }
    outcome(
        threshold::evaluate(left as f64, check.warn, check.crit, Direction::LowIsBad),
        format!(
            "certificate of {host}:{port} expires in {} ({subject})",
            human(left)
        ),
        perf,
    )
}
