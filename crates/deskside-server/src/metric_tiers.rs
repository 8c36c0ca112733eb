//! Device metrics as numbers, in two tiers, and their downsampling.
//!
//! A check-in's sample becomes a list of named numbers ([`series_of`]):
//! CPU, load, memory, swap, processes, each volume's use, each interface's
//! throughput, the hottest sensor, each battery. The desk keeps them:
//! - at full resolution for [`RAW_WINDOW`] (`metric_raw`, one row per
//!   sample);
//! - then as one min / avg / max / count per series and hour
//!   (`metric_rollup`) for the rest of the retention.
//!
//! A row's values are a compact binary list ([`encode_raw`],
//! [`encode_rollup`]) keyed by series ids from `metric_names`, about 100
//! bytes a sample where the JSON took 800. Charts are computed here from
//! both tiers ([`Buckets`]): min, average and maximum per bucket, so a
//! spike survives any step.

use std::collections::{BTreeMap, HashMap};

use deskside_protocol::MetricSample;

/// How long samples stay at full resolution, in seconds.
pub const RAW_WINDOW: i64 = 48 * 3600;

/// The length of one rollup bucket, in seconds.
pub const ROLLUP_SECS: i64 = 3600;

/// The most buckets one chart request may ask for.
pub const MAX_BUCKETS: i64 = 5000;

/// The longest range one chart request may cover, in seconds.
pub const MAX_RANGE: i64 = 400 * 86_400;

/// A sample's numbers by series name.
pub type NamedValues = Vec<(String, f64)>;

/// The named numbers of one sample. A name is a kind, with the volume,
/// interface or battery after a colon.
pub fn series_of(s: &MetricSample) -> NamedValues {
    let mut out = Vec::new();
    if let Some(cpu) = &s.cpu {
        out.push(("cpu".to_owned(), f64::from(cpu.usage_percent)));
    }
    if let Some(load) = &s.load_average {
        out.push(("load1".to_owned(), load.one));
    }
    if let Some(m) = &s.memory {
        out.push(("memory_used".to_owned(), m.used_bytes as f64));
        if m.swap_total_bytes > 0 {
            out.push(("swap_used".to_owned(), m.swap_used_bytes as f64));
        }
    }
    if let Some(n) = s.process_count {
        out.push(("processes".to_owned(), f64::from(n)));
    }
    for v in &s.volumes {
        if v.total_bytes > 0 {
            let used = v.total_bytes.saturating_sub(v.free_bytes) as f64;
            out.push((
                format!("volume_used:{}", v.mount_point),
                used * 100.0 / v.total_bytes as f64,
            ));
        }
    }
    for n in &s.network {
        out.push((format!("net_rx:{}", n.interface), n.rx_bytes_per_sec));
        out.push((format!("net_tx:{}", n.interface), n.tx_bytes_per_sec));
    }
    // The hottest sensor: one line a technician reads, where a laptop has
    // a dozen per-core sensors.
    if let Some(t) = s
        .temperatures
        .iter()
        .map(|t| t.celsius)
        .filter(|c| c.is_finite())
        .reduce(f32::max)
    {
        out.push(("temperature".to_owned(), f64::from(t)));
    }
    for b in &s.batteries {
        if let Some(p) = b.percent {
            out.push((format!("battery:{}", b.name), f64::from(p)));
        }
    }
    out.retain(|(name, v)| v.is_finite() && name.len() <= 200);
    out
}

/// The unit of a series kind, as the API names it.
pub fn unit_of(kind: &str) -> &'static str {
    match kind {
        "cpu" | "volume_used" | "battery" => "percent",
        "memory_used" | "swap_used" => "bytes",
        "net_rx" | "net_tx" => "bytes_per_second",
        "temperature" => "celsius",
        "processes" => "count",
        _ => "none",
    }
}

