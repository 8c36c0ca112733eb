//! Technician endpoints for the ticket queue: filters, the workflow,
//! replies and internal notes, attachments. Every change is audited.

use super::*;
use crate::store::TicketFilter;
use crate::workflow::{PatchOutcome, TicketChange, WorkflowError};

/// Query of `GET /api/v1/tickets`.
#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TicketQuery {
    /// Only tickets in this status.
    status: Option<deskside_protocol::TicketStatus>,
    /// Only tickets of this priority (1 critical – 5 planning).
    priority: Option<u8>,
    /// Only tickets assigned to this e-mail; `none` for unassigned ones.
    assignee: Option<String>,
    /// Only tickets filed by this device.
    device: Option<i64>,
    /// Subject or description contains (ignoring case).
    text: Option<String>,
    /// The `next_cursor` of the previous page.
    cursor: Option<i64>,
    /// Page size, 1–500 (default 50).
    limit: Option<u32>,
}

/// A page of the queue.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct TicketPage {
    /// Newest first.
    tickets: Vec<deskside_protocol::Ticket>,
    /// Pass as `cursor` for the next page; absent on the last.
    next_cursor: Option<i64>,
}

/// `GET /api/v1/tickets`: the queue, newest first.
pub(super) async fn tech_list_tickets<S: Store>(
    State(state): State<AppState<S>>,
    UserAuth(_): UserAuth,
    ApiQuery(q): ApiQuery<TicketQuery>,
) -> Result<Json<TicketPage>, ApiError> {
    let limit = page_limit(q.limit)?;
    if q.priority.is_some_and(|p| !(1..=5).contains(&p)) {
        return Err(bad_query("priority must be 1 to 5"));
    }
    if q.text.as_ref().is_some_and(|t| t.len() > 256) {
        return Err(bad_query("text is longer than 256 bytes"));
    }
    let assignee = match q.assignee.as_deref() {
        None => None,
        Some("none") => Some(None),
        Some(email) if email.len() > 254 => return Err(bad_query("assignee is too long")),
        // An unknown technician has no tickets.
        Some(email) => Some(Some(
            state.store.user_by_email(email).await?.map_or(-1, |u| u.id),
        )),
    };
    let rows = state
        .store
        .list_tickets(&TicketFilter {
            status: q.status.map(snake),
            priority: q.priority.map(i64::from),
            assignee,
            device_id: q.device,
            text: q.text.filter(|t| !t.is_empty()),
            before_id: q.cursor.unwrap_or(0),
            limit,
        })
        .await?;
    let next_cursor = (rows.len() == limit as usize)
        .then(|| rows.last().map(|t| t.id))
        .flatten();
    Ok(Json(TicketPage {
        tickets: rows
            .into_iter()
            .map(|t| ticket_json(t, Vec::new(), Vec::new()))
            .collect(),
        next_cursor,
    }))
}

/// A comment as technicians see it.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct TechCommentView {
    id: i64,
    /// The technician who wrote it; absent for the employee.
    user_id: Option<i64>,
    body: String,
    /// Never shown to the device.
    internal: bool,
    created_at: chrono::DateTime<Utc>,
}

/// One audit record.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct AuditView {
    /// Who.
    user_id: i64,
    /// What kind of change.
    action: String,
    /// When.
    at: chrono::DateTime<Utc>,
    /// Before and after.
    detail: serde_json::Value,
}

/// A ticket with everything technicians work on.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct TicketDetail {
    ticket: deskside_protocol::Ticket,
    device_id: i64,
    /// `low`, `medium` or `high`.
    impact: String,
    /// Support tier 1–3.
    tier: i64,
    assignee_id: Option<i64>,
    /// Bumped by every technician change; send it back as `If-Match`
    /// (the `ETag` header holds it too).
    version: i64,
    /// Oldest first, internal notes included.
    comments: Vec<TechCommentView>,
    /// Every technician change, oldest first.
    audit: Vec<AuditView>,
}

