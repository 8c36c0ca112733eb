//! Change detection: the stable inventory hash and the diff of two
//! inventories.
//!
//! Both live here because agent and server must compute them identically:
//! the agent sends only the hash when nothing changed, and the server keeps a
//! history of diffs rather than endless full copies.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::inventory::{Inventory, SoftwarePackage, SoftwareSource};

/// Interface name prefixes of links that container runtimes and hypervisors
/// create and destroy all the time; they say nothing about the machine.
const EPHEMERAL_INTERFACE_PREFIXES: &[&str] = &["veth", "tap", "vnet", "tun", "cali", "lxc"];

/// Fields that change without the machine changing: counters, free space,
/// addresses that come and go, charge levels. Paths are relative to the
/// section they are listed under.
const VOLATILE_TOP: &[&str] = &["collected_at", "agent_version", "protocol_version"];
const VOLATILE_OS: &[&str] = &["uptime_secs", "boot_time", "logged_in_users"];
const VOLATILE_VOLUME: &[&str] = &["free_bytes"];
const VOLATILE_INTERFACE: &[&str] = &["ipv4", "ipv6", "up", "speed_mbps"];
const VOLATILE_BATTERY: &[&str] = &[
    "status",
    "charge_percent",
    "cycle_count",
    "full_capacity_mwh",
    "health_percent",
];

/// The inventory with every volatile field removed, as a JSON value: what the
/// hash covers and what the hardware diff compares.
pub fn stable_view(inventory: &Inventory) -> Value {
    let mut v = serde_json::to_value(inventory).unwrap_or(Value::Null);
    let Some(top) = v.as_object_mut() else {
        return v;
    };
    for k in VOLATILE_TOP {
        top.remove(*k);
    }
    if let Some(os) = top.get_mut("os").and_then(Value::as_object_mut) {
        for k in VOLATILE_OS {
            os.remove(*k);
        }
        // The offset moves with daylight saving time; the zone name does not.
        if let Some(tz) = os.get_mut("timezone").and_then(Value::as_object_mut) {
            tz.remove("utc_offset_secs");
        }
    }
    if let Some(hw) = top.get_mut("hardware").and_then(Value::as_object_mut) {
        if let Some(cpu) = hw.get_mut("cpu").and_then(Value::as_object_mut) {
            cpu.remove("frequency_mhz");
        }
        if let Some(vols) = hw.get_mut("volumes").and_then(Value::as_array_mut) {
            // Removable media come and go with the user's USB sticks.
            vols.retain(|v| v.get("removable") != Some(&Value::Bool(true)));
            strip_each(vols, VOLATILE_VOLUME);
        }
        if let Some(ifs) = hw
            .get_mut("network_interfaces")
            .and_then(Value::as_array_mut)
        {
            ifs.retain(|i| {
                let name = i.get("name").and_then(Value::as_str).unwrap_or_default();
                !EPHEMERAL_INTERFACE_PREFIXES
                    .iter()
                    .any(|p| name.starts_with(p))
            });
            strip_each(ifs, VOLATILE_INTERFACE);
        }
        if let Some(bats) = hw.get_mut("batteries").and_then(Value::as_array_mut) {
            strip_each(bats, VOLATILE_BATTERY);
        }
    }
    if let Some(sw) = top.get_mut("software").and_then(Value::as_array_mut) {
        // A reinstall of the same version is not a change worth an upload.
        strip_each(sw, &["install_date"]);
    }
    v
}

fn strip_each(items: &mut [Value], fields: &[&str]) {
    for item in items {
        if let Some(o) = item.as_object_mut() {
            for f in fields {
                o.remove(*f);
            }
        }
    }
}

