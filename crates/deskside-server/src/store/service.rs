//! Service-management storage: teams and automatic assignment, SLA
//! calendars and policies, the inputs of SLA evaluation (a ticket's facts
//! and history) and its results (the cached state, and warnings and
//! breaches recorded once with their escalations). One trait, its SQL
//! written once for both backends ([`service_methods`]); [`super::Store`]
//! requires it.

use std::future::Future;

use chrono::{DateTime, Utc};

use super::StoreResult;

/// A team as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct TeamRow {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// `none`, `round_robin` or `least_open`.
    pub auto_assign: String,
}

/// A member of a team, with what assignment looks at.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct MemberRow {
    /// The team.
    pub team_id: i64,
    /// The user.
    pub user_id: i64,
    /// Their e-mail.
    pub email: String,
    /// Marked away.
    pub away: bool,
    /// Their new, open and pending tickets.
    pub open_tickets: i64,
}

/// An SLA calendar as stored (week and holidays as JSON).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CalendarRow {
    /// Id (0 for a new one).
    pub id: i64,
    /// Name.
    pub name: String,
    /// IANA zone.
    pub time_zone: String,
    /// `WeekHours` as JSON.
    pub week: String,
    /// Local dates as a JSON array.
    pub holidays: String,
}

/// An SLA policy as stored (targets in seconds, the rest as JSON).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PolicyRow {
    /// Id (0 for a new one).
    pub id: i64,
    /// Name.
    pub name: String,
    /// Order, from 1.
    pub position: i64,
    /// `SlaConditions` as JSON.
    pub conditions: String,
    /// Business hours.
    pub calendar_id: Option<i64>,
    /// First response target, seconds.
    pub first_response: Option<i64>,
    /// Resolution target, seconds.
    pub resolution: Option<i64>,
    /// Next response target, seconds.
    pub next_response: Option<i64>,
    /// Warning share, %.
    pub warn_percent: i64,
    /// `SlaPauses` as JSON.
    pub pauses: String,
    /// `Vec<SlaEscalation>` as JSON.
    pub escalations: String,
}

/// What SLA evaluation reads of a ticket.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SlaInput {
    /// The ticket.
    pub id: i64,
    /// Its type.
    pub ticket_type: String,
    /// Its priority.
    pub priority: i64,
    /// Its category.
    pub category: String,
    /// Its team.
    pub team_id: Option<i64>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// The change count evaluated ([`SlaRecord::seq`]).
    pub seq: i64,
    /// Its statuses and since when, in order.
    pub statuses: Vec<(String, DateTime<Utc>)>,
    /// Its public replies in order: (by a technician, when).
    pub replies: Vec<(bool, DateTime<Utc>)>,
}

/// What an escalation does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EscalationAction {
    /// Raise the tier by one (up to 3).
    RaiseTier,
    /// Raise the priority by one step (up to 1).
    RaisePriority,
    /// Move to this team (the assignee is cleared).
    MoveToTeam(i64),
}

/// A warning or breach to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSlaEvent {
    /// `first_response`, `resolution`, `next_response`.
    pub clock: &'static str,
    /// Next-response cycle, else 1.
    pub cycle: u32,
    /// `warning`, `breach` or `met`.
    pub kind: &'static str,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// What to do, once, when this is the node that records it.
    pub actions: Vec<EscalationAction>,
    /// Tell the assignee and the team.
    pub notify: bool,
}

/// What the KPIs aggregate of one ticket (Unix seconds; durations in
/// working time and in calendar time, pauses left out).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KpiFacts {
    /// The first public technician reply.
    pub first_response_at: Option<i64>,
    /// Working time to it.
    pub first_response_secs: Option<i64>,
    /// Calendar time to it.
    pub first_response_cal: Option<i64>,
    /// The last resolution, while the ticket is resolved or closed.
    pub resolved_at: Option<i64>,
    /// Working time to it.
    pub resolution_secs: Option<i64>,
    /// Calendar time to it.
    pub resolution_cal: Option<i64>,
    /// How often it was reopened.
    pub reopens: i64,
    /// Resolved at first contact.
    pub fcr: bool,
}

/// The result of evaluating one ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlaRecord {
    /// The ticket.
    pub ticket_id: i64,
    /// The change count the evaluation read: the ticket counts as
    /// evaluated only up to it.
    pub seq: i64,
    /// The policy that applied.
    pub policy_id: Option<i64>,
    /// The most urgent state.
    pub state: Option<&'static str>,
    /// The earliest due time of its running clocks (Unix seconds).
    pub due_at: Option<i64>,
    /// When to evaluate it again without a change (Unix seconds).
    pub next_at: Option<i64>,
    /// Warnings, breaches and met targets that happened.
    pub events: Vec<NewSlaEvent>,
    /// Its KPI facts.
    pub kpi: KpiFacts,
}

