//! The knowledge base's rules, once for both backends: what an article
//! may hold, how a search query splits into terms, and how hits rank (a
//! match in the title before one only in the body, more terms before
//! fewer, then the most recently changed; one hit per article, in the
//! reader's language when it matched there).

use std::collections::HashMap;

use deskside_protocol::{
    Article, ArticleHit, ArticleInput, ArticleLang, ArticleState, ArticleTextView, Deflection,
    DeviceArticle, DeviceKb, UsefulArticle,
};

use crate::markdown;
use crate::store::{ArticleFields, ArticleRow, KbStamp, ReportOutcomeRow, TextHit, TextRow};

/// Longest title.
pub const MAX_TITLE: usize = 200;
/// Longest body.
pub const MAX_BODY: usize = 100_000;
/// Most published articles a device keeps (the most recently changed).
pub const MAX_DEVICE_ARTICLES: u32 = 1000;

/// What is wrong with an article, for people.
pub fn fields(input: &ArticleInput) -> Result<ArticleFields, String> {
    if input.texts.is_empty() {
        return Err("an article needs a text in at least one language".into());
    }
    let mut texts = Vec::new();
    for t in &input.texts {
        let lang = t.lang.as_str();
        if texts
            .iter()
            .any(|(l, _, _): &(String, String, String)| l == lang)
        {
            return Err(format!("{lang} is given twice"));
        }
        let title = t.title.trim();
        if title.is_empty()
            || title.chars().count() > MAX_TITLE
            || title.chars().any(char::is_control)
        {
            return Err(format!(
                "the {lang} title must be 1 to {MAX_TITLE} characters on one line"
            ));
        }
        if t.body.contains('\0') {
            return Err(format!("the {lang} body contains a NUL character"));
        }
        if t.body.chars().count() > MAX_BODY {
            return Err(format!(
                "the {lang} body is longer than {MAX_BODY} characters"
            ));
        }
        texts.push((lang.to_owned(), title.to_owned(), t.body.clone()));
    }
    let words = |what: &str, list: &[String], max: usize| -> Result<String, String> {
        if list.len() > 20 {
            return Err(format!("at most 20 {what}"));
        }
        let mut out: Vec<String> = Vec::new();
        for w in list {
            let w = w.trim();
            if w.is_empty() || w.chars().count() > max || w.chars().any(char::is_control) {
                return Err(format!("each of the {what} is 1 to {max} characters"));
            }
            if !out.iter().any(|o| o == w) {
                out.push(w.to_owned());
            }
        }
        Ok(serde_json::to_string(&out).unwrap_or_default())
    };
    if input.checks.iter().any(|c| {
        !c.chars()
            .all(|ch| ch.is_ascii_alphanumeric() || "-_.:".contains(ch))
    }) {
        return Err("checks are check ids or kinds (letters, digits, - _ . :)".into());
    }
    Ok(ArticleFields {
        state: input.state.as_str().to_owned(),
        category: input.category.map(|c| enum_name(&c)),
        tags: words("tags", &input.tags, 50)?,
        checks: words("checks", &input.checks, 100)?,
        ticket_categories: serde_json::to_string(&input.ticket_categories).unwrap_or_default(),
        texts,
    })
}

fn enum_name<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn state_of(s: &str) -> ArticleState {
    match s {
        "published" => ArticleState::Published,
        "internal" => ArticleState::Internal,
        _ => ArticleState::Draft,
    }
}

fn lang_of(s: &str) -> ArticleLang {
    match s {
        "ko" => ArticleLang::Ko,
        "ja" => ArticleLang::Ja,
        _ => ArticleLang::En,
    }
}

/// An article as the API shows it, its Markdown rendered.
pub fn view(row: ArticleRow, texts: Vec<TextRow>) -> Article {
    Article {
        id: row.id,
        state: state_of(&row.state),
        category: row
            .category
            .as_deref()
            .and_then(|c| serde_json::from_value(serde_json::Value::String(c.to_owned())).ok()),
        tags: serde_json::from_str(&row.tags).unwrap_or_default(),
        checks: serde_json::from_str(&row.checks).unwrap_or_default(),
        ticket_categories: serde_json::from_str(&row.ticket_categories).unwrap_or_default(),
        texts: texts
            .into_iter()
            .map(|t| ArticleTextView {
                lang: lang_of(&t.lang),
                html: markdown::render(&t.body),
                title: t.title,
                body: t.body,
            })
            .collect(),
        version: row.version,
        created_at: row.created_at,
        updated_at: row.updated_at,
    }
}

/// An article as a hit in the reader's language (else English, else any),
/// as lists of articles show it.
pub fn hit_in(
    row: ArticleRow,
    texts: Vec<TextRow>,
    lang: Option<ArticleLang>,
) -> Option<ArticleHit> {
    let hits = texts
        .into_iter()
        .map(|t| TextHit {
            article: row.clone(),
            lang: t.lang,
            title: t.title,
            body: t.body,
        })
        .collect();
    rank(hits, &[], lang, 1).pop()
}

/// A query's terms: split on white space, at most 10, each at most 100
/// characters; none for an empty query.
pub fn terms(q: &str) -> Result<Vec<String>, String> {
    let terms: Vec<String> = q.split_whitespace().map(str::to_owned).collect();
    if terms.iter().any(|t| t.chars().any(char::is_control)) {
        return Err("search terms cannot hold control characters".into());
    }
    if terms.len() > 10 || terms.iter().any(|t| t.chars().count() > 100) {
        return Err("at most 10 search terms of up to 100 characters".into());
    }
    Ok(terms)
}

