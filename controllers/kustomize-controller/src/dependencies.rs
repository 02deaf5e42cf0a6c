//! `spec.dependsOn`: a Kustomization waits until each dependency is Ready
//! at the latest revision of its source.

use ferroflux_api::conditions;
use ferroflux_api::kustomize::v1::Kustomization;
use kube::{Api, ResourceExt};

/// Returns `Err(message)` naming the first dependency that is not ready;
/// `revision` is the artifact revision `ks` is about to apply.
pub async fn check(
    client: &kube::Client,
    ks: &Kustomization,
    revision: &str,
) -> Result<(), String> {
    let own_ns = ks.namespace().unwrap_or_default();
    for dep in &ks.spec.depends_on {
        let ns = dep
            .namespace
            .clone()
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| own_ns.clone());
        let shown = format!("{ns}/{}", dep.name);
        let api: Api<Kustomization> = Api::namespaced(client.clone(), &ns);
        let d = match api.get_opt(&dep.name).await {
            Ok(Some(d)) => d,
            Ok(None) => return Err(format!("dependency '{shown}' not found")),
            Err(e) => return Err(format!("dependency '{shown}': {e}")),
        };
        let status = d.status.clone().unwrap_or_default();
        if d.metadata.generation != status.observed_generation
            || !conditions::is_true(&status.conditions, conditions::READY)
        {
            return Err(format!("dependency '{shown}' is not ready"));
        }
        // Same source: the dependency must have applied the revision this
        // Kustomization is about to apply.
        if d.spec.source_ref.kind == ks.spec.source_ref.kind
            && d.spec.source_ref.name == ks.spec.source_ref.name
            && crate::source::source_namespace(&d) == crate::source::source_namespace(ks)
            && status.last_applied_revision.as_deref() != Some(revision)
        {
            return Err(format!("dependency '{shown}' revision is not up to date"));
        }
    }
    Ok(())
}
