//! The `deskside-agent` binary on this machine: what it prints, and how it
//! fails.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output};

use deskside_protocol::{Inventory, InventoryDiff, MetricSample, SoftwareSource};

fn agent(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_deskside-agent"))
        .args(args)
        .env_remove("DESKSIDE_CONFIG")
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    assert!(
        o.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout.clone()).unwrap()
}

/// A failure must be exactly one line on stderr, never a panic.
fn assert_one_line_error(o: &Output, code: i32, needle: &str) {
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(code), "stderr: {err}");
    assert_eq!(err.lines().count(), 1, "one line expected, got: {err}");
    assert!(err.starts_with("error: "), "{err}");
    assert!(err.contains(needle), "{err:?} should mention {needle:?}");
    assert!(
        !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
        "{err}"
    );
}

fn inventory_json() -> Inventory {
    serde_json::from_str(&stdout(&agent(&["inventory", "--format", "json"]))).unwrap()
}

#[test]
fn software_matches_dpkg_query_exactly() {
    let inv = inventory_json();
    let ours: BTreeSet<String> = inv
        .software
        .iter()
        .filter(|p| p.source == SoftwareSource::Dpkg)
        .map(|p| format!("{}:{}", p.name, p.architecture.as_deref().unwrap_or("")))
        .collect();
    let Ok(out) = Command::new("dpkg-query")
        .args(["-W", "-f=${db:Status-Abbrev} ${Package}:${Architecture}\n"])
        .output()
    else {
        assert!(
            ours.is_empty(),
            "no dpkg-query here, so no dpkg packages either"
        );
        return;
    };
    let theirs: BTreeSet<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        // `ii`, or `hi` for packages on hold: installed either way.
        .filter(|l| l.starts_with("ii ") || l.starts_with("hi "))
        .map(|l| l[3..].trim().to_owned())
        .collect();
    assert!(!theirs.is_empty());
    assert_eq!(ours, theirs);
    let versions_known = inv.software.iter().filter(|p| p.version.is_some()).count();
    assert_eq!(
        versions_known,
        inv.software.len(),
        "every package has a version"
    );
}

#[test]
fn hardware_sections_are_filled() {
    let inv = inventory_json();
    let hw = &inv.hardware;
    let cpu = hw.cpu.as_ref().unwrap();
    assert_eq!(
        cpu.logical_cores.unwrap() as usize,
        std::thread::available_parallelism().unwrap().get()
    );
    assert!(cpu.brand.is_some());
    assert!(hw.memory.as_ref().unwrap().total_bytes.unwrap() > 100 * 1024 * 1024);
    assert!(
        hw.volumes
            .iter()
            .any(|v| v.mount_point == "/" && v.total_bytes.unwrap() > 0)
    );
    assert!(
        hw.network_interfaces
            .iter()
            .any(|i| i.loopback == Some(true))
    );
    assert!(inv.device.hostname.is_some());
    assert!(inv.os.kernel_version.is_some() && inv.os.architecture.is_some());
    assert_eq!(
        inv.agent_version.as_deref(),
        Some(env!("CARGO_PKG_VERSION"))
    );
    // The JSON must say exactly what the process was asked: no nulls.
    let raw = stdout(&agent(&["inventory", "--format", "json"]));
    assert!(!raw.contains(": null"));
}

#[test]
fn absent_dmi_is_absent_without_error() {
    let inv = inventory_json();
    let dmi = Path::new("/sys/class/dmi/id");
    let system = inv.hardware.system.clone().unwrap_or_default();
    if dmi.exists() {
        let vendor = std::fs::read_to_string(dmi.join("sys_vendor")).ok();
        assert_eq!(
            system.vendor,
            vendor.and_then(|v| deskside_host::collect::dmi::clean(&v))
        );
    } else {
        assert!(
            system.vendor.is_none() && system.model.is_none() && system.serial_number.is_none()
        );
        assert!(inv.hardware.bios.is_none() && inv.hardware.board.is_none());
    }
}

#[test]
fn table_and_glpi_formats() {
    let table = stdout(&agent(&["inventory"]));
    assert!(
        table.contains("Host") && table.contains("Memory") && table.contains("Software"),
        "{table}"
    );
    let glpi: serde_json::Value =
        serde_json::from_str(&stdout(&agent(&["inventory", "--format", "glpi"]))).unwrap();
    assert_eq!(glpi["action"], "inventory");
    assert!(
        glpi["content"]["versionclient"]
            .as_str()
            .unwrap()
            .starts_with("Deskside-Agent_v")
    );
}

