//! DMI/SMBIOS facts: system, board and firmware. Linux reads
//! `/sys/class/dmi/id`, Windows the SMBIOS copy in the registry, macOS
//! `ioreg`. Firmware is full of placeholders ("To Be Filled By O.E.M.",
//! all-zero UUIDs): those are treated as absent, not as facts.

use std::path::Path;

use chrono::NaiveDate;
use deskside_protocol::{BiosInfo, BoardInfo, SystemInfo};

/// What the firmware says about the machine.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DmiFacts {
    /// System facts.
    pub system: SystemInfo,
    /// Board facts.
    pub board: BoardInfo,
    /// Firmware facts.
    pub bios: BiosInfo,
}

const PLACEHOLDERS: &[&str] = &[
    "to be filled by o.e.m.",
    "to be filled by oem",
    "default string",
    "not specified",
    "not applicable",
    "not available",
    "none",
    "n/a",
    "na",
    "unknown",
    "oem",
    "o.e.m.",
    "system serial number",
    "system product name",
    "system manufacturer",
    "system version",
    "base board serial number",
    "chassis serial number",
    "type1productconfigid",
    "sku",
    "0123456789",
    "123456789",
    "1234567890",
    // A well-known bogus UUID several firmware vendors ship.
    "03000200-0400-0500-0006-000700080009",
];

/// A firmware string, or `None` when it is empty or a placeholder.
pub fn clean(value: &str) -> Option<String> {
    let v = value.trim().trim_matches(char::from(0)).trim();
    if v.is_empty() || PLACEHOLDERS.contains(&v.to_ascii_lowercase().as_str()) {
        return None;
    }
    // "00000000-0000-…", "FFFFFFFF", "        ", "xxxxxxx": one repeated
    // character (ignoring separators) is filler, not an identifier.
    let mut chars = v.chars().filter(|c| !matches!(c, '-' | ' ' | ':' | '.'));
    if let Some(first) = chars.next()
        && v.len() > 3
        && chars.all(|c| c.eq_ignore_ascii_case(&first))
    {
        return None;
    }
    Some(v.to_owned())
}

/// SMBIOS chassis type code (System Enclosure, type 3) to its name.
pub fn chassis_name(code: u32) -> Option<&'static str> {
    Some(match code {
        3 => "Desktop",
        4 => "Low Profile Desktop",
        5 => "Pizza Box",
        6 => "Mini Tower",
        7 => "Tower",
        8 => "Portable",
        9 => "Laptop",
        10 => "Notebook",
        11 => "Hand Held",
        12 => "Docking Station",
        13 => "All in One",
        14 => "Sub Notebook",
        15 => "Space-saving",
        16 => "Lunch Box",
        17 => "Main Server Chassis",
        18 => "Expansion Chassis",
        19 => "SubChassis",
        20 => "Bus Expansion Chassis",
        21 => "Peripheral Chassis",
        22 => "RAID Chassis",
        23 => "Rack Mount Chassis",
        24 => "Sealed-case PC",
        25 => "Multi-system chassis",
        26 => "Compact PCI",
        27 => "Advanced TCA",
        28 => "Blade",
        29 => "Blade Enclosure",
        30 => "Tablet",
        31 => "Convertible",
        32 => "Detachable",
        33 => "IoT Gateway",
        34 => "Embedded PC",
        35 => "Mini PC",
        36 => "Stick PC",
        _ => return None,
    })
}

/// Firmware dates come as `MM/DD/YYYY` (SMBIOS) or `YYYYMMDD` (some
/// Windows builds).
pub fn parse_bios_date(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    NaiveDate::parse_from_str(s, "%m/%d/%Y")
        .or_else(|_| NaiveDate::parse_from_str(s, "%m/%d/%y"))
        .or_else(|_| NaiveDate::parse_from_str(s, "%Y%m%d"))
        .or_else(|_| NaiveDate::parse_from_str(s, "%Y-%m-%d"))
        .ok()
}

