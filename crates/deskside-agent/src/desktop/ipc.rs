//! The tray app in two processes. On Linux WebKitGTK is a library the
//! windows' binary links, so whichever process shows windows maps it (and
//! GTK, and the speech voices WebKit links) from its start, window or not:
//! ~70 MiB for an idle tray. So the tray and the agent run in a small
//! process (`deskside`), and the windows in a second one
//! (`deskside-windows`) that the first starts when a window is asked for
//! and that exits with its last window.
//!
//! They talk over a Unix socket in the state directory, one JSON message
//! a line: the windows process forwards every command to the tray
//! process ([`ToTray::Call`]), reports which windows it has, and is told
//! what to show and which events to pass on ([`ToWindows`]). A second
//! `deskside` launch hands its `--open` target over the same socket.

use std::collections::{HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, oneshot};

use super::{CommandError, Desktop};
use crate::config::AgentConfig;

/// What the tray process is sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ToTray {
    /// "I am the windows process": from now on it is told what to show.
    Attach,
    /// Runs a command (see [`super::commands`]); answered by
    /// [`ToWindows::Reply`] with the same id.
    Call {
        /// Matches the reply.
        id: u64,
        /// The command.
        cmd: String,
        /// Its arguments.
        #[serde(default)]
        args: Value,
    },
    /// Opens what a target names (a second launch's `--open`).
    OpenTarget {
        /// `health`, `tickets/t-…`, …
        target: String,
    },
    /// A window was shown (created or brought to the front), as asked.
    Shown {
        /// Its label.
        label: String,
    },
    /// A window was closed.
    Closed {
        /// Its label.
        label: String,
    },
}

/// What the windows process is sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ToWindows {
    /// The answer to [`ToTray::Call`].
    Reply {
        /// The call's id.
        id: u64,
        /// Its result.
        result: Result<Value, CommandError>,
    },
    /// Show a window (create it, or bring it to the front on `item`).
    Show {
        /// Its label.
        label: String,
        /// A ticket's local id.
        item: Option<String>,
        /// The title of a window to create.
        title: String,
    },
    /// Pass an event to the open windows.
    Event {
        /// What [`super::EVENT`] carries.
        payload: Value,
    },
    /// The user quit: close every window and exit.
    Quit,
}

/// The socket of the tray app using `cfg`'s state directory.
pub fn socket_path(cfg: &AgentConfig) -> PathBuf {
    cfg.state_dir().join("desktop.sock")
}

/// Listens on `path`. A socket file left there is stale: the caller
/// holds the state directory's lock. Only the user may connect.
pub fn bind(path: &Path) -> std::io::Result<UnixListener> {
    use std::os::unix::fs::PermissionsExt as _;
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let listener = UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    Ok(listener)
}

/// Asks the tray app listening on `path` to open `target`, as a second
/// launch does.
pub fn forward(path: &Path, target: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut s = std::os::unix::net::UnixStream::connect(path)?;
    let mut line = serde_json::to_vec(&ToTray::OpenTarget {
        target: target.to_owned(),
    })?;
    line.push(b'\n');
    s.write_all(&line)?;
    s.flush()
}

/// Starts a windows process.
pub type Spawner = Box<dyn Fn() -> std::io::Result<()> + Send + Sync>;

/// The tray process's view of the windows process: whether one is
/// attached, which windows it has, and what it still has to show. What
/// it was asked to show and did not confirm before it went away (it was
/// exiting with its last window as the ask arrived) goes to the next one.
pub struct WindowsHub {
    inner: Mutex<Hub>,
    spawn: Spawner,
}

/// A window to show: label, item, title, and whether it was handed to a
/// windows process that went away before showing it.
type Ask = (String, Option<String>, String, bool);

#[derive(Default)]
struct Hub {
    client: Option<(u64, mpsc::UnboundedSender<ToWindows>)>,
    open: HashSet<String>,
    /// Shows waiting for a windows process to attach.
    pending: VecDeque<Ask>,
    /// Shows sent and not yet confirmed.
    unacked: VecDeque<Ask>,
    /// A windows process was started and has not attached yet.
    spawned: Option<Instant>,
}

