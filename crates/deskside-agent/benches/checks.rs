//! Health-check benchmark, release build:
//!
//!     cargo bench -p deskside-agent --bench checks
//!
//! 1. CPU time of one run of the built-in default policy (all checks, as
//!    `deskside-agent check` runs them), median of 10 runs.
//! 2. The scheduler running the default policy at its default intervals:
//!    average CPU use once the start-up burst is over.
//!
//! Environment: `DESKSIDE_BENCH_IDLE_SECS` (measured idle window, default
//! 300).

// CPU time needs clock_gettime(2), which std does not expose.
#![allow(unsafe_code, clippy::unwrap_used, clippy::print_stdout)]

#[cfg(target_os = "linux")]
mod linux {
    use std::time::{Duration, Instant};

    use deskside_agent::checks::environment;
    use deskside_host::checks::{self, LoadedPolicy, Scheduler, SchedulerOptions, Tracker};

    fn process_cpu() -> Duration {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
        Duration::new(
            u64::try_from(ts.tv_sec).unwrap(),
            u32::try_from(ts.tv_nsec).unwrap(),
        )
    }

    fn ms(d: Duration) -> String {
        format!("{:.1} ms", d.as_secs_f64() * 1000.0)
    }

    pub fn main() {
        let policy = LoadedPolicy::builtin();
        let env = environment();
        println!(
            "## Health checks (built-in policy, {} checks)\n",
            policy.checks.len()
        );

        let _ = checks::run_once(&policy.checks, &env, 4, &mut Tracker::default());
        let mut runs: Vec<Duration> = (0..10)
            .map(|_| {
                let before = process_cpu();
                let _ = checks::run_once(&policy.checks, &env, 4, &mut Tracker::default());
                process_cpu() - before
            })
            .collect();
        runs.sort();
        println!(
            "- One run of the default policy: median {} of CPU time (10 runs; target < 20 ms).",
            ms(runs[5])
        );

        let secs: u64 = std::env::var("DESKSIDE_BENCH_IDLE_SECS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(300);
        let dir = tempfile::tempdir().unwrap();
        let opts = SchedulerOptions {
            env,
            store: Some(dir.path().join("checks.json")),
            ..SchedulerOptions::default()
        };
        let sched = Scheduler::start(policy, opts, Box::new(|_, _| {}));
        // Let the start-up burst (every check once, spread over 10 s) pass.
        std::thread::sleep(Duration::from_secs(15));
        let (cpu0, wall0) = (process_cpu(), Instant::now());
        std::thread::sleep(Duration::from_secs(secs));
        let (cpu, wall) = (process_cpu() - cpu0, wall0.elapsed());
        sched.stop();
        println!(
            "- Scheduler at default intervals, {secs} s after start-up: {} of CPU, {:.4} % of one core on average (target < 0.1 %).",
            ms(cpu),
            cpu.as_secs_f64() * 100.0 / wall.as_secs_f64()
        );
    }
}

fn main() {
    #[cfg(target_os = "linux")]
    linux::main();
    #[cfg(not(target_os = "linux"))]
    eprintln!("this benchmark measures Linux process CPU time; run it on Linux");
}
