//! Spec features end to end: overlays from the spec, postBuild
//! substitution, a remote cluster through spec.kubeConfig, v1beta2 objects.

use ferroflux_testenv::TestEnv;
use serde_json::json;

use crate::support::{Setup, apply_as_admin, harness, ks, not_ready_with};

const TEMPLATE: &str = r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  env: ${cluster_env:=dev}
  region: ${region}
  tier: ${tier:=gold}
  replicas: "${replicas}"
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: literal
  annotations:
    kustomize.toolkit.fluxcd.io/substitute: disabled
data:
  text: ${region}
"#;

#[tokio::test]
async fn overlays_and_post_build_substitution() {
    let h = harness(Setup::default()).await;
    apply_as_admin(
        &h.client,
        vec![
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "prod"}}),
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cluster-vars", "namespace": "flux-system"},
                   "data": {"region": "eu-west-1", "cluster_env": "overridden-below"}}),
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "cluster-secrets", "namespace": "flux-system"},
                   "stringData": {"replicas": "3"}}),
        ],
    )
    .await;
    let repo = h.repo("app");
    repo.write("app.yaml", TEMPLATE).unwrap();
    let commit = repo.commit("first").unwrap();
    h.git_repository("flux-system", "app", "app", "1h").await;
    h.kustomization(ks(
        "flux-system",
        "app",
        "app",
        "./",
        json!({
            "targetNamespace": "prod",
            "namePrefix": "team-",
            "commonMetadata": {"labels": {"team": "a"}, "annotations": {"owner": "platform"}},
            "postBuild": {
                "substitute": {"cluster_env": "prod"},
                "substituteFrom": [
                    {"kind": "ConfigMap", "name": "cluster-vars"},
                    {"kind": "Secret", "name": "cluster-secrets"},
                    {"kind": "ConfigMap", "name": "not-there", "optional": true}
                ]
            }
        }),
    ))
    .await;
    h.wait_applied("flux-system", "app", &commit).await;
    let cm = h
        .get("v1", "ConfigMap", "prod", "team-settings")
        .await
        .expect("prefixed object in the target namespace");
    assert_eq!(
        cm["data"],
        json!({"env": "prod", "region": "eu-west-1", "tier": "gold", "replicas": "3"})
    );
    assert_eq!(cm["metadata"]["labels"]["team"], "a");
    assert_eq!(cm["metadata"]["annotations"]["owner"], "platform");
    let literal = h
        .get("v1", "ConfigMap", "prod", "team-literal")
        .await
        .unwrap();
    assert_eq!(literal["data"]["text"], "${region}");

    // A required source that is missing fails the reconcile, naming it.
    h.kustomization(ks(
        "flux-system",
        "app",
        "app",
        "./",
        json!({"targetNamespace": "prod", "namePrefix": "team-",
               "postBuild": {"substituteFrom": [{"kind": "Secret", "name": "missing-secret"}]}}),
    ))
    .await;
    h.wait_ks("flux-system", "app", "missing substitute source", |k| {
        not_ready_with(k, "substitute from 'Secret/missing-secret' error")
    })
    .await;
}

#[tokio::test]
async fn kube_config_applies_to_a_remote_cluster() {
    let h = harness(Setup::default()).await;
    let remote = TestEnv::start().await.unwrap();
    apply_as_admin(
        &h.client,
        vec![json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "remote-kubeconfig", "namespace": "flux-system"},
                    "stringData": {"value": remote.kubeconfig_yaml()}})],
    )
    .await;
    let repo = h.repo("app");
    repo.write(
        "cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: remote-only\n  namespace: default\ndata:\n  k: v\n",
    )
    .unwrap();
    let commit = repo.commit("first").unwrap();
    h.git_repository("flux-system", "app", "app", "1h").await;
    h.kustomization(ks(
        "flux-system",
        "app",
        "app",
        "./",
        json!({"kubeConfig": {"secretRef": {"name": "remote-kubeconfig"}}}),
    ))
    .await;
    h.wait_applied("flux-system", "app", &commit).await;
    assert!(
        h.get("v1", "ConfigMap", "default", "remote-only")
            .await
            .is_none(),
        "applied to the local cluster"
    );
    let remote_client = remote.client().await.unwrap();
    let cms: kube::Api<k8s_openapi::api::core::v1::ConfigMap> =
        kube::Api::namespaced(remote_client, "default");
    let cm = cms
        .get("remote-only")
        .await
        .expect("applied to the remote cluster");
    assert_eq!(cm.data.unwrap()["k"], "v");

    // A Secret without the key fails with a message that names it, not its content.
    apply_as_admin(
        &h.client,
        vec![json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "wrong-key", "namespace": "flux-system"},
                    "stringData": {"config": remote.kubeconfig_yaml()}})],
    )
    .await;
    h.kustomization(ks(
        "flux-system",
        "app",
        "app",
        "./",
        json!({"kubeConfig": {"secretRef": {"name": "wrong-key"}}}),
    ))
    .await;
    let k = h
        .wait_ks("flux-system", "app", "missing key", |k| {
            not_ready_with(
                k,
                "Secret 'flux-system/wrong-key' has no key 'value' or 'value.yaml'",
            )
        })
        .await;
    let msg = crate::support::ready_message(&k);
    assert!(
        !msg.contains(remote.token()),
        "the kubeconfig's token leaked: {msg}"
    );
}

#[tokio::test]
async fn v1beta2_kustomizations_are_served_and_reconciled() {
    let h = harness(Setup::default()).await;
    let repo = h.repo("app");
    repo.write(
        "cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-beta\n  namespace: default\n",
    )
    .unwrap();
    let commit = repo.commit("first").unwrap();
    h.git_repository("flux-system", "app", "app", "1h").await;
    let mut obj = ks("flux-system", "beta", "app", "./", json!({}));
    obj["apiVersion"] = json!("kustomize.toolkit.fluxcd.io/v1beta2");
    h.kustomization(obj).await;
    h.wait_applied("flux-system", "beta", &commit).await;
    assert!(
        h.get("v1", "ConfigMap", "default", "from-beta")
            .await
            .is_some()
    );
}
