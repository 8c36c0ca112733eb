//! Check summaries as message keys with arguments. The agent shows a
//! summary in the employee's language from its catalogs (`check.<key>`);
//! the English text, which the result's `summary` holds and a plugin run
//! prints for Nagios, is rendered here from the same key, so the two never
//! drift apart (the agent's tests compare its English catalog with
//! [`ENGLISH`]). Arguments are already formatted (numbers, sizes, names).

/// A summary: its key and arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Key in [`ENGLISH`] (and, prefixed with `check.`, in the catalogs).
    pub key: &'static str,
    /// Named arguments, formatted.
    pub args: Vec<(&'static str, String)>,
}

impl Message {
    /// A message without arguments yet.
    pub fn new(key: &'static str) -> Self {
        Self {
            key,
            args: Vec::new(),
        }
    }

    /// With the argument `name`.
    #[must_use]
    pub fn arg(mut self, name: &'static str, value: impl std::fmt::Display) -> Self {
        self.args.push((name, value.to_string()));
        self
    }

    /// The English text.
    pub fn english(&self) -> String {
        let template = english(self.key).unwrap_or(self.key);
        fill(template, &self.args)
    }
}

/// `template` with its `{name}` placeholders filled from `args` (unknown
/// ones left as written).
pub fn fill(template: &str, args: &[(&str, String)]) -> String {
    let mut out = String::with_capacity(template.len() + 16);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) => {
                let name = &after[..close];
                match args.iter().find(|(n, _)| *n == name) {
                    Some((_, v)) => out.push_str(v),
                    None => {
                        out.push('{');
                        out.push_str(name);
                        out.push('}');
                    }
                }
                rest = &after[close + 1..];
            }
            None => {
                out.push_str(&rest[open..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// The English text of `key`.
pub fn english(key: &str) -> Option<&'static str> {
    ENGLISH.iter().find(|(k, _)| *k == key).map(|(_, t)| *t)
}

/// Every key with its English text.
pub const ENGLISH: &[(&str, &str)] = &[
    // Any check.
    (
        "unavailable_kind",
        "{kind} checks are not available in this build",
    ),
    ("not_run", "not run: {rule}"),
    ("cannot_start", "cannot start: {error}"),
    ("timed_out", "timed out after {duration}"),
    ("crashed", "check crashed"),
    (
        "stuck",
        "the previous run is still stuck; not started again",
    ),
    // disk_free
    ("disk.cannot_list", "cannot list volumes: {error}"),
    ("disk.not_mounted", "{mount}: not a mounted volume"),
    ("disk.none", "no fixed volumes found"),
    ("disk.free", "{mount}: {percent}% free ({free} of {total})"),
    (
        "disk.free_reserved",
        "{mount}: {percent}% of usable space free ({free} of {usable} usable; {total} in all, the rest reserved for the system)",
    ),
    // memory_available, swap_used
    ("memory.unavailable", "memory figures unavailable"),
    (
        "memory.available",
        "{percent}% of memory available ({available} of {total})",
    ),
    ("swap.unavailable", "swap figures unavailable"),
    ("swap.none", "no swap configured"),
    ("swap.used", "{percent}% of swap in use ({used} of {total})"),
    // cpu_load
    ("load.windows", "Windows has no load average"),
    ("load.unavailable", "load average unavailable"),
    ("load.average", "load average: {one}, {five}, {fifteen}"),
    (
        "load.per_core",
        "load average per core: {one}, {five}, {fifteen}",
    ),
    // uptime
    ("uptime.unavailable", "uptime unavailable"),
    ("uptime.up", "up {duration} (since the last restart)"),
    // temperature
    ("temperature.unavailable", "temperature sensors unavailable"),
    (
        "temperature.no_match",
        "no temperature sensor matching \"{sensor}\"",
    ),
    ("temperature.none", "no temperature sensors on this machine"),
    (
        "temperature.hottest",
        "hottest sensor {sensor}: {celsius} °C",
    ),
    // battery_health
    (
        "battery.unsupported",
        "battery health is not readable on this platform yet",
    ),
    ("battery.none", "no battery"),
    (
        "battery.no_capacity",
        "the battery does not report its capacity",
    ),
    ("battery.health", "{battery}: {percent}% of design capacity"),
    (
        "battery.health_cycles",
        "{battery}: {percent}% of design capacity, {cycles} cycles",
    ),
    // reboot_pending
    ("reboot.none", "no restart pending"),
    ("reboot.required", "restart required"),
    ("reboot.required_for", "restart required for {packages}"),
    ("reboot.required_because", "restart required ({reason})"),
    (
        "reboot.unsupported",
        "macOS does not expose a pending-restart flag",
    ),
    // process_running
    ("process.unavailable", "process list unavailable"),
    (
        "process.count",
        "{count} {name} running (at least {min} expected)",
    ),
    (
        "process.count_matching",
        "{count} {name} matching \"{pattern}\" running (at least {min} expected)",
    ),
    (
        "process.count_pattern",
        "{count} processes matching \"{pattern}\" running (at least {min} expected)",
    ),
    (
        "process.count_any",
        "{count} processes running (at least {min} expected)",
    ),
    // service_active
    (
        "service.no_systemd",
        "systemd is not running on this machine",
    ),
    ("service.cannot_ask", "cannot ask {manager} about {name}"),
    ("service.running", "{name} is running"),
    ("service.stopped", "{name} is not running ({detail})"),
    ("service.no_state", "{manager} gave no state for {name}"),
    // disk_encryption
    ("encryption.filevault_on", "FileVault is on"),
    ("encryption.filevault_off", "FileVault is off"),
    (
        "encryption.filevault_unknown",
        "cannot read the FileVault status",
    ),
    ("encryption.bitlocker_on", "BitLocker protects C:"),
    ("encryption.bitlocker_off", "BitLocker does not protect C:"),
    (
        "encryption.bitlocker_unknown",
        "cannot read the BitLocker status (needs administrator rights)",
    ),
    ("encryption.no_mounts", "cannot read the mount table"),
    ("encryption.no_root", "cannot find the root file system"),
    (
        "encryption.not_block",
        "root is on {fstype} ({source}), not a block device",
    ),
    (
        "encryption.luks",
        "root file system on {source} is encrypted (LUKS)",
    ),
    (
        "encryption.plain",
        "root file system on {source} is not encrypted",
    ),
    // firewall_enabled
    (
        "firewall.windows_none",
        "no firewall profile state reported",
    ),
    (
        "firewall.windows_on",
        "Windows Firewall is on for every profile",
    ),
    (
        "firewall.windows_off",
        "Windows Firewall is off for a profile",
    ),
    ("firewall.windows_unknown", "cannot ask Windows Firewall"),
    ("firewall.macos_on", "application firewall is on"),
    ("firewall.macos_off", "application firewall is off"),
    (
        "firewall.macos_unknown",
        "cannot read the application firewall state",
    ),
    ("firewall.ufw_on", "ufw is active"),
    ("firewall.ufw_off", "ufw is inactive"),
    ("firewall.firewalld_on", "firewalld is running"),
    ("firewall.firewalld_off", "firewalld is not running"),
    ("firewall.nft_on", "nftables filters incoming traffic"),
    ("firewall.nft_off", "nftables has no input filter"),
    (
        "firewall.none",
        "no readable firewall (ufw, firewalld or nftables; nftables needs root)",
    ),
    // tcp_connect, dns_resolve
    (
        "tcp.connected",
        "connected to {host}:{port} ({address}) in {ms} ms",
    ),
    ("tcp.failed", "cannot connect to {host}:{port}: {error}"),
    ("dns.resolves", "{name} resolves to {addresses} in {ms} ms"),
    (
        "dns.wrong",
        "{name} resolves to {addresses}, not {expected}",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn english_is_rendered_from_the_key() {
        let m = Message::new("disk.free")
            .arg("mount", "/")
            .arg("percent", 38)
            .arg("free", "34.3 GiB")
            .arg("total", "252.0 GiB");
        assert_eq!(m.english(), "/: 38% free (34.3 GiB of 252.0 GiB)");
        assert_eq!(fill("{a} {b} {", &[("a", "x".into())]), "x {b} {");
    }

    #[test]
    fn keys_are_unique_and_placeholders_named() {
        let mut keys: Vec<&str> = ENGLISH.iter().map(|(k, _)| *k).collect();
        keys.sort_unstable();
        let n = keys.len();
        keys.dedup();
        assert_eq!(keys.len(), n, "a key is listed twice");
        for (k, t) in ENGLISH {
            assert!(!t.is_empty() && !k.is_empty());
            assert_eq!(t.matches('{').count(), t.matches('}').count(), "{k}");
        }
    }
}
