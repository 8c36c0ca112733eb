//! The desktop app's core without a display: what menu items and targets
//! open, what the commands answer, what settings change, and the two
//! processes of the Linux app talking over their socket (a real Unix
//! socket; the windows process's end is [`ipc::Client`], as in
//! `deskside-windows`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use deskside_agent::agent::Agent;
use deskside_agent::config::AgentConfig;
use deskside_agent::desktop::{Desktop, Shell, TrayView};
use deskside_agent::i18n::Locale;
use deskside_agent::tray::{TrayState, Window};
use serde_json::{Value, json};

#[derive(Default)]
struct Recorder {
    open: Mutex<Vec<Window>>,
    shown: Mutex<Vec<(Window, Option<String>, String)>>,
    emitted: Mutex<Vec<Value>>,
    trays: Mutex<Vec<TrayView>>,
    autostart: Mutex<Vec<bool>>,
    quit: Mutex<bool>,
}

impl Shell for Recorder {
    fn is_open(&self, w: Window) -> bool {
        self.open.lock().unwrap().contains(&w)
    }
    fn show(&self, w: Window, item: Option<&str>, locale: Locale) {
        self.open.lock().unwrap().push(w);
        self.shown
            .lock()
            .unwrap()
            .push((w, item.map(str::to_owned), w.title(locale)));
    }
    fn emit(&self, payload: Value) {
        self.emitted.lock().unwrap().push(payload);
    }
    fn refresh_tray(&self, view: &TrayView) {
        self.trays.lock().unwrap().push(view.clone());
    }
    fn apply_autostart(&self, wanted: bool) {
        self.autostart.lock().unwrap().push(wanted);
    }
    fn quit(&self) {
        *self.quit.lock().unwrap() = true;
    }
}

fn desktop(dir: &std::path::Path) -> Arc<Desktop> {
    let mut cfg = AgentConfig {
        state_dir: Some(dir.to_path_buf()),
        ..AgentConfig::default()
    };
    // No display in these tests: no screen to capture.
    cfg.privacy.screenshots = false;
    let agent = Arc::new(Agent::open(cfg).unwrap());
    Desktop::new(agent, tokio::runtime::Handle::current())
}

/// A desktop drawn by a recorder, on a temporary state directory.
fn recorded() -> (tempfile::TempDir, Arc<Desktop>, Arc<Recorder>) {
    let dir = tempfile::tempdir().unwrap();
    let d = desktop(dir.path());
    let shell = Arc::new(Recorder::default());
    d.set_shell(shell.clone());
    (dir, d, shell)
}

