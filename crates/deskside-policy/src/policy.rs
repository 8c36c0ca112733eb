//! Loading a policy: each check is validated on its own into a [`Check`],
//! so one bad check is reported (naming its id and field) while the others
//! run.

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use deskside_protocol::{CheckSpec, Policy};
use serde_json::{Map, Value};

use crate::threshold::{self, Direction, Quantity, Unit};

/// The built-in policy, used when no other is configured.
pub const DEFAULT_POLICY: &str = include_str!("default-policy.toml");

/// Load-average window of `cpu_load`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadWindow {
    /// 1-minute load average.
    One,
    /// 5-minute load average.
    Five,
    /// 15-minute load average.
    Fifteen,
}

/// A check kind with its parameters, validated.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// Free space on one mount, or on every fixed volume.
    DiskFree { mount: Option<String> },
    /// Memory available to new programs.
    MemoryAvailable,
    /// Swap in use.
    SwapUsed,
    /// Load average (per core when `per_core`), as `check_load` measures
    /// it: each threshold applies to the 1-, 5- and 15-minute averages
    /// (one value for all three, or three values), or only to `window`
    /// when the policy names one.
    CpuLoad {
        /// The one window compared, when the policy names one.
        window: Option<LoadWindow>,
        /// Divide by the number of logical cores (`check_load -r`).
        per_core: bool,
        /// Warning thresholds for the 1-, 5- and 15-minute averages.
        warn: Option<[f64; 3]>,
        /// Critical thresholds for the 1-, 5- and 15-minute averages.
        crit: Option<[f64; 3]>,
    },
    /// Time since boot.
    Uptime,
    /// An installed update waits for a restart.
    RebootPending,
    /// Hottest sensor (or the sensors whose label contains `sensor`).
    Temperature { sensor: Option<String> },
    /// Worst battery's full capacity as a share of its design capacity.
    BatteryHealth,
    /// Processes by exact name or command-line substring.
    ProcessRunning {
        name: Option<String>,
        pattern: Option<String>,
        min_count: u32,
    },
    /// A systemd unit, Windows service or launchd job is running.
    ServiceActive { name: String },
    /// A TCP connection can be opened.
    TcpConnect { host: String, port: u16 },
    /// A name resolves (optionally to an expected address).
    DnsResolve {
        name: String,
        expect: Option<IpAddr>,
    },
    /// The system volume is encrypted.
    DiskEncryption,
    /// A host firewall is active.
    FirewallEnabled,
    /// A Monitoring Plugins compatible executable.
    Command {
        argv: Vec<String>,
        max_output: usize,
        /// For a desk policy: the directories the program must be inside
        /// (checked at every run); `None` for a local policy.
        confined: Option<std::sync::Arc<[std::path::PathBuf]>>,
    },
    /// A desk check this device does not allow: it is not run and reports
    /// `unknown` with the rule it broke (the agent's host layer confines
    /// desk policies this way).
    Refused {
        /// The rule, for the person reading the result.
        rule: String,
    },
    /// An HTTP(S) request answers as expected.
    Http {
        /// `http://` or `https://` URL.
        url: String,
        /// Accepted final status codes; empty means any 2xx.
        status: Vec<u16>,
        /// Text the body must contain.
        body_contains: Option<String>,
        /// Extra trusted CA certificates (PEM), for internal services.
        ca_file: Option<String>,
        /// Verify the server certificate (default true).
        verify: bool,
    },
    /// Time until a TLS server's certificate expires.
    TlsCertExpiry {
        /// Host to connect to.
        host: String,
        /// Port (default 443).
        port: u16,
        /// Name to ask for and verify (default: `host`).
        server_name: Option<String>,
        /// Extra trusted CA certificates (PEM).
        ca_file: Option<String>,
        /// Verify the certificate chain (default true).
        verify: bool,
    },
}

/// A validated check, ready to run.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    /// The check as written in the policy.
    pub spec: CheckSpec,
    /// Kind and parameters.
    pub kind: Kind,
    /// Warning threshold.
    pub warn: Option<Quantity>,
    /// Critical threshold.
    pub crit: Option<Quantity>,
    /// Time between runs.
    pub interval: Duration,
    /// Longest a run may take.
    pub timeout: Duration,
    /// Consecutive non-OK runs before the state is reported as changed.
    pub fails_before_alert: u32,
    /// When a failure opens a ticket.
    pub open_ticket: Option<TicketRule>,
}

/// A check's `open_ticket`, checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TicketRule {
    /// How long the reported state must have been failing.
    pub after: Duration,
    /// The ticket's urgency (the policy's `impact`).
    pub urgency: deskside_protocol::Urgency,
    /// How long the check must be OK again before the ticket is resolved.
    pub resolve_after: Duration,
}

/// Why one check of a policy (or, with `position` 0, the policy as a
/// whole) was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    /// Position in the policy (1-based); 0 for the policy as a whole.
    pub position: usize,
    /// The check's id, when it has one.
    pub check_id: Option<String>,
    /// The field at fault.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.position == 0 {
            return write!(f, "policy, field {:?}: {}", self.field, self.message);
        }
        match &self.check_id {
            Some(id) => write!(f, "check {id:?}, field {:?}: {}", self.field, self.message),
            None => write!(
                f,
                "check #{}, field {:?}: {}",
                self.position, self.field, self.message
            ),
        }
    }
}

