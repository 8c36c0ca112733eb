//! Health checks under real conditions that the tests create: listeners,
//! processes, plugin scripts, the real disk — and agreement with the
//! reference Monitoring Plugins `check_disk` and `check_load`.

#![cfg(unix)]
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use deskside_host::checks::{self, Check, LoadedPolicy, Outcome};
use deskside_protocol::CheckState;

/// One check from a TOML snippet (without `[[checks]]` and `id`).
fn check(toml: &str) -> Check {
    let p = LoadedPolicy::from_toml(&format!("[[checks]]\nid = \"t\"\n{toml}\n")).unwrap();
    assert!(p.errors.is_empty(), "{:?}", p.errors);
    p.checks.into_iter().next().unwrap()
}

fn run(toml: &str) -> Outcome {
    checks::run_with_timeout(&check(toml), &checks::Environment::default()).0
}

fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    let mut f = std::fs::File::create(&path).unwrap();
    writeln!(f, "#!/bin/sh\n{body}").unwrap();
    drop(f);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

fn alive(pid: u32) -> bool {
    // A zombie has exited; only its exit status is left to collect.
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        s.rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z'))
    })
}

#[test]
fn tcp_connect_open_closed_and_slow_thresholds() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let o = run(&format!(
        "kind = \"tcp_connect\"\nhost = \"127.0.0.1\"\nport = {port}\nwarn = \"2s\"\ncrit = \"5s\""
    ));
    assert_eq!(o.state, CheckState::Ok, "{}", o.summary);
    assert_eq!(o.perfdata[0].label, "time");
    // Any real connection takes longer than a nanosecond.
    let o = run(&format!(
        "kind = \"tcp_connect\"\nhost = \"localhost\"\nport = {port}\nwarn = \"1ns\""
    ));
    assert_eq!(o.state, CheckState::Warning, "{}", o.summary);

    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_port = closed.local_addr().unwrap().port();
    drop(closed);
    let o = run(&format!(
        "kind = \"tcp_connect\"\nhost = \"127.0.0.1\"\nport = {closed_port}"
    ));
    assert_eq!(o.state, CheckState::Critical, "{}", o.summary);
    assert!(o.summary.contains("cannot connect"), "{}", o.summary);
}

#[test]
fn dns_resolve_localhost() {
    let o = run("kind = \"dns_resolve\"\nname = \"localhost\"");
    assert_eq!(o.state, CheckState::Ok, "{}", o.summary);
    assert!(
        o.summary.contains("127.0.0.1") || o.summary.contains("::1"),
        "{}",
        o.summary
    );
    let o = run("kind = \"dns_resolve\"\nname = \"localhost\"\nexpect = \"192.0.2.77\"");
    assert_eq!(o.state, CheckState::Critical, "{}", o.summary);
    let o = run("kind = \"dns_resolve\"\nname = \"no-such-host.invalid\"\ntimeout = \"5s\"");
    assert_eq!(o.state, CheckState::Critical, "{}", o.summary);
}

#[test]
fn process_running_against_a_spawned_process() {
    let dir = tempfile::tempdir().unwrap();
    // A uniquely named copy of sleep, so nothing else on the machine matches.
    let exe = dir.path().join("ds-sleeper");
    std::fs::copy("/bin/sleep", &exe).unwrap();
    let mut child = Command::new(&exe).arg("31.4159").spawn().unwrap();
    let by_name = "kind = \"process_running\"\nname = \"ds-sleeper\"";
    let o = run(by_name);
    assert_eq!(o.state, CheckState::Ok, "{}", o.summary);
    assert!(o.summary.starts_with("1 ds-sleeper"), "{}", o.summary);
    let o = run(&format!("{by_name}\nmin_count = 2"));
    assert_eq!(o.state, CheckState::Critical, "{}", o.summary);
    let o = run("kind = \"process_running\"\npattern = \"31.4159\"");
    assert_eq!(o.state, CheckState::Ok, "{}", o.summary);
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(run(by_name).state, CheckState::Critical);
}

