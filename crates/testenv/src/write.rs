//! create, update, patch, delete and deletecollection.

use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{Value, json};

use crate::errors::ApiError;
use crate::lifecycle;
use crate::managed;
use crate::objects::{self, meta_mut};
use crate::read::present;
use crate::request::{Query, ResourcePath, User};
use crate::schema;
use crate::server::{Server, json_response};
use crate::store::{Key, Txn};

/// The field manager of a non-apply write: `?fieldManager=`, else the user
/// agent's program name, as kube-apiserver derives it.
fn update_manager(query: &Query, headers: &HeaderMap) -> String {
    if let Some(m) = query.get("fieldManager").filter(|m| !m.is_empty()) {
        return m.to_string();
    }
    headers
        .get("user-agent")
        .and_then(|v| v.to_str().ok())
        .map(|ua| ua.split('/').next().unwrap_or(ua).to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

/// Everything a write needs to know about its request.
pub struct WriteCtx<'a> {
    /// The server.
    pub server: &'a Server,
    /// The resource path.
    pub path: &'a ResourcePath,
    /// Query parameters.
    pub query: &'a Query,
    /// Request headers.
    pub headers: &'a HeaderMap,
    /// The acting user.
    pub user: &'a User,
}

impl WriteCtx<'_> {
    fn key(&self, name: &str) -> Key {
        let rt = &self.path.rt;
        Key::new(
            &rt.group,
            &rt.plural,
            self.path.namespace.as_deref().unwrap_or(""),
            name,
        )
    }
}

/// Custom resources: drop unknown fields (per `fieldValidation`), apply
/// defaults, validate; returns the warnings for dropped fields.
fn admit_custom(ctx: &WriteCtx, obj: &mut Value) -> Result<Vec<String>, ApiError> {
    let rt = &ctx.path.rt;
    let Some(schema) = rt
        .schema(&ctx.path.version)
        .or_else(|| rt.schema(rt.storage_version()))
    else {
        return Ok(Vec::new());
    };
    let mode = crate::admit::field_validation(ctx)?;
    let pruned = schema::prune_and_default_reporting(obj, schema);
    let warnings = crate::admit::unknown_fields(ctx, mode, &pruned)?;
    let errors = schema::validate(obj, schema);
    if errors.is_empty() {
        Ok(warnings)
    } else {
        let name = obj["metadata"]["name"].as_str().unwrap_or("");
        Err(ApiError::invalid(&rt.group, &rt.kind, name, &errors))
    }
}

/// `POST` to a collection.
pub fn create(ctx: &WriteCtx, body: &[u8]) -> Result<Response, ApiError> {
    let rt = &ctx.path.rt;
    let obj = objects::decode_body(ctx.headers, body)?;
    objects::check_type(&obj, rt, &ctx.path.version)?;
    if rt.virtual_only {
        let answer = lifecycle::review(ctx.server, ctx.user, rt, obj)?;
        return Ok(json_response(201, &answer));
    }
    create_object(ctx, obj, None)
}

/// Creates `obj`; `apply_managed` is the managed-fields list of a
/// server-side apply that creates the object (plain creates record an Update).
pub fn create_object(
    ctx: &WriteCtx,
    obj: Value,
    apply_managed: Option<Value>,
) -> Result<Response, ApiError> {
    let mut warnings = Vec::new();
    create_admitted(ctx, obj, apply_managed, &mut warnings)
        .map(|r| crate::admit::with_warnings(r, &warnings))
}

