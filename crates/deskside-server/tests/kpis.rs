//! KPI correctness on a generated history, on SQLite and PostgreSQL: 300
//! tickets with known timestamps (replies, pending pauses, reopens,
//! ratings, some never answered, some still open), two SLA policies (one
//! on office hours), evaluated by the desk at a chosen instant. Every
//! expected value is computed here from the generated plan, minute by
//! minute, not by the code under test.

#![allow(clippy::unwrap_used)]

mod common;

use chrono::{DateTime, Datelike as _, TimeDelta, Timelike as _, Utc};
use deskside_server::store::{CalendarRow, KpiGroup, PolicyRow, Role, Store};
use deskside_server::{kpi, sla};

const N: i64 = 300;
const MIN: i64 = 60;

fn t0() -> DateTime<Utc> {
    "2026-11-02T00:00:00Z".parse().unwrap()
}

fn now() -> DateTime<Utc> {
    t0() + TimeDelta::days(40)
}

/// One generated ticket: minutes after its creation of each happening
/// (pending stretches are among its statuses).
#[derive(Debug, Clone)]
struct Plan {
    created: DateTime<Utc>,
    network: bool,
    team: usize,
    reply: Option<i64>,
    requester_reply: Option<i64>,
    /// Resolutions and reopens, in order: (minute, status).
    statuses: Vec<(i64, &'static str)>,
    rating: Option<(i64, i64)>,
}

fn plans() -> Vec<Plan> {
    (0..N)
        .map(|i| {
            let created = t0() + TimeDelta::minutes(i * 97);
            let r1 = 5 + (i * 37) % 200;
            let reply = (i % 10 != 0).then_some(r1);
            let pending = (i % 4 == 0).then(|| (r1 + 10, r1 + 10 + 30 + i % 60));
            let requester_reply = (i % 5 == 0).then_some(r1 + 20);
            let r = r1 + 120 + (i * 53) % 2000;
            let mut statuses = Vec::new();
            if let Some((p, o)) = pending {
                statuses.push((p, "pending"));
                statuses.push((o, "open"));
            }
            if i % 7 != 0 {
                statuses.push((r, "resolved"));
                if i % 11 == 0 {
                    statuses.push((r + 30, "open"));
                    statuses.push((r + 90, "resolved"));
                }
            }
            let resolved_at = statuses.last().filter(|s| s.1 == "resolved").map(|s| s.0);
            let rating = resolved_at
                .filter(|_| i % 3 != 1)
                .map(|at| (at + 5, 1 + i % 5));
            Plan {
                created,
                network: i % 3 == 0,
                team: (i % 2) as usize,
                reply,
                requester_reply,
                statuses,
                rating,
            }
        })
        .collect()
}

/// Office hours, Monday to Friday 09:00–17:00 UTC: working minutes in
/// `from..to`, counted one by one.
fn office_minutes(from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
    let mut n = 0;
    let mut t = from;
    while t < to {
        if t.weekday().num_days_from_monday() < 5 && (9..17).contains(&t.hour()) {
            n += 1;
        }
        t += TimeDelta::minutes(1);
    }
    n
}

impl Plan {
    fn at(&self, minute: i64) -> DateTime<Utc> {
        self.created + TimeDelta::minutes(minute)
    }

    /// Minutes counted in `from..to` (minutes after creation): office
    /// hours for network tickets, every minute otherwise.
    fn count(&self, from: i64, to: i64) -> (i64, i64) {
        let cal = to - from;
        let work = if self.network {
            office_minutes(self.at(from), self.at(to))
        } else {
            cal
        };
        (work, cal)
    }

    fn first_resolution(&self) -> Option<i64> {
        self.statuses
            .iter()
            .find(|s| s.1 == "resolved")
            .map(|s| s.0)
    }

    fn final_resolution(&self) -> Option<i64> {
        self.statuses
            .last()
            .filter(|s| s.1 == "resolved")
            .map(|s| s.0)
    }

    /// Status at minute `m` (the change at `m` applies).
    fn status_at(&self, m: i64) -> &'static str {
        self.statuses
            .iter()
            .rfind(|s| s.0 <= m)
            .map_or("new", |s| s.1)
    }

    /// (working, calendar) minutes the resolution clock ran up to minute
    /// `end`: not resolved, not pending.
    fn resolution_time(&self, end: i64) -> (i64, i64) {
        let mut marks: Vec<i64> = vec![0, end];
        marks.extend(self.statuses.iter().map(|s| s.0).filter(|m| *m < end));
        marks.sort_unstable();
        let mut total = (0, 0);
        for w in marks.windows(2) {
            let st = self.status_at(w[0]);
            if st != "resolved" && st != "pending" && w[1] > w[0] {
                let (a, b) = self.count(w[0], w[1]);
                total = (total.0 + a, total.1 + b);
            }
        }
        total
    }

