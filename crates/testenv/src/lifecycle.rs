//! What happens around storing and removing objects: namespaces,
//! finalizers, owner-reference garbage collection, CRDs becoming served,
//! access reviews, and managed-field bookkeeping of plain updates.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::errors::ApiError;
use crate::objects;
use crate::registry::{self, ResourceType};
use crate::request::User;
use crate::server::Server;
use crate::store::{Key, Txn};

/// How dependents are treated when their owner is deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Propagation {
    /// Dependents are deleted after the owner (the default).
    Background,
    /// Dependents are deleted before the owner goes (here: at once, then the owner).
    Foreground,
    /// Dependents lose their owner reference and stay.
    Orphan,
}

impl Propagation {
    /// Parses `propagationPolicy` (and the legacy `orphanDependents`).
    pub fn parse(policy: &str, orphan: Option<bool>) -> Result<Self, ApiError> {
        Ok(match policy {
            "" if orphan == Some(true) => Propagation::Orphan,
            "" | "Background" => Propagation::Background,
            "Foreground" => Propagation::Foreground,
            "Orphan" => Propagation::Orphan,
            other => {
                return Err(ApiError::bad_request(format!(
                    "propagationPolicy: Unsupported value: \"{other}\": supported values: \"Foreground\", \"Background\", \"Orphan\""
                )));
            }
        })
    }
}

/// Fails unless namespace `ns` exists and is not being deleted.
pub fn require_namespace(txn: &Txn, ns: &str) -> Result<(), ApiError> {
    let Some(obj) = txn.get(&Key::new("", "namespaces", "", ns)) else {
        return Err(ApiError::not_found("", "namespaces", ns));
    };
    if !obj["metadata"]["deletionTimestamp"].is_null() {
        return Err(ApiError::forbidden(
            "",
            "namespaces",
            ns,
            format!(
                "unable to create new content in namespace {ns} because it is being terminated"
            ),
        ));
    }
    Ok(())
}

/// Kind-specific work before an object is stored.
pub fn before_store(
    _server: &Server,
    rt: &ResourceType,
    existing: Option<&Value>,
    obj: &mut Value,
) -> Result<(), ApiError> {
    match (rt.group.as_str(), rt.plural.as_str()) {
        ("apiextensions.k8s.io", "customresourcedefinitions") => {
            let served = registry::from_crd(obj).map_err(|cause| {
                let name = obj["metadata"]["name"].as_str().unwrap_or("").to_string();
                let (field, msg) = cause
                    .split_once(": ")
                    .map(|(f, m)| (f.to_string(), m.to_string()))
                    .unwrap_or((String::new(), cause));
                ApiError::invalid(&rt.group, &rt.kind, &name, &[(field, msg)])
            })?;
            let name = obj["metadata"]["name"].as_str().unwrap_or("");
            let expected = format!("{}.{}", served.plural, served.group);
            if name != expected {
                return Err(ApiError::invalid(
                    &rt.group,
                    &rt.kind,
                    name,
                    &[(
                        "metadata.name".into(),
                        format!(
                            "Invalid value: \"{name}\": must be spec.names.plural+\".\"+spec.group"
                        ),
                    )],
                ));
            }
            let now = objects::now();
            let stored_versions: Vec<String> = {
                let mut v: Vec<String> = existing
                    .and_then(|e| e["status"]["storedVersions"].as_array().cloned())
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|s| s.as_str().map(String::from))
                    .collect();
                let storage = served.storage_version().to_string();
                if !v.contains(&storage) {
                    v.push(storage);
                }
                v
            };
            obj["status"] = json!({
                "acceptedNames": obj["spec"]["names"].clone(),
                "conditions": [
                    {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts", "message": "no conflicts found", "lastTransitionTime": now},
                    {"type": "Established", "status": "True", "reason": "InitialNamesAccepted", "message": "the initial names have been accepted", "lastTransitionTime": now}
                ],
                "storedVersions": stored_versions,
            });
            if let Some(prev) = existing.and_then(|e| e["status"]["conditions"].as_array()) {
                // Keep transition times stable across updates.
                obj["status"]["conditions"] = json!(prev);
            }
        }
        ("", "secrets") => {
            // As kube-apiserver: stringData is write-only, merged into data
            // (base64) and never stored.
            if let Some(string_data) = obj.get("stringData").and_then(Value::as_object).cloned() {
                use base64::Engine;
                let data = obj
                    .as_object_mut()
                    .map(|m| m.entry("data").or_insert_with(|| json!({})))
                    .filter(|d| d.is_object());
                if let Some(data) = data {
                    for (k, v) in string_data {
                        let text = v.as_str().unwrap_or_default();
                        data[k.as_str()] =
                            json!(base64::engine::general_purpose::STANDARD.encode(text));
                    }
                }
            }
            if let Some(m) = obj.as_object_mut() {
                m.remove("stringData");
            }
        }
        ("", "pods") if existing.is_none() => {
            // As kube-apiserver: a new Pod is Pending, with its QoS class.
            obj["status"] = crate::workloads::pods::created_status(obj);
        }
        ("", "namespaces") => {
            if obj["spec"]["finalizers"].is_null() {
                obj["spec"]["finalizers"] = json!(["kubernetes"]);
            }
            if obj["metadata"]["deletionTimestamp"].is_null() {
                obj["status"] = json!({"phase": "Active"});
            }
            let name = obj["metadata"]["name"].as_str().unwrap_or("").to_string();
            let labels = objects::meta_mut(obj)
                .entry("labels")
                .or_insert_with(|| json!({}));
            labels["kubernetes.io/metadata.name"] = json!(name);
        }
        _ => {}
    }
    Ok(())
}

