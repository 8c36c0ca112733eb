//! The HTTP API. Every error is JSON `{"error": {"code", "message"}}` with
//! the right status; client input never causes a 500 or a panic.

mod access;
mod admin;
mod agent;
mod devices;
mod tickets;

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
    ErrorDetail, Inventory, InventoryAck, Policy, diff_inventories, inventory_hash,
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
/// An API error: status, stable code, message.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: ErrorCode,
    message: String,
    retry_after: Option<u64>,
}

impl ApiError {
    /// An error with this status, code and message.
    pub fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// 429, with the seconds to wait in `Retry-After`.
    pub fn rate_limited(wait: Duration) -> Self {
        let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        Self {
            retry_after: Some(secs.max(1)),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                ErrorCode::RateLimited,
                "too many requests; slow down",
            )
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code,
                message: self.message,
            },
        };
        let mut resp = (self.status, Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            resp.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        resp
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        match r {
            JsonRejection::MissingJsonContentType(_) => Self::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                ErrorCode::UnsupportedMediaType,
                "send Content-Type: application/json",
            ),
            JsonRejection::JsonSyntaxError(e) => Self::new(
                StatusCode::BAD_REQUEST,
                ErrorCode::InvalidJson,
                e.body_text(),
            ),
            JsonRejection::JsonDataError(e) => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorCode::InvalidBody,
                e.body_text(),
            ),
            JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Self::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    ErrorCode::BodyTooLarge,
                    "the request body is too large",
                )
            }
            other => Self::new(
                StatusCode::BAD_REQUEST,
                ErrorCode::BadRequest,
                other.body_text(),
            ),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        if matches!(e, StoreError::KeyReused) {
            return Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorCode::IdempotencyKeyReused,
                "this Idempotency-Key was used before for a different request; use a new key",
            );
        }
        // The client did nothing wrong; say so without internals.
        tracing::error!("storage: {e}");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::StorageUnavailable,
            "the desk's database is unavailable, try again",
        )
    }
}

/// `Json` whose rejections are [`ApiError`]s.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let Json(value) = Json::<serde_json::Value>::from_request(req, state)
            .await
            .map_err(ApiError::from)?;
        if has_nul(&value) {
            return Err(invalid("text must not contain NUL characters"));
        }
        serde_json::from_value(value)
            .map(Self)
            .map_err(|e| invalid(e.to_string()))
    }
}

/// Whether any string in the document holds a NUL, which PostgreSQL cannot
/// store in text: refusing it here keeps both backends alike.
fn has_nul(v: &serde_json::Value) -> bool {
    match v {
        serde_json::Value::String(s) => s.contains('\0'),
        serde_json::Value::Array(a) => a.iter().any(has_nul),
        serde_json::Value::Object(m) => m.iter().any(|(k, v)| k.contains('\0') || has_nul(v)),
        _ => false,
    }
}

/// Query parameters whose rejections are [`ApiError`]s (400).
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let raw = parts.uri.query().unwrap_or_default();
        if raw.contains("%00") {
            return Err(bad_query("query text must not contain NUL characters"));
        }
        axum::extract::Query::<T>::try_from_uri(&parts.uri)
            .map(|axum::extract::Query(q)| Self(q))
            .map_err(|e| bad_query(e.body_text()))
    }
}

/// A page size: 1–500, 50 when absent.
fn page_limit(limit: Option<u32>) -> Result<u32, ApiError> {
    let limit = limit.unwrap_or(50);
    if (1..=500).contains(&limit) {
        Ok(limit)
    } else {
        Err(bad_query("limit must be between 1 and 500"))
    }
}

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
}

/// The client's address: the TCP peer, or, when the peer is a trusted
/// proxy, the address it forwarded for (the right-most address in
/// `X-Forwarded-For` that is not itself a trusted proxy). Rate limits key
/// on it, so that users behind the TLS proxy the README recommends do not
/// share one bucket, and a client cannot pick its own address.
pub struct ClientIp(pub std::net::IpAddr);

