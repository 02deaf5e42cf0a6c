//! YAML as Helm reads values and `Chart.yaml` (sigs.k8s.io/yaml: YAML to JSON,
//! then JSON decoding, so every number is a float64 and keys are strings).
//!
//! A local shim over `serde_yaml` (YAML 1.2 scalars): `crates/gotemplate` is
//! getting a YAML 1.1 reader (`yaml::values_from_yaml`) that this should call
//! once it lands, for `yes`/`on`/`0755` and friends.

use serde_json::{Map, Value as J};

/// Reads the first document of `text` as JSON with Helm's types.
pub fn document(text: &str) -> Result<J, String> {
    let Some(doc) = serde_yaml::Deserializer::from_str(text).next() else {
        return Ok(J::Null);
    };
    let y = <serde_yaml::Value as serde::Deserialize>::deserialize(doc)
        .map_err(|e| format!("error converting YAML to JSON: yaml: {e}"))?;
    to_json(&y)
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

fn to_json(y: &serde_yaml::Value) -> Result<J, String> {
    use serde_yaml::Value as Y;
    Ok(match y {
        Y::Null => J::Null,
        Y::Bool(b) => J::Bool(*b),
        Y::Number(n) => {
            let f = n.as_f64().unwrap_or(0.0);
            match serde_json::Number::from_f64(f) {
                Some(n) => J::Number(n),
                None => {
                    return Err(format!(
                        "error converting YAML to JSON: json: unsupported value: {f}"
                    ));
                }
            }
        }
        Y::String(s) => J::String(s.clone()),
        Y::Sequence(l) => J::Array(l.iter().map(to_json).collect::<Result<_, _>>()?),
        Y::Mapping(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                out.insert(key(k)?, to_json(v)?);
            }
            J::Object(out)
        }
        Y::Tagged(t) => to_json(&t.value)?,
    })
}

fn key(k: &serde_yaml::Value) -> Result<String, String> {
    use serde_yaml::Value as Y;
    Ok(match k {
        Y::String(s) => s.clone(),
        Y::Bool(b) => b.to_string(),
        Y::Number(n) => n.to_string(),
        Y::Null => "null".to_string(),
        _ => {
            return Err(
                "error converting YAML to JSON: yaml: invalid map key: a map or list".into(),
            );
        }
    })
}
