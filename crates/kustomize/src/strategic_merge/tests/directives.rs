//! Each directive, in each flavor, with literal expected outputs.

use serde_json::{Value, json};

use super::{BOTH, merge_error, merged};
use crate::strategic_merge::{Flavor, StrategicMergeError};

fn deployment() -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "labels": {"app": "web"}, "finalizers": ["a", "b", "c"]},
        "spec": {
            "replicas": 2,
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}},
            "template": {"spec": {
                "containers": [
                    {"name": "app", "image": "app:1", "env": [{"name": "A", "value": "1"}]},
                    {"name": "sidecar", "image": "sidecar:1"}
                ],
                "securityContext": {"runAsUser": 1000, "fsGroup": 2000}
            }}
        }
    })
}

fn containers(v: &Value) -> &Value {
    &v["spec"]["template"]["spec"]["containers"]
}

#[test]
fn replace_on_a_map() {
    let patch = json!({"spec": {"strategy": {"$patch": "replace", "type": "Recreate"}}});
    for flavor in BOTH {
        let out = merged(flavor, &deployment(), &patch);
        assert_eq!(
            out["spec"]["strategy"],
            json!({"type": "Recreate"}),
            "{flavor:?}"
        );
        assert_eq!(out["spec"]["replicas"], json!(2), "{flavor:?}");
    }
}

#[test]
fn replace_on_a_new_map_keeps_its_fields() {
    let patch = json!({"spec": {"template": {"spec": {"dnsConfig": {"$patch": "replace", "options": [{"name": "ndots"}]}}}}});
    for flavor in BOTH {
        let out = merged(flavor, &deployment(), &patch);
        assert_eq!(
            out["spec"]["template"]["spec"]["dnsConfig"],
            json!({"options": [{"name": "ndots"}]}),
            "{flavor:?}"
        );
    }
}

#[test]
fn delete_on_a_map() {
    let patch = json!({"spec": {"strategy": {"$patch": "delete"}}});
    let api = merged(Flavor::ApiServer, &deployment(), &patch);
    assert_eq!(api["spec"]["strategy"], json!({}));
    let kustomize = merged(Flavor::Kustomize, &deployment(), &patch);
    assert!(kustomize["spec"].get("strategy").is_none());
    assert_eq!(kustomize["spec"]["replicas"], json!(2));
}

#[test]
fn delete_on_a_new_map_adds_nothing() {
    let patch = json!({"spec": {"paused": true, "minReadySeconds": 1, "progress": {"$patch": "delete", "x": 1}}});
    for flavor in BOTH {
        let out = merged(flavor, &deployment(), &patch);
        assert!(out["spec"].get("progress").is_none(), "{flavor:?}");
        assert_eq!(out["spec"]["paused"], json!(true));
    }
}

#[test]
fn delete_at_the_top() {
    let patch = json!({"$patch": "delete"});
    assert_eq!(merged(Flavor::ApiServer, &deployment(), &patch), json!({}));
    assert_eq!(
        merged(Flavor::Kustomize, &deployment(), &patch),
        Value::Null
    );
}

#[test]
fn merge_directive_is_the_default() {
    let patch = json!({"spec": {
        "strategy": {"$patch": "merge", "rollingUpdate": {"maxUnavailable": 0}},
        "template": {"spec": {"containers": [{"name": "app", "image": "app:2", "$patch": "merge"}]}}
    }});
    for flavor in BOTH {
        let out = merged(flavor, &deployment(), &patch);
        assert_eq!(
            out["spec"]["strategy"],
            json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}),
            "{flavor:?}"
        );
        assert_eq!(containers(&out)[0]["image"], json!("app:2"), "{flavor:?}");
        assert_eq!(
            containers(&out).as_array().map(Vec::len),
            Some(2),
            "{flavor:?}"
        );
    }
    let marker = json!({"spec": {"template": {"spec": {"containers": [{"$patch": "merge"}, {"name": "app", "image": "app:3"}]}}}});
    for flavor in BOTH {
        let out = merged(flavor, &deployment(), &marker);
        assert_eq!(containers(&out)[0]["image"], json!("app:3"), "{flavor:?}");
    }
}

#[test]
fn replace_marker_replaces_a_list() {
    let patch = json!({"spec": {"template": {"spec": {"containers": [
        {"$patch": "replace"},
        {"name": "only", "image": "only:1"}
    ]}}}});
    for flavor in BOTH {
        let out = merged(flavor, &deployment(), &patch);
        assert_eq!(
            containers(&out),
            &json!([{"name": "only", "image": "only:1"}]),
            "{flavor:?}"
        );
    }
}

#[test]
fn replace_marker_in_a_new_list_is_carried_out() {
    let patch = json!({"spec": {"template": {"spec": {"initContainers": [
        {"name": "init"}, {"$patch": "replace"}
    ]}}}});
    for flavor in BOTH {
        let out = merged(flavor, &deployment(), &patch);
        assert_eq!(
            out["spec"]["template"]["spec"]["initContainers"],
            json!([{"name": "init"}]),
            "{flavor:?}"
        );
    }
}

