//! Provider: where and how events are delivered (chat, Git commit statuses,
//! incident tools, generic webhooks, ...).

use std::time;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::duration::{Duration, TIMEOUT_PATTERN};
use crate::meta::LocalObjectReference;

/// The desired state of a Provider: the kind of service, its address and
/// the credentials to reach it.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "notification.toolkit.fluxcd.io",
    version = "v1beta3",
    kind = "Provider",
    plural = "providers",
    namespaced,
    status = "ProviderStatus",
    derive = "PartialEq",
    category = "all",
    category = "fluxcd",
    category = "fluxcd-notifications",
    annotation("kustomize.toolkit.fluxcd.io/substitute", "disabled"),
    doc = "Provider describes a service that Alerts deliver events to.",
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[schemars(extend("x-kubernetes-validations" = [
    {
        "rule": "self.type == 'github' || self.type == 'gitlab' || self.type == 'gitea' || self.type == 'bitbucketserver' || self.type == 'bitbucket' || self.type == 'azuredevops' || !has(self.commitStatusExpr)",
        "message": "spec.commitStatusExpr is only allowed with the commit-status types github, gitlab, gitea, bitbucketserver, bitbucket and azuredevops"
    }
]))]
#[serde(rename_all = "camelCase")]
pub struct ProviderSpec {
    /// The kind of service events are delivered to.
    #[serde(rename = "type")]
    pub provider_type: ProviderType,
    /// Not used (deprecated); accepted so that older manifests still apply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<Duration>,
    /// Destination channel, room, topic or subject, as the service names it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 2048))]
    pub channel: Option<String>,
    /// Name the events are posted as.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 2048))]
    pub username: Option<String>,
    /// Where events are sent; its meaning depends on the type (an HTTP/S URL
    /// for webhooks, a repository URL for commit statuses, a project ID for
    /// Pub/Sub, ...). May come from `secretRef` instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 2048))]
    pub address: Option<String>,
    /// Time limit of one delivery; 15s when not set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = TIMEOUT_PATTERN))]
    pub timeout: Option<Duration>,
    /// HTTP/S proxy URL. Deprecated: use `proxySecretRef`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = "^(http|https)://.*$"), length(max = 2048))]
    pub proxy: Option<String>,
    /// Secret with the proxy to use: key `address`, optional `username` and
    /// `password`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy_secret_ref: Option<LocalObjectReference>,
    /// Secret with the credentials (token, webhook address, headers, ...)
    /// the type needs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalObjectReference>,
    /// Service account whose workload identity authenticates to cloud
    /// services (`azureeventhub`, `azuredevops`, `googlepubsub`); not
    /// allowed together with static credentials in `secretRef`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,
    /// Secret with TLS material: `ca.crt` to verify the server, and
    /// `tls.crt` + `tls.key` for client authentication (legacy keys
    /// `caFile`, `certFile`, `keyFile` are read too).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_secret_ref: Option<LocalObjectReference>,
    /// Stop delivering events.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub suspend: bool,
    /// CEL expression returning the commit status name/key, for the
    /// commit-status types. It sees `event`, `provider` and `alert`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit_status_expr: Option<String>,
}

impl ProviderSpec {
    /// Time limit of one delivery, 15 seconds when not set.
    pub fn timeout(&self) -> time::Duration {
        self.timeout
            .as_ref()
            .map_or(time::Duration::from_secs(15), Duration::as_std)
    }
}

/// The services a Provider can deliver events to.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ProviderType {
    /// Slack (bot token + chat.postMessage, or incoming webhook).
    Slack,
    /// Discord webhook.
    Discord,
    /// Microsoft Teams (workflow or incoming webhook).
    Msteams,
    /// Rocket.Chat webhook.
    Rocket,
    /// Any HTTP/S endpoint, receiving the event as JSON.
    Generic,
    /// Any HTTP/S endpoint, receiving the event as JSON signed with HMAC.
    #[serde(rename = "generic-hmac")]
    GenericHmac,
    /// GitHub commit statuses.
    Github,
    /// GitLab commit statuses.
    Gitlab,
    /// Gitea commit statuses.
    Gitea,
    /// Gitea pull request comments.
    Giteapullrequestcomment,
    /// Bitbucket Server / Data Center commit statuses.
    Bitbucketserver,
    /// Bitbucket Cloud commit statuses.
    Bitbucket,
    /// Azure DevOps commit statuses.
    Azuredevops,
    /// Google Chat webhook.
    Googlechat,
    /// Google Cloud Pub/Sub topic.
    Googlepubsub,
    /// Webex room.
    Webex,
    /// Sentry.
    Sentry,
    /// Azure Event Hubs.
    Azureeventhub,
    /// Telegram chat.
    Telegram,
    /// Lark webhook.
    Lark,
    /// Matrix room.
    Matrix,
    /// Opsgenie alerts.
    Opsgenie,
    /// Prometheus Alertmanager.
    Alertmanager,
    /// Grafana annotations.
    Grafana,
    /// GitHub repository_dispatch events.
    Githubdispatch,
    /// GitHub pull request comments.
    Githubpullrequestcomment,
    /// GitLab merge request comments.
    Gitlabmergerequestcomment,
    /// PagerDuty events.
    Pagerduty,
    /// Datadog events.
    Datadog,
    /// NATS subject.
    Nats,
    /// Zulip stream/topic.
    Zulip,
    /// OpenTelemetry traces (OTLP over HTTP).
    Otel,
    /// Zoom Team Chat webhook.
    Zoom,
    /// incident.io alert source.
    #[serde(rename = "incident.io")]
    IncidentIo,
}

impl ProviderType {
    /// Whether this type posts commit statuses (and so may use `commitStatusExpr`).
    pub fn is_commit_status(self) -> bool {
        matches!(
            self,
            Self::Github
                | Self::Gitlab
                | Self::Gitea
                | Self::Bitbucketserver
                | Self::Bitbucket
                | Self::Azuredevops
        )
    }
}

/// The observed state of a Provider. Flux's v1beta3 Provider has no status;
/// Ferroflux keeps one so that configuration and delivery problems are
/// visible on the object.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProviderStatus {
    /// The generation of the spec last reconciled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Conditions of the Provider (`Ready`, `Stalled`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "crate::meta::conditions_schema")]
    pub conditions: Vec<Condition>,
    /// The `reconcile.fluxcd.io/requestedAt` value last handled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
}

crate::impl_object_with_conditions!(Provider);
crate::impl_flux_object!(Provider, optional);
