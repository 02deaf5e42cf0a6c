//! Server-side apply through kube's client: ownership, removal, conflicts, force.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;

use crate::{env_with_namespaces, status};

fn cm(data: serde_json::Value) -> serde_json::Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": data})
}

#[tokio::test]
async fn apply_owns_removes_and_conflicts() {
    let (env, client) = env_with_namespaces(&["ssa"]).await;
    let api: Api<ConfigMap> = Api::namespaced(client, "ssa");
    let as_a = PatchParams::apply("manager-a");
    let as_b = PatchParams::apply("manager-b");

    let first = api
        .patch("cfg", &as_a, &Patch::Apply(cm(json!({"x": "1", "y": "2"}))))
        .await
        .unwrap();
    let entries = first.metadata.managed_fields.clone().unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].manager.as_deref(), Some("manager-a"));
    assert_eq!(entries[0].operation.as_deref(), Some("Apply"));
    let fields = serde_json::to_value(entries[0].fields_v1.as_ref().unwrap()).unwrap();
    // An applied map owns its entries, not itself (no "."), as kube-apiserver records it.
    assert_eq!(fields, json!({"f:data": {"f:x": {}, "f:y": {}}}));

    // Re-applying the same configuration writes nothing.
    let rv = crate::global_rv(&env);
    let again = api
        .patch("cfg", &as_a, &Patch::Apply(cm(json!({"x": "1", "y": "2"}))))
        .await
        .unwrap();
    assert_eq!(
        again.metadata.resource_version,
        first.metadata.resource_version
    );
    assert_eq!(crate::global_rv(&env), rv);

    // A field the manager stops applying is removed.
    let dropped = api
        .patch("cfg", &as_a, &Patch::Apply(cm(json!({"x": "1"}))))
        .await
        .unwrap();
    assert_eq!(
        dropped.data.unwrap(),
        [("x".to_string(), "1".to_string())].into()
    );

    // Another manager applying the same value shares it; a different value conflicts.
    api.patch("cfg", &as_b, &Patch::Apply(cm(json!({"x": "1", "z": "3"}))))
        .await
        .unwrap();
    let conflict = status(
        api.patch("cfg", &as_b, &Patch::Apply(cm(json!({"x": "9", "z": "3"}))))
            .await,
    );
    assert_eq!((conflict.code, conflict.reason.as_str()), (409, "Conflict"));
    assert_eq!(
        conflict.message,
        "Apply failed with 1 conflict: conflict with \"manager-a\": .data.x"
    );

    // Shared ownership: when a stops applying x, b still owns it and it stays.
    api.patch("cfg", &as_a, &Patch::Apply(cm(json!({}))))
        .await
        .unwrap();
    assert_eq!(api.get("cfg").await.unwrap().data.unwrap()["x"], "1");

    // Force takes a field from its owner.
    api.patch("cfg", &as_a, &Patch::Apply(cm(json!({"z": "3"}))))
        .await
        .unwrap();
    let forced = api
        .patch(
            "cfg",
            &PatchParams::apply("manager-b").force(),
            &Patch::Apply(cm(json!({"x": "1", "z": "4"}))),
        )
        .await
        .unwrap();
    assert_eq!(forced.data.unwrap()["z"], "4");
    let owners: Vec<(String, serde_json::Value)> = forced
        .metadata
        .managed_fields
        .unwrap()
        .into_iter()
        .map(|e| {
            (
                e.manager.unwrap(),
                serde_json::to_value(e.fields_v1).unwrap(),
            )
        })
        .collect();
    let a = owners.iter().find(|(m, _)| m == "manager-a");
    assert!(
        a.is_none() || !a.unwrap().1.to_string().contains("f:z"),
        "{owners:?}"
    );
}

#[tokio::test]
async fn an_update_takes_ownership_and_apply_then_conflicts() {
    let (_env, client) = env_with_namespaces(&["edit"]).await;
    let api: Api<Deployment> = Api::namespaced(client, "edit");
    let deploy = json!({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "web", "image": "nginx:1"}, {"name": "side", "image": "busybox"}]}}}
    });
    let applier = PatchParams::apply("kustomize-controller");
    api.patch("web", &applier, &Patch::Apply(deploy.clone()))
        .await
        .unwrap();
    // Someone scales it by hand.
    api.patch(
        "web",
        &PatchParams {
            field_manager: Some("kubectl-scale".into()),
            ..Default::default()
        },
        &Patch::Merge(json!({"spec": {"replicas": 5}})),
    )
    .await
    .unwrap();
    let conflict = status(
        api.patch("web", &applier, &Patch::Apply(deploy.clone()))
            .await,
    );
    assert_eq!(conflict.code, 409);
    assert!(
        conflict.message.contains("conflict with \"kubectl-scale\""),
        "{}",
        conflict.message
    );
    assert!(
        conflict.message.contains(".spec.replicas"),
        "{}",
        conflict.message
    );
    // Forcing restores the declared state.
    let d = api
        .patch(
            "web",
            &applier.clone().force(),
            &Patch::Apply(deploy.clone()),
        )
        .await
        .unwrap();
    assert_eq!(d.spec.replicas, Some(1));

    // Dropping one container from the applied configuration removes exactly it.
    let mut one = deploy.clone();
    one["spec"]["template"]["spec"]["containers"] = json!([{"name": "web", "image": "nginx:2"}]);
    let d = api
        .patch("web", &applier, &Patch::Apply(one))
        .await
        .unwrap();
    let containers = d.spec.template.spec.unwrap().containers;
    assert_eq!(containers.len(), 1);
    assert_eq!(containers[0].image.as_deref(), Some("nginx:2"));
}
