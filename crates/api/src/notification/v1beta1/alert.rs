//! Alert as it was in v1beta1 (deprecated; stored as v1beta3, whose status it shares).

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::meta::LocalObjectReference;
use crate::notification::v1::CrossNamespaceObjectReference;
use crate::notification::v1beta3::{AlertStatus, EventSeverity};

/// The events to forward and the Provider that delivers them (v1beta1).
// kube's `printcolumn(...)` entries repeat `type_ = "string"` by design.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "notification.toolkit.fluxcd.io",
    version = "v1beta1",
    kind = "Alert",
    plural = "alerts",
    namespaced,
    status = "AlertStatus",
    derive = "PartialEq",
    deprecated = "v1beta1 Alert is deprecated, upgrade to v1beta3",
    category = "all",
    category = "fluxcd",
    category = "fluxcd-notifications",
    annotation("kustomize.toolkit.fluxcd.io/substitute", "disabled"),
    doc = "Alert (v1beta1, deprecated) forwards the events of selected Flux objects to a Provider.",
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct AlertSpec {
    /// The Provider (in the Alert's namespace) that delivers the events.
    pub provider_ref: LocalObjectReference,
    /// Lowest severity forwarded: `info` forwards every event, `error` only errors.
    #[serde(default)]
    pub event_severity: EventSeverity,
    /// The objects whose events are forwarded.
    pub event_sources: Vec<CrossNamespaceObjectReference>,
    /// Regular expressions (Go RE2 syntax); events whose message matches one
    /// of them are dropped.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclusion_list: Vec<String>,
    /// Short text on the impact, added to every event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 255))]
    pub summary: Option<String>,
    /// Stop forwarding events.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub suspend: bool,
}

crate::impl_object_with_conditions!(Alert);
crate::impl_flux_object!(Alert, none);
