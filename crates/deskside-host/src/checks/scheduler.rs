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

use super::{Check, Environment, LoadedPolicy, Outcome, Tracker};

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

impl Scheduler {
    /// Starts running `policy`. Results of earlier runs are loaded from the
    /// store when there is one.
    pub fn start(policy: LoadedPolicy, opts: SchedulerOptions, mut hook: ResultHook) -> Self {
        let tracker = Arc::new(Mutex::new(
            opts.store
                .as_deref()
                .and_then(Tracker::load)
                .unwrap_or_default(),
        ));
        let (tx, rx) = mpsc::channel::<Msg>();
        let shared = Arc::clone(&tracker);
        let worker_tx = tx.clone();
        let thread = std::thread::Builder::new()
            .name("deskside-checks".into())
            .spawn(move || {
                let mut rng = XorShift::seeded();
                let mut checks: Vec<Check> = Vec::new();
                let mut due: HashMap<String, Instant> = HashMap::new();
                let mut running: HashSet<String> = HashSet::new();
                // Each check's definition has a generation; a result of a run
                // started under an older definition is dropped. Checks whose
                // definition did not change keep theirs, so a policy update
                // never starts a second run of a check that is running.
                let mut gens: HashMap<String, u64> = HashMap::new();
                let mut next_gen = 0u64;
                let mut last_save = Instant::now();
                let mut dirty = false;

                let spread = |rng: &mut XorShift, d: Duration| d.mul_f64(rng.next());
                let apply = |p: LoadedPolicy,
                             checks: &mut Vec<Check>,
                             due: &mut HashMap<String, Instant>,
                             gens: &mut HashMap<String, u64>,
                             next_gen: &mut u64,
                             running: &mut HashSet<String>,
                             rng: &mut XorShift| {
                    let now = Instant::now();
                    let old: HashMap<String, Check> =
                        checks.drain(..).map(|c| (c.spec.id.clone(), c)).collect();
                    let unchanged = |id: &String| {
                        p.checks
                            .iter()
                            .any(|c| &c.spec.id == id && old.get(id) == Some(c))
                    };
                    gens.retain(|id, _| unchanged(id));
                    running.retain(|id| unchanged(id));
                    for c in &p.checks {
                        gens.entry(c.spec.id.clone()).or_insert_with(|| {
                            *next_gen += 1;
                            *next_gen
                        });
                    }
                    due.retain(|id, _| {
                        p.checks
                            .iter()
                            .any(|c| &c.spec.id == id && old.get(id) == Some(c))
                    });
                    for c in &p.checks {
                        due.entry(c.spec.id.clone()).or_insert_with(|| {
                            now + spread(rng, opts.startup_spread.min(c.interval))
                        });
                    }
                    *checks = p.checks;
                    let ids: Vec<&str> = checks.iter().map(|c| c.spec.id.as_str()).collect();
                    if let Ok(mut t) = shared.lock() {
                        t.retain(&ids);
                    }
                };
                apply(
                    policy,
                    &mut checks,
                    &mut due,
                    &mut gens,
                    &mut next_gen,
                    &mut running,
                    &mut rng,
                );

                loop {
                    let now = Instant::now();
                    // Start whatever is due, up to the concurrency cap.
                    let mut ready: Vec<&Check> = checks
                        .iter()
                        .filter(|c| {
                            due.get(&c.spec.id).is_some_and(|t| *t <= now)
                                && !running.contains(&c.spec.id)
                        })
                        .collect();
                    ready.sort_by_key(|c| due.get(&c.spec.id).copied());
                    for c in ready
                        .into_iter()
                        .take(opts.concurrency.saturating_sub(running.len()))
                    {
                        running.insert(c.spec.id.clone());
                        let generation = gens.get(&c.spec.id).copied().unwrap_or_default();
                        let (check, env, tx, id) = (
                            c.clone(),
                            opts.env.clone(),
                            worker_tx.clone(),
                            c.spec.id.clone(),
                        );
                        let spawned = std::thread::Builder::new().name(format!("run-{id}")).spawn(
                            move || {
                                let (outcome, took) = super::run_with_timeout(&check, &env);
                                let _ = tx.send(Msg::Done {
                                    id,
                                    generation,
                                    outcome,
                                    took,
                                });
                            },
                        );
                        if spawned.is_err() {
                            running.remove(&c.spec.id);
                        }
                    }
                    let wake = checks
                        .iter()
                        .filter(|c| !running.contains(&c.spec.id))
                        .filter_map(|c| due.get(&c.spec.id))
                        .min()
                        .map_or(Duration::from_secs(3600), |t| {
                            t.saturating_duration_since(Instant::now())
                        });
                    let wake = if dirty {
                        wake.min(opts.save_every)
                    } else {
                        wake
                    };
                    match rx.recv_timeout(wake) {
                        Ok(Msg::Stop) | Err(RecvTimeoutError::Disconnected) => break,
                        Ok(Msg::Policy(p)) => {
                            apply(
                                *p,
                                &mut checks,
                                &mut due,
                                &mut gens,
                                &mut next_gen,
                                &mut running,
                                &mut rng,
                            );
                        }
                        Ok(Msg::RunNow) => {
                            let now = Instant::now();
                            due.values_mut().for_each(|t| *t = now);
                        }
                        Ok(Msg::Done {
                            id,
                            generation: g,
                            outcome,
                            took,
                        }) => {
                            if gens.get(&id) != Some(&g) {
                                continue;
                            }
                            running.remove(&id);
                            let Some(c) = checks.iter().find(|c| c.spec.id == id) else {
                                continue;
                            };
                            let factor = 1.0 + opts.jitter * (2.0 * rng.next() - 1.0);
                            due.insert(
                                id.clone(),
                                Instant::now() + c.interval.mul_f64(factor.max(0.1)),
                            );
                            let ms = u64::try_from(took.as_millis()).unwrap_or(u64::MAX);
                            let Ok(mut t) = shared.lock() else { continue };
                            let (result, transition) = t.record(c, outcome, Utc::now(), ms);
                            dirty = true;
                            let urgent = transition.is_some();
                            hook(&result, transition.as_ref());
                            if let Some(path) = &opts.store {
                                if urgent || last_save.elapsed() >= opts.save_every {
                                    if let Err(e) = t.save(path) {
                                        eprintln!(
                                            "deskside: cannot save check results to {}: {e}",
                                            path.display()
                                        );
                                    }
                                    last_save = Instant::now();
                                    dirty = false;
                                }
                            }
                        }
                        Err(RecvTimeoutError::Timeout) => {}
                    }
                    if dirty && last_save.elapsed() >= opts.save_every {
                        if let (Some(path), Ok(t)) = (&opts.store, shared.lock()) {
                            let _ = t.save(path);
                        }
                        last_save = Instant::now();
                        dirty = false;
                    }
                }
                if let (Some(path), Ok(t)) = (&opts.store, shared.lock()) {
                    let _ = t.save(path);
                }
            })
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
