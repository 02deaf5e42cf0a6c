//! `ferroflux create alert|alert-provider|receiver`: notification-controller's
//! objects from flags named as `flux create`'s.

use serde_json::{Value, json};

use crate::create::{Draft, set};
use crate::kinds;

/// `create alert NAME ...`.
#[derive(clap::Args, Debug)]
pub struct AlertArgs {
    /// The object's name.
    #[arg(value_parser = crate::create::parse_object_name)]
    pub name: String,
    /// The Provider the alerts go to.
    #[arg(long)]
    provider_ref: Option<String>,
    /// Severity of the events to send: info or error.
    #[arg(long)]
    event_severity: Option<String>,
    /// Objects whose events are sent: `<kind>/<name>` (`*` for every name).
    #[arg(long, value_delimiter = ',')]
    event_source: Vec<String>,
}

/// `create alert-provider NAME ...`.
#[derive(clap::Args, Debug)]
pub struct ProviderArgs {
    /// The object's name.
    #[arg(value_parser = crate::create::parse_object_name)]
    pub name: String,
    /// The provider's type (slack, msteams, generic, github, ...).
    #[arg(long = "type")]
    provider_type: Option<String>,
    /// Channel to send messages to (chat providers).
    #[arg(long)]
    channel: Option<String>,
    /// Bot user name.
    #[arg(long)]
    username: Option<String>,
    /// The webhook, chat or Git repository address.
    #[arg(long)]
    address: Option<String>,
    /// A Secret with the token or address.
    #[arg(long)]
    secret_ref: Option<String>,
}

/// `create receiver NAME ...`.
#[derive(clap::Args, Debug)]
pub struct ReceiverArgs {
    /// The object's name.
    #[arg(value_parser = crate::create::parse_object_name)]
    pub name: String,
    /// The webhook's sender: generic, generic-hmac, github, gitlab, bitbucket,
    /// harbor, dockerhub, quay, gcr, nexus, acr or cdevents.
    #[arg(long = "type")]
    receiver_type: Option<String>,
    /// The Secret with the webhook's token.
    #[arg(long)]
    secret_ref: Option<String>,
    /// Events that trigger a reconcile (e.g. `push`).
    #[arg(long, value_delimiter = ',')]
    event: Vec<String>,
    /// Objects to reconcile: `<kind>/<name>`.
    #[arg(long, value_delimiter = ',')]
    resource: Vec<String>,
}

const RECEIVER_TYPES: &[&str] = &[
    "generic",
    "generic-hmac",
    "github",
    "gitlab",
    "bitbucket",
    "harbor",
    "dockerhub",
    "quay",
    "gcr",
    "nexus",
    "acr",
    "cdevents",
];

/// `<kind>/<name>` naming a Flux kind (`*` allowed as the name when `wildcard`).
fn kind_name(flag: &str, text: &str, wildcard: bool) -> anyhow::Result<Value> {
    let Some((kind, name)) = text.split_once('/') else {
        anyhow::bail!("invalid {flag} '{text}', must be in format <kind>/<name>");
    };
    let Some(k) = kinds::by_kind(kind) else {
        anyhow::bail!("invalid {flag} '{text}': '{kind}' is not a recognized Flux kind");
    };
    if !(wildcard && name == "*") && kinds::parse_name(name).is_err() {
        anyhow::bail!("invalid {flag} '{text}': '{name}' is not a valid name");
    }
    Ok(json!({"kind": k.kind, "name": name}))
}

fn secret_name(value: &Option<String>) -> anyhow::Result<Option<String>> {
    match value.as_deref() {
        None | Some("") => Ok(None),
        Some(v) => {
            kinds::parse_name(v)
                .map_err(|_| anyhow::anyhow!("invalid --secret-ref '{v}': not a valid name"))?;
            Ok(Some(v.to_string()))
        }
    }
}

impl AlertArgs {
    /// The spec the flags describe.
    pub fn draft(&self) -> anyhow::Result<Draft> {
        let Some(provider) = self.provider_ref.as_deref().filter(|p| !p.is_empty()) else {
            anyhow::bail!("provider ref is required");
        };
        kinds::parse_name(provider).map_err(|_| {
            anyhow::anyhow!("invalid --provider-ref '{provider}': not a valid name")
        })?;
        if self.event_source.is_empty() {
            anyhow::bail!("at least one event source is required");
        }
        let sources = self
            .event_source
            .iter()
            .map(|s| kind_name("event source", s, true))
            .collect::<anyhow::Result<Vec<Value>>>()?;
        let mut spec = json!({"providerRef": {"name": provider}, "eventSources": sources});
        if let Some(sev) = &self.event_severity {
            if !matches!(sev.as_str(), "info" | "error") {
                anyhow::bail!("invalid --event-severity '{sev}': must be info or error");
            }
            spec["eventSeverity"] = sev.clone().into();
        }
        Ok(Draft {
            kind: kinds::ALERT,
            noun: "Alert",
            spec,
        })
    }
}

impl ProviderArgs {
    /// The spec the flags describe.
    pub fn draft(&self) -> anyhow::Result<Draft> {
        let Some(t) = self.provider_type.as_deref().filter(|t| !t.is_empty()) else {
            anyhow::bail!("Provider type is required");
        };
        if !t.bytes().all(|b| b.is_ascii_lowercase() || b == b'-') {
            anyhow::bail!("invalid --type '{t}'");
        }
        let mut spec = json!({"type": t});
        set(
            &mut spec,
            "channel",
            self.channel.clone().unwrap_or_default(),
        );
        set(
            &mut spec,
            "username",
            self.username.clone().unwrap_or_default(),
        );
        set(
            &mut spec,
            "address",
            self.address.clone().unwrap_or_default(),
        );
        if let Some(s) = secret_name(&self.secret_ref)? {
            spec["secretRef"] = json!({"name": s});
        }
        Ok(Draft {
            kind: kinds::PROVIDER,
            noun: "Provider",
            spec,
        })
    }
}

impl ReceiverArgs {
    /// The spec the flags describe.
    pub fn draft(&self) -> anyhow::Result<Draft> {
        let Some(t) = self.receiver_type.as_deref().filter(|t| !t.is_empty()) else {
            anyhow::bail!("Receiver type is required");
        };
        if !RECEIVER_TYPES.contains(&t) {
            anyhow::bail!(
                "invalid --type '{t}': must be one of {}",
                RECEIVER_TYPES.join(", ")
            );
        }
        let Some(secret) = secret_name(&self.secret_ref)? else {
            anyhow::bail!("secret ref is required");
        };
        if self.resource.is_empty() {
            anyhow::bail!("at least one resource is required");
        }
        let resources = self
            .resource
            .iter()
            .map(|r| kind_name("resource", r, true))
            .collect::<anyhow::Result<Vec<Value>>>()?;
        let mut spec = json!({
            "type": t,
            "resources": resources,
            "secretRef": {"name": secret},
        });
        set(&mut spec, "events", self.event.clone());
        Ok(Draft {
            kind: kinds::RECEIVER,
            noun: "Receiver",
            spec,
        })
    }
}
