//! Where the device token lives: the Secret Service (gnome-keyring, unlocked
//! non-interactively under a private D-Bus session) when the desktop has
//! one, a 0600 file when it has none — never a mock store that forgets.

#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use deskside_e2e::{AgentProc, Desk, have};

/// A shell step that starts gnome-keyring (its login keyring under the
/// test's HOME, created or unlocked with a fixed password), then runs the
/// agent command line given after it.
const WITH_KEYRING: &str = "printf deskside | gnome-keyring-daemon --unlock --components=secrets \
                            >/dev/null 2>&1 || exit 97; exec \"$@\"";

/// Runs the agent in a fresh D-Bus session with an unlocked keyring.
async fn in_session(agent: &AgentProc, home: &Path, args: &[&str]) -> std::process::Output {
    let mut c = agent.wrapped(
        &["dbus-run-session", "--", "sh", "-c", WITH_KEYRING, "sh"],
        args,
    );
    c.env("HOME", home)
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_RUNTIME_DIR", home.join("run"))
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .env("DESKSIDE_LOG", "info");
    let out = tokio::task::spawn_blocking(move || c.output().unwrap())
        .await
        .unwrap();
    assert_ne!(
        out.status.code(),
        Some(97),
        "gnome-keyring-daemon did not start"
    );
    out
}

fn ok(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_lives_in_the_secret_service_across_sessions() {
    if !(have("dbus-run-session") && have("gnome-keyring-daemon")) {
        // The test script installs both; only a developer machine may lack them.
        assert!(
            std::env::var_os("CI").is_none(),
            "dbus-run-session or gnome-keyring-daemon is missing"
        );
        return;
    }
    let desk = Desk::up().await;
    let secret = desk.secret().await;
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(home.path().join("run")).unwrap();
    std::fs::set_permissions(
        home.path().join("run"),
        std::fs::Permissions::from_mode(0o700),
    )
    .unwrap();
    let agent = AgentProc::new("e2e-keyring").without_env("DESKSIDE_CREDENTIAL_STORE");

    let out = in_session(
        &agent,
        home.path(),
        &["enroll", "--server", &desk.url(), "--secret", &secret],
    )
    .await;
    ok(&out);
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(
        log.contains("device token kept in the OS credential store"),
        "{log}"
    );
    assert!(
        !log.contains("dsk_dev_"),
        "the token is never logged: {log}"
    );
    assert!(
        !agent.state.path().join("device-token").exists(),
        "no file when the keyring works"
    );
    let keyrings = home.path().join("data/keyrings");
    assert!(
        std::fs::read_dir(&keyrings).unwrap().count() > 0,
        "gnome-keyring stored something under {}",
        keyrings.display()
    );

    // A new session (a new login): the token comes back from the keyring
    // on disk, so the ticket goes out authenticated.
    let out = in_session(
        &agent,
        home.path(),
        &[
            "ticket",
            "new",
            "--subject",
            "From the keyring",
            "--no-diagnostics",
        ],
    )
    .await;
    ok(&out);
    let status: serde_json::Value = serde_json::from_str(&ok(&in_session(
        &agent,
        home.path(),
        &["status", "--format", "json"],
    )
    .await))
    .unwrap();
    assert_eq!(status["credential_store"], "OS credential store");
    assert_eq!(status["enrolled"], true);
    assert_eq!(status["outbox_depth"], 0, "{status}");
    assert_eq!(desk.subjects().await, ["From the keyring"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_credential_store_the_token_goes_to_a_private_file() {
    let desk = Desk::up().await;
    let secret = desk.secret().await;
    let agent = AgentProc::new("e2e-no-keyring")
        .without_env("DESKSIDE_CREDENTIAL_STORE")
        // No session bus at all, as on a headless server.
        .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")
        .env("DESKSIDE_LOG", "info");
    let out = agent
        .run(&["enroll", "--server", &desk.url(), "--secret", &secret])
        .await;
    ok(&out);
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.contains("no usable OS credential store"), "{log}");
    let file = agent.state.path().join("device-token");
    let mode = std::fs::metadata(&file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    assert!(
        std::fs::read_to_string(&file)
            .unwrap()
            .starts_with("dsk_dev_")
    );
    let status = agent.status().await;
    assert!(
        status["credential_store"]
            .as_str()
            .unwrap()
            .starts_with("file "),
        "{status}"
    );
}