/// A recorded warning or breach.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SlaEventRow {
    /// Id.
    pub id: i64,
    /// The ticket.
    pub ticket_id: i64,
    /// Which clock.
    pub clock: String,
    /// Which cycle.
    pub cycle: i32,
    /// `warning` or `breach`.
    pub kind: String,
    /// When it happened.
    pub at: DateTime<Utc>,
}

/// A ticket a technician opens on someone's behalf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDeskTicket<'a> {
    /// The technician.
    pub created_by: i64,
    /// Their idempotency key: a retry finds the ticket.
    pub idempotency_key: &'a str,
    /// SHA-256 of what was sent: a key reused for another ticket is
    /// refused.
    pub request_hash: &'a str,
    /// Subject.
    pub subject: &'a str,
    /// Description.
    pub description: &'a str,
    /// Category.
    pub category: &'a str,
    /// Urgency.
    pub urgency: &'a str,
    /// Impact.
    pub impact: &'a str,
    /// Priority from impact and urgency.
    pub priority: i64,
    /// `incident` or `service_request`.
    pub ticket_type: &'a str,
    /// `phone`, `walk_in`, `email`, `chat`.
    pub channel: &'a str,
    /// Who asks.
    pub requester_name: &'a str,
    /// Their e-mail.
    pub requester_email: Option<&'a str>,
    /// The machine it is about.
    pub device_id: Option<i64>,
    /// The team.
    pub team_id: Option<i64>,
    /// The assignee.
    pub assignee_id: Option<i64>,
}

/// A problem record as stored, with its number of linked incidents.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ProblemRow {
    /// Id.
    pub id: i64,
    /// One line.
    pub subject: String,
    /// What is known.
    pub description: String,
    /// The root cause.
    pub root_cause: String,
    /// The workaround.
    pub workaround: String,
    /// A known error.
    pub known_error: bool,
    /// `open` or `resolved`.
    pub status: String,
    /// Who opened it.
    pub created_by: Option<i64>,
    /// When.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// When resolved.
    pub resolved_at: Option<DateTime<Utc>>,
    /// Linked incidents.
    pub incidents: i64,
}

/// A problem's fields to write; `None` keeps (or, creating, defaults) one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProblemFields<'a> {
    /// One line.
    pub subject: Option<&'a str>,
    /// What is known.
    pub description: Option<&'a str>,
    /// The root cause.
    pub root_cause: Option<&'a str>,
    /// The workaround.
    pub workaround: Option<&'a str>,
    /// A known error.
    pub known_error: Option<bool>,
}

/// Marks every open ticket for evaluation again: the calendars or
/// policies they were evaluated under changed.
pub(crate) const REEVALUATE_OPEN: &str =
    "UPDATE tickets SET sla_seq = sla_seq + 1 WHERE status IN ('new', 'open', 'pending')";

/// The id an insert or update returned; `None` when the update found no
/// row, `Conflict` (naming `what`) when a unique name is taken.
pub(crate) fn saved_id(
    written: Result<Option<i64>, sqlx::Error>,
    what: impl FnOnce() -> String,
) -> StoreResult<Option<i64>> {
    match written {
        Ok(id) => Ok(id),
        Err(e) if super::is_unique_violation(&e) => Err(super::StoreError::Conflict(what())),
        Err(e) => Err(e.into()),
    }
}

/// A problem's columns, with its incident count.
pub(crate) const PROBLEM_COLUMNS: &str = "p.id, p.subject, p.description, p.root_cause, p.workaround, p.known_error, \
     p.status, p.created_by, p.created_at, p.updated_at, p.resolved_at, \
     (SELECT COUNT(*) FROM tickets t WHERE t.problem_id = p.id) AS incidents";

