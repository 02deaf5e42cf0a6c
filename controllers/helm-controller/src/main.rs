//! `helm-controller`: releases HelmReleases.

use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, ValueEnum};
use ferroflux_api::helm::v2::DriftDetectionMode;
use ferroflux_runtime::artifact::FetchOptions;
use ferroflux_runtime::controller::LoopConfig;
use ferroflux_runtime::flags::{CommonArgs, FluxRuntimeArgs, Ignored};
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

/// helm-controller's own flags of Flux's command line that have no
/// Ferroflux meaning, or one mapped below.
#[derive(clap::Args, Debug, Clone, Default)]
struct HelmFluxArgs {
    /// Retries when downloading a chart artifact fails (Flux's default 9).
    #[arg(long)]
    http_retry: Option<u32>,
    /// Flux: timeout of chart downloads; accepted (downloads are bounded by
    /// size and retried).
    #[arg(long)]
    http_timeout: Option<String>,
    /// Flux: time given to running Helm actions on shutdown; accepted (an
    /// interrupted action leaves a pending release that the next start unlocks).
    #[arg(long)]
    graceful_shutdown_timeout: Option<String>,
    /// Flux: workload identity for kubeconfigs; not supported, accepted.
    #[arg(long)]
    default_kubeconfig_service_account: Option<String>,
    /// Flux: OOM watch (feature gate OOMWatch); accepted and ignored.
    #[arg(long)]
    oom_watch_memory_threshold: Option<u8>,
    /// Flux: OOM watch interval; accepted and ignored.
    #[arg(long)]
    oom_watch_interval: Option<String>,
    /// Flux: OOM watch memory limit file; accepted and ignored.
    #[arg(long)]
    oom_watch_max_memory_path: Option<String>,
    /// Flux: OOM watch memory usage file; accepted and ignored.
    #[arg(long)]
    oom_watch_current_memory_path: Option<String>,
    /// Digest algorithm of release snapshots; only `sha256` is supported.
    #[arg(long)]
    snapshot_digest_algo: Option<String>,
    /// Flux: field managers whose changes drift detection overrides;
    /// accepted (drift in the fields the release applies is corrected
    /// whoever made it).
    #[arg(long)]
    override_manager: Vec<String>,
}

impl HelmFluxArgs {
    fn ignored(&self) -> Vec<Ignored> {
        let mut out = Vec::new();
        let mut add = |name: &str, v: Option<String>, why: &'static str| {
            if let Some(v) = v {
                out.push(Ignored {
                    flag: format!("--{name}={v}"),
                    why,
                });
            }
        };
        add(
            "http-timeout",
            self.http_timeout.clone(),
            "chart downloads are bounded by size and retried",
        );
        add(
            "graceful-shutdown-timeout",
            self.graceful_shutdown_timeout.clone(),
            "an interrupted action leaves a pending release that the next start unlocks",
        );
        add(
            "default-kubeconfig-service-account",
            self.default_kubeconfig_service_account.clone(),
            "workload identity is not supported",
        );
        let oom = "the OOM watch is not implemented; memory stays bounded by design";
        add(
            "oom-watch-memory-threshold",
            self.oom_watch_memory_threshold.map(|v| v.to_string()),
            oom,
        );
        add("oom-watch-interval", self.oom_watch_interval.clone(), oom);
        add(
            "oom-watch-max-memory-path",
            self.oom_watch_max_memory_path.clone(),
            oom,
        );
        add(
            "oom-watch-current-memory-path",
            self.oom_watch_current_memory_path.clone(),
            oom,
        );
        for m in &self.override_manager {
            out.push(Ignored {
                flag: format!("--override-manager={m}"),
                why: "drift in the fields a release applies is corrected whoever made it",
            });
        }
        out
    }
}

#[derive(Parser, Debug)]
#[command(name = CONTROLLER, about = "Ferroflux helm-controller: installs, upgrades, tests and remediates Helm releases declared by HelmReleases")]
// A flag given twice takes its last value, as Flux's flags do on a command
// line where patches append arguments.
#[command(args_override_self = true)]
struct Cli {
    #[command(flatten)]
    common: CommonArgs,
    #[command(flatten)]
    flux_runtime: FluxRuntimeArgs,
    #[command(flatten)]
    flux: HelmFluxArgs,
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
    if let Some(algo) = cli.flux.snapshot_digest_algo.as_deref()
        && algo != "sha256"
    {
        anyhow::bail!("--snapshot-digest-algo={algo}: only sha256 is supported");
    }
    let mut ignored = cli.flux_runtime.ignored();
    ignored.extend(cli.flux.ignored());
    ferroflux_runtime::flags::log_ignored(CONTROLLER, &ignored);
    let mut fetch = FetchOptions {
        max_download_bytes: cli.artifact_max_size,
        ..Default::default()
    };
    if let Some(retries) = cli.flux.http_retry {
        fetch.max_retries = retries;
    }
    let mut loop_config = LoopConfig {
        concurrency: cli.common.concurrent,
        namespace: cli.common.watch_namespace().map(String::from),
        label_selector: cli.common.watch_label_selector.clone(),
        metrics,
        ..Default::default()
    };
    cli.flux_runtime.adjust_loop(&mut loop_config);
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
            default_drift_mode: match cli.default_drift_detection {
                DriftMode::Disabled => DriftDetectionMode::Disabled,
                DriftMode::Warn => DriftDetectionMode::Warn,
                DriftMode::Enabled => DriftDetectionMode::Enabled,
            },
            ..Default::default()
        },
        events_addr: cli.common.events_addr.clone(),
        loop_config,
        leader: cli.common.enable_leader_election.then_some(lease),
    };
    let running = helm_controller::start(client, config).await?;
    running.wait().await;
    Ok(())
}
