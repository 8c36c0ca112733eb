//! The desk's side of tickets opened by failing health checks, and of
//! fixes it verifies on the device:
//!
//! - a failing episode's ticket goes to the check's ticket already being
//!   worked (or resolved and still watched, which reopens it) rather than
//!   making a new one ([`attach`]);
//! - a watched check failing again at a check-in reopens resolved tickets
//!   and notes it on open ones ([`on_check_failing`]);
//! - a check's ticket is resolved once the check has been ok for its
//!   `resolve_after` ([`verify_pass`], run by the SLA timer);
//! - a technician's resolution of a ticket filed while checks failed is
//!   watched for a day, and the employee's rating waits for it
//!   ([`after_resolution`]).
//!
//! The desk writes its notes itself (no author): readers word them from
//! their catalogs by kind ([`deskside_protocol::DeskNote`]); the body is
//! the English text for older readers.

use chrono::{DateTime, TimeDelta};
use deskside_protocol::{CheckTicket, DeskNote, DeskNoteKind};

use super::*;
use crate::store::DeskRecord;

/// How long a ticket the desk resolved stays watched: the check failing
/// again within it reopens the ticket (and counts as a reopen).
pub const CHECK_WATCH: TimeDelta = TimeDelta::days(7);
/// How long a technician's fix is watched, and the employee's rating
/// waits.
pub const FIX_WATCH: TimeDelta = TimeDelta::hours(24);
/// A check failing again is noted at most once in this long per ticket.
const NOTE_QUIET: TimeDelta = TimeDelta::hours(1);
/// Bounds of `resolve_after` (the policy's validation says the same).
const RESOLVE_AFTER: std::ops::RangeInclusive<u64> = 60..=7 * 24 * 3600;

/// Refuses a malformed `check` of a device's ticket.
pub(super) fn validate(c: &CheckTicket) -> Result<(), ApiError> {
    if c.check_id.trim().is_empty() || c.check_id.len() > 128 {
        return Err(invalid("check.check_id must be 1 to 128 bytes"));
    }
    if !RESOLVE_AFTER.contains(&c.resolve_after_secs) {
        return Err(invalid(
            "check.resolve_after_secs must be 60 to 604800 (one minute to seven days)",
        ));
    }
    Ok(())
}

/// The English text of a note (what readers without catalogs show).
fn english(kind: DeskNoteKind, check_id: &str, at: DateTime<Utc>) -> String {
    let at = at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    match kind {
        DeskNoteKind::VerifiedByDevice => format!(
            "Resolved: verified by the device. The health check \"{check_id}\" has been OK since {at}."
        ),
        DeskNoteKind::FailedAgain => {
            format!("The health check \"{check_id}\" failed again at {at}.")
        }
        DeskNoteKind::Relapsed => format!(
            "Reopened: the health check \"{check_id}\" failed again at {at}, after the ticket was resolved."
        ),
        DeskNoteKind::Unknown => String::new(),
    }
}

/// A desk note and, for a status change, its audit record, owned.
struct Record {
    body: String,
    note: String,
    key: String,
    audit: String,
}

impl Record {
    /// The note of `kind` about `check_id` (at `at` on the device), once
    /// per `key`; with `change` (from, to, reason), the audit record of
    /// that status change.
    fn new(
        kind: DeskNoteKind,
        check_id: &str,
        at: DateTime<Utc>,
        key: String,
        change: Option<(&str, &str, &str)>,
    ) -> Self {
        let note = DeskNote {
            kind,
            check_id: check_id.to_owned(),
            at,
        };
        Self {
            body: english(kind, check_id, at),
            note: serde_json::to_string(&note).unwrap_or_default(),
            key,
            audit: change
                .map(|(from, to, reason)| {
                    serde_json::json!({
                        "before": {"status": from},
                        "after": {"status": to},
                        "reason": reason,
                        "check_id": check_id,
                    })
                    .to_string()
                })
                .unwrap_or_default(),
        }
    }

    fn as_desk(&self) -> DeskRecord<'_> {
        DeskRecord {
            body: &self.body,
            note: &self.note,
            key: &self.key,
            audit: &self.audit,
        }
    }
}

/// Evaluates and announces a status change the desk made (its note and
/// audit record were written with it).
async fn changed<S: Store>(state: &AppState<S>, ticket_id: i64, resolved: bool) {
    super::sla::after_change(state, ticket_id).await;
    super::events::publish(state, "ticket.updated", ticket_id, None).await;
    if resolved {
        super::events::publish(state, "ticket.resolved", ticket_id, None).await;
    }
}

