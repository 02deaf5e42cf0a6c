//! The reconcile loops of the Helm source kinds, started together by the
//! app beside the other kinds. A HelmRepository whose index changes queues
//! the HelmCharts that pull from it at once.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use ferroflux_api::source::v1::{HelmChart, HelmChartSourceKind, HelmRepository};
use ferroflux_runtime::controller::{self, LoopConfig};
use ferroflux_runtime::events::Recorder;
use kube::ResourceExt;
use kube::api::Api;
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;

use super::{helm_chart, helm_repository};
use crate::helm::{DEFAULT_MAX_CHART_SIZE, DEFAULT_MAX_INDEX_SIZE};
use crate::storage::Storage;

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
            let api: Api<HelmRepository> = match &namespace {
                Some(ns) => Api::namespaced(watch_client, ns),
                None => Api::all(watch_client),
            };
            // The index revision last seen per repository: status writes that
            // do not change it wake nothing.
            let seen: Arc<Mutex<HashMap<String, String>>> = Arc::default();
            c.watches(
                api,
                watcher::Config::default(),
                move |repo: HelmRepository| {
                    let ns = repo.namespace().unwrap_or_default();
                    let name = repo.name_any();
                    let revision = repo
                        .status
                        .as_ref()
                        .and_then(|s| s.artifact.as_ref())
                        .map(|a| a.revision.clone())
                        .unwrap_or_default();
                    let key = format!("{ns}/{name}");
                    let changed = {
                        let mut seen = seen.lock().unwrap_or_else(|e| e.into_inner());
                        seen.insert(key, revision.clone()).as_deref() != Some(revision.as_str())
                    };
                    let dependents: Vec<ObjectRef<HelmChart>> = if changed && !revision.is_empty() {
                        store
                            .state()
                            .iter()
                            .filter(|c| {
                                c.spec.source_ref.kind == HelmChartSourceKind::HelmRepository
                                    && c.spec.source_ref.name == name
                                    && c.namespace().unwrap_or_default() == ns
                            })
                            .map(|c| ObjectRef::from_obj(c.as_ref()))
                            .collect()
                    } else {
                        Vec::new()
                    };
                    dependents
                },
            )
        });
    futures::join!(repo_loop, chart_loop);
}
