//! Requests and responses of the desk API that are not inventory, metrics
//! or checks: enrollment and the error body every endpoint uses.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::checks::{CheckResult, CheckState, Policy};
use crate::inventory::DeviceIdentity;
use crate::metrics::MetricSample;

/// `POST /api/v1/enroll`: a device asks to join the desk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct EnrollRequest {
    /// The enroll secret an administrator created.
    pub enroll_secret: String,
    /// Who the device is; `device_key` (or else `serial_number`) lets the
    /// desk recognise a machine that enrolls again.
    pub device: DeviceIdentity,
    /// Version of the enrolling agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_version: Option<String>,
    /// The device's Ed25519 public key (32 bytes, base64). The device's
    /// identity: a known key gets its device back (with a new token), any
    /// other enrollment is a new device. Requires `proof`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
    /// Proof that the device holds the private key of `public_key`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proof: Option<KeyProof>,
}

/// A signature by the device's key over a fresh, single-use challenge from
/// the desk: it cannot be replayed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct KeyProof {
    /// The challenge from `POST /api/v1/enroll/challenge`.
    pub challenge: String,
    /// Ed25519 signature (64 bytes, base64) over
    /// [`enroll_proof_message`]`(challenge, public_key)`.
    pub signature: String,
}

/// `POST /api/v1/enroll/challenge`: a single-use challenge for a
/// [`KeyProof`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct EnrollChallenge {
    /// Sign it (see [`enroll_proof_message`]) within its lifetime.
    pub challenge: String,
    /// When the desk stops accepting it.
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

/// What a device signs to prove it holds its key: a domain tag, the
/// challenge and the public key, NUL-separated, so a signature made for
/// anything else never verifies here.
pub fn enroll_proof_message(challenge: &str, public_key: &str) -> Vec<u8> {
    let mut m = b"deskside-enroll-v1\0".to_vec();
    m.extend_from_slice(challenge.as_bytes());
    m.push(0);
    m.extend_from_slice(public_key.as_bytes());
    m
}

/// The answer to an enrollment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct EnrollResponse {
    /// The device's id at the desk (the same when a machine enrolls again).
    pub device_id: i64,
    /// The device's bearer token; shown once, stored by the desk only as a
    /// hash. Enrolling again replaces it.
    pub device_token: String,
}

/// The answer to `PUT /api/v1/agent/inventory`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct InventoryAck {
    /// The stable hash of the inventory as the desk computed it; the agent
    /// sends it with each check-in.
    pub inventory_hash: String,
    /// Whether anything but volatile fields changed since the previous
    /// upload (then a change record was kept).
    pub changed: bool,
}

/// `POST /api/v1/agent/checkin`: what changed on the device since its
/// last check-in.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CheckinRequest {
    /// Version of the agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_version: Option<String>,
    /// The device's overall health.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overall_health: Option<CheckState>,
    /// Version of the policy the agent runs (0 or absent: none from the desk).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_version: Option<u64>,
    /// Stable hash of the agent's current inventory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inventory_hash: Option<String>,
    /// Check results that changed since the last check-in.
    #[serde(default)]
    pub check_results: Vec<CheckResult>,
    /// Metric samples taken since the last check-in.
    #[serde(default)]
    pub metrics: Vec<MetricSample>,
    /// The `updated_at` of the newest ticket update the agent has seen;
    /// absent: send every ticket.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tickets_seen_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The device's Ed25519 public key (base64): a device enrolled before
    /// it had one registers it this way, once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
    /// The version of the knowledge base the device keeps (only to a desk
    /// that announced `knowledge_base`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kb_version: Option<String>,
    /// The language the device wants its articles in; absent: it wants
    /// none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kb_lang: Option<crate::kb::ArticleLang>,
    /// The ids of every check the device runs now, sent when that set
    /// changed (and on an agent's first check-in): the desk forgets the
    /// results of any other check. Absent: unchanged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checks: Option<Vec<String>>,
}

