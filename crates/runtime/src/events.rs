//! Events: a Kubernetes Event on the object, and (when `--events-addr` is
//! set) Flux's event JSON POSTed to notification-controller. Posting never
//! blocks a reconcile: events go through a bounded queue to a background
//! task that retries a few times with backoff and drops what it cannot send.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Event as KubeEvent, EventSource, ObjectReference};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta, Time};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, PostParams};
use kube::{Resource, ResourceExt};
use tokio::sync::mpsc;

pub use ferroflux_api::event::{FluxEvent, InvolvedObject, Severity};

/// How many events may wait for delivery before new ones are dropped.
const QUEUE: usize = 1024;
/// Delivery attempts per event.
const ATTEMPTS: u32 = 4;

/// Records events for one controller.
#[derive(Clone)]
pub struct Recorder {
    client: kube::Client,
    controller: String,
    instance: String,
    http: Option<mpsc::Sender<FluxEvent>>,
}

impl Recorder {
    /// A recorder for `controller`; with `events_addr`, events are also POSTed there.
    pub fn new(client: kube::Client, controller: &str, events_addr: Option<&str>) -> Self {
        let instance = std::env::var("POD_NAME")
            .or_else(|_| std::env::var("HOSTNAME"))
            .unwrap_or_else(|_| controller.to_string());
        let http = events_addr
            .filter(|a| !a.is_empty())
            .map(|addr| spawn_poster(normalize_addr(addr)));
        Self {
            client,
            controller: controller.to_string(),
            instance,
            http,
        }
    }

    /// Records an event about `obj`: a Kubernetes Event (best effort) and a
    /// queued POST. Never fails and never waits on the network for the POST.
    pub async fn publish<K>(
        &self,
        obj: &K,
        severity: Severity,
        reason: &str,
        message: &str,
        metadata: BTreeMap<String, String>,
    ) where
        K: Resource<DynamicType = ()>,
    {
        let event = self.flux_event(obj, severity, reason, message, metadata);
        if let Some(tx) = &self.http
            && tx.try_send(event.clone()).is_err()
        {
            tracing::warn!(reason, "event queue full; dropping event");
        }
        if let Err(e) = self.kube_event(&event).await {
            tracing::debug!(error = %e, reason, "could not record Kubernetes event");
        }
    }

    /// Builds the Flux event for `obj` without sending it. Metadata keys
    /// without a group are put under the object's API group
    /// (`revision` → `source.toolkit.fluxcd.io/revision`), as Flux's
    /// controllers send them and notification-controller expects them.
    pub fn flux_event<K>(
        &self,
        obj: &K,
        severity: Severity,
        reason: &str,
        message: &str,
        metadata: BTreeMap<String, String>,
    ) -> FluxEvent
    where
        K: Resource<DynamicType = ()>,
    {
        let group = K::group(&()).to_string();
        let metadata = metadata
            .into_iter()
            .map(|(k, v)| {
                if k.contains('/') || group.is_empty() {
                    (k, v)
                } else {
                    (format!("{group}/{k}"), v)
                }
            })
            .collect();
        FluxEvent {
            involved_object: InvolvedObject {
                kind: K::kind(&()).to_string(),
                namespace: obj.namespace().unwrap_or_default(),
                name: obj.name_any(),
                uid: obj.uid().unwrap_or_default(),
                api_version: K::api_version(&()).to_string(),
                resource_version: obj.resource_version().unwrap_or_default(),
                field_path: String::new(),
            },
            severity,
            timestamp: now_time(),
            message: message.to_string(),
            reason: reason.to_string(),
            metadata,
            reporting_controller: self.controller.clone(),
            reporting_instance: self.instance.clone(),
        }
    }

