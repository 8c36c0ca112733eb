//! A technician's saved views: a name and a page's query string (the
//! queue's filters and sort, or the device list's filters, as the console
//! keeps them in its URL), per scope. Each technician sees and changes
//! only their own.

use super::*;
use crate::store::SavedView;

/// A saved view.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct ViewInfo {
    id: i64,
    name: String,
    /// The queue's query string, e.g. `status=new,open&assignee=me`.
    query: String,
    created_at: chrono::DateTime<Utc>,
}

impl From<SavedView> for ViewInfo {
    fn from(v: SavedView) -> Self {
        Self {
            id: v.id,
            name: v.name,
            query: v.query,
            created_at: v.created_at,
        }
    }
}

/// `GET /api/v1/views` answer.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct ViewList {
    /// By name.
    views: Vec<ViewInfo>,
}

/// The pages views are saved for.
const SCOPES: [&str; 2] = ["tickets", "devices"];

fn scope_of(scope: Option<&str>) -> Result<&str, ApiError> {
    match scope.unwrap_or("tickets") {
        s if SCOPES.contains(&s) => Ok(s),
        _ => Err(bad_query("scope must be tickets or devices")),
    }
}

/// Query of `GET /api/v1/views`.
#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ViewScope {
    /// `tickets` (the default: the queue) or `devices`.
    scope: Option<String>,
}

/// `POST /api/v1/views` body.
#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewView {
    /// 1–80 characters.
    name: String,
    /// The page's query string, at most 1,000 characters.
    query: String,
    /// `tickets` (the default) or `devices`.
    scope: Option<String>,
}

/// Most views one technician keeps.
const MAX_VIEWS: usize = 50;

/// `GET /api/v1/views`: the caller's views of one scope.
pub(super) async fn list_views<S: Store>(
    State(state): State<AppState<S>>,
    UserAuth(user): UserAuth,
    ApiQuery(q): ApiQuery<ViewScope>,
) -> Result<Json<ViewList>, ApiError> {
    let scope = scope_of(q.scope.as_deref())?;
    let views = state.store.saved_views(user.id, scope).await?;
    Ok(Json(ViewList {
        views: views.into_iter().map(ViewInfo::from).collect(),
    }))
}

/// `POST /api/v1/views`: saves a view for the caller.
pub(super) async fn create_view<S: Store>(
    State(state): State<AppState<S>>,
    UserAuth(user): UserAuth,
    ApiJson(v): ApiJson<NewView>,
) -> Result<(StatusCode, Json<ViewInfo>), ApiError> {
    let name = v.name.trim();
    if name.is_empty() || name.chars().count() > 80 {
        return Err(invalid("name must be 1 to 80 characters"));
    }
    if v.query.len() > 1000 {
        return Err(invalid("query is longer than 1000 characters"));
    }
    if name.contains('\0') || v.query.contains('\0') || v.query.contains(char::is_control) {
        return Err(invalid(
            "name and query must not contain control characters",
        ));
    }
    let scope =
        scope_of(v.scope.as_deref()).map_err(|_| invalid("scope must be tickets or devices"))?;
    if state.store.saved_views(user.id, scope).await?.len() >= MAX_VIEWS {
        return Err(invalid(format!("at most {MAX_VIEWS} saved views")));
    }
    let query = v.query.trim_start_matches('?');
    match state.store.save_view(user.id, scope, name, query).await {
        Ok(view) => Ok((StatusCode::CREATED, Json(view.into()))),
        Err(StoreError::Conflict(what)) => Err(ApiError::new(
            StatusCode::CONFLICT,
            ErrorCode::AlreadyExists,
            format!("{what} already exists"),
        )),
        Err(e) => Err(e.into()),
    }
}

/// `DELETE /api/v1/views/{id}`: one of the caller's views.
pub(super) async fn delete_view<S: Store>(
    State(state): State<AppState<S>>,
    UserAuth(user): UserAuth,
    axum::extract::Path(raw): axum::extract::Path<String>,
) -> Result<StatusCode, ApiError> {
    let not_found = || ApiError::new(StatusCode::NOT_FOUND, ErrorCode::NotFound, "no such view");
    let id: i64 = raw.parse().map_err(|_| not_found())?;
    if state.store.delete_view(user.id, id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(not_found())
    }
}
