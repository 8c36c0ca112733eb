//! The diagnostics bundle attached to a ticket, as the agent writes it and
//! the desk reads it back for technicians (`docs/DIAGNOSTICS.md`).
//!
//! Readers accept every version in [`SUPPORTED_FORMAT_VERSIONS`] and refuse
//! others: a bundle from a newer agent is shown as "unknown version", never
//! misread. Every field has a default, so a bundle that lost a part to the
//! size cap (or was written by version 1) still reads.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{
    CheckResult, Inventory, InventoryDiff, MetricRollup, MetricSample, NetworkInterface,
    StateTransition,
};

/// The format version agents write now.
pub const DIAGNOSTICS_FORMAT_VERSION: u32 = 3;
/// The versions readers understand.
pub const SUPPORTED_FORMAT_VERSIONS: std::ops::RangeInclusive<u32> = 1..=3;

/// The bundle document.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct DiagnosticsBundle {
    /// [`DIAGNOSTICS_FORMAT_VERSION`] when written by this agent.
    pub format_version: u32,
    /// When it was made (the moment the ticket was filed).
    pub created_at: Option<DateTime<Utc>>,
    /// Agent version.
    pub agent_version: String,
    /// The agent's configuration, secrets removed.
    pub config: serde_json::Value,
    /// Parts the privacy settings left out.
    pub excluded: Vec<String>,
    /// The device: identity, OS, hardware, volumes, network interfaces
    /// (the software list is summarised as a count).
    pub device: Option<Inventory>,
    /// Installed packages.
    pub software_count: usize,
    /// What changed in the inventory during the last 7 days, oldest first.
    pub software_changes: Vec<InventoryChange>,
    /// Overall health (`ok`, `warning`, `critical`, `unknown`).
    pub overall_health: Option<String>,
    /// The latest result of every check.
    pub check_results: Vec<CheckResult>,
    /// Recent state changes, oldest first.
    pub transitions: Vec<StateTransition>,
    /// Current metrics and history.
    pub metrics: BundleMetrics,
    /// The busiest processes.
    pub processes: TopProcesses,
    /// Interfaces, routes, DNS and the desk's reachability.
    pub network: Option<NetworkState>,
    /// The agent's last log lines, redacted, oldest first.
    pub logs: Vec<String>,
    /// The screenshot's attachment name, when one goes with the ticket.
    pub screenshot: Option<String>,
    /// What was left out to stay under the size cap.
    pub dropped: Vec<String>,
}

/// One inventory change.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct InventoryChange {
    /// When the agent noticed it.
    pub seen_at: DateTime<Utc>,
    /// What changed.
    pub changes: InventoryDiff,
}

/// Metrics now and over the recent past.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct BundleMetrics {
    /// Taken while the bundle was built.
    pub current: Option<MetricSample>,
    /// Full samples of the last hour, oldest first.
    pub history: Vec<MetricSample>,
    /// One-minute rollups (min / average / max) of the 23 hours before
    /// `history`, oldest first (format version 3).
    pub rollups: Vec<MetricRollup>,
}

/// The network as the device sees it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct NetworkState {
    /// Interfaces with their addresses.
    pub interfaces: Vec<NetworkInterface>,
    /// The default IPv4 route: interface and gateway (Linux).
    pub default_route: Option<DefaultRoute>,
    /// DNS servers from the resolver configuration (Unix).
    pub dns_servers: Vec<String>,
    /// The desk, as reached from here.
    pub desk: Option<Reachability>,
}

/// The default route.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DefaultRoute {
    /// Interface.
    pub interface: String,
    /// Gateway address.
    pub gateway: String,
}

/// Whether the desk answers a TCP connection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Reachability {
    /// The desk's URL.
    pub url: String,
    /// Addresses its name resolved to.
    #[serde(default)]
    pub addresses: Vec<String>,
    /// A TCP connection was accepted.
    pub reachable: bool,
    /// Time to connect, in milliseconds.
    #[serde(default)]
    pub connect_ms: Option<f64>,
    /// Why it failed.
    #[serde(default)]
    pub error: Option<String>,
}

/// One process.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ProcessInfo {
    /// Process id.
    pub pid: u32,
    /// Name.
    pub name: String,
    /// CPU use over the measuring window, in percent of one core.
    pub cpu_percent: f32,
    /// Resident memory in bytes.
    pub memory_bytes: u64,
    /// Command line, secrets redacted (`***`), cut at 512 characters.
    #[serde(default)]
    pub command: String,
}

/// The top processes by CPU and by memory.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct TopProcesses {
    /// Highest CPU first (idle processes are not listed).
    pub by_cpu: Vec<ProcessInfo>,
    /// Highest memory first.
    pub by_memory: Vec<ProcessInfo>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bundle_missing_parts_still_reads() {
        let b: DiagnosticsBundle =
            serde_json::from_str(r#"{"format_version": 1, "logs": ["a"]}"#).expect("reads");
        assert_eq!(b.format_version, 1);
        assert_eq!(b.logs, ["a"]);
        assert!(b.device.is_none() && b.metrics.history.is_empty());
    }

    #[test]
    fn supported_versions_include_the_current_one() {
        assert!(SUPPORTED_FORMAT_VERSIONS.contains(&DIAGNOSTICS_FORMAT_VERSION));
        assert!(!SUPPORTED_FORMAT_VERSIONS.contains(&(DIAGNOSTICS_FORMAT_VERSION + 1)));
    }
}
