//! `ferroflux ui`: a read-only web dashboard of every Flux object, its
//! health, its graph and its history, kept live from watches.
//!
//! The server watches every Flux kind (and the Events of Flux objects) with
//! the user's kubeconfig into an in-memory [`model`], answers the page's JSON
//! from it ([`api`]) and pushes changes as server-sent events ([`live`]).
//! Actions ([`actions`]) exist only with `--allow-actions`. Secrets are never
//! read; the page (one HTML, one script, one stylesheet) is embedded.

pub mod actions;
pub mod api;
pub mod live;
pub mod model;
pub mod server;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;

use crate::connect::ConnectArgs;

/// `ferroflux ui`.
#[derive(clap::Args, Debug)]
pub struct UiArgs {
    #[command(flatten)]
    connect: ConnectArgs,
    /// Where to listen. Loopback by default: the dashboard shows what the
    /// kubeconfig's user can read.
    #[arg(long, default_value = "127.0.0.1:9080")]
    addr: SocketAddr,
    /// Offer reconcile, suspend and resume buttons (done as the kubeconfig's user).
    #[arg(long)]
    allow_actions: bool,
    /// A DNS name the dashboard may be reached by besides `localhost` and IP
    /// addresses (repeatable); other `Host` headers are refused.
    #[arg(long = "allowed-host")]
    allowed_hosts: Vec<String>,
}

/// Connects with the kubeconfig, or with the pod's service account when
/// running in a cluster without one.
async fn client(args: &UiArgs) -> anyhow::Result<(kube::Client, Option<String>)> {
    // `-n` given: only that namespace is watched (for users whose RBAC is
    // namespaced); otherwise every namespace.
    let scope = args.connect.namespace.clone();
    match args.connect.connect().await {
        Ok(c) => Ok((c.client, scope)),
        Err(e)
            if args.connect.kubeconfig.is_none()
                && std::env::var_os("KUBERNETES_SERVICE_HOST").is_some() =>
        {
            let config = kube::Config::incluster()
                .with_context(|| format!("no kubeconfig ({e}) and no in-cluster config"))?;
            Ok((kube::Client::try_from(config)?, scope))
        }
        Err(e) => Err(e.into()),
    }
}

/// Runs the dashboard until interrupted.
pub async fn run(args: &UiArgs) -> anyhow::Result<()> {
    let (client, namespace) = client(args).await?;
    let model = Arc::new(model::Model::new());
    let watches = model::spawn_watches(model.clone(), client.clone(), namespace);
    let state = Arc::new(api::AppState::new(model, client, args.allow_actions));
    let app = server::router(state, args.allowed_hosts.clone());
    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .with_context(|| format!("listening on {}", args.addr))?;
    let addr = listener.local_addr()?;
    println!("serving the dashboard on http://{addr}/");
    if args.allow_actions {
        println!("actions enabled: reconcile, suspend and resume as the kubeconfig's user");
    }
    use std::io::Write;
    let _ = std::io::stdout().flush();
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await;
    for w in watches {
        w.abort();
    }
    served.context("serving the dashboard")
}
