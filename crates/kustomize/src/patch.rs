//! `patches`, `patchesStrategicMerge` and `patchesJson6902`: selecting targets and
//! applying strategic merge or JSON 6902 patches.

use serde_json::{Map, Value};

use crate::error::BuildError;
use crate::kustomization::{PatchOptions, Target};
use crate::openapi::OpenApi;
use crate::resource::{Resource, str_at};
use crate::strategic_merge::{Flavor, strategic_merge, strategic_merge_builtin};

/// A parsed patch.
#[derive(Debug)]
pub(crate) enum ParsedPatch {
    /// Strategic merge patch documents.
    Strategic(Vec<Value>),
    /// A JSON 6902 patch.
    Json6902(json_patch::Patch),
}

/// Parses patch text: a YAML/JSON list is JSON 6902, maps are strategic merge patches
/// (none when the text holds no document).
pub(crate) fn parse(text: &str, origin: &str) -> Result<ParsedPatch, BuildError> {
    let docs = crate::yaml::parse_yaml_docs(text, origin)?;
    if docs.len() == 1 && docs[0].is_array() {
        let p: json_patch::Patch =
            serde_json::from_value(docs[0].clone()).map_err(|e| BuildError::Invalid {
                path: origin.into(),
                field: "patch".into(),
                message: e.to_string(),
            })?;
        return Ok(ParsedPatch::Json6902(p));
    }
    Ok(ParsedPatch::Strategic(docs))
}

fn anchored(pattern: &str, value: &str, origin: &str) -> Result<bool, BuildError> {
    let re = regex::Regex::new(&format!("^(?:{pattern})$")).map_err(|e| BuildError::Invalid {
        path: origin.into(),
        field: "target".into(),
        message: e.to_string(),
    })?;
    Ok(re.is_match(value))
}

/// Splits a selector on commas outside parentheses.
fn terms(selector: &str) -> Vec<String> {
    let mut out = Vec::new();
    let (mut depth, mut cur) = (0, String::new());
    for c in selector.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    out.push(cur);
    out.into_iter()
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .collect()
}

/// Whether the map `labels` matches a Kubernetes label selector string.
pub(crate) fn selector_matches(selector: &str, labels: Option<&Map<String, Value>>) -> bool {
    let get = |k: &str| labels.and_then(|m| m.get(k)).and_then(Value::as_str);
    terms(selector).iter().all(|t| {
        let set = |rest: &str| -> Vec<String> {
            rest.trim()
                .trim_start_matches('(')
                .trim_end_matches(')')
                .split(',')
                .map(|s| s.trim().to_string())
                .collect()
        };
        if let Some((k, v)) = t.split_once("!=") {
            get(k.trim()) != Some(v.trim())
        } else if let Some((k, v)) = t.split_once("==").or_else(|| t.split_once('=')) {
            get(k.trim()) == Some(v.trim())
        } else if let Some((k, rest)) = t.split_once(" notin ") {
            get(k.trim()).is_none_or(|v| !set(rest).iter().any(|s| s == v))
        } else if let Some((k, rest)) = t.split_once(" in ") {
            get(k.trim()).is_some_and(|v| set(rest).iter().any(|s| s == v))
        } else if let Some(k) = t.strip_prefix('!') {
            get(k.trim()).is_none()
        } else {
            get(t).is_some()
        }
    })
}

/// Whether resource `r` is selected by `target`.
pub(crate) fn matches(r: &Resource, target: &Target, origin: &str) -> Result<bool, BuildError> {
    let id = r.id();
    if let Some(g) = &target.group
        && *g != id.group
    {
        return Ok(false);
    }
    if let Some(v) = &target.version
        && *v != id.version
    {
        return Ok(false);
    }
    if let Some(k) = &target.kind
        && !anchored(k, &id.kind, origin)?
    {
        return Ok(false);
    }
    if let Some(n) = &target.name {
        let mut any = false;
        for name in r.names.iter().rev() {
            if anchored(n, name, origin)? {
                any = true;
                break;
            }
        }
        if !any {
            return Ok(false);
        }
    }
    if let Some(ns) = &target.namespace
        && !anchored(ns, &id.namespace, origin)?
    {
        return Ok(false);
    }
    let meta = |f: &str| {
        r.value
            .get("metadata")
            .and_then(|m| m.get(f))
            .and_then(Value::as_object)
    };
    if let Some(sel) = &target.label_selector
        && !selector_matches(sel, meta("labels"))
    {
        return Ok(false);
    }
    if let Some(sel) = &target.annotation_selector
        && !selector_matches(sel, meta("annotations"))
    {
        return Ok(false);
    }
    Ok(true)
}

