//! Merging an applied configuration into the live object (structured-merge-diff's
//! `Merge`): applied values win; maps merge key by key; associative lists merge item by
//! item; atomic lists and maps, and scalars, are replaced.
//!
//! Order of a merged associative list: items keep the live order, applied items that
//! are new go right before the next item both lists share (in applied order), or at the
//! end; shared items follow the applied order where it differs from the live one.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use super::FieldsError;
use super::list_types::{ListType, ListTypes};
use super::path::{PathElement, path_string};
use super::walk::{is_associative, item_element};

/// `lhs` (live) merged with `rhs` (applied); `None` only when both are absent.
pub(crate) fn merge(
    lhs: Option<&Value>,
    rhs: Option<&Value>,
    types: &dyn ListTypes,
) -> Result<Option<Value>, FieldsError> {
    let mut path = Vec::new();
    merge_at(lhs, rhs, types, &mut path)
}

fn is_empty_or_null_map(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Object(m) => m.is_empty(),
        _ => false,
    }
}

fn is_empty_or_null_list(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

fn merge_at(
    lhs: Option<&Value>,
    rhs: Option<&Value>,
    types: &dyn ListTypes,
    path: &mut Vec<PathElement>,
) -> Result<Option<Value>, FieldsError> {
    let (lhs, rhs) = match (lhs, rhs) {
        (None, None) => return Ok(None),
        (Some(l), None) => return Ok(Some(l.clone())),
        (None, Some(r)) => return Ok(Some(r.clone())),
        (Some(l), Some(r)) => (l, r),
    };
    let lt = types.at(path);
    match (lhs, rhs) {
        (Value::Object(_), Value::Object(_) | Value::Null) | (Value::Null, Value::Object(_)) => {
            if lt == ListType::Atomic || (is_empty_or_null_map(lhs) && is_empty_or_null_map(rhs)) {
                return Ok(Some(rhs.clone()));
            }
            let empty = Map::new();
            let lm = lhs.as_object().unwrap_or(&empty);
            let rm = rhs.as_object().unwrap_or(&empty);
            let mut out = Map::new();
            for (k, lv) in lm {
                path.push(PathElement::Field(k.clone()));
                let merged = merge_at(Some(lv), rm.get(k), types, path)?;
                path.pop();
                if let Some(v) = merged {
                    out.insert(k.clone(), v);
                }
            }
            for (k, rv) in rm {
                if lm.contains_key(k) {
                    continue;
                }
                out.insert(k.clone(), rv.clone());
            }
            Ok(Some(Value::Object(out)))
        }
        (Value::Array(_), Value::Array(_) | Value::Null) | (Value::Null, Value::Array(_)) => {
            if !is_associative(&lt) || (is_empty_or_null_list(lhs) && is_empty_or_null_list(rhs)) {
                return Ok(Some(rhs.clone()));
            }
            let empty = Vec::new();
            let la = lhs.as_array().unwrap_or(&empty);
            let ra = rhs.as_array().unwrap_or(&empty);
            let out = merge_list(la, ra, &lt, types, path)?;
            Ok(if out.is_empty() {
                None
            } else {
                Some(Value::Array(out))
            })
        }
        _ => Ok(Some(rhs.clone())),
    }
}

fn merge_list(
    lhs: &[Value],
    rhs: &[Value],
    lt: &ListType,
    types: &dyn ListTypes,
    path: &mut Vec<PathElement>,
) -> Result<Vec<Value>, FieldsError> {
    let name = |i: usize, item: &Value, path: &[PathElement]| {
        item_element(types, path, lt, item)
            .map_err(|e| FieldsError::Invalid(format!("{}: element {i}: {e}", path_string(path))))
    };

    // Applied items: no duplicates allowed.
    let mut rhs_pes = Vec::with_capacity(rhs.len());
    let mut observed_rhs: BTreeMap<PathElement, &Value> = BTreeMap::new();
    for (i, item) in rhs.iter().enumerate() {
        let pe = name(i, item, path)?;
        if observed_rhs.contains_key(&pe) {
            return Err(FieldsError::Invalid(format!(
                "{}: duplicate entries for key {pe}",
                path_string(path)
            )));
        }
        observed_rhs.insert(pe.clone(), item);
        rhs_pes.push(pe);
    }
    // Live items: duplicates tolerated; a duplicated name stands for null.
    let null = Value::Null;
    let mut lhs_pes = Vec::with_capacity(lhs.len());
    let mut observed_lhs: BTreeMap<PathElement, &Value> = BTreeMap::new();
    for (i, item) in lhs.iter().enumerate() {
        let pe = name(i, item, path)?;
        if observed_lhs.contains_key(&pe) {
            observed_lhs.insert(pe.clone(), &null);
        } else {
            observed_lhs.insert(pe.clone(), item);
        }
        lhs_pes.push(pe);
    }

    let mut shared = rhs_pes
        .iter()
        .filter(|pe| observed_lhs.contains_key(*pe))
        .cloned()
        .collect::<Vec<_>>()
        .into_iter();
    let mut next_shared = shared.next();
    let mut merged_rhs: BTreeSet<PathElement> = BTreeSet::new();

    let mut out = Vec::with_capacity(lhs.len().max(rhs.len()));
    let mut push = |pe: &PathElement,
                    l: Option<&Value>,
                    r: Option<&Value>,
                    path: &mut Vec<PathElement>|
     -> Result<(), FieldsError> {
        path.push(pe.clone());
        let merged = merge_at(l, r, types, path)?;
        path.pop();
        if let Some(v) = merged {
            out.push(v);
        }
        Ok(())
    };

    let (l_len, r_len) = (lhs_pes.len(), rhs_pes.len());
    let (mut li, mut ri) = (0, 0);
    while li < l_len || ri < r_len {
        if li < l_len && ri < r_len {
            let pe = &lhs_pes[li];
            if *pe == rhs_pes[ri] {
                merged_rhs.insert(pe.clone());
                push(
                    pe,
                    observed_lhs.get(pe).copied(),
                    observed_rhs.get(pe).copied(),
                    path,
                )?;
                li += 1;
                ri += 1;
                next_shared = shared.next();
                continue;
            }
            if observed_rhs.contains_key(pe) && next_shared.as_ref().is_some_and(|next| next != pe)
            {
                // An item the applied list places later: emit it when reached there.
                li += 1;
                continue;
            }
        }
        if li < l_len {
            let pe = &lhs_pes[li];
            if !observed_rhs.contains_key(pe) {
                push(pe, Some(&lhs[li]), None, path)?;
                li += 1;
                continue;
            } else if merged_rhs.contains(pe) {
                li += 1;
            }
        }
        if ri < r_len {
            let pe = &rhs_pes[ri];
            merged_rhs.insert(pe.clone());
            push(
                pe,
                observed_lhs.get(pe).copied(),
                observed_rhs.get(pe).copied(),
                path,
            )?;
            ri += 1;
            if next_shared.as_ref() == Some(pe) {
                next_shared = shared.next();
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::list_types::{NoSchema, schema_list_types};
    use super::*;
    use serde_json::json;

    fn set_list_types() -> impl ListTypes {
        schema_list_types(&json!({"type": "object", "properties": {
            "list": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}},
            "keyed": {"type": "array", "x-kubernetes-list-type": "map",
                      "x-kubernetes-list-map-keys": ["name"],
                      "items": {"type": "object"}},
            "atomic": {"type": "array", "items": {"type": "string"}},
            "sel": {"type": "object", "x-kubernetes-map-type": "atomic"}
        }}))
    }

    fn m(l: Value, r: Value) -> Value {
        merge(Some(&l), Some(&r), &set_list_types())
            .unwrap()
            .unwrap()
    }

    #[test]
    fn applied_values_win_and_maps_merge() {
        assert_eq!(
            merge(
                Some(&json!({"a": 1, "m": {"x": 1, "y": 2}})),
                Some(&json!({"a": 2, "m": {"y": 3, "z": 4}})),
                &NoSchema
            )
            .unwrap()
            .unwrap(),
            json!({"a": 2, "m": {"x": 1, "y": 3, "z": 4}})
        );
    }

    #[test]
    fn atomic_lists_and_maps_are_replaced() {
        assert_eq!(
            m(json!({"atomic": ["a", "b"]}), json!({"atomic": ["c"]})),
            json!({"atomic": ["c"]})
        );
        assert_eq!(
            m(
                json!({"sel": {"a": "1", "b": "2"}}),
                json!({"sel": {"c": "3"}})
            ),
            json!({"sel": {"c": "3"}})
        );
    }

    #[test]
    fn set_order_follows_structured_merge_diff() {
        // From structured-merge-diff's set tests (apply_update_apply_no_overlap).
        assert_eq!(
            m(
                json!({"list": ["a", "b", "c", "d"]}),
                json!({"list": ["a", "aprime", "c", "cprime"]})
            ),
            json!({"list": ["a", "b", "aprime", "c", "d", "cprime"]})
        );
        // New applied items go before the next shared item.
        assert_eq!(
            m(
                json!({"list": ["a", "b", "c"]}),
                json!({"list": ["d", "b"]})
            ),
            json!({"list": ["a", "d", "b", "c"]})
        );
        // Shared items take the applied order.
        assert_eq!(
            m(
                json!({"list": ["a", "b", "c"]}),
                json!({"list": ["c", "a"]})
            ),
            json!({"list": ["b", "c", "a"]})
        );
    }

    #[test]
    fn keyed_items_merge_by_key() {
        assert_eq!(
            m(
                json!({"keyed": [{"name": "a", "v": 1, "w": 1}, {"name": "b", "v": 1}]}),
                json!({"keyed": [{"name": "b", "v": 2}, {"name": "c", "v": 3}, {"name": "a", "v": 4}]})
            ),
            json!({"keyed": [{"name": "b", "v": 2}, {"name": "c", "v": 3}, {"name": "a", "v": 4, "w": 1}]})
        );
    }

    #[test]
    fn null_applied_for_a_map_keeps_the_live_map() {
        assert_eq!(
            merge(
                Some(&json!({"s": {"a": 1}})),
                Some(&json!({"s": null})),
                &NoSchema
            )
            .unwrap()
            .unwrap(),
            json!({"s": {"a": 1}})
        );
        assert_eq!(
            merge(Some(&json!({"s": 1})), Some(&json!({"s": null})), &NoSchema)
                .unwrap()
                .unwrap(),
            json!({"s": null})
        );
    }

    #[test]
    fn duplicate_applied_keys_are_rejected() {
        let r = merge(
            Some(&json!({"keyed": [{"name": "a"}]})),
            Some(&json!({"keyed": [{"name": "a"}, {"name": "a"}]})),
            &set_list_types(),
        );
        assert!(r.is_err());
    }
}
