//! The agent against a hostile network and a busy or self-signed desk: a
//! fault-injecting proxy (drops, delays, resets before and after the desk
//! did the work, truncated answers, "busy" answers), `Retry-After` on 429
//! and 503, and a pinned server certificate.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use deskside_e2e::{AgentProc, Desk, Fault, FaultProxy};

/// Syncs until the outbox is empty.
async fn drain(agent: &AgentProc) {
    for _ in 0..60 {
        let _ = agent.run(&["sync"]).await;
        if agent.status().await["outbox_depth"] == 0 {
            return;
        }
    }
    panic!("the outbox never drained: {}", agent.status().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_item_arrives_once_through_a_faulty_network() {
    let desk = Desk::up().await;
    let secret = desk.secret().await;
    let tech = desk.technician("tech@example.com").await;
    // Every request meets the next fault of this cycle, so each kind of
    // failure hits tickets, comments and check-ins alike.
    let cycle = [
        Fault::Cut,
        Fault::Pass,
        Fault::Drop,
        Fault::Partial,
        Fault::Delay(Duration::from_millis(700)),
        Fault::Busy {
            status: 503,
            retry_after: 0,
        },
        Fault::Pass,
        Fault::Cut,
    ];
    let mut next = 0;
    let proxy = FaultProxy::start(desk.addr, move |_| {
        next += 1;
        cycle[(next - 1) % cycle.len()]
    })
    .await;
    let agent = AgentProc::new("e2e-faulty");
    agent
        .ok(&["enroll", "--server", &desk.url(), "--secret", &secret])
        .await;
    let agent = agent.env("DESKSIDE_SERVER_URL", &proxy.url());

    let mut locals = Vec::new();
    for i in 0..8 {
        let subject = format!("Faulty {i}");
        let mut args = vec!["ticket", "new", "--subject", &subject];
        if i % 4 != 0 {
            args.push("--no-diagnostics");
        }
        // Queued is success, whatever the network did.
        locals.push(agent.ok(&args).await.trim().to_owned());
    }
    drain(&agent).await;
    let subjects: Vec<String> = (0..8).map(|i| format!("Faulty {i}")).collect();
    assert_eq!(desk.subjects().await, subjects, "each ticket exactly once");

    for local in &locals[..4] {
        agent
            .ok(&[
                "ticket",
                "reply",
                local,
                "--message",
                &format!("more on {local}"),
            ])
            .await;
    }
    drain(&agent).await;
    for local in &locals[..4] {
        let shown: serde_json::Value = serde_json::from_str(
            &agent
                .ok(&["ticket", "show", local, "--format", "json"])
                .await,
        )
        .unwrap();
        let detail = desk
            .ticket(&tech, shown["server_id"].as_i64().unwrap())
            .await;
        let want = format!("more on {local}");
        let n = detail["comments"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["body"] == want.as_str())
            .count();
        assert_eq!(n, 1, "each reply exactly once: {detail}");
    }
    let status = agent.status().await;
    assert_eq!(status["dead_letters"], serde_json::json!([]), "{status}");

    // The faults really happened, to ticket submissions too.
    let seen = proxy.seen();
    for fault in cycle {
        assert!(
            seen.iter().any(|s| s.fault == fault),
            "{fault:?} never applied"
        );
    }
    assert!(
        seen.iter()
            .any(|s| s.fault == Fault::Cut && s.request.starts_with("POST /api/v1/agent/tickets ")),
        "no ticket submission was cut after the desk stored it"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_is_honoured_on_429_and_503() {
    let desk = Desk::up().await;
    let secret = desk.secret().await;
    // The first two ticket submissions are answered "busy, come back in
    // 4 s": 429, then 503.
    let mut busy = vec![
        Fault::Busy {
            status: 503,
            retry_after: 4,
        },
        Fault::Busy {
            status: 429,
            retry_after: 4,
        },
    ];
    let proxy = FaultProxy::start(desk.addr, move |line| {
        if line.starts_with("POST /api/v1/agent/tickets ") {
            busy.pop().unwrap_or(Fault::Pass)
        } else {
            Fault::Pass
        }
    })
    .await;
    let agent = AgentProc::new("e2e-busy");
    agent
        .ok(&["enroll", "--server", &desk.url(), "--secret", &secret])
        .await;
    let agent = agent.env("DESKSIDE_SERVER_URL", &proxy.url());
    let posts = || {
        proxy
            .seen()
            .into_iter()
            .filter(|s| s.request.starts_with("POST /api/v1/agent/tickets "))
            .collect::<Vec<_>>()
    };

    agent
        .ok(&[
            "ticket",
            "new",
            "--subject",
            "Busy desk",
            "--no-diagnostics",
        ])
        .await;
    for round in 0..2 {
        assert_eq!(posts().len(), round + 1);
        // Asking again at once sends nothing: the desk said when.
        let out = agent.run(&["sync"]).await;
        assert!(
            !out.status.success(),
            "a busy desk is not a successful sync"
        );
        assert_eq!(posts().len(), round + 1, "Retry-After ignored");
        let status = agent.status().await;
        assert_eq!(status["outbox_depth"], 1);
        let err = status["last_error"].as_str().unwrap_or_default().to_owned();
        assert!(
            err.contains(if round == 0 { "429" } else { "503" }),
            "{err}"
        );
        let first = posts()[round].at;
        // Once the time has come, the next sync sends it again.
        tokio::time::sleep(Duration::from_secs(4).saturating_sub(first.elapsed())).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let _ = agent.run(&["sync"]).await;
        let again = posts();
        assert_eq!(again.len(), round + 2);
        assert!(again[round + 1].at.duration_since(first) >= Duration::from_secs(4));
    }
    assert_eq!(agent.status().await["outbox_depth"], 0);
    assert_eq!(desk.subjects().await, ["Busy desk"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pinned_certificate_is_the_only_one_accepted() {
    let (desk, fingerprint) = Desk::up_tls().await;
    let secret = desk.secret().await;
    let url = desk.url();
    assert!(url.starts_with("https://"));

    // Self-signed and not pinned: refused.
    let plain = AgentProc::new("e2e-unpinned");
    let out = plain
        .run(&["enroll", "--server", &url, "--secret", &secret])
        .await;
    assert!(!out.status.success());

    // Pinned to another certificate: refused, and the error says why.
    let wrong = AgentProc::new("e2e-wrong-pin").env(
        "DESKSIDE_SERVER_CERT_SHA256",
        &"00:"
            .repeat(31)
            .chars()
            .chain("00".chars())
            .collect::<String>(),
    );
    let out = wrong
        .run(&["enroll", "--server", &url, "--secret", &secret])
        .await;
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not the pinned one"), "{err}");

    // Pinned to the desk's: enrolls and delivers over HTTPS.
    let pinned = AgentProc::new("e2e-pinned").env("DESKSIDE_SERVER_CERT_SHA256", &fingerprint);
    pinned
        .ok(&["enroll", "--server", &url, "--secret", &secret])
        .await;
    pinned
        .ok(&["ticket", "new", "--subject", "Over TLS", "--no-diagnostics"])
        .await;
    assert_eq!(pinned.status().await["outbox_depth"], 0);
    assert_eq!(desk.subjects().await, ["Over TLS"]);

    // A fingerprint that is not one is a configuration error.
    let bad = AgentProc::new("e2e-bad-pin").env("DESKSIDE_SERVER_CERT_SHA256", "abc");
    let out = bad.run(&["status"]).await;
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("server_cert_sha256"), "{err}");
}