/// Applies one strategic merge patch document to `r`; `None` when it deletes it.
fn smp(
    r: &Resource,
    patch: &Value,
    origin: &str,
    openapi: Option<&OpenApi>,
) -> Result<Option<Value>, BuildError> {
    let id = r.id();
    let custom = openapi.and_then(|o| o.lookup(&id.group, &id.version, &id.kind));
    let merged = match custom {
        Some(node) => strategic_merge(&r.value, patch, Some(node), Flavor::Kustomize),
        None => strategic_merge_builtin(&r.value, patch, Flavor::Kustomize),
    }
    .map_err(|source| BuildError::StrategicMerge {
        path: origin.into(),
        source,
    })?;
    Ok((!merged.is_null()).then_some(merged))
}

/// Applies a patch to the resources, to those `target` selects or (strategic merge
/// without target) to the one each patch document names.
pub(crate) fn apply(
    resources: &mut Vec<Resource>,
    patch: &ParsedPatch,
    target: Option<&Target>,
    options: PatchOptions,
    origin: &str,
    openapi: Option<&OpenApi>,
) -> Result<(), BuildError> {
    match patch {
        ParsedPatch::Json6902(p) => {
            let Some(target) = target else {
                return Err(BuildError::other(origin, "JSON 6902 patch needs a target"));
            };
            for r in resources.iter_mut() {
                if matches(r, target, origin)? {
                    json_patch::patch(&mut r.value, p).map_err(|e| BuildError::Invalid {
                        path: origin.into(),
                        field: "patch".into(),
                        message: e.to_string(),
                    })?;
                    sync_name(r);
                }
            }
        }
        ParsedPatch::Strategic(docs) => {
            for doc in docs {
                if target.is_none() && resources.iter().filter(|r| names_match(r, doc)).count() > 1
                {
                    let id = crate::resource::ResId::of(doc);
                    return Err(BuildError::other(
                        origin,
                        format!(
                            "multiple matches for Id {id}; failed to find unique target for patch {id}"
                        ),
                    ));
                }
                let mut keep = Vec::with_capacity(resources.len());
                let mut hit = 0;
                for mut r in std::mem::take(resources) {
                    let selected = match target {
                        Some(t) => matches(&r, t, origin)?,
                        None => names_match(&r, doc),
                    };
                    if !selected {
                        keep.push(r);
                        continue;
                    }
                    hit += 1;
                    let mut doc = doc.clone();
                    if target.is_some() {
                        retarget(&mut doc, &r, options);
                    } else if let Some(Value::Object(meta)) = doc.get_mut("metadata") {
                        meta.insert("name".into(), Value::String(r.name().to_string()));
                        if meta.contains_key("namespace") {
                            meta.insert(
                                "namespace".into(),
                                r.value["metadata"]["namespace"].clone(),
                            );
                        }
                    }
                    if let Some(v) = smp(&r, &doc, origin, openapi)? {
                        r.value = v;
                        sync_name(&mut r);
                        keep.push(r);
                    }
                }
                *resources = keep;
                if hit == 0 && target.is_none() {
                    return Err(BuildError::other(
                        origin,
                        format!(
                            "failed to find unique target for patch {}",
                            crate::resource::ResId::of(doc)
                        ),
                    ));
                }
            }
        }
    }
    Ok(())
}

/// A patch with a target applies whatever its own metadata says: name, namespace and
/// type become the target's.
fn retarget(doc: &mut Value, r: &Resource, options: PatchOptions) {
    let Value::Object(m) = doc else { return };
    if !options.allow_kind_change && m.contains_key("apiVersion") {
        m.insert("apiVersion".into(), r.value["apiVersion"].clone());
    }
    if m.contains_key("kind") && !options.allow_kind_change {
        m.insert("kind".into(), r.value["kind"].clone());
    }
    if let Some(Value::Object(meta)) = m.get_mut("metadata") {
        if meta.contains_key("name") && !options.allow_name_change {
            meta.insert("name".into(), Value::String(r.name().to_string()));
        }
        if meta.contains_key("namespace") {
            meta.insert("namespace".into(), r.value["metadata"]["namespace"].clone());
        }
    }
}

fn names_match(r: &Resource, doc: &Value) -> bool {
    let id = r.id();
    let kind = str_at(doc, &["kind"]);
    let name = str_at(doc, &["metadata", "name"]);
    let ns = str_at(doc, &["metadata", "namespace"]);
    let api = str_at(doc, &["apiVersion"]);
    let group = api.split_once('/').map(|(g, _)| g).unwrap_or("");
    kind == id.kind
        && r.had_name(name)
        && (ns.is_empty() || ns == id.namespace || ns == r.orig_ns)
        && (api.is_empty() || group == id.group)
}

fn sync_name(r: &mut Resource) {
    let name = r.name().to_string();
    if r.names.last() != Some(&name) {
        r.names.push(name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn label_selectors() {
        let labels = json!({"app": "a", "tier": "web"});
        let m = labels.as_object();
        assert!(selector_matches("app=a", m));
        assert!(selector_matches("app=a,tier", m));
        assert!(!selector_matches("app!=a", m));
        assert!(selector_matches("tier in (web, db)", m));
        assert!(!selector_matches("tier notin (web)", m));
        assert!(selector_matches("!missing", m));
    }
}
