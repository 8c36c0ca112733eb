//! SLA administration (calendars, policies, holidays from `.ics`), and
//! keeping tickets' SLAs current: after every change a handler makes
//! ([`after_change`]) and on a timer for clocks that warn or breach by
//! themselves ([`sla_loop`]). Warnings and breaches are announced on the
//! event stream by the node that recorded them.

use deskside_protocol::{SlaCalendar, SlaCalendarInput, SlaConditions, SlaPolicy, SlaPolicyInput};

use super::*;
use crate::sla::{Config, Recorded};
use crate::store::{CalendarRow, EscalationAction, PolicyRow};

/// Tells the consoles what SLA evaluation recorded, and assigns tickets
/// an escalation moved to a team that assigns automatically.
pub(super) async fn announce<S: Store>(
    store: &S,
    wake: &tokio::sync::Notify,
    recorded: &[Recorded],
) {
    for r in recorded {
        let kind = match (r.event.notify, r.event.kind) {
            (true, "warning") => "sla.warning",
            (true, _) => "sla.breach",
            (false, _) if r.event.actions.is_empty() => continue,
            (false, _) => "ticket.updated",
        };
        if r.event
            .actions
            .iter()
            .any(|a| matches!(a, EscalationAction::MoveToTeam(_)))
            && let Err(e) = store.auto_assign(r.ticket_id).await
        {
            tracing::warn!(ticket = r.ticket_id, "automatic assignment failed: {e}");
        }
        match store.publish_event(kind, Some(r.ticket_id), None).await {
            Ok(_) => wake.notify_waiters(),
            Err(e) => tracing::warn!(ticket = r.ticket_id, kind, "event not recorded: {e}"),
        }
    }
}

/// Evaluates a ticket's SLA after a change (best effort: the timer pass
/// catches up with whatever this misses, as the change is counted in the
/// database).
pub(super) async fn after_change<S: Store>(state: &AppState<S>, ticket_id: i64) {
    let done = async {
        let config = Config::load(&state.store).await?;
        crate::sla::refresh(&state.store, &config, &[ticket_id], Utc::now()).await
    }
    .await;
    match done {
        Ok(recorded) => announce(&state.store, &state.events.wake, &recorded).await,
        Err(e) => tracing::warn!(ticket = ticket_id, "SLA not evaluated: {e}"),
    }
}

/// Evaluates due and changed tickets every `every`, for as long as the
/// desk runs, and resolves checks' tickets their devices verified. Every
/// node may: each warning, breach and resolution is recorded once.
pub(super) async fn sla_loop<S: Store>(state: AppState<S>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match crate::sla::run_pass(&state.store, Utc::now()).await {
            Ok(recorded) => announce(&state.store, &state.events.wake, &recorded).await,
            Err(e) => tracing::warn!("SLA pass failed: {e}"),
        }
        super::check_tickets::verify_pass(&state, Utc::now()).await;
    }
}

fn not_found(what: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        ErrorCode::NotFound,
        format!("no such {what}"),
    )
}

fn taken(what: &str, name: &str) -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        ErrorCode::AlreadyExists,
        format!("a {what} named {name:?} exists"),
    )
}

fn id_of(raw: &str, what: &str) -> Result<i64, ApiError> {
    positive_id(raw).ok_or_else(|| not_found(what))
}

/// `GET /api/v1/sla/calendars`.
pub(super) async fn list_calendars<S: Store>(
    State(state): State<AppState<S>>,
    UserAuth(_): UserAuth,
) -> Result<Json<Vec<SlaCalendar>>, ApiError> {
    Ok(Json(
        state
            .store
            .list_sla_calendars()
            .await?
            .iter()
            .map(crate::sla::calendar_view)
            .collect(),
    ))
}

