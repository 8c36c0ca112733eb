//! PCI devices ("controllers" in GLPI's inventory): Linux reads
//! `/sys/bus/pci/devices` and names vendors, devices and classes from the
//! system's `pci.ids` database (the `hwdata` package) when it is there.

use std::path::Path;

use deskside_protocol::Controller;

/// Where Debian (`pciutils`/`hwdata`) and others keep `pci.ids`.
const PCI_IDS: &[&str] = &["usr/share/misc/pci.ids", "usr/share/hwdata/pci.ids"];

/// The `pci.ids` text under `root`, if installed.
pub fn database(root: &Path) -> Option<String> {
    PCI_IDS
        .iter()
        .find_map(|p| std::fs::read_to_string(root.join(p)).ok())
}

/// Vendor and device names for a PCI id pair from `pci.ids` text.
pub fn names(db: &str, vendor_id: &str, device_id: &str) -> (Option<String>, Option<String>) {
    let (mut vendor, mut device) = (None, None);
    let mut in_vendor = false;
    for line in db.lines() {
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        if line.starts_with("C ") {
            break; // device classes follow the vendor list
        }
        if !line.starts_with('\t') {
            if in_vendor {
                break;
            }
            if let Some((id, name)) = line.split_once("  ")
                && id.eq_ignore_ascii_case(vendor_id)
            {
                vendor = Some(name.trim().to_owned());
                in_vendor = true;
            }
        } else if in_vendor
            && !line.starts_with("\t\t")
            && let Some((id, name)) = line.trim_start().split_once("  ")
            && id.eq_ignore_ascii_case(device_id)
        {
            device = Some(name.trim().to_owned());
            break;
        }
    }
    (vendor, device)
}

/// The name of a class (`01`) and subclass (`06`) from `pci.ids`' class
/// list: the subclass's name when it has one, else the class's.
pub fn class_name(db: &str, class: &str, subclass: &str) -> Option<String> {
    let mut class_found: Option<String> = None;
    let mut in_class = false;
    for line in db.lines() {
        if let Some(rest) = line.strip_prefix("C ") {
            if in_class {
                break;
            }
            if let Some((id, name)) = rest.split_once("  ")
                && id.eq_ignore_ascii_case(class)
            {
                class_found = Some(name.trim().to_owned());
                in_class = true;
            }
        } else if in_class
            && line.starts_with('\t')
            && !line.starts_with("\t\t")
            && let Some((id, name)) = line.trim_start().split_once("  ")
            && id.eq_ignore_ascii_case(subclass)
        {
            return Some(name.trim().to_owned());
        }
    }
    class_found
}

fn read_hex(dir: &Path, file: &str) -> Option<String> {
    let v = std::fs::read_to_string(dir.join(file)).ok()?;
    Some(v.trim().trim_start_matches("0x").to_ascii_lowercase())
}

fn link_name(path: &Path) -> Option<String> {
    std::fs::read_link(path)
        .ok()
        .and_then(|l| l.file_name().map(|n| n.to_string_lossy().into_owned()))
}

/// Linux: every PCI device under `root/sys/bus/pci/devices`, by slot,
/// named from `db` (the `pci.ids` text, empty when not installed).
pub fn read_linux(root: &Path, db: &str) -> Vec<Controller> {
    let Ok(entries) = std::fs::read_dir(root.join("sys/bus/pci/devices")) else {
        return Vec::new();
    };
    let mut out: Vec<Controller> = entries
        .flatten()
        .filter_map(|e| {
            let dir = e.path();
            let address = e.file_name().to_string_lossy().into_owned();
            // `0000:00:02.0`: the domain is left out when it is 0, as lspci does.
            let slot = address.strip_prefix("0000:").unwrap_or(&address).to_owned();
            let vendor_id = read_hex(&dir, "vendor")?;
            let device_id = read_hex(&dir, "device")?;
            let class = read_hex(&dir, "class");
            let class_code = class.as_deref().and_then(|c| c.get(..4)).map(str::to_owned);
            let class_name = class_code
                .as_deref()
                .and_then(|c| class_name(db, &c[..2], &c[2..]));
            let subsystem_id = match (
                read_hex(&dir, "subsystem_vendor"),
                read_hex(&dir, "subsystem_device"),
            ) {
                (Some(v), Some(d)) if v != "0000" => Some(format!("{v}:{d}")),
                _ => None,
            };
            let (vendor, name) = names(db, &vendor_id, &device_id);
            Some(Controller {
                pci_slot: slot,
                vendor_id,
                device_id,
                subsystem_id,
                class_code,
                class_name,
                vendor,
                name,
                revision: read_hex(&dir, "revision"),
                driver: link_name(&dir.join("driver")),
            })
        })
        .collect();
    out.sort_by(|a, b| a.pci_slot.cmp(&b.pci_slot));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const DB: &str = "\
# comment
1af4  Red Hat, Inc.
\t1042  Virtio 1.0 block device
\t\t1af4 1100  QEMU Virtual Machine
8086  Intel Corporation
\t0d57  Some bridge
C 01  Mass storage controller
\t00  SCSI storage controller
\t80  Mass storage controller
C 06  Bridge
\t00  Host bridge
C ff  Unassigned class
";

    #[test]
    fn names_from_the_database() {
        assert_eq!(
            names(DB, "1af4", "1042"),
            (
                Some("Red Hat, Inc.".into()),
                Some("Virtio 1.0 block device".into())
            )
        );
        assert_eq!(class_name(DB, "06", "00").as_deref(), Some("Host bridge"));
        assert_eq!(
            class_name(DB, "01", "80").as_deref(),
            Some("Mass storage controller")
        );
        assert_eq!(
            class_name(DB, "ff", "ff").as_deref(),
            Some("Unassigned class")
        );
        assert_eq!(names(DB, "dead", "beef"), (None, None));
    }

    #[test]
    fn reads_devices_from_sysfs() {
        let root = tempfile::tempdir().unwrap();
        let dev = root.path().join("sys/bus/pci/devices/0000:00:02.0");
        std::fs::create_dir_all(&dev).unwrap();
        for (f, v) in [
            ("vendor", "0x1af4"),
            ("device", "0x1042"),
            ("class", "0x018000"),
            ("subsystem_vendor", "0x1af4"),
            ("subsystem_device", "0x1100"),
            ("revision", "0x01"),
        ] {
            std::fs::write(dev.join(f), format!("{v}\n")).unwrap();
        }
        let c = read_linux(root.path(), DB);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].pci_slot, "00:02.0");
        assert_eq!(c[0].name.as_deref(), Some("Virtio 1.0 block device"));
        assert_eq!(c[0].vendor.as_deref(), Some("Red Hat, Inc."));
        assert_eq!(c[0].class_code.as_deref(), Some("0180"));
        assert_eq!(c[0].class_name.as_deref(), Some("Mass storage controller"));
        assert_eq!(c[0].subsystem_id.as_deref(), Some("1af4:1100"));
        assert_eq!(c[0].revision.as_deref(), Some("01"));
    }
}
