//! The user's app settings: language, notifications, start at login. They
//! live in the agent's store, so they survive restarts and updates.

use deskside_agent::i18n::Locale;
use deskside_agent::sync::Agent;
use serde::{Deserialize, Serialize};

/// The settings window's values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    /// `auto`, `en`, `ko` or `ja`.
    pub language: String,
    /// Desktop notifications.
    pub notifications: bool,
    /// Start at login.
    pub autostart: bool,
}

impl Settings {
    /// The saved settings; defaults: the system's language, notifications
    /// as the agent's configuration says, start at login on.
    pub fn load(agent: &Agent) -> Self {
        let get = |k: &str| agent.app_setting(k).ok().flatten();
        Self {
            language: get("language").unwrap_or_else(|| "auto".into()),
            notifications: get("notifications")
                .map_or(agent.config().notifications.enabled, |v| v == "true"),
            autostart: get("autostart").is_none_or(|v| v == "true"),
        }
    }

    /// Checks and saves them.
    pub fn save(&self, agent: &Agent) -> Result<(), String> {
        if !["auto", "en", "ko", "ja"].contains(&self.language.as_str()) {
            return Err(format!("unknown language {:?}", self.language));
        }
        for (k, v) in [
            ("language", self.language.clone()),
            ("notifications", self.notifications.to_string()),
            ("autostart", self.autostart.to_string()),
        ] {
            agent.set_app_setting(k, &v).map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    /// The language in effect.
    pub fn locale(&self) -> Locale {
        Locale::from_tag(&self.language).unwrap_or_else(Locale::detect)
    }
}

/// Makes start at login match the setting.
pub fn apply_autostart<R: tauri::Runtime>(app: &tauri::AppHandle<R>) {
    use tauri::Manager;
    use tauri_plugin_autostart::ManagerExt;
    let wanted = app.state::<crate::AppState>().settings_now().autostart;
    // The launcher writes ~/.config/autostart/ on Linux but does not
    // create the folder, which a fresh account lacks.
    #[cfg(target_os = "linux")]
    if wanted {
        let config = std::env::var_os("XDG_CONFIG_HOME")
            .map(std::path::PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join(".config")));
        if let Some(dir) = config {
            let _ = std::fs::create_dir_all(dir.join("autostart"));
        }
    }
    let launcher = app.autolaunch();
    let result = if wanted {
        launcher.enable()
    } else {
        launcher.disable()
    };
    if let Err(e) = result {
        tracing::warn!("cannot change start at login: {e}");
    }
}
