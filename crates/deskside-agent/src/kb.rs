//! The knowledge base on the device: the published articles the desk sends
//! with a check-in answer (in the employee's language), kept in the local
//! store and searched here, so Report a problem suggests articles as the
//! employee types without a network round trip, also offline.
//!
//! Matching works without spaces between words, as Korean and Japanese are
//! written: a word in those scripts is matched by its character pairs, a
//! word in others as a whole (inside longer words too: "print" finds
//! "printer"). A title match counts three times a body match. Articles
//! linked to a check failing on this device come first, whatever was typed.

use std::collections::HashSet;

use deskside_protocol::{DeviceArticle, DeviceKb};
use serde::Serialize;

/// Most suggestions shown at once.
pub const MAX_SUGGESTIONS: usize = 3;

/// A check failing on this device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailingCheck {
    /// Its id.
    pub id: String,
    /// Its kind (`disk_space`…).
    pub kind: String,
    /// Its title in the employee's language.
    pub title: String,
}

/// An article suggested in the report form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Suggestion {
    /// The article.
    pub id: i64,
    /// Its title.
    pub title: String,
    /// Its first words.
    pub snippet: String,
    /// The title of the failing check it is linked to, when it is.
    pub for_check: Option<String>,
}

/// The failing check (of `failing`) that `article` names by id or kind.
pub fn linked_check<'a>(
    article: &DeviceArticle,
    failing: &'a [FailingCheck],
) -> Option<&'a FailingCheck> {
    failing.iter().find(|c| {
        article
            .checks
            .iter()
            .any(|k| k.eq_ignore_ascii_case(&c.id) || k.eq_ignore_ascii_case(&c.kind))
    })
}

/// Up to [`MAX_SUGGESTIONS`] articles for what the employee typed: those
/// linked to a failing check first, then the best matches.
pub fn suggest(kb: &DeviceKb, text: &str, failing: &[FailingCheck]) -> Vec<Suggestion> {
    let terms = terms(text);
    let mut scored: Vec<(bool, usize, usize, &DeviceArticle, Option<&FailingCheck>)> = kb
        .articles
        .iter()
        .enumerate()
        .filter_map(|(pos, a)| {
            let check = linked_check(a, failing);
            let score = relevance(a, &terms);
            (check.is_some() || score > 0).then_some((check.is_some(), score, pos, a, check))
        })
        .collect();
    // Linked first, then the better match, then the desk's order (the most
    // recently changed first).
    scored.sort_by(|a, b| (b.0, b.1, a.2).cmp(&(a.0, a.1, b.2)));
    scored
        .into_iter()
        .take(MAX_SUGGESTIONS)
        .map(|(_, _, _, a, check)| Suggestion {
            id: a.id,
            title: a.title.clone(),
            snippet: snippet(&a.text, 120),
            for_check: check.map(|c| c.title.clone()),
        })
        .collect()
}

/// How well `a` matches: title hits count three, body and tag hits one;
/// zero unless a title hit or at least half the terms were found.
fn relevance(a: &DeviceArticle, terms: &[String]) -> usize {
    if terms.is_empty() {
        return 0;
    }
    let title = a.title.to_lowercase();
    let body = format!("{} {}", a.text, a.tags.join(" ")).to_lowercase();
    let mut in_title = 0;
    let mut in_body = 0;
    for t in terms {
        if title.contains(t.as_str()) {
            in_title += 1;
        } else if body.contains(t.as_str()) {
            in_body += 1;
        }
    }
    if in_title == 0 && (in_body * 2 < terms.len() || in_body == 0) {
        return 0;
    }
    in_title * 3 + in_body
}

/// Words of no use for finding an article.
const STOP_WORDS: &[&str] = &[
    "the", "and", "for", "not", "but", "with", "does", "doesn", "don", "can", "cannot", "won",
    "isn", "any", "all", "has", "have", "was", "are", "its", "this", "that", "from", "when",
    "what", "how", "why", "again", "still", "just", "very", "my", "our", "you", "your",
];

fn is_cjk(c: char) -> bool {
    matches!(c,
        '\u{1100}'..='\u{11FF}'   // Hangul Jamo
        | '\u{3040}'..='\u{30FF}' // Hiragana, Katakana
        | '\u{3130}'..='\u{318F}' // Hangul compatibility Jamo
        | '\u{3400}'..='\u{4DBF}' // CJK extension A
        | '\u{4E00}'..='\u{9FFF}' // CJK ideographs
        | '\u{AC00}'..='\u{D7AF}' // Hangul syllables
        | '\u{F900}'..='\u{FAFF}' // CJK compatibility ideographs
        | '\u{FF66}'..='\u{FF9F}' // half-width Katakana
    )
}

