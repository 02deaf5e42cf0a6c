//! The harness: testenv with Flux's CRDs, a Helm chart repository (charts
//! packaged and indexed by the Helm SDK, served over HTTP), source-controller
//! and helm-controller loops, and a sink for the events they POST.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use ferroflux_api::conditions::{self, ObjectWithConditions};
use ferroflux_api::event::FluxEvent;
use ferroflux_api::helm::v2::HelmRelease;
use ferroflux_runtime::artifact::FetchOptions;
use ferroflux_runtime::controller::LoopConfig;
use ferroflux_runtime::metrics::Metrics;
use ferroflux_ssa::{ApplyOptions, Manager, Resolver};
use ferroflux_testenv::{Options as EnvOptions, TestEnv};
use ferroflux_testsupport::git::ServerAuth;
use ferroflux_testsupport::helm_repo::{ChartSpec, StaticServer, package_and_index, sdk_python};
use ferroflux_testsupport::sink::Sink;
use helm_controller::reconciler::Options;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;

/// How the harness is set up.
#[derive(Default, Clone)]
pub struct Setup {
    /// helm-controller's `--default-service-account`.
    pub default_service_account: Option<String>,
    /// testenv's workload simulation.
    pub simulate_workloads: Option<Duration>,
    /// Start helm-controller (false: the test starts it itself).
    pub no_helm_controller: bool,
    /// helm-controller's `--concurrent` (default: the loop's).
    pub concurrency: Option<u16>,
}

pub struct Harness {
    pub env: TestEnv,
    pub client: kube::Client,
    pub python: PathBuf,
    pub repo_dir: tempfile::TempDir,
    pub repo: StaticServer,
    pub events: Sink,
    pub metrics: Metrics,
    pub setup: Setup,
    _dirs: Vec<tempfile::TempDir>,
    _sources: source_controller::Running,
    pub helm: Option<helm_controller::Running>,
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The harness, or `None` (outside CI) when the Helm SDK is missing.
pub async fn harness(setup: Setup) -> Option<Harness> {
    let python = sdk_python()?;
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
    let repo_dir = tempfile::tempdir().unwrap();
    let repo = StaticServer::start(repo_dir.path(), ServerAuth::None);
    let storage_dir = tempfile::tempdir().unwrap();
    let cache_dir = tempfile::tempdir().unwrap();
    let events = Sink::answering(202, "").await;
    let sink = format!("{}/", events.url);
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
            loop_config: fast_loop(Metrics::new()),
            leader: None,
        },
    )
    .await
    .unwrap();
    let metrics = Metrics::new();
    let mut h = Harness {
        env,
        client,
        python,
        repo_dir,
        repo,
        events,
        metrics,
        setup: setup.clone(),
        _dirs: vec![storage_dir, cache_dir],
        _sources: sources,
        helm: None,
    };
    if !setup.no_helm_controller {
        h.start_helm_controller().await;
    }
    Some(h)
}

