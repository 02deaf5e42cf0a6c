//! Scenario tests: applies and updates one after another, as a client sequence would
//! drive them. Several are taken from structured-merge-diff's `merge/*_test.go` cases.

use serde_json::{Value, json};

use super::*;

const T0: &str = "2024-05-01T10:00:00Z";
const T1: &str = "2024-05-01T10:05:00Z";
const T2: &str = "2024-05-01T10:10:00Z";

fn deploy_types() -> BuiltinListTypes {
    builtin_list_types("apps", "Deployment")
}

fn deployment(replicas: i64, image: &str) -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": image}]}
            }
        }
    })
}

fn strip_mf(v: &Value) -> Value {
    let mut v = v.clone();
    let mut emptied = false;
    if let Some(Value::Object(meta)) = v.get_mut("metadata") {
        meta.remove("managedFields");
        emptied = meta.is_empty();
    }
    if emptied {
        v.as_object_mut().unwrap().remove("metadata");
    }
    v
}

fn entry<'a>(entries: &'a [ManagedFieldsEntry], manager: &str) -> &'a ManagedFieldsEntry {
    entries
        .iter()
        .find(|e| e.manager == manager)
        .unwrap_or_else(|| panic!("no entry for {manager}: {entries:?}"))
}

fn owns(entries: &[ManagedFieldsEntry], manager: &str, path: &str) -> bool {
    entries
        .iter()
        .filter(|e| e.manager == manager)
        .any(|e| e.fields.path_strings().iter().any(|p| p == path))
}

/// Applies with no force; panics on error.
fn ok_apply(
    live: Option<&Value>,
    applied: &Value,
    manager: &str,
    managed: &[ManagedFieldsEntry],
    types: &dyn ListTypes,
    now: &str,
) -> (Value, Vec<ManagedFieldsEntry>) {
    apply(
        live, applied, manager, "apps/v1", "", false, managed, types, now,
    )
    .unwrap_or_else(|e| panic!("apply by {manager} failed: {e}"))
}

#[test]
fn apply_create_records_an_apply_entry_in_fields_v1() {
    let (obj, entries) = ok_apply(
        None,
        &deployment(2, "nginx:1"),
        "kubectl",
        &[],
        &deploy_types(),
        T0,
    );
    assert_eq!(strip_mf(&obj), deployment(2, "nginx:1"));
    assert_eq!(entries.len(), 1);
    let e = &entries[0];
    assert_eq!(
        (e.manager.as_str(), e.operation),
        ("kubectl", Operation::Apply)
    );
    assert_eq!(
        (
            e.api_version.as_str(),
            e.time.as_str(),
            e.subresource.as_str()
        ),
        ("apps/v1", T0, "")
    );
    assert_eq!(
        e.fields.to_fields_v1(),
        json!({
            "f:metadata": {"f:labels": {"f:app": {}}},
            "f:spec": {
                "f:replicas": {},
                "f:selector": {},
                "f:template": {
                    "f:metadata": {"f:labels": {"f:app": {}}},
                    "f:spec": {"f:containers": {"k:{\"name\":\"web\"}": {
                        ".": {}, "f:image": {}, "f:name": {}
                    }}}
                }
            }
        })
    );
    assert_eq!(
        obj["metadata"]["managedFields"],
        json!([{
            "manager": "kubectl",
            "operation": "Apply",
            "apiVersion": "apps/v1",
            "time": T0,
            "fieldsType": "FieldsV1",
            "fieldsV1": e.fields.to_fields_v1()
        }])
    );
}

#[test]
fn reapplying_the_same_configuration_changes_nothing() {
    let types = deploy_types();
    let (obj, entries) = ok_apply(None, &deployment(2, "nginx:1"), "kubectl", &[], &types, T0);
    let (again, entries2) = ok_apply(
        Some(&obj),
        &deployment(2, "nginx:1"),
        "kubectl",
        &entries,
        &types,
        T1,
    );
    assert_eq!(again, obj);
    assert_eq!(entries2, entries);
    assert_eq!(
        entries2[0].time, T0,
        "time moves only when the object changes"
    );
}

#[test]
fn apply_removes_a_field_it_stopped_applying() {
    let types = deploy_types();
    let mut first = deployment(2, "nginx:1");
    first["metadata"]["labels"]["tier"] = json!("frontend");
    first["spec"]["minReadySeconds"] = json!(5);
    let (obj, entries) = ok_apply(None, &first, "kubectl", &[], &types, T0);
    let (obj, entries) = ok_apply(
        Some(&obj),
        &deployment(2, "nginx:1"),
        "kubectl",
        &entries,
        &types,
        T1,
    );
    assert_eq!(strip_mf(&obj), deployment(2, "nginx:1"));
    assert!(!owns(&entries, "kubectl", ".metadata.labels.tier"));
    assert_eq!(entries[0].time, T1);
}

#[test]
fn apply_removes_a_struct_left_empty_and_keeps_unowned_neighbours_elsewhere() {
    let types = NoSchema;
    let cfg1 = json!({"apiVersion": "v1", "kind": "X", "metadata": {"name": "x"}, "spec": {"a": {"b": 1}, "c": 1}});
    let (obj, entries) = apply(None, &cfg1, "m", "v1", "", false, &[], &types, T0).unwrap();
    let cfg2 =
        json!({"apiVersion": "v1", "kind": "X", "metadata": {"name": "x"}, "spec": {"c": 1}});
    let (obj, _) = apply(
        Some(&obj),
        &cfg2,
        "m",
        "v1",
        "",
        false,
        &entries,
        &types,
        T1,
    )
    .unwrap();
    assert_eq!(strip_mf(&obj), cfg2);
}

