//! Building the inventory of this machine.
//!
//! Every fact is optional: what the machine cannot tell (no DMI in a
//! container, no battery, no sensors, a file only root may read) is left
//! absent. Collection never fails and never panics on a missing fact.

pub mod accounts;
pub mod battery;
pub mod command;
pub mod disks;
pub mod dmi;
pub mod gpu;
pub mod hardware;
pub mod identity;
pub mod netconf;
pub mod pci;
pub mod processes;
pub mod software;
pub mod users;

use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Local, Utc};
use deskside_protocol::{
    BiosInfo, BoardInfo, DeviceIdentity, Hardware, Inventory, OperatingSystem, SoftwareSource,
    SystemInfo, TimeZone,
};
use sysinfo::System;

/// What to collect and how.
#[derive(Debug, Clone)]
pub struct CollectOptions {
    /// File system root the Linux readers start from: `/`, or a fixture tree
    /// in tests.
    pub root: PathBuf,
    /// Package sources to scan (absent ones are skipped by themselves).
    pub software_sources: Vec<SoftwareSource>,
    /// Deadline for each helper program (rpm, flatpak, snap, ioreg).
    pub command_timeout: Duration,
}

impl Default for CollectOptions {
    fn default() -> Self {
        Self {
            root: PathBuf::from("/"),
            software_sources: software::ALL_SOURCES.to_vec(),
            command_timeout: Duration::from_secs(30),
        }
    }
}

fn non_empty<T: Default + PartialEq>(v: T) -> Option<T> {
    (v != T::default()).then_some(v)
}

/// Collects the full inventory: identity, OS, hardware and software.
pub fn collect_inventory(opts: &CollectOptions) -> Inventory {
    // Package databases are the slow part; read them while the hardware is
    // being described.
    let (software, (device, os, hardware)) = std::thread::scope(|s| {
        let sw =
            s.spawn(|| software::collect(&opts.root, &opts.software_sources, opts.command_timeout));
        let rest = collect_system(opts);
        (sw.join().unwrap_or_default(), rest)
    });
    Inventory {
        protocol_version: deskside_protocol::PROTOCOL_VERSION,
        collected_at: Utc::now(),
        agent_version: Some(crate::AGENT_VERSION.to_owned()),
        device,
        os,
        hardware,
        software,
    }
}

/// Whether a host firewall filters traffic, as the `firewall_enabled`
/// check finds it; on Linux without any firewall front-end or `nft`
/// installed, none can be active.
fn firewall_active(timeout: Duration) -> Option<bool> {
    use deskside_protocol::CheckState;
    match crate::checks::system::firewall_enabled(timeout).state {
        CheckState::Ok => Some(true),
        CheckState::Critical => Some(false),
        _ if cfg!(target_os = "linux")
            && !["ufw", "firewall-cmd", "nft", "iptables"]
                .iter()
                .any(|p| command::on_path(p)) =>
        {
            Some(false)
        }
        _ => None,
    }
}

fn long_name(root: &std::path::Path) -> Option<String> {
    #[cfg(target_os = "linux")]
    if let Some(n) = identity::os_release_pretty_name(root) {
        return Some(n);
    }
    let _ = root;
    System::long_os_version().ok().filter(|s| !s.is_empty())
}

