//! Service levels at scale (release build):
//!
//!     DESKSIDE_BENCH_PG_URL=postgres://… cargo bench -p deskside-server --bench service_levels
//!
//! 1. **SLA evaluation** of `DESKSIDE_BENCH_OPEN` open tickets (default
//!    100,000), each with a history of status changes and replies, under a
//!    policy on Berlin business hours with holidays: one pass of what the
//!    desk computes per ticket ([`sla::record`]: clocks, warning, breach
//!    and met instants, the next instant to look again, KPI facts), on one
//!    core. Target: 5 s of CPU per pass.
//! 2. **The KPI report** over `DESKSIDE_BENCH_TICKETS` tickets (default
//!    1,000,000) on PostgreSQL: a throw-away database beside the one named
//!    (dropped at the end, kept with `DESKSIDE_BENCH_KEEP=1` for the next
//!    run), filled with SQL (`generate_series`): three years of tickets
//!    with their KPI facts, two SLA outcomes each, a rating on a third,
//!    five teams. Timed `DESKSIDE_BENCH_RUNS` times (default 10) through
//!    [`kpi::report`], as the API calls it: the last 30 days; a year split
//!    by team; the three years split by priority. Target: 1 s.
//!
//! Each result is printed with its ratio to the target.

#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use deskside_server::store::{CalendarRow, KpiGroup, PgStore, PolicyRow, SlaInput, Store};
use deskside_server::{kpi, sla};
use sqlx::Connection;

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

/// A deterministic spread of numbers (no RNG needed).
fn mix(i: u64, salt: u64) -> u64 {
    let mut x = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ salt;
    x ^= x >> 29;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^ (x >> 32)
}

fn evaluation(open: u64) {
    let calendar = CalendarRow {
        id: 1,
        name: "Berlin office".into(),
        time_zone: "Europe/Berlin".into(),
        week: r#"{"mon":[["08:00","12:00"],["13:00","17:00"]],"tue":[["08:00","12:00"],["13:00","17:00"]],"wed":[["08:00","12:00"],["13:00","17:00"]],"thu":[["08:00","12:00"],["13:00","17:00"]],"fri":[["08:00","15:00"]]}"#.into(),
        holidays: r#"["2026-10-03","2026-12-24","2026-12-25","2026-12-26","2027-01-01"]"#.into(),
    };
    let policy = PolicyRow {
        id: 1,
        name: "Office hours".into(),
        position: 1,
        conditions: "{}".into(),
        calendar_id: Some(1),
        first_response: Some(4 * 3600),
        resolution: Some(3 * 8 * 3600),
        next_response: Some(8 * 3600),
        warn_percent: 75,
        pauses: "{}".into(),
        escalations: r#"[{"on":"breach","raise_tier":true,"notify":true}]"#.into(),
    };
    let config = sla::Config::from_rows(&[policy], &[calendar]);
    let now = at("2026-12-02T10:00:00Z");
    let tickets: Vec<SlaInput> = (0..open)
        .map(|i| {
            // Open for up to 60 days; a reply, a wait, an answer, a
            // pending stretch on some.
            let age = (mix(i, 1) % (60 * 24 * 60)) as i64;
            let created = now - TimeDelta::minutes(age);
            let mut statuses = vec![("new".to_owned(), created)];
            let mut replies = Vec::new();
            let step = |f: u64| created + TimeDelta::minutes((age * (f as i64)) / 100);
            if i % 5 != 0 {
                statuses.push(("open".into(), step(5)));
                replies.push((true, step(10)));
                replies.push((false, step(30)));
            }
            if i % 3 == 0 {
                statuses.push(("pending".into(), step(40)));
                statuses.push(("open".into(), step(60)));
                replies.push((true, step(70)));
            }
            SlaInput {
                id: i as i64,
                ticket_type: "incident".into(),
                priority: 3,
                category: "network".into(),
                team_id: None,
                created_at: created,
                seq: 1,
                statuses,
                replies,
            }
        })
        .collect();
    let started = Instant::now();
    let cpu = cpu_now();
    let mut events = 0;
    for t in &tickets {
        events += sla::record(&config, t, now.timestamp()).events.len();
    }
    let wall = started.elapsed();
    let cpu = cpu_now().saturating_sub(cpu);
    println!(
        "SLA evaluation of {open} open tickets (Berlin office hours, holidays): {:.2} s CPU, {:.2} s wall, \
         {events} events; target 5 s: {:.2}x the target",
        cpu.as_secs_f64(),
        wall.as_secs_f64(),
        cpu.as_secs_f64() / 5.0
    );
}

/// This process's CPU time (user + system).
fn cpu_now() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name's closing parenthesis: utime is the
    // 12th, stime the 13th (clock ticks, 100 a second on Linux).
    let rest = stat.rsplit_once(')').map_or("", |x| x.1);
    let f: Vec<u64> = rest
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    let ticks = f.get(11).copied().unwrap_or(0) + f.get(12).copied().unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

