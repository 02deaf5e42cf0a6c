//! `metadata.managedFields` bookkeeping for plain (non-apply) writes.

use serde_json::{Value, json};

use crate::registry::ResourceType;

/// Records that `manager` wrote `new` (an Update operation).
pub fn record_update(
    rt: &ResourceType,
    manager: &str,
    version: &str,
    subresource: Option<&str>,
    existing: Option<&Value>,
    new: &mut Value,
    now: &str,
) {
    let mut entries: Vec<Value> = existing
        .and_then(|e| e["metadata"]["managedFields"].as_array().cloned())
        .unwrap_or_default();
    let api_version = rt.api_version(version);
    let sub = subresource.unwrap_or("");
    let same = |e: &Value| {
        e["manager"] == manager
            && e["operation"] == "Update"
            && e["subresource"].as_str().unwrap_or("") == sub
    };
    let mut entry = json!({
        "manager": manager,
        "operation": "Update",
        "apiVersion": api_version,
        "time": now,
        "fieldsType": "FieldsV1",
        "fieldsV1": {},
    });
    if !sub.is_empty() {
        entry["subresource"] = json!(sub);
    }
    match entries.iter_mut().find(|e| same(e)) {
        Some(e) => *e = entry,
        None => entries.push(entry),
    }
    new["metadata"]["managedFields"] = json!(entries);
}
