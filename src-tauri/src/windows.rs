//! Windows are created on demand and destroyed when closed: a web view
//! left alive costs hundreds of megabytes, so an idle tray app has none.

use std::sync::atomic::Ordering;

use deskside_agent::tray::Window;
use tauri::{AppHandle, Manager, Runtime, WebviewUrl, WebviewWindowBuilder};

use crate::AppState;

/// A window's size in logical pixels.
fn size(w: Window) -> (f64, f64) {
    match w {
        Window::Report => (560.0, 680.0),
        Window::Tickets => (720.0, 600.0),
        Window::Health => (640.0, 640.0),
        Window::Settings | Window::About => (460.0, 480.0),
    }
}

/// The event an open window gets when it is asked to show an item (a
/// ticket, from a notification's click).
pub const SHOW_EVENT: &str = "deskside://show";

/// Opens `w`, or brings it to the front when it is open.
pub fn open<R: Runtime>(app: &AppHandle<R>, w: Window) {
    open_at(app, w, None);
}

/// Opens what a target names (`health`, `tickets/t-…`); `false` for an
/// unknown target.
pub fn open_target<R: Runtime>(app: &AppHandle<R>, target: &str) -> bool {
    match Window::from_target(target) {
        Some((w, item)) => {
            open_at(app, w, item);
            true
        }
        None => false,
    }
}

/// Opens `w` on `item` (a ticket's local id), or brings it to the front
/// and has it show `item`.
pub fn open_at<R: Runtime>(app: &AppHandle<R>, w: Window, item: Option<&str>) {
    if focus_existing(app, w, item) {
        return;
    }
    let state = app.state::<AppState>();
    if w == Window::Report && state.report_pending.swap(true, Ordering::SeqCst) {
        // Asked again while its screenshot is being taken.
        return;
    }
    state
        .opened
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(w.label(), std::time::Instant::now());
    if w == Window::Report {
        // A new report starts a new draft.
        *state.draft.lock().unwrap_or_else(|p| p.into_inner()) =
            deskside_agent::report::ReportDraft::new();
        if state.agent.config().privacy.screenshots {
            // Taken before the window exists, so the picture shows what the
            // employee was looking at, and off the main thread: the Wayland
            // portal may wait for the desktop (or ask the employee).
            let app = app.clone();
            let spawned = std::thread::Builder::new()
                .name("deskside-capture".into())
                .spawn(move || {
                    let started = std::time::Instant::now();
                    let taken = deskside_host::screenshot::capture();
                    tracing::info!(
                        ms = started.elapsed().as_millis() as u64,
                        ok = taken.is_ok(),
                        "screen captured"
                    );
                    match taken {
                        Ok(c) => app
                            .state::<AppState>()
                            .draft
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .set_screenshot(c),
                        Err(e) => tracing::info!("no screenshot for the report: {e}"),
                    }
                    // Tauri hands the window's creation to the main thread.
                    create(&app, Window::Report, None);
                });
            if spawned.is_ok() {
                return;
            }
        }
    }
    create(app, w, item);
}

fn focus_existing<R: Runtime>(app: &AppHandle<R>, w: Window, item: Option<&str>) -> bool {
    let Some(existing) = app.get_webview_window(w.label()) else {
        return false;
    };
    let _ = existing.unminimize();
    let _ = existing.show();
    let _ = existing.set_focus();
    if let Some(item) = item {
        let _ = tauri::Emitter::emit_to(app, w.label(), SHOW_EVENT, item);
    }
    true
}

fn create<R: Runtime>(app: &AppHandle<R>, w: Window, item: Option<&str>) {
    let state = app.state::<AppState>();
    if w == Window::Report {
        state.report_pending.store(false, Ordering::SeqCst);
    }
    if focus_existing(app, w, item) {
        return;
    }
    let locale = state.locale();
    let (width, height) = size(w);
    let mut page = format!("index.html?view={}", w.label());
    if let Some(item) = item {
        // `from_target` keeps ids to [A-Za-z0-9_-]: nothing to escape.
        page.push_str("&item=");
        page.push_str(item);
    }
    let url = WebviewUrl::App(page.into());
    let built = WebviewWindowBuilder::new(app, w.label(), url)
        .title(w.title(locale))
        .inner_size(width, height)
        .min_inner_size(360.0, 320.0)
        .center()
        .build();
    if let Err(e) = built {
        tracing::warn!("cannot open the {} window: {e}", w.label());
        // Not waiting for a page that will not come.
        state
            .opened
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(w.label());
    }
}

/// The page of `label` has drawn its content and takes input: how long
/// that took since the window was asked for, for the log (and the tray
/// app's benchmark).
pub fn ready<R: Runtime>(app: &AppHandle<R>, label: &str) -> Option<std::time::Duration> {
    let state = app.state::<AppState>();
    let opened = state
        .opened
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .remove(label)?;
    let took = opened.elapsed();
    tracing::info!(window = label, ms = took.as_millis() as u64, "window ready");
    Some(took)
}
