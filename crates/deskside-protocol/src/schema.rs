//! JSON Schemas of the documents on the wire, generated from the types.
//!
//! The generated files are kept under `docs/schema/` for people and other
//! implementations to read; a test fails when they are stale.

use schemars::{JsonSchema, Schema, schema_for};

use crate::{
    CheckResult, CheckSpec, EnrollRequest, EnrollResponse, ErrorBody, Inventory, InventoryDiff,
    MetricRollup, MetricSample, Policy,
};

/// Every top-level document with the file name its schema is published as.
pub fn all() -> Vec<(&'static str, Schema)> {
    fn one<T: JsonSchema>(name: &'static str) -> (&'static str, Schema) {
        (name, schema_for!(T))
    }
    vec![
        one::<Inventory>("inventory.schema.json"),
        one::<InventoryDiff>("inventory-diff.schema.json"),
        one::<MetricSample>("metric-sample.schema.json"),
        one::<MetricRollup>("metric-rollup.schema.json"),
        one::<Policy>("policy.schema.json"),
        one::<CheckSpec>("check-spec.schema.json"),
        one::<CheckResult>("check-result.schema.json"),
        one::<EnrollRequest>("enroll-request.schema.json"),
        one::<EnrollResponse>("enroll-response.schema.json"),
        one::<ErrorBody>("error.schema.json"),
        one::<crate::InventoryAck>("inventory-ack.schema.json"),
        one::<crate::CheckinRequest>("checkin-request.schema.json"),
        one::<crate::CheckinResponse>("checkin-response.schema.json"),
        one::<crate::NewTicket>("new-ticket.schema.json"),
        one::<crate::Ticket>("ticket.schema.json"),
    ]
}

/// The text of a schema file as published: pretty JSON with a final newline.
pub fn render(schema: &Schema) -> String {
    let mut s = serde_json::to_string_pretty(schema).unwrap_or_default();
    s.push('\n');
    s
}
