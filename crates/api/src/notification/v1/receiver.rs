//! Receiver: an incoming webhook that asks Flux objects to reconcile now.

use std::time;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::CrossNamespaceObjectReference;
use crate::duration::Duration;
use crate::meta::LocalObjectReference;

/// Path prefix of every Receiver's webhook URL.
pub const RECEIVER_WEBHOOK_PATH: &str = "/hook/";

/// Audience expected in the tokens of a `generic-oidc` Receiver when an OIDC
/// provider sets none.
pub const DEFAULT_OIDC_AUDIENCE: &str = "notification-controller";

/// The desired state of a Receiver: who may call the webhook and which
/// objects a valid call reconciles.
// kube's `printcolumn(...)` entries repeat `type_ = "string"` by design.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "notification.toolkit.fluxcd.io",
    version = "v1",
    kind = "Receiver",
    plural = "receivers",
    namespaced,
    status = "ReceiverStatus",
    derive = "PartialEq",
    category = "all",
    category = "fluxcd",
    category = "fluxcd-notifications",
    annotation("kustomize.toolkit.fluxcd.io/substitute", "disabled"),
    doc = "Receiver exposes a webhook that, when called with a valid payload, requests a reconcile of the objects it lists.",
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
#[schemars(extend("x-kubernetes-validations" = [
    {
        "rule": "self.type != 'generic-oidc' || (has(self.oidcProviders) && size(self.oidcProviders) > 0)",
        "message": "a generic-oidc Receiver needs at least one entry in oidcProviders"
    },
    {
        "rule": "self.type == 'generic-oidc' || !has(self.oidcProviders) || size(self.oidcProviders) == 0",
        "message": "oidcProviders is only allowed with type generic-oidc"
    },
    {
        "rule": "self.type != 'generic-oidc' || !has(self.secretRef)",
        "message": "secretRef is not allowed with type generic-oidc"
    },
    {
        "rule": "self.type == 'generic-oidc' || has(self.secretRef)",
        "message": "secretRef is required unless type is generic-oidc"
    }
]))]
#[serde(rename_all = "camelCase")]
pub struct ReceiverSpec {
    /// Kind of webhook sender; decides how calls are authenticated and how
    /// their payload is read.
    #[serde(rename = "type")]
    pub receiver_type: ReceiverType,
    /// How often the Receiver is reconciled with the Secrets it refers to.
    #[serde(default = "default_interval", skip_serializing_if = "Option::is_none")]
    pub interval: Option<Duration>,
    /// Event types to act on (e.g. `push` for GitHub, `Push Hook` for
    /// GitLab); every event when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<String>,
    /// The objects to reconcile when a valid call arrives.
    pub resources: Vec<ReceiverResource>,
    /// CEL expression evaluated for each object matched by `resources`; the
    /// object is reconciled only if it returns true. It sees the object as
    /// `res`, the request body as `req` and, for `generic-oidc`, the token
    /// claims as `claims`. An expression that does not compile or does not
    /// return a boolean stalls the Receiver.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_filter: Option<String>,
    /// Secret with the `token` used to authenticate calls (GCR also needs
    /// `email` and `audience`). Required for every type except
    /// `generic-oidc`, which must not set it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalObjectReference>,
    /// OIDC issuers trusted to sign the bearer tokens of a `generic-oidc`
    /// Receiver; the one whose issuer URL equals the token's `iss` checks it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["issuerURL"]))]
    pub oidc_providers: Vec<OidcProvider>,
    /// Stop handling calls.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub suspend: bool,
}

fn default_interval() -> Option<Duration> {
    "10m".parse().ok()
}

impl ReceiverSpec {
    /// The reconcile interval, 10 minutes when not set.
    pub fn interval(&self) -> time::Duration {
        self.interval
            .as_ref()
            .map_or(time::Duration::from_secs(600), Duration::as_std)
    }
}

/// Kinds of webhook sender a Receiver understands.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ReceiverType {
    /// Any caller presenting the token in the URL path.
    Generic,
    /// Any caller signing the body with HMAC (`X-Signature` header).
    GenericHmac,
    /// Any caller presenting an OIDC bearer token from a trusted issuer.
    GenericOidc,
    /// GitHub webhooks.
    Github,
    /// GitLab webhooks.
    Gitlab,
    /// Bitbucket Server / Data Center and Bitbucket Cloud webhooks.
    Bitbucket,
    /// Harbor webhooks.
    Harbor,
    /// Docker Hub webhooks.
    Dockerhub,
    /// Quay webhooks.
    Quay,
    /// Google Container/Artifact Registry notifications via Pub/Sub push.
    Gcr,
    /// Sonatype Nexus webhooks.
    Nexus,
    /// Azure Container Registry webhooks.
    Acr,
    /// CDEvents.
    Cdevents,
}

/// One entry of a Receiver's `resources`: the objects to reconcile, with an
/// optional CEL filter of its own.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReceiverResource {
    /// The objects.
    #[serde(flatten)]
    pub reference: CrossNamespaceObjectReference,
    /// CEL expression evaluated for each object this entry matches, on top
    /// of the Receiver's `resourceFilter`; both must return true for the
    /// object to be reconciled. Same variables as `resourceFilter`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
}

/// An OIDC issuer trusted by a `generic-oidc` Receiver, and the checks its
/// tokens must pass.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OidcProvider {
    /// Issuer URL, used for discovery; must equal the tokens' `iss` claim.
    #[serde(rename = "issuerURL")]
    #[schemars(regex(pattern = "^https?://"))]
    pub issuer_url: String,
    /// Audience (`aud` claim) the tokens must carry; `notification-controller`
    /// when not set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
    /// Named CEL expressions over `claims` (and earlier variables), evaluated
    /// in order and available to later expressions as `vars.<name>`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub variables: Vec<OidcVariable>,
    /// CEL expressions that must all be true for a call to be accepted. At
    /// least one is required: a valid signature alone says nothing about who
    /// the caller is.
    #[schemars(length(min = 1))]
    pub validations: Vec<OidcValidation>,
}

impl OidcProvider {
    /// The audience tokens must carry.
    pub fn audience(&self) -> &str {
        match self.audience.as_deref() {
            Some(a) if !a.is_empty() => a,
            _ => DEFAULT_OIDC_AUDIENCE,
        }
    }
}

/// A named CEL expression of an OIDC provider.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
pub struct OidcVariable {
    /// Variable name (a CEL identifier).
    pub name: String,
    /// CEL expression giving the variable's value.
    pub expression: String,
}

/// A CEL check on the claims of an OIDC token.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
pub struct OidcValidation {
    /// CEL expression that must return true.
    pub expression: String,
    /// Message returned to the caller when the expression is false.
    pub message: String,
}

/// The observed state of a Receiver.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReceiverStatus {
    /// The generation of the spec last reconciled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Conditions of the Receiver (`Ready`, `Reconciling`, `Stalled`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "crate::meta::conditions_schema")]
    pub conditions: Vec<Condition>,
    /// The webhook's path: `/hook/` followed by the hex SHA-256 of the token,
    /// the Receiver's name and its namespace, concatenated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_path: Option<String>,
    /// The `reconcile.fluxcd.io/requestedAt` value last handled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
}

crate::impl_object_with_conditions!(Receiver);
crate::impl_flux_object!(Receiver, optional);
