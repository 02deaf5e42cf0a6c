//! Provider as it was in v1beta1 (deprecated; stored as v1beta3, whose status it
//! shares): no `proxySecretRef`, `serviceAccountName` or `commitStatusExpr`,
//! and the types Flux's v1beta1 knew.

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::duration::{Duration, TIMEOUT_PATTERN};
use crate::meta::LocalObjectReference;
use crate::notification::v1beta3::{ProviderStatus, ProviderType};

/// The kind of service, its address and the credentials to reach it (v1beta1).
// kube's `printcolumn(...)` entries repeat `type_ = "string"` by design.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "notification.toolkit.fluxcd.io",
    version = "v1beta1",
    kind = "Provider",
    plural = "providers",
    namespaced,
    status = "ProviderStatus",
    derive = "PartialEq",
    deprecated = "v1beta1 Provider is deprecated, upgrade to v1beta3",
    category = "all",
    category = "fluxcd",
    category = "fluxcd-notifications",
    annotation("kustomize.toolkit.fluxcd.io/substitute", "disabled"),
    doc = "Provider (v1beta1, deprecated) describes a service that Alerts deliver events to.",
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct ProviderSpec {
    /// The kind of service events are delivered to.
    #[serde(rename = "type")]
    #[schemars(schema_with = "provider_types")]
    pub provider_type: ProviderType,
    /// Destination channel, room, topic or subject, as the service names it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 2048))]
    pub channel: Option<String>,
    /// Name the events are posted as.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 2048))]
    pub username: Option<String>,
    /// Where events are sent; its meaning depends on the type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 2048))]
    pub address: Option<String>,
    /// Time limit of one delivery; 15s when not set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = TIMEOUT_PATTERN))]
    pub timeout: Option<Duration>,
    /// HTTP/S proxy URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = "^(http|https)://.*$"), length(max = 2048))]
    pub proxy: Option<String>,
    /// Secret with the credentials (token, webhook address, headers, ...)
    /// the type needs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalObjectReference>,
    /// Secret with TLS material (`ca.crt`, legacy `caFile`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_secret_ref: Option<LocalObjectReference>,
    /// Stop delivering events.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub suspend: bool,
}

/// The provider types Flux's v1beta1 accepted.
fn provider_types(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "string",
        "enum": ["slack", "discord", "msteams", "rocket", "generic", "generic-hmac", "github", "gitlab", "bitbucket", "azuredevops", "googlechat", "webex", "sentry", "azureeventhub", "telegram", "lark", "matrix", "opsgenie", "alertmanager", "grafana", "githubdispatch"]
    })
}

crate::impl_object_with_conditions!(Provider);
crate::impl_flux_object!(Provider, none);
