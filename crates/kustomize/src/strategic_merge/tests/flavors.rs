//! Where the flavors part ways, and the errors.

use serde_json::json;

use super::{BOTH, merge_error, merged};
use crate::strategic_merge::{Flavor, StrategicMergeError, strategic_merge};

#[test]
fn map_onto_list_or_scalar() {
    let original = json!({"apiVersion": "v1", "kind": "Pod", "spec": {"tolerations": [{"key": "a"}], "hostname": "h"}});
    let onto_list = json!({"spec": {"tolerations": {"key": "b"}}});
    let onto_scalar = json!({"spec": {"hostname": {"name": "h"}}});
    let api = merged(Flavor::ApiServer, &original, &onto_list);
    assert_eq!(api["spec"]["tolerations"], json!({"key": "b"}));
    let api = merged(Flavor::ApiServer, &original, &onto_scalar);
    assert_eq!(api["spec"]["hostname"], json!({"name": "h"}));
    assert_eq!(
        merge_error(Flavor::Kustomize, &original, &onto_list),
        StrategicMergeError::KindMismatch {
            path: "spec.tolerations".into(),
            expected: "a list",
            side: "patch",
            found: "a map"
        }
    );
    assert_eq!(
        merge_error(Flavor::Kustomize, &original, &onto_scalar),
        StrategicMergeError::KindMismatch {
            path: "spec.hostname".into(),
            expected: "a scalar",
            side: "patch",
            found: "a map"
        }
    );
}

#[test]
fn scalar_over_null_and_null_over_anything() {
    let original = json!({"apiVersion": "v1", "kind": "ConfigMap", "data": {"a": null, "b": {"x": 1}, "c": [1]}});
    let patch = json!({"data": {"a": "set", "b": null, "c": null}});
    for flavor in BOTH {
        assert_eq!(
            merged(flavor, &original, &patch)["data"],
            json!({"a": "set"}),
            "{flavor:?}"
        );
    }
}

#[test]
fn pdb_selector_is_replaced_only_by_the_api_server() {
    let original = json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
        "spec": {"selector": {"matchLabels": {"app": "a"}}}});
    let patch = json!({"spec": {"selector": {"matchLabels": {"tier": "b"}}}});
    assert_eq!(
        merged(Flavor::ApiServer, &original, &patch)["spec"]["selector"],
        json!({"matchLabels": {"tier": "b"}})
    );
    assert_eq!(
        merged(Flavor::Kustomize, &original, &patch)["spec"]["selector"],
        json!({"matchLabels": {"app": "a", "tier": "b"}})
    );
}

#[test]
fn kustomize_knows_only_the_versions_of_kubernetes_1_21() {
    for (api_version, kind) in [
        ("autoscaling/v2", "HorizontalPodAutoscaler"),
        ("apps/v1beta2", "Deployment"),
        ("example.com/v1", "Widget"),
    ] {
        let original =
            json!({"apiVersion": api_version, "kind": kind, "metadata": {"finalizers": ["a"]}});
        let patch = json!({"metadata": {"finalizers": ["b"]}});
        let out = merged(Flavor::Kustomize, &original, &patch);
        assert_eq!(
            out["metadata"]["finalizers"],
            json!(["b"]),
            "{api_version} {kind}"
        );
    }
    let original = json!({"apiVersion": "batch/v1beta1", "kind": "CronJob", "metadata": {"finalizers": ["a"]}});
    let patch = json!({"metadata": {"finalizers": ["b"]}});
    assert_eq!(
        merged(Flavor::Kustomize, &original, &patch)["metadata"]["finalizers"],
        json!(["b", "a"])
    );
}

#[test]
fn kustomize_finds_the_schema_of_embedded_built_in_objects() {
    let original = json!({"apiVersion": "example.com/v1", "kind": "Wrapper", "spec": {"object": {
        "apiVersion": "v1", "kind": "Pod", "spec": {"containers": [{"name": "a"}]}
    }}});
    let patch = json!({"spec": {"object": {"apiVersion": "v1", "kind": "Pod", "spec": {"containers": [{"name": "b"}]}}}});
    assert_eq!(
        merged(Flavor::Kustomize, &original, &patch)["spec"]["object"]["spec"]["containers"],
        json!([{"name": "b"}, {"name": "a"}])
    );
    assert_eq!(
        merged(Flavor::ApiServer, &original, &patch)["spec"]["object"]["spec"]["containers"],
        json!([{"name": "b"}])
    );
}

