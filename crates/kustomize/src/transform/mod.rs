//! The built-in transformers of a kustomization, one per file.

pub(crate) mod annotations;
pub mod config;
pub(crate) mod images;
pub(crate) mod labels;
pub(crate) mod name_reference;
pub(crate) mod namespace;
pub(crate) mod prefix_suffix;
pub(crate) mod replacements;
pub(crate) mod replicas;
pub(crate) mod vars;

use serde_json::{Map, Value};

/// Calls `f` on every value at `path` (segments separated by `/`; a list on the way is
/// walked element by element). With `create`, missing maps on the way are created
/// (`f` then sees `Value::Null` at the end when the field is absent).
pub(crate) fn visit(value: &mut Value, path: &str, create: bool, f: &mut dyn FnMut(&mut Value)) {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    visit_segs(value, &segs, create, f);
}

fn visit_segs(value: &mut Value, segs: &[&str], create: bool, f: &mut dyn FnMut(&mut Value)) {
    if let Value::Array(items) = value {
        for item in items {
            visit_segs(item, segs, create, f);
        }
        return;
    }
    let Some((first, rest)) = segs.split_first() else {
        f(value);
        return;
    };
    let Value::Object(map) = value else { return };
    if !map.contains_key(*first) {
        if !create {
            return;
        }
        map.insert(
            (*first).to_string(),
            if rest.is_empty() {
                Value::Null
            } else {
                Value::Object(Map::new())
            },
        );
    }
    if let Some(next) = map.get_mut(*first) {
        if next.is_null() && !rest.is_empty() {
            if !create {
                return;
            }
            *next = Value::Object(Map::new());
        }
        visit_segs(next, rest, create, f);
    }
}

/// Paths of the pod template spec of a workload kind (`""` for a Pod's own spec).
pub(crate) fn pod_spec_paths(kind: &str) -> &'static [&'static str] {
    match kind {
        "Pod" => &["spec"],
        "Deployment"
        | "ReplicaSet"
        | "DaemonSet"
        | "StatefulSet"
        | "Job"
        | "ReplicationController" => &["spec/template/spec"],
        "CronJob" => &["spec/jobTemplate/spec/template/spec"],
        _ => &[],
    }
}

/// Paths of the pod template metadata of a workload kind.
pub(crate) fn template_meta_paths(kind: &str) -> &'static [&'static str] {
    match kind {
        "Deployment"
        | "ReplicaSet"
        | "DaemonSet"
        | "StatefulSet"
        | "Job"
        | "ReplicationController" => &["spec/template/metadata"],
        "CronJob" => &[
            "spec/jobTemplate/metadata",
            "spec/jobTemplate/spec/template/metadata",
        ],
        _ => &[],
    }
}

/// Adds the `pairs` to the map at `value` (creating it when `create`).
pub(crate) fn add_pairs(
    value: &mut Value,
    path: &str,
    create: bool,
    pairs: &std::collections::BTreeMap<String, String>,
) {
    if pairs.is_empty() {
        return;
    }
    visit(value, path, create, &mut |v| {
        if v.is_null() {
            *v = Value::Object(Map::new());
        }
        if let Value::Object(m) = v {
            for (k, val) in pairs {
                m.insert(k.clone(), Value::String(val.clone()));
            }
        }
    });
}