/// Splits a series name into its kind and instance (`volume_used:/home`
/// → `volume_used`, `/home`).
pub fn split_name(name: &str) -> (&str, Option<&str>) {
    match name.split_once(':') {
        Some((kind, instance)) => (kind, Some(instance)),
        None => (name, None),
    }
}

const RAW_ITEM: usize = 8;
const ROLLUP_ITEM: usize = 20;

/// A sample's values as stored: per value a little-endian `u32` series id
/// and an `f32`.
pub fn encode_raw(values: &[(i64, f64)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(values.len() * RAW_ITEM);
    for &(id, v) in values {
        let Ok(id) = u32::try_from(id) else { continue };
        if !v.is_finite() {
            continue;
        }
        out.extend_from_slice(&id.to_le_bytes());
        out.extend_from_slice(&(v as f32).to_le_bytes());
    }
    out
}

/// The values of a stored sample (a truncated tail is ignored).
pub fn decode_raw(bytes: &[u8]) -> Vec<(i64, f64)> {
    bytes
        .chunks_exact(RAW_ITEM)
        .map(|c| {
            let id = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
            let v = f32::from_le_bytes([c[4], c[5], c[6], c[7]]);
            (i64::from(id), f64::from(v))
        })
        .collect()
}

/// The aggregate of some values of one series.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Agg {
    /// How many values.
    pub count: u32,
    /// The lowest.
    pub min: f64,
    /// Their sum (the average times `count`).
    pub sum: f64,
    /// The highest.
    pub max: f64,
}

impl Agg {
    /// One value.
    pub fn one(v: f64) -> Self {
        Self {
            count: 1,
            min: v,
            sum: v,
            max: v,
        }
    }

    /// Adds other values.
    pub fn merge(&mut self, o: Agg) {
        self.count += o.count;
        self.min = self.min.min(o.min);
        self.max = self.max.max(o.max);
        self.sum += o.sum;
    }

    /// The average.
    pub fn avg(&self) -> f64 {
        self.sum / f64::from(self.count.max(1))
    }
}

/// An hour's aggregates as stored: per series a little-endian `u32` id, a
/// `u32` count and `f32` min, average and max.
pub fn encode_rollup(aggs: &BTreeMap<i64, Agg>) -> Vec<u8> {
    let mut out = Vec::with_capacity(aggs.len() * ROLLUP_ITEM);
    for (&id, a) in aggs {
        let Ok(id) = u32::try_from(id) else { continue };
        out.extend_from_slice(&id.to_le_bytes());
        out.extend_from_slice(&a.count.to_le_bytes());
        out.extend_from_slice(&(a.min as f32).to_le_bytes());
        out.extend_from_slice(&(a.avg() as f32).to_le_bytes());
        out.extend_from_slice(&(a.max as f32).to_le_bytes());
    }
    out
}

/// The aggregates of a stored rollup.
pub fn decode_rollup(bytes: &[u8]) -> BTreeMap<i64, Agg> {
    let f = |b: &[u8]| f64::from(f32::from_le_bytes([b[0], b[1], b[2], b[3]]));
    bytes
        .chunks_exact(ROLLUP_ITEM)
        .map(|c| {
            let id = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
            let count = u32::from_le_bytes([c[4], c[5], c[6], c[7]]).max(1);
            let (min, avg, max) = (f(&c[8..12]), f(&c[12..16]), f(&c[16..20]));
            (
                i64::from(id),
                Agg {
                    count,
                    min,
                    sum: avg * f64::from(count),
                    max,
                },
            )
        })
        .collect()
}

