//! Bucket as it was in v1beta1 (deprecated; stored as v1): no `sts`,
//! `prefix`, `certSecretRef`, `proxySecretRef` or `serviceAccountName`.

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::duration::{Duration, TIMEOUT_PATTERN};
use crate::meta::{AccessFrom, LocalObjectReference};
use crate::source::v1::{BucketProvider, BucketStatus};

/// Which bucket to mirror, where it is, and how to authenticate (v1beta1).
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "source.toolkit.fluxcd.io",
    version = "v1beta1",
    kind = "Bucket",
    plural = "buckets",
    namespaced,
    status = "BucketStatus",
    derive = "PartialEq",
    deprecated = "v1beta1 Bucket is deprecated, upgrade to v1",
    category = "all",
    category = "fluxcd",
    category = "fluxcd-sources",
    annotation("kustomize.toolkit.fluxcd.io/substitute", "disabled"),
    doc = "A bucket of an object storage service (deprecated version, stored as v1).",
    printcolumn(name = "Endpoint", type_ = "string", json_path = ".spec.endpoint"),
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
pub struct BucketSpec {
    /// Storage service and authentication method; `generic` by default.
    #[serde(default)]
    pub provider: BucketProvider,
    /// Name of the bucket.
    pub bucket_name: String,
    /// Address of the storage service.
    pub endpoint: String,
    /// Use plain HTTP to reach the endpoint.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub insecure: bool,
    /// Region of the bucket.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Secret with the provider's credentials (`accesskey`, `secretkey`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalObjectReference>,
    /// How often the bucket is listed for changes.
    pub interval: Duration,
    /// Time limit for listing and downloading; 60s by default.
    #[serde(default = "default_timeout", skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = TIMEOUT_PATTERN))]
    pub timeout: Option<Duration>,
    /// Exclusion patterns in `.sourceignore` (gitignore) syntax.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore: Option<String>,
    /// Stop reconciling this Bucket while true.
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

crate::impl_object_with_conditions!(Bucket);
crate::impl_flux_object!(Bucket, required);
