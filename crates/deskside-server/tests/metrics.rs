//! Metric storage in tiers and its downsampling, on every backend: 30 days
//! of one-minute samples go in through check-ins, the rollup pass folds
//! what is older than 48 hours into hours (run twice at once, as two
//! nodes would), and every chart — 1 h, 24 h, 7 d, 30 d and odd ranges
//! and steps — equals a brute-force computation from the samples.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};
use deskside_server::metric_tiers::{self, RAW_WINDOW, Window};
use deskside_server::store::{Checkin, NewEnrollment, Store};

/// One sample's values, as `series_of` would give them.
type Values = Vec<(String, f64)>;

/// A repeatable pseudo-random number in 0..1 (xorshift).
fn noise(seed: &mut u64) -> f64 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    (*seed % 10_000) as f64 / 10_000.0
}

/// 30 days of samples a minute apart ending at `now`, with spikes, an
/// interface that comes and goes, and values stored as f32 (as the desk
/// stores them, so that the reference sees what the desk can know).
fn samples(now: i64) -> Vec<(i64, Values)> {
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let mut out = Vec::new();
    let mut t = now - 30 * 86_400;
    while t < now {
        let mut v = vec![
            ("cpu".to_owned(), 5.0 + 20.0 * noise(&mut seed)),
            ("memory_used".to_owned(), 4.0e9 + 1.0e9 * noise(&mut seed)),
            (
                "volume_used:/".to_owned(),
                40.0 + (t % 86_400) as f64 / 8640.0,
            ),
        ];
        // A one-minute spike now and then: the max of its bucket must
        // show it at every step.
        if noise(&mut seed) > 0.995 {
            v[0].1 = 99.5;
        }
        // Wi-Fi only in office hours.
        if (t / 3600) % 24 >= 8 && (t / 3600) % 24 < 18 {
            v.push(("net_rx:wlan0".to_owned(), 1.0e6 * noise(&mut seed)));
        }
        for (_, x) in &mut v {
            *x = f64::from(*x as f32);
        }
        out.push((t, v));
        t += 60;
    }
    out
}

/// A bucket's (count, min, sum, max).
type Expected = Option<(u32, f64, f64, f64)>;

/// What each series' buckets must hold.
fn reference(samples: &[(i64, Values)], w: &Window) -> BTreeMap<String, Vec<Expected>> {
    let mut out: BTreeMap<String, Vec<Expected>> = BTreeMap::new();
    for (t, values) in samples {
        if *t < w.start || *t >= w.end() {
            continue;
        }
        let i = ((t - w.start) / w.step) as usize;
        for (name, v) in values {
            let slot = &mut out
                .entry(name.clone())
                .or_insert_with(|| vec![None; w.count as usize])[i];
            *slot = Some(match *slot {
                None => (1, *v, *v, *v),
                Some((n, lo, sum, hi)) => (n + 1, lo.min(*v), sum + v, hi.max(*v)),
            });
        }
    }
    out
}

async fn assert_chart<S: Store>(s: &S, device: i64, samples: &[(i64, Values)], w: Window) {
    let got = metric_tiers::chart(s, device, w).await.unwrap();
    let want = reference(samples, &w);
    let names: Vec<&String> = got.iter().map(|(n, _)| n).collect();
    assert_eq!(names, want.keys().collect::<Vec<_>>(), "series of {w:?}");
    for (name, buckets) in got {
        let expected = &want[&name];
        assert_eq!(buckets.len(), expected.len());
        for (i, (g, e)) in buckets.iter().zip(expected).enumerate() {
            match (g, e) {
                (None, None) => {}
                (Some(g), Some((n, lo, sum, hi))) => {
                    let at = w.start + i as i64 * w.step;
                    assert_eq!(g.count, *n, "{name} at {at}: count");
                    // min and max are exact (f32 in, f32 kept); the average
                    // of a rollup is kept as f32.
                    assert_eq!(g.min, *lo, "{name} at {at}: min");
                    assert_eq!(g.max, *hi, "{name} at {at}: max");
                    let avg = sum / f64::from(*n);
                    assert!(
                        (g.avg() - avg).abs() <= avg.abs() * 1e-5 + 1e-6,
                        "{name} at {at}: avg {} / {avg}",
                        g.avg()
                    );
                }
                _ => panic!("{name} bucket {i} of {w:?}: {g:?} / {e:?}"),
            }
        }
    }
}

