//! Path elements: how one step from a value to a child is named, ordered, printed
//! (`.spec[name="web"]`) and serialized in FieldsV1 keys (`f:spec`, `k:{"name":"web"}`).
//!
//! Ordering and equality follow structured-merge-diff: field names sort before keys,
//! keys before values, values before indexes; numbers compare numerically whether they
//! are integers or floats (`1 == 1.0`).

use std::cmp::Ordering;
use std::fmt::Write as _;

use serde_json::Value;

// Go's `%q` and `encoding/json`, which kube-apiserver's paths and keys are made of.
pub(crate) use ferroflux_gocompat::json::{
    number_string, write_string as write_json_string, write_value as write_json,
};
pub(crate) use ferroflux_gocompat::quote as go_quote;

use super::FieldsError;

/// One step into a value.
#[derive(Debug, Clone)]
pub enum PathElement {
    /// A field of a map (`.name`, FieldsV1 `f:name`).
    Field(String),
    /// An item of a keyed list (`x-kubernetes-list-type: map`), named by its key fields,
    /// sorted by field name (`[name="web"]`, FieldsV1 `k:{"name":"web"}`).
    Key(Vec<(String, Value)>),
    /// An item of a set list (`x-kubernetes-list-type: set`) (`[="a"]`, FieldsV1 `v:"a"`).
    Value(Value),
    /// An item of a list by position (`[0]`, FieldsV1 `i:0`); never produced by apply.
    Index(usize),
}

impl PathElement {
    /// A field element.
    pub fn field(name: impl Into<String>) -> Self {
        PathElement::Field(name.into())
    }

    /// A key element; the fields are sorted by name.
    pub fn key<K: Into<String>>(fields: impl IntoIterator<Item = (K, Value)>) -> Self {
        let mut fields: Vec<(String, Value)> =
            fields.into_iter().map(|(k, v)| (k.into(), v)).collect();
        fields.sort_by(|a, b| a.0.cmp(&b.0));
        PathElement::Key(fields)
    }

    fn rank(&self) -> u8 {
        match self {
            PathElement::Field(_) => 0,
            PathElement::Key(_) => 1,
            PathElement::Value(_) => 2,
            PathElement::Index(_) => 3,
        }
    }

    /// The FieldsV1 key of this element (`f:spec`, `k:{"name":"web"}`, `v:"a"`, `i:0`).
    pub fn to_fields_v1_key(&self) -> String {
        match self {
            PathElement::Field(name) => format!("f:{name}"),
            PathElement::Key(fields) => {
                let mut out = String::from("k:{");
                for (i, (name, value)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_json_string(&mut out, name);
                    out.push(':');
                    write_json(&mut out, value);
                }
                out.push('}');
                out
            }
            PathElement::Value(value) => {
                let mut out = String::from("v:");
                write_json(&mut out, value);
                out
            }
            PathElement::Index(i) => format!("i:{i}"),
        }
    }

    /// Parses a FieldsV1 key. `Ok(None)` for a well-formed key of a kind this version
    /// does not know (it is dropped, as structured-merge-diff does).
    pub fn from_fields_v1_key(key: &str) -> Result<Option<Self>, FieldsError> {
        let bad = |why: &str| FieldsError::FieldsV1(format!("path element {key:?}: {why}"));
        let bytes = key.as_bytes();
        if bytes.len() < 2 {
            return Err(bad("key must be 2 characters long"));
        }
        if bytes[1] != b':' {
            return Err(bad("missing colon"));
        }
        let rest = &key[2..];
        match bytes[0] {
            b'f' => Ok(Some(PathElement::Field(rest.to_string()))),
            b'v' => {
                let value: Value =
                    serde_json::from_str(rest).map_err(|e| bad(&format!("bad value: {e}")))?;
                Ok(Some(PathElement::Value(value)))
            }
            b'k' => {
                let value: Value =
                    serde_json::from_str(rest).map_err(|e| bad(&format!("bad key: {e}")))?;
                let Value::Object(map) = value else {
                    return Err(bad("key is not a JSON object"));
                };
                Ok(Some(PathElement::key(map)))
            }
            b'i' => {
                let i: usize = rest.parse().map_err(|_| bad("bad index"))?;
                Ok(Some(PathElement::Index(i)))
            }
            _ => Ok(None),
        }
    }
}

