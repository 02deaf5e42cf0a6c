//! Configuration of the Helm actions a HelmRelease performs (install,
//! upgrade, test, rollback, uninstall), their failure handling, and drift
//! detection.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::schema;
use crate::duration::Duration;
use crate::meta::Selector;

fn is_zero(n: &i64) -> bool {
    *n == 0
}

/// Settings of the Helm install action.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Install {
    /// Time limit for each Kubernetes operation (e.g. hook Jobs) of the
    /// install; the HelmRelease's timeout when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
    /// What to do when the install fails: remediate (the default) or retry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<InstallStrategy>,
    /// Remediation of a failed install (used by the `RemediateOnFailure`
    /// strategy); nothing is done when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remediation: Option<InstallRemediation>,
    /// Do not adopt resources that already exist in the cluster.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub disable_take_ownership: bool,
    /// Do not wait for resources to become ready after installing.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub disable_wait: bool,
    /// Do not wait for Jobs to complete after installing.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub disable_wait_for_jobs: bool,
    /// Do not run chart hooks during the install.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub disable_hooks: bool,
    /// Do not validate rendered manifests against the cluster's OpenAPI schema.
    #[serde(
        default,
        rename = "disableOpenAPIValidation",
        skip_serializing_if = "std::ops::Not::not"
    )]
    pub disable_open_api_validation: bool,
    /// Do not validate values against the chart's JSON schema.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub disable_schema_validation: bool,
    /// Reuse the release name when it belongs to an uninstalled release kept in history.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub replace: bool,
    /// Deprecated: do not install the chart's CRDs; use `crds: Skip`.
    #[serde(
        default,
        rename = "skipCRDs",
        skip_serializing_if = "std::ops::Not::not"
    )]
    pub skip_crds: bool,
    /// Policy for the chart's `crds/` directory on install: `Create` (the
    /// default: create missing CRDs only), `CreateReplace` or `Skip`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crds: Option<CrdsPolicy>,
    /// Create the target namespace when it is missing (it is not deleted on uninstall).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub create_namespace: bool,
    /// Apply resources with server-side apply; true when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_side_apply: Option<bool>,
}

impl Install {
    /// The CRD policy in effect: `crds`, else `Skip` when the deprecated
    /// `skipCRDs` is set, else `Create`.
    pub fn crds_policy(&self) -> CrdsPolicy {
        match self.crds {
            Some(policy) => policy,
            None if self.skip_crds => CrdsPolicy::Skip,
            None => CrdsPolicy::Create,
        }
    }

    /// The remediation settings, defaults when unset.
    pub fn remediation(&self) -> InstallRemediation {
        self.remediation.clone().unwrap_or_default()
    }
}

/// Whether a failed install is remediated or retried.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [{
    "message": "retryInterval is only allowed with name RetryOnFailure",
    "rule": "!has(self.retryInterval) || self.name != 'RemediateOnFailure'"
}]))]
pub struct InstallStrategy {
    /// The strategy.
    pub name: ActionStrategyName,
    /// Wait between retries with `RetryOnFailure` (5m when unset); not
    /// allowed with `RemediateOnFailure`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_interval: Option<Duration>,
}

impl InstallStrategy {
    /// The wait between retries: `retryInterval`, or five minutes.
    pub fn retry_interval(&self) -> std::time::Duration {
        retry_interval_or_default(self.retry_interval.as_ref())
    }
}

/// Whether a failed upgrade is remediated or retried.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [{
    "message": "retryInterval is only allowed with name RetryOnFailure",
    "rule": "!has(self.retryInterval) || self.name == 'RetryOnFailure'"
}]))]
pub struct UpgradeStrategy {
    /// The strategy.
    pub name: ActionStrategyName,
    /// Wait between retries with `RetryOnFailure` (5m when unset); not
    /// allowed with `RemediateOnFailure`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_interval: Option<Duration>,
}

