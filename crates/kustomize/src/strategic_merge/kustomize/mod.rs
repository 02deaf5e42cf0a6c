//! Strategic merge as kustomize applies it (`kubectl kustomize`, Flux's
//! kustomize-controller): the kyaml walker (`sigs.k8s.io/kustomize/kyaml/yaml/merge2`),
//! reproduced on JSON values so that builds give byte-for-byte the objects kustomize
//! gives, quirks included (see the module docs of `strategic_merge` for the list).
//!
//! kyaml walks the original ("dest") and the patch ("origin") side by side. A node is
//! either missing (`None`) or present, and a present node may be null.

mod associative_list;

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::directives::{Directive, DirectiveKey, PATCH, ParallelDirectives, strip_directives};
use super::error::{Path, StrategicMergeError, kind_name};
use super::ordering;
use super::schema::{PatchMeta, PatchSchema};
use super::{Flavor, lookup};

type Result<T> = std::result::Result<T, StrategicMergeError>;

/// A value as the walker sees it: `None` when the field is absent.
type Node = Option<Value>;

/// What walking one field produced.
#[derive(Debug)]
enum Walked {
    /// Remove the field.
    Clear,
    /// Keep the original's explicit `null` (kyaml preserves it when the patch does not
    /// mention the field).
    KeepNull,
    /// Set the field; a `null` value still removes it.
    Set(Value, Source),
}

/// Whether a walked value is the original's node (merged into) or the patch's. It
/// matters because kyaml merges list elements in place: only a result that *is* the
/// original element changes the original list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Dest,
    Origin,
}

/// The schema of the node being walked: its field's patch metadata and the schema of
/// its value (for a list, of its elements).
#[derive(Clone, Copy)]
struct Field<'s> {
    meta: Option<&'s PatchMeta>,
    schema: Option<&'s dyn PatchSchema>,
}

impl<'s> Field<'s> {
    const UNKNOWN: Field<'static> = Field {
        meta: None,
        schema: None,
    };

    /// The schema of field `name` below this one, as kustomize's v1.21 OpenAPI knows it.
    fn child(schema: Option<&'s dyn PatchSchema>, name: &str) -> Field<'s> {
        match schema
            .and_then(|s| s.field(name))
            .filter(|f| f.meta.in_kustomize_schema)
        {
            Some(f) => Field {
                meta: Some(f.meta),
                schema: f.value,
            },
            None => Field::UNKNOWN,
        }
    }

    /// Where the schema is unknown, kyaml takes it from the `apiVersion` and `kind` of
    /// the map being walked, if it names a built-in type.
    fn or_from_type_meta(self, dest: &Node, origin: &Node) -> Field<'s> {
        if self.meta.is_some() || self.schema.is_some() {
            return self;
        }
        let found = [dest, origin].into_iter().flatten().find_map(|v| {
            let m = v.as_object()?;
            let api_version = m.get("apiVersion")?.as_str().filter(|s| !s.is_empty())?;
            let kind = m.get("kind")?.as_str().filter(|s| !s.is_empty())?;
            lookup(api_version, kind, Flavor::Kustomize)
        });
        match found {
            Some(schema) => Field {
                meta: None,
                schema: Some(schema),
            },
            None => self,
        }
    }
}