#[test]
fn disk_free_thresholds_that_must_and_must_not_trip() {
    let ok = run("kind = \"disk_free\"\nmount = \"/\"\nwarn = \"0%\"\ncrit = \"0%\"");
    assert_eq!(ok.state, CheckState::Ok, "{}", ok.summary);
    let warn = run("kind = \"disk_free\"\nmount = \"/\"\nwarn = \"100%\"\ncrit = \"0%\"");
    assert_eq!(warn.state, CheckState::Warning, "{}", warn.summary);
    let crit = run("kind = \"disk_free\"\nmount = \"/\"\nwarn = \"100%\"\ncrit = \"100%\"");
    assert_eq!(crit.state, CheckState::Critical, "{}", crit.summary);
    let bytes = run("kind = \"disk_free\"\nmount = \"/\"\nwarn = \"1000TiB\"");
    assert_eq!(bytes.state, CheckState::Warning, "{}", bytes.summary);
    let all = run("kind = \"disk_free\"\nwarn = \"0%\"");
    assert_eq!(all.state, CheckState::Ok);
    assert!(
        all.perfdata.iter().any(|p| p.label == "/"),
        "{:?}",
        all.perfdata
    );
    let missing = run("kind = \"disk_free\"\nmount = \"/no/such/mount\"");
    assert_eq!(missing.state, CheckState::Unknown);
}

#[test]
fn command_plugins_map_exit_codes_and_perfdata() {
    let dir = tempfile::tempdir().unwrap();
    for (code, state) in [
        (0, CheckState::Ok),
        (1, CheckState::Warning),
        (2, CheckState::Critical),
        (3, CheckState::Unknown),
        (42, CheckState::Unknown),
    ] {
        let s = script(
            dir.path(),
            &format!("p{code}"),
            &format!(
                "echo 'STATE {code} - things|items=7;5;10;0;20 time=0.25s'\necho 'long text | extra=1%'\nexit {code}"
            ),
        );
        let o = run(&format!("kind = \"command\"\nargv = [\"{}\"]", s.display()));
        assert_eq!(o.state, state, "exit {code}: {}", o.summary);
        assert!(
            o.summary.contains(&format!("STATE {code} - things")),
            "{}",
            o.summary
        );
        let labels: Vec<&str> = o.perfdata.iter().map(|p| p.label.as_str()).collect();
        assert_eq!(labels, ["items", "time", "extra"]);
        assert_eq!(o.perfdata[0].value, 7.0);
        assert_eq!(o.perfdata[1].unit.as_deref(), Some("s"));
    }
    // Arguments are passed as they are: no shell word splitting or globbing.
    let echo = script(dir.path(), "args", "echo \"OK - $# args: $1\"");
    let o = run(&format!(
        "kind = \"command\"\nargv = [\"{}\", \"a b *\", \"c\"]",
        echo.display()
    ));
    assert_eq!(o.summary, "OK - 2 args: a b *");
}

#[test]
fn a_hung_plugin_is_killed_with_everything_it_started() {
    let dir = tempfile::tempdir().unwrap();
    let pids = dir.path().join("pids");
    // The plugin starts a background child, records both pids, then hangs.
    let s = script(
        dir.path(),
        "hang",
        &format!("sleep 300 &\necho \"$$ $!\" > {}\nwait", pids.display()),
    );
    let started = Instant::now();
    let o = run(&format!(
        "kind = \"command\"\nargv = [\"{}\"]\ntimeout = \"1s\"",
        s.display()
    ));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(o.state, CheckState::Unknown);
    assert!(o.summary.contains("timed out after 1s"), "{}", o.summary);
    let text = std::fs::read_to_string(&pids).unwrap();
    let ids: Vec<u32> = text
        .split_whitespace()
        .map(|p| p.parse().unwrap())
        .collect();
    assert_eq!(ids.len(), 2);
    std::thread::sleep(Duration::from_millis(200));
    for pid in ids {
        assert!(!alive(pid), "process {pid} survived the timeout");
    }
}