#[test]
fn shared_ownership_keeps_a_field_another_applier_also_applies() {
    let types = deploy_types();
    let (obj, entries) = ok_apply(None, &deployment(3, "nginx:1"), "kubectl", &[], &types, T0);
    let partial = json!({"apiVersion": "apps/v1", "kind": "Deployment",
                         "metadata": {"name": "web", "namespace": "default"},
                         "spec": {"replicas": 3}});
    let (obj, entries) = ok_apply(Some(&obj), &partial, "autoscaler", &entries, &types, T1);
    assert!(owns(&entries, "kubectl", ".spec.replicas"));
    assert!(owns(&entries, "autoscaler", ".spec.replicas"));
    // The autoscaler's entry has no time: applying an equal value changed nothing.
    assert_eq!(entry(&entries, "autoscaler").time, "");

    let mut without = deployment(3, "nginx:1");
    without["spec"].as_object_mut().unwrap().remove("replicas");
    let (obj, entries) = ok_apply(Some(&obj), &without, "kubectl", &entries, &types, T2);
    assert_eq!(
        obj["spec"]["replicas"],
        json!(3),
        "still owned by the autoscaler"
    );
    assert!(!owns(&entries, "kubectl", ".spec.replicas"));
    assert!(owns(&entries, "autoscaler", ".spec.replicas"));
}

fn edited_by_kubectl_edit() -> (Value, Vec<ManagedFieldsEntry>) {
    let types = deploy_types();
    let (obj, entries) = ok_apply(None, &deployment(2, "nginx:1"), "kubectl", &[], &types, T0);
    let mut edited = obj.clone();
    edited["spec"]["replicas"] = json!(5);
    let entries = update(
        &obj,
        &edited,
        "kubectl-edit",
        "apps/v1",
        "",
        &entries,
        &types,
        T1,
    );
    set_managed_fields(&mut edited, &entries);
    (edited, entries)
}

#[test]
fn conflict_with_an_update_manager_has_kubes_message() {
    let (live, entries) = edited_by_kubectl_edit();
    let err = apply(
        Some(&live),
        &deployment(2, "nginx:1"),
        "kubectl",
        "apps/v1",
        "",
        false,
        &entries,
        &deploy_types(),
        T2,
    )
    .unwrap_err();
    let conflicts = err.conflicts().expect("a conflict");
    assert_eq!(
        conflicts.message(),
        "Apply failed with 1 conflict: conflict with \"kubectl-edit\" using apps/v1: .spec.replicas"
    );
    assert_eq!(conflicts.0[0].path, ".spec.replicas");
    assert_eq!(
        conflicts.0[0].cause_message(),
        "conflict with \"kubectl-edit\" using apps/v1"
    );
}

#[test]
fn applying_the_value_an_updater_set_is_not_a_conflict() {
    let (live, entries) = edited_by_kubectl_edit();
    let (obj, entries) = ok_apply(
        Some(&live),
        &deployment(5, "nginx:1"),
        "kubectl",
        &entries,
        &deploy_types(),
        T2,
    );
    assert_eq!(obj["spec"]["replicas"], json!(5));
    assert!(owns(&entries, "kubectl", ".spec.replicas"));
    assert!(owns(&entries, "kubectl-edit", ".spec.replicas"));
}

#[test]
fn force_takes_ownership() {
    let (live, entries) = edited_by_kubectl_edit();
    let (obj, entries) = apply(
        Some(&live),
        &deployment(2, "nginx:1"),
        "kubectl",
        "apps/v1",
        "",
        true,
        &entries,
        &deploy_types(),
        T2,
    )
    .unwrap();
    assert_eq!(obj["spec"]["replicas"], json!(2));
    assert!(owns(&entries, "kubectl", ".spec.replicas"));
    assert!(
        entries.iter().all(|e| e.manager != "kubectl-edit"),
        "kubectl-edit owned only replicas, so its entry goes: {entries:?}"
    );
    assert_eq!(entry(&entries, "kubectl").time, T2);
}

#[test]
fn several_conflicts_are_listed_by_manager() {
    let types = deploy_types();
    let (obj, entries) = ok_apply(None, &deployment(2, "nginx:1"), "kubectl", &[], &types, T0);
    let cfg = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "default"},
                     "spec": {"replicas": 4, "template": {"spec": {"containers": [{"name": "web", "image": "nginx:2"}]}}}});
    let err = apply(
        Some(&obj),
        &cfg,
        "other",
        "apps/v1",
        "",
        false,
        &entries,
        &types,
        T1,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Apply failed with 2 conflicts: conflicts with \"kubectl\":\n- .spec.replicas\n- .spec.template.spec.containers[name=\"web\"].image"
    );
}

