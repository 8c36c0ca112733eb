//! The agent's core, shared by the CLI and the tray app: [`Agent`] is a
//! thin façade over its state (configuration, local store, credentials,
//! the desk client, events), with its work split by concern:
//!
//! - [`enrollment`]: joining the desk with the device key;
//! - [`tickets`]: filing and following tickets, offline first;
//! - [`delivery`]: the outbox, delivered exactly once;
//! - [`checkin`]: check-ins, the inventory and the policy;
//! - [`deflection`]: articles on the device, suggestions, tray reports;
//! - [`check_tickets`]: tickets failing checks open by themselves;
//! - [`device_view`]: diagnostics, the health window, the device summary.

mod check_tickets;
mod checkin;
mod deflection;
mod delivery;
mod device_view;
mod enrollment;
mod tickets;

pub use check_tickets::{episode_start, episode_ticket_id};
pub use checkin::{CheckinOutcome, INVENTORY_EVERY};
pub use delivery::{DeliveryReport, MAX_BACKOFF, backoff};
pub use enrollment::check_server_url;
pub use tickets::{
    MAX_ATTACHMENT_BYTES, MAX_ATTACHMENTS, MAX_TICKET_FILES_BYTES, NamedFile, NewTicketInput,
    SCREENSHOT_NAME, check_description, check_reply, check_subject, file_name,
};

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use deskside_protocol::{CheckinRequest, Inventory, TicketCategory, Urgency, inventory_hash};
use rand::Rng;
use tokio::sync::broadcast;

use crate::config::AgentConfig;
use crate::credentials::{CredentialError, Credentials};
use crate::desk::{DeskClient, DeskError};
use crate::notify::Notifier;
use crate::store::{AgentStore, Kind, LocalTicket, OutFile, OutItem, StoreError};

/// What the core API can fail with.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The local store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The credential store failed.
    #[error(transparent)]
    Credentials(#[from] CredentialError),
    /// The desk failed or refused.
    #[error(transparent)]
    Desk(#[from] DeskError),
    /// The request is invalid.
    #[error("{0}")]
    Invalid(String),
    /// The request is valid but the ticket's state does not allow it
    /// (rating an open ticket).
    #[error("{0}")]
    Refused(String),
    /// Not enrolled, and no enroll secret to enroll with.
    #[error("this device is not enrolled with a desk: run `deskside-agent enroll`")]
    NotEnrolled,
    /// The state directory cannot be created or written (a read-only file
    /// system, no permission).
    #[error("cannot use the state directory {path}: {source}")]
    StateDir {
        /// The directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A local file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// Result of the core API.
pub type SyncResult<T> = Result<T, SyncError>;

/// What a UI can subscribe to.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A ticket changed (delivered, answered, new status).
    TicketUpdated {
        /// Its local id.
        local_id: String,
    },
    /// The connection to the desk changed.
    SyncState(SyncState),
    /// A check changed state (the overall health may have too).
    HealthChanged {
        /// The check.
        check_id: String,
    },
    /// The user clicked a notification: open what it was about.
    Open {
        /// `health`, `tickets` or `tickets/<local id>`.
        target: String,
    },
}

/// Whether the agent can reach its desk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncState {
    /// Delivering or checking in.
    Syncing,
    /// The last contact worked.
    Online,
    /// The desk could not be reached.
    Offline,
    /// The desk refuses the token and there is no secret to enroll again.
    NeedsEnrollment,
}

/// The agent's state for `status`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Status {
    /// The desk's URL.
    pub server: Option<String>,
    /// The device id at the desk.
    pub device_id: Option<i64>,
    /// Whether a device token is stored.
    pub enrolled: bool,
    /// Where the token is kept.
    pub credential_store: String,
    /// The desk refused the token; enrollment is needed.
    pub needs_enrollment: bool,
    /// Last successful contact.
    pub last_sync: Option<DateTime<Utc>>,
    /// The last error talking to the desk.
    pub last_error: Option<String>,
    /// Items waiting to be sent.
    pub outbox_depth: u64,
    /// Items the desk refused for good.
    pub dead_letters: Vec<crate::store::DeadLetter>,
    /// Overall health from the last check run.
    pub overall_health: Option<String>,
}

