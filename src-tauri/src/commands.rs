//! The commands the windows call. Each is a thin wrapper over the agent
//! core; errors reach the page as a message it can show.

use std::sync::Arc;

use deskside_agent::health::HealthView;
use deskside_agent::report::DraftFile;
use deskside_agent::store::LocalTicket;
use deskside_agent::sync::{Event, NewTicketInput, Status};
use deskside_protocol::{TicketCategory, Urgency};
use serde::{Deserialize, Serialize};
use tauri::{Manager, State};

use crate::AppState;
use crate::settings::Settings;

/// A failed command, as the page sees it: `{ "message": "…" }`.
#[derive(Debug, Serialize)]
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
pub type CommandResult<T> = Result<T, CommandError>;

/// What windows get with [`crate::EVENT`].
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EventPayload {
    /// A ticket changed.
    Ticket {
        /// Its local id.
        local_id: String,
    },
    /// The desk connection changed.
    Sync {
        /// `syncing`, `online`, `offline` or `needs_enrollment`.
        state: deskside_agent::sync::SyncState,
    },
    /// A check changed state.
    Health {
        /// The check.
        check_id: String,
    },
    /// A notification was clicked.
    Opened {
        /// What it opened.
        target: String,
    },
}

impl From<&Event> for EventPayload {
    fn from(e: &Event) -> Self {
        match e {
            Event::TicketUpdated { local_id } => Self::Ticket {
                local_id: local_id.clone(),
            },
            Event::SyncState(state) => Self::Sync { state: *state },
            Event::HealthChanged { check_id } => Self::Health {
                check_id: check_id.clone(),
            },
            // Handled by the app (it opens a window); pages only learn that
            // something may have changed.
            Event::Open { target } => Self::Opened {
                target: target.clone(),
            },
        }
    }
}

/// The agent's state (desk, enrollment, last sync, outbox), and the
/// version, for the status and settings windows.
#[derive(Debug, Serialize)]
pub struct AppStatus {
    /// The agent's state.
    #[serde(flatten)]
    pub status: Status,
    /// The app's version.
    pub version: &'static str,
}

#[tauri::command]
pub fn status(state: State<'_, AppState>) -> CommandResult<AppStatus> {
    Ok(AppStatus {
        status: state.agent.status()?,
        version: deskside_agent::AGENT_VERSION,
    })
}

/// Every user-facing text of the windows (keys `ui.*`, `window.*`,
/// `ticket.status.*`) in the language in effect, and its code.
#[derive(Debug, Serialize)]
pub struct Strings {
    /// `en`, `ko` or `ja`.
    pub locale: &'static str,
    /// Key → text.
    pub texts: std::collections::BTreeMap<String, String>,
}

#[tauri::command]
pub fn strings(state: State<'_, AppState>) -> Strings {
    let locale = state.locale();
    Strings {
        locale: locale.code(),
        texts: deskside_agent::i18n::texts_with_prefixes(
            locale,
            &["ui.", "window.", "ticket.status.", "tray.state."],
        ),
    }
}

#[tauri::command]
pub fn health(state: State<'_, AppState>) -> CommandResult<HealthView> {
    Ok(state.agent.health(state.locale())?)
}

/// The last hour's CPU and memory for the health window's charts.
#[tauri::command]
pub fn metrics(
    state: State<'_, AppState>,
) -> CommandResult<Vec<deskside_agent::health::MetricPoint>> {
    Ok(state.agent.metric_chart()?)
}

/// The inventory summary of the health window (what phone support asks).
#[derive(Debug, Serialize)]
pub struct DeviceSummary {
    /// (label key, value) pairs, in order.
    pub rows: Vec<(String, String)>,
}

#[tauri::command]
pub async fn device_summary(state: State<'_, AppState>) -> CommandResult<DeviceSummary> {
    let agent = Arc::clone(&state.agent);
    let inv = tauri::async_runtime::spawn_blocking(move || agent.inventory_summary()).await?;
    Ok(DeviceSummary { rows: inv })
}

#[tauri::command]
pub fn tickets(state: State<'_, AppState>) -> CommandResult<Vec<LocalTicket>> {
    Ok(state.agent.my_tickets()?)
}

/// One ticket with its conversation; opening it marks its replies read.
#[tauri::command]
pub fn ticket(state: State<'_, AppState>, id: String) -> CommandResult<Option<LocalTicket>> {
    let t = state.agent.ticket(&id)?;
    if t.as_ref().is_some_and(|t| t.unread > 0) {
        state.agent.mark_read(&id)?;
    }
    Ok(t)
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
    /// Attach the diagnostics bundle.
    #[serde(default = "yes")]
    pub include_diagnostics: bool,
    /// Files to attach, by path (the form's own files come from the
    /// draft, see [`add_file`]).
    #[serde(default)]
    pub files: Vec<std::path::PathBuf>,
}

fn yes() -> bool {
    true
}

/// Files the ticket (stored first, so it works offline) and tries to
/// deliver it at once; the page follows it through events.
#[tauri::command]
pub async fn submit_ticket(
    state: State<'_, AppState>,
    form: TicketForm,
) -> CommandResult<LocalTicket> {
    let agent = Arc::clone(&state.agent);
    let (screenshot, attachments) = state.draft.lock().unwrap_or_else(|p| p.into_inner()).take();
    let queued = tauri::async_runtime::spawn_blocking(move || {
        agent.submit_ticket(NewTicketInput {
            subject: form.subject,
            description: form.description,
            category: Some(form.category),
            urgency: Some(form.urgency),
            include_diagnostics: form.include_diagnostics,
            screenshot,
            files: form.files,
            attachments,
        })
    })
    .await??;
    let agent = Arc::clone(&state.agent);
    tauri::async_runtime::spawn(async move {
        let _ = agent.deliver_now().await;
    });
    Ok(queued)
}

