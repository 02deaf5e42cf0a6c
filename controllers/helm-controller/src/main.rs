//! `helm-controller`: releases HelmReleases.

use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, ValueEnum};
use ferroflux_api::helm::v2::DriftDetectionMode;
use ferroflux_runtime::artifact::FetchOptions;
use ferroflux_runtime::controller::LoopConfig;
use ferroflux_runtime::flags::CommonArgs;
use ferroflux_runtime::kubeconfig::Policy as KubeconfigPolicy;
use ferroflux_runtime::leader::LeaderConfig;
use ferroflux_runtime::metrics::{self, Metrics};
use helm_controller::app::{CONTROLLER, Config};
use helm_controller::reconciler::Options;

#[derive(Clone, Copy, Debug, ValueEnum)]
enum DriftMode {
    Disabled,
    Warn,
    Enabled,
}

#[derive(Parser, Debug)]
#[command(name = CONTROLLER, about = "Ferroflux helm-controller: installs, upgrades, tests and remediates Helm releases declared by HelmReleases")]
struct Cli {
    #[command(flatten)]
    common: CommonArgs,
    /// Service account impersonated by HelmReleases that name none.
    #[arg(long, default_value = "")]
    default_service_account: String,
    /// Refuse references (chart sources, dependsOn) to objects in other namespaces.
    #[arg(long, default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    no_cross_namespace_refs: bool,
    /// Allow kubeconfigs from `spec.kubeConfig` to run commands.
    #[arg(long, default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    insecure_kubeconfig_exec: bool,
    /// Allow kubeconfigs from `spec.kubeConfig` to use TLS files on this machine.
    #[arg(long, default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    insecure_kubeconfig_tls: bool,
    /// Largest chart artifact accepted, in bytes.
    #[arg(long, default_value_t = 512 * 1024 * 1024)]
    artifact_max_size: u64,
    /// Drift detection of HelmReleases that do not set `spec.driftDetection.mode`.
    #[arg(long, value_enum, default_value = "disabled")]
    default_drift_detection: DriftMode,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    ferroflux_runtime::logging::init(&cli.common.log_level, cli.common.log_encoding);
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "helm-controller failed");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    ferroflux_runtime::tls::install_crypto_provider();
    let kube_config = kube::Config::infer()
        .await
        .context("loading the Kubernetes client configuration")?;
    let client =
        kube::Client::try_from(kube_config.clone()).context("connecting to the Kubernetes API")?;
    let metrics = Metrics::new();
    metrics::serve_endpoints(&metrics, &cli.common.metrics_addr, &cli.common.health_addr)
        .await
        .map_err(anyhow::Error::msg)?;
    let lease = LeaderConfig::for_controller(
        CONTROLLER,
        &cli.common.runtime_namespace,
        cli.common.leader_election_lease_duration,
        cli.common.leader_election_retry_period,
    );
    let config = Config {
        kube_config,
        default_service_account: Some(cli.default_service_account.clone()),
        kubeconfig_policy: KubeconfigPolicy {
            allow_exec: cli.insecure_kubeconfig_exec,
            allow_tls_files: cli.insecure_kubeconfig_tls,
        },
        fetch: FetchOptions {
            max_download_bytes: cli.artifact_max_size,
            ..Default::default()
        },
        options: Options {
            no_cross_namespace_refs: cli.no_cross_namespace_refs,
            requeue_dependency: cli.common.requeue_dependency,
            default_drift_mode: match cli.default_drift_detection {
                DriftMode::Disabled => DriftDetectionMode::Disabled,
                DriftMode::Warn => DriftDetectionMode::Warn,
                DriftMode::Enabled => DriftDetectionMode::Enabled,
            },
            ..Default::default()
        },
        events_addr: cli.common.events_addr.clone(),
        loop_config: LoopConfig {
            concurrency: cli.common.concurrent,
            namespace: cli.common.watch_namespace().map(String::from),
            label_selector: cli.common.watch_label_selector.clone(),
            metrics,
            ..Default::default()
        },
        leader: cli.common.enable_leader_election.then_some(lease),
    };
    let running = helm_controller::start(client, config).await?;
    running.wait().await;
    Ok(())
}
