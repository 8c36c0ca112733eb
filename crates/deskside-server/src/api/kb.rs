//! The knowledge base for technicians: search (Korean and Japanese
//! included), read, write and delete articles, and a Markdown preview
//! sanitized as articles are. Writes are conditional on the version they
//! were edited from, so two technicians editing one article lose nothing.

use chrono::Utc;
use deskside_protocol::{
    Article, ArticleHit, ArticleInput, ArticleLang, MarkdownPreview, RenderedHtml,
};

use super::*;
use crate::store::ArticleUpdate;

fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        ErrorCode::NotFound,
        "no such article",
    )
}

/// `GET /api/v1/kb/articles` query.
#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ArticleQuery {
    /// Words the title or body contains (all of them, ignoring case);
    /// without it, the most recently changed.
    q: Option<String>,
    /// The reader's language: an article that matched in it shows in it.
    lang: Option<ArticleLang>,
    /// Only articles in this state (`draft`, `internal`, `published`).
    state: Option<deskside_protocol::ArticleState>,
    /// How many: 1–100 (default 20).
    limit: Option<u32>,
}

/// `GET /api/v1/kb/articles`: search, best first.
pub(super) async fn search<S: Store>(
    State(state): State<AppState<S>>,
    UserAuth(_): UserAuth,
    ApiQuery(q): ApiQuery<ArticleQuery>,
) -> Result<Json<Vec<ArticleHit>>, ApiError> {
    let limit = q.limit.unwrap_or(20);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidQuery,
            "limit must be between 1 and 100",
        ));
    }
    let terms = crate::kb::terms(q.q.as_deref().unwrap_or_default())
        .map_err(|m| ApiError::new(StatusCode::BAD_REQUEST, ErrorCode::InvalidQuery, m))?;
    let states: Vec<&'static str> = match q.state {
        Some(s) => vec![s.as_str()],
        None => vec!["draft", "internal", "published"],
    };
    // Candidates for ranking: more than asked, as several languages of
    // one article count once.
    let fetch = limit * 5;
    let hits = if terms.is_empty() {
        state.store.recent_texts(&states, fetch).await?
    } else {
        state.store.find_texts(&terms, &states, fetch).await?
    };
    Ok(Json(crate::kb::rank(hits, &terms, q.lang, limit as usize)))
}

/// `GET /api/v1/kb/articles/{id}`.
pub(super) async fn get<S: Store>(
    State(state): State<AppState<S>>,
    UserAuth(_): UserAuth,
    axum::extract::Path(raw): axum::extract::Path<String>,
) -> Result<Json<Article>, ApiError> {
    let id = positive_id(&raw).ok_or_else(not_found)?;
    let (row, texts) = state.store.article(id).await?.ok_or_else(not_found)?;
    Ok(Json(crate::kb::view(row, texts)))
}

/// `POST /api/v1/kb/articles`.
pub(super) async fn create<S: Store>(
    State(state): State<AppState<S>>,
    UserAuth(user): UserAuth,
    ApiJson(input): ApiJson<ArticleInput>,
) -> Result<(StatusCode, Json<Article>), ApiError> {
    let fields = crate::kb::fields(&input).map_err(invalid)?;
    let id = state
        .store
        .create_article(&fields, user.id, Utc::now())
        .await?;
    let (row, texts) = state.store.article(id).await?.ok_or_else(not_found)?;
    Ok((StatusCode::CREATED, Json(crate::kb::view(row, texts))))
}

/// `PUT /api/v1/kb/articles/{id}`: replaces it, when it is still at the
/// version given.
pub(super) async fn update<S: Store>(
    State(state): State<AppState<S>>,
    UserAuth(_): UserAuth,
    axum::extract::Path(raw): axum::extract::Path<String>,
    ApiJson(input): ApiJson<ArticleInput>,
) -> Result<Json<Article>, ApiError> {
    let id = positive_id(&raw).ok_or_else(not_found)?;
    let fields = crate::kb::fields(&input).map_err(invalid)?;
    match state
        .store
        .update_article(id, input.version, &fields, Utc::now())
        .await?
    {
        ArticleUpdate::Done => {}
        ArticleUpdate::NotFound => return Err(not_found()),
        ArticleUpdate::Conflict => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                ErrorCode::VersionConflict,
                "the article was changed since that version",
            ));
        }
    }
    let (row, texts) = state.store.article(id).await?.ok_or_else(not_found)?;
    Ok(Json(crate::kb::view(row, texts)))
}

