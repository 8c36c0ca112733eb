//! Taking a health sample. Each sample refreshes only what it reports:
//! CPU usage, memory, process CPU/memory (no command lines, environments or
//! disk I/O), network counters, volume space, sensors.

use std::path::PathBuf;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use chrono::Utc;
use deskside_protocol::{
    BatteryCharge, CpuUsage, LoadAverage, MemoryUsage, MetricSample, NetworkThroughput,
    ProcessUsage, Temperature, VolumeUsage,
};
use sysinfo::{
    Components, DiskRefreshKind, Disks, MemoryRefreshKind, Networks, ProcessRefreshKind,
    ProcessesToUpdate, System, ThreadKind,
};

use super::MetricsHistory;
use crate::Error;

/// Takes health samples. CPU usage and rates are measured over the time
/// since the previous sample, so the first real sample needs a baseline:
/// [`Sampler::new`] takes it.
pub struct Sampler {
    sys: System,
    networks: Networks,
    disks: Disks,
    components: Components,
    last: Instant,
    top_processes: usize,
    root: PathBuf,
}

/// CPU and memory of each process, nothing else. `nothing()` still walks
/// every thread of every process (`tasks` defaults to on); turning that off
/// makes the process refresh several times cheaper.
///
/// With no rankings to fill, only the count is needed: CPU and memory are
/// not read at all (what `deskside-agent run` does every 10 s).
fn process_kind(top_processes: usize) -> ProcessRefreshKind {
    if top_processes == 0 {
        return ProcessRefreshKind::nothing().without_tasks();
    }
    ProcessRefreshKind::nothing()
        .with_cpu()
        .with_memory()
        .without_tasks()
}

impl Sampler {
    /// A sampler listing `top_processes` processes per ranking; `root` is
    /// the file system root for the battery reader.
    pub fn new(top_processes: usize, root: PathBuf) -> Result<Self, Error> {
        let sys_err = |e: sysinfo::Error| Error::System(e.to_string());
        let mut sys = System::new().map_err(sys_err)?;
        sys.refresh_cpu_usage();
        sys.refresh_processes_specifics(ProcessesToUpdate::All, true, process_kind(top_processes));
        Ok(Self {
            sys,
            networks: Networks::new_with_refreshed_list().map_err(sys_err)?,
            disks: Disks::new_with_refreshed_list_specifics(
                DiskRefreshKind::nothing().with_storage(),
            )
            .map_err(sys_err)?,
            components: Components::new_with_refreshed_list().map_err(sys_err)?,
            last: Instant::now(),
            top_processes,
            root,
        })
    }

