//! The diagnostics bundle attached to a ticket: a versioned JSON document,
//! gzip-compressed, capped in size (what was dropped is said in the bundle).
//!
//! Format version 1 holds: the agent version and configuration (secrets
//! removed), the device summary (identity, OS, hardware, volumes), the
//! number of installed packages, every check result with recent
//! transitions, and the overall health.

use std::io::Write;
use std::path::Path;

use chrono::{DateTime, Utc};
use deskside_host::checks::Tracker;
use deskside_protocol::{CheckResult, Inventory, StateTransition};
use serde::Serialize;

use crate::config::AgentConfig;

/// The bundle's format version.
pub const FORMAT_VERSION: u32 = 1;
/// Largest compressed bundle.
pub const MAX_BYTES: usize = 2 * 1024 * 1024;

/// The bundle document.
#[derive(Debug, Clone, Serialize)]
pub struct Bundle {
    /// [`FORMAT_VERSION`].
    pub format_version: u32,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// Agent version.
    pub agent_version: String,
    /// The agent's configuration, secrets removed.
    pub config: serde_json::Value,
    /// The device: identity, OS, hardware, volumes, network interfaces
    /// (the software list is summarised as a count).
    pub device: Option<Inventory>,
    /// Installed packages.
    pub software_count: usize,
    /// Overall health.
    pub overall_health: Option<String>,
    /// The latest result of every check.
    pub check_results: Vec<CheckResult>,
    /// Recent state changes, oldest first.
    pub transitions: Vec<StateTransition>,
    /// What was left out to stay under the size cap.
    pub dropped: Vec<String>,
}

/// Builds the bundle from what the agent knows now.
pub fn build(cfg: &AgentConfig, state_dir: &Path, inventory: Option<&Inventory>) -> Bundle {
    let tracker = Tracker::load(&state_dir.join("checks.json")).unwrap_or_default();
    let device = inventory.map(|inv| {
        let mut d = inv.clone();
        d.software.clear();
        d
    });
    Bundle {
        format_version: FORMAT_VERSION,
        created_at: Utc::now(),
        agent_version: crate::AGENT_VERSION.to_owned(),
        // Secret settings serialise as "***".
        config: serde_json::to_value(cfg).unwrap_or_default(),
        software_count: inventory.map_or(0, |i| i.software.len()),
        device,
        overall_health: (!tracker.last_results.is_empty())
            .then(|| tracker.overall().as_str().to_owned()),
        check_results: tracker.last_results.values().cloned().collect(),
        transitions: tracker.transitions.iter().cloned().collect(),
        dropped: Vec::new(),
    }
}

fn gzip(bundle: &Bundle) -> std::io::Result<Vec<u8>> {
    let json = serde_json::to_vec(bundle).map_err(std::io::Error::other)?;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(&json)?;
    e.finish()
}

/// The compressed bundle, under [`MAX_BYTES`]: the oldest transitions go
/// first, then the device details, and the bundle lists what went.
pub fn compress(mut bundle: Bundle) -> std::io::Result<Vec<u8>> {
    loop {
        let bytes = gzip(&bundle)?;
        if bytes.len() <= MAX_BYTES {
            return Ok(bytes);
        }
        if !bundle.transitions.is_empty() {
            let n = bundle.transitions.len().div_ceil(2);
            bundle.transitions.drain(..n);
            bundle.dropped.push(format!("{n} oldest check transitions"));
        } else if bundle.device.is_some() {
            bundle.device = None;
            bundle.dropped.push("device details".into());
        } else {
            bundle.check_results.clear();
            bundle.dropped.push("check results".into());
            return gzip(&bundle);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundle_is_versioned_gzip_without_secrets() {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = AgentConfig::default();
        cfg.desk.enroll_secret = Some(crate::config::Secret("dsk_enr_topsecret".into()));
        let bundle = build(&cfg, dir.path(), None);
        let bytes = compress(bundle).unwrap();
        let mut json = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut json)
            .unwrap();
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["format_version"], 1);
        assert!(!json.contains("topsecret"));
        assert_eq!(v["config"]["desk"]["enroll_secret"], "***");
    }
}
