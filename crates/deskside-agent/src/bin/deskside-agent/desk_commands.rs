//! The commands that talk to the desk: enroll, ticket, sync, status,
//! diagnostics. They are thin: the work is in `deskside_agent::agent`.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use deskside_agent::agent::{Agent, NewTicketInput, SyncError};
use deskside_agent::config::AgentConfig;
use deskside_agent::notify::Notifier;
use deskside_agent::store::{Delivery, LocalTicket};
use deskside_protocol::{TicketCategory, Urgency};

use crate::cli::{Category, Format, TicketCommand, TypeArg, UrgencyArg};

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

fn agent(cfg: &AgentConfig) -> Result<Agent> {
    let notifier = Notifier::new(cfg.notifications.clone(), Some(&cfg.state_dir()));
    Ok(Agent::open(cfg.clone())
        .context("cannot open the agent's state")?
        .with_notifier(notifier))
}

pub fn enroll(
    cfg: &AgentConfig,
    server: Option<String>,
    secret: Option<String>,
    secret_file: Option<std::path::PathBuf>,
) -> Result<ExitCode> {
    let secret = match (secret, secret_file) {
        (Some(s), _) => Some(s),
        (None, Some(f)) => Some(
            std::fs::read_to_string(&f)
                .with_context(|| format!("cannot read {}", f.display()))?
                .trim()
                .to_owned(),
        ),
        (None, None) => None,
    };
    let mut agent = agent(cfg)?;
    let id = runtime()?
        .block_on(agent.enroll(server.as_deref(), secret.as_deref()))
        .context("enrollment failed")?;
    let status = agent.status()?;
    println!(
        "enrolled with {} as device {id}; token kept in the {}",
        status.server.unwrap_or_default(),
        status.credential_store
    );
    Ok(ExitCode::SUCCESS)
}

fn state(t: &LocalTicket) -> String {
    match (t.delivery, t.server_id) {
        (Delivery::Acknowledged, Some(n)) => format!("#{n} {}", t.status),
        (Delivery::Rejected, _) => "rejected (see status)".into(),
        (Delivery::Sent, _) => "sent, awaiting the desk".into(),
        _ => "queued".into(),
    }
}

/// `text` from the desk, safe for a terminal: control characters (escape
/// sequences that clear the screen, set the title or move the cursor) are
/// shown in caret notation instead of being sent to it. New lines and tabs
/// stay where `keep_lines` is set.
pub fn printable(text: &str, keep_lines: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' | '\t' if keep_lines => out.push(c),
            '\u{0}'..='\u{1f}' => {
                out.push('^');
                out.push(char::from(b'@' + u8::try_from(u32::from(c)).unwrap_or(0)));
            }
            '\u{7f}' => out.push_str("^?"),
            // C1 controls (CSI is U+009B) and the bidirectional overrides
            // that make text read differently from what it is.
            '\u{80}'..='\u{9f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => {
                out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
            }
            c => out.push(c),
        }
    }
    out
}

fn render_ticket(t: &LocalTicket) -> String {
    let mut out = format!(
        "{}  {}\n  state: {}\n  filed: {}\n",
        t.local_id,
        printable(&t.subject, false),
        printable(&state(t), false),
        t.created_at.format("%Y-%m-%d %H:%M UTC")
    );
    for d in &t.refused {
        out.push_str(&format!(
            "  refused by the desk: your {} ({}): {}\n",
            d.kind,
            d.failed_at.format("%Y-%m-%d %H:%M UTC"),
            printable(&d.error, false)
        ));
    }
    if let Some(server) = &t.server {
        if !server.description.is_empty() {
            out.push_str(&format!("\n  {}\n", printable(&server.description, true)));
        }
        for c in &server.comments {
            let who = match c.author {
                deskside_protocol::CommentAuthor::Technician => "IT",
                _ => "you",
            };
            out.push_str(&format!(
                "\n  [{}] {who}: {}\n",
                c.created_at.format("%Y-%m-%d %H:%M"),
                printable(&c.body, true)
            ));
        }
    }
    out
}