async fn checkin<S: Store>(s: &S, device: i64, batch: &[(i64, Values)]) {
    s.record_checkin(&Checkin {
        device_id: device,
        agent_version: None,
        health: None,
        results: Vec::new(),
        samples: batch
            .iter()
            .map(|(t, v)| (DateTime::from_timestamp(*t, 0).unwrap(), v.clone()))
            .collect(),
        running_checks: None,
        at: Utc::now(),
    })
    .await
    .unwrap();
}

async fn metrics_suite<S: Store + Clone + Send + Sync + 'static>(s: S) {
    let enroll = |token: &'static str| NewEnrollment {
        device_key: None,
        serial_number: None,
        hostname: Some(token),
        token_hash: token,
        public_key: None,
    };
    let a = s.enroll_device(&enroll("a")).await.unwrap().device_id;
    let b = s.enroll_device(&enroll("b")).await.unwrap().device_id;
    let now = Utc::now().timestamp() / 60 * 60;
    let mut all = samples(now);
    for batch in all.chunks(2000) {
        checkin(&s, a, batch).await;
    }
    // A batch sent again (its acknowledgement lost) is stored once.
    checkin(&s, a, &all[all.len() - 10..]).await;
    // Device b's samples never show on a's charts.
    checkin(&s, b, &[(now - 120, vec![("cpu".to_owned(), 1.0)])]).await;

    // Two nodes roll up at once: each sample is counted exactly once.
    let cutoff = now - RAW_WINDOW;
    let (x, y) = tokio::join!(s.roll_up_metrics(cutoff), s.roll_up_metrics(cutoff));
    let older = all.iter().filter(|(t, _)| *t < cutoff).count() as u64;
    assert_eq!(x.unwrap() + y.unwrap(), older);
    assert_eq!(s.roll_up_metrics(cutoff).await.unwrap(), 0, "idempotent");
    let rows = s.metric_rows(a, now - 30 * 86_400, now).await.unwrap();
    assert!(rows.raw.iter().all(|(t, _)| *t >= cutoff));
    assert!(rows.rollups.iter().all(|(h, _)| *h < cutoff));
    assert!(rows.rollups.len() <= 30 * 24);

    // A sample that arrives late, for an hour already rolled up, joins it.
    let late = (
        now - 10 * 86_400 + 30,
        vec![("cpu".to_owned(), 100.0), ("processes".to_owned(), 7.0)],
    );
    checkin(&s, a, std::slice::from_ref(&late)).await;
    assert_eq!(s.roll_up_metrics(cutoff).await.unwrap(), 1);
    all.push(late);
    all.sort_by_key(|(t, _)| *t);

    for (range, step) in [
        (3600, None),
        (86_400, None),
        (7 * 86_400, None),
        (30 * 86_400, None),
        (30 * 86_400, Some(86_400)),
        (3600, Some(60)),
        (47 * 3600, Some(300)),
        (11 * 86_400 + 1234, Some(5 * 3600)),
    ] {
        let w = Window::plan(now - range, now, step, now).unwrap();
        assert_chart(&s, a, &all, w).await;
    }
    // Straddling the tier boundary at an odd start.
    let w = Window::plan(cutoff - 5 * 3600 - 17, cutoff + 3 * 3600, Some(3600), now).unwrap();
    assert_chart(&s, a, &all, w).await;

    let w = Window::plan(now - 3600, now, None, now).unwrap();
    let other = metric_tiers::chart(&s, b, w).await.unwrap();
    assert_eq!(other.len(), 1);
    assert_eq!(other[0].1.iter().flatten().map(|a| a.count).sum::<u32>(), 1);

    // Retention deletes both tiers before the cutoff, nothing after.
    let keep_from = now - 7 * 86_400;
    s.prune_metric_samples(DateTime::from_timestamp(keep_from, 0).unwrap())
        .await
        .unwrap();
    let rows = s.metric_rows(a, 0, keep_from).await.unwrap();
    assert!(rows.raw.is_empty() && rows.rollups.is_empty());
    // Rollups go by the hour: the hour that holds the cutoff goes too.
    all.retain(|(t, _)| t.div_euclid(3600) * 3600 >= keep_from);
    let w = Window::plan(now - 30 * 86_400, now, None, now).unwrap();
    assert_chart(&s, a, &all, w).await;
}