#[test]
fn keyed_list_items_merge_by_key() {
    let types = deploy_types();
    let (obj, entries) = ok_apply(None, &deployment(2, "nginx:1"), "kubectl", &[], &types, T0);
    // A controller adds a sidecar and an env var to web with an update.
    let mut edited = obj.clone();
    edited["spec"]["template"]["spec"]["containers"] = json!([
        {"name": "web", "image": "nginx:1", "env": [{"name": "A", "value": "1"}]},
        {"name": "sidecar", "image": "envoy"}
    ]);
    let entries = update(
        &obj, &edited, "injector", "apps/v1", "", &entries, &types, T1,
    );
    assert!(owns(
        &entries,
        "injector",
        r#".spec.template.spec.containers[name="sidecar"]"#
    ));
    assert!(owns(
        &entries,
        "injector",
        r#".spec.template.spec.containers[name="web"].env[name="A"].value"#
    ));
    // kubectl applies a new image: the sidecar and the env var stay.
    let (obj, _) = ok_apply(
        Some(&edited),
        &deployment(2, "nginx:2"),
        "kubectl",
        &entries,
        &types,
        T2,
    );
    assert_eq!(
        obj["spec"]["template"]["spec"]["containers"],
        json!([
            {"name": "web", "image": "nginx:2", "env": [{"name": "A", "value": "1"}]},
            {"name": "sidecar", "image": "envoy"}
        ])
    );
}

#[test]
fn apply_removes_a_container_it_stopped_applying() {
    let types = deploy_types();
    let mut two = deployment(2, "nginx:1");
    two["spec"]["template"]["spec"]["containers"] = json!([
        {"name": "web", "image": "nginx:1"},
        {"name": "log", "image": "fluentbit"}
    ]);
    let (obj, entries) = ok_apply(None, &two, "kubectl", &[], &types, T0);
    let (obj, entries) = ok_apply(
        Some(&obj),
        &deployment(2, "nginx:1"),
        "kubectl",
        &entries,
        &types,
        T1,
    );
    assert_eq!(
        obj["spec"]["template"]["spec"]["containers"],
        json!([{"name": "web", "image": "nginx:1"}])
    );
    assert!(!owns(
        &entries,
        "kubectl",
        r#".spec.template.spec.containers[name="log"]"#
    ));
}

// As structured-merge-diff's remove_one_with_managed_subitem_keep_one: an item the
// applier owned goes as a whole even if another manager owns a field inside it.
#[test]
fn a_dropped_container_goes_even_with_a_field_another_manager_changed() {
    let types = deploy_types();
    let mut two = deployment(2, "nginx:1");
    two["spec"]["template"]["spec"]["containers"] = json!([
        {"name": "web", "image": "nginx:1"},
        {"name": "log", "image": "fluentbit"}
    ]);
    let (obj, entries) = ok_apply(None, &two, "kubectl", &[], &types, T0);
    let mut edited = obj.clone();
    edited["spec"]["template"]["spec"]["containers"][1]["image"] = json!("fluentbit:2");
    let entries = update(&obj, &edited, "ops", "apps/v1", "", &entries, &types, T1);
    assert!(owns(
        &entries,
        "ops",
        r#".spec.template.spec.containers[name="log"].image"#
    ));
    let (obj, entries) = ok_apply(
        Some(&edited),
        &deployment(2, "nginx:1"),
        "kubectl",
        &entries,
        &types,
        T2,
    );
    assert_eq!(
        obj["spec"]["template"]["spec"]["containers"],
        json!([{"name": "web", "image": "nginx:1"}])
    );
    assert!(entries.iter().all(|e| e.manager != "ops"), "{entries:?}");
}

fn list_of_lists() -> SchemaListTypes {
    schema_list_types(&json!({"type": "object", "properties": {"listOfLists": {
        "type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
        "items": {"type": "object", "properties": {
            "name": {"type": "string"},
            "value": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}}
        }}
    }}}))
}

fn lol(v: Value) -> Value {
    json!({"listOfLists": v})
}

