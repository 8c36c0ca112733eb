//! Recent metrics kept in memory: raw samples for a short window and
//! one-minute rollups for a long one, so diagnostics can show what happened
//! before a problem without keeping a day of full samples.

use std::collections::VecDeque;
use std::time::Duration;

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use deskside_protocol::{MetricRollup, MetricSample};

/// Running sums for the minute being filled.
#[derive(Debug, Clone)]
struct Minute {
    start: DateTime<Utc>,
    samples: u32,
    cpu: (f64, u32, f32),
    load: (f64, u32),
    mem: (f64, u32, u64),
    swap_max: Option<u64>,
    min_free_pct: Option<f32>,
    net: (f64, f64, u32),
    temp_max: Option<f32>,
    battery_min: Option<f32>,
}

fn min_opt(a: Option<f32>, b: f32) -> Option<f32> {
    Some(a.map_or(b, |a| a.min(b)))
}

fn max_opt<T: PartialOrd + Copy>(a: Option<T>, b: T) -> Option<T> {
    Some(match a {
        Some(a) if a >= b => a,
        _ => b,
    })
}

impl Minute {
    fn new(start: DateTime<Utc>) -> Self {
        Self {
            start,
            samples: 0,
            cpu: (0.0, 0, 0.0),
            load: (0.0, 0),
            mem: (0.0, 0, 0),
            swap_max: None,
            min_free_pct: None,
            net: (0.0, 0.0, 0),
            temp_max: None,
            battery_min: None,
        }
    }

    fn add(&mut self, s: &MetricSample) {
        self.samples += 1;
        if let Some(c) = &s.cpu {
            self.cpu.0 += f64::from(c.usage_percent);
            self.cpu.1 += 1;
            self.cpu.2 = self.cpu.2.max(c.usage_percent);
        }
        if let Some(l) = &s.load_average {
            self.load.0 += l.one;
            self.load.1 += 1;
        }
        if let Some(m) = &s.memory {
            self.mem.0 += m.used_bytes as f64;
            self.mem.1 += 1;
            self.mem.2 = self.mem.2.max(m.used_bytes);
            self.swap_max = max_opt(self.swap_max, m.swap_used_bytes);
        }
        for v in s.volumes.iter().filter(|v| v.total_bytes > 0) {
            self.min_free_pct = min_opt(
                self.min_free_pct,
                (v.free_bytes as f64 * 100.0 / v.total_bytes as f64) as f32,
            );
        }
        if !s.network.is_empty() {
            self.net.0 += s.network.iter().map(|n| n.rx_bytes_per_sec).sum::<f64>();
            self.net.1 += s.network.iter().map(|n| n.tx_bytes_per_sec).sum::<f64>();
            self.net.2 += 1;
        }
        for t in &s.temperatures {
            self.temp_max = max_opt(self.temp_max, t.celsius);
        }
        for b in s.batteries.iter().filter_map(|b| b.percent) {
            self.battery_min = min_opt(self.battery_min, b);
        }
    }

    fn rollup(&self) -> MetricRollup {
        let avg = |sum: f64, n: u32| (n > 0).then(|| sum / f64::from(n));
        MetricRollup {
            minute: self.start,
            samples: self.samples,
            cpu_avg_percent: avg(self.cpu.0, self.cpu.1).map(|v| v as f32),
            cpu_max_percent: (self.cpu.1 > 0).then_some(self.cpu.2),
            load_one_avg: avg(self.load.0, self.load.1),
            memory_used_avg_bytes: avg(self.mem.0, self.mem.1).map(|v| v as u64),
            memory_used_max_bytes: (self.mem.1 > 0).then_some(self.mem.2),
            swap_used_max_bytes: self.swap_max,
            min_volume_free_percent: self.min_free_pct,
            net_rx_avg_bytes_per_sec: avg(self.net.0, self.net.2),
            net_tx_avg_bytes_per_sec: avg(self.net.1, self.net.2),
            temperature_max_celsius: self.temp_max,
            battery_min_percent: self.battery_min,
        }
    }
}

/// One-minute rollups of `samples` (in any order), oldest first: the
/// same min / average / max per minute as the in-memory history keeps.
pub fn rollups(samples: &[MetricSample]) -> Vec<MetricRollup> {
    let mut sorted: Vec<&MetricSample> = samples.iter().collect();
    sorted.sort_by_key(|s| s.timestamp);
    let mut out = Vec::new();
    let mut current: Option<Minute> = None;
    for s in sorted {
        let start = s
            .timestamp
            .duration_trunc(TimeDelta::minutes(1))
            .unwrap_or(s.timestamp);
        match current.as_mut() {
            Some(m) if m.start == start => m.add(s),
            _ => {
                if let Some(m) = current.take() {
                    out.push(m.rollup());
                }
                let mut m = Minute::new(start);
                m.add(s);
                current = Some(m);
            }
        }
    }
    if let Some(m) = current {
        out.push(m.rollup());
    }
    out
}

/// Raw samples and one-minute rollups, each bounded by its retention.
#[derive(Debug, Clone)]
pub struct MetricsHistory {
    raw: VecDeque<MetricSample>,
    raw_retention: TimeDelta,
    rollups: VecDeque<MetricRollup>,
    rollup_retention: TimeDelta,
    current: Option<Minute>,
}

fn delta(d: Duration) -> TimeDelta {
    TimeDelta::from_std(d).unwrap_or(TimeDelta::MAX)
}

