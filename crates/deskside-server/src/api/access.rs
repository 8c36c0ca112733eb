//! Revoking access: API tokens (a technician's own, or anyone's for an
//! administrator), users (deactivated: sessions and tokens stop at once)
//! and devices (their token stops on every node at once), and the audit
//! log that records each of these.

use super::*;
use crate::store::{ApiTokenInfo, AuditLogEntry, AuditRecord};

/// Records an audit entry. A failure to record fails the request: a change
/// that cannot be audited should be retried, not forgotten.
pub(super) async fn audit<S: Store>(
    state: &AppState<S>,
    user: Option<&User>,
    action: &str,
    target: String,
    detail: serde_json::Value,
) -> Result<(), ApiError> {
    state
        .store
        .record_audit(&AuditRecord {
            user_id: user.map(|u| u.id),
            action,
            target: &target,
            detail: &detail.to_string(),
        })
        .await?;
    Ok(())
}

/// An API token, without the token itself.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct TokenView {
    id: i64,
    /// Whose it is.
    email: String,
    /// What it is for.
    label: Option<String>,
    created_at: chrono::DateTime<Utc>,
    revoked_at: Option<chrono::DateTime<Utc>>,
}

impl From<ApiTokenInfo> for TokenView {
    fn from(t: ApiTokenInfo) -> Self {
        Self {
            id: t.id,
            email: t.email,
            label: t.label,
            created_at: t.created_at,
            revoked_at: t.revoked_at,
        }
    }
}

/// Query of `GET /api/v1/tokens`.
#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenQuery {
    /// Everyone's tokens (administrators only); default: your own.
    #[serde(default)]
    all: bool,
}

/// `GET /api/v1/tokens`.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct TokenList {
    /// Newest first.
    tokens: Vec<TokenView>,
}

/// `GET /api/v1/tokens`: your API tokens; with `all=true` (administrators)
/// everyone's.
pub(super) async fn list_tokens<S: Store>(
    State(state): State<AppState<S>>,
    UserAuth(user): UserAuth,
    ApiQuery(q): ApiQuery<TokenQuery>,
) -> Result<Json<TokenList>, ApiError> {
    if q.all {
        require_admin(&user)?;
    }
    let owner = (!q.all).then_some(user.id);
    let tokens = state.store.list_api_tokens(owner).await?;
    Ok(Json(TokenList {
        tokens: tokens.into_iter().map(TokenView::from).collect(),
    }))
}

/// `POST /api/v1/tokens` body.
#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    /// What will use it ("monitoring", "nightly export"), 1 to 100
    /// characters.
    label: String,
}

/// A new API token, shown once.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct CreatedToken {
    id: i64,
    label: String,
    /// Send it as `Authorization: Bearer …`; the desk keeps only its hash.
    token: String,
}

/// `POST /api/v1/tokens`: an API token of your own, with your role's
/// rights, shown once.
pub(super) async fn create_token<S: Store>(
    State(state): State<AppState<S>>,
    UserAuth(user): UserAuth,
    ApiJson(req): ApiJson<NewToken>,
) -> Result<(StatusCode, Json<CreatedToken>), ApiError> {
    let label = req.label.trim().to_owned();
    if label.is_empty() || label.chars().count() > 100 {
        return Err(invalid("label must be 1 to 100 characters"));
    }
    let token = new_token("dsk_api");
    let id = state
        .store
        .create_api_token(user.id, &hash_token(&token), Some(&label))
        .await?;
    audit(
        &state,
        Some(&user),
        "token.create",
        format!("token:{id}"),
        serde_json::json!({"label": &label}),
    )
    .await?;
    tracing::info!(token = id, by = %user.email, "API token created");
    Ok((StatusCode::CREATED, Json(CreatedToken { id, label, token })))
}

/// `DELETE /api/v1/tokens/{id}`: revokes one of your tokens (an
/// administrator: anyone's). It stops working at once on every node.
pub(super) async fn revoke_token<S: Store>(
    State(state): State<AppState<S>>,
    UserAuth(user): UserAuth,
    axum::extract::Path(raw): axum::extract::Path<String>,
) -> Result<StatusCode, ApiError> {
    let not_found = || {
        ApiError::new(
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
            "no unrevoked API token of yours with this id",
        )
    };
    let id: i64 = raw.parse().map_err(|_| not_found())?;
    let owner = (user.role != Role::Admin).then_some(user.id);
    if !state.store.revoke_api_token(id, owner).await? {
        return Err(not_found());
    }
    audit(
        &state,
        Some(&user),
        "token.revoke",
        format!("token:{id}"),
        serde_json::json!({}),
    )
    .await?;
    tracing::info!(token = id, by = %user.email, "API token revoked");
    Ok(StatusCode::NO_CONTENT)
}

/// A user as administrators see them.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct UserEntry {
    id: i64,
    email: String,
    /// `admin` or `technician`.
    role: &'static str,
    created_at: chrono::DateTime<Utc>,
    /// Set when the user can no longer log in.
    deactivated_at: Option<chrono::DateTime<Utc>>,
}

/// `GET /api/v1/users`.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct UserList {
    /// By id.
    users: Vec<UserEntry>,
}

