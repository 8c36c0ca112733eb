//! Conversion to GLPI's native inventory format (the JSON that GLPI agents
//! send to `/front/inventory.php`), so Deskside can feed an existing GLPI
//! server: the agent exports its own (`deskside-agent inventory --format
//! glpi`) and the desk exports any device's stored inventory, with the same
//! code. Field meanings follow glpi-project/inventory_format: sizes in
//! MB, dates as `YYYY-MM-DD HH:MM:SS`, one entry per network address.

use std::net::{IpAddr, Ipv4Addr};

use crate::{Inventory, NetworkInterface, SoftwareSource};
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Map, Value, json};

const MB: u64 = 1024 * 1024;

fn datetime(d: &DateTime<Utc>) -> String {
    d.format("%Y-%m-%d %H:%M:%S").to_string()
}

fn date(d: &NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// Builds a JSON object from `(key, value)` pairs, leaving out absent ones,
/// so that no `null` reaches GLPI (its schema has no nullable fields).
fn object<const N: usize>(pairs: [(&str, Option<Value>); N]) -> Value {
    Value::Object(
        pairs
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k.to_owned(), v)))
            .collect::<Map<String, Value>>(),
    )
}

fn s(v: Option<&String>) -> Option<Value> {
    v.map(|v| Value::String(v.clone()))
}

fn mb(v: Option<u64>) -> Option<Value> {
    v.map(|b| json!(b / MB))
}

fn ipv4_mask(prefix: u8) -> Ipv4Addr {
    let bits = if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(prefix.min(32)))
    };
    Ipv4Addr::from(bits)
}

/// An IPv6 prefix length as the mask GLPI and FusionInventory write
/// (`ffff:ffff:ffff:ffff::` for /64).
fn ipv6_mask(prefix: u8) -> std::net::Ipv6Addr {
    let bits = if prefix == 0 {
        0
    } else {
        u128::MAX << (128 - u32::from(prefix.min(128)))
    };
    std::net::Ipv6Addr::from(bits)
}

/// Disk sizes in decimal megabytes, as GLPI's schema and its example
/// (a 250 GB disk is `250059`) have them.
fn decimal_mb(v: Option<u64>) -> Option<Value> {
    v.map(|b| json!(b / 1_000_000))
}

/// CPU vendor as GLPI shows it (`Intel`, `AMD`), not the CPUID string.
fn cpu_manufacturer(vendor: &str) -> String {
    match vendor {
        "GenuineIntel" => "Intel".into(),
        "AuthenticAMD" | "AMDisbetter!" => "AMD".into(),
        "CentaurHauls" => "VIA".into(),
        "HygonGenuine" => "Hygon".into(),
        v if v.starts_with("Apple") => "Apple".into(),
        v => v.to_owned(),
    }
}

/// The virtualization name as GLPI's examples and FusionInventory spell
/// it (`Physical`, `VMware`, `KVM`, `QEMU`, `VirtualBox`, `Xen`, `Hyper-V`,
/// `Docker`, `lxc`).
fn vmsystem(v: Option<&str>) -> String {
    match v {
        None => "Physical",
        Some("vmware") => "VMware",
        Some("virtualbox") => "VirtualBox",
        Some("qemu") => "QEMU",
        Some("kvm") => "KVM",
        Some("bochs") => "Bochs",
        Some("parallels") => "Parallels",
        Some("xen") => "Xen",
        Some("microsoft" | "hyperv" | "hyper-v") => "Hyper-V",
        Some("amazon") => "Amazon EC2",
        Some("google") => "Google Compute Engine",
        Some("docker") => "Docker",
        Some("lxc") => "lxc",
        Some("podman") => "Podman",
        Some("wsl") => "WSL",
        Some("vm") => "Virtual Machine",
        Some(other) => return other.to_owned(),
    }
    .to_owned()
}

