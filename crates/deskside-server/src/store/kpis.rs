//! The help desk's KPIs as aggregates in the database, over the facts SLA
//! evaluation keeps with each ticket (`kpi_*` columns) and over the
//! recorded SLA outcomes (`sla_events`): indexed range scans, one per
//! figure, run at once; totals are the groups' sums (each ticket is in one
//! group), percentiles of all tickets their own query. The formulas are in
//! docs/KPIS.md; [`crate::kpi`] turns these counts into the report.
//! Percentiles are the only dialect-specific part: PostgreSQL computes
//! them (`percentile_cont`), SQLite's values are sorted here with the
//! same interpolation ([`percentile`]).

use std::collections::BTreeMap;
use std::future::Future;

use chrono::{DateTime, Utc};

use super::StoreResult;

/// What the figures are split by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KpiGroup {
    /// The ticket's team.
    Team,
    /// Its assignee.
    Technician,
    /// Its category.
    Category,
    /// Its priority.
    Priority,
    /// Incident or service request.
    Type,
}

impl KpiGroup {
    /// Parses `team`, `technician`, `category`, `priority`, `type`.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "team" => Self::Team,
            "technician" => Self::Technician,
            "category" => Self::Category,
            "priority" => Self::Priority,
            "type" => Self::Type,
            _ => return None,
        })
    }

    /// The name it is asked by.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Team => "team",
            Self::Technician => "technician",
            Self::Category => "category",
            Self::Priority => "priority",
            Self::Type => "type",
        }
    }

    fn column(self) -> &'static str {
        match self {
            Self::Team => "t.team_id",
            Self::Technician => "t.assignee_id",
            Self::Category => "t.category",
            Self::Priority => "t.priority",
            Self::Type => "t.ticket_type",
        }
    }
}

/// The group key expression of a query.
pub(crate) fn group_expr(g: Option<KpiGroup>) -> String {
    match g {
        Some(g) => format!("CAST({} AS TEXT)", g.column()),
        None => "CAST(NULL AS TEXT)".to_owned(),
    }
}

/// A period bound for columns of whole Unix seconds: a fact at second
/// `s` happened within `s..s+1`, so it is before `t` when `s < ceil(t)`.
pub(crate) fn ceil_secs(t: DateTime<Utc>) -> i64 {
    t.timestamp() + i64::from(t.timestamp_subsec_nanos() > 0)
}

/// The period and the split of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KpiSpan {
    /// From (inclusive).
    pub from: DateTime<Utc>,
    /// To (exclusive).
    pub to: DateTime<Utc>,
    /// Now: the backlog is the one now, aged from now.
    pub now: DateTime<Utc>,
    /// The split.
    pub group: Option<KpiGroup>,
}

/// Durations of one kind: how many, and their percentiles (seconds).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Durations {
    /// How many tickets.
    pub count: i64,
    /// Median, working time.
    pub median: Option<f64>,
    /// 90th percentile, working time.
    pub p90: Option<f64>,
    /// Median, calendar time.
    pub median_calendar: Option<f64>,
    /// 90th percentile, calendar time.
    pub p90_calendar: Option<f64>,
}

/// The counts of one group.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GroupCounts {
    /// Created in the period.
    pub created: i64,
    /// Resolved in the period (last resolution).
    pub resolved: i64,
    /// Of those, resolved at first contact and, where the desk watches
    /// the fix on the device, held (the watch is over).
    pub first_contact: i64,
    /// Of those, reopened at some time.
    pub reopened: i64,
    /// Of those, resolved by the desk because the device showed the
    /// check that opened them ok.
    pub verified: i64,
    /// Of those, resolved with the fix still watched on the device.
    pub watching: i64,
    /// Open now, by age: < 1 d, 1–3 d, 3–10 d, 10–30 d, > 30 d.
    pub backlog: [i64; 5],
    /// Ratings given in the period.
    pub ratings: i64,
    /// Of those, 4 or 5.
    pub good: i64,
    /// First response times of tickets first answered in the period.
    pub first_response: Durations,
    /// Resolution times of tickets resolved in the period.
    pub resolution: Durations,
    /// Per clock: (met, breached) in the period.
    pub sla: BTreeMap<String, (i64, i64)>,
}

