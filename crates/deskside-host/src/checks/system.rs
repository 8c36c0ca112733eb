//! Checks on the system's state: pending restart, processes, services,
//! disk encryption, firewall.

use std::path::Path;
use std::time::Duration;

use deskside_protocol::{CheckState, PerfValue};
use sysinfo::{ProcessRefreshKind, ProcessesToUpdate, System, ThreadKind, UpdateKind};

use super::Outcome;
use super::message::Message;
use crate::collect::command;

fn outcome(state: CheckState, message: Message) -> Outcome {
    Outcome {
        state,
        summary: message.english(),
        message: Some(message),
        perfdata: Vec::new(),
    }
}

/// `reboot_pending`: Debian/Ubuntu's `reboot-required` flag, or Windows'
/// pending-reboot registry keys.
pub fn reboot_pending(root: &Path) -> Outcome {
    #[cfg(windows)]
    {
        let _ = root;
        use winreg::RegKey;
        use winreg::enums::HKEY_LOCAL_MACHINE;
        let hklm = RegKey::predef(HKEY_LOCAL_MACHINE);
        let keys = [
            r"SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing\RebootPending",
            r"SOFTWARE\Microsoft\Windows\CurrentVersion\WindowsUpdate\Auto Update\RebootRequired",
        ];
        if let Some(k) = keys.iter().find(|k| hklm.open_subkey(k).is_ok()) {
            return outcome(
                CheckState::Warning,
                Message::new("reboot.required_because")
                    .arg("reason", k.rsplit('\\').next().unwrap_or(k)),
            );
        }
        return outcome(CheckState::Ok, Message::new("reboot.none"));
    }
    #[cfg(target_os = "macos")]
    {
        let _ = root;
        return outcome(CheckState::Unknown, Message::new("reboot.unsupported"));
    }
    #[cfg(not(any(windows, target_os = "macos")))]
    {
        for flag in ["run/reboot-required", "var/run/reboot-required"] {
            if root.join(flag).exists() {
                let pkgs =
                    std::fs::read_to_string(root.join(format!("{flag}.pkgs"))).unwrap_or_default();
                let mut names: Vec<&str> = pkgs
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .collect();
                names.sort_unstable();
                names.dedup();
                let message = if names.is_empty() {
                    Message::new("reboot.required")
                } else {
                    Message::new("reboot.required_for").arg("packages", names.join(", "))
                };
                return outcome(CheckState::Warning, message);
            }
        }
        outcome(CheckState::Ok, Message::new("reboot.none"))
    }
}

/// Whether a process is the one asked for by `name`. Linux truncates
/// process names to 15 bytes, so a longer name is compared with the
/// executable's file name too.
fn name_matches(p: &sysinfo::Process, name: &str) -> bool {
    let pname = p.name().to_string_lossy();
    pname == name
        || p.exe()
            .and_then(Path::file_name)
            .is_some_and(|f| f.to_string_lossy() == name)
        || (name.len() > 15 && pname.len() == 15 && name.starts_with(pname.as_ref()))
}

/// `process_running`.
pub fn process_running(name: Option<&str>, pattern: Option<&str>, min_count: u32) -> Outcome {
    let Ok(mut sys) = System::new() else {
        return outcome(CheckState::Unknown, Message::new("process.unavailable"));
    };
    let mut kind = ProcessRefreshKind::nothing()
        .without_tasks()
        .with_exe(UpdateKind::OnlyIfNotSet);
    if pattern.is_some() {
        kind = kind.with_cmd(UpdateKind::OnlyIfNotSet);
    }
    sys.refresh_processes_specifics(ProcessesToUpdate::All, true, kind);
    let count = sys
        .processes()
        .values()
        .filter(|p| p.thread_kind() != Some(ThreadKind::Userland))
        .filter(|p| name.is_none_or(|n| name_matches(p, n)))
        .filter(|p| {
            pattern.is_none_or(|pat| {
                let cmd: Vec<String> = p
                    .cmd()
                    .iter()
                    .map(|a| a.to_string_lossy().into_owned())
                    .collect();
                cmd.join(" ").contains(pat)
            })
        })
        .count();
    let message = match (name, pattern) {
        (Some(n), Some(p)) => Message::new("process.count_matching")
            .arg("name", n)
            .arg("pattern", p),
        (Some(n), None) => Message::new("process.count").arg("name", n),
        (None, Some(p)) => Message::new("process.count_pattern").arg("pattern", p),
        (None, None) => Message::new("process.count_any"),
    }
    .arg("count", count)
    .arg("min", min_count);
    let state = if count >= min_count as usize {
        CheckState::Ok
    } else {
        CheckState::Critical
    };
    Outcome {
        state,
        summary: message.english(),
        message: Some(message),
        perfdata: vec![PerfValue {
            label: "processes".into(),
            value: count as f64,
            unit: None,
            warn: None,
            crit: Some(format!("{min_count}:")),
            min: Some(0.0),
            max: None,
        }],
    }
}