/// JSON samples an older desk stored become numbers, and nothing is lost.
async fn legacy_suite<S: Store>(
    s: &S,
    device: i64,
    insert: impl AsyncFn(i64, DateTime<Utc>, &str),
) {
    let now = Utc::now() - TimeDelta::minutes(5);
    let sample = |cpu: f32| {
        serde_json::json!({
            "timestamp": now,
            "cpu": {"usage_percent": cpu},
            "volumes": [{"mount_point": "/", "total_bytes": 100, "free_bytes": 25}]
        })
        .to_string()
    };
    insert(device, now - TimeDelta::days(3), &sample(10.0)).await;
    insert(device, now - TimeDelta::minutes(1), &sample(20.0)).await;
    insert(device, now, "not a sample").await;
    assert_eq!(metric_tiers::convert_legacy(s, 2).await.unwrap(), 2);
    assert_eq!(metric_tiers::convert_legacy(s, 2).await.unwrap(), 1);
    assert_eq!(metric_tiers::convert_legacy(s, 2).await.unwrap(), 0);
    assert!(s.legacy_metric_samples(10).await.unwrap().is_empty());
    s.roll_up_metrics(Utc::now().timestamp() - RAW_WINDOW)
        .await
        .unwrap();
    let w = Window::plan(
        (now - TimeDelta::days(4)).timestamp(),
        Utc::now().timestamp(),
        Some(86_400 * 5),
        Utc::now().timestamp(),
    )
    .unwrap();
    let chart = metric_tiers::chart(s, device, w).await.unwrap();
    let cpu = &chart.iter().find(|(n, _)| n == "cpu").unwrap().1;
    let all: Vec<_> = cpu.iter().flatten().collect();
    assert_eq!(all.iter().map(|a| a.count).sum::<u32>(), 2);
    assert_eq!(all.iter().map(|a| a.max).fold(0.0, f64::max), 20.0);
    let disk = &chart.iter().find(|(n, _)| n == "volume_used:/").unwrap().1;
    assert_eq!(disk.iter().flatten().next().unwrap().max, 75.0);
}

#[tokio::test]
async fn sqlite_metrics_match_the_reference() {
    let (s, _dir) = common::sqlite().await;
    metrics_suite(s).await;
}

#[tokio::test]
async fn postgres_metrics_match_the_reference() {
    if let Some(s) = common::postgres().await {
        metrics_suite(s).await;
    }
}

#[tokio::test]
async fn sqlite_converts_json_samples() {
    let (s, dir) = common::sqlite().await;
    let url = format!("sqlite://{}", dir.path().join("desk.db").display());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    let device = s
        .enroll_device(&NewEnrollment {
            device_key: None,
            serial_number: None,
            hostname: Some("old"),
            token_hash: "old",
            public_key: None,
        })
        .await
        .unwrap()
        .device_id;
    legacy_suite(&s, device, async |d, at, json| {
        sqlx::query("INSERT INTO metric_samples (device_id, taken_at, sample) VALUES (?1, ?2, ?3)")
            .bind(d)
            .bind(at)
            .bind(json)
            .execute(&pool)
            .await
            .unwrap();
    })
    .await;
}

#[tokio::test]
async fn postgres_converts_json_samples() {
    let Some(url) = common::pg_url().await else {
        return;
    };
    let s = deskside_server::store::PgStore::open(&url).await.unwrap();
    s.migrate().await.unwrap();
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    let device = s
        .enroll_device(&NewEnrollment {
            device_key: None,
            serial_number: None,
            hostname: Some("old"),
            token_hash: "old",
            public_key: None,
        })
        .await
        .unwrap()
        .device_id;
    legacy_suite(&s, device, async |d, at, json| {
        sqlx::query("INSERT INTO metric_samples (device_id, taken_at, sample) VALUES ($1, $2, $3)")
            .bind(d)
            .bind(at)
            .bind(json)
            .execute(&pool)
            .await
            .unwrap();
    })
    .await;
}
