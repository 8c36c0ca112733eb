//! `deskside-agent run`: the long-running agent. One process per state
//! directory (a lock file), a metrics sampler, the check scheduler with
//! notifications, the check-in loop (which applies a new policy live) and
//! outbox delivery, until the shutdown future completes.

use std::fs::{File, TryLockError};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use deskside_host::checks::{Scheduler, SchedulerOptions};
use deskside_host::metrics::{MetricsHistory, Sampler, SamplerThread};

use crate::agent::{Agent, SyncError};
use crate::config::AgentConfig;
use crate::notify::Notifier;

/// Why the agent could not run.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Another agent uses this state directory.
    #[error("another deskside-agent is running with the state directory {0}")]
    Locked(PathBuf),
    /// The lock file failed.
    #[error("cannot lock {path}: {source}")]
    Lock {
        /// The lock file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The sampler could not start.
    #[error(transparent)]
    Host(#[from] deskside_host::Error),
    /// The core failed.
    #[error(transparent)]
    Sync(#[from] SyncError),
}

/// Held while an agent runs with a state directory; released on drop (and
/// by the OS when the process dies, however it dies).
#[derive(Debug)]
pub struct StateLock {
    _file: File,
}

impl StateLock {
    /// Takes the lock of `state_dir`, or says who holds it.
    pub fn acquire(state_dir: &Path) -> Result<Self, RunError> {
        let path = state_dir.join("agent.lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|source| RunError::Lock {
                path: path.clone(),
                source,
            })?;
        match file.try_lock() {
            Ok(()) => Ok(Self { _file: file }),
            Err(TryLockError::WouldBlock) => Err(RunError::Locked(state_dir.to_path_buf())),
            Err(TryLockError::Error(source)) => Err(RunError::Lock { path, source }),
        }
    }
}

/// How often the outbox is looked at when nothing woke it.
const DELIVERY_EVERY: Duration = Duration::from_secs(15);

/// Runs until `shutdown` completes.
pub async fn run(
    cfg: AgentConfig,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), RunError> {
    let (_lock, agent) = open_exclusive(&cfg, false)?;
    run_agent(agent, cfg, shutdown).await
}

/// Opens the agent for a long-running process (the CLI's `run`, the tray
/// app): takes the state directory's lock, which the caller holds while
/// the agent runs, and shows notifications. With `opens_windows` (the tray
/// app), a click on a notification becomes a
/// [`crate::agent::Event::Open`]; without, notifications offer no click.
pub fn open_exclusive(
    cfg: &AgentConfig,
    opens_windows: bool,
) -> Result<(StateLock, Arc<Agent>), RunError> {
    let state_dir = cfg.state_dir();
    crate::private_fs::private_dir(&state_dir).map_err(|source| RunError::Lock {
        path: state_dir.clone(),
        source,
    })?;
    let lock = StateLock::acquire(&state_dir)?;
    let agent = Agent::open(cfg.clone())?;
    let sender =
        crate::notify::desktop_sender_with_clicks(opens_windows.then(|| agent.click_handler()));
    let agent = Arc::new(agent.with_notifier(
        Notifier::new(cfg.notifications.clone(), Some(&state_dir)).with_sender(sender),
    ));
    Ok((lock, agent))
}

/// The agent's loops (sampler, checks, check-ins, delivery) for an agent
/// from [`open_exclusive`], until `shutdown` completes.
pub async fn run_agent(
    agent: Arc<Agent>,
    cfg: AgentConfig,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), RunError> {
    let state_dir = cfg.state_dir();

    let history = Arc::new(Mutex::new(MetricsHistory::new(
        cfg.metrics.raw_history,
        cfg.metrics.rollup_history,
    )));
    // No process rankings: check-ins and kept history leave them out, and
    // a diagnostics bundle measures its own. Skipping them is most of the
    // idle agent's CPU time.
    let sampler = SamplerThread::spawn(
        Sampler::new(0, "/".into())?,
        cfg.metrics.interval,
        Arc::clone(&history),
    );

    let policy = agent.active_policy()?;
    let current = Arc::new(Mutex::new(policy.clone()));
    let for_hook = Arc::clone(&current);
    let notifying = Arc::clone(&agent);
    let scheduler = Scheduler::start(
        policy,
        SchedulerOptions {
            env: crate::checks::environment(),
            store: Some(state_dir.join("checks.json")),
            ..SchedulerOptions::default()
        },
        Box::new(move |_result, transition| {
            let Some(t) = transition else { return };
            let policy = for_hook.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(check) = policy.checks.iter().find(|c| c.spec.id == t.check_id) {
                notifying.on_transition(check, t);
            }
        }),
    );
    tracing::info!(state_dir = %state_dir.display(), "agent running");

    let work = async {
        let mut next_checkin = tokio::time::Instant::now();
        // The first samples are kept soon, so that a fresh agent's health
        // window and bundles have some history.
        let mut next_keep = tokio::time::Instant::now() + Duration::from_secs(15);
        loop {
            if tokio::time::Instant::now() >= next_keep {
                next_keep = tokio::time::Instant::now() + KEEP_METRICS_EVERY;
                keep_metrics(&agent, &history);
            }
            if agent.has_desk() {
                if tokio::time::Instant::now() >= next_checkin {
                    let metrics: Vec<_> = history
                        .lock()
                        .map(|h| h.latest().cloned().into_iter().map(trim_sample).collect())
                        .unwrap_or_default();
                    // What the checks found up to this moment, not what
                    // was last written to checks.json.
                    match agent
                        .checkin_with(metrics, Some(scheduler.snapshot()))
                        .await
                    {
                        Ok(outcome) => {
                            if outcome.new_policy.is_some()
                                && let Ok(loaded) = agent.active_policy()
                            {
                                for e in &loaded.errors {
                                    tracing::warn!("desk policy: {e}");
                                }
                                for c in &loaded.checks {
                                    if let deskside_host::checks::Kind::Refused { rule } = &c.kind {
                                        tracing::warn!(check = %c.spec.id, "desk check not run: {rule}");
                                    }
                                }
                                *current.lock().unwrap_or_else(|p| p.into_inner()) = loaded.clone();
                                tracing::info!(version = loaded.version, "new policy applied");
                                scheduler.set_policy(loaded);
                            }
                            next_checkin = tokio::time::Instant::now() + outcome.next_checkin;
                        }
                        Err(e) => {
                            tracing::warn!("check-in failed: {e}");
                            next_checkin = tokio::time::Instant::now()
                                + crate::agent::backoff(3).max(Duration::from_secs(10));
                        }
                    }
                }
                // Tickets failing checks open by themselves, once per
                // failing episode (the outbox delivers them below).
                let policy_now = current.lock().unwrap_or_else(|p| p.into_inner()).clone();
                if policy_now.checks.iter().any(|c| c.open_ticket.is_some()) {
                    let snapshot = scheduler.snapshot();
                    let filer = Arc::clone(&agent);
                    let filed = tokio::task::spawn_blocking(move || {
                        filer.file_check_tickets(&policy_now, &snapshot, chrono::Utc::now())
                    })
                    .await;
                    if let Ok(Err(e)) = filed {
                        tracing::warn!("tickets of failing checks: {e}");
                    }
                }
                if agent.outbox_depth().unwrap_or(0) > 0
                    && let Err(e) = agent.deliver().await
                {
                    tracing::warn!("delivery: {e}");
                }
            }
            let wait = next_checkin
                .saturating_duration_since(tokio::time::Instant::now())
                .min(DELIVERY_EVERY);
            tokio::time::sleep(wait.max(Duration::from_millis(200))).await;
        }
    };
    tokio::select! {
        () = work => {}
        () = shutdown => tracing::info!("stopping"),
    }
    keep_metrics(&agent, &history);
    scheduler.stop();
    sampler.stop();
    Ok(())
}

/// How often samples go to the store for diagnostics bundles filed from
/// another process (the CLI).
const KEEP_METRICS_EVERY: Duration = Duration::from_secs(60);

/// Stores the samples taken since the last time, without process lists.
fn keep_metrics(agent: &Agent, history: &Mutex<MetricsHistory>) {
    let since = agent
        .last_recorded_metric()
        .ok()
        .flatten()
        .unwrap_or_default();
    let fresh: Vec<_> = history
        .lock()
        .map(|h| h.raw_since(since).cloned().map(trim_sample).collect())
        .unwrap_or_default();
    if !fresh.is_empty()
        && let Err(e) = agent.record_metrics(&fresh)
    {
        tracing::warn!("cannot keep metric samples: {e}");
    }
}

/// A sample as the desk gets it at check-in: the process lists stay on
/// the device (they go into diagnostics bundles), which keeps an idle
/// check-in small.
fn trim_sample(mut s: deskside_protocol::MetricSample) -> deskside_protocol::MetricSample {
    s.top_cpu.clear();
    s.top_memory.clear();
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_agent_per_state_directory() {
        let dir = tempfile::tempdir().unwrap();
        let first = StateLock::acquire(dir.path()).unwrap();
        assert!(matches!(
            StateLock::acquire(dir.path()),
            Err(RunError::Locked(_))
        ));
        drop(first);
        StateLock::acquire(dir.path()).unwrap();
    }
}
