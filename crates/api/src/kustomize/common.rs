//! Types shared by every served version of Kustomization. The kustomize
//! types other groups use too (`Selector`, `Patch`, `Image`,
//! `CustomHealthCheck`) live in [`crate::meta`] and are re-exported here.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use crate::meta::{CustomHealthCheck, Image, Patch, Selector};

/// One RFC 6902 JSON-patch operation.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Json6902 {
    /// The operation.
    pub op: Json6902Op,
    /// JSON pointer to the location the operation acts on.
    pub path: String,
    /// JSON pointer to the source location, for `move` and `copy`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// The value to add, replace or test against; any JSON value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::kustomize::common::any_json_schema")]
    pub value: Option<serde_json::Value>,
}

/// The operations of RFC 6902.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Json6902Op {
    /// Check that the value at `path` equals `value`.
    Test,
    /// Remove the value at `path`.
    Remove,
    /// Add `value` at `path`.
    Add,
    /// Replace the value at `path` with `value`.
    Replace,
    /// Move the value at `from` to `path`.
    Move,
    /// Copy the value at `from` to `path`.
    Copy,
}

/// A list of JSON 6902 operations and the resources they apply to.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Json6902Patch {
    /// The operations, applied in order.
    pub patch: Vec<Json6902>,
    /// The resources to patch.
    pub target: Selector,
}

/// Labels and annotations set on every applied resource, overriding any
/// existing entry with the same key.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CommonMetadata {
    /// Annotations to set.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// Labels to set.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

/// The engines that can decrypt manifests.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DecryptionProvider {
    /// Mozilla SOPS (age, OpenPGP, cloud KMS, Vault).
    #[default]
    Sops,
}

/// Where post-build variables come from: a ConfigMap or a Secret in the
/// Kustomization's namespace.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SubstituteReference {
    /// Kind of the object holding the variables.
    pub kind: SubstituteReferenceKind,
    /// Name of the object; it lives in the Kustomization's namespace.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// When true, a missing object counts as one with no variables instead
    /// of an error.
    #[serde(default)]
    pub optional: bool,
}

/// The kinds a [`SubstituteReference`] may point at.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum SubstituteReferenceKind {
    /// A Secret: its decoded data keys are variable names.
    Secret,
    /// A ConfigMap: its data keys are variable names.
    #[default]
    ConfigMap,
}

/// The objects a Kustomization applied, so that stale ones can be pruned.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct ResourceInventory {
    /// One entry per applied object.
    pub entries: Vec<ResourceRef>,
}

/// Identifies one applied object.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct ResourceRef {
    /// The object's identity as `<namespace>_<name>_<group>_<kind>` (namespace
    /// and group empty for cluster-scoped objects and the core group).
    pub id: String,
    /// The API version of the object's kind, e.g. `v1`.
    #[serde(rename = "v")]
    pub version: String,
}

/// Schema of a field that holds any JSON value (kept as written by the API server).
pub(crate) fn any_json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({ "x-kubernetes-preserve-unknown-fields": true })
}