// structured-merge-diff: remove_one_keep_one_with_dangling_subitem.
#[test]
fn smd_remove_one_keep_one_with_dangling_subitem() {
    let t = list_of_lists();
    let (o, m) = apply(
        None,
        &lol(json!([{"name": "a"}, {"name": "b", "value": ["c"]}])),
        "apply-one",
        "v1",
        "",
        false,
        &[],
        &t,
        T0,
    )
    .unwrap();
    let (o, m) = apply(
        Some(&o),
        &lol(json!([{"name": "b", "value": ["d"]}])),
        "apply-two",
        "v1",
        "",
        false,
        &m,
        &t,
        T0,
    )
    .unwrap();
    let upd = lol(json!([{"name": "a"}, {"name": "b", "value": ["c", "d", "e"]}]));
    let m = update(&o, &upd, "controller", "v1", "", &m, &t, T1);
    let (o, m) = apply(
        Some(&upd),
        &lol(json!([{"name": "a"}])),
        "apply-one",
        "v1",
        "",
        false,
        &m,
        &t,
        T2,
    )
    .unwrap();
    assert_eq!(
        strip_mf(&o),
        lol(json!([{"name": "a"}, {"name": "b", "value": ["d", "e"]}]))
    );
    assert_eq!(
        entry(&m, "apply-one").fields.path_strings(),
        vec![
            r#".listOfLists[name="a"]"#,
            r#".listOfLists[name="a"].name"#
        ]
    );
    assert_eq!(
        entry(&m, "apply-two").fields.path_strings(),
        vec![
            r#".listOfLists[name="b"]"#,
            r#".listOfLists[name="b"].name"#,
            r#".listOfLists[name="b"].value[="d"]"#
        ]
    );
    assert_eq!(
        entry(&m, "controller").fields.path_strings(),
        vec![r#".listOfLists[name="b"].value[="e"]"#]
    );
}

// structured-merge-diff: remove_one_with_managed_subitem_keep_one.
#[test]
fn smd_remove_one_with_managed_subitem_keep_one() {
    let t = list_of_lists();
    let (o, m) = apply(
        None,
        &lol(json!([{"name": "a"}, {"name": "b", "value": ["c"]}])),
        "apply-one",
        "v1",
        "",
        false,
        &[],
        &t,
        T0,
    )
    .unwrap();
    let (o, m) = apply(
        Some(&o),
        &lol(json!([{"name": "a", "value": ["b"]}])),
        "apply-two",
        "v1",
        "",
        false,
        &m,
        &t,
        T0,
    )
    .unwrap();
    let upd = lol(json!([{"name": "a", "value": ["b"]}, {"name": "b", "value": ["c", "d"]}]));
    let m = update(&o, &upd, "controller", "v1", "", &m, &t, T1);
    let (o, m) = apply(
        Some(&upd),
        &lol(json!([{"name": "a"}])),
        "apply-one",
        "v1",
        "",
        false,
        &m,
        &t,
        T2,
    )
    .unwrap();
    assert_eq!(strip_mf(&o), lol(json!([{"name": "a", "value": ["b"]}])));
    assert!(m.iter().all(|e| e.manager != "controller"), "{m:?}");
    assert_eq!(
        entry(&m, "apply-two").fields.path_strings(),
        vec![
            r#".listOfLists[name="a"]"#,
            r#".listOfLists[name="a"].name"#,
            r#".listOfLists[name="a"].value[="b"]"#
        ]
    );
}

#[test]
fn container_port_keys_take_the_protocol_default() {
    let types = deploy_types();
    let mut cfg = deployment(1, "nginx:1");
    cfg["spec"]["template"]["spec"]["containers"][0]["ports"] = json!([{"containerPort": 80}]);
    let (obj, entries) = ok_apply(None, &cfg, "kubectl", &[], &types, T0);
    assert!(owns(
        &entries,
        "kubectl",
        r#".spec.template.spec.containers[name="web"].ports[containerPort=80,protocol="TCP"].containerPort"#
    ));
    // Spelling the default out names the same item.
    let mut explicit = cfg.clone();
    explicit["spec"]["template"]["spec"]["containers"][0]["ports"] =
        json!([{"containerPort": 80, "protocol": "TCP"}]);
    let (obj, _) = ok_apply(Some(&obj), &explicit, "kubectl", &entries, &types, T1);
    assert_eq!(
        obj["spec"]["template"]["spec"]["containers"][0]["ports"],
        json!([{"containerPort": 80, "protocol": "TCP"}])
    );
}

#[test]
fn service_ports_are_keyed_by_port_and_protocol() {
    let types = builtin_list_types("", "Service");
    let svc = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "dns"},
                     "spec": {"ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]}});
    let (_, entries) = apply(None, &svc, "m", "v1", "", false, &[], &types, T0).unwrap();
    assert_eq!(
        entries[0].fields.to_fields_v1()["f:spec"]["f:ports"],
        json!({
            "k:{\"port\":53,\"protocol\":\"TCP\"}": {".": {}, "f:port": {}, "f:protocol": {}},
            "k:{\"port\":53,\"protocol\":\"UDP\"}": {".": {}, "f:port": {}, "f:protocol": {}}
        })
    );
}

#[test]
fn finalizers_are_a_set() {
    let types = builtin_list_types("", "ConfigMap");
    let cm = |fins: Value| json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "finalizers": fins}});
    let (obj, entries) = apply(
        None,
        &cm(json!(["a.example/x"])),
        "one",
        "v1",
        "",
        false,
        &[],
        &types,
        T0,
    )
    .unwrap();
    let (obj, entries) = apply(
        Some(&obj),
        &cm(json!(["b.example/y"])),
        "two",
        "v1",
        "",
        false,
        &entries,
        &types,
        T1,
    )
    .unwrap();
    assert_eq!(
        obj["metadata"]["finalizers"],
        json!(["a.example/x", "b.example/y"])
    );
    assert!(owns(
        &entries,
        "one",
        r#".metadata.finalizers[="a.example/x"]"#
    ));
    assert_eq!(
        entry(&entries, "two").fields.to_fields_v1(),
        json!({"f:metadata": {"f:finalizers": {"v:\"b.example/y\"": {}}}})
    );
    // "one" stops applying its finalizer: only it goes.
    let none = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}});
    let (obj, entries) = apply(
        Some(&obj),
        &none,
        "one",
        "v1",
        "",
        false,
        &entries,
        &types,
        T2,
    )
    .unwrap();
    assert_eq!(obj["metadata"]["finalizers"], json!(["b.example/y"]));
    assert!(
        entries.iter().all(|e| e.manager != "one"),
        "one owns nothing now"
    );
}

