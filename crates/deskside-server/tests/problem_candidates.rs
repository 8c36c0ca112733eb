//! Problem candidates through the HTTP API on SQLite and PostgreSQL, with
//! two desk nodes looking for them on one database: three devices with
//! incidents (tickets, a check turning failing) within 48 hours after
//! the same package version arrived make one candidate, announced once
//! (`problem.candidate`), listing the other devices with that version; a
//! version on two devices, or one that arrived too early, makes none.
//! Accepting it opens a problem with the incidents linked (of two
//! technicians accepting at once, one does); a dismissed one stays
//! dismissed.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use chrono::{TimeDelta, Utc};
use common::call;
use deskside_server::api::Limits;
use deskside_server::credentials::{hash_token, new_token};
use deskside_server::store::{InventoryFacts, Role, Store};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn start<S: Store>(store: S) -> String {
    common::serve(
        store,
        Limits {
            request_timeout: Duration::from_secs(10),
            candidate_interval: Some(Duration::from_millis(200)),
            ..Limits::default()
        },
    )
    .await
}

async fn file_ticket(base: &str, device: &str, key: &str, subject: &str) -> i64 {
    let (status, body) = common::file_ticket(base, device, key, json!({"subject": subject})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["id"].as_i64().unwrap()
}

/// An inventory change recorded `hours_ago` that added packages, with
/// the device then having them.
async fn arrived<S: Store>(s: &S, device: i64, hours_ago: i64, packages: &[(&str, &str)]) {
    let diff = json!({"software_added": packages.iter().map(|(n, v)| json!({"name": n, "source": "dpkg", "version": v})).collect::<Vec<_>>()});
    let facts = InventoryFacts {
        hostname: Some(format!("pc-{device}")),
        software: packages
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect(),
        ..InventoryFacts::default()
    };
    s.save_inventory(
        device,
        &format!("h-{device}-{hours_ago}"),
        "{}",
        Some(&diff.to_string()),
        &facts,
        Utc::now() - TimeDelta::hours(hours_ago),
    )
    .await
    .unwrap();
}

async fn proposed(base: &str, token: &str) -> Vec<Value> {
    let (status, list) = call(
        Method::GET,
        format!("{base}/api/v1/problems/candidates?state=proposed"),
        token,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list.as_array().unwrap().clone()
}

async fn problem_candidates<S: Store>(s: S) {
    let base = start(s.clone()).await;
    let other_node = start(s.clone()).await;
    let mut tokens = Vec::new();
    for email in ["one@example.com", "two@example.com"] {
        let user = s.create_user(email, Role::Technician, None).await.unwrap();
        let token = new_token("dsk_api");
        s.create_api_token(user.id, &hash_token(&token), None)
            .await
            .unwrap();
        tokens.push(token);
    }
    let token = tokens[0].clone();
    s.create_enroll_secret(Some("pc"), &hash_token("pc-secret"), None)
        .await
        .unwrap();
    let mut devices = Vec::new();
    for n in 1..=5 {
        let (status, e) = call(
            Method::POST,
            format!("{base}/api/v1/enroll"),
            "",
            Some(json!({"enroll_secret": "pc-secret", "device": {"device_key": format!("pc-{n}"), "hostname": format!("pc-{n}")}})),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{e}");
        devices.push((
            e["device_id"].as_i64().unwrap(),
            e["device_token"].as_str().unwrap().to_owned(),
        ));
    }
    let id = |n: usize| devices[n - 1].0;
    // libfoo 2.0 and baz 3 arrive on devices 1–3 ten hours ago; bar 1 on
    // two of them only; device 4 got libfoo 2.0 three days ago (too early
    // for its incident), device 5 has it without an incident.
    for n in 1..=3 {
        let mut p = vec![("libfoo", "2.0"), ("baz", "3")];
        if n < 3 {
            p.push(("bar", "1"));
        }
        arrived(&s, id(n), 10, &p).await;
    }
    arrived(&s, id(4), 72, &[("libfoo", "2.0")]).await;
    arrived(&s, id(5), 5, &[("libfoo", "2.0")]).await;
    // Incidents: tickets on 1, 2 and 4, a check turning failing on 3.
    let t1 = file_ticket(&base, &devices[0].1, "pc-t1", "Word crashes").await;
    let t2 = file_ticket(&base, &devices[1].1, "pc-t2", "Word crashes too").await;
    file_ticket(&base, &devices[3].1, "pc-t4", "Slow").await;
    let now = Utc::now();
    let (status, _) = call(
        Method::POST,
        format!("{base}/api/v1/agent/checkin"),
        &devices[2].1,
        Some(json!({"check_results": [{"check_id": "office", "state": "critical", "alert_state": "critical",
            "summary": "down", "timestamp": now, "duration_ms": 1, "consecutive_failures": 1}]})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    // Both nodes look; the candidates appear once.
    let mut list = Vec::new();
    for _ in 0..100 {
        list = proposed(&base, &token).await;
        if list.len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let names: Vec<(&str, &str)> = list
        .iter()
        .map(|c| (c["name"].as_str().unwrap(), c["version"].as_str().unwrap()))
        .collect();
    assert_eq!(names, [("libfoo", "2.0"), ("baz", "3")], "{list:?}");
    let libfoo = list[0].clone();
    let ids = |v: &Value| -> Vec<i64> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|d| d["id"].as_i64().unwrap())
            .collect()
    };
    assert_eq!(ids(&libfoo["devices"]), [id(1), id(2), id(3)]);
    assert_eq!(ids(&libfoo["others"]), [id(4), id(5)]);
    assert_eq!(libfoo["devices"][0]["hostname"], "pc-1");
    let incidents = libfoo["incidents"].as_array().unwrap();
    assert_eq!(incidents.len(), 3, "{libfoo}");
    assert_eq!(
        incidents
            .iter()
            .filter_map(|i| i["ticket_id"].as_i64())
            .collect::<Vec<_>>(),
        [t1, t2]
    );
    assert_eq!(incidents[2]["check_id"], "office");
    tokio::time::sleep(Duration::from_millis(600)).await;
    let events = s.events_after(0, 1000).await.unwrap();
    let announced: Vec<&str> = events
        .iter()
        .filter(|e| e.kind == "problem.candidate")
        .filter_map(|e| e.detail.as_deref())
        .collect();
    assert_eq!(announced.len(), 2, "announced once each: {announced:?}");
    assert_eq!(
        deskside_server::webhooks::event_of("problem.candidate"),
        Some(deskside_protocol::WebhookEvent::ProblemCandidate)
    );
    let (status, body) = call(
        Method::GET,
        format!("{other_node}/api/v1/problems/candidates?state=maybe"),
        &token,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    // Accepting needs a subject; two technicians accept at once: one does.
    let url =
        |c: &Value, what: &str| format!("{base}/api/v1/problems/candidates/{}/{what}", c["id"]);
    let (status, body) = call(
        Method::POST,
        url(&libfoo, "accept"),
        &token,
        Some(json!({})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let subject = json!({"subject": "libfoo 2.0 crashes Word", "description": "Three devices."});
    let (a, b) = tokio::join!(
        call(
            Method::POST,
            url(&libfoo, "accept"),
            &tokens[0],
            Some(subject.clone())
        ),
        call(
            Method::POST,
            url(&libfoo, "accept"),
            &tokens[1],
            Some(subject.clone())
        ),
    );
    let mut statuses = [a.0, b.0];
    statuses.sort();
    assert_eq!(
        statuses,
        [StatusCode::CREATED, StatusCode::CONFLICT],
        "{a:?} {b:?}"
    );
    let accepted = if a.0 == StatusCode::CREATED { a.1 } else { b.1 };
    assert_eq!(accepted["state"], "accepted");
    let problem = accepted["problem_id"].as_i64().unwrap();
    let (_, p) = call(
        Method::GET,
        format!("{base}/api/v1/problems/{problem}"),
        &token,
        None,
    )
    .await;
    assert_eq!(p["subject"], "libfoo 2.0 crashes Word");
    let linked: Vec<i64> = p["tickets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_i64().unwrap())
        .collect();
    assert_eq!(linked, [t1, t2]);
    let (status, _) = call(Method::POST, url(&libfoo, "dismiss"), &token, None).await;
    assert_eq!(status, StatusCode::CONFLICT);

    // Dismissed for good: later passes do not propose it again.
    let second = list[1].clone();
    let (status, body) = call(Method::POST, url(&second, "dismiss"), &token, None).await;
    assert_eq!(
        (status, body["state"].as_str()),
        (StatusCode::OK, Some("dismissed"))
    );
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(proposed(&base, &token).await.is_empty());
    let (status, _) = call(
        Method::POST,
        format!("{base}/api/v1/problems/candidates/999999/dismiss"),
        &token,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_problem_candidates() {
    let (s, _dir) = common::sqlite().await;
    problem_candidates(s).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_problem_candidates() {
    if let Some(s) = common::postgres().await {
        problem_candidates(s).await;
    }
}
