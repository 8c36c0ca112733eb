//! Readable text for a person at a terminal.

use std::collections::BTreeMap;
use std::fmt::Write;

use deskside_host::checks::LoadedPolicy;
use deskside_host::checks::policy::KINDS;
use deskside_host::checks::threshold::{Direction, Unit};
use deskside_protocol::{
    CheckResult, CheckState, Inventory, InventoryDiff, MetricSample, SoftwareChangeKind,
};

/// `1536` → `1.5 KiB`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

fn duration(secs: u64) -> String {
    let (d, h, m) = (secs / 86400, secs % 86400 / 3600, secs % 3600 / 60);
    match (d, h) {
        (0, 0) => format!("{m}m"),
        (0, _) => format!("{h}h {m}m"),
        _ => format!("{d}d {h}h"),
    }
}

/// Left-aligned columns, two spaces apart, indented.
fn table(out: &mut String, headers: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut l = String::from("  ");
        for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
            if i + 1 == cells.len() {
                l.push_str(cell);
            } else {
                let _ = write!(l, "{cell:<w$}  ");
            }
        }
        l.trim_end().to_owned() + "\n"
    };
    out.push_str(&line(headers.to_vec()));
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
}

fn field(out: &mut String, label: &str, value: Option<String>) {
    if let Some(v) = value.filter(|v| !v.is_empty()) {
        let _ = writeln!(out, "{label:<12}{v}");
    }
}

fn join_some(parts: &[Option<&str>], sep: &str) -> Option<String> {
    let v: Vec<&str> = parts
        .iter()
        .flatten()
        .copied()
        .filter(|s| !s.is_empty())
        .collect();
    (!v.is_empty()).then(|| v.join(sep))
}

fn dash(v: Option<&str>) -> String {
    v.unwrap_or("-").to_owned()
}

