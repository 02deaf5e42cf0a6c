//! The variables of `spec.postBuild`: `substituteFrom` ConfigMaps and
//! Secrets in order, then `substitute`, each later source overriding earlier
//! ones.

use std::collections::BTreeMap;

use ferroflux_api::kustomize::common::SubstituteReferenceKind;
use ferroflux_api::kustomize::v1::Kustomization;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::{Api, ResourceExt};

/// Gathers the variables, reading ConfigMaps and Secrets through `client`
/// (the controller's own identity, as Flux: not the tenant's, and on the
/// controller's cluster even with `spec.kubeConfig`). Messages name the
/// object, never a value.
pub async fn gather(
    client: &kube::Client,
    ks: &Kustomization,
) -> Result<BTreeMap<String, String>, String> {
    let mut vars = BTreeMap::new();
    let Some(post) = &ks.spec.post_build else {
        return Ok(vars);
    };
    let ns = ks.namespace().unwrap_or_default();
    for from in &post.substitute_from {
        let (kind, found) = match from.kind {
            SubstituteReferenceKind::ConfigMap => {
                let api: Api<ConfigMap> = Api::namespaced(client.clone(), &ns);
                let r = api.get_opt(&from.name).await;
                (
                    "ConfigMap",
                    r.map(|o| o.map(|cm| cm.data.unwrap_or_default())),
                )
            }
            SubstituteReferenceKind::Secret => {
                let api: Api<Secret> = Api::namespaced(client.clone(), &ns);
                let r = api.get_opt(&from.name).await;
                let decoded = r.map(|o| {
                    o.map(|s| {
                        let mut out = BTreeMap::new();
                        for (k, v) in s.data.unwrap_or_default() {
                            out.insert(k, String::from_utf8_lossy(&v.0).into_owned());
                        }
                        for (k, v) in s.string_data.unwrap_or_default() {
                            out.insert(k, v);
                        }
                        out
                    })
                });
                ("Secret", decoded)
            }
        };
        match found {
            Ok(Some(data)) => vars.extend(data),
            Ok(None) if from.optional => {}
            Ok(None) => {
                return Err(format!(
                    "substitute from '{kind}/{}' error: {kind} '{ns}/{}' not found",
                    from.name, from.name
                ));
            }
            Err(e) => return Err(format!("substitute from '{kind}/{}' error: {e}", from.name)),
        }
    }
    for (k, v) in &post.substitute {
        vars.insert(k.clone(), v.clone());
    }
    Ok(vars)
}
