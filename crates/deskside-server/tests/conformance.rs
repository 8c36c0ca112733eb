//! One storage conformance suite, run against every backend.

#![allow(clippy::unwrap_used)]

mod common;

use chrono::{TimeDelta, Utc};
use deskside_protocol::TicketStatus;
use deskside_server::store::{
    InventoryFacts, NewEnrollment, Role, Store, StoreError, TicketFilter, TicketSort,
};
use deskside_server::workflow::{PatchOutcome, TicketChange};

/// Technicians changing different fields of one ticket at the same moment,
/// without preconditions: every change survives, each is audited, and the
/// version counts them all.
async fn concurrent_changes_lose_nothing<S: Store>(s: &S, ticket: i64, by: i64) {
    use deskside_protocol::{TicketCategory, Urgency};
    let before = s.ticket_work(ticket).await.unwrap().unwrap();
    let audit_before = s.ticket_audit(ticket).await.unwrap().len();
    for round in 0..10u8 {
        let tier = TicketChange {
            tier: Some(1 + (round % 3)),
            ..TicketChange::default()
        };
        let category = TicketChange {
            category: Some(if round % 2 == 0 {
                TicketCategory::Hardware
            } else {
                TicketCategory::Software
            }),
            ..TicketChange::default()
        };
        let urgency = TicketChange {
            urgency: Some(if round % 2 == 0 {
                Urgency::Low
            } else {
                Urgency::High
            }),
            ..TicketChange::default()
        };
        let (a, b, c) = tokio::join!(
            s.patch_ticket(ticket, &tier, None, by),
            s.patch_ticket(ticket, &category, None, by),
            s.patch_ticket(ticket, &urgency, None, by),
        );
        for r in [a, b, c] {
            assert!(matches!(r.unwrap(), PatchOutcome::Done(_)));
        }
        let now = s.ticket_work(ticket).await.unwrap().unwrap();
        assert_eq!(
            now.tier,
            i64::from(1 + (round % 3)),
            "round {round}: tier lost"
        );
        assert_eq!(
            now.row.category,
            if round % 2 == 0 {
                "hardware"
            } else {
                "software"
            },
            "round {round}: category lost"
        );
        assert_eq!(
            now.row.urgency,
            if round % 2 == 0 { "low" } else { "high" },
            "round {round}: urgency lost"
        );
    }
    let after = s.ticket_work(ticket).await.unwrap().unwrap();
    let writes = s.ticket_audit(ticket).await.unwrap().len() - audit_before;
    assert_eq!(
        after.version - before.version,
        i64::try_from(writes).unwrap(),
        "one version per audited write"
    );
}

/// The queue's sort by priority with keyset paging, tier and category
/// filters, counts, and the per-technician unread marker.
async fn queue_details<S: Store>(s: &S, [t1, t2, t3]: [i64; 3], tech: i64) {
    let all = |f: TicketFilter| {
        let s = s.clone();
        async move {
            s.list_tickets(&TicketFilter {
                limit: if f.limit == 0 { 50 } else { f.limit },
                viewer: tech,
                ..f
            })
            .await
            .unwrap()
        }
    };
    // Priority order: most urgent first, newest first within a priority;
    // paging by (priority, id) visits every ticket once.
    let by_priority = all(TicketFilter {
        sort: TicketSort::Priority,
        ..Default::default()
    })
    .await;
    let keys: Vec<(i64, i64)> = by_priority
        .iter()
        .map(|r| (r.work.row.priority, r.work.row.id))
        .collect();
    let mut sorted = keys.clone();
    sorted.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
    assert_eq!(keys, sorted);
    let mut paged = Vec::new();
    let mut after = None;
    loop {
        let page = all(TicketFilter {
            sort: TicketSort::Priority,
            after,
            limit: 1,
            ..Default::default()
        })
        .await;
        let Some(r) = page.first() else { break };
        paged.push((r.work.row.priority, r.work.row.id));
        after = Some((r.work.row.priority, r.work.row.id));
    }
    assert_eq!(paged, keys);

    // Tier and category, and counting what a filter matches.
    let t3_row = all(TicketFilter::default())
        .await
        .into_iter()
        .find(|r| r.work.row.id == t3)
        .unwrap();
    let only = |f: TicketFilter| async move {
        all(f)
            .await
            .into_iter()
            .map(|r| r.work.row.id)
            .collect::<Vec<_>>()
    };
    assert!(
        only(TicketFilter {
            tier: Some(t3_row.work.tier),
            ..Default::default()
        })
        .await
        .contains(&t3)
    );
    assert_eq!(
        only(TicketFilter {
            category: Some(t3_row.work.row.category.clone()),
            text: Some(t3_row.work.row.subject.clone()),
            ..Default::default()
        })
        .await,
        [t3]
    );
    assert_eq!(
        only(TicketFilter {
            category: Some("no-such-category".into()),
            ..Default::default()
        })
        .await,
        Vec::<i64>::new()
    );
    assert_eq!(s.count_tickets(&TicketFilter::default()).await.unwrap(), 3);
    assert_eq!(
        s.count_tickets(&TicketFilter {
            assignee: Some(None),
            limit: 1,
            ..Default::default()
        })
        .await
        .unwrap(),
        2
    );

    // Unread until the technician looks; the employee writing again makes
    // it unread again, for that technician only.
    let unread = |id: i64| async move {
        all(TicketFilter::default())
            .await
            .into_iter()
            .find(|r| r.work.row.id == id)
            .unwrap()
            .unread()
    };
    assert!(unread(t1).await);
    s.mark_ticket_seen(tech, t1, chrono::Utc::now())
        .await
        .unwrap();
    assert!(!unread(t1).await);
    assert!(unread(t2).await, "only the ticket looked at");
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    s.add_device_comment(t1, "still broken", "unread-1")
        .await
        .unwrap();
    assert!(unread(t1).await);
    s.mark_ticket_seen(tech, t1, chrono::Utc::now())
        .await
        .unwrap();
    s.mark_ticket_seen(tech, t1, chrono::Utc::now())
        .await
        .unwrap();
    assert!(!unread(t1).await, "seen twice is one mark");
}

