//! `values.schema.json` validation with the `jsonschema` crate, worded as Helm
//! v4 reports violations (santhosh-tekuri/jsonschema v6's messages) for the
//! common keywords. No reference outside the schema is ever resolved.

use std::collections::HashMap;
use std::rc::Rc;

use jsonschema::error::{TypeKind, ValidationErrorKind as K};
use serde_json::Value as J;

/// Validates `values`; each violation is `(instance pointer, message)`.
pub fn validate(
    schema: &[u8],
    values: &serde_json::Map<String, J>,
) -> Result<Vec<(String, String)>, String> {
    let validator = validator(schema)?;
    // Go marshals float64s without a fraction as integers
    let instance = J::Object(
        values
            .iter()
            .map(|(k, v)| (k.clone(), integral(v)))
            .collect(),
    );
    let mut out = vec![];
    for e in validator.iter_errors(&instance) {
        let msg = message(e.kind(), e.instance()).unwrap_or_else(|| e.to_string());
        out.push((e.instance_path().as_str().to_string(), msg));
    }
    Ok(out)
}

/// Compiled schemas kept per thread, by their bytes: a controller validates the
/// same chart's values on every render, and compiling a schema costs more than
/// validating against it. At most 32 schemas of up to 1 MiB each.
const SCHEMA_CACHE_ENTRIES: usize = 32;
const SCHEMA_CACHE_BYTES: usize = 1 << 20;

thread_local! {
    static COMPILED: std::cell::RefCell<HashMap<Vec<u8>, Rc<jsonschema::Validator>>> =
        std::cell::RefCell::new(HashMap::new());
}

fn validator(schema: &[u8]) -> Result<Rc<jsonschema::Validator>, String> {
    if let Some(v) = COMPILED.with(|c| c.borrow().get(schema).cloned()) {
        return Ok(v);
    }
    let doc: J = serde_json::from_slice(schema)
        .map_err(|e| format!("unable to parse values.schema.json: {e}"))?;
    let v = Rc::new(
        jsonschema::validator_for(&doc)
            .map_err(|e| format!("values.schema.json is not a valid schema: {e}"))?,
    );
    if schema.len() <= SCHEMA_CACHE_BYTES {
        COMPILED.with(|c| {
            let mut c = c.borrow_mut();
            if c.len() >= SCHEMA_CACHE_ENTRIES {
                c.clear();
            }
            c.insert(schema.to_vec(), v.clone());
        });
    }
    Ok(v)
}

fn integral(v: &J) -> J {
    match v {
        J::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() && f.fract() == 0.0 && f.abs() < 9.0e15 => J::from(f as i64),
            _ => v.clone(),
        },
        J::Array(a) => J::Array(a.iter().map(integral).collect()),
        J::Object(o) => J::Object(o.iter().map(|(k, v)| (k.clone(), integral(v))).collect()),
        other => other.clone(),
    }
}

/// A number as v6 prints it: integers with thousands separators.
fn num(v: &J) -> String {
    match v.as_i64() {
        Some(i) => {
            let s = i.unsigned_abs().to_string();
            let mut out = String::new();
            for (i, c) in s.chars().enumerate() {
                if i > 0 && (s.len() - i) % 3 == 0 {
                    out.push(',');
                }
                out.push(c);
            }
            if i < 0 { format!("-{out}") } else { out }
        }
        None => v.to_string(),
    }
}

fn quoted(v: &J) -> String {
    match v {
        J::String(s) => format!("'{s}'"),
        other => other.to_string(),
    }
}

fn kind_name(v: &J) -> &'static str {
    match v {
        J::Null => "null",
        J::Bool(_) => "boolean",
        J::Number(n) if n.is_i64() || n.is_u64() => "integer",
        J::Number(_) => "number",
        J::String(_) => "string",
        J::Array(_) => "array",
        J::Object(_) => "object",
    }
}

fn message(kind: &K, instance: &J) -> Option<String> {
    Some(match kind {
        K::Maximum { limit } => format!("maximum: got {}, want {}", num(instance), num(limit)),
        K::Minimum { limit } => format!("minimum: got {}, want {}", num(instance), num(limit)),
        K::ExclusiveMaximum { limit } => {
            format!(
                "exclusiveMaximum: got {}, want {}",
                num(instance),
                num(limit)
            )
        }
        K::ExclusiveMinimum { limit } => {
            format!(
                "exclusiveMinimum: got {}, want {}",
                num(instance),
                num(limit)
            )
        }
        K::Enum { options } => {
            let opts: Vec<String> = options
                .as_array()
                .map(|a| a.iter().map(quoted).collect())
                .unwrap_or_default();
            if opts.len() == 1 {
                format!("value must be {}", opts[0])
            } else {
                format!("value must be one of {}", opts.join(", "))
            }
        }
        K::Constant { expected_value } => format!("value must be {}", quoted(expected_value)),
        K::Type { kind } => {
            let want = match kind {
                TypeKind::Single(t) => t.to_string(),
                TypeKind::Multiple(ts) => ts
                    .iter()
                    .map(|t| t.to_string())
                    .collect::<Vec<_>>()
                    .join(" or "),
            };
            format!("got {}, want {want}", kind_name(instance))
        }
        K::Required { property } => format!("missing property {}", quoted(property)),
        K::AdditionalProperties { unexpected } => {
            let names: Vec<String> = unexpected.iter().map(|u| format!("'{u}'")).collect();
            format!("additional properties {} not allowed", names.join(", "))
        }
        K::MinLength { limit } => format!(
            "minLength: got {}, want {limit}",
            instance.as_str().map(|s| s.chars().count()).unwrap_or(0)
        ),
        K::MaxLength { limit } => format!(
            "maxLength: got {}, want {limit}",
            instance.as_str().map(|s| s.chars().count()).unwrap_or(0)
        ),
        K::MinItems { limit } => format!(
            "minItems: got {}, want {limit}",
            instance.as_array().map(Vec::len).unwrap_or(0)
        ),
        K::MaxItems { limit } => format!(
            "maxItems: got {}, want {limit}",
            instance.as_array().map(Vec::len).unwrap_or(0)
        ),
        K::Pattern { pattern } => {
            format!("{} does not match pattern '{pattern}'", quoted(instance))
        }
        _ => return None,
    })
}
