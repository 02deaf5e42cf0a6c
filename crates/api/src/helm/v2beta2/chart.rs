//! The chart template and post-renderers as v2beta1/v2beta2 had them:
//! `valuesFile` and the `patchesStrategicMerge`/`patchesJson6902` forms.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::duration::Duration;
use crate::helm::v2::{
    CrossNamespaceObjectReference, HelmChartTemplateObjectMeta, HelmChartTemplateVerification,
    ReconcileStrategy,
};
use crate::kustomize::common::Json6902Patch;
use crate::meta::{Image, Patch};

/// Template of the HelmChart the controller creates for the release.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HelmChartTemplate {
    /// Labels and annotations to put on the generated HelmChart.
    #[serde(default, rename = "metadata", skip_serializing_if = "Option::is_none")]
    pub object_meta: Option<HelmChartTemplateObjectMeta>,
    /// Spec of the generated HelmChart.
    pub spec: HelmChartTemplateSpec,
}

/// Spec of the generated HelmChart.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HelmChartTemplateSpec {
    /// Chart name (Helm repository) or path (Git repository, Bucket).
    #[schemars(length(min = 1, max = 2048))]
    pub chart: String,
    /// SemVer constraint selecting the chart version; `*` by default.
    #[serde(default = "default_chart_version")]
    pub version: String,
    /// The source object that serves the chart.
    pub source_ref: CrossNamespaceObjectReference,
    /// How often to check the source for a new chart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<Duration>,
    /// What makes a new chart artifact: `ChartVersion` (default) or `Revision`.
    #[serde(default)]
    pub reconcile_strategy: ReconcileStrategy,
    /// Values files within the source to merge, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values_files: Vec<String>,
    /// A single values file, merged before `valuesFiles`. Deprecated: use
    /// `valuesFiles`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values_file: Option<String>,
    /// Skip values files that do not exist instead of failing (v2beta2).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ignore_missing_values_files: bool,
    /// Signature verification of OCI charts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify: Option<HelmChartTemplateVerification>,
}

fn default_chart_version() -> String {
    "*".to_string()
}

/// One post-renderer; post-renderers run in the order they are listed.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PostRenderer {
    /// Kustomize patches and image overrides applied to the rendered manifests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kustomize: Option<Kustomize>,
}

/// The Kustomize features of an old post-renderer.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Kustomize {
    /// Strategic-merge or JSON 6902 patches, each with an optional target selector.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub patches: Vec<Patch>,
    /// Strategic-merge patches as inline objects. Deprecated: use `patches`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "any_json_list")]
    pub patches_strategic_merge: Vec<serde_json::Value>,
    /// JSON 6902 patches as inline operation lists. Deprecated: use `patches`.
    #[serde(
        default,
        rename = "patchesJson6902",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub patches_json6902: Vec<Json6902Patch>,
    /// Image name, tag and digest overrides.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<Image>,
}

fn any_json_list(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "array",
        "items": { "x-kubernetes-preserve-unknown-fields": true }
    })
}