fn create_admitted(
    ctx: &WriteCtx,
    mut obj: Value,
    apply_managed: Option<Value>,
    warnings: &mut Vec<String>,
) -> Result<Response, ApiError> {
    let rt = &ctx.path.rt;
    let meta = meta_mut(&mut obj);
    if rt.namespaced {
        let path_ns = ctx.path.namespace.clone().unwrap_or_default();
        match meta.get("namespace").and_then(Value::as_str) {
            Some(ns) if !ns.is_empty() && ns != path_ns => {
                return Err(ApiError::bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request",
                ));
            }
            _ => {
                meta.insert("namespace".into(), json!(path_ns));
            }
        }
    } else {
        meta.remove("namespace");
    }
    let name = match meta
        .get("name")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
    {
        Some(n) => n.to_string(),
        None => match meta
            .get("generateName")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
        {
            Some(prefix) => objects::generate_name(prefix),
            None => {
                return Err(ApiError::invalid(
                    &rt.group,
                    &rt.kind,
                    "",
                    &[(
                        "metadata.name".into(),
                        "Required value: name or generateName is required".into(),
                    )],
                ));
            }
        },
    };
    objects::validate_name(rt, &name)?;
    meta.insert("name".into(), json!(name));
    let now = objects::now();
    meta.insert("uid".into(), json!(objects::new_uid()));
    meta.insert("creationTimestamp".into(), json!(now));
    meta.insert("generation".into(), json!(1));
    for server_owned in [
        "resourceVersion",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "selfLink",
        "managedFields",
    ] {
        meta.remove(server_owned);
    }
    obj["apiVersion"] = json!(rt.api_version(rt.storage_version()));
    if rt.has_status
        && let Some(m) = obj.as_object_mut()
    {
        m.remove("status");
    }
    objects::validate_metadata(rt, &obj)?;
    if rt.custom.is_some() {
        warnings.extend(admit_custom(ctx, &mut obj)?);
    } else {
        warnings.extend(crate::admit::builtin(ctx, &mut obj)?);
    }
    match apply_managed {
        Some(managed) => obj["metadata"]["managedFields"] = managed,
        None => {
            let manager = update_manager(ctx.query, ctx.headers);
            managed::record_update(
                rt,
                &manager,
                &ctx.path.version,
                None,
                None,
                &[],
                &mut obj,
                &now,
            );
        }
    }
    let mut txn = ctx.server.store.txn();
    if rt.namespaced {
        lifecycle::require_namespace(&txn, ctx.path.namespace.as_deref().unwrap_or(""))?;
    }
    let key = ctx.key(&name);
    if txn.contains(&key) {
        return Err(ApiError::already_exists(&rt.group, &rt.plural, &name));
    }
    lifecycle::before_store(ctx.server, rt, None, &mut obj)?;
    crate::alloc::allocate(&txn, rt, None, &mut obj)?;
    if ctx.query.dry_run() {
        return Ok(json_response(201, &present(&obj, rt, &ctx.path.version)));
    }
    let stored = txn.put(key, obj);
    lifecycle::after_store(ctx.server, &mut txn, rt, &stored);
    Ok(json_response(201, &present(&stored, rt, &ctx.path.version)))
}

/// `PUT` of an object or its status.
pub fn update(ctx: &WriteCtx, body: &[u8]) -> Result<Response, ApiError> {
    let rt = &ctx.path.rt;
    let name = ctx.path.name.clone().unwrap_or_default();
    let obj = objects::decode_body(ctx.headers, body)?;
    objects::check_type(&obj, rt, &ctx.path.version)?;
    let body_name = obj["metadata"]["name"].as_str().unwrap_or("");
    if body_name != name {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({body_name}) does not match the name on the URL ({name})"
        )));
    }
    if rt.namespaced
        && let Some(ns) = obj["metadata"]["namespace"]
            .as_str()
            .filter(|n| !n.is_empty())
        && Some(ns) != ctx.path.namespace.as_deref()
    {
        return Err(ApiError::bad_request(
            "the namespace of the provided object does not match the namespace sent on the request",
        ));
    }
    let mut txn = ctx.server.store.txn();
    let existing = txn
        .get(&ctx.key(&name))
        .ok_or_else(|| ApiError::not_found(&rt.group, &rt.plural, &name))?;
    if let Some(rv) = obj["metadata"]["resourceVersion"]
        .as_str()
        .filter(|r| !r.is_empty())
        && Some(rv) != existing["metadata"]["resourceVersion"].as_str()
    {
        return Err(ApiError::conflict(
            &rt.group,
            &rt.plural,
            &name,
            "the object has been modified; please apply your changes to the latest version and try again",
        ));
    }
    let manager = update_manager(ctx.query, ctx.headers);
    commit(ctx, &mut txn, &existing, obj, &manager, None)
}

