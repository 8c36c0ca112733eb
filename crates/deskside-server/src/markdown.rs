//! Markdown to HTML for knowledge-base articles, sanitized: what an
//! article shows in the console and the tray cannot run script, carry
//! event handlers or styles, frame anything, or load a remote image (an
//! image from elsewhere would tell its server who read the article).

use std::collections::HashSet;

use pulldown_cmark::{Options, Parser, html};

/// Sanitized HTML of `markdown`.
pub fn render(markdown: &str) -> String {
    let mut raw = String::with_capacity(markdown.len() * 3 / 2);
    let options =
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS;
    html::push_html(&mut raw, Parser::new_ext(markdown, options));
    sanitizer().clean(&raw).to_string()
}

fn sanitizer() -> ammonia::Builder<'static> {
    let mut b = ammonia::Builder::default();
    b.url_schemes(HashSet::from(["http", "https", "mailto"]))
        .url_relative(ammonia::UrlRelative::PassThrough)
        .link_rel(Some("noopener noreferrer nofollow"))
        .add_tag_attributes("input", ["type", "checked", "disabled"])
        .add_tags(["input"])
        .attribute_filter(|element, attribute, value| {
            // Images only from the desk itself (a relative address).
            if element == "img" && attribute == "src" {
                let v = value.trim_start();
                let relative = !v.contains(':') && !v.starts_with("//") && !v.starts_with("\\\\");
                return relative.then(|| value.into());
            }
            if element == "input" && attribute == "type" && value != "checkbox" {
                return None;
            }
            Some(value.into())
        });
    b
}

/// The first words of `markdown` as plain text (a search result's snippet).
pub fn snippet(markdown: &str, chars: usize) -> String {
    use pulldown_cmark::{Event, TagEnd};
    let mut text = String::new();
    for event in Parser::new(markdown) {
        match event {
            // Inline pieces join as written: no space is added between
            // them (Korean and Japanese put none around emphasis).
            Event::Text(t) | Event::Code(t) => text.push_str(&t),
            Event::SoftBreak | Event::HardBreak => text.push(' '),
            Event::End(
                TagEnd::Paragraph
                | TagEnd::Heading(_)
                | TagEnd::Item
                | TagEnd::CodeBlock
                | TagEnd::TableCell,
            ) => text.push(' '),
            _ => {}
        }
        if text.chars().count() > chars {
            break;
        }
    }
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

    #[test]
    fn renders_markdown() {
        let html = render(
            "# Reset\n\n1. Open **Settings**\n2. Press `Reset`\n\n| a | b |\n|---|---|\n| 1 | 2 |\n",
        );
        assert!(html.contains("<h1>Reset</h1>"), "{html}");
        assert!(html.contains("<strong>Settings</strong>"));
        assert!(html.contains("<code>Reset</code>"));
        assert!(html.contains("<table>"));
    }

    #[test]
    fn removes_script_handlers_and_dangerous_links() {
        for (attack, must_not) in [
            ("<script>alert(1)</script>", "<script"),
            ("<img src=x onerror=alert(1)>", "onerror"),
            ("[click](javascript:alert(1))", "javascript:"),
            ("<a href=\"JaVaScRiPt:alert(1)\">x</a>", "avascript"),
            ("<iframe src=\"https://evil.example\"></iframe>", "<iframe"),
            ("<p style=\"position:fixed\">x</p>", "style="),
            ("<svg><script>alert(1)</script></svg>", "<script"),
            (
                "<form action=\"https://evil.example\"><input name=p></form>",
                "<form",
            ),
            ("[x](data:text/html;base64,PHNjcmlwdD4=)", "data:"),
        ] {
            let html = render(attack);
            assert!(
                !html.to_ascii_lowercase().contains(must_not),
                "{attack} → {html}"
            );
        }
        let link = render("[docs](https://example.com/help)");
        assert!(link.contains("href=\"https://example.com/help\""), "{link}");
        assert!(link.contains("noopener"), "{link}");
    }

    #[test]
    fn loads_no_remote_image() {
        let remote = render("![tracker](https://evil.example/pixel.png)");
        assert!(!remote.contains("evil.example"), "{remote}");
        let protocol_relative = render("<img src=\"//evil.example/p.png\">");
        assert!(
            !protocol_relative.contains("evil.example"),
            "{protocol_relative}"
        );
        let local = render("![screen](/api/v1/kb/images/1.png)");
        assert!(local.contains("src=\"/api/v1/kb/images/1.png\""), "{local}");
    }

    #[test]
    fn snippets_are_plain_text() {
        assert_eq!(
            snippet("# Title\n\nOpen **Settings** and `reset`.", 100),
            "Title Open Settings and reset."
        );
        assert_eq!(snippet("**用紙トレイ**を確認", 100), "用紙トレイを確認");
        assert_eq!(snippet("abcdefghij", 4), "abcd…");
        assert_eq!(snippet("<script>x</script>", 50), "");
    }
}