#[test]
fn kustomize_empties_a_list_for_an_element_without_key() {
    let original = json!({"apiVersion": "v1", "kind": "Pod", "spec": {"containers": [{"name": "a"}, {"name": "b"}]}});
    let patch = json!({"spec": {"containers": [{"image": "nameless"}]}});
    assert_eq!(
        merged(Flavor::Kustomize, &original, &patch)["spec"]["containers"],
        json!([])
    );
    assert_eq!(
        merge_error(Flavor::ApiServer, &original, &patch),
        StrategicMergeError::MissingMergeKey {
            path: "spec.containers".into(),
            key: "name".into()
        }
    );
}

#[test]
fn api_server_list_type_errors() {
    let original = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"finalizers": ["a"]},
        "spec": {"containers": [{"name": "a"}]}});
    assert_eq!(
        merge_error(
            Flavor::ApiServer,
            &original,
            &json!({"metadata": {"finalizers": [{"x": 1}]}})
        ),
        StrategicMergeError::MixedListElements {
            path: "metadata.finalizers".into()
        }
    );
    assert_eq!(
        merge_error(
            Flavor::ApiServer,
            &original,
            &json!({"metadata": {"finalizers": [["x"]]}})
        ),
        StrategicMergeError::ListOfLists {
            path: "metadata.finalizers".into()
        }
    );
}

#[test]
fn schema_less_lists_of_maps_cannot_merge_by_key_without_a_key() {
    // A merge strategy without a merge key on a list of maps (a schema mistake).
    let original = json!({"apiVersion": "v1", "kind": "Node", "spec": {"podCIDRs": [{"a": 1}]}});
    let patch = json!({"spec": {"podCIDRs": [{"b": 2}]}});
    assert_eq!(
        merge_error(Flavor::ApiServer, &original, &patch),
        StrategicMergeError::NoMergeKey {
            path: "spec.podCIDRs".into()
        }
    );
}

#[test]
fn inputs_must_be_objects() {
    for flavor in BOTH {
        assert_eq!(
            strategic_merge(&json!([]), &json!({}), None, flavor),
            Err(StrategicMergeError::NotAnObject { which: "original" })
        );
        assert_eq!(
            strategic_merge(&json!({}), &json!("x"), None, flavor),
            Err(StrategicMergeError::NotAnObject { which: "patch" })
        );
    }
}

#[test]
fn without_schema_maps_merge_and_lists_are_replaced() {
    let original = json!({"a": {"x": 1, "list": [1, 2]}, "keep": true});
    let patch = json!({"a": {"y": 2, "list": [3]}, "b": {"$patch": "delete"}});
    for flavor in BOTH {
        assert_eq!(
            strategic_merge(&original, &patch, None, flavor),
            Ok(json!({"a": {"x": 1, "y": 2, "list": [3]}, "keep": true})),
            "{flavor:?}"
        );
    }
}

#[test]
fn inputs_are_left_alone() {
    let original =
        json!({"apiVersion": "v1", "kind": "Pod", "spec": {"containers": [{"name": "a"}]}});
    let patch = json!({"spec": {"containers": [{"name": "a", "$patch": "delete"}]}});
    let (o, p) = (original.clone(), patch.clone());
    for flavor in BOTH {
        merged(flavor, &original, &patch);
    }
    assert_eq!((original, patch), (o, p));
}

#[test]
fn error_paths_name_list_elements() {
    let original = json!({"apiVersion": "v1", "kind": "Pod", "spec": {"containers": [{"name": "web", "ports": [{"containerPort": 80}]}]}});
    let patch = json!({"spec": {"containers": [{"name": "web", "ports": [{"protocol": "TCP"}]}]}});
    assert_eq!(
        merge_error(Flavor::ApiServer, &original, &patch),
        StrategicMergeError::MissingMergeKey {
            path: "spec.containers[name=web].ports".into(),
            key: "containerPort".into()
        }
    );
    let patch =
        json!({"spec": {"containers": [{"name": "web", "securityContext": {"$patch": "nope"}}]}});
    for flavor in BOTH {
        let err = merge_error(flavor, &original, &patch);
        assert_eq!(
            err.to_string(),
            "spec.containers[name=web].securityContext: unknown patch directive `$patch: nope`; expected replace, delete or merge",
            "{flavor:?}"
        );
    }
}
