//! The knowledge base through the HTTP API on SQLite and PostgreSQL:
//! search in Japanese, Korean and English (no word spaces needed; short
//! terms too), a title match ranked before a body match, the reader's
//! language, states, sanitized Markdown, validation, and two technicians
//! saving one article at once (one wins, the other is told).

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::{call, file_ticket};
use deskside_server::api::Limits;
use deskside_server::credentials::{hash_token, new_token};
use deskside_server::store::{Role, Store};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn start<S: Store>(store: S) -> String {
    common::serve(
        store,
        Limits {
            request_timeout: Duration::from_secs(10),
            ..Limits::default()
        },
    )
    .await
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

/// A check-in that asks for articles in `lang`, keeping `version`: the
/// answer's `kb` (absent when unchanged). The answer comes gzipped.
async fn checkin_kb(base: &str, device: &str, lang: &str, version: Option<&str>) -> Value {
    let mut body = json!({"kb_lang": lang});
    if let Some(v) = version {
        body["kb_version"] = json!(v);
    }
    // A client that leaves the answer compressed, to see that it is.
    let raw = reqwest::Client::builder().no_gzip().build().unwrap();
    let r = raw
        .post(format!("{base}/api/v1/agent/checkin"))
        .header("authorization", format!("Bearer {device}"))
        .header("accept-encoding", "gzip")
        .header("content-type", "application/json")
        .body(serde_json::to_vec(&body).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.headers()
            .get("content-encoding")
            .map(|v| v.to_str().unwrap().to_owned()),
        Some("gzip".to_owned()),
        "check-in answers are compressed"
    );
    let bytes = r.bytes().await.unwrap();
    let mut plain = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut plain).unwrap();
    let answer: Value = serde_json::from_slice(&plain).unwrap();
    assert!(
        answer["features"]
            .as_array()
            .unwrap()
            .contains(&json!("knowledge_base"))
    );
    answer["kb"].clone()
}

