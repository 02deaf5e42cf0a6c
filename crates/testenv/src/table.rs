//! `meta.k8s.io/v1` Table responses, which `kubectl get` asks for: Name and
//! the CRD's printer columns (or Age), or a built-in kind's columns from
//! [`crate::printers`].

use axum::response::Response;
use k8s_openapi::jiff::Timestamp;
use serde_json::{Value, json};

use crate::errors::ApiError;
use crate::registry::ResourceType;
use crate::request::{Query, ResourcePath};
use crate::server::{Server, json_response};
use crate::store::Key;

/// A one-row table for one object.
pub fn get(server: &Server, path: &ResourcePath) -> Result<Response, ApiError> {
    let rt = &path.rt;
    let name = path.name.as_deref().unwrap_or_default();
    let key = Key::new(
        &rt.group,
        &rt.plural,
        path.namespace.as_deref().unwrap_or(""),
        name,
    );
    let obj = server
        .store
        .get(&key)
        .ok_or_else(|| ApiError::not_found(&rt.group, &rt.plural, name))?;
    Ok(json_response(
        200,
        &build(
            rt,
            &path.version,
            &[obj.as_ref().clone()],
            server.store.current_rv(),
        ),
    ))
}

/// A table of a collection (selectors honoured; paging via the list path).
pub fn list(server: &Server, path: &ResourcePath, query: &Query) -> Result<Response, ApiError> {
    let rt = &path.rt;
    let labels = crate::selectors::LabelSelector::parse(query.get("labelSelector").unwrap_or(""))
        .map_err(ApiError::bad_request)?;
    let fields =
        crate::selectors::FieldSelector::parse(query.get("fieldSelector").unwrap_or(""), &rt.kind)
            .map_err(ApiError::bad_request)?;
    let (objects, rv) = server
        .store
        .list(&rt.group, &rt.plural, path.namespace.as_deref());
    let items: Vec<Value> = objects
        .iter()
        .filter(|o| labels.matches(o) && fields.matches(o))
        .map(|o| o.as_ref().clone())
        .collect();
    Ok(json_response(200, &build(rt, &path.version, &items, rv)))
}

fn columns(rt: &ResourceType, version: &str) -> Vec<Value> {
    let custom = rt
        .custom
        .as_ref()
        .and_then(|c| {
            c.columns
                .iter()
                .find(|(v, _)| v == version)
                .map(|(_, cols)| cols.clone())
        })
        .and_then(|c| c.as_array().cloned());
    match custom {
        Some(cols) if !cols.is_empty() => cols,
        _ => {
            vec![json!({"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"})]
        }
    }
}

fn build(rt: &ResourceType, version: &str, items: &[Value], rv: u64) -> Value {
    if rt.custom.is_none() {
        let cols = crate::printers::columns(&rt.group, &rt.kind)
            .unwrap_or_else(crate::printers::default_columns);
        return crate::printers::table(&cols, items, rv);
    }
    let cols = columns(rt, version);
    let mut defs = vec![
        json!({"name": "Name", "type": "string", "format": "name", "description": "Name must be unique within a namespace.", "priority": 0}),
    ];
    for c in &cols {
        defs.push(json!({
            "name": c["name"],
            "type": c["type"],
            "format": c["format"].as_str().unwrap_or(""),
            "description": c["description"].as_str().unwrap_or(""),
            "priority": c["priority"].as_i64().unwrap_or(0),
        }));
    }
    let now = Timestamp::now();
    let rows: Vec<Value> = items
        .iter()
        .map(|obj| {
            let mut cells = vec![obj["metadata"]["name"].clone()];
            for c in &cols {
                let v = eval_path(obj, c["jsonPath"].as_str().unwrap_or(""));
                let cell = match (c["type"].as_str(), v) {
                    (Some("date"), Some(Value::String(s))) => json!(age(&s, now)),
                    (_, Some(v)) => v,
                    (_, None) => Value::Null,
                };
                cells.push(cell);
            }
            json!({
                "cells": cells,
                "object": {
                    "kind": "PartialObjectMetadata",
                    "apiVersion": "meta.k8s.io/v1",
                    "metadata": obj["metadata"],
                }
            })
        })
        .collect();
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": rv.to_string()},
        "columnDefinitions": defs,
        "rows": rows,
    })
}

/// Evaluates the JSONPath subset printer columns use: `.a.b`, `.a[0]`,
/// `.a[?(@.k=="v")].b`.
pub fn eval_path(obj: &Value, path: &str) -> Option<Value> {
    let mut current = vec![obj.clone()];
    let mut rest = path
        .trim()
        .trim_start_matches('{')
        .trim_end_matches('}')
        .trim_start_matches('$');
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            let field = &r[..end];
            current = current
                .iter()
                .filter_map(|v| v.get(field).cloned())
                .collect();
            rest = &r[end..];
        } else if let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']')?;
            let inner = &r[..end];
            rest = &r[end + 1..];
            if let Some(filter) = inner.strip_prefix("?(@.").and_then(|f| f.strip_suffix(')')) {
                let (k, v) = filter.split_once("==")?;
                let want = v.trim().trim_matches('"').trim_matches('\'');
                current = current
                    .iter()
                    .filter_map(Value::as_array)
                    .flatten()
                    .filter(|item| item[k.trim()].as_str() == Some(want))
                    .cloned()
                    .collect();
            } else if inner == "*" {
                current = current
                    .iter()
                    .filter_map(Value::as_array)
                    .flatten()
                    .cloned()
                    .collect();
            } else {
                let i: usize = inner.parse().ok()?;
                current = current.iter().filter_map(|v| v.get(i).cloned()).collect();
            }
        } else {
            return None;
        }
    }
    match current.len() {
        0 => None,
        1 => current.pop(),
        _ => Some(Value::String(
            current
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(String::from)
                        .unwrap_or_else(|| v.to_string())
                })
                .collect::<Vec<_>>()
                .join(","),
        )),
    }
}

/// kubectl's short human duration since a timestamp (`42s`, `5m`, `3h`, `2d`).
fn age(ts: &str, now: Timestamp) -> String {
    let Ok(then) = ts.parse::<Timestamp>() else {
        return "<invalid>".into();
    };
    let secs = (now.as_second() - then.as_second()).max(0);
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 3600 * 3 => format!("{}m", s / 60),
        s if s < 86400 * 2 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printer_column_paths() {
        let obj = json!({
            "spec": {"url": "https://x", "list": [{"a": 1}, {"a": 2}]},
            "status": {"conditions": [
                {"type": "Reconciling", "status": "True"},
                {"type": "Ready", "status": "False", "message": "boom"}
            ]}
        });
        assert_eq!(eval_path(&obj, ".spec.url"), Some(json!("https://x")));
        assert_eq!(
            eval_path(&obj, r#".status.conditions[?(@.type=="Ready")].status"#),
            Some(json!("False"))
        );
        assert_eq!(
            eval_path(&obj, r#".status.conditions[?(@.type=="Ready")].message"#),
            Some(json!("boom"))
        );
        assert_eq!(eval_path(&obj, ".spec.list[1].a"), Some(json!(2)));
        assert_eq!(eval_path(&obj, ".spec.missing"), None);
    }
}