/// How long a started windows process may take to attach before another
/// is started for a new ask.
const ATTACH_WITHIN: Duration = Duration::from_secs(20);

impl std::fmt::Debug for WindowsHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WindowsHub").finish_non_exhaustive()
    }
}

impl WindowsHub {
    /// A hub that starts windows processes with `spawn`.
    pub fn new(spawn: Spawner) -> Self {
        Self {
            inner: Mutex::new(Hub::default()),
            spawn,
        }
    }

    fn hub(&self) -> std::sync::MutexGuard<'_, Hub> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether the windows process has window `label`.
    pub fn is_open(&self, label: &str) -> bool {
        self.hub().open.contains(label)
    }

    /// Whether a windows process is attached.
    pub fn attached(&self) -> bool {
        self.hub().client.is_some()
    }

    /// Shows window `label`, starting a windows process when none is
    /// attached.
    pub fn show(&self, label: &str, item: Option<&str>, title: &str) {
        let ask = (
            label.to_owned(),
            item.map(str::to_owned),
            title.to_owned(),
            false,
        );
        let mut hub = self.hub();
        if let Some((_, tx)) = &hub.client {
            let sent = tx.send(show(&ask));
            if sent.is_ok() {
                hub.unacked.push_back(ask);
                return;
            }
        }
        hub.pending.push_back(ask);
        self.start(&mut hub);
    }

    fn start(&self, hub: &mut Hub) {
        if hub.client.is_some() || hub.spawned.is_some_and(|t| t.elapsed() < ATTACH_WITHIN) {
            return;
        }
        match (self.spawn)() {
            Ok(()) => hub.spawned = Some(Instant::now()),
            Err(e) => {
                tracing::warn!("cannot start the windows process: {e}");
                hub.pending.clear();
            }
        }
    }

    /// Passes an event to the open windows.
    pub fn emit(&self, payload: Value) {
        if let Some((_, tx)) = &self.hub().client {
            let _ = tx.send(ToWindows::Event { payload });
        }
    }

    /// Closes the windows process.
    pub fn quit(&self) {
        let mut hub = self.hub();
        hub.pending.clear();
        if let Some((_, tx)) = &hub.client {
            let _ = tx.send(ToWindows::Quit);
        }
    }

    fn attach(&self, conn: u64, tx: mpsc::UnboundedSender<ToWindows>) {
        let mut hub = self.hub();
        hub.spawned = None;
        hub.open.clear();
        while let Some(ask) = hub.pending.pop_front() {
            if tx.send(show(&ask)).is_ok() {
                hub.unacked.push_back(ask);
            }
        }
        hub.client = Some((conn, tx));
    }

    fn current(hub: &Hub, conn: u64) -> bool {
        hub.client.as_ref().is_some_and(|(c, _)| *c == conn)
    }

    fn shown(&self, conn: u64, label: String) {
        let mut hub = self.hub();
        if Self::current(&hub, conn) {
            if let Some(i) = hub.unacked.iter().position(|(l, ..)| *l == label) {
                hub.unacked.remove(i);
            }
            hub.open.insert(label);
        }
    }

    fn closed(&self, conn: u64, label: &str) {
        let mut hub = self.hub();
        if Self::current(&hub, conn) {
            hub.open.remove(label);
        }
    }

    fn detach(&self, conn: u64) {
        let mut hub = self.hub();
        if !Self::current(&hub, conn) {
            return;
        }
        hub.client = None;
        hub.open.clear();
        // Once: a windows process that dies on every start must not be
        // started forever.
        while let Some(mut ask) = hub.unacked.pop_back() {
            if !ask.3 {
                ask.3 = true;
                hub.pending.push_front(ask);
            }
        }
        if !hub.pending.is_empty() {
            self.start(&mut hub);
        }
    }
}

fn show(ask: &Ask) -> ToWindows {
    ToWindows::Show {
        label: ask.0.clone(),
        item: ask.1.clone(),
        title: ask.2.clone(),
    }
}

