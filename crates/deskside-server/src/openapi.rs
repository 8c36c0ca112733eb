//! The OpenAPI 3.1 document, generated from the code that serves the API.
//!
//! Every route is registered through [`DocRouter::route`] together with the
//! description of its operations, so a route cannot exist without being
//! documented. Schemas come from the same `schemars` derives that produce
//! `docs/schema/`; responses use the serialize contract, request bodies the
//! deserialize one.

use std::collections::BTreeMap;

use axum::Router;
use axum::routing::MethodRouter;
use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde_json::{Map, Value, json};

type SchemaFn = fn(&mut SchemaGenerator) -> Schema;

fn schema_of<T: JsonSchema>(g: &mut SchemaGenerator) -> Schema {
    g.subschema_for::<T>()
}

/// Who may call an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// Anyone.
    Public,
    /// An enrolled device (bearer device token).
    Device,
    /// A technician or administrator (API token or session).
    User,
    /// An administrator.
    Admin,
}

/// A request body.
#[derive(Clone, Copy)]
enum Body {
    None,
    Json(SchemaFn),
    /// The ticket submission: a JSON `ticket` part, files beside it.
    TicketMultipart(SchemaFn),
}

/// A response body.
#[derive(Clone, Copy)]
enum Reply {
    Empty,
    Json(SchemaFn),
    Text,
    Binary,
    EventStream(SchemaFn),
}

/// One operation (method on a path).
#[derive(Clone)]
pub struct Op {
    method: &'static str,
    summary: &'static str,
    auth: Auth,
    body: Body,
    query: Option<SchemaFn>,
    success: Vec<(u16, &'static str, Reply)>,
    errors: Vec<u16>,
    headers: Vec<(&'static str, &'static str, Value, bool)>,
}

impl Op {
    fn new(method: &'static str, summary: &'static str) -> Self {
        Self {
            method,
            summary,
            auth: Auth::Public,
            body: Body::None,
            query: None,
            success: Vec::new(),
            errors: Vec::new(),
            headers: Vec::new(),
        }
    }

    /// A GET operation.
    pub fn get(summary: &'static str) -> Self {
        Self::new("get", summary)
    }
    /// A POST operation.
    pub fn post(summary: &'static str) -> Self {
        Self::new("post", summary)
    }
    /// A PUT operation.
    pub fn put(summary: &'static str) -> Self {
        Self::new("put", summary)
    }
    /// A PATCH operation.
    pub fn patch(summary: &'static str) -> Self {
        Self::new("patch", summary)
    }
    /// A DELETE operation.
    pub fn delete(summary: &'static str) -> Self {
        Self::new("delete", summary)
    }

