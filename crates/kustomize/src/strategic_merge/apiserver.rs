//! Strategic merge as the Kubernetes API server applies it
//! (`k8s.io/apimachinery/pkg/util/strategicpatch`, and `kubectl patch --type strategic`).

use serde_json::{Map, Value};

use super::directives::{Directive, DirectiveKey, ParallelDirectives, is_directive_marker};
use super::error::{Path, StrategicMergeError, kind_name};
use super::ordering;
use super::schema::{PatchMeta, PatchSchema, PatchStrategy};

type Result<T> = std::result::Result<T, StrategicMergeError>;

/// Merges `patch` into `original`.
pub(super) fn merge(
    original: Map<String, Value>,
    patch: &Map<String, Value>,
    schema: Option<&dyn PatchSchema>,
) -> Result<Map<String, Value>> {
    merge_map(original, patch, schema, &Path::Root)
}

fn merge_map(
    mut original: Map<String, Value>,
    patch: &Map<String, Value>,
    schema: Option<&dyn PatchSchema>,
    path: &Path<'_>,
) -> Result<Map<String, Value>> {
    match Directive::of_map(patch, path)? {
        // The API server leaves an empty map where the deleted one was.
        Some(Directive::Delete) => return Ok(Map::new()),
        Some(Directive::Replace) => original = Map::new(),
        Some(Directive::Merge) | None => {}
    }
    let directives = ParallelDirectives::of(patch, path)?;
    directives.retain_keys(&mut original, patch, path)?;

    // A `$setElementOrder` list is merged together with its field, and the field is then
    // done: the ordered result must not be merged a second time below.
    let mut ordered = Vec::with_capacity(directives.set_order.len());
    for (field, order) in &directives.set_order {
        let field_path = path.field(field);
        let meta = field_meta(schema, field);
        let key = meta.map(|(m, _)| m).and_then(merge_key);
        if patch.get(*field).is_some_and(Value::is_null) {
            // The field is deleted below; there is nothing to order.
            continue;
        }
        let original_list = list_at(&original, field, &field_path)?;
        let patch_list = list_at(patch, field, &field_path)?;
        ordering::validate_set_element_order(patch_list.unwrap_or(&[]), order, key, &field_path)?;
        let merged = match (original_list, patch_list) {
            (None, None) => continue,
            (Some(o), None) => o.to_vec(),
            (None, Some(p)) => added_list(p, meta, &field_path)?,
            (Some(o), Some(p)) => merge_list_field(o.to_vec(), p, meta, &field_path)?,
        };
        let server_order = original_list.unwrap_or(&[]);
        let merged =
            ordering::apply_set_element_order(merged, order, server_order, key, &field_path)?;
        original.insert((*field).to_owned(), Value::Array(merged));
        ordered.push(*field);
    }

    // Deletions from primitive lists come before additions, so a patch that removes
    // and re-adds a value keeps it.
    directives.delete_from_lists(&mut original);

    for (key, patch_value) in patch {
        if DirectiveKey::classify(key, path)?.is_some() || ordered.contains(&key.as_str()) {
            continue;
        }
        let field_path = path.field(key);
        if patch_value.is_null() {
            original.remove(key);
            continue;
        }
        let meta = field_meta(schema, key);
        let merged = match (original.remove(key), patch_value) {
            (Some(Value::Object(o)), Value::Object(p)) => merge_map_field(o, p, meta, &field_path)?,
            (Some(Value::Array(o)), Value::Array(p)) => {
                Some(Value::Array(merge_list_field(o, p, meta, &field_path)?))
            }
            // New fields, scalars, and values whose kind changes take the patch's value.
            _ => added(patch_value, meta.and_then(|(_, s)| s), &field_path)?,
        };
        if let Some(v) = merged {
            original.insert(key.clone(), v);
        }
    }
    Ok(original)
}

