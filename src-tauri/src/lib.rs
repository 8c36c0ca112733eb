//! Deskside's tray app (Tauri 2): a thin shell over `deskside-agent`.
//!
//! What the app does lives in [`deskside_agent::desktop`]; this crate
//! draws it. Windows are created on demand and destroyed when closed, and
//! the agent's events reach open windows as Tauri events. Two ways to run:
//!
//! - [`run`], one process (Windows and macOS, where the web engine is a
//!   system component loaded only with a web view): the agent runs
//!   in-process on Tauri's tokio runtime, the tray is Tauri's.
//! - [`run_windows`], on Linux: only the windows. WebKitGTK is linked,
//!   so a process that can show a window maps it from its start; the tray
//!   and the agent therefore run in `deskside` without it
//!   ([`deskside_agent::desktop::tray_process`]), which starts this
//!   process when a window is asked for; it exits with its last window.

pub mod commands;
pub mod tray;
pub mod windows;

use std::sync::Arc;

use deskside_agent::config::AgentConfig;
use deskside_agent::desktop::{Desktop, EVENT, Shell, TrayView};
use deskside_agent::runtime::StateLock;
use deskside_agent::tray::Window;
use tauri::{Emitter, Manager, RunEvent};

pub use commands::Backend;
pub use deskside_agent::desktop::requested_target;

