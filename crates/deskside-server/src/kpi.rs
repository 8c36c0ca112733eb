//! The help desk's KPI report (docs/KPIS.md has each formula and the
//! published definition it follows): the database's counts per group and
//! per day ([`crate::store::KpiStore`]) turned into rates and labelled
//! figures, and the report as CSV. `now` is a parameter so that tests can
//! report on a generated history; the API passes the clock's.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::Serialize;

use crate::store::{DayCounts, Durations, GroupCounts, KpiGroup, KpiSpan, Store, StoreResult};

/// A share: how many of how many, and their ratio (absent of none).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, JsonSchema)]
pub struct Rate {
    /// How many.
    pub count: i64,
    /// Of how many.
    pub of: i64,
    /// `count / of`, 0–1.
    pub rate: Option<f64>,
}

fn rate(count: i64, of: i64) -> Rate {
    Rate {
        count,
        of,
        rate: (of > 0).then(|| count as f64 / of as f64),
    }
}

/// Open tickets now, by age.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Backlog {
    /// All open (new, open, pending) tickets.
    pub total: i64,
    /// Younger than a day.
    pub under_1d: i64,
    /// 1 to 3 days.
    pub from_1d_to_3d: i64,
    /// 3 to 10 days.
    pub from_3d_to_10d: i64,
    /// 10 to 30 days.
    pub from_10d_to_30d: i64,
    /// Older than 30 days.
    pub over_30d: i64,
}

/// Durations: median and 90th percentile in working and calendar time.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, JsonSchema)]
pub struct Times {
    /// How many tickets.
    pub count: i64,
    /// Median, working time (seconds).
    pub median_secs: Option<f64>,
    /// 90th percentile, working time.
    pub p90_secs: Option<f64>,
    /// Median, calendar time (pauses excluded).
    pub median_calendar_secs: Option<f64>,
    /// 90th percentile, calendar time.
    pub p90_calendar_secs: Option<f64>,
}

impl From<Durations> for Times {
    fn from(d: Durations) -> Self {
        Self {
            count: d.count,
            median_secs: d.median,
            p90_secs: d.p90,
            median_calendar_secs: d.median_calendar,
            p90_calendar_secs: d.p90_calendar,
        }
    }
}

/// One clock's compliance: met ÷ (met + breached).
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Compliance {
    /// `first_response`, `resolution`, `next_response`.
    pub clock: String,
    /// Stopped within the target in the period.
    pub met: i64,
    /// Breached in the period, whether the ticket is still open or not.
    pub breached: i64,
    /// `met / (met + breached)`.
    pub compliance: Option<f64>,
}

/// Every figure of one group (or of all tickets).
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Figures {
    /// The group's value (team or technician id, category, priority,
    /// type); absent for the total and for tickets without one.
    pub key: Option<String>,
    /// Its name (the team's, the technician's e-mail).
    pub label: Option<String>,
    /// Tickets created in the period.
    pub created: i64,
    /// Tickets resolved in the period.
    pub resolved: i64,
    /// Open now.
    pub backlog: Backlog,
    /// Time to the first public technician reply.
    pub first_response: Times,
    /// Time to resolution.
    pub resolution: Times,
    /// First contact resolution, of the tickets resolved.
    pub first_contact_resolution: Rate,
    /// SLA compliance per clock.
    pub sla: Vec<Compliance>,
    /// Reopened at some time, of the tickets resolved.
    pub reopen: Rate,
    /// Resolved by the desk because the device showed the check that
    /// opened them ok, of the tickets resolved.
    pub verified_by_device: Rate,
    /// Resolved, with the fix still watched on the device (not counted as
    /// first contact resolutions until it held).
    pub awaiting_verification: i64,
    /// Customer satisfaction: ratings of 4–5 of all ratings.
    pub csat: Rate,
}

/// One UTC day of the period.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Day {
    /// `YYYY-MM-DD`.
    pub day: String,
    /// Created.
    pub created: i64,
    /// Resolved.
    pub resolved: i64,
    /// Clocks met.
    pub sla_met: i64,
    /// Clocks breached.
    pub sla_breached: i64,
    /// Ratings.
    pub ratings: i64,
    /// Ratings of 4–5.
    pub good_ratings: i64,
}

