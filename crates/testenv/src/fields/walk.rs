//! Walks over objects with their list types: which fields an object sets, naming list
//! items, removing a set of fields, and validating an applied configuration.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::FieldsError;
use super::list_types::{ListType, ListTypes};
use super::path::{PathElement, path_string};
use super::set::FieldSet;

/// Whether the list at a path merges item by item, and how its items are named.
pub(crate) fn is_associative(lt: &ListType) -> bool {
    matches!(lt, ListType::Set | ListType::Map { .. })
}

/// The path element naming one item of an associative list.
pub(crate) fn item_element(
    types: &dyn ListTypes,
    list_path: &[PathElement],
    lt: &ListType,
    item: &Value,
) -> Result<PathElement, String> {
    match lt {
        ListType::Map { keys } if !keys.is_empty() => {
            let map = match item {
                Value::Object(map) => map,
                Value::Null => {
                    return Err("associative list with keys may not have a null element".into());
                }
                _ => {
                    return Err("associative list with keys may not have non-map elements".into());
                }
            };
            let mut fields = Vec::with_capacity(keys.len());
            for key in keys {
                if let Some(v) = map.get(key) {
                    fields.push((key.clone(), v.clone()));
                } else if let Some(default) = types.key_default(list_path, key) {
                    fields.push((key.clone(), default));
                }
            }
            if fields.is_empty() {
                return Err(format!(
                    "associative list with keys has an element that omits all key fields {keys:?} (and doesn't have default values for any key fields)"
                ));
            }
            Ok(PathElement::key(fields))
        }
        ListType::Map { .. } | ListType::Set => match item {
            Value::Object(_) => {
                Err("associative list without keys has an element that's a map type".into())
            }
            Value::Array(_) => Err("not supported: associative list with lists as elements".into()),
            Value::Null => {
                Err("associative list without keys has an element that's an explicit null".into())
            }
            _ => Ok(PathElement::Value(item.clone())),
        },
        _ => Err("invalid indexing of non-associative list".into()),
    }
}

fn is_empty_map(v: &Value) -> bool {
    matches!(v, Value::Object(m) if m.is_empty())
}

/// The fields a value sets: leaves, atomic lists and maps, items of associative lists,
/// empty maps and nulls, and free-form map entries (structured-merge-diff's
/// `ToFieldSet`). Items that cannot be named are skipped.
pub(crate) fn to_field_set(v: &Value, types: &dyn ListTypes) -> FieldSet {
    let mut set = FieldSet::new();
    let mut path = Vec::new();
    collect(v, types, &mut path, &mut set);
    set
}

fn collect(v: &Value, types: &dyn ListTypes, path: &mut Vec<PathElement>, set: &mut FieldSet) {
    match v {
        Value::Object(map) => {
            if types.at(path) == ListType::Atomic {
                set.insert(path);
                return;
            }
            for (k, child) in map {
                let declared = types.is_field(path, k);
                path.push(PathElement::Field(k.clone()));
                collect(child, types, path, set);
                if child.is_null() || is_empty_map(child) || !declared {
                    set.insert(path);
                }
                path.pop();
            }
        }
        Value::Array(items) => {
            let lt = types.at(path);
            if !is_associative(&lt) {
                set.insert(path);
                return;
            }
            let pes: Vec<Option<PathElement>> = items
                .iter()
                .map(|item| item_element(types, path, &lt, item).ok())
                .collect();
            let mut seen = BTreeSet::new();
            let mut duplicates = BTreeSet::new();
            for pe in pes.iter().flatten() {
                if !seen.insert(pe.clone()) && duplicates.insert(pe.clone()) {
                    path.push(pe.clone());
                    set.insert(path);
                    path.pop();
                }
            }
            for (item, pe) in items.iter().zip(pes) {
                let Some(pe) = pe else { continue };
                if duplicates.contains(&pe) {
                    continue;
                }
                path.push(pe);
                collect(item, types, path, set);
                set.insert(path);
                path.pop();
            }
        }
        _ => set.insert(path),
    }
}

/// Adds as members the declared fields that have children in the set, so that removing
/// the set removes a struct whose every field goes (structured-merge-diff's
/// `EnsureNamedFieldsAreMembers`).
pub(crate) fn ensure_named_fields_are_members(set: &FieldSet, types: &dyn ListTypes) -> FieldSet {
    let mut path = Vec::new();
    ensure(set, types, &mut path)
}

