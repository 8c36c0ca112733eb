//! Desktop notifications for check transitions, in the user's language.
//!
//! A notification goes out when a check with `notify_user` turns warning or
//! critical (at most once per `rate_limit` per check), and, when
//! `on_recovery` is set, when a problem the user was told about clears up.
//! `unknown` is not notified: it tells the employee nothing they can act
//! on.
//!
//! Sending always runs under a timeout — a notification daemon that never
//! answers must not stall the agent — and a machine without a notification
//! service gets one log line, not one per check.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use deskside_host::checks::Check;
use deskside_protocol::{CheckState, StateTransition};
use serde::{Deserialize, Serialize};

use crate::config::NotificationsConfig;
use crate::i18n::{Locale, text};

/// A notification as the user sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The application name shown with it.
    pub app_name: String,
    /// The headline.
    pub summary: String,
    /// The text under it.
    pub body: String,
    /// What clicking it opens, where the platform reports clicks.
    pub click: Option<Click>,
}

/// What a click on a notification opens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Click {
    /// The tray app's target: a window label, optionally with an id
    /// (`tickets/t-…`, `health`).
    pub target: String,
    /// The action's label, for desktops that show actions as buttons.
    pub label: String,
}

/// Receives the target of a clicked notification.
pub type ClickHandler = Arc<dyn Fn(&str) + Send + Sync>;

/// Notifications whose click is still awaited, at most: each waits on a
/// D-Bus connection of its own until the notification closes, and a
/// daemon that keeps them forever must not pile up threads.
#[cfg(all(unix, not(target_os = "macos")))]
const MAX_CLICK_WAITERS: usize = 8;

/// Why a notification did not reach the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// No notification service could be reached.
    #[error("no desktop notification service: {0}")]
    Unavailable(String),
    /// The service took the call but did not answer in time.
    #[error("the notification service did not answer within {}", humantime::format_duration(*.0))]
    TimedOut(Duration),
}

/// Shows a message; the desktop implementation or a test double.
pub type Sender = Arc<dyn Fn(&Message) -> Result<(), String> + Send + Sync>;

/// What happened to a transition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// Shown to the user.
    Sent(Message),
    /// Not shown, on purpose (disabled, not requested, rate-limited, …).
    Skipped(&'static str),
    /// Could not be shown.
    Failed(SendError),
}

/// What the notifier remembers across runs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Memory {
    /// When each check last had a problem notification.
    last_problem: BTreeMap<String, DateTime<Utc>>,
    /// Checks whose problem the user was told about and that have not
    /// recovered since.
    outstanding: BTreeSet<String>,
}

/// Turns check transitions into desktop notifications.
pub struct Notifier {
    cfg: NotificationsConfig,
    locale: Locale,
    memory: Memory,
    path: Option<PathBuf>,
    sender: Sender,
    unavailable: bool,
}

/// The platform's notification mechanism.
pub fn desktop_sender() -> Sender {
    desktop_sender_with_clicks(None)
}

