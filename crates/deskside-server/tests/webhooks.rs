//! Webhooks through the HTTP API and the delivery passes, on SQLite and
//! PostgreSQL, against a local receiver: subscriptions (administrators
//! only, the secret shown once), signatures checked independently here,
//! each event delivered once when two nodes deliver at the same time,
//! retries with backoff, giving up after 24 hours and redelivering, a
//! node's lease (a node killed mid-delivery: another sends after the
//! lease), and refused targets (loopback, link-local) unless allowed.
//! Time is driven by passing the pass's instant.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use deskside_server::api::{self, Limits, router};
use deskside_server::credentials::{hash_token, new_token};
use deskside_server::store::{Role, Store};
use deskside_server::webhooks::{self, Network};
use hmac::{Hmac, Mac};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::Sha256;

/// What the receiver got: headers of interest and the body.
#[derive(Debug, Clone)]
struct Received {
    event: String,
    delivery: String,
    timestamp: String,
    signature: String,
    body: String,
}

#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<Received>>>,
    /// Answer 500 to this many requests first.
    fail: Arc<Mutex<u32>>,
}

async fn receiver() -> (String, Receiver) {
    let r = Receiver::default();
    let state = r.clone();
    let app = axum::Router::new().route(
        "/hook/{token}",
        axum::routing::post(
            |axum::extract::State(r): axum::extract::State<Receiver>,
             headers: axum::http::HeaderMap,
             body: String| async move {
                let h = |k: &str| {
                    headers
                        .get(k)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_owned()
                };
                r.got.lock().unwrap().push(Received {
                    event: h("deskside-event"),
                    delivery: h("deskside-delivery"),
                    timestamp: h("deskside-timestamp"),
                    signature: h("deskside-signature"),
                    body,
                });
                let mut fail = r.fail.lock().unwrap();
                if *fail > 0 {
                    *fail -= 1;
                    StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    StatusCode::NO_CONTENT
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app.with_state(state)).await.unwrap();
    });
    (format!("http://{addr}/hook/t0ps3cret"), r)
}

fn loopback() -> Vec<Network> {
    vec!["127.0.0.0/8".parse().unwrap()]
}

async fn start<S: Store>(store: S, allowed: Vec<Network>) -> String {
    let _ = tracing_subscriber::fmt().with_test_writer().try_init();
    let limits = Limits {
        request_timeout: Duration::from_secs(10),
        webhook_allowed_networks: allowed,
        ..Limits::default()
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let blobs = deskside_server::blobs::DiskBlobs::new(
        std::env::temp_dir().join(format!("deskside-webhook-blobs-{}", addr.port())),
    )
    .unwrap();
    tokio::spawn(api::serve(
        listener,
        router(store, blobs, limits),
        std::future::pending(),
    ));
    format!("http://{addr}")
}

async fn token<S: Store>(s: &S, email: &str, role: Role) -> String {
    let user = s.create_user(email, role, None).await.unwrap();
    let token = new_token("dsk_api");
    s.create_api_token(user.id, &hash_token(&token), None)
        .await
        .unwrap();
    token
}

async fn call(
    method: Method,
    url: String,
    token: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = common::http()
        .request(method, url)
        .header("authorization", format!("Bearer {token}"));
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

/// The signature as a receiver checks it, with the HMAC crate directly.
fn verifies(secret: &str, r: &Received) -> bool {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{}.{}", r.timestamp, r.body).as_bytes());
    let want = format!("v1={}", hex::encode(mac.finalize().into_bytes()));
    want == r.signature
}

async fn deliveries(base: &str, admin: &str, hook: i64) -> Vec<Value> {
    let (status, list) = call(
        Method::GET,
        format!("{base}/api/v1/webhooks/{hook}/deliveries"),
        admin,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list.as_array().unwrap().clone()
}

async fn webhooks_end_to_end<S: Store>(s: S, second: S) {
    let base = start(s.clone(), loopback()).await;
    let strict = start(s.clone(), Vec::new()).await;
    let admin = token(&s, "admin@example.com", Role::Admin).await;
    let tech = token(&s, "tech@example.com", Role::Technician).await;
    let (url, rx) = receiver().await;
    let hooks = format!("{base}/api/v1/webhooks");

    // Administrators only.
    let body = json!({"url": url, "events": ["ticket.created", "ticket.resolved"]});
    for (method, b) in [(Method::GET, None), (Method::POST, Some(body.clone()))] {
        let (status, err) = call(method, hooks.clone(), &tech, b).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{err}");
    }
    // Refused targets: loopback without the configuration allowing it,
    // link-local (cloud metadata), a name resolving to loopback; and
    // malformed ones.
    for target in [
        url.clone(),
        "http://169.254.169.254/latest/meta-data".to_owned(),
        url.replace("127.0.0.1", "localhost"),
    ] {
        let (status, err) = call(
            Method::POST,
            format!("{strict}/api/v1/webhooks"),
            &admin,
            Some(json!({"url": target, "events": ["ticket.created"]})),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{target}: {err}");
        assert_eq!(err["error"]["code"], "target_refused", "{err}");
    }
    for (bad, why) in [
        (
            json!({"url": "ftp://example.com/x", "events": ["ticket.created"]}),
            "scheme",
        ),
        (json!({"url": url, "events": []}), "no events"),
        (
            json!({"url": url, "events": ["ticket.exploded"]}),
            "unknown event",
        ),
        (
            json!({"url": url, "events": ["ticket.created"], "secret": "mine"}),
            "unknown field",
        ),
    ] {
        let (status, err) = call(Method::POST, hooks.clone(), &admin, Some(bad)).await;
        assert!(
            status.is_client_error() && status != StatusCode::NOT_FOUND,
            "{why}: {status} {err}"
        );
        assert!(err["error"]["code"].is_string(), "{why}: {err}");
    }

    let (status, created) = call(Method::POST, hooks.clone(), &admin, Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_") && secret.len() > 40);
    let hook = created["webhook"]["id"].as_i64().unwrap();
    let (_, list) = call(Method::GET, hooks.clone(), &admin, None).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert!(
        !list.to_string().contains(&secret),
        "the secret is shown once only"
    );
    // The audit log names the receiver's origin, never its path (a token).
    let (_, audit) = call(Method::GET, format!("{base}/api/v1/audit"), &admin, None).await;
    assert!(audit.to_string().contains("webhook.create"), "{audit}");
    assert!(!audit.to_string().contains("t0ps3cret"), "{audit}");

    // Ten tickets; two nodes deliver at the same time: each once.
    let mut ids = Vec::new();
    for i in 0..10 {
        let (status, t) = call(
            Method::POST,
            format!("{base}/api/v1/tickets"),
            &tech,
            Some(json!({"subject": format!("Webhook {i}"), "channel": "phone", "requester_name": "Mia"})),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{t}");
        ids.push(t["ticket"]["id"].as_i64().unwrap());
    }
    let allowed = loopback();
    let now = Utc::now();
    for _ in 0..3 {
        let (a, b) = tokio::join!(
            webhooks::run_pass(&s, &allowed, now),
            webhooks::run_pass(&second, &allowed, now)
        );
        a.unwrap();
        b.unwrap();
    }
    let got = rx.got.lock().unwrap().clone();
    assert_eq!(got.len(), 10, "{got:#?}");
    let mut seen: Vec<&str> = got.iter().map(|r| r.delivery.as_str()).collect();
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(seen.len(), 10, "no event twice");
    for r in &got {
        assert!(verifies(&secret, r), "signature of {r:?}");
        assert!(!verifies("whsec_other", r));
        assert_eq!(r.event, "ticket.created");
        let p: Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(
            (p["version"].as_i64(), p["event"].as_str()),
            (Some(1), Some("ticket.created"))
        );
        assert_eq!(p["id"].to_string(), r.delivery);
        assert!(
            ids.contains(&p["data"]["ticket"]["id"].as_i64().unwrap()),
            "{p}"
        );
        assert!(
            p["data"]["ticket"]["subject"]
                .as_str()
                .unwrap()
                .starts_with("Webhook ")
        );
    }
    let log = deliveries(&base, &admin, hook).await;
    assert_eq!(log.len(), 10);
    assert!(
        log.iter()
            .all(|d| d["state"] == "delivered" && d["attempts"] == 1),
        "{log:?}"
    );

    // A receiver failing once: retried after the backoff, same delivery id.
    rx.got.lock().unwrap().clear();
    *rx.fail.lock().unwrap() = 1;
    let (status, t) = call(
        Method::PATCH,
        format!("{base}/api/v1/tickets/{}", ids[0]),
        &tech,
        Some(json!({"status": "resolved"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{t}");
    let now = Utc::now();
    webhooks::run_pass(&s, &allowed, now).await.unwrap();
    let first = deliveries(&base, &admin, hook).await[0].clone();
    assert_eq!(
        (
            &first["event"],
            &first["state"],
            &first["attempts"],
            &first["last_status"]
        ),
        (
            &json!("ticket.resolved"),
            &json!("pending"),
            &json!(1),
            &json!(500)
        ),
        "{first}"
    );
    // Not before the backoff (10 s), then delivered.
    webhooks::run_pass(&second, &allowed, now + TimeDelta::seconds(5))
        .await
        .unwrap();
    assert_eq!(rx.got.lock().unwrap().len(), 1);
    webhooks::run_pass(&second, &allowed, now + TimeDelta::seconds(11))
        .await
        .unwrap();
    let got = rx.got.lock().unwrap().clone();
    assert_eq!(got.len(), 2);
    assert_eq!(
        got[0].delivery, got[1].delivery,
        "a retry keeps its delivery id"
    );
    assert_eq!(got[1].event, "ticket.resolved");
    let first = deliveries(&base, &admin, hook).await[0].clone();
    assert_eq!(
        (&first["state"], &first["attempts"]),
        (&json!("delivered"), &json!(2))
    );

    // A receiver down for a day: given up on, then sent again on request.
    rx.got.lock().unwrap().clear();
    *rx.fail.lock().unwrap() = 1000;
    call(
        Method::PATCH,
        format!("{base}/api/v1/tickets/{}", ids[1]),
        &tech,
        Some(json!({"status": "resolved"})),
    )
    .await;
    let start = Utc::now();
    let mut at = start;
    for _ in 0..40 {
        webhooks::run_pass(&s, &allowed, at).await.unwrap();
        at += TimeDelta::hours(1);
    }
    let given_up = deliveries(&base, &admin, hook).await[0].clone();
    assert_eq!(given_up["state"], "failed", "{given_up}");
    let tries = given_up["attempts"].as_i64().unwrap();
    assert!((5..=40).contains(&tries), "{given_up}");
    assert_eq!(rx.got.lock().unwrap().len() as i64, tries);
    *rx.fail.lock().unwrap() = 0;
    let (status, again) = call(
        Method::POST,
        format!(
            "{base}/api/v1/webhooks/deliveries/{}/redeliver",
            given_up["id"]
        ),
        &admin,
        None,
    )
    .await;
    assert_eq!(
        (status, &again["state"]),
        (StatusCode::OK, &json!("pending")),
        "{again}"
    );
    webhooks::run_pass(&s, &allowed, Utc::now()).await.unwrap();
    let done = deliveries(&base, &admin, hook).await[0].clone();
    assert_eq!(done["state"], "delivered", "{done}");
    let (status, _) = call(
        Method::POST,
        format!("{base}/api/v1/webhooks/deliveries/999999/redeliver"),
        &admin,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = call(
        Method::POST,
        format!("{base}/api/v1/webhooks/deliveries/1/redeliver"),
        &tech,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // A node that claimed a delivery and died (kill -9): nobody else sends
    // it while its lease holds; after it, another node does.
    call(
        Method::PATCH,
        format!("{base}/api/v1/tickets/{}", ids[2]),
        &tech,
        Some(json!({"status": "resolved"})),
    )
    .await;
    webhooks::fan_out(&s).await.unwrap();
    let t0 = Utc::now().timestamp();
    let held = s
        .claim_deliveries(t0, t0 + webhooks::LEASE_SECS, 10)
        .await
        .unwrap();
    assert_eq!(held.len(), 1);
    assert!(
        second
            .claim_deliveries(t0, t0 + 60, 10)
            .await
            .unwrap()
            .is_empty()
    );
    rx.got.lock().unwrap().clear();
    webhooks::run_pass(&second, &allowed, Utc::now())
        .await
        .unwrap();
    assert!(
        rx.got.lock().unwrap().is_empty(),
        "sent while another node held it"
    );
    webhooks::run_pass(
        &second,
        &allowed,
        Utc::now() + TimeDelta::seconds(webhooks::LEASE_SECS + 1),
    )
    .await
    .unwrap();
    let got = rx.got.lock().unwrap().clone();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].delivery, held[0].event_id.to_string());

    // Device events: enrolled, a check failing (after its
    // fails_before_alert: the reported state), recovered.
    rx.got.lock().unwrap().clear();
    let (status, devices_hook) = call(
        Method::POST,
        hooks.clone(),
        &admin,
        Some(
            json!({"url": url, "events": ["device.enrolled", "check.failing", "check.recovered"]}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{devices_hook}");
    let device_secret = devices_hook["secret"].as_str().unwrap().to_owned();
    s.create_enroll_secret(Some("hooks"), &hash_token("hook-secret"), None)
        .await
        .unwrap();
    let (status, enrolled) = call(
        Method::POST,
        format!("{base}/api/v1/enroll"),
        "",
        Some(json!({"enroll_secret": "hook-secret", "device": {"device_key": "hooked", "hostname": "pc-42"}})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{enrolled}");
    let device_token = enrolled["device_token"].as_str().unwrap().to_owned();
    let checkin = |alert: &str, fails: u32| {
        json!({"check_results": [{"check_id": "disk-root", "state": "critical", "summary": "/: 3% free",
            "timestamp": Utc::now(), "duration_ms": 1, "consecutive_failures": fails, "alert_state": alert}]})
    };
    for body in [
        checkin("ok", 1),
        checkin("critical", 3),
        checkin("critical", 4),
    ] {
        let (status, r) = call(
            Method::POST,
            format!("{base}/api/v1/agent/checkin"),
            &device_token,
            Some(body),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{r}");
    }
    let mut ok = checkin("ok", 0);
    ok["check_results"][0]["state"] = json!("ok");
    ok["check_results"][0]["summary"] = json!("/: 40% free");
    call(
        Method::POST,
        format!("{base}/api/v1/agent/checkin"),
        &device_token,
        Some(ok),
    )
    .await;
    webhooks::run_pass(&s, &allowed, Utc::now()).await.unwrap();
    let got = rx.got.lock().unwrap().clone();
    let events: Vec<&str> = got.iter().map(|r| r.event.as_str()).collect();
    assert_eq!(
        events,
        ["device.enrolled", "check.failing", "check.recovered"],
        "{got:#?}"
    );
    for r in &got {
        assert!(verifies(&device_secret, r));
        let p: Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(p["data"]["device"]["hostname"], "pc-42", "{p}");
    }
    let failing: Value = serde_json::from_str(&got[1].body).unwrap();
    assert_eq!(
        (
            &failing["data"]["check"]["id"],
            &failing["data"]["check"]["state"],
            &failing["data"]["check"]["summary"]
        ),
        (
            &json!("disk-root"),
            &json!("critical"),
            &json!("/: 3% free")
        )
    );

    // Paused: no new deliveries; deleted: gone with its log.
    let (status, paused) = call(
        Method::PATCH,
        format!("{hooks}/{hook}"),
        &admin,
        Some(json!({"active": false})),
    )
    .await;
    assert_eq!(
        (status, &paused["active"]),
        (StatusCode::OK, &json!(false)),
        "{paused}"
    );
    call(
        Method::PATCH,
        format!("{base}/api/v1/tickets/{}", ids[3]),
        &tech,
        Some(json!({"status": "resolved"})),
    )
    .await;
    let before = deliveries(&base, &admin, hook).await.len();
    webhooks::run_pass(&s, &allowed, Utc::now()).await.unwrap();
    assert_eq!(deliveries(&base, &admin, hook).await.len(), before);
    let (status, _) = call(Method::DELETE, format!("{hooks}/{hook}"), &admin, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = call(
        Method::GET,
        format!("{hooks}/{hook}/deliveries"),
        &admin,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_webhooks() {
    let (s, dir) = common::sqlite().await;
    let url = format!("sqlite://{}", dir.path().join("desk.db").display());
    let second = deskside_server::store::SqliteStore::open(&url)
        .await
        .unwrap();
    webhooks_end_to_end(s, second).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_webhooks() {
    if let Some(url) = common::pg_url().await {
        let s = deskside_server::store::PgStore::open(&url).await.unwrap();
        s.migrate().await.unwrap();
        let second = deskside_server::store::PgStore::open(&url).await.unwrap();
        webhooks_end_to_end(s, second).await;
    }
}
