//! What each subcommand does.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use deskside_agent::config::{AgentConfig, EXAMPLE};
use deskside_agent::notify::Notifier;
use deskside_host::checks::{self, LoadedPolicy, Tracker};
use deskside_host::collect::{CollectOptions, collect_inventory};
use deskside_host::metrics::Sampler;
use deskside_protocol::{CheckState, Inventory, diff_inventories};

use crate::cli::{Cli, Command, Format, InventoryFormat};
use crate::render;

pub fn collect_options(cfg: &AgentConfig) -> CollectOptions {
    CollectOptions {
        software_sources: cfg.inventory.software_sources.clone(),
        command_timeout: cfg.inventory.command_timeout,
        ..CollectOptions::default()
    }
}

fn print(text: &str) -> Result<()> {
    print_while_read(text).map(drop)
}

/// Writes `text`; `false` when the reader went away (`| head`), which is
/// the reader's choice, not an error — and the end of a `--watch`.
fn print_while_read(text: &str) -> Result<bool> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(false),
        r => r.map(|()| true).context("writing to standard output"),
    }
}

fn json(value: &impl serde::Serialize) -> Result<String> {
    let mut s = serde_json::to_string_pretty(value).context("encoding JSON")?;
    s.push('\n');
    Ok(s)
}

fn read_inventory(path: &Path) -> Result<Inventory> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text)
        .with_context(|| format!("{} is not a Deskside inventory", path.display()))
}

/// Whether the command line asks for `check` (whatever else is wrong with
/// it).
pub fn is_check_invocation() -> bool {
    is_check(std::env::args().skip(1))
}

fn is_check(mut args: impl Iterator<Item = String>) -> bool {
    while let Some(a) = args.next() {
        // The global options' values are not the subcommand.
        if a == "--config" || a == "--state-dir" {
            args.next();
        } else if !a.starts_with('-') {
            return a == "check";
        }
    }
    false
}

fn load_policy(path: Option<&Path>) -> Result<LoadedPolicy> {
    let Some(path) = path else {
        return Ok(LoadedPolicy::builtin());
    };
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    // The desk's policies are JSON objects; TOML files may start with
    // `[[checks]]`, so a leading `[` says nothing.
    let is_json =
        text.trim_start().starts_with('{') || path.extension().is_some_and(|e| e == "json");
    if is_json {
        LoadedPolicy::from_json(&text)
            .map_err(|e| anyhow::anyhow!("{} is not a JSON policy: {e}", path.display()))
    } else {
        LoadedPolicy::from_toml(&text)
            .map_err(|e| anyhow::anyhow!("{} is not a TOML policy: {e}", path.display()))
    }
}

