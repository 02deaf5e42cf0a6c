//! Ferroflux notification-controller.

use std::process::ExitCode;

use clap::Parser;
use ferroflux_runtime::flags::bind_addr;
use ferroflux_runtime::leader::{self, LeaderConfig};
use ferroflux_runtime::metrics::{self, Metrics};
use notification_controller::cli::Args;

/// The controller's name in logs and its Lease.
const CONTROLLER: &str = "notification-controller";

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    ferroflux_runtime::logging::init(&args.log_level, args.log_encoding);
    match run(args).await {
        Ok(()) => ExitCode::FAILURE,
        Err(e) => {
            tracing::error!(error = %e, "{CONTROLLER} stopped");
            ExitCode::FAILURE
        }
    }
}

/// Runs until a part of the controller stops (only on a fatal error).
async fn run(args: Args) -> Result<(), String> {
    // reqwest and kube are built without a default TLS provider.
    ferroflux_runtime::tls::install_crypto_provider();
    let client = kube::Client::try_default()
        .await
        .map_err(|e| format!("cannot build a Kubernetes client: {e}"))?;
    let metrics = Metrics::new();
    let metrics_addr = bind_addr(&args.metrics_addr)?;
    let health_addr = bind_addr(&args.health_addr)?;
    metrics::serve(metrics_addr, metrics::metrics_router(metrics.clone()))
        .await
        .map_err(|e| format!("listening on {metrics_addr} (metrics): {e}"))?;
    metrics::serve(health_addr, metrics::health_router(metrics.clone()))
        .await
        .map_err(|e| format!("listening on {health_addr} (health): {e}"))?;

    let lease = LeaderConfig {
        namespace: args.runtime_namespace.clone(),
        name: format!("{CONTROLLER}-leader-election"),
        identity: std::env::var("POD_NAME")
            .or_else(|_| std::env::var("HOSTNAME"))
            .unwrap_or_else(|_| format!("{CONTROLLER}-{}", std::process::id())),
        lease_duration: args.leader_election_lease_duration,
        retry_period: args.leader_election_retry_period,
    };
    if args.enable_leader_election {
        // Intake, delivery and the receiver start only on the leader, so that
        // replicas never deliver a notification twice; `/readyz` stays 503 until then.
        let mut leading = leader::acquire(client.clone(), lease.clone()).await;
        tokio::spawn(async move {
            while leading.changed().await.is_ok() {
                if !*leading.borrow() {
                    tracing::error!("leadership lost; exiting so another replica takes over");
                    std::process::exit(1);
                }
            }
        });
    }
    let mut options = args.options();
    options.metrics = Some(metrics.clone());
    let running = notification_controller::start(client.clone(), options)
        .await
        .map_err(|e| e.to_string())?;
    metrics.set_ready(true);
    running.wait().await;
    metrics.set_ready(false);
    if args.enable_leader_election {
        let _ = leader::release(client, &lease).await;
    }
    Ok(())
}
