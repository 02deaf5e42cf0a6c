//! The write path's admission of built-in kinds: decode against the kind's
//! schema (unknown fields per `fieldValidation`), default, validate; and the
//! `Warning` headers the dropped fields earn.

use axum::http::HeaderValue;
use axum::response::Response;
use serde_json::Value;

use crate::builtin_schema::{self, FieldValidation};
use crate::defaults;
use crate::errors::ApiError;
use crate::write::WriteCtx;

/// Decodes, defaults and validates a built-in object as kube-apiserver does
/// before storing it; returns the warnings to send (one per dropped field).
pub fn builtin(ctx: &WriteCtx, obj: &mut Value) -> Result<Vec<String>, ApiError> {
    let rt = &ctx.path.rt;
    let version = rt.storage_version();
    let Some(def) = builtin_schema::schemas().kind(&rt.group, version, &rt.kind) else {
        return Ok(Vec::new());
    };
    let warnings = decode(ctx, obj, def)?;
    defaults::apply(&rt.group, &rt.kind, obj);
    let errors = builtin_schema::validate(obj, def);
    if !errors.is_empty() {
        let name = obj["metadata"]["name"].as_str().unwrap_or("");
        return Err(ApiError::invalid(&rt.group, &rt.kind, name, &errors));
    }
    Ok(warnings)
}

/// Decodes a built-in object (or an apply configuration of one): unknown
/// fields dropped, a wrong type refused as the server's decoder refuses it.
pub fn decode(ctx: &WriteCtx, obj: &mut Value, def: &str) -> Result<Vec<String>, ApiError> {
    let rt = &ctx.path.rt;
    let mode =
        FieldValidation::parse(ctx.query.get("fieldValidation")).map_err(ApiError::bad_request)?;
    let decoded = builtin_schema::decode(obj, def);
    let version = rt.storage_version();
    let refuse = |why: String| {
        ApiError::bad_request(format!(
            "{kind} in version \"{version}\" cannot be handled as a {kind}: {why}",
            kind = rt.kind
        ))
    };
    if let Some(e) = decoded.error {
        return Err(refuse(e));
    }
    unknown_fields(ctx, mode, &decoded.unknown)
}

/// What the dropped fields at `paths` earn under the request's field
/// validation: warnings, nothing, or (Strict) a refusal naming them all.
pub fn unknown_fields(
    ctx: &WriteCtx,
    mode: FieldValidation,
    paths: &[String],
) -> Result<Vec<String>, ApiError> {
    let rt = &ctx.path.rt;
    let messages = paths.iter().map(|path| format!("unknown field \"{path}\""));
    match mode {
        FieldValidation::Ignore => Ok(Vec::new()),
        FieldValidation::Warn => Ok(messages.collect()),
        FieldValidation::Strict if paths.is_empty() => Ok(Vec::new()),
        FieldValidation::Strict => Err(ApiError::bad_request(format!(
            "{kind} in version \"{version}\" cannot be handled as a {kind}: strict decoding error: {}",
            messages.collect::<Vec<_>>().join(", "),
            kind = rt.kind,
            version = ctx.path.version,
        ))),
    }
}

/// The request's `fieldValidation`, refused when it is not one kube knows.
pub fn field_validation(ctx: &WriteCtx) -> Result<FieldValidation, ApiError> {
    FieldValidation::parse(ctx.query.get("fieldValidation")).map_err(ApiError::bad_request)
}

/// The definition name of the request's kind, when it is a built-in one.
pub fn builtin_def(ctx: &WriteCtx) -> Option<&'static str> {
    let rt = &ctx.path.rt;
    if rt.custom.is_some() {
        return None;
    }
    builtin_schema::schemas().kind(&rt.group, rt.storage_version(), &rt.kind)
}

/// Adds one `Warning: 299 - "<text>"` header per warning, as the server does.
pub fn with_warnings(mut response: Response, warnings: &[String]) -> Response {
    for w in warnings {
        let escaped = w.replace('\\', "\\\\").replace('"', "\\\"");
        if let Ok(v) = HeaderValue::from_str(&format!("299 - \"{escaped}\"")) {
            response.headers_mut().append("warning", v);
        }
    }
    response
}