/// SHA-256 (hex) of the canonical JSON of [`stable_view`]: equal for two
/// inventories of an unchanged machine, different when hardware, OS or
/// software changed.
pub fn inventory_hash(inventory: &Inventory) -> String {
    let mut canonical = String::new();
    write_canonical(&stable_view(inventory), &mut canonical);
    let digest = Sha256::digest(canonical.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// JSON with object keys sorted, so the bytes do not depend on how a map
/// happens to be ordered in memory.
fn write_canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(map) => {
            out.push('{');
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                write_canonical(&map[k], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// A package named in a diff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SoftwareRef {
    /// Package name.
    pub name: String,
    /// Where it was found.
    pub source: SoftwareSource,
    /// Architecture.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub architecture: Option<String>,
    /// Version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// Direction of a version change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SoftwareChangeKind {
    /// The new version sorts after the old one.
    Upgraded,
    /// The new version sorts before the old one.
    Downgraded,
    /// The versions differ but compare equal (e.g. only leading zeros differ),
    /// or one side has no version.
    #[serde(other)]
    Changed,
}

/// A package whose version changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SoftwareChange {
    /// Package name.
    pub name: String,
    /// Where it was found.
    pub source: SoftwareSource,
    /// Architecture.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub architecture: Option<String>,
    /// Version before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old_version: Option<String>,
    /// Version after.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_version: Option<String>,
    /// Upgrade or downgrade.
    pub kind: SoftwareChangeKind,
}

/// A device, OS or hardware field that changed. Elements of keyed lists
/// appear as `hardware.disks[sda].size_bytes`; a whole element that appeared
/// or disappeared has `old` or `new` absent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FieldChange {
    /// Dotted path of the field.
    pub path: String,
    /// Value before (absent: the field did not exist).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old: Option<Value>,
    /// Value after (absent: the field no longer exists).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new: Option<Value>,
}

/// What changed between two inventories of the same device.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct InventoryDiff {
    /// Packages that appeared.
    #[serde(default)]
    pub software_added: Vec<SoftwareRef>,
    /// Packages that disappeared.
    #[serde(default)]
    pub software_removed: Vec<SoftwareRef>,
    /// Packages whose version changed.
    #[serde(default)]
    pub software_changed: Vec<SoftwareChange>,
    /// Device, OS and hardware fields that changed (volatile fields such as
    /// free space or uptime are not compared).
    #[serde(default)]
    pub system_changes: Vec<FieldChange>,
}

impl InventoryDiff {
    /// True when nothing changed.
    pub fn is_empty(&self) -> bool {
        self.software_added.is_empty()
            && self.software_removed.is_empty()
            && self.software_changed.is_empty()
            && self.system_changes.is_empty()
    }
}

type PackageKey<'a> = (SoftwareSource, &'a str, Option<&'a str>);

fn index_packages(pkgs: &[SoftwarePackage]) -> BTreeMap<PackageKey<'_>, BTreeSet<Option<&str>>> {
    let mut map: BTreeMap<PackageKey<'_>, BTreeSet<Option<&str>>> = BTreeMap::new();
    for p in pkgs {
        map.entry((p.source, p.name.as_str(), p.architecture.as_deref()))
            .or_default()
            .insert(p.version.as_deref());
    }
    map
}

fn software_ref(key: &PackageKey<'_>, version: Option<&str>) -> SoftwareRef {
    SoftwareRef {
        name: key.1.to_owned(),
        source: key.0,
        architecture: key.2.map(str::to_owned),
        version: version.map(str::to_owned),
    }
}

/// The changes from `old` to `new`.
pub fn diff_inventories(old: &Inventory, new: &Inventory) -> InventoryDiff {
    let mut diff = InventoryDiff::default();
    let old_pkgs = index_packages(&old.software);
    let new_pkgs = index_packages(&new.software);
    let keys: BTreeSet<&PackageKey<'_>> = old_pkgs.keys().chain(new_pkgs.keys()).collect();
    for key in keys {
        match (old_pkgs.get(key), new_pkgs.get(key)) {
            (Some(o), None) => diff
                .software_removed
                .extend(o.iter().map(|v| software_ref(key, *v))),
            (None, Some(n)) => diff
                .software_added
                .extend(n.iter().map(|v| software_ref(key, *v))),
            (Some(o), Some(n)) if o != n => {
                if o.len() == 1 && n.len() == 1 {
                    let (ov, nv) = (
                        *o.iter().next().unwrap_or(&None),
                        *n.iter().next().unwrap_or(&None),
                    );
                    let kind = match (ov, nv) {
                        (Some(a), Some(b)) => match compare_versions(a, b) {
                            Ordering::Less => SoftwareChangeKind::Upgraded,
                            Ordering::Greater => SoftwareChangeKind::Downgraded,
                            Ordering::Equal => SoftwareChangeKind::Changed,
                        },
                        _ => SoftwareChangeKind::Changed,
                    };
                    diff.software_changed.push(SoftwareChange {
                        name: key.1.to_owned(),
                        source: key.0,
                        architecture: key.2.map(str::to_owned),
                        old_version: ov.map(str::to_owned),
                        new_version: nv.map(str::to_owned),
                        kind,
                    });
                } else {
                    // Several versions side by side (kernels, Windows
                    // entries): report the individual appearances.
                    diff.software_removed
                        .extend(o.difference(n).map(|v| software_ref(key, *v)));
                    diff.software_added
                        .extend(n.difference(o).map(|v| software_ref(key, *v)));
                }
            }
            _ => {}
        }
    }

    let mut old_view = stable_view(old);
    let mut new_view = stable_view(new);
    for view in [&mut old_view, &mut new_view] {
        if let Some(o) = view.as_object_mut() {
            o.remove("software");
        }
    }
    diff_values(
        "",
        Some(&old_view),
        Some(&new_view),
        &mut diff.system_changes,
    );
    diff
}

