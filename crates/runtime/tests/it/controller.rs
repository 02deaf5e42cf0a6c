//! The reconcile loop against the test API server: finalizer, status,
//! observedGeneration, requestedAt, suspend, errors with backoff, deletion.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use ferroflux_api::conditions::{self, FluxObject, ObjectWithConditions};
use ferroflux_api::source::v1::GitRepository;
use ferroflux_runtime::controller::{
    self, FINALIZER, LoopConfig, Outcome, ReconcileError, Reconciler,
};
use ferroflux_testenv::TestEnv;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde_json::json;

#[derive(Clone, Default)]
struct Counting {
    reconciles: Arc<AtomicUsize>,
    cleanups: Arc<AtomicUsize>,
}

impl Reconciler<GitRepository> for Counting {
    async fn reconcile(&self, obj: &mut GitRepository) -> Result<Outcome, ReconcileError> {
        self.reconciles.fetch_add(1, Ordering::SeqCst);
        let generation = obj.metadata.generation;
        if obj.spec.url.contains("broken") {
            conditions::mark_failed(
                obj.conditions_mut(),
                "GitOperationFailed",
                "cannot reach https://broken.example",
                generation,
                conditions::now(),
            );
            return Err(ReconcileError::new("cannot reach https://broken.example"));
        }
        conditions::mark_ready(
            obj.conditions_mut(),
            "Succeeded",
            "stored artifact for revision 'main@sha1:abc'",
            generation,
            conditions::now(),
        );
        Ok(Outcome::Interval)
    }

    async fn cleanup(&self, _obj: &GitRepository) -> Result<(), ReconcileError> {
        self.cleanups.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

async fn setup() -> (TestEnv, kube::Client, Api<GitRepository>) {
    let env = TestEnv::start().await.unwrap();
    let client = env.client().await.unwrap();
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    for crd in ferroflux_api::crds::all().unwrap() {
        crds.create(&PostParams::default(), &crd).await.unwrap();
    }
    let api = Api::namespaced(client.clone(), "default");
    (env, client, api)
}

fn repo(name: &str, url: &str) -> GitRepository {
    serde_json::from_value(json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
        "metadata": {"name": name}, "spec": {"url": url, "interval": "1h"}
    }))
    .unwrap()
}

async fn eventually<T>(what: &str, check: impl AsyncFnMut() -> Option<T>) -> T {
    ferroflux_testsupport::wait::eventually(what, Duration::from_secs(10), check).await
}

fn config() -> LoopConfig {
    LoopConfig {
        backoff_base: Duration::from_millis(50),
        backoff_max: Duration::from_millis(400),
        ..Default::default()
    }
}

