//! The agent's core API toward the desk, shared by the CLI and the tray
//! app: enrollment, tickets that work offline (persisted first, delivered
//! by the outbox exactly once), check-ins that bring technicians' replies
//! back, and an event stream for a UI.

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
    /// Not enrolled, and no enroll secret to enroll with.
    #[error("this device is not enrolled with a desk: run `deskside-agent enroll`")]
    NotEnrolled,
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

/// A ticket the employee files.
#[derive(Debug, Clone, Default)]
pub struct NewTicketInput {
    /// Subject (1–200 characters).
    pub subject: String,
    /// What happened.
    pub description: String,
    /// Category.
    pub category: Option<TicketCategory>,
    /// Urgency.
    pub urgency: Option<Urgency>,
    /// Attach the diagnostics bundle.
    pub include_diagnostics: bool,
    /// A PNG screenshot.
    pub screenshot: Option<Vec<u8>>,
    /// Files to attach, read from disk.
    pub files: Vec<PathBuf>,
    /// Files to attach that the caller holds in memory (what the tray
    /// app's form was given).
    pub attachments: Vec<NamedFile>,
}

/// A file held in memory, with the name the desk shows.
#[derive(Clone, PartialEq, Eq)]
pub struct NamedFile {
    /// The file name (no directories).
    pub name: String,
    /// Its content.
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for NamedFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NamedFile")
            .field("name", &self.name)
            .field("len", &self.bytes.len())
            .finish()
    }
}

/// At most this many files beside the diagnostics bundle (the desk's limit;
/// the screenshot counts).
pub const MAX_ATTACHMENTS: usize = 10;
/// The largest file the desk takes.
pub const MAX_ATTACHMENT_BYTES: usize = 10 * 1024 * 1024;
/// All files of one ticket together, leaving room under the desk's 32 MiB
/// request limit for the bundle (at most 2 MB) and the form.
pub const MAX_TICKET_FILES_BYTES: usize = 28 * 1024 * 1024;

/// What one delivery pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    /// Items the desk acknowledged.
    pub delivered: usize,
    /// Items moved to the dead letters.
    pub dead: usize,
    /// Items still waiting.
    pub waiting: usize,
    /// The desk could not be reached (or was busy).
    pub unreachable: bool,
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

/// The screenshot's attachment name.
pub const SCREENSHOT_NAME: &str = "screenshot.png";

/// How long a collected inventory serves check-ins.
pub const INVENTORY_EVERY: Duration = Duration::from_secs(3600);

/// Longest wait between delivery attempts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// Exponential backoff with full jitter: a random wait up to
/// min(cap, 2 s × 2^attempts).
pub fn backoff(attempts: u32) -> Duration {
    let ceiling = Duration::from_secs(2)
        .saturating_mul(2u32.saturating_pow(attempts.min(16)))
        .min(MAX_BACKOFF);
    let ms = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
    Duration::from_millis(rand::rng().random_range(0..=ms))
}

/// The agent's core.
pub struct Agent {
    cfg: AgentConfig,
    state_dir: PathBuf,
    store: Mutex<AgentStore>,
    credentials: Credentials,
    /// Where the device's key pair is kept ([`crate::identity`]).
    key_store: Credentials,
    desk: Option<DeskClient>,
    events: broadcast::Sender<Event>,
    notifier: Mutex<Option<Notifier>>,
    /// The last inventory collected, and when: check-ins reuse it for an
    /// hour rather than reading every package database each minute.
    inventory_cache: Mutex<Option<(std::time::Instant, Inventory)>>,
    /// What each check reported at the last check-in: (state, summary).
    sent_results: Mutex<std::collections::HashMap<String, (deskside_protocol::CheckState, String)>>,
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
        crate::private_fs::private_dir(&state_dir).map_err(|source| SyncError::Read {
            path: state_dir.clone(),
            source,
        })?;
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
            desk,
            events,
            notifier: Mutex::new(None),
            sent_results: Mutex::new(std::collections::HashMap::new()),
            inventory_cache: Mutex::new(None),
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