    fn reopened(&self) -> bool {
        self.statuses.iter().filter(|s| s.1 == "resolved").count() > 1
    }
}

/// PostgreSQL's percentile_cont, written again here.
fn pct(mut v: Vec<i64>, p: f64) -> Option<f64> {
    v.sort_unstable();
    if v.is_empty() {
        return None;
    }
    let pos = p * (v.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    Some(v[lo] as f64 + (v[hi] as f64 - v[lo] as f64) * (pos - lo as f64))
}

fn close(a: Option<f64>, b: Option<f64>, what: &str) {
    match (a, b) {
        (Some(x), Some(y)) => assert!((x - y).abs() < 1e-6, "{what}: {x} vs {y}"),
        _ => assert_eq!(a, b, "{what}"),
    }
}

/// Writes the plan as the desk would have: tickets (the triggers log each
/// status at the time of its change), replies and ratings.
macro_rules! write_history {
    ($pool:expr, $plans:expr, $teams:expr, $tech:expr) => {{
        for (i, p) in $plans.iter().enumerate() {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO tickets (idempotency_key, subject, description, category, urgency, status, \
                 priority, created_at, updated_at, team_id, assignee_id, channel, requester_name) \
                 VALUES ($1, $2, '', $3, 'medium', 'new', 3, $4, $4, $5, $6, 'phone', 'R') RETURNING id",
            )
            .bind(format!("gen-{i}"))
            .bind(format!("ticket {i}"))
            .bind(if p.network { "network" } else { "software" })
            .bind(p.created)
            .bind($teams[p.team])
            .bind($tech)
            .fetch_one(&$pool)
            .await
            .unwrap();
            let mut happenings: Vec<(i64, u8, &str)> = p.statuses.iter().map(|s| (s.0, 0, s.1)).collect();
            if let Some(m) = p.reply {
                happenings.push((m, 1, ""));
            }
            if let Some(m) = p.requester_reply {
                happenings.push((m, 2, ""));
            }
            happenings.sort_unstable();
            for (m, kind, status) in happenings {
                let at = p.at(m);
                match kind {
                    0 => {
                        sqlx::query("UPDATE tickets SET status = $1, updated_at = $2 WHERE id = $3")
                            .bind(status)
                            .bind(at)
                            .bind(id)
                            .execute(&$pool)
                            .await
                            .unwrap();
                    }
                    _ => {
                        sqlx::query(
                            "INSERT INTO ticket_comments (ticket_id, user_id, body, internal, created_at) \
                             VALUES ($1, $2, 'x', FALSE, $3)",
                        )
                        .bind(id)
                        .bind(if kind == 1 { Some($tech) } else { None })
                        .bind(at)
                        .execute(&$pool)
                        .await
                        .unwrap();
                    }
                }
            }
            if let Some((m, score)) = p.rating {
                sqlx::query("UPDATE tickets SET rating = $1, rated_at = $2 WHERE id = $3")
                    .bind(i32::try_from(score).unwrap())
                    .bind(p.at(m))
                    .bind(id)
                    .execute(&$pool)
                    .await
                    .unwrap();
            }
        }
    }};
}

/// The desk's configuration: two teams, a technician, office hours, and
/// two policies (network tickets on office hours first).
async fn configure<S: Store>(s: &S) -> ([i64; 2], i64) {
    let tech = s
        .create_user("tech@example.com", Role::Technician, None)
        .await
        .unwrap()
        .id;
    let a = s
        .save_team(0, "Desk", "none", &[tech])
        .await
        .unwrap()
        .unwrap();
    let b = s
        .save_team(0, "Network", "none", &[])
        .await
        .unwrap()
        .unwrap();
    let office = s
        .save_sla_calendar(&CalendarRow {
            id: 0,
            name: "Office".into(),
            time_zone: "UTC".into(),
            week: r#"{"mon":[["09:00","17:00"]],"tue":[["09:00","17:00"]],"wed":[["09:00","17:00"]],"thu":[["09:00","17:00"]],"fri":[["09:00","17:00"]]}"#.into(),
            holidays: "[]".into(),
        })
        .await
        .unwrap()
        .unwrap();
    let policy = |name: &str, conditions: &str, calendar| PolicyRow {
        id: 0,
        name: name.into(),
        position: 0,
        conditions: conditions.into(),
        calendar_id: calendar,
        first_response: Some(60 * MIN),
        resolution: Some(1440 * MIN),
        next_response: None,
        warn_percent: 75,
        pauses: "{}".into(),
        escalations: "[]".into(),
    };
    s.save_sla_policy(&policy(
        "Network",
        r#"{"categories":["network"]}"#,
        Some(office),
    ))
    .await
    .unwrap();
    s.save_sla_policy(&policy("Default", "{}", None))
        .await
        .unwrap();
    ([a, b], tech)
}

