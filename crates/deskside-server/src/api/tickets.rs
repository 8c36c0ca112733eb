//! Technician endpoints for the ticket queue: filters, the workflow,
//! replies and internal notes, attachments. Every change is audited.

use super::*;
use crate::store::{QueueRow, TicketFilter};
use crate::workflow::{PatchOutcome, TicketChange, WorkflowError};

/// Query of `GET /api/v1/tickets` (and of its count).
#[derive(Debug, Default, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TicketQuery {
    /// Only tickets in these statuses, comma-separated (`new,open`).
    status: Option<String>,
    /// Only tickets of this priority (1 critical – 5 planning).
    priority: Option<u8>,
    /// Only tickets assigned to this e-mail; `me` for the caller's,
    /// `none` for unassigned ones.
    assignee: Option<String>,
    /// Only tickets filed by this device.
    device: Option<i64>,
    /// Subject or description contains (ignoring case).
    text: Option<String>,
    /// Only tickets at this support tier (1–3).
    tier: Option<u8>,
    /// Only tickets of this category.
    category: Option<String>,
    /// Only tickets in these SLA states, comma-separated (`running`,
    /// `warning`, `paused`, `met`, `breached`; `none`: without an SLA).
    sla: Option<String>,
    /// Only tickets of this team (its id); `none` for those without one.
    team: Option<String>,
    /// Only incidents (`incident`) or service requests (`service_request`).
    #[serde(rename = "type")]
    ticket_type: Option<String>,
    /// Only tickets of the requester with this e-mail.
    requester: Option<String>,
    /// `newest` (default), `oldest`, `priority` (most urgent first) or
    /// `due` (the SLA due soonest first).
    sort: Option<String>,
    /// The `next_cursor` of the previous page (same filters and sort).
    cursor: Option<String>,
    /// Page size, 1–500 (default 50).
    limit: Option<u32>,
}

/// What service management adds to a ticket, in the queue and in detail.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct ServiceView {
    /// How it reached the desk.
    channel: deskside_protocol::Channel,
    /// Who asks.
    requester_name: Option<String>,
    /// Their e-mail (`requester=` filters the queue on it).
    requester_email: Option<String>,
    /// The team it is with.
    team_id: Option<i64>,
    /// Its name.
    team_name: Option<String>,
    /// The technician who opened it for the requester.
    created_by: Option<i64>,
    /// The problem it is linked to.
    problem_id: Option<i64>,
    /// The SLA's most urgent state (absent: no SLA applies).
    sla_state: Option<deskside_protocol::SlaState>,
    /// When its next clock is due (overdue: in the past).
    sla_due_at: Option<chrono::DateTime<Utc>>,
}

pub(super) fn service_view(w: &TicketWork, team_name: Option<String>) -> ServiceView {
    ServiceView {
        channel: enum_from(&w.channel, deskside_protocol::Channel::Tray),
        requester_name: w.requester_name.clone(),
        requester_email: w.requester_email.clone(),
        team_id: w.team_id,
        team_name,
        created_by: w.created_by,
        problem_id: w.problem_id,
        sla_state: w
            .sla_state
            .as_deref()
            .map(|s| enum_from(s, deskside_protocol::SlaState::Running)),
        sla_due_at: w
            .sla_due_at
            .and_then(|t| chrono::DateTime::from_timestamp(t, 0)),
    }
}

/// A ticket as the queue lists it.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct QueueTicket {
    #[serde(flatten)]
    ticket: deskside_protocol::Ticket,
    #[serde(flatten)]
    service: ServiceView,
    /// The device it is about, if any.
    device_id: Option<i64>,
    /// The device's host name.
    device_name: Option<String>,
    /// `low`, `medium` or `high`.
    impact: String,
    /// Support tier 1–3.
    tier: i64,
    assignee_id: Option<i64>,
    assignee_email: Option<String>,
    /// The ticket's version (its `ETag`).
    version: i64,
    /// When the employee last wrote (the ticket, or their latest reply).
    employee_at: chrono::DateTime<Utc>,
    /// The employee wrote since the caller last opened the ticket.
    unread: bool,
}

/// A page of the queue.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct TicketPage {
    /// In the order asked for.
    tickets: Vec<QueueTicket>,
    /// Pass as `cursor` for the next page; absent on the last.
    next_cursor: Option<String>,
}

