//! Agent configuration: defaults → system file → user file (or the one
//! given with `--config`) → `DESKSIDE_*` environment variables.
//!
//! Each file is checked on its own, so an error names the file and the key;
//! unknown keys are errors, because a misspelt key silently ignored is a
//! setting silently not applied.

use std::path::{Path, PathBuf};
use std::time::Duration;

use deskside_protocol::SoftwareSource;
use serde::{Deserialize, Serialize};

use crate::Error;

/// The commented example configuration; `deskside-agent default-config`
/// prints it and its values are the defaults.
pub const EXAMPLE: &str = include_str!("../agent.example.toml");

/// The agent's settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AgentConfig {
    /// State directory; `None` means the platform default.
    pub state_dir: Option<PathBuf>,
    /// Health metrics sampling.
    pub metrics: MetricsConfig,
    /// Inventory collection.
    pub inventory: InventoryConfig,
    /// Desktop notifications.
    pub notifications: NotificationsConfig,
    /// The desk this agent reports to.
    pub desk: DeskConfig,
    /// What diagnostics bundles may contain.
    pub privacy: PrivacyConfig,
    /// What the desk's policy may do on this device; read only from the
    /// system file (or the one given with `--config`).
    pub checks: ChecksConfig,
}

/// What checks pushed by the desk may do on this device. Only the
/// machine's administrator decides: the section is read from the system
/// file (or the file given with `--config`), never from the user's file,
/// the environment or the desk.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChecksConfig {
    /// Directories whose programs the desk's `command` checks may run
    /// (e.g. `/usr/lib/nagios/plugins`). Empty: none run.
    pub plugin_dirs: Vec<PathBuf>,
    /// Whether the desk's `http` and `tls_cert_expiry` checks may turn
    /// certificate verification off.
    pub allow_insecure_tls: bool,
}

impl ChecksConfig {
    /// The rules desk policies are confined to.
    pub fn rules(&self) -> deskside_host::checks::DeviceRules {
        deskside_host::checks::DeviceRules {
            plugin_dirs: self.plugin_dirs.clone(),
            allow_insecure_tls: self.allow_insecure_tls,
        }
    }
}

/// What diagnostics bundles may contain: each switch off leaves that part
/// out of every bundle (and the bundle says so).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PrivacyConfig {
    /// The processes using the most CPU and memory, with command lines.
    pub process_list: bool,
    /// User names: logged-in users in inventories and bundles.
    pub user_names: bool,
    /// Screenshots attached to tickets.
    pub screenshots: bool,
    /// The agent's recent log lines.
    pub logs: bool,
}

impl Default for PrivacyConfig {
    fn default() -> Self {
        Self {
            process_list: true,
            user_names: true,
            screenshots: true,
            logs: true,
        }
    }
}

/// A secret setting: never shown by `Debug` or serialization.
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("\"***\"")
    }
}

impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("***")
    }
}

/// The desk this agent reports to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeskConfig {
    /// The desk's URL (`https://desk.example.com`); none: not managed.
    pub server_url: Option<String>,
    /// The secret to enroll with (automatically, and again when the desk
    /// stops accepting the device token).
    pub enroll_secret: Option<Secret>,
    /// A file holding the enroll secret (what an installer deploys).
    pub enroll_secret_file: Option<PathBuf>,
    /// Extra CA certificates (PEM) to trust for the desk.
    pub ca_file: Option<PathBuf>,
    /// HTTP(S) proxy for the desk (`http://proxy:3128`).
    pub proxy: Option<String>,
    /// The SHA-256 fingerprint of the desk's certificate (hex, colons
    /// allowed): when set, exactly that certificate is accepted, whoever
    /// signed it.
    pub server_cert_sha256: Option<String>,
    /// Longest wait for one request to the desk.
    #[serde(with = "humantime_serde")]
    pub request_timeout: Duration,
}

impl Default for DeskConfig {
    fn default() -> Self {
        Self {
            server_url: None,
            enroll_secret: None,
            enroll_secret_file: None,
            ca_file: None,
            proxy: None,
            server_cert_sha256: None,
            request_timeout: Duration::from_secs(30),
        }
    }
}