/// `PATCH` with any of the four patch types.
pub fn patch(ctx: &WriteCtx, body: &[u8]) -> Result<Response, ApiError> {
    let rt = &ctx.path.rt;
    let name = ctx.path.name.clone().unwrap_or_default();
    let ct = objects::content_type(ctx.headers);
    let mut txn = ctx.server.store.txn();
    let existing = txn.get(&ctx.key(&name));
    match ct.as_str() {
        "application/apply-patch+yaml" | "application/apply-patch+cbor" => {
            let text = std::str::from_utf8(body)
                .map_err(|_| ApiError::bad_request("apply patch is not UTF-8"))?;
            let applied: Value = serde_yaml::from_str(text)
                .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")))?;
            let manager = ctx
                .query
                .get("fieldManager")
                .filter(|m| !m.is_empty())
                .ok_or_else(|| {
                    ApiError::bad_request(
                        "PATCH, fieldManager: Required value: is required for apply patch",
                    )
                })?
                .to_string();
            objects::check_type(&applied, rt, &ctx.path.version)?;
            let applied_name = applied["metadata"]["name"].as_str().unwrap_or("");
            if applied_name != name {
                return Err(ApiError::bad_request(format!(
                    "the name of the object ({applied_name}) does not match the name on the URL ({name})"
                )));
            }
            let force = ctx.query.flag("force");
            match existing {
                None => {
                    drop(txn);
                    crate::apply::create(ctx, applied, &manager, force)
                }
                Some(existing) => {
                    crate::apply::update(ctx, &mut txn, &existing, applied, &manager, force)
                }
            }
        }
        "application/json-patch+json"
        | "application/merge-patch+json"
        | "application/strategic-merge-patch+json" => {
            let existing =
                existing.ok_or_else(|| ApiError::not_found(&rt.group, &rt.plural, &name))?;
            let patch: Value = serde_json::from_slice(body)
                .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?;
            let mut new = (*existing).clone();
            match ct.as_str() {
                "application/json-patch+json" => {
                    let ops: json_patch::Patch = serde_json::from_value(patch).map_err(|e| {
                        ApiError::bad_request(format!(
                            "the server rejected our request due to an error in our request: {e}"
                        ))
                    })?;
                    let ops = absent_tests_pass(&new, ops);
                    json_patch::patch(&mut new, &ops).map_err(|e| {
                        ApiError::invalid(&rt.group, &rt.kind, &name, &[("".into(), format!("the server rejected our request due to an error in our request: {e}"))])
                    })?;
                }
                "application/merge-patch+json" => json_patch::merge(&mut new, &patch),
                _ => {
                    new = crate::strategic::patch(rt, &new, &patch)?;
                }
            }
            if objects::check_shape(&new).is_err() {
                return Err(ApiError::invalid(
                    &rt.group,
                    &rt.kind,
                    &name,
                    &[("".into(), "Invalid value: the patch does not leave a JSON object with object metadata".into())],
                ));
            }
            let manager = update_manager(ctx.query, ctx.headers);
            if let Some(rv) = patch_rv(&new, &existing) {
                return Err(ApiError::conflict(&rt.group, &rt.plural, &name, rv));
            }
            commit(ctx, &mut txn, &existing, new, &manager, None)
        }
        other => Err(ApiError::unsupported_media_type(other)),
    }
}

/// kube-apiserver's JSON patch (evanphx/json-patch) lets `{"op": "test",
/// "value": null}` succeed on a path that does not exist; clients rely on it
/// (kube-runtime's finalizer helper tests `/metadata/finalizers` that way).
/// RFC 6902 would fail it, so such tests are dropped before applying.
fn absent_tests_pass(doc: &Value, ops: json_patch::Patch) -> json_patch::Patch {
    let kept = ops
        .0
        .into_iter()
        .filter(|op| match op {
            json_patch::PatchOperation::Test(t) => {
                !(t.value.is_null() && t.path.resolve(doc).is_err())
            }
            _ => true,
        })
        .collect();
    json_patch::Patch(kept)
}

/// A patch that sets `metadata.resourceVersion` is a precondition.
fn patch_rv(new: &Value, existing: &Value) -> Option<&'static str> {
    let want = new["metadata"]["resourceVersion"].as_str()?;
    (Some(want) != existing["metadata"]["resourceVersion"].as_str()).then_some(
        "the object has been modified; please apply your changes to the latest version and try again",
    )
}

/// Stores the result of an update or patch: status/main split, server-owned
/// metadata kept, generation bumped on spec changes, custom-resource
/// admission, finalization, and no write at all for a no-op.
pub fn commit(
    ctx: &WriteCtx,
    txn: &mut Txn,
    existing: &Value,
    new: Value,
    manager: &str,
    apply_managed: Option<Value>,
) -> Result<Response, ApiError> {
    let mut warnings = Vec::new();
    commit_admitted(
        ctx,
        txn,
        existing,
        new,
        manager,
        apply_managed,
        &mut warnings,
    )
    .map(|r| crate::admit::with_warnings(r, &warnings))
}

