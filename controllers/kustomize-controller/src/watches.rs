//! Triggers: a source whose artifact revision changes queues the
//! Kustomizations that build from it at once (not at their next interval),
//! and so does a change of a Secret or ConfigMap they use (decryption keys,
//! substitution variables, kubeconfig) labelled
//! `reconcile.fluxcd.io/watch: Enabled`, as Flux does.

use ferroflux_api::kustomize::common::SubstituteReferenceKind;
use ferroflux_api::kustomize::v1::{Kustomization, SourceKind};
use ferroflux_api::source::{AnySource, Source};
use kube::ResourceExt;
use kube::api::{Api, DynamicObject};
use kube::runtime::controller::Controller;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::watcher;

/// The source kinds Kustomizations refer to whose CRDs Ferroflux installs
/// (the others may be missing from the cluster, and a watch of a missing
/// resource never settles).
pub fn watched_kinds() -> impl Iterator<Item = SourceKind> {
    SourceKind::ALL.into_iter().filter(|k| k.info().served)
}

/// Remembers the artifact revision last seen per source, so that status
/// updates that do not change the artifact trigger nothing.
pub use ferroflux_runtime::triggers::StateMemory as RevisionMemory;

/// The Kustomizations in `store` that build from the source `src` of `kind`.
pub fn dependents(
    store: &Store<Kustomization>,
    kind: SourceKind,
    src: &DynamicObject,
) -> Vec<ObjectRef<Kustomization>> {
    let src_ns = src.namespace().unwrap_or_default();
    let src_name = src.name_any();
    store
        .state()
        .iter()
        .filter(|ks| {
            ks.spec.source_ref.kind == kind
                && ks.spec.source_ref.name == src_name
                && crate::source::source_namespace(ks) == src_ns
        })
        .map(|ks| ObjectRef::from_obj(ks.as_ref()))
        .collect()
}

/// Adds a watch per source kind to `controller`.
pub fn watch_sources(
    controller: Controller<Kustomization>,
    client: kube::Client,
    namespace: Option<&str>,
) -> Controller<Kustomization> {
    let store = controller.store();
    let memory = RevisionMemory::default();
    let mut c = controller;
    for kind in watched_kinds() {
        let ar = kind.info().api_resource(None);
        let api: Api<DynamicObject> = match namespace {
            Some(ns) => Api::namespaced_with(client.clone(), ns, &ar),
            None => Api::all_with(client.clone(), &ar),
        };
        let store = store.clone();
        let memory = memory.clone();
        c = c.watches_with(
            api,
            ar,
            watcher::Config::default(),
            move |src: DynamicObject| {
                let key = format!(
                    "{}/{}/{}",
                    kind.as_str(),
                    src.namespace().unwrap_or_default(),
                    src.name_any()
                );
                let source = AnySource::from_dynamic(&src);
                let revision = source.revision().unwrap_or_default();
                if memory.changed(&key, revision) {
                    dependents(&store, kind, &src)
                } else {
                    Vec::new()
                }
            },
        );
    }
    c
}

/// Adds a watch that queues the Kustomizations depending on one whose
/// readiness or applied revision just changed, so a chain of `dependsOn`
/// proceeds at once instead of after `--requeue-dependency`.
pub fn watch_dependencies(
    controller: Controller<Kustomization>,
    client: kube::Client,
    namespace: Option<&str>,
) -> Controller<Kustomization> {
    let store = controller.store();
    let memory = RevisionMemory::default();
    let api: Api<Kustomization> = match namespace {
        Some(ns) => Api::namespaced(client, ns),
        None => Api::all(client),
    };
    controller.watches(
        api,
        watcher::Config::default(),
        move |dep: Kustomization| {
            let dep_ns = dep.namespace().unwrap_or_default();
            let dep_name = dep.name_any();
            let status = dep.status.as_ref();
            let ready = status
                .map(|s| {
                    ferroflux_api::conditions::is_true(
                        &s.conditions,
                        ferroflux_api::conditions::READY,
                    )
                })
                .unwrap_or(false);
            let state = format!(
                "{ready}|{}",
                status
                    .and_then(|s| s.last_applied_revision.as_deref())
                    .unwrap_or_default()
            );
            if !memory.changed(&format!("{dep_ns}/{dep_name}"), &state) {
                return Vec::new();
            }
            store
                .state()
                .iter()
                .filter(|ks| {
                    let own_ns = ks.namespace().unwrap_or_default();
                    ks.spec.depends_on.iter().any(|d| {
                        d.name == dep_name
                            && d.namespace
                                .as_deref()
                                .filter(|n| !n.is_empty())
                                .unwrap_or(&own_ns)
                                == dep_ns
                    })
                })
                .map(|ks| ObjectRef::from_obj(ks.as_ref()))
                .collect()
        },
    )
}

