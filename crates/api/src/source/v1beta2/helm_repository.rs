//! HelmRepository as it was in v1beta2 (deprecated; stored as v1). The
//! spec has the same fields as v1; the status is v1's (see the module docs).

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::duration::{Duration, TIMEOUT_PATTERN};
use crate::meta::{AccessFrom, LocalObjectReference};
use crate::source::v1::{HelmRepositoryStatus, HelmRepositoryType, OCIProvider};

/// Where Helm charts are published and how to reach them (v1beta2).
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "source.toolkit.fluxcd.io",
    version = "v1beta2",
    kind = "HelmRepository",
    plural = "helmrepositories",
    namespaced,
    status = "HelmRepositoryStatus",
    derive = "PartialEq",
    deprecated = "v1beta2 HelmRepository is deprecated, upgrade to v1",
    shortname = "helmrepo",
    category = "all",
    category = "fluxcd",
    category = "fluxcd-sources",
    annotation("kustomize.toolkit.fluxcd.io/substitute", "disabled"),
    doc = "A Helm chart repository (deprecated version, stored as v1).",
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

crate::impl_object_with_conditions!(HelmRepository);
crate::impl_flux_object!(HelmRepository, optional);