/// The event log: ids increase in commit order, also when many writers
/// publish at once, and a reader resuming after an id gets exactly what
/// followed it.
async fn events_suite<S: Store>(s: &S) {
    let start = s.last_event_id().await.unwrap();
    let mut writers = Vec::new();
    for i in 0..20 {
        let s = s.clone();
        writers.push(tokio::spawn(async move {
            s.publish_event("ticket.updated", Some(i), Some("device"))
                .await
                .unwrap()
        }));
    }
    let mut ids = Vec::new();
    for w in writers {
        ids.push(w.await.unwrap());
    }
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 20, "every event has its own id");
    let read = s.events_after(start, 100).await.unwrap();
    assert_eq!(read.iter().map(|e| e.id).collect::<Vec<_>>(), ids);
    let mut tickets: Vec<i64> = read.iter().filter_map(|e| e.ticket_id).collect();
    tickets.sort_unstable();
    assert_eq!(tickets, (0..20).collect::<Vec<_>>());
    assert_eq!(s.last_event_id().await.unwrap(), *ids.last().unwrap());
    let resumed = s.events_after(ids[9], 5).await.unwrap();
    assert_eq!(
        resumed.iter().map(|e| e.id).collect::<Vec<_>>(),
        ids[10..15].to_vec()
    );
    assert_eq!(
        s.prune_events(chrono::Utc::now() - chrono::TimeDelta::hours(1))
            .await
            .unwrap(),
        0
    );
    assert!(
        s.prune_events(chrono::Utc::now() + chrono::TimeDelta::seconds(1))
            .await
            .unwrap()
            >= 20
    );
    assert!(s.events_after(start, 100).await.unwrap().is_empty());
}

/// Saved views belong to one technician and a scope; names are unique per
/// technician and scope.
async fn views_suite<S: Store>(s: &S, a: i64, b: i64) {
    let v = s
        .save_view(a, "tickets", "Printers", "category=printer")
        .await
        .unwrap();
    assert_eq!(v.query, "category=printer");
    assert!(matches!(
        s.save_view(a, "tickets", "Printers", "x=1").await,
        Err(StoreError::Conflict(_))
    ));
    // The same name for the device list is another view.
    let d = s
        .save_view(a, "devices", "Printers", "software=cups")
        .await
        .unwrap();
    s.save_view(b, "tickets", "Printers", "category=printer&tier=2")
        .await
        .unwrap();
    assert_eq!(s.saved_views(a, "tickets").await.unwrap().len(), 1);
    let devices = s.saved_views(a, "devices").await.unwrap();
    assert_eq!((devices.len(), devices[0].id), (1, d.id));
    assert!(!s.delete_view(b, v.id).await.unwrap(), "not b's view");
    assert!(s.delete_view(a, v.id).await.unwrap());
    assert!(s.saved_views(a, "tickets").await.unwrap().is_empty());
    assert_eq!(s.saved_views(a, "devices").await.unwrap().len(), 1);
    assert_eq!(s.saved_views(b, "tickets").await.unwrap().len(), 1);
}

