//! Desktop notifications end to end: `deskside-agent check --notify` talks
//! to a fake `org.freedesktop.Notifications` service on a private D-Bus
//! session bus that the test starts.

#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use deskside_testkit::fake_notifications::{Call, private_bus, serve};

/// A plugin whose exit code is whatever `mode` holds.
fn setup(dir: &Path) -> (PathBuf, PathBuf) {
    let mode = dir.join("mode");
    std::fs::write(&mode, "2").unwrap();
    let plugin = dir.join("vpn.sh");
    std::fs::write(
        &plugin,
        format!(
            "#!/bin/sh\nm=$(cat {})\necho \"VPN state $m\"\nexit $m\n",
            mode.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&plugin, std::fs::Permissions::from_mode(0o755)).unwrap();
    let policy = dir.join("policy.toml");
    std::fs::write(
        &policy,
        format!(
            "[[checks]]\nid = \"vpn\"\nkind = \"command\"\nargv = [\"{}\"]\nnotify_user = true\n\
             title = {{ en = \"VPN connection\", ko = \"VPN 연결\", ja = \"VPN接続\" }}\n\
             remediation.en = \"Reconnect the VPN from the tray.\"\n\
             remediation.ko = \"트레이에서 VPN에 다시 연결하세요.\"\n\
             remediation.ja = \"トレイからVPNに再接続してください。\"\n\
             [[checks]]\nid = \"quiet\"\nkind = \"command\"\nargv = [\"{}\"]\n",
            plugin.display(),
            plugin.display()
        ),
    )
    .unwrap();
    (mode, policy)
}

fn agent(
    bus: &str,
    locale: &str,
    state: &Path,
    policy: &Path,
    extra_env: &[(&str, &str)],
) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_deskside-agent"));
    cmd.args([
        "--state-dir",
        state.to_str().unwrap(),
        "check",
        "--notify",
        "--policy",
        policy.to_str().unwrap(),
    ])
    .env("DBUS_SESSION_BUS_ADDRESS", bus)
    .env("DESKSIDE_NOTIFICATIONS_LOCALE", locale)
    .env_remove("DESKSIDE_CONFIG");
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn notification_lines(o: &Output) -> Vec<String> {
    String::from_utf8_lossy(&o.stderr)
        .lines()
        .filter(|l| l.contains("notification"))
        .map(str::to_owned)
        .collect()
}

#[test]
fn transitions_reach_the_notification_service_in_the_users_language() {
    let Some(bus) = private_bus() else { return };
    let calls = serve(&bus.address, false);
    let dir = tempfile::tempdir().unwrap();
    let (mode, policy) = setup(dir.path());
    let state = dir.path().join("state");

    let o = agent(&bus.address, "ko", &state, &policy, &[]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(
        *calls.lock().unwrap(),
        [Call {
            app_name: "Deskside".into(),
            summary: "문제: VPN 연결".into(),
            body: "트레이에서 VPN에 다시 연결하세요.".into(),
            // The headless agent has no window to open on a click.
            actions: vec![],
            id: 1,
        }],
        "exactly one call, for the check that asks to notify"
    );
    // Still failing: no news, no notification.
    agent(&bus.address, "ko", &state, &policy, &[]);
    assert_eq!(calls.lock().unwrap().len(), 1);
    // Recovery.
    std::fs::write(&mode, "0").unwrap();
    agent(&bus.address, "ko", &state, &policy, &[]);
    assert_eq!(calls.lock().unwrap().len(), 2);
    assert_eq!(calls.lock().unwrap()[1].summary, "해결됨: VPN 연결");
    // Failing again within four hours: rate-limited.
    std::fs::write(&mode, "2").unwrap();
    agent(&bus.address, "ko", &state, &policy, &[]);
    assert_eq!(calls.lock().unwrap().len(), 2);

    // Japanese, from a fresh state, on a warning.
    std::fs::write(&mode, "1").unwrap();
    agent(
        &bus.address,
        "ja",
        &dir.path().join("state-ja"),
        &policy,
        &[],
    );
    let last = calls.lock().unwrap().last().cloned().unwrap();
    assert_eq!(last.summary, "警告: VPN接続");
    assert_eq!(last.body, "トレイからVPNに再接続してください。");
}

#[test]
fn a_service_that_never_answers_does_not_stall_the_agent() {
    let Some(bus) = private_bus() else { return };
    let calls = serve(&bus.address, true);
    let dir = tempfile::tempdir().unwrap();
    let (_, policy) = setup(dir.path());
    let started = Instant::now();
    let o = agent(
        &bus.address,
        "en",
        &dir.path().join("s"),
        &policy,
        &[("DESKSIDE_NOTIFICATIONS_TIMEOUT", "1s")],
    );
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(o.status.code(), Some(2));
    let lines = notification_lines(&o);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("did not answer within 1s"), "{lines:?}");
    assert_eq!(
        calls.lock().unwrap().len(),
        1,
        "the call reached the service"
    );
}

#[test]
fn no_bus_at_all_is_one_log_line() {
    let dir = tempfile::tempdir().unwrap();
    let (_, policy) = setup(dir.path());
    // Two failing checks that notify: still only one line.
    let text = std::fs::read_to_string(&policy)
        .unwrap()
        .replace("id = \"quiet\"", "id = \"quiet\"\nnotify_user = true");
    std::fs::write(&policy, text).unwrap();
    let o = agent(
        "unix:path=/nonexistent/deskside-bus",
        "en",
        &dir.path().join("s"),
        &policy,
        &[],
    );
    assert_eq!(o.status.code(), Some(2));
    let lines = notification_lines(&o);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].contains("no desktop notification service"),
        "{lines:?}"
    );
}
