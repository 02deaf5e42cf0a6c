//! The reconcile loops of the Helm source kinds, started together by the
//! app beside the other kinds. A HelmRepository, GitRepository or Bucket
//! whose artifact changes queues the HelmCharts that take their chart from
//! it at once.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use ferroflux_api::meta::Artifact;
use ferroflux_api::source::v1::{
    Bucket, GitRepository, HelmChart, HelmChartSourceKind, HelmRepository,
};
use ferroflux_runtime::controller::{self, LoopConfig};
use ferroflux_runtime::events::Recorder;
use kube::ResourceExt;
use kube::api::Api;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::watcher;

use super::{helm_chart, helm_repository};
use crate::helm::{DEFAULT_MAX_CHART_SIZE, DEFAULT_MAX_INDEX_SIZE};
use crate::storage::Storage;

/// The artifact revision last seen per source (`Kind/namespace/name`).
type Seen = Arc<Mutex<HashMap<String, String>>>;

/// The API of `K` the loops watch (one namespace or all).
fn api<K>(client: &kube::Client, namespace: &Option<String>) -> Api<K>
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>,
    K::DynamicType: Default,
{
    match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}

/// A mapper from a source of `kind` to the HelmCharts that take their
/// chart from it, when its artifact revision changed.
fn dependents<S: kube::Resource + ResourceExt + 'static>(
    kind: HelmChartSourceKind,
    store: Store<HelmChart>,
    seen: Seen,
    artifact: fn(&S) -> Option<&Artifact>,
) -> impl Fn(S) -> Vec<ObjectRef<HelmChart>> + Send + Sync + 'static {
    move |source: S| {
        let ns = source.namespace().unwrap_or_default();
        let name = source.name_any();
        let revision = artifact(&source)
            .map(|a| a.revision.clone())
            .unwrap_or_default();
        let key = format!("{}/{ns}/{name}", kind.as_str());
        let changed = {
            let mut seen = seen.lock().unwrap_or_else(|e| e.into_inner());
            seen.insert(key, revision.clone()).as_deref() != Some(revision.as_str())
        };
        if !changed || revision.is_empty() {
            return Vec::new();
        }
        store
            .state()
            .iter()
            .filter(|c| {
                c.spec.source_ref.kind == kind
                    && c.spec.source_ref.name == name
                    && c.namespace().unwrap_or_default() == ns
            })
            .map(|c| ObjectRef::from_obj(c.as_ref()))
            .collect()
    }
}

/// Runs the HelmRepository and HelmChart loops until shutdown.
pub async fn run(
    client: kube::Client,
    storage: Storage,
    recorder: Recorder,
    scratch: Option<PathBuf>,
    loop_config: LoopConfig,
) {
    let repositories = helm_repository::reconciler(
        client.clone(),
        storage.clone(),
        recorder.clone(),
        scratch.clone(),
        DEFAULT_MAX_INDEX_SIZE,
    );
    let charts = helm_chart::reconciler(
        client.clone(),
        storage,
        recorder,
        scratch,
        DEFAULT_MAX_CHART_SIZE,
    );
    tracing::info!("starting HelmRepository and HelmChart reconcilers");
    let namespace = loop_config.namespace.clone();
    let watch_client = client.clone();
    let repo_loop =
        controller::run::<HelmRepository, _>(client.clone(), repositories, loop_config.clone());
    let chart_loop =
        controller::run_with::<HelmChart, _, _>(client, charts, loop_config, move |c| {
            let store = c.store();
            // The artifact revision last seen per source: status writes that
            // do not change it wake nothing.
            let seen: Seen = Arc::default();
            let repos = dependents::<HelmRepository>(
                HelmChartSourceKind::HelmRepository,
                store.clone(),
                seen.clone(),
                |r| r.status.as_ref().and_then(|s| s.artifact.as_ref()),
            );
            let gits = dependents::<GitRepository>(
                HelmChartSourceKind::GitRepository,
                store.clone(),
                seen.clone(),
                |r| r.status.as_ref().and_then(|s| s.artifact.as_ref()),
            );
            let buckets = dependents::<Bucket>(HelmChartSourceKind::Bucket, store, seen, |r| {
                r.status.as_ref().and_then(|s| s.artifact.as_ref())
            });
            c.watches(
                api(&watch_client, &namespace),
                watcher::Config::default(),
                repos,
            )
            .watches(
                api(&watch_client, &namespace),
                watcher::Config::default(),
                gits,
            )
            .watches(
                api(&watch_client, &namespace),
                watcher::Config::default(),
                buckets,
            )
        });
    futures::join!(repo_loop, chart_loop);
}