/// Serves connections until the listener fails.
pub async fn serve(listener: UnixListener, desktop: Arc<Desktop>, hub: Arc<WindowsHub>) {
    let mut next = 0u64;
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                if !same_user(&stream) {
                    // The socket's mode already says so; this holds even
                    // when a state directory was made too open.
                    tracing::warn!("refused a desktop connection from another user");
                    continue;
                }
                next += 1;
                tokio::spawn(connection(
                    stream,
                    next,
                    Arc::clone(&desktop),
                    Arc::clone(&hub),
                ));
            }
            Err(e) => {
                tracing::warn!("the desktop socket failed: {e}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}

/// Whether the peer runs as this process's user (root may, too).
fn same_user(stream: &UnixStream) -> bool {
    use std::os::unix::fs::MetadataExt as _;
    let Ok(me) = std::fs::metadata("/proc/self").map(|m| m.uid()) else {
        // No /proc (not Linux): the socket's mode decides.
        return true;
    };
    stream
        .peer_cred()
        .is_ok_and(|c| c.uid() == me || c.uid() == 0)
}

async fn write_lines<M: Serialize>(
    mut w: impl AsyncWriteExt + Unpin,
    mut rx: mpsc::UnboundedReceiver<M>,
) {
    while let Some(m) = rx.recv().await {
        let Ok(mut line) = serde_json::to_vec(&m) else {
            continue;
        };
        line.push(b'\n');
        if w.write_all(&line).await.is_err() || w.flush().await.is_err() {
            break;
        }
    }
}

async fn connection(stream: UnixStream, conn: u64, desktop: Arc<Desktop>, hub: Arc<WindowsHub>) {
    let (r, w) = stream.into_split();
    let (tx, rx) = mpsc::unbounded_channel::<ToWindows>();
    tokio::spawn(write_lines(w, rx));
    let mut lines = BufReader::new(r).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        let msg = match serde_json::from_str::<ToTray>(&line) {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!("a bad message on the desktop socket: {e}");
                continue;
            }
        };
        match msg {
            ToTray::Attach => hub.attach(conn, tx.clone()),
            ToTray::Call { id, cmd, args } => {
                let (desktop, tx) = (Arc::clone(&desktop), tx.clone());
                tokio::spawn(async move {
                    let result = desktop.call(&cmd, args).await;
                    let _ = tx.send(ToWindows::Reply { id, result });
                });
            }
            ToTray::OpenTarget { target } => {
                if !desktop.open_target(&target) {
                    tracing::info!("nothing to open for {target:?}");
                }
            }
            ToTray::Shown { label } => hub.shown(conn, label),
            ToTray::Closed { label } => hub.closed(conn, &label),
        }
    }
    hub.detach(conn);
}

type Waiting = Mutex<std::collections::HashMap<u64, oneshot::Sender<Result<Value, CommandError>>>>;

/// The windows process's end: calls commands in the tray process.
#[derive(Debug)]
pub struct Client {
    tx: mpsc::UnboundedSender<ToTray>,
    waiting: Arc<Waiting>,
    next: AtomicU64,
}