/// The desk's answer to a check-in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CheckinResponse {
    /// Seconds until the next check-in.
    pub next_checkin_secs: u64,
    /// Whether the desk wants the full inventory (`PUT /agent/inventory`).
    pub send_inventory: bool,
    /// The current policy, when its version is newer than the agent's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<Policy>,
    /// The device's tickets that changed since `tickets_seen_at` (status,
    /// replies), oldest change first, with their public conversation.
    #[serde(default)]
    pub ticket_updates: Vec<crate::tickets::Ticket>,
    /// What this desk takes beyond what every desk takes (see
    /// [`DeskFeature`]): an agent sends a newer field only to a desk that
    /// named it, since older desks refuse fields they do not know and a
    /// refused ticket would be lost to the employee.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub features: Vec<DeskFeature>,
    /// The published articles in `kb_lang`, when their version differs
    /// from `kb_version`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kb: Option<crate::kb::DeviceKb>,
}

/// A capability a desk announces in its check-in answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeskFeature {
    /// A tray ticket may name its requester (`requester`).
    TicketRequester,
    /// The desk sends published articles with check-in answers (`kb_lang`)
    /// and takes tray reports (`POST /agent/reports`, a ticket's
    /// `report`).
    KnowledgeBase,
    /// A ticket may say which failing check opened it (`check`): the desk
    /// keeps one per check and resolves it when the device verifies the
    /// fix.
    CheckTickets,
    /// A feature this agent does not know yet.
    #[serde(other)]
    Unknown,
}

/// The body of every error response: `{"error": {"code", "message"}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// What went wrong, as a stable code clients branch on (never on the
/// message). A code this version does not know reads as `Unknown`, so an
/// older client keeps working against a newer desk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// A unique value (an e-mail address) is taken.
    AlreadyExists,
    /// The request is malformed in a way no other code names.
    BadRequest,
    /// The request body is larger than the desk accepts.
    BodyTooLarge,
    /// An administrator tried to change their own role: another
    /// administrator must, so that the desk always keeps one.
    CannotChangeOwnRole,
    /// An administrator tried to deactivate themselves.
    CannotDeactivateSelf,
    /// The ticket is not resolved or closed, was rated already, or its
    /// fix is still being verified (`rating_opens_at`).
    CannotRate,
    /// A change from a browser session lacks the right `X-CSRF-Token`.
    CsrfFailed,
    /// Authenticated, but not allowed (administrators only).
    Forbidden,
    /// The request needs an `Idempotency-Key` header.
    IdempotencyKeyRequired,
    /// The `Idempotency-Key` was used before for a different request.
    IdempotencyKeyReused,
    /// The desk failed; not the client's fault.
    Internal,
    /// The body is well-formed but its content is refused.
    InvalidBody,
    /// Wrong e-mail or password.
    InvalidCredentials,
    /// The enroll secret is unknown, expired or revoked.
    InvalidEnrollSecret,
    /// A header's value is malformed.
    InvalidHeader,
    /// The `Idempotency-Key` is not 1–128 of `A-Za-z0-9._:-`.
    InvalidIdempotencyKey,
    /// The body is not JSON.
    InvalidJson,
    /// The device key's proof is wrong, or its challenge unknown, used or expired.
    InvalidKeyProof,
    /// The multipart body is malformed.
    InvalidMultipart,
    /// The health-check policy is invalid; `fields` says where.
    InvalidPolicy,
    /// A query parameter is refused.
    InvalidQuery,
    /// The bearer token is unknown or revoked.
    InvalidToken,
    /// The ticket workflow does not allow this status change.
    InvalidTransition,
    /// The endpoint does not take this method.
    MethodNotAllowed,
    /// No token and no session.
    MissingCredentials,
    /// No such thing (or not yours to see).
    NotFound,
    /// One part of a multipart body is too large.
    PartTooLarge,
    /// Too many requests; wait for `Retry-After`.
    RateLimited,
    /// The request took too long to arrive or to answer.
    RequestTimeout,
    /// The browser session ended; log in again.
    SessionExpired,
    /// The desk's database or blob storage is unavailable; try again.
    StorageUnavailable,
    /// Unsupported `Content-Type` or `Content-Encoding`.
    UnsupportedMediaType,
    /// The ticket changed since the version the change was made against; the answer holds the ticket as it is now.
    VersionConflict,
    /// The thing is still used (a calendar by a policy) and cannot be
    /// deleted.
    InUse,
    /// A webhook's address is on a network the desk does not send to
    /// (loopback, link-local, private) unless its configuration allows it,
    /// or does not resolve.
    TargetRefused,
    /// A code this version does not know.
    #[serde(other)]
    Unknown,
}

