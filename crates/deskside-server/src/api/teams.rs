//! Teams of technicians: who is in which (administrators decide), how a
//! team hands out its new tickets, and each technician's "away" mark
//! (automatic assignment skips them).

use deskside_protocol::{AutoAssign, Team, TeamInput, TeamMember};

use super::*;
use crate::store::{MemberRow, TeamRow};

fn rule_name(a: AutoAssign) -> &'static str {
    match a {
        AutoAssign::None => "none",
        AutoAssign::RoundRobin => "round_robin",
        AutoAssign::LeastOpen => "least_open",
    }
}

fn team_view(t: TeamRow, members: &[MemberRow]) -> Team {
    Team {
        auto_assign: enum_from(&t.auto_assign, AutoAssign::None),
        members: members
            .iter()
            .filter(|m| m.team_id == t.id)
            .map(|m| TeamMember {
                user_id: m.user_id,
                email: m.email.clone(),
                away: m.away,
                open_tickets: m.open_tickets,
            })
            .collect(),
        id: t.id,
        name: t.name,
    }
}

/// Every team with its members.
pub(super) async fn all_teams<S: Store>(state: &AppState<S>) -> Result<Vec<Team>, ApiError> {
    let members = state.store.team_members().await?;
    Ok(state
        .store
        .list_teams()
        .await?
        .into_iter()
        .map(|t| team_view(t, &members))
        .collect())
}

/// `GET /api/v1/teams`: every team, by name.
pub(super) async fn list_teams<S: Store>(
    State(state): State<AppState<S>>,
    UserAuth(_): UserAuth,
) -> Result<Json<Vec<Team>>, ApiError> {
    Ok(Json(all_teams(&state).await?))
}

fn team_not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, ErrorCode::NotFound, "no such team")
}

/// The input checked: its name, and its members' user ids.
async fn checked<S: Store>(state: &AppState<S>, t: &TeamInput) -> Result<Vec<i64>, ApiError> {
    name_of(&t.name)?;
    let users = state.store.list_users().await?;
    let mut ids = Vec::new();
    for email in &t.members {
        let u = users
            .iter()
            .find(|u| u.email.eq_ignore_ascii_case(email.trim()) && u.deactivated_at.is_none())
            .ok_or_else(|| invalid(format!("no active technician {email}")))?;
        if !ids.contains(&u.id) {
            ids.push(u.id);
        }
    }
    Ok(ids)
}

async fn save<S: Store>(
    state: &AppState<S>,
    admin: &User,
    id: i64,
    t: TeamInput,
) -> Result<Team, ApiError> {
    let members = checked(state, &t).await?;
    let saved = match state
        .store
        .save_team(id, t.name.trim(), rule_name(t.auto_assign), &members)
        .await
    {
        Ok(Some(id)) => id,
        Ok(None) => return Err(team_not_found()),
        Err(StoreError::Conflict(_)) => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                ErrorCode::AlreadyExists,
                format!("a team named {:?} exists", t.name.trim()),
            ));
        }
        Err(e) => return Err(e.into()),
    };
    let action = if id == 0 {
        "team.create"
    } else {
        "team.update"
    };
    super::access::audit(
        state,
        Some(admin),
        action,
        format!("team:{saved}"),
        serde_json::json!({"name": t.name.trim(), "auto_assign": rule_name(t.auto_assign),
            "members": t.members}),
    )
    .await?;
    all_teams(state)
        .await?
        .into_iter()
        .find(|x| x.id == saved)
        .ok_or_else(team_not_found)
}

/// `POST /api/v1/teams` (administrators).
pub(super) async fn create_team<S: Store>(
    State(state): State<AppState<S>>,
    AdminAuth(admin): AdminAuth,
    ApiJson(t): ApiJson<TeamInput>,
) -> Result<(StatusCode, Json<Team>), ApiError> {
    Ok((StatusCode::CREATED, Json(save(&state, &admin, 0, t).await?)))
}

/// `PUT /api/v1/teams/{id}` (administrators): name, rule and members.
pub(super) async fn update_team<S: Store>(
    State(state): State<AppState<S>>,
    AdminAuth(admin): AdminAuth,
    axum::extract::Path(raw): axum::extract::Path<String>,
    ApiJson(t): ApiJson<TeamInput>,
) -> Result<Json<Team>, ApiError> {
    let id = positive_id(&raw).ok_or_else(team_not_found)?;
    Ok(Json(save(&state, &admin, id, t).await?))
}

/// `DELETE /api/v1/teams/{id}` (administrators): its tickets keep no team.
pub(super) async fn delete_team<S: Store>(
    State(state): State<AppState<S>>,
    AdminAuth(admin): AdminAuth,
    axum::extract::Path(raw): axum::extract::Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = positive_id(&raw).ok_or_else(team_not_found)?;
    if !state.store.delete_team(id).await? {
        return Err(team_not_found());
    }
    super::access::audit(
        &state,
        Some(&admin),
        "team.delete",
        format!("team:{id}"),
        serde_json::json!({}),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `PUT /api/v1/auth/away` body.
#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Away {
    /// Away (automatic assignment skips you) or back.
    away: bool,
}

/// `PUT /api/v1/auth/away`: mark yourself away, or back.
pub(super) async fn set_away<S: Store>(
    State(state): State<AppState<S>>,
    UserAuth(user): UserAuth,
    ApiJson(a): ApiJson<Away>,
) -> Result<StatusCode, ApiError> {
    state.store.set_away(user.id, a.away).await?;
    Ok(StatusCode::NO_CONTENT)
}
