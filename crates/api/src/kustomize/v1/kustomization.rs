//! Kustomization (v1): build a kustomize overlay from a source artifact and
//! apply it to a cluster.

use std::collections::BTreeMap;
use std::time;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::duration::Duration;
use crate::kustomize::common::{
    CommonMetadata, CustomHealthCheck, DecryptionProvider, Image, Json6902Patch, Patch,
    ResourceInventory, Selector, SubstituteReference,
};
use crate::meta::{
    DependencyReference, KubeConfigReference, LocalObjectReference, NamespacedObjectKindReference,
    Snapshot,
};

/// The desired state of a Kustomization: which source artifact to build, how
/// to build it and how to apply, prune and health-check the result.
// kube's `printcolumn(...)` entries repeat `type_ = "string"` by design.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "kustomize.toolkit.fluxcd.io",
    version = "v1",
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
    doc = "Kustomization applies the manifests of a kustomize overlay, built from a source artifact, to a cluster.",
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
    pub depends_on: Vec<DependencyReference>,
    /// How to decrypt encrypted Secrets (and other files) before applying them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decryption: Option<Decryption>,
    /// How often to reconcile (build, apply, correct drift). The controller
    /// may add a little jitter.
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
    /// What happens to the applied objects when the Kustomization is deleted;
    /// `MirrorPrune` when not set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_policy: Option<DeletionPolicy>,
    /// Objects whose health decides the Kustomization's health.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub health_checks: Vec<NamespacedObjectKindReference>,
    /// Prefix added to the name of every applied object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 200))]
    pub name_prefix: Option<String>,
    /// Suffix added to the name of every applied object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 200))]
    pub name_suffix: Option<String>,
    /// Inline strategic-merge or JSON 6902 patches, each with an optional
    /// target selector.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub patches: Vec<Patch>,
    /// Strategic-merge patches as inline objects: v1beta1/v1beta2's form,
    /// kept so that a write through v1 does not prune what an old manifest
    /// set. Deprecated: use `patches`; the controller reads these as
    /// `patches` entries (see `ferroflux_api::deprecation`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "any_json_list_schema")]
    pub patches_strategic_merge: Vec<serde_json::Value>,
    /// JSON 6902 patches as inline operation lists: v1beta1/v1beta2's form,
    /// kept as `patchesStrategicMerge` is. Deprecated: use `patches`.
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
    /// `interval` when not set (see [`KustomizationSpec::timeout`]).
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
    /// Kustomize build metadata to record on the built objects.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub build_metadata: Vec<BuildMetadataOption>,
    /// Paths (relative to `path`) of kustomize Components to include.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub components: Vec<String>,
    /// Leave out components whose path does not exist in the artifact
    /// instead of failing.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ignore_missing_components: bool,
    /// CEL expressions that decide the health of custom resources, used
    /// when `wait` or `healthChecks` is set.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub health_check_exprs: Vec<CustomHealthCheck>,
    /// Fields that drift detection and apply leave alone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignore: Vec<IgnoreRule>,
}

impl KustomizationSpec {
    /// Time limit of one reconcile: `timeout` when set, else `interval` minus
    /// 30s, and never less than 30s.
    pub fn timeout(&self) -> time::Duration {
        let floor = time::Duration::from_secs(30);
        let d = match &self.timeout {
            Some(t) => t.as_std(),
            None => self.interval.as_std().saturating_sub(floor),
        };
        d.max(floor)
    }

    /// Delay before retrying a failed reconcile: `retryInterval`, else `interval`.
    pub fn retry_interval(&self) -> time::Duration {
        self.retry_interval
            .as_ref()
            .unwrap_or(&self.interval)
            .as_std()
    }

    /// The deletion policy, `MirrorPrune` when not set.
    pub fn deletion_policy(&self) -> DeletionPolicy {
        self.deletion_policy.unwrap_or_default()
    }

    /// The substitution strategy, `WithVariables` when not set.
    pub fn substitute_strategy(&self) -> SubstituteStrategy {
        self.post_build
            .as_ref()
            .and_then(|p| p.substitute_strategy)
            .unwrap_or_default()
    }
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

impl std::fmt::Display for CrossNamespaceSourceReference {
    /// `Kind/name`, or `Kind/namespace/name` when a namespace is set.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.namespace {
            Some(ns) if !ns.is_empty() => write!(f, "{}/{}/{}", self.kind.as_str(), ns, self.name),
            _ => write!(f, "{}/{}", self.kind.as_str(), self.name),
        }
    }
}