impl<S: Store> FromRequestParts<AppState<S>> for ClientIp {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState<S>,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(a)| a.ip())
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    ErrorCode::BadRequest,
                    "the client address is unknown",
                )
            })?;
        Ok(Self(client_ip(
            peer,
            &parts.headers,
            &state.trusted_proxies,
        )))
    }
}

/// See [`ClientIp`].
pub fn client_ip(
    peer: std::net::IpAddr,
    headers: &axum::http::HeaderMap,
    trusted: &[std::net::IpAddr],
) -> std::net::IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    let forwarded: Vec<std::net::IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .map_while(|a| a.parse().ok())
        .collect();
    forwarded
        .into_iter()
        .rev()
        .find(|a| !trusted.contains(a))
        .unwrap_or(peer)
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
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest request body.
    pub max_body_bytes: usize,
    /// Longest a request may take.
    pub request_timeout: Duration,
    /// Enrollments per minute and client address (bursts of twice that).
    pub enroll_per_minute: u32,
    /// Time between check-ins.
    pub checkin_interval: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: 16 * 1024 * 1024,
            request_timeout: Duration::from_secs(30),
            enroll_per_minute: 10,
            checkin_interval: Duration::from_secs(60),
        }
    }
}

/// Every route of the desk with its documentation. The handlers' state is
/// not needed to describe them, so the OpenAPI document can be built
/// without a database.
fn routes<S: Store>() -> DocRouter<AppState<S>> {
    use deskside_protocol::{Comment, NewComment, NewTicket, Ticket};
    use openapi::{Auth, Op};
    let id_pattern = serde_json::json!({"type": "string", "pattern": "^[A-Za-z0-9._:-]{1,128}$"});
    DocRouter::default()
        .route(
            "/healthz",
            get(healthz),
            [Op::get("Liveness").reply::<Status>(200, "Alive")],
        )
        .route(
            "/readyz",
            get(readyz::<S>),
            [Op::get("Readiness: the database answers").reply::<Status>(200, "Ready")],
        )
        .route(
            "/metrics",
            get(prometheus::<S>),
            [Op::get("Prometheus metrics").text("Metrics in the Prometheus text format")],
        )
        .route(
            "/api/v1/openapi.json",
            get(openapi_json::<S>),
            [Op::get("This document").reply::<serde_json::Value>(200, "The OpenAPI document")],
        )
        .route(
            "/api/v1/enroll",
            post(agent::enroll::<S>),
            [Op::post("Enroll a device")
                .json::<EnrollRequest>()
                .reply::<EnrollResponse>(201, "Enrolled")
                .reply::<EnrollResponse>(200, "Enrolled again: same device, new token")
                .errors(&[401, 429])],
        )
        .route(
            "/api/v1/enroll/challenge",
            post(agent::enroll_challenge::<S>),
            [Op::post("A single-use challenge to sign for enrollment with a device key")
                .reply::<deskside_protocol::EnrollChallenge>(200, "Sign it within its lifetime")
                .errors(&[429])],
        )
        .route(
            "/api/v1/agent/inventory",
            put(agent::put_inventory::<S>),
            [Op::put("Upload the full inventory (gzip accepted)")
                .auth(Auth::Device)
                .json::<Inventory>()
                .reply::<InventoryAck>(200, "Stored")],
        )
        .route(
            "/api/v1/agent/checkin",
            post(agent::checkin::<S>),
            [Op::post("Check in")
                .auth(Auth::Device)
                .json::<CheckinRequest>()
                .reply::<CheckinResponse>(200, "What the desk wants")],
        )
        .route(
            "/api/v1/agent/tickets",
            post(agent::create_ticket::<S>)
                .get(agent::list_tickets::<S>)
                .layer(DefaultBodyLimit::max(agent::MAX_TICKET_BYTES)),
            [
                Op::post("Submit a ticket with diagnostics and attachments")
                    .auth(Auth::Device)
                    .ticket_multipart::<NewTicket>()
                    .header(
                        "Idempotency-Key",
                        "The same key returns the same ticket",
                        id_pattern.clone(),
                    )
                    .reply::<Ticket>(201, "Created")
                    .reply::<Ticket>(200, "Submitted before with this key: the same ticket"),
                Op::get("This device's tickets, newest first")
                    .auth(Auth::Device)
                    .reply::<Vec<Ticket>>(200, "Tickets"),
            ],
        )
        .route(
            "/api/v1/agent/tickets/{id}",
            get(agent::get_ticket::<S>),
            [Op::get("One ticket with its public conversation")
                .auth(Auth::Device)
                .reply::<Ticket>(200, "The ticket")],
        )
        .route(
            "/api/v1/agent/tickets/{id}/comments",
            post(agent::device_comment::<S>),
            [Op::post("Answer on a ticket")
                .auth(Auth::Device)
                .json::<NewComment>()
                .optional_header(
                    "Idempotency-Key",
                    "A retry with the same key returns the first comment",
                    id_pattern.clone(),
                )
                .reply::<Comment>(201, "Added")
                .reply::<Comment>(200, "Sent before with this key: the same comment")],
        )
        .route(
            "/api/v1/agent/tickets/{id}/rating",
            post(agent::device_rating::<S>),
            [Op::post("Rate a resolved ticket, once")
                .auth(Auth::Device)
                .json::<agent::Rating>()
                .empty(204, "Rated")
                .errors(&[409])],
        )
        .route(
            "/api/v1/agent/tickets/{id}/reopen",
            post(agent::device_reopen::<S>),
            [Op::post("Reopen a resolved or closed ticket")
                .auth(Auth::Device)
                .empty(204, "Reopened")
                .errors(&[409])],
        )
        .route(
            "/api/v1/agent/tickets/{id}/attachments/{attachment}",
            get(agent::device_attachment::<S>),
            [Op::get("Download an attachment")
                .auth(Auth::Device)
                .binary("The file, as an attachment")],
        )
        .route(
            "/api/v1/tickets",
            get(tickets::tech_list_tickets::<S>),
            [Op::get("The ticket queue")
                .auth(Auth::User)
                .query::<tickets::TicketQuery>()
                .reply::<tickets::TicketPage>(200, "One page")],
        )
        .route(
            "/api/v1/tickets/{id}",
            get(tickets::tech_get_ticket::<S>).patch(tickets::tech_patch_ticket::<S>),
            [
                Op::get("A ticket with internal notes and its audit trail")
                    .auth(Auth::User)
                    .reply::<tickets::TicketDetail>(200, "The ticket"),
                Op::patch("Work a ticket: status, assignee, category, impact, urgency, tier")
                    .auth(Auth::User)
                    .json::<tickets::TicketPatch>()
                    .optional_header(
                        "If-Match",
                        "Apply only to this version of the ticket (its ETag); a stale one answers 409 version_conflict with the current ticket",
                        serde_json::json!({"type": "string"}),
                    )
                    .reply::<tickets::TicketDetail>(200, "Changed")
                    .errors(&[400, 409]),
            ],
        )
        .route(
            "/api/v1/tickets/{id}/comments",
            post(tickets::tech_comment::<S>),
            [Op::post("Reply, or add an internal note")
                .auth(Auth::User)
                .json::<tickets::TechComment>()
                .reply::<tickets::CommentCreated>(201, "Added")],
        )
        .route(
            "/api/v1/tickets/{id}/attachments/{attachment}",
            get(tickets::tech_attachment::<S>),
            [Op::get("Download an attachment")
                .auth(Auth::User)
                .binary("The file, as an attachment")],
        )
        .route(
            "/api/v1/devices",
            get(devices::list_devices::<S>),
            [Op::get("Search devices")
                .auth(Auth::User)
                .query::<devices::DeviceQuery>()
                .reply::<devices::DevicePage>(200, "One page")],
        )
        .route(
            "/api/v1/devices/{id}",
            get(devices::get_device::<S>),
            [
                Op::get("A device: inventory, health, checks, metrics, tickets")
                    .auth(Auth::User)
                    .reply::<devices::DeviceDetail>(200, "The device"),
            ],
        )
        .route(
            "/api/v1/devices/{id}/inventory/changes",
            get(devices::device_changes::<S>),
            [
                Op::get("What changed in a device's inventory, newest first, in bounded pages")
                    .auth(Auth::User)
                    .query::<devices::ChangesQuery>()
                    .reply::<devices::ChangesPage>(200, "One page"),
            ],
        )
        .route(
            "/api/v1/software",
            get(devices::software::<S>),
            [
                Op::get("Installed software with versions and device counts")
                    .auth(Auth::User)
                    .query::<devices::SoftwareQuery>()
                    .reply::<devices::SoftwarePage>(200, "One page"),
            ],
        )
        .route(
            "/api/v1/policy",
            get(admin::get_policy::<S>).put(admin::put_policy::<S>),
            [
                Op::get("The health-check policy")
                    .auth(Auth::User)
                    .reply::<Policy>(200, "The policy"),
                Op::put("Publish a new policy version")
                    .auth(Auth::Admin)
                    .json::<Policy>()
                    .reply::<Policy>(200, "Published"),
            ],
        )
        .route(
            "/api/v1/policy/history",
            get(admin::policy_history::<S>),
            [Op::get("Every published policy version: who, when, and what changed")
                .auth(Auth::User)
                .query::<admin::PolicyHistoryQuery>()
                .reply::<admin::PolicyHistory>(200, "One page, newest first")],
        )
        .route(
            "/api/v1/enroll-secrets",
            get(admin::list_secrets::<S>).post(admin::create_secret::<S>),
            [
                Op::get("Enroll secrets")
                    .auth(Auth::Admin)
                    .reply::<admin::SecretList>(200, "Every secret, newest first"),
                Op::post("Create an enroll secret (shown once)")
                    .auth(Auth::Admin)
                    .json::<admin::NewSecret>()
                    .reply::<admin::SecretView>(201, "Created"),
            ],
        )
        .route(
            "/api/v1/enroll-secrets/{id}",
            axum::routing::delete(admin::revoke_secret::<S>),
            [Op::delete("Revoke an enroll secret")
                .auth(Auth::Admin)
                .empty(204, "Revoked")],
        )
        .route(
            "/api/v1/users",
            post(admin::create_user::<S>).get(access::list_users::<S>),
            [
                Op::post("Create a technician or administrator")
                    .auth(Auth::Admin)
                    .json::<admin::NewUser>()
                    .reply::<admin::UserView>(201, "Created")
                    .errors(&[409]),
                Op::get("Every user")
                    .auth(Auth::Admin)
                    .reply::<access::UserList>(200, "By id"),
            ],
        )
        .route(
            "/api/v1/auth/login",
            post(admin::login::<S>),
            [Op::post("Start a browser session")
                .json::<admin::Login>()
                .reply::<admin::LoginAnswer>(200, "Logged in; the session cookie is set")
                .errors(&[401, 429])],
        )
        .route(
            "/api/v1/auth/logout",
            post(admin::logout::<S>),
            [Op::post("End the browser session; with a bearer API token, revoke that token")
                .auth(Auth::User)
                .empty(204, "Logged out (the API token used is revoked)")],
        )
        .route(
            "/api/v1/tokens",
            get(access::list_tokens::<S>),
            [Op::get("Your API tokens (all=true: everyone's, administrators only)")
                .auth(Auth::User)
                .query::<access::TokenQuery>()
                .reply::<access::TokenList>(200, "Newest first")],
        )
        .route(
            "/api/v1/tokens/{id}",
            axum::routing::delete(access::revoke_token::<S>),
            [Op::delete("Revoke an API token (yours; administrators: anyone's)")
                .auth(Auth::User)
                .empty(204, "Revoked; it stops working at once")],
        )
        .route(
            "/api/v1/users/{id}/deactivate",
            post(access::deactivate_user::<S>),
            [Op::post("Deactivate a user: no login; sessions and tokens stop at once")
                .auth(Auth::Admin)
                .empty(204, "Deactivated")
                .errors(&[409])],
        )
        .route(
            "/api/v1/devices/{id}/revoke",
            post(access::revoke_device::<S>),
            [Op::post("Revoke a device: its token stops working at once")
                .auth(Auth::Admin)
                .empty(204, "Revoked")],
        )
        .route(
            "/api/v1/audit",
            get(access::audit_log::<S>),
            [Op::get("The audit log: policies, credentials, users, devices")
                .auth(Auth::Admin)
                .query::<access::AuditQuery>()
                .reply::<access::AuditPage>(200, "One page, newest first")],
        )
}

