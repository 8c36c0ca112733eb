//! The HTTP API. Every error is JSON `{"error": {"code", "message"}}` with
//! the right status; client input never causes a 500 or a panic.

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
    CheckinRequest, CheckinResponse, EnrollRequest, EnrollResponse, ErrorBody, ErrorDetail,
    Inventory, InventoryAck, Policy, diff_inventories, inventory_hash,
};
use serde::de::DeserializeOwned;
use tower_http::decompression::RequestDecompressionLayer;
use tower_http::timeout::TimeoutLayer;

use crate::blobs::DiskBlobs;
use crate::credentials::{hash_token, new_token};
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
    code: &'static str,
    message: String,
    retry_after: Option<u64>,
}

impl ApiError {
    /// An error with this status, code and message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
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
                "rate_limited",
                "too many requests; slow down",
            )
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_owned(),
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
                "unsupported_media_type",
                "send Content-Type: application/json",
            ),
            JsonRejection::JsonSyntaxError(e) => {
                Self::new(StatusCode::BAD_REQUEST, "invalid_json", e.body_text())
            }
            JsonRejection::JsonDataError(e) => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_body",
                e.body_text(),
            ),
            JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Self::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "body_too_large",
                    "the request body is too large",
                )
            }
            other => Self::new(StatusCode::BAD_REQUEST, "bad_request", other.body_text()),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        // The client did nothing wrong; say so without internals.
        tracing::error!("storage: {e}");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "storage_unavailable",
            "the desk's database is unavailable, try again",
        )
    }
}

/// `Json` whose rejections are [`ApiError`]s.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        Json::<T>::from_request(req, state)
            .await
            .map(|Json(v)| Self(v))
            .map_err(ApiError::from)
    }
}

/// Shared state of the handlers.
#[derive(Clone)]
pub struct AppState<S> {
    /// The database.
    pub store: S,
    /// Limits `/enroll` per client address.
    pub enroll_limit: Arc<RateLimiter>,
    /// Seconds between check-ins, told to every agent.
    pub checkin_secs: u64,
    /// Attachment content.
    pub blobs: DiskBlobs,
    /// Counters for `/metrics`.
    pub metrics: Arc<Metrics>,
    /// Limits `/auth/login` per client address.
    pub login_limit: Arc<RateLimiter>,
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

/// The API router.
pub fn router<S: Store>(store: S, blobs: DiskBlobs, limits: Limits) -> Router {
    let metrics = Arc::new(Metrics::default());
    let counted = Arc::clone(&metrics);
    let enroll_limit = Arc::new(RateLimiter::new(
        limits.enroll_per_minute,
        limits.enroll_per_minute.saturating_mul(2),
    ));
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(prometheus::<S>))
        .route("/readyz", get(readyz::<S>))
        .route("/api/v1/enroll", post(enroll::<S>))
        .route("/api/v1/agent/inventory", put(put_inventory::<S>))
        .route("/api/v1/agent/checkin", post(checkin::<S>))
        .route(
            "/api/v1/agent/tickets",
            post(create_ticket::<S>)
                .get(list_tickets::<S>)
                .layer(DefaultBodyLimit::max(MAX_TICKET_BYTES)),
        )
        .route("/api/v1/agent/tickets/{id}", get(get_ticket::<S>))
        .route(
            "/api/v1/agent/tickets/{id}/comments",
            post(device_comment::<S>),
        )
        .route(
            "/api/v1/agent/tickets/{id}/rating",
            post(device_rating::<S>),
        )
        .route(
            "/api/v1/agent/tickets/{id}/reopen",
            post(device_reopen::<S>),
        )
        .route(
            "/api/v1/agent/tickets/{id}/attachments/{attachment}",
            get(device_attachment::<S>),
        )
        .route(
            "/api/v1/tickets/{id}/attachments/{attachment}",
            get(tech_attachment::<S>),
        )
        .route("/api/v1/tickets", get(tech_list_tickets::<S>))
        .route(
            "/api/v1/tickets/{id}",
            get(tech_get_ticket::<S>).patch(tech_patch_ticket::<S>),
        )
        .route("/api/v1/tickets/{id}/comments", post(tech_comment::<S>))
        .route("/api/v1/devices", get(list_devices::<S>))
        .route(
            "/api/v1/enroll-secrets",
            get(list_secrets::<S>).post(create_secret::<S>),
        )
        .route(
            "/api/v1/enroll-secrets/{id}",
            axum::routing::delete(revoke_secret::<S>),
        )
        .route("/api/v1/users", post(create_user::<S>))
        .route("/api/v1/auth/login", post(login::<S>))
        .route("/api/v1/auth/logout", post(logout::<S>))
        .route("/api/v1/devices/{id}", get(get_device::<S>))
        .route(
            "/api/v1/devices/{id}/inventory/changes",
            get(device_changes::<S>),
        )
        .route("/api/v1/policy", get(get_policy::<S>).put(put_policy::<S>))
        .fallback(|| async {
            ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
        })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
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
            enroll_limit,
            checkin_secs: limits.checkin_interval.as_secs().max(1),
            blobs,
            metrics,
            login_limit: Arc::new(RateLimiter::new(5, 10)),
        })
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

async fn prometheus<S: Store>(State(state): State<AppState<S>>) -> impl IntoResponse {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        state.metrics.render(),
    )
}

async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({"status": "ok"}))
}

async fn readyz<S: Store>(
    State(state): State<AppState<S>>,
) -> Result<Json<serde_json::Value>, ApiError> {
    state.store.ping().await?;
    Ok(Json(serde_json::json!({"status": "ready"})))
}

fn bounded(field: &'static str, value: Option<&str>, max: usize) -> Result<(), ApiError> {
    match value {
        Some(v) if v.len() > max => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
            format!("{field} is longer than {max} bytes"),
        )),
        _ => Ok(()),
    }
}

