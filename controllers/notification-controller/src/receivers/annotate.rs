//! Asking objects to reconcile now: a merge patch setting
//! `reconcile.fluxcd.io/requestedAt` on each object a Receiver lists.

use std::collections::BTreeMap;

use ferroflux_api::meta::RECONCILE_REQUEST_ANNOTATION;
use ferroflux_api::notification::v1::{CrossNamespaceObjectReference, Receiver};
use kube::ResourceExt;
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams};
use serde_json::json;

use crate::kinds::KindResolver;
use crate::providers::secrets::short;
use crate::status::FIELD_MANAGER;

/// Why an object could not be annotated.
#[derive(Debug, thiserror::Error)]
pub enum AnnotateError {
    /// The reference points to another namespace, which is forbidden.
    #[error("cross-namespace references are not allowed")]
    CrossNamespace,
    /// `name: "*"` without `matchLabels`.
    #[error("matchLabels field not set when using wildcard '*' as name")]
    WildcardWithoutLabels,
    /// The kind could not be resolved.
    #[error(transparent)]
    Kind(#[from] crate::kinds::KindError),
    /// The API refused a read or the patch.
    #[error("{0}")]
    Api(String),
}

/// The annotation value: now, as RFC 3339 with nanoseconds.
pub fn now_value() -> String {
    k8s_openapi::jiff::Timestamp::now().to_string()
}

fn selector(labels: &BTreeMap<String, String>) -> String {
    labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

async fn annotate(api: &Api<DynamicObject>, name: &str, value: &str) -> Result<(), kube::Error> {
    let patch = json!({"metadata": {"annotations": {RECONCILE_REQUEST_ANNOTATION: value}}});
    api.patch(
        name,
        &PatchParams::apply(FIELD_MANAGER),
        &Patch::Merge(&patch),
    )
    .await
    .map(|_| ())
}

/// Annotates the objects of one `resources` entry of a Receiver in
/// `namespace`; returns the `Kind/namespace/name` of each object annotated.
pub async fn request_reconcile(
    client: &kube::Client,
    kinds: &KindResolver,
    reference: &CrossNamespaceObjectReference,
    receiver_namespace: &str,
    no_cross_namespace_refs: bool,
    value: &str,
) -> Result<Vec<String>, AnnotateError> {
    let namespace = reference.namespace.as_deref().unwrap_or(receiver_namespace);
    if no_cross_namespace_refs && namespace != receiver_namespace {
        return Err(AnnotateError::CrossNamespace);
    }
    let kind = reference.kind.as_str();
    let resource = kinds
        .resolve(reference.api_version.as_deref().unwrap_or_default(), kind)
        .await?;
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, &resource);
    let names = if reference.is_wildcard() {
        if reference.match_labels.is_empty() {
            return Err(AnnotateError::WildcardWithoutLabels);
        }
        let list = api
            .list(&ListParams::default().labels(&selector(&reference.match_labels)))
            .await
            .map_err(|e| {
                AnnotateError::Api(format!(
                    "failed listing {kind} in namespace {namespace:?}: {}",
                    short(&e)
                ))
            })?;
        list.items.iter().map(|o| o.name_any()).collect()
    } else {
        vec![reference.name.clone()]
    };
    let mut done = Vec::with_capacity(names.len());
    for name in names {
        annotate(&api, &name, value).await.map_err(|e| {
            AnnotateError::Api(format!(
                "unable to annotate {kind} '{namespace}/{name}': {}",
                short(&e)
            ))
        })?;
        done.push(format!("{kind}/{namespace}/{name}"));
    }
    Ok(done)
}

/// Annotates every object `receiver` lists. Entries are independent: one
/// failing does not stop the others; the errors are returned together.
pub async fn request_all(
    client: &kube::Client,
    kinds: &KindResolver,
    receiver: &Receiver,
    no_cross_namespace_refs: bool,
) -> (Vec<String>, Vec<String>) {
    let namespace = receiver.namespace().unwrap_or_default();
    let value = now_value();
    let mut annotated = Vec::new();
    let mut errors = Vec::new();
    for resource in &receiver.spec.resources {
        match request_reconcile(
            client,
            kinds,
            &resource.reference,
            &namespace,
            no_cross_namespace_refs,
            &value,
        )
        .await
        {
            Ok(done) => annotated.extend(done),
            Err(e) => errors.push(format!(
                "{}/{}: {e}",
                resource.reference.kind.as_str(),
                resource.reference.name
            )),
        }
    }
    (annotated, errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annotation_value_is_rfc3339_utc() {
        let v = now_value();
        assert!(v.ends_with('Z') && v.contains('T'), "{v}");
        assert!(v.parse::<k8s_openapi::jiff::Timestamp>().is_ok());
    }

    #[test]
    fn selector_joins_labels() {
        let mut l = BTreeMap::new();
        l.insert("app".to_string(), "podinfo".to_string());
        l.insert("team".to_string(), "a".to_string());
        assert_eq!(selector(&l), "app=podinfo,team=a");
    }
}
