//! Live updates for the console: `GET /api/v1/events`, Server-Sent Events
//! read from the desk's event log. Every node reads the same log, so a
//! change made through any node reaches every console; a node is woken by
//! its own writes and (PostgreSQL) by `LISTEN/NOTIFY` from the others, and
//! looks again every few seconds in case a notification was lost. A
//! client that reconnects sends `Last-Event-ID` and gets what it missed.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::response::sse::{Event, KeepAlive, Sse};
use tokio::sync::Notify;

use super::*;
use crate::store::EventRow;

/// How often a stream looks at the log without being woken.
const POLL: Duration = Duration::from_secs(3);
/// Events sent per read of the log.
const BATCH: u32 = 200;

/// Wakes a node's event streams.
#[derive(Debug, Default)]
pub struct EventHub {
    pub(super) wake: Arc<Notify>,
}

impl EventHub {
    /// A hub woken by `store`'s other nodes as well as by this one.
    pub(super) fn start<S: Store>(store: &S) -> Arc<Self> {
        let hub = Arc::new(Self::default());
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            let wake = Arc::clone(&hub.wake);
            let store = store.clone();
            let weak = Arc::downgrade(&hub);
            rt.spawn(async move {
                // Ends with the router (the hub) it serves.
                while weak.strong_count() > 0 {
                    if let Err(e) = store.listen_events(Arc::clone(&wake)).await {
                        tracing::warn!("listening for other nodes' events: {e}");
                    }
                    // Whatever was missed meanwhile is read by the poll.
                    wake.notify_waiters();
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            });
        }
        hub
    }
}

/// Counts the graceful shutdowns of this process's listeners: at each,
/// the open event streams end (their clients reconnect, to another node
/// or to this one restarted), so that a shutdown does not wait for
/// browsers that never hang up.
pub(super) fn closing() -> &'static tokio::sync::watch::Sender<u64> {
    static CLOSING: std::sync::OnceLock<tokio::sync::watch::Sender<u64>> =
        std::sync::OnceLock::new();
    CLOSING.get_or_init(|| tokio::sync::watch::channel(0).0)
}

/// Ends the event streams open now (see [`closing`]).
pub(super) fn close_streams() {
    closing().send_modify(|n| *n += 1);
}

/// One event as the console receives it (the SSE `data`, JSON; the SSE
/// `id` is `id`).
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct EventView {
    /// Increasing; a reconnecting client sends the last one it saw as
    /// `Last-Event-ID`.
    pub id: i64,
    /// `ticket.created`, `ticket.updated`, `comment.added`,
    /// `presence.viewing` or `presence.typing`.
    pub kind: String,
    /// The ticket it concerns.
    pub ticket_id: Option<i64>,
    /// A technician's e-mail, or `device`.
    pub actor: Option<String>,
    /// When it happened.
    pub at: chrono::DateTime<Utc>,
}

impl From<EventRow> for EventView {
    fn from(e: EventRow) -> Self {
        Self {
            id: e.id,
            kind: e.kind,
            ticket_id: e.ticket_id,
            actor: e.actor,
            at: e.at,
        }
    }
}

/// `GET /api/v1/events` query.
#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EventsQuery {
    /// Start after this event id (as `Last-Event-ID` does; the header
    /// wins). Without either, only new events are sent.
    after: Option<i64>,
}

/// Records an event after a change and wakes this node's streams. The
/// change is done whatever happens here, so a failure is only logged.
pub(super) async fn publish<S: Store>(
    state: &AppState<S>,
    kind: &str,
    ticket_id: i64,
    actor: Option<&str>,
) {
    match state
        .store
        .publish_event(kind, Some(ticket_id), actor)
        .await
    {
        Ok(_) => state.events.wake.notify_waiters(),
        Err(e) => tracing::warn!(ticket = ticket_id, kind, "event not recorded: {e}"),
    }
}

/// Records an event about a device after a change (webhooks announce
/// it); a failure is only logged, as with [`publish`].
pub(super) async fn publish_device<S: Store>(
    state: &AppState<S>,
    kind: &str,
    device_id: i64,
    detail: &serde_json::Value,
) {
    match state
        .store
        .publish_device_event(kind, device_id, &detail.to_string())
        .await
    {
        Ok(_) => state.events.wake.notify_waiters(),
        Err(e) => tracing::warn!(device = device_id, kind, "event not recorded: {e}"),
    }
}

