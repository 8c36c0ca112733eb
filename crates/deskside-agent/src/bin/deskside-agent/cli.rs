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
        /// Time between samples with --watch [default: metrics.interval
        /// from the configuration, 10s unless changed].
        #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
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
    },
    /// Print the commented example configuration (all defaults).
    DefaultConfig,
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