/// Reads a service manager's answer: `Some(true)` running, `Some(false)`
/// not running, `None` unknown.
pub fn service_state_from_output(manager: &str, code: i32, out: &str) -> Option<bool> {
    match manager {
        // `systemctl is-active` prints one word; exit 4 means no such unit.
        "systemd" => match out.trim() {
            "active" | "reloading" | "refreshing" => Some(true),
            "inactive" | "failed" | "deactivating" | "activating" => Some(false),
            _ if code == 4 => Some(false),
            _ => None,
        },
        "windows" => {
            let state = out.lines().find(|l| l.trim_start().starts_with("STATE"))?;
            Some(state.contains("RUNNING"))
        }
        "launchd" => {
            if code != 0 {
                return Some(false);
            }
            let state = out
                .lines()
                .find(|l| l.trim_start().starts_with("state ="))?;
            Some(state.contains("running"))
        }
        _ => None,
    }
}

/// `service_active`.
pub fn service_active(name: &str, timeout: Duration) -> Outcome {
    let (manager, answer) = if cfg!(windows) {
        (
            "windows",
            command::run_status("sc", &["query", name], timeout),
        )
    } else if cfg!(target_os = "macos") {
        (
            "launchd",
            command::run_status("launchctl", &["print", &format!("system/{name}")], timeout),
        )
    } else {
        if !Path::new("/run/systemd/system").exists() {
            return outcome(CheckState::Unknown, Message::new("service.no_systemd"));
        }
        (
            "systemd",
            command::run_status("systemctl", &["is-active", name], timeout),
        )
    };
    let Some((code, out)) = answer else {
        return outcome(
            CheckState::Unknown,
            Message::new("service.cannot_ask")
                .arg("manager", manager)
                .arg("name", name),
        );
    };
    match service_state_from_output(manager, code, &out) {
        Some(true) => outcome(
            CheckState::Ok,
            Message::new("service.running").arg("name", name),
        ),
        Some(false) => outcome(
            CheckState::Critical,
            Message::new("service.stopped")
                .arg("name", name)
                .arg("detail", out.trim().lines().next().unwrap_or("stopped")),
        ),
        None => outcome(
            CheckState::Unknown,
            Message::new("service.no_state")
                .arg("manager", manager)
                .arg("name", name),
        ),
    }
}

/// Linux: whether the block device `name` (under `sys_class_block`) is, or
/// sits on, a dm-crypt mapping.
pub fn block_device_encrypted(sys_class_block: &Path, name: &str, depth: u32) -> bool {
    if depth > 8 {
        return false;
    }
    let dir = sys_class_block.join(name);
    if std::fs::read_to_string(dir.join("dm/uuid")).is_ok_and(|u| u.starts_with("CRYPT-")) {
        return true;
    }
    std::fs::read_dir(dir.join("slaves"))
        .map(|entries| {
            entries.flatten().any(|e| {
                block_device_encrypted(sys_class_block, &e.file_name().to_string_lossy(), depth + 1)
            })
        })
        .unwrap_or(false)
}

/// The device the root file system is mounted from, per `mountinfo`.
pub fn root_source(mountinfo: &str) -> Option<(String, String)> {
    mountinfo.lines().find_map(|line| {
        let (left, right) = line.split_once(" - ")?;
        let mount_point = left.split_whitespace().nth(4)?;
        if mount_point != "/" {
            return None;
        }
        let mut r = right.split_whitespace();
        let fstype = r.next()?.to_owned();
        Some((r.next()?.to_owned(), fstype))
    })
}