#[tokio::test]
async fn loop_writes_status_handles_requests_suspend_and_deletion() {
    let (_env, client, api) = setup().await;
    let r = Counting::default();
    let cfg = config();
    let metrics = cfg.metrics.clone();
    let handle = tokio::spawn(controller::run::<GitRepository, _>(
        client.clone(),
        r.clone(),
        cfg,
    ));

    api.create(
        &PostParams::default(),
        &repo("app", "https://example.com/app"),
    )
    .await
    .unwrap();
    let ready = eventually("Ready", async || {
        let o = api.get("app").await.ok()?;
        conditions::is_true(o.conditions(), conditions::READY).then_some(o)
    })
    .await;
    assert_eq!(
        ready.metadata.finalizers.as_deref(),
        Some(&[FINALIZER.to_string()][..])
    );
    assert_eq!(ready.observed_generation(), Some(1));
    let ready_cond = conditions::get(ready.conditions(), conditions::READY).unwrap();
    assert_eq!(
        ready_cond.message,
        "stored artifact for revision 'main@sha1:abc'"
    );
    assert_eq!(ready_cond.observed_generation, Some(1));

    // A reconcile request is handled and recorded; the unchanged status is not rewritten.
    let before = r.reconciles.load(Ordering::SeqCst);
    let rv_before = ready.metadata.resource_version.clone();
    api.patch(
        "app",
        &PatchParams::default(),
        &Patch::Merge(
            json!({"metadata": {"annotations": {"reconcile.fluxcd.io/requestedAt": "now-1"}}}),
        ),
    )
    .await
    .unwrap();
    let handled = eventually("lastHandledReconcileAt", async || {
        let o = api.get("app").await.ok()?;
        (o.last_handled_reconcile_at() == Some("now-1")).then_some(o)
    })
    .await;
    assert!(r.reconciles.load(Ordering::SeqCst) > before);
    assert_ne!(handled.metadata.resource_version, rv_before);

    // Suspended objects are not reconciled.
    api.patch(
        "app",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"suspend": true}})),
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let while_suspended = r.reconciles.load(Ordering::SeqCst);
    api.patch(
        "app",
        &PatchParams::default(),
        &Patch::Merge(
            json!({"metadata": {"annotations": {"reconcile.fluxcd.io/requestedAt": "now-2"}}}),
        ),
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(r.reconciles.load(Ordering::SeqCst), while_suspended);
    assert_eq!(
        api.get("app").await.unwrap().last_handled_reconcile_at(),
        Some("now-1")
    );

    // Deletion runs the cleanup, then the finalizer goes and so does the object.
    api.delete("app", &DeleteParams::default()).await.unwrap();
    eventually("object gone", async || {
        api.get_opt("app")
            .await
            .ok()
            .and_then(|o| o.is_none().then_some(()))
    })
    .await;
    assert_eq!(r.cleanups.load(Ordering::SeqCst), 1);
    // The loop recorded its work in the metrics.
    let text = metrics.render();
    assert!(text.contains("gotk_reconcile_duration_seconds_count{kind=\"GitRepository\",name=\"app\",namespace=\"default\"}"), "{text}");
    assert!(text.contains("gotk_reconcile_condition{kind=\"GitRepository\",name=\"app\",namespace=\"default\",type=\"Ready\",status=\"True\"} 1"), "{text}");
    handle.abort();
}

#[tokio::test]
async fn failures_are_recorded_and_retried_with_backoff() {
    let (_env, client, api) = setup().await;
    let r = Counting::default();
    let handle = tokio::spawn(controller::run::<GitRepository, _>(
        client.clone(),
        r.clone(),
        config(),
    ));
    api.create(
        &PostParams::default(),
        &repo("bad", "https://broken.example/x"),
    )
    .await
    .unwrap();
    let failed = eventually("Ready=False", async || {
        let o = api.get("bad").await.ok()?;
        conditions::is_false(o.conditions(), conditions::READY).then_some(o)
    })
    .await;
    let c = conditions::get(failed.conditions(), conditions::READY).unwrap();
    assert_eq!(c.reason, "GitOperationFailed");
    // Retried on its own (backoff 50ms, 100ms, 200ms, ...), without any change to the object.
    eventually("retries", async || {
        (r.reconciles.load(Ordering::SeqCst) >= 4).then_some(())
    })
    .await;
    // Status is written once, not at every retry: the failure did not change.
    let later = api.get("bad").await.unwrap();
    assert_eq!(
        later.metadata.resource_version,
        failed.metadata.resource_version
    );
    handle.abort();
}

#[test]
fn jitter_stays_within_bounds() {
    let base = Duration::from_secs(100);
    for _ in 0..1000 {
        let d = controller::jittered(base, 0.05);
        assert!(
            d >= Duration::from_secs(95) && d <= Duration::from_secs(105),
            "{d:?}"
        );
    }
    assert_eq!(controller::jittered(base, 0.0), base);
}

