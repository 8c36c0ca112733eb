//! Who is asking: a device by its token, a technician by an API token or
//! a browser session (with its CSRF token), an administrator.

use super::*;

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

pub(super) const SESSION_COOKIE: &str = "deskside_session";

pub(super) const SESSION_HOURS: i64 = 12;

pub(super) fn session_cookie(parts: &Parts) -> Option<&str> {
    session_from_headers(&parts.headers)
}

pub(super) fn session_from_headers(headers: &axum::http::HeaderMap) -> Option<&str> {
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

pub(super) fn bearer(parts: &Parts) -> Option<&str> {
    bearer_from_headers(&parts.headers)
}

pub(super) fn bearer_from_headers(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

pub(super) fn require_admin(user: &User) -> Result<(), ApiError> {
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
