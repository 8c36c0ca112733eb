//! Test backends: SQLite in a temp dir, and PostgreSQL from
//! `DESKSIDE_TEST_PG_URL` (the test script starts a throw-away cluster),
//! with a fresh database per test.

#![allow(dead_code, clippy::unwrap_used)]

use deskside_server::store::{PgStore, SqliteStore, Store};
use rand::RngCore;

/// A fresh SQLite database; keep the returned dir alive.
pub async fn sqlite() -> (SqliteStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("desk.db").display());
    let s = SqliteStore::open(&url).await.unwrap();
    s.migrate().await.unwrap();
    (s, dir)
}

/// The URL of a fresh PostgreSQL database, or `None` when no server is
/// configured (only allowed outside CI).
pub async fn pg_url() -> Option<String> {
    let Ok(admin_url) = std::env::var("DESKSIDE_TEST_PG_URL") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "DESKSIDE_TEST_PG_URL must be set in CI (scripts/test.sh sets it)"
        );
        eprintln!("DESKSIDE_TEST_PG_URL is not set: PostgreSQL part skipped");
        return None;
    };
    let mut b = [0u8; 6];
    rand::rng().fill_bytes(&mut b);
    let name = format!(
        "ds_test_{}",
        b.iter().map(|x| format!("{x:02x}")).collect::<String>()
    );
    let admin = sqlx::PgPool::connect(&admin_url).await.unwrap();
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&admin)
        .await
        .unwrap();
    admin.close().await;
    let base = admin_url
        .rsplit_once('/')
        .map_or(admin_url.as_str(), |(b, _)| b);
    Some(format!("{base}/{name}"))
}

/// A fresh, migrated PostgreSQL database.
pub async fn postgres() -> Option<PgStore> {
    let url = pg_url().await?;
    let s = PgStore::open(&url).await.unwrap();
    s.migrate().await.unwrap();
    Some(s)
}

/// An HTTP client for the tests. In a workspace build reqwest may carry the
/// agent's `rustls-no-provider` feature, which needs a process-wide crypto
/// provider even for plain HTTP; install ring's (a second call is a no-op).
pub fn http() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

/// A device's Ed25519 key, as an agent holds it.
pub struct DeviceKey(ring::signature::Ed25519KeyPair);

impl DeviceKey {
    /// A fresh key.
    pub fn new() -> Self {
        let rng = ring::rand::SystemRandom::new();
        let der = ring::signature::Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
        Self(ring::signature::Ed25519KeyPair::from_pkcs8(der.as_ref()).unwrap())
    }

    /// The public key, base64.
    pub fn public(&self) -> String {
        use base64::Engine;
        use ring::signature::KeyPair;
        base64::engine::general_purpose::STANDARD.encode(self.0.public_key().as_ref())
    }

    /// The enrollment body's `public_key` and `proof`, over a challenge
    /// fetched from the desk at `base`.
    pub async fn proof(&self, base: &str) -> serde_json::Value {
        let r = http()
            .post(format!("{base}/api/v1/enroll/challenge"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let c: serde_json::Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
        let challenge = c["challenge"].as_str().unwrap();
        self.sign(challenge)
    }

    /// `public_key` and `proof` for `challenge`.
    pub fn sign(&self, challenge: &str) -> serde_json::Value {
        use base64::Engine;
        let message = deskside_protocol::enroll_proof_message(challenge, &self.public());
        let signature =
            base64::engine::general_purpose::STANDARD.encode(self.0.sign(&message).as_ref());
        serde_json::json!({"public_key": self.public(),
            "proof": {"challenge": challenge, "signature": signature}})
    }
}

/// A desk serving `store` with `limits` on a free local port, its blobs
/// in a temporary directory; its base URL.
pub async fn serve<S: Store>(store: S, limits: deskside_server::api::Limits) -> String {
    let _ = tracing_subscriber::fmt().with_test_writer().try_init();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let blobs = deskside_server::blobs::DiskBlobs::new(
        std::env::temp_dir().join(format!("deskside-test-blobs-{}", addr.port())),
    )
    .unwrap();
    tokio::spawn(deskside_server::api::serve(
        listener,
        deskside_server::api::router(store, blobs, limits),
        std::future::pending(),
    ));
    format!("http://{addr}")
}

/// A JSON request with a bearer token (none when empty): the status and
/// the JSON answer (`Null` when there is none).
pub async fn call(
    method: reqwest::Method,
    url: String,
    token: &str,
    body: Option<serde_json::Value>,
) -> (reqwest::StatusCode, serde_json::Value) {
    let mut req = http().request(method, url);
    if !token.is_empty() {
        req = req.header("authorization", format!("Bearer {token}"));
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

/// Files `ticket` (the ticket part's JSON) as the device with token
/// `device`, under idempotency key `key`.
pub async fn file_ticket(
    base: &str,
    device: &str,
    key: &str,
    ticket: serde_json::Value,
) -> (reqwest::StatusCode, serde_json::Value) {
    let form = reqwest::multipart::Form::new().part(
        "ticket",
        reqwest::multipart::Part::bytes(serde_json::to_vec(&ticket).unwrap())
            .mime_str("application/json")
            .unwrap(),
    );
    let r = http()
        .post(format!("{base}/api/v1/agent/tickets"))
        .header("authorization", format!("Bearer {device}"))
        .header("idempotency-key", key)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = r.status();
    let bytes = r.bytes().await.unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
    )
}
