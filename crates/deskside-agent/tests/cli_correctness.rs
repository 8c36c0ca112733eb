//! `deskside-agent` as an administrator tries it: broken policies, the
//! Monitoring Plugins conventions, `check_load` agreement, and the command
//! line's errors and exit codes.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Output};

use deskside_protocol::CheckState;

fn agent(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_deskside-agent"))
        .args(args)
        .env_remove("DESKSIDE_CONFIG")
        .env("DESKSIDE_LOG", "warn")
        .output()
        .unwrap()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_owned()
}

#[test]
fn a_misspelt_or_empty_policy_is_unknown_never_ok() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let state = state.to_str().unwrap();
    let misspelt = write(
        dir.path(),
        "check.toml",
        "[[check]]\nid = \"up\"\nkind = \"uptime\"\n",
    );
    let json_misspelt = write(
        dir.path(),
        "check.json",
        r#"{"check": [{"id": "up", "kind": "uptime"}]}"#,
    );
    for p in [&misspelt, &json_misspelt] {
        for notify in [false, true] {
            let mut args = vec!["--state-dir", state, "check", "--policy", p];
            if notify {
                args.push("--notify");
            }
            let o = agent(&args);
            assert_eq!(o.status.code(), Some(3), "{p}: {}", err(&o));
            assert!(
                err(&o).contains("unknown top-level key \"check\""),
                "{}",
                err(&o)
            );
            assert_eq!(err(&o).lines().count(), 1, "{}", err(&o));
        }
    }
    let extra = write(
        dir.path(),
        "extra.toml",
        "version = 1\nchecks = []\nthresholds = 3\n",
    );
    let o = agent(&["check", "--policy", &extra]);
    assert_eq!(o.status.code(), Some(3));
    assert!(err(&o).contains("\"thresholds\""), "{}", err(&o));

    for (name, text) in [
        ("empty.toml", ""),
        ("empty-array.toml", "version = 2\nchecks = []\n"),
        ("empty.json", r#"{"version": 2, "checks": []}"#),
        ("only-comments.toml", "# nothing here\n"),
    ] {
        let p = write(dir.path(), name, text);
        for notify in [false, true] {
            let mut args = vec!["--state-dir", state, "check", "--policy", &p];
            if notify {
                args.push("--notify");
            }
            let o = agent(&args);
            assert_eq!(o.status.code(), Some(3), "{name}: UNKNOWN, not OK");
            assert!(
                out(&o).starts_with("DESKSIDE UNKNOWN - "),
                "{name}: {}",
                out(&o)
            );
            assert!(err(&o).contains("has no checks"), "{name}: {}", err(&o));
        }
    }
}

#[test]
fn failures_of_check_itself_are_unknown_with_notify_too() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let state = state.to_str().unwrap();
    let broken = write(dir.path(), "broken.toml", "[[checks]\nid = ");
    for args in [
        vec!["check", "--notify", "--bogus"],
        vec!["check", "--notify", "--policy", "/nonexistent/p.toml"],
        vec!["check", "--notify", "--policy", &broken],
        vec!["check", "--policy", &broken],
        vec!["check", "--notify", "--format", "xml"],
    ] {
        let mut full = vec!["--state-dir", state];
        full.extend(&args);
        let o = agent(&full);
        assert_eq!(o.status.code(), Some(3), "{args:?}: {}", err(&o));
        assert!(err(&o).starts_with("error: "), "{}", err(&o));
        assert_eq!(err(&o).lines().count(), 1, "{}", err(&o));
    }
}

