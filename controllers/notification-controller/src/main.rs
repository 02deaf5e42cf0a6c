//! Ferroflux notification-controller.

use std::process::ExitCode;

use clap::Parser;
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
    args.flux.check()?;
    let mut ignored = args
        .flux_runtime
        .ignored_without_loop("Alerts, Providers and Receivers are not retried on a backoff");
    ignored.extend(args.flux.ignored());
    ferroflux_runtime::flags::log_ignored(CONTROLLER, &ignored);
    let client = kube::Client::try_default()
        .await
        .map_err(|e| format!("cannot build a Kubernetes client: {e}"))?;
    let metrics = Metrics::new();
    metrics::serve_endpoints(&metrics, &args.metrics_addr, &args.health_addr).await?;

    let lease = LeaderConfig::for_controller(
        CONTROLLER,
        &args.runtime_namespace,
        args.leader_election_lease_duration,
        args.leader_election_retry_period,
    );
    if args.enable_leader_election {
        // Intake, delivery and the receiver start only on the leader, so that
        // replicas never deliver a notification twice; `/readyz` stays 503 until then.
        leader::lead_or_exit(client.clone(), lease.clone()).await;
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
