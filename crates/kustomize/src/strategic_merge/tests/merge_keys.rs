//! Every list with a merge strategy in the built-in table merges by its key, in both
//! flavors, with each flavor's element order; lists without one are replaced.

use serde_json::{Map, Value, json};

use super::{BOTH, merged};
use crate::strategic_merge::Flavor;

/// One step from an object to a list: a field, or the element of a keyed list that
/// has `key: value` (the list is built with that one element).
#[derive(Clone, Copy)]
enum Step {
    F(&'static str),
    E(&'static str, &'static str),
}

use Step::{E, F};

/// A merged list of the table.
struct Keyed {
    api_version: &'static str,
    kind: &'static str,
    path: &'static [Step],
    key: &'static str,
    /// Kustomize merges it too (it is in Kubernetes v1.21's schema).
    in_kustomize: bool,
}

const fn keyed(
    api_version: &'static str,
    kind: &'static str,
    path: &'static [Step],
    key: &'static str,
) -> Keyed {
    Keyed {
        api_version,
        kind,
        path,
        key,
        in_kustomize: true,
    }
}

const fn newer(
    api_version: &'static str,
    kind: &'static str,
    path: &'static [Step],
    key: &'static str,
) -> Keyed {
    Keyed {
        api_version,
        kind,
        path,
        key,
        in_kustomize: false,
    }
}

const POD_CONTAINER: &[Step] = &[F("spec"), F("containers"), E("name", "c")];

fn keyed_lists() -> Vec<Keyed> {
    vec![
        // pod spec, in every pod-template holder
        keyed("v1", "Pod", &[F("spec"), F("containers")], "name"),
        keyed("v1", "Pod", &[F("spec"), F("initContainers")], "name"),
        keyed("v1", "Pod", &[F("spec"), F("ephemeralContainers")], "name"),
        keyed("v1", "Pod", &[F("spec"), F("volumes")], "name"),
        keyed("v1", "Pod", &[F("spec"), F("imagePullSecrets")], "name"),
        keyed("v1", "Pod", &[F("spec"), F("hostAliases")], "ip"),
        keyed(
            "v1",
            "Pod",
            &[F("spec"), F("topologySpreadConstraints")],
            "topologyKey",
        ),
        newer("v1", "Pod", &[F("spec"), F("schedulingGates")], "name"),
        newer("v1", "Pod", &[F("spec"), F("resourceClaims")], "name"),
        keyed("v1", "Pod", &[F("status"), F("conditions")], "type"),
        keyed("v1", "Pod", &[F("status"), F("podIPs")], "ip"),
        newer("v1", "Pod", &[F("status"), F("hostIPs")], "ip"),
        newer(
            "v1",
            "Pod",
            &[F("status"), F("resourceClaimStatuses")],
            "name",
        ),
        // containers
        keyed(
            "v1",
            "Pod",
            &[F("spec"), F("containers"), E("name", "c"), F("ports")],
            "containerPort",
        ),
        keyed(
            "v1",
            "Pod",
            &[F("spec"), F("containers"), E("name", "c"), F("env")],
            "name",
        ),
        keyed(
            "v1",
            "Pod",
            &[
                F("spec"),
                F("containers"),
                E("name", "c"),
                F("volumeMounts"),
            ],
            "mountPath",
        ),
        keyed(
            "v1",
            "Pod",
            &[
                F("spec"),
                F("containers"),
                E("name", "c"),
                F("volumeDevices"),
            ],
            "devicePath",
        ),
        keyed(
            "v1",
            "Pod",
            &[F("spec"), F("initContainers"), E("name", "i"), F("env")],
            "name",
        ),
        keyed(
            "v1",
            "Pod",
            &[F("spec"), F("initContainers"), E("name", "i"), F("ports")],
            "containerPort",
        ),
        newer(
            "v1",
            "Pod",
            &[
                F("spec"),
                F("ephemeralContainers"),
                E("name", "e"),
                F("ports"),
            ],
            "containerPort",
        ),
        keyed(
            "v1",
            "Pod",
            &[
                F("spec"),
                F("ephemeralContainers"),
                E("name", "e"),
                F("env"),
            ],
            "name",
        ),
        keyed(
            "v1",
            "Pod",
            &[
                F("spec"),
                F("ephemeralContainers"),
                E("name", "e"),
                F("volumeMounts"),
            ],
            "mountPath",
        ),
        keyed(
            "v1",
            "Pod",
            &[
                F("spec"),
                F("ephemeralContainers"),
                E("name", "e"),
                F("volumeDevices"),
            ],
            "devicePath",
        ),
        keyed(
            "v1",
            "Pod",
            &[
                F("spec"),
                F("volumes"),
                E("name", "v"),
                F("ephemeral"),
                F("volumeClaimTemplate"),
                F("metadata"),
                F("ownerReferences"),
            ],
            "uid",
        ),
        keyed(
            "v1",
            "PodTemplate",
            &[F("template"), F("spec"), F("containers")],
            "name",
        ),
        keyed(
            "v1",
            "PodTemplate",
            &[F("template"), F("metadata"), F("ownerReferences")],
            "uid",
        ),
        keyed(
            "v1",
            "ReplicationController",
            &[F("spec"), F("template"), F("spec"), F("containers")],
            "name",
        ),
        // workloads
        keyed(
            "apps/v1",
            "Deployment",
            &[F("spec"), F("template"), F("spec"), F("containers")],
            "name",
        ),
        keyed(
            "apps/v1",
            "Deployment",
            &[F("spec"), F("template"), F("spec"), F("volumes")],
            "name",
        ),
        keyed(
            "apps/v1",
            "Deployment",
            &[F("status"), F("conditions")],
            "type",
        ),
        keyed(
            "apps/v1",
            "StatefulSet",
            &[F("spec"), F("template"), F("spec"), F("containers")],
            "name",
        ),
        keyed(
            "apps/v1",
            "StatefulSet",
            &[F("status"), F("conditions")],
            "type",
        ),
        keyed(
            "apps/v1",
            "DaemonSet",
            &[F("spec"), F("template"), F("spec"), F("containers")],
            "name",
        ),
        keyed(
            "apps/v1",
            "DaemonSet",
            &[F("status"), F("conditions")],
            "type",
        ),
        keyed(
            "apps/v1",
            "ReplicaSet",
            &[F("spec"), F("template"), F("spec"), F("containers")],
            "name",
        ),
        keyed(
            "apps/v1",
            "ReplicaSet",
            &[F("status"), F("conditions")],
            "type",
        ),
        keyed(
            "batch/v1",
            "Job",
            &[F("spec"), F("template"), F("spec"), F("containers")],
            "name",
        ),
        keyed("batch/v1", "Job", &[F("status"), F("conditions")], "type"),
        keyed(
            "batch/v1",
            "CronJob",
            &[
                F("spec"),
                F("jobTemplate"),
                F("spec"),
                F("template"),
                F("spec"),
                F("initContainers"),
            ],
            "name",
        ),
        keyed(
            "batch/v1",
            "CronJob",
            &[
                F("spec"),
                F("jobTemplate"),
                F("metadata"),
                F("ownerReferences"),
            ],
            "uid",
        ),
        // object metadata, on kinds with and without other strategies
        keyed(
            "v1",
            "ConfigMap",
            &[F("metadata"), F("ownerReferences")],
            "uid",
        ),
        keyed(
            "v1",
            "Secret",
            &[F("metadata"), F("ownerReferences")],
            "uid",
        ),
        keyed(
            "apps/v1",
            "Deployment",
            &[F("metadata"), F("ownerReferences")],
            "uid",
        ),
        keyed(
            "rbac.authorization.k8s.io/v1",
            "ClusterRole",
            &[F("metadata"), F("ownerReferences")],
            "uid",
        ),
        keyed(
            "networking.k8s.io/v1",
            "Ingress",
            &[F("metadata"), F("ownerReferences")],
            "uid",
        ),
        // core kinds
        keyed("v1", "Service", &[F("spec"), F("ports")], "port"),
        keyed("v1", "Service", &[F("status"), F("conditions")], "type"),
        keyed("v1", "ServiceAccount", &[F("secrets")], "name"),
        keyed("v1", "Namespace", &[F("status"), F("conditions")], "type"),
        keyed(
            "v1",
            "PersistentVolumeClaim",
            &[F("status"), F("conditions")],
            "type",
        ),
        keyed("v1", "Node", &[F("status"), F("conditions")], "type"),
        keyed("v1", "Node", &[F("status"), F("addresses")], "type"),
        keyed("v1", "ComponentStatus", &[F("conditions")], "type"),
        // other groups
        keyed(
            "policy/v1",
            "PodDisruptionBudget",
            &[F("status"), F("conditions")],
            "type",
        ),
        keyed(
            "admissionregistration.k8s.io/v1",
            "MutatingWebhookConfiguration",
            &[F("webhooks")],
            "name",
        ),
        keyed(
            "admissionregistration.k8s.io/v1",
            "ValidatingWebhookConfiguration",
            &[F("webhooks")],
            "name",
        ),
        newer(
            "admissionregistration.k8s.io/v1",
            "ValidatingWebhookConfiguration",
            &[F("webhooks"), E("name", "w"), F("matchConditions")],
            "name",
        ),
        newer(
            "admissionregistration.k8s.io/v1",
            "ValidatingAdmissionPolicy",
            &[F("spec"), F("matchConditions")],
            "name",
        ),
        newer(
            "admissionregistration.k8s.io/v1",
            "ValidatingAdmissionPolicy",
            &[F("spec"), F("variables")],
            "name",
        ),
        keyed(
            "storage.k8s.io/v1",
            "CSINode",
            &[F("spec"), F("drivers")],
            "name",
        ),
        keyed(
            "apiregistration.k8s.io/v1",
            "APIService",
            &[F("status"), F("conditions")],
            "type",
        ),
        newer(
            "certificates.k8s.io/v1",
            "CertificateSigningRequest",
            &[F("status"), F("conditions")],
            "type",
        ),
        newer(
            "flowcontrol.apiserver.k8s.io/v1",
            "FlowSchema",
            &[F("status"), F("conditions")],
            "type",
        ),
        newer(
            "networking.k8s.io/v1",
            "ServiceCIDR",
            &[F("status"), F("conditions")],
            "type",
        ),
        newer(
            "autoscaling/v2",
            "HorizontalPodAutoscaler",
            &[F("status"), F("conditions")],
            "type",
        ),
    ]
}

/// Lists without a strategy: replaced whole by both flavors.
fn atomic_lists() -> Vec<(&'static str, &'static str, &'static [Step])> {
    vec![
        ("v1", "Pod", &[F("spec"), F("tolerations")]),
        ("v1", "Pod", &[F("spec"), F("readinessGates")]),
        (
            "v1",
            "Pod",
            &[F("spec"), F("containers"), E("name", "c"), F("envFrom")],
        ),
        (
            "v1",
            "Pod",
            &[F("spec"), F("containers"), E("name", "c"), F("args")],
        ),
        (
            "v1",
            "Pod",
            &[F("spec"), F("containers"), E("name", "c"), F("command")],
        ),
        ("v1", "Pod", &[F("status"), F("containerStatuses")]),
        (
            "apps/v1",
            "StatefulSet",
            &[F("spec"), F("volumeClaimTemplates")],
        ),
        (
            "apps/v1",
            "Deployment",
            &[F("spec"), F("selector"), F("matchExpressions")],
        ),
        ("v1", "ServiceAccount", &[F("imagePullSecrets")]),
        ("v1", "Namespace", &[F("spec"), F("finalizers")]),
        ("v1", "Service", &[F("spec"), F("externalIPs")]),
        ("rbac.authorization.k8s.io/v1", "ClusterRole", &[F("rules")]),
        ("rbac.authorization.k8s.io/v1", "Role", &[F("rules")]),
        (
            "rbac.authorization.k8s.io/v1",
            "RoleBinding",
            &[F("subjects")],
        ),
        (
            "rbac.authorization.k8s.io/v1",
            "ClusterRoleBinding",
            &[F("subjects")],
        ),
        ("networking.k8s.io/v1", "Ingress", &[F("spec"), F("rules")]),
        ("networking.k8s.io/v1", "Ingress", &[F("spec"), F("tls")]),
        (
            "networking.k8s.io/v1",
            "NetworkPolicy",
            &[F("spec"), F("ingress")],
        ),
        (
            "networking.k8s.io/v1",
            "NetworkPolicy",
            &[F("spec"), F("egress")],
        ),
        (
            "v1",
            "PersistentVolumeClaim",
            &[F("spec"), F("accessModes")],
        ),
        ("example.com/v1", "Widget", &[F("spec"), F("containers")]),
        (
            "example.com/v1",
            "Widget",
            &[F("metadata"), F("ownerReferences")],
        ),
    ]
}

/// An object of the kind with `leaf` at the end of `path`.
fn object(api_version: &str, kind: &str, path: &[Step], leaf: Value) -> Value {
    let mut value = leaf;
    for step in path.iter().rev() {
        value = match *step {
            F(name) => {
                let mut m = Map::new();
                m.insert(name.to_owned(), value);
                Value::Object(m)
            }
            E(key, key_value) => {
                let mut m = match value {
                    Value::Object(m) => m,
                    _ => Map::new(),
                };
                m.insert(key.to_owned(), json!(key_value));
                json!([m])
            }
        };
    }
    let mut root = match value {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    root.insert("apiVersion".into(), json!(api_version));
    root.insert("kind".into(), json!(kind));
    root.entry("metadata")
        .or_insert_with(|| json!({}))
        .as_object_mut()
        .map(|m| m.insert("name".into(), json!("x")));
    Value::Object(root)
}

/// The value at `path` (through the single elements of keyed lists).
fn at<'v>(value: &'v Value, path: &[Step]) -> &'v Value {
    let mut v = value;
    for step in path {
        v = match *step {
            F(name) => &v[name],
            E(..) => &v[0],
        };
    }
    v
}

