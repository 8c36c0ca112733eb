//! The PostgreSQL backend: for scale, and for several server nodes on one
//! database.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::postgres::PgPoolOptions;
use sqlx::{FromRow, PgPool, Row};

use super::kb::{ArticleFields, ArticleRow, ArticleUpdate, TextHit, TextRow};
use super::kpis::{DayCounts, Durations, GroupCounts, KpiCounts, KpiSpan, KpiStore, ServiceGauges};
use super::rows::{
    DEVICE_COLUMNS, SECRET_COLUMNS, TICKET_COLUMNS, WORK_COLUMNS, attachment_row, device_summary,
    secret, ticket_row, ticket_work, user,
};
use super::service::{
    CalendarRow, EscalationAction, MemberRow, NewDeskTicket, NewSlaEvent, PolicyRow, ProblemFields,
    ProblemRow, ServiceStore, SlaEventRow, SlaInput, SlaRecord, TeamRow,
};
use super::software_catalogue::SoftwareDelta;
use super::webhooks::{AttemptOutcome, DeliveryRow, NewDelivery, WebhookRow};
use super::{
    ApiTokenInfo, AttachmentRow, AuditEntry, AuditLogEntry, AuditRecord, Checkin, CommentRow,
    Device, DeviceFilter, DeviceSummary, EnrollSecret, Enrolled, EventRow, InventoryFacts,
    MetricRows, NewEnrollment, NewTicketRow, PolicyVersion, QueueRow, Role, SavedView,
    SoftwareEntry, Store, StoreError, StoreResult, TicketFilter, TicketRow, TicketWork, User,
    is_unique_violation, like_pattern, same_comment, same_request,
};
use crate::workflow::{self, PatchOutcome, Plan, TicketChange};

/// A PostgreSQL database.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
    names: super::metric_names::NameCache,
}

impl PgStore {
    /// Connects to the database at `url` (`postgres://user@host/db`).
    pub async fn open(url: &str) -> StoreResult<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(5))
            .connect(url)
            .await?;
        Ok(Self {
            pool,
            names: Default::default(),
        })
    }
}

/// The first key of the advisory lock a device's metric rollup takes.
const METRIC_ROLLUP_LOCK: i32 = 0x6d72_6f6c; // "mrol"

impl PgStore {
    const DIALECT: super::queue::Dialect = super::queue::Dialect::Postgres;

    /// A write transaction (rows are locked where read `FOR UPDATE`).
    async fn write(&self) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, sqlx::Error> {
        self.pool.begin().await
    }
}

impl Store for PgStore {
    super::shared::shared_methods!();

    async fn migrate(&self) -> StoreResult<()> {
        sqlx::migrate!("./migrations/postgres")
            .run(&self.pool)
            .await?;
        Ok(())
    }

    async fn user_by_email(&self, email: &str) -> StoreResult<Option<User>> {
        let row = sqlx::query("SELECT id, email, role, password_hash, created_at, deactivated_at FROM users WHERE lower(email) = lower($1)")
            .bind(email)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(user).transpose()
    }