    async fn kube_event(&self, e: &FluxEvent) -> Result<(), kube::Error> {
        let ns = if e.involved_object.namespace.is_empty() {
            "default".to_string()
        } else {
            e.involved_object.namespace.clone()
        };
        let now = Timestamp::now();
        let name = format!("{}.{:x}", e.involved_object.name, now.as_nanosecond());
        let event = KubeEvent {
            metadata: ObjectMeta {
                name: Some(name),
                namespace: Some(ns.clone()),
                ..Default::default()
            },
            involved_object: ObjectReference {
                api_version: Some(e.involved_object.api_version.clone()),
                kind: Some(e.involved_object.kind.clone()),
                name: Some(e.involved_object.name.clone()),
                namespace: Some(ns.clone()),
                uid: Some(e.involved_object.uid.clone()).filter(|u| !u.is_empty()),
                resource_version: Some(e.involved_object.resource_version.clone())
                    .filter(|r| !r.is_empty()),
                ..Default::default()
            },
            reason: Some(e.reason.clone()),
            message: Some(e.message.clone()),
            type_: Some(match e.severity {
                Severity::Error => "Warning".into(),
                Severity::Info | Severity::Trace => "Normal".into(),
            }),
            count: Some(1),
            first_timestamp: Some(Time(now)),
            last_timestamp: Some(Time(now)),
            event_time: Some(MicroTime(now)),
            action: Some(e.reason.clone()),
            reporting_component: Some(self.controller.clone()),
            reporting_instance: Some(self.instance.clone()),
            source: Some(EventSource {
                component: Some(self.controller.clone()),
                host: None,
            }),
            ..Default::default()
        };
        Api::<KubeEvent>::namespaced(self.client.clone(), &ns)
            .create(&PostParams::default(), &event)
            .await
            .map(|_| ())
    }
}

fn now_time() -> Time {
    Time(Timestamp::from_second(Timestamp::now().as_second()).unwrap_or(Timestamp::UNIX_EPOCH))
}

/// `--events-addr` may be a bare `host:port` or a full URL.
fn normalize_addr(addr: &str) -> String {
    if addr.starts_with("http://") || addr.starts_with("https://") {
        addr.to_string()
    } else {
        format!("http://{addr}/")
    }
}

fn spawn_poster(url: String) -> mpsc::Sender<FluxEvent> {
    let (tx, mut rx) = mpsc::channel::<FluxEvent>(QUEUE);
    tokio::spawn(async move {
        crate::tls::install_crypto_provider();
        let http = match reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
        {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "cannot build the event HTTP client; events will not be posted");
                return;
            }
        };
        while let Some(event) = rx.recv().await {
            let mut delay = Duration::from_millis(200);
            for attempt in 1..=ATTEMPTS {
                match http.post(&url).json(&event).send().await {
                    Ok(resp) if resp.status().is_success() => break,
                    Ok(resp) if resp.status().is_client_error() => {
                        // The receiver refuses it; retrying will not help.
                        tracing::warn!(status = %resp.status(), reason = %event.reason, "event refused by {url}");
                        break;
                    }
                    outcome => {
                        if attempt == ATTEMPTS {
                            let why = match outcome {
                                Ok(resp) => resp.status().to_string(),
                                Err(e) => e.without_url().to_string(),
                            };
                            tracing::warn!(reason = %event.reason, error = %why, "dropping event after {ATTEMPTS} attempts");
                        } else {
                            tokio::time::sleep(delay).await;
                            delay *= 2;
                        }
                    }
                }
            }
        }
    });
    tx
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn metadata_keys_go_under_the_objects_group() {
        crate::tls::install_crypto_provider();
        let config = kube::Config::new("http://127.0.0.1:1".parse().unwrap());
        let client = kube::Client::try_from(config).unwrap();
        let recorder = Recorder::new(client, "source-controller", None);
        let repo: ferroflux_api::source::v1::GitRepository =
            serde_json::from_value(serde_json::json!({
                "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
                "metadata": {"name": "podinfo", "namespace": "flux-system", "uid": "u-1"},
                "spec": {"url": "https://example.com/x", "interval": "1m"}
            }))
            .unwrap();
        let meta = BTreeMap::from([
            ("revision".to_string(), "main@sha1:abc".to_string()),
            (
                "event.toolkit.fluxcd.io/custom".to_string(),
                "kept".to_string(),
            ),
        ]);
        let e = recorder.flux_event(&repo, Severity::Info, "NewArtifact", "stored", meta);
        assert_eq!(
            e.metadata["source.toolkit.fluxcd.io/revision"],
            "main@sha1:abc"
        );
        assert_eq!(e.metadata["event.toolkit.fluxcd.io/custom"], "kept");
        assert_eq!(e.involved_object.api_version, "source.toolkit.fluxcd.io/v1");
        assert_eq!(e.involved_object.kind, "GitRepository");
        assert_eq!(e.involved_object.uid, "u-1");
        // What notification-controller reads back from it.
        assert_eq!(e.object_meta("revision"), Some("main@sha1:abc"));
    }
}
