//! Server-side apply (`application/apply-patch+yaml`) through the field
//! manager in [`crate::fields`].

use axum::response::Response;
use serde_json::{Value, json};

use crate::errors::ApiError;
use crate::fields::{self, ApplyError};
use crate::managed;
use crate::objects;
use crate::store::Txn;
use crate::write::{self, WriteCtx};

fn to_api_error(ctx: &WriteCtx, e: ApplyError) -> ApiError {
    let rt = &ctx.path.rt;
    let name = ctx.path.name.as_deref().unwrap_or("");
    match e {
        ApplyError::Conflicts(c) => {
            ApiError::apply_conflict(&rt.group, &rt.plural, name, c.message())
        }
        ApplyError::Invalid(e) => {
            ApiError::invalid(&rt.group, &rt.kind, name, &[(String::new(), e.to_string())])
        }
    }
}

/// What of `applied` the request may own: only status on `/status`, never
/// status on the main resource of a kind with a status subresource.
fn scoped(ctx: &WriteCtx, applied: &Value) -> Value {
    let mut out = applied.clone();
    let status_request = ctx.path.subresource.as_deref() == Some("status");
    if let Some(map) = out.as_object_mut() {
        if status_request {
            map.retain(|k, _| matches!(k.as_str(), "apiVersion" | "kind" | "metadata" | "status"));
            if let Some(meta) = map.get_mut("metadata").and_then(Value::as_object_mut) {
                meta.retain(|k, _| matches!(k.as_str(), "name" | "namespace"));
            }
        } else if ctx.path.rt.has_status {
            map.remove("status");
        }
    }
    out
}

/// An apply that creates the object.
pub fn create(
    ctx: &WriteCtx,
    applied: Value,
    manager: &str,
    force: bool,
) -> Result<Response, ApiError> {
    let rt = &ctx.path.rt;
    if ctx.path.subresource.is_some() {
        return Err(ApiError::not_found(
            &rt.group,
            &rt.plural,
            ctx.path.name.as_deref().unwrap_or(""),
        ));
    }
    let types = managed::list_types(rt, &ctx.path.version);
    let (applied, warnings) = decoded(ctx, applied)?;
    let (obj, _) = fields::apply(
        None,
        &scoped(ctx, &applied),
        manager,
        &rt.api_version(&ctx.path.version),
        "",
        force,
        &[],
        types.as_ref(),
        &objects::now(),
    )
    .map_err(|e| to_api_error(ctx, e))?;
    let managed_fields = obj["metadata"]["managedFields"].clone();
    write::create_object(ctx, obj, Some(managed_fields))
        .map(|r| crate::admit::with_warnings(r, &warnings))
}

/// A built-in kind's apply configuration with its unknown fields dropped
/// before the field manager sees it (they must not be owned), and the
/// warnings for them.
fn decoded(ctx: &WriteCtx, mut applied: Value) -> Result<(Value, Vec<String>), ApiError> {
    match crate::admit::builtin_def(ctx) {
        Some(def) => {
            let warnings = crate::admit::decode(ctx, &mut applied, def)?;
            Ok((applied, warnings))
        }
        None => Ok((applied, Vec::new())),
    }
}

/// An apply to an existing object.
pub fn update(
    ctx: &WriteCtx,
    txn: &mut Txn,
    existing: &Value,
    applied: Value,
    manager: &str,
    force: bool,
) -> Result<Response, ApiError> {
    let rt = &ctx.path.rt;
    let sub = ctx.path.subresource.as_deref().unwrap_or("");
    let types = managed::list_types(rt, &ctx.path.version);
    let entries =
        fields::decode_managed_fields(&existing["metadata"]["managedFields"]).unwrap_or_default();
    let (applied, warnings) = decoded(ctx, applied)?;
    let (obj, _) = fields::apply(
        Some(existing),
        &scoped(ctx, &applied),
        manager,
        &rt.api_version(&ctx.path.version),
        sub,
        force,
        &entries,
        types.as_ref(),
        &objects::now(),
    )
    .map_err(|e| to_api_error(ctx, e))?;
    let managed_fields = obj
        .pointer("/metadata/managedFields")
        .cloned()
        .unwrap_or_else(|| json!([]));
    write::commit(ctx, txn, existing, obj, manager, Some(managed_fields))
        .map(|r| crate::admit::with_warnings(r, &warnings))
}
