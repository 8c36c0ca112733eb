//! Problems the desk proposes (see [`crate::problem_candidates`]): the
//! facts they are found from (software changes, incident tickets, checks
//! turning failing, within a window) and the candidates themselves, one
//! per package and version, proposed once and decided once. The SQL is the
//! same for both backends ([`problem_candidate_methods`]); [`super::Store`]
//! requires the trait.

use std::future::Future;

use chrono::{DateTime, Utc};

use super::StoreResult;

/// A candidate as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CandidateRow {
    /// Id.
    pub id: i64,
    /// The package.
    pub name: String,
    /// Its version.
    pub version: String,
    /// `proposed`, `accepted` or `dismissed`.
    pub state: String,
    /// JSON: devices, incidents, other devices.
    pub evidence: String,
    /// The problem it became.
    pub problem_id: Option<i64>,
    /// First proposed.
    pub created_at: DateTime<Utc>,
    /// Evidence last changed.
    pub updated_at: DateTime<Utc>,
}

/// An incident ticket of a device: (ticket, device, created, subject).
pub type IncidentTicket = (i64, i64, DateTime<Utc>, String);

/// Storage of problem candidates (see the module docs).
pub trait ProblemCandidateStore {
    /// Inventory changes recorded in [from, to): (device, when, diff JSON),
    /// oldest first, at most `limit`.
    fn inventory_changes_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: u32,
    ) -> impl Future<Output = StoreResult<Vec<(i64, DateTime<Utc>, String)>>> + Send;
    /// Incident tickets of devices created in [from, to): (ticket, device,
    /// created, subject).
    fn device_incidents_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: u32,
    ) -> impl Future<Output = StoreResult<Vec<IncidentTicket>>> + Send;
    /// Checks that turned warning or critical (from a state that was
    /// neither) in [from, to): (device, check, when).
    fn failing_transitions_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: u32,
    ) -> impl Future<Output = StoreResult<Vec<(i64, String, DateTime<Utc>)>>> + Send;
    /// The devices that have `name` at `version` now: (id, host name).
    fn devices_with_software(
        &self,
        name: &str,
        version: &str,
        limit: u32,
    ) -> impl Future<Output = StoreResult<Vec<(i64, Option<String>)>>> + Send;
    /// Proposes a candidate, or refreshes the evidence of one still
    /// proposed; `Some(id)` only when it is new (announce it once).
    fn propose_candidate(
        &self,
        name: &str,
        version: &str,
        evidence: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<Option<i64>>> + Send;
    /// Candidates, newest first: all, or those in one state.
    fn candidates(
        &self,
        state: Option<&str>,
    ) -> impl Future<Output = StoreResult<Vec<CandidateRow>>> + Send;
    /// One candidate.
    fn candidate(&self, id: i64) -> impl Future<Output = StoreResult<Option<CandidateRow>>> + Send;
    /// Decides a proposed candidate (`accepted` or `dismissed`); false
    /// when it is not proposed (another technician decided first).
    fn decide_candidate(
        &self,
        id: i64,
        state: &str,
        by: i64,
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Records the problem an accepted candidate became.
    fn candidate_problem(
        &self,
        id: i64,
        problem_id: i64,
    ) -> impl Future<Output = StoreResult<()>> + Send;
}

/// The [`ProblemCandidateStore`] methods, the same SQL for both backends.
macro_rules! problem_candidate_methods {
    () => {
        async fn inventory_changes_between(
            &self,
            from: DateTime<Utc>,
            to: DateTime<Utc>,
            limit: u32,
        ) -> StoreResult<Vec<(i64, DateTime<Utc>, String)>> {
            Ok(sqlx::query_as::<_, (i64, DateTime<Utc>, String)>(
                "SELECT device_id, changed_at, diff FROM inventory_changes \
                 WHERE changed_at >= $1 AND changed_at < $2 ORDER BY changed_at LIMIT $3",
            )
            .bind(from)
            .bind(to)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?)
        }

        async fn device_incidents_between(
            &self,
            from: DateTime<Utc>,
            to: DateTime<Utc>,
            limit: u32,
        ) -> StoreResult<Vec<super::problem_candidates::IncidentTicket>> {
            Ok(sqlx::query_as::<_, super::problem_candidates::IncidentTicket>(
                "SELECT id, device_id, created_at, subject FROM tickets \
                 WHERE device_id IS NOT NULL AND ticket_type = 'incident' \
                 AND created_at >= $1 AND created_at < $2 ORDER BY created_at LIMIT $3",
            )
            .bind(from)
            .bind(to)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?)
        }

        async fn failing_transitions_between(
            &self,
            from: DateTime<Utc>,
            to: DateTime<Utc>,
            limit: u32,
        ) -> StoreResult<Vec<(i64, String, DateTime<Utc>)>> {
            Ok(sqlx::query_as::<_, (i64, String, DateTime<Utc>)>(
                "SELECT device_id, check_id, at FROM check_transitions \
                 WHERE at >= $1 AND at < $2 AND to_state IN ('warning', 'critical') \
                 AND (from_state IS NULL OR from_state NOT IN ('warning', 'critical')) \
                 ORDER BY at LIMIT $3",
            )
            .bind(from)
            .bind(to)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?)
        }

        async fn devices_with_software(
            &self,
            name: &str,
            version: &str,
            limit: u32,
        ) -> StoreResult<Vec<(i64, Option<String>)>> {
            Ok(sqlx::query_as::<_, (i64, Option<String>)>(
                "SELECT d.id, d.hostname FROM device_software s JOIN devices d ON d.id = s.device_id \
                 WHERE s.name = $1 AND s.version = $2 AND d.revoked_at IS NULL ORDER BY d.id LIMIT $3",
            )
            .bind(name)
            .bind(version)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?)
        }

        async fn propose_candidate(
            &self,
            name: &str,
            version: &str,
            evidence: &str,
            now: DateTime<Utc>,
        ) -> StoreResult<Option<i64>> {
            let inserted = sqlx::query_scalar::<_, i64>(
                "INSERT INTO problem_candidates (name, version, state, evidence, created_at, updated_at) \
                 VALUES ($1, $2, 'proposed', $3, $4, $4) ON CONFLICT (name, version) DO NOTHING RETURNING id",
            )
            .bind(name)
            .bind(version)
            .bind(evidence)
            .bind(now)
            .fetch_optional(&self.pool)
            .await?;
            if inserted.is_none() {
                sqlx::query(
                    "UPDATE problem_candidates SET evidence = $3, updated_at = $4 \
                     WHERE name = $1 AND version = $2 AND state = 'proposed' AND evidence <> $3",
                )
                .bind(name)
                .bind(version)
                .bind(evidence)
                .bind(now)
                .execute(&self.pool)
                .await?;
            }
            Ok(inserted)
        }

        async fn candidates(
            &self,
            state: Option<&str>,
        ) -> StoreResult<Vec<super::problem_candidates::CandidateRow>> {
            Ok(sqlx::query_as::<_, super::problem_candidates::CandidateRow>(
                "SELECT id, name, version, state, evidence, problem_id, created_at, updated_at \
                 FROM problem_candidates WHERE (CAST($1 AS TEXT) IS NULL OR state = $1) ORDER BY id DESC LIMIT 500",
            )
            .bind(state)
            .fetch_all(&self.pool)
            .await?)
        }

        async fn candidate(&self, id: i64) -> StoreResult<Option<super::problem_candidates::CandidateRow>> {
            Ok(sqlx::query_as::<_, super::problem_candidates::CandidateRow>(
                "SELECT id, name, version, state, evidence, problem_id, created_at, updated_at \
                 FROM problem_candidates WHERE id = $1",
            )
            .bind(id)
            .fetch_optional(&self.pool)
            .await?)
        }

        async fn decide_candidate(
            &self,
            id: i64,
            state: &str,
            by: i64,
            now: DateTime<Utc>,
        ) -> StoreResult<bool> {
            let done = sqlx::query(
                "UPDATE problem_candidates SET state = $2, decided_by = $3, decided_at = $4, updated_at = $4 \
                 WHERE id = $1 AND state = 'proposed'",
            )
            .bind(id)
            .bind(state)
            .bind(by)
            .bind(now)
            .execute(&self.pool)
            .await?;
            Ok(done.rows_affected() == 1)
        }

        async fn candidate_problem(&self, id: i64, problem_id: i64) -> StoreResult<()> {
            sqlx::query("UPDATE problem_candidates SET problem_id = $2 WHERE id = $1")
                .bind(id)
                .bind(problem_id)
                .execute(&self.pool)
                .await?;
            Ok(())
        }
    };
}
pub(crate) use problem_candidate_methods;