impl Ord for PathElement {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (PathElement::Field(a), PathElement::Field(b)) => a.cmp(b),
            (PathElement::Key(a), PathElement::Key(b)) => {
                for ((an, av), (bn, bv)) in a.iter().zip(b.iter()) {
                    let c = an.cmp(bn).then_with(|| compare_values(av, bv));
                    if c != Ordering::Equal {
                        return c;
                    }
                }
                a.len().cmp(&b.len())
            }
            (PathElement::Value(a), PathElement::Value(b)) => compare_values(a, b),
            (PathElement::Index(a), PathElement::Index(b)) => a.cmp(b),
            _ => self.rank().cmp(&other.rank()),
        }
    }
}

impl PartialOrd for PathElement {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for PathElement {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for PathElement {}

impl std::fmt::Display for PathElement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PathElement::Field(name) => write!(f, ".{name}"),
            PathElement::Key(fields) => {
                f.write_str("[")?;
                for (i, (name, value)) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{name}={}", value_to_string(value))?;
                }
                f.write_str("]")
            }
            PathElement::Value(value) => write!(f, "[={}]", value_to_string(value)),
            PathElement::Index(i) => write!(f, "[{i}]"),
        }
    }
}

/// A path as kube-apiserver prints it: `.spec.template.spec.containers[name="web"].image`.
pub fn path_string(path: &[PathElement]) -> String {
    let mut out = String::new();
    for pe in path {
        let _ = write!(out, "{pe}");
    }
    out
}

/// Equality of JSON values as structured-merge-diff sees it (an integer equals the
/// float of the same value; maps compare without order).
pub(crate) fn values_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => numbers_equal(x, y),
        (Value::String(x), Value::String(y)) => x == y,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Null, Value::Null) => true,
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(l, r)| values_equal(l, r))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| values_equal(v, w)))
        }
        _ => false,
    }
}

fn numbers_equal(x: &serde_json::Number, y: &serde_json::Number) -> bool {
    if x.is_f64() || y.is_f64() {
        return x.as_f64() == y.as_f64();
    }
    match (x.as_i64(), y.as_i64()) {
        (Some(a), Some(b)) => a == b,
        _ => x.as_u64() == y.as_u64(),
    }
}

fn type_rank(v: &Value) -> u8 {
    match v {
        Value::Number(_) => 0,
        Value::String(_) => 1,
        Value::Bool(_) => 2,
        Value::Array(_) => 3,
        Value::Object(_) => 4,
        Value::Null => 5,
    }
}

/// The total order structured-merge-diff gives values: numbers, strings, booleans,
/// lists, maps, null.
pub(crate) fn compare_values(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            if x.is_f64() || y.is_f64() {
                let (fx, fy) = (x.as_f64().unwrap_or(0.0), y.as_f64().unwrap_or(0.0));
                fx.partial_cmp(&fy).unwrap_or(Ordering::Equal)
            } else {
                match (x.as_i64(), y.as_i64()) {
                    (Some(p), Some(q)) => p.cmp(&q),
                    (None, Some(_)) => Ordering::Greater,
                    (Some(_), None) => Ordering::Less,
                    (None, None) => x.as_u64().cmp(&y.as_u64()),
                }
            }
        }
        (Value::String(x), Value::String(y)) => x.cmp(y),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Array(x), Value::Array(y)) => {
            for (l, r) in x.iter().zip(y) {
                let c = compare_values(l, r);
                if c != Ordering::Equal {
                    return c;
                }
            }
            x.len().cmp(&y.len())
        }
        (Value::Object(x), Value::Object(y)) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                let c = match (x.get(k), y.get(k)) {
                    (Some(l), Some(r)) => compare_values(l, r),
                    (None, _) => Ordering::Greater,
                    (_, None) => Ordering::Less,
                };
                if c != Ordering::Equal {
                    return c;
                }
            }
            Ordering::Equal
        }
        (Value::Null, Value::Null) => Ordering::Equal,
        _ => type_rank(a).cmp(&type_rank(b)),
    }
}

