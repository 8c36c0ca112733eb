//! Software search at fleet scale on PostgreSQL (release build):
//!
//!     DESKSIDE_BENCH_PG_URL=postgres://… cargo bench -p deskside-server --bench software_search
//!
//! Creates a throw-away database beside the one named (dropped at the end),
//! migrates it, and fills `DESKSIDE_BENCH_DEVICES` devices (default
//! 100,000) with `DESKSIDE_BENCH_PACKAGES` packages each (default 800): 600
//! every device has (openssl and libssl3 among them, in five versions across
//! the fleet), 200 from a tail of 1,400, and a package on ten devices only.
//! The fill is SQL (`generate_series`), the indexes built after it, and the
//! catalogue counts computed as the migration computes them; from then on
//! the desk's own store answers, as the API calls it:
//! - the catalogue's first page, and a catalogue search for `ssl`;
//! - devices with `openssl` exactly `3.0.13`;
//! - devices with `openssl` older than `3.0.13` (the versions read, ordered
//!   by `compare_versions` in Rust, as the API does);
//! - devices with a package name containing `ssl`, and the rare package.
//!
//! Each runs `DESKSIDE_BENCH_RUNS` times (default 100): p50 and p99.
//! `DESKSIDE_BENCH_KEEP=1` keeps the database for the next run, which then
//! skips the fill (about a quarter of an hour for 100,000 devices here). The
//! peer is the desk before the catalogue counts: the same questions asked
//! with the queries it ran (a `COUNT(DISTINCT)` per catalogue page, an
//! `EXISTS` per device), a few times each, in the same run, as a ratio.

#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::time::{Duration, Instant};

use deskside_protocol::compare_versions;
use deskside_server::store::{DeviceFilter, PgStore, Store};
use sqlx::Connection;

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

async fn time<F, Fut>(runs: u64, mut f: F) -> Vec<Duration>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = usize>,
{
    let mut out = Vec::new();
    let mut last = usize::MAX;
    for _ in 0..runs {
        let t = Instant::now();
        let n = f().await;
        out.push(t.elapsed());
        assert!(
            last == usize::MAX || last == n,
            "answers differ between runs"
        );
        last = n;
    }
    out.sort();
    out
}

async fn fill(pool: &sqlx::PgPool, devices: u64, packages: u64) {
    let tail = 1400;
    let core = packages.saturating_sub(200).max(2);
    let started = Instant::now();
    for sql in [
        "SET maintenance_work_mem = '1GB'",
        "ALTER TABLE device_software DROP CONSTRAINT device_software_pkey",
        "DROP INDEX device_software_name",
    ] {
        sqlx::query(sql).execute(pool).await.unwrap();
    }
    sqlx::query(
        "INSERT INTO devices (id, hostname, token_hash, enrolled_at, last_seen, os_name, health, agent_version) \
         SELECT d, 'host-' || d, 'token-' || d, now() - interval '90 days', now() - (d % 600) * interval '1 minute', \
         'Debian GNU/Linux 12 (bookworm)', CASE WHEN d % 10 = 0 THEN 'warning' ELSE 'ok' END, '0.1.0' \
         FROM generate_series(1, $1::bigint) AS d",
    )
    .bind(i64::try_from(devices).unwrap())
    .execute(pool)
    .await
    .unwrap();
    sqlx::query("SELECT setval('devices_id_seq', $1::bigint)")
        .bind(i64::try_from(devices).unwrap())
        .execute(pool)
        .await
        .unwrap();
    // In batches of 10,000 devices: one statement of 80 million rows
    // would hold its whole WAL until the end.
    let batch = 10_000u64;
    let mut from = 1u64;
    while from <= devices {
        let to = (from + batch - 1).min(devices);
        sqlx::query(
            "INSERT INTO device_software (device_id, name, version) \
             SELECT d, CASE k WHEN 0 THEN 'openssl' WHEN 1 THEN 'libssl3' ELSE 'pkg-' || lpad(k::text, 4, '0') END, \
                    CASE WHEN k < 2 THEN '3.0.' || (11 + d % 5) ELSE (k % 7) || '.' || (d % 3) || '.' || (k % 11) END \
             FROM generate_series($1::bigint, $2::bigint) AS d, generate_series(0, $3::int - 1) AS k \
             UNION ALL \
             SELECT d, 'tail-' || lpad(((d * 7 + j * 13) % $4::int)::text, 4, '0'), '1.' || (d % 4) \
             FROM generate_series($1::bigint, $2::bigint) AS d, generate_series(0, $5::int - 1) AS j \
             UNION ALL \
             SELECT d, 'rare-tool', '2.1' FROM generate_series($1::bigint, $2::bigint) AS d WHERE d % ($6::bigint / 10) = 7",
        )
        .bind(i64::try_from(from).unwrap())
        .bind(i64::try_from(to).unwrap())
        .bind(i32::try_from(core).unwrap())
        .bind(tail)
        .bind(i32::try_from(packages - core).unwrap())
        .bind(i64::try_from(devices.max(10)).unwrap())
        .execute(pool)
        .await
        .unwrap();
        from = to + 1;
    }
    println!(
        "  filled device_software in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    for sql in [
        "ALTER TABLE device_software ADD PRIMARY KEY (device_id, name, version)",
        "CREATE INDEX device_software_name ON device_software (name, version, device_id)",
        "INSERT INTO software_catalogue (name, version, devices) \
         SELECT name, version, COUNT(*) FROM device_software GROUP BY name, version",
        "INSERT INTO software_names (name, devices) \
         SELECT name, COUNT(DISTINCT device_id) FROM device_software GROUP BY name",
        "VACUUM ANALYZE",
    ] {
        sqlx::query(sql).execute(pool).await.unwrap();
    }
    println!(
        "  indexes and catalogue counts in {:.0} s",
        t.elapsed().as_secs_f64()
    );
}

