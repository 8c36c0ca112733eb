//! What the "Device health" window shows: the overall state and each
//! check with its state, message, "how to fix" text and last run, in the
//! user's language. Built from the check state `run` saves and the policy
//! in effect.

use chrono::{DateTime, Utc};
use deskside_host::checks::{LoadedPolicy, Tracker};
use serde::Serialize;

use crate::i18n::Locale;
use crate::notify::localized;

/// The health of the device.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HealthView {
    /// `ok`, `warning`, `critical` or `unknown`; none before the first run.
    pub overall: Option<String>,
    /// Every check of the policy, problems first.
    pub checks: Vec<CheckView>,
}

/// One check.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckView {
    /// Its id.
    pub id: String,
    /// Its title in the user's language (the id when it has none).
    pub title: String,
    /// `ok`, `warning`, `critical`, `unknown`, or `pending` before it ran.
    pub state: String,
    /// What it found.
    pub message: Option<String>,
    /// What to do about it, when it is not OK.
    pub how_to_fix: Option<String>,
    /// When it last ran.
    pub last_run: Option<DateTime<Utc>>,
}

fn rank(state: &str) -> u8 {
    match state {
        "critical" => 0,
        "warning" => 1,
        "unknown" => 2,
        "pending" => 4,
        _ => 3,
    }
}

/// The view for `policy` and the check state saved in `tracker`.
pub fn view(policy: &LoadedPolicy, tracker: &Tracker, locale: Locale) -> HealthView {
    let mut checks: Vec<CheckView> = policy
        .checks
        .iter()
        .map(|c| {
            let result = tracker.last_results.get(&c.spec.id);
            let state = result.map_or_else(
                || "pending".to_owned(),
                |r| r.alert_state.as_str().to_owned(),
            );
            CheckView {
                id: c.spec.id.clone(),
                title: localized(&c.spec.title, locale)
                    .unwrap_or(&c.spec.id)
                    .to_owned(),
                // "Unknown" means the check could not tell (no battery, no
                // permission): advice for a failure would mislead.
                how_to_fix: (state == "warning" || state == "critical")
                    .then(|| localized(&c.spec.remediation, locale).map(str::to_owned))
                    .flatten(),
                message: result.map(|r| r.summary.clone()),
                last_run: result.map(|r| r.timestamp),
                state,
            }
        })
        .collect();
    checks.sort_by_key(|c| rank(&c.state));
    HealthView {
        overall: (!tracker.last_results.is_empty()).then(|| tracker.overall().as_str().to_owned()),
        checks,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_are_localized_and_problems_come_first() {
        let policy = LoadedPolicy::builtin();
        let empty = view(&policy, &Tracker::default(), Locale::Ja);
        assert_eq!(empty.overall, None);
        assert!(
            empty
                .checks
                .iter()
                .all(|c| c.state == "pending" && c.how_to_fix.is_none())
        );
        assert!(
            empty.checks.iter().any(|c| c.title != c.id),
            "titles are translated"
        );

        let mut tracker = Tracker::default();
        let disk = &policy.checks[0];
        let result: deskside_protocol::CheckResult = serde_json::from_value(serde_json::json!({
            "check_id": disk.spec.id,
            "state": "critical",
            "alert_state": "critical",
            "summary": "3% free on /",
            "timestamp": "2026-11-21T10:00:00Z",
            "duration_ms": 1,
        }))
        .unwrap();
        tracker.last_results.insert(disk.spec.id.clone(), result);
        let v = view(&policy, &tracker, Locale::Ko);
        assert_eq!(v.overall.as_deref(), Some("critical"));
        assert_eq!(v.checks[0].id, disk.spec.id);
        assert_eq!(v.checks[0].message.as_deref(), Some("3% free on /"));
        let fix = v.checks[0].how_to_fix.as_deref().unwrap_or_default();
        assert!(
            !fix.is_empty() && !fix.is_ascii(),
            "a Korean how-to-fix text: {fix}"
        );
    }
}
