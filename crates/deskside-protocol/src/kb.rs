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

/// The published articles a device keeps for suggestions that work
/// offline, in the employee's language (an article without that language
/// comes in English; one with neither is left out). Sent in the check-in
/// answer when its `version` differs from the device's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DeviceKb {
    /// Changes whenever a published article changes, appears or goes.
    pub version: String,
    /// The language asked for.
    pub lang: ArticleLang,
    /// The articles.
    pub articles: Vec<DeviceArticle>,
}

/// One article as a device keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DeviceArticle {
    /// Id.
    pub id: i64,
    /// The language of this text.
    pub lang: ArticleLang,
    /// Title.
    pub title: String,
    /// The body rendered to sanitized HTML (no script, no remote image).
    pub html: String,
    /// The body as plain text, for searching on the device.
    pub text: String,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Check ids or check kinds the article fixes.
    #[serde(default)]
    pub checks: Vec<String>,
    /// Ticket categories it answers.
    #[serde(default)]
    pub ticket_categories: Vec<TicketCategory>,
}

/// A report begun in the tray, and how it ended: the articles it showed and
/// the one that solved it. Sent when the report starts and again when an
/// article solved it; a ticket filed from it carries it too. The desk
/// keeps one record per `id` (a retry or a later stage updates it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TrayReport {
    /// Chosen by the device (a UUID), unique per report.
    pub id: String,
    /// When the employee opened the report.
    pub started_at: DateTime<Utc>,
    /// Articles suggested to the employee, first shown first.
    #[serde(default)]
    pub shown: Vec<i64>,
    /// The article the employee said solved it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub solved_by: Option<i64>,
}

/// Articles that ended reports ("This solved it") in a period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct UsefulArticle {
    /// Id.
    pub id: i64,
    /// Title in the reader's language, else English.
    pub title: String,
    /// Reports it ended.
    pub solved: u64,
    /// Reports that showed it.
    pub shown: u64,
}

/// Deflection in a period: reports begun in the tray and how many an
/// article ended without a ticket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Deflection {
    /// Reports begun.
    pub started: u64,
    /// Reports ended by an article.
    pub solved: u64,
    /// Reports that became a ticket.
    pub ticketed: u64,
    /// solved ÷ started; absent without reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<f64>,
    /// The articles that ended the most reports, most first (at most 10).
    pub useful: Vec<UsefulArticle>,
}

/// What a ticket's employee was shown in the tray before filing it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ShownArticles {
    /// When the report began.
    pub started_at: DateTime<Utc>,
    /// The articles, first shown first (deleted ones left out).
    pub articles: Vec<ArticleHit>,
}
