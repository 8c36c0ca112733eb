//! User-facing text of the agent (notifications) in English, Korean and
//! Japanese. The catalogs are `i18n/{en,ko,ja}.toml`; a test makes sure
//! every key exists in all three with the same placeholders.

use std::collections::BTreeMap;
use std::sync::OnceLock;

/// A language the agent speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Locale {
    /// English.
    En,
    /// Korean.
    Ko,
    /// Japanese.
    Ja,
}

impl Locale {
    /// Every supported locale.
    pub const ALL: [Locale; 3] = [Locale::En, Locale::Ko, Locale::Ja];

    /// The language code (`en`, `ko`, `ja`).
    pub fn code(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::Ko => "ko",
            Self::Ja => "ja",
        }
    }

    /// The locale for a tag such as `ko`, `ko_KR.UTF-8`, `ja-JP` or
    /// `en-US`; `None` for languages the agent does not speak.
    pub fn from_tag(tag: &str) -> Option<Self> {
        let lang = tag
            .trim()
            .split(['_', '-', '.', '@'])
            .next()?
            .to_ascii_lowercase();
        Self::ALL.into_iter().find(|l| l.code() == lang)
    }

    /// The user's language from the system settings, English when it is
    /// not one the agent speaks.
    pub fn detect() -> Self {
        sys_locale::get_locales()
            .find_map(|t| Self::from_tag(&t))
            .unwrap_or(Self::En)
    }
}

type Catalog = BTreeMap<String, String>;

const SOURCES: [(Locale, &str); 3] = [
    (Locale::En, include_str!("../i18n/en.toml")),
    (Locale::Ko, include_str!("../i18n/ko.toml")),
    (Locale::Ja, include_str!("../i18n/ja.toml")),
];

fn catalogs() -> &'static [(Locale, Catalog)] {
    static CATALOGS: OnceLock<Vec<(Locale, Catalog)>> = OnceLock::new();
    CATALOGS.get_or_init(|| {
        SOURCES
            .iter()
            .map(|(l, text)| (*l, toml::from_str(text).unwrap_or_default()))
            .collect()
    })
}

fn lookup(locale: Locale, key: &str) -> Option<&'static str> {
    catalogs()
        .iter()
        .find(|(l, _)| *l == locale)
        .and_then(|(_, c)| c.get(key))
        .map(String::as_str)
}

/// Whether the catalogs have `key`.
pub fn has(key: &str) -> bool {
    lookup(Locale::En, key).is_some()
}

/// The text for `key` in `locale` (falling back to English, then to the
/// key itself), with `{name}` placeholders replaced from `args`.
pub fn text(locale: Locale, key: &str, args: &[(&str, &str)]) -> String {
    let mut s = lookup(locale, key)
        .or_else(|| lookup(Locale::En, key))
        .unwrap_or(key)
        .to_owned();
    for (name, value) in args {
        s = s.replace(&format!("{{{name}}}"), value);
    }
    s
}

/// Every text whose key starts with one of `prefixes`, in `locale`
/// (falling back to English key by key): what a window loads at once.
pub fn texts_with_prefixes(locale: Locale, prefixes: &[&str]) -> BTreeMap<String, String> {
    catalogs()
        .iter()
        .find(|(l, _)| *l == Locale::En)
        .map(|(_, en)| {
            en.keys()
                .filter(|k| prefixes.iter().any(|p| k.starts_with(p)))
                .map(|k| (k.clone(), text(locale, k, &[])))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn placeholders(s: &str) -> Vec<&str> {
        let mut v: Vec<&str> = s
            .split('{')
            .skip(1)
            .filter_map(|p| p.split_once('}').map(|(n, _)| n))
            .collect();
        v.sort_unstable();
        v
    }

    #[test]
    fn every_catalog_has_every_key_with_the_same_placeholders() {
        for (_, text) in SOURCES {
            assert!(
                toml::from_str::<Catalog>(text).is_ok(),
                "a catalog does not parse"
            );
        }
        let all = catalogs();
        let en = &all[0].1;
        assert!(!en.is_empty());
        for (locale, cat) in all {
            let missing: Vec<&String> = en.keys().filter(|k| !cat.contains_key(*k)).collect();
            let extra: Vec<&String> = cat.keys().filter(|k| !en.contains_key(*k)).collect();
            assert!(
                missing.is_empty() && extra.is_empty(),
                "{locale:?}: missing {missing:?}, extra {extra:?}"
            );
            for (k, v) in cat {
                assert_eq!(placeholders(v), placeholders(&en[k]), "{locale:?} {k}");
                assert!(!v.trim().is_empty(), "{locale:?} {k} is empty");
            }
        }
        // Translations are translations, not copies of the English text.
        let ko = &all[1].1;
        assert_ne!(
            ko["notification.recovered.body"],
            en["notification.recovered.body"]
        );
    }

    #[test]
    fn check_summaries_match_the_checks_english_and_are_translated() {
        let all = catalogs();
        let (en, ko, ja) = (&all[0].1, &all[1].1, &all[2].1);
        for (key, english) in deskside_host::checks::message::ENGLISH {
            let k = format!("check.{key}");
            assert_eq!(en.get(&k).map(String::as_str), Some(*english), "{k}");
            for (name, cat) in [("ko", ko), ("ja", ja)] {
                let t = &cat[&k];
                assert_ne!(t, english, "{name} {k} is English");
                // Placeholders aside, the text is in the language's script.
                let own = t.chars().any(|c| {
                    ('\u{AC00}'..='\u{D7AF}').contains(&c)
                        || ('\u{3040}'..='\u{30FF}').contains(&c)
                        || ('\u{4E00}'..='\u{9FFF}').contains(&c)
                });
                assert!(own, "{name} {k}: {t}");
            }
        }
        let n = en.keys().filter(|k| k.starts_with("check.")).count();
        assert_eq!(
            n,
            deskside_host::checks::message::ENGLISH.len(),
            "no stale check key"
        );
    }

    #[test]
    fn tags_and_fallbacks() {
        assert_eq!(Locale::from_tag("ko_KR.UTF-8"), Some(Locale::Ko));
        assert_eq!(Locale::from_tag("ja-JP"), Some(Locale::Ja));
        assert_eq!(Locale::from_tag("en"), Some(Locale::En));
        assert_eq!(Locale::from_tag("fr_FR"), None);
        assert_eq!(
            text(
                Locale::Ja,
                "notification.critical.summary",
                &[("title", "温度")]
            ),
            "問題: 温度"
        );
        assert_eq!(text(Locale::Ko, "no.such.key", &[]), "no.such.key");
    }
}