#[test]
fn atomic_lists_are_replaced_and_owned_whole() {
    let types = builtin_list_types("rbac.authorization.k8s.io", "Role");
    let role = |rules: Value| {
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                                     "metadata": {"name": "r", "namespace": "ns"}, "rules": rules})
    };
    let r1 = json!([{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]},
                    {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}]);
    let r2 = json!([{"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["list"]}]);
    let (obj, entries) = apply(
        None,
        &role(r1),
        "a",
        "rbac.authorization.k8s.io/v1",
        "",
        false,
        &[],
        &types,
        T0,
    )
    .unwrap();
    assert_eq!(entries[0].fields.to_fields_v1(), json!({"f:rules": {}}));
    let (obj, entries) = apply(
        Some(&obj),
        &role(r2.clone()),
        "a",
        "rbac.authorization.k8s.io/v1",
        "",
        false,
        &entries,
        &types,
        T1,
    )
    .unwrap();
    assert_eq!(obj["rules"], r2);
    // Another applier with different rules conflicts on the whole list.
    let err = apply(
        Some(&obj),
        &role(json!([])),
        "b",
        "rbac.authorization.k8s.io/v1",
        "",
        false,
        &entries,
        &types,
        T2,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Apply failed with 1 conflict: conflict with \"a\": .rules"
    );
}

#[test]
fn atomic_maps_are_replaced() {
    let types = builtin_list_types("", "Service");
    let svc = |sel: Value| json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}, "spec": {"selector": sel}});
    let (obj, entries) = apply(
        None,
        &svc(json!({"a": "1", "b": "2"})),
        "m",
        "v1",
        "",
        false,
        &[],
        &types,
        T0,
    )
    .unwrap();
    let (obj, entries) = apply(
        Some(&obj),
        &svc(json!({"c": "3"})),
        "m",
        "v1",
        "",
        false,
        &entries,
        &types,
        T1,
    )
    .unwrap();
    assert_eq!(obj["spec"]["selector"], json!({"c": "3"}));
    assert_eq!(entries[0].fields.path_strings(), vec![".spec.selector"]);
}

#[test]
fn update_steals_ownership_without_conflict() {
    let types = deploy_types();
    let (obj, entries) = ok_apply(None, &deployment(2, "nginx:1"), "kubectl", &[], &types, T0);
    let mut scaled = obj.clone();
    scaled["spec"]["replicas"] = json!(7);
    let entries = update(&obj, &scaled, "hpa", "apps/v1", "", &entries, &types, T1);
    assert!(owns(&entries, "hpa", ".spec.replicas"));
    assert!(!owns(&entries, "kubectl", ".spec.replicas"));
    let hpa = entry(&entries, "hpa");
    assert_eq!((hpa.operation, hpa.time.as_str()), (Operation::Update, T1));
    // Apply entries come first.
    assert_eq!(entries[0].manager, "kubectl");
    assert_eq!(entries[1].manager, "hpa");
}

#[test]
fn update_records_created_maps_and_items_themselves() {
    let types = builtin_list_types("", "ConfigMap");
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": "c", "namespace": "ns", "labels": {"a": "1"}},
                    "data": {"k": "v"}});
    let entries = update(
        &Value::Null,
        &cm,
        "kubectl-create",
        "v1",
        "",
        &[],
        &types,
        T0,
    );
    assert_eq!(
        entries[0].fields.to_fields_v1(),
        json!({"f:data": {".": {}, "f:k": {}}, "f:metadata": {"f:labels": {".": {}, "f:a": {}}}})
    );
    assert_eq!(entries[0].operation, Operation::Update);
}

#[test]
fn update_that_changes_nothing_adds_no_entry_and_keeps_times() {
    let types = deploy_types();
    let (obj, entries) = ok_apply(None, &deployment(2, "nginx:1"), "kubectl", &[], &types, T0);
    let after = update(&obj, &obj, "noop", "apps/v1", "", &entries, &types, T1);
    assert_eq!(after, entries);
}

#[test]
fn update_removing_fields_takes_them_from_every_manager() {
    let types = deploy_types();
    let (obj, entries) = ok_apply(None, &deployment(2, "nginx:1"), "kubectl", &[], &types, T0);
    let mut edited = obj.clone();
    edited["metadata"]["labels"]
        .as_object_mut()
        .unwrap()
        .remove("app");
    let entries = update(&obj, &edited, "editor", "apps/v1", "", &entries, &types, T1);
    assert!(!owns(&entries, "kubectl", ".metadata.labels.app"));
    assert!(
        entries.iter().all(|e| e.manager != "editor"),
        "removing gives no ownership"
    );
}

#[test]
fn updates_of_existing_objects_without_managed_fields_are_not_tracked() {
    let types = builtin_list_types("", "ConfigMap");
    let old = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "uid": "1234"}, "data": {"a": "1"}});
    let mut new = old.clone();
    new["data"]["a"] = json!("2");
    assert!(update(&old, &new, "m", "v1", "", &[], &types, T0).is_empty());
}

#[test]
fn first_apply_to_an_untracked_object_records_before_first_apply() {
    let types = builtin_list_types("", "ConfigMap");
    let live = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "uid": "1"},
                      "data": {"a": "1", "b": "2"}});
    let cfg = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "1"}});
    let (obj, entries) = apply(
        Some(&live),
        &cfg,
        "kubectl",
        "v1",
        "",
        false,
        &[],
        &types,
        T1,
    )
    .unwrap();
    assert_eq!(obj["data"], json!({"a": "1", "b": "2"}));
    let before = entry(&entries, "before-first-apply");
    assert_eq!(before.operation, Operation::Update);
    assert_eq!(before.time, T1);
    assert!(owns(&entries, "before-first-apply", ".data.b"));
    assert!(owns(&entries, "kubectl", ".data.a"));
    assert!(
        owns(&entries, "before-first-apply", ".data.a"),
        "same value: shared"
    );
}