/// The OpenAPI document of the API.
pub fn openapi_document() -> serde_json::Value {
    routes::<crate::store::SqliteStore>().finish().1
}

/// The OpenAPI document as served and checked in under `docs/`.
pub fn openapi_text() -> String {
    let mut s = serde_json::to_string_pretty(&openapi_document()).unwrap_or_default();
    s.push('\n');
    s
}

/// `GET /healthz` and `GET /readyz` answer.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct Status {
    /// `ok` or `ready`.
    status: &'static str,
}

/// The API router.
pub fn router<S: Store>(store: S, blobs: impl Into<Blobs>, limits: Limits) -> Router {
    router_with(store, blobs, limits, Vec::new())
}

/// [`router`] behind the proxies `trusted_proxies` (see [`ClientIp`]).
pub fn router_with<S: Store>(
    store: S,
    blobs: impl Into<Blobs>,
    limits: Limits,
    trusted_proxies: Vec<std::net::IpAddr>,
) -> Router {
    let metrics = Arc::new(Metrics::default());
    let counted = Arc::clone(&metrics);
    let enroll_limit = Arc::new(RateLimiter::new(
        limits.enroll_per_minute,
        limits.enroll_per_minute.saturating_mul(2),
    ));
    let (routes, doc) = routes::<S>().finish();
    routes
        .layer(axum::middleware::from_fn(run_to_completion))
        .fallback(|| async {
            ApiError::new(
                StatusCode::NOT_FOUND,
                ErrorCode::NotFound,
                "no such endpoint",
            )
        })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                ErrorCode::MethodNotAllowed,
                "this endpoint does not take that method",
            )
        })
        // The limit applies to the decompressed body, so a small gzip bomb
        // is refused like a large upload.
        .layer(DefaultBodyLimit::max(limits.max_body_bytes))
        .layer(RequestDecompressionLayer::new())
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            limits.request_timeout,
        ))
        .with_state(AppState {
            store,
            challenge_limit: Arc::new(RateLimiter::new(
                limits.enroll_per_minute,
                limits.enroll_per_minute.saturating_mul(2),
            )),
            enroll_limit,
            checkin_secs: limits.checkin_interval.as_secs().max(1),
            blobs: blobs.into(),
            metrics,
            login_limit: Arc::new(RateLimiter::new(5, 10)),
            openapi: Arc::new(doc),
            policy: Arc::new(PolicyCache::default()),
            trusted_proxies: Arc::new(trusted_proxies),
        })
        .layer(axum::middleware::from_fn(json_errors))
        .layer(axum::middleware::from_fn(
            move |req: Request, next: axum::middleware::Next| {
                let counted = Arc::clone(&counted);
                async move {
                    let resp = next.run(req).await;
                    counted.response(resp.status());
                    resp
                }
            },
        ))
}

