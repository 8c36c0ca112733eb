//! Tray reports and the published knowledge base as devices get it: what
//! a report showed and how it ended (solved by an article, filed as a
//! ticket), the figures deflection is computed from, and a cheap stamp
//! that changes whenever a published article does. The SQL is the same
//! for both backends ([`tray_report_methods`]); [`super::Store`] requires
//! the trait.

use std::future::Future;

use chrono::{DateTime, Utc};

use super::StoreResult;

/// A report as the device sent it (`shown` as JSON).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportRecord<'a> {
    /// The device's id for it.
    pub id: &'a str,
    /// The device.
    pub device_id: i64,
    /// When it began.
    pub started_at: DateTime<Utc>,
    /// Article ids, JSON.
    pub shown: &'a str,
    /// The article that solved it.
    pub solved_by: Option<i64>,
    /// The ticket it became.
    pub ticket_id: Option<i64>,
    /// Now.
    pub now: DateTime<Utc>,
}

/// One report's outcome, for the figures.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ReportOutcomeRow {
    /// Article ids shown, JSON.
    pub shown: String,
    /// The article that solved it.
    pub solved_by: Option<i64>,
    /// The ticket it became.
    pub ticket_id: Option<i64>,
}

/// What changes whenever a published article changes, appears or goes:
/// (count, sum of versions, newest change).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct KbStamp {
    /// Published articles.
    pub count: i64,
    /// Their versions added up.
    pub versions: i64,
    /// Their newest change, as the database writes it.
    pub newest: Option<String>,
}

/// Storage of tray reports (see the module docs).
pub trait TrayReportStore {
    /// Records a report or a later stage of it: the shown list is
    /// replaced when one comes, the solving article and the ticket are
    /// kept once known. False when the id is another device's.
    fn record_report(&self, r: &ReportRecord<'_>)
    -> impl Future<Output = StoreResult<bool>> + Send;
    /// The report a ticket ended: when it began and the articles shown
    /// (JSON).
    fn ticket_report(
        &self,
        ticket_id: i64,
    ) -> impl Future<Output = StoreResult<Option<(DateTime<Utc>, String)>>> + Send;
    /// Outcomes of the reports begun in [from, to).
    fn report_outcomes(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<Vec<ReportOutcomeRow>>> + Send;
    /// The published knowledge base's stamp.
    fn kb_stamp(&self) -> impl Future<Output = StoreResult<KbStamp>> + Send;
    /// Whether report `id` is recorded, and how many reports `device_id`
    /// recorded or updated since `since`.
    fn report_load(
        &self,
        id: &str,
        device_id: i64,
        since: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<(bool, i64)>> + Send;
}

/// The [`TrayReportStore`] methods, the same SQL for both backends.
macro_rules! tray_report_methods {
    () => {
        async fn record_report(&self, r: &super::tray_reports::ReportRecord<'_>) -> StoreResult<bool> {
            // Another device's id is left alone (the WHERE of the update).
            let done = sqlx::query(
                "INSERT INTO tray_reports (id, device_id, started_at, shown, solved_by, ticket_id, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) \
                 ON CONFLICT (id) DO UPDATE SET \
                   shown = CASE WHEN excluded.shown = '[]' THEN tray_reports.shown ELSE excluded.shown END, \
                   solved_by = COALESCE(tray_reports.solved_by, excluded.solved_by), \
                   ticket_id = COALESCE(tray_reports.ticket_id, excluded.ticket_id), \
                   updated_at = excluded.updated_at \
                 WHERE tray_reports.device_id = excluded.device_id",
            )
            .bind(r.id)
            .bind(r.device_id)
            .bind(r.started_at)
            .bind(r.shown)
            .bind(r.solved_by)
            .bind(r.ticket_id)
            .bind(r.now)
            .execute(&self.pool)
            .await?;
            Ok(done.rows_affected() > 0)
        }

        async fn ticket_report(&self, ticket_id: i64) -> StoreResult<Option<(DateTime<Utc>, String)>> {
            Ok(sqlx::query_as::<_, (DateTime<Utc>, String)>(
                "SELECT started_at, shown FROM tray_reports WHERE ticket_id = $1 ORDER BY started_at LIMIT 1",
            )
            .bind(ticket_id)
            .fetch_optional(&self.pool)
            .await?)
        }

        async fn report_outcomes(
            &self,
            from: DateTime<Utc>,
            to: DateTime<Utc>,
        ) -> StoreResult<Vec<super::tray_reports::ReportOutcomeRow>> {
            Ok(sqlx::query_as::<_, super::tray_reports::ReportOutcomeRow>(
                "SELECT shown, solved_by, ticket_id FROM tray_reports WHERE started_at >= $1 AND started_at < $2",
            )
            .bind(from)
            .bind(to)
            .fetch_all(&self.pool)
            .await?)
        }

        async fn kb_stamp(&self) -> StoreResult<super::tray_reports::KbStamp> {
            Ok(sqlx::query_as::<_, super::tray_reports::KbStamp>(
                "SELECT COUNT(*) AS count, CAST(COALESCE(SUM(version), 0) AS BIGINT) AS versions, \
                 CAST(MAX(updated_at) AS TEXT) AS newest FROM kb_articles WHERE state = 'published'",
            )
            .fetch_one(&self.pool)
            .await?)
        }

        async fn report_load(&self, id: &str, device_id: i64, since: DateTime<Utc>) -> StoreResult<(bool, i64)> {
            Ok(sqlx::query_as::<_, (bool, i64)>(
                "SELECT EXISTS (SELECT 1 FROM tray_reports WHERE id = $1), \
                 (SELECT COUNT(*) FROM tray_reports WHERE device_id = $2 AND updated_at >= $3)",
            )
            .bind(id)
            .bind(device_id)
            .bind(since)
            .fetch_one(&self.pool)
            .await?)
        }
    };
}
pub(crate) use tray_report_methods;
