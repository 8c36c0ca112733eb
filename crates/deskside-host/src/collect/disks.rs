//! Physical disks. Linux reads `/sys/block`: every block device that is a
//! real (or virtual-machine) disk, not a partition, loop, RAM or
//! device-mapper volume.

use std::path::Path;

use deskside_protocol::{Disk, DiskKind};

/// Block devices that are not disks of their own.
const NOT_DISKS: &[&str] = &["loop", "ram", "zram", "dm-", "md", "nbd", "fd"];

/// The bus a disk hangs off, from its sysfs device path
/// (`../devices/pci0000:00/…/usb2/…/block/sda`) or, failing that, its name.
pub fn interface_of(name: &str, sysfs_path: Option<&str>) -> Option<String> {
    let p = sysfs_path.unwrap_or_default();
    let from_path = [
        ("/usb", "usb"),
        ("/nvme/", "nvme"),
        ("/virtio", "virtio"),
        ("/mmc_host/", "mmc"),
        ("/ata", "sata"),
        ("/host", "scsi"),
    ]
    .iter()
    .find(|(needle, _)| p.contains(needle))
    .map(|(_, bus)| *bus);
    let from_name = if name.starts_with("nvme") {
        Some("nvme")
    } else if name.starts_with("vd") {
        Some("virtio")
    } else if name.starts_with("mmcblk") {
        Some("mmc")
    } else {
        None
    };
    from_path.or(from_name).map(str::to_owned)
}

/// Linux: the disks under `root/sys/block`, sorted by name.
pub fn read_linux(root: &Path, pci_ids: &str) -> Vec<Disk> {
    let block = root.join("sys/block");
    let Ok(entries) = std::fs::read_dir(&block) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if NOT_DISKS.iter().any(|p| name.starts_with(p)) {
            continue;
        }
        let dir = block.join(&name);
        let read = |f: &str| {
            std::fs::read_to_string(dir.join(f))
                .ok()
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
        };
        // `size` is always in 512-byte sectors, whatever the logical
        // block size.
        let size_bytes = read("size")
            .and_then(|s| s.parse::<u64>().ok())
            .map(|s| s * 512);
        if size_bytes.is_none_or(|s| s == 0) {
            continue; // empty card readers and optical drives without media
        }
        let link = std::fs::read_link(&dir)
            .ok()
            .map(|p| p.to_string_lossy().into_owned());
        out.push(Disk {
            kind: read("queue/rotational").map(|r| {
                if r == "1" {
                    DiskKind::Hdd
                } else {
                    DiskKind::Ssd
                }
            }),
            removable: read("removable").map(|r| r == "1"),
            model: read("device/model"),
            // Virtio and NVMe expose a PCI vendor id here, not a name: the
            // name comes from `pci.ids`.
            vendor: read("device/vendor").and_then(|v| match v.strip_prefix("0x") {
                Some(id) => super::pci::names(pci_ids, id, "").0,
                None => (v != "ATA").then_some(v),
            }),
            serial_number: read("device/serial").or_else(|| read("serial")),
            interface: interface_of(&name, link.as_deref()),
            size_bytes,
            name,
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_disks_and_skips_the_rest() {
        let root = Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/sysroot-laptop"
        ));
        let disks = read_linux(root, "");
        let names: Vec<&str> = disks.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["nvme0n1", "sda"]);
        let nvme = &disks[0];
        assert_eq!(nvme.kind, Some(DiskKind::Ssd));
        assert_eq!(nvme.size_bytes, Some(1_000_215_216 * 512));
        assert_eq!(nvme.model.as_deref(), Some("SAMSUNG MZVLB512HBJQ-000L7"));
        assert_eq!(nvme.serial_number.as_deref(), Some("S4ENNX0N123456"));
        assert_eq!(nvme.interface.as_deref(), Some("nvme"));
        assert_eq!(nvme.removable, Some(false));
        let usb = &disks[1];
        assert_eq!(usb.interface.as_deref(), Some("usb"));
        assert_eq!(usb.removable, Some(true));
        assert_eq!(usb.kind, Some(DiskKind::Hdd));
        assert_eq!(usb.vendor.as_deref(), Some("SanDisk"));
    }

    #[test]
    fn interfaces() {
        assert_eq!(interface_of("vda", None).as_deref(), Some("virtio"));
        assert_eq!(
            interface_of(
                "sda",
                Some("../devices/pci0000:00/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0/block/sda")
            )
            .as_deref(),
            Some("sata")
        );
        assert_eq!(interface_of("xyz", None), None);
    }
}
