//! The tray app end to end: `tauri-driver` with WebKitGTK's WebDriver drives
//! the real app under Xvfb, with a private D-Bus session whose
//! notification service and tray host are fakes that record, against a
//! real desk.
//!
//! WebDriver launches `deskside-windows` (the windows), which starts the
//! tray process `deskside` (the agent and the tray icon) as none runs.
//! The app enrolls itself from its environment (as after an MDM
//! deployment). The test files a report with a diagnostics preview, and
//! the desk gets it with its bundle. A technician's reply then reaches My
//! tickets with exactly one notification, whose click opens the ticket.
//! The tray icon's menu, driven over D-Bus as a panel does, opens About,
//! and a click on the icon opens Device health.
//! Articles published at the desk reach the app with its check-in: one
//! is suggested while the subject is typed, opened, and "Still need help"
//! goes back to the report (the ticket records it was shown); later
//! "This solved it" ends a report without a ticket, and the desk counts it.
//! Finally the language switches to Korean and Japanese, the tray menu's
//! too. Screenshots of each step go to `target/tray-e2e-screenshots/`.

#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use deskside_e2e::webdriver::Session;
use deskside_e2e::{Desk, free_port, have, http};

/// The windows binary of this build (and the tray binary beside it),
/// built when missing.
fn app_bin() -> std::path::PathBuf {
    let agent = deskside_e2e::agent_bin();
    let windows = agent.with_file_name("deskside-windows");
    if !windows.exists() || !agent.with_file_name("deskside").exists() {
        let ok = Command::new(env!("CARGO"))
            .args(["build", "-q", "-p", "deskside", "--bins"])
            .status()
            .unwrap()
            .success();
        assert!(ok, "building the tray app failed");
    }
    windows
}

