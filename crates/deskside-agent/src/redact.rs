//! Secret redaction for everything that leaves the device as text: log
//! lines and process command lines in diagnostics bundles, and the agent's
//! own log file.
//!
//! It errs on the side of hiding: a value after a word like `password` or
//! `token` goes, as do `Authorization` headers, bearer tokens, Deskside's
//! own `dsk_…` tokens, passwords in URLs and AWS access keys.

use std::borrow::Cow;
use std::sync::OnceLock;

use regex::Regex;

/// What replaces a secret.
pub const MASK: &str = "***";

fn patterns() -> &'static [(Regex, &'static str)] {
    static P: OnceLock<Vec<(Regex, &'static str)>> = OnceLock::new();
    P.get_or_init(|| {
        let rules: [(&str, &str); 12] = [
            // `Authorization: Basic …`, `Proxy-Authorization: Bearer …`
            (
                r"(?i)\b((?:proxy-)?authorization)(\s*[:=]\s*)(?:(?:basic|bearer|digest|negotiate|token)\s+)?[^\s,;]+",
                "${1}${2}***",
            ),
            (r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]+", "${1} ***"),
            // Deskside tokens: device, API and enroll secrets.
            (r"\bdsk_[a-z]+_[A-Za-z0-9_-]+", "dsk_***"),
            // `scheme://user:password@host`
            (r"(?i)\b([a-z][a-z0-9+.-]*://[^\s:/@]+:)[^\s@/]+@", "${1}***@"),
            // `--password=x`, `--api-key x`, `-token x`
            (
                r"(?i)(\s-{1,2}[a-z0-9_-]*(?:password|passwd|passphrase|secret|token|api[_-]?key|access[_-]?key|private[_-]?key)[a-z0-9_-]*)(=|\s+)[^\s]+",
                "${1}${2}***",
            ),
            // `password=x`, `"client_secret": "x"`, `TOKEN: x`
            (
                r#"(?i)\b([a-z0-9_.-]*(?:password|passwd|passphrase|secret|token|api[_-]?key|access[_-]?key|private[_-]?key)[a-z0-9_.-]*)("?\s*[:=]\s*"?)[^\s",;&]+"#,
                "${1}${2}***",
            ),
            (r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b", "***"),
            // Tools whose short option takes the password: `mysql -pX`
            // (attached), `sshpass -p X`, `redis-cli -a X`.
            (
                r"(?i)(\b(?:mysql|mysqldump|mysqladmin|mysqlimport|mysqlcheck|mariadb|mariadb-dump)\b[^\n]*?\s-p)[^\s]+",
                "${1}***",
            ),
            (r"(?i)(\bsshpass\b[^\n]*?\s-p)(\s*)[^\s]+", "${1}${2}***"),
            (r"(?i)(\bredis-cli\b[^\n]*?\s-a)(\s+)[^\s]+", "${1}${2}***"),
            // `curl -u user:password`, `--user user:password`
            (r"(\s(?:-u|--user)(?:\s+|=)[^\s:]+:)[^\s]+", "${1}***"),
            // OpenSSL's `-passin pass:X`
            (r"(?i)\b(pass:)[^\s]+", "${1}***"),
        ];
        rules
            .into_iter()
            .filter_map(|(re, with)| Regex::new(re).ok().map(|r| (r, with)))
            .collect()
    })
}

/// `value` with [`redact`] applied to every string in it.
pub fn redact_json(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::String(s) => {
            if let Cow::Owned(r) = redact(s) {
                *s = r;
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(redact_json),
        serde_json::Value::Object(map) => map.values_mut().for_each(redact_json),
        _ => {}
    }
}

/// `text` with every secret it seems to hold replaced by [`MASK`].
pub fn redact(text: &str) -> Cow<'_, str> {
    let mut out = Cow::Borrowed(text);
    for (re, with) in patterns() {
        if re.is_match(&out) {
            out = Cow::Owned(re.replace_all(&out, *with).into_owned());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_masked() {
        let cases = [
            (
                "GET /x Authorization: Bearer abc.def-123 ok",
                "GET /x Authorization: *** ok",
            ),
            ("authorization=Basic dXNlcjpwYXNz", "authorization=***"),
            ("sent bearer eyJhbGciOi.x.y", "sent bearer ***"),
            (
                "token dsk_dev_AbC123xyz was revoked",
                "token dsk_*** was revoked",
            ),
            (
                "connect postgres://desk:hunter2@db:5432/desk",
                "connect postgres://desk:***@db:5432/desk",
            ),
            (
                "mysql -u root --password=hunter2 -h db",
                "mysql -u root --password=*** -h db",
            ),
            (
                "openvpn --auth-token s3cr3t --verb 3",
                "openvpn --auth-token *** --verb 3",
            ),
            ("tool -api-key K123 run", "tool -api-key *** run"),
            ("password=hunter2&user=bob", "password=***&user=bob"),
            (
                r#"{"client_secret": "abc123"}"#,
                r#"{"client_secret": "***"}"#,
            ),
            (
                "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG",
                "AWS_SECRET_ACCESS_KEY=***",
            ),
            ("key id AKIAIOSFODNN7EXAMPLE used", "key id *** used"),
            ("mysql -u root -phunter2 db", "mysql -u root -p*** db"),
            (
                "/usr/bin/mysqldump -h db -pS3cr3t x",
                "/usr/bin/mysqldump -h db -p*** x",
            ),
            ("sshpass -p hunter2 ssh host", "sshpass -p *** ssh host"),
            (
                "redis-cli -h r -a hunter2 ping",
                "redis-cli -h r -a *** ping",
            ),
            ("curl -u bob:hunter2 https://x", "curl -u bob:*** https://x"),
            (
                "openssl pkcs12 -passin pass:hunter2",
                "openssl pkcs12 -passin pass:***",
            ),
            (
                "http://proxyuser:proxypass@proxy:3128",
                "http://proxyuser:***@proxy:3128",
            ),
        ];
        for (input, want) in cases {
            assert_eq!(redact(input), want, "{input}");
        }
    }

    #[test]
    fn ordinary_text_is_left_alone() {
        for text in [
            "device token kept in the OS credential store",
            "check-in failed: the desk is unreachable",
            "/usr/bin/firefox --new-window https://example.com/path",
            "psql -p 5432 -h db",
            "ssh -p 2222 host",
        ] {
            assert!(matches!(redact(text), Cow::Borrowed(_)), "{text}");
        }
    }
}