fn merge_map_field(
    original: Map<String, Value>,
    patch: &Map<String, Value>,
    meta: Option<(&PatchMeta, Option<&dyn PatchSchema>)>,
    path: &Path<'_>,
) -> Result<Option<Value>> {
    let schema = meta.and_then(|(_, s)| s);
    if meta.is_some_and(|(m, _)| m.strategy == PatchStrategy::Replace) {
        return merge_map(Map::new(), patch, schema, path).map(|m| Some(Value::Object(m)));
    }
    merge_map(original, patch, schema, path).map(|m| Some(Value::Object(m)))
}

fn merge_list_field(
    original: Vec<Value>,
    patch: &[Value],
    meta: Option<(&PatchMeta, Option<&dyn PatchSchema>)>,
    path: &Path<'_>,
) -> Result<Vec<Value>> {
    match meta {
        Some((m, element)) if m.merges_lists() => merge_list(original, patch, m, element, path),
        _ => added_list(patch, meta, path),
    }
}

/// Merges two lists of a field with the `merge` strategy.
fn merge_list(
    original: Vec<Value>,
    patch: &[Value],
    meta: &PatchMeta,
    element: Option<&dyn PatchSchema>,
    path: &Path<'_>,
) -> Result<Vec<Value>> {
    if original.is_empty() && patch.is_empty() {
        return Ok(original);
    }
    if holds_maps(&original, patch, path)? != Some(true) {
        return Ok(merge_primitive_list(original, patch));
    }
    let key = merge_key(meta).ok_or_else(|| StrategicMergeError::NoMergeKey {
        path: path.to_string(),
    })?;

    // Directive elements first: deletions act on the original, `replace` discards it.
    let mut original = original;
    let mut replace = false;
    let mut elements = Vec::with_capacity(patch.len());
    for (i, item) in patch.iter().enumerate() {
        let Value::Object(map) = item else { continue };
        match Directive::of_map(map, &path.index(i))? {
            None => elements.push(map),
            Some(Directive::Delete) => {
                let doomed = ordering::require_key(item, key, path)?;
                original.retain(|o| ordering::identity(o, Some(key)) != Some(doomed));
            }
            Some(Directive::Replace) => replace = true,
            // Kubernetes rejects `$patch: merge` in lists; merging is what lists of this
            // field do anyway, so take the element as it is.
            Some(Directive::Merge) => {
                if !is_directive_marker(item) {
                    elements.push(map);
                }
            }
        }
    }
    if replace {
        let mut out = Vec::with_capacity(elements.len());
        for (i, map) in elements.into_iter().enumerate() {
            // The replacement is still a keyed list: every element needs its key.
            if !map.contains_key(key) {
                return Err(StrategicMergeError::MissingMergeKey {
                    path: path.to_string(),
                    key: key.to_owned(),
                });
            }
            out.push(Value::Object(merge_map(
                Map::new(),
                map,
                element,
                &path.index(i),
            )?));
        }
        return Ok(out);
    }

    let server_order = ordering::stand_ins(&original, Some(key));
    let mut named_order = Vec::with_capacity(elements.len());
    for map in elements {
        let item_value = map
            .get(key)
            .ok_or_else(|| StrategicMergeError::MissingMergeKey {
                path: path.to_string(),
                key: key.to_owned(),
            })?;
        let item_path = path.keyed(key, item_value);
        let found = original
            .iter()
            .position(|o| ordering::identity(o, Some(key)) == Some(item_value));
        match found {
            Some(at) => {
                // `holds_maps` made sure every element is a map.
                let target = match std::mem::take(&mut original[at]) {
                    Value::Object(m) => m,
                    _ => Map::new(),
                };
                original[at] = Value::Object(merge_map(target, map, element, &item_path)?);
            }
            None => original.push(Value::Object(merge_map(
                Map::new(),
                map,
                element,
                &item_path,
            )?)),
        }
        named_order.push(ordering::stand_in(item_value, key));
    }
    let (named, server_only) = ordering::partition(original, &named_order, Some(key), path)?;
    Ok(ordering::normalize(
        named,
        server_only,
        &named_order,
        &server_order,
        Some(key),
    ))
}

