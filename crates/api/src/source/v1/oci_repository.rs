//! OCIRepository: an artifact made from one layer of an OCI artifact in a
//! container registry.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{OCIProvider, OCIRepositoryVerification};
use crate::duration::{Duration, TIMEOUT_PATTERN};
use crate::meta::{Artifact, LocalObjectReference};

/// Which OCI artifact to pull, which version of it, and how to authenticate.
// kube's `printcolumn(...)` entries repeat `type_ = "string"` by design.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "source.toolkit.fluxcd.io",
    version = "v1",
    kind = "OCIRepository",
    plural = "ocirepositories",
    namespaced,
    status = "OCIRepositoryStatus",
    derive = "PartialEq",
    shortname = "ocirepo",
    category = "all",
    category = "fluxcd",
    category = "fluxcd-sources",
    annotation("kustomize.toolkit.fluxcd.io/substitute", "disabled"),
    doc = "An OCI artifact in a container registry whose selected layer is stored as an artifact.",
    printcolumn(name = "URL", type_ = "string", json_path = ".spec.url"),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = r#".status.conditions[?(@.type=="Ready")].status"#
    ),
    printcolumn(
        name = "Status",
        type_ = "string",
        json_path = r#".status.conditions[?(@.type=="Ready")].message"#
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct OCIRepositorySpec {
    /// Repository address in the registry, `oci://<host>/<path>`.
    #[schemars(regex(pattern = "^oci://.*$"))]
    pub url: String,
    /// Tag, SemVer range or digest to pull; the `latest` tag when unset.
    #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
    pub reference: Option<OCIRepositoryRef>,
    /// Layer to store; the first layer of the artifact when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer_selector: Option<OCILayerSelector>,
    /// Source of registry credentials; `generic` by default.
    #[serde(default)]
    pub provider: OCIProvider,
    /// Secret of type `kubernetes.io/dockerconfigjson` with registry
    /// credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalObjectReference>,
    /// Check the artifact's signature before storing it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify: Option<OCIRepositoryVerification>,
    /// ServiceAccount whose image pull secrets are used as credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,
    /// Secret (type `Opaque` or `kubernetes.io/tls`) with a client
    /// certificate and key (`tls.crt`, `tls.key`) and/or a CA bundle
    /// (`ca.crt`) for the TLS connection to the registry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_secret_ref: Option<LocalObjectReference>,
    /// Secret with the proxy (`address`, optional `username`, `password`)
    /// used to reach the registry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy_secret_ref: Option<LocalObjectReference>,
    /// How often the registry is checked for a new artifact (with some jitter).
    pub interval: Duration,
    /// Time limit of registry operations such as pulling; 60s by default.
    #[serde(default = "default_timeout", skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = TIMEOUT_PATTERN))]
    pub timeout: Option<Duration>,
    /// Exclusion patterns in `.sourceignore` (gitignore) syntax, replacing
    /// the built-in defaults.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore: Option<String>,
    /// Use plain HTTP to reach the registry.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub insecure: bool,
    /// Stop reconciling this OCIRepository while true.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub suspend: bool,
}

fn default_timeout() -> Option<Duration> {
    "60s".parse().ok()
}

impl OCIRepositorySpec {
    /// The layer operation to apply: the selector's, or `extract` when unset.
    pub fn layer_operation(&self) -> OCILayerOperation {
        self.layer_selector
            .as_ref()
            .and_then(|s| s.operation)
            .unwrap_or_default()
    }

    /// The tag to pull when the reference names no digest, SemVer range or
    /// tag: `latest`.
    pub fn tag(&self) -> &str {
        match self.reference.as_ref().and_then(|r| r.tag.as_deref()) {
            Some(tag) if !tag.is_empty() => tag,
            _ => "latest",
        }
    }
}

/// The version of the artifact to pull. When several fields are set,
/// `digest` wins over `semver`, and `semver` over `tag`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OCIRepositoryRef {
    /// Exact manifest digest, `sha256:<hex>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// SemVer range; the highest matching tag is pulled.
    #[serde(default, rename = "semver", skip_serializing_if = "Option::is_none")]
    pub semver: Option<String>,
    /// Regular expression tags must also match to be considered for `semver`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub semver_filter: Option<String>,
    /// Tag to pull; `latest` when nothing else is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
}

/// Which layer of the OCI artifact to store, and how.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OCILayerSelector {
    /// Media type of the layer; the first layer of this type is selected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// What to do with the layer: `extract` its (tar+gzip) contents, the
    /// default, or `copy` the compressed blob as it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<OCILayerOperation>,
}

/// How a selected layer is turned into the artifact.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum OCILayerOperation {
    /// Unpack the compressed tarball into the artifact.
    #[default]
    Extract,
    /// Store the compressed layer unchanged.
    Copy,
}

/// What the controller last observed and produced for an OCIRepository.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OCIRepositoryStatus {
    /// Generation of the spec the status was written for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Current conditions (`Ready`, `Reconciling`, `Stalled`, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "crate::meta::conditions_schema")]
    pub conditions: Vec<Condition>,
    /// Download address of the latest artifact; prefer `artifact.url`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The archive produced by the last successful reconcile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact: Option<Artifact>,
    /// Exclusion patterns used for the current artifact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_ignore: Option<String>,
    /// Layer selector used for the current artifact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_layer_selector: Option<OCILayerSelector>,
    /// Last `reconcile.fluxcd.io/requestedAt` value acted upon.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
}

crate::impl_object_with_conditions!(OCIRepository);
crate::impl_flux_object!(OCIRepository, required);