/// Folds raw samples (time, stored values) into the hourly rollups that
/// already exist for their hours (hour start → stored rollup): the rows to
/// write, by hour. Exactly the samples given are added, so a caller that
/// takes each sample once (deleting it as it reads it) counts each once.
pub fn roll_up(raw: &[(i64, Vec<u8>)], existing: &HashMap<i64, Vec<u8>>) -> BTreeMap<i64, Vec<u8>> {
    let mut hours: BTreeMap<i64, BTreeMap<i64, Agg>> = BTreeMap::new();
    for (t, bytes) in raw {
        let hour = t.div_euclid(ROLLUP_SECS) * ROLLUP_SECS;
        let aggs = hours.entry(hour).or_insert_with(|| {
            existing
                .get(&hour)
                .map(|b| decode_rollup(b))
                .unwrap_or_default()
        });
        for (id, v) in decode_raw(bytes) {
            aggs.entry(id)
                .and_modify(|a| a.merge(Agg::one(v)))
                .or_insert_with(|| Agg::one(v));
        }
    }
    hours
        .into_iter()
        .map(|(h, aggs)| (h, encode_rollup(&aggs)))
        .collect()
}

/// Why a chart request cannot be answered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WindowError {
    /// `to` is not after `from`.
    #[error("to must be after from")]
    Empty,
    /// The range is longer than [`MAX_RANGE`].
    #[error("the range may cover at most 400 days")]
    TooLong,
    /// The step is not positive or yields too many buckets.
    #[error("step must be at least 60 seconds and give at most 5000 buckets")]
    Step,
}

/// The buckets of one chart: `count` buckets of `step` seconds from
/// `start`, aligned to multiples of `step` since the epoch, covering the
/// requested range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Start of the first bucket (Unix seconds).
    pub start: i64,
    /// Bucket length in seconds.
    pub step: i64,
    /// Number of buckets.
    pub count: i64,
}

impl Window {
    /// The buckets for `from`..`to` (Unix seconds) at `step` (about 360
    /// buckets when not given). The step is rounded up to whole minutes,
    /// and to whole hours when the range reaches back past the full
    /// resolution window (`now - RAW_WINDOW`): there only hourly rollups
    /// remain, and a finer step would draw each hour as one spike.
    pub fn plan(from: i64, to: i64, step: Option<i64>, now: i64) -> Result<Self, WindowError> {
        if to <= from {
            return Err(WindowError::Empty);
        }
        if to - from > MAX_RANGE {
            return Err(WindowError::TooLong);
        }
        let step = match step {
            // Longer than any range is no step (and would overflow the
            // rounding below).
            Some(s) if !(60..=MAX_RANGE).contains(&s) => return Err(WindowError::Step),
            Some(s) => s,
            None => ((to - from) / 360).max(60),
        };
        let unit = if from < now - RAW_WINDOW {
            ROLLUP_SECS
        } else {
            60
        };
        let step = ceil_div(step, unit) * unit;
        let start = from.div_euclid(step) * step;
        let count = ceil_div(to - start, step);
        if count > MAX_BUCKETS {
            return Err(WindowError::Step);
        }
        Ok(Self { start, step, count })
    }

    /// The end of the last bucket.
    pub fn end(&self) -> i64 {
        self.start + self.step * self.count
    }

    fn index(&self, t: i64) -> Option<usize> {
        (t >= self.start && t < self.end())
            .then(|| usize::try_from((t - self.start) / self.step).ok())
            .flatten()
    }

    /// The start of each bucket.
    pub fn times(&self) -> Vec<i64> {
        (0..self.count)
            .map(|i| self.start + i * self.step)
            .collect()
    }
}

/// `a / b` rounded up, for a positive `b`.
fn ceil_div(a: i64, b: i64) -> i64 {
    (a + b - 1).div_euclid(b)
}

/// Aggregates per series and bucket, filled from both tiers.
#[derive(Debug, Clone)]
pub struct Buckets {
    window: Window,
    series: BTreeMap<i64, Vec<Option<Agg>>>,
}

impl Buckets {
    /// Empty buckets for `window`.
    pub fn new(window: Window) -> Self {
        Self {
            window,
            series: BTreeMap::new(),
        }
    }

