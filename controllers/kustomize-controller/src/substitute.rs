//! Post-build variable substitution (`spec.postBuild.substitute` /
//! `substituteFrom`), as Flux's kustomize-controller does it.
//!
//! Flux renders each built object to YAML, runs `fluxcd/pkg/envsubst` (a fork of
//! drone/envsubst) over the text and parses the result again. Doing the same here keeps
//! the observable behaviour: a substituted value becomes whatever YAML makes of it
//! (`replicas: ${n}` with `n=3` yields the number 3), and a value that breaks the YAML
//! makes the object fail to parse. The language itself is `ferroflux-envsubst`.

use std::collections::BTreeMap;

pub use ferroflux_envsubst::{EvalError, VAR_NAME_PATTERN, eval};
use serde_json::Value;

/// The label or annotation that, set to `disabled`, exempts an object from substitution.
pub const SUBSTITUTE_KEY: &str = "kustomize.toolkit.fluxcd.io/substitute";

/// Why substitution failed.
#[derive(Debug, thiserror::Error)]
pub enum SubstituteError {
    /// A variable name does not match [`VAR_NAME_PATTERN`].
    #[error("'{name}' var name is invalid, must match '{VAR_NAME_PATTERN}'")]
    InvalidVarName {
        /// The offending name.
        name: String,
    },
    /// The object's text holds a malformed `${...}` or (strict mode) an undefined variable.
    #[error("post build failed for '{object}': variable substitution failed: {source}")]
    Eval {
        /// The object, as `Kind/namespace/name`.
        object: String,
        /// What went wrong.
        source: EvalError,
    },
    /// Like [`SubstituteError::Eval`], in a Secret: the text near the fault is not
    /// shown, since it may be a secret value (decrypted or not).
    #[error(
        "post build failed for '{object}': variable substitution failed: {what} (the text is not shown: the object is a Secret)"
    )]
    EvalInSecret {
        /// The Secret, as `Secret/namespace/name`.
        object: String,
        /// What went wrong, without the text.
        what: String,
    },
    /// The object could not be rendered as YAML before substitution.
    #[error("post build failed for '{object}': cannot render the object as YAML: {message}")]
    Render {
        /// The object, as `Kind/namespace/name`.
        object: String,
        /// The serializer's message.
        message: String,
    },
    /// After substitution the object's text is no longer a valid YAML object.
    #[error("post build failed for '{object}': the substituted YAML does not parse: {message}")]
    Parse {
        /// The object, as `Kind/namespace/name`.
        object: String,
        /// The parser's message.
        message: String,
    },
}

/// Checks a variable name against [`VAR_NAME_PATTERN`] (ASCII letters, digits and `_`,
/// not starting with a digit), as Flux does before substituting.
pub fn validate_var_name(name: &str) -> Result<(), SubstituteError> {
    if ferroflux_envsubst::is_valid_var_name(name) {
        Ok(())
    } else {
        Err(SubstituteError::InvalidVarName {
            name: name.to_string(),
        })
    }
}

/// Substitutes `vars` into every object, as Flux's post-build step.
///
/// Objects labelled or annotated `kustomize.toolkit.fluxcd.io/substitute: disabled` are
/// returned unchanged. An undefined variable without a default becomes the empty string,
/// or, with `strict` (Flux's `--feature-gates=StrictPostBuildSubstitutions`), an error
/// naming it. Newlines are removed from variable values, as Flux does when it loads
/// them. Whether to substitute at all (Flux skips it when no variable is defined and
/// `substituteStrategy` is not `Always`) is the caller's decision.
pub fn substitute(
    objects: Vec<Value>,
    vars: &BTreeMap<String, String>,
    strict: bool,
) -> Result<Vec<Value>, SubstituteError> {
    for name in vars.keys() {
        validate_var_name(name)?;
    }
    let vars: BTreeMap<&str, String> = vars
        .iter()
        .map(|(k, v)| (k.as_str(), v.replace('\n', "")))
        .collect();
    let lookup = |name: &str| vars.get(name).map(String::as_str);
    let mut out = Vec::with_capacity(objects.len());
    for obj in objects {
        if disabled(&obj) {
            out.push(obj);
            continue;
        }
        let text = serde_yaml::to_string(&obj).map_err(|e| SubstituteError::Render {
            object: object_id(&obj),
            message: e.to_string(),
        })?;
        // Without a `$` nothing can change, and re-parsing would only cost time.
        if !text.contains('$') {
            out.push(obj);
            continue;
        }
        let expanded = eval(&text, &lookup, strict).map_err(|source| {
            let object = object_id(&obj);
            if obj.get("kind").and_then(Value::as_str) == Some("Secret") {
                // The evaluator quotes the text near the fault; in a Secret that may be
                // a value, which must not reach a status or an event.
                let full = source.to_string();
                let what = full.split(" near '").next().unwrap_or_default().to_string();
                SubstituteError::EvalInSecret { object, what }
            } else {
                SubstituteError::Eval { object, source }
            }
        })?;
        let mut parsed = parse_object(&expanded).map_err(|message| SubstituteError::Parse {
            object: object_id(&obj),
            message,
        })?;
        keep_string_fields(&obj, &mut parsed, &lookup, strict);
        out.push(parsed);
    }
    Ok(out)
}