impl UpgradeStrategy {
    /// The wait between retries: `retryInterval`, or five minutes.
    pub fn retry_interval(&self) -> std::time::Duration {
        retry_interval_or_default(self.retry_interval.as_ref())
    }
}

fn retry_interval_or_default(interval: Option<&Duration>) -> std::time::Duration {
    interval
        .map(Duration::as_std)
        .unwrap_or(std::time::Duration::from_secs(300))
}

/// Strategies for a failed install or upgrade.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum ActionStrategyName {
    /// Apply the action's remediation settings.
    #[default]
    RemediateOnFailure,
    /// Try again after `retryInterval`, without remediating.
    RetryOnFailure,
}

/// Remediation of a failed install: uninstall, then try again.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct InstallRemediation {
    /// How many times to try again after a failure (uninstalling in
    /// between); 0 by default, negative for no limit.
    #[serde(default, skip_serializing_if = "is_zero")]
    #[schemars(schema_with = "schema::integer")]
    pub retries: i64,
    /// Do not remediate when the tests after an install fail; the test
    /// settings' `ignoreFailures` when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore_test_failures: Option<bool>,
    /// Also remediate the last failure, when no retries are left; false when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remediate_last_failure: Option<bool>,
}

impl InstallRemediation {
    /// Whether test failures are ignored, given the test settings' default.
    pub fn must_ignore_test_failures(&self, default: bool) -> bool {
        self.ignore_test_failures.unwrap_or(default)
    }

    /// Whether the last failure is remediated once retries are used up.
    pub fn must_remediate_last_failure(&self) -> bool {
        self.remediate_last_failure.unwrap_or(false)
    }

    /// Whether `failures` failed attempts use up the retries.
    pub fn retries_exhausted(&self, failures: i64) -> bool {
        self.retries >= 0 && failures > self.retries
    }
}

/// Policies for the CRDs in a chart's `crds/` directory.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum CrdsPolicy {
    /// Neither create nor update CRDs.
    Skip,
    /// Create missing CRDs; leave existing ones unchanged.
    Create,
    /// Create missing CRDs and replace existing ones. CRDs are never deleted.
    CreateReplace,
}

/// Server-side apply settings for upgrades and rollbacks.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ServerSideApplyMode {
    /// Use server-side apply.
    Enabled,
    /// Use client-side apply.
    Disabled,
    /// Use what the previous release used.
    Auto,
}

/// What an upgrade does when the chart's name changes.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum ChartNameChangeStrategy {
    /// Upgrade the existing release.
    InPlaceUpdate,
    /// Uninstall the existing release, then install anew.
    Reinstall,
}

/// Settings of the Helm upgrade action.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Upgrade {
    /// Time limit for each Kubernetes operation (e.g. hook Jobs) of the
    /// upgrade; the HelmRelease's timeout when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
    /// What to do when the upgrade fails: remediate (the default) or retry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<UpgradeStrategy>,
    /// Remediation of a failed upgrade (used by the `RemediateOnFailure`
    /// strategy); nothing is done when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remediation: Option<UpgradeRemediation>,
    /// Do not adopt resources that already exist in the cluster.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub disable_take_ownership: bool,
    /// Do not wait for resources to become ready after upgrading.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub disable_wait: bool,
    /// Do not wait for Jobs to complete after upgrading.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub disable_wait_for_jobs: bool,
    /// Do not run chart hooks during the upgrade.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub disable_hooks: bool,
    /// Do not validate rendered manifests against the cluster's OpenAPI schema.
    #[serde(
        default,
        rename = "disableOpenAPIValidation",
        skip_serializing_if = "std::ops::Not::not"
    )]
    pub disable_open_api_validation: bool,
    /// Do not validate values against the chart's JSON schema.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub disable_schema_validation: bool,
    /// Replace resources instead of three-way merging them (client-side
    /// apply only; server-side apply always forces).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub force: bool,
    /// Start from the previous release's values and merge the new ones on
    /// top (the result no longer follows the spec alone).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub preserve_values: bool,
    /// Delete resources the failed upgrade created.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub cleanup_on_fail: bool,
    /// Policy for the chart's `crds/` directory on upgrade: `Skip` (the
    /// default), `Create` or `CreateReplace`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crds: Option<CrdsPolicy>,
    /// Server-side apply: `enabled`, `disabled`, or `auto` (the default:
    /// whatever the previous release used).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_side_apply: Option<ServerSideApplyMode>,
    /// What to do when the chart's name changes: `Reinstall` (the default)
    /// or `InPlaceUpdate`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chart_name_change_strategy: Option<ChartNameChangeStrategy>,
}

