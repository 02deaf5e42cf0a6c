//! Where a HelmRelease gets its chart: a HelmChart template (`spec.chart`)
//! or a reference to a source object holding a chart (`spec.chartRef`).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::duration::Duration;
use crate::meta::LocalObjectReference;

/// Template of the HelmChart the controller creates (in the namespace of the
/// source) for this HelmRelease.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HelmChartTemplate {
    /// Labels and annotations to put on the generated HelmChart.
    #[serde(default, rename = "metadata", skip_serializing_if = "Option::is_none")]
    pub object_meta: Option<HelmChartTemplateObjectMeta>,
    /// Spec of the generated HelmChart.
    pub spec: HelmChartTemplateSpec,
}

impl HelmChartTemplate {
    /// How often the HelmChart checks its source: its own interval, or `default`.
    pub fn interval_or<'a>(&'a self, default: &'a Duration) -> &'a Duration {
        self.spec.interval.as_ref().unwrap_or(default)
    }

    /// Namespace of the HelmChart (that of its source): the source
    /// reference's namespace, or `default` when it names none.
    pub fn namespace_or<'a>(&'a self, default: &'a str) -> &'a str {
        match self.spec.source_ref.namespace.as_deref() {
            Some(ns) if !ns.is_empty() => ns,
            _ => default,
        }
    }
}

/// Metadata copied onto the generated HelmChart.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HelmChartTemplateObjectMeta {
    /// Labels of the HelmChart.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Annotations of the HelmChart.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// Spec of the generated HelmChart.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HelmChartTemplateSpec {
    /// Chart name (Helm repository) or path (Git repository, Bucket) within the source.
    #[schemars(length(min = 1, max = 2048))]
    pub chart: String,
    /// SemVer constraint selecting the chart version; `*` (the latest) by
    /// default. Not used for GitRepository and Bucket sources.
    #[serde(default = "default_chart_version")]
    pub version: String,
    /// The source object that serves the chart.
    pub source_ref: CrossNamespaceObjectReference,
    /// How often to check the source for a new chart; the HelmRelease's
    /// interval when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<Duration>,
    /// What makes a new chart artifact: a new chart version (`ChartVersion`,
    /// the default) or any new source revision (`Revision`).
    #[serde(default)]
    pub reconcile_strategy: ReconcileStrategy,
    /// Values files within the source to merge, in order, in place of the
    /// chart's `values.yaml`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values_files: Vec<String>,
    /// A single values file: v2beta1/v2beta2's form, kept so that a write
    /// through v2 does not prune what an old manifest set. Deprecated: use
    /// `valuesFiles`; the controller reads it as the first of them (see
    /// `ferroflux_api::deprecation`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values_file: Option<String>,
    /// Skip values files that do not exist instead of failing.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ignore_missing_values_files: bool,
    /// Signature verification of OCI charts (other sources ignore it;
    /// dependencies not bundled in the chart are not verified).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify: Option<HelmChartTemplateVerification>,
}

fn default_chart_version() -> String {
    "*".to_string()
}

/// What triggers a new chart artifact.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum ReconcileStrategy {
    /// A new chart version.
    #[default]
    ChartVersion,
    /// A new revision of the source.
    Revision,
}

/// Reference to the source object (HelmRepository, GitRepository or Bucket)
/// a chart template pulls from, possibly in another namespace.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CrossNamespaceObjectReference {
    /// API version of the source object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// Kind of the source object.
    pub kind: ChartSourceKind,
    /// Name of the source object.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// Namespace of the source object; the HelmRelease's when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 63))]
    pub namespace: Option<String>,
}

/// Source kinds a chart template can pull from.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum ChartSourceKind {
    /// A Helm (HTTP or OCI) repository.
    HelmRepository,
    /// A Git repository.
    GitRepository,
    /// An S3-compatible bucket.
    Bucket,
}

/// Reference to a source object whose artifact is a chart (OCIRepository,
/// HelmChart or ExternalArtifact), possibly in another namespace.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CrossNamespaceSourceReference {
    /// API version of the source object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// Kind of the source object.
    pub kind: ChartRefKind,
    /// Name of the source object.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// Namespace of the source object; the HelmRelease's when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 63))]
    pub namespace: Option<String>,
}

/// Kinds `chartRef` can point at.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum ChartRefKind {
    /// An OCI artifact holding a chart.
    #[serde(rename = "OCIRepository")]
    OciRepository,
    /// A HelmChart object.
    HelmChart,
    /// An artifact produced outside Flux (behind a feature gate in Flux).
    ExternalArtifact,
}

/// How to verify the signature of an OCI chart.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
// Required although defaulted: the API server fills the default in first.
#[schemars(extend("required" = ["provider"]))]
pub struct HelmChartTemplateVerification {
    /// Signing technology: `cosign` (the default) or `notation`.
    #[serde(default)]
    pub provider: VerificationProvider,
    /// Secret holding the trusted public keys (cosign) or certificates and
    /// trust policy (notation); keyless cosign verification when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalObjectReference>,
}

/// Signature technologies for OCI charts.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum VerificationProvider {
    /// Sigstore cosign.
    #[default]
    Cosign,
    /// Notary Project notation.
    Notation,
}
