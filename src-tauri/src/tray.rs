//! The tray icon and its menu. Building a real tray icon needs a desktop
//! (it panics under Tauri's mock runtime), so [`create`] stays apart from
//! [`handle_menu`], which the tests call directly.

use deskside_agent::sync::SyncState;
use deskside_agent::tray::{MENU, MenuAction, TrayState, menu_action, menu_labels};
use tauri::image::Image;
use tauri::menu::{IsMenuItem, Menu, MenuItem, PredefinedMenuItem};
use tauri::tray::{MouseButton, MouseButtonState, TrayIconBuilder, TrayIconEvent};
use tauri::{AppHandle, Manager, Runtime};

use crate::AppState;

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

/// Does what the menu item `id` asks; `false` for an unknown id.
pub fn handle_menu<R: Runtime>(app: &AppHandle<R>, id: &str) -> bool {
    match menu_action(id) {
        Some(MenuAction::Open(w)) => {
            crate::windows::open(app, w);
            true
        }
        Some(MenuAction::SyncNow) => {
            let agent = std::sync::Arc::clone(&app.state::<AppState>().agent);
            tauri::async_runtime::spawn(async move {
                if let Err(e) = agent.sync().await {
                    tracing::info!("sync now: {e}");
                }
            });
            true
        }
        Some(MenuAction::Quit) => {
            app.state::<AppState>().stop.notify_one();
            app.exit(0);
            true
        }
        None => false,
    }
}

/// Builds the tray icon with its menu.
pub fn create<R: Runtime>(app: &AppHandle<R>) -> tauri::Result<()> {
    let state = app.state::<AppState>();
    let locale = state.locale();
    let items: Vec<MenuItem<R>> = menu_labels(locale, 0)
        .into_iter()
        .map(|(id, label)| MenuItem::with_id(app, id, label, true, None::<&str>))
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
        .icon(icon(TrayState::Healthy))
        .tooltip(TrayState::Healthy.tooltip(locale, 0))
        .menu(&menu)
        .show_menu_on_left_click(false)
        .on_menu_event(|app, event| {
            handle_menu(app, event.id().as_ref());
        })
        .on_tray_icon_event(|tray, event| {
            // Left click: the compact status, where the platform reports
            // clicks (not on Linux, where the menu opens).
            if let TrayIconEvent::Click {
                button: MouseButton::Left,
                button_state: MouseButtonState::Up,
                ..
            } = event
            {
                crate::windows::open(tray.app_handle(), deskside_agent::tray::Window::Health);
            }
        })
        .build(app)?;
    refresh(app);
    Ok(())
}

/// The menu's items, for relabelling.
struct MenuItems<R: Runtime>(Vec<MenuItem<R>>);

/// Remembers the desk connection for the icon.
pub fn set_sync_state<R: Runtime>(app: &AppHandle<R>, s: SyncState) {
    *app.state::<AppState>()
        .sync_state
        .lock()
        .unwrap_or_else(|p| p.into_inner()) = Some(s);
}

/// The tray's state now: icon state and unread replies.
pub fn current<R: Runtime>(app: &AppHandle<R>) -> (TrayState, u32) {
    let state = app.state::<AppState>();
    let status = state.agent.status().ok();
    let sync = *state.sync_state.lock().unwrap_or_else(|p| p.into_inner());
    let sync = sync.or_else(|| {
        status
            .as_ref()
            .filter(|s| s.needs_enrollment)
            .map(|_| SyncState::NeedsEnrollment)
    });
    let unread = state
        .agent
        .my_tickets()
        .map(|ts| ts.iter().map(|t| t.unread).sum())
        .unwrap_or(0);
    let health = status.and_then(|s| s.overall_health);
    (TrayState::from_parts(health.as_deref(), sync), unread)
}

/// Redraws the icon, tooltip and menu labels.
pub fn refresh<R: Runtime>(app: &AppHandle<R>) {
    let (state, unread) = current(app);
    let locale = app.state::<AppState>().locale();
    if let Some(tray) = app.tray_by_id(TRAY_ID) {
        let _ = tray.set_icon(Some(icon(state)));
        let _ = tray.set_tooltip(Some(state.tooltip(locale, unread)));
    }
    if let Some(items) = app.try_state::<MenuItems<R>>() {
        for (item, (_, label)) in items.0.iter().zip(menu_labels(locale, unread)) {
            let _ = item.set_text(label);
        }
    }
}
