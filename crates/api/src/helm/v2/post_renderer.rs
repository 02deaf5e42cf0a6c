//! Changes applied to the rendered chart before Helm installs it:
//! post-renderers and common metadata.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::meta::{Image, Patch};

/// One post-renderer; post-renderers run in the order they are listed.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PostRenderer {
    /// Kustomize patches and image overrides applied to the rendered manifests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kustomize: Option<Kustomize>,
}

/// The Kustomize features available as a post-renderer.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Kustomize {
    /// Strategic-merge or JSON 6902 patches, each with an optional target selector.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub patches: Vec<Patch>,
    /// Image name, tag and digest overrides.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<Image>,
    /// Strategic-merge patches as inline objects: v2beta1/v2beta2's form,
    /// kept so that a write through v2 does not prune what an old manifest
    /// set. Deprecated: use `patches`; the controller reads these as
    /// `patches` entries (see `ferroflux_api::deprecation`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "any_json_list_schema")]
    pub patches_strategic_merge: Vec<serde_json::Value>,
    /// JSON 6902 patches as inline operation lists: v2beta1/v2beta2's form,
    /// kept as `patchesStrategicMerge` is. Deprecated: use `patches`.
    #[serde(
        default,
        rename = "patchesJson6902",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub patches_json6902: Vec<crate::kustomize::common::Json6902Patch>,
}

fn any_json_list_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "array",
        "items": { "x-kubernetes-preserve-unknown-fields": true }
    })
}

/// Labels and annotations set on every resource of the release, replacing
/// existing ones with the same key.
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

/// Which rendered documents reach the post-renderers.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum PostRenderStrategy {
    /// Hooks are not post-rendered (Helm 3 behaviour).
    #[serde(rename = "nohooks")]
    NoHooks,
    /// Hooks and templates are post-rendered as one stream (Helm 4's default).
    Combined,
    /// Hooks and templates are post-rendered as two separate streams.
    Separate,
}