/// A window that was not among `before`, waiting for it up to 20 s.
async fn new_window(s: &Session, before: &[String]) -> Option<String> {
    for _ in 0..100 {
        let now = s.windows().await;
        if let Some(h) = now.iter().find(|h| !before.contains(h)) {
            return Some(h.clone());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    None
}

struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        // xvfb-run's children go with their process group.
        let _ = Command::new("kill")
            .args(["-TERM", "--", &format!("-{}", self.0.id())])
            .status();
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_reply_and_languages_through_the_real_app() {
    if !["tauri-driver", "WebKitWebDriver", "xvfb-run", "dbus-daemon"]
        .iter()
        .all(|t| have(t))
    {
        // The test script installs all four; only a developer machine may lack them.
        assert!(
            std::env::var_os("CI").is_none(),
            "tauri-driver, WebKitWebDriver, xvfb-run or dbus-daemon is missing"
        );
        return;
    }
    let app = app_bin();
    let desk = Desk::up().await;
    let secret = desk.secret().await;
    let tech = desk.technician("tech@example.com").await;
    let r = http()
        .post(format!("{}/api/v1/kb/articles", desk.url()))
        .bearer_auth(&tech)
        .json(&serde_json::json!({
            "state": "published",
            "texts": [{"lang": "en", "title": "Wi-Fi drops or disconnects",
                "body": "Turn Wi-Fi **off and on**.\n\n1. Forget the network\n2. Join it again\n\n<script>alert(1)</script>"}],
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let article: serde_json::Value = r.json().await.unwrap();
    let article_id = article["id"].as_i64().unwrap();
    let bus = deskside_e2e::fake_notifications::private_bus().unwrap();
    let service = deskside_e2e::fake_notifications::service(&bus.address, false);
    let shown = std::sync::Arc::clone(&service.calls);
    let tray_host = deskside_e2e::fake_tray::host(&bus.address);
    let home = tempfile::tempdir().unwrap();
    let shots = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("tray-e2e-screenshots");
    std::fs::create_dir_all(&shots).unwrap();

    let (port, native) = (free_port(), free_port());
    let driver = Driver(
        Command::new("setsid")
            .args([
                "xvfb-run",
                "-a",
                "-s",
                "-screen 0 1280x900x24",
                "tauri-driver",
            ])
            .args([
                "--port",
                &port.to_string(),
                "--native-port",
                &native.to_string(),
            ])
            .env("HOME", home.path())
            .env("DBUS_SESSION_BUS_ADDRESS", &bus.address)
            .env("DESKSIDE_STATE_DIR", home.path().join("state"))
            .env("DESKSIDE_CREDENTIAL_STORE", "file")
            .env("DESKSIDE_SERVER_URL", desk.url())
            .env("DESKSIDE_ENROLL_SECRET", &secret)
            .env("DESKSIDE_DEVICE_KEY", "e2e-tray")
            .env("DESKSIDE_NOTIFICATIONS_ENABLED", "true")
            .env("LANG", "en_US.UTF-8")
            .env_remove("DESKSIDE_CONFIG")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let driver_url = format!("http://127.0.0.1:{port}");
    let mut session = None;
    for _ in 0..100 {
        if let Ok(s) =
            Session::start(&driver_url, app.to_str().unwrap(), &["--open", "report"]).await
        {
            session = Some(s);
            break;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let s = session.expect("a WebDriver session with the app");

    // Report a problem: validation first, then a complete form. The
    // screenshot's thumbnail arrives after the form and moves the button:
    // a click aimed before it lands would hit whatever moved there.
    s.find("#screenshot-image").await;
    let submit = s.find("#submit").await;
    s.click(&submit).await;
    let err = s.wait_text("#subject-error", |t| !t.is_empty()).await;
    assert_eq!(err, "Please describe the problem in a few words.");
    s.type_into(&s.find("#subject").await, "Wi-Fi drops every few minutes")
        .await;
    // An article kept on the computer is suggested as the subject is
    // typed; it opens over the form, and "Still need help" goes back.
    let offered = s
        .wait_text("#suggestions", |t| t.contains("Wi-Fi drops or disconnects"))
        .await;
    assert!(
        offered.starts_with("These articles may solve it"),
        "{offered}"
    );
    s.click(&s.find("#suggestions button.suggestion").await)
        .await;
    let body = s
        .wait_text("#article", |t| t.contains("Forget the network"))
        .await;
    assert!(!body.contains("alert"), "{body}");
    std::fs::write(shots.join("report-article-en.png"), s.screenshot().await).unwrap();
    s.click(&s.find("#still-need-help").await).await;
    let kept = s
        .script(
            "return [document.getElementById('report').hidden, document.getElementById('subject').value, !!document.getElementById('article')];",
            serde_json::json!([]),
        )
        .await;
    assert_eq!(
        kept,
        serde_json::json!([false, "Wi-Fi drops every few minutes", false])
    );
    s.type_into(
        &s.find("#description").await,
        "Since this morning, in room 3.",
    )
    .await;
    s.script(
        "const c = document.getElementById('category'); c.value = 'network'; \
         c.dispatchEvent(new Event('change'));",
        serde_json::json!([]),
    )
    .await;
    s.click(&s.find("input[name=urgency][value=high]").await)
        .await;
    // The screen as it was before the window appeared (Xvfb's), shown for
    // the employee to keep or remove.
    s.find("#screenshot-image").await;
    // A file, as the file picker hands it to the page.
    s.script(
        "const t = new DataTransfer(); \
         t.items.add(new File(['signal lost at 09:12\\n'], 'wifi.log', {type: 'text/plain'})); \
         const i = document.getElementById('files'); i.files = t.files; \
         i.dispatchEvent(new Event('change'));",
        serde_json::json!([]),
    )
    .await;
    let listed = s.wait_text("#file-list", |t| t.contains("wifi.log")).await;
    assert!(listed.contains("21B"), "{listed}");
    s.click(&s.find("#preview-button").await).await;
    let first_section = s
        .wait_text("#preview details summary", |t| !t.is_empty())
        .await;
    assert_eq!(first_section, "This computer");
    let sections = s.wait_text("#preview", |t| t.contains("Your files")).await;
    assert!(sections.contains("Screenshot"), "{sections}");
    // Read as a person would: a sentence about this computer, the exact
    // data one click away; the process list left out of this report.
    let computer = s
        .wait_text("#preview-device ul.readable", |t| !t.is_empty())
        .await;
    assert!(computer.contains(", running "), "{computer}");
    assert!(!computer.contains('{'), "{computer}");
    s.script(
        "document.getElementById('preview-processes').open = true;",
        serde_json::json!([]),
    )
    .await;
    s.click(&s.find("#leave-out-processes").await).await;
    let left = s
        .wait_text("#preview-processes", |t| {
            t.contains("Left out of this report")
        })
        .await;
    assert!(!left.contains("processor"), "{left}");
    std::fs::write(shots.join("report-files-en.png"), s.screenshot().await).unwrap();
    s.script(
        "const p = document.getElementById('preview'); \
         p.querySelector('details').open = true; p.scrollIntoView();",
        serde_json::json!([]),
    )
    .await;
    std::fs::write(shots.join("report-preview-en.png"), s.screenshot().await).unwrap();
    s.click(&s.find("#submit").await).await;
    let done = s.wait_text("#submitted", |t| t.contains('#')).await;
    assert!(done.starts_with("Sent. Your ticket number is #"), "{done}");

    // The desk has it, with its diagnostics bundle.
    let number: i64 = done
        .rsplit('#')
        .next()
        .unwrap()
        .trim_end_matches('.')
        .parse()
        .unwrap();
    let detail = desk.ticket(&tech, number).await;
    assert_eq!(detail["ticket"]["subject"], "Wi-Fi drops every few minutes");
    assert_eq!(detail["ticket"]["urgency"], "high");
    let attachments = detail["ticket"]["attachments"].as_array().unwrap();
    assert!(
        attachments.iter().any(|a| a["diagnostics"] == true),
        "{detail}"
    );
    let mut names: Vec<&str> = attachments
        .iter()
        .filter(|a| a["diagnostics"] != true)
        .filter_map(|a| a["name"].as_str())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["screenshot.png", "wifi.log"], "{detail}");
    let diagnostics: serde_json::Value = http()
        .get(format!(
            "{}/api/v1/tickets/{number}/diagnostics",
            desk.url()
        ))
        .bearer_auth(&tech)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        diagnostics
            .to_string()
            .contains("process list (left out by the employee)"),
        "the technician sees what was left out: {diagnostics}"
    );
    // The technician sees which article the employee was shown.
    let offered: serde_json::Value = http()
        .get(format!("{}/api/v1/tickets/{number}/report", desk.url()))
        .bearer_auth(&tech)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(offered["articles"][0]["id"], article_id, "{offered}");

    // A technician answers; it reaches My tickets and one notification.
    let r = http()
        .post(format!("{}/api/v1/tickets/{number}/comments", desk.url()))
        .bearer_auth(&tech)
        .json(&serde_json::json!({"body": "We are replacing the access point today."}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    s.goto("tauri://localhost/index.html?view=tickets").await;
    s.wait_text("#ticket-list", |t| t.contains("1 new")).await;
    // The list is redrawn when a check-in brings news; a click that lands
    // on a row being replaced is lost, so click again until it opens.
    for _ in 0..10 {
        s.click(&s.find("#ticket-list button").await).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let opened = s
            .script(
                "return !!document.querySelector('#conversation');",
                serde_json::json!([]),
            )
            .await;
        if opened == serde_json::json!(true) {
            break;
        }
    }
    s.wait_text("#conversation", |t| {
        t.contains("We are replacing the access point today.")
    })
    .await;
    std::fs::write(shots.join("ticket-en.png"), s.screenshot().await).unwrap();
    tokio::time::sleep(Duration::from_secs(4)).await;
    let about = |calls: &[deskside_e2e::fake_notifications::Call]| {
        calls
            .iter()
            .filter(|c| c.summary == format!("New reply on ticket #{number}"))
            .count()
    };
    assert_eq!(
        about(&shown.lock().unwrap()),
        1,
        "{:?}",
        shown.lock().unwrap()
    );

    // Clicking the notification opens the ticket in a window of its own.
    let note = shown
        .lock()
        .unwrap()
        .iter()
        .find(|c| c.summary == format!("New reply on ticket #{number}"))
        .cloned()
        .unwrap();
    assert_eq!(
        note.actions,
        [("default".to_owned(), "Open the ticket".to_owned())]
    );
    let before = s.windows().await;
    service.click(note.id, "default");
    let opened = new_window(&s, &before)
        .await
        .expect("a window for the clicked notification");
    let main_window = before[0].clone();
    s.switch_to(&opened).await;
    s.wait_text("#conversation", |t| {
        t.contains("We are replacing the access point today.")
    })
    .await;
    s.switch_to(&main_window).await;

    // The tray icon, as the desktop's panel sees it: registered, with its
    // tooltip, and a menu whose About entry opens About.
    let item = tray_host
        .wait_item(Duration::from_secs(10))
        .expect("the tray icon registered with the tray host");
    let (title, tip) = tray_host.tooltip(&item).await;
    assert_eq!(title, "Deskside");
    assert!(tip.starts_with("Deskside: "), "{tip}");
    let menu = tray_host.menu(&item).await;
    let labels: Vec<&str> = menu.iter().map(|(_, l)| l.as_str()).collect();
    assert_eq!(labels[0], "Report a problem…", "{labels:?}");
    assert!(labels[1].starts_with("My tickets"), "{labels:?}");
    assert_eq!(
        labels[2..],
        [
            "Device health",
            "Sync now",
            "Settings",
            "About Deskside",
            "Quit"
        ]
    );
    let before = s.windows().await;
    let about = menu.iter().find(|(_, l)| l == "About Deskside").unwrap().0;
    tray_host.click(&item, about).await;
    let opened = new_window(&s, &before)
        .await
        .expect("About opened from the tray menu");
    s.switch_to(&opened).await;
    s.wait_text("h1", |t| t == "About Deskside").await;
    let facts = s
        .wait_text("main", |t| t.contains(env!("CARGO_PKG_VERSION")))
        .await;
    assert!(facts.contains(&desk.url()), "{facts}");
    // A left click on the icon: the compact status, Device health.
    let before = s.windows().await;
    tray_host.activate(&item).await;
    let opened = new_window(&s, &before)
        .await
        .expect("Device health opened by a click on the icon");
    s.switch_to(&opened).await;
    s.wait_text("h1", |t| t == "Device health").await;
    s.switch_to(&main_window).await;

    // "This solved it": the report ends without a ticket, and the desk
    // counts the article.
    s.goto("tauri://localhost/index.html?view=report").await;
    s.type_into(&s.find("#subject").await, "wifi drops").await;
    s.wait_text("#suggestions", |t| t.contains("Wi-Fi drops or disconnects"))
        .await;
    s.click(&s.find("#suggestions button.suggestion").await)
        .await;
    s.click(&s.find("#solved").await).await;
    let done = s.wait_text("#deflected", |t| !t.is_empty()).await;
    assert_eq!(done, "Glad it is solved. Nothing was sent to IT.");
    let mut figures = serde_json::Value::Null;
    for _ in 0..60 {
        figures = http()
            .get(format!("{}/api/v1/reports/deflection", desk.url()))
            .bearer_auth(&tech)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if figures["solved"] == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert_eq!(figures["solved"], 1, "{figures}");
    assert_eq!(figures["ticketed"], 1, "{figures}");
    assert_eq!(figures["useful"][0]["id"], article_id, "{figures}");
    assert_eq!(desk.subjects().await, ["Wi-Fi drops every few minutes"]);

    // Korean, then Japanese, switched at run time in Settings.
    for (code, title) in [("ko", "설정"), ("ja", "設定")] {
        s.goto("tauri://localhost/index.html?view=settings").await;
        s.find("#language").await;
        s.script(
            "const l = document.getElementById('language'); l.value = arguments[0]; \
             l.dispatchEvent(new Event('change'));",
            serde_json::json!([code]),
        )
        .await;
        s.wait_text("h1", |t| t == title).await;
        std::fs::write(
            shots.join(format!("settings-{code}.png")),
            s.screenshot().await,
        )
        .unwrap();
        s.goto("tauri://localhost/index.html?view=report").await;
        let subject_label = s.wait_text("label[for=subject]", |t| !t.is_empty()).await;
        let want = if code == "ko" {
            "어떤 문제가 있나요?"
        } else {
            "どんな問題ですか？"
        };
        assert_eq!(subject_label, want);
    }
    // The tray's menu follows the language.
    let mut labels = Vec::new();
    for _ in 0..50 {
        labels = tray_host.menu(&item).await;
        if labels.iter().any(|(_, l)| l == "Deskside について") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        labels.iter().any(|(_, l)| l == "Deskside について"),
        "{labels:?}"
    );
    s.end().await;
    drop(driver);
}
