//! The hardware and software inventory of one device.

use std::net::IpAddr;

use chrono::{DateTime, NaiveDate, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A full inventory of one device, as collected by the agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Inventory {
    /// Wire protocol version the document was written with.
    #[serde(default = "default_protocol_version")]
    pub protocol_version: u32,
    /// When the agent collected this inventory.
    pub collected_at: DateTime<Utc>,
    /// Version of the agent that collected it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_version: Option<String>,
    /// Who the device is.
    #[serde(default)]
    pub device: DeviceIdentity,
    /// The operating system.
    #[serde(default)]
    pub os: OperatingSystem,
    /// The hardware.
    #[serde(default)]
    pub hardware: Hardware,
    /// Installed software, sorted by source, name and architecture.
    #[serde(default)]
    pub software: Vec<SoftwarePackage>,
}

fn default_protocol_version() -> u32 {
    crate::PROTOCOL_VERSION
}

/// The facts that identify a device across renames and reinstalls of the agent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DeviceIdentity {
    /// Host name as the OS reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// Stable device key: SHA-256 (hex) of the OS machine id with a
    /// Deskside-specific prefix. The raw machine id is never sent, as the OS
    /// vendors recommend.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_key: Option<String>,
    /// Where the machine id came from (`/etc/machine-id`, `MachineGuid`,
    /// `IOPlatformUUID`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_key_source: Option<String>,
    /// Hardware serial number of the system, when the firmware has a real one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial_number: Option<String>,
    /// SMBIOS system UUID, when the firmware has a real one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hardware_uuid: Option<String>,
}

/// The operating system and its session state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct OperatingSystem {
    /// Family: `linux`, `windows`, `macos`, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
    /// Distribution or product name (`Debian GNU/Linux`, `Windows`, `macOS`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Distribution identifier (`debian`, `ubuntu`, `windows`, `macos`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distribution_id: Option<String>,
    /// Release version (`12`, `11 23H2`, `14.5`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Build number where the OS has one (Windows build, macOS build).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build: Option<String>,
    /// Human-readable full name (`Debian GNU/Linux 12 (bookworm)`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub long_name: Option<String>,
    /// Kernel version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kernel_version: Option<String>,
    /// CPU architecture the OS runs on (`x86_64`, `aarch64`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub architecture: Option<String>,
    /// Seconds since boot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uptime_secs: Option<u64>,
    /// When the OS booted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boot_time: Option<DateTime<Utc>>,
    /// Configured time zone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<TimeZone>,
    /// Interactive sessions; absent when the platform cannot tell.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logged_in_users: Option<Vec<LoggedInUser>>,
    /// Fully qualified host name, from the resolver.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fqdn: Option<String>,
    /// DNS domain (the FQDN after the host name, or the resolver's
    /// `domain`/`search`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns_domain: Option<String>,
    /// The host id as `hostid` prints it (8 hex digits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_id: Option<String>,
    /// DNS servers the resolver uses.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dns_servers: Vec<String>,
    /// The default route's gateway.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_gateway: Option<String>,
    /// The interface of the default route.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_interface: Option<String>,
    /// Whether a host firewall is active (`true`), known to be off
    /// (`false`), or undetectable (absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firewall_active: Option<bool>,
    /// Local accounts; absent where the privacy settings leave user names
    /// out or the platform cannot tell.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_users: Option<Vec<LocalUser>>,
    /// Local groups that have members; absent as `local_users` is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_groups: Option<Vec<LocalGroup>>,
}

/// A local account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LocalUser {
    /// Login name.
    pub login: String,
    /// Numeric id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<u32>,
    /// Full name (the GECOS field's first part).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Home directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub home: Option<String>,
    /// Login shell.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shell: Option<String>,
}

/// A local group and its members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LocalGroup {
    /// Group name.
    pub name: String,
    /// Numeric id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<u32>,
    /// Member logins.
    #[serde(default)]
    pub members: Vec<String>,
}

/// A time zone with its current offset from UTC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TimeZone {
    /// IANA name (`Europe/Paris`) or the platform's name for it.
    pub name: String,
    /// Current offset from UTC in seconds (east positive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utc_offset_secs: Option<i32>,
}

/// One interactive login session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LoggedInUser {
    /// Login name.
    pub name: String,
    /// Terminal or seat (`tty1`, `pts/0`, `:0`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terminal: Option<String>,
    /// Remote host for remote sessions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// When the session started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<DateTime<Utc>>,
}

/// The hardware of a device.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Hardware {
    /// System facts from DMI/SMBIOS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<SystemInfo>,
    /// Main board facts from DMI/SMBIOS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub board: Option<BoardInfo>,
    /// Firmware facts from DMI/SMBIOS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bios: Option<BiosInfo>,
    /// Processor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<Cpu>,
    /// Memory and swap totals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<Memory>,
    /// Physical disks.
    #[serde(default)]
    pub disks: Vec<Disk>,
    /// Mounted file systems.
    #[serde(default)]
    pub volumes: Vec<Volume>,
    /// Network interfaces.
    #[serde(default)]
    pub network_interfaces: Vec<NetworkInterface>,
    /// Graphics adapters.
    #[serde(default)]
    pub gpus: Vec<Gpu>,
    /// Batteries (empty on machines without one).
    #[serde(default)]
    pub batteries: Vec<Battery>,
    /// PCI devices (controllers), named from the `pci.ids` database.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub controllers: Vec<Controller>,
}