/// Starts the one-process app; returns when the user quits.
pub fn run() {
    exit_on_bad_target();
    skip_gdk_gl();
    deskside_agent::logfile::init_from_env();
    let app = builder(tauri::Builder::default())
        .plugin(tauri_plugin_single_instance::init(|app, args, _cwd| {
            // A second launch shows the first one's status, or the window
            // it names (`deskside --open tickets`, what a notification's
            // action or a desktop shortcut runs).
            let target = requested_target(&args).unwrap_or("health");
            if let Some(Backend::Local(d)) = app.try_state::<Backend>().map(|b| b.inner().clone())
                && !d.open_target(target)
            {
                d.open_at(Window::Health, None);
            }
        }))
        .plugin(tauri_plugin_autostart::init(
            tauri_plugin_autostart::MacosLauncher::LaunchAgent,
            None,
        ))
        .setup(|app| {
            // After the single-instance plugin: a second launch hands over
            // to the first and never gets here, so it cannot take the lock.
            let (desktop, lock) = open().map_err(|e| {
                eprintln!("error: {e}");
                e
            })?;
            app.manage(Backend::Local(Arc::clone(&desktop)));
            app.manage(Lock(lock));
            desktop.set_shell(Arc::new(TauriShell(app.handle().clone())));
            tray::create(app.handle(), &desktop)?;
            TauriShell(app.handle().clone()).apply_autostart(desktop.settings().autostart);
            start_agent(&desktop);
            let args: Vec<String> = std::env::args().collect();
            if let Some(target) = requested_target(&args) {
                desktop.open_target(target);
            }
            Ok(())
        })
        .build(tauri::generate_context!());
    let app = or_exit(app, "the tray app");
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

/// An `--open` that names no window: a message and exit code 2.
fn exit_on_bad_target() {
    let args: Vec<String> = std::env::args().collect();
    if let Err(e) =
        deskside_agent::desktop::checked_target(&args, deskside_agent::i18n::Locale::detect())
    {
        eprintln!("error: {e}");
        std::process::exit(2);
    }
}

/// The built app, or a message and exit code 1.
fn or_exit<T>(built: tauri::Result<T>, what: &str) -> T {
    built.unwrap_or_else(|e| {
        eprintln!("error: cannot start {what}: {e}");
        std::process::exit(1)
    })
}

/// The state directory's lock, held for the app's life.
struct Lock(#[allow(dead_code)] StateLock);

/// GTK probes OpenGL when it opens the X display, to choose visuals: that
/// loads Mesa (with LLVM for software rendering), about 30 MiB kept for
/// nothing. The windows do not need it: WebKit renders in its own web
/// process and hands the UI process finished frames. A `GDK_GL` the user
/// set is left alone.
fn skip_gdk_gl() {
    #[cfg(target_os = "linux")]
    if std::env::var_os("GDK_GL").is_none() {
        // SAFETY: called first thing, before this process starts any
        // thread, so nothing reads the environment concurrently.
        #[allow(unsafe_code)]
        unsafe {
            std::env::set_var("GDK_GL", "disable");
        }
    }
}

/// The builder with the app's commands: shared by [`run`], [`run_windows`]
/// and the tests (which use Tauri's mock runtime).
pub fn builder<R: tauri::Runtime>(b: tauri::Builder<R>) -> tauri::Builder<R> {
    b.invoke_handler(commands::handle::<R>)
}

/// The window `--open LABEL` names on a command line.
pub fn requested_window(args: &[String]) -> Option<Window> {
    Window::from_target(requested_target(args)?).map(|(w, _)| w)
}

fn open() -> Result<(Arc<Desktop>, StateLock), String> {
    let (cfg, _) = AgentConfig::load(None).map_err(|e| e.to_string())?;
    let (lock, agent) =
        deskside_agent::runtime::open_exclusive(&cfg, true).map_err(|e| e.to_string())?;
    let rt = tauri::async_runtime::handle().inner().clone();
    Ok((Desktop::new(agent, rt), lock))
}

/// Runs the agent's loops and forwards its events to the tray and the
/// open windows.
fn start_agent(desktop: &Arc<Desktop>) {
    let agent = Arc::clone(desktop.agent());
    let stop = desktop.stop();
    let cfg = agent.config().clone();
    tauri::async_runtime::spawn(async move {
        if let Err(e) = deskside_agent::runtime::run_agent(agent, cfg, async move {
            stop.notified().await;
        })
        .await
        {
            tracing::error!("the agent stopped: {e}");
        }
    });
    tauri::async_runtime::spawn(Arc::clone(desktop).forward_events());
}

/// What draws the one-process app: Tauri's windows and tray.
pub struct TauriShell<R: tauri::Runtime>(pub tauri::AppHandle<R>);

impl<R: tauri::Runtime> Shell for TauriShell<R> {
    fn is_open(&self, w: Window) -> bool {
        self.0.get_webview_window(w.label()).is_some()
    }

    fn show(&self, w: Window, item: Option<&str>, locale: deskside_agent::i18n::Locale) {
        if !windows::show(&self.0, w, item, &w.title(locale))
            && let Some(Backend::Local(d)) =
                self.0.try_state::<Backend>().map(|b| b.inner().clone())
        {
            d.not_opened(w.label());
        }
    }

    fn emit(&self, payload: serde_json::Value) {
        let _ = self.0.emit(EVENT, payload);
    }

    fn refresh_tray(&self, view: &TrayView) {
        tray::redraw(&self.0, view);
    }

    fn apply_autostart(&self, wanted: bool) {
        use tauri_plugin_autostart::ManagerExt;
        // Not there under the tests' mock runtime.
        if self
            .0
            .try_state::<tauri_plugin_autostart::AutoLaunchManager>()
            .is_none()
        {
            return;
        }
        // The launcher writes ~/.config/autostart/ on Linux but does not
        // create the folder, which a fresh account lacks.
        #[cfg(target_os = "linux")]
        if wanted
            && let Some(path) = deskside_agent::desktop::autostart::entry_path()
            && let Some(dir) = path.parent()
        {
            let _ = std::fs::create_dir_all(dir);
        }
        let launcher = self.0.autolaunch();
        let result = if wanted {
            launcher.enable()
        } else {
            launcher.disable()
        };
        if let Err(e) = result {
            tracing::warn!("cannot change start at login: {e}");
        }
    }

    fn quit(&self) {
        self.0.exit(0);
    }
}

/// Starts the windows process of the two-process app (Linux): it attaches
/// to the running `deskside` (starting it when there is none), shows what
/// it is told to, passes events on, and exits with its last window or when
/// the tray app quits. `--open TARGET` asks for a window at once (what the
/// end-to-end test's WebDriver launches).
#[cfg(unix)]
pub fn run_windows() {
    use deskside_agent::desktop::ipc::{Client, ToTray, ToWindows, socket_path};
    let started = std::time::Instant::now();
    let ms = move || started.elapsed().as_millis() as u64;
    exit_on_bad_target();
    skip_gdk_gl();
    deskside_agent::logfile::init_from_env();
    let socket = match AgentConfig::load(None) {
        Ok((cfg, _)) => socket_path(&cfg),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    };
    let attached = tauri::async_runtime::block_on(async {
        let mut launched = false;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
        loop {
            match Client::attach(&socket).await {
                Ok(c) => return Ok(c),
                Err(e) if std::time::Instant::now() > deadline => return Err(e),
                Err(_) => {
                    if !launched {
                        // No tray app yet (this was launched first): start it.
                        launched = true;
                        let tray = std::env::current_exe()
                            .map(|p| p.with_file_name("deskside"))
                            .and_then(|p| std::process::Command::new(p).spawn());
                        if let Err(e) = tray {
                            tracing::warn!("cannot start the tray app: {e}");
                        }
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
            }
        }
    });
    tracing::debug!(ms = ms(), "attached to the tray process");
    let (client, mut inbox) = match attached {
        Ok(c) => c,
        Err(e) => {
            eprintln!(
                "error: the Deskside tray app does not answer at {}: {e}",
                socket.display()
            );
            std::process::exit(1);
        }
    };
    let args: Vec<String> = std::env::args().collect();
    if let Some(target) = requested_target(&args) {
        client.send(ToTray::OpenTarget {
            target: target.to_owned(),
        });
    }
    let for_setup = Arc::clone(&client);
    let app = builder(tauri::Builder::default())
        .manage(Backend::Remote(Arc::clone(&client)))
        .setup(move |app| {
            tracing::debug!(ms = ms(), "windows process set up");
            // Started for a window that could not be created: do not stay.
            let idle = app.handle().clone();
            tauri::async_runtime::spawn(async move {
                tokio::time::sleep(std::time::Duration::from_secs(30)).await;
                if idle.webview_windows().is_empty() {
                    tracing::info!("no window to show: exiting");
                    idle.exit(0);
                }
            });
            let handle = app.handle().clone();
            let client = for_setup;
            tauri::async_runtime::spawn(async move {
                while let Some(msg) = inbox.recv().await {
                    tracing::debug!(?msg, "from the tray process");
                    match msg {
                        ToWindows::Show { label, item, title } => {
                            // Checked again: the id goes into the page's URL.
                            let target = format!("{label}/{}", item.unwrap_or_default());
                            if let Some((w, item)) = Window::from_target(&target)
                                && windows::show(&handle, w, item, &title)
                            {
                                tracing::debug!(ms = ms(), window = %label, "shown");
                                client.send(ToTray::Shown { label });
                            }
                        }
                        ToWindows::Event { payload } => {
                            let _ = handle.emit(EVENT, payload);
                        }
                        ToWindows::Quit => break,
                        ToWindows::Reply { .. } => {}
                    }
                }
                // The user quit, or the tray app went away.
                handle.exit(0);
            });
            Ok(())
        })
        .build(tauri::generate_context!());
    let app = or_exit(app, "the windows");
    app.run(move |_app, event| {
        if let RunEvent::WindowEvent {
            label,
            event: tauri::WindowEvent::Destroyed,
            ..
        } = event
        {
            client.send(ToTray::Closed { label });
        }
        // The last window closed: exit (ExitRequested with no code), and
        // start again when a window is asked for.
    });
}