/// `GET /api/v1/users` (administrators).
pub(super) async fn list_users<S: Store>(
    State(state): State<AppState<S>>,
    AdminAuth(_): AdminAuth,
) -> Result<Json<UserList>, ApiError> {
    let users = state
        .store
        .list_users()
        .await?
        .into_iter()
        .map(|u| UserEntry {
            id: u.id,
            email: u.email,
            role: u.role.as_str(),
            created_at: u.created_at,
            deactivated_at: u.deactivated_at,
        })
        .collect();
    Ok(Json(UserList { users }))
}

/// A technician someone can assign a ticket to.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct Technician {
    id: i64,
    email: String,
    /// `admin` or `technician`.
    role: &'static str,
}

/// `GET /api/v1/technicians` answer.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct TechnicianList {
    /// Active users, by e-mail.
    technicians: Vec<Technician>,
}

/// `GET /api/v1/technicians`: whom a ticket can be assigned to (active
/// users only; no creation dates or other details).
pub(super) async fn list_technicians<S: Store>(
    State(state): State<AppState<S>>,
    UserAuth(_): UserAuth,
) -> Result<Json<TechnicianList>, ApiError> {
    let mut technicians: Vec<Technician> = state
        .store
        .list_users()
        .await?
        .into_iter()
        .filter(|u| u.deactivated_at.is_none())
        .map(|u| Technician {
            id: u.id,
            email: u.email,
            role: u.role.as_str(),
        })
        .collect();
    technicians.sort_by(|a, b| a.email.cmp(&b.email));
    Ok(Json(TechnicianList { technicians }))
}

/// `POST /api/v1/users/{id}/deactivate` (administrators): the user can no
/// longer log in; their sessions end and their tokens are revoked at once.
/// Administrators cannot deactivate themselves (someone must remain).
pub(super) async fn deactivate_user<S: Store>(
    State(state): State<AppState<S>>,
    AdminAuth(admin): AdminAuth,
    axum::extract::Path(raw): axum::extract::Path<String>,
) -> Result<StatusCode, ApiError> {
    let not_found = || {
        ApiError::new(
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
            "no active user with this id",
        )
    };
    let id: i64 = raw.parse().map_err(|_| not_found())?;
    if id == admin.id {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            ErrorCode::CannotDeactivateSelf,
            "you cannot deactivate yourself; ask another administrator",
        ));
    }
    if !state.store.deactivate_user(id).await? {
        return Err(not_found());
    }
    audit(
        &state,
        Some(&admin),
        "user.deactivate",
        format!("user:{id}"),
        serde_json::json!({}),
    )
    .await?;
    tracing::info!(user = id, by = %admin.email, "user deactivated");
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/devices/{id}/revoke` (administrators): the device's token
/// stops working at once on every node. The device can come back only by
/// enrolling again with a valid enroll secret.
pub(super) async fn revoke_device<S: Store>(
    State(state): State<AppState<S>>,
    AdminAuth(admin): AdminAuth,
    axum::extract::Path(raw): axum::extract::Path<String>,
) -> Result<StatusCode, ApiError> {
    let not_found = || {
        ApiError::new(
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
            "no unrevoked device with this id",
        )
    };
    let id: i64 = raw.parse().map_err(|_| not_found())?;
    if !state.store.revoke_device(id).await? {
        return Err(not_found());
    }
    audit(
        &state,
        Some(&admin),
        "device.revoke",
        format!("device:{id}"),
        serde_json::json!({}),
    )
    .await?;
    tracing::info!(device = id, by = %admin.email, "device revoked");
    Ok(StatusCode::NO_CONTENT)
}

/// Query of `GET /api/v1/audit`.
#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// The `next_cursor` of the previous page.
    cursor: Option<i64>,
    /// Page size, 1–500 (default 50).
    limit: Option<u32>,
}

/// One audit log entry.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct AuditLogView {
    id: i64,
    /// Who (absent for the server's command line).
    email: Option<String>,
    /// `policy.publish`, `token.revoke`, `user.deactivate`, `device.revoke`…
    action: String,
    /// `policy:3`, `token:7`, `user:2`, `device:5`…
    target: String,
    detail: serde_json::Value,
    at: chrono::DateTime<Utc>,
}

/// A page of the audit log.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct AuditPage {
    /// Newest first.
    entries: Vec<AuditLogView>,
    /// Pass as `cursor` for the next page; absent on the last.
    next_cursor: Option<i64>,
}

/// `GET /api/v1/audit` (administrators): changes to policies, credentials,
/// users and devices, newest first.
pub(super) async fn audit_log<S: Store>(
    State(state): State<AppState<S>>,
    AdminAuth(_): AdminAuth,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> Result<Json<AuditPage>, ApiError> {
    let limit = page_limit(q.limit)?;
    let rows = state
        .store
        .audit_log(q.cursor.unwrap_or(0).max(0), limit)
        .await?;
    let next_cursor = (rows.len() == limit as usize)
        .then(|| rows.last().map(|e| e.id))
        .flatten();
    Ok(Json(AuditPage {
        entries: rows
            .into_iter()
            .map(|e: AuditLogEntry| AuditLogView {
                id: e.id,
                email: e.email,
                action: e.action,
                target: e.target,
                detail: serde_json::from_str(&e.detail).unwrap_or_default(),
                at: e.at,
            })
            .collect(),
        next_cursor,
    }))
}
