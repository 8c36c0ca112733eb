//! The desktop app's core, without any GUI toolkit: what the tray menu
//! does, which window opens when (a report's screenshot is taken before
//! its window exists), the commands the windows call, and the events they
//! get. The tray app draws it with Tauri, in one process or two (see
//! [`ipc`]); everything here is tested without a display.

#[cfg(target_os = "linux")]
pub mod autostart;
pub mod commands;
#[cfg(unix)]
pub mod ipc;
pub mod settings;
#[cfg(target_os = "linux")]
pub mod sni;
#[cfg(target_os = "linux")]
pub mod tray_process;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::agent::{Agent, Event, SyncState};
use crate::i18n::Locale;
use crate::report::ReportDraft;
use crate::tray::{MenuAction, TrayState, Window, menu_action, menu_labels};
pub use commands::CommandError;
pub use settings::Settings;

/// What draws the app: windows, the tray, start at login. One per way of
/// running (Tauri in-process, the tray process that starts a windows
/// process, the tests' recorder).
pub trait Shell: Send + Sync {
    /// Whether window `w` is open.
    fn is_open(&self, w: Window) -> bool;
    /// Opens `w` (on `item`, a ticket's local id) titled in `locale`, or
    /// brings it to the front and has it show `item`.
    fn show(&self, w: Window, item: Option<&str>, locale: Locale);
    /// Tells open windows that something changed.
    fn emit(&self, payload: serde_json::Value);
    /// Redraws the tray icon, tooltip and menu labels.
    fn refresh_tray(&self, view: &TrayView);
    /// Makes start at login match the setting.
    fn apply_autostart(&self, wanted: bool);
    /// Ends the app.
    fn quit(&self);
}

/// What the tray shows now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrayView {
    /// The icon's state.
    pub state: TrayState,
    /// Unread replies.
    pub unread: u32,
    /// The one-line tooltip.
    pub tooltip: String,
    /// The menu's (id, label) pairs, in order.
    pub labels: Vec<(&'static str, String)>,
}

/// The event windows get when something changed (a Tauri event name).
pub const EVENT: &str = "deskside://changed";
/// The event an open window gets when it is asked to show an item.
pub const SHOW_EVENT: &str = "deskside://show";

/// The desktop app's state: the agent, the user's settings and the report
/// being written.
pub struct Desktop {
    agent: Arc<Agent>,
    settings: Mutex<Settings>,
    /// When each window was asked for, until its page says it is ready.
    opened: Mutex<HashMap<&'static str, Instant>>,
    /// The desk connection as last reported (for the tray icon).
    sync_state: Mutex<Option<SyncState>>,
    /// The screenshot and files of the report being written.
    draft: Mutex<ReportDraft>,
    /// The Report window was asked for and waits for its screenshot.
    report_pending: AtomicBool,
    shell: OnceLock<Arc<dyn Shell>>,
    rt: tokio::runtime::Handle,
    stop: Arc<tokio::sync::Notify>,
}

