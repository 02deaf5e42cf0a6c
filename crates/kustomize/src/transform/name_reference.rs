//! Name references: when a resource is renamed (prefix, suffix, content hash), the
//! fields of other resources that refer to it by name follow.

use serde_json::Value;

use super::config::NameRef;
use super::{pod_spec_paths, visit};
use crate::error::BuildError;
use crate::resource::{Resource, is_cluster_scoped};

/// Fields inside a pod spec that name a resource of the given kind.
const POD_SPEC_REFS: &[(&str, &str)] = &[
    ("ConfigMap", "volumes/configMap/name"),
    ("ConfigMap", "volumes/projected/sources/configMap/name"),
    ("ConfigMap", "containers/env/valueFrom/configMapKeyRef/name"),
    (
        "ConfigMap",
        "initContainers/env/valueFrom/configMapKeyRef/name",
    ),
    ("ConfigMap", "containers/envFrom/configMapRef/name"),
    ("ConfigMap", "initContainers/envFrom/configMapRef/name"),
    ("Secret", "volumes/secret/secretName"),
    ("Secret", "volumes/projected/sources/secret/name"),
    ("Secret", "containers/env/valueFrom/secretKeyRef/name"),
    ("Secret", "initContainers/env/valueFrom/secretKeyRef/name"),
    ("Secret", "containers/envFrom/secretRef/name"),
    ("Secret", "initContainers/envFrom/secretRef/name"),
    ("Secret", "imagePullSecrets/name"),
    ("ServiceAccount", "serviceAccountName"),
    (
        "PersistentVolumeClaim",
        "volumes/persistentVolumeClaim/claimName",
    ),
    ("PriorityClass", "priorityClassName"),
];

/// Other fields: (referent kind, referrer kind, path).
const OTHER_REFS: &[(&str, &str, &str)] = &[
    ("Secret", "Ingress", "spec/tls/secretName"),
    ("Secret", "ServiceAccount", "secrets/name"),
    ("Secret", "ServiceAccount", "imagePullSecrets/name"),
    (
        "Service",
        "Ingress",
        "spec/rules/http/paths/backend/serviceName",
    ),
    (
        "Service",
        "Ingress",
        "spec/rules/http/paths/backend/service/name",
    ),
    ("Service", "Ingress", "spec/backend/serviceName"),
    ("Service", "Ingress", "spec/defaultBackend/service/name"),
    ("Service", "StatefulSet", "spec/serviceName"),
    ("Service", "APIService", "spec/service/name"),
    (
        "Service",
        "MutatingWebhookConfiguration",
        "webhooks/clientConfig/service/name",
    ),
    (
        "Service",
        "ValidatingWebhookConfiguration",
        "webhooks/clientConfig/service/name",
    ),
    (
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
        "spec/policyName",
    ),
    (
        "Deployment",
        "HorizontalPodAutoscaler",
        "spec/scaleTargetRef/name",
    ),
    (
        "StatefulSet",
        "HorizontalPodAutoscaler",
        "spec/scaleTargetRef/name",
    ),
    (
        "ReplicaSet",
        "HorizontalPodAutoscaler",
        "spec/scaleTargetRef/name",
    ),
];

struct Referent {
    kind: String,
    names: Vec<String>,
    namespace: String,
    orig_ns: String,
    name: String,
}

/// Namespaces compare with "" meaning `default`.
fn same_ns(a: &str, b: &str) -> bool {
    let norm = |s: &str| {
        if s.is_empty() {
            "default".to_string()
        } else {
            s.to_string()
        }
    };
    norm(a) == norm(b)
}

fn find<'a>(all: &'a [Referent], kind: &str, old: &str, ns: Option<&str>) -> Option<&'a Referent> {
    let cands: Vec<&Referent> = all
        .iter()
        .filter(|r| r.kind == kind && r.names.iter().any(|n| n == old))
        .collect();
    if cands.len() <= 1 && (is_cluster_scoped(kind) || ns.is_none()) {
        return cands.into_iter().next();
    }
    let same_ns: Vec<&Referent> = cands
        .into_iter()
        .filter(|r| is_cluster_scoped(kind) || ns.is_none_or(|ns| same_ns(&r.namespace, ns)))
        .collect();
    if same_ns.len() == 1 {
        same_ns.into_iter().next()
    } else {
        None
    }
}

fn fix(value: &mut Value, path: &str, all: &[Referent], kind: &str, ns: Option<&str>) {
    visit(value, path, false, &mut |v| {
        if let Value::String(s) = v
            && let Some(r) = find(all, kind, s, ns)
        {
            *s = r.name.clone();
        }
    });
}

