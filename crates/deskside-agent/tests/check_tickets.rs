//! Tickets a failing health check opens by itself (`open_ticket`): one per
//! failing episode, only once the episode lasted `after`, the same one
//! after an agent restart, a new one for a new episode; queued with
//! diagnostics in the employee's language.

#![allow(clippy::unwrap_used)]

use chrono::{DateTime, TimeDelta, Utc};
use deskside_agent::agent::{Agent, episode_start, episode_ticket_id};
use deskside_agent::config::AgentConfig;
use deskside_host::checks::{LoadedPolicy, Outcome, Tracker};
use deskside_protocol::CheckState;

fn policy() -> LoadedPolicy {
    let p = LoadedPolicy::from_toml(
        "[[checks]]\nid = \"disk\"\nkind = \"disk_free\"\ntitle = { en = \"Disk space\", ja = \"ディスクの空き容量\" }\n\
         open_ticket = { after = \"30m\", impact = \"high\" }\n\
         [[checks]]\nid = \"swap\"\nkind = \"swap_used\"\n",
    )
    .unwrap();
    assert!(p.errors.is_empty(), "{:?}", p.errors);
    p
}

fn agent(dir: &std::path::Path) -> Agent {
    let cfg = AgentConfig {
        state_dir: Some(dir.to_path_buf()),
        ..AgentConfig::default()
    };
    let agent = Agent::open(cfg).unwrap();
    agent.set_app_setting("language", "ja").unwrap();
    agent
}

fn run(
    tracker: &mut Tracker,
    policy: &LoadedPolicy,
    id: &str,
    state: CheckState,
    at: DateTime<Utc>,
) {
    let check = policy.checks.iter().find(|c| c.spec.id == id).unwrap();
    let outcome = Outcome {
        state,
        summary: format!("{} on purpose", state.as_str()),
        perfdata: Vec::new(),
        message: None,
    };
    tracker.record(check, outcome, at, 1);
}

#[test]
fn one_ticket_per_failing_episode_after_its_delay() {
    let dir = tempfile::tempdir().unwrap();
    let policy = policy();
    let t0: DateTime<Utc> = "2026-12-01T09:00:00Z".parse().unwrap();
    let mut tracker = Tracker::default();
    run(&mut tracker, &policy, "disk", CheckState::Ok, t0);
    run(&mut tracker, &policy, "swap", CheckState::Critical, t0);
    run(
        &mut tracker,
        &policy,
        "disk",
        CheckState::Warning,
        t0 + TimeDelta::minutes(1),
    );
    let since = episode_start(&tracker, "disk").unwrap();
    assert_eq!(since, t0 + TimeDelta::minutes(1));
    // Escalating is the same episode.
    run(
        &mut tracker,
        &policy,
        "disk",
        CheckState::Critical,
        t0 + TimeDelta::minutes(10),
    );
    assert_eq!(episode_start(&tracker, "disk"), Some(since));

    {
        let agent = agent(dir.path());
        let early = agent
            .file_check_tickets(&policy, &tracker, since + TimeDelta::minutes(29))
            .unwrap();
        assert!(early.is_empty(), "not before `after`");
        let filed = agent
            .file_check_tickets(&policy, &tracker, since + TimeDelta::minutes(31))
            .unwrap();
        assert_eq!(
            filed,
            [episode_ticket_id("disk", since)],
            "only the check with open_ticket"
        );
        let again = agent
            .file_check_tickets(&policy, &tracker, since + TimeDelta::minutes(45))
            .unwrap();
        assert!(again.is_empty(), "once per episode");
        let tickets = agent.my_tickets().unwrap();
        assert_eq!(tickets.len(), 1);
        assert_eq!(
            tickets[0].subject,
            "ヘルスチェックの失敗: ディスクの空き容量"
        );
        assert_eq!(agent.outbox_depth().unwrap(), 1);
    }
    // The agent restarts: the episode still has its ticket.
    let agent = agent(dir.path());
    let after_restart = agent
        .file_check_tickets(&policy, &tracker, since + TimeDelta::hours(2))
        .unwrap();
    assert!(after_restart.is_empty());

    // Recovered, then failing again: a new episode, a new ticket.
    run(
        &mut tracker,
        &policy,
        "disk",
        CheckState::Ok,
        t0 + TimeDelta::hours(3),
    );
    assert_eq!(episode_start(&tracker, "disk"), None);
    assert!(
        agent
            .file_check_tickets(&policy, &tracker, t0 + TimeDelta::hours(4))
            .unwrap()
            .is_empty()
    );
    let relapse = t0 + TimeDelta::hours(5);
    run(&mut tracker, &policy, "disk", CheckState::Warning, relapse);
    let filed = agent
        .file_check_tickets(&policy, &tracker, relapse + TimeDelta::minutes(30))
        .unwrap();
    assert_eq!(filed, [episode_ticket_id("disk", relapse)]);
    assert_ne!(
        episode_ticket_id("disk", relapse),
        episode_ticket_id("disk", since)
    );
    assert_eq!(agent.my_tickets().unwrap().len(), 2);
}