/// `GET /api/v1/tickets/count` answer.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct TicketCount {
    /// Tickets that match the filters.
    count: i64,
}

/// The store's filter for a query (cursor, sort and limit included).
async fn ticket_filter<S: Store>(
    state: &AppState<S>,
    user: &User,
    q: TicketQuery,
) -> Result<TicketFilter, ApiError> {
    use crate::store::TicketSort;
    let limit = page_limit(q.limit)?;
    if q.priority.is_some_and(|p| !(1..=5).contains(&p)) {
        return Err(bad_query("priority must be 1 to 5"));
    }
    if q.tier.is_some_and(|t| !(1..=3).contains(&t)) {
        return Err(bad_query("tier must be 1, 2 or 3"));
    }
    if q.text.as_ref().is_some_and(|t| t.len() > 256) {
        return Err(bad_query("text is longer than 256 bytes"));
    }
    let mut statuses = Vec::new();
    for name in q.status.as_deref().unwrap_or_default().split(',') {
        let name = name.trim();
        if name.is_empty() {
            continue;
        }
        let known = serde_json::from_value::<deskside_protocol::TicketStatus>(
            serde_json::Value::String(name.to_owned()),
        )
        .map_err(|_| {
            bad_query(format!(
                "unknown status {name:?} (new, open, pending, resolved, closed)"
            ))
        })?;
        let name = snake(known);
        if !statuses.contains(&name) {
            statuses.push(name);
        }
    }
    let category = match q.category.as_deref() {
        None | Some("") => None,
        Some(name) => Some(snake(super::known_category(name).map_err(bad_query)?)),
    };
    let sort = match q.sort.as_deref() {
        None | Some("" | "newest") => TicketSort::Newest,
        Some("oldest") => TicketSort::Oldest,
        Some("priority") => TicketSort::Priority,
        Some("due") => TicketSort::Due,
        Some(other) => {
            return Err(bad_query(format!(
                "unknown sort {other:?} (newest, oldest, priority, due)"
            )));
        }
    };
    let mut sla_states = Vec::new();
    for name in q.sla.as_deref().unwrap_or_default().split(',') {
        let name = name.trim();
        if name.is_empty() {
            continue;
        }
        if !["running", "warning", "paused", "met", "breached", "none"].contains(&name) {
            return Err(bad_query(format!(
                "unknown SLA state {name:?} (running, warning, paused, met, breached, none)"
            )));
        }
        if !sla_states.iter().any(|s| s == name) {
            sla_states.push(name.to_owned());
        }
    }
    let team = match q.team.as_deref() {
        None | Some("") => None,
        Some("none") => Some(None),
        Some(id) => {
            Some(Some(id.parse::<i64>().map_err(|_| {
                bad_query("team must be a team's id or none")
            })?))
        }
    };
    let ticket_type = match q.ticket_type.as_deref() {
        None | Some("") => None,
        Some(t @ ("incident" | "service_request")) => Some(t.to_owned()),
        Some(other) => {
            return Err(bad_query(format!(
                "unknown type {other:?} (incident, service_request)"
            )));
        }
    };
    if q.requester.as_ref().is_some_and(|r| r.len() > 254) {
        return Err(bad_query("requester is too long"));
    }
    let after = match q.cursor.as_deref() {
        None | Some("") => None,
        Some(c) => Some(
            parse_cursor(c, sort)
                .ok_or_else(|| bad_query("cursor is not a next_cursor of this sort order"))?,
        ),
    };
    let assignee = match q.assignee.as_deref() {
        None | Some("") => None,
        Some("none") => Some(None),
        Some("me") => Some(Some(user.id)),
        Some(email) if email.len() > 254 => return Err(bad_query("assignee is too long")),
        // An unknown technician has no tickets.
        Some(email) => Some(Some(
            state.store.user_by_email(email).await?.map_or(-1, |u| u.id),
        )),
    };
    Ok(TicketFilter {
        statuses,
        priority: q.priority.map(i64::from),
        assignee,
        device_id: q.device,
        text: q.text.filter(|t| !t.is_empty()),
        tier: q.tier.map(i64::from),
        category,
        sla_states,
        team,
        ticket_type,
        requester_email: q.requester.filter(|r| !r.is_empty()),
        sort,
        after,
        limit,
        viewer: user.id,
    })
}

