//! Webhook subscriptions (administrators): created with a signing secret
//! shown once, listed without it, changed, paused, deleted; each one's
//! delivery log, and sending a delivery again. Addresses on loopback,
//! link-local or private networks are refused unless the configuration
//! allows them ([`crate::webhooks`]).

use chrono::{DateTime, Utc};
use deskside_protocol::{
    DeliveryState, Webhook, WebhookCreated, WebhookDelivery, WebhookEvent, WebhookInput,
    WebhookPatch,
};

use super::*;
use crate::store::{DeliveryRow, WebhookRow};
use crate::webhooks::TargetError;

fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        ErrorCode::NotFound,
        "no such webhook",
    )
}

fn view(w: WebhookRow) -> Webhook {
    Webhook {
        id: w.id,
        url: w.url,
        events: serde_json::from_str(&w.events).unwrap_or_default(),
        active: w.active,
        created_at: w.created_at,
    }
}

fn delivery_view(d: DeliveryRow) -> WebhookDelivery {
    let state = match d.state.as_str() {
        "delivered" => DeliveryState::Delivered,
        "failed" => DeliveryState::Failed,
        _ => DeliveryState::Pending,
    };
    WebhookDelivery {
        id: d.id,
        event_id: d.event_id,
        event: WebhookEvent::parse(&d.event).unwrap_or(WebhookEvent::TicketUpdated),
        state,
        attempts: d.attempts,
        last_status: d.last_status,
        last_error: d.last_error,
        next_attempt_at: (state == DeliveryState::Pending)
            .then(|| DateTime::from_timestamp(d.next_attempt_at, 0))
            .flatten(),
        created_at: d.created_at,
        delivered_at: d.delivered_at,
    }
}

/// The address checked: its form, and where it resolves to now.
async fn checked_url<S: Store>(state: &AppState<S>, raw: &str) -> Result<String, ApiError> {
    let url = crate::webhooks::parse_url(raw.trim()).map_err(|e| invalid(e.to_string()))?;
    match crate::webhooks::resolve(&url, &state.webhook_allowed).await {
        Ok(_) => Ok(url.to_string()),
        Err(e @ (TargetError::Refused { .. } | TargetError::Unresolved(_))) => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::TargetRefused,
            e.to_string(),
        )),
        Err(e) => Err(invalid(e.to_string())),
    }
}

fn events_json(events: &[WebhookEvent]) -> Result<String, ApiError> {
    if events.is_empty() {
        return Err(invalid("name at least one event"));
    }
    let mut sorted = events.to_vec();
    sorted.sort();
    sorted.dedup();
    Ok(serde_json::to_string(&sorted).unwrap_or_default())
}

/// The origin only: a webhook's path may hold a token (chat services put
/// one there), and the audit log is read by every administrator.
fn origin(url: &str) -> String {
    reqwest::Url::parse(url)
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_default()
}

/// `GET /api/v1/webhooks` (administrators): every subscription, without
/// its secret.
pub(super) async fn list_webhooks<S: Store>(
    State(state): State<AppState<S>>,
    AdminAuth(_): AdminAuth,
) -> Result<Json<Vec<Webhook>>, ApiError> {
    Ok(Json(
        state
            .store
            .list_webhooks()
            .await?
            .into_iter()
            .map(view)
            .collect(),
    ))
}

/// `POST /api/v1/webhooks` (administrators): the subscription and its
/// secret, shown this once.
pub(super) async fn create_webhook<S: Store>(
    State(state): State<AppState<S>>,
    AdminAuth(admin): AdminAuth,
    ApiJson(input): ApiJson<WebhookInput>,
) -> Result<(StatusCode, Json<WebhookCreated>), ApiError> {
    let events = events_json(&input.events)?;
    let url = checked_url(&state, &input.url).await?;
    let secret = crate::credentials::new_token("whsec");
    let id = state
        .store
        .create_webhook(&url, &secret, &events, admin.id, Utc::now())
        .await?;
    super::access::audit(
        &state,
        Some(&admin),
        "webhook.create",
        format!("webhook:{id}"),
        serde_json::json!({"origin": origin(&url), "events": input.events}),
    )
    .await?;
    let webhook = state
        .store
        .webhook(id)
        .await?
        .map(view)
        .ok_or_else(not_found)?;
    Ok((
        StatusCode::CREATED,
        Json(WebhookCreated { webhook, secret }),
    ))
}

