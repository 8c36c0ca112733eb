//! Load generator (release build):
//!
//!     cargo bench -p deskside-server --bench load
//!
//! Starts the desk in-process on 127.0.0.1 (SQLite in a temp dir, and
//! PostgreSQL when `DESKSIDE_BENCH_PG_URL` or `DESKSIDE_TEST_PG_URL` names a
//! server), enrolls `DESKSIDE_BENCH_DEVICES` devices (default 10,000), then:
//! 1. check-ins as fast as `DESKSIDE_BENCH_CONCURRENCY` (64) clients go,
//!    for `DESKSIDE_BENCH_SECS` (15) seconds: throughput, p50, p99;
//! 2. check-ins at a fixed 1,000 per second for the same time: p50, p99;
//! 3. 200 inventory uploads and 200 ticket submissions: p50, p99.
//!
//! The client runs in the same process on the same 2 cores.

#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use deskside_server::api::{self, Limits, router};
use deskside_server::blobs::DiskBlobs;
use deskside_server::credentials::hash_token;
use deskside_server::store::{self, Backend, Store};

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn pct(sorted: &[Duration], p: f64) -> String {
    if sorted.is_empty() {
        return "-".into();
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    format!("{:.1} ms", sorted[i].as_secs_f64() * 1000.0)
}

async fn start<S: Store>(store: S, dir: &std::path::Path) -> String {
    store.migrate().await.unwrap();
    store
        .create_enroll_secret(Some("bench"), &hash_token("bench-secret"), None)
        .await
        .unwrap();
    let limits = Limits {
        enroll_per_minute: u32::MAX / 4,
        ..Limits::default()
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = router(store, DiskBlobs::new(dir.join("blobs")).unwrap(), limits);
    tokio::spawn(api::serve(listener, app, std::future::pending()));
    format!("http://{addr}")
}

async fn post(client: &reqwest::Client, url: &str, token: Option<&str>, body: Vec<u8>) -> Duration {
    let t = Instant::now();
    let mut req = client
        .post(url)
        .header("content-type", "application/json")
        .body(body);
    if let Some(tok) = token {
        req = req.header("authorization", format!("Bearer {tok}"));
    }
    let r = req.send().await.unwrap();
    let status = r.status();
    let _ = r.bytes().await;
    assert!(status.is_success(), "{url}: {status}");
    t.elapsed()
}

fn checkin_body() -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "agent_version": "0.1.0", "overall_health": "ok", "policy_version": 1, "inventory_hash": "x",
        "check_results": [{"check_id": "disk-free", "state": "ok", "summary": "/: 40% free",
            "timestamp": chrono::Utc::now(), "duration_ms": 1, "alert_state": "ok"}],
    }))
    .unwrap()
}

