//! Problem candidates at the desk (see [`crate::problem_candidates`]):
//! found on a timer from the database's facts ([`candidate_pass`]), each
//! new one announced once (`problem.candidate`, also to webhooks); listed,
//! accepted (a problem record, in the technician's words, with the
//! incidents linked) or dismissed by technicians. A decision is a
//! conditional update: of two technicians deciding at once, one does.

use chrono::DateTime;
use deskside_protocol::{CandidateDevice, CandidateIncident, ProblemCandidate, ProblemInput};

use super::*;
use crate::problem_candidates::{self as pc, Change, Incident};
use crate::store::CandidateRow;
use crate::workflow::{PatchOutcome, TicketChange};

/// At most this many facts of each kind per pass.
const FACTS: u32 = 100_000;
/// At most this many other devices listed.
const OTHERS: u32 = 200;

/// What a candidate's evidence holds.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
struct Evidence {
    devices: Vec<CandidateDevice>,
    incidents: Vec<CandidateIncident>,
    others: Vec<CandidateDevice>,
}

fn view(row: CandidateRow) -> ProblemCandidate {
    let e: Evidence = serde_json::from_str(&row.evidence).unwrap_or_default();
    ProblemCandidate {
        id: row.id,
        name: row.name,
        version: row.version,
        state: row.state,
        devices: e.devices,
        incidents: e.incidents,
        others: e.others,
        problem_id: row.problem_id,
        created_at: row.created_at,
        updated_at: row.updated_at,
    }
}

/// Finds the candidates of the last [`pc::WINDOW`] at `now` and proposes
/// them; announces each new one. Returns the ids proposed anew. Every
/// node may run it: a candidate is proposed (and announced) once.
pub async fn candidate_pass<S: Store>(
    state: &AppState<S>,
    now: DateTime<Utc>,
) -> Result<Vec<i64>, crate::store::StoreError> {
    let store = &state.store;
    let from = now - pc::WINDOW;
    let mut incidents: Vec<Incident> = store
        .device_incidents_between(from, now, FACTS)
        .await?
        .into_iter()
        .map(|(id, device_id, at, subject)| Incident {
            device_id,
            at,
            ticket: Some((id, subject)),
            check_id: None,
        })
        .collect();
    incidents.extend(
        store
            .failing_transitions_between(from, now, FACTS)
            .await?
            .into_iter()
            .map(|(device_id, check_id, at)| Incident {
                device_id,
                at,
                ticket: None,
                check_id: Some(check_id),
            }),
    );
    let mut changes = Vec::new();
    for (device_id, at, diff) in store
        .inventory_changes_between(from - pc::LEAD, now, FACTS)
        .await?
    {
        let Ok(diff) = serde_json::from_str::<deskside_protocol::InventoryDiff>(&diff) else {
            continue;
        };
        for (name, version) in pc::arrivals(&diff) {
            changes.push(Change {
                device_id,
                at,
                name,
                version,
            });
        }
    }
    let mut proposed = Vec::new();
    for f in pc::find(&incidents, &changes) {
        let having = store
            .devices_with_software(&f.name, &f.version, OTHERS + 100)
            .await?;
        let mut devices = Vec::with_capacity(f.devices.len());
        for (&id, &changed_at) in &f.devices {
            let hostname = match having.iter().find(|(d, _)| *d == id) {
                Some((_, h)) => h.clone(),
                None => store.device(id).await?.and_then(|d| d.hostname),
            };
            devices.push(CandidateDevice {
                id,
                hostname,
                changed_at: Some(changed_at),
            });
        }
        let others = having
            .into_iter()
            .filter(|(id, _)| !f.devices.contains_key(id))
            .take(OTHERS as usize)
            .map(|(id, hostname)| CandidateDevice {
                id,
                hostname,
                changed_at: None,
            })
            .collect();
        let incidents = f
            .incidents
            .iter()
            .map(|i| CandidateIncident {
                device_id: i.device_id,
                at: i.at,
                ticket_id: i.ticket.as_ref().map(|t| t.0),
                subject: i.ticket.as_ref().map(|t| t.1.clone()),
                check_id: i.check_id.clone(),
            })
            .collect();
        let evidence = Evidence {
            devices,
            incidents,
            others,
        };
        let json = serde_json::to_string(&evidence).unwrap_or_default();
        if let Some(id) = store
            .propose_candidate(&f.name, &f.version, &json, now)
            .await?
        {
            let detail = serde_json::json!({
                "id": id, "name": f.name, "version": f.version,
                "devices": evidence.devices.len(), "incidents": evidence.incidents.len(),
                "others": evidence.others.len(),
            });
            store
                .publish_detail_event("problem.candidate", &detail.to_string())
                .await?;
            state.events.wake.notify_waiters();
            tracing::info!(candidate = id, package = %f.name, version = %f.version, "problem candidate proposed");
            proposed.push(id);
        }
    }
    Ok(proposed)
}

