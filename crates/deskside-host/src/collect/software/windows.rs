//! Windows programs from the `Uninstall` registry keys — what "Apps &
//! features" lists. The mapping from a key's values to a package is a pure
//! function, tested on any OS against a `.reg` export; only the registry
//! walk is Windows-specific.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use deskside_protocol::{SoftwarePackage, SoftwareSource};

/// A registry value, reduced to the types the `Uninstall` keys use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegValue {
    /// `REG_SZ` / `REG_EXPAND_SZ`.
    String(String),
    /// `REG_DWORD`.
    Dword(u32),
    /// Anything else (binary, multi-string, qword).
    Other,
}

/// The values of one registry key, by value name.
pub type RegValues = BTreeMap<String, RegValue>;

/// Which of the three `Uninstall` locations a key came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UninstallView {
    /// `HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall` (64-bit).
    Machine64,
    /// `HKLM\SOFTWARE\WOW6432Node\…\Uninstall` (32-bit programs on 64-bit Windows).
    Machine32,
    /// `HKCU\…\Uninstall` (per-user installs).
    User,
}

impl UninstallView {
    /// Classifies a full key path from a `.reg` export.
    pub fn of_path(path: &str) -> Option<Self> {
        let upper = path.to_ascii_uppercase();
        if !upper.contains("\\MICROSOFT\\WINDOWS\\CURRENTVERSION\\UNINSTALL\\") {
            return None;
        }
        Some(if upper.starts_with("HKEY_CURRENT_USER") {
            Self::User
        } else if upper.contains("\\WOW6432NODE\\") {
            Self::Machine32
        } else {
            Self::Machine64
        })
    }
}

fn string(values: &RegValues, name: &str) -> Option<String> {
    match values.get(name) {
        Some(RegValue::String(s)) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        _ => None,
    }
}

fn dword(values: &RegValues, name: &str) -> Option<u32> {
    match values.get(name) {
        Some(RegValue::Dword(d)) => Some(*d),
        _ => None,
    }
}

/// The package an `Uninstall` subkey describes, or `None` for entries that
/// "Apps & features" hides too: no display name, `SystemComponent=1`, and
/// updates that belong to a parent product (`ParentKeyName`).
pub fn package_from_values(
    key_name: &str,
    view: UninstallView,
    values: &RegValues,
) -> Option<SoftwarePackage> {
    if dword(values, "SystemComponent") == Some(1) || string(values, "ParentKeyName").is_some() {
        return None;
    }
    let name = string(values, "DisplayName")?;
    let install_date = string(values, "InstallDate")
        .and_then(|d| NaiveDate::parse_from_str(&d, "%Y%m%d").ok())
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|dt| dt.and_utc());
    Some(SoftwarePackage {
        name,
        source: SoftwareSource::WindowsRegistry,
        version: string(values, "DisplayVersion"),
        architecture: match view {
            UninstallView::Machine64 => Some("x64".to_owned()),
            UninstallView::Machine32 => Some("x86".to_owned()),
            UninstallView::User => None,
        },
        publisher: string(values, "Publisher"),
        install_date,
        size_bytes: dword(values, "EstimatedSize").map(|kib| u64::from(kib) * 1024),
        identifier: Some(key_name.to_owned()),
    })
}

/// Parses a `regedit` export (`Windows Registry Editor Version 5.00`, UTF-16
/// with BOM as regedit writes it, or UTF-8) into `(key path, values)`.
pub fn parse_reg_export(bytes: &[u8]) -> Vec<(String, RegValues)> {
    let text = if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        let units: Vec<u16> = rest
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        String::from_utf16_lossy(&units)
    } else {
        String::from_utf8_lossy(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)).into_owned()
    };
    let mut keys: Vec<(String, RegValues)> = Vec::new();
    let mut continuing = false;
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if continuing {
            continuing = line.ends_with('\\');
            continue;
        }
        if let Some(path) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            keys.push((path.to_owned(), RegValues::new()));
            continue;
        }
        let Some((_, values)) = keys.last_mut() else {
            continue;
        };
        let Some(rest) = line.strip_prefix('"') else {
            continue;
        };
        let Some((name, raw)) = split_quoted(rest) else {
            continue;
        };
        let Some(raw) = raw.strip_prefix('=') else {
            continue;
        };
        let value = if let Some(s) = raw.strip_prefix('"') {
            split_quoted(s).map_or(RegValue::Other, |(v, _)| RegValue::String(v))
        } else if let Some(hex) = raw.strip_prefix("dword:") {
            u32::from_str_radix(hex.trim(), 16).map_or(RegValue::Other, RegValue::Dword)
        } else {
            continuing = raw.ends_with('\\');
            RegValue::Other
        };
        values.insert(name, value);
    }
    keys
}

