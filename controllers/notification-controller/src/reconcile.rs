//! What the three reconcilers (Alert, Provider, Receiver) share.

use std::time::Duration;

use ferroflux_api::meta::RECONCILE_REQUEST_ANNOTATION;
use ferroflux_runtime::controller::{Kind, Outcome};
use ferroflux_runtime::verdict::{self, Verdict};
use kube::Resource;
use kube::runtime::controller::Action;

/// Why a reconcile must be retried.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    /// Writing the status failed.
    #[error("patching status: {0}")]
    Status(#[source] kube::Error),
}

/// How long an object whose failure asks for backoff waits (these loops
/// keep no failure counts: soon, but not in a tight loop).
const ERROR_RETRY: Duration = Duration::from_secs(10);

/// Ends a reconcile of `original`: records `verdict` on `obj` (the runtime's
/// one translation into conditions), writes the status if it changed and
/// says when to run again. A `Ready` verdict leaves a delivery failure in
/// place: it stays until a delivery succeeds or the spec changes.
pub async fn conclude<K: Kind>(
    client: &kube::Client,
    original: &K,
    mut obj: K,
    verdict: Verdict,
) -> Result<Action, ReconcileError> {
    let result = match &verdict {
        Verdict::Ready(ready) if crate::status::has_dispatch_failure(&obj) => Ok(ready.requeue),
        // No event: these objects' changes are not reported to a sink.
        _ => verdict::record(&mut obj, verdict).result,
    };
    crate::status::finish(client, original, &mut obj)
        .await
        .map_err(ReconcileError::Status)?;
    Ok(match result {
        Ok(Outcome::After(after)) => Action::requeue(after),
        Ok(Outcome::Interval) => obj
            .interval()
            .map_or_else(Action::await_change, Action::requeue),
        Ok(Outcome::AwaitChange) => Action::await_change(),
        Err(e) => Action::requeue(e.retry_after.unwrap_or(ERROR_RETRY)),
    })
}

/// Retry after an error: soon, but not in a tight loop.
pub fn retry_after_error<K>(
    _obj: std::sync::Arc<K>,
    error: &ReconcileError,
    _ctx: std::sync::Arc<impl Sized>,
) -> Action {
    tracing::warn!("reconcile failed: {error}");
    Action::requeue(ERROR_RETRY)
}

/// The `reconcile.fluxcd.io/requestedAt` value of `obj`, if set.
pub fn requested_at<K: Resource>(obj: &K) -> Option<String> {
    obj.meta()
        .annotations
        .as_ref()
        .and_then(|a| a.get(RECONCILE_REQUEST_ANNOTATION))
        .cloned()
}
