//! The device decides what runs on it, never the desk: a policy pushed by
//! the desk with a shell command, a program outside the allowed plugin
//! directories or TLS verification turned off is not run, and the desk
//! learns why at the next check-in. A plugin inside an allowed directory
//! runs.

#![allow(clippy::unwrap_used)]

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use deskside_e2e::{AgentProc, Daemon, Desk, sigterm};
use deskside_server::store::{Role, Store};

fn executable(path: &std::path::Path, script: &str) {
    std::fs::write(path, script).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn desk_checks_run_only_what_the_device_allows() {
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
    let marker = tmp.path().join("pwned");
    // Counts its runs: each run's summary differs, its state does not.
    let counter = tmp.path().join("runs");
    executable(
        &plugins.join("check_fine"),
        &format!(
            "#!/bin/sh\nn=$(cat {c} 2>/dev/null || echo 0)\nn=$((n+1))\necho $n > {c}\n\
             echo \"FINE OK - run $n | t=1s;;;0\"\nexit 0\n",
            c = counter.display()
        ),
    );
    executable(
        &tmp.path().join("evil"),
        &format!("#!/bin/sh\ntouch {}\necho OK\n", marker.display()),
    );
    std::os::unix::fs::symlink(tmp.path().join("evil"), plugins.join("check_link")).unwrap();
    let p = |rel: &str| plugins.join(rel).display().to_string();
    let checks = serde_json::json!([
        {"id": "shell", "kind": "command", "argv": ["/bin/sh", "-c", format!("touch {}", marker.display())]},
        {"id": "dotdot", "kind": "command", "argv": [p("../evil")]},
        {"id": "link", "kind": "command", "argv": [p("check_link")]},
        {"id": "fine", "kind": "command", "argv": [p("check_fine")], "interval": "10s"},
        {"id": "insecure", "kind": "http", "url": "https://127.0.0.1:9/", "verify": false},
    ]);
    desk.store
        .put_policy(&checks.to_string(), admin.id, None)
        .await
        .unwrap();

    // The machine's administrator allows the plugin directory (here with
    // --config, which stands for the system file).
    let config = tmp.path().join("agent.toml");
    std::fs::write(
        &config,
        format!("[checks]\nplugin_dirs = [\"{}\"]\n", plugins.display()),
    )
    .unwrap();
    let cfg = config.display().to_string();
    let agent = AgentProc::new("e2e-rules");
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
    let mut daemon = Daemon(
        agent
            .command(&["--config", &cfg, "run"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );

    // Exactly the desk policy's checks: the built-in policy's results of
    // the first check-in (before the desk's policy arrived) are forgotten
    // once the agent says which checks it runs.
    let policy_ids = ["dotdot", "fine", "insecure", "link", "shell"];
    let mut results = Vec::new();
    let ids = |results: &[(String, String, String)]| -> Vec<String> {
        results.iter().map(|(id, _, _)| id.clone()).collect()
    };
    for _ in 0..150 {
        results = desk.store.check_results(1).await.unwrap();
        if ids(&results) == policy_ids {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        ids(&results),
        policy_ids,
        "every check reached the desk, and only those: {results:?}"
    );
    let result_of = |results: &[(String, String, String)], id: &str| {
        let (_, state, json) = results.iter().find(|(c, _, _)| c == id).unwrap();
        let r: serde_json::Value = serde_json::from_str(json).unwrap();
        (
            state.clone(),
            r["summary"].as_str().unwrap_or_default().to_owned(),
        )
    };
    // The plugin's next run (10 s on) changes only its text: the desk has
    // it at the next check-in (every 2 s here), not when the agent next
    // writes its results to disk (every minute).
    let first = result_of(&results, "fine").1;
    let mut later = first.clone();
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        later = result_of(&desk.store.check_results(1).await.unwrap(), "fine").1;
        if later != first {
            break;
        }
    }
    assert!(sigterm(daemon.id()));
    let _ = daemon.wait();
    assert_ne!(later, first, "a changed result waited for a later check-in");
    let result = |id: &str| result_of(&results, id);
    for (id, rule) in [
        ("shell", "not inside a directory this device allows"),
        ("dotdot", "\"..\""),
        ("link", "not inside a directory this device allows"),
        ("insecure", "allow_insecure_tls"),
    ] {
        let (state, summary) = result(id);
        assert_eq!(state, "unknown", "{id}: {summary}");
        assert!(
            summary.starts_with("not run:") && summary.contains(rule),
            "{id}: {summary}"
        );
    }
    let (state, summary) = result("fine");
    assert_eq!(state, "ok");
    assert!(summary.starts_with("FINE OK - run "), "{summary}");
    assert!(
        !marker.exists(),
        "the desk ran a program the device does not allow"
    );

    // The same policy given locally by the machine's administrator keeps
    // full power.
    let local = tmp.path().join("local.json");
    std::fs::write(
        &local,
        serde_json::json!({"version": 1, "checks": [checks[0].clone()]}).to_string(),
    )
    .unwrap();
    let out = agent
        .run(&["check", "--policy", &local.display().to_string()])
        .await;
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(marker.exists(), "a local policy runs what it says");
}
