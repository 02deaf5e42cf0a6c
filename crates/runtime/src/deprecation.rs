//! Objects written through a deprecated API version (Flux's v1beta1,
//! v1beta2, v2beta1, ...): the controller warns about them (a Kubernetes
//! event on the object and a log line, whenever it sees a new generation)
//! and reconciles them as the storage version, with the deprecated fields
//! folded into their replacements (see [`ferroflux_api::deprecation`]).

use std::collections::BTreeMap;

use ferroflux_api::deprecation::{fold_legacy_fields, kind_versions, written_through};
use kube::ResourceExt;

use crate::controller::Kind;
use crate::events::{Recorder, Severity};

/// Reason of the deprecation event.
pub const DEPRECATED_API_VERSION: &str = "DeprecatedAPIVersion";
/// Reason of the event when an old object's fields cannot be folded.
pub const CONVERSION_FAILED: &str = "ConversionFailed";

/// `obj` with its deprecated fields folded into their replacements, or
/// `None` when it has none and is reconciled as read. Warns (event + log)
/// about an object whose spec was written through a deprecated version,
/// on each generation not yet observed. An error names the field that could
/// not be converted; the object must not be reconciled without it.
pub async fn storage_view<K: Kind>(client: &kube::Client, obj: &K) -> Result<Option<K>, String> {
    let (group, kind) = (K::group(&()), K::kind(&()));
    let recorder = || Recorder::new(client.clone(), controller_for(&group), None);
    let managed = obj.meta().managed_fields.as_deref().unwrap_or_default();
    if let Some(write) = written_through(&group, &kind, managed)
        && obj.observed_generation() != obj.meta().generation
    {
        let message = write.message();
        tracing::warn!(
            object = %format!("{kind}/{}/{}", obj.namespace().unwrap_or_default(), obj.name_any()),
            api_version = %write.api_version(),
            "{message}"
        );
        recorder()
            .publish(
                obj,
                Severity::Error,
                DEPRECATED_API_VERSION,
                &message,
                BTreeMap::new(),
            )
            .await;
    }
    if !kind_versions(&group, &kind).is_some_and(|k| k.has_legacy_fields) {
        return Ok(None);
    }
    match fold(obj) {
        Ok(converted) => Ok(converted),
        Err(message) => {
            recorder()
                .publish(
                    obj,
                    Severity::Error,
                    CONVERSION_FAILED,
                    &message,
                    BTreeMap::new(),
                )
                .await;
            Err(message)
        }
    }
}

fn fold<K: Kind>(obj: &K) -> Result<Option<K>, String> {
    let kind = K::kind(&());
    let failed = |e: &dyn std::fmt::Display| {
        format!(
            "reading the deprecated fields of {kind} {}: {e}",
            obj.name_any()
        )
    };
    let old = serde_json::to_value(obj).map_err(|e| failed(&e))?;
    let mut target = old.clone();
    let folded = fold_legacy_fields(&kind, &old, &mut target).map_err(|e| failed(&e))?;
    if folded.is_empty() {
        return Ok(None);
    }
    tracing::debug!(object = %obj.name_any(), ?folded, "deprecated fields folded into their replacements");
    serde_json::from_value(target)
        .map(Some)
        .map_err(|e| failed(&e))
}

/// The controller that reconciles a group's kinds, as named in events.
fn controller_for(group: &str) -> &'static str {
    match group.split('.').next() {
        Some("source") => "source-controller",
        Some("kustomize") => "kustomize-controller",
        Some("helm") => "helm-controller",
        Some("notification") => "notification-controller",
        _ => "ferroflux",
    }
}