/// `disk_encryption`: the system volume is encrypted.
pub fn disk_encryption(root: &Path, timeout: Duration) -> Outcome {
    if cfg!(target_os = "macos") {
        return match command::run_status("fdesetup", &["status"], timeout) {
            Some((_, out)) if out.contains("FileVault is On") => {
                outcome(CheckState::Ok, Message::new("encryption.filevault_on"))
            }
            Some((_, out)) if out.contains("FileVault is Off") => outcome(
                CheckState::Critical,
                Message::new("encryption.filevault_off"),
            ),
            _ => outcome(
                CheckState::Unknown,
                Message::new("encryption.filevault_unknown"),
            ),
        };
    }
    if cfg!(windows) {
        return match command::run_status("manage-bde", &["-status", "C:"], timeout) {
            Some((_, out)) if out.contains("Protection On") => {
                outcome(CheckState::Ok, Message::new("encryption.bitlocker_on"))
            }
            Some((_, out)) if out.contains("Protection Off") => outcome(
                CheckState::Critical,
                Message::new("encryption.bitlocker_off"),
            ),
            _ => outcome(
                CheckState::Unknown,
                Message::new("encryption.bitlocker_unknown"),
            ),
        };
    }
    let Ok(mountinfo) = std::fs::read_to_string(root.join("proc/self/mountinfo")) else {
        return outcome(CheckState::Unknown, Message::new("encryption.no_mounts"));
    };
    let Some((source, fstype)) = root_source(&mountinfo) else {
        return outcome(CheckState::Unknown, Message::new("encryption.no_root"));
    };
    let Some(dev) = std::fs::canonicalize(root.join(source.trim_start_matches('/')))
        .ok()
        .filter(|_| source.starts_with("/dev/"))
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
    else {
        return outcome(
            CheckState::Unknown,
            Message::new("encryption.not_block")
                .arg("fstype", &fstype)
                .arg("source", &source),
        );
    };
    if block_device_encrypted(&root.join("sys/class/block"), &dev, 0) {
        outcome(
            CheckState::Ok,
            Message::new("encryption.luks").arg("source", &source),
        )
    } else {
        outcome(
            CheckState::Critical,
            Message::new("encryption.plain").arg("source", &source),
        )
    }
}

