//! Checks on the machine's resources: disk space, memory, swap, load,
//! uptime, temperature, battery wear.

use std::path::Path;
use std::time::Duration;

use deskside_protocol::{CheckState, PerfValue};
use sysinfo::{
    Components, CpuRefreshKind, DiskRefreshKind, Disks, MemoryRefreshKind, RefreshKind, System,
};

use super::Outcome;
use super::message::Message;
use super::policy::{Check, LoadWindow};
use super::threshold::{self, Direction, Quantity};

/// Performance data in the Monitoring Plugins guidelines' form: `unit` is
/// one of theirs (`%`, `B`, `s` or none) and the thresholds are plain
/// ranges in that unit.
fn perf(label: &str, value: f64, unit: &str, check: &Check, dir: Direction) -> PerfValue {
    let range = |q: Quantity| threshold::perf_range(q.value(), dir);
    PerfValue {
        label: label.to_owned(),
        value,
        unit: Some(unit.to_owned()).filter(|u| !u.is_empty()),
        warn: check.warn.map(range),
        crit: check.crit.map(range),
        min: Some(0.0),
        max: (unit == "%").then_some(100.0),
    }
}

/// For percent-or-bytes checks: the value in the unit the thresholds use
/// (bytes when they are sizes), so the ranges and the value agree.
fn percent_or_bytes(
    label: &str,
    percent: f64,
    bytes: f64,
    total: f64,
    check: &Check,
    dir: Direction,
) -> PerfValue {
    if matches!(check.warn.or(check.crit), Some(Quantity::Bytes(_))) {
        PerfValue {
            max: Some(total.round()),
            ..perf(label, bytes.round(), "B", check, dir)
        }
    } else {
        perf(label, percent, "%", check, dir)
    }
}

fn gib(b: f64) -> String {
    format!("{:.1} GiB", b / (1024.0 * 1024.0 * 1024.0))
}

fn unknown(message: Message) -> Outcome {
    Outcome {
        state: CheckState::Unknown,
        summary: message.english(),
        message: Some(message),
        perfdata: Vec::new(),
    }
}

/// Free space as `check_disk` computes it: space available to users as a
/// share of used + available (blocks reserved for root count for neither).
#[derive(Debug, Clone, Copy)]
struct Space {
    free_pct: f64,
    avail_bytes: f64,
    /// Used + available: what `free_pct` is a share of.
    usable_bytes: f64,
    total_bytes: f64,
}

#[cfg(unix)]
fn space(mount: &Path) -> Option<Space> {
    let st = rustix::fs::statvfs(mount).ok()?;
    let frsize = st.f_frsize as f64;
    let (blocks, bfree, bavail) = (st.f_blocks as f64, st.f_bfree as f64, st.f_bavail as f64);
    let used = blocks - bfree;
    if blocks <= 0.0 || used + bavail <= 0.0 {
        return None;
    }
    Some(Space {
        free_pct: bavail * 100.0 / (used + bavail),
        avail_bytes: bavail * frsize,
        usable_bytes: (used + bavail) * frsize,
        total_bytes: blocks * frsize,
    })
}

#[cfg(not(unix))]
fn space(mount: &Path) -> Option<Space> {
    let disks =
        Disks::new_with_refreshed_list_specifics(DiskRefreshKind::nothing().with_storage()).ok()?;
    let d = disks.iter().find(|d| d.mount_point() == mount)?;
    let (total, avail) = (d.total_space() as f64, d.available_space() as f64);
    (total > 0.0).then(|| Space {
        free_pct: avail * 100.0 / total,
        avail_bytes: avail,
        usable_bytes: total,
        total_bytes: total,
    })
}

/// `disk_free`: one mount, or the fullest of the fixed volumes.
pub fn disk_free(check: &Check, mount: Option<&str>) -> Outcome {
    let mounts: Vec<String> = match mount {
        Some(m) => vec![m.to_owned()],
        None => match Disks::new_with_refreshed_list_specifics(DiskRefreshKind::nothing()) {
            Ok(disks) => disks
                .iter()
                .filter(|d| !d.is_removable() && !d.is_read_only())
                .map(|d| d.mount_point().to_string_lossy().into_owned())
                .collect(),
            Err(e) => return unknown(Message::new("disk.cannot_list").arg("error", e)),
        },
    };
    let mut results: Vec<(String, Space, CheckState)> = Vec::new();
    for m in &mounts {
        let Some(s) = space(Path::new(m)) else {
            if mount.is_some() {
                return unknown(Message::new("disk.not_mounted").arg("mount", m));
            }
            continue;
        };
        let value = threshold::pick(s.free_pct, s.avail_bytes, check.warn, check.crit);
        let state = threshold::evaluate(value, check.warn, check.crit, Direction::LowIsBad);
        results.push((m.clone(), s, state));
    }
    if results.is_empty() {
        return unknown(Message::new("disk.none"));
    }
    // Report the worst volume; among equals, the one with least room.
    results.sort_by(|a, b| {
        b.2.severity()
            .cmp(&a.2.severity())
            .then(a.1.free_pct.total_cmp(&b.1.free_pct))
    });
    let (m, s, state) = &results[0];
    let mut perfdata: Vec<PerfValue> = results
        .iter()
        .map(|(m, s, _)| {
            percent_or_bytes(
                m,
                s.free_pct,
                s.avail_bytes,
                s.usable_bytes,
                check,
                Direction::LowIsBad,
            )
        })
        .collect();
    perfdata.sort_by(|a, b| a.label.cmp(&b.label));
    // The basis is named: `metrics` shows free space as a share of the
    // whole volume, which differs by the blocks reserved for root.
    let message = if s.total_bytes - s.usable_bytes > s.total_bytes / 100.0 {
        Message::new("disk.free_reserved").arg("usable", gib(s.usable_bytes))
    } else {
        Message::new("disk.free")
    }
    .arg("mount", m)
    .arg("percent", format!("{:.0}", s.free_pct))
    .arg("free", gib(s.avail_bytes))
    .arg("total", gib(s.total_bytes));
    Outcome::said(*state, message, perfdata)
}

