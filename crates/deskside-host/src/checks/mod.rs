//! Health checks: a policy of checks (built-in, local TOML, or pushed by the
//! desk), each run with a timeout, turned into results with Nagios
//! semantics, and combined into the device's overall health.
//!
//! - [`policy`] and [`threshold`] (from `deskside-policy`, shared with the
//!   desk) validate checks one by one and parse thresholds with units;
//! - [`resources`], [`system`], [`network`] and [`plugin`] implement the
//!   kinds;
//! - [`confine`] holds a desk policy to what the device allows;
//! - [`state`] applies `fails_before_alert`, records transitions and
//!   computes the overall health.

pub mod confine;
pub mod message;
pub mod network;
pub mod plugin;
pub mod resources;
pub mod scheduler;
pub mod state;
pub mod system;

// The policy model lives in its own crate so the desk validates policies
// without this crate's per-OS dependencies; its modules stay reachable here.
pub use deskside_policy::{policy, threshold};

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use chrono::Utc;
use deskside_protocol::{CheckResult, CheckState, PerfValue};

pub use confine::DeviceRules;
pub use policy::{Check, Kind, LoadedPolicy, PolicyError};
pub use scheduler::{Scheduler, SchedulerOptions};
pub use state::Tracker;

/// Runs the kinds that need TLS (`http`, `tls_cert_expiry`). The host
/// layer stays free of C-compiled crypto; `deskside-agent` provides this.
pub trait TlsChecks: Send + Sync {
    /// Runs `check` if it is a kind this implementation knows.
    fn run(&self, check: &Check) -> Option<Outcome>;
}

/// Where and with what checks run.
#[derive(Clone)]
pub struct Environment {
    /// File system root the readers start from (`/`, or a fixture tree).
    pub root: PathBuf,
    /// The TLS-capable kinds; without it they report `unknown`.
    pub tls: Option<Arc<dyn TlsChecks>>,
}

impl Default for Environment {
    fn default() -> Self {
        Self {
            root: PathBuf::from("/"),
            tls: None,
        }
    }
}

impl std::fmt::Debug for Environment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Environment")
            .field("root", &self.root)
            .field("tls", &self.tls.is_some())
            .finish()
    }
}

/// What one run of a check found, before `fails_before_alert` is applied.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// State of this run.
    pub state: CheckState,
    /// One line for a person.
    pub summary: String,
    /// Measured values.
    pub perfdata: Vec<PerfValue>,
    /// The summary as a message key, for the employee's language (`None`:
    /// a plugin's own text).
    pub message: Option<message::Message>,
}

impl Outcome {
    /// An outcome whose summary is `message` (in English).
    pub fn said(state: CheckState, message: message::Message, perfdata: Vec<PerfValue>) -> Self {
        Self {
            state,
            summary: message.english(),
            perfdata,
            message: Some(message),
        }
    }
}

/// Runs one check on the calling thread.
pub fn run_inline(check: &Check, env: &Environment) -> Outcome {
    let root = env.root.as_path();
    match &check.kind {
        Kind::DiskFree { mount } => resources::disk_free(check, mount.as_deref()),
        Kind::MemoryAvailable => resources::memory_available(check),
        Kind::SwapUsed => resources::swap_used(check),
        Kind::CpuLoad {
            window,
            per_core,
            warn,
            crit,
        } => resources::cpu_load(*window, *per_core, *warn, *crit),
        Kind::Uptime => resources::uptime(check),
        Kind::RebootPending => system::reboot_pending(root),
        Kind::Temperature { sensor } => resources::temperature(check, sensor.as_deref()),
        Kind::BatteryHealth => resources::battery_health(check, root),
        Kind::ProcessRunning {
            name,
            pattern,
            min_count,
        } => system::process_running(name.as_deref(), pattern.as_deref(), *min_count),
        Kind::ServiceActive { name } => system::service_active(name, check.timeout),
        Kind::TcpConnect { host, port } => network::tcp_connect(check, host, *port),
        Kind::DnsResolve { name, expect } => network::dns_resolve(check, name, *expect),
        Kind::DiskEncryption => system::disk_encryption(root, check.timeout),
        Kind::FirewallEnabled => system::firewall_enabled(check.timeout),
        Kind::Command {
            argv,
            max_output,
            confined: None,
        } => plugin::run(argv, check.timeout, *max_output),
        Kind::Command {
            argv,
            max_output,
            confined: Some(dirs),
        } => match confine::resolve_plugin(argv.first().map_or("", String::as_str), dirs) {
            Ok(real) => {
                let argv: Vec<String> = std::iter::once(real.display().to_string())
                    .chain(argv.iter().skip(1).cloned())
                    .collect();
                plugin::run(&argv, check.timeout, *max_output)
            }
            Err(rule) => refused(rule),
        },
        Kind::Refused { rule } => refused(rule.clone()),
        Kind::Http { .. } | Kind::TlsCertExpiry { .. } => env
            .tls
            .as_ref()
            .and_then(|t| t.run(check))
            .unwrap_or_else(|| {
                Outcome::said(
                    CheckState::Unknown,
                    message::Message::new("unavailable_kind").arg("kind", &check.spec.kind),
                    vec![],
                )
            }),
    }
}

