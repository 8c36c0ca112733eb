//! The ticket workflow's rules, in one place for every backend and
//! endpoint: which status changes are allowed, the ITIL priority, and how a
//! technician's change applies to a ticket as it is *now*.
//!
//! A store applies a [`TicketChange`] inside its write transaction, on the
//! row it has just read ([`plan`]), so two technicians changing one ticket
//! never undo each other: the second change is checked against, and written
//! over, the first one's result.

use deskside_protocol::{TicketCategory, TicketStatus, TicketType, Urgency};

use crate::store::TicketWork;

/// The workflow: new → open → pending → resolved → closed, with reopening.
pub fn transition_allowed(from: TicketStatus, to: TicketStatus) -> bool {
    use TicketStatus::{Closed, New, Open, Pending, Resolved};
    from == to
        || matches!(
            (from, to),
            (New, Open | Pending | Resolved)
                | (Open, Pending | Resolved)
                | (Pending, Open | Resolved)
                | (Resolved, Closed | Open)
                | (Closed, Open)
        )
}

/// The ITIL impact × urgency matrix: 1 (critical) to 5 (planning).
pub fn itil_priority(impact: Urgency, urgency: Urgency) -> i64 {
    use Urgency::{High, Low, Medium};
    match (impact, urgency) {
        (High, High) => 1,
        (High, Medium) | (Medium, High) => 2,
        (High, Low) | (Medium, Medium) | (Low, High) => 3,
        (Medium, Low) | (Low, Medium) => 4,
        (Low, Low) => 5,
    }
}

/// What a technician changes; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TicketChange {
    /// New status (the workflow decides whether it may).
    pub status: Option<TicketStatus>,
    /// New impact.
    pub impact: Option<Urgency>,
    /// New urgency.
    pub urgency: Option<Urgency>,
    /// New category.
    pub category: Option<TicketCategory>,
    /// New tier, 1–3.
    pub tier: Option<u8>,
    /// New assignee's user id; `Some(None)` unassigns.
    pub assignee: Option<Option<i64>>,
    /// Incident or service request.
    pub ticket_type: Option<TicketType>,
    /// New team; `Some(None)` takes it from its team.
    pub team: Option<Option<i64>>,
    /// The requester's name; `Some(None)` clears it.
    pub requester_name: Option<Option<String>>,
    /// The requester's e-mail; `Some(None)` clears it.
    pub requester_email: Option<Option<String>>,
    /// The problem it is linked to; `Some(None)` unlinks it.
    pub problem: Option<Option<i64>>,
}

/// Why a change cannot apply to the ticket as it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorkflowError {
    /// The workflow forbids this status change.
    #[error("a {from} ticket cannot become {to}")]
    Transition {
        /// Current status.
        from: String,
        /// Asked-for status.
        to: String,
    },
    /// Tier outside 1–3.
    #[error("tier must be 1, 2 or 3")]
    Tier,
}

/// What a store does with a change, decided on the current row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// The technician's precondition names an older version.
    Stale,
    /// The change breaks a rule.
    Refused(WorkflowError),
    /// Nothing would change: nothing is written or audited.
    Unchanged,
    /// Write `after` (its version one higher) and audit `detail`.
    Write {
        /// The ticket after the change.
        after: Box<TicketWork>,
        /// The audit record's detail: `{"before": …, "after": …}`.
        detail: String,
    },
}

