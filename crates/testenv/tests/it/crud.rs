//! get, list, create, update, patch, delete through kube's typed and dynamic APIs.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::json;

use crate::{code, env_with_namespaces, status};

fn cm(name: &str, data: serde_json::Value) -> ConfigMap {
    serde_json::from_value(json!({"metadata": {"name": name}, "data": data})).unwrap()
}

#[tokio::test]
async fn create_get_update_conflict_delete() {
    let (_env, client) = env_with_namespaces(&["apps"]).await;
    let api: Api<ConfigMap> = Api::namespaced(client, "apps");
    let created = api
        .create(&PostParams::default(), &cm("settings", json!({"a": "1"})))
        .await
        .unwrap();
    let meta = &created.metadata;
    assert_eq!(meta.namespace.as_deref(), Some("apps"));
    assert!(meta.uid.as_deref().is_some_and(|u| u.len() == 36));
    assert!(meta.creation_timestamp.is_some());
    let rv1: u64 = meta.resource_version.as_deref().unwrap().parse().unwrap();

    // Creating the same name again is AlreadyExists (409).
    let dup = status(
        api.create(&PostParams::default(), &cm("settings", json!({})))
            .await,
    );
    assert_eq!((dup.code, dup.reason.as_str()), (409, "AlreadyExists"));
    assert_eq!(dup.message, "configmaps \"settings\" already exists");

    let mut got = api.get("settings").await.unwrap();
    assert_eq!(got.data.as_ref().unwrap()["a"], "1");
    got.data = Some([("a".to_string(), "2".to_string())].into());
    let updated = api
        .replace("settings", &PostParams::default(), &got)
        .await
        .unwrap();
    let rv2: u64 = updated
        .metadata
        .resource_version
        .as_deref()
        .unwrap()
        .parse()
        .unwrap();
    assert!(rv2 > rv1, "resourceVersion increases");

    // Writing the stale copy again is a Conflict.
    let stale = status(api.replace("settings", &PostParams::default(), &got).await);
    assert_eq!((stale.code, stale.reason.as_str()), (409, "Conflict"));
    assert!(
        stale
            .message
            .starts_with("Operation cannot be fulfilled on configmaps \"settings\""),
        "{}",
        stale.message
    );

    api.delete("settings", &DeleteParams::default())
        .await
        .unwrap();
    let missing = status(api.get("settings").await);
    assert_eq!((missing.code, missing.reason.as_str()), (404, "NotFound"));
    assert_eq!(missing.message, "configmaps \"settings\" not found");
}

#[tokio::test]
async fn generate_name_and_missing_name() {
    let (_env, client) = env_with_namespaces(&["gen"]).await;
    let api: Api<ConfigMap> = Api::namespaced(client, "gen");
    let obj: ConfigMap =
        serde_json::from_value(json!({"metadata": {"generateName": "cfg-"}})).unwrap();
    let a = api.create(&PostParams::default(), &obj).await.unwrap();
    let b = api.create(&PostParams::default(), &obj).await.unwrap();
    let (na, nb) = (a.metadata.name.unwrap(), b.metadata.name.unwrap());
    assert!(na.starts_with("cfg-") && na.len() == 9, "{na}");
    assert_ne!(na, nb);
    let nameless: ConfigMap = serde_json::from_value(json!({"metadata": {}})).unwrap();
    let s = status(api.create(&PostParams::default(), &nameless).await);
    assert_eq!((s.code, s.reason.as_str()), (422, "Invalid"));
    assert!(
        s.message.contains("metadata.name: Required value"),
        "{}",
        s.message
    );
    let bad: ConfigMap =
        serde_json::from_value(json!({"metadata": {"name": "Not_Valid"}})).unwrap();
    assert_eq!(code(api.create(&PostParams::default(), &bad).await), 422);
}

