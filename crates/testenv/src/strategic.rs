//! `application/strategic-merge-patch+json`.

use serde_json::Value;

use crate::errors::ApiError;
use crate::registry::ResourceType;

/// Applies a strategic merge patch to `original`.
pub fn patch(_rt: &ResourceType, original: &Value, patch: &Value) -> Result<Value, ApiError> {
    let mut out = original.clone();
    json_patch::merge(&mut out, patch);
    Ok(out)
}