fn software_from(source: SoftwareSource) -> &'static str {
    match source {
        SoftwareSource::Dpkg => "deb",
        SoftwareSource::Rpm => "rpm",
        SoftwareSource::Flatpak => "flatpak",
        SoftwareSource::Snap => "snap",
        SoftwareSource::WindowsRegistry => "registry",
        SoftwareSource::MacosApplication => "app",
        SoftwareSource::MacosPackage => "pkg",
        SoftwareSource::Other => "other",
    }
}

/// GLPI only accepts these CPU architecture spellings.
fn glpi_cpu_arch(arch: &str) -> Option<&'static str> {
    Some(match arch {
        "x86_64" | "amd64" | "x64" => "x86_64",
        "aarch64" | "arm64" => "aarch64",
        "i386" | "i686" | "x86" => "i686",
        "arm" | "armv7" | "armv7l" => "arm",
        "powerpc64" | "ppc64" | "ppc64le" => "powerpc64",
        _ => return None,
    })
}

fn network_type(i: &NetworkInterface) -> Option<&'static str> {
    let n = i.name.as_str();
    if i.loopback == Some(true) {
        Some("loopback")
    } else if i.wireless == Some(true) || n.starts_with("wl") || n.starts_with("Wi-Fi") {
        Some("wifi")
    } else if n.starts_with("br") || n.starts_with("virbr") || n.starts_with("docker") {
        Some("bridge")
    } else if i.virtual_device == Some(false) {
        // A physical, non-wireless interface.
        Some("ethernet")
    } else {
        None
    }
}

fn networks(inv: &Inventory) -> Vec<Value> {
    let mut out = Vec::new();
    for i in &inv.hardware.network_interfaces {
        let base = |ip4: Option<(&IpAddr, Option<u8>)>, ip6: Option<(&IpAddr, Option<u8>)>| {
            let (ipaddress, ipmask, ipsubnet) = match ip4 {
                Some((IpAddr::V4(a), prefix)) => {
                    let mask = prefix.map(ipv4_mask);
                    let subnet = mask.map(|m| Ipv4Addr::from(u32::from(*a) & u32::from(m)));
                    (
                        Some(json!(a.to_string())),
                        mask.map(|m| json!(m.to_string())),
                        subnet.map(|s| json!(s.to_string())),
                    )
                }
                _ => (None, None, None),
            };
            let gateway = (inv.os.default_interface.as_deref() == Some(i.name.as_str())
                && ipaddress.is_some())
            .then(|| s(inv.os.default_gateway.as_ref()))
            .flatten();
            object([
                ("description", Some(json!(i.name))),
                ("mac", s(i.mac_address.as_ref())),
                ("driver", s(i.driver.as_ref())),
                ("virtualdev", i.virtual_device.map(|v| json!(v))),
                ("ipgateway", gateway),
                ("status", i.up.map(|u| json!(if u { "up" } else { "down" }))),
                ("type", network_type(i).map(|t| json!(t))),
                ("mtu", i.mtu.map(|m| json!(m))),
                ("speed", i.speed_mbps.map(|m| json!(m.to_string()))),
                ("ipaddress", ipaddress),
                ("ipmask", ipmask),
                ("ipsubnet", ipsubnet),
                ("ipaddress6", ip6.map(|(a, _)| json!(a.to_string()))),
                (
                    "ipmask6",
                    ip6.and_then(|(_, p)| p)
                        .map(|p| json!(ipv6_mask(p).to_string())),
                ),
            ])
        };
        let v4: Vec<_> = i.ipv4.iter().map(|a| (&a.address, a.prefix)).collect();
        let v6: Vec<_> = i.ipv6.iter().map(|a| (&a.address, a.prefix)).collect();
        if v4.is_empty() && v6.is_empty() {
            out.push(base(None, None));
        }
        out.extend(v4.into_iter().map(|a| base(Some(a), None)));
        out.extend(v6.into_iter().map(|a| base(None, Some(a))));
    }
    out
}