/// `GET /api/v1/reports/kpis`.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct KpiReport {
    /// From (inclusive).
    pub from: DateTime<Utc>,
    /// To (exclusive).
    pub to: DateTime<Utc>,
    /// When the backlog was counted.
    pub now: DateTime<Utc>,
    /// The split (`team`, `technician`, `category`, `priority`, `type`).
    pub group_by: Option<String>,
    /// All tickets.
    pub total: Figures,
    /// Per group, largest volume first.
    pub groups: Vec<Figures>,
    /// Per UTC day, every day of the period.
    pub series: Vec<Day>,
}

fn figures(key: Option<String>, label: Option<String>, c: GroupCounts) -> Figures {
    let b = c.backlog;
    Figures {
        key,
        label,
        created: c.created,
        resolved: c.resolved,
        backlog: Backlog {
            total: b.iter().sum(),
            under_1d: b[0],
            from_1d_to_3d: b[1],
            from_3d_to_10d: b[2],
            from_10d_to_30d: b[3],
            over_30d: b[4],
        },
        first_response: c.first_response.into(),
        resolution: c.resolution.into(),
        first_contact_resolution: rate(c.first_contact, c.resolved),
        sla: ["first_response", "resolution", "next_response"]
            .into_iter()
            .map(|clock| {
                let (met, breached) = c.sla.get(clock).copied().unwrap_or_default();
                Compliance {
                    clock: clock.to_owned(),
                    met,
                    breached,
                    compliance: rate(met, met + breached).rate,
                }
            })
            .collect(),
        reopen: rate(c.reopened, c.resolved),
        verified_by_device: rate(c.verified, c.resolved),
        awaiting_verification: c.watching,
        csat: rate(c.good, c.ratings),
    }
}

/// The report over `from..to`, split by `group`, the backlog as of `now`.
pub async fn report<S: Store>(
    store: &S,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    group: Option<KpiGroup>,
    now: DateTime<Utc>,
) -> StoreResult<KpiReport> {
    let span = KpiSpan {
        from,
        to,
        now,
        group,
    };
    let (counts, days) = tokio::try_join!(store.kpi_groups(&span), store.kpi_days(&span))?;
    let total = counts.total;
    let mut groups = Vec::new();
    if let Some(g) = group {
        let labels: BTreeMap<String, String> = match g {
            KpiGroup::Team => store
                .list_teams()
                .await?
                .into_iter()
                .map(|t| (t.id.to_string(), t.name))
                .collect(),
            KpiGroup::Technician => store
                .list_users()
                .await?
                .into_iter()
                .map(|u| (u.id.to_string(), u.email))
                .collect(),
            _ => BTreeMap::new(),
        };
        groups = counts
            .groups
            .into_iter()
            .map(|(k, c)| {
                let label = k.as_ref().and_then(|k| labels.get(k).cloned());
                figures(k, label, c)
            })
            .collect();
        groups.sort_by(|a, b| {
            (b.created + b.resolved + b.backlog.total)
                .cmp(&(a.created + a.resolved + a.backlog.total))
                .then_with(|| a.key.cmp(&b.key))
        });
    }
    Ok(KpiReport {
        from,
        to,
        now,
        group_by: group.map(|g| g.as_str().to_owned()),
        total: figures(None, None, total),
        groups,
        series: every_day(from, to, &days),
    })
}

/// Every UTC day from `from` to before `to`, with its counts (zero when
/// none).
fn every_day(
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    days: &BTreeMap<String, DayCounts>,
) -> Vec<Day> {
    let mut out = Vec::new();
    let mut d = from.date_naive();
    while d.and_hms_opt(0, 0, 0).is_some_and(|t| t.and_utc() < to) && out.len() < 3660 {
        let key = d.format("%Y-%m-%d").to_string();
        let c = days.get(&key).cloned().unwrap_or_default();
        out.push(Day {
            day: key,
            created: c.created,
            resolved: c.resolved,
            sla_met: c.met,
            sla_breached: c.breached,
            ratings: c.ratings,
            good_ratings: c.good,
        });
        d = d.succ_opt().unwrap_or(d);
    }
    out
}

/// A CSV cell: quoted when needed, and a leading `=`, `+`, `-`, `@`, tab
/// or carriage return defused (a spreadsheet would run it as a formula).
pub fn csv_cell(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

fn num(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.3}")).unwrap_or_default()
}

