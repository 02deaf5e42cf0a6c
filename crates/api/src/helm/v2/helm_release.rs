//! HelmRelease: a Helm release that the controller installs, upgrades,
//! tests, rolls back and uninstalls to match the spec.

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::schema;
use super::{
    ActionStrategyName, CommonMetadata, CrossNamespaceSourceReference, DriftDetection,
    HelmChartTemplate, HelmReleaseStatus, Install, PostRenderStrategy, PostRenderer, ReleaseAction,
    Rollback, Test, Uninstall, Upgrade, WaitStrategy,
};
use crate::duration::Duration;
use crate::meta::{CustomHealthCheck, DependencyReference, KubeConfigReference, ValuesReference};

/// Finalizer the controller puts on every HelmRelease it handles.
pub const HELM_RELEASE_FINALIZER: &str = "finalizers.fluxcd.io";
/// Label or annotation key that, set to [`DRIFT_DETECTION_DISABLED`],
/// excludes an object from drift detection.
pub const DRIFT_DETECTION_METADATA_KEY: &str = "helm.toolkit.fluxcd.io/driftDetection";
/// Value of [`DRIFT_DETECTION_METADATA_KEY`] that excludes an object.
pub const DRIFT_DETECTION_DISABLED: &str = "disabled";

/// Timeout of Helm actions when `spec.timeout` is unset.
const DEFAULT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(300);
/// Release versions Helm keeps when `spec.maxHistory` is unset.
const DEFAULT_MAX_HISTORY: i64 = 5;

/// HelmReleaseSpec declares a Helm release: the chart, its values, and how
/// each Helm action is performed.
// Several printer columns share `type_ = "string"`, which clippy mistakes for
// a repeated attribute.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "helm.toolkit.fluxcd.io",
    version = "v2",
    kind = "HelmRelease",
    plural = "helmreleases",
    namespaced,
    status = "HelmReleaseStatus",
    derive = "PartialEq",
    shortname = "hr",
    category = "all",
    category = "fluxcd",
    category = "fluxcd-appliers",
    annotation("kustomize.toolkit.fluxcd.io/substitute", "disabled"),
    doc = "HelmRelease is the Schema for the helmreleases API.",
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
    "message": "exactly one of spec.chart and spec.chartRef must be set",
    "rule": "(has(self.chart) && !has(self.chartRef)) || (!has(self.chart) && has(self.chartRef))"
}]))]
pub struct HelmReleaseSpec {
    /// Template of the HelmChart the controller creates for this release.
    /// Exactly one of `chart` and `chartRef` must be set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chart: Option<HelmChartTemplate>,
    /// Source object (OCIRepository, HelmChart or ExternalArtifact) whose
    /// artifact is the chart. Exactly one of `chart` and `chartRef` must be set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chart_ref: Option<CrossNamespaceSourceReference>,
    /// How often the release is reconciled.
    pub interval: Duration,
    /// Kubeconfig of a remote cluster to release to; with
    /// `serviceAccountName`, that account is impersonated in the remote cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kube_config: Option<KubeConfigReference>,
    /// Stop reconciling (a reconciliation in progress finishes).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub suspend: bool,
    /// Name of the Helm release; `[<targetNamespace>-]<name>` when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 53))]
    pub release_name: Option<String>,
    /// Namespace the release is made in; the HelmRelease's when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 63))]
    pub target_namespace: Option<String>,
    /// Namespace of Helm's release storage; the HelmRelease's when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 63))]
    pub storage_namespace: Option<String>,
    /// HelmReleases that must be ready (or satisfy `readyExpr`) before this
    /// one is reconciled.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<DependencyReference>,
    /// Time limit for each Kubernetes operation (e.g. hook Jobs) of a Helm
    /// action; 5m when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
    /// Release versions Helm keeps; 5 when unset, 0 for no limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "schema::integer")]
    pub max_history: Option<i64>,
    /// Service account to impersonate for every change to the cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253))]
    pub service_account_name: Option<String>,
    /// Reuse one Kubernetes client for a whole reconciliation instead of one
    /// per Helm action step; true when unset. Turn off for charts that create
    /// CRDs outside Helm's CRD handling and use them in later hooks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persistent_client: Option<bool>,
    /// Detection and correction of changes made in the cluster to the
    /// release's resources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drift_detection: Option<DriftDetection>,
    /// Settings of the Helm install action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub install: Option<Install>,
    /// Settings of the Helm upgrade action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upgrade: Option<Upgrade>,
    /// Settings of the Helm test action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test: Option<Test>,
    /// Settings of the Helm rollback action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback: Option<Rollback>,
    /// Settings of the Helm uninstall action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uninstall: Option<Uninstall>,
    /// ConfigMaps and Secrets holding values, merged in order (later ones
    /// win) before the inline `values`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values_from: Vec<ValuesReference>,
    /// Inline values, merged over those from `valuesFrom`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "schema::preserved_object")]
    pub values: Option<Map<String, Value>>,
    /// Labels and annotations set on every resource of the release.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub common_metadata: Option<CommonMetadata>,
    /// Post-renderers applied, in order, to the rendered manifests.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub post_renderers: Vec<PostRenderer>,
    /// Which rendered documents the post-renderers see: `nohooks`,
    /// `combined` (Flux's default) or `separate`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_render_strategy: Option<PostRenderStrategy>,
    /// How Helm waits for resources to become ready.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_strategy: Option<WaitStrategy>,
    /// CEL health checks for custom resources, used when the action waits
    /// with the `poller` strategy.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub health_check_exprs: Vec<CustomHealthCheck>,
}

