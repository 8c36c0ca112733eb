//! Serving: the router with its layers (body limit, decompression,
//! timeout, JSON errors, handlers run to completion, metrics), HTTP and
//! HTTPS listeners, and the health and metrics endpoints.

use super::*;

/// `GET /healthz` and `GET /readyz` answer.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct Status {
    /// `ok` or `ready`.
    status: &'static str,
}

/// The API router.
pub fn router<S: Store>(store: S, blobs: impl Into<Blobs>, limits: Limits) -> Router {
    router_with(store, blobs, limits, Vec::new())
}

/// [`router`] behind the proxies `trusted_proxies` (see [`ClientIp`]).
pub fn router_with<S: Store>(
    store: S,
    blobs: impl Into<Blobs>,
    limits: Limits,
    trusted_proxies: Vec<std::net::IpAddr>,
) -> Router {
    let metrics = Arc::new(Metrics::default());
    let counted = Arc::clone(&metrics);
    let enroll_limit = Arc::new(RateLimiter::new(
        limits.enroll_per_minute,
        limits.enroll_per_minute.saturating_mul(2),
    ));
    let (routes, doc) = routes::<S>().finish();
    let events = events::EventHub::start(&store);
    if let Some(every) = limits.webhook_interval {
        tokio::spawn(crate::webhooks::webhook_loop(
            store.clone(),
            Arc::clone(&events.wake),
            limits.webhook_allowed_networks.clone(),
            every,
        ));
    }
    let webhook_allowed = Arc::new(limits.webhook_allowed_networks.clone());
    let state = AppState {
        store,
        challenge_limit: Arc::new(RateLimiter::new(
            limits.enroll_per_minute,
            limits.enroll_per_minute.saturating_mul(2),
        )),
        enroll_limit,
        checkin_secs: limits.checkin_interval.as_secs().max(1),
        blobs: blobs.into(),
        metrics,
        login_limit: Arc::new(RateLimiter::new(
            limits.login_per_minute,
            limits.login_per_minute.saturating_mul(2),
        )),
        openapi: Arc::new(doc),
        policy: Arc::new(PolicyCache::default()),
        trusted_proxies: Arc::new(trusted_proxies),
        events,
        stream_lifetime: limits.event_stream_lifetime,
        offline_after: limits.offline_after,
        webhook_allowed,
        device_kb: Arc::default(),
    };
    if let Some(every) = limits.sla_interval {
        tokio::spawn(sla::sla_loop(state.clone(), every));
    }
    if let Some(every) = limits.candidate_interval {
        tokio::spawn(candidate_loop(state.clone(), every));
    }
    routes
        .layer(axum::middleware::from_fn(run_to_completion))
        .fallback(static_files::console)
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                ErrorCode::MethodNotAllowed,
                "this endpoint does not take that method",
            )
        })
        // The limit applies to the decompressed body, so a small gzip bomb
        // is refused like a large upload.
        .layer(DefaultBodyLimit::max(limits.max_body_bytes))
        .layer(RequestDecompressionLayer::new())
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            limits.request_timeout,
        ))
        .with_state(state)
        .layer(axum::middleware::from_fn(json_errors))
        .layer(axum::middleware::from_fn(
            move |req: Request, next: axum::middleware::Next| {
                let counted = Arc::clone(&counted);
                async move {
                    let resp = next.run(req).await;
                    counted.response(resp.status());
                    resp
                }
            },
        ))
}

/// Looks for problem candidates every `every`, for as long as the desk
/// runs (the first time a minute after it starts).
async fn candidate_loop<S: Store>(state: AppState<S>, every: Duration) {
    let start = tokio::time::Instant::now() + every.min(Duration::from_secs(60));
    let mut tick = tokio::time::interval_at(start, every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = super::problem_candidates::candidate_pass(&state, Utc::now()).await {
            tracing::warn!("problem candidates not looked for: {e}");
        }
    }
}