/// The platform's notification mechanism; a click on a notification that
/// has a [`Click`] calls `on_click` with its target (on desktops whose
/// notification service reports actions: the freedesktop one).
pub fn desktop_sender_with_clicks(on_click: Option<ClickHandler>) -> Sender {
    #[cfg(all(unix, not(target_os = "macos")))]
    let waiting = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    Arc::new(move |m: &Message| {
        #[cfg(all(unix, not(target_os = "macos")))]
        {
            use std::sync::atomic::Ordering;
            let mut n = notify_rust::Notification::new();
            n.appname(&m.app_name).summary(&m.summary).body(&m.body);
            let click = m.click.as_ref().zip(on_click.as_ref());
            if let Some((c, _)) = click {
                // "default" is the click on the notification itself.
                n.action("default", &c.label);
            }
            let handle = n.show().map_err(|e| e.to_string())?;
            if let Some((c, handler)) = click {
                if waiting.fetch_add(1, Ordering::SeqCst) >= MAX_CLICK_WAITERS {
                    waiting.fetch_sub(1, Ordering::SeqCst);
                    return Ok(());
                }
                let (target, handler, done) =
                    (c.target.clone(), Arc::clone(handler), Arc::clone(&waiting));
                let spawned = std::thread::Builder::new()
                    .name("deskside-notify-click".into())
                    .spawn(move || {
                        handle.wait_for_action(|action| {
                            if action == "default" {
                                handler(&target);
                            }
                        });
                        done.fetch_sub(1, Ordering::SeqCst);
                    });
                if spawned.is_err() {
                    waiting.fetch_sub(1, Ordering::SeqCst);
                }
            }
            Ok(())
        }
        #[cfg(windows)]
        {
            let _ = &on_click;
            notify_rust::Notification::new()
                .appname(&m.app_name)
                .summary(&m.summary)
                .body(&m.body)
                .show()
                .map(drop)
                .map_err(|e| e.to_string())
        }
        #[cfg(target_os = "macos")]
        {
            let _ = &on_click;
            let quote = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
            let script = format!(
                "display notification \"{}\" with title \"{}\" subtitle \"{}\"",
                quote(&m.body),
                quote(&m.app_name),
                quote(&m.summary)
            );
            match std::process::Command::new("osascript")
                .args(["-e", &script])
                .status()
            {
                Ok(s) if s.success() => Ok(()),
                Ok(s) => Err(format!("osascript exited with {s}")),
                Err(e) => Err(e.to_string()),
            }
        }
    })
}

/// Calls `sender` on a helper thread and stops waiting after `timeout`.
pub fn send_with_timeout(
    sender: &Sender,
    message: &Message,
    timeout: Duration,
) -> Result<(), SendError> {
    let (tx, rx) = mpsc::channel();
    let (s, m) = (Arc::clone(sender), message.clone());
    std::thread::Builder::new()
        .name("deskside-notify".into())
        .spawn(move || {
            let _ = tx.send(s(&m));
        })
        .map_err(|e| SendError::Unavailable(e.to_string()))?;
    match rx.recv_timeout(timeout) {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(SendError::Unavailable(e)),
        Err(_) => Err(SendError::TimedOut(timeout)),
    }
}

pub(crate) fn localized(texts: &deskside_protocol::LocalizedText, locale: Locale) -> Option<&str> {
    texts
        .get(locale.code())
        .or_else(|| texts.get("en"))
        .map(String::as_str)
        .filter(|t| !t.is_empty())
}

impl Notifier {
    /// Turns notifications on or off (the tray app's setting).
    pub fn set_enabled(&mut self, enabled: bool) {
        self.cfg.enabled = enabled;
    }

    /// Speaks `locale` from now on.
    pub fn set_locale(&mut self, locale: Locale) {
        self.locale = locale;
    }

    /// A notifier remembering its rate limits in `state_dir` (when given).
    pub fn new(cfg: NotificationsConfig, state_dir: Option<&Path>) -> Self {
        let locale = match cfg.locale.as_str() {
            "auto" => Locale::detect(),
            tag => Locale::from_tag(tag).unwrap_or(Locale::En),
        };
        let path = state_dir.map(|d| d.join("notifications.json"));
        let memory = path
            .as_deref()
            .and_then(|p| std::fs::read(p).ok())
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        Self {
            cfg,
            locale,
            memory,
            path,
            sender: desktop_sender(),
            unavailable: false,
        }
    }

    /// Replaces the desktop sender (for tests).
    pub fn with_sender(mut self, sender: Sender) -> Self {
        self.sender = sender;
        self
    }

    /// The language notifications are written in.
    pub fn locale(&self) -> Locale {
        self.locale
    }