/// The Monitoring Plugins guidelines' performance data: `'label'=value[UOM];
/// [warn];[crit];[min];[max]`, UOM one of theirs, thresholds as ranges.
fn assert_guideline_perfdata(item: &str) -> (f64, Option<String>, Option<String>) {
    let (label, rest) = item.rsplit_once('=').unwrap();
    assert!(
        label.starts_with('\'') && label.ends_with('\''),
        "quoted label: {item}"
    );
    let fields: Vec<&str> = rest.split(';').collect();
    assert!(fields.len() <= 5, "{item}");
    let value_uom = fields[0];
    let split = value_uom
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-'))
        .unwrap_or(value_uom.len());
    let value: f64 = value_uom[..split].parse().unwrap();
    let uom = &value_uom[split..];
    assert!(
        ["", "s", "%", "B", "c"].contains(&uom),
        "unit {uom:?} is not a standard one: {item}"
    );
    let range = |s: &str| {
        let body = s.strip_prefix('@').unwrap_or(s);
        let ok = |n: &str| n.is_empty() || n == "~" || n.parse::<f64>().is_ok();
        match body.split_once(':') {
            Some((a, b)) => ok(a) && (b.is_empty() || b.parse::<f64>().is_ok()),
            None => body.parse::<f64>().is_ok(),
        }
    };
    for (i, f) in fields.iter().enumerate().skip(1) {
        if f.is_empty() {
            continue;
        }
        if i <= 2 {
            assert!(range(f), "threshold {f:?} is not a plain range: {item}");
        } else {
            assert!(f.parse::<f64>().is_ok(), "min/max {f:?}: {item}");
        }
    }
    let get = |i: usize| {
        fields
            .get(i)
            .filter(|f| !f.is_empty())
            .map(|f| (*f).to_owned())
    };
    (value, get(1), get(2))
}

/// Whether `value` is outside a Monitoring Plugins range (alerts).
fn alerts(range: &str, value: f64) -> bool {
    let (inside, body) = match range.strip_prefix('@') {
        Some(b) => (true, b),
        None => (false, range),
    };
    let (lo, hi) = match body.split_once(':') {
        Some((a, b)) => (
            if a == "~" || a.is_empty() {
                f64::NEG_INFINITY
            } else {
                a.parse().unwrap()
            },
            if b.is_empty() {
                f64::INFINITY
            } else {
                b.parse().unwrap()
            },
        ),
        None => (0.0, body.parse().unwrap()),
    };
    let within = lo <= value && value <= hi;
    if inside { within } else { !within }
}

#[test]
fn performance_data_follows_the_guidelines() {
    let dir = tempfile::tempdir().unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    // Thresholds chosen so that each check lands in a known state, and the
    // ranges must say the same as the state.
    let policy = write(
        dir.path(),
        "p.toml",
        &format!(
            "[[checks]]\nid = \"root-pct\"\nkind = \"disk_free\"\nmount = \"/\"\nwarn = \"100%\"\ncrit = \"0%\"\n\n\
             [[checks]]\nid = \"root-bytes\"\nkind = \"disk_free\"\nmount = \"/\"\nwarn = \"1024TiB\"\ncrit = \"1KiB\"\n\n\
             [[checks]]\nid = \"mem\"\nkind = \"memory_available\"\nwarn = \"1%\"\ncrit = \"0%\"\n\n\
             [[checks]]\nid = \"load\"\nkind = \"cpu_load\"\nwarn = 1000\ncrit = 2000\n\n\
             [[checks]]\nid = \"up\"\nkind = \"uptime\"\nwarn = \"1s\"\ncrit = \"3650d\"\n\n\
             [[checks]]\nid = \"tcp\"\nkind = \"tcp_connect\"\nhost = \"127.0.0.1\"\nport = {port}\nwarn = \"10s\"\ncrit = \"20s\"\n"
        ),
    );
    let o = agent(&["check", "--policy", &policy, "--format", "table"]);
    let first = out(&o).lines().next().unwrap().to_owned();
    let (_, perf) = first.split_once(" | ").expect("performance data");
    let json: serde_json::Value =
        serde_json::from_slice(&agent(&["check", "--policy", &policy, "--format", "json"]).stdout)
            .unwrap();
    let mut seen = std::collections::BTreeMap::new();
    for item in perf.split(' ') {
        let (value, warn, crit) = assert_guideline_perfdata(item);
        let label = item.split('=').next().unwrap().trim_matches('\'');
        let check = label.split(':').next().unwrap().to_owned();
        let state = if crit.as_deref().is_some_and(|r| alerts(r, value)) {
            CheckState::Critical
        } else if warn.as_deref().is_some_and(|r| alerts(r, value)) {
            CheckState::Warning
        } else {
            CheckState::Ok
        };
        let e = seen.entry(check).or_insert(CheckState::Ok);
        *e = CheckState::worst([*e, state]);
    }
    for r in json["results"].as_array().unwrap() {
        let id = r["check_id"].as_str().unwrap();
        let state: CheckState = serde_json::from_value(r["state"].clone()).unwrap();
        assert_eq!(
            seen.get(id),
            Some(&state),
            "{id}: the ranges in the performance data must say what the check says ({perf})"
        );
    }
    assert_eq!(seen["root-pct"], CheckState::Warning);
    assert_eq!(seen["up"], CheckState::Warning);
    assert!(perf.contains("'up:uptime'="), "{perf}");
    assert!(
        perf.split(' ').any(
            |i| i.starts_with("'root-bytes:/'=") && i.split(';').next().unwrap().ends_with('B')
        ),
        "byte thresholds go with a value in bytes: {perf}"
    );
    drop(listener);
}

