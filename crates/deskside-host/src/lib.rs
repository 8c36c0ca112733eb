//! What Deskside knows about the machine it runs on, and how it checks its
//! health — for Linux, Windows and macOS, in pure Rust.
//!
//! - [`collect`] builds the hardware and software [`Inventory`] from
//!   `sysinfo` and thin per-OS readers whose parsing lives in pure
//!   functions;
//! - [`metrics`] samples health metrics cheaply and keeps recent history in
//!   memory (raw samples plus one-minute rollups for a day);
//! - [`checks`] runs a health-check policy with Nagios semantics;
//! - [`glpi`] converts an inventory to GLPI's native inventory format;
//! - [`screenshot`] captures the screen for a problem report.
//!
//! All per-OS code lives here, and every dependency is pure Rust, so the
//! Windows and macOS code type-checks on Linux. Anything that needs TLS, a
//! database or a desktop service is in `deskside-agent`.
//!
//! [`Inventory`]: deskside_protocol::Inventory

pub mod checks;
pub mod collect;
pub mod error;
/// GLPI's native inventory format (the conversion lives in the protocol
/// crate, so that the desk exports devices with the same code).
pub use deskside_protocol::glpi;
pub mod metrics;
pub mod screenshot;

pub use error::Error;

/// The Deskside version (shared by every crate of the workspace), as
/// reported in inventories.
pub const AGENT_VERSION: &str = env!("CARGO_PKG_VERSION");
