//! The objects of a release on the cluster: made ready for apply (namespace
//! defaulted, Helm's ownership metadata), read back from a stored manifest,
//! checked for ownership, and deleted on uninstall.

use std::collections::{BTreeMap, HashSet};

use ferroflux_ssa::{ObjMeta, Resolver};
use kube::api::{Api, DynamicObject};
use serde_json::{Value, json};

/// Helm's label on every object of a release.
pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
/// The release an object belongs to.
pub const RELEASE_NAME_ANNOTATION: &str = "meta.helm.sh/release-name";
/// That release's namespace.
pub const RELEASE_NAMESPACE_ANNOTATION: &str = "meta.helm.sh/release-namespace";
/// `keep`: left in place when the release is uninstalled or the object
/// leaves the chart.
pub const RESOURCE_POLICY_ANNOTATION: &str = "helm.sh/resource-policy";

/// The documents of a stored manifest (`---`-separated YAML), as objects;
/// comment-only documents are skipped.
pub fn parse_manifest(text: &str) -> Result<Vec<Value>, String> {
    let mut out = Vec::new();
    for doc in ferroflux_helm::manifest::split_manifests(text) {
        let v: Value = serde_yaml::from_str(&doc).map_err(|e| format!("release manifest: {e}"))?;
        if v.is_object() {
            out.push(v);
        }
    }
    Ok(out)
}

/// Sets the namespace of namespaced objects that have none to `namespace`
/// (as Helm does), using discovery, or a CRD of the same set for kinds the
/// cluster does not serve yet.
pub async fn default_namespaces(
    objects: &mut [Value],
    resolver: &Resolver,
    namespace: &str,
) -> Result<(), String> {
    let cluster_scoped_crds: HashSet<(String, String)> = objects
        .iter()
        .filter(|o| o["kind"] == "CustomResourceDefinition")
        .filter(|o| o.pointer("/spec/scope").and_then(Value::as_str) == Some("Cluster"))
        .filter_map(|o| {
            Some((
                o.pointer("/spec/group")?.as_str()?.to_string(),
                o.pointer("/spec/names/kind")?.as_str()?.to_string(),
            ))
        })
        .collect();
    for o in objects.iter_mut() {
        let has_ns = o
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .is_some_and(|n| !n.is_empty());
        if has_ns {
            continue;
        }
        let api_version = o["apiVersion"].as_str().unwrap_or_default().to_string();
        let kind = o["kind"].as_str().unwrap_or_default().to_string();
        let namespaced = match resolver.resolve(&api_version, &kind).await {
            Ok(Some(r)) => r.namespaced,
            Ok(None) => {
                let group = ferroflux_ssa::split_api_version(&api_version).0.to_string();
                !cluster_scoped_crds.contains(&(group, kind.clone()))
            }
            Err(e) => return Err(e.to_string()),
        };
        if namespaced
            && let Some(meta) = o
                .as_object_mut()
                .map(|m| m.entry("metadata").or_insert_with(|| json!({})))
                .and_then(Value::as_object_mut)
        {
            meta.insert("namespace".into(), Value::String(namespace.to_string()));
        }
    }
    Ok(())
}

/// Adds Helm's ownership metadata (what `helm` itself checks before it
/// adopts an object into a release).
pub fn set_ownership(objects: &mut [Value], release: &str, namespace: &str) {
    for o in objects {
        let Some(meta) = o
            .as_object_mut()
            .map(|m| m.entry("metadata").or_insert_with(|| json!({})))
            .and_then(Value::as_object_mut)
        else {
            continue;
        };
        for (field, k, v) in [
            ("labels", MANAGED_BY_LABEL, "Helm"),
            ("annotations", RELEASE_NAME_ANNOTATION, release),
            ("annotations", RELEASE_NAMESPACE_ANNOTATION, namespace),
        ] {
            let map = meta.entry(field).or_insert_with(|| json!({}));
            if !map.is_object() {
                *map = json!({});
            }
            if let Some(m) = map.as_object_mut() {
                m.insert(k.into(), Value::String(v.into()));
            }
        }
    }
}

/// The identities of `objects` (those that have one).
pub fn metas(objects: &[Value]) -> Vec<ObjMeta> {
    objects.iter().filter_map(|o| ObjMeta::of(o).ok()).collect()
}

/// Objects marked `helm.sh/resource-policy: keep`.
pub fn kept(objects: &[Value]) -> Vec<ObjMeta> {
    objects
        .iter()
        .filter(|o| {
            o.pointer(&format!(
                "/metadata/annotations/{}",
                RESOURCE_POLICY_ANNOTATION.replace('/', "~1")
            ))
            .and_then(Value::as_str)
                == Some("keep")
        })
        .filter_map(|o| ObjMeta::of(o).ok())
        .collect()
}

/// Refuses objects that exist on the cluster without belonging to this
/// release (`disableTakeOwnership`): Helm's "invalid ownership metadata".
pub async fn check_ownership(
    client: &kube::Client,
    resolver: &Resolver,
    objects: &[Value],
    release: &str,
    namespace: &str,
) -> Result<(), String> {
    for o in objects {
        let Ok(meta) = ObjMeta::of(o) else { continue };
        let Ok(Some(resolved)) = resolver.resolve(&meta.api_version(), &meta.kind).await else {
            continue;
        };
        let api: Api<DynamicObject> = if resolved.namespaced {
            Api::namespaced_with(client.clone(), &meta.namespace, &resolved.resource)
        } else {
            Api::all_with(client.clone(), &resolved.resource)
        };
        let Ok(Some(live)) = api.get_opt(&meta.name).await else {
            continue;
        };
        let ann: BTreeMap<String, String> = live.metadata.annotations.clone().unwrap_or_default();
        let owned = ann.get(RELEASE_NAME_ANNOTATION).map(String::as_str) == Some(release)
            && ann.get(RELEASE_NAMESPACE_ANNOTATION).map(String::as_str) == Some(namespace);
        if !owned {
            return Err(format!(
                "{meta} exists and cannot be imported into the current release: invalid ownership metadata; annotation validation error: missing key \"{RELEASE_NAME_ANNOTATION}\": must be set to \"{release}\""
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ownership_metadata_is_added_and_kept_objects_found() {
        let mut objs = vec![
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "labels": {"x": "y"}}}),
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "b", "annotations": {"helm.sh/resource-policy": "keep"}}}),
        ];
        set_ownership(&mut objs, "web", "apps");
        assert_eq!(
            objs[0]["metadata"]["labels"]["app.kubernetes.io/managed-by"],
            "Helm"
        );
        assert_eq!(objs[0]["metadata"]["labels"]["x"], "y");
        assert_eq!(
            objs[1]["metadata"]["annotations"]["meta.helm.sh/release-name"],
            "web"
        );
        assert_eq!(
            objs[1]["metadata"]["annotations"]["meta.helm.sh/release-namespace"],
            "apps"
        );
        let k = kept(&objs);
        assert_eq!(k.len(), 1);
        assert_eq!(k[0].name, "b");
    }

    #[test]
    fn manifests_are_parsed_without_comment_documents() {
        let text = "---\n# Source: c/templates/a.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\n# Source: c/templates/empty.yaml\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: s\n";
        let objs = parse_manifest(text).expect("parsed");
        assert_eq!(objs.len(), 2);
        assert_eq!(objs[1]["kind"], "Service");
    }
}