fn element(key: &str, value: &str, extra: &str, extra_value: &str) -> Value {
    json!({key: value, extra: extra_value})
}

#[test]
fn every_keyed_list_merges_by_its_key() {
    for list in keyed_lists() {
        let k = list.key;
        let original = object(
            list.api_version,
            list.kind,
            list.path,
            json!([element(k, "v1", "a", "orig"), element(k, "v2", "a", "orig")]),
        );
        let patch_list = json!([
            element(k, "v2", "b", "patch"),
            element(k, "v3", "b", "patch")
        ]);
        let patch = object(list.api_version, list.kind, list.path, patch_list.clone());
        let v1 = json!({k: "v1", "a": "orig"});
        let v2 = json!({k: "v2", "a": "orig", "b": "patch"});
        let v3 = json!({k: "v3", "b": "patch"});

        let api = merged(Flavor::ApiServer, &original, &patch);
        assert_eq!(
            at(&api, list.path),
            &json!([v1, v2, v3]),
            "API server: {} {} by {k}",
            list.kind,
            describe(list.path)
        );

        let kustomize = merged(Flavor::Kustomize, &original, &patch);
        let expected = if list.in_kustomize {
            json!([v2, v3, v1])
        } else {
            patch_list
        };
        assert_eq!(
            at(&kustomize, list.path),
            &expected,
            "kustomize: {} {} by {k}",
            list.kind,
            describe(list.path)
        );
    }
}

