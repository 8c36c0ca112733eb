//! The tray icon on Linux desktops: a StatusNotifierItem with its menu
//! over D-Bus (what KDE, GNOME's AppIndicator extension, XFCE, Cinnamon and
//! the wlroots bars show), with no GUI toolkit in the process.

use std::sync::{Arc, OnceLock};

use ksni::menu::StandardItem;
use ksni::{Icon, MenuItem, ToolTip, TrayMethods as _};

use super::{Desktop, TrayView};
use crate::tray::{MENU, TrayState, Window};

/// The item the desktop shows.
pub struct SniTray {
    desktop: Arc<Desktop>,
    view: TrayView,
}

impl std::fmt::Debug for SniTray {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SniTray").field("view", &self.view).finish()
    }
}

/// A running tray icon.
pub type Handle = ksni::Handle<SniTray>;

/// The icon of a state at 16, 32 and 64 px (the host picks), ARGB32 in
/// network byte order as StatusNotifierItem wants it.
pub fn icon(state: TrayState) -> Vec<Icon> {
    static ICONS: OnceLock<Vec<(TrayState, Vec<Icon>)>> = OnceLock::new();
    let all = ICONS.get_or_init(|| {
        macro_rules! sizes {
            ($name:literal) => {
                [
                    &include_bytes!(concat!("../../../../icons/tray/", $name, "@16.png"))[..],
                    &include_bytes!(concat!("../../../../icons/tray/", $name, ".png"))[..],
                    &include_bytes!(concat!("../../../../icons/tray/", $name, "@64.png"))[..],
                ]
            };
        }
        [
            (TrayState::Healthy, sizes!("healthy")),
            (TrayState::Warning, sizes!("warning")),
            (TrayState::Critical, sizes!("critical")),
            (TrayState::Offline, sizes!("offline")),
            (TrayState::Syncing, sizes!("syncing")),
        ]
        .into_iter()
        .map(|(s, pngs)| (s, pngs.iter().filter_map(|p| argb(p)).collect()))
        .collect()
    });
    all.iter()
        .find(|(s, _)| *s == state)
        .map(|(_, i)| i.clone())
        .unwrap_or_default()
}

/// An RGBA PNG as a StatusNotifierItem pixmap; `None` for anything else
/// (the icons are generated and checked in, so that is a build bug).
fn argb(png_bytes: &[u8]) -> Option<Icon> {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().ok()?;
    let mut buf = vec![0; reader.output_buffer_size()?];
    let info = reader.next_frame(&mut buf).ok()?;
    if info.color_type != png::ColorType::Rgba {
        return None;
    }
    buf.truncate(info.buffer_size());
    for px in buf.chunks_exact_mut(4) {
        px.rotate_right(1);
    }
    Some(Icon {
        width: i32::try_from(info.width).ok()?,
        height: i32::try_from(info.height).ok()?,
        data: buf,
    })
}

impl SniTray {
    /// The item for `desktop`, showing `view`.
    pub fn new(desktop: Arc<Desktop>, view: TrayView) -> Self {
        Self { desktop, view }
    }

    /// Shows `view` (on the next redraw the host asks for).
    pub fn set_view(&mut self, view: TrayView) {
        self.view = view;
    }
}

impl ksni::Tray for SniTray {
    fn id(&self) -> String {
        "deskside".into()
    }

    fn title(&self) -> String {
        "Deskside".into()
    }

    fn category(&self) -> ksni::Category {
        ksni::Category::SystemServices
    }

    fn status(&self) -> ksni::Status {
        if self.view.state == TrayState::Critical {
            ksni::Status::NeedsAttention
        } else {
            ksni::Status::Active
        }
    }

    fn icon_pixmap(&self) -> Vec<Icon> {
        icon(self.view.state)
    }

    fn tool_tip(&self) -> ToolTip {
        ToolTip {
            title: "Deskside".into(),
            description: self.view.tooltip.clone(),
            ..ToolTip::default()
        }
    }

    /// A left click: the compact status.
    fn activate(&mut self, _x: i32, _y: i32) {
        self.desktop.open_at(Window::Health, None);
    }

    fn menu(&self) -> Vec<MenuItem<Self>> {
        let mut items = Vec::new();
        for (i, (id, label)) in self.view.labels.iter().enumerate() {
            // Quit stands apart.
            if i == MENU.len() - 1 {
                items.push(MenuItem::Separator);
            }
            let id: &'static str = id;
            items.push(
                StandardItem {
                    label: label.clone(),
                    activate: Box::new(move |t: &mut Self| {
                        t.desktop.handle_menu(id);
                    }),
                    ..StandardItem::default()
                }
                .into(),
            );
        }
        items
    }

    fn watcher_offline(&self, reason: ksni::OfflineReason) -> bool {
        // The panel may start after us at login, or restart: keep serving
        // and show up when it is back.
        tracing::info!("no tray host on the desktop right now: {reason:?}");
        true
    }

    fn watcher_online(&self) {
        tracing::info!("the desktop's tray host is there");
    }
}

/// Puts the icon on the desktop's tray; `None` (logged) when the session
/// bus cannot be reached. A desktop without a tray host yet (the panel
/// starts later at login) gets the icon when its host appears.
pub async fn spawn(desktop: Arc<Desktop>) -> Option<Handle> {
    let view = desktop.tray_view();
    match SniTray::new(desktop, view)
        .assume_sni_available(true)
        .spawn()
        .await
    {
        Ok(h) => Some(h),
        Err(e) => {
            tracing::warn!("no tray icon: {e}");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_has_three_sizes_of_argb_pixels() {
        for s in [
            TrayState::Healthy,
            TrayState::Warning,
            TrayState::Critical,
            TrayState::Offline,
            TrayState::Syncing,
        ] {
            let icons = icon(s);
            let sizes: Vec<i32> = icons.iter().map(|i| i.width).collect();
            assert_eq!(sizes, [16, 32, 64], "{s:?}");
            for i in &icons {
                assert_eq!(i.data.len(), (i.width * i.height * 4) as usize);
            }
        }
        // Distinct per state, so the panel shows the change.
        assert_ne!(
            icon(TrayState::Healthy)[1].data,
            icon(TrayState::Critical)[1].data
        );
    }
}