#[tokio::test]
async fn namespace_must_exist() {
    let (_env, client) = env_with_namespaces(&[]).await;
    let api: Api<ConfigMap> = Api::namespaced(client, "nowhere");
    let s = status(
        api.create(&PostParams::default(), &cm("x", json!({})))
            .await,
    );
    assert_eq!(
        (s.code, s.message.as_str()),
        (404, "namespaces \"nowhere\" not found")
    );
}

#[tokio::test]
async fn patches_of_every_type() {
    let (_env, client) = env_with_namespaces(&["p"]).await;
    let api: Api<ConfigMap> = Api::namespaced(client, "p");
    api.create(
        &PostParams::default(),
        &cm("c", json!({"a": "1", "b": "2"})),
    )
    .await
    .unwrap();
    let pp = PatchParams::default();

    let merged = api
        .patch(
            "c",
            &pp,
            &Patch::Merge(json!({"data": {"a": null, "c": "3"}})),
        )
        .await
        .unwrap();
    assert_eq!(
        merged.data.unwrap(),
        [
            ("b".to_string(), "2".to_string()),
            ("c".to_string(), "3".to_string())
        ]
        .into()
    );

    let ops: json_patch::Patch = serde_json::from_value(json!([
        {"op": "replace", "path": "/data/b", "value": "20"},
        {"op": "add", "path": "/metadata/labels", "value": {"x": "y"}}
    ]))
    .unwrap();
    let jp = api.patch("c", &pp, &Patch::Json::<()>(ops)).await.unwrap();
    assert_eq!(jp.data.unwrap()["b"], "20");
    assert_eq!(jp.metadata.labels.unwrap()["x"], "y");

    // A JSON patch whose test fails is refused and changes nothing.
    let failing: json_patch::Patch = serde_json::from_value(json!([
        {"op": "test", "path": "/data/b", "value": "nope"},
        {"op": "replace", "path": "/data/b", "value": "x"}
    ]))
    .unwrap();
    assert_eq!(
        code(api.patch("c", &pp, &Patch::Json::<()>(failing)).await),
        422
    );
    assert_eq!(api.get("c").await.unwrap().data.unwrap()["b"], "20");

    let smp = api
        .patch("c", &pp, &Patch::Strategic(json!({"data": {"d": "4"}})))
        .await
        .unwrap();
    assert_eq!(smp.data.unwrap()["d"], "4");

    // As kube-apiserver: a `test` for null passes on an absent path (the
    // finalizer helpers of client libraries rely on it).
    let absent: json_patch::Patch = serde_json::from_value(json!([
        {"op": "test", "path": "/metadata/finalizers", "value": null},
        {"op": "add", "path": "/metadata/finalizers", "value": ["example.com/f"]}
    ]))
    .unwrap();
    let with_finalizer = api
        .patch("c", &pp, &Patch::Json::<()>(absent))
        .await
        .unwrap();
    assert_eq!(
        with_finalizer.metadata.finalizers.unwrap(),
        ["example.com/f"]
    );

    // Patching something that does not exist is NotFound.
    assert_eq!(
        code(api.patch("nope", &pp, &Patch::Merge(json!({}))).await),
        404
    );
}