fn memory() -> Option<System> {
    System::new_with_specifics(RefreshKind::nothing().with_memory(MemoryRefreshKind::everything()))
        .ok()
}

/// `memory_available`.
pub fn memory_available(check: &Check) -> Outcome {
    let Some(sys) = memory() else {
        return unknown(Message::new("memory.unavailable"));
    };
    let (total, avail) = (sys.total_memory() as f64, sys.available_memory() as f64);
    if total <= 0.0 {
        return unknown(Message::new("memory.unavailable"));
    }
    let pct = avail * 100.0 / total;
    let value = threshold::pick(pct, avail, check.warn, check.crit);
    Outcome::said(
        threshold::evaluate(value, check.warn, check.crit, Direction::LowIsBad),
        Message::new("memory.available")
            .arg("percent", format!("{pct:.0}"))
            .arg("available", gib(avail))
            .arg("total", gib(total)),
        vec![percent_or_bytes(
            "available",
            pct,
            avail,
            total,
            check,
            Direction::LowIsBad,
        )],
    )
}

/// `swap_used`.
pub fn swap_used(check: &Check) -> Outcome {
    let Some(sys) = memory() else {
        return unknown(Message::new("swap.unavailable"));
    };
    let (total, used) = (sys.total_swap() as f64, sys.used_swap() as f64);
    if total <= 0.0 {
        return Outcome::said(CheckState::Ok, Message::new("swap.none"), Vec::new());
    }
    let pct = used * 100.0 / total;
    let value = threshold::pick(pct, used, check.warn, check.crit);
    Outcome::said(
        threshold::evaluate(value, check.warn, check.crit, Direction::HighIsBad),
        Message::new("swap.used")
            .arg("percent", format!("{pct:.0}"))
            .arg("used", gib(used))
            .arg("total", gib(total)),
        vec![percent_or_bytes(
            "swap_used",
            pct,
            used,
            total,
            check,
            Direction::HighIsBad,
        )],
    )
}

/// The state of load averages `[1m, 5m, 15m]` as `check_load` decides
/// it: each window against its own threshold (or only `window`), the
/// worst wins.
pub fn load_state(
    loads: [f64; 3],
    window: Option<LoadWindow>,
    warn: Option<[f64; 3]>,
    crit: Option<[f64; 3]>,
) -> CheckState {
    let windows: &[usize] = match window {
        None => &[0, 1, 2],
        Some(LoadWindow::One) => &[0],
        Some(LoadWindow::Five) => &[1],
        Some(LoadWindow::Fifteen) => &[2],
    };
    let over = |t: Option<[f64; 3]>| t.is_some_and(|t| windows.iter().any(|&i| loads[i] > t[i]));
    if over(crit) {
        CheckState::Critical
    } else if over(warn) {
        CheckState::Warning
    } else {
        CheckState::Ok
    }
}

/// `cpu_load`: the OS load average (non-blocking), per core when asked,
/// compared the way `check_load` compares it.
pub fn cpu_load(
    window: Option<LoadWindow>,
    per_core: bool,
    warn: Option<[f64; 3]>,
    crit: Option<[f64; 3]>,
) -> Outcome {
    if cfg!(windows) {
        return unknown(Message::new("load.windows"));
    }
    let Ok(l) = System::load_average() else {
        return unknown(Message::new("load.unavailable"));
    };
    let cores =
        System::new_with_specifics(RefreshKind::nothing().with_cpu(CpuRefreshKind::nothing()))
            .map(|s| s.cpus().len())
            .unwrap_or(1)
            .max(1) as f64;
    let div = if per_core { cores } else { 1.0 };
    let loads = [l.one / div, l.five / div, l.fifteen / div];
    let key = if per_core {
        "load.per_core"
    } else {
        "load.average"
    };
    let [one, five, fifteen] = loads;
    let range = |t: Option<[f64; 3]>, i: usize| {
        t.map(|t| threshold::perf_range(t[i], Direction::HighIsBad))
    };
    Outcome::said(
        load_state(loads, window, warn, crit),
        Message::new(key)
            .arg("one", format!("{one:.2}"))
            .arg("five", format!("{five:.2}"))
            .arg("fifteen", format!("{fifteen:.2}")),
        ["load1", "load5", "load15"]
            .iter()
            .enumerate()
            .map(|(i, label)| PerfValue {
                label: (*label).to_owned(),
                value: loads[i],
                unit: None,
                warn: range(warn, i),
                crit: range(crit, i),
                min: Some(0.0),
                max: None,
            })
            .collect(),
    )
}

