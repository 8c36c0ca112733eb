//! The health-check policy: read it, check an edit (TOML or JSON) with
//! errors at the check and field they concern, publish it conditionally on
//! the version the editor started from, its history, and rollback.

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

/// The largest policy text the desk reads (500 checks with long
/// remediation texts in three languages fit easily).
const MAX_POLICY_TEXT: usize = 1024 * 1024;

/// A policy as an administrator edits it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PolicyFormat {
    /// `version = N` and `[[checks]]`, as agents' policy files.
    Toml,
    /// `{"version": N, "checks": […]}`.
    Json,
}

/// `POST /api/v1/policy/check` body.
#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicySource {
    format: PolicyFormat,
    /// The policy text, at most 1 MiB.
    text: String,
}

/// What publishing an edited policy would do.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct PolicyCheck {
    /// No errors: `PUT /api/v1/policy` with `checks` would publish it.
    valid: bool,
    /// Every error, at its check and field (and line, for text the desk
    /// could locate it in).
    errors: Vec<FieldError>,
    /// The checks as the desk reads them; absent when the text is not
    /// TOML/JSON at all.
    #[serde(skip_serializing_if = "Option::is_none")]
    checks: Option<Vec<serde_json::Value>>,
    /// Against the current version; absent when the text does not parse.
    #[serde(skip_serializing_if = "Option::is_none")]
    diff: Option<PolicyDiff>,
    /// The version now published (0: none yet); send it as `If-Match`
    /// when publishing, so that another administrator's change in between
    /// is not overwritten.
    current_version: i64,
}

/// The policy as text for the editor.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct PolicyText {
    /// The version (0: none published; the text is then an empty policy).
    version: i64,
    /// TOML, as agents' policy files.
    text: String,
}

/// Query of `GET /api/v1/policy/text`.
#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyTextQuery {
    /// A version from the history; default: the current one.
    version: Option<i64>,
}

/// The errors of one policy, as the API reports them.
fn field_errors(errors: &[deskside_policy::PolicyError]) -> Vec<FieldError> {
    errors
        .iter()
        .map(|e| FieldError {
            position: u32::try_from(e.position).unwrap_or(u32::MAX),
            check: e.check_id.clone(),
            field: e.field.clone(),
            message: e.message.clone(),
            line: None,
        })
        .collect()
}

/// One error about the policy as a whole.
fn whole(message: impl Into<String>, line: Option<u32>) -> Vec<FieldError> {
    vec![FieldError {
        position: 0,
        check: None,
        field: String::new(),
        message: message.into(),
        line,
    }]
}

/// Validates a policy the way agents do; every error refuses it.
fn validate(raw: serde_json::Value) -> Result<Policy, Vec<FieldError>> {
    let Some(obj) = raw.as_object() else {
        return Err(whole("a policy is an object with \"checks\"", None));
    };
    // The agent's rule for policy files: an unknown top-level key (a
    // misspelt "check") is refused, not dropped into an empty policy.
    deskside_policy::unknown_top_level(obj.keys()).map_err(|m| whole(m, None))?;
    let policy: Policy = serde_json::from_value(raw).map_err(|e| whole(e.to_string(), None))?;
    if policy.checks.len() > 500 {
        return Err(whole("a policy holds at most 500 checks", None));
    }
    let loaded = deskside_policy::LoadedPolicy::load(&policy);
    if loaded.errors.is_empty() {
        Ok(policy)
    } else {
        Err(field_errors(&loaded.errors))
    }
}

/// The 1-based line of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> u32 {
    let upto = text.get(..offset.min(text.len())).unwrap_or(text);
    u32::try_from(upto.matches('\n').count() + 1).unwrap_or(u32::MAX)
}

/// Where an error of a TOML policy is: the line of the field in the
/// `position`-th `[[checks]]` table, or of the table itself.
fn locate_in_toml(text: &str, position: u32, field: &str) -> Option<u32> {
    if position == 0 {
        return None;
    }
    let mut seen = 0;
    let mut header = None;
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        let n = u32::try_from(i + 1).ok()?;
        if t.starts_with('[') {
            if header.is_some() && !t.starts_with("[checks.") {
                break;
            }
            if t.starts_with("[[checks]]") {
                seen += 1;
                if seen == position {
                    header = Some(n);
                }
                continue;
            }
        }
        if header.is_none() || field.is_empty() {
            continue;
        }
        let key = t
            .strip_prefix("[checks.")
            .unwrap_or(t)
            .trim_start_matches('"');
        if let Some(rest) = key.strip_prefix(field)
            && rest
                .trim_start_matches('"')
                .trim_start()
                .starts_with(['=', '.', ']'])
        {
            return Some(n);
        }
    }
    header
}

