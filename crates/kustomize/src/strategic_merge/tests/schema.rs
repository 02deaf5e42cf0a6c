//! The built-in table and its lookup.

use crate::strategic_merge::{Flavor, PatchStrategy, lookup};

#[test]
fn lookup_by_api_version_and_kind() {
    for flavor in [Flavor::ApiServer, Flavor::Kustomize] {
        assert!(
            lookup("apps/v1", "Deployment", flavor).is_some(),
            "{flavor:?}"
        );
        assert!(lookup("v1", "Pod", flavor).is_some(), "{flavor:?}");
        assert!(lookup("v1", "ConfigMap", flavor).is_some(), "{flavor:?}");
        assert!(
            lookup("example.com/v1", "Widget", flavor).is_none(),
            "{flavor:?}"
        );
        assert!(lookup("apps/v1", "Pod", flavor).is_none(), "{flavor:?}");
        assert!(lookup("", "Deployment", flavor).is_none(), "{flavor:?}");
    }
    assert!(
        lookup(
            "autoscaling/v2",
            "HorizontalPodAutoscaler",
            Flavor::ApiServer
        )
        .is_some()
    );
    assert!(
        lookup(
            "autoscaling/v2",
            "HorizontalPodAutoscaler",
            Flavor::Kustomize
        )
        .is_none()
    );
    assert!(lookup("batch/v1beta1", "CronJob", Flavor::Kustomize).is_some());
    assert!(lookup("batch/v1beta1", "CronJob", Flavor::ApiServer).is_none());
}

#[test]
fn table_entries_carry_their_metadata() {
    let Some(pod) = lookup("v1", "Pod", Flavor::ApiServer) else {
        panic!("no Pod schema");
    };
    let Some(spec) = pod.field("spec") else {
        panic!("no spec");
    };
    assert_eq!(spec.meta.strategy, PatchStrategy::Default);
    let Some(pod_spec) = spec.value else {
        panic!("no PodSpec");
    };
    let Some(volumes) = pod_spec.field("volumes") else {
        panic!("no volumes");
    };
    assert_eq!(volumes.meta.strategy, PatchStrategy::Merge);
    assert_eq!(volumes.meta.merge_key.as_deref(), Some("name"));
    assert!(volumes.meta.retain_keys);
    assert!(volumes.meta.in_kustomize_schema);
    let Some(gates) = pod_spec.field("schedulingGates") else {
        panic!("no schedulingGates");
    };
    assert!(!gates.meta.in_kustomize_schema);
    let Some(containers) = pod_spec.field("containers").and_then(|c| c.value) else {
        panic!("no Container");
    };
    let Some(ports) = containers.field("ports") else {
        panic!("no ports");
    };
    let keys: Vec<&str> = ports
        .meta
        .list_map_keys
        .iter()
        .map(|k| k.as_ref())
        .collect();
    assert_eq!(keys, ["containerPort", "protocol"]);
    assert!(pod_spec.field("tolerations").is_none());
}
