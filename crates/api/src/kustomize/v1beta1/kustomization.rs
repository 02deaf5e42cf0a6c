//! Kustomization (v1beta1): the oldest shape of the Kustomization API Flux
//! 2.0 served. Against v1beta2: no `commonMetadata`, `components` or
//! `wait`, `kubeConfig` takes only a `secretRef`, sources are GitRepository
//! or Bucket.

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::duration::Duration;
use crate::kustomize::common::{Image, Json6902Patch, Patch};
use crate::kustomize::v1::KustomizationStatus;
use crate::kustomize::v1beta2::{Decryption, PostBuild, ValidationMode};
use crate::meta::{LocalObjectReference, NamespacedObjectKindReference, NamespacedObjectReference};

/// The desired state of a v1beta1 Kustomization.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "kustomize.toolkit.fluxcd.io",
    version = "v1beta1",
    kind = "Kustomization",
    plural = "kustomizations",
    namespaced,
    status = "KustomizationStatus",
    derive = "PartialEq",
    deprecated = "v1beta1 Kustomization is deprecated, upgrade to v1",
    shortname = "ks",
    category = "all",
    category = "fluxcd",
    category = "fluxcd-appliers",
    annotation("kustomize.toolkit.fluxcd.io/substitute", "disabled"),
    doc = "Kustomization (v1beta1, deprecated) applies the manifests of a kustomize overlay, built from a source artifact, to a cluster.",
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
    /// Apply to a remote cluster through the kubeconfig in this Secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kube_config: Option<KubeConfig>,
    /// Directory in the artifact that holds the kustomization.yaml; the
    /// artifact root when not set.
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
    /// Deprecated and ignored: the API server validates every object during
    /// server-side apply, whatever this says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation: Option<ValidationMode>,
    /// Delete and recreate objects whose update is refused because an
    /// immutable field changed.
    #[serde(default)]
    pub force: bool,
}

/// The Secret holding a kubeconfig for a remote cluster (v1beta1).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KubeConfig {
    /// Secret (in the Kustomization's namespace) with the kubeconfig under
    /// `value` or `value.yaml`.
    pub secret_ref: LocalObjectReference,
}

/// Where a v1beta1 Kustomization's manifests come from.
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

/// The kinds of source a v1beta1 Kustomization can build from.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum SourceKind {
    /// A GitRepository artifact.
    GitRepository,
    /// A Bucket artifact.
    Bucket,
}

fn any_json_list_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "array",
        "items": { "x-kubernetes-preserve-unknown-fields": true }
    })
}

crate::impl_object_with_conditions!(Kustomization);
crate::impl_flux_object!(Kustomization, required, retry);