/// Service-management storage (see the module docs).
pub trait ServiceStore {
    /// Creates (`id` 0, by `by`) or changes a problem; `None` when there
    /// is no such problem.
    fn save_problem(
        &self,
        id: i64,
        by: i64,
        f: &ProblemFields<'_>,
    ) -> impl Future<Output = StoreResult<Option<i64>>> + Send;
    /// Problems, newest first: all, or those in one status.
    fn problems(
        &self,
        status: Option<&str>,
    ) -> impl Future<Output = StoreResult<Vec<ProblemRow>>> + Send;
    /// One problem.
    fn problem(&self, id: i64) -> impl Future<Output = StoreResult<Option<ProblemRow>>> + Send;
    /// The incidents linked to a problem: (id, subject, status), by id.
    fn problem_tickets(
        &self,
        id: i64,
    ) -> impl Future<Output = StoreResult<Vec<(i64, String, String)>>> + Send;
    /// Marks an open problem resolved; false when it is not open (or
    /// does not exist).
    fn resolve_problem(&self, id: i64) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Creates a technician's ticket (audited as theirs), unless they
    /// created one with this idempotency key: then that one's id, and
    /// false. Safe across nodes.
    fn create_desk_ticket(
        &self,
        t: &NewDeskTicket<'_>,
    ) -> impl Future<Output = StoreResult<(i64, bool)>> + Send;
    /// Every team, by name.
    fn list_teams(&self) -> impl Future<Output = StoreResult<Vec<TeamRow>>> + Send;
    /// Every team membership, with each member's away mark and open
    /// tickets.
    fn team_members(&self) -> impl Future<Output = StoreResult<Vec<MemberRow>>> + Send;
    /// Creates (`id` 0) or replaces a team and its members; `Conflict`
    /// when the name is taken, `None` when there is no such team.
    fn save_team(
        &self,
        id: i64,
        name: &str,
        auto_assign: &str,
        members: &[i64],
    ) -> impl Future<Output = StoreResult<Option<i64>>> + Send;
    /// Deletes a team; its tickets keep no team. False when there is none.
    fn delete_team(&self, id: i64) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Marks a user away (or back); false when there is no such user.
    fn set_away(&self, user_id: i64, away: bool) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Assigns an unassigned ticket of a team with automatic assignment
    /// to the member whose turn it is (round robin) or who has the fewest
    /// open tickets, skipping members away or deactivated; audited as the
    /// desk's. Concurrent assignments of one team take turns. The
    /// assignee, when one was chosen.
    fn auto_assign(&self, ticket_id: i64) -> impl Future<Output = StoreResult<Option<i64>>> + Send;

    /// Every calendar, by name.
    fn list_sla_calendars(&self) -> impl Future<Output = StoreResult<Vec<CalendarRow>>> + Send;
    /// Creates (`id` 0) or replaces a calendar; `Conflict` when the name
    /// is taken, `None` when there is no such calendar. Open tickets are
    /// evaluated again.
    fn save_sla_calendar(
        &self,
        c: &CalendarRow,
    ) -> impl Future<Output = StoreResult<Option<i64>>> + Send;
    /// Deletes a calendar no policy uses: `Some(false)` when one does,
    /// `None` when there is no such calendar.
    fn delete_sla_calendar(
        &self,
        id: i64,
    ) -> impl Future<Output = StoreResult<Option<bool>>> + Send;
    /// Every policy, in order.
    fn list_sla_policies(&self) -> impl Future<Output = StoreResult<Vec<PolicyRow>>> + Send;
    /// Creates (`id` 0, placed last) or replaces a policy (keeping its
    /// place); `Conflict` when the name is taken, `None` when there is no
    /// such policy. Open tickets are evaluated again.
    fn save_sla_policy(
        &self,
        p: &PolicyRow,
    ) -> impl Future<Output = StoreResult<Option<i64>>> + Send;
    /// Deletes a policy; false when there is none.
    fn delete_sla_policy(&self, id: i64) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Puts the policies in this order; false unless `ids` names each
    /// policy exactly once.
    fn reorder_sla_policies(&self, ids: &[i64]) -> impl Future<Output = StoreResult<bool>> + Send;

    /// Tickets to evaluate: changed since their last evaluation, or due
    /// to change by themselves at or before `now` (Unix seconds).
    fn sla_work(&self, now: i64, limit: u32) -> impl Future<Output = StoreResult<Vec<i64>>> + Send;
    /// The evaluation inputs of these tickets.
    fn sla_inputs(&self, ids: &[i64]) -> impl Future<Output = StoreResult<Vec<SlaInput>>> + Send;
    /// Stores an evaluation in one transaction: each warning or breach
    /// not recorded yet is recorded and its escalations applied (audited
    /// as the desk's); the cached state is written. Returns the events
    /// this call recorded: across nodes, each is recorded by exactly one.
    fn record_sla(
        &self,
        r: &SlaRecord,
    ) -> impl Future<Output = StoreResult<Vec<NewSlaEvent>>> + Send;
    /// A ticket's recorded warnings and breaches, in order.
    fn sla_events(
        &self,
        ticket_id: i64,
    ) -> impl Future<Output = StoreResult<Vec<SlaEventRow>>> + Send;
}