/// The figures as CSV: the total, then one row per group.
pub fn figures_csv(r: &KpiReport) -> String {
    let mut out = String::from(
        "group,key,label,created,resolved,backlog,backlog_under_1d,backlog_1d_3d,backlog_3d_10d,\
         backlog_10d_30d,backlog_over_30d,first_response_count,first_response_median_secs,\
         first_response_p90_secs,first_response_median_calendar_secs,first_response_p90_calendar_secs,\
         resolution_count,resolution_median_secs,resolution_p90_secs,resolution_median_calendar_secs,\
         resolution_p90_calendar_secs,first_contact_resolution,sla_first_response,sla_resolution,\
         sla_next_response,reopen_rate,csat,ratings,verified_by_device,awaiting_verification\n",
    );
    let group = r.group_by.as_deref().unwrap_or_default();
    for (name, f) in std::iter::once(("total", &r.total)).chain(r.groups.iter().map(|g| (group, g)))
    {
        let b = &f.backlog;
        let cells = [
            csv_cell(name),
            csv_cell(f.key.as_deref().unwrap_or_default()),
            csv_cell(f.label.as_deref().unwrap_or_default()),
            f.created.to_string(),
            f.resolved.to_string(),
            b.total.to_string(),
            b.under_1d.to_string(),
            b.from_1d_to_3d.to_string(),
            b.from_3d_to_10d.to_string(),
            b.from_10d_to_30d.to_string(),
            b.over_30d.to_string(),
            f.first_response.count.to_string(),
            num(f.first_response.median_secs),
            num(f.first_response.p90_secs),
            num(f.first_response.median_calendar_secs),
            num(f.first_response.p90_calendar_secs),
            f.resolution.count.to_string(),
            num(f.resolution.median_secs),
            num(f.resolution.p90_secs),
            num(f.resolution.median_calendar_secs),
            num(f.resolution.p90_calendar_secs),
            num(f.first_contact_resolution.rate),
            num(f.sla[0].compliance),
            num(f.sla[1].compliance),
            num(f.sla[2].compliance),
            num(f.reopen.rate),
            num(f.csat.rate),
            f.csat.of.to_string(),
            num(f.verified_by_device.rate),
            f.awaiting_verification.to_string(),
        ];
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    out
}

/// The per-day series as CSV.
pub fn series_csv(r: &KpiReport) -> String {
    let mut out = String::from("day,created,resolved,sla_met,sla_breached,ratings,good_ratings\n");
    for d in &r.series {
        out.push_str(&format!(
            "{},{},{},{},{},{},{}\n",
            d.day, d.created, d.resolved, d.sla_met, d.sla_breached, d.ratings, d.good_ratings
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::kpis::percentile;

    #[test]
    fn percentiles_interpolate_like_postgres() {
        assert_eq!(percentile(&[], 0.5), None);
        assert_eq!(percentile(&[7], 0.9), Some(7.0));
        assert_eq!(percentile(&[1, 2, 3, 4], 0.5), Some(2.5));
        // 0.9 × 9 = 8.1: between the 9th and 10th values.
        let v: Vec<i64> = (1..=10).map(|x| x * 10).collect();
        assert!((percentile(&v, 0.9).unwrap() - 91.0).abs() < 1e-9);
    }

    #[test]
    fn csv_cells_are_safe() {
        assert_eq!(csv_cell("Network"), "Network");
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_cell("-1"), "'-1");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
    }

    #[test]
    fn every_day_of_the_period_is_there() {
        let from: DateTime<Utc> = "2026-11-29T00:00:00Z".parse().unwrap_or_default();
        let to: DateTime<Utc> = "2026-12-02T00:00:00Z".parse().unwrap_or_default();
        let mut days = BTreeMap::new();
        days.insert(
            "2026-11-30".to_owned(),
            DayCounts {
                created: 4,
                ..DayCounts::default()
            },
        );
        let s = every_day(from, to, &days);
        let got: Vec<(&str, i64)> = s.iter().map(|d| (d.day.as_str(), d.created)).collect();
        assert_eq!(
            got,
            [("2026-11-29", 0), ("2026-11-30", 4), ("2026-12-01", 0)]
        );
    }
}
