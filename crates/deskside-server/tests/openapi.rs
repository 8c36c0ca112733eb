//! The OpenAPI document: checked in under `docs/`, served by the server,
//! and describing exactly the routes the server has.
//! Regenerate with `DESKSIDE_UPDATE_SCHEMAS=1 cargo test -p deskside-server --test openapi`.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::PathBuf;

use deskside_server::api::{self, Limits, openapi_document, openapi_text, router};

fn checked_in() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json")
}

#[test]
fn checked_in_document_is_fresh() {
    let want = openapi_text();
    if std::env::var_os("DESKSIDE_UPDATE_SCHEMAS").is_some() {
        std::fs::write(checked_in(), &want).unwrap();
    }
    let have = std::fs::read_to_string(checked_in()).unwrap_or_default();
    assert!(
        have == want,
        "docs/openapi.json is stale; regenerate with \
         `DESKSIDE_UPDATE_SCHEMAS=1 cargo test -p deskside-server --test openapi`"
    );
}

#[tokio::test]
async fn served_document_matches_and_every_operation_is_routed() {
    let (store, dir) = common::sqlite().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let blobs = deskside_server::blobs::DiskBlobs::new(dir.path().join("blobs")).unwrap();
    tokio::spawn(api::serve(
        listener,
        router(store, blobs, Limits::default()),
        std::future::pending(),
    ));
    let http = common::http();
    let served = http
        .get(format!("{base}/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let served: serde_json::Value = serde_json::from_slice(&served).unwrap();
    let doc = openapi_document();
    assert_eq!(served, doc);
    assert_eq!(doc["openapi"], "3.1.0");

    let paths = doc["paths"].as_object().unwrap();
    let mut operations = 0;
    for (path, ops) in paths {
        let concrete = path
            .split('/')
            .map(|seg| if seg.starts_with('{') { "1" } else { seg })
            .collect::<Vec<_>>()
            .join("/");
        for (method, op) in ops.as_object().unwrap() {
            operations += 1;
            let method: reqwest::Method = method.to_uppercase().parse().unwrap();
            let resp = http
                .request(method.clone(), format!("{base}{concrete}"))
                .send()
                .await
                .unwrap();
            let status = resp.status().as_u16();
            let body: serde_json::Value =
                serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap_or_default();
            let routed =
                status != 405 && !(status == 404 && body["error"]["message"] == "no such endpoint");
            assert!(
                routed,
                "{method} {path} is documented but not routed ({status})"
            );
            let documented = op["responses"].get(status.to_string()).is_some();
            assert!(
                documented,
                "{method} {path} answered {status}, undocumented"
            );
            let secured = !op["security"].as_array().unwrap().is_empty();
            assert_eq!(
                secured,
                status == 401,
                "{method} {path} without credentials: {status}"
            );
        }
    }
    assert!(operations >= 30, "only {operations} operations");
    // An undocumented path is not routed.
    let r = http
        .get(format!("{base}/api/v1/nothing"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

/// Clients branch on error codes, so the document lists them as an enum:
/// the typed list in `deskside-protocol`, nothing else.
#[test]
fn error_codes_are_an_enum() {
    let doc = openapi_document();
    let text = doc.to_string();
    // A plain `enum`, or (with documented variants) `oneOf` one `const` each.
    let codes: Vec<String> = doc["components"]["schemas"]["ErrorCode"]["enum"]
        .as_array()
        .map(|v| v.iter().map(|c| c.as_str().unwrap().to_owned()).collect())
        .unwrap_or_else(|| {
            doc["components"]["schemas"]["ErrorCode"]["oneOf"]
                .as_array()
                .unwrap_or_else(|| panic!("no ErrorCode enum in the document: {text:.400}"))
                .iter()
                .flat_map(|v| {
                    v["enum"]
                        .as_array()
                        .cloned()
                        .unwrap_or_else(|| vec![v["const"].clone()])
                })
                .map(|c| c.as_str().unwrap().to_owned())
                .collect()
        });
    for want in [
        "not_found",
        "version_conflict",
        "idempotency_key_reused",
        "invalid_key_proof",
    ] {
        assert!(
            codes.iter().any(|c| c == want),
            "{want} missing from {codes:?}"
        );
    }
    let parsed: deskside_protocol::ErrorCode =
        serde_json::from_value(serde_json::json!("a_code_from_the_future")).unwrap();
    assert_eq!(parsed, deskside_protocol::ErrorCode::Unknown);
}
