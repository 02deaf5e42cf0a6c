//! Triggers that arrive while a reconcile is running (issue 18's double
//! reconcile): the reconcile is held for real, inside its artifact download,
//! while a reconcile request and new source revisions arrive. Each trigger
//! gives one pass after the running one, which sees that pass's result:
//! each revision is applied and announced exactly once.
//!
//! The sources are GitRepositories that source-controller leaves alone
//! (`suspend`), whose artifacts the test publishes itself from its own HTTP
//! server, which holds a download until the test lets it go. That a trigger
//! reached the controller while the reconcile was held is shown without
//! timing: a second Kustomization ("probe") is triggered through the same
//! watch stream right after it, and the probe's reconcile finishing means
//! the earlier event was delivered too.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{StatusCode, Uri};
use ferroflux_api::conditions::{FluxObject, ObjectWithConditions};
use ferroflux_api::event::Severity;
use ferroflux_api::kustomize::v1::Kustomization;
use k8s_openapi::api::core::v1::Event as KubeEvent;
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams};
use kube::discovery::ApiResource;
use serde_json::json;
use source_controller::ignore::IgnoreRules;
use source_controller::storage::archive::archive_dir;
use tokio::sync::{Semaphore, mpsc};

use crate::support::{Harness, Setup, harness, ks, ready};

const REVISION_KEY: &str = "kustomize.toolkit.fluxcd.io/revision";

/// Artifacts served over HTTP; a held one is sent only once released.
#[derive(Clone)]
struct Artifacts {
    state: Arc<Mutex<Served>>,
    arrivals: mpsc::UnboundedSender<String>,
}

#[derive(Default)]
struct Served {
    files: HashMap<String, Vec<u8>>,
    gates: HashMap<String, Arc<Semaphore>>,
    requests: HashMap<String, usize>,
}

impl Artifacts {
    fn lock(&self) -> std::sync::MutexGuard<'_, Served> {
        self.state.lock().unwrap()
    }

    fn requests(&self, name: &str) -> usize {
        self.lock().requests.get(name).copied().unwrap_or(0)
    }
}

async fn serve(State(a): State<Artifacts>, uri: Uri) -> (StatusCode, Vec<u8>) {
    let name = uri.path().trim_start_matches('/').to_string();
    let gate = {
        let mut s = a.lock();
        *s.requests.entry(name.clone()).or_default() += 1;
        s.gates.get(&name).cloned()
    };
    let _ = a.arrivals.send(name.clone());
    if let Some(gate) = gate {
        // Released by the test adding a permit; the permit goes back on drop.
        let _permit = gate.acquire().await;
    }
    match a.lock().files.get(&name) {
        Some(bytes) => (StatusCode::OK, bytes.clone()),
        None => (StatusCode::NOT_FOUND, Vec::new()),
    }
}

struct Published {
    revision: String,
    artifact: serde_json::Value,
}

struct Bench {
    h: Harness,
    artifacts: Artifacts,
    arrivals: mpsc::UnboundedReceiver<String>,
    base: String,
}

impl Bench {
    async fn start() -> Self {
        let h = harness(Setup::default()).await;
        let (tx, arrivals) = mpsc::unbounded_channel();
        let artifacts = Artifacts {
            state: Arc::default(),
            arrivals: tx,
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let app = axum::Router::new()
            .fallback(serve)
            .with_state(artifacts.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        for name in ["held", "probe-src"] {
            crate::support::apply_as_admin(
                &h.client,
                vec![json!({
                    "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
                    "metadata": {"name": name, "namespace": "flux-system"},
                    "spec": {"url": "http://unused.invalid/repo", "interval": "1h",
                             "ref": {"branch": "main"}, "suspend": true}
                })],
            )
            .await;
        }
        Self {
            h,
            artifacts,
            arrivals,
            base,
        }
    }

    /// Packs a ConfigMap `name` with `data.v = value` as an artifact file
    /// `file`, held until released when `held`.
    fn artifact(&self, file: &str, name: &str, value: &str, held: bool) -> Published {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("cm.yaml"),
            format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: default\ndata:\n  v: \"{value}\"\n"
            ),
        )
        .unwrap();
        let mut bytes = Vec::new();
        let info = archive_dir(dir.path(), &IgnoreRules::empty(), &mut bytes).unwrap();
        let mut s = self.artifacts.lock();
        s.files.insert(file.to_string(), bytes);
        if held {
            s.gates
                .insert(file.to_string(), Arc::new(Semaphore::new(0)));
        }
        // A distinct commit-like revision per artifact.
        let revision = format!("main@sha1:{:0>40}", hex_of(file));
        Published {
            artifact: json!({
                "path": format!("gitrepository/flux-system/{file}"),
                "url": format!("{}/{file}", self.base),
                "revision": revision,
                "digest": info.digest,
                "lastUpdateTime": "2026-01-01T00:00:00Z",
                "size": info.size,
            }),
            revision,
        }
    }