impl DeskConfig {
    /// The enroll secret, from the setting or its file.
    pub fn enroll_secret(&self) -> Result<Option<String>, Error> {
        if let Some(s) = &self.enroll_secret {
            return Ok(Some(s.0.clone()));
        }
        match &self.enroll_secret_file {
            None => Ok(None),
            Some(path) => std::fs::read_to_string(path)
                .map(|t| Some(t.trim().to_owned()).filter(|t| !t.is_empty()))
                .map_err(|source| Error::Read {
                    path: path.clone(),
                    source,
                }),
        }
    }
}

/// A SHA-256 fingerprint written as hex, with or without colons or
/// spaces (`AB:CD:…` as browsers and `openssl x509 -fingerprint` show it).
pub fn parse_fingerprint(text: &str) -> Option<[u8; 32]> {
    let hex: Vec<u8> = text.bytes().filter(|b| !matches!(b, b':' | b' ')).collect();
    if hex.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in hex.chunks(2).enumerate() {
        let s = std::str::from_utf8(pair).ok()?;
        out[i] = u8::from_str_radix(s, 16).ok()?;
    }
    Some(out)
}

/// Desktop notifications.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NotificationsConfig {
    /// Show desktop notifications at all.
    pub enabled: bool,
    /// `auto` (the system's language), `en`, `ko` or `ja`.
    pub locale: String,
    /// Least time between two problem notifications of the same check.
    #[serde(with = "humantime_serde")]
    pub rate_limit: Duration,
    /// Also tell the user when a problem clears up.
    pub on_recovery: bool,
    /// Longest wait for the notification service to answer.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
}

impl Default for NotificationsConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            locale: "auto".into(),
            rate_limit: Duration::from_secs(4 * 3600),
            on_recovery: true,
            timeout: Duration::from_secs(5),
        }
    }
}

/// Health metrics sampling.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsConfig {
    /// Time between samples.
    #[serde(with = "humantime_serde")]
    pub interval: Duration,
    /// How long raw samples are kept.
    #[serde(with = "humantime_serde")]
    pub raw_history: Duration,
    /// How long one-minute rollups are kept.
    #[serde(with = "humantime_serde")]
    pub rollup_history: Duration,
    /// Processes listed per sample, by CPU and by memory.
    pub top_processes: usize,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(10),
            raw_history: Duration::from_secs(3600),
            rollup_history: Duration::from_secs(24 * 3600),
            top_processes: 5,
        }
    }
}

/// Inventory collection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct InventoryConfig {
    /// Package sources to scan.
    pub software_sources: Vec<SoftwareSource>,
    /// Deadline for each helper program.
    #[serde(with = "humantime_serde")]
    pub command_timeout: Duration,
    /// Put the agent's environment variables in GLPI exports (`envs`).
    /// Off by default: environments hold secrets.
    pub glpi_environment: bool,
}

impl Default for InventoryConfig {
    fn default() -> Self {
        Self {
            software_sources: deskside_host::collect::software::ALL_SOURCES.to_vec(),
            command_timeout: Duration::from_secs(30),
            glpi_environment: false,
        }
    }
}

/// Leaves out of an inventory what the privacy settings keep private:
/// with `user_names` off, the logged-in users and the local accounts.
pub fn apply_privacy(inv: &mut deskside_protocol::Inventory, privacy: &PrivacyConfig) {
    if !privacy.user_names {
        inv.os.logged_in_users = None;
        inv.os.local_users = None;
        inv.os.local_groups = None;
    }
}

fn config_error(origin: impl Into<String>, message: impl Into<String>) -> Error {
    Error::Config {
        origin: origin.into(),
        message: message.into(),
    }
}

/// The system-wide file an installer or MDM deploys.
pub fn system_config_path() -> Option<PathBuf> {
    if cfg!(windows) {
        std::env::var_os("ProgramData").map(|p| Path::new(&p).join("Deskside").join("agent.toml"))
    } else if cfg!(target_os = "macos") {
        Some(PathBuf::from(
            "/Library/Application Support/Deskside/agent.toml",
        ))
    } else {
        Some(PathBuf::from("/etc/deskside/agent.toml"))
    }
}

fn home() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
}

fn xdg(var: &str, fallback: &str) -> Option<PathBuf> {
    std::env::var_os(var)
        .filter(|v| Path::new(v).is_absolute())
        .map(PathBuf::from)
        .or_else(|| home().map(|h| h.join(fallback)))
}