fn fast_loop(metrics: Metrics) -> LoopConfig {
    LoopConfig {
        backoff_base: Duration::from_millis(100),
        backoff_max: Duration::from_secs(1),
        metrics,
        ..Default::default()
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
    /// helm-controller's configuration in this harness.
    pub async fn helm_config(&self) -> helm_controller::Config {
        let kube_config = kube::Config::from_custom_kubeconfig(
            kube::config::Kubeconfig::from_yaml(&self.env.kubeconfig_yaml()).unwrap(),
            &Default::default(),
        )
        .await
        .unwrap();
        helm_controller::Config {
            kube_config,
            default_service_account: self.setup.default_service_account.clone(),
            kubeconfig_policy: Default::default(),
            fetch: FetchOptions::default(),
            options: Options {
                requeue_dependency: Duration::from_secs(3600),
                ..Default::default()
            },
            events_addr: Some(format!("{}/", self.events.url)),
            loop_config: LoopConfig {
                concurrency: self.setup.concurrency.unwrap_or(4),
                ..fast_loop(self.metrics.clone())
            },
            leader: None,
        }
    }

    /// Starts (or restarts) helm-controller in this process.
    pub async fn start_helm_controller(&mut self) {
        let config = self.helm_config().await;
        self.helm = Some(
            helm_controller::start(self.client.clone(), config)
                .await
                .unwrap(),
        );
    }

    /// Packages charts into the repository and re-indexes it.
    pub fn publish(&self, charts: &[ChartSpec]) {
        package_and_index(&self.python, self.repo_dir.path(), charts);
    }

    /// A namespace and a HelmRepository `repo` in it for the harness's repository.
    pub async fn namespace_with_repo(&self, ns: &str) {
        apply_as_admin(
            &self.client,
            vec![
                json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}),
                json!({
                    "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "HelmRepository",
                    "metadata": {"name": "repo", "namespace": ns},
                    "spec": {"url": self.repo.url(), "interval": "1h"}
                }),
            ],
        )
        .await;
    }

    pub fn releases(&self, ns: &str) -> Api<HelmRelease> {
        Api::namespaced(self.client.clone(), ns)
    }

    /// Creates or updates a HelmRelease from its JSON.
    pub async fn helm_release(&self, obj: Value) {
        apply_as_admin(&self.client, vec![obj]).await;
    }

    /// Waits (up to 90 s) until `check` holds for HelmRelease `ns/name`.
    pub async fn wait_hr(
        &self,
        ns: &str,
        name: &str,
        what: &str,
        check: impl Fn(&HelmRelease) -> bool,
    ) -> HelmRelease {
        let api = self.releases(ns);
        for _ in 0..1800 {
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

    /// How many reconciles of HelmRelease `ns/name` have finished.
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

    /// Events POSTed about HelmRelease `name` so far.
    pub fn events_for(&self, name: &str) -> Vec<FluxEvent> {
        self.events
            .parsed::<FluxEvent>()
            .into_iter()
            .filter(|e| e.involved_object.kind == "HelmRelease" && e.involved_object.name == name)
            .collect()
    }

    /// Sets an annotation on HelmRelease `ns/name`.
    pub async fn annotate(&self, ns: &str, name: &str, key: &str, value: &str) {
        self.releases(ns)
            .patch(
                name,
                &PatchParams::default(),
                &Patch::Merge(json!({"metadata": {"annotations": {key: value}}})),
            )
            .await
            .unwrap();
    }

    /// Runs `steps` with the Helm SDK against testenv (crates/helm's
    /// release peer script); one result per step.
    pub async fn sdk(&self, ns: &str, steps: Value) -> Vec<Value> {
        let spec = json!({
            "kubeconfig": self.env.kubeconfig_path(),
            "namespace": ns,
            "driver": "secret",
            "steps": steps,
        });
        let mut child = tokio::process::Command::new(&self.python)
            .arg(workspace().join("crates/helm/tests/it/release_peer.py"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("the SDK's python starts");
        let mut stdin = child.stdin.take().expect("stdin");
        stdin
            .write_all(spec.to_string().as_bytes())
            .await
            .expect("spec written");
        drop(stdin);
        let out = child.wait_with_output().await.expect("the SDK runs");
        assert!(
            out.status.success(),
            "release_peer.py failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("the SDK's output is JSON")
    }
}

/// A step's result, failing the test with the SDK's error otherwise.
pub fn ok<'a>(results: &'a [Value], i: usize, what: &str) -> &'a Value {
    let r = &results[i];
    match r.get("ok") {
        Some(v) => v,
        None => panic!("SDK step {i} ({what}) failed: {}", r["error"]),
    }
}

/// Ready=True at the object's generation.
pub fn ready(h: &HelmRelease) -> bool {
    conditions::is_true(h.conditions(), conditions::READY)
        && h.metadata.generation == h.status.as_ref().and_then(|s| s.observed_generation)
}

/// The condition `type_`'s `(status, reason, message)`.
pub fn cond(h: &HelmRelease, type_: &str) -> Option<(String, String, String)> {
    conditions::get(h.conditions(), type_)
        .map(|c| (c.status.clone(), c.reason.clone(), c.message.clone()))
}

/// A chart with a ConfigMap showing `greeting` and the chart version.
pub fn chart(name: &str, version: &str) -> ChartSpec {
    ChartSpec::new(name, version)
        .file("values.yaml", "greeting: hello\n")
        .file(
            "templates/configmap.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-cm\ndata:\n  greeting: {{ .Values.greeting | quote }}\n  version: {{ .Chart.Version | quote }}\n",
        )
}

/// A HelmRelease of chart `chart` from the namespace's HelmRepository.
pub fn release(ns: &str, name: &str, chart: &str, version: &str, values: Value) -> Value {
    json!({
        "apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "interval": "1h",
            "chart": {"spec": {
                "chart": chart, "version": version,
                "sourceRef": {"kind": "HelmRepository", "name": "repo"},
                "interval": "1h"
            }},
            "values": values,
        }
    })
}
