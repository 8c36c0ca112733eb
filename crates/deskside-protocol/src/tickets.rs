//! Tickets as devices create and read them.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What the problem is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TicketCategory {
    /// Hardware.
    Hardware,
    /// Software.
    Software,
    /// Network.
    Network,
    /// Account or password.
    Account,
    /// Printer.
    Printer,
    /// Anything else.
    #[serde(other)]
    Other,
}

/// How much the problem hurts the employee's work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    /// "It's an annoyance."
    Low,
    /// "It slows me down."
    Medium,
    /// "I can't work."
    High,
}

/// Where a ticket stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TicketStatus {
    /// Not looked at yet.
    New,
    /// Being worked on.
    Open,
    /// Waiting for the employee or a third party.
    Pending,
    /// Solved.
    Resolved,
    /// Closed for good.
    Closed,
}

/// The `ticket` part of `POST /api/v1/agent/tickets` (multipart, beside an
/// optional `diagnostics` part and `attachment` parts).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct NewTicket {
    /// One line.
    pub subject: String,
    /// What happened.
    #[serde(default)]
    pub description: String,
    /// Category.
    #[serde(default = "other")]
    pub category: TicketCategory,
    /// Urgency.
    #[serde(default = "medium")]
    pub urgency: Urgency,
    /// Something is broken (the default: older agents' tickets) or the
    /// employee needs something.
    #[serde(default)]
    pub ticket_type: crate::TicketType,
    /// Who asks: the logged-in user's name, when the agent's privacy
    /// settings allow sending it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requester: Option<String>,
    /// The tray report this ticket ends (what the employee was shown
    /// before filing), only to a desk that announced `knowledge_base`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<crate::kb::TrayReport>,
    /// The failing health check that opened this ticket by itself (only
    /// to a desk that announced `check_tickets`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<CheckTicket>,
}

/// A ticket a failing health check opened (`open_ticket` in the policy).
/// The desk keeps one ticket per device and check: a later failing
/// episode while it is open, or resolved and still watched, goes to it.
/// It resolves the ticket itself once the check has been ok for
/// `resolve_after_secs`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CheckTicket {
    /// The check's id in the policy.
    pub check_id: String,
    /// When this failing episode began.
    pub failing_since: DateTime<Utc>,
    /// How long the check must be ok again before the desk resolves the
    /// ticket (60 s to 7 days).
    pub resolve_after_secs: u64,
}

fn other() -> TicketCategory {
    TicketCategory::Other
}

fn medium() -> Urgency {
    Urgency::Medium
}

/// A file attached to a ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AttachmentInfo {
    /// Id.
    pub id: i64,
    /// File name as sent.
    pub name: String,
    /// Content type as sent.
    pub content_type: String,
    /// Size in bytes.
    pub size_bytes: u64,
    /// Whether this is the diagnostics bundle the agent built.
    pub diagnostics: bool,
}

/// A ticket as its device sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Ticket {
    /// The desk's ticket number.
    pub id: i64,
    /// One line.
    pub subject: String,
    /// What happened.
    pub description: String,
    /// Category.
    pub category: TicketCategory,
    /// Urgency.
    pub urgency: Urgency,
    /// Status.
    pub status: TicketStatus,
    /// Priority 1 (highest) to 5, from impact and urgency (ITIL matrix).
    pub priority: u8,
    /// Incident or service request (older desks: incident).
    #[serde(default)]
    pub ticket_type: crate::TicketType,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// Attached files.
    #[serde(default)]
    pub attachments: Vec<AttachmentInfo>,
    /// The public conversation, oldest first (technicians' internal notes
    /// never reach a device).
    #[serde(default)]
    pub comments: Vec<Comment>,
    /// When the employee may rate it: the desk watches the device's
    /// failing checks for a day after a technician's fix, and asks only
    /// once the fix held. Absent: as soon as it is resolved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rating_opens_at: Option<DateTime<Utc>>,
}

/// Who wrote a comment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CommentAuthor {
    /// The employee, from the device.
    Employee,
    /// A technician.
    Technician,
}

/// One message of a ticket's conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Comment {
    /// Id.
    pub id: i64,
    /// Who wrote it.
    pub author: CommentAuthor,
    /// Text.
    pub body: String,
    /// When.
    pub created_at: DateTime<Utc>,
    /// A note the desk wrote by itself (no person did): readers word it
    /// from their catalogs; `body` is its English text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<DeskNote>,
}

/// What a note the desk wrote by itself says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DeskNote {
    /// What happened.
    pub kind: DeskNoteKind,
    /// The health check it is about.
    pub check_id: String,
    /// When it happened on the device (the check's recovery or failure).
    pub at: DateTime<Utc>,
}

/// The kinds of [`DeskNote`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeskNoteKind {
    /// The check has been ok long enough: resolved, verified by the
    /// device.
    VerifiedByDevice,
    /// The check failed again while the ticket was open.
    FailedAgain,
    /// The check failed again after the ticket was resolved: reopened.
    Relapsed,
    /// A kind this version does not know.
    #[serde(other)]
    Unknown,
}

/// `POST /api/v1/agent/tickets/{id}/comments`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct NewComment {
    /// Text.
    pub body: String,
}