/// Kind-specific work after an object is stored.
pub fn after_store(server: &Server, _txn: &mut Txn, rt: &ResourceType, stored: &Value) {
    if let Some(sim) = server.workloads.get()
        && crate::workloads::is_workload(&rt.group, &rt.plural)
    {
        let meta = &stored["metadata"];
        let key = Key::new(
            &rt.group,
            &rt.plural,
            meta["namespace"].as_str().unwrap_or(""),
            meta["name"].as_str().unwrap_or(""),
        );
        sim.queue(key);
    }
    if rt.group == "apiextensions.k8s.io"
        && rt.plural == "customresourcedefinitions"
        && let Ok(t) = registry::from_crd(stored)
    {
        server.registry.upsert(t);
    }
}

/// Deletes the object at `key`: marks it when finalizers hold it, removes it
/// otherwise. Returns the object's last (or current, if held) state.
pub fn delete(server: &Server, txn: &mut Txn, key: &Key, propagation: Propagation) -> Arc<Value> {
    let Some(existing) = txn.get(key) else {
        return Arc::new(Value::Null);
    };
    let has_finalizers = existing["metadata"]["finalizers"]
        .as_array()
        .is_some_and(|f| !f.is_empty());
    let is_namespace = key.group.is_empty() && key.plural == "namespaces";
    if is_namespace {
        return delete_namespace(server, txn, key, &existing, propagation);
    }
    if has_finalizers {
        if !existing["metadata"]["deletionTimestamp"].is_null() {
            return existing;
        }
        let mut marked = (*existing).clone();
        marked["metadata"]["deletionTimestamp"] = json!(objects::now());
        marked["metadata"]["deletionGracePeriodSeconds"] = json!(0);
        return txn.put(key.clone(), marked);
    }
    remove(server, txn, key, propagation).unwrap_or(existing)
}

fn delete_namespace(
    server: &Server,
    txn: &mut Txn,
    key: &Key,
    existing: &Arc<Value>,
    propagation: Propagation,
) -> Arc<Value> {
    let mut current = existing.clone();
    if existing["metadata"]["deletionTimestamp"].is_null() {
        let mut marked = (**existing).clone();
        marked["metadata"]["deletionTimestamp"] = json!(objects::now());
        marked["status"]["phase"] = json!("Terminating");
        current = txn.put(key.clone(), marked);
    }
    let contents: Vec<Key> = txn
        .keys()
        .into_iter()
        .filter(|k| k.namespace == key.name && !k.namespace.is_empty())
        .collect();
    for k in contents {
        delete(server, txn, &k, propagation);
    }
    finalize_namespace(server, txn, &key.name).unwrap_or(current)
}

