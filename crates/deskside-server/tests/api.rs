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
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(api::serve(
        listener,
        router(store, limits),
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

/// The error code of a JSON error body (and proof it is one).
fn code(body: &[u8]) -> String {
    let e: ErrorBody = serde_json::from_slice(body)
        .unwrap_or_else(|_| panic!("not a JSON error: {}", String::from_utf8_lossy(body)));
    assert!(!e.error.message.is_empty());
    e.error.code
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
    let (st, body) = enroll(&base, "good", device.clone()).await;
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

    // The same machine again: same id, new token, old token dead.
    let (st, body) = enroll(&base, "good", device).await;
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
