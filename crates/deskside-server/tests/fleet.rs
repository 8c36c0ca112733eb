//! Check transitions and the fleet overview, on every backend: a check's
//! state changes are recorded once each (the first from "none"), and the
//! overview counts devices by health, silent devices, agents, the checks
//! failing on the most devices, and tickets beside new failures per day.

#![allow(clippy::unwrap_used)]

mod common;

use chrono::{TimeDelta, Utc};
use deskside_server::store::{
    Checkin, DeviceFilter, FleetQuery, NewEnrollment, NewTicketRow, Store,
};

async fn device<S: Store>(s: &S, name: &'static str) -> i64 {
    s.enroll_device(&NewEnrollment {
        device_key: None,
        serial_number: None,
        hostname: Some(name),
        token_hash: name,
        public_key: None,
    })
    .await
    .unwrap()
    .device_id
}

async fn report<S: Store>(s: &S, id: i64, version: &str, health: &str, checks: &[(&str, &str)]) {
    s.record_checkin(&Checkin {
        device_id: id,
        agent_version: Some(version),
        health: Some(health),
        results: checks
            .iter()
            .map(|(c, st)| (*c, *st, format!("{{\"check_id\":\"{c}\"}}")))
            .collect(),
        samples: Vec::new(),
        running_checks: None,
        at: Utc::now(),
    })
    .await
    .unwrap();
}

async fn fleet_suite<S: Store + Clone>(s: S) {
    let a = device(&s, "alpha").await;
    let b = device(&s, "beta").await;
    let c = device(&s, "gamma").await;
    // Never checks in: silent since enrollment.
    let _d = device(&s, "delta").await;

    report(&s, a, "0.2.0", "ok", &[("disk", "ok"), ("mem", "ok")]).await;
    report(
        &s,
        a,
        "0.2.0",
        "critical",
        &[("disk", "critical"), ("mem", "ok")],
    )
    .await;
    report(&s, a, "0.2.0", "critical", &[("disk", "critical")]).await;
    report(
        &s,
        b,
        "0.1.0",
        "warning",
        &[("disk", "warning"), ("mem", "warning")],
    )
    .await;
    report(&s, c, "0.2.0", "ok", &[("disk", "ok")]).await;

    // Transitions: first results from none, then each change once.
    let t: Vec<_> = s
        .check_transitions(a, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|t| (t.check_id, t.from_state, t.to_state))
        .collect();
    assert_eq!(
        t,
        [
            (
                "disk".to_owned(),
                Some("ok".to_owned()),
                "critical".to_owned()
            ),
            ("mem".to_owned(), None, "ok".to_owned()),
            ("disk".to_owned(), None, "ok".to_owned()),
        ]
    );
    assert_eq!(s.check_transitions(a, 1).await.unwrap().len(), 1);

    // Devices with a failing check, by check.
    let failing = |check: &str| {
        let s = s.clone();
        let check = check.to_owned();
        async move {
            s.list_devices(&DeviceFilter {
                failing_check: Some(check),
                limit: 50,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_iter()
            .map(|d| d.id)
            .collect::<Vec<_>>()
        }
    };
    assert_eq!(failing("disk").await, [a, b]);
    assert_eq!(failing("mem").await, [b]);
    assert!(failing("none").await.is_empty());

    // A ticket today.
    s.create_ticket(&NewTicketRow {
        check: None,
        device_id: c,
        idempotency_key: "k1",
        subject: "Printer",
        description: "jams",
        category: "printer",
        urgency: "medium",
        priority: 3,
        request_hash: "h1",
        ticket_type: "incident",
        requester_name: None,
        attachments: Vec::new(),
    })
    .await
    .unwrap();

    let now = Utc::now();
    let o = s
        .fleet_overview(&FleetQuery {
            offline_before: now - TimeDelta::minutes(10),
            unseen_before: now - TimeDelta::days(7),
            since: now - TimeDelta::days(2),
        })
        .await
        .unwrap();
    let pairs = |v: &[(String, i64)]| {
        v.iter()
            .map(|(n, c)| (n.as_str().to_owned(), *c))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        pairs(&o.by_health),
        [
            ("critical".to_owned(), 1),
            ("ok".to_owned(), 1),
            ("unknown".to_owned(), 1),
            ("warning".to_owned(), 1)
        ]
    );
    assert_eq!(
        pairs(&o.by_agent_version),
        [
            ("0.2.0".to_owned(), 2),
            (String::new(), 1),
            ("0.1.0".to_owned(), 1)
        ]
    );
    assert_eq!(
        pairs(&o.failing_checks),
        [("disk".to_owned(), 2), ("mem".to_owned(), 1)]
    );
    assert_eq!(o.offline, 1, "the device that never checked in");
    assert_eq!(o.unseen, 1);
    assert_eq!(o.unseen_devices.len(), 1);
    assert_eq!(o.unseen_devices[0].1.as_deref(), Some("delta"));
    let today = now.format("%Y-%m-%d").to_string();
    assert_eq!(pairs(&o.tickets_per_day), [(today.clone(), 1)]);
    // Started failing today: a's disk (ok → critical), b's disk and mem
    // (first results that fail).
    assert_eq!(pairs(&o.failures_per_day), [(today, 3)]);

    // History is kept as long as inventory changes.
    assert!(
        s.prune_inventory_changes(now + TimeDelta::seconds(1))
            .await
            .unwrap()
            >= 6
    );
    assert!(s.check_transitions(a, 10).await.unwrap().is_empty());
}

#[tokio::test]
async fn sqlite_fleet() {
    let (s, _dir) = common::sqlite().await;
    fleet_suite(s).await;
}

#[tokio::test]
async fn postgres_fleet() {
    if let Some(s) = common::postgres().await {
        fleet_suite(s).await;
    }
}