/// A policy after validation: the checks that can run and the ones that
/// cannot, with why.
#[derive(Debug, Clone, Default)]
pub struct LoadedPolicy {
    /// Policy version.
    pub version: u64,
    /// Valid checks, in policy order.
    pub checks: Vec<Check>,
    /// Rejected checks.
    pub errors: Vec<PolicyError>,
}

/// A parameter a kind accepts, for `deskside-agent check --list`.
#[derive(Debug, Clone, Copy)]
pub struct ParamInfo {
    /// Parameter name.
    pub name: &'static str,
    /// Whether it must be given.
    pub required: bool,
    /// What it means.
    pub help: &'static str,
}

/// A kind's documentation and defaults.
#[derive(Debug, Clone, Copy)]
pub struct KindInfo {
    /// Kind name.
    pub name: &'static str,
    /// What it checks.
    pub help: &'static str,
    /// What thresholds measure, when the kind has thresholds.
    pub unit: Option<(Unit, Direction)>,
    /// Kind-specific parameters.
    pub params: &'static [ParamInfo],
    /// Default interval.
    pub interval: Duration,
}

const fn p(name: &'static str, required: bool, help: &'static str) -> ParamInfo {
    ParamInfo {
        name,
        required,
        help,
    }
}

const MIN: u64 = 60;

/// Every kind this agent knows.
pub const KINDS: &[KindInfo] = &[
    KindInfo {
        name: "disk_free",
        help: "Free space on a volume (or the fullest fixed volume); warn/crit as \"15%\" or \"10GiB\", lower is worse",
        unit: Some((Unit::PercentOrBytes, Direction::LowIsBad)),
        params: &[p(
            "mount",
            false,
            "mount point or drive (default: every fixed volume)",
        )],
        interval: Duration::from_secs(15 * MIN),
    },
    KindInfo {
        name: "memory_available",
        help: "Memory available to new programs; \"10%\" or \"512MiB\", lower is worse",
        unit: Some((Unit::PercentOrBytes, Direction::LowIsBad)),
        params: &[],
        interval: Duration::from_secs(MIN),
    },
    KindInfo {
        name: "swap_used",
        help: "Swap in use; \"50%\" or \"2GiB\", higher is worse",
        unit: Some((Unit::PercentOrBytes, Direction::HighIsBad)),
        params: &[],
        interval: Duration::from_secs(5 * MIN),
    },
    KindInfo {
        name: "cpu_load",
        help: "Load average as check_load measures it; warn/crit a number for all three windows or \"w1,w5,w15\", higher is worse",
        unit: Some((Unit::Number, Direction::HighIsBad)),
        params: &[
            p(
                "window",
                false,
                "compare only \"1m\", \"5m\" or \"15m\" (default: all three, like check_load)",
            ),
            p(
                "per_core",
                false,
                "divide by the number of logical cores, like check_load -r (default false)",
            ),
        ],
        interval: Duration::from_secs(MIN),
    },
    KindInfo {
        name: "uptime",
        help: "Time since boot; \"14d\", higher is worse",
        unit: Some((Unit::Duration, Direction::HighIsBad)),
        params: &[],
        interval: Duration::from_secs(60 * MIN),
    },
    KindInfo {
        name: "reboot_pending",
        help: "Warning when installed updates wait for a restart (Linux reboot-required, Windows pending-reboot keys)",
        unit: None,
        params: &[],
        interval: Duration::from_secs(60 * MIN),
    },
    KindInfo {
        name: "temperature",
        help: "Hottest sensor in °C; a number, higher is worse; unknown without sensors",
        unit: Some((Unit::Number, Direction::HighIsBad)),
        params: &[p(
            "sensor",
            false,
            "only sensors whose label contains this text",
        )],
        interval: Duration::from_secs(MIN),
    },
    KindInfo {
        name: "battery_health",
        help: "Full capacity as a share of design capacity; \"70%\", lower is worse; unknown without a battery",
        unit: Some((Unit::Percent, Direction::LowIsBad)),
        params: &[],
        interval: Duration::from_secs(60 * MIN),
    },
    KindInfo {
        name: "process_running",
        help: "At least min_count processes match; critical otherwise",
        unit: None,
        params: &[
            p("name", false, "exact process name"),
            p("pattern", false, "text contained in the command line"),
            p("min_count", false, "how many must run (default 1)"),
        ],
        interval: Duration::from_secs(MIN),
    },
    KindInfo {
        name: "service_active",
        help: "A systemd unit, Windows service or launchd job is running; critical otherwise",
        unit: None,
        params: &[p("name", true, "unit, service or job label")],
        interval: Duration::from_secs(MIN),
    },
    KindInfo {
        name: "tcp_connect",
        help: "A TCP connection opens; warn/crit on connect latency (\"200ms\"); critical when refused or timed out",
        unit: Some((Unit::Duration, Direction::HighIsBad)),
        params: &[
            p("host", true, "host name or address"),
            p("port", true, "TCP port"),
        ],
        interval: Duration::from_secs(5 * MIN),
    },
    KindInfo {
        name: "dns_resolve",
        help: "A name resolves; warn/crit on latency; critical when it does not resolve or not to `expect`",
        unit: Some((Unit::Duration, Direction::HighIsBad)),
        params: &[
            p("name", true, "name to resolve"),
            p("expect", false, "address it must resolve to"),
        ],
        interval: Duration::from_secs(5 * MIN),
    },
    KindInfo {
        name: "disk_encryption",
        help: "The system volume is encrypted (Linux LUKS); critical when not, unknown where undetectable",
        unit: None,
        params: &[],
        interval: Duration::from_secs(6 * 60 * MIN),
    },
    KindInfo {
        name: "firewall_enabled",
        help: "A host firewall is active (ufw, firewalld, nftables); critical when not, unknown where undetectable",
        unit: None,
        params: &[],
        interval: Duration::from_secs(60 * MIN),
    },
    KindInfo {
        name: "http",
        help: "An HTTP(S) request gets the expected status (and body text); warn/crit on latency; TLS is verified",
        unit: Some((Unit::Duration, Direction::HighIsBad)),
        params: &[
            p("url", true, "http:// or https:// URL"),
            p(
                "status",
                false,
                "expected status code or list of codes (default: any 2xx)",
            ),
            p(
                "body_contains",
                false,
                "text the response body must contain",
            ),
            p(
                "ca_file",
                false,
                "PEM file of extra trusted CA certificates",
            ),
            p(
                "verify",
                false,
                "verify the server certificate (default true)",
            ),
        ],
        interval: Duration::from_secs(5 * MIN),
    },
    KindInfo {
        name: "tls_cert_expiry",
        help: "Time left before a TLS server's certificate expires; \"14d\", lower is worse; critical when expired or untrusted",
        unit: Some((Unit::Duration, Direction::LowIsBad)),
        params: &[
            p("host", true, "host name or address"),
            p("port", false, "TCP port (default 443)"),
            p(
                "server_name",
                false,
                "name to verify the certificate for (default: host)",
            ),
            p(
                "ca_file",
                false,
                "PEM file of extra trusted CA certificates",
            ),
            p(
                "verify",
                false,
                "verify the certificate chain (default true)",
            ),
        ],
        interval: Duration::from_secs(6 * 60 * MIN),
    },
    KindInfo {
        name: "command",
        help: "Runs a Monitoring Plugins (Nagios) compatible executable: exit 0/1/2/3, first line the summary, perfdata after '|'",
        unit: None,
        params: &[
            p("argv", true, "program and arguments, no shell"),
            p("max_output", false, "bytes of output kept (default 65536)"),
        ],
        interval: Duration::from_secs(5 * MIN),
    },
];