#[test]
fn flooding_missing_and_crashing_plugins() {
    let dir = tempfile::tempdir().unwrap();
    // 20 MB of output: kept to the cap, and the plugin still finishes.
    let flood = script(
        dir.path(),
        "flood",
        "echo 'OK - flood'\nhead -c 20000000 /dev/zero | tr '\\0' x\nexit 0",
    );
    let started = Instant::now();
    let o = run(&format!(
        "kind = \"command\"\nargv = [\"{}\"]\nmax_output = 4096",
        flood.display()
    ));
    assert_eq!(o.state, CheckState::Ok, "{}", o.summary);
    assert!(
        o.summary.starts_with("OK - flood") && o.summary.ends_with("(output truncated)"),
        "{}",
        o.summary
    );
    assert!(started.elapsed() < Duration::from_secs(10));

    let o = run("kind = \"command\"\nargv = [\"/nonexistent/check_thing\"]");
    assert_eq!(o.state, CheckState::Unknown);
    assert!(o.summary.contains("not found"), "{}", o.summary);

    let crash = script(dir.path(), "crash", "echo 'about to crash'\nkill -SEGV $$");
    let o = run(&format!(
        "kind = \"command\"\nargv = [\"{}\"]",
        crash.display()
    ));
    assert_eq!(o.state, CheckState::Unknown);
    assert!(o.summary.contains("signal 11"), "{}", o.summary);
}

#[test]
fn a_hung_check_does_not_hold_up_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let hang = script(dir.path(), "hang", "exec sleep 60");
    let p = LoadedPolicy::from_toml(&format!(
        "[[checks]]\nid = \"slow\"\nkind = \"command\"\nargv = [\"{}\"]\ntimeout = \"1s\"\n\
         [[checks]]\nid = \"fast\"\nkind = \"uptime\"\n",
        hang.display()
    ))
    .unwrap();
    let mut tracker = checks::Tracker::default();
    let started = Instant::now();
    let results = checks::run_once(&p.checks, &checks::Environment::default(), 2, &mut tracker);
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(results[0].state, CheckState::Unknown);
    assert_eq!(results[1].state, CheckState::Ok);
    assert!(
        results[1].duration_ms < 1000,
        "the fast check ran beside the slow one"
    );
}

const PLUGINS: &str = "/usr/lib/nagios/plugins";

fn reference(plugin: &str, args: &[&str]) -> Option<CheckState> {
    let path = Path::new(PLUGINS).join(plugin);
    let out = Command::new(&path).args(args).output().ok()?;
    Some(CheckState::from_exit_code(out.status.code().unwrap_or(3)))
}

fn require_plugins() -> bool {
    let present = Path::new(PLUGINS).join("check_disk").exists()
        && Path::new(PLUGINS).join("check_load").exists();
    // The test script installs monitoring-plugins-basic; in CI it must be there.
    assert!(
        present || std::env::var_os("CI").is_none(),
        "monitoring-plugins-basic is not installed"
    );
    present
}

#[test]
fn disk_free_agrees_with_check_disk() {
    if !require_plugins() {
        return;
    }
    let free = run("kind = \"disk_free\"\nmount = \"/\"").perfdata[0].value;
    // Thresholds well clear of the current value, so both tools measure
    // the same side of each.
    let hi = |d: f64| format!("{:.0}%", (free + d).clamp(0.0, 100.0));
    let lo = |d: f64| format!("{:.0}%", (free - d).clamp(0.0, 100.0));
    let mut cases = vec![
        (lo(10.0), lo(20.0)),
        (hi(10.0), lo(10.0)),
        (hi(20.0), hi(10.0)),
    ];
    if free < 80.0 {
        cases.push(("100%".into(), hi(15.0)));
    }
    for (w, c) in cases {
        let ours = run(&format!(
            "kind = \"disk_free\"\nmount = \"/\"\nwarn = \"{w}\"\ncrit = \"{c}\""
        ))
        .state;
        let theirs = reference("check_disk", &["-w", &w, "-c", &c, "-p", "/"]).unwrap();
        assert_eq!(ours, theirs, "warn {w} crit {c} with {free:.1}% free");
    }
}

