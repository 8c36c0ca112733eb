//! Administration and sign-in: enroll secrets, users and browser
//! sessions.

use super::*;

/// An enroll secret; the secret itself only in the answer that created it.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct SecretView {
    id: i64,
    label: Option<String>,
    created_at: chrono::DateTime<Utc>,
    expires_at: Option<chrono::DateTime<Utc>>,
    revoked_at: Option<chrono::DateTime<Utc>>,
    /// `active`, `expired` or `revoked`.
    state: &'static str,
    /// The secret, shown once.
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<String>,
}

impl From<&crate::store::EnrollSecret> for SecretView {
    fn from(s: &crate::store::EnrollSecret) -> Self {
        let state = if s.revoked_at.is_some() {
            "revoked"
        } else if s.usable(Utc::now()) {
            "active"
        } else {
            "expired"
        };
        Self {
            id: s.id,
            label: s.label.clone(),
            created_at: s.created_at,
            expires_at: s.expires_at,
            revoked_at: s.revoked_at,
            state,
            secret: None,
        }
    }
}

/// `GET /api/v1/enroll-secrets`.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct SecretList {
    /// Newest first.
    enroll_secrets: Vec<SecretView>,
}

/// A user.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct UserView {
    id: i64,
    email: String,
    /// `admin` or `technician`.
    role: &'static str,
}

/// `POST /api/v1/auth/login` and `GET /api/v1/auth/session` answer.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct LoginAnswer {
    /// Send it back in `X-CSRF-Token` with every change (absent when
    /// asked with an API token, which needs none).
    #[serde(skip_serializing_if = "Option::is_none")]
    csrf_token: Option<String>,
    id: i64,
    email: String,
    role: &'static str,
}

/// `GET /api/v1/auth/session`: who is logged in, and the session's CSRF
/// token again (after a reload the page has lost it). Only this session's
/// cookie reaches it: `SameSite=Strict`, and no other origin can read the
/// answer.
pub(super) async fn session(
    UserAuth(user): UserAuth,
    headers: axum::http::HeaderMap,
) -> Json<LoginAnswer> {
    let csrf_token = match (
        bearer_from_headers(&headers),
        session_from_headers(&headers),
    ) {
        (None, Some(token)) => Some(crate::credentials::session_csrf(token)),
        _ => None,
    };
    Json(LoginAnswer {
        csrf_token,
        id: user.id,
        email: user.email,
        role: user.role.as_str(),
    })
}

/// `POST /api/v1/enroll-secrets` body.
#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSecret {
    label: Option<String>,
    /// Lifetime in seconds; absent: until revoked.
    expires_in_secs: Option<u64>,
}

/// `POST /api/v1/enroll-secrets` (administrators): the secret is in this
/// answer only; the desk keeps its hash.
pub(super) async fn create_secret<S: Store>(
    State(state): State<AppState<S>>,
    AdminAuth(user): AdminAuth,
    ApiJson(req): ApiJson<NewSecret>,
) -> Result<(StatusCode, Json<SecretView>), ApiError> {
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
    super::access::audit(
        &state,
        Some(&user),
        "enroll_secret.create",
        format!("enroll_secret:{}", s.id),
        serde_json::json!({"label": s.label, "expires_at": s.expires_at}),
    )
    .await?;
    tracing::info!(id = s.id, by = %user.email, "enroll secret created");
    let view = SecretView {
        secret: Some(secret),
        ..SecretView::from(&s)
    };
    Ok((StatusCode::CREATED, Json(view)))
}

/// `GET /api/v1/enroll-secrets` (administrators).
pub(super) async fn list_secrets<S: Store>(
    State(state): State<AppState<S>>,
    AdminAuth(_): AdminAuth,
) -> Result<Json<SecretList>, ApiError> {
    let enroll_secrets = state
        .store
        .list_enroll_secrets()
        .await?
        .iter()
        .map(SecretView::from)
        .collect();
    Ok(Json(SecretList { enroll_secrets }))
}

