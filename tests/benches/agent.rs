//! The agent's footprint, measured on this machine in release mode:
//!
//! 1. `deskside-agent run`, enrolled, at the desk's default check-in
//!    interval, idle for `DESKSIDE_BENCH_IDLE_SECS` (default 600 s): CPU
//!    time and memory (RSS and PSS), beside `fusioninventory-agent` running
//!    as a daemon over the same window.
//! 2. Bytes on the wire per check-in when nothing changed, counted by a
//!    proxy between agent and desk.
//! 3. Submit-to-acknowledged latency of a ticket with a full diagnostics
//!    bundle (with the idle window's metric history) on loopback
//!    (`ticket new`, from start to exit, through the counting proxy).
//!
//! Run: `cargo bench -p deskside-e2e --bench agent` (scripts/bench.sh).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use deskside_e2e::{AgentProc, Desk, Fault, FaultProxy, free_port, sigterm};
use deskside_server::store::Store;

/// Clock ticks per second of `/proc/<pid>/stat` (USER_HZ).
const HZ: f64 = 100.0;

/// All processes of a tree: the root and its descendants.
fn tree(root: u32) -> Vec<u32> {
    let mut out = vec![root];
    let mut i = 0;
    while i < out.len() {
        let parent = out[i];
        if let Ok(children) =
            std::fs::read_to_string(format!("/proc/{parent}/task/{parent}/children"))
        {
            out.extend(
                children
                    .split_whitespace()
                    .filter_map(|c| c.parse::<u32>().ok()),
            );
        }
        i += 1;
    }
    out
}

/// CPU seconds (user + system) of a process tree.
fn cpu_secs(root: u32) -> f64 {
    tree(root)
        .iter()
        .filter_map(|pid| std::fs::read_to_string(format!("/proc/{pid}/stat")).ok())
        .filter_map(|stat| {
            // Fields after the command name, which may hold spaces.
            let rest = stat.rsplit_once(')')?.1;
            let f: Vec<&str> = rest.split_whitespace().collect();
            let utime: f64 = f.get(11)?.parse().ok()?;
            let stime: f64 = f.get(12)?.parse().ok()?;
            Some((utime + stime) / HZ)
        })
        .sum()
}

/// (RSS, PSS) in KiB of a process tree.
fn memory_kib(root: u32) -> (u64, u64) {
    tree(root).iter().fold((0, 0), |(rss, pss), pid| {
        let text = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).unwrap_or_default();
        let field = |name: &str| {
            text.lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        };
        (rss + field("Rss:"), pss + field("Pss:"))
    })
}

struct Footprint {
    cpu_percent: f64,
    rss_avg_mib: f64,
    rss_max_mib: f64,
    pss_avg_mib: f64,
}

/// Watches processes over `window`, after their start-up is over.
fn watch(pids: &[u32], window: Duration) -> Vec<Footprint> {
    let cpu0: Vec<f64> = pids.iter().map(|p| cpu_secs(*p)).collect();
    let started = Instant::now();
    let mut samples: Vec<Vec<(u64, u64)>> = vec![Vec::new(); pids.len()];
    while started.elapsed() < window {
        for (i, p) in pids.iter().enumerate() {
            samples[i].push(memory_kib(*p));
        }
        std::thread::sleep(Duration::from_secs(5).min(window));
    }
    let secs = started.elapsed().as_secs_f64();
    pids.iter()
        .enumerate()
        .map(|(i, p)| {
            let s = &samples[i];
            let n = s.len().max(1) as f64;
            Footprint {
                cpu_percent: (cpu_secs(*p) - cpu0[i]) / secs * 100.0,
                rss_avg_mib: s.iter().map(|m| m.0 as f64).sum::<f64>() / n / 1024.0,
                rss_max_mib: s.iter().map(|m| m.0).max().unwrap_or(0) as f64 / 1024.0,
                pss_avg_mib: s.iter().map(|m| m.1 as f64).sum::<f64>() / n / 1024.0,
            }
        })
        .collect()
}