fn ensure(set: &FieldSet, types: &dyn ListTypes, path: &mut Vec<PathElement>) -> FieldSet {
    let mut out = set.clone();
    for (pe, child) in set.children() {
        if let PathElement::Field(name) = pe
            && types.is_field(path, name)
        {
            out.add_member(pe.clone());
        }
        path.push(pe.clone());
        let ensured = ensure(child, types, path);
        path.pop();
        out.set_child(pe.clone(), ensured);
    }
    out
}

/// The value without the fields of `set` (structured-merge-diff's `RemoveItems`). A map
/// or list left empty becomes `null`, as there.
pub(crate) fn remove_items(v: &Value, set: &FieldSet, types: &dyn ListTypes) -> Value {
    let mut path = Vec::new();
    remove(v, set, types, &mut path)
}

fn remove(v: &Value, set: &FieldSet, types: &dyn ListTypes, path: &mut Vec<PathElement>) -> Value {
    match v {
        Value::Object(map) => {
            if map.is_empty() || types.at(path) == ListType::Atomic {
                return Value::Null;
            }
            let mut out = Map::new();
            for (k, child) in map {
                let pe = PathElement::Field(k.clone());
                if set.has_member(&pe) {
                    continue;
                }
                let child = match set.child(&pe) {
                    Some(sub) => {
                        path.push(pe);
                        let c = remove(child, sub, types, path);
                        path.pop();
                        c
                    }
                    None => child.clone(),
                };
                out.insert(k.clone(), child);
            }
            if out.is_empty() {
                Value::Null
            } else {
                Value::Object(out)
            }
        }
        Value::Array(items) => {
            let lt = types.at(path);
            if items.is_empty() || !is_associative(&lt) {
                return Value::Null;
            }
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                let Ok(pe) = item_element(types, path, &lt, item) else {
                    out.push(item.clone());
                    continue;
                };
                if set.has_member(&pe) {
                    continue;
                }
                match set.child(&pe) {
                    Some(sub) => {
                        path.push(pe);
                        out.push(remove(item, sub, types, path));
                        path.pop();
                    }
                    None => out.push(item.clone()),
                }
            }
            if out.is_empty() {
                Value::Null
            } else {
                Value::Array(out)
            }
        }
        _ => v.clone(),
    }
}

/// Checks what kube-apiserver checks of an applied configuration's lists: every item of
/// an associative list can be named, and no two items have the same name.
pub(crate) fn validate(v: &Value, types: &dyn ListTypes) -> Result<(), FieldsError> {
    let mut path = Vec::new();
    check(v, types, &mut path)
}

