//! Fields the API server refuses to change once an object exists, so that
//! appliers can be tested on what happens when a manifest changes one
//! (Flux's `force` recreates the object).

use serde_json::Value;

use crate::errors::ApiError;
use crate::registry::ResourceType;

fn short(v: &Value) -> String {
    let s = v.to_string();
    match s.char_indices().nth(120) {
        Some((cut, _)) => format!("{}...", &s[..cut]),
        None => s,
    }
}

/// Refuses an update of `existing` to `new` that changes an immutable field,
/// with the API server's message for it.
pub fn check(rt: &ResourceType, existing: &Value, new: &Value) -> Result<(), ApiError> {
    let name = new["metadata"]["name"].as_str().unwrap_or("");
    let mut causes: Vec<(String, String)> = Vec::new();
    let changed = |ptr: &str| existing.pointer(ptr) != new.pointer(ptr);
    match (rt.group.as_str(), rt.kind.as_str()) {
        ("", "ConfigMap" | "Secret") if existing["immutable"] == Value::Bool(true) => {
            for field in ["data", "binaryData", "stringData"] {
                if changed(&format!("/{field}")) {
                    causes.push((
                        field.to_string(),
                        "Forbidden: field is immutable when `immutable` is set".to_string(),
                    ));
                }
            }
            if new["immutable"] != Value::Bool(true) {
                causes.push((
                    "immutable".to_string(),
                    "Forbidden: field is immutable when `immutable` is set".to_string(),
                ));
            }
        }
        ("apps", "Deployment" | "ReplicaSet" | "DaemonSet" | "StatefulSet")
            if changed("/spec/selector") =>
        {
            causes.push((
                "spec.selector".to_string(),
                format!(
                    "Invalid value: {}: field is immutable",
                    short(&new["spec"]["selector"])
                ),
            ));
        }
        ("batch", "Job") => {
            for field in ["selector", "template"] {
                if changed(&format!("/spec/{field}")) && existing["spec"].get(field).is_some() {
                    causes.push((
                        format!("spec.{field}"),
                        format!(
                            "Invalid value: {}: field is immutable",
                            short(&new["spec"][field])
                        ),
                    ));
                }
            }
        }
        ("rbac.authorization.k8s.io", "RoleBinding" | "ClusterRoleBinding")
            if changed("/roleRef") =>
        {
            causes.push((
                "roleRef".to_string(),
                format!(
                    "Invalid value: {}: cannot change roleRef",
                    short(&new["roleRef"])
                ),
            ));
        }
        _ => {}
    }
    if causes.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid(&rt.group, &rt.kind, name, &causes))
    }
}
