//! The tray app's commands and menu handling on Tauri's mock runtime
//! (no display): what the windows call, answered by a real agent core on
//! a temporary state directory.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use deskside_agent::agent::Agent;
use deskside_agent::config::AgentConfig;
use deskside_agent::desktop::Desktop;
use deskside_tray::{Backend, TauriShell};
use serde_json::{Value, json};
use tauri::test::{INVOKE_KEY, MockRuntime, get_ipc_response, mock_builder};
use tauri::webview::InvokeRequest;
use tauri::{Manager, WebviewWindow};

struct App {
    _app: tauri::App<MockRuntime>,
    desktop: Arc<Desktop>,
    webview: WebviewWindow<MockRuntime>,
    _dir: tempfile::TempDir,
}

fn app() -> App {
    let dir = tempfile::tempdir().unwrap();
    let cfg = AgentConfig {
        state_dir: Some(dir.path().to_path_buf()),
        ..AgentConfig::default()
    };
    let agent = Arc::new(Agent::open(cfg).unwrap());
    let desktop = Desktop::new(agent, tauri::async_runtime::handle().inner().clone());
    let app = deskside_tray::builder(mock_builder())
        .manage(Backend::Local(Arc::clone(&desktop)))
        // The app's own context: its capabilities decide what windows may call.
        .build(tauri::generate_context!())
        .unwrap();
    desktop.set_shell(Arc::new(TauriShell(app.handle().clone())));
    let webview = tauri::WebviewWindowBuilder::new(&app, "report", Default::default())
        .build()
        .unwrap();
    App {
        _app: app,
        desktop,
        webview,
        _dir: dir,
    }
}

fn call(app: &App, cmd: &str, args: Value) -> Result<Value, Value> {
    get_ipc_response(
        &app.webview,
        InvokeRequest {
            cmd: cmd.into(),
            callback: tauri::ipc::CallbackFn(0),
            error: tauri::ipc::CallbackFn(1),
            // What the app's own pages are served from on Linux and macOS.
            url: "tauri://localhost".parse().unwrap(),
            body: tauri::ipc::InvokeBody::Json(args),
            headers: Default::default(),
            invoke_key: INVOKE_KEY.to_string(),
        },
    )
    .map(|b| b.deserialize::<Value>().unwrap())
}

#[test]
fn a_ticket_filed_from_the_window_is_queued_offline_and_listed() {
    let app = app();
    let form = json!({"form": {
        "subject": "The printer on floor 3 does not print",
        "description": "Paper jam light",
        "category": "printer",
        "urgency": "high",
        "include_diagnostics": false
    }});
    let ticket = call(&app, "submit_ticket", form).unwrap();
    assert_eq!(ticket["delivery"], "queued", "{ticket}");
    let list = call(&app, "tickets", json!({})).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["subject"], "The printer on floor 3 does not print");
    let id = ticket["local_id"].as_str().unwrap();
    let shown = call(&app, "ticket", json!({"id": id})).unwrap();
    assert_eq!(shown["local_id"], id);
    let status = call(&app, "status", json!({})).unwrap();
    assert_eq!(status["outbox_depth"], 1);
    assert!(status["version"].is_string());

    // Bad input is a message for the page, not a crash.
    let err = call(
        &app,
        "submit_ticket",
        json!({"form": {"subject": " ", "category": "printer", "urgency": "low"}}),
    )
    .unwrap_err();
    assert!(err.to_string().contains("subject"), "{err}");
    let err = call(&app, "reply", json!({"id": "t-missing", "message": "hi"})).unwrap_err();
    assert!(err.to_string().contains("no ticket"), "{err}");
}

