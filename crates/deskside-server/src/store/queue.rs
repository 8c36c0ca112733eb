//! The technician queue's query, written once for both dialects: filters
//! that use the indexes (several statuses as an `IN` list, not a string
//! match), keyset paging for each sort order (stays fast at any depth),
//! and what a queue row shows beside the ticket: the device, the
//! assignee, when the employee last wrote and whether the viewer has seen
//! it since.

use chrono::{DateTime, Utc};

use super::TicketWork;

/// Statuses a filter may name at once (every status there is).
pub const MAX_STATUSES: usize = 5;

/// The queue's sort orders.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TicketSort {
    /// Newest first.
    #[default]
    Newest,
    /// Oldest first.
    Oldest,
    /// Most urgent priority (1) first, newest first within one.
    Priority,
    /// The SLA due soonest first (overdue ones first of all), tickets
    /// without a due time last; oldest first within one.
    Due,
}

/// The sort key of a ticket without a due time: after every other.
pub const NO_DUE: i64 = i64::MAX;

/// Which tickets `list_tickets` returns, in which order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TicketFilter {
    /// Any of these statuses (none: every status).
    pub statuses: Vec<String>,
    /// Priority 1–5.
    pub priority: Option<i64>,
    /// Assigned to this user; `Some(None)`: unassigned.
    pub assignee: Option<Option<i64>>,
    /// Filed by this device.
    pub device_id: Option<i64>,
    /// Subject or description contains (case-insensitive).
    pub text: Option<String>,
    /// Support tier 1–3.
    pub tier: Option<i64>,
    /// Category.
    pub category: Option<String>,
    /// Any of these SLA states (`running`, `warning`, `paused`, `met`,
    /// `breached`, `none` for no SLA); none: every state.
    pub sla_states: Vec<String>,
    /// With this team; `Some(None)`: without one.
    pub team: Option<Option<i64>>,
    /// `incident` or `service_request`.
    pub ticket_type: Option<String>,
    /// The requester's e-mail (ignoring case).
    pub requester_email: Option<String>,
    /// Order.
    pub sort: TicketSort,
    /// Where the previous page ended: (sort key, id). The sort key is the
    /// priority for [`TicketSort::Priority`], unused otherwise.
    pub after: Option<(i64, i64)>,
    /// Page size.
    pub limit: u32,
    /// Whose "seen" marks the rows carry.
    pub viewer: i64,
}

/// A ticket as the queue lists it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct QueueRow {
    /// The ticket and its technician fields.
    #[sqlx(flatten)]
    pub work: TicketWork,
    /// The device's host name.
    pub device_name: Option<String>,
    /// The assignee's e-mail.
    pub assignee_email: Option<String>,
    /// When the employee last wrote: the ticket or their latest reply.
    pub employee_at: DateTime<Utc>,
    /// When the viewer last opened it.
    pub seen_at: Option<DateTime<Utc>>,
    /// The team's name.
    pub team_name: Option<String>,
}

impl QueueRow {
    /// The employee wrote since the viewer last looked (or they never did).
    pub fn unread(&self) -> bool {
        self.seen_at.is_none_or(|seen| self.employee_at > seen)
    }
}

/// The SQL dialect a query is written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// SQLite: untyped parameters, `LIKE` ignores ASCII case.
    Sqlite,
    /// PostgreSQL: a parameter compared with NULL needs its type.
    Postgres,
}

impl Dialect {
    fn param(self, n: usize, ty: &str) -> String {
        match self {
            Self::Sqlite => format!("${n}"),
            Self::Postgres => format!("${n}::{ty}"),
        }
    }

    /// The UTC day (`YYYY-MM-DD`) of a timestamp column: SQLite keeps
    /// RFC 3339 text in UTC, PostgreSQL a `timestamptz`.
    pub(crate) fn utc_day(self, column: &str) -> String {
        match self {
            Self::Sqlite => format!("substr({column}, 1, 10)"),
            Self::Postgres => format!("to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD')"),
        }
    }

