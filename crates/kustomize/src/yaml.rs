//! YAML in and out: documents as kustomize reads and prints them.

use serde_json::{Map, Value};

use crate::error::BuildError;

/// Renders documents as multi-document YAML, as `kustomize build` prints them.
pub fn to_yaml(docs: &[Value]) -> String {
    docs.iter()
        .map(|d| serde_yaml::to_string(d).unwrap_or_default())
        .collect::<Vec<_>>()
        .join("---\n")
}

/// Converts a YAML value to JSON (keys become strings; tags are dropped).
pub fn yaml_to_json(v: serde_yaml::Value) -> Value {
    use serde_yaml::Value as Y;
    match v {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                n.as_f64()
                    .and_then(serde_json::Number::from_f64)
                    .map(Value::Number)
                    .unwrap_or(Value::Null)
            }
        }
        Y::String(s) => Value::String(s),
        Y::Sequence(s) => Value::Array(s.into_iter().map(yaml_to_json).collect()),
        Y::Mapping(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                let key = match k {
                    Y::String(s) => s,
                    other => serde_yaml::to_string(&other)
                        .unwrap_or_default()
                        .trim_end()
                        .to_string(),
                };
                out.insert(key, yaml_to_json(v));
            }
            Value::Object(out)
        }
        Y::Tagged(t) => yaml_to_json(t.value),
    }
}

/// Parses multi-document YAML into JSON values as kustomize reads manifests
/// (non-string keys become their text, tags are dropped, empty documents are
/// skipped); errors name `origin`.
pub fn parse_yaml_docs(text: &str, origin: &str) -> Result<Vec<Value>, BuildError> {
    let mut out = Vec::new();
    for doc in serde_yaml::Deserializer::from_str(text) {
        let v = <serde_yaml::Value as serde::Deserialize>::deserialize(doc).map_err(|e| {
            let mut message = e.to_string();
            // Say it as kustomize (Go's YAML) says it.
            if let Some(rest) = message.split("duplicate entry with key ").nth(1) {
                let key = rest.split(" at ").next().unwrap_or(rest);
                message = format!("mapping key {key} already defined ({message})");
            }
            BuildError::Invalid {
                path: origin.into(),
                field: "-".into(),
                message,
            }
        })?;
        let v = yaml_to_json(v);
        if !v.is_null() {
            out.push(v);
        }
    }
    Ok(out)
}
