//! `deskside-agent`: the headless Deskside agent for servers and scripts.
//!
//! Every failure is one line on stderr and a non-zero exit status: 2 for a
//! bad command line, 1 for anything else.

mod cli;
mod commands;
mod desk_commands;
mod render;

use std::process::ExitCode;

use clap::Parser;

/// Log lines go to stderr, one per event, at the level `DESKSIDE_LOG`
/// names (`error`, `warn` — the default —, `info`, `debug`, `trace`), and
/// to `agent.log` in the state directory once the agent has opened it.
fn init_logging() {
    deskside_agent::logfile::init_from_env();
}

/// clap's error as one line: its first line, with the names it lists
/// below it (the missing arguments) brought up into it.
fn usage_line(e: &clap::Error) -> String {
    let rendered = e.render().to_string();
    let mut lines = rendered.lines();
    let mut first = lines
        .next()
        .unwrap_or("error: invalid arguments")
        .trim_end()
        .to_owned();
    if first.ends_with(':') {
        let listed: Vec<&str> = lines
            .take_while(|l| !l.trim().is_empty())
            .map(str::trim)
            .collect();
        first.push(' ');
        first.push_str(&listed.join(", "));
    }
    first
}

/// An error and its causes on one line, each said once: errors that put
/// their source in their own message must not have it repeated.
fn causes(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if out.ends_with(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

fn main() -> ExitCode {
    // A bug must not become a backtrace on an employee's terminal either.
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        eprintln!("error: internal error: {msg} (please report this bug)");
    }));

    init_logging();
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion)
                || e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            {
                let _ = e.print();
                return if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                    ExitCode::from(2)
                } else {
                    ExitCode::SUCCESS
                };
            }
            eprintln!("{} (see 'deskside-agent --help')", usage_line(&e));
            // Under Nagios, exit 2 would read as CRITICAL: a usage error of
            // `check` is UNKNOWN.
            return ExitCode::from(if commands::is_check_invocation() {
                3
            } else {
                2
            });
        }
    };
    match commands::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", causes(&e));
            // For `check`, a failure to check is UNKNOWN (3), not OK/CRITICAL.
            if commands::is_check_invocation() {
                ExitCode::from(3)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}
