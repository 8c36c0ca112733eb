//! Webhooks: subscriptions an administrator makes, the events they name,
//! what each delivery carries, and the delivery log. Deliveries are
//! signed (see docs/API.md or the README: `Deskside-Signature`).

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What a webhook can be told about.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
pub enum WebhookEvent {
    /// A ticket was filed or opened.
    #[serde(rename = "ticket.created")]
    TicketCreated,
    /// A ticket changed (fields, a reply, a note).
    #[serde(rename = "ticket.updated")]
    TicketUpdated,
    /// A ticket was resolved.
    #[serde(rename = "ticket.resolved")]
    TicketResolved,
    /// An SLA clock passed its warning share.
    #[serde(rename = "sla.warning")]
    SlaWarning,
    /// An SLA clock passed its target.
    #[serde(rename = "sla.breach")]
    SlaBreach,
    /// A device's health check started failing (warning or critical,
    /// after its `fails_before_alert`).
    #[serde(rename = "check.failing")]
    CheckFailing,
    /// A failing check is ok again.
    #[serde(rename = "check.recovered")]
    CheckRecovered,
    /// A device enrolled for the first time.
    #[serde(rename = "device.enrolled")]
    DeviceEnrolled,
    /// The desk proposes a problem: several devices' incidents follow the
    /// same software change.
    #[serde(rename = "problem.candidate")]
    ProblemCandidate,
}

impl WebhookEvent {
    /// Every event, in the order they are listed.
    pub const ALL: [Self; 9] = [
        Self::TicketCreated,
        Self::TicketUpdated,
        Self::TicketResolved,
        Self::SlaWarning,
        Self::SlaBreach,
        Self::CheckFailing,
        Self::CheckRecovered,
        Self::DeviceEnrolled,
        Self::ProblemCandidate,
    ];

    /// Its name on the wire (`ticket.created`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TicketCreated => "ticket.created",
            Self::TicketUpdated => "ticket.updated",
            Self::TicketResolved => "ticket.resolved",
            Self::SlaWarning => "sla.warning",
            Self::SlaBreach => "sla.breach",
            Self::CheckFailing => "check.failing",
            Self::CheckRecovered => "check.recovered",
            Self::DeviceEnrolled => "device.enrolled",
            Self::ProblemCandidate => "problem.candidate",
        }
    }

    /// The event of a name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.as_str() == s)
    }
}

/// A subscription, as listed (its secret is shown once, at creation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Webhook {
    /// Id.
    pub id: i64,
    /// Where deliveries are sent (`https://…`).
    pub url: String,
    /// What it is told about.
    pub events: Vec<WebhookEvent>,
    /// Paused subscriptions get no new deliveries.
    pub active: bool,
    /// When it was made.
    pub created_at: DateTime<Utc>,
}

/// `POST /api/v1/webhooks` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookInput {
    /// Where to send deliveries: `http` or `https`, at most 2,000
    /// characters, on a network the desk may send to.
    pub url: String,
    /// At least one event.
    pub events: Vec<WebhookEvent>,
}

/// `PATCH /api/v1/webhooks/{id}` body: what changes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookPatch {
    /// A new address.
    pub url: Option<String>,
    /// New events (at least one).
    pub events: Option<Vec<WebhookEvent>>,
    /// Pause (`false`) or resume (`true`).
    pub active: Option<bool>,
}

/// `POST /api/v1/webhooks` answer: the subscription and its signing
/// secret, shown this once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct WebhookCreated {
    /// The subscription.
    pub webhook: Webhook,
    /// The HMAC-SHA256 key of its signatures (`whsec_…`).
    pub secret: String,
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Waiting for its (next) attempt.
    Pending,
    /// The receiver answered 2xx.
    Delivered,
    /// Given up on after 24 hours of attempts (redeliver to try again).
    Failed,
}

/// One event sent to one subscription, with its attempts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct WebhookDelivery {
    /// Id.
    pub id: i64,
    /// The event's id: the `Deskside-Delivery` header and the payload's
    /// `id`, the same on every attempt (receivers drop duplicates by it).
    pub event_id: i64,
    /// The event.
    pub event: WebhookEvent,
    /// Where it stands.
    pub state: DeliveryState,
    /// Attempts so far.
    pub attempts: i64,
    /// The receiver's last HTTP status, if it answered.
    pub last_status: Option<i64>,
    /// Why the last attempt failed, if it did.
    pub last_error: Option<String>,
    /// The next attempt, while pending.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// When the event happened.
    pub created_at: DateTime<Utc>,
    /// When the receiver took it.
    pub delivered_at: Option<DateTime<Utc>>,
}

/// What a delivery's body holds (`version` 1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct WebhookPayload {
    /// The payload's format: 1.
    pub version: u32,
    /// The event's id (as `Deskside-Delivery`).
    pub id: i64,
    /// The event.
    pub event: WebhookEvent,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// What it is about: `ticket` (id, subject, status, priority, type,
    /// team, assignee, requester, SLA state and due time), or `device`
    /// (id, host name) with `check` (id, state, summary) for check events.
    pub data: serde_json::Value,
}