#[test]
fn status_subresource_entries_and_conflicts_name_the_subresource() {
    let types = deploy_types();
    let (obj, entries) = ok_apply(None, &deployment(2, "nginx:1"), "kubectl", &[], &types, T0);
    let mut with_status = obj.clone();
    with_status["status"] =
        json!({"replicas": 2, "conditions": [{"type": "Available", "status": "True"}]});
    let entries = update(
        &obj,
        &with_status,
        "kube-controller-manager",
        "apps/v1",
        "status",
        &entries,
        &types,
        T1,
    );
    let kcm = entry(&entries, "kube-controller-manager");
    assert_eq!(kcm.subresource, "status");
    assert!(owns(
        &entries,
        "kube-controller-manager",
        r#".status.conditions[type="Available"].status"#
    ));
    let status_apply = json!({"apiVersion": "apps/v1", "kind": "Deployment",
                              "metadata": {"name": "web", "namespace": "default"},
                              "status": {"replicas": 3}});
    let err = apply(
        Some(&with_status),
        &status_apply,
        "other",
        "apps/v1",
        "status",
        false,
        &entries,
        &types,
        T2,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Apply failed with 1 conflict: conflict with \"kube-controller-manager\" with subresource \"status\" using apps/v1: .status.replicas"
    );
    let (_, entries) = apply(
        Some(&with_status),
        &status_apply,
        "other",
        "apps/v1",
        "status",
        true,
        &entries,
        &types,
        T2,
    )
    .unwrap();
    assert_eq!(entry(&entries, "other").subresource, "status");
}

#[test]
fn crd_schema_list_types_are_respected() {
    let schema = json!({"type": "object", "properties": {
        "spec": {"type": "object", "properties": {
            "targets": {"type": "array", "x-kubernetes-list-type": "map",
                        "x-kubernetes-list-map-keys": ["kind", "name"],
                        "items": {"type": "object", "properties": {
                            "kind": {"type": "string", "default": "Deployment"},
                            "name": {"type": "string"},
                            "weight": {"type": "integer"}}}},
            "tags": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}},
            "args": {"type": "array", "items": {"type": "string"}},
            "values": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}
        }}
    }});
    let types = schema_list_types(&schema);
    let cr = |spec: Value| json!({"apiVersion": "x.io/v1", "kind": "Thing", "metadata": {"name": "t"}, "spec": spec});
    let (obj, entries) = apply(
        None,
        &cr(json!({
            "targets": [{"name": "a", "weight": 1}],
            "tags": ["x"], "args": ["--a"], "values": {"deep": {"k": 1}}
        })),
        "flux",
        "x.io/v1",
        "",
        false,
        &[],
        &types,
        T0,
    )
    .unwrap();
    assert_eq!(
        entries[0].fields.to_fields_v1(),
        json!({"f:spec": {
            "f:args": {},
            "f:tags": {"v:\"x\"": {}},
            "f:targets": {"k:{\"kind\":\"Deployment\",\"name\":\"a\"}": {".": {}, "f:name": {}, "f:weight": {}}},
            "f:values": {"f:deep": {".": {}, "f:k": {}}}
        }})
    );
    // Another manager adds a target, a tag and an arg (atomic: it replaces the list).
    let other = cr(json!({"targets": [{"kind": "StatefulSet", "name": "a"}], "tags": ["y"]}));
    let (obj, entries) = apply(
        Some(&obj),
        &other,
        "other",
        "x.io/v1",
        "",
        false,
        &entries,
        &types,
        T1,
    )
    .unwrap();
    assert_eq!(
        obj["spec"]["targets"],
        json!([{"name": "a", "weight": 1}, {"kind": "StatefulSet", "name": "a"}])
    );
    assert_eq!(obj["spec"]["tags"], json!(["x", "y"]));
    let args = cr(json!({"args": ["--b"]}));
    let err = apply(
        Some(&obj),
        &args,
        "other",
        "x.io/v1",
        "",
        false,
        &entries,
        &types,
        T2,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Apply failed with 1 conflict: conflict with \"flux\": .spec.args"
    );
}

#[test]
fn crd_metadata_follows_object_meta() {
    let types = schema_list_types(
        &json!({"type": "object", "properties": {"metadata": {"type": "object"}}}),
    );
    let cr = json!({"apiVersion": "x.io/v1", "kind": "T",
                    "metadata": {"name": "t", "finalizers": ["f"],
                                 "ownerReferences": [{"apiVersion": "v1", "kind": "K", "name": "o", "uid": "u1"}]}});
    let (_, entries) = apply(None, &cr, "m", "x.io/v1", "", false, &[], &types, T0).unwrap();
    assert_eq!(
        entries[0].fields.to_fields_v1(),
        json!({"f:metadata": {
            "f:finalizers": {"v:\"f\"": {}},
            "f:ownerReferences": {"k:{\"uid\":\"u1\"}": {}}
        }})
    );
}

#[test]
fn invalid_configurations_are_refused() {
    let types = deploy_types();
    let mut dup = deployment(1, "a");
    dup["spec"]["template"]["spec"]["containers"] = json!([{"name": "x"}, {"name": "x"}]);
    let err = apply(None, &dup, "m", "apps/v1", "", false, &[], &types, T0).unwrap_err();
    assert!(matches!(err, ApplyError::Invalid(_)), "{err}");
    assert!(
        err.to_string()
            .contains("duplicate entries for key [name=\"x\"]"),
        "{err}"
    );
    let mut with_mf = deployment(1, "a");
    with_mf["metadata"]["managedFields"] = json!([]);
    assert!(apply(None, &with_mf, "m", "apps/v1", "", false, &[], &types, T0).is_err());
}