impl std::fmt::Debug for Desktop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Desktop").finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Desktop {
    /// The desktop state of an opened agent; background work (sync now,
    /// delivery after a submit) runs on `rt`.
    pub fn new(agent: Arc<Agent>, rt: tokio::runtime::Handle) -> Arc<Self> {
        let settings = Settings::load(&agent);
        agent.configure_notifications(settings.notifications, settings.locale());
        Arc::new(Self {
            agent,
            settings: Mutex::new(settings),
            opened: Mutex::new(HashMap::new()),
            sync_state: Mutex::new(None),
            draft: Mutex::new(ReportDraft::new()),
            report_pending: AtomicBool::new(false),
            shell: OnceLock::new(),
            rt,
            stop: Arc::new(tokio::sync::Notify::new()),
        })
    }

    /// Connects what draws the app; only the first call counts.
    pub fn set_shell(&self, shell: Arc<dyn Shell>) {
        let _ = self.shell.set(shell);
    }

    fn shell(&self) -> Option<&Arc<dyn Shell>> {
        self.shell.get()
    }

    /// The agent core.
    pub fn agent(&self) -> &Arc<Agent> {
        &self.agent
    }

    /// Completes when the user quits.
    pub fn stop(&self) -> Arc<tokio::sync::Notify> {
        Arc::clone(&self.stop)
    }

    /// Works on the report being written (the tests put a screenshot in).
    pub fn with_draft<T>(&self, f: impl FnOnce(&mut ReportDraft) -> T) -> T {
        f(&mut lock(&self.draft))
    }

    /// The settings now.
    pub fn settings(&self) -> Settings {
        lock(&self.settings).clone()
    }

    /// The language in effect.
    pub fn locale(&self) -> Locale {
        lock(&self.settings).locale()
    }

    /// Saves the settings and applies them at once (language,
    /// notifications, start at login, the tray's labels).
    pub fn set_settings(&self, settings: Settings) -> Result<(), String> {
        settings.save(&self.agent)?;
        self.agent
            .configure_notifications(settings.notifications, settings.locale());
        let autostart = settings.autostart;
        *lock(&self.settings) = settings;
        if let Some(shell) = self.shell() {
            shell.apply_autostart(autostart);
            shell.refresh_tray(&self.tray_view());
            shell.emit(serde_json::json!({ "kind": "settings" }));
        }
        Ok(())
    }

    /// The tray's state now.
    pub fn tray_view(&self) -> TrayView {
        let status = self.agent.status().ok();
        let sync = *lock(&self.sync_state);
        let sync = sync.or_else(|| {
            status
                .as_ref()
                .filter(|s| s.needs_enrollment)
                .map(|_| SyncState::NeedsEnrollment)
        });
        let unread = self
            .agent
            .my_tickets()
            .map(|ts| ts.iter().map(|t| t.unread).sum())
            .unwrap_or(0);
        let health = status.and_then(|s| s.overall_health);
        let state = TrayState::from_parts(health.as_deref(), sync);
        let locale = self.locale();
        TrayView {
            state,
            unread,
            tooltip: state.tooltip(locale, unread),
            labels: menu_labels(locale, unread),
        }
    }

    /// Does what the menu item `id` asks; `false` for an unknown id.
    pub fn handle_menu(self: &Arc<Self>, id: &str) -> bool {
        match menu_action(id) {
            Some(MenuAction::Open(w)) => {
                self.open_at(w, None);
                true
            }
            Some(MenuAction::SyncNow) => {
                let agent = Arc::clone(&self.agent);
                self.rt.spawn(async move {
                    if let Err(e) = agent.sync().await {
                        tracing::info!("sync now: {e}");
                    }
                });
                true
            }
            Some(MenuAction::Quit) => {
                self.stop.notify_one();
                if let Some(shell) = self.shell() {
                    shell.quit();
                }
                true
            }
            None => false,
        }
    }

    /// Opens what a target names (`health`, `tickets/t-…`); `false` for an
    /// unknown target.
    pub fn open_target(self: &Arc<Self>, target: &str) -> bool {
        match Window::from_target(target) {
            Some((w, item)) => {
                self.open_at(w, item);
                true
            }
            None => false,
        }
    }

    /// Opens `w` on `item`, or brings it to the front. A new Report a
    /// problem starts a new draft, with a screenshot taken before the
    /// window exists (so it shows what the employee was looking at) and
    /// off the caller's thread (the Wayland portal may wait for the
    /// desktop, or ask the employee).
    pub fn open_at(self: &Arc<Self>, w: Window, item: Option<&str>) {
        let Some(shell) = self.shell().cloned() else {
            return;
        };
        if shell.is_open(w) {
            shell.show(w, item, self.locale());
            return;
        }
        if w == Window::Report && self.report_pending.swap(true, Ordering::SeqCst) {
            // Asked again while its screenshot is being taken.
            return;
        }
        lock(&self.opened).insert(w.label(), Instant::now());
        if w == Window::Report {
            *lock(&self.draft) = ReportDraft::new();
            if self.agent.config().privacy.screenshots {
                let me = Arc::clone(self);
                let shell = Arc::clone(&shell);
                let spawned = std::thread::Builder::new()
                    .name("deskside-capture".into())
                    .spawn(move || {
                        let started = Instant::now();
                        let taken = deskside_host::screenshot::capture();
                        tracing::info!(
                            ms = started.elapsed().as_millis() as u64,
                            ok = taken.is_ok(),
                            "screen captured"
                        );
                        match taken {
                            Ok(c) => lock(&me.draft).set_screenshot(c),
                            Err(e) => tracing::info!("no screenshot for the report: {e}"),
                        }
                        me.report_pending.store(false, Ordering::SeqCst);
                        shell.show(Window::Report, None, me.locale());
                    });
                if spawned.is_ok() {
                    return;
                }
            }
            self.report_pending.store(false, Ordering::SeqCst);
        }
        shell.show(w, item, self.locale());
    }

    /// The page of `label` has drawn its content and takes input: how long
    /// that took since the window was asked for, for the log (and the tray
    /// app's benchmark).
    pub fn ready(&self, label: &str) -> Option<Duration> {
        let opened = lock(&self.opened).remove(label)?;
        let took = opened.elapsed();
        tracing::info!(window = label, ms = took.as_millis() as u64, "window ready");
        Some(took)
    }

    /// A window could not be created: nobody waits for its page.
    pub fn not_opened(&self, label: &str) {
        lock(&self.opened).remove(label);
    }

    /// Forwards the agent's events to the tray and the open windows, and
    /// opens what a clicked notification names, until the agent closes.
    pub async fn forward_events(self: Arc<Self>) {
        let mut events = self.agent.subscribe();
        loop {
            match events.recv().await {
                Ok(Event::Open { target }) => {
                    self.open_target(&target);
                }
                Ok(event) => {
                    if let Event::SyncState(s) = &event {
                        *lock(&self.sync_state) = Some(*s);
                    }
                    if let Some(shell) = self.shell() {
                        shell.refresh_tray(&self.tray_view());
                        shell.emit(commands::event_payload(&event));
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                    if let Some(shell) = self.shell() {
                        shell.refresh_tray(&self.tray_view());
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            }
        }
    }
}

/// What `--open TARGET` names on a command line (`tickets`,
/// `tickets/t-…`, `health`, …).
pub fn requested_target(args: &[String]) -> Option<&str> {
    let i = args.iter().position(|a| a == "--open")?;
    args.get(i + 1).map(String::as_str)
}

/// [`requested_target`], checked: a message (in `locale`) for an `--open`
/// that names no window, so a launcher or shortcut with a typo is told.
pub fn checked_target(args: &[String], locale: Locale) -> Result<Option<&str>, String> {
    let named = requested_target(args);
    let given = args.iter().any(|a| a == "--open");
    match named {
        Some(t) if Window::from_target(t).is_some() => Ok(Some(t)),
        None if !given => Ok(None),
        other => Err(crate::i18n::text(
            locale,
            "app.error.unknown_target",
            &[("target", other.unwrap_or(""))],
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_open_that_names_no_window_is_an_error() {
        let args = |a: &[&str]| a.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let en = Locale::En;
        assert_eq!(checked_target(&args(&["deskside"]), en), Ok(None));
        assert_eq!(
            checked_target(&args(&["deskside", "--open", "tickets/t-1"]), en),
            Ok(Some("tickets/t-1"))
        );
        let err = checked_target(&args(&["deskside", "--open", "tikets"]), en).unwrap_err();
        assert!(
            err.starts_with("\"--open tikets\": there is no such window"),
            "{err}"
        );
        assert!(checked_target(&args(&["deskside", "--open"]), en).is_err());
        let ja = checked_target(&args(&["deskside", "--open", "x"]), Locale::Ja).unwrap_err();
        assert!(ja.contains("そのようなウィンドウはありません"), "{ja}");
    }
}
