//! The Provider reconciler: resolves the Provider's settings (reading its
//! Secrets) and reports whether it can deliver as `Ready`.
//!
//! Flux's v1beta3 Provider has no status; Ferroflux keeps one so that a
//! missing Secret, a bad address or an unsupported type is visible before
//! the first event is lost to it.

use std::sync::Arc;
use std::time::Duration;

use ferroflux_api::conditions::reasons;
use ferroflux_api::notification::v1beta3::Provider;
use kube::runtime::controller::Action;

use super::config::ConfigError;
use super::secrets;
use crate::delivery::report::PROVIDER_READY_MESSAGE;
use ferroflux_runtime::controller::Outcome;
use ferroflux_runtime::verdict::{Retry, Verdict};

use crate::reconcile::{ReconcileError, conclude};
use crate::status::INVALID_CONFIG;

/// Reason of `Ready=False` for a type this version cannot deliver to.
pub const UNSUPPORTED_TYPE: &str = "UnsupportedProviderType";

/// What the Provider reconciler needs.
pub struct ProviderContext {
    /// Client for Secrets and status writes.
    pub client: kube::Client,
}

/// How often a Provider that cannot deliver is looked at again: its
/// Secrets may appear or change without the Provider changing.
const RECHECK: Duration = Duration::from_secs(60);
/// How often a working Provider's Secrets are read again.
const REFRESH: Duration = Duration::from_secs(600);

/// Reconciles one Provider.
pub async fn reconcile(
    provider: Arc<Provider>,
    ctx: Arc<ProviderContext>,
) -> Result<Action, ReconcileError> {
    let verdict = match secrets::load(&ctx.client, &provider).await {
        Ok(_) => Verdict::ready(reasons::SUCCEEDED, PROVIDER_READY_MESSAGE)
            .requeue(Outcome::After(REFRESH)),
        // A type this version cannot deliver to only changes with the spec.
        Err(e @ ConfigError::Unsupported(_)) => Verdict::stalled(UNSUPPORTED_TYPE, e.to_string()),
        Err(e @ ConfigError::NotImplemented(_)) => {
            Verdict::stalled(UNSUPPORTED_TYPE, e.to_string()).retry(Retry::After(RECHECK))
        }
        Err(e) => Verdict::failed(INVALID_CONFIG, e.to_string()).retry(Retry::After(RECHECK)),
    };
    let obj = (*provider).clone();
    conclude(&ctx.client, &*provider, obj, verdict).await
}
