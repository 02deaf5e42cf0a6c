//! The patch directives: `$patch`, `$retainKeys`, `$deleteFromPrimitiveList/<field>`,
//! `$setElementOrder/<field>`, and the parts of their handling both flavors share.

use serde_json::{Map, Value};

use super::error::{Path, StrategicMergeError, display_value};

/// `$patch: replace|delete|merge`, on a map or as a list element.
pub(crate) const PATCH: &str = "$patch";
const RETAIN_KEYS: &str = "$retainKeys";
const DELETE_FROM_PRIMITIVE_LIST: &str = "$deleteFromPrimitiveList";
const SET_ELEMENT_ORDER: &str = "$setElementOrder";

/// The value of a `$patch` directive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Directive {
    Replace,
    Delete,
    Merge,
}

impl Directive {
    /// Parses a `$patch` value; anything but the three known strings is an error.
    pub(crate) fn parse(value: &Value, path: &Path<'_>) -> Result<Directive, StrategicMergeError> {
        match value.as_str() {
            Some("replace") => Ok(Directive::Replace),
            Some("delete") => Ok(Directive::Delete),
            Some("merge") => Ok(Directive::Merge),
            _ => Err(StrategicMergeError::UnknownDirective {
                path: path.to_string(),
                value: display_value(value),
            }),
        }
    }

    /// The `$patch` directive of a map, if it has one.
    pub(crate) fn of_map(
        map: &Map<String, Value>,
        path: &Path<'_>,
    ) -> Result<Option<Directive>, StrategicMergeError> {
        map.get(PATCH)
            .map(|v| Directive::parse(v, path))
            .transpose()
    }
}

/// A map key that is a directive rather than a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DirectiveKey<'k> {
    Patch,
    RetainKeys,
    DeleteFromPrimitiveList(&'k str),
    SetElementOrder(&'k str),
}

impl<'k> DirectiveKey<'k> {
    /// Classifies `key`: `Ok(None)` for an ordinary field. A key that starts like a
    /// parallel-list directive but names no field is an error rather than a field, so a
    /// typo cannot slip into the object.
    pub(crate) fn classify(
        key: &'k str,
        path: &Path<'_>,
    ) -> Result<Option<DirectiveKey<'k>>, StrategicMergeError> {
        if !key.starts_with('$') {
            return Ok(None);
        }
        if key == PATCH {
            return Ok(Some(DirectiveKey::Patch));
        }
        if key == RETAIN_KEYS {
            return Ok(Some(DirectiveKey::RetainKeys));
        }
        for (prefix, make) in [
            (
                DELETE_FROM_PRIMITIVE_LIST,
                DirectiveKey::DeleteFromPrimitiveList as fn(&'k str) -> DirectiveKey<'k>,
            ),
            (SET_ELEMENT_ORDER, DirectiveKey::SetElementOrder),
        ] {
            if let Some(rest) = key.strip_prefix(prefix) {
                return match rest.strip_prefix('/') {
                    Some(field) if !field.is_empty() => Ok(Some(make(field))),
                    _ => Err(StrategicMergeError::MalformedDirectiveKey {
                        path: path.to_string(),
                        key: prefix.to_owned(),
                    }),
                };
            }
        }
        Ok(None)
    }
}

/// The parallel directives of one patch map, pulled out so that the field merge sees
/// only fields.
#[derive(Debug, Default)]
pub(crate) struct ParallelDirectives<'p> {
    pub(crate) retain_keys: Option<&'p Vec<Value>>,
    pub(crate) delete_from: Vec<(&'p str, &'p Vec<Value>)>,
    pub(crate) set_order: Vec<(&'p str, &'p Vec<Value>)>,
}

