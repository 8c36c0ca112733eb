//! The commands the windows call, by name with JSON arguments (what a
//! Tauri `invoke` carries), answered from the [`Desktop`]. The same
//! dispatcher serves windows in the tray app's process and windows in a
//! process of their own (over [`super::ipc`]).

use std::sync::Arc;

use deskside_protocol::{TicketCategory, Urgency};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{Desktop, Settings};
use crate::agent::{Event, NewTicketInput};

/// A failed command, as the page sees it: `{ "message": "…" }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandError {
    /// What went wrong, for the user.
    pub message: String,
}

impl<E: std::fmt::Display> From<E> for CommandError {
    fn from(e: E) -> Self {
        Self {
            message: e.to_string(),
        }
    }
}

/// What a command returns.
pub type CommandResult = Result<Value, CommandError>;

/// What windows get with [`super::EVENT`] for an agent event.
pub fn event_payload(e: &Event) -> Value {
    match e {
        Event::TicketUpdated { local_id } => json!({"kind": "ticket", "local_id": local_id}),
        Event::SyncState(state) => json!({"kind": "sync", "state": state}),
        Event::HealthChanged { check_id } => json!({"kind": "health", "check_id": check_id}),
        // The app opens a window for it; pages only learn that something
        // may have changed.
        Event::Open { target } => json!({"kind": "opened", "target": target}),
    }
}

/// The Report a problem form.
#[derive(Debug, Deserialize)]
pub struct TicketForm {
    /// Subject.
    pub subject: String,
    /// Description.
    #[serde(default)]
    pub description: String,
    /// `hardware`, `software`, `network`, `account`, `printer`, `other`.
    pub category: TicketCategory,
    /// `high` (I can't work), `medium` (it slows me down), `low` (an
    /// annoyance).
    pub urgency: Urgency,
    /// `incident` (something is broken, the default) or
    /// `service_request` (I need something).
    #[serde(default)]
    pub ticket_type: deskside_protocol::TicketType,
    /// Attach the diagnostics bundle.
    #[serde(default = "yes")]
    pub include_diagnostics: bool,
    /// Files to attach, by path (the form's own files come from the
    /// draft, see `add_file`).
    #[serde(default)]
    pub files: Vec<std::path::PathBuf>,
    /// Parts the employee leaves out of this report.
    #[serde(default)]
    pub leave_out: Vec<crate::diagnostics::LeaveOut>,
}

fn yes() -> bool {
    true
}

/// The commands there are.
pub const COMMANDS: [&str; 24] = [
    "status",
    "strings",
    "health",
    "device_summary",
    "metrics",
    "tickets",
    "ticket",
    "submit_ticket",
    "report_draft",
    "remove_screenshot",
    "add_file",
    "remove_file",
    "preview_diagnostics",
    "report_started",
    "kb_suggest",
    "kb_article",
    "report_solved",
    "reply",
    "rate",
    "reopen",
    "sync_now",
    "settings",
    "set_settings",
    "ready",
];

fn arg<T: DeserializeOwned>(args: &Value, name: &str) -> Result<T, CommandError> {
    let v = args.get(name).cloned().unwrap_or(Value::Null);
    serde_json::from_value(v).map_err(|e| CommandError {
        message: format!("invalid argument {name}: {e}"),
    })
}

