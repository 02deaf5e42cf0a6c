//! Legacy `vars`: `$(NAME)` in string fields replaced by a field of another resource.

use serde::Deserialize;
use serde_json::Value;

use crate::error::BuildError;
use crate::resource::Resource;

/// A `vars` entry.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Var {
    /// The variable's name, used as `$(NAME)`.
    pub name: String,
    /// The resource it reads.
    pub objref: ObjRef,
    /// The field it reads.
    pub fieldref: FieldRef,
    /// The resource it was bound to where it was declared.
    #[serde(skip)]
    pub(crate) bound: Option<usize>,
}

/// `vars[].objref`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ObjRef {
    /// Kind.
    pub kind: String,
    /// Name (as the declaring kustomization knows it).
    pub name: String,
    /// Namespace.
    pub namespace: Option<String>,
    /// apiVersion.
    pub api_version: Option<String>,
}

/// `vars[].fieldref`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct FieldRef {
    /// Dotted path with `[n]` indices; `metadata.name` when empty.
    pub fieldpath: String,
}

/// Reads a dotted field path (`spec.ports[0].port`) from `value`.
fn field<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    let mut v = value;
    for seg in path.split('.') {
        let (key, indices) = match seg.find('[') {
            Some(i) => (&seg[..i], &seg[i..]),
            None => (seg, ""),
        };
        if !key.is_empty() {
            v = v.get(key)?;
        }
        for idx in indices.split('[').filter(|s| !s.is_empty()) {
            let idx: usize = idx.trim_end_matches(']').parse().ok()?;
            v = v.get(idx)?;
        }
    }
    Some(v)
}

/// The resources `var`'s objref names.
pub(crate) fn candidates<'a>(var: &Var, resources: &'a [Resource]) -> Vec<&'a Resource> {
    if let Some(uid) = var.bound {
        return resources.iter().filter(|r| r.uid == uid).collect();
    }
    let group = var
        .objref
        .api_version
        .as_deref()
        .and_then(|a| a.split_once('/'))
        .map(|(g, _)| g);
    resources
        .iter()
        .filter(|r| {
            let id = r.id();
            id.kind == var.objref.kind
                && r.had_name(&var.objref.name)
                && group.is_none_or(|g| g == id.group)
                && var
                    .objref
                    .namespace
                    .as_deref()
                    .is_none_or(|ns| ns == id.namespace || ns == r.orig_ns)
        })
        .collect()
}

fn resolve(var: &Var, resources: &[Resource], origin: &str) -> Result<Value, BuildError> {
    let found = candidates(var, resources);
    let r = match found.as_slice() {
        [r] => *r,
        [] => {
            return Err(BuildError::other(
                origin,
                format!(
                    "var '{}' cannot be mapped to a field in the set of known resources",
                    var.name
                ),
            ));
        }
        _ => {
            return Err(BuildError::other(
                origin,
                format!(
                    "unable to disambiguate var '{}': {} resources match",
                    var.name,
                    found.len()
                ),
            ));
        }
    };
    let path = if var.fieldref.fieldpath.is_empty() {
        "metadata.name"
    } else {
        &var.fieldref.fieldpath
    };
    field(&r.value, path).cloned().ok_or_else(|| {
        BuildError::other(
            origin,
            format!("var '{}': field '{path}' not found in {}", var.name, r.id()),
        )
    })
}

fn as_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn substitute(value: &mut Value, vars: &[(String, Value)]) {
    match value {
        Value::String(s) if s.contains("$(") => {
            for (name, val) in vars {
                let token = format!("$({name})");
                if *s == token {
                    *value = val.clone();
                    return;
                }
                if s.contains(&token) {
                    *s = s.replace(&token, &as_text(val));
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| substitute(v, vars)),
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if k != "metadata" {
                    substitute(v, vars);
                } else if let Value::Object(meta) = v {
                    for (mk, mv) in meta.iter_mut() {
                        if mk != "name" && mk != "namespace" {
                            substitute(mv, vars);
                        }
                    }
                }
            }
        }
        _ => {}
    }
}

/// Resolves `vars` against the final resources and replaces every `$(NAME)`.
pub(crate) fn apply(
    resources: &mut [Resource],
    vars: &[Var],
    origin: &str,
) -> Result<(), BuildError> {
    if vars.is_empty() {
        return Ok(());
    }
    let mut values = Vec::with_capacity(vars.len());
    for var in vars {
        values.push((var.name.clone(), resolve(var, resources, origin)?));
    }
    // Longer names first so that `$(AB)` is not cut by `$(A)`.
    values.sort_by_key(|v| std::cmp::Reverse(v.0.len()));
    for r in resources {
        substitute(&mut r.value, &values);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn field_paths_and_substitution() {
        let v = json!({"spec": {"ports": [{"port": 80}]}});
        assert_eq!(field(&v, "spec.ports[0].port"), Some(&json!(80)));
        let mut doc = json!({"args": ["--port=$(PORT)", "$(PORT)"]});
        substitute(&mut doc, &[("PORT".into(), json!(80))]);
        assert_eq!(doc, json!({"args": ["--port=80", 80]}));
    }
}
