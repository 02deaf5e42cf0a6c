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
