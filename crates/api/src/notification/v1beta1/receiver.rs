//! Receiver as it was in v1beta1 (deprecated; stored as v1, whose status it
//! shares): a required `secretRef`, no `resourceFilter` or OIDC, and the
//! webhook types Flux's v1beta1 knew.

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::meta::LocalObjectReference;
use crate::notification::v1::{CrossNamespaceObjectReference, ReceiverStatus, ReceiverType};

/// Who may call the webhook and which objects a valid call reconciles (v1beta1).
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "notification.toolkit.fluxcd.io",
    version = "v1beta1",
    kind = "Receiver",
    plural = "receivers",
    namespaced,
    status = "ReceiverStatus",
    derive = "PartialEq",
    deprecated = "v1beta1 Receiver is deprecated, upgrade to v1",
    category = "all",
    category = "fluxcd",
    category = "fluxcd-notifications",
    annotation("kustomize.toolkit.fluxcd.io/substitute", "disabled"),
    doc = "Receiver (v1beta1, deprecated) exposes a webhook that requests a reconcile of the objects it lists.",
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
pub struct ReceiverSpec {
    /// Kind of webhook sender.
    #[serde(rename = "type")]
    #[schemars(schema_with = "receiver_types")]
    pub receiver_type: ReceiverType,
    /// Event types to act on; every event when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<String>,
    /// The objects to reconcile when a valid call arrives.
    pub resources: Vec<CrossNamespaceObjectReference>,
    /// Secret with the `token` used to authenticate calls.
    pub secret_ref: LocalObjectReference,
    /// Stop handling calls.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub suspend: bool,
}

/// The receiver types Flux's v1beta1 accepted.
fn receiver_types(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "string",
        "enum": ["generic", "generic-hmac", "github", "gitlab", "bitbucket", "harbor", "dockerhub", "quay", "gcr", "nexus", "acr"]
    })
}

crate::impl_object_with_conditions!(Receiver);
crate::impl_flux_object!(Receiver, none);
