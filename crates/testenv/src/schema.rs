//! What kube-apiserver does to custom resources with their CRD's structural
//! schema: drop nulls that are not nullable, prune unknown fields, apply
//! defaults, then validate types, enums, patterns, bounds and required fields.

use serde_json::{Map, Value};

/// Prunes and defaults `obj` in place (the envelope `apiVersion`, `kind` and
/// `metadata` are left alone, as the real server does).
pub fn prune_and_default(obj: &mut Value, schema: &Value) {
    prune_and_default_reporting(obj, schema);
}

/// [`prune_and_default`], returning the paths of the pruned fields
/// (`spec.foo`, `spec.list[0].bar`) for the server's warnings or its
/// strict-validation refusal.
pub fn prune_and_default_reporting(obj: &mut Value, schema: &Value) -> Vec<String> {
    let mut pruned = Vec::new();
    let Some(map) = obj.as_object_mut() else {
        return pruned;
    };
    let props = &schema["properties"];
    let preserve = schema["x-kubernetes-preserve-unknown-fields"] == Value::Bool(true);
    let keys: Vec<String> = map.keys().cloned().collect();
    for key in keys {
        if matches!(key.as_str(), "apiVersion" | "kind" | "metadata") {
            continue;
        }
        match props.get(&key) {
            Some(sub) => {
                if let Some(v) = map.get_mut(&key) {
                    walk(v, sub, &key, &mut pruned);
                }
                drop_null(map, &key, sub);
            }
            None if preserve => {}
            None => {
                map.remove(&key);
                pruned.push(key);
            }
        }
    }
    apply_defaults(map, schema);
    pruned
}

fn drop_null(map: &mut Map<String, Value>, key: &str, schema: &Value) {
    if map.get(key).is_some_and(Value::is_null) && schema["nullable"] != Value::Bool(true) {
        map.remove(key);
    }
}

fn apply_defaults(map: &mut Map<String, Value>, schema: &Value) {
    let Some(props) = schema["properties"].as_object() else {
        return;
    };
    for (name, sub) in props {
        if !map.contains_key(name)
            && let Some(default) = sub.get("default")
        {
            let mut v = default.clone();
            walk(&mut v, sub, name, &mut Vec::new());
            map.insert(name.clone(), v);
        }
    }
}

