//! The event JSON Flux controllers POST to notification-controller
//! (`event.toolkit.fluxcd.io/v1beta1` Event in Flux's `pkg/apis/event`).
//!
//! Field names and their order follow Flux's Go type so that the `generic`
//! Provider forwards an event byte-compatible with what Flux would forward.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use serde::{Deserialize, Serialize};

/// API group of event metadata keys set by users through object annotations
/// (`event.toolkit.fluxcd.io/<key>`).
pub const EVENT_GROUP: &str = "event.toolkit.fluxcd.io";
/// Metadata key (under the object's group) of the source revision.
pub const META_REVISION_KEY: &str = "revision";
/// Metadata key (under the object's group) of the origin revision.
pub const META_ORIGIN_REVISION_KEY: &str = "originRevision";
/// Metadata key (under the object's group) of the deprecated artifact checksum.
pub const META_CHECKSUM_KEY: &str = "checksum";
/// Metadata key (under the object's group) of the artifact digest.
pub const META_DIGEST_KEY: &str = "digest";
/// Metadata key (under the object's group) of the emitter's de-duplication token.
pub const META_TOKEN_KEY: &str = "token";

/// Why an event payload was refused.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    /// The body is not JSON of the event's shape.
    #[error("invalid event JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// A field the event cannot do without is empty.
    #[error("invalid event: {0} is required")]
    Missing(&'static str),
}

/// How serious an event is.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Actions taken during a reconcile (Flux sends these rarely; Alerts at
    /// `info` forward them like informational events).
    Trace,
    /// A change or a success.
    Info,
    /// A failure.
    Error,
}

impl Severity {
    /// The wire form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Trace => "trace",
            Self::Info => "info",
            Self::Error => "error",
        }
    }
}

/// The object an event is about (Kubernetes' `ObjectReference`; every field
/// is optional on the wire, as in Go).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct InvolvedObject {
    /// Kind, e.g. `Kustomization`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// Namespace.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    /// Name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// UID.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub uid: String,
    /// API version, e.g. `kustomize.toolkit.fluxcd.io/v1`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub api_version: String,
    /// Resource version the event was recorded at.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub resource_version: String,
    /// Field path within the object, when the event is about a part of it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub field_path: String,
}

impl InvolvedObject {
    /// The API group of `apiVersion` (empty for the core group).
    pub fn group(&self) -> &str {
        match self.api_version.split_once('/') {
            Some((group, _)) => group,
            None => "",
        }
    }

    /// `Kind/namespace/name`, as Flux names objects in logs and messages.
    pub fn display(&self) -> String {
        format!("{}/{}/{}", self.kind, self.namespace, self.name)
    }
}

/// A Flux event.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct FluxEvent {
    /// The object this event is about.
    pub involved_object: InvolvedObject,
    /// `trace`, `info` or `error`.
    pub severity: Severity,
    /// When the event was recorded.
    pub timestamp: Time,
    /// Human-readable description.
    pub message: String,
    /// Machine-readable reason, e.g. `ReconciliationSucceeded`.
    pub reason: String,
    /// Extra facts, keyed `<group>/<key>` (e.g. the revision).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
    /// The controller that emitted the event, e.g. `kustomize-controller`.
    pub reporting_controller: String,
    /// The instance of that controller, e.g. its pod name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reporting_instance: String,
}

impl FluxEvent {
    /// Parses and checks a POSTed event.
    pub fn from_json(body: &[u8]) -> Result<Self, EventError> {
        let event: FluxEvent = serde_json::from_slice(body)?;
        if event.involved_object.kind.is_empty() {
            return Err(EventError::Missing("involvedObject.kind"));
        }
        if event.involved_object.name.is_empty() {
            return Err(EventError::Missing("involvedObject.name"));
        }
        if event.reporting_controller.is_empty() {
            return Err(EventError::Missing("reportingController"));
        }
        Ok(event)
    }

    /// Keeps only the metadata used for alerting, as Flux does on intake:
    /// keys under `event.toolkit.fluxcd.io/` or the involved object's group,
    /// minus that group's `checksum` and `digest` (they change on every
    /// artifact and carry nothing a person acts on).
    pub fn clean_metadata(&mut self) {
        let event_prefix = format!("{EVENT_GROUP}/");
        let object_prefix = format!("{}/", self.involved_object.group());
        let excluded = [
            format!("{object_prefix}{META_CHECKSUM_KEY}"),
            format!("{object_prefix}{META_DIGEST_KEY}"),
        ];
        self.metadata.retain(|key, _| {
            !excluded.iter().any(|e| e.eq_ignore_ascii_case(key))
                && (key.starts_with(&event_prefix) || key.starts_with(&object_prefix))
        });
    }