/// Linux: reads `sys/class/dmi/id` under `root`. Files readable only by
/// root (serials, UUID) are simply absent for other users.
pub fn read_linux(root: &Path) -> DmiFacts {
    let dir = root.join("sys/class/dmi/id");
    let get = |name: &str| {
        std::fs::read_to_string(dir.join(name))
            .ok()
            .and_then(|s| clean(&s))
    };
    DmiFacts {
        system: SystemInfo {
            vendor: get("sys_vendor"),
            model: get("product_name"),
            version: get("product_version"),
            family: get("product_family"),
            sku: get("product_sku"),
            serial_number: get("product_serial"),
            uuid: get("product_uuid").map(|u| u.to_ascii_lowercase()),
            chassis_type: get("chassis_type")
                .and_then(|c| c.parse().ok())
                .and_then(chassis_name)
                .map(str::to_owned),
            virtualization: None,
        },
        board: BoardInfo {
            vendor: get("board_vendor"),
            model: get("board_name"),
            version: get("board_version"),
            serial_number: get("board_serial"),
        },
        bios: BiosInfo {
            vendor: get("bios_vendor"),
            version: get("bios_version"),
            release_date: get("bios_date").and_then(|d| parse_bios_date(&d)),
        },
    }
}

/// Facts from `ioreg -rd1 -c IOPlatformExpertDevice` output: the platform
/// UUID (the Mac's machine id), serial, model and manufacturer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IoregPlatform {
    /// `IOPlatformUUID`.
    pub uuid: Option<String>,
    /// `IOPlatformSerialNumber`.
    pub serial_number: Option<String>,
    /// `model` (`MacBookPro18,3`).
    pub model: Option<String>,
    /// `manufacturer`.
    pub manufacturer: Option<String>,
}

/// Parses `ioreg -rd1 -c IOPlatformExpertDevice` text. Values look like
/// `"IOPlatformUUID" = "…"` or, for data properties, `"model" = <"…">`.
pub fn parse_ioreg_platform(text: &str) -> IoregPlatform {
    let mut out = IoregPlatform::default();
    for line in text.lines() {
        let Some((key, value)) = line.trim().trim_start_matches('|').trim().split_once(" = ")
        else {
            continue;
        };
        let value = value
            .trim()
            .trim_start_matches('<')
            .trim_end_matches('>')
            .trim_matches('"');
        let value = clean(value.trim_end_matches('\0'));
        match key.trim_matches('"') {
            "IOPlatformUUID" => out.uuid = value.map(|v| v.to_ascii_lowercase()),
            "IOPlatformSerialNumber" => out.serial_number = value,
            "model" => out.model = value,
            "manufacturer" => out.manufacturer = value,
            _ => {}
        }
    }
    out
}

/// macOS: firmware facts from `ioreg`.
#[cfg(target_os = "macos")]
pub fn read_macos(timeout: std::time::Duration) -> (DmiFacts, IoregPlatform) {
    let text = super::command::run("ioreg", &["-rd1", "-c", "IOPlatformExpertDevice"], timeout)
        .unwrap_or_default();
    let p = parse_ioreg_platform(&text);
    let facts = DmiFacts {
        system: SystemInfo {
            vendor: p.manufacturer.clone(),
            model: p.model.clone(),
            serial_number: p.serial_number.clone(),
            uuid: p.uuid.clone(),
            ..SystemInfo::default()
        },
        ..DmiFacts::default()
    };
    (facts, p)
}