    /// Marks a ticket's replies as read (its conversation was shown).
    pub fn mark_read(&self, id: &str) -> SyncResult<()> {
        let t = self.known(id)?;
        self.store().mark_read(&t.local_id)?;
        self.emit(Event::TicketUpdated {
            local_id: t.local_id,
        });
        Ok(())
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

    fn store(&self) -> std::sync::MutexGuard<'_, AgentStore> {
        // A panic elsewhere must not lock the employee out of the store.
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn emit(&self, e: Event) {
        let _ = self.events.send(e);
    }

    fn desk(&self) -> SyncResult<&DeskClient> {
        self.desk.as_ref().ok_or(SyncError::NotEnrolled)
    }

    /// Enrolls with the desk (`server` and `secret` override the
    /// configuration): the device token goes to the credential store.
    pub async fn enroll(&mut self, server: Option<&str>, secret: Option<&str>) -> SyncResult<i64> {
        if let Some(url) = server {
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return Err(SyncError::Invalid(format!(
                    "{url:?} is not an http:// or https:// URL"
                )));
            }
            let mut desk_cfg = self.cfg.desk.clone();
            desk_cfg.server_url = Some(url.to_owned());
            self.desk = Some(DeskClient::new(&desk_cfg)?);
        }
        let secret = match secret {
            Some(s) => s.to_owned(),
            None => self
                .cfg
                .desk
                .enroll_secret()
                .map_err(|e| SyncError::Invalid(e.to_string()))?
                .ok_or_else(|| SyncError::Invalid("no enroll secret given or configured".into()))?,
        };
        let id = self.enroll_with(&secret).await?;
        let url = self.desk()?.base().to_owned();
        self.store().set(KEY_SERVER, Some(&url))?;
        Ok(id)
    }

    async fn enroll_with(&self, secret: &str) -> SyncResult<i64> {
        let identity = self.inventory().device;
        let desk = self.desk()?;
        // The key proves this is the device the desk knows (or a new one);
        // the enroll secret alone never takes over another device.
        let key = self.device_key()?;
        let proof = desk
            .enroll_challenge()
            .await?
            .map(|c| (key.public_key(), key.prove(&c.challenge)));
        if proof.is_none() {
            tracing::warn!("the desk does not know device keys; enrolling without one");
        }
        let answer = desk.enroll(secret, &identity, proof).await?;
        self.credentials.set(&answer.device_token)?;
        let store = self.store();
        store.set(KEY_DEVICE_ID, Some(&answer.device_id.to_string()))?;
        store.set(KEY_NEEDS_ENROLLMENT, None)?;
        tracing::info!(device_id = answer.device_id, "enrolled with the desk");
        Ok(answer.device_id)
    }

    /// The device's key pair, made on first use.
    fn device_key(&self) -> SyncResult<crate::identity::DeviceKey> {
        crate::identity::DeviceKey::load_or_create(&self.key_store).map_err(|e| match e {
            crate::identity::IdentityError::Store(e) => SyncError::Credentials(e),
            other => SyncError::Invalid(other.to_string()),
        })
    }

    /// The device token, enrolling first when there is none and a secret
    /// is configured.
    async fn token(&self) -> SyncResult<String> {
        if let Some(t) = self.credentials.get()? {
            return Ok(t);
        }
        self.reenroll().await?;
        self.credentials.get()?.ok_or(SyncError::NotEnrolled)
    }

    /// After a 401: enroll again with the configured secret, or record
    /// that enrollment is needed.
    async fn reenroll(&self) -> SyncResult<()> {
        let secret = self
            .cfg
            .desk
            .enroll_secret()
            .map_err(|e| SyncError::Invalid(e.to_string()))?;
        match secret {
            Some(s) => self.enroll_with(&s).await.map(drop),
            None => {
                self.store().set(KEY_NEEDS_ENROLLMENT, Some("1"))?;
                self.emit(Event::SyncState(SyncState::NeedsEnrollment));
                Err(SyncError::NotEnrolled)
            }
        }
    }

    /// The inventory, collected at most once per [`INVENTORY_EVERY`].
    fn recent_inventory(&self) -> Inventory {
        {
            let cache = self
                .inventory_cache
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            if let Some((at, inv)) = cache.as_ref()
                && at.elapsed() < INVENTORY_EVERY
            {
                return inv.clone();
            }
        }
        self.fresh_inventory()
    }