#[test]
fn lists_without_strategy_are_replaced() {
    for (api_version, kind, path) in atomic_lists() {
        let original = object(api_version, kind, path, json!([{"name": "a", "x": 1}, "b"]));
        let patch = object(api_version, kind, path, json!([{"name": "a", "y": 2}]));
        for flavor in BOTH {
            let out = merged(flavor, &original, &patch);
            assert_eq!(
                at(&out, path),
                &json!([{"name": "a", "y": 2}]),
                "{flavor:?}: {kind} {}",
                describe(path)
            );
        }
    }
}

#[test]
fn finalizers_and_pod_cidrs_are_ordered_sets() {
    for (api_version, kind, path) in [
        (
            "apps/v1",
            "Deployment",
            &[F("metadata"), F("finalizers")][..],
        ),
        ("v1", "ConfigMap", &[F("metadata"), F("finalizers")][..]),
        ("v1", "Node", &[F("spec"), F("podCIDRs")][..]),
    ] {
        let original = object(api_version, kind, path, json!(["a", "b", "c"]));
        let patch = object(api_version, kind, path, json!(["c", "d", "a"]));
        // `b` goes first: in the original it came before `c`, the patch's first value.
        assert_eq!(
            at(&merged(Flavor::ApiServer, &original, &patch), path),
            &json!(["b", "c", "d", "a"]),
            "API server: {kind}"
        );
        assert_eq!(
            at(&merged(Flavor::Kustomize, &original, &patch), path),
            &json!(["c", "d", "a", "b"]),
            "kustomize: {kind}"
        );
    }
}