/// Flux substitutes in YAML that keeps the source's quoting, so
/// `key: "${n}"` stays a string while `replicas: ${n}` becomes a number. The
/// build output here has lost the quoting; so where Kubernetes only accepts
/// strings (labels, annotations, ConfigMap and Secret data, env values,
/// args and commands) a value that was a string with `${` before
/// substitution is kept a string, with exactly the substituted text.
fn keep_string_fields<'v>(
    before: &Value,
    after: &mut Value,
    lookup: &dyn Fn(&str) -> Option<&'v str>,
    strict: bool,
) {
    let config_like = before.get("apiVersion").and_then(Value::as_str) == Some("v1")
        && matches!(
            before.get("kind").and_then(Value::as_str),
            Some("ConfigMap" | "Secret")
        );
    let mut path: Vec<String> = Vec::new();
    walk_strings(
        before,
        after,
        &mut path,
        &|path: &[String]| string_only(path, config_like),
        lookup,
        strict,
    );
}

fn string_only(path: &[String], config_like: bool) -> bool {
    let p: Vec<&str> = path.iter().map(String::as_str).collect();
    match p.as_slice() {
        ["metadata", "labels" | "annotations", _] => true,
        ["data" | "binaryData" | "stringData", _] => config_like,
        [.., "env", _, "value"] => true,
        [.., "args" | "command", _] => true,
        _ => false,
    }
}

fn walk_strings<'v>(
    before: &Value,
    after: &mut Value,
    path: &mut Vec<String>,
    string_only: &dyn Fn(&[String]) -> bool,
    lookup: &dyn Fn(&str) -> Option<&'v str>,
    strict: bool,
) {
    match (before, after) {
        (Value::Object(b), Value::Object(a)) => {
            for (k, bv) in b {
                if let Some(av) = a.get_mut(k) {
                    path.push(k.clone());
                    walk_strings(bv, av, path, string_only, lookup, strict);
                    path.pop();
                }
            }
        }
        (Value::Array(b), Value::Array(a)) => {
            for (i, (bv, av)) in b.iter().zip(a.iter_mut()).enumerate() {
                path.push(i.to_string());
                walk_strings(bv, av, path, string_only, lookup, strict);
                path.pop();
            }
        }
        (Value::String(b), after)
            if !after.is_string() && b.contains("${") && string_only(path) =>
        {
            if let Ok(text) = eval(b, lookup, strict) {
                *after = Value::String(text);
            }
        }
        _ => {}
    }
}

fn disabled(obj: &Value) -> bool {
    ["labels", "annotations"].iter().any(|field| {
        obj.pointer(&format!("/metadata/{field}"))
            .and_then(|m| m.get(SUBSTITUTE_KEY))
            .and_then(Value::as_str)
            == Some("disabled")
    })
}

/// `Kind/namespace/name` (or `Kind/name` for cluster-scoped objects), for messages.
fn object_id(obj: &Value) -> String {
    let get = |p: &str| obj.pointer(p).and_then(Value::as_str).unwrap_or("");
    let (kind, ns, name) = (
        get("/kind"),
        get("/metadata/namespace"),
        get("/metadata/name"),
    );
    if ns.is_empty() {
        format!("{kind}/{name}")
    } else {
        format!("{kind}/{ns}/{name}")
    }
}

fn parse_object(text: &str) -> Result<Value, String> {
    let mut docs = ferroflux_kustomize::parse_yaml_docs(text, "substituted object")
        .map_err(|e| e.to_string())?;
    match (docs.pop(), docs.is_empty()) {
        (Some(v), true) if v.is_object() => Ok(v),
        _ => Err("the document is no longer a single mapping".into()),
    }
}

#[cfg(test)]
#[path = "substitute_tests.rs"]
mod tests;
