//! Health checks: the policy that defines them and the results they give.
//!
//! A policy arrives as TOML from a local file or as JSON from the desk. Each
//! check is parsed on its own, so one bad check never disables the others:
//! the policy carries its checks as raw JSON values and the agent validates
//! them one by one into [`CheckSpec`].

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Result state, with Nagios / Monitoring Plugins semantics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CheckState {
    /// Everything is fine.
    Ok,
    /// Attention needed soon.
    Warning,
    /// Attention needed now.
    Critical,
    /// The check could not tell (missing hardware, timeout, crash).
    #[serde(other)]
    Unknown,
}

impl CheckState {
    /// The Monitoring Plugins exit code: 0, 1, 2 or 3.
    pub fn exit_code(self) -> u8 {
        match self {
            Self::Ok => 0,
            Self::Warning => 1,
            Self::Critical => 2,
            Self::Unknown => 3,
        }
    }

    /// The state a Monitoring Plugins exit code stands for; anything but
    /// 0–2 is unknown.
    pub fn from_exit_code(code: i32) -> Self {
        match code {
            0 => Self::Ok,
            1 => Self::Warning,
            2 => Self::Critical,
            _ => Self::Unknown,
        }
    }

    /// How bad the state is when states are combined: ok < unknown <
    /// warning < critical. A check that cannot tell is worse than a good one
    /// but better than a known problem (Icinga orders service states the
    /// same way).
    pub fn severity(self) -> u8 {
        match self {
            Self::Ok => 0,
            Self::Unknown => 1,
            Self::Warning => 2,
            Self::Critical => 3,
        }
    }

    /// The worst of `states` by [`CheckState::severity`]; `Ok` when empty.
    pub fn worst(states: impl IntoIterator<Item = CheckState>) -> CheckState {
        states
            .into_iter()
            .max_by_key(|s| s.severity())
            .unwrap_or(CheckState::Ok)
    }

    /// The `snake_case` name used on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Warning => "warning",
            Self::Critical => "critical",
            Self::Unknown => "unknown",
        }
    }
}

/// A measured value (Monitoring Plugins performance data).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PerfValue {
    /// What was measured (`/`, `load1`, `time`).
    pub label: String,
    /// The value.
    pub value: f64,
    /// Unit (`%`, `B`, `s`, `ms`, `c`), absent for plain numbers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// Warning threshold as the check expressed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warn: Option<String>,
    /// Critical threshold as the check expressed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crit: Option<String>,
    /// Lowest possible value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// Highest possible value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
}

/// The outcome of one run of one check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CheckResult {
    /// The check's id in the policy.
    pub check_id: String,
    /// State of this run.
    pub state: CheckState,
    /// One line for a person.
    pub summary: String,
    /// Measured values.
    #[serde(default)]
    pub perfdata: Vec<PerfValue>,
    /// When the run finished.
    pub timestamp: DateTime<Utc>,
    /// How long the run took, in milliseconds.
    pub duration_ms: u64,
    /// Consecutive non-OK runs up to and including this one.
    #[serde(default)]
    pub consecutive_failures: u32,
    /// The state reported to people: it changes only after
    /// `fails_before_alert` consecutive non-OK runs (or at once on recovery).
    pub alert_state: CheckState,
    /// When `alert_state` last changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_state_change: Option<DateTime<Utc>>,
    /// Shown but not counted in the device's overall health.
    #[serde(default)]
    pub report_only: bool,
    /// The summary as a message key with arguments, so the agent can show
    /// it in the employee's language (`summary` stays English).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<CheckMessage>,
}

/// A check summary as a message key (`disk.free`…) with its formatted
/// arguments; the agent's catalogs hold it as `check.<key>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CheckMessage {
    /// The key.
    pub key: String,
    /// Named arguments.
    #[serde(default)]
    pub args: BTreeMap<String, String>,
}

/// A change of a check's reported state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct StateTransition {
    /// The check's id.
    pub check_id: String,
    /// State before; `null` for a check's first reported state (its
    /// first run found a problem).
    #[serde(default)]
    pub from: Option<CheckState>,
    /// State after.
    pub to: CheckState,
    /// When it changed.
    pub at: DateTime<Utc>,
    /// The summary of the run that changed it.
    pub summary: String,
    /// The summary as a message key, for the employee's language.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<CheckMessage>,
}