#[tokio::test]
async fn status_and_label_writes_do_not_trigger_reconciles() {
    let (_env, client, api) = setup().await;
    let r = Counting::default();
    let handle = tokio::spawn(controller::run::<GitRepository, _>(
        client.clone(),
        r.clone(),
        config(),
    ));
    api.create(
        &PostParams::default(),
        &repo("app", "https://example.com/app"),
    )
    .await
    .unwrap();
    eventually("Ready", async || {
        let o = api.get("app").await.ok()?;
        conditions::is_true(o.conditions(), conditions::READY).then_some(())
    })
    .await;
    // The first reconcile wrote status; that write must not cause a second.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after_first = r.reconciles.load(Ordering::SeqCst);
    assert_eq!(
        after_first, 1,
        "the loop's own status write triggered a reconcile"
    );

    // Neither does someone else's label; a spec change does.
    api.patch(
        "app",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {"team": "a"}}})),
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(r.reconciles.load(Ordering::SeqCst), 1);
    api.patch(
        "app",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"url": "https://example.com/other"}})),
    )
    .await
    .unwrap();
    eventually("a reconcile of the new spec", async || {
        (r.reconciles.load(Ordering::SeqCst) == 2).then_some(())
    })
    .await;
    handle.abort();
}

/// Panics on objects whose URL says so, as a bug reachable from input would.
#[derive(Clone, Default)]
struct Panicking {
    reconciles: Arc<AtomicUsize>,
}

impl Reconciler<GitRepository> for Panicking {
    async fn reconcile(&self, obj: &mut GitRepository) -> Result<Outcome, ReconcileError> {
        self.reconciles.fetch_add(1, Ordering::SeqCst);
        if obj.spec.url.contains("panic") {
            // A panic message that carries input must not reach the status.
            panic!(
                "token is not a valid header: secret-token\n{}",
                obj.spec.url
            );
        }
        let generation = obj.metadata.generation;
        conditions::mark_ready(
            obj.conditions_mut(),
            "Succeeded",
            "fine",
            generation,
            conditions::now(),
        );
        Ok(Outcome::Interval)
    }

    async fn cleanup(&self, obj: &GitRepository) -> Result<(), ReconcileError> {
        if obj.spec.url.contains("cleanup-panic") {
            panic!("cleanup bug");
        }
        Ok(())
    }
}

#[tokio::test]
async fn a_panicking_reconcile_fails_its_object_and_the_loop_goes_on() {
    let (_env, client, api) = setup().await;
    let r = Panicking::default();
    let handle = tokio::spawn(controller::run::<GitRepository, _>(
        client.clone(),
        r.clone(),
        config(),
    ));
    api.create(
        &PostParams::default(),
        &repo("bad", "https://panic.example/x"),
    )
    .await
    .unwrap();
    let failed = eventually("Ready=False on the panicking object", async || {
        let o = api.get("bad").await.ok()?;
        conditions::is_false(o.conditions(), conditions::READY).then_some(o)
    })
    .await;
    let c = conditions::get(failed.conditions(), conditions::READY).unwrap();
    assert_eq!(c.reason, controller::PANICKED);
    assert!(!c.message.contains("secret-token"), "{}", c.message);
    assert!(c.message.contains("internal error"), "{}", c.message);
    // The loop survived: another object, created afterwards, is reconciled.
    api.create(
        &PostParams::default(),
        &repo("good", "https://example.com/x"),
    )
    .await
    .unwrap();
    eventually("the other object Ready", async || {
        let o = api.get("good").await.ok()?;
        conditions::is_true(o.conditions(), conditions::READY).then_some(())
    })
    .await;
    // It is retried with backoff, and the loop still runs after each panic.
    eventually("retries of the panicking object", async || {
        (r.reconciles.load(Ordering::SeqCst) >= 4).then_some(())
    })
    .await;
    // A panic in cleanup keeps the finalizer (retried), and does not stop
    // the loop either.
    api.create(
        &PostParams::default(),
        &repo("gone", "https://cleanup-panic.example/x"),
    )
    .await
    .unwrap();
    eventually("the finalizer on gone", async || {
        let o = api.get("gone").await.ok()?;
        kube::ResourceExt::finalizers(&o)
            .contains(&FINALIZER.to_string())
            .then_some(())
    })
    .await;
    api.delete("gone", &DeleteParams::default()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        api.get_opt("gone").await.unwrap().is_some(),
        "finalizer kept"
    );
    api.patch(
        "good",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"url": "https://example.com/y"}})),
    )
    .await
    .unwrap();
    eventually("the other object reconciled again", async || {
        let o = api.get("good").await.ok()?;
        (o.status.as_ref()?.observed_generation == Some(2)).then_some(())
    })
    .await;
    handle.abort();
}

