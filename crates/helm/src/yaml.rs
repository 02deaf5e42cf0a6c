//! YAML as Helm reads values, `Chart.yaml` and rendered documents
//! (sigs.k8s.io/yaml: YAML 1.1 through JSON, so every number is a float64 and
//! keys are strings), on gotemplate's reader, as JSON values.

use ferroflux_gotemplate::Value;
use ferroflux_gotemplate::yaml::document_from_yaml;
use serde_json::{Map, Value as J};

/// Reads the first document of `text`.
pub fn document(text: &str) -> Result<J, String> {
    let v = document_from_yaml(text).map_err(|e| e.to_string())?;
    Ok(to_json(&v))
}

/// Reads a document into typed fields (`Chart.yaml`, `requirements.yaml`) as
/// sigs.k8s.io/yaml does for a struct: YAML 1.1 scalars, and a scalar that lands
/// in a string field is formatted as one (`name: off` is `"false"`,
/// `version: 1.0` is `"1"`). The only boolean fields are `deprecated` and
/// `enabled`.
pub fn typed_document(text: &str) -> Result<J, String> {
    let v = document_from_yaml(text).map_err(|e| e.to_string())?;
    Ok(stringly(&v, ""))
}

fn stringly(v: &Value, key: &str) -> J {
    match v {
        Value::Nil => J::Null,
        Value::Bool(b) if key == "deprecated" || key == "enabled" => J::Bool(*b),
        Value::Bool(b) => J::String(b.to_string()),
        Value::Int(i) | Value::Int64(i) => J::String(i.to_string()),
        Value::Float(f) if f.fract() == 0.0 && f.abs() < 1e21 => {
            J::String(format!("{}", *f as i128))
        }
        Value::Float(f) => J::String(f.to_string()),
        Value::Str(s) => J::String(s.to_string()),
        Value::List(l) => J::Array(l.iter().map(|x| stringly(x, "")).collect()),
        Value::Map(m) => J::Object(
            m.borrow()
                .iter()
                .map(|(k, x)| (k.clone(), stringly(x, k)))
                .collect(),
        ),
        other => other.to_json(),
    }
}

/// Reads a values file: an empty document is an empty map, anything but a map is
/// an error.
pub fn values(text: &str) -> Result<Map<String, J>, String> {
    match document(text)? {
        J::Null => Ok(Map::new()),
        J::Object(m) => Ok(m),
        other => Err(format!(
            "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
            json_kind(&other)
        )),
    }
}

/// Go's name of a JSON value's kind in decoding errors.
pub(crate) fn json_kind(v: &J) -> &'static str {
    match v {
        J::Null => "null",
        J::Bool(_) => "bool",
        J::Number(_) => "number",
        J::String(_) => "string",
        J::Array(_) => "array",
        J::Object(_) => "object",
    }
}

fn to_json(v: &Value) -> J {
    match v {
        Value::Nil => J::Null,
        Value::Bool(b) => J::Bool(*b),
        Value::Int(i) | Value::Int64(i) => J::from(*i),
        Value::Float(f) => serde_json::Number::from_f64(*f)
            .map(J::Number)
            .unwrap_or(J::Null),
        Value::Str(s) => J::String(s.to_string()),
        Value::List(l) => J::Array(l.iter().map(to_json).collect()),
        Value::Map(m) => J::Object(
            m.borrow()
                .iter()
                .map(|(k, v)| (k.clone(), to_json(v)))
                .collect(),
        ),
        other => other.to_json(),
    }
}