/// User-facing text in several languages, by locale (`en`, `ko`, `ja`).
/// English is the fallback for a missing locale.
pub type LocalizedText = BTreeMap<String, String>;

/// A health-check policy: what the agent checks and how often.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Policy {
    /// Increases with every change the desk makes.
    #[serde(default)]
    pub version: u64,
    /// The checks, each validated on its own by the agent (see
    /// [`CheckSpec`] for the shape of one).
    #[serde(default)]
    pub checks: Vec<serde_json::Value>,
}

/// One check of a policy, as validated by the agent. Kind-specific
/// parameters (`mount`, `host`, `argv`, …) sit beside the common fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CheckSpec {
    /// Unique id within the policy.
    pub id: String,
    /// What to check (`disk_free`, `tcp_connect`, `command`, …).
    pub kind: String,
    /// Threshold for `warning`, in the kind's unit (`"15%"`, `"14d"`,
    /// `"200ms"`, `0.9`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warn: Option<Threshold>,
    /// Threshold for `critical`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crit: Option<Threshold>,
    /// Time between runs (`"5m"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<String>,
    /// Longest a run may take (`"10s"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
    /// Consecutive non-OK runs before the state is reported as changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fails_before_alert: Option<u32>,
    /// Show a desktop notification when the reported state changes.
    #[serde(default)]
    pub notify_user: bool,
    /// Shown but not counted in the device's overall health.
    #[serde(default)]
    pub report_only: bool,
    /// What the check is about, per locale.
    #[serde(default)]
    pub title: LocalizedText,
    /// How the employee can fix it, per locale.
    #[serde(default)]
    pub remediation: LocalizedText,
    /// Let the check open a ticket when it has been failing for a while.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_ticket: Option<OpenTicket>,
    /// Kind-specific parameters.
    #[serde(flatten)]
    pub params: serde_json::Map<String, serde_json::Value>,
}

/// A check that opens a ticket: `open_ticket = { after = "30m", impact =
/// "medium" }`. The device files one ticket per failing episode, with
/// diagnostics; the desk resolves it once the check has been OK again for
/// `resolve_after`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenTicket {
    /// How long the check's reported state must have been warning or
    /// critical (`"30m"`, at least a minute).
    pub after: String,
    /// How much it stops the employee: `low`, `medium` (the default) or
    /// `high`; the ticket's urgency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub impact: Option<crate::Urgency>,
    /// How long the check must be OK again before the ticket is resolved
    /// as verified by the device (`"1h"` by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolve_after: Option<String>,
}

/// A threshold: a number in the kind's unit, or a string with a unit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Threshold {
    /// A plain number.
    Number(f64),
    /// A number with a unit: `15%`, `10GiB`, `14d`, `200ms`.
    Text(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_round_trip() {
        for s in [
            CheckState::Ok,
            CheckState::Warning,
            CheckState::Critical,
            CheckState::Unknown,
        ] {
            assert_eq!(CheckState::from_exit_code(i32::from(s.exit_code())), s);
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        assert_eq!(CheckState::from_exit_code(-1), CheckState::Unknown);
        assert_eq!(CheckState::from_exit_code(139), CheckState::Unknown);
    }

    #[test]
    fn worst_state() {
        use CheckState::*;
        assert_eq!(CheckState::worst([]), Ok);
        assert_eq!(CheckState::worst([Ok, Unknown]), Unknown);
        assert_eq!(CheckState::worst([Unknown, Warning, Ok]), Warning);
        assert_eq!(CheckState::worst([Warning, Critical, Unknown]), Critical);
    }

    #[test]
    fn spec_keeps_kind_parameters() {
        let spec: CheckSpec = serde_json::from_str(
            r#"{"id":"root","kind":"disk_free","mount":"/","warn":"15%","crit":5,
                "title":{"en":"Disk space","ja":"ディスク容量"}}"#,
        )
        .unwrap();
        assert_eq!(spec.params["mount"], "/");
        assert_eq!(spec.warn, Some(Threshold::Text("15%".into())));
        assert_eq!(spec.crit, Some(Threshold::Number(5.0)));
        assert_eq!(spec.title["ja"], "ディスク容量");
    }
}
