//! Tickets opened by failing health checks and fixes verified on the
//! device, through the HTTP API on SQLite and PostgreSQL, with two desk
//! nodes running their timers on one database: one ticket per device and
//! check (a retry and a later episode go to it), resolution once the
//! device shows the check ok for `resolve_after` (once, whichever node
//! sees it), a relapse reopening it, a technician's fix watched with the
//! employee's rating held back until it held, and the desk forgetting the
//! results of checks a device no longer runs.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use chrono::{TimeDelta, Utc};
use common::{call, file_ticket};
use deskside_server::api::Limits;
use deskside_server::credentials::{hash_token, new_token};
use deskside_server::store::{Checkin, Role, Store};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn start<S: Store>(store: S) -> String {
    common::serve(
        store,
        Limits {
            request_timeout: Duration::from_secs(10),
            // The timer that resolves verified tickets, often.
            sla_interval: Some(Duration::from_millis(150)),
            ..Limits::default()
        },
    )
    .await
}

fn result(check_id: &str, state: &str) -> Value {
    let now = Utc::now();
    json!({"check_id": check_id, "state": state, "alert_state": state, "summary": format!("{check_id} is {state}"),
           "timestamp": now, "duration_ms": 1, "consecutive_failures": 0, "last_state_change": now})
}

