//! Bucket as it was in v1beta2 (deprecated; stored as v1): no
//! `serviceAccountName`, and `accessFrom` still exists. The status is v1's.

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::duration::{Duration, TIMEOUT_PATTERN};
use crate::meta::{AccessFrom, LocalObjectReference};
use crate::source::v1::{BucketProvider, BucketSTSSpec, BucketStatus};

/// Which bucket to mirror, where it is, and how to authenticate (v1beta2).
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "source.toolkit.fluxcd.io",
    version = "v1beta2",
    kind = "Bucket",
    plural = "buckets",
    namespaced,
    status = "BucketStatus",
    derive = "PartialEq",
    deprecated = "v1beta2 Bucket is deprecated, upgrade to v1",
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
    /// Storage service and authentication method; `generic` (any
    /// S3-compatible API) by default.
    #[serde(default)]
    pub provider: BucketProvider,
    /// Name of the bucket.
    pub bucket_name: String,
    /// Address of the storage service (host, host:port or URL).
    pub endpoint: String,
    /// Exchange credentials at a Security Token Service for temporary ones.
    /// Only for the `aws` and `generic` providers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sts: Option<BucketSTSSpec>,
    /// Use plain HTTP to reach the endpoint.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub insecure: bool,
    /// Region of the bucket.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Only objects whose key starts with this prefix are listed (filtered
    /// by the server).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// Secret with the provider's credentials (e.g. `accesskey` and
    /// `secretkey` for `generic` and `aws`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalObjectReference>,
    /// Secret (type `Opaque` or `kubernetes.io/tls`) with a client
    /// certificate and key (`tls.crt`, `tls.key`) and/or a CA bundle
    /// (`ca.crt`) for the TLS connection. Only for the `generic` provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_secret_ref: Option<LocalObjectReference>,
    /// Secret with the proxy (`address`, optional `username`, `password`)
    /// used to reach the endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy_secret_ref: Option<LocalObjectReference>,
    /// How often the bucket is listed for changes (with some jitter).
    pub interval: Duration,
    /// Time limit for listing and downloading; 60s by default.
    #[serde(default = "default_timeout", skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = TIMEOUT_PATTERN))]
    pub timeout: Option<Duration>,
    /// Exclusion patterns in `.sourceignore` (gitignore) syntax, replacing
    /// the built-in defaults.
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
