//! The user's app settings: language, notifications, start at login. They
//! live in the agent's store, so they survive restarts and updates.

use serde::{Deserialize, Serialize};

use crate::agent::Agent;
use crate::i18n::Locale;

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
