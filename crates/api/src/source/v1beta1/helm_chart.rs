//! HelmChart as it was in v1beta1 (deprecated; stored as v1): no `verify`
//! and no `ignoreMissingValuesFiles`.

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::duration::Duration;
use crate::meta::AccessFrom;
use crate::source::v1::{HelmChartStatus, LocalHelmChartSourceReference, ReconcileStrategy};

/// Which chart to fetch or package, from which source, and how often (v1beta1).
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "source.toolkit.fluxcd.io",
    version = "v1beta1",
    kind = "HelmChart",
    plural = "helmcharts",
    namespaced,
    status = "HelmChartStatus",
    derive = "PartialEq",
    deprecated = "v1beta1 HelmChart is deprecated, upgrade to v1",
    shortname = "hc",
    category = "all",
    category = "fluxcd",
    category = "fluxcd-sources",
    annotation("kustomize.toolkit.fluxcd.io/substitute", "disabled"),
    doc = "A Helm chart stored as an artifact (deprecated version, stored as v1).",
    printcolumn(name = "Chart", type_ = "string", json_path = ".spec.chart"),
    printcolumn(name = "Version", type_ = "string", json_path = ".spec.version"),
    printcolumn(
        name = "Source Kind",
        type_ = "string",
        json_path = ".spec.sourceRef.kind"
    ),
    printcolumn(
        name = "Source Name",
        type_ = "string",
        json_path = ".spec.sourceRef.name"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    ),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = r#".status.conditions[?(@.type=="Ready")].status"#
    ),
    printcolumn(
        name = "Status",
        type_ = "string",
        json_path = r#".status.conditions[?(@.type=="Ready")].message"#
    )
)]
#[serde(rename_all = "camelCase")]
pub struct HelmChartSpec {
    /// Chart name in a HelmRepository, or path of the chart directory inside
    /// a GitRepository or Bucket artifact.
    pub chart: String,
    /// SemVer constraint picking the chart version; `*` by default.
    #[serde(default = "default_version")]
    pub version: String,
    /// The source object holding the chart.
    pub source_ref: LocalHelmChartSourceReference,
    /// How often the source is checked for a new chart.
    pub interval: Duration,
    /// When a new artifact is made: `ChartVersion` (the default) or `Revision`.
    #[serde(default)]
    pub reconcile_strategy: ReconcileStrategy,
    /// Values files merged in order, the last one winning.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values_files: Vec<String>,
    /// A single values file, merged before `valuesFiles`. Deprecated: use
    /// `valuesFiles`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values_file: Option<String>,
    /// Stop reconciling this HelmChart while true.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub suspend: bool,
    /// Namespaces allowed to refer to this object across namespaces.
    /// Provisional: accepted but not enforced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_from: Option<AccessFrom>,
}

fn default_version() -> String {
    "*".to_string()
}

crate::impl_object_with_conditions!(HelmChart);
crate::impl_flux_object!(HelmChart, required);