#[tokio::test]
async fn list_with_selectors_and_paging() {
    let (_env, client) = env_with_namespaces(&["l1", "l2"]).await;
    for ns in ["l1", "l2"] {
        let api: Api<ConfigMap> = Api::namespaced(client.clone(), ns);
        for i in 0..5 {
            let mut c = cm(&format!("c{i}"), json!({}));
            c.metadata.labels = Some(
                [(
                    "parity".to_string(),
                    if i % 2 == 0 { "even" } else { "odd" }.to_string(),
                )]
                .into(),
            );
            api.create(&PostParams::default(), &c).await.unwrap();
        }
    }
    let all: Api<ConfigMap> = Api::all(client.clone());
    assert_eq!(
        all.list(&ListParams::default()).await.unwrap().items.len(),
        10
    );
    let even = all
        .list(&ListParams::default().labels("parity=even"))
        .await
        .unwrap();
    assert_eq!(even.items.len(), 6);
    let one = all
        .list(&ListParams::default().fields("metadata.namespace=l2,metadata.name=c3"))
        .await
        .unwrap();
    assert_eq!(one.items.len(), 1);
    assert_eq!(one.items[0].metadata.namespace.as_deref(), Some("l2"));
    let bad = status(all.list(&ListParams::default().fields("data.x=1")).await);
    assert_eq!(
        (bad.code, bad.message.as_str()),
        (400, "field label not supported: data.x")
    );

    // Paging: 3 at a time covers everything exactly once.
    let mut seen = Vec::new();
    let mut params = ListParams::default().limit(3);
    loop {
        let page = all.list(&params).await.unwrap();
        assert!(page.items.len() <= 3);
        seen.extend(page.items.iter().map(|c| {
            format!(
                "{}/{}",
                c.metadata.namespace.clone().unwrap(),
                c.metadata.name.clone().unwrap()
            )
        }));
        match page.metadata.continue_.filter(|c| !c.is_empty()) {
            Some(token) => params = params.continue_token(&token),
            None => break,
        }
    }
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(seen.len(), 10);
    assert_eq!(sorted.len(), 10);
}

#[tokio::test]
async fn dry_run_writes_nothing() {
    let (env, client) = env_with_namespaces(&["dry"]).await;
    let api: Api<ConfigMap> = Api::namespaced(client, "dry");
    let rv_before = crate::global_rv(&env);
    let pp = PostParams {
        dry_run: true,
        ..Default::default()
    };
    let out = api
        .create(&pp, &cm("ghost", json!({"a": "1"})))
        .await
        .unwrap();
    assert_eq!(out.metadata.name.as_deref(), Some("ghost"));
    assert_eq!(code(api.get("ghost").await), 404);
    let real = api
        .create(&PostParams::default(), &cm("real", json!({"a": "1"})))
        .await
        .unwrap();
    let rv = crate::global_rv(&env);
    let patched = api
        .patch(
            "real",
            &PatchParams {
                dry_run: true,
                ..Default::default()
            },
            &Patch::Merge(json!({"data": {"a": "2"}})),
        )
        .await
        .unwrap();
    assert_eq!(patched.data.unwrap()["a"], "2");
    assert_eq!(api.get("real").await.unwrap().data.unwrap()["a"], "1");
    api.delete(
        "real",
        &DeleteParams {
            dry_run: true,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(api.get("real").await.is_ok());
    assert_eq!(
        crate::global_rv(&env),
        rv,
        "dry runs bump no resourceVersion"
    );
    assert!(rv >= rv_before);
    assert_eq!(
        api.get("real").await.unwrap().metadata.resource_version,
        real.metadata.resource_version,
        "the object was not written"
    );
}

#[tokio::test]
async fn dynamic_api_and_generation() {
    let (_env, client) = env_with_namespaces(&["dyn"]).await;
    let ar = ApiResource::from_gvk(&GroupVersionKind::gvk("apps", "v1", "Deployment"));
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), "dyn", &ar);
    let obj: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web", "image": "nginx"}]}}},
        "status": {"replicas": 99}
    }))
    .unwrap();
    let created = api.create(&PostParams::default(), &obj).await.unwrap();
    assert_eq!(created.metadata.generation, Some(1));
    assert!(
        created.data.get("status").is_none(),
        "status is ignored on create for kinds with a status subresource"
    );

    let typed: Api<Deployment> = Api::namespaced(client, "dyn");
    // A label change is metadata only: no new generation.
    let d = typed
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"a": "b"}}})),
        )
        .await
        .unwrap();
    assert_eq!(d.metadata.generation, Some(1));
    // A spec change bumps it.
    let d = typed
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 3}})),
        )
        .await
        .unwrap();
    assert_eq!(d.metadata.generation, Some(2));
    // A status write changes only status and not the generation.
    let d = typed
        .patch_status(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 7}, "status": {"replicas": 3}})),
        )
        .await
        .unwrap();
    assert_eq!(d.metadata.generation, Some(2));
    assert_eq!(d.spec.replicas, Some(3));
    assert_eq!(d.status.unwrap().replicas, Some(3));
    // Main-resource writes leave status alone.
    let d = typed
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"replicas": 0}})),
        )
        .await
        .unwrap();
    assert_eq!(d.status.unwrap().replicas, Some(3));
}

