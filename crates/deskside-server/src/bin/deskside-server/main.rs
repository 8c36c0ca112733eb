//! `deskside-server`: run the desk and administer it from the command line.
//! Administration commands take the same `--config`, `--data-dir` and
//! environment as `serve` and work on a fresh data directory.

use std::io::BufRead;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use chrono::Utc;
use clap::{Parser, Subcommand};
use deskside_server::api::{self, Limits};
use deskside_server::blobs::{Blobs, DiskBlobs};
use deskside_server::config::{EXAMPLE, ServerConfig, redact_url};
use deskside_server::credentials::{hash_password, hash_token, new_token};
use deskside_server::store::{self, Backend, Role, Store};

#[derive(Debug, Parser)]
#[command(name = "deskside-server", version, about = "Deskside desk server")]
struct Cli {
    /// Configuration file.
    #[arg(long, global = true, value_name = "FILE", env = "DESKSIDE_CONFIG")]
    config: Option<PathBuf>,
    /// Data directory (overrides the configuration).
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server (migrations run first).
    Serve {
        /// Address to listen on (overrides the configuration).
        #[arg(long, value_name = "ADDR")]
        listen: Option<std::net::SocketAddr>,
    },
    /// Bring the database schema up to date and exit.
    Migrate,
    /// Manage technicians and administrators.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Manage technician API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Revoke devices.
    Device {
        #[command(subcommand)]
        command: DeviceCommand,
    },
    /// The audit log: policies, credentials, users, devices.
    Audit {
        /// How many entries, newest first.
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=500))]
        limit: u32,
    },
    /// Manage the secrets devices enroll with.
    EnrollSecret {
        #[command(subcommand)]
        command: SecretCommand,
    },
    /// Print the commented example configuration.
    DefaultConfig,
    /// Print the OpenAPI document of the API.
    Openapi,
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Create a user.
    Create {
        /// E-mail address.
        #[arg(long)]
        email: String,
        /// `admin` or `technician`.
        #[arg(long, value_parser = ["admin", "technician"])]
        role: String,
        /// Read a password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List users.
    List,
    /// Deactivate a user: no login; sessions and API tokens stop at once.
    Deactivate {
        /// The user's e-mail address.
        #[arg(long)]
        email: String,
    },
}

#[derive(Debug, Subcommand)]
enum DeviceCommand {
    /// Revoke a device: its token stops working at once on every node.
    Revoke {
        /// The device's id.
        id: i64,
    },
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Create an API token for a user; it is printed once.
    Create {
        /// The user's e-mail address.
        #[arg(long)]
        email: String,
    },
    /// List API tokens (without the tokens themselves).
    List {
        /// Only this user's.
        #[arg(long)]
        email: Option<String>,
    },
    /// Revoke an API token; it stops working at once.
    Revoke {
        /// The token's id (see `token list`).
        id: i64,
    },
}

#[derive(Debug, Subcommand)]
enum SecretCommand {
    /// Create an enroll secret; it is printed once.
    Create {
        /// What it is for.
        #[arg(long)]
        label: Option<String>,
        /// How long it works (`30d`, `12h`); default: until revoked.
        #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
        expires_in: Option<std::time::Duration>,
    },
    /// List enroll secrets.
    List,
    /// Revoke an enroll secret; it stops working at once.
    Revoke {
        /// The secret's id.
        id: i64,
    },
}

fn init_logging() {
    let level = std::env::var("DESKSIDE_LOG")
        .ok()
        .and_then(|l| l.parse::<tracing::Level>().ok())
        .unwrap_or(tracing::Level::INFO);
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(level)
        .with_ansi(false)
        .init();
}