const COMMON_FIELDS: &[&str] = &[
    "id",
    "kind",
    "warn",
    "crit",
    "interval",
    "timeout",
    "fails_before_alert",
    "notify_user",
    "report_only",
    "title",
    "remediation",
    "open_ticket",
];

/// Longest timeout a check may have; anything longer is a hung check.
const MAX_TIMEOUT: Duration = Duration::from_secs(300);

impl LoadedPolicy {
    /// Validates every check of `policy`. A policy without a single valid
    /// check is an error of its own: it would check nothing and read as a
    /// healthy machine.
    pub fn load(policy: &Policy) -> Self {
        let mut out = LoadedPolicy {
            version: policy.version,
            ..Self::default()
        };
        let mut seen = std::collections::HashSet::new();
        for (i, raw) in policy.checks.iter().enumerate() {
            match parse_check(i + 1, raw) {
                Ok(check) if !seen.insert(check.spec.id.clone()) => out.errors.push(PolicyError {
                    position: i + 1,
                    check_id: Some(check.spec.id),
                    field: "id".into(),
                    message: "another check has the same id".into(),
                }),
                Ok(check) => out.checks.push(check),
                Err(e) => out.errors.push(e),
            }
        }
        if out.checks.is_empty() {
            out.errors.push(PolicyError {
                position: 0,
                check_id: None,
                field: "checks".into(),
                message: if policy.checks.is_empty() {
                    "the policy has no checks (a policy file lists them as [[checks]])".into()
                } else {
                    "the policy has no valid check".into()
                },
            });
        }
        out
    }

    /// Parses and validates a TOML policy (`version = N` and `[[checks]]`).
    /// A file that is not TOML at all, or that has top-level keys other
    /// than `version` and `checks` (a misspelt `[[check]]`), is an error;
    /// bad checks are not.
    pub fn from_toml(text: &str) -> Result<Self, String> {
        let table: toml::Table = toml::from_str(text).map_err(|e| e.message().to_owned())?;
        unknown_top_level(table.keys())?;
        let policy: Policy = toml::from_str(text).map_err(|e| e.message().to_owned())?;
        Ok(Self::load(&policy))
    }