/// The per-user file.
pub fn user_config_path() -> Option<PathBuf> {
    if cfg!(windows) {
        std::env::var_os("APPDATA").map(|p| Path::new(&p).join("Deskside").join("agent.toml"))
    } else if cfg!(target_os = "macos") {
        home().map(|h| h.join("Library/Application Support/Deskside/agent.toml"))
    } else {
        xdg("XDG_CONFIG_HOME", ".config").map(|d| d.join("deskside").join("agent.toml"))
    }
}

/// The platform's default state directory.
pub fn default_state_dir() -> PathBuf {
    let dir = if cfg!(windows) {
        std::env::var_os("LOCALAPPDATA").map(|p| Path::new(&p).join("Deskside"))
    } else if cfg!(target_os = "macos") {
        home().map(|h| h.join("Library/Application Support/Deskside"))
    } else {
        xdg("XDG_STATE_HOME", ".local/state").map(|d| d.join("deskside"))
    };
    // No home at all: a system service.
    dir.unwrap_or_else(|| PathBuf::from("/var/lib/deskside"))
}

impl AgentConfig {
    /// The state directory in effect.
    pub fn state_dir(&self) -> PathBuf {
        self.state_dir.clone().unwrap_or_else(default_state_dir)
    }

    /// Loads the configuration. With `explicit`, that file (which must
    /// exist) replaces the system and user files.
    pub fn load(explicit: Option<&Path>) -> Result<(Self, Vec<PathBuf>), Error> {
        Self::load_with(explicit, system_config_path(), user_config_path(), |k| {
            std::env::var(k).ok()
        })
    }

    /// [`AgentConfig::load`] with the file locations and the environment
    /// given, for tests.
    pub fn load_with(
        explicit: Option<&Path>,
        system: Option<PathBuf>,
        user: Option<PathBuf>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<(Self, Vec<PathBuf>), Error> {
        let mut merged = toml::Table::new();
        let mut used = Vec::new();
        // (path, required, may set [checks]).
        let files: Vec<(PathBuf, bool, bool)> = match explicit {
            Some(p) => vec![(p.to_path_buf(), true, true)],
            None => [system.map(|p| (p, true)), user.map(|p| (p, false))]
                .into_iter()
                .flatten()
                .map(|(p, trusted)| (p, false, trusted))
                .collect(),
        };
        for (path, required, trusted) in files {
            let text = match std::fs::read_to_string(&path) {
                Ok(t) => t,
                Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(source) => return Err(Error::Read { path, source }),
            };
            let origin = path.display().to_string();
            // Errors name the file and the key: parsed from the text, so
            // that serde's error keeps its position.
            let at = |e: toml::de::Error| {
                let key = e.span().and_then(|span| key_at(&text, span.start));
                config_error(file_and_key(&origin, key.as_deref()), e.message())
            };
            let table: toml::Table = toml::from_str(&text).map_err(at)?;
            // Check this file alone so the error points at it.
            toml::from_str::<AgentConfig>(&text).map_err(at)?;
            unknown_sources(&table)
                .map_err(|(key, m)| config_error(file_and_key(&origin, Some(&key)), m))?;
            if !trusted && table.contains_key("checks") {
                return Err(config_error(
                    &origin,
                    format!(
                        "[checks] may be set only in the system configuration ({}): it says what the desk may run on this device",
                        system_config_path()
                            .map_or_else(|| "agent.toml".into(), |p| p.display().to_string())
                    ),
                ));
            }
            merge(&mut merged, table);
            used.push(path);
        }
        let mut cfg = AgentConfig::deserialize(toml::Value::Table(merged))
            .map_err(|e| config_error("configuration files", e.message()))?;
        cfg.apply_env(&env)?;
        // A range error names the key; say which file (or variable) set it.
        cfg.validate().map_err(|e| match e {
            Error::Config {
                origin: key,
                message,
            } => {
                let from = used
                    .iter()
                    .rev()
                    .find(|p| {
                        std::fs::read_to_string(p)
                            .ok()
                            .and_then(|t| toml::from_str::<toml::Table>(&t).ok())
                            .is_some_and(|t| lookup(&t, &key))
                    })
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|| {
                        let var =
                            format!("DESKSIDE_{}", key.replace('.', "_").to_ascii_uppercase());
                        if env(&var).is_some() {
                            var
                        } else {
                            "the defaults".to_owned()
                        }
                    });
                config_error(file_and_key(&from, Some(&key)), message)
            }
            other => other,
        })?;
        Ok((cfg, used))
    }