/// The kinds of source a v1 Kustomization can build from.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum SourceKind {
    /// An OCIRepository artifact.
    #[serde(rename = "OCIRepository")]
    OciRepository,
    /// A GitRepository artifact.
    GitRepository,
    /// A Bucket artifact.
    Bucket,
    /// An ExternalArtifact (an artifact produced outside source-controller).
    ExternalArtifact,
}

impl SourceKind {
    /// The kind as written in manifests.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OciRepository => "OCIRepository",
            Self::GitRepository => "GitRepository",
            Self::Bucket => "Bucket",
            Self::ExternalArtifact => "ExternalArtifact",
        }
    }

    /// How the kind is reached through the API (the source kinds table).
    pub fn info(self) -> &'static crate::source::SourceKindInfo {
        use crate::source::kinds;
        match self {
            Self::OciRepository => &kinds::OCI_REPOSITORY,
            Self::GitRepository => &kinds::GIT_REPOSITORY,
            Self::Bucket => &kinds::BUCKET,
            Self::ExternalArtifact => &kinds::EXTERNAL_ARTIFACT,
        }
    }

    /// Every kind a Kustomization may build from.
    pub const ALL: [SourceKind; 4] = [
        Self::GitRepository,
        Self::OciRepository,
        Self::Bucket,
        Self::ExternalArtifact,
    ];
}

/// What happens to the applied objects when the Kustomization is deleted;
/// `MirrorPrune` when not set.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum DeletionPolicy {
    /// Follow `prune`: delete the objects when it is true, keep them otherwise.
    #[default]
    MirrorPrune,
    /// Delete the objects.
    Delete,
    /// Delete the objects and wait until they are gone.
    WaitForTermination,
    /// Keep the objects.
    Orphan,
}

/// Build metadata kustomize can record on the objects it builds.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum BuildMetadataOption {
    /// `config.kubernetes.io/origin` annotations: the file each object came from.
    OriginAnnotations,
    /// Annotations naming the transformers that changed each object.
    TransformerAnnotations,
}

/// How to decrypt manifests before applying them.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Decryption {
    /// The decryption engine.
    pub provider: DecryptionProvider,
    /// Service account whose workload identity is used to reach cloud KMS
    /// services; static credentials in `secretRef` take precedence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,
    /// Secret holding the decryption keys (age, OpenPGP) and/or cloud
    /// credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalObjectReference>,
}

/// Steps run on the built manifests before they are applied.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PostBuild {
    /// When substitution runs; `WithVariables` when not set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub substitute_strategy: Option<SubstituteStrategy>,
    /// Variables for `${var}` substitution (bash-style forms such as
    /// `${var:=default}` are understood). These take precedence over
    /// `substituteFrom`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub substitute: BTreeMap<String, String>,
    /// ConfigMaps and Secrets whose data keys and values are substitution
    /// variables; later entries override earlier ones.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub substitute_from: Vec<SubstituteReference>,
}

/// When post-build substitution runs; `WithVariables` when not set.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum SubstituteStrategy {
    /// Only when at least one variable is defined (inline or referenced).
    #[default]
    WithVariables,
    /// Always, so that `${var:=default}` forms apply with no variables defined.
    Always,
}

/// Fields drift detection and apply leave alone on selected objects.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct IgnoreRule {
    /// JSON pointers (RFC 6901) of the fields to leave alone.
    pub paths: Vec<String>,
    /// The objects the rule applies to; every applied object when not set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<Selector>,
}

/// The observed state of a Kustomization.
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
    /// Origin revision (e.g. the `org.opencontainers.image.revision`
    /// annotation of an OCI artifact) of the artifact last applied successfully.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_applied_origin_revision: Option<String>,
    /// Revision of the source artifact of the last reconcile attempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_attempted_revision: Option<String>,
    /// The objects applied by the last successful reconcile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inventory: Option<ResourceInventory>,
    /// The most recent reconciles (newest first), one entry per distinct
    /// set of applied manifests and outcome.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<Snapshot>,
    /// The `reconcile.fluxcd.io/requestedAt` value last handled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
}

crate::impl_object_with_conditions!(Kustomization);
crate::impl_flux_object!(Kustomization, required, retry);

fn any_json_list_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "array",
        "items": { "x-kubernetes-preserve-unknown-fields": true }
    })
}