impl Upgrade {
    /// The CRD policy in effect (`Skip` when unset).
    pub fn crds_policy(&self) -> CrdsPolicy {
        self.crds.unwrap_or(CrdsPolicy::Skip)
    }

    /// The server-side apply mode in effect (`auto` when unset).
    pub fn server_side_apply_mode(&self) -> ServerSideApplyMode {
        self.server_side_apply.unwrap_or(ServerSideApplyMode::Auto)
    }

    /// The chart name change strategy in effect (`Reinstall` when unset).
    pub fn chart_name_change_strategy(&self) -> ChartNameChangeStrategy {
        self.chart_name_change_strategy
            .unwrap_or(ChartNameChangeStrategy::Reinstall)
    }

    /// The remediation settings, defaults when unset.
    pub fn remediation(&self) -> UpgradeRemediation {
        self.remediation.clone().unwrap_or_default()
    }
}

/// Remediation of a failed upgrade: roll back or uninstall, then try again.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpgradeRemediation {
    /// How many times to try again after a failure (remediating in
    /// between); 0 by default, negative for no limit.
    #[serde(default, skip_serializing_if = "is_zero")]
    #[schemars(schema_with = "schema::integer")]
    pub retries: i64,
    /// Do not remediate when the tests after an upgrade fail; the test
    /// settings' `ignoreFailures` when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore_test_failures: Option<bool>,
    /// Also remediate the last failure, when no retries are left; when
    /// unset, true exactly if `retries` is positive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remediate_last_failure: Option<bool>,
    /// How to remediate: `rollback` (the default) or `uninstall`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<RemediationStrategy>,
}

impl UpgradeRemediation {
    /// The remediation strategy in effect (`rollback` when unset).
    pub fn strategy(&self) -> RemediationStrategy {
        self.strategy.unwrap_or(RemediationStrategy::Rollback)
    }

    /// Whether test failures are ignored, given the test settings' default.
    pub fn must_ignore_test_failures(&self, default: bool) -> bool {
        self.ignore_test_failures.unwrap_or(default)
    }

    /// Whether the last failure is remediated once retries are used up.
    pub fn must_remediate_last_failure(&self) -> bool {
        self.remediate_last_failure.unwrap_or(self.retries > 0)
    }

    /// Whether `failures` failed attempts use up the retries.
    pub fn retries_exhausted(&self, failures: i64) -> bool {
        self.retries >= 0 && failures > self.retries
    }
}

/// How a failed upgrade is remediated.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RemediationStrategy {
    /// Roll back to the previous successful release.
    Rollback,
    /// Uninstall the release (it is installed again on the next attempt).
    Uninstall,
}

/// Settings of the Helm test action.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Test {
    /// Run the chart's tests after every install or upgrade.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub enable: bool,
    /// Time limit for each Kubernetes operation of the tests; the
    /// HelmRelease's timeout when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
    /// Do not treat failed tests as a failed release (install and upgrade
    /// remediation may override this).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ignore_failures: bool,
    /// Tests to run or skip, by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filters: Option<Vec<Filter>>,
}

/// Selects or excludes one test by name.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Filter {
    /// Name of the test.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// Skip this test instead of selecting it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub exclude: bool,
}

