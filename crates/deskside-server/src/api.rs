//! The HTTP API. Every error is JSON `{"error": {"code", "message"}}` with
//! the right status; client input never causes a 500 or a panic.

use std::time::Duration;

use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, FromRequest, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::Utc;
use deskside_protocol::{EnrollRequest, EnrollResponse, ErrorBody, ErrorDetail};
use serde::de::DeserializeOwned;
use tower_http::timeout::TimeoutLayer;

use crate::credentials::{hash_token, new_token};
use crate::store::{NewEnrollment, Store, StoreError};

/// An API error: status, stable code, message.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    /// An error with this status, code and message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
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
        (self.status, Json(body)).into_response()
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
}

/// HTTP limits.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest request body.
    pub max_body_bytes: usize,
    /// Longest a request may take.
    pub request_timeout: Duration,
}

/// The API router.
pub fn router<S: Store>(store: S, limits: Limits) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz::<S>))
        .route("/api/v1/enroll", post(enroll::<S>))
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
        .layer(DefaultBodyLimit::max(limits.max_body_bytes))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            limits.request_timeout,
        ))
        .with_state(AppState { store })
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
    ApiJson(req): ApiJson<EnrollRequest>,
) -> Result<(StatusCode, Json<EnrollResponse>), ApiError> {
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
