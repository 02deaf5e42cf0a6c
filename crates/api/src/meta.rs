//! Types shared by every Flux API group (Flux's `github.com/fluxcd/pkg/apis/meta`).

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Annotation whose value changing asks a controller to reconcile now.
pub const RECONCILE_REQUEST_ANNOTATION: &str = "reconcile.fluxcd.io/requestedAt";
/// Annotation whose value changing asks a controller to force a release/apply.
pub const FORCE_REQUEST_ANNOTATION: &str = "reconcile.fluxcd.io/forceAt";
/// Annotation whose value changing asks helm-controller to reset retries.
pub const RESET_REQUEST_ANNOTATION: &str = "reconcile.fluxcd.io/resetAt";

/// A reference to an object in the same namespace.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct LocalObjectReference {
    /// Name of the referent.
    pub name: String,
}

/// A reference to an object, in the same namespace unless `namespace` is set.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct NamespacedObjectReference {
    /// Name of the referent.
    pub name: String,
    /// Namespace of the referent, when not specified it acts as LocalObjectReference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// A reference to a dependency: an object of the same kind, optionally in
/// another namespace, optionally with a CEL readiness expression.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DependencyReference {
    /// Name of the referent.
    pub name: String,
    /// Namespace of the referent, defaults to the namespace of the object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// ReadyExpr is a CEL expression that can be used to assess the readiness
    /// of a dependency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready_expr: Option<String>,
}

/// A reference to an object of a given kind, optionally in another namespace.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NamespacedObjectKindReference {
    /// API version of the referent, if not specified the Kubernetes preferred version will be used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// Kind of the referent.
    pub kind: String,
    /// Name of the referent.
    pub name: String,
    /// Namespace of the referent, when not specified it acts as LocalObjectReference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// A reference to a key of a Secret in the same namespace.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct SecretKeyReference {
    /// Name of the Secret.
    pub name: String,
    /// Key in the Secret, when not specified an implementation-specific default key is used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

/// Where to find a KubeConfig for a remote cluster.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {
        "message": "spec.kubeConfig needs one of configMapRef or secretRef",
        "rule": "has(self.configMapRef) || has(self.secretRef)"
    },
    {
        "message": "spec.kubeConfig takes configMapRef or secretRef, not both",
        "rule": "!has(self.configMapRef) || !has(self.secretRef)"
    }
]))]
pub struct KubeConfigReference {
    /// ConfigMapRef holds an optional name of a ConfigMap that contains the
    /// keys for a cloud provider's workload identity (provider, cluster,
    /// address, ca.crt, audiences, serviceAccountName).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_map_ref: Option<LocalObjectReference>,
    /// SecretRef holds an optional name of a secret that contains a key with
    /// the kubeconfig file as the value (key `value` or `value.yaml` when not set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<SecretKeyReference>,
}

/// A reference to a ConfigMap or Secret holding Helm values.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ValuesReference {
    /// Kind of the values referent, valid values are ('Secret', 'ConfigMap').
    pub kind: ValuesReferenceKind,
    /// Name of the values referent. Should reside in the same namespace as the
    /// referring resource.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// ValuesKey is the data key where the values.yaml or a specific value can be
    /// found at. Defaults to 'values.yaml'.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 253), regex(pattern = r"^[\-._a-zA-Z0-9]+$"))]
    pub values_key: Option<String>,
    /// TargetPath is the YAML dot notation path the value should be merged at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(max = 250),
        regex(pattern = r"^([a-zA-Z0-9_\-.\\\/]|\[[0-9]{1,5}\])+$")
    )]
    pub target_path: Option<String>,
    /// Optional marks this ValuesReference as optional.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub optional: bool,
    /// Literal marks the value as a literal string (like `--set-literal`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub literal: bool,
}

/// The kinds a [`ValuesReference`] may point at.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum ValuesReferenceKind {
    /// A Secret.
    Secret,
    /// A ConfigMap.
    #[default]
    ConfigMap,
}

/// The output of a source reconciliation: a tarball served over HTTP.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Artifact {
    /// Checksum of the file, `<algorithm>:<hex>` (e.g. `sha256:...`).
    /// Required by the schema; tolerated as missing when reading.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(
        required,
        regex(pattern = "^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$")
    )]
    pub digest: Option<String>,
    /// Location of the file relative to the storage root.
    pub path: String,
    /// Where the controller serves the file over HTTP.
    pub url: String,
    /// What the file was made from, in the origin's terms: e.g.
    /// `main@sha1:<commit>`, a chart version, or `<tag>@sha256:<digest>`.
    pub revision: String,
    /// When the file last changed.
    pub last_update_time: Time,
    /// File size in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<i64>,
    /// Extra facts from the origin, such as OCI manifest annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
}

impl Artifact {
    /// Whether this artifact has the given revision.
    pub fn has_revision(&self, revision: &str) -> bool {
        self.revision == revision
    }

