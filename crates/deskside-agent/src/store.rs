//! The agent's durable local store (SQLite in the state directory, WAL,
//! synchronous writes): the outbox of everything on its way to the desk,
//! dead letters, the employee's tickets with their conversation (readable
//! offline), and small facts such as the enrollment and the last sync.
//!
//! Every outgoing item is committed here before any attempt to send it and
//! deleted only after the desk acknowledged it, so a crash or `kill -9` at
//! any instant loses nothing.

use std::path::Path;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

/// Store failures.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite failed.
    #[error("local store: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A stored document is unreadable.
    #[error("local store: {0}")]
    Json(#[from] serde_json::Error),
    /// The store was written by a newer agent; opening it could lose what
    /// it holds.
    #[error(
        "local store: written by a newer agent (schema version {found}, this agent knows {known}); upgrade the agent"
    )]
    TooNew {
        /// The store's schema version.
        found: i64,
        /// The newest this agent knows.
        known: i64,
    },
}

/// Result of a store call.
pub type StoreResult<T> = Result<T, StoreError>;

/// What an outbox item asks of the desk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A new ticket (with its files).
    Ticket,
    /// A reply on a ticket.
    Comment,
    /// A rating of a resolved ticket.
    Rating,
    /// Reopening a ticket.
    Reopen,
    /// A report begun in the tray, or how it ended (no ticket).
    Report,
}

impl Kind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ticket => "ticket",
            Self::Comment => "comment",
            Self::Rating => "rating",
            Self::Reopen => "reopen",
            Self::Report => "report",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "ticket" => Self::Ticket,
            "comment" => Self::Comment,
            "rating" => Self::Rating,
            "reopen" => Self::Reopen,
            "report" => Self::Report,
            _ => return None,
        })
    }
}

/// A file of an outgoing ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutFile {
    /// `diagnostics` or `attachment`.
    pub part: String,
    /// File name.
    pub name: String,
    /// Content type.
    pub content_type: String,
    /// Content.
    pub bytes: Vec<u8>,
}

/// One item waiting in the outbox.
#[derive(Debug, Clone, PartialEq)]
pub struct OutItem {
    /// Position (delivery order).
    pub id: i64,
    /// What it is.
    pub kind: Kind,
    /// Sent as `Idempotency-Key`: a retry is never a second item.
    pub idempotency_key: String,
    /// The JSON body.
    pub payload: serde_json::Value,
    /// The local ticket it belongs to.
    pub local_ticket: Option<String>,
    /// Attempts so far.
    pub attempts: u32,
    /// Not before this time.
    pub next_attempt_at: DateTime<Utc>,
}

/// An item the desk refused for good.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DeadLetter {
    /// Id.
    pub id: i64,
    /// What it was.
    pub kind: String,
    /// Its key.
    pub idempotency_key: String,
    /// The local ticket it belonged to.
    pub local_ticket: Option<String>,
    /// The desk's status code.
    pub status: u16,
    /// The desk's error.
    pub error: String,
    /// When it was refused.
    pub failed_at: DateTime<Utc>,
}

/// Where a ticket is on its way to the desk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    /// Safely stored here, not sent yet.
    Queued,
    /// Sent at least once; no answer yet.
    Sent,
    /// The desk has it (it has a server number).
    Acknowledged,
    /// The desk refused it for good (see the dead letters).
    Rejected,
}

impl Delivery {
    fn parse(s: &str) -> Self {
        match s {
            "sent" => Self::Sent,
            "acknowledged" => Self::Acknowledged,
            "rejected" => Self::Rejected,
            _ => Self::Queued,
        }
    }
}

/// A ticket as the agent knows it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LocalTicket {
    /// The agent's id, known at once (also offline).
    pub local_id: String,
    /// The desk's number once acknowledged.
    pub server_id: Option<i64>,
    /// Delivery state.
    pub delivery: Delivery,
    /// Subject.
    pub subject: String,
    /// The desk's status (`new` until the desk says otherwise).
    pub status: String,
    /// Created here.
    pub created_at: DateTime<Utc>,
    /// Last change seen.
    pub updated_at: DateTime<Utc>,
    /// Technician replies not read yet.
    pub unread: u32,
    /// The ticket as the desk last sent it (conversation included).
    pub server: Option<deskside_protocol::Ticket>,
    /// What the desk refused for good about this ticket (a rating, a
    /// reopen, a reply), with its reason; filled for a single ticket.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub refused: Vec<DeadLetter>,
}

