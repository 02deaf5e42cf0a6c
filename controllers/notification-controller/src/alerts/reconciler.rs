//! The Alert reconciler: checks what can be checked without an event (the
//! regular expressions compile, the Provider exists, no cross-namespace
//! sources when those are forbidden) and reports it as `Ready`.
//!
//! Flux's v1beta3 Alert has no status; Ferroflux keeps one so that a broken
//! Alert is visible instead of silently dropping events.

use std::sync::Arc;
use std::time::Duration;

use ferroflux_api::conditions::{self, ObjectWithConditions, reasons};
use ferroflux_api::notification::v1beta3::{Alert, Provider};
use kube::ResourceExt;
use kube::runtime::controller::Action;
use kube::runtime::reflector::{ObjectRef, Store};

use super::matching::MessageFilters;
use crate::delivery::report::ALERT_READY_MESSAGE;
use crate::reconcile::ReconcileError;
use crate::status::{self, INVALID_CONFIG};

/// Reason of `Ready=False` when the Provider does not exist.
pub const PROVIDER_NOT_FOUND: &str = "ProviderNotFound";

/// What the Alert reconciler needs.
pub struct AlertContext {
    /// Client for status writes.
    pub client: kube::Client,
    /// Every Provider, as watched.
    pub providers: Store<Provider>,
    /// `--no-cross-namespace-refs`.
    pub no_cross_namespace_refs: bool,
}

/// What is wrong with an Alert, if anything: `(reason, message, stalled)`.
pub fn check(
    alert: &Alert,
    providers: &Store<Provider>,
    no_cross_namespace_refs: bool,
) -> Option<(&'static str, String, bool)> {
    let namespace = alert.namespace().unwrap_or_default();
    let filters = MessageFilters::compile(&alert.spec);
    if !filters.invalid.is_empty() {
        return Some((INVALID_CONFIG, filters.invalid.join("; "), true));
    }
    if no_cross_namespace_refs
        && let Some(source) = alert
            .spec
            .event_sources
            .iter()
            .find(|s| s.namespace.as_deref().is_some_and(|ns| ns != namespace))
    {
        return Some((
            reasons::ACCESS_DENIED,
            format!(
                "cross-namespace references are not allowed: eventSource {}/{}/{}",
                source.kind.as_str(),
                source.namespace.as_deref().unwrap_or_default(),
                source.name
            ),
            true,
        ));
    }
    let provider = &alert.spec.provider_ref.name;
    if providers
        .get(&ObjectRef::new(provider).within(&namespace))
        .is_none()
    {
        return Some((
            PROVIDER_NOT_FOUND,
            format!("provider '{namespace}/{provider}' not found"),
            false,
        ));
    }
    None
}

/// Reconciles one Alert.
pub async fn reconcile(
    alert: Arc<Alert>,
    ctx: Arc<AlertContext>,
) -> Result<Action, ReconcileError> {
    let mut obj = (*alert).clone();
    let generation = obj.metadata.generation;
    let at = conditions::now();
    let problem = check(&obj, &ctx.providers, ctx.no_cross_namespace_refs);
    match &problem {
        Some((reason, message, true)) => {
            conditions::mark_stalled(obj.conditions_mut(), reason, message, generation, at)
        }
        Some((reason, message, false)) => {
            conditions::mark_failed(obj.conditions_mut(), reason, message, generation, at)
        }
        // A delivery failure stays until a delivery succeeds or the spec changes.
        None if status::has_dispatch_failure(&obj) => false,
        None => conditions::mark_ready(
            obj.conditions_mut(),
            reasons::SUCCEEDED,
            ALERT_READY_MESSAGE,
            generation,
            at,
        ),
    };
    status::finish(&ctx.client, &*alert, &mut obj)
        .await
        .map_err(ReconcileError::Status)?;
    Ok(match problem {
        // The Provider watch brings the Alert back when it appears; the
        // requeue is a safety net.
        Some((_, _, false)) => Action::requeue(Duration::from_secs(60)),
        _ => Action::await_change(),
    })
}