/// Parses and validates an edited policy text.
fn read_source(src: &PolicySource) -> (Option<Vec<serde_json::Value>>, Vec<FieldError>) {
    if src.text.len() > MAX_POLICY_TEXT {
        return (None, whole("the policy text is larger than 1 MiB", None));
    }
    let raw: serde_json::Value = match src.format {
        PolicyFormat::Toml => match toml::from_str::<toml::Table>(&src.text) {
            Ok(table) => match serde_json::to_value(table) {
                Ok(v) => v,
                Err(e) => return (None, whole(e.to_string(), None)),
            },
            Err(e) => {
                let line = e.span().map(|s| line_of(&src.text, s.start));
                return (None, whole(e.message().trim().to_owned(), line));
            }
        },
        PolicyFormat::Json => match serde_json::from_str(&src.text) {
            Ok(v) => v,
            Err(e) => {
                return (None, whole(e.to_string(), u32::try_from(e.line()).ok()));
            }
        },
    };
    let checks = raw
        .get("checks")
        .and_then(serde_json::Value::as_array)
        .cloned();
    match validate(raw) {
        Ok(p) => (Some(p.checks), Vec::new()),
        Err(mut errors) => {
            if src.format == PolicyFormat::Toml {
                for e in &mut errors {
                    e.line = locate_in_toml(&src.text, e.position, &e.field);
                }
            }
            (checks, errors)
        }
    }
}

/// `POST /api/v1/policy/check` (administrators): what publishing this
/// text would do, without publishing it.
pub(super) async fn check_policy<S: Store>(
    State(state): State<AppState<S>>,
    AdminAuth(_): AdminAuth,
    ApiJson(src): ApiJson<PolicySource>,
) -> Result<Json<PolicyCheck>, ApiError> {
    let (checks, errors) = read_source(&src);
    let (current_version, current) = match state.store.current_policy().await? {
        Some((v, c)) => (v, policy_from_row(v, &c)?.checks),
        None => (0, Vec::new()),
    };
    let diff = checks.as_deref().map(|c| policy_diff(&current, c));
    Ok(Json(PolicyCheck {
        valid: errors.is_empty(),
        errors,
        checks,
        diff,
        current_version,
    }))
}

/// `GET /api/v1/policy/text`: a version as TOML, for the editor.
pub(super) async fn policy_text<S: Store>(
    State(state): State<AppState<S>>,
    UserAuth(_): UserAuth,
    ApiQuery(q): ApiQuery<PolicyTextQuery>,
) -> Result<Json<PolicyText>, ApiError> {
    let (version, checks) = match q.version {
        None => match state.store.current_policy().await? {
            Some((v, c)) => (v, policy_from_row(v, &c)?.checks),
            None => (0, Vec::new()),
        },
        Some(v) => (v, version_checks(&state, v).await?),
    };
    Ok(Json(PolicyText {
        version,
        text: to_toml(version, &checks)?,
    }))
}

/// A policy as TOML, the way agents' policy files are written.
fn to_toml(version: i64, checks: &[serde_json::Value]) -> Result<String, ApiError> {
    #[derive(serde::Serialize)]
    struct File<'a> {
        version: i64,
        checks: &'a [serde_json::Value],
    }
    toml::to_string_pretty(&File { version, checks }).map_err(|e| {
        tracing::error!("policy {version} has no TOML form: {e}");
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::StorageUnavailable,
            "the stored policy cannot be shown as TOML",
        )
    })
}

/// The checks of one published version.
async fn version_checks<S: Store>(
    state: &AppState<S>,
    version: i64,
) -> Result<Vec<serde_json::Value>, ApiError> {
    let row = state
        .store
        .policy_versions(version.checked_add(1), 1)
        .await?
        .into_iter()
        .find(|r| r.version == version);
    match row {
        Some(r) => Ok(policy_from_row(r.version, &r.checks)?.checks),
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
            format!("there is no policy version {version}"),
        )),
    }
}

/// A precondition failed: another administrator published in between.
fn stale() -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        ErrorCode::VersionConflict,
        "the policy changed since you opened it; review the current version and publish again",
    )
}

