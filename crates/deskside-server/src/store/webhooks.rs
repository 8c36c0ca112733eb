//! Webhook storage: subscriptions, the fan-out of desk events into a
//! durable outbox of deliveries (once per subscription and event, however
//! many nodes fan out), and deliveries claimed under a lease, so that one
//! node at a time sends each (PostgreSQL skips rows another node locked;
//! SQLite has one writer). One trait, its SQL written once for both
//! backends ([`webhook_methods`]); [`super::Store`] requires it.

use std::future::Future;

use chrono::{DateTime, Utc};

use super::StoreResult;

/// A subscription as stored (events as a JSON array of names).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct WebhookRow {
    /// Id.
    pub id: i64,
    /// Where deliveries go.
    pub url: String,
    /// The signing key.
    pub secret: String,
    /// Event names, JSON.
    pub events: String,
    /// Paused when false.
    pub active: bool,
    /// When made.
    pub created_at: DateTime<Utc>,
}

/// A delivery as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DeliveryRow {
    /// Id.
    pub id: i64,
    /// The subscription.
    pub webhook_id: i64,
    /// The desk event it announces.
    pub event_id: i64,
    /// The webhook event's name.
    pub event: String,
    /// The body to send.
    pub payload: String,
    /// `pending`, `delivered` or `failed`.
    pub state: String,
    /// Attempts so far (a claimed attempt counts).
    pub attempts: i64,
    /// The next attempt, Unix seconds.
    pub next_attempt_at: i64,
    /// Given up on after this instant, Unix seconds.
    pub give_up_at: i64,
    /// The lease of the node sending it, Unix seconds.
    pub lease_until: Option<i64>,
    /// The receiver's last status.
    pub last_status: Option<i64>,
    /// The last failure.
    pub last_error: Option<String>,
    /// When the event happened.
    pub created_at: DateTime<Utc>,
    /// When the receiver took it.
    pub delivered_at: Option<DateTime<Utc>>,
}

/// A delivery to add in a fan-out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDelivery {
    /// The subscription.
    pub webhook_id: i64,
    /// The desk event.
    pub event_id: i64,
    /// The webhook event's name.
    pub event: String,
    /// The body.
    pub payload: String,
    /// When the event happened.
    pub at: DateTime<Utc>,
}

/// What an attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// 2xx.
    Delivered {
        /// The status.
        status: i64,
    },
    /// Try again at `retry_at` (Unix seconds), or give up when that is
    /// past the delivery's `give_up_at`.
    Failed {
        /// The status, if the receiver answered.
        status: Option<i64>,
        /// What went wrong.
        error: String,
        /// The next attempt.
        retry_at: i64,
    },
}

