//! Administration and sign-in: the policy, enroll secrets, users and
//! browser sessions.

use super::*;

pub(super) fn policy_from_row(version: i64, checks: &str) -> Result<Policy, ApiError> {
    let checks = serde_json::from_str(checks).map_err(|e| {
        tracing::error!("stored policy {version} is unreadable: {e}");
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::StorageUnavailable,
            "the stored policy is unreadable",
        )
    })?;
    Ok(Policy {
        version: u64::try_from(version).unwrap_or_default(),
        checks,
    })
}

/// `GET /api/v1/policy`: the current health-check policy.
pub(super) async fn get_policy<S: Store>(
    State(state): State<AppState<S>>,
    UserAuth(_): UserAuth,
) -> Result<Json<Policy>, ApiError> {
    match state.store.current_policy().await? {
        Some((version, checks)) => Ok(Json(policy_from_row(version, &checks)?)),
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
            "no policy has been set; agents use their built-in one",
        )),
    }
}

/// `PUT /api/v1/policy` (administrators): a new policy version, pushed to
/// agents at their next check-in. Every check is validated the way agents
/// validate it; any invalid check refuses the whole policy, naming it.
pub(super) async fn put_policy<S: Store>(
    State(state): State<AppState<S>>,
    AdminAuth(user): AdminAuth,
    ApiJson(raw): ApiJson<serde_json::Value>,
) -> Result<Json<Policy>, ApiError> {
    // The agent's rule for policy files: an unknown top-level key (a
    // misspelt "check") is refused, not dropped into an empty policy.
    let Some(obj) = raw.as_object() else {
        return Err(invalid("a policy is an object with \"checks\""));
    };
    deskside_policy::unknown_top_level(obj.keys()).map_err(invalid)?;
    let policy: Policy = serde_json::from_value(raw).map_err(|e| invalid(e.to_string()))?;
    if policy.checks.len() > 500 {
        return Err(invalid("a policy holds at most 500 checks"));
    }
    let loaded = deskside_policy::LoadedPolicy::load(&policy);
    if !loaded.errors.is_empty() {
        let msgs: Vec<String> = loaded.errors.iter().map(ToString::to_string).collect();
        return Err(invalid(msgs.join("; ")));
    }
    let checks = serde_json::to_string(&policy.checks).map_err(|e| invalid(e.to_string()))?;
    let previous = match state.store.current_policy().await? {
        Some((v, c)) => policy_from_row(v, &c)?.checks,
        None => Vec::new(),
    };
    let version = state.store.put_policy(&checks, user.id).await?;
    let diff = policy_diff(&previous, &policy.checks);
    super::access::audit(
        &state,
        Some(&user),
        "policy.publish",
        format!("policy:{version}"),
        serde_json::json!({"version": version, "diff": &diff}),
    )
    .await?;
    tracing::info!(
        version,
        by = %user.email,
        added = ?diff.added,
        removed = ?diff.removed,
        changed = ?diff.changed,
        "policy changed"
    );
    Ok(Json(Policy {
        version: u64::try_from(version).unwrap_or_default(),
        checks: policy.checks,
    }))
}

/// Query of `GET /api/v1/policy/history`.
#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyHistoryQuery {
    /// The `next_cursor` of the previous page.
    cursor: Option<i64>,
    /// Page size, 1–500 (default 50).
    limit: Option<u32>,
}

/// What one policy version changed against the one before it, by check id.
#[derive(Debug, Default, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct PolicyDiff {
    /// Checks that are new in this version.
    added: Vec<String>,
    /// Checks this version dropped.
    removed: Vec<String>,
    /// Checks whose definition changed.
    changed: Vec<String>,
}

/// One published policy version.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct PolicyVersionView {
    version: i64,
    /// When it was published.
    created_at: chrono::DateTime<Utc>,
    /// Who published it.
    created_by: Option<String>,
    /// Against the previous version (for the first: every check added).
    diff: PolicyDiff,
    /// The checks of this version.
    checks: Vec<serde_json::Value>,
}

/// A page of the policy's history.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct PolicyHistory {
    /// Newest first.
    versions: Vec<PolicyVersionView>,
    /// Pass as `cursor` for the next page; absent on the last.
    next_cursor: Option<i64>,
}

/// The checks of one version, by id (a check without an id keys as its
/// position, which a stored policy never has: it was validated).
fn by_id(checks: &[serde_json::Value]) -> std::collections::BTreeMap<String, &serde_json::Value> {
    checks
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let id = c["id"]
                .as_str()
                .map_or_else(|| format!("#{}", i + 1), str::to_owned);
            (id, c)
        })
        .collect()
}

/// What `new` changed against `old`.
pub(super) fn policy_diff(old: &[serde_json::Value], new: &[serde_json::Value]) -> PolicyDiff {
    let (old, new) = (by_id(old), by_id(new));
    let mut d = PolicyDiff::default();
    for (id, check) in &new {
        match old.get(id) {
            None => d.added.push(id.clone()),
            Some(before) if before != check => d.changed.push(id.clone()),
            Some(_) => {}
        }
    }
    d.removed = old
        .keys()
        .filter(|id| !new.contains_key(*id))
        .cloned()
        .collect();
    d
}

/// `GET /api/v1/policy/history`: every published version, newest first,
/// with who published it, when, and what it changed.
pub(super) async fn policy_history<S: Store>(
    State(state): State<AppState<S>>,
    UserAuth(_): UserAuth,
    ApiQuery(q): ApiQuery<PolicyHistoryQuery>,
) -> Result<Json<PolicyHistory>, ApiError> {
    let limit = page_limit(q.limit)?;
    // One more than the page: the oldest entry's diff needs its
    // predecessor.
    let rows = state.store.policy_versions(q.cursor, limit + 1).await?;
    let parsed: Vec<Vec<serde_json::Value>> = rows
        .iter()
        .map(|r| policy_from_row(r.version, &r.checks).map(|p| p.checks))
        .collect::<Result<_, _>>()?;
    let mut versions = Vec::new();
    for (i, r) in rows.iter().enumerate().take(limit as usize) {
        let previous = parsed.get(i + 1).map_or(&[][..], Vec::as_slice);
        versions.push(PolicyVersionView {
            version: r.version,
            created_at: r.created_at,
            created_by: r.created_by.clone(),
            diff: policy_diff(previous, &parsed[i]),
            checks: parsed[i].clone(),
        });
    }
    // The oldest version has no predecessor: a full page ending at
    // version 1 is the last one.
    let next_cursor = (rows.len() > limit as usize)
        .then(|| versions.last().map(|v| v.version))
        .flatten();
    Ok(Json(PolicyHistory {
        versions,
        next_cursor,
    }))
}

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
        Some(p) if p.chars().count() >= 12 && p.len() <= 1024 => {
            let p = p.to_owned();
            Some(
                tokio::task::spawn_blocking(move || crate::credentials::hash_password(&p))
                    .await
                    .map_err(|e| {
                        ApiError::new(
                            StatusCode::SERVICE_UNAVAILABLE,
                            ErrorCode::Internal,
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
const LOGIN_FAILURES_PER_WINDOW: u32 = 10;
const LOGIN_WINDOW_MINUTES: i64 = 15;

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