/// What the report carries beside its text: the screenshot taken before
/// the window appeared and the files added so far.
#[derive(Debug, Serialize)]
pub struct Draft {
    /// The screenshot as a `data:image/png;base64,…` URL, for its
    /// thumbnail; `None` when there is none (or it was removed).
    pub screenshot: Option<String>,
    /// The files.
    pub files: Vec<DraftFile>,
}

#[tauri::command]
pub fn report_draft(state: State<'_, AppState>) -> Draft {
    use base64::Engine as _;
    let mut draft = state.draft.lock().unwrap_or_else(|p| p.into_inner());
    let screenshot = draft.screenshot().map(|png| {
        format!(
            "data:image/png;base64,{}",
            base64::engine::general_purpose::STANDARD.encode(png)
        )
    });
    Draft {
        screenshot,
        files: draft.files(),
    }
}

/// Leaves the screenshot out of the report.
#[tauri::command]
pub fn remove_screenshot(state: State<'_, AppState>) {
    state
        .draft
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .remove_screenshot();
}

/// Adds a file to the report. Pages never see paths: the page reads the
/// picked file and sends its name and its content as base64 (what
/// `FileReader.readAsDataURL` gives; a `data:` prefix is allowed). JSON,
/// because WebKitGTK's IPC carries no raw bodies.
#[tauri::command]
pub fn add_file(
    state: State<'_, AppState>,
    name: String,
    data: String,
) -> CommandResult<DraftFile> {
    use base64::Engine as _;
    let b64 = data
        .split_once(";base64,")
        .map_or(data.as_str(), |(_, b)| b);
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|_| CommandError {
            message: deskside_agent::i18n::text(
                state.locale(),
                "ui.validation.file_unreadable",
                &[("name", &name)],
            ),
        })?;
    let added = state
        .draft
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .add_file(&name, bytes);
    added.map_err(|e| CommandError {
        message: e.localized(state.locale()),
    })
}

/// Takes a file out of the report.
#[tauri::command]
pub fn remove_file(state: State<'_, AppState>, id: u64) -> bool {
    state
        .draft
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .remove_file(id)
}

/// Exactly what a ticket would carry now, for the preview.
#[tauri::command]
pub async fn preview_diagnostics(state: State<'_, AppState>) -> CommandResult<serde_json::Value> {
    let agent = Arc::clone(&state.agent);
    // The bundle names the screenshot sent beside it.
    let screenshot = state
        .draft
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .screenshot()
        .is_some()
        .then_some(deskside_agent::sync::SCREENSHOT_NAME);
    let bundle =
        tauri::async_runtime::spawn_blocking(move || agent.diagnostics(screenshot)).await??;
    Ok(serde_json::to_value(bundle)?)
}

#[tauri::command]
pub fn reply(state: State<'_, AppState>, id: String, message: String) -> CommandResult<()> {
    state.agent.reply(&id, &message)?;
    deliver_soon(&state);
    Ok(())
}

#[tauri::command]
pub fn rate(
    state: State<'_, AppState>,
    id: String,
    score: u8,
    comment: Option<String>,
) -> CommandResult<()> {
    state.agent.rate(&id, score, comment.as_deref())?;
    deliver_soon(&state);
    Ok(())
}

#[tauri::command]
pub fn reopen(state: State<'_, AppState>, id: String) -> CommandResult<()> {
    state.agent.reopen(&id)?;
    deliver_soon(&state);
    Ok(())
}

fn deliver_soon(state: &AppState) {
    let agent = Arc::clone(&state.agent);
    tauri::async_runtime::spawn(async move {
        let _ = agent.deliver_now().await;
    });
}

/// Delivers the outbox and checks in now.
#[tauri::command]
pub async fn sync_now(state: State<'_, AppState>) -> CommandResult<()> {
    state.agent.sync().await?;
    Ok(())
}

#[tauri::command]
pub fn settings(state: State<'_, AppState>) -> Settings {
    state.settings_now()
}

/// Saves the settings and applies them at once (language, notifications,
/// start at login).
#[tauri::command]
pub fn set_settings<R: tauri::Runtime>(
    app: tauri::AppHandle<R>,
    state: State<'_, AppState>,
    settings: Settings,
) -> CommandResult<()> {
    settings.save(&state.agent)?;
    state
        .agent
        .configure_notifications(settings.notifications, settings.locale());
    *state.settings.lock().unwrap_or_else(|p| p.into_inner()) = settings;
    if app.tray_by_id(crate::tray::TRAY_ID).is_some() {
        crate::settings::apply_autostart(&app);
        crate::tray::refresh(&app);
    }
    let _ = tauri::Emitter::emit(
        &app,
        crate::EVENT,
        serde_json::json!({ "kind": "settings" }),
    );
    Ok(())
}

/// The page has drawn its content and takes input.
#[tauri::command]
pub fn ready<R: tauri::Runtime>(window: tauri::WebviewWindow<R>) {
    crate::windows::ready(window.app_handle(), window.label());
}