/// Windows: the SMBIOS summary Windows keeps in
/// `HKLM\HARDWARE\DESCRIPTION\System\BIOS`.
#[cfg(windows)]
pub fn read_windows() -> DmiFacts {
    use winreg::RegKey;
    use winreg::enums::HKEY_LOCAL_MACHINE;
    let Ok(key) =
        RegKey::predef(HKEY_LOCAL_MACHINE).open_subkey(r"HARDWARE\DESCRIPTION\System\BIOS")
    else {
        return DmiFacts::default();
    };
    let get = |name: &str| {
        key.get_value::<String, _>(name)
            .ok()
            .and_then(|s| clean(&s))
    };
    DmiFacts {
        system: SystemInfo {
            vendor: get("SystemManufacturer"),
            model: get("SystemProductName"),
            version: get("SystemVersion"),
            family: get("SystemFamily"),
            sku: get("SystemSKU"),
            ..SystemInfo::default()
        },
        board: BoardInfo {
            vendor: get("BaseBoardManufacturer"),
            model: get("BaseBoardProduct"),
            version: get("BaseBoardVersion"),
            serial_number: None,
        },
        bios: BiosInfo {
            vendor: get("BIOSVendor"),
            version: get("BIOSVersion"),
            release_date: get("BIOSReleaseDate").and_then(|d| parse_bios_date(&d)),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIX: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

    #[test]
    fn placeholders_are_absent() {
        for junk in [
            "",
            "  \n",
            "To Be Filled By O.E.M.",
            "Default string",
            "00000000-0000-0000-0000-000000000000",
            "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF",
            "0000000",
            "03000200-0400-0500-0006-000700080009",
        ] {
            assert_eq!(clean(junk), None, "{junk:?}");
        }
        assert_eq!(clean(" Dell Inc.\n").as_deref(), Some("Dell Inc."));
        assert_eq!(clean("A1B2").as_deref(), Some("A1B2"));
    }

    #[test]
    fn reads_a_laptop_dmi_tree() {
        let facts = read_linux(Path::new(&format!("{FIX}/sysroot-laptop")));
        assert_eq!(facts.system.vendor.as_deref(), Some("LENOVO"));
        assert_eq!(facts.system.model.as_deref(), Some("20QDS3E200"));
        assert_eq!(
            facts.system.family.as_deref(),
            Some("ThinkPad X1 Carbon 7th")
        );
        assert_eq!(facts.system.serial_number.as_deref(), Some("PF1ABCDE"));
        assert_eq!(
            facts.system.uuid.as_deref(),
            Some("4c4c4544-0051-3010-8052-b4c04f4a4e32")
        );
        assert_eq!(facts.system.chassis_type.as_deref(), Some("Notebook"));
        assert_eq!(facts.system.sku, None, "placeholder SKU");
        assert_eq!(facts.board.model.as_deref(), Some("20QDS3E200"));
        assert_eq!(facts.board.serial_number, None, "placeholder serial");
        assert_eq!(facts.bios.vendor.as_deref(), Some("LENOVO"));
        assert_eq!(facts.bios.version.as_deref(), Some("N2HET77W (1.60 )"));
        assert_eq!(
            facts.bios.release_date,
            NaiveDate::from_ymd_opt(2023, 2, 24)
        );
    }

    #[test]
    fn missing_dmi_is_all_absent() {
        assert_eq!(read_linux(Path::new("/nonexistent")), DmiFacts::default());
    }

    #[test]
    fn parses_ioreg_output() {
        let text = std::fs::read_to_string(format!("{FIX}/macos/ioreg-platform.txt")).unwrap();
        let p = parse_ioreg_platform(&text);
        assert_eq!(
            p.uuid.as_deref(),
            Some("a1b2c3d4-e5f6-5a6b-9c8d-0e1f2a3b4c5d")
        );
        assert_eq!(p.serial_number.as_deref(), Some("C02XK1ABJGH5"));
        assert_eq!(p.model.as_deref(), Some("MacBookPro18,3"));
        assert_eq!(p.manufacturer.as_deref(), Some("Apple Inc."));
    }

    #[test]
    fn bios_dates() {
        assert_eq!(
            parse_bios_date("02/24/2023"),
            NaiveDate::from_ymd_opt(2023, 2, 24)
        );
        assert_eq!(
            parse_bios_date("20230224"),
            NaiveDate::from_ymd_opt(2023, 2, 24)
        );
        assert_eq!(parse_bios_date("garbage"), None);
        assert_eq!(chassis_name(10), Some("Notebook"));
        assert_eq!(chassis_name(2), None, "'Unknown' is absent");
    }
}