#[test]
fn the_preview_is_the_bundle_that_would_be_sent() {
    let app = app();
    let preview = call(&app, "preview_diagnostics", json!({})).unwrap();
    let bundle = &preview["bundle"];
    assert_eq!(
        bundle["format_version"],
        deskside_agent::diagnostics::FORMAT_VERSION
    );
    assert!(bundle["device"]["os"].is_object());
    assert!(bundle["processes"]["by_memory"].is_array());
    assert!(preview["checks"].is_array(), "the failing checks, worded");
    // What the employee leaves out is gone, and said.
    let preview = call(
        &app,
        "preview_diagnostics",
        json!({"leave_out": ["processes", "logs", "metrics"]}),
    )
    .unwrap();
    let b = &preview["bundle"];
    assert_eq!(b["processes"]["by_cpu"], json!([]));
    assert_eq!(b["logs"], json!([]));
    assert_eq!(b["metrics"]["history"], json!([]));
    let excluded: Vec<&str> = b["excluded"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for part in [
        "process list (left out by the employee)",
        "logs (left out by the employee)",
        "metric history (left out by the employee)",
    ] {
        assert!(excluded.contains(&part), "{excluded:?}");
    }
    let err = call(
        &app,
        "preview_diagnostics",
        json!({"leave_out": ["everything"]}),
    )
    .unwrap_err();
    assert!(err.to_string().contains("leave_out"), "{err}");
}

#[test]
fn strings_follow_the_language_setting() {
    let app = app();
    let settings = call(&app, "settings", json!({})).unwrap();
    assert_eq!(settings["language"], "auto");
    assert_eq!(
        settings["autostart"], true,
        "start at login is on by default"
    );
    for (code, subject) in [
        ("ko", "어떤 문제가 있나요?"),
        ("ja", "どんな問題ですか？"),
        ("en", "What is the problem?"),
    ] {
        call(
            &app,
            "set_settings",
            json!({"settings": {"language": code, "notifications": false, "autostart": false}}),
        )
        .unwrap();
        let s = call(&app, "strings", json!({})).unwrap();
        assert_eq!(s["locale"], code);
        assert_eq!(s["texts"]["ui.report.subject"], subject);
        assert!(s["texts"]["window.health.title"].is_string());
    }
    let err = call(
        &app,
        "set_settings",
        json!({"settings": {"language": "fr", "notifications": true, "autostart": true}}),
    )
    .unwrap_err();
    assert!(err.to_string().contains("unknown language"), "{err}");
    let kept = call(&app, "settings", json!({})).unwrap();
    assert_eq!(kept["language"], "en", "a refused change changes nothing");
}

#[test]
fn health_and_device_summary_for_the_health_window() {
    let app = app();
    let health = call(&app, "health", json!({})).unwrap();
    assert!(health["overall"].is_null(), "no check has run yet");
    assert!(!health["checks"].as_array().unwrap().is_empty());
    let points = call(&app, "metrics", json!({})).unwrap();
    assert_eq!(points, json!([]), "nothing measured yet on a fresh state");
    let summary = call(&app, "device_summary", json!({})).unwrap();
    let keys: Vec<&str> = summary["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r[0].as_str().unwrap())
        .collect();
    assert!(
        keys.contains(&"ui.device.os") && keys.contains(&"ui.device.memory"),
        "{keys:?}"
    );
}

#[test]
fn menu_items_do_what_they_say() {
    let app = app();
    let handle = app.webview.app_handle();
    assert!(!deskside_tray::tray::handle_menu(handle, "nonsense"));
    assert!(deskside_tray::tray::handle_menu(handle, "tickets"));
    assert!(
        handle.get_webview_window("tickets").is_some(),
        "My tickets opened a window"
    );
    // Opening it again focuses the same window rather than a second one.
    assert!(deskside_tray::tray::handle_menu(handle, "tickets"));
    assert_eq!(
        handle
            .webview_windows()
            .keys()
            .filter(|k| *k == "tickets")
            .count(),
        1
    );
    // The page reports itself ready once; the open-to-ready time is logged.
    assert!(app.desktop.ready("tickets").is_some());
    assert!(app.desktop.ready("tickets").is_none());
    assert!(deskside_tray::tray::handle_menu(handle, "sync"));
}

#[test]
fn open_names_a_window_on_the_command_line() {
    use deskside_agent::tray::Window;
    let args = |a: &[&str]| a.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    assert_eq!(
        deskside_tray::requested_window(&args(&["deskside", "--open", "report"])),
        Some(Window::Report)
    );
    assert_eq!(deskside_tray::requested_window(&args(&["deskside"])), None);
    assert_eq!(
        deskside_tray::requested_window(&args(&["deskside", "--open"])),
        None
    );
    assert_eq!(
        deskside_tray::requested_window(&args(&["deskside", "--open", "x"])),
        None
    );
}

fn add_file(app: &App, name: &str, bytes: &[u8]) -> Result<Value, Value> {
    use base64::Engine as _;
    // What FileReader.readAsDataURL hands the page.
    let data = format!(
        "data:application/octet-stream;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    );
    call(app, "add_file", json!({"name": name, "data": data}))
}

/// What the app does just before the Report window appears: a grey
/// `width`×`height` screen.
fn take_screenshot(desktop: &Desktop, width: u32, height: u32) {
    desktop.with_draft(|d| {
        d.set_screenshot(deskside_host::screenshot::Capture {
            width,
            height,
            rgb: vec![90; (width * height * 3) as usize],
        })
    });
}

#[test]
fn the_report_carries_the_screenshot_and_files_the_employee_kept() {
    let app = app();
    take_screenshot(&app.desktop, 3, 2);
    let draft = call(&app, "report_draft", json!({})).unwrap();
    assert!(
        draft["screenshot"]
            .as_str()
            .unwrap()
            .starts_with("data:image/png;base64,"),
        "{draft}"
    );
    let preview = call(&app, "preview_diagnostics", json!({})).unwrap();
    assert_eq!(
        preview["bundle"]["screenshot"], "screenshot.png",
        "the bundle names it"
    );

    // Files come as name and content; pages never see paths.
    let log = add_file(&app, "오류.log", b"error 42\n").unwrap();
    assert_eq!(log["name"], "오류.log");
    assert_eq!(log["size"], 9);
    let photo = add_file(&app, "photo.jpg", &[7; 100]).unwrap();
    assert_eq!(
        call(&app, "remove_file", json!({"id": photo["id"]})).unwrap(),
        true
    );
    let err = call(&app, "add_file", json!({"name": "x.txt", "data": "%%%"})).unwrap_err();
    assert!(err.to_string().contains("x.txt could not be read"), "{err}");
    let big = vec![0u8; deskside_agent::agent::MAX_ATTACHMENT_BYTES + 1];
    let err = add_file(&app, "disk.img", &big).unwrap_err();
    assert!(
        err.to_string().contains("disk.img is larger than 10 MB"),
        "{err}"
    );

    let form = json!({"form": {
        "subject": "Excel crashes on start",
        "category": "software",
        "urgency": "medium",
        "include_diagnostics": false
    }});
    call(&app, "submit_ticket", form).unwrap();
    // What the outbox will send: the screenshot and the file that was kept.
    let store = deskside_agent::store::AgentStore::open(app._dir.path()).unwrap();
    let items = store.pending().unwrap();
    assert_eq!(items.len(), 1);
    let mut sent: Vec<(String, usize)> = store
        .files(items[0].id)
        .unwrap()
        .into_iter()
        .map(|f| (f.name, f.bytes.len()))
        .collect();
    sent.sort();
    assert_eq!(sent[0], ("screenshot.png".to_owned(), sent[0].1));
    assert_eq!(sent[1], ("오류.log".to_owned(), 9));
    assert_eq!(sent.len(), 2, "{sent:?}");
    let after = call(&app, "report_draft", json!({})).unwrap();
    assert_eq!(
        after,
        json!({"screenshot": null, "files": []}),
        "filing empties the draft"
    );

    // A removed screenshot stays out.
    take_screenshot(&app.desktop, 1, 1);
    call(&app, "remove_screenshot", json!({})).unwrap();
    assert_eq!(
        call(&app, "report_draft", json!({})).unwrap()["screenshot"],
        Value::Null
    );

    // Left out of one report: the screenshot and the files stay home, and
    // the bundle tells the technician.
    take_screenshot(&app.desktop, 2, 2);
    add_file(&app, "secret.txt", b"private\n").unwrap();
    let form = json!({"form": {
        "subject": "Teams freezes",
        "category": "software",
        "urgency": "low",
        "leave_out": ["screenshot", "files", "processes"]
    }});
    call(&app, "submit_ticket", form).unwrap();
    let items = store.pending().unwrap();
    assert_eq!(items.len(), 2);
    let files = store.files(items[1].id).unwrap();
    let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["diagnostics.json.gz"], "only the bundle goes");
    let bundle = deskside_agent::diagnostics::decompress(&files[0].bytes).unwrap();
    assert_eq!(bundle["screenshot"], Value::Null);
    assert_eq!(bundle["processes"]["by_cpu"], json!([]));
    let excluded = bundle["excluded"].to_string();
    for part in ["screenshot (left", "files (left", "process list (left"] {
        assert!(excluded.contains(part), "{excluded}");
    }
}

#[test]
fn open_targets_a_ticket_from_a_notification() {
    let args = |a: &[&str]| a.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    assert_eq!(
        deskside_tray::requested_target(&args(&["deskside", "--open", "tickets/t-9"])),
        Some("tickets/t-9")
    );
    let app = app();
    let handle = app.webview.app_handle();
    assert!(app.desktop.open_target("tickets/t-9"));
    let w = handle.get_webview_window("tickets").expect("opened");
    assert!(
        w.url().unwrap().as_str().contains("item=t-9"),
        "{}",
        w.url().unwrap()
    );
    assert!(!app.desktop.open_target("nowhere"));
}