pub fn inventory(inv: &Inventory) -> String {
    let mut o = String::new();
    let hw = &inv.hardware;
    let os = &inv.os;
    field(&mut o, "Host", inv.device.hostname.clone());
    field(
        &mut o,
        "Device key",
        inv.device
            .device_key
            .as_ref()
            .map(|k| format!("{}…", &k[..k.len().min(16)])),
    );
    if let Some(s) = &hw.system {
        field(
            &mut o,
            "Model",
            join_some(
                &[
                    s.vendor.as_deref(),
                    s.model.as_deref(),
                    s.chassis_type.as_deref().map(|_| ""),
                ],
                " ",
            )
            .map(|m| match &s.chassis_type {
                Some(c) => format!("{m} ({c})"),
                None => m,
            }),
        );
        field(&mut o, "Serial", s.serial_number.clone());
        field(&mut o, "Virtual", s.virtualization.clone());
    }
    field(
        &mut o,
        "OS",
        join_some(
            &[
                os.long_name.as_deref().or(os.name.as_deref()),
                os.build.as_deref(),
            ],
            " build ",
        ),
    );
    field(
        &mut o,
        "Kernel",
        join_some(
            &[os.kernel_version.as_deref(), os.architecture.as_deref()],
            ", ",
        ),
    );
    field(&mut o, "Uptime", os.uptime_secs.map(duration));
    field(
        &mut o,
        "Time zone",
        os.timezone.as_ref().map(|tz| match tz.utc_offset_secs {
            Some(off) => format!(
                "{} (UTC{:+03}:{:02})",
                tz.name,
                off / 3600,
                (off.abs() % 3600) / 60
            ),
            None => tz.name.clone(),
        }),
    );
    field(
        &mut o,
        "Users",
        os.logged_in_users.as_ref().map(|u| {
            if u.is_empty() {
                "nobody logged in".to_owned()
            } else {
                u.iter()
                    .map(|u| match &u.terminal {
                        Some(t) => format!("{} ({t})", u.name),
                        None => u.name.clone(),
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        }),
    );
    if let Some(c) = &hw.cpu {
        let cores = match (c.physical_cores, c.logical_cores) {
            (Some(p), Some(l)) => format!("{p} cores, {l} threads"),
            (None, Some(l)) => format!("{l} threads"),
            _ => String::new(),
        };
        let freq = c
            .frequency_mhz
            .map(|f| format!("{f} MHz"))
            .unwrap_or_default();
        field(
            &mut o,
            "CPU",
            join_some(&[c.brand.as_deref(), Some(&cores), Some(&freq)], ", "),
        );
    }
    if let Some(m) = &hw.memory {
        field(
            &mut o,
            "Memory",
            m.total_bytes.map(|t| {
                format!(
                    "{} RAM, {} swap",
                    bytes(t),
                    bytes(m.swap_total_bytes.unwrap_or(0))
                )
            }),
        );
    }
    if let Some(b) = &hw.bios {
        field(
            &mut o,
            "Firmware",
            join_some(
                &[
                    b.vendor.as_deref(),
                    b.version.as_deref(),
                    b.release_date.map(|d| d.to_string()).as_deref(),
                ],
                " ",
            ),
        );
    }
    if !hw.disks.is_empty() {
        o.push_str("\nDisks\n");
        let rows: Vec<Vec<String>> = hw
            .disks
            .iter()
            .map(|d| {
                vec![
                    d.name.clone(),
                    d.size_bytes.map(bytes).unwrap_or_else(|| "-".into()),
                    d.kind
                        .map(|k| format!("{k:?}").to_ascii_uppercase())
                        .unwrap_or_else(|| "-".into()),
                    dash(d.interface.as_deref()),
                    if d.removable == Some(true) {
                        "yes".into()
                    } else {
                        "no".into()
                    },
                    dash(d.model.as_deref()),
                ]
            })
            .collect();
        table(
            &mut o,
            &["NAME", "SIZE", "KIND", "BUS", "REMOVABLE", "MODEL"],
            &rows,
        );
    }
    if !hw.volumes.is_empty() {
        o.push_str("\nVolumes\n");
        let rows: Vec<Vec<String>> = hw
            .volumes
            .iter()
            .map(|v| {
                vec![
                    v.mount_point.clone(),
                    dash(v.file_system.as_deref()),
                    v.total_bytes.map(bytes).unwrap_or_else(|| "-".into()),
                    v.free_bytes.map(bytes).unwrap_or_else(|| "-".into()),
                    dash(v.device.as_deref()),
                ]
            })
            .collect();
        table(&mut o, &["MOUNT", "FS", "SIZE", "FREE", "DEVICE"], &rows);
    }
    if !hw.network_interfaces.is_empty() {
        o.push_str("\nNetwork\n");
        let rows: Vec<Vec<String>> = hw
            .network_interfaces
            .iter()
            .map(|i| {
                let addrs: Vec<String> = i
                    .ipv4
                    .iter()
                    .chain(&i.ipv6)
                    .map(|a| match a.prefix {
                        Some(p) => format!("{}/{p}", a.address),
                        None => a.address.to_string(),
                    })
                    .collect();
                vec![
                    i.name.clone(),
                    match i.up {
                        Some(true) => "up".into(),
                        Some(false) => "down".into(),
                        None => "-".into(),
                    },
                    dash(i.mac_address.as_deref()),
                    if addrs.is_empty() {
                        "-".into()
                    } else {
                        addrs.join(" ")
                    },
                ]
            })
            .collect();
        table(&mut o, &["NAME", "STATE", "MAC", "ADDRESSES"], &rows);
    }
    if !hw.gpus.is_empty() {
        o.push_str("\nGraphics\n");
        let rows: Vec<Vec<String>> = hw
            .gpus
            .iter()
            .map(|g| {
                vec![
                    g.name.clone(),
                    dash(g.vendor.as_deref()),
                    dash(g.driver.as_deref()),
                ]
            })
            .collect();
        table(&mut o, &["NAME", "VENDOR", "DRIVER"], &rows);
    }
    if !hw.batteries.is_empty() {
        o.push_str("\nBatteries\n");
        let rows: Vec<Vec<String>> = hw
            .batteries
            .iter()
            .map(|b| {
                vec![
                    b.name.clone(),
                    b.charge_percent
                        .map(|c| format!("{c:.0}%"))
                        .unwrap_or_else(|| "-".into()),
                    b.health_percent
                        .map(|h| format!("{h:.0}%"))
                        .unwrap_or_else(|| "-".into()),
                    b.cycle_count
                        .map(|c| c.to_string())
                        .unwrap_or_else(|| "-".into()),
                    dash(b.model.as_deref()),
                ]
            })
            .collect();
        table(
            &mut o,
            &["NAME", "CHARGE", "HEALTH", "CYCLES", "MODEL"],
            &rows,
        );
    }
    let mut by_source: BTreeMap<&str, usize> = BTreeMap::new();
    for p in &inv.software {
        *by_source.entry(p.source.as_str()).or_default() += 1;
    }
    let sources: Vec<String> = by_source.iter().map(|(s, n)| format!("{s} {n}")).collect();
    let _ = writeln!(
        o,
        "\n{:<12}{} packages{} (the list: --format json)",
        "Software",
        inv.software.len(),
        if sources.is_empty() {
            String::new()
        } else {
            format!(" — {}", sources.join(", "))
        }
    );
    o
}

pub fn metrics(s: &MetricSample) -> String {
    let mut o = String::new();
    if let Some(c) = &s.cpu {
        let cores: Vec<String> = c
            .per_core_percent
            .iter()
            .map(|p| format!("{p:.0}"))
            .collect();
        field(
            &mut o,
            "CPU",
            Some(format!(
                "{:.1}%  (cores: {})",
                c.usage_percent,
                cores.join(" ")
            )),
        );
    }
    if let Some(l) = &s.load_average {
        field(
            &mut o,
            "Load",
            Some(format!("{:.2} {:.2} {:.2}", l.one, l.five, l.fifteen)),
        );
    }
    if let Some(m) = &s.memory {
        field(
            &mut o,
            "Memory",
            Some(format!(
                "{} used of {}, {} available",
                bytes(m.used_bytes),
                bytes(m.total_bytes),
                bytes(m.available_bytes)
            )),
        );
        field(
            &mut o,
            "Swap",
            Some(format!(
                "{} used of {}",
                bytes(m.swap_used_bytes),
                bytes(m.swap_total_bytes)
            )),
        );
    }
    field(&mut o, "Processes", s.process_count.map(|n| n.to_string()));
    for b in &s.batteries {
        field(
            &mut o,
            "Battery",
            Some(format!(
                "{} {}",
                b.name,
                b.percent.map(|p| format!("{p:.0}%")).unwrap_or_default()
            )),
        );
    }
    if !s.volumes.is_empty() {
        o.push_str("\nVolumes\n");
        let rows: Vec<Vec<String>> = s
            .volumes
            .iter()
            .map(|v| {
                let pct = if v.total_bytes > 0 {
                    v.free_bytes as f64 * 100.0 / v.total_bytes as f64
                } else {
                    0.0
                };
                vec![
                    v.mount_point.clone(),
                    bytes(v.free_bytes),
                    format!("{pct:.0}%"),
                    bytes(v.total_bytes),
                ]
            })
            .collect();
        table(&mut o, &["MOUNT", "FREE", "FREE% OF SIZE", "SIZE"], &rows);
        // `check`'s disk_free uses check_disk's basis; say so, or the two
        // figures read as a contradiction on volumes with reserved blocks.
        o.push_str(
            "  (FREE% is free space as a share of the whole volume; the disk_free check,\n   \
             like check_disk, counts it against used + available space instead)\n",
        );
    }
    if !s.network.is_empty() {
        o.push_str("\nNetwork\n");
        let rows: Vec<Vec<String>> = s
            .network
            .iter()
            .map(|n| {
                vec![
                    n.interface.clone(),
                    format!("{}/s", bytes(n.rx_bytes_per_sec as u64)),
                    format!("{}/s", bytes(n.tx_bytes_per_sec as u64)),
                ]
            })
            .collect();
        table(&mut o, &["INTERFACE", "RECEIVED", "SENT"], &rows);
    }
    if !s.temperatures.is_empty() {
        o.push_str("\nTemperatures\n");
        let rows: Vec<Vec<String>> = s
            .temperatures
            .iter()
            .map(|t| vec![t.label.clone(), format!("{:.0} °C", t.celsius)])
            .collect();
        table(&mut o, &["SENSOR", "NOW"], &rows);
    }
    for (title, list) in [("Top CPU", &s.top_cpu), ("Top memory", &s.top_memory)] {
        if list.is_empty() {
            continue;
        }
        let _ = writeln!(o, "\n{title}");
        let rows: Vec<Vec<String>> = list
            .iter()
            .map(|p| {
                vec![
                    p.pid.to_string(),
                    format!("{:.1}%", p.cpu_percent),
                    bytes(p.memory_bytes),
                    p.name.clone(),
                ]
            })
            .collect();
        table(&mut o, &["PID", "CPU", "MEMORY", "NAME"], &rows);
    }
    o
}

pub fn diff(d: &InventoryDiff) -> String {
    if d.is_empty() {
        return "No changes.\n".to_owned();
    }
    let mut o = String::new();
    let pkg = |name: &str, version: Option<&str>, source: &str, arch: Option<&str>| {
        let mut s = name.to_owned();
        if let Some(v) = version {
            let _ = write!(s, " {v}");
        }
        let _ = write!(
            s,
            " ({source}{})",
            arch.map(|a| format!(", {a}")).unwrap_or_default()
        );
        s
    };
    for (title, mark, list) in [
        ("Software added", '+', &d.software_added),
        ("Software removed", '-', &d.software_removed),
    ] {
        if list.is_empty() {
            continue;
        }
        let _ = writeln!(o, "{title} ({})", list.len());
        for p in list {
            let line = pkg(
                &p.name,
                p.version.as_deref(),
                p.source.as_str(),
                p.architecture.as_deref(),
            );
            let _ = writeln!(o, "  {mark} {line}");
        }
    }
    if !d.software_changed.is_empty() {
        let _ = writeln!(o, "Software changed ({})", d.software_changed.len());
        for c in &d.software_changed {
            let kind = match c.kind {
                SoftwareChangeKind::Upgraded => "upgraded",
                SoftwareChangeKind::Downgraded => "downgraded",
                SoftwareChangeKind::Changed => "changed",
            };
            let _ = writeln!(
                o,
                "  ~ {} {} → {} ({kind}, {})",
                c.name,
                c.old_version.as_deref().unwrap_or("?"),
                c.new_version.as_deref().unwrap_or("?"),
                c.source.as_str()
            );
        }
    }
    if !d.system_changes.is_empty() {
        let _ = writeln!(o, "System changes ({})", d.system_changes.len());
        for c in &d.system_changes {
            let field = c.path.rsplit('.').next().unwrap_or_default();
            let line = match (&c.old, &c.new) {
                (None, Some(new)) => format!("+ {}: {}", c.path, human_value(field, new)),
                (Some(old), None) => format!("- {}: {}", c.path, human_value(field, old)),
                (old, new) => format!(
                    "~ {}: {} → {}",
                    c.path,
                    old.as_ref()
                        .map_or_else(|| "(none)".to_owned(), |v| human_value(field, v)),
                    new.as_ref()
                        .map_or_else(|| "(none)".to_owned(), |v| human_value(field, v))
                ),
            };
            let _ = writeln!(o, "  {line}");
        }
    }
    o
}

/// An inventory value for a person: sizes and speeds in their units, a
/// whole device as `field value, …` on one line instead of JSON.
fn human_value(field: &str, v: &serde_json::Value) -> String {
    use serde_json::Value;
    match v {
        Value::Null => "(none)".to_owned(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => if *b { "yes" } else { "no" }.to_owned(),
        Value::Number(n) => {
            let f = n.as_f64().unwrap_or_default();
            if field.ends_with("_bytes") && f >= 0.0 {
                bytes(f as u64)
            } else if field.ends_with("_mhz") {
                format!("{f} MHz")
            } else if field.ends_with("_mbps") {
                format!("{f} Mbit/s")
            } else if field.ends_with("_percent") {
                format!("{f:.0}%")
            } else {
                n.to_string()
            }
        }
        Value::Array(items) => items
            .iter()
            .map(|i| human_value(field, i))
            .collect::<Vec<_>>()
            .join(", "),
        Value::Object(map) => map
            .iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| {
                let name = k
                    .trim_end_matches("_bytes")
                    .trim_end_matches("_mhz")
                    .trim_end_matches("_mbps")
                    .trim_end_matches("_percent")
                    .replace('_', " ");
                format!("{name} {}", human_value(k, v))
            })
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// Results with a Monitoring Plugins first line (`DESKSIDE OK - …`), then
/// one row per check. `reported` shows each check's reported state (after
/// `fails_before_alert`, with the raw result beside it when they differ);
/// otherwise each run's raw state.
pub fn check_results(
    results: &[CheckResult],
    worst: CheckState,
    policy: &LoadedPolicy,
    reported: bool,
    lang: Option<deskside_agent::i18n::Locale>,
) -> String {
    let shown = |r: &CheckResult| if reported { r.alert_state } else { r.state };
    let counts = |report_only: bool| {
        let mut parts = Vec::new();
        for s in [
            CheckState::Critical,
            CheckState::Warning,
            CheckState::Unknown,
            CheckState::Ok,
        ] {
            let n = results
                .iter()
                .filter(|r| r.report_only == report_only && shown(r) == s)
                .count();
            if n > 0 || !report_only {
                parts.push(format!("{n} {}", s.as_str()));
            }
        }
        parts.join(", ")
    };
    let mut o = format!(
        "DESKSIDE {} - {}",
        worst.as_str().to_ascii_uppercase(),
        counts(false)
    );
    // Report-only rows are counted apart, as the table labels them: a
    // "0 critical" next to a critical report-only row would read as a
    // contradiction.
    if results.iter().any(|r| r.report_only) {
        let _ = write!(o, "; report only, not counted: {}", counts(true));
    }
    if !policy.errors.is_empty() {
        let _ = write!(o, "; {} invalid in the policy", policy.errors.len());
    }
    let perf: Vec<String> = results
        .iter()
        .flat_map(|r| r.perfdata.iter().map(move |p| (r, p)))
        .map(|(r, p)| perf_item(&r.check_id, p))
        .collect();
    if !perf.is_empty() {
        let _ = write!(o, " | {}", perf.join(" "));
    }
    o.push('\n');
    let rows: Vec<Vec<String>> = results
        .iter()
        .map(|r| {
            let check = policy.checks.iter().find(|c| c.spec.id == r.check_id);
            let code = lang.map_or("en", deskside_agent::i18n::Locale::code);
            let title = check
                .and_then(|c| c.spec.title.get(code).or_else(|| c.spec.title.get("en")))
                .cloned()
                .unwrap_or_default();
            let mut summary = match lang {
                Some(l) => deskside_agent::health::summary_text(r, l),
                None => r.summary.clone(),
            };
            if reported && r.state != r.alert_state {
                let _ = write!(
                    summary,
                    " [this run: {}, {} of {} failures before alert]",
                    r.state.as_str(),
                    r.consecutive_failures,
                    check.map_or(1, |c| c.fails_before_alert)
                );
            }
            vec![
                shown(r).as_str().to_owned(),
                r.check_id.clone(),
                if r.report_only {
                    format!("{title} (report only)")
                } else {
                    title
                },
                summary,
            ]
        })
        .collect();
    if !rows.is_empty() {
        table(&mut o, &["STATE", "CHECK", "WHAT", "RESULT"], &rows);
    }
    o
}

/// One performance-data item as the Monitoring Plugins guidelines write
/// it: `'label'=value[UOM];[warn];[crit];[min];[max]`, trailing empty
/// fields dropped.
pub fn perf_item(check_id: &str, p: &deskside_protocol::PerfValue) -> String {
    let label = format!("{check_id}:{}", p.label).replace('\'', "''");
    let num = deskside_host::checks::threshold::perf_number;
    let mut fields = vec![
        format!("{}{}", num(p.value), p.unit.as_deref().unwrap_or("")),
        p.warn.clone().unwrap_or_default(),
        p.crit.clone().unwrap_or_default(),
        p.min.map(num).unwrap_or_default(),
        p.max.map(num).unwrap_or_default(),
    ];
    while fields.len() > 1 && fields.last().is_some_and(String::is_empty) {
        fields.pop();
    }
    format!("'{label}'={}", fields.join(";"))
}

/// `check --list`: every kind with its thresholds and parameters.
pub fn kinds() -> String {
    let mut o = String::from(
        "Check kinds. Common fields: id, kind, warn, crit, interval, timeout,\n\
         fails_before_alert, notify_user, report_only, title.{en,ko,ja}, remediation.{en,ko,ja}.\n",
    );
    for k in KINDS {
        let _ = writeln!(
            o,
            "\n{}  (default interval {})",
            k.name,
            humantime::format_duration(k.interval)
        );
        let _ = writeln!(o, "  {}", k.help);
        if let Some((unit, dir)) = k.unit {
            let unit = match unit {
                Unit::PercentOrBytes => "percent (\"15%\") or size (\"10GiB\")",
                Unit::Percent => "percent (\"70%\")",
                Unit::Number => "number",
                Unit::Duration => "duration (\"200ms\", \"14d\")",
            };
            let dir = match dir {
                Direction::LowIsBad => "lower is worse",
                Direction::HighIsBad => "higher is worse",
            };
            let _ = writeln!(o, "  warn/crit: {unit}, {dir}");
        }
        for p in k.params {
            let req = if p.required { "required" } else { "optional" };
            let _ = writeln!(o, "  {:<12} {req}: {}", p.name, p.help);
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_durations() {
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(25 * 1024 * 1024 * 1024), "25.0 GiB");
        assert_eq!(duration(59), "0m");
        assert_eq!(duration(3 * 86400 + 4 * 3600 + 5), "3d 4h");
        assert_eq!(duration(3700), "1h 1m");
    }

    #[test]
    fn inventory_values_read_as_a_person_would() {
        let disk = serde_json::json!({"model": "Samsung SSD", "name": "sdz", "size_bytes": 500_107_862_016_u64, "serial": null});
        assert_eq!(
            human_value("disks[sdz]", &disk),
            "model Samsung SSD, name sdz, size 465.8 GiB"
        );
        assert_eq!(
            human_value("total_bytes", &serde_json::json!(25_275_990_016_u64)),
            "23.5 GiB"
        );
        assert_eq!(human_value("max_mhz", &serde_json::json!(3600)), "3600 MHz");
        assert_eq!(human_value("virtual", &serde_json::json!(true)), "yes");
    }

    #[test]
    fn tables_align() {
        let mut o = String::new();
        table(
            &mut o,
            &["A", "BBB"],
            &[vec!["long-cell".into(), "x".into()]],
        );
        assert_eq!(o, "  A          BBB\n  long-cell  x\n");
    }
}
