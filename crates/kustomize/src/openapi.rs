//! `openapi`: a custom OpenAPI document giving the patch strategies of custom kinds
//! (`x-kubernetes-patch-strategy`, `x-kubernetes-patch-merge-key`,
//! `x-kubernetes-list-map-keys`).

use std::borrow::Cow;
use std::collections::HashMap;

use serde_json::Value;

use crate::strategic_merge::{FieldSchema, PatchMeta, PatchSchema, PatchStrategy};

/// How deep `$ref`s are followed (recursive schemas are cut there).
const MAX_DEPTH: usize = 24;

/// The patch strategies of one object type, read from OpenAPI.
#[derive(Debug, Default)]
pub(crate) struct Node {
    fields: HashMap<String, (PatchMeta, Option<Box<Node>>)>,
}

impl PatchSchema for Node {
    fn field(&self, name: &str) -> Option<FieldSchema<'_>> {
        self.fields.get(name).map(|(meta, node)| FieldSchema {
            meta,
            value: node.as_deref().map(|n| n as &dyn PatchSchema),
        })
    }
}

/// The kinds of a custom OpenAPI document.
#[derive(Debug, Default)]
pub(crate) struct OpenApi {
    kinds: Vec<((String, String, String), Node)>,
}

impl OpenApi {
    /// Reads the `definitions` of an OpenAPI (v2) document.
    pub(crate) fn parse(doc: &Value) -> OpenApi {
        let defs = doc.get("definitions").and_then(Value::as_object);
        let mut kinds = Vec::new();
        for def in defs.into_iter().flat_map(|d| d.values()) {
            let gvks = def
                .get("x-kubernetes-group-version-kind")
                .and_then(Value::as_array);
            for gvk in gvks.into_iter().flatten() {
                let s = |f: &str| gvk.get(f).and_then(Value::as_str).unwrap_or("").to_string();
                let node = build(doc, def, 0);
                kinds.push(((s("group"), s("version"), s("kind")), node));
            }
        }
        OpenApi { kinds }
    }

    /// The schema of a group/version/kind, if the document has it.
    pub(crate) fn lookup(&self, group: &str, version: &str, kind: &str) -> Option<&Node> {
        self.kinds
            .iter()
            .find(|((g, v, k), _)| g == group && v == version && k == kind)
            .map(|(_, n)| n)
    }
}

fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    let mut s = schema;
    for _ in 0..8 {
        let Some(r) = s.get("$ref").and_then(Value::as_str) else {
            break;
        };
        let name = r.trim_start_matches("#/definitions/");
        match doc.get("definitions").and_then(|d| d.get(name)) {
            Some(next) => s = next,
            None => break,
        }
    }
    s
}

fn build(doc: &Value, schema: &Value, depth: usize) -> Node {
    let mut node = Node::default();
    if depth > MAX_DEPTH {
        return node;
    }
    let schema = resolve(doc, schema);
    let props = schema.get("properties").and_then(Value::as_object);
    for (name, prop) in props.into_iter().flatten() {
        let strategy = prop
            .get("x-kubernetes-patch-strategy")
            .and_then(Value::as_str)
            .unwrap_or("");
        let merge_key = prop
            .get("x-kubernetes-patch-merge-key")
            .and_then(Value::as_str);
        let list_map_keys: Vec<Cow<'static, str>> = prop
            .get("x-kubernetes-list-map-keys")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(|s| Cow::Owned(s.to_string()))
            .collect();
        let meta = PatchMeta {
            strategy: if strategy.split(',').any(|s| s == "merge") {
                PatchStrategy::Merge
            } else if strategy.split(',').any(|s| s == "replace") {
                PatchStrategy::Replace
            } else {
                PatchStrategy::Default
            },
            merge_key: merge_key.map(|k| Cow::Owned(k.to_string())),
            list_map_keys: Cow::Owned(list_map_keys),
            retain_keys: strategy.split(',').any(|s| s == "retainKeys"),
            in_kustomize_schema: true,
        };
        let prop = resolve(doc, prop);
        let value_schema = match prop.get("items") {
            Some(items) => items,
            None => prop,
        };
        let child = build(doc, value_schema, depth + 1);
        let child = (!child.fields.is_empty()).then(|| Box::new(child));
        node.fields.insert(name.clone(), (meta, child));
    }
    node
}