/// Whether files can be created in `dir` (a probe file, removed again).
fn writable(dir: &std::path::Path) -> std::io::Result<()> {
    let probe = dir.join(format!(".write-probe-{}", std::process::id()));
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&probe)?;
    std::fs::remove_file(&probe)
}

/// What the desk last received for a check: raw state, reported state and
/// summary.
type SentResult = (
    deskside_protocol::CheckState,
    deskside_protocol::CheckState,
    String,
);

/// The agent's core.
pub struct Agent {
    cfg: AgentConfig,
    state_dir: PathBuf,
    store: Mutex<AgentStore>,
    credentials: Credentials,
    /// Where the device's key pair is kept ([`crate::identity`]).
    key_store: Credentials,
    /// The device's public key once read: check-ins send it every minute,
    /// and it never changes, so the credential store is asked once.
    public_key: std::sync::OnceLock<String>,
    desk: Option<DeskClient>,
    events: broadcast::Sender<Event>,
    notifier: Mutex<Option<Notifier>>,
    /// The last inventory collected, and when: check-ins reuse it for an
    /// hour rather than reading every package database each minute.
    inventory_cache: Mutex<Option<(std::time::Instant, Inventory)>>,
    /// What each check reported at the last check-in: (state, summary).
    sent_results: Mutex<std::collections::HashMap<String, SentResult>>,
    /// The ids of the checks run, as the desk last acknowledged them
    /// (none yet: the first check-in of a process sends them).
    sent_checks: Mutex<Option<Vec<String>>>,
    /// The kept articles, read once from the store.
    kb_cache: Mutex<Option<std::sync::Arc<deskside_protocol::DeviceKb>>>,
}

const KEY_DEVICE_ID: &str = "device_id";
const KEY_SERVER: &str = "server_url";
const KEY_LAST_SYNC: &str = "last_sync";
const KEY_LAST_ERROR: &str = "last_error";
/// Until when the desk asked not to be sent anything (its `Retry-After`).
const KEY_BUSY_UNTIL: &str = "desk_busy_until";
const KEY_NEEDS_ENROLLMENT: &str = "needs_enrollment";
const KEY_TICKETS_SEEN: &str = "tickets_seen_at";
const KEY_POLICY: &str = "policy";
/// What the desk said it takes (its check-in answer's `features`).
const KEY_DESK_FEATURES: &str = "desk_features";
/// The published articles the desk sent (a [`deskside_protocol::DeviceKb`]).
const KEY_KB: &str = "kb";

fn new_id(prefix: &str) -> String {
    let mut raw = [0u8; 12];
    rand::rng().fill(&mut raw);
    let hex: String = raw.iter().map(|b| format!("{b:02x}")).collect();
    format!("{prefix}-{hex}")
}

impl Agent {
    /// Opens the agent's state (creating the state directory).
    pub fn open(cfg: AgentConfig) -> SyncResult<Self> {
        let state_dir = cfg.state_dir();
        let unusable = |source| SyncError::StateDir {
            path: state_dir.clone(),
            source,
        };
        crate::private_fs::private_dir(&state_dir).map_err(unusable)?;
        // Said plainly here: SQLite would only say "unable to open database
        // file" on a read-only file system.
        writable(&state_dir).map_err(unusable)?;
        let store = AgentStore::open(&state_dir)?;
        crate::logfile::attach(&state_dir);
        // A server URL from enrollment counts when the configuration names
        // none (enrolled by hand with --server).
        let server = cfg.desk.server_url.clone().or(store.get(KEY_SERVER)?);
        let desk = match server {
            Some(url) => {
                let mut desk_cfg = cfg.desk.clone();
                desk_cfg.server_url = Some(url);
                Some(DeskClient::new(&desk_cfg)?)
            }
            None => None,
        };
        let credentials = Credentials::open(&state_dir);
        let key_store = Credentials::open_key(&state_dir);
        let (events, _) = broadcast::channel(64);
        Ok(Self {
            cfg,
            state_dir,
            store: Mutex::new(store),
            credentials,
            key_store,
            public_key: std::sync::OnceLock::new(),
            desk,
            events,
            notifier: Mutex::new(None),
            sent_results: Mutex::new(std::collections::HashMap::new()),
            sent_checks: Mutex::new(None),
            inventory_cache: Mutex::new(None),
            kb_cache: Mutex::new(None),
        })
    }