async fn save_calendar<S: Store>(
    state: &AppState<S>,
    admin: &User,
    id: i64,
    c: SlaCalendarInput,
) -> Result<SlaCalendar, ApiError> {
    let name = name_of(&c.name)?;
    if c.holidays.len() > 2000 {
        return Err(invalid("at most 2000 holidays"));
    }
    if c.week.days().iter().any(|d| d.len() > 12) {
        return Err(invalid("at most 12 working intervals a day"));
    }
    crate::sla::calendar_of(&c.time_zone, &c.week, &c.holidays).map_err(invalid)?;
    let mut holidays = c.holidays.clone();
    holidays.sort_unstable();
    holidays.dedup();
    let row = CalendarRow {
        id,
        name: name.to_owned(),
        time_zone: c.time_zone.clone(),
        week: serde_json::to_string(&c.week).unwrap_or_default(),
        holidays: serde_json::to_string(&holidays).unwrap_or_default(),
    };
    let saved = match state.store.save_sla_calendar(&row).await {
        Ok(Some(id)) => id,
        Ok(None) => return Err(not_found("calendar")),
        Err(StoreError::Conflict(_)) => return Err(taken("calendar", name)),
        Err(e) => return Err(e.into()),
    };
    let action = if id == 0 {
        "sla_calendar.create"
    } else {
        "sla_calendar.update"
    };
    super::access::audit(
        state,
        Some(admin),
        action,
        format!("sla_calendar:{saved}"),
        serde_json::json!({"name": name, "time_zone": c.time_zone}),
    )
    .await?;
    Ok(crate::sla::calendar_view(&CalendarRow { id: saved, ..row }))
}

/// `POST /api/v1/sla/calendars` (administrators).
pub(super) async fn create_calendar<S: Store>(
    State(state): State<AppState<S>>,
    AdminAuth(admin): AdminAuth,
    ApiJson(c): ApiJson<SlaCalendarInput>,
) -> Result<(StatusCode, Json<SlaCalendar>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(save_calendar(&state, &admin, 0, c).await?),
    ))
}

/// `PUT /api/v1/sla/calendars/{id}` (administrators).
pub(super) async fn update_calendar<S: Store>(
    State(state): State<AppState<S>>,
    AdminAuth(admin): AdminAuth,
    axum::extract::Path(raw): axum::extract::Path<String>,
    ApiJson(c): ApiJson<SlaCalendarInput>,
) -> Result<Json<SlaCalendar>, ApiError> {
    let id = id_of(&raw, "calendar")?;
    Ok(Json(save_calendar(&state, &admin, id, c).await?))
}

/// `DELETE /api/v1/sla/calendars/{id}` (administrators): only when no
/// policy uses it.
pub(super) async fn delete_calendar<S: Store>(
    State(state): State<AppState<S>>,
    AdminAuth(admin): AdminAuth,
    axum::extract::Path(raw): axum::extract::Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = id_of(&raw, "calendar")?;
    match state.store.delete_sla_calendar(id).await? {
        None => Err(not_found("calendar")),
        Some(false) => Err(ApiError::new(
            StatusCode::CONFLICT,
            ErrorCode::InUse,
            "an SLA policy uses this calendar; change the policy first",
        )),
        Some(true) => {
            super::access::audit(
                &state,
                Some(&admin),
                "sla_calendar.delete",
                format!("sla_calendar:{id}"),
                serde_json::json!({}),
            )
            .await?;
            Ok(StatusCode::NO_CONTENT)
        }
    }
}

/// `POST /api/v1/sla/holidays` body.
#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IcsImport {
    /// The text of an iCalendar (`.ics`) file.
    ics: String,
}

/// `POST /api/v1/sla/holidays` answer.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct Holidays {
    /// The dates of its events, sorted.
    holidays: Vec<chrono::NaiveDate>,
}