fn to_value<T: Serialize>(v: T) -> CommandResult {
    Ok(serde_json::to_value(v)?)
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, CommandError> {
    Ok(tokio::task::spawn_blocking(f).await?)
}

impl Desktop {
    /// Runs command `cmd` with its arguments (an object, as `invoke` sends
    /// them). `ready` takes the window's `label`.
    pub async fn call(self: &Arc<Self>, cmd: &str, args: Value) -> CommandResult {
        let agent = Arc::clone(&self.agent);
        match cmd {
            "status" => {
                let mut v = serde_json::to_value(agent.status()?)?;
                if let Some(o) = v.as_object_mut() {
                    o.insert("version".into(), json!(crate::AGENT_VERSION));
                }
                Ok(v)
            }
            // Every user-facing text of the windows in the language in
            // effect, and its code.
            "strings" => {
                let locale = self.locale();
                Ok(json!({
                    "locale": locale.code(),
                    "texts": crate::i18n::texts_with_prefixes(
                        locale,
                        &["ui.", "window.", "ticket.status.", "tray.state."],
                    ),
                }))
            }
            "health" => {
                let locale = self.locale();
                to_value(blocking(move || agent.health_with_articles(locale)).await??)
            }
            // The last hour's CPU and memory for the health window's charts.
            "metrics" => to_value(agent.metric_chart()?),
            // The inventory summary (what phone support asks): (label key,
            // value) rows.
            "device_summary" => {
                let rows = blocking(move || agent.inventory_summary()).await?;
                Ok(json!({ "rows": rows }))
            }
            "tickets" => to_value(agent.my_tickets()?),
            // Opening a ticket marks its replies read.
            "ticket" => {
                let id: String = arg(&args, "id")?;
                let t = agent.ticket(&id)?;
                if t.as_ref().is_some_and(|t| t.unread > 0) {
                    agent.mark_read(&id)?;
                    if let Some(shell) = self.shell() {
                        shell.refresh_tray(&self.tray_view());
                    }
                }
                to_value(t)
            }
            // Stored first (so it works offline), then delivered at once;
            // the page follows it through events.
            "submit_ticket" => {
                let form: TicketForm = arg(&args, "form")?;
                let (report, (screenshot, attachments)) = {
                    let mut draft = super::lock(&self.draft);
                    (draft.take_report(), draft.take())
                };
                let queued = blocking(move || {
                    agent.submit_ticket(NewTicketInput {
                        subject: form.subject,
                        description: form.description,
                        category: Some(form.category),
                        urgency: Some(form.urgency),
                        ticket_type: form.ticket_type,
                        include_diagnostics: form.include_diagnostics,
                        screenshot,
                        files: form.files,
                        attachments,
                        report,
                        leave_out: form.leave_out,
                        check: None,
                    })
                })
                .await??;
                self.deliver_soon();
                to_value(queued)
            }
            // The screenshot (a data URL for its thumbnail) and the files
            // added so far.
            "report_draft" => {
                use base64::Engine as _;
                let mut draft = super::lock(&self.draft);
                let screenshot = draft.screenshot().map(|png| {
                    format!(
                        "data:image/png;base64,{}",
                        base64::engine::general_purpose::STANDARD.encode(png)
                    )
                });
                Ok(json!({ "screenshot": screenshot, "files": draft.files() }))
            }
            "remove_screenshot" => {
                super::lock(&self.draft).remove_screenshot();
                Ok(Value::Null)
            }
            // Pages never see paths: the page reads the picked file and
            // sends its name and content as base64 (what
            // `FileReader.readAsDataURL` gives; a `data:` prefix is
            // allowed). JSON, because WebKitGTK's IPC carries no raw bodies.
            "add_file" => {
                use base64::Engine as _;
                let name: String = arg(&args, "name")?;
                let data: String = arg(&args, "data")?;
                let b64 = data
                    .split_once(";base64,")
                    .map_or(data.as_str(), |(_, b)| b);
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(b64)
                    .map_err(|_| CommandError {
                        message: crate::i18n::text(
                            self.locale(),
                            "ui.validation.file_unreadable",
                            &[("name", &name)],
                        ),
                    })?;
                let added = super::lock(&self.draft).add_file(&name, bytes);
                let added = added.map_err(|e| CommandError {
                    message: e.localized(self.locale()),
                })?;
                to_value(added)
            }
            "remove_file" => {
                let id: u64 = arg(&args, "id")?;
                Ok(json!(super::lock(&self.draft).remove_file(id)))
            }
            // Exactly what a ticket would carry now, for the preview; the
            // bundle names the screenshot sent beside it.
            // With the failing checks as Device health words them, for the
            // readable preview; `leave_out` as the form would send it.
            "preview_diagnostics" => {
                let leave: Vec<crate::diagnostics::LeaveOut> =
                    arg::<Option<_>>(&args, "leave_out")?.unwrap_or_default();
                let screenshot = super::lock(&self.draft)
                    .screenshot()
                    .is_some()
                    .then_some(crate::agent::SCREENSHOT_NAME);
                let locale = self.locale();
                let (bundle, health) = blocking(move || {
                    let mut bundle = agent.diagnostics(screenshot)?;
                    crate::diagnostics::leave_out(&mut bundle, &leave);
                    agent.health(locale).map(|h| (bundle, h))
                })
                .await??;
                let checks: Vec<Value> = health
                    .checks
                    .into_iter()
                    .filter(|c| c.state == "warning" || c.state == "critical")
                    .map(|c| json!({ "id": c.id, "title": c.title, "message": c.message }))
                    .collect();
                Ok(json!({ "bundle": bundle, "checks": checks }))
            }
            // The report form opened: its record begins (what it will show,
            // how it ends).
            "report_started" => {
                let report = blocking(move || agent.begin_report()).await??;
                let id = report.id.clone();
                super::lock(&self.draft).begin(report);
                Ok(json!({ "id": id }))
            }
            // Articles for what the employee typed, from the articles kept
            // on the device: no network per keystroke, also offline.
            "kb_suggest" => {
                let text: String = arg(&args, "text")?;
                if text.chars().count() > 20_000 {
                    return Err(CommandError {
                        message: "the text to search is too long".into(),
                    });
                }
                let locale = self.locale();
                let found = blocking(move || agent.kb_suggestions(&text, locale)).await??;
                super::lock(&self.draft).shown(found.iter().map(|s| s.id));
                to_value(found)
            }
            // An article to read (its HTML was sanitized by the desk; the
            // page copies only the elements it allows).
            "kb_article" => {
                let id: i64 = arg(&args, "id")?;
                let a = agent.kb_article(id)?;
                if let Some(a) = &a {
                    super::lock(&self.draft).shown([a.id]);
                }
                Ok(a.map_or(
                    Value::Null,
                    |a| json!({ "id": a.id, "title": a.title, "html": a.html }),
                ))
            }
            // "This solved it": no ticket; the desk counts the article.
            "report_solved" => {
                let article: i64 = arg(&args, "article")?;
                let report = {
                    let mut draft = super::lock(&self.draft);
                    draft.shown([article]);
                    let report = draft.take_report();
                    // Nothing of this report is sent: its screenshot and
                    // files go.
                    drop(draft.take());
                    report
                };
                if let Some(mut report) = report {
                    report.solved_by = Some(article);
                    blocking(move || agent.report_solved(&report)).await??;
                    self.deliver_soon();
                }
                Ok(Value::Null)
            }
            "reply" => {
                let id: String = arg(&args, "id")?;
                let message: String = arg(&args, "message")?;
                agent.reply(&id, &message)?;
                self.deliver_soon();
                Ok(Value::Null)
            }
            "rate" => {
                let id: String = arg(&args, "id")?;
                let score: u8 = arg(&args, "score")?;
                let comment: Option<String> = arg(&args, "comment")?;
                agent.rate(&id, score, comment.as_deref())?;
                self.deliver_soon();
                Ok(Value::Null)
            }
            "reopen" => {
                let id: String = arg(&args, "id")?;
                agent.reopen(&id)?;
                self.deliver_soon();
                Ok(Value::Null)
            }
            "sync_now" => {
                agent.sync().await?;
                Ok(Value::Null)
            }
            "settings" => to_value(self.settings()),
            "set_settings" => {
                let settings: Settings = arg(&args, "settings")?;
                self.set_settings(settings)?;
                Ok(Value::Null)
            }
            "ready" => {
                let label: String = arg(&args, "label")?;
                self.ready(&label);
                Ok(Value::Null)
            }
            other => Err(CommandError {
                message: format!("unknown command {other:?}"),
            }),
        }
    }

    fn deliver_soon(&self) {
        let agent = Arc::clone(&self.agent);
        self.rt.spawn(async move {
            let _ = agent.deliver_now().await;
        });
    }
}
