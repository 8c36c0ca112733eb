//! The check kinds that need TLS: `http` and `tls_cert_expiry`. They plug
//! into the host layer's check engine through [`TlsChecks`], so the host
//! layer stays pure Rust.
//!
//! [`TlsChecks`]: deskside_host::checks::TlsChecks

pub mod http;
pub mod tls;

use std::sync::Arc;

use deskside_host::checks::{Check, Environment, Kind, Outcome, TlsChecks};

/// The agent's implementation of the TLS-capable kinds.
#[derive(Debug, Default, Clone, Copy)]
pub struct NetworkChecks;

impl TlsChecks for NetworkChecks {
    fn run(&self, check: &Check) -> Option<Outcome> {
        Some(match &check.kind {
            Kind::Http {
                url,
                status,
                body_contains,
                ca_file,
                verify,
            } => http::run(
                check,
                url,
                status,
                body_contains.as_deref(),
                ca_file.as_deref(),
                *verify,
            ),
            Kind::TlsCertExpiry {
                host,
                port,
                server_name,
                ca_file,
                verify,
            } => tls::cert_expiry(
                check,
                host,
                *port,
                server_name.as_deref().unwrap_or(host),
                ca_file.as_deref(),
                *verify,
            ),
            _ => return None,
        })
    }
}

/// The environment checks run in on this machine: the real root and the
/// TLS-capable kinds.
pub fn environment() -> Environment {
    Environment {
        tls: Some(Arc::new(NetworkChecks)),
        ..Environment::default()
    }
}