fn check(v: &Value, types: &dyn ListTypes, path: &mut Vec<PathElement>) -> Result<(), FieldsError> {
    match v {
        Value::Object(map) => {
            if types.at(path) == ListType::Atomic {
                return Ok(());
            }
            for (k, child) in map {
                path.push(PathElement::Field(k.clone()));
                check(child, types, path)?;
                path.pop();
            }
            Ok(())
        }
        Value::Array(items) => {
            let lt = types.at(path);
            if !is_associative(&lt) {
                return Ok(());
            }
            let mut seen = BTreeSet::new();
            for (i, item) in items.iter().enumerate() {
                let pe = item_element(types, path, &lt, item).map_err(|e| {
                    FieldsError::Invalid(format!("{}: element {i}: {e}", path_string(path)))
                })?;
                if !seen.insert(pe.clone()) {
                    return Err(FieldsError::Invalid(format!(
                        "{}: duplicate entries for key {pe}",
                        path_string(path)
                    )));
                }
                path.push(pe);
                check(item, types, path)?;
                path.pop();
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::super::list_types::{NoSchema, builtin_list_types, schema_list_types};
    use super::*;
    use serde_json::json;

    #[test]
    fn field_set_of_an_applied_deployment() {
        let types = builtin_list_types("apps", "Deployment");
        let obj = json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web", "labels": {"app": "web"}},
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{
                        "name": "web", "image": "nginx",
                        "ports": [{"containerPort": 80}]
                    }]}
                }
            }
        });
        let set = to_field_set(&obj, &types);
        assert_eq!(
            set.path_strings(),
            vec![
                ".apiVersion",
                ".kind",
                ".metadata.name",
                ".metadata.labels.app",
                ".spec.replicas",
                ".spec.selector",
                ".spec.template.metadata.labels.app",
                r#".spec.template.spec.containers[name="web"]"#,
                r#".spec.template.spec.containers[name="web"].image"#,
                r#".spec.template.spec.containers[name="web"].name"#,
                r#".spec.template.spec.containers[name="web"].ports[containerPort=80,protocol="TCP"]"#,
                r#".spec.template.spec.containers[name="web"].ports[containerPort=80,protocol="TCP"].containerPort"#,
            ]
        );
    }

    #[test]
    fn empty_maps_and_nulls_are_owned_empty_granular_lists_are_not() {
        let types = builtin_list_types("", "Pod");
        let obj = json!({"metadata": {"finalizers": [], "annotations": {}}, "spec": {"x": null}});
        assert_eq!(
            to_field_set(&obj, &types).path_strings(),
            vec![".metadata.annotations", ".spec.x"]
        );
    }

    #[test]
    fn duplicate_items_are_owned_as_a_whole() {
        let types = builtin_list_types("", "Pod");
        let obj = json!({"spec": {"containers": [
            {"name": "a", "image": "x"}, {"name": "a", "image": "y"}
        ]}});
        assert_eq!(
            to_field_set(&obj, &types).path_strings(),
            vec![r#".spec.containers[name="a"]"#]
        );
    }

    #[test]
    fn free_form_entries_are_members() {
        let schema = json!({"type": "object", "properties": {"spec": {
            "type": "object",
            "properties": {"known": {"type": "object", "properties": {"a": {"type": "string"}}}},
            "additionalProperties": {"type": "object", "properties": {"a": {"type": "string"}}}
        }}});
        let types = schema_list_types(&schema);
        let obj = json!({"spec": {"known": {"a": "1"}, "other": {"a": "2"}}});
        assert_eq!(
            to_field_set(&obj, &types).path_strings(),
            vec![".spec.other", ".spec.known.a", ".spec.other.a"]
        );
    }

    #[test]
    fn ensure_named_adds_struct_fields_not_entries() {
        let types = builtin_list_types("", "ConfigMap");
        let set = FieldSet::from_paths([vec![
            PathElement::field("metadata"),
            PathElement::field("labels"),
            PathElement::field("app"),
        ]]);
        let ensured = ensure_named_fields_are_members(&set, &types);
        assert_eq!(
            ensured.path_strings(),
            vec![".metadata", ".metadata.labels", ".metadata.labels.app"]
        );
    }

    #[test]
    fn remove_items_turns_emptied_maps_into_null() {
        let set = FieldSet::from_paths([
            vec![PathElement::field("a"), PathElement::field("b")],
            vec![PathElement::field("c")],
        ]);
        let out = remove_items(&json!({"a": {"b": 1}, "c": 2, "d": 3}), &set, &NoSchema);
        assert_eq!(out, json!({"a": null, "d": 3}));
    }

    #[test]
    fn remove_items_from_keyed_and_set_lists() {
        let types = builtin_list_types("", "Pod");
        let obj = json!({
            "metadata": {"finalizers": ["a", "b"]},
            "spec": {"containers": [{"name": "x", "image": "i"}, {"name": "y", "image": "j"}]}
        });
        let set = FieldSet::from_paths([
            vec![
                PathElement::field("metadata"),
                PathElement::field("finalizers"),
                PathElement::Value(json!("a")),
            ],
            vec![
                PathElement::field("spec"),
                PathElement::field("containers"),
                PathElement::key([("name", json!("y"))]),
            ],
            vec![
                PathElement::field("spec"),
                PathElement::field("containers"),
                PathElement::key([("name", json!("x"))]),
                PathElement::field("image"),
            ],
        ]);
        assert_eq!(
            remove_items(&obj, &set, &types),
            json!({"metadata": {"finalizers": ["b"]}, "spec": {"containers": [{"name": "x"}]}})
        );
    }

    #[test]
    fn validation_rejects_duplicates_and_keyless_items() {
        let types = builtin_list_types("", "Service");
        let dup = json!({"spec": {"ports": [{"port": 80}, {"port": 80, "protocol": "TCP"}]}});
        assert_eq!(
            validate(&dup, &types).unwrap_err().to_string(),
            r#"invalid object: .spec.ports: duplicate entries for key [port=80,protocol="TCP"]"#
        );
        let schema = json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {
            "items": {"type": "array", "x-kubernetes-list-type": "map",
                      "x-kubernetes-list-map-keys": ["id"],
                      "items": {"type": "object", "properties": {"id": {"type": "string"}}}}
        }}}});
        let keyless = json!({"spec": {"items": [{"other": 1}]}});
        assert!(validate(&keyless, &schema_list_types(&schema)).is_err());
        assert!(
            validate(
                &json!({"spec": {"items": [{"id": "a"}]}}),
                &schema_list_types(&schema)
            )
            .is_ok()
        );
    }
}
