//! Service management through the HTTP API, on SQLite and PostgreSQL:
//! tickets a technician opens for someone (channels, requesters, with or
//! without a device), ticket types, teams with automatic assignment (also
//! with concurrent assignments on two nodes), SLA calendars and policies,
//! clocks with pauses and reopens, and warnings and breaches recorded and
//! escalated exactly once when two nodes evaluate at the same time. Time
//! is driven by passing the evaluation instant ([`sla::run_pass`]).

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use chrono::{TimeDelta, Utc};
use deskside_server::api::{self, Limits, router};
use deskside_server::credentials::{hash_token, new_token};
use deskside_server::sla;
use deskside_server::store::{Role, Store, User};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn start<S: Store>(store: S) -> String {
    let _ = tracing_subscriber::fmt().with_test_writer().try_init();
    let limits = Limits {
        max_body_bytes: 2 * 1024 * 1024,
        request_timeout: Duration::from_secs(10),
        ..Limits::default()
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let blobs = deskside_server::blobs::DiskBlobs::new(
        std::env::temp_dir().join(format!("deskside-service-blobs-{}", addr.port())),
    )
    .unwrap();
    tokio::spawn(api::serve(
        listener,
        router(store, blobs, limits),
        std::future::pending(),
    ));
    format!("http://{addr}")
}

async fn user_with_token<S: Store>(s: &S, email: &str, role: Role) -> (User, String) {
    let user = s.create_user(email, role, None).await.unwrap();
    let token = new_token("dsk_api");
    s.create_api_token(user.id, &hash_token(&token), None)
        .await
        .unwrap();
    (user, token)
}

async fn call(
    method: Method,
    url: String,
    token: &str,
    key: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = common::http()
        .request(method, url)
        .header("authorization", format!("Bearer {token}"));
    if let Some(k) = key {
        req = req.header("idempotency-key", k);
    }
    if let Some(b) = body {
        req = req
            .header("content-type", "application/json")
            .body(serde_json::to_vec(&b).unwrap());
    }
    let r = req.send().await.unwrap();
    let status = r.status();
    let bytes = r.bytes().await.unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn phone_ticket(subject: &str) -> Value {
    json!({"subject": subject, "channel": "phone", "requester_name": "Mia Park",
        "requester_email": "mia@example.com"})
}

/// Tickets a technician opens: validation, idempotency, no device needed,
/// the requester's other tickets, types.
async fn desk_tickets<S: Store + Clone>(s: S) {
    let base = start(s.clone()).await;
    let (tech, token) = user_with_token(&s, "tech@example.com", Role::Technician).await;
    let url = format!("{base}/api/v1/tickets");

    for (body, needle) in [
        (
            json!({"subject": "x", "channel": "tray", "requester_name": "A"}),
            "tray",
        ),
        (
            json!({"subject": "x", "channel": "phone", "requester_name": " "}),
            "requester",
        ),
        (
            json!({"subject": "x", "channel": "phone", "requester_name": "A", "requester_email": "no"}),
            "e-mail",
        ),
        (
            json!({"subject": "x", "channel": "phone", "requester_name": "A", "device_id": 999}),
            "device",
        ),
        (
            json!({"subject": "x", "channel": "phone", "requester_name": "A", "team_id": 999}),
            "team",
        ),
        (
            json!({"subject": "", "channel": "chat", "requester_name": "A"}),
            "subject",
        ),
    ] {
        let (st, r) = call(Method::POST, url.clone(), &token, None, Some(body)).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{r}");
        assert_eq!(r["error"]["code"], "invalid_body");
        assert!(
            r["error"]["message"].as_str().unwrap().contains(needle),
            "{r}"
        );
    }
    let (st, r) = call(
        Method::POST,
        url.clone(),
        &token,
        None,
        Some(json!({"subject": "x", "channel": "fax", "requester_name": "A"})),
    )
    .await;
    assert_eq!(
        (st, r["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_body"))
    );

    // A forgotten password, by phone, for someone who cannot log in: no
    // device.
    let mut body = phone_ticket("Forgot my password");
    body["ticket_type"] = json!("service_request");
    body["category"] = json!("account");
    let (st, first) = call(
        Method::POST,
        url.clone(),
        &token,
        Some("call-1"),
        Some(body.clone()),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{first}");
    assert_eq!(first["device_id"], Value::Null);
    assert_eq!(first["channel"], "phone");
    assert_eq!(first["requester_name"], "Mia Park");
    assert_eq!(first["created_by"], tech.id);
    assert_eq!(first["ticket"]["ticket_type"], "service_request");
    assert_eq!(first["ticket"]["status"], "new");
    let id = first["ticket"]["id"].as_i64().unwrap();
    // The same call retried: the same ticket.
    let (st, again) = call(
        Method::POST,
        url.clone(),
        &token,
        Some("call-1"),
        Some(body),
    )
    .await;
    assert_eq!(
        (st, again["ticket"]["id"].as_i64()),
        (StatusCode::OK, Some(id))
    );
    // The key with another ticket: refused.
    let (st, r) = call(
        Method::POST,
        url.clone(),
        &token,
        Some("call-1"),
        Some(phone_ticket("Something else")),
    )
    .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r["error"]["code"], "idempotency_key_reused");
    // The audit trail names who opened it.
    assert_eq!(first["audit"][0]["action"], "create");
    assert_eq!(first["audit"][0]["user_id"], tech.id);

    // Her other tickets, one filter away; another requester's are not.
    let (st, _) = call(
        Method::POST,
        url.clone(),
        &token,
        None,
        Some(phone_ticket("Printer jam")),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED);
    let mut other = phone_ticket("VPN");
    other["requester_name"] = json!("Jun Ito");
    other["requester_email"] = json!("jun@example.com");
    call(Method::POST, url.clone(), &token, None, Some(other)).await;
    let (_, page) = call(
        Method::GET,
        format!("{url}?requester=MIA@example.com"),
        &token,
        None,
        None,
    )
    .await;
    let subjects: Vec<&str> = page["tickets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["subject"].as_str().unwrap())
        .collect();
    assert_eq!(subjects, ["Printer jam", "Forgot my password"]);
    let (_, page) = call(
        Method::GET,
        format!("{url}?type=service_request"),
        &token,
        None,
        None,
    )
    .await;
    assert_eq!(page["tickets"].as_array().unwrap().len(), 1);
    let (st, r) = call(
        Method::GET,
        format!("{url}?type=problem"),
        &token,
        None,
        None,
    )
    .await;
    assert_eq!(
        (st, r["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_query"))
    );

    // The type and requester change like any field, audited.
    let (st, r) = call(
        Method::PATCH,
        format!("{url}/{id}"),
        &token,
        None,
        Some(json!({"ticket_type": "incident", "requester_email": null})),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{r}");
    assert_eq!(r["ticket"]["ticket_type"], "incident");
    assert_eq!(r["requester_email"], Value::Null);
    let last = r["audit"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["detail"]["before"]["ticket_type"], "service_request");
    assert_eq!(last["detail"]["after"]["requester_email"], Value::Null);
}

/// Teams: administrators manage them; round robin skips members away;
/// least open; concurrent assignments on two nodes take turns.
async fn teams<S: Store + Clone>(s: S, second_node: S) {
    let base = start(s.clone()).await;
    let base2 = start(second_node).await;
    let (_, admin) = user_with_token(&s, "admin@example.com", Role::Admin).await;
    let (a, tok_a) = user_with_token(&s, "a@example.com", Role::Technician).await;
    let (b, _) = user_with_token(&s, "b@example.com", Role::Technician).await;
    let (c, tok_c) = user_with_token(&s, "c@example.com", Role::Technician).await;
    let teams = format!("{base}/api/v1/teams");

    let desk = json!({"name": "Service desk", "auto_assign": "round_robin",
        "members": ["a@example.com", "b@example.com", "C@example.com"]});
    let (st, r) = call(
        Method::POST,
        teams.clone(),
        &tok_a,
        None,
        Some(desk.clone()),
    )
    .await;
    assert_eq!(
        (st, r["error"]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("forbidden"))
    );
    let (st, team) = call(
        Method::POST,
        teams.clone(),
        &admin,
        None,
        Some(desk.clone()),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{team}");
    assert_eq!(team["members"].as_array().unwrap().len(), 3);
    let (st, r) = call(Method::POST, teams.clone(), &admin, None, Some(desk)).await;
    assert_eq!(
        (st, r["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("already_exists"))
    );
    let (st, r) = call(
        Method::POST,
        teams.clone(),
        &admin,
        None,
        Some(json!({"name": "X", "members": ["nobody@example.com"]})),
    )
    .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{r}");
    let team_id = team["id"].as_i64().unwrap();

    // c is away: a and b take turns.
    let (st, _) = call(
        Method::PUT,
        format!("{base}/api/v1/auth/away"),
        &tok_c,
        None,
        Some(json!({"away": true})),
    )
    .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let mut assigned = Vec::new();
    for i in 0..4 {
        let mut t = phone_ticket(&format!("call {i}"));
        t["team_id"] = json!(team_id);
        let (st, r) = call(
            Method::POST,
            format!("{base}/api/v1/tickets"),
            &tok_a,
            None,
            Some(t),
        )
        .await;
        assert_eq!(st, StatusCode::CREATED, "{r}");
        assert_eq!(r["team_name"], "Service desk");
        assigned.push(r["assignee_id"].as_i64().unwrap());
    }
    assert_eq!(assigned, [a.id, b.id, a.id, b.id]);
    let (_, list) = call(Method::GET, teams.clone(), &tok_a, None, None).await;
    let members = list[0]["members"].as_array().unwrap();
    let away: Vec<bool> = members
        .iter()
        .map(|m| m["away"].as_bool().unwrap())
        .collect();
    assert_eq!(away, [false, false, true]);
    assert_eq!(members[0]["open_tickets"], 2);

    // Twenty tickets at once, half through each node: still strictly in
    // turn (each member gets ten), because assignment holds the team's row.
    let mut handles = Vec::new();
    for i in 0..20 {
        let url = format!("{}/api/v1/tickets", if i % 2 == 0 { &base } else { &base2 });
        let tok = tok_a.clone();
        handles.push(tokio::spawn(async move {
            let mut t = phone_ticket(&format!("burst {i}"));
            t["team_id"] = json!(team_id);
            let (st, r) = call(Method::POST, url, &tok, None, Some(t)).await;
            assert_eq!(st, StatusCode::CREATED, "{r}");
            r["assignee_id"].as_i64().unwrap()
        }));
    }
    let mut counts = std::collections::HashMap::new();
    for h in handles {
        *counts.entry(h.await.unwrap()).or_insert(0) += 1;
    }
    assert_eq!(counts.get(&a.id), Some(&10), "{counts:?}");
    assert_eq!(counts.get(&b.id), Some(&10), "{counts:?}");

    // Least open: c is back and has none, so c; moving a ticket into the
    // team assigns it too.
    call(
        Method::PUT,
        format!("{base}/api/v1/auth/away"),
        &tok_c,
        None,
        Some(json!({"away": false})),
    )
    .await;
    let (st, r) = call(
        Method::PUT,
        format!("{teams}/{team_id}"),
        &admin,
        None,
        Some(json!({"name": "Service desk", "auto_assign": "least_open",
            "members": ["a@example.com", "b@example.com", "c@example.com"]})),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{r}");
    let (_, loose) = call(
        Method::POST,
        format!("{base}/api/v1/tickets"),
        &tok_a,
        None,
        Some(phone_ticket("no team")),
    )
    .await;
    assert_eq!(loose["assignee_id"], Value::Null);
    let loose_id = loose["ticket"]["id"].as_i64().unwrap();
    let (st, r) = call(
        Method::PATCH,
        format!("{base}/api/v1/tickets/{loose_id}"),
        &tok_a,
        None,
        Some(json!({"team_id": team_id})),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{r}");
    assert_eq!(r["assignee_id"], c.id);
    assert!(
        r["audit"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "auto_assign" && e["user_id"].is_null()),
        "{r}"
    );
    let (_, page) = call(
        Method::GET,
        format!("{base}/api/v1/tickets?team={team_id}&limit=500"),
        &tok_a,
        None,
        None,
    )
    .await;
    assert_eq!(page["tickets"].as_array().unwrap().len(), 25);
    let (_, page) = call(
        Method::GET,
        format!("{base}/api/v1/tickets?team=none"),
        &tok_a,
        None,
        None,
    )
    .await;
    assert_eq!(page["tickets"].as_array().unwrap().len(), 0);

    // Deleting the team leaves its tickets without one.
    let (st, _) = call(
        Method::DELETE,
        format!("{teams}/{team_id}"),
        &admin,
        None,
        None,
    )
    .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (_, page) = call(
        Method::GET,
        format!("{base}/api/v1/tickets?team=none&limit=500"),
        &tok_a,
        None,
        None,
    )
    .await;
    assert_eq!(page["tickets"].as_array().unwrap().len(), 25);
}

/// Calendars and policies: validation, names, order, in-use calendars,
/// holidays from `.ics`.
async fn sla_admin<S: Store + Clone>(s: S) {
    let base = start(s.clone()).await;
    let (_, admin) = user_with_token(&s, "admin@example.com", Role::Admin).await;
    let (_, tech) = user_with_token(&s, "tech@example.com", Role::Technician).await;
    let cals = format!("{base}/api/v1/sla/calendars");
    let pols = format!("{base}/api/v1/sla/policies");
    let office = json!({"name": "Berlin office", "time_zone": "Europe/Berlin",
        "week": {"mon": [["09:00", "12:00"], ["13:00", "17:00"]], "fri": [["09:00", "15:00"]]},
        "holidays": ["2026-12-25", "2026-12-24", "2026-12-25"]});
    let (st, _) = call(
        Method::POST,
        cals.clone(),
        &tech,
        None,
        Some(office.clone()),
    )
    .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, cal) = call(
        Method::POST,
        cals.clone(),
        &admin,
        None,
        Some(office.clone()),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{cal}");
    assert_eq!(cal["holidays"], json!(["2026-12-24", "2026-12-25"]));
    let cal_id = cal["id"].as_i64().unwrap();
    for (bad, needle) in [
        (
            json!({"name": "x", "time_zone": "Mars/Base", "week": {}}),
            "time zone",
        ),
        (
            json!({"name": "x", "time_zone": "UTC", "week": {"mon": [["17:00", "09:00"]]}}),
            "start before",
        ),
        (
            json!({"name": "x", "time_zone": "UTC", "week": {"mon": [["9:00", "12:00"]]}}),
            "time of day",
        ),
        (
            json!({"name": "x", "time_zone": "UTC", "week": {"mon": [["09:00", "12:00"], ["11:00", "13:00"]]}}),
            "overlap",
        ),
    ] {
        let (st, r) = call(Method::POST, cals.clone(), &admin, None, Some(bad)).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{r}");
        assert!(
            r["error"]["message"].as_str().unwrap().contains(needle),
            "{r}"
        );
    }
    let (st, r) = call(Method::POST, cals.clone(), &admin, None, Some(office)).await;
    assert_eq!(
        (st, r["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("already_exists"))
    );

    let ics = "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20270101\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    let (st, r) = call(
        Method::POST,
        format!("{base}/api/v1/sla/holidays"),
        &tech,
        None,
        Some(json!({"ics": ics})),
    )
    .await;
    assert_eq!(
        (st, r["holidays"].clone()),
        (StatusCode::OK, json!(["2027-01-01"]))
    );
    let (st, r) = call(
        Method::POST,
        format!("{base}/api/v1/sla/holidays"),
        &tech,
        None,
        Some(json!({"ics": "nope"})),
    )
    .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{r}");

    let urgent = json!({"name": "Urgent", "conditions": {"priorities": [1, 2]},
        "first_response_minutes": 15, "resolution_minutes": 240, "calendar_id": cal_id});
    let (st, p1) = call(Method::POST, pols.clone(), &admin, None, Some(urgent)).await;
    assert_eq!(st, StatusCode::CREATED, "{p1}");
    assert_eq!(
        (p1["position"].as_i64(), p1["warn_percent"].as_i64()),
        (Some(1), Some(75))
    );
    assert_eq!(p1["pauses"]["resolution"], json!(["pending"]));
    let (st, p2) = call(
        Method::POST,
        pols.clone(),
        &admin,
        None,
        Some(json!({"name": "Default", "resolution_minutes": 2880})),
    )
    .await;
    assert_eq!(
        (st, p2["position"].as_i64()),
        (StatusCode::CREATED, Some(2))
    );
    for (bad, needle) in [
        (json!({"name": "x"}), "at least one target"),
        (
            json!({"name": "x", "resolution_minutes": 0}),
            "resolution_minutes",
        ),
        (
            json!({"name": "x", "resolution_minutes": 5, "warn_percent": 100}),
            "warn_percent",
        ),
        (
            json!({"name": "x", "resolution_minutes": 5, "calendar_id": 999}),
            "calendar",
        ),
        (
            json!({"name": "x", "resolution_minutes": 5, "conditions": {"priorities": [9]}}),
            "priorities",
        ),
        (
            json!({"name": "x", "resolution_minutes": 5, "conditions": {"teams": [999]}}),
            "team",
        ),
        (
            json!({"name": "x", "resolution_minutes": 5, "escalations": [{"on": "breach", "move_to_team": 999}]}),
            "team",
        ),
    ] {
        let (st, r) = call(Method::POST, pols.clone(), &admin, None, Some(bad)).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{r}");
        assert!(
            r["error"]["message"].as_str().unwrap().contains(needle),
            "{r}"
        );
    }
    // The calendar is used: not deleted.
    let (st, r) = call(
        Method::DELETE,
        format!("{cals}/{cal_id}"),
        &admin,
        None,
        None,
    )
    .await;
    assert_eq!(
        (st, r["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("in_use"))
    );
    // Order: Default first now.
    let (p1_id, p2_id) = (p1["id"].as_i64().unwrap(), p2["id"].as_i64().unwrap());
    let (st, r) = call(
        Method::PUT,
        format!("{pols}/order"),
        &admin,
        None,
        Some(json!({"ids": [p2_id]})),
    )
    .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{r}");
    let (st, r) = call(
        Method::PUT,
        format!("{pols}/order"),
        &admin,
        None,
        Some(json!({"ids": [p2_id, p1_id]})),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{r}");
    assert_eq!(r[0]["name"], "Default");
    let (st, _) = call(
        Method::DELETE,
        format!("{pols}/{p1_id}"),
        &admin,
        None,
        None,
    )
    .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (st, _) = call(
        Method::DELETE,
        format!("{cals}/{cal_id}"),
        &admin,
        None,
        None,
    )
    .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (_, log) = call(
        Method::GET,
        format!("{base}/api/v1/audit"),
        &admin,
        None,
        None,
    )
    .await;
    let actions: Vec<&str> = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for a in [
        "sla_calendar.create",
        "sla_policy.create",
        "sla_policy.order",
        "sla_policy.delete",
        "sla_calendar.delete",
    ] {
        assert!(actions.contains(&a), "{a} in {actions:?}");
    }
}

/// The clocks of a ticket, its breach escalated once though two nodes
/// evaluate at the same instant, pauses, reopens, the queue's SLA filter
/// and due sort.
async fn clocks_and_breaches<S: Store + Clone>(s: S, second_node: S) {
    let base = start(s.clone()).await;
    let (_, admin) = user_with_token(&s, "admin@example.com", Role::Admin).await;
    let (_, tech) = user_with_token(&s, "tech@example.com", Role::Technician).await;
    let (_, team) = call(
        Method::POST,
        format!("{base}/api/v1/teams"),
        &admin,
        None,
        Some(json!({"name": "Network"})),
    )
    .await;
    let network = team["id"].as_i64().unwrap();
    let policy = json!({"name": "Default", "first_response_minutes": 60, "resolution_minutes": 480,
    "next_response_minutes": 30, "warn_percent": 50,
    "escalations": [
        {"on": "warning", "notify": true},
        {"on": "breach", "clocks": ["first_response"], "raise_tier": true, "raise_priority": true,
         "move_to_team": network, "notify": true}
    ]});
    let (st, r) = call(
        Method::POST,
        format!("{base}/api/v1/sla/policies"),
        &admin,
        None,
        Some(policy),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{r}");

    let tickets = format!("{base}/api/v1/tickets");
    let (_, t1) = call(
        Method::POST,
        tickets.clone(),
        &tech,
        None,
        Some(phone_ticket("Wi-Fi down")),
    )
    .await;
    let (_, t2) = call(
        Method::POST,
        tickets.clone(),
        &tech,
        None,
        Some(phone_ticket("New monitor")),
    )
    .await;
    let (id1, id2) = (
        t1["ticket"]["id"].as_i64().unwrap(),
        t2["ticket"]["id"].as_i64().unwrap(),
    );
    // Evaluated at creation: running, due in an hour.
    assert_eq!(t1["sla"]["policy_name"], "Default");
    assert_eq!(t1["sla_state"], "running");
    let clocks = t1["sla"]["clocks"].as_array().unwrap();
    assert_eq!(clocks.len(), 2);
    assert_eq!(
        (
            clocks[0]["clock"].as_str(),
            clocks[0]["target_secs"].as_i64()
        ),
        (Some("first_response"), Some(3600))
    );
    assert_eq!(t1["ticket"]["priority"], 3);

    // Ticket 2 is answered at once; ticket 1 is not.
    let (st, _) = call(
        Method::POST,
        format!("{tickets}/{id2}/comments"),
        &tech,
        None,
        Some(json!({"body": "On its way."})),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED);

    // 61 minutes later, two nodes evaluate at the same instant.
    let later = Utc::now() + TimeDelta::minutes(61);
    let (r1, r2) = tokio::join!(sla::run_pass(&s, later), sla::run_pass(&second_node, later));
    let (r1, r2) = (r1.unwrap(), r2.unwrap());
    let mut recorded: Vec<(i64, &str, &str)> = r1
        .iter()
        .chain(r2.iter())
        .map(|r| (r.ticket_id, r.event.clock, r.event.kind))
        .collect();
    recorded.sort_unstable();
    // Once each, across both nodes: ticket 1's first-response warning and
    // breach; ticket 2's first response met; 61 of 480 minutes are below
    // either resolution warning.
    assert_eq!(
        recorded,
        [
            (id1, "first_response", "breach"),
            (id1, "first_response", "warning"),
            (id2, "first_response", "met"),
        ]
    );
    // Escalated once: tier 1 → 2 (not 3), priority 3 → 2, moved to
    // Network, each audited as the desk's.
    let (_, d1) = call(Method::GET, format!("{tickets}/{id1}"), &tech, None, None).await;
    assert_eq!(
        (d1["tier"].as_i64(), d1["ticket"]["priority"].as_i64()),
        (Some(2), Some(2)),
        "{d1}"
    );
    assert_eq!(d1["team_id"], network);
    let desk_actions: Vec<&str> = d1["audit"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "sla_escalation")
        .map(|e| e["detail"]["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        desk_actions,
        ["raise_tier", "raise_priority", "move_to_team"]
    );
    // Prometheus: open tickets by priority, at risk, breaches by clock.
    let metrics = common::http()
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        "deskside_open_tickets{priority=\"2\"} 1",
        "deskside_open_tickets{priority=\"3\"} 1",
        "deskside_sla_breached_open_tickets 1",
        "deskside_sla_at_risk_tickets 0",
        "deskside_sla_breaches_total{clock=\"first_response\"} 1",
        "deskside_sla_breaches_total{clock=\"resolution\"} 0",
    ] {
        assert!(metrics.lines().any(|l| l == line), "{line} in\n{metrics}");
    }
    // A third pass records nothing again.
    assert!(sla::run_pass(&s, later).await.unwrap().is_empty());
    let events = s.sla_events(id1).await.unwrap();
    assert_eq!(events.len(), 2, "{events:?}");
    // The breach happened 60 minutes after creation, whenever evaluated.
    let created: chrono::DateTime<Utc> = d1["ticket"]["created_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let breach = events.iter().find(|e| e.kind == "breach").unwrap();
    assert!(
        (breach.at - created - TimeDelta::minutes(60))
            .num_seconds()
            .abs()
            <= 1,
        "{breach:?}"
    );

    // The queue: breached first by due time, filtered by state.
    let (_, page) = call(
        Method::GET,
        format!("{tickets}?sla=breached"),
        &tech,
        None,
        None,
    )
    .await;
    let ids: Vec<i64> = page["tickets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [id1]);
    let (_, page) = call(
        Method::GET,
        format!("{tickets}?sort=due&limit=1"),
        &tech,
        None,
        None,
    )
    .await;
    assert_eq!(page["tickets"][0]["id"], id1);
    assert!(page["tickets"][0]["sla_due_at"].is_string());
    let cursor = page["next_cursor"].as_str().unwrap().to_owned();
    let (_, page) = call(
        Method::GET,
        format!("{tickets}?sort=due&limit=1&cursor={cursor}"),
        &tech,
        None,
        None,
    )
    .await;
    assert_eq!(page["tickets"][0]["id"], id2);
    let (st, r) = call(
        Method::GET,
        format!("{tickets}?sla=late"),
        &tech,
        None,
        None,
    )
    .await;
    assert_eq!(
        (st, r["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_query"))
    );

    // Pending pauses ticket 2's resolution; resolving stops it; reopening
    // resumes it and counts a reopen.
    for status in ["pending", "open", "resolved", "open"] {
        let (st, r) = call(
            Method::PATCH,
            format!("{tickets}/{id2}"),
            &tech,
            None,
            Some(json!({"status": status})),
        )
        .await;
        assert_eq!(st, StatusCode::OK, "{r}");
        if status == "pending" {
            assert_eq!(r["sla_state"], "paused", "{r}");
            let res = r["sla"]["clocks"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["clock"] == "resolution")
                .unwrap()
                .clone();
            assert_eq!(
                (res["state"].as_str(), res["due_at"].as_str()),
                (Some("paused"), None)
            );
        }
        if status == "resolved" {
            assert_eq!(r["sla_state"], "met", "{r}");
        }
    }
    let (_, d2) = call(Method::GET, format!("{tickets}/{id2}"), &tech, None, None).await;
    assert_eq!(d2["sla"]["reopens"], 1);
    assert_eq!(d2["sla_state"], "running");

    // Ticket 1 answered now: its first response stays breached, and the
    // next pass has nothing new to record.
    call(
        Method::POST,
        format!("{tickets}/{id1}/comments"),
        &tech,
        None,
        Some(json!({"body": "Looking."})),
    )
    .await;
    let quiet = sla::run_pass(&s, Utc::now()).await.unwrap();
    assert!(quiet.is_empty(), "{quiet:?}");
}

/// Problem records: incidents linked from the ticket, root cause and
/// known error, resolving the problem resolves its open incidents with a
/// reply, once.
async fn problems<S: Store + Clone>(s: S) {
    let base = start(s.clone()).await;
    let (tech, token) = user_with_token(&s, "tech@example.com", Role::Technician).await;
    let problems = format!("{base}/api/v1/problems");
    let tickets = format!("{base}/api/v1/tickets");
    let (st, r) = call(
        Method::POST,
        problems.clone(),
        &token,
        None,
        Some(json!({"description": "x"})),
    )
    .await;
    assert_eq!(
        (st, r["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_body"))
    );
    let (st, p) = call(
        Method::POST,
        problems.clone(),
        &token,
        None,
        Some(json!({"subject": "VPN drops every hour", "description": "Since the gateway update"})),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{p}");
    assert_eq!(
        (p["status"].as_str(), p["known_error"].as_bool()),
        (Some("open"), Some(false))
    );
    assert_eq!(p["created_by"], tech.id);
    let pid = p["id"].as_i64().unwrap();

    let mut ids = Vec::new();
    for subject in ["VPN down", "VPN again", "Unrelated"] {
        let (_, t) = call(
            Method::POST,
            tickets.clone(),
            &token,
            None,
            Some(phone_ticket(subject)),
        )
        .await;
        ids.push(t["ticket"]["id"].as_i64().unwrap());
    }
    for id in &ids[..2] {
        let (st, r) = call(
            Method::PATCH,
            format!("{tickets}/{id}"),
            &token,
            None,
            Some(json!({"problem_id": pid})),
        )
        .await;
        assert_eq!(
            (st, r["problem_id"].as_i64()),
            (StatusCode::OK, Some(pid)),
            "{r}"
        );
    }
    let (st, r) = call(
        Method::PATCH,
        format!("{tickets}/{}", ids[2]),
        &token,
        None,
        Some(json!({"problem_id": 999})),
    )
    .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{r}");
    // The second one is already resolved: resolving the problem leaves it.
    call(
        Method::PATCH,
        format!("{tickets}/{}", ids[1]),
        &token,
        None,
        Some(json!({"status": "resolved"})),
    )
    .await;

    let (st, p) = call(
        Method::PATCH,
        format!("{problems}/{pid}"),
        &token,
        None,
        Some(json!({"root_cause": "Gateway idle timeout", "workaround": "Reconnect", "known_error": true})),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{p}");
    assert_eq!(
        (p["known_error"].as_bool(), p["incidents"].as_i64()),
        (Some(true), Some(2))
    );
    assert_eq!(p["subject"], "VPN drops every hour", "absent fields stay");
    let (_, list) = call(
        Method::GET,
        format!("{problems}?status=open"),
        &token,
        None,
        None,
    )
    .await;
    assert_eq!(list.as_array().unwrap().len(), 1);

    let (st, r) = call(
        Method::POST,
        format!("{problems}/{pid}/resolve"),
        &token,
        None,
        Some(json!({"incidents": "notify"})),
    )
    .await;
    assert_eq!(
        st,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a notice needs a message: {r}"
    );
    let (st, r) = call(
        Method::POST,
        format!("{problems}/{pid}/resolve"),
        &token,
        None,
        Some(json!({"incidents": "resolve", "message": "Fixed at the gateway."})),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{r}");
    assert_eq!(r["status"], "resolved");
    assert_eq!(r["resolved_incidents"], json!([ids[0]]));
    let (_, t) = call(
        Method::GET,
        format!("{tickets}/{}", ids[0]),
        &token,
        None,
        None,
    )
    .await;
    assert_eq!(t["ticket"]["status"], "resolved");
    assert_eq!(t["comments"][0]["body"], "Fixed at the gateway.");
    let (_, t) = call(
        Method::GET,
        format!("{tickets}/{}", ids[2]),
        &token,
        None,
        None,
    )
    .await;
    assert_eq!(
        t["ticket"]["status"], "new",
        "an unlinked ticket is untouched"
    );
    let (st, r) = call(
        Method::POST,
        format!("{problems}/{pid}/resolve"),
        &token,
        None,
        Some(json!({"incidents": "leave"})),
    )
    .await;
    assert_eq!(
        (st, r["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("invalid_transition"))
    );
    let (st, _) = call(Method::GET, format!("{problems}/999"), &token, None, None).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
}

/// The KPI endpoint: periods, splits, CSV, refusals.
async fn kpi_endpoint<S: Store + Clone>(s: S) {
    let base = start(s.clone()).await;
    let (_, token) = user_with_token(&s, "tech@example.com", Role::Technician).await;
    let tickets = format!("{base}/api/v1/tickets");
    let (_, t) = call(
        Method::POST,
        tickets.clone(),
        &token,
        None,
        Some(phone_ticket("One")),
    )
    .await;
    let id = t["ticket"]["id"].as_i64().unwrap();
    call(
        Method::POST,
        format!("{tickets}/{id}/comments"),
        &token,
        None,
        Some(json!({"body": "Hi"})),
    )
    .await;
    call(
        Method::PATCH,
        format!("{tickets}/{id}"),
        &token,
        None,
        Some(json!({"status": "resolved"})),
    )
    .await;
    let url = format!("{base}/api/v1/reports/kpis");
    let (st, r) = call(
        Method::GET,
        format!("{url}?group_by=category"),
        &token,
        None,
        None,
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{r}");
    assert_eq!(
        (
            r["total"]["created"].as_i64(),
            r["total"]["resolved"].as_i64()
        ),
        (Some(1), Some(1))
    );
    assert_eq!(r["total"]["first_contact_resolution"]["count"], 1);
    assert_eq!(r["groups"][0]["key"], "other");
    assert_eq!(r["series"].as_array().unwrap().len(), 31);
    for bad in [
        "from=2026-13-01",
        "group_by=moon",
        "format=xml",
        "table=series",
        "from=2026-12-02&to=2026-12-01",
    ] {
        let (st, r) = call(Method::GET, format!("{url}?{bad}"), &token, None, None).await;
        assert_eq!(
            (st, r["error"]["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_query")),
            "{bad}"
        );
    }
    let resp = common::http()
        .get(format!(
            "{url}?format=csv&table=series&from=2026-01-01&to=2026-01-03"
        ))
        .header("authorization", format!("Bearer {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let body = resp.text().await.unwrap();
    assert_eq!(body.lines().count(), 3, "{body}");
    assert!(body.starts_with("day,created,resolved,"));
    let (st, _) = call(Method::GET, url.clone(), "nope", None, None).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
}

/// Agents send the type and the logged-in user; older agents' tickets
/// are incidents without a requester.
async fn tray_types<S: Store + Clone>(s: S) {
    use deskside_server::store::NewTicketRow;
    let enrolled = s
        .enroll_device(&deskside_server::store::NewEnrollment {
            device_key: Some("k"),
            serial_number: None,
            hostname: Some("pc-1"),
            token_hash: "t",
            public_key: None,
        })
        .await
        .unwrap();
    let row = |key: &'static str, ty: &'static str, who: Option<&'static str>| NewTicketRow {
        check: None,
        device_id: enrolled.device_id,
        idempotency_key: key,
        subject: "s",
        description: "",
        category: "other",
        urgency: "medium",
        priority: 3,
        ticket_type: ty,
        requester_name: who,
        request_hash: key,
        attachments: Vec::new(),
    };
    let (a, _) = s
        .create_ticket(&row("k1", "service_request", Some("mia")))
        .await
        .unwrap();
    let w = s.ticket_work(a).await.unwrap().unwrap();
    assert_eq!(
        (
            w.row.ticket_type.as_str(),
            w.requester_name.as_deref(),
            w.channel.as_str()
        ),
        ("service_request", Some("mia"), "tray")
    );
    assert_eq!(w.device_id, Some(enrolled.device_id));
}

#[tokio::test]
async fn sqlite_desk_tickets() {
    let (s, _dir) = common::sqlite().await;
    desk_tickets(s).await;
}

#[tokio::test]
async fn postgres_desk_tickets() {
    if let Some(s) = common::postgres().await {
        desk_tickets(s).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_teams() {
    let (s, dir) = common::sqlite().await;
    let url = format!("sqlite://{}", dir.path().join("desk.db").display());
    let second = deskside_server::store::SqliteStore::open(&url)
        .await
        .unwrap();
    teams(s, second).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_teams() {
    if let Some(url) = common::pg_url().await {
        let s = deskside_server::store::PgStore::open(&url).await.unwrap();
        s.migrate().await.unwrap();
        let second = deskside_server::store::PgStore::open(&url).await.unwrap();
        teams(s, second).await;
    }
}

#[tokio::test]
async fn sqlite_sla_admin() {
    let (s, _dir) = common::sqlite().await;
    sla_admin(s).await;
}

#[tokio::test]
async fn postgres_sla_admin() {
    if let Some(s) = common::postgres().await {
        sla_admin(s).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_clocks_and_breaches() {
    let (s, dir) = common::sqlite().await;
    let url = format!("sqlite://{}", dir.path().join("desk.db").display());
    let second = deskside_server::store::SqliteStore::open(&url)
        .await
        .unwrap();
    clocks_and_breaches(s, second).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_clocks_and_breaches() {
    if let Some(url) = common::pg_url().await {
        let s = deskside_server::store::PgStore::open(&url).await.unwrap();
        s.migrate().await.unwrap();
        let second = deskside_server::store::PgStore::open(&url).await.unwrap();
        clocks_and_breaches(s, second).await;
    }
}

#[tokio::test]
async fn sqlite_tray_types() {
    let (s, _dir) = common::sqlite().await;
    tray_types(s).await;
}

#[tokio::test]
async fn postgres_tray_types() {
    if let Some(s) = common::postgres().await {
        tray_types(s).await;
    }
}

/// Rows of a desk from before service management, written with the
/// schema of migration 19 (`$N` parameters suit both backends).
const OLD_ROWS: [&str; 7] = [
    "INSERT INTO users (id, email, role, created_at) VALUES (1, 'old@example.com', 'technician', '2026-01-01T00:00:00Z')",
    "INSERT INTO devices (id, hostname, token_hash, enrolled_at) VALUES (1, 'pc-1', 'h', '2026-01-01T00:00:00Z')",
    "INSERT INTO tickets (id, device_id, idempotency_key, subject, description, category, urgency, status, priority, \
     created_at, updated_at, assignee_id) VALUES (7, 1, 'k', 'Old', 'd', 'other', 'medium', 'resolved', 3, \
     '2026-01-01T08:00:00Z', '2026-01-01T09:00:00Z', 1)",
    "INSERT INTO ticket_comments (ticket_id, user_id, body, internal, created_at, idempotency_key) \
     VALUES (7, NULL, 'hello', FALSE, '2026-01-01T08:10:00Z', 'c1')",
    "INSERT INTO ticket_attachments (ticket_id, name, content_type, size_bytes, blob_key, diagnostics, created_at) \
     VALUES (7, 'a.png', 'image/png', 3, 'blob', FALSE, '2026-01-01T08:00:00Z')",
    "INSERT INTO ticket_audit (ticket_id, user_id, action, detail, at) VALUES (7, 1, 'update', '{}', '2026-01-01T09:00:00Z')",
    "INSERT INTO ticket_views (user_id, ticket_id, seen_at) VALUES (1, 7, '2026-01-01T09:30:00Z')",
];

/// What the upgraded desk must still have of [`OLD_ROWS`].
async fn kept_everything<S: Store>(s: &S) {
    let w = s.ticket_work(7).await.unwrap().unwrap();
    assert_eq!(
        (w.device_id, w.assignee_id, w.row.status.as_str()),
        (Some(1), Some(1), "resolved")
    );
    assert_eq!(
        (w.row.ticket_type.as_str(), w.channel.as_str()),
        ("incident", "tray")
    );
    assert_eq!(s.comments(7, true).await.unwrap().len(), 1);
    assert_eq!(s.ticket_attachments(7).await.unwrap().len(), 1);
    assert_eq!(s.ticket_audit(7).await.unwrap().len(), 1);
    // The history the SLA reads: created new, resolved at the last change.
    let input = s.sla_inputs(&[7]).await.unwrap();
    let statuses: Vec<&str> = input[0].statuses.iter().map(|x| x.0.as_str()).collect();
    assert_eq!(statuses, ["new", "resolved"]);
    // The device's ticket still belongs to it, and the foreign keys hold:
    // a comment on a ticket that does not exist is refused.
    assert_eq!(s.device_tickets(1).await.unwrap().len(), 1);
    assert!(s.add_comment(999, None, "x", false).await.is_err());
}

#[tokio::test]
async fn sqlite_upgrade_keeps_every_ticket_row() {
    use std::str::FromStr;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("desk.db").display());
    let opts = sqlx::sqlite::SqliteConnectOptions::from_str(&url)
        .unwrap()
        .create_if_missing(true)
        .foreign_keys(true);
    let pool = sqlx::SqlitePool::connect_with(opts).await.unwrap();
    let all = sqlx::migrate!("./migrations/sqlite");
    let before = sqlx::migrate::Migrator {
        migrations: std::borrow::Cow::Owned(
            all.migrations
                .iter()
                .filter(|m| m.version < 20)
                .cloned()
                .collect(),
        ),
        ..sqlx::migrate::Migrator::DEFAULT
    };
    before.run(&pool).await.unwrap();
    for sql in OLD_ROWS {
        sqlx::query(sql).execute(&pool).await.unwrap();
    }
    pool.close().await;
    let s = deskside_server::store::SqliteStore::open(&url)
        .await
        .unwrap();
    s.migrate().await.unwrap();
    kept_everything(&s).await;
}

#[tokio::test]
async fn postgres_upgrade_keeps_every_ticket_row() {
    let Some(url) = common::pg_url().await else {
        return;
    };
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    let all = sqlx::migrate!("./migrations/postgres");
    let before = sqlx::migrate::Migrator {
        migrations: std::borrow::Cow::Owned(
            all.migrations
                .iter()
                .filter(|m| m.version < 20)
                .cloned()
                .collect(),
        ),
        ..sqlx::migrate::Migrator::DEFAULT
    };
    before.run(&pool).await.unwrap();
    for sql in OLD_ROWS {
        sqlx::query(sql).execute(&pool).await.unwrap();
    }
    // The ids were given, so the sequences start after them.
    sqlx::query("SELECT setval('tickets_id_seq', 7)")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let s = deskside_server::store::PgStore::open(&url).await.unwrap();
    s.migrate().await.unwrap();
    kept_everything(&s).await;
}

#[tokio::test]
async fn sqlite_problems() {
    let (s, _dir) = common::sqlite().await;
    problems(s).await;
}

#[tokio::test]
async fn postgres_problems() {
    if let Some(s) = common::postgres().await {
        problems(s).await;
    }
}

#[tokio::test]
async fn sqlite_kpi_endpoint() {
    let (s, _dir) = common::sqlite().await;
    kpi_endpoint(s).await;
}

#[tokio::test]
async fn postgres_kpi_endpoint() {
    if let Some(s) = common::postgres().await {
        kpi_endpoint(s).await;
    }
}
