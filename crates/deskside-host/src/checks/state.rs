//! From raw outcomes to reported states: consecutive failures,
//! `fails_before_alert`, state transitions and the device's overall health.

use std::collections::{BTreeMap, VecDeque};

use chrono::{DateTime, Utc};
use deskside_protocol::{CheckResult, CheckState, StateTransition};
use serde::{Deserialize, Serialize};

use super::Outcome;
use super::policy::Check;

/// Transitions kept per tracker; older ones fall out.
pub const HISTORY_LIMIT: usize = 500;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Entry {
    consecutive_failures: u32,
    alert_state: Option<CheckState>,
    last_state_change: Option<DateTime<Utc>>,
}

/// What the agent remembers about its checks between runs (and, once
/// persisted, across restarts).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Tracker {
    entries: BTreeMap<String, Entry>,
    /// The latest result of each check.
    pub last_results: BTreeMap<String, CheckResult>,
    /// State transitions, oldest first, bounded by [`HISTORY_LIMIT`].
    pub transitions: VecDeque<StateTransition>,
}

impl Tracker {
    /// Records one run. Returns the result and, when the reported state
    /// changed, the transition.
    ///
    /// A non-OK run raises the reported state only once `fails_before_alert`
    /// consecutive runs were non-OK; a recovery is reported at once. The
    /// first run of a check always sets its state (from nothing).
    pub fn record(
        &mut self,
        check: &Check,
        outcome: Outcome,
        at: DateTime<Utc>,
        duration_ms: u64,
    ) -> (CheckResult, Option<StateTransition>) {
        let id = check.spec.id.clone();
        let entry = self.entries.entry(id.clone()).or_default();
        if outcome.state == CheckState::Ok {
            entry.consecutive_failures = 0;
        } else {
            entry.consecutive_failures = entry.consecutive_failures.saturating_add(1);
        }
        let previous = entry.alert_state;
        let candidate = if outcome.state == CheckState::Ok
            || entry.consecutive_failures >= check.fails_before_alert
        {
            outcome.state
        } else {
            previous.unwrap_or(CheckState::Ok)
        };
        let transition = (previous != Some(candidate)).then(|| {
            entry.alert_state = Some(candidate);
            entry.last_state_change = Some(at);
            StateTransition {
                check_id: id.clone(),
                from: previous,
                to: candidate,
                at,
                summary: outcome.summary.clone(),
                message: outcome.message.as_ref().map(wire_message),
            }
        });
        // A first run that finds everything fine is not news.
        let transition = transition.filter(|t| !(previous.is_none() && t.to == CheckState::Ok));
        let result = CheckResult {
            check_id: id.clone(),
            state: outcome.state,
            summary: outcome.summary,
            perfdata: outcome.perfdata,
            timestamp: at,
            duration_ms,
            consecutive_failures: entry.consecutive_failures,
            alert_state: candidate,
            last_state_change: entry.last_state_change,
            report_only: check.spec.report_only,
            message: outcome.message.as_ref().map(wire_message),
        };
        if let Some(t) = &transition {
            self.transitions.push_back(t.clone());
            while self.transitions.len() > HISTORY_LIMIT {
                self.transitions.pop_front();
            }
        }
        self.last_results.insert(id, result.clone());
        (result, transition)
    }

    /// Reads a tracker saved with [`Tracker::save`]; `None` when there is
    /// none or it cannot be read (then the agent starts afresh).
    pub fn load(path: &std::path::Path) -> Option<Tracker> {
        serde_json::from_slice(&std::fs::read(path).ok()?).ok()
    }

    /// Writes the tracker to `path`: to a temporary file first, synced, then
    /// renamed over the old one, so a crash leaves the old or the new file,
    /// never half of one.
    pub fn save(&self, path: &std::path::Path) -> std::io::Result<()> {
        use std::io::Write;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let tmp = path.with_extension("tmp");
        let mut f = std::fs::File::create(&tmp)?;
        // Check results tell about the machine and its users: the owner's
        // only, like everything else in the state directory (set on the
        // open file, so a leftover temporary file is covered too).
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        }
        f.write_all(&serde_json::to_vec(self).map_err(std::io::Error::other)?)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)
    }

    /// Forgets checks that are no longer in the policy.
    pub fn retain(&mut self, ids: &[&str]) {
        self.entries.retain(|k, _| ids.contains(&k.as_str()));
        self.last_results.retain(|k, _| ids.contains(&k.as_str()));
    }

    /// The device's overall health: the worst reported state of the checks
    /// that count (not `report_only`).
    pub fn overall(&self) -> CheckState {
        overall(self.last_results.values())
    }
}

