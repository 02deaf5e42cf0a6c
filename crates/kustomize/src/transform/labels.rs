//! `commonLabels` and `labels`: on metadata, selectors and pod templates.

use std::collections::BTreeMap;

use super::{add_pairs, template_meta_paths};
use crate::resource::Resource;

/// Adds `labels` to every resource's metadata; with `selectors` also to selectors
/// (and templates), with `templates` to pod templates.
pub(crate) fn apply(
    resources: &mut [Resource],
    labels: &BTreeMap<String, String>,
    selectors: bool,
    templates: bool,
) {
    if labels.is_empty() {
        return;
    }
    for r in resources {
        let kind = r.kind().to_string();
        let v = &mut r.value;
        add_pairs(v, "metadata/labels", true, labels);
        if selectors || templates {
            for p in template_meta_paths(&kind) {
                add_pairs(v, &format!("{p}/labels"), true, labels);
            }
            if kind == "StatefulSet" && selectors {
                add_pairs(v, "spec/volumeClaimTemplates/metadata/labels", true, labels);
            }
        }
        if !selectors {
            continue;
        }
        match kind.as_str() {
            "Service" | "ReplicationController" => add_pairs(v, "spec/selector", true, labels),
            "Deployment" | "ReplicaSet" | "DaemonSet" | "StatefulSet" => {
                add_pairs(v, "spec/selector/matchLabels", true, labels);
                for aff in ["podAffinity", "podAntiAffinity"] {
                    for p in [
                        "preferredDuringSchedulingIgnoredDuringExecution/podAffinityTerm",
                        "requiredDuringSchedulingIgnoredDuringExecution",
                    ] {
                        add_pairs(
                            v,
                            &format!(
                                "spec/template/spec/affinity/{aff}/{p}/labelSelector/matchLabels"
                            ),
                            false,
                            labels,
                        );
                    }
                }
                add_pairs(
                    v,
                    "spec/template/spec/topologySpreadConstraints/labelSelector/matchLabels",
                    false,
                    labels,
                );
            }
            "Job" => add_pairs(v, "spec/selector/matchLabels", false, labels),
            "CronJob" => add_pairs(
                v,
                "spec/jobTemplate/spec/selector/matchLabels",
                false,
                labels,
            ),
            "PodDisruptionBudget" => add_pairs(v, "spec/selector/matchLabels", false, labels),
            "NetworkPolicy" => {
                add_pairs(v, "spec/podSelector/matchLabels", false, labels);
                add_pairs(
                    v,
                    "spec/ingress/from/podSelector/matchLabels",
                    false,
                    labels,
                );
                add_pairs(v, "spec/egress/to/podSelector/matchLabels", false, labels);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment() -> Resource {
        Resource::new(json!({
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
            "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": {"metadata": {"labels": {"app": "web"}}, "spec": {}}}
        }))
    }

    #[test]
    fn common_labels_reach_selectors_and_templates() {
        let mut rs = vec![
            deployment(),
            Resource::new(
                json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"}, "spec": {"selector": {"app": "web"}}}),
            ),
        ];
        let l = BTreeMap::from([("env".to_string(), "prod".to_string())]);
        apply(&mut rs, &l, true, true);
        assert_eq!(rs[0].value["metadata"]["labels"]["env"], "prod");
        assert_eq!(
            rs[0].value["spec"]["selector"]["matchLabels"],
            json!({"app": "web", "env": "prod"})
        );
        assert_eq!(
            rs[0].value["spec"]["template"]["metadata"]["labels"]["env"],
            "prod"
        );
        assert_eq!(
            rs[1].value["spec"]["selector"],
            json!({"app": "web", "env": "prod"})
        );
    }

    #[test]
    fn labels_without_selectors_leave_selectors_alone() {
        let mut rs = vec![deployment()];
        let l = BTreeMap::from([("env".to_string(), "prod".to_string())]);
        apply(&mut rs, &l, false, false);
        assert_eq!(rs[0].value["metadata"]["labels"]["env"], "prod");
        assert_eq!(
            rs[0].value["spec"]["selector"]["matchLabels"],
            json!({"app": "web"})
        );
        assert!(
            rs[0].value["spec"]["template"]["metadata"]["labels"]
                .get("env")
                .is_none()
        );
    }
}