/// Query of `GET /api/v1/problems/candidates`.
#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CandidateQuery {
    /// `proposed`, `accepted` or `dismissed`; all when absent.
    state: Option<String>,
}

/// `GET /api/v1/problems/candidates`: newest first.
pub(super) async fn list<S: Store>(
    State(state): State<AppState<S>>,
    UserAuth(_): UserAuth,
    ApiQuery(q): ApiQuery<CandidateQuery>,
) -> Result<Json<Vec<ProblemCandidate>>, ApiError> {
    let wanted = match q.state.as_deref() {
        None | Some("") => None,
        Some(s @ ("proposed" | "accepted" | "dismissed")) => Some(s),
        Some(other) => {
            return Err(bad_query(format!(
                "unknown state {other:?} (proposed, accepted, dismissed)"
            )));
        }
    };
    Ok(Json(
        state
            .store
            .candidates(wanted)
            .await?
            .into_iter()
            .map(view)
            .collect(),
    ))
}

fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        ErrorCode::NotFound,
        "no such problem candidate",
    )
}

fn decided() -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        ErrorCode::InvalidTransition,
        "the candidate was accepted or dismissed already",
    )
}

async fn known<S: Store>(state: &AppState<S>, raw: &str) -> Result<CandidateRow, ApiError> {
    let id = positive_id(raw).ok_or_else(not_found)?;
    state.store.candidate(id).await?.ok_or_else(not_found)
}

/// `POST /api/v1/problems/candidates/{id}/accept`: a problem record with
/// the subject and texts the technician gives (in their language), the
/// candidate's incident tickets linked to it (those not linked to another
/// problem; each link audited as the technician's).
pub(super) async fn accept<S: Store>(
    State(state): State<AppState<S>>,
    UserAuth(user): UserAuth,
    axum::extract::Path(raw): axum::extract::Path<String>,
    ApiJson(p): ApiJson<ProblemInput>,
) -> Result<(StatusCode, Json<ProblemCandidate>), ApiError> {
    let row = known(&state, &raw).await?;
    let f = super::problems::fields(&p, true)?;
    if row.state != "proposed"
        || !state
            .store
            .decide_candidate(row.id, "accepted", user.id, Utc::now())
            .await?
    {
        return Err(decided());
    }
    let problem = state
        .store
        .save_problem(0, user.id, &f)
        .await?
        .ok_or_else(not_found)?;
    state.store.candidate_problem(row.id, problem).await?;
    let e: Evidence = serde_json::from_str(&row.evidence).unwrap_or_default();
    let mut tickets: Vec<i64> = e.incidents.iter().filter_map(|i| i.ticket_id).collect();
    tickets.sort_unstable();
    tickets.dedup();
    for id in tickets {
        let Some(w) = state.store.ticket_work(id).await? else {
            continue;
        };
        if w.problem_id.is_some() {
            continue;
        }
        let change = TicketChange {
            problem: Some(Some(problem)),
            ..TicketChange::default()
        };
        if let PatchOutcome::Done(_) = state.store.patch_ticket(id, &change, None, user.id).await? {
            super::events::publish(&state, "ticket.updated", id, Some(&user.email)).await;
        }
    }
    tracing::info!(candidate = row.id, problem, by = %user.email, "problem candidate accepted");
    let row = state.store.candidate(row.id).await?.ok_or_else(not_found)?;
    Ok((StatusCode::CREATED, Json(view(row))))
}

/// `POST /api/v1/problems/candidates/{id}/dismiss`: not a common cause;
/// the desk does not propose this package version again.
pub(super) async fn dismiss<S: Store>(
    State(state): State<AppState<S>>,
    UserAuth(user): UserAuth,
    axum::extract::Path(raw): axum::extract::Path<String>,
) -> Result<Json<ProblemCandidate>, ApiError> {
    let row = known(&state, &raw).await?;
    if !state
        .store
        .decide_candidate(row.id, "dismissed", user.id, Utc::now())
        .await?
    {
        return Err(decided());
    }
    tracing::info!(candidate = row.id, by = %user.email, "problem candidate dismissed");
    let row = state.store.candidate(row.id).await?.ok_or_else(not_found)?;
    Ok(Json(view(row)))
}