#[test]
fn delete_element_by_merge_key() {
    let patch = json!({"spec": {"template": {"spec": {"containers": [
        {"name": "sidecar", "$patch": "delete"},
        {"name": "absent", "$patch": "delete"}
    ]}}}});
    for flavor in BOTH {
        let out = merged(flavor, &deployment(), &patch);
        assert_eq!(
            containers(&out),
            &json!([{"name": "app", "image": "app:1", "env": [{"name": "A", "value": "1"}]}]),
            "{flavor:?}"
        );
    }
}

#[test]
fn delete_marker_alone() {
    let patch = json!({"spec": {"template": {"spec": {"containers": [{"$patch": "delete"}]}}}});
    // kustomize drops the list; the API server needs a merge key to know what to delete.
    let kustomize = merged(Flavor::Kustomize, &deployment(), &patch);
    assert!(
        kustomize["spec"]["template"]["spec"]
            .get("containers")
            .is_none()
    );
    assert_eq!(
        merge_error(Flavor::ApiServer, &deployment(), &patch),
        StrategicMergeError::MissingMergeKey {
            path: "spec.template.spec.containers".into(),
            key: "name".into()
        }
    );
}

#[test]
fn replace_on_an_element() {
    let patch = json!({"spec": {"template": {"spec": {"containers": [
        {"name": "app", "image": "app:9", "$patch": "replace"},
        {"name": "extra"}
    ]}}}});
    // The API server replaces the whole list with the patch's other elements.
    let api = merged(Flavor::ApiServer, &deployment(), &patch);
    assert_eq!(containers(&api), &json!([{"name": "extra"}]));
    // kustomize merges the element into nothing and keeps the original one.
    let kustomize = merged(Flavor::Kustomize, &deployment(), &patch);
    assert_eq!(
        containers(&kustomize),
        &json!([
            {"name": "app", "image": "app:1", "env": [{"name": "A", "value": "1"}]},
            {"name": "extra"},
            {"name": "sidecar", "image": "sidecar:1"}
        ])
    );
}

#[test]
fn delete_from_primitive_list() {
    let patch = json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["b", "zzz"]}});
    for flavor in BOTH {
        let out = merged(flavor, &deployment(), &patch);
        assert_eq!(
            out["metadata"]["finalizers"],
            json!(["a", "c"]),
            "{flavor:?}"
        );
    }
}

