//! What the tray shows and what its menu does, without a display: the
//! tray app (`src-tauri`) draws this model, and tests check it directly.
//!
//! The icon has five states. Offline and syncing are about the desk; the
//! others are the machine's health. The desk's state wins, because an
//! employee who cannot reach IT needs to know that before anything else.

use crate::agent::SyncState;
use crate::i18n::{Locale, text};

/// The tray icon's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TrayState {
    /// Every check passes.
    Healthy,
    /// A check warns.
    Warning,
    /// A check fails.
    Critical,
    /// The desk cannot be reached (or refuses this device).
    Offline,
    /// Talking to the desk right now.
    Syncing,
}

impl TrayState {
    /// Every state, for icon sets and tests.
    pub const ALL: [TrayState; 5] = [
        Self::Healthy,
        Self::Warning,
        Self::Critical,
        Self::Offline,
        Self::Syncing,
    ];

    /// The state for the overall health (`ok`, `warning`, `critical`,
    /// `unknown`, or none before the first check run) and the desk's
    /// connection (none when the device is not managed by a desk).
    pub fn from_parts(health: Option<&str>, sync: Option<SyncState>) -> Self {
        match sync {
            Some(SyncState::Syncing) => return Self::Syncing,
            Some(SyncState::Offline | SyncState::NeedsEnrollment) => return Self::Offline,
            Some(SyncState::Online) | None => {}
        }
        match health {
            Some("critical") => Self::Critical,
            Some("warning" | "unknown") => Self::Warning,
            _ => Self::Healthy,
        }
    }

    /// The icon's file name in `icons/tray/`.
    pub fn icon_name(self) -> &'static str {
        match self {
            Self::Healthy => "healthy",
            Self::Warning => "warning",
            Self::Critical => "critical",
            Self::Offline => "offline",
            Self::Syncing => "syncing",
        }
    }

    /// The one-line tooltip.
    pub fn tooltip(self, locale: Locale, unread: u32) -> String {
        let state = text(locale, &format!("tray.state.{}", self.icon_name()), &[]);
        if unread == 0 {
            return state;
        }
        let n = unread.to_string();
        text(
            locale,
            "tray.tooltip.with_unread",
            &[("state", &state), ("count", &n)],
        )
    }
}

/// A window of the tray app.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Window {
    /// Report a problem.
    Report,
    /// My tickets.
    Tickets,
    /// Device health.
    Health,
    /// Settings.
    Settings,
    /// About.
    About,
}

impl Window {
    /// The window's label (its id in the app and its page in `ui/`).
    pub fn label(self) -> &'static str {
        match self {
            Self::Report => "report",
            Self::Tickets => "tickets",
            Self::Health => "health",
            Self::Settings => "settings",
            Self::About => "about",
        }
    }

    /// The window with this label.
    pub fn from_label(label: &str) -> Option<Self> {
        [
            Self::Report,
            Self::Tickets,
            Self::Health,
            Self::Settings,
            Self::About,
        ]
        .into_iter()
        .find(|w| w.label() == label)
    }

    /// A target as notifications and `deskside --open` name it: a window
    /// label, optionally with what to show in it (`tickets/t-…`).
    pub fn from_target(target: &str) -> Option<(Self, Option<&str>)> {
        let (label, item) = match target.split_once('/') {
            Some((l, i)) => (l, Some(i).filter(|i| !i.is_empty())),
            None => (target, None),
        };
        // Only tickets open on an item; an id is a local ticket id, so it
        // is kept to the characters those have.
        let item = item.filter(|i| {
            i.len() <= 64
                && i.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
        let w = Self::from_label(label)?;
        Some((w, item.filter(|_| w == Self::Tickets)))
    }

    /// The window's title.
    pub fn title(self, locale: Locale) -> String {
        text(locale, &format!("window.{}.title", self.label()), &[])
    }
}

/// What a menu item does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MenuAction {
    /// Open (or focus) a window.
    Open(Window),
    /// Deliver the outbox and check in now.
    SyncNow,
    /// Quit the app.
    Quit,
}

