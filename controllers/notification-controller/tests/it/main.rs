//! Integration tests of notification-controller against the test API
//! server, with local HTTP sinks standing in for chat services.

mod alerts;
mod config;
mod delivery;
mod git;
mod intake;
mod metrics;
mod namespaces;
mod providers;
mod receivers;
mod tls;

/// The recording HTTP server standing in for chat services.
pub use ferroflux_testsupport::sink;
/// Polls until a condition holds.
pub use ferroflux_testsupport::wait::wait_until;

use std::time::Duration;

use ferroflux_testenv::TestEnv;
use k8s_openapi::api::core::v1::{Namespace, Secret};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::Api;
use kube::api::PostParams;
use notification_controller::delivery::{DeliveryOptions, RetryPolicy};
use notification_controller::{Options, Running};
use serde::de::DeserializeOwned;

/// A test API server with Flux's CRDs, a running controller and an HTTP client.
pub struct Env {
    pub _testenv: TestEnv,
    pub client: kube::Client,
    pub controller: Running,
    pub http: reqwest::Client,
}

impl Env {
    /// Starts everything and creates `namespaces`.
    pub async fn start(namespaces: &[&str]) -> Env {
        Self::start_with(namespaces, |_| {}).await
    }

    /// As [`Env::start`], with `tune` adjusting the controller's options.
    pub async fn start_with(namespaces: &[&str], tune: impl FnOnce(&mut Options)) -> Env {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let testenv = TestEnv::start().await.expect("testenv starts");
        let client = testenv.client().await.expect("client");
        let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
        for crd in ferroflux_api::crds::all().expect("CRDs") {
            crds.create(&PostParams::default(), &crd)
                .await
                .expect("CRD created");
        }
        let ns_api: Api<Namespace> = Api::all(client.clone());
        for ns in namespaces {
            let obj: Namespace =
                serde_json::from_value(serde_json::json!({"metadata": {"name": ns}}))
                    .expect("namespace");
            ns_api
                .create(&PostParams::default(), &obj)
                .await
                .expect("namespace created");
        }
        let mut options = Options {
            events_addr: "127.0.0.1:0".to_string(),
            receiver_addr: "127.0.0.1:0".to_string(),
            delivery: DeliveryOptions {
                retry: RetryPolicy {
                    max_retries: 2,
                    wait_min: Duration::from_millis(20),
                    wait_max: Duration::from_millis(100),
                },
                ..DeliveryOptions::default()
            },
            ..Options::default()
        };
        tune(&mut options);
        let controller = notification_controller::start(client.clone(), options)
            .await
            .expect("controller starts");
        Env {
            _testenv: testenv,
            client,
            controller,
            http: reqwest::Client::new(),
        }
    }

    /// Creates an object from JSON.
    pub async fn create<K>(&self, namespace: &str, obj: serde_json::Value) -> K
    where
        K: kube::Resource<Scope = kube::core::NamespaceResourceScope, DynamicType = ()>
            + Clone
            + DeserializeOwned
            + serde::Serialize
            + std::fmt::Debug,
    {
        let api: Api<K> = Api::namespaced(self.client.clone(), namespace);
        let obj: K = serde_json::from_value(obj).expect("object JSON");
        api.create(&PostParams::default(), &obj)
            .await
            .expect("object created")
    }

    /// Creates a Secret with `data` (testenv, unlike a real API server,
    /// does not turn `stringData` into `data`, so tests write `data`).
    pub async fn secret(&self, namespace: &str, name: &str, pairs: &[(&str, &str)]) {
        let api: Api<Secret> = Api::namespaced(self.client.clone(), namespace);
        let secret = Secret {
            metadata: kube::api::ObjectMeta {
                name: Some(name.to_string()),
                ..Default::default()
            },
            data: Some(
                pairs
                    .iter()
                    .map(|(k, v)| {
                        (
                            k.to_string(),
                            k8s_openapi::ByteString(v.as_bytes().to_vec()),
                        )
                    })
                    .collect(),
            ),
            ..Default::default()
        };
        api.create(&PostParams::default(), &secret)
            .await
            .expect("secret created");
    }

    /// POSTs a Flux event to intake; the status code and body.
    pub async fn post_event(&self, event: &serde_json::Value) -> (u16, String) {
        let url = format!("http://{}/", self.controller.events_addr);
        let resp = self
            .http
            .post(url)
            .json(event)
            .send()
            .await
            .expect("intake answers");
        let code = resp.status().as_u16();
        (code, resp.text().await.unwrap_or_default())
    }

    /// Waits until every accepted event is matched and every notification
    /// delivered or given up on.
    pub async fn settle(&self) {
        let c = &self.controller;
        wait_until(
            "the controller to settle",
            Duration::from_secs(60),
            || async { c.stats().is_settled() },
        )
        .await;
    }
}

/// Waits until the object's `Ready` condition has `status`; returns the object.
pub async fn wait_ready<K>(client: &kube::Client, namespace: &str, name: &str, status: &str) -> K
where
    K: kube::Resource<Scope = kube::core::NamespaceResourceScope, DynamicType = ()>
        + ferroflux_api::conditions::ObjectWithConditions
        + Clone
        + DeserializeOwned
        + std::fmt::Debug,
{
    let api: Api<K> = Api::namespaced(client.clone(), namespace);
    let mut last = None;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(obj) = api.get(name).await {
            if ferroflux_api::conditions::get(obj.conditions(), "Ready")
                .is_some_and(|c| c.status == status)
            {
                return obj;
            }
            last = Some(obj);
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {namespace}/{name} Ready={status}; last seen: {last:?}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// A Flux event about `kind/namespace/name`.
pub fn event(
    kind: &str,
    namespace: &str,
    name: &str,
    severity: &str,
    message: &str,
) -> serde_json::Value {
    let group = match kind {
        "Kustomization" => "kustomize.toolkit.fluxcd.io/v1",
        "HelmRelease" => "helm.toolkit.fluxcd.io/v2",
        _ => "source.toolkit.fluxcd.io/v1",
    };
    let prefix = group.split('/').next().unwrap_or_default();
    serde_json::json!({
        "involvedObject": {"apiVersion": group, "kind": kind, "namespace": namespace, "name": name, "uid": "0b0c4f0e-1"},
        "severity": severity,
        "timestamp": "2024-05-01T10:00:00Z",
        "message": message,
        "reason": if severity == "error" { "ReconciliationFailed" } else { "ReconciliationSucceeded" },
        "metadata": { format!("{prefix}/revision"): "main@sha1:731f7eaddfb6af01cb2173e18f0f75b0ba780ef1" },
        "reportingController": "source-controller",
        "reportingInstance": "source-controller-7c7b47f5f-8bhrp"
    })
}
