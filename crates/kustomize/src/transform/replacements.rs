//! `replacements`: copy a field of one resource into fields of others.

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::error::BuildError;
use crate::kustomization::Target;
use crate::patch::matches;
use crate::resource::Resource;

/// A `replacements` entry (inline; `path:` entries are read by the build).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Replacement {
    /// A file holding replacements.
    pub path: Option<String>,
    /// Where the value comes from.
    pub source: Option<Source>,
    /// Where it goes.
    pub targets: Vec<ReplTarget>,
}

/// `replacements[].source`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Source {
    /// API group.
    pub group: Option<String>,
    /// API version.
    pub version: Option<String>,
    /// Kind.
    pub kind: Option<String>,
    /// Name.
    pub name: Option<String>,
    /// Namespace.
    pub namespace: Option<String>,
    /// Field to read; `metadata.name` when empty.
    pub field_path: Option<String>,
    /// Part of the value to take.
    pub options: Option<FieldOptions>,
}

/// `replacements[].targets[]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ReplTarget {
    /// Resources to change.
    pub select: Option<Target>,
    /// Resources not to change.
    pub reject: Vec<Target>,
    /// Fields to set.
    pub field_paths: Vec<String>,
    /// Part of the field to set, and whether to create it.
    pub options: Option<FieldOptions>,
}

/// `options` of a source or target.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct FieldOptions {
    /// Split the value on this.
    pub delimiter: Option<String>,
    /// Which part (after splitting).
    pub index: i64,
    /// Create missing fields.
    pub create: bool,
}