pub(super) async fn technician_view<S: Store>(
    state: &AppState<S>,
    w: TicketWork,
) -> Result<TicketDetail, ApiError> {
    let id = w.row.id;
    let (row, atts) = state
        .store
        .device_ticket(w.device_id, id)
        .await?
        .ok_or_else(ticket_not_found)?;
    let comments = state
        .store
        .comments(id, true)
        .await?
        .into_iter()
        .map(|c| TechCommentView {
            id: c.id,
            user_id: c.user_id,
            body: c.body,
            internal: c.internal,
            created_at: c.created_at,
        })
        .collect();
    let audit = state
        .store
        .ticket_audit(id)
        .await?
        .into_iter()
        .map(|(user_id, action, detail, at)| AuditView {
            user_id,
            action,
            at,
            detail: serde_json::from_str(&detail).unwrap_or_default(),
        })
        .collect();
    Ok(TicketDetail {
        ticket: ticket_json(row, atts, Vec::new()),
        device_id: w.device_id,
        impact: w.impact,
        tier: w.tier,
        assignee_id: w.assignee_id,
        version: w.version,
        comments,
        audit,
    })
}

pub(super) async fn work_item<S: Store>(
    state: &AppState<S>,
    raw: &str,
) -> Result<TicketWork, ApiError> {
    let id: i64 = raw.parse().map_err(|_| ticket_not_found())?;
    state
        .store
        .ticket_work(id)
        .await?
        .ok_or_else(ticket_not_found)
}

/// `GET /api/v1/tickets/{id}`: everything, internal notes and audit trail
/// included.
pub(super) async fn tech_get_ticket<S: Store>(
    State(state): State<AppState<S>>,
    UserAuth(_): UserAuth,
    axum::extract::Path(raw): axum::extract::Path<String>,
) -> Result<Response, ApiError> {
    let w = work_item(&state, &raw).await?;
    Ok(with_etag(technician_view(&state, w).await?))
}

/// `PATCH /api/v1/tickets/{id}` body.
#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TicketPatch {
    status: Option<deskside_protocol::TicketStatus>,
    impact: Option<deskside_protocol::Urgency>,
    urgency: Option<deskside_protocol::Urgency>,
    /// One of the known categories; an unknown one is refused, not read
    /// as `other`.
    #[serde(default, deserialize_with = "known_category")]
    #[schemars(with = "Option<deskside_protocol::TicketCategory>")]
    category: Option<deskside_protocol::TicketCategory>,
    tier: Option<u8>,
    /// `null` unassigns.
    #[serde(default, deserialize_with = "some")]
    #[schemars(with = "Option<String>")]
    assignee_email: Option<Option<String>>,
    /// Apply only to this version of the ticket (as `If-Match` does); a
    /// stale version answers 409 `version_conflict` with the ticket as it
    /// is now.
    version: Option<i64>,
}

/// A category by its exact name: the protocol's type reads unknown names
/// as `other` (for agents reading a newer desk), which must not turn a
/// technician's typo into a silent change.
fn known_category<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<deskside_protocol::TicketCategory>, D::Error> {
    use deskside_protocol::TicketCategory;
    let name = <String as serde::Deserialize>::deserialize(d)?;
    let parsed = enum_from(&name, TicketCategory::Other);
    if parsed == TicketCategory::Other && name != "other" {
        return Err(serde::de::Error::custom(format!(
            "unknown category {name:?} (hardware, software, network, account, printer, other)"
        )));
    }
    Ok(Some(parsed))
}

pub(super) fn some<'de, D: serde::Deserializer<'de>, T: serde::Deserialize<'de>>(
    d: D,
) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

/// The ticket's `ETag`: its version, quoted.
pub(super) fn etag(version: i64) -> axum::http::HeaderValue {
    axum::http::HeaderValue::from_str(&format!("\"{version}\""))
        .unwrap_or(axum::http::HeaderValue::from_static("\"0\""))
}

/// The version an `If-Match` header names (`"3"`, `W/"3"` or `3`); `*`
/// and no header are no precondition.
fn if_match(headers: &axum::http::HeaderMap) -> Result<Option<i64>, ApiError> {
    let Some(raw) = headers.get(axum::http::header::IF_MATCH) else {
        return Ok(None);
    };
    let bad = || {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidHeader,
            "If-Match must be the ticket's ETag, such as \"3\"",
        )
    };
    let text = raw.to_str().map_err(|_| bad())?.trim();
    if text == "*" {
        return Ok(None);
    }
    let text = text.strip_prefix("W/").unwrap_or(text);
    text.trim_matches('"')
        .parse::<i64>()
        .map(Some)
        .map_err(|_| bad())
}

/// A ticket detail with its `ETag`.
pub(super) fn with_etag(detail: TicketDetail) -> Response {
    let tag = etag(detail.version);
    let mut resp = Json(detail).into_response();
    resp.headers_mut().insert(axum::http::header::ETAG, tag);
    resp
}