    fn store(&self) -> &ferroflux_testenv::store::Store {
        &self.h.env.server().expect("in-process testenv").store
    }

    fn release(&self, file: &str) {
        let gate = self.artifacts.lock().gates.get(file).cloned().unwrap();
        gate.add_permits(1);
    }

    /// Publishes `p` as the artifact of GitRepository `source`.
    async fn publish(&self, source: &str, p: &Published) {
        let ar = ApiResource {
            group: "source.toolkit.fluxcd.io".into(),
            version: "v1".into(),
            api_version: "source.toolkit.fluxcd.io/v1".into(),
            kind: "GitRepository".into(),
            plural: "gitrepositories".into(),
        };
        let api: Api<DynamicObject> =
            Api::namespaced_with(self.h.client.clone(), "flux-system", &ar);
        api.patch_status(
            source,
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {
                "artifact": p.artifact,
                "conditions": [{"type": "Ready", "status": "True", "reason": "Succeeded",
                    "message": format!("stored artifact for revision '{}'", p.revision),
                    "lastTransitionTime": "2026-01-01T00:00:00Z"}]
            }})),
        )
        .await
        .unwrap();
    }

    /// Waits for the next download request of `file`.
    async fn arrival(&mut self, file: &str) {
        let wait = async {
            while let Some(name) = self.arrivals.recv().await {
                if name == file {
                    return;
                }
            }
            panic!("the artifact server stopped");
        };
        tokio::time::timeout(Duration::from_secs(60), wait)
            .await
            .unwrap_or_else(|_| panic!("{file} was never downloaded"));
    }

    async fn request(&self, name: &str, token: &str) {
        self.h
            .request(&self.h.kustomizations("flux-system"), name, token)
            .await;
    }

    async fn wait_handled(&self, name: &str, token: &str) -> Kustomization {
        self.h
            .wait_ks(
                "flux-system",
                name,
                &format!("request {token} handled"),
                |k| k.last_handled_reconcile_at() == Some(token),
            )
            .await
    }

    async fn wait_revision(&self, name: &str, revision: &str) -> Kustomization {
        self.h
            .wait_ks("flux-system", name, &format!("ready at {revision}"), |k| {
                ready(k)
                    && k.status
                        .as_ref()
                        .and_then(|s| s.last_applied_revision.as_deref())
                        == Some(revision)
            })
            .await
    }
}

