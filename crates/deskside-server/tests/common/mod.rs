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