#[allow(clippy::too_many_arguments)] // commit's arguments plus the warnings it collects
fn commit_admitted(
    ctx: &WriteCtx,
    txn: &mut Txn,
    existing: &Value,
    mut new: Value,
    manager: &str,
    apply_managed: Option<Value>,
    warnings: &mut Vec<String>,
) -> Result<Response, ApiError> {
    let rt = &ctx.path.rt;
    let status_write = ctx.path.subresource.as_deref() == Some("status");
    if let Some(sub) = ctx.path.subresource.as_deref()
        && sub != "status"
    {
        return Err(ApiError::path_not_found());
    }
    if status_write {
        if !rt.has_status {
            return Err(ApiError::path_not_found());
        }
        let status = new.get("status").cloned();
        new = existing.clone();
        match status {
            Some(s) => new["status"] = s,
            None => {
                if let Some(m) = new.as_object_mut() {
                    m.remove("status");
                }
            }
        }
    } else if rt.has_status {
        match existing.get("status") {
            Some(s) => new["status"] = s.clone(),
            None => {
                if let Some(m) = new.as_object_mut() {
                    m.remove("status");
                }
            }
        }
    }
    // The managed fields an update starts from may come from the request.
    let start = managed::starting_entries(Some(existing), &new, ctx.path.subresource.as_deref());
    // Metadata the server owns survives whatever the client sent.
    let old_meta = &existing["metadata"];
    {
        let meta = meta_mut(&mut new);
        for owned in [
            "uid",
            "creationTimestamp",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "namespace",
            "name",
            "generation",
            "managedFields",
        ] {
            match old_meta.get(owned) {
                Some(v) => {
                    meta.insert(owned.into(), v.clone());
                }
                None => {
                    meta.remove(owned);
                }
            }
        }
        meta.remove("resourceVersion");
    }
    new["apiVersion"] = json!(rt.api_version(rt.storage_version()));
    new["kind"] = json!(rt.kind);
    objects::validate_metadata(rt, &new)?;
    if rt.custom.is_some() {
        warnings.extend(admit_custom(ctx, &mut new)?);
    } else {
        warnings.extend(crate::admit::builtin(ctx, &mut new)?);
    }
    if !status_write {
        crate::immutable::check(rt, existing, &new)?;
    }
    let deleting = !existing["metadata"]["deletionTimestamp"].is_null();
    if deleting && new_finalizers_added(existing, &new) {
        return Err(ApiError::forbidden(
            &rt.group,
            &rt.plural,
            new["metadata"]["name"].as_str().unwrap_or(""),
            "no new finalizers can be added if the object is being deleted".into(),
        ));
    }
    if objects::spec_changed(existing, &new) && !status_write {
        let generation = existing["metadata"]["generation"].as_i64().unwrap_or(1);
        new["metadata"]["generation"] = json!(generation + 1);
    }
    let now = objects::now();
    match apply_managed {
        Some(managed) => new["metadata"]["managedFields"] = managed,
        None => managed::record_update(
            rt,
            manager,
            &ctx.path.version,
            ctx.path.subresource.as_deref(),
            Some(existing),
            &start,
            &mut new,
            &now,
        ),
    }
    lifecycle::before_store(ctx.server, rt, Some(existing), &mut new)?;
    if !status_write {
        crate::alloc::allocate(txn, rt, Some(existing), &mut new)?;
    }
    let mut unchanged = new.clone();
    unchanged["metadata"]["resourceVersion"] = existing["metadata"]["resourceVersion"].clone();
    if without_times(&unchanged) == without_times(existing) {
        // A no-op write stores nothing and bumps no resourceVersion.
        return Ok(json_response(
            200,
            &present(existing, rt, &ctx.path.version),
        ));
    }
    if ctx.query.dry_run() {
        return Ok(json_response(
            200,
            &present(&unchanged, rt, &ctx.path.version),
        ));
    }
    let key = Key::new(
        &rt.group,
        &rt.plural,
        ctx.path.namespace.as_deref().unwrap_or(""),
        new["metadata"]["name"].as_str().unwrap_or(""),
    );
    if deleting
        && new["metadata"]["finalizers"]
            .as_array()
            .is_none_or(|f| f.is_empty())
    {
        let last = lifecycle::remove(ctx.server, txn, &key, lifecycle::Propagation::Background);
        return Ok(json_response(
            200,
            &present(
                &last.unwrap_or_else(|| new.clone().into()),
                rt,
                &ctx.path.version,
            ),
        ));
    }
    let stored = txn.put(key, new);
    lifecycle::after_store(ctx.server, txn, rt, &stored);
    Ok(json_response(200, &present(&stored, rt, &ctx.path.version)))
}

