//! Problem management (ITIL): a problem record names the common cause of
//! incidents, with its root cause, workaround and known-error mark;
//! incidents are linked to it from the ticket (`problem_id`), and
//! resolving it resolves or notifies its open incidents at once.

use deskside_protocol::{LinkedIncidents, Problem, ProblemInput, ProblemResolution, TicketStatus};

use super::*;
use crate::store::{ProblemFields, ProblemRow};
use crate::workflow::{PatchOutcome, TicketChange};

fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        ErrorCode::NotFound,
        "no such problem",
    )
}

fn view(p: ProblemRow) -> Problem {
    Problem {
        id: p.id,
        subject: p.subject,
        description: p.description,
        root_cause: p.root_cause,
        workaround: p.workaround,
        known_error: p.known_error,
        status: p.status,
        created_by: p.created_by,
        created_at: p.created_at,
        updated_at: p.updated_at,
        resolved_at: p.resolved_at,
        incidents: p.incidents,
    }
}

fn id_of(raw: &str) -> Result<i64, ApiError> {
    positive_id(raw).ok_or_else(not_found)
}

/// The input checked: a one-line subject (1–200), texts up to 20,000.
pub(super) fn fields(p: &ProblemInput, creating: bool) -> Result<ProblemFields<'_>, ApiError> {
    let subject = p.subject.as_deref().map(str::trim);
    match subject {
        None if creating => return Err(invalid("a problem needs a subject")),
        Some(s) if s.is_empty() || s.chars().count() > 200 || s.chars().any(char::is_control) => {
            return Err(invalid(
                "the subject must be one line of 1 to 200 characters",
            ));
        }
        _ => {}
    }
    for text in [&p.description, &p.root_cause, &p.workaround]
        .into_iter()
        .flatten()
    {
        if text.chars().count() > 20_000 {
            return Err(invalid("a text must be at most 20000 characters"));
        }
    }
    Ok(ProblemFields {
        subject,
        description: p.description.as_deref(),
        root_cause: p.root_cause.as_deref(),
        workaround: p.workaround.as_deref(),
        known_error: p.known_error,
    })
}

/// Query of `GET /api/v1/problems`.
#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProblemQuery {
    /// `open` or `resolved`; all when absent.
    status: Option<String>,
}

/// `GET /api/v1/problems`: newest first.
pub(super) async fn list<S: Store>(
    State(state): State<AppState<S>>,
    UserAuth(_): UserAuth,
    ApiQuery(q): ApiQuery<ProblemQuery>,
) -> Result<Json<Vec<Problem>>, ApiError> {
    let status = match q.status.as_deref() {
        None | Some("") => None,
        Some(s @ ("open" | "resolved")) => Some(s),
        Some(other) => {
            return Err(bad_query(format!(
                "unknown status {other:?} (open, resolved)"
            )));
        }
    };
    Ok(Json(
        state
            .store
            .problems(status)
            .await?
            .into_iter()
            .map(view)
            .collect(),
    ))
}

/// A problem with its incidents.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct ProblemDetail {
    #[serde(flatten)]
    problem: Problem,
    /// Its linked incidents: id, subject, status.
    tickets: Vec<LinkedTicket>,
}

/// An incident linked to a problem.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct LinkedTicket {
    id: i64,
    subject: String,
    status: String,
}

async fn detail<S: Store>(state: &AppState<S>, id: i64) -> Result<ProblemDetail, ApiError> {
    let p = state.store.problem(id).await?.ok_or_else(not_found)?;
    let tickets = state
        .store
        .problem_tickets(id)
        .await?
        .into_iter()
        .map(|(id, subject, status)| LinkedTicket {
            id,
            subject,
            status,
        })
        .collect();
    Ok(ProblemDetail {
        problem: view(p),
        tickets,
    })
}