impl MetricsHistory {
    /// Keeps raw samples for `raw_retention` and rollups for `rollup_retention`.
    pub fn new(raw_retention: Duration, rollup_retention: Duration) -> Self {
        Self {
            raw: VecDeque::new(),
            raw_retention: delta(raw_retention),
            rollups: VecDeque::new(),
            rollup_retention: delta(rollup_retention),
            current: None,
        }
    }

    /// Adds a sample; samples older than the newest by more than the
    /// retention fall out, and a finished minute becomes a rollup.
    pub fn push(&mut self, sample: MetricSample) {
        let now = sample.timestamp;
        let minute = now.duration_trunc(TimeDelta::minutes(1)).unwrap_or(now);
        match &mut self.current {
            Some(m) if m.start == minute => m.add(&sample),
            slot => {
                if let Some(done) = slot.take() {
                    self.rollups.push_back(done.rollup());
                }
                let mut m = Minute::new(minute);
                m.add(&sample);
                *slot = Some(m);
            }
        }
        self.raw.push_back(sample);
        while self
            .raw
            .front()
            .is_some_and(|s| now - s.timestamp > self.raw_retention)
        {
            self.raw.pop_front();
        }
        while self
            .rollups
            .front()
            .is_some_and(|r| now - r.minute > self.rollup_retention)
        {
            self.rollups.pop_front();
        }
    }

    /// Raw samples, oldest first.
    pub fn raw(&self) -> &VecDeque<MetricSample> {
        &self.raw
    }

    /// The newest sample.
    pub fn latest(&self) -> Option<&MetricSample> {
        self.raw.back()
    }

    /// Raw samples taken at or after `since`.
    pub fn raw_since(&self, since: DateTime<Utc>) -> impl Iterator<Item = &MetricSample> {
        self.raw.iter().filter(move |s| s.timestamp >= since)
    }

    /// Finished one-minute rollups, oldest first, plus the minute in
    /// progress.
    pub fn rollups(&self) -> Vec<MetricRollup> {
        self.rollups
            .iter()
            .cloned()
            .chain(self.current.as_ref().map(Minute::rollup))
            .collect()
    }
}

#[cfg(test)]
mod rollup_tests {
    use super::*;

    fn at(secs: i64, cpu: f32) -> MetricSample {
        serde_json::from_value(serde_json::json!({
            "timestamp": DateTime::<Utc>::from_timestamp(1_700_000_040 + secs, 0).unwrap(),
            "cpu": {"usage_percent": cpu}
        }))
        .unwrap()
    }

    #[test]
    fn rollups_per_minute_keep_the_spike() {
        // Out of order on purpose: 00:00, 00:10, 00:50 | 01:05.
        let r = rollups(&[at(65, 5.0), at(0, 10.0), at(50, 90.0), at(10, 20.0)]);
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].samples, 3);
        assert_eq!(r[0].cpu_max_percent, Some(90.0));
        assert_eq!(r[0].cpu_avg_percent, Some(40.0));
        assert_eq!(r[1].samples, 1);
        assert!(r[0].minute < r[1].minute);
        assert!(rollups(&[]).is_empty());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use deskside_protocol::{CpuUsage, MemoryUsage, VolumeUsage};

    fn sample(at: DateTime<Utc>, cpu: f32, used: u64) -> MetricSample {
        MetricSample {
            timestamp: at,
            window_secs: Some(10.0),
            cpu: Some(CpuUsage {
                usage_percent: cpu,
                per_core_percent: vec![cpu],
            }),
            load_average: None,
            memory: Some(MemoryUsage {
                total_bytes: 100,
                used_bytes: used,
                available_bytes: 100 - used,
                swap_total_bytes: 0,
                swap_used_bytes: 0,
            }),
            volumes: vec![VolumeUsage {
                mount_point: "/".into(),
                total_bytes: 200,
                free_bytes: 50,
            }],
            network: vec![],
            process_count: Some(1),
            top_cpu: vec![],
            top_memory: vec![],
            temperatures: vec![],
            batteries: vec![],
        }
    }

    #[test]
    fn rolls_minutes_up_and_bounds_memory() {
        let t0: DateTime<Utc> = "2026-01-01T00:00:00Z".parse().unwrap();
        let mut h = MetricsHistory::new(Duration::from_secs(60), Duration::from_secs(3600));
        // Two hours of samples every 10 s.
        for i in 0..720 {
            let cpu = if i % 6 == 0 { 90.0 } else { 30.0 };
            h.push(sample(
                t0 + TimeDelta::seconds(i * 10),
                cpu,
                40 + (i % 6) as u64,
            ));
        }
        assert_eq!(h.raw().len(), 7, "only the last minute of raw samples");
        let r = h.rollups();
        // 59 finished minutes younger than an hour, plus the one in progress.
        assert_eq!(r.len(), 60);
        assert_eq!(r[0].minute, t0 + TimeDelta::minutes(60));
        let first_full = &r[0];
        assert_eq!(first_full.samples, 6);
        assert_eq!(first_full.cpu_max_percent, Some(90.0));
        assert_eq!(first_full.cpu_avg_percent, Some(40.0));
        assert_eq!(first_full.memory_used_max_bytes, Some(45));
        assert_eq!(first_full.memory_used_avg_bytes, Some(42));
        assert_eq!(first_full.min_volume_free_percent, Some(25.0));
        assert!(
            r.windows(2)
                .all(|w| w[1].minute - w[0].minute == TimeDelta::minutes(1))
        );
        let latest = h.latest().unwrap().timestamp;
        assert_eq!(h.raw_since(latest - TimeDelta::seconds(15)).count(), 2);
    }
}
