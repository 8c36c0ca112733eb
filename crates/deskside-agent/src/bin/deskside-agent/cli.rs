//! The command line.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "deskside-agent",
    version,
    about = "Deskside endpoint agent: inventory and health of this machine",
    propagate_version = true
)]
pub struct Cli {
    /// Configuration file (replaces the system and user files).
    #[arg(long, global = true, value_name = "FILE", env = "DESKSIDE_CONFIG")]
    pub config: Option<PathBuf>,
    /// State directory (overrides the configuration).
    #[arg(long, global = true, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Collect and print the hardware and software inventory.
    Inventory {
        /// Output format.
        #[arg(long, value_enum, default_value_t = InventoryFormat::Table)]
        format: InventoryFormat,
    },
    /// Take a health sample (CPU, memory, disks, network, processes).
    Metrics {
        /// Output format; with --watch, json prints one sample per line.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        /// Keep sampling until interrupted.
        #[arg(long)]
        watch: bool,
        /// Time between samples with --watch, such as 2s or 500ms
        /// [default: metrics.interval from the configuration, 10s unless
        /// changed]. The first sample is shown at once; on a terminal the
        /// table is redrawn in place.
        #[arg(long, value_name = "DURATION", value_parser = interval)]
        interval: Option<std::time::Duration>,
    },
    /// Show what changed between two inventories saved with `inventory --format json`.
    Diff {
        /// The older inventory.
        old: PathBuf,
        /// The newer inventory.
        new: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Show what changed on this machine since the last run of this command
    /// (the previous inventory is kept in the state directory).
    Changes {
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Run every health check once and exit with the worst state, like a
    /// Monitoring Plugin: 0 ok, 1 warning, 2 critical, 3 unknown.
    Check {
        /// Policy file (TOML, or JSON as the desk sends it); default: the
        /// built-in policy.
        #[arg(long, value_name = "FILE")]
        policy: Option<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        /// Document every check kind and its parameters instead.
        #[arg(long)]
        list: bool,
        /// Remember check states in the state directory between runs, and
        /// show a desktop notification when a check with notify_user
        /// changes state.
        #[arg(long)]
        notify: bool,
        /// Titles and results of the table in this language (`en`, `ko`,
        /// `ja`); without it they stay English, as monitoring expects.
        #[arg(long, value_name = "LANG", value_parser = language)]
        lang: Option<deskside_agent::i18n::Locale>,
    },
    /// Print the commented example configuration (all defaults).
    DefaultConfig,
    /// Enroll this device with a desk.
    Enroll {
        /// The desk's URL [default: desk.server_url].
        #[arg(long, value_name = "URL", value_parser = server_url)]
        server: Option<String>,
        /// The enroll secret [default: desk.enroll_secret]. Prefer
        /// --secret-file or DESKSIDE_ENROLL_SECRET: a command line is
        /// visible to other users.
        #[arg(long, value_name = "SECRET")]
        secret: Option<String>,
        /// A file holding the enroll secret.
        #[arg(long, value_name = "FILE", conflicts_with = "secret")]
        secret_file: Option<PathBuf>,
    },
    /// Tickets: report a problem, follow it, answer.
    Ticket {
        #[command(subcommand)]
        command: TicketCommand,
    },
    /// Run the agent until stopped (SIGTERM or Ctrl-C): health sampling,
    /// scheduled checks with notifications, check-ins, outbox delivery.
    Run,
    /// Deliver the outbox and check in once; exits non-zero when the desk is
    /// unreachable.
    Sync,
    /// Enrollment, desk, last sync, outbox and dead letters, health.
    Status {
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Write the diagnostics bundle a ticket would carry (gzip JSON).
    Diagnostics {
        /// Where to write it.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Suggest knowledge-base articles for a problem, as Report a problem
    /// does: from the articles kept on this computer (no network), those
    /// of failing checks first.
    Articles {
        /// The problem, in the employee's words.
        text: Vec<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

#[derive(Debug, Subcommand)]
pub enum TicketCommand {
    /// Report a problem. Exits as soon as the ticket is safely queued and
    /// delivers it at once when the desk is reachable.
    New {
        /// One line saying what is wrong.
        #[arg(long, value_parser = subject)]
        subject: String,
        /// What happened.
        #[arg(long, default_value = "", value_parser = description)]
        description: String,
        /// hardware, software, network, account, printer or other.
        #[arg(long, value_enum, default_value_t = Category::Other)]
        category: Category,
        /// How much it hinders your work.
        #[arg(long, value_enum, default_value_t = UrgencyArg::Medium)]
        urgency: UrgencyArg,
        /// Something is broken (incident) or you need something
        /// (service-request).
        #[arg(long = "type", value_enum, default_value_t = TypeArg::Incident)]
        ticket_type: TypeArg,
        /// Do not attach the diagnostics bundle.
        #[arg(long)]
        no_diagnostics: bool,
        /// A file to attach (repeatable).
        #[arg(long, value_name = "FILE")]
        attach: Vec<PathBuf>,
        /// A PNG screenshot to attach as the ticket's screenshot.
        #[arg(long, value_name = "PNG")]
        screenshot: Option<PathBuf>,
    },
    /// Your tickets.
    List {
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// One ticket with its conversation.
    Show {
        /// Local id or number (#12).
        id: String,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Answer on a ticket.
    Reply {
        /// Local id or number (#12).
        id: String,
        /// The answer.
        #[arg(long, value_parser = reply)]
        message: String,
    },
    /// Rate a resolved ticket.
    Rate {
        /// Local id or number (#12).
        id: String,
        /// 1 (poor) to 5 (excellent).
        #[arg(long, value_parser = clap::value_parser!(u8).range(1..=5))]
        score: u8,
        /// A few words.
        #[arg(long)]
        comment: Option<String>,
    },
    /// Reopen a resolved or closed ticket: the problem is back.
    Reopen {
        /// Local id or number (#12).
        id: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Category {
    /// Hardware.
    Hardware,
    /// Software.
    Software,
    /// Network.
    Network,
    /// Account or password.
    Account,
    /// Printer.
    Printer,
    /// Anything else.
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum UrgencyArg {
    /// It is an annoyance.
    Low,
    /// It slows me down.
    Medium,
    /// I cannot work.
    High,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TypeArg {
    /// Something is broken.
    Incident,
    /// You need something (access, software, equipment).
    ServiceRequest,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InventoryFormat {
    /// A readable summary.
    Table,
    /// The Deskside protocol document.
    Json,
    /// GLPI's native inventory format.
    Glpi,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A readable summary.
    Table,
    /// JSON.
    Json,
}

// Checked while parsing, so that a bad value is a bad command line (exit
// 2), with the same rules the agent applies.
fn subject(s: &str) -> Result<String, String> {
    deskside_agent::agent::check_subject(s).map(|()| s.to_owned())
}

fn description(s: &str) -> Result<String, String> {
    deskside_agent::agent::check_description(s).map(|()| s.to_owned())
}

fn reply(s: &str) -> Result<String, String> {
    deskside_agent::agent::check_reply(s).map(|()| s.to_owned())
}

fn server_url(s: &str) -> Result<String, String> {
    deskside_agent::agent::check_server_url(s).map(|()| s.to_owned())
}

fn interval(s: &str) -> Result<std::time::Duration, String> {
    match humantime::parse_duration(s) {
        Ok(d) if d.is_zero() => Err("must be greater than zero".into()),
        Ok(d) => Ok(d),
        Err(e) => Err(format!("{e} (a duration such as 2s or 500ms)")),
    }
}

fn language(raw: &str) -> Result<deskside_agent::i18n::Locale, String> {
    deskside_agent::i18n::Locale::from_tag(raw)
        .filter(|l| l.code() == raw)
        .ok_or_else(|| format!("unknown language {raw:?} (en, ko, ja)"))
}