async fn suite<S: Store>(s: S) {
    // Migrations are idempotent.
    s.migrate().await.unwrap();
    s.ping().await.unwrap();

    // Users: unique, case-insensitive e-mail.
    let admin = s
        .create_user("Admin@Example.com", Role::Admin, Some("$argon2id$x"))
        .await
        .unwrap();
    assert_eq!(admin.role, Role::Admin);
    assert!(matches!(
        s.create_user("admin@example.com", Role::Technician, None)
            .await,
        Err(StoreError::Conflict(_))
    ));
    let found = s.user_by_email("ADMIN@example.COM").await.unwrap().unwrap();
    assert_eq!(found.id, admin.id);
    assert_eq!(found.password_hash.as_deref(), Some("$argon2id$x"));
    assert!(
        s.user_by_email("nobody@example.com")
            .await
            .unwrap()
            .is_none()
    );

    // API tokens resolve to their user.
    s.create_api_token(admin.id, "hash-a", Some("ci"))
        .await
        .unwrap();
    assert_eq!(
        s.user_by_api_token("hash-a").await.unwrap().unwrap().id,
        admin.id
    );
    assert!(s.user_by_api_token("hash-b").await.unwrap().is_none());
    let listed = s.list_api_tokens(Some(admin.id)).await.unwrap();
    assert_eq!(listed[0].label.as_deref(), Some("ci"));

    // Roles change for active users only; a new password ends the user's
    // sessions at once.
    let tom = s
        .create_user("tom@example.com", Role::Technician, Some("$argon2id$old"))
        .await
        .unwrap();
    assert!(s.set_user_role(tom.id, Role::Admin).await.unwrap());
    assert_eq!(
        s.user_by_email("tom@example.com")
            .await
            .unwrap()
            .unwrap()
            .role,
        Role::Admin
    );
    s.create_session(
        "ses-tom",
        "csrf-tom",
        tom.id,
        Utc::now() + TimeDelta::hours(1),
    )
    .await
    .unwrap();
    assert!(s.session_user("ses-tom").await.unwrap().is_some());
    assert!(s.set_user_password(tom.id, "$argon2id$new").await.unwrap());
    assert!(s.session_user("ses-tom").await.unwrap().is_none());
    assert_eq!(
        s.user_by_email("tom@example.com")
            .await
            .unwrap()
            .unwrap()
            .password_hash
            .as_deref(),
        Some("$argon2id$new")
    );
    assert!(s.deactivate_user(tom.id).await.unwrap());
    assert!(!s.set_user_role(tom.id, Role::Technician).await.unwrap());
    assert!(!s.set_user_password(tom.id, "$argon2id$x").await.unwrap());

    // Enroll secrets: create, list newest first, expire, revoke once.
    let now = Utc::now();
    let a = s
        .create_enroll_secret(Some("laptops"), "sec-a", None)
        .await
        .unwrap();
    let b = s
        .create_enroll_secret(None, "sec-b", Some(now - TimeDelta::hours(1)))
        .await
        .unwrap();
    let c = s
        .create_enroll_secret(Some("kiosks"), "sec-c", Some(now + TimeDelta::days(30)))
        .await
        .unwrap();
    let list = s.list_enroll_secrets().await.unwrap();
    assert_eq!(
        list.iter().map(|x| x.id).collect::<Vec<_>>(),
        [c.id, b.id, a.id]
    );
    assert_eq!(list[2].label.as_deref(), Some("laptops"));
    let fetched = s.enroll_secret_by_hash("sec-c").await.unwrap().unwrap();
    assert_eq!(fetched.id, c.id);
    assert!(
        (fetched.expires_at.unwrap() - c.expires_at.unwrap())
            .num_milliseconds()
            .abs()
            < 1,
        "timestamps round-trip"
    );
    assert!(fetched.usable(now));
    assert!(
        !s.enroll_secret_by_hash("sec-b")
            .await
            .unwrap()
            .unwrap()
            .usable(now),
        "expired"
    );
    assert!(s.revoke_enroll_secret(a.id).await.unwrap());
    assert!(
        !s.revoke_enroll_secret(a.id).await.unwrap(),
        "already revoked"
    );
    assert!(
        !s.revoke_enroll_secret(9999).await.unwrap(),
        "no such secret"
    );
    assert!(
        !s.enroll_secret_by_hash("sec-a")
            .await
            .unwrap()
            .unwrap()
            .usable(now),
        "revoked"
    );
    assert!(s.enroll_secret_by_hash("nope").await.unwrap().is_none());

    // Devices: known by their public key (its possession proven by the
    // API); re-enrolling with it rotates the token. The enroll secret and
    // a device key or serial alone never reach another device: they make a
    // new one, pointing at the one it likely duplicates.
    let first = s
        .enroll_device(&NewEnrollment {
            device_key: Some("k1"),
            serial_number: Some("SN1"),
            hostname: Some("pc1"),
            token_hash: "t1",
            public_key: Some("pk1"),
        })
        .await
        .unwrap();
    assert!(!first.reenrolled);
    assert_eq!(first.duplicate_of, None);
    let dev = s.device_by_token("t1").await.unwrap().unwrap();
    assert_eq!(
        (
            dev.id,
            dev.hostname.as_deref(),
            dev.serial_number.as_deref(),
            dev.has_public_key
        ),
        (first.device_id, Some("pc1"), Some("SN1"), true)
    );
    let again = s
        .enroll_device(&NewEnrollment {
            device_key: Some("k1"),
            serial_number: None,
            hostname: Some("pc1-renamed"),
            token_hash: "t2",
            public_key: Some("pk1"),
        })
        .await
        .unwrap();
    assert_eq!((again.device_id, again.reenrolled), (first.device_id, true));
    assert!(
        s.device_by_token("t1").await.unwrap().is_none(),
        "the old token stops working at once"
    );
    let dev = s.device_by_token("t2").await.unwrap().unwrap();
    assert_eq!(dev.hostname.as_deref(), Some("pc1-renamed"));
    assert_eq!(
        dev.serial_number.as_deref(),
        Some("SN1"),
        "kept when not sent"
    );
    for (key, serial, token) in [(Some("k1"), None, "t3"), (None, Some("SN1"), "t3b")] {
        let impostor = s
            .enroll_device(&NewEnrollment {
                device_key: key,
                serial_number: serial,
                hostname: None,
                token_hash: token,
                public_key: Some("pk-other"),
            })
            .await;
        let impostor = match impostor {
            Ok(e) => e,
            // The second one reuses pk-other: it gets the first impostor.
            Err(e) => panic!("{e}"),
        };
        assert_ne!(
            impostor.device_id, first.device_id,
            "no takeover by {key:?}/{serial:?}"
        );
        if key.is_some() {
            assert_eq!(impostor.duplicate_of, Some(first.device_id));
        }
    }
    assert!(
        s.device_by_token("t2").await.unwrap().is_some(),
        "the real device keeps working"
    );
    let legacy = s
        .enroll_device(&NewEnrollment {
            device_key: None,
            serial_number: Some("SN1"),
            hostname: None,
            token_hash: "t3c",
            public_key: None,
        })
        .await
        .unwrap();
    assert!(!legacy.reenrolled && legacy.duplicate_of.is_some());
    // A device without a key registers one once; nobody takes a key that
    // is taken.
    assert!(
        s.register_device_key(legacy.device_id, "pk-legacy")
            .await
            .unwrap()
    );
    assert!(
        !s.register_device_key(legacy.device_id, "pk-new")
            .await
            .unwrap()
    );
    let other = s
        .enroll_device(&NewEnrollment {
            device_key: Some("k2"),
            serial_number: None,
            hostname: Some("pc2"),
            token_hash: "t4",
            public_key: None,
        })
        .await
        .unwrap();
    assert_ne!(other.device_id, first.device_id);
    assert!(!other.reenrolled);
    assert!(!s.register_device_key(other.device_id, "pk1").await.unwrap());
    // Challenges are single-use and expire.
    s.create_enroll_challenge("c1", now + TimeDelta::minutes(5))
        .await
        .unwrap();
    s.create_enroll_challenge("c-old", now - TimeDelta::minutes(1))
        .await
        .unwrap();
    assert!(s.take_enroll_challenge("c1").await.unwrap());
    assert!(!s.take_enroll_challenge("c1").await.unwrap(), "used once");
    assert!(!s.take_enroll_challenge("c-old").await.unwrap(), "expired");
    assert!(!s.take_enroll_challenge("never").await.unwrap());

    // Inventories: one current per device, changes kept newest first.
    let dev = first.device_id;
    assert!(s.current_inventory(dev).await.unwrap().is_none());
    let facts = InventoryFacts::default();
    s.save_inventory(dev, "h1", "{\"v\":1}", None, &facts, now)
        .await
        .unwrap();
    s.save_inventory(
        dev,
        "h2",
        "{\"v\":2}",
        Some("{\"change\":1}"),
        &facts,
        now + TimeDelta::seconds(1),
    )
    .await
    .unwrap();
    s.save_inventory(
        dev,
        "h3",
        "{\"v\":3}",
        Some("{\"change\":2}"),
        &facts,
        now + TimeDelta::seconds(2),
    )
    .await
    .unwrap();
    assert_eq!(
        s.current_inventory(dev).await.unwrap(),
        Some(("h3".to_owned(), "{\"v\":3}".to_owned()))
    );
    let changes = s.inventory_changes(dev, 0, 10).await.unwrap();
    assert_eq!(
        changes.iter().map(|c| c.2.as_str()).collect::<Vec<_>>(),
        ["{\"change\":2}", "{\"change\":1}"]
    );
    let first_page = s.inventory_changes(dev, 0, 1).await.unwrap();
    assert_eq!(first_page.len(), 1);
    let next = s.inventory_changes(dev, first_page[0].0, 10).await.unwrap();
    assert_eq!(
        next.iter().map(|c| c.2.as_str()).collect::<Vec<_>>(),
        ["{\"change\":1}"],
        "the cursor goes on where the page ended"
    );
    // Retention: changes recorded before the cut are pruned.
    assert_eq!(
        s.prune_inventory_changes(now + TimeDelta::milliseconds(1500))
            .await
            .unwrap(),
        1
    );
    assert_eq!(s.inventory_changes(dev, 0, 10).await.unwrap().len(), 1);
    assert!(
        s.inventory_changes(other.device_id, 0, 10)
            .await
            .unwrap()
            .is_empty(),
        "per device"
    );

    // Check-ins keep the latest result per check and every sample.
    use deskside_server::store::Checkin;
    let checkin = |state: &'static str, json: &str| Checkin {
        device_id: dev,
        agent_version: Some("0.1.0"),
        health: Some(state),
        results: vec![
            ("disk", state, json.to_owned()),
            ("mem", "ok", "{}".to_owned()),
        ],
        samples: vec![(now, vec![("cpu".to_owned(), 1.0)])],
        running_checks: None,
        at: now,
    };
    s.record_checkin(&checkin("warning", "{\"a\":1}"))
        .await
        .unwrap();
    s.record_checkin(&checkin("critical", "{\"a\":2}"))
        .await
        .unwrap();
    let results = s.check_results(dev).await.unwrap();
    assert_eq!(results.len(), 2);
    assert_eq!(
        results[0],
        (
            "disk".to_owned(),
            "critical".to_owned(),
            "{\"a\":2}".to_owned()
        )
    );

    // A check reported twice in one check-in keeps its last result.
    let twice = Checkin {
        device_id: dev,
        agent_version: None,
        health: None,
        results: vec![
            ("twice", "ok", "{\"n\":1}".to_owned()),
            ("twice", "critical", "{\"n\":2}".to_owned()),
        ],
        samples: Vec::new(),
        running_checks: None,
        at: now,
    };
    s.record_checkin(&twice).await.unwrap();
    let results = s.check_results(dev).await.unwrap();
    assert!(results.contains(&(
        "twice".to_owned(),
        "critical".to_owned(),
        "{\"n\":2}".to_owned()
    )));

    // A device that says which checks it runs: the others' results go (an
    // earlier policy's would stay on its check list for ever), in the same
    // write as the new results; another device's stay.
    s.record_checkin(&Checkin {
        device_id: other.device_id,
        agent_version: None,
        health: None,
        results: vec![("disk", "ok", "{}".to_owned())],
        samples: Vec::new(),
        running_checks: None,
        at: now,
    })
    .await
    .unwrap();
    s.record_checkin(&Checkin {
        device_id: dev,
        agent_version: None,
        health: None,
        results: vec![("fresh", "ok", "{}".to_owned())],
        samples: Vec::new(),
        running_checks: Some(vec!["disk", "fresh"]),
        at: now,
    })
    .await
    .unwrap();
    let ids: Vec<String> = s
        .check_results(dev)
        .await
        .unwrap()
        .into_iter()
        .map(|(id, _, _)| id)
        .collect();
    assert_eq!(ids, ["disk", "fresh"]);
    assert_eq!(s.check_results(other.device_id).await.unwrap().len(), 1);
    // An empty list forgets every result.
    s.record_checkin(&Checkin {
        device_id: dev,
        agent_version: None,
        health: None,
        results: Vec::new(),
        samples: Vec::new(),
        running_checks: Some(Vec::new()),
        at: now,
    })
    .await
    .unwrap();
    assert!(s.check_results(dev).await.unwrap().is_empty());

    // Policies: versions count up from 1; the newest is current.
    assert!(s.current_policy().await.unwrap().is_none());
    assert_eq!(s.put_policy("[]", admin.id, None).await.unwrap(), Some(1));
    assert_eq!(
        s.put_policy("[{\"id\":\"x\"}]", admin.id, Some(1))
            .await
            .unwrap(),
        Some(2)
    );
    // Conditional on a version that is no longer current: refused, nothing
    // written.
    assert_eq!(s.put_policy("[]", admin.id, Some(1)).await.unwrap(), None);
    assert_eq!(s.current_policy().await.unwrap().unwrap().0, 2);
    assert_eq!(
        s.current_policy().await.unwrap(),
        Some((2, "[{\"id\":\"x\"}]".to_owned()))
    );

    // Tickets: idempotent per device, attachments kept, isolated per device.
    use deskside_server::store::NewTicketRow;
    let ticket = |device_id: i64, key: &'static str| NewTicketRow {
        check: None,
        device_id,
        idempotency_key: key,
        subject: "Printer jammed",
        description: "",
        category: "printer",
        urgency: "low",
        priority: 4,
        request_hash: "req-1",
        ticket_type: "incident",
        requester_name: None,
        attachments: vec![(
            "d.json".into(),
            "application/json".into(),
            10,
            "0123456789abcdef0123456789abcdef".into(),
            true,
        )],
    };
    let (t1, created) = s.create_ticket(&ticket(dev, "k")).await.unwrap();
    assert!(created);
    assert_eq!(
        s.create_ticket(&ticket(dev, "k")).await.unwrap(),
        (t1, false),
        "same key, same ticket"
    );
    assert!(
        matches!(
            s.create_ticket(&NewTicketRow {
                check: None,
                request_hash: "req-2",
                ticket_type: "incident",
                requester_name: None,
                ..ticket(dev, "k")
            })
            .await,
            Err(StoreError::KeyReused)
        ),
        "same key, another request"
    );
    let (t2, created) = s
        .create_ticket(&ticket(other.device_id, "k"))
        .await
        .unwrap();
    assert!(created && t2 != t1, "keys are per device");
    let (row, atts) = s.device_ticket(dev, t1).await.unwrap().unwrap();
    assert_eq!(
        (row.status.as_str(), row.priority, row.category.as_str()),
        ("new", 4, "printer")
    );
    assert_eq!(atts.len(), 1);
    assert!(atts[0].diagnostics);
    assert!(
        s.device_ticket(other.device_id, t1)
            .await
            .unwrap()
            .is_none(),
        "another device's ticket"
    );
    assert_eq!(s.device_tickets(dev).await.unwrap().len(), 1);
}

