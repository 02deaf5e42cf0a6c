//! Events: a Kubernetes Event on the object and Flux's event JSON posted to
//! `--events-addr`; a down receiver never blocks the caller.

use std::collections::BTreeMap;
use std::time::Duration;

use ferroflux_runtime::events::{FluxEvent, Recorder, Severity};
use ferroflux_testenv::TestEnv;
use ferroflux_testsupport::sink::Sink;
use k8s_openapi::api::core::v1::{ConfigMap, Event};
use kube::Api;
use kube::api::PostParams;
use serde_json::json;

#[tokio::test]
async fn events_reach_kubernetes_and_the_events_address() {
    let env = TestEnv::start().await.unwrap();
    let client = env.client().await.unwrap();
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let obj = cms
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "subject"}})).unwrap(),
        )
        .await
        .unwrap();
    let sink = Sink::answering(202, "").await;
    let recorder = Recorder::new(
        client.clone(),
        "source-controller",
        Some(&format!("{}/", sink.url)),
    );
    let meta = BTreeMap::from([("revision".to_string(), "main@sha1:abc".to_string())]);
    recorder
        .publish(
            &obj,
            Severity::Error,
            "GitOperationFailed",
            "failed to checkout 'main'",
            meta,
        )
        .await;
    let posted: Vec<FluxEvent> = sink
        .wait_for(1)
        .await
        .iter()
        .map(|c| serde_json::from_slice(&c.body).expect("Flux event JSON"))
        .collect();
    assert_eq!(posted.len(), 1);
    let e = &posted[0];
    assert_eq!(e.severity, Severity::Error);
    assert_eq!(e.reason, "GitOperationFailed");
    assert_eq!(e.involved_object.kind, "ConfigMap");
    assert_eq!(e.involved_object.name, "subject");
    assert_eq!(e.involved_object.namespace, "default");
    assert_eq!(
        e.metadata["revision"], "main@sha1:abc",
        "core-group objects keep the bare key"
    );
    assert_eq!(e.reporting_controller, "source-controller");
    // The wire shape uses Flux's field names.
    let wire = serde_json::to_value(e).unwrap();
    for field in [
        "involvedObject",
        "severity",
        "timestamp",
        "message",
        "reason",
        "metadata",
        "reportingController",
    ] {
        assert!(wire.get(field).is_some(), "missing {field}: {wire}");
    }
    let events: Api<Event> = Api::namespaced(client, "default");
    let list = events.list(&Default::default()).await.unwrap();
    let k = list
        .items
        .iter()
        .find(|e| e.reason.as_deref() == Some("GitOperationFailed"))
        .expect("a Kubernetes Event");
    assert_eq!(k.type_.as_deref(), Some("Warning"));
    assert_eq!(k.involved_object.name.as_deref(), Some("subject"));
}

#[tokio::test]
async fn a_down_receiver_does_not_block_publishing() {
    let env = TestEnv::start().await.unwrap();
    let client = env.client().await.unwrap();
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let obj = cms
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "s"}})).unwrap(),
        )
        .await
        .unwrap();
    // Nothing listens on this port.
    let recorder = Recorder::new(client, "kustomize-controller", Some("127.0.0.1:9"));
    let publishing = async {
        for i in 0..50 {
            recorder
                .publish(
                    &obj,
                    Severity::Info,
                    "Progressing",
                    &format!("event {i}"),
                    BTreeMap::new(),
                )
                .await;
        }
    };
    // Generous bound: 50 publishes only wait on the API server, never on the dead receiver's retries.
    tokio::time::timeout(Duration::from_secs(20), publishing)
        .await
        .expect("publishing did not block");
}
