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

fn node(db: &str) -> Node {
    let mut child = server(db)
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

    let (st, first) = enroll(&a, &secret).await;
    assert_eq!(st, 201);
    let (st, second) = enroll(&b, &secret).await;
    assert_eq!(st, 200, "node B knows the machine node A enrolled");
    assert_eq!(first.unwrap().device_id, second.unwrap().device_id);

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