async fn enroll(base: &str, key: &str) -> String {
    let (status, enrolled) = call(
        Method::POST,
        format!("{base}/api/v1/enroll"),
        "",
        Some(json!({"enroll_secret": "kb-secret", "device": {"device_key": key, "hostname": key}})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{enrolled}");
    enrolled["device_token"].as_str().unwrap().to_owned()
}

/// Devices get the published articles in their language with the
/// check-in answer, again only when they changed; tray reports record
/// what was shown and what solved it, a ticket keeps what its employee
/// saw, and the deflection figures count them.
async fn device_articles_and_deflection<S: Store>(s: S) {
    let base = start(s.clone()).await;
    let user = s
        .create_user("kb-tech@example.com", Role::Technician, None)
        .await
        .unwrap();
    let token = new_token("dsk_api");
    s.create_api_token(user.id, &hash_token(&token), None)
        .await
        .unwrap();
    s.create_enroll_secret(Some("kb"), &hash_token("kb-secret"), None)
        .await
        .unwrap();
    let url = format!("{base}/api/v1/kb/articles");
    let mut ids = Vec::new();
    for (state, texts) in [
        (
            "published",
            vec![
                ("en", "Printer does not print", "Check the **paper tray**."),
                (
                    "ko",
                    "프린터가 인쇄하지 않아요",
                    "용지 트레이를 확인하세요.",
                ),
            ],
        ),
        (
            "published",
            vec![(
                "en",
                "VPN drops",
                "Restart the client.<script>alert(1)</script>",
            )],
        ),
        (
            "published",
            vec![("ja", "パスワードを忘れた", "ポータルで再設定。")],
        ),
        ("internal", vec![("en", "Internal runbook", "Only for IT.")]),
        ("draft", vec![("en", "Draft", "Not yet.")]),
    ] {
        let (status, a) = call(
            Method::POST,
            url.clone(),
            &token,
            Some(article(state, &texts)),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{a}");
        ids.push(a["id"].as_i64().unwrap());
    }
    let laptop = enroll(&base, "kb-laptop").await;
    let other = enroll(&base, "kb-other").await;

    let kb = checkin_kb(&base, &laptop, "ko", None).await;
    assert_eq!(kb["lang"], "ko");
    let got: Vec<(i64, String, String)> = kb["articles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["id"].as_i64().unwrap(),
                a["lang"].as_str().unwrap().to_owned(),
                a["title"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let mut sorted = got.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        vec![
            (ids[0], "ko".into(), "프린터가 인쇄하지 않아요".into()),
            (ids[1], "en".into(), "VPN drops".into()),
        ],
        "published only; Korean where written, else English; a Japanese-only article is left out"
    );
    let vpn = kb["articles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == ids[1])
        .unwrap();
    assert!(!vpn["html"].as_str().unwrap().contains("<script"), "{vpn}");
    assert!(vpn["text"].as_str().unwrap().contains("Restart the client"));
    assert_eq!(vpn["checks"], json!(["disk_space"]));
    let version = kb["version"].as_str().unwrap().to_owned();

    // Unchanged: nothing sent. Another language: its own version.
    assert_eq!(
        checkin_kb(&base, &laptop, "ko", Some(&version)).await,
        Value::Null
    );
    let ja = checkin_kb(&base, &laptop, "ja", Some(&version)).await;
    assert_eq!(ja["articles"].as_array().unwrap().len(), 3, "{ja}");

    // An edit, an unpublished article: a new version without it.
    let (status, _) = call(
        Method::PUT,
        format!("{url}/{}", ids[1]),
        &token,
        Some(article("internal", &[("en", "VPN drops", "Restart.")])),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let kb = checkin_kb(&base, &laptop, "ko", Some(&version)).await;
    assert_ne!(kb["version"].as_str().unwrap(), version);
    assert_eq!(kb["articles"].as_array().unwrap().len(), 1, "{kb}");

    // Tray reports: begun, then solved; a retry changes nothing.
    let reports = format!("{base}/api/v1/agent/reports");
    let started = "2026-12-01T09:00:00Z";
    let begun = json!({"id": "6f1c0e4e-1111-4c3e-9a7e-000000000001", "started_at": started});
    let (status, body) = call(Method::POST, reports.clone(), &laptop, Some(begun.clone())).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let solved = json!({"id": "6f1c0e4e-1111-4c3e-9a7e-000000000001", "started_at": started,
        "shown": [ids[0], ids[2]], "solved_by": ids[0]});
    for _ in 0..2 {
        let (status, _) = call(Method::POST, reports.clone(), &laptop, Some(solved.clone())).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
    }
    // A late copy of the first stage does not undo the second.
    let (status, _) = call(Method::POST, reports.clone(), &laptop, Some(begun)).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    // Another device cannot take that report over.
    let (status, body) = call(Method::POST, reports.clone(), &other, Some(solved.clone())).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["error"]["code"], "already_exists");
    for (bad, why) in [
        (json!({"id": "../x", "started_at": started}), "id"),
        (
            json!({"id": "a", "started_at": "2999-01-01T00:00:00Z"}),
            "future",
        ),
        (
            json!({"id": "a", "started_at": started, "shown": (0..21).collect::<Vec<_>>()}),
            "20",
        ),
        (
            json!({"id": "a", "started_at": started, "extra": 1}),
            "unknown field",
        ),
    ] {
        let (status, body) = call(Method::POST, reports.clone(), &laptop, Some(bad)).await;
        assert!(status.is_client_error(), "{why}: {status} {body}");
        assert!(
            ["invalid_body", "invalid_json"].contains(&body["error"]["code"].as_str().unwrap()),
            "{body}"
        );
        assert!(
            body["error"]["message"].as_str().unwrap().contains(why),
            "{body}"
        );
    }
    let (status, _) = call(Method::POST, reports.clone(), "", Some(solved.clone())).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // A device (or a stolen token) cannot fill the table: new reports are
    // capped per day; a later stage of a known one still goes.
    let cap = deskside_server::api::MAX_REPORTS_PER_DAY;
    for i in 0..cap {
        let (status, body) = call(
            Method::POST,
            reports.clone(),
            &other,
            Some(json!({"id": format!("flood-{i}"), "started_at": started})),
        )
        .await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{i}: {body}");
    }
    let (status, body) = call(
        Method::POST,
        reports.clone(),
        &other,
        Some(json!({"id": "flood-one-more", "started_at": started})),
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(body["error"]["code"], "rate_limited");
    let (status, _) = call(
        Method::POST,
        reports.clone(),
        &other,
        Some(
            json!({"id": "flood-0", "started_at": started, "shown": [ids[0]], "solved_by": ids[0]}),
        ),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::NO_CONTENT,
        "a known report's next stage"
    );

    // A report that became a ticket; the ticket shows what was shown.
    let (status, ticket) = file_ticket(
        &base,
        &laptop,
        "kb-ticket-1",
        json!({"subject": "Printer still broken", "category": "printer", "urgency": "high",
            "report": {"id": "6f1c0e4e-1111-4c3e-9a7e-000000000002", "started_at": started, "shown": [ids[0]]}}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{ticket}");
    let number = ticket["id"].as_i64().unwrap();
    let (status, shown) = call(
        Method::GET,
        format!("{base}/api/v1/tickets/{number}/report?lang=ko"),
        &token,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{shown}");
    assert_eq!(shown["articles"][0]["id"], ids[0]);
    assert_eq!(shown["articles"][0]["title"], "프린터가 인쇄하지 않아요");
    let (_, none) = call(
        Method::GET,
        format!("{base}/api/v1/tickets/{number}/report?lang=xx"),
        &token,
        None,
    )
    .await;
    assert_eq!(none["error"]["code"], "invalid_query");
    // A report field that breaks the rules refuses the ticket whole.
    let (status, body) = file_ticket(
        &base,
        &laptop,
        "kb-ticket-2",
        json!({"subject": "x", "report": {"id": "bad id", "started_at": started}}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");

    let (status, d) = call(
        Method::GET,
        format!("{base}/api/v1/reports/deflection?from=2026-11-01&to=2026-12-31&lang=en"),
        &token,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{d}");
    assert_eq!(
        (
            d["started"].as_u64(),
            d["solved"].as_u64(),
            d["ticketed"].as_u64()
        ),
        (Some(2 + 200), Some(2), Some(1)),
        "the flood's reports count as begun, one of them solved"
    );
    assert_eq!(d["rate"], json!(2.0 / 202.0));
    assert_eq!(
        d["useful"],
        json!([{"id": ids[0], "title": "Printer does not print", "solved": 2, "shown": 3}])
    );
    let (status, d) = call(
        Method::GET,
        format!("{base}/api/v1/reports/deflection?from=2026-12-02&to=2026-12-31"),
        &token,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(d["started"], 0, "reports count in the period they began");
    assert_eq!(d.get("rate"), None);
    // Devices do not read the figures.
    let (status, _) = call(
        Method::GET,
        format!("{base}/api/v1/reports/deflection"),
        &laptop,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_device_articles_and_deflection() {
    let (s, _dir) = common::sqlite().await;
    device_articles_and_deflection(s).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_device_articles_and_deflection() {
    if let Some(s) = common::postgres().await {
        device_articles_and_deflection(s).await;
    }
}
