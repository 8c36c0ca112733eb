//! Running a policy continuously: each check on its own interval with
//! jitter, at most `concurrency` at a time, a hung check never delaying the
//! others, and a new policy applied without a restart.
//!
//! One scheduler thread owns the [`Tracker`]; checks run on worker threads
//! and report back over a channel, so results are recorded in one place and
//! in order.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use chrono::Utc;
use deskside_protocol::{CheckResult, StateTransition};

use super::{Abandoned, Check, Environment, LoadedPolicy, Outcome, Tracker};

/// Called on the scheduler thread for every result, with the transition
/// when the reported state changed. Keep it short (queue work elsewhere).
pub type ResultHook = Box<dyn FnMut(&CheckResult, Option<&StateTransition>) + Send>;

/// How the scheduler runs.
pub struct SchedulerOptions {
    /// Checks running at once.
    pub concurrency: usize,
    /// Root path and TLS-capable kinds.
    pub env: Environment,
    /// First runs are spread over this long after start, so a policy does
    /// not run all at once.
    pub startup_spread: Duration,
    /// Share of the interval by which each run is moved at random (0.1:
    /// ±10 %), so a fleet does not check in lockstep.
    pub jitter: f64,
    /// Where results and transitions persist; `None` keeps them in memory.
    pub store: Option<PathBuf>,
    /// Least time between two writes of the store when nothing changed
    /// state (a transition is written at once).
    pub save_every: Duration,
}

impl Default for SchedulerOptions {
    fn default() -> Self {
        Self {
            concurrency: 4,
            env: Environment::default(),
            startup_spread: Duration::from_secs(10),
            jitter: 0.1,
            store: None,
            save_every: Duration::from_secs(60),
        }
    }
}

enum Msg {
    Policy(Box<LoadedPolicy>),
    RunNow,
    Done {
        id: String,
        generation: u64,
        outcome: Outcome,
        took: Duration,
        abandoned: Option<Abandoned>,
    },
    Stop,
}

/// A running scheduler. Dropping it stops it.
pub struct Scheduler {
    tx: Sender<Msg>,
    thread: Option<JoinHandle<()>>,
    tracker: Arc<Mutex<Tracker>>,
}

/// Small, seedable randomness for jitter: no cryptographic needs here.
struct XorShift(u64);

impl XorShift {
    fn seeded() -> Self {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        Self((t ^ u64::from(std::process::id()).rotate_left(32)) | 1)
    }

    /// A float in [0, 1).
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The scheduler thread's state. One thread owns it; workers only send
/// messages back.
struct Loop {
    opts: SchedulerOptions,
    tracker: Arc<Mutex<Tracker>>,
    hook: ResultHook,
    worker_tx: Sender<Msg>,
    rng: XorShift,
    checks: Vec<Check>,
    due: HashMap<String, Instant>,
    running: HashSet<String>,
    /// Each check's definition has a generation; a result of a run started
    /// under an older definition is dropped. Checks whose definition did
    /// not change keep theirs, so a policy update never starts a second run
    /// of a check that is running.
    gens: HashMap<String, u64>,
    next_gen: u64,
    /// Checks whose last run hung and was abandoned: no new run (and no new
    /// thread) until the stuck one returns.
    stuck: HashMap<String, Abandoned>,
    last_save: Instant,
    dirty: bool,
}

impl Loop {
    fn apply(&mut self, policy: LoadedPolicy) {
        let now = Instant::now();
        let old: HashMap<String, Check> = self
            .checks
            .drain(..)
            .map(|c| (c.spec.id.clone(), c))
            .collect();
        let unchanged = |id: &String| {
            policy
                .checks
                .iter()
                .any(|c| &c.spec.id == id && old.get(id) == Some(c))
        };
        self.due.retain(|id, _| unchanged(id));
        self.gens.retain(|id, _| unchanged(id));
        self.running.retain(|id| unchanged(id));
        for c in &policy.checks {
            let first = now
                + self
                    .opts
                    .startup_spread
                    .min(c.interval)
                    .mul_f64(self.rng.next());
            self.due.entry(c.spec.id.clone()).or_insert(first);
            if !self.gens.contains_key(&c.spec.id) {
                self.next_gen += 1;
                self.gens.insert(c.spec.id.clone(), self.next_gen);
            }
        }
        self.checks = policy.checks;
        let ids: Vec<&str> = self.checks.iter().map(|c| c.spec.id.as_str()).collect();
        if let Ok(mut t) = self.tracker.lock() {
            t.retain(&ids);
        }
    }