async fn checkin(base: &str, device: &str, body: Value) -> Value {
    let (status, answer) = call(
        Method::POST,
        format!("{base}/api/v1/agent/checkin"),
        device,
        Some(body),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    answer
}

/// A ticket as technicians see it.
async fn ticket(base: &str, token: &str, id: i64) -> Value {
    let (status, t) = call(
        Method::GET,
        format!("{base}/api/v1/tickets/{id}"),
        token,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{t}");
    t
}

/// Waits until ticket `id` has `status` (the timers run every 150 ms).
async fn await_status(base: &str, token: &str, id: i64, status: &str) -> Value {
    let mut t = Value::Null;
    for _ in 0..100 {
        t = ticket(base, token, id).await;
        if t["ticket"]["status"] == status {
            return t;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("ticket {id} never became {status}: {t}");
}

fn notes(t: &Value, kind: &str) -> usize {
    t["comments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["note"]["kind"] == kind)
        .count()
}

fn hours_from_now(at: &Value) -> f64 {
    let at: chrono::DateTime<Utc> = serde_json::from_value(at.clone()).unwrap();
    (at - Utc::now()).num_seconds() as f64 / 3600.0
}

async fn kpis(base: &str, token: &str) -> Value {
    let (status, k) = call(
        Method::GET,
        format!("{base}/api/v1/reports/kpis"),
        token,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{k}");
    k
}

async fn resolve(base: &str, token: &str, id: i64) {
    let t = ticket(base, token, id).await;
    let (status, body) = call(
        Method::PATCH,
        format!("{base}/api/v1/tickets/{id}"),
        token,
        Some(json!({"status": "resolved", "version": t["version"]})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

async fn check_tickets<S: Store>(s: S) {
    // Two nodes on one database, both running the timer.
    let base = start(s.clone()).await;
    let other_node = start(s.clone()).await;
    let user = s
        .create_user("verify@example.com", Role::Technician, None)
        .await
        .unwrap();
    let token = new_token("dsk_api");
    s.create_api_token(user.id, &hash_token(&token), None)
        .await
        .unwrap();
    s.create_enroll_secret(Some("ct"), &hash_token("ct-secret"), None)
        .await
        .unwrap();
    let (status, enrolled) = call(
        Method::POST,
        format!("{base}/api/v1/enroll"),
        "",
        Some(json!({"enroll_secret": "ct-secret", "device": {"device_key": "ct-1", "hostname": "ct-1"}})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{enrolled}");
    let device = enrolled["device_token"].as_str().unwrap().to_owned();
    let device_id = enrolled["device_id"].as_i64().unwrap();

    // The desk says it keeps checks' tickets; the disk and memory checks
    // fail.
    let answer = checkin(
        &base,
        &device,
        json!({"check_results": [result("disk", "critical"), result("mem", "warning")]}),
    )
    .await;
    assert!(
        answer["features"]
            .as_array()
            .unwrap()
            .contains(&json!("check_tickets")),
        "{answer}"
    );

    // Refused: a check without an id, a resolve_after out of bounds.
    let since = Utc::now() - TimeDelta::minutes(30);
    let check = |id: &str, resolve_after: u64| {
        json!({"subject": "Disk almost full", "check": {"check_id": id, "failing_since": since,
               "resolve_after_secs": resolve_after}})
    };
    for (bad, what) in [
        (check("", 3600), "check_id"),
        (check("disk", 5), "resolve_after_secs"),
    ] {
        let (status, body) = file_ticket(&base, &device, "check-bad", bad).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(body["error"]["code"], "invalid_body");
        assert!(
            body["error"]["message"].as_str().unwrap().contains(what),
            "{body}"
        );
    }

    // The episode's ticket; its retry; a later episode while it is open.
    let (status, first) = file_ticket(&base, &device, "check-a", check("disk", 3600)).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let id = first["id"].as_i64().unwrap();
    let (status, again) = file_ticket(&base, &device, "check-a", check("disk", 3600)).await;
    assert_eq!((status, again["id"].as_i64()), (StatusCode::OK, Some(id)));
    let (status, later) = file_ticket(&base, &device, "check-b", check("disk", 3600)).await;
    assert_eq!(
        (status, later["id"].as_i64()),
        (StatusCode::OK, Some(id)),
        "a later episode goes to the open ticket: {later}"
    );
    let (_, mine) = call(
        Method::GET,
        format!("{base}/api/v1/agent/tickets"),
        &device,
        None,
    )
    .await;
    assert_eq!(mine.as_array().unwrap().len(), 1, "{mine}");
    let t = ticket(&base, &token, id).await;
    assert_eq!(t["verification"]["check_id"], "disk");
    assert_eq!(t["verification"]["resolve_after_secs"], 3600);
    assert_eq!(t["verification"]["watched_checks"], json!(["disk", "mem"]));

    // The check is ok again, but not for an hour yet: the ticket stays.
    s.record_checkin(&Checkin {
        device_id,
        agent_version: None,
        health: None,
        results: vec![("disk", "ok", result("disk", "ok").to_string())],
        samples: Vec::new(),
        running_checks: None,
        at: Utc::now() - TimeDelta::minutes(10),
    })
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(ticket(&base, &token, id).await["ticket"]["status"], "new");
    // It fails again while the ticket is open: noted, once an hour however
    // often it flaps.
    for state in ["critical", "ok", "critical"] {
        checkin(
            &base,
            &device,
            json!({"check_results": [result("disk", state)]}),
        )
        .await;
    }
    let t = ticket(&base, &token, id).await;
    assert_eq!(notes(&t, "failed_again"), 1, "{t}");
    assert_eq!(t["ticket"]["status"], "new");

    // Ok for two hours (the device's check-ins say so; written here with
    // their times in the past): resolved, verified by the device, once
    // although both nodes look.
    for (state, ago) in [("warning", 3), ("ok", 2)] {
        s.record_checkin(&Checkin {
            device_id,
            agent_version: None,
            health: None,
            results: vec![("disk", state, result("disk", state).to_string())],
            samples: Vec::new(),
            running_checks: None,
            at: Utc::now() - TimeDelta::hours(ago),
        })
        .await
        .unwrap();
    }
    await_status(&other_node, &token, id, "resolved").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let t = ticket(&base, &token, id).await;
    assert_eq!(notes(&t, "verified_by_device"), 1, "{t}");
    assert!(t["verification"]["verified_at"].is_string(), "{t}");
    let watch = hours_from_now(&t["verification"]["watch_until"]);
    assert!(
        (167.0..=168.1).contains(&watch),
        "watched for 7 days: {watch}"
    );
    assert!(
        t["audit"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["detail"]["reason"] == "verified_by_device"
                && a["detail"]["after"]["status"] == "resolved"
                && a["user_id"].is_null()),
        "{t}"
    );
    // The device reads the note as IT's, with its kind to word it.
    let (_, seen) = call(
        Method::GET,
        format!("{base}/api/v1/agent/tickets/{id}"),
        &device,
        None,
    )
    .await;
    let note = seen["comments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["note"]["kind"] == "verified_by_device")
        .unwrap();
    assert_eq!(note["author"], "technician");
    assert_eq!(note["note"]["kind"], "verified_by_device");
    assert_eq!(note["note"]["check_id"], "disk");
    assert!(
        note["body"]
            .as_str()
            .unwrap()
            .contains("verified by the device")
    );
    // The KPIs count it verified, and its fix as still watched.
    let k = kpis(&base, &token).await;
    assert_eq!(k["total"]["resolved"], 1, "{k}");
    assert_eq!(k["total"]["verified_by_device"]["count"], 1, "{k}");
    assert_eq!(k["total"]["awaiting_verification"], 1, "{k}");

    // The disk fails again within the week: reopened, noted, counted.
    checkin(
        &base,
        &device,
        json!({"check_results": [result("disk", "critical")]}),
    )
    .await;
    let t = ticket(&base, &token, id).await;
    assert_eq!(t["ticket"]["status"], "open", "{t}");
    assert_eq!(notes(&t, "relapsed"), 1, "{t}");
    assert!(t["verification"]["watch_until"].is_null());

    // A technician fixes it: watched for the week (a check's ticket), the
    // employee's rating waits a day.
    resolve(&base, &token, id).await;
    let t = ticket(&base, &token, id).await;
    let watch = hours_from_now(&t["verification"]["watch_until"]);
    let rating = hours_from_now(&t["verification"]["rating_opens_at"]);
    assert!((167.0..=168.1).contains(&watch), "{watch}");
    assert!((23.9..=24.1).contains(&rating), "{rating}");
    let (_, seen) = call(
        Method::GET,
        format!("{base}/api/v1/agent/tickets/{id}"),
        &device,
        None,
    )
    .await;
    assert_eq!(
        seen["rating_opens_at"],
        t["verification"]["rating_opens_at"]
    );
    let (status, refused) = call(
        Method::POST,
        format!("{base}/api/v1/agent/tickets/{id}/rating"),
        &device,
        Some(json!({"score": 5})),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    assert_eq!(refused["error"]["code"], "cannot_rate");

    // An employee's own ticket filed while the memory check fails: its
    // fix is watched for a day; the check failing again reopens it.
    let (status, own) = file_ticket(
        &base,
        &device,
        "own-1",
        json!({"subject": "Everything is slow"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{own}");
    let own = own["id"].as_i64().unwrap();
    let t = ticket(&base, &token, own).await;
    assert!(t["verification"]["check_id"].is_null());
    assert_eq!(t["verification"]["watched_checks"], json!(["disk", "mem"]));
    resolve(&base, &token, own).await;
    let t = ticket(&base, &token, own).await;
    let watch = hours_from_now(&t["verification"]["watch_until"]);
    assert!((23.9..=24.1).contains(&watch), "{watch}");
    checkin(
        &base,
        &device,
        json!({"check_results": [result("mem", "ok")]}),
    )
    .await;
    assert_eq!(
        ticket(&base, &token, own).await["ticket"]["status"],
        "resolved"
    );
    checkin(
        &base,
        &device,
        json!({"check_results": [result("mem", "critical")]}),
    )
    .await;
    let t = ticket(&base, &token, own).await;
    assert_eq!(t["ticket"]["status"], "open", "{t}");
    assert_eq!(notes(&t, "relapsed"), 1, "{t}");
    // The disk's ticket watched the memory check too (it failed when
    // that ticket was filed).
    let t = ticket(&base, &token, id).await;
    assert_eq!(t["ticket"]["status"], "open", "{t}");
    assert_eq!(notes(&t, "relapsed"), 2, "{t}");

    // Answered once and resolved while its fix is watched: not a first
    // contact resolution yet.
    let (_, watched) = file_ticket(
        &base,
        &device,
        "watched-1",
        json!({"subject": "Slow again"}),
    )
    .await;
    let watched = watched["id"].as_i64().unwrap();

    // Nothing failing when filed: nothing watched, rated at once.
    checkin(
        &base,
        &device,
        json!({"check_results": [result("mem", "ok"), result("disk", "ok")]}),
    )
    .await;
    let (_, calm) = file_ticket(&base, &device, "calm-1", json!({"subject": "New mouse"})).await;
    let calm = calm["id"].as_i64().unwrap();
    assert!(ticket(&base, &token, calm).await["verification"].is_null());
    // Answered once and resolved, with nothing to watch: a first contact
    // resolution at once.
    for t in [calm, watched] {
        let (status, body) = call(
            Method::POST,
            format!("{base}/api/v1/tickets/{t}/comments"),
            &token,
            Some(json!({"body": "Done."})),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    resolve(&base, &token, calm).await;
    resolve(&base, &token, watched).await;
    let k = kpis(&base, &token).await;
    assert_eq!(k["total"]["resolved"], 2, "{k}");
    assert_eq!(k["total"]["first_contact_resolution"]["count"], 1, "{k}");
    assert_eq!(k["total"]["verified_by_device"]["count"], 0, "{k}");
    assert_eq!(k["total"]["awaiting_verification"], 1, "{k}");
    let (status, body) = call(
        Method::POST,
        format!("{base}/api/v1/agent/tickets/{calm}/rating"),
        &device,
        Some(json!({"score": 4})),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");

    // The device runs only the disk check now: the desk forgets the rest.
    checkin(&base, &device, json!({"checks": ["disk"]})).await;
    let ids: Vec<String> = s
        .check_results(device_id)
        .await
        .unwrap()
        .into_iter()
        .map(|(id, _, _)| id)
        .collect();
    assert_eq!(ids, ["disk"]);
    let (status, body) = call(
        Method::POST,
        format!("{base}/api/v1/agent/checkin"),
        &device,
        Some(json!({"checks": ["x".repeat(200)]})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_check_tickets() {
    let (s, _dir) = common::sqlite().await;
    check_tickets(s).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_check_tickets() {
    if let Some(s) = common::postgres().await {
        check_tickets(s).await;
    }
}
