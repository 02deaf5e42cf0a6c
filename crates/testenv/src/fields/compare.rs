//! Comparing two versions of an object (structured-merge-diff's `Compare`): which
//! fields were added, modified or removed. Maps and associative-list items that appear
//! or disappear are reported themselves too, which is why an Update manager owns
//! `{".":{}}` of the maps and items it created.

use std::collections::BTreeMap;

use serde_json::Value;

use super::FieldsError;
use super::list_types::{ListType, ListTypes};
use super::path::{PathElement, path_string, values_equal};
use super::set::FieldSet;
use super::walk::{is_associative, item_element};

/// The difference between two objects.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Comparison {
    pub removed: FieldSet,
    pub modified: FieldSet,
    pub added: FieldSet,
}

impl Comparison {
    /// Fields whose value the change set: modified or added.
    pub fn changed(&self) -> FieldSet {
        self.modified.union(&self.added)
    }
}

pub(crate) fn compare(
    lhs: &Value,
    rhs: &Value,
    types: &dyn ListTypes,
) -> Result<Comparison, FieldsError> {
    let mut cmp = Comparison::default();
    let mut path = Vec::new();
    compare_at(Some(lhs), Some(rhs), types, &mut path, &mut cmp)?;
    Ok(cmp)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
    Absent,
    Null,
    Map,
    List,
    Scalar,
}

fn shape(v: Option<&Value>) -> Shape {
    match v {
        None => Shape::Absent,
        Some(Value::Null) => Shape::Null,
        Some(Value::Object(_)) => Shape::Map,
        Some(Value::Array(_)) => Shape::List,
        Some(_) => Shape::Scalar,
    }
}

fn is_nil_or_empty(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => true,
        Some(Value::Object(m)) => m.is_empty(),
        Some(Value::Array(a)) => a.is_empty(),
        Some(_) => false,
    }
}

fn compare_at(
    lhs: Option<&Value>,
    rhs: Option<&Value>,
    types: &dyn ListTypes,
    path: &mut Vec<PathElement>,
    cmp: &mut Comparison,
) -> Result<(), FieldsError> {
    let (ls, rs) = (shape(lhs), shape(rhs));
    let nilish = |s: Shape| matches!(s, Shape::Absent | Shape::Null);
    let lt = types.at(path);
    let both_empty = is_nil_or_empty(lhs) && is_nil_or_empty(rhs);

    // A map on one side at least, and nothing but a map or nil on either.
    let only = |s: Shape, want: Shape| s == want || nilish(s);
    let granular_map = matches!((ls, rs), (Shape::Map, _) | (_, Shape::Map))
        && only(ls, Shape::Map)
        && only(rs, Shape::Map)
        && lt != ListType::Atomic
        && !both_empty;
    let granular_list = matches!((ls, rs), (Shape::List, _) | (_, Shape::List))
        && only(ls, Shape::List)
        && only(rs, Shape::List)
        && is_associative(&lt)
        && !both_empty;

    if granular_map {
        let lm = lhs.and_then(Value::as_object);
        let rm = rhs.and_then(Value::as_object);
        if let Some(lm) = lm {
            for (k, lv) in lm {
                path.push(PathElement::Field(k.clone()));
                compare_at(Some(lv), rm.and_then(|m| m.get(k)), types, path, cmp)?;
                path.pop();
            }
        }
        if let Some(rm) = rm {
            for (k, rv) in rm {
                if lm.is_some_and(|m| m.contains_key(k)) {
                    continue;
                }
                path.push(PathElement::Field(k.clone()));
                compare_at(None, Some(rv), types, path, cmp)?;
                path.pop();
            }
        }
    } else if granular_list {
        let empty = Vec::new();
        let la = lhs.and_then(Value::as_array).unwrap_or(&empty);
        let ra = rhs.and_then(Value::as_array).unwrap_or(&empty);
        compare_list(la, ra, &lt, types, path, cmp)?;
    } else {
        // A leaf: scalar, atomic list or map, or empty on both sides.
        if ls == Shape::Absent {
            cmp.added.insert(path);
        } else if rs == Shape::Absent {
            cmp.removed.insert(path);
        } else if let (Some(l), Some(r)) = (lhs, rhs)
            && !values_equal(l, r)
        {
            cmp.modified.insert(path);
        }
        return Ok(());
    }
    if ls == Shape::Absent {
        cmp.added.insert(path);
    } else if rs == Shape::Absent {
        cmp.removed.insert(path);
    }
    Ok(())
}