/// `POST /api/v1/tickets/{id}/presence` body.
#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Presence {
    /// The technician is typing a reply or note (else: only looking).
    #[serde(default)]
    typing: bool,
}

/// `POST /api/v1/tickets/{id}/presence`: "I have this ticket open" (or
/// "I am typing"), told to the other consoles as a `presence.viewing` or
/// `presence.typing` event. Consoles repeat it while the ticket is open
/// and forget a colleague they have not heard from for a while, so nothing
/// about presence is stored beyond the event log.
pub(super) async fn presence<S: Store>(
    State(state): State<AppState<S>>,
    UserAuth(user): UserAuth,
    axum::extract::Path(raw): axum::extract::Path<String>,
    ApiJson(p): ApiJson<Presence>,
) -> Result<StatusCode, ApiError> {
    let w = super::tickets::work_item(&state, &raw).await?;
    let kind = if p.typing {
        "presence.typing"
    } else {
        "presence.viewing"
    };
    publish(&state, kind, w.row.id, Some(&user.email)).await;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/events`: the event stream.
pub(super) async fn events<S: Store>(
    State(state): State<AppState<S>>,
    UserAuth(_): UserAuth,
    headers: axum::http::HeaderMap,
    ApiQuery(q): ApiQuery<EventsQuery>,
) -> Result<Response, ApiError> {
    let from_header = match headers.get("last-event-id") {
        None => None,
        Some(v) => Some(
            v.to_str()
                .ok()
                .and_then(|s| s.trim().parse::<i64>().ok())
                .filter(|n| *n >= 0)
                .ok_or_else(|| {
                    ApiError::new(
                        StatusCode::BAD_REQUEST,
                        ErrorCode::InvalidHeader,
                        "Last-Event-ID must be an event id",
                    )
                })?,
        ),
    };
    if q.after.is_some_and(|a| a < 0) {
        return Err(bad_query("after must be an event id"));
    }
    let start = match from_header.or(q.after) {
        Some(id) => id,
        None => state.store.last_event_id().await?,
    };
    let store = state.store.clone();
    let wake = Arc::clone(&state.events.wake);
    let closing = closing().subscribe();
    // A stream ends after its lifetime and the browser reconnects (with
    // `Last-Event-ID`, so nothing is missed), which checks its credentials
    // again: a revoked session or token stops receiving events within
    // that time, not only at the next page load.
    let ends = tokio::time::Instant::now() + state.stream_lifetime;
    let stream = futures_util::stream::unfold(
        (start, Vec::<EventRow>::new().into_iter(), true),
        move |(mut last, mut pending, mut first)| {
            let store = store.clone();
            let wake = Arc::clone(&wake);
            let mut closing = closing.clone();
            async move {
                loop {
                    if let Some(e) = pending.next() {
                        last = e.id;
                        // Device events are for webhooks; consoles follow
                        // tickets (and their ids stay what they resume from).
                        if e.device_id.is_some() {
                            continue;
                        }
                        let id = e.id.to_string();
                        let data = serde_json::to_string(&EventView::from(e)).unwrap_or_default();
                        let ev = Event::default().id(id).event("change").data(data);
                        return Some((Ok::<_, Infallible>(ev), (last, pending, first)));
                    }
                    if first {
                        // Tells the client the stream is live (and how
                        // soon to come back after a drop).
                        first = false;
                        let ev = Event::default()
                            .event("ready")
                            .retry(Duration::from_secs(1))
                            .data(last.to_string());
                        return Some((Ok(ev), (last, pending, first)));
                    }
                    // Armed before reading, so a wake-up between the read
                    // and the wait is not lost.
                    let woken = wake.notified();
                    tokio::pin!(woken);
                    woken.as_mut().enable();
                    match store.events_after(last, BATCH).await {
                        Ok(rows) if !rows.is_empty() => {
                            pending = rows.into_iter();
                            continue;
                        }
                        Ok(_) => {}
                        Err(e) => {
                            tracing::warn!("reading events: {e}");
                        }
                    }
                    tokio::select! {
                        () = &mut woken => {}
                        () = tokio::time::sleep(POLL) => {}
                        _ = closing.changed() => return None,
                        () = tokio::time::sleep_until(ends) => return None,
                    }
                }
            }
        },
    );
    let mut resp = Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response();
    // Proxies must pass events through at once.
    resp.headers_mut().insert(
        "x-accel-buffering",
        axum::http::HeaderValue::from_static("no"),
    );
    resp.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    Ok(resp)
}
