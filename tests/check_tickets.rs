//! A failing health check opens its ticket by itself, end to end: the
//! real `deskside-agent run` with a desk policy whose check has
//! `open_ticket`, against the real desk. One ticket for the failing
//! episode (also across an agent restart), carrying the check so the desk
//! knows it; once the check is fixed on the device and has stayed ok for
//! `resolve_after`, the desk resolves the ticket, verified by the device,
//! and the agent hears of it. A relapse reopens it; after a technician's
//! resolution the employee's rating waits until the fix held. The
//! policy's shortest delays (one minute each) make this test take about
//! three minutes.

#![allow(clippy::unwrap_used)]

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use deskside_e2e::{AgentProc, Daemon, Desk, sigterm};
use deskside_server::store::{CheckTicketStore, Role, Store};

/// Polls `f` every second for up to `secs` seconds; on failure, shows
/// the agent's log.
async fn within(secs: u64, what: &str, log: &std::path::Path, mut f: impl AsyncFnMut() -> bool) {
    for _ in 0..secs {
        if f().await {
            return;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let log = std::fs::read_to_string(log).unwrap_or_default();
    panic!("not within {secs} s: {what}\nagent log:\n{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_check_files_one_ticket_and_the_desk_resolves_it_once_fixed() {
    let desk = Desk::up().await;
    let secret = desk.secret().await;
    let admin = desk
        .store
        .create_user("admin@example.com", Role::Admin, None)
        .await
        .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let plugins = tmp.path().join("plugins");
    std::fs::create_dir(&plugins).unwrap();
    // Critical while the marker exists.
    let broken = tmp.path().join("broken");
    std::fs::write(&broken, "").unwrap();
    let plugin = plugins.join("check_spool");
    std::fs::write(
        &plugin,
        format!(
            "#!/bin/sh\nif [ -e {b} ]; then echo 'SPOOL CRITICAL - stuck'; exit 2; fi\necho 'SPOOL OK'\nexit 0\n",
            b = broken.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&plugin, std::fs::Permissions::from_mode(0o755)).unwrap();
    let checks = serde_json::json!([{
        "id": "spool", "kind": "command", "argv": [plugin.display().to_string()], "interval": "10s", "fails_before_alert": 1,
        "title": {"en": "Print spooler"},
        "open_ticket": {"after": "1m", "impact": "high", "resolve_after": "1m"},
    }]);
    desk.store
        .put_policy(&checks.to_string(), admin.id, None)
        .await
        .unwrap();
    let config = tmp.path().join("agent.toml");
    std::fs::write(
        &config,
        format!("[checks]\nplugin_dirs = [\"{}\"]\n", plugins.display()),
    )
    .unwrap();
    let cfg = config.display().to_string();
    let agent = AgentProc::new("e2e-check-tickets");
    agent
        .ok(&[
            "--config",
            &cfg,
            "enroll",
            "--server",
            &desk.url(),
            "--secret",
            &secret,
        ])
        .await;
    // The agent's log, shown when a step does not happen.
    let log = tmp.path().join("agent.log");
    let run = || {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .unwrap();
        Daemon(
            agent
                .command(&["--config", &cfg, "run"])
                .env("RUST_LOG", "info")
                .stdout(std::process::Stdio::null())
                .stderr(file)
                .spawn()
                .unwrap(),
        )
    };
    let mut daemon = run();

    // A minute after the check began failing, its ticket.
    let tickets = async || desk.store.device_tickets(1).await.unwrap();
    within(
        150,
        "the failing check filed its ticket",
        &log,
        async || !tickets().await.is_empty(),
    )
    .await;
    let id = tickets().await[0].id;
    let v = desk.store.verification(id).await.unwrap();
    assert_eq!(
        v.check_id.as_deref(),
        Some("spool"),
        "the ticket carries its check"
    );
    assert_eq!(v.resolve_after_secs, Some(60));
    assert_eq!(v.watches, ["spool"]);

    // The agent restarts while the check still fails: no second ticket.
    assert!(sigterm(daemon.id()));
    let _ = daemon.wait();
    daemon = run();
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert_eq!(tickets().await.len(), 1, "one ticket for the episode");

    // Fixed on the device: a minute of ok later, the desk resolves it.
    std::fs::remove_file(&broken).unwrap();
    within(
        150,
        "the desk resolved the verified ticket",
        &log,
        async || tickets().await[0].status == "resolved",
    )
    .await;
    let notes: Vec<String> = desk
        .store
        .comments(id, false)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|c| c.note)
        .collect();
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(notes[0].contains("verified_by_device"), "{notes:?}");
    assert!(
        desk.store
            .verification(id)
            .await
            .unwrap()
            .verified_at
            .is_some()
    );

    // The agent hears of it at its next check-in.
    within(30, "the agent saw the resolution", &log, async || {
        let list = agent
            .ok(&["--config", &cfg, "ticket", "list", "--format", "json"])
            .await;
        let list: serde_json::Value = serde_json::from_str(&list).unwrap();
        list.as_array().unwrap().len() == 1 && list[0]["status"] == "resolved"
    })
    .await;

    // It breaks again within the week: the desk reopens the ticket.
    std::fs::write(&broken, "").unwrap();
    within(60, "the relapse reopened the ticket", &log, async || {
        tickets().await[0].status == "open"
    })
    .await;
    // A technician resolves it: the employee may rate it only once the
    // fix held for a day, which the agent says without asking the desk.
    let tech = desk.technician("tech@example.com").await;
    let patched = deskside_e2e::http()
        .patch(format!("{}/api/v1/tickets/{id}", desk.url()))
        .bearer_auth(&tech)
        .json(&serde_json::json!({"status": "resolved"}))
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), 200);
    let mut local = String::new();
    within(
        30,
        "the agent saw the technician's resolution",
        &log,
        async || {
            let list = agent
                .ok(&["--config", &cfg, "ticket", "list", "--format", "json"])
                .await;
            let list: serde_json::Value = serde_json::from_str(&list).unwrap();
            local = list[0]["local_id"].as_str().unwrap_or_default().to_owned();
            list[0]["status"] == "resolved"
        },
    )
    .await;
    let out = agent
        .run(&["--config", &cfg, "ticket", "rate", &local, "--score", "5"])
        .await;
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("once the fix has held"), "{err}");
    assert!(sigterm(daemon.id()));
    let _ = daemon.wait();
}
