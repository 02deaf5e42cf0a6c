//! Kustomization (v1beta2): the older shape of the Kustomization API, served
//! so that existing manifests keep applying.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::duration::Duration;
use crate::kustomize::common::{
    CommonMetadata, DecryptionProvider, Image, Json6902Patch, Patch, ResourceInventory,
    SubstituteReference,
};
use crate::meta::{
    KubeConfigReference, LocalObjectReference, NamespacedObjectKindReference,
    NamespacedObjectReference,
};

/// The desired state of a v1beta2 Kustomization.
// kube's `printcolumn(...)` entries repeat `type_ = "string"` by design.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "kustomize.toolkit.fluxcd.io",
    version = "v1beta2",
    kind = "Kustomization",
    plural = "kustomizations",
    namespaced,
    status = "KustomizationStatus",
    derive = "PartialEq",
    shortname = "ks",
    category = "all",
    category = "fluxcd",
    category = "fluxcd-appliers",
    annotation("kustomize.toolkit.fluxcd.io/substitute", "disabled"),
    deprecated = "v1beta2 Kustomization is deprecated, upgrade to v1",
    doc = "Kustomization (v1beta2, deprecated) applies the manifests of a kustomize overlay, built from a source artifact, to a cluster.",
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
pub struct KustomizationSpec {
    /// Labels and annotations added to every applied object; they replace
    /// existing entries with the same key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub common_metadata: Option<CommonMetadata>,
    /// Kustomizations that must be ready before this one is reconciled.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<NamespacedObjectReference>,
    /// How to decrypt encrypted Secrets before applying them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decryption: Option<Decryption>,
    /// How often to reconcile (build, apply, correct drift).
    pub interval: Duration,
    /// How soon to retry after a failed reconcile; `interval` when not set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_interval: Option<Duration>,
    /// Apply to a remote cluster through this kubeconfig instead of the local
    /// one. With `serviceAccountName`, that account is impersonated on the
    /// remote cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kubernetes-validations" = [
        {
            "rule": "has(self.configMapRef) || has(self.secretRef)",
            "message": "spec.kubeConfig needs one of configMapRef or secretRef"
        },
        {
            "rule": "!has(self.configMapRef) || !has(self.secretRef)",
            "message": "spec.kubeConfig takes only one of configMapRef or secretRef"
        }
    ]))]
    pub kube_config: Option<KubeConfigReference>,
    /// Directory in the artifact that holds the kustomization.yaml (or the
    /// plain manifests to generate one for); the artifact root when not set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// What to do with the built manifests before applying them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_build: Option<PostBuild>,
    /// Whether objects applied earlier but no longer built are deleted.
    pub prune: bool,
    /// Objects whose health decides the Kustomization's health.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub health_checks: Vec<NamespacedObjectKindReference>,
    /// Inline strategic-merge or JSON 6902 patches, each with an optional
    /// target selector.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub patches: Vec<Patch>,
    /// Strategic-merge patches as inline objects. Deprecated: use `patches`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "any_json_list_schema")]
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
    /// Service account (in the Kustomization's namespace) to impersonate for
    /// every write to the cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,
    /// The source whose artifact holds the manifests.
    pub source_ref: CrossNamespaceSourceReference,
    /// Stop reconciling; a reconcile already running finishes.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub suspend: bool,
    /// Namespace set on every namespaced object (overriding the overlay's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 63))]
    pub target_namespace: Option<String>,
    /// Time limit for building, applying and health-checking; derived from
    /// `interval` when not set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
    /// Delete and recreate objects whose update is refused because an
    /// immutable field changed.
    #[serde(default)]
    pub force: bool,
    /// Wait for every applied object to become ready (`healthChecks` is then
    /// not used).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub wait: bool,
    /// Paths (relative to `path`) of kustomize Components to include.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub components: Vec<String>,
    /// Deprecated and ignored: accepted so that older manifests still apply.
    /// Manifests are always validated by the API server during server-side
    /// apply, whatever this says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation: Option<ValidationMode>,
}

/// Where the Kustomization's manifests come from.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CrossNamespaceSourceReference {
    /// API version of the source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// Kind of the source.
    pub kind: SourceKind,
    /// Name of the source.
    pub name: String,
    /// Namespace of the source; the Kustomization's namespace when not set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// The kinds of source a v1beta2 Kustomization can build from.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum SourceKind {
    /// An OCIRepository artifact.
    #[serde(rename = "OCIRepository")]
    OciRepository,
    /// A GitRepository artifact.
    GitRepository,
    /// A Bucket artifact.
    Bucket,
}

/// Deprecated and ignored: v1beta2's choice of dry-run validation, accepted
/// so that older manifests still apply. The API server validates every
/// object during server-side apply, whatever this says.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ValidationMode {
    /// No validation.
    None,
    /// Client-side validation.
    Client,
    /// Server-side dry-run validation.
    Server,
}

/// How to decrypt manifests before applying them.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Decryption {
    /// The decryption engine.
    pub provider: DecryptionProvider,
    /// Secret holding the decryption keys (age, OpenPGP) and/or cloud
    /// credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalObjectReference>,
}

/// Steps run on the built manifests before they are applied.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PostBuild {
    /// Variables for `${var}` substitution; these take precedence over
    /// `substituteFrom`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub substitute: BTreeMap<String, String>,
    /// ConfigMaps and Secrets whose data keys and values are substitution
    /// variables.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub substitute_from: Vec<SubstituteReference>,
}

/// The observed state of a v1beta2 Kustomization.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KustomizationStatus {
    /// The generation of the spec last reconciled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Conditions of the Kustomization (`Ready`, `Reconciling`, `Stalled`, `Healthy`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "crate::meta::conditions_schema")]
    pub conditions: Vec<Condition>,
    /// Revision of the source artifact last applied successfully.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_applied_revision: Option<String>,
    /// Revision of the source artifact of the last reconcile attempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_attempted_revision: Option<String>,
    /// The objects applied by the last successful reconcile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inventory: Option<ResourceInventory>,
    /// The `reconcile.fluxcd.io/requestedAt` value last handled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
}

fn any_json_list_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "array",
        "items": { "x-kubernetes-preserve-unknown-fields": true }
    })
}

crate::impl_object_with_conditions!(Kustomization);
crate::impl_flux_object!(Kustomization, required, retry);