/// The tray menu's items, in order: (id, action).
pub const MENU: [(&str, MenuAction); 7] = [
    ("report", MenuAction::Open(Window::Report)),
    ("tickets", MenuAction::Open(Window::Tickets)),
    ("health", MenuAction::Open(Window::Health)),
    ("sync", MenuAction::SyncNow),
    ("settings", MenuAction::Open(Window::Settings)),
    ("about", MenuAction::Open(Window::About)),
    ("quit", MenuAction::Quit),
];

/// The action of the menu item `id`; `None` for an id that is not one.
pub fn menu_action(id: &str) -> Option<MenuAction> {
    MENU.iter().find(|(i, _)| *i == id).map(|(_, a)| *a)
}

/// The menu's labels in `locale`: (id, label). "My tickets" carries the
/// unread count.
pub fn menu_labels(locale: Locale, unread: u32) -> Vec<(&'static str, String)> {
    MENU.iter()
        .map(|(id, _)| {
            let label = if *id == "tickets" && unread > 0 {
                let n = unread.to_string();
                text(locale, "menu.tickets.unread", &[("count", &n)])
            } else {
                text(locale, &format!("menu.{id}"), &[])
            };
            (*id, label)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_desk_state_wins_over_health() {
        use TrayState as T;
        assert_eq!(
            T::from_parts(Some("ok"), Some(SyncState::Online)),
            T::Healthy
        );
        assert_eq!(T::from_parts(None, None), T::Healthy);
        assert_eq!(T::from_parts(Some("warning"), None), T::Warning);
        assert_eq!(T::from_parts(Some("unknown"), None), T::Warning);
        assert_eq!(
            T::from_parts(Some("critical"), Some(SyncState::Online)),
            T::Critical
        );
        assert_eq!(
            T::from_parts(Some("critical"), Some(SyncState::Offline)),
            T::Offline
        );
        assert_eq!(
            T::from_parts(Some("ok"), Some(SyncState::NeedsEnrollment)),
            T::Offline
        );
        assert_eq!(
            T::from_parts(Some("ok"), Some(SyncState::Syncing)),
            T::Syncing
        );
    }

    #[test]
    fn every_state_and_menu_item_is_translated() {
        for locale in Locale::ALL {
            for state in TrayState::ALL {
                let tip = state.tooltip(locale, 0);
                assert!(!tip.starts_with("tray."), "{locale:?} {state:?}");
                let with = state.tooltip(locale, 3);
                assert!(with.contains('3') && with.contains(&tip), "{with}");
            }
            let labels = menu_labels(locale, 0);
            assert_eq!(labels.len(), MENU.len());
            assert!(labels.iter().all(|(_, l)| !l.starts_with("menu.")));
            let unread = menu_labels(locale, 2);
            assert!(unread[1].1.contains('2'), "{:?}", unread[1]);
            for (_, action) in MENU {
                if let MenuAction::Open(w) = action {
                    assert!(!w.title(locale).starts_with("window."));
                }
            }
        }
        assert_eq!(menu_labels(Locale::Ko, 0)[0].1, "문제 신고…");
        assert_eq!(menu_labels(Locale::Ja, 0)[6].1, "終了");
    }

    #[test]
    fn windows_by_label() {
        assert_eq!(Window::from_label("report"), Some(Window::Report));
        assert_eq!(Window::from_label("about"), Some(Window::About));
        assert_eq!(Window::from_label("nope"), None);
    }

    #[test]
    fn menu_ids_map_to_actions() {
        assert_eq!(
            menu_action("report"),
            Some(MenuAction::Open(Window::Report))
        );
        assert_eq!(menu_action("sync"), Some(MenuAction::SyncNow));
        assert_eq!(menu_action("quit"), Some(MenuAction::Quit));
        assert_eq!(menu_action("nonsense"), None);
    }

    #[test]
    fn targets_name_a_window_and_maybe_a_ticket() {
        assert_eq!(Window::from_target("health"), Some((Window::Health, None)));
        assert_eq!(
            Window::from_target("tickets/t-01H8"),
            Some((Window::Tickets, Some("t-01H8")))
        );
        assert_eq!(
            Window::from_target("tickets/"),
            Some((Window::Tickets, None))
        );
        assert_eq!(
            Window::from_target("tickets/../../etc"),
            Some((Window::Tickets, None)),
            "an id is never a path"
        );
        assert_eq!(
            Window::from_target("health/x"),
            Some((Window::Health, None))
        );
        assert_eq!(Window::from_target("nope"), None);
    }
}
