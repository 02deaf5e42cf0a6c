//! `metadata.managedFields` of plain (non-apply) writes, through the field
//! manager in [`crate::fields`].

use serde_json::Value;

use crate::fields::{self, ListTypes, ManagedFieldsEntry};
use crate::registry::ResourceType;

/// How lists and maps of `rt` merge: from the CRD schema for custom
/// resources, from the built-in table otherwise.
pub fn list_types(rt: &ResourceType, version: &str) -> Box<dyn ListTypes> {
    match rt
        .schema(version)
        .or_else(|| rt.schema(rt.storage_version()))
    {
        Some(schema) => Box::new(fields::schema_list_types(schema)),
        None => Box::new(fields::builtin_list_types(&rt.group, &rt.kind)),
    }
}

/// The entries a write starts from (the stored ones, or the request's own).
pub fn starting_entries(
    existing: Option<&Value>,
    new: &Value,
    subresource: Option<&str>,
) -> Vec<ManagedFieldsEntry> {
    match existing {
        Some(e) => fields::managed_fields_for_update(e, new, subresource.unwrap_or("")),
        None => Vec::new(),
    }
}

/// Records that `manager` wrote `new` over `existing` (an Update operation),
/// starting from `start`.
#[allow(clippy::too_many_arguments)]
pub fn record_update(
    rt: &ResourceType,
    manager: &str,
    version: &str,
    subresource: Option<&str>,
    existing: Option<&Value>,
    start: &[ManagedFieldsEntry],
    new: &mut Value,
    now: &str,
) {
    let types = list_types(rt, version);
    let old = existing.cloned().unwrap_or(Value::Null);
    let entries = fields::update(
        &old,
        new,
        manager,
        &rt.api_version(version),
        subresource.unwrap_or(""),
        start,
        types.as_ref(),
        now,
    );
    fields::set_managed_fields(new, &entries);
}