    /// The message for a transition, in the notifier's language; `None`
    /// for transitions that are not notified (to `unknown`, or from one
    /// problem state to another when the user already knows).
    pub fn message(&self, check: &Check, t: &StateTransition) -> Option<Message> {
        let title = localized(&check.spec.title, self.locale).unwrap_or(&check.spec.id);
        // A check without remediation text still tells the user: a
        // `notify_user` check that stays silent would be a policy bug nobody
        // notices.
        let problem_body = || {
            let fix = localized(&check.spec.remediation, self.locale)
                .map(str::to_owned)
                .unwrap_or_else(|| text(self.locale, "notification.problem.body", &[]));
            // What a built-in check found, in the user's language, above
            // what to do (a plugin's own English output is not repeated).
            match &t.message {
                Some(m) => format!(
                    "{}\n{fix}",
                    crate::health::message_text(Some(m), &t.summary, self.locale)
                ),
                None => fix,
            }
        };
        let (summary_key, body) = match t.to {
            CheckState::Warning => ("notification.warning.summary", problem_body()),
            CheckState::Critical => ("notification.critical.summary", problem_body()),
            CheckState::Ok => (
                "notification.recovered.summary",
                text(self.locale, "notification.recovered.body", &[]),
            ),
            CheckState::Unknown => return None,
        };
        Some(Message {
            app_name: text(self.locale, "notification.app_name", &[]),
            summary: text(self.locale, summary_key, &[("title", title)]),
            body,
            click: Some(Click {
                target: "health".into(),
                label: text(self.locale, "notification.action.health", &[]),
            }),
        })
    }

    /// Notifies the user of a transition when the policy and the settings
    /// say so.
    pub fn on_transition(&mut self, check: &Check, t: &StateTransition) -> Delivery {
        let id = &check.spec.id;
        if !self.cfg.enabled {
            return Delivery::Skipped("notifications are turned off");
        }
        if !check.spec.notify_user {
            return Delivery::Skipped("the check does not notify");
        }
        match t.to {
            CheckState::Unknown => return Delivery::Skipped("unknown is not notified"),
            CheckState::Ok => {
                if !self.memory.outstanding.remove(id) {
                    return Delivery::Skipped("the user was not told of a problem");
                }
                if !self.cfg.on_recovery {
                    return Delivery::Skipped("recoveries are not notified");
                }
            }
            CheckState::Warning | CheckState::Critical => {
                let recent = self.memory.last_problem.get(id).is_some_and(|last| {
                    (t.at - *last)
                        .to_std()
                        .is_ok_and(|since| since < self.cfg.rate_limit)
                });
                if recent {
                    return Delivery::Skipped("rate-limited");
                }
            }
        }
        let Some(message) = self.message(check, t) else {
            return Delivery::Skipped("no text to show");
        };
        if self.unavailable {
            return Delivery::Skipped("no notification service");
        }
        match send_with_timeout(&self.sender, &message, self.cfg.timeout) {
            Ok(()) => {
                self.note_available();
                if t.to != CheckState::Ok {
                    self.memory.last_problem.insert(id.clone(), t.at);
                    self.memory.outstanding.insert(id.clone());
                }
                Delivery::Sent(message)
            }
            Err(e) => {
                self.note_unavailable(&e);
                Delivery::Failed(e)
            }
        }
    }