    /// Locks the rows a `SELECT` read until the transaction ends
    /// (SQLite's write transactions hold the whole database already).
    pub(crate) fn for_update(self) -> &'static str {
        match self {
            Self::Sqlite => "",
            Self::Postgres => " FOR UPDATE",
        }
    }

    /// A knowledge-base text containing `term` (ignoring case), with
    /// parameter `n` and the value to bind to it. SQLite asks its FTS5
    /// trigram index (a term of three characters or more: trigrams need
    /// three) and falls back to `LIKE`; PostgreSQL's `ILIKE` uses the
    /// `pg_trgm` indexes.
    pub(crate) fn kb_term(self, n: usize, term: &str) -> (String, String) {
        if matches!(self, Self::Sqlite) && term.chars().count() >= 3 {
            return (
                format!("t.id IN (SELECT rowid FROM kb_fts WHERE kb_fts MATCH ${n})"),
                format!("\"{}\"", term.replace('"', "\"\"")),
            );
        }
        let like = self.like();
        (
            format!("(t.title {like} ${n} ESCAPE '\\' OR t.body {like} ${n} ESCAPE '\\')"),
            format!("%{}%", super::like_literal(term)),
        )
    }

    /// Skips rows another transaction locked, for a `SELECT` that hands
    /// out work (SQLite has one writer at a time: nothing to skip).
    pub(crate) fn skip_locked(self) -> &'static str {
        match self {
            Self::Sqlite => "",
            Self::Postgres => " FOR UPDATE SKIP LOCKED",
        }
    }

    /// A subquery of the ids in the JSON array bound as parameter `n`,
    /// for `id IN (…)`: one parameter however many ids.
    pub(crate) fn ids_in(self, n: usize) -> String {
        match self {
            Self::Sqlite => format!("(SELECT value FROM json_each(${n}))"),
            Self::Postgres => format!("(SELECT jsonb_array_elements_text(${n}::jsonb)::bigint)"),
        }
    }

    /// A grouping key for the UTC day of a timestamp column, cheap per
    /// row; `CAST(key AS TEXT)` of a group is its `YYYY-MM-DD`.
    pub(crate) fn utc_day_key(self, column: &str) -> String {
        match self {
            Self::Sqlite => format!("substr({column}, 1, 10)"),
            Self::Postgres => format!("({column} AT TIME ZONE 'UTC')::date"),
        }
    }

    /// [`Self::utc_day_key`] of a column of Unix seconds.
    pub(crate) fn utc_day_key_of_secs(self, column: &str) -> String {
        match self {
            Self::Sqlite => format!("date({column}, 'unixepoch')"),
            Self::Postgres => format!("(to_timestamp({column}) AT TIME ZONE 'UTC')::date"),
        }
    }

    /// The case-insensitive LIKE.
    pub(crate) fn like(self) -> &'static str {
        match self {
            Self::Sqlite => "LIKE",
            Self::Postgres => "ILIKE",
        }
    }
}

/// The filter's `WHERE` clause. Parameters, bound by [`bind_ticket_filter`]:
/// `$1`–`$5` statuses, `$6` any status, `$7` priority, `$8` any assignee,
/// `$9` assignee, `$10` device, `$11` text pattern, `$12` tier,
/// `$13` category; the page's `$14`–`$18` ([`page_sql`]); then `$19`–`$24`
/// SLA states (`none`: no state), `$25` any SLA state, `$26` any team,
/// `$27` team, `$28` type, `$29` requester e-mail.
pub(crate) fn where_clause(d: Dialect) -> String {
    let p = |n, ty| d.param(n, ty);
    let like = d.like();
    format!(
        "($6 OR t.status IN ($1, $2, $3, $4, $5)) \
         AND ({pri} IS NULL OR t.priority = {pri}) \
         AND ($8 OR t.assignee_id IS NOT DISTINCT FROM {asg}) \
         AND ({dev} IS NULL OR t.device_id = {dev}) \
         AND ({txt} IS NULL OR t.subject {like} {txt} ESCAPE '\\' OR t.description {like} {txt} ESCAPE '\\') \
         AND ({tier} IS NULL OR t.tier = {tier}) \
         AND ({cat} IS NULL OR t.category = {cat}) \
         AND ($25 OR COALESCE(t.sla_state, 'none') IN ($19, $20, $21, $22, $23, $24)) \
         AND ($26 OR t.team_id IS NOT DISTINCT FROM {team}) \
         AND ({ty} IS NULL OR t.ticket_type = {ty}) \
         AND ({req} IS NULL OR lower(t.requester_email) = lower({req}))",
        team = p(27, "bigint"),
        ty = p(28, "text"),
        req = p(29, "text"),
        pri = p(7, "bigint"),
        asg = p(9, "bigint"),
        dev = p(10, "bigint"),
        txt = p(11, "text"),
        tier = p(12, "bigint"),
        cat = p(13, "text"),
    )
}

