//! A fake `org.freedesktop.Notifications` service on a private D-Bus
//! session bus: what the notification tests of the agent and the tray
//! count calls on.

#![cfg(target_os = "linux")]

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One notification shown.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// The application's name.
    pub app_name: String,
    /// Title.
    pub summary: String,
    /// Text.
    pub body: String,
    /// Its actions, as (key, label) pairs.
    pub actions: Vec<(String, String)>,
    /// The id the service gave it.
    pub id: u32,
}

struct Fake {
    calls: Arc<Mutex<Vec<Call>>>,
    hang: bool,
}

/// The fake's side of the bus: what it was asked to show, and a way to
/// act as the user clicking.
pub struct Service {
    /// The notifications shown.
    pub calls: Arc<Mutex<Vec<Call>>>,
    conn: zbus::Connection,
}

impl Service {
    /// The user clicks `action` (`default`: the notification itself) of
    /// the notification `id`: the service says so on the bus, as a real
    /// one does.
    pub fn click(&self, id: u32, action: &str) {
        let conn = self.conn.clone();
        let action = action.to_owned();
        zbus::block_on(async move {
            conn.emit_signal(
                None::<()>,
                "/org/freedesktop/Notifications",
                "org.freedesktop.Notifications",
                "ActionInvoked",
                &(id, action.as_str()),
            )
            .await
            .unwrap();
        });
    }
}

#[zbus::interface(name = "org.freedesktop.Notifications")]
impl Fake {
    #[allow(clippy::too_many_arguments)]
    async fn notify(
        &self,
        app_name: String,
        _replaces_id: u32,
        _app_icon: String,
        summary: String,
        body: String,
        actions: Vec<String>,
        _hints: HashMap<String, zbus::OwnedVariant>,
        _expire_timeout: i32,
    ) -> u32 {
        let id = {
            let mut calls = self.calls.lock().unwrap();
            let id = calls.len() as u32 + 1;
            calls.push(Call {
                app_name,
                summary,
                body,
                actions: actions
                    .chunks(2)
                    .map(|p| (p[0].clone(), p.get(1).cloned().unwrap_or_default()))
                    .collect(),
                id,
            });
            id
        };
        if self.hang {
            std::future::pending::<()>().await;
        }
        id
    }

    fn get_capabilities(&self) -> Vec<String> {
        vec!["body".into(), "actions".into()]
    }

    fn get_server_information(&self) -> (String, String, String, String) {
        (
            "fake".into(),
            "deskside-tests".into(),
            "1.0".into(),
            "1.2".into(),
        )
    }

    fn close_notification(&self, _id: u32) {}
}

/// A private session bus, gone when dropped.
pub struct Bus {
    daemon: Child,
    /// Its address, for `DBUS_SESSION_BUS_ADDRESS`.
    pub address: String,
    _dir: tempfile::TempDir,
}

impl Drop for Bus {
    fn drop(&mut self) {
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
    }
}

/// Starts a private session bus; `None` when `dbus-daemon` is missing
/// outside CI.
pub fn private_bus() -> Option<Bus> {
    let dir = tempfile::tempdir().unwrap();
    let spawned = Command::new("dbus-daemon")
        .args(["--session", "--nofork", "--print-address=1"])
        .arg(format!(
            "--address=unix:path={}",
            dir.path().join("bus").display()
        ))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn();
    let Ok(mut daemon) = spawned else {
        // The test script installs dbus; only a developer machine may lack it.
        assert!(
            std::env::var_os("CI").is_none(),
            "dbus-daemon is not installed"
        );
        return None;
    };
    let mut line = String::new();
    BufReader::new(daemon.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    Some(Bus {
        daemon,
        address: line.trim().to_owned(),
        _dir: dir,
    })
}

/// Serves the fake on the bus at `address`; with `hang`, it never
/// answers. Returns the calls it receives.
pub fn serve(address: &str, hang: bool) -> Arc<Mutex<Vec<Call>>> {
    service(address, hang).calls
}

/// Serves the fake on the bus at `address`, with a handle that can also
/// click its notifications.
pub fn service(address: &str, hang: bool) -> Service {
    let calls: Arc<Mutex<Vec<Call>>> = Arc::default();
    let fake = Fake {
        calls: Arc::clone(&calls),
        hang,
    };
    let conn = serve_object(
        address,
        "org.freedesktop.Notifications",
        "/org/freedesktop/Notifications",
        fake,
    );
    Service { calls, conn }
}

/// Serves `object` at `path` under the well-known `name` on the bus at
/// `address`, from a thread of its own, for as long as the test runs.
/// Returns its connection once the name is taken.
pub fn serve_object<I: zbus::object_server::Interface>(
    address: &str,
    name: &'static str,
    path: &'static str,
    object: I,
) -> zbus::Connection {
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let address = address.to_owned();
    std::thread::spawn(move || {
        zbus::block_on(async move {
            let conn = zbus::connection::Builder::address(address.as_str())
                .name(name)
                .serve_at(path, object)
                .build()
                .await
                .unwrap();
            ready_tx.send(conn.clone()).unwrap();
            std::future::pending::<()>().await;
        });
    });
    ready_rx.recv_timeout(Duration::from_secs(10)).unwrap()
}
