//! Knowledge-base storage: articles with their texts per language, and
//! finding texts that contain every search term — by the trigram index of
//! each backend (SQLite's FTS5 `trigram` tokenizer, PostgreSQL's
//! `pg_trgm` for `ILIKE`), which works without spaces between words, as
//! Korean and Japanese are written. How hits rank is decided once, in
//! [`crate::kb`]. One trait, its SQL written once ([`kb_methods`]) with
//! the dialect's term filter.

use std::future::Future;

use chrono::{DateTime, Utc};

use super::StoreResult;

/// An article as stored (lists as JSON).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ArticleRow {
    /// Id.
    pub id: i64,
    /// `draft`, `internal` or `published`.
    pub state: String,
    /// Category.
    pub category: Option<String>,
    /// Tags, JSON.
    pub tags: String,
    /// Check ids or kinds, JSON.
    pub checks: String,
    /// Ticket categories, JSON.
    pub ticket_categories: String,
    /// Bumped by every change.
    pub version: i64,
    /// Written.
    pub created_at: DateTime<Utc>,
    /// Changed.
    pub updated_at: DateTime<Utc>,
}

/// One language of an article.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct TextRow {
    /// The article.
    pub article_id: i64,
    /// `en`, `ko` or `ja`.
    pub lang: String,
    /// Title.
    pub title: String,
    /// Markdown.
    pub body: String,
}

/// A text that matched, with its article.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct TextHit {
    /// The article.
    #[sqlx(flatten)]
    pub article: ArticleRow,
    /// `en`, `ko` or `ja`.
    pub lang: String,
    /// Title.
    pub title: String,
    /// Markdown.
    pub body: String,
}

/// What an article is made of, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArticleFields {
    /// State.
    pub state: String,
    /// Category.
    pub category: Option<String>,
    /// Tags, JSON.
    pub tags: String,
    /// Checks, JSON.
    pub checks: String,
    /// Ticket categories, JSON.
    pub ticket_categories: String,
    /// (lang, title, body).
    pub texts: Vec<(String, String, String)>,
}

/// How a conditional change went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArticleUpdate {
    /// Changed.
    Done,
    /// No such article.
    NotFound,
    /// Changed by someone else since the version given.
    Conflict,
}

