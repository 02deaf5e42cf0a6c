//! HelmChart: a packaged Helm chart taken from a HelmRepository, or built
//! from a chart directory in a GitRepository or Bucket artifact.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::HelmChartVerification;
use crate::duration::Duration;
use crate::meta::Artifact;

/// Which chart to fetch or package, from which source, and how often.
// kube's `printcolumn(...)` entries repeat `type_ = "string"` by design.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "source.toolkit.fluxcd.io",
    version = "v1",
    kind = "HelmChart",
    plural = "helmcharts",
    namespaced,
    status = "HelmChartStatus",
    derive = "PartialEq",
    shortname = "hc",
    category = "all",
    category = "fluxcd",
    category = "fluxcd-sources",
    annotation("kustomize.toolkit.fluxcd.io/substitute", "disabled"),
    doc = "A Helm chart, pulled from a HelmRepository or packaged from a Git or Bucket source, stored as an artifact.",
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
#[schemars(extend("x-kubernetes-validations" = [{
    "message": "spec.verify can only be used with a sourceRef of kind HelmRepository",
    "rule": "!has(self.verify) || self.sourceRef.kind == 'HelmRepository'"
}]))]
pub struct HelmChartSpec {
    /// Chart name in a HelmRepository, or path of the chart directory (or
    /// packaged chart) inside a GitRepository or Bucket artifact.
    pub chart: String,
    /// SemVer constraint picking the chart version from a HelmRepository;
    /// `*` (the newest) by default. Not used for Git and Bucket sources.
    #[serde(default = "default_version")]
    pub version: String,
    /// The source object holding the chart.
    pub source_ref: LocalHelmChartSourceReference,
    /// How often the source is checked for a new chart (with some jitter).
    pub interval: Duration,
    /// When a new artifact is made: `ChartVersion` (the default) when the
    /// chart's version changes, `Revision` whenever the source revision changes.
    #[serde(default)]
    pub reconcile_strategy: ReconcileStrategy,
    /// Values files (paths relative to the source root) merged in order, the
    /// last one winning, to replace the chart's default values; the chart's
    /// own `values.yaml` is only used when listed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values_files: Vec<String>,
    /// A single values file: v1beta1/v1beta2's form, kept so that a write
    /// through v1 does not prune what an old manifest set. Deprecated: use
    /// `valuesFiles`; the controller reads it as the first of them (see
    /// `ferroflux_api::deprecation`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values_file: Option<String>,
    /// Skip values files that do not exist instead of failing.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ignore_missing_values_files: bool,
    /// Stop reconciling this HelmChart while true.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub suspend: bool,
    /// Check the chart's signature; only for charts from a HelmRepository of
    /// type `oci`. Dependencies not bundled in the chart are not checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify: Option<HelmChartVerification>,
}

fn default_version() -> String {
    "*".to_string()
}

/// When a HelmChart produces a new artifact.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
pub enum ReconcileStrategy {
    /// When the chart's version differs from the stored one.
    #[default]
    ChartVersion,
    /// When the source's revision differs from the one last packaged.
    Revision,
}

/// The object a HelmChart takes its chart from, in the same namespace.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LocalHelmChartSourceReference {
    /// API version of the source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// Kind of the source.
    pub kind: HelmChartSourceKind,
    /// Name of the source.
    pub name: String,
}

/// The kinds a HelmChart can take its chart from.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
pub enum HelmChartSourceKind {
    /// A chart repository: the chart is pulled by name and version.
    HelmRepository,
    /// A Git source: the chart is packaged from a directory.
    GitRepository,
    /// A Bucket source: the chart is packaged from a directory.
    Bucket,
}

impl HelmChartSourceKind {
    /// The kind's name as written in manifests.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::HelmRepository => "HelmRepository",
            Self::GitRepository => "GitRepository",
            Self::Bucket => "Bucket",
        }
    }
}

/// What the controller last observed and produced for a HelmChart.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HelmChartStatus {
    /// Generation of the spec the status was written for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Revision of the source's artifact the chart was last built from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_source_artifact_revision: Option<String>,
    /// Chart name resolved from the spec at the last reconcile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_chart_name: Option<String>,
    /// Values files used for the chart in the current artifact.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub observed_values_files: Vec<String>,
    /// Current conditions (`Ready`, `Reconciling`, `Stalled`, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "crate::meta::conditions_schema")]
    pub conditions: Vec<Condition>,
    /// Download address of the latest artifact; prefer `artifact.url`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The packaged chart produced by the last successful reconcile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact: Option<Artifact>,
    /// Last `reconcile.fluxcd.io/requestedAt` value acted upon.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
}

crate::impl_object_with_conditions!(HelmChart);
crate::impl_flux_object!(HelmChart, required);