async fn run(label: &str, base: String) {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()
        .unwrap();
    let devices = env_num("DESKSIDE_BENCH_DEVICES", 10_000) as usize;
    let conc = env_num("DESKSIDE_BENCH_CONCURRENCY", 64) as usize;
    let secs = env_num("DESKSIDE_BENCH_SECS", 15);

    // Enrollment.
    let started = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..conc {
        let (client, base, next) = (client.clone(), base.clone(), Arc::clone(&next));
        tasks.push(tokio::spawn(async move {
            let mut tokens = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= devices {
                    return tokens;
                }
                let body = serde_json::to_vec(&serde_json::json!({"enroll_secret": "bench-secret",
                    "device": {"device_key": format!("bench-{i}"), "hostname": format!("pc-{i}")}}))
                .unwrap();
                let r = client
                    .post(format!("{base}/api/v1/enroll"))
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                let status = r.status();
                let v: serde_json::Value =
                    serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
                assert!(status.is_success(), "enroll: {status} {v}");
                tokens.push(v["device_token"].as_str().unwrap().to_owned());
            }
        }));
    }
    let mut tokens = Vec::new();
    for t in tasks {
        tokens.extend(t.await.unwrap());
    }
    let tokens = Arc::new(tokens);
    let enroll_rate = devices as f64 / started.elapsed().as_secs_f64();

    // Check-ins, flat out.
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for w in 0..conc {
        let (client, base, tokens) = (client.clone(), base.clone(), Arc::clone(&tokens));
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut i = w;
            while Instant::now() < deadline {
                let tok = &tokens[i % tokens.len()];
                lat.push(
                    post(
                        &client,
                        &format!("{base}/api/v1/agent/checkin"),
                        Some(tok),
                        checkin_body(),
                    )
                    .await,
                );
                i += conc;
            }
            lat
        }));
    }
    let mut flat: Vec<Duration> = Vec::new();
    for t in tasks {
        flat.extend(t.await.unwrap());
    }
    flat.sort();
    let throughput = flat.len() as f64 / secs as f64;

    // Check-ins at 1,000 per second.
    let total = 1000 * secs as usize;
    let start = Instant::now();
    let mut tasks = Vec::new();
    for n in 0..total {
        let (client, base, tokens) = (client.clone(), base.clone(), Arc::clone(&tokens));
        let at = start + Duration::from_micros(n as u64 * 1000);
        tasks.push(tokio::spawn(async move {
            tokio::time::sleep_until(at.into()).await;
            post(
                &client,
                &format!("{base}/api/v1/agent/checkin"),
                Some(&tokens[n % tokens.len()]),
                checkin_body(),
            )
            .await
        }));
    }
    let mut paced: Vec<Duration> = Vec::new();
    for t in tasks {
        paced.push(t.await.unwrap());
    }
    paced.sort();

    // Inventories and tickets.
    let inv = serde_json::to_vec(&serde_json::json!({"collected_at": chrono::Utc::now(),
        "software": (0..800).map(|i| serde_json::json!({"name": format!("pkg{i}"), "version": "1.0", "source": "dpkg"})).collect::<Vec<_>>()}))
    .unwrap();
    let mut inv_lat = Vec::new();
    for tok in tokens.iter().take(200) {
        let t = Instant::now();
        let r = client
            .put(format!("{base}/api/v1/agent/inventory"))
            .header("content-type", "application/json")
            .header("authorization", format!("Bearer {tok}"))
            .body(inv.clone())
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
        let _ = r.bytes().await;
        inv_lat.push(t.elapsed());
    }
    inv_lat.sort();
    let mut ticket_lat = Vec::new();
    for (i, tok) in tokens.iter().take(200).enumerate() {
        let form = reqwest::multipart::Form::new()
            .part(
                "ticket",
                reqwest::multipart::Part::bytes(
                    br#"{"subject":"Bench ticket","urgency":"low"}"#.to_vec(),
                )
                .mime_str("application/json")
                .unwrap(),
            )
            .part(
                "diagnostics",
                reqwest::multipart::Part::bytes(vec![7u8; 200 * 1024])
                    .file_name("diagnostics.json.gz"),
            );
        let t = Instant::now();
        let r = client
            .post(format!("{base}/api/v1/agent/tickets"))
            .header("authorization", format!("Bearer {tok}"))
            .header("idempotency-key", format!("bench-{i}"))
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
        let _ = r.bytes().await;
        ticket_lat.push(t.elapsed());
    }
    ticket_lat.sort();

    println!(
        "| {label} | {devices} devices enrolled at {enroll_rate:.0}/s | **{throughput:.0} check-ins/s** (p50 {}, p99 {}, {conc} clients) | at 1,000/s: p50 {}, **p99 {}** | inventory (800 packages): p50 {}, p99 {} | ticket with 200 KB diagnostics: p50 {}, p99 {} |",
        pct(&flat, 0.5),
        pct(&flat, 0.99),
        pct(&paced, 0.5),
        pct(&paced, 0.99),
        pct(&inv_lat, 0.5),
        pct(&inv_lat, 0.99),
        pct(&ticket_lat, 0.5),
        pct(&ticket_lat, 0.99)
    );
}

fn main() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let _ = rustls::crypto::ring::default_provider().install_default();
        println!("| backend | enrollment | check-ins, flat out | check-ins, paced | inventory | tickets |");
        println!("|---|---|---|---|---|---|");
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("desk.db").display());
        if let Backend::Sqlite(s) = store::open(&url).await.unwrap() {
            let base = start(s, dir.path()).await;
            run("SQLite", base).await;
        }
        let pg = std::env::var("DESKSIDE_BENCH_PG_URL").or_else(|_| std::env::var("DESKSIDE_TEST_PG_URL"));
        if let Ok(admin_url) = pg {
            let admin = sqlx::PgPool::connect(&admin_url).await.unwrap();
            let _ = sqlx::query("DROP DATABASE IF EXISTS deskside_bench").execute(&admin).await;
            sqlx::query("CREATE DATABASE deskside_bench").execute(&admin).await.unwrap();
            let url = format!("{}/deskside_bench", admin_url.rsplit_once('/').unwrap().0);
            if let Backend::Postgres(s) = store::open(&url).await.unwrap() {
                let base = start(s, dir.path()).await;
                run("PostgreSQL", base).await;
            }
        } else {
            println!("\n(no PostgreSQL: set DESKSIDE_BENCH_PG_URL)");
        }
    });
}
