//! Batteries. Linux reads `/sys/class/power_supply`; peripheral batteries
//! (mice, headsets: `scope=Device`) are not the machine's.

use std::path::Path;

use deskside_protocol::{Battery, BatteryStatus};

/// Maps the kernel's `status` attribute.
pub fn parse_status(s: &str) -> BatteryStatus {
    match s.trim() {
        "Charging" => BatteryStatus::Charging,
        "Discharging" => BatteryStatus::Discharging,
        "Not charging" => BatteryStatus::NotCharging,
        "Full" => BatteryStatus::Full,
        _ => BatteryStatus::Unknown,
    }
}

/// Linux: the system batteries under `root/sys/class/power_supply`.
pub fn read_linux(root: &Path) -> Vec<Battery> {
    let base = root.join("sys/class/power_supply");
    let Ok(entries) = std::fs::read_dir(&base) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
        .into_iter()
        .filter_map(|name| {
            let dir = base.join(&name);
            let text = |f: &str| {
                std::fs::read_to_string(dir.join(f))
                    .ok()
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty())
            };
            let num = |f: &str| text(f).and_then(|s| s.parse::<u64>().ok());
            if text("type").as_deref() != Some("Battery")
                || text("scope").as_deref() == Some("Device")
            {
                return None;
            }
            // Energy is in µWh; some batteries report charge in µAh instead,
            // which needs the design voltage (µV) to become energy.
            let voltage_uv = num("voltage_min_design");
            let energy_mwh = |energy: &str, charge: &str| {
                num(energy).map(|uwh| uwh / 1000).or_else(|| {
                    let uah = num(charge)?;
                    let uv = voltage_uv?;
                    Some(
                        u64::try_from(u128::from(uah) * u128::from(uv) / 1_000_000_000)
                            .unwrap_or(u64::MAX),
                    )
                })
            };
            let design = energy_mwh("energy_full_design", "charge_full_design").filter(|v| *v > 0);
            let full = energy_mwh("energy_full", "charge_full").filter(|v| *v > 0);
            let health_percent = match (design, full) {
                (Some(d), Some(f)) => Some((f as f64 * 100.0 / d as f64) as f32),
                _ => None,
            };
            Some(Battery {
                manufacturer: text("manufacturer"),
                model: text("model_name"),
                serial_number: text("serial_number").and_then(|s| super::dmi::clean(&s)),
                technology: text("technology").filter(|t| t != "Unknown"),
                design_capacity_mwh: design,
                full_capacity_mwh: full,
                health_percent,
                // Firmware without a counter reports 0.
                cycle_count: num("cycle_count")
                    .filter(|c| *c > 0)
                    .and_then(|c| u32::try_from(c).ok()),
                status: text("status").map(|s| parse_status(&s)),
                charge_percent: num("capacity").map(|c| c as f32),
                voltage_mv: voltage_uv.map(|v| v / 1000),
                name,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_system_batteries_only() {
        let root = Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/sysroot-laptop"
        ));
        let bats = read_linux(root);
        let names: Vec<&str> = bats.iter().map(|b| b.name.as_str()).collect();
        assert_eq!(
            names,
            ["BAT0", "BAT1"],
            "AC adapter and mouse battery are skipped"
        );
        let b = &bats[0];
        assert_eq!(b.design_capacity_mwh, Some(57_000));
        assert_eq!(b.full_capacity_mwh, Some(45_600));
        assert_eq!(b.health_percent, Some(80.0));
        assert_eq!(b.cycle_count, Some(312));
        assert_eq!(b.status, Some(BatteryStatus::Discharging));
        assert_eq!(b.charge_percent, Some(87.0));
        assert_eq!(b.technology.as_deref(), Some("Li-poly"));
        assert_eq!(b.voltage_mv, Some(15_440));
        // Charge-based battery: 4000 mAh × 11.4 V = 45 600 mWh design.
        let c = &bats[1];
        assert_eq!(c.design_capacity_mwh, Some(45_600));
        assert_eq!(c.full_capacity_mwh, Some(31_920));
        assert_eq!(c.health_percent, Some(70.0));
        assert_eq!(c.cycle_count, None, "0 means the firmware does not count");
        assert_eq!(c.status, Some(BatteryStatus::NotCharging));
    }

    #[test]
    fn no_power_supply_class_means_no_battery() {
        assert!(read_linux(Path::new("/nonexistent")).is_empty());
    }
}
