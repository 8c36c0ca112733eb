//! The HTTP API on a real server (127.0.0.1:0), on SQLite and PostgreSQL:
//! enrollment, and bad input answered with precise JSON errors.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use chrono::{TimeDelta, Utc};
use deskside_protocol::{EnrollResponse, ErrorBody};
use deskside_server::api::{self, Limits, router};
use deskside_server::credentials::hash_token;
use deskside_server::store::Store;
use reqwest::StatusCode;

async fn start_with<S: Store>(store: S, enroll_per_minute: u32) -> String {
    let limits = Limits {
        max_body_bytes: 64 * 1024,
        request_timeout: Duration::from_secs(10),
        enroll_per_minute,
        ..Limits::default()
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let blobs = deskside_server::blobs::DiskBlobs::new(
        std::env::temp_dir().join(format!("deskside-test-blobs-{}", addr.port())),
    )
    .unwrap();
    tokio::spawn(api::serve(
        listener,
        router(store, blobs, limits),
        std::future::pending(),
    ));
    format!("http://{addr}")
}

async fn start<S: Store>(store: S) -> String {
    start_with(store, 1000).await
}

async fn post(
    url: &str,
    content_type: Option<&str>,
    body: impl Into<reqwest::Body>,
) -> (StatusCode, Vec<u8>) {
    let mut req = common::http().post(url).body(body);
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    let resp = req.send().await.unwrap();
    (resp.status(), resp.bytes().await.unwrap().to_vec())
}

async fn enroll(base: &str, secret: &str, device: serde_json::Value) -> (StatusCode, Vec<u8>) {
    let body = serde_json::json!({"enroll_secret": secret, "device": device});
    post(
        &format!("{base}/api/v1/enroll"),
        Some("application/json"),
        serde_json::to_vec(&body).unwrap(),
    )
    .await
}

/// The error code of a JSON error body (and proof it is one, with a code
/// of the typed list).
fn code(body: &[u8]) -> String {
    let e: ErrorBody = serde_json::from_slice(body)
        .unwrap_or_else(|_| panic!("not a JSON error: {}", String::from_utf8_lossy(body)));
    assert!(!e.error.message.is_empty());
    assert_ne!(
        e.error.code,
        deskside_protocol::ErrorCode::Unknown,
        "an untyped code: {}",
        String::from_utf8_lossy(body)
    );
    e.error.code.as_str().to_owned()
}

async fn enrollment_flow<S: Store>(store: S) {
    let base = start(store.clone()).await;
    store
        .create_enroll_secret(Some("laptops"), &hash_token("good"), None)
        .await
        .unwrap();
    store
        .create_enroll_secret(
            None,
            &hash_token("old"),
            Some(Utc::now() - TimeDelta::minutes(1)),
        )
        .await
        .unwrap();

    let device =
        serde_json::json!({"hostname": "pc1", "device_key": "key-1", "serial_number": "SN-1"});
    let key = common::DeviceKey::new();
    let with_key = |proof: serde_json::Value| {
        let mut body = serde_json::json!({"enroll_secret": "good", "device": device});
        body.as_object_mut()
            .unwrap()
            .extend(proof.as_object().unwrap().clone());
        body
    };
    let enroll_with = |body: serde_json::Value| {
        let url = format!("{base}/api/v1/enroll");
        async move {
            post(
                &url,
                Some("application/json"),
                serde_json::to_vec(&body).unwrap(),
            )
            .await
        }
    };
    let (st, body) = enroll_with(with_key(key.proof(&base).await)).await;
    assert_eq!(
        st,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&body)
    );
    let first: EnrollResponse = serde_json::from_slice(&body).unwrap();
    assert!(first.device_token.starts_with("dsk_dev_"));
    assert_eq!(
        store
            .device_by_token(&hash_token(&first.device_token))
            .await
            .unwrap()
            .unwrap()
            .id,
        first.device_id
    );

    // The same machine again, proving its key: same id, new token, old
    // token dead.
    let (st, body) = enroll_with(with_key(key.proof(&base).await)).await;
    assert_eq!(st, StatusCode::OK);
    let again: EnrollResponse = serde_json::from_slice(&body).unwrap();
    assert_eq!(again.device_id, first.device_id);
    assert_ne!(again.device_token, first.device_token);
    assert!(
        store
            .device_by_token(&hash_token(&first.device_token))
            .await
            .unwrap()
            .is_none()
    );

    // Anyone else with the fleet's secret and the device's key or serial
    // gets a new device, marked as a likely duplicate, never this one.
    let (st, body) = enroll(&base, "good", device.clone()).await;
    assert_eq!(st, StatusCode::CREATED);
    let impostor: EnrollResponse = serde_json::from_slice(&body).unwrap();
    assert_ne!(impostor.device_id, first.device_id);
    let (st, body) = enroll_with(with_key(common::DeviceKey::new().proof(&base).await)).await;
    assert_eq!(st, StatusCode::CREATED);
    assert_ne!(
        serde_json::from_slice::<EnrollResponse>(&body)
            .unwrap()
            .device_id,
        first.device_id
    );
    assert!(
        store
            .device_by_token(&hash_token(&again.device_token))
            .await
            .unwrap()
            .is_some(),
        "the real device is not locked out"
    );
    let dup = store.device(impostor.device_id).await.unwrap().unwrap();
    assert_eq!(dup.duplicate_of, Some(first.device_id));
    // A proof is good once, only for its key, and only with a challenge
    // this desk issued.
    let proof = key.proof(&base).await;
    let (st, _) = enroll_with(with_key(proof.clone())).await;
    assert_eq!(st, StatusCode::OK);
    let (st, body) = enroll_with(with_key(proof.clone())).await;
    assert_eq!(
        (st, code(&body)),
        (StatusCode::UNAUTHORIZED, "invalid_key_proof".into()),
        "replayed"
    );
    let mut stolen = common::DeviceKey::new().proof(&base).await;
    stolen["public_key"] = serde_json::Value::String(key.public());
    let (st, body) = enroll_with(with_key(stolen)).await;
    assert_eq!(
        (st, code(&body)),
        (StatusCode::UNAUTHORIZED, "invalid_key_proof".into()),
        "another key's signature"
    );
    let (st, body) = enroll_with(with_key(key.sign("dsk_chl_made_up"))).await;
    assert_eq!(
        (st, code(&body)),
        (StatusCode::UNAUTHORIZED, "invalid_key_proof".into()),
        "unknown challenge"
    );
    let (st, body) = enroll_with(with_key(serde_json::json!({"public_key": key.public()}))).await;
    assert_eq!(
        (st, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_body".into())
    );
    let mut short = key.proof(&base).await;
    short["public_key"] = "AAAA".into();
    let (st, body) = enroll_with(with_key(short)).await;
    assert_eq!(
        (st, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_body".into())
    );

    // A device enrolled before it had a key keeps working and registers
    // one at its next check-in; from then on the key gets it back.
    let (_, body) = enroll(&base, "good", serde_json::json!({"device_key": "legacy"})).await;
    let legacy: EnrollResponse = serde_json::from_slice(&body).unwrap();
    let legacy_key = common::DeviceKey::new();
    let (st, _) = call(
        reqwest::Method::POST,
        format!("{base}/api/v1/agent/checkin"),
        Some(&legacy.device_token),
        Some(serde_json::json!({"public_key": legacy_key.public()})),
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    let mut body = serde_json::json!({"enroll_secret": "good", "device": {"device_key": "legacy"}});
    body.as_object_mut()
        .unwrap()
        .extend(legacy_key.proof(&base).await.as_object().unwrap().clone());
    let (st, body) = enroll_with(body).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(
        serde_json::from_slice::<EnrollResponse>(&body)
            .unwrap()
            .device_id,
        legacy.device_id
    );

    for secret in ["wrong", "old", ""] {
        let (st, body) = enroll(&base, secret, serde_json::json!({"hostname": "x"})).await;
        assert_eq!(st, StatusCode::UNAUTHORIZED, "secret {secret:?}");
        assert_eq!(code(&body), "invalid_enroll_secret");
    }
    // A revoked secret stops working at once.
    let id = store
        .list_enroll_secrets()
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.label.as_deref() == Some("laptops"))
        .unwrap()
        .id;
    assert!(store.revoke_enroll_secret(id).await.unwrap());
    let (st, _) = enroll(&base, "good", serde_json::json!({"device_key": "key-9"})).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
}

async fn bad_input<S: Store>(store: S) {
    let base = start(store).await;
    let url = format!("{base}/api/v1/enroll");
    let cases: Vec<(Option<&str>, Vec<u8>, StatusCode, &str)> = vec![
        (
            Some("application/json"),
            b"{\"enroll_secret\": ".to_vec(),
            StatusCode::BAD_REQUEST,
            "invalid_json",
        ),
        (
            Some("application/json"),
            vec![b'"', 0xff, 0xfe, b'"'],
            StatusCode::BAD_REQUEST,
            "invalid_json",
        ),
        (
            Some("text/plain"),
            b"{}".to_vec(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            None,
            b"{}".to_vec(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            Some("application/json"),
            b"{\"device\": {}}".to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            Some("application/json"),
            b"[1, 2]".to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            Some("application/json"),
            serde_json::to_vec(
                &serde_json::json!({"enroll_secret": "x", "device": {"hostname": "h".repeat(300)}}),
            )
            .unwrap(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            Some("application/json"),
            vec![b' '; 100 * 1024],
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
        ),
    ];
    for (ct, body, status, want) in cases {
        let (st, got) = post(&url, ct, body).await;
        assert_eq!(st, status, "{}", String::from_utf8_lossy(&got));
        assert_eq!(code(&got), want);
    }
    let client = common::http();
    let r = client
        .get(format!("{base}/api/v1/nowhere"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(code(&r.bytes().await.unwrap()), "not_found");
    let r = client.get(&url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(code(&r.bytes().await.unwrap()), "method_not_allowed");
    for path in ["healthz", "readyz"] {
        assert_eq!(
            client
                .get(format!("{base}/{path}"))
                .send()
                .await
                .unwrap()
                .status(),
            StatusCode::OK
        );
    }
}

#[tokio::test]
async fn sqlite_enrollment() {
    let (s, _dir) = common::sqlite().await;
    enrollment_flow(s).await;
}

/// Errors made by layers, not handlers, carry the JSON body too: an unknown
/// `Content-Encoding` (415) and a body that never finishes arriving (408).
#[tokio::test]
async fn layer_errors_are_json() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (store, _dir) = common::sqlite().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let blobs = deskside_server::blobs::DiskBlobs::new(_dir.path().join("blobs")).unwrap();
    let limits = Limits {
        request_timeout: Duration::from_millis(500),
        ..Limits::default()
    };
    tokio::spawn(api::serve(
        listener,
        router(store, blobs, limits),
        std::future::pending(),
    ));
    let r = common::http()
        .post(format!("http://{addr}/api/v1/enroll"))
        .header("content-type", "application/json")
        .header("content-encoding", "br")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(code(&r.bytes().await.unwrap()), "unsupported_media_type");

    // Headers promise 100 bytes; 2 arrive, then nothing.
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    tcp.write_all(
        b"POST /api/v1/enroll HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
          Content-Length: 100\r\n\r\n{\"",
    )
    .await
    .unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), async {
        let mut buf = [0u8; 4096];
        loop {
            let n = tcp.read(&mut buf).await.unwrap();
            answer.extend_from_slice(&buf[..n]);
            let done = String::from_utf8_lossy(&answer)
                .split_once("\r\n\r\n")
                .is_some_and(|(_, b)| serde_json::from_str::<ErrorBody>(b).is_ok());
            if n == 0 || done {
                break;
            }
        }
    })
    .await
    .unwrap();
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    let body = text.split("\r\n\r\n").nth(1).unwrap_or_default();
    assert_eq!(code(body.as_bytes()), "request_timeout", "{text}");
}

#[tokio::test]
async fn sqlite_bad_input() {
    let (s, _dir) = common::sqlite().await;
    bad_input(s).await;
}

#[tokio::test]
async fn postgres_enrollment() {
    if let Some(s) = common::postgres().await {
        enrollment_flow(s).await;
    }
}

#[tokio::test]
async fn postgres_bad_input() {
    if let Some(s) = common::postgres().await {
        bad_input(s).await;
    }
}

#[tokio::test]
async fn enrollment_is_rate_limited() {
    let (s, _dir) = common::sqlite().await;
    let base = start_with(s, 3).await;
    // A burst of twice the per-minute rate, then 429 with Retry-After.
    for _ in 0..6 {
        assert_eq!(
            enroll(&base, "guess", serde_json::json!({})).await.0,
            StatusCode::UNAUTHORIZED
        );
    }
    let r = common::http()
        .post(format!("{base}/api/v1/enroll"))
        .header("content-type", "application/json")
        .body(r#"{"enroll_secret":"guess","device":{}}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=20).contains(&wait), "{wait}");
    assert_eq!(code(&r.bytes().await.unwrap()), "rate_limited");
}

fn inventory(packages: &[(&str, &str)], memory: u64) -> serde_json::Value {
    let software: Vec<serde_json::Value> = packages
        .iter()
        .map(|(n, v)| serde_json::json!({"name": n, "version": v, "source": "dpkg", "architecture": "amd64"}))
        .collect();
    serde_json::json!({
        "collected_at": Utc::now(),
        "device": {"hostname": "pc1", "device_key": "inv-key"},
        "os": {"name": "Debian GNU/Linux", "uptime_secs": 42},
        "hardware": {"memory": {"total_bytes": memory}},
        "software": software,
    })
}

async fn put_inventory(
    base: &str,
    token: Option<&str>,
    body: Vec<u8>,
    gzip: bool,
) -> (StatusCode, Vec<u8>) {
    let mut req = common::http()
        .put(format!("{base}/api/v1/agent/inventory"))
        .header("content-type", "application/json");
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    if gzip {
        req = req.header("content-encoding", "gzip");
    }
    let r = req.body(body).send().await.unwrap();
    (r.status(), r.bytes().await.unwrap().to_vec())
}

fn gz(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

async fn inventory_flow<S: Store>(store: S) {
    let base = start(store.clone()).await;
    store
        .create_enroll_secret(None, &hash_token("fleet"), None)
        .await
        .unwrap();
    let (_, body) = enroll(&base, "fleet", serde_json::json!({"device_key": "inv-key"})).await;
    let device: EnrollResponse = serde_json::from_slice(&body).unwrap();
    let token = device.device_token.as_str();

    let v1 = serde_json::to_vec(&inventory(
        &[("curl", "7.88.1-10"), ("vim", "2:9.0.1378-2")],
        8 << 30,
    ))
    .unwrap();
    let (st, body) = put_inventory(&base, Some(token), v1.clone(), false).await;
    assert_eq!(st, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    let ack: deskside_protocol::InventoryAck = serde_json::from_slice(&body).unwrap();
    assert!(ack.changed, "the first inventory is news");
    assert_eq!(ack.inventory_hash.len(), 64);

    // The same machine again, gzip-compressed: no change recorded.
    let (st, body) = put_inventory(&base, Some(token), gz(&v1), true).await;
    assert_eq!(st, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    let again: deskside_protocol::InventoryAck = serde_json::from_slice(&body).unwrap();
    assert!(!again.changed);
    assert_eq!(again.inventory_hash, ack.inventory_hash);
    assert!(
        store
            .inventory_changes(device.device_id, 0, 10)
            .await
            .unwrap()
            .is_empty()
    );

    // A package upgraded, one added, more memory: one change with all three.
    let v2 = serde_json::to_vec(&inventory(
        &[
            ("curl", "7.88.1-11"),
            ("htop", "3.2.2-2"),
            ("vim", "2:9.0.1378-2"),
        ],
        16 << 30,
    ))
    .unwrap();
    let (_, body) = put_inventory(&base, Some(token), v2, false).await;
    assert!(
        serde_json::from_slice::<deskside_protocol::InventoryAck>(&body)
            .unwrap()
            .changed
    );
    let changes = store
        .inventory_changes(device.device_id, 0, 10)
        .await
        .unwrap();
    assert_eq!(changes.len(), 1);
    let diff: deskside_protocol::InventoryDiff = serde_json::from_str(&changes[0].2).unwrap();
    assert_eq!(diff.software_added[0].name, "htop");
    assert_eq!(diff.software_changed[0].name, "curl");
    assert_eq!(diff.system_changes[0].path, "hardware.memory.total_bytes");

    // Who may upload.
    let v = serde_json::to_vec(&inventory(&[], 1)).unwrap();
    for (tok, want) in [
        (None, "missing_credentials"),
        (Some("dsk_dev_nope"), "invalid_token"),
    ] {
        let (st, body) = put_inventory(&base, tok, v.clone(), false).await;
        assert_eq!(st, StatusCode::UNAUTHORIZED);
        assert_eq!(code(&body), want);
    }
    // Not an inventory, and not gzip.
    let (st, body) = put_inventory(&base, Some(token), b"{\"software\": []}".to_vec(), false).await;
    assert_eq!(
        (st, code(&body).as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_body")
    );
    let (st, _) = put_inventory(&base, Some(token), b"not gzip at all".to_vec(), true).await;
    assert!(st.is_client_error(), "{st}");
}

#[tokio::test]
async fn sqlite_inventory() {
    let (s, _dir) = common::sqlite().await;
    inventory_flow(s).await;
}

#[tokio::test]
async fn postgres_inventory() {
    if let Some(s) = common::postgres().await {
        inventory_flow(s).await;
    }
}

async fn call(
    method: reqwest::Method,
    url: String,
    token: Option<&str>,
    body: Option<serde_json::Value>,
) -> (StatusCode, serde_json::Value) {
    let mut req = common::http().request(method, url);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
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
        serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
    )
}

async fn checkin_and_policy<S: Store>(store: S) {
    use deskside_server::credentials::new_token;
    use deskside_server::store::Role;
    let base = start(store.clone()).await;
    store
        .create_enroll_secret(None, &hash_token("fleet"), None)
        .await
        .unwrap();
    let (_, body) = enroll(&base, "fleet", serde_json::json!({"device_key": "chk-key"})).await;
    let device: EnrollResponse = serde_json::from_slice(&body).unwrap();
    let dev = device.device_token.as_str();
    let admin = store
        .create_user("admin@example.com", Role::Admin, None)
        .await
        .unwrap();
    let tech = store
        .create_user("tech@example.com", Role::Technician, None)
        .await
        .unwrap();
    let (admin_token, tech_token) = (new_token("dsk_api"), new_token("dsk_api"));
    store
        .create_api_token(admin.id, &hash_token(&admin_token), None)
        .await
        .unwrap();
    store
        .create_api_token(tech.id, &hash_token(&tech_token), None)
        .await
        .unwrap();
    let checkin_url = format!("{base}/api/v1/agent/checkin");
    let policy_url = format!("{base}/api/v1/policy");

    // First check-in: no inventory yet, no policy from the desk.
    let result = serde_json::json!({"check_id": "disk", "state": "warning", "summary": "/: 9% free",
        "timestamp": Utc::now(), "duration_ms": 3, "alert_state": "warning"});
    let sample = serde_json::json!({"timestamp": Utc::now(), "cpu": {"usage_percent": 12.5}});
    // Failing for the first time of three: the device's state for it stays
    // the reported one (ok) until fails_before_alert is reached.
    let waiting = serde_json::json!({"check_id": "load", "state": "critical", "summary": "load 9",
        "timestamp": Utc::now(), "duration_ms": 1, "consecutive_failures": 1, "alert_state": "ok"});
    let body = serde_json::json!({"agent_version": "0.1.0", "overall_health": "warning", "policy_version": 0,
        "inventory_hash": "abc", "check_results": [result, waiting], "metrics": [sample]});
    let (st, resp) = call(
        reqwest::Method::POST,
        checkin_url.clone(),
        Some(dev),
        Some(body.clone()),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{resp}");
    assert_eq!(resp["send_inventory"], true);
    assert!(resp["next_checkin_secs"].as_u64().unwrap() > 0);
    assert!(resp.get("policy").is_none());
    let stored = store.check_results(device.device_id).await.unwrap();
    assert_eq!(
        (stored[0].0.as_str(), stored[0].1.as_str()),
        ("disk", "warning")
    );
    let load = stored.iter().find(|r| r.0 == "load").unwrap();
    assert_eq!(
        load.1, "ok",
        "the reported state, not the raw one, is the device's"
    );

    // Policy: technicians may read, only admins may write; bad checks refused.
    assert_eq!(
        call(
            reqwest::Method::GET,
            policy_url.clone(),
            Some(&tech_token),
            None
        )
        .await
        .0,
        StatusCode::NOT_FOUND
    );
    let policy = serde_json::json!({"checks": [{"id": "disk", "kind": "disk_free", "warn": "20%", "crit": "10%"}]});
    let (st, resp) = call(
        reqwest::Method::PUT,
        policy_url.clone(),
        Some(&tech_token),
        Some(policy.clone()),
    )
    .await;
    assert_eq!(
        (st, resp["error"]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("forbidden"))
    );
    assert_eq!(
        call(
            reqwest::Method::PUT,
            policy_url.clone(),
            Some(dev),
            Some(policy.clone())
        )
        .await
        .0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        call(
            reqwest::Method::PUT,
            policy_url.clone(),
            None,
            Some(policy.clone())
        )
        .await
        .0,
        StatusCode::UNAUTHORIZED
    );
    // A misspelt top-level key is refused, as the agent refuses it in a file.
    let (st, resp) = call(
        reqwest::Method::PUT,
        policy_url.clone(),
        Some(&admin_token),
        Some(serde_json::json!({"check": [{"id": "x", "kind": "uptime"}]})),
    )
    .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{resp}");
    assert!(
        resp["error"]["message"]
            .as_str()
            .unwrap()
            .contains("unknown top-level key \"check\""),
        "{resp}"
    );
    let bad = serde_json::json!({"checks": [{"id": "x", "kind": "disk_free", "warn": "lots"}]});
    let (st, resp) = call(
        reqwest::Method::PUT,
        policy_url.clone(),
        Some(&admin_token),
        Some(bad),
    )
    .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        resp["error"]["message"]
            .as_str()
            .unwrap()
            .contains("check \"x\", field \"warn\""),
        "{resp}"
    );
    let (st, resp) = call(
        reqwest::Method::PUT,
        policy_url.clone(),
        Some(&admin_token),
        Some(policy.clone()),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{resp}");
    assert_eq!(resp["version"], 1);
    let (_, resp) = call(
        reqwest::Method::PUT,
        policy_url.clone(),
        Some(&admin_token),
        Some(policy),
    )
    .await;
    assert_eq!(resp["version"], 2, "every change is a new version");
    let (st, resp) = call(
        reqwest::Method::GET,
        policy_url.clone(),
        Some(&tech_token),
        None,
    )
    .await;
    assert_eq!((st, resp["version"].as_u64()), (StatusCode::OK, Some(2)));

    // Version 3 changes the disk check and adds one: the history says who
    // published each version, when, and what changed.
    let third = serde_json::json!({"checks": [
        {"id": "disk", "kind": "disk_free", "warn": "25%", "crit": "10%"},
        {"id": "up", "kind": "uptime"}]});
    let (st, _) = call(
        reqwest::Method::PUT,
        policy_url.clone(),
        Some(&admin_token),
        Some(third),
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    let history = format!("{policy_url}/history");
    let (st, page) = call(
        reqwest::Method::GET,
        format!("{history}?limit=2"),
        Some(&tech_token),
        None,
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{page}");
    let versions = page["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[0]["version"], 3);
    assert_eq!(versions[0]["created_by"], "admin@example.com");
    assert_eq!(
        versions[0]["diff"],
        serde_json::json!({"added": ["up"], "removed": [], "changed": ["disk"]})
    );
    assert_eq!(
        versions[1]["diff"],
        serde_json::json!({"added": [], "removed": [], "changed": []})
    );
    assert_eq!(page["next_cursor"], 2);
    let (_, page) = call(
        reqwest::Method::GET,
        format!("{history}?cursor=2"),
        Some(&tech_token),
        None,
    )
    .await;
    assert_eq!(page["versions"][0]["version"], 1);
    assert_eq!(
        page["versions"][0]["diff"]["added"],
        serde_json::json!(["disk"])
    );
    assert!(page["next_cursor"].is_null(), "{page}");

    // The agent gets the policy once, and the inventory request stops once
    // the desk holds the inventory with the agent's hash.
    let (_, resp) = call(
        reqwest::Method::POST,
        checkin_url.clone(),
        Some(dev),
        Some(body),
    )
    .await;
    assert_eq!(resp["policy"]["version"], 3);
    assert_eq!(resp["policy"]["checks"][0]["id"], "disk");
    let inv = serde_json::to_vec(&inventory(&[("curl", "1")], 1 << 30)).unwrap();
    let (_, ack) = put_inventory(&base, Some(dev), inv, false).await;
    let ack: deskside_protocol::InventoryAck = serde_json::from_slice(&ack).unwrap();
    let up_to_date = serde_json::json!({"policy_version": 3, "inventory_hash": ack.inventory_hash});
    let (_, resp) = call(
        reqwest::Method::POST,
        checkin_url.clone(),
        Some(dev),
        Some(up_to_date),
    )
    .await;
    assert_eq!(resp["send_inventory"], false);
    assert!(resp.get("policy").is_none());

    // Devices only; and nonsense is refused precisely.
    assert_eq!(
        call(
            reqwest::Method::POST,
            checkin_url.clone(),
            Some(&admin_token),
            Some(serde_json::json!({}))
        )
        .await
        .0,
        StatusCode::UNAUTHORIZED
    );
    let (st, resp) = call(
        reqwest::Method::POST,
        checkin_url,
        Some(dev),
        Some(serde_json::json!({"check_results": 5})),
    )
    .await;
    assert_eq!(
        (st, resp["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_body"))
    );
}

#[tokio::test]
async fn sqlite_checkin_and_policy() {
    let (s, _dir) = common::sqlite().await;
    checkin_and_policy(s).await;
}

#[tokio::test]
async fn postgres_checkin_and_policy() {
    if let Some(s) = common::postgres().await {
        checkin_and_policy(s).await;
    }
}

fn ticket_form(
    subject: &str,
    diagnostics: Option<Vec<u8>>,
    attachment: Option<(Vec<u8>, &str)>,
) -> reqwest::multipart::Form {
    let ticket = serde_json::json!({"subject": subject, "description": "It broke after lunch.", "category": "hardware", "urgency": "high"});
    let mut form = reqwest::multipart::Form::new().part(
        "ticket",
        reqwest::multipart::Part::bytes(serde_json::to_vec(&ticket).unwrap())
            .mime_str("application/json")
            .unwrap(),
    );
    if let Some(d) = diagnostics {
        form = form.part(
            "diagnostics",
            reqwest::multipart::Part::bytes(d).file_name("diagnostics.json.gz"),
        );
    }
    if let Some((a, name)) = attachment {
        form = form.part(
            "attachment",
            reqwest::multipart::Part::bytes(a)
                .file_name(name.to_owned())
                .mime_str("image/png")
                .unwrap(),
        );
    }
    form
}

async fn submit(
    base: &str,
    token: Option<&str>,
    key: Option<&str>,
    form: reqwest::multipart::Form,
) -> (StatusCode, serde_json::Value) {
    let mut req = common::http()
        .post(format!("{base}/api/v1/agent/tickets"))
        .multipart(form);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    if let Some(k) = key {
        req = req.header("idempotency-key", k);
    }
    let r = req.send().await.unwrap();
    let status = r.status();
    (
        status,
        serde_json::from_slice(&r.bytes().await.unwrap()).unwrap_or(serde_json::Value::Null),
    )
}

/// Enrolls a device with the "fleet" secret (which must exist) and returns
/// its token.
async fn device_token(base: &str, key: &str) -> String {
    let (_, body) = enroll(base, "fleet", serde_json::json!({"device_key": key})).await;
    serde_json::from_slice::<EnrollResponse>(&body)
        .unwrap()
        .device_token
}

/// A user with an API token.
async fn api_user<S: Store>(
    store: &S,
    email: &str,
    role: deskside_server::store::Role,
) -> (deskside_server::store::User, String) {
    let user = store.create_user(email, role, None).await.unwrap();
    let token = deskside_server::credentials::new_token("dsk_api");
    store
        .create_api_token(user.id, &hash_token(&token), None)
        .await
        .unwrap();
    (user, token)
}

/// Token, idempotency key, form, expected status and error code.
type BadSubmission<'a> = (
    Option<&'a str>,
    Option<&'a str>,
    reqwest::multipart::Form,
    StatusCode,
    &'a str,
);

async fn get_as(base: String, token: String, path: String) -> (StatusCode, serde_json::Value) {
    call(
        reqwest::Method::GET,
        format!("{base}{path}"),
        Some(&token),
        None,
    )
    .await
}

async fn tickets_flow<S: Store>(store: S) {
    let base = start(store.clone()).await;
    store
        .create_enroll_secret(None, &hash_token("fleet"), None)
        .await
        .unwrap();
    let device = |key: &'static str| {
        let base = base.clone();
        async move {
            let (_, body) = enroll(&base, "fleet", serde_json::json!({"device_key": key})).await;
            serde_json::from_slice::<EnrollResponse>(&body)
                .unwrap()
                .device_token
        }
    };
    let (a, b) = (device("tk-a").await, device("tk-b").await);
    let diagnostics: Vec<u8> = (0..200 * 1024).map(|i| (i % 251) as u8).collect();
    let png =
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89".to_vec();

    let form = ticket_form(
        "Laptop will not wake",
        Some(diagnostics.clone()),
        Some((png.clone(), "screen.png")),
    );
    let (st, t) = submit(&base, Some(&a), Some("key-1"), form).await;
    assert_eq!(st, StatusCode::CREATED, "{t}");
    let id = t["id"].as_i64().unwrap();
    assert_eq!(
        (t["status"].as_str(), t["priority"].as_u64()),
        (Some("new"), Some(2)),
        "high urgency"
    );
    assert_eq!(t["category"], "hardware");
    let atts = t["attachments"].as_array().unwrap();
    assert_eq!(atts.len(), 2);
    assert_eq!(
        (
            atts[0]["diagnostics"].as_bool(),
            atts[0]["size_bytes"].as_u64()
        ),
        (Some(true), Some(200 * 1024))
    );
    assert_eq!(
        (atts[1]["name"].as_str(), atts[1]["content_type"].as_str()),
        (Some("screen.png"), Some("image/png"))
    );

    // A retry with the same key, resent in full: the same ticket, and the
    // resent files are not kept twice.
    let port = base.rsplit(':').next().unwrap();
    let blob_dir = std::env::temp_dir().join(format!("deskside-test-blobs-{port}"));
    let blob_files = || {
        fn count(dir: &std::path::Path) -> usize {
            std::fs::read_dir(dir).map_or(0, |entries| {
                entries
                    .flatten()
                    .map(|e| {
                        if e.path().is_dir() {
                            count(&e.path())
                        } else {
                            1
                        }
                    })
                    .sum()
            })
        }
        count(&blob_dir)
    };
    let stored = blob_files();
    let (st, again) = submit(
        &base,
        Some(&a),
        Some("key-1"),
        ticket_form(
            "Laptop will not wake",
            Some(diagnostics.clone()),
            Some((png.clone(), "screen.png")),
        ),
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(again["id"].as_i64(), Some(id));
    assert_eq!(
        again["attachments"].as_array().unwrap().len(),
        2,
        "the first submission's files"
    );
    // The same key with another payload is not a retry: refused, and what
    // it uploaded is removed.
    let (st, body) = submit(
        &base,
        Some(&a),
        Some("key-1"),
        ticket_form("Laptop will not wake", Some(diagnostics), None),
    )
    .await;
    assert_eq!(
        (st, body["error"]["code"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("idempotency_key_reused")
        )
    );
    assert_eq!(blob_files(), stored, "no orphan blobs");
    let (st, other) = submit(
        &base,
        Some(&a),
        Some("key-2"),
        ticket_form("Second problem", None, None),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED);
    assert_ne!(other["id"].as_i64(), Some(id));
    // Device B's key-1 is its own.
    let (st, _) = submit(
        &base,
        Some(&b),
        Some("key-1"),
        ticket_form("B's problem", None, None),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED);

    // Each device sees its own tickets only.
    let get = |token: String, path: String| get_as(base.clone(), token, path);
    let (_, list) = get(a.clone(), "/api/v1/agent/tickets".into()).await;
    assert_eq!(list.as_array().unwrap().len(), 2);
    let (_, list) = get(b.clone(), "/api/v1/agent/tickets".into()).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    let (st, mine) = get(a.clone(), format!("/api/v1/agent/tickets/{id}")).await;
    assert_eq!(
        (st, mine["attachments"].as_array().map(Vec::len)),
        (StatusCode::OK, Some(2))
    );
    for (token, path) in [
        (b.clone(), format!("/api/v1/agent/tickets/{id}")),
        (a.clone(), "/api/v1/agent/tickets/99999".into()),
        (a.clone(), "/api/v1/agent/tickets/abc".into()),
    ] {
        let (st, body) = get(token, path).await;
        assert_eq!(
            (st, body["error"]["code"].as_str()),
            (StatusCode::NOT_FOUND, Some("not_found"))
        );
    }

    // Bad submissions: precise 4xx, JSON body.
    let bad: Vec<BadSubmission<'_>> = vec![
        (
            Some(&a),
            None,
            ticket_form("x", None, None),
            StatusCode::BAD_REQUEST,
            "idempotency_key_required",
        ),
        (
            Some(&a),
            Some("bad key!"),
            ticket_form("x", None, None),
            StatusCode::BAD_REQUEST,
            "invalid_idempotency_key",
        ),
        (
            Some(&a),
            Some("k3"),
            reqwest::multipart::Form::new().text("note", "hi"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            Some(&a),
            Some("k4"),
            reqwest::multipart::Form::new().text("ticket", "{not json"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            Some(&a),
            Some("k5"),
            ticket_form("   ", None, None),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            Some(&a),
            Some("k6"),
            ticket_form("big", None, Some((vec![0u8; 11 * 1024 * 1024], "big.bin"))),
            StatusCode::PAYLOAD_TOO_LARGE,
            "part_too_large",
        ),
        (
            None,
            Some("k7"),
            ticket_form("x", None, None),
            StatusCode::UNAUTHORIZED,
            "missing_credentials",
        ),
    ];
    let ticket_part = |json: &str| {
        reqwest::multipart::Part::bytes(json.as_bytes().to_vec())
            .mime_str("application/json")
            .unwrap()
    };
    let strict: Vec<(&str, reqwest::multipart::Form)> = vec![
        (
            "unknown category",
            reqwest::multipart::Form::new().part(
                "ticket",
                ticket_part(r#"{"subject": "x", "category": "coffee"}"#),
            ),
        ),
        (
            "unknown field",
            reqwest::multipart::Form::new().part(
                "ticket",
                ticket_part(r#"{"subject": "x", "sevrity": "high"}"#),
            ),
        ),
        (
            "two ticket parts",
            reqwest::multipart::Form::new()
                .part("ticket", ticket_part(r#"{"subject": "first"}"#))
                .part("ticket", ticket_part(r#"{"subject": "second"}"#)),
        ),
        (
            "NUL in the subject",
            reqwest::multipart::Form::new()
                .part("ticket", ticket_part(r#"{"subject": "a\u0000b"}"#))
                .part(
                    "attachment",
                    reqwest::multipart::Part::bytes(vec![7u8; 1024 * 1024]).file_name("a.bin"),
                ),
        ),
        (
            "unknown ticket type",
            reqwest::multipart::Form::new().part(
                "ticket",
                ticket_part(r#"{"subject": "x", "ticket_type": "problem"}"#),
            ),
        ),
        (
            "NUL in the description",
            reqwest::multipart::Form::new().part(
                "ticket",
                ticket_part(r#"{"subject": "x", "description": "\u0000"}"#),
            ),
        ),
    ];
    for (what, form) in strict {
        let (st, body) = submit(&base, Some(&a), Some("strict-1"), form).await;
        assert_eq!(
            (st, body["error"]["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_body")),
            "{what}: {body}"
        );
    }
    assert_eq!(blob_files(), stored, "refused submissions leave no blobs");
    for (token, key, form, status, want) in bad {
        let (st, body) = submit(&base, token, key, form).await;
        assert_eq!(
            (st, body["error"]["code"].as_str()),
            (status, Some(want)),
            "{body}"
        );
    }
    let (_, list) = get(a.clone(), "/api/v1/agent/tickets".into()).await;
    assert_eq!(
        list.as_array().unwrap().len(),
        2,
        "no bad submission created a ticket"
    );
    // "I need something", from the logged-in user: a service request with
    // its requester.
    let (st, t) = submit(
        &base,
        Some(&a),
        Some("request-1"),
        reqwest::multipart::Form::new().part(
            "ticket",
            ticket_part(r#"{"subject": "Need Figma", "ticket_type": "service_request", "requester": "mia"}"#),
        ),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{t}");
    assert_eq!(t["ticket_type"], "service_request");
    let w = store
        .ticket_work(t["id"].as_i64().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (w.requester_name.as_deref(), w.channel.as_str()),
        (Some("mia"), "tray")
    );
}

#[tokio::test]
async fn sqlite_tickets() {
    let (s, _dir) = common::sqlite().await;
    tickets_flow(s).await;
}

#[tokio::test]
async fn postgres_tickets() {
    if let Some(s) = common::postgres().await {
        tickets_flow(s).await;
    }
}

async fn device_views<S: Store>(store: S) {
    use deskside_server::store::Role;
    let base = start(store.clone()).await;
    store
        .create_enroll_secret(None, &hash_token("fleet"), None)
        .await
        .unwrap();
    let mut tokens = Vec::new();
    for (key, host) in [
        ("v1", "PC-Alpha"),
        ("v2", "pc-beta"),
        ("v3", "srv_1"),
        ("v4", "pc_gamma"),
    ] {
        let (_, body) = enroll(
            &base,
            "fleet",
            serde_json::json!({"device_key": key, "hostname": host}),
        )
        .await;
        tokens.push(serde_json::from_slice::<EnrollResponse>(&body).unwrap());
    }
    let (_, tt) = api_user(&store, "t@example.com", Role::Technician).await;
    let dev0 = tokens[0].device_token.clone();
    let checkin = serde_json::json!({"overall_health": "warning", "check_results": [{"check_id": "disk", "state": "warning",
        "summary": "low", "timestamp": Utc::now(), "duration_ms": 1, "alert_state": "warning"}]});
    call(
        reqwest::Method::POST,
        format!("{base}/api/v1/agent/checkin"),
        Some(&dev0),
        Some(checkin),
    )
    .await;
    // The inventory names the machine as it is called now.
    let named = |version| {
        let mut inv = inventory(&[("a", version)], 1 << 30);
        inv["device"]["hostname"] = "PC-Alpha".into();
        serde_json::to_vec(&inv).unwrap()
    };
    put_inventory(&base, Some(&dev0), named("1"), false).await;
    put_inventory(&base, Some(&dev0), named("2"), false).await;

    let list = |q: &str| {
        call(
            reqwest::Method::GET,
            format!("{base}/api/v1/devices{q}"),
            Some(&tt),
            None,
        )
    };
    let hosts = |v: &serde_json::Value| -> Vec<String> {
        v["devices"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["hostname"].as_str().unwrap().to_owned())
            .collect()
    };
    let (st, page1) = list("?limit=2").await;
    assert_eq!(st, StatusCode::OK, "{page1}");
    assert_eq!(hosts(&page1), ["PC-Alpha", "pc-beta"]);
    let cursor = page1["next_cursor"].as_i64().unwrap();
    let (_, page2) = list(&format!("?limit=2&cursor={cursor}")).await;
    assert_eq!(hosts(&page2), ["srv_1", "pc_gamma"]);
    assert_eq!(
        hosts(&list("?search=PC-").await.1),
        ["PC-Alpha", "pc-beta"],
        "case-insensitive"
    );
    assert_eq!(
        hosts(&list("?search=_").await.1),
        ["srv_1", "pc_gamma"],
        "_ is literal, not a wildcard"
    );
    assert!(
        hosts(&list("?search=%25").await.1).is_empty(),
        "% is literal"
    );
    let (_, warn) = list("?health=warning").await;
    assert_eq!(hosts(&warn), ["PC-Alpha"]);
    assert_eq!(warn["devices"][0]["health"], "warning");
    for q in [
        "?limit=0",
        "?limit=9999",
        "?health=sad",
        "?cursor=abc",
        "?colour=red",
    ] {
        let (st, body) = list(q).await;
        assert_eq!(
            (st, body["error"]["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_query")),
            "{q}"
        );
    }
    let (st, _) = call(
        reqwest::Method::GET,
        format!("{base}/api/v1/devices"),
        Some(&dev0),
        None,
    )
    .await;
    assert_eq!(
        st,
        StatusCode::UNAUTHORIZED,
        "device tokens cannot call technician endpoints"
    );

    let id = tokens[0].device_id;
    let (st, detail) = call(
        reqwest::Method::GET,
        format!("{base}/api/v1/devices/{id}"),
        Some(&tt),
        None,
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(detail["device"]["hostname"], "PC-Alpha");
    assert_eq!(detail["inventory"]["software"][0]["version"], "2");
    assert_eq!(detail["check_results"][0]["check_id"], "disk");
    let (_, changes) = call(
        reqwest::Method::GET,
        format!("{base}/api/v1/devices/{id}/inventory/changes"),
        Some(&tt),
        None,
    )
    .await;
    assert_eq!(
        changes["changes"][0]["diff"]["software_changed"][0]["new_version"],
        "2"
    );
    // Pages: bounded by `limit`, continued by the cursor.
    let (_, page) = call(
        reqwest::Method::GET,
        format!("{base}/api/v1/devices/{id}/inventory/changes?limit=1"),
        Some(&tt),
        None,
    )
    .await;
    assert_eq!(page["changes"].as_array().unwrap().len(), 1);
    let cursor = page["next_cursor"].as_i64().unwrap();
    let (_, rest) = call(
        reqwest::Method::GET,
        format!("{base}/api/v1/devices/{id}/inventory/changes?limit=100&cursor={cursor}"),
        Some(&tt),
        None,
    )
    .await;
    assert!(rest["next_cursor"].is_null(), "{rest}");
    assert_eq!(
        rest["changes"].as_array().unwrap().len() + 1,
        changes["changes"].as_array().unwrap().len()
    );
    let (st, _) = call(
        reqwest::Method::GET,
        format!("{base}/api/v1/devices/{id}/inventory/changes?limit=1000"),
        Some(&tt),
        None,
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    for path in [
        "/api/v1/devices/99999",
        "/api/v1/devices/x",
        "/api/v1/devices/99999/inventory/changes",
    ] {
        let (st, body) = call(
            reqwest::Method::GET,
            format!("{base}{path}"),
            Some(&tt),
            None,
        )
        .await;
        assert_eq!(
            (st, body["error"]["code"].as_str()),
            (StatusCode::NOT_FOUND, Some("not_found")),
            "{path}"
        );
    }
}

#[tokio::test]
async fn sqlite_device_views() {
    let (s, _dir) = common::sqlite().await;
    device_views(s).await;
}

#[tokio::test]
async fn postgres_device_views() {
    if let Some(s) = common::postgres().await {
        device_views(s).await;
    }
}

async fn ticket_work<S: Store>(store: S) {
    use deskside_server::store::Role;
    let base = start(store.clone()).await;
    store
        .create_enroll_secret(None, &hash_token("fleet"), None)
        .await
        .unwrap();
    let (a, b) = (
        device_token(&base, "w-a").await,
        device_token(&base, "w-b").await,
    );
    let (tech, tt) = api_user(&store, "tech@example.com", Role::Technician).await;
    let (_, t) = submit(
        &base,
        Some(&a),
        Some("w1"),
        ticket_form("VPN drops", None, None),
    )
    .await;
    let id = t["id"].as_i64().unwrap();
    let url = |p: &str| format!("{base}{p}");
    let tech_call = |m: reqwest::Method, p: String, body: Option<serde_json::Value>| {
        call(m, url(&p), Some(&tt), body)
    };

    // The queue.
    let (st, q) = tech_call(
        reqwest::Method::GET,
        "/api/v1/tickets?status=new".into(),
        None,
    )
    .await;
    assert_eq!(
        (st, q["tickets"][0]["id"].as_i64()),
        (StatusCode::OK, Some(id))
    );
    let (_, q) = tech_call(
        reqwest::Method::GET,
        "/api/v1/tickets?status=closed".into(),
        None,
    )
    .await;
    assert!(q["tickets"].as_array().unwrap().is_empty());
    let (st, _) = tech_call(
        reqwest::Method::GET,
        "/api/v1/tickets?status=lost".into(),
        None,
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_eq!(
        call(reqwest::Method::GET, url("/api/v1/tickets"), Some(&a), None)
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );

    // The workflow, the ITIL priority, assignment.
    let patch = |body: serde_json::Value| {
        tech_call(
            reqwest::Method::PATCH,
            format!("/api/v1/tickets/{id}"),
            Some(body),
        )
    };
    let (st, r) = patch(serde_json::json!({"status": "closed"})).await;
    assert_eq!(
        (st, r["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("invalid_transition"))
    );
    let (st, r) = patch(
        serde_json::json!({"status": "open", "impact": "high", "urgency": "high", "tier": 2,
        "assignee_email": "tech@example.com"}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{r}");
    assert_eq!(
        (
            r["ticket"]["status"].as_str(),
            r["ticket"]["priority"].as_u64()
        ),
        (Some("open"), Some(1))
    );
    assert_eq!(
        (r["tier"].as_i64(), r["assignee_id"].as_i64()),
        (Some(2), Some(tech.id))
    );
    for bad in [
        serde_json::json!({"tier": 5}),
        serde_json::json!({"assignee_email": "ghost@example.com"}),
        serde_json::json!({"colour": "red"}),
        // An unknown category is refused, not read as `other`.
        serde_json::json!({"category": "coffee"}),
        serde_json::json!({"category": 7}),
    ] {
        assert_eq!(
            patch(bad.clone()).await.0,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{bad}"
        );
    }
    let (_, r) = patch(serde_json::json!({"impact": "low"})).await;
    assert_eq!(r["ticket"]["priority"], 3, "low impact, high urgency");

    // The conversation: a reply and an internal note; the device sees the reply only.
    let comment = |body: serde_json::Value| {
        tech_call(
            reqwest::Method::POST,
            format!("/api/v1/tickets/{id}/comments"),
            Some(body),
        )
    };
    assert_eq!(
        comment(serde_json::json!({"body": "Please restart the VPN client."}))
            .await
            .0,
        StatusCode::CREATED
    );
    assert_eq!(
        comment(serde_json::json!({"body": "Suspect the Wi-Fi driver.", "internal": true}))
            .await
            .0,
        StatusCode::CREATED
    );
    assert_eq!(
        comment(serde_json::json!({"body": "   "})).await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let (_, seen) = call(
        reqwest::Method::GET,
        url(&format!("/api/v1/agent/tickets/{id}")),
        Some(&a),
        None,
    )
    .await;
    let texts: Vec<&str> = seen["comments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["body"].as_str().unwrap())
        .collect();
    assert_eq!(
        texts,
        ["Please restart the VPN client."],
        "internal notes never reach the device"
    );
    assert_eq!(seen["comments"][0]["author"], "technician");
    let (st, _) = call(
        reqwest::Method::POST,
        url(&format!("/api/v1/agent/tickets/{id}/comments")),
        Some(&a),
        Some(serde_json::json!({"body": "Restarted, still drops."})),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED);
    for (m, p, body) in [
        (
            reqwest::Method::GET,
            format!("/api/v1/agent/tickets/{id}"),
            None,
        ),
        (
            reqwest::Method::POST,
            format!("/api/v1/agent/tickets/{id}/comments"),
            Some(serde_json::json!({"body": "hi"})),
        ),
    ] {
        assert_eq!(
            call(m, url(&p), Some(&b), body).await.0,
            StatusCode::NOT_FOUND,
            "another device's ticket"
        );
    }
    let (_, full) = tech_call(reqwest::Method::GET, format!("/api/v1/tickets/{id}"), None).await;
    let internal: Vec<bool> = full["comments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["internal"].as_bool().unwrap())
        .collect();
    assert_eq!(internal, [false, true, false]);
    let actions: Vec<&str> = full["audit"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["update", "update", "comment", "internal_note"],
        "every technician change is audited"
    );
    assert_eq!(full["audit"][0]["detail"]["after"]["status"], "open");

    // Resolve, close, reopen.
    for (to, ok) in [
        ("resolved", true),
        ("closed", true),
        ("pending", false),
        ("open", true),
    ] {
        let (st, _) = patch(serde_json::json!({"status": to})).await;
        assert_eq!(st == StatusCode::OK, ok, "to {to}");
    }
}

#[tokio::test]
async fn sqlite_ticket_work() {
    let (s, _dir) = common::sqlite().await;
    ticket_work(s).await;
}

#[tokio::test]
async fn postgres_ticket_work() {
    if let Some(s) = common::postgres().await {
        ticket_work(s).await;
    }
}

async fn downloads_rating_reopen<S: Store>(store: S) {
    use deskside_server::store::Role;
    let base = start(store.clone()).await;
    store
        .create_enroll_secret(None, &hash_token("fleet"), None)
        .await
        .unwrap();
    let (a, b) = (
        device_token(&base, "d-a").await,
        device_token(&base, "d-b").await,
    );
    let (_, tt) = api_user(&store, "tech2@example.com", Role::Technician).await;
    let evil = b"<script>alert(1)</script>".to_vec();
    let form = ticket_form("Odd page", None, None).part(
        "attachment",
        reqwest::multipart::Part::bytes(evil.clone())
            .file_name("evil\".html")
            .mime_str("text/html")
            .unwrap(),
    );
    let (_, t) = submit(&base, Some(&a), Some("dl-1"), form).await;
    let (id, att) = (
        t["id"].as_i64().unwrap(),
        t["attachments"][0]["id"].as_i64().unwrap(),
    );

    let download = |token: String, path: String| {
        let base = base.clone();
        async move {
            let r = common::http()
                .get(format!("{base}{path}"))
                .header("authorization", format!("Bearer {token}"))
                .send()
                .await
                .unwrap();
            let h = r.headers().clone();
            (r.status(), h, r.bytes().await.unwrap().to_vec())
        }
    };
    for (token, path) in [
        (
            a.clone(),
            format!("/api/v1/agent/tickets/{id}/attachments/{att}"),
        ),
        (
            tt.clone(),
            format!("/api/v1/tickets/{id}/attachments/{att}"),
        ),
    ] {
        let (st, h, body) = download(token, path).await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(body, evil);
        assert_eq!(h["content-type"], "text/html");
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(
            h["content-disposition"],
            "attachment; filename=\"evil_.html\""
        );
    }
    for (token, path) in [
        (
            b.clone(),
            format!("/api/v1/agent/tickets/{id}/attachments/{att}"),
        ),
        (
            a.clone(),
            format!("/api/v1/agent/tickets/{id}/attachments/999999"),
        ),
        (
            a.clone(),
            format!("/api/v1/agent/tickets/{id}/attachments/x"),
        ),
    ] {
        assert_eq!(download(token, path).await.0, StatusCode::NOT_FOUND);
    }

    // Rating: once, after resolution. Reopen: from resolved or closed.
    let dev = |p: &str, body: Option<serde_json::Value>| {
        call(
            reqwest::Method::POST,
            format!("{base}/api/v1/agent/tickets/{id}/{p}"),
            Some(&a),
            body,
        )
    };
    let (st, r) = dev("rating", Some(serde_json::json!({"score": 5}))).await;
    assert_eq!(
        (st, r["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("cannot_rate"))
    );
    assert_eq!(
        dev("reopen", None).await.0,
        StatusCode::CONFLICT,
        "not resolved yet"
    );
    let (st, _) = call(
        reqwest::Method::PATCH,
        format!("{base}/api/v1/tickets/{id}"),
        Some(&tt),
        Some(serde_json::json!({"status": "resolved"})),
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(
        dev("rating", Some(serde_json::json!({"score": 9}))).await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        dev(
            "rating",
            Some(serde_json::json!({"score": 4, "comment": "Quick, thanks"}))
        )
        .await
        .0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        dev("rating", Some(serde_json::json!({"score": 1}))).await.0,
        StatusCode::CONFLICT,
        "once"
    );
    let (st, _) = call(
        reqwest::Method::POST,
        format!("{base}/api/v1/agent/tickets/{id}/reopen"),
        Some(&b),
        None,
    )
    .await;
    assert_eq!(st, StatusCode::NOT_FOUND, "another device's ticket");
    assert_eq!(dev("reopen", None).await.0, StatusCode::NO_CONTENT);
    let (_, seen) = call(
        reqwest::Method::GET,
        format!("{base}/api/v1/agent/tickets/{id}"),
        Some(&a),
        None,
    )
    .await;
    assert_eq!(seen["status"], "open");
    assert_eq!(dev("reopen", None).await.0, StatusCode::CONFLICT);
}

#[tokio::test]
async fn sqlite_downloads_rating_reopen() {
    let (s, _dir) = common::sqlite().await;
    downloads_rating_reopen(s).await;
}

#[tokio::test]
async fn postgres_downloads_rating_reopen() {
    if let Some(s) = common::postgres().await {
        downloads_rating_reopen(s).await;
    }
}

async fn ticket_updates_in_checkin<S: Store>(store: S) {
    use deskside_server::store::Role;
    let base = start(store.clone()).await;
    store
        .create_enroll_secret(None, &hash_token("fleet"), None)
        .await
        .unwrap();
    let (_, body) = enroll(&base, "fleet", serde_json::json!({"device_key": "upd"})).await;
    let dev = serde_json::from_slice::<EnrollResponse>(&body)
        .unwrap()
        .device_token;
    let (_, tt) = api_user(&store, "tech3@example.com", Role::Technician).await;
    let (_, t) = submit(
        &base,
        Some(&dev),
        Some("u1"),
        ticket_form("No sound", None, None),
    )
    .await;
    let id = t["id"].as_i64().unwrap();
    let checkin = |seen: Option<serde_json::Value>| {
        let body = match seen {
            Some(s) => serde_json::json!({"tickets_seen_at": s}),
            None => serde_json::json!({}),
        };
        call(
            reqwest::Method::POST,
            format!("{base}/api/v1/agent/checkin"),
            Some(&dev),
            Some(body),
        )
    };
    let (_, r) = checkin(None).await;
    let updates = r["ticket_updates"].as_array().unwrap();
    assert_eq!(updates.len(), 1);
    let seen = updates[0]["updated_at"].clone();
    assert!(
        checkin(Some(seen.clone())).await.1["ticket_updates"]
            .as_array()
            .unwrap()
            .is_empty(),
        "nothing new"
    );

    // An internal note is not news for the device; a reply and a status change are.
    let comment = |body: serde_json::Value| {
        call(
            reqwest::Method::POST,
            format!("{base}/api/v1/tickets/{id}/comments"),
            Some(&tt),
            Some(body),
        )
    };
    comment(serde_json::json!({"body": "Check the codec.", "internal": true})).await;
    assert!(
        checkin(Some(seen.clone())).await.1["ticket_updates"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    comment(serde_json::json!({"body": "Try the other port."})).await;
    call(
        reqwest::Method::PATCH,
        format!("{base}/api/v1/tickets/{id}"),
        Some(&tt),
        Some(serde_json::json!({"status": "pending"})),
    )
    .await;
    let (_, r) = checkin(Some(seen)).await;
    let u = &r["ticket_updates"][0];
    assert_eq!(
        (u["id"].as_i64(), u["status"].as_str()),
        (Some(id), Some("pending"))
    );
    let texts: Vec<&str> = u["comments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["body"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["Try the other port."]);
}

#[tokio::test]
async fn sqlite_ticket_updates_in_checkin() {
    let (s, _dir) = common::sqlite().await;
    ticket_updates_in_checkin(s).await;
}

#[tokio::test]
async fn postgres_ticket_updates_in_checkin() {
    if let Some(s) = common::postgres().await {
        ticket_updates_in_checkin(s).await;
    }
}

#[tokio::test]
async fn prometheus_metrics_count_traffic() {
    let (s, _dir) = common::sqlite().await;
    s.create_enroll_secret(None, &hash_token("fleet"), None)
        .await
        .unwrap();
    let base = start(s).await;
    assert_eq!(
        enroll(&base, "fleet", serde_json::json!({"device_key": "m1"}))
            .await
            .0,
        StatusCode::CREATED
    );
    assert_eq!(
        enroll(&base, "wrong", serde_json::json!({})).await.0,
        StatusCode::UNAUTHORIZED
    );
    let r = common::http()
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = r.text().await.unwrap();
    assert!(text.contains("deskside_enrollments_total 1\n"), "{text}");
    assert!(
        text.contains("deskside_http_responses_total{class=\"2xx\"} 1\n"),
        "{text}"
    );
    assert!(
        text.contains("deskside_http_responses_total{class=\"4xx\"} 1\n"),
        "{text}"
    );
}

async fn admin_api<S: Store>(store: S) {
    use deskside_server::credentials::new_token;
    use deskside_server::store::Role;
    let base = start(store.clone()).await;
    let admin = store
        .create_user("root@example.com", Role::Admin, None)
        .await
        .unwrap();
    let tech = store
        .create_user("t9@example.com", Role::Technician, None)
        .await
        .unwrap();
    let (at, tt) = (new_token("dsk_api"), new_token("dsk_api"));
    store
        .create_api_token(admin.id, &hash_token(&at), None)
        .await
        .unwrap();
    store
        .create_api_token(tech.id, &hash_token(&tt), None)
        .await
        .unwrap();
    let url = format!("{base}/api/v1/enroll-secrets");

    let (st, created) = call(
        reqwest::Method::POST,
        url.clone(),
        Some(&at),
        Some(serde_json::json!({"label": "kiosks", "expires_in_secs": 3600})),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{created}");
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("dsk_enr_"));
    assert_eq!(created["state"], "active");
    // The secret works for enrollment, and is never shown again.
    assert_eq!(
        enroll(&base, &secret, serde_json::json!({"device_key": "adm"}))
            .await
            .0,
        StatusCode::CREATED
    );
    let (_, list) = call(reqwest::Method::GET, url.clone(), Some(&at), None).await;
    assert_eq!(list["enroll_secrets"][0]["label"], "kiosks");
    assert!(!list.to_string().contains(&secret));
    let id = created["id"].as_i64().unwrap();
    assert_eq!(
        call(
            reqwest::Method::DELETE,
            format!("{url}/{id}"),
            Some(&at),
            None
        )
        .await
        .0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        call(
            reqwest::Method::DELETE,
            format!("{url}/{id}"),
            Some(&at),
            None
        )
        .await
        .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        enroll(&base, &secret, serde_json::json!({"device_key": "adm2"}))
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );

    // Administrators only; bad values refused.
    for (m, u, body) in [
        (reqwest::Method::GET, url.clone(), None),
        (
            reqwest::Method::POST,
            url.clone(),
            Some(serde_json::json!({})),
        ),
        (
            reqwest::Method::POST,
            format!("{base}/api/v1/users"),
            Some(serde_json::json!({"email": "x@example.com", "role": "admin"})),
        ),
    ] {
        assert_eq!(call(m, u, Some(&tt), body).await.0, StatusCode::FORBIDDEN);
    }
    let (st, _) = call(
        reqwest::Method::POST,
        url.clone(),
        Some(&at),
        Some(serde_json::json!({"expires_in_secs": 1})),
    )
    .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);

    let users = format!("{base}/api/v1/users");
    let (st, u) = call(reqwest::Method::POST, users.clone(), Some(&at), Some(serde_json::json!({"email": "new@example.com", "role": "technician", "password": "a long passphrase"}))).await;
    assert_eq!(
        (st, u["role"].as_str()),
        (StatusCode::CREATED, Some("technician"))
    );
    assert!(
        store
            .user_by_email("new@example.com")
            .await
            .unwrap()
            .unwrap()
            .password_hash
            .unwrap()
            .starts_with("$argon2id$")
    );
    for (body, status) in [
        (
            serde_json::json!({"email": "NEW@example.com", "role": "technician"}),
            StatusCode::CONFLICT,
        ),
        (
            serde_json::json!({"email": "nope", "role": "technician"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            serde_json::json!({"email": "z@example.com", "role": "god"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            serde_json::json!({"email": "z@example.com", "role": "admin", "password": "short"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ] {
        assert_eq!(
            call(reqwest::Method::POST, users.clone(), Some(&at), Some(body))
                .await
                .0,
            status
        );
    }
}

#[tokio::test]
async fn sqlite_admin_api() {
    let (s, _dir) = common::sqlite().await;
    admin_api(s).await;
}

#[tokio::test]
async fn postgres_admin_api() {
    if let Some(s) = common::postgres().await {
        admin_api(s).await;
    }
}

async fn sessions<S: Store>(store: S) {
    use deskside_server::credentials::hash_password;
    use deskside_server::store::Role;
    let base = start(store.clone()).await;
    store
        .create_user(
            "ana@example.com",
            Role::Technician,
            Some(&hash_password("correct horse battery").unwrap()),
        )
        .await
        .unwrap();
    let client = common::http();
    let login = |email: &str, password: &str| {
        client
            .post(format!("{base}/api/v1/auth/login"))
            .header("content-type", "application/json")
            .body(
                serde_json::to_vec(&serde_json::json!({"email": email, "password": password}))
                    .unwrap(),
            )
            .send()
    };
    let r = login("ana@example.com", "wrong").await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        login("nobody@example.com", "x").await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    let r = login("ana@example.com", "correct horse battery")
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cookie.contains("HttpOnly")
            && cookie.contains("Secure")
            && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let session = cookie.split(';').next().unwrap().to_owned();
    let body: serde_json::Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
    let csrf = body["csrf_token"].as_str().unwrap().to_owned();

    let with = |m: reqwest::Method, path: &str, csrf: Option<&str>| {
        let mut req = client
            .request(m, format!("{base}{path}"))
            .header("cookie", session.clone());
        if let Some(c) = csrf {
            req = req.header("x-csrf-token", c);
        }
        req.header("content-type", "application/json")
            .body("{}")
            .send()
    };
    assert_eq!(
        with(reqwest::Method::GET, "/api/v1/tickets", None)
            .await
            .unwrap()
            .status(),
        StatusCode::OK,
        "reads need no CSRF token"
    );
    let r = with(reqwest::Method::PATCH, "/api/v1/tickets/1", None)
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::FORBIDDEN,
        "a change without the CSRF token"
    );
    assert_eq!(
        with(
            reqwest::Method::PATCH,
            "/api/v1/tickets/1",
            Some("dsk_csrf_forged")
        )
        .await
        .unwrap()
        .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        with(reqwest::Method::PATCH, "/api/v1/tickets/1", Some(&csrf))
            .await
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND,
        "authorised; no such ticket"
    );
    assert_eq!(
        with(reqwest::Method::POST, "/api/v1/auth/logout", Some(&csrf))
            .await
            .unwrap()
            .status(),
        StatusCode::NO_CONTENT
    );
    let r = with(reqwest::Method::GET, "/api/v1/tickets", None)
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "the session ended");

    // Guessing passwords runs into the rate limit.
    let mut limited = false;
    for _ in 0..12 {
        if login("ana@example.com", "guess").await.unwrap().status()
            == StatusCode::TOO_MANY_REQUESTS
        {
            limited = true;
            break;
        }
    }
    assert!(limited, "login is rate-limited");
}

#[tokio::test]
async fn sqlite_sessions() {
    let (s, _dir) = common::sqlite().await;
    sessions(s).await;
}

#[tokio::test]
async fn postgres_sessions() {
    if let Some(s) = common::postgres().await {
        sessions(s).await;
    }
}

/// Concurrent writers on SQLite: every enrollment succeeds (deferred
/// transactions used to fail with SQLITE_BUSY_SNAPSHOT under load).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_concurrent_enrollments_all_succeed() {
    let (s, _dir) = common::sqlite().await;
    s.create_enroll_secret(None, &hash_token("fleet"), None)
        .await
        .unwrap();
    let base = start(s.clone()).await;
    let tasks: Vec<_> = (0..64)
        .map(|i| {
            let base = base.clone();
            tokio::spawn(async move {
                enroll(
                    &base,
                    "fleet",
                    serde_json::json!({"device_key": format!("c{i}")}),
                )
                .await
                .0
            })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap(), StatusCode::CREATED);
    }
    assert_eq!(
        s.list_devices(&deskside_server::store::DeviceFilter {
            limit: 500,
            ..Default::default()
        })
        .await
        .unwrap()
        .len(),
        64
    );
}

/// An inventory of a device with these facts.
fn fleet_inventory(
    key: &str,
    host: &str,
    os: &str,
    user: &str,
    packages: &[(&str, &str)],
) -> Vec<u8> {
    let software: Vec<serde_json::Value> = packages
        .iter()
        .map(|(n, v)| serde_json::json!({"name": n, "version": v, "source": "dpkg"}))
        .collect();
    serde_json::to_vec(&serde_json::json!({
        "collected_at": Utc::now(),
        "device": {"hostname": host, "device_key": key},
        "os": {"name": os, "version": "12", "logged_in_users": [{"name": user}]},
        "software": software,
    }))
    .unwrap()
}

async fn search_and_catalogue<S: Store>(store: S) {
    let base = start(store.clone()).await;
    store
        .create_enroll_secret(None, &hash_token("fleet"), None)
        .await
        .unwrap();
    let (_, tech) = api_user(
        &store,
        "tech@example.com",
        deskside_server::store::Role::Technician,
    )
    .await;
    let a = device_token(&base, "search-a").await;
    let b = device_token(&base, "search-b").await;
    let inv_a = fleet_inventory(
        "search-a",
        "alpha",
        "Debian GNU/Linux",
        "alice",
        &[("firefox-esr", "128.1"), ("curl", "7.88")],
    );
    let inv_b = fleet_inventory(
        "search-b",
        "beta",
        "Windows",
        "bob",
        &[
            ("firefox-esr", "128.1"),
            ("7-Zip", "23.01"),
            ("curl", "8.5.0"),
        ],
    );
    assert_eq!(
        put_inventory(&base, Some(&a), inv_a, false).await.0,
        StatusCode::OK
    );
    assert_eq!(
        put_inventory(&base, Some(&b), gz(&inv_b), true).await.0,
        StatusCode::OK
    );

    let hosts = |v: &serde_json::Value| -> Vec<String> {
        v["devices"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["hostname"].as_str().unwrap().to_owned())
            .collect()
    };
    for (query, want) in [
        ("user=ALI", vec!["alpha"]),
        ("os=windows", vec!["beta"]),
        ("software=firefox", vec!["alpha", "beta"]),
        (
            "software=firefox&software_version=128.1",
            vec!["alpha", "beta"],
        ),
        ("software=firefox&software_version=129", vec![]),
        ("software=curl&search=alp", vec!["alpha"]),
        // Versions order as agents order them, not as text: 7.88 < 10.
        ("software=curl&software_older_than=8.0", vec!["alpha"]),
        (
            "software=curl&software_older_than=10",
            vec!["alpha", "beta"],
        ),
        ("software=curl&software_older_than=7.88", vec![]),
        ("software=curl&software_older_than=8.5.0~rc1", vec!["alpha"]),
        ("software=7-zip&software_older_than=1", vec![]),
        (
            "software=CURL&software_exact=true&software_older_than=10",
            vec!["alpha", "beta"],
        ),
        ("software=cur&software_exact=true", vec![]),
        ("health=ok", vec![]),
        // No health reported yet reads as unknown.
        ("health=unknown", vec!["alpha", "beta"]),
    ] {
        let (st, body) = get_as(
            base.clone(),
            tech.clone(),
            format!("/api/v1/devices?{query}"),
        )
        .await;
        assert_eq!(st, StatusCode::OK, "{query}: {body}");
        assert_eq!(hosts(&body), want, "{query}");
    }
    let (_, body) = get_as(
        base.clone(),
        tech.clone(),
        "/api/v1/devices?search=alpha".into(),
    )
    .await;
    assert_eq!(body["devices"][0]["users"], serde_json::json!(["alice"]));
    assert_eq!(body["devices"][0]["os_name"], "Debian GNU/Linux");
    for bad in [
        "software_older_than=8",
        "software=curl&software_version=8.5.0&software_older_than=9",
        "health=purple",
        "limit=0",
        "seen_after=yesterday",
        "colour=red",
        "search=%00",
    ] {
        let (st, body) = get_as(base.clone(), tech.clone(), format!("/api/v1/devices?{bad}")).await;
        assert_eq!(
            (st, body["error"]["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_query")),
            "{bad}"
        );
    }

    let (st, body) = get_as(
        base.clone(),
        tech.clone(),
        "/api/v1/software?search=fire".into(),
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(
        body["software"],
        serde_json::json!([{"name": "firefox-esr", "devices": 2, "versions": [{"version": "128.1", "devices": 2}]}])
    );
    // A device's inventory as GLPI's native format, a download valid
    // against GLPI's own schema.
    let (_, found) = get_as(
        base.clone(),
        tech.clone(),
        "/api/v1/devices?search=alpha".into(),
    )
    .await;
    let alpha = found["devices"][0]["id"].as_i64().unwrap();
    let resp = common::http()
        .get(format!("{base}/api/v1/devices/{alpha}/glpi"))
        .bearer_auth(&tech)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        resp.headers()["content-disposition"],
        format!("attachment; filename=\"alpha-{alpha}.glpi.json\"").as_str()
    );
    let glpi: serde_json::Value = serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap();
    assert_eq!(glpi["itemtype"], "Computer");
    assert_eq!(glpi["content"]["hardware"]["name"], "alpha");
    let softwares: Vec<(String, String)> = glpi["content"]["softwares"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap().to_owned(),
                s["version"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert!(
        softwares.contains(&("curl".to_owned(), "7.88".to_owned())),
        "{softwares:?}"
    );
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../deskside-host/tests/fixtures/glpi/inventory.schema.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&glpi)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    let (st, _) = get_as(
        base.clone(),
        tech.clone(),
        "/api/v1/devices/99999/glpi".into(),
    )
    .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _) = get_as(
        base.clone(),
        a.clone(),
        format!("/api/v1/devices/{alpha}/glpi"),
    )
    .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);

    // The fleet overview: every day of the range, counts by health.
    let (st, fleet) = get_as(base.clone(), tech.clone(), "/api/v1/fleet?days=7".into()).await;
    assert_eq!(st, StatusCode::OK, "{fleet}");
    assert_eq!(fleet["days"].as_array().unwrap().len(), 7);
    assert_eq!(
        fleet["days"][6]["day"],
        Utc::now().format("%Y-%m-%d").to_string()
    );
    assert_eq!(
        fleet["by_health"],
        serde_json::json!([{"name": "unknown", "devices": 2}])
    );
    for bad in ["days=0", "days=91", "days=x", "weeks=1"] {
        let (st, body) = get_as(base.clone(), tech.clone(), format!("/api/v1/fleet?{bad}")).await;
        assert_eq!(
            (st, body["error"]["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_query")),
            "{bad}"
        );
    }
    let (st, _) = get_as(base.clone(), a.clone(), "/api/v1/fleet".into()).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED, "a device reads no fleet");

    // Versions newest first (the desk sorts them with the agents' version
    // order; the database returned them oldest first, as text).
    let (_, body) = get_as(
        base.clone(),
        tech.clone(),
        "/api/v1/software?search=curl".into(),
    )
    .await;
    assert_eq!(
        body["software"][0]["versions"],
        serde_json::json!([{"version": "8.5.0", "devices": 1}, {"version": "7.88", "devices": 1}])
    );
    let (_, page) = get_as(
        base.clone(),
        tech.clone(),
        "/api/v1/software?limit=2".into(),
    )
    .await;
    assert_eq!(page["software"].as_array().unwrap().len(), 2);
    let cursor = page["next_cursor"].as_str().unwrap().to_owned();
    let (_, rest) = get_as(
        base.clone(),
        tech.clone(),
        format!("/api/v1/software?limit=2&cursor={cursor}"),
    )
    .await;
    let names: Vec<&str> = page["software"]
        .as_array()
        .unwrap()
        .iter()
        .chain(rest["software"].as_array().unwrap())
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["7-Zip", "curl", "firefox-esr"]);
    let (st, _) = call(
        reqwest::Method::GET,
        format!("{base}/api/v1/software"),
        Some(&a),
        None,
    )
    .await;
    assert_eq!(
        st,
        StatusCode::UNAUTHORIZED,
        "a device token is no technician"
    );

    // Ticket filters over HTTP.
    let (_, t1) = submit(
        &base,
        Some(&a),
        Some("s1"),
        ticket_form("VPN drops every hour", None, None),
    )
    .await;
    let (_, t2) = submit(
        &base,
        Some(&b),
        Some("s2"),
        ticket_form("Printer offline", None, None),
    )
    .await;
    let ids = |v: &serde_json::Value| -> Vec<i64> {
        v["tickets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_i64().unwrap())
            .collect()
    };
    let (t1, t2) = (t1["id"].as_i64().unwrap(), t2["id"].as_i64().unwrap());
    let (_, dev_b) = get_as(
        base.clone(),
        tech.clone(),
        "/api/v1/devices?search=beta".into(),
    )
    .await;
    let dev_b = dev_b["devices"][0]["id"].as_i64().unwrap();
    let (st, _) = call(
        reqwest::Method::PATCH,
        format!("{base}/api/v1/tickets/{t2}"),
        Some(&tech),
        Some(serde_json::json!({"assignee_email": "tech@example.com", "impact": "high"})),
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    for (query, want) in [
        ("text=vpn".to_owned(), vec![t1]),
        (format!("device={dev_b}"), vec![t2]),
        ("assignee=tech@example.com".to_owned(), vec![t2]),
        ("assignee=none".to_owned(), vec![t1]),
        ("assignee=nobody@example.com".to_owned(), vec![]),
        // high impact × high urgency
        ("priority=1".to_owned(), vec![t2]),
        ("status=new".to_owned(), vec![t2, t1]),
    ] {
        let (st, body) = get_as(
            base.clone(),
            tech.clone(),
            format!("/api/v1/tickets?{query}"),
        )
        .await;
        assert_eq!(st, StatusCode::OK, "{query}: {body}");
        assert_eq!(ids(&body), want, "{query}");
    }
    for bad in ["priority=9", "status=lost", "device=x"] {
        let (st, _) = get_as(base.clone(), tech.clone(), format!("/api/v1/tickets?{bad}")).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{bad}");
    }

    // The device's metrics come bucketed over any range; the view carries
    // its tickets.
    let sample = |at: chrono::DateTime<Utc>, n: u32| serde_json::json!({"timestamp": at, "process_count": n, "cpu": {"usage_percent": 12.5}});
    let now = Utc::now();
    let (st, _) = call(
        reqwest::Method::POST,
        format!("{base}/api/v1/agent/checkin"),
        Some(&b),
        Some(serde_json::json!({"metrics": [
            sample(now - TimeDelta::hours(3), 10),
            sample(now - TimeDelta::minutes(2), 40),
            sample(now - TimeDelta::minutes(1), 42),
        ]})),
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    let range = |from: chrono::DateTime<Utc>, to: chrono::DateTime<Utc>| {
        let q = |t: chrono::DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        format!("from={}&to={}", q(from), q(to))
    };
    let (st, m) = get_as(
        base.clone(),
        tech.clone(),
        format!(
            "/api/v1/devices/{dev_b}/metrics?{}&step=3600",
            range(now - TimeDelta::hours(1), now)
        ),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{m}");
    assert_eq!(m["step"], 3600);
    let names: Vec<&str> = m["series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["cpu", "processes"]);
    let procs = &m["series"][1];
    assert_eq!(procs["unit"], "count");
    let hits: Vec<(f64, f64, f64)> = (0..m["times"].as_array().unwrap().len())
        .filter(|&i| !procs["max"][i].is_null())
        .map(|i| {
            let f = |k: &str| procs[k][i].as_f64().unwrap();
            (f("min"), f("avg"), f("max"))
        })
        .collect();
    assert!(
        hits == [(40.0, 41.0, 42.0)] || hits == [(40.0, 40.0, 40.0), (42.0, 42.0, 42.0)],
        "only the last hour, min/avg/max: {hits:?}"
    );
    let from_now = range(now, now - TimeDelta::hours(1));
    for (query, code) in [
        (from_now, "invalid_query"),
        (
            format!("{}&step=10", range(now - TimeDelta::hours(1), now)),
            "invalid_query",
        ),
        // 7200 one-minute buckets (a range in the past would be rounded
        // to hours, and fit).
        (
            format!("{}&step=60", range(now, now + TimeDelta::days(5))),
            "invalid_query",
        ),
        (range(now - TimeDelta::days(500), now), "invalid_query"),
        ("to=2026-01-01T00:00:00Z".to_owned(), "invalid_query"),
    ] {
        let (st, body) = get_as(
            base.clone(),
            tech.clone(),
            format!("/api/v1/devices/{dev_b}/metrics?{query}"),
        )
        .await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert_eq!(body["error"]["code"], code, "{query}");
    }
    let (st, _) = get_as(
        base.clone(),
        tech.clone(),
        format!(
            "/api/v1/devices/99999/metrics?{}",
            range(now - TimeDelta::hours(1), now)
        ),
    )
    .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _) = get_as(
        base.clone(),
        b.clone(),
        format!(
            "/api/v1/devices/{dev_b}/metrics?{}",
            range(now - TimeDelta::hours(1), now)
        ),
    )
    .await;
    assert_eq!(
        st,
        StatusCode::UNAUTHORIZED,
        "a device token reads no charts"
    );
    let (st, view) = get_as(
        base.clone(),
        tech.clone(),
        format!("/api/v1/devices/{dev_b}"),
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(ids(&view), vec![t2]);
    assert_eq!(view["inventory"]["os"]["name"], "Windows");

    // A retried comment with the same key is the same comment.
    let comment = |key: &'static str| {
        common::http()
            .post(format!("{base}/api/v1/agent/tickets/{t2}/comments"))
            .bearer_auth(&b)
            .header("idempotency-key", key)
            .header("content-type", "application/json")
            .body(r#"{"body": "Still offline"}"#)
            .send()
    };
    let first = comment("c-1").await.unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: serde_json::Value = serde_json::from_slice(&first.bytes().await.unwrap()).unwrap();
    let again = comment("c-1").await.unwrap();
    assert_eq!(again.status(), StatusCode::OK);
    let again: serde_json::Value = serde_json::from_slice(&again.bytes().await.unwrap()).unwrap();
    assert_eq!(first["id"], again["id"]);
    assert_eq!(
        comment("c 2").await.unwrap().status(),
        StatusCode::BAD_REQUEST
    );
    // The same key with another text is refused, not answered as if the
    // new text were stored.
    let reused = common::http()
        .post(format!("{base}/api/v1/agent/tickets/{t2}/comments"))
        .bearer_auth(&b)
        .header("idempotency-key", "c-1")
        .header("content-type", "application/json")
        .body(r#"{"body": "Something else"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(reused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        code(&reused.bytes().await.unwrap()),
        "idempotency_key_reused"
    );
    let (_, t) = call(
        reqwest::Method::GET,
        format!("{base}/api/v1/agent/tickets/{t2}"),
        Some(&b),
        None,
    )
    .await;
    assert_eq!(t["comments"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn sqlite_search_and_catalogue() {
    let (s, _dir) = common::sqlite().await;
    search_and_catalogue(s).await;
}

#[tokio::test]
async fn postgres_search_and_catalogue() {
    if let Some(s) = common::postgres().await {
        search_and_catalogue(s).await;
    }
}

/// Every credential can be revoked, and each revocation is audited:
/// API tokens (own, or anyone's for an administrator, and by logging out
/// with one), users (sessions and tokens stop at once) and devices.
async fn revocation<S: Store>(store: S) {
    use deskside_server::credentials::hash_password;
    use deskside_server::store::Role;
    let base = start(store.clone()).await;
    store
        .create_enroll_secret(None, &hash_token("fleet"), None)
        .await
        .unwrap();
    let (admin, admin_token) = api_user(&store, "admin@example.com", Role::Admin).await;
    let (tech, tech_token) = api_user(&store, "tech@example.com", Role::Technician).await;
    let (_, other_token) = api_user(&store, "other@example.com", Role::Technician).await;
    let get = |token: &str, path: &str| get_as(base.clone(), token.to_owned(), path.to_owned());
    let send = |method: reqwest::Method, token: &str, path: &str| {
        let (url, token) = (format!("{base}{path}"), token.to_owned());
        async move { call(method, url, Some(&token), None).await }
    };

    // A technician sees their own tokens only; everyone's is for admins.
    let (st, mine) = get(&tech_token, "/api/v1/tokens").await;
    assert_eq!(st, StatusCode::OK);
    let mine = mine["tokens"].as_array().unwrap().clone();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0]["email"], "tech@example.com");
    assert!(mine[0].get("token").is_none() && mine[0].get("token_hash").is_none());
    let (st, _) = get(&tech_token, "/api/v1/tokens?all=true").await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, all) = get(&admin_token, "/api/v1/tokens?all=true").await;
    assert_eq!(
        (st, all["tokens"].as_array().unwrap().len()),
        (StatusCode::OK, 3)
    );

    // Another technician cannot revoke it; its owner can, and it stops.
    let tech_token_id = mine[0]["id"].as_i64().unwrap();
    let path = format!("/api/v1/tokens/{tech_token_id}");
    let (st, _) = send(reqwest::Method::DELETE, &other_token, &path).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _) = send(reqwest::Method::DELETE, &tech_token, &path).await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (st, body) = get(&tech_token, "/api/v1/tokens").await;
    assert_eq!(
        (st, body["error"]["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_token"))
    );

    // Logging out with an API token revokes it.
    let (st, _) = send(reqwest::Method::POST, &other_token, "/api/v1/auth/logout").await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    assert_eq!(
        get(&other_token, "/api/v1/tokens").await.0,
        StatusCode::UNAUTHORIZED
    );

    // A deactivated user: their session and every token stop at once, and
    // they cannot log in again or be assigned tickets.
    let password = "correct horse battery";
    let ana = store
        .create_user(
            "ana@example.com",
            Role::Technician,
            Some(&hash_password(password).unwrap()),
        )
        .await
        .unwrap();
    let ana_token = deskside_server::credentials::new_token("dsk_api");
    store
        .create_api_token(ana.id, &hash_token(&ana_token), None)
        .await
        .unwrap();
    let login = || {
        common::http()
            .post(format!("{base}/api/v1/auth/login"))
            .header("content-type", "application/json")
            .body(serde_json::json!({"email": "ana@example.com", "password": password}).to_string())
            .send()
    };
    let r = login().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let cookie = r.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let with_cookie = || {
        common::http()
            .get(format!("{base}/api/v1/tickets"))
            .header("cookie", cookie.clone())
            .send()
    };
    assert_eq!(with_cookie().await.unwrap().status(), StatusCode::OK);
    let (_, third_token) = api_user(&store, "third@example.com", Role::Technician).await;
    let (st, body) = send(
        reqwest::Method::POST,
        &third_token,
        &format!("/api/v1/users/{}/deactivate", ana.id),
    )
    .await;
    assert_eq!(st, StatusCode::FORBIDDEN, "administrators only: {body}");
    let (st, body) = send(
        reqwest::Method::POST,
        &admin_token,
        &format!("/api/v1/users/{}/deactivate", admin.id),
    )
    .await;
    assert_eq!(
        (st, body["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("cannot_deactivate_self"))
    );
    let (st, _) = send(
        reqwest::Method::POST,
        &admin_token,
        &format!("/api/v1/users/{}/deactivate", ana.id),
    )
    .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    assert_eq!(
        with_cookie().await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        get(&ana_token, "/api/v1/tickets").await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(login().await.unwrap().status(), StatusCode::UNAUTHORIZED);
    let (_, users) = get(&admin_token, "/api/v1/users").await;
    let ana_entry = users["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == "ana@example.com")
        .unwrap()
        .clone();
    assert!(ana_entry["deactivated_at"].is_string());
    assert!(
        users["users"]
            .as_array()
            .unwrap()
            .iter()
            .all(|u| u.get("password_hash").is_none())
    );

    // A revoked device is refused at once; it comes back only by enrolling
    // again with a valid secret.
    let device = device_token(&base, "rv-1").await;
    let checkin = |token: String| {
        let url = format!("{base}/api/v1/agent/checkin");
        async move {
            call(
                reqwest::Method::POST,
                url,
                Some(&token),
                Some(serde_json::json!({})),
            )
            .await
        }
    };
    assert_eq!(checkin(device.clone()).await.0, StatusCode::OK);
    let (_, list) = get(&admin_token, "/api/v1/devices").await;
    let device_id = list["devices"][0]["id"].as_i64().unwrap();
    let revoke = format!("/api/v1/devices/{device_id}/revoke");
    let (st, _) = send(reqwest::Method::POST, &admin_token, &revoke).await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (st, _) = send(reqwest::Method::POST, &admin_token, &revoke).await;
    assert_eq!(st, StatusCode::NOT_FOUND, "revoked once");
    assert_eq!(checkin(device).await.0, StatusCode::UNAUTHORIZED);
    let (st, _) = enroll(&base, "wrong", serde_json::json!({"device_key": "rv-1"})).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    let again = device_token(&base, "rv-1").await;
    assert_eq!(checkin(again).await.0, StatusCode::OK);

    // All of it is in the audit log, which only administrators read.
    assert_eq!(
        get(&tech_token, "/api/v1/audit").await.0,
        StatusCode::UNAUTHORIZED
    );
    let (st, log) = get(&admin_token, "/api/v1/audit").await;
    assert_eq!(st, StatusCode::OK);
    let actions: Vec<(&str, &str)> = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["action"].as_str().unwrap(), e["target"].as_str().unwrap()))
        .collect();
    let ana_target = format!("user:{}", ana.id);
    let device_target = format!("device:{device_id}");
    for want in [
        ("token.revoke", format!("token:{tech_token_id}").as_str()),
        ("token.revoke", "token:self"),
        ("user.deactivate", ana_target.as_str()),
        ("device.revoke", device_target.as_str()),
    ] {
        assert!(actions.contains(&want), "{want:?} missing from {actions:?}");
    }
    let _ = tech;
}

#[tokio::test]
async fn sqlite_revocation() {
    let (s, _dir) = common::sqlite().await;
    revocation(s).await;
}

#[tokio::test]
async fn postgres_revocation() {
    if let Some(s) = common::postgres().await {
        revocation(s).await;
    }
}

/// Failed logins count per account in the database, whatever the client
/// address: after ten, the account's password is not checked until the
/// window ends, and the limit is shared by every node.
async fn login_limit_per_account<S: Store>(store: S) {
    use deskside_server::credentials::hash_password;
    use deskside_server::store::Role;
    // Two nodes on one database.
    let (a, b) = (start(store.clone()).await, start(store.clone()).await);
    store
        .create_user(
            "bo@example.com",
            Role::Technician,
            Some(&hash_password("correct horse battery").unwrap()),
        )
        .await
        .unwrap();
    let login = |base: &str, email: &str, password: &str| {
        common::http()
            .post(format!("{base}/api/v1/auth/login"))
            .header("content-type", "application/json")
            .body(serde_json::json!({"email": email, "password": password}).to_string())
            .send()
    };
    for i in 0..10 {
        let base = if i % 2 == 0 { &a } else { &b };
        let r = login(base, "BO@example.com", "guess").await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    let r = login(&a, "bo@example.com", "correct horse battery")
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers().contains_key("retry-after"));
    assert_eq!(code(&r.bytes().await.unwrap()), "rate_limited");
    // Another account is not affected.
    store
        .create_user(
            "cy@example.com",
            Role::Technician,
            Some(&hash_password("correct horse battery").unwrap()),
        )
        .await
        .unwrap();
    let r = login(&b, "cy@example.com", "correct horse battery")
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn sqlite_login_limit_per_account() {
    let (s, _dir) = common::sqlite().await;
    login_limit_per_account(s).await;
}

#[tokio::test]
async fn postgres_login_limit_per_account() {
    if let Some(s) = common::postgres().await {
        login_limit_per_account(s).await;
    }
}

#[test]
fn the_client_address_behind_a_trusted_proxy() {
    use deskside_server::api::client_ip;
    let proxy: std::net::IpAddr = "10.0.0.1".parse().unwrap();
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        "x-forwarded-for",
        "203.0.113.9, 198.51.100.7, 10.0.0.1".parse().unwrap(),
    );
    // From the proxy: the right-most address it did not add itself.
    assert_eq!(
        client_ip(proxy, &headers, &[proxy]),
        "198.51.100.7".parse::<std::net::IpAddr>().unwrap()
    );
    // From anyone else, the header is the client's own claim: ignored.
    let stranger: std::net::IpAddr = "192.0.2.5".parse().unwrap();
    assert_eq!(client_ip(stranger, &headers, &[proxy]), stranger);
    assert_eq!(
        client_ip(proxy, &reqwest::header::HeaderMap::new(), &[proxy]),
        proxy
    );
}

fn gzip_json(v: &serde_json::Value) -> Vec<u8> {
    gz(&serde_json::to_vec(v).unwrap())
}

/// What the console reads: the parsed diagnostics (and the clear states of
/// missing, corrupt and newer bundles), the queue's extra fields, counts,
/// saved views, the technician list, and the session's CSRF token again.
async fn console_flow<S: Store>(store: S) {
    use deskside_server::store::Role;
    let base = start(store.clone()).await;
    store
        .create_enroll_secret(None, &hash_token("fleet"), None)
        .await
        .unwrap();
    let dev = device_token(&base, "console-a").await;
    let (tech, token) = api_user(&store, "c@example.com", Role::Technician).await;
    let (_, other) = api_user(&store, "d@example.com", Role::Technician).await;

    let bundle = serde_json::json!({
        "format_version": 2, "created_at": "2026-12-01T12:00:00Z", "agent_version": "0.1.0",
        "logs": ["2026-12-01T11:00:00Z INFO started"],
        "check_results": [{"check_id": "disk", "state": "critical", "summary": "/: 2% free",
            "timestamp": "2026-12-01T11:59:00Z", "duration_ms": 3, "alert_state": "critical"}],
        "processes": {"by_cpu": [{"pid": 7, "name": "x", "cpu_percent": 50.0, "memory_bytes": 10,
            "command": "x --token=***"}]},
        "metrics": {"history": [{"timestamp": "2026-12-01T11:59:00Z", "cpu": {"usage_percent": 12.5}}]}
    });
    let mut ids = Vec::new();
    for (key, diag) in [
        ("ok", Some(gzip_json(&bundle))),
        ("corrupt", Some(b"\x1f\x8b not really gzip".to_vec())),
        (
            "newer",
            Some(gzip_json(
                &serde_json::json!({"format_version": 99, "x": 1}),
            )),
        ),
        ("none", None),
    ] {
        let (st, t) = submit(&base, Some(&dev), Some(key), ticket_form(key, diag, None)).await;
        assert_eq!(st, StatusCode::CREATED, "{t}");
        ids.push(t["id"].as_i64().unwrap());
    }
    let diag = |id: i64| {
        get_as(
            base.clone(),
            token.clone(),
            format!("/api/v1/tickets/{id}/diagnostics"),
        )
    };
    let (st, v) = diag(ids[0]).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(v["state"], "ok");
    assert_eq!(v["bundle"]["check_results"][0]["check_id"], "disk");
    assert_eq!(
        v["bundle"]["processes"]["by_cpu"][0]["command"],
        "x --token=***"
    );
    assert_eq!(
        v["bundle"]["metrics"]["history"][0]["cpu"]["usage_percent"],
        12.5
    );
    assert!(v["attachment_id"].as_i64().is_some());
    for (id, state) in [
        (ids[1], "corrupt"),
        (ids[2], "unsupported_version"),
        (ids[3], "missing"),
    ] {
        let (st, v) = diag(id).await;
        assert_eq!(st, StatusCode::OK, "{v}");
        assert_eq!(v["state"], state, "{v}");
        assert!(v.get("bundle").is_none());
    }
    assert_eq!(diag(ids[2]).await.1["format_version"], 99);
    let (st, v) = diag(999_999).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    assert_eq!(v["error"]["code"], "not_found");
    // A device cannot read it.
    let (st, _) = get_as(
        base.clone(),
        dev.clone(),
        format!("/api/v1/tickets/{}/diagnostics", ids[0]),
    )
    .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);

    // The queue row: device, unread until opened by this technician.
    let (_, page) = get_as(
        base.clone(),
        token.clone(),
        "/api/v1/tickets?status=new,open&sort=oldest".into(),
    )
    .await;
    let first = &page["tickets"][0];
    assert_eq!(first["id"].as_i64().unwrap(), ids[0]);
    assert_eq!(first["unread"], true);
    assert!(first["device_id"].as_i64().is_some());
    let (st, detail) = get_as(
        base.clone(),
        token.clone(),
        format!("/api/v1/tickets/{}", ids[0]),
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(
        detail["allowed_statuses"],
        serde_json::json!(["open", "pending", "resolved"])
    );
    let (_, page) = get_as(
        base.clone(),
        token.clone(),
        "/api/v1/tickets?sort=oldest".into(),
    )
    .await;
    assert_eq!(page["tickets"][0]["unread"], false);
    let (_, page) = get_as(
        base.clone(),
        other.clone(),
        "/api/v1/tickets?sort=oldest".into(),
    )
    .await;
    assert_eq!(
        page["tickets"][0]["unread"], true,
        "seen by the other technician only"
    );
    // Paging by priority with the cursor it hands out.
    let (_, p1) = get_as(
        base.clone(),
        token.clone(),
        "/api/v1/tickets?sort=priority&limit=3".into(),
    )
    .await;
    let cursor = p1["next_cursor"].as_str().unwrap().to_owned();
    let (_, p2) = get_as(
        base.clone(),
        token.clone(),
        format!("/api/v1/tickets?sort=priority&limit=3&cursor={cursor}"),
    )
    .await;
    assert_eq!(p2["tickets"].as_array().unwrap().len(), 1);
    let (st, v) = get_as(
        base.clone(),
        token.clone(),
        "/api/v1/tickets?sort=priority&cursor=12".into(),
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
    for bad in ["status=new,lost", "sort=random", "tier=4", "category=cars"] {
        let (st, v) = get_as(
            base.clone(),
            token.clone(),
            format!("/api/v1/tickets?{bad}"),
        )
        .await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{bad}: {v}");
        assert_eq!(v["error"]["code"], "invalid_query");
    }
    let (_, c) = get_as(
        base.clone(),
        token.clone(),
        "/api/v1/tickets/count?status=new".into(),
    )
    .await;
    assert_eq!(c["count"], 4);
    let (_, c) = get_as(
        base.clone(),
        token.clone(),
        "/api/v1/tickets/count?assignee=me".into(),
    )
    .await;
    assert_eq!(c["count"], 0);

    // Saved views are the technician's own.
    let views = format!("{base}/api/v1/views");
    let (st, v) = call(
        reqwest::Method::POST,
        views.clone(),
        Some(&token),
        Some(serde_json::json!({"name": "Mine", "query": "?assignee=me"})),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    assert_eq!(v["query"], "assignee=me");
    let view_id = v["id"].as_i64().unwrap();
    let (st, v) = call(
        reqwest::Method::POST,
        views.clone(),
        Some(&token),
        Some(serde_json::json!({"name": "Mine", "query": ""})),
    )
    .await;
    assert_eq!(
        (st, v["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("already_exists"))
    );
    let (st, _) = call(
        reqwest::Method::POST,
        views.clone(),
        Some(&token),
        Some(serde_json::json!({"name": " ", "query": ""})),
    )
    .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    let (_, list) = get_as(base.clone(), other.clone(), "/api/v1/views".into()).await;
    assert_eq!(list["views"], serde_json::json!([]));
    // The device list keeps views of its own, apart from the queue's.
    let (st, v) = call(
        reqwest::Method::POST,
        views.clone(),
        Some(&token),
        Some(serde_json::json!({"name": "Mine", "query": "health=critical", "scope": "devices"})),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let (_, list) = get_as(
        base.clone(),
        token.clone(),
        "/api/v1/views?scope=devices".into(),
    )
    .await;
    assert_eq!(list["views"][0]["query"], "health=critical");
    assert_eq!(list["views"].as_array().unwrap().len(), 1);
    let (_, list) = get_as(base.clone(), token.clone(), "/api/v1/views".into()).await;
    assert_eq!(list["views"][0]["query"], "assignee=me", "the queue's own");
    let (st, _) = get_as(
        base.clone(),
        token.clone(),
        "/api/v1/views?scope=printers".into(),
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    let (st, _) = call(
        reqwest::Method::POST,
        views.clone(),
        Some(&token),
        Some(serde_json::json!({"name": "X", "query": "", "scope": "printers"})),
    )
    .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    let (st, _) = call(
        reqwest::Method::DELETE,
        format!("{views}/{view_id}"),
        Some(&other),
        None,
    )
    .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _) = call(
        reqwest::Method::DELETE,
        format!("{views}/{view_id}"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(st, StatusCode::NO_CONTENT);

    // Whom to assign to: active users, e-mail and role only.
    let (_, techs) = get_as(base.clone(), token.clone(), "/api/v1/technicians".into()).await;
    let emails: Vec<&str> = techs["technicians"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["email"].as_str().unwrap())
        .collect();
    assert_eq!(emails, ["c@example.com", "d@example.com"]);
    assert!(techs["technicians"][0].get("created_at").is_none());

    // A browser session: the page gets the same CSRF token back after a
    // reload; an API token gets none.
    let password_hash =
        deskside_server::credentials::hash_password("long enough password").unwrap();
    store
        .create_user("web@example.com", Role::Technician, Some(&password_hash))
        .await
        .unwrap();
    let r = common::http()
        .post(format!("{base}/api/v1/auth/login"))
        .header("content-type", "application/json")
        .body(
            serde_json::json!({"email": "web@example.com", "password": "long enough password"})
                .to_string(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let cookie = r.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let login: serde_json::Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
    let s: serde_json::Value = serde_json::from_slice(
        &common::http()
            .get(format!("{base}/api/v1/auth/session"))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(s["csrf_token"], login["csrf_token"]);
    assert_eq!(s["email"], "web@example.com");
    let (st, s) = get_as(base.clone(), token.clone(), "/api/v1/auth/session".into()).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(s["id"], tech.id);
    assert!(s.get("csrf_token").is_none());

    // The console at / with its security headers, whether built or not;
    // unknown API paths stay JSON errors.
    let r = common::http()
        .get(format!("{base}/tickets/12"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["x-frame-options"], "DENY");
    assert_eq!(
        r.headers()["content-security-policy"],
        api::CONTENT_SECURITY_POLICY
    );
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let (st, v) = get_as(base.clone(), token.clone(), "/api/v1/no-such-thing".into()).await;
    assert_eq!(
        (st, v["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    let r = common::http()
        .get(format!("{base}/assets/missing-123.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = common::http()
        .post(format!("{base}/tickets"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn sqlite_console() {
    let (s, _dir) = common::sqlite().await;
    console_flow(s).await;
}

#[tokio::test]
async fn postgres_console() {
    if let Some(s) = common::postgres().await {
        console_flow(s).await;
    }
}

/// An event stream ends after its lifetime, so a revoked credential stops
/// receiving events: reconnecting checks it again.
#[tokio::test]
async fn event_streams_end_and_revoked_tokens_cannot_reconnect() {
    use deskside_server::store::Role;
    let (store, _dir) = common::sqlite().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let blobs = deskside_server::blobs::DiskBlobs::new(_dir.path().join("blobs")).unwrap();
    let limits = Limits {
        event_stream_lifetime: Duration::from_secs(1),
        ..Limits::default()
    };
    tokio::spawn(api::serve(
        listener,
        router(store.clone(), blobs, limits),
        std::future::pending(),
    ));
    let (_, token) = api_user(&store, "ev@example.com", Role::Technician).await;
    let mut stream = common::http()
        .get(format!("{base}/api/v1/events"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), StatusCode::OK);
    let mut read = String::new();
    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(chunk) = stream.chunk().await.unwrap() {
            read.push_str(&String::from_utf8_lossy(&chunk));
        }
    })
    .await;
    assert!(ended.is_ok(), "the stream did not end: {read}");
    assert!(read.contains("event: ready"), "{read}");
    let (st, _) = call(
        reqwest::Method::POST,
        format!("{base}/api/v1/auth/logout"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let again = common::http()
        .get(format!("{base}/api/v1/events"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::UNAUTHORIZED);
}
