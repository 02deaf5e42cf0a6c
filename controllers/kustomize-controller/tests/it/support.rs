//! The harness: testenv with Flux's CRDs, a Git server, source-controller
//! and kustomize-controller loops, and a sink for the events they POST.

use std::sync::Arc;
use std::time::Duration;

use ferroflux_api::conditions::{self, ObjectWithConditions};
use ferroflux_api::event::FluxEvent;
use ferroflux_api::kustomize::v1::Kustomization;
use ferroflux_runtime::artifact::FetchOptions;
use ferroflux_runtime::controller::LoopConfig;
use ferroflux_runtime::metrics::Metrics;
use ferroflux_ssa::{ApplyOptions, Manager, Resolver};
use ferroflux_testenv::{Options as EnvOptions, TestEnv};
use ferroflux_testsupport::git::{GitRepo, GitServer};
use ferroflux_testsupport::sink::Sink;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use kustomize_controller::reconciler::Options;
use serde_json::{Value, json};

/// How the harness is set up.
#[derive(Default, Clone)]
pub struct Setup {
    /// kustomize-controller's `--default-service-account`.
    pub default_service_account: Option<String>,
    /// kustomize-controller's `--no-cross-namespace-refs`.
    pub no_cross_namespace_refs: bool,
    /// testenv's workload simulation.
    pub simulate_workloads: Option<Duration>,
    /// kustomize-controller's `--concurrent` (default: the loop's).
    pub concurrency: Option<u16>,
}

pub struct Harness {
    pub env: TestEnv,
    pub client: kube::Client,
    pub git: GitServer,
    /// Receives the events both controllers POST.
    pub events: Sink,
    pub metrics: Metrics,
    _dirs: Vec<tempfile::TempDir>,
    /// Both controllers, started as their binaries start them; they stop
    /// when the harness is dropped.
    _controllers: (source_controller::Running, kustomize_controller::Running),
}

pub async fn harness(setup: Setup) -> Harness {
    ferroflux_runtime::tls::install_crypto_provider();
    let env = TestEnv::start_with(
        "127.0.0.1:0",
        EnvOptions {
            simulate_workloads: setup.simulate_workloads,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let client = env.client().await.unwrap();
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    for crd in ferroflux_api::crds::all().unwrap() {
        crds.create(&PostParams::default(), &crd).await.unwrap();
    }
    apply_as_admin(
        &client,
        vec![json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "flux-system"}})],
    )
    .await;

    let git_dir = tempfile::tempdir().unwrap();
    let git = GitServer::start(git_dir.path(), None).unwrap();
    let storage_dir = tempfile::tempdir().unwrap();
    let cache_dir = tempfile::tempdir().unwrap();
    let events = Sink::answering(202, "").await;
    let sink = format!("{}/", events.url);
    let fast = LoopConfig {
        backoff_base: Duration::from_millis(100),
        backoff_max: Duration::from_secs(1),
        ..Default::default()
    };
    let sources = source_controller::start(
        client.clone(),
        source_controller::Config {
            storage_path: storage_dir.path().to_path_buf(),
            storage_addr: "127.0.0.1:0".to_string(),
            storage_adv_addr: None,
            artifact_retention_records: source_controller::storage::DEFAULT_RETENTION,
            no_cross_namespace_refs: false,
            git_cache_path: cache_dir.path().to_path_buf(),
            limits: Default::default(),
            scratch: None,
            events_addr: Some(sink.clone()),
            loop_config: fast.clone(),
            leader: None,
        },
    )
    .await
    .unwrap();

    let kube_config = kube::Config::from_custom_kubeconfig(
        kube::config::Kubeconfig::from_yaml(&env.kubeconfig_yaml()).unwrap(),
        &Default::default(),
    )
    .await
    .unwrap();
    let metrics = Metrics::new();
    let kustomizations = kustomize_controller::start(
        client.clone(),
        kustomize_controller::Config {
            kube_config,
            default_service_account: setup.default_service_account.clone(),
            kubeconfig_policy: Default::default(),
            fetch: FetchOptions::default(),
            options: Options {
                no_cross_namespace_refs: setup.no_cross_namespace_refs,
                // Long on purpose: dependents must be woken by the watch, not by polling.
                requeue_dependency: Duration::from_secs(3600),
                health_poll: Duration::from_millis(100),
                // Long on purpose: health waits on the local cluster must
                // end on watch events, not on this poll.
                health_safety_poll: Duration::from_secs(3600),
                ..Default::default()
            },
            events_addr: Some(sink),
            loop_config: LoopConfig {
                metrics: metrics.clone(),
                concurrency: setup.concurrency.unwrap_or(fast.concurrency),
                ..fast
            },
            leader: None,
        },
    )
    .await
    .unwrap();
    Harness {
        env,
        client,
        git,
        events,
        metrics,
        _dirs: vec![git_dir, storage_dir, cache_dir],
        _controllers: (sources, kustomizations),
    }
}

/// Server-side applies objects as the admin (test setup).
pub async fn apply_as_admin(client: &kube::Client, objects: Vec<Value>) {
    let m = Manager::new(
        client.clone(),
        Arc::new(Resolver::new(client.clone())),
        "test-setup",
    );
    m.apply_all_staged(objects, &ApplyOptions::default())
        .await
        .unwrap();
}