/// The GLPI agent id: stable per device, like the id a GLPI agent keeps.
pub fn device_id(inv: &Inventory) -> String {
    let host = inv.device.hostname.as_deref().unwrap_or("deskside");
    match inv.device.device_key.as_deref() {
        Some(k) => format!("{host}-{}", &k[..k.len().min(12)]),
        None => host.to_owned(),
    }
}

/// What a GLPI document may hold beyond the inventory: things that change
/// by the second (processes) or hold secrets (environment variables), so
/// they are never part of the inventory the desk keeps. Collected only for
/// an export, and only as the privacy settings and configuration allow.
#[derive(Debug, Clone, Default)]
pub struct GlpiExtras {
    /// Running processes (empty when the process list is private).
    pub processes: Vec<GlpiProcess>,
    /// The agent's environment (empty unless configured: it holds secrets).
    pub environment: Vec<(String, String)>,
}

/// A running process as GLPI lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct GlpiProcess {
    /// Process id.
    pub pid: u32,
    /// Owner's login (or uid).
    pub user: String,
    /// Command line.
    pub cmd: String,
    /// CPU time over its lifetime, as `ps` shows `%CPU`.
    pub cpu_percent: f64,
    /// Resident memory as a share of the total.
    pub memory_percent: f64,
    /// Virtual memory in KiB.
    pub virtual_kib: u64,
    /// When it started.
    pub started: Option<DateTime<Utc>>,
    /// Controlling terminal.
    pub tty: Option<String>,
}

/// Converts an inventory to a GLPI native inventory document.
pub fn to_glpi(inv: &Inventory) -> Value {
    to_glpi_with(inv, &GlpiExtras::default())
}

