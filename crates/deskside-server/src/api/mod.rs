//! The HTTP API, generic over the store. Every error is JSON
//! `{"error": {"code", "message"}}` with the right status and a typed code;
//! client input never causes a 500 or a panic.
//!
//! - [`error`], [`extract`], [`auth`]: errors, input, who is asking;
//! - [`routes`] (with the OpenAPI document) and [`serve`] (layers, listeners);
//! - the handlers by who uses them: [`agent`] (devices), [`tickets`],
//!   [`devices`] (technicians), [`admin`] and [`access`] (administrators).

mod access;
mod admin;
mod agent;
pub use agent::MAX_REPORTS_PER_DAY;
mod auth;
mod check_tickets;
mod devices;
mod diagnostics;
mod error;
mod events;
mod extract;
mod fleet;
mod kb;
mod policy;
mod problem_candidates;
mod problems;
mod reports;
mod routes;
mod serve;
mod sla;
mod static_files;
mod teams;
mod ticket_views;
mod tickets;
mod users;
mod views;
mod webhooks;

pub use auth::{AdminAuth, DeviceAuth, UserAuth};
pub use error::ApiError;
pub use extract::{ApiJson, ApiQuery, ClientIp, client_ip};
pub use routes::{openapi_document, openapi_text};
pub use serve::{Status, router, router_with, serve, serve_tls};
pub use static_files::{CONTENT_SECURITY_POLICY, console_built};

use auth::*;
use error::*;
use extract::*;
use routes::*;
use serve::*;
use ticket_views::*;

pub use crate::workflow::{itil_priority, transition_allowed};

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequest, FromRequestParts, Request, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use chrono::Utc;
use deskside_protocol::{
    CheckinRequest, CheckinResponse, EnrollRequest, EnrollResponse, ErrorBody, ErrorCode,
    ErrorDetail, FieldError, Inventory, InventoryAck, Policy, diff_inventories, inventory_hash,
};
use serde::de::DeserializeOwned;
use tower_http::decompression::RequestDecompressionLayer;
use tower_http::timeout::TimeoutLayer;

use crate::blobs::Blobs;
use crate::credentials::{hash_token, new_token};
use crate::openapi::{self, DocRouter};
use crate::ratelimit::RateLimiter;
use crate::store::{
    AttachmentRow, Checkin, CommentRow, Device, NewEnrollment, NewTicketRow, Role, Store,
    StoreError, TicketRow, TicketWork, User,
};
use crate::telemetry::Metrics;

/// Shared state of the handlers.
#[derive(Clone)]
pub struct AppState<S> {
    /// The database.
    pub store: S,
    /// Limits `/enroll` per client address.
    pub enroll_limit: Arc<RateLimiter>,
    /// Limits `/enroll/challenge` per client address.
    pub challenge_limit: Arc<RateLimiter>,
    /// Seconds between check-ins, told to every agent.
    pub checkin_secs: u64,
    /// Attachment content.
    pub blobs: Blobs,
    /// Counters for `/metrics`.
    pub metrics: Arc<Metrics>,
    /// Limits `/auth/login` per client address.
    pub login_limit: Arc<RateLimiter>,
    /// The OpenAPI document.
    pub openapi: Arc<serde_json::Value>,
    /// The newest policy this node has read.
    pub policy: Arc<PolicyCache>,
    /// Proxies whose `X-Forwarded-For` names the real client.
    pub trusted_proxies: Arc<Vec<std::net::IpAddr>>,
    /// Wakes this node's event streams.
    pub events: Arc<events::EventHub>,
    /// How long one event stream lasts.
    pub stream_lifetime: Duration,
    /// A device silent for longer is shown as offline.
    pub offline_after: Duration,
    /// Loopback, link-local or private networks webhooks may reach.
    pub webhook_allowed: Arc<Vec<crate::webhooks::Network>>,
    /// The published articles as devices get them, per language.
    pub device_kb: Arc<DeviceKbCache>,
}

/// The published articles as this node last built them for devices, per
/// language. Keyed by their version, which is read from the database on
/// every check-in: a stale entry is never served with several nodes.
#[derive(Debug, Default)]
pub struct DeviceKbCache(
    std::sync::Mutex<
        std::collections::HashMap<deskside_protocol::ArticleLang, Arc<deskside_protocol::DeviceKb>>,
    >,
);