    fn apply_env(&mut self, env: &impl Fn(&str) -> Option<String>) -> Result<(), Error> {
        let duration = |var: &str, value: &str| {
            humantime::parse_duration(value).map_err(|e| {
                config_error(
                    var,
                    format!("{e} (expected a duration such as \"10s\" or \"5m\")"),
                )
            })
        };
        if let Some(v) = env("DESKSIDE_STATE_DIR").filter(|v| !v.is_empty()) {
            self.state_dir = Some(PathBuf::from(v));
        }
        if let Some(v) = env("DESKSIDE_METRICS_INTERVAL") {
            self.metrics.interval = duration("DESKSIDE_METRICS_INTERVAL", &v)?;
        }
        if let Some(v) = env("DESKSIDE_METRICS_RAW_HISTORY") {
            self.metrics.raw_history = duration("DESKSIDE_METRICS_RAW_HISTORY", &v)?;
        }
        if let Some(v) = env("DESKSIDE_METRICS_ROLLUP_HISTORY") {
            self.metrics.rollup_history = duration("DESKSIDE_METRICS_ROLLUP_HISTORY", &v)?;
        }
        if let Some(v) = env("DESKSIDE_METRICS_TOP_PROCESSES") {
            self.metrics.top_processes = v.trim().parse().map_err(|_| {
                config_error(
                    "DESKSIDE_METRICS_TOP_PROCESSES",
                    format!("{v:?} is not a whole number"),
                )
            })?;
        }
        if let Some(v) = env("DESKSIDE_INVENTORY_SOFTWARE_SOURCES") {
            self.inventory.software_sources = v
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| {
                    parse_source(s).ok_or_else(|| {
                        config_error(
                            "DESKSIDE_INVENTORY_SOFTWARE_SOURCES",
                            format!("unknown software source {s:?}"),
                        )
                    })
                })
                .collect::<Result<_, _>>()?;
        }
        let flag = |var: &str, value: &str| match value.trim().to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => Ok(true),
            "0" | "false" | "no" | "off" => Ok(false),
            _ => Err(config_error(var, format!("{value:?} is not true or false"))),
        };
        if let Some(v) = env("DESKSIDE_NOTIFICATIONS_ENABLED") {
            self.notifications.enabled = flag("DESKSIDE_NOTIFICATIONS_ENABLED", &v)?;
        }
        if let Some(v) = env("DESKSIDE_NOTIFICATIONS_LOCALE") {
            self.notifications.locale = v.trim().to_owned();
        }
        if let Some(v) = env("DESKSIDE_NOTIFICATIONS_RATE_LIMIT") {
            self.notifications.rate_limit = duration("DESKSIDE_NOTIFICATIONS_RATE_LIMIT", &v)?;
        }
        if let Some(v) = env("DESKSIDE_NOTIFICATIONS_ON_RECOVERY") {
            self.notifications.on_recovery = flag("DESKSIDE_NOTIFICATIONS_ON_RECOVERY", &v)?;
        }
        if let Some(v) = env("DESKSIDE_NOTIFICATIONS_TIMEOUT") {
            self.notifications.timeout = duration("DESKSIDE_NOTIFICATIONS_TIMEOUT", &v)?;
        }
        if let Some(v) = env("DESKSIDE_SERVER_URL").filter(|v| !v.is_empty()) {
            self.desk.server_url = Some(v);
        }
        if let Some(v) = env("DESKSIDE_ENROLL_SECRET").filter(|v| !v.is_empty()) {
            self.desk.enroll_secret = Some(Secret(v));
        }
        if let Some(v) = env("DESKSIDE_ENROLL_SECRET_FILE").filter(|v| !v.is_empty()) {
            self.desk.enroll_secret_file = Some(PathBuf::from(v));
        }
        if let Some(v) = env("DESKSIDE_CA_FILE").filter(|v| !v.is_empty()) {
            self.desk.ca_file = Some(PathBuf::from(v));
        }
        if let Some(v) = env("DESKSIDE_PROXY").filter(|v| !v.is_empty()) {
            self.desk.proxy = Some(v);
        }
        if let Some(v) = env("DESKSIDE_SERVER_CERT_SHA256").filter(|v| !v.is_empty()) {
            self.desk.server_cert_sha256 = Some(v);
        }
        for (var, switch) in [
            (
                "DESKSIDE_PRIVACY_PROCESS_LIST",
                &mut self.privacy.process_list,
            ),
            ("DESKSIDE_PRIVACY_USER_NAMES", &mut self.privacy.user_names),
            (
                "DESKSIDE_PRIVACY_SCREENSHOTS",
                &mut self.privacy.screenshots,
            ),
            ("DESKSIDE_PRIVACY_LOGS", &mut self.privacy.logs),
        ] {
            if let Some(v) = env(var) {
                *switch = flag(var, &v)?;
            }
        }
        if let Some(v) = env("DESKSIDE_REQUEST_TIMEOUT") {
            self.desk.request_timeout = duration("DESKSIDE_REQUEST_TIMEOUT", &v)?;
        }
        if let Some(v) = env("DESKSIDE_INVENTORY_GLPI_ENVIRONMENT") {
            self.inventory.glpi_environment = flag("DESKSIDE_INVENTORY_GLPI_ENVIRONMENT", &v)?;
        }
        if let Some(v) = env("DESKSIDE_INVENTORY_COMMAND_TIMEOUT") {
            self.inventory.command_timeout = duration("DESKSIDE_INVENTORY_COMMAND_TIMEOUT", &v)?;
        }
        Ok(())
    }

    /// Checks the values together; names the key at fault.
    pub fn validate(&self) -> Result<(), Error> {
        if let Some(fp) = &self.desk.server_cert_sha256
            && parse_fingerprint(fp).is_none()
        {
            return Err(config_error(
                "desk.server_cert_sha256",
                format!("{fp:?} is not a SHA-256 fingerprint (64 hex digits, colons allowed)"),
            ));
        }
        if let Some(url) = &self.desk.server_url
            && !(url.starts_with("https://") || url.starts_with("http://"))
        {
            return Err(config_error(
                "desk.server_url",
                format!("{url:?} is not an http:// or https:// URL"),
            ));
        }
        if let Some(p) = &self.desk.proxy
            && !p.contains("://")
        {
            return Err(config_error(
                "desk.proxy",
                format!("{p:?} is not a URL such as http://proxy:3128"),
            ));
        }
        if self.desk.request_timeout < Duration::from_secs(1) {
            return Err(config_error("desk.request_timeout", "must be at least 1s"));
        }
        let m = &self.metrics;
        let bad = |key: &str, msg: String| Err(config_error(key, msg));
        if m.interval < Duration::from_secs(1) || m.interval > Duration::from_secs(3600) {
            return bad(
                "metrics.interval",
                format!(
                    "{} is outside 1s..1h",
                    humantime::format_duration(m.interval)
                ),
            );
        }
        if m.raw_history < m.interval {
            return bad(
                "metrics.raw_history",
                "must be at least metrics.interval".into(),
            );
        }
        if m.rollup_history < Duration::from_secs(60)
            || m.rollup_history > Duration::from_secs(7 * 24 * 3600)
        {
            return bad(
                "metrics.rollup_history",
                "must be between 1m and 7days".into(),
            );
        }
        if m.top_processes > 50 {
            return bad(
                "metrics.top_processes",
                format!("{} is more than 50", m.top_processes),
            );
        }
        if let Some(d) = self.checks.plugin_dirs.iter().find(|d| !d.is_absolute()) {
            return bad(
                "checks.plugin_dirs",
                format!("{} is not an absolute path", d.display()),
            );
        }
        if self.inventory.command_timeout < Duration::from_secs(1) {
            return bad("inventory.command_timeout", "must be at least 1s".into());
        }
        let n = &self.notifications;
        if n.locale != "auto" && crate::i18n::Locale::from_tag(&n.locale).is_none() {
            return bad(
                "notifications.locale",
                format!("{:?} is not auto, en, ko or ja", n.locale),
            );
        }
        if n.timeout < Duration::from_millis(100) || n.timeout > Duration::from_secs(60) {
            return bad(
                "notifications.timeout",
                "must be between 100ms and 60s".into(),
            );
        }
        if self
            .inventory
            .software_sources
            .contains(&SoftwareSource::Other)
        {
            return bad(
                "inventory.software_sources",
                "unknown software source".into(),
            );
        }
        Ok(())
    }
}