/// A rule of the spec that the CRD states as a CEL expression (which this
/// crate does not emit) was broken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid HelmRelease spec: {0}")]
pub struct InvalidSpec(pub String);

impl HelmReleaseSpec {
    /// Checks the cross-field rules Flux's CRD enforces with CEL: exactly one
    /// of `chart` and `chartRef`; exactly one of `kubeConfig.configMapRef`
    /// and `kubeConfig.secretRef`; `retryInterval` only with `RetryOnFailure`.
    pub fn validate(&self) -> Result<(), InvalidSpec> {
        match (&self.chart, &self.chart_ref) {
            (Some(_), Some(_)) => {
                return Err(InvalidSpec(
                    "spec.chart and spec.chartRef are mutually exclusive".into(),
                ));
            }
            (None, None) => {
                return Err(InvalidSpec(
                    "one of spec.chart or spec.chartRef must be set".into(),
                ));
            }
            _ => {}
        }
        if let Some(kc) = &self.kube_config
            && kc.config_map_ref.is_some() == kc.secret_ref.is_some()
        {
            return Err(InvalidSpec(
                "exactly one of spec.kubeConfig.configMapRef or spec.kubeConfig.secretRef must be set".into(),
            ));
        }
        let strategies = [
            (
                "install",
                self.install
                    .as_ref()
                    .and_then(|i| i.strategy.as_ref())
                    .map(|s| (s.name, s.retry_interval.is_some())),
            ),
            (
                "upgrade",
                self.upgrade
                    .as_ref()
                    .and_then(|u| u.strategy.as_ref())
                    .map(|s| (s.name, s.retry_interval.is_some())),
            ),
        ];
        for (action, strategy) in strategies {
            if let Some((name, true)) = strategy
                && name != ActionStrategyName::RetryOnFailure
            {
                return Err(InvalidSpec(format!(
                    "spec.{action}.strategy.retryInterval is only allowed with name RetryOnFailure"
                )));
            }
        }
        Ok(())
    }
}

impl HelmRelease {
    fn namespace_or_empty(&self) -> &str {
        self.metadata.namespace.as_deref().unwrap_or("")
    }

    fn name_or_empty(&self) -> &str {
        self.metadata.name.as_deref().unwrap_or("")
    }

    /// Name of the Helm release: `releaseName`, else
    /// `<targetNamespace>-<name>`, else `<name>`. (Shortening names longer
    /// than Helm allows is the controller's job.)
    pub fn release_name(&self) -> String {
        match (
            self.spec.release_name.as_deref(),
            self.spec.target_namespace.as_deref(),
        ) {
            (Some(name), _) if !name.is_empty() => name.to_string(),
            (_, Some(ns)) if !ns.is_empty() => format!("{ns}-{}", self.name_or_empty()),
            _ => self.name_or_empty().to_string(),
        }
    }

    /// Namespace the release is made in: `targetNamespace` or the HelmRelease's.
    pub fn release_namespace(&self) -> &str {
        match self.spec.target_namespace.as_deref() {
            Some(ns) if !ns.is_empty() => ns,
            _ => self.namespace_or_empty(),
        }
    }

    /// Namespace of Helm's storage: `storageNamespace` or the HelmRelease's.
    pub fn storage_namespace(&self) -> &str {
        match self.spec.storage_namespace.as_deref() {
            Some(ns) if !ns.is_empty() => ns,
            _ => self.namespace_or_empty(),
        }
    }

    /// Name of the HelmChart made from the chart template: `<namespace>-<name>`.
    pub fn helm_chart_name(&self) -> String {
        format!("{}-{}", self.namespace_or_empty(), self.name_or_empty())
    }

    /// Timeout of Helm actions: `timeout`, or five minutes.
    pub fn timeout(&self) -> std::time::Duration {
        self.spec
            .timeout
            .as_ref()
            .map(Duration::as_std)
            .unwrap_or(DEFAULT_TIMEOUT)
    }

    /// Release versions Helm keeps: `maxHistory`, or 5 (0 means no limit).
    pub fn max_history(&self) -> i64 {
        self.spec.max_history.unwrap_or(DEFAULT_MAX_HISTORY)
    }

    /// Whether one client serves a whole reconciliation (true unless disabled).
    pub fn use_persistent_client(&self) -> bool {
        self.spec.persistent_client.unwrap_or(true)
    }

    /// Drift detection settings, defaults when unset.
    pub fn drift_detection(&self) -> DriftDetection {
        self.spec.drift_detection.clone().unwrap_or_default()
    }

    /// Install settings, defaults when unset.
    pub fn install(&self) -> Install {
        self.spec.install.clone().unwrap_or_default()
    }

    /// Upgrade settings, defaults when unset.
    pub fn upgrade(&self) -> Upgrade {
        self.spec.upgrade.clone().unwrap_or_default()
    }

    /// Test settings, defaults when unset.
    pub fn test(&self) -> Test {
        self.spec.test.clone().unwrap_or_default()
    }

    /// Rollback settings, defaults when unset.
    pub fn rollback(&self) -> Rollback {
        self.spec.rollback.clone().unwrap_or_default()
    }

    /// Uninstall settings, defaults when unset.
    pub fn uninstall(&self) -> Uninstall {
        self.spec.uninstall.clone().unwrap_or_default()
    }

    /// The last install or upgrade attempted, as recorded in the status.
    pub fn last_attempted_release_action(&self) -> Option<ReleaseAction> {
        self.status.as_ref()?.last_attempted_release_action
    }
}

crate::impl_object_with_conditions!(HelmRelease);
crate::impl_flux_object!(HelmRelease, required);
