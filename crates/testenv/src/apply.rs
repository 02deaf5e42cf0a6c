//! Server-side apply (`application/apply-patch+yaml`).

use axum::response::Response;
use serde_json::{Value, json};

use crate::errors::ApiError;
use crate::objects;
use crate::store::Txn;
use crate::write::{self, WriteCtx};

fn apply_entry(ctx: &WriteCtx, manager: &str) -> Value {
    let mut e = json!({
        "manager": manager,
        "operation": "Apply",
        "apiVersion": ctx.path.rt.api_version(&ctx.path.version),
        "time": objects::now(),
        "fieldsType": "FieldsV1",
        "fieldsV1": {},
    });
    if let Some(sub) = ctx.path.subresource.as_deref() {
        e["subresource"] = json!(sub);
    }
    e
}

/// An apply that creates the object.
pub fn create(
    ctx: &WriteCtx,
    applied: Value,
    manager: &str,
    _force: bool,
) -> Result<Response, ApiError> {
    if ctx.path.subresource.is_some() {
        let rt = &ctx.path.rt;
        return Err(ApiError::not_found(
            &rt.group,
            &rt.plural,
            ctx.path.name.as_deref().unwrap_or(""),
        ));
    }
    let managed = json!([apply_entry(ctx, manager)]);
    write::create_object(ctx, applied, Some(managed))
}

/// An apply to an existing object.
pub fn update(
    ctx: &WriteCtx,
    txn: &mut Txn,
    existing: &Value,
    applied: Value,
    manager: &str,
    _force: bool,
) -> Result<Response, ApiError> {
    let mut merged = existing.clone();
    deep_merge(&mut merged, &applied);
    let mut entries: Vec<Value> = existing["metadata"]["managedFields"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let entry = apply_entry(ctx, manager);
    match entries
        .iter_mut()
        .find(|e| e["manager"] == manager && e["operation"] == "Apply")
    {
        Some(e) => *e = entry,
        None => entries.push(entry),
    }
    write::commit(ctx, txn, existing, merged, manager, Some(json!(entries)))
}

fn deep_merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in p {
                match t.get_mut(k) {
                    Some(existing) if existing.is_object() && v.is_object() => {
                        deep_merge(existing, v)
                    }
                    _ => {
                        t.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (t, p) => *t = p.clone(),
    }
}