async fn enroll<S: Store>(
    State(state): State<AppState<S>>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    ApiJson(req): ApiJson<EnrollRequest>,
) -> Result<(StatusCode, Json<EnrollResponse>), ApiError> {
    if let Err(wait) = state.enroll_limit.check(client.ip()) {
        return Err(ApiError::rate_limited(wait));
    }
    bounded("enroll_secret", Some(&req.enroll_secret), 256)?;
    bounded("device.device_key", req.device.device_key.as_deref(), 256)?;
    bounded(
        "device.serial_number",
        req.device.serial_number.as_deref(),
        256,
    )?;
    bounded("device.hostname", req.device.hostname.as_deref(), 256)?;
    let secret = state
        .store
        .enroll_secret_by_hash(&hash_token(&req.enroll_secret))
        .await?;
    if !secret.is_some_and(|s| s.usable(Utc::now())) {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_enroll_secret",
            "the enroll secret is unknown, expired or revoked",
        ));
    }
    let token = new_token("dsk_dev");
    let token_hash = hash_token(&token);
    let enrolled = state
        .store
        .enroll_device(&NewEnrollment {
            device_key: req.device.device_key.as_deref(),
            serial_number: req.device.serial_number.as_deref(),
            hostname: req.device.hostname.as_deref(),
            token_hash: &token_hash,
        })
        .await?;
    tracing::info!(
        device_id = enrolled.device_id,
        reenrolled = enrolled.reenrolled,
        "device enrolled"
    );
    Metrics::inc(&state.metrics.enrollments);
    let status = if enrolled.reenrolled {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((
        status,
        Json(EnrollResponse {
            device_id: enrolled.device_id,
            device_token: token,
        }),
    ))
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
                "missing_credentials",
                "send Authorization: Bearer <device token>",
            )
        })?;
        match state.store.device_by_token(&hash_token(token)).await? {
            Some(device) => Ok(Self(device)),
            None => Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_token",
                "the device token is unknown or was replaced; enroll again",
            )),
        }
    }
}

/// `PUT /api/v1/agent/inventory`: the device's full inventory. The desk
/// keeps the current one and a diff for every change, not endless copies.
async fn put_inventory<S: Store>(
    State(state): State<AppState<S>>,
    DeviceAuth(device): DeviceAuth,
    ApiJson(inventory): ApiJson<Inventory>,
) -> Result<Json<InventoryAck>, ApiError> {
    let hash = inventory_hash(&inventory);
    let previous = state.store.current_inventory(device.id).await?;
    let changed = previous.as_ref().is_none_or(|(h, _)| *h != hash);
    // A stored body this version cannot read is treated as no history.
    let diff = previous
        .as_ref()
        .filter(|_| changed)
        .and_then(|(_, body)| serde_json::from_str::<Inventory>(body).ok())
        .map(|old| diff_inventories(&old, &inventory))
        .filter(|d| !d.is_empty())
        .map(|d| serde_json::to_string(&d))
        .transpose()
        .map_err(|e| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_body",
                e.to_string(),
            )
        })?;
    let body = serde_json::to_string(&inventory).map_err(|e| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
            e.to_string(),
        )
    })?;
    state
        .store
        .save_inventory(device.id, &hash, &body, diff.as_deref(), Utc::now())
        .await?;
    Metrics::inc(&state.metrics.inventories);
    Ok(Json(InventoryAck {
        inventory_hash: hash,
        changed,
    }))
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
                    "invalid_token",
                    "the API token is unknown or revoked",
                )),
            };
        }
        let Some(session) = session_cookie(parts) else {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "missing_credentials",
                "log in, or send Authorization: Bearer <API token>",
            ));
        };
        let Some((user, csrf_hash)) = state.store.session_user(&hash_token(session)).await? else {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "session_expired",
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
                    "csrf_failed",
                    "send the X-CSRF-Token from the login answer",
                ));
            }
        }
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
    parts
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_body", message)
}

fn policy_from_row(version: i64, checks: &str) -> Result<Policy, ApiError> {
    let checks = serde_json::from_str(checks).map_err(|e| {
        tracing::error!("stored policy {version} is unreadable: {e}");
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "storage_unavailable",
            "the stored policy is unreadable",
        )
    })?;
    Ok(Policy {
        version: u64::try_from(version).unwrap_or_default(),
        checks,
    })
}

/// `GET /api/v1/policy`: the current health-check policy.
async fn get_policy<S: Store>(
    State(state): State<AppState<S>>,
    UserAuth(_): UserAuth,
) -> Result<Json<Policy>, ApiError> {
    match state.store.current_policy().await? {
        Some((version, checks)) => Ok(Json(policy_from_row(version, &checks)?)),
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "no policy has been set; agents use their built-in one",
        )),
    }
}

/// `PUT /api/v1/policy` (administrators): a new policy version, pushed to
/// agents at their next check-in. Every check is validated the way agents
/// validate it; any invalid check refuses the whole policy, naming it.
async fn put_policy<S: Store>(
    State(state): State<AppState<S>>,
    UserAuth(user): UserAuth,
    ApiJson(policy): ApiJson<Policy>,
) -> Result<Json<Policy>, ApiError> {
    require_admin(&user)?;
    if policy.checks.len() > 500 {
        return Err(invalid("a policy holds at most 500 checks"));
    }
    let loaded = deskside_host::checks::LoadedPolicy::load(&policy);
    if !loaded.errors.is_empty() {
        let msgs: Vec<String> = loaded.errors.iter().map(ToString::to_string).collect();
        return Err(invalid(msgs.join("; ")));
    }
    let checks = serde_json::to_string(&policy.checks).map_err(|e| invalid(e.to_string()))?;
    let version = state.store.put_policy(&checks, user.id).await?;
    tracing::info!(version, by = %user.email, "policy changed");
    Ok(Json(Policy {
        version: u64::try_from(version).unwrap_or_default(),
        checks: policy.checks,
    }))
}