    /// Parses and validates a JSON policy (`{"version": N, "checks":
    /// […]}`), with the same rules as [`LoadedPolicy::from_toml`].
    pub fn from_json(text: &str) -> Result<Self, String> {
        let value: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let Some(obj) = value.as_object() else {
            return Err("a policy must be an object with \"checks\"".into());
        };
        unknown_top_level(obj.keys())?;
        let policy: Policy = serde_json::from_value(value).map_err(|e| e.to_string())?;
        Ok(Self::load(&policy))
    }

    /// The built-in default policy.
    pub fn builtin() -> Self {
        Self::from_toml(DEFAULT_POLICY).unwrap_or_default()
    }
}

/// Refuses top-level keys other than `version` and `checks`, naming them:
/// a misspelt `[[check]]` must not make an empty, healthy-looking policy.
/// The desk checks a published policy with the same rule.
pub fn unknown_top_level<'a>(keys: impl Iterator<Item = &'a String>) -> Result<(), String> {
    let unknown: Vec<&String> = keys.filter(|k| *k != "version" && *k != "checks").collect();
    match unknown.as_slice() {
        [] => Ok(()),
        [one] if one.as_str() == "check" => Err(
            "unknown top-level key \"check\" (did you mean \"checks\", as in [[checks]]?)".into(),
        ),
        keys => Err(format!(
            "unknown top-level key{} {} (a policy has only \"version\" and \"checks\")",
            if keys.len() == 1 { "" } else { "s" },
            keys.iter()
                .map(|k| format!("{k:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

fn parse_check(position: usize, raw: &Value) -> Result<Check, PolicyError> {
    let id = raw.get("id").and_then(Value::as_str).map(str::to_owned);
    let err = |field: &str, message: String| PolicyError {
        position,
        check_id: id.clone().filter(|i| !i.is_empty()),
        field: field.to_owned(),
        message,
    };
    let Some(obj) = raw.as_object() else {
        return Err(err("", "a check must be a table/object".into()));
    };
    match obj.get("id") {
        Some(Value::String(s)) if !s.trim().is_empty() && s.len() <= 128 => {}
        Some(Value::String(_)) => return Err(err("id", "must be 1 to 128 characters".into())),
        Some(_) => return Err(err("id", "must be a string".into())),
        None => return Err(err("id", "is required".into())),
    }
    // Type-check the common fields here: serde's errors under `flatten` do
    // not say which field they are about.
    for field in COMMON_FIELDS {
        let Some(v) = obj.get(*field) else { continue };
        let expected = match *field {
            "notify_user" | "report_only" => (!v.is_boolean()).then_some("true or false"),
            "kind" | "interval" | "timeout" => (!v.is_string()).then_some("a string"),
            "fails_before_alert" => (!v.is_u64()).then_some("a whole number"),
            "warn" | "crit" => (!(v.is_number() || v.is_string()))
                .then_some("a number or a string such as \"15%\""),
            "title" | "remediation" => (!v
                .as_object()
                .is_some_and(|m| m.values().all(Value::is_string)))
            .then_some("a table of texts by locale (en, ko, ja)"),
            "open_ticket" => (!v.is_object())
                .then_some("a table such as { after = \"30m\", impact = \"medium\" }"),
            _ => None,
        };
        if let Some(expected) = expected {
            return Err(err(field, format!("must be {expected}")));
        }
    }
    if !obj.contains_key("kind") {
        return Err(err("kind", "is required".into()));
    }
    let spec: CheckSpec =
        serde_json::from_value(raw.clone()).map_err(|e| err("", e.to_string()))?;
    let Some(info) = KINDS.iter().find(|k| k.name == spec.kind) else {
        return Err(err(
            "kind",
            format!(
                "unknown kind {:?} (see `deskside-agent check --list`)",
                spec.kind
            ),
        ));
    };
    for key in spec.params.keys() {
        if !info.params.iter().any(|p| p.name == key) {
            return Err(err(key, format!("{} has no parameter {key:?}", info.name)));
        }
    }
    for p in info.params.iter().filter(|p| p.required) {
        if !spec.params.contains_key(p.name) {
            return Err(err(p.name, "is required".into()));
        }
    }
    let load_thresholds = if info.name == "cpu_load" {
        let w = load_threshold(&spec.warn).map_err(|m| err("warn", m))?;
        let c = load_threshold(&spec.crit).map_err(|m| err("crit", m))?;
        if let (Some(w), Some(c)) = (w, c)
            && w.iter().zip(c).any(|(w, c)| c < *w)
        {
            return Err(err("crit", "must not be below warn".into()));
        }
        Some((w, c))
    } else {
        None
    };
    let (warn, crit) = match info.unit {
        _ if load_thresholds.is_some() => (None, None),
        Some((unit, dir)) => {
            let parse = |field: &str, t: &Option<deskside_protocol::Threshold>| {
                t.as_ref()
                    .map(|t| threshold::parse(t, unit))
                    .transpose()
                    .map_err(|m| err(field, m))
            };
            let (w, c) = (parse("warn", &spec.warn)?, parse("crit", &spec.crit)?);
            threshold::validate_pair(w, c, dir).map_err(|m| err("crit", m))?;
            (w, c)
        }
        None => {
            if spec.warn.is_some() || spec.crit.is_some() {
                let field = if spec.warn.is_some() { "warn" } else { "crit" };
                return Err(err(field, format!("{} takes no thresholds", info.name)));
            }
            (None, None)
        }
    };
    let duration = |field: &str,
                    v: &Option<String>,
                    default: Duration|
     -> Result<Duration, PolicyError> {
        match v {
            None => Ok(default),
            Some(s) => humantime::parse_duration(s).map_err(|e| err(field, format!("{s:?}: {e}"))),
        }
    };
    let interval = duration("interval", &spec.interval, info.interval)?;
    if interval < Duration::from_secs(10) || interval > Duration::from_secs(7 * 86400) {
        return Err(err("interval", "must be between 10s and 7d".into()));
    }
    let timeout = duration("timeout", &spec.timeout, Duration::from_secs(10))?;
    if timeout.is_zero() || timeout > MAX_TIMEOUT {
        return Err(err("timeout", "must be between 1ms and 5m".into()));
    }
    let fails_before_alert = spec.fails_before_alert.unwrap_or(1);
    if !(1..=100).contains(&fails_before_alert) {
        return Err(err(
            "fails_before_alert",
            "must be between 1 and 100".into(),
        ));
    }
    for (field, text) in [("title", &spec.title), ("remediation", &spec.remediation)] {
        if let Some(bad) = text
            .keys()
            .find(|l| !matches!(l.as_str(), "en" | "ko" | "ja"))
        {
            return Err(err(
                field,
                format!("unsupported locale {bad:?} (en, ko, ja)"),
            ));
        }
    }
    let open_ticket = match &spec.open_ticket {
        None => None,
        Some(o) => {
            let after = duration("open_ticket", &Some(o.after.clone()), Duration::ZERO)?;
            if after < Duration::from_secs(60) || after > Duration::from_secs(30 * 86400) {
                return Err(err(
                    "open_ticket",
                    "after must be between 1m and 30d".into(),
                ));
            }
            let resolve_after =
                duration("open_ticket", &o.resolve_after, Duration::from_secs(3600))?;
            if resolve_after < Duration::from_secs(60)
                || resolve_after > Duration::from_secs(7 * 86400)
            {
                return Err(err(
                    "open_ticket",
                    "resolve_after must be between 1m and 7d".into(),
                ));
            }
            Some(TicketRule {
                after,
                urgency: o.impact.unwrap_or(deskside_protocol::Urgency::Medium),
                resolve_after,
            })
        }
    };
    let mut kind = parse_kind(info.name, &spec.params).map_err(|(f, m)| err(f, m))?;
    if let (Kind::CpuLoad { warn, crit, .. }, Some((w, c))) = (&mut kind, load_thresholds) {
        (*warn, *crit) = (w, c);
    }
    Ok(Check {
        spec,
        kind,
        warn,
        crit,
        interval,
        timeout,
        fails_before_alert,
        open_ticket,
    })
}

/// A `cpu_load` threshold as `check_load` takes it: one number for the 1-,
/// 5- and 15-minute averages, or three (`"2,3,4"`).
fn load_threshold(t: &Option<deskside_protocol::Threshold>) -> Result<Option<[f64; 3]>, String> {
    use deskside_protocol::Threshold;
    let number = |s: &str| {
        s.trim()
            .parse::<f64>()
            .ok()
            .filter(|n| n.is_finite() && *n >= 0.0)
            .ok_or_else(|| format!("{s:?} is not a load (a number such as 2 or 1.5)"))
    };
    match t {
        None => Ok(None),
        Some(Threshold::Number(n)) => number(&n.to_string()).map(|n| Some([n; 3])),
        Some(Threshold::Text(s)) => {
            let parts: Vec<&str> = s.split(',').collect();
            match parts.as_slice() {
                [one] => number(one).map(|n| Some([n; 3])),
                [a, b, c] => Ok(Some([number(a)?, number(b)?, number(c)?])),
                _ => Err(format!(
                    "{s:?}: give one load for all three windows or three (\"1m,5m,15m\"), as check_load does"
                )),
            }
        }
    }
}

type ParamError = (&'static str, String);

fn opt_str(params: &Map<String, Value>, name: &'static str) -> Result<Option<String>, ParamError> {
    match params.get(name) {
        None => Ok(None),
        Some(Value::String(s)) if !s.is_empty() => Ok(Some(s.clone())),
        Some(_) => Err((name, "must be a non-empty string".into())),
    }
}

fn req_str(params: &Map<String, Value>, name: &'static str) -> Result<String, ParamError> {
    opt_str(params, name)?.ok_or((name, "is required".into()))
}

fn opt_u64(params: &Map<String, Value>, name: &'static str) -> Result<Option<u64>, ParamError> {
    match params.get(name) {
        None => Ok(None),
        Some(v) => v
            .as_u64()
            .map(Some)
            .ok_or((name, "must be a whole number".into())),
    }
}

fn opt_bool(
    params: &Map<String, Value>,
    name: &'static str,
    default: bool,
) -> Result<bool, ParamError> {
    match params.get(name) {
        None => Ok(default),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err((name, "must be true or false".into())),
    }
}

fn status_code(v: &Value) -> Result<u16, ParamError> {
    v.as_u64()
        .and_then(|c| u16::try_from(c).ok())
        .filter(|c| (100..=599).contains(c))
        .ok_or((
            "status",
            "must be an HTTP status code (100-599) or a list of them".to_owned(),
        ))
}

fn parse_kind(kind: &str, params: &Map<String, Value>) -> Result<Kind, ParamError> {
    Ok(match kind {
        "disk_free" => Kind::DiskFree {
            mount: opt_str(params, "mount")?,
        },
        "memory_available" => Kind::MemoryAvailable,
        "swap_used" => Kind::SwapUsed,
        "cpu_load" => Kind::CpuLoad {
            window: match opt_str(params, "window")?.as_deref() {
                None => None,
                Some("5m") => Some(LoadWindow::Five),
                Some("1m") => Some(LoadWindow::One),
                Some("15m") => Some(LoadWindow::Fifteen),
                Some(other) => {
                    return Err((
                        "window",
                        format!("{other:?} is not \"1m\", \"5m\" or \"15m\""),
                    ));
                }
            },
            per_core: match params.get("per_core") {
                None => false,
                Some(Value::Bool(b)) => *b,
                Some(_) => return Err(("per_core", "must be true or false".into())),
            },
            // Filled in from warn/crit by the caller.
            warn: None,
            crit: None,
        },
        "uptime" => Kind::Uptime,
        "reboot_pending" => Kind::RebootPending,
        "temperature" => Kind::Temperature {
            sensor: opt_str(params, "sensor")?,
        },
        "battery_health" => Kind::BatteryHealth,
        "process_running" => {
            let (name, pattern) = (opt_str(params, "name")?, opt_str(params, "pattern")?);
            if name.is_none() && pattern.is_none() {
                return Err(("name", "name or pattern is required".into()));
            }
            let min_count = opt_u64(params, "min_count")?.unwrap_or(1);
            Kind::ProcessRunning {
                name,
                pattern,
                min_count: u32::try_from(min_count)
                    .map_err(|_| ("min_count", "is too large".to_owned()))?,
            }
        }
        "service_active" => Kind::ServiceActive {
            name: req_str(params, "name")?,
        },
        "tcp_connect" => Kind::TcpConnect {
            host: req_str(params, "host")?,
            port: opt_u64(params, "port")?
                .and_then(|p| u16::try_from(p).ok())
                .filter(|p| *p > 0)
                .ok_or(("port", "must be a port number from 1 to 65535".to_owned()))?,
        },
        "dns_resolve" => Kind::DnsResolve {
            name: req_str(params, "name")?,
            expect: opt_str(params, "expect")?
                .map(|a| {
                    a.parse::<IpAddr>()
                        .map_err(|_| ("expect", format!("{a:?} is not an IP address")))
                })
                .transpose()?,
        },
        "disk_encryption" => Kind::DiskEncryption,
        "firewall_enabled" => Kind::FirewallEnabled,
        "command" => {
            let argv: Vec<String> = match params.get("argv") {
                Some(Value::Array(items)) => items
                    .iter()
                    .map(|v| v.as_str().map(str::to_owned))
                    .collect::<Option<_>>()
                    .ok_or(("argv", "must be a list of strings".to_owned()))?,
                _ => return Err(("argv", "must be a list of strings".into())),
            };
            if argv.first().is_none_or(|p| p.is_empty()) {
                return Err(("argv", "must name a program".into()));
            }
            let max_output = opt_u64(params, "max_output")?.unwrap_or(64 * 1024);
            if !(256..=16 * 1024 * 1024).contains(&max_output) {
                return Err((
                    "max_output",
                    "must be between 256 and 16777216 bytes".into(),
                ));
            }
            Kind::Command {
                argv,
                max_output: usize::try_from(max_output).unwrap_or(64 * 1024),
                confined: None,
            }
        }
        "http" => {
            let url = req_str(params, "url")?;
            if !(url.starts_with("http://") || url.starts_with("https://")) || url.len() < 8 {
                return Err(("url", format!("{url:?} is not an http:// or https:// URL")));
            }
            let status = match params.get("status") {
                None => Vec::new(),
                Some(Value::Array(items)) => {
                    items.iter().map(status_code).collect::<Result<_, _>>()?
                }
                Some(v) => vec![status_code(v)?],
            };
            Kind::Http {
                url,
                status,
                body_contains: opt_str(params, "body_contains")?,
                ca_file: opt_str(params, "ca_file")?,
                verify: opt_bool(params, "verify", true)?,
            }
        }
        "tls_cert_expiry" => Kind::TlsCertExpiry {
            host: req_str(params, "host")?,
            port: match opt_u64(params, "port")? {
                None => 443,
                Some(p) => u16::try_from(p)
                    .ok()
                    .filter(|p| *p > 0)
                    .ok_or(("port", "must be a port number from 1 to 65535".to_owned()))?,
            },
            server_name: opt_str(params, "server_name")?,
            ca_file: opt_str(params, "ca_file")?,
            verify: opt_bool(params, "verify", true)?,
        },
        other => return Err(("kind", format!("unknown kind {other:?}"))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_policy_is_valid_and_translated() {
        let p = LoadedPolicy::from_toml(DEFAULT_POLICY).unwrap();
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        assert!(p.checks.len() >= 10);
        for c in &p.checks {
            for text in [&c.spec.title, &c.spec.remediation] {
                for locale in ["en", "ko", "ja"] {
                    assert!(
                        text.get(locale).is_some_and(|t| !t.trim().is_empty()),
                        "{}: missing {locale} text",
                        c.spec.id
                    );
                }
            }
        }
        let disk = p
            .checks
            .iter()
            .find(|c| c.spec.kind == "disk_free")
            .unwrap();
        assert_eq!(disk.warn, Some(Quantity::Percent(15.0)));
        assert_eq!(disk.crit, Some(Quantity::Percent(5.0)));
        let up = p.checks.iter().find(|c| c.spec.kind == "uptime").unwrap();
        assert_eq!(
            up.warn,
            Some(Quantity::Duration(Duration::from_secs(14 * 86400)))
        );
    }

    #[test]
    fn one_bad_check_does_not_disable_the_others() {
        let p = LoadedPolicy::from_toml(
            r#"
            version = 7
            [[checks]]
            id = "root"
            kind = "disk_free"
            warn = "15%"
            crit = "5%"

            [[checks]]
            id = "bad-threshold"
            kind = "disk_free"
            warn = "lots"

            [[checks]]
            id = "typo"
            kind = "tcp_connect"
            host = "localhost"
            prot = 22

            [[checks]]
            kind = "uptime"

            [[checks]]
            id = "root"
            kind = "uptime"

            [[checks]]
            id = "nope"
            kind = "fortune_telling"

            [[checks]]
            id = "plugin"
            kind = "command"
            argv = ["/usr/lib/nagios/plugins/check_users", "-w", "5"]
            "#,
        )
        .unwrap();
        assert_eq!(p.version, 7);
        let ids: Vec<&str> = p.checks.iter().map(|c| c.spec.id.as_str()).collect();
        assert_eq!(ids, ["root", "plugin"]);
        let msgs: Vec<String> = p.errors.iter().map(ToString::to_string).collect();
        assert_eq!(msgs.len(), 5, "{msgs:#?}");
        assert!(
            msgs[0].starts_with("check \"bad-threshold\", field \"warn\""),
            "{}",
            msgs[0]
        );
        assert!(
            msgs[1].starts_with("check \"typo\", field \"prot\""),
            "{}",
            msgs[1]
        );
        assert!(
            msgs[2].starts_with("check #4, field \"id\": is required"),
            "{}",
            msgs[2]
        );
        assert!(msgs[3].contains("same id"), "{}", msgs[3]);
        assert!(
            msgs[4].contains("unknown kind \"fortune_telling\""),
            "{}",
            msgs[4]
        );
    }

    #[test]
    fn field_errors_name_the_field() {
        let one = |toml: &str| {
            let p = LoadedPolicy::from_toml(&format!("[[checks]]\nid = \"x\"\n{toml}")).unwrap();
            p.errors
                .first()
                .map(|e| (e.field.clone(), e.message.clone()))
        };
        assert_eq!(
            one("kind = \"disk_free\"\nwarn = \"5%\"\ncrit = \"15%\"")
                .unwrap()
                .0,
            "crit"
        );
        assert_eq!(one("kind = \"uptime\"\nwarn = 14").unwrap().0, "warn");
        assert_eq!(
            one("kind = \"uptime\"\ninterval = \"1s\"").unwrap().0,
            "interval"
        );
        assert_eq!(
            one("kind = \"uptime\"\ntimeout = \"1h\"").unwrap().0,
            "timeout"
        );
        assert_eq!(
            one("kind = \"uptime\"\nfails_before_alert = 0").unwrap().0,
            "fails_before_alert"
        );
        assert_eq!(
            one("kind = \"reboot_pending\"\nwarn = 1").unwrap().0,
            "warn"
        );
        assert_eq!(
            one("kind = \"tcp_connect\"\nhost = \"h\"\nport = 70000")
                .unwrap()
                .0,
            "port"
        );
        assert_eq!(one("kind = \"command\"\nargv = []").unwrap().0, "argv");
        assert_eq!(
            one("kind = \"command\"\nargv = \"ls -l\"").unwrap().0,
            "argv"
        );
        assert_eq!(
            one("kind = \"dns_resolve\"\nname = \"x\"\nexpect = \"nope\"")
                .unwrap()
                .0,
            "expect"
        );
        assert_eq!(
            one("kind = \"uptime\"\ntitle = { fr = \"Durée\" }")
                .unwrap()
                .0,
            "title"
        );
        assert_eq!(
            one("kind = \"uptime\"\nnotify_user = \"yes\"").unwrap().0,
            "notify_user"
        );
        assert_eq!(
            one("kind = \"cpu_load\"\nwindow = \"2m\"").unwrap().0,
            "window"
        );
        assert!(one("kind = \"uptime\"\nwarn = \"14d\"\ncrit = \"30d\"").is_none());
    }

    #[test]
    fn network_kinds_validate_their_parameters() {
        let field = |toml: &str| {
            let p = LoadedPolicy::from_toml(&format!("[[checks]]\nid = \"x\"\n{toml}")).unwrap();
            p.errors.first().map(|e| e.field.clone())
        };
        assert_eq!(
            field("kind = \"http\"\nurl = \"ftp://x\"").as_deref(),
            Some("url")
        );
        assert_eq!(
            field("kind = \"http\"\nurl = \"https://x.example\"\nstatus = 700").as_deref(),
            Some("status")
        );
        assert_eq!(
            field("kind = \"http\"\nurl = \"https://x.example\"\nverify = 1").as_deref(),
            Some("verify")
        );
        assert_eq!(
            field("kind = \"tls_cert_expiry\"\nhost = \"x\"\nwarn = 14").as_deref(),
            Some("warn")
        );
        assert_eq!(
            field("kind = \"tls_cert_expiry\"\nport = 443").as_deref(),
            Some("host")
        );
        assert_eq!(
            field(
                "kind = \"http\"\nurl = \"https://x.example\"\nstatus = [200, 301]\nwarn = \"1s\""
            ),
            None
        );
        assert_eq!(
            field("kind = \"tls_cert_expiry\"\nhost = \"x\"\nwarn = \"14d\"\ncrit = \"3d\""),
            None
        );
        let p = LoadedPolicy::from_toml(
            "[[checks]]\nid = \"t\"\nkind = \"tls_cert_expiry\"\nhost = \"x\"\n",
        )
        .unwrap();
        assert!(matches!(
            &p.checks[0].kind,
            Kind::TlsCertExpiry {
                port: 443,
                verify: true,
                ..
            }
        ));
    }

    #[test]
    fn unknown_top_level_keys_and_empty_policies_are_errors() {
        let e = LoadedPolicy::from_toml("[[check]]\nid = \"a\"\nkind = \"uptime\"\n").unwrap_err();
        assert!(e.contains("unknown top-level key \"check\""), "{e}");
        let e = LoadedPolicy::from_json(r#"{"checks": [], "threshold": 1, "x": 2}"#).unwrap_err();
        assert!(e.contains("\"threshold\", \"x\""), "{e}");
        assert!(LoadedPolicy::from_json("[]").is_err());
        for empty in [
            LoadedPolicy::from_toml("").unwrap(),
            LoadedPolicy::from_toml("checks = []").unwrap(),
            LoadedPolicy::from_json(r#"{"version": 4, "checks": []}"#).unwrap(),
        ] {
            assert_eq!(empty.errors.len(), 1);
            assert_eq!(empty.errors[0].position, 0);
            assert!(
                empty.errors[0]
                    .to_string()
                    .starts_with("policy, field \"checks\""),
                "{}",
                empty.errors[0]
            );
        }
        let none_valid =
            LoadedPolicy::from_toml("[[checks]]\nid = \"a\"\nkind = \"nope\"\n").unwrap();
        assert_eq!(none_valid.errors.len(), 2);
        assert!(none_valid.errors[1].message.contains("no valid check"));
    }

    #[test]
    fn cpu_load_takes_one_threshold_or_three_like_check_load() {
        let load = |extra: &str| {
            LoadedPolicy::from_toml(&format!(
                "[[checks]]\nid = \"l\"\nkind = \"cpu_load\"\n{extra}"
            ))
            .unwrap()
        };
        let p = load("warn = 2\ncrit = \"4\"\n");
        assert!(matches!(
            p.checks[0].kind,
            Kind::CpuLoad {
                window: None,
                warn: Some([2.0, 2.0, 2.0]),
                crit: Some([4.0, 4.0, 4.0]),
                ..
            }
        ));
        let p = load("warn = \"3,2,1\"\ncrit = \"6,5,4\"\nwindow = \"15m\"\n");
        assert!(matches!(
            p.checks[0].kind,
            Kind::CpuLoad {
                window: Some(LoadWindow::Fifteen),
                warn: Some([3.0, 2.0, 1.0]),
                ..
            }
        ));
        assert_eq!(load("warn = \"1,2\"\n").errors[0].field, "warn");
        assert_eq!(
            load("warn = \"3,3,3\"\ncrit = \"4,2,4\"\n").errors[0].field,
            "crit"
        );
        assert_eq!(load("crit = \"lots\"\n").errors[0].field, "crit");
    }

    #[test]
    fn json_policies_from_the_desk_load_the_same_way() {
        let policy: Policy = serde_json::from_str(
            r#"{"version":3,"checks":[{"id":"a","kind":"swap_used","warn":"50%"},{"id":"b"}]}"#,
        )
        .unwrap();
        let p = LoadedPolicy::load(&policy);
        assert_eq!(p.checks.len(), 1);
        assert_eq!(p.errors[0].field, "kind");
        assert!(LoadedPolicy::from_toml("this is not toml [").is_err());
    }
}
