//! Helpers of the end-to-end tests: a real desk server (in-process, on
//! 127.0.0.1, SQLite in a temp dir) that can be stopped and started again on
//! the same port, and the real `deskside-agent` binary run as a separate
//! process with its own state directory.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::missing_panics_doc)]

// The fakes that need no desk live in deskside-testkit (so the agent's
// tests do not build the desk); the end-to-end tests reach them here too.
pub use deskside_testkit::{fake_notifications, fake_tray, webdriver};

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
    tls: Option<std::sync::Arc<rustls::ServerConfig>>,
    limits: Limits,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

fn free_addr() -> SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap()
}

/// A local TCP port nothing listens on now.
pub fn free_port() -> u16 {
    free_addr().port()
}

/// Whether `tool` is on the PATH.
pub fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A process the test started (an agent's `run`), killed when dropped if
/// it still runs: a failing assertion leaves nothing behind.
pub struct Daemon(pub std::process::Child);

impl Daemon {
    /// Its process id.
    pub fn id(&self) -> u32 {
        self.0.id()
    }

    /// Waits for it to exit.
    pub fn wait(&mut self) -> std::io::Result<std::process::ExitStatus> {
        self.0.wait()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// Asks process `pid` to stop (SIGTERM); whether the signal was sent.
pub fn sigterm(pid: u32) -> bool {
    Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .is_ok_and(|s| s.success())
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
            tls: None,
            // Agents check in every 2 s, so that tests of `run` are quick;
            // the desk's timer (SLA, resolving verified tickets) runs every
            // second.
            limits: Limits {
                checkin_interval: Duration::from_secs(2),
                sla_interval: Some(Duration::from_secs(1)),
                ..Limits::default()
            },
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

    /// A running desk with the server's default limits (check-ins every
    /// minute), for benchmarks.
    pub async fn up_with_defaults() -> Self {
        let mut d = Self::down().await;
        d.limits = Limits::default();
        d.start().await;
        d
    }

    /// A running desk serving HTTPS with a fresh self-signed certificate
    /// for 127.0.0.1, and that certificate's SHA-256 fingerprint
    /// (`AB:CD:…`).
    pub async fn up_tls() -> (Self, String) {
        let mut d = Self::down().await;
        let key = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into()]).unwrap();
        let cert = d.dir.path().join("desk.pem");
        let pem_key = d.dir.path().join("desk.key");
        std::fs::write(&cert, key.cert.pem()).unwrap();
        std::fs::write(&pem_key, key.signing_key.serialize_pem()).unwrap();
        d.tls = Some(deskside_server::tls::server_config(&cert, &pem_key).unwrap());
        let digest = <sha2::Sha256 as sha2::Digest>::digest(key.cert.der());
        let fingerprint: Vec<String> = digest.iter().map(|b| format!("{b:02X}")).collect();
        d.start().await;
        (d, fingerprint.join(":"))
    }

    /// The URL agents use.
    pub fn url(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// Starts serving (again) on its address.
    pub async fn start(&mut self) {
        let listener = tokio::net::TcpListener::bind(self.addr).await.unwrap();
        let blobs = DiskBlobs::new(self.dir.path().join("blobs")).unwrap();
        let app = router(self.store.clone(), blobs, self.limits.clone());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        self.stop = Some(tx);
        let stopped = async {
            let _ = rx.await;
        };
        let tls = self.tls.clone();
        self.task = Some(tokio::spawn(async move {
            let _ = match tls {
                Some(tls) => api::serve_tls(listener, app, tls, stopped).await,
                None => api::serve(listener, app, stopped).await,
            };
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
            .create_api_token(user.id, &hash_token(&token), None)
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
            .map(|t| t.work.row.subject)
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
        // Benchmarks (release) always build: a stale binary measures the
        // wrong code. Tests rely on the workspace build.
        if bin.exists() && !dir.ends_with("release") {
            return;
        }
        let mut build = Command::new(env!("CARGO"));
        build.args([
            "build",
            "-q",
            "-p",
            "deskside-agent",
            "--bin",
            "deskside-agent",
        ]);
        if dir.ends_with("release") {
            build.arg("--release");
        }
        let status = build.status().unwrap();
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

    /// Removes an environment variable this agent would get.
    pub fn without_env(mut self, k: &str) -> Self {
        self.env.retain(|(key, _)| key != k);
        self
    }

    /// The command, ready to run.
    pub fn command(&self, args: &[&str]) -> Command {
        self.wrapped(&[], args)
    }

    /// The command run through `wrapper` (a program and its arguments,
    /// given the agent's command line after them).
    pub fn wrapped(&self, wrapper: &[&str], args: &[&str]) -> Command {
        let mut c = match wrapper.split_first() {
            Some((program, rest)) => {
                let mut c = Command::new(program);
                c.args(rest).arg(agent_bin());
                c
            }
            None => Command::new(agent_bin()),
        };
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

/// What the fault-injecting proxy does to one connection (one request: it
/// asks the desk to close each connection after its response).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Forward both ways.
    Pass,
    /// Reset the connection before anything reaches the desk.
    Drop,
    /// Wait this long, then forward.
    Delay(Duration),
    /// Forward the request; reset the connection as soon as the desk
    /// starts answering (the desk did the work, the agent never hears).
    Cut,
    /// Forward the request and part of the answer, then reset.
    Partial,
    /// Answer in place of the desk: this status with `Retry-After`.
    Busy {
        /// 429 or 503.
        status: u16,
        /// Seconds.
        retry_after: u64,
    },
}

/// One connection the proxy saw.
#[derive(Debug, Clone)]
pub struct Seen {
    /// Bytes from the agent and from the desk (known once the connection
    /// ended; 0 before).
    pub bytes: (u64, u64),
    /// When it arrived.
    pub at: std::time::Instant,
    /// The request line (`POST /api/v1/agent/tickets HTTP/1.1`).
    pub request: String,
    /// What was done to it.
    pub fault: Fault,
}

type Plan = Box<dyn FnMut(&str) -> Fault + Send>;

/// A TCP proxy in front of a desk that drops, delays, cuts and answers
/// "busy" as its plan says, per request.
pub struct FaultProxy {
    /// Where agents connect.
    pub addr: SocketAddr,
    seen: std::sync::Arc<std::sync::Mutex<Vec<Seen>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FaultProxy {
    /// A proxy to `upstream`; `plan` gets each request line and says what
    /// to do.
    pub async fn start(
        upstream: SocketAddr,
        plan: impl FnMut(&str) -> Fault + Send + 'static,
    ) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let plan: std::sync::Arc<std::sync::Mutex<Plan>> =
            std::sync::Arc::new(std::sync::Mutex::new(Box::new(plan)));
        let log = std::sync::Arc::clone(&seen);
        let task = tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    continue;
                };
                let plan = std::sync::Arc::clone(&plan);
                let log = std::sync::Arc::clone(&log);
                tokio::spawn(async move {
                    let _ = proxy_one(client, upstream, &plan, &log).await;
                });
            }
        });
        Self { addr, seen, task }
    }

    /// The URL agents use.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request seen so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

async fn proxy_one(
    mut client: tokio::net::TcpStream,
    upstream: SocketAddr,
    plan: &std::sync::Mutex<Plan>,
    log: &std::sync::Mutex<Vec<Seen>>,
) -> std::io::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    // The request line, and whatever else arrived with it.
    let mut head = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    let line_end = loop {
        let n = client.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        head.extend_from_slice(&buf[..n]);
        if let Some(i) = head.windows(2).position(|w| w == b"\r\n") {
            break i;
        }
    };
    let request = String::from_utf8_lossy(&head[..line_end]).into_owned();
    let fault = (plan.lock().unwrap())(&request);
    let index = {
        let mut log = log.lock().unwrap();
        log.push(Seen {
            bytes: (0, 0),
            at: std::time::Instant::now(),
            request,
            fault,
        });
        log.len() - 1
    };
    // One request per connection, so that every request meets the plan.
    head.splice(
        line_end + 2..line_end + 2,
        b"Connection: close\r\n".iter().copied(),
    );
    let reset = |s: tokio::net::TcpStream| {
        // SO_LINGER 0: the peer sees a reset, not a clean end.
        let _ = s.set_zero_linger();
        drop(s);
    };
    match fault {
        Fault::Drop => {
            reset(client);
            return Ok(());
        }
        Fault::Busy {
            status,
            retry_after,
        } => {
            let body = r#"{"error":"busy","message":"try again later"}"#;
            let reason = if status == 429 {
                "Too Many Requests"
            } else {
                "Service Unavailable"
            };
            let answer = format!(
                "HTTP/1.1 {status} {reason}\r\nRetry-After: {retry_after}\r\n\
                 Content-Type: application/json\r\nContent-Length: {}\r\n\
                 Connection: close\r\n\r\n{body}",
                body.len()
            );
            client.write_all(answer.as_bytes()).await?;
            client.shutdown().await?;
            return Ok(());
        }
        Fault::Delay(d) => tokio::time::sleep(d).await,
        Fault::Pass | Fault::Cut | Fault::Partial => {}
    }
    let mut desk = tokio::net::TcpStream::connect(upstream).await?;
    desk.write_all(&head).await?;
    match fault {
        Fault::Cut | Fault::Partial => {
            let (mut c_read, _c_write) = client.split();
            let (mut d_read, mut d_write) = desk.split();
            // The rest of the request goes on while the desk's first
            // bytes are awaited.
            let mut first = vec![0u8; 64 * 1024];
            let n = tokio::select! {
                r = d_read.read(&mut first) => r?,
                _ = tokio::io::copy(&mut c_read, &mut d_write) => {
                    d_read.read(&mut first).await?
                }
            };
            if fault == Fault::Partial && n > 1 {
                client.write_all(&first[..n / 2]).await?;
            }
            reset(client);
            Ok(())
        }
        _ => {
            let (up, down) = tokio::io::copy_bidirectional(&mut client, &mut desk).await?;
            log.lock().unwrap()[index].bytes = (up + head.len() as u64, down);
            Ok(())
        }
    }
}