#[tokio::test]
async fn menu_items_targets_and_settings_do_what_they_say() {
    let (_dir, d, shell) = recorded();

    assert!(!d.handle_menu("nonsense"));
    assert!(d.handle_menu("tickets"));
    assert!(d.handle_menu("report"));
    assert!(d.open_target("tickets/t-9"));
    assert!(!d.open_target("nowhere"));
    // A ticket id goes into a page's URL: only plain ids are kept.
    assert!(d.open_target("tickets/../../etc"));
    let shown = shell.shown.lock().unwrap().clone();
    assert_eq!(
        shown,
        [
            (Window::Tickets, None, "My tickets".to_owned()),
            (Window::Report, None, "Report a problem".to_owned()),
            (
                Window::Tickets,
                Some("t-9".to_owned()),
                "My tickets".to_owned()
            ),
            (Window::Tickets, None, "My tickets".to_owned()),
        ]
    );
    // The page of a window that was asked for reports itself ready once.
    assert!(d.ready("report").is_some());
    assert!(d.ready("report").is_none());
    assert!(d.ready("health").is_none(), "never asked for");

    // Settings apply at once: start at login, the tray's language, the
    // windows hear of it.
    let set = json!({"settings": {"language": "ko", "notifications": false, "autostart": false}});
    assert_eq!(d.call("set_settings", set).await.unwrap(), Value::Null);
    assert_eq!(*shell.autostart.lock().unwrap(), [false]);
    let tray = shell.trays.lock().unwrap().last().cloned().unwrap();
    assert_eq!(tray.labels[1], ("tickets", "내 요청".to_owned()));
    assert_eq!(
        tray.state,
        TrayState::Healthy,
        "no desk configured, no check failed"
    );
    assert_eq!(
        shell.emitted.lock().unwrap().last().unwrap(),
        &json!({"kind": "settings"})
    );
    let strings = d.call("strings", json!({})).await.unwrap();
    assert_eq!(strings["locale"], "ko");
    assert!(d.handle_menu("health"));
    assert_eq!(shell.shown.lock().unwrap().last().unwrap().2, "기기 상태");
    let bad = json!({"settings": {"language": "fr", "notifications": true, "autostart": true}});
    let err = d.call("set_settings", bad).await.unwrap_err();
    assert!(err.message.contains("unknown language"), "{err:?}");
    assert_eq!(
        d.settings().language,
        "ko",
        "a refused change changes nothing"
    );

    // Bad calls get a message, not a panic.
    let err = d.call("ticket", json!({"id": 5})).await.unwrap_err();
    assert!(err.message.starts_with("invalid argument id"), "{err:?}");
    let err = d.call("format_disk", json!({})).await.unwrap_err();
    assert_eq!(err.message, "unknown command \"format_disk\"");

    // Quit stops the agent's loops and the shell.
    let stop = d.stop();
    assert!(d.handle_menu("quit"));
    assert!(*shell.quit.lock().unwrap());
    tokio::time::timeout(Duration::from_secs(1), stop.notified())
        .await
        .expect("the agent is told to stop");
}

#[tokio::test]
async fn an_open_window_is_brought_forward_and_a_report_starts_a_new_draft() {
    let (_dir, d, shell) = recorded();
    d.with_draft(|draft| draft.add_file("old.txt", b"from the last report".to_vec()))
        .unwrap();
    d.open_at(Window::Report, None);
    let draft = d.call("report_draft", json!({})).await.unwrap();
    assert_eq!(draft, json!({"screenshot": null, "files": []}));
    // Open already: shown again (to the front), the draft is kept.
    d.call("add_file", json!({"name": "now.txt", "data": "aGk="}))
        .await
        .unwrap();
    d.open_at(Window::Report, None);
    let draft = d.call("report_draft", json!({})).await.unwrap();
    assert_eq!(draft["files"][0]["name"], "now.txt");
    assert_eq!(shell.shown.lock().unwrap().len(), 2);
}

#[cfg(unix)]
mod two_processes {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use deskside_agent::desktop::ipc::{self, Client, ToTray, ToWindows, WindowsHub};

    use super::*;

    /// The tray process's shell, windows through the hub.
    struct HubShell(Arc<WindowsHub>);

    impl Shell for HubShell {
        fn is_open(&self, w: Window) -> bool {
            self.0.is_open(w.label())
        }
        fn show(&self, w: Window, item: Option<&str>, locale: Locale) {
            self.0.show(w.label(), item, &w.title(locale));
        }
        fn emit(&self, payload: Value) {
            self.0.emit(payload);
        }
        fn refresh_tray(&self, _: &TrayView) {}
        fn apply_autostart(&self, _: bool) {}
        fn quit(&self) {
            self.0.quit();
        }
    }

    async fn next(inbox: &mut tokio::sync::mpsc::UnboundedReceiver<ToWindows>) -> ToWindows {
        loop {
            let m = tokio::time::timeout(Duration::from_secs(5), inbox.recv())
                .await
                .expect("a message from the tray process")
                .expect("the tray process is there");
            // Check results may arrive any time; these tests look past them.
            if !matches!(&m, ToWindows::Event { payload } if payload["kind"] == "health") {
                return m;
            }
        }
    }

    fn show(label: &str, item: Option<&str>, title: &str) -> ToWindows {
        ToWindows::Show {
            label: label.into(),
            item: item.map(Into::into),
            title: title.into(),
        }
    }

