//! Two `deskside-server` processes on one PostgreSQL database serve the
//! same data: nothing that matters lives in one process. Administration
//! goes through the CLI on a third process.

#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use deskside_protocol::EnrollResponse;

struct Node(Child, String);

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn server(db: &str) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_deskside-server"));
    c.env("DESKSIDE_DATABASE_URL", db)
        .env("DESKSIDE_LOG", "warn")
        .env_remove("DESKSIDE_CONFIG");
    c
}

/// A node whose blob directory counts as shared (every node of a test runs
/// in the same working directory, so it is).
fn node(db: &str) -> Node {
    node_with(db, &[("DESKSIDE_SHARED_BLOB_DIR", "true")])
}

fn node_with(db: &str, env: &[(&str, &str)]) -> Node {
    let mut child = server(db)
        .envs(env.iter().copied())
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected: {line:?}"))
        .to_owned();
    Node(child, url)
}

fn cli(db: &str, args: &[&str]) -> String {
    let out = server(db).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

async fn enroll(node: &Node, secret: &str) -> (u16, Option<EnrollResponse>) {
    let body =
        serde_json::json!({"enroll_secret": secret, "device": {"device_key": "shared-machine"}});
    send_enroll(node, body).await
}

/// Enrolls with `key`'s proof over a challenge from `challenge_from`.
async fn enroll_with_key(
    node: &Node,
    challenge_from: &Node,
    secret: &str,
    key: &common::DeviceKey,
) -> (u16, Option<EnrollResponse>) {
    let mut body =
        serde_json::json!({"enroll_secret": secret, "device": {"device_key": "shared-machine"}});
    let proof = key.proof(&challenge_from.1).await;
    body.as_object_mut()
        .unwrap()
        .extend(proof.as_object().unwrap().clone());
    send_enroll(node, body).await
}

async fn send_enroll(node: &Node, body: serde_json::Value) -> (u16, Option<EnrollResponse>) {
    let r = common::http()
        .post(format!("{}/api/v1/enroll", node.1))
        .header("content-type", "application/json")
        .body(serde_json::to_vec(&body).unwrap())
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (
        status,
        serde_json::from_slice(&r.bytes().await.unwrap()).ok(),
    )
}

#[tokio::test]
async fn two_servers_one_database() {
    let Some(db) = common::pg_url().await else {
        return;
    };
    let secret = cli(&db, &["enroll-secret", "create", "--label", "fleet"])
        .trim()
        .to_owned();
    assert!(secret.starts_with("dsk_enr_"));
    let (a, b) = (node(&db), node(&db));

    let key = common::DeviceKey::new();
    let (st, first) = enroll_with_key(&a, &a, &secret, &key).await;
    assert_eq!(st, 201);
    // A challenge from node A, answered to node B: nodes share them.
    let (st, second) = enroll_with_key(&b, &a, &secret, &key).await;
    assert_eq!(st, 200, "node B knows the machine node A enrolled");
    assert_eq!(first.unwrap().device_id, second.unwrap().device_id);
    // One proof sent to both nodes at once: exactly one enrollment.
    let mut body =
        serde_json::json!({"enroll_secret": secret, "device": {"device_key": "shared-machine"}});
    body.as_object_mut()
        .unwrap()
        .extend(key.proof(&a.1).await.as_object().unwrap().clone());
    let ((s1, _), (s2, _)) = tokio::join!(send_enroll(&a, body.clone()), send_enroll(&b, body));
    let mut got = [s1, s2];
    got.sort_unstable();
    assert_eq!(got, [200, 401], "a challenge works once across nodes");

    // Revoked through the CLI: both nodes refuse it at once.
    let list = cli(&db, &["enroll-secret", "list"]);
    let id = list
        .lines()
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    cli(&db, &["enroll-secret", "revoke", &id]);
    assert_eq!(enroll(&a, &secret).await.0, 401);
    assert_eq!(enroll(&b, &secret).await.0, 401);
}

/// PostgreSQL with attachments on one node's disk: refused at start, with
/// what to do, unless the directory is said to be shared.
#[tokio::test]
async fn postgres_with_local_blobs_is_refused() {
    let Some(db) = common::pg_url().await else {
        return;
    };
    let out = server(&db)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("DESKSIDE_BLOB_URL") && err.contains("DESKSIDE_SHARED_BLOB_DIR"),
        "{err}"
    );
}

