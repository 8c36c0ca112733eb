//! The `http` and `tls_cert_expiry` checks against real servers the tests
//! start on 127.0.0.1: plain HTTP with fast, slow, failing and hanging
//! handlers, and TLS with certificates generated here (one expiring in
//! three days, one expired).

#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use deskside_agent::checks::environment;
use deskside_host::checks::{self, LoadedPolicy, Outcome};
use deskside_protocol::CheckState;

fn run(toml: &str) -> Outcome {
    let p = LoadedPolicy::from_toml(&format!("[[checks]]\nid = \"t\"\n{toml}\n")).unwrap();
    assert!(p.errors.is_empty(), "{:?}", p.errors);
    checks::run_with_timeout(&p.checks[0], &environment()).0
}

/// Answers one HTTP request on `stream` according to its path.
fn respond(stream: &mut (impl std::io::Read + Write)) {
    let mut reader = BufReader::new(&mut *stream);
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let path = line.split_whitespace().nth(1).unwrap_or("/").to_owned();
    // Drain the headers.
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).map_or(true, |n| n == 0) || h == "\r\n" {
            break;
        }
    }
    let (status, body) = match path.as_str() {
        "/slow" => {
            std::thread::sleep(Duration::from_millis(1200));
            ("200 OK", "slow but fine")
        }
        "/error" => ("500 Internal Server Error", "broken"),
        "/hang" => {
            std::thread::sleep(Duration::from_secs(30));
            return;
        }
        _ => ("200 OK", "hello deskside"),
    };
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.flush();
}

fn http_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut s in listener.incoming().flatten() {
            std::thread::spawn(move || respond(&mut s));
        }
    });
    port
}

struct Pki {
    ca_file: PathBuf,
    _dir: tempfile::TempDir,
}

/// A CA and a `localhost` certificate valid from `from` to `until` (days
/// relative to now), served by a TLS server; returns the port and the CA.
fn tls_server(from_days: i64, until_days: i64) -> (u16, Pki) {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
    let now = time::OffsetDateTime::now_utc();
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Deskside Test CA");
    ca_params.not_before = now - time::Duration::days(30);
    ca_params.not_after = now + time::Duration::days(365);
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::from_params(&ca_params, &ca_key);

    let leaf_key = KeyPair::generate().unwrap();
    let mut leaf = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    leaf.distinguished_name
        .push(rcgen::DnType::CommonName, "localhost");
    leaf.not_before = now + time::Duration::days(from_days);
    leaf.not_after = now + time::Duration::days(until_days);
    let leaf_cert = leaf.signed_by(&leaf_key, &issuer).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, ca_cert.pem()).unwrap();

    let key = rustls::pki_types::PrivateKeyDer::try_from(leaf_key.serialize_der()).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![leaf_cert.der().clone(), ca_cert.der().clone()], key)
    .unwrap();
    let config = Arc::new(config);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for s in listener.incoming().flatten() {
            let config = Arc::clone(&config);
            std::thread::spawn(move || {
                let conn = rustls::ServerConnection::new(config).unwrap();
                let mut tls = rustls::StreamOwned::new(conn, s);
                respond(&mut tls);
                tls.conn.send_close_notify();
                let _ = tls.flush();
            });
        }
    });
    (port, Pki { ca_file, _dir: dir })
}

fn ca(p: &Path) -> String {
    p.display().to_string()
}

#[test]
fn http_fast_slow_failing_and_hanging() {
    let port = http_server();
    let base = format!("http://127.0.0.1:{port}");
    let o = run(&format!(
        "kind = \"http\"\nurl = \"{base}/fast\"\nbody_contains = \"deskside\"\nwarn = \"1s\""
    ));
    assert_eq!(o.state, CheckState::Ok, "{}", o.summary);
    assert!(o.summary.starts_with("HTTP 200"), "{}", o.summary);
    assert_eq!(o.perfdata[0].label, "time");

    let o = run(&format!(
        "kind = \"http\"\nurl = \"{base}/fast\"\nbody_contains = \"nope\""
    ));
    assert_eq!(o.state, CheckState::Critical, "{}", o.summary);
    assert!(o.summary.contains("does not contain"), "{}", o.summary);

    let o = run(&format!(
        "kind = \"http\"\nurl = \"{base}/slow\"\nwarn = \"500ms\"\ncrit = \"5s\""
    ));
    assert_eq!(o.state, CheckState::Warning, "{}", o.summary);

    let o = run(&format!("kind = \"http\"\nurl = \"{base}/error\""));
    assert_eq!(o.state, CheckState::Critical, "{}", o.summary);
    assert!(
        o.summary.contains("HTTP 500") && o.summary.contains("expected 2xx"),
        "{}",
        o.summary
    );
    let o = run(&format!(
        "kind = \"http\"\nurl = \"{base}/error\"\nstatus = [500, 503]"
    ));
    assert_eq!(o.state, CheckState::Ok, "{}", o.summary);

    let started = Instant::now();
    let o = run(&format!(
        "kind = \"http\"\nurl = \"{base}/hang\"\ntimeout = \"1s\""
    ));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(o.state, CheckState::Critical, "{}", o.summary);
    assert!(o.summary.contains("timed out"), "{}", o.summary);

    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let o = run(&format!(
        "kind = \"http\"\nurl = \"http://127.0.0.1:{closed}/\""
    ));
    assert_eq!(o.state, CheckState::Critical, "{}", o.summary);
}