#[test]
fn delete_from_primitive_list_before_additions() {
    let patch = json!({"metadata": {
        "$deleteFromPrimitiveList/finalizers": ["a", "d"],
        "finalizers": ["d"]
    }});
    for flavor in BOTH {
        let out = merged(flavor, &deployment(), &patch);
        let finalizers = out["metadata"]["finalizers"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert!(
            finalizers.contains(&json!("d")),
            "{flavor:?}: {finalizers:?}"
        );
        assert!(
            !finalizers.contains(&json!("a")),
            "{flavor:?}: {finalizers:?}"
        );
    }
}

#[test]
fn set_element_order_of_a_keyed_list() {
    let patch = json!({"spec": {"template": {"spec": {
        "$setElementOrder/containers": [{"name": "sidecar"}, {"name": "new"}, {"name": "app"}],
        "containers": [{"name": "new", "image": "new:1"}]
    }}}});
    for flavor in BOTH {
        let out = merged(flavor, &deployment(), &patch);
        let names: Vec<&Value> = containers(&out)
            .as_array()
            .map(|cs| cs.iter().map(|c| &c["name"]).collect())
            .unwrap_or_default();
        assert_eq!(
            names,
            [&json!("sidecar"), &json!("new"), &json!("app")],
            "{flavor:?}"
        );
    }
}

#[test]
fn set_element_order_of_a_primitive_list() {
    let patch = json!({"metadata": {
        "$setElementOrder/finalizers": ["c", "a", "d"],
        "finalizers": ["d"]
    }});
    for flavor in BOTH {
        let out = merged(flavor, &deployment(), &patch);
        // `b` is not in the order list and keeps its place before `c` of the original.
        assert_eq!(
            out["metadata"]["finalizers"],
            json!(["b", "c", "a", "d"]),
            "{flavor:?}"
        );
    }
}

#[test]
fn set_element_order_must_agree_with_the_patch() {
    let patch = json!({"spec": {"template": {"spec": {
        "$setElementOrder/containers": [{"name": "app"}, {"name": "sidecar"}],
        "containers": [{"name": "sidecar"}, {"name": "app"}]
    }}}});
    for flavor in BOTH {
        assert_eq!(
            merge_error(flavor, &deployment(), &patch),
            StrategicMergeError::SetElementOrderMismatch {
                path: "spec.template.spec.containers".into()
            },
            "{flavor:?}"
        );
    }
}

#[test]
fn retain_keys_drops_unlisted_fields() {
    let patch = json!({"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}});
    for flavor in BOTH {
        let out = merged(flavor, &deployment(), &patch);
        assert_eq!(
            out["spec"]["strategy"],
            json!({"type": "Recreate"}),
            "{flavor:?}"
        );
    }
}

#[test]
fn retain_keys_must_list_the_patched_fields() {
    let patch =
        json!({"spec": {"strategy": {"$retainKeys": ["type"], "rollingUpdate": {"maxSurge": 2}}}});
    for flavor in BOTH {
        assert_eq!(
            merge_error(flavor, &deployment(), &patch),
            StrategicMergeError::NotInRetainKeys {
                path: "spec.strategy".into(),
                field: "rollingUpdate".into()
            },
            "{flavor:?}"
        );
    }
}

#[test]
fn unknown_directive_names_its_path() {
    let cases = [
        (
            json!({"spec": {"strategy": {"$patch": "explode"}}}),
            "spec.strategy",
        ),
        (
            json!({"spec": {"template": {"spec": {"containers": [{"$patch": "explode"}]}}}}),
            "spec.template.spec.containers",
        ),
        (
            json!({"spec": {"template": {"spec": {"containers": [{"name": "app", "$patch": "explode"}]}}}}),
            "spec.template.spec.containers",
        ),
        (
            json!({"spec": {"newField": {"$patch": 3}}}),
            "spec.newField",
        ),
    ];
    for (patch, path) in cases {
        for flavor in BOTH {
            let err = merge_error(flavor, &deployment(), &patch);
            match &err {
                StrategicMergeError::UnknownDirective { path: p, .. } => {
                    assert!(p.starts_with(path), "{flavor:?}: {err}");
                }
                other => panic!("{flavor:?}: unexpected {other}"),
            }
            assert!(err.to_string().contains("$patch"), "{err}");
        }
    }
}

#[test]
fn malformed_directive_keys() {
    for flavor in BOTH {
        let err = merge_error(
            flavor,
            &deployment(),
            &json!({"metadata": {"$setElementOrder": []}}),
        );
        assert_eq!(
            err,
            StrategicMergeError::MalformedDirectiveKey {
                path: "metadata".into(),
                key: "$setElementOrder".into()
            }
        );
        let err = merge_error(
            flavor,
            &deployment(),
            &json!({"metadata": {"$deleteFromPrimitiveList/finalizers": "a"}}),
        );
        assert_eq!(
            err,
            StrategicMergeError::DirectiveNotAList {
                path: "metadata".into(),
                directive: "$deleteFromPrimitiveList/finalizers".into()
            }
        );
        let err = merge_error(
            flavor,
            &deployment(),
            &json!({"metadata": {"$deleteFromPrimitiveList/finalizers": [{"a": 1}]}}),
        );
        assert!(matches!(
            err,
            StrategicMergeError::DeleteFromNonPrimitiveList { .. }
        ));
    }
}

#[test]
fn directives_inside_replaced_lists_are_carried_out() {
    let original = json!({"apiVersion": "example.com/v1", "kind": "Widget", "spec": {"items": [{"name": "x"}]}});
    let patch = json!({"spec": {"items": [
        {"name": "a", "$patch": "delete"},
        {"$patch": "replace"},
        {"name": "b", "sub": {"$patch": "replace", "k": 1}}
    ]}});
    for flavor in BOTH {
        let out = merged(flavor, &original, &patch);
        assert_eq!(
            out["spec"]["items"],
            json!([{"name": "b", "sub": {"k": 1}}]),
            "{flavor:?}"
        );
    }
}

#[test]
fn null_deletes_and_is_never_added() {
    let patch = json!({
        "metadata": {"labels": {"app": null, "new": null}},
        "spec": {"replicas": null, "template": {"spec": {
            "containers": [{"name": "new", "image": null, "env": [{"name": "X", "value": null}]}],
            "securityContext": null
        }}}
    });
    for flavor in BOTH {
        let out = merged(flavor, &deployment(), &patch);
        assert_eq!(out["metadata"]["labels"], json!({}), "{flavor:?}");
        assert!(out["spec"].get("replicas").is_none(), "{flavor:?}");
        assert!(
            out["spec"]["template"]["spec"]
                .get("securityContext")
                .is_none(),
            "{flavor:?}"
        );
        let new = containers(&out)
            .as_array()
            .and_then(|cs| cs.iter().find(|c| c["name"] == "new"))
            .cloned();
        assert_eq!(
            new,
            Some(json!({"name": "new", "env": [{"name": "X"}]})),
            "{flavor:?}"
        );
    }
}

#[test]
fn original_nulls_survive_untouched() {
    let original = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"creationTimestamp": null}, "data": {"a": "1"}});
    let patch = json!({"data": {"b": "2"}});
    for flavor in BOTH {
        let out = merged(flavor, &original, &patch);
        assert_eq!(
            out["metadata"],
            json!({"creationTimestamp": null}),
            "{flavor:?}"
        );
    }
}