fn collect_system(opts: &CollectOptions) -> (DeviceIdentity, OperatingSystem, Hardware) {
    let root = opts.root.as_path();

    #[cfg(target_os = "linux")]
    let (dmi, machine_id) = (dmi::read_linux(root), identity::machine_id_linux(root));
    #[cfg(windows)]
    let (dmi, machine_id) = (dmi::read_windows(), identity::machine_id_windows());
    #[cfg(target_os = "macos")]
    let (dmi, machine_id) = {
        let (facts, platform) = dmi::read_macos(opts.command_timeout);
        (facts, platform.uuid.map(|u| (u, "IOPlatformUUID")))
    };
    #[cfg(not(any(target_os = "linux", windows, target_os = "macos")))]
    let (dmi, machine_id): (dmi::DmiFacts, Option<(String, &str)>) =
        (dmi::DmiFacts::default(), None);

    #[cfg(target_os = "linux")]
    let virtualization = identity::virtualization_linux(
        root,
        dmi.system.vendor.as_deref(),
        dmi.system.model.as_deref(),
    );
    #[cfg(not(target_os = "linux"))]
    let virtualization: Option<String> = None;
    let system = SystemInfo {
        virtualization,
        ..dmi.system
    };

    let device = DeviceIdentity {
        hostname: System::host_name().ok().filter(|h| !h.is_empty()),
        device_key: machine_id.as_ref().map(|(id, _)| identity::device_key(id)),
        device_key_source: machine_id.map(|(_, src)| src.to_owned()),
        serial_number: system.serial_number.clone(),
        hardware_uuid: system.uuid.clone(),
    };

    #[cfg(unix)]
    let tz_name = identity::timezone_name_unix(root);
    #[cfg(windows)]
    let tz_name = identity::timezone_name_windows();
    #[cfg(not(any(unix, windows)))]
    let tz_name: Option<String> = None;

    #[cfg(windows)]
    let build = identity::windows_build();
    #[cfg(target_os = "macos")]
    let build = command::run("sw_vers", &["-buildVersion"], opts.command_timeout)
        .map(|s| s.trim().to_owned());
    #[cfg(not(any(windows, target_os = "macos")))]
    let build: Option<String> = None;

    #[cfg(target_os = "linux")]
    let logged_in_users = users::read_linux(root);
    #[cfg(not(target_os = "linux"))]
    let logged_in_users = None;

    let hostname = device.hostname.clone();
    #[cfg(target_os = "linux")]
    let (resolver, route, hosts) = (
        std::fs::read_to_string(root.join("etc/resolv.conf"))
            .map(|t| netconf::parse_resolv_conf(&t))
            .unwrap_or_default(),
        std::fs::read_to_string(root.join("proc/net/route"))
            .ok()
            .and_then(|t| netconf::parse_proc_route(&t)),
        std::fs::read_to_string(root.join("etc/hosts")).ok(),
    );
    #[cfg(not(target_os = "linux"))]
    let (resolver, route, hosts): (
        netconf::Resolver,
        Option<(std::net::Ipv4Addr, String)>,
        Option<String>,
    ) = (netconf::Resolver::default(), None, None);
    let fqdn = hostname
        .as_deref()
        .map(|h| netconf::fqdn(h, hosts.as_deref()));
    let dns_domain = fqdn
        .as_deref()
        .and_then(|f| f.split_once('.').map(|(_, d)| d.to_owned()))
        .or(resolver.domain);
    #[cfg(unix)]
    let (local_users, local_groups) = accounts::read_unix(root);
    #[cfg(not(unix))]
    let (local_users, local_groups) = (None, None);

    let boot_time = System::boot_time()
        .ok()
        .and_then(|t| DateTime::from_timestamp(i64::try_from(t).ok()?, 0));
    let os = OperatingSystem {
        family: Some(std::env::consts::OS.to_owned()),
        name: System::name().ok().filter(|s| !s.is_empty()),
        distribution_id: Some(System::distribution_id()).filter(|s| !s.is_empty()),
        version: System::os_version().ok().filter(|s| !s.is_empty()),
        build,
        long_name: long_name(root),
        kernel_version: System::kernel_version().ok().filter(|s| !s.is_empty()),
        architecture: Some(System::cpu_arch()).filter(|s| !s.is_empty()),
        uptime_secs: System::uptime().ok(),
        boot_time,
        timezone: tz_name.map(|name| TimeZone {
            name,
            utc_offset_secs: Some(Local::now().offset().local_minus_utc()),
        }),
        logged_in_users,
        host_id: if cfg!(unix) {
            netconf::host_id(root, hostname.as_deref())
        } else {
            None
        },
        fqdn,
        dns_domain,
        dns_servers: resolver.servers,
        default_gateway: route.as_ref().map(|(gw, _)| gw.to_string()),
        default_interface: route.map(|(_, iface)| iface),
        firewall_active: firewall_active(opts.command_timeout),
        local_users,
        local_groups,
    };

    let (cpu, memory) = hardware::cpu_and_memory(root);
    // `pci.ids` is read once: disks, GPUs and controllers are named from it.
    #[cfg(target_os = "linux")]
    let (disks, gpus, batteries, controllers) = {
        let pci_ids = pci::database(root).unwrap_or_default();
        (
            disks::read_linux(root, &pci_ids),
            gpu::read_linux(root, &pci_ids),
            battery::read_linux(root),
            pci::read_linux(root, &pci_ids),
        )
    };
    #[cfg(not(target_os = "linux"))]
    let (disks, gpus, batteries) = (Vec::new(), Vec::new(), Vec::new());
    #[cfg(not(target_os = "linux"))]
    let controllers = Vec::new();
    #[allow(unused_mut)]
    let mut network_interfaces = hardware::network_interfaces();
    #[cfg(target_os = "linux")]
    netconf::annotate_interfaces_linux(root, &mut network_interfaces);

    let hardware = Hardware {
        system: non_empty::<SystemInfo>(system),
        board: non_empty::<BoardInfo>(dmi.board),
        bios: non_empty::<BiosInfo>(dmi.bios),
        cpu,
        memory,
        disks,
        volumes: hardware::volumes(),
        network_interfaces,
        gpus,
        batteries,
        controllers,
    };
    (device, os, hardware)
}