fn file_and_key(origin: &str, key: Option<&str>) -> String {
    match key {
        Some(k) => format!("{origin}, key {k}"),
        None => origin.to_owned(),
    }
}

/// The dotted key (`desk.server_url`) written on the line holding byte
/// `offset` of a TOML text, from its `[section]` and `key =`.
fn key_at(text: &str, offset: usize) -> Option<String> {
    let offset = offset.min(text.len());
    let before = text.get(..offset)?;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line = text[line_start..].lines().next().unwrap_or_default();
    let section = before[..line_start]
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('[') && !l.starts_with("[["))
        .map(|l| l.trim_matches(|c| c == '[' || c == ']').trim().to_owned());
    let key = line
        .split_once('=')
        .map(|(k, _)| k.trim().trim_matches('"').to_owned())
        .filter(|k| !k.is_empty() && !k.starts_with('['));
    match (section, key) {
        (Some(s), Some(k)) => Some(format!("{s}.{k}")),
        (None, Some(k)) => Some(k),
        (Some(s), None) => Some(s),
        (None, None) => None,
    }
}

/// Whether `table` sets the dotted `key`.
fn lookup(table: &toml::Table, key: &str) -> bool {
    let mut parts = key.split('.');
    let Some(first) = parts.next() else {
        return false;
    };
    let mut v = table.get(first);
    for p in parts {
        v = v.and_then(|v| v.as_table()).and_then(|t| t.get(p));
    }
    v.is_some()
}