/// Every error answer carries the JSON error body with a typed code, also
/// those a layer makes without one (the timeout's 408, the decompression's
/// 415 for an unknown `Content-Encoding`).
async fn json_errors(req: Request, next: axum::middleware::Next) -> Response {
    use axum::http::header;
    let resp = next.run(req).await;
    let status = resp.status();
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json || !(status.is_client_error() || status.is_server_error()) {
        return resp;
    }
    let (code, message) = match status {
        StatusCode::REQUEST_TIMEOUT => (
            ErrorCode::RequestTimeout,
            "the request took too long to arrive or to answer",
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            ErrorCode::UnsupportedMediaType,
            "unsupported Content-Type or Content-Encoding (gzip is accepted)",
        ),
        StatusCode::PAYLOAD_TOO_LARGE => (ErrorCode::BodyTooLarge, "the request body is too large"),
        StatusCode::METHOD_NOT_ALLOWED => (
            ErrorCode::MethodNotAllowed,
            "this endpoint does not take that method",
        ),
        StatusCode::NOT_FOUND => (ErrorCode::NotFound, "no such endpoint"),
        s if s.is_server_error() => (ErrorCode::Internal, "the desk failed to answer; try again"),
        _ => (ErrorCode::BadRequest, "the request is not valid"),
    };
    let mut out = ApiError::new(status, code, message).into_response();
    for h in [header::RETRY_AFTER, header::ALLOW] {
        if let Some(v) = resp.headers().get(&h) {
            out.headers_mut().insert(h, v.clone());
        }
    }
    out
}

