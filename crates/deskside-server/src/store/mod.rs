//! Storage: one trait, one implementation per backend (SQLite by default,
//! PostgreSQL for scale), chosen from the database URL's scheme. Each
//! backend has its own `migrations/` folder; one conformance test suite
//! runs against both.
//!
//! Nothing that matters lives in a server process: several server nodes
//! can share one PostgreSQL database.

pub mod check_tickets;
pub mod kb;
pub mod kpis;
mod metric_names;
pub mod postgres;
pub mod problem_candidates;
pub mod queue;
mod rows;
pub mod service;
mod shared;
mod software_catalogue;
pub mod sqlite;
pub mod tray_reports;
pub mod webhooks;

use std::future::Future;

use chrono::{DateTime, Utc};

pub use check_tickets::{CheckTicketStore, DeskRecord, Recovered, Verification};
pub use kb::{ArticleFields, ArticleRow, ArticleUpdate, KbStore, TextHit, TextRow};
pub use kpis::{DayCounts, Durations, GroupCounts, KpiGroup, KpiSpan, KpiStore, ServiceGauges};
pub use postgres::PgStore;
pub use problem_candidates::{CandidateRow, ProblemCandidateStore};
pub use queue::{QueueRow, TicketFilter, TicketSort};
pub use service::{
    CalendarRow, EscalationAction, KpiFacts, MemberRow, NewDeskTicket, NewSlaEvent, PolicyRow,
    ProblemFields, ProblemRow, ServiceStore, SlaEventRow, SlaInput, SlaRecord, TeamRow,
};
pub use sqlite::SqliteStore;
pub use tray_reports::{KbStamp, ReportOutcomeRow, ReportRecord, TrayReportStore};
pub use webhooks::{AttemptOutcome, DeliveryRow, NewDelivery, WebhookRow, WebhookStore};

/// What a user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Everything, including users, enroll secrets and the policy.
    Admin,
    /// Tickets and devices.
    Technician,
}

impl Role {
    /// The name stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Technician => "technician",
        }
    }

    /// Parses `admin` or `technician`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "admin" => Some(Self::Admin),
            "technician" => Some(Self::Technician),
            _ => None,
        }
    }
}

/// The stored role; the schema allows only the two (a `CHECK` constraint),
/// anything else reads as the lesser one.
impl From<String> for Role {
    fn from(s: String) -> Self {
        Self::parse(&s).unwrap_or(Self::Technician)
    }
}

/// A technician or administrator.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct User {
    /// Id.
    pub id: i64,
    /// E-mail address (unique, case-insensitive).
    pub email: String,
    /// Role.
    #[sqlx(try_from = "String")]
    pub role: Role,
    /// argon2id hash of the password, when the user has one.
    pub password_hash: Option<String>,
    /// When the user was created.
    pub created_at: DateTime<Utc>,
    /// When the user was deactivated: no login, no session, no token.
    pub deactivated_at: Option<DateTime<Utc>>,
}

/// An enroll secret, without its hash.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct EnrollSecret {
    /// Id.
    pub id: i64,
    /// What it is for.
    pub label: Option<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it stops working.
    pub expires_at: Option<DateTime<Utc>>,
    /// When it was revoked.
    pub revoked_at: Option<DateTime<Utc>>,
}

impl EnrollSecret {
    /// Whether devices may enroll with it at `now`.
    pub fn usable(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|e| now < e)
    }
}

/// A device joining (or joining again).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEnrollment<'a> {
    /// The agent's stable device key.
    pub device_key: Option<&'a str>,
    /// Hardware serial number.
    pub serial_number: Option<&'a str>,
    /// Host name.
    pub hostname: Option<&'a str>,
    /// SHA-256 of the new device token.
    pub token_hash: &'a str,
    /// The device's Ed25519 public key, its possession already proven: a
    /// device with this key gets the new token; without one, or with an
    /// unknown one, this is a new device.
    pub public_key: Option<&'a str>,
}

/// The outcome of an enrollment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Enrolled {
    /// The device's id.
    pub device_id: i64,
    /// True when the machine was known already (its token was rotated).
    pub reenrolled: bool,
    /// For a new device: the device it likely duplicates (same device key
    /// or serial number), never merged automatically.
    pub duplicate_of: Option<i64>,
}

/// An enrolled device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    /// Id.
    pub id: i64,
    /// Device key.
    pub device_key: Option<String>,
    /// Serial number.
    pub serial_number: Option<String>,
    /// Host name.
    pub hostname: Option<String>,
    /// When it (last) enrolled.
    pub enrolled_at: DateTime<Utc>,
    /// Hash of its current inventory at the desk.
    pub inventory_hash: Option<String>,
    /// The newest policy version at the desk (0: none), read with the
    /// device so that a check-in needs no query of its own for it.
    pub policy_version: i64,
    /// Whether it has registered its public key.
    pub has_public_key: bool,
}