/// `POST /api/v1/agent/checkin`: what changed on the device; the answer
/// says when to come back, whether to send the inventory, and carries the
/// policy when the agent's is older.
async fn checkin<S: Store>(
    State(state): State<AppState<S>>,
    DeviceAuth(device): DeviceAuth,
    ApiJson(req): ApiJson<CheckinRequest>,
) -> Result<Json<CheckinResponse>, ApiError> {
    if req.check_results.len() > 1000 || req.metrics.len() > 2000 {
        return Err(invalid(
            "at most 1000 check results and 2000 metric samples per check-in",
        ));
    }
    bounded("agent_version", req.agent_version.as_deref(), 64)?;
    bounded("inventory_hash", req.inventory_hash.as_deref(), 128)?;
    let mut results = Vec::with_capacity(req.check_results.len());
    for r in &req.check_results {
        bounded("check_results.check_id", Some(&r.check_id), 128)?;
        let json = serde_json::to_string(r).map_err(|e| invalid(e.to_string()))?;
        results.push((r.check_id.as_str(), r.state.as_str(), json));
    }
    let samples = req
        .metrics
        .iter()
        .map(|m| serde_json::to_string(m).map(|j| (m.timestamp, j)))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid(e.to_string()))?;
    state
        .store
        .record_checkin(&Checkin {
            device_id: device.id,
            agent_version: req.agent_version.as_deref(),
            health: req.overall_health.map(|h| h.as_str()),
            results,
            samples,
            at: Utc::now(),
        })
        .await?;
    Metrics::inc(&state.metrics.checkins);
    let stored_hash = state
        .store
        .current_inventory(device.id)
        .await?
        .map(|(h, _)| h);
    let send_inventory = stored_hash.is_none() || stored_hash != req.inventory_hash;
    let known = i64::try_from(req.policy_version.unwrap_or(0)).unwrap_or(i64::MAX);
    let policy = match state.store.current_policy().await? {
        Some((version, checks)) if version > known => Some(policy_from_row(version, &checks)?),
        _ => None,
    };
    let mut ticket_updates = Vec::new();
    for t in state
        .store
        .device_tickets_changed(device.id, req.tickets_seen_at, 100)
        .await?
    {
        let comments = state.store.comments(t.id, false).await?;
        ticket_updates.push(ticket_json(t, Vec::new(), comments));
    }
    Ok(Json(CheckinResponse {
        next_checkin_secs: state.checkin_secs,
        send_inventory,
        policy,
        ticket_updates,
    }))
}

/// Largest ticket submission (all parts together).
const MAX_TICKET_BYTES: usize = 32 * 1024 * 1024;
/// Largest attachment.
const MAX_ATTACHMENT_BYTES: usize = 10 * 1024 * 1024;
/// Largest diagnostics bundle (the agent caps its bundles at 2 MB).
const MAX_DIAGNOSTICS_BYTES: usize = 4 * 1024 * 1024;
/// Most attachments per ticket.
const MAX_ATTACHMENTS: usize = 10;

fn multipart_error(status: StatusCode, text: String) -> ApiError {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            "the submission is too large",
        )
    } else if status == StatusCode::UNSUPPORTED_MEDIA_TYPE {
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send multipart/form-data",
        )
    } else {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_multipart", text)
    }
}