/// `POST /api/v1/problems`.
pub(super) async fn create<S: Store>(
    State(state): State<AppState<S>>,
    UserAuth(user): UserAuth,
    ApiJson(p): ApiJson<ProblemInput>,
) -> Result<(StatusCode, Json<ProblemDetail>), ApiError> {
    let f = fields(&p, true)?;
    let id = state
        .store
        .save_problem(0, user.id, &f)
        .await?
        .ok_or_else(not_found)?;
    Ok((StatusCode::CREATED, Json(detail(&state, id).await?)))
}

/// `GET /api/v1/problems/{id}`.
pub(super) async fn get<S: Store>(
    State(state): State<AppState<S>>,
    UserAuth(_): UserAuth,
    axum::extract::Path(raw): axum::extract::Path<String>,
) -> Result<Json<ProblemDetail>, ApiError> {
    Ok(Json(detail(&state, id_of(&raw)?).await?))
}

/// `PATCH /api/v1/problems/{id}`: root cause, workaround, known error…
pub(super) async fn patch<S: Store>(
    State(state): State<AppState<S>>,
    UserAuth(user): UserAuth,
    axum::extract::Path(raw): axum::extract::Path<String>,
    ApiJson(p): ApiJson<ProblemInput>,
) -> Result<Json<ProblemDetail>, ApiError> {
    let id = id_of(&raw)?;
    let f = fields(&p, false)?;
    state
        .store
        .save_problem(id, user.id, &f)
        .await?
        .ok_or_else(not_found)?;
    Ok(Json(detail(&state, id).await?))
}

/// `POST /api/v1/problems/{id}/resolve` answer.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct Resolved {
    #[serde(flatten)]
    problem: ProblemDetail,
    /// Incidents this resolved.
    resolved_incidents: Vec<i64>,
    /// Incidents whose requesters were told.
    notified_incidents: Vec<i64>,
}

/// `POST /api/v1/problems/{id}/resolve`: resolves the problem, then
/// resolves or notifies its open incidents (each change audited as the
/// technician's).
pub(super) async fn resolve<S: Store>(
    State(state): State<AppState<S>>,
    UserAuth(user): UserAuth,
    axum::extract::Path(raw): axum::extract::Path<String>,
    ApiJson(r): ApiJson<ProblemResolution>,
) -> Result<Json<Resolved>, ApiError> {
    let id = id_of(&raw)?;
    let message = match r.message.as_deref() {
        Some(m) => Some(comment_body(m)?.to_owned()),
        None if r.incidents == LinkedIncidents::Notify => {
            return Err(invalid("telling the incidents' requesters needs a message"));
        }
        None => None,
    };
    if state.store.problem(id).await?.is_none() {
        return Err(not_found());
    }
    if !state.store.resolve_problem(id).await? {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            ErrorCode::InvalidTransition,
            "the problem is resolved already",
        ));
    }
    let (mut resolved, mut notified) = (Vec::new(), Vec::new());
    for (ticket, _, status) in state.store.problem_tickets(id).await? {
        if matches!(status.as_str(), "resolved" | "closed") || r.incidents == LinkedIncidents::Leave
        {
            continue;
        }
        if let Some(m) = &message {
            state
                .store
                .add_comment(ticket, Some(user.id), m, false)
                .await?;
        }
        if r.incidents == LinkedIncidents::Resolve {
            let change = TicketChange {
                status: Some(TicketStatus::Resolved),
                ..TicketChange::default()
            };
            if let PatchOutcome::Done(_) = state
                .store
                .patch_ticket(ticket, &change, None, user.id)
                .await?
            {
                resolved.push(ticket);
            }
        } else {
            notified.push(ticket);
        }
        super::sla::after_change(&state, ticket).await;
        super::events::publish(&state, "ticket.updated", ticket, Some(&user.email)).await;
        if resolved.last() == Some(&ticket) {
            super::events::publish(&state, "ticket.resolved", ticket, Some(&user.email)).await;
        }
    }
    Ok(Json(Resolved {
        problem: detail(&state, id).await?,
        resolved_incidents: resolved,
        notified_incidents: notified,
    }))
}