fn count_in(text: &str, terms: &[String]) -> usize {
    let lower = text.to_lowercase();
    terms
        .iter()
        .filter(|t| lower.contains(&t.to_lowercase()))
        .count()
}

/// The hits in rank order, one per article, at most `limit`.
pub fn rank(
    hits: Vec<TextHit>,
    terms: &[String],
    lang: Option<ArticleLang>,
    limit: usize,
) -> Vec<ArticleHit> {
    type Key = (bool, usize, usize, bool);
    let mut best: HashMap<i64, (Key, TextHit)> = HashMap::new();
    for h in hits {
        let key: Key = (
            lang.is_some_and(|l| l.as_str() == h.lang),
            count_in(&h.title, terms),
            count_in(&h.body, terms),
            h.lang == "en",
        );
        // Within an article: the reader's language first, then the better
        // match, then English (what a reader without theirs gets).
        let better = |old: &Key| key > *old;
        match best.get(&h.article.id) {
            Some((old, _)) if !better(old) => {}
            _ => {
                best.insert(h.article.id, (key, h));
            }
        }
    }
    let mut list: Vec<(Key, TextHit)> = best.into_values().collect();
    // Across articles: title matches, then body matches, then recency.
    list.sort_by(|(a, x), (b, y)| {
        (b.1, b.2, y.article.updated_at, y.article.id).cmp(&(
            a.1,
            a.2,
            x.article.updated_at,
            x.article.id,
        ))
    });
    list.into_iter()
        .take(limit)
        .map(|(_, h)| ArticleHit {
            id: h.article.id,
            state: state_of(&h.article.state),
            lang: lang_of(&h.lang),
            snippet: markdown::snippet(&h.body, 160),
            title: h.title,
            updated_at: h.article.updated_at,
        })
        .collect()
}

/// The version of the published articles in `lang` as devices keep them:
/// it changes with the stamp, whatever changed.
pub fn device_kb_version(stamp: &KbStamp, lang: ArticleLang) -> String {
    use sha2::Digest as _;
    let seed = format!(
        "{}|{}|{}|{}",
        lang.as_str(),
        stamp.count,
        stamp.versions,
        stamp.newest.as_deref().unwrap_or_default()
    );
    hex::encode(&sha2::Sha256::digest(seed.as_bytes())[..12])
}

/// The published articles for a device reading `lang`: each in that
/// language, else in English, else left out; most recently changed first.
pub fn device_kb(version: String, lang: ArticleLang, texts: Vec<TextHit>) -> DeviceKb {
    let mut order: Vec<i64> = Vec::new();
    let mut chosen: HashMap<i64, TextHit> = HashMap::new();
    for t in texts {
        if t.article.state != "published" || (t.lang != lang.as_str() && t.lang != "en") {
            continue;
        }
        match chosen.get(&t.article.id) {
            Some(old) if old.lang == lang.as_str() => {}
            Some(_) if t.lang != lang.as_str() => {}
            Some(_) => {
                chosen.insert(t.article.id, t);
            }
            None => {
                order.push(t.article.id);
                chosen.insert(t.article.id, t);
            }
        }
    }
    let articles = order
        .into_iter()
        .filter_map(|id| chosen.remove(&id))
        .map(|t| DeviceArticle {
            id: t.article.id,
            lang: lang_of(&t.lang),
            html: markdown::render(&t.body),
            text: markdown::snippet(&t.body, MAX_BODY),
            title: t.title,
            tags: serde_json::from_str(&t.article.tags).unwrap_or_default(),
            checks: serde_json::from_str(&t.article.checks).unwrap_or_default(),
            ticket_categories: serde_json::from_str(&t.article.ticket_categories)
                .unwrap_or_default(),
        })
        .collect();
    DeviceKb {
        version,
        lang,
        articles,
    }
}

/// Deflection from report outcomes: started, solved by an article, filed;
/// the rate solved ÷ started; the ten articles that solved the most
/// (ties: shown more, then the lower id), titles left for the caller.
pub fn deflection(rows: &[ReportOutcomeRow]) -> Deflection {
    let mut solved: HashMap<i64, u64> = HashMap::new();
    let mut shown: HashMap<i64, u64> = HashMap::new();
    for r in rows {
        let ids: Vec<i64> = serde_json::from_str(&r.shown).unwrap_or_default();
        let mut seen = std::collections::HashSet::new();
        for id in ids {
            if seen.insert(id) {
                *shown.entry(id).or_default() += 1;
            }
        }
        if let Some(id) = r.solved_by {
            *solved.entry(id).or_default() += 1;
        }
    }
    let started = rows.len() as u64;
    let done = rows.iter().filter(|r| r.solved_by.is_some()).count() as u64;
    let ticketed = rows
        .iter()
        .filter(|r| r.solved_by.is_none() && r.ticket_id.is_some())
        .count() as u64;
    let mut useful: Vec<UsefulArticle> = solved
        .into_iter()
        .map(|(id, n)| UsefulArticle {
            id,
            title: String::new(),
            solved: n,
            shown: shown.get(&id).copied().unwrap_or_default().max(n),
        })
        .collect();
    useful.sort_by(|a, b| (b.solved, b.shown, a.id).cmp(&(a.solved, a.shown, b.id)));
    useful.truncate(10);
    Deflection {
        started,
        solved: done,
        ticketed,
        #[allow(clippy::cast_precision_loss)]
        rate: (started > 0).then(|| done as f64 / started as f64),
        useful,
    }
}