/// Every error answer carries the JSON error body with a typed code, also
/// those a layer makes without one (the timeout's 408, the decompression's
/// 415 for an unknown `Content-Encoding`).
pub(super) async fn json_errors(req: Request, next: axum::middleware::Next) -> Response {
    use axum::http::header;
    let resp = next.run(req).await;
    let status = resp.status();
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json || !(status.is_client_error() || status.is_server_error()) {
        return resp;
    }
    let (code, message) = match status {
        StatusCode::REQUEST_TIMEOUT => (
            ErrorCode::RequestTimeout,
            "the request took too long to arrive or to answer",
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            ErrorCode::UnsupportedMediaType,
            "unsupported Content-Type or Content-Encoding (gzip is accepted)",
        ),
        StatusCode::PAYLOAD_TOO_LARGE => (ErrorCode::BodyTooLarge, "the request body is too large"),
        StatusCode::METHOD_NOT_ALLOWED => (
            ErrorCode::MethodNotAllowed,
            "this endpoint does not take that method",
        ),
        StatusCode::NOT_FOUND => (ErrorCode::NotFound, "no such endpoint"),
        s if s.is_server_error() => (ErrorCode::Internal, "the desk failed to answer; try again"),
        _ => (ErrorCode::BadRequest, "the request is not valid"),
    };
    let mut out = ApiError::new(status, code, message).into_response();
    for h in [header::RETRY_AFTER, header::ALLOW] {
        if let Some(v) = resp.headers().get(&h) {
            out.headers_mut().insert(h, v.clone());
        }
    }
    out
}

/// Runs each handler in a task of its own, so that a client hanging up
/// (or the request timeout firing) does not cancel it halfway: a handler
/// dropped in the middle of a database transaction or between storing a
/// blob and its row would leave work half done, and on SQLite a connection
/// back in the pool in an unknown state.
pub(super) async fn run_to_completion(req: Request, next: axum::middleware::Next) -> Response {
    match tokio::spawn(next.run(req)).await {
        Ok(resp) => resp,
        Err(e) => {
            tracing::error!("request handler failed: {e}");
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                ErrorCode::Internal,
                "the desk failed to handle this request",
            )
            .into_response()
        }
    }
}

pub(super) async fn openapi_json<S: Store>(
    State(state): State<AppState<S>>,
) -> Json<serde_json::Value> {
    Json(state.openapi.as_ref().clone())
}

/// Serves `app` on `listener`, with client addresses known to the handlers
/// (rate limits need them), until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        shutdown.await;
        events::close_streams();
    })
    .await
}

/// Serves `app` over HTTPS on `listener` until `shutdown` completes, then
/// lets requests in flight finish.
pub async fn serve_tls(
    listener: tokio::net::TcpListener,
    app: Router,
    tls: std::sync::Arc<rustls::ServerConfig>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioExecutor, TokioIo};
    use tower::ServiceExt;

    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(c) => c,
                Err(e) => {
                    // Out of file descriptors and the like: pause rather
                    // than spin.
                    tracing::warn!("accept: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => {
                events::close_streams();
                break;
            }
        };
        let acceptor = acceptor.clone();
        let app = app.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            // A client that opens a connection and never says hello must
            // not hold a task forever.
            let handshake =
                tokio::time::timeout(std::time::Duration::from_secs(10), acceptor.accept(tcp));
            let stream = match handshake.await {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => {
                    tracing::debug!(%peer, "TLS handshake failed: {e}");
                    return;
                }
                Err(_) => return,
            };
            let service = hyper::service::service_fn(
                move |mut req: hyper::Request<hyper::body::Incoming>| {
                    req.extensions_mut()
                        .insert(axum::extract::ConnectInfo(peer));
                    app.clone().oneshot(req.map(axum::body::Body::new))
                },
            );
            let conn = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                .serve_connection_with_upgrades(TokioIo::new(stream), service)
                .into_owned();
            let _ = watcher.watch(conn).await;
        });
    }
    drop(listener);
    let _ = tokio::time::timeout(std::time::Duration::from_secs(30), graceful.shutdown()).await;
    Ok(())
}

pub(super) async fn prometheus<S: Store>(State(state): State<AppState<S>>) -> impl IntoResponse {
    let mut body = state.metrics.render();
    // The desk's service figures, the same on every node (from the
    // database); a database that does not answer leaves them out rather
    // than failing the scrape.
    match state.store.service_gauges().await {
        Ok(g) => body.push_str(&crate::telemetry::render_service(&g)),
        Err(e) => tracing::warn!("service metrics unavailable: {e}"),
    }
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        body,
    )
}

pub(super) async fn healthz() -> Json<Status> {
    Json(Status { status: "ok" })
}

pub(super) async fn readyz<S: Store>(
    State(state): State<AppState<S>>,
) -> Result<Json<Status>, ApiError> {
    state.store.ping().await?;
    Ok(Json(Status { status: "ready" }))
}