/// `cpu_load` and the real `check_load` reach the same state for the same
/// thresholds, with one value (applied to all three windows) and three.
#[test]
fn cpu_load_agrees_with_check_load() {
    let check_load = Path::new("/usr/lib/nagios/plugins/check_load");
    assert!(
        check_load.exists(),
        "monitoring-plugins-basic provides check_load (scripts/test.sh installs it)"
    );
    let dir = tempfile::tempdir().unwrap();
    let loads = || -> [f64; 3] {
        let text = std::fs::read_to_string("/proc/loadavg").unwrap();
        let v: Vec<f64> = text
            .split_whitespace()
            .take(3)
            .map(|x| x.parse().unwrap())
            .collect();
        [v[0], v[1], v[2]]
    };
    let l = loads();
    let max = l.iter().cloned().fold(0.0, f64::max);
    // Thresholds around and between the current loads; one too close to a
    // load that may move between the two runs is skipped.
    let mut candidates: Vec<f64> = vec![0.0, max * 4.0 + 1.0];
    for v in l {
        candidates.push((v * 0.5 * 100.0).round() / 100.0);
        candidates.push((v * 1.5 * 100.0).round() / 100.0 + 0.05);
    }
    let mut compared = 0;
    let mut run = |warn: String, crit: String, per_core: bool| {
        let policy = write(
            dir.path(),
            "load.toml",
            &format!(
                "[[checks]]\nid = \"load\"\nkind = \"cpu_load\"\nper_core = {per_core}\nwarn = \"{warn}\"\ncrit = \"{crit}\"\n"
            ),
        );
        let before = loads();
        let ours = agent(&["check", "--policy", &policy, "--format", "json"]);
        let mut cmd = Command::new(check_load);
        cmd.args(["-w", &warn, "-c", &crit]);
        if per_core {
            cmd.arg("-r");
        }
        let theirs = cmd.output().unwrap();
        let after = loads();
        // The kernel updates the averages every 5 s: a threshold between
        // (or near) the loads before and after the two runs may fairly be
        // judged either way, so it is not compared.
        let near = |t: &str| {
            let ts: Vec<f64> = t.split(',').map(|x| x.parse().unwrap()).collect();
            (0..3).any(|i| {
                let t = if ts.len() == 1 { ts[0] } else { ts[i] };
                let lo = before[i].min(after[i]) - 0.1;
                let hi = before[i].max(after[i]) + 0.1;
                (lo..=hi).contains(&t)
            })
        };
        if near(&warn) || near(&crit) {
            return;
        }
        assert_eq!(
            ours.status.code(),
            theirs.status.code(),
            "warn {warn} crit {crit} per_core {per_core}: deskside {} / check_load {}",
            out(&ours),
            String::from_utf8_lossy(&theirs.stdout)
        );
        compared += 1;
    };
    for &w in &candidates {
        for &c in &candidates {
            if c < w {
                continue;
            }
            run(format!("{w}"), format!("{c}"), false);
        }
    }
    // Three values: each window its own threshold.
    for (w, c) in [
        (
            [l[0] * 0.5, l[1] * 4.0 + 1.0, l[2] * 4.0 + 1.0],
            [l[0] * 4.0 + 2.0, l[1] * 4.0 + 2.0, l[2] * 4.0 + 2.0],
        ),
        (
            [l[0] * 4.0 + 1.0, l[1] * 4.0 + 1.0, l[2] * 0.5],
            [l[0] * 4.0 + 2.0, l[1] * 4.0 + 2.0, l[2] * 0.6],
        ),
        ([max * 4.0 + 1.0; 3], [max * 4.0 + 2.0; 3]),
    ] {
        let fmt = |t: [f64; 3]| {
            t.iter()
                .map(|v| format!("{:.2}", v))
                .collect::<Vec<_>>()
                .join(",")
        };
        run(fmt(w), fmt(c), false);
    }
    assert!(
        compared >= 3,
        "only {compared} comparisons were far enough from the loads"
    );
}