pub fn ticket(cfg: &AgentConfig, command: TicketCommand) -> Result<ExitCode> {
    let agent = agent(cfg)?;
    match command {
        TicketCommand::New {
            subject,
            description,
            category,
            urgency,
            ticket_type,
            no_diagnostics,
            attach,
            screenshot,
        } => {
            let screenshot = screenshot
                .map(|p| {
                    deskside_agent::local_file::read_regular(
                        &p,
                        deskside_agent::agent::MAX_ATTACHMENT_BYTES,
                    )
                })
                .transpose()?;
            let t = agent.submit_ticket(NewTicketInput {
                subject,
                description,
                category: Some(match category {
                    Category::Hardware => TicketCategory::Hardware,
                    Category::Software => TicketCategory::Software,
                    Category::Network => TicketCategory::Network,
                    Category::Account => TicketCategory::Account,
                    Category::Printer => TicketCategory::Printer,
                    Category::Other => TicketCategory::Other,
                }),
                urgency: Some(match urgency {
                    UrgencyArg::Low => Urgency::Low,
                    UrgencyArg::Medium => Urgency::Medium,
                    UrgencyArg::High => Urgency::High,
                }),
                ticket_type: match ticket_type {
                    TypeArg::Incident => deskside_protocol::TicketType::Incident,
                    TypeArg::ServiceRequest => deskside_protocol::TicketType::ServiceRequest,
                },
                include_diagnostics: !no_diagnostics,
                screenshot,
                files: attach,
                attachments: Vec::new(),
                report: None,
                leave_out: Vec::new(),
                check: None,
            })?;
            // Safely queued: that is success. Delivery is a bonus now and
            // certain later.
            println!("{}", t.local_id);
            if agent.status()?.server.is_some() {
                let rt = runtime()?;
                let tried = rt.block_on(async {
                    tokio::time::timeout(Duration::from_secs(15), agent.deliver_now()).await
                });
                match tried {
                    Ok(Ok(_)) => {
                        if let Some(t) = agent
                            .my_tickets()?
                            .into_iter()
                            .find(|x| x.local_id == t.local_id)
                        {
                            eprintln!("{}", state(&t));
                        }
                    }
                    Ok(Err(e)) => {
                        eprintln!("queued; it will be sent when the desk is reachable ({e})")
                    }
                    Err(_) => eprintln!("queued; it will be sent when the desk is reachable"),
                }
            } else {
                eprintln!("queued; it will be sent once this device is enrolled with a desk");
            }
        }
        TicketCommand::List { format } => {
            let tickets = agent.my_tickets()?;
            match format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&tickets)?),
                Format::Table => {
                    if tickets.is_empty() {
                        println!("No tickets.");
                    }
                    for t in &tickets {
                        let unread = if t.unread > 0 {
                            format!("  ({} new)", t.unread)
                        } else {
                            String::new()
                        };
                        println!(
                            "{:<28} {:<28} {}{unread}",
                            t.local_id,
                            printable(&state(t), false),
                            printable(&t.subject, false)
                        );
                    }
                }
            }
        }
        TicketCommand::Show { id, format } => {
            let t = agent
                .ticket(&id)?
                .with_context(|| format!("no ticket {id}"))?;
            match format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&t)?),
                Format::Table => print!("{}", render_ticket(&t)),
            }
        }
        TicketCommand::Reply { id, message } => {
            agent.reply(&id, &message)?;
            deliver_now(&agent)?;
            println!("reply queued");
        }
        TicketCommand::Rate { id, score, comment } => {
            agent.rate(&id, score, comment.as_deref())?;
            deliver_now(&agent)?;
            println!("rating queued");
        }
        TicketCommand::Reopen { id } => {
            agent.reopen(&id)?;
            deliver_now(&agent)?;
            println!("reopen queued");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Tries to deliver what was just queued; the queue keeps it otherwise.
fn deliver_now(agent: &Agent) -> Result<()> {
    if agent.status()?.server.is_some() {
        let rt = runtime()?;
        let _ = rt.block_on(async {
            tokio::time::timeout(Duration::from_secs(15), agent.deliver_now()).await
        });
    }
    Ok(())
}

/// SIGTERM (service managers) or Ctrl-C. The SIGTERM handler is installed
/// when this is called (inside the runtime), so a SIGTERM during start-up
/// stops the agent cleanly instead of killing it.
fn stop_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate());
    async move {
        #[cfg(unix)]
        if let Ok(mut term) = term {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
            return;
        }
        let _ = tokio::signal::ctrl_c().await;
    }
}

pub fn run(cfg: AgentConfig) -> Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    rt.block_on(async { deskside_agent::runtime::run(cfg, stop_signal()).await })?;
    Ok(ExitCode::SUCCESS)
}

