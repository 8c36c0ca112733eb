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
}

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

    /// The case-insensitive LIKE.
    pub(crate) fn like(self) -> &'static str {
        match self {
            Self::Sqlite => "LIKE",
            Self::Postgres => "ILIKE",
        }
    }
}

/// The filter's `WHERE` clause. Parameters, bound by [`bind_filter`]:
/// `$1`–`$5` statuses, `$6` any status, `$7` priority, `$8` any assignee,
/// `$9` assignee, `$10` device, `$11` text pattern, `$12` tier,
/// `$13` category.
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
         AND ({cat} IS NULL OR t.category = {cat})",
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
    };
    format!(
        "SELECT t.id, t.subject, t.description, t.category, t.urgency, t.status, t.priority, \
         t.created_at, t.updated_at, t.device_id, t.impact, t.tier, t.assignee_id, t.version, \
         d.hostname AS device_name, u.email AS assignee_email, v.seen_at, \
         COALESCE((SELECT MAX(c.created_at) FROM ticket_comments c \
                   WHERE c.ticket_id = t.id AND c.user_id IS NULL), t.created_at) AS employee_at \
         FROM tickets t \
         LEFT JOIN devices d ON d.id = t.device_id \
         LEFT JOIN users u ON u.id = t.assignee_id \
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
