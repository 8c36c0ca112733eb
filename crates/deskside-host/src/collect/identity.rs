//! Who the device is and what it runs: machine id → device key, OS
//! release, time zone and virtualization.

use std::path::Path;

use sha2::{Digest, Sha256};

/// Turns a raw machine id into the device key sent on the wire. The raw id
/// is a secret of the machine (systemd asks applications to hash it with an
/// application-specific key), so only this hash leaves the device.
pub fn device_key(machine_id: &str) -> String {
    let digest = Sha256::digest(format!(
        "deskside-device-key:{}",
        machine_id.trim().to_ascii_lowercase()
    ));
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Linux: the systemd/D-Bus machine id and where it came from.
pub fn machine_id_linux(root: &Path) -> Option<(String, &'static str)> {
    [
        ("etc/machine-id", "/etc/machine-id"),
        ("var/lib/dbus/machine-id", "/var/lib/dbus/machine-id"),
    ]
    .into_iter()
    .find_map(|(rel, label)| {
        let id = std::fs::read_to_string(root.join(rel)).ok()?;
        let id = id.trim();
        // An image built for cloning has an empty or "uninitialized" id.
        (id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| (id.to_owned(), label))
    })
}

/// `PRETTY_NAME` from os-release (`Debian GNU/Linux 12 (bookworm)`).
pub fn os_release_pretty_name(root: &Path) -> Option<String> {
    ["etc/os-release", "usr/lib/os-release"]
        .iter()
        .find_map(|p| {
            let text = std::fs::read_to_string(root.join(p)).ok()?;
            text.lines()
                .find_map(|l| l.strip_prefix("PRETTY_NAME="))
                .map(|v| v.trim().trim_matches('"').trim_matches('\'').to_owned())
                .filter(|v| !v.is_empty())
        })
}

/// Windows: `HKLM\SOFTWARE\Microsoft\Cryptography\MachineGuid`.
#[cfg(windows)]
pub fn machine_id_windows() -> Option<(String, &'static str)> {
    use winreg::RegKey;
    use winreg::enums::{HKEY_LOCAL_MACHINE, KEY_READ, KEY_WOW64_64KEY};
    let key = RegKey::predef(HKEY_LOCAL_MACHINE)
        .open_subkey_with_flags(
            r"SOFTWARE\Microsoft\Cryptography",
            KEY_READ | KEY_WOW64_64KEY,
        )
        .ok()?;
    let guid: String = key.get_value("MachineGuid").ok()?;
    Some((guid, "MachineGuid"))
}

/// The configured time zone name: `/etc/timezone` (Debian) or the target
/// of the `/etc/localtime` link (everyone else, macOS too).
pub fn timezone_name_unix(root: &Path) -> Option<String> {
    if let Ok(tz) = std::fs::read_to_string(root.join("etc/timezone"))
        && let Some(line) = tz.lines().next().map(str::trim).filter(|l| !l.is_empty())
    {
        return Some(line.to_owned());
    }
    let target = std::fs::read_link(root.join("etc/localtime")).ok()?;
    let target = target.to_string_lossy();
    target
        .split_once("zoneinfo/")
        .map(|(_, name)| name.to_owned())
}

/// Windows: the time zone key name (`W. Europe Standard Time`).
#[cfg(windows)]
pub fn timezone_name_windows() -> Option<String> {
    use winreg::RegKey;
    use winreg::enums::HKEY_LOCAL_MACHINE;
    RegKey::predef(HKEY_LOCAL_MACHINE)
        .open_subkey(r"SYSTEM\CurrentControlSet\Control\TimeZoneInformation")
        .ok()?
        .get_value("TimeZoneKeyName")
        .ok()
}

/// Windows build number with its update revision (`22631.3447`).
#[cfg(windows)]
pub fn windows_build() -> Option<String> {
    use winreg::RegKey;
    use winreg::enums::HKEY_LOCAL_MACHINE;
    let key = RegKey::predef(HKEY_LOCAL_MACHINE)
        .open_subkey(r"SOFTWARE\Microsoft\Windows NT\CurrentVersion")
        .ok()?;
    let build: String = key.get_value("CurrentBuild").ok()?;
    Some(match key.get_value::<u32, _>("UBR") {
        Ok(ubr) => format!("{build}.{ubr}"),
        Err(_) => build,
    })
}

/// What the machine runs under, from the clues a Linux guest has: container
/// marker files, the DMI vendor and product, and the CPU's `hypervisor`
/// flag. `None` means bare metal (or nothing tells).
pub fn classify_virtualization(
    container_marker: Option<&str>,
    dmi_vendor: Option<&str>,
    dmi_product: Option<&str>,
    hypervisor_type: Option<&str>,
    cpu_has_hypervisor_flag: bool,
) -> Option<String> {
    if let Some(c) = container_marker {
        return Some(c.to_owned());
    }
    let hay = format!(
        "{} {}",
        dmi_vendor.unwrap_or_default(),
        dmi_product.unwrap_or_default()
    )
    .to_ascii_lowercase();
    let known = [
        ("vmware", "vmware"),
        ("virtualbox", "virtualbox"),
        ("innotek", "virtualbox"),
        ("qemu", "qemu"),
        ("kvm", "kvm"),
        ("bochs", "bochs"),
        ("parallels", "parallels"),
        ("amazon ec2", "amazon"),
        ("google compute engine", "google"),
        ("xen", "xen"),
        ("microsoft corporation virtual machine", "microsoft"),
    ];
    if let Some((_, name)) = known.iter().find(|(needle, _)| hay.contains(needle)) {
        return Some((*name).to_owned());
    }
    if let Some(h) = hypervisor_type.map(str::trim).filter(|h| !h.is_empty()) {
        return Some(h.to_owned());
    }
    cpu_has_hypervisor_flag.then(|| "vm".to_owned())
}

/// Linux: virtualization clues under `root`.
pub fn virtualization_linux(
    root: &Path,
    dmi_vendor: Option<&str>,
    dmi_product: Option<&str>,
) -> Option<String> {
    let container = if root.join(".dockerenv").exists() {
        Some("docker")
    } else if root.join("run/.containerenv").exists() {
        Some("podman")
    } else {
        None
    };
    let hypervisor = std::fs::read_to_string(root.join("sys/hypervisor/type")).ok();
    let flag = std::fs::read_to_string(root.join("proc/cpuinfo")).is_ok_and(|c| {
        c.lines()
            .find(|l| l.starts_with("flags"))
            .is_some_and(|l| l.split_whitespace().any(|f| f == "hypervisor"))
    });
    classify_virtualization(
        container,
        dmi_vendor,
        dmi_product,
        hypervisor.as_deref(),
        flag,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_key_is_a_stable_hash_not_the_id() {
        let k = device_key("3d1219c7c4c5404aaa1f6d2a48adfda4\n");
        assert_eq!(k, device_key("3D1219C7C4C5404AAA1F6D2A48ADFDA4"));
        assert_eq!(k.len(), 64);
        assert!(!k.contains("3d1219c7"));
    }

    #[test]
    fn machine_id_is_validated() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("etc")).unwrap();
        std::fs::write(dir.path().join("etc/machine-id"), "uninitialized\n").unwrap();
        assert_eq!(machine_id_linux(dir.path()), None);
        std::fs::create_dir_all(dir.path().join("var/lib/dbus")).unwrap();
        std::fs::write(
            dir.path().join("var/lib/dbus/machine-id"),
            "0123456789abcdef0123456789abcdef\n",
        )
        .unwrap();
        assert_eq!(
            machine_id_linux(dir.path()),
            Some((
                "0123456789abcdef0123456789abcdef".to_owned(),
                "/var/lib/dbus/machine-id"
            ))
        );
    }

    #[test]
    fn timezone_from_file_or_link() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("etc")).unwrap();
        assert_eq!(timezone_name_unix(dir.path()), None);
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(
                "/usr/share/zoneinfo/Asia/Seoul",
                dir.path().join("etc/localtime"),
            )
            .unwrap();
            assert_eq!(
                timezone_name_unix(dir.path()).as_deref(),
                Some("Asia/Seoul")
            );
        }
        std::fs::write(dir.path().join("etc/timezone"), "Asia/Tokyo\n").unwrap();
        assert_eq!(
            timezone_name_unix(dir.path()).as_deref(),
            Some("Asia/Tokyo")
        );
    }

    #[test]
    fn pretty_name_from_os_release() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(os_release_pretty_name(dir.path()), None);
        std::fs::create_dir_all(dir.path().join("etc")).unwrap();
        std::fs::write(
            dir.path().join("etc/os-release"),
            "NAME=\"Debian GNU/Linux\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n",
        )
        .unwrap();
        assert_eq!(
            os_release_pretty_name(dir.path()).as_deref(),
            Some("Debian GNU/Linux 12 (bookworm)")
        );
    }

    #[test]
    fn virtualization_clues() {
        assert_eq!(
            classify_virtualization(Some("docker"), Some("QEMU"), None, None, true).as_deref(),
            Some("docker")
        );
        assert_eq!(
            classify_virtualization(
                None,
                Some("QEMU"),
                Some("Standard PC (Q35 + ICH9, 2009)"),
                None,
                true
            )
            .as_deref(),
            Some("qemu")
        );
        assert_eq!(
            classify_virtualization(None, Some("innotek GmbH"), Some("VirtualBox"), None, true)
                .as_deref(),
            Some("virtualbox")
        );
        assert_eq!(
            classify_virtualization(
                None,
                Some("Microsoft Corporation"),
                Some("Virtual Machine"),
                None,
                true
            )
            .as_deref(),
            Some("microsoft")
        );
        assert_eq!(
            classify_virtualization(None, None, None, Some("xen\n"), false).as_deref(),
            Some("xen")
        );
        assert_eq!(
            classify_virtualization(None, None, None, None, true).as_deref(),
            Some("vm")
        );
        assert_eq!(
            classify_virtualization(None, Some("LENOVO"), Some("20QDS3E200"), None, false),
            None
        );
    }
}
