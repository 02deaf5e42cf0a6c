//! Hand-written schemas for fields whose Rust type would derive a schema
//! different from the one Flux publishes.

use schemars::{Schema, SchemaGenerator, json_schema};

/// A Go `int`: an integer without a `format`.
pub(crate) fn integer(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "integer" })
}

/// Free-form JSON object kept as written (Helm values).
pub(crate) fn preserved_object(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "object",
        "x-kubernetes-preserve-unknown-fields": true,
    })
}

/// A string without further validation.
pub(crate) fn string(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "string" })
}

/// The release actions whose failures a HelmRelease retries or remediates.
pub(crate) fn remediable_action(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "string",
        "enum": ["install", "upgrade"],
    })
}
