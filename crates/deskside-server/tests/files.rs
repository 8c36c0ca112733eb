//! What the desk writes to disk is its user's only: the data directory
//! 0700, the database and attachments 0600, also when an older version left
//! them readable by everyone.

#![cfg(unix)]
#![allow(clippy::unwrap_used)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

fn server(data: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_deskside-server"));
    c.arg("--data-dir")
        .arg(data)
        .env_remove("DESKSIDE_CONFIG")
        .env_remove("DESKSIDE_DATABASE_URL")
        .env("DESKSIDE_LOG", "warn");
    c
}

#[tokio::test]
async fn the_data_directory_database_and_blobs_are_private() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let out = server(&data)
        .args(["enroll-secret", "create"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&data.join("desk.db")), 0o600);

    // Made world-readable by hand (or an older version): tightened again.
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(data.join("desk.db"), std::fs::Permissions::from_mode(0o644)).unwrap();
    let secret = String::from_utf8(
        server(&data)
            .args(["enroll-secret", "create"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap()
    .trim()
    .to_owned();
    assert_eq!((mode(&data), mode(&data.join("desk.db"))), (0o700, 0o600));

    // An attachment, through a running desk.
    let mut child = server(&data)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .to_owned();
    let key = common::DeviceKey::new();
    let mut body = serde_json::json!({"enroll_secret": secret, "device": {"device_key": "files"}});
    body.as_object_mut()
        .unwrap()
        .extend(key.proof(&base).await.as_object().unwrap().clone());
    let r = common::http()
        .post(format!("{base}/api/v1/enroll"))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let enrolled: serde_json::Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
    let form = reqwest::multipart::Form::new()
        .part(
            "ticket",
            reqwest::multipart::Part::bytes(br#"{"subject": "Private"}"#.to_vec())
                .mime_str("application/json")
                .unwrap(),
        )
        .part(
            "attachment",
            reqwest::multipart::Part::bytes(b"secret notes".to_vec()).file_name("notes.txt"),
        );
    let r = common::http()
        .post(format!("{base}/api/v1/agent/tickets"))
        .bearer_auth(enrolled["device_token"].as_str().unwrap())
        .header("idempotency-key", "files-1")
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let _ = child.kill();
    let _ = child.wait();
    let blobs = data.join("blobs");
    assert_eq!(mode(&blobs), 0o700);
    let files: Vec<_> = std::fs::read_dir(&blobs)
        .unwrap()
        .flatten()
        .filter(|e| e.path().is_file())
        .collect();
    assert!(!files.is_empty());
    for f in files {
        assert_eq!(mode(&f.path()), 0o600, "{}", f.path().display());
    }
    for wal in ["desk.db-wal", "desk.db-shm"] {
        if data.join(wal).exists() {
            assert_eq!(mode(&data.join(wal)), 0o600, "{wal}");
        }
    }
}