/// The figures of a report: per group, and for all tickets.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KpiCounts {
    /// Per group.
    pub groups: BTreeMap<Option<String>, GroupCounts>,
    /// All tickets.
    pub total: GroupCounts,
}

impl KpiCounts {
    /// The total of the groups' counts (every ticket is in one group);
    /// durations are not additive and come from their own query.
    pub(crate) fn summed(groups: BTreeMap<Option<String>, GroupCounts>) -> Self {
        let mut t = GroupCounts::default();
        for g in groups.values() {
            t.created += g.created;
            t.resolved += g.resolved;
            t.first_contact += g.first_contact;
            t.reopened += g.reopened;
            t.verified += g.verified;
            t.watching += g.watching;
            for (a, b) in t.backlog.iter_mut().zip(g.backlog) {
                *a += b;
            }
            t.ratings += g.ratings;
            t.good += g.good;
            for (clock, (met, breached)) in &g.sla {
                let e = t.sla.entry(clock.clone()).or_default();
                e.0 += met;
                e.1 += breached;
            }
        }
        Self { groups, total: t }
    }
}

/// The counts of one UTC day.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DayCounts {
    /// Created.
    pub created: i64,
    /// Resolved.
    pub resolved: i64,
    /// Clocks met.
    pub met: i64,
    /// Clocks breached.
    pub breached: i64,
    /// Ratings.
    pub ratings: i64,
    /// Ratings of 4 or 5.
    pub good: i64,
}

/// The `p` quantile of sorted values, interpolated linearly between the
/// two nearest ranks (PostgreSQL's `percentile_cont`).
pub fn percentile(sorted: &[i64], p: f64) -> Option<f64> {
    let last = sorted.len().checked_sub(1)?;
    let pos = p * last as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    let (a, b) = (sorted[lo] as f64, sorted[hi.min(last)] as f64);
    Some(a + (b - a) * (pos - lo as f64))
}

/// Percentiles of (group, working, calendar) rows, as SQLite returns them.
pub(crate) fn durations_of(
    rows: Vec<(Option<String>, i64, i64)>,
) -> BTreeMap<Option<String>, Durations> {
    let mut by: BTreeMap<Option<String>, (Vec<i64>, Vec<i64>)> = BTreeMap::new();
    for (k, w, c) in rows {
        let e = by.entry(k).or_default();
        e.0.push(w);
        e.1.push(c);
    }
    by.into_iter()
        .map(|(k, (mut w, mut c))| {
            w.sort_unstable();
            c.sort_unstable();
            (
                k,
                Durations {
                    count: w.len() as i64,
                    median: percentile(&w, 0.5),
                    p90: percentile(&w, 0.9),
                    median_calendar: percentile(&c, 0.5),
                    p90_calendar: percentile(&c, 0.9),
                },
            )
        })
        .collect()
}

/// What `/metrics` shows of the service desk now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceGauges {
    /// Open (new, open, pending) tickets per priority.
    pub open_by_priority: Vec<(i64, i64)>,
    /// Open tickets whose SLA is in warning: at risk.
    pub at_risk: i64,
    /// Open tickets already breached.
    pub breached_open: i64,
    /// Breaches ever recorded, per clock.
    pub breaches_by_clock: Vec<(String, i64)>,
}

/// The KPI aggregates (see the module docs).
pub trait KpiStore {
    /// The gauges `/metrics` exports.
    fn service_gauges(&self) -> impl Future<Output = StoreResult<ServiceGauges>> + Send;
    /// Every figure of the period, per group (tickets without the group's
    /// value are the `None` group; an unsplit report has that group only),
    /// and for all tickets.
    fn kpi_groups(&self, q: &KpiSpan) -> impl Future<Output = StoreResult<KpiCounts>> + Send;
    /// The period's counts per UTC day (`YYYY-MM-DD`), days with none
    /// left out.
    fn kpi_days(
        &self,
        q: &KpiSpan,
    ) -> impl Future<Output = StoreResult<BTreeMap<String, DayCounts>>> + Send;
}