    /// Tells the user about news on a ticket: a technician's reply, or
    /// (`status` given) a new status. A click opens the ticket `local_id`.
    pub fn on_ticket(
        &mut self,
        number: i64,
        subject: &str,
        status: Option<&str>,
        local_id: Option<&str>,
    ) -> Delivery {
        if !self.cfg.enabled {
            return Delivery::Skipped("notifications are turned off");
        }
        if self.unavailable {
            return Delivery::Skipped("no notification service");
        }
        let number = number.to_string();
        let click = Some(Click {
            target: local_id.map_or_else(|| "tickets".into(), |id| format!("tickets/{id}")),
            label: text(self.locale, "notification.action.ticket", &[]),
        });
        let message = match status {
            None => Message {
                app_name: text(self.locale, "notification.app_name", &[]),
                summary: text(
                    self.locale,
                    "notification.ticket.reply.summary",
                    &[("number", &number)],
                ),
                body: text(
                    self.locale,
                    "notification.ticket.reply.body",
                    &[("subject", subject)],
                ),
                click,
            },
            Some(status) => {
                let status = text(self.locale, &format!("ticket.status.{status}"), &[]);
                let args = [
                    ("number", number.as_str()),
                    ("subject", subject),
                    ("status", &status),
                ];
                Message {
                    app_name: text(self.locale, "notification.app_name", &[]),
                    summary: text(self.locale, "notification.ticket.status.summary", &args),
                    body: text(self.locale, "notification.ticket.status.body", &args),
                    click,
                }
            }
        };
        match send_with_timeout(&self.sender, &message, self.cfg.timeout) {
            Ok(()) => {
                self.note_available();
                Delivery::Sent(message)
            }
            Err(e) => {
                self.note_unavailable(&e);
                Delivery::Failed(e)
            }
        }
    }

    /// Where the "no notification service" warning is remembered: a
    /// machine without a desktop session (a server running `sync` from
    /// cron) is told once per state directory, not on every run.
    fn warned_marker(&self) -> Option<PathBuf> {
        self.path
            .as_deref()
            .and_then(Path::parent)
            .map(|d| d.join("notifications-unavailable"))
    }

    fn note_unavailable(&mut self, e: &SendError) {
        // Later notifications of this process are skipped instead of
        // failing the same way again.
        self.unavailable = true;
        match self.warned_marker() {
            Some(marker) if marker.exists() => {
                tracing::debug!("desktop notification not shown: {e}");
            }
            marker => {
                tracing::warn!(
                    "desktop notification not shown: {e} (said once; the agent keeps working without notifications)"
                );
                if let Some(m) = marker {
                    let _ = std::fs::write(&m, e.to_string());
                    let _ = crate::private_fs::private_file(&m);
                }
            }
        }
    }

    fn note_available(&mut self) {
        if let Some(marker) = self.warned_marker() {
            let _ = std::fs::remove_file(marker);
        }
    }