/// The field that names an element of a list, so that a list reordering is
/// not a change and an element is reported by name rather than by index.
fn element_key(v: &Value) -> Option<String> {
    ["pci_slot", "mount_point", "name"]
        .iter()
        .find_map(|k| v.get(*k).and_then(Value::as_str).map(str::to_owned))
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

fn diff_values(path: &str, old: Option<&Value>, new: Option<&Value>, out: &mut Vec<FieldChange>) {
    match (old, new) {
        (Some(Value::Object(o)), Some(Value::Object(n))) => {
            let keys: BTreeSet<&String> = o.keys().chain(n.keys()).collect();
            for k in keys {
                diff_values(&join(path, k), o.get(k), n.get(k), out);
            }
        }
        (Some(Value::Array(o)), Some(Value::Array(n)))
            if o.iter().chain(n.iter()).all(|v| element_key(v).is_some()) =>
        {
            let keyed = |items: &Vec<Value>| -> BTreeMap<String, Value> {
                items
                    .iter()
                    .filter_map(|v| element_key(v).map(|k| (k, v.clone())))
                    .collect()
            };
            let (o, n) = (keyed(o), keyed(n));
            let keys: BTreeSet<&String> = o.keys().chain(n.keys()).collect();
            for k in keys {
                diff_values(&format!("{path}[{k}]"), o.get(k), n.get(k), out);
            }
        }
        (o, n) if o != n => out.push(FieldChange {
            path: path.to_owned(),
            old: o.cloned(),
            new: n.cloned(),
        }),
        _ => {}
    }
}

/// Compares two version strings the way dpkg does (epoch, then upstream
/// version, then revision; digits compare numerically, `~` sorts before
/// everything). It orders the version schemes of rpm, Windows and macOS
/// sensibly too, which is all a change list needs.
pub fn compare_versions(a: &str, b: &str) -> Ordering {
    let (ea, ra) = split_epoch(a);
    let (eb, rb) = split_epoch(b);
    ea.cmp(&eb).then_with(|| {
        let (ua, va) = ra.rsplit_once('-').unwrap_or((ra, ""));
        let (ub, vb) = rb.rsplit_once('-').unwrap_or((rb, ""));
        verrevcmp(ua.as_bytes(), ub.as_bytes())
            .then_with(|| verrevcmp(va.as_bytes(), vb.as_bytes()))
    })
}

fn split_epoch(v: &str) -> (u64, &str) {
    match v.split_once(':') {
        Some((e, rest)) if !e.is_empty() && e.bytes().all(|c| c.is_ascii_digit()) => {
            (e.parse().unwrap_or(u64::MAX), rest)
        }
        _ => (0, v),
    }
}

fn char_order(c: Option<u8>) -> i32 {
    match c {
        None => 0,
        Some(c) if c.is_ascii_digit() => 0,
        Some(c) if c.is_ascii_alphabetic() => i32::from(c),
        Some(b'~') => -1,
        Some(c) => i32::from(c) + 256,
    }
}

fn verrevcmp(mut a: &[u8], mut b: &[u8]) -> Ordering {
    while !a.is_empty() || !b.is_empty() {
        while a.first().is_some_and(|c| !c.is_ascii_digit())
            || b.first().is_some_and(|c| !c.is_ascii_digit())
        {
            let (ac, bc) = (
                char_order(a.first().copied()),
                char_order(b.first().copied()),
            );
            if ac != bc {
                return ac.cmp(&bc);
            }
            a = &a[1.min(a.len())..];
            b = &b[1.min(b.len())..];
        }
        let skip_zeros = |s: &[u8]| -> usize { s.iter().take_while(|c| **c == b'0').count() };
        a = &a[skip_zeros(a)..];
        b = &b[skip_zeros(b)..];
        let da = a.iter().take_while(|c| c.is_ascii_digit()).count();
        let db = b.iter().take_while(|c| c.is_ascii_digit()).count();
        let ord = da.cmp(&db).then_with(|| a[..da].cmp(&b[..db]));
        if ord != Ordering::Equal {
            return ord;
        }
        a = &a[da..];
        b = &b[db..];
    }
    Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::*;

    fn inv() -> Inventory {
        serde_json::from_value(serde_json::json!({
            "collected_at": "2026-01-01T00:00:00Z",
            "device": {"hostname": "pc1"},
            "os": {"name": "Debian GNU/Linux", "version": "12", "uptime_secs": 10,
                   "timezone": {"name": "Europe/Paris", "utc_offset_secs": 3600}},
            "hardware": {
                "memory": {"total_bytes": 8_000_000_000u64},
                "disks": [{"name": "sda", "size_bytes": 256}],
                "volumes": [{"mount_point": "/", "total_bytes": 100, "free_bytes": 50},
                            {"mount_point": "/media/usb", "removable": true}],
                "network_interfaces": [{"name": "eth0", "ipv4": [{"address": "10.0.0.2", "prefix": 24}]},
                                       {"name": "veth12ab"}]
            },
            "software": [
                {"name": "curl", "source": "dpkg", "version": "7.88.1-10", "architecture": "amd64"},
                {"name": "vim", "source": "dpkg", "version": "2:9.0.1378-2", "architecture": "amd64"}
            ]
        }))
        .unwrap()
    }

    #[test]
    fn hash_ignores_volatile_fields() {
        let a = inv();
        let mut b = inv();
        b.collected_at = "2026-02-01T00:00:00Z".parse().unwrap();
        b.os.uptime_secs = Some(99_999);
        b.os.timezone.as_mut().unwrap().utc_offset_secs = Some(7200);
        b.hardware.volumes[0].free_bytes = Some(1);
        b.hardware.volumes.pop();
        b.hardware.network_interfaces[0].ipv4.clear();
        b.hardware.network_interfaces.pop();
        assert_eq!(inventory_hash(&a), inventory_hash(&b));
        assert_eq!(inventory_hash(&a).len(), 64);
    }

    #[test]
    fn hash_changes_with_hardware_and_software() {
        let a = inv();
        let mut b = inv();
        b.hardware.memory.as_mut().unwrap().total_bytes = Some(16_000_000_000);
        assert_ne!(inventory_hash(&a), inventory_hash(&b));
        let mut c = inv();
        c.software[0].version = Some("7.88.1-11".into());
        assert_ne!(inventory_hash(&a), inventory_hash(&c));
    }

    #[test]
    fn hash_does_not_depend_on_list_of_keys_order() {
        // Same document, fields written in another order.
        let a: Inventory = serde_json::from_str(
            r#"{"collected_at":"2026-01-01T00:00:00Z","device":{"hostname":"x","device_key":"k"}}"#,
        )
        .unwrap();
        let b: Inventory = serde_json::from_str(
            r#"{"device":{"device_key":"k","hostname":"x"},"collected_at":"2026-01-01T00:00:00Z"}"#,
        )
        .unwrap();
        assert_eq!(inventory_hash(&a), inventory_hash(&b));
    }

    #[test]
    fn diff_reports_software_and_hardware() {
        let a = inv();
        let mut b = inv();
        b.software.retain(|p| p.name != "curl");
        b.software.push(SoftwarePackage {
            name: "htop".into(),
            source: SoftwareSource::Dpkg,
            version: Some("3.2.2-2".into()),
            architecture: Some("amd64".into()),
            publisher: None,
            install_date: None,
            size_bytes: None,
            identifier: None,
        });
        b.software[0].version = Some("2:9.1.0-1".into());
        b.hardware.memory.as_mut().unwrap().total_bytes = Some(16_000_000_000);
        b.hardware.disks.push(Disk {
            name: "sdb".into(),
            model: None,
            vendor: None,
            serial_number: None,
            kind: Some(DiskKind::Ssd),
            removable: None,
            size_bytes: Some(512),
            interface: None,
        });
        b.hardware.volumes[0].free_bytes = Some(3);

        let d = diff_inventories(&a, &b);
        assert_eq!(d.software_added.len(), 1);
        assert_eq!(d.software_added[0].name, "htop");
        assert_eq!(d.software_removed[0].name, "curl");
        assert_eq!(d.software_changed.len(), 1);
        assert_eq!(d.software_changed[0].kind, SoftwareChangeKind::Upgraded);
        let paths: Vec<&str> = d.system_changes.iter().map(|c| c.path.as_str()).collect();
        assert_eq!(
            paths,
            ["hardware.disks[sdb]", "hardware.memory.total_bytes"]
        );
        assert!(d.system_changes[0].old.is_none());
        assert!(diff_inventories(&a, &a).is_empty());
    }

    #[test]
    fn dpkg_version_ordering() {
        use Ordering::*;
        for (a, b, want) in [
            ("1.0", "1.0", Equal),
            ("1.0", "1.1", Less),
            ("1.10", "1.9", Greater),
            ("1.0~rc1", "1.0", Less),
            ("1:0.1", "2.0", Greater),
            ("2.0-1", "2.0-2", Less),
            ("7.88.1-10+deb12u5", "7.88.1-10+deb12u6", Less),
            ("1.0a", "1.0", Greater),
            ("001", "1", Equal),
            ("10.0.19045.3803", "10.0.22631.1", Less),
        ] {
            assert_eq!(compare_versions(a, b), want, "{a} vs {b}");
            assert_eq!(compare_versions(b, a), want.reverse(), "{b} vs {a}");
        }
    }
}
