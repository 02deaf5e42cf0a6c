//! `commonAnnotations`: on every resource and on pod templates.

use std::collections::BTreeMap;

use super::{add_pairs, template_meta_paths};
use crate::resource::Resource;

/// Adds `annotations` to every resource's metadata and its pod templates.
pub(crate) fn apply(resources: &mut [Resource], annotations: &BTreeMap<String, String>) {
    for r in resources {
        let kind = r.kind().to_string();
        add_pairs(&mut r.value, "metadata/annotations", true, annotations);
        for p in template_meta_paths(&kind) {
            add_pairs(&mut r.value, &format!("{p}/annotations"), true, annotations);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn adds_to_metadata_and_pod_templates() {
        let mut rs = vec![Resource::new(json!({
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "annotations": {"keep": "1"}},
            "spec": {"template": {"metadata": {"labels": {"app": "web"}}, "spec": {}}}
        }))];
        let ann = BTreeMap::from([("team".to_string(), "a".to_string())]);
        apply(&mut rs, &ann);
        assert_eq!(
            rs[0].value["metadata"]["annotations"],
            json!({"keep": "1", "team": "a"})
        );
        assert_eq!(
            rs[0].value["spec"]["template"]["metadata"]["annotations"]["team"],
            "a"
        );
    }
}