/// Searchable facts of an inventory, stored beside it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InventoryFacts {
    /// Host name now (a renamed machine keeps its device record).
    pub hostname: Option<String>,
    /// OS name and release (`Debian GNU/Linux 12 (bookworm)`).
    pub os_name: Option<String>,
    /// OS release version.
    pub os_version: Option<String>,
    /// Logged-in user names, space-separated; `None` keeps the last known.
    pub users: Option<String>,
    /// Installed packages: (name, version or empty).
    pub software: Vec<(String, String)>,
}

/// Which devices `list_devices` returns. Text filters match substrings,
/// case-insensitively.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeviceFilter {
    /// Host name contains.
    pub hostname: Option<String>,
    /// A logged-in user's name contains.
    pub user: Option<String>,
    /// OS name or version contains.
    pub os: Option<String>,
    /// An installed package's name contains.
    pub software: Option<String>,
    /// `software` is the whole name (ignoring case), not a part of it.
    pub software_exact: bool,
    /// … in exactly this version.
    pub software_version: Option<String>,
    /// … in one of these versions.
    pub software_versions: Option<Vec<String>>,
    /// Overall health.
    pub health: Option<String>,
    /// This check is failing (warning or critical).
    pub failing_check: Option<String>,
    /// Seen at or after.
    pub seen_after: Option<DateTime<Utc>>,
    /// Seen before (or never).
    pub seen_before: Option<DateTime<Utc>>,
    /// Ids after this one (cursor).
    pub after_id: i64,
    /// Page size.
    pub limit: u32,
}

/// One package in the software catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SoftwareEntry {
    /// Package name.
    pub name: String,
    /// Devices that have any version of it.
    pub devices: i64,
    /// Its versions with the number of devices that have each.
    pub versions: Vec<(String, i64)>,
}

/// Whether `s` is a plausible e-mail address: one `@` with a local part
/// before it and a domain after it, no spaces or control
/// characters, at most 254 bytes.
pub fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    s.len() <= 254
        && !local.is_empty()
        && !domain.is_empty()
        && !domain.contains('@')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// `%text%` for LIKE, with LIKE's own characters escaped (escape `\`).
pub(crate) fn like_pattern(text: Option<&str>) -> Option<String> {
    text.map(|s| format!("%{}%", like_literal(s)))
}

/// The LIKE pattern of a package search: exactly `text`, or containing it.
pub(crate) fn name_pattern(text: &str, exact: bool) -> String {
    if exact {
        like_literal(text)
    } else {
        format!("%{}%", like_literal(text))
    }
}

/// `text` as a LIKE pattern that matches exactly it (ignoring case where
/// the backend's LIKE does).
pub(crate) fn like_literal(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// Storage failures.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A migration failed.
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A unique value is taken.
    #[error("{0} already exists")]
    Conflict(String),
    /// An idempotency key came again with another payload.
    #[error("the idempotency key was used before for a different request")]
    KeyReused,
    /// The URL names no supported database.
    #[error("unsupported database URL (expected sqlite:… or postgres://…)")]
    UnsupportedUrl,
}

/// Result of a storage call.
pub type StoreResult<T> = Result<T, StoreError>;

