//! The knowledge base through the HTTP API on SQLite and PostgreSQL:
//! search in Japanese, Korean and English (no word spaces needed; short
//! terms too), a title match ranked before a body match, the reader's
//! language, states, sanitized Markdown, validation, and two technicians
//! saving one article at once (one wins, the other is told).

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use deskside_server::api::{self, Limits, router};
use deskside_server::credentials::{hash_token, new_token};
use deskside_server::store::{Role, Store};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn start<S: Store>(store: S) -> String {
    let _ = tracing_subscriber::fmt().with_test_writer().try_init();
    let limits = Limits {
        request_timeout: Duration::from_secs(10),
        ..Limits::default()
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let blobs = deskside_server::blobs::DiskBlobs::new(
        std::env::temp_dir().join(format!("deskside-kb-blobs-{}", addr.port())),
    )
    .unwrap();
    tokio::spawn(api::serve(
        listener,
        router(store, blobs, limits),
        std::future::pending(),
    ));
    format!("http://{addr}")
}

async fn call(
    method: Method,
    url: String,
    token: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = common::http().request(method, url);
    if !token.is_empty() {
        req = req.header("authorization", format!("Bearer {token}"));
    }
    if let Some(b) = body {
        req = req
            .header("content-type", "application/json")
            .body(serde_json::to_vec(&b).unwrap());
    }
    let r = req.send().await.unwrap();
    let status = r.status();
    let bytes = r.bytes().await.unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn article(state: &str, texts: &[(&str, &str, &str)]) -> Value {
    json!({
        "state": state,
        "category": "printer",
        "tags": ["printing"],
        "checks": ["disk_space"],
        "texts": texts.iter().map(|(lang, title, body)| json!({"lang": lang, "title": title, "body": body})).collect::<Vec<_>>(),
    })
}

async fn search(base: &str, token: &str, query: &str) -> Vec<(String, String)> {
    let url = format!("{base}/api/v1/kb/articles?{query}");
    let (status, hits) = call(Method::GET, url, token, None).await;
    assert_eq!(status, StatusCode::OK, "{query}: {hits}");
    hits.as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["title"].as_str().unwrap().to_owned(),
                h["lang"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn q(text: &str) -> String {
    format!("q={}", urlencode(text))
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn knowledge_base<S: Store>(s: S) {
    let base = start(s.clone()).await;
    let user = s
        .create_user("tech@example.com", Role::Technician, None)
        .await
        .unwrap();
    let token = new_token("dsk_api");
    s.create_api_token(user.id, &hash_token(&token), None)
        .await
        .unwrap();
    let url = format!("{base}/api/v1/kb/articles");

    for (state, texts) in [
        (
            "published",
            vec![(
                "ja",
                "プリンターが印刷しない",
                "用紙トレイとケーブルを確認してください。",
            )],
        ),
        (
            "published",
            vec![(
                "ko",
                "비밀번호를 잊어버렸어요",
                "셀프 서비스 포털에서 재설정하세요.",
            )],
        ),
        (
            "published",
            vec![(
                "en",
                "VPN disconnects at night",
                "Unrelated to the printer: the VPN client renews its lease.",
            )],
        ),
        (
            "published",
            vec![(
                "en",
                "Printer offline",
                "Turn it off and on; check the network cable.",
            )],
        ),
        (
            "draft",
            vec![("en", "Printer drivers (draft)", "Not finished.")],
        ),
        (
            "internal",
            vec![
                ("en", "Monitor flickers", "Replace the cable."),
                ("ko", "모니터가 깜박임", "케이블을 교체하세요."),
            ],
        ),
    ] {
        let (status, a) = call(
            Method::POST,
            url.clone(),
            &token,
            Some(article(state, &texts)),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{a}");
    }

    // Words inside longer words, without spaces, in Japanese and Korean.
    assert_eq!(
        search(&base, &token, &q("プリンター")).await[0].0,
        "プリンターが印刷しない"
    );
    assert_eq!(
        search(&base, &token, &q("비밀번호")).await,
        [("비밀번호를 잊어버렸어요".to_owned(), "ko".to_owned())]
    );
    // Two characters: too short for a trigram, found all the same.
    assert_eq!(
        search(&base, &token, &q("印刷")).await[0].0,
        "プリンターが印刷しない"
    );
    // A title match before a body-only match; case ignored; the draft too.
    let printer = search(&base, &token, &q("PRINTER")).await;
    let titles: Vec<&str> = printer.iter().map(|h| h.0.as_str()).collect();
    assert_eq!(titles.len(), 3, "{titles:?}");
    assert!(
        titles[..2].contains(&"Printer offline")
            && titles[..2].contains(&"Printer drivers (draft)"),
        "{titles:?}"
    );
    assert_eq!(titles[2], "VPN disconnects at night");
    // Every term must match.
    assert_eq!(
        search(&base, &token, &q("printer cable")).await,
        [("Printer offline".to_owned(), "en".to_owned())]
    );
    assert!(
        search(&base, &token, &q("printer nonexistentword"))
            .await
            .is_empty()
    );
    // States.
    let published = search(&base, &token, &format!("{}&state=published", q("printer"))).await;
    assert_eq!(published.len(), 2);
    // The reader's language, when the article matched there too.
    assert_eq!(
        search(&base, &token, &format!("{}&lang=ko", q("케이블"))).await,
        [("모니터가 깜박임".to_owned(), "ko".to_owned())]
    );
    let both = search(&base, &token, &q("Monitor")).await;
    assert_eq!(both, [("Monitor flickers".to_owned(), "en".to_owned())]);
    // LIKE's own characters are taken literally.
    assert!(search(&base, &token, &q("%")).await.is_empty());
    assert!(search(&base, &token, &q("_")).await.is_empty());
    // Without a query: the most recent first.
    assert_eq!(
        search(&base, &token, "limit=1").await[0].0,
        "Monitor flickers"
    );

    // Sanitized Markdown, in the article and the preview.
    let evil = "# Fix\n\n<script>alert(1)</script>\n\n<img src=x onerror=alert(2)>\n\n[x](javascript:alert(3))\n\n![p](https://tracker.example/p.png)";
    let (status, a) = call(
        Method::POST,
        url.clone(),
        &token,
        Some(article("published", &[("en", "Evil", evil)])),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{a}");
    let id = a["id"].as_i64().unwrap();
    let (_, got) = call(Method::GET, format!("{url}/{id}"), &token, None).await;
    let html = got["texts"][0]["html"].as_str().unwrap();
    assert!(html.contains("<h1>Fix</h1>"), "{html}");
    for bad in ["<script", "onerror", "href=\"javascript", "tracker.example"] {
        assert!(!html.contains(bad), "{bad} in {html}");
    }
    assert_eq!(
        got["texts"][0]["body"], evil,
        "the Markdown is kept as written"
    );
    let (status, p) = call(
        Method::POST,
        format!("{base}/api/v1/kb/preview"),
        &token,
        Some(json!({"markdown": "**b**<script>x</script>"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(p["html"], "<p><strong>b</strong></p>\n");

    // Bad input: a precise 4xx, nothing stored.
    for (body, why) in [
        (json!({"state": "published", "texts": []}), "no text"),
        (
            article("published", &[("en", "A", ""), ("en", "B", "")]),
            "a language twice",
        ),
        (
            article("published", &[("en", &"x".repeat(201), "")]),
            "title too long",
        ),
        (article("published", &[("en", "  ", "")]), "empty title"),
        (
            article("published", &[("fr", "Bonjour", "")]),
            "unknown language",
        ),
        (
            json!({"state": "secret", "texts": [{"lang": "en", "title": "t", "body": ""}]}),
            "unknown state",
        ),
        (
            json!({"state": "draft", "texts": [{"lang": "en", "title": "t", "body": ""}], "owner": 1}),
            "unknown field",
        ),
        (
            article("published", &[("en", "NUL", "a\u{0}b")]),
            "a NUL character (PostgreSQL cannot store one)",
        ),
    ] {
        let (status, err) = call(Method::POST, url.clone(), &token, Some(body)).await;
        assert!(
            status == StatusCode::UNPROCESSABLE_ENTITY || status == StatusCode::BAD_REQUEST,
            "{why}: {status} {err}"
        );
        assert!(err["error"]["code"].is_string(), "{why}: {err}");
    }
    let (status, _) = call(Method::GET, format!("{url}?limit=0"), &token, None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, err) = call(Method::GET, format!("{url}?q=a%00b"), &token, None).await;
    assert_eq!(
        (status, &err["error"]["code"]),
        (StatusCode::BAD_REQUEST, &json!("invalid_query")),
        "{err}"
    );
    let (status, _) = call(Method::GET, url.clone(), "", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = call(Method::GET, format!("{url}/999999"), &token, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Two technicians save the same version at once: one wins.
    let mut edit = article("published", &[("en", "Evil, fixed", "Fixed.")]);
    edit["version"] = json!(1);
    let mut other = article("published", &[("en", "Evil, fixed differently", "Other.")]);
    other["version"] = json!(1);
    let ((s1, a1), (s2, a2)) = tokio::join!(
        call(Method::PUT, format!("{url}/{id}"), &token, Some(edit)),
        call(Method::PUT, format!("{url}/{id}"), &token, Some(other))
    );
    let mut statuses = [s1, s2];
    statuses.sort();
    assert_eq!(
        statuses,
        [StatusCode::OK, StatusCode::CONFLICT],
        "{a1} {a2}"
    );
    let loser = if s1 == StatusCode::CONFLICT { a1 } else { a2 };
    assert_eq!(loser["error"]["code"], "version_conflict");
    let (_, now) = call(Method::GET, format!("{url}/{id}"), &token, None).await;
    assert_eq!(now["version"], 2);
    // The old title is no longer found, the new one is.
    assert!(
        search(&base, &token, &q("Evil"))
            .await
            .iter()
            .all(|h| h.0.starts_with("Evil, fixed"))
    );
    // Linked to a ticket: listed, linked again without change, unlinked;
    // and gone with the article.
    let (status, ticket) = call(
        Method::POST,
        format!("{base}/api/v1/tickets"),
        &token,
        Some(json!({"subject": "Cannot print", "channel": "phone", "requester_name": "Mia"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{ticket}");
    let ticket = ticket["ticket"]["id"].as_i64().unwrap();
    let links = format!("{base}/api/v1/tickets/{ticket}/articles");
    for _ in 0..2 {
        let (status, err) = call(Method::PUT, format!("{links}/{id}"), &token, None).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{err}");
    }
    let (_, linked) = call(Method::GET, links.clone(), &token, None).await;
    assert_eq!(linked.as_array().unwrap().len(), 1, "{linked}");
    assert!(
        linked[0]["title"]
            .as_str()
            .unwrap()
            .starts_with("Evil, fixed")
    );
    for (target, why) in [
        (format!("{links}/999999"), "no article"),
        (
            format!("{base}/api/v1/tickets/999999/articles/{id}"),
            "no ticket",
        ),
    ] {
        let (status, err) = call(Method::PUT, target, &token, None).await;
        assert_eq!(
            (status, &err["error"]["code"]),
            (StatusCode::NOT_FOUND, &json!("not_found")),
            "{why}"
        );
    }
    let (status, _) = call(Method::PUT, format!("{links}/{id}"), "", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = call(Method::DELETE, format!("{links}/{id}"), &token, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = call(Method::DELETE, format!("{links}/{id}"), &token, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "not linked any more");
    call(Method::PUT, format!("{links}/{id}"), &token, None).await;

    let (status, _) = call(Method::DELETE, format!("{url}/{id}"), &token, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(search(&base, &token, &q("Evil")).await.is_empty());
    let (_, linked) = call(Method::GET, links, &token, None).await;
    assert_eq!(linked, json!([]), "a deleted article is linked nowhere");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_knowledge_base() {
    let (s, _dir) = common::sqlite().await;
    knowledge_base(s).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_knowledge_base() {
    if let Some(s) = common::postgres().await {
        knowledge_base(s).await;
    }
}