/// A proxy in front of the test API server whose watch streams stall
/// while `open` is false: what the loop writes then does not reach its
/// cache, as happens across processes when a watch event is slow.
async fn gated_proxy(upstream: String, open: tokio::sync::watch::Receiver<bool>) -> String {
    use axum::body::Body;
    use axum::extract::Request;
    use axum::response::Response;
    use futures::StreamExt;

    let http = reqwest::Client::new();
    let handler = move |req: Request| {
        let http = http.clone();
        let upstream = upstream.clone();
        let open = open.clone();
        async move {
            let (parts, body) = req.into_parts();
            let pq = parts
                .uri
                .path_and_query()
                .map(|p| p.as_str().to_string())
                .unwrap_or_default();
            let watch = pq.contains("watch=true") || pq.contains("watch=1");
            let body = axum::body::to_bytes(body, usize::MAX).await.unwrap();
            let mut headers = parts.headers.clone();
            headers.remove(axum::http::header::HOST);
            let resp = http
                .request(parts.method, format!("{upstream}{pq}"))
                .headers(headers)
                .body(body)
                .send()
                .await
                .unwrap();
            let mut out = Response::builder().status(resp.status());
            for (k, v) in resp.headers() {
                out = out.header(k, v);
            }
            let stream = resp.bytes_stream().then(move |chunk| {
                let mut open = open.clone();
                async move {
                    if watch {
                        let _ = open.wait_for(|o| *o).await;
                    }
                    chunk
                }
            });
            out.body(Body::from_stream(stream)).unwrap()
        }
    };
    let app = axum::Router::new().fallback(handler);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}")
}

/// Records the `Ready` message each reconcile starts from, and sends a
/// trigger for the object during its first reconcile, holding the loop's
/// watch until the second reconcile has started.
#[derive(Clone)]
struct Retriggering {
    seen: Arc<std::sync::Mutex<Vec<Option<String>>>>,
    trigger: tokio::sync::mpsc::UnboundedSender<kube::runtime::reflector::ObjectRef<GitRepository>>,
    open: Arc<tokio::sync::watch::Sender<bool>>,
}

impl Reconciler<GitRepository> for Retriggering {
    async fn reconcile(&self, obj: &mut GitRepository) -> Result<Outcome, ReconcileError> {
        let before =
            conditions::get(obj.conditions(), conditions::READY).map(|c| c.message.clone());
        let pass = {
            let mut seen = self.seen.lock().unwrap();
            seen.push(before);
            seen.len()
        };
        if pass == 1 {
            // The status this pass writes stays out of the cache until the
            // next pass has started; a trigger (a source's new revision,
            // say) arrives mid-reconcile.
            self.open.send_replace(false);
            let _ = self
                .trigger
                .send(kube::runtime::reflector::ObjectRef::from_obj(&*obj));
        } else {
            self.open.send_replace(true);
        }
        let generation = obj.metadata.generation;
        conditions::mark_ready(
            obj.conditions_mut(),
            "Succeeded",
            &format!("pass {pass}"),
            generation,
            conditions::now(),
        );
        Ok(Outcome::Interval)
    }