/// Knowledge-base storage (see the module docs).
pub trait KbStore {
    /// Adds an article; returns its id.
    fn create_article(
        &self,
        f: &ArticleFields,
        user_id: i64,
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<i64>> + Send;
    /// Replaces an article's fields and texts, when it is still at
    /// `expected` (any version when `None`).
    fn update_article(
        &self,
        id: i64,
        expected: Option<i64>,
        f: &ArticleFields,
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<ArticleUpdate>> + Send;
    /// Deletes an article; false when there is none.
    fn delete_article(&self, id: i64) -> impl Future<Output = StoreResult<bool>> + Send;
    /// An article and its texts.
    fn article(
        &self,
        id: i64,
    ) -> impl Future<Output = StoreResult<Option<(ArticleRow, Vec<TextRow>)>>> + Send;
    /// The texts of articles in `states`, most recently changed first.
    fn recent_texts(
        &self,
        states: &[&'static str],
        limit: u32,
    ) -> impl Future<Output = StoreResult<Vec<TextHit>>> + Send;
    /// Links an article to a ticket (again: nothing changes); false when
    /// the ticket or the article does not exist.
    fn link_article(
        &self,
        ticket_id: i64,
        article_id: i64,
        user_id: i64,
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Unlinks an article from a ticket; false when it was not linked.
    fn unlink_article(
        &self,
        ticket_id: i64,
        article_id: i64,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// The articles linked to a ticket with their texts, oldest link first.
    fn ticket_articles(
        &self,
        ticket_id: i64,
    ) -> impl Future<Output = StoreResult<Vec<TextHit>>> + Send;
    /// Texts of articles in `states` whose title or body contains every
    /// term (ignoring case), at most `limit`.
    fn find_texts(
        &self,
        terms: &[String],
        states: &[&'static str],
        limit: u32,
    ) -> impl Future<Output = StoreResult<Vec<TextHit>>> + Send;
}

/// States as an SQL list; they come from [`deskside_protocol::ArticleState`]
/// names only, never from input.
pub(crate) fn state_list(states: &[&'static str]) -> String {
    let known = ["draft", "internal", "published"];
    let list: Vec<String> = states
        .iter()
        .filter(|s| known.contains(s))
        .map(|s| format!("'{s}'"))
        .collect();
    if list.is_empty() {
        "NULL".into()
    } else {
        list.join(", ")
    }
}

pub(crate) const HIT_COLUMNS: &str = "a.id, a.state, a.category, a.tags, a.checks, a.ticket_categories, \
    a.version, a.created_at, a.updated_at, t.lang, t.title, t.body";

/// The [`KbStore`] methods, the same SQL for both backends except the
/// term filter (`Self::DIALECT.kb_term`).
macro_rules! kb_methods {
    () => {
        async fn create_article(&self, f: &ArticleFields, user_id: i64, now: DateTime<Utc>) -> StoreResult<i64> {
            let mut tx = self.pool.begin().await?;
            let id = sqlx::query_scalar::<_, i64>(
                "INSERT INTO kb_articles (state, category, tags, checks, ticket_categories, version, \
                 created_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 1, $6, $7, $7) RETURNING id",
            )
            .bind(&f.state)
            .bind(&f.category)
            .bind(&f.tags)
            .bind(&f.checks)
            .bind(&f.ticket_categories)
            .bind(user_id)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            for (lang, title, body) in &f.texts {
                sqlx::query("INSERT INTO kb_texts (article_id, lang, title, body) VALUES ($1, $2, $3, $4)")
                    .bind(id)
                    .bind(lang)
                    .bind(title)
                    .bind(body)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok(id)
        }

        async fn update_article(
            &self,
            id: i64,
            expected: Option<i64>,
            f: &ArticleFields,
            now: DateTime<Utc>,
        ) -> StoreResult<ArticleUpdate> {
            let mut tx = self.pool.begin().await?;
            let done = sqlx::query(
                "UPDATE kb_articles SET state = $3, category = $4, tags = $5, checks = $6, \
                 ticket_categories = $7, version = version + 1, updated_at = $8 \
                 WHERE id = $1 AND ($2 IS NULL OR version = $2)",
            )
            .bind(id)
            .bind(expected)
            .bind(&f.state)
            .bind(&f.category)
            .bind(&f.tags)
            .bind(&f.checks)
            .bind(&f.ticket_categories)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() == 0 {
                let exists = sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM kb_articles WHERE id = $1")
                    .bind(id)
                    .fetch_one(&mut *tx)
                    .await?;
                return Ok(if exists == 0 { ArticleUpdate::NotFound } else { ArticleUpdate::Conflict });
            }
            sqlx::query("DELETE FROM kb_texts WHERE article_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            for (lang, title, body) in &f.texts {
                sqlx::query("INSERT INTO kb_texts (article_id, lang, title, body) VALUES ($1, $2, $3, $4)")
                    .bind(id)
                    .bind(lang)
                    .bind(title)
                    .bind(body)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok(ArticleUpdate::Done)
        }

        async fn link_article(&self, ticket_id: i64, article_id: i64, user_id: i64, now: DateTime<Utc>) -> StoreResult<bool> {
            let mut tx = self.pool.begin().await?;
            let both = sqlx::query_scalar::<_, i64>(
                "SELECT (SELECT COUNT(*) FROM tickets WHERE id = $1) + (SELECT COUNT(*) FROM kb_articles WHERE id = $2)",
            )
            .bind(ticket_id)
            .bind(article_id)
            .fetch_one(&mut *tx)
            .await?;
            if both != 2 {
                return Ok(false);
            }
            sqlx::query(
                "INSERT INTO ticket_articles (ticket_id, article_id, linked_by, linked_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (ticket_id, article_id) DO NOTHING",
            )
            .bind(ticket_id)
            .bind(article_id)
            .bind(user_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(true)
        }

        async fn unlink_article(&self, ticket_id: i64, article_id: i64) -> StoreResult<bool> {
            let done = sqlx::query("DELETE FROM ticket_articles WHERE ticket_id = $1 AND article_id = $2")
                .bind(ticket_id)
                .bind(article_id)
                .execute(&self.pool)
                .await?;
            Ok(done.rows_affected() > 0)
        }

        async fn ticket_articles(&self, ticket_id: i64) -> StoreResult<Vec<TextHit>> {
            Ok(sqlx::query_as::<_, TextHit>(&format!(
                "SELECT {} FROM ticket_articles l JOIN kb_articles a ON a.id = l.article_id \
                 JOIN kb_texts t ON t.article_id = a.id WHERE l.ticket_id = $1 ORDER BY l.linked_at, a.id",
                super::kb::HIT_COLUMNS
            ))
            .bind(ticket_id)
            .fetch_all(&self.pool)
            .await?)
        }

        async fn delete_article(&self, id: i64) -> StoreResult<bool> {
            let mut tx = self.pool.begin().await?;
            sqlx::query("DELETE FROM ticket_articles WHERE article_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM kb_texts WHERE article_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            let done = sqlx::query("DELETE FROM kb_articles WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(done.rows_affected() > 0)
        }

        async fn article(&self, id: i64) -> StoreResult<Option<(ArticleRow, Vec<TextRow>)>> {
            let Some(row) = sqlx::query_as::<_, ArticleRow>(
                "SELECT id, state, category, tags, checks, ticket_categories, version, created_at, updated_at \
                 FROM kb_articles WHERE id = $1",
            )
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            else {
                return Ok(None);
            };
            let texts = sqlx::query_as::<_, TextRow>(
                "SELECT article_id, lang, title, body FROM kb_texts WHERE article_id = $1 ORDER BY lang",
            )
            .bind(id)
            .fetch_all(&self.pool)
            .await?;
            Ok(Some((row, texts)))
        }

        async fn recent_texts(&self, states: &[&'static str], limit: u32) -> StoreResult<Vec<TextHit>> {
            Ok(sqlx::query_as::<_, TextHit>(&format!(
                "SELECT {} FROM kb_texts t JOIN kb_articles a ON a.id = t.article_id \
                 WHERE a.state IN ({}) ORDER BY a.updated_at DESC, a.id DESC LIMIT $1",
                super::kb::HIT_COLUMNS,
                super::kb::state_list(states)
            ))
            .bind(i64::from(limit) * 3)
            .fetch_all(&self.pool)
            .await?)
        }

        async fn find_texts(&self, terms: &[String], states: &[&'static str], limit: u32) -> StoreResult<Vec<TextHit>> {
            let mut sql = format!(
                "SELECT {} FROM kb_texts t JOIN kb_articles a ON a.id = t.article_id WHERE a.state IN ({})",
                super::kb::HIT_COLUMNS,
                super::kb::state_list(states)
            );
            let mut binds = Vec::new();
            for term in terms {
                let (filter, value) = Self::DIALECT.kb_term(binds.len() + 1, term);
                sql.push_str(" AND ");
                sql.push_str(&filter);
                binds.push(value);
            }
            sql.push_str(&format!(" ORDER BY a.updated_at DESC LIMIT ${}", binds.len() + 1));
            let mut q = sqlx::query_as::<_, TextHit>(&sql);
            for b in &binds {
                q = q.bind(b);
            }
            Ok(q.bind(i64::from(limit)).fetch_all(&self.pool).await?)
        }
    };
}
pub(crate) use kb_methods;