    /// Who may call it.
    pub fn auth(mut self, auth: Auth) -> Self {
        self.auth = auth;
        self
    }
    /// A JSON request body.
    pub fn json<T: JsonSchema>(mut self) -> Self {
        self.body = Body::Json(schema_of::<T>);
        self
    }
    /// The multipart ticket submission whose `ticket` part is `T`.
    pub fn ticket_multipart<T: JsonSchema>(mut self) -> Self {
        self.body = Body::TicketMultipart(schema_of::<T>);
        self
    }
    /// Query parameters: the properties of `T`.
    pub fn query<T: JsonSchema>(mut self) -> Self {
        self.query = Some(schema_of::<T>);
        self
    }
    /// A JSON answer with this status.
    pub fn reply<T: JsonSchema>(mut self, status: u16, what: &'static str) -> Self {
        self.success
            .push((status, what, Reply::Json(schema_of::<T>)));
        self
    }
    /// An answer without a body.
    pub fn empty(mut self, status: u16, what: &'static str) -> Self {
        self.success.push((status, what, Reply::Empty));
        self
    }
    /// A plain-text answer.
    pub fn text(mut self, what: &'static str) -> Self {
        self.success.push((200, what, Reply::Text));
        self
    }
    /// A Server-Sent Events stream whose events carry `T` as JSON data.
    pub fn events<T: JsonSchema>(mut self, what: &'static str) -> Self {
        self.success
            .push((200, what, Reply::EventStream(|g| g.subschema_for::<T>())));
        self
    }
    /// A file download.
    pub fn binary(mut self, what: &'static str) -> Self {
        self.success.push((200, what, Reply::Binary));
        self
    }
    /// Error statuses beyond the ones every operation of its kind has.
    pub fn errors(mut self, statuses: &[u16]) -> Self {
        self.errors.extend_from_slice(statuses);
        self
    }
    /// A required request header.
    pub fn header(mut self, name: &'static str, description: &'static str, schema: Value) -> Self {
        self.headers.push((name, description, schema, true));
        self
    }
    /// An optional request header.
    pub fn optional_header(
        mut self,
        name: &'static str,
        description: &'static str,
        schema: Value,
    ) -> Self {
        self.headers.push((name, description, schema, false));
        self
    }
}

/// An axum router that documents what it routes.
pub struct DocRouter<St> {
    router: Router<St>,
    ops: Vec<(String, Op)>,
}

impl<St: Clone + Send + Sync + 'static> Default for DocRouter<St> {
    fn default() -> Self {
        Self {
            router: Router::new(),
            ops: Vec::new(),
        }
    }
}

impl<St: Clone + Send + Sync + 'static> DocRouter<St> {
    /// Routes `path` to `handlers`, documented by `ops` (one per method).
    pub fn route(
        mut self,
        path: &'static str,
        handlers: MethodRouter<St>,
        ops: impl IntoIterator<Item = Op>,
    ) -> Self {
        self.router = self.router.route(path, handlers);
        self.ops
            .extend(ops.into_iter().map(|op| (path.to_owned(), op)));
        self
    }

    /// The router and the OpenAPI document.
    pub fn finish(self) -> (Router<St>, Value) {
        let doc = document(&self.ops);
        (self.router, doc)
    }
}

fn error_text(status: u16) -> &'static str {
    match status {
        400 => "Malformed request (JSON syntax, query, header or multipart)",
        401 => "Missing, unknown or revoked credentials",
        403 => "Not allowed for this role, or the CSRF token is missing",
        404 => "No such resource (or not yours)",
        408 => "The request took too long",
        409 => "Conflicts with the resource's state",
        413 => "The body is too large",
        415 => "Wrong content type",
        422 => "The body is well-formed but invalid",
        429 => "Rate-limited; wait Retry-After seconds",
        503 => "The desk's storage is unavailable; retry",
        _ => "Error",
    }
}