async fn serve<S: Store>(store: S, cfg: &ServerConfig) -> Result<()> {
    if let Some(problem) = cfg.serving_problem() {
        bail!("{problem}");
    }
    let limits = Limits {
        max_body_bytes: cfg.max_body_bytes,
        request_timeout: cfg.request_timeout,
        offline_after: cfg.offline_after,
        login_per_minute: cfg.login_per_minute,
        sla_interval: Some(cfg.sla_interval),
        candidate_interval: Some(cfg.problem_candidate_interval),
        webhook_interval: Some(std::time::Duration::from_secs(5)),
        webhook_allowed_networks: cfg
            .webhook_allowed_networks
            .iter()
            .filter_map(|n| n.parse().ok())
            .collect(),
        ..Limits::default()
    };
    let listener = tokio::net::TcpListener::bind(cfg.listen)
        .await
        .with_context(|| format!("cannot listen on {}", cfg.listen))?;
    let addr = listener
        .local_addr()
        .context("reading the listen address")?;
    let tls = match (&cfg.tls_cert_file, &cfg.tls_key_file) {
        (Some(cert), Some(key)) => {
            Some(deskside_server::tls::server_config(cert, key).map_err(anyhow::Error::msg)?)
        }
        _ => None,
    };
    let scheme = if tls.is_some() { "https" } else { "http" };
    // Tests and scripts read this line to learn the port of 127.0.0.1:0.
    println!("listening on {scheme}://{addr}");
    tracing::info!(%addr, "desk server started");
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let blobs = match &cfg.blob_url {
        Some(url) => Blobs::s3(url).with_context(|| format!("blob storage {url}"))?,
        None => DiskBlobs::new(cfg.data_dir.join("blobs"))
            .with_context(|| format!("cannot create {}", cfg.data_dir.join("blobs").display()))?
            .into(),
    };
    tokio::spawn(prune(
        store.clone(),
        cfg.metrics_retention,
        cfg.inventory_change_retention,
    ));
    let app = api::router_with(store, blobs, limits, cfg.trusted_proxies.clone());
    match tls {
        Some(tls) => api::serve_tls(listener, app, tls, shutdown).await,
        None => api::serve(listener, app, shutdown).await,
    }
    .context("serving")
}

/// Rolls metric samples older than 48 hours into hourly rollups, deletes
/// metrics and inventory changes older than their retention, and events
/// older than a day, hourly. Every node may do it: the deletion is idempotent.
async fn prune<S: Store>(store: S, metrics: std::time::Duration, changes: std::time::Duration) {
    let keep = |d: std::time::Duration| {
        chrono::TimeDelta::from_std(d).unwrap_or(chrono::TimeDelta::days(30))
    };
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(3600));
    loop {
        tick.tick().await;
        let now = chrono::Utc::now();
        // Samples stored as JSON by an older desk become numbers, a batch
        // at a time so that no transaction holds the database for long.
        loop {
            match deskside_server::metric_tiers::convert_legacy(&store, 1000).await {
                Ok(0) => break,
                Ok(n) => tracing::info!(converted = n, "JSON metric samples stored as numbers"),
                Err(e) => {
                    tracing::warn!("converting JSON metric samples: {e}");
                    break;
                }
            }
        }
        let raw_until = now.timestamp() - deskside_server::metric_tiers::RAW_WINDOW;
        match store.roll_up_metrics(raw_until).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(samples = n, "metric samples rolled up into hours"),
            Err(e) => tracing::warn!("rolling up metric samples: {e}"),
        }
        match store.prune_metric_samples(now - keep(metrics)).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(deleted = n, "old metric samples pruned"),
            Err(e) => tracing::warn!("pruning metric samples: {e}"),
        }
        match store.prune_inventory_changes(now - keep(changes)).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(deleted = n, "old inventory changes pruned"),
            Err(e) => tracing::warn!("pruning inventory changes: {e}"),
        }
        // The event log only bridges a console's dropped connection (and
        // carries presence heartbeats): a day is plenty.
        match store.prune_events(now - chrono::TimeDelta::days(1)).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(deleted = n, "old events pruned"),
            Err(e) => tracing::warn!("pruning events: {e}"),
        }
    }
}

/// An audit entry for a change made on the command line (no user).
async fn audit<S: Store>(store: &S, action: &str, target: String) -> Result<()> {
    store
        .record_audit(&store::AuditRecord {
            user_id: None,
            action,
            target: &target,
            detail: "{\"by\":\"command line\"}",
        })
        .await
        .context("recording the audit entry")
}