/// `DELETE /api/v1/kb/articles/{id}`.
pub(super) async fn delete<S: Store>(
    State(state): State<AppState<S>>,
    UserAuth(_): UserAuth,
    axum::extract::Path(raw): axum::extract::Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = positive_id(&raw).ok_or_else(not_found)?;
    if !state.store.delete_article(id).await? {
        return Err(not_found());
    }
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/kb/preview`: Markdown as an article would show it.
pub(super) async fn preview<S: Store>(
    State(_state): State<AppState<S>>,
    UserAuth(_): UserAuth,
    ApiJson(p): ApiJson<MarkdownPreview>,
) -> Result<Json<RenderedHtml>, ApiError> {
    if p.markdown.contains('\0') || p.markdown.chars().count() > crate::kb::MAX_BODY {
        return Err(invalid(format!(
            "the text holds a NUL character or is longer than {} characters",
            crate::kb::MAX_BODY
        )));
    }
    Ok(Json(RenderedHtml {
        html: crate::markdown::render(&p.markdown),
    }))
}

fn link_not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        ErrorCode::NotFound,
        "no such ticket, article or link",
    )
}

/// `GET /api/v1/tickets/{id}/articles`: the articles linked to a ticket
/// (each once, in English where it has English).
pub(super) async fn ticket_articles<S: Store>(
    State(state): State<AppState<S>>,
    UserAuth(_): UserAuth,
    axum::extract::Path(raw): axum::extract::Path<String>,
) -> Result<Json<Vec<ArticleHit>>, ApiError> {
    let id = positive_id(&raw).ok_or_else(link_not_found)?;
    let hits = state.store.ticket_articles(id).await?;
    Ok(Json(crate::kb::rank(hits, &[], None, 100)))
}

/// `GET /api/v1/tickets/{id}/report`: the articles the tray showed its
/// employee before they filed it (null when it was not filed that way).
pub(super) async fn ticket_report<S: Store>(
    State(state): State<AppState<S>>,
    UserAuth(_): UserAuth,
    axum::extract::Path(raw): axum::extract::Path<String>,
    ApiQuery(q): ApiQuery<LangQuery>,
) -> Result<Json<Option<deskside_protocol::ShownArticles>>, ApiError> {
    let id = positive_id(&raw).ok_or_else(link_not_found)?;
    let Some((started_at, shown)) = state.store.ticket_report(id).await? else {
        return Ok(Json(None));
    };
    let ids: Vec<i64> = serde_json::from_str(&shown).unwrap_or_default();
    let mut articles = Vec::with_capacity(ids.len());
    for article in ids {
        if let Some((row, texts)) = state.store.article(article).await? {
            articles.extend(crate::kb::hit_in(row, texts, q.lang));
        }
    }
    Ok(Json(Some(deskside_protocol::ShownArticles {
        started_at,
        articles,
    })))
}

/// The reader's language.
#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LangQuery {
    /// Titles in this language where an article has it, else English.
    lang: Option<ArticleLang>,
}

/// `PUT /api/v1/tickets/{id}/articles/{article}`: links them (again: no
/// change).
pub(super) async fn link<S: Store>(
    State(state): State<AppState<S>>,
    UserAuth(user): UserAuth,
    axum::extract::Path((ticket, article)): axum::extract::Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let (Some(ticket), Some(article)) = (positive_id(&ticket), positive_id(&article)) else {
        return Err(link_not_found());
    };
    if !state
        .store
        .link_article(ticket, article, user.id, Utc::now())
        .await?
    {
        return Err(link_not_found());
    }
    super::events::publish(&state, "ticket.updated", ticket, Some(&user.email)).await;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /api/v1/tickets/{id}/articles/{article}`: unlinks them.
pub(super) async fn unlink<S: Store>(
    State(state): State<AppState<S>>,
    UserAuth(user): UserAuth,
    axum::extract::Path((ticket, article)): axum::extract::Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let (Some(ticket), Some(article)) = (positive_id(&ticket), positive_id(&article)) else {
        return Err(link_not_found());
    };
    if !state.store.unlink_article(ticket, article).await? {
        return Err(link_not_found());
    }
    super::events::publish(&state, "ticket.updated", ticket, Some(&user.email)).await;
    Ok(StatusCode::NO_CONTENT)
}