/// Settings of the Helm rollback action (the default upgrade remediation).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Rollback {
    /// Time limit for each Kubernetes operation (e.g. hook Jobs) of the
    /// rollback; the HelmRelease's timeout when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
    /// Do not wait for resources to become ready after rolling back.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub disable_wait: bool,
    /// Do not wait for Jobs to complete after rolling back.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub disable_wait_for_jobs: bool,
    /// Do not run chart hooks during the rollback.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub disable_hooks: bool,
    /// Deprecated and without effect since Helm 4 (used to restart pods).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub recreate: bool,
    /// Replace resources instead of three-way merging them (client-side
    /// apply only; server-side apply always forces).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub force: bool,
    /// Delete resources the failed rollback created.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub cleanup_on_fail: bool,
    /// Server-side apply: `enabled`, `disabled`, or `auto` (the default:
    /// whatever the release rolled back to used).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_side_apply: Option<ServerSideApplyMode>,
}

/// Settings of the Helm uninstall action (used on deletion and for install
/// remediation or the `uninstall` upgrade remediation).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Uninstall {
    /// Time limit for each Kubernetes operation (e.g. hook Jobs) of the
    /// uninstall; the HelmRelease's timeout when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
    /// Do not run chart hooks during the uninstall.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub disable_hooks: bool,
    /// Delete the release's resources but keep its history, marked uninstalled.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub keep_history: bool,
    /// Do not wait for the resources to be gone after uninstalling.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub disable_wait: bool,
    /// How dependents of deleted resources are deleted; `background` by default.
    #[serde(
        default = "default_deletion_propagation",
        skip_serializing_if = "Option::is_none"
    )]
    pub deletion_propagation: Option<DeletionPropagation>,
}

impl Default for Uninstall {
    fn default() -> Self {
        Self {
            timeout: None,
            disable_hooks: false,
            keep_history: false,
            disable_wait: false,
            deletion_propagation: default_deletion_propagation(),
        }
    }
}

impl Uninstall {
    /// The deletion propagation in effect (`background` when unset).
    pub fn deletion_propagation(&self) -> DeletionPropagation {
        self.deletion_propagation
            .unwrap_or(DeletionPropagation::Background)
    }
}

fn default_deletion_propagation() -> Option<DeletionPropagation> {
    Some(DeletionPropagation::Background)
}

/// Kubernetes deletion propagation policies.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DeletionPropagation {
    /// Delete dependents after the owner, in the background.
    Background,
    /// Delete dependents before the owner.
    Foreground,
    /// Leave dependents in place.
    Orphan,
}

/// Detection (and correction) of changes made in the cluster to the
/// resources of the release.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DriftDetection {
    /// `enabled` (detect and correct), `warn` (detect and report) or
    /// `disabled` (the default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<DriftDetectionMode>,
    /// Changes to leave out of the comparison.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignore: Vec<IgnoreRule>,
}

impl DriftDetection {
    /// The mode in effect (`disabled` when unset).
    pub fn mode(&self) -> DriftDetectionMode {
        self.mode.unwrap_or(DriftDetectionMode::Disabled)
    }

    /// Whether the cluster must be compared with the release.
    pub fn must_detect_changes(&self) -> bool {
        matches!(
            self.mode(),
            DriftDetectionMode::Enabled | DriftDetectionMode::Warn
        )
    }
}

/// Drift detection modes.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DriftDetectionMode {
    /// Detect drift and correct it.
    Enabled,
    /// Detect drift and only report it.
    Warn,
    /// Do not look for drift.
    Disabled,
}

/// Parts of resources that drift detection ignores.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct IgnoreRule {
    /// JSON Pointers (RFC 6901) to the ignored fields; `""` ignores the whole object.
    pub paths: Vec<String>,
    /// Resources the rule applies to; every resource of the release when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<Selector>,
}

/// How Helm waits for applied resources to become ready.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WaitStrategy {
    /// `poller` (kstatus polling; Flux's default) or `legacy` (Helm 3's wait).
    pub name: WaitStrategyName,
}

/// Wait strategies.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum WaitStrategyName {
    /// Poll resource status with kstatus.
    Poller,
    /// Helm 3's readiness checks.
    Legacy,
}