/// A PCI device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Controller {
    /// Bus address (`00:02.0`).
    pub pci_slot: String,
    /// Vendor id, 4 hex digits.
    pub vendor_id: String,
    /// Device id, 4 hex digits.
    pub device_id: String,
    /// Subsystem `vendor:device`, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subsystem_id: Option<String>,
    /// Class code, 4 hex digits (`0106`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class_code: Option<String>,
    /// Class name (`SATA controller`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class_name: Option<String>,
    /// Vendor name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor: Option<String>,
    /// Device name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Revision, 2 hex digits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// Kernel driver.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
}

/// System facts from DMI/SMBIOS.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SystemInfo {
    /// Manufacturer (`Dell Inc.`, `LENOVO`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor: Option<String>,
    /// Product name (`XPS 13 9350`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Product version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Product family.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
    /// Stock-keeping unit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sku: Option<String>,
    /// Serial number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial_number: Option<String>,
    /// SMBIOS UUID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uuid: Option<String>,
    /// Chassis type as named by SMBIOS (`Notebook`, `Desktop`, `Server`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chassis_type: Option<String>,
    /// Virtualization the OS runs under (`kvm`, `vmware`, `docker`, …);
    /// absent on bare metal or when unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub virtualization: Option<String>,
}

/// Main board facts from DMI/SMBIOS.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct BoardInfo {
    /// Manufacturer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor: Option<String>,
    /// Board name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Board version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Board serial number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial_number: Option<String>,
}

/// Firmware facts from DMI/SMBIOS.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct BiosInfo {
    /// Firmware vendor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor: Option<String>,
    /// Firmware version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Firmware release date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_date: Option<NaiveDate>,
}

/// The processor package(s).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Cpu {
    /// Marketing name (`Intel(R) Core(TM) i7-8650U CPU @ 1.90GHz`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub brand: Option<String>,
    /// Vendor id (`GenuineIntel`, `AuthenticAMD`, `Apple`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor: Option<String>,
    /// Physical cores.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub physical_cores: Option<u32>,
    /// Logical processors (hardware threads).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logical_cores: Option<u32>,
    /// Frequency in MHz: the maximum where the OS knows it, otherwise the
    /// current one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frequency_mhz: Option<u64>,
}

/// Memory and swap totals.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Memory {
    /// Physical memory in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_bytes: Option<u64>,
    /// Swap in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub swap_total_bytes: Option<u64>,
}

/// What a storage device is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DiskKind {
    /// Solid-state drive (no rotating media).
    Ssd,
    /// Rotating hard disk.
    Hdd,
    /// Anything else, or unknown.
    #[serde(other)]
    Unknown,
}

/// A physical (or virtual-machine) disk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Disk {
    /// Device name (`sda`, `nvme0n1`, `\\.\PHYSICALDRIVE0`, `disk0`).
    pub name: String,
    /// Model string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Vendor string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor: Option<String>,
    /// Serial number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial_number: Option<String>,
    /// SSD or HDD.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<DiskKind>,
    /// Whether the medium is removable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub removable: Option<bool>,
    /// Size in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_bytes: Option<u64>,
    /// Bus (`nvme`, `sata`, `usb`, `virtio`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interface: Option<String>,
}

/// A mounted file system.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Volume {
    /// Mount point (`/`, `C:\`).
    pub mount_point: String,
    /// Backing device (`/dev/vda1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    /// File system type (`ext4`, `NTFS`, `apfs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_system: Option<String>,
    /// Size in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_bytes: Option<u64>,
    /// Space available to unprivileged users, in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub free_bytes: Option<u64>,
    /// Whether the medium is removable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub removable: Option<bool>,
    /// Whether it is mounted read-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
}

/// An IP address with its prefix length.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct IpAddressInfo {
    /// The address.
    pub address: IpAddr,
    /// Network prefix length (24 for a /24).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<u8>,
}

/// A network interface.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct NetworkInterface {
    /// Interface name (`eth0`, `en0`, `Ethernet`).
    pub name: String,
    /// MAC address, lower-case colon-separated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac_address: Option<String>,
    /// IPv4 addresses.
    #[serde(default)]
    pub ipv4: Vec<IpAddressInfo>,
    /// IPv6 addresses.
    #[serde(default)]
    pub ipv6: Vec<IpAddressInfo>,
    /// Whether the interface can pass packets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub up: Option<bool>,
    /// Maximum transmission unit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtu: Option<u64>,
    /// Link speed in Mbit/s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speed_mbps: Option<u64>,
    /// Whether this is a loopback interface.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loopback: Option<bool>,
    /// Whether the interface is virtual (no hardware device behind it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub virtual_device: Option<bool>,
    /// Kernel driver.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    /// Wireless (Wi-Fi) interface.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wireless: Option<bool>,
}