/// Lists of primitives with the `merge` strategy are ordered sets: the patch's values
/// in its order, the original's others around them.
fn merge_primitive_list(original: Vec<Value>, patch: &[Value]) -> Vec<Value> {
    let mut named: Vec<Value> = Vec::with_capacity(patch.len());
    for v in patch {
        if !named.contains(v) {
            named.push(v.clone());
        }
    }
    let mut server_only: Vec<Value> = Vec::new();
    for v in &original {
        if !named.contains(v) && !server_only.contains(v) {
            server_only.push(v.clone());
        }
    }
    let named_order = named.clone();
    ordering::normalize(named, server_only, &named_order, &original, None)
}

/// A patch value placed where the original has nothing (or something of another kind):
/// nulls vanish and directives are carried out against an empty original. `None` when
/// the value deletes itself (`$patch: delete`).
fn added(
    value: &Value,
    schema: Option<&dyn PatchSchema>,
    path: &Path<'_>,
) -> Result<Option<Value>> {
    match value {
        Value::Null => Ok(None),
        Value::Object(map) => {
            if Directive::of_map(map, path)? == Some(Directive::Delete) {
                return Ok(None);
            }
            merge_map(Map::new(), map, schema, path).map(|m| Some(Value::Object(m)))
        }
        Value::Array(items) => added_items(items, schema, path).map(|l| Some(Value::Array(l))),
        scalar => Ok(Some(scalar.clone())),
    }
}

fn added_list(
    items: &[Value],
    meta: Option<(&PatchMeta, Option<&dyn PatchSchema>)>,
    path: &Path<'_>,
) -> Result<Vec<Value>> {
    added_items(items, meta.and_then(|(_, s)| s), path)
}

/// The elements of a list taken from the patch. As in Kubernetes, elements that carry a
/// `$patch` directive are dropped: against an empty original a deletion has nothing
/// to delete, and `replace` keeps only the plain elements.
fn added_items(
    items: &[Value],
    element: Option<&dyn PatchSchema>,
    path: &Path<'_>,
) -> Result<Vec<Value>> {
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let item_path = path.index(i);
        if let Value::Object(map) = item
            && let Some(directive) = Directive::of_map(map, &item_path)?
            && (directive != Directive::Merge || is_directive_marker(item))
        {
            continue;
        }
        match item {
            // A null element is data in a list, not a deletion.
            Value::Null => out.push(Value::Null),
            other => out.extend(added(other, element, &item_path)?),
        }
    }
    Ok(out)
}

/// Whether the elements of two lists that are to be merged are maps; `None` when both
/// are empty. The elements must all be of one kind, and not lists.
fn holds_maps(original: &[Value], patch: &[Value], path: &Path<'_>) -> Result<Option<bool>> {
    let mut first: Option<&Value> = None;
    for item in original.iter().chain(patch) {
        if item.is_array() {
            return Err(StrategicMergeError::ListOfLists {
                path: path.to_string(),
            });
        }
        match first {
            None => first = Some(item),
            Some(f) if std::mem::discriminant(f) != std::mem::discriminant(item) => {
                return Err(StrategicMergeError::MixedListElements {
                    path: path.to_string(),
                });
            }
            Some(_) => {}
        }
    }
    Ok(first.map(Value::is_object))
}

fn field_meta<'s>(
    schema: Option<&'s dyn PatchSchema>,
    field: &str,
) -> Option<(&'s PatchMeta, Option<&'s dyn PatchSchema>)> {
    schema
        .and_then(|s| s.field(field))
        .map(|f| (f.meta, f.value))
}

fn merge_key(meta: &PatchMeta) -> Option<&str> {
    meta.merge_key.as_deref()
}

/// The list a `$setElementOrder` directive orders, if there is one; it must be a list.
fn list_at<'m>(
    map: &'m Map<String, Value>,
    field: &str,
    path: &Path<'_>,
) -> Result<Option<&'m [Value]>> {
    match map.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(list)) => Ok(Some(list)),
        Some(other) => Err(StrategicMergeError::KindMismatch {
            path: path.to_string(),
            expected: "a list",
            side: "original or patch",
            found: kind_name(other),
        }),
    }
}