/// The worst reported state among results that are not `report_only`.
pub fn overall<'a>(results: impl IntoIterator<Item = &'a CheckResult>) -> CheckState {
    CheckState::worst(
        results
            .into_iter()
            .filter(|r| !r.report_only)
            .map(|r| r.alert_state),
    )
}

/// A summary's message as results and transitions carry it.
fn wire_message(m: &super::message::Message) -> deskside_protocol::CheckMessage {
    deskside_protocol::CheckMessage {
        key: m.key.to_owned(),
        args: m
            .args
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect(),
    }
}

#[cfg(test)]
mod tests {

    #[cfg(unix)]
    #[test]
    fn the_saved_state_is_the_owners_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("checks.json");
        // A leftover temporary file of an older version, readable by all.
        std::fs::write(path.with_extension("tmp"), "{}").unwrap();
        std::fs::set_permissions(
            path.with_extension("tmp"),
            std::fs::Permissions::from_mode(0o644),
        )
        .unwrap();
        Tracker::default().save(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    use super::*;
    use crate::checks::policy::LoadedPolicy;

    fn check(fails: u32, report_only: bool) -> Check {
        let p = LoadedPolicy::from_toml(&format!(
            "[[checks]]\nid = \"c\"\nkind = \"uptime\"\nfails_before_alert = {fails}\nreport_only = {report_only}\n"
        ))
        .unwrap();
        p.checks[0].clone()
    }

    fn o(state: CheckState) -> Outcome {
        Outcome {
            state,
            summary: state.as_str().into(),
            perfdata: vec![],
            message: None,
        }
    }

    #[test]
    fn fails_before_alert_delays_the_alert_but_not_the_recovery() {
        let c = check(3, false);
        let mut t = Tracker::default();
        let now = Utc::now();
        let (r, tr) = t.record(&c, o(CheckState::Ok), now, 1);
        assert!(tr.is_none() && r.alert_state == CheckState::Ok);
        let (r, tr) = t.record(&c, o(CheckState::Critical), now, 1);
        assert!(tr.is_none(), "1 of 3");
        assert_eq!(
            (r.state, r.alert_state, r.consecutive_failures),
            (CheckState::Critical, CheckState::Ok, 1)
        );
        let (_, tr) = t.record(&c, o(CheckState::Warning), now, 1);
        assert!(tr.is_none(), "2 of 3");
        let (r, tr) = t.record(&c, o(CheckState::Critical), now, 1);
        let tr = tr.expect("3 of 3 raises the alert");
        assert_eq!(
            (tr.from, tr.to),
            (Some(CheckState::Ok), CheckState::Critical)
        );
        assert_eq!(r.alert_state, CheckState::Critical);
        assert_eq!(r.last_state_change, Some(now));
        assert_eq!(t.overall(), CheckState::Critical);
        let (_, tr) = t.record(&c, o(CheckState::Critical), now, 1);
        assert!(tr.is_none(), "no news");
        let (r, tr) = t.record(&c, o(CheckState::Ok), now, 1);
        assert_eq!(tr.unwrap().to, CheckState::Ok, "recovery at once");
        assert_eq!(r.consecutive_failures, 0);
        assert_eq!(t.transitions.len(), 2);
    }

    #[test]
    fn first_bad_run_is_a_transition_and_report_only_does_not_count() {
        let counted = check(1, false);
        let shown = check(1, true);
        let mut t = Tracker::default();
        let (_, tr) = t.record(&counted, o(CheckState::Warning), Utc::now(), 1);
        let tr = tr.unwrap();
        assert_eq!(
            (tr.from, tr.to),
            (None, CheckState::Warning),
            "a new check's first state comes from none, not from ok"
        );
        let mut only = Tracker::default();
        only.record(&shown, o(CheckState::Critical), Utc::now(), 1);
        assert_eq!(
            only.overall(),
            CheckState::Ok,
            "report_only is shown, not counted"
        );
        assert_eq!(only.last_results["c"].alert_state, CheckState::Critical);
    }

    #[test]
    fn survives_a_round_trip_through_json() {
        let c = check(2, false);
        let mut t = Tracker::default();
        t.record(&c, o(CheckState::Critical), Utc::now(), 1);
        let mut back: Tracker = serde_json::from_str(&serde_json::to_string(&t).unwrap()).unwrap();
        assert_eq!(back, t);
        let (_, tr) = back.record(&c, o(CheckState::Critical), Utc::now(), 1);
        assert_eq!(
            tr.unwrap().to,
            CheckState::Critical,
            "the failure count survived"
        );
    }
}