#[test]
fn one_metrics_sample() {
    let s: MetricSample =
        serde_json::from_str(&stdout(&agent(&["metrics", "--format", "json"]))).unwrap();
    assert!(s.cpu.is_some() && s.memory.is_some());
    assert!(s.top_cpu.len() <= 5 && s.top_memory.len() <= 5 && !s.top_memory.is_empty());
    let table = stdout(&agent(&["metrics"]));
    assert!(
        table.contains("CPU") && table.contains("Top memory"),
        "{table}"
    );
}

#[test]
fn metrics_watch_prints_one_line_per_sample() {
    use std::io::{BufRead, BufReader};
    let mut child = Command::new(env!("CARGO_BIN_EXE_deskside-agent"))
        .args([
            "metrics",
            "--watch",
            "--format",
            "json",
            "--interval",
            "100ms",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    for _ in 0..3 {
        let line = lines.next().unwrap().unwrap();
        let _: MetricSample = serde_json::from_str(&line).unwrap();
    }
    // The reader goes away (`| head -3`): the watch ends by itself.
    drop(lines);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            panic!("--watch kept running after its reader went away");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert!(status.success(), "{status}");
    let o = agent(&["metrics", "--watch", "--interval", "0s"]);
    assert_one_line_error(&o, 2, "--interval");
}

#[test]
fn watch_interval_defaults_to_the_configured_one() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("agent.toml");
    std::fs::write(&cfg, "[metrics]\ninterval = \"1s\"\n").unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_deskside-agent"))
        .args([
            "--config",
            cfg.to_str().unwrap(),
            "metrics",
            "--watch",
            "--format",
            "json",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let a: MetricSample = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    let b: MetricSample = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    let gap = (b.timestamp - a.timestamp).num_milliseconds();
    assert!(
        (900..5000).contains(&gap),
        "samples {gap} ms apart, configured 1s"
    );
    assert!(b.window_secs.unwrap() > 0.9);
}

#[test]
fn diff_of_two_saved_inventories() {
    let dir = tempfile::tempdir().unwrap();
    let old = inventory_json();
    let mut new = old.clone();
    let removed = new.software.remove(0);
    new.software[0].version = Some("999:1.0".into());
    new.hardware.memory.as_mut().unwrap().total_bytes = Some(1);
    let (a, b) = (dir.path().join("old.json"), dir.path().join("new.json"));
    std::fs::write(&a, serde_json::to_string(&old).unwrap()).unwrap();
    std::fs::write(&b, serde_json::to_string(&new).unwrap()).unwrap();
    let (a, b) = (a.to_str().unwrap(), b.to_str().unwrap());

    let d: InventoryDiff =
        serde_json::from_str(&stdout(&agent(&["diff", a, b, "--format", "json"]))).unwrap();
    assert_eq!(d.software_removed.len(), 1);
    assert_eq!(d.software_removed[0].name, removed.name);
    assert_eq!(d.software_changed.len(), 1);
    assert_eq!(d.system_changes.len(), 1);
    let table = stdout(&agent(&["diff", a, b]));
    assert!(table.contains(&format!("  - {}", removed.name)), "{table}");
    assert!(table.contains("(upgraded"), "{table}");
    assert!(table.contains("hardware.memory.total_bytes"), "{table}");
    assert_eq!(stdout(&agent(&["diff", a, a])), "No changes.\n");
}

#[test]
fn changes_since_the_last_run() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let s = state.to_str().unwrap();
    assert!(stdout(&agent(&["--state-dir", s, "changes"])).contains("baseline"));
    let snapshot = state.join("inventory.json");
    assert!(snapshot.exists());
    // Pretend a package was not there last time.
    let mut inv: Inventory =
        serde_json::from_str(&std::fs::read_to_string(&snapshot).unwrap()).unwrap();
    let gone = inv.software.pop();
    std::fs::write(&snapshot, serde_json::to_string(&inv).unwrap()).unwrap();
    let out = stdout(&agent(&["--state-dir", s, "changes"]));
    match gone {
        Some(p) => assert!(out.contains(&format!("+ {}", p.name)), "{out}"),
        None => assert_eq!(out, "No changes.\n"),
    }
    assert_eq!(
        stdout(&agent(&["--state-dir", s, "changes"])),
        "No changes.\n"
    );
}

#[test]
fn bad_input_is_one_clear_line() {
    assert_one_line_error(&agent(&["inventory", "--bogus"]), 2, "--bogus");
    assert_one_line_error(&agent(&["inventory", "--format", "xml"]), 2, "xml");
    assert_one_line_error(&agent(&["frobnicate"]), 2, "frobnicate");
    assert_one_line_error(
        &agent(&["diff", "/nonexistent/old.json", "/nonexistent/new.json"]),
        1,
        "/nonexistent/old.json",
    );

    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.json");
    std::fs::write(&junk, b"{\"collected_at\": 12").unwrap();
    let j = junk.to_str().unwrap();
    assert_one_line_error(&agent(&["diff", j, j]), 1, "junk.json");
    std::fs::write(&junk, [0xff, 0xfe, 0x00]).unwrap();
    assert_one_line_error(&agent(&["diff", j, j]), 1, "junk.json");

    let cfg = dir.path().join("agent.toml");
    std::fs::write(&cfg, "[metrics]\ninterval = \"0s\"\n").unwrap();
    assert_one_line_error(
        &agent(&["--config", cfg.to_str().unwrap(), "inventory"]),
        1,
        "metrics.interval",
    );
    std::fs::write(&cfg, "this is = = not toml").unwrap();
    assert_one_line_error(
        &agent(&["--config", cfg.to_str().unwrap(), "inventory"]),
        1,
        "agent.toml",
    );
    assert_one_line_error(
        &agent(&["--config", "/nonexistent/agent.toml", "inventory"]),
        1,
        "/nonexistent/agent.toml",
    );

    let out = Command::new(env!("CARGO_BIN_EXE_deskside-agent"))
        .args(["inventory"])
        .env("DESKSIDE_METRICS_TOP_PROCESSES", "many")
        .output()
        .unwrap();
    assert_one_line_error(&out, 1, "DESKSIDE_METRICS_TOP_PROCESSES");
}

#[test]
fn default_config_and_version() {
    let text = stdout(&agent(&["default-config"]));
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("agent.toml");
    std::fs::write(&cfg, &text).unwrap();
    // The printed example is a working configuration.
    stdout(&agent(&[
        "--config",
        cfg.to_str().unwrap(),
        "metrics",
        "--format",
        "json",
    ]));
    assert!(text.contains("[metrics]") && text.contains("DESKSIDE_METRICS_INTERVAL"));
    let v = stdout(&agent(&["--version"]));
    assert_eq!(
        v.trim(),
        format!("deskside-agent {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn check_runs_every_default_check_and_exits_with_the_worst_state() {
    let o = agent(&["check", "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let results = doc["results"].as_array().unwrap();
    let policy = deskside_host::checks::LoadedPolicy::builtin();
    let ids: Vec<&str> = results
        .iter()
        .map(|r| r["check_id"].as_str().unwrap())
        .collect();
    let want: Vec<&str> = policy.checks.iter().map(|c| c.spec.id.as_str()).collect();
    assert_eq!(ids, want, "a result for every default check");
    for r in results {
        assert!(!r["summary"].as_str().unwrap().is_empty(), "{r}");
        if r["state"] == "unknown" {
            assert!(
                r["summary"].as_str().unwrap().len() > 5,
                "unknown needs a reason: {r}"
            );
        }
    }
    let worst = results
        .iter()
        .filter(|r| r["report_only"] == false)
        .map(|r| {
            serde_json::from_value::<deskside_protocol::CheckState>(r["state"].clone()).unwrap()
        })
        .max_by_key(|s| s.severity())
        .unwrap();
    assert_eq!(doc["overall"], worst.as_str());
    assert_eq!(o.status.code(), Some(i32::from(worst.exit_code())));

    let table = String::from_utf8(agent(&["check"]).stdout).unwrap();
    assert!(
        table.starts_with(&format!(
            "DESKSIDE {} - ",
            worst.as_str().to_ascii_uppercase()
        )),
        "{table}"
    );
}

#[test]
fn check_output_stays_english_unless_a_language_is_asked_for() {
    // A policy whose one check's summary is known: a swap check always
    // reports (a share, or "no swap configured").
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("p.toml");
    std::fs::write(
        &policy,
        "[[checks]]\nid = \"mem\"\nkind = \"memory_available\"\ntitle = { en = \"Memory\", ko = \"메모리\", ja = \"メモリ\" }\n",
    )
    .unwrap();
    let p = policy.to_str().unwrap();
    let english = String::from_utf8(agent(&["check", "--policy", p]).stdout).unwrap();
    assert!(english.contains("of memory available"), "{english}");
    let json: serde_json::Value =
        serde_json::from_slice(&agent(&["check", "--policy", p, "--format", "json"]).stdout)
            .unwrap();
    assert_eq!(
        json["results"][0]["message"]["key"], "memory.available",
        "{json}"
    );
    for (lang, word, title) in [("ko", "사용 가능", "메모리"), ("ja", "使用可能", "メモリ")]
    {
        let table =
            String::from_utf8(agent(&["check", "--policy", p, "--lang", lang]).stdout).unwrap();
        assert!(
            table.starts_with("DESKSIDE "),
            "the plugin line stays: {table}"
        );
        assert!(
            table.contains(word) && table.contains(title),
            "{lang}: {table}"
        );
        assert!(!table.contains("of memory available"), "{lang}: {table}");
    }
    let bad = agent(&["check", "--lang", "fr"]);
    assert!(!bad.status.success());
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("unknown language \"fr\""), "{err}");
}

#[cfg(unix)]
#[test]
fn check_with_a_policy_file() {
    let dir = tempfile::tempdir().unwrap();
    let plugin = dir.path().join("plugin.sh");
    std::fs::write(
        &plugin,
        "#!/bin/sh\necho 'CRITICAL - it broke|x=1'\nexit 2\n",
    )
    .unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&plugin, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let policy = dir.path().join("policy.toml");
    std::fs::write(
        &policy,
        format!(
            "[[checks]]\nid = \"up\"\nkind = \"uptime\"\n\n\
             [[checks]]\nid = \"broken\"\nkind = \"disk_free\"\nwarn = \"lots\"\n\n\
             [[checks]]\nid = \"plugin\"\nkind = \"command\"\nargv = [\"{}\"]\n",
            plugin.display()
        ),
    )
    .unwrap();
    let p = policy.to_str().unwrap();
    let o = agent(&["check", "--policy", p, "--format", "json"]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "the plugin's CRITICAL is the worst state"
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("check \"broken\", field \"warn\""), "{err}");
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        doc["results"].as_array().unwrap().len(),
        2,
        "the bad check did not stop the others"
    );
    assert_eq!(doc["results"][1]["summary"], "CRITICAL - it broke");
    assert_eq!(doc["policy_errors"].as_array().unwrap().len(), 1);

    // The same policy as the desk sends it, in JSON.
    let json_policy = dir.path().join("policy.json");
    std::fs::write(
        &json_policy,
        r#"{"version": 2, "checks": [{"id": "up", "kind": "uptime", "warn": "3650d"}]}"#,
    )
    .unwrap();
    let o = agent(&["check", "--policy", json_policy.to_str().unwrap()]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
}

#[test]
fn check_errors_are_unknown_for_nagios() {
    assert_one_line_error(&agent(&["check", "--bogus"]), 3, "--bogus");
    assert_one_line_error(
        &agent(&["check", "--policy", "/nonexistent/policy.toml"]),
        3,
        "/nonexistent/policy.toml",
    );
    let list = stdout(&agent(&["check", "--list"]));
    for k in deskside_host::checks::policy::KINDS {
        assert!(
            list.contains(&format!("\n{}  (default interval", k.name)),
            "{} missing from --list",
            k.name
        );
    }
}

#[test]
fn a_policy_without_valid_checks_is_not_healthy() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("p.toml");
    std::fs::write(&p, "[[checks]]\nid = \"x\"\nkind = \"nonsense\"\n").unwrap();
    let o = agent(&["check", "--policy", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(3), "UNKNOWN, not OK");
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("DESKSIDE UNKNOWN - "));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("2 invalid in the policy"),
        "the bad check, and no valid check at all"
    );
    // A JSON array is recognised as JSON and rejected as such.
    let j = dir.path().join("p.json");
    std::fs::write(&j, "[1, 2]").unwrap();
    assert_one_line_error(
        &agent(&["check", "--policy", j.to_str().unwrap()]),
        3,
        "is not a JSON policy",
    );
}
