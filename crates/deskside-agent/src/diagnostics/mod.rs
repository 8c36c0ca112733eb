//! The diagnostics bundle attached to a ticket: a versioned JSON document,
//! gzip-compressed, capped at [`MAX_BYTES`] (the oldest history goes first,
//! and the bundle says what was dropped). `docs/DIAGNOSTICS.md` describes
//! the format.
//!
//! Format version 3 holds: the agent version and configuration (secrets
//! removed); what the privacy settings left out; the device summary and
//! the software changes of the last 7 days; the current metrics, the
//! last 60 minutes of samples and one-minute rollups of the 23 hours
//! before; every check result with recent
//! transitions; the top processes with redacted command lines; the
//! network state with the desk's reachability; the agent's last 200 log
//! lines (redacted); and the name of the screenshot attached beside it.

pub mod network;
pub mod processes;

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};
use deskside_host::checks::Tracker;
use deskside_protocol::{Inventory, InventoryDiff, MetricSample};

use crate::config::{AgentConfig, PrivacyConfig};
pub use network::NetworkState;
pub use processes::TopProcesses;

/// The bundle's format version.
pub const FORMAT_VERSION: u32 = deskside_protocol::diagnostics::DIAGNOSTICS_FORMAT_VERSION;
/// Largest compressed bundle.
pub const MAX_BYTES: usize = 2 * 1024 * 1024;
/// Log lines included.
pub const LOG_LINES: usize = 200;
/// How far back full metric samples go.
pub const HISTORY: chrono::TimeDelta = chrono::TimeDelta::minutes(60);
/// How far back metric history goes: one-minute rollups before [`HISTORY`].
pub const ROLLUP_HISTORY: chrono::TimeDelta = chrono::TimeDelta::hours(24);
/// How far back software changes go.
pub const SOFTWARE_CHANGES: chrono::TimeDelta = chrono::TimeDelta::days(7);
/// Processes listed per ranking.
pub const TOP_PROCESSES: usize = 15;

/// The bundle document, as the desk reads it back.
pub type Bundle = deskside_protocol::diagnostics::DiagnosticsBundle;
pub use deskside_protocol::diagnostics::{BundleMetrics as Metrics, InventoryChange};

/// What a bundle is made from besides what is measured while building it.
#[derive(Debug, Clone, Copy)]
pub struct Inputs<'a> {
    /// The agent's configuration.
    pub cfg: &'a AgentConfig,
    /// Its state directory (check results, log file).
    pub state_dir: &'a Path,
    /// The current inventory.
    pub inventory: Option<&'a Inventory>,
    /// Kept metric samples of the last [`ROLLUP_HISTORY`], oldest first.
    pub history: &'a [MetricSample],
    /// Kept inventory changes, oldest first.
    pub changes: &'a [(DateTime<Utc>, InventoryDiff)],
    /// The desk to probe.
    pub desk_url: Option<&'a str>,
    /// The screenshot's attachment name.
    pub screenshot: Option<&'a str>,
}

/// Builds the bundle: takes a fresh metric sample and process list (about
/// half a second) and probes the desk.
pub fn build(inputs: Inputs<'_>) -> Bundle {
    let Inputs {
        cfg,
        state_dir,
        inventory,
        history,
        changes,
        desk_url,
        screenshot,
    } = inputs;
    let privacy = &cfg.privacy;
    let tracker = Tracker::load(&state_dir.join("checks.json")).unwrap_or_default();
    let now = Utc::now();

    let mut sampler = deskside_host::metrics::Sampler::new(0, "/".into()).ok();
    if let Some(s) = sampler.as_mut() {
        s.sample();
    }
    let procs = if privacy.process_list {
        processes::top(TOP_PROCESSES, Duration::from_millis(400))
    } else {
        std::thread::sleep(Duration::from_millis(400));
        TopProcesses::default()
    };
    let current = sampler.as_mut().map(|s| s.sample());

    let device = inventory.map(|inv| {
        let mut d = inv.clone();
        d.software.clear();
        if !privacy.user_names {
            d.os.logged_in_users = None;
        }
        d
    });
    let interfaces = inventory
        .map(|i| i.hardware.network_interfaces.clone())
        .unwrap_or_default();
    let mut b = Bundle {
        format_version: FORMAT_VERSION,
        created_at: Some(now),
        agent_version: crate::AGENT_VERSION.to_owned(),
        // Secret settings serialise as "***"; passwords in the desk's or
        // the proxy's URL are masked too.
        config: {
            let mut c = serde_json::to_value(cfg).unwrap_or_default();
            crate::redact::redact_json(&mut c);
            c
        },
        excluded: excluded(privacy),
        software_count: inventory.map_or(0, |i| i.software.len()),
        device,
        software_changes: changes
            .iter()
            .filter(|(at, _)| *at > now - SOFTWARE_CHANGES)
            .map(|(at, d)| InventoryChange {
                seen_at: *at,
                changes: d.clone(),
            })
            .collect(),
        overall_health: (!tracker.last_results.is_empty())
            .then(|| tracker.overall().as_str().to_owned()),
        check_results: tracker.last_results.values().cloned().collect(),
        transitions: tracker.transitions.iter().cloned().collect(),
        metrics: {
            // The last hour in full; the day before it as one-minute
            // rollups, which keep each minute's spike.
            let (recent, older): (Vec<MetricSample>, Vec<MetricSample>) = history
                .iter()
                .filter(|s| s.timestamp > now - ROLLUP_HISTORY)
                .cloned()
                .partition(|s| s.timestamp > now - HISTORY);
            Metrics {
                current,
                history: recent,
                rollups: deskside_host::metrics::history::rollups(&older),
            }
        },
        processes: procs,
        network: Some(network::state(interfaces, desk_url, Duration::from_secs(3))),
        logs: if privacy.logs {
            crate::logfile::tail(state_dir, LOG_LINES)
        } else {
            Vec::new()
        },
        screenshot: screenshot.map(str::to_owned),
        dropped: Vec::new(),
    };
    if !privacy.user_names {
        strip_user_names(&mut b);
    }
    b
}