/// A cursor names where a page ended: `id` (newest, oldest) or
/// `priority.id` (priority).
fn parse_cursor(c: &str, sort: crate::store::TicketSort) -> Option<(i64, i64)> {
    use crate::store::TicketSort;
    match sort {
        TicketSort::Priority | TicketSort::Due => {
            let (p, id) = c.split_once('.')?;
            Some((p.parse().ok()?, id.parse().ok()?))
        }
        TicketSort::Newest | TicketSort::Oldest => Some((0, c.parse().ok()?)),
    }
}

fn cursor_of(row: &QueueRow, sort: crate::store::TicketSort) -> String {
    match sort {
        crate::store::TicketSort::Priority => {
            format!("{}.{}", row.work.row.priority, row.work.row.id)
        }
        crate::store::TicketSort::Due => format!(
            "{}.{}",
            row.work.sla_due_at.unwrap_or(crate::store::queue::NO_DUE),
            row.work.row.id
        ),
        _ => row.work.row.id.to_string(),
    }
}

/// `GET /api/v1/tickets`: the queue.
pub(super) async fn tech_list_tickets<S: Store>(
    State(state): State<AppState<S>>,
    UserAuth(user): UserAuth,
    ApiQuery(q): ApiQuery<TicketQuery>,
) -> Result<Json<TicketPage>, ApiError> {
    let f = ticket_filter(&state, &user, q).await?;
    let rows = state.store.list_tickets(&f).await?;
    let next_cursor = (rows.len() == f.limit as usize)
        .then(|| rows.last().map(|r| cursor_of(r, f.sort)))
        .flatten();
    Ok(Json(TicketPage {
        tickets: rows
            .into_iter()
            .map(|r| {
                let unread = r.unread();
                QueueTicket {
                    service: service_view(&r.work, r.team_name),
                    device_id: r.work.device_id,
                    device_name: r.device_name,
                    impact: r.work.impact,
                    tier: r.work.tier,
                    assignee_id: r.work.assignee_id,
                    assignee_email: r.assignee_email,
                    version: r.work.version,
                    employee_at: r.employee_at,
                    unread,
                    ticket: ticket_json(r.work.row, Vec::new(), Vec::new()),
                }
            })
            .collect(),
        next_cursor,
    }))
}

/// `GET /api/v1/tickets/count`: how many tickets match (for saved views'
/// counts); cursor, sort and limit are ignored.
pub(super) async fn tech_count_tickets<S: Store>(
    State(state): State<AppState<S>>,
    UserAuth(user): UserAuth,
    ApiQuery(q): ApiQuery<TicketQuery>,
) -> Result<Json<TicketCount>, ApiError> {
    let f = ticket_filter(&state, &user, q).await?;
    Ok(Json(TicketCount {
        count: state.store.count_tickets(&f).await?,
    }))
}

/// A comment as technicians see it.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct TechCommentView {
    id: i64,
    /// The technician who wrote it; absent for the employee.
    user_id: Option<i64>,
    /// Their e-mail.
    author_email: Option<String>,
    body: String,
    /// Never shown to the device.
    internal: bool,
    created_at: chrono::DateTime<Utc>,
    /// A note the desk wrote by itself (no author).
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<deskside_protocol::DeskNote>,
}

/// What the desk verifies on the device about a ticket.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct VerificationView {
    /// The failing health check that opened it.
    check_id: Option<String>,
    /// How long that check must be ok before the desk resolves it.
    resolve_after_secs: Option<i64>,
    /// The device's checks failing when it was filed: one failing again
    /// while the fix is watched reopens it.
    watched_checks: Vec<String>,
    /// Until when the fix is watched.
    watch_until: Option<chrono::DateTime<Utc>>,
    /// When its employee may rate it.
    rating_opens_at: Option<chrono::DateTime<Utc>>,
    /// When the desk resolved it because the device showed the check ok.
    verified_at: Option<chrono::DateTime<Utc>>,
}

