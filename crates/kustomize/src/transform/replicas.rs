//! `replicas`: set the replica count of named workloads.

use serde_json::Value;

use super::config::FieldSpec;
use crate::kustomization::Replica;
use crate::resource::Resource;

/// Sets `spec.replicas` of the workloads named in `replicas` (and the fields of
/// `specs` from `configurations`).
pub(crate) fn apply(resources: &mut [Resource], replicas: &[Replica], specs: &[FieldSpec]) {
    for rep in replicas {
        for r in resources.iter_mut() {
            if !r.had_name(&rep.name) {
                continue;
            }
            let applicable: Vec<FieldSpec> =
                specs.iter().filter(|s| s.applies(r)).cloned().collect();
            for spec in applicable {
                super::visit(&mut r.value, &spec.path, spec.create, &mut |v| {
                    *v = Value::from(rep.count)
                });
            }
            if !matches!(
                r.kind(),
                "Deployment" | "ReplicaSet" | "StatefulSet" | "ReplicationController"
            ) {
                continue;
            }
            if let Some(obj) = r.value.as_object_mut() {
                let spec = obj
                    .entry("spec")
                    .or_insert_with(|| Value::Object(Default::default()));
                if let Value::Object(s) = spec {
                    s.insert("replicas".into(), Value::from(rep.count));
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
    fn sets_replicas_of_named_workloads_only() {
        let mut rs = vec![
            Resource::new(
                json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": {"replicas": 1}}),
            ),
            Resource::new(
                json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "api"}, "spec": {"replicas": 1}}),
            ),
        ];
        apply(
            &mut rs,
            &[Replica {
                name: "web".into(),
                count: 5,
            }],
            &[],
        );
        assert_eq!(rs[0].value["spec"]["replicas"], 5);
        assert_eq!(rs[1].value["spec"]["replicas"], 1);
    }
}