/// A part of the report the employee may leave out of one report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LeaveOut {
    /// The busiest programs.
    Processes,
    /// Deskside's recent log.
    Logs,
    /// The last 24 hours of metrics (the sample taken now stays).
    Metrics,
    /// The screenshot.
    Screenshot,
    /// The files the employee added.
    Files,
}

impl LeaveOut {
    /// How the bundle's `excluded` names it for the technician.
    pub fn excluded_name(self) -> &'static str {
        match self {
            Self::Processes => "process list (left out by the employee)",
            Self::Logs => "logs (left out by the employee)",
            Self::Metrics => "metric history (left out by the employee)",
            Self::Screenshot => "screenshot (left out by the employee)",
            Self::Files => "files (left out by the employee)",
        }
    }
}

/// Takes `parts` out of `b` and says so in its `excluded`.
pub fn leave_out(b: &mut Bundle, parts: &[LeaveOut]) {
    for part in parts {
        match part {
            LeaveOut::Processes => b.processes = TopProcesses::default(),
            LeaveOut::Logs => b.logs.clear(),
            LeaveOut::Metrics => {
                b.metrics.history.clear();
                b.metrics.rollups.clear();
            }
            LeaveOut::Screenshot => b.screenshot = None,
            LeaveOut::Files => {}
        }
        let name = part.excluded_name().to_owned();
        if !b.excluded.contains(&name) {
            b.excluded.push(name);
        }
    }
}

fn excluded(p: &PrivacyConfig) -> Vec<String> {
    [
        (p.process_list, "process list"),
        (p.user_names, "user names"),
        (p.screenshots, "screenshots"),
        (p.logs, "logs"),
    ]
    .into_iter()
    .filter(|(allowed, _)| !allowed)
    .map(|(_, what)| what.to_owned())
    .collect()
}

/// Home directories in log lines and command lines name their user.
fn strip_user_names(b: &mut Bundle) {
    static HOME: std::sync::OnceLock<Option<regex::Regex>> = std::sync::OnceLock::new();
    let Some(re) = HOME
        .get_or_init(|| regex::Regex::new(r"(/home/|/Users/|\\Users\\)[^/\\\s]+").ok())
        .as_ref()
    else {
        return;
    };
    let mask = |s: &mut String| {
        if re.is_match(s) {
            *s = re.replace_all(s, "${1}***").into_owned();
        }
    };
    b.logs.iter_mut().for_each(mask);
    for p in b
        .processes
        .by_cpu
        .iter_mut()
        .chain(b.processes.by_memory.iter_mut())
    {
        mask(&mut p.command);
    }
}

fn gzip(bundle: &Bundle) -> std::io::Result<Vec<u8>> {
    let json = serde_json::to_vec(bundle).map_err(std::io::Error::other)?;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(&json)?;
    e.finish()
}

/// Drops the older half of `items`; what it says for the bundle.
fn drop_oldest<T>(items: &mut Vec<T>, what: &str) -> Option<String> {
    if items.is_empty() {
        return None;
    }
    let n = items.len().div_ceil(2);
    items.drain(..n);
    Some(format!("{n} oldest {what}"))
}