/// Splits `abc\"d"rest` into (`abc"d`, `rest`), undoing `.reg` escapes.
fn split_quoted(s: &str) -> Option<(String, &str)> {
    let mut out = String::new();
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => out.push(chars.next()?.1),
            '"' => return Some((out, &s[i + 1..])),
            c => out.push(c),
        }
    }
    None
}

/// The programs in a `.reg` export of the `Uninstall` keys.
pub fn packages_from_reg_export(bytes: &[u8]) -> Vec<SoftwarePackage> {
    parse_reg_export(bytes)
        .into_iter()
        .filter_map(|(path, values)| {
            let view = UninstallView::of_path(&path)?;
            let key_name = path.rsplit('\\').next()?;
            package_from_values(key_name, view, &values)
        })
        .collect()
}

/// The installed programs of this Windows machine.
#[cfg(windows)]
pub fn collect() -> Option<Vec<SoftwarePackage>> {
    use winreg::RegKey;
    use winreg::enums::{
        HKEY_CURRENT_USER, HKEY_LOCAL_MACHINE, KEY_READ, KEY_WOW64_32KEY, KEY_WOW64_64KEY,
    };

    const UNINSTALL: &str = r"SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall";
    let sources = [
        (
            HKEY_LOCAL_MACHINE,
            KEY_READ | KEY_WOW64_64KEY,
            UninstallView::Machine64,
        ),
        (
            HKEY_LOCAL_MACHINE,
            KEY_READ | KEY_WOW64_32KEY,
            UninstallView::Machine32,
        ),
        (HKEY_CURRENT_USER, KEY_READ, UninstallView::User),
    ];
    let mut out = Vec::new();
    for (hive, access, view) in sources {
        let Ok(root) = RegKey::predef(hive).open_subkey_with_flags(UNINSTALL, access) else {
            continue;
        };
        for name in root.enum_keys().flatten() {
            let Ok(key) = root.open_subkey_with_flags(&name, access) else {
                continue;
            };
            let mut values = RegValues::new();
            for (vname, v) in key.enum_values().flatten() {
                let value = match v.vtype {
                    winreg::enums::REG_SZ | winreg::enums::REG_EXPAND_SZ => key
                        .get_value::<String, _>(&vname)
                        .map_or(RegValue::Other, RegValue::String),
                    winreg::enums::REG_DWORD => key
                        .get_value::<u32, _>(&vname)
                        .map_or(RegValue::Other, RegValue::Dword),
                    _ => RegValue::Other,
                };
                values.insert(vname, value);
            }
            out.extend(package_from_values(&name, view, &values));
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16_with_bom(s: &str) -> Vec<u8> {
        let mut b = vec![0xFF, 0xFE];
        for u in s.encode_utf16() {
            b.extend_from_slice(&u.to_le_bytes());
        }
        b
    }

    #[test]
    fn maps_uninstall_keys_like_apps_and_features() {
        let text = include_str!("../../../tests/fixtures/windows/uninstall.reg");
        for bytes in [text.as_bytes().to_vec(), utf16_with_bom(text)] {
            let pkgs = packages_from_reg_export(&bytes);
            let names: Vec<&str> = pkgs.iter().map(|p| p.name.as_str()).collect();
            assert_eq!(
                names,
                [
                    "7-Zip 23.01 (x64)",
                    "Notepad++ (32-bit x86)",
                    "Zoom Workplace"
                ]
            );
            let zip = &pkgs[0];
            assert_eq!(zip.version.as_deref(), Some("23.01"));
            assert_eq!(zip.publisher.as_deref(), Some("Igor Pavlov"));
            assert_eq!(zip.architecture.as_deref(), Some("x64"));
            assert_eq!(zip.size_bytes, Some(5813 * 1024));
            assert_eq!(zip.identifier.as_deref(), Some("7-Zip"));
            assert_eq!(pkgs[1].architecture.as_deref(), Some("x86"));
            assert_eq!(
                pkgs[1].install_date.unwrap().to_rfc3339(),
                "2024-03-15T00:00:00+00:00"
            );
            assert_eq!(pkgs[2].architecture, None, "per-user install");
            assert_eq!(
                pkgs[2].publisher.as_deref(),
                Some("Zoom Video \"Communications\", Inc.")
            );
        }
    }
}
