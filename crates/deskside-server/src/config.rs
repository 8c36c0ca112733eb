//! Server configuration: defaults → TOML file → `DESKSIDE_*` environment,
//! with secrets readable from `*_FILE` and hidden from `Debug`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// The commented example configuration (`deskside-server default-config`).
pub const EXAMPLE: &str = include_str!("../server.example.toml");

/// The server's settings.
#[derive(Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Data directory (SQLite database, attachments).
    pub data_dir: PathBuf,
    /// Database URL; `None` means SQLite in the data directory.
    pub database_url: Option<String>,
    /// Largest request body.
    pub max_body_bytes: usize,
    /// Longest a request may take.
    #[serde(with = "humantime_serde_compat")]
    pub request_timeout: Duration,
    /// Attachment storage: `None` keeps blobs in the data directory;
    /// `s3://bucket/prefix` puts them in S3-compatible storage.
    pub blob_url: Option<String>,
    /// How long metric samples are kept.
    #[serde(with = "humantime_serde_compat")]
    pub metrics_retention: Duration,
    /// How long inventory change history is kept.
    #[serde(with = "humantime_serde_compat")]
    pub inventory_change_retention: Duration,
    /// A device that has not checked in for longer is shown as offline
    /// (agents check in every minute).
    #[serde(with = "humantime_serde_compat")]
    pub offline_after: Duration,
    /// Login attempts a minute from one client address (bursts of twice
    /// that); each account also stops after 10 failures in 15 minutes,
    /// whatever the address.
    pub login_per_minute: u32,
    /// How often SLA clocks are evaluated for warnings and breaches that
    /// happen without a change (every node may; each is recorded once).
    #[serde(with = "humantime_serde_compat")]
    pub sla_interval: Duration,
    /// How often the desk looks for problem candidates (several devices'
    /// incidents after one software change; every node may, each is
    /// proposed once).
    #[serde(with = "humantime_serde_compat")]
    pub problem_candidate_interval: Duration,
    /// PEM certificate chain: with `tls_key_file`, the desk serves HTTPS.
    pub tls_cert_file: Option<PathBuf>,
    /// PEM private key of the certificate.
    pub tls_key_file: Option<PathBuf>,
    /// Proxies (exact addresses) whose `X-Forwarded-For` names the client:
    /// the TLS proxy in front of the desk.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Networks (`address/prefix`) webhooks may be sent to although they
    /// are loopback, link-local or private; none by default, so that a
    /// webhook cannot reach the desk's own network (server-side request
    /// forgery).
    pub webhook_allowed_networks: Vec<String>,
    /// With PostgreSQL and no `blob_url`: the data directory's `blobs` is
    /// shared by every node (e.g. NFS). Without it that combination is
    /// refused, since a node cannot serve what another stored.
    pub shared_blob_dir: bool,
}

/// `humantime` strings for durations, without another dependency.
mod humantime_serde_compat {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let s = String::deserialize(d)?;
        humantime::parse_duration(&s).map_err(serde::de::Error::custom)
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("deskside-data"),
            database_url: None,
            max_body_bytes: 16 * 1024 * 1024,
            request_timeout: Duration::from_secs(30),
            blob_url: None,
            metrics_retention: Duration::from_secs(30 * 86400),
            inventory_change_retention: Duration::from_secs(365 * 86400),
            offline_after: Duration::from_secs(600),
            login_per_minute: 5,
            sla_interval: Duration::from_secs(30),
            problem_candidate_interval: Duration::from_secs(600),
            tls_cert_file: None,
            tls_key_file: None,
            trusted_proxies: Vec::new(),
            webhook_allowed_networks: Vec::new(),
            shared_blob_dir: false,
        }
    }
}

/// A database URL with its password replaced, for logs.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((userinfo, host)) = rest.split_once('@') else {
        return url.to_owned();
    };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

impl std::fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerConfig")
            .field("listen", &self.listen)
            .field("data_dir", &self.data_dir)
            .field(
                "database_url",
                &self.database_url.as_deref().map(redact_url),
            )
            .field("max_body_bytes", &self.max_body_bytes)
            .field("request_timeout", &self.request_timeout)
            .field("blob_url", &self.blob_url)
            .field("metrics_retention", &self.metrics_retention)
            .field(
                "inventory_change_retention",
                &self.inventory_change_retention,
            )
            .field("offline_after", &self.offline_after)
            .field("login_per_minute", &self.login_per_minute)
            .field("sla_interval", &self.sla_interval)
            .field(
                "problem_candidate_interval",
                &self.problem_candidate_interval,
            )
            .field("tls_cert_file", &self.tls_cert_file)
            .field("tls_key_file", &self.tls_key_file)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("webhook_allowed_networks", &self.webhook_allowed_networks)
            .field("shared_blob_dir", &self.shared_blob_dir)
            .finish()
    }
}