    #[tokio::test]
    async fn the_windows_process_is_started_on_demand_and_served_over_the_socket() {
        let dir = tempfile::tempdir().unwrap();
        let d = desktop(dir.path());
        let spawned = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&spawned);
        let hub = Arc::new(WindowsHub::new(Box::new(move || {
            counter.fetch_add(1, Ordering::SeqCst);
            Ok(())
        })));
        d.set_shell(Arc::new(HubShell(Arc::clone(&hub))));
        let socket = dir.path().join("desktop.sock");
        let listener = ipc::bind(&socket).unwrap();
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&socket).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "only the user may connect");
        tokio::spawn(ipc::serve(listener, Arc::clone(&d), Arc::clone(&hub)));

        // No windows process yet: asking for a window starts one.
        d.handle_menu("tickets");
        assert_eq!(spawned.load(Ordering::SeqCst), 1);
        let (client, mut inbox) = Client::attach(&socket).await.unwrap();
        assert_eq!(next(&mut inbox).await, show("tickets", None, "My tickets"));
        client.send(ToTray::Shown {
            label: "tickets".into(),
        });

        // Commands run in the tray process.
        let status = client.call("status", json!({})).await.unwrap();
        assert_eq!(status["version"], deskside_agent::AGENT_VERSION);
        assert_eq!(status["enrolled"], false, "{status}");
        let err = client.call("ticket", json!({"id": 5})).await.unwrap_err();
        assert!(err.message.starts_with("invalid argument id"), "{err:?}");

        // A notification's click on the open window: shown there, on the
        // ticket, without a new process.
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(hub.is_open("tickets"));
        d.open_target("tickets/t-1");
        assert_eq!(
            next(&mut inbox).await,
            show("tickets", Some("t-1"), "My tickets")
        );
        assert_eq!(spawned.load(Ordering::SeqCst), 1);

        // A second launch (`deskside --open settings`) hands over.
        let s = socket.clone();
        tokio::task::spawn_blocking(move || ipc::forward(&s, "settings"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(next(&mut inbox).await, show("settings", None, "Settings"));

        // Events reach the windows.
        let set = json!({"settings": {"language": "ja", "notifications": true, "autostart": true}});
        client.call("set_settings", set).await.unwrap();
        assert_eq!(
            next(&mut inbox).await,
            ToWindows::Event {
                payload: json!({"kind": "settings"})
            }
        );

        // The windows process exits with its last window: the next ask
        // starts another, titled in the new language.
        drop(client);
        drop(inbox);
        for _ in 0..50 {
            if !hub.attached() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(!hub.attached());
        d.handle_menu("about");
        // The shows it never confirmed go to the new process too, first.
        assert_eq!(spawned.load(Ordering::SeqCst), 2);
        let (_client, mut inbox) = Client::attach(&socket).await.unwrap();
        assert_eq!(
            next(&mut inbox).await,
            show("tickets", Some("t-1"), "My tickets")
        );
        assert_eq!(next(&mut inbox).await, show("settings", None, "Settings"));
        assert_eq!(
            next(&mut inbox).await,
            show("about", None, "Deskside について")
        );

        // Quit closes the windows process.
        d.handle_menu("quit");
        assert_eq!(next(&mut inbox).await, ToWindows::Quit);
    }

    #[tokio::test]
    async fn a_call_fails_with_a_message_when_the_tray_process_is_gone() {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("desktop.sock");
        let listener = ipc::bind(&socket).unwrap();
        // A tray process that reads nothing and hangs up.
        let server = tokio::spawn(async move {
            let (s, _) = listener.accept().await.unwrap();
            tokio::time::sleep(Duration::from_millis(200)).await;
            drop(s);
        });
        let (client, mut inbox) = Client::attach(&socket).await.unwrap();
        let err = client.call("status", json!({})).await.unwrap_err();
        assert_eq!(
            err.message,
            deskside_agent::i18n::text(Locale::detect(), "app.error.tray_gone", &[])
        );
        assert!(err.message.contains("Deskside"), "{err:?}");
        assert!(inbox.recv().await.is_none(), "the inbox closes with it");
        server.await.unwrap();
        assert!(ipc::forward(&dir.path().join("nobody.sock"), "health").is_err());
    }
}
