//! Extractors that turn bad input into precise 4xx errors: JSON bodies and
//! query strings (no NUL characters), bounded text, page sizes, and the
//! client's address behind trusted proxies.

use super::*;

/// `Json` whose rejections are [`ApiError`]s.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let Json(value) = Json::<serde_json::Value>::from_request(req, state)
            .await
            .map_err(ApiError::from)?;
        if has_nul(&value) {
            return Err(invalid("text must not contain NUL characters"));
        }
        serde_json::from_value(value)
            .map(Self)
            .map_err(|e| invalid(e.to_string()))
    }
}

/// Whether any string in the document holds a NUL, which PostgreSQL cannot
/// store in text: refusing it here keeps both backends alike.
pub(super) fn has_nul(v: &serde_json::Value) -> bool {
    match v {
        serde_json::Value::String(s) => s.contains('\0'),
        serde_json::Value::Array(a) => a.iter().any(has_nul),
        serde_json::Value::Object(m) => m.iter().any(|(k, v)| k.contains('\0') || has_nul(v)),
        _ => false,
    }
}

/// Query parameters whose rejections are [`ApiError`]s (400).
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let raw = parts.uri.query().unwrap_or_default();
        if raw.contains("%00") {
            return Err(bad_query("query text must not contain NUL characters"));
        }
        axum::extract::Query::<T>::try_from_uri(&parts.uri)
            .map(|axum::extract::Query(q)| Self(q))
            .map_err(|e| bad_query(e.body_text()))
    }
}

/// A page size: 1–500, 50 when absent.
pub(super) fn page_limit(limit: Option<u32>) -> Result<u32, ApiError> {
    let limit = limit.unwrap_or(50);
    if (1..=500).contains(&limit) {
        Ok(limit)
    } else {
        Err(bad_query("limit must be between 1 and 500"))
    }
}

/// The client's address: the TCP peer, or, when the peer is a trusted
/// proxy, the address it forwarded for (the right-most address in
/// `X-Forwarded-For` that is not itself a trusted proxy). Rate limits key
/// on it, so that users behind the TLS proxy the README recommends do not
/// share one bucket, and a client cannot pick its own address.
pub struct ClientIp(pub std::net::IpAddr);

impl<S: Store> FromRequestParts<AppState<S>> for ClientIp {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState<S>,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(a)| a.ip())
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    ErrorCode::BadRequest,
                    "the client address is unknown",
                )
            })?;
        Ok(Self(client_ip(
            peer,
            &parts.headers,
            &state.trusted_proxies,
        )))
    }
}

/// See [`ClientIp`].
pub fn client_ip(
    peer: std::net::IpAddr,
    headers: &axum::http::HeaderMap,
    trusted: &[std::net::IpAddr],
) -> std::net::IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    let forwarded: Vec<std::net::IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .map_while(|a| a.parse().ok())
        .collect();
    forwarded
        .into_iter()
        .rev()
        .find(|a| !trusted.contains(a))
        .unwrap_or(peer)
}

pub(super) fn bounded(
    field: &'static str,
    value: Option<&str>,
    max: usize,
) -> Result<(), ApiError> {
    match value {
        Some(v) if v.len() > max => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::InvalidBody,
            format!("{field} is longer than {max} bytes"),
        )),
        _ => Ok(()),
    }
}

pub(super) fn comment_body(body: &str) -> Result<&str, ApiError> {
    let b = body.trim();
    if b.is_empty() || b.chars().count() > 10_000 {
        return Err(invalid("a comment must be 1 to 10000 characters"));
    }
    Ok(b)
}

/// A path's id: a positive integer, else `None` (answered as not found).
pub(super) fn positive_id(raw: &str) -> Option<i64> {
    raw.parse::<i64>().ok().filter(|id| *id > 0)
}

/// A name given to something (a team, a calendar, a policy): trimmed, 1
/// to 100 characters, no control characters.
pub(super) fn name_of(raw: &str) -> Result<&str, ApiError> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(invalid("a name must be 1 to 100 characters"));
    }
    Ok(name)
}