#[test]
fn cpu_load_agrees_with_check_load() {
    if !require_plugins() {
        return;
    }
    let load1 = || -> f64 {
        std::fs::read_to_string("/proc/loadavg")
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    let l = load1();
    // (warn, crit) on the 1-minute load; the 5- and 15-minute thresholds of
    // check_load are set out of reach.
    let mut cases = vec![(l + 5.0, l + 10.0)];
    if l > 0.05 {
        cases.push((0.0, l + 10.0));
        cases.push((0.0, 0.0));
    }
    for (w, c) in cases {
        let ours = run(&format!(
            "kind = \"cpu_load\"\nwindow = \"1m\"\nwarn = {w:.2}\ncrit = {c:.2}"
        ))
        .state;
        let theirs = reference(
            "check_load",
            &[
                "-w",
                &format!("{w:.2},999,999"),
                "-c",
                &format!("{c:.2},999,999"),
            ],
        )
        .unwrap();
        assert_eq!(ours, theirs, "warn {w:.2} crit {c:.2} at load {l}");
    }
    // Per core, like check_load -r.
    let ours =
        run("kind = \"cpu_load\"\nwindow = \"15m\"\nper_core = true\nwarn = 50\ncrit = 60").state;
    let theirs = reference(
        "check_load",
        &["-r", "-w", "999,999,50", "-c", "999,999,60"],
    )
    .unwrap();
    assert_eq!(ours, theirs);
}

mod scheduling {
    use super::*;
    use std::sync::{Arc, Mutex};

    use deskside_host::checks::{Scheduler, SchedulerOptions};

    fn opts(store: Option<PathBuf>) -> SchedulerOptions {
        SchedulerOptions {
            concurrency: 2,
            startup_spread: Duration::ZERO,
            jitter: 0.0,
            store,
            save_every: Duration::from_millis(100),
            ..SchedulerOptions::default()
        }
    }

    type Log = Arc<Mutex<Vec<(String, CheckState, Instant)>>>;

    fn recorder() -> (Log, deskside_host::checks::scheduler::ResultHook) {
        let log: Log = Arc::default();
        let l = Arc::clone(&log);
        (
            log,
            Box::new(move |r, _| {
                l.lock()
                    .unwrap()
                    .push((r.check_id.clone(), r.state, Instant::now()))
            }),
        )
    }

    fn wait_for(log: &Log, what: impl Fn(&[(String, CheckState, Instant)]) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if what(&log.lock().unwrap()) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("timed out; log: {:?}", log.lock().unwrap());
    }

    #[test]
    fn each_check_on_its_own_interval_and_a_hung_one_delays_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let hang = script(dir.path(), "hang", "exec sleep 60");
        let policy = LoadedPolicy::from_toml(&format!(
            "[[checks]]\nid = \"hung\"\nkind = \"command\"\nargv = [\"{}\"]\ntimeout = \"3s\"\ninterval = \"10s\"\n\
             [[checks]]\nid = \"ticker\"\nkind = \"uptime\"\ninterval = \"10s\"\n",
            hang.display()
        ))
        .unwrap();
        // The minimum policy interval is 10 s; speed the test up by asking
        // for immediate runs instead of waiting for intervals.
        let (log, hook) = recorder();
        let s = Scheduler::start(policy, opts(None), hook);
        wait_for(&log, |l| l.iter().any(|(id, ..)| id == "ticker"));
        s.run_now();
        wait_for(&log, |l| {
            l.iter().filter(|(id, ..)| id == "ticker").count() >= 2
        });
        // Both ticker runs finished while the hung check was still hanging.
        assert!(log.lock().unwrap().iter().all(|(id, ..)| id == "ticker"));
        wait_for(&log, |l| {
            l.iter()
                .any(|(id, st, _)| id == "hung" && *st == CheckState::Unknown)
        });
        s.stop();
    }

    #[test]
    fn a_new_policy_applies_without_a_restart() {
        let first = LoadedPolicy::from_toml("[[checks]]\nid = \"a\"\nkind = \"uptime\"\n").unwrap();
        let (log, hook) = recorder();
        let s = Scheduler::start(first, opts(None), hook);
        wait_for(&log, |l| l.iter().any(|(id, ..)| id == "a"));
        let second =
            LoadedPolicy::from_toml("[[checks]]\nid = \"b\"\nkind = \"swap_used\"\n").unwrap();
        s.set_policy(second);
        wait_for(&log, |l| l.iter().any(|(id, ..)| id == "b"));
        let snap = s.snapshot();
        assert!(snap.last_results.contains_key("b"));
        assert!(
            !snap.last_results.contains_key("a"),
            "removed checks are forgotten"
        );
        s.stop();
    }

    #[test]
    fn results_and_transitions_survive_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("state/checks.json");
        let failing = script(dir.path(), "fail", "echo 'CRITICAL - down'\nexit 2");
        let policy = || {
            LoadedPolicy::from_toml(&format!(
                "[[checks]]\nid = \"svc\"\nkind = \"command\"\nargv = [\"{}\"]\nfails_before_alert = 2\n",
                failing.display()
            ))
            .unwrap()
        };
        let (log, hook) = recorder();
        let s = Scheduler::start(policy(), opts(Some(store.clone())), hook);
        wait_for(&log, |l| !l.is_empty());
        s.stop();
        let saved = deskside_host::checks::Tracker::load(&store).unwrap();
        assert_eq!(saved.last_results["svc"].consecutive_failures, 1);
        assert_eq!(
            saved.last_results["svc"].alert_state,
            CheckState::Ok,
            "1 of 2: not yet alerted"
        );

        // A new process: the failure count carries on, so the second
        // failure raises the alert.
        let (log, hook) = recorder();
        let s = Scheduler::start(policy(), opts(Some(store.clone())), hook);
        wait_for(&log, |l| !l.is_empty());
        s.stop();
        let saved = deskside_host::checks::Tracker::load(&store).unwrap();
        assert_eq!(saved.last_results["svc"].consecutive_failures, 2);
        assert_eq!(saved.last_results["svc"].alert_state, CheckState::Critical);
        assert_eq!(saved.transitions.len(), 1);
        assert_eq!(saved.transitions[0].to, CheckState::Critical);
        assert_eq!(saved.overall(), CheckState::Critical);
    }

    #[test]
    fn the_concurrency_cap_holds() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("running");
        std::fs::create_dir(&marker).unwrap();
        // Each run registers itself, records how many run at once, then
        // leaves.
        let s = script(
            dir.path(),
            "count",
            &format!(
                "touch {m}/$$\nls {m} | wc -l >> {m}.max\nsleep 0.3\nrm {m}/$$\necho OK",
                m = marker.display()
            ),
        );
        let toml: String = (0..6)
            .map(|i| {
                format!(
                    "[[checks]]\nid = \"c{i}\"\nkind = \"command\"\nargv = [\"{}\"]\n",
                    s.display()
                )
            })
            .collect();
        let (log, hook) = recorder();
        let sched = Scheduler::start(LoadedPolicy::from_toml(&toml).unwrap(), opts(None), hook);
        wait_for(&log, |l| l.len() >= 6);
        sched.stop();
        let max = std::fs::read_to_string(dir.path().join("running.max")).unwrap();
        let peak = max
            .lines()
            .map(|l| l.trim().parse::<u32>().unwrap())
            .max()
            .unwrap();
        assert!(peak <= 2, "{peak} ran at once with a cap of 2");
    }
}

