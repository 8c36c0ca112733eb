//! Deskside's wire protocol: the types the agent sends and the desk server
//! stores, plus the few pure functions both sides must compute identically
//! (the stable inventory hash, the inventory diff, version ordering and the
//! export to GLPI's native inventory format).
//!
//! Conventions, shared by every type here:
//! - JSON field names are `snake_case`;
//! - every optional field may be absent, and absent means "unknown" — never
//!   an error;
//! - unknown fields are ignored and unknown enum values map to an `Other`/
//!   `Unknown` variant, so an older peer can read a newer peer's documents;
//! - timestamps are RFC 3339 in UTC.
//!
//! This crate does no I/O.

#![warn(missing_docs)]

pub mod api;
pub mod changes;
pub mod checks;
pub mod diagnostics;
pub mod glpi;
pub mod inventory;
pub mod kb;
pub mod metrics;
pub mod schema;
pub mod service;
pub mod tickets;
pub mod webhooks;

pub use api::{
    CheckinRequest, CheckinResponse, DeskFeature, EnrollChallenge, EnrollRequest, EnrollResponse,
    ErrorBody, ErrorCode, ErrorDetail, FieldError, InventoryAck, KeyProof, enroll_proof_message,
};
pub use changes::{
    FieldChange, InventoryDiff, SoftwareChange, SoftwareChangeKind, SoftwareRef, compare_versions,
    diff_inventories, inventory_hash,
};
pub use checks::{
    CheckMessage, CheckResult, CheckSpec, CheckState, LocalizedText, PerfValue, Policy,
    StateTransition, Threshold,
};
pub use inventory::*;
pub use kb::{
    Article, ArticleHit, ArticleInput, ArticleLang, ArticleState, ArticleText, ArticleTextView,
    Deflection, DeviceArticle, DeviceKb, MarkdownPreview, RenderedHtml, ShownArticles, TrayReport,
    UsefulArticle,
};
pub use metrics::*;
pub use service::{
    AutoAssign, CandidateDevice, CandidateIncident, Channel, LinkedIncidents, PausingStatus,
    Problem, ProblemCandidate, ProblemInput, ProblemResolution, SlaCalendar, SlaCalendarInput,
    SlaClock, SlaClockView, SlaConditions, SlaEscalation, SlaEventKind, SlaPauses, SlaPolicy,
    SlaPolicyInput, SlaState, Team, TeamInput, TeamMember, TicketSla, TicketType, WeekHours,
};
pub use tickets::{
    AttachmentInfo, CheckTicket, Comment, CommentAuthor, DeskNote, DeskNoteKind, NewComment,
    NewTicket, Ticket, TicketCategory, TicketStatus, Urgency,
};
pub use webhooks::{
    DeliveryState, Webhook, WebhookCreated, WebhookDelivery, WebhookEvent, WebhookInput,
    WebhookPatch, WebhookPayload,
};

/// Version of the wire protocol. Bumped only for incompatible changes; new
/// optional fields do not bump it.
pub const PROTOCOL_VERSION: u32 = 1;