    /// The revision of what the artifact was built from, when its origin
    /// recorded one (an OCI artifact pushed from Git carries
    /// `org.opencontainers.image.revision`).
    pub fn origin_revision(&self) -> Option<&str> {
        self.metadata
            .get("org.opencontainers.image.revision")
            .map(String::as_str)
    }
}

impl ValuesReference {
    /// The data key to read: `valuesKey`, or `values.yaml` when it is unset or empty.
    pub fn values_key_or_default(&self) -> &str {
        match self.values_key.as_deref() {
            Some(key) if !key.is_empty() => key,
            _ => "values.yaml",
        }
    }
}

// Kustomize-flavoured shared types (Flux's `github.com/fluxcd/pkg/apis/kustomize`).

/// Selects resources by GVK, namespace, name, annotations and labels; a
/// resource must match every field that is set.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Selector {
    /// API group to match (regular expression).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// API version to match (regular expression).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Kind to match (regular expression).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Namespace to match (regular expression).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Name to match (regular expression).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Label-selector expression evaluated against the resource's annotations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotation_selector: Option<String>,
    /// Label-selector expression evaluated against the resource's labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_selector: Option<String>,
}

/// An inline patch (strategic merge, or a JSON 6902 operation list) and the
/// resources it applies to.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Patch {
    /// The patch document: a strategic-merge object or a JSON 6902 operation array, as YAML/JSON text.
    pub patch: String,
    /// Resources the patch applies to; when unset, the patch names its own target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<Selector>,
}

/// Rewrites the name, tag or digest of every container image called `name`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Image {
    /// Image name to match, without tag or digest.
    pub name: String,
    /// Replacement image name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_name: Option<String>,
    /// Replacement tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_tag: Option<String>,
    /// Replacement digest; takes precedence over `newTag`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
}

/// CEL expressions that decide the health of custom resources of one API
/// group (and optionally one kind).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CustomHealthCheck {
    /// API version (only its group is matched) of the resources to check.
    pub api_version: String,
    /// Kind of the resources to check; every kind of the group when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Expression that is true once the resource has reached its desired state.
    pub current: String,
    /// Expression that is true while the resource is still progressing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_progress: Option<String>,
    /// Expression that is true when the resource has failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed: Option<String>,
}

/// An access control list: which namespaces may refer to an object from
/// another namespace (Flux's `acl.AccessFrom`; provisional, not enforced by Flux).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccessFrom {
    /// Namespace selectors, combined with OR.
    pub namespace_selectors: Vec<NamespaceSelector>,
}

/// Selects namespaces by their labels.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NamespaceSelector {
    /// Labels a namespace must all carry (key equal to value) to be selected.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub match_labels: BTreeMap<String, String>,
}

/// Schema of a `conditions` list: Kubernetes' `metav1.Condition` with the
/// validations the API server's own CRDs carry (status enum, reason and type
/// patterns, length limits). Use with `#[schemars(schema_with = "...")]`.
pub fn conditions_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
    use serde_json::json;
    let mut item = <Condition as JsonSchema>::json_schema(generator);
    let limits = [
        ("message", json!({"maxLength": 32768})),
        ("observedGeneration", json!({"minimum": 0})),
        (
            "reason",
            json!({"maxLength": 1024, "minLength": 1, "pattern": "^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$"}),
        ),
        ("status", json!({"enum": ["True", "False", "Unknown"]})),
        (
            "type",
            json!({
                "maxLength": 316,
                "pattern": "^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$"
            }),
        ),
    ];
    if let Some(props) = item
        .get_mut("properties")
        .and_then(serde_json::Value::as_object_mut)
    {
        for (name, extra) in limits {
            if let (Some(prop), Some(extra)) = (
                props
                    .get_mut(name)
                    .and_then(serde_json::Value::as_object_mut),
                extra.as_object(),
            ) {
                prop.extend(extra.clone());
            }
        }
    }
    schemars::json_schema!({"type": "array", "items": item})
}

/// One entry of a reconcile history (Flux's `meta.History` is a list of
/// these, newest first): a distinct set of applied manifests and the outcome
/// of reconciling it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    /// Checksum (`<algorithm>:<hex>`) of the manifests reconciled.
    pub digest: String,
    /// When these manifests were first reconciled.
    pub first_reconciled: Time,
    /// When these manifests were last reconciled.
    pub last_reconciled: Time,
    /// How long the last reconcile took, as a Go duration string (e.g. `2.5s`).
    pub last_reconciled_duration: String,
    /// Reason of the last reconcile's outcome, e.g. `ReconciliationSucceeded`.
    pub last_reconciled_status: String,
    /// How many times these manifests were reconciled with this outcome.
    pub total_reconciliations: i64,
    /// Extra information, such as the source revision.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
}