async fn read_part(
    mut field: axum::extract::multipart::Field<'_>,
    cap: usize,
    what: &str,
) -> Result<Vec<u8>, ApiError> {
    let mut out = Vec::new();
    while let Some(chunk) = field
        .chunk()
        .await
        .map_err(|e| multipart_error(e.status(), e.body_text()))?
    {
        if out.len() + chunk.len() > cap {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "part_too_large",
                format!("the {what} is larger than {cap} bytes"),
            ));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

fn enum_from<T: serde::de::DeserializeOwned>(s: &str, fallback: T) -> T {
    serde_json::from_value(serde_json::Value::String(s.to_owned())).unwrap_or(fallback)
}

fn ticket_json(
    t: TicketRow,
    attachments: Vec<AttachmentRow>,
    comments: Vec<CommentRow>,
) -> deskside_protocol::Ticket {
    use deskside_protocol::{AttachmentInfo, TicketCategory, TicketStatus, Urgency};
    deskside_protocol::Ticket {
        id: t.id,
        subject: t.subject,
        description: t.description,
        category: enum_from(&t.category, TicketCategory::Other),
        urgency: enum_from(&t.urgency, Urgency::Medium),
        status: enum_from(&t.status, TicketStatus::New),
        priority: u8::try_from(t.priority).unwrap_or(3),
        created_at: t.created_at,
        updated_at: t.updated_at,
        attachments: attachments
            .into_iter()
            .map(|a| AttachmentInfo {
                id: a.id,
                name: a.name,
                content_type: a.content_type,
                size_bytes: u64::try_from(a.size_bytes).unwrap_or_default(),
                diagnostics: a.diagnostics,
            })
            .collect(),
        comments: comments
            .into_iter()
            .map(|c| deskside_protocol::Comment {
                id: c.id,
                author: if c.user_id.is_some() {
                    deskside_protocol::CommentAuthor::Technician
                } else {
                    deskside_protocol::CommentAuthor::Employee
                },
                body: c.body,
                created_at: c.created_at,
            })
            .collect(),
    }
}

/// Priority from the ITIL impact × urgency matrix; a device's ticket starts
/// at medium impact until a technician assesses it.
fn priority(urgency: deskside_protocol::Urgency) -> i64 {
    itil_priority(deskside_protocol::Urgency::Medium, urgency)
}

/// The ITIL impact × urgency matrix: 1 (critical) to 5 (planning).
pub fn itil_priority(
    impact: deskside_protocol::Urgency,
    urgency: deskside_protocol::Urgency,
) -> i64 {
    use deskside_protocol::Urgency::{High, Low, Medium};
    match (impact, urgency) {
        (High, High) => 1,
        (High, Medium) | (Medium, High) => 2,
        (High, Low) | (Medium, Medium) | (Low, High) => 3,
        (Medium, Low) | (Low, Medium) => 4,
        (Low, Low) => 5,
    }
}

/// `POST /api/v1/agent/tickets`: multipart with a `ticket` JSON part, an
/// optional `diagnostics` part and up to 10 `attachment` parts. The
/// `Idempotency-Key` header is required: the same key returns the same
/// ticket (200) instead of creating another (201).
async fn create_ticket<S: Store>(
    State(state): State<AppState<S>>,
    DeviceAuth(device): DeviceAuth,
    headers: axum::http::HeaderMap,
    multipart: Result<axum::extract::Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<(StatusCode, Json<deskside_protocol::Ticket>), ApiError> {
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "idempotency_key_required",
                "send an Idempotency-Key header",
            )
        })?
        .to_owned();
    if key.len() > 128
        || !key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_:.".contains(&b))
    {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_idempotency_key",
            "Idempotency-Key: 1 to 128 letters, digits, '-', '_', ':' or '.'",
        ));
    }
    let mut mp = multipart.map_err(|e| multipart_error(e.status(), e.body_text()))?;
    let mut ticket: Option<deskside_protocol::NewTicket> = None;
    let mut files: Vec<(String, String, Vec<u8>, bool)> = Vec::new();
    while let Some(field) = mp
        .next_field()
        .await
        .map_err(|e| multipart_error(e.status(), e.body_text()))?
    {
        let part = field.name().unwrap_or_default().to_owned();
        let file_name = field.file_name().map(str::to_owned);
        let content_type = field
            .content_type()
            .unwrap_or("application/octet-stream")
            .to_owned();
        match part.as_str() {
            "ticket" => {
                let bytes = read_part(field, 64 * 1024, "ticket part").await?;
                ticket = Some(
                    serde_json::from_slice(&bytes)
                        .map_err(|e| invalid(format!("ticket part: {e}")))?,
                );
            }
            "diagnostics" => {
                let bytes = read_part(field, MAX_DIAGNOSTICS_BYTES, "diagnostics bundle").await?;
                files.push((
                    file_name.unwrap_or_else(|| "diagnostics".into()),
                    content_type,
                    bytes,
                    true,
                ));
            }
            "attachment" => {
                if files.iter().filter(|f| !f.3).count() >= MAX_ATTACHMENTS {
                    return Err(invalid(format!("at most {MAX_ATTACHMENTS} attachments")));
                }
                let bytes = read_part(field, MAX_ATTACHMENT_BYTES, "attachment").await?;
                files.push((
                    file_name.unwrap_or_else(|| "attachment".into()),
                    content_type,
                    bytes,
                    false,
                ));
            }
            other => {
                return Err(invalid(format!(
                    "unexpected part {other:?} (ticket, diagnostics, attachment)"
                )));
            }
        }
    }
    let ticket = ticket.ok_or_else(|| invalid("the ticket part is missing"))?;
    let subject = ticket.subject.trim();
    if subject.is_empty() || subject.chars().count() > 200 {
        return Err(invalid("subject must be 1 to 200 characters"));
    }
    if ticket.description.chars().count() > 20_000 {
        return Err(invalid("description must be at most 20000 characters"));
    }
    for (name, ct, _, _) in &files {
        if name.len() > 255 || ct.len() > 255 {
            return Err(invalid(
                "file names and content types must be at most 255 bytes",
            ));
        }
    }
    // Content first, rows second: a crash in between leaves an unreferenced
    // blob, never a row without content.
    let mut attachments = Vec::with_capacity(files.len());
    for (name, ct, bytes, diagnostics) in files {
        let blobs = state.blobs.clone();
        let size = i64::try_from(bytes.len()).unwrap_or(i64::MAX);
        let key = tokio::task::spawn_blocking(move || blobs.put(&bytes))
            .await
            .map_err(|e| {
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "storage_unavailable",
                    e.to_string(),
                )
            })?
            .map_err(|e| {
                tracing::error!("blob store: {e}");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "storage_unavailable",
                    "cannot store the attachment",
                )
            })?;
        attachments.push((name, ct, size, key, diagnostics));
    }
    let keys: Vec<String> = attachments.iter().map(|a| a.3.clone()).collect();
    let category = serde_json::to_value(ticket.category)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    let urgency = serde_json::to_value(ticket.urgency)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    let (id, created) = state
        .store
        .create_ticket(&NewTicketRow {
            device_id: device.id,
            idempotency_key: &key,
            subject,
            description: &ticket.description,
            category: &category,
            urgency: &urgency,
            priority: priority(ticket.urgency),
            attachments,
        })
        .await?;
    if created {
        Metrics::inc(&state.metrics.tickets);
    } else {
        // A retry: the ticket exists with the first submission's files.
        for k in &keys {
            state.blobs.delete(k);
        }
    }
    let (row, atts) = state
        .store
        .device_ticket(device.id, id)
        .await?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "storage_unavailable",
                "ticket vanished",
            )
        })?;
    tracing::info!(ticket = id, device = device.id, created, "ticket submitted");
    Ok((
        if created {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        },
        Json(ticket_json(
            row,
            atts,
            state.store.comments(id, false).await?,
        )),
    ))
}

/// `GET /api/v1/agent/tickets`: this device's tickets, newest first.
async fn list_tickets<S: Store>(
    State(state): State<AppState<S>>,
    DeviceAuth(device): DeviceAuth,
) -> Result<Json<Vec<deskside_protocol::Ticket>>, ApiError> {
    let rows = state.store.device_tickets(device.id).await?;
    Ok(Json(
        rows.into_iter()
            .map(|t| ticket_json(t, Vec::new(), Vec::new()))
            .collect(),
    ))
}

/// `GET /api/v1/agent/tickets/{id}`: one of this device's tickets; another
/// device's ticket is answered exactly like a missing one.
async fn get_ticket<S: Store>(
    State(state): State<AppState<S>>,
    DeviceAuth(device): DeviceAuth,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Result<Json<deskside_protocol::Ticket>, ApiError> {
    let not_found = || ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such ticket");
    let id: i64 = id.parse().map_err(|_| not_found())?;
    let (row, atts) = state
        .store
        .device_ticket(device.id, id)
        .await?
        .ok_or_else(not_found)?;
    // Internal notes never reach a device.
    let comments = state.store.comments(id, false).await?;
    Ok(Json(ticket_json(row, atts, comments)))
}

/// A device in the technician API.
#[derive(Debug, serde::Serialize)]
pub struct DeviceView {
    id: i64,
    hostname: Option<String>,
    serial_number: Option<String>,
    agent_version: Option<String>,
    health: Option<String>,
    last_seen: Option<chrono::DateTime<Utc>>,
    enrolled_at: chrono::DateTime<Utc>,
}

impl From<crate::store::DeviceSummary> for DeviceView {
    fn from(d: crate::store::DeviceSummary) -> Self {
        Self {
            id: d.id,
            hostname: d.hostname,
            serial_number: d.serial_number,
            agent_version: d.agent_version,
            health: d.health,
            last_seen: d.last_seen,
            enrolled_at: d.enrolled_at,
        }
    }
}

/// Query of `GET /api/v1/devices`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceQuery {
    /// Text the host name contains.
    search: Option<String>,
    /// `ok`, `warning`, `critical` or `unknown`.
    health: Option<String>,
    /// The `next_cursor` of the previous page.
    cursor: Option<i64>,
    /// Page size, 1–500 (default 50).
    limit: Option<u32>,
}

