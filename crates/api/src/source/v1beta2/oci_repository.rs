//! OCIRepository as it was in v1beta2 (deprecated; stored as v1). The spec
//! has the same fields as v1; the status is v1's (see the module docs).

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::duration::{Duration, TIMEOUT_PATTERN};
use crate::meta::LocalObjectReference;
use crate::source::v1::{
    OCILayerSelector, OCIProvider, OCIRepositoryRef, OCIRepositoryStatus, OCIRepositoryVerification,
};

/// Which OCI artifact to pull, which version of it, and how to authenticate (v1beta2).
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "source.toolkit.fluxcd.io",
    version = "v1beta2",
    kind = "OCIRepository",
    plural = "ocirepositories",
    namespaced,
    status = "OCIRepositoryStatus",
    derive = "PartialEq",
    deprecated = "v1beta2 OCIRepository is deprecated, upgrade to v1",
    shortname = "ocirepo",
    category = "all",
    category = "fluxcd",
    category = "fluxcd-sources",
    annotation("kustomize.toolkit.fluxcd.io/substitute", "disabled"),
    doc = "An OCI artifact in a container registry (deprecated version, stored as v1).",
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

crate::impl_object_with_conditions!(OCIRepository);
crate::impl_flux_object!(OCIRepository, required);
