//! Inventory and metrics benchmark, release build:
//!
//!     scripts/bench.sh            (installs fusioninventory-agent, then)
//!     cargo bench -p deskside-agent --bench inventory
//!
//! 1. A full inventory by `deskside-agent inventory --format json`, side by
//!    side with `fusioninventory-agent --local=DIR` on the same machine in
//!    the same run: wall time and peak RSS of each, and their ratios.
//! 2. That the inventory lists every package `dpkg-query` shows installed.
//! 3. CPU time of one metrics sample, and the sampler's average CPU use at
//!    the default 10 s interval.
//!
//! Environment: `DESKSIDE_BENCH_RUNS` (inventory runs per tool, default
//! 10), `DESKSIDE_BENCH_SAMPLER_SECS` (how long the idle sampler runs,
//! default 120).

// Peak RSS of a child needs wait4(2) and CPU time needs clock_gettime(2);
// std exposes neither.
#![allow(unsafe_code, clippy::unwrap_used, clippy::print_stdout)]

#[cfg(target_os = "linux")]
mod linux {
    use std::collections::BTreeSet;
    use std::path::PathBuf;
    use std::process::{Command, Stdio};
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    use deskside_host::metrics::{MetricsHistory, Sampler, SamplerThread};
    use deskside_protocol::Inventory;

    struct Run {
        wall: Duration,
        peak_rss_kib: u64,
    }

    /// Runs a command to completion; returns its wall time and the peak RSS of
    /// it (or of its largest waited-for child, for tools that fork helpers).
    #[allow(clippy::zombie_processes)] // reaped by wait4 below, which std cannot see
    fn measure(program: &str, args: &[&str]) -> Run {
        let start = Instant::now();
        let child = Command::new(program)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {program}: {e}"));
        let pid = libc::pid_t::try_from(child.id()).unwrap();
        let mut status = 0;
        let mut usage = unsafe { std::mem::zeroed::<libc::rusage>() };
        let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        let wall = start.elapsed();
        assert_eq!(rc, pid, "wait4 failed");
        assert!(
            libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
            "{program} failed"
        );
        Run {
            wall,
            peak_rss_kib: u64::try_from(usage.ru_maxrss).unwrap(),
        }
    }

    fn cpu_time(clock: libc::clockid_t) -> Duration {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        unsafe { libc::clock_gettime(clock, &mut ts) };
        Duration::new(
            u64::try_from(ts.tv_sec).unwrap(),
            u32::try_from(ts.tv_nsec).unwrap(),
        )
    }

    fn median(mut v: Vec<Duration>) -> Duration {
        v.sort();
        v[v.len() / 2]
    }

    fn env_num(name: &str, default: u64) -> u64 {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    }

    fn ms(d: Duration) -> String {
        format!("{:.1} ms", d.as_secs_f64() * 1000.0)
    }

    pub fn main() {
        let agent = env!("CARGO_BIN_EXE_deskside-agent");
        let runs = usize::try_from(env_num("DESKSIDE_BENCH_RUNS", 10))
            .unwrap()
            .max(1);
        let fusion = [
            "/usr/bin/fusioninventory-agent",
            "/usr/local/bin/fusioninventory-agent",
        ]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists());

        println!(
            "## Inventory: deskside-agent vs fusioninventory-agent ({runs} runs each, after one warm-up)\n"
        );
        // Package parity first: a fast inventory that misses packages is no win.
        let out = Command::new(agent)
            .args(["inventory", "--format", "json"])
            .output()
            .unwrap();
        let inv: Inventory = serde_json::from_slice(&out.stdout).unwrap();
        let ours: BTreeSet<String> = inv
            .software
            .iter()
            .filter(|p| p.source == deskside_protocol::SoftwareSource::Dpkg)
            .map(|p| {
                format!(
                    "{}:{}",
                    p.name,
                    p.architecture.as_deref().unwrap_or_default()
                )
            })
            .collect();
        if let Ok(q) = Command::new("dpkg-query")
            .args(["-W", "-f=${db:Status-Abbrev} ${Package}:${Architecture}\n"])
            .output()
        {
            let theirs: BTreeSet<String> = String::from_utf8_lossy(&q.stdout)
                .lines()
                .filter(|l| l.starts_with("ii ") || l.starts_with("hi "))
                .map(|l| l[3..].trim().to_owned())
                .collect();
            assert_eq!(
                ours, theirs,
                "inventory must list exactly the installed dpkg packages"
            );
            println!(
                "Package parity with dpkg-query: {} of {} installed packages listed.\n",
                ours.len(),
                theirs.len()
            );
        }

