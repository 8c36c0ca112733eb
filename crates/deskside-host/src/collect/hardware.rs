//! CPU, memory, volumes and network interfaces through `sysinfo`, refreshing
//! only what the inventory needs (no CPU usage sampling, no processes).

use std::path::Path;

use deskside_protocol::{Cpu, IpAddressInfo, Memory, NetworkInterface, Volume};
use sysinfo::{
    CpuRefreshKind, DiskRefreshKind, Disks, InterfaceOperationalState, MemoryRefreshKind, Networks,
    RefreshKind, System,
};

/// CPU and memory. `None` for a part the OS would not describe.
pub fn cpu_and_memory(root: &Path) -> (Option<Cpu>, Option<Memory>) {
    let Ok(sys) = System::new_with_specifics(
        RefreshKind::nothing()
            .with_cpu(CpuRefreshKind::nothing().with_frequency())
            .with_memory(MemoryRefreshKind::everything()),
    ) else {
        return (None, None);
    };
    let cpus = sys.cpus();
    let first = cpus.first();
    let nonempty = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_owned());
    let cpu = first.map(|c| Cpu {
        brand: nonempty(c.brand()),
        vendor: nonempty(c.vendor_id()),
        physical_cores: System::physical_core_count()
            .ok()
            .and_then(|n| u32::try_from(n).ok()),
        logical_cores: u32::try_from(cpus.len()).ok(),
        frequency_mhz: max_frequency_mhz_linux(root)
            .or_else(|| Some(c.frequency()).filter(|f| *f > 0)),
    });
    let memory = Some(Memory {
        total_bytes: Some(sys.total_memory()).filter(|m| *m > 0),
        swap_total_bytes: Some(sys.total_swap()),
    });
    (cpu, memory)
}

/// The rated maximum frequency: stable, unlike the current one.
fn max_frequency_mhz_linux(root: &Path) -> Option<u64> {
    let khz =
        std::fs::read_to_string(root.join("sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq"))
            .ok()?;
    khz.trim()
        .parse::<u64>()
        .ok()
        .map(|k| k / 1000)
        .filter(|m| *m > 0)
}

/// Mounted file systems, sorted by mount point.
pub fn volumes() -> Vec<Volume> {
    let Ok(disks) =
        Disks::new_with_refreshed_list_specifics(DiskRefreshKind::nothing().with_storage())
    else {
        return Vec::new();
    };
    let mut out: Vec<Volume> = disks
        .iter()
        .map(|d| {
            let device = d.name().to_string_lossy().into_owned();
            let fs = d.file_system().to_string_lossy().into_owned();
            Volume {
                mount_point: d.mount_point().to_string_lossy().into_owned(),
                device: (!device.is_empty()).then_some(device),
                file_system: (!fs.is_empty()).then_some(fs),
                total_bytes: Some(d.total_space()),
                free_bytes: Some(d.available_space()),
                removable: Some(d.is_removable()),
                read_only: Some(d.is_read_only()),
            }
        })
        .collect();
    out.sort_by(|a, b| a.mount_point.cmp(&b.mount_point));
    out.dedup_by(|a, b| a.mount_point == b.mount_point);
    out
}

/// Network interfaces with their addresses, sorted by name.
pub fn network_interfaces() -> Vec<NetworkInterface> {
    let Ok(networks) = Networks::new_with_refreshed_list() else {
        return Vec::new();
    };
    let mut out: Vec<NetworkInterface> = networks
        .iter()
        .map(|(name, data)| {
            let mac = data.mac_address();
            let (mut ipv4, mut ipv6) = (Vec::new(), Vec::new());
            for net in data.ip_networks() {
                let info = IpAddressInfo {
                    address: net.addr,
                    prefix: Some(net.prefix),
                };
                if net.addr.is_ipv4() {
                    ipv4.push(info)
                } else {
                    ipv6.push(info)
                }
            }
            let loopback = name.as_os_str() == "lo"
                || (!data.ip_networks().is_empty()
                    && data.ip_networks().iter().all(|n| n.addr.is_loopback()));
            NetworkInterface {
                name: name.to_string_lossy().into_owned(),
                mac_address: (!mac.is_unspecified()).then(|| mac.to_string().to_ascii_lowercase()),
                ipv4,
                ipv6,
                up: match data.operational_state() {
                    InterfaceOperationalState::Up => Some(true),
                    InterfaceOperationalState::Down
                    | InterfaceOperationalState::LowerLayerDown
                    | InterfaceOperationalState::NotPresent => Some(false),
                    _ => None,
                },
                mtu: Some(data.mtu()).filter(|m| *m > 0),
                speed_mbps: data
                    .transmit_link_speed()
                    .map(|bps| bps / 1_000_000)
                    .filter(|s| *s > 0),
                loopback: Some(loopback),
                // Filled in per OS (Linux: netconf::annotate_interfaces_linux).
                virtual_device: None,
                driver: None,
                wireless: None,
            }
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}
