use ferroflux_ssa::{Action, ApplyOptions, ObjMeta, SsaError};
use serde_json::json;

use crate::{get, setup, writes_so_far, yaml};

const APP: &str = r#"
apiVersion: v1
kind: Namespace
metadata:
  name: app
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: app
data:
  color: blue
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: app
  labels:
    app: web
spec:
  replicas: 2
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: web
        image: nginx:1.27
"#;

fn action(cs: &ferroflux_ssa::ChangeSet, subject: &str) -> Action {
    cs.entries
        .iter()
        .find(|e| e.object.to_string() == subject)
        .map(|e| e.action)
        .unwrap_or_else(|| panic!("{subject} not in change set:\n{cs}"))
}

#[tokio::test]
async fn creates_then_writes_nothing_when_nothing_changed() {
    let (env, m) = setup().await;
    let cs = m
        .apply_all_staged(yaml(APP), &ApplyOptions::default())
        .await
        .unwrap();
    assert_eq!(cs.count(Action::Created), 3, "{cs}");
    // Namespace first: it is a cluster definition.
    assert_eq!(cs.entries[0].object.to_string(), "Namespace/app");
    let live = get(&env, "apps/v1", "Deployment", "app", "web")
        .await
        .unwrap();
    assert_eq!(live["spec"]["replicas"], 2);
    let managers: Vec<&str> = live["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["manager"].as_str())
        .collect();
    assert_eq!(managers, ["kustomize-controller"]);

    let before = writes_so_far(&env);
    let cs = m
        .apply_all_staged(yaml(APP), &ApplyOptions::default())
        .await
        .unwrap();
    assert_eq!(cs.count(Action::Unchanged), 3, "{cs}");
    assert!(!cs.has_changes());
    assert_eq!(
        writes_so_far(&env),
        before,
        "a no-op apply wrote to the cluster"
    );
}

#[tokio::test]
async fn changed_objects_are_configured_and_drift_is_reverted() {
    let (env, m) = setup().await;
    m.apply_all_staged(yaml(APP), &ApplyOptions::default())
        .await
        .unwrap();

    let changed = APP.replace("color: blue", "color: green");
    let cs = m
        .apply_all_staged(yaml(&changed), &ApplyOptions::default())
        .await
        .unwrap();
    assert_eq!(action(&cs, "ConfigMap/app/settings"), Action::Configured);
    assert_eq!(action(&cs, "Deployment/app/web"), Action::Unchanged);
    assert_eq!(cs.changes_summary(), "ConfigMap/app/settings configured");
    let cm = get(&env, "v1", "ConfigMap", "app", "settings")
        .await
        .unwrap();
    assert_eq!(cm["data"]["color"], "green");

    // Someone scales the Deployment by hand: the next apply sets it back.
    let client = env.client().await.unwrap();
    let deployments: kube::Api<k8s_openapi::api::apps::v1::Deployment> =
        kube::Api::namespaced(client, "app");
    deployments
        .patch(
            "web",
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(json!({"spec": {"replicas": 5}})),
        )
        .await
        .unwrap();
    let cs = m
        .apply_all_staged(yaml(&changed), &ApplyOptions::default())
        .await
        .unwrap();
    assert_eq!(
        action(&cs, "Deployment/app/web"),
        Action::Configured,
        "{cs}"
    );
    let live = get(&env, "apps/v1", "Deployment", "app", "web")
        .await
        .unwrap();
    assert_eq!(live["spec"]["replicas"], 2);
}

#[tokio::test]
async fn crds_and_namespaces_are_applied_before_what_needs_them() {
    let (env, m) = setup().await;
    let set = r#"
apiVersion: example.com/v1
kind: Widget
metadata:
  name: w1
  namespace: shop
spec:
  size: 3
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  names: {kind: Widget, plural: widgets, singular: widget, listKind: WidgetList}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: integer}
---
apiVersion: v1
kind: Namespace
metadata:
  name: shop
"#;
    let cs = m
        .apply_all_staged(yaml(set), &ApplyOptions::default())
        .await
        .unwrap();
    let order: Vec<String> = cs
        .entries
        .iter()
        .map(|e| format!("{} {}", e.object, e.action))
        .collect();
    assert_eq!(
        order,
        [
            "CustomResourceDefinition/widgets.example.com created",
            "Namespace/shop created",
            "Widget/shop/w1 created",
        ]
    );
    let w = get(&env, "example.com/v1", "Widget", "shop", "w1")
        .await
        .unwrap();
    assert_eq!(w["spec"]["size"], 3);
    let cs = m
        .apply_all_staged(yaml(set), &ApplyOptions::default())
        .await
        .unwrap();
    assert!(!cs.has_changes(), "{cs}");
}

#[tokio::test]
async fn an_unknown_kind_fails_before_anything_is_written() {
    let (env, m) = setup().await;
    let set = format!(
        "{APP}\n---\napiVersion: example.com/v1\nkind: Gadget\nmetadata:\n  name: g\n  namespace: app\n"
    );
    let before = writes_so_far(&env);
    let err = m
        .apply_all_staged(yaml(&set), &ApplyOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, SsaError::UnknownKind { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "Gadget/app/g: no matches for kind \"Gadget\" in version \"example.com/v1\""
    );
    assert_eq!(writes_so_far(&env), before);
    assert!(get(&env, "v1", "Namespace", "", "app").await.is_none());
}

#[tokio::test]
async fn an_invalid_object_fails_the_dry_run_and_nothing_is_written() {
    let (env, m) = setup().await;
    m.apply_all_staged(yaml(APP), &ApplyOptions::default())
        .await
        .unwrap();
    // The ConfigMap changes, but the Deployment is invalid (a label that is
    // not a string): neither lands.
    let mut bad = yaml(&APP.replace("color: blue", "color: red"));
    bad[2]["metadata"]["labels"]["app"] = json!({"not": "a string"});
    let before = writes_so_far(&env);
    let err = m
        .apply_all_staged(bad, &ApplyOptions::default())
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.starts_with("Deployment/app/web dry-run failed ("),
        "{msg}"
    );
    assert_eq!(writes_so_far(&env), before);
    let cm = get(&env, "v1", "ConfigMap", "app", "settings")
        .await
        .unwrap();
    assert_eq!(cm["data"]["color"], "blue");
}

