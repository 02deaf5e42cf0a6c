//! Finalizers, owner-reference garbage collection and namespace deletion.

use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Secret};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams, PropagationPolicy};
use serde_json::json;

use crate::{code, env_with_namespaces};

#[tokio::test]
async fn finalizers_hold_an_object_until_removed() {
    let (_env, client) = env_with_namespaces(&["fin"]).await;
    let api: Api<ConfigMap> = Api::namespaced(client, "fin");
    let obj: ConfigMap = serde_json::from_value(
        json!({"metadata": {"name": "held", "finalizers": ["example.com/cleanup"]}}),
    )
    .unwrap();
    api.create(&PostParams::default(), &obj).await.unwrap();
    api.delete("held", &DeleteParams::default()).await.unwrap();
    let held = api.get("held").await.unwrap();
    assert!(held.metadata.deletion_timestamp.is_some());
    // No new finalizers while deleting.
    let add = api
        .patch(
            "held",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"finalizers": ["example.com/cleanup", "other"]}})),
        )
        .await;
    assert_eq!(code(add), 403);
    api.patch(
        "held",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await
    .unwrap();
    assert_eq!(code(api.get("held").await), 404);
}

#[tokio::test]
async fn dependents_are_collected_or_orphaned() {
    let (_env, client) = env_with_namespaces(&["gc"]).await;
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "gc");
    let secrets: Api<Secret> = Api::namespaced(client, "gc");
    let owner = cms
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "owner"}})).unwrap(),
        )
        .await
        .unwrap();
    let uid = owner.metadata.uid.unwrap();
    for name in ["child-a", "child-b"] {
        let s: Secret =
            serde_json::from_value(json!({"metadata": {"name": name, "ownerReferences": [
                {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": uid}
            ]}}))
            .unwrap();
        secrets.create(&PostParams::default(), &s).await.unwrap();
    }
    cms.delete("owner", &DeleteParams::default()).await.unwrap();
    assert_eq!(code(secrets.get("child-a").await), 404);
    assert_eq!(code(secrets.get("child-b").await), 404);

    let owner = cms
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "owner2"}})).unwrap(),
        )
        .await
        .unwrap();
    let s: Secret = serde_json::from_value(json!({"metadata": {"name": "kept", "ownerReferences": [
        {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner2", "uid": owner.metadata.uid.unwrap()}
    ]}}))
    .unwrap();
    secrets.create(&PostParams::default(), &s).await.unwrap();
    let orphan = DeleteParams {
        propagation_policy: Some(PropagationPolicy::Orphan),
        ..Default::default()
    };
    cms.delete("owner2", &orphan).await.unwrap();
    let kept = secrets.get("kept").await.unwrap();
    assert!(
        kept.metadata.owner_references.is_none(),
        "orphaned dependents lose the reference"
    );
}

#[tokio::test]
async fn deleting_a_namespace_deletes_its_contents() {
    let (_env, client) = env_with_namespaces(&["doomed", "safe"]).await;
    for ns in ["doomed", "safe"] {
        let api: Api<ConfigMap> = Api::namespaced(client.clone(), ns);
        api.create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "c"}})).unwrap(),
        )
        .await
        .unwrap();
    }
    let nss: Api<Namespace> = Api::all(client.clone());
    nss.delete("doomed", &DeleteParams::default())
        .await
        .unwrap();
    assert_eq!(code(nss.get("doomed").await), 404);
    assert_eq!(
        code(
            Api::<ConfigMap>::namespaced(client.clone(), "doomed")
                .get("c")
                .await
        ),
        404
    );
    assert!(
        Api::<ConfigMap>::namespaced(client, "safe")
            .get("c")
            .await
            .is_ok()
    );
}