/// Schema versions, in order: the store's `PRAGMA user_version` says how
/// many have run. Each runs in its own transaction; a new one is appended,
/// never edited, so that stores of every earlier agent upgrade (with their
/// queued tickets) to this one. Version 1 is the schema agents wrote before
/// versions were kept, so `IF NOT EXISTS` adopts those stores as they are.
const MIGRATIONS: &[&str] = &[SCHEMA_V1];

const SCHEMA_V1: &str = "
CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    kind            TEXT    NOT NULL,
    idempotency_key TEXT    NOT NULL UNIQUE,
    payload         TEXT    NOT NULL,
    local_ticket    TEXT,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT    NOT NULL,
    last_error      TEXT,
    created_at      TEXT    NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox_files (
    outbox_id    INTEGER NOT NULL REFERENCES outbox(id) ON DELETE CASCADE,
    seq          INTEGER NOT NULL,
    part         TEXT    NOT NULL,
    name         TEXT    NOT NULL,
    content_type TEXT    NOT NULL,
    bytes        BLOB    NOT NULL,
    PRIMARY KEY (outbox_id, seq)
);
CREATE TABLE IF NOT EXISTS dead_letters (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    kind            TEXT    NOT NULL,
    idempotency_key TEXT    NOT NULL,
    payload         TEXT    NOT NULL,
    local_ticket    TEXT,
    status          INTEGER NOT NULL,
    error           TEXT    NOT NULL,
    failed_at       TEXT    NOT NULL
);
CREATE TABLE IF NOT EXISTS tickets (
    local_id    TEXT PRIMARY KEY,
    server_id   INTEGER UNIQUE,
    delivery    TEXT    NOT NULL,
    subject     TEXT    NOT NULL,
    status      TEXT    NOT NULL,
    created_at  TEXT    NOT NULL,
    updated_at  TEXT    NOT NULL,
    unread      INTEGER NOT NULL DEFAULT 0,
    server_json TEXT
);
CREATE TABLE IF NOT EXISTS metric_history (
    at     TEXT PRIMARY KEY,
    sample TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS inventory_changes (
    id   INTEGER PRIMARY KEY AUTOINCREMENT,
    at   TEXT NOT NULL,
    diff TEXT NOT NULL
);
";

/// A timestamp as stored where SQL compares them: fixed width, so text
/// order is time order.
fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
}

const KEY_INVENTORY_SNAPSHOT: &str = "inventory_snapshot";
const KEY_INVENTORY_SNAPSHOT_HASH: &str = "inventory_snapshot_hash";

/// How long inventory changes are kept on the device.
pub const INVENTORY_CHANGES_KEPT: chrono::TimeDelta = chrono::TimeDelta::days(30);

/// The agent's local database.
#[derive(Debug)]
pub struct AgentStore {
    conn: Connection,
}

fn ts(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .map(|d| d.with_timezone(&Utc))
        .unwrap_or_default()
}

impl AgentStore {
    /// Opens (creating when missing) `agent.db` in `dir`.
    pub fn open(dir: &Path) -> StoreResult<Self> {
        let path = dir.join("agent.db");
        let conn = Connection::open(&path)?;
        // Only the agent's user reads what employees filed.
        if let Err(e) = crate::private_fs::private_database(&path) {
            tracing::warn!("cannot make {} private: {e}", path.display());
        }
        // Durable before fast: a committed item must survive power loss.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        let mut store = Self { conn };
        store.migrate()?;
        Ok(store)
    }