    /// Shows ticket news as desktop notifications through `notifier`.
    pub fn with_notifier(self, notifier: Notifier) -> Self {
        *self.notifier.lock().unwrap_or_else(|p| p.into_inner()) = Some(notifier);
        self
    }

    /// Shows a check's state change through the agent's notifier and
    /// remembers its rate limit.
    pub fn on_transition(
        &self,
        check: &deskside_host::checks::Check,
        t: &deskside_protocol::StateTransition,
    ) {
        {
            let mut notifier = self.notifier.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(n) = notifier.as_mut() {
                n.on_transition(check, t);
                if let Err(e) = n.save() {
                    tracing::warn!("cannot save notification state: {e}");
                }
            }
        }
        self.emit(Event::HealthChanged {
            check_id: t.check_id.clone(),
        });
    }

    /// Changes the notifier's settings at run time (the tray app's
    /// settings window).
    pub fn configure_notifications(&self, enabled: bool, locale: crate::i18n::Locale) {
        if let Some(n) = self
            .notifier
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_mut()
        {
            n.set_enabled(enabled);
            n.set_locale(locale);
        }
    }

    /// A setting of the user's app (language, notifications, start at
    /// login), kept in the agent's store.
    pub fn app_setting(&self, key: &str) -> SyncResult<Option<String>> {
        Ok(self.store().get(&format!("app.{key}"))?)
    }

    /// Changes a setting of the user's app.
    pub fn set_app_setting(&self, key: &str, value: &str) -> SyncResult<()> {
        Ok(self.store().set(&format!("app.{key}"), Some(value))?)
    }

    /// The agent's configuration.
    pub fn config(&self) -> &AgentConfig {
        &self.cfg
    }

    /// Events for a UI.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    /// What the desktop notifier calls when a notification is clicked: it
    /// becomes an [`Event::Open`] for whoever shows windows.
    pub fn click_handler(&self) -> crate::notify::ClickHandler {
        let events = self.events.clone();
        std::sync::Arc::new(move |target: &str| {
            let _ = events.send(Event::Open {
                target: target.to_owned(),
            });
        })
    }

    pub(super) fn store(&self) -> std::sync::MutexGuard<'_, AgentStore> {
        // A panic elsewhere must not lock the employee out of the store.
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(super) fn emit(&self, e: Event) {
        let _ = self.events.send(e);
    }

    pub(super) fn desk(&self) -> SyncResult<&DeskClient> {
        self.desk.as_ref().ok_or(SyncError::NotEnrolled)
    }

    /// The agent's state.
    pub fn status(&self) -> SyncResult<Status> {
        let store = self.store();
        let tracker = deskside_host::checks::Tracker::load(&self.state_dir.join("checks.json"));
        Ok(Status {
            // A password in the desk's URL never shows.
            server: self
                .desk
                .as_ref()
                .map(|d| crate::redact::redact(d.base()).into_owned()),
            device_id: store.get(KEY_DEVICE_ID)?.and_then(|s| s.parse().ok()),
            enrolled: self.credentials.get()?.is_some(),
            credential_store: self.credentials.describe(),
            needs_enrollment: store.get(KEY_NEEDS_ENROLLMENT)?.is_some(),
            last_sync: store
                .get(KEY_LAST_SYNC)?
                .and_then(|s| DateTime::parse_from_rfc3339(&s).ok())
                .map(|d| d.with_timezone(&Utc)),
            last_error: store.get(KEY_LAST_ERROR)?,
            outbox_depth: store.outbox_depth()?,
            dead_letters: store.dead_letters()?,
            overall_health: tracker
                .filter(|t| !t.last_results.is_empty())
                .map(|t| t.overall().as_str().to_owned()),
        })
    }

    /// Items waiting in the outbox.
    pub fn outbox_depth(&self) -> SyncResult<u64> {
        Ok(self.store().outbox_depth()?)
    }

    /// Whether the agent has a desk to talk to.
    pub fn has_desk(&self) -> bool {
        self.desk.is_some()
    }
}