    async fn deactivate_user(&self, user_id: i64) -> StoreResult<bool> {
        let now = Utc::now();
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query(
            "UPDATE users SET deactivated_at = $1 WHERE id = $2 AND deactivated_at IS NULL",
        )
        .bind(now)
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE api_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn set_user_password(&self, user_id: i64, password_hash: &str) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query(
            "UPDATE users SET password_hash = $1 WHERE id = $2 AND deactivated_at IS NULL",
        )
        .bind(password_hash)
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        // Whoever knew the old password may hold a session: it ends.
        sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn enroll_device(&self, e: &NewEnrollment<'_>) -> StoreResult<Enrolled> {
        let mut tx = self.pool.begin().await?;
        let known: Option<i64> = match e.public_key {
            Some(key) => {
                sqlx::query_scalar("SELECT id FROM devices WHERE public_key = $1")
                    .bind(key)
                    .fetch_optional(&mut *tx)
                    .await?
            }
            None => None,
        };
        let now = Utc::now();
        let out = match known {
            Some(id) => {
                sqlx::query(
                    "UPDATE devices SET token_hash = $1, hostname = COALESCE($2, hostname), \
                     serial_number = COALESCE($3, serial_number), enrolled_at = $4, revoked_at = NULL \
                     WHERE id = $5",
                )
                .bind(e.token_hash)
                .bind(e.hostname)
                .bind(e.serial_number)
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await?;
                Enrolled {
                    device_id: id,
                    reenrolled: true,
                    duplicate_of: None,
                }
            }
            None => {
                // Another record with this device key or serial: a machine
                // that lost its key (re-imaged), or a clone. Pointed at,
                // never merged; the device key stays with the first.
                let by_key: Option<i64> = match e.device_key {
                    Some(k) => {
                        sqlx::query_scalar("SELECT id FROM devices WHERE device_key = $1")
                            .bind(k)
                            .fetch_optional(&mut *tx)
                            .await?
                    }
                    None => None,
                };
                let by_serial: Option<i64> = match e.serial_number {
                    Some(sn) => sqlx::query_scalar(
                        "SELECT id FROM devices WHERE serial_number = $1 ORDER BY id DESC LIMIT 1",
                    )
                    .bind(sn)
                    .fetch_optional(&mut *tx)
                    .await?,
                    None => None,
                };
                let device_key = if by_key.is_some() { None } else { e.device_key };
                let duplicate_of = by_key.or(by_serial);
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO devices (device_key, serial_number, hostname, token_hash, enrolled_at, \
                     public_key, duplicate_of) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                )
                .bind(device_key)
                .bind(e.serial_number)
                .bind(e.hostname)
                .bind(e.token_hash)
                .bind(now)
                .bind(e.public_key)
                .bind(duplicate_of)
                .fetch_one(&mut *tx)
                .await?;
                Enrolled {
                    device_id: id,
                    reenrolled: false,
                    duplicate_of,
                }
            }
        };
        tx.commit().await?;
        Ok(out)
    }