/// Publishes `checks` (already valid), audited as `action`.
async fn publish<S: Store>(
    state: &AppState<S>,
    user: &User,
    checks: Vec<serde_json::Value>,
    expected: Option<i64>,
    action: &str,
    extra: serde_json::Value,
) -> Result<Json<Policy>, ApiError> {
    let text = serde_json::to_string(&checks).map_err(|e| invalid(e.to_string()))?;
    let previous = match state.store.current_policy().await? {
        Some((v, c)) => {
            if expected.is_some_and(|e| e != v) {
                return Err(stale());
            }
            policy_from_row(v, &c)?.checks
        }
        None => Vec::new(),
    };
    let Some(version) = state.store.put_policy(&text, user.id, expected).await? else {
        return Err(stale());
    };
    let diff = policy_diff(&previous, &checks);
    let mut detail = serde_json::json!({"version": version, "diff": &diff});
    if let (Some(d), Some(e)) = (detail.as_object_mut(), extra.as_object()) {
        d.extend(e.clone());
    }
    super::access::audit(
        state,
        Some(user),
        action,
        format!("policy:{version}"),
        detail,
    )
    .await?;
    tracing::info!(
        version,
        by = %user.email,
        action,
        added = ?diff.added,
        removed = ?diff.removed,
        changed = ?diff.changed,
        "policy changed"
    );
    Ok(Json(Policy {
        version: u64::try_from(version).unwrap_or_default(),
        checks,
    }))
}

/// The version an `If-Match` header names (`"3"`, `W/"3"` or `3`; `"0"`:
/// no policy published yet); `*` and no header are no precondition.
fn if_match(headers: &axum::http::HeaderMap) -> Result<Option<i64>, ApiError> {
    let Some(raw) = headers.get(axum::http::header::IF_MATCH) else {
        return Ok(None);
    };
    let bad = || {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidHeader,
            "If-Match must be a policy version, such as \"3\"",
        )
    };
    let text = raw.to_str().map_err(|_| bad())?.trim();
    if text == "*" {
        return Ok(None);
    }
    let text = text.strip_prefix("W/").unwrap_or(text);
    text.trim_matches('"')
        .parse::<i64>()
        .ok()
        .filter(|v| *v >= 0)
        .map(Some)
        .ok_or_else(bad)
}

/// `PUT /api/v1/policy` (administrators): a new policy version, pushed to
/// agents at their next check-in. Every check is validated the way agents
/// validate it; any invalid check refuses the whole policy, and the error
/// lists each one at its check and field.
pub(super) async fn put_policy<S: Store>(
    State(state): State<AppState<S>>,
    AdminAuth(user): AdminAuth,
    headers: axum::http::HeaderMap,
    ApiJson(raw): ApiJson<serde_json::Value>,
) -> Result<Json<Policy>, ApiError> {
    let expected = if_match(&headers)?;
    let policy = validate(raw).map_err(|fields| {
        let summary = fields
            .iter()
            .map(|f| match (&f.check, f.position) {
                (_, 0) => f.message.clone(),
                (Some(id), _) => format!("check {id:?}, field {:?}: {}", f.field, f.message),
                (None, n) => format!("check #{n}, field {:?}: {}", f.field, f.message),
            })
            .collect::<Vec<_>>()
            .join("; ");
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::InvalidPolicy,
            summary,
        )
        .with_fields(fields)
    })?;
    publish(
        &state,
        &user,
        policy.checks,
        expected,
        "policy.publish",
        serde_json::json!({}),
    )
    .await
}

/// `POST /api/v1/policy/rollback` body.
#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyRollback {
    /// The version whose checks to publish again.
    version: i64,
}

/// `POST /api/v1/policy/rollback` (administrators): publishes an earlier
/// version's checks as a new version; the history keeps everything.
pub(super) async fn rollback_policy<S: Store>(
    State(state): State<AppState<S>>,
    AdminAuth(user): AdminAuth,
    headers: axum::http::HeaderMap,
    ApiJson(req): ApiJson<PolicyRollback>,
) -> Result<Json<Policy>, ApiError> {
    let expected = if_match(&headers)?;
    let checks = version_checks(&state, req.version).await?;
    publish(
        &state,
        &user,
        checks,
        expected,
        "policy.rollback",
        serde_json::json!({"to": req.version}),
    )
    .await
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
