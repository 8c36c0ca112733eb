//! Administration through the HTTP API, on SQLite and PostgreSQL: the
//! policy editor's endpoints (check with errors at their check, field and
//! line; publish only on the version the editor started from; text,
//! rollback), users (role, password reset, own password) and API tokens
//! created in the console, each audited and each refused to technicians.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use deskside_server::api::{self, Limits, router};
use deskside_server::credentials::{hash_token, new_token};
use deskside_server::store::{Role, Store, User};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn start<S: Store>(store: S) -> String {
    let limits = Limits {
        max_body_bytes: 2 * 1024 * 1024,
        request_timeout: Duration::from_secs(10),
        ..Limits::default()
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let blobs = deskside_server::blobs::DiskBlobs::new(
        std::env::temp_dir().join(format!("deskside-admin-blobs-{}", addr.port())),
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

/// One request; the answer's status and JSON body (Null when empty).
async fn call(
    method: Method,
    url: String,
    token: &str,
    if_match: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = common::http()
        .request(method, url)
        .header("authorization", format!("Bearer {token}"));
    if let Some(v) = if_match {
        req = req.header("if-match", v);
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

const GOOD: &str = r#"version = 1

[[checks]]
id = "disk"
kind = "disk_free"
warn = "20%"
crit = "10%"
"#;

/// The second check's `warn` is not a threshold: line 12.
const BAD_FIELD: &str = r#"version = 1

[[checks]]
id = "disk"
kind = "disk_free"
warn = "20%"

[[checks]]
id = "memory"
kind = "memory_available"
interval = "1m"
warn = "plenty"
title = { en = "Memory" }
"#;

async fn policy_editor<S: Store + Clone>(s: S) {
    let base = start(s.clone()).await;
    let (_, admin) = user_with_token(&s, "admin@example.com", Role::Admin).await;
    let (_, admin2) = user_with_token(&s, "second@example.com", Role::Admin).await;
    let (_, tech) = user_with_token(&s, "tech@example.com", Role::Technician).await;
    let check = format!("{base}/api/v1/policy/check");
    let put = format!("{base}/api/v1/policy");

    // Not TOML at all: one error for the policy, at the line of the fault.
    let (st, r) = call(
        Method::POST,
        check.clone(),
        &admin,
        None,
        Some(json!({"format": "toml", "text": "version = 1\n[[checks]]\nid = \"x\nkind = 1\n"})),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{r}");
    assert_eq!(r["valid"], false);
    assert_eq!(r["errors"][0]["position"], 0);
    assert_eq!(r["errors"][0]["line"], 3, "{r}");
    assert!(r.get("checks").is_none());

    // A bad field: reported at its check, field and line; the checks are
    // still read so that the editor can show the diff.
    let (_, r) = call(
        Method::POST,
        check.clone(),
        &admin,
        None,
        Some(json!({"format": "toml", "text": BAD_FIELD})),
    )
    .await;
    assert_eq!(r["valid"], false, "{r}");
    let errors = r["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{r}");
    assert_eq!(errors[0]["position"], 2);
    assert_eq!(errors[0]["check"], "memory");
    assert_eq!(errors[0]["field"], "warn");
    assert_eq!(errors[0]["line"], 12, "{r}");
    assert_eq!(r["checks"].as_array().unwrap().len(), 2);
    assert_eq!(r["current_version"], 0);

    // JSON is read too, with the line of a syntax error.
    let (_, r) = call(
        Method::POST,
        check.clone(),
        &admin,
        None,
        Some(json!({"format": "json", "text": "{\n\"checks\": [\n}"})),
    )
    .await;
    assert_eq!(
        (r["valid"].as_bool(), r["errors"][0]["line"].as_u64()),
        (Some(false), Some(3))
    );

    // Technicians may read the policy, not check or publish one.
    let (st, r) = call(
        Method::POST,
        check.clone(),
        &tech,
        None,
        Some(json!({"format": "toml", "text": GOOD})),
    )
    .await;
    assert_eq!(
        (st, r["error"]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("forbidden"))
    );

    // Publishing an invalid policy: 422 invalid_policy with the same
    // located errors.
    let (st, r) = call(
        Method::PUT,
        put.clone(),
        &admin,
        None,
        Some(json!({"checks": [
            {"id": "disk", "kind": "disk_free", "warn": "20%"},
            {"id": "memory", "kind": "memory_available", "warn": "plenty"}]})),
    )
    .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r["error"]["code"], "invalid_policy");
    assert_eq!(r["error"]["fields"][0]["check"], "memory");
    assert_eq!(r["error"]["fields"][0]["field"], "warn");

    // A valid text: its diff against "nothing published" adds the check.
    let (_, r) = call(
        Method::POST,
        check.clone(),
        &admin,
        None,
        Some(json!({"format": "toml", "text": GOOD})),
    )
    .await;
    assert_eq!(r["valid"], true, "{r}");
    assert_eq!(r["diff"]["added"], json!(["disk"]));
    let v1_checks = r["checks"].clone();

    // Two administrators publish from the same starting point at once:
    // exactly one wins, the other is told to review.
    let one = json!({"checks": v1_checks});
    let two = json!({"checks": [{"id": "up", "kind": "uptime"}]});
    let (a, b) = tokio::join!(
        call(Method::PUT, put.clone(), &admin, Some("\"0\""), Some(one)),
        call(Method::PUT, put.clone(), &admin2, Some("\"0\""), Some(two)),
    );
    let mut statuses = [a.0, b.0];
    statuses.sort();
    assert_eq!(
        statuses,
        [StatusCode::OK, StatusCode::CONFLICT],
        "{a:?} {b:?}"
    );
    let loser = if a.0 == StatusCode::CONFLICT {
        &a.1
    } else {
        &b.1
    };
    assert_eq!(loser["error"]["code"], "version_conflict");
    let winner_checks = if a.0 == StatusCode::OK { &a.1 } else { &b.1 }["checks"].clone();
    let (_, current) = call(Method::GET, put.clone(), &tech, None, None).await;
    assert_eq!(current["version"], 1);
    assert_eq!(current["checks"], winner_checks);

    // Version 2 (conditional on 1), then the text of version 1 for the
    // editor: TOML that reads back as the same checks.
    let (st, r) = call(
        Method::PUT,
        put.clone(),
        &admin,
        Some("\"1\""),
        Some(json!({"checks": [
            {"id": "disk", "kind": "disk_free", "warn": "30%", "crit": "10%"},
            {"id": "up", "kind": "uptime"}]})),
    )
    .await;
    assert_eq!(
        (st, r["version"].as_u64()),
        (StatusCode::OK, Some(2)),
        "{r}"
    );
    let (st, text) = call(
        Method::GET,
        format!("{base}/api/v1/policy/text?version=1"),
        &tech,
        None,
        None,
    )
    .await;
    assert_eq!((st, text["version"].as_i64()), (StatusCode::OK, Some(1)));
    let (_, r) = call(
        Method::POST,
        check.clone(),
        &admin,
        None,
        Some(json!({"format": "toml", "text": text["text"]})),
    )
    .await;
    assert_eq!(r["valid"], true, "{r}");
    assert_eq!(r["checks"], winner_checks);
    assert_eq!(r["current_version"], 2);
    let (st, _) = call(
        Method::GET,
        format!("{base}/api/v1/policy/text?version=9"),
        &tech,
        None,
        None,
    )
    .await;
    assert_eq!(st, StatusCode::NOT_FOUND);

    // Rollback: version 1's checks again, as version 3; stale or unknown
    // versions are refused; technicians cannot.
    let rollback = format!("{base}/api/v1/policy/rollback");
    let (st, _) = call(
        Method::POST,
        rollback.clone(),
        &tech,
        None,
        Some(json!({"version": 1})),
    )
    .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, r) = call(
        Method::POST,
        rollback.clone(),
        &admin,
        Some("\"1\""),
        Some(json!({"version": 1})),
    )
    .await;
    assert_eq!(
        (st, r["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("version_conflict"))
    );
    let (st, _) = call(
        Method::POST,
        rollback.clone(),
        &admin,
        None,
        Some(json!({"version": 7})),
    )
    .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, r) = call(
        Method::POST,
        rollback.clone(),
        &admin,
        Some("\"2\""),
        Some(json!({"version": 1})),
    )
    .await;
    assert_eq!(
        (st, r["version"].as_u64()),
        (StatusCode::OK, Some(3)),
        "{r}"
    );
    assert_eq!(r["checks"], winner_checks);
    let (_, hist) = call(
        Method::GET,
        format!("{base}/api/v1/policy/history"),
        &tech,
        None,
        None,
    )
    .await;
    assert_eq!(hist["versions"][0]["version"], 3);
    assert_eq!(hist["versions"][0]["created_by"], "admin@example.com");

    let (_, audit) = call(
        Method::GET,
        format!("{base}/api/v1/audit"),
        &admin,
        None,
        None,
    )
    .await;
    let rolled = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "policy.rollback")
        .unwrap_or_else(|| panic!("{audit}"));
    assert_eq!(rolled["target"], "policy:3");
    assert_eq!(rolled["detail"]["to"], 1);
    let (st, _) = call(
        Method::PUT,
        put,
        &admin,
        Some("three"),
        Some(json!({"checks": []})),
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
}

/// Logs in; the session cookie (name=value) on success.
async fn login(base: &str, email: &str, password: &str) -> Option<String> {
    let r = common::http()
        .post(format!("{base}/api/v1/auth/login"))
        .header("content-type", "application/json")
        .body(json!({"email": email, "password": password}).to_string())
        .send()
        .await
        .unwrap();
    if r.status() != StatusCode::OK {
        return None;
    }
    let cookie = r.headers()["set-cookie"].to_str().unwrap();
    Some(cookie.split(';').next().unwrap().to_owned())
}

async fn session_alive(base: &str, cookie: &str) -> bool {
    common::http()
        .get(format!("{base}/api/v1/auth/session"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
        .status()
        == StatusCode::OK
}

async fn users_and_tokens<S: Store + Clone>(s: S) {
    let base = start(s.clone()).await;
    let (admin_user, admin) = user_with_token(&s, "admin@example.com", Role::Admin).await;
    let (_, tech) = user_with_token(&s, "tech@example.com", Role::Technician).await;
    let (st, ana) = call(
        Method::POST,
        format!("{base}/api/v1/users"),
        &admin,
        None,
        Some(json!({"email": "ana@example.com", "role": "technician", "password": "first password 1"})),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{ana}");
    let ana_id = ana["id"].as_i64().unwrap();
    let session = login(&base, "ana@example.com", "first password 1")
        .await
        .unwrap();
    assert!(session_alive(&base, &session).await);

    // Roles: an administrator changes another's, never their own;
    // technicians change none.
    let user_url = format!("{base}/api/v1/users/{ana_id}");
    let (st, _) = call(
        Method::PATCH,
        user_url.clone(),
        &tech,
        None,
        Some(json!({"role": "admin"})),
    )
    .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, r) = call(
        Method::PATCH,
        user_url.clone(),
        &admin,
        None,
        Some(json!({"role": "boss"})),
    )
    .await;
    assert_eq!(
        (st, r["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_body"))
    );
    let (st, _) = call(
        Method::PATCH,
        user_url.clone(),
        &admin,
        None,
        Some(json!({"role": "admin"})),
    )
    .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (_, users) = call(
        Method::GET,
        format!("{base}/api/v1/users"),
        &admin,
        None,
        None,
    )
    .await;
    let listed = users["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["id"] == ana_id)
        .cloned()
        .unwrap();
    assert_eq!(listed["role"], "admin");
    let (st, r) = call(
        Method::PATCH,
        format!("{base}/api/v1/users/{}", admin_user.id),
        &admin,
        None,
        Some(json!({"role": "technician"})),
    )
    .await;
    assert_eq!(
        (st, r["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("cannot_change_own_role"))
    );
    let (st, _) = call(
        Method::PATCH,
        format!("{base}/api/v1/users/999"),
        &admin,
        None,
        Some(json!({"role": "admin"})),
    )
    .await;
    assert_eq!(st, StatusCode::NOT_FOUND);

    // A password reset: shown once, works, and the old session ends.
    let (st, _) = call(
        Method::POST,
        format!("{user_url}/password"),
        &tech,
        None,
        None,
    )
    .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, r) = call(
        Method::POST,
        format!("{user_url}/password"),
        &admin,
        None,
        None,
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    let given = r["password"].as_str().unwrap().to_owned();
    assert!(given.len() >= 20, "{given}");
    assert!(
        !session_alive(&base, &session).await,
        "the old session ended"
    );
    assert!(
        login(&base, "ana@example.com", "first password 1")
            .await
            .is_none()
    );
    let session = login(&base, "ana@example.com", &given).await.unwrap();

    // Her own password: the current one is required; then every session
    // of hers ends and the new one works.
    let change = |current: &str, new: &str| {
        let (base, session, body) = (
            base.clone(),
            session.clone(),
            json!({"current_password": current, "new_password": new}),
        );
        async move {
            let csrf: Value = common::http()
                .get(format!("{base}/api/v1/auth/session"))
                .header("cookie", &session)
                .send()
                .await
                .unwrap()
                .bytes()
                .await
                .map(|b| serde_json::from_slice(&b).unwrap())
                .unwrap();
            let r = common::http()
                .post(format!("{base}/api/v1/auth/password"))
                .header("cookie", &session)
                .header("x-csrf-token", csrf["csrf_token"].as_str().unwrap())
                .header("content-type", "application/json")
                .body(body.to_string())
                .send()
                .await
                .unwrap();
            let status = r.status();
            let bytes = r.bytes().await.unwrap();
            (
                status,
                serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            )
        }
    };
    let (st, r) = change("not it at all", "a brand new password").await;
    assert_eq!(
        (st, r["error"]["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_credentials"))
    );
    let (st, r) = change(&given, "short").await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{r}");
    let (st, _) = change(&given, "a brand new password").await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    assert!(!session_alive(&base, &session).await);
    assert!(
        login(&base, "ana@example.com", "a brand new password")
            .await
            .is_some()
    );

    // API tokens from the console: shown once, labelled, working at once,
    // one's own only, and revoked at once.
    let (st, r) = call(
        Method::POST,
        format!("{base}/api/v1/tokens"),
        &tech,
        None,
        Some(json!({"label": "  "})),
    )
    .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{r}");
    let (st, created) = call(
        Method::POST,
        format!("{base}/api/v1/tokens"),
        &tech,
        None,
        Some(json!({"label": "nightly export"})),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{created}");
    let new = created["token"].as_str().unwrap().to_owned();
    let (st, mine) = call(
        Method::GET,
        format!("{base}/api/v1/tokens"),
        &new,
        None,
        None,
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(mine["tokens"][0]["label"], "nightly export");
    assert!(
        mine["tokens"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["email"] == "tech@example.com")
    );
    assert!(
        !mine.to_string().contains(&new),
        "the token is never shown again"
    );
    let id = created["id"].as_i64().unwrap();
    let (st, _) = call(
        Method::DELETE,
        format!("{base}/api/v1/tokens/{id}"),
        &tech,
        None,
        None,
    )
    .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (st, _) = call(
        Method::GET,
        format!("{base}/api/v1/tokens"),
        &new,
        None,
        None,
    )
    .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);

    // Every change is in the audit log, and no secret is.
    let (_, audit) = call(
        Method::GET,
        format!("{base}/api/v1/audit?limit=100"),
        &admin,
        None,
        None,
    )
    .await;
    let actions: Vec<&str> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for a in [
        "user.create",
        "user.role",
        "user.password_reset",
        "user.password_change",
        "token.create",
        "token.revoke",
    ] {
        assert!(actions.contains(&a), "{a} missing from {actions:?}");
    }
    let text = audit.to_string();
    assert!(!text.contains(&given) && !text.contains(&new) && !text.contains("brand new"));
}

#[tokio::test]
async fn sqlite_policy_editor() {
    let (s, _dir) = common::sqlite().await;
    policy_editor(s).await;
}

#[tokio::test]
async fn postgres_policy_editor() {
    if let Some(s) = common::postgres().await {
        policy_editor(s).await;
    }
}

#[tokio::test]
async fn sqlite_users_and_tokens() {
    let (s, _dir) = common::sqlite().await;
    users_and_tokens(s).await;
}

#[tokio::test]
async fn postgres_users_and_tokens() {
    if let Some(s) = common::postgres().await {
        users_and_tokens(s).await;
    }
}