fn bad_query(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", message)
}

/// `GET /api/v1/devices`: devices page by page (cursor pagination).
async fn list_devices<S: Store>(
    State(state): State<AppState<S>>,
    UserAuth(_): UserAuth,
    query: Result<axum::extract::Query<DeviceQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let axum::extract::Query(q) = query.map_err(|e| bad_query(e.body_text()))?;
    let limit = q.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(bad_query("limit must be between 1 and 500"));
    }
    if let Some(h) = &q.health {
        if !["ok", "warning", "critical", "unknown"].contains(&h.as_str()) {
            return Err(bad_query("health must be ok, warning, critical or unknown"));
        }
    }
    if q.search.as_ref().is_some_and(|s| s.len() > 256) {
        return Err(bad_query("search is longer than 256 bytes"));
    }
    let devices = state
        .store
        .list_devices(
            q.search.as_deref(),
            q.health.as_deref(),
            q.cursor.unwrap_or(0),
            limit,
        )
        .await?;
    let next_cursor = (devices.len() == limit as usize)
        .then(|| devices.last().map(|d| d.id))
        .flatten();
    let devices: Vec<DeviceView> = devices.into_iter().map(DeviceView::from).collect();
    Ok(Json(
        serde_json::json!({"devices": devices, "next_cursor": next_cursor}),
    ))
}

fn device_id(raw: &str) -> Result<i64, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such device"))
}

/// `GET /api/v1/devices/{id}`: the device, its inventory and its latest
/// check results.
async fn get_device<S: Store>(
    State(state): State<AppState<S>>,
    UserAuth(_): UserAuth,
    axum::extract::Path(raw): axum::extract::Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let id = device_id(&raw)?;
    let device = state
        .store
        .device(id)
        .await?
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such device"))?;
    let inventory = state.store.current_inventory(id).await?;
    let checks: Vec<serde_json::Value> = state
        .store
        .check_results(id)
        .await?
        .into_iter()
        .filter_map(|(_, _, json)| serde_json::from_str(&json).ok())
        .collect();
    Ok(Json(serde_json::json!({
        "device": DeviceView::from(device),
        "inventory_hash": inventory.as_ref().map(|(h, _)| h),
        "inventory": inventory.and_then(|(_, body)| serde_json::from_str::<serde_json::Value>(&body).ok()),
        "check_results": checks,
    })))
}

/// `GET /api/v1/devices/{id}/inventory/changes`: what changed, newest
/// first.
async fn device_changes<S: Store>(
    State(state): State<AppState<S>>,
    UserAuth(_): UserAuth,
    axum::extract::Path(raw): axum::extract::Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let id = device_id(&raw)?;
    if state.store.device(id).await?.is_none() {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "no such device",
        ));
    }
    let changes: Vec<serde_json::Value> = state
        .store
        .inventory_changes(id, 500)
        .await?
        .into_iter()
        .map(|(at, diff)| {
            serde_json::json!({"changed_at": at, "diff": serde_json::from_str::<serde_json::Value>(&diff).unwrap_or_default()})
        })
        .collect();
    Ok(Json(serde_json::json!({"changes": changes})))
}

fn ticket_not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such ticket")
}

fn comment_body(body: &str) -> Result<&str, ApiError> {
    let b = body.trim();
    if b.is_empty() || b.chars().count() > 10_000 {
        return Err(invalid("a comment must be 1 to 10000 characters"));
    }
    Ok(b)
}

/// `POST /api/v1/agent/tickets/{id}/comments`: the employee answers.
async fn device_comment<S: Store>(
    State(state): State<AppState<S>>,
    DeviceAuth(device): DeviceAuth,
    axum::extract::Path(raw): axum::extract::Path<String>,
    ApiJson(c): ApiJson<deskside_protocol::NewComment>,
) -> Result<(StatusCode, Json<deskside_protocol::Comment>), ApiError> {
    let id: i64 = raw.parse().map_err(|_| ticket_not_found())?;
    if state.store.device_ticket(device.id, id).await?.is_none() {
        return Err(ticket_not_found());
    }
    let body = comment_body(&c.body)?;
    let comment_id = state.store.add_comment(id, None, body, false).await?;
    Ok((
        StatusCode::CREATED,
        Json(deskside_protocol::Comment {
            id: comment_id,
            author: deskside_protocol::CommentAuthor::Employee,
            body: body.to_owned(),
            created_at: Utc::now(),
        }),
    ))
}

/// Query of `GET /api/v1/tickets`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TicketQuery {
    /// Only tickets in this status.
    status: Option<deskside_protocol::TicketStatus>,
    /// The `next_cursor` of the previous page.
    cursor: Option<i64>,
    /// Page size, 1–500 (default 50).
    limit: Option<u32>,
}

fn snake<T: serde::Serialize>(v: T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// `GET /api/v1/tickets`: the queue, newest first.
async fn tech_list_tickets<S: Store>(
    State(state): State<AppState<S>>,
    UserAuth(_): UserAuth,
    query: Result<axum::extract::Query<TicketQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let axum::extract::Query(q) = query.map_err(|e| bad_query(e.body_text()))?;
    let limit = q.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(bad_query("limit must be between 1 and 500"));
    }
    let status = q.status.map(snake);
    let rows = state
        .store
        .list_tickets(status.as_deref(), q.cursor.unwrap_or(0), limit)
        .await?;
    let next_cursor = (rows.len() == limit as usize)
        .then(|| rows.last().map(|t| t.id))
        .flatten();
    let tickets: Vec<deskside_protocol::Ticket> = rows
        .into_iter()
        .map(|t| ticket_json(t, Vec::new(), Vec::new()))
        .collect();
    Ok(Json(
        serde_json::json!({"tickets": tickets, "next_cursor": next_cursor}),
    ))
}

