//! Helpers of the end-to-end tests: a real desk server (in-process, on
//! 127.0.0.1, SQLite in a temp dir) that can be stopped and started again on
//! the same port, and the real `deskside-agent` binary run as a separate
//! process with its own state directory.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::missing_panics_doc)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use deskside_server::api::{self, Limits, router};
use deskside_server::blobs::DiskBlobs;
use deskside_server::credentials::{hash_token, new_token};
use deskside_server::store::{Role, SqliteStore, Store};

/// A desk on a fixed local address, which may be down.
pub struct Desk {
    /// Its database (for setting up secrets and users, and for checks).
    pub store: SqliteStore,
    /// Where it listens when up.
    pub addr: SocketAddr,
    dir: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

fn free_addr() -> SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap()
}

impl Desk {
    /// A desk that is not running yet (its address is reserved by nothing:
    /// agents see a refused connection).
    pub async fn down() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("desk.db").display());
        let store = SqliteStore::open(&url).await.unwrap();
        store.migrate().await.unwrap();
        Self {
            store,
            addr: free_addr(),
            dir,
            stop: None,
            task: None,
        }
    }

    /// A running desk.
    pub async fn up() -> Self {
        let mut d = Self::down().await;
        d.start().await;
        d
    }

    /// The URL agents use.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Starts serving (again) on its address.
    pub async fn start(&mut self) {
        let listener = tokio::net::TcpListener::bind(self.addr).await.unwrap();
        let blobs = DiskBlobs::new(self.dir.path().join("blobs")).unwrap();
        // Agents check in every 2 s, so that tests of `run` are quick.
        let limits = Limits {
            checkin_interval: Duration::from_secs(2),
            ..Limits::default()
        };
        let app = router(self.store.clone(), blobs, limits);
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        self.stop = Some(tx);
        self.task = Some(tokio::spawn(async move {
            let _ = api::serve(listener, app, async {
                let _ = rx.await;
            })
            .await;
        }));
    }

    /// Stops at once, dropping requests in flight (like a crash).
    pub async fn kill(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
            let _ = t.await;
        }
        self.stop = None;
    }

    /// A new enroll secret.
    pub async fn secret(&self) -> String {
        let s = new_token("dsk_enr");
        self.store
            .create_enroll_secret(Some("e2e"), &hash_token(&s), None)
            .await
            .unwrap();
        s
    }

    /// A technician's API token.
    pub async fn technician(&self, email: &str) -> String {
        let user = self
            .store
            .create_user(email, Role::Technician, None)
            .await
            .unwrap();
        let token = new_token("dsk_api");
        self.store
            .create_api_token(user.id, &hash_token(&token))
            .await
            .unwrap();
        token
    }

    /// A ticket as the technician with `token` sees it (conversation,
    /// attachments, audit trail).
    pub async fn ticket(&self, token: &str, number: i64) -> serde_json::Value {
        http()
            .get(format!("{}/api/v1/tickets/{number}", self.url()))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Every ticket's subject on the desk (one entry per ticket).
    pub async fn subjects(&self) -> Vec<String> {
        let f = deskside_server::store::TicketFilter {
            limit: 500,
            ..Default::default()
        };
        let mut v: Vec<String> = self
            .store
            .list_tickets(&f)
            .await
            .unwrap()
            .into_iter()
            .map(|t| t.subject)
            .collect();
        v.sort();
        v
    }
}

/// The `deskside-agent` binary of this build. `cargo test --workspace`
/// (what the test script runs) builds it before any test runs; run alone,
/// this package builds it when it is missing. After changing the agent,
/// run the workspace's tests, or `cargo build -p deskside-agent` first.
pub fn agent_bin() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    // target/<profile>/deps/<test> → target/<profile>/deskside-agent
    let dir = exe.parent().and_then(Path::parent).unwrap().to_path_buf();
    let bin = dir.join(format!("deskside-agent{}", std::env::consts::EXE_SUFFIX));
    static BUILT: std::sync::Once = std::sync::Once::new();
    BUILT.call_once(|| {
        if bin.exists() {
            return;
        }
        let status = Command::new(env!("CARGO"))
            .args([
                "build",
                "-q",
                "-p",
                "deskside-agent",
                "--bin",
                "deskside-agent",
            ])
            .status()
            .unwrap();
        assert!(status.success(), "building deskside-agent failed");
    });
    assert!(bin.exists(), "{} is missing", bin.display());
    bin
}

/// One agent: a state directory and the environment it runs with.
pub struct AgentProc {
    /// Its state directory.
    pub state: tempfile::TempDir,
    env: Vec<(String, String)>,
}

impl AgentProc {
    /// An agent of a machine with this device key, its token in a file
    /// (no keyring on a CI box) and notifications off.
    pub fn new(device_key: &str) -> Self {
        Self {
            state: tempfile::tempdir().unwrap(),
            env: vec![
                ("DESKSIDE_DEVICE_KEY".into(), device_key.into()),
                ("DESKSIDE_CREDENTIAL_STORE".into(), "file".into()),
                ("DESKSIDE_NOTIFICATIONS_ENABLED".into(), "false".into()),
                ("DESKSIDE_REQUEST_TIMEOUT".into(), "5s".into()),
            ],
        }
    }

    /// Adds an environment variable.
    pub fn env(mut self, k: &str, v: &str) -> Self {
        self.env.push((k.into(), v.into()));
        self
    }

    /// The command, ready to run.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(agent_bin());
        c.args(args)
            .env_remove("DESKSIDE_CONFIG")
            .env("DESKSIDE_STATE_DIR", self.state.path())
            // No system or user file of the machine running the tests.
            .env("XDG_CONFIG_HOME", self.state.path().join("no-config"))
            .env("DESKSIDE_LOG", "warn");
        for (k, v) in &self.env {
            c.env(k, v);
        }
        c
    }

    /// Runs it to the end (off the async runtime's threads).
    pub async fn run(&self, args: &[&str]) -> Output {
        let mut c = self.command(args);
        tokio::task::spawn_blocking(move || c.output().unwrap())
            .await
            .unwrap()
    }

    /// Runs it and expects success; returns stdout.
    pub async fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args).await;
        assert!(
            out.status.success(),
            "deskside-agent {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// `status --format json`.
    pub async fn status(&self) -> serde_json::Value {
        serde_json::from_str(&self.ok(&["status", "--format", "json"]).await).unwrap()
    }
}

/// An HTTP client for technician calls.
pub fn http() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}