/// Builds the document for these operations.
fn document(ops: &[(String, Op)]) -> Value {
    let settings = |s: SchemaSettings| {
        s.with(|s| {
            s.definitions_path = "/components/schemas".into();
            s.meta_schema = None;
        })
    };
    let mut out_gen = settings(SchemaSettings::draft2020_12().for_serialize()).into_generator();
    let mut in_gen = settings(SchemaSettings::draft2020_12().for_deserialize()).into_generator();
    let mut paths: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    for (path, op) in ops {
        let mut o = Map::new();
        o.insert("summary".into(), op.summary.into());
        o.insert(
            "operationId".into(),
            format!("{}{}", op.method, path.replace(['/', '{', '}', '-'], "_")).into(),
        );
        let mut params: Vec<Value> = path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| {
                json!({"name": name, "in": "path", "required": true,
                       "schema": {"type": "integer", "format": "int64", "minimum": 1, "examples": [1]}})
            })
            .collect();
        if let Some(q) = op.query {
            let schema = q(&mut in_gen);
            params.extend(query_parameters(&schema, &mut in_gen));
        }
        for (name, description, schema, required) in &op.headers {
            params.push(json!({"name": name, "in": "header", "required": required,
                "description": description, "schema": schema}));
        }
        if !params.is_empty() {
            o.insert("parameters".into(), params.into());
        }
        match op.body {
            Body::None => {}
            Body::Json(f) => {
                o.insert(
                    "requestBody".into(),
                    json!({"required": true, "content": {"application/json": {"schema": f(&mut in_gen)}}}),
                );
            }
            Body::TicketMultipart(f) => {
                o.insert(
                    "requestBody".into(),
                    json!({"required": true, "content": {"multipart/form-data": {
                        "schema": {"type": "object", "required": ["ticket"], "properties": {
                            "ticket": f(&mut in_gen),
                            "diagnostics": {"type": "string", "contentMediaType": "application/octet-stream",
                                "description": "The diagnostics bundle (at most 4 MiB)"},
                            "attachment": {"type": "array", "maxItems": 10, "items": {"type": "string",
                                "contentMediaType": "application/octet-stream"},
                                "description": "Files, each at most 10 MiB"}}},
                        "encoding": {"ticket": {"contentType": "application/json"}}}}}),
                );
            }
        }
        let mut responses = Map::new();
        for (status, what, reply) in &op.success {
            let content = match reply {
                Reply::Empty => None,
                Reply::Json(f) => Some(json!({"application/json": {"schema": f(&mut out_gen)}})),
                Reply::Text => Some(json!({"text/plain": {"schema": {"type": "string"}}})),
                // The stream as text; each event's data is the schema
                // named by the extension (and listed in the components).
                Reply::EventStream(f) => Some(json!({"text/event-stream": {
                    "schema": {"type": "string"},
                    "x-event-data": f(&mut out_gen),
                }})),
                // The stored content type of the file, whatever it is.
                Reply::Binary => Some(json!({"*/*": {"schema": {"type": "string",
                    "contentMediaType": "application/octet-stream"}}})),
            };
            let mut r = json!({"description": what});
            if let Some(c) = content {
                r["content"] = c;
            }
            responses.insert(status.to_string(), r);
        }
        let mut errors = op.errors.clone();
        errors.extend([400, 408, 503]);
        if op.auth != Auth::Public {
            errors.push(401);
        }
        if matches!(op.auth, Auth::User | Auth::Admin) {
            errors.push(403);
        }
        if path.contains('{') {
            errors.push(404);
        }
        if !matches!(op.body, Body::None) {
            errors.extend([413, 415, 422]);
        }
        errors.sort_unstable();
        errors.dedup();
        let error_schema = out_gen.subschema_for::<deskside_protocol::ErrorBody>();
        for status in errors {
            responses.insert(
                status.to_string(),
                json!({"description": error_text(status),
                       "content": {"application/json": {"schema": error_schema}}}),
            );
        }
        o.insert("responses".into(), responses.into());
        let security = match op.auth {
            Auth::Public => json!([]),
            Auth::Device => json!([{"deviceToken": []}]),
            Auth::User | Auth::Admin => json!([{"apiToken": []}, {"session": []}]),
        };
        o.insert("security".into(), security);
        if op.auth == Auth::Admin {
            o.insert("description".into(), "Administrators only.".into());
        }
        o.insert(
            "tags".into(),
            json!([match op.auth {
                Auth::Public => "service",
                Auth::Device => "devices",
                Auth::User | Auth::Admin => "technicians",
            }]),
        );
        paths
            .entry(path.clone())
            .or_default()
            .insert(op.method.into(), o.into());
    }
    let schemas = merge_definitions(
        out_gen.take_definitions(true),
        in_gen.take_definitions(true),
    );
    let renamed = schemas.1;
    for op in paths.values_mut().flat_map(|p| p.values_mut()) {
        for part in ["requestBody", "parameters"] {
            if let Some(v) = op.get_mut(part) {
                rewrite_refs(v, &renamed);
            }
        }
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Deskside desk API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The API of the Deskside desk server: devices (agents) under /api/v1/agent, \
                technicians and administrators under the rest of /api/v1. Every error is \
                {\"error\": {\"code\", \"message\"}}.",
            "license": {"name": "Apache-2.0 OR MIT"},
        },
        "paths": paths,
        "components": {
            "schemas": schemas.0,
            "securitySchemes": {
                "deviceToken": {"type": "http", "scheme": "bearer",
                    "description": "The device token from POST /api/v1/enroll"},
                "apiToken": {"type": "http", "scheme": "bearer",
                    "description": "A technician API token (`deskside-server token create`)"},
                "session": {"type": "apiKey", "in": "cookie", "name": "deskside_session",
                    "description": "The browser session from POST /api/v1/auth/login; changes also need X-CSRF-Token"},
            },
        },
    })
}