/// Removes a terminating namespace once nothing is left in it.
fn finalize_namespace(server: &Server, txn: &mut Txn, ns: &str) -> Option<Arc<Value>> {
    let key = Key::new("", "namespaces", "", ns);
    let obj = txn.get(&key)?;
    if obj["metadata"]["deletionTimestamp"].is_null() {
        return None;
    }
    if txn.keys().iter().any(|k| k.namespace == ns) {
        return None;
    }
    let user_finalizers = obj["metadata"]["finalizers"]
        .as_array()
        .is_some_and(|f| !f.is_empty());
    if user_finalizers {
        return None;
    }
    remove(server, txn, &key, Propagation::Background)
}

/// Removes the object at `key` for good, then collects what depended on it.
pub fn remove(
    server: &Server,
    txn: &mut Txn,
    key: &Key,
    propagation: Propagation,
) -> Option<Arc<Value>> {
    let gone = txn.remove(key)?;
    if key.group == "apiextensions.k8s.io" && key.plural == "customresourcedefinitions" {
        let group = gone["spec"]["group"].as_str().unwrap_or("").to_string();
        let plural = gone["spec"]["names"]["plural"]
            .as_str()
            .unwrap_or("")
            .to_string();
        server.registry.remove(&group, &plural);
        let owned: Vec<Key> = txn
            .keys()
            .into_iter()
            .filter(|k| k.group == group && k.plural == plural)
            .collect();
        for k in owned {
            txn.remove(&k);
        }
    }
    if let Some(uid) = gone["metadata"]["uid"].as_str() {
        collect_dependents(server, txn, uid, propagation);
    }
    if !key.namespace.is_empty() {
        finalize_namespace(server, txn, &key.namespace);
    }
    Some(gone)
}

/// Owner-reference garbage collection: dependents whose owners are all gone
/// are deleted (or, with `Orphan`, released).
fn collect_dependents(server: &Server, txn: &mut Txn, owner_uid: &str, propagation: Propagation) {
    // The store indexes uids and owner references: no object is parsed but the dependents.
    for (k, owners) in txn.dependents(owner_uid) {
        if propagation == Propagation::Orphan {
            let Some(obj) = txn.get(&k) else { continue };
            let refs = obj["metadata"]["ownerReferences"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let mut released = (*obj).clone();
            let kept: Vec<Value> = refs
                .iter()
                .filter(|r| r["uid"].as_str() != Some(owner_uid))
                .cloned()
                .collect();
            if kept.is_empty() {
                if let Some(m) = released["metadata"].as_object_mut() {
                    m.remove("ownerReferences");
                }
            } else {
                released["metadata"]["ownerReferences"] = json!(kept);
            }
            txn.put(k, released);
            continue;
        }
        let other_owner_alive = owners.iter().any(|u| u != owner_uid && txn.has_uid(u));
        if !other_owner_alive {
            delete(server, txn, &k, Propagation::Background);
        }
    }
}

/// Answers a SelfSubjectAccessReview / SubjectAccessReview / SelfSubjectRulesReview.
pub fn review(
    server: &Server,
    user: &User,
    rt: &ResourceType,
    mut obj: Value,
) -> Result<Value, ApiError> {
    let spec = obj["spec"].clone();
    let subject = match rt.kind.as_str() {
        "SubjectAccessReview" => User {
            name: spec["user"].as_str().unwrap_or("").to_string(),
            groups: spec["groups"]
                .as_array()
                .map(|g| {
                    g.iter()
                        .filter_map(|s| s.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default(),
        },
        _ => user.clone(),
    };
    if rt.kind == "SelfSubjectRulesReview" {
        let ns = spec["namespace"].as_str().unwrap_or("");
        let rules = crate::authz::rules_for(server, &subject, ns);
        obj["status"] =
            json!({"resourceRules": rules, "nonResourceRules": [], "incomplete": false});
        return Ok(obj);
    }
    let attrs = &spec["resourceAttributes"];
    let str_of = |k: &str| attrs[k].as_str().unwrap_or("");
    let req = crate::authz::Request {
        verb: str_of("verb"),
        group: str_of("group"),
        resource: str_of("resource"),
        subresource: str_of("subresource"),
        namespace: str_of("namespace"),
        name: str_of("name"),
    };
    obj["status"] = match crate::authz::check(server, &subject, &req) {
        Ok(()) => json!({"allowed": true, "reason": "allowed by RBAC"}),
        Err((reason, _)) if reason.is_empty() => json!({"allowed": false}),
        Err((reason, _)) => json!({"allowed": false, "reason": reason}),
    };
    Ok(obj)
}
