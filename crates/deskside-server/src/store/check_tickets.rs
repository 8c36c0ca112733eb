//! Tickets a failing health check opened, and fixes verified on the
//! device: which ticket a new failing episode goes to, the desk's own
//! notes, reopening a resolved ticket when a watched check fails again,
//! and resolving a check's ticket once the device shows it ok for long
//! enough. Every status change is conditional, so two nodes (or a
//! technician and the desk) racing over a ticket change it once, and
//! commits with its note and audit record ([`DeskRecord`]). The SQL
//! is the same for both backends ([`check_ticket_methods`]);
//! [`super::Store`] requires the trait.

use std::future::Future;

use chrono::{DateTime, Utc};

use super::StoreResult;

/// What the desk writes beside a status change it makes by itself, in
/// the same transaction: a public note (no author; `note` is its JSON,
/// once per `key`) and an audit record (`audit`, no user).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeskRecord<'a> {
    /// The note's English text.
    pub body: &'a str,
    /// The note, JSON ([`deskside_protocol::DeskNote`]).
    pub note: &'a str,
    /// The note's idempotency key.
    pub key: &'a str,
    /// The audit record's detail, JSON.
    pub audit: &'a str,
}

/// What the desk verifies about one ticket.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Verification {
    /// The check that opened it.
    pub check_id: Option<String>,
    /// How long that check must be ok before the desk resolves it.
    pub resolve_after_secs: Option<i64>,
    /// Until when a watched check failing again reopens it.
    pub watch_until: Option<DateTime<Utc>>,
    /// When its employee may rate it.
    pub rating_opens_at: Option<DateTime<Utc>>,
    /// When the desk resolved it because the device showed the fix.
    pub verified_at: Option<DateTime<Utc>>,
    /// The checks failing on the device when it was filed.
    pub watches: Vec<String>,
}

/// A check's ticket whose check is ok on the device now.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Recovered {
    /// The ticket.
    pub ticket_id: i64,
    /// The check.
    pub check_id: String,
    /// Its status.
    pub status: String,
    /// How long the check must be ok.
    pub resolve_after_secs: i64,
    /// Since when it is ok: its last recorded change of state (the
    /// check-in's time at the desk).
    pub ok_since: DateTime<Utc>,
}

