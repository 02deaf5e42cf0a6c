//! Object bookkeeping shared by the write paths: metadata the server owns,
//! name validation, body decoding, timestamps.

use axum::http::HeaderMap;
use k8s_openapi::jiff::Timestamp;
use serde_json::{Map, Value, json};

use crate::errors::ApiError;
use crate::registry::ResourceType;

/// Now, as the API server writes timestamps (RFC 3339, whole seconds, UTC).
pub fn now() -> String {
    let secs = Timestamp::now().as_second();
    Timestamp::from_second(secs)
        .unwrap_or(Timestamp::UNIX_EPOCH)
        .to_string()
}

/// A fresh object UID.
pub fn new_uid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Decodes a request body as JSON (or YAML when the content type says so).
pub fn decode_body(headers: &HeaderMap, body: &[u8]) -> Result<Value, ApiError> {
    let ct = content_type(headers);
    let value: Value = if ct == crate::protobuf::CONTENT_TYPE {
        crate::protobuf::decode(body).map_err(|e| ApiError::bad_request(e.to_string()))?
    } else if ct.contains("yaml") {
        let text = std::str::from_utf8(body)
            .map_err(|_| ApiError::bad_request("request body is not UTF-8"))?;
        serde_yaml::from_str(text)
            .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")))?
    } else if ct.is_empty() || ct.starts_with("application/json") || ct.contains("+json") {
        serde_json::from_slice(body).map_err(|e| {
            ApiError::bad_request(format!("couldn't get version/kind; json parse error: {e}"))
        })?
    } else {
        return Err(ApiError::unsupported_media_type(&ct));
    };
    Ok(value)
}

/// The request's content type without parameters.
pub fn content_type(headers: &HeaderMap) -> String {
    headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default()
}

/// Checks the shape every object must have: a JSON object whose
/// `metadata`, if present, is an object too.
pub fn check_shape(obj: &Value) -> Result<(), ApiError> {
    let Some(map) = obj.as_object() else {
        return Err(ApiError::bad_request(
            "the body of the request must be a JSON object",
        ));
    };
    match map.get("metadata") {
        None | Some(Value::Object(_)) => Ok(()),
        Some(_) => Err(ApiError::bad_request("metadata: must be an object")),
    }
}

/// Checks that a body is an object of the expected kind and apiVersion.
pub fn check_type(obj: &Value, rt: &ResourceType, version: &str) -> Result<(), ApiError> {
    check_shape(obj)?;
    let Some(map) = obj.as_object() else {
        return Err(ApiError::bad_request(
            "the body of the request must be a JSON object",
        ));
    };
    let kind = map.get("kind").and_then(Value::as_str).unwrap_or("");
    let api_version = map.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    if kind.is_empty() {
        return Err(ApiError::bad_request(format!(
            "Object 'Kind' is missing in '{}'",
            truncate(obj)
        )));
    }
    let expected = rt.api_version(version);
    if kind != rt.kind {
        return Err(ApiError::bad_request(format!(
            "the kind in the data ({kind}) does not match the expected kind ({})",
            rt.kind
        )));
    }
    if !api_version.is_empty() && api_version != expected {
        return Err(ApiError::bad_request(format!(
            "the API version in the data ({api_version}) does not match the expected API version ({expected})"
        )));
    }
    Ok(())
}

fn truncate(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 200 {
        format!("{}...", &s[..200])
    } else {
        s
    }
}

/// Validates `metadata.name` as a DNS subdomain (what most kinds require).
pub fn validate_name(rt: &ResourceType, name: &str) -> Result<(), ApiError> {
    let valid = !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        });
    // Role names may contain ':' (system:controller:...), as the real server allows.
    let rbac_ok = rt.group == "rbac.authorization.k8s.io"
        && !name.is_empty()
        && !name.contains('/')
        && name != "."
        && name != "..";
    if valid || rbac_ok {
        return Ok(());
    }
    Err(ApiError::invalid(
        &rt.group,
        &rt.kind,
        name,
        &[(
            "metadata.name".into(),
            format!(
                "Invalid value: \"{name}\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
            ),
        )],
    ))
}

/// A name from `generateName`: the prefix plus five random characters.
pub fn generate_name(prefix: &str) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let bytes = uuid::Uuid::new_v4();
    let suffix: String = bytes.as_bytes()[..5]
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect();
    format!("{prefix}{suffix}")
}

/// The object's metadata map, created if absent.
pub fn meta_mut(obj: &mut Value) -> &mut Map<String, Value> {
    if !obj["metadata"].is_object() {
        obj["metadata"] = json!({});
    }
    obj["metadata"]
        .as_object_mut()
        .expect("metadata was just made an object")
}

/// Whether anything but metadata and status differs: what bumps `metadata.generation`.
pub fn spec_changed(old: &Value, new: &Value) -> bool {
    let strip = |v: &Value| -> Value {
        let mut v = v.clone();
        if let Some(m) = v.as_object_mut() {
            m.remove("metadata");
            m.remove("status");
            m.remove("apiVersion");
            m.remove("kind");
        }
        v
    };
    strip(old) != strip(new)
}

/// Labels and annotations must be string maps; finalizers a list of strings.
pub fn validate_metadata(rt: &ResourceType, obj: &Value) -> Result<(), ApiError> {
    let meta = &obj["metadata"];
    let name = meta["name"].as_str().unwrap_or("");
    let mut causes = Vec::new();
    for field in ["labels", "annotations"] {
        match &meta[field] {
            Value::Null => {}
            Value::Object(m) => {
                for (k, v) in m {
                    if !v.is_string() {
                        causes.push((
                            format!("metadata.{field}.{k}"),
                            "Invalid value: must be a string".to_string(),
                        ));
                    }
                }
            }
            _ => causes.push((
                format!("metadata.{field}"),
                "Invalid value: must be a map of strings".into(),
            )),
        }
    }
    if field_label_values_too_long(meta) {
        causes.push((
            "metadata.labels".into(),
            "Invalid value: must be no more than 63 characters".into(),
        ));
    }
    if causes.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid(&rt.group, &rt.kind, name, &causes))
    }
}

fn field_label_values_too_long(meta: &Value) -> bool {
    meta["labels"]
        .as_object()
        .is_some_and(|m| m.values().any(|v| v.as_str().is_some_and(|s| s.len() > 63)))
}