impl Harness {
    /// A new repository on the Git server.
    pub fn repo(&self, name: &str) -> GitRepo {
        GitRepo::create(self.git.root(), name).unwrap()
    }

    /// Creates a GitRepository `name` in `ns` for the repository `repo` (branch main).
    pub async fn git_repository(&self, ns: &str, name: &str, repo: &str, interval: &str) {
        apply_as_admin(
            &self.client,
            vec![json!({
                "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
                "metadata": {"name": name, "namespace": ns},
                "spec": {"url": self.git.url(repo), "interval": interval, "ref": {"branch": "main"}}
            })],
        )
        .await;
    }

    /// Creates (or updates) a Kustomization from its JSON.
    pub async fn kustomization(&self, obj: Value) {
        apply_as_admin(&self.client, vec![obj]).await;
    }

    pub fn kustomizations(&self, ns: &str) -> Api<Kustomization> {
        Api::namespaced(self.client.clone(), ns)
    }

    /// Waits (up to 60 s) until `check` holds for Kustomization `ns/name`.
    pub async fn wait_ks(
        &self,
        ns: &str,
        name: &str,
        what: &str,
        check: impl Fn(&Kustomization) -> bool,
    ) -> Kustomization {
        let api = self.kustomizations(ns);
        for _ in 0..1200 {
            if let Ok(Some(o)) = api.get_opt(name).await
                && check(&o)
            {
                return o;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "{ns}/{name} never reached: {what}: {:#?}",
            api.get_opt(name)
                .await
                .ok()
                .flatten()
                .and_then(|o| o.status)
        );
    }

    /// Waits until the Kustomization is Ready at a revision for `commit`.
    pub async fn wait_applied(&self, ns: &str, name: &str, commit: &str) -> Kustomization {
        let suffix = format!("sha1:{commit}");
        self.wait_ks(ns, name, &format!("ready at {commit}"), |k| {
            ready(k)
                && k.status
                    .as_ref()
                    .and_then(|s| s.last_applied_revision.as_deref())
                    .is_some_and(|r| r.ends_with(&suffix))
        })
        .await
    }

    /// Reads any object (`None`: not found).
    pub async fn get(&self, api_version: &str, kind: &str, ns: &str, name: &str) -> Option<Value> {
        let resolver = Resolver::new(self.client.clone());
        let r = resolver.resolve(api_version, kind).await.unwrap()?;
        let api: Api<DynamicObject> = if r.namespaced {
            Api::namespaced_with(self.client.clone(), ns, &r.resource)
        } else {
            Api::all_with(self.client.clone(), &r.resource)
        };
        api.get_opt(name)
            .await
            .unwrap()
            .map(|o| serde_json::to_value(o).unwrap())
    }

    /// The store's global resourceVersion (moves on every write).
    pub fn writes(&self) -> u64 {
        self.env
            .server()
            .expect("in-process testenv")
            .store
            .current_rv()
    }

    /// How many reconciles of Kustomization `ns/name` have finished.
    pub fn reconciles(&self, ns: &str, name: &str) -> u64 {
        let text = self.metrics.render();
        let needle_name = format!("name=\"{name}\"");
        let needle_ns = format!("namespace=\"{ns}\"");
        text.lines()
            .filter(|l| {
                l.starts_with("gotk_reconcile_duration_seconds_count")
                    && l.contains(&needle_name)
                    && l.contains(&needle_ns)
            })
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .map(|v| v as u64)
            .sum()
    }

    /// Events POSTed about `kind` `name` so far.
    pub fn events_for(&self, kind: &str, name: &str) -> Vec<FluxEvent> {
        self.events
            .parsed::<FluxEvent>()
            .into_iter()
            .filter(|e| e.involved_object.kind == kind && e.involved_object.name == name)
            .collect()
    }

    /// Sets `reconcile.fluxcd.io/requestedAt` on an object of `api`.
    pub async fn request<K>(&self, api: &Api<K>, name: &str, token: &str)
    where
        K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
    {
        api.patch(
            name,
            &PatchParams::default(),
            &Patch::Merge(
                json!({"metadata": {"annotations": {"reconcile.fluxcd.io/requestedAt": token}}}),
            ),
        )
        .await
        .unwrap();
    }
}

pub fn ready(k: &Kustomization) -> bool {
    conditions::is_true(k.conditions(), conditions::READY)
        && k.metadata.generation == k.status.as_ref().and_then(|s| s.observed_generation)
}

pub fn ready_message(k: &Kustomization) -> String {
    conditions::get(k.conditions(), conditions::READY)
        .map(|c| c.message.clone())
        .unwrap_or_default()
}

pub fn not_ready_with(k: &Kustomization, needle: &str) -> bool {
    conditions::get(k.conditions(), conditions::READY)
        .is_some_and(|c| c.status == "False" && c.message.contains(needle))
}

/// A Kustomization's JSON.
pub fn ks(ns: &str, name: &str, source: &str, path: &str, extra: Value) -> Value {
    let mut o = json!({
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"interval": "1h", "path": path, "prune": true, "timeout": "30s",
                 "sourceRef": {"kind": "GitRepository", "name": source}}
    });
    if let (Some(spec), Some(extra)) = (o["spec"].as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            spec.insert(k.clone(), v.clone());
        }
    }
    o
}
