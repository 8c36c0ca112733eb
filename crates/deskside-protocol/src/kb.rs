//! The knowledge base: articles in English, Korean and Japanese (each
//! language optional), their state, links to health checks and ticket
//! categories, and search hits.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::TicketCategory;

/// Who may read an article.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ArticleState {
    /// Being written: technicians only.
    Draft,
    /// For technicians (internal procedures).
    Internal,
    /// For everyone, the tray included.
    Published,
}

impl ArticleState {
    /// Its name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Internal => "internal",
            Self::Published => "published",
        }
    }
}

/// An article's languages.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ArticleLang {
    /// English (what is shown when the employee's language is missing).
    En,
    /// Korean.
    Ko,
    /// Japanese.
    Ja,
}

impl ArticleLang {
    /// Its code.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::Ko => "ko",
            Self::Ja => "ja",
        }
    }
}

/// One language of an article, as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ArticleText {
    /// The language.
    pub lang: ArticleLang,
    /// Title, 1–200 characters.
    pub title: String,
    /// Markdown, at most 100,000 characters.
    pub body: String,
}

/// `POST /api/v1/kb/articles` and `PUT /api/v1/kb/articles/{id}` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ArticleInput {
    /// Who may read it.
    pub state: ArticleState,
    /// Its category, if any.
    #[serde(default)]
    pub category: Option<TicketCategory>,
    /// Tags (at most 20, each 1–50 characters).
    #[serde(default)]
    pub tags: Vec<String>,
    /// Health checks it helps with: check ids (`disk-root`) or kinds
    /// (`disk_space`); at most 20.
    #[serde(default)]
    pub checks: Vec<String>,
    /// Ticket categories it helps with.
    #[serde(default)]
    pub ticket_categories: Vec<TicketCategory>,
    /// Its languages: at least one, each at most once.
    pub texts: Vec<ArticleText>,
    /// With `PUT`: the version it was edited from (another edit since is
    /// refused with `version_conflict`).
    #[serde(default)]
    pub version: Option<i64>,
}

/// One language of an article, with its Markdown rendered to sanitized
/// HTML (no script, no event handlers, no remote images).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ArticleTextView {
    /// The language.
    pub lang: ArticleLang,
    /// Title.
    pub title: String,
    /// Markdown, as written.
    pub body: String,
    /// The body as sanitized HTML.
    pub html: String,
}

/// An article.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Article {
    /// Id.
    pub id: i64,
    /// Who may read it.
    pub state: ArticleState,
    /// Its category.
    pub category: Option<TicketCategory>,
    /// Tags.
    pub tags: Vec<String>,
    /// Health checks it helps with.
    pub checks: Vec<String>,
    /// Ticket categories it helps with.
    pub ticket_categories: Vec<TicketCategory>,
    /// Its languages.
    pub texts: Vec<ArticleTextView>,
    /// Bumped by every change.
    pub version: i64,
    /// When it was written.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// A search result: an article in the language it matched in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ArticleHit {
    /// The article.
    pub id: i64,
    /// Its state.
    pub state: ArticleState,
    /// The language of the title shown.
    pub lang: ArticleLang,
    /// Title.
    pub title: String,
    /// The body's first words, as plain text.
    pub snippet: String,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// `POST /api/v1/kb/preview` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MarkdownPreview {
    /// Markdown, at most 100,000 characters.
    pub markdown: String,
}

/// `POST /api/v1/kb/preview` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RenderedHtml {
    /// Sanitized HTML.
    pub html: String,
}