/// A desk check this device does not allow.
fn refused(rule: String) -> Outcome {
    Outcome::said(
        CheckState::Unknown,
        message::Message::new("not_run").arg("rule", rule),
        vec![],
    )
}

/// Extra time a check gets past its own timeout before the runner stops
/// waiting for it: kinds enforce their timeout themselves, this catches
/// what they cannot (a hung system call).
const GRACE: Duration = Duration::from_secs(1);

/// A run that outlived its timeout and was abandoned: its helper thread is
/// still inside the check. [`Abandoned::finished`] turns true when it
/// returns.
#[derive(Debug, Clone)]
pub struct Abandoned(Arc<AtomicBool>);

impl Abandoned {
    /// Whether the abandoned run has returned by now.
    pub fn finished(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

/// Runs one check on a helper thread and gives up on it after its timeout,
/// so a hung check never holds up its caller. The thread of a hung check is
/// left to finish on its own.
pub fn run_with_timeout(check: &Check, env: &Environment) -> (Outcome, Duration) {
    let (outcome, took, _) = run_guarded(check, env);
    (outcome, took)
}

/// [`run_with_timeout`], also telling whether the run was abandoned, so a
/// scheduler can wait for a stuck run instead of piling up threads.
pub fn run_guarded(check: &Check, env: &Environment) -> (Outcome, Duration, Option<Abandoned>) {
    let start = Instant::now();
    let (tx, rx) = mpsc::channel();
    let (c, e) = (check.clone(), env.clone());
    let done = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&done);
    let spawned = std::thread::Builder::new()
        .name(format!("check-{}", check.spec.id))
        .spawn(move || {
            let _ = tx.send(run_inline(&c, &e));
            flag.store(true, Ordering::Release);
        });
    if let Err(e) = spawned {
        let o = Outcome::said(
            CheckState::Unknown,
            message::Message::new("cannot_start").arg("error", e),
            vec![],
        );
        return (o, start.elapsed(), None);
    }
    match rx.recv_timeout(check.timeout + GRACE) {
        Ok(outcome) => (outcome, start.elapsed(), None),
        Err(_) => {
            let o = Outcome::said(
                CheckState::Unknown,
                message::Message::new("timed_out")
                    .arg("duration", humantime::format_duration(check.timeout)),
                vec![],
            );
            (o, start.elapsed(), Some(Abandoned(done)))
        }
    }
}

/// Runs every check once, at most `concurrency` at a time, and records the
/// results in `tracker`. Results come back in policy order.
pub fn run_once(
    checks: &[Check],
    env: &Environment,
    concurrency: usize,
    tracker: &mut Tracker,
) -> Vec<CheckResult> {
    let mut outcomes: Vec<Option<(Outcome, Duration)>> = vec![None; checks.len()];
    for (chunk_idx, chunk) in checks.chunks(concurrency.max(1)).enumerate() {
        let done: Vec<(Outcome, Duration)> = std::thread::scope(|s| {
            let handles: Vec<_> = chunk
                .iter()
                .map(|c| s.spawn(move || run_with_timeout(c, env)))
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join().unwrap_or_else(|_| {
                        let o = Outcome::said(
                            CheckState::Unknown,
                            message::Message::new("crashed"),
                            vec![],
                        );
                        (o, Duration::ZERO)
                    })
                })
                .collect()
        });
        for (i, d) in done.into_iter().enumerate() {
            outcomes[chunk_idx * concurrency.max(1) + i] = Some(d);
        }
    }
    checks
        .iter()
        .zip(outcomes)
        .filter_map(|(c, o)| {
            let (outcome, took) = o?;
            let ms = u64::try_from(took.as_millis()).unwrap_or(u64::MAX);
            Some(tracker.record(c, outcome, Utc::now(), ms).0)
        })
        .collect()
}