#[test]
fn https_verifies_certificates_by_default() {
    let (port, pki) = tls_server(-1, 90);
    let url = format!("https://localhost:{port}/fast");
    let o = run(&format!("kind = \"http\"\nurl = \"{url}\""));
    assert_eq!(
        o.state,
        CheckState::Critical,
        "an unknown CA is refused: {}",
        o.summary
    );
    assert!(
        o.summary.to_lowercase().contains("certificate"),
        "{}",
        o.summary
    );
    let o = run(&format!(
        "kind = \"http\"\nurl = \"{url}\"\nca_file = \"{}\"",
        ca(&pki.ca_file)
    ));
    assert_eq!(o.state, CheckState::Ok, "{}", o.summary);
    let o = run(&format!("kind = \"http\"\nurl = \"{url}\"\nverify = false"));
    assert_eq!(o.state, CheckState::Ok, "{}", o.summary);
    let o = run(&format!(
        "kind = \"http\"\nurl = \"{url}\"\nca_file = \"/nonexistent/ca.pem\""
    ));
    assert_eq!(o.state, CheckState::Unknown, "{}", o.summary);
}

#[test]
fn certificate_expiring_in_three_days() {
    let (port, pki) = tls_server(-1, 3);
    let base = format!(
        "kind = \"tls_cert_expiry\"\nhost = \"localhost\"\nport = {port}\nca_file = \"{}\"",
        ca(&pki.ca_file)
    );
    let o = run(&format!("{base}\nwarn = \"14d\"\ncrit = \"1d\""));
    assert_eq!(o.state, CheckState::Warning, "{}", o.summary);
    // notAfter has whole seconds, so "three days" reads either way.
    assert!(
        o.summary.contains("expires in 2days 23h") || o.summary.contains("expires in 3days"),
        "{}",
        o.summary
    );
    // Seconds, the guidelines' unit, with the thresholds as ranges.
    let days = o.perfdata[0].value / 86400.0;
    assert!((2.9..=3.05).contains(&days), "{days}");
    assert_eq!(o.perfdata[0].unit.as_deref(), Some("s"));
    assert_eq!(o.perfdata[0].warn.as_deref(), Some("1209600:"));
    assert_eq!(
        run(&format!("{base}\nwarn = \"14d\"\ncrit = \"7d\"")).state,
        CheckState::Critical
    );
    assert_eq!(run(&format!("{base}\nwarn = \"1d\"")).state, CheckState::Ok);

    // Untrusted: critical, and the expiry is still reported.
    let untrusted =
        format!("kind = \"tls_cert_expiry\"\nhost = \"localhost\"\nport = {port}\nwarn = \"14d\"");
    let o = run(&untrusted);
    assert_eq!(o.state, CheckState::Critical, "{}", o.summary);
    assert!(o.summary.contains("expires in"), "{}", o.summary);
    // Without verification, only the date counts.
    assert_eq!(
        run(&format!("{untrusted}\nverify = false")).state,
        CheckState::Warning
    );
}

#[test]
fn expired_certificate_and_closed_port() {
    let (port, pki) = tls_server(-10, -1);
    let o = run(&format!(
        "kind = \"tls_cert_expiry\"\nhost = \"localhost\"\nport = {port}\nca_file = \"{}\"",
        ca(&pki.ca_file)
    ));
    assert_eq!(o.state, CheckState::Critical, "{}", o.summary);
    assert!(o.summary.contains("expired 1day"), "{}", o.summary);

    let closed = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let o = run(&format!(
        "kind = \"tls_cert_expiry\"\nhost = \"127.0.0.1\"\nport = {closed}\nserver_name = \"localhost\""
    ));
    assert_eq!(o.state, CheckState::Critical, "{}", o.summary);
    assert!(o.summary.contains("cannot connect"), "{}", o.summary);
    // Keep TcpStream in use so the import is meaningful on every platform.
    assert!(TcpStream::connect(("127.0.0.1", closed)).is_err());
}
