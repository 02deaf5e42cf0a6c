//! Output order: kustomize's legacy kind order, or input order.

use crate::resource::Resource;

/// How to order the output.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Reorder {
    /// Kustomize's legacy order (by kind), the CLI's default.
    #[default]
    Legacy,
    /// Keep input order (`fifo`).
    None,
}

/// Kinds first in the legacy order.
pub(crate) const ORDER_FIRST: &[&str] = &[
    "Namespace",
    "ResourceQuota",
    "StorageClass",
    "CustomResourceDefinition",
    "ServiceAccount",
    "PodSecurityPolicy",
    "Role",
    "ClusterRole",
    "RoleBinding",
    "ClusterRoleBinding",
    "ConfigMap",
    "Secret",
    "Endpoints",
    "Service",
    "LimitRange",
    "PriorityClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "Deployment",
    "StatefulSet",
    "CronJob",
    "PodDisruptionBudget",
];

/// Kinds last in the legacy order.
pub(crate) const ORDER_LAST: &[&str] = &[
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
];

/// Sorts in the legacy order: `first` kinds in order, other kinds, `last` kinds in order;
/// within a rank by group/version/kind, then namespace and name.
pub(crate) fn legacy_sort(resources: &mut [Resource], first: &[String], last: &[String]) {
    let rank = |kind: &str| -> i64 {
        if let Some(i) = first.iter().position(|k| k == kind) {
            return i as i64 - first.len() as i64 - 1;
        }
        if let Some(i) = last.iter().position(|k| k == kind) {
            return i as i64 + 1;
        }
        0
    };
    resources.sort_by(|a, b| {
        let (ia, ib) = (a.id(), b.id());
        rank(&ia.kind)
            .cmp(&rank(&ib.kind))
            .then_with(|| ia.to_string().cmp(&ib.to_string()))
    });
}