impl<'p> ParallelDirectives<'p> {
    /// Collects the directives of `patch` and checks their shape.
    pub(crate) fn of(
        patch: &'p Map<String, Value>,
        path: &Path<'_>,
    ) -> Result<ParallelDirectives<'p>, StrategicMergeError> {
        let mut found = ParallelDirectives::default();
        for (key, value) in patch {
            let Some(directive) = DirectiveKey::classify(key, path)? else {
                continue;
            };
            let as_list = || {
                value
                    .as_array()
                    .ok_or_else(|| StrategicMergeError::DirectiveNotAList {
                        path: path.to_string(),
                        directive: key.clone(),
                    })
            };
            match directive {
                DirectiveKey::Patch => {}
                DirectiveKey::RetainKeys => found.retain_keys = Some(as_list()?),
                DirectiveKey::DeleteFromPrimitiveList(field) => {
                    let list = as_list()?;
                    if list.iter().any(|v| v.is_object() || v.is_array()) {
                        return Err(StrategicMergeError::DeleteFromNonPrimitiveList {
                            path: path.field(field).to_string(),
                        });
                    }
                    found.delete_from.push((field, list));
                }
                DirectiveKey::SetElementOrder(field) => found.set_order.push((field, as_list()?)),
            }
        }
        Ok(found)
    }

    /// Applies `$retainKeys`: every field the patch sets must be listed, and fields of
    /// `target` that are not listed are dropped.
    pub(crate) fn retain_keys(
        &self,
        target: &mut Map<String, Value>,
        patch: &Map<String, Value>,
        path: &Path<'_>,
    ) -> Result<(), StrategicMergeError> {
        let Some(keep) = self.retain_keys else {
            return Ok(());
        };
        let listed = |key: &str| keep.iter().any(|k| k.as_str() == Some(key));
        for (key, value) in patch {
            if value.is_null() || matches!(DirectiveKey::classify(key, path), Ok(Some(_))) {
                continue;
            }
            if !listed(key) {
                return Err(StrategicMergeError::NotInRetainKeys {
                    path: path.to_string(),
                    field: key.clone(),
                });
            }
        }
        target.retain(|key, _| listed(key));
        Ok(())
    }

    /// Applies `$deleteFromPrimitiveList/<field>` to the lists of `target`.
    pub(crate) fn delete_from_lists(&self, target: &mut Map<String, Value>) {
        for (field, doomed) in &self.delete_from {
            if let Some(Value::Array(list)) = target.get_mut(*field) {
                list.retain(|v| !doomed.contains(v));
            }
        }
    }
}

/// Removes directives from a value copied verbatim from the patch (a replaced list,
/// say): `$patch: delete` maps and directive-only list elements go, other directive keys
/// are dropped. Nulls stay, as kustomize keeps them in replaced lists. `None` means the
/// value itself is deleted.
pub(crate) fn strip_directives(
    value: &Value,
    path: &Path<'_>,
) -> Result<Option<Value>, StrategicMergeError> {
    match value {
        Value::Object(map) => {
            if Directive::of_map(map, path)? == Some(Directive::Delete) {
                return Ok(None);
            }
            let mut out = Map::new();
            for (key, v) in map {
                if DirectiveKey::classify(key, path)?.is_some() {
                    continue;
                }
                if let Some(v) = strip_directives(v, &path.field(key))? {
                    out.insert(key.clone(), v);
                }
            }
            Ok(Some(Value::Object(out)))
        }
        Value::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                if let Value::Object(m) = item
                    && is_directive_marker(item)
                {
                    Directive::of_map(m, &path.index(i))?;
                    continue;
                }
                if let Some(v) = strip_directives(item, &path.index(i))? {
                    out.push(v);
                }
            }
            Ok(Some(Value::Array(out)))
        }
        other => Ok(Some(other.clone())),
    }
}

/// A list element that only carries `$patch` (e.g. `- $patch: replace`), aimed at the
/// list rather than at an element.
pub(crate) fn is_directive_marker(value: &Value) -> bool {
    matches!(value, Value::Object(m) if m.len() == 1 && m.contains_key(PATCH))
}