/// The label that opts a Secret or ConfigMap into triggering the
/// Kustomizations that use it (`decryption.secretRef`,
/// `kubeConfig.secretRef`/`configMapRef`, `postBuild.substituteFrom`).
pub use ferroflux_runtime::triggers::{ConfigKind, WATCH_LABEL};

/// Whether `ks` uses the `kind` object `name` of its own namespace (the
/// references Flux indexes for its config watch).
pub fn uses_config(ks: &Kustomization, kind: ConfigKind, name: &str) -> bool {
    let spec = &ks.spec;
    let substitutes = spec
        .post_build
        .iter()
        .flat_map(|p| p.substitute_from.iter())
        .any(|r| {
            r.name == name
                && match kind {
                    ConfigKind::Secret => r.kind == SubstituteReferenceKind::Secret,
                    ConfigKind::ConfigMap => r.kind == SubstituteReferenceKind::ConfigMap,
                }
        });
    let direct = match kind {
        ConfigKind::Secret => {
            spec.decryption
                .as_ref()
                .and_then(|d| d.secret_ref.as_ref())
                .is_some_and(|r| r.name == name)
                || spec
                    .kube_config
                    .as_ref()
                    .and_then(|k| k.secret_ref.as_ref())
                    .is_some_and(|r| r.name == name)
        }
        ConfigKind::ConfigMap => spec
            .kube_config
            .as_ref()
            .and_then(|k| k.config_map_ref.as_ref())
            .is_some_and(|r| r.name == name),
    };
    direct || substitutes
}

fn config_users(
    store: &Store<Kustomization>,
    kind: ConfigKind,
    ns: &str,
    name: &str,
) -> Vec<ObjectRef<Kustomization>> {
    store
        .state()
        .iter()
        .filter(|ks| ks.namespace().as_deref() == Some(ns) && uses_config(ks, kind, name))
        .map(|ks| ObjectRef::from_obj(ks.as_ref()))
        .collect()
}

/// Adds the watches of labelled Secrets and ConfigMaps: a change (or the
/// deletion) of one queues the Kustomizations of its namespace that use it.
pub fn watch_configs(
    controller: Controller<Kustomization>,
    client: kube::Client,
    namespace: Option<&str>,
) -> Controller<Kustomization> {
    let store = controller.store();
    ferroflux_runtime::triggers::watch_labelled_configs(
        controller,
        client,
        namespace,
        move |kind, ns, name| config_users(&store, kind, ns, name),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ks(spec: serde_json::Value) -> Kustomization {
        let mut spec_obj = serde_json::json!({
            "interval": "1h", "prune": true,
            "sourceRef": {"kind": "GitRepository", "name": "x"},
        });
        for (k, v) in spec.as_object().unwrap() {
            spec_obj[k] = v.clone();
        }
        serde_json::from_value(serde_json::json!({
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
            "metadata": {"name": "app", "namespace": "ns"},
            "spec": spec_obj,
        }))
        .unwrap()
    }

    #[test]
    fn config_references_are_the_ones_flux_watches() {
        let k = ks(serde_json::json!({
            "decryption": {"provider": "sops", "secretRef": {"name": "keys"}},
            "kubeConfig": {"secretRef": {"name": "kc"}, "configMapRef": {"name": "kc-cm"}},
            "postBuild": {"substituteFrom": [
                {"kind": "Secret", "name": "vars-s"},
                {"kind": "ConfigMap", "name": "vars-cm"},
            ]},
        }));
        for name in ["keys", "kc", "vars-s"] {
            assert!(uses_config(&k, ConfigKind::Secret, name), "{name}");
            assert!(!uses_config(&k, ConfigKind::ConfigMap, name), "{name}");
        }
        for name in ["kc-cm", "vars-cm"] {
            assert!(uses_config(&k, ConfigKind::ConfigMap, name), "{name}");
            assert!(!uses_config(&k, ConfigKind::Secret, name), "{name}");
        }
        assert!(!uses_config(&k, ConfigKind::Secret, "other"));
        let plain = ks(serde_json::json!({}));
        assert!(!uses_config(&plain, ConfigKind::Secret, "keys"));
    }
}