/// A graphics adapter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Gpu {
    /// Device name (`TU117M [GeForce GTX 1650 Mobile]`), or the PCI id when
    /// no name database is available.
    pub name: String,
    /// Vendor name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor: Option<String>,
    /// PCI vendor id, 4 hex digits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pci_vendor_id: Option<String>,
    /// PCI device id, 4 hex digits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pci_device_id: Option<String>,
    /// PCI slot (`0000:00:02.0`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pci_slot: Option<String>,
    /// Kernel driver in use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
}

/// Charging state of a battery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum BatteryStatus {
    /// Charging.
    Charging,
    /// Discharging.
    Discharging,
    /// Plugged in, not charging (often: charge threshold reached).
    NotCharging,
    /// Full.
    Full,
    /// Anything else, or unknown.
    #[serde(other)]
    Unknown,
}

/// A battery and its wear.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Battery {
    /// Name as the OS knows it (`BAT0`).
    pub name: String,
    /// Manufacturer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manufacturer: Option<String>,
    /// Model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Serial number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial_number: Option<String>,
    /// Chemistry (`Li-ion`, `Li-poly`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub technology: Option<String>,
    /// Capacity when new, in mWh.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub design_capacity_mwh: Option<u64>,
    /// Capacity when fully charged today, in mWh.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_capacity_mwh: Option<u64>,
    /// Full capacity as a percentage of design capacity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_percent: Option<f32>,
    /// Charge cycles so far.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cycle_count: Option<u32>,
    /// Charging state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<BatteryStatus>,
    /// Current charge in percent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub charge_percent: Option<f32>,
    /// Design minimum voltage in mV.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voltage_mv: Option<u64>,
}

/// Where a package was found.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum SoftwareSource {
    /// Debian package database.
    Dpkg,
    /// RPM database.
    Rpm,
    /// Flatpak application or runtime.
    Flatpak,
    /// Snap package.
    Snap,
    /// Windows `Uninstall` registry key.
    WindowsRegistry,
    /// macOS application bundle.
    MacosApplication,
    /// macOS installer package receipt.
    MacosPackage,
    /// A source this version of the protocol does not know.
    #[serde(other)]
    Other,
}

impl SoftwareSource {
    /// Every source this protocol version knows (all but `Other`).
    pub const KNOWN: [SoftwareSource; 7] = [
        Self::Dpkg,
        Self::Rpm,
        Self::Flatpak,
        Self::Snap,
        Self::WindowsRegistry,
        Self::MacosApplication,
        Self::MacosPackage,
    ];

    /// The `snake_case` name used on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Dpkg => "dpkg",
            Self::Rpm => "rpm",
            Self::Flatpak => "flatpak",
            Self::Snap => "snap",
            Self::WindowsRegistry => "windows_registry",
            Self::MacosApplication => "macos_application",
            Self::MacosPackage => "macos_package",
            Self::Other => "other",
        }
    }
}

/// One installed package or application.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SoftwarePackage {
    /// Package or display name.
    pub name: String,
    /// Where it was found.
    pub source: SoftwareSource,
    /// Version string as the package manager spells it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Architecture (`amd64`, `x86_64`, `noarch`, `x64`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub architecture: Option<String>,
    /// Publisher, vendor or maintainer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publisher: Option<String>,
    /// When it was installed (or last upgraded, where that is all the
    /// package manager records).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub install_date: Option<DateTime<Utc>>,
    /// Installed size in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_bytes: Option<u64>,
    /// Source-specific identifier (bundle id, flatpak ref, registry key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identifier: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimal_document_parses_and_unknown_fields_are_ignored() {
        let inv: Inventory = serde_json::from_str(
            r#"{"collected_at":"2026-01-02T03:04:05Z","from_the_future":{"x":1},
                "software":[{"name":"a","source":"nix","version":"1"}]}"#,
        )
        .unwrap();
        assert_eq!(inv.protocol_version, crate::PROTOCOL_VERSION);
        assert!(inv.device.hostname.is_none());
        assert_eq!(inv.software[0].source, SoftwareSource::Other);
    }

    #[test]
    fn absent_values_are_not_serialized() {
        let inv = Inventory {
            protocol_version: 1,
            collected_at: "2026-01-02T03:04:05Z".parse().unwrap(),
            agent_version: None,
            device: DeviceIdentity::default(),
            os: OperatingSystem::default(),
            hardware: Hardware::default(),
            software: vec![],
        };
        let json = serde_json::to_string(&inv).unwrap();
        assert!(!json.contains("null"), "{json}");
        assert!(
            json.contains(r#""collected_at":"2026-01-02T03:04:05Z""#),
            "{json}"
        );
    }

    #[test]
    fn source_names_match_serde() {
        for s in SoftwareSource::KNOWN
            .into_iter()
            .chain([SoftwareSource::Other])
        {
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
    }
}