async fn technician_view<S: Store>(
    state: &AppState<S>,
    w: TicketWork,
) -> Result<serde_json::Value, ApiError> {
    let id = w.row.id;
    let comments: Vec<serde_json::Value> = state
        .store
        .comments(id, true)
        .await?
        .into_iter()
        .map(|c| {
            serde_json::json!({"id": c.id, "user_id": c.user_id, "body": c.body, "internal": c.internal,
                "created_at": c.created_at})
        })
        .collect();
    let audit: Vec<serde_json::Value> = state
        .store
        .ticket_audit(id)
        .await?
        .into_iter()
        .map(|(user, action, detail, at)| {
            serde_json::json!({"user_id": user, "action": action, "at": at,
                "detail": serde_json::from_str::<serde_json::Value>(&detail).unwrap_or_default()})
        })
        .collect();
    Ok(serde_json::json!({
        "ticket": ticket_json(w.row, Vec::new(), Vec::new()),
        "device_id": w.device_id,
        "impact": w.impact,
        "tier": w.tier,
        "assignee_id": w.assignee_id,
        "comments": comments,
        "audit": audit,
    }))
}

async fn work_item<S: Store>(state: &AppState<S>, raw: &str) -> Result<TicketWork, ApiError> {
    let id: i64 = raw.parse().map_err(|_| ticket_not_found())?;
    state
        .store
        .ticket_work(id)
        .await?
        .ok_or_else(ticket_not_found)
}

/// `GET /api/v1/tickets/{id}`: everything, internal notes and audit trail
/// included.
async fn tech_get_ticket<S: Store>(
    State(state): State<AppState<S>>,
    UserAuth(_): UserAuth,
    axum::extract::Path(raw): axum::extract::Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let w = work_item(&state, &raw).await?;
    Ok(Json(technician_view(&state, w).await?))
}

/// `PATCH /api/v1/tickets/{id}` body.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TicketPatch {
    status: Option<deskside_protocol::TicketStatus>,
    impact: Option<deskside_protocol::Urgency>,
    urgency: Option<deskside_protocol::Urgency>,
    category: Option<deskside_protocol::TicketCategory>,
    tier: Option<u8>,
    /// `null` unassigns.
    #[serde(default, deserialize_with = "some")]
    assignee_email: Option<Option<String>>,
}

fn some<'de, D: serde::Deserializer<'de>, T: serde::Deserialize<'de>>(
    d: D,
) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

/// The workflow: new → open → pending → resolved → closed, with reopening.
pub fn transition_allowed(
    from: deskside_protocol::TicketStatus,
    to: deskside_protocol::TicketStatus,
) -> bool {
    use deskside_protocol::TicketStatus::{Closed, New, Open, Pending, Resolved};
    from == to
        || matches!(
            (from, to),
            (New, Open | Pending | Resolved)
                | (Open, Pending | Resolved)
                | (Pending, Open | Resolved)
                | (Resolved, Closed | Open)
                | (Closed, Open)
        )
}

/// `PATCH /api/v1/tickets/{id}`: status (by the workflow), assignee,
/// category, impact and urgency (priority follows), tier. Audited.
async fn tech_patch_ticket<S: Store>(
    State(state): State<AppState<S>>,
    UserAuth(user): UserAuth,
    axum::extract::Path(raw): axum::extract::Path<String>,
    ApiJson(patch): ApiJson<TicketPatch>,
) -> Result<Json<serde_json::Value>, ApiError> {
    use deskside_protocol::{TicketStatus, Urgency};
    let mut w = work_item(&state, &raw).await?;
    let before = (
        w.row.status.clone(),
        w.impact.clone(),
        w.row.urgency.clone(),
        w.row.category.clone(),
        w.tier,
        w.assignee_id,
    );
    if let Some(to) = patch.status {
        let from = enum_from(&w.row.status, TicketStatus::New);
        if !transition_allowed(from, to) {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "invalid_transition",
                format!("a {} ticket cannot become {}", snake(from), snake(to)),
            ));
        }
        w.row.status = snake(to);
    }
    if let Some(i) = patch.impact {
        w.impact = snake(i);
    }
    if let Some(u) = patch.urgency {
        w.row.urgency = snake(u);
    }
    if let Some(c) = patch.category {
        w.row.category = snake(c);
    }
    if let Some(t) = patch.tier {
        if !(1..=3).contains(&t) {
            return Err(invalid("tier must be 1, 2 or 3"));
        }
        w.tier = i64::from(t);
    }
    if let Some(assignee) = patch.assignee_email {
        w.assignee_id = match assignee {
            None => None,
            Some(email) => Some(
                state
                    .store
                    .user_by_email(&email)
                    .await?
                    .ok_or_else(|| invalid(format!("no technician {email}")))?
                    .id,
            ),
        };
    }
    w.row.priority = itil_priority(
        enum_from(&w.impact, Urgency::Medium),
        enum_from(&w.row.urgency, Urgency::Medium),
    );
    let after = (
        w.row.status.clone(),
        w.impact.clone(),
        w.row.urgency.clone(),
        w.row.category.clone(),
        w.tier,
        w.assignee_id,
    );
    if before != after {
        let detail = serde_json::json!({"before": {"status": before.0, "impact": before.1, "urgency": before.2,
            "category": before.3, "tier": before.4, "assignee_id": before.5},
            "after": {"status": after.0, "impact": after.1, "urgency": after.2, "category": after.3,
            "tier": after.4, "assignee_id": after.5}});
        state
            .store
            .update_ticket(&w, user.id, &detail.to_string())
            .await?;
        tracing::info!(ticket = w.row.id, by = %user.email, "ticket updated");
    }
    let w = work_item(&state, &raw).await?;
    Ok(Json(technician_view(&state, w).await?))
}

/// `POST /api/v1/tickets/{id}/comments` body.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TechComment {
    body: String,
    /// An internal note, never shown to the device.
    #[serde(default)]
    internal: bool,
}

/// `POST /api/v1/tickets/{id}/comments`: a reply, or an internal note.
async fn tech_comment<S: Store>(
    State(state): State<AppState<S>>,
    UserAuth(user): UserAuth,
    axum::extract::Path(raw): axum::extract::Path<String>,
    ApiJson(c): ApiJson<TechComment>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let w = work_item(&state, &raw).await?;
    let body = comment_body(&c.body)?;
    let id = state
        .store
        .add_comment(w.row.id, Some(user.id), body, c.internal)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({"id": id, "internal": c.internal})),
    ))
}

