//! Bucket: an artifact made from the objects of an S3-compatible, Google
//! Cloud Storage or Azure Blob Storage bucket.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::duration::{Duration, TIMEOUT_PATTERN};
use crate::meta::{Artifact, LocalObjectReference};

/// Which bucket to mirror, where it is, and how to authenticate.
// kube's `printcolumn(...)` entries repeat `type_ = "string"` by design.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "source.toolkit.fluxcd.io",
    version = "v1",
    kind = "Bucket",
    plural = "buckets",
    namespaced,
    status = "BucketStatus",
    derive = "PartialEq",
    category = "all",
    category = "fluxcd",
    category = "fluxcd-sources",
    annotation("kustomize.toolkit.fluxcd.io/substitute", "disabled"),
    doc = "An object storage bucket whose contents are packaged as an artifact.",
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
#[schemars(extend("x-kubernetes-validations" = [
    {
        "message": "spec.sts can only be used with the 'aws' and 'generic' providers",
        "rule": "self.provider == 'aws' || self.provider == 'generic' || !has(self.sts)"
    },
    {
        "message": "the 'aws' provider only works with the 'aws' STS provider",
        "rule": "self.provider != 'aws' || !has(self.sts) || self.sts.provider == 'aws'"
    },
    {
        "message": "the 'generic' provider only works with the 'ldap' STS provider",
        "rule": "self.provider != 'generic' || !has(self.sts) || self.sts.provider == 'ldap'"
    },
    {
        "message": "spec.sts.secretRef must not be set for the 'aws' STS provider",
        "rule": "!has(self.sts) || self.sts.provider != 'aws' || !has(self.sts.secretRef)"
    },
    {
        "message": "spec.sts.certSecretRef must not be set for the 'aws' STS provider",
        "rule": "!has(self.sts) || self.sts.provider != 'aws' || !has(self.sts.certSecretRef)"
    },
    {
        "message": "spec.serviceAccountName cannot be used with the 'generic' provider",
        "rule": "self.provider != 'generic' || !has(self.serviceAccountName)"
    },
    {
        "message": "spec.secretRef and spec.serviceAccountName are mutually exclusive",
        "rule": "!has(self.secretRef) || !has(self.serviceAccountName)"
    }
]))]
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
    /// ServiceAccount whose workload identity authenticates to the bucket.
    /// Only for the `aws`, `azure` and `gcp` providers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,
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
}

fn default_timeout() -> Option<Duration> {
    "60s".parse().ok()
}

/// Storage services a Bucket can read from.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum BucketProvider {
    /// Any S3-compatible API (MinIO, Ceph, ...), static or STS credentials.
    #[default]
    Generic,
    /// Amazon S3, with static credentials, the pod's identity or STS.
    Aws,
    /// Google Cloud Storage, with a service account key or workload identity.
    Gcp,
    /// Azure Blob Storage, with a service principal, managed identity, shared
    /// key or SAS token.
    Azure,
}

/// A Security Token Service handing out temporary bucket credentials.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BucketSTSSpec {
    /// Kind of token service.
    pub provider: BucketSTSProvider,
    /// HTTP/S address of the token service.
    #[schemars(regex(pattern = "^(http|https)://.*$"))]
    pub endpoint: String,
    /// Secret with `username` and `password` for the token service; `ldap` only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalObjectReference>,
    /// Secret (type `Opaque` or `kubernetes.io/tls`) with a client
    /// certificate and key (`tls.crt`, `tls.key`) and/or a CA bundle
    /// (`ca.crt`) for the token service; `ldap` only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_secret_ref: Option<LocalObjectReference>,
}

/// Kinds of Security Token Service.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum BucketSTSProvider {
    /// AWS STS.
    Aws,
    /// An LDAP-backed STS (e.g. MinIO's).
    Ldap,
}

/// What the controller last observed and produced for a Bucket.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BucketStatus {
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
    /// Last `reconcile.fluxcd.io/requestedAt` value acted upon.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
}

crate::impl_object_with_conditions!(Bucket);
crate::impl_flux_object!(Bucket, required);