/// The compressed bundle, under [`MAX_BYTES`]: the oldest metric history
/// goes first, then the oldest transitions, log lines and software
/// changes, then the process list and device details; the bundle lists
/// what went.
pub fn compress(mut bundle: Bundle) -> std::io::Result<Vec<u8>> {
    loop {
        let bytes = gzip(&bundle)?;
        if bytes.len() <= MAX_BYTES {
            return Ok(bytes);
        }
        let dropped = drop_oldest(&mut bundle.metrics.rollups, "metric rollups")
            .or_else(|| drop_oldest(&mut bundle.metrics.history, "metric samples"))
            .or_else(|| drop_oldest(&mut bundle.transitions, "check transitions"))
            .or_else(|| drop_oldest(&mut bundle.logs, "log lines"))
            .or_else(|| drop_oldest(&mut bundle.software_changes, "inventory changes"))
            .or_else(|| {
                let p = &mut bundle.processes;
                (!p.by_cpu.is_empty() || !p.by_memory.is_empty()).then(|| {
                    *p = TopProcesses::default();
                    "process list".to_owned()
                })
            })
            .or_else(|| bundle.device.take().map(|_| "device details".to_owned()))
            .or_else(|| bundle.network.take().map(|_| "network state".to_owned()));
        match dropped {
            Some(what) => bundle.dropped.push(what),
            None => {
                bundle.check_results.clear();
                bundle.dropped.push("check results".into());
                return gzip(&bundle);
            }
        }
    }
}

/// The bundle as JSON, from its compressed form (for previews and tests).
pub fn decompress(bytes: &[u8]) -> std::io::Result<serde_json::Value> {
    let mut json = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(bytes), &mut json)?;
    serde_json::from_slice(&json).map_err(std::io::Error::other)
}

#[cfg(test)]
mod tests {
    use super::*;
    use deskside_protocol::SoftwareRef;

    fn inputs<'a>(cfg: &'a AgentConfig, dir: &'a Path) -> Inputs<'a> {
        Inputs {
            cfg,
            state_dir: dir,
            inventory: None,
            history: &[],
            changes: &[],
            desk_url: None,
            screenshot: None,
        }
    }

    fn sample(at: DateTime<Utc>, noise: &str) -> MetricSample {
        let mut v = serde_json::json!({ "timestamp": at });
        // Incompressible filler, so that a few thousand samples pass 2 MB.
        v["network"] = serde_json::json!([{ "interface": noise, "rx_bytes_per_sec": 1.0,
            "tx_bytes_per_sec": 1.0 }]);
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn a_day_of_history_goes_as_the_last_hour_in_full_and_rollups_before() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = AgentConfig::default();
        let now = Utc::now();
        // A sample a minute for 30 hours, newest last.
        let history: Vec<MetricSample> = (0..30 * 60)
            .rev()
            .map(|m| {
                let mut s = sample(now - chrono::TimeDelta::minutes(m), "eth0");
                s.cpu =
                    serde_json::from_value(serde_json::json!({"usage_percent": m as f32 % 100.0}))
                        .ok();
                s
            })
            .collect();
        let b = build(Inputs {
            history: &history,
            ..inputs(&cfg, dir.path())
        });
        assert!(
            b.metrics
                .history
                .iter()
                .all(|s| s.timestamp > now - HISTORY)
        );
        assert!(
            (58..=60).contains(&b.metrics.history.len()),
            "{}",
            b.metrics.history.len()
        );
        let r = &b.metrics.rollups;
        assert!((1375..=1382).contains(&r.len()), "{}", r.len());
        assert!(r.windows(2).all(|w| w[0].minute < w[1].minute));
        assert!(r.first().unwrap().minute > now - ROLLUP_HISTORY - chrono::TimeDelta::minutes(1));
        assert!(r.last().unwrap().minute <= now - HISTORY);
        assert!(
            r.iter()
                .all(|m| m.samples == 1 && m.cpu_max_percent.is_some())
        );
        // Within the cap, and what is dropped first is the oldest rollups.
        let bytes = compress(b).unwrap();
        assert!(bytes.len() <= MAX_BYTES);
        let v = decompress(&bytes).unwrap();
        assert_eq!(v["metrics"]["rollups"].as_array().unwrap().len(), r_len(&v));
    }

    fn r_len(v: &serde_json::Value) -> usize {
        v["metrics"]["rollups"].as_array().map_or(0, Vec::len)
    }

