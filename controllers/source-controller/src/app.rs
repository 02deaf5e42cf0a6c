//! Wiring: storage, the artifact server and the reconcile loops, started
//! together by [`start`]. The binary adds what belongs to a process (flags,
//! logging, scratch directory, metrics endpoints, leader election); tests
//! start the controller through [`start`] as the binary does.

use std::net::SocketAddr;
use std::path::PathBuf;

use ferroflux_api::source::v1::{Bucket, GitRepository};
use ferroflux_runtime::controller::{self, LoopConfig};
use ferroflux_runtime::events::Recorder;
use ferroflux_runtime::leader::{self, LeaderConfig};
use tokio::task::JoinHandle;

use crate::git::CheckoutLimits;
use crate::kinds::{bucket, git_repository};
use crate::storage::{self, Storage, StorageError};

/// The controller's name in events, metrics and leases.
pub const CONTROLLER: &str = "source-controller";

/// How the controller is set up.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where artifacts are stored (and served from).
    pub storage_path: PathBuf,
    /// Address the artifact server listens on (`:9090`, `127.0.0.1:0`).
    pub storage_addr: String,
    /// Host (and port) artifact URLs are advertised with; `None`: the
    /// address the artifact server is bound to.
    pub storage_adv_addr: Option<String>,
    /// Artifacts kept per object (the current one included).
    pub artifact_retention_records: usize,
    /// Refuse ArtifactGenerator sources in other namespaces (the
    /// multi-tenancy lockdown's `--no-cross-namespace-refs`).
    pub no_cross_namespace_refs: bool,
    /// Where Git caches are kept (not served).
    pub git_cache_path: PathBuf,
    /// Size limits on Git checkouts and on artifacts.
    pub limits: CheckoutLimits,
    /// Where checkouts are written (the controller's scratch directory;
    /// `None`: the system's temporary directory).
    pub scratch: Option<PathBuf>,
    /// notification-controller's event address (`None`: Kubernetes Events only).
    pub events_addr: Option<String>,
    /// The reconcile loops' settings (concurrency, namespace, metrics, ...).
    pub loop_config: LoopConfig,
    /// Reconcile only while holding this Lease (`None`: at once). The
    /// artifact server does not wait for it: artifacts stay served by every
    /// replica.
    pub leader: Option<LeaderConfig>,
}

/// Why the controller could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The artifact server's address is not an address.
    #[error("{0}")]
    Address(String),
    /// The artifact server's address could not be bound.
    #[error("listening on {addr} (artifacts): {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The storage directory could not be opened.
    #[error("opening the storage directory: {0}")]
    Storage(#[from] StorageError),
    /// The Git cache directory could not be created.
    #[error("creating the Git cache directory {path}: {source}")]
    GitCache {
        /// The directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// A running controller; everything stops when it is dropped.
pub struct Running {
    /// Where the artifact server listens.
    pub storage_addr: SocketAddr,
    loops: Option<JoinHandle<()>>,
    server: JoinHandle<()>,
}

impl Running {
    /// Waits until the reconcile loops stop (on SIGTERM or SIGINT) and the
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
        self.server.abort();
    }
}

/// Starts the artifact server and the reconcile loops against the cluster
/// behind `client`.
pub async fn start(client: kube::Client, config: Config) -> Result<Running, StartError> {
    let addr =
        ferroflux_runtime::flags::bind_addr(&config.storage_addr).map_err(StartError::Address)?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| StartError::Bind { addr, source })?;
    let storage_addr = listener
        .local_addr()
        .map_err(|source| StartError::Bind { addr, source })?;
    let adv_addr = config
        .storage_adv_addr
        .clone()
        .unwrap_or_else(|| storage_addr.to_string());
    let storage = Storage::new(&config.storage_path, adv_addr)?
        .with_retention(config.artifact_retention_records);
    std::fs::create_dir_all(&config.git_cache_path).map_err(|source| StartError::GitCache {
        path: config.git_cache_path.clone(),
        source,
    })?;
    let root = config.storage_path.clone();
    let server = tokio::spawn(async move {
        if let Err(e) =
            storage::server::serve_listener(listener, root, std::future::pending()).await
        {
            tracing::error!(error = %e, "artifact server stopped");
        }
    });

    let recorder = Recorder::new(client.clone(), CONTROLLER, config.events_addr.as_deref());
    let helm_loops = crate::kinds::helm_loops::run(
        client.clone(),
        storage.clone(),
        recorder.clone(),
        config.scratch.clone(),
        config.loop_config.clone(),
    );
    let mut oci_repositories = crate::kinds::oci_repository::reconciler(
        client.clone(),
        storage.clone(),
        recorder.clone(),
        config.limits.max_size,
    );
    if let Some(scratch) = &config.scratch {
        oci_repositories = oci_repositories.with_scratch(scratch.clone());
    }
    let oci_loop_config = config.loop_config.clone();
    // Each Bucket's object mirror sits beside the Git caches (not served).
    let mut buckets = bucket::reconciler(
        client.clone(),
        storage.clone(),
        recorder.clone(),
        config.git_cache_path.join("buckets"),
        config.limits.into(),
    );
    if let Some(scratch) = &config.scratch {
        buckets = buckets.with_scratch(scratch.clone());
    }
    let bucket_loop_config = config.loop_config.clone();
    let generators = crate::kinds::artifact_generator::reconciler(
        client.clone(),
        storage.clone(),
        recorder.clone(),
        config.scratch.clone(),
        config.limits.max_size,
    )
    .refuse_cross_namespace_refs(config.no_cross_namespace_refs);
    let generator_loop_config = config.loop_config.clone();
    let mut reconciler = git_repository::reconciler(
        client.clone(),
        storage,
        recorder,
        config.git_cache_path,
        config.limits,
    );
    if let Some(scratch) = config.scratch {
        reconciler = reconciler.with_scratch(scratch);
    }
    tracing::info!(%storage_addr, "starting source reconcilers");
    let metrics = config.loop_config.metrics.clone();
    let loops = tokio::spawn(async move {
        let git =
            controller::run::<GitRepository, _>(client.clone(), reconciler, config.loop_config);
        let oci = controller::run::<ferroflux_api::source::v1::OCIRepository, _>(
            client.clone(),
            oci_repositories,
            oci_loop_config,
        );
        let bucket = controller::run::<Bucket, _>(client.clone(), buckets, bucket_loop_config);
        let generator = crate::kinds::artifact_generator::run(
            client.clone(),
            generators,
            generator_loop_config,
        );
        // One leader runs every kind's loop; they end together.
        let work = async move {
            futures::join!(git, oci, bucket, helm_loops, generator);
        };
        leader::run_leading(client, config.leader, &metrics, work).await;
    });
    Ok(Running {
        storage_addr,
        loops: Some(loops),
        server,
    })
}