#[test]
fn bad_command_lines_exit_2_and_name_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let state = state.to_str().unwrap();
    let two = |args: &[&str], needle: &str| {
        let mut full = vec!["--state-dir", state];
        full.extend(args);
        let o = agent(&full);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", err(&o));
        assert_eq!(err(&o).lines().count(), 1, "{}", err(&o));
        assert!(
            err(&o).contains(needle),
            "{args:?}: {:?} lacks {needle:?}",
            err(&o)
        );
    };
    two(&["ticket", "new"], "--subject");
    two(&["ticket", "reply", "t-1"], "--message");
    two(&["ticket", "rate", "t-1"], "--score");
    two(
        &["ticket", "new", "--subject", "   "],
        "the subject must be 1 to 200",
    );
    let long = "a".repeat(201);
    two(
        &["ticket", "new", "--subject", &long],
        "the subject must be 1 to 200",
    );
    two(
        &["ticket", "reply", "t-1", "--message", ""],
        "a reply must be",
    );
    two(
        &["enroll", "--server", "desk.example.com", "--secret", "x"],
        "not an http://",
    );
    two(
        &["enroll", "--server", "https://", "--secret", "x"],
        "not an http://",
    );
    two(&["metrics", "--watch", "--interval", "0s"], "--interval");
    two(&["metrics", "--interval", "soon"], "--interval");
    // Nothing was queued by the refused commands.
    let o = agent(&["--state-dir", state, "ticket", "list", "--format", "json"]);
    assert_eq!(out(&o).trim(), "[]", "{}", err(&o));
}

#[test]
fn errors_say_their_cause_once() {
    let o = agent(&["--config", "/nonexistent/agent.toml", "status"]);
    assert_eq!(o.status.code(), Some(1));
    let e = err(&o);
    assert_eq!(e.matches("No such file or directory").count(), 1, "{e}");
    let o = agent(&["diff", "/nonexistent/a.json", "/nonexistent/b.json"]);
    assert_eq!(err(&o).matches("os error 2").count(), 1, "{}", err(&o));
}

#[test]
fn config_errors_name_the_file_and_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let case = |text: &str, key: &str, what: &str| {
        let p = write(dir.path(), "agent.toml", text);
        let o = agent(&["--config", &p, "status"]);
        assert_eq!(o.status.code(), Some(1), "{text}");
        let e = err(&o);
        assert!(e.contains(&p), "{text}: file missing in {e}");
        assert!(
            e.contains(&format!("key {key}")),
            "{text}: key missing in {e}"
        );
        assert!(e.contains(what), "{text}: {e}");
    };
    // A syntax error, an unknown key, a wrong type, a range error.
    case("[desk]\nserver_url = \n", "desk.server_url", "quoted");
    case(
        "[desk]\nserverurl = \"x\"\n",
        "desk.serverurl",
        "unknown field",
    );
    case("[metrics]\ninterval = 5\n", "metrics.interval", "duration");
    case(
        "[metrics]\ninterval = \"2h\"\n",
        "metrics.interval",
        "outside",
    );
    case(
        "[inventory]\nsoftware_sources = [\"dpkg\", \"pacman\"]\n",
        "inventory.software_sources",
        "\"pacman\"",
    );
    let o = Command::new(env!("CARGO_BIN_EXE_deskside-agent"))
        .args(["status"])
        .env_remove("DESKSIDE_CONFIG")
        .env("DESKSIDE_INVENTORY_SOFTWARE_SOURCES", "dpkg,pacman")
        .output()
        .unwrap();
    assert!(err(&o).contains("\"pacman\""), "{}", err(&o));
    assert!(
        err(&o).contains("DESKSIDE_INVENTORY_SOFTWARE_SOURCES"),
        "{}",
        err(&o)
    );
}

