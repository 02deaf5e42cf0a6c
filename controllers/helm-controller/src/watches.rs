//! Triggers: a chart source whose artifact changes, a dependency that
//! becomes ready, and a ConfigMap or Secret labelled
//! `reconcile.fluxcd.io/watch: Enabled` that a release takes values from
//! queue the HelmReleases concerned at once.

use ferroflux_api::conditions;
use ferroflux_api::helm::v2::HelmRelease;
use ferroflux_api::meta::ValuesReferenceKind;
use ferroflux_api::source::{AnySource, Source, kinds};
use ferroflux_runtime::triggers::ConfigKind;
use kube::ResourceExt;
use kube::api::{Api, DynamicObject};
use kube::runtime::controller::Controller;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::watcher;

/// The label that opts a values ConfigMap or Secret into triggering.
pub use ferroflux_runtime::triggers::WATCH_LABEL;

/// Remembers the last state seen per object, so that status updates that
/// change nothing of interest trigger nothing.
use ferroflux_runtime::triggers::StateMemory as Memory;

fn api<K>(client: &kube::Client, namespace: Option<&str>) -> Api<K>
where
    K: kube::Resource<Scope = kube::core::NamespaceResourceScope, DynamicType = ()>,
{
    match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}

fn releases_of(
    store: &Store<HelmRelease>,
    kind: &str,
    ns: &str,
    name: &str,
) -> Vec<ObjectRef<HelmRelease>> {
    store
        .state()
        .iter()
        .filter(|hr| {
            crate::chart::source_ref(hr)
                .is_ok_and(|s| s.kind == kind && s.namespace == ns && s.name == name)
        })
        .map(|hr| ObjectRef::from_obj(hr.as_ref()))
        .collect()
}

/// Adds the watches of chart sources (HelmChart, OCIRepository,
/// ExternalArtifact).
pub fn watch_sources(
    controller: Controller<HelmRelease>,
    client: kube::Client,
    namespace: Option<&str>,
) -> Controller<HelmRelease> {
    let store = controller.store();
    let memory = Memory::default();
    let mut c = controller;
    for info in [
        kinds::HELM_CHART,
        kinds::OCI_REPOSITORY,
        kinds::EXTERNAL_ARTIFACT,
    ] {
        let ar = info.api_resource(None);
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
                let ns = src.namespace().unwrap_or_default();
                let name = src.name_any();
                let source = AnySource::from_dynamic(&src);
                let ready = conditions::is_true(source.source_conditions(), conditions::READY);
                // The digest too: a HelmChart of another chart at the same
                // version has the same revision.
                let digest = source
                    .artifact()
                    .and_then(|a| a.digest.clone())
                    .unwrap_or_default();
                let observed = source.status.as_ref().and_then(|s| s.observed_generation);
                let state = format!(
                    "{ready}|{}|{digest}|{observed:?}",
                    source.revision().unwrap_or_default()
                );
                if memory.changed(&format!("{}/{ns}/{name}", info.kind), &state) {
                    releases_of(&store, info.kind, &ns, &name)
                } else {
                    Vec::new()
                }
            },
        );
    }
    c
}

/// Adds the watch that wakes the dependents of a HelmRelease whose
/// readiness or released revision changed.
/// The same watch tells `cancels` about new generations, so a wait of an
/// older one gives way.
pub fn watch_dependencies(
    controller: Controller<HelmRelease>,
    client: kube::Client,
    namespace: Option<&str>,
    cancels: crate::waits::Cancels,
) -> Controller<HelmRelease> {
    let store = controller.store();
    let memory = Memory::default();
    controller.watches(
        api::<HelmRelease>(&client, namespace),
        watcher::Config::default(),
        move |dep: HelmRelease| {
            let dep_ns = dep.namespace().unwrap_or_default();
            let dep_name = dep.name_any();
            cancels.observed(
                &format!("{dep_ns}/{dep_name}"),
                dep.metadata.generation.unwrap_or_default(),
            );
            let status = dep.status.as_ref();
            let ready =
                status.is_some_and(|s| conditions::is_true(&s.conditions, conditions::READY));
            let state = format!(
                "{ready}|{:?}|{:?}",
                dep.metadata.generation,
                status.and_then(|s| s.observed_generation)
            );
            if !memory.changed(&format!("{dep_ns}/{dep_name}"), &state) {
                return Vec::new();
            }
            store
                .state()
                .iter()
                .filter(|hr| {
                    let own = hr.namespace().unwrap_or_default();
                    hr.spec.depends_on.iter().any(|d| {
                        d.name == dep_name
                            && d.namespace
                                .as_deref()
                                .filter(|n| !n.is_empty())
                                .unwrap_or(&own)
                                == dep_ns
                    })
                })
                .map(|hr| ObjectRef::from_obj(hr.as_ref()))
                .collect()
        },
    )
}

fn values_users(
    store: &Store<HelmRelease>,
    kind: ValuesReferenceKind,
    ns: &str,
    name: &str,
) -> Vec<ObjectRef<HelmRelease>> {
    store
        .state()
        .iter()
        .filter(|hr| {
            hr.namespace().as_deref() == Some(ns)
                && hr
                    .spec
                    .values_from
                    .iter()
                    .any(|r| r.kind == kind && r.name == name)
        })
        .map(|hr| ObjectRef::from_obj(hr.as_ref()))
        .collect()
}

/// Adds the watches of labelled values ConfigMaps and Secrets.
pub fn watch_values(
    controller: Controller<HelmRelease>,
    client: kube::Client,
    namespace: Option<&str>,
) -> Controller<HelmRelease> {
    let store = controller.store();
    ferroflux_runtime::triggers::watch_labelled_configs(
        controller,
        client,
        namespace,
        move |kind, ns, name| {
            let kind = match kind {
                ConfigKind::ConfigMap => ValuesReferenceKind::ConfigMap,
                ConfigKind::Secret => ValuesReferenceKind::Secret,
            };
            values_users(&store, kind, ns, name)
        },
    )
}
