//! The Deskside endpoint agent core: everything the headless
//! `deskside-agent` CLI and the tray app share, testable without a display.
//!
//! - [`collect`] builds the hardware and software [`Inventory`] of this
//!   machine from `sysinfo` and thin per-OS readers whose parsing lives in
//!   pure functions;
//! - [`metrics`] samples health metrics cheaply and keeps recent history in
//!   memory (raw samples plus one-minute rollups for a day);
//! - [`checks`] runs the health-check policy with Nagios semantics;
//! - [`glpi`] converts an inventory to GLPI's native inventory format;
//! - [`config`] layers defaults, TOML files and `DESKSIDE_*` variables.
//!
//! [`Inventory`]: deskside_protocol::Inventory

pub mod checks;
pub mod collect;
pub mod config;
pub mod error;
pub mod glpi;
pub mod metrics;

pub use error::Error;

/// Version of this agent, as reported to the desk and in inventories.
pub const AGENT_VERSION: &str = env!("CARGO_PKG_VERSION");
