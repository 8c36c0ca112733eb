//! `deskside` on Linux: the tray and the agent, without a web engine.
//! Windows are shown by `deskside-windows`, started on demand beside this
//! binary (see [`super::ipc`]).
//!
//! One per state directory: a second launch hands its `--open` target to
//! the running one and exits.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use super::ipc::{self, WindowsHub};
use super::{Desktop, Shell, TrayView, sni};
use crate::config::AgentConfig;
use crate::i18n::Locale;
use crate::runtime::RunError;
use crate::tray::Window;

/// The windows process's binary: beside this one, or `DESKSIDE_WINDOWS_BIN`.
pub fn windows_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("DESKSIDE_WINDOWS_BIN") {
        return p.into();
    }
    std::env::current_exe()
        .unwrap_or_else(|_| PathBuf::from("deskside"))
        .with_file_name("deskside-windows")
}

/// What draws the app in the tray process: the tray icon here, windows in
/// the windows process.
struct TrayShell {
    hub: Arc<WindowsHub>,
    tray: Mutex<Option<sni::Handle>>,
    rt: tokio::runtime::Handle,
}

impl Shell for TrayShell {
    fn is_open(&self, w: Window) -> bool {
        self.hub.is_open(w.label())
    }

    fn show(&self, w: Window, item: Option<&str>, locale: Locale) {
        self.hub.show(w.label(), item, &w.title(locale));
    }

    fn emit(&self, payload: serde_json::Value) {
        self.hub.emit(payload);
    }

    fn refresh_tray(&self, view: &TrayView) {
        let tray = self.tray.lock().unwrap_or_else(|p| p.into_inner()).clone();
        if let Some(tray) = tray {
            let view = view.clone();
            self.rt.spawn(async move {
                tray.update(|t| t.set_view(view)).await;
            });
        }
    }

    fn apply_autostart(&self, wanted: bool) {
        let exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("deskside"));
        if let Err(e) = super::autostart::apply(wanted, &exe) {
            tracing::warn!("cannot change start at login: {e}");
        }
    }

    fn quit(&self) {
        self.hub.quit();
    }
}

/// SIGTERM (a session ending) or Ctrl-C. The SIGTERM handler is installed
/// when this is called, not when the future is first polled: a SIGTERM that
/// arrives while the agent is still starting must stop it cleanly rather
/// than kill it by the signal's default action. Call it inside the runtime.
fn stop_signal() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{SignalKind, signal};
    let term = signal(SignalKind::terminate());
    async move {
        match term {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
}

/// Starts a windows process and reaps it when it exits.
fn spawner(bin: PathBuf) -> ipc::Spawner {
    Box::new(move || {
        let mut child = std::process::Command::new(&bin)
            .stdin(std::process::Stdio::null())
            .spawn()?;
        std::thread::Builder::new()
            .name("deskside-windows-wait".into())
            .spawn(move || {
                let _ = child.wait();
            })?;
        Ok(())
    })
}

/// Runs the tray app's tray process until the user quits or it is told
/// to stop (SIGTERM, Ctrl-C).
pub fn run() -> ExitCode {
    crate::logfile::init_from_env();
    let args: Vec<String> = std::env::args().collect();
    let target = match super::checked_target(&args, Locale::detect()) {
        Ok(t) => t.map(str::to_owned),
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let cfg = match AgentConfig::load(None) {
        Ok((c, _)) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let socket = ipc::socket_path(&cfg);
    let (lock, agent) = match crate::runtime::open_exclusive(&cfg, true) {
        Ok(opened) => opened,
        Err(RunError::Locked(_)) => {
            // Single instance: the running app shows its status, or what
            // this launch names (a desktop shortcut, `--open tickets`).
            return match ipc::forward(&socket, target.as_deref().unwrap_or("health")) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!(
                        "error: an agent is running with {} but does not answer at {}: {e}",
                        cfg.state_dir().display(),
                        socket.display()
                    );
                    ExitCode::FAILURE
                }
            };
        }
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = rt.block_on(async move {
        // First of all, so that no SIGTERM during start-up is lost.
        let stopping = stop_signal();
        let desktop = Desktop::new(Arc::clone(&agent), tokio::runtime::Handle::current());
        let listener = ipc::bind(&socket)
            .map_err(|e| format!("cannot listen on {}: {e}", socket.display()))?;
        let hub = Arc::new(WindowsHub::new(spawner(windows_binary())));
        let shell = Arc::new(TrayShell {
            hub: Arc::clone(&hub),
            tray: Mutex::new(None),
            rt: tokio::runtime::Handle::current(),
        });
        desktop.set_shell(shell.clone());
        shell.apply_autostart(desktop.settings().autostart);
        tokio::spawn(ipc::serve(listener, Arc::clone(&desktop), Arc::clone(&hub)));
        tokio::spawn(Arc::clone(&desktop).forward_events());
        let tray = sni::spawn(Arc::clone(&desktop)).await;
        *shell.tray.lock().unwrap_or_else(|p| p.into_inner()) = tray;
        if let Some(t) = target {
            desktop.open_target(&t);
        }
        let stop = desktop.stop();
        let ran = crate::runtime::run_agent(agent, cfg, async move {
            tokio::select! {
                _ = stop.notified() => {}
                _ = stopping => {}
            }
        })
        .await;
        hub.quit();
        let _ = std::fs::remove_file(&socket);
        ran.map_err(|e| format!("the agent stopped: {e}"))
    });
    drop(lock);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