/// [`to_glpi`] with the export-only sections.
pub fn to_glpi_with(inv: &Inventory, extras: &GlpiExtras) -> Value {
    let hw = &inv.hardware;
    let os = &inv.os;
    let system = hw.system.clone().unwrap_or_default();
    let board = hw.board.clone().unwrap_or_default();
    let bios = hw.bios.clone().unwrap_or_default();

    let hardware = object([
        ("name", s(inv.device.hostname.as_ref())),
        ("uuid", s(system.uuid.as_ref())),
        ("memory", mb(hw.memory.as_ref().and_then(|m| m.total_bytes))),
        (
            "swap",
            mb(hw.memory.as_ref().and_then(|m| m.swap_total_bytes)),
        ),
        ("chassis_type", s(system.chassis_type.as_ref())),
        (
            "vmsystem",
            Some(json!(vmsystem(system.virtualization.as_deref()))),
        ),
        (
            "dns",
            (!os.dns_servers.is_empty()).then(|| json!(os.dns_servers.join("/"))),
        ),
        ("defaultgateway", s(os.default_gateway.as_ref())),
        // FusionInventory's legacy hardware fields, which GLPI still reads.
        ("osname", s(os.long_name.as_ref().or(os.name.as_ref()))),
        // FusionInventory's OSVERSION is the kernel release.
        ("osversion", s(os.kernel_version.as_ref())),
        // One processor description per machine: the inventory has one.
        ("processorn", hw.cpu.as_ref().map(|_| json!(1))),
        (
            "processort",
            s(hw.cpu.as_ref().and_then(|c| c.brand.as_ref())),
        ),
        (
            "processors",
            hw.cpu
                .as_ref()
                .and_then(|c| c.frequency_mhz)
                .map(|f| json!(f)),
        ),
        ("ipaddr", {
            let v4: Vec<String> = hw
                .network_interfaces
                .iter()
                .filter(|i| i.loopback != Some(true))
                .flat_map(|i| i.ipv4.iter().map(|a| a.address.to_string()))
                .collect();
            (!v4.is_empty()).then(|| json!(v4.join("/")))
        }),
        (
            "lastloggeduser",
            os.logged_in_users
                .as_ref()
                .and_then(|u| u.last())
                .map(|u| json!(u.name)),
        ),
    ]);
    let operatingsystem = object([
        ("name", s(os.name.as_ref())),
        ("version", s(os.version.as_ref())),
        ("full_name", s(os.long_name.as_ref())),
        ("kernel_name", os.family.as_deref().map(|f| json!(if f == "windows" { "MSWin32" } else { f }))),
        ("kernel_version", s(os.kernel_version.as_ref())),
        ("arch", s(os.architecture.as_ref())),
        ("boot_time", os.boot_time.as_ref().map(|t| json!(datetime(t)))),
        ("service_pack", s(os.build.as_ref())),
        ("fqdn", s(os.fqdn.as_ref())),
        ("dns_domain", s(os.dns_domain.as_ref())),
        ("hostid", s(os.host_id.as_ref())),
        (
            "timezone",
            os.timezone.as_ref().map(|tz| {
                let off = tz.utc_offset_secs.unwrap_or(0);
                let sign = if off < 0 { '-' } else { '+' };
                let a = off.unsigned_abs();
                json!({"name": tz.name, "offset": format!("{sign}{:02}{:02}", a / 3600, (a % 3600) / 60)})
            }),
        ),
    ]);
    let bios = object([
        ("bdate", bios.release_date.as_ref().map(|d| json!(date(d)))),
        ("bmanufacturer", s(bios.vendor.as_ref())),
        ("bversion", s(bios.version.as_ref())),
        ("mmanufacturer", s(board.vendor.as_ref())),
        ("mmodel", s(board.model.as_ref())),
        ("msn", s(board.serial_number.as_ref())),
        ("smanufacturer", s(system.vendor.as_ref())),
        ("smodel", s(system.model.as_ref())),
        ("ssn", s(system.serial_number.as_ref())),
        ("skunumber", s(system.sku.as_ref())),
    ]);
    let cpus: Vec<Value> = hw
        .cpu
        .iter()
        .map(|c| {
            object([
                ("name", s(c.brand.as_ref())),
                (
                    "manufacturer",
                    c.vendor.as_deref().map(|v| json!(cpu_manufacturer(v))),
                ),
                ("core", c.physical_cores.map(|n| json!(n))),
                // The processor's threads in all (GLPI's nbthreads), as
                // FusionInventory counts them.
                ("thread", c.logical_cores.map(|n| json!(n))),
                ("speed", c.frequency_mhz.map(|f| json!(f))),
                (
                    "arch",
                    os.architecture
                        .as_deref()
                        .and_then(glpi_cpu_arch)
                        .map(|a| json!(a)),
                ),
            ])
        })
        .collect();
    let storages: Vec<Value> = hw
        .disks
        .iter()
        .map(|d| {
            object([
                ("name", Some(json!(d.name))),
                ("model", s(d.model.as_ref())),
                ("manufacturer", s(d.vendor.as_ref())),
                ("serial", s(d.serial_number.as_ref())),
                ("disksize", decimal_mb(d.size_bytes)),
                (
                    "interface",
                    d.interface
                        .as_deref()
                        .map(|i| json!(i.to_ascii_uppercase())),
                ),
                (
                    "type",
                    Some(json!(if d.removable == Some(true) {
                        "removable"
                    } else {
                        "disk"
                    })),
                ),
            ])
        })
        .collect();
    let drives: Vec<Value> = hw
        .volumes
        .iter()
        .map(|v| {
            let windows_letter = (v.mount_point.len() <= 3
                && v.mount_point.chars().nth(1) == Some(':'))
            .then(|| json!(&v.mount_point[..2]));
            object([
                ("type", Some(json!(v.mount_point))),
                ("letter", windows_letter),
                ("volumn", s(v.device.as_ref())),
                ("filesystem", s(v.file_system.as_ref())),
                ("total", mb(v.total_bytes)),
                ("free", mb(v.free_bytes)),
            ])
        })
        .collect();
    let videos: Vec<Value> = hw
        .gpus
        .iter()
        .map(|g| {
            object([
                ("name", Some(json!(g.name))),
                ("chipset", s(g.vendor.as_ref())),
                ("pcislot", s(g.pci_slot.as_ref())),
            ])
        })
        .collect();
    let batteries: Vec<Value> = hw
        .batteries
        .iter()
        .map(|b| {
            object([
                ("name", Some(json!(b.model.as_deref().unwrap_or(&b.name)))),
                ("manufacturer", s(b.manufacturer.as_ref())),
                ("serial", s(b.serial_number.as_ref())),
                ("chemistry", s(b.technology.as_ref())),
                ("capacity", b.design_capacity_mwh.map(|c| json!(c))),
                ("real_capacity", b.full_capacity_mwh.map(|c| json!(c))),
                ("voltage", b.voltage_mv.map(|v| json!(v))),
            ])
        })
        .collect();
    let softwares: Vec<Value> = inv
        .software
        .iter()
        .map(|p| {
            object([
                ("name", Some(json!(p.name))),
                ("version", s(p.version.as_ref())),
                ("arch", s(p.architecture.as_ref())),
                ("publisher", s(p.publisher.as_ref())),
                ("filesize", p.size_bytes.map(|b| json!(b))),
                (
                    "install_date",
                    p.install_date.as_ref().map(|d| json!(datetime(d))),
                ),
                ("from", Some(json!(software_from(p.source)))),
                (
                    "guid",
                    (p.source == SoftwareSource::WindowsRegistry)
                        .then(|| s(p.identifier.as_ref()))
                        .flatten(),
                ),
            ])
        })
        .collect();
    let controllers: Vec<Value> = hw
        .controllers
        .iter()
        .map(|c| {
            object([
                (
                    "name",
                    s(c.name.as_ref().or(c.class_name.as_ref()))
                        .or_else(|| Some(json!(format!("{}:{}", c.vendor_id, c.device_id)))),
                ),
                ("caption", s(c.name.as_ref())),
                ("manufacturer", s(c.vendor.as_ref())),
                ("type", s(c.class_name.as_ref())),
                ("pciclass", s(c.class_code.as_ref())),
                ("pcislot", Some(json!(c.pci_slot))),
                ("vendorid", Some(json!(c.vendor_id))),
                ("productid", Some(json!(c.device_id))),
                ("pcisubsystemid", s(c.subsystem_id.as_ref())),
                ("rev", s(c.revision.as_ref())),
                ("driver", s(c.driver.as_ref())),
            ])
        })
        .collect();
    let firewalls: Vec<Value> = os
        .firewall_active
        .map(|on| json!({"status": if on { "on" } else { "off" }}))
        .into_iter()
        .collect();
    let local_users: Vec<Value> = os
        .local_users
        .iter()
        .flatten()
        .map(|u| {
            object([
                ("login", Some(json!(u.login))),
                // GLPI requires an id; an account without one gets "".
                (
                    "id",
                    Some(json!(u.id.map(|i| i.to_string()).unwrap_or_default())),
                ),
                ("name", s(u.name.as_ref())),
                ("home", s(u.home.as_ref())),
                ("shell", s(u.shell.as_ref())),
            ])
        })
        .collect();
    let local_groups: Vec<Value> = os
        .local_groups
        .iter()
        .flatten()
        .map(|g| {
            json!({
                "name": g.name,
                "id": g.id.map(|i| i.to_string()).unwrap_or_default(),
                "members": g.members,
            })
        })
        .collect();
    let processes: Vec<Value> = extras
        .processes
        .iter()
        .map(|p| {
            object([
                ("pid", Some(json!(p.pid))),
                ("user", Some(json!(p.user))),
                ("cmd", Some(json!(p.cmd))),
                ("cpuusage", Some(json!(format!("{:.1}", p.cpu_percent)))),
                ("mem", Some(json!(format!("{:.1}", p.memory_percent)))),
                ("virtualmemory", Some(json!(p.virtual_kib))),
                ("started", p.started.as_ref().map(|t| json!(datetime(t)))),
                ("tty", s(p.tty.as_ref())),
            ])
        })
        .collect();
    let envs: Vec<Value> = extras
        .environment
        .iter()
        .map(|(k, v)| json!({"key": k, "val": v}))
        .collect();
    let users: Vec<Value> = os
        .logged_in_users
        .iter()
        .flatten()
        .map(|u| json!({"login": u.name}))
        .collect();

    // The agent that collected the inventory, wherever it is exported.
    let agent_version = inv.agent_version.as_deref().unwrap_or("unknown");
    let mut content = Map::new();
    content.insert(
        "versionclient".into(),
        json!(format!("Deskside-Agent_v{agent_version}")),
    );
    content.insert(
        "versionprovider".into(),
        json!({
            "name": "Deskside",
            "version": agent_version,
            "comments": [format!("Platform  : {}", [
                os.name.as_deref(),
                os.kernel_version.as_deref(),
                os.architecture.as_deref(),
            ].into_iter().flatten().collect::<Vec<_>>().join(" "))],
        }),
    );
    content.insert(
        "accesslog".into(),
        json!({"logdate": datetime(&inv.collected_at)}),
    );
    for (key, section) in [
        ("hardware", hardware),
        ("operatingsystem", operatingsystem),
        ("bios", bios),
    ] {
        if section.as_object().is_some_and(|o| !o.is_empty()) {
            content.insert(key.into(), section);
        }
    }
    for (key, list) in [
        ("cpus", cpus),
        ("storages", storages),
        ("drives", drives),
        ("networks", networks(inv)),
        ("videos", videos),
        ("batteries", batteries),
        ("softwares", softwares),
        ("users", users),
        ("controllers", controllers),
        ("firewalls", firewalls),
        ("local_users", local_users),
        ("local_groups", local_groups),
        ("processes", processes),
        ("envs", envs),
    ] {
        if !list.is_empty() {
            content.insert(key.into(), Value::Array(list));
        }
    }
    json!({
        "deviceid": device_id(inv),
        "itemtype": "Computer",
        "action": "inventory",
        "content": content,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_in_glpi_conventions() {
        assert_eq!(ipv6_mask(64).to_string(), "ffff:ffff:ffff:ffff::");
        assert_eq!(
            ipv6_mask(128).to_string(),
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"
        );
        assert_eq!(ipv6_mask(0).to_string(), "::");
        assert_eq!(decimal_mb(Some(250_059_350_016)), Some(json!(250_059)));
        assert_eq!(cpu_manufacturer("AuthenticAMD"), "AMD");
        assert_eq!(cpu_manufacturer("GenuineIntel"), "Intel");
        assert_eq!(vmsystem(Some("kvm")), "KVM");
        assert_eq!(vmsystem(Some("vmware")), "VMware");
        assert_eq!(vmsystem(Some("docker")), "Docker");
        assert_eq!(vmsystem(None), "Physical");
    }

    #[test]
    fn masks_and_ids() {
        assert_eq!(ipv4_mask(24).to_string(), "255.255.255.0");
        assert_eq!(ipv4_mask(0).to_string(), "0.0.0.0");
        assert_eq!(ipv4_mask(32).to_string(), "255.255.255.255");
        let mut inv: Inventory =
            serde_json::from_str(r#"{"collected_at":"2026-01-01T00:00:00Z"}"#).unwrap();
        assert_eq!(device_id(&inv), "deskside");
        inv.device.hostname = Some("pc1".into());
        inv.device.device_key = Some("abcdef0123456789".into());
        assert_eq!(device_id(&inv), "pc1-abcdef012345");
    }
}
