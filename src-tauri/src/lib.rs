//! Deskside's tray app (Tauri 2): a thin shell over `deskside-agent`.
//!
//! It runs the agent in-process on Tauri's tokio runtime, draws the tray
//! from [`deskside_agent::tray`], opens windows on demand and destroys them
//! when closed (an idle tray app holds no web view), and forwards the
//! agent's events to open windows. Everything else lives in
//! `deskside-agent`, where it is tested without a display.

pub mod commands;
pub mod settings;
pub mod tray;
pub mod windows;

use std::sync::Arc;

use deskside_agent::config::AgentConfig;
use deskside_agent::runtime::StateLock;
use deskside_agent::sync::Agent;
use tauri::{Emitter, Manager, RunEvent};

/// What every command and handler shares.
pub struct AppState {
    /// The agent core.
    pub agent: Arc<Agent>,
    /// The user's app settings (language, notifications, start at login).
    pub settings: std::sync::Mutex<settings::Settings>,
    /// When each window was asked for, until its page says it is ready.
    pub opened: std::sync::Mutex<std::collections::HashMap<&'static str, std::time::Instant>>,
    /// The desk connection as last reported (for the tray icon).
    pub sync_state: std::sync::Mutex<Option<deskside_agent::sync::SyncState>>,
    /// The screenshot and files of the report being written.
    pub draft: std::sync::Mutex<deskside_agent::report::ReportDraft>,
    /// The Report window was asked for and waits for its screenshot.
    pub report_pending: std::sync::atomic::AtomicBool,
    /// Stops the agent's loops on quit.
    pub stop: Arc<tokio::sync::Notify>,
    /// One agent per state directory, held for the app's life.
    _lock: Option<StateLock>,
}

impl AppState {
    /// The state for an opened agent.
    pub fn new(agent: Arc<Agent>, lock: Option<StateLock>) -> Self {
        let settings = settings::Settings::load(&agent);
        agent.configure_notifications(settings.notifications, settings.locale());
        Self {
            agent,
            settings: std::sync::Mutex::new(settings),
            sync_state: std::sync::Mutex::new(None),
            draft: std::sync::Mutex::new(deskside_agent::report::ReportDraft::new()),
            report_pending: std::sync::atomic::AtomicBool::new(false),
            opened: std::sync::Mutex::new(std::collections::HashMap::new()),
            stop: Arc::new(tokio::sync::Notify::new()),
            _lock: lock,
        }
    }
}

impl AppState {
    /// The settings now.
    pub fn settings_now(&self) -> settings::Settings {
        self.settings
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The language in effect.
    pub fn locale(&self) -> deskside_agent::i18n::Locale {
        self.settings_now().locale()
    }
}

/// The event open windows receive when something changed.
pub const EVENT: &str = "deskside://changed";

/// Starts the app; returns when the user quits.
pub fn run() {
    skip_gdk_gl();
    let level = std::env::var("DESKSIDE_LOG")
        .ok()
        .and_then(|l| l.parse::<tracing::Level>().ok())
        .unwrap_or(tracing::Level::WARN);
    deskside_agent::logfile::init(level);
    let app = builder(tauri::Builder::default())
        .plugin(tauri_plugin_single_instance::init(|app, args, _cwd| {
            // A second launch shows the first one's status, or the window
            // it names (`deskside --open tickets`, what a notification's
            // action or a desktop shortcut runs).
            let target = requested_target(&args).unwrap_or("health");
            if !windows::open_target(app, target) {
                windows::open(app, deskside_agent::tray::Window::Health);
            }
        }))
        .plugin(tauri_plugin_autostart::init(
            tauri_plugin_autostart::MacosLauncher::LaunchAgent,
            None,
        ))
        .setup(|app| {
            // After the single-instance plugin: a second launch hands over
            // to the first and never gets here, so it cannot take the lock.
            let state = open().map_err(|e| {
                eprintln!("error: {e}");
                e
            })?;
            app.manage(state);
            tray::create(app.handle())?;
            settings::apply_autostart(app.handle());
            start_agent(app.handle());
            let args: Vec<String> = std::env::args().collect();
            if let Some(target) = requested_target(&args) {
                windows::open_target(app.handle(), target);
            }
            Ok(())
        })
        .build(tauri::generate_context!());
    let app = match app {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: cannot start the tray app: {e}");
            std::process::exit(1);
        }
    };
    app.run(|_app, event| {
        // Closing the last window leaves the tray running; only Quit ends
        // the app (it exits with a code).
        if let RunEvent::ExitRequested {
            code: None, api, ..
        } = event
        {
            api.prevent_exit();
        }
    });
}

