//! The Alert reconciler: checks what can be checked without an event (the
//! regular expressions compile, the Provider exists, no cross-namespace
//! sources when those are forbidden) and reports it as `Ready`.
//!
//! Flux's v1beta3 Alert has no status; Ferroflux keeps one so that a broken
//! Alert is visible instead of silently dropping events.

use std::sync::Arc;
use std::time::Duration;

use ferroflux_api::conditions::reasons;
use ferroflux_api::notification::v1beta3::{Alert, Provider};
use kube::ResourceExt;
use kube::runtime::controller::Action;
use kube::runtime::reflector::{ObjectRef, Store};

use super::matching::MessageFilters;
use crate::delivery::report::ALERT_READY_MESSAGE;
use ferroflux_runtime::controller::Outcome;
use ferroflux_runtime::verdict::{Retry, Verdict};

use crate::reconcile::{ReconcileError, conclude};
use crate::status::INVALID_CONFIG;

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

/// What is wrong with an Alert, if anything, as the verdict that reports
/// it: a bad filter or a forbidden reference is stalled; a missing Provider
/// is looked at again (the Provider watch brings the Alert back when it
/// appears; the requeue is a safety net).
pub fn check(
    alert: &Alert,
    providers: &Store<Provider>,
    no_cross_namespace_refs: bool,
) -> Option<Verdict> {
    let namespace = alert.namespace().unwrap_or_default();
    let filters = MessageFilters::compile(&alert.spec);
    if !filters.invalid.is_empty() {
        return Some(Verdict::stalled(INVALID_CONFIG, filters.invalid.join("; ")));
    }
    if no_cross_namespace_refs
        && let Some(source) = alert
            .spec
            .event_sources
            .iter()
            .find(|s| s.namespace.as_deref().is_some_and(|ns| ns != namespace))
    {
        return Some(Verdict::stalled(
            reasons::ACCESS_DENIED,
            format!(
                "cross-namespace references are not allowed: eventSource {}/{}/{}",
                source.kind.as_str(),
                source.namespace.as_deref().unwrap_or_default(),
                source.name
            ),
        ));
    }
    let provider = &alert.spec.provider_ref.name;
    if providers
        .get(&ObjectRef::new(provider).within(&namespace))
        .is_none()
    {
        return Some(
            Verdict::failed(
                PROVIDER_NOT_FOUND,
                format!("provider '{namespace}/{provider}' not found"),
            )
            .retry(Retry::After(PROVIDER_RECHECK)),
        );
    }
    None
}

/// How often an Alert whose Provider is missing is looked at again.
const PROVIDER_RECHECK: Duration = Duration::from_secs(60);

/// Reconciles one Alert.
pub async fn reconcile(
    alert: Arc<Alert>,
    ctx: Arc<AlertContext>,
) -> Result<Action, ReconcileError> {
    let verdict = check(&alert, &ctx.providers, ctx.no_cross_namespace_refs).unwrap_or_else(|| {
        Verdict::ready(reasons::SUCCEEDED, ALERT_READY_MESSAGE).requeue(Outcome::AwaitChange)
    });
    let obj = (*alert).clone();
    conclude(&ctx.client, &*alert, obj, verdict).await
}