fn run_checks(
    cfg: &AgentConfig,
    policy: Option<&Path>,
    format: Format,
    list: bool,
    notify: bool,
    lang: Option<deskside_agent::i18n::Locale>,
) -> Result<ExitCode> {
    if list {
        print(&render::kinds())?;
        return Ok(ExitCode::SUCCESS);
    }
    let loaded = load_policy(policy)?;
    for e in &loaded.errors {
        eprintln!("warning: policy: {e}");
    }
    let state_dir = cfg.state_dir();
    let store = state_dir.join("checks.json");
    // With --notify, state carries over from the last run so that
    // transitions and fails_before_alert span runs (e.g. from cron).
    let mut tracker = if notify {
        Tracker::load(&store).unwrap_or_default()
    } else {
        Tracker::default()
    };
    let started = chrono::Utc::now();
    let results = checks::run_once(
        &loaded.checks,
        &deskside_agent::checks::environment(),
        4,
        &mut tracker,
    );
    if notify {
        let ids: Vec<&str> = loaded.checks.iter().map(|c| c.spec.id.as_str()).collect();
        tracker.retain(&ids);
        let mut notifier = Notifier::new(cfg.notifications.clone(), Some(&state_dir));
        for t in tracker.transitions.iter().filter(|t| t.at >= started) {
            if let Some(check) = loaded.checks.iter().find(|c| c.spec.id == t.check_id) {
                notifier.on_transition(check, t);
            }
        }
        tracker
            .save(&store)
            .with_context(|| format!("cannot save {}", store.display()))?;
        notifier.save().with_context(|| {
            format!("cannot save notification state in {}", state_dir.display())
        })?;
    }
    // A one-shot run has no history, so it reports each check's raw state
    // (Nagios retries on its own, with max_check_attempts). With --notify
    // the state carries over between runs and the reported state (after
    // fails_before_alert) decides, as it does in the agent. Invalid checks
    // make it at least UNKNOWN: a broken policy must not read as a healthy
    // machine.
    let policy_state = (!loaded.errors.is_empty()).then_some(CheckState::Unknown);
    let worst = CheckState::worst(
        results
            .iter()
            .filter(|r| !r.report_only)
            .map(|r| if notify { r.alert_state } else { r.state })
            .chain(policy_state),
    );
    match format {
        Format::Table => print(&render::check_results(
            &results, worst, &loaded, notify, lang,
        ))?,
        Format::Json => print(&json(&serde_json::json!({
            "overall": worst,
            "state_basis": if notify { "reported" } else { "raw" },
            "policy_version": loaded.version,
            "results": results,
            "policy_errors": loaded.errors.iter().map(ToString::to_string).collect::<Vec<_>>(),
        }))?)?,
    }
    Ok(ExitCode::from(worst.exit_code()))
}

/// Switches the terminal to its alternate screen (as `top` does) and back
/// when interrupted, so `metrics --watch` leaves the scrollback as it was.
fn alternate_screen() -> Result<()> {
    print("\x1b[?1049h\x1b[?25l")?;
    std::thread::Builder::new()
        .name("deskside-watch-exit".into())
        .spawn(|| {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            if let Ok(rt) = rt {
                rt.block_on(async {
                    #[cfg(unix)]
                    if let Ok(mut term) =
                        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                    {
                        tokio::select! {
                            _ = term.recv() => {}
                            _ = tokio::signal::ctrl_c() => {}
                        }
                        return;
                    }
                    let _ = tokio::signal::ctrl_c().await;
                });
            }
            let _ = print("\x1b[?25h\x1b[?1049l");
            std::process::exit(0);
        })
        .context("cannot watch for Ctrl-C")?;
    Ok(())
}

