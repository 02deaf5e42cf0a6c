//! `source-controller`: serves GitRepository artifacts.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use ferroflux_runtime::controller::LoopConfig;
use ferroflux_runtime::flags::{CommonArgs, FluxRuntimeArgs, SourceFluxArgs, bind_addr};
use ferroflux_runtime::leader::LeaderConfig;
use ferroflux_runtime::metrics::{self, Metrics};
use ferroflux_runtime::scratch::{Scratch, ScratchArgs};
use source_controller::app::{CONTROLLER, Config};
use source_controller::git::{CheckoutLimits, DEFAULT_FILE_MAX_SIZE, DEFAULT_MAX_SIZE};

#[derive(Parser, Debug)]
#[command(name = CONTROLLER, about = "Ferroflux source-controller: Git sources as artifacts served over HTTP")]
// A flag given twice takes its last value, as with Flux's (pflag) command
// line, where patches append arguments.
#[command(args_override_self = true)]
struct Cli {
    #[command(flatten)]
    common: CommonArgs,
    #[command(flatten)]
    flux_runtime: FluxRuntimeArgs,
    #[command(flatten)]
    flux: SourceFluxArgs,
    /// Where artifacts are stored.
    #[arg(long, default_value = "/data")]
    storage_path: PathBuf,
    /// Address the artifact server listens on.
    #[arg(long, default_value = ":9090")]
    storage_addr: String,
    /// Host (and port) artifact URLs are advertised with.
    #[arg(long, env = "STORAGE_ADV_ADDR", default_value = "")]
    storage_adv_addr: String,
    /// Artifacts kept per object (the current one included).
    #[arg(long, default_value_t = 2)]
    artifact_retention_records: usize,
    /// Refuse ArtifactGenerator sources in other namespaces than the
    /// generator's (as source-watcher's flag of the same name).
    #[arg(long, default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    no_cross_namespace_refs: bool,
    /// Where Git caches are kept (not served).
    #[arg(long, default_value = "/tmp/source-controller-git-cache")]
    git_cache_path: PathBuf,
    /// Largest total size, in bytes, of the files of a Git checkout (and of
    /// an artifact's files); a commit over it is refused before anything is
    /// written. The default is kustomize-controller's limit on an unpacked
    /// artifact.
    #[arg(long, default_value_t = DEFAULT_MAX_SIZE)]
    git_max_size: u64,
    /// Largest file, in bytes, of a Git checkout; a commit with a larger one
    /// is refused before anything is written. Also bounds the memory a
    /// checkout takes per thread.
    #[arg(long, default_value_t = DEFAULT_FILE_MAX_SIZE)]
    git_file_max_size: u64,
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
    let client = kube::Client::try_default()
        .await
        .context("connecting to the Kubernetes API")?;
    let metrics = Metrics::new();
    metrics::serve_endpoints(&metrics, &cli.common.metrics_addr, &cli.common.health_addr)
        .await
        .map_err(anyhow::Error::msg)?;

    // Artifact URLs name this pod (as Flux's) unless told otherwise.
    let storage_adv_addr = if cli.storage_adv_addr.is_empty() {
        let port = bind_addr(&cli.storage_addr)
            .map_err(anyhow::Error::msg)?
            .port();
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "localhost".into());
        format!("{host}:{port}")
    } else {
        cli.storage_adv_addr.clone()
    };
    let lease = LeaderConfig::for_controller(
        CONTROLLER,
        &cli.common.runtime_namespace,
        cli.common.leader_election_lease_duration,
        cli.common.leader_election_retry_period,
    );
    cli.flux.check().map_err(anyhow::Error::msg)?;
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
    let config = Config {
        storage_path: cli.storage_path,
        storage_addr: cli.storage_addr,
        storage_adv_addr: Some(storage_adv_addr),
        artifact_retention_records: cli.artifact_retention_records,
        no_cross_namespace_refs: cli.no_cross_namespace_refs,
        git_cache_path: cli.git_cache_path,
        limits: CheckoutLimits {
            max_size: cli.git_max_size,
            file_max_size: cli.git_file_max_size,
        },
        scratch: Some(scratch.path().to_path_buf()),
        events_addr: cli.common.events_addr.clone(),
        loop_config,
        leader: cli.common.enable_leader_election.then_some(lease),
    };
    let running = source_controller::start(client, config).await?;
    running.wait().await;
    Ok(())
}