/// Storage of check tickets and verification (see the module docs).
pub trait CheckTicketStore {
    /// The ticket a new failing episode of `check_id` on `device_id` goes
    /// to: the newest one that check opened which is not closed and is
    /// either not resolved or still watched at `now`. (id, status).
    fn check_ticket_for(
        &self,
        device_id: i64,
        check_id: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<Option<(i64, String)>>> + Send;
    /// Adds a public note the desk wrote by itself (no author; `note` is
    /// its JSON), once per `key`, and only if the desk wrote no note on
    /// the ticket after `quiet_since` (a flapping check does not fill the
    /// conversation); the ticket's update time moves with it, in one
    /// transaction, so that its device hears of it. False when nothing
    /// was written.
    fn add_desk_note(
        &self,
        ticket_id: i64,
        body: &str,
        note: &str,
        key: &str,
        now: DateTime<Utc>,
        quiet_since: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Reopens `device_id`'s resolved tickets that watch `check_id` and
    /// whose watch runs at `now`, each with `record`; returns their ids.
    /// The watch ends (a new resolution starts another).
    fn reopen_watching(
        &self,
        device_id: i64,
        check_id: &str,
        now: DateTime<Utc>,
        record: &DeskRecord<'_>,
    ) -> impl Future<Output = StoreResult<Vec<i64>>> + Send;
    /// Reopens one ticket for a relapse, with `record`, if it is resolved
    /// and watched at `now` (a failing episode's ticket arriving for it).
    fn reopen_if_watched(
        &self,
        ticket_id: i64,
        now: DateTime<Utc>,
        record: &DeskRecord<'_>,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Open tickets opened by a check that is ok on their device now.
    fn recovered_check_tickets(&self) -> impl Future<Output = StoreResult<Vec<Recovered>>> + Send;
    /// Resolves a check's ticket the device verified, with `record`: only
    /// while it is new, open or pending and its check still ok. Its watch
    /// runs until `watch_until`.
    fn resolve_verified(
        &self,
        ticket_id: i64,
        now: DateTime<Utc>,
        watch_until: DateTime<Utc>,
        record: &DeskRecord<'_>,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// After a technician resolved a ticket that watches checks: relapses
    /// reopen it until `watch_until`, its rating waits for
    /// `rating_opens_at`. False when it watches nothing or is no longer
    /// resolved.
    fn begin_watch(
        &self,
        ticket_id: i64,
        watch_until: DateTime<Utc>,
        rating_opens_at: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// What is verified about a ticket.
    fn verification(
        &self,
        ticket_id: i64,
    ) -> impl Future<Output = StoreResult<Verification>> + Send;
}

/// Writes a [`DeskRecord`] for ticket `$id` in transaction `$tx`.
macro_rules! desk_record {
    ($tx:ident, $id:expr, $record:expr, $now:expr) => {
        sqlx::query(
            "INSERT INTO ticket_comments (ticket_id, user_id, body, internal, created_at, idempotency_key, note) \
             VALUES ($1, NULL, $2, FALSE, $3, $4, $5) ON CONFLICT (ticket_id, idempotency_key) DO NOTHING",
        )
        .bind($id)
        .bind($record.body)
        .bind($now)
        .bind($record.key)
        .bind($record.note)
        .execute(&mut *$tx)
        .await?;
        sqlx::query(
            "INSERT INTO ticket_audit (ticket_id, user_id, action, detail, at) VALUES ($1, NULL, 'update', $2, $3)",
        )
        .bind($id)
        .bind($record.audit)
        .bind($now)
        .execute(&mut *$tx)
        .await?;
    };
}
pub(crate) use desk_record;

/// The [`CheckTicketStore`] methods, the same SQL for both backends.
macro_rules! check_ticket_methods {
    () => {
        async fn check_ticket_for(
            &self,
            device_id: i64,
            check_id: &str,
            now: DateTime<Utc>,
        ) -> StoreResult<Option<(i64, String)>> {
            Ok(sqlx::query_as::<_, (i64, String)>(
                "SELECT id, status FROM tickets WHERE device_id = $1 AND check_id = $2 \
                 AND (status IN ('new', 'open', 'pending') OR (status = 'resolved' AND watch_until > $3)) \
                 ORDER BY id DESC LIMIT 1",
            )
            .bind(device_id)
            .bind(check_id)
            .bind(now)
            .fetch_optional(&self.pool)
            .await?)
        }

        async fn add_desk_note(
            &self,
            ticket_id: i64,
            body: &str,
            note: &str,
            key: &str,
            now: DateTime<Utc>,
            quiet_since: DateTime<Utc>,
        ) -> StoreResult<bool> {
            let mut tx = self.write().await?;
            // A key used before, or a note of the desk's since
            // `quiet_since`, writes nothing.
            let added = sqlx::query_scalar::<_, i64>(
                "INSERT INTO ticket_comments (ticket_id, user_id, body, internal, created_at, idempotency_key, note) \
                 SELECT $1, NULL, $2, FALSE, $3, $4, $5 WHERE NOT EXISTS (SELECT 1 FROM ticket_comments c \
                 WHERE c.ticket_id = $1 AND c.note IS NOT NULL AND c.created_at > $6) \
                 ON CONFLICT (ticket_id, idempotency_key) DO NOTHING RETURNING id",
            )
            .bind(ticket_id)
            .bind(body)
            .bind(now)
            .bind(key)
            .bind(note)
            .bind(quiet_since)
            .fetch_optional(&mut *tx)
            .await?;
            if added.is_none() {
                return Ok(false);
            }
            sqlx::query("UPDATE tickets SET updated_at = $1 WHERE id = $2 AND updated_at < $1")
                .bind(now)
                .bind(ticket_id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(true)
        }

        async fn reopen_watching(
            &self,
            device_id: i64,
            check_id: &str,
            now: DateTime<Utc>,
            record: &super::check_tickets::DeskRecord<'_>,
        ) -> StoreResult<Vec<i64>> {
            let mut tx = self.write().await?;
            let ids = sqlx::query_scalar::<_, i64>(
                "UPDATE tickets SET status = 'open', updated_at = $3, version = version + 1, \
                 watch_until = NULL, rating_opens_at = NULL \
                 WHERE device_id = $1 AND status = 'resolved' AND watch_until > $3 \
                 AND EXISTS (SELECT 1 FROM ticket_watches w WHERE w.ticket_id = tickets.id AND w.check_id = $2) \
                 RETURNING id",
            )
            .bind(device_id)
            .bind(check_id)
            .bind(now)
            .fetch_all(&mut *tx)
            .await?;
            for &id in &ids {
                super::check_tickets::desk_record!(tx, id, record, now);
            }
            tx.commit().await?;
            Ok(ids)
        }

        async fn reopen_if_watched(
            &self,
            ticket_id: i64,
            now: DateTime<Utc>,
            record: &super::check_tickets::DeskRecord<'_>,
        ) -> StoreResult<bool> {
            let mut tx = self.write().await?;
            let done = sqlx::query(
                "UPDATE tickets SET status = 'open', updated_at = $2, version = version + 1, \
                 watch_until = NULL, rating_opens_at = NULL \
                 WHERE id = $1 AND status = 'resolved' AND watch_until > $2",
            )
            .bind(ticket_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() != 1 {
                return Ok(false);
            }
            super::check_tickets::desk_record!(tx, ticket_id, record, now);
            tx.commit().await?;
            Ok(true)
        }

        async fn recovered_check_tickets(&self) -> StoreResult<Vec<super::check_tickets::Recovered>> {
            Ok(sqlx::query_as::<_, super::check_tickets::Recovered>(
                "SELECT t.id AS ticket_id, t.check_id, t.status, CAST(COALESCE(t.resolve_after_secs, 3600) AS BIGINT) AS resolve_after_secs, \
                 COALESCE((SELECT x.at FROM check_transitions x \
                           WHERE x.device_id = t.device_id AND x.check_id = t.check_id \
                           ORDER BY x.id DESC LIMIT 1), r.updated_at) AS ok_since \
                 FROM tickets t JOIN check_results r ON r.device_id = t.device_id AND r.check_id = t.check_id \
                 WHERE t.check_id IS NOT NULL AND t.status IN ('new', 'open', 'pending') AND r.state = 'ok' \
                 ORDER BY t.id LIMIT 1000",
            )
            .fetch_all(&self.pool)
            .await?)
        }

        async fn resolve_verified(
            &self,
            ticket_id: i64,
            now: DateTime<Utc>,
            watch_until: DateTime<Utc>,
            record: &super::check_tickets::DeskRecord<'_>,
        ) -> StoreResult<bool> {
            let mut tx = self.write().await?;
            let done = sqlx::query(
                "UPDATE tickets SET status = 'resolved', updated_at = $2, version = version + 1, \
                 verified_at = $2, watch_until = $3, rating_opens_at = NULL \
                 WHERE id = $1 AND status IN ('new', 'open', 'pending') AND check_id IS NOT NULL \
                 AND EXISTS (SELECT 1 FROM check_results r WHERE r.device_id = tickets.device_id \
                             AND r.check_id = tickets.check_id AND r.state = 'ok')",
            )
            .bind(ticket_id)
            .bind(now)
            .bind(watch_until)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() != 1 {
                return Ok(false);
            }
            super::check_tickets::desk_record!(tx, ticket_id, record, now);
            tx.commit().await?;
            Ok(true)
        }

        async fn begin_watch(
            &self,
            ticket_id: i64,
            watch_until: DateTime<Utc>,
            rating_opens_at: DateTime<Utc>,
        ) -> StoreResult<bool> {
            let done = sqlx::query(
                "UPDATE tickets SET watch_until = $2, rating_opens_at = $3, verified_at = NULL \
                 WHERE id = $1 AND status = 'resolved' \
                 AND EXISTS (SELECT 1 FROM ticket_watches w WHERE w.ticket_id = tickets.id)",
            )
            .bind(ticket_id)
            .bind(watch_until)
            .bind(rating_opens_at)
            .execute(&self.pool)
            .await?;
            Ok(done.rows_affected() == 1)
        }

        async fn verification(&self, ticket_id: i64) -> StoreResult<super::check_tickets::Verification> {
            let row = sqlx::query_as::<
                _,
                (
                    Option<String>,
                    Option<i64>,
                    Option<DateTime<Utc>>,
                    Option<DateTime<Utc>>,
                    Option<DateTime<Utc>>,
                ),
            >(
                "SELECT check_id, CAST(resolve_after_secs AS BIGINT), watch_until, rating_opens_at, verified_at \
                 FROM tickets WHERE id = $1",
            )
            .bind(ticket_id)
            .fetch_optional(&self.pool)
            .await?;
            let Some((check_id, resolve_after_secs, watch_until, rating_opens_at, verified_at)) = row
            else {
                return Ok(super::check_tickets::Verification::default());
            };
            let watches = sqlx::query_scalar::<_, String>(
                "SELECT check_id FROM ticket_watches WHERE ticket_id = $1 ORDER BY check_id",
            )
            .bind(ticket_id)
            .fetch_all(&self.pool)
            .await?;
            Ok(super::check_tickets::Verification {
                check_id,
                resolve_after_secs,
                watch_until,
                rating_opens_at,
                verified_at,
                watches,
            })
        }
    };
}
pub(crate) use check_ticket_methods;
