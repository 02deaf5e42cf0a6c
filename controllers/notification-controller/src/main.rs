//! Ferroflux notification-controller.

use clap::Parser;
use notification_controller::cli::Args;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let filter = EnvFilter::try_new(&args.log_level).unwrap_or_else(|_| EnvFilter::new("info"));
    if args.log_encoding == "console" {
        tracing_subscriber::fmt().with_env_filter(filter).init();
    } else {
        tracing_subscriber::fmt()
            .json()
            .with_env_filter(filter)
            .init();
    }
    // reqwest and kube are built without a default TLS provider; a second
    // install (e.g. by a library) is harmless.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = match kube::Client::try_default().await {
        Ok(c) => c,
        Err(e) => {
            tracing::error!("cannot build a Kubernetes client: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match notification_controller::start(client, args.options()).await {
        Ok(running) => {
            running.wait().await;
            std::process::ExitCode::FAILURE
        }
        Err(e) => {
            tracing::error!("{e}");
            std::process::ExitCode::FAILURE
        }
    }
}