/// A value as structured-merge-diff prints it inside a path: strings Go-quoted,
/// numbers and booleans bare, `null`.
pub(crate) fn value_to_string(v: &Value) -> String {
    match v {
        Value::Null => "null".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => number_string(n),
        Value::String(s) => go_quote(s),
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().map(value_to_string).collect();
            format!("[{}]", parts.join(","))
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            keys.iter()
                .map(|k| format!("{k}={}", value_to_string(&map[k.as_str()])))
                .collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn elements_print_like_kube() {
        let path = vec![
            PathElement::field("spec"),
            PathElement::field("containers"),
            PathElement::key([("name", json!("web"))]),
            PathElement::field("image"),
        ];
        assert_eq!(path_string(&path), r#".spec.containers[name="web"].image"#);
        let ports = PathElement::key([("protocol", json!("TCP")), ("containerPort", json!(80))]);
        assert_eq!(ports.to_string(), r#"[containerPort=80,protocol="TCP"]"#);
        assert_eq!(PathElement::Value(json!("a")).to_string(), r#"[="a"]"#);
        assert_eq!(PathElement::Index(3).to_string(), "[3]");
    }

    #[test]
    fn fields_v1_keys_round_trip() {
        for key in [
            "f:spec",
            "f:with.dot",
            r#"k:{"containerPort":80,"protocol":"TCP"}"#,
            r#"k:{"name":"web"}"#,
            r#"v:"finalizer.example.com""#,
            "v:5",
            "i:2",
        ] {
            let pe = PathElement::from_fields_v1_key(key).unwrap().unwrap();
            assert_eq!(pe.to_fields_v1_key(), key);
        }
    }

    #[test]
    fn fields_v1_key_fields_are_sorted_and_html_escaped() {
        let pe = PathElement::from_fields_v1_key(r#"k:{"z":"<a&b>","a":1}"#)
            .unwrap()
            .unwrap();
        assert_eq!(
            pe.to_fields_v1_key(),
            r#"k:{"a":1,"z":"\u003ca\u0026b\u003e"}"#
        );
    }

    #[test]
    fn bad_fields_v1_keys_are_errors_and_unknown_kinds_dropped() {
        assert!(PathElement::from_fields_v1_key("f").is_err());
        assert!(PathElement::from_fields_v1_key("fx").is_err());
        assert!(PathElement::from_fields_v1_key("k:[1]").is_err());
        assert!(PathElement::from_fields_v1_key("i:x").is_err());
        assert!(PathElement::from_fields_v1_key("z:what").unwrap().is_none());
    }

    #[test]
    fn order_is_fields_keys_values_indexes() {
        let mut v = [
            PathElement::Index(0),
            PathElement::Value(json!("a")),
            PathElement::key([("name", json!("b"))]),
            PathElement::field("z"),
            PathElement::field("a"),
            PathElement::Value(json!(2)),
        ];
        v.sort();
        let printed: Vec<String> = v.iter().map(|p| p.to_string()).collect();
        assert_eq!(
            printed,
            vec![".a", ".z", r#"[name="b"]"#, "[=2]", r#"[="a"]"#, "[0]"]
        );
    }

    #[test]
    fn numbers_compare_numerically() {
        assert!(values_equal(&json!(1), &json!(1.0)));
        assert!(!values_equal(&json!(1), &json!("1")));
        assert_eq!(compare_values(&json!(9), &json!(10)), Ordering::Less);
        assert!(values_equal(&json!({"a": [1, 2]}), &json!({"a": [1.0, 2]})));
    }

    #[test]
    fn go_quoting() {
        assert_eq!(go_quote("kubectl"), "\"kubectl\"");
        assert_eq!(go_quote("a\"b\\c\n"), "\"a\\\"b\\\\c\\n\"");
    }
}
