//! Graphics adapters. Linux reads `/sys/class/drm/card*` and names the PCI
//! ids from the system's `pci.ids` database when it is installed.

use std::path::Path;

use deskside_protocol::Gpu;

use super::pci::names as pci_names;

fn file_name_of_link(path: &Path) -> Option<String> {
    std::fs::read_link(path)
        .ok()
        .and_then(|l| l.file_name().map(|n| n.to_string_lossy().into_owned()))
}

/// Linux: GPUs under `root/sys/class/drm`, named from `pci_ids` (the
/// `pci.ids` text, empty when not installed).
pub fn read_linux(root: &Path, pci_ids: &str) -> Vec<Gpu> {
    let Ok(entries) = std::fs::read_dir(root.join("sys/class/drm")) else {
        return Vec::new();
    };
    let mut cards: Vec<String> = entries
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        // `card0` is an adapter; `card0-HDMI-A-1` is one of its connectors.
        .filter(|n| {
            n.strip_prefix("card")
                .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
        })
        .collect();
    cards.sort();
    let mut out: Vec<Gpu> = Vec::new();
    for card in cards {
        let dev = root.join("sys/class/drm").join(&card).join("device");
        let id = |f: &str| {
            std::fs::read_to_string(dev.join(f))
                .ok()
                .map(|s| s.trim().trim_start_matches("0x").to_ascii_lowercase())
        };
        let (vendor_id, device_id) = (id("vendor"), id("device"));
        let pci_slot = file_name_of_link(&dev);
        // Render nodes and secondary cards can point at the same device.
        if pci_slot.is_some() && out.iter().any(|g| g.pci_slot == pci_slot) {
            continue;
        }
        let (vendor, device) = match (&vendor_id, &device_id) {
            (Some(v), Some(d)) => pci_names(pci_ids, v, d),
            _ => (None, None),
        };
        let fallback = match (&vendor_id, &device_id) {
            (Some(v), Some(d)) => format!("{v}:{d}"),
            _ => card.clone(),
        };
        out.push(Gpu {
            name: device.unwrap_or(fallback),
            vendor,
            pci_vendor_id: vendor_id,
            pci_device_id: device_id,
            pci_slot,
            driver: file_name_of_link(&dev.join("driver")),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_names_gpus() {
        let root = Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/sysroot-laptop"
        ));
        let db = crate::collect::pci::database(root).unwrap_or_default();
        let gpus = read_linux(root, &db);
        assert_eq!(gpus.len(), 1, "{gpus:?}");
        let g = &gpus[0];
        assert_eq!(g.name, "WhiskeyLake-U GT2 [UHD Graphics 620]");
        assert_eq!(g.vendor.as_deref(), Some("Intel Corporation"));
        assert_eq!(g.pci_vendor_id.as_deref(), Some("8086"));
        assert_eq!(g.pci_device_id.as_deref(), Some("3ea0"));
        assert_eq!(g.pci_slot.as_deref(), Some("0000:00:02.0"));
        assert_eq!(g.driver.as_deref(), Some("i915"));
    }

    #[test]
    fn unknown_ids_have_no_names() {
        let db = "8086  Intel Corporation\n\t3ea0  UHD 620\n\t\t1028 089e  sub\n10de  NVIDIA\nC 00  Unclassified\n";
        assert_eq!(pci_names(db, "10de", "ffff"), (Some("NVIDIA".into()), None));
        assert_eq!(pci_names(db, "8086", "3EA0").1.as_deref(), Some("UHD 620"));
        assert_eq!(pci_names(db, "1234", "0001"), (None, None));
    }
}