/// `uptime`.
pub fn uptime(check: &Check) -> Outcome {
    let Ok(secs) = System::uptime() else {
        return unknown(Message::new("uptime.unavailable"));
    };
    Outcome::said(
        threshold::evaluate(secs as f64, check.warn, check.crit, Direction::HighIsBad),
        Message::new("uptime.up").arg(
            "duration",
            humantime::format_duration(Duration::from_secs(secs - secs % 60)),
        ),
        vec![perf(
            "uptime",
            secs as f64,
            "s",
            check,
            Direction::HighIsBad,
        )],
    )
}

/// `temperature`: the hottest matching sensor.
pub fn temperature(check: &Check, sensor: Option<&str>) -> Outcome {
    let Ok(components) = Components::new_with_refreshed_list() else {
        return unknown(Message::new("temperature.unavailable"));
    };
    let readings: Vec<(String, f32)> = components
        .iter()
        .filter(|c| sensor.is_none_or(|s| c.label().contains(s)))
        .filter_map(|c| {
            Some((
                c.label().to_owned(),
                c.temperature().filter(|t| t.is_finite())?,
            ))
        })
        .collect();
    let Some((label, hottest)) = readings.iter().max_by(|a, b| a.1.total_cmp(&b.1)).cloned() else {
        return unknown(match sensor {
            Some(s) => Message::new("temperature.no_match").arg("sensor", s),
            None => Message::new("temperature.none"),
        });
    };
    Outcome::said(
        threshold::evaluate(
            f64::from(hottest),
            check.warn,
            check.crit,
            Direction::HighIsBad,
        ),
        Message::new("temperature.hottest")
            .arg("sensor", label)
            .arg("celsius", format!("{hottest:.0}")),
        readings
            .iter()
            .map(|(l, t)| perf(l, f64::from(*t), "", check, Direction::HighIsBad))
            .collect(),
    )
}

fn read_batteries(root: &Path) -> Option<Vec<deskside_protocol::Battery>> {
    #[cfg(target_os = "linux")]
    return Some(crate::collect::battery::read_linux(root));
    #[cfg(not(target_os = "linux"))]
    {
        let _ = root;
        None
    }
}

/// `battery_health`: the most worn battery.
pub fn battery_health(check: &Check, root: &Path) -> Outcome {
    let Some(batteries) = read_batteries(root) else {
        return unknown(Message::new("battery.unsupported"));
    };
    if batteries.is_empty() {
        return unknown(Message::new("battery.none"));
    }
    let Some(worst) = batteries
        .iter()
        .filter(|b| b.health_percent.is_some())
        .min_by(|a, b| {
            a.health_percent
                .unwrap_or(0.0)
                .total_cmp(&b.health_percent.unwrap_or(0.0))
        })
    else {
        return unknown(Message::new("battery.no_capacity"));
    };
    let health = f64::from(worst.health_percent.unwrap_or(0.0));
    let message = match worst.cycle_count {
        Some(c) => Message::new("battery.health_cycles").arg("cycles", c),
        None => Message::new("battery.health"),
    }
    .arg("battery", &worst.name)
    .arg("percent", format!("{health:.0}"));
    Outcome::said(
        threshold::evaluate(health, check.warn, check.crit, Direction::LowIsBad),
        message,
        batteries
            .iter()
            .filter_map(|b| {
                Some(perf(
                    &b.name,
                    f64::from(b.health_percent?),
                    "%",
                    check,
                    Direction::LowIsBad,
                ))
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn load_thresholds_apply_to_every_window_as_check_load_does() {
        let loads = [0.5, 1.0, 3.0];
        // One value for all three: the 15-minute load is over it.
        assert_eq!(
            load_state(loads, None, Some([2.0; 3]), Some([4.0; 3])),
            CheckState::Warning
        );
        assert_eq!(
            load_state(loads, None, Some([2.0; 3]), Some([2.5; 3])),
            CheckState::Critical
        );
        // Three values: each window against its own.
        assert_eq!(
            load_state(loads, None, Some([0.4, 9.0, 9.0]), Some([9.0; 3])),
            CheckState::Warning
        );
        assert_eq!(
            load_state(loads, None, Some([1.0, 1.0, 3.0]), Some([9.0; 3])),
            CheckState::Ok,
            "equal is not over, as in check_load"
        );
        // A named window looks at that one only.
        assert_eq!(
            load_state(loads, Some(LoadWindow::Five), Some([2.0; 3]), None),
            CheckState::Ok
        );
    }
}