    #[test]
    fn the_bundle_is_versioned_gzip_without_secrets() {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = AgentConfig::default();
        cfg.desk.enroll_secret = Some(crate::config::Secret("dsk_enr_topsecret".into()));
        cfg.desk.server_url = Some("https://agent:deskpass@desk.example.com".into());
        cfg.desk.proxy = Some("http://proxyuser:proxypass@proxy:3128".into());
        let bytes = compress(build(inputs(&cfg, dir.path()))).unwrap();
        let v = decompress(&bytes).unwrap();
        assert_eq!(v["format_version"], 3);
        assert!(!v.to_string().contains("topsecret"));
        assert!(!v.to_string().contains("deskpass"), "{}", v["config"]);
        assert!(!v.to_string().contains("proxypass"), "{}", v["config"]);
        assert_eq!(
            v["config"]["desk"]["proxy"],
            "http://proxyuser:***@proxy:3128"
        );
        assert_eq!(v["config"]["desk"]["enroll_secret"], "***");
        assert!(v["metrics"]["current"]["timestamp"].is_string());
        assert!(!v["processes"]["by_memory"].as_array().unwrap().is_empty());
        assert_eq!(v["excluded"], serde_json::json!([]));
    }

    #[test]
    fn history_and_changes_are_windowed() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = AgentConfig::default();
        let now = Utc::now();
        let history = [
            sample(now - chrono::TimeDelta::minutes(90), "old"),
            sample(now - chrono::TimeDelta::minutes(5), "new"),
        ];
        let diff = |name: &str| InventoryDiff {
            software_added: vec![SoftwareRef {
                name: name.into(),
                source: deskside_protocol::SoftwareSource::Dpkg,
                architecture: None,
                version: Some("1.0".into()),
            }],
            ..InventoryDiff::default()
        };
        let changes = [
            (now - chrono::TimeDelta::days(9), diff("stale")),
            (now - chrono::TimeDelta::days(2), diff("fresh")),
        ];
        let b = build(Inputs {
            history: &history,
            changes: &changes,
            ..inputs(&cfg, dir.path())
        });
        assert_eq!(b.metrics.history.len(), 1);
        assert_eq!(b.metrics.history[0].network[0].interface, "new");
        assert_eq!(b.software_changes.len(), 1);
        assert_eq!(
            b.software_changes[0].changes.software_added[0].name,
            "fresh"
        );
    }

    #[test]
    fn privacy_switches_leave_parts_out() {
        let dir = tempfile::tempdir().unwrap();
        crate::logfile::attach(dir.path());
        std::fs::write(
            dir.path().join(crate::logfile::FILE_NAME),
            "opened /home/alice/report.pdf\n",
        )
        .unwrap();
        let mut cfg = AgentConfig::default();
        let b = build(inputs(&cfg, dir.path()));
        assert_eq!(b.logs, vec!["opened /home/alice/report.pdf".to_owned()]);

        cfg.privacy.user_names = false;
        let b = build(inputs(&cfg, dir.path()));
        assert_eq!(b.logs, vec!["opened /home/***/report.pdf".to_owned()]);

        cfg.privacy = PrivacyConfig {
            process_list: false,
            user_names: false,
            screenshots: false,
            logs: false,
        };
        let b = build(inputs(&cfg, dir.path()));
        assert!(b.logs.is_empty());
        assert!(b.processes.by_memory.is_empty() && b.processes.by_cpu.is_empty());
        assert_eq!(
            b.excluded,
            ["process list", "user names", "screenshots", "logs"]
        );
    }

    #[test]
    fn an_oversized_bundle_drops_the_oldest_history_first() {
        use rand::Rng;
        let dir = tempfile::tempdir().unwrap();
        let cfg = AgentConfig::default();
        let now = Utc::now();
        let mut rng = rand::rng();
        // About 4 MB of incompressible history.
        let history: Vec<MetricSample> = (0..4000)
            .map(|i| {
                let noise: String = (0..1000)
                    .map(|_| char::from(rng.random_range(b'a'..=b'z')))
                    .collect();
                sample(
                    now - chrono::TimeDelta::seconds(3000 - i64::from(i) / 2),
                    &noise,
                )
            })
            .collect();
        let mut b = build(Inputs {
            history: &history,
            ..inputs(&cfg, dir.path())
        });
        b.logs = vec!["kept".into()];
        let bytes = compress(b).unwrap();
        assert!(bytes.len() <= MAX_BYTES, "{}", bytes.len());
        let v = decompress(&bytes).unwrap();
        let dropped: Vec<String> = serde_json::from_value(v["dropped"].clone()).unwrap();
        assert!(!dropped.is_empty());
        assert!(
            dropped.iter().all(|d| d.contains("oldest metric samples")),
            "{dropped:?}"
        );
        // The newest samples stayed, and nothing else went.
        let kept = v["metrics"]["history"].as_array().unwrap();
        assert!(!kept.is_empty() && kept.len() < history.len());
        assert_eq!(
            kept.last().unwrap()["network"][0]["interface"],
            history.last().unwrap().network[0].interface
        );
        assert_eq!(v["logs"], serde_json::json!(["kept"]));
        assert!(
            v["processes"]["by_memory"]
                .as_array()
                .is_some_and(|a| !a.is_empty())
        );
    }
}
