//! The Linux tray process, the real `deskside` binary without a display:
//! one per state directory (a second launch hands its `--open` target to
//! the first and exits), the windows process started on demand (here a
//! script that records how it was started), start at login written as an
//! XDG autostart entry, and a clean stop on SIGTERM.

#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use deskside_e2e::{have, sigterm};

fn tray_bin() -> std::path::PathBuf {
    let bin = deskside_e2e::agent_bin().with_file_name("deskside");
    if !bin.exists() {
        let ok = Command::new(env!("CARGO"))
            .args(["build", "-q", "-p", "deskside", "--bin", "deskside"])
            .status()
            .unwrap()
            .success();
        assert!(ok, "building the tray app failed");
    }
    bin
}

fn wait_for(what: &str, within: Duration, ok: impl Fn() -> bool) {
    let deadline = Instant::now() + within;
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn one_tray_process_starts_windows_on_demand_and_stops_cleanly() {
    if !have("dbus-daemon") {
        assert!(std::env::var_os("CI").is_none(), "dbus-daemon is missing");
        return;
    }
    let bus = deskside_e2e::fake_notifications::private_bus().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let home = dir.path().join("home");
    let started = dir.path().join("windows-started");
    // Stands in for deskside-windows: records that it was started.
    let fake_windows = dir.path().join("fake-windows");
    std::fs::write(
        &fake_windows,
        format!("#!/bin/sh\necho started >> '{}'\n", started.display()),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&fake_windows, std::fs::Permissions::from_mode(0o755)).unwrap();
    let app = |args: &[&str]| {
        let mut c = Command::new(tray_bin());
        c.args(args)
            .env("HOME", &home)
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("DISPLAY")
            .env_remove("WAYLAND_DISPLAY")
            .env("DBUS_SESSION_BUS_ADDRESS", &bus.address)
            .env("DESKSIDE_STATE_DIR", &state)
            .env("DESKSIDE_CREDENTIAL_STORE", "file")
            .env("DESKSIDE_NOTIFICATIONS_ENABLED", "false")
            .env("DESKSIDE_PRIVACY_SCREENSHOTS", "false")
            .env("DESKSIDE_WINDOWS_BIN", &fake_windows)
            .env_remove("DESKSIDE_CONFIG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        c
    };
    // A target that is no window: told, and nothing starts.
    let typo = app(&["--open", "tikets"])
        .env("LANG", "C.UTF-8")
        .output()
        .unwrap();
    assert_eq!(typo.status.code(), Some(2));
    let said = String::from_utf8_lossy(&typo.stderr);
    assert!(
        said.contains("\"--open tikets\": there is no such window"),
        "{said}"
    );
    assert!(!state.join("desktop.sock").exists());

    let mut first = app(&[]).spawn().unwrap();
    let socket = state.join("desktop.sock");
    wait_for("the tray process's socket", Duration::from_secs(20), || {
        socket.exists()
    });
    // Start at login is on by default.
    let entry = home.join(".config/autostart/Deskside.desktop");
    let text = std::fs::read_to_string(&entry).unwrap();
    assert!(
        text.contains(&format!("\nExec={}\n", tray_bin().display())),
        "{text}"
    );
    assert!(!started.exists(), "no window asked for, no windows process");

    // A second launch hands over and exits at once.
    let second = app(&["--open", "tickets"]).output().unwrap();
    assert!(
        second.status.success(),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    wait_for("the windows process", Duration::from_secs(10), || {
        started.exists()
    });
    assert!(first.try_wait().unwrap().is_none(), "the first one runs on");

    // SIGTERM: the agent stops, the socket goes.
    assert!(sigterm(first.id()));
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(s) = first.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "the tray process did not stop");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "{status:?}");
    assert!(!socket.exists());
    // Nobody listens now: a launch that finds no running app becomes it,
    // so "hand over" is only tried while the lock is held.
    let mut again = app(&["--open", "health"]).spawn().unwrap();
    wait_for(
        "the new tray process's window",
        Duration::from_secs(20),
        || std::fs::read_to_string(&started).is_ok_and(|s| s.lines().count() == 2),
    );
    assert!(socket.exists());
    assert!(sigterm(again.id()));
    assert!(again.wait().unwrap().success());
}
