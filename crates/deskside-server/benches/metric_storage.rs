//! Metric storage per device (release build):
//!
//!     cargo bench -p deskside-server --bench metric_storage
//!
//! On SQLite (a temp dir) and PostgreSQL (when `DESKSIDE_BENCH_PG_URL` or
//! `DESKSIDE_TEST_PG_URL` names a server): `DESKSIDE_BENCH_METRIC_DEVICES`
//! devices (default 50) each check in 30 days of one-minute samples of a
//! laptop (8 cores, 3 volumes, 3 interfaces, 6 sensors, a battery: 14
//! series), in batches as an agent back from a trip would send them; the
//! rollup pass runs as the desk runs it; then it reports:
//! - bytes per device for 30 days, tables and indexes (target ≤ 1 MB;
//!   on PostgreSQL after `VACUUM FULL`, since the fill deletes 28 days of
//!   raw rows at once, which a running desk does an hour at a time), and
//!   the same for the JSON rows the desk stored before, as the peer (two
//!   devices' worth, measured the same way);
//! - that figure times 100,000 devices;
//! - the time to compute one device's 30-day and 24-hour charts (p50, p99
//!   of 50), from the database to the buckets.

#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use deskside_protocol::MetricSample;
use deskside_server::metric_tiers::{self, RAW_WINDOW, Window};
use deskside_server::store::{Checkin, NewEnrollment, PgStore, SqliteStore, Store};

const DAYS: i64 = 30;

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A laptop's sample at `t`, as the agent sends it.
fn laptop(t: i64) -> MetricSample {
    let wave = ((t % 86_400) as f64 / 86_400.0 * std::f64::consts::TAU).sin();
    serde_json::from_value(serde_json::json!({
        "timestamp": DateTime::from_timestamp(t, 0).unwrap(),
        "window_secs": 60.0,
        "cpu": {"usage_percent": 20.0 + 15.0 * wave,
                "per_core_percent": [21.0, 18.5, 30.25, 12.0, 25.5, 19.0, 22.75, 16.0]},
        "load_average": {"one": 1.25 + wave, "five": 1.1, "fifteen": 0.95},
        "memory": {"total_bytes": 16_624_349_184u64, "used_bytes": 9_123_456_789u64 + (t % 1000) as u64,
                   "available_bytes": 7_500_892_395u64, "swap_total_bytes": 8_589_930_496u64,
                   "swap_used_bytes": 268_435_456u64},
        "volumes": [
            {"mount_point": "/", "total_bytes": 250_375_106_560u64, "free_bytes": 96_012_345_344u64},
            {"mount_point": "/home", "total_bytes": 750_156_374_016u64, "free_bytes": 301_234_567_168u64},
            {"mount_point": "/boot/efi", "total_bytes": 535_805_952u64, "free_bytes": 529_514_496u64}
        ],
        "network": [
            {"interface": "wlp0s20f3", "rx_bytes_per_sec": 52_341.5 + 1000.0 * wave, "tx_bytes_per_sec": 8_123.25},
            {"interface": "enp0s31f6", "rx_bytes_per_sec": 0.0, "tx_bytes_per_sec": 0.0},
            {"interface": "lo", "rx_bytes_per_sec": 312.0, "tx_bytes_per_sec": 312.0}
        ],
        "process_count": 312,
        "temperatures": [
            {"label": "coretemp Package id 0", "celsius": 52.0, "critical_celsius": 100.0},
            {"label": "coretemp Core 0", "celsius": 50.0, "critical_celsius": 100.0},
            {"label": "coretemp Core 1", "celsius": 51.0, "critical_celsius": 100.0},
            {"label": "coretemp Core 2", "celsius": 49.0, "critical_celsius": 100.0},
            {"label": "coretemp Core 3", "celsius": 53.0, "critical_celsius": 100.0},
            {"label": "acpitz temp1", "celsius": 45.0}
        ],
        "batteries": [{"name": "BAT0", "percent": 87.5, "status": "discharging"}]
    }))
    .unwrap()
}

fn pct(sorted: &[Duration], p: f64) -> String {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    format!("{:.1} ms", sorted[i].as_secs_f64() * 1000.0)
}

