//! Every user-facing text of the windows comes from the catalogs: each key
//! the pages use exists (in all three languages: the agent's i18n test
//! checks that every English key has a Korean and a Japanese text), and no
//! page carries a sentence of its own.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::path::Path;

use deskside_agent::i18n::{Locale, texts_with_prefixes};

fn ui(name: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../ui/src")
            .join(name),
    )
    .unwrap()
}

/// String literals of a script ('…', "…", `…` without interpolation).
fn literals(js: &str) -> Vec<String> {
    let mut out = Vec::new();
    let chars: Vec<char> = js.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        // Comments carry no UI text.
        if c == '/' && chars.get(i + 1) == Some(&'/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
            continue;
        }
        if c == '/' && chars.get(i + 1) == Some(&'*') {
            i += 2;
            while i + 1 < chars.len() && !(chars[i] == '*' && chars[i + 1] == '/') {
                i += 1;
            }
            i += 2;
            continue;
        }
        if matches!(c, '\'' | '"' | '`') {
            let mut s = String::new();
            i += 1;
            while i < chars.len() && chars[i] != c {
                if chars[i] == '\\' {
                    i += 1;
                }
                if let Some(ch) = chars.get(i) {
                    s.push(*ch);
                }
                i += 1;
            }
            out.push(s);
        }
        i += 1;
    }
    out
}

fn catalog_keys() -> BTreeSet<String> {
    texts_with_prefixes(Locale::En, &[""]).into_keys().collect()
}

#[test]
fn every_key_the_pages_use_exists() {
    let keys = catalog_keys();
    let mut used = BTreeSet::new();
    for file in ["app.js", "views.js", "article.js"] {
        for lit in literals(&ui(file)) {
            let looks_like_key = ["ui.", "window.", "ticket.status.", "tray."]
                .iter()
                .any(|p| lit.starts_with(p))
                && !lit.contains(char::is_whitespace);
            if looks_like_key && !lit.contains("${") && !lit.ends_with('.') {
                used.insert(lit);
            }
        }
    }
    // Keys built at run time, from the lists the pages use.
    let lists: [(&str, &[&str]); 7] = [
        (
            "ui.category.",
            &[
                "hardware", "software", "network", "account", "printer", "other",
            ],
        ),
        ("ui.urgency.", &["high", "medium", "low"]),
        (
            "ui.health.state.",
            &["ok", "warning", "critical", "unknown", "pending"],
        ),
        (
            "ui.health.overall.",
            &["ok", "warning", "critical", "unknown", "none"],
        ),
        ("ui.language.", &["en", "ko", "ja"]),
        (
            "ticket.status.",
            &["new", "open", "pending", "resolved", "closed"],
        ),
        ("ui.sync.", &["online", "offline", "needs_enrollment"]),
    ];
    for (prefix, values) in lists {
        for v in values {
            used.insert(format!("{prefix}{v}"));
        }
    }
    for w in ["report", "tickets", "health", "settings", "about"] {
        used.insert(format!("window.{w}.title"));
    }
    assert!(used.len() > 60, "the scan found the keys: {}", used.len());
    let missing: Vec<&String> = used.iter().filter(|k| !keys.contains(*k)).collect();
    assert!(
        missing.is_empty(),
        "keys missing from the catalogs: {missing:?}"
    );
}

#[test]
fn no_page_carries_english_of_its_own() {
    // Words of two or more letters separated by a space: a phrase.
    let phrase = |s: &str| {
        let words: Vec<&str> = s
            .split(|c: char| !c.is_ascii_alphabetic())
            .filter(|w| w.len() >= 2)
            .collect();
        s.contains(' ') && words.len() >= 2 && !s.contains("${")
    };
    for file in ["app.js", "views.js", "article.js"] {
        let found: Vec<String> = literals(&ui(file))
            .into_iter()
            .filter(|l| phrase(l))
            .collect();
        assert!(found.is_empty(), "{file} has text of its own: {found:?}");
    }
    // The HTML holds structure only: no text between tags but the product
    // name in the title.
    let html = ui("index.html");
    for chunk in html.split('<').skip(1) {
        let text = chunk.split_once('>').map_or("", |(_, t)| t).trim();
        assert!(
            text.is_empty() || text == "Deskside",
            "index.html has text of its own: {text:?}"
        );
    }
    // A deliberate slip is caught.
    assert!(phrase("Send to IT"));
    assert!(!phrase("ui.report.submit"));
}