/// The query parameters an object schema describes.
fn query_parameters(schema: &Schema, g: &mut SchemaGenerator) -> Vec<Value> {
    // A query struct is referenced; take its definition out, as it is no
    // document of its own.
    let obj = schema
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.rsplit('/').next())
        .and_then(|name| g.definitions_mut().remove(name))
        .unwrap_or_else(|| schema.clone().to_value());
    let required: Vec<&str> = obj
        .get("required")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    obj.get("properties")
        .and_then(Value::as_object)
        .map(|props| {
            props
                .iter()
                .map(|(name, s)| {
                    let mut s = s.clone();
                    let description = s
                        .as_object_mut()
                        .and_then(|m| m.remove("description"))
                        .unwrap_or_default();
                    json!({"name": name, "in": "query", "required": required.contains(&name.as_str()),
                           "description": description, "schema": s})
                })
                .collect()
        })
        .unwrap_or_default()
}

/// One `components/schemas` from the serialize and deserialize
/// generators. Most types read and write alike; where a type's two schemas
/// differ, the request-side one is named `…Input` and its references are
/// rewritten.
fn merge_definitions(out: Map<String, Value>, input: Map<String, Value>) -> (Value, Vec<String>) {
    let renamed: Vec<String> = input
        .iter()
        .filter(|(k, v)| out.get(*k).is_some_and(|o| o != *v))
        .map(|(k, _)| k.clone())
        .collect();
    let mut all = out;
    for (k, mut v) in input {
        rewrite_refs(&mut v, &renamed);
        if renamed.contains(&k) {
            all.insert(format!("{k}Input"), v);
        } else {
            all.entry(k).or_insert(v);
        }
    }
    (Value::Object(all), renamed)
}

fn rewrite_refs(v: &mut Value, renamed: &[String]) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get_mut("$ref")
                && let Some(name) = r.strip_prefix("#/components/schemas/")
                && renamed.iter().any(|n| n == name)
            {
                *r = format!("{r}Input");
            }
            m.values_mut().for_each(|x| rewrite_refs(x, renamed));
        }
        Value::Array(a) => a.iter_mut().for_each(|x| rewrite_refs(x, renamed)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(JsonSchema, serde::Serialize, serde::Deserialize)]
    struct Thing {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        a: Option<u8>,
        #[serde(default)]
        b: u8,
    }

    #[test]
    fn a_type_read_and_written_differently_gets_an_input_schema() {
        let ops = vec![(
            "/things/{id}".to_owned(),
            Op::put("Replace a thing")
                .auth(Auth::User)
                .json::<Thing>()
                .reply::<Thing>(200, "The thing"),
        )];
        let doc = document(&ops);
        let schemas = &doc["components"]["schemas"];
        // Written, `b` is always there; read, it may be left out.
        assert_eq!(schemas["Thing"]["required"], json!(["b"]));
        assert!(schemas["ThingInput"].get("required").is_none());
        let op = &doc["paths"]["/things/{id}"]["put"];
        assert_eq!(
            op["requestBody"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/ThingInput"
        );
        assert_eq!(op["parameters"][0]["name"], "id");
        for status in ["200", "401", "403", "404", "413", "415", "422", "503"] {
            assert!(op["responses"].get(status).is_some(), "{status}");
        }
    }
}