/// Runs each handler in a task of its own, so that a client hanging up
/// (or the request timeout firing) does not cancel it halfway: a handler
/// dropped in the middle of a database transaction or between storing a
/// blob and its row would leave work half done, and on SQLite a connection
/// back in the pool in an unknown state.
async fn run_to_completion(req: Request, next: axum::middleware::Next) -> Response {
    match tokio::spawn(next.run(req)).await {
        Ok(resp) => resp,
        Err(e) => {
            tracing::error!("request handler failed: {e}");
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                ErrorCode::Internal,
                "the desk failed to handle this request",
            )
            .into_response()
        }
    }
}

async fn openapi_json<S: Store>(State(state): State<AppState<S>>) -> Json<serde_json::Value> {
    Json(state.openapi.as_ref().clone())
}

/// Serves `app` on `listener`, with client addresses known to the handlers
/// (rate limits need them), until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

/// Serves `app` over HTTPS on `listener` until `shutdown` completes, then
/// lets requests in flight finish.
pub async fn serve_tls(
    listener: tokio::net::TcpListener,
    app: Router,
    tls: std::sync::Arc<rustls::ServerConfig>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioExecutor, TokioIo};
    use tower::ServiceExt;

    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(c) => c,
                Err(e) => {
                    // Out of file descriptors and the like: pause rather
                    // than spin.
                    tracing::warn!("accept: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let acceptor = acceptor.clone();
        let app = app.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            // A client that opens a connection and never says hello must
            // not hold a task forever.
            let handshake =
                tokio::time::timeout(std::time::Duration::from_secs(10), acceptor.accept(tcp));
            let stream = match handshake.await {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => {
                    tracing::debug!(%peer, "TLS handshake failed: {e}");
                    return;
                }
                Err(_) => return,
            };
            let service = hyper::service::service_fn(
                move |mut req: hyper::Request<hyper::body::Incoming>| {
                    req.extensions_mut()
                        .insert(axum::extract::ConnectInfo(peer));
                    app.clone().oneshot(req.map(axum::body::Body::new))
                },
            );
            let conn = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                .serve_connection_with_upgrades(TokioIo::new(stream), service)
                .into_owned();
            let _ = watcher.watch(conn).await;
        });
    }
    drop(listener);
    let _ = tokio::time::timeout(std::time::Duration::from_secs(30), graceful.shutdown()).await;
    Ok(())
}