/// Fills `devices` devices with 30 days each, rolls up, and returns their
/// ids.
async fn fill<S: Store>(s: &S, devices: u64, now: i64) -> Vec<i64> {
    let mut ids = Vec::new();
    for d in 0..devices {
        let token = format!("bench-{d}");
        let id = s
            .enroll_device(&NewEnrollment {
                device_key: None,
                serial_number: None,
                hostname: Some(&token),
                token_hash: &token,
                public_key: None,
            })
            .await
            .unwrap()
            .device_id;
        let times: Vec<i64> = ((now - DAYS * 86_400)..now).step_by(60).collect();
        for batch in times.chunks(2000) {
            s.record_checkin(&Checkin {
                device_id: id,
                agent_version: None,
                health: None,
                results: Vec::new(),
                samples: batch
                    .iter()
                    .map(|t| {
                        let sample = laptop(*t);
                        (sample.timestamp, metric_tiers::series_of(&sample))
                    })
                    .collect(),
                running_checks: None,
                at: Utc::now(),
            })
            .await
            .unwrap();
        }
        ids.push(id);
    }
    s.roll_up_metrics(now - RAW_WINDOW).await.unwrap();
    ids
}

async fn chart_times<S: Store>(s: &S, device: i64, now: i64, range: i64) -> String {
    let mut times = Vec::new();
    for _ in 0..50 {
        let start = Instant::now();
        let w = Window::plan(now - range, now, None, now).unwrap();
        let chart = metric_tiers::chart(s, device, w).await.unwrap();
        assert!(!chart.is_empty());
        times.push(start.elapsed());
    }
    times.sort();
    format!("p50 {}, p99 {}", pct(&times, 0.5), pct(&times, 0.99))
}

fn mib(bytes: f64) -> String {
    format!("{:.2} MiB", bytes / 1024.0 / 1024.0)
}

fn report(backend: &str, per_device: f64, json_per_device: f64, month: &str, day: &str) {
    println!(
        "{backend}: {} per device for {DAYS} days (target 1 MiB: ratio {:.2}); \
         JSON rows as before: {} per device (ratio {:.3}); 100,000 devices: {}; \
         30-day chart {month}; 24-hour chart {day}",
        mib(per_device),
        per_device / 1024.0 / 1024.0,
        mib(json_per_device),
        per_device / json_per_device,
        format_args!(
            "{:.1} GiB",
            per_device * 100_000.0 / 1024.0 / 1024.0 / 1024.0
        ),
    );
}

/// The JSON rows the desk stored before, for `devices` devices.
fn json_rows(devices: &[i64], now: i64) -> Vec<(i64, DateTime<Utc>, String)> {
    let mut rows = Vec::new();
    for &d in devices {
        for t in ((now - DAYS * 86_400)..now).step_by(60) {
            let s = laptop(t);
            rows.push((d, s.timestamp, serde_json::to_string(&s).unwrap()));
        }
    }
    rows
}

async fn sqlite(devices: u64, now: i64) {
    let dir = tempfile::tempdir().unwrap();
    // Tables in a database of their own each, measured by the pages they
    // take (`dbstat` is not compiled in): the file after a checkpoint.
    let open = |name: &str| {
        let url = format!("sqlite://{}", dir.path().join(name).display());
        async move {
            let s = SqliteStore::open(&url).await.unwrap();
            s.migrate().await.unwrap();
            (s, url)
        }
    };
    let file_size = async |url: &str| -> f64 {
        let pool = sqlx::SqlitePool::connect(url).await.unwrap();
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&pool)
            .await
            .unwrap();
        let pages: i64 = sqlx::query_scalar("PRAGMA page_count")
            .fetch_one(&pool)
            .await
            .unwrap();
        let free: i64 = sqlx::query_scalar("PRAGMA freelist_count")
            .fetch_one(&pool)
            .await
            .unwrap();
        let page: i64 = sqlx::query_scalar("PRAGMA page_size")
            .fetch_one(&pool)
            .await
            .unwrap();
        pool.close().await;
        ((pages - free) * page) as f64
    };
    let (empty, empty_url) = open("empty.db").await;
    drop(empty);
    let base = file_size(&empty_url).await;

    let (s, url) = open("tiers.db").await;
    let ids = fill(&s, devices, now).await;
    let tiers = file_size(&url).await - base;
    let month = chart_times(&s, ids[0], now, DAYS * 86_400).await;
    let day = chart_times(&s, ids[0], now, 86_400).await;

    // The peer: JSON rows, two devices' worth.
    let (j, jurl) = open("json.db").await;
    let json_devices = fill_devices_only(&j, 2).await;
    let pool = sqlx::SqlitePool::connect(&jurl).await.unwrap();
    for chunk in json_rows(&json_devices, now).chunks(5000) {
        let mut tx = pool.begin().await.unwrap();
        for (d, at, json) in chunk {
            sqlx::query(
                "INSERT INTO metric_samples (device_id, taken_at, sample) VALUES (?1, ?2, ?3)",
            )
            .bind(d)
            .bind(at)
            .bind(json)
            .execute(&mut *tx)
            .await
            .unwrap();
        }
        tx.commit().await.unwrap();
    }
    pool.close().await;
    let json = file_size(&jurl).await - base;
    report("SQLite", tiers / devices as f64, json / 2.0, &month, &day);
}

