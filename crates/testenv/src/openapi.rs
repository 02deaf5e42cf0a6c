//! `/openapi/v2` and `/openapi/v3`: the schemas every write is checked
//! against, served the way kube-apiserver serves them, so `kubectl explain`
//! finds fields and kubectl sees that the server validates fields itself
//! (the `fieldValidation` parameter on each kind's PATCH operation).

use std::hash::{Hash, Hasher};

use axum::http::{HeaderMap, Method};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::builtin_schema::{self, def_name};
use crate::errors::ApiError;
use crate::registry::{Registry, ResourceType};
use crate::server::json_response;

const REF_V3: &str = "#/components/schemas/";
const OBJECT_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";

/// Answers the OpenAPI paths; `None` for every other path.
pub fn serve(
    registry: &Registry,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
) -> Option<Result<Response, ApiError>> {
    let rest = path.strip_prefix("/openapi/")?;
    if *method != Method::GET {
        return Some(Err(ApiError::method_not_allowed(format!(
            "the server does not allow this method on the requested resource ({method})"
        ))));
    }
    Some(match rest {
        "v2" => Ok(v2(registry, headers)),
        "v3" | "v3/" => Ok(json_response(200, &v3_root(registry))),
        _ => match rest.strip_prefix("v3/") {
            Some(gv) => v3_group_version(registry, gv.trim_end_matches('/'))
                .map(|doc| json_response(200, &doc))
                .ok_or_else(ApiError::path_not_found),
            None => Err(ApiError::path_not_found()),
        },
    })
}

/// The OpenAPI v2 document as JSON to clients that ask for JSON. client-go
/// asks for the protobuf form, which is not served: it gets an empty
/// document, valid protobuf, and kubectl then relies on the server's own
/// field validation (which the v3 document advertises).
fn v2(registry: &Registry, headers: &HeaderMap) -> Response {
    let accept = headers
        .get("accept")
        .and_then(|a| a.to_str().ok())
        .unwrap_or("");
    if accept.contains("protobuf") || !(accept.contains("json") || accept.contains("*/*")) {
        return (
            [("content-type", "application/octet-stream")],
            Vec::<u8>::new(),
        )
            .into_response();
    }
    let types = registry.all();
    let refs: Vec<&ResourceType> = types.iter().map(AsRef::as_ref).collect();
    let (paths, schemas) = document(&refs);
    let doc = json!({
        "swagger": "2.0",
        "info": {"title": "Kubernetes", "version": crate::discovery::version()["gitVersion"]},
        "paths": paths,
        "definitions": schemas,
    });
    let text = doc.to_string().replace(REF_V3, "#/definitions/");
    ([("content-type", "application/json")], text).into_response()
}