#[tokio::test]
async fn malformed_and_duplicate_manifests_are_refused() {
    let (_env, m) = setup().await;
    let err = m
        .apply_all_staged(
            vec![json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"namespace": "x"}})],
            &ApplyOptions::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "ConfigMap/x/<no name>: metadata.name is not set"
    );
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "default"}});
    let err = m
        .apply_all_staged(vec![cm.clone(), cm], &ApplyOptions::default())
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "ConfigMap/default/a: the object appears more than once in the set"
    );
    let err = m
        .apply_all_staged(
            vec![json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}})],
            &ApplyOptions::default(),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("namespace not specified"), "{err}");
}

#[tokio::test]
async fn force_recreates_objects_whose_immutable_fields_changed() {
    let (env, m) = setup().await;
    m.apply_all_staged(yaml(APP), &ApplyOptions::default())
        .await
        .unwrap();
    let uid_before = get(&env, "apps/v1", "Deployment", "app", "web")
        .await
        .unwrap()["metadata"]["uid"]
        .clone();
    let moved = APP.replace("app: web", "app: web2");

    let err = m
        .apply_all_staged(yaml(&moved), &ApplyOptions::default())
        .await
        .unwrap_err();
    assert!(err.is_immutable(), "{err}");
    assert!(err.to_string().contains("field is immutable"), "{err}");

    let opts = ApplyOptions {
        force: true,
        ..Default::default()
    };
    let cs = m.apply_all_staged(yaml(&moved), &opts).await.unwrap();
    assert_eq!(action(&cs, "Deployment/app/web"), Action::Created, "{cs}");
    let live = get(&env, "apps/v1", "Deployment", "app", "web")
        .await
        .unwrap();
    assert_ne!(live["metadata"]["uid"], uid_before);
    assert_eq!(live["spec"]["selector"]["matchLabels"]["app"], "web2");

    // The per-object annotation does the same without `force`.
    let annotated = moved.replace("app: web2", "app: web3").replace(
        "  name: web\n  namespace: app\n",
        "  name: web\n  namespace: app\n  annotations:\n    kustomize.toolkit.fluxcd.io/force: Enabled\n",
    );
    let cs = m
        .apply_all_staged(yaml(&annotated), &ApplyOptions::default())
        .await
        .unwrap();
    assert_eq!(action(&cs, "Deployment/app/web"), Action::Created, "{cs}");
}

#[tokio::test]
async fn ssa_annotations_ignore_and_if_not_present() {
    let (env, m) = setup().await;
    let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "app"}});
    let cm = |name: &str, mode: &str, value: &str| {
        json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": "app", "annotations": {"kustomize.toolkit.fluxcd.io/ssa": mode}},
            "data": {"v": value}})
    };
    let cs = m
        .apply_all_staged(
            vec![
                ns.clone(),
                cm("ignored", "Ignore", "1"),
                cm("once", "IfNotPresent", "1"),
                cm("merged", "Merge", "1"),
            ],
            &ApplyOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(action(&cs, "ConfigMap/app/ignored"), Action::Skipped);
    assert_eq!(action(&cs, "ConfigMap/app/once"), Action::Created);
    assert_eq!(action(&cs, "ConfigMap/app/merged"), Action::Created);
    assert!(
        get(&env, "v1", "ConfigMap", "app", "ignored")
            .await
            .is_none()
    );

    let cs = m
        .apply_all_staged(
            vec![
                ns,
                cm("ignored", "Ignore", "2"),
                cm("once", "IfNotPresent", "2"),
                cm("merged", "Merge", "2"),
            ],
            &ApplyOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(action(&cs, "ConfigMap/app/once"), Action::Skipped);
    assert_eq!(action(&cs, "ConfigMap/app/merged"), Action::Configured);
    assert_eq!(
        get(&env, "v1", "ConfigMap", "app", "once").await.unwrap()["data"]["v"],
        "1"
    );
    assert_eq!(
        get(&env, "v1", "ConfigMap", "app", "merged").await.unwrap()["data"]["v"],
        "2"
    );
}

#[tokio::test]
async fn cluster_scoped_objects_lose_a_stray_namespace() {
    let (env, m) = setup().await;
    let cr = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
        "metadata": {"name": "reader", "namespace": "leftover"},
        "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]});
    let cs = m
        .apply_all_staged(vec![cr], &ApplyOptions::default())
        .await
        .unwrap();
    assert_eq!(
        cs.entries[0].object,
        ObjMeta {
            group: "rbac.authorization.k8s.io".into(),
            kind: "ClusterRole".into(),
            namespace: String::new(),
            name: "reader".into(),
            version: "v1".into(),
        }
    );
    assert!(
        get(
            &env,
            "rbac.authorization.k8s.io/v1",
            "ClusterRole",
            "",
            "reader"
        )
        .await
        .is_some()
    );
}
