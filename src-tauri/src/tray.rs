//! The tray icon and its menu in the one-process app (Windows, macOS).
//! Building a real tray icon needs a desktop (it panics under Tauri's mock
//! runtime), so [`create`] stays apart from [`handle_menu`], which the
//! tests call directly; what an item does is
//! [`Desktop::handle_menu`](deskside_agent::desktop::Desktop::handle_menu).

use std::sync::Arc;

use deskside_agent::desktop::{Desktop, TrayView};
use deskside_agent::tray::{MENU, TrayState};
use tauri::image::Image;
use tauri::menu::{IsMenuItem, Menu, MenuItem, PredefinedMenuItem};
use tauri::tray::{MouseButton, MouseButtonState, TrayIconBuilder, TrayIconEvent};
use tauri::{AppHandle, Manager, Runtime};

use crate::Backend;

/// The tray icon's id.
pub const TRAY_ID: &str = "deskside";

/// The icon for a state (32 px, from `icons/tray/`).
pub fn icon(state: TrayState) -> Image<'static> {
    let bytes: &'static [u8] = match state {
        TrayState::Healthy => include_bytes!("../../icons/tray/healthy.png"),
        TrayState::Warning => include_bytes!("../../icons/tray/warning.png"),
        TrayState::Critical => include_bytes!("../../icons/tray/critical.png"),
        TrayState::Offline => include_bytes!("../../icons/tray/offline.png"),
        TrayState::Syncing => include_bytes!("../../icons/tray/syncing.png"),
    };
    // The icons are generated and checked in; a broken one is a build bug.
    Image::from_bytes(bytes).unwrap_or_else(|_| Image::new(&[0, 0, 0, 0], 1, 1))
}

fn local<R: Runtime>(app: &AppHandle<R>) -> Option<Arc<Desktop>> {
    match app.try_state::<Backend>()?.inner() {
        Backend::Local(d) => Some(Arc::clone(d)),
        #[cfg(unix)]
        Backend::Remote(_) => None,
    }
}

/// Does what the menu item `id` asks; `false` for an unknown id.
pub fn handle_menu<R: Runtime>(app: &AppHandle<R>, id: &str) -> bool {
    local(app).is_some_and(|d| d.handle_menu(id))
}

/// Builds the tray icon with its menu.
pub fn create<R: Runtime>(app: &AppHandle<R>, desktop: &Arc<Desktop>) -> tauri::Result<()> {
    let view = desktop.tray_view();
    let items: Vec<MenuItem<R>> = view
        .labels
        .iter()
        .map(|(id, label)| MenuItem::with_id(app, *id, label, true, None::<&str>))
        .collect::<tauri::Result<_>>()?;
    let separator = PredefinedMenuItem::separator(app)?;
    let mut refs: Vec<&dyn IsMenuItem<R>> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        // Quit stands apart.
        if i == MENU.len() - 1 {
            refs.push(&separator);
        }
        refs.push(item);
    }
    let menu = Menu::with_items(app, &refs)?;
    app.manage(MenuItems(items));
    TrayIconBuilder::with_id(TRAY_ID)
        .icon(icon(view.state))
        .tooltip(&view.tooltip)
        .menu(&menu)
        .show_menu_on_left_click(false)
        .on_menu_event(|app, event| {
            handle_menu(app, event.id().as_ref());
        })
        .on_tray_icon_event(|tray, event| {
            // Left click: the compact status, where the platform reports
            // clicks.
            if let TrayIconEvent::Click {
                button: MouseButton::Left,
                button_state: MouseButtonState::Up,
                ..
            } = event
                && let Some(d) = local(tray.app_handle())
            {
                d.open_at(deskside_agent::tray::Window::Health, None);
            }
        })
        .build(app)?;
    Ok(())
}

/// The menu's items, for relabelling.
struct MenuItems<R: Runtime>(Vec<MenuItem<R>>);

/// Redraws the icon, tooltip and menu labels.
pub fn redraw<R: Runtime>(app: &AppHandle<R>, view: &TrayView) {
    if let Some(tray) = app.tray_by_id(TRAY_ID) {
        let _ = tray.set_icon(Some(icon(view.state)));
        let _ = tray.set_tooltip(Some(&view.tooltip));
    }
    if let Some(items) = app.try_state::<MenuItems<R>>() {
        for (item, (_, label)) in items.0.iter().zip(&view.labels) {
            let _ = item.set_text(label);
        }
    }
}
