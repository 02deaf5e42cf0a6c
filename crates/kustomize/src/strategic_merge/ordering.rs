//! Element order of merged lists as the API server's strategic merge produces it, and
//! `$setElementOrder`, which asks for a given order.
//!
//! The rule: split the merged list into the elements the patch (or the order list)
//! names and the ones only the original has; put the first group in the patch's order
//! and the second in the original's; then interleave the two, taking an original-only
//! element first only where the original had it before the patch element.

use serde_json::Value;

use super::directives::{Directive, PATCH};
use super::error::{Path, StrategicMergeError};

/// What identifies a list element for ordering: its merge-key value in a list of maps,
/// the element itself in a list of primitives. `None` when a map lacks the key; two
/// such elements count as equal, as they do in Kubernetes.
pub(crate) fn identity<'v>(item: &'v Value, key: Option<&str>) -> Option<&'v Value> {
    match key {
        Some(key) => item.as_object().and_then(|m| m.get(key)),
        None => Some(item),
    }
}

/// A map holding only merge key `key` set to `value`: all that ordering needs of an
/// element, without copying the element.
pub(crate) fn stand_in(value: &Value, key: &str) -> Value {
    let mut map = serde_json::Map::new();
    map.insert(key.to_owned(), value.clone());
    Value::Object(map)
}

/// Stand-ins for the elements of `list` (elements lacking the key stand in as `{}`);
/// the elements themselves for a list of primitives.
pub(crate) fn stand_ins(list: &[Value], key: Option<&str>) -> Vec<Value> {
    match key {
        Some(key) => list
            .iter()
            .map(|item| match identity(item, Some(key)) {
                Some(value) => stand_in(value, key),
                None => Value::Object(serde_json::Map::new()),
            })
            .collect(),
        None => list.to_vec(),
    }
}

fn position(order: &[Value], item: &Value, key: Option<&str>) -> Option<usize> {
    let id = identity(item, key);
    order.iter().position(|o| identity(o, key) == id)
}

fn sorted_by(mut items: Vec<Value>, order: &[Value], key: Option<&str>) -> Vec<Value> {
    items.sort_by_key(|item| position(order, item, key).unwrap_or(usize::MAX));
    items
}

/// Splits `merged` into the elements `by` names (first) and the rest.
pub(crate) fn partition(
    merged: Vec<Value>,
    by: &[Value],
    key: Option<&str>,
    path: &Path<'_>,
) -> Result<(Vec<Value>, Vec<Value>), StrategicMergeError> {
    let mut named = Vec::with_capacity(merged.len());
    let mut rest = Vec::new();
    for item in merged {
        let id = match key {
            Some(k) => Some(require_key(&item, k, path)?),
            None => None,
        };
        let is_named = match (key, id) {
            (Some(k), Some(id)) => by
                .iter()
                .any(|b| b.as_object().and_then(|m| m.get(k)) == Some(id)),
            _ => by.contains(&item),
        };
        if is_named {
            named.push(item);
        } else {
            rest.push(item);
        }
    }
    Ok((named, rest))
}

/// Orders a merged list: `named` (elements the patch names) in `named_order`,
/// `server_only` in `server_order`, interleaved as the API server does.
pub(crate) fn normalize(
    named: Vec<Value>,
    server_only: Vec<Value>,
    named_order: &[Value],
    server_order: &[Value],
    key: Option<&str>,
) -> Vec<Value> {
    let named = sorted_by(named, named_order, key);
    let server_only = sorted_by(server_only, server_order, key);
    interleave(server_only, named, server_order, key)
}

/// Merges two ordered lists, keeping each one's order; an element of `left` goes before
/// the next of `right` only when both are in `server_order` and `left`'s comes first.
fn interleave(
    left: Vec<Value>,
    right: Vec<Value>,
    server_order: &[Value],
    key: Option<&str>,
) -> Vec<Value> {
    let mut out = Vec::with_capacity(left.len() + right.len());
    let mut left = left.into_iter().peekable();
    let mut right = right.into_iter().peekable();
    loop {
        let take_left = match (left.peek(), right.peek()) {
            (None, None) => break,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (Some(l), Some(r)) => matches!(
                (position(server_order, l, key), position(server_order, r, key)),
                (Some(li), Some(ri)) if li < ri
            ),
        };
        let next = if take_left { left.next() } else { right.next() };
        out.extend(next);
    }
    out
}

/// Reorders the merged list of a field by its `$setElementOrder` list.
pub(crate) fn apply_set_element_order(
    merged: Vec<Value>,
    order: &[Value],
    original: &[Value],
    key: Option<&str>,
    path: &Path<'_>,
) -> Result<Vec<Value>, StrategicMergeError> {
    if let Some(k) = key {
        for item in order {
            require_key(item, k, path)?;
        }
    }
    let (named, server_only) = partition(merged, order, key, path)?;
    Ok(normalize(named, server_only, order, original, key))
}

/// Checks that the patch list names its elements in the relative order of the
/// `$setElementOrder` list, skipping deletions and other directive elements.
pub(crate) fn validate_set_element_order(
    patch_list: &[Value],
    order: &[Value],
    key: Option<&str>,
    path: &Path<'_>,
) -> Result<(), StrategicMergeError> {
    let mut remaining = Vec::with_capacity(patch_list.len());
    for item in patch_list {
        if key.is_some()
            && let Value::Object(m) = item
            && Directive::of_map(m, path)? == Some(Directive::Delete)
        {
            continue;
        }
        if matches!(item, Value::Object(m) if m.contains_key(PATCH)) {
            continue;
        }
        remaining.push(item);
    }
    let mut order_iter = order.iter();
    for item in remaining {
        let id = match key {
            Some(k) => require_key(item, k, path)?,
            None => item,
        };
        let mut found = false;
        for candidate in order_iter.by_ref() {
            let candidate_id = match key {
                Some(k) => require_key(candidate, k, path)?,
                None => candidate,
            };
            if candidate_id == id {
                found = true;
                break;
            }
        }
        if !found {
            return Err(StrategicMergeError::SetElementOrderMismatch {
                path: path.to_string(),
            });
        }
    }
    Ok(())
}

/// The value of merge key `key` of a list element, which must be a map that has it.
pub(crate) fn require_key<'v>(
    item: &'v Value,
    key: &str,
    path: &Path<'_>,
) -> Result<&'v Value, StrategicMergeError> {
    item.as_object()
        .and_then(|m| m.get(key))
        .ok_or_else(|| StrategicMergeError::MissingMergeKey {
            path: path.to_string(),
            key: key.to_owned(),
        })
}