/// `POST /api/v1/sla/holidays`: the holiday dates in an `.ics` file, for
/// a calendar being edited (nothing is stored).
pub(super) async fn import_holidays<S: Store>(
    State(_): State<AppState<S>>,
    UserAuth(_): UserAuth,
    ApiJson(i): ApiJson<IcsImport>,
) -> Result<Json<Holidays>, ApiError> {
    let holidays = deskside_sla::holidays_from_ics(&i.ics).map_err(|e| invalid(e.to_string()))?;
    if holidays.len() > 2000 {
        return Err(invalid("the file has more than 2000 holidays"));
    }
    Ok(Json(Holidays { holidays }))
}

/// The longest target: a year, in minutes.
const MAX_TARGET_MINUTES: i64 = 525_600;

fn policy_view(p: &PolicyRow) -> SlaPolicy {
    let minutes = |s: Option<i64>| s.map(|s| s / 60);
    SlaPolicy {
        id: p.id,
        name: p.name.clone(),
        position: p.position,
        conditions: serde_json::from_str(&p.conditions).unwrap_or_default(),
        calendar_id: p.calendar_id,
        first_response_minutes: minutes(p.first_response),
        resolution_minutes: minutes(p.resolution),
        next_response_minutes: minutes(p.next_response),
        warn_percent: u8::try_from(p.warn_percent).unwrap_or(75),
        pauses: serde_json::from_str(&p.pauses).unwrap_or_default(),
        escalations: serde_json::from_str(&p.escalations).unwrap_or_default(),
    }
}

/// `GET /api/v1/sla/policies`: in the order they are tried.
pub(super) async fn list_policies<S: Store>(
    State(state): State<AppState<S>>,
    UserAuth(_): UserAuth,
) -> Result<Json<Vec<SlaPolicy>>, ApiError> {
    Ok(Json(
        state
            .store
            .list_sla_policies()
            .await?
            .iter()
            .map(policy_view)
            .collect(),
    ))
}

async fn save_policy<S: Store>(
    state: &AppState<S>,
    admin: &User,
    id: i64,
    p: SlaPolicyInput,
) -> Result<SlaPolicy, ApiError> {
    let name = name_of(&p.name)?;
    for (what, m) in [
        ("first_response_minutes", p.first_response_minutes),
        ("resolution_minutes", p.resolution_minutes),
        ("next_response_minutes", p.next_response_minutes),
    ] {
        if m.is_some_and(|m| !(1..=MAX_TARGET_MINUTES).contains(&m)) {
            return Err(invalid(format!(
                "{what} must be 1 to {MAX_TARGET_MINUTES} minutes"
            )));
        }
    }
    if p.first_response_minutes.is_none()
        && p.resolution_minutes.is_none()
        && p.next_response_minutes.is_none()
    {
        return Err(invalid("a policy needs at least one target"));
    }
    if !(1..=99).contains(&p.warn_percent) {
        return Err(invalid("warn_percent must be 1 to 99"));
    }
    let SlaConditions {
        priorities,
        teams: condition_teams,
        categories,
        ..
    } = &p.conditions;
    if priorities.iter().any(|x| !(1..=5).contains(x)) {
        return Err(invalid("priorities are 1 to 5"));
    }
    if categories.len() > 20 || condition_teams.len() > 100 || priorities.len() > 5 {
        return Err(invalid("too many conditions"));
    }
    let teams: Vec<i64> = state
        .store
        .list_teams()
        .await?
        .into_iter()
        .map(|t| t.id)
        .collect();
    let moves = p.escalations.iter().filter_map(|e| e.move_to_team);
    if let Some(t) = condition_teams
        .iter()
        .copied()
        .chain(moves)
        .find(|t| !teams.contains(t))
    {
        return Err(invalid(format!("no team {t}")));
    }
    if p.escalations.len() > 20 {
        return Err(invalid("at most 20 escalations"));
    }
    if let Some(c) = p.calendar_id
        && !state
            .store
            .list_sla_calendars()
            .await?
            .iter()
            .any(|x| x.id == c)
    {
        return Err(invalid(format!("no calendar {c}")));
    }
    let secs = |m: Option<i64>| m.map(|m| m * 60);
    let row = PolicyRow {
        id,
        name: name.to_owned(),
        position: 0,
        conditions: serde_json::to_string(&p.conditions).unwrap_or_default(),
        calendar_id: p.calendar_id,
        first_response: secs(p.first_response_minutes),
        resolution: secs(p.resolution_minutes),
        next_response: secs(p.next_response_minutes),
        warn_percent: i64::from(p.warn_percent),
        pauses: serde_json::to_string(&p.pauses).unwrap_or_default(),
        escalations: serde_json::to_string(&p.escalations).unwrap_or_default(),
    };
    let saved = match state.store.save_sla_policy(&row).await {
        Ok(Some(id)) => id,
        Ok(None) => return Err(not_found("policy")),
        Err(StoreError::Conflict(_)) => return Err(taken("policy", name)),
        Err(e) => return Err(e.into()),
    };
    let action = if id == 0 {
        "sla_policy.create"
    } else {
        "sla_policy.update"
    };
    super::access::audit(
        state,
        Some(admin),
        action,
        format!("sla_policy:{saved}"),
        serde_json::to_value(&p).unwrap_or_default(),
    )
    .await?;
    state
        .store
        .list_sla_policies()
        .await?
        .iter()
        .find(|x| x.id == saved)
        .map(policy_view)
        .ok_or_else(|| not_found("policy"))
}