impl Client {
    /// Connects to the tray app at `path` and attaches as its windows
    /// process. What the tray process sends besides replies comes out of
    /// the receiver, which closes when the tray process went away.
    pub async fn attach(
        path: &Path,
    ) -> std::io::Result<(Arc<Client>, mpsc::UnboundedReceiver<ToWindows>)> {
        let stream = UnixStream::connect(path).await?;
        let (r, w) = stream.into_split();
        let (tx, rx) = mpsc::unbounded_channel::<ToTray>();
        tokio::spawn(write_lines(w, rx));
        let (out_tx, out_rx) = mpsc::unbounded_channel();
        let waiting: Arc<Waiting> = Arc::default();
        let replies = Arc::clone(&waiting);
        tokio::spawn(async move {
            let mut lines = BufReader::new(r).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                match serde_json::from_str::<ToWindows>(&line) {
                    Ok(ToWindows::Reply { id, result }) => {
                        let waiter = replies
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .remove(&id);
                        if let Some(w) = waiter {
                            let _ = w.send(result);
                        }
                    }
                    Ok(other) => {
                        let _ = out_tx.send(other);
                    }
                    Err(e) => tracing::warn!("a bad message from the tray process: {e}"),
                }
            }
            // Calls still waiting fail (their senders drop).
            replies.lock().unwrap_or_else(|p| p.into_inner()).clear();
        });
        let client = Arc::new(Client {
            tx,
            waiting,
            next: AtomicU64::new(1),
        });
        client.send(ToTray::Attach);
        Ok((client, out_rx))
    }

    /// Sends a message that needs no answer.
    pub fn send(&self, m: ToTray) {
        let _ = self.tx.send(m);
    }

    /// Runs command `cmd` in the tray process.
    pub async fn call(&self, cmd: &str, args: Value) -> Result<Value, CommandError> {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        self.waiting
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, tx);
        self.send(ToTray::Call {
            id,
            cmd: cmd.to_owned(),
            args,
        });
        rx.await.map_err(|_| CommandError {
            message: crate::i18n::text(crate::i18n::Locale::detect(), "app.error.tray_gone", &[]),
        })?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_one_json_object_a_line() {
        let call = ToTray::Call {
            id: 7,
            cmd: "ticket".into(),
            args: serde_json::json!({"id": "t-1"}),
        };
        let line = serde_json::to_string(&call).unwrap();
        assert!(!line.contains('\n'));
        assert_eq!(serde_json::from_str::<ToTray>(&line).unwrap(), call);
        assert_eq!(
            serde_json::to_string(&ToTray::Attach).unwrap(),
            "\"attach\""
        );
        let reply = ToWindows::Reply {
            id: 7,
            result: Err(CommandError {
                message: "no".into(),
            }),
        };
        let back: ToWindows =
            serde_json::from_str(&serde_json::to_string(&reply).unwrap()).unwrap();
        assert_eq!(back, reply);
    }

    #[test]
    fn a_show_waits_for_a_windows_process_and_survives_one_that_exits() {
        let spawned = Arc::new(AtomicU64::new(0));
        let counter = Arc::clone(&spawned);
        let hub = WindowsHub::new(Box::new(move || {
            counter.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }));
        // No windows process: one is started, once, for two asks.
        hub.show("report", None, "Report a problem");
        hub.show("tickets", Some("t-1"), "My tickets");
        assert_eq!(spawned.load(Ordering::SeqCst), 1);
        let (tx, mut rx) = mpsc::unbounded_channel();
        hub.attach(1, tx);
        let first = rx.try_recv().unwrap();
        assert_eq!(
            first,
            ToWindows::Show {
                label: "report".into(),
                item: None,
                title: "Report a problem".into()
            }
        );
        assert!(matches!(
            rx.try_recv().unwrap(),
            ToWindows::Show { item: Some(_), .. }
        ));
        hub.shown(1, "report".into());
        assert!(hub.is_open("report"));
        assert!(!hub.is_open("tickets"));
        // It exits before confirming "tickets": the next process gets it.
        hub.detach(1);
        assert!(!hub.attached());
        assert!(!hub.is_open("report"));
        assert_eq!(spawned.load(Ordering::SeqCst), 2);
        let (tx, mut rx) = mpsc::unbounded_channel();
        hub.attach(2, tx);
        assert_eq!(
            rx.try_recv().unwrap(),
            ToWindows::Show {
                label: "tickets".into(),
                item: Some("t-1".into()),
                title: "My tickets".into()
            }
        );
        // It dies too: "tickets" is not handed on a third time.
        hub.detach(2);
        assert_eq!(spawned.load(Ordering::SeqCst), 2);
        let (tx, mut rx) = mpsc::unbounded_channel();
        hub.attach(3, tx);
        assert!(rx.try_recv().is_err());
        // An old connection's news no longer counts.
        hub.shown(1, "settings".into());
        assert!(!hub.is_open("settings"));
        hub.closed(3, "tickets");
        hub.quit();
        assert_eq!(rx.try_recv().unwrap(), ToWindows::Quit);
    }

    #[test]
    fn a_windows_process_that_cannot_start_leaves_nothing_waiting() {
        let hub = WindowsHub::new(Box::new(|| Err(std::io::Error::other("no binary"))));
        hub.show("health", None, "Device health");
        let (tx, mut rx) = mpsc::unbounded_channel();
        hub.attach(1, tx);
        assert!(rx.try_recv().is_err());
    }
}