/// Updates every name reference to a renamed resource.
/// `extra` adds references from `configurations`.
pub(crate) fn apply(resources: &mut [Resource], extra: &[NameRef]) -> Result<(), BuildError> {
    let all: Vec<Referent> = resources
        .iter()
        .map(|r| {
            let id = r.id();
            Referent {
                kind: id.kind,
                names: r.names.clone(),
                namespace: id.namespace,
                orig_ns: r.orig_ns.clone(),
                name: id.name,
            }
        })
        .collect();
    for r in resources.iter_mut() {
        let id = r.id();
        let ns = (!is_cluster_scoped(&id.kind)).then_some(id.namespace.as_str());
        for spec in pod_spec_paths(&id.kind) {
            for (kind, path) in POD_SPEC_REFS {
                fix(&mut r.value, &format!("{spec}/{path}"), &all, kind, ns);
            }
        }
        for nr in extra {
            for spec in &nr.field_specs {
                if spec.applies(r) {
                    fix(&mut r.value, &spec.path, &all, &nr.kind, ns);
                }
            }
        }
        for (kind, referrer, path) in OTHER_REFS {
            if *referrer == id.kind {
                fix(&mut r.value, path, &all, kind, ns);
            }
        }
        if id.kind == "MutatingWebhookConfiguration" || id.kind == "ValidatingWebhookConfiguration"
        {
            let hooks = r.value.get_mut("webhooks").and_then(Value::as_array_mut);
            for hook in hooks.into_iter().flatten() {
                let Some(svc) = hook.pointer_mut("/clientConfig/service") else {
                    continue;
                };
                let name = svc
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                let sns = svc
                    .get("namespace")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                let hits: Vec<&Referent> = all
                    .iter()
                    .filter(|t| {
                        t.kind == "Service"
                            && t.names.contains(&name)
                            && (same_ns(&t.orig_ns, &sns) || same_ns(&t.namespace, &sns))
                    })
                    .collect();
                if let [t] = hits.as_slice() {
                    svc["name"] = Value::String(t.name.clone());
                    if !t.namespace.is_empty() {
                        svc["namespace"] = Value::String(t.namespace.clone());
                    }
                }
            }
        }
        if id.kind == "HorizontalPodAutoscaler" {
            continue;
        }
        if id.kind == "RoleBinding" || id.kind == "ClusterRoleBinding" {
            if let Some(role) = r.value.get_mut("roleRef") {
                let kind = role
                    .get("kind")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                if let Some(Value::String(s)) = role.get_mut("name")
                    && let Some(t) = find(&all, &kind, s, ns)
                {
                    *s = t.name.clone();
                }
            }
            let subjects = r.value.get_mut("subjects").and_then(Value::as_array_mut);
            for s in subjects.into_iter().flatten() {
                if s.get("kind").and_then(Value::as_str) != Some("ServiceAccount") {
                    continue;
                }
                if s.get("namespace")
                    .is_some_and(|n| n.is_null() || n.as_str() == Some(""))
                {
                    return Err(BuildError::Invalid {
                        path: id.to_string(),
                        field: "subjects".into(),
                        message: format!("Invalid Input: namespace is blank for resource {id}"),
                    });
                }
                let sns = s
                    .get("namespace")
                    .and_then(Value::as_str)
                    .map(str::to_string);
                let name = s
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                // A subject names its ServiceAccount by name and namespace, either as
                // loaded or as transformed; it follows both.
                let by_orig: Vec<&Referent> = match sns.as_deref() {
                    Some(sns) => all
                        .iter()
                        .filter(|t| {
                            t.kind == "ServiceAccount"
                                && t.names.contains(&name)
                                && same_ns(&t.orig_ns, sns)
                        })
                        .collect(),
                    None => Vec::new(),
                };
                if let [t] = by_orig.as_slice() {
                    s["name"] = Value::String(t.name.clone());
                    if !t.namespace.is_empty() {
                        s["namespace"] = Value::String(t.namespace.clone());
                    }
                } else if let Some(t) = find(&all, "ServiceAccount", &name, sns.as_deref().or(ns)) {
                    s["name"] = Value::String(t.name.clone());
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn references_follow_renamed_objects() {
        let mut rs = vec![
            Resource::new(
                json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"}}),
            ),
            Resource::new(
                json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "runner"}}),
            ),
            Resource::new(json!({
                "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
                "spec": {"template": {"spec": {
                    "serviceAccountName": "runner",
                    "containers": [{"name": "c", "envFrom": [{"configMapRef": {"name": "settings"}}]}],
                    "volumes": [{"name": "v", "configMap": {"name": "settings"}}, {"name": "w", "configMap": {"name": "other"}}]
                }}}
            })),
        ];
        super::super::prefix_suffix::apply(&mut rs, "p-", "");
        apply(&mut rs, &[]).unwrap();
        let pod = &rs[2].value["spec"]["template"]["spec"];
        assert_eq!(pod["serviceAccountName"], "p-runner");
        assert_eq!(
            pod["containers"][0]["envFrom"][0]["configMapRef"]["name"],
            "p-settings"
        );
        assert_eq!(pod["volumes"][0]["configMap"]["name"], "p-settings");
        assert_eq!(
            pod["volumes"][1]["configMap"]["name"], "other",
            "names of objects not in the build are left alone"
        );
    }
}
