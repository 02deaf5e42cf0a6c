//! `application/strategic-merge-patch+json`, with Kubernetes' patch
//! strategies for the built-in kinds (the shared implementation in
//! `ferroflux-kustomize`, in its API-server flavour).

use ferroflux_kustomize::strategic_merge::{Flavor, strategic_merge_builtin};
use serde_json::Value;

use crate::errors::ApiError;
use crate::registry::ResourceType;

/// Applies a strategic merge patch to `original`.
pub fn patch(rt: &ResourceType, original: &Value, patch: &Value) -> Result<Value, ApiError> {
    if rt.custom.is_some() {
        // As kube-apiserver: custom resources have no patch strategies.
        return Err(ApiError {
            code: 415,
            reason: "UnsupportedMediaType",
            message: "strategic merge patch is not supported for custom resources; use a merge patch or server-side apply".into(),
            details: None,
        });
    }
    strategic_merge_builtin(original, patch, Flavor::ApiServer)
        .map_err(|e| ApiError::bad_request(e.to_string()))
}