/// Everything the desk stores. Implementations must keep no state that
/// matters in memory: several servers may share one database.
pub trait Store:
    ServiceStore
    + KpiStore
    + WebhookStore
    + KbStore
    + TrayReportStore
    + CheckTicketStore
    + ProblemCandidateStore
    + Clone
    + Send
    + Sync
    + 'static
{
    /// Brings the schema up to date.
    fn migrate(&self) -> impl Future<Output = StoreResult<()>> + Send;
    /// Checks that the database answers.
    fn ping(&self) -> impl Future<Output = StoreResult<()>> + Send;

    /// Creates a user; `Conflict` when the e-mail is taken.
    fn create_user(
        &self,
        email: &str,
        role: Role,
        password_hash: Option<&str>,
    ) -> impl Future<Output = StoreResult<User>> + Send;
    /// The user with this e-mail (case-insensitive).
    fn user_by_email(&self, email: &str) -> impl Future<Output = StoreResult<Option<User>>> + Send;
    /// Stores a technician API token (its hash).
    fn create_api_token(
        &self,
        user_id: i64,
        token_hash: &str,
        label: Option<&str>,
    ) -> impl Future<Output = StoreResult<i64>> + Send;
    /// The user an unrevoked API token belongs to.
    fn user_by_api_token(
        &self,
        token_hash: &str,
    ) -> impl Future<Output = StoreResult<Option<User>>> + Send;

    /// API tokens, newest first: one user's, or everyone's (`None`).
    fn list_api_tokens(
        &self,
        user_id: Option<i64>,
    ) -> impl Future<Output = StoreResult<Vec<ApiTokenInfo>>> + Send;
    /// Revokes a token (only `owner`'s when given); false when there is
    /// no such unrevoked token.
    fn revoke_api_token(
        &self,
        id: i64,
        owner: Option<i64>,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Revokes the token with this hash (a logout with it).
    fn revoke_api_token_by_hash(
        &self,
        token_hash: &str,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Every user, by id.
    fn list_users(&self) -> impl Future<Output = StoreResult<Vec<User>>> + Send;
    /// Deactivates a user: their sessions end and tokens are revoked, in
    /// one transaction; false when there is no such active user.
    fn deactivate_user(&self, user_id: i64) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Changes an active user's role; false when there is no such active
    /// user.
    fn set_user_role(
        &self,
        user_id: i64,
        role: Role,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Sets an active user's password hash and ends their browser
    /// sessions, in one transaction; false when there is no such active
    /// user.
    fn set_user_password(
        &self,
        user_id: i64,
        password_hash: &str,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Revokes a device: its token stops working at once on every node;
    /// false when there is no such unrevoked device.
    fn revoke_device(&self, device_id: i64) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Adds an entry to the desk's audit log.
    fn record_audit(&self, e: &AuditRecord<'_>) -> impl Future<Output = StoreResult<()>> + Send;
    /// The audit log, newest first, entries with ids below `before_id`
    /// (0: from the newest).
    fn audit_log(
        &self,
        before_id: i64,
        limit: u32,
    ) -> impl Future<Output = StoreResult<Vec<AuditLogEntry>>> + Send;
    /// Counts a failed login for `email` (lower-cased) and returns the
    /// failures in the current window, which starts anew after `window`.
    fn count_login_failure(
        &self,
        email: &str,
        window: chrono::TimeDelta,
    ) -> impl Future<Output = StoreResult<u32>> + Send;
    /// The failed logins of `email` in the current window.
    fn login_failures(
        &self,
        email: &str,
        window: chrono::TimeDelta,
    ) -> impl Future<Output = StoreResult<u32>> + Send;
    /// Forgets the failed logins of `email` (after a good one).
    fn clear_login_failures(&self, email: &str) -> impl Future<Output = StoreResult<()>> + Send;

    /// Stores an enroll secret (its hash).
    fn create_enroll_secret(
        &self,
        label: Option<&str>,
        secret_hash: &str,
        expires_at: Option<DateTime<Utc>>,
    ) -> impl Future<Output = StoreResult<EnrollSecret>> + Send;
    /// Every enroll secret, newest first.
    fn list_enroll_secrets(&self) -> impl Future<Output = StoreResult<Vec<EnrollSecret>>> + Send;
    /// Revokes a secret; false when there is no such secret or it was
    /// revoked already.
    fn revoke_enroll_secret(&self, id: i64) -> impl Future<Output = StoreResult<bool>> + Send;
    /// The secret with this hash, usable or not.
    fn enroll_secret_by_hash(
        &self,
        secret_hash: &str,
    ) -> impl Future<Output = StoreResult<Option<EnrollSecret>>> + Send;

    /// Enrolls a device: a machine known by its public key keeps its id and
    /// gets the new token (the old one stops working at once, a revoked
    /// device is reinstated); any other is a new device, pointing at the
    /// one it likely duplicates.
    fn enroll_device(
        &self,
        e: &NewEnrollment<'_>,
    ) -> impl Future<Output = StoreResult<Enrolled>> + Send;
    /// Registers the public key of a device enrolled before it had one;
    /// false when it has one or another device has this one.
    fn register_device_key(
        &self,
        device_id: i64,
        public_key: &str,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Stores a single-use enrollment challenge (its hash) and forgets
    /// expired ones.
    fn create_enroll_challenge(
        &self,
        challenge_hash: &str,
        expires_at: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Uses up a challenge: true once, when it exists and has not expired.
    fn take_enroll_challenge(
        &self,
        challenge_hash: &str,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// The device a token belongs to.
    fn device_by_token(
        &self,
        token_hash: &str,
    ) -> impl Future<Output = StoreResult<Option<Device>>> + Send;

    /// The device's current inventory: its hash and JSON body.
    fn current_inventory(
        &self,
        device_id: i64,
    ) -> impl Future<Output = StoreResult<Option<(String, String)>>> + Send;
    /// Replaces the device's current inventory and, when something changed,
    /// records the change (a JSON diff) — in one transaction. Also marks the
    /// device as seen.
    fn save_inventory(
        &self,
        device_id: i64,
        inventory_hash: &str,
        body: &str,
        change: Option<&str>,
        facts: &InventoryFacts,
        at: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Records a check-in: agent version and health on the device, the
    /// latest result of each check, and the metric samples — in one
    /// transaction.
    fn record_checkin(&self, c: &Checkin<'_>) -> impl Future<Output = StoreResult<()>> + Send;
    /// The latest result of each check of a device: (check id, state, JSON).
    fn check_results(
        &self,
        device_id: i64,
    ) -> impl Future<Output = StoreResult<Vec<(String, String, String)>>> + Send;
    /// The current policy: (version, JSON list of checks).
    fn current_policy(&self) -> impl Future<Output = StoreResult<Option<(i64, String)>>> + Send;
    /// Stores a new policy version (the previous + 1) and returns it.
    /// Concurrent writers on several nodes get distinct versions. With
    /// `expected`, only while the current version is that one (0: none
    /// yet); `None` when it is not.
    fn put_policy(
        &self,
        checks: &str,
        by_user: i64,
        expected: Option<i64>,
    ) -> impl Future<Output = StoreResult<Option<i64>>> + Send;
    /// Policy versions older than `before` (all when `None`), newest
    /// first, at most `limit`, with who published each.
    fn policy_versions(
        &self,
        before: Option<i64>,
        limit: u32,
    ) -> impl Future<Output = StoreResult<Vec<PolicyVersion>>> + Send;
    /// Creates a ticket with its attachments, unless this device already
    /// created one with this idempotency key: then that ticket's id is
    /// returned and `created` is false. Safe across server nodes.
    fn create_ticket(
        &self,
        t: &NewTicketRow<'_>,
    ) -> impl Future<Output = StoreResult<(i64, bool)>> + Send;
    /// A device's tickets changed after `since` (all when `None`), oldest
    /// change first, at most `limit`.
    fn device_tickets_changed(
        &self,
        device_id: i64,
        since: Option<DateTime<Utc>>,
        limit: u32,
    ) -> impl Future<Output = StoreResult<Vec<TicketRow>>> + Send;
    /// A device's tickets, newest first.
    fn device_tickets(
        &self,
        device_id: i64,
    ) -> impl Future<Output = StoreResult<Vec<TicketRow>>> + Send;
    /// One ticket of a device with its attachments; `None` for another
    /// device's ticket.
    fn device_ticket(
        &self,
        device_id: i64,
        ticket_id: i64,
    ) -> impl Future<Output = StoreResult<Option<(TicketRow, Vec<AttachmentRow>)>>> + Send;
    /// Devices in id order that match the filter, one page.
    fn list_devices(
        &self,
        f: &DeviceFilter,
    ) -> impl Future<Output = StoreResult<Vec<DeviceSummary>>> + Send;
    /// One device.
    fn device(&self, id: i64) -> impl Future<Output = StoreResult<Option<DeviceSummary>>> + Send;
    /// Tickets that match the filter, one page in its order.
    fn list_tickets(
        &self,
        f: &TicketFilter,
    ) -> impl Future<Output = StoreResult<Vec<QueueRow>>> + Send;
    /// How many tickets match the filter (its paging ignored).
    fn count_tickets(&self, f: &TicketFilter) -> impl Future<Output = StoreResult<i64>> + Send;
    /// Remembers that `user_id` looked at the ticket at `at`.
    fn mark_ticket_seen(
        &self,
        user_id: i64,
        ticket_id: i64,
        at: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Appends to the event log and wakes every node's listeners; returns
    /// the event's id. Ids are committed in order, so a reader resuming
    /// after an id misses nothing.
    fn publish_event(
        &self,
        kind: &str,
        ticket_id: Option<i64>,
        actor: Option<&str>,
    ) -> impl Future<Output = StoreResult<i64>> + Send;
    /// Records an event about a device (`device.enrolled`,
    /// `check.failing`, `check.recovered`) with what happened as JSON;
    /// returns its id.
    fn publish_device_event(
        &self,
        kind: &str,
        device_id: i64,
        detail: &str,
    ) -> impl Future<Output = StoreResult<i64>> + Send;
    /// Records an event about neither one ticket nor one device
    /// (`problem.candidate`) with what happened as JSON; returns its id.
    fn publish_detail_event(
        &self,
        kind: &str,
        detail: &str,
    ) -> impl Future<Output = StoreResult<i64>> + Send;
    /// Events after `after_id`, oldest first, at most `limit`.
    fn events_after(
        &self,
        after_id: i64,
        limit: u32,
    ) -> impl Future<Output = StoreResult<Vec<EventRow>>> + Send;
    /// The newest event's id (0 when there is none).
    fn last_event_id(&self) -> impl Future<Output = StoreResult<i64>> + Send;
    /// Deletes events older than `before`; returns how many.
    fn prune_events(&self, before: DateTime<Utc>) -> impl Future<Output = StoreResult<u64>> + Send;
    /// Waits for events published by other nodes and calls `wake` for
    /// each; returns when the connection is lost. SQLite has one node and
    /// returns at once.
    fn listen_events(
        &self,
        wake: std::sync::Arc<tokio::sync::Notify>,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// A technician's saved views of one scope (`tickets`, `devices`), by
    /// name.
    fn saved_views(
        &self,
        user_id: i64,
        scope: &str,
    ) -> impl Future<Output = StoreResult<Vec<SavedView>>> + Send;
    /// Saves a view; `Conflict` when the technician has one of that name
    /// in that scope.
    fn save_view(
        &self,
        user_id: i64,
        scope: &str,
        name: &str,
        query: &str,
    ) -> impl Future<Output = StoreResult<SavedView>> + Send;
    /// Deletes one of the technician's views; false when there is none.
    fn delete_view(&self, user_id: i64, id: i64) -> impl Future<Output = StoreResult<bool>> + Send;
    /// A device's check state changes, newest first, at most `limit`.
    fn check_transitions(
        &self,
        device_id: i64,
        limit: u32,
    ) -> impl Future<Output = StoreResult<Vec<TransitionRow>>> + Send;
    /// The fleet at a glance ([`FleetOverview`]).
    fn fleet_overview(
        &self,
        q: &FleetQuery,
    ) -> impl Future<Output = StoreResult<FleetOverview>> + Send;
    /// The names of installed packages that contain `text` (are `text`
    /// when `exact`), ignoring case, from the catalogue.
    fn software_names(
        &self,
        text: &str,
        exact: bool,
    ) -> impl Future<Output = StoreResult<Vec<String>>> + Send;
    /// The versions installed anywhere of the packages whose name
    /// contains `name` (is `name` when `exact`), ignoring case.
    fn software_versions(
        &self,
        name: &str,
        exact: bool,
    ) -> impl Future<Output = StoreResult<Vec<String>>> + Send;
    /// The software catalogue: packages by name after `after_name` whose
    /// name contains `search`, at most `limit` names.
    fn software(
        &self,
        search: Option<&str>,
        after_name: Option<&str>,
        limit: u32,
    ) -> impl Future<Output = StoreResult<Vec<SoftwareEntry>>> + Send;
    /// The ids of metric series names, created when new. An id never
    /// changes, so every node may cache it.
    fn metric_name_ids(&self, names: &[&str])
    -> impl Future<Output = StoreResult<Vec<i64>>> + Send;
    /// The names of metric series ids (unknown ids are left out).
    fn metric_names(
        &self,
        ids: &[i64],
    ) -> impl Future<Output = StoreResult<std::collections::HashMap<i64, String>>> + Send;
    /// A device's stored metrics in `from..to` (Unix seconds): raw samples
    /// and hourly rollups, oldest first.
    fn metric_rows(
        &self,
        device_id: i64,
        from: i64,
        to: i64,
    ) -> impl Future<Output = StoreResult<MetricRows>> + Send;
    /// Folds the raw samples taken before `before` (Unix seconds) into
    /// hourly rollups and deletes them ([`crate::metric_tiers`]); returns
    /// how many samples. Each sample is counted once even when several
    /// nodes run this at once.
    fn roll_up_metrics(&self, before: i64) -> impl Future<Output = StoreResult<u64>> + Send;
    /// Deletes metrics (both tiers) from before `before`; returns how many
    /// rows.
    fn prune_metric_samples(
        &self,
        before: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<u64>> + Send;
    /// Up to `limit` JSON samples stored before metrics were numbers:
    /// (row id, device, taken at, JSON).
    fn legacy_metric_samples(
        &self,
        limit: u32,
    ) -> impl Future<Output = StoreResult<Vec<LegacySample>>> + Send;
    /// Stores converted legacy samples as raw rows and deletes the legacy
    /// rows `ids`, in one transaction.
    fn replace_legacy_metric_samples(
        &self,
        ids: &[i64],
        raw: &[(i64, i64, Vec<u8>)],
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// A ticket with the fields technicians work on.
    fn ticket_work(&self, id: i64) -> impl Future<Output = StoreResult<Option<TicketWork>>> + Send;
    /// Applies a technician's change to the ticket as it is inside one
    /// write transaction ([`crate::workflow::plan`]): the workflow check,
    /// the precondition (`expected_version`), the write (which bumps the
    /// version) and the audit record happen together, so concurrent
    /// changes on any number of nodes never undo each other.
    fn patch_ticket(
        &self,
        id: i64,
        change: &crate::workflow::TicketChange,
        expected_version: Option<i64>,
        by_user: i64,
    ) -> impl Future<Output = StoreResult<crate::workflow::PatchOutcome>> + Send;
    /// Adds a comment (`user_id` `None`: from the device); technicians'
    /// comments are audited too.
    fn add_comment(
        &self,
        ticket_id: i64,
        user_id: Option<i64>,
        body: &str,
        internal: bool,
    ) -> impl Future<Output = StoreResult<i64>> + Send;
    /// Adds the device's comment unless one with this idempotency key
    /// exists on the ticket: then that one's id is returned and `created`
    /// is false. Safe across server nodes.
    fn add_device_comment(
        &self,
        ticket_id: i64,
        body: &str,
        idempotency_key: &str,
    ) -> impl Future<Output = StoreResult<(i64, bool)>> + Send;
    /// The conversation, oldest first; internal notes only when asked.
    fn comments(
        &self,
        ticket_id: i64,
        include_internal: bool,
    ) -> impl Future<Output = StoreResult<Vec<CommentRow>>> + Send;
    /// The public comments of several tickets in one query, oldest first
    /// per ticket: (ticket id, comment).
    fn public_comments_of(
        &self,
        ticket_ids: &[i64],
    ) -> impl Future<Output = StoreResult<Vec<(i64, CommentRow)>>> + Send;
    /// The audit trail of a ticket: (user id, none for the desk's own
    /// changes; action, detail JSON, when).
    fn ticket_audit(
        &self,
        ticket_id: i64,
    ) -> impl Future<Output = StoreResult<Vec<AuditEntry>>> + Send;
    /// A ticket's attachments, oldest first.
    fn ticket_attachments(
        &self,
        ticket_id: i64,
    ) -> impl Future<Output = StoreResult<Vec<AttachmentRow>>> + Send;
    /// One attachment of a ticket.
    fn attachment(
        &self,
        ticket_id: i64,
        attachment_id: i64,
    ) -> impl Future<Output = StoreResult<Option<AttachmentRow>>> + Send;
    /// Records the employee's rating; false when the ticket is not resolved
    /// or closed, or was rated already.
    fn rate_ticket(
        &self,
        ticket_id: i64,
        score: i64,
        comment: Option<&str>,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Reopens a resolved or closed ticket (false otherwise).
    fn reopen_ticket(&self, ticket_id: i64) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Starts a browser session.
    fn create_session(
        &self,
        token_hash: &str,
        csrf_hash: &str,
        user_id: i64,
        expires_at: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// The user of an unexpired session, with the session's CSRF hash.
    fn session_user(
        &self,
        token_hash: &str,
    ) -> impl Future<Output = StoreResult<Option<(User, String)>>> + Send;
    /// Ends a session.
    fn delete_session(&self, token_hash: &str) -> impl Future<Output = StoreResult<()>> + Send;
    /// Recorded changes of a device with ids below `before_id` (0: from
    /// the newest), newest first: (id, when, diff JSON).
    fn inventory_changes(
        &self,
        device_id: i64,
        before_id: i64,
        limit: u32,
    ) -> impl Future<Output = StoreResult<Vec<(i64, DateTime<Utc>, String)>>> + Send;
    /// Deletes inventory changes and check transitions recorded before
    /// `before`; returns how many.
    fn prune_inventory_changes(
        &self,
        before: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<u64>> + Send;
}

/// A device as technicians see it in lists.
#[derive(Debug, Clone, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct DeviceSummary {
    /// Id.
    pub id: i64,
    /// Host name.
    pub hostname: Option<String>,
    /// Serial number.
    pub serial_number: Option<String>,
    /// Agent version at the last check-in.
    pub agent_version: Option<String>,
    /// Overall health at the last check-in.
    pub health: Option<String>,
    /// Last check-in or upload.
    pub last_seen: Option<DateTime<Utc>>,
    /// When it (last) enrolled.
    pub enrolled_at: DateTime<Utc>,
    /// OS name and release from the last inventory.
    pub os_name: Option<String>,
    /// OS version from the last inventory.
    pub os_version: Option<String>,
    /// Last known logged-in users, space-separated.
    pub users: Option<String>,
    /// The device this one likely duplicates (a machine that enrolled
    /// again without its key).
    pub duplicate_of: Option<i64>,
    /// When it was revoked.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// An entry of the desk's event log: something a console shows live.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct EventRow {
    /// Id, increasing: where a reader resumes.
    pub id: i64,
    /// What happened: `ticket.created`, `ticket.updated`, `comment.added`.
    pub kind: String,
    /// The ticket it concerns.
    pub ticket_id: Option<i64>,
    /// Who did it: a technician's e-mail, `device`, absent for the desk.
    pub actor: Option<String>,
    /// When.
    pub at: DateTime<Utc>,
    /// The device it concerns (device events).
    pub device_id: Option<i64>,
    /// What happened, JSON (device events).
    pub detail: Option<String>,
}

/// A technician's saved queue view.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SavedView {
    /// Id.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// The queue's query string (filters and sort).
    pub query: String,
    /// When it was saved.
    pub created_at: DateTime<Utc>,
}

/// A ticket with what technicians work on.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct TicketWork {
    /// The ticket.
    #[sqlx(flatten)]
    pub row: TicketRow,
    /// The device that filed it, or that it is about; none for a
    /// technician's ticket about no machine.
    pub device_id: Option<i64>,
    /// Impact (`low`, `medium`, `high`).
    pub impact: String,
    /// Support tier 1–3.
    #[sqlx(try_from = "i32")]
    pub tier: i64,
    /// Assigned technician.
    pub assignee_id: Option<i64>,
    /// Bumped by every technician change (the `ETag`).
    pub version: i64,
    /// How it reached the desk (`tray`, `phone`, …).
    pub channel: String,
    /// Who asks.
    pub requester_name: Option<String>,
    /// Their e-mail.
    pub requester_email: Option<String>,
    /// The team it is with.
    pub team_id: Option<i64>,
    /// The technician who opened it for the requester.
    pub created_by: Option<i64>,
    /// The problem it is linked to.
    pub problem_id: Option<i64>,
    /// The SLA's most urgent state, as last evaluated.
    pub sla_state: Option<String>,
    /// The earliest due time of its running clocks (Unix seconds).
    pub sla_due_at: Option<i64>,
}

/// An API token, without its hash.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ApiTokenInfo {
    /// Id.
    pub id: i64,
    /// Its user.
    pub user_id: i64,
    /// Its user's e-mail.
    pub email: String,
    /// What it is for.
    pub label: Option<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was revoked.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// An entry to add to the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord<'a> {
    /// Who (absent: the command line on the server).
    pub user_id: Option<i64>,
    /// What: `policy.publish`, `token.revoke`, `user.deactivate`, …
    pub action: &'a str,
    /// What it was done to: `policy:3`, `token:7`, `user:2`, `device:5`.
    pub target: &'a str,
    /// Details as JSON.
    pub detail: &'a str,
}

/// An entry of the audit log.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AuditLogEntry {
    /// Id.
    pub id: i64,
    /// Who.
    pub user_id: Option<i64>,
    /// Who, by e-mail.
    pub email: Option<String>,
    /// What.
    pub action: String,
    /// To what.
    pub target: String,
    /// Details as JSON.
    pub detail: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// One published version of the health-check policy.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PolicyVersion {
    /// Version number.
    pub version: i64,
    /// JSON list of checks.
    #[sqlx(rename = "body")]
    pub checks: String,
    /// When it was published.
    pub created_at: DateTime<Utc>,
    /// Who published it (absent when the user is gone).
    #[sqlx(rename = "email")]
    pub created_by: Option<String>,
}

/// One audit record: (user id, none for the desk itself; action, detail
/// JSON, when).
pub type AuditEntry = (Option<i64>, String, String, DateTime<Utc>);

/// A comment as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CommentRow {
    /// Id.
    pub id: i64,
    /// The technician who wrote it; `None` for the device's employee.
    pub user_id: Option<i64>,
    /// Text.
    pub body: String,
    /// Internal note (never shown to the device).
    pub internal: bool,
    /// When.
    pub created_at: DateTime<Utc>,
    /// A note the desk wrote by itself, JSON ([`deskside_protocol::DeskNote`]).
    pub note: Option<String>,
}

/// A ticket as stored (enums as their snake_case names).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct TicketRow {
    /// Id (the ticket number).
    pub id: i64,
    /// Subject.
    pub subject: String,
    /// Description.
    pub description: String,
    /// Category.
    pub category: String,
    /// Urgency.
    pub urgency: String,
    /// Status.
    pub status: String,
    /// Priority 1–5.
    #[sqlx(try_from = "i32")]
    pub priority: i64,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// `incident` or `service_request`.
    pub ticket_type: String,
    /// When its employee may rate it (a fix being verified).
    pub rating_opens_at: Option<DateTime<Utc>>,
}

/// An attachment as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AttachmentRow {
    /// Id.
    pub id: i64,
    /// File name.
    pub name: String,
    /// Content type.
    pub content_type: String,
    /// Size.
    pub size_bytes: i64,
    /// Key in the blob store.
    pub blob_key: String,
    /// The diagnostics bundle.
    pub diagnostics: bool,
}

/// A ticket to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTicketRow<'a> {
    /// The device filing it.
    pub device_id: i64,
    /// The client's idempotency key.
    pub idempotency_key: &'a str,
    /// Subject.
    pub subject: &'a str,
    /// Description.
    pub description: &'a str,
    /// Category.
    pub category: &'a str,
    /// Urgency.
    pub urgency: &'a str,
    /// Priority 1–5.
    pub priority: i64,
    /// `incident` or `service_request`.
    pub ticket_type: &'a str,
    /// The logged-in user's name, when the agent sent it.
    pub requester_name: Option<&'a str>,
    /// SHA-256 of what was sent (ticket part and files): a key reused
    /// with another payload is refused.
    pub request_hash: &'a str,
    /// Attachments already in the blob store: (name, content type, size,
    /// blob key, diagnostics).
    pub attachments: Vec<(String, String, i64, String, bool)>,
    /// The failing check that opened it, and for how long that check must
    /// be ok before the desk resolves it (seconds).
    pub check: Option<(&'a str, i64)>,
}

/// What a check-in stores.
#[derive(Debug, Clone, PartialEq)]
pub struct Checkin<'a> {
    /// The device.
    pub device_id: i64,
    /// Its agent's version.
    pub agent_version: Option<&'a str>,
    /// Its overall health (`ok`, `warning`, …).
    pub health: Option<&'a str>,
    /// Changed check results: (check id, state, result JSON).
    pub results: Vec<(&'a str, &'a str, String)>,
    /// Metric samples: (taken at, named values; see
    /// [`crate::metric_tiers::series_of`]).
    pub samples: Vec<(DateTime<Utc>, crate::metric_tiers::NamedValues)>,
    /// The ids of every check the device runs now, when it said: the
    /// results of any other check are forgotten. Every id in `results` is
    /// among them.
    pub running_checks: Option<Vec<&'a str>>,
    /// When the check-in arrived.
    pub at: DateTime<Utc>,
}

/// One change of a device's check state.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct TransitionRow {
    /// The check.
    pub check_id: String,
    /// The state before; `None` for the check's first result.
    pub from_state: Option<String>,
    /// The state after.
    pub to_state: String,
    /// When the desk received it.
    pub at: DateTime<Utc>,
}

/// What the fleet overview counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FleetQuery {
    /// Devices not seen since are offline.
    pub offline_before: DateTime<Utc>,
    /// Devices not seen since are listed as not seen recently.
    pub unseen_before: DateTime<Utc>,
    /// The per-day series start on this day.
    pub since: DateTime<Utc>,
}

/// The fleet at a glance: devices that are not revoked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FleetOverview {
    /// Devices by overall health (`unknown` for none reported).
    pub by_health: Vec<(String, i64)>,
    /// Devices offline.
    pub offline: i64,
    /// Devices not seen since `unseen_before`.
    pub unseen: i64,
    /// The longest silent of those, the never seen first: (id, host name,
    /// last seen).
    pub unseen_devices: Vec<(i64, Option<String>, Option<DateTime<Utc>>)>,
    /// Agents by version (empty: not reported), most devices first.
    pub by_agent_version: Vec<(String, i64)>,
    /// The checks failing (warning or critical) on the most devices.
    pub failing_checks: Vec<(String, i64)>,
    /// Tickets filed per UTC day (`YYYY-MM-DD`) since `since`.
    pub tickets_per_day: Vec<(String, i64)>,
    /// Checks that started failing per UTC day since `since`.
    pub failures_per_day: Vec<(String, i64)>,
}

/// A JSON metric sample of an older desk: (row id, device, taken at,
/// JSON).
pub type LegacySample = (i64, i64, DateTime<Utc>, String);

/// A device's stored metrics over a range ([`Store::metric_rows`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetricRows {
    /// Raw samples: (Unix seconds, encoded values).
    pub raw: Vec<(i64, Vec<u8>)>,
    /// Hourly rollups: (hour start, encoded aggregates).
    pub rollups: Vec<(i64, Vec<u8>)>,
}

/// The backend a URL names.
pub enum Backend {
    /// `sqlite:…`
    Sqlite(SqliteStore),
    /// `postgres://…` / `postgresql://…`
    Postgres(PgStore),
}

/// Opens the database `url` names.
pub async fn open(url: &str) -> StoreResult<Backend> {
    if url.starts_with("sqlite:") {
        Ok(Backend::Sqlite(SqliteStore::open(url).await?))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Backend::Postgres(PgStore::open(url).await?))
    } else {
        Err(StoreError::UnsupportedUrl)
    }
}

/// The ticket found for a reused idempotency key, if it was created by the
/// same request (tickets stored before request hashes were kept match).
pub(crate) fn same_request(
    (id, stored): (i64, Option<String>),
    request_hash: &str,
) -> StoreResult<(i64, bool)> {
    match stored {
        Some(h) if h != request_hash => Err(StoreError::KeyReused),
        _ => Ok((id, false)),
    }
}

/// The comment found for a reused idempotency key, if it says the same.
pub(crate) fn same_comment(id: i64, stored: &str, body: &str) -> StoreResult<(i64, bool)> {
    if stored == body {
        Ok((id, false))
    } else {
        Err(StoreError::KeyReused)
    }
}

/// Whether a database error is a unique-constraint violation.
pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .is_some_and(|d| d.is_unique_violation())
}

#[cfg(test)]
mod tests {
    #[test]
    fn e_mail_addresses() {
        for ok in [
            "a@example.com",
            "admin@localhost",
            "first.last+tag@sub.example.org",
        ] {
            assert!(super::is_email(ok), "{ok}");
        }
        for bad in [
            "@",
            "a@",
            "@example.com",
            "a@@b",
            "a b@c.d",
            "a@.com",
            "a@b.",
            "plain",
        ] {
            assert!(!super::is_email(bad), "{bad}");
        }
        assert!(!super::is_email(&format!(
            "{}@example.com",
            "a".repeat(250)
        )));
    }
}