/// GTK probes OpenGL when it opens the X display, to choose visuals: that
/// loads Mesa (with LLVM for software rendering), about 30 MiB that an
/// idle tray app keeps for nothing. The windows do not need it: WebKit
/// renders in its own web process and hands the UI process finished
/// frames. A `GDK_GL` the user set is left alone.
fn skip_gdk_gl() {
    #[cfg(target_os = "linux")]
    if std::env::var_os("GDK_GL").is_none() {
        // SAFETY: called first thing in `run`, before this process starts
        // any thread, so nothing reads the environment concurrently.
        #[allow(unsafe_code)]
        unsafe {
            std::env::set_var("GDK_GL", "disable");
        }
    }
}

/// The builder with the app's commands: shared by [`run`] and the tests
/// (which use Tauri's mock runtime).
pub fn builder<R: tauri::Runtime>(b: tauri::Builder<R>) -> tauri::Builder<R> {
    b.invoke_handler(tauri::generate_handler![
        commands::status,
        commands::strings,
        commands::health,
        commands::device_summary,
        commands::metrics,
        commands::tickets,
        commands::ticket,
        commands::submit_ticket,
        commands::report_draft,
        commands::remove_screenshot,
        commands::add_file,
        commands::remove_file,
        commands::preview_diagnostics,
        commands::reply,
        commands::rate,
        commands::reopen,
        commands::sync_now,
        commands::settings,
        commands::set_settings,
        commands::ready,
    ])
}

/// The window `--open LABEL` names on a command line.
pub fn requested_window(args: &[String]) -> Option<deskside_agent::tray::Window> {
    deskside_agent::tray::Window::from_target(requested_target(args)?).map(|(w, _)| w)
}

/// What `--open TARGET` names (`tickets`, `tickets/t-…`, `health`, …).
pub fn requested_target(args: &[String]) -> Option<&str> {
    let i = args.iter().position(|a| a == "--open")?;
    args.get(i + 1).map(String::as_str)
}

fn open() -> Result<AppState, String> {
    let (cfg, _) = AgentConfig::load(None).map_err(|e| e.to_string())?;
    let (lock, agent) =
        deskside_agent::runtime::open_exclusive(&cfg, true).map_err(|e| e.to_string())?;
    Ok(AppState::new(agent, Some(lock)))
}

/// Runs the agent's loops and forwards its events to the tray and the
/// open windows.
fn start_agent<R: tauri::Runtime>(app: &tauri::AppHandle<R>) {
    let state = app.state::<AppState>();
    let agent = Arc::clone(&state.agent);
    let stop = Arc::clone(&state.stop);
    let cfg = agent.config().clone();
    let runner = Arc::clone(&agent);
    tauri::async_runtime::spawn(async move {
        if let Err(e) = deskside_agent::runtime::run_agent(runner, cfg, async move {
            stop.notified().await;
        })
        .await
        {
            tracing::error!("the agent stopped: {e}");
        }
    });
    let mut events = agent.subscribe();
    let handle = app.clone();
    tauri::async_runtime::spawn(async move {
        loop {
            match events.recv().await {
                Ok(deskside_agent::sync::Event::Open { target }) => {
                    // A notification was clicked.
                    windows::open_target(&handle, &target);
                }
                Ok(event) => {
                    if let deskside_agent::sync::Event::SyncState(s) = &event {
                        tray::set_sync_state(&handle, *s);
                    }
                    tray::refresh(&handle);
                    let _ = handle.emit(EVENT, commands::EventPayload::from(&event));
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => tray::refresh(&handle),
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            }
        }
    });
}