// From structured-merge-diff's multiple appliers tests (unset_scalar_shared_with_updater).
#[test]
fn a_field_an_updater_created_stays_when_an_applier_stops_sharing_it() {
    let types = NoSchema;
    let obj = json!({"struct": {"name": "a", "scalar": "a"}});
    let entries = update(&Value::Null, &obj, "updater", "v1", "", &[], &types, T0);
    let (obj, entries) = apply(
        Some(&obj),
        &obj.clone(),
        "applier",
        "v1",
        "",
        false,
        &entries,
        &types,
        T1,
    )
    .unwrap();
    let (obj, entries) = apply(
        Some(&obj),
        &json!({"struct": {"name": "a"}}),
        "applier",
        "v1",
        "",
        false,
        &entries,
        &types,
        T2,
    )
    .unwrap();
    assert_eq!(
        strip_mf(&obj),
        json!({"struct": {"name": "a", "scalar": "a"}})
    );
    assert_eq!(
        entry(&entries, "updater").fields.path_strings(),
        vec![".struct", ".struct.name", ".struct.scalar"]
    );
    assert_eq!(
        entry(&entries, "applier").fields.path_strings(),
        vec![".struct.name"]
    );
}

// From structured-merge-diff's nested tests (struct_apply_remove_dangling).
#[test]
fn applying_null_for_a_struct_prunes_its_fields_and_owns_the_null() {
    let types = NoSchema;
    let (obj, entries) = apply(
        None,
        &json!({"struct": {"name": "a"}}),
        "default",
        "v1",
        "",
        false,
        &[],
        &types,
        T0,
    )
    .unwrap();
    let (obj, entries) = apply(
        Some(&obj),
        &json!({"struct": null}),
        "default",
        "v1",
        "",
        false,
        &entries,
        &types,
        T1,
    )
    .unwrap();
    assert_eq!(strip_mf(&obj), json!({"struct": null}));
    assert_eq!(entries[0].fields.path_strings(), vec![".struct"]);
}

// From structured-merge-diff's nested tests (struct_apply_update_dict_dangling).
#[test]
fn applying_an_empty_struct_keeps_fields_others_own() {
    let types = NoSchema;
    let (obj, entries) = apply(
        None,
        &json!({"struct": {"name": "a"}}),
        "default",
        "v1",
        "",
        false,
        &[],
        &types,
        T0,
    )
    .unwrap();
    let mut upd = strip_mf(&obj);
    upd["struct"]["value"] = json!(1);
    let entries = update(&obj, &upd, "controller", "v1", "", &entries, &types, T1);
    let (obj, _) = apply(
        Some(&upd),
        &json!({"struct": {}}),
        "default",
        "v1",
        "",
        false,
        &entries,
        &types,
        T2,
    )
    .unwrap();
    assert_eq!(strip_mf(&obj), json!({"struct": {"value": 1}}));
}

#[test]
fn encoded_managed_fields_decode_to_the_same_entries() {
    let (live, entries) = edited_by_kubectl_edit();
    let decoded = decode_managed_fields(&live["metadata"]["managedFields"]).unwrap();
    assert_eq!(decoded, entries);
    assert_eq!(
        encode_managed_fields(&decoded),
        live["metadata"]["managedFields"]
    );
}

fn leaf(v: Value) -> Value {
    v
}

// structured-merge-diff leaf tests: apply_update_apply_with_conflict.
#[test]
fn smd_leaf_apply_update_apply_with_conflict() {
    let t = NoSchema;
    let (o, m) = apply(
        None,
        &leaf(json!({"numeric": 1, "string": "string"})),
        "default",
        "v1",
        "",
        false,
        &[],
        &t,
        T0,
    )
    .unwrap();
    let upd = json!({"numeric": 1, "string": "controller string", "bool": true});
    let m = update(&o, &upd, "controller", "v1", "", &m, &t, T1);
    let cfg = json!({"numeric": 2, "string": "user string"});
    let err = apply(Some(&upd), &cfg, "default", "v1", "", false, &m, &t, T2).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Apply failed with 1 conflict: conflict with \"controller\" using v1: .string"
    );
    let (o, m) = apply(Some(&upd), &cfg, "default", "v1", "", true, &m, &t, T2).unwrap();
    assert_eq!(
        strip_mf(&o),
        json!({"numeric": 2, "string": "user string", "bool": true})
    );
    assert_eq!(
        entry(&m, "default").fields.path_strings(),
        vec![".numeric", ".string"]
    );
    assert_eq!(entry(&m, "controller").fields.path_strings(), vec![".bool"]);
}

// structured-merge-diff leaf tests: update_apply_omits.
#[test]
fn smd_leaf_update_apply_omits() {
    let t = NoSchema;
    let (o, m) = apply(
        None,
        &json!({"numeric": 2}),
        "default",
        "v1",
        "",
        false,
        &[],
        &t,
        T0,
    )
    .unwrap();
    let m = update(
        &o,
        &json!({"numeric": 1}),
        "controller",
        "v1",
        "",
        &m,
        &t,
        T1,
    );
    assert!(
        m.iter().all(|e| e.manager != "default"),
        "the applier lost its only field"
    );
    let (o, m) = apply(
        Some(&json!({"numeric": 1})),
        &json!({}),
        "default",
        "v1",
        "",
        false,
        &m,
        &t,
        T2,
    )
    .unwrap();
    assert_eq!(strip_mf(&o), json!({"numeric": 1}));
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].manager, "controller");
}

// structured-merge-diff leaf tests: apply_remove_empty_set.
#[test]
fn smd_leaf_apply_remove_empty_set() {
    let t = NoSchema;
    let (o, m) = apply(
        None,
        &json!({"string": "string"}),
        "default",
        "v1",
        "",
        false,
        &[],
        &t,
        T0,
    )
    .unwrap();
    let (o, m) = apply(Some(&o), &json!({}), "default", "v1", "", false, &m, &t, T1).unwrap();
    assert_eq!(strip_mf(&o), json!({}));
    assert!(m.is_empty());
}

