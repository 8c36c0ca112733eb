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
}

/// The body of every error response: `{"error": {"code", "message"}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// An error: a stable machine-readable code and a message for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ErrorDetail {
    /// Stable code (`invalid_json`, `unauthorized`, `not_found`, …).
    pub code: String,
    /// What went wrong, for a person.
    pub message: String,
}