/// Serves an attachment as a download: the stored content type, but never
/// rendered inline and never sniffed, so an uploaded HTML or SVG file
/// cannot run in a technician's browser.
async fn attachment_response<S: Store>(
    state: &AppState<S>,
    ticket_id: i64,
    raw: &str,
) -> Result<Response, ApiError> {
    let not_found = || ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such attachment");
    let att_id: i64 = raw.parse().map_err(|_| not_found())?;
    let att = state
        .store
        .attachment(ticket_id, att_id)
        .await?
        .ok_or_else(not_found)?;
    let blobs = state.blobs.clone();
    let key = att.blob_key.clone();
    let bytes = tokio::task::spawn_blocking(move || blobs.get(&key))
        .await
        .map_err(|e| {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "storage_unavailable",
                e.to_string(),
            )
        })?
        .map_err(|e| {
            tracing::error!("blob {}: {e}", att.blob_key);
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "storage_unavailable",
                "the attachment is unavailable",
            )
        })?;
    // Only a plain, quoted file name goes into the header.
    let safe: String = att
        .name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || ".-_ ".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let content_type = axum::http::HeaderValue::from_str(&att.content_type).unwrap_or(
        axum::http::HeaderValue::from_static("application/octet-stream"),
    );
    let mut resp = bytes.into_response();
    let h = resp.headers_mut();
    h.insert(axum::http::header::CONTENT_TYPE, content_type);
    h.insert(
        axum::http::header::X_CONTENT_TYPE_OPTIONS,
        axum::http::HeaderValue::from_static("nosniff"),
    );
    if let Ok(v) = axum::http::HeaderValue::from_str(&format!("attachment; filename=\"{safe}\"")) {
        h.insert(axum::http::header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}

/// `GET /api/v1/agent/tickets/{id}/attachments/{attachment}`: the device's
/// own tickets only.
async fn device_attachment<S: Store>(
    State(state): State<AppState<S>>,
    DeviceAuth(device): DeviceAuth,
    axum::extract::Path((raw_ticket, raw_att)): axum::extract::Path<(String, String)>,
) -> Result<Response, ApiError> {
    let id: i64 = raw_ticket.parse().map_err(|_| ticket_not_found())?;
    if state.store.device_ticket(device.id, id).await?.is_none() {
        return Err(ticket_not_found());
    }
    attachment_response(&state, id, &raw_att).await
}

/// `GET /api/v1/tickets/{id}/attachments/{attachment}`.
async fn tech_attachment<S: Store>(
    State(state): State<AppState<S>>,
    UserAuth(_): UserAuth,
    axum::extract::Path((raw_ticket, raw_att)): axum::extract::Path<(String, String)>,
) -> Result<Response, ApiError> {
    let w = work_item(&state, &raw_ticket).await?;
    attachment_response(&state, w.row.id, &raw_att).await
}

/// `POST /api/v1/agent/tickets/{id}/rating` body.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rating {
    /// 1 to 5.
    score: u8,
    /// Optional words.
    #[serde(default)]
    comment: Option<String>,
}

/// `POST /api/v1/agent/tickets/{id}/rating`: once, after resolution.
async fn device_rating<S: Store>(
    State(state): State<AppState<S>>,
    DeviceAuth(device): DeviceAuth,
    axum::extract::Path(raw): axum::extract::Path<String>,
    ApiJson(r): ApiJson<Rating>,
) -> Result<StatusCode, ApiError> {
    let id: i64 = raw.parse().map_err(|_| ticket_not_found())?;
    if state.store.device_ticket(device.id, id).await?.is_none() {
        return Err(ticket_not_found());
    }
    if !(1..=5).contains(&r.score) {
        return Err(invalid("score must be 1 to 5"));
    }
    bounded("comment", r.comment.as_deref(), 2000)?;
    if !state
        .store
        .rate_ticket(id, i64::from(r.score), r.comment.as_deref())
        .await?
    {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "cannot_rate",
            "a ticket can be rated once, after it was resolved",
        ));
    }
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/agent/tickets/{id}/reopen`: the problem is back.
async fn device_reopen<S: Store>(
    State(state): State<AppState<S>>,
    DeviceAuth(device): DeviceAuth,
    axum::extract::Path(raw): axum::extract::Path<String>,
) -> Result<StatusCode, ApiError> {
    let id: i64 = raw.parse().map_err(|_| ticket_not_found())?;
    if state.store.device_ticket(device.id, id).await?.is_none() {
        return Err(ticket_not_found());
    }
    if !state.store.reopen_ticket(id).await? {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "invalid_transition",
            "only a resolved or closed ticket can be reopened",
        ));
    }
    Ok(StatusCode::NO_CONTENT)
}

fn require_admin(user: &User) -> Result<(), ApiError> {
    if user.role == Role::Admin {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "administrators only",
        ))
    }
}

fn secret_view(s: &crate::store::EnrollSecret) -> serde_json::Value {
    let state = if s.revoked_at.is_some() {
        "revoked"
    } else if s.usable(Utc::now()) {
        "active"
    } else {
        "expired"
    };
    serde_json::json!({"id": s.id, "label": s.label, "created_at": s.created_at, "expires_at": s.expires_at,
        "revoked_at": s.revoked_at, "state": state})
}

/// `POST /api/v1/enroll-secrets` body.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewSecret {
    label: Option<String>,
    /// Lifetime in seconds; absent: until revoked.
    expires_in_secs: Option<u64>,
}

/// `POST /api/v1/enroll-secrets` (administrators): the secret is in this
/// answer only; the desk keeps its hash.
async fn create_secret<S: Store>(
    State(state): State<AppState<S>>,
    UserAuth(user): UserAuth,
    ApiJson(req): ApiJson<NewSecret>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    require_admin(&user)?;
    bounded("label", req.label.as_deref(), 200)?;
    let expires_at = match req.expires_in_secs {
        None => None,
        Some(secs) if (60..=10 * 365 * 86400).contains(&secs) => {
            Some(Utc::now() + chrono::TimeDelta::seconds(i64::try_from(secs).unwrap_or(i64::MAX)))
        }
        Some(_) => return Err(invalid("expires_in_secs must be between 60 and 315360000")),
    };
    let secret = new_token("dsk_enr");
    let s = state
        .store
        .create_enroll_secret(req.label.as_deref(), &hash_token(&secret), expires_at)
        .await?;
    tracing::info!(id = s.id, by = %user.email, "enroll secret created");
    let mut view = secret_view(&s);
    view["secret"] = serde_json::Value::String(secret);
    Ok((StatusCode::CREATED, Json(view)))
}

/// `GET /api/v1/enroll-secrets` (administrators).
async fn list_secrets<S: Store>(
    State(state): State<AppState<S>>,
    UserAuth(user): UserAuth,
) -> Result<Json<serde_json::Value>, ApiError> {
    require_admin(&user)?;
    let list: Vec<serde_json::Value> = state
        .store
        .list_enroll_secrets()
        .await?
        .iter()
        .map(secret_view)
        .collect();
    Ok(Json(serde_json::json!({"enroll_secrets": list})))
}

/// `DELETE /api/v1/enroll-secrets/{id}` (administrators): revoked at once.
async fn revoke_secret<S: Store>(
    State(state): State<AppState<S>>,
    UserAuth(user): UserAuth,
    axum::extract::Path(raw): axum::extract::Path<String>,
) -> Result<StatusCode, ApiError> {
    require_admin(&user)?;
    let not_found = || {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "no active enroll secret with this id",
        )
    };
    let id: i64 = raw.parse().map_err(|_| not_found())?;
    if !state.store.revoke_enroll_secret(id).await? {
        return Err(not_found());
    }
    tracing::info!(id, by = %user.email, "enroll secret revoked");
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/users` body.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    email: String,
    role: String,
    password: Option<String>,
}