async fn prometheus<S: Store>(State(state): State<AppState<S>>) -> impl IntoResponse {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        state.metrics.render(),
    )
}

async fn healthz() -> Json<Status> {
    Json(Status { status: "ok" })
}

async fn readyz<S: Store>(State(state): State<AppState<S>>) -> Result<Json<Status>, ApiError> {
    state.store.ping().await?;
    Ok(Json(Status { status: "ready" }))
}

fn bounded(field: &'static str, value: Option<&str>, max: usize) -> Result<(), ApiError> {
    match value {
        Some(v) if v.len() > max => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::InvalidBody,
            format!("{field} is longer than {max} bytes"),
        )),
        _ => Ok(()),
    }
}

/// An enrolled device, authenticated by its bearer token.
pub struct DeviceAuth(pub Device);

impl<S: Store> FromRequestParts<AppState<S>> for DeviceAuth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState<S>,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer(parts).ok_or_else(|| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                ErrorCode::MissingCredentials,
                "send Authorization: Bearer <device token>",
            )
        })?;
        match state.store.device_by_token(&hash_token(token)).await? {
            Some(device) => Ok(Self(device)),
            None => Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                ErrorCode::InvalidToken,
                "the device token is unknown or was replaced; enroll again",
            )),
        }
    }
}