fn walk(value: &mut Value, schema: &Value, path: &str, pruned: &mut Vec<String>) {
    let preserve = schema["x-kubernetes-preserve-unknown-fields"] == Value::Bool(true);
    match value {
        Value::Object(map) => {
            if let Some(props) = schema["properties"].as_object() {
                let keys: Vec<String> = map.keys().cloned().collect();
                for key in keys {
                    match props.get(&key) {
                        Some(sub) => {
                            if let Some(v) = map.get_mut(&key) {
                                walk(v, sub, &format!("{path}.{key}"), pruned);
                            }
                            drop_null(map, &key, sub);
                        }
                        None if preserve => {}
                        None => {
                            map.remove(&key);
                            pruned.push(format!("{path}.{key}"));
                        }
                    }
                }
                apply_defaults(map, schema);
            } else if let Some(extra) = schema.get("additionalProperties").filter(|a| a.is_object())
            {
                for (key, v) in map.iter_mut() {
                    walk(v, extra, &format!("{path}.{key}"), pruned);
                }
            } else if !preserve
                && schema["type"] == "object"
                && schema.get("additionalProperties").is_none()
            {
                // An object schema with neither properties nor additionalProperties
                // keeps nothing unless it preserves unknown fields.
                if schema.get("x-kubernetes-embedded-resource").is_none() {
                    pruned.extend(map.keys().map(|k| format!("{path}.{k}")));
                    map.clear();
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for (i, v) in items.iter_mut().enumerate() {
                    walk(v, item_schema, &format!("{path}[{i}]"), pruned);
                }
            }
        }
        _ => {}
    }
}

/// Validation failures as `(field path, message)` in the real server's wording.
pub fn validate(obj: &Value, schema: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Some(map) = obj.as_object() {
        for (key, v) in map {
            if matches!(key.as_str(), "apiVersion" | "kind" | "metadata") {
                continue;
            }
            if let Some(sub) = schema["properties"].get(key) {
                check(v, sub, key, &mut out);
            }
        }
        required(map, schema, "", &mut out);
    }
    out
}

fn required(map: &Map<String, Value>, schema: &Value, path: &str, out: &mut Vec<(String, String)>) {
    if let Some(req) = schema["required"].as_array() {
        for r in req.iter().filter_map(Value::as_str) {
            let envelope = path.is_empty() && matches!(r, "apiVersion" | "kind" | "metadata");
            if !map.contains_key(r) && !envelope {
                let field = if path.is_empty() {
                    r.to_string()
                } else {
                    format!("{path}.{r}")
                };
                out.push((field, "Required value".into()));
            }
        }
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn check(v: &Value, schema: &Value, path: &str, out: &mut Vec<(String, String)>) {
    if schema["x-kubernetes-int-or-string"] == Value::Bool(true) {
        if !(v.is_string() || v.is_i64() || v.is_u64()) {
            out.push((
                path.into(),
                format!(
                    "Invalid value: \"{}\": must be an integer or a string",
                    type_name(v)
                ),
            ));
        }
        return;
    }
    if v.is_null() {
        if schema["nullable"] != Value::Bool(true) {
            out.push((
                path.into(),
                "Invalid value: \"null\": must not be null".into(),
            ));
        }
        return;
    }
    if let Some(want) = schema["type"].as_str() {
        let got = type_name(v);
        let ok = got == want || (want == "number" && got == "integer");
        if !ok {
            out.push((
                path.into(),
                format!(
                    "Invalid value: \"{got}\": {path} in body must be of type {want}: \"{got}\""
                ),
            ));
            return;
        }
    }
    if let Some(allowed) = schema["enum"].as_array()
        && !allowed.contains(v)
    {
        let list: Vec<String> = allowed.iter().map(|a| a.to_string()).collect();
        out.push((
            path.into(),
            format!(
                "Unsupported value: {v}: supported values: {}",
                list.join(", ")
            ),
        ));
    }
    match v {
        Value::String(s) => {
            if let Some(p) = schema["pattern"].as_str() {
                match regex::Regex::new(p) {
                    Ok(re) if !re.is_match(s) => out.push((
                        path.into(),
                        format!("Invalid value: {v}: {path} in body should match '{p}'"),
                    )),
                    _ => {}
                }
            }
            if let Some(max) = schema["maxLength"].as_u64()
                && s.chars().count() as u64 > max
            {
                out.push((
                    path.into(),
                    format!("Too long: may not be more than {max} bytes"),
                ));
            }
            if let Some(min) = schema["minLength"].as_u64()
                && (s.chars().count() as u64) < min
            {
                out.push((
                    path.into(),
                    format!(
                        "Invalid value: {v}: {path} in body should be at least {min} chars long"
                    ),
                ));
            }
        }
        Value::Number(n) => {
            let x = n.as_f64().unwrap_or(0.0);
            if let Some(min) = schema["minimum"].as_f64()
                && x < min
            {
                out.push((path.into(), format!("Invalid value: {x}: {path} in body should be greater than or equal to {min}")));
            }
            if let Some(max) = schema["maximum"].as_f64()
                && x > max
            {
                out.push((
                    path.into(),
                    format!(
                        "Invalid value: {x}: {path} in body should be less than or equal to {max}"
                    ),
                ));
            }
        }
        Value::Array(items) => {
            if let Some(max) = schema["maxItems"].as_u64()
                && items.len() as u64 > max
            {
                out.push((
                    path.into(),
                    format!("Too many: {}: must have at most {max} items", items.len()),
                ));
            }
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    check(item, item_schema, &format!("{path}[{i}]"), out);
                }
            }
        }
        Value::Object(map) => {
            if let Some(props) = schema["properties"].as_object() {
                for (k, sub) in props {
                    if let Some(child) = map.get(k) {
                        check(child, sub, &format!("{path}.{k}"), out);
                    }
                }
            } else if let Some(extra) = schema.get("additionalProperties").filter(|a| a.is_object())
            {
                for (k, child) in map {
                    check(child, extra, &format!("{path}.{k}"), out);
                }
            }
            required(map, schema, path, out);
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Value {
        json!({
            "type": "object",
            "properties": {
                "spec": {
                    "type": "object",
                    "required": ["interval"],
                    "properties": {
                        "interval": {"type": "string", "pattern": "^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"},
                        "timeout": {"type": "string", "default": "60s"},
                        "provider": {"type": "string", "enum": ["generic", "aws"]},
                        "ref": {"type": "object", "properties": {"branch": {"type": "string"}}},
                        "values": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                        "count": {"type": "integer", "minimum": 1}
                    }
                },
                "status": {"type": "object", "default": {"observedGeneration": -1}, "properties": {"observedGeneration": {"type": "integer"}}}
            }
        })
    }

    #[test]
    fn prunes_unknown_fields_but_keeps_preserved_ones() {
        let mut obj = json!({
            "apiVersion": "x/v1", "kind": "X", "metadata": {"name": "a"},
            "spec": {"interval": "1m", "bogus": 1, "ref": {"branch": "main", "typo": "x"},
                     "values": {"anything": {"deep": [1, 2]}}, "labels": {"a": "b"}},
            "extra": true
        });
        prune_and_default(&mut obj, &schema());
        assert!(obj.get("extra").is_none());
        assert!(obj["spec"].get("bogus").is_none());
        assert_eq!(obj["spec"]["ref"], json!({"branch": "main"}));
        assert_eq!(obj["spec"]["values"], json!({"anything": {"deep": [1, 2]}}));
        assert_eq!(obj["spec"]["labels"], json!({"a": "b"}));
    }

    #[test]
    fn reports_what_it_prunes() {
        let mut obj = json!({
            "spec": {"interval": "1m", "bogus": 1, "ref": {"typo": "x"}, "list": [{"a": 1}],
                     "values": {"kept": true}},
            "extra": true
        });
        let mut schema = schema();
        schema["properties"]["spec"]["properties"]["list"] = json!({"type": "array", "items": {"type": "object", "properties": {"b": {"type": "integer"}}}});
        let mut pruned = prune_and_default_reporting(&mut obj, &schema);
        pruned.sort();
        assert_eq!(
            pruned,
            ["extra", "spec.bogus", "spec.list[0].a", "spec.ref.typo"]
        );
    }

    #[test]
    fn applies_defaults_including_nested_and_status() {
        let mut obj = json!({"spec": {"interval": "1m", "timeout": null}});
        prune_and_default(&mut obj, &schema());
        assert_eq!(
            obj["spec"]["timeout"], "60s",
            "null is dropped, then defaulted"
        );
        assert_eq!(obj["status"], json!({"observedGeneration": -1}));
    }

    #[test]
    fn validates_with_the_real_wording() {
        let obj = json!({"spec": {"interval": "5x", "provider": "gcs", "count": 0, "ref": "main"}});
        let errs = validate(&obj, &schema());
        let fields: Vec<&str> = errs.iter().map(|(f, _)| f.as_str()).collect();
        assert!(fields.contains(&"spec.interval"), "{errs:?}");
        assert!(fields.contains(&"spec.provider"), "{errs:?}");
        assert!(fields.contains(&"spec.count"), "{errs:?}");
        assert!(fields.contains(&"spec.ref"), "{errs:?}");
        let provider = errs.iter().find(|(f, _)| f == "spec.provider").unwrap();
        assert_eq!(
            provider.1,
            "Unsupported value: \"gcs\": supported values: \"generic\", \"aws\""
        );
        let missing = validate(&json!({"spec": {}}), &schema());
        assert_eq!(
            missing,
            [("spec.interval".to_string(), "Required value".to_string())]
        );
    }
}