/// The [`ServiceStore`] methods, the same SQL for both backends.
macro_rules! service_methods {
    () => {
        async fn save_problem(&self, id: i64, by: i64, f: &ProblemFields<'_>) -> StoreResult<Option<i64>> {
            let now = Utc::now();
            let q = if id == 0 {
                sqlx::query_scalar::<_, i64>(
                    "INSERT INTO problems (subject, description, root_cause, workaround, known_error, status, \
                     created_by, created_at, updated_at) VALUES (COALESCE($1, ''), COALESCE($2, ''), COALESCE($3, ''), \
                     COALESCE($4, ''), COALESCE($5, FALSE), 'open', $6, $7, $7) RETURNING id",
                )
                .bind(f.subject)
                .bind(f.description)
                .bind(f.root_cause)
                .bind(f.workaround)
                .bind(f.known_error)
                .bind(by)
                .bind(now)
            } else {
                sqlx::query_scalar::<_, i64>(
                    "UPDATE problems SET subject = COALESCE($1, subject), description = COALESCE($2, description), \
                     root_cause = COALESCE($3, root_cause), workaround = COALESCE($4, workaround), \
                     known_error = COALESCE($5, known_error), updated_at = $6 WHERE id = $7 RETURNING id",
                )
                .bind(f.subject)
                .bind(f.description)
                .bind(f.root_cause)
                .bind(f.workaround)
                .bind(f.known_error)
                .bind(now)
                .bind(id)
            };
            Ok(q.fetch_optional(&self.pool).await?)
        }

        async fn problems(&self, status: Option<&str>) -> StoreResult<Vec<ProblemRow>> {
            let columns = super::service::PROBLEM_COLUMNS;
            Ok(match status {
                Some(st) => sqlx::query_as::<_, ProblemRow>(&format!(
                    "SELECT {columns} FROM problems p WHERE p.status = $1 ORDER BY p.id DESC"
                ))
                .bind(st)
                .fetch_all(&self.pool)
                .await?,
                None => sqlx::query_as::<_, ProblemRow>(&format!(
                    "SELECT {columns} FROM problems p ORDER BY p.id DESC"
                ))
                .fetch_all(&self.pool)
                .await?,
            })
        }

        async fn problem(&self, id: i64) -> StoreResult<Option<ProblemRow>> {
            Ok(sqlx::query_as::<_, ProblemRow>(&format!(
                "SELECT {} FROM problems p WHERE p.id = $1",
                super::service::PROBLEM_COLUMNS
            ))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?)
        }

        async fn problem_tickets(&self, id: i64) -> StoreResult<Vec<(i64, String, String)>> {
            Ok(sqlx::query_as(
                "SELECT id, subject, status FROM tickets WHERE problem_id = $1 ORDER BY id",
            )
            .bind(id)
            .fetch_all(&self.pool)
            .await?)
        }

        async fn resolve_problem(&self, id: i64) -> StoreResult<bool> {
            let now = Utc::now();
            let done = sqlx::query(
                "UPDATE problems SET status = 'resolved', resolved_at = $1, updated_at = $1 \
                 WHERE id = $2 AND status = 'open'",
            )
            .bind(now)
            .bind(id)
            .execute(&self.pool)
            .await?;
            Ok(done.rows_affected() == 1)
        }

        async fn create_desk_ticket(&self, t: &NewDeskTicket<'_>) -> StoreResult<(i64, bool)> {
            let existing = || async {
                sqlx::query_as::<_, (i64, Option<String>)>(
                    "SELECT id, request_hash FROM tickets WHERE created_by = $1 AND idempotency_key = $2",
                )
                .bind(t.created_by)
                .bind(t.idempotency_key)
                .fetch_optional(&self.pool)
                .await
            };
            if let Some(found) = existing().await? {
                return super::same_request(found, t.request_hash);
            }
            let now = Utc::now();
            let mut tx = self.write().await?;
            let inserted = sqlx::query_scalar::<_, i64>(
                "INSERT INTO tickets (device_id, idempotency_key, subject, description, category, urgency, impact, \
                 status, priority, created_at, updated_at, request_hash, ticket_type, channel, requester_name, \
                 requester_email, created_by, team_id, assignee_id) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, 'new', $8, $9, $9, $10, $11, $12, $13, $14, $15, $16, $17) RETURNING id",
            )
            .bind(t.device_id)
            .bind(t.idempotency_key)
            .bind(t.subject)
            .bind(t.description)
            .bind(t.category)
            .bind(t.urgency)
            .bind(t.impact)
            .bind(i32::try_from(t.priority).unwrap_or(3))
            .bind(now)
            .bind(t.request_hash)
            .bind(t.ticket_type)
            .bind(t.channel)
            .bind(t.requester_name)
            .bind(t.requester_email)
            .bind(t.created_by)
            .bind(t.team_id)
            .bind(t.assignee_id)
            .fetch_one(&mut *tx)
            .await;
            let id = match inserted {
                Ok(id) => id,
                // The same retry on another node a moment ago.
                Err(e) if is_unique_violation(&e) => {
                    drop(tx);
                    return match existing().await? {
                        Some(found) => super::same_request(found, t.request_hash),
                        None => Err(StoreError::Database(e)),
                    };
                }
                Err(e) => return Err(e.into()),
            };
            sqlx::query(
                "INSERT INTO ticket_audit (ticket_id, user_id, action, detail, at) VALUES ($1, $2, 'create', $3, $4)",
            )
            .bind(id)
            .bind(t.created_by)
            .bind(serde_json::json!({"channel": t.channel, "requester_name": t.requester_name}).to_string())
            .bind(now)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok((id, true))
        }

        async fn list_teams(&self) -> StoreResult<Vec<TeamRow>> {
            Ok(sqlx::query_as::<_, TeamRow>("SELECT id, name, auto_assign FROM teams ORDER BY lower(name)")
                .fetch_all(&self.pool)
                .await?)
        }

        async fn team_members(&self) -> StoreResult<Vec<MemberRow>> {
            Ok(sqlx::query_as::<_, MemberRow>(
                "SELECT m.team_id, m.user_id, u.email, u.away, \
                 (SELECT COUNT(*) FROM tickets t WHERE t.assignee_id = u.id \
                  AND t.status IN ('new', 'open', 'pending')) AS open_tickets \
                 FROM team_members m JOIN users u ON u.id = m.user_id ORDER BY m.team_id, lower(u.email)",
            )
            .fetch_all(&self.pool)
            .await?)
        }

        async fn save_team(
            &self,
            id: i64,
            name: &str,
            auto_assign: &str,
            members: &[i64],
        ) -> StoreResult<Option<i64>> {
            let mut tx = self.write().await?;
            let written = if id == 0 {
                sqlx::query_scalar::<_, i64>(
                    "INSERT INTO teams (name, auto_assign, created_at) VALUES ($1, $2, $3) RETURNING id",
                )
                .bind(name)
                .bind(auto_assign)
                .bind(Utc::now())
                .fetch_optional(&mut *tx)
                .await
            } else {
                sqlx::query_scalar::<_, i64>(
                    "UPDATE teams SET name = $1, auto_assign = $2 WHERE id = $3 RETURNING id",
                )
                .bind(name)
                .bind(auto_assign)
                .bind(id)
                .fetch_optional(&mut *tx)
                .await
            };
            let Some(id) = super::service::saved_id(written, || format!("team {name}"))? else {
                return Ok(None);
            };
            sqlx::query("DELETE FROM team_members WHERE team_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            for user in members {
                sqlx::query("INSERT INTO team_members (team_id, user_id) VALUES ($1, $2)")
                    .bind(id)
                    .bind(*user)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok(Some(id))
        }

        async fn delete_team(&self, id: i64) -> StoreResult<bool> {
            let mut tx = self.write().await?;
            sqlx::query("UPDATE tickets SET team_id = NULL WHERE team_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            let done = sqlx::query("DELETE FROM teams WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(done.rows_affected() == 1)
        }

        async fn set_away(&self, user_id: i64, away: bool) -> StoreResult<bool> {
            let done = sqlx::query("UPDATE users SET away = $1 WHERE id = $2")
                .bind(away)
                .bind(user_id)
                .execute(&self.pool)
                .await?;
            Ok(done.rows_affected() == 1)
        }

        async fn auto_assign(&self, ticket_id: i64) -> StoreResult<Option<i64>> {
            let lock = Self::DIALECT.for_update();
            let mut tx = self.write().await?;
            let Some((team, assignee)) = sqlx::query_as::<_, (Option<i64>, Option<i64>)>(&format!(
                "SELECT team_id, assignee_id FROM tickets WHERE id = $1{lock}"
            ))
            .bind(ticket_id)
            .fetch_optional(&mut *tx)
            .await?
            else {
                return Ok(None);
            };
            let (Some(team), None) = (team, assignee) else {
                return Ok(None);
            };
            // The team row is the turn: concurrent assignments wait here.
            let Some((rule, last)) = sqlx::query_as::<_, (String, Option<i64>)>(&format!(
                "SELECT auto_assign, last_assignee FROM teams WHERE id = $1{lock}"
            ))
            .bind(team)
            .fetch_optional(&mut *tx)
            .await?
            else {
                return Ok(None);
            };
            let members = sqlx::query_as::<_, (i64, i64)>(
                "SELECT u.id, (SELECT COUNT(*) FROM tickets t WHERE t.assignee_id = u.id \
                 AND t.status IN ('new', 'open', 'pending')) FROM team_members m JOIN users u ON u.id = m.user_id \
                 WHERE m.team_id = $1 AND u.deactivated_at IS NULL AND NOT u.away ORDER BY u.id",
            )
            .bind(team)
            .fetch_all(&mut *tx)
            .await?;
            let Some(chosen) = crate::assignment::choose(&rule, last, &members) else {
                return Ok(None);
            };
            let now = Utc::now();
            sqlx::query(
                "UPDATE tickets SET assignee_id = $1, version = version + 1, updated_at = $2 WHERE id = $3",
            )
            .bind(chosen)
            .bind(now)
            .bind(ticket_id)
            .execute(&mut *tx)
            .await?;
            sqlx::query("UPDATE teams SET last_assignee = $1 WHERE id = $2")
                .bind(chosen)
                .bind(team)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO ticket_audit (ticket_id, user_id, action, detail, at) VALUES ($1, NULL, 'auto_assign', $2, $3)",
            )
            .bind(ticket_id)
            .bind(serde_json::json!({"team_id": team, "rule": rule, "assignee_id": chosen}).to_string())
            .bind(now)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(Some(chosen))
        }

        async fn list_sla_calendars(&self) -> StoreResult<Vec<CalendarRow>> {
            Ok(sqlx::query_as::<_, CalendarRow>(
                "SELECT id, name, time_zone, week, holidays FROM sla_calendars ORDER BY lower(name)",
            )
            .fetch_all(&self.pool)
            .await?)
        }

        async fn save_sla_calendar(&self, c: &CalendarRow) -> StoreResult<Option<i64>> {
            let now = Utc::now();
            let mut tx = self.write().await?;
            let written = if c.id == 0 {
                sqlx::query_scalar::<_, i64>(
                    "INSERT INTO sla_calendars (name, time_zone, week, holidays, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
                )
                .bind(&c.name)
                .bind(&c.time_zone)
                .bind(&c.week)
                .bind(&c.holidays)
                .bind(now)
                .fetch_optional(&mut *tx)
                .await
            } else {
                sqlx::query_scalar::<_, i64>(
                    "UPDATE sla_calendars SET name = $1, time_zone = $2, week = $3, holidays = $4, updated_at = $5 \
                     WHERE id = $6 RETURNING id",
                )
                .bind(&c.name)
                .bind(&c.time_zone)
                .bind(&c.week)
                .bind(&c.holidays)
                .bind(now)
                .bind(c.id)
                .fetch_optional(&mut *tx)
                .await
            };
            let Some(id) = super::service::saved_id(written, || format!("calendar {}", c.name))? else {
                return Ok(None);
            };
            sqlx::query(super::service::REEVALUATE_OPEN)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(Some(id))
        }

        async fn delete_sla_calendar(&self, id: i64) -> StoreResult<Option<bool>> {
            let mut tx = self.write().await?;
            let used: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sla_policies WHERE calendar_id = $1")
                .bind(id)
                .fetch_one(&mut *tx)
                .await?;
            if used > 0 {
                let exists: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sla_calendars WHERE id = $1")
                    .bind(id)
                    .fetch_one(&mut *tx)
                    .await?;
                return Ok((exists > 0).then_some(false));
            }
            let done = sqlx::query("DELETE FROM sla_calendars WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok((done.rows_affected() == 1).then_some(true))
        }

        async fn list_sla_policies(&self) -> StoreResult<Vec<PolicyRow>> {
            Ok(sqlx::query_as::<_, PolicyRow>(
                "SELECT id, name, CAST(position AS BIGINT) AS position, conditions, calendar_id, first_response, \
                 resolution, next_response, CAST(warn_percent AS BIGINT) AS warn_percent, pauses, escalations \
                 FROM sla_policies ORDER BY position, id",
            )
            .fetch_all(&self.pool)
            .await?)
        }

        async fn save_sla_policy(&self, p: &PolicyRow) -> StoreResult<Option<i64>> {
            let now = Utc::now();
            let mut tx = self.write().await?;
            let written = if p.id == 0 {
                sqlx::query_scalar::<_, i64>(
                    "INSERT INTO sla_policies (name, position, conditions, calendar_id, first_response, resolution, \
                     next_response, warn_percent, pauses, escalations, created_at, updated_at) \
                     VALUES ($1, (SELECT COALESCE(MAX(position), 0) + 1 FROM sla_policies), $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) \
                     RETURNING id",
                )
                .bind(&p.name)
                .bind(&p.conditions)
                .bind(p.calendar_id)
                .bind(p.first_response)
                .bind(p.resolution)
                .bind(p.next_response)
                .bind(i32::try_from(p.warn_percent).unwrap_or(75))
                .bind(&p.pauses)
                .bind(&p.escalations)
                .bind(now)
                .fetch_optional(&mut *tx)
                .await
            } else {
                sqlx::query_scalar::<_, i64>(
                    "UPDATE sla_policies SET name = $1, conditions = $2, calendar_id = $3, first_response = $4, \
                     resolution = $5, next_response = $6, warn_percent = $7, pauses = $8, escalations = $9, \
                     updated_at = $10 WHERE id = $11 RETURNING id",
                )
                .bind(&p.name)
                .bind(&p.conditions)
                .bind(p.calendar_id)
                .bind(p.first_response)
                .bind(p.resolution)
                .bind(p.next_response)
                .bind(i32::try_from(p.warn_percent).unwrap_or(75))
                .bind(&p.pauses)
                .bind(&p.escalations)
                .bind(now)
                .bind(p.id)
                .fetch_optional(&mut *tx)
                .await
            };
            let Some(id) = super::service::saved_id(written, || format!("policy {}", p.name))? else {
                return Ok(None);
            };
            sqlx::query(super::service::REEVALUATE_OPEN)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(Some(id))
        }

        async fn delete_sla_policy(&self, id: i64) -> StoreResult<bool> {
            let mut tx = self.write().await?;
            let done = sqlx::query("DELETE FROM sla_policies WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            sqlx::query(super::service::REEVALUATE_OPEN)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(done.rows_affected() == 1)
        }

        async fn reorder_sla_policies(&self, ids: &[i64]) -> StoreResult<bool> {
            let mut tx = self.write().await?;
            let mut existing: Vec<i64> = sqlx::query_scalar(&format!(
                "SELECT id FROM sla_policies ORDER BY id{}",
                Self::DIALECT.for_update()
            ))
            .fetch_all(&mut *tx)
            .await?;
            let mut asked = ids.to_vec();
            asked.sort_unstable();
            existing.sort_unstable();
            if asked != existing {
                return Ok(false);
            }
            for (i, id) in ids.iter().enumerate() {
                sqlx::query("UPDATE sla_policies SET position = $1 WHERE id = $2")
                    .bind(i32::try_from(i + 1).unwrap_or(i32::MAX))
                    .bind(*id)
                    .execute(&mut *tx)
                    .await?;
            }
            sqlx::query(super::service::REEVALUATE_OPEN)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(true)
        }

        async fn sla_work(&self, now: i64, limit: u32) -> StoreResult<Vec<i64>> {
            Ok(sqlx::query_scalar(
                "SELECT id FROM tickets WHERE sla_seq <> sla_seen \
                 UNION SELECT id FROM tickets WHERE sla_next_at <= $1 ORDER BY id LIMIT $2",
            )
            .bind(now)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?)
        }

        async fn sla_inputs(&self, ids: &[i64]) -> StoreResult<Vec<SlaInput>> {
            if ids.is_empty() {
                return Ok(Vec::new());
            }
            let list = serde_json::to_string(ids).unwrap_or_else(|_| "[]".into());
            let within = Self::DIALECT.ids_in(1);
            let facts = sqlx::query_as::<_, (i64, String, i32, String, Option<i64>, DateTime<Utc>, i64)>(&format!(
                "SELECT id, ticket_type, priority, category, team_id, created_at, sla_seq FROM tickets \
                 WHERE id IN {within} ORDER BY id"
            ))
            .bind(&list)
            .fetch_all(&self.pool)
            .await?;
            let statuses = sqlx::query_as::<_, (i64, String, DateTime<Utc>)>(&format!(
                "SELECT ticket_id, status, at FROM ticket_status_log WHERE ticket_id IN {within} ORDER BY ticket_id, id"
            ))
            .bind(&list)
            .fetch_all(&self.pool)
            .await?;
            let replies = sqlx::query_as::<_, (i64, bool, DateTime<Utc>)>(&format!(
                "SELECT ticket_id, user_id IS NOT NULL, created_at FROM ticket_comments \
                 WHERE ticket_id IN {within} AND NOT internal AND note IS NULL ORDER BY ticket_id, id"
            ))
            .bind(&list)
            .fetch_all(&self.pool)
            .await?;
            Ok(super::service::gather(facts, statuses, replies))
        }

        async fn record_sla(&self, r: &SlaRecord) -> StoreResult<Vec<NewSlaEvent>> {
            let now = Utc::now();
            let mut tx = self.write().await?;
            let mut recorded = Vec::new();
            for e in &r.events {
                let id: Option<i64> = sqlx::query_scalar(
                    "INSERT INTO sla_events (ticket_id, clock, cycle, kind, at, policy_id, recorded_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (ticket_id, clock, cycle, kind) DO NOTHING RETURNING id",
                )
                .bind(r.ticket_id)
                .bind(e.clock)
                .bind(i32::try_from(e.cycle).unwrap_or(i32::MAX))
                .bind(e.kind)
                .bind(e.at)
                .bind(r.policy_id)
                .bind(now)
                .fetch_optional(&mut *tx)
                .await?;
                if id.is_none() {
                    continue; // recorded before, here or on another node
                }
                if e.kind == "breach" {
                    // Met once, then reopened past its target: breached,
                    // not met (a met clock stays met otherwise).
                    sqlx::query(
                        "DELETE FROM sla_events WHERE ticket_id = $1 AND clock = $2 AND cycle = $3 AND kind = 'met'",
                    )
                    .bind(r.ticket_id)
                    .bind(e.clock)
                    .bind(i32::try_from(e.cycle).unwrap_or(i32::MAX))
                    .execute(&mut *tx)
                    .await?;
                }
                for action in &e.actions {
                    let (q, detail) = match *action {
                        EscalationAction::RaiseTier => (
                            sqlx::query(
                                "UPDATE tickets SET tier = CASE WHEN tier < 3 THEN tier + 1 ELSE tier END, \
                                 version = version + 1, updated_at = $1 WHERE id = $2",
                            ),
                            serde_json::json!({"action": "raise_tier"}),
                        ),
                        EscalationAction::RaisePriority => (
                            sqlx::query(
                                "UPDATE tickets SET priority = CASE WHEN priority > 1 THEN priority - 1 ELSE priority END, \
                                 version = version + 1, updated_at = $1 WHERE id = $2",
                            ),
                            serde_json::json!({"action": "raise_priority"}),
                        ),
                        EscalationAction::MoveToTeam(team) => (
                            sqlx::query(
                                "UPDATE tickets SET team_id = $3, assignee_id = NULL, version = version + 1, \
                                 updated_at = $1 WHERE id = $2 AND EXISTS (SELECT 1 FROM teams WHERE id = $3)",
                            ),
                            serde_json::json!({"action": "move_to_team", "team_id": team}),
                        ),
                    };
                    let mut q = q.bind(now).bind(r.ticket_id);
                    if let EscalationAction::MoveToTeam(team) = *action {
                        q = q.bind(team);
                    }
                    if q.execute(&mut *tx).await?.rows_affected() == 1 {
                        let mut detail = detail;
                        detail["clock"] = e.clock.into();
                        detail["kind"] = e.kind.into();
                        sqlx::query(
                            "INSERT INTO ticket_audit (ticket_id, user_id, action, detail, at) \
                             VALUES ($1, NULL, 'sla_escalation', $2, $3)",
                        )
                        .bind(r.ticket_id)
                        .bind(detail.to_string())
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                    }
                }
                recorded.push(e.clone());
            }
            let k = &r.kpi;
            sqlx::query(
                "UPDATE tickets SET sla_policy_id = $1, sla_state = $2, sla_due_at = $3, sla_next_at = $4, \
                 sla_seen = $5, kpi_first_response_at = $7, kpi_first_response_secs = $8, \
                 kpi_first_response_cal = $9, kpi_resolved_at = $10, kpi_resolution_secs = $11, \
                 kpi_resolution_cal = $12, kpi_reopens = $13, kpi_fcr = $14 WHERE id = $6",
            )
            .bind(r.policy_id)
            .bind(r.state)
            .bind(r.due_at)
            .bind(r.next_at)
            .bind(r.seq)
            .bind(r.ticket_id)
            .bind(k.first_response_at)
            .bind(k.first_response_secs)
            .bind(k.first_response_cal)
            .bind(k.resolved_at)
            .bind(k.resolution_secs)
            .bind(k.resolution_cal)
            .bind(i32::try_from(k.reopens).unwrap_or(i32::MAX))
            .bind(k.fcr)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(recorded)
        }

        async fn sla_events(&self, ticket_id: i64) -> StoreResult<Vec<SlaEventRow>> {
            Ok(sqlx::query_as::<_, SlaEventRow>(
                "SELECT id, ticket_id, clock, cycle, kind, at FROM sla_events WHERE ticket_id = $1 ORDER BY at, id",
            )
            .bind(ticket_id)
            .fetch_all(&self.pool)
            .await?)
        }
    };
}
pub(crate) use service_methods;

/// Facts and histories, read in three queries, put together per ticket.
#[allow(clippy::type_complexity)]
pub(crate) fn gather(
    facts: Vec<(i64, String, i32, String, Option<i64>, DateTime<Utc>, i64)>,
    statuses: Vec<(i64, String, DateTime<Utc>)>,
    replies: Vec<(i64, bool, DateTime<Utc>)>,
) -> Vec<SlaInput> {
    let mut by_id: std::collections::BTreeMap<i64, SlaInput> = facts
        .into_iter()
        .map(
            |(id, ticket_type, priority, category, team_id, created_at, seq)| {
                (
                    id,
                    SlaInput {
                        id,
                        ticket_type,
                        priority: i64::from(priority),
                        category,
                        team_id,
                        created_at,
                        seq,
                        ..SlaInput::default()
                    },
                )
            },
        )
        .collect();
    for (id, status, at) in statuses {
        if let Some(t) = by_id.get_mut(&id) {
            t.statuses.push((status, at));
        }
    }
    for (id, technician, at) in replies {
        if let Some(t) = by_id.get_mut(&id) {
            t.replies.push((technician, at));
        }
    }
    by_id.into_values().collect()
}
