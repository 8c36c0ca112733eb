//! The outbox's delivery: each item sent with its idempotency key and
//! deleted only once the desk acknowledged it; retries with backoff,
//! `Retry-After`, and dead letters for what the desk refuses for good.

use super::*;

/// What one delivery pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    /// Items the desk acknowledged.
    pub delivered: usize,
    /// Items moved to the dead letters.
    pub dead: usize,
    /// Items still waiting.
    pub waiting: usize,
    /// The desk could not be reached (or was busy).
    pub unreachable: bool,
}

/// Longest wait between delivery attempts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// Exponential backoff with full jitter: a random wait up to
/// min(cap, 2 s × 2^attempts).
pub fn backoff(attempts: u32) -> Duration {
    let ceiling = Duration::from_secs(2)
        .saturating_mul(2u32.saturating_pow(attempts.min(16)))
        .min(MAX_BACKOFF);
    let ms = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
    Duration::from_millis(rand::rng().random_range(0..=ms))
}

pub(super) enum Sent {
    Done,
    NotYet,
}

impl Agent {
    pub(super) fn note_failure(&self, e: &DeskError) {
        // Holding back is not news: the error that caused it stays shown.
        if matches!(e, DeskError::Waiting(_)) {
            return;
        }
        let _ = self.store().set(KEY_LAST_ERROR, Some(&e.to_string()));
    }

    pub(super) fn note_success(&self) {
        let store = self.store();
        let _ = store.set(KEY_LAST_SYNC, Some(&Utc::now().to_rfc3339()));
        let _ = store.set(KEY_LAST_ERROR, None);
    }

    /// One pass over the outbox: every item whose time has come is sent in
    /// order; a transient failure stops its kind for this pass (order per
    /// kind is kept), a permanent refusal moves the item to the dead
    /// letters.
    pub async fn deliver(&self) -> SyncResult<DeliveryReport> {
        self.deliver_pass(false).await
    }

    /// [`Agent::deliver`], trying every item now whatever its backoff: the
    /// user asked (sync now, a ticket just filed).
    pub async fn deliver_now(&self) -> SyncResult<DeliveryReport> {
        self.deliver_pass(true).await
    }

    pub(super) async fn deliver_pass(&self, now: bool) -> SyncResult<DeliveryReport> {
        let desk = self.desk()?;
        let mut report = DeliveryReport::default();
        let items = self.store().pending()?;
        if items.is_empty() {
            return Ok(report);
        }
        // The desk's Retry-After binds every item, also when the user asks
        // to send now: it is the desk protecting itself.
        if self.desk_busy()?.is_some() {
            report.waiting = items.len();
            report.unreachable = true;
            return Ok(report);
        }
        self.emit(Event::SyncState(SyncState::Syncing));
        let mut token = self.token().await?;
        let mut blocked: Vec<Kind> = Vec::new();
        let mut reenrolled = false;
        let mut desk_busy = false;
        for item in items {
            if desk_busy
                || blocked.contains(&item.kind)
                || (!now && item.next_attempt_at > Utc::now())
            {
                report.waiting += 1;
                continue;
            }
            let result = self.send(desk, &token, &item).await;
            match result {
                Ok(Sent::Done) => {
                    report.delivered += 1;
                    if let Some(local) = &item.local_ticket {
                        self.emit(Event::TicketUpdated {
                            local_id: local.clone(),
                        });
                    }
                }
                Ok(Sent::NotYet) => {
                    // Its ticket has no number yet: keep waiting, in order.
                    blocked.push(item.kind);
                    report.waiting += 1;
                }
                Err(DeskError::Unauthorized) if !reenrolled => {
                    reenrolled = true;
                    self.credentials.clear()?;
                    self.reenroll().await?;
                    token = self.token().await?;
                    blocked.push(item.kind);
                    report.waiting += 1;
                }
                Err(e) if e.is_transient() || matches!(e, DeskError::Unauthorized) => {
                    let wait = match &e {
                        DeskError::Busy {
                            retry_after: Some(r),
                            ..
                        } => {
                            let until = Utc::now()
                                + chrono::TimeDelta::from_std(*r).unwrap_or(chrono::TimeDelta::MAX);
                            self.store()
                                .set(KEY_BUSY_UNTIL, Some(&until.to_rfc3339()))?;
                            desk_busy = true;
                            (*r).max(backoff(item.attempts))
                        }
                        _ => backoff(item.attempts),
                    };
                    let next = Utc::now()
                        + chrono::TimeDelta::from_std(wait).unwrap_or(chrono::TimeDelta::MAX);
                    self.store().retry_later(item.id, next, &e.to_string())?;
                    self.note_failure(&e);
                    report.unreachable = true;
                    blocked.push(item.kind);
                    report.waiting += 1;
                }
                Err(e) => {
                    let status = match &e {
                        DeskError::Rejected { status, .. } => *status,
                        _ => 0,
                    };
                    tracing::warn!(
                        kind = item.kind.as_str(),
                        key = %item.idempotency_key,
                        "the desk refused an item for good: {e}"
                    );
                    self.store().dead_letter(&item, status, &e.to_string())?;
                    report.dead += 1;
                }
            }
        }
        if !report.unreachable {
            self.note_success();
        }
        self.emit(Event::SyncState(if report.unreachable {
            SyncState::Offline
        } else {
            SyncState::Online
        }));
        Ok(report)
    }