/// A technician or administrator, authenticated by an API token.
pub struct UserAuth(pub User);

impl<S: Store> FromRequestParts<AppState<S>> for UserAuth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState<S>,
    ) -> Result<Self, Self::Rejection> {
        if let Some(token) = bearer(parts) {
            return match state.store.user_by_api_token(&hash_token(token)).await? {
                Some(user) => Ok(Self(user)),
                None => Err(ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    ErrorCode::InvalidToken,
                    "the API token is unknown or revoked",
                )),
            };
        }
        let Some(session) = session_cookie(parts) else {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                ErrorCode::MissingCredentials,
                "log in, or send Authorization: Bearer <API token>",
            ));
        };
        let Some((user, csrf_hash)) = state.store.session_user(&hash_token(session)).await? else {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                ErrorCode::SessionExpired,
                "the session ended; log in again",
            ));
        };
        // A cookie is sent by the browser on its own; a change needs the
        // CSRF token the login answer gave to the page.
        let safe = matches!(
            parts.method,
            axum::http::Method::GET | axum::http::Method::HEAD
        );
        if !safe {
            let sent = parts
                .headers
                .get("x-csrf-token")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            if sent.is_empty() || hash_token(sent) != csrf_hash {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    ErrorCode::CsrfFailed,
                    "send the X-CSRF-Token from the login answer",
                ));
            }
        }
        Ok(Self(user))
    }
}

/// An administrator: a [`UserAuth`] whose role is `admin`, so that what
/// the OpenAPI document says (`Auth::Admin`) and what is enforced are one.
pub struct AdminAuth(pub User);

impl<S: Store> FromRequestParts<AppState<S>> for AdminAuth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState<S>,
    ) -> Result<Self, Self::Rejection> {
        let UserAuth(user) = UserAuth::from_request_parts(parts, state).await?;
        require_admin(&user)?;
        Ok(Self(user))
    }
}

const SESSION_COOKIE: &str = "deskside_session";
const SESSION_HOURS: i64 = 12;

fn session_cookie(parts: &Parts) -> Option<&str> {
    session_from_headers(&parts.headers)
}

fn session_from_headers(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == SESSION_COOKIE)
        .map(|(_, v)| v)
        .filter(|v| !v.is_empty())
}

fn bearer(parts: &Parts) -> Option<&str> {
    bearer_from_headers(&parts.headers)
}

fn bearer_from_headers(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::InvalidBody,
        message,
    )
}

fn enum_from<T: serde::de::DeserializeOwned>(s: &str, fallback: T) -> T {
    serde_json::from_value(serde_json::Value::String(s.to_owned())).unwrap_or(fallback)
}

fn bad_query(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, ErrorCode::InvalidQuery, message)
}

fn ticket_not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, ErrorCode::NotFound, "no such ticket")
}

fn comment_body(body: &str) -> Result<&str, ApiError> {
    let b = body.trim();
    if b.is_empty() || b.chars().count() > 10_000 {
        return Err(invalid("a comment must be 1 to 10000 characters"));
    }
    Ok(b)
}

fn snake<T: serde::Serialize>(v: T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn require_admin(user: &User) -> Result<(), ApiError> {
    if user.role == Role::Admin {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorCode::Forbidden,
            "administrators only",
        ))
    }
}
