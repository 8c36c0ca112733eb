//! Tickets a health check opens by itself (`open_ticket` in the policy):
//! once a check's reported state has been warning or critical for
//! `after`, the device files one ticket for that failing episode, with
//! diagnostics, through the outbox like any ticket.
//!
//! Exactly once per episode: the ticket's local id, which is also its
//! idempotency key, is derived from the check and the instant its episode
//! began. A second look at the same episode (the next loop, an agent
//! restart) finds the ticket already kept; a retry after a desk outage is
//! the same request to the desk. A new episode (the check recovered, then
//! failed again) is a new id.

use deskside_host::checks::{LoadedPolicy, Tracker};
use deskside_protocol::{CheckState, TicketCategory};
use sha2::Digest as _;

use super::*;

fn failing(s: CheckState) -> bool {
    matches!(s, CheckState::Warning | CheckState::Critical)
}

/// When the current failing episode of `check_id` began: the last change
/// of its reported state from a non-failing one (or from none) to a
/// failing one; the result's last change when the history no longer
/// holds it. `None` when the check is not failing.
pub fn episode_start(tracker: &Tracker, check_id: &str) -> Option<DateTime<Utc>> {
    let r = tracker.last_results.get(check_id)?;
    if !failing(r.alert_state) {
        return None;
    }
    tracker
        .transitions
        .iter()
        .rev()
        .filter(|t| t.check_id == check_id)
        .find(|t| failing(t.to) && !t.from.is_some_and(failing))
        .map(|t| t.at)
        .or(r.last_state_change)
        .or(Some(r.timestamp))
}

/// The local id (and idempotency key) of the ticket of one episode.
pub fn episode_ticket_id(check_id: &str, since: DateTime<Utc>) -> String {
    let digest = sha2::Sha256::digest(format!("{check_id}\n{}", since.timestamp_millis()));
    let hex: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
    format!("check-{hex}")
}

/// The category a check kind's ticket goes to.
fn category(kind: &str) -> TicketCategory {
    match kind {
        "disk_free" | "memory_available" | "swap_used" | "cpu_load" | "temperature"
        | "battery_health" | "uptime" => TicketCategory::Hardware,
        "tcp_connect" | "dns_resolve" | "http" | "tls_cert_expiry" => TicketCategory::Network,
        "reboot_pending" | "process_running" | "service_active" | "disk_encryption"
        | "firewall_enabled" | "command" => TicketCategory::Software,
        _ => TicketCategory::Other,
    }
}

impl Agent {
    /// Files a ticket for every check of `policy` with `open_ticket` whose
    /// failing episode has lasted `after` at `now` and has no ticket yet;
    /// returns the local ids filed. Texts are in the employee's language.
    pub fn file_check_tickets(
        &self,
        policy: &LoadedPolicy,
        tracker: &Tracker,
        now: DateTime<Utc>,
    ) -> SyncResult<Vec<String>> {
        let mut filed = Vec::new();
        for check in &policy.checks {
            let Some(rule) = check.open_ticket else {
                continue;
            };
            let Some(since) = episode_start(tracker, &check.spec.id) else {
                continue;
            };
            let due =
                since + chrono::TimeDelta::from_std(rule.after).unwrap_or(chrono::TimeDelta::MAX);
            if now < due {
                continue;
            }
            let local_id = episode_ticket_id(&check.spec.id, since);
            if self.store().ticket(&local_id)?.is_some() {
                continue;
            }
            let locale = self.reader_locale();
            let title = crate::notify::localized(&check.spec.title, locale)
                .unwrap_or(&check.spec.id)
                .to_owned();
            let result = &tracker.last_results[&check.spec.id];
            let summary = crate::health::summary_text(result, locale);
            let mut description = crate::i18n::text(
                locale,
                "ticket.check.description",
                &[
                    ("title", &title),
                    ("summary", &summary),
                    (
                        "since",
                        &since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    ),
                ],
            );
            if let Some(fix) = crate::notify::localized(&check.spec.remediation, locale) {
                description.push_str("\n\n");
                description.push_str(fix);
            }
            let subject = crate::i18n::text(locale, "ticket.check.subject", &[("title", &title)]);
            let queued = self.submit_ticket_as(
                &local_id,
                NewTicketInput {
                    subject: subject.chars().take(200).collect(),
                    description,
                    category: Some(category(&check.spec.kind)),
                    urgency: Some(rule.urgency),
                    ticket_type: deskside_protocol::TicketType::Incident,
                    include_diagnostics: true,
                    screenshot: None,
                    files: Vec::new(),
                    attachments: Vec::new(),
                    report: None,
                    leave_out: Vec::new(),
                    check: Some(deskside_protocol::CheckTicket {
                        check_id: check.spec.id.clone(),
                        failing_since: since,
                        resolve_after_secs: rule.resolve_after.as_secs(),
                    }),
                },
            )?;
            tracing::info!(check = %check.spec.id, local = %queued.local_id, "a failing check filed a ticket");
            filed.push(queued.local_id);
        }
        Ok(filed)
    }
}