/// The page query: [`where_clause`], then `$14` has a cursor, `$15` its
/// sort key, `$16` its id, `$17` the limit, `$18` the viewer.
pub(crate) fn page_sql(d: Dialect, sort: TicketSort) -> String {
    let (after, order) = match sort {
        TicketSort::Newest => ("t.id < $16", "t.id DESC"),
        TicketSort::Oldest => ("t.id > $16", "t.id ASC"),
        TicketSort::Priority => (
            "(t.priority > $15 OR (t.priority = $15 AND t.id < $16))",
            "t.priority ASC, t.id DESC",
        ),
        TicketSort::Due => (
            "(COALESCE(t.sla_due_at, 9223372036854775807) > $15 \
             OR (COALESCE(t.sla_due_at, 9223372036854775807) = $15 AND t.id > $16))",
            "COALESCE(t.sla_due_at, 9223372036854775807) ASC, t.id ASC",
        ),
    };
    format!(
        "SELECT t.id, t.subject, t.description, t.category, t.urgency, t.status, t.priority, \
         t.created_at, t.updated_at, t.ticket_type, t.rating_opens_at, t.device_id, t.impact, t.tier, t.assignee_id, t.version, \
         t.channel, t.requester_name, t.requester_email, t.team_id, t.created_by, t.problem_id, \
         t.sla_state, t.sla_due_at, \
         d.hostname AS device_name, u.email AS assignee_email, v.seen_at, tm.name AS team_name, \
         COALESCE((SELECT MAX(c.created_at) FROM ticket_comments c \
                   WHERE c.ticket_id = t.id AND c.user_id IS NULL AND c.note IS NULL), t.created_at) AS employee_at \
         FROM tickets t \
         LEFT JOIN devices d ON d.id = t.device_id \
         LEFT JOIN users u ON u.id = t.assignee_id \
         LEFT JOIN teams tm ON tm.id = t.team_id \
         LEFT JOIN ticket_views v ON v.ticket_id = t.id AND v.user_id = $18 \
         WHERE {} AND (NOT $14 OR {after}) ORDER BY {order} LIMIT $17",
        where_clause(d)
    )
}

/// The count query: [`where_clause`] alone.
pub(crate) fn count_sql(d: Dialect) -> String {
    format!("SELECT COUNT(*) FROM tickets t WHERE {}", where_clause(d))
}

/// Binds [`where_clause`]'s parameters to a query or a scalar query.
macro_rules! bind_ticket_filter {
    ($q:expr, $f:expr) => {{
        let f: &$crate::store::TicketFilter = $f;
        let mut q = $q;
        for i in 0..$crate::store::queue::MAX_STATUSES {
            q = q.bind(f.statuses.get(i).cloned());
        }
        let (any_assignee, assignee) = match f.assignee {
            None => (true, None),
            Some(a) => (false, a),
        };
        q.bind(f.statuses.is_empty())
            .bind(f.priority)
            .bind(any_assignee)
            .bind(assignee)
            .bind(f.device_id)
            .bind($crate::store::like_pattern(f.text.as_deref()))
            .bind(f.tier)
            .bind(f.category.clone())
    }};
}
pub(crate) use bind_ticket_filter;

/// Binds the filter's later parameters (`$19`–`$29`, see
/// [`where_clause`]); the page's (`$14`–`$18`) come between, so a count
/// binds placeholders for them ([`bind_page_gap`]).
macro_rules! bind_ticket_filter_rest {
    ($q:expr, $f:expr) => {{
        let f: &$crate::store::TicketFilter = $f;
        let mut q = $q;
        for i in 0..6 {
            q = q.bind(f.sla_states.get(i).cloned());
        }
        let (any_team, team) = match f.team {
            None => (true, None),
            Some(t) => (false, t),
        };
        q.bind(f.sla_states.is_empty())
            .bind(any_team)
            .bind(team)
            .bind(f.ticket_type.clone())
            .bind(f.requester_email.clone())
    }};
}
pub(crate) use bind_ticket_filter_rest;

/// Placeholders for `$14`–`$18` in a query that has no page (a count).
macro_rules! bind_page_gap {
    ($q:expr) => {{
        $q.bind(false)
            .bind(0_i64)
            .bind(0_i64)
            .bind(0_i64)
            .bind(0_i64)
    }};
}
pub(crate) use bind_page_gap;
