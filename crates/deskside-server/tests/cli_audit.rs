//! What an administrator does with `deskside-server` on the command line is
//! in the audit log like what they do in the console: creating users, API
//! tokens and enroll secrets, as revoking them, without the secrets.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;

fn server(data: &Path, args: &[&str], stdin: Option<&str>) -> String {
    let mut c = Command::new(env!("CARGO_BIN_EXE_deskside-server"));
    c.arg("--data-dir")
        .arg(data)
        .args(args)
        .env_remove("DESKSIDE_CONFIG")
        .env_remove("DESKSIDE_DATABASE_URL")
        .env("DESKSIDE_LOG", "warn")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = c.spawn().unwrap();
    if let Some(input) = stdin {
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn command_line_changes_are_audited_without_secrets() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    server(
        &data,
        &[
            "user",
            "create",
            "--email",
            "ops@example.com",
            "--role",
            "admin",
            "--password-stdin",
        ],
        Some("a long enough password\n"),
    );
    let token = server(
        &data,
        &["token", "create", "--email", "ops@example.com"],
        None,
    );
    let secret = server(
        &data,
        &["enroll-secret", "create", "--label", "laptops"],
        None,
    );
    let log = server(&data, &["audit"], None);
    for action in ["user.create", "token.create", "enroll_secret.create"] {
        let line = log
            .lines()
            .find(|l| l.contains(action))
            .unwrap_or_else(|| panic!("{action} missing from:\n{log}"));
        assert!(line.contains("(command line)"), "{line}");
    }
    for secret in [token.trim(), secret.trim(), "a long enough password"] {
        assert!(!secret.is_empty() && !log.contains(secret), "{log}");
    }
}