pub fn run(cli: Cli) -> Result<ExitCode> {
    if let Command::DefaultConfig = cli.command {
        print(EXAMPLE)?;
        return Ok(ExitCode::SUCCESS);
    }
    let (mut cfg, _files) = AgentConfig::load(cli.config.as_deref())?;
    if let Some(dir) = cli.state_dir {
        cfg.state_dir = Some(dir);
    }
    match cli.command {
        Command::DefaultConfig => unreachable!("handled above"),
        Command::Enroll {
            server,
            secret,
            secret_file,
        } => return crate::desk_commands::enroll(&cfg, server, secret, secret_file),
        Command::Ticket { command } => return crate::desk_commands::ticket(&cfg, command),
        Command::Sync => return crate::desk_commands::sync(&cfg),
        Command::Run => return crate::desk_commands::run(cfg),
        Command::Status { format } => return crate::desk_commands::status(&cfg, format),
        Command::Diagnostics { out } => return crate::desk_commands::diagnostics(&cfg, &out),
        Command::Articles { text, format } => {
            return crate::desk_commands::articles(&cfg, &text.join(" "), format);
        }
        Command::Check {
            policy,
            format,
            list,
            notify,
            lang,
        } => {
            return run_checks(&cfg, policy.as_deref(), format, list, notify, lang);
        }
        Command::Inventory { format } => {
            let mut inv = collect_inventory(&collect_options(&cfg));
            deskside_agent::config::apply_privacy(&mut inv, &cfg.privacy);
            print(&match format {
                InventoryFormat::Table => render::inventory(&inv),
                InventoryFormat::Json => json(&inv)?,
                InventoryFormat::Glpi => {
                    // Export-only sections, as the settings allow.
                    let extras = deskside_host::glpi::GlpiExtras {
                        processes: if cfg.privacy.process_list {
                            deskside_host::collect::processes::for_glpi()
                        } else {
                            Vec::new()
                        },
                        environment: if cfg.inventory.glpi_environment {
                            let mut vars: Vec<(String, String)> = std::env::vars().collect();
                            vars.sort();
                            vars
                        } else {
                            Vec::new()
                        },
                    };
                    json(&deskside_host::glpi::to_glpi_with(&inv, &extras))?
                }
            })?;
        }
        Command::Metrics {
            format,
            watch,
            interval,
        } => {
            let interval = interval.unwrap_or(cfg.metrics.interval);
            if interval.is_zero() {
                anyhow::bail!("metrics.interval must be greater than zero");
            }
            let mut sampler = Sampler::new(cfg.metrics.top_processes, "/".into())?;
            let redraw = watch && format == Format::Table && std::io::stdout().is_terminal();
            if redraw {
                alternate_screen()?;
            }
            // The first sample needs a measured window for CPU usage: the
            // shortest one, so that the first frame comes at once.
            std::thread::sleep(sysinfo::MINIMUM_CPU_UPDATE_INTERVAL);
            loop {
                let sample = sampler.sample();
                let text = match format {
                    // Home and clear-to-end: the frame replaces the last one
                    // on the alternate screen, nothing goes to the scrollback.
                    Format::Table if redraw => format!("\x1b[H\x1b[J{}", render::metrics(&sample)),
                    Format::Table => render::metrics(&sample),
                    Format::Json if watch => format!("{}\n", serde_json::to_string(&sample)?),
                    Format::Json => json(&sample)?,
                };
                if !print_while_read(&text)? || !watch {
                    break;
                }
                std::thread::sleep(interval);
            }
        }
        Command::Diff { old, new, format } => {
            let diff = diff_inventories(&read_inventory(&old)?, &read_inventory(&new)?);
            print(&match format {
                Format::Table => render::diff(&diff),
                Format::Json => json(&diff)?,
            })?;
        }
        Command::Changes { format } => {
            let dir = cfg.state_dir();
            let snapshot = dir.join("inventory.json");
            let previous = match std::fs::read_to_string(&snapshot) {
                Ok(text) => Some(serde_json::from_str::<Inventory>(&text).with_context(|| {
                    format!("{} is corrupt; delete it to start over", snapshot.display())
                })?),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                Err(e) => {
                    return Err(e).with_context(|| format!("cannot read {}", snapshot.display()));
                }
            };
            let current = collect_inventory(&collect_options(&cfg));
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            // Write then rename: a crash never leaves half a snapshot.
            let tmp = dir.join("inventory.json.tmp");
            std::fs::write(&tmp, serde_json::to_vec(&current)?)
                .with_context(|| format!("cannot write {}", tmp.display()))?;
            std::fs::rename(&tmp, &snapshot)
                .with_context(|| format!("cannot write {}", snapshot.display()))?;
            match (previous, format) {
                (None, Format::Json) => print(&json(&serde_json::json!({"baseline": snapshot}))?)?,
                (None, Format::Table) => print(&format!(
                    "No earlier inventory; this one is the baseline ({}).\n",
                    snapshot.display()
                ))?,
                (Some(prev), Format::Json) => print(&json(&diff_inventories(&prev, &current))?)?,
                (Some(prev), Format::Table) => {
                    print(&render::diff(&diff_inventories(&prev, &current)))?
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_subcommand_is_found_after_global_options() {
        let is = |args: &[&str]| super::is_check(args.iter().map(|a| (*a).to_owned()));
        assert!(is(&["check", "--bogus"]));
        assert!(is(&["--state-dir", "/tmp/x", "check", "--bogus"]));
        assert!(is(&["--config=/etc/a.toml", "check"]));
        assert!(!is(&["--state-dir", "check", "status"]));
        assert!(!is(&["inventory", "check"]));
    }
}