#[test]
fn primitive_set_order_differs_between_flavors() {
    let original = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"finalizers": ["a", "b", "c"]}});
    let patch = json!({"metadata": {"finalizers": ["c", "d"]}});
    let api = merged(Flavor::ApiServer, &original, &patch);
    assert_eq!(api["metadata"]["finalizers"], json!(["a", "b", "c", "d"]));
    let kustomize = merged(Flavor::Kustomize, &original, &patch);
    assert_eq!(
        kustomize["metadata"]["finalizers"],
        json!(["c", "d", "a", "b"])
    );
}

#[test]
fn api_server_interleaves_patch_and_original_order() {
    let original = json!({"apiVersion": "v1", "kind": "Pod", "spec": {"containers": [
        {"name": "a"}, {"name": "b"}, {"name": "c"}
    ]}});
    let patch = json!({"spec": {"containers": [{"name": "new"}, {"name": "b", "image": "b:2"}]}});
    let api = merged(Flavor::ApiServer, &original, &patch);
    assert_eq!(
        api["spec"]["containers"],
        json!([{"name": "new"}, {"name": "a"}, {"name": "b", "image": "b:2"}, {"name": "c"}])
    );
    let kustomize = merged(Flavor::Kustomize, &original, &patch);
    assert_eq!(
        kustomize["spec"]["containers"],
        json!([{"name": "new"}, {"name": "b", "image": "b:2"}, {"name": "a"}, {"name": "c"}])
    );
}