    /// How long the desk still asked not to be sent anything.
    pub(super) fn desk_busy(&self) -> SyncResult<Option<Duration>> {
        let until = self
            .store()
            .get(KEY_BUSY_UNTIL)?
            .and_then(|t| DateTime::parse_from_rfc3339(&t).ok());
        Ok(until.and_then(|t| (t.with_timezone(&Utc) - Utc::now()).to_std().ok()))
    }

    pub(super) async fn send(
        &self,
        desk: &DeskClient,
        token: &str,
        item: &OutItem,
    ) -> Result<Sent, DeskError> {
        let local = item.local_ticket.as_deref().unwrap_or_default();
        let store_err = |e: StoreError| DeskError::Setup(e.to_string());
        if item.kind == Kind::Ticket {
            let files = self.store().files(item.id).map_err(store_err)?;
            self.store().mark_sent(local).map_err(store_err)?;
            let ticket = desk
                .submit_ticket(token, &item.idempotency_key, &item.payload, &files)
                .await?;
            self.store()
                .acknowledge_ticket(item.id, local, &ticket)
                .map_err(store_err)?;
            tracing::info!(local, number = ticket.id, "ticket delivered");
            return Ok(Sent::Done);
        }
        if item.kind == Kind::Report {
            desk.report(token, &item.payload).await?;
            self.store().delivered(item.id).map_err(store_err)?;
            return Ok(Sent::Done);
        }
        let Some(number) = self.store().server_id(local).map_err(store_err)? else {
            return Ok(Sent::NotYet);
        };
        match item.kind {
            Kind::Comment => {
                desk.comment(token, number, &item.idempotency_key, &item.payload)
                    .await
                    .map(drop)?;
            }
            Kind::Rating => match desk
                .ticket_action(token, number, "rating", Some(&item.payload))
                .await
            {
                // Rated already: a retry of a rating that arrived.
                Err(DeskError::Rejected { code, .. })
                    if code == deskside_protocol::ErrorCode::CannotRate && item.attempts > 0 => {}
                other => other?,
            },
            Kind::Reopen => match desk.ticket_action(token, number, "reopen", None).await {
                // Open already: a retry of a reopen that arrived.
                Err(DeskError::Rejected { code, .. })
                    if code == deskside_protocol::ErrorCode::InvalidTransition
                        && item.attempts > 0 => {}
                other => other?,
            },
            Kind::Ticket | Kind::Report => {}
        }
        self.store().delivered(item.id).map_err(store_err)?;
        Ok(Sent::Done)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_is_jittered_and_capped() {
        for attempts in [0, 1, 5, 30, u32::MAX] {
            let ceiling = Duration::from_secs(2)
                .saturating_mul(2u32.saturating_pow(attempts.min(16)))
                .min(MAX_BACKOFF);
            for _ in 0..50 {
                assert!(backoff(attempts) <= ceiling);
            }
        }
        let waits: std::collections::HashSet<_> = (0..50).map(|_| backoff(10)).collect();
        assert!(waits.len() > 10, "full jitter spreads the retries");
    }
}
