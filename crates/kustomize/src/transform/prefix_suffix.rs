//! `namePrefix` and `nameSuffix`.

use crate::resource::Resource;

/// Adds `prefix` and `suffix` to every resource's name (not to CustomResourceDefinitions,
/// APIServices and Namespaces, as kustomize).
pub(crate) fn apply(resources: &mut [Resource], prefix: &str, suffix: &str) {
    if prefix.is_empty() && suffix.is_empty() {
        return;
    }
    for r in resources {
        if matches!(
            r.kind(),
            "CustomResourceDefinition" | "APIService" | "Namespace"
        ) {
            continue;
        }
        let name = format!("{prefix}{}{suffix}", r.name());
        r.set_name(name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn renames_and_remembers_the_old_name() {
        let mut rs = vec![Resource::new(
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"}}),
        )];
        apply(&mut rs, "prod-", "-v2");
        assert_eq!(rs[0].name(), "prod-settings-v2");
        assert!(
            rs[0].had_name("settings"),
            "references to the old name can still be found"
        );
    }
}
