//! The metadata of a notification: the event's, the Alert's and the
//! object's, merged in the precedence Flux documents (lowest first):
//! `event.toolkit.fluxcd.io/` keys (object annotations), the Alert's
//! `eventMetadata`, the Alert's deprecated `summary`, and the emitting
//! controller's `<group>/` keys. Prefixes are stripped.

use std::collections::BTreeMap;

use ferroflux_api::notification::v1beta3::AlertSpec;

use crate::intake::FluxEvent;
use crate::intake::event::EVENT_GROUP;

/// The merged metadata, and the keys set by more than one source.
pub fn combine(event: &FluxEvent, alert: &AlertSpec) -> (BTreeMap<String, String>, Vec<String>) {
    let mut merged = BTreeMap::new();
    let mut sources: BTreeMap<String, usize> = BTreeMap::new();
    let mut put = |key: &str, value: &str| {
        merged.insert(key.to_string(), value.to_string());
        *sources.entry(key.to_string()).or_default() += 1;
    };
    let event_prefix = format!("{EVENT_GROUP}/");
    for (k, v) in &event.metadata {
        if let Some(key) = k.strip_prefix(&event_prefix) {
            put(key, v);
        }
    }
    for (k, v) in &alert.event_metadata {
        put(k, v);
    }
    if let Some(summary) = alert.summary.as_deref().filter(|s| !s.is_empty()) {
        put("summary", summary);
    }
    let object_prefix = format!("{}/", event.involved_object.group());
    for (k, v) in &event.metadata {
        if let Some(key) = k.strip_prefix(&object_prefix) {
            put(key, v);
        }
    }
    let conflicts = sources
        .into_iter()
        .filter(|(_, n)| *n > 1)
        .map(|(k, _)| k)
        .collect();
    (merged, conflicts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precedence_follows_flux() {
        let event: FluxEvent = serde_json::from_value(serde_json::json!({
            "involvedObject": {"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease", "namespace": "ns", "name": "a"},
            "severity": "info", "timestamp": "2024-01-01T00:00:00Z", "message": "m",
            "reason": "R", "reportingController": "helm-controller",
            "metadata": {
                "event.toolkit.fluxcd.io/summary": "from annotation",
                "event.toolkit.fluxcd.io/deploymentID": "e076",
                "event.toolkit.fluxcd.io/env": "annotated",
                "helm.toolkit.fluxcd.io/revision": "1.2.3",
                "helm.toolkit.fluxcd.io/env": "controller"
            }
        }))
        .unwrap();
        let alert: AlertSpec = serde_yaml::from_str(
            "providerRef: {name: p}\neventSources: []\nsummary: deprecated summary\neventMetadata: {env: production, cluster: c1}\n",
        )
        .unwrap();
        let (merged, conflicts) = combine(&event, &alert);
        assert_eq!(merged["deploymentID"], "e076");
        assert_eq!(merged["cluster"], "c1");
        assert_eq!(merged["summary"], "deprecated summary");
        assert_eq!(merged["env"], "controller");
        assert_eq!(merged["revision"], "1.2.3");
        assert_eq!(conflicts, ["env", "summary"]);
    }
}