/// fusioninventory-agent as a daemon managed by a server (this desk's
/// address: it does not speak its protocol, so the agent waits for its
/// next contact like an idle managed one).
fn fusioninventory(server: &str) -> Option<Child> {
    Command::new("fusioninventory-agent")
        .args(["--daemon", "--no-fork", "--server", server, "--httpd-port"])
        .arg(free_port().to_string())
        .arg("--logger=stderr")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let idle = Duration::from_secs(
        std::env::var("DESKSIDE_BENCH_IDLE_SECS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(600),
    );
    let desk = Desk::up_with_defaults().await;
    let secret = desk.secret().await;
    let proxy = FaultProxy::start(desk.addr, |_| Fault::Pass).await;

    // 1 and 2. The idle agent through the counting proxy.
    let idle_agent = AgentProc::new("bench-idle")
        .env("DESKSIDE_LOG", "error")
        .env("DESKSIDE_SERVER_URL", &proxy.url());
    idle_agent
        .ok(&["enroll", "--server", &desk.url(), "--secret", &secret])
        .await;
    let mut run = idle_agent
        .command(&["run"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut peer = fusioninventory(&desk.url());
    // Start-up (first inventory, first check-in) is not idle.
    tokio::time::sleep(Duration::from_secs(30)).await;
    let before = proxy.seen().len();
    let mut pids = vec![run.id()];
    if let Some(p) = &peer {
        pids.push(p.id());
    }
    let marks = tokio::task::spawn_blocking(move || watch(&pids, idle))
        .await
        .unwrap();
    let checkins: Vec<(u64, u64)> = proxy.seen()[before..]
        .iter()
        .filter(|s| s.request.starts_with("POST /api/v1/agent/checkin "))
        .map(|s| s.bytes)
        .filter(|b| b.0 > 0)
        .collect();
    sigterm(run.id());
    let _ = run.wait();
    if let Some(p) = peer.as_mut() {
        let _ = p.kill();
        let _ = p.wait();
    }

    // 3. Latency, by the agent that was idle: its bundle carries the
    // metric history and log lines `run` left.
    let agent = &idle_agent;
    let mut latencies = Vec::new();
    for i in 0..10 {
        let started = Instant::now();
        agent
            .ok(&["ticket", "new", "--subject", &format!("Latency {i}")])
            .await;
        latencies.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    assert_eq!(agent.status().await["outbox_depth"], 0, "all acknowledged");
    latencies.sort_by(f64::total_cmp);
    let bundle = desk
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
    let tech = desk.technician("bench@example.com").await;
    let detail = desk.ticket(&tech, bundle).await;
    let bundle_bytes = detail["ticket"]["attachments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["diagnostics"] == true)
        .and_then(|a| a["size_bytes"].as_u64())
        .unwrap_or(0);

    println!(
        "deskside-agent benchmark (release, {} s idle window)",
        idle.as_secs()
    );
    println!(
        "submit-to-acknowledged, ticket with full diagnostics ({bundle_bytes} bytes gzip), \
         `ticket new` start to exit: median {:.0} ms, min {:.0} ms, max {:.0} ms (10 runs)",
        latencies[latencies.len() / 2],
        latencies[0],
        latencies[latencies.len() - 1]
    );
    let avg = |f: fn(&(u64, u64)) -> u64| {
        checkins.iter().map(f).sum::<u64>() as f64 / checkins.len().max(1) as f64
    };
    println!(
        "idle check-ins: {} in the window; bytes per check-in: {:.0} sent, {:.0} received \
         (HTTP/1.1 with headers, one connection each)",
        checkins.len(),
        avg(|b| b.0),
        avg(|b| b.1)
    );
    let names = ["deskside-agent run", "fusioninventory-agent --daemon"];
    for (name, m) in names.iter().zip(&marks) {
        println!(
            "{name}: CPU {:.3} % of one core, RSS avg {:.1} MiB (max {:.1}), PSS avg {:.1} MiB",
            m.cpu_percent, m.rss_avg_mib, m.rss_max_mib, m.pss_avg_mib
        );
    }
    if let [ours, theirs] = &marks[..] {
        println!(
            "ratio deskside / fusioninventory: CPU {:.2}, RSS {:.2}, PSS {:.2}",
            ours.cpu_percent / theirs.cpu_percent.max(1e-9),
            ours.rss_avg_mib / theirs.rss_avg_mib,
            ours.pss_avg_mib / theirs.pss_avg_mib
        );
    } else {
        println!(
            "fusioninventory-agent is not installed: no peer figures (scripts/bench.sh installs it)"
        );
    }
}