fn snake<T: serde::Serialize>(v: T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn parse<T: serde::de::DeserializeOwned>(s: &str, fallback: T) -> T {
    serde_json::from_value(serde_json::Value::String(s.to_owned())).unwrap_or(fallback)
}

/// The fields a technician changes, as the audit trail records them.
fn audited(w: &TicketWork) -> serde_json::Value {
    serde_json::json!({"status": w.row.status, "impact": w.impact, "urgency": w.row.urgency,
        "category": w.row.category, "tier": w.tier, "assignee_id": w.assignee_id,
        "ticket_type": w.row.ticket_type, "team_id": w.team_id,
        "requester_name": w.requester_name, "requester_email": w.requester_email,
        "problem_id": w.problem_id})
}

/// Applies `change` to `current` (read in the same transaction that will
/// write the result), checking the precondition `expected_version` first.
pub fn plan(current: &TicketWork, change: &TicketChange, expected_version: Option<i64>) -> Plan {
    if expected_version.is_some_and(|v| v != current.version) {
        return Plan::Stale;
    }
    let mut w = current.clone();
    if let Some(to) = change.status {
        let from = parse(&w.row.status, TicketStatus::New);
        if !transition_allowed(from, to) {
            return Plan::Refused(WorkflowError::Transition {
                from: snake(from),
                to: snake(to),
            });
        }
        w.row.status = snake(to);
    }
    if let Some(i) = change.impact {
        w.impact = snake(i);
    }
    if let Some(u) = change.urgency {
        w.row.urgency = snake(u);
    }
    if let Some(c) = change.category {
        w.row.category = snake(c);
    }
    if let Some(t) = change.tier {
        if !(1..=3).contains(&t) {
            return Plan::Refused(WorkflowError::Tier);
        }
        w.tier = i64::from(t);
    }
    if let Some(a) = change.assignee {
        w.assignee_id = a;
    }
    if let Some(t) = change.ticket_type {
        w.row.ticket_type = snake(t);
    }
    if let Some(t) = change.team {
        w.team_id = t;
    }
    if let Some(n) = &change.requester_name {
        w.requester_name.clone_from(n);
    }
    if let Some(e) = &change.requester_email {
        w.requester_email.clone_from(e);
    }
    if let Some(p) = change.problem {
        w.problem_id = p;
    }
    w.row.priority = itil_priority(
        parse(&w.impact, Urgency::Medium),
        parse(&w.row.urgency, Urgency::Medium),
    );
    let (before, after) = (audited(current), audited(&w));
    if before == after {
        return Plan::Unchanged;
    }
    w.version = current.version + 1;
    Plan::Write {
        detail: serde_json::json!({"before": before, "after": after}).to_string(),
        after: Box::new(w),
    }
}

/// The outcome of [`crate::store::Store::patch_ticket`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PatchOutcome {
    /// No such ticket.
    NotFound,
    /// The precondition named an older version; the ticket as it is now.
    Stale(Box<TicketWork>),
    /// The change breaks a rule; nothing was written.
    Refused(WorkflowError),
    /// Applied (or nothing to change); the ticket as it is now.
    Done(Box<TicketWork>),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::TicketRow;

    fn ticket(status: &str) -> TicketWork {
        let now = chrono::Utc::now();
        TicketWork {
            row: TicketRow {
                id: 7,
                subject: "s".into(),
                description: "d".into(),
                category: "other".into(),
                urgency: "medium".into(),
                status: status.into(),
                priority: 3,
                created_at: now,
                updated_at: now,
                ticket_type: "incident".into(),
                rating_opens_at: None,
            },
            device_id: Some(1),
            impact: "medium".into(),
            tier: 1,
            assignee_id: None,
            version: 4,
            channel: "tray".into(),
            requester_name: None,
            requester_email: None,
            team_id: None,
            created_by: None,
            problem_id: None,
            sla_state: None,
            sla_due_at: None,
        }
    }

    #[test]
    fn a_change_applies_to_the_current_ticket_only() {
        let t = ticket("open");
        let change = TicketChange {
            urgency: Some(Urgency::High),
            impact: Some(Urgency::High),
            ..TicketChange::default()
        };
        let Plan::Write { after, detail } = plan(&t, &change, Some(4)) else {
            panic!("expected a write");
        };
        assert_eq!((after.row.priority, after.version), (1, 5));
        assert_eq!(after.row.status, "open", "fields not named stay");
        assert!(detail.contains("\"before\""));
        assert_eq!(plan(&t, &change, Some(3)), Plan::Stale);
        assert_eq!(plan(&t, &TicketChange::default(), None), Plan::Unchanged);
        // open → new is not a move the workflow has.
        assert!(matches!(
            plan(
                &t,
                &TicketChange {
                    status: Some(TicketStatus::New),
                    ..TicketChange::default()
                },
                None
            ),
            Plan::Refused(WorkflowError::Transition { .. })
        ));
        assert_eq!(
            plan(
                &t,
                &TicketChange {
                    tier: Some(4),
                    ..TicketChange::default()
                },
                None
            ),
            Plan::Refused(WorkflowError::Tier)
        );
    }
}