fn hex_of(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test]
async fn triggers_during_a_reconcile_give_one_apply_and_one_event_per_revision() {
    let mut b = Bench::start().await;
    let rev1 = b.artifact("r1.tgz", "race", "1", true);
    let rev2 = b.artifact("r2.tgz", "race", "2", true);
    let rev3 = b.artifact("r3.tgz", "race", "3", false);
    let p1 = b.artifact("p1.tgz", "probe", "1", false);
    let p2 = b.artifact("p2.tgz", "probe", "2", false);
    let rv0 = b.h.writes();

    b.publish("probe-src", &p1).await;
    b.h.kustomization(ks("flux-system", "probe", "probe-src", "./", json!({})))
        .await;
    b.wait_revision("probe", &p1.revision).await;

    // A request arrives while the first reconcile is held in its download.
    b.publish("held", &rev1).await;
    b.h.kustomization(ks("flux-system", "race", "held", "./", json!({})))
        .await;
    b.arrival("r1.tgz").await;
    b.request("race", "during-1").await;
    // Through the same watch stream, after it: once the probe has handled
    // its request, the controller has seen race's too.
    b.request("probe", "during-1").await;
    b.wait_handled("probe", "during-1").await;
    // The controller's cache lags: the first pass's status write reaches it
    // only after the second pass has run, which must still see that write.
    b.store().hold_watches("kustomize.toolkit.fluxcd.io");
    b.release("r1.tgz");
    let k = b.wait_handled("race", "during-1").await;
    b.store().release_watches();
    assert_eq!(
        k.status.as_ref().unwrap().last_applied_revision.as_deref(),
        Some(rev1.revision.as_str())
    );

    // New revisions: r3 arrives while r2's reconcile is held.
    b.publish("held", &rev2).await;
    b.arrival("r2.tgz").await;
    b.publish("held", &rev3).await;
    b.publish("probe-src", &p2).await;
    b.wait_revision("probe", &p2.revision).await;
    b.release("r2.tgz");
    b.wait_revision("race", &rev3.revision).await;
    // A last request goes through the queue behind anything still pending.
    b.request("race", "after").await;
    b.wait_handled("race", "after").await;

    // One pass per trigger, each downloading the revision it found: r1 by the
    // first pass and the request that came during it, r2 by its pass, r3
    // by the pass its trigger queued and by the last request.
    let downloads: Vec<usize> = ["r1.tgz", "r2.tgz", "r3.tgz"]
        .iter()
        .map(|f| b.artifacts.requests(f))
        .collect();
    assert_eq!(downloads, [2, 1, 2], "downloads of r1, r2, r3");
    // The ConfigMap was written once per revision, in order.
    let store = b.store();
    let (changes, _) = store.watch("", "configmaps", Some(rv0)).unwrap();
    let values: Vec<String> = changes
        .iter()
        .filter(|e| e.key.namespace == "default" && e.key.name == "race")
        .map(|e| e.object()["data"]["v"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(values, ["1", "2", "3"], "writes of the applied ConfigMap");

    // Kubernetes Events are written before each reconcile ends: their
    // count is exact by now.
    let events: Api<KubeEvent> = Api::namespaced(b.h.client.clone(), "flux-system");
    let list = events.list(&ListParams::default()).await.unwrap();
    let of_race: Vec<&KubeEvent> = list
        .items
        .iter()
        .filter(|e| e.involved_object.name.as_deref() == Some("race"))
        .collect();
    let count = |reason: &str| {
        of_race
            .iter()
            .filter(|e| e.reason.as_deref() == Some(reason))
            .count()
    };
    let shown: Vec<_> = of_race
        .iter()
        .map(|e| (e.reason.clone(), e.message.clone()))
        .collect();
    assert_eq!(count("ReconciliationSucceeded"), 3, "{shown:#?}");
    assert_eq!(count("Progressing"), 3, "{shown:#?}");
    assert_eq!(of_race.len(), 6, "{shown:#?}");

    // The notification events name the revision: one of each per revision.
    let per_revision = |revision: &str, reason: &str| {
        b.h.events_for("Kustomization", "race")
            .iter()
            .filter(|e| {
                e.reason == reason
                    && e.metadata.get(REVISION_KEY).map(String::as_str) == Some(revision)
            })
            .count()
    };
    ferroflux_testsupport::wait::wait_until(
        "six notification events of race",
        Duration::from_secs(30),
        async || b.h.events_for("Kustomization", "race").len() >= 6,
    )
    .await;
    for r in [&rev1, &rev2, &rev3] {
        assert_eq!(
            per_revision(&r.revision, "ReconciliationSucceeded"),
            1,
            "{}",
            r.revision
        );
        assert_eq!(
            per_revision(&r.revision, "Progressing"),
            1,
            "{}",
            r.revision
        );
    }
    assert!(
        b.h.events_for("Kustomization", "race")
            .iter()
            .all(|e| e.severity != Severity::Error)
    );
    let k = b.h.kustomizations("flux-system").get("race").await.unwrap();
    assert!(ready(&k), "{:?}", k.conditions());
}
