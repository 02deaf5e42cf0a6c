//! The Provider reconciler: resolves the Provider's settings (reading its
//! Secrets) and reports whether it can deliver as `Ready`.
//!
//! Flux's v1beta3 Provider has no status; Ferroflux keeps one so that a
//! missing Secret, a bad address or an unsupported type is visible before
//! the first event is lost to it.

use std::sync::Arc;
use std::time::Duration;

use ferroflux_api::conditions::{self, ObjectWithConditions, reasons};
use ferroflux_api::notification::v1beta3::Provider;
use kube::runtime::controller::Action;

use super::config::ConfigError;
use super::secrets;
use crate::delivery::report::PROVIDER_READY_MESSAGE;
use crate::reconcile::ReconcileError;
use crate::status::{self, INVALID_CONFIG};

/// Reason of `Ready=False` for a type this version cannot deliver to.
pub const UNSUPPORTED_TYPE: &str = "UnsupportedProviderType";

/// What the Provider reconciler needs.
pub struct ProviderContext {
    /// Client for Secrets and status writes.
    pub client: kube::Client,
}

/// Reconciles one Provider.
pub async fn reconcile(
    provider: Arc<Provider>,
    ctx: Arc<ProviderContext>,
) -> Result<Action, ReconcileError> {
    let mut obj = (*provider).clone();
    let generation = obj.metadata.generation;
    let at = conditions::now();
    let outcome = secrets::load(&ctx.client, &obj).await;
    match &outcome {
        Err(e @ (ConfigError::Unsupported(_) | ConfigError::NotImplemented(_))) => {
            conditions::mark_stalled(
                obj.conditions_mut(),
                UNSUPPORTED_TYPE,
                &e.to_string(),
                generation,
                at,
            )
        }
        Err(e) => conditions::mark_failed(
            obj.conditions_mut(),
            INVALID_CONFIG,
            &e.to_string(),
            generation,
            at,
        ),
        // A delivery failure stays until a delivery succeeds or the spec changes.
        Ok(_) if status::has_dispatch_failure(&obj) => false,
        Ok(_) => conditions::mark_ready(
            obj.conditions_mut(),
            reasons::SUCCEEDED,
            PROVIDER_READY_MESSAGE,
            generation,
            at,
        ),
    };
    status::finish(&ctx.client, &*provider, &mut obj)
        .await
        .map_err(ReconcileError::Status)?;
    Ok(match outcome {
        // Secrets may appear or change without the Provider changing.
        Err(ConfigError::Unsupported(_)) => Action::await_change(),
        Err(_) => Action::requeue(Duration::from_secs(60)),
        Ok(_) => Action::requeue(Duration::from_secs(600)),
    })
}