/// The [`KpiStore`] methods, the same SQL for both backends; each backend
/// provides `kpi_durations` (percentiles) and `DIALECT`.
macro_rules! kpi_methods {
    () => {
        async fn service_gauges(&self) -> StoreResult<ServiceGauges> {
            let open_by_priority = sqlx::query_as::<_, (i32, i64)>(
                "SELECT priority, COUNT(*) FROM tickets WHERE status IN ('new', 'open', 'pending') \
                 GROUP BY priority ORDER BY priority",
            )
            .fetch_all(&self.pool)
            .await?
            .into_iter()
            .map(|(p, n)| (i64::from(p), n))
            .collect();
            let (at_risk, breached_open) = sqlx::query_as::<_, (i64, i64)>(
                "SELECT COALESCE(SUM(CASE WHEN sla_state = 'warning' THEN 1 ELSE 0 END), 0), \
                 COALESCE(SUM(CASE WHEN sla_state = 'breached' THEN 1 ELSE 0 END), 0) \
                 FROM tickets WHERE status IN ('new', 'open', 'pending')",
            )
            .fetch_one(&self.pool)
            .await?;
            let breaches_by_clock = sqlx::query_as::<_, (String, i64)>(
                "SELECT clock, COUNT(*) FROM sla_events WHERE kind = 'breach' GROUP BY clock ORDER BY clock",
            )
            .fetch_all(&self.pool)
            .await?;
            Ok(ServiceGauges {
                open_by_priority,
                at_risk,
                breached_open,
                breaches_by_clock,
            })
        }

        async fn kpi_groups(&self, q: &KpiSpan) -> StoreResult<KpiCounts> {
            let g = super::kpis::group_expr(q.group);
            let (from_s, to_s) = (super::kpis::ceil_secs(q.from), super::kpis::ceil_secs(q.to));
            let day = chrono::TimeDelta::days(1);
            // Independent range scans, run at once on the pool.
            let created_sql = format!(
                "SELECT {g}, COUNT(*) FROM tickets t WHERE t.created_at >= $1 AND t.created_at < $2 GROUP BY 1"
            );
            let created = sqlx::query_as::<_, (Option<String>, i64)>(&created_sql)
                .bind(q.from)
                .bind(q.to)
                .fetch_all(&self.pool);
            let resolved_sql = format!(
                "SELECT {g}, COUNT(*), \
                 SUM(CASE WHEN t.kpi_fcr AND (t.watch_until IS NULL OR t.watch_until <= $3) THEN 1 ELSE 0 END), \
                 SUM(CASE WHEN t.kpi_reopens > 0 THEN 1 ELSE 0 END), \
                 SUM(CASE WHEN t.verified_at IS NOT NULL THEN 1 ELSE 0 END), \
                 SUM(CASE WHEN t.status = 'resolved' AND t.watch_until > $3 THEN 1 ELSE 0 END) FROM tickets t \
                 WHERE t.kpi_resolved_at >= $1 AND t.kpi_resolved_at < $2 GROUP BY 1"
            );
            let resolved = sqlx::query_as::<_, (Option<String>, i64, i64, i64, i64, i64)>(&resolved_sql)
                .bind(from_s)
                .bind(to_s)
                .bind(q.now)
                .fetch_all(&self.pool);
            let backlog_sql = format!(
                "SELECT {g}, \
                 SUM(CASE WHEN t.created_at >= $1 THEN 1 ELSE 0 END), \
                 SUM(CASE WHEN t.created_at < $1 AND t.created_at >= $2 THEN 1 ELSE 0 END), \
                 SUM(CASE WHEN t.created_at < $2 AND t.created_at >= $3 THEN 1 ELSE 0 END), \
                 SUM(CASE WHEN t.created_at < $3 AND t.created_at >= $4 THEN 1 ELSE 0 END), \
                 SUM(CASE WHEN t.created_at < $4 THEN 1 ELSE 0 END) \
                 FROM tickets t WHERE t.status IN ('new', 'open', 'pending') GROUP BY 1"
            );
            let backlog = sqlx::query_as::<_, (Option<String>, i64, i64, i64, i64, i64)>(&backlog_sql)
                .bind(q.now - day)
                .bind(q.now - day * 3)
                .bind(q.now - day * 10)
                .bind(q.now - day * 30)
                .fetch_all(&self.pool);
            let ratings_sql = format!(
                "SELECT {g}, COUNT(*), SUM(CASE WHEN t.rating >= 4 THEN 1 ELSE 0 END) FROM tickets t \
                 WHERE t.rated_at >= $1 AND t.rated_at < $2 GROUP BY 1"
            );
            let ratings = sqlx::query_as::<_, (Option<String>, i64, i64)>(&ratings_sql)
                .bind(q.from)
                .bind(q.to)
                .fetch_all(&self.pool);
            // A breach removes the clock's earlier `met` (record_sla), so
            // each clock counts once. The tickets only when split.
            let sla_sql = if q.group.is_some() {
                format!(
                    "SELECT {g}, e.clock, SUM(CASE WHEN e.kind = 'met' THEN 1 ELSE 0 END), \
                     SUM(CASE WHEN e.kind = 'breach' THEN 1 ELSE 0 END) \
                     FROM sla_events e JOIN tickets t ON t.id = e.ticket_id \
                     WHERE e.kind IN ('met', 'breach') AND e.at >= $1 AND e.at < $2 GROUP BY 1, 2"
                )
            } else {
                "SELECT CAST(NULL AS TEXT), e.clock, SUM(CASE WHEN e.kind = 'met' THEN 1 ELSE 0 END), \
                 SUM(CASE WHEN e.kind = 'breach' THEN 1 ELSE 0 END) FROM sla_events e \
                 WHERE e.kind IN ('met', 'breach') AND e.at >= $1 AND e.at < $2 GROUP BY 1, 2"
                    .to_owned()
            };
            let sla = sqlx::query_as::<_, (Option<String>, String, i64, i64)>(&sla_sql)
                .bind(q.from)
                .bind(q.to)
                .fetch_all(&self.pool);
            let first = self.kpi_durations(&g, "kpi_first_response_at", "kpi_first_response_secs", "kpi_first_response_cal", q);
            let resolution = self.kpi_durations(&g, "kpi_resolved_at", "kpi_resolution_secs", "kpi_resolution_cal", q);
            let (created, resolved, backlog, ratings, sla, first, resolution) =
                tokio::try_join!(
                    async { created.await.map_err(StoreError::from) },
                    async { resolved.await.map_err(StoreError::from) },
                    async { backlog.await.map_err(StoreError::from) },
                    async { ratings.await.map_err(StoreError::from) },
                    async { sla.await.map_err(StoreError::from) },
                    first,
                    resolution,
                )?;
            let mut out: std::collections::BTreeMap<Option<String>, GroupCounts> = Default::default();
            for (k, n) in created {
                out.entry(k).or_default().created = n;
            }
            for (k, n, fcr, reopened, verified, watching) in resolved {
                let e = out.entry(k).or_default();
                (e.resolved, e.first_contact, e.reopened, e.verified, e.watching) =
                    (n, fcr, reopened, verified, watching);
            }
            for (k, a, b, c, d, e) in backlog {
                out.entry(k).or_default().backlog = [a, b, c, d, e];
            }
            for (k, n, good) in ratings {
                let e = out.entry(k).or_default();
                (e.ratings, e.good) = (n, good);
            }
            for (k, clock, met, breached) in sla {
                out.entry(k).or_default().sla.insert(clock, (met, breached));
            }
            for (k, d) in first {
                out.entry(k).or_default().first_response = d;
            }
            for (k, d) in resolution {
                out.entry(k).or_default().resolution = d;
            }
            let mut counts = KpiCounts::summed(out);
            if q.group.is_some() {
                // Percentiles of all tickets: their own two queries.
                let all = super::kpis::group_expr(None);
                let (first, resolution) = tokio::try_join!(
                    self.kpi_durations(&all, "kpi_first_response_at", "kpi_first_response_secs", "kpi_first_response_cal", q),
                    self.kpi_durations(&all, "kpi_resolved_at", "kpi_resolution_secs", "kpi_resolution_cal", q),
                )?;
                counts.total.first_response = first.into_iter().next().map(|x| x.1).unwrap_or_default();
                counts.total.resolution = resolution.into_iter().next().map(|x| x.1).unwrap_or_default();
            } else if let Some(only) = counts.groups.values().next() {
                counts.total.first_response = only.first_response;
                counts.total.resolution = only.resolution;
            }
            Ok(counts)
        }

        async fn kpi_days(
            &self,
            q: &KpiSpan,
        ) -> StoreResult<std::collections::BTreeMap<String, DayCounts>> {
            let d = Self::DIALECT;
            // Grouped on a day key, formatted per group, not per row.
            let created_sql = format!(
                "SELECT CAST(k AS TEXT), n FROM (SELECT {} AS k, COUNT(*) AS n FROM tickets t \
                 WHERE t.created_at >= $1 AND t.created_at < $2 GROUP BY 1) x",
                d.utc_day_key("t.created_at")
            );
            let created = sqlx::query_as::<_, (String, i64)>(&created_sql)
                .bind(q.from)
                .bind(q.to)
                .fetch_all(&self.pool);
            let resolved_sql = format!(
                "SELECT CAST(k AS TEXT), n FROM (SELECT {} AS k, COUNT(*) AS n FROM tickets t \
                 WHERE t.kpi_resolved_at >= $1 AND t.kpi_resolved_at < $2 GROUP BY 1) x",
                d.utc_day_key_of_secs("t.kpi_resolved_at")
            );
            let resolved = sqlx::query_as::<_, (String, i64)>(&resolved_sql)
                .bind(super::kpis::ceil_secs(q.from))
                .bind(super::kpis::ceil_secs(q.to))
                .fetch_all(&self.pool);
            let sla_sql = format!(
                "SELECT CAST(k AS TEXT), met, breached FROM (SELECT {} AS k, \
                 SUM(CASE WHEN e.kind = 'met' THEN 1 ELSE 0 END) AS met, \
                 SUM(CASE WHEN e.kind = 'breach' THEN 1 ELSE 0 END) AS breached \
                 FROM sla_events e WHERE e.kind IN ('met', 'breach') AND e.at >= $1 AND e.at < $2 GROUP BY 1) x",
                d.utc_day_key("e.at")
            );
            let sla = sqlx::query_as::<_, (String, i64, i64)>(&sla_sql)
                .bind(q.from)
                .bind(q.to)
                .fetch_all(&self.pool);
            let ratings_sql = format!(
                "SELECT CAST(k AS TEXT), n, good FROM (SELECT {} AS k, COUNT(*) AS n, \
                 SUM(CASE WHEN t.rating >= 4 THEN 1 ELSE 0 END) AS good FROM tickets t \
                 WHERE t.rated_at >= $1 AND t.rated_at < $2 GROUP BY 1) x",
                d.utc_day_key("t.rated_at")
            );
            let ratings = sqlx::query_as::<_, (String, i64, i64)>(&ratings_sql)
                .bind(q.from)
                .bind(q.to)
                .fetch_all(&self.pool);
            let (created, resolved, sla, ratings) = tokio::try_join!(created, resolved, sla, ratings)?;
            let mut out: std::collections::BTreeMap<String, DayCounts> = Default::default();
            for (day, n) in created {
                out.entry(day).or_default().created = n;
            }
            for (day, n) in resolved {
                out.entry(day).or_default().resolved = n;
            }
            for (day, met, breached) in sla {
                let e = out.entry(day).or_default();
                (e.met, e.breached) = (met, breached);
            }
            for (day, n, good) in ratings {
                let e = out.entry(day).or_default();
                (e.ratings, e.good) = (n, good);
            }
            Ok(out)
        }
    };
}
pub(crate) use kpi_methods;
