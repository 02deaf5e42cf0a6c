//! The reconcile loops of the Helm source kinds, started together by the
//! app beside the other kinds.

use std::path::PathBuf;

use ferroflux_api::source::v1::HelmRepository;
use ferroflux_runtime::controller::{self, LoopConfig};
use ferroflux_runtime::events::Recorder;

use super::helm_repository;
use crate::helm::DEFAULT_MAX_INDEX_SIZE;
use crate::storage::Storage;

/// Runs the HelmRepository loop until shutdown.
pub async fn run(
    client: kube::Client,
    storage: Storage,
    recorder: Recorder,
    scratch: Option<PathBuf>,
    loop_config: LoopConfig,
) {
    let repositories = helm_repository::reconciler(
        client.clone(),
        storage,
        recorder,
        scratch,
        DEFAULT_MAX_INDEX_SIZE,
    );
    tracing::info!("starting HelmRepository reconciler");
    controller::run::<HelmRepository, _>(client, repositories, loop_config).await;
}