/// Software sources this agent does not know, named (serde would read
/// them as "other" and lose the name).
fn unknown_sources(table: &toml::Table) -> Result<(), (String, String)> {
    let Some(list) = table
        .get("inventory")
        .and_then(|i| i.get("software_sources"))
        .and_then(toml::Value::as_array)
    else {
        return Ok(());
    };
    for v in list {
        if let Some(name) = v.as_str()
            && parse_source(name).is_none()
        {
            let known: Vec<&str> = deskside_host::collect::software::ALL_SOURCES
                .iter()
                .map(|s| s.as_str())
                .collect();
            return Err((
                "inventory.software_sources".into(),
                format!(
                    "unknown software source {name:?} (known: {})",
                    known.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

fn parse_source(s: &str) -> Option<SoftwareSource> {
    deskside_host::collect::software::ALL_SOURCES
        .iter()
        .copied()
        .find(|src| src.as_str() == s)
}

/// Merges `over` into `base`, table by table.
fn merge(base: &mut toml::Table, over: toml::Table) {
    for (k, v) in over {
        match (base.get_mut(&k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn example_file_states_the_defaults() {
        let from_example: AgentConfig = toml::from_str(EXAMPLE).unwrap();
        assert_eq!(from_example, AgentConfig::default());
    }

    #[test]
    fn the_enroll_secret_never_shows() {
        let env = |k: &str| match k {
            "DESKSIDE_SERVER_URL" => Some("https://desk.example.com".to_owned()),
            "DESKSIDE_ENROLL_SECRET" => Some("dsk_enr_topsecret".to_owned()),
            _ => None,
        };
        let (cfg, _) = AgentConfig::load_with(None, None, None, env).unwrap();
        assert_eq!(
            cfg.desk.enroll_secret().unwrap().as_deref(),
            Some("dsk_enr_topsecret")
        );
        let shown = format!("{cfg:?} {}", serde_json::to_string(&cfg).unwrap());
        assert!(!shown.contains("topsecret"), "{shown}");
        let env = |k: &str| (k == "DESKSIDE_SERVER_URL").then(|| "desk.example.com".to_owned());
        let err = AgentConfig::load_with(None, None, None, env)
            .unwrap_err()
            .to_string();
        assert!(err.contains("desk.server_url"), "{err}");
    }

    #[test]
    fn layers_apply_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let sys = dir.path().join("system.toml");
        let user = dir.path().join("user.toml");
        std::fs::write(&sys, "[metrics]\ninterval = \"30s\"\ntop_processes = 3\n").unwrap();
        std::fs::write(&user, "[metrics]\ninterval = \"20s\"\n").unwrap();
        let env = |k: &str| (k == "DESKSIDE_METRICS_TOP_PROCESSES").then(|| "7".to_owned());
        let (cfg, used) =
            AgentConfig::load_with(None, Some(sys.clone()), Some(user.clone()), env).unwrap();
        assert_eq!(
            cfg.metrics.interval,
            Duration::from_secs(20),
            "user file beats system file"
        );
        assert_eq!(cfg.metrics.top_processes, 7, "environment beats files");
        assert_eq!(
            cfg.metrics.raw_history,
            Duration::from_secs(3600),
            "defaults fill the rest"
        );
        assert_eq!(used, [sys, user]);
    }

    #[test]
    fn only_the_system_file_says_what_the_desk_may_run() {
        let dir = tempfile::tempdir().unwrap();
        let sys = dir.path().join("system.toml");
        let user = dir.path().join("user.toml");
        std::fs::write(
            &sys,
            "[checks]\nplugin_dirs = [\"/usr/lib/nagios/plugins\"]\nallow_insecure_tls = true\n",
        )
        .unwrap();
        std::fs::write(&user, "[metrics]\ninterval = \"20s\"\n").unwrap();
        let (cfg, _) =
            AgentConfig::load_with(None, Some(sys.clone()), Some(user.clone()), no_env).unwrap();
        assert_eq!(
            cfg.checks.plugin_dirs,
            [PathBuf::from("/usr/lib/nagios/plugins")]
        );
        assert!(cfg.checks.rules().allow_insecure_tls);

        // The user's file cannot widen (or even restate) it.
        std::fs::write(&user, "[checks]\nplugin_dirs = [\"/home/me/bin\"]\n").unwrap();
        let err = AgentConfig::load_with(None, Some(sys.clone()), Some(user.clone()), no_env)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("user.toml") && err.contains("system configuration"),
            "{err}"
        );
        // The default allows nothing.
        assert_eq!(AgentConfig::default().checks.rules(), Default::default());
        std::fs::write(&sys, "[checks]\nplugin_dirs = [\"plugins\"]\n").unwrap();
        let err = AgentConfig::load_with(None, Some(sys), None, no_env)
            .unwrap_err()
            .to_string();
        assert!(err.contains("checks.plugin_dirs"), "{err}");
    }

    #[test]
    fn missing_optional_files_are_fine_but_explicit_one_is_not() {
        let (cfg, used) =
            AgentConfig::load_with(None, Some("/nonexistent/a.toml".into()), None, no_env).unwrap();
        assert_eq!(cfg, AgentConfig::default());
        assert!(used.is_empty());
        let err =
            AgentConfig::load_with(Some(Path::new("/nonexistent/a.toml")), None, None, no_env)
                .unwrap_err();
        assert!(err.to_string().contains("/nonexistent/a.toml"), "{err}");
    }

    #[test]
    fn errors_name_the_file_and_key() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("agent.toml");
        std::fs::write(&f, "[metrics]\nintervall = \"10s\"\n").unwrap();
        let err = AgentConfig::load_with(Some(&f), None, None, no_env)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("agent.toml") && err.contains("intervall"),
            "{err}"
        );

        std::fs::write(&f, "[metrics]\ninterval = \"soon\"\n").unwrap();
        let err = AgentConfig::load_with(Some(&f), None, None, no_env)
            .unwrap_err()
            .to_string();
        assert!(err.contains("agent.toml"), "{err}");

        std::fs::write(&f, "[metrics]\ninterval = \"10ms\"\n").unwrap();
        let err = AgentConfig::load_with(Some(&f), None, None, no_env)
            .unwrap_err()
            .to_string();
        assert!(err.contains("metrics.interval"), "{err}");

        let env = |k: &str| {
            (k == "DESKSIDE_INVENTORY_SOFTWARE_SOURCES").then(|| "dpkg,pacman".to_owned())
        };
        let err = AgentConfig::load_with(None, None, None, env)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("DESKSIDE_INVENTORY_SOFTWARE_SOURCES") && err.contains("pacman"),
            "{err}"
        );

        let env = |k: &str| (k == "DESKSIDE_METRICS_INTERVAL").then(|| "often".to_owned());
        let err = AgentConfig::load_with(None, None, None, env)
            .unwrap_err()
            .to_string();
        assert!(err.contains("DESKSIDE_METRICS_INTERVAL"), "{err}");
    }

    #[test]
    fn notification_settings() {
        let env = |k: &str| match k {
            "DESKSIDE_NOTIFICATIONS_LOCALE" => Some("ja".to_owned()),
            "DESKSIDE_NOTIFICATIONS_ENABLED" => Some("off".to_owned()),
            "DESKSIDE_NOTIFICATIONS_RATE_LIMIT" => Some("30m".to_owned()),
            _ => None,
        };
        let (cfg, _) = AgentConfig::load_with(None, None, None, env).unwrap();
        assert_eq!(cfg.notifications.locale, "ja");
        assert!(!cfg.notifications.enabled);
        assert_eq!(cfg.notifications.rate_limit, Duration::from_secs(1800));
        let env = |k: &str| (k == "DESKSIDE_NOTIFICATIONS_LOCALE").then(|| "fr".to_owned());
        let err = AgentConfig::load_with(None, None, None, env)
            .unwrap_err()
            .to_string();
        assert!(err.contains("notifications.locale"), "{err}");
        let env = |k: &str| (k == "DESKSIDE_NOTIFICATIONS_ON_RECOVERY").then(|| "maybe".to_owned());
        let err = AgentConfig::load_with(None, None, None, env)
            .unwrap_err()
            .to_string();
        assert!(err.contains("DESKSIDE_NOTIFICATIONS_ON_RECOVERY"), "{err}");
    }

    #[test]
    fn env_selects_sources_and_state_dir() {
        let env = |k: &str| match k {
            "DESKSIDE_INVENTORY_SOFTWARE_SOURCES" => Some("dpkg, snap".to_owned()),
            "DESKSIDE_STATE_DIR" => Some("/tmp/ds".to_owned()),
            _ => None,
        };
        let (cfg, _) = AgentConfig::load_with(None, None, None, env).unwrap();
        assert_eq!(
            cfg.inventory.software_sources,
            [SoftwareSource::Dpkg, SoftwareSource::Snap]
        );
        assert_eq!(cfg.state_dir(), PathBuf::from("/tmp/ds"));
    }

    #[test]
    fn privacy_switches_and_the_pinned_fingerprint() {
        let fp = "AB:".repeat(31) + "AB";
        let env = |k: &str| match k {
            "DESKSIDE_PRIVACY_PROCESS_LIST" => Some("off".to_owned()),
            "DESKSIDE_PRIVACY_LOGS" => Some("false".to_owned()),
            "DESKSIDE_SERVER_CERT_SHA256" => Some(fp.clone()),
            _ => None,
        };
        let (cfg, _) = AgentConfig::load_with(None, None, None, env).unwrap();
        assert!(!cfg.privacy.process_list && !cfg.privacy.logs);
        assert!(cfg.privacy.user_names && cfg.privacy.screenshots);
        assert_eq!(
            parse_fingerprint(cfg.desk.server_cert_sha256.as_deref().unwrap()),
            Some([0xAB; 32])
        );
        assert_eq!(parse_fingerprint(&"ab".repeat(32)), Some([0xAB; 32]));
        assert_eq!(parse_fingerprint("abc"), None);
        assert_eq!(parse_fingerprint(&"zz".repeat(32)), None);

        let env = |k: &str| (k == "DESKSIDE_SERVER_CERT_SHA256").then(|| "12:34".to_owned());
        let err = AgentConfig::load_with(None, None, None, env).unwrap_err();
        assert!(err.to_string().contains("desk.server_cert_sha256"), "{err}");
        let env = |k: &str| (k == "DESKSIDE_PRIVACY_LOGS").then(|| "maybe".to_owned());
        let err = AgentConfig::load_with(None, None, None, env).unwrap_err();
        assert!(err.to_string().contains("DESKSIDE_PRIVACY_LOGS"), "{err}");
    }
}