/// `firewall_enabled`.
pub fn firewall_enabled(timeout: Duration) -> Outcome {
    if cfg!(windows) {
        return match command::run_status(
            "netsh",
            &["advfirewall", "show", "allprofiles", "state"],
            timeout,
        ) {
            Some((_, out)) => {
                let states: Vec<bool> = out
                    .lines()
                    .filter(|l| l.trim_start().starts_with("State"))
                    .map(|l| l.contains("ON"))
                    .collect();
                match (states.is_empty(), states.iter().all(|s| *s)) {
                    (true, _) => {
                        outcome(CheckState::Unknown, Message::new("firewall.windows_none"))
                    }
                    (false, true) => outcome(CheckState::Ok, Message::new("firewall.windows_on")),
                    (false, false) => {
                        outcome(CheckState::Critical, Message::new("firewall.windows_off"))
                    }
                }
            }
            None => outcome(
                CheckState::Unknown,
                Message::new("firewall.windows_unknown"),
            ),
        };
    }
    if cfg!(target_os = "macos") {
        return match command::run_status(
            "/usr/libexec/ApplicationFirewall/socketfilterfw",
            &["--getglobalstate"],
            timeout,
        ) {
            Some((_, out)) if out.contains("enabled") => {
                outcome(CheckState::Ok, Message::new("firewall.macos_on"))
            }
            Some((_, out)) if out.contains("disabled") => {
                outcome(CheckState::Critical, Message::new("firewall.macos_off"))
            }
            _ => outcome(CheckState::Unknown, Message::new("firewall.macos_unknown")),
        };
    }
    if command::on_path("ufw")
        && let Some((_, out)) = command::run_status("ufw", &["status"], timeout)
    {
        if out.contains("Status: active") {
            return outcome(CheckState::Ok, Message::new("firewall.ufw_on"));
        }
        if out.contains("Status: inactive") {
            return outcome(CheckState::Critical, Message::new("firewall.ufw_off"));
        }
    }
    if command::on_path("firewall-cmd")
        && let Some((_, out)) = command::run_status("firewall-cmd", &["--state"], timeout)
    {
        return if out.trim() == "running" {
            outcome(CheckState::Ok, Message::new("firewall.firewalld_on"))
        } else {
            outcome(CheckState::Critical, Message::new("firewall.firewalld_off"))
        };
    }
    if command::on_path("nft")
        && let Some((0, out)) = command::run_status("nft", &["list", "ruleset"], timeout)
    {
        return if out.contains("hook input") {
            outcome(CheckState::Ok, Message::new("firewall.nft_on"))
        } else {
            outcome(CheckState::Critical, Message::new("firewall.nft_off"))
        };
    }
    outcome(CheckState::Unknown, Message::new("firewall.none"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_manager_answers() {
        assert_eq!(
            service_state_from_output("systemd", 0, "active\n"),
            Some(true)
        );
        assert_eq!(
            service_state_from_output("systemd", 3, "inactive\n"),
            Some(false)
        );
        assert_eq!(service_state_from_output("systemd", 4, "\n"), Some(false));
        assert_eq!(service_state_from_output("systemd", 1, "weird\n"), None);
        let sc = "SERVICE_NAME: Spooler\n        TYPE               : 110  WIN32_OWN_PROCESS\n        STATE              : 4  RUNNING\n";
        assert_eq!(service_state_from_output("windows", 0, sc), Some(true));
        assert_eq!(
            service_state_from_output("windows", 0, &sc.replace("4  RUNNING", "1  STOPPED")),
            Some(false)
        );
        assert_eq!(
            service_state_from_output("launchd", 0, "system/com.x = {\n\tstate = running\n}"),
            Some(true)
        );
        assert_eq!(service_state_from_output("launchd", 113, ""), Some(false));
    }

    #[test]
    fn root_source_from_mountinfo() {
        let mi = "22 1 253:1 / / rw,relatime shared:1 - ext4 /dev/mapper/vg-root rw\n\
                  23 22 0:21 / /proc rw - proc proc rw\n";
        assert_eq!(
            root_source(mi),
            Some(("/dev/mapper/vg-root".into(), "ext4".into()))
        );
        assert_eq!(root_source("garbage\n"), None);
    }

    #[test]
    fn luks_under_lvm_is_found() {
        let dir = tempfile::tempdir().unwrap();
        let b = dir.path();
        // dm-1 (LVM root) sits on dm-0 (LUKS) which sits on nvme0n1p3.
        for (dev, uuid, slave) in [
            ("dm-1", "LVM-abc", Some("dm-0")),
            ("dm-0", "CRYPT-LUKS2-123", Some("nvme0n1p3")),
        ] {
            std::fs::create_dir_all(b.join(dev).join("dm")).unwrap();
            std::fs::write(b.join(dev).join("dm/uuid"), uuid).unwrap();
            if let Some(s) = slave {
                std::fs::create_dir_all(b.join(dev).join("slaves").join(s)).unwrap();
            }
        }
        std::fs::create_dir_all(b.join("nvme0n1p3")).unwrap();
        std::fs::create_dir_all(b.join("sda1")).unwrap();
        assert!(block_device_encrypted(b, "dm-1", 0));
        assert!(block_device_encrypted(b, "dm-0", 0));
        assert!(!block_device_encrypted(b, "sda1", 0));
        assert!(!block_device_encrypted(b, "missing", 0));
    }

    #[test]
    fn reboot_flag() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(reboot_pending(dir.path()).state, CheckState::Ok);
        std::fs::create_dir_all(dir.path().join("run")).unwrap();
        std::fs::write(
            dir.path().join("run/reboot-required"),
            "*** System restart required ***\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("run/reboot-required.pkgs"),
            "linux-image-6.1\nlibc6\nlibc6\n",
        )
        .unwrap();
        let o = reboot_pending(dir.path());
        assert_eq!(o.state, CheckState::Warning);
        assert_eq!(o.summary, "restart required for libc6, linux-image-6.1");
    }
}