    /// The inventory collected now; it also serves the next check-ins.
    fn fresh_inventory(&self) -> Inventory {
        let inv = self.inventory();
        // Software changes for diagnostics; a failure here must not stop
        // check-ins.
        if let Err(e) = self.store().record_inventory(&inv) {
            tracing::warn!("cannot keep the inventory change history: {e}");
        }
        *self
            .inventory_cache
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some((std::time::Instant::now(), inv.clone()));
        inv
    }

    fn inventory(&self) -> Inventory {
        let opts = deskside_host::collect::CollectOptions {
            software_sources: self.cfg.inventory.software_sources.clone(),
            command_timeout: self.cfg.inventory.command_timeout,
            ..Default::default()
        };
        let mut inv = deskside_host::collect::collect_inventory(&opts);
        inv.agent_version = Some(crate::AGENT_VERSION.to_owned());
        if !self.cfg.privacy.user_names {
            inv.os.logged_in_users = None;
        }
        // Cloned machines (VM images) share a machine id; an installer can
        // give each its own key.
        if let Ok(key) = std::env::var("DESKSIDE_DEVICE_KEY")
            && !key.is_empty()
        {
            inv.device.device_key = Some(key);
        }
        inv
    }

    /// Files a ticket: it is stored (with its diagnostics and files) before
    /// this returns, so it survives a crash and works offline; the outbox
    /// delivers it.
    pub fn submit_ticket(&self, t: NewTicketInput) -> SyncResult<LocalTicket> {
        let subject = t.subject.trim().to_owned();
        if subject.is_empty() || subject.chars().count() > 200 {
            return Err(SyncError::Invalid(
                "the subject must be 1 to 200 characters".into(),
            ));
        }
        if t.description.chars().count() > 20_000 {
            return Err(SyncError::Invalid(
                "the description must be at most 20000 characters".into(),
            ));
        }
        let count = t.files.len() + t.attachments.len() + usize::from(t.screenshot.is_some());
        if count > MAX_ATTACHMENTS {
            return Err(SyncError::Invalid(format!(
                "at most {MAX_ATTACHMENTS} files, the screenshot included"
            )));
        }
        let mut files = Vec::new();
        for path in &t.files {
            let bytes = crate::local_file::read_regular(path, MAX_ATTACHMENT_BYTES)
                .map_err(|e| SyncError::Invalid(e.to_string()))?;
            let name = path
                .file_name()
                .map_or_else(|| "file".into(), |n| n.to_string_lossy().into_owned());
            files.push(attachment(name, bytes)?);
        }
        for f in t.attachments {
            files.push(attachment(f.name, f.bytes)?);
        }
        let screenshot = match t.screenshot {
            Some(_) if !self.cfg.privacy.screenshots => {
                return Err(SyncError::Invalid(
                    "screenshots are turned off by this device's privacy settings".into(),
                ));
            }
            Some(png) if !png.starts_with(b"\x89PNG\r\n\x1a\n") => {
                return Err(SyncError::Invalid(
                    "the screenshot is not a PNG image".into(),
                ));
            }
            Some(png) if png.len() > MAX_ATTACHMENT_BYTES => {
                return Err(SyncError::Invalid(
                    "the screenshot is larger than 10 MiB".into(),
                ));
            }
            Some(png) => {
                files.push(OutFile {
                    part: "attachment".into(),
                    name: SCREENSHOT_NAME.into(),
                    content_type: "image/png".into(),
                    bytes: png,
                });
                Some(SCREENSHOT_NAME)
            }
            None => None,
        };
        if files.iter().map(|f| f.bytes.len()).sum::<usize>() > MAX_TICKET_FILES_BYTES {
            return Err(SyncError::Invalid(format!(
                "the files add up to more than {} MiB",
                MAX_TICKET_FILES_BYTES / (1024 * 1024)
            )));
        }
        if t.include_diagnostics {
            let bytes =
                crate::diagnostics::compress(self.diagnostics(screenshot)?).map_err(|source| {
                    SyncError::Read {
                        path: self.state_dir.clone(),
                        source,
                    }
                })?;
            files.push(OutFile {
                part: "diagnostics".into(),
                name: "diagnostics.json.gz".into(),
                content_type: "application/gzip".into(),
                bytes,
            });
        }
        let payload = serde_json::json!({
            "subject": subject,
            "description": t.description,
            "category": t.category.unwrap_or(TicketCategory::Other),
            "urgency": t.urgency.unwrap_or(Urgency::Medium),
        });
        let local_id = new_id("t");
        self.store()
            .queue_ticket(&local_id, &subject, &payload, &files)?;
        self.emit(Event::TicketUpdated {
            local_id: local_id.clone(),
        });
        self.store()
            .ticket(&local_id)?
            .ok_or_else(|| SyncError::Invalid("the ticket vanished".into()))
    }