async fn fill_devices_only<S: Store>(s: &S, n: u64) -> Vec<i64> {
    let mut ids = Vec::new();
    for d in 0..n {
        let token = format!("json-{d}");
        ids.push(
            s.enroll_device(&NewEnrollment {
                device_key: None,
                serial_number: None,
                hostname: Some(&token),
                token_hash: &token,
                public_key: None,
            })
            .await
            .unwrap()
            .device_id,
        );
    }
    ids
}

async fn postgres(url: &str, devices: u64, now: i64) {
    let admin = sqlx::PgPool::connect(url).await.unwrap();
    let db = format!("ds_bench_metrics_{}", std::process::id());
    sqlx::query(&format!("CREATE DATABASE {db}"))
        .execute(&admin)
        .await
        .unwrap();
    let base = url.rsplit_once('/').map_or(url, |(b, _)| b);
    let db_url = format!("{base}/{db}");
    let s = PgStore::open(&db_url).await.unwrap();
    s.migrate().await.unwrap();
    let ids = fill(&s, devices, now).await;
    let pool = sqlx::PgPool::connect(&db_url).await.unwrap();
    // The fill wrote 30 days of raw rows and the rollup pass deleted all
    // but 48 hours of them, at once: a desk that runs for a month reuses
    // that space as it goes (autovacuum); VACUUM FULL measures what the
    // rows take, as in that steady state.
    sqlx::query("VACUUM FULL ANALYZE metric_raw, metric_rollup")
        .execute(&pool)
        .await
        .unwrap();
    let size = async |tables: &[&str]| -> f64 {
        let mut total = 0i64;
        for t in tables {
            let n: i64 = sqlx::query_scalar(&format!("SELECT pg_total_relation_size('{t}')"))
                .fetch_one(&pool)
                .await
                .unwrap();
            total += n;
        }
        total as f64
    };
    let tiers = size(&["metric_raw", "metric_rollup"]).await;
    let month = chart_times(&s, ids[0], now, DAYS * 86_400).await;
    let day = chart_times(&s, ids[0], now, 86_400).await;
    let json_devices = fill_devices_only(&s, 2).await;
    let rows = json_rows(&json_devices, now);
    for chunk in rows.chunks(5000) {
        let d: Vec<i64> = chunk.iter().map(|r| r.0).collect();
        let at: Vec<DateTime<Utc>> = chunk.iter().map(|r| r.1).collect();
        let j: Vec<&str> = chunk.iter().map(|r| r.2.as_str()).collect();
        sqlx::query(
            "INSERT INTO metric_samples (device_id, taken_at, sample) \
             SELECT * FROM UNNEST($1::bigint[], $2::timestamptz[], $3::text[])",
        )
        .bind(&d)
        .bind(&at)
        .bind(&j)
        .execute(&pool)
        .await
        .unwrap();
    }
    sqlx::query("VACUUM ANALYZE metric_samples")
        .execute(&pool)
        .await
        .unwrap();
    let json = size(&["metric_samples"]).await;
    report(
        "PostgreSQL",
        tiers / devices as f64,
        json / 2.0,
        &month,
        &day,
    );
    pool.close().await;
    drop(s);
    sqlx::query(&format!("DROP DATABASE {db} WITH (FORCE)"))
        .execute(&admin)
        .await
        .unwrap();
}

#[tokio::main]
async fn main() {
    let devices = env_num("DESKSIDE_BENCH_METRIC_DEVICES", 50).max(1);
    let now = Utc::now().timestamp() / 60 * 60;
    println!("{devices} devices, {DAYS} days of one-minute samples each, 14 series");
    sqlite(devices, now).await;
    let pg = std::env::var("DESKSIDE_BENCH_PG_URL")
        .or_else(|_| std::env::var("DESKSIDE_TEST_PG_URL"))
        .ok();
    match pg {
        Some(url) => postgres(&url, devices, now).await,
        None => println!("PostgreSQL: skipped (no DESKSIDE_BENCH_PG_URL or DESKSIDE_TEST_PG_URL)"),
    }
}
