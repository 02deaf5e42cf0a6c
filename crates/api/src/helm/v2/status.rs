//! What the controller records about a HelmRelease: conditions, failure
//! counters, release history snapshots and the inventory of applied objects.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::schema;
use crate::duration::Duration;

fn is_zero(n: &i64) -> bool {
    *n == 0
}

/// Observed state of a HelmRelease.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HelmReleaseStatus {
    /// Generation of the spec last reconciled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Digest of the post-renderers of the last successful reconciliation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_post_renderers_digest: Option<String>,
    /// Digest of the common metadata of the last successful reconciliation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_common_metadata_digest: Option<String>,
    /// Generation of the spec last attempted.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub last_attempted_generation: i64,
    /// Conditions of the HelmRelease (`Ready`, `Reconciling`, `Stalled`,
    /// `Released`, `TestSuccess`, `Remediated`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "crate::meta::conditions_schema")]
    pub conditions: Vec<Condition>,
    /// `<namespace>/<name>` of the HelmChart created from the chart template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub helm_chart: Option<String>,
    /// Namespace holding the Helm storage of the current release.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 63))]
    pub storage_namespace: Option<String>,
    /// Releases made for this HelmRelease, newest first, back to the last
    /// successful one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<Snapshot>,
    /// Objects applied by the current release.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inventory: Option<ResourceInventory>,
    /// The last install or upgrade attempted; it selects which strategy and
    /// remediation settings apply to failures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "schema::remediable_action")]
    pub last_attempted_release_action: Option<ReleaseAction>,
    /// How long the last release action took.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "schema::string")]
    pub last_attempted_release_action_duration: Option<Duration>,
    /// Failed reconciliations since the desired state last changed or succeeded.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub failures: i64,
    /// Failed installs since the desired state last changed or succeeded.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub install_failures: i64,
    /// Failed upgrades since the desired state last changed or succeeded.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub upgrade_failures: i64,
    /// Chart revision of the last attempt; for OCIRepository sources the
    /// chart version plus `+` and the first 12 hex digits of the digest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_attempted_revision: Option<String>,
    /// Artifact digest of the last attempt (OCIRepository sources only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_attempted_revision_digest: Option<String>,
    /// Deprecated: SHA-1 of the values of the last attempt; see
    /// `lastAttemptedConfigDigest`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_attempted_values_checksum: Option<String>,
    /// Deprecated: release version of the last successful release; see `history`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "schema::integer")]
    pub last_release_revision: Option<i64>,
    /// Digest (`<algorithm>:<hex>`) of the values of the last attempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_attempted_config_digest: Option<String>,
    /// Value of the `reconcile.fluxcd.io/resetAt` annotation last acted upon.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reset_at: Option<String>,
    /// Value of the `reconcile.fluxcd.io/requestedAt` annotation last acted upon.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
    /// Value of the `reconcile.fluxcd.io/forceAt` annotation last acted upon.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_force_at: Option<String>,
}

impl HelmReleaseStatus {
    /// Resets the failure counters (after a success or a change of the
    /// desired state).
    pub fn clear_failures(&mut self) {
        self.failures = 0;
        self.install_failures = 0;
        self.upgrade_failures = 0;
    }

    /// Namespace and name of the HelmChart recorded in `helmChart`, if any.
    pub fn helm_chart_ref(&self) -> Option<(&str, &str)> {
        self.helm_chart.as_deref()?.split_once('/')
    }

    /// The snapshot with the highest release version.
    pub fn latest_snapshot(&self) -> Option<&Snapshot> {
        self.history.iter().max_by_key(|s| s.version)
    }
}

/// Helm actions the controller performs.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum ReleaseAction {
    /// Install.
    #[serde(rename = "install")]
    Install,
    /// Upgrade.
    #[serde(rename = "upgrade")]
    Upgrade,
    /// Rollback.
    #[serde(rename = "rollback")]
    Rollback,
    /// Uninstall.
    #[serde(rename = "uninstall")]
    Uninstall,
    /// Uninstall as remediation of a failed install or upgrade.
    #[serde(rename = "uninstall-remediation")]
    UninstallRemediation,
}

/// A copy of the facts of one Helm release (one version in Helm's storage).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    /// Version of the snapshot format; tells how `digest` was computed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// Digest (`<algorithm>:<hex>`) of the release object in storage.
    pub digest: String,
    /// Release name.
    pub name: String,
    /// Namespace the release is made in.
    pub namespace: String,
    /// Release version in storage.
    #[schemars(schema_with = "schema::integer")]
    pub version: i64,
    /// Helm's status of the release (`deployed`, `superseded`, `failed`, ...).
    pub status: String,
    /// The action that created this snapshot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "schema::string")]
    pub action: Option<ReleaseAction>,
    /// Name of the released chart.
    pub chart_name: String,
    /// Version of the released chart.
    pub chart_version: String,
    /// App version of the released chart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_version: Option<String>,
    /// Digest (`<algorithm>:<hex>`) of the release's values.
    pub config_digest: String,
    /// When the release was first deployed.
    pub first_deployed: Time,
    /// When the release was last deployed.
    pub last_deployed: Time,
    /// When the release was uninstalled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted: Option<Time>,
    /// Test hooks the controller saw run for this release, by name; present
    /// and empty when the chart has no selected tests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_hooks: Option<BTreeMap<String, TestHookStatus>>,
    /// Digest of the OCI artifact the chart came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oci_digest: Option<String>,
}

impl Snapshot {
    /// `<namespace>/<name>.v<version>`.
    pub fn full_release_name(&self) -> String {
        format!("{}/{}.v{}", self.namespace, self.name, self.version)
    }

    /// `<chart name>@<chart version>`.
    pub fn versioned_chart_name(&self) -> String {
        format!("{}@{}", self.chart_name, self.chart_version)
    }

    /// Whether any test hook is in the given phase (`Succeeded`, `Failed`, ...).
    pub fn has_test_in_phase(&self, phase: &str) -> bool {
        self.test_hooks
            .iter()
            .flat_map(|hooks| hooks.values())
            .any(|h| h.phase.as_deref() == Some(phase))
    }
}

/// What the controller saw of one test hook.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TestHookStatus {
    /// When the hook last started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_started: Option<Time>,
    /// When the hook last completed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_completed: Option<Time>,
    /// Phase the hook was last seen in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
}

/// The objects a release applied.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResourceInventory {
    /// One entry per object.
    pub entries: Vec<ResourceRef>,
}

/// Identifies one applied object.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct ResourceRef {
    /// `<namespace>_<name>_<group>_<kind>` of the object.
    pub id: String,
    /// API version of the object's kind.
    #[serde(rename = "v")]
    pub version: String,
}