    /// Takes one sample covering the time since the previous one.
    pub fn sample(&mut self) -> MetricSample {
        let window = self.last.elapsed();
        self.last = Instant::now();
        let secs = window.as_secs_f64().max(f64::EPSILON);

        self.sys.refresh_cpu_usage();
        self.sys
            .refresh_memory_specifics(MemoryRefreshKind::everything());
        self.sys.refresh_processes_specifics(
            ProcessesToUpdate::All,
            true,
            process_kind(self.top_processes),
        );
        self.networks.refresh(true);
        self.disks
            .refresh_specifics(true, DiskRefreshKind::nothing().with_storage());
        self.components.refresh(true);

        // sysinfo lists each thread of a process as a process of its own.
        let mut procs: Vec<ProcessUsage> = self
            .sys
            .processes()
            .values()
            .filter(|p| p.thread_kind() != Some(ThreadKind::Userland))
            .map(|p| ProcessUsage {
                pid: p.pid().as_u32(),
                name: p.name().to_string_lossy().into_owned(),
                cpu_percent: p.cpu_usage(),
                memory_bytes: p.memory(),
            })
            .collect();
        let process_count = u32::try_from(procs.len()).ok();
        let n = self.top_processes;
        procs.sort_by(|a, b| {
            b.cpu_percent
                .total_cmp(&a.cpu_percent)
                .then(a.pid.cmp(&b.pid))
        });
        // An idle process in the CPU ranking says nothing.
        let top_cpu: Vec<ProcessUsage> = procs
            .iter()
            .filter(|p| p.cpu_percent > 0.0)
            .take(n)
            .cloned()
            .collect();
        procs.sort_by(|a, b| b.memory_bytes.cmp(&a.memory_bytes).then(a.pid.cmp(&b.pid)));
        procs.truncate(n);

        let mut network: Vec<NetworkThroughput> = self
            .networks
            .iter()
            .map(|(name, d)| NetworkThroughput {
                interface: name.to_string_lossy().into_owned(),
                rx_bytes_per_sec: d.received() as f64 / secs,
                tx_bytes_per_sec: d.transmitted() as f64 / secs,
            })
            .collect();
        network.sort_by(|a, b| a.interface.cmp(&b.interface));

        let mut volumes: Vec<VolumeUsage> = self
            .disks
            .iter()
            .map(|d| VolumeUsage {
                mount_point: d.mount_point().to_string_lossy().into_owned(),
                total_bytes: d.total_space(),
                free_bytes: d.available_space(),
            })
            .collect();
        volumes.sort_by(|a, b| a.mount_point.cmp(&b.mount_point));
        volumes.dedup_by(|a, b| a.mount_point == b.mount_point);

        let temperatures = self
            .components
            .iter()
            .filter_map(|c| {
                Some(Temperature {
                    label: c.label().to_owned(),
                    celsius: c.temperature().filter(|t| t.is_finite())?,
                    critical_celsius: c.critical().filter(|t| t.is_finite() && *t > 0.0),
                })
            })
            .collect();

        #[cfg(target_os = "linux")]
        let batteries = crate::collect::battery::read_linux(&self.root)
            .into_iter()
            .map(|b| BatteryCharge {
                name: b.name,
                percent: b.charge_percent,
                status: b.status,
            })
            .collect();
        #[cfg(not(target_os = "linux"))]
        let batteries: Vec<BatteryCharge> = {
            let _ = &self.root;
            Vec::new()
        };

        let load = System::load_average()
            .ok()
            .filter(|_| cfg!(unix))
            .map(|l| LoadAverage {
                one: l.one,
                five: l.five,
                fifteen: l.fifteen,
            });

        MetricSample {
            timestamp: Utc::now(),
            window_secs: Some(secs),
            cpu: Some(CpuUsage {
                usage_percent: self.sys.global_cpu_usage(),
                per_core_percent: self.sys.cpus().iter().map(sysinfo::Cpu::usage).collect(),
            }),
            load_average: load,
            memory: Some(MemoryUsage {
                total_bytes: self.sys.total_memory(),
                used_bytes: self.sys.used_memory(),
                available_bytes: self.sys.available_memory(),
                swap_total_bytes: self.sys.total_swap(),
                swap_used_bytes: self.sys.used_swap(),
            }),
            volumes,
            network,
            process_count,
            top_cpu,
            top_memory: procs,
            temperatures,
            batteries,
        }
    }
}

/// A background thread sampling at a fixed interval into a shared history.
/// Dropping it (or [`SamplerThread::stop`]) ends the thread promptly.
pub struct SamplerThread {
    stop: Option<mpsc::Sender<()>>,
    handle: Option<JoinHandle<()>>,
}

impl SamplerThread {
    /// Starts sampling every `interval` into `history`.
    pub fn spawn(
        mut sampler: Sampler,
        interval: Duration,
        history: Arc<Mutex<MetricsHistory>>,
    ) -> Self {
        let (tx, rx) = mpsc::channel::<()>();
        let handle = std::thread::Builder::new()
            .name("deskside-sampler".into())
            .spawn(move || {
                // Deadlines rather than sleeps, so samples do not drift.
                let mut next = Instant::now() + interval;
                loop {
                    match rx.recv_timeout(next.saturating_duration_since(Instant::now())) {
                        Err(RecvTimeoutError::Timeout) => {}
                        _ => return,
                    }
                    let sample = sampler.sample();
                    if let Ok(mut h) = history.lock() {
                        h.push(sample);
                    }
                    next += interval;
                    let now = Instant::now();
                    if next < now {
                        // Suspended laptop: skip the missed ticks.
                        next = now + interval;
                    }
                }
            })
            .ok();
        Self {
            stop: Some(tx),
            handle,
        }
    }