/// One audit record.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct AuditView {
    /// Who; absent for the desk's own changes (automatic assignment, SLA
    /// escalations).
    user_id: Option<i64>,
    /// Who, by e-mail.
    email: Option<String>,
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
    #[serde(flatten)]
    service: ServiceView,
    /// Its SLA clocks, evaluated now.
    sla: deskside_protocol::TicketSla,
    /// The device it is about, if any.
    device_id: Option<i64>,
    /// `low`, `medium` or `high`.
    impact: String,
    /// Support tier 1–3.
    tier: i64,
    assignee_id: Option<i64>,
    assignee_email: Option<String>,
    /// The device's host name.
    device_name: Option<String>,
    /// Bumped by every technician change; send it back as `If-Match`
    /// (the `ETag` header holds it too).
    version: i64,
    /// The statuses the workflow allows from the current one.
    allowed_statuses: Vec<deskside_protocol::TicketStatus>,
    /// Oldest first, internal notes included.
    comments: Vec<TechCommentView>,
    /// What the desk verifies on the device; absent when nothing.
    #[serde(skip_serializing_if = "Option::is_none")]
    verification: Option<VerificationView>,
    /// Every technician change, oldest first.
    audit: Vec<AuditView>,
}

pub(super) async fn technician_view<S: Store>(
    state: &AppState<S>,
    w: TicketWork,
) -> Result<TicketDetail, ApiError> {
    let id = w.row.id;
    let atts = state.store.ticket_attachments(id).await?;
    let row = w.row.clone();
    // Technicians are few: one read names every author.
    let emails: std::collections::HashMap<i64, String> = state
        .store
        .list_users()
        .await?
        .into_iter()
        .map(|u| (u.id, u.email))
        .collect();
    let email = |id: Option<i64>| id.and_then(|id| emails.get(&id).cloned());
    let comments = state
        .store
        .comments(id, true)
        .await?
        .into_iter()
        .map(|c| TechCommentView {
            id: c.id,
            author_email: email(c.user_id),
            user_id: c.user_id,
            body: c.body,
            internal: c.internal,
            created_at: c.created_at,
            note: c.note.as_deref().and_then(|n| serde_json::from_str(n).ok()),
        })
        .collect();
    let v = state.store.verification(id).await?;
    let verification = if v.check_id.is_some() || !v.watches.is_empty() {
        Some(VerificationView {
            check_id: v.check_id,
            resolve_after_secs: v.resolve_after_secs,
            watched_checks: v.watches,
            watch_until: v.watch_until,
            rating_opens_at: v.rating_opens_at,
            verified_at: v.verified_at,
        })
    } else {
        None
    };
    let audit = state
        .store
        .ticket_audit(id)
        .await?
        .into_iter()
        .map(|(user_id, action, detail, at)| AuditView {
            email: email(user_id),
            user_id,
            action,
            at,
            detail: serde_json::from_str(&detail).unwrap_or_default(),
        })
        .collect();
    let device_name = match w.device_id {
        Some(d) => state.store.device(d).await?.and_then(|d| d.hostname),
        None => None,
    };
    let team_name = match w.team_id {
        Some(t) => state
            .store
            .list_teams()
            .await?
            .into_iter()
            .find(|x| x.id == t)
            .map(|x| x.name),
        None => None,
    };
    let config = crate::sla::Config::load(&state.store).await?;
    let sla = match state.store.sla_inputs(&[id]).await?.first() {
        Some(input) => crate::sla::view(&config, input, Utc::now().timestamp()),
        // Deleted meanwhile: nothing to evaluate.
        None => crate::sla::no_sla(),
    };
    let status = enum_from(&row.status, deskside_protocol::TicketStatus::New);
    let allowed_statuses = {
        use deskside_protocol::TicketStatus::{Closed, New, Open, Pending, Resolved};
        [New, Open, Pending, Resolved, Closed]
            .into_iter()
            .filter(|to| *to != status && crate::workflow::transition_allowed(status, *to))
            .collect()
    };
    Ok(TicketDetail {
        service: service_view(&w, team_name),
        sla,
        ticket: ticket_json(row, atts, Vec::new()),
        device_id: w.device_id,
        impact: w.impact,
        tier: w.tier,
        assignee_email: email(w.assignee_id),
        assignee_id: w.assignee_id,
        device_name,
        version: w.version,
        allowed_statuses,
        comments,
        verification,
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
    UserAuth(user): UserAuth,
    axum::extract::Path(raw): axum::extract::Path<String>,
) -> Result<Response, ApiError> {
    let w = work_item(&state, &raw).await?;
    // What the technician has now seen: the unread marker goes.
    state
        .store
        .mark_ticket_seen(user.id, w.row.id, Utc::now())
        .await?;
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
    /// Incident or service request.
    ticket_type: Option<deskside_protocol::TicketType>,
    /// The team (its id); `null` takes the ticket from its team. Moving
    /// an unassigned ticket to a team that assigns automatically assigns
    /// it.
    #[serde(default, deserialize_with = "some")]
    #[schemars(with = "Option<i64>")]
    team_id: Option<Option<i64>>,
    /// Who asks; `null` clears it.
    #[serde(default, deserialize_with = "some")]
    #[schemars(with = "Option<String>")]
    requester_name: Option<Option<String>>,
    /// Their e-mail; `null` clears it.
    #[serde(default, deserialize_with = "some")]
    #[schemars(with = "Option<String>")]
    requester_email: Option<Option<String>>,
    /// Link to a problem (its id); `null` unlinks.
    #[serde(default, deserialize_with = "some")]
    #[schemars(with = "Option<i64>")]
    problem_id: Option<Option<i64>>,
    /// Apply only to this version of the ticket (as `If-Match` does); a
    /// stale version answers 409 `version_conflict` with the ticket as it
    /// is now.
    version: Option<i64>,
}

/// A category by its exact name (see [`super::known_category`]).
fn known_category<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<deskside_protocol::TicketCategory>, D::Error> {
    let name = <String as serde::Deserialize>::deserialize(d)?;
    super::known_category(&name)
        .map(Some)
        .map_err(serde::de::Error::custom)
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
    if let Some(Some(team)) = patch.team_id
        && !state.store.list_teams().await?.iter().any(|t| t.id == team)
    {
        return Err(invalid(format!("no team {team}")));
    }
    if let Some(Some(problem)) = patch.problem_id
        && state.store.problem(problem).await?.is_none()
    {
        return Err(invalid(format!("no problem {problem}")));
    }
    let requester_name = match patch.requester_name {
        Some(Some(n)) => Some(Some(requester_name(&n)?)),
        other => other,
    };
    let requester_email = match patch.requester_email {
        Some(Some(e)) => Some(Some(requester_email(&e)?)),
        other => other,
    };
    let change = TicketChange {
        status: patch.status,
        impact: patch.impact,
        urgency: patch.urgency,
        category: patch.category,
        tier: patch.tier,
        assignee,
        ticket_type: patch.ticket_type,
        team: patch.team_id,
        requester_name,
        requester_email,
        problem: patch.problem_id,
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
            if change.team.is_some() && w.assignee_id.is_none() && w.team_id.is_some() {
                state.store.auto_assign(w.row.id).await?;
            }
            super::sla::after_change(&state, w.row.id).await;
            // As it is now: assigned, and with its SLA evaluated.
            let w = state
                .store
                .ticket_work(w.row.id)
                .await?
                .ok_or_else(ticket_not_found)?;
            super::events::publish(&state, "ticket.updated", w.row.id, Some(&user.email)).await;
            if change.status == Some(deskside_protocol::TicketStatus::Resolved) {
                super::check_tickets::after_resolution(&state, w.row.id).await;
                super::events::publish(&state, "ticket.resolved", w.row.id, Some(&user.email))
                    .await;
            }
            Ok(with_etag(technician_view(&state, w).await?))
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
    if !c.internal {
        super::sla::after_change(&state, w.row.id).await;
    }
    super::events::publish(&state, "comment.added", w.row.id, Some(&user.email)).await;
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

/// A requester's name: 1 to 200 characters, no control characters.
fn requester_name(raw: &str) -> Result<String, ApiError> {
    let n = raw.trim();
    if n.is_empty() || n.chars().count() > 200 || n.chars().any(char::is_control) {
        return Err(invalid("the requester's name must be 1 to 200 characters"));
    }
    Ok(n.to_owned())
}

/// A requester's e-mail address.
fn requester_email(raw: &str) -> Result<String, ApiError> {
    let e = raw.trim();
    if !crate::store::is_email(e) {
        return Err(invalid(format!("{e:?} is not an e-mail address")));
    }
    Ok(e.to_owned())
}

/// `POST /api/v1/tickets` body: a ticket a technician opens for someone
/// who called, came by, wrote or chatted.
#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeskTicketInput {
    /// One line, 1–200 characters.
    subject: String,
    /// What happened.
    #[serde(default)]
    description: String,
    /// Category (default `other`).
    #[serde(default, deserialize_with = "known_category")]
    #[schemars(with = "Option<deskside_protocol::TicketCategory>")]
    category: Option<deskside_protocol::TicketCategory>,
    /// Urgency (default medium).
    urgency: Option<deskside_protocol::Urgency>,
    /// Impact (default medium).
    impact: Option<deskside_protocol::Urgency>,
    /// Incident (default) or service request.
    #[serde(default)]
    ticket_type: deskside_protocol::TicketType,
    /// How it reached the desk: `phone`, `walk_in`, `email` or `chat`
    /// (`tray` tickets come from the tray app).
    channel: deskside_protocol::Channel,
    /// Who asks.
    requester_name: String,
    /// Their e-mail.
    requester_email: Option<String>,
    /// The machine it is about, if any (someone who cannot log in has
    /// none to report from).
    device_id: Option<i64>,
    /// The team to give it to (automatic assignment applies).
    team_id: Option<i64>,
    /// Assign it at once to this technician.
    assignee_email: Option<String>,
}

/// `POST /api/v1/tickets`: open a ticket on someone's behalf. With an
/// `Idempotency-Key`, a retry returns the first ticket (200).
pub(super) async fn tech_create_ticket<S: Store>(
    State(state): State<AppState<S>>,
    UserAuth(user): UserAuth,
    headers: axum::http::HeaderMap,
    ApiJson(t): ApiJson<DeskTicketInput>,
) -> Result<Response, ApiError> {
    use deskside_protocol::{Channel, TicketCategory, Urgency};
    let subject = t.subject.trim();
    if subject.is_empty() || subject.chars().count() > 200 {
        return Err(invalid("the subject must be 1 to 200 characters"));
    }
    if t.description.chars().count() > 20_000 {
        return Err(invalid("the description must be at most 20000 characters"));
    }
    if t.channel == Channel::Tray {
        return Err(invalid(
            "tray tickets come from the tray app; the channel is phone, walk_in, email or chat",
        ));
    }
    let requester_name = requester_name(&t.requester_name)?;
    let requester_email = t
        .requester_email
        .as_deref()
        .filter(|e| !e.trim().is_empty())
        .map(requester_email)
        .transpose()?;
    if let Some(d) = t.device_id
        && state.store.device(d).await?.is_none()
    {
        return Err(invalid(format!("no device {d}")));
    }
    if let Some(team) = t.team_id
        && !state.store.list_teams().await?.iter().any(|x| x.id == team)
    {
        return Err(invalid(format!("no team {team}")));
    }
    let assignee = match &t.assignee_email {
        None => None,
        Some(email) => Some(
            state
                .store
                .user_by_email(email)
                .await?
                .filter(|u| u.deactivated_at.is_none())
                .ok_or_else(|| invalid(format!("no active technician {email}")))?
                .id,
        ),
    };
    let key = match super::agent::idempotency_key(&headers)? {
        Some(k) => k,
        None => crate::credentials::new_token("desk"),
    };
    let urgency = t.urgency.unwrap_or(Urgency::Medium);
    let impact = t.impact.unwrap_or(Urgency::Medium);
    let category = t.category.unwrap_or(TicketCategory::Other);
    let request_hash = crate::credentials::hash_token(
        &serde_json::json!([
            subject,
            t.description,
            snake(category),
            snake(urgency),
            snake(impact),
            snake(t.ticket_type),
            snake(t.channel),
            requester_name,
            requester_email,
            t.device_id,
            t.team_id,
            assignee
        ])
        .to_string(),
    );
    let (id, created) = state
        .store
        .create_desk_ticket(&crate::store::NewDeskTicket {
            created_by: user.id,
            idempotency_key: &key,
            request_hash: &request_hash,
            subject,
            description: &t.description,
            category: &snake(category),
            urgency: &snake(urgency),
            impact: &snake(impact),
            priority: crate::workflow::itil_priority(impact, urgency),
            ticket_type: &snake(t.ticket_type),
            channel: &snake(t.channel),
            requester_name: &requester_name,
            requester_email: requester_email.as_deref(),
            device_id: t.device_id,
            team_id: t.team_id,
            assignee_id: assignee,
        })
        .await?;
    if created {
        if assignee.is_none() && t.team_id.is_some() {
            state.store.auto_assign(id).await?;
        }
        super::sla::after_change(&state, id).await;
        super::events::publish(&state, "ticket.created", id, Some(&user.email)).await;
    }
    let w = state
        .store
        .ticket_work(id)
        .await?
        .ok_or_else(ticket_not_found)?;
    let mut resp = with_etag(technician_view(&state, w).await?);
    *resp.status_mut() = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(resp)
}