impl ServerConfig {
    /// Loads the configuration from `file` (when given) and the environment.
    pub fn load(file: Option<&Path>, env: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let mut cfg = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
                toml::from_str(&text).map_err(|e| format!("{}: {}", path.display(), e.message()))?
            }
            None => Self::default(),
        };
        if let Some(v) = env("DESKSIDE_LISTEN") {
            cfg.listen = v.parse().map_err(|_| {
                format!("DESKSIDE_LISTEN: {v:?} is not an address such as 127.0.0.1:8080")
            })?;
        }
        if let Some(v) = env("DESKSIDE_DATA_DIR").filter(|v| !v.is_empty()) {
            cfg.data_dir = PathBuf::from(v);
        }
        if let Some(path) = env("DESKSIDE_DATABASE_URL_FILE").filter(|v| !v.is_empty()) {
            let url = std::fs::read_to_string(&path)
                .map_err(|e| format!("DESKSIDE_DATABASE_URL_FILE: cannot read {path}: {e}"))?;
            cfg.database_url = Some(url.trim().to_owned());
        }
        if let Some(v) = env("DESKSIDE_DATABASE_URL").filter(|v| !v.is_empty()) {
            cfg.database_url = Some(v);
        }
        if let Some(v) = env("DESKSIDE_MAX_BODY_BYTES") {
            cfg.max_body_bytes = v
                .parse()
                .map_err(|_| format!("DESKSIDE_MAX_BODY_BYTES: {v:?} is not a number of bytes"))?;
        }
        if let Some(v) = env("DESKSIDE_REQUEST_TIMEOUT") {
            cfg.request_timeout = humantime::parse_duration(&v)
                .map_err(|e| format!("DESKSIDE_REQUEST_TIMEOUT: {e}"))?;
        }
        if let Some(v) = env("DESKSIDE_BLOB_URL").filter(|v| !v.is_empty()) {
            cfg.blob_url = Some(v);
        }
        if let Some(v) = env("DESKSIDE_METRICS_RETENTION") {
            cfg.metrics_retention = humantime::parse_duration(&v)
                .map_err(|e| format!("DESKSIDE_METRICS_RETENTION: {e}"))?;
        }
        if let Some(v) = env("DESKSIDE_INVENTORY_CHANGE_RETENTION") {
            cfg.inventory_change_retention = humantime::parse_duration(&v)
                .map_err(|e| format!("DESKSIDE_INVENTORY_CHANGE_RETENTION: {e}"))?;
        }
        if let Some(v) = env("DESKSIDE_OFFLINE_AFTER") {
            cfg.offline_after = humantime::parse_duration(&v)
                .map_err(|e| format!("DESKSIDE_OFFLINE_AFTER: {e}"))?;
        }
        if let Some(v) = env("DESKSIDE_SLA_INTERVAL") {
            cfg.sla_interval =
                humantime::parse_duration(&v).map_err(|e| format!("DESKSIDE_SLA_INTERVAL: {e}"))?;
        }
        if let Some(v) = env("DESKSIDE_PROBLEM_CANDIDATE_INTERVAL") {
            cfg.problem_candidate_interval = humantime::parse_duration(&v)
                .map_err(|e| format!("DESKSIDE_PROBLEM_CANDIDATE_INTERVAL: {e}"))?;
        }
        if let Some(v) = env("DESKSIDE_LOGIN_PER_MINUTE") {
            cfg.login_per_minute = v
                .parse()
                .map_err(|e| format!("DESKSIDE_LOGIN_PER_MINUTE: {e}"))?;
        }
        if let Some(v) = env("DESKSIDE_TLS_CERT_FILE").filter(|v| !v.is_empty()) {
            cfg.tls_cert_file = Some(PathBuf::from(v));
        }
        if let Some(v) = env("DESKSIDE_TLS_KEY_FILE").filter(|v| !v.is_empty()) {
            cfg.tls_key_file = Some(PathBuf::from(v));
        }
        if let Some(v) = env("DESKSIDE_WEBHOOK_ALLOWED_NETWORKS") {
            cfg.webhook_allowed_networks = v
                .split(',')
                .map(str::trim)
                .filter(|a| !a.is_empty())
                .map(str::to_owned)
                .collect();
        }
        if let Some(v) = env("DESKSIDE_TRUSTED_PROXIES") {
            cfg.trusted_proxies = v
                .split(',')
                .map(str::trim)
                .filter(|a| !a.is_empty())
                .map(|a| {
                    a.parse().map_err(|_| {
                        format!("DESKSIDE_TRUSTED_PROXIES: {a:?} is not an IP address")
                    })
                })
                .collect::<Result<_, _>>()?;
        }
        if let Some(v) = env("DESKSIDE_SHARED_BLOB_DIR") {
            cfg.shared_blob_dir = match v.trim().to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" | "on" => true,
                "0" | "false" | "no" | "off" | "" => false,
                _ => {
                    return Err(format!(
                        "DESKSIDE_SHARED_BLOB_DIR: {v:?} is not true or false"
                    ));
                }
            };
        }
        if cfg.tls_cert_file.is_some() != cfg.tls_key_file.is_some() {
            return Err("tls_cert_file and tls_key_file go together: set both or neither".into());
        }
        if let Some(url) = &cfg.blob_url {
            let bucket = url.strip_prefix("s3://").and_then(|r| r.split('/').next());
            if bucket.is_none_or(str::is_empty) {
                return Err(format!("blob_url {url:?}: expected s3://bucket[/prefix]"));
            }
        }
        if cfg.metrics_retention < Duration::from_secs(3600) {
            return Err("metrics_retention must be at least 1h".into());
        }
        if cfg.offline_after < Duration::from_secs(120) {
            return Err("offline_after must be at least 2m (agents check in every minute)".into());
        }
        if cfg.sla_interval < Duration::from_secs(1) || cfg.sla_interval > Duration::from_secs(3600)
        {
            return Err("sla_interval must be between 1s and 1h".into());
        }
        if cfg.problem_candidate_interval < Duration::from_secs(1)
            || cfg.problem_candidate_interval > Duration::from_secs(86_400)
        {
            return Err("problem_candidate_interval must be between 1s and 24h".into());
        }
        for n in &cfg.webhook_allowed_networks {
            n.parse::<crate::webhooks::Network>()
                .map_err(|e| format!("webhook_allowed_networks: {e}"))?;
        }
        if !(1..=10_000).contains(&cfg.login_per_minute) {
            return Err("login_per_minute must be between 1 and 10000".into());
        }
        if cfg.inventory_change_retention < Duration::from_secs(86400) {
            return Err("inventory_change_retention must be at least 1day".into());
        }
        if let Some(url) = &cfg.database_url
            && !(url.starts_with("sqlite:")
                || url.starts_with("postgres://")
                || url.starts_with("postgresql://"))
        {
            return Err(format!(
                "database_url {:?}: expected sqlite:… or postgres://…",
                redact_url(url)
            ));
        }
        if cfg.max_body_bytes < 1024 {
            return Err("max_body_bytes must be at least 1024".into());
        }
        Ok(cfg)
    }

    /// Why this configuration cannot serve, if it cannot: PostgreSQL is for
    /// several nodes, and attachments on one node's disk are unreadable by
    /// the others.
    pub fn serving_problem(&self) -> Option<String> {
        let postgres = self
            .database_url
            .as_deref()
            .is_some_and(|u| u.starts_with("postgres"));
        (postgres && self.blob_url.is_none() && !self.shared_blob_dir).then(|| {
            format!(
                "with PostgreSQL, attachments need storage every node reaches: set blob_url = \"s3://bucket/prefix\" (DESKSIDE_BLOB_URL), or shared_blob_dir = true (DESKSIDE_SHARED_BLOB_DIR) if {} is shared by every node",
                self.data_dir.join("blobs").display()
            )
        })
    }

    /// The database URL in effect (SQLite in the data directory by default).
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => {
                let dir =
                    std::path::absolute(&self.data_dir).unwrap_or_else(|_| self.data_dir.clone());
                format!("sqlite://{}", dir.join("desk.db").display())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_with_local_blobs_needs_a_shared_directory() {
        let pg = |extra: &[(&str, &str)]| {
            let extra: Vec<(String, String)> = extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect();
            ServerConfig::load(None, move |k| {
                if k == "DESKSIDE_DATABASE_URL" {
                    return Some("postgres://desk@db/desk".to_owned());
                }
                extra
                    .iter()
                    .find(|(key, _)| key == k)
                    .map(|(_, v)| v.clone())
            })
            .unwrap()
        };
        let problem = pg(&[]).serving_problem().unwrap();
        assert!(problem.contains("blob_url") && problem.contains("shared_blob_dir"));
        assert!(
            pg(&[("DESKSIDE_SHARED_BLOB_DIR", "true")])
                .serving_problem()
                .is_none()
        );
        assert!(
            pg(&[("DESKSIDE_BLOB_URL", "s3://b/p")])
                .serving_problem()
                .is_none()
        );
        assert!(
            ServerConfig::default().serving_problem().is_none(),
            "SQLite is one node"
        );
        let proxies = pg(&[("DESKSIDE_TRUSTED_PROXIES", "10.0.0.1, ::1")]).trusted_proxies;
        assert_eq!(proxies.len(), 2);
        assert!(
            ServerConfig::load(None, |k| (k == "DESKSIDE_TRUSTED_PROXIES")
                .then(|| "proxy".into()))
            .unwrap_err()
            .contains("DESKSIDE_TRUSTED_PROXIES")
        );
    }

    #[test]
    fn example_states_the_defaults_and_env_wins() {
        let parsed: ServerConfig = toml::from_str(EXAMPLE).unwrap();
        assert_eq!(parsed, ServerConfig::default());
        let env = |k: &str| match k {
            "DESKSIDE_LISTEN" => Some("0.0.0.0:9000".to_owned()),
            "DESKSIDE_DATABASE_URL" => Some("postgres://desk:s3cret@db/desk".to_owned()),
            _ => None,
        };
        let cfg = ServerConfig::load(None, env).unwrap();
        assert_eq!(cfg.listen.port(), 9000);
        let dbg = format!("{cfg:?}");
        assert!(
            !dbg.contains("s3cret") && dbg.contains("desk:***@db"),
            "{dbg}"
        );
    }

    #[test]
    fn secrets_from_files_and_bad_values() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("url");
        std::fs::write(&f, "postgres://u:pw@h/d\n").unwrap();
        let path = f.to_str().unwrap().to_owned();
        let env = move |k: &str| (k == "DESKSIDE_DATABASE_URL_FILE").then(|| path.clone());
        assert_eq!(
            ServerConfig::load(None, env).unwrap().database_url(),
            "postgres://u:pw@h/d"
        );
        let env = |k: &str| (k == "DESKSIDE_DATABASE_URL").then(|| "mysql://x".to_owned());
        assert!(
            ServerConfig::load(None, env)
                .unwrap_err()
                .contains("expected sqlite")
        );
        let env = |k: &str| (k == "DESKSIDE_BLOB_URL").then(|| "/srv/blobs".to_owned());
        assert!(
            ServerConfig::load(None, env)
                .unwrap_err()
                .contains("s3://bucket")
        );
        let env = |k: &str| (k == "DESKSIDE_METRICS_RETENTION").then(|| "5m".to_owned());
        assert!(
            ServerConfig::load(None, env)
                .unwrap_err()
                .contains("at least 1h")
        );
        // How soon a device reads as offline, and logins per address: from
        // TOML, overridden by the environment, and refused out of range.
        let toml = dir.path().join("limits.toml");
        std::fs::write(&toml, "offline_after = \"15m\"\nlogin_per_minute = 20\n").unwrap();
        let c = ServerConfig::load(Some(&toml), |_| None).unwrap();
        assert_eq!(
            (c.offline_after, c.login_per_minute),
            (Duration::from_secs(900), 20)
        );
        let c = ServerConfig::load(Some(&toml), |k| {
            (k == "DESKSIDE_LOGIN_PER_MINUTE").then(|| "60".to_owned())
        })
        .unwrap();
        assert_eq!(c.login_per_minute, 60);
        let env = |k: &str| (k == "DESKSIDE_OFFLINE_AFTER").then(|| "30s".to_owned());
        assert!(
            ServerConfig::load(None, env)
                .unwrap_err()
                .contains("at least 2m")
        );
        let env = |k: &str| (k == "DESKSIDE_LOGIN_PER_MINUTE").then(|| "0".to_owned());
        assert!(
            ServerConfig::load(None, env)
                .unwrap_err()
                .contains("login_per_minute")
        );
        let env = |k: &str| (k == "DESKSIDE_LOGIN_PER_MINUTE").then(|| "many".to_owned());
        assert!(
            ServerConfig::load(None, env)
                .unwrap_err()
                .contains("DESKSIDE_LOGIN_PER_MINUTE")
        );
        let env = |k: &str| {
            (k == "DESKSIDE_WEBHOOK_ALLOWED_NETWORKS").then(|| "10.20.0.0/16, fd00::/8".to_owned())
        };
        assert_eq!(
            ServerConfig::load(None, env)
                .unwrap()
                .webhook_allowed_networks,
            ["10.20.0.0/16", "fd00::/8"]
        );
        for bad in ["10.20.0.0", "10.0.0.0/33", "intranet/8"] {
            let env = |k: &str| (k == "DESKSIDE_WEBHOOK_ALLOWED_NETWORKS").then(|| bad.to_owned());
            assert!(
                ServerConfig::load(None, env)
                    .unwrap_err()
                    .contains("webhook_allowed_networks"),
                "{bad}"
            );
        }
        let env = |k: &str| (k == "DESKSIDE_PROBLEM_CANDIDATE_INTERVAL").then(|| "5s".to_owned());
        assert_eq!(
            ServerConfig::load(None, env)
                .unwrap()
                .problem_candidate_interval,
            Duration::from_secs(5)
        );
        let env = |k: &str| (k == "DESKSIDE_PROBLEM_CANDIDATE_INTERVAL").then(|| "2d".to_owned());
        assert!(
            ServerConfig::load(None, env)
                .unwrap_err()
                .contains("problem_candidate_interval")
        );
        let env = |k: &str| (k == "DESKSIDE_SLA_INTERVAL").then(|| "2m".to_owned());
        assert_eq!(
            ServerConfig::load(None, env).unwrap().sla_interval,
            Duration::from_secs(120)
        );
        for bad in ["0s", "2h"] {
            let env = |k: &str| (k == "DESKSIDE_SLA_INTERVAL").then(|| bad.to_owned());
            assert!(
                ServerConfig::load(None, env)
                    .unwrap_err()
                    .contains("sla_interval"),
                "{bad}"
            );
        }
        let env = |k: &str| (k == "DESKSIDE_SLA_INTERVAL").then(|| "often".to_owned());
        assert!(
            ServerConfig::load(None, env)
                .unwrap_err()
                .contains("DESKSIDE_SLA_INTERVAL")
        );
        let env = |k: &str| (k == "DESKSIDE_LISTEN").then(|| "everywhere".to_owned());
        assert!(
            ServerConfig::load(None, env)
                .unwrap_err()
                .contains("DESKSIDE_LISTEN")
        );
        let cfg = dir.path().join("s.toml");
        std::fs::write(&cfg, "listn = \"x\"").unwrap();
        assert!(
            ServerConfig::load(Some(&cfg), |_| None)
                .unwrap_err()
                .contains("listn")
        );
        let d = ServerConfig {
            data_dir: dir.path().to_path_buf(),
            ..ServerConfig::default()
        };
        assert!(
            d.database_url().starts_with("sqlite:///") && d.database_url().ends_with("/desk.db")
        );
    }

    #[test]
    fn tls_needs_both_files_and_a_real_identity() {
        let env = |k: &str| (k == "DESKSIDE_TLS_CERT_FILE").then(|| "/etc/desk.pem".to_owned());
        let err = ServerConfig::load(None, env).unwrap_err();
        assert!(err.contains("set both or neither"), "{err}");

        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = (dir.path().join("c.pem"), dir.path().join("k.pem"));
        std::fs::write(&cert, "not a certificate").unwrap();
        std::fs::write(&key, "not a key").unwrap();
        let err = crate::tls::server_config(&cert, &key).unwrap_err();
        assert!(err.contains("holds no certificate"), "{err}");
        let err = crate::tls::server_config(&dir.path().join("missing.pem"), &key).unwrap_err();
        assert!(err.contains("cannot read the certificate"), "{err}");
    }
}