    async fn save_inventory(
        &self,
        device_id: i64,
        inventory_hash: &str,
        body: &str,
        change: Option<&str>,
        facts: &InventoryFacts,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        // The device's row lock: two uploads of one device apply one after
        // the other, so the software counts see each change once.
        let previous_hash: Option<String> =
            sqlx::query_scalar("SELECT inventory_hash FROM devices WHERE id = $1 FOR UPDATE")
                .bind(device_id)
                .fetch_optional(&mut *tx)
                .await?
                .flatten();
        sqlx::query(
            "INSERT INTO inventories (device_id, inventory_hash, body, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (device_id) DO UPDATE SET inventory_hash = excluded.inventory_hash, \
             body = excluded.body, updated_at = excluded.updated_at",
        )
        .bind(device_id)
        .bind(inventory_hash)
        .bind(body)
        .bind(at)
        .execute(&mut *tx)
        .await?;
        if let Some(diff) = change {
            sqlx::query(
                "INSERT INTO inventory_changes (device_id, changed_at, diff) VALUES ($1, $2, $3)",
            )
            .bind(device_id)
            .bind(at)
            .bind(diff)
            .execute(&mut *tx)
            .await?;
        }
        // Unchanged software is most uploads' case: replace the rows only
        // when the inventory changed.
        if change.is_some() || previous_hash.as_deref() != Some(inventory_hash) {
            let stored: Vec<(String, String)> =
                sqlx::query_as("SELECT name, version FROM device_software WHERE device_id = $1")
                    .bind(device_id)
                    .fetch_all(&mut *tx)
                    .await?;
            let delta = SoftwareDelta::between(&stored, &facts.software);
            if !delta.is_empty() {
                write_software_delta(&mut tx, device_id, &delta).await?;
            }
        }
        sqlx::query(
            "UPDATE devices SET last_seen = $1, inventory_hash = $2, os_name = $3, \
             os_version = $4, users = COALESCE($5, users), \
             hostname = COALESCE($7, hostname) WHERE id = $6",
        )
        .bind(at)
        .bind(inventory_hash)
        .bind(facts.os_name.as_deref())
        .bind(facts.os_version.as_deref())
        .bind(facts.users.as_deref())
        .bind(device_id)
        .bind(facts.hostname.as_deref())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn record_checkin(&self, c: &Checkin<'_>) -> StoreResult<()> {
        // One statement (atomic on its own): a check-in is the hottest
        // write, and each round trip to the database costs more than the
        // work. A check reported twice in one batch keeps its last result;
        // ON CONFLICT cannot touch one row twice.
        let mut last: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
        for (i, (id, _, _)) in c.results.iter().enumerate() {
            last.insert(id, i);
        }
        let (mut ids, mut states, mut results) = (Vec::new(), Vec::new(), Vec::new());
        for (i, (id, state, result)) in c.results.iter().enumerate() {
            if last.get(id) == Some(&i) {
                ids.push(*id);
                states.push(*state);
                results.push(result.as_str());
            }
        }
        let (taken, samples): (Vec<i64>, Vec<Vec<u8>>) =
            super::metric_names::encode_samples(self, &c.samples)
                .await?
                .into_iter()
                .unzip();
        sqlx::query(
            "WITH d AS (UPDATE devices SET last_seen = $1, agent_version = COALESCE($2, agent_version), \
                 health = COALESCE($3, health) WHERE id = $4), \
             r AS (INSERT INTO check_results (device_id, check_id, state, result, updated_at) \
                 SELECT $4, c, s, j, $1 FROM UNNEST($5::text[], $6::text[], $7::text[]) AS t(c, s, j) \
                 ON CONFLICT (device_id, check_id) DO UPDATE SET state = excluded.state, \
                 result = excluded.result, updated_at = excluded.updated_at), \
             tr AS (INSERT INTO check_transitions (device_id, check_id, from_state, to_state, at) \
                 SELECT $4, u.c, cr.state, u.s, $1 FROM UNNEST($5::text[], $6::text[]) AS u(c, s) \
                 LEFT JOIN check_results cr ON cr.device_id = $4 AND cr.check_id = u.c \
                 WHERE cr.state IS DISTINCT FROM u.s), \
             m AS (INSERT INTO metric_raw (device_id, t, v) \
                 SELECT $4, ts, smp FROM UNNEST($8::bigint[], $9::bytea[]) AS u(ts, smp) \
                 ON CONFLICT (device_id, t) DO NOTHING), \
             gone AS (DELETE FROM check_results WHERE device_id = $4 AND $10::text[] IS NOT NULL \
                 AND NOT (check_id = ANY($10::text[]))) \
             SELECT 1",
        )
        .bind(c.at)
        .bind(c.agent_version)
        .bind(c.health)
        .bind(c.device_id)
        .bind(&ids)
        .bind(&states)
        .bind(&results)
        .bind(&taken)
        .bind(&samples)
        .bind(c.running_checks.as_deref())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn roll_up_metrics(&self, before: i64) -> StoreResult<u64> {
        let devices: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM devices d WHERE EXISTS \
             (SELECT 1 FROM metric_raw r WHERE r.device_id = d.id AND r.t < $1)",
        )
        .bind(before)
        .fetch_all(&self.pool)
        .await?;
        let mut rolled = 0;
        for device in devices {
            let mut tx = self.pool.begin().await?;
            // One pass per device at a time across nodes: a second pass
            // waits, then finds the samples gone and adds nothing; without
            // the lock both could read the hour before either wrote it,
            // and the later write would drop the other's samples.
            sqlx::query("SELECT pg_advisory_xact_lock($1, $2)")
                .bind(METRIC_ROLLUP_LOCK)
                .bind((device % i64::from(i32::MAX)) as i32)
                .execute(&mut *tx)
                .await?;
            let raw: Vec<(i64, Vec<u8>)> = sqlx::query_as(
                "DELETE FROM metric_raw WHERE device_id = $1 AND t < $2 RETURNING t, v",
            )
            .bind(device)
            .bind(before)
            .fetch_all(&mut *tx)
            .await?;
            let hours: Vec<i64> = raw
                .iter()
                .map(|(t, _)| {
                    t.div_euclid(crate::metric_tiers::ROLLUP_SECS)
                        * crate::metric_tiers::ROLLUP_SECS
                })
                .collect();
            let existing: std::collections::HashMap<i64, Vec<u8>> = sqlx::query_as(
                "SELECT bucket, v FROM metric_rollup WHERE device_id = $1 AND bucket = ANY($2)",
            )
            .bind(device)
            .bind(&hours)
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .collect();
            let (buckets, values): (Vec<i64>, Vec<Vec<u8>>) =
                crate::metric_tiers::roll_up(&raw, &existing)
                    .into_iter()
                    .unzip();
            sqlx::query(
                "INSERT INTO metric_rollup (device_id, bucket, v) \
                 SELECT $1, b, v FROM UNNEST($2::bigint[], $3::bytea[]) AS u(b, v) \
                 ON CONFLICT (device_id, bucket) DO UPDATE SET v = excluded.v",
            )
            .bind(device)
            .bind(&buckets)
            .bind(&values)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            rolled += raw.len() as u64;
        }
        Ok(rolled)
    }

    async fn replace_legacy_metric_samples(
        &self,
        ids: &[i64],
        raw: &[(i64, i64, Vec<u8>)],
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        let (mut devices, mut times, mut values) = (Vec::new(), Vec::new(), Vec::new());
        for (d, t, v) in raw {
            devices.push(*d);
            times.push(*t);
            values.push(v.clone());
        }
        sqlx::query(
            "INSERT INTO metric_raw (device_id, t, v) \
             SELECT d, t, v FROM UNNEST($1::bigint[], $2::bigint[], $3::bytea[]) AS u(d, t, v) \
             ON CONFLICT (device_id, t) DO NOTHING",
        )
        .bind(&devices)
        .bind(&times)
        .bind(&values)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM metric_samples WHERE id = ANY($1)")
            .bind(ids)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn create_ticket(&self, t: &NewTicketRow<'_>) -> StoreResult<(i64, bool)> {
        let existing = |pool: &Self| {
            let pool = pool.pool.clone();
            async move {
                sqlx::query_as::<_, (i64, Option<String>)>(
                    "SELECT id, request_hash FROM tickets WHERE device_id = $1 AND idempotency_key = $2",
                )
                .bind(t.device_id)
                .bind(t.idempotency_key)
                .fetch_optional(&pool)
                .await
            }
        };
        if let Some(found) = existing(self).await? {
            return same_request(found, t.request_hash);
        }
        let mut tx = self.pool.begin().await?;
        let now = Utc::now();
        let inserted = sqlx::query_scalar::<_, i64>(
            "INSERT INTO tickets (device_id, idempotency_key, subject, description, category, urgency, status, \
             priority, created_at, updated_at, request_hash, ticket_type, requester_name, check_id, \
             resolve_after_secs) \
             VALUES ($1, $2, $3, $4, $5, $6, 'new', $7, $8, $8, $9, $10, $11, $12, $13) RETURNING id",
        )
        .bind(t.device_id)
        .bind(t.idempotency_key)
        .bind(t.subject)
        .bind(t.description)
        .bind(t.category)
        .bind(t.urgency)
        .bind(t.priority)
        .bind(now)
        .bind(t.request_hash)
        .bind(t.ticket_type)
        .bind(t.requester_name)
        .bind(t.check.map(|c| c.0))
        .bind(t.check.map(|c| c.1))
        .fetch_one(&mut *tx)
        .await;
        let id = match inserted {
            Ok(id) => id,
            // Another node took the same key a moment ago.
            Err(e) if is_unique_violation(&e) => {
                drop(tx);
                return same_request(
                    existing(self)
                        .await?
                        .ok_or(StoreError::Conflict("ticket".into()))?,
                    t.request_hash,
                );
            }
            Err(e) => return Err(e.into()),
        };
        for (name, content_type, size, key, diagnostics) in &t.attachments {
            sqlx::query(
                "INSERT INTO ticket_attachments (ticket_id, name, content_type, size_bytes, blob_key, diagnostics, \
                 created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(id)
            .bind(name)
            .bind(content_type)
            .bind(*size)
            .bind(key)
            .bind(*diagnostics)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        // The device's checks failing as it is filed (and the check that
        // opened it): a fix is verified against them.
        sqlx::query(
            "INSERT INTO ticket_watches (ticket_id, check_id) \
             SELECT $1, check_id FROM check_results WHERE device_id = $2 AND state IN ('warning', 'critical') \
             UNION SELECT $1, $3::text WHERE $3::text IS NOT NULL",
        )
        .bind(id)
        .bind(t.device_id)
        .bind(t.check.map(|c| c.0))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok((id, true))
    }

    async fn list_devices(&self, f: &DeviceFilter) -> StoreResult<Vec<DeviceSummary>> {
        // The package names first (a few thousand at most, from the
        // catalogue), then their devices from the index on
        // (name, version, device_id): with a subquery on names the planner
        // scanned all 80 million package rows of a 100,000-device fleet for
        // a package few devices have (see the software_search benchmark).
        let names = super::software_catalogue::filter_names(self, f).await?;
        if names.as_ref().is_some_and(Vec::is_empty) {
            return Ok(Vec::new());
        }
        let rows = sqlx::query(&format!(
            "SELECT {DEVICE_COLUMNS} FROM devices d \
             WHERE ($1::text IS NULL OR hostname ILIKE $1 ESCAPE '\\') \
             AND ($2::text IS NULL OR health = $2 OR ($2 = 'unknown' AND health IS NULL)) \
             AND ($3::text IS NULL OR users ILIKE $3 ESCAPE '\\') \
             AND ($4::text IS NULL OR os_name ILIKE $4 ESCAPE '\\' OR os_version ILIKE $4 ESCAPE '\\') \
             AND ($5::text[] IS NULL OR d.id IN (SELECT s.device_id FROM device_software s \
                  WHERE s.name = ANY($5) \
                  AND ($6::text IS NULL OR s.version = $6) \
                  AND ($11::text[] IS NULL OR s.version = ANY($11)))) \
             AND ($12::text IS NULL OR EXISTS (SELECT 1 FROM check_results c WHERE c.device_id = d.id \
                  AND c.check_id = $12 AND c.state IN ('warning', 'critical'))) \
             AND ($7::timestamptz IS NULL OR last_seen >= $7) \
             AND ($8::timestamptz IS NULL OR last_seen IS NULL OR last_seen < $8) \
             AND id > $9 ORDER BY id LIMIT $10"
        ))
        .bind(like_pattern(f.hostname.as_deref()))
        .bind(f.health.as_deref())
        .bind(like_pattern(f.user.as_deref()))
        .bind(like_pattern(f.os.as_deref()))
        .bind(names.as_deref())
        .bind(f.software_version.as_deref())
        .bind(f.seen_after)
        .bind(f.seen_before)
        .bind(f.after_id)
        .bind(i64::from(f.limit))
        .bind(f.software_versions.as_deref())
        .bind(f.failing_check.as_deref())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(device_summary).collect()
    }

    async fn software(
        &self,
        search: Option<&str>,
        after_name: Option<&str>,
        limit: u32,
    ) -> StoreResult<Vec<SoftwareEntry>> {
        let rows = sqlx::query(
            "WITH names AS (SELECT name, devices FROM software_names \
             WHERE ($1::text IS NULL OR name ILIKE $1 ESCAPE '\\') AND ($2::text IS NULL OR name > $2) \
             ORDER BY name LIMIT $3) \
             SELECT c.name, c.version, c.devices, names.devices AS total FROM software_catalogue c \
             JOIN names ON names.name = c.name ORDER BY c.name, c.version",
        )
        .bind(like_pattern(search))
        .bind(after_name)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        let mut out: Vec<SoftwareEntry> = Vec::new();
        for r in &rows {
            let name: String = r.try_get("name")?;
            let version: String = r.try_get("version")?;
            let devices: i64 = r.try_get("devices")?;
            match out.last_mut() {
                Some(e) if e.name == name => e.versions.push((version, devices)),
                _ => out.push(SoftwareEntry {
                    name,
                    devices: r.try_get("total")?,
                    versions: vec![(version, devices)],
                }),
            }
        }
        Ok(out)
    }

    async fn publish_event(
        &self,
        kind: &str,
        ticket_id: Option<i64>,
        actor: Option<&str>,
    ) -> StoreResult<i64> {
        self.insert_event(kind, ticket_id, None, None, actor).await
    }

    async fn publish_detail_event(&self, kind: &str, detail: &str) -> StoreResult<i64> {
        self.insert_event(kind, None, None, Some(detail), None)
            .await
    }

    async fn publish_device_event(
        &self,
        kind: &str,
        device_id: i64,
        detail: &str,
    ) -> StoreResult<i64> {
        self.insert_event(kind, None, Some(device_id), Some(detail), None)
            .await
    }

    async fn listen_events(&self, wake: std::sync::Arc<tokio::sync::Notify>) -> StoreResult<()> {
        let mut listener = sqlx::postgres::PgListener::connect_with(&self.pool).await?;
        listener.listen("deskside_events").await?;
        loop {
            listener.recv().await?;
            wake.notify_waiters();
        }
    }

    async fn patch_ticket(
        &self,
        id: i64,
        change: &TicketChange,
        expected_version: Option<i64>,
        by_user: i64,
    ) -> StoreResult<PatchOutcome> {
        let mut tx = self.pool.begin().await?;
        let Some(row) = sqlx::query(&format!(
            "SELECT {TICKET_COLUMNS}, {WORK_COLUMNS} FROM tickets WHERE id = $1 FOR UPDATE"
        ))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        else {
            return Ok(PatchOutcome::NotFound);
        };
        let current = ticket_work(&row)?;
        let (after, detail) = match workflow::plan(&current, change, expected_version) {
            Plan::Stale => return Ok(PatchOutcome::Stale(Box::new(current))),
            Plan::Refused(e) => return Ok(PatchOutcome::Refused(e)),
            Plan::Unchanged => return Ok(PatchOutcome::Done(Box::new(current))),
            Plan::Write { after, detail } => (after, detail),
        };
        let now = Utc::now();
        let w = &after;
        sqlx::query(
            "UPDATE tickets SET status = $1, urgency = $2, impact = $3, priority = $4, tier = $5, \
             assignee_id = $6, category = $7, updated_at = $8, version = $9, ticket_type = $11, team_id = $12, \
             requester_name = $13, requester_email = $14, problem_id = $15 WHERE id = $10",
        )
        .bind(&w.row.status)
        .bind(&w.row.urgency)
        .bind(&w.impact)
        .bind(i32::try_from(w.row.priority).unwrap_or(3))
        .bind(i32::try_from(w.tier).unwrap_or(1))
        .bind(w.assignee_id)
        .bind(&w.row.category)
        .bind(now)
        .bind(w.version)
        .bind(w.row.id)
        .bind(&w.row.ticket_type)
        .bind(w.team_id)
        .bind(&w.requester_name)
        .bind(&w.requester_email)
        .bind(w.problem_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query("INSERT INTO ticket_audit (ticket_id, user_id, action, detail, at) VALUES ($1, $2, 'update', $3, $4)")
            .bind(w.row.id)
            .bind(by_user)
            .bind(&detail)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        let mut after = after;
        after.row.updated_at = now;
        Ok(PatchOutcome::Done(after))
    }

    async fn add_comment(
        &self,
        ticket_id: i64,
        user_id: Option<i64>,
        body: &str,
        internal: bool,
    ) -> StoreResult<i64> {
        let now = Utc::now();
        let mut tx = self.pool.begin().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO ticket_comments (ticket_id, user_id, body, internal, created_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(ticket_id)
        .bind(user_id)
        .bind(body)
        .bind(internal)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        // updated_at tells devices something changed for them; an internal
        // note changes nothing they can see.
        if !internal {
            sqlx::query("UPDATE tickets SET updated_at = $1 WHERE id = $2")
                .bind(now)
                .bind(ticket_id)
                .execute(&mut *tx)
                .await?;
        }
        if let Some(user) = user_id {
            let action = if internal { "internal_note" } else { "comment" };
            sqlx::query("INSERT INTO ticket_audit (ticket_id, user_id, action, detail, at) VALUES ($1, $2, $3, $4, $5)")
                .bind(ticket_id)
                .bind(user)
                .bind(action)
                .bind(format!("{{\"comment_id\":{id}}}"))
                .bind(now)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(id)
    }

    async fn add_device_comment(
        &self,
        ticket_id: i64,
        body: &str,
        idempotency_key: &str,
    ) -> StoreResult<(i64, bool)> {
        let existing = || async {
            sqlx::query_as::<_, (i64, String)>(
                "SELECT id, body FROM ticket_comments WHERE ticket_id = $1 AND idempotency_key = $2",
            )
            .bind(ticket_id)
            .bind(idempotency_key)
            .fetch_optional(&self.pool)
            .await
        };
        if let Some((id, stored)) = existing().await? {
            return same_comment(id, &stored, body);
        }
        let now = Utc::now();
        let mut tx = self.pool.begin().await?;
        let inserted = sqlx::query_scalar::<_, i64>(
            "INSERT INTO ticket_comments (ticket_id, user_id, body, internal, created_at, idempotency_key) \
             VALUES ($1, NULL, $2, FALSE, $3, $4) RETURNING id",
        )
        .bind(ticket_id)
        .bind(body)
        .bind(now)
        .bind(idempotency_key)
        .fetch_one(&mut *tx)
        .await;
        let id = match inserted {
            Ok(id) => id,
            // Another node stored the same delivery a moment ago.
            Err(e) if is_unique_violation(&e) => {
                drop(tx);
                return match existing().await? {
                    Some((id, stored)) => same_comment(id, &stored, body),
                    None => Err(StoreError::Database(e)),
                };
            }
            Err(e) => return Err(e.into()),
        };
        sqlx::query("UPDATE tickets SET updated_at = $1 WHERE id = $2")
            .bind(now)
            .bind(ticket_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok((id, true))
    }

    async fn public_comments_of(&self, ticket_ids: &[i64]) -> StoreResult<Vec<(i64, CommentRow)>> {
        if ticket_ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows = sqlx::query(
            "SELECT ticket_id, id, user_id, body, internal, created_at, note FROM ticket_comments \
             WHERE ticket_id = ANY($1) AND NOT internal ORDER BY ticket_id, id",
        )
        .bind(ticket_ids)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("ticket_id")?, CommentRow::from_row(r)?)))
            .collect()
    }

    async fn device_tickets_changed(
        &self,
        device_id: i64,
        since: Option<DateTime<Utc>>,
        limit: u32,
    ) -> StoreResult<Vec<TicketRow>> {
        let rows = sqlx::query(&format!(
            "SELECT {TICKET_COLUMNS} FROM tickets WHERE device_id = $1 AND ($2::timestamptz IS NULL OR updated_at > $2) \
             ORDER BY updated_at, id LIMIT $3"
        ))
        .bind(device_id)
        .bind(since)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(ticket_row).collect()
    }
}

/// Applies one device's software change: its rows, then the catalogue's
/// counts in sorted order (see [`SoftwareDelta::version_counts`]), then
/// the counts that reached zero.
async fn write_software_delta(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    device_id: i64,
    delta: &SoftwareDelta,
) -> StoreResult<()> {
    let split =
        |rows: &[(String, String)]| -> (Vec<String>, Vec<String>) { rows.iter().cloned().unzip() };
    let (names, versions) = split(&delta.removed);
    sqlx::query(
        "DELETE FROM device_software WHERE device_id = $1 \
         AND (name, version) IN (SELECT n, v FROM UNNEST($2::text[], $3::text[]) AS t(n, v))",
    )
    .bind(device_id)
    .bind(&names)
    .bind(&versions)
    .execute(&mut **tx)
    .await?;
    let (names, versions) = split(&delta.added);
    sqlx::query(
        "INSERT INTO device_software (device_id, name, version) \
         SELECT $1, n, v FROM UNNEST($2::text[], $3::text[]) AS t(n, v) ON CONFLICT DO NOTHING",
    )
    .bind(device_id)
    .bind(&names)
    .bind(&versions)
    .execute(&mut **tx)
    .await?;
    let counts = delta.version_counts();
    let names: Vec<&str> = counts.iter().map(|c| c.0).collect();
    let versions: Vec<&str> = counts.iter().map(|c| c.1).collect();
    let changes: Vec<i64> = counts.iter().map(|c| c.2).collect();
    sqlx::query(
        "INSERT INTO software_catalogue (name, version, devices) \
         SELECT n, v, d FROM UNNEST($1::text[], $2::text[], $3::bigint[]) AS t(n, v, d) ORDER BY n, v \
         ON CONFLICT (name, version) DO UPDATE SET devices = software_catalogue.devices + excluded.devices",
    )
    .bind(&names)
    .bind(&versions)
    .bind(&changes)
    .execute(&mut **tx)
    .await?;
    let counts = delta.name_counts();
    let names: Vec<&str> = counts.iter().map(|c| c.0).collect();
    let changes: Vec<i64> = counts.iter().map(|c| c.1).collect();
    sqlx::query(
        "INSERT INTO software_names (name, devices) \
         SELECT n, d FROM UNNEST($1::text[], $2::bigint[]) AS t(n, d) ORDER BY n \
         ON CONFLICT (name) DO UPDATE SET devices = software_names.devices + excluded.devices",
    )
    .bind(&names)
    .bind(&changes)
    .execute(&mut **tx)
    .await?;
    sqlx::query("DELETE FROM software_catalogue WHERE devices <= 0")
        .execute(&mut **tx)
        .await?;
    sqlx::query("DELETE FROM software_names WHERE devices <= 0")
        .execute(&mut **tx)
        .await?;
    Ok(())
}

impl PgStore {
    /// Records an event and tells every node's listener at commit.
    async fn insert_event(
        &self,
        kind: &str,
        ticket_id: Option<i64>,
        device_id: Option<i64>,
        detail: Option<&str>,
        actor: Option<&str>,
    ) -> StoreResult<i64> {
        // Sequence values are handed out before commit, so two writers
        // could commit ids out of order and a reader resuming after the
        // higher one would skip the other. The table lock (which readers
        // do not take) makes ids commit in order; events are few.
        let mut tx = self.pool.begin().await?;
        sqlx::query("LOCK TABLE events IN EXCLUSIVE MODE")
            .execute(&mut *tx)
            .await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO events (kind, ticket_id, device_id, detail, actor, at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(kind)
        .bind(ticket_id)
        .bind(device_id)
        .bind(detail)
        .bind(actor)
        .bind(Utc::now())
        .fetch_one(&mut *tx)
        .await?;
        // Delivered to every node's listener at commit.
        sqlx::query("SELECT pg_notify('deskside_events', $1)")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(id)
    }
}

impl ServiceStore for PgStore {
    super::service::service_methods!();
}

impl PgStore {
    /// Durations of tickets whose `at` lies in the period, per group,
    /// with their percentiles computed by the database.
    async fn kpi_durations(
        &self,
        g: &str,
        at: &str,
        secs: &str,
        cal: &str,
        q: &KpiSpan,
    ) -> StoreResult<Vec<(Option<String>, Durations)>> {
        type Row = (Option<String>, i64, Option<Vec<f64>>, Option<Vec<f64>>);
        // Percentiles sort every value of the period: in memory, not in
        // files (the default 4 MB spills past a few hundred thousand).
        // Both of a kind come from one sort (an array of fractions): 15 %
        // less time than one sort each, measured on the benchmark.
        let mut tx = self.pool.begin().await?;
        sqlx::query("SET LOCAL work_mem = '128MB'")
            .execute(&mut *tx)
            .await?;
        let rows = sqlx::query_as::<_, Row>(&format!(
            "SELECT {g}, COUNT(*), \
             percentile_cont(ARRAY[0.5, 0.9]::float8[]) WITHIN GROUP (ORDER BY t.{secs}), \
             percentile_cont(ARRAY[0.5, 0.9]::float8[]) WITHIN GROUP (ORDER BY t.{cal}) \
             FROM tickets t WHERE t.{at} >= $1 AND t.{at} < $2 GROUP BY 1"
        ))
        .bind(super::kpis::ceil_secs(q.from))
        .bind(super::kpis::ceil_secs(q.to))
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        let pair = |v: Option<Vec<f64>>| match v.as_deref() {
            Some([median, p90]) => (Some(*median), Some(*p90)),
            _ => (None, None),
        };
        Ok(rows
            .into_iter()
            .map(|(k, count, working, calendar)| {
                let (median, p90) = pair(working);
                let (median_calendar, p90_calendar) = pair(calendar);
                (
                    k,
                    Durations {
                        count,
                        median,
                        p90,
                        median_calendar,
                        p90_calendar,
                    },
                )
            })
            .collect())
    }
}

impl KpiStore for PgStore {
    super::kpis::kpi_methods!();
}

impl super::kb::KbStore for PgStore {
    super::kb::kb_methods!();
}

impl super::webhooks::WebhookStore for PgStore {
    super::webhooks::webhook_methods!();
}

impl super::tray_reports::TrayReportStore for PgStore {
    super::tray_reports::tray_report_methods!();
}

impl super::check_tickets::CheckTicketStore for PgStore {
    super::check_tickets::check_ticket_methods!();
}

impl super::problem_candidates::ProblemCandidateStore for PgStore {
    super::problem_candidates::problem_candidate_methods!();
}
