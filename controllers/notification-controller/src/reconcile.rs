//! What the three reconcilers (Alert, Provider, Receiver) share.

use std::time::Duration;

use ferroflux_api::meta::RECONCILE_REQUEST_ANNOTATION;
use kube::Resource;
use kube::runtime::controller::Action;

/// Why a reconcile must be retried.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    /// Writing the status failed.
    #[error("patching status: {0}")]
    Status(#[source] kube::Error),
}

/// Retry after an error: soon, but not in a tight loop.
pub fn retry_after_error<K>(
    _obj: std::sync::Arc<K>,
    error: &ReconcileError,
    _ctx: std::sync::Arc<impl Sized>,
) -> Action {
    tracing::warn!("reconcile failed: {error}");
    Action::requeue(Duration::from_secs(10))
}

/// The `reconcile.fluxcd.io/requestedAt` value of `obj`, if set.
pub fn requested_at<K: Resource>(obj: &K) -> Option<String> {
    obj.meta()
        .annotations
        .as_ref()
        .and_then(|a| a.get(RECONCILE_REQUEST_ANNOTATION))
        .cloned()
}
