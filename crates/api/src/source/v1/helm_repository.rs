//! HelmRepository: a Helm chart repository, either an HTTP/S index or an
//! OCI registry.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::OCIProvider;
use crate::duration::{Duration, TIMEOUT_PATTERN};
use crate::meta::{AccessFrom, Artifact, LocalObjectReference};

/// Where Helm charts are published and how to reach them. An HTTP/S
/// repository yields its `index.yaml` as the artifact; an OCI repository
/// yields no artifact and only serves HelmCharts that point at it.
// kube's `printcolumn(...)` entries repeat `type_ = "string"` by design.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "source.toolkit.fluxcd.io",
    version = "v1",
    kind = "HelmRepository",
    plural = "helmrepositories",
    namespaced,
    status = "HelmRepositoryStatus",
    derive = "PartialEq",
    shortname = "helmrepo",
    category = "all",
    category = "fluxcd",
    category = "fluxcd-sources",
    annotation("kustomize.toolkit.fluxcd.io/substitute", "disabled"),
    doc = "A Helm chart repository (HTTP/S index or OCI registry) that HelmCharts pull from.",
    printcolumn(name = "URL", type_ = "string", json_path = ".spec.url"),
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
pub struct HelmRepositorySpec {
    /// Address of the repository: `http://` or `https://` for an index,
    /// `oci://` for a registry (then `type` must be `oci`).
    #[schemars(regex(pattern = "^(http|https|oci)://.*$"))]
    pub url: String,
    /// Secret with credentials: `username` and `password` for basic auth.
    /// TLS keys (`certFile`, `keyFile`, `caFile`) are still read from it but
    /// are deprecated in favour of `certSecretRef`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalObjectReference>,
    /// Secret (type `Opaque` or `kubernetes.io/tls`) with a client
    /// certificate and key (`tls.crt`, `tls.key`) and/or a CA bundle
    /// (`ca.crt`) for the TLS connection. Wins over TLS keys in `secretRef`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_secret_ref: Option<LocalObjectReference>,
    /// Also send the `secretRef` credentials when a chart URL in the index
    /// points at another host than `url`. Only enable for hosts you trust:
    /// the credentials leave the repository's host.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub pass_credentials: bool,
    /// How often the index is fetched again (with some jitter). Not used for
    /// OCI repositories; one minute when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<Duration>,
    /// Use plain HTTP to reach the registry. Only for `type: oci`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub insecure: bool,
    /// Time limit for fetching the index, or for OCI operations done for
    /// HelmCharts that use this repository; 60s when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = TIMEOUT_PATTERN))]
    pub timeout: Option<Duration>,
    /// Stop reconciling this HelmRepository while true.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub suspend: bool,
    /// Namespaces allowed to refer to this object across namespaces.
    /// Provisional: accepted but not enforced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_from: Option<AccessFrom>,
    /// Kind of repository: `default` (HTTP/S index) when unset, or `oci`
    /// (then `url` must start with `oci://`).
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<HelmRepositoryType>,
    /// Source of registry credentials, for `type: oci` only.
    #[serde(default)]
    pub provider: OCIProvider,
}

/// The two kinds of Helm repository.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum HelmRepositoryType {
    /// An HTTP/S server with an `index.yaml`.
    #[default]
    Default,
    /// An OCI registry holding charts as OCI artifacts.
    Oci,
}

impl HelmRepositorySpec {
    /// The repository's type, `default` when unset.
    pub fn repository_type(&self) -> HelmRepositoryType {
        self.type_.unwrap_or_default()
    }

    /// Whether this is an OCI registry.
    pub fn is_oci(&self) -> bool {
        self.repository_type() == HelmRepositoryType::Oci
    }

    /// How often to reconcile: `interval`, or one minute when unset.
    pub fn interval(&self) -> std::time::Duration {
        self.interval
            .as_ref()
            .map_or(std::time::Duration::from_secs(60), Duration::as_std)
    }

    /// Time limit of remote operations: `timeout`, or 60 seconds when unset.
    pub fn timeout(&self) -> std::time::Duration {
        self.timeout
            .as_ref()
            .map_or(std::time::Duration::from_secs(60), Duration::as_std)
    }
}

/// What the controller last observed and produced for a HelmRepository.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HelmRepositoryStatus {
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
    /// The index produced by the last successful reconcile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact: Option<Artifact>,
    /// Last `reconcile.fluxcd.io/requestedAt` value acted upon.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
}

crate::impl_object_with_conditions!(HelmRepository);
crate::impl_flux_object!(HelmRepository, optional);