/// The catalogue page as the desk computed it before the counts.
const BEFORE_CATALOGUE: &str = "WITH names AS (SELECT name, COUNT(DISTINCT device_id) AS total FROM device_software \
     WHERE ($1::text IS NULL OR name ILIKE $1 ESCAPE '\\') GROUP BY name ORDER BY name LIMIT 100) \
     SELECT s.name, s.version, COUNT(*) AS devices, names.total FROM device_software s \
     JOIN names ON names.name = s.name GROUP BY s.name, s.version, names.total ORDER BY s.name, s.version";

/// The device search by package as the desk ran it before.
const BEFORE_DEVICES: &str = "SELECT d.id FROM devices d WHERE EXISTS (SELECT 1 FROM device_software s \
     WHERE s.device_id = d.id AND s.name ILIKE $1 ESCAPE '\\' AND ($2::text IS NULL OR s.version = $2)) \
     AND d.id > 0 ORDER BY d.id LIMIT 50";

#[tokio::main]
async fn main() {
    let Some(url) = std::env::var("DESKSIDE_BENCH_PG_URL")
        .or_else(|_| std::env::var("DESKSIDE_TEST_PG_URL"))
        .ok()
    else {
        println!(
            "software_search: set DESKSIDE_BENCH_PG_URL (or DESKSIDE_TEST_PG_URL) to a PostgreSQL server"
        );
        return;
    };
    let devices = env_num("DESKSIDE_BENCH_DEVICES", 100_000);
    let packages = env_num("DESKSIDE_BENCH_PACKAGES", 800).max(202);
    let runs = env_num("DESKSIDE_BENCH_RUNS", 100).max(1);
    let peer_runs = env_num("DESKSIDE_BENCH_PEER_RUNS", 3).max(1);
    let name = "deskside_bench_software";
    // DESKSIDE_BENCH_KEEP=1 keeps the filled database; a later run with it
    // set measures again without the quarter of an hour of filling.
    let keep = std::env::var("DESKSIDE_BENCH_KEEP").is_ok_and(|v| v == "1");
    let mut admin = sqlx::PgConnection::connect(&url).await.unwrap();
    let (base, _) = url.rsplit_once('/').unwrap();
    let db_url = format!("{base}/{name}");
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(name)
            .fetch_one(&mut admin)
            .await
            .unwrap();
    let mut reused = false;
    if keep && exists {
        let pool = sqlx::PgPool::connect(&db_url).await.unwrap();
        let have: Option<i64> = sqlx::query_scalar("SELECT MAX(id) FROM devices")
            .fetch_one(&pool)
            .await
            .unwrap_or(None);
        reused = have == Some(i64::try_from(devices).unwrap());
        pool.close().await;
    }
    if !reused {
        sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut admin)
            .await
            .unwrap();
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .unwrap();
    }
    let store = PgStore::open(&db_url).await.unwrap();
    store.migrate().await.unwrap();
    let pool = sqlx::PgPool::connect(&db_url).await.unwrap();
    println!("software_search: {devices} devices × {packages} packages on PostgreSQL");
    if reused {
        println!("  reusing the database filled by an earlier run (DESKSIDE_BENCH_KEEP=1)");
    } else {
        fill(&pool, devices, packages).await;
    }
    let size: i64 = sqlx::query_scalar("SELECT pg_database_size(current_database())")
        .fetch_one(&pool)
        .await
        .unwrap();
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM device_software")
        .fetch_one(&pool)
        .await
        .unwrap();
    println!(
        "  {rows} package rows, database {:.1} GiB",
        size as f64 / f64::from(1u32 << 30)
    );

    let filter = |software: &str,
                  exact: bool,
                  version: Option<&str>,
                  versions: Option<Vec<String>>| DeviceFilter {
        software: Some(software.to_owned()),
        software_exact: exact,
        software_version: version.map(str::to_owned),
        software_versions: versions,
        limit: 50,
        ..DeviceFilter::default()
    };
    let s = &store;
    let mut lines = Vec::new();
    macro_rules! case {
        ($what:expr, $now:expr, $before:expr) => {{
            let now = time(runs, || $now).await;
            let before = time(peer_runs, || $before).await;
            let (p50, p99, peer) = (pct(&now, 0.5), pct(&now, 0.99), pct(&before, 0.5));
            println!(
                "  {:<44} p50 {:>7.1} ms  p99 {:>7.1} ms   before (p50): {:>9.1} ms, ratio {:.1}",
                $what,
                ms(p50),
                ms(p99),
                ms(peer),
                peer.as_secs_f64() / p99.as_secs_f64()
            );
            lines.push(($what, p99));
        }};
    }
    case!(
        "catalogue, first page (100 packages)",
        async { s.software(None, None, 100).await.unwrap().len() },
        async {
            sqlx::query(BEFORE_CATALOGUE)
                .bind(None::<String>)
                .fetch_all(&pool)
                .await
                .unwrap()
                .len()
        }
    );
    case!(
        "catalogue, search \"ssl\"",
        async { s.software(Some("ssl"), None, 100).await.unwrap().len() },
        async {
            sqlx::query(BEFORE_CATALOGUE)
                .bind(Some("%ssl%"))
                .fetch_all(&pool)
                .await
                .unwrap()
                .len()
        }
    );
    case!(
        "devices with openssl = 3.0.13",
        async {
            s.list_devices(&filter("openssl", true, Some("3.0.13"), None))
                .await
                .unwrap()
                .len()
        },
        async {
            sqlx::query(BEFORE_DEVICES)
                .bind("openssl")
                .bind(Some("3.0.13"))
                .fetch_all(&pool)
                .await
                .unwrap()
                .len()
        }
    );
    case!(
        "devices with openssl older than 3.0.13",
        async {
            // As the API answers `software_older_than`: the versions in
            // the agents' order, then the devices on the older ones.
            let older: Vec<String> = s
                .software_versions("openssl", true)
                .await
                .unwrap()
                .into_iter()
                .filter(|v| compare_versions(v, "3.0.13").is_lt())
                .collect();
            s.list_devices(&filter("openssl", true, None, Some(older)))
                .await
                .unwrap()
                .len()
        },
        async {
            let mut n = 0;
            for v in ["3.0.11", "3.0.12"] {
                n += sqlx::query(BEFORE_DEVICES)
                    .bind("openssl")
                    .bind(Some(v))
                    .fetch_all(&pool)
                    .await
                    .unwrap()
                    .len();
            }
            n.min(50)
        }
    );
    case!(
        "devices with a package containing \"ssl\"",
        async {
            s.list_devices(&filter("ssl", false, None, None))
                .await
                .unwrap()
                .len()
        },
        async {
            sqlx::query(BEFORE_DEVICES)
                .bind("%ssl%")
                .bind(None::<String>)
                .fetch_all(&pool)
                .await
                .unwrap()
                .len()
        }
    );
    case!(
        "devices with rare-tool (on 10 devices)",
        async {
            s.list_devices(&filter("rare-tool", true, None, None))
                .await
                .unwrap()
                .len()
        },
        async {
            sqlx::query(BEFORE_DEVICES)
                .bind("rare-tool")
                .bind(None::<String>)
                .fetch_all(&pool)
                .await
                .unwrap()
                .len()
        }
    );
    let worst = lines.iter().map(|l| l.1).max().unwrap();
    println!(
        "  worst p99 {:.1} ms against the 200 ms target: ratio {:.2}",
        ms(worst),
        ms(worst) / 200.0
    );
    drop(store);
    pool.close().await;
    if !keep {
        sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut admin)
            .await
            .unwrap();
    }
}