    /// Stops the thread and waits for it.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

impl Drop for SamplerThread {
    fn drop(&mut self) {
        self.shutdown();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sample_describes_this_machine() {
        let mut s = Sampler::new(5, PathBuf::from("/")).unwrap();
        std::thread::sleep(sysinfo::MINIMUM_CPU_UPDATE_INTERVAL);
        let m = s.sample();
        let cpu = m.cpu.unwrap();
        assert!((0.0..=100.0).contains(&cpu.usage_percent));
        assert_eq!(
            cpu.per_core_percent.len(),
            std::thread::available_parallelism().unwrap().get()
        );
        let mem = m.memory.unwrap();
        assert!(mem.total_bytes > 0 && mem.used_bytes <= mem.total_bytes);
        assert!(m.process_count.unwrap() > 1);
        assert!(m.top_cpu.len() <= 5 && m.top_cpu.iter().all(|p| p.cpu_percent > 0.0));
        assert!(
            m.top_cpu
                .windows(2)
                .all(|w| w[0].cpu_percent >= w[1].cpu_percent)
        );
        assert_eq!(m.top_memory.len(), 5);
        assert!(
            m.top_memory
                .windows(2)
                .all(|w| w[0].memory_bytes >= w[1].memory_bytes)
        );
        assert!(m.window_secs.unwrap() > 0.0);
        assert!(
            m.volumes.iter().any(|v| v.mount_point == "/"),
            "{:?}",
            m.volumes
        );
        #[cfg(unix)]
        assert!(m.load_average.is_some());
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn threads_are_not_counted_as_processes() {
        // Park threads in this process; none of their ids may show up as a
        // process, and this process must appear exactly once.
        let (tx, rx) = mpsc::channel::<()>();
        let rx = Arc::new(Mutex::new(rx));
        let parked: Vec<_> = (0..8)
            .map(|_| {
                let rx = Arc::clone(&rx);
                std::thread::spawn(move || {
                    let _ = rx.lock().map(|r| r.recv_timeout(Duration::from_secs(10)));
                })
            })
            .collect();
        let mut s = Sampler::new(usize::MAX, PathBuf::from("/")).unwrap();
        let m = s.sample();
        let me = std::process::id();
        let tids: Vec<u32> = std::fs::read_dir("/proc/self/task")
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
            .filter(|t| *t != me)
            .collect();
        assert!(tids.len() >= 8, "threads are running: {tids:?}");
        let pids: Vec<u32> = m.top_memory.iter().map(|p| p.pid).collect();
        assert_eq!(pids.len(), m.process_count.unwrap() as usize);
        assert_eq!(pids.iter().filter(|p| **p == me).count(), 1);
        assert!(
            pids.iter().all(|p| !tids.contains(p)),
            "a thread was listed as a process"
        );
        drop(tx);
        for t in parked {
            t.join().unwrap();
        }
    }

    #[test]
    fn background_thread_fills_history_and_stops() {
        let history = Arc::new(Mutex::new(MetricsHistory::new(
            Duration::from_secs(3600),
            Duration::from_secs(86400),
        )));
        let sampler = Sampler::new(3, PathBuf::from("/")).unwrap();
        let t = SamplerThread::spawn(sampler, Duration::from_millis(50), Arc::clone(&history));
        std::thread::sleep(Duration::from_millis(400));
        let started = Instant::now();
        t.stop();
        assert!(started.elapsed() < Duration::from_secs(2), "stop is prompt");
        let n = history.lock().unwrap().raw().len();
        assert!(n >= 3, "got {n} samples");
    }
}
