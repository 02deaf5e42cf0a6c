//! What drift detection compares: the release's objects minus those that
//! opted out (`helm.toolkit.fluxcd.io/driftDetection: disabled`) and minus
//! the fields `spec.driftDetection.ignore` names (JSON pointers, optionally
//! for the objects a kustomize-style selector picks).

use ferroflux_api::helm::v2::{DRIFT_DETECTION_DISABLED, DRIFT_DETECTION_METADATA_KEY, IgnoreRule};
use ferroflux_api::meta::Selector;
use serde_json::Value;

/// Whether the object opted out of drift detection (annotation or label).
pub fn opted_out(obj: &Value) -> bool {
    ["annotations", "labels"].iter().any(|field| {
        obj.pointer(&format!("/metadata/{field}"))
            .and_then(|m| m.get(DRIFT_DETECTION_METADATA_KEY))
            .and_then(Value::as_str)
            == Some(DRIFT_DETECTION_DISABLED)
    })
}

fn matches_regex(pattern: Option<&String>, value: &str) -> bool {
    let Some(p) = pattern.filter(|p| !p.is_empty()) else {
        return true;
    };
    match regex::Regex::new(&format!("^(?:{p})$")) {
        Ok(re) => re.is_match(value),
        Err(_) => false,
    }
}

/// `k=v`, `k!=v` and `k` terms, comma-separated, against `map`.
fn matches_labels(selector: Option<&String>, map: Option<&Value>) -> bool {
    let Some(sel) = selector.filter(|s| !s.trim().is_empty()) else {
        return true;
    };
    let get = |k: &str| map.and_then(|m| m.get(k)).and_then(Value::as_str);
    sel.split(',').map(str::trim).all(|term| {
        if let Some((k, v)) = term.split_once("!=") {
            get(k.trim()) != Some(v.trim())
        } else if let Some((k, v)) = term.split_once("==").or_else(|| term.split_once('=')) {
            get(k.trim()) == Some(v.trim())
        } else if let Some(k) = term.strip_prefix('!') {
            get(k.trim()).is_none()
        } else {
            get(term).is_some()
        }
    })
}

/// Whether `selector` picks `obj` (every field it sets must match).
pub fn selects(selector: &Selector, obj: &Value) -> bool {
    let s = |p: &str| obj.pointer(p).and_then(Value::as_str).unwrap_or_default();
    let (group, version) = ferroflux_ssa::split_api_version(s("/apiVersion"));
    matches_regex(selector.group.as_ref(), group)
        && matches_regex(selector.version.as_ref(), version)
        && matches_regex(selector.kind.as_ref(), s("/kind"))
        && matches_regex(selector.name.as_ref(), s("/metadata/name"))
        && matches_regex(selector.namespace.as_ref(), s("/metadata/namespace"))
        && matches_labels(
            selector.label_selector.as_ref(),
            obj.pointer("/metadata/labels"),
        )
        && matches_labels(
            selector.annotation_selector.as_ref(),
            obj.pointer("/metadata/annotations"),
        )
}

fn remove_pointer(obj: &mut Value, pointer: &str) {
    let Some((parent, last)) = pointer.rsplit_once('/') else {
        return;
    };
    let last = last.replace("~1", "/").replace("~0", "~");
    match obj.pointer_mut(parent) {
        Some(Value::Object(m)) => {
            m.remove(&last);
        }
        Some(Value::Array(a)) => {
            if let Ok(i) = last.parse::<usize>()
                && i < a.len()
            {
                a.remove(i);
            }
        }
        _ => {}
    }
}

/// `obj` without the fields the rules that select it name: those fields
/// are then neither compared nor corrected.
pub fn without_ignored(mut obj: Value, rules: &[IgnoreRule]) -> Value {
    for rule in rules {
        if rule.target.as_ref().is_some_and(|t| !selects(t, &obj)) {
            continue;
        }
        for p in &rule.paths {
            remove_pointer(&mut obj, p);
        }
    }
    obj
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deploy() -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
               "metadata": {"name": "web", "namespace": "apps", "labels": {"tier": "front"}},
               "spec": {"replicas": 3, "template": {"spec": {"containers": [{"name": "a"}]}}}})
    }

    #[test]
    fn ignore_rules_remove_fields_of_selected_objects_only() {
        let rules: Vec<IgnoreRule> = serde_json::from_value(json!([
            {"paths": ["/spec/replicas"], "target": {"kind": "Deployment", "labelSelector": "tier=front"}},
            {"paths": ["/data/x"], "target": {"kind": "ConfigMap"}},
        ]))
        .expect("rules");
        let d = without_ignored(deploy(), &rules);
        assert!(d.pointer("/spec/replicas").is_none());
        assert!(d.pointer("/spec/template").is_some());
        let mut other = deploy();
        other["metadata"]["labels"]["tier"] = json!("back");
        let o = without_ignored(other, &rules);
        assert_eq!(o.pointer("/spec/replicas"), Some(&json!(3)));
    }

    #[test]
    fn objects_opt_out_by_annotation_or_label() {
        let mut d = deploy();
        assert!(!opted_out(&d));
        d["metadata"]["annotations"] = json!({"helm.toolkit.fluxcd.io/driftDetection": "disabled"});
        assert!(opted_out(&d));
    }
}