/// `DELETE /api/v1/enroll-secrets/{id}` (administrators): revoked at once.
pub(super) async fn revoke_secret<S: Store>(
    State(state): State<AppState<S>>,
    AdminAuth(user): AdminAuth,
    axum::extract::Path(raw): axum::extract::Path<String>,
) -> Result<StatusCode, ApiError> {
    let not_found = || {
        ApiError::new(
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
            "no active enroll secret with this id",
        )
    };
    let id: i64 = raw.parse().map_err(|_| not_found())?;
    if !state.store.revoke_enroll_secret(id).await? {
        return Err(not_found());
    }
    super::access::audit(
        &state,
        Some(&user),
        "enroll_secret.revoke",
        format!("enroll_secret:{id}"),
        serde_json::json!({}),
    )
    .await?;
    tracing::info!(id, by = %user.email, "enroll secret revoked");
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/users` body.
#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    email: String,
    role: String,
    password: Option<String>,
}

/// `POST /api/v1/users` (administrators).
pub(super) async fn create_user<S: Store>(
    State(state): State<AppState<S>>,
    AdminAuth(user): AdminAuth,
    ApiJson(req): ApiJson<NewUser>,
) -> Result<(StatusCode, Json<UserView>), ApiError> {
    if !crate::store::is_email(&req.email) {
        return Err(invalid("email is not an e-mail address"));
    }
    let role = Role::parse(&req.role).ok_or_else(|| invalid("role must be admin or technician"))?;
    let password_hash = match req.password.as_deref() {
        None => None,
        Some(p) => Some(super::users::hash_chosen_password(p).await?),
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
                ErrorCode::AlreadyExists,
                format!("{what} already exists"),
            ));
        }
        Err(e) => return Err(e.into()),
    };
    super::access::audit(
        &state,
        Some(&user),
        "user.create",
        format!("user:{}", created.id),
        serde_json::json!({"email": created.email, "role": created.role.as_str()}),
    )
    .await?;
    tracing::info!(user = %created.email, by = %user.email, "user created");
    Ok((
        StatusCode::CREATED,
        Json(UserView {
            id: created.id,
            email: created.email,
            role: created.role.as_str(),
        }),
    ))
}

/// Failed logins of one account in [`LOGIN_WINDOW_MINUTES`] before the
/// desk stops checking its password until the window ends.
pub(super) const LOGIN_FAILURES_PER_WINDOW: u32 = 10;
pub(super) const LOGIN_WINDOW_MINUTES: i64 = 15;

/// `POST /api/v1/auth/login` body.
#[derive(serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Login {
    email: String,
    password: String,
}

/// An argon2id hash of a random password, verified when the e-mail is
/// unknown so that the answer takes as long as for a wrong password.
pub(super) fn dummy_hash() -> String {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY
        .get_or_init(|| crate::credentials::hash_password(&new_token("dummy")).unwrap_or_default())
        .clone()
}

/// `POST /api/v1/auth/login`: a browser session. The session token is an
/// `HttpOnly`, `Secure`, `SameSite=Strict` cookie; the answer carries the
/// CSRF token that changes must send back in `X-CSRF-Token`.
pub(super) async fn login<S: Store>(
    State(state): State<AppState<S>>,
    ClientIp(client): ClientIp,
    ApiJson(req): ApiJson<Login>,
) -> Result<Response, ApiError> {
    if let Err(wait) = state.login_limit.check(client) {
        return Err(ApiError::rate_limited(wait));
    }
    bounded("email", Some(&req.email), 254)?;
    bounded("password", Some(&req.password), 1024)?;
    // Per account, in the database: every node and every client address
    // counts against the same limit, so guessing one password from many
    // addresses or through many nodes is as slow as from one.
    let window = chrono::TimeDelta::minutes(LOGIN_WINDOW_MINUTES);
    if state.store.login_failures(&req.email, window).await? >= LOGIN_FAILURES_PER_WINDOW {
        return Err(ApiError::rate_limited(std::time::Duration::from_secs(
            u64::try_from(LOGIN_WINDOW_MINUTES * 60).unwrap_or(900),
        )));
    }
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
    let Some(user) = user.filter(|u| ok && u.password_hash.is_some() && u.deactivated_at.is_none())
    else {
        state.store.count_login_failure(&req.email, window).await?;
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            ErrorCode::InvalidCredentials,
            "wrong e-mail or password",
        ));
    };
    state.store.clear_login_failures(&req.email).await?;
    let token = new_token("dsk_ses");
    let csrf = crate::credentials::session_csrf(&token);
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
    let mut resp = Json(LoginAnswer {
        csrf_token: Some(csrf),
        id: user.id,
        email: user.email,
        role: user.role.as_str(),
    })
    .into_response();
    if let Ok(v) = axum::http::HeaderValue::from_str(&cookie) {
        resp.headers_mut().insert(axum::http::header::SET_COOKIE, v);
    }
    Ok(resp)
}

/// `POST /api/v1/auth/logout`: ends the browser session.
pub(super) async fn logout<S: Store>(
    State(state): State<AppState<S>>,
    UserAuth(user): UserAuth,
    headers: axum::http::HeaderMap,
) -> Result<Response, ApiError> {
    // With an API token, logging out revokes that token: a client that
    // "logs out" must not keep a working credential.
    if let Some(token) = bearer_from_headers(&headers) {
        if state
            .store
            .revoke_api_token_by_hash(&hash_token(token))
            .await?
        {
            super::access::audit(
                &state,
                Some(&user),
                "token.revoke",
                "token:self".into(),
                serde_json::json!({"by": "logout"}),
            )
            .await?;
            tracing::info!(by = %user.email, "API token revoked by logout");
        }
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
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