async fn fill(pool: &sqlx::PgPool, n: u64, end: DateTime<Utc>) {
    let started = Instant::now();
    let span = 3 * 365 * 86_400_i64;
    let start = end.timestamp() - span;
    for sql in [
        "SET maintenance_work_mem = '1GB'".to_owned(),
        "INSERT INTO users (email, role, created_at) SELECT 'tech' || g || '@example.com', 'technician', now() \
         FROM generate_series(1, 40) g"
            .to_owned(),
        "INSERT INTO teams (name, created_at) SELECT 'Team ' || g, now() FROM generate_series(1, 5) g".to_owned(),
        // The triggers log each ticket's status; the bench measures the
        // report, so they are left out of the fill.
        "ALTER TABLE tickets DISABLE TRIGGER USER".to_owned(),
        format!(
            "INSERT INTO tickets (idempotency_key, subject, description, category, urgency, status, priority, \
             created_at, updated_at, team_id, assignee_id, ticket_type, channel, \
             kpi_first_response_at, kpi_first_response_secs, kpi_first_response_cal, \
             kpi_resolved_at, kpi_resolution_secs, kpi_resolution_cal, kpi_reopens, kpi_fcr, \
             rating, rated_at, sla_seen) \
             SELECT 'b' || g, 'bench', '', (ARRAY['hardware','software','network','account','printer','other'])[1 + g % 6], \
             'medium', CASE WHEN g % 20 = 0 THEN 'open' ELSE 'resolved' END, 1 + g % 5, \
             to_timestamp({start} + g * {span} / {n}), to_timestamp({start} + g * {span} / {n}), \
             1 + g % 5, 1 + g % 40, CASE WHEN g % 4 = 0 THEN 'service_request' ELSE 'incident' END, 'phone', \
             {start} + g * {span} / {n} + 60 * (5 + g % 300), 60 * (5 + g % 300), 60 * (5 + g % 500), \
             CASE WHEN g % 20 = 0 THEN NULL ELSE {start} + g * {span} / {n} + 60 * (60 + g % 5000) END, \
             CASE WHEN g % 20 = 0 THEN NULL ELSE 60 * (60 + g % 5000) END, \
             CASE WHEN g % 20 = 0 THEN NULL ELSE 60 * (60 + g % 9000) END, \
             CASE WHEN g % 13 = 0 THEN 1 ELSE 0 END, g % 3 = 0, \
             CASE WHEN g % 3 = 1 THEN 1 + g % 5 END, \
             CASE WHEN g % 3 = 1 THEN to_timestamp({start} + g * {span} / {n} + 86400) END, 1 \
             FROM generate_series(1::bigint, {n}) g"
        ),
        "ALTER TABLE tickets ENABLE TRIGGER USER".to_owned(),
        "INSERT INTO sla_events (ticket_id, clock, cycle, kind, at, recorded_at) \
         SELECT id, 'first_response', 1, CASE WHEN id % 7 = 0 THEN 'breach' ELSE 'met' END, \
         to_timestamp(kpi_first_response_at), now() FROM tickets"
            .to_owned(),
        "INSERT INTO sla_events (ticket_id, clock, cycle, kind, at, recorded_at) \
         SELECT id, 'resolution', 1, CASE WHEN id % 9 = 0 THEN 'breach' ELSE 'met' END, \
         to_timestamp(COALESCE(kpi_resolved_at, kpi_first_response_at + 86400)), now() FROM tickets"
            .to_owned(),
        "ANALYZE".to_owned(),
    ] {
        sqlx::query(&sql).execute(pool).await.unwrap();
    }
    println!(
        "filled {n} tickets and {} SLA outcomes in {:.0} s",
        2 * n,
        started.elapsed().as_secs_f64()
    );
}

async fn reports(url: &str, tickets: u64, runs: u64) {
    let base = url.rsplit_once('/').map_or(url, |(b, _)| b);
    let name = format!("deskside_bench_kpis_{tickets}");
    let bench_url = format!("{base}/{name}");
    let mut admin = sqlx::PgConnection::connect(url).await.unwrap();
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(&name)
            .fetch_one(&mut admin)
            .await
            .unwrap();
    let keep = std::env::var_os("DESKSIDE_BENCH_KEEP").is_some();
    let end = at("2026-12-01T00:00:00Z");
    if !exists {
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .unwrap();
    }
    let store = PgStore::open(&bench_url).await.unwrap();
    store.migrate().await.unwrap();
    if !exists {
        let pool = sqlx::PgPool::connect(&bench_url).await.unwrap();
        fill(&pool, tickets, end).await;
        pool.close().await;
    }
    let cases: [(&str, DateTime<Utc>, Option<KpiGroup>); 3] = [
        ("last 30 days", end - TimeDelta::days(30), None),
        (
            "a year, by team",
            end - TimeDelta::days(365),
            Some(KpiGroup::Team),
        ),
        (
            "three years, by priority",
            end - TimeDelta::days(3 * 365),
            Some(KpiGroup::Priority),
        ),
    ];
    for (what, from, group) in cases {
        let mut times = Vec::new();
        let mut created = 0;
        for _ in 0..runs {
            let t = Instant::now();
            let r = kpi::report(&store, from, end, group, end).await.unwrap();
            times.push(t.elapsed());
            created = r.total.created;
        }
        times.sort();
        let p50 = times[times.len() / 2];
        let worst = times[times.len() - 1];
        println!(
            "KPI report over {tickets} tickets, {what} ({created} created in it): p50 {:.0} ms, worst {:.0} ms; \
             target 1 s: {:.2}x the target",
            p50.as_secs_f64() * 1000.0,
            worst.as_secs_f64() * 1000.0,
            worst.as_secs_f64()
        );
    }
    drop(store);
    if !keep {
        sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)"))
            .execute(&mut admin)
            .await
            .unwrap();
    }
}

fn main() {
    evaluation(env_num("DESKSIDE_BENCH_OPEN", 100_000));
    let Ok(url) = std::env::var("DESKSIDE_BENCH_PG_URL") else {
        println!("DESKSIDE_BENCH_PG_URL is not set: the KPI report part is skipped");
        return;
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(reports(
        &url,
        env_num("DESKSIDE_BENCH_TICKETS", 1_000_000),
        env_num("DESKSIDE_BENCH_RUNS", 10),
    ));
}