    /// Starts whatever is due, up to the concurrency cap.
    fn start_due(&mut self) {
        let now = Instant::now();
        let mut ready: Vec<&Check> = self
            .checks
            .iter()
            .filter(|c| {
                self.due.get(&c.spec.id).is_some_and(|t| *t <= now)
                    && !self.running.contains(&c.spec.id)
            })
            .collect();
        ready.sort_by_key(|c| self.due.get(&c.spec.id).copied());
        let room = self.opts.concurrency.saturating_sub(self.running.len());
        let starting: Vec<Check> = ready.into_iter().take(room).cloned().collect();
        self.stuck.retain(|_, a| !a.finished());
        for check in starting {
            if self.stuck.contains_key(&check.spec.id) {
                self.still_stuck(&check);
                continue;
            }
            let id = check.spec.id.clone();
            let generation = self.gens.get(&id).copied().unwrap_or_default();
            let (env, tx, worker_id) = (self.opts.env.clone(), self.worker_tx.clone(), id.clone());
            let spawned = std::thread::Builder::new()
                .name(format!("run-{id}"))
                .spawn(move || {
                    let (outcome, took, abandoned) = super::run_guarded(&check, &env);
                    let _ = tx.send(Msg::Done {
                        id: worker_id,
                        generation,
                        outcome,
                        took,
                        abandoned,
                    });
                });
            if spawned.is_ok() {
                self.running.insert(id);
            }
        }
    }

    /// How long until something is due (or the store should be written).
    fn next_wake(&self) -> Duration {
        let wake = self
            .checks
            .iter()
            .filter(|c| !self.running.contains(&c.spec.id))
            .filter_map(|c| self.due.get(&c.spec.id))
            .min()
            .map_or(Duration::from_secs(3600), |t| {
                t.saturating_duration_since(Instant::now())
            });
        if self.dirty {
            wake.min(self.opts.save_every)
        } else {
            wake
        }
    }

    /// A due check whose previous run is still hung: reported as unknown
    /// without starting another thread, and tried again next interval.
    fn still_stuck(&mut self, check: &Check) {
        let id = check.spec.id.clone();
        let generation = self.gens.get(&id).copied().unwrap_or_default();
        let outcome = Outcome::said(
            deskside_protocol::CheckState::Unknown,
            super::message::Message::new("stuck"),
            vec![],
        );
        self.running.insert(id.clone());
        self.on_done(id, generation, outcome, Duration::ZERO, None);
    }

    fn on_done(
        &mut self,
        id: String,
        generation: u64,
        outcome: Outcome,
        took: Duration,
        abandoned: Option<Abandoned>,
    ) {
        if self.gens.get(&id) != Some(&generation) {
            return;
        }
        if let Some(a) = abandoned {
            self.stuck.insert(id.clone(), a);
        }
        self.running.remove(&id);
        let Some(c) = self.checks.iter().find(|c| c.spec.id == id) else {
            return;
        };
        let factor = 1.0 + self.opts.jitter * (2.0 * self.rng.next() - 1.0);
        self.due
            .insert(id, Instant::now() + c.interval.mul_f64(factor.max(0.1)));
        let ms = u64::try_from(took.as_millis()).unwrap_or(u64::MAX);
        let Ok(mut t) = self.tracker.lock() else {
            return;
        };
        let (result, transition) = t.record(c, outcome, Utc::now(), ms);
        (self.hook)(&result, transition.as_ref());
        drop(t);
        self.dirty = true;
        // A change of state is written at once; the rest at most every
        // `save_every`.
        self.save_if(transition.is_some());
    }

