//! The order objects are applied in: stages (cluster definitions, then class
//! definitions, then everything else) and, within a stage, Flux's kind order
//! so that what others depend on (service accounts, config) comes first.

use std::cmp::Ordering;

use crate::object::ObjMeta;

/// Kinds applied first, in this order (as Flux orders them).
const FIRST: &[&str] = &[
    "CustomResourceDefinition",
    "Namespace",
    "ClusterRole",
    "ClusterClass",
    "RuntimeClass",
    "PriorityClass",
    "StorageClass",
    "VolumeSnapshotClass",
    "IngressClass",
    "GatewayClass",
    "ClusterRoleBinding",
    "ResourceQuota",
    "ServiceAccount",
    "Role",
    "RoleBinding",
    "ConfigMap",
    "Secret",
    "Service",
    "LimitRange",
    "Deployment",
    "StatefulSet",
    "CronJob",
    "PodDisruptionBudget",
];

/// Kinds applied last: webhooks could otherwise reject objects of this very set.
const LAST: &[&str] = &[
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
];

/// When in the staged apply an object goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stage {
    /// CRDs, Namespaces, ClusterRoles: applied and waited for first.
    ClusterDefinitions,
    /// Kinds named `...Class` (StorageClass, IngressClass, ...): applied and waited for next.
    ClassDefinitions,
    /// Everything else.
    Resources,
}

/// The stage `obj` belongs to.
pub fn stage_of(obj: &ObjMeta) -> Stage {
    let kind = obj.kind.as_str();
    let cluster_definition = (kind == "CustomResourceDefinition"
        && obj.group == "apiextensions.k8s.io")
        || (kind == "Namespace" && obj.group.is_empty())
        || (kind == "ClusterRole" && obj.group == "rbac.authorization.k8s.io");
    if cluster_definition {
        Stage::ClusterDefinitions
    } else if kind.ends_with("Class") {
        Stage::ClassDefinitions
    } else {
        Stage::Resources
    }
}

fn rank(kind: &str) -> i64 {
    if let Some(i) = FIRST.iter().position(|k| *k == kind) {
        return i as i64 - FIRST.len() as i64;
    }
    if let Some(i) = LAST.iter().position(|k| *k == kind) {
        return 1 + i as i64;
    }
    0
}

/// Apply order: kind rank, then kind name, then namespace, then name.
pub fn apply_order(a: &ObjMeta, b: &ObjMeta) -> Ordering {
    rank(&a.kind)
        .cmp(&rank(&b.kind))
        .then_with(|| a.kind.cmp(&b.kind))
        .then_with(|| a.group.cmp(&b.group))
        .then_with(|| a.namespace.cmp(&b.namespace))
        .then_with(|| a.name.cmp(&b.name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(group: &str, kind: &str, ns: &str, name: &str) -> ObjMeta {
        ObjMeta {
            group: group.into(),
            kind: kind.into(),
            namespace: ns.into(),
            name: name.into(),
            version: "v1".into(),
        }
    }

    #[test]
    fn stages() {
        assert_eq!(
            stage_of(&m(
                "apiextensions.k8s.io",
                "CustomResourceDefinition",
                "",
                "x"
            )),
            Stage::ClusterDefinitions
        );
        assert_eq!(
            stage_of(&m("", "Namespace", "", "x")),
            Stage::ClusterDefinitions
        );
        assert_eq!(
            stage_of(&m("rbac.authorization.k8s.io", "ClusterRole", "", "x")),
            Stage::ClusterDefinitions
        );
        assert_eq!(
            stage_of(&m("storage.k8s.io", "StorageClass", "", "x")),
            Stage::ClassDefinitions
        );
        assert_eq!(stage_of(&m("", "ConfigMap", "a", "x")), Stage::Resources);
        // A custom kind that is only named like a built-in is not a definition.
        assert_eq!(
            stage_of(&m("example.com", "Namespace", "a", "x")),
            Stage::Resources
        );
    }

    #[test]
    fn order_puts_dependencies_first_and_webhooks_last() {
        let mut objs = [
            m(
                "admissionregistration.k8s.io",
                "ValidatingWebhookConfiguration",
                "",
                "v",
            ),
            m("apps", "Deployment", "a", "web"),
            m("example.com", "Widget", "a", "w"),
            m("", "ServiceAccount", "a", "sa"),
            m("", "Namespace", "", "a"),
            m(
                "apiextensions.k8s.io",
                "CustomResourceDefinition",
                "",
                "widgets.example.com",
            ),
            m("", "ConfigMap", "b", "c"),
            m("", "ConfigMap", "a", "c"),
        ];
        objs.sort_by(apply_order);
        let kinds: Vec<String> = objs.iter().map(|o| o.to_string()).collect();
        assert_eq!(
            kinds,
            [
                "CustomResourceDefinition/widgets.example.com",
                "Namespace/a",
                "ServiceAccount/a/sa",
                "ConfigMap/a/c",
                "ConfigMap/b/c",
                "Deployment/a/web",
                "Widget/a/w",
                "ValidatingWebhookConfiguration/v",
            ]
        );
    }
}