impl DeviceKbCache {
    /// The articles in `lang` when they have this version.
    pub(super) fn get(
        &self,
        lang: deskside_protocol::ArticleLang,
        version: &str,
    ) -> Option<Arc<deskside_protocol::DeviceKb>> {
        self.0
            .lock()
            .ok()?
            .get(&lang)
            .filter(|kb| kb.version == version)
            .cloned()
    }

    pub(super) fn put(&self, kb: Arc<deskside_protocol::DeviceKb>) {
        if let Ok(mut map) = self.0.lock() {
            map.insert(kb.lang, kb);
        }
    }
}

/// The newest policy a node has read. Versions never change once written,
/// so caching by version is safe with several nodes: the version number
/// itself is read from the database on every check-in.
#[derive(Debug, Default)]
pub struct PolicyCache(std::sync::Mutex<Option<Arc<Policy>>>);

impl PolicyCache {
    /// The cached policy when it has this version.
    pub(super) fn get(&self, version: u64) -> Option<Arc<Policy>> {
        self.0
            .lock()
            .ok()?
            .as_ref()
            .filter(|p| p.version == version)
            .cloned()
    }

    pub(super) fn put(&self, policy: Arc<Policy>) {
        if let Ok(mut slot) = self.0.lock()
            && slot.as_ref().is_none_or(|p| p.version < policy.version)
        {
            *slot = Some(policy);
        }
    }
}

/// HTTP limits.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest request body.
    pub max_body_bytes: usize,
    /// Longest a request may take.
    pub request_timeout: Duration,
    /// Enrollments per minute and client address (bursts of twice that).
    pub enroll_per_minute: u32,
    /// Time between check-ins.
    pub checkin_interval: Duration,
    /// How long one event stream lasts before the browser reconnects
    /// (and its credentials are checked again).
    pub event_stream_lifetime: Duration,
    /// A device that has not checked in for longer is shown as offline.
    pub offline_after: Duration,
    /// Logins per minute and client address (bursts of twice that).
    pub login_per_minute: u32,
    /// How often this node evaluates SLA clocks that warn or breach by
    /// themselves; `None`: only after changes (tests drive
    /// [`crate::sla::run_pass`] themselves).
    pub sla_interval: Option<Duration>,
    /// How often this node fans events out to webhooks and sends what is
    /// due (and at once after an event); `None`: never (tests drive
    /// [`crate::webhooks::run_pass`] themselves).
    pub webhook_interval: Option<Duration>,
    /// How often this node looks for problem candidates; `None`: never.
    pub candidate_interval: Option<Duration>,
    /// Loopback, link-local or private networks webhooks may reach.
    pub webhook_allowed_networks: Vec<crate::webhooks::Network>,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: 16 * 1024 * 1024,
            request_timeout: Duration::from_secs(30),
            enroll_per_minute: 10,
            checkin_interval: Duration::from_secs(60),
            event_stream_lifetime: Duration::from_secs(300),
            offline_after: Duration::from_secs(600),
            login_per_minute: 5,
            sla_interval: None,
            webhook_interval: None,
            candidate_interval: None,
            webhook_allowed_networks: Vec::new(),
        }
    }
}

fn enum_from<T: serde::de::DeserializeOwned>(s: &str, fallback: T) -> T {
    serde_json::from_value(serde_json::Value::String(s.to_owned())).unwrap_or(fallback)
}

/// A category by its exact name. The protocol's type reads unknown names
/// as `other` (so agents can read a newer desk); input to the desk must
/// not turn a typo into `other` silently.
fn known_category(name: &str) -> Result<deskside_protocol::TicketCategory, String> {
    use deskside_protocol::TicketCategory;
    match enum_from(name, TicketCategory::Other) {
        TicketCategory::Other if name != "other" => Err(format!(
            "unknown category {name:?} (hardware, software, network, account, printer, other)"
        )),
        known => Ok(known),
    }
}

fn snake<T: serde::Serialize>(v: T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}
