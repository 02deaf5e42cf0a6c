//! `namespace`: set on every namespaced resource.

use serde_json::Value;

use crate::resource::{Resource, is_cluster_scoped};

/// Sets `namespace` on every namespaced resource, and on RoleBinding/ClusterRoleBinding
/// subjects that are ServiceAccounts of the old namespace (or named `default`).
pub(crate) fn apply(resources: &mut [Resource], namespace: &str) {
    for r in resources {
        let kind = r.kind().to_string();
        let old = r.id().namespace;
        let core_namespace = kind == "Namespace" && r.id().group.is_empty();
        if (!is_cluster_scoped(&kind) || (kind == "Namespace" && !core_namespace))
            && let Some(m) = r.value.get_mut("metadata").and_then(Value::as_object_mut)
        {
            m.insert("namespace".into(), Value::String(namespace.to_string()));
        }
        // Services named by cluster-scoped objects follow (as kustomize's field specs).
        let service_ns = match kind.as_str() {
            "CustomResourceDefinition" => {
                Some("spec/conversion/webhook/clientConfig/service/namespace")
            }
            "APIService" => Some("spec/service/namespace"),
            _ => None,
        };
        if let Some(path) = service_ns {
            super::visit(&mut r.value, path, false, &mut |v| {
                *v = Value::String(namespace.to_string());
            });
        }
        if kind == "RoleBinding" || kind == "ClusterRoleBinding" {
            let subjects = r.value.get_mut("subjects").and_then(Value::as_array_mut);
            for s in subjects.into_iter().flatten() {
                if s.get("kind").and_then(Value::as_str) != Some("ServiceAccount") {
                    continue;
                }
                let sns = s.get("namespace").and_then(Value::as_str).unwrap_or("");
                let name = s.get("name").and_then(Value::as_str).unwrap_or("");
                if name == "default" || (!old.is_empty() && sns == old) {
                    s["namespace"] = Value::String(namespace.to_string());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sets_namespaced_objects_and_service_account_subjects_only() {
        let mut rs = vec![
            Resource::new(
                json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "old"}}),
            ),
            Resource::new(
                json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "r"}}),
            ),
            Resource::new(
                json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "b", "namespace": "old"},
                "subjects": [{"kind": "ServiceAccount", "name": "sa", "namespace": "old"}, {"kind": "User", "name": "u"}]}),
            ),
        ];
        apply(&mut rs, "prod");
        assert_eq!(rs[0].value["metadata"]["namespace"], "prod");
        assert!(
            rs[1].value["metadata"].get("namespace").is_none(),
            "cluster-scoped kinds stay unnamespaced"
        );
        assert_eq!(rs[2].value["metadata"]["namespace"], "prod");
        assert_eq!(
            rs[2].value["subjects"][0]["namespace"], "prod",
            "service accounts of the old namespace follow"
        );
        assert!(
            rs[2].value["subjects"][1].get("namespace").is_none(),
            "users are left alone"
        );
    }
}