    fn add(&mut self, t: i64, id: i64, agg: Agg) {
        let Some(i) = self.window.index(t) else {
            return;
        };
        let count = usize::try_from(self.window.count).unwrap_or_default();
        let slot = &mut self.series.entry(id).or_insert_with(|| vec![None; count])[i];
        match slot {
            Some(a) => a.merge(agg),
            None => *slot = Some(agg),
        }
    }

    /// Adds one raw sample.
    pub fn add_raw(&mut self, t: i64, bytes: &[u8]) {
        for (id, v) in decode_raw(bytes) {
            self.add(t, id, Agg::one(v));
        }
    }

    /// Adds one hour's rollup (it falls in the bucket of its start).
    pub fn add_rollup(&mut self, hour: i64, bytes: &[u8]) {
        for (id, a) in decode_rollup(bytes) {
            self.add(hour, id, a);
        }
    }

    /// The series ids seen.
    pub fn ids(&self) -> Vec<i64> {
        self.series.keys().copied().collect()
    }

    /// Each series' buckets, by id.
    pub fn into_series(self) -> BTreeMap<i64, Vec<Option<Agg>>> {
        self.series
    }
}

/// A device's metrics over `window`: each series' name and its buckets,
/// by name, from both tiers.
pub async fn chart<S: crate::store::Store>(
    store: &S,
    device_id: i64,
    window: Window,
) -> crate::store::StoreResult<Vec<(String, Vec<Option<Agg>>)>> {
    let rows = store
        .metric_rows(device_id, window.start, window.end())
        .await?;
    let mut buckets = Buckets::new(window);
    for (t, v) in &rows.raw {
        buckets.add_raw(*t, v);
    }
    for (hour, v) in &rows.rollups {
        buckets.add_rollup(*hour, v);
    }
    let names = store.metric_names(&buckets.ids()).await?;
    let mut out: Vec<(String, Vec<Option<Agg>>)> = buckets
        .into_series()
        .into_iter()
        .filter_map(|(id, aggs)| Some((names.get(&id)?.clone(), aggs)))
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// Converts up to `limit` JSON samples stored before metrics were numbers
/// into raw rows (the next rollup pass folds the old ones into hours);
/// returns how many. Rows that are not samples are dropped: nothing could
/// ever read them.
pub async fn convert_legacy<S: crate::store::Store>(
    store: &S,
    limit: u32,
) -> crate::store::StoreResult<u64> {
    let rows = store.legacy_metric_samples(limit).await?;
    let mut ids = Vec::with_capacity(rows.len());
    let mut raw = Vec::with_capacity(rows.len());
    for (id, device, taken_at, json) in rows {
        ids.push(id);
        let Ok(sample) = serde_json::from_str::<MetricSample>(&json) else {
            continue;
        };
        let values = series_of(&sample);
        let names: Vec<&str> = values.iter().map(|(n, _)| n.as_str()).collect();
        let series = store.metric_name_ids(&names).await?;
        let pairs: Vec<(i64, f64)> = series
            .into_iter()
            .zip(values.iter().map(|(_, v)| *v))
            .collect();
        raw.push((device, taken_at.timestamp(), encode_raw(&pairs)));
    }
    if !ids.is_empty() {
        store.replace_legacy_metric_samples(&ids, &raw).await?;
    }
    Ok(ids.len() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_survive_encoding_as_f32() {
        let v = [(1, 12.5), (70_000, 1.0e9), (3, f64::NAN), (-1, 2.0)];
        let back = decode_raw(&encode_raw(&v));
        assert_eq!(back, vec![(1, 12.5), (70_000, 1.0e9)]);
        assert!(decode_raw(&[1, 2, 3]).is_empty());
    }

    #[test]
    fn rollups_merge_with_what_an_hour_already_holds() {
        let a = encode_raw(&[(1, 10.0), (2, 5.0)]);
        let b = encode_raw(&[(1, 30.0)]);
        let first = roll_up(&[(3600, a), (3660, b)], &HashMap::new());
        let agg = decode_rollup(&first[&3600]);
        assert_eq!(agg[&1].count, 2);
        assert_eq!(
            (agg[&1].min, agg[&1].avg(), agg[&1].max),
            (10.0, 20.0, 30.0)
        );
        // A late sample for the same hour adds to it.
        let late = roll_up(
            &[(7199, encode_raw(&[(1, 50.0)]))],
            &first.into_iter().collect(),
        );
        let agg = decode_rollup(&late[&3600]);
        assert_eq!((agg[&1].count, agg[&1].max, agg[&1].avg()), (3, 50.0, 30.0));
        assert_eq!(agg[&2].count, 1);
    }

    #[test]
    fn a_step_longer_than_any_range_is_refused_not_overflowed() {
        // Found by the API fuzzer: `step=9223372036854775806` panicked.
        for step in [i64::MAX, i64::MAX - 1, MAX_RANGE + 1] {
            assert_eq!(
                Window::plan(0, 3600, Some(step), 3600),
                Err(WindowError::Step),
                "{step}"
            );
        }
        assert!(Window::plan(0, 3600, Some(MAX_RANGE), 3600).is_ok());
    }

    #[test]
    fn windows_align_and_round_the_step() {
        let now = 100 * 86_400;
        // Within the raw window: whole minutes.
        let w = Window::plan(now - 3600 + 7, now, Some(90), now).unwrap();
        assert_eq!(w.step, 120);
        assert_eq!(w.start % 120, 0);
        assert!(w.start <= now - 3600 + 7 && w.end() >= now);
        // Reaching past it: whole hours.
        let w = Window::plan(now - 30 * 86_400, now, None, now).unwrap();
        assert_eq!(w.step % ROLLUP_SECS, 0);
        assert!(w.count <= 720);
        assert_eq!(Window::plan(now, now, None, now), Err(WindowError::Empty));
        assert_eq!(
            Window::plan(0, 5 * 86_400, Some(60), 0),
            Err(WindowError::Step)
        );
        assert_eq!(
            Window::plan(now - 60, now, Some(59), now),
            Err(WindowError::Step)
        );
        assert_eq!(
            Window::plan(0, 401 * 86_400, None, now),
            Err(WindowError::TooLong)
        );
    }

    #[test]
    fn a_sample_lists_its_numbers_by_name() {
        let s: MetricSample = serde_json::from_value(serde_json::json!({
            "timestamp": "2026-12-01T10:00:00Z",
            "cpu": {"usage_percent": 12.5},
            "load_average": {"one": 0.5, "five": 0.4, "fifteen": 0.3},
            "memory": {"total_bytes": 1000, "used_bytes": 400, "available_bytes": 600,
                       "swap_total_bytes": 0, "swap_used_bytes": 0},
            "volumes": [{"mount_point": "/", "total_bytes": 200, "free_bytes": 50}],
            "network": [{"interface": "eth0", "rx_bytes_per_sec": 10.0, "tx_bytes_per_sec": 2.0}],
            "temperatures": [{"label": "a", "celsius": 40.0}, {"label": "b", "celsius": 55.0}],
            "batteries": [{"name": "BAT0", "percent": 80.0}],
            "process_count": 7
        }))
        .unwrap();
        let got: HashMap<String, f64> = series_of(&s).into_iter().collect();
        assert_eq!(got["cpu"], 12.5);
        assert_eq!(got["volume_used:/"], 75.0);
        assert_eq!(got["net_tx:eth0"], 2.0);
        assert_eq!(got["temperature"], 55.0);
        assert_eq!(got["battery:BAT0"], 80.0);
        assert_eq!(got["processes"], 7.0);
        assert!(!got.contains_key("swap_used"), "no swap, no series");
        assert_eq!(
            split_name("volume_used:/home"),
            ("volume_used", Some("/home"))
        );
        assert_eq!(unit_of("net_rx"), "bytes_per_second");
    }
}