fn new_finalizers_added(old: &Value, new: &Value) -> bool {
    let set = |v: &Value| -> Vec<String> {
        v["metadata"]["finalizers"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    let before = set(old);
    set(new).iter().any(|f| !before.contains(f))
}

/// The object with managed-field timestamps blanked, for no-op detection.
fn without_times(obj: &Value) -> Value {
    let mut v = obj.clone();
    if let Some(entries) = v["metadata"]["managedFields"].as_array_mut() {
        for e in entries {
            if let Some(m) = e.as_object_mut() {
                m.remove("time");
            }
        }
    }
    v
}

/// `DELETE` of one object.
pub fn delete(ctx: &WriteCtx, body: &[u8]) -> Result<Response, ApiError> {
    let rt = &ctx.path.rt;
    let name = ctx.path.name.clone().unwrap_or_default();
    let options: Value = if body.is_empty() {
        json!({})
    } else {
        objects::decode_body(ctx.headers, body)?
    };
    let propagation = lifecycle::Propagation::parse(
        ctx.query
            .get("propagationPolicy")
            .or_else(|| options["propagationPolicy"].as_str())
            .unwrap_or(""),
        options["orphanDependents"].as_bool(),
    )?;
    let mut txn = ctx.server.store.txn();
    let key = ctx.key(&name);
    let existing = txn
        .get(&key)
        .ok_or_else(|| ApiError::not_found(&rt.group, &rt.plural, &name))?;
    let pre = &options["preconditions"];
    if let Some(uid) = pre["uid"].as_str()
        && Some(uid) != existing["metadata"]["uid"].as_str()
    {
        return Err(ApiError::conflict(
            &rt.group,
            &rt.plural,
            &name,
            &format!(
                "Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
                existing["metadata"]["uid"].as_str().unwrap_or("")
            ),
        ));
    }
    if let Some(rv) = pre["resourceVersion"].as_str()
        && Some(rv) != existing["metadata"]["resourceVersion"].as_str()
    {
        return Err(ApiError::conflict(
            &rt.group,
            &rt.plural,
            &name,
            &format!(
                "Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {}",
                existing["metadata"]["resourceVersion"]
                    .as_str()
                    .unwrap_or("")
            ),
        ));
    }
    if ctx.query.dry_run()
        || options["dryRun"]
            .as_array()
            .is_some_and(|d| d.iter().any(|x| x == "All"))
    {
        return Ok(json_response(
            200,
            &present(&existing, rt, &ctx.path.version),
        ));
    }
    let result = lifecycle::delete(ctx.server, &mut txn, &key, propagation);
    Ok(json_response(200, &present(&result, rt, &ctx.path.version)))
}

/// `DELETE` of a collection (with selectors).
pub fn delete_collection(ctx: &WriteCtx) -> Result<Response, ApiError> {
    let rt = &ctx.path.rt;
    let labels =
        crate::selectors::LabelSelector::parse(ctx.query.get("labelSelector").unwrap_or(""))
            .map_err(ApiError::bad_request)?;
    let fields = crate::selectors::FieldSelector::parse(
        ctx.query.get("fieldSelector").unwrap_or(""),
        &rt.kind,
    )
    .map_err(ApiError::bad_request)?;
    let propagation =
        lifecycle::Propagation::parse(ctx.query.get("propagationPolicy").unwrap_or(""), None)?;
    let mut txn = ctx.server.store.txn();
    let objects = txn.list(&rt.group, &rt.plural, ctx.path.namespace.as_deref());
    let mut items = Vec::new();
    for obj in objects
        .iter()
        .filter(|o| labels.matches(o) && fields.matches(o))
    {
        let meta = &obj["metadata"];
        let key = Key::new(
            &rt.group,
            &rt.plural,
            meta["namespace"].as_str().unwrap_or(""),
            meta["name"].as_str().unwrap_or(""),
        );
        if ctx.query.dry_run() {
            items.push(present(obj, rt, &ctx.path.version));
        } else {
            let gone = lifecycle::delete(ctx.server, &mut txn, &key, propagation);
            items.push(present(&gone, rt, &ctx.path.version));
        }
    }
    let body = json!({
        "kind": format!("{}List", rt.kind),
        "apiVersion": rt.api_version(&ctx.path.version),
        "metadata": {"resourceVersion": txn.current_rv().to_string()},
        "items": items,
    });
    Ok(json_response(200, &body))
}
