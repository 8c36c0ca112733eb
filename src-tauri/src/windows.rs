//! Windows are created on demand and destroyed when closed: a web view
//! left alive costs hundreds of megabytes, so an idle tray app has none.

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

/// Opens `w`, or brings it to the front when it is open.
pub fn open<R: Runtime>(app: &AppHandle<R>, w: Window) {
    if let Some(existing) = app.get_webview_window(w.label()) {
        let _ = existing.unminimize();
        let _ = existing.show();
        let _ = existing.set_focus();
        return;
    }
    let state = app.state::<AppState>();
    let locale = state.locale();
    state
        .opened
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(w.label(), std::time::Instant::now());
    let (width, height) = size(w);
    let url = WebviewUrl::App(format!("index.html?view={}", w.label()).into());
    let built = WebviewWindowBuilder::new(app, w.label(), url)
        .title(w.title(locale))
        .inner_size(width, height)
        .min_inner_size(360.0, 320.0)
        .center()
        .build();
    if let Err(e) = built {
        tracing::warn!("cannot open the {} window: {e}", w.label());
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