/// Webhook storage (see the module docs).
pub trait WebhookStore {
    /// Every subscription, oldest first.
    fn list_webhooks(&self) -> impl Future<Output = StoreResult<Vec<WebhookRow>>> + Send;
    /// One subscription.
    fn webhook(&self, id: i64) -> impl Future<Output = StoreResult<Option<WebhookRow>>> + Send;
    /// Adds a subscription; returns its id.
    fn create_webhook(
        &self,
        url: &str,
        secret: &str,
        events: &str,
        created_by: i64,
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<i64>> + Send;
    /// Changes what is given; false when there is no such subscription.
    fn update_webhook(
        &self,
        id: i64,
        url: Option<&str>,
        events: Option<&str>,
        active: Option<bool>,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Deletes a subscription and its deliveries; false when there is none.
    fn delete_webhook(&self, id: i64) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Where the fan-out stands: the last desk event it handled.
    fn webhook_cursor(&self) -> impl Future<Output = StoreResult<i64>> + Send;
    /// Adds `deliveries` (each once: one already there is left alone) and
    /// moves the cursor from `from` to `to`, in one transaction; false (and
    /// nothing done) when another node moved the cursor first.
    fn fan_out(
        &self,
        from: i64,
        to: i64,
        deliveries: &[NewDelivery],
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Claims up to `limit` pending deliveries due at `now` that no node
    /// holds, leasing them until `lease_until` and counting the attempt.
    fn claim_deliveries(
        &self,
        now: i64,
        lease_until: i64,
        limit: u32,
    ) -> impl Future<Output = StoreResult<Vec<DeliveryRow>>> + Send;
    /// Records an attempt of a delivery this node holds (by its lease);
    /// false when the lease was lost (another node has it now).
    fn finish_attempt(
        &self,
        id: i64,
        lease_until: i64,
        outcome: &AttemptOutcome,
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// A subscription's deliveries, newest first.
    fn webhook_deliveries(
        &self,
        webhook_id: i64,
        limit: u32,
    ) -> impl Future<Output = StoreResult<Vec<DeliveryRow>>> + Send;
    /// One delivery.
    fn delivery(&self, id: i64) -> impl Future<Output = StoreResult<Option<DeliveryRow>>> + Send;
    /// Sends a delivery again from `now`, for another 24 hours (`give_up_at`);
    /// false when there is no such delivery.
    fn redeliver(
        &self,
        id: i64,
        now: i64,
        give_up_at: i64,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
}

const DELIVERY_COLUMNS: &str = "id, webhook_id, event_id, event, payload, state, attempts, \
    next_attempt_at, give_up_at, lease_until, last_status, last_error, created_at, delivered_at";

/// The columns of a delivery, for `SELECT` and `RETURNING`.
pub(crate) fn delivery_columns() -> &'static str {
    DELIVERY_COLUMNS
}

/// The [`WebhookStore`] methods, the same SQL for both backends (with
/// `Self::DIALECT` for row locks).
macro_rules! webhook_methods {
    () => {
        async fn list_webhooks(&self) -> StoreResult<Vec<WebhookRow>> {
            Ok(sqlx::query_as::<_, WebhookRow>(
                "SELECT id, url, secret, events, active, created_at FROM webhooks ORDER BY id",
            )
            .fetch_all(&self.pool)
            .await?)
        }

        async fn webhook(&self, id: i64) -> StoreResult<Option<WebhookRow>> {
            Ok(sqlx::query_as::<_, WebhookRow>(
                "SELECT id, url, secret, events, active, created_at FROM webhooks WHERE id = $1",
            )
            .bind(id)
            .fetch_optional(&self.pool)
            .await?)
        }

        async fn create_webhook(
            &self,
            url: &str,
            secret: &str,
            events: &str,
            created_by: i64,
            now: DateTime<Utc>,
        ) -> StoreResult<i64> {
            Ok(sqlx::query_scalar::<_, i64>(
                "INSERT INTO webhooks (url, secret, events, active, created_by, created_at) \
                 VALUES ($1, $2, $3, TRUE, $4, $5) RETURNING id",
            )
            .bind(url)
            .bind(secret)
            .bind(events)
            .bind(created_by)
            .bind(now)
            .fetch_one(&self.pool)
            .await?)
        }

        async fn update_webhook(
            &self,
            id: i64,
            url: Option<&str>,
            events: Option<&str>,
            active: Option<bool>,
        ) -> StoreResult<bool> {
            let done = sqlx::query(
                "UPDATE webhooks SET url = COALESCE($2, url), events = COALESCE($3, events), \
                 active = COALESCE($4, active) WHERE id = $1",
            )
            .bind(id)
            .bind(url)
            .bind(events)
            .bind(active)
            .execute(&self.pool)
            .await?;
            Ok(done.rows_affected() > 0)
        }

        async fn delete_webhook(&self, id: i64) -> StoreResult<bool> {
            let mut tx = self.pool.begin().await?;
            sqlx::query("DELETE FROM webhook_deliveries WHERE webhook_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            let done = sqlx::query("DELETE FROM webhooks WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(done.rows_affected() > 0)
        }

        async fn webhook_cursor(&self) -> StoreResult<i64> {
            Ok(sqlx::query_scalar::<_, i64>("SELECT event_id FROM webhook_cursor WHERE id = 1")
                .fetch_one(&self.pool)
                .await?)
        }

        async fn fan_out(&self, from: i64, to: i64, deliveries: &[NewDelivery]) -> StoreResult<bool> {
            let mut tx = self.pool.begin().await?;
            // The cursor first: a node that lost the race changes nothing.
            let moved = sqlx::query("UPDATE webhook_cursor SET event_id = $2 WHERE id = 1 AND event_id = $1")
                .bind(from)
                .bind(to)
                .execute(&mut *tx)
                .await?;
            if moved.rows_affected() == 0 {
                return Ok(false);
            }
            for d in deliveries {
                let due = d.at.timestamp();
                sqlx::query(
                    "INSERT INTO webhook_deliveries (webhook_id, event_id, event, payload, state, attempts, \
                     next_attempt_at, give_up_at, created_at) \
                     VALUES ($1, $2, $3, $4, 'pending', 0, $5, $6, $7) \
                     ON CONFLICT (webhook_id, event_id) DO NOTHING",
                )
                .bind(d.webhook_id)
                .bind(d.event_id)
                .bind(&d.event)
                .bind(&d.payload)
                .bind(due)
                .bind(due + super::webhooks::GIVE_UP_SECS)
                .bind(d.at)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Ok(true)
        }

        async fn claim_deliveries(&self, now: i64, lease_until: i64, limit: u32) -> StoreResult<Vec<DeliveryRow>> {
            let sql = format!(
                "UPDATE webhook_deliveries SET lease_until = $2, attempts = attempts + 1 \
                 WHERE id IN (SELECT id FROM webhook_deliveries WHERE state = 'pending' \
                 AND next_attempt_at <= $1 AND (lease_until IS NULL OR lease_until <= $1) \
                 ORDER BY next_attempt_at, id LIMIT $3{}) \
                 AND state = 'pending' AND (lease_until IS NULL OR lease_until <= $1) \
                 RETURNING {}",
                Self::DIALECT.skip_locked(),
                super::webhooks::delivery_columns()
            );
            let mut rows = sqlx::query_as::<_, DeliveryRow>(&sql)
                .bind(now)
                .bind(lease_until)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?;
            rows.sort_by_key(|r| (r.next_attempt_at, r.id));
            Ok(rows)
        }

        async fn finish_attempt(
            &self,
            id: i64,
            lease_until: i64,
            outcome: &AttemptOutcome,
            now: DateTime<Utc>,
        ) -> StoreResult<bool> {
            let done = match outcome {
                AttemptOutcome::Delivered { status } => sqlx::query(
                    "UPDATE webhook_deliveries SET state = 'delivered', lease_until = NULL, \
                     last_status = $3, last_error = NULL, delivered_at = $4 \
                     WHERE id = $1 AND lease_until = $2 AND state = 'pending'",
                )
                .bind(id)
                .bind(lease_until)
                .bind(*status)
                .bind(now)
                .execute(&self.pool)
                .await?,
                AttemptOutcome::Failed { status, error, retry_at } => sqlx::query(
                    "UPDATE webhook_deliveries SET lease_until = NULL, last_status = $3, last_error = $4, \
                     next_attempt_at = $5, \
                     state = CASE WHEN $5 > give_up_at THEN 'failed' ELSE 'pending' END \
                     WHERE id = $1 AND lease_until = $2 AND state = 'pending'",
                )
                .bind(id)
                .bind(lease_until)
                .bind(*status)
                .bind(error)
                .bind(*retry_at)
                .execute(&self.pool)
                .await?,
            };
            Ok(done.rows_affected() > 0)
        }

        async fn webhook_deliveries(&self, webhook_id: i64, limit: u32) -> StoreResult<Vec<DeliveryRow>> {
            Ok(sqlx::query_as::<_, DeliveryRow>(&format!(
                "SELECT {} FROM webhook_deliveries WHERE webhook_id = $1 ORDER BY id DESC LIMIT $2",
                super::webhooks::delivery_columns()
            ))
            .bind(webhook_id)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?)
        }

        async fn delivery(&self, id: i64) -> StoreResult<Option<DeliveryRow>> {
            Ok(sqlx::query_as::<_, DeliveryRow>(&format!(
                "SELECT {} FROM webhook_deliveries WHERE id = $1",
                super::webhooks::delivery_columns()
            ))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?)
        }

        async fn redeliver(&self, id: i64, now: i64, give_up_at: i64) -> StoreResult<bool> {
            let done = sqlx::query(
                "UPDATE webhook_deliveries SET state = 'pending', next_attempt_at = $2, give_up_at = $3, \
                 lease_until = NULL WHERE id = $1",
            )
            .bind(id)
            .bind(now)
            .bind(give_up_at)
            .execute(&self.pool)
            .await?;
            Ok(done.rows_affected() > 0)
        }
    };
}
pub(crate) use webhook_methods;

/// How long a delivery is tried: 24 hours from its event.
pub const GIVE_UP_SECS: i64 = 24 * 3600;
