//! Managing users after they exist: an administrator changes a role or
//! hands out a new password; anyone changes their own password. Every
//! change is audited.

use super::*;

/// Hashes a password a person chose, after checking its length (12 to 1024
/// characters), off the async threads: argon2 is deliberately slow.
pub(super) async fn hash_chosen_password(password: &str) -> Result<String, ApiError> {
    if password.chars().count() < 12 || password.len() > 1024 {
        return Err(invalid("password must be 12 to 1024 characters"));
    }
    hash(password.to_owned()).await
}

async fn hash(password: String) -> Result<String, ApiError> {
    tokio::task::spawn_blocking(move || crate::credentials::hash_password(&password))
        .await
        .map_err(|e| {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::Internal,
                e.to_string(),
            )
        })?
        .map_err(invalid)
}

fn no_such_user() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        ErrorCode::NotFound,
        "no active user with this id",
    )
}

/// `PATCH /api/v1/users/{id}` body.
#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    /// `admin` or `technician`.
    role: String,
}

/// `PATCH /api/v1/users/{id}` (administrators): changes a role. Nobody
/// changes their own: another administrator must, so that the desk always
/// keeps one.
pub(super) async fn set_role<S: Store>(
    State(state): State<AppState<S>>,
    AdminAuth(admin): AdminAuth,
    axum::extract::Path(raw): axum::extract::Path<String>,
    ApiJson(patch): ApiJson<UserPatch>,
) -> Result<StatusCode, ApiError> {
    let id: i64 = raw.parse().map_err(|_| no_such_user())?;
    let role =
        Role::parse(&patch.role).ok_or_else(|| invalid("role must be admin or technician"))?;
    if id == admin.id {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            ErrorCode::CannotChangeOwnRole,
            "you cannot change your own role; ask another administrator",
        ));
    }
    if !state.store.set_user_role(id, role).await? {
        return Err(no_such_user());
    }
    super::access::audit(
        &state,
        Some(&admin),
        "user.role",
        format!("user:{id}"),
        serde_json::json!({"role": role.as_str()}),
    )
    .await?;
    tracing::info!(user = id, role = role.as_str(), by = %admin.email, "role changed");
    Ok(StatusCode::NO_CONTENT)
}

/// A password the desk generated, shown once.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct NewPassword {
    /// Hand it to the user; the desk keeps only its hash.
    password: String,
}

/// `POST /api/v1/users/{id}/password` (administrators): a new random
/// password for a user who lost theirs, shown once; the user's sessions
/// end at once.
pub(super) async fn reset_password<S: Store>(
    State(state): State<AppState<S>>,
    AdminAuth(admin): AdminAuth,
    axum::extract::Path(raw): axum::extract::Path<String>,
) -> Result<Json<NewPassword>, ApiError> {
    let id: i64 = raw.parse().map_err(|_| no_such_user())?;
    let password = crate::credentials::new_password();
    let hashed = hash(password.clone()).await?;
    if !state.store.set_user_password(id, &hashed).await? {
        return Err(no_such_user());
    }
    super::access::audit(
        &state,
        Some(&admin),
        "user.password_reset",
        format!("user:{id}"),
        serde_json::json!({}),
    )
    .await?;
    tracing::info!(user = id, by = %admin.email, "password reset");
    Ok(Json(NewPassword { password }))
}

/// `POST /api/v1/auth/password` body.
#[derive(serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    current_password: String,
    /// 12 to 1024 characters.
    new_password: String,
}

/// `POST /api/v1/auth/password`: changes your own password, given the
/// current one. Every session of yours ends, this one included: log in
/// again with the new password.
pub(super) async fn change_own_password<S: Store>(
    State(state): State<AppState<S>>,
    UserAuth(user): UserAuth,
    ApiJson(req): ApiJson<PasswordChange>,
) -> Result<StatusCode, ApiError> {
    bounded("current_password", Some(&req.current_password), 1024)?;
    // Wrong current passwords count as failed logins: a stolen session
    // cannot be used to guess the password faster than the login page.
    let window = chrono::TimeDelta::minutes(super::admin::LOGIN_WINDOW_MINUTES);
    if state.store.login_failures(&user.email, window).await?
        >= super::admin::LOGIN_FAILURES_PER_WINDOW
    {
        return Err(ApiError::rate_limited(std::time::Duration::from_secs(
            u64::try_from(super::admin::LOGIN_WINDOW_MINUTES * 60).unwrap_or(900),
        )));
    }
    let current = user
        .password_hash
        .clone()
        .unwrap_or_else(super::admin::dummy_hash);
    let given = req.current_password;
    let ok =
        tokio::task::spawn_blocking(move || crate::credentials::verify_password(&given, &current))
            .await
            .unwrap_or(false);
    if !ok || user.password_hash.is_none() {
        state.store.count_login_failure(&user.email, window).await?;
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            ErrorCode::InvalidCredentials,
            "the current password is wrong",
        ));
    }
    let hashed = hash_chosen_password(&req.new_password).await?;
    if !state.store.set_user_password(user.id, &hashed).await? {
        return Err(no_such_user());
    }
    super::access::audit(
        &state,
        Some(&user),
        "user.password_change",
        format!("user:{}", user.id),
        serde_json::json!({}),
    )
    .await?;
    tracing::info!(user = %user.email, "password changed");
    Ok(StatusCode::NO_CONTENT)
}
