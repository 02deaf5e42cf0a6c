//! Wiring: the clients, the artifact client, the reconciler and its loop
//! with the watches on sources, labelled configuration objects and
//! dependencies, started together by
//! [`start`]. The binary adds what belongs to a process (flags, logging,
//! scratch directory, metrics endpoints); tests start the controller
//! through [`start`] as the binary does.

use ferroflux_api::kustomize::v1::Kustomization;
use ferroflux_runtime::artifact::{ArtifactClient, ArtifactError, FetchOptions};
use ferroflux_runtime::controller::{self, LoopConfig};
use ferroflux_runtime::events::Recorder;
use ferroflux_runtime::kubeconfig::Policy as KubeconfigPolicy;
use ferroflux_runtime::leader::{self, LeaderConfig};
use tokio::task::JoinHandle;

use crate::reconciler::{HealthWakeups, KustomizationReconciler, Options};
use ferroflux_ssa::clients::Clients;

/// The controller's name in events, metrics and leases.
pub const CONTROLLER: &str = "kustomize-controller";

/// How the controller is set up.
#[derive(Clone)]
pub struct Config {
    /// The controller's own client configuration, from which the clients
    /// that impersonate tenants are made.
    pub kube_config: kube::Config,
    /// Service account impersonated by Kustomizations that name none
    /// (`--default-service-account`).
    pub default_service_account: Option<String>,
    /// What tenants' kubeconfigs may do (`--insecure-kubeconfig-*`).
    pub kubeconfig_policy: KubeconfigPolicy,
    /// How artifacts are downloaded.
    pub fetch: FetchOptions,
    /// How the reconciler behaves.
    pub options: Options,
    /// notification-controller's event address (`None`: Kubernetes Events only).
    pub events_addr: Option<String>,
    /// The reconcile loop's settings (concurrency, namespace, metrics, ...).
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
    /// Waits until the reconcile loop stops (on SIGTERM or SIGINT) and the
    /// Lease, if any, is given up.
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

/// Starts the Kustomization loop against the cluster behind `client`.
pub async fn start(client: kube::Client, config: Config) -> Result<Running, StartError> {
    let recorder = Recorder::new(client.clone(), CONTROLLER, config.events_addr.as_deref());
    let artifacts = ArtifactClient::new(config.fetch)?;
    let clients = Clients::new(
        config.kube_config,
        client.clone(),
        config.default_service_account,
    )
    .with_kubeconfig_policy(config.kubeconfig_policy);
    // One watch per kind of the objects health checks wait for, shared by
    // every Kustomization, with the controller's own identity: it only
    // wakes a waiting Kustomization, whose reconcile then judges health
    // with its own (impersonated) client.
    let (health, wakeups) = HealthWakeups::new(client.clone(), clients.local().resolver.clone());
    let reconciler = KustomizationReconciler::new(clients, artifacts, recorder, config.options)
        .with_health_watcher(health);
    let namespace = config.loop_config.namespace.clone();
    let metrics = config.loop_config.metrics.clone();
    let watch_client = client.clone();
    tracing::info!("starting Kustomization reconciler");
    let work = controller::run_with::<Kustomization, _, _>(
        client.clone(),
        reconciler,
        config.loop_config,
        move |c| {
            let c = crate::watches::watch_sources(c, watch_client.clone(), namespace.as_deref());
            let c = crate::watches::watch_configs(c, watch_client.clone(), namespace.as_deref());
            crate::watches::watch_dependencies(c, watch_client, namespace.as_deref())
                .reconcile_on(wakeups)
        },
    );
    let leader = config.leader;
    let loops = tokio::spawn(async move {
        leader::run_leading(client, leader, &metrics, work).await;
    });
    Ok(Running { loops: Some(loops) })
}