/// `POST /api/v1/sla/policies` (administrators): tried after the others.
pub(super) async fn create_policy<S: Store>(
    State(state): State<AppState<S>>,
    AdminAuth(admin): AdminAuth,
    ApiJson(p): ApiJson<SlaPolicyInput>,
) -> Result<(StatusCode, Json<SlaPolicy>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(save_policy(&state, &admin, 0, p).await?),
    ))
}

/// `PUT /api/v1/sla/policies/{id}` (administrators).
pub(super) async fn update_policy<S: Store>(
    State(state): State<AppState<S>>,
    AdminAuth(admin): AdminAuth,
    axum::extract::Path(raw): axum::extract::Path<String>,
    ApiJson(p): ApiJson<SlaPolicyInput>,
) -> Result<Json<SlaPolicy>, ApiError> {
    let id = id_of(&raw, "policy")?;
    Ok(Json(save_policy(&state, &admin, id, p).await?))
}

/// `DELETE /api/v1/sla/policies/{id}` (administrators).
pub(super) async fn delete_policy<S: Store>(
    State(state): State<AppState<S>>,
    AdminAuth(admin): AdminAuth,
    axum::extract::Path(raw): axum::extract::Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = id_of(&raw, "policy")?;
    if !state.store.delete_sla_policy(id).await? {
        return Err(not_found("policy"));
    }
    super::access::audit(
        &state,
        Some(&admin),
        "sla_policy.delete",
        format!("sla_policy:{id}"),
        serde_json::json!({}),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `PUT /api/v1/sla/policies/order` body.
#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyOrder {
    /// Every policy's id, in the order to try them.
    ids: Vec<i64>,
}

/// `PUT /api/v1/sla/policies/order` (administrators).
pub(super) async fn order_policies<S: Store>(
    State(state): State<AppState<S>>,
    AdminAuth(admin): AdminAuth,
    ApiJson(o): ApiJson<PolicyOrder>,
) -> Result<Json<Vec<SlaPolicy>>, ApiError> {
    if !state.store.reorder_sla_policies(&o.ids).await? {
        return Err(invalid("ids must name every policy exactly once"));
    }
    super::access::audit(
        &state,
        Some(&admin),
        "sla_policy.order",
        "sla_policies".into(),
        serde_json::json!({"ids": o.ids}),
    )
    .await?;
    Ok(Json(
        state
            .store
            .list_sla_policies()
            .await?
            .iter()
            .map(policy_view)
            .collect(),
    ))
}
