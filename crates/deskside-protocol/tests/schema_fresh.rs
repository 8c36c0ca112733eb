//! The schemas under `docs/schema/` must match the types. Regenerate with
//! `DESKSIDE_UPDATE_SCHEMAS=1 cargo test -p deskside-protocol --test schema_fresh`.

use std::path::PathBuf;

fn schema_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/schema")
}

#[test]
fn published_schemas_are_fresh() {
    let update = std::env::var_os("DESKSIDE_UPDATE_SCHEMAS").is_some();
    let mut stale = Vec::new();
    for (name, schema) in deskside_protocol::schema::all() {
        let path = schema_dir().join(name);
        let want = deskside_protocol::schema::render(&schema);
        if update {
            std::fs::write(&path, &want).expect("write schema");
            continue;
        }
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        if have != want {
            stale.push(name);
        }
    }
    assert!(
        stale.is_empty(),
        "stale schemas in docs/schema: {stale:?}; regenerate with \
         `DESKSIDE_UPDATE_SCHEMAS=1 cargo test -p deskside-protocol --test schema_fresh`"
    );
}

#[test]
fn schemas_describe_the_documents() {
    let all = deskside_protocol::schema::all();
    let inv = &all[0].1;
    let json = serde_json::to_value(inv).unwrap();
    assert_eq!(json["title"], "Inventory");
    let required: Vec<&str> = json["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    // Only what every document must carry is required.
    assert_eq!(required, ["collected_at"]);
}