/// `apis/apps/v1` (or `api/v1`) for a group and version.
fn gv_path(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

/// Every served group-version with the resource types in it.
fn group_versions(registry: &Registry) -> Vec<(String, Vec<(ResourceType, String)>)> {
    let mut out: Vec<(String, Vec<(ResourceType, String)>)> = Vec::new();
    for t in registry.all() {
        if t.virtual_only {
            continue;
        }
        for v in &t.versions {
            let key = gv_path(&t.group, v);
            let entry = (t.as_ref().clone(), v.clone());
            match out.iter_mut().find(|(k, _)| *k == key) {
                Some((_, list)) => list.push(entry),
                None => out.push((key, vec![entry])),
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// `/openapi/v3`: where each group-version's document is.
pub fn v3_root(registry: &Registry) -> Value {
    let mut paths = Map::new();
    for (key, types) in group_versions(registry) {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        for (t, v) in &types {
            t.plural.hash(&mut h);
            v.hash(&mut h);
            if let Some(s) = t.schema(v) {
                s.to_string().hash(&mut h);
            }
        }
        paths.insert(
            key.clone(),
            json!({"serverRelativeURL": format!("/openapi/v3/{key}?hash={:016X}", h.finish())}),
        );
    }
    json!({"paths": paths})
}

/// `/openapi/v3/<gv>`: the group-version's operations and schemas.
pub fn v3_group_version(registry: &Registry, gv: &str) -> Option<Value> {
    let (_, types) = group_versions(registry)
        .into_iter()
        .find(|(k, _)| k == gv)?;
    let pinned: Vec<ResourceType> = types
        .iter()
        .map(|(t, v)| {
            let mut one = t.clone();
            one.versions = vec![v.clone()];
            one
        })
        .collect();
    let refs: Vec<&ResourceType> = pinned.iter().collect();
    let (paths, schemas) = document(&refs);
    Some(json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": crate::discovery::version()["gitVersion"]},
        "paths": paths,
        "components": {"schemas": schemas},
    }))
}

/// The name a kind's schema goes by: the built-in definition, or the
/// reversed-group name kube-apiserver gives a CRD's version.
fn kind_def(t: &ResourceType, version: &str) -> Option<String> {
    if t.custom.is_some() {
        let mut parts: Vec<&str> = t.group.split('.').collect();
        parts.reverse();
        return Some(format!("{}.{version}.{}", parts.join("."), t.kind));
    }
    builtin_schema::schemas()
        .kind(&t.group, version, &t.kind)
        .map(String::from)
}

/// The paths and schemas of `types` (each at every version it lists).
fn document(types: &[&ResourceType]) -> (Map<String, Value>, Map<String, Value>) {
    let s = builtin_schema::schemas();
    let mut paths = Map::new();
    let mut schemas = Map::new();
    let mut wanted: Vec<String> = Vec::new();
    for t in types {
        for version in &t.versions {
            let Some(name) = kind_def(t, version) else {
                continue;
            };
            let gvk = json!({"group": t.group, "version": version, "kind": t.kind});
            let reference = json!({"$ref": format!("{REF_V3}{name}")});
            let prefix = format!("/{}", gv_path(&t.group, version));
            let collection = if t.namespaced {
                format!("{prefix}/namespaces/{{namespace}}/{}", t.plural)
            } else {
                format!("{prefix}/{}", t.plural)
            };
            let body = json!({"content": {"application/json": {"schema": reference}}});
            let ok = json!({"200": {"description": "OK", "content": {"application/json": {"schema": reference}}}});
            let op = |action: &str, params: &[&str]| {
                let parameters: Vec<Value> = params
                    .iter()
                    .map(|p| json!({"name": p, "in": "query", "schema": {"type": "string", "uniqueItems": true}}))
                    .collect();
                json!({
                    "operationId": format!("{action}{}", t.kind),
                    "x-kubernetes-action": action,
                    "x-kubernetes-group-version-kind": gvk,
                    "parameters": parameters,
                    "responses": ok,
                })
            };
            let writes = ["dryRun", "fieldManager", "fieldValidation", "pretty"];
            let mut post = op("post", &writes);
            post["requestBody"] = body.clone();
            paths.insert(
                collection.clone(),
                json!({"get": op("list", &["labelSelector", "fieldSelector", "limit", "continue", "watch"]), "post": post}),
            );
            let mut put = op("put", &writes);
            put["requestBody"] = body.clone();
            let mut patch = op(
                "patch",
                &[
                    "dryRun",
                    "fieldManager",
                    "fieldValidation",
                    "force",
                    "pretty",
                ],
            );
            // kubectl sends a strategic merge patch only where the PATCH
            // operation accepts one: never for custom resources.
            let mut content = json!({
                "application/apply-patch+yaml": {"schema": {"type": "object"}},
                "application/json-patch+json": {"schema": {"type": "object"}},
                "application/merge-patch+json": {"schema": {"type": "object"}},
            });
            if t.custom.is_none() {
                content["application/strategic-merge-patch+json"] =
                    json!({"schema": {"type": "object"}});
            }
            patch["requestBody"] = json!({ "content": content });
            paths.insert(
                format!("{collection}/{{name}}"),
                json!({"get": op("get", &[]), "put": put, "patch": patch, "delete": op("delete", &["dryRun"])}),
            );
            match t.schema(version) {
                Some(crd_schema) => {
                    let mut schema = crd_schema.clone();
                    if let Some(props) = schema
                        .as_object_mut()
                        .map(|m| m.entry("properties").or_insert_with(|| json!({})))
                        .and_then(Value::as_object_mut)
                    {
                        props.insert(
                            "metadata".into(),
                            json!({"allOf": [{"$ref": format!("{REF_V3}{OBJECT_META}")}], "description": "Standard object's metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata"}),
                        );
                    }
                    schema["x-kubernetes-group-version-kind"] = json!([gvk]);
                    schemas.insert(name, schema);
                    wanted.push(OBJECT_META.to_string());
                }
                None => wanted.push(name),
            }
        }
    }
    // Every definition the kinds reach, and nothing else.
    while let Some(name) = wanted.pop() {
        if schemas.contains_key(&name) {
            continue;
        }
        let Some(def) = s.defs.get(&name) else {
            continue;
        };
        collect_refs(def, &mut wanted);
        schemas.insert(name, def.clone());
    }
    (paths, schemas)
}

fn collect_refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            if let Some(r) = map.get("$ref").and_then(Value::as_str) {
                out.push(def_name(r).to_string());
            }
            for child in map.values() {
                collect_refs(child, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|i| collect_refs(i, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_root_lists_each_group_version_with_a_hash() {
        let root = v3_root(&Registry::new());
        let url = root["paths"]["apis/apps/v1"]["serverRelativeURL"]
            .as_str()
            .unwrap();
        assert!(url.starts_with("/openapi/v3/apis/apps/v1?hash="), "{url}");
        assert!(root["paths"]["api/v1"].is_object());
    }

    #[test]
    fn a_group_version_document_has_patch_with_field_validation_and_the_schemas() {
        let doc = v3_group_version(&Registry::new(), "apis/apps/v1").unwrap();
        let patch =
            &doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"];
        assert_eq!(
            patch["x-kubernetes-group-version-kind"],
            json!({"group": "apps", "version": "v1", "kind": "Deployment"})
        );
        assert!(
            patch["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["name"] == "fieldValidation")
        );
        let schemas = &doc["components"]["schemas"];
        let deployment = &schemas["io.k8s.api.apps.v1.Deployment"];
        assert_eq!(
            deployment["x-kubernetes-group-version-kind"][0]["kind"],
            "Deployment"
        );
        // Every reference resolves inside the document.
        let mut refs = Vec::new();
        collect_refs(schemas, &mut refs);
        for r in refs {
            assert!(schemas.get(&r).is_some(), "dangling {r}");
        }
        assert!(schemas.get("io.k8s.api.core.v1.Container").is_some());
        assert!(
            schemas.get("io.k8s.api.rbac.v1.Role").is_none(),
            "only what apps/v1 reaches"
        );
        assert!(v3_group_version(&Registry::new(), "apis/nope/v1").is_none());
    }
}
