//! Windows are created on demand and destroyed when closed: a web view
//! left alive costs hundreds of megabytes, so an idle tray app has none.

use deskside_agent::desktop::SHOW_EVENT;
use deskside_agent::tray::Window;
use tauri::{AppHandle, Manager, Runtime, WebviewUrl, WebviewWindowBuilder};

/// A window's size in logical pixels.
fn size(w: Window) -> (f64, f64) {
    match w {
        Window::Report => (560.0, 680.0),
        Window::Tickets => (720.0, 600.0),
        Window::Health => (640.0, 640.0),
        Window::Settings | Window::About => (460.0, 480.0),
    }
}

/// Brings `w` to the front and has it show `item`, or creates it on
/// `item` with `title`; `false` when it could not be created.
pub fn show<R: Runtime>(app: &AppHandle<R>, w: Window, item: Option<&str>, title: &str) -> bool {
    if let Some(existing) = app.get_webview_window(w.label()) {
        let _ = existing.unminimize();
        let _ = existing.show();
        let _ = existing.set_focus();
        if let Some(item) = item {
            let _ = tauri::Emitter::emit_to(app, w.label(), SHOW_EVENT, item);
        }
        return true;
    }
    let (width, height) = size(w);
    let mut page = format!("index.html?view={}", w.label());
    if let Some(item) = item {
        // `from_target` keeps ids to [A-Za-z0-9_-]: nothing to escape.
        page.push_str("&item=");
        page.push_str(item);
    }
    let built = WebviewWindowBuilder::new(app, w.label(), WebviewUrl::App(page.into()))
        .title(title)
        .inner_size(width, height)
        .min_inner_size(360.0, 320.0)
        .center()
        .build();
    match built {
        Ok(_) => true,
        Err(e) => {
            tracing::warn!("cannot open the {} window: {e}", w.label());
            false
        }
    }
}