/// `POST /api/v1/users` (administrators).
async fn create_user<S: Store>(
    State(state): State<AppState<S>>,
    UserAuth(user): UserAuth,
    ApiJson(req): ApiJson<NewUser>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    require_admin(&user)?;
    if !req.email.contains('@') || req.email.len() > 254 {
        return Err(invalid("email is not an e-mail address"));
    }
    let role = Role::parse(&req.role).ok_or_else(|| invalid("role must be admin or technician"))?;
    let password_hash = match req.password.as_deref() {
        None => None,
        Some(p) if p.chars().count() >= 12 && p.len() <= 1024 => {
            let p = p.to_owned();
            Some(
                tokio::task::spawn_blocking(move || crate::credentials::hash_password(&p))
                    .await
                    .map_err(|e| {
                        ApiError::new(
                            StatusCode::SERVICE_UNAVAILABLE,
                            "unavailable",
                            e.to_string(),
                        )
                    })?
                    .map_err(invalid)?,
            )
        }
        Some(_) => return Err(invalid("password must be 12 to 1024 characters")),
    };
    let created = match state
        .store
        .create_user(&req.email, role, password_hash.as_deref())
        .await
    {
        Ok(u) => u,
        Err(StoreError::Conflict(what)) => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "already_exists",
                format!("{what} already exists"),
            ));
        }
        Err(e) => return Err(e.into()),
    };
    tracing::info!(user = %created.email, by = %user.email, "user created");
    Ok((
        StatusCode::CREATED,
        Json(
            serde_json::json!({"id": created.id, "email": created.email, "role": created.role.as_str()}),
        ),
    ))
}

/// `POST /api/v1/auth/login` body.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Login {
    email: String,
    password: String,
}

/// An argon2id hash of a random password, verified when the e-mail is
/// unknown so that the answer takes as long as for a wrong password.
fn dummy_hash() -> String {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY
        .get_or_init(|| crate::credentials::hash_password(&new_token("dummy")).unwrap_or_default())
        .clone()
}

/// `POST /api/v1/auth/login`: a browser session. The session token is an
/// `HttpOnly`, `Secure`, `SameSite=Strict` cookie; the answer carries the
/// CSRF token that changes must send back in `X-CSRF-Token`.
async fn login<S: Store>(
    State(state): State<AppState<S>>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    ApiJson(req): ApiJson<Login>,
) -> Result<Response, ApiError> {
    if let Err(wait) = state.login_limit.check(client.ip()) {
        return Err(ApiError::rate_limited(wait));
    }
    bounded("email", Some(&req.email), 254)?;
    bounded("password", Some(&req.password), 1024)?;
    let user = state.store.user_by_email(&req.email).await?;
    let hash = user
        .as_ref()
        .and_then(|u| u.password_hash.clone())
        .unwrap_or_else(dummy_hash);
    let password = req.password;
    let ok =
        tokio::task::spawn_blocking(move || crate::credentials::verify_password(&password, &hash))
            .await
            .unwrap_or(false);
    let Some(user) = user.filter(|u| ok && u.password_hash.is_some()) else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_credentials",
            "wrong e-mail or password",
        ));
    };
    let (token, csrf) = (new_token("dsk_ses"), new_token("dsk_csrf"));
    let expires = Utc::now() + chrono::TimeDelta::hours(SESSION_HOURS);
    state
        .store
        .create_session(&hash_token(&token), &hash_token(&csrf), user.id, expires)
        .await?;
    tracing::info!(user = %user.email, "logged in");
    let cookie = format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age={}",
        SESSION_HOURS * 3600
    );
    let mut resp = Json(
        serde_json::json!({"csrf_token": csrf, "email": user.email, "role": user.role.as_str()}),
    )
    .into_response();
    if let Ok(v) = axum::http::HeaderValue::from_str(&cookie) {
        resp.headers_mut().insert(axum::http::header::SET_COOKIE, v);
    }
    Ok(resp)
}

/// `POST /api/v1/auth/logout`: ends the browser session.
async fn logout<S: Store>(
    State(state): State<AppState<S>>,
    UserAuth(_): UserAuth,
    headers: axum::http::HeaderMap,
) -> Result<Response, ApiError> {
    let session = session_from_headers(&headers);
    if let Some(token) = session {
        state.store.delete_session(&hash_token(token)).await?;
    }
    let mut resp = StatusCode::NO_CONTENT.into_response();
    resp.headers_mut().insert(
        axum::http::header::SET_COOKIE,
        axum::http::HeaderValue::from_static(
            "deskside_session=; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=0",
        ),
    );
    Ok(resp)
}