pub fn sync(cfg: &AgentConfig) -> Result<ExitCode> {
    let agent = agent(cfg)?;
    let (delivered, checked) = runtime()?.block_on(agent.sync())?;
    println!(
        "delivered {}, waiting {}, refused {}; {} new replies, {} status changes{}",
        delivered.delivered,
        delivered.waiting,
        delivered.dead,
        checked.replies,
        checked.status_changes,
        if checked.inventory_sent {
            "; inventory sent"
        } else {
            ""
        }
    );
    Ok(if delivered.unreachable {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// `articles`: suggestions from the kept articles, offline.
pub fn articles(cfg: &AgentConfig, text: &str, format: Format) -> Result<ExitCode> {
    let agent = agent(cfg)?;
    let locale = agent.reader_locale();
    let found = agent.kb_suggestions(text, locale)?;
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&found)?),
        Format::Table => {
            if found.is_empty() {
                println!(
                    "no article matches (kept on this computer: {})",
                    agent.local_kb()?.map_or(0, |kb| kb.articles.len())
                );
            }
            for a in &found {
                println!("#{}  {}", a.id, printable(&a.title, false));
                if let Some(check) = &a.for_check {
                    println!("     for the failing check {}", printable(check, false));
                }
                println!("     {}", printable(&a.snippet, false));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn status(cfg: &AgentConfig, format: Format) -> Result<ExitCode> {
    let s = agent(cfg)?.status()?;
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&s)?),
        Format::Table => {
            let enrolled = if s.needs_enrollment {
                "NO — the desk refused the token; run `deskside-agent enroll`".to_owned()
            } else if s.enrolled {
                format!(
                    "yes, device {}",
                    s.device_id.map_or("?".into(), |i| i.to_string())
                )
            } else {
                "no".to_owned()
            };
            println!(
                "desk:          {}",
                s.server
                    .as_deref()
                    .map_or("none configured".into(), |u| printable(u, false))
            );
            println!("enrolled:      {enrolled}");
            println!("credentials:   {}", s.credential_store);
            println!(
                "last sync:     {}",
                s.last_sync.map_or("never".into(), |t| t
                    .format("%Y-%m-%d %H:%M:%S UTC")
                    .to_string())
            );
            if let Some(e) = &s.last_error {
                println!("last error:    {}", printable(e, false));
            }
            println!("outbox:        {} waiting", s.outbox_depth);
            println!("dead letters:  {}", s.dead_letters.len());
            for d in &s.dead_letters {
                println!(
                    "  {} {} ({}): {}",
                    d.kind,
                    d.idempotency_key,
                    d.status,
                    printable(&d.error, false)
                );
            }
            println!(
                "health:        {}",
                s.overall_health.as_deref().unwrap_or("not checked yet")
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn diagnostics(cfg: &AgentConfig, out: &std::path::Path) -> Result<ExitCode> {
    let bundle = match Agent::open(cfg.clone()) {
        Ok(agent) => agent.diagnostics(None)?,
        // A broken machine is when a technician needs the bundle most: a
        // read-only state directory must not stop it.
        Err(e @ SyncError::StateDir { .. }) => {
            eprintln!("warning: {e}; building the bundle without writing there");
            Agent::diagnostics_read_only(cfg)
        }
        Err(e) => return Err(e).context("cannot open the agent's state"),
    };
    let bytes = deskside_agent::diagnostics::compress(bundle).context("building the bundle")?;
    std::fs::write(out, &bytes).with_context(|| format!("cannot write {}", out.display()))?;
    println!("{} ({} bytes, gzip JSON)", out.display(), bytes.len());
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::printable;

    #[test]
    fn desk_text_cannot_drive_the_terminal() {
        // Clear screen, set the window title, CSI as one C1 character, a
        // right-to-left override.
        let hostile = "\u{1b}[2J\u{1b}]0;pwned\u{7}ok\u{9b}31m\u{202e}txt.exe";
        let shown = printable(hostile, false);
        assert!(!shown.chars().any(|c| c.is_control()), "{shown:?}");
        assert_eq!(shown, "^[[2J^[]0;pwned^Gok\\u{9b}31m\\u{202e}txt.exe");
        assert_eq!(
            printable("line 1\nline 2\tend", true),
            "line 1\nline 2\tend"
        );
        assert_eq!(printable("a\nb", false), "a^Jb");
        assert_eq!(
            printable("비밀번호를 잊어버렸어요", false),
            "비밀번호를 잊어버렸어요"
        );
    }
}