/// `PATCH /api/v1/webhooks/{id}` (administrators): address, events, or
/// paused.
pub(super) async fn update_webhook<S: Store>(
    State(state): State<AppState<S>>,
    AdminAuth(admin): AdminAuth,
    axum::extract::Path(raw): axum::extract::Path<String>,
    ApiJson(patch): ApiJson<WebhookPatch>,
) -> Result<Json<Webhook>, ApiError> {
    let id = positive_id(&raw).ok_or_else(not_found)?;
    let events = patch.events.as_deref().map(events_json).transpose()?;
    let url = match &patch.url {
        Some(u) => Some(checked_url(&state, u).await?),
        None => None,
    };
    if !state
        .store
        .update_webhook(id, url.as_deref(), events.as_deref(), patch.active)
        .await?
    {
        return Err(not_found());
    }
    super::access::audit(
        &state,
        Some(&admin),
        "webhook.update",
        format!("webhook:{id}"),
        serde_json::json!({"origin": url.as_deref().map(origin), "events": patch.events,
            "active": patch.active}),
    )
    .await?;
    state
        .store
        .webhook(id)
        .await?
        .map(view)
        .map(Json)
        .ok_or_else(not_found)
}

/// `DELETE /api/v1/webhooks/{id}` (administrators): with its deliveries.
pub(super) async fn delete_webhook<S: Store>(
    State(state): State<AppState<S>>,
    AdminAuth(admin): AdminAuth,
    axum::extract::Path(raw): axum::extract::Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = positive_id(&raw).ok_or_else(not_found)?;
    if !state.store.delete_webhook(id).await? {
        return Err(not_found());
    }
    super::access::audit(
        &state,
        Some(&admin),
        "webhook.delete",
        format!("webhook:{id}"),
        serde_json::json!({}),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/webhooks/{id}/deliveries` query.
#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeliveriesQuery {
    /// How many, newest first: 1–200 (default 50).
    limit: Option<u32>,
}

/// `GET /api/v1/webhooks/{id}/deliveries` (administrators): the log.
pub(super) async fn list_deliveries<S: Store>(
    State(state): State<AppState<S>>,
    AdminAuth(_): AdminAuth,
    axum::extract::Path(raw): axum::extract::Path<String>,
    ApiQuery(q): ApiQuery<DeliveriesQuery>,
) -> Result<Json<Vec<WebhookDelivery>>, ApiError> {
    let id = positive_id(&raw).ok_or_else(not_found)?;
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidQuery,
            "limit must be between 1 and 200",
        ));
    }
    if state.store.webhook(id).await?.is_none() {
        return Err(not_found());
    }
    Ok(Json(
        state
            .store
            .webhook_deliveries(id, limit)
            .await?
            .into_iter()
            .map(delivery_view)
            .collect(),
    ))
}

/// `POST /api/v1/webhooks/deliveries/{id}/redeliver` (administrators):
/// sends it again now, with the same delivery id, for another 24 hours.
pub(super) async fn redeliver<S: Store>(
    State(state): State<AppState<S>>,
    AdminAuth(admin): AdminAuth,
    axum::extract::Path(raw): axum::extract::Path<String>,
) -> Result<Json<WebhookDelivery>, ApiError> {
    let missing = || {
        ApiError::new(
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
            "no such delivery",
        )
    };
    let id = positive_id(&raw).ok_or_else(missing)?;
    let now = Utc::now().timestamp();
    if !state
        .store
        .redeliver(id, now, now + crate::store::webhooks::GIVE_UP_SECS)
        .await?
    {
        return Err(missing());
    }
    super::access::audit(
        &state,
        Some(&admin),
        "webhook.redeliver",
        format!("delivery:{id}"),
        serde_json::json!({}),
    )
    .await?;
    state.events.wake.notify_waiters();
    state
        .store
        .delivery(id)
        .await?
        .map(delivery_view)
        .map(Json)
        .ok_or_else(missing)
}
