//! The Deskside endpoint agent: configuration and the runtime pieces that
//! need more than the pure-Rust host layer (TLS for the `http` and
//! `tls_cert_expiry` checks), shared by the headless `deskside-agent` CLI
//! and the tray app.
//!
//! Facts about the machine, metrics and the check engine live in
//! [`deskside_host`]; this crate wires them to configuration and the
//! network.

pub mod agent;
pub mod checks;
pub mod config;
pub mod credentials;
pub mod desk;
pub mod desktop;
pub mod diagnostics;
pub mod error;
pub mod health;
pub mod i18n;
pub mod identity;
pub mod kb;
pub mod local_file;
pub mod logfile;
pub mod notify;
pub mod private_fs;
pub mod redact;
pub mod report;
pub mod runtime;
pub mod store;
pub mod tray;

pub use error::Error;

/// Version of this agent, as reported to the desk and in inventories.
pub const AGENT_VERSION: &str = env!("CARGO_PKG_VERSION");