#[test]
fn the_ticket_carries_diagnostics_and_the_policy_impact() {
    let dir = tempfile::tempdir().unwrap();
    let policy = policy();
    let t0: DateTime<Utc> = "2026-12-01T09:00:00Z".parse().unwrap();
    let mut tracker = Tracker::default();
    run(&mut tracker, &policy, "disk", CheckState::Critical, t0);
    let agent = agent(dir.path());
    agent
        .file_check_tickets(&policy, &tracker, t0 + TimeDelta::hours(1))
        .unwrap();
    let store = deskside_agent::store::AgentStore::open(dir.path()).unwrap();
    let items = store.pending().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].idempotency_key, episode_ticket_id("disk", t0));
    assert_eq!(items[0].payload["urgency"], "high");
    assert_eq!(items[0].payload["category"], "hardware");
    let description = items[0].payload["description"].as_str().unwrap();
    assert!(
        description.contains("ディスクの空き容量") && description.contains("critical on purpose"),
        "{description}"
    );
    let files = store.files(items[0].id).unwrap();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].part, "diagnostics");
}

#[test]
fn open_ticket_is_checked_in_the_policy() {
    for (bad, why) in [
        ("open_ticket = { after = \"10s\" }", "between 1m and 30d"),
        ("open_ticket = { after = \"soon\" }", "soon"),
        (
            "open_ticket = { after = \"1h\", impact = \"urgent\" }",
            "urgent",
        ),
        (
            "open_ticket = { after = \"1h\", resolve_after = \"30d\" }",
            "resolve_after",
        ),
        (
            "open_ticket = { after = \"1h\", when = \"always\" }",
            "when",
        ),
        ("open_ticket = \"30m\"", "a table"),
    ] {
        let p = LoadedPolicy::from_toml(&format!(
            "[[checks]]\nid = \"d\"\nkind = \"disk_free\"\n{bad}\n"
        ))
        .unwrap();
        assert_eq!(p.checks.len(), 0, "{bad}");
        let e = p.errors[0].to_string();
        assert!(e.contains("open_ticket") || e.contains(why), "{bad}: {e}");
        assert!(e.contains(why), "{bad}: {e}");
    }
    let ok = LoadedPolicy::from_toml(
        "[[checks]]\nid = \"d\"\nkind = \"disk_free\"\nopen_ticket = { after = \"30m\" }\n",
    )
    .unwrap();
    let rule = ok.checks[0].open_ticket.unwrap();
    assert_eq!(rule.after, std::time::Duration::from_secs(1800));
    assert_eq!(
        rule.resolve_after,
        std::time::Duration::from_secs(3600),
        "an hour by default"
    );
    assert_eq!(rule.urgency, deskside_protocol::Urgency::Medium);
}