/// A read-only file system under the state directory (a tmpfs mounted
/// read-only; the tests run as root, as CI does).
#[cfg(target_os = "linux")]
struct ReadOnly(std::path::PathBuf);

#[cfg(target_os = "linux")]
impl ReadOnly {
    fn mount(dir: &Path) -> Self {
        let path = dir.join("ro");
        std::fs::create_dir_all(&path).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "ro,size=1m", "tmpfs"])
            .arg(&path)
            .status()
            .unwrap()
            .success();
        assert!(
            ok,
            "mounting a read-only tmpfs needs root (CI runs as root)"
        );
        Self(path)
    }
}

#[cfg(target_os = "linux")]
impl Drop for ReadOnly {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[cfg(target_os = "linux")]
#[test]
fn a_read_only_state_directory_says_so_and_diagnostics_still_work() {
    let dir = tempfile::tempdir().unwrap();
    let ro = ReadOnly::mount(dir.path());
    let state = ro.0.join("state");
    let o = agent(&["--state-dir", state.to_str().unwrap(), "status"]);
    assert_eq!(o.status.code(), Some(1));
    let e = err(&o);
    assert!(e.contains("Read-only file system"), "{e}");
    assert!(!e.contains("unable to open database file"), "{e}");
    assert_eq!(e.matches("Read-only file system").count(), 1, "{e}");

    let bundle = dir.path().join("bundle.json.gz");
    let o = agent(&[
        "--state-dir",
        ro.0.to_str().unwrap(),
        "diagnostics",
        "--out",
        bundle.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let doc = deskside_agent::diagnostics::decompress(&std::fs::read(&bundle).unwrap()).unwrap();
    assert!(doc["device"].is_object(), "the bundle describes the device");
    assert!(
        doc["software_count"].as_u64().unwrap() > 0,
        "from a fresh inventory"
    );
    assert!(doc["format_version"].as_u64().is_some());
}

#[cfg(unix)]
#[test]
fn metrics_watch_draws_at_once_in_place() {
    use std::io::Read;
    // A terminal, so that --watch redraws: util-linux's `script` gives the
    // command a pseudo-terminal.
    let bin = env!("CARGO_BIN_EXE_deskside-agent");
    let mut child = Command::new("script")
        .args([
            "-qfec",
            &format!("{bin} metrics --watch --interval 1h"),
            "/dev/null",
        ])
        .stdout(std::process::Stdio::piped())
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut seen = Vec::new();
        let mut buf = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 {
                break;
            }
            seen.extend_from_slice(&buf[..n]);
            if String::from_utf8_lossy(&seen).contains("Volumes") {
                let _ = tx.send(seen);
                return;
            }
        }
    });
    // With an hour between samples, only a first frame drawn at once can
    // arrive before this gives up.
    let seen = rx.recv_timeout(std::time::Duration::from_secs(60));
    let _ = child.kill();
    let _ = child.wait();
    let seen = String::from_utf8_lossy(&seen.expect("no first frame")).into_owned();
    assert!(seen.contains("\u{1b}[?1049h"), "alternate screen: {seen:?}");
    assert!(
        seen.contains("\u{1b}[H\u{1b}[J"),
        "redrawn in place: {seen:?}"
    );
    assert!(
        !seen.contains("\u{1b}[2J"),
        "no full clears into the scrollback"
    );
}

#[test]
fn check_list_and_readme_describe_the_load_thresholds() {
    let list = out(&agent(&["check", "--list"]));
    assert!(list.contains("\"w1,w5,w15\""), "{list}");
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    assert!(readme.contains("fails_before_alert"), "README");
    assert!(
        readme.contains("check_load"),
        "README explains cpu_load against check_load"
    );
}