    /// Removes metadata meant only for this controller (the emitter's
    /// de-duplication token), once it has served its purpose.
    pub fn remove_internal_metadata(&mut self) {
        let key = self.object_meta_key(META_TOKEN_KEY);
        self.metadata.remove(&key);
    }

    /// The metadata value of `key` under the involved object's group.
    pub fn object_meta(&self, key: &str) -> Option<&str> {
        self.metadata
            .get(&self.object_meta_key(key))
            .map(String::as_str)
    }

    fn object_meta_key(&self, key: &str) -> String {
        format!("{}/{key}", self.involved_object.group())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"{
      "involvedObject": {
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "name": "webapp",
        "namespace": "apps",
        "uid": "7d0cdc51-ddcf-4743-b223-83ca5c699632"
      },
      "metadata": {
        "kustomize.toolkit.fluxcd.io/revision": "main/731f7ea",
        "kustomize.toolkit.fluxcd.io/digest": "sha256:abc",
        "kustomize.toolkit.fluxcd.io/token": "t1",
        "event.toolkit.fluxcd.io/deploymentID": "e076",
        "other.example.com/x": "y"
      },
      "severity":"error",
      "reason": "ValidationFailed",
      "message":"service/apps/webapp validation error",
      "reportingController":"kustomize-controller",
      "timestamp":"2022-10-28T07:26:19Z"
    }"#;

    #[test]
    fn parses_flux_documented_example() {
        let event = FluxEvent::from_json(SAMPLE.as_bytes()).unwrap();
        assert_eq!(event.involved_object.kind, "Kustomization");
        assert_eq!(event.involved_object.group(), "kustomize.toolkit.fluxcd.io");
        assert_eq!(event.severity, Severity::Error);
        assert_eq!(event.reporting_instance, "");
    }

    #[test]
    fn round_trips_with_go_field_names() {
        let event = FluxEvent::from_json(SAMPLE.as_bytes()).unwrap();
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(json["timestamp"], "2022-10-28T07:26:19Z");
        assert_eq!(
            json["involvedObject"]["apiVersion"],
            "kustomize.toolkit.fluxcd.io/v1"
        );
        assert_eq!(json["reportingController"], "kustomize-controller");
        assert!(json.get("reportingInstance").is_none());
        assert!(json["involvedObject"].get("resourceVersion").is_none());
    }

    #[test]
    fn refuses_bad_payloads_with_a_clear_message() {
        let err = FluxEvent::from_json(b"{").unwrap_err();
        assert!(err.to_string().starts_with("invalid event JSON"), "{err}");
        let err = FluxEvent::from_json(br#"{"involvedObject":{"kind":"A","name":"b"},"severity":"fatal","timestamp":"2022-10-28T07:26:19Z","message":"","reason":"","reportingController":"x"}"#).unwrap_err();
        assert!(err.to_string().contains("fatal"), "{err}");
        let err = FluxEvent::from_json(br#"{"involvedObject":{"kind":"A"},"severity":"info","timestamp":"2022-10-28T07:26:19Z","message":"","reason":"","reportingController":"x"}"#).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid event: involvedObject.name is required"
        );
        let err = FluxEvent::from_json(br#"{"involvedObject":{"kind":"A","name":"b"},"severity":"info","message":"","reason":"","reportingController":"x"}"#).unwrap_err();
        assert!(err.to_string().contains("timestamp"), "{err}");
    }

    #[test]
    fn metadata_cleanup_keeps_alerting_keys_only() {
        let mut event = FluxEvent::from_json(SAMPLE.as_bytes()).unwrap();
        event.clean_metadata();
        let keys: Vec<_> = event.metadata.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "event.toolkit.fluxcd.io/deploymentID",
                "kustomize.toolkit.fluxcd.io/revision",
                "kustomize.toolkit.fluxcd.io/token",
            ]
        );
        assert_eq!(event.object_meta(META_TOKEN_KEY), Some("t1"));
        event.remove_internal_metadata();
        assert_eq!(event.object_meta(META_TOKEN_KEY), None);
        assert_eq!(event.object_meta(META_REVISION_KEY), Some("main/731f7ea"));
    }
}