async fn check<S: Store>(s: &S, teams: [i64; 2]) {
    let plans = plans();
    let recorded = sla::run_pass(s, now()).await.unwrap();
    assert!(!recorded.is_empty());
    // Evaluating again at the same instant records nothing more.
    assert!(sla::run_pass(s, now()).await.unwrap().is_empty());

    // --- the whole period -------------------------------------------------
    let (from, to) = (t0(), now());
    let r = kpi::report(s, from, to, Some(KpiGroup::Team), now())
        .await
        .unwrap();
    let f = &r.total;
    assert_eq!(f.created, N);
    let resolved: Vec<&Plan> = plans
        .iter()
        .filter(|p| p.final_resolution().is_some())
        .collect();
    assert_eq!(f.resolved, resolved.len() as i64);

    // First response: tickets a technician answered.
    let answered: Vec<(i64, i64)> = plans
        .iter()
        .filter_map(|p| p.reply.map(|m| p.count(0, m)))
        .collect();
    assert_eq!(f.first_response.count, answered.len() as i64);
    let work: Vec<i64> = answered.iter().map(|x| x.0 * MIN).collect();
    let cal: Vec<i64> = answered.iter().map(|x| x.1 * MIN).collect();
    close(
        f.first_response.median_secs,
        pct(work.clone(), 0.5),
        "frt median",
    );
    close(f.first_response.p90_secs, pct(work, 0.9), "frt p90");
    close(
        f.first_response.median_calendar_secs,
        pct(cal.clone(), 0.5),
        "frt median cal",
    );
    close(
        f.first_response.p90_calendar_secs,
        pct(cal, 0.9),
        "frt p90 cal",
    );

    // Time to resolve: running, unpaused, to the last resolution.
    let ttr: Vec<(i64, i64)> = resolved
        .iter()
        .map(|p| p.resolution_time(p.final_resolution().unwrap()))
        .collect();
    close(
        f.resolution.median_secs,
        pct(ttr.iter().map(|x| x.0 * MIN).collect(), 0.5),
        "ttr median",
    );
    close(
        f.resolution.p90_calendar_secs,
        pct(ttr.iter().map(|x| x.1 * MIN).collect(), 0.9),
        "ttr p90 cal",
    );

    // First contact: resolved, one reply, no employee reply after it,
    // never reopened.
    let fcr = resolved
        .iter()
        .filter(|p| p.reply.is_some() && p.requester_reply.is_none() && !p.reopened())
        .count() as i64;
    assert_eq!(
        (
            f.first_contact_resolution.count,
            f.first_contact_resolution.of
        ),
        (fcr, resolved.len() as i64)
    );
    let reopened = resolved.iter().filter(|p| p.reopened()).count() as i64;
    assert_eq!(f.reopen.count, reopened);
    assert!(reopened > 0 && fcr > 0);

    // SLA compliance: each clock met or breached once, open breached
    // tickets included.
    let now_min = |p: &Plan| (now() - p.created).num_minutes();
    let (mut fr_met, mut fr_breached, mut res_met, mut res_breached) = (0, 0, 0, 0);
    for p in &plans {
        let fr_end = p.reply.or(p.first_resolution()).unwrap_or(now_min(p));
        let stopped = p.reply.or(p.first_resolution()).is_some();
        let fr = p.count(0, fr_end).0;
        if fr > 60 {
            fr_breached += 1;
        } else if stopped {
            fr_met += 1;
        }
        let res_end = p.final_resolution().unwrap_or(now_min(p));
        let res = p.resolution_time(res_end).0;
        if res > 1440 {
            res_breached += 1;
        } else if p.final_resolution().is_some() {
            res_met += 1;
        }
    }
    let clock = |name: &str| f.sla.iter().find(|c| c.clock == name).unwrap().clone();
    let fr = clock("first_response");
    assert_eq!((fr.met, fr.breached), (fr_met, fr_breached));
    let res = clock("resolution");
    assert_eq!((res.met, res.breached), (res_met, res_breached));
    assert!(fr_met > 0 && fr_breached > 0 && res_met > 0 && res_breached > 0);
    close(
        res.compliance,
        Some(res_met as f64 / (res_met + res_breached) as f64),
        "resolution compliance",
    );

    // CSAT: 4–5 of all ratings.
    let ratings: Vec<i64> = plans.iter().filter_map(|p| p.rating.map(|r| r.1)).collect();
    assert_eq!(f.csat.of, ratings.len() as i64);
    assert_eq!(
        f.csat.count,
        ratings.iter().filter(|r| **r >= 4).count() as i64
    );

    // Backlog now, by age.
    let open: Vec<i64> = plans
        .iter()
        .filter(|p| p.final_resolution().is_none())
        .map(|p| (now() - p.created).num_hours())
        .collect();
    assert_eq!(f.backlog.total, open.len() as i64);
    assert_eq!(
        f.backlog.over_30d,
        open.iter().filter(|h| **h >= 30 * 24).count() as i64
    );
    assert_eq!(
        f.backlog.from_10d_to_30d,
        open.iter()
            .filter(|h| (10 * 24..30 * 24).contains(*h))
            .count() as i64
    );

    // Per team: the split adds up, and each team is labelled.
    assert_eq!(r.groups.len(), 2);
    for (i, team) in teams.iter().enumerate() {
        let g = r
            .groups
            .iter()
            .find(|g| g.key == Some(team.to_string()))
            .unwrap();
        assert_eq!(g.label.as_deref(), Some(["Desk", "Network"][i]));
        assert_eq!(
            g.created,
            plans.iter().filter(|p| p.team == i).count() as i64
        );
        let fr: Vec<i64> = plans
            .iter()
            .filter(|p| p.team == i)
            .filter_map(|p| p.reply.map(|m| p.count(0, m).0 * MIN))
            .collect();
        close(
            g.first_response.median_secs,
            pct(fr, 0.5),
            "team frt median",
        );
    }

    // Per day: created on each day.
    let day = |p: &Plan| p.created.format("%Y-%m-%d").to_string();
    for d in &r.series {
        let n = plans.iter().filter(|p| day(p) == d.day).count() as i64;
        assert_eq!(d.created, n, "{}", d.day);
    }
    assert_eq!(r.series.len(), 40);
    assert_eq!(
        r.series.iter().map(|d| d.sla_breached).sum::<i64>(),
        fr_breached + res_breached
    );

    // --- a narrower period: only what happened in it ------------------------
    let (from, to) = (t0() + TimeDelta::days(5), t0() + TimeDelta::days(10));
    let r = kpi::report(s, from, to, None, now()).await.unwrap();
    let inside = |t: DateTime<Utc>| t >= from && t < to;
    assert_eq!(
        r.total.created,
        plans.iter().filter(|p| inside(p.created)).count() as i64
    );
    let resolved_inside: Vec<&Plan> = plans
        .iter()
        .filter(|p| p.final_resolution().is_some_and(|m| inside(p.at(m))))
        .collect();
    assert_eq!(r.total.resolved, resolved_inside.len() as i64);
    let ttr: Vec<i64> = resolved_inside
        .iter()
        .map(|p| p.resolution_time(p.final_resolution().unwrap()).1 * MIN)
        .collect();
    close(
        r.total.resolution.median_calendar_secs,
        pct(ttr, 0.5),
        "narrow ttr",
    );
    assert_eq!(r.series.len(), 5);

    // CSV: the total and a row per group, formulas defused.
    let csv = kpi::figures_csv(
        &kpi::report(s, t0(), now(), Some(KpiGroup::Team), now())
            .await
            .unwrap(),
    );
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 4);
    assert!(lines[1].starts_with("total,,,300,"), "{}", lines[1]);
}

#[tokio::test]
async fn sqlite_kpis_on_a_generated_history() {
    let (s, dir) = common::sqlite().await;
    let (teams, tech) = configure(&s).await;
    let url = format!("sqlite://{}", dir.path().join("desk.db").display());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    write_history!(pool, plans(), teams, tech);
    check(&s, teams).await;
}

#[tokio::test]
async fn postgres_kpis_on_a_generated_history() {
    let Some(url) = common::pg_url().await else {
        return;
    };
    let s = deskside_server::store::PgStore::open(&url).await.unwrap();
    s.migrate().await.unwrap();
    let (teams, tech) = configure(&s).await;
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    write_history!(pool, plans(), teams, tech);
    check(&s, teams).await;
}