    fn save_if(&mut self, urgent: bool) {
        if !self.dirty || !(urgent || self.last_save.elapsed() >= self.opts.save_every) {
            return;
        }
        if let (Some(path), Ok(t)) = (&self.opts.store, self.tracker.lock())
            && let Err(e) = t.save(path)
        {
            warn(&format!(
                "cannot save check results to {}: {e}",
                path.display()
            ));
        }
        self.last_save = Instant::now();
        self.dirty = false;
    }

    fn run(mut self, policy: LoadedPolicy, rx: mpsc::Receiver<Msg>) {
        self.apply(policy);
        loop {
            self.start_due();
            match rx.recv_timeout(self.next_wake()) {
                Ok(Msg::Stop) | Err(RecvTimeoutError::Disconnected) => break,
                Ok(Msg::Policy(p)) => self.apply(*p),
                Ok(Msg::RunNow) => {
                    let now = Instant::now();
                    self.due.values_mut().for_each(|t| *t = now);
                }
                Ok(Msg::Done {
                    id,
                    generation,
                    outcome,
                    took,
                    abandoned,
                }) => self.on_done(id, generation, outcome, took, abandoned),
                Err(RecvTimeoutError::Timeout) => {}
            }
            self.save_if(false);
        }
        self.save_if(true);
    }
}

/// The host layer has no logging framework of its own; a failed save is
/// reported on stderr, where the agent's log goes too.
fn warn(msg: &str) {
    eprintln!("deskside: warning: {msg}");
}

impl Scheduler {
    /// Starts running `policy`. Results of earlier runs are loaded from the
    /// store when there is one.
    pub fn start(policy: LoadedPolicy, opts: SchedulerOptions, hook: ResultHook) -> Self {
        let tracker = Arc::new(Mutex::new(
            opts.store
                .as_deref()
                .and_then(Tracker::load)
                .unwrap_or_default(),
        ));
        let (tx, rx) = mpsc::channel::<Msg>();
        let state = Loop {
            opts,
            tracker: Arc::clone(&tracker),
            hook,
            worker_tx: tx.clone(),
            rng: XorShift::seeded(),
            checks: Vec::new(),
            due: HashMap::new(),
            running: HashSet::new(),
            gens: HashMap::new(),
            next_gen: 0,
            stuck: HashMap::new(),
            last_save: Instant::now(),
            // Written once at stop even when nothing ran.
            dirty: true,
        };
        let thread = std::thread::Builder::new()
            .name("deskside-checks".into())
            .spawn(move || state.run(policy, rx))
            .ok();
        Self {
            tx,
            thread,
            tracker,
        }
    }

    /// Replaces the policy; checks whose definition did not change keep
    /// their schedule.
    pub fn set_policy(&self, policy: LoadedPolicy) {
        let _ = self.tx.send(Msg::Policy(Box::new(policy)));
    }

    /// Runs every check as soon as possible (e.g. "Sync now").
    pub fn run_now(&self) {
        let _ = self.tx.send(Msg::RunNow);
    }

    /// A snapshot of the latest results and transitions.
    pub fn snapshot(&self) -> Tracker {
        self.tracker.lock().map(|t| t.clone()).unwrap_or_default()
    }

    /// Stops the scheduler, saving the store.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        let _ = self.tx.send(Msg::Stop);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Scheduler {
    fn drop(&mut self) {
        self.shutdown();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_source_is_uniform_enough() {
        let mut r = XorShift(42);
        let v: Vec<f64> = (0..1000).map(|_| r.next()).collect();
        assert!(v.iter().all(|x| (0.0..1.0).contains(x)));
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        assert!((0.4..0.6).contains(&mean), "{mean}");
    }
}