#[cfg(unix)]
#[test]
fn fails_before_alert_delays_the_reported_state_and_exit_code() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let plugin = dir.path().join("check_broken");
    std::fs::write(&plugin, "#!/bin/sh\necho 'CRITICAL - broken'\nexit 2\n").unwrap();
    std::fs::set_permissions(&plugin, std::fs::Permissions::from_mode(0o755)).unwrap();
    let policy = write(
        dir.path(),
        "p.toml",
        &format!(
            "[[checks]]\nid = \"svc\"\nkind = \"command\"\nargv = [\"{}\"]\nfails_before_alert = 3\n\n\
             [[checks]]\nid = \"enc\"\nkind = \"command\"\nargv = [\"{}\"]\nreport_only = true\n",
            plugin.display(),
            plugin.display()
        ),
    );
    let state = dir.path().join("state");
    let run = || {
        agent(&[
            "--state-dir",
            state.to_str().unwrap(),
            "check",
            "--notify",
            "--policy",
            &policy,
        ])
    };
    for n in 1..=2 {
        let o = run();
        assert_eq!(o.status.code(), Some(0), "run {n} of 3 still reads ok");
        let text = out(&o);
        assert!(
            text.starts_with("DESKSIDE OK - 0 critical, 0 warning, 0 unknown, 1 ok; report only, not counted: 1 critical"),
            "{text}"
        );
        assert!(
            text.contains(&format!(
                "[this run: critical, {n} of 3 failures before alert]"
            )),
            "the raw result stays visible: {text}"
        );
    }
    let o = run();
    assert_eq!(o.status.code(), Some(2), "the third failure raises it");
    assert!(
        out(&o).starts_with("DESKSIDE CRITICAL - 1 critical"),
        "{}",
        out(&o)
    );
    // The transitions kept in the state directory: a new check's first
    // reported problem comes from "none", not from ok.
    let saved: serde_json::Value =
        serde_json::from_slice(&std::fs::read(state.join("checks.json")).unwrap()).unwrap();
    let transitions = saved["transitions"].as_array().unwrap();
    let enc = transitions.iter().find(|t| t["check_id"] == "enc").unwrap();
    assert!(enc["from"].is_null(), "{enc}");
    let svc = transitions
        .iter()
        .find(|t| t["check_id"] == "svc" && t["to"] == "critical")
        .unwrap();
    assert_eq!(
        svc["from"], "ok",
        "svc was reported ok while it waited: {svc}"
    );

    // A one-shot run (no --notify) has no history: the raw state counts.
    let o = agent(&["check", "--policy", &policy]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn rating_or_reopening_an_open_ticket_is_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let state = state.to_str().unwrap();
    let o = agent(&[
        "--state-dir",
        state,
        "ticket",
        "new",
        "--subject",
        "Printer jams",
        "--no-diagnostics",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let id = out(&o).trim().to_owned();
    for (args, needle) in [
        (vec!["ticket", "rate", &id, "--score", "5"], "can be rated"),
        (vec!["ticket", "reopen", &id], "can be reopened"),
    ] {
        let mut full = vec!["--state-dir", state];
        full.extend(&args);
        let o = agent(&full);
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        assert!(err(&o).contains(needle), "{}", err(&o));
        assert!(
            err(&o).contains("is new"),
            "says the ticket's state: {}",
            err(&o)
        );
        assert!(!out(&o).contains("queued"), "{}", out(&o));
    }
    let status: serde_json::Value = serde_json::from_slice(
        &agent(&["--state-dir", state, "status", "--format", "json"]).stdout,
    )
    .unwrap();
    assert_eq!(status["outbox_depth"], 1, "only the ticket waits: {status}");
}

#[test]
fn metrics_name_the_basis_of_free_space() {
    let text = out(&agent(&["metrics"]));
    assert!(text.contains("FREE% OF SIZE"), "{text}");
    assert!(text.contains("check_disk"), "{text}");
}
