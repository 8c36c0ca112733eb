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
    /// Reported to IT only: it does not count toward the overall state.
    pub report_only: bool,
    /// The knowledge-base article that fixes it, when it is failing and
    /// one is linked to it.
    pub article: Option<ArticleLink>,
}

/// An article named by a failing check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ArticleLink {
    /// Id.
    pub id: i64,
    /// Title.
    pub title: String,
}

/// One point of the health window's charts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricPoint {
    /// When.
    pub at: DateTime<Utc>,
    /// CPU use, percent of all cores.
    pub cpu_percent: Option<f32>,
    /// Memory in use, percent of the total.
    pub memory_percent: Option<f32>,
}

/// The chart points of `samples`, oldest first.
pub fn chart(samples: &[deskside_protocol::MetricSample]) -> Vec<MetricPoint> {
    samples
        .iter()
        .map(|s| MetricPoint {
            at: s.timestamp,
            cpu_percent: s.cpu.as_ref().map(|c| c.usage_percent),
            memory_percent: s
                .memory
                .as_ref()
                .filter(|m| m.total_bytes > 0)
                .map(|m| (m.used_bytes as f64 / m.total_bytes as f64 * 100.0) as f32),
        })
        .collect()
}

/// A check result's summary in `locale`: from its message key when the
/// catalogs have it (the built-in checks'), else as the check wrote it (a
/// plugin's output, an older result).
pub fn summary_text(r: &deskside_protocol::CheckResult, locale: Locale) -> String {
    message_text(r.message.as_ref(), &r.summary, locale)
}

/// `message` in `locale` when the catalogs have its key, else `summary`.
pub fn message_text(
    message: Option<&deskside_protocol::CheckMessage>,
    summary: &str,
    locale: Locale,
) -> String {
    if let Some(m) = message {
        let key = format!("check.{}", m.key);
        if crate::i18n::has(&key) {
            let args: Vec<(&str, &str)> = m
                .args
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            return crate::i18n::text(locale, &key, &args);
        }
    }
    summary.to_owned()
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
                message: result.map(|r| summary_text(r, locale)),
                last_run: result.map(|r| r.timestamp),
                report_only: c.spec.report_only,
                article: None,
                state,
            }
        })
        .collect();
    // What counts toward the overall state comes first.
    checks.sort_by_key(|c| (c.report_only, rank(&c.state)));
    HealthView {
        overall: (!tracker.last_results.is_empty()).then(|| tracker.overall().as_str().to_owned()),
        checks,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chart_points_from_samples() {
        let samples: Vec<deskside_protocol::MetricSample> = serde_json::from_value(serde_json::json!([
            {"timestamp": "2026-11-21T10:00:00Z", "cpu": {"usage_percent": 12.5, "per_core_percent": []},
             "memory": {"total_bytes": 1000, "used_bytes": 250, "available_bytes": 750,
                        "swap_total_bytes": 0, "swap_used_bytes": 0}},
            {"timestamp": "2026-11-21T10:00:10Z"}
        ]))
        .unwrap();
        let points = chart(&samples);
        assert_eq!(points[0].cpu_percent, Some(12.5));
        assert_eq!(points[0].memory_percent, Some(25.0));
        assert_eq!(
            (points[1].cpu_percent, points[1].memory_percent),
            (None, None)
        );
    }

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
        assert!(!disk.spec.report_only, "the first built-in check counts");
        assert_eq!(v.overall.as_deref(), Some("critical"));
        assert_eq!(v.checks[0].id, disk.spec.id);
        assert_eq!(v.checks[0].message.as_deref(), Some("3% free on /"));
        let fix = v.checks[0].how_to_fix.as_deref().unwrap_or_default();
        assert!(
            !fix.is_empty() && !fix.is_ascii(),
            "a Korean how-to-fix text: {fix}"
        );
    }

    #[test]
    fn built_in_check_summaries_read_in_korean_and_japanese() {
        // The built-in checks, run for real on this machine.
        let policy = LoadedPolicy::builtin();
        let env = deskside_host::checks::Environment::default();
        let mut tracker = Tracker::default();
        for c in &policy.checks {
            let (outcome, took) = deskside_host::checks::run_with_timeout(c, &env);
            let ms = u64::try_from(took.as_millis()).unwrap_or(u64::MAX);
            tracker.record(c, outcome, chrono::Utc::now(), ms);
        }
        let en = view(&policy, &tracker, Locale::En);
        let keyed = |id: &str| tracker.last_results[id].message.is_some();
        assert!(
            en.checks.iter().filter(|c| keyed(&c.id)).count() >= 5,
            "the built-in checks speak in message keys"
        );
        for c in &en.checks {
            let r = &tracker.last_results[&c.id];
            assert_eq!(
                c.message.as_deref(),
                Some(r.summary.as_str()),
                "English stays the checks' own text"
            );
        }
        for locale in [Locale::Ko, Locale::Ja] {
            for c in view(&policy, &tracker, locale)
                .checks
                .iter()
                .filter(|c| keyed(&c.id))
            {
                let english = &tracker.last_results[&c.id].summary;
                let shown = c.message.as_deref().unwrap_or_default();
                assert_ne!(shown, english, "{locale:?} {}: no English summary", c.id);
            }
        }
    }
}