/// Splits a field path on dots outside brackets; `a[k=v]` becomes `a`, `[k=v]`.
fn segments(path: &str) -> Vec<String> {
    let (mut out, mut cur, mut depth) = (Vec::new(), String::new(), 0);
    for c in path.chars() {
        match c {
            '[' => {
                if depth == 0 && !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                depth += 1;
                cur.push(c);
            }
            ']' => {
                depth -= 1;
                cur.push(c);
            }
            '.' if depth == 0 => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Calls `f` on each value at `segs`, creating maps on the way when `create`.
fn walk(value: &mut Value, segs: &[String], create: bool, f: &mut dyn FnMut(&mut Value)) {
    let Some((seg, rest)) = segs.split_first() else {
        f(value);
        return;
    };
    if let Some(sel) = seg.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
        let (k, v) = sel.split_once('=').unwrap_or((sel, ""));
        if let Value::Array(items) = value {
            for item in items {
                let hit = if k.is_empty() {
                    item.as_str() == Some(v)
                } else {
                    item.get(k).map(|x| match x {
                        Value::String(s) => s.clone(),
                        o => o.to_string(),
                    }) == Some(v.to_string())
                };
                if hit {
                    walk(item, rest, create, f);
                }
            }
        }
        return;
    }
    match value {
        Value::Array(items) => {
            if seg == "*" {
                items.iter_mut().for_each(|i| walk(i, rest, create, f));
            } else if let Ok(i) = seg.parse::<usize>()
                && let Some(item) = items.get_mut(i)
            {
                walk(item, rest, create, f);
            }
        }
        Value::Object(map) => {
            if seg == "*" {
                map.values_mut().for_each(|v| walk(v, rest, create, f));
                return;
            }
            if !map.contains_key(seg.as_str()) {
                if !create {
                    return;
                }
                let fresh = if rest.is_empty() {
                    Value::Null
                } else {
                    Value::Object(Map::new())
                };
                map.insert(seg.clone(), fresh);
            }
            if let Some(next) = map.get_mut(seg.as_str()) {
                walk(next, rest, create, f);
            }
        }
        _ => {}
    }
}

fn part(value: &Value, options: Option<&FieldOptions>) -> Value {
    match (options.and_then(|o| o.delimiter.as_deref()), value) {
        (Some(d), Value::String(s)) => {
            let idx = options.map(|o| o.index).unwrap_or(0);
            let parts: Vec<&str> = s.split(d).collect();
            usize::try_from(idx)
                .ok()
                .and_then(|i| parts.get(i))
                .map(|p| Value::String((*p).to_string()))
                .unwrap_or_else(|| value.clone())
        }
        _ => value.clone(),
    }
}

fn set(target: &mut Value, new: &Value, options: Option<&FieldOptions>) {
    // A field just created is an empty string to split.
    if target.is_null() && options.is_some_and(|o| o.delimiter.is_some()) {
        *target = Value::String(String::new());
    }
    match (options.and_then(|o| o.delimiter.as_deref()), &*target) {
        (Some(d), Value::String(s)) => {
            let mut parts: Vec<String> = s.split(d).map(str::to_string).collect();
            let text = match new {
                Value::String(n) => n.clone(),
                o => o.to_string(),
            };
            let idx = options.map(|o| o.index).unwrap_or(0);
            match usize::try_from(idx) {
                Ok(i) if i < parts.len() => parts[i] = text,
                Ok(_) => parts.push(text),
                Err(_) => parts.insert(0, text),
            }
            *target = Value::String(parts.join(d));
        }
        _ => *target = new.clone(),
    }
}

fn source_value(
    r: &Replacement,
    resources: &[Resource],
    origin: &str,
) -> Result<Value, BuildError> {
    let Some(src) = &r.source else {
        return Err(BuildError::other(
            origin,
            "replacements: a replacement needs a source",
        ));
    };
    let found: Vec<&Resource> = resources
        .iter()
        .filter(|res| {
            let id = res.id();
            src.kind.as_deref().is_none_or(|k| k == id.kind)
                && src.group.as_deref().is_none_or(|g| g == id.group)
                && src.version.as_deref().is_none_or(|v| v == id.version)
                && src.name.as_deref().is_none_or(|n| res.had_name(n))
                && src
                    .namespace
                    .as_deref()
                    .is_none_or(|n| n == id.namespace || n == res.orig_ns)
        })
        .collect();
    let [res] = found.as_slice() else {
        return Err(BuildError::other(
            origin,
            format!(
                "replacements: {} resources match the source, expected exactly one",
                found.len()
            ),
        ));
    };
    let path = src.field_path.as_deref().unwrap_or("metadata.name");
    let mut copy = res.value.clone();
    let mut out = None;
    walk(&mut copy, &segments(path), false, &mut |v| {
        out = Some(v.clone())
    });
    let value = out.ok_or_else(|| {
        BuildError::other(
            origin,
            format!(
                "replacements: source field '{path}' not found in {}",
                res.id()
            ),
        )
    })?;
    Ok(part(&value, src.options.as_ref()))
}

/// Applies the replacements in order.
pub(crate) fn apply(
    resources: &mut [Resource],
    replacements: &[Replacement],
    origin: &str,
) -> Result<(), BuildError> {
    for r in replacements {
        let value = source_value(r, resources, origin)?;
        for t in &r.targets {
            for res in resources.iter_mut() {
                if let Some(sel) = &t.select
                    && !matches(res, sel, origin)?
                {
                    continue;
                }
                let mut rejected = false;
                for rej in &t.reject {
                    if matches(res, rej, origin)? {
                        rejected = true;
                    }
                }
                if rejected {
                    continue;
                }
                let create = t.options.as_ref().is_some_and(|o| o.create);
                for fp in &t.field_paths {
                    walk(&mut res.value, &segments(fp), create, &mut |v| {
                        set(v, &value, t.options.as_ref())
                    });
                }
                let name = res.name().to_string();
                if !res.had_name(&name) {
                    res.names.push(name);
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_with_selectors() {
        assert_eq!(
            segments("spec.containers.[name=a.b].image"),
            vec!["spec", "containers", "[name=a.b]", "image"]
        );
        let mut v = json!({"c": [{"name": "x", "image": "i"}, {"name": "y", "image": "j"}]});
        walk(&mut v, &segments("c[name=y].image"), false, &mut |x| {
            *x = json!("k")
        });
        assert_eq!(v["c"][1]["image"], json!("k"));
    }
}