/// The search terms of `text`, lower-cased, each once: whole words of
/// three letters or more (stop words left out), and the character pairs
/// of Korean and Japanese runs (a single character alone).
pub fn terms(text: &str) -> Vec<String> {
    let lower = text.to_lowercase();
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    let mut push = |t: String| {
        if seen.insert(t.clone()) {
            out.push(t);
        }
    };
    for word in lower.split(|c: char| !c.is_alphanumeric()) {
        let mut latin = String::new();
        let mut cjk: Vec<char> = Vec::new();
        let flush_latin = |latin: &mut String, push: &mut dyn FnMut(String)| {
            if latin.chars().count() >= 3 && !STOP_WORDS.contains(&latin.as_str()) {
                push(latin.clone());
            }
            latin.clear();
        };
        let flush_cjk = |cjk: &mut Vec<char>, push: &mut dyn FnMut(String)| {
            match cjk.len() {
                0 => {}
                1 => push(cjk[0].to_string()),
                _ => {
                    for pair in cjk.windows(2) {
                        push(pair.iter().collect());
                    }
                }
            }
            cjk.clear();
        };
        for c in word.chars() {
            if is_cjk(c) {
                flush_latin(&mut latin, &mut push);
                cjk.push(c);
            } else {
                flush_cjk(&mut cjk, &mut push);
                latin.push(c);
            }
        }
        flush_latin(&mut latin, &mut push);
        flush_cjk(&mut cjk, &mut push);
    }
    out.truncate(64);
    out
}

fn snippet(text: &str, chars: usize) -> String {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.chars().count() > chars {
        format!("{}…", text.chars().take(chars).collect::<String>())
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use deskside_protocol::ArticleLang;

    fn article(id: i64, title: &str, text: &str, checks: &[&str]) -> DeviceArticle {
        DeviceArticle {
            id,
            lang: ArticleLang::En,
            title: title.into(),
            html: String::new(),
            text: text.into(),
            tags: Vec::new(),
            checks: checks.iter().map(|c| (*c).to_owned()).collect(),
            ticket_categories: Vec::new(),
        }
    }

    fn kb(articles: Vec<DeviceArticle>) -> DeviceKb {
        DeviceKb {
            version: "v".into(),
            lang: ArticleLang::En,
            articles,
        }
    }

    fn ids(s: &[Suggestion]) -> Vec<i64> {
        s.iter().map(|s| s.id).collect()
    }

    #[test]
    fn terms_split_words_and_pair_cjk_characters() {
        assert_eq!(
            terms("The printer is NOT printing!"),
            ["printer", "printing"]
        );
        assert_eq!(terms("プリンター"), ["プリ", "リン", "ンタ", "ター"]);
        assert_eq!(terms("비밀번호"), ["비밀", "밀번", "번호"]);
        assert_eq!(terms("VPN接続"), ["vpn", "接続"]);
        assert_eq!(terms("a 字"), ["字"]);
        assert!(terms("  ,, ").is_empty());
    }

    #[test]
    fn japanese_and_korean_match_without_spaces() {
        let kb = kb(vec![
            article(
                1,
                "プリンターが印刷しない",
                "用紙トレイを確認してください。",
                &[],
            ),
            article(2, "비밀번호를 잊어버렸어요", "포털에서 재설정하세요.", &[]),
            article(3, "VPN drops", "Restart the client.", &[]),
        ]);
        assert_eq!(ids(&suggest(&kb, "プリンター", &[])), [1]);
        assert_eq!(ids(&suggest(&kb, "비밀번호", &[])), [2]);
        assert_eq!(ids(&suggest(&kb, "my vpn keeps dropping", &[])), [3]);
        assert!(suggest(&kb, "keyboard", &[]).is_empty());
    }

    #[test]
    fn title_matches_rank_first_and_at_most_three_show() {
        let kb = kb(vec![
            article(1, "Outlook is slow", "Mail takes long; printer too.", &[]),
            article(2, "Printer offline", "Turn the printer on.", &[]),
            article(3, "Printer jams", "Open the tray.", &[]),
            article(4, "Printer driver", "Reinstall.", &[]),
            article(5, "Scanner", "The printer's scanner…", &[]),
        ]);
        let got = suggest(&kb, "printer", &[]);
        assert_eq!(got.len(), MAX_SUGGESTIONS);
        assert_eq!(
            ids(&got),
            [2, 3, 4],
            "title hits first, the desk's order among equals"
        );
    }

    #[test]
    fn a_weak_body_match_is_not_a_suggestion() {
        let kb = kb(vec![article(
            1,
            "Reset your password",
            "Open the portal and follow the steps.",
            &[],
        )]);
        assert!(suggest(&kb, "laptop screen flickers after portal update", &[]).is_empty());
        assert_eq!(ids(&suggest(&kb, "password portal", &[])), [1]);
    }

    #[test]
    fn articles_of_failing_checks_come_first_even_before_typing() {
        let kb = kb(vec![
            article(1, "Disk full", "Empty the trash.", &["disk_space"]),
            article(2, "Printer offline", "Turn it on.", &[]),
            article(3, "Certificate expiring", "Renew it.", &["tls-intranet"]),
        ]);
        let failing = [FailingCheck {
            id: "disk-root".into(),
            kind: "disk_space".into(),
            title: "Disk space".into(),
        }];
        let empty = suggest(&kb, "", &failing);
        assert_eq!(ids(&empty), [1]);
        assert_eq!(empty[0].for_check.as_deref(), Some("Disk space"));
        assert_eq!(ids(&suggest(&kb, "printer", &failing)), [1, 2]);
        let by_id = [FailingCheck {
            id: "tls-intranet".into(),
            kind: "tls_certificate".into(),
            title: "Intranet certificate".into(),
        }];
        assert_eq!(ids(&suggest(&kb, "", &by_id)), [3]);
    }
}
