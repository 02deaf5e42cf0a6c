//! Triggers: a source whose artifact revision changes queues the
//! Kustomizations that build from it at once (not at their next interval).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

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
#[derive(Default, Clone)]
pub struct RevisionMemory(Arc<Mutex<HashMap<String, String>>>);

impl RevisionMemory {
    /// Whether `revision` is new for `key` (and remembers it).
    pub fn changed(&self, key: &str, revision: &str) -> bool {
        let mut m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if m.get(key).map(String::as_str) == Some(revision) {
            return false;
        }
        m.insert(key.to_string(), revision.to_string());
        true
    }
}

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