    /// The diagnostics bundle as it would go with a ticket now (a preview
    /// for the employee, and what `submit_ticket` attaches); `screenshot`
    /// names the screenshot attached beside it. Takes about half a second.
    pub fn diagnostics(&self, screenshot: Option<&str>) -> SyncResult<crate::diagnostics::Bundle> {
        let inv = self.fresh_inventory();
        let now = Utc::now();
        let (history, changes) = {
            let store = self.store();
            (
                store.metric_history(now - crate::diagnostics::HISTORY)?,
                store.inventory_changes(now - crate::diagnostics::SOFTWARE_CHANGES)?,
            )
        };
        Ok(crate::diagnostics::build(crate::diagnostics::Inputs {
            cfg: &self.cfg,
            state_dir: &self.state_dir,
            inventory: Some(&inv),
            history: &history,
            changes: &changes,
            desk_url: self.desk.as_ref().map(DeskClient::base),
            screenshot,
        }))
    }

    /// The inventory summary phone support asks for: (label key, value)
    /// pairs for model, serial number, OS, CPU, memory and disks. The label
    /// keys are `ui.device.*` in the catalogs.
    pub fn inventory_summary(&self) -> Vec<(String, String)> {
        let inv = self.recent_inventory();
        let gib = |b: u64| format!("{:.1} GiB", b as f64 / (1u64 << 30) as f64);
        let hw = &inv.hardware;
        let model = hw.system.as_ref().map(|s| {
            [s.vendor.as_deref(), s.model.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ")
        });
        let disks: Vec<String> = hw
            .disks
            .iter()
            .map(|d| {
                let size = d.size_bytes.map(gib).unwrap_or_default();
                format!("{} {}", d.model.as_deref().unwrap_or(&d.name), size)
                    .trim()
                    .to_owned()
            })
            .collect();
        [
            ("ui.device.hostname", inv.device.hostname.clone()),
            ("ui.device.model", model.filter(|m| !m.is_empty())),
            ("ui.device.serial", inv.device.serial_number.clone()),
            (
                "ui.device.os",
                inv.os.long_name.clone().or_else(|| inv.os.name.clone()),
            ),
            (
                "ui.device.cpu",
                hw.cpu.as_ref().and_then(|c| c.brand.clone()),
            ),
            (
                "ui.device.memory",
                hw.memory.as_ref().and_then(|m| m.total_bytes).map(gib),
            ),
            (
                "ui.device.disks",
                (!disks.is_empty()).then(|| disks.join(", ")),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.unwrap_or_else(|| "—".to_owned())))
        .collect()
    }

    /// The device's health as the "Device health" window shows it.
    pub fn health(&self, locale: crate::i18n::Locale) -> SyncResult<crate::health::HealthView> {
        let policy = self.active_policy()?;
        let tracker = deskside_host::checks::Tracker::load(&self.state_dir.join("checks.json"))
            .unwrap_or_default();
        Ok(crate::health::view(&policy, &tracker, locale))
    }

    /// The last hour's CPU and memory, for the health window's charts.
    pub fn metric_chart(&self) -> SyncResult<Vec<crate::health::MetricPoint>> {
        let since = Utc::now() - crate::diagnostics::HISTORY;
        Ok(crate::health::chart(&self.store().metric_history(since)?))
    }

    /// Keeps metric samples for diagnostics bundles (an hour's worth).
    pub fn record_metrics(&self, samples: &[deskside_protocol::MetricSample]) -> SyncResult<()> {
        Ok(self
            .store()
            .record_metrics(samples, crate::diagnostics::HISTORY)?)
    }

    /// When the newest kept metric sample was taken.
    pub fn last_recorded_metric(&self) -> SyncResult<Option<DateTime<Utc>>> {
        Ok(self.store().last_metric_at()?)
    }

    /// Every ticket: queued ones and the desk's, newest first.
    pub fn my_tickets(&self) -> SyncResult<Vec<LocalTicket>> {
        Ok(self.store().tickets()?)
    }

    /// One ticket (local id or `#number`), with its conversation as last
    /// seen; reading it marks replies as read.
    pub fn ticket(&self, id: &str) -> SyncResult<Option<LocalTicket>> {
        let store = self.store();
        let t = store.ticket(id)?;
        if let Some(t) = &t {
            store.mark_read(&t.local_id)?;
        }
        Ok(t)
    }

    fn known(&self, id: &str) -> SyncResult<LocalTicket> {
        self.store()
            .ticket(id)?
            .ok_or_else(|| SyncError::Invalid(format!("no ticket {id}")))
    }

    /// Answers on a ticket (queued like everything else).
    pub fn reply(&self, id: &str, message: &str) -> SyncResult<()> {
        let body = message.trim();
        if body.is_empty() || body.chars().count() > 10_000 {
            return Err(SyncError::Invalid(
                "a reply must be 1 to 10000 characters".into(),
            ));
        }
        let t = self.known(id)?;
        self.store().queue(
            Kind::Comment,
            &new_id("c"),
            &t.local_id,
            &serde_json::json!({"body": body}),
        )?;
        Ok(())
    }

    /// Rates a resolved ticket 1–5.
    pub fn rate(&self, id: &str, score: u8, comment: Option<&str>) -> SyncResult<()> {
        if !(1..=5).contains(&score) {
            return Err(SyncError::Invalid("the score must be 1 to 5".into()));
        }
        let t = self.known(id)?;
        self.store().queue(
            Kind::Rating,
            &new_id("r"),
            &t.local_id,
            &serde_json::json!({"score": score, "comment": comment}),
        )?;
        Ok(())
    }

    /// Reopens a ticket.
    pub fn reopen(&self, id: &str) -> SyncResult<()> {
        let t = self.known(id)?;
        self.store().queue(
            Kind::Reopen,
            &new_id("o"),
            &t.local_id,
            &serde_json::json!({}),
        )?;
        Ok(())
    }

    fn note_failure(&self, e: &DeskError) {
        // Holding back is not news: the error that caused it stays shown.
        if matches!(e, DeskError::Waiting(_)) {
            return;
        }
        let _ = self.store().set(KEY_LAST_ERROR, Some(&e.to_string()));
    }

    fn note_success(&self) {
        let store = self.store();
        let _ = store.set(KEY_LAST_SYNC, Some(&Utc::now().to_rfc3339()));
        let _ = store.set(KEY_LAST_ERROR, None);
    }

    /// One pass over the outbox: every item whose time has come is sent in
    /// order; a transient failure stops its kind for this pass (order per
    /// kind is kept), a permanent refusal moves the item to the dead
    /// letters.
    pub async fn deliver(&self) -> SyncResult<DeliveryReport> {
        self.deliver_pass(false).await
    }

    /// [`Agent::deliver`], trying every item now whatever its backoff: the
    /// user asked (sync now, a ticket just filed).
    pub async fn deliver_now(&self) -> SyncResult<DeliveryReport> {
        self.deliver_pass(true).await
    }

    async fn deliver_pass(&self, now: bool) -> SyncResult<DeliveryReport> {
        let desk = self.desk()?;
        let mut report = DeliveryReport::default();
        let items = self.store().pending()?;
        if items.is_empty() {
            return Ok(report);
        }
        // The desk's Retry-After binds every item, also when the user asks
        // to send now: it is the desk protecting itself.
        if self.desk_busy()?.is_some() {
            report.waiting = items.len();
            report.unreachable = true;
            return Ok(report);
        }
        self.emit(Event::SyncState(SyncState::Syncing));
        let mut token = self.token().await?;
        let mut blocked: Vec<Kind> = Vec::new();
        let mut reenrolled = false;
        let mut desk_busy = false;
        for item in items {
            if desk_busy
                || blocked.contains(&item.kind)
                || (!now && item.next_attempt_at > Utc::now())
            {
                report.waiting += 1;
                continue;
            }
            let result = self.send(desk, &token, &item).await;
            match result {
                Ok(Sent::Done) => {
                    report.delivered += 1;
                    if let Some(local) = &item.local_ticket {
                        self.emit(Event::TicketUpdated {
                            local_id: local.clone(),
                        });
                    }
                }
                Ok(Sent::NotYet) => {
                    // Its ticket has no number yet: keep waiting, in order.
                    blocked.push(item.kind);
                    report.waiting += 1;
                }
                Err(DeskError::Unauthorized) if !reenrolled => {
                    reenrolled = true;
                    self.credentials.clear()?;
                    self.reenroll().await?;
                    token = self.token().await?;
                    blocked.push(item.kind);
                    report.waiting += 1;
                }
                Err(e) if e.is_transient() || matches!(e, DeskError::Unauthorized) => {
                    let wait = match &e {
                        DeskError::Busy {
                            retry_after: Some(r),
                            ..
                        } => {
                            let until = Utc::now()
                                + chrono::TimeDelta::from_std(*r).unwrap_or(chrono::TimeDelta::MAX);
                            self.store()
                                .set(KEY_BUSY_UNTIL, Some(&until.to_rfc3339()))?;
                            desk_busy = true;
                            (*r).max(backoff(item.attempts))
                        }
                        _ => backoff(item.attempts),
                    };
                    let next = Utc::now()
                        + chrono::TimeDelta::from_std(wait).unwrap_or(chrono::TimeDelta::MAX);
                    self.store().retry_later(item.id, next, &e.to_string())?;
                    self.note_failure(&e);
                    report.unreachable = true;
                    blocked.push(item.kind);
                    report.waiting += 1;
                }
                Err(e) => {
                    let status = match &e {
                        DeskError::Rejected { status, .. } => *status,
                        _ => 0,
                    };
                    tracing::warn!(
                        kind = item.kind.as_str(),
                        key = %item.idempotency_key,
                        "the desk refused an item for good: {e}"
                    );
                    self.store().dead_letter(&item, status, &e.to_string())?;
                    report.dead += 1;
                }
            }
        }
        if !report.unreachable {
            self.note_success();
        }
        self.emit(Event::SyncState(if report.unreachable {
            SyncState::Offline
        } else {
            SyncState::Online
        }));
        Ok(report)
    }

    /// How long the desk still asked not to be sent anything.
    fn desk_busy(&self) -> SyncResult<Option<Duration>> {
        let until = self
            .store()
            .get(KEY_BUSY_UNTIL)?
            .and_then(|t| DateTime::parse_from_rfc3339(&t).ok());
        Ok(until.and_then(|t| (t.with_timezone(&Utc) - Utc::now()).to_std().ok()))
    }

    async fn send(
        &self,
        desk: &DeskClient,
        token: &str,
        item: &OutItem,
    ) -> Result<Sent, DeskError> {
        let local = item.local_ticket.as_deref().unwrap_or_default();
        let store_err = |e: StoreError| DeskError::Setup(e.to_string());
        if item.kind == Kind::Ticket {
            let files = self.store().files(item.id).map_err(store_err)?;
            self.store().mark_sent(local).map_err(store_err)?;
            let ticket = desk
                .submit_ticket(token, &item.idempotency_key, &item.payload, &files)
                .await?;
            self.store()
                .acknowledge_ticket(item.id, local, &ticket)
                .map_err(store_err)?;
            tracing::info!(local, number = ticket.id, "ticket delivered");
            return Ok(Sent::Done);
        }
        let Some(number) = self.store().server_id(local).map_err(store_err)? else {
            return Ok(Sent::NotYet);
        };
        match item.kind {
            Kind::Comment => {
                desk.comment(token, number, &item.idempotency_key, &item.payload)
                    .await
                    .map(drop)?;
            }
            Kind::Rating => match desk
                .ticket_action(token, number, "rating", Some(&item.payload))
                .await
            {
                // Rated already: a retry of a rating that arrived.
                Err(DeskError::Rejected { code, .. })
                    if code == deskside_protocol::ErrorCode::CannotRate && item.attempts > 0 => {}
                other => other?,
            },
            Kind::Reopen => match desk.ticket_action(token, number, "reopen", None).await {
                // Open already: a retry of a reopen that arrived.
                Err(DeskError::Rejected { code, .. })
                    if code == deskside_protocol::ErrorCode::InvalidTransition
                        && item.attempts > 0 => {}
                other => other?,
            },
            Kind::Ticket => {}
        }
        self.store().delivered(item.id).map_err(store_err)?;
        Ok(Sent::Done)
    }

    /// Checks in once: health, and what the desk has for this device
    /// (ticket updates are stored and notified; a new policy is kept for
    /// the scheduler; the inventory is uploaded when the desk wants it).
    pub async fn checkin(&self) -> SyncResult<CheckinOutcome> {
        self.checkin_with(Vec::new(), None).await
    }

    /// [`Agent::checkin`] carrying metric samples. Only check results that
    /// changed since the last check-in of this process are sent, so an idle
    /// device's check-in stays small.
    ///
    /// `results` are the check results as they are now (the running
    /// scheduler's); without them the ones last saved in the state
    /// directory are sent, which a running scheduler writes only now and
    /// then.
    pub async fn checkin_with(
        &self,
        metrics: Vec<deskside_protocol::MetricSample>,
        results: Option<deskside_host::checks::Tracker>,
    ) -> SyncResult<CheckinOutcome> {
        let desk = self.desk()?;
        if let Some(wait) = self.desk_busy()? {
            return Err(DeskError::Waiting(wait).into());
        }
        self.emit(Event::SyncState(SyncState::Syncing));
        let inventory = self.recent_inventory();
        let hash = inventory_hash(&inventory);
        let tracker = results.unwrap_or_else(|| {
            deskside_host::checks::Tracker::load(&self.state_dir.join("checks.json"))
                .unwrap_or_default()
        });
        let (seen, policy_version) = {
            let store = self.store();
            let seen = store
                .get(KEY_TICKETS_SEEN)?
                .and_then(|s| DateTime::parse_from_rfc3339(&s).ok())
                .map(|d| d.with_timezone(&Utc));
            let policy_version = store
                .get(KEY_POLICY)?
                .and_then(|p| serde_json::from_str::<deskside_protocol::Policy>(&p).ok())
                .map(|p| p.version);
            (seen, policy_version)
        };
        let req = CheckinRequest {
            agent_version: Some(crate::AGENT_VERSION.to_owned()),
            overall_health: (!tracker.last_results.is_empty()).then(|| tracker.overall()),
            policy_version,
            inventory_hash: Some(hash),
            check_results: self.changed_results(&tracker),
            metrics,
            tickets_seen_at: seen,
            // A device enrolled before it had a key registers one.
            public_key: self.device_key().ok().map(|k| k.public_key()),
        };
        let mut token = self.token().await?;
        let answer = match desk.checkin(&token, &req).await {
            Err(DeskError::Unauthorized) => {
                self.credentials.clear()?;
                self.reenroll().await?;
                token = self.token().await?;
                desk.checkin(&token, &req).await
            }
            other => other,
        };
        let answer = match answer {
            Ok(a) => a,
            Err(e) => {
                self.note_failure(&e);
                self.emit(Event::SyncState(SyncState::Offline));
                return Err(e.into());
            }
        };
        let mut outcome = CheckinOutcome::default();
        for t in &answer.ticket_updates {
            let (replies, status) = self.store().merge_server_ticket(t)?;
            let local_id = self
                .store()
                .ticket(&format!("#{}", t.id))?
                .map(|l| l.local_id);
            if let Some(local_id) = &local_id {
                self.emit(Event::TicketUpdated {
                    local_id: local_id.clone(),
                });
            }
            let mut notifier = self.notifier.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(n) = notifier.as_mut() {
                if replies > 0 {
                    n.on_ticket(t.id, &t.subject, None, local_id.as_deref());
                }
                if let Some(s) = &status {
                    n.on_ticket(t.id, &t.subject, Some(s), local_id.as_deref());
                }
            }
            outcome.replies += replies;
            outcome.status_changes += usize::from(status.is_some());
            if seen.is_none_or(|s| t.updated_at > s) {
                self.store()
                    .set(KEY_TICKETS_SEEN, Some(&t.updated_at.to_rfc3339()))?;
            }
        }
        if let Some(p) = &answer.policy {
            self.store().set(
                KEY_POLICY,
                Some(&serde_json::to_string(p).unwrap_or_default()),
            )?;
            outcome.new_policy = Some(p.version);
        }
        if answer.send_inventory {
            desk.put_inventory(&token, &inventory).await?;
            outcome.inventory_sent = true;
        }
        outcome.next_checkin = Duration::from_secs(answer.next_checkin_secs.max(5));
        {
            let mut sent = self.sent_results.lock().unwrap_or_else(|p| p.into_inner());
            for r in &req.check_results {
                sent.insert(r.check_id.clone(), (r.state, r.summary.clone()));
            }
        }
        self.note_success();
        self.emit(Event::SyncState(SyncState::Online));
        Ok(outcome)
    }

    fn changed_results(
        &self,
        tracker: &deskside_host::checks::Tracker,
    ) -> Vec<deskside_protocol::CheckResult> {
        let sent = self.sent_results.lock().unwrap_or_else(|p| p.into_inner());
        tracker
            .last_results
            .values()
            .filter(|r| sent.get(&r.check_id) != Some(&(r.state, r.summary.clone())))
            .cloned()
            .collect()
    }

    /// Delivers the outbox and checks in once.
    pub async fn sync(&self) -> SyncResult<(DeliveryReport, CheckinOutcome)> {
        let delivered = self.deliver_now().await?;
        let checked = self.checkin().await?;
        Ok((delivered, checked))
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

    /// The policy the desk sent last, if any.
    pub fn desk_policy(&self) -> SyncResult<Option<deskside_protocol::Policy>> {
        Ok(self
            .store()
            .get(KEY_POLICY)?
            .and_then(|p| serde_json::from_str(&p).ok()))
    }

    /// The checks to run: the desk's policy confined to what this device
    /// allows (its system configuration's `[checks]`), or the built-in
    /// policy when the desk sent none.
    pub fn active_policy(&self) -> SyncResult<deskside_host::checks::LoadedPolicy> {
        Ok(self
            .desk_policy()?
            .map_or_else(deskside_host::checks::LoadedPolicy::builtin, |p| {
                deskside_host::checks::confine::load_from_desk(&p, &self.cfg.checks.rules())
            }))
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

enum Sent {
    Done,
    NotYet,
}

/// What a check-in brought.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckinOutcome {
    /// New technician replies.
    pub replies: u32,
    /// Tickets whose status changed.
    pub status_changes: usize,
    /// A new policy version arrived.
    pub new_policy: Option<u64>,
    /// The inventory was uploaded.
    pub inventory_sent: bool,
    /// When to check in next.
    pub next_checkin: Duration,
}

/// The name an attachment is shown under: only the last path segment (a
/// name is shown, never used as a path); `None` when nothing is left.
pub fn file_name(name: &str) -> Option<&str> {
    name.rsplit(['/', '\\'])
        .next()
        .map(str::trim)
        .filter(|n| !n.is_empty() && *n != "." && *n != "..")
}

/// An attachment for the outbox, checked against the desk's limits.
fn attachment(name: String, bytes: Vec<u8>) -> SyncResult<OutFile> {
    let name = file_name(&name).unwrap_or("file").to_owned();
    if bytes.len() > MAX_ATTACHMENT_BYTES {
        return Err(SyncError::Invalid(format!("{name} is larger than 10 MiB")));
    }
    Ok(OutFile {
        part: "attachment".into(),
        content_type: content_type(std::path::Path::new(&name)).into(),
        name,
        bytes,
    })
}

fn content_type(path: &std::path::Path) -> &'static str {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("gif") => "image/gif",
        Some("pdf") => "application/pdf",
        Some("txt" | "log") => "text/plain",
        Some("json") => "application/json",
        Some("zip") => "application/zip",
        Some("gz") => "application/gzip",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_is_jittered_and_capped() {
        for attempts in [0, 1, 5, 30, u32::MAX] {
            let ceiling = Duration::from_secs(2)
                .saturating_mul(2u32.saturating_pow(attempts.min(16)))
                .min(MAX_BACKOFF);
            for _ in 0..50 {
                assert!(backoff(attempts) <= ceiling);
            }
        }
        let waits: std::collections::HashSet<_> = (0..50).map(|_| backoff(10)).collect();
        assert!(waits.len() > 10, "full jitter spreads the retries");
    }
}