mod policy_updates {
    use super::*;
    use std::sync::{Arc, Mutex};

    use deskside_host::checks::{Scheduler, SchedulerOptions};

    #[test]
    fn an_update_never_runs_an_unchanged_running_check_twice() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("running");
        std::fs::create_dir(&marker).unwrap();
        // Each run registers, records how many runs of it overlap, lingers.
        let s = script(
            dir.path(),
            "slow",
            &format!(
                "touch {m}/$$\nls {m} | wc -l >> {m}.max\nsleep 1\nrm {m}/$$\necho OK",
                m = marker.display()
            ),
        );
        let slow = format!(
            "[[checks]]\nid = \"slow\"\nkind = \"command\"\nargv = [\"{}\"]\n",
            s.display()
        );
        let done: Arc<Mutex<Vec<String>>> = Arc::default();
        let d = Arc::clone(&done);
        let opts = SchedulerOptions {
            startup_spread: Duration::ZERO,
            jitter: 0.0,
            ..SchedulerOptions::default()
        };
        let sched = Scheduler::start(
            LoadedPolicy::from_toml(&slow).unwrap(),
            opts,
            Box::new(move |r, _| d.lock().unwrap().push(r.check_id.clone())),
        );
        std::thread::sleep(Duration::from_millis(300));
        // While "slow" runs, the policy changes around it.
        sched.set_policy(
            LoadedPolicy::from_toml(&format!(
                "{slow}[[checks]]\nid = \"up\"\nkind = \"uptime\"\n"
            ))
            .unwrap(),
        );
        sched.run_now();
        let deadline = Instant::now() + Duration::from_secs(15);
        while !done.lock().unwrap().iter().any(|id| id == "slow") && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        sched.stop();
        let max = std::fs::read_to_string(dir.path().join("running.max")).unwrap();
        let peak = max
            .lines()
            .map(|l| l.trim().parse::<u32>().unwrap())
            .max()
            .unwrap();
        assert_eq!(peak, 1, "two runs of one check overlapped");
        assert!(done.lock().unwrap().iter().any(|id| id == "up"));
    }
}