fn compare_list(
    lhs: &[Value],
    rhs: &[Value],
    lt: &ListType,
    types: &dyn ListTypes,
    path: &mut Vec<PathElement>,
    cmp: &mut Comparison,
) -> Result<(), FieldsError> {
    let mut all: Vec<PathElement> = Vec::new();
    let mut lvals: BTreeMap<PathElement, Vec<&Value>> = BTreeMap::new();
    let mut rvals: BTreeMap<PathElement, Vec<&Value>> = BTreeMap::new();
    let name = |i: usize, item: &Value, path: &[PathElement]| {
        item_element(types, path, lt, item)
            .map_err(|e| FieldsError::Invalid(format!("{}: element {i}: {e}", path_string(path))))
    };
    for (i, item) in lhs.iter().enumerate() {
        let pe = name(i, item, path)?;
        let entry = lvals.entry(pe.clone()).or_default();
        if entry.is_empty() {
            all.push(pe);
        }
        entry.push(item);
    }
    for (i, item) in rhs.iter().enumerate() {
        let pe = name(i, item, path)?;
        let entry = rvals.entry(pe.clone()).or_default();
        if entry.is_empty() && !lvals.contains_key(&pe) {
            all.push(pe);
        }
        entry.push(item);
    }
    for pe in all {
        let l = lvals.get(&pe).map(Vec::as_slice).unwrap_or(&[]);
        let r = rvals.get(&pe).map(Vec::as_slice).unwrap_or(&[]);
        path.push(pe);
        if l.len() <= 1 && r.len() <= 1 {
            compare_at(l.first().copied(), r.first().copied(), types, path, cmp)?;
        } else if l.len() >= 2 && r.len() >= 2 {
            let equal = l.len() == r.len() && l.iter().zip(r).all(|(a, b)| values_equal(a, b));
            if !equal {
                cmp.modified.insert(path);
            }
        } else if l.len() >= 2 {
            if let Some(first) = r.first() {
                compare_at(None, Some(first), types, path, cmp)?;
            }
            cmp.removed.insert(path);
        } else {
            if let Some(first) = l.first() {
                compare_at(Some(first), None, types, path, cmp)?;
            }
            cmp.added.insert(path);
        }
        path.pop();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::list_types::{NoSchema, builtin_list_types};
    use super::*;
    use serde_json::json;

    #[test]
    fn added_maps_and_items_are_reported_themselves() {
        let types = builtin_list_types("", "Pod");
        let c = compare(
            &json!({"spec": {}}),
            &json!({"metadata": {"labels": {"a": "1"}},
                    "spec": {"containers": [{"name": "c", "image": "i"}]}}),
            &types,
        )
        .unwrap();
        assert_eq!(
            c.added.path_strings(),
            vec![
                ".metadata",
                ".metadata.labels",
                ".metadata.labels.a",
                ".spec.containers",
                r#".spec.containers[name="c"]"#,
                r#".spec.containers[name="c"].image"#,
                r#".spec.containers[name="c"].name"#,
            ]
        );
        assert!(c.modified.is_empty() && c.removed.is_empty());
    }

    #[test]
    fn modified_and_removed_leaves() {
        let c = compare(
            &json!({"a": 1, "b": [1, 2], "c": {"d": 1}}),
            &json!({"a": 1.0, "b": [2, 1]}),
            &NoSchema,
        )
        .unwrap();
        assert!(c.added.is_empty());
        assert_eq!(c.modified.path_strings(), vec![".b"]);
        assert_eq!(c.removed.path_strings(), vec![".c", ".c.d"]);
    }

    #[test]
    fn set_items_added_and_removed() {
        let types = builtin_list_types("", "ConfigMap");
        let c = compare(
            &json!({"metadata": {"finalizers": ["a", "b"]}}),
            &json!({"metadata": {"finalizers": ["b", "c"]}}),
            &types,
        )
        .unwrap();
        assert_eq!(
            c.added.path_strings(),
            vec![r#".metadata.finalizers[="c"]"#]
        );
        assert_eq!(
            c.removed.path_strings(),
            vec![r#".metadata.finalizers[="a"]"#]
        );
    }

    #[test]
    fn empty_to_null_is_a_modification() {
        let c = compare(&json!({"a": {}}), &json!({"a": null}), &NoSchema).unwrap();
        assert_eq!(c.modified.path_strings(), vec![".a"]);
    }
}
