//! The values a release is made with: `spec.valuesFrom` (ConfigMaps and
//! Secrets, in order) then `spec.values` on top, merged as Flux merges them.
//! The objects are read with the controller's own identity, as Flux does.

use ferroflux_api::helm::v2::HelmRelease;
use ferroflux_api::meta::{ValuesReference, ValuesReferenceKind};
use ferroflux_helm::strvals;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::ResourceExt;
use kube::api::Api;
use serde_json::{Map, Value};

/// The key read when `valuesKey` is not set.
pub const DEFAULT_VALUES_KEY: &str = "values.yaml";

/// Why the values could not be composed; never holds a value.
#[derive(Debug, thiserror::Error)]
pub enum ValuesError {
    /// A referenced object or key is missing (it may appear later).
    #[error("{0}")]
    Missing(String),
    /// A referenced value cannot be used (it must change first).
    #[error("{0}")]
    Invalid(String),
    /// The API server could not be asked.
    #[error("{0}")]
    Api(String),
}

fn kind_name(kind: ValuesReferenceKind) -> &'static str {
    match kind {
        ValuesReferenceKind::Secret => "Secret",
        ValuesReferenceKind::ConfigMap => "ConfigMap",
    }
}

/// Reads the text under `key` of the referenced object; `None` when the
/// object or key is missing.
async fn read(
    client: &kube::Client,
    ns: &str,
    r: &ValuesReference,
    key: &str,
) -> Result<Option<String>, ValuesError> {
    let shown = format!("{} '{ns}/{}'", kind_name(r.kind), r.name);
    let api_err = |e: kube::Error| ValuesError::Api(format!("could not get {shown}: {e}"));
    let bytes: Option<Vec<u8>> = match r.kind {
        ValuesReferenceKind::ConfigMap => {
            let api: Api<ConfigMap> = Api::namespaced(client.clone(), ns);
            let Some(cm) = api.get_opt(&r.name).await.map_err(api_err)? else {
                return Ok(None);
            };
            cm.data
                .as_ref()
                .and_then(|d| d.get(key))
                .map(|s| s.as_bytes().to_vec())
                .or_else(|| {
                    cm.binary_data
                        .as_ref()
                        .and_then(|d| d.get(key))
                        .map(|b| b.0.clone())
                })
        }
        ValuesReferenceKind::Secret => {
            let api: Api<Secret> = Api::namespaced(client.clone(), ns);
            let Some(s) = api.get_opt(&r.name).await.map_err(api_err)? else {
                return Ok(None);
            };
            s.data
                .as_ref()
                .and_then(|d| d.get(key))
                .map(|b| b.0.clone())
                .or_else(|| {
                    s.string_data
                        .as_ref()
                        .and_then(|d| d.get(key))
                        .map(|s| s.as_bytes().to_vec())
                })
        }
    };
    match bytes {
        None => Ok(None),
        Some(b) => String::from_utf8(b)
            .map(Some)
            .map_err(|_| ValuesError::Invalid(format!("key '{key}' of {shown} is not UTF-8 text"))),
    }
}

/// Merges the values of `hr`: each `valuesFrom` entry in order (a
/// `targetPath` sets one value, as `--set` would, else the text is a YAML
/// document merged in), then `spec.values`.
pub async fn compose(
    client: &kube::Client,
    hr: &HelmRelease,
) -> Result<Map<String, Value>, ValuesError> {
    let ns = hr.namespace().unwrap_or_default();
    let mut result = Map::new();
    for r in &hr.spec.values_from {
        let key = r
            .values_key
            .as_deref()
            .filter(|k| !k.is_empty())
            .unwrap_or(DEFAULT_VALUES_KEY);
        let shown = format!("{} '{ns}/{}'", kind_name(r.kind), r.name);
        let Some(text) = read(client, &ns, r, key).await? else {
            if r.optional {
                continue;
            }
            return Err(ValuesError::Missing(format!(
                "could not find {shown} or key '{key}' in it"
            )));
        };
        match r
            .target_path
            .as_deref()
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            Some(path) => {
                let set = if r.literal {
                    // The whole text is the value: a JSON string, so no
                    // comma or brace in it is read as syntax.
                    let quoted = Value::String(text.trim().to_string()).to_string();
                    strvals::parse_json(&format!("{path}={quoted}"), &mut result)
                } else {
                    strvals::parse_into(&format!("{path}={}", text.trim()), &mut result)
                };
                set.map_err(|e| {
                    ValuesError::Invalid(format!(
                        "unable to merge value from key '{key}' in {shown} into target path '{path}': {e}"
                    ))
                })?;
            }
            None => {
                let values = strvals::merge_sources(&[text], &[], &[], &[]).map_err(|e| {
                    ValuesError::Invalid(format!(
                        "unable to read values from key '{key}' in {shown}: {e}"
                    ))
                })?;
                strvals::merge_maps(&mut result, values);
            }
        }
    }
    if let Some(inline) = &hr.spec.values {
        strvals::merge_maps(&mut result, inline.clone());
    }
    Ok(result)
}

/// `sha256:<hex>` of the values with keys sorted: what a release's values
/// are compared by (Flux's `configDigest`).
pub fn digest(values: &Map<String, Value>) -> String {
    digest_value(&Value::Object(values.clone()))
}

/// `sha256:<hex>` of any JSON value with keys sorted.
pub fn digest_value(v: &Value) -> String {
    use sha2::{Digest, Sha256};
    format!(
        "sha256:{}",
        hex::encode(Sha256::digest(canonical(v).to_string()))
    )
}

/// `v` with every object's keys in order, so equal values print equally
/// whatever order they were built in.
pub fn canonical(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), canonical(&m[k])))
                    .collect(),
            )
        }
        Value::Array(a) => Value::Array(a.iter().map(canonical).collect()),
        other => other.clone(),
    }
}