    async fn cleanup(&self, _obj: &GitRepository) -> Result<(), ReconcileError> {
        Ok(())
    }
}

#[tokio::test]
async fn a_trigger_during_a_reconcile_runs_once_more_from_its_result() {
    let (env, client, api) = setup().await;
    if env.server().is_none() {
        return; // needs the in-process server behind the proxy
    }
    let (open_tx, open_rx) = tokio::sync::watch::channel(true);
    let proxy = gated_proxy(env.url(), open_rx).await;
    let kubeconfig = env.kubeconfig_yaml().replace(&env.url(), &proxy);
    let kube_config = kube::Config::from_custom_kubeconfig(
        kube::config::Kubeconfig::from_yaml(&kubeconfig).unwrap(),
        &Default::default(),
    )
    .await
    .unwrap();
    let loop_client = kube::Client::try_from(kube_config).unwrap();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let r = Retriggering {
        seen: Default::default(),
        trigger: tx,
        open: Arc::new(open_tx),
    };
    let triggers =
        futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|t| (t, rx)) });
    let handle = tokio::spawn(controller::run_with::<GitRepository, _, _>(
        loop_client,
        r.clone(),
        config(),
        move |c| c.reconcile_on(triggers),
    ));
    api.create(
        &PostParams::default(),
        &repo("app", "https://example.com/app"),
    )
    .await
    .unwrap();
    let o = eventually("the second pass written", async || {
        let o = api.get("app").await.ok()?;
        conditions::get(o.conditions(), conditions::READY)
            .is_some_and(|c| c.message == "pass 2")
            .then_some(o)
    })
    .await;
    let seen = r.seen.lock().unwrap().clone();
    // The second pass started from the first one's result, not from the
    // cache's copy from before the first pass wrote its status.
    assert_eq!(seen, vec![None, Some("pass 1".to_string())]);
    assert_eq!(o.conditions().len(), 1, "{:?}", o.conditions());
    drop(client);
    handle.abort();
}

#[tokio::test]
async fn the_finalizer_is_added_from_a_stale_copy_without_losing_or_doubling_entries() {
    let (_env, _client, api) = setup().await;
    let created = api
        .create(
            &PostParams::default(),
            &repo("stale", "https://example.com/stale"),
        )
        .await
        .unwrap();
    // The cache's copy lags: another writer has changed the finalizers since.
    api.patch(
        "stale",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": ["example.com/other"]}})),
    )
    .await
    .unwrap();
    let stale = Arc::new(created);
    // kube's helper tests the list against the stale copy and fails: the
    // error the loop used to log on first reconciles.
    let helper = kube::runtime::finalizer::finalizer(&api, FINALIZER, stale.clone(), |_| async {
        Ok::<_, std::io::Error>(kube::runtime::controller::Action::await_change())
    })
    .await;
    assert!(
        matches!(
            helper,
            Err(kube::runtime::finalizer::Error::AddFinalizer(_))
        ),
        "{helper:?}"
    );

    let added = controller::ensure_finalizer(&api, stale.clone())
        .await
        .expect("added against the object as it is");
    assert!(added.is_none(), "the watch brings the object back");
    let want = Some(vec!["example.com/other".to_string(), FINALIZER.to_string()]);
    assert_eq!(api.get("stale").await.unwrap().metadata.finalizers, want);
    // The same stale copy again (a second trigger before the watch caught
    // up): no error, nothing added twice.
    let again = controller::ensure_finalizer(&api, stale)
        .await
        .expect("again");
    assert!(again.is_none());
    assert_eq!(api.get("stale").await.unwrap().metadata.finalizers, want);
    // A current copy is reconciled as it is.
    let current = Arc::new(api.get("stale").await.unwrap());
    let ready = controller::ensure_finalizer(&api, current)
        .await
        .expect("current");
    assert_eq!(ready.expect("reconcile it").metadata.finalizers, want);
}