#[tokio::test]
async fn no_op_update_writes_nothing() {
    let (env, client) = env_with_namespaces(&["noop"]).await;
    let api: Api<ConfigMap> = Api::namespaced(client, "noop");
    let c = api
        .create(&PostParams::default(), &cm("same", json!({"a": "1"})))
        .await
        .unwrap();
    let rv = crate::global_rv(&env);
    let again = api
        .patch(
            "same",
            &PatchParams::default(),
            &Patch::Merge(json!({"data": {"a": "1"}})),
        )
        .await
        .unwrap();
    assert_eq!(again.metadata.resource_version, c.metadata.resource_version);
    assert_eq!(crate::global_rv(&env), rv);
}

#[tokio::test]
async fn strategic_merge_follows_patch_strategies() {
    let (_env, client) = env_with_namespaces(&["smp"]).await;
    let api: Api<Deployment> = Api::namespaced(client, "smp");
    let d: Deployment = serde_json::from_value(json!({
        "metadata": {"name": "web"},
        "spec": {"selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [
                                  {"name": "web", "image": "nginx:1", "env": [{"name": "A", "value": "1"}]},
                                  {"name": "side", "image": "busybox"}]}}}
    }))
    .unwrap();
    api.create(&PostParams::default(), &d).await.unwrap();
    // Containers merge by name, env by name; the other container stays.
    let patched = api
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Strategic(json!({"spec": {"template": {"spec": {"containers": [
                {"name": "web", "image": "nginx:2", "env": [{"name": "B", "value": "2"}]}
            ]}}}})),
        )
        .await
        .unwrap();
    let containers = patched.spec.template.spec.unwrap().containers;
    assert_eq!(containers.len(), 2);
    let web = containers.iter().find(|c| c.name == "web").unwrap();
    assert_eq!(web.image.as_deref(), Some("nginx:2"));
    let env: Vec<&str> = web
        .env
        .as_ref()
        .unwrap()
        .iter()
        .map(|e| e.name.as_str())
        .collect();
    // Patch elements first, as kube-apiserver orders them (checked with
    // `kubectl patch --local --type strategic`).
    assert_eq!(env, ["B", "A"]);
    // `$patch: delete` removes one element.
    let patched = api
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Strategic(json!({"spec": {"template": {"spec": {"containers": [
                {"name": "side", "$patch": "delete"}
            ]}}}})),
        )
        .await
        .unwrap();
    assert_eq!(patched.spec.template.spec.unwrap().containers.len(), 1);
}

#[tokio::test]
async fn secret_string_data_is_merged_into_data() {
    use k8s_openapi::api::core::v1::Secret;
    let (_env, client) = env_with_namespaces(&["sec"]).await;
    let api: Api<Secret> = Api::namespaced(client, "sec");
    let s: Secret = serde_json::from_value(json!({
        "metadata": {"name": "creds"},
        "data": {"keep": "a2VlcA=="},
        "stringData": {"password": "hunter2"}
    }))
    .unwrap();
    let created = api.create(&PostParams::default(), &s).await.unwrap();
    assert!(created.string_data.is_none(), "stringData is never stored");
    let data = created.data.unwrap();
    assert_eq!(data["password"].0, b"hunter2");
    assert_eq!(data["keep"].0, b"keep");
}