impl ErrorCode {
    /// The code as it is sent.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AlreadyExists => "already_exists",
            Self::BadRequest => "bad_request",
            Self::BodyTooLarge => "body_too_large",
            Self::CannotChangeOwnRole => "cannot_change_own_role",
            Self::CannotDeactivateSelf => "cannot_deactivate_self",
            Self::CannotRate => "cannot_rate",
            Self::CsrfFailed => "csrf_failed",
            Self::Forbidden => "forbidden",
            Self::IdempotencyKeyRequired => "idempotency_key_required",
            Self::IdempotencyKeyReused => "idempotency_key_reused",
            Self::Internal => "internal",
            Self::InvalidBody => "invalid_body",
            Self::InvalidCredentials => "invalid_credentials",
            Self::InvalidEnrollSecret => "invalid_enroll_secret",
            Self::InvalidHeader => "invalid_header",
            Self::InvalidIdempotencyKey => "invalid_idempotency_key",
            Self::InvalidJson => "invalid_json",
            Self::InvalidKeyProof => "invalid_key_proof",
            Self::InvalidMultipart => "invalid_multipart",
            Self::InvalidPolicy => "invalid_policy",
            Self::InvalidQuery => "invalid_query",
            Self::InvalidToken => "invalid_token",
            Self::InvalidTransition => "invalid_transition",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::MissingCredentials => "missing_credentials",
            Self::NotFound => "not_found",
            Self::PartTooLarge => "part_too_large",
            Self::RateLimited => "rate_limited",
            Self::RequestTimeout => "request_timeout",
            Self::SessionExpired => "session_expired",
            Self::StorageUnavailable => "storage_unavailable",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::VersionConflict => "version_conflict",
            Self::InUse => "in_use",
            Self::TargetRefused => "target_refused",
            Self::Unknown => "unknown",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error: a stable machine-readable code and a message for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ErrorDetail {
    /// Stable code.
    pub code: ErrorCode,
    /// What went wrong, for a person.
    pub message: String,
    /// Where, when the error concerns parts of the body (a policy's checks
    /// and their fields); absent otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldError>,
}

/// One invalid part of a request body: which check (for a policy) and
/// which field, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct FieldError {
    /// The check's position in the policy, from 1; 0 for the policy as a
    /// whole.
    pub position: u32,
    /// The check's id, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<String>,
    /// The field at fault (`interval`, `warn`, `params.url`…).
    pub field: String,
    /// What is wrong, for a person.
    pub message: String,
    /// The line in the submitted text (1-based), when the desk parsed text
    /// and can tell.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_checkin_answer_reads_features_it_does_not_know_and_answers_from_older_desks() {
        // An older desk names no features: the agent sends nothing new.
        let old: CheckinResponse =
            serde_json::from_str(r#"{"next_checkin_secs": 60, "send_inventory": false}"#).unwrap();
        assert!(old.features.is_empty());
        // A newer desk may name features this agent does not know.
        let new: CheckinResponse = serde_json::from_str(
            r#"{"next_checkin_secs": 60, "send_inventory": false, "features": ["ticket_requester", "teleportation"]}"#,
        )
        .unwrap();
        assert_eq!(
            new.features,
            [DeskFeature::TicketRequester, DeskFeature::Unknown]
        );
    }
}
