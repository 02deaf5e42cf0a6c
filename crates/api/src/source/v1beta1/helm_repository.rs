//! HelmRepository as it was in v1beta1 (deprecated; stored as v1): HTTP/S
//! indexes only, no `certSecretRef`, `insecure`, `type` or `provider`.

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::duration::{Duration, TIMEOUT_PATTERN};
use crate::meta::{AccessFrom, LocalObjectReference};
use crate::source::v1::HelmRepositoryStatus;

/// Which Helm repository index to fetch and how to authenticate (v1beta1).
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "source.toolkit.fluxcd.io",
    version = "v1beta1",
    kind = "HelmRepository",
    plural = "helmrepositories",
    namespaced,
    status = "HelmRepositoryStatus",
    derive = "PartialEq",
    deprecated = "v1beta1 HelmRepository is deprecated, upgrade to v1",
    shortname = "helmrepo",
    category = "all",
    category = "fluxcd",
    category = "fluxcd-sources",
    annotation("kustomize.toolkit.fluxcd.io/substitute", "disabled"),
    doc = "A Helm chart repository index (deprecated version, stored as v1).",
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
    /// Address of the repository's index.
    pub url: String,
    /// Secret with credentials: `username` and `password` for basic auth,
    /// and TLS keys (`certFile`, `keyFile`, `caFile`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalObjectReference>,
    /// Also send the credentials when a chart URL in the index points at
    /// another host than `url`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub pass_credentials: bool,
    /// How often the index is fetched again.
    pub interval: Duration,
    /// Time limit for fetching the index; 60s by default.
    #[serde(default = "default_timeout", skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = TIMEOUT_PATTERN))]
    pub timeout: Option<Duration>,
    /// Stop reconciling this HelmRepository while true.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub suspend: bool,
    /// Namespaces allowed to refer to this object across namespaces.
    /// Provisional: accepted but not enforced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_from: Option<AccessFrom>,
}

fn default_timeout() -> Option<Duration> {
    "60s".parse().ok()
}

crate::impl_object_with_conditions!(HelmRepository);
crate::impl_flux_object!(HelmRepository, required);