#[test]
fn kustomize_matches_ports_on_port_and_protocol() {
    let original = json!({"apiVersion": "v1", "kind": "Pod", "spec": {"containers": [{"name": "c", "ports": [
        {"containerPort": 8080, "name": "http"},
        {"containerPort": 53, "protocol": "UDP", "name": "dns"}
    ]}]}});
    let patch = json!({"spec": {"containers": [{"name": "c", "ports": [
        {"containerPort": 53, "protocol": "TCP", "name": "dns-tcp"}
    ]}]}});
    let kustomize = merged(Flavor::Kustomize, &original, &patch);
    assert_eq!(
        kustomize["spec"]["containers"][0]["ports"],
        json!([
            {"containerPort": 53, "protocol": "TCP", "name": "dns-tcp"},
            {"containerPort": 8080, "name": "http"},
            {"containerPort": 53, "protocol": "UDP", "name": "dns"}
        ])
    );
    // The API server knows only `containerPort`: the UDP port becomes TCP.
    let api = merged(Flavor::ApiServer, &original, &patch);
    assert_eq!(
        api["spec"]["containers"][0]["ports"],
        json!([
            {"containerPort": 8080, "name": "http"},
            {"containerPort": 53, "protocol": "TCP", "name": "dns-tcp"}
        ])
    );
}

#[test]
fn kustomize_loses_a_protocol_the_original_port_lacks() {
    // kyaml matches the two ports, merges into the patch's copy, then puts the
    // original's (unmerged) element back in its place: a kustomize quirk, kept.
    let original =
        json!({"apiVersion": "v1", "kind": "Service", "spec": {"ports": [{"port": 80}]}});
    let patch = json!({"spec": {"ports": [{"port": 80, "protocol": "TCP", "name": "http"}]}});
    let kustomize = merged(Flavor::Kustomize, &original, &patch);
    assert_eq!(kustomize["spec"]["ports"], json!([{"port": 80}]));
    let api = merged(Flavor::ApiServer, &original, &patch);
    assert_eq!(
        api["spec"]["ports"],
        json!([{"port": 80, "protocol": "TCP", "name": "http"}])
    );
}

#[test]
fn kustomize_collapses_duplicate_keys_of_the_original() {
    let original = json!({"apiVersion": "v1", "kind": "Pod", "spec": {"containers": [
        {"name": "a", "image": "1"}, {"name": "a", "image": "2"}
    ]}});
    let patch = json!({"spec": {"containers": [{"name": "a", "args": ["z"]}]}});
    let kustomize = merged(Flavor::Kustomize, &original, &patch);
    assert_eq!(
        kustomize["spec"]["containers"],
        json!([{"name": "a", "image": "2"}])
    );
}

fn describe(path: &[Step]) -> String {
    path.iter()
        .map(|s| match s {
            F(name) => (*name).to_owned(),
            E(k, v) => format!("[{k}={v}]"),
        })
        .collect::<Vec<_>>()
        .join(".")
}

#[test]
fn pod_container_helper_builds_nested_lists() {
    let o = object("v1", "Pod", POD_CONTAINER, json!({"image": "x"}));
    assert_eq!(
        o["spec"]["containers"],
        json!([{"name": "c", "image": "x"}])
    );
}