    /// Opens an existing store without writing to it (not even the WAL
    /// index), for a state directory on a read-only file system.
    pub fn open_read_only(dir: &Path) -> StoreResult<Self> {
        let path = dir.join("agent.db");
        if !path.exists() {
            return Err(StoreError::Sqlite(rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CANTOPEN),
                Some(format!("{} does not exist", path.display())),
            )));
        }
        let uri = format!("file:{}?immutable=1", path.display());
        let conn = Connection::open_with_flags(
            uri,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_URI,
        )?;
        Ok(Self { conn })
    }

    /// Brings the schema up to date, one version per transaction.
    fn migrate(&mut self) -> StoreResult<()> {
        let known = i64::try_from(MIGRATIONS.len()).unwrap_or(i64::MAX);
        let found: i64 = self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if found > known {
            return Err(StoreError::TooNew { found, known });
        }
        for (i, sql) in MIGRATIONS
            .iter()
            .enumerate()
            .skip(usize::try_from(found).unwrap_or(0))
        {
            let tx = self.conn.transaction()?;
            tx.execute_batch(sql)?;
            // PRAGMA takes no parameters; `i` is a small index.
            tx.execute_batch(&format!("PRAGMA user_version = {}", i + 1))?;
            tx.commit()?;
        }
        Ok(())
    }

    /// The schema version of the store.
    pub fn schema_version(&self) -> StoreResult<i64> {
        Ok(self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))?)
    }

    /// A small fact.
    pub fn get(&self, key: &str) -> StoreResult<Option<String>> {
        Ok(self
            .conn
            .query_row("SELECT value FROM kv WHERE key = ?1", [key], |r| r.get(0))
            .optional()?)
    }

    /// Sets (or with `None` removes) a small fact.
    pub fn set(&self, key: &str, value: Option<&str>) -> StoreResult<()> {
        match value {
            Some(v) => self.conn.execute(
                "INSERT INTO kv (key, value) VALUES (?1, ?2) \
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                params![key, v],
            )?,
            None => self.conn.execute("DELETE FROM kv WHERE key = ?1", [key])?,
        };
        Ok(())
    }

    /// Queues a new ticket and its outbox item in one transaction.
    pub fn queue_ticket(
        &mut self,
        local_id: &str,
        subject: &str,
        payload: &serde_json::Value,
        files: &[OutFile],
    ) -> StoreResult<()> {
        let now = Utc::now().to_rfc3339();
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO tickets (local_id, delivery, subject, status, created_at, updated_at) \
             VALUES (?1, 'queued', ?2, 'new', ?3, ?3)",
            params![local_id, subject, now],
        )?;
        tx.execute(
            "INSERT INTO outbox (kind, idempotency_key, payload, local_ticket, next_attempt_at, created_at) \
             VALUES ('ticket', ?1, ?2, ?1, ?3, ?3)",
            params![local_id, payload.to_string(), now],
        )?;
        let id = tx.last_insert_rowid();
        for (seq, f) in files.iter().enumerate() {
            tx.execute(
                "INSERT INTO outbox_files (outbox_id, seq, part, name, content_type, bytes) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![id, seq, f.part, f.name, f.content_type, f.bytes],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Queues an item about an existing ticket.
    pub fn queue(
        &self,
        kind: Kind,
        key: &str,
        local_ticket: &str,
        payload: &serde_json::Value,
    ) -> StoreResult<()> {
        let now = Utc::now().to_rfc3339();
        self.conn.execute(
            "INSERT INTO outbox (kind, idempotency_key, payload, local_ticket, next_attempt_at, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
            params![kind.as_str(), key, payload.to_string(), local_ticket, now],
        )?;
        Ok(())
    }

    /// Queues a tray report's record (about no ticket); a second record
    /// with the same key is the same record.
    pub fn queue_report(&self, key: &str, payload: &serde_json::Value) -> StoreResult<()> {
        let now = Utc::now().to_rfc3339();
        self.conn.execute(
            "INSERT INTO outbox (kind, idempotency_key, payload, local_ticket, next_attempt_at, created_at) \
             VALUES ('report', ?1, ?2, NULL, ?3, ?3) ON CONFLICT (idempotency_key) DO NOTHING",
            params![key, payload.to_string(), now],
        )?;
        Ok(())
    }

    /// Whether an item of `kind` about `local_ticket` waits in the outbox.
    pub fn queued_for(&self, local_ticket: &str, kind: Kind) -> StoreResult<bool> {
        Ok(self.conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM outbox WHERE local_ticket = ?1 AND kind = ?2)",
            params![local_ticket, kind.as_str()],
            |r| r.get(0),
        )?)
    }

    /// Every waiting item in delivery order.
    pub fn pending(&self) -> StoreResult<Vec<OutItem>> {
        let mut stmt = self.conn.prepare(
            "SELECT id, kind, idempotency_key, payload, local_ticket, attempts, next_attempt_at \
             FROM outbox ORDER BY id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, Option<String>>(4)?,
                r.get::<_, u32>(5)?,
                r.get::<_, String>(6)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, kind, key, payload, local_ticket, attempts, next) = row?;
            let Some(kind) = Kind::parse(&kind) else {
                continue;
            };
            out.push(OutItem {
                id,
                kind,
                idempotency_key: key,
                payload: serde_json::from_str(&payload)?,
                local_ticket,
                attempts,
                next_attempt_at: ts(&next),
            });
        }
        Ok(out)
    }

    /// The files of a ticket item.
    pub fn files(&self, outbox_id: i64) -> StoreResult<Vec<OutFile>> {
        let mut stmt = self.conn.prepare(
            "SELECT part, name, content_type, bytes FROM outbox_files WHERE outbox_id = ?1 ORDER BY seq",
        )?;
        let rows = stmt.query_map([outbox_id], |r| {
            Ok(OutFile {
                part: r.get(0)?,
                name: r.get(1)?,
                content_type: r.get(2)?,
                bytes: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Records a failed attempt: try again at `next`.
    pub fn retry_later(&self, id: i64, next: DateTime<Utc>, error: &str) -> StoreResult<()> {
        self.conn.execute(
            "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?2, last_error = ?3 WHERE id = ?1",
            params![id, next.to_rfc3339(), error],
        )?;
        Ok(())
    }

    /// Marks a ticket as sent (an attempt began).
    pub fn mark_sent(&self, local_id: &str) -> StoreResult<()> {
        self.conn.execute(
            "UPDATE tickets SET delivery = 'sent' WHERE local_id = ?1 AND delivery = 'queued'",
            [local_id],
        )?;
        Ok(())
    }

    /// The desk acknowledged a ticket: it gets its number and the desk's
    /// copy, and its outbox item goes, in one transaction.
    pub fn acknowledge_ticket(
        &mut self,
        outbox_id: i64,
        local_id: &str,
        ticket: &deskside_protocol::Ticket,
    ) -> StoreResult<()> {
        let tx = self.conn.transaction()?;
        // A check-in may have brought this ticket before its acknowledgement
        // did (the answer to the submission was lost): that record, kept
        // under its number, becomes this one.
        let placeholder_unread: u32 = tx
            .query_row(
                "DELETE FROM tickets WHERE server_id = ?1 AND local_id <> ?2 RETURNING unread",
                params![ticket.id, local_id],
                |r| r.get(0),
            )
            .optional()?
            .unwrap_or(0);
        tx.execute(
            "UPDATE tickets SET server_id = ?2, delivery = 'acknowledged', status = ?3, \
             updated_at = ?4, server_json = ?5, unread = unread + ?6 WHERE local_id = ?1",
            params![
                local_id,
                ticket.id,
                serde_json::to_value(ticket.status)?
                    .as_str()
                    .unwrap_or("new"),
                ticket.updated_at.to_rfc3339(),
                serde_json::to_string(ticket)?,
                placeholder_unread
            ],
        )?;
        tx.execute("DELETE FROM outbox WHERE id = ?1", [outbox_id])?;
        tx.commit()?;
        Ok(())
    }

    /// The desk acknowledged an item.
    pub fn delivered(&self, outbox_id: i64) -> StoreResult<()> {
        self.conn
            .execute("DELETE FROM outbox WHERE id = ?1", [outbox_id])?;
        Ok(())
    }

    /// The desk refused an item for good: it moves to the dead letters (and
    /// a refused ticket says so), in one transaction.
    pub fn dead_letter(&mut self, item: &OutItem, status: u16, error: &str) -> StoreResult<()> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO dead_letters (kind, idempotency_key, payload, local_ticket, status, error, failed_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                item.kind.as_str(),
                item.idempotency_key,
                item.payload.to_string(),
                item.local_ticket,
                status,
                error,
                Utc::now().to_rfc3339()
            ],
        )?;
        if item.kind == Kind::Ticket {
            tx.execute(
                "UPDATE tickets SET delivery = 'rejected' WHERE local_id = ?1",
                [&item.local_ticket],
            )?;
        }
        tx.execute("DELETE FROM outbox WHERE id = ?1", [item.id])?;
        tx.commit()?;
        Ok(())
    }

    /// Items refused for good, newest first.
    pub fn dead_letters(&self) -> StoreResult<Vec<DeadLetter>> {
        self.dead_letters_where("1 = 1", None)
    }

    /// Items about `local_ticket` the desk refused for good, newest first.
    pub fn dead_letters_for(&self, local_ticket: &str) -> StoreResult<Vec<DeadLetter>> {
        self.dead_letters_where("local_ticket = ?1", Some(local_ticket))
    }

    fn dead_letters_where(&self, filter: &str, arg: Option<&str>) -> StoreResult<Vec<DeadLetter>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT id, kind, idempotency_key, local_ticket, status, error, failed_at \
             FROM dead_letters WHERE {filter} ORDER BY id DESC"
        ))?;
        let params: Vec<&dyn rusqlite::ToSql> = match &arg {
            Some(a) => vec![a],
            None => Vec::new(),
        };
        let rows = stmt.query_map(params.as_slice(), |r| {
            Ok(DeadLetter {
                id: r.get(0)?,
                kind: r.get(1)?,
                idempotency_key: r.get(2)?,
                local_ticket: r.get(3)?,
                status: r.get(4)?,
                error: r.get(5)?,
                failed_at: ts(&r.get::<_, String>(6)?),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Items waiting.
    pub fn outbox_depth(&self) -> StoreResult<u64> {
        Ok(self
            .conn
            .query_row("SELECT COUNT(*) FROM outbox", [], |r| r.get(0))?)
    }

    /// The server number of a local ticket, once acknowledged.
    pub fn server_id(&self, local_id: &str) -> StoreResult<Option<i64>> {
        Ok(self
            .conn
            .query_row(
                "SELECT server_id FROM tickets WHERE local_id = ?1",
                [local_id],
                |r| r.get::<_, Option<i64>>(0),
            )
            .optional()?
            .flatten())
    }

    /// Stores the desk's copy of a ticket (from a check-in or a fetch);
    /// returns how many technician replies are new to the agent and whether
    /// the status changed.
    pub fn merge_server_ticket(
        &self,
        ticket: &deskside_protocol::Ticket,
    ) -> StoreResult<(u32, Option<String>)> {
        let old: Option<(Option<String>, String)> = self
            .conn
            .query_row(
                "SELECT server_json, status FROM tickets WHERE server_id = ?1",
                [ticket.id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let technician = |t: &deskside_protocol::Ticket| {
            t.comments
                .iter()
                .filter(|c| c.author == deskside_protocol::CommentAuthor::Technician)
                .map(|c| c.id)
                .collect::<std::collections::HashSet<_>>()
        };
        let status = serde_json::to_value(ticket.status)?
            .as_str()
            .unwrap_or("new")
            .to_owned();
        let json = serde_json::to_string(ticket)?;
        match old {
            None => {
                // A ticket this agent did not file (or whose local record
                // was lost): keep it, keyed by its number.
                let local_id = format!("desk-{}", ticket.id);
                let unread = u32::try_from(technician(ticket).len()).unwrap_or(u32::MAX);
                self.conn.execute(
                    "INSERT OR IGNORE INTO tickets (local_id, server_id, delivery, subject, status, \
                     created_at, updated_at, unread, server_json) VALUES (?1, ?2, 'acknowledged', ?3, ?4, ?5, ?6, ?7, ?8)",
                    params![
                        local_id,
                        ticket.id,
                        ticket.subject,
                        status,
                        ticket.created_at.to_rfc3339(),
                        ticket.updated_at.to_rfc3339(),
                        unread,
                        json
                    ],
                )?;
                Ok((unread, None))
            }
            Some((old_json, old_status)) => {
                let seen = old_json
                    .and_then(|j| serde_json::from_str::<deskside_protocol::Ticket>(&j).ok())
                    .map(|t| technician(&t))
                    .unwrap_or_default();
                let new =
                    u32::try_from(technician(ticket).difference(&seen).count()).unwrap_or(u32::MAX);
                self.conn.execute(
                    "UPDATE tickets SET status = ?2, updated_at = ?3, server_json = ?4, \
                     unread = unread + ?5 WHERE server_id = ?1",
                    params![ticket.id, status, ticket.updated_at.to_rfc3339(), json, new],
                )?;
                Ok((new, (old_status != status).then_some(status)))
            }
        }
    }

    /// Keeps metric samples for diagnostics bundles (those already kept are
    /// skipped) and forgets those older than `keep`.
    pub fn record_metrics(
        &mut self,
        samples: &[deskside_protocol::MetricSample],
        keep: chrono::TimeDelta,
    ) -> StoreResult<()> {
        let tx = self.conn.transaction()?;
        for s in samples {
            let json = serde_json::to_string(s).map_err(StoreError::Json)?;
            tx.execute(
                "INSERT OR IGNORE INTO metric_history (at, sample) VALUES (?1, ?2)",
                params![stamp(s.timestamp), json],
            )?;
        }
        tx.execute(
            "DELETE FROM metric_history WHERE at < ?1",
            [stamp(Utc::now() - keep)],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// The newest kept sample's time.
    pub fn last_metric_at(&self) -> StoreResult<Option<DateTime<Utc>>> {
        let at: Option<String> =
            self.conn
                .query_row("SELECT MAX(at) FROM metric_history", [], |r| r.get(0))?;
        Ok(at.as_deref().map(ts))
    }

    /// Kept metric samples taken after `since`, oldest first.
    pub fn metric_history(
        &self,
        since: DateTime<Utc>,
    ) -> StoreResult<Vec<deskside_protocol::MetricSample>> {
        let mut stmt = self
            .conn
            .prepare("SELECT sample FROM metric_history WHERE at > ?1 ORDER BY at")?;
        let rows = stmt
            .query_map([stamp(since)], |r| r.get::<_, String>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        // A sample an older agent wrote in another shape is skipped.
        Ok(rows
            .iter()
            .filter_map(|j| serde_json::from_str(j).ok())
            .collect())
    }

    /// Compares `inv` with the inventory seen last and keeps what changed
    /// (for "software changes of the last 7 days" in diagnostics). The first
    /// inventory is the baseline.
    pub fn record_inventory(&mut self, inv: &deskside_protocol::Inventory) -> StoreResult<()> {
        let hash = deskside_protocol::inventory_hash(inv);
        if self.get(KEY_INVENTORY_SNAPSHOT_HASH)?.as_deref() == Some(hash.as_str()) {
            return Ok(());
        }
        let previous: Option<deskside_protocol::Inventory> = self
            .get(KEY_INVENTORY_SNAPSHOT)?
            .and_then(|j| serde_json::from_str(&j).ok());
        let snapshot = serde_json::to_string(inv).map_err(StoreError::Json)?;
        let now = Utc::now();
        let tx = self.conn.transaction()?;
        if let Some(old) = previous {
            let diff = deskside_protocol::diff_inventories(&old, inv);
            if !diff.is_empty() {
                let json = serde_json::to_string(&diff).map_err(StoreError::Json)?;
                tx.execute(
                    "INSERT INTO inventory_changes (at, diff) VALUES (?1, ?2)",
                    params![stamp(now), json],
                )?;
            }
        }
        for (k, v) in [
            (KEY_INVENTORY_SNAPSHOT, snapshot.as_str()),
            (KEY_INVENTORY_SNAPSHOT_HASH, hash.as_str()),
        ] {
            tx.execute(
                "INSERT INTO kv (key, value) VALUES (?1, ?2) \
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                params![k, v],
            )?;
        }
        tx.execute(
            "DELETE FROM inventory_changes WHERE at < ?1",
            [stamp(now - INVENTORY_CHANGES_KEPT)],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Inventory changes seen after `since`, oldest first.
    pub fn inventory_changes(
        &self,
        since: DateTime<Utc>,
    ) -> StoreResult<Vec<(DateTime<Utc>, deskside_protocol::InventoryDiff)>> {
        let mut stmt = self
            .conn
            .prepare("SELECT at, diff FROM inventory_changes WHERE at > ?1 ORDER BY id")?;
        let rows = stmt
            .query_map([stamp(since)], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows
            .iter()
            .filter_map(|(at, j)| Some((ts(at), serde_json::from_str(j).ok()?)))
            .collect())
    }

    /// Marks a ticket's replies as read.
    pub fn mark_read(&self, local_id: &str) -> StoreResult<()> {
        self.conn.execute(
            "UPDATE tickets SET unread = 0 WHERE local_id = ?1",
            [local_id],
        )?;
        Ok(())
    }

    /// Every ticket, newest first.
    pub fn tickets(&self) -> StoreResult<Vec<LocalTicket>> {
        self.ticket_rows("1 = 1", None)
    }

    /// One ticket, by local id or server number.
    pub fn ticket(&self, id: &str) -> StoreResult<Option<LocalTicket>> {
        let server: Option<i64> = id.trim_start_matches('#').parse().ok();
        let Some(mut t) = self
            .ticket_rows("local_id = ?1 OR server_id = ?2", Some((id, server)))?
            .into_iter()
            .next()
        else {
            return Ok(None);
        };
        t.refused = self.dead_letters_for(&t.local_id)?;
        Ok(Some(t))
    }

    fn ticket_rows(
        &self,
        filter: &str,
        args: Option<(&str, Option<i64>)>,
    ) -> StoreResult<Vec<LocalTicket>> {
        let sql = format!(
            "SELECT local_id, server_id, delivery, subject, status, created_at, updated_at, unread, server_json \
             FROM tickets WHERE {filter} ORDER BY created_at DESC, local_id DESC"
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let map = |r: &rusqlite::Row<'_>| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, Option<i64>>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, String>(6)?,
                r.get::<_, u32>(7)?,
                r.get::<_, Option<String>>(8)?,
            ))
        };
        let rows: Vec<_> = match args {
            Some((id, server)) => stmt
                .query_map(params![id, server], map)?
                .collect::<Result<_, _>>()?,
            None => stmt.query_map([], map)?.collect::<Result<_, _>>()?,
        };
        rows.into_iter()
            .map(
                |(local_id, server_id, delivery, subject, status, c, u, unread, json)| {
                    Ok(LocalTicket {
                        local_id,
                        server_id,
                        delivery: Delivery::parse(&delivery),
                        subject,
                        status,
                        created_at: ts(&c),
                        updated_at: ts(&u),
                        unread,
                        server: json.map(|j| serde_json::from_str(&j)).transpose()?,
                        refused: Vec::new(),
                    })
                },
            )
            .collect()
    }
}

#[cfg(test)]
mod migration_tests {
    use super::*;

    /// A store as agents wrote it before schema versions (user_version 0),
    /// with a ticket waiting in the outbox: an upgraded agent opens it and
    /// the ticket is still there to deliver.
    #[test]
    fn a_store_of_an_earlier_agent_upgrades_with_its_queue() {
        let dir = tempfile::tempdir().unwrap();
        {
            let conn = Connection::open(dir.path().join("agent.db")).unwrap();
            conn.execute_batch(SCHEMA_V1).unwrap();
            conn.execute(
                "INSERT INTO outbox (kind, idempotency_key, payload, local_ticket, next_attempt_at, created_at) \
                 VALUES ('ticket', 'key-1', '{}', 'local-1', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')",
                [],
            )
            .unwrap();
            let v: i64 = conn
                .query_row("PRAGMA user_version", [], |r| r.get(0))
                .unwrap();
            assert_eq!(v, 0);
        }
        let store = AgentStore::open(dir.path()).unwrap();
        assert_eq!(store.schema_version().unwrap(), MIGRATIONS.len() as i64);
        assert_eq!(
            store.outbox_depth().unwrap(),
            1,
            "the queued ticket survived"
        );
        drop(store);
        // Opening again runs nothing twice.
        let store = AgentStore::open(dir.path()).unwrap();
        assert_eq!(store.outbox_depth().unwrap(), 1);
    }

    #[test]
    fn a_store_of_a_newer_agent_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        {
            let conn = Connection::open(dir.path().join("agent.db")).unwrap();
            conn.execute_batch("PRAGMA user_version = 99").unwrap();
        }
        let err = AgentStore::open(dir.path()).unwrap_err();
        assert!(matches!(err, StoreError::TooNew { found: 99, .. }), "{err}");
        assert!(err.to_string().contains("newer agent"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ticket(id: i64, replies: &[(i64, bool)]) -> deskside_protocol::Ticket {
        serde_json::from_value(serde_json::json!({
            "id": id, "subject": "s", "description": "", "category": "other", "urgency": "low",
            "status": "open", "priority": 4, "created_at": Utc::now(), "updated_at": Utc::now(),
            "comments": replies.iter().map(|(cid, tech)| serde_json::json!({
                "id": cid, "author": if *tech { "technician" } else { "employee" },
                "body": "b", "created_at": Utc::now()})).collect::<Vec<_>>(),
        }))
        .unwrap()
    }

    #[test]
    fn an_item_lives_until_acknowledged_and_survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = AgentStore::open(dir.path()).unwrap();
        let file = OutFile {
            part: "attachment".into(),
            name: "a.png".into(),
            content_type: "image/png".into(),
            bytes: vec![1, 2, 3],
        };
        s.queue_ticket(
            "t1",
            "Printer",
            &serde_json::json!({"subject": "Printer"}),
            std::slice::from_ref(&file),
        )
        .unwrap();
        drop(s);
        let mut s = AgentStore::open(dir.path()).unwrap();
        let items = s.pending().unwrap();
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].kind, Kind::Ticket);
        assert_eq!(s.files(items[0].id).unwrap(), [file]);
        assert_eq!(s.ticket("t1").unwrap().unwrap().delivery, Delivery::Queued);
        s.mark_sent("t1").unwrap();
        s.acknowledge_ticket(items[0].id, "t1", &ticket(42, &[]))
            .unwrap();
        assert_eq!(s.outbox_depth().unwrap(), 0);
        assert!(
            s.files(items[0].id).unwrap().is_empty(),
            "files go with the item"
        );
        let t = s.ticket("#42").unwrap().unwrap();
        assert_eq!(
            (t.local_id.as_str(), t.delivery),
            ("t1", Delivery::Acknowledged)
        );
    }

    #[test]
    fn replies_count_once_and_dead_letters_keep_the_item() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = AgentStore::open(dir.path()).unwrap();
        s.queue_ticket("t1", "VPN", &serde_json::json!({}), &[])
            .unwrap();
        let item = s.pending().unwrap().remove(0);
        s.acknowledge_ticket(item.id, "t1", &ticket(7, &[]))
            .unwrap();
        let (new, status) = s
            .merge_server_ticket(&ticket(7, &[(1, true), (2, false)]))
            .unwrap();
        assert_eq!((new, status), (1, None));
        let (new, _) = s
            .merge_server_ticket(&ticket(7, &[(1, true), (2, false)]))
            .unwrap();
        assert_eq!(new, 0, "the same reply is not news twice");
        assert_eq!(s.ticket("t1").unwrap().unwrap().unread, 1);
        s.mark_read("t1").unwrap();
        assert_eq!(s.ticket("t1").unwrap().unwrap().unread, 0);

        s.queue(Kind::Comment, "c1", "t1", &serde_json::json!({"body": ""}))
            .unwrap();
        let item = s.pending().unwrap().remove(0);
        s.dead_letter(&item, 422, "a comment must be 1 to 10000 characters")
            .unwrap();
        assert_eq!(s.outbox_depth().unwrap(), 0);
        let dead = s.dead_letters().unwrap();
        assert_eq!((dead[0].kind.as_str(), dead[0].status), ("comment", 422));
    }

    #[test]
    fn inventory_changes_and_metric_history_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = AgentStore::open(dir.path()).unwrap();
        let inv = |pkgs: serde_json::Value| -> deskside_protocol::Inventory {
            serde_json::from_value(serde_json::json!({
                "collected_at": "2026-01-01T00:00:00Z",
                "device": {"hostname": "pc1"},
                "os": {"name": "Debian GNU/Linux"},
                "hardware": {},
                "software": pkgs,
            }))
            .unwrap()
        };
        let before = Utc::now() - chrono::TimeDelta::seconds(1);
        let v1 = inv(serde_json::json!([{"name": "curl", "source": "dpkg", "version": "7.88"}]));
        store.record_inventory(&v1).unwrap();
        // The first inventory is the baseline; the same one again is no change.
        store.record_inventory(&v1).unwrap();
        assert!(store.inventory_changes(before).unwrap().is_empty());
        let v2 = inv(serde_json::json!([
            {"name": "curl", "source": "dpkg", "version": "8.1"},
            {"name": "zoom", "source": "dpkg", "version": "6.0"}
        ]));
        store.record_inventory(&v2).unwrap();
        let changes = store.inventory_changes(before).unwrap();
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].1.software_added[0].name, "zoom");
        assert_eq!(
            changes[0].1.software_changed[0].new_version.as_deref(),
            Some("8.1")
        );
        assert!(store.inventory_changes(Utc::now()).unwrap().is_empty());

        let sample = |age_min: i64| -> deskside_protocol::MetricSample {
            serde_json::from_value(serde_json::json!({
                "timestamp": Utc::now() - chrono::TimeDelta::minutes(age_min)
            }))
            .unwrap()
        };
        let hour = chrono::TimeDelta::minutes(60);
        store
            .record_metrics(&[sample(90), sample(30), sample(1)], hour)
            .unwrap();
        // Recording the same sample twice keeps it once.
        let again = store
            .metric_history(Utc::now() - chrono::TimeDelta::minutes(2))
            .unwrap();
        store.record_metrics(&again, hour).unwrap();
        let kept = store
            .metric_history(Utc::now() - chrono::TimeDelta::days(1))
            .unwrap();
        assert_eq!(kept.len(), 2, "the 90-minute-old sample is pruned");
        assert!(kept[0].timestamp < kept[1].timestamp);
        assert_eq!(store.last_metric_at().unwrap(), Some(kept[1].timestamp));
    }
}
