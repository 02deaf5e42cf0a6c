//! Connecting to a cluster the way kubectl and flux do: `KUBECONFIG` (or
//! `~/.kube/config`), `--kubeconfig`, `--context`, `-n/--namespace`, and an
//! overall `--timeout` for the operation.

use std::path::PathBuf;
use std::time::Duration;

use kube::config::{KubeConfigOptions, Kubeconfig};

/// Flags every cluster verb takes (global within the verb, so they may come
/// before or after its subcommands).
#[derive(clap::Args, Debug, Clone)]
pub struct ConnectArgs {
    /// Path to the kubeconfig file (default: `$KUBECONFIG`, else `~/.kube/config`).
    #[arg(long, global = true)]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context to use.
    #[arg(long, global = true)]
    pub context: Option<String>,
    /// The namespace scope of the operation (default: `$FLUX_SYSTEM_NAMESPACE`, else `flux-system`).
    #[arg(short = 'n', long, global = true, value_parser = crate::kinds::parse_namespace)]
    pub namespace: Option<String>,
    /// Use the kubeconfig context's namespace instead of `flux-system` when
    /// `-n` is not given (also `FLUX_NS_FOLLOWS_KUBE_CONTEXT`).
    #[arg(long, global = true, env = "FLUX_NS_FOLLOWS_KUBE_CONTEXT")]
    pub ns_follows_kube_context: bool,
    /// How long the whole operation may take, e.g. `30s`, `5m`.
    #[arg(long, global = true, default_value = "5m", value_parser = parse_timeout)]
    pub timeout: Duration,
}

/// A Go duration (`1m30s`, `500ms`) as `--timeout` takes it.
fn parse_timeout(text: &str) -> Result<Duration, String> {
    let d: ferroflux_api::duration::Duration = text
        .parse()
        .map_err(|e| format!("invalid duration {text:?}: {e}"))?;
    Ok(d.as_std())
}

/// What went wrong reaching the cluster.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The kubeconfig could not be read or used.
    #[error("kubeconfig: {0}")]
    Kubeconfig(String),
    /// The server did not answer.
    #[error("cannot reach the Kubernetes API server at {server}: {message}")]
    Unreachable {
        /// The server's URL.
        server: String,
        /// What the transport said.
        message: String,
    },
}

/// A connected client and the scope the flags chose.
#[derive(Clone)]
pub struct Cluster {
    /// The client.
    pub client: kube::Client,
    /// The namespace the operation is scoped to.
    pub namespace: String,
    /// The API server's URL (for messages).
    pub server: String,
    /// The deadline of the whole operation.
    pub timeout: Duration,
}

/// The namespace Flux's CLI uses when neither the flag nor the context names one.
pub const DEFAULT_NAMESPACE: &str = "flux-system";

impl ConnectArgs {
    /// Reads the kubeconfig and builds a client. Nothing is sent yet.
    pub async fn connect(&self) -> Result<Cluster, ConnectError> {
        let bad = |e: &dyn std::fmt::Display| ConnectError::Kubeconfig(e.to_string());
        let kubeconfig = match &self.kubeconfig {
            Some(path) => Kubeconfig::read_from(path)
                .map_err(|e| ConnectError::Kubeconfig(format!("{}: {e}", path.display())))?,
            None => Kubeconfig::read().map_err(|e| bad(&e))?,
        };
        let context_name = self
            .context
            .clone()
            .or_else(|| kubeconfig.current_context.clone());
        // The context's own namespace, as kubectl reads it.
        let context_namespace = context_name.as_ref().and_then(|name| {
            kubeconfig
                .contexts
                .iter()
                .find(|c| &c.name == name)
                .and_then(|c| c.context.as_ref())
                .and_then(|c| c.namespace.clone())
        });
        if let Some(name) = &self.context
            && !kubeconfig.contexts.iter().any(|c| &c.name == name)
        {
            return Err(ConnectError::Kubeconfig(format!(
                "context {name:?} does not exist"
            )));
        }
        let options = KubeConfigOptions {
            context: self.context.clone(),
            ..Default::default()
        };
        let mut config = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
            .await
            .map_err(|e| bad(&e))?;
        config.connect_timeout = Some(self.timeout.min(Duration::from_secs(30)));
        let server = config.cluster_url.to_string();
        let client = kube::Client::try_from(config).map_err(|e| bad(&e))?;
        // As flux: the flag, else the context's namespace if asked for,
        // else $FLUX_SYSTEM_NAMESPACE, else flux-system.
        let namespace = self
            .namespace
            .clone()
            .or(context_namespace.filter(|_| self.ns_follows_kube_context))
            .or_else(|| {
                std::env::var("FLUX_SYSTEM_NAMESPACE")
                    .ok()
                    .filter(|n| !n.is_empty())
            })
            .unwrap_or_else(|| DEFAULT_NAMESPACE.to_string());
        Ok(Cluster {
            client,
            namespace,
            server: server.trim_end_matches('/').to_string(),
            timeout: self.timeout,
        })
    }
}

impl Cluster {
    /// Turns a transport failure into one line naming the server; API
    /// errors pass through unchanged.
    pub fn explain(&self, e: kube::Error) -> anyhow::Error {
        match e {
            kube::Error::Api(_) => e.into(),
            other => ConnectError::Unreachable {
                server: self.server.clone(),
                message: root_cause(&other),
            }
            .into(),
        }
    }
}

/// The innermost message of an error chain (the useful part of a
/// connection failure: "Connection refused").
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

impl Cluster {
    /// One Flux object of `kind` in the operation's namespace, as JSON;
    /// a missing object is one line naming its namespace.
    pub async fn get_object(
        &self,
        kind: &crate::kinds::FluxKind,
        name: &str,
    ) -> anyhow::Result<serde_json::Value> {
        self.get_object_in(kind, name, &self.namespace).await
    }

    /// As [`Cluster::get_object`], in `namespace`.
    pub async fn get_object_in(
        &self,
        kind: &crate::kinds::FluxKind,
        name: &str,
        namespace: &str,
    ) -> anyhow::Result<serde_json::Value> {
        let api = kind.api(&self.client, Some(namespace));
        match api.get_opt(name).await {
            Ok(Some(obj)) => Ok(crate::kinds::to_json(kind, &obj)),
            Ok(None) => Err(kind.not_found(name, Some(namespace)).into()),
            Err(kube::Error::Api(e)) if e.code == 404 => {
                // The kind itself is not served: its CRD is missing.
                Err(anyhow::anyhow!(
                    "the server does not serve {}/{} {} (are Ferroflux's CRDs installed?)",
                    kind.group,
                    kind.version,
                    kind.kind
                ))
            }
            Err(e) => Err(self.explain(e)),
        }
    }
}
