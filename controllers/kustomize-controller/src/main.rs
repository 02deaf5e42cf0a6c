//! `kustomize-controller`: applies Kustomizations.

use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use ferroflux_runtime::artifact::FetchOptions;
use ferroflux_runtime::controller::LoopConfig;
use ferroflux_runtime::flags::{CommonArgs, FluxRuntimeArgs, KustomizeFluxArgs};
use ferroflux_runtime::kubeconfig::Policy as KubeconfigPolicy;
use ferroflux_runtime::leader::LeaderConfig;
use ferroflux_runtime::metrics::{self, Metrics};
use ferroflux_runtime::scratch::{Scratch, ScratchArgs};
use kustomize_controller::app::{CONTROLLER, Config};
use kustomize_controller::reconciler::Options;

#[derive(Parser, Debug)]
#[command(name = CONTROLLER, about = "Ferroflux kustomize-controller: builds kustomize overlays from sources and applies them")]
// A flag given twice takes its last value, as with Flux's (pflag) command
// line, where patches append arguments.
#[command(args_override_self = true)]
struct Cli {
    #[command(flatten)]
    common: CommonArgs,
    #[command(flatten)]
    flux_runtime: FluxRuntimeArgs,
    #[command(flatten)]
    flux: KustomizeFluxArgs,
    /// Service account impersonated by Kustomizations that name none.
    #[arg(long, default_value = "")]
    default_service_account: String,
    /// Refuse references (sourceRef, dependsOn) to objects in other namespaces.
    #[arg(long, default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    no_cross_namespace_refs: bool,
    /// Allow kubeconfigs from `spec.kubeConfig` to run commands (`exec`
    /// credential plugins, `auth-provider` `cmd-path`) and read `tokenFile`
    /// on the controller's machine.
    #[arg(long, default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    insecure_kubeconfig_exec: bool,
    /// Allow kubeconfigs from `spec.kubeConfig` to use TLS files on the
    /// controller's machine (`certificate-authority`, `client-certificate`,
    /// `client-key`) and `insecure-skip-tls-verify`.
    #[arg(long, default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    insecure_kubeconfig_tls: bool,
    /// Largest artifact accepted, in bytes.
    #[arg(long, default_value_t = 512 * 1024 * 1024)]
    artifact_max_size: u64,
    #[command(flatten)]
    scratch: ScratchArgs,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    ferroflux_runtime::logging::init(&cli.common.log_level, cli.common.log_encoding);
    let scratch = cli.scratch.clone();
    ferroflux_runtime::scratch::run_main(CONTROLLER, &scratch, async |s| run(cli, s).await).await
}

async fn run(cli: Cli, scratch: &Scratch) -> anyhow::Result<()> {
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
    let mut ignored = cli.flux_runtime.ignored();
    ignored.extend(cli.flux.ignored());
    ferroflux_runtime::flags::log_ignored(CONTROLLER, &ignored);
    let mut loop_config = LoopConfig {
        concurrency: cli.common.concurrent,
        namespace: cli.common.watch_namespace().map(String::from),
        label_selector: cli.common.watch_label_selector.clone(),
        metrics,
        ..Default::default()
    };
    cli.flux_runtime.adjust_loop(&mut loop_config);
    let mut fetch = FetchOptions {
        max_download_bytes: cli.artifact_max_size,
        ..Default::default()
    };
    if let Some(retries) = cli.flux.http_retry {
        fetch.max_retries = retries;
    }
    let config = Config {
        kube_config,
        default_service_account: Some(cli.default_service_account.clone()),
        kubeconfig_policy: KubeconfigPolicy {
            allow_exec: cli.insecure_kubeconfig_exec,
            allow_tls_files: cli.insecure_kubeconfig_tls,
        },
        fetch,
        options: Options {
            no_cross_namespace_refs: cli.no_cross_namespace_refs,
            requeue_dependency: cli.common.requeue_dependency,
            // Artifacts are unpacked in the scratch directory.
            work_dir: Some(scratch.path().to_path_buf()),
            ..Default::default()
        },
        events_addr: cli.common.events_addr.clone(),
        loop_config,
        leader: cli.common.enable_leader_election.then_some(lease),
    };
    let running = kustomize_controller::start(client, config).await?;
    running.wait().await;
    Ok(())
}