        let _ = measure(agent, &["inventory", "--format", "json"]);
        let deskside: Vec<Run> = (0..runs)
            .map(|_| measure(agent, &["inventory", "--format", "json"]))
            .collect();
        let d_wall = median(deskside.iter().map(|r| r.wall).collect());
        let d_rss = deskside.iter().map(|r| r.peak_rss_kib).max().unwrap();

        println!("| tool | median wall time | peak RSS |");
        println!("|---|---|---|");
        println!(
            "| `deskside-agent inventory --format json` | {} | {} KiB |",
            ms(d_wall),
            d_rss
        );
        match fusion {
            Some(fusion) => {
                let dir = tempfile::tempdir().unwrap();
                let local = format!("--local={}", dir.path().display());
                let _ = measure(fusion, &[&local]);
                let fi: Vec<Run> = (0..runs).map(|_| measure(fusion, &[&local])).collect();
                let f_wall = median(fi.iter().map(|r| r.wall).collect());
                let f_rss = fi.iter().map(|r| r.peak_rss_kib).max().unwrap();
                println!(
                    "| `fusioninventory-agent --local=DIR` | {} | {} KiB |",
                    ms(f_wall),
                    f_rss
                );
                println!();
                println!(
                    "**deskside-agent is {:.0}× faster and uses 1/{:.1} of the peak memory** (target: ≥ 20× faster, ≤ 1/6 memory).",
                    f_wall.as_secs_f64() / d_wall.as_secs_f64(),
                    f_rss as f64 / d_rss as f64
                );
            }
            None => println!(
                "\nfusioninventory-agent is not installed: run scripts/bench.sh, which installs it."
            ),
        }

        println!("\n## Metrics\n");
        let mut sampler = Sampler::new(5, PathBuf::from("/")).unwrap();
        std::thread::sleep(Duration::from_millis(300));
        let mut per_sample = Vec::new();
        for _ in 0..20 {
            std::thread::sleep(Duration::from_millis(100));
            let before = cpu_time(libc::CLOCK_THREAD_CPUTIME_ID);
            std::hint::black_box(sampler.sample());
            per_sample.push(cpu_time(libc::CLOCK_THREAD_CPUTIME_ID) - before);
        }
        println!(
            "- One metrics sample: median {} of CPU time (20 samples).",
            ms(median(per_sample))
        );

        let secs = env_num("DESKSIDE_BENCH_SAMPLER_SECS", 120);
        let defaults = deskside_agent::config::MetricsConfig::default();
        let history = Arc::new(Mutex::new(MetricsHistory::new(
            defaults.raw_history,
            defaults.rollup_history,
        )));
        let before = cpu_time(libc::CLOCK_PROCESS_CPUTIME_ID);
        let started = Instant::now();
        let thread = SamplerThread::spawn(sampler, defaults.interval, Arc::clone(&history));
        std::thread::sleep(Duration::from_secs(secs));
        thread.stop();
        let used = cpu_time(libc::CLOCK_PROCESS_CPUTIME_ID) - before;
        let samples = history.lock().unwrap().raw().len();
        println!(
            "- Sampler at the default 10 s interval for {secs} s ({samples} samples): {} of CPU, {:.4} % of one core on average.",
            ms(used),
            used.as_secs_f64() * 100.0 / started.elapsed().as_secs_f64()
        );
    }
}

fn main() {
    #[cfg(target_os = "linux")]
    linux::main();
    #[cfg(not(target_os = "linux"))]
    eprintln!("this benchmark compares against fusioninventory-agent on Linux; run it there");
}