/// `PATCH /api/v1/tickets/{id}`: status (by the workflow), assignee,
/// category, impact and urgency (priority follows), tier. Audited. The
/// change applies to the ticket as it is when written; with `If-Match` (or
/// `version`) it applies only to that version.
pub(super) async fn tech_patch_ticket<S: Store>(
    State(state): State<AppState<S>>,
    UserAuth(user): UserAuth,
    axum::extract::Path(raw): axum::extract::Path<String>,
    headers: axum::http::HeaderMap,
    ApiJson(patch): ApiJson<TicketPatch>,
) -> Result<Response, ApiError> {
    let id: i64 = raw.parse().map_err(|_| ticket_not_found())?;
    let expected = match (if_match(&headers)?, patch.version) {
        (Some(a), Some(b)) if a != b => {
            return Err(invalid("If-Match and version name different versions"));
        }
        (a, b) => a.or(b),
    };
    if patch.tier.is_some_and(|t| !(1..=3).contains(&t)) {
        return Err(invalid("tier must be 1, 2 or 3"));
    }
    let assignee = match patch.assignee_email {
        None => None,
        Some(None) => Some(None),
        Some(Some(email)) => Some(Some(
            state
                .store
                .user_by_email(&email)
                .await?
                .filter(|u| u.deactivated_at.is_none())
                .ok_or_else(|| invalid(format!("no active technician {email}")))?
                .id,
        )),
    };
    let change = TicketChange {
        status: patch.status,
        impact: patch.impact,
        urgency: patch.urgency,
        category: patch.category,
        tier: patch.tier,
        assignee,
    };
    match state
        .store
        .patch_ticket(id, &change, expected, user.id)
        .await?
    {
        PatchOutcome::NotFound => Err(ticket_not_found()),
        PatchOutcome::Refused(e @ WorkflowError::Transition { .. }) => Err(ApiError::new(
            StatusCode::CONFLICT,
            ErrorCode::InvalidTransition,
            e.to_string(),
        )),
        PatchOutcome::Refused(e) => Err(invalid(e.to_string())),
        PatchOutcome::Stale(now) => {
            let current = technician_view(&state, *now).await?;
            let body = serde_json::json!({
                "error": {
                    "code": deskside_protocol::ErrorCode::VersionConflict,
                    "message": format!(
                        "the ticket changed since version {}; it is now at version {}",
                        expected.unwrap_or_default(),
                        current.version
                    ),
                },
                "current": current,
            });
            let mut resp = (StatusCode::CONFLICT, Json(body)).into_response();
            resp.headers_mut()
                .insert(axum::http::header::ETAG, etag(current.version));
            Ok(resp)
        }
        PatchOutcome::Done(w) => {
            tracing::info!(ticket = w.row.id, version = w.version, by = %user.email, "ticket updated");
            Ok(with_etag(technician_view(&state, *w).await?))
        }
    }
}

/// `POST /api/v1/tickets/{id}/comments` body.
#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TechComment {
    body: String,
    /// An internal note, never shown to the device.
    #[serde(default)]
    internal: bool,
}

/// A comment was added.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct CommentCreated {
    id: i64,
    internal: bool,
}

/// `POST /api/v1/tickets/{id}/comments`: a reply, or an internal note.
pub(super) async fn tech_comment<S: Store>(
    State(state): State<AppState<S>>,
    UserAuth(user): UserAuth,
    axum::extract::Path(raw): axum::extract::Path<String>,
    ApiJson(c): ApiJson<TechComment>,
) -> Result<(StatusCode, Json<CommentCreated>), ApiError> {
    let w = work_item(&state, &raw).await?;
    let body = comment_body(&c.body)?;
    let id = state
        .store
        .add_comment(w.row.id, Some(user.id), body, c.internal)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(CommentCreated {
            id,
            internal: c.internal,
        }),
    ))
}

/// `GET /api/v1/tickets/{id}/attachments/{attachment}`.
pub(super) async fn tech_attachment<S: Store>(
    State(state): State<AppState<S>>,
    UserAuth(_): UserAuth,
    axum::extract::Path((raw_ticket, raw_att)): axum::extract::Path<(String, String)>,
) -> Result<Response, ApiError> {
    let w = work_item(&state, &raw_ticket).await?;
    attachment_response(&state, w.row.id, &raw_att).await
}