mod stuck_checks {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};

    use deskside_host::checks::{Environment, Scheduler, SchedulerOptions, TlsChecks};

    /// An `http` implementation stuck in a call for 4 s, whatever the
    /// timeout says (like `statvfs` on a dead NFS mount).
    struct Hanging(Arc<AtomicUsize>);

    impl TlsChecks for Hanging {
        fn run(&self, _: &Check) -> Option<Outcome> {
            self.0.fetch_add(1, Ordering::SeqCst);
            std::thread::sleep(Duration::from_secs(4));
            None
        }
    }

    #[test]
    fn a_stuck_run_is_not_piled_upon() {
        let calls = Arc::new(AtomicUsize::new(0));
        let env = Environment {
            tls: Some(Arc::new(Hanging(Arc::clone(&calls)))),
            ..Environment::default()
        };
        let policy =
            LoadedPolicy::from_toml("[[checks]]\nid = \"web\"\nkind = \"http\"\nurl = \"https://x.example\"\ntimeout = \"500ms\"\n")
                .unwrap();
        let log: Arc<Mutex<Vec<String>>> = Arc::default();
        let l = Arc::clone(&log);
        let opts = SchedulerOptions {
            env,
            startup_spread: Duration::ZERO,
            jitter: 0.0,
            ..SchedulerOptions::default()
        };
        let sched = Scheduler::start(
            policy,
            opts,
            Box::new(move |r, _| l.lock().unwrap().push(r.summary.clone())),
        );
        let wait_for = |n: usize| {
            let deadline = Instant::now() + Duration::from_secs(15);
            while log.lock().unwrap().len() < n && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            assert!(log.lock().unwrap().len() >= n, "{:?}", log.lock().unwrap());
        };
        wait_for(1);
        assert!(log.lock().unwrap()[0].contains("timed out after 500ms"));
        // Due again while the first run is still stuck: no second thread.
        sched.run_now();
        wait_for(2);
        assert!(
            log.lock().unwrap()[1].contains("still stuck"),
            "{:?}",
            log.lock().unwrap()
        );
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        // Once the stuck call returns, the check runs again.
        std::thread::sleep(Duration::from_secs(3));
        sched.run_now();
        wait_for(3);
        sched.stop();
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }
}