/// The ticket a failing episode goes to, if the check has one being
/// worked or watched: a resolved one is reopened (a relapse). `key` is
/// the episode ticket's idempotency key, so a retry notes nothing twice.
pub(super) async fn attach<S: Store>(
    state: &AppState<S>,
    device_id: i64,
    c: &CheckTicket,
    key: &str,
) -> Result<Option<i64>, ApiError> {
    let now = Utc::now();
    let Some((id, status)) = state
        .store
        .check_ticket_for(device_id, &c.check_id, now)
        .await?
    else {
        return Ok(None);
    };
    let relapse = Record::new(
        DeskNoteKind::Relapsed,
        &c.check_id,
        c.failing_since,
        format!("relapse:{key}"),
        Some(("resolved", "open", "relapse")),
    );
    if status == "resolved"
        && state
            .store
            .reopen_if_watched(id, now, &relapse.as_desk())
            .await?
    {
        changed(state, id, false).await;
    }
    tracing::info!(ticket = id, device = device_id, check = %c.check_id, "a failing episode went to the check's ticket");
    Ok(Some(id))
}

/// A check of `device_id` turned warning or critical (at `at` by the
/// device's clock, which the notes show; watches are judged by the
/// desk's): resolved tickets watching it reopen, and the check's open
/// ticket notes it.
pub(super) async fn on_check_failing<S: Store>(
    state: &AppState<S>,
    device_id: i64,
    check_id: &str,
    at: DateTime<Utc>,
) -> Result<(), ApiError> {
    let key = format!("{check_id}:{}", at.timestamp_millis());
    let now = Utc::now();
    let relapse = Record::new(
        DeskNoteKind::Relapsed,
        check_id,
        at,
        format!("relapse:{key}"),
        Some(("resolved", "open", "relapse")),
    );
    let reopened = state
        .store
        .reopen_watching(device_id, check_id, now, &relapse.as_desk())
        .await?;
    for &id in &reopened {
        changed(state, id, false).await;
        tracing::info!(
            ticket = id,
            device = device_id,
            check = check_id,
            "a watched check failed again: reopened"
        );
    }
    if let Some((id, status)) = state
        .store
        .check_ticket_for(device_id, check_id, now)
        .await?
        && status != "resolved"
        && !reopened.contains(&id)
    {
        let failed = Record::new(
            DeskNoteKind::FailedAgain,
            check_id,
            at,
            format!("failed:{key}"),
            None,
        );
        state
            .store
            .add_desk_note(
                id,
                &failed.body,
                &failed.note,
                &failed.key,
                now,
                now - NOTE_QUIET,
            )
            .await?;
    }
    Ok(())
}

/// After a technician resolved a ticket: if checks were failing on its
/// device when it was filed, relapses reopen it for a while (a check's
/// own ticket: [`CHECK_WATCH`], others [`FIX_WATCH`]) and the employee
/// is asked to rate it once the fix held for [`FIX_WATCH`].
pub(super) async fn after_resolution<S: Store>(state: &AppState<S>, ticket_id: i64) {
    let done = async {
        let v = state.store.verification(ticket_id).await?;
        if v.watches.is_empty() {
            return Ok::<bool, crate::store::StoreError>(false);
        }
        let now = Utc::now();
        let watch = if v.check_id.is_some() {
            CHECK_WATCH
        } else {
            FIX_WATCH
        };
        state
            .store
            .begin_watch(ticket_id, now + watch, now + FIX_WATCH)
            .await
    }
    .await;
    if let Err(e) = done {
        tracing::warn!(ticket = ticket_id, "the fix is not watched: {e}");
    }
}

/// Resolves every check's ticket whose check has been ok on its device
/// for its `resolve_after` at `now`; returns the tickets resolved. Every
/// node may run it: each resolution is conditional, so it happens once.
pub async fn verify_pass<S: Store>(state: &AppState<S>, now: DateTime<Utc>) -> Vec<i64> {
    let candidates = match state.store.recovered_check_tickets().await {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!("verification pass failed: {e}");
            return Vec::new();
        }
    };
    let mut resolved = Vec::new();
    for r in candidates {
        if now < r.ok_since + TimeDelta::seconds(r.resolve_after_secs) {
            continue;
        }
        let verified = Record::new(
            DeskNoteKind::VerifiedByDevice,
            &r.check_id,
            r.ok_since,
            format!("verified:{}", now.timestamp_millis()),
            Some((&r.status, "resolved", "verified_by_device")),
        );
        match state
            .store
            .resolve_verified(r.ticket_id, now, now + CHECK_WATCH, &verified.as_desk())
            .await
        {
            Ok(true) => {}
            Ok(false) => continue,
            Err(e) => {
                tracing::warn!(ticket = r.ticket_id, "not resolved: {e}");
                continue;
            }
        }
        changed(state, r.ticket_id, true).await;
        tracing::info!(ticket = r.ticket_id, check = %r.check_id, "resolved: verified by the device");
        resolved.push(r.ticket_id);
    }
    resolved
}