/// The S3-compatible endpoint of the test run (scripts/test.sh starts
/// moto's server), with a fresh bucket.
async fn s3_bucket() -> Option<(String, String)> {
    let Ok(endpoint) = std::env::var("DESKSIDE_TEST_S3_ENDPOINT") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "DESKSIDE_TEST_S3_ENDPOINT must be set in CI (scripts/test.sh sets it)"
        );
        eprintln!("DESKSIDE_TEST_S3_ENDPOINT is not set: S3 part skipped");
        return None;
    };
    let bucket = format!("deskside-{}", std::process::id());
    let r = common::http()
        .put(format!("{endpoint}/{bucket}"))
        .send()
        .await
        .unwrap();
    assert!(
        r.status().is_success(),
        "creating the bucket: {}",
        r.status()
    );
    Some((endpoint, bucket))
}

#[tokio::test]
async fn two_servers_share_attachments_in_s3() {
    let Some(db) = common::pg_url().await else {
        return;
    };
    let Some((endpoint, bucket)) = s3_bucket().await else {
        return;
    };
    let blob_url = format!("s3://{bucket}/attachments");
    let env = [
        ("DESKSIDE_BLOB_URL", blob_url.as_str()),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ENDPOINT_URL", endpoint.as_str()),
        ("AWS_ALLOW_HTTP", "true"),
    ];
    let secret = cli(&db, &["enroll-secret", "create"]).trim().to_owned();
    cli(
        &db,
        &[
            "user",
            "create",
            "--email",
            "t@example.com",
            "--role",
            "technician",
        ],
    );
    let api_token = cli(&db, &["token", "create", "--email", "t@example.com"])
        .trim()
        .to_owned();
    let (a, b) = (node_with(&db, &env), node_with(&db, &env));
    let device = enroll(&a, &secret).await.1.unwrap();

    let png = b"\x89PNG\r\n\x1a\nnot really an image".to_vec();
    let ticket = serde_json::json!({"subject": "Screen flickers"});
    let form = reqwest::multipart::Form::new()
        .part(
            "ticket",
            reqwest::multipart::Part::bytes(serde_json::to_vec(&ticket).unwrap())
                .mime_str("application/json")
                .unwrap(),
        )
        .part(
            "attachment",
            reqwest::multipart::Part::bytes(png.clone())
                .file_name("screen.png")
                .mime_str("image/png")
                .unwrap(),
        );
    let r = common::http()
        .post(format!("{}/api/v1/agent/tickets", a.1))
        .bearer_auth(&device.device_token)
        .header("idempotency-key", "s3-1")
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let created: serde_json::Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
    let (ticket_id, attachment_id) = (
        created["id"].as_i64().unwrap(),
        created["attachments"][0]["id"].as_i64().unwrap(),
    );

    // Node B serves what node A stored.
    let r = common::http()
        .get(format!(
            "{}/api/v1/tickets/{ticket_id}/attachments/{attachment_id}",
            b.1
        ))
        .bearer_auth(&api_token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/png");
    assert_eq!(r.bytes().await.unwrap().to_vec(), png);

    // The content is in the bucket, under the prefix.
    let listing = common::http()
        .get(format!("{endpoint}/{bucket}?list-type=2"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(listing.matches("<Key>attachments/").count(), 1, "{listing}");
}

/// Files a ticket through `node` as a freshly enrolled device.
async fn file_ticket(node: &Node, secret: &str) -> i64 {
    let device = enroll(node, secret).await.1.unwrap();
    let ticket = serde_json::json!({"subject": "Laptop is slow"});
    let form = reqwest::multipart::Form::new().part(
        "ticket",
        reqwest::multipart::Part::bytes(serde_json::to_vec(&ticket).unwrap())
            .mime_str("application/json")
            .unwrap(),
    );
    let r = common::http()
        .post(format!("{}/api/v1/agent/tickets", node.1))
        .bearer_auth(&device.device_token)
        .header("idempotency-key", "slow-1")
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let created: serde_json::Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
    created["id"].as_i64().unwrap()
}

async fn patch(
    node: &Node,
    token: &str,
    ticket: i64,
    if_match: Option<&str>,
    body: serde_json::Value,
) -> (u16, Option<String>, serde_json::Value) {
    let mut req = common::http()
        .patch(format!("{}/api/v1/tickets/{ticket}", node.1))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body.to_string());
    if let Some(tag) = if_match {
        req = req.header("if-match", tag);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let etag = r
        .headers()
        .get("etag")
        .map(|v| v.to_str().unwrap().to_owned());
    (
        status,
        etag,
        serde_json::from_slice(&r.bytes().await.unwrap()).unwrap(),
    )
}

/// Two technicians on two nodes change one ticket at the same moment:
/// neither change is lost, the workflow holds on current data, and a
/// change made against an older version is refused with the ticket as it
/// is now.
#[tokio::test]
async fn two_technicians_on_two_nodes_lose_nothing() {
    let Some(db) = common::pg_url().await else {
        return;
    };
    let secret = cli(&db, &["enroll-secret", "create"]).trim().to_owned();
    let mut tokens = Vec::new();
    for email in ["ann@example.com", "bob@example.com"] {
        cli(
            &db,
            &["user", "create", "--email", email, "--role", "technician"],
        );
        tokens.push(
            cli(&db, &["token", "create", "--email", email])
                .trim()
                .to_owned(),
        );
    }
    let (a, b) = (node(&db), node(&db));
    let ticket = file_ticket(&a, &secret).await;
    let categories = ["hardware", "software"];
    for round in 0..20usize {
        let tier = 1 + round % 3;
        let category = categories[round % 2];
        let ((sa, _, _), (sb, _, _)) = tokio::join!(
            patch(
                &a,
                &tokens[0],
                ticket,
                None,
                serde_json::json!({"tier": tier})
            ),
            patch(
                &b,
                &tokens[1],
                ticket,
                None,
                serde_json::json!({"category": category})
            ),
        );
        assert_eq!((sa, sb), (200, 200), "round {round}");
        let r = common::http()
            .get(format!("{}/api/v1/tickets/{ticket}", a.1))
            .bearer_auth(&tokens[0])
            .send()
            .await
            .unwrap();
        let now: serde_json::Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
        assert_eq!(now["tier"], tier, "round {round}: tier lost");
        assert_eq!(
            now["ticket"]["category"], category,
            "round {round}: category lost"
        );
    }

    // Racing status changes: new → open and new → resolved may both
    // apply in either order, but never does a ticket move back.
    let (_, tag, now) = patch(&a, &tokens[0], ticket, None, serde_json::json!({})).await;
    let version = now["version"].as_i64().unwrap();
    assert_eq!(tag.as_deref(), Some(format!("\"{version}\"").as_str()));
    let ((s1, _, _), (s2, _, _)) = tokio::join!(
        patch(
            &a,
            &tokens[0],
            ticket,
            None,
            serde_json::json!({"status": "resolved"})
        ),
        patch(
            &b,
            &tokens[1],
            ticket,
            None,
            serde_json::json!({"status": "pending"})
        ),
    );
    assert!(s1 == 200 || s2 == 200, "at least one status change applies");

    // Bob still holds the version from before: his change is refused
    // with the ticket as Ann left it.
    let stale = format!("\"{version}\"");
    let (st, tag, body) = patch(
        &b,
        &tokens[1],
        ticket,
        Some(&stale),
        serde_json::json!({"tier": 3}),
    )
    .await;
    assert_eq!(st, 409, "{body}");
    assert_eq!(body["error"]["code"], "version_conflict");
    let current = body["current"]["version"].as_i64().unwrap();
    assert!(current > version);
    assert_eq!(tag.unwrap(), format!("\"{current}\""));
    // Applied again on the current version, it goes through.
    let (st, _, body) = patch(
        &b,
        &tokens[1],
        ticket,
        Some(&format!("\"{current}\"")),
        serde_json::json!({"tier": 3}),
    )
    .await;
    assert_eq!((st, body["version"].as_i64()), (200, Some(current + 1)));
}

/// Reads an event stream until an event whose data contains `needle`
/// arrives (or `secs` pass); returns everything read.
async fn read_events_until(resp: &mut reqwest::Response, needle: &str, secs: u64) -> String {
    let mut seen = String::new();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(secs);
    while !seen.contains(needle) {
        match tokio::time::timeout_at(deadline, resp.chunk()).await {
            Ok(Ok(Some(bytes))) => seen.push_str(&String::from_utf8_lossy(&bytes)),
            _ => break,
        }
    }
    seen
}

/// A ticket filed through one node reaches a console listening on the
/// other (LISTEN/NOTIFY wakes it), and a console that reconnects with
/// `Last-Event-ID` gets what it missed.
#[tokio::test]
async fn events_reach_consoles_on_every_node() {
    let Some(db) = common::pg_url().await else {
        return;
    };
    let (a, b) = (node(&db), node(&db));
    cli(
        &db,
        &[
            "user",
            "create",
            "--email",
            "t@example.com",
            "--role",
            "technician",
        ],
    );
    let token = cli(&db, &["token", "create", "--email", "t@example.com"])
        .trim()
        .to_owned();
    let secret = cli(&db, &["enroll-secret", "create"]).trim().to_owned();
    let http = common::http();
    let mut stream = http
        .get(format!("{}/api/v1/events", b.1))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    assert!(
        stream.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    // Live before anything happens.
    assert!(
        read_events_until(&mut stream, "event: ready", 5)
            .await
            .contains("event: ready")
    );
    let ticket = file_ticket(&a, &secret).await;
    let needle = format!("\"ticket_id\":{ticket}");
    let got = read_events_until(&mut stream, &needle, 10).await;
    assert!(
        got.contains(&needle) && got.contains("ticket.created"),
        "{got}"
    );
    let id: i64 = got
        .lines()
        .find_map(|l| l.strip_prefix("id: ").or_else(|| l.strip_prefix("id:")))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    drop(stream);

    // A technician's change on node A while the console is away…
    let (status, _, _) = patch(&a, &token, ticket, None, serde_json::json!({"tier": 2})).await;
    assert_eq!(status, 200);
    // …is the first thing it gets when it comes back to node B.
    let mut again = http
        .get(format!("{}/api/v1/events", b.1))
        .bearer_auth(&token)
        .header("last-event-id", id.to_string())
        .send()
        .await
        .unwrap();
    let got = read_events_until(&mut again, "ticket.updated", 10).await;
    assert!(
        got.contains("ticket.updated") && got.contains("t@example.com"),
        "{got}"
    );
    assert!(
        !got.contains("ticket.created"),
        "nothing before the id: {got}"
    );

    // Devices and strangers get no stream; a bad id is a clear 400.
    let r = http
        .get(format!("{}/api/v1/events", a.1))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = http
        .get(format!("{}/api/v1/events", a.1))
        .bearer_auth(&token)
        .header("last-event-id", "soon")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
}

/// A webhook delivery survives a `kill -9` of the node that was sending
/// it: the event and its delivery are in the database before anything is
/// sent, the killed node's attempt failed (the receiver was down), and
/// the other node sends it after the backoff, once, with the same
/// delivery id.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_deliveries_survive_a_killed_node() {
    use std::sync::{Arc, Mutex};
    let Some(db) = common::pg_url().await else {
        return;
    };
    // The receiver answers 503 (down) until `up`.
    let got: Arc<Mutex<Vec<String>>> = Arc::default();
    let up = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let app = {
        let (got, up) = (Arc::clone(&got), Arc::clone(&up));
        axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: axum::http::HeaderMap| {
                let (got, up) = (Arc::clone(&got), Arc::clone(&up));
                async move {
                    if !up.load(std::sync::atomic::Ordering::SeqCst) {
                        return axum::http::StatusCode::SERVICE_UNAVAILABLE;
                    }
                    let id = headers
                        .get("deskside-delivery")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_owned();
                    got.lock().unwrap().push(id);
                    axum::http::StatusCode::NO_CONTENT
                }
            }),
        )
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook_url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    cli(
        &db,
        &[
            "user",
            "create",
            "--email",
            "root@example.com",
            "--role",
            "admin",
        ],
    );
    let token = cli(&db, &["token", "create", "--email", "root@example.com"])
        .trim()
        .to_owned();
    let env = [
        ("DESKSIDE_SHARED_BLOB_DIR", "true"),
        ("DESKSIDE_WEBHOOK_ALLOWED_NETWORKS", "127.0.0.0/8"),
    ];
    let mut a = node_with(&db, &env);
    let http = common::http();
    let r = http
        .post(format!("{}/api/v1/webhooks", a.1))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(serde_json::json!({"url": hook_url, "events": ["ticket.created"]}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let created: serde_json::Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
    let hook = created["webhook"]["id"].as_i64().unwrap();
    let r = http
        .post(format!("{}/api/v1/tickets", a.1))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(
            serde_json::json!({"subject": "Killed mid-delivery", "channel": "phone",
                "requester_name": "Kai"})
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    // Node A tries at once (the event wakes its loop) and fails.
    let log = |base: String| {
        let (http, token) = (http.clone(), token.clone());
        async move {
            let r = http
                .get(format!("{base}/api/v1/webhooks/{hook}/deliveries"))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap();
            serde_json::from_slice::<serde_json::Value>(&r.bytes().await.unwrap()).unwrap()
        }
    };
    let mut tried = serde_json::Value::Null;
    for _ in 0..100 {
        tried = log(a.1.clone()).await;
        if tried[0]["attempts"] == 1
            && tried[0]["lease_until"].is_null()
            && tried[0]["last_status"] == 503
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(tried[0]["last_status"], 503, "{tried}");
    let event_id = tried[0]["event_id"].to_string();
    // kill -9: no shutdown of any kind.
    a.0.kill().unwrap();
    a.0.wait().unwrap();
    up.store(true, std::sync::atomic::Ordering::SeqCst);
    let b = node_with(&db, &env);
    // The backoff is 10 s; the node's loop looks every 5 s.
    let mut delivered = serde_json::Value::Null;
    for _ in 0..250 {
        delivered = log(b.1.clone()).await;
        if delivered[0]["state"] == "delivered" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(delivered[0]["state"], "delivered", "{delivered}");
    assert_eq!(delivered[0]["attempts"], 2, "{delivered}");
    assert_eq!(*got.lock().unwrap(), [event_id]);
}