    /// Writes the rate-limit memory to the state directory.
    pub fn save(&self) -> std::io::Result<()> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let tmp = path.with_extension("tmp");
        std::fs::write(
            &tmp,
            serde_json::to_vec(&self.memory).map_err(std::io::Error::other)?,
        )?;
        // What was notified and when: the owner's only.
        crate::private_fs::private_file(&tmp)?;
        std::fs::rename(&tmp, path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use deskside_host::checks::LoadedPolicy;
    use std::sync::Mutex;

    fn check(notify: bool) -> Check {
        let p = LoadedPolicy::from_toml(&format!(
            "[[checks]]\nid = \"disk\"\nkind = \"disk_free\"\nnotify_user = {notify}\n\
             title = {{ en = \"Free disk space\", ko = \"디스크 여유 공간\", ja = \"ディスクの空き容量\" }}\n\
             remediation = {{ en = \"Delete files.\", ko = \"파일을 삭제하세요.\", ja = \"ファイルを削除してください。\" }}\n"
        ))
        .unwrap();
        p.checks[0].clone()
    }

    fn t(to: CheckState, hours: i64) -> StateTransition {
        StateTransition {
            check_id: "disk".into(),
            from: Some(CheckState::Ok),
            to,
            at: "2026-01-01T00:00:00Z".parse::<DateTime<Utc>>().unwrap()
                + chrono::TimeDelta::hours(hours),
            summary: String::new(),
            message: None,
        }
    }

    fn notifier(locale: &str) -> (Notifier, Arc<Mutex<Vec<Message>>>) {
        let shown: Arc<Mutex<Vec<Message>>> = Arc::default();
        let s = Arc::clone(&shown);
        let cfg = NotificationsConfig {
            locale: locale.into(),
            ..NotificationsConfig::default()
        };
        let n = Notifier::new(cfg, None).with_sender(Arc::new(move |m: &Message| {
            s.lock().unwrap().push(m.clone());
            Ok(())
        }));
        (n, shown)
    }

    #[test]
    fn problems_are_rate_limited_and_recoveries_follow_told_problems() {
        let (mut n, shown) = notifier("en");
        let c = check(true);
        assert!(
            matches!(
                n.on_transition(&c, &t(CheckState::Ok, 0)),
                Delivery::Skipped(_)
            ),
            "nothing to recover from"
        );
        let Delivery::Sent(m) = n.on_transition(&c, &t(CheckState::Critical, 0)) else {
            panic!()
        };
        assert_eq!(m.summary, "Problem: Free disk space");
        assert_eq!(m.body, "Delete files.");
        assert_eq!(
            n.on_transition(&c, &t(CheckState::Warning, 1)),
            Delivery::Skipped("rate-limited")
        );
        let Delivery::Sent(m) = n.on_transition(&c, &t(CheckState::Ok, 2)) else {
            panic!()
        };
        assert_eq!(m.summary, "Resolved: Free disk space");
        assert_eq!(
            n.on_transition(&c, &t(CheckState::Critical, 3)),
            Delivery::Skipped("rate-limited")
        );
        assert!(
            matches!(
                n.on_transition(&c, &t(CheckState::Warning, 5)),
                Delivery::Sent(_)
            ),
            "4 h later"
        );
        assert_eq!(
            n.on_transition(&c, &t(CheckState::Unknown, 9)),
            Delivery::Skipped("unknown is not notified")
        );
        assert_eq!(shown.lock().unwrap().len(), 3);
        assert_eq!(
            n.on_transition(&check(false), &t(CheckState::Critical, 20)),
            Delivery::Skipped("the check does not notify")
        );
    }

    #[test]
    fn what_a_built_in_check_found_is_told_in_the_users_language() {
        let c = check(true);
        let mut found = t(CheckState::Critical, 0);
        found.summary = "/: 3% free (1.0 GiB of 32.0 GiB)".into();
        found.message = Some(deskside_protocol::CheckMessage {
            key: "disk.free".into(),
            args: [
                ("mount", "/"),
                ("percent", "3"),
                ("free", "1.0 GiB"),
                ("total", "32.0 GiB"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
        });
        let (n, _) = notifier("ja");
        let m = n.message(&c, &found).unwrap();
        assert_eq!(
            m.body,
            "/: 空き 3%（32.0 GiB 中 1.0 GiB）\nファイルを削除してください。"
        );
        let (n, _) = notifier("en");
        let m = n.message(&c, &found).unwrap();
        assert_eq!(m.body, "/: 3% free (1.0 GiB of 32.0 GiB)\nDelete files.");
    }

    #[test]
    fn a_check_without_remediation_still_notifies_with_its_title() {
        let c = LoadedPolicy::from_toml(
            "[[checks]]\nid = \"disk\"\nkind = \"disk_free\"\nnotify_user = true\n\
             title = { en = \"Free disk space\", ja = \"ディスクの空き容量\" }\n",
        )
        .unwrap()
        .checks[0]
            .clone();
        let (mut n, shown) = notifier("en");
        let Delivery::Sent(m) = n.on_transition(&c, &t(CheckState::Critical, 0)) else {
            panic!("a notify_user check without remediation must notify")
        };
        assert_eq!(m.summary, "Problem: Free disk space");
        assert_eq!(
            m.body,
            "Deskside found this problem on your computer. Open Device health for details."
        );
        assert_eq!(shown.lock().unwrap().len(), 1);
        let (n, _) = notifier("ja");
        let m = n.message(&c, &t(CheckState::Warning, 0)).unwrap();
        assert_eq!(m.summary, "警告: ディスクの空き容量");
        assert!(m.body.contains("デバイスの状態"), "{}", m.body);
    }

    #[test]
    fn a_missing_notification_service_is_reported_once_per_state_directory() {
        let dir = tempfile::tempdir().unwrap();
        let failing = || {
            Notifier::new(NotificationsConfig::default(), Some(dir.path()))
                .with_sender(Arc::new(|_: &Message| Err("no D-Bus session".to_owned())))
        };
        let marker = dir.path().join("notifications-unavailable");
        let mut first = failing();
        assert!(matches!(
            first.on_ticket(1, "x", None, None),
            Delivery::Failed(_)
        ));
        assert!(marker.exists(), "the warning is remembered");
        // A later run (cron) finds the marker and stays quiet.
        let mut later = failing();
        assert!(matches!(
            later.on_ticket(2, "y", None, None),
            Delivery::Failed(_)
        ));
        assert!(marker.exists());
        // Once a notification gets through, a new failure is news again.
        let mut working = Notifier::new(NotificationsConfig::default(), Some(dir.path()))
            .with_sender(Arc::new(|_: &Message| Ok(())));
        assert!(matches!(
            working.on_ticket(3, "z", None, None),
            Delivery::Sent(_)
        ));
        assert!(!marker.exists());
    }

    #[test]
    fn messages_in_korean_and_japanese() {
        let (n, _) = notifier("ko");
        let m = n.message(&check(true), &t(CheckState::Warning, 0)).unwrap();
        assert_eq!(
            (m.summary.as_str(), m.body.as_str()),
            ("경고: 디스크 여유 공간", "파일을 삭제하세요.")
        );
        let (n, _) = notifier("ja_JP.UTF-8");
        let m = n.message(&check(true), &t(CheckState::Ok, 0)).unwrap();
        assert_eq!(m.summary, "解決済み: ディスクの空き容量");
        assert_eq!(n.locale(), Locale::Ja);
    }

    #[test]
    fn a_silent_service_times_out_and_a_missing_one_is_reported_once() {
        let hang: Sender = Arc::new(|_: &Message| {
            std::thread::sleep(Duration::from_secs(30));
            Ok(())
        });
        let m = Message {
            app_name: "a".into(),
            summary: "b".into(),
            body: "c".into(),
            click: None,
        };
        let started = std::time::Instant::now();
        assert_eq!(
            send_with_timeout(&hang, &m, Duration::from_millis(200)),
            Err(SendError::TimedOut(Duration::from_millis(200)))
        );
        assert!(started.elapsed() < Duration::from_secs(2));

        let calls = Arc::new(Mutex::new(0));
        let c2 = Arc::clone(&calls);
        let cfg = NotificationsConfig {
            locale: "en".into(),
            ..NotificationsConfig::default()
        };
        let mut n = Notifier::new(cfg, None).with_sender(Arc::new(move |_: &Message| {
            *c2.lock().unwrap() += 1;
            Err("org.freedesktop.DBus.Error.ServiceUnknown".into())
        }));
        let c = check(true);
        assert!(matches!(
            n.on_transition(&c, &t(CheckState::Critical, 0)),
            Delivery::Failed(SendError::Unavailable(_))
        ));
        assert_eq!(
            n.on_transition(&c, &t(CheckState::Critical, 9)),
            Delivery::Skipped("no notification service")
        );
        assert_eq!(*calls.lock().unwrap(), 1);
    }

    #[test]
    fn rate_limits_survive_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = NotificationsConfig {
            locale: "en".into(),
            ..NotificationsConfig::default()
        };
        let ok: Sender = Arc::new(|_: &Message| Ok(()));
        let mut n = Notifier::new(cfg.clone(), Some(dir.path())).with_sender(Arc::clone(&ok));
        assert!(matches!(
            n.on_transition(&check(true), &t(CheckState::Critical, 0)),
            Delivery::Sent(_)
        ));
        n.save().unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("notifications.json"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "the owner's only");
        }
        let mut again = Notifier::new(cfg, Some(dir.path())).with_sender(ok);
        assert_eq!(
            again.on_transition(&check(true), &t(CheckState::Warning, 1)),
            Delivery::Skipped("rate-limited")
        );
    }
}
