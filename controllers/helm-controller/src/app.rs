//! Wiring: clients, artifact client, waits, the reconciler and its loop
//! with the watches on chart sources, dependencies and values, started
//! together by [`start`]. The binary adds what belongs to a process.

use ferroflux_api::helm::v2::HelmRelease;
use ferroflux_runtime::artifact::{ArtifactClient, ArtifactError, FetchOptions};
use ferroflux_runtime::controller::{self, LoopConfig};
use ferroflux_runtime::events::Recorder;
use ferroflux_runtime::kubeconfig::Policy as KubeconfigPolicy;
use ferroflux_runtime::leader::{self, LeaderConfig};
use ferroflux_ssa::clients::Clients;
use tokio::task::JoinHandle;

use crate::gate::Gate;
use crate::reconciler::{HelmReleaseReconciler, Options};
use crate::waits::{Cancels, Waits};

/// The controller's name in events, metrics and leases.
pub const CONTROLLER: &str = "helm-controller";

/// How the controller is set up.
#[derive(Clone)]
pub struct Config {
    /// The controller's own client configuration (tenant clients derive from it).
    pub kube_config: kube::Config,
    /// Service account impersonated by HelmReleases that name none.
    pub default_service_account: Option<String>,
    /// What tenants' kubeconfigs may do.
    pub kubeconfig_policy: KubeconfigPolicy,
    /// How chart artifacts are downloaded.
    pub fetch: FetchOptions,
    /// How the reconciler behaves.
    pub options: Options,
    /// notification-controller's event address (`None`: Kubernetes Events only).
    pub events_addr: Option<String>,
    /// The reconcile loop's settings.
    pub loop_config: LoopConfig,
    /// Reconcile only while holding this Lease (`None`: at once).
    pub leader: Option<LeaderConfig>,
}

/// Why the controller could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The artifact client could not be built.
    #[error("building the artifact client: {0}")]
    Artifacts(#[from] ArtifactError),
}

/// A running controller; everything stops when it is dropped.
pub struct Running {
    loops: Option<JoinHandle<()>>,
}

impl Running {
    /// Waits until the loop stops (on SIGTERM or SIGINT).
    pub async fn wait(mut self) {
        if let Some(loops) = self.loops.take() {
            let _ = loops.await;
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(loops) = &self.loops {
            loops.abort();
        }
    }
}

/// Starts the HelmRelease loop against the cluster behind `client`.
pub async fn start(client: kube::Client, config: Config) -> Result<Running, StartError> {
    let recorder = Recorder::new(client.clone(), CONTROLLER, config.events_addr.as_deref());
    let artifacts = ArtifactClient::new(config.fetch)?;
    let clients = Clients::new(
        config.kube_config,
        client.clone(),
        config.default_service_account,
    )
    .with_kubeconfig_policy(config.kubeconfig_policy);
    let waits = Waits::new(client.clone(), clients.local().resolver.clone());
    let cancels = Cancels::default();
    let reconciler = HelmReleaseReconciler::new(
        clients,
        artifacts,
        recorder,
        config.options,
        waits,
        cancels.clone(),
        Gate::new(usize::from(config.loop_config.concurrency)),
    );
    let namespace = config.loop_config.namespace.clone();
    let metrics = config.loop_config.metrics.clone();
    let watch_client = client.clone();
    tracing::info!("starting HelmRelease reconciler");
    // `--concurrent` bounds the releases at work (the gate); the loop runs
    // many more, so that those waiting for readiness hold no work slot.
    let mut loop_config = config.loop_config;
    loop_config.concurrency = loop_config.concurrency.saturating_mul(64).max(256);
    let work = controller::run_with::<HelmRelease, _, _>(
        client.clone(),
        reconciler,
        loop_config,
        move |c| {
            let ns = namespace.as_deref();
            let c = crate::watches::watch_sources(c, watch_client.clone(), ns);
            let c = crate::watches::watch_dependencies(c, watch_client.clone(), ns, cancels);
            crate::watches::watch_values(c, watch_client, ns)
        },
    );
    let leader = config.leader;
    let loops = tokio::spawn(async move {
        leader::run_leading(client, leader, &metrics, work).await;
    });
    Ok(Running { loops: Some(loops) })
}