/// Merges `patch` into `original`; `None` when the patch deletes the whole object
/// (`$patch: delete` at the top).
pub(super) fn merge(
    original: Map<String, Value>,
    patch: &Map<String, Value>,
    schema: Option<&dyn PatchSchema>,
) -> Result<Option<Value>> {
    let field = Field { meta: None, schema };
    let walked = walk(
        Some(Value::Object(original)),
        Some(Value::Object(patch.clone())),
        field,
        &Path::Root,
    )?;
    Ok(match walked {
        Walked::Set(v, _) if !v.is_null() => Some(v),
        _ => None,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NodeKind {
    Map,
    List,
    Scalar,
}

impl NodeKind {
    fn of(value: &Value) -> NodeKind {
        match value {
            Value::Object(_) => NodeKind::Map,
            Value::Array(_) => NodeKind::List,
            _ => NodeKind::Scalar,
        }
    }

    fn name(self) -> &'static str {
        match self {
            NodeKind::Map => "a map",
            NodeKind::List => "a list",
            NodeKind::Scalar => "a scalar",
        }
    }
}

fn walk(dest: Node, origin: Node, field: Field<'_>, path: &Path<'_>) -> Result<Walked> {
    let field = field.or_from_type_meta(&dest, &origin);
    // The first non-null node decides what the field is; the other must agree.
    let kind = [&dest, &origin]
        .into_iter()
        .flatten()
        .find(|v| !v.is_null())
        .map(NodeKind::of);
    if let Some(expected) = kind
        && let Some(other) = origin
            .as_ref()
            .filter(|o| !o.is_null() && NodeKind::of(o) != expected)
    {
        return Err(StrategicMergeError::KindMismatch {
            path: path.to_string(),
            expected: expected.name(),
            side: "patch",
            found: kind_name(other),
        });
    }
    match kind {
        None | Some(NodeKind::Map) => walk_map(dest, origin, field.schema, path),
        Some(NodeKind::List) => match field.meta {
            Some(meta) if meta.merges_lists() => {
                associative_list::merge_list(dest, origin, meta, field.schema, path)
            }
            _ => walk_atomic_list(dest, origin, path),
        },
        Some(NodeKind::Scalar) => Ok(match (origin, dest) {
            (Some(o), _) => Walked::Set(o, Source::Origin),
            (None, Some(d)) => Walked::Set(d, Source::Dest),
            (None, None) => Walked::Clear,
        }),
    }
}

/// Lists without the `merge` strategy: the patch's list replaces the original's.
fn walk_atomic_list(dest: Node, origin: Node, path: &Path<'_>) -> Result<Walked> {
    Ok(match (origin, dest) {
        (Some(Value::Null), _) => Walked::Clear,
        // kyaml copies the list verbatim; its directives are carried out here instead,
        // so that none reaches the output.
        (Some(o), _) => match strip_directives(&o, path)? {
            Some(v) => Walked::Set(v, Source::Origin),
            None => Walked::Clear,
        },
        (None, Some(d)) => Walked::Set(d, Source::Dest),
        (None, None) => Walked::Clear,
    })
}

/// Removes and returns the `$patch` directive of a map.
fn take_directive(node: &mut Node, path: &Path<'_>) -> Result<Option<Directive>> {
    let Some(Value::Object(map)) = node else {
        return Ok(None);
    };
    let directive = Directive::of_map(map, path)?;
    map.remove(PATCH);
    Ok(directive)
}

fn walk_map(
    dest: Node,
    mut origin: Node,
    schema: Option<&dyn PatchSchema>,
    path: &Path<'_>,
) -> Result<Walked> {
    let (dest, source) = if dest.as_ref().is_none_or(Value::is_null) {
        // Nothing to merge into: the patch's map is added. (kyaml ignores an unknown
        // directive here and copies it into the output; this is an error instead.)
        if take_directive(&mut origin, path)? == Some(Directive::Delete) {
            return Ok(Walked::Clear);
        }
        if origin.is_none() {
            // An explicit null of the original that the patch leaves alone stays.
            return Ok(if dest.is_some() {
                Walked::KeepNull
            } else {
                Walked::Clear
            });
        }
        (origin.clone(), Source::Origin)
    } else if origin.as_ref().is_some_and(Value::is_null) {
        return Ok(Walked::Clear);
    } else {
        match take_directive(&mut origin, path)? {
            Some(Directive::Delete) => return Ok(Walked::Clear),
            Some(Directive::Replace) => (origin.clone(), Source::Origin),
            Some(Directive::Merge) | None => (dest, Source::Dest),
        }
    };
    let mut target = match dest {
        Some(Value::Object(map)) => map,
        Some(other) => return Ok(Walked::Set(other, source)),
        None => return Ok(Walked::Clear),
    };
    let empty = Map::new();
    let patch = match &origin {
        Some(Value::Object(map)) => map,
        _ => &empty,
    };

    // kyaml knows none of these directives and would copy them into the output; they
    // are carried out as the API server does.
    let directives = ParallelDirectives::of(patch, path)?;
    directives.retain_keys(&mut target, patch, path)?;
    target.retain(|key, _| !matches!(DirectiveKey::classify(key, path), Ok(Some(_))));
    // Deletions from primitive lists come before additions, as in the API server flavor.
    directives.delete_from_lists(&mut target);
    let mut orders = Vec::with_capacity(directives.set_order.len());
    for (name, order) in &directives.set_order {
        let field_path = path.field(name);
        let key = Field::child(schema, name)
            .meta
            .and_then(|m| m.merge_key.as_deref());
        let patch_list = patch.get(*name).and_then(Value::as_array);
        ordering::validate_set_element_order(
            patch_list.map_or(&[][..], Vec::as_slice),
            order,
            key,
            &field_path,
        )?;
        let before = target
            .get(*name)
            .and_then(Value::as_array)
            .map(|list| ordering::stand_ins(list, key))
            .unwrap_or_default();
        orders.push((*name, *order, before, key));
    }

    let mut names = BTreeSet::new();
    for key in target.keys().chain(patch.keys()) {
        if DirectiveKey::classify(key, path)?.is_none() {
            names.insert(key.clone());
        }
    }
    for name in names {
        let field_path = path.field(&name);
        let walked = walk(
            target.remove(&name),
            patch.get(&name).cloned(),
            Field::child(schema, &name),
            &field_path,
        )?;
        match walked {
            Walked::Clear => {}
            Walked::KeepNull => {
                target.insert(name, Value::Null);
            }
            Walked::Set(Value::Null, _) => {}
            Walked::Set(v, _) => {
                target.insert(name, v);
            }
        }
    }

    for (name, order, before, key) in orders {
        if let Some(Value::Array(list)) = target.remove(name) {
            let field_path = path.field(name);
            let list = ordering::apply_set_element_order(list, order, &before, key, &field_path)?;
            target.insert(name.to_owned(), Value::Array(list));
        }
    }
    Ok(Walked::Set(Value::Object(target), source))
}