async fn admin<S: Store>(store: S, command: Command, cfg: &ServerConfig) -> Result<()> {
    store.migrate().await.context("migrating the database")?;
    match command {
        Command::Serve { .. } => serve(store, cfg).await?,
        Command::Migrate => println!("database is up to date"),
        Command::User {
            command:
                UserCommand::Create {
                    email,
                    role,
                    password_stdin,
                },
        } => {
            if !store::is_email(&email) {
                bail!("{email:?} is not an e-mail address");
            }
            let password_hash = if password_stdin {
                let mut line = String::new();
                std::io::stdin()
                    .lock()
                    .read_line(&mut line)
                    .context("reading the password from stdin")?;
                let pw = line.trim_end_matches(['\r', '\n']);
                if pw.len() < 12 {
                    bail!("the password must be at least 12 characters");
                }
                Some(hash_password(pw).map_err(anyhow::Error::msg)?)
            } else {
                None
            };
            let role = Role::parse(&role).context("role must be admin or technician")?;
            let user = store
                .create_user(&email, role, password_hash.as_deref())
                .await?;
            audit(&store, "user.create", format!("user:{}", user.id)).await?;
            println!(
                "created {} {} (id {})",
                user.role.as_str(),
                user.email,
                user.id
            );
        }
        Command::User {
            command: UserCommand::List,
        } => {
            println!("{:<6} {:<12} {:<12} EMAIL", "ID", "ROLE", "STATE");
            for u in store.list_users().await? {
                let state = if u.deactivated_at.is_some() {
                    "deactivated"
                } else {
                    "active"
                };
                println!(
                    "{:<6} {:<12} {:<12} {}",
                    u.id,
                    u.role.as_str(),
                    state,
                    u.email
                );
            }
        }
        Command::User {
            command: UserCommand::Deactivate { email },
        } => {
            let user = store
                .user_by_email(&email)
                .await?
                .with_context(|| format!("no user {email}"))?;
            if !store.deactivate_user(user.id).await? {
                bail!("{email} is deactivated already");
            }
            audit(&store, "user.deactivate", format!("user:{}", user.id)).await?;
            println!(
                "{} deactivated: sessions ended, API tokens revoked",
                user.email
            );
        }
        Command::Token {
            command: TokenCommand::List { email },
        } => {
            let owner = match email {
                None => None,
                Some(e) => Some(
                    store
                        .user_by_email(&e)
                        .await?
                        .with_context(|| format!("no user {e}"))?
                        .id,
                ),
            };
            println!("{:<6} {:<10} {:<25} EMAIL", "ID", "STATE", "CREATED");
            for t in store.list_api_tokens(owner).await? {
                let state = if t.revoked_at.is_some() {
                    "revoked"
                } else {
                    "active"
                };
                println!(
                    "{:<6} {:<10} {:<25} {}",
                    t.id,
                    state,
                    t.created_at.format("%Y-%m-%d %H:%M:%S UTC"),
                    t.email
                );
            }
        }
        Command::Token {
            command: TokenCommand::Revoke { id },
        } => {
            if !store.revoke_api_token(id, None).await? {
                bail!("no active API token {id}");
            }
            audit(&store, "token.revoke", format!("token:{id}")).await?;
            println!("API token {id} revoked");
        }
        Command::Device {
            command: DeviceCommand::Revoke { id },
        } => {
            if !store.revoke_device(id).await? {
                bail!("no unrevoked device {id}");
            }
            audit(&store, "device.revoke", format!("device:{id}")).await?;
            println!("device {id} revoked: its token stops working at once");
        }
        Command::Audit { limit } => {
            for e in store.audit_log(0, limit).await? {
                println!(
                    "{}  {:<16} {:<12} {} {}",
                    e.at.format("%Y-%m-%d %H:%M:%S UTC"),
                    e.action,
                    e.target,
                    e.email.as_deref().unwrap_or("(command line)"),
                    e.detail
                );
            }
        }
        Command::Token {
            command: TokenCommand::Create { email },
        } => {
            let user = store
                .user_by_email(&email)
                .await?
                .with_context(|| format!("no user {email}"))?;
            let token = new_token("dsk_api");
            let id = store
                .create_api_token(user.id, &hash_token(&token), None)
                .await?;
            audit(&store, "token.create", format!("token:{id}")).await?;
            println!("{token}");
            eprintln!(
                "API token for {}: shown once; the desk keeps only its hash.",
                user.email
            );
        }
        Command::EnrollSecret { command } => match command {
            SecretCommand::Create { label, expires_in } => {
                let expires_at = expires_in
                    .map(|d| chrono::TimeDelta::from_std(d).map(|d| Utc::now() + d))
                    .transpose()
                    .context("--expires-in is too long")?;
                let secret = new_token("dsk_enr");
                let s = store
                    .create_enroll_secret(label.as_deref(), &hash_token(&secret), expires_at)
                    .await?;
                audit(
                    &store,
                    "enroll_secret.create",
                    format!("enroll_secret:{}", s.id),
                )
                .await?;
                println!("{secret}");
                eprintln!(
                    "enroll secret {} created: shown once; the desk keeps only its hash.",
                    s.id
                );
            }
            SecretCommand::List => {
                println!(
                    "{:<6} {:<10} {:<25} {:<25} LABEL",
                    "ID", "STATE", "CREATED", "EXPIRES"
                );
                let now = Utc::now();
                for s in store.list_enroll_secrets().await? {
                    let state = if s.revoked_at.is_some() {
                        "revoked"
                    } else if s.usable(now) {
                        "active"
                    } else {
                        "expired"
                    };
                    println!(
                        "{:<6} {:<10} {:<25} {:<25} {}",
                        s.id,
                        state,
                        s.created_at.format("%Y-%m-%d %H:%M:%S UTC"),
                        s.expires_at
                            .map(|e| e.format("%Y-%m-%d %H:%M:%S UTC").to_string())
                            .unwrap_or_else(|| "never".into()),
                        s.label.unwrap_or_default()
                    );
                }
            }
            SecretCommand::Revoke { id } => {
                if !store.revoke_enroll_secret(id).await? {
                    bail!("no active enroll secret {id}");
                }
                audit(
                    &store,
                    "enroll_secret.revoke",
                    format!("enroll_secret:{id}"),
                )
                .await?;
                println!("enroll secret {id} revoked");
            }
        },
        Command::DefaultConfig | Command::Openapi => {
            unreachable!("handled before the database is opened")
        }
    }
    Ok(())
}

async fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::DefaultConfig => {
            print!("{EXAMPLE}");
            return Ok(());
        }
        Command::Openapi => {
            print!("{}", api::openapi_text());
            return Ok(());
        }
        _ => {}
    }
    let mut cfg = ServerConfig::load(cli.config.as_deref(), |k| std::env::var(k).ok())
        .map_err(anyhow::Error::msg)?;
    if let Some(dir) = cli.data_dir {
        cfg.data_dir = dir;
    }
    if let Command::Serve { listen: Some(addr) } = &cli.command {
        cfg.listen = *addr;
    }
    if cfg.database_url.is_none() {
        deskside_server::private_fs::private_dir(&cfg.data_dir).with_context(|| {
            format!(
                "cannot create the data directory {}",
                cfg.data_dir.display()
            )
        })?;
    }
    let url = cfg.database_url();
    let backend = store::open(&url)
        .await
        .with_context(|| format!("cannot open the database {}", redact_url(&url)))?;
    match backend {
        Backend::Sqlite(s) => admin(s, cli.command, &cfg).await,
        Backend::Postgres(s) => admin(s, cli.command, &cfg).await,
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
                let _ = e.print();
                return ExitCode::SUCCESS;
            }
            let rendered = e.render().to_string();
            eprintln!(
                "{} (see 'deskside-server --help')",
                rendered
                    .lines()
                    .next()
                    .unwrap_or("error: invalid arguments")
            );
            return ExitCode::from(2);
        }
    };
    init_logging();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
