//! Agent ↔ desk, end to end: the real `deskside-agent` binary against the
//! real desk server. A ticket reaches the desk exactly once, with its
//! diagnostics, whether the desk is down, dies mid-request, or the agent is
//! killed at any instant.

#![allow(clippy::unwrap_used)]

use deskside_e2e::{AgentProc, Desk, http};
use deskside_server::store::Store;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enrollment_good_bad_revoked_and_again() {
    let desk = Desk::up().await;
    let secret = desk.secret().await;
    let agent = AgentProc::new("e2e-enroll");
    // As an older agent left it: readable by everyone.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(agent.state.path(), std::fs::Permissions::from_mode(0o755))
            .unwrap();
    }

    let out = agent
        .run(&[
            "enroll",
            "--server",
            &desk.url(),
            "--secret",
            "dsk_enr_wrong",
        ])
        .await;
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("enroll secret"), "{err}");

    let out = agent
        .run(&[
            "enroll",
            "--server",
            "desk.example.com",
            "--secret",
            &secret,
        ])
        .await;
    assert!(String::from_utf8_lossy(&out.stderr).contains("not an http:// or https:// URL"));
    let out = agent.run(&["sync"]).await;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not enrolled"));

    let said = agent
        .ok(&["enroll", "--server", &desk.url(), "--secret", &secret])
        .await;
    assert!(said.contains("as device"), "{said}");
    let status = agent.status().await;
    assert_eq!(status["enrolled"], true);
    let device = status["device_id"].as_i64().unwrap();
    // The token file is private.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |name: &str| {
            std::fs::metadata(agent.state.path().join(name))
                .unwrap()
                .permissions()
                .mode()
                & 0o777
        };
        assert_eq!(mode("device-token"), 0o600);
        // The state directory, its database and its log are the agent's
        // user's only.
        assert_eq!(mode(""), 0o700);
        assert_eq!(mode("agent.db"), 0o600);
        assert_eq!(mode("agent.log"), 0o600);
    }

    // The same machine enrolling again proves its key: it keeps its
    // device record. Its key file is private like the token.
    agent
        .ok(&["enroll", "--server", &desk.url(), "--secret", &secret])
        .await;
    assert_eq!(agent.status().await["device_id"].as_i64(), Some(device));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(agent.state.path().join("device-key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let registered = desk.store.device(device).await.unwrap().unwrap();
    assert!(registered.duplicate_of.is_none());

    // A machine with the same device key but not the key pair (re-imaged,
    // or someone holding the fleet's secret): a new device pointing at the
    // old one; the old one is not locked out.
    let reimaged = AgentProc::new("e2e-enroll");
    reimaged
        .ok(&["enroll", "--server", &desk.url(), "--secret", &secret])
        .await;
    let other = reimaged.status().await["device_id"].as_i64().unwrap();
    assert_ne!(other, device, "the enroll secret took over a device");
    assert_eq!(
        desk.store
            .device(other)
            .await
            .unwrap()
            .unwrap()
            .duplicate_of,
        Some(device)
    );
    agent.ok(&["sync"]).await;

    // A revoked device is refused at once: without a configured secret it
    // says it needs enrolling; with one it enrolls again by itself, as the
    // same device (it still holds its key).
    assert!(desk.store.revoke_device(device).await.unwrap());
    let out = agent.run(&["sync"]).await;
    assert!(!out.status.success());
    assert_eq!(agent.status().await["needs_enrollment"], true);
    let mut with_secret = agent.command(&["sync"]);
    with_secret.env("DESKSIDE_ENROLL_SECRET", &secret);
    let out = tokio::task::spawn_blocking(move || with_secret.output().unwrap())
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = agent.status().await;
    assert_eq!(
        (
            s["enrolled"].as_bool(),
            s["needs_enrollment"].as_bool(),
            s["device_id"].as_i64()
        ),
        (Some(true), Some(false), Some(device))
    );

    // A revoked secret stops working at once.
    let list = desk.store.list_enroll_secrets().await.unwrap();
    desk.store.revoke_enroll_secret(list[0].id).await.unwrap();
    let out = AgentProc::new("e2e-other")
        .run(&["enroll", "--server", &desk.url(), "--secret", &secret])
        .await;
    assert!(!out.status.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tickets_filed_offline_arrive_once_with_diagnostics() {
    let mut desk = Desk::up().await;
    let secret = desk.secret().await;
    let agent = AgentProc::new("e2e-offline");
    agent
        .ok(&["enroll", "--server", &desk.url(), "--secret", &secret])
        .await;
    desk.kill().await;

    let attachment = agent.state.path().join("screen.png");
    std::fs::write(&attachment, b"\x89PNG\r\n\x1a\nfake").unwrap();
    let mut ids = Vec::new();
    for i in 0..3 {
        let subject = format!("Offline {i}");
        let mut args = vec!["ticket", "new", "--subject", &subject, "--urgency", "high"];
        let path = attachment.to_str().unwrap().to_owned();
        if i == 0 {
            args.extend(["--attach", &path]);
        }
        if i == 1 {
            args.extend(["--screenshot", &path]);
        }
        if i == 2 {
            // "I need something".
            args.extend(["--type", "service-request"]);
        }
        let out = agent.run(&args).await;
        assert!(out.status.success(), "queued offline is success");
        ids.push(String::from_utf8(out.stdout).unwrap().trim().to_owned());
    }
    // A device that claims 0 bytes and never ends, and a FIFO nobody
    // writes to: refused at once, and nothing is queued.
    let fifo = agent.state.path().join("pipe");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    for bad in ["/dev/zero", fifo.to_str().unwrap()] {
        for flag in ["--attach", "--screenshot"] {
            let out = agent
                .run(&["ticket", "new", "--subject", "Huge", flag, bad])
                .await;
            assert!(!out.status.success(), "{bad} was attached");
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(err.contains("not a regular file"), "{err}");
        }
    }
    let list = agent.ok(&["ticket", "list", "--format", "json"]).await;
    let list: serde_json::Value = serde_json::from_str(&list).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 3);
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .all(|t| t["server_id"].is_null())
    );
    let out = agent.run(&["sync"]).await;
    assert!(!out.status.success(), "sync says the desk is unreachable");
    assert_eq!(agent.status().await["outbox_depth"], 3);

    desk.start().await;
    agent.ok(&["sync"]).await;
    // A second sync delivers nothing twice.
    agent.ok(&["sync"]).await;
    assert_eq!(
        desk.subjects().await,
        ["Offline 0", "Offline 1", "Offline 2"]
    );
    assert_eq!(agent.status().await["outbox_depth"], 0);
    let mut types: Vec<(String, String)> = desk
        .store
        .list_tickets(&deskside_server::store::TicketFilter {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_iter()
        .map(|t| (t.work.row.subject, t.work.row.ticket_type))
        .collect();
    types.sort();
    assert_eq!(
        types,
        [
            ("Offline 0".to_owned(), "incident".to_owned()),
            ("Offline 1".to_owned(), "incident".to_owned()),
            ("Offline 2".to_owned(), "service_request".to_owned()),
        ]
    );

    let tech = desk.technician("tech@example.com").await;
    let shown = agent
        .ok(&["ticket", "show", &ids[0], "--format", "json"])
        .await;
    let shown: serde_json::Value = serde_json::from_str(&shown).unwrap();
    let number = shown["server_id"].as_i64().unwrap();
    let detail = desk.ticket(&tech, number).await;
    let atts = detail["ticket"]["attachments"].as_array().unwrap();
    assert_eq!(atts.len(), 2, "{detail}");
    assert!(
        atts.iter()
            .any(|a| a["diagnostics"] == true && a["name"] == "diagnostics.json.gz")
    );
    assert!(
        atts.iter()
            .any(|a| a["name"] == "screen.png" && a["content_type"] == "image/png")
    );
    assert_eq!(
        detail["ticket"]["priority"], 2,
        "high urgency at medium impact"
    );

    // The bundle as the technician downloads it.
    let diag = atts.iter().find(|a| a["diagnostics"] == true).unwrap();
    let bytes = http()
        .get(format!(
            "{}/api/v1/tickets/{number}/attachments/{}",
            desk.url(),
            diag["id"]
        ))
        .bearer_auth(&tech)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let mut json = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut json).unwrap();
    let bundle: serde_json::Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(bundle["format_version"], 3);
    assert_eq!(bundle["device"]["device"]["device_key"], "e2e-offline");
    let probe = &bundle["network"]["desk"];
    assert_eq!(probe["url"], desk.url());
    assert_eq!(probe["reachable"], false, "filed while the desk was down");
    assert!(bundle["metrics"]["current"]["timestamp"].is_string());
    assert!(
        !bundle["processes"]["by_memory"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let logs = bundle["logs"].as_array().unwrap();
    assert!(
        logs.iter()
            .any(|l| l.as_str().unwrap().contains("enrolled with the desk")),
        "{logs:?}"
    );
    assert!(!String::from_utf8_lossy(&json).contains(&secret));
    assert!(bundle["screenshot"].is_null());

    // The second ticket carries a screenshot, named in its bundle.
    let shown = agent
        .ok(&["ticket", "show", &ids[1], "--format", "json"])
        .await;
    let shown: serde_json::Value = serde_json::from_str(&shown).unwrap();
    let detail = desk
        .ticket(&tech, shown["server_id"].as_i64().unwrap())
        .await;
    assert!(
        detail["ticket"]["attachments"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["name"] == "screenshot.png")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_travel_back_and_refusals_are_dead_letters() {
    let desk = Desk::up().await;
    let secret = desk.secret().await;
    let tech = desk.technician("tech@example.com").await;
    let agent = AgentProc::new("e2e-reply");
    agent
        .ok(&["enroll", "--server", &desk.url(), "--secret", &secret])
        .await;
    let local = agent
        .ok(&[
            "ticket",
            "new",
            "--subject",
            "Laptop fan loud",
            "--no-diagnostics",
        ])
        .await
        .trim()
        .to_owned();
    let t: serde_json::Value = serde_json::from_str(
        &agent
            .ok(&["ticket", "show", &local, "--format", "json"])
            .await,
    )
    .unwrap();
    let number = t["server_id"].as_i64().unwrap();

    let r = http()
        .post(format!("{}/api/v1/tickets/{number}/comments", desk.url()))
        .bearer_auth(&tech)
        // A hostile technician (or a stolen token) tries escape sequences:
        // clear the screen, set the terminal's title.
        .json(&serde_json::json!({"body": "Please clean the vents.\u{1b}[2J\u{1b}]0;pwned\u{7}"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let r = http()
        .post(format!("{}/api/v1/tickets/{number}/comments", desk.url()))
        .bearer_auth(&tech)
        .json(&serde_json::json!({"body": "Internal: order a new fan", "internal": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let said = agent.ok(&["sync"]).await;
    assert!(said.contains("1 new replies"), "{said}");
    let list: serde_json::Value =
        serde_json::from_str(&agent.ok(&["ticket", "list", "--format", "json"]).await).unwrap();
    assert_eq!(list[0]["unread"], 1);
    let shown = agent.ok(&["ticket", "show", &format!("#{number}")]).await;
    assert!(
        shown.contains("Please clean the vents.^[[2J^[]0;pwned^G"),
        "{shown}"
    );
    assert!(
        !shown.contains('\u{1b}') && !shown.contains('\u{7}'),
        "escape sequences reach the terminal: {shown:?}"
    );
    assert!(
        !shown.contains("order a new fan"),
        "internal notes never reach the device"
    );
    let list: serde_json::Value =
        serde_json::from_str(&agent.ok(&["ticket", "list", "--format", "json"]).await).unwrap();
    assert_eq!(list[0]["unread"], 0, "read once shown");

    // The employee answers; the desk gets it once.
    agent
        .ok(&["ticket", "reply", &local, "--message", "Done, still loud."])
        .await;
    agent.ok(&["sync"]).await;
    let detail = desk.ticket(&tech, number).await;
    let bodies: Vec<&str> = detail["comments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["body"].as_str().unwrap())
        .collect();
    assert_eq!(
        bodies.iter().filter(|b| **b == "Done, still loud.").count(),
        1
    );

    // Rating an unresolved ticket is refused at once: nothing is queued to
    // become a dead letter.
    let refused = agent.run(&["ticket", "rate", &local, "--score", "5"]).await;
    assert_eq!(refused.status.code(), Some(1));
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(
        err.contains("only a resolved or closed ticket can be rated"),
        "{err}"
    );
    assert_eq!(agent.status().await["outbox_depth"], 0);

    // Resolved, and the device knows it; then reopened at the desk before
    // the rating arrives: the desk refuses it, for good. A dead letter
    // that says why, not a silent drop, and not retried forever.
    let set_status = |status: &'static str| {
        let (url, tech) = (
            format!("{}/api/v1/tickets/{number}", desk.url()),
            tech.clone(),
        );
        async move {
            let r = http()
                .patch(url)
                .bearer_auth(&tech)
                .json(&serde_json::json!({ "status": status }))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200, "{status}");
        }
    };
    set_status("resolved").await;
    agent.ok(&["sync"]).await;
    set_status("open").await;
    agent.ok(&["ticket", "rate", &local, "--score", "5"]).await;
    let status = agent.status().await;
    assert_eq!(status["outbox_depth"], 0);
    let dead = status["dead_letters"].as_array().unwrap();
    assert_eq!(dead.len(), 1, "{status}");
    assert_eq!(
        (dead[0]["kind"].as_str(), dead[0]["status"].as_u64()),
        (Some("rating"), Some(409))
    );
    let table = agent.ok(&["status"]).await;
    assert!(table.contains("dead letters:  1"), "{table}");
    assert!(
        table.contains("can be rated once, after it was resolved"),
        "status says why: {table}"
    );
    let shown = agent.ok(&["ticket", "show", &local]).await;
    assert!(
        shown.contains("refused by the desk: your rating"),
        "the ticket says why too: {shown}"
    );
    let t: serde_json::Value = serde_json::from_str(
        &agent
            .ok(&["ticket", "show", &local, "--format", "json"])
            .await,
    )
    .unwrap();
    assert_eq!(
        t["refused"][0]["kind"], "rating",
        "what the tray shows: {t}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_desk_dying_mid_request_loses_and_duplicates_nothing() {
    let mut desk = Desk::up().await;
    let secret = desk.secret().await;
    let agent = AgentProc::new("e2e-dying");
    agent
        .ok(&["enroll", "--server", &desk.url(), "--secret", &secret])
        .await;
    for round in 0..5 {
        let subject = format!("Round {round}");
        let mut child = agent
            .command(&["ticket", "new", "--subject", &subject])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // Kill the desk at a different moment of each submission.
        tokio::time::sleep(std::time::Duration::from_millis(5 + 20 * round)).await;
        desk.kill().await;
        tokio::task::spawn_blocking(move || child.wait().unwrap())
            .await
            .unwrap();
        desk.start().await;
    }
    for _ in 0..20 {
        let out = agent.run(&["sync"]).await;
        if out.status.success() && agent.status().await["outbox_depth"] == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }
    let local: serde_json::Value =
        serde_json::from_str(&agent.ok(&["ticket", "list", "--format", "json"]).await).unwrap();
    let mut queued: Vec<String> = local
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["subject"].as_str().unwrap().to_owned())
        .collect();
    queued.sort();
    assert_eq!(
        desk.subjects().await,
        queued,
        "each queued ticket exactly once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_loop_fifty_submissions_each_exactly_once() {
    use rand::Rng;
    let desk = Desk::up().await;
    let secret = desk.secret().await;
    let agent = AgentProc::new("e2e-crash");
    agent
        .ok(&["enroll", "--server", &desk.url(), "--secret", &secret])
        .await;
    for i in 0..50 {
        let subject = format!("Crash {i:02}");
        let mut child = agent
            .command(&["ticket", "new", "--subject", &subject, "--no-diagnostics"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // From before the ticket is stored to after it was delivered.
        let wait = rand::rng().random_range(0..150u64);
        tokio::time::sleep(std::time::Duration::from_millis(wait)).await;
        // SIGKILL: no chance to clean up.
        let _ = child.kill();
        let _ = tokio::task::spawn_blocking(move || child.wait()).await;
    }
    // Whatever each killed process had committed is delivered by the next
    // agent run, once.
    agent.ok(&["sync"]).await;
    agent.ok(&["sync"]).await;
    let local: serde_json::Value =
        serde_json::from_str(&agent.ok(&["ticket", "list", "--format", "json"]).await).unwrap();
    let mut committed: Vec<String> = local
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["subject"].as_str().unwrap().to_owned())
        .collect();
    committed.sort();
    assert!(!committed.is_empty());
    assert_eq!(desk.subjects().await, committed);
    assert!(
        local
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["delivery"] == "acknowledged")
    );
}

/// Polls `f` until it holds or 30 s passed.
async fn eventually(what: &str, mut f: impl AsyncFnMut() -> bool) {
    for _ in 0..150 {
        if f().await {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_running_agent_delivers_checks_in_and_stops_on_sigterm() {
    let mut desk = Desk::up().await;
    let secret = desk.secret().await;
    let tech = desk.technician("tech@example.com").await;
    // Notifications on, to a fake notification service.
    let Some(bus) = deskside_e2e::fake_notifications::private_bus() else {
        return;
    };
    let shown = deskside_e2e::fake_notifications::serve(&bus.address, false);
    let agent = AgentProc::new("e2e-run")
        .env("DESKSIDE_NOTIFICATIONS_ENABLED", "true")
        .env("DESKSIDE_NOTIFICATIONS_LOCALE", "en")
        .env("DBUS_SESSION_BUS_ADDRESS", &bus.address);
    agent
        .ok(&["enroll", "--server", &desk.url(), "--secret", &secret])
        .await;
    let mut daemon = agent
        .command(&["run"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();

    // Once it has checked in it holds the lock: one agent per state
    // directory.
    eventually("the first check-in", async || {
        desk.store
            .device(1)
            .await
            .unwrap()
            .is_some_and(|d| d.agent_version.is_some())
    })
    .await;
    let mut second = agent
        .command(&["run"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Bounded: a second agent that wrongly got the lock would run forever.
    let out = tokio::task::spawn_blocking(move || {
        for _ in 0..100 {
            if second.try_wait().unwrap().is_some() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let _ = second.kill();
        second.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("another deskside-agent is running"), "{err}");

    // Filed while the desk is down: the running agent delivers it later.
    desk.kill().await;
    let local = agent
        .ok(&[
            "ticket",
            "new",
            "--subject",
            "Dock not detected",
            "--no-diagnostics",
        ])
        .await
        .trim()
        .to_owned();
    desk.start().await;
    eventually("delivery by the running agent", async || {
        desk.subjects().await == ["Dock not detected"]
    })
    .await;

    // A technician's reply reaches the running agent at its next check-in.
    let number = desk
        .store
        .list_tickets(&deskside_server::store::TicketFilter {
            limit: 1,
            ..Default::default()
        })
        .await
        .unwrap()[0]
        .work
        .row
        .id;
    let r = http()
        .post(format!("{}/api/v1/tickets/{number}/comments", desk.url()))
        .bearer_auth(&tech)
        .json(&serde_json::json!({"body": "Try the other USB-C port."}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    eventually("the reply at the agent", async || {
        agent
            .ok(&["ticket", "show", &local])
            .await
            .contains("Try the other USB-C port.")
    })
    .await;
    // Exactly one notification says so, also after more check-ins.
    let about_reply = || {
        shown
            .lock()
            .unwrap()
            .iter()
            .filter(|c| c.summary == format!("New reply on ticket #{number}"))
            .cloned()
            .collect::<Vec<_>>()
    };
    eventually("the reply notification", async || !about_reply().is_empty()).await;
    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    let calls = about_reply();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0].app_name, "Deskside");
    assert!(calls[0].body.contains("Dock not detected"), "{calls:?}");
    // The running agent checked the machine and reported its health.
    eventually("health at the desk", async || {
        desk.store
            .device(1)
            .await
            .unwrap()
            .is_some_and(|d| d.health.is_some())
    })
    .await;

    // SIGTERM stops it cleanly.
    assert!(deskside_e2e::sigterm(daemon.id()));
    let status = tokio::task::spawn_blocking(move || daemon.wait().unwrap())
        .await
        .unwrap();
    assert!(status.success(), "exit after SIGTERM: {status}");
}

/// The requester of a tray ticket is the account that filed it, named only
/// when the privacy settings allow user names and the desk said it takes
/// a requester: a ticket queued before the agent heard from the desk has
/// none (an older desk would refuse the field, and the ticket with it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tray_ticket_names_its_requester_where_privacy_allows() {
    let desk = Desk::up().await;
    let secret = desk.secret().await;
    let tech = desk.technician("tech@example.com").await;
    let me = deskside_host::collect::accounts::current_user_name().expect("this account's name");

    let named = AgentProc::new("e2e-requester");
    let private = AgentProc::new("e2e-private").env("DESKSIDE_PRIVACY_USER_NAMES", "false");
    let mut requesters = Vec::new();
    for agent in [&named, &private] {
        agent
            .ok(&["enroll", "--server", &desk.url(), "--secret", &secret])
            .await;
        // Queued before any check-in: the desk's features are unknown.
        let early = agent
            .ok(&["ticket", "new", "--subject", "Before the check-in"])
            .await;
        agent.ok(&["sync"]).await;
        let late = agent
            .ok(&["ticket", "new", "--subject", "After the check-in"])
            .await;
        agent.ok(&["sync"]).await;
        for local in [early.trim(), late.trim()] {
            let shown: serde_json::Value = serde_json::from_str(
                &agent
                    .ok(&["ticket", "show", local, "--format", "json"])
                    .await,
            )
            .unwrap();
            let detail = desk
                .ticket(&tech, shown["server_id"].as_i64().unwrap())
                .await;
            requesters.push((
                detail["ticket"]["subject"].as_str().unwrap().to_owned(),
                detail["requester_name"].as_str().map(str::to_owned),
            ));
        }
    }
    assert_eq!(
        requesters,
        [
            ("Before the check-in".to_owned(), None),
            ("After the check-in".to_owned(), Some(me)),
            ("Before the check-in".to_owned(), None),
            ("After the check-in".to_owned(), None),
        ]
    );
}

/// Published articles reach the agent with its check-in, in its
/// language (English where an article has none), and it suggests them
/// with the desk down: no network per search.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn articles_kept_on_the_device_are_suggested_offline() {
    let mut desk = Desk::up().await;
    let secret = desk.secret().await;
    let tech = desk.technician("kb@example.com").await;
    for texts in [
        serde_json::json!([{"lang": "en", "title": "Printer does not print", "body": "Check the tray."},
            {"lang": "ja", "title": "プリンターが印刷しない", "body": "用紙トレイを確認してください。"}]),
        serde_json::json!([{"lang": "en", "title": "VPN drops", "body": "Restart the client."}]),
    ] {
        let r = http()
            .post(format!("{}/api/v1/kb/articles", desk.url()))
            .bearer_auth(&tech)
            .json(&serde_json::json!({"state": "published", "texts": texts}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
    }
    let agent = AgentProc::new("e2e-kb")
        .env("LANG", "ja_JP.UTF-8")
        .env("LC_ALL", "ja_JP.UTF-8");
    agent
        .ok(&["enroll", "--server", &desk.url(), "--secret", &secret])
        .await;
    agent.ok(&["sync"]).await;
    desk.kill().await;
    assert!(
        !agent.run(&["sync"]).await.status.success(),
        "the desk is down"
    );

    let found = |json: String| -> Vec<String> {
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        v.as_array()
            .unwrap()
            .iter()
            .map(|a| a["title"].as_str().unwrap().to_owned())
            .collect()
    };
    let printer = agent
        .ok(&["articles", "プリンター", "--format", "json"])
        .await;
    assert_eq!(found(printer), ["プリンターが印刷しない"]);
    let vpn = agent
        .ok(&["articles", "VPNがすぐ切れる", "--format", "json"])
        .await;
    assert_eq!(
        found(vpn),
        ["VPN drops"],
        "English where there is no Japanese"
    );
    let none = agent
        .ok(&["articles", "キーボード", "--format", "json"])
        .await;
    assert!(found(none).is_empty());
}