/// Device search, the software catalogue, ticket filters and metric
/// retention.
async fn search_suite<S: Store>(s: S) {
    use deskside_server::store::{DeviceFilter, NewTicketRow, TicketFilter};
    let now = Utc::now();
    let mut ids = Vec::new();
    for (key, host) in [
        ("a", "alpha-laptop"),
        ("b", "beta-desktop"),
        ("c", "gamma_pc"),
    ] {
        let e = s
            .enroll_device(&NewEnrollment {
                device_key: Some(key),
                serial_number: None,
                hostname: Some(host),
                token_hash: key,
                public_key: Some(key),
            })
            .await
            .unwrap();
        ids.push(e.device_id);
    }
    let facts = |os: &str, users: Option<&str>, sw: &[(&str, &str)]| InventoryFacts {
        hostname: None,
        os_name: Some(os.to_owned()),
        os_version: Some("12".to_owned()),
        users: users.map(str::to_owned),
        software: sw
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect(),
    };
    let f0 = facts(
        "Debian GNU/Linux 12",
        Some("alice bob"),
        &[("firefox-esr", "128.1"), ("curl", "7.88")],
    );
    s.save_inventory(ids[0], "h0", "{}", None, &f0, now)
        .await
        .unwrap();
    let f1 = facts(
        "Windows 11",
        Some("carol"),
        &[("Mozilla Firefox", "129.0"), ("7-Zip", "23.01")],
    );
    s.save_inventory(ids[1], "h1", "{}", None, &f1, now - TimeDelta::days(10))
        .await
        .unwrap();
    let filter = |f: DeviceFilter| DeviceFilter { limit: 50, ..f };
    let hosts = |devices: Vec<deskside_server::store::DeviceSummary>| {
        devices
            .into_iter()
            .map(|d| d.hostname.unwrap_or_default())
            .collect::<Vec<_>>()
    };
    let all = s
        .list_devices(&filter(DeviceFilter::default()))
        .await
        .unwrap();
    assert_eq!(hosts(all), ["alpha-laptop", "beta-desktop", "gamma_pc"]);
    let by = |f: DeviceFilter| {
        let s = s.clone();
        async move { hosts(s.list_devices(&filter(f)).await.unwrap()) }
    };
    assert_eq!(
        by(DeviceFilter {
            hostname: Some("LAPTOP".into()),
            ..Default::default()
        })
        .await,
        ["alpha-laptop"]
    );
    // LIKE's own characters are plain text.
    assert_eq!(
        by(DeviceFilter {
            hostname: Some("_".into()),
            ..Default::default()
        })
        .await,
        ["gamma_pc"]
    );
    assert_eq!(
        by(DeviceFilter {
            user: Some("carol".into()),
            ..Default::default()
        })
        .await,
        ["beta-desktop"]
    );
    assert_eq!(
        by(DeviceFilter {
            os: Some("debian".into()),
            ..Default::default()
        })
        .await,
        ["alpha-laptop"]
    );
    assert_eq!(
        by(DeviceFilter {
            software: Some("firefox".into()),
            ..Default::default()
        })
        .await,
        ["alpha-laptop", "beta-desktop"]
    );
    assert_eq!(
        by(DeviceFilter {
            software: Some("firefox".into()),
            software_version: Some("129.0".into()),
            ..Default::default()
        })
        .await,
        ["beta-desktop"]
    );
    // One of several versions (what "older than" becomes), on every
    // backend; the versions a name has come from one query.
    assert_eq!(
        by(DeviceFilter {
            software: Some("firefox".into()),
            software_versions: Some(vec!["1.0".into(), "129.0".into()]),
            ..Default::default()
        })
        .await,
        ["beta-desktop"]
    );
    assert_eq!(
        by(DeviceFilter {
            software: Some("firefox".into()),
            software_versions: Some(vec!["2.0".into()]),
            ..Default::default()
        })
        .await,
        Vec::<String>::new()
    );
    // A package page names the package exactly (ignoring case).
    assert_eq!(
        by(DeviceFilter {
            software: Some("FIREFOX-ESR".into()),
            software_exact: true,
            ..Default::default()
        })
        .await,
        ["alpha-laptop"]
    );
    assert_eq!(
        by(DeviceFilter {
            software: Some("firefox".into()),
            software_exact: true,
            ..Default::default()
        })
        .await,
        Vec::<String>::new()
    );
    assert_eq!(
        s.software_versions("firefox-esr", true).await.unwrap(),
        ["128.1"]
    );
    assert!(
        s.software_versions("firefox", true)
            .await
            .unwrap()
            .is_empty()
    );
    let mut versions = s.software_versions("FIREFOX", false).await.unwrap();
    versions.sort();
    assert!(versions.contains(&"129.0".to_owned()), "{versions:?}");
    assert!(!versions.contains(&"23.01".to_owned()), "{versions:?}");
    assert_eq!(
        by(DeviceFilter {
            seen_after: Some(now - TimeDelta::days(1)),
            ..Default::default()
        })
        .await,
        ["alpha-laptop"]
    );
    assert_eq!(
        by(DeviceFilter {
            seen_before: Some(now - TimeDelta::days(1)),
            ..Default::default()
        })
        .await,
        ["beta-desktop", "gamma_pc"],
        "never seen counts as not seen since"
    );
    let page = s
        .list_devices(&DeviceFilter {
            after_id: ids[0],
            limit: 1,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(hosts(page), ["beta-desktop"]);

    // A device is read with its inventory hash and the newest policy.
    let d = s.device_by_token("a").await.unwrap().unwrap();
    assert_eq!(
        (d.inventory_hash.as_deref(), d.policy_version),
        (Some("h0"), 0)
    );

    // A new upload with no one logged in keeps the last users and replaces
    // the software.
    let f0b = facts("Debian GNU/Linux 12", None, &[("firefox-esr", "128.2")]);
    s.save_inventory(ids[0], "h0b", "{}", Some("{}"), &f0b, now)
        .await
        .unwrap();
    let d = s.device(ids[0]).await.unwrap().unwrap();
    assert_eq!(d.users.as_deref(), Some("alice bob"));
    assert!(
        by(DeviceFilter {
            software: Some("curl".into()),
            ..Default::default()
        })
        .await
        .is_empty()
    );

    // The catalogue: names in order, versions with device counts.
    let s2 = s
        .enroll_device(&NewEnrollment {
            device_key: Some("d"),
            serial_number: None,
            hostname: Some("delta"),
            token_hash: "d",
            public_key: Some("d"),
        })
        .await
        .unwrap();
    s.save_inventory(
        s2.device_id,
        "h3",
        "{}",
        None,
        &facts("Debian", None, &[("firefox-esr", "128.2"), ("vim", "9")]),
        now,
    )
    .await
    .unwrap();
    let cat = s.software(None, None, 50).await.unwrap();
    let names: Vec<&str> = cat.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["7-Zip", "Mozilla Firefox", "firefox-esr", "vim"]);
    let ff = cat.iter().find(|e| e.name == "firefox-esr").unwrap();
    assert_eq!(
        (ff.devices, ff.versions.clone()),
        (2, vec![("128.2".to_owned(), 2)])
    );
    let page = s
        .software(Some("FIRE"), Some("Mozilla Firefox"), 1)
        .await
        .unwrap();
    assert_eq!(
        page.iter().map(|e| e.name.as_str()).collect::<Vec<_>>(),
        ["firefox-esr"]
    );

    // Ticket filters.
    let new_ticket = |device_id, key: &'static str, subject: &'static str, priority| NewTicketRow {
        check: None,
        device_id,
        idempotency_key: key,
        subject,
        description: "since this morning",
        category: "network",
        urgency: "high",
        priority,
        request_hash: key,
        ticket_type: "incident",
        requester_name: None,
        attachments: Vec::new(),
    };
    let (t1, _) = s
        .create_ticket(&new_ticket(ids[0], "1", "VPN drops", 2))
        .await
        .unwrap();
    let (t2, _) = s
        .create_ticket(&new_ticket(ids[1], "2", "Printer offline", 4))
        .await
        .unwrap();
    let (t3, _) = s
        .create_ticket(&new_ticket(ids[1], "3", "No VPN at home", 2))
        .await
        .unwrap();
    let tech = s
        .create_user("tech@example.com", Role::Technician, None)
        .await
        .unwrap();
    let change = TicketChange {
        assignee: Some(Some(tech.id)),
        status: Some(TicketStatus::Open),
        ..TicketChange::default()
    };
    let PatchOutcome::Done(w) = s.patch_ticket(t3, &change, Some(1), tech.id).await.unwrap() else {
        panic!("the first change applies");
    };
    assert_eq!((w.version, w.row.status.as_str()), (2, "open"));
    // The same precondition again is stale now; the ticket is unchanged.
    let again = s.patch_ticket(t3, &change, Some(1), tech.id).await.unwrap();
    assert!(matches!(again, PatchOutcome::Stale(now) if now.version == 2));
    assert_eq!(
        s.patch_ticket(t3 + 1000, &change, None, tech.id)
            .await
            .unwrap(),
        PatchOutcome::NotFound
    );
    // open → new is no move of the workflow, and nothing is written.
    let back = TicketChange {
        status: Some(TicketStatus::New),
        ..TicketChange::default()
    };
    assert!(matches!(
        s.patch_ticket(t3, &back, None, tech.id).await.unwrap(),
        PatchOutcome::Refused(_)
    ));
    assert_eq!(s.ticket_work(t3).await.unwrap().unwrap().version, 2);
    let tickets = |f: TicketFilter| {
        let s = s.clone();
        async move {
            s.list_tickets(&TicketFilter {
                // A filter without a page size asks for all.
                limit: if f.limit == 0 { 50 } else { f.limit },
                ..f
            })
            .await
            .unwrap()
            .into_iter()
            .map(|t| t.work.row.id)
            .collect::<Vec<_>>()
        }
    };
    assert_eq!(tickets(TicketFilter::default()).await, [t3, t2, t1]);
    assert_eq!(
        tickets(TicketFilter {
            text: Some("vpn".into()),
            ..Default::default()
        })
        .await,
        [t3, t1]
    );
    assert_eq!(
        tickets(TicketFilter {
            text: Some("MORNING".into()),
            ..Default::default()
        })
        .await,
        [t3, t2, t1]
    );
    assert_eq!(
        tickets(TicketFilter {
            priority: Some(4),
            ..Default::default()
        })
        .await,
        [t2]
    );
    assert_eq!(
        tickets(TicketFilter {
            device_id: Some(ids[1]),
            ..Default::default()
        })
        .await,
        [t3, t2]
    );
    assert_eq!(
        tickets(TicketFilter {
            assignee: Some(Some(tech.id)),
            ..Default::default()
        })
        .await,
        [t3]
    );
    assert_eq!(
        tickets(TicketFilter {
            assignee: Some(None),
            ..Default::default()
        })
        .await,
        [t2, t1]
    );
    assert_eq!(
        tickets(TicketFilter {
            statuses: vec!["open".into()],
            ..Default::default()
        })
        .await,
        [t3]
    );
    assert_eq!(
        tickets(TicketFilter {
            statuses: vec!["open".into(), "new".into()],
            ..Default::default()
        })
        .await,
        [t3, t2, t1]
    );
    assert_eq!(
        tickets(TicketFilter {
            statuses: vec!["resolved".into(), "closed".into()],
            ..Default::default()
        })
        .await,
        Vec::<i64>::new()
    );
    assert_eq!(
        tickets(TicketFilter {
            after: Some((0, t3)),
            limit: 1,
            ..Default::default()
        })
        .await,
        [t2]
    );
    assert_eq!(
        tickets(TicketFilter {
            sort: TicketSort::Oldest,
            ..Default::default()
        })
        .await,
        [t1, t2, t3]
    );
    assert_eq!(
        tickets(TicketFilter {
            sort: TicketSort::Oldest,
            after: Some((0, t1)),
            ..Default::default()
        })
        .await,
        [t2, t3]
    );
    queue_details(&s, [t1, t2, t3], tech.id).await;
    concurrent_changes_lose_nothing(&s, t2, tech.id).await;
    events_suite(&s).await;
    let other = s
        .create_user("views@example.com", Role::Technician, None)
        .await
        .unwrap();
    views_suite(&s, tech.id, other.id).await;

    // Conversations of several tickets in one query: public ones only,
    // oldest first per ticket.
    s.add_comment(t1, Some(tech.id), "first on 1", false)
        .await
        .unwrap();
    s.add_comment(t2, Some(tech.id), "note on 2", true)
        .await
        .unwrap();
    s.add_device_comment(t2, "employee on 2", "k-2")
        .await
        .unwrap();
    s.add_comment(t1, Some(tech.id), "second on 1", false)
        .await
        .unwrap();
    let got: Vec<(i64, String)> = s
        .public_comments_of(&[t1, t2, t3])
        .await
        .unwrap()
        .into_iter()
        .map(|(t, c)| (t, c.body))
        .collect();
    let mut want = vec![
        // The employee's reply from the unread-marker test came first.
        (t1, "still broken".to_owned()),
        (t1, "first on 1".to_owned()),
        (t1, "second on 1".to_owned()),
        (t2, "employee on 2".to_owned()),
    ];
    want.sort_by_key(|(t, _)| *t);
    assert_eq!(got, want);
    assert!(s.public_comments_of(&[]).await.unwrap().is_empty());

    // Metric storage has its own suite (tests/metrics.rs).
}

#[tokio::test]
async fn sqlite_conforms() {
    let (s, _dir) = common::sqlite().await;
    suite(s).await;
}

#[tokio::test]
async fn sqlite_searches() {
    let (s, _dir) = common::sqlite().await;
    search_suite(s).await;
}

#[tokio::test]
async fn postgres_searches() {
    if let Some(s) = common::postgres().await {
        search_suite(s).await;
    }
}

#[tokio::test]
async fn postgres_conforms() {
    if let Some(s) = common::postgres().await {
        suite(s).await;
    }
}