fn set_types() -> SchemaListTypes {
    schema_list_types(&json!({"type": "object", "properties": {"list": {
        "type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}
    }}}))
}

// structured-merge-diff set tests: apply_update_apply_no_overlap.
#[test]
fn smd_set_apply_update_apply_no_overlap() {
    let t = set_types();
    let (o, m) = apply(
        None,
        &json!({"list": ["a", "c"]}),
        "default",
        "v1",
        "",
        false,
        &[],
        &t,
        T0,
    )
    .unwrap();
    let upd = json!({"list": ["a", "b", "c", "d"]});
    let m = update(&o, &upd, "controller", "v1", "", &m, &t, T1);
    let (o, m) = apply(
        Some(&upd),
        &json!({"list": ["a", "aprime", "c", "cprime"]}),
        "default",
        "v1",
        "",
        false,
        &m,
        &t,
        T2,
    )
    .unwrap();
    assert_eq!(
        strip_mf(&o),
        json!({"list": ["a", "b", "aprime", "c", "d", "cprime"]})
    );
    assert_eq!(
        entry(&m, "default").fields.path_strings(),
        vec![
            r#".list[="a"]"#,
            r#".list[="aprime"]"#,
            r#".list[="c"]"#,
            r#".list[="cprime"]"#
        ]
    );
    assert_eq!(
        entry(&m, "controller").fields.path_strings(),
        vec![r#".list[="b"]"#, r#".list[="d"]"#]
    );
}

// structured-merge-diff set tests: apply_update_apply_with_overlap.
#[test]
fn smd_set_apply_update_apply_with_overlap() {
    let t = set_types();
    let (o, m) = apply(
        None,
        &json!({"list": ["a", "c"]}),
        "default",
        "v1",
        "",
        false,
        &[],
        &t,
        T0,
    )
    .unwrap();
    let upd = json!({"list": ["a", "b", "c", "d"]});
    let m = update(&o, &upd, "controller", "v1", "", &m, &t, T1);
    let (o, m) = apply(
        Some(&upd),
        &json!({"list": ["a", "b", "c"]}),
        "default",
        "v1",
        "",
        false,
        &m,
        &t,
        T2,
    )
    .unwrap();
    assert_eq!(strip_mf(&o), json!({"list": ["a", "b", "c", "d"]}));
    assert_eq!(
        entry(&m, "default").fields.path_strings(),
        vec![r#".list[="a"]"#, r#".list[="b"]"#, r#".list[="c"]"#]
    );
    assert_eq!(
        entry(&m, "controller").fields.path_strings(),
        vec![r#".list[="b"]"#, r#".list[="d"]"#]
    );
}

#[test]
fn conflicts_with_before_first_apply_name_it() {
    let types = builtin_list_types("", "ConfigMap");
    let live = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "uid": "1"}, "data": {"a": "1"}});
    let cfg = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "2"}});
    let err = apply(
        Some(&live),
        &cfg,
        "kubectl",
        "v1",
        "",
        false,
        &[],
        &types,
        T1,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Apply failed with 1 conflict: conflict with \"before-first-apply\" using v1: .data.a"
    );
}

#[test]
fn more_than_ten_updaters_fold_the_oldest_into_ancient_changes() {
    let types = builtin_list_types("", "ConfigMap");
    let mut obj =
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {}});
    let mut entries = Vec::new();
    for i in 0..11 {
        let mut next = obj.clone();
        next["data"][format!("k{i}")] = json!("v");
        let now = format!("2024-05-01T10:00:{i:02}Z");
        entries = update(
            &obj,
            &next,
            &format!("writer-{i:02}"),
            "v1",
            "",
            &entries,
            &types,
            &now,
        );
        obj = next;
    }
    assert_eq!(entries.len(), 10);
    let ancient = entry(&entries, "ancient-changes");
    assert!(
        ancient
            .fields
            .path_strings()
            .contains(&".data.k0".to_string())
    );
    assert!(
        ancient
            .fields
            .path_strings()
            .contains(&".data.k1".to_string())
    );
    assert!(
        entries
            .iter()
            .all(|e| e.manager != "writer-00" && e.manager != "writer-01")
    );
}

#[test]
fn update_starts_from_the_requests_managed_fields_the_stored_ones_or_none() {
    let (live, entries) = edited_by_kubectl_edit();
    let mut new = strip_mf(&live);
    assert_eq!(
        managed_fields_for_update(&live, &new, ""),
        entries,
        "none sent: stored"
    );
    new["metadata"]["managedFields"] = json!([]);
    assert!(
        managed_fields_for_update(&live, &new, "").is_empty(),
        "[] resets"
    );
    new["metadata"]["managedFields"] = json!([{}]);
    assert!(
        managed_fields_for_update(&live, &new, "").is_empty(),
        "[{{}}] resets"
    );
    new["metadata"]["managedFields"] = json!([{"manager": "x", "operation": "Bad"}]);
    assert_eq!(
        managed_fields_for_update(&live, &new, ""),
        entries,
        "bad: stored"
    );
    let mine = json!([{"manager": "mine", "operation": "Update", "apiVersion": "apps/v1",
                       "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {"f:paused": {}}}}]);
    new["metadata"]["managedFields"] = mine.clone();
    assert_eq!(
        managed_fields_for_update(&live, &new, "")[0].manager,
        "mine"
    );
    assert_eq!(
        managed_fields_for_update(&live, &new, "status"),
        entries,
        "subresource: stored"
    );
}
