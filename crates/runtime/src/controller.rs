//! The reconcile loop every controller runs, over kube-runtime's Controller:
//! finalizers, suspend, the `reconcile.fluxcd.io/requestedAt` annotation,
//! `status.observedGeneration`, status writes only when something changed,
//! requeue after `spec.interval` with jitter, and exponential backoff on
//! errors.

use std::collections::HashMap;
use std::fmt::Debug;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::interval::bounded;
use ferroflux_api::conditions::FluxObject;
use ferroflux_api::meta::RECONCILE_REQUEST_ANNOTATION;
use futures::StreamExt;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::finalizer::{Event as FinalizerEvent, finalizer};
use kube::runtime::watcher;
use kube::runtime::{PredicateConfig, WatchStreamExt};
use kube::{Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// The finalizer Flux's controllers put on the objects they own.
pub const FINALIZER: &str = "finalizers.fluxcd.io";

/// What to do after a reconcile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Reconcile again after `spec.interval` (with jitter).
    Interval,
    /// Reconcile again after this long (e.g. waiting on a dependency).
    After(Duration),
    /// Only reconcile again when the object changes.
    AwaitChange,
}

/// A failed reconcile. The reconciler has already recorded the failure in the
/// object's conditions; the runtime writes the status and retries with backoff.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ReconcileError {
    /// What went wrong (never a secret).
    pub message: String,
    /// Retry after this long instead of the exponential backoff.
    pub retry_after: Option<Duration>,
}

impl ReconcileError {
    /// An error retried with exponential backoff.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            retry_after: None,
        }
    }

    /// An error retried after a fixed time.
    pub fn retry_after(message: impl Into<String>, after: Duration) -> Self {
        Self {
            message: message.into(),
            retry_after: Some(after),
        }
    }
}

/// The kinds the runtime can drive.
pub trait Kind:
    Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>
    + FluxObject
    + Clone
    + Debug
    + Serialize
    + DeserializeOwned
    + Send
    + Sync
    + 'static
{
}

impl<K> Kind for K where
    K: Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>
        + FluxObject
        + Clone
        + Debug
        + Serialize
        + DeserializeOwned
        + Send
        + Sync
        + 'static
{
}

/// A controller's logic for one kind.
pub trait Reconciler<K: Kind>: Send + Sync + 'static {
    /// Brings the world in line with `obj` and records the result in its
    /// status (conditions, artifact, ...). `obj` is a private copy: the
    /// runtime writes its status back afterwards if it changed.
    fn reconcile(
        &self,
        obj: &mut K,
    ) -> impl Future<Output = Result<Outcome, ReconcileError>> + Send;

    /// Cleans up when the object is deleted, before the finalizer goes.
    fn cleanup(&self, obj: &K) -> impl Future<Output = Result<(), ReconcileError>> + Send;
}

/// How the loop is run.
#[derive(Debug, Clone)]
pub struct LoopConfig {
    /// Objects reconciled at once.
    pub concurrency: u16,
    /// Namespace to watch (`None`: all).
    pub namespace: Option<String>,
    /// Label selector for sharding (`""`: all objects).
    pub label_selector: String,
    /// Fraction of the interval added or taken away at random, so objects
    /// created together do not reconcile in lockstep (Flux's default: 5%).
    pub jitter: f64,
    /// First error backoff; doubled per consecutive failure.
    pub backoff_base: Duration,
    /// Longest error backoff.
    pub backoff_max: Duration,
    /// Where reconcile durations and conditions are recorded.
    pub metrics: crate::metrics::Metrics,
}

impl Default for LoopConfig {
    fn default() -> Self {
        Self {
            concurrency: 4,
            namespace: None,
            label_selector: String::new(),
            jitter: 0.05,
            backoff_base: Duration::from_secs(1),
            backoff_max: Duration::from_secs(300),
            metrics: crate::metrics::Metrics::new(),
        }
    }
}

struct Context<K: Kind, R: Reconciler<K>> {
    client: kube::Client,
    reconciler: R,
    config: LoopConfig,
    failures: Mutex<HashMap<String, u32>>,
    /// The status last written per object and when, for the next
    /// reconcile of the object if the cache has not caught up.
    written: Mutex<HashMap<String, (std::time::Instant, Written)>>,
    _kind: std::marker::PhantomData<fn() -> K>,
}

/// A status the loop wrote, kept until the watch brings it into the cache:
/// a trigger that arrives during a reconcile runs the object again as soon
/// as that reconcile ends, often before its own status write is back from
/// the watch, and that second pass must start from the first one's result
/// (or it applies and announces the same revision again).
#[derive(Debug, Clone)]
pub struct Written {
    /// The object's uid (a recreated object starts afresh).
    pub uid: Option<String>,
    /// The status written.
    pub status: Value,
}

/// How long a written status may stand in for the cache's: the watch
/// delivers in well under this, and a status someone else wrote since
/// (another instance after a leader change) must not be overridden later.
const WRITTEN_FOR: Duration = Duration::from_secs(30);

fn status_value<K: Kind>(obj: &K) -> Value {
    serde_json::to_value(obj)
        .ok()
        .and_then(|v| v.get("status").cloned())
        .unwrap_or(Value::Null)
}

/// `obj` (from the cache) with the status the loop last wrote, when the
/// cache has not caught up with that write yet; `None` when it has (or the
/// object is another one of the same name), and `obj` is current.
pub fn with_written_status<K: Kind>(obj: &K, written: &Written) -> Option<K> {
    if obj.meta().uid != written.uid {
        return None;
    }
    let mut v = serde_json::to_value(obj).ok()?;
    if v.get("status") == Some(&written.status) {
        return None;
    }
    v.as_object_mut()?
        .insert("status".to_string(), written.status.clone());
    serde_json::from_value(v).ok()
}

impl<K: Kind, R: Reconciler<K>> Context<K, R> {
    fn written(&self) -> std::sync::MutexGuard<'_, HashMap<String, (std::time::Instant, Written)>> {
        self.written.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The object as the loop last left it: the cache's copy, with the
    /// status last written (once, and only for a short while) if the cache
    /// does not show it yet.
    fn current(&self, obj: Arc<K>, key: &str) -> Arc<K> {
        let Some((at, w)) = self.written().remove(key) else {
            return obj;
        };
        if at.elapsed() > WRITTEN_FOR {
            return obj;
        }
        match with_written_status(obj.as_ref(), &w) {
            Some(fresher) => Arc::new(fresher),
            None => obj,
        }
    }

    fn remember(&self, key: String, written: Written) {
        let mut all = self.written();
        if all.len() >= 256 {
            all.retain(|_, (at, _)| at.elapsed() <= WRITTEN_FOR);
        }
        all.insert(key, (std::time::Instant::now(), written));
    }
}

/// Why a reconcile could not even be attempted (API errors around it).
#[derive(Debug, thiserror::Error)]
pub enum LoopError {
    /// The reconciler failed.
    #[error(transparent)]
    Reconcile(#[from] ReconcileError),
    /// Talking to the API server failed.
    #[error("kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    /// The finalizer helper failed.
    #[error("finalizer: {0}")]
    Finalizer(String),
}

/// What of an object should start a reconcile: its generation (spec), the
/// reconcile-request annotation, its finalizers and whether it is being
/// deleted; status and other metadata changes are left out.
pub fn reconcile_relevant<K: Kind>(obj: &K) -> Option<u64> {
    use std::hash::{Hash, Hasher};
    let meta = obj.meta();
    let mut h = std::collections::hash_map::DefaultHasher::new();
    meta.generation.hash(&mut h);
    obj.annotations()
        .get(RECONCILE_REQUEST_ANNOTATION)
        .hash(&mut h);
    meta.finalizers.hash(&mut h);
    meta.deletion_timestamp.is_some().hash(&mut h);
    Some(h.finish())
}

fn object_key<K: Kind>(obj: &K) -> String {
    format!("{}/{}", obj.namespace().unwrap_or_default(), obj.name_any())
}

/// Runs the loop for kind `K` until the stream of the watch ends (shutdown).
pub async fn run<K, R>(client: kube::Client, reconciler: R, config: LoopConfig)
where
    K: Kind,
    R: Reconciler<K>,
{
    run_with(client, reconciler, config, |c| c).await;
}

/// [`run`], with `configure` adding triggers to the controller before it
/// starts (e.g. `watches` on the kinds the objects refer to, mapped through
/// the controller's own cache of objects from `Controller::store`).
pub async fn run_with<K, R, F>(
    client: kube::Client,
    reconciler: R,
    config: LoopConfig,
    configure: F,
) where
    K: Kind,
    R: Reconciler<K>,
    F: FnOnce(Controller<K>) -> Controller<K>,
{
    let api: Api<K> = match &config.namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    };
    let mut wc = watcher::Config::default();
    if !config.label_selector.is_empty() {
        wc = wc.labels(&config.label_selector);
    }
    let concurrency = config.concurrency;
    let ctx = Arc::new(Context {
        client,
        reconciler,
        config,
        failures: Mutex::new(HashMap::new()),
        written: Mutex::new(HashMap::new()),
        _kind: std::marker::PhantomData,
    });
    // As Flux's controllers: react to spec changes, reconcile requests,
    // finalizer changes and deletion, never to the object's own status
    // writes (each of which would otherwise cost a second full reconcile).
    let (reader, writer) = kube::runtime::reflector::store();
    let triggers = watcher(api, wc)
        .default_backoff()
        // The cache keeps every object for the life of the process: without
        // managedFields' field sets (most of a parsed object, and nothing
        // reconciles from them; the entries stay for their apiVersions).
        .modify(drop_managed_field_sets::<K>)
        .reflect(writer)
        .applied_objects()
        .predicate_filter(reconcile_relevant::<K>, PredicateConfig::default());
    let controller = Controller::for_stream(triggers, reader)
        .with_config(kube::runtime::controller::Config::default().concurrency(concurrency));
    configure(controller)
        .shutdown_on_signal()
        .run(reconcile_one::<K, R>, error_policy::<K, R>, ctx)
        .for_each(|result| async move {
            if let Err(e) = result {
                tracing::debug!(error = %e, "reconcile loop");
            }
        })
        .await;
}

/// Clears the field sets (`fieldsV1`) of an object's managedFields entries,
/// keeping who wrote it through which apiVersion (what
/// [`crate::deprecation`] reads).
pub fn drop_managed_field_sets<K: Kind>(obj: &mut K) {
    for entry in obj.meta_mut().managed_fields.iter_mut().flatten() {
        entry.fields_v1 = None;
    }
}

async fn reconcile_one<K: Kind, R: Reconciler<K>>(
    obj: Arc<K>,
    ctx: Arc<Context<K, R>>,
) -> Result<Action, LoopError> {
    let ns = obj.namespace().unwrap_or_default();
    let api: Api<K> = Api::namespaced(ctx.client.clone(), &ns);
    let key = object_key(obj.as_ref());
    // The finalizer goes on in a pass of its own, whose watch event brings
    // the object back; a trigger that arrives before that event finds a
    // copy without it in the cache, which is not an error (see
    // `ensure_finalizer`).
    let Some(obj) = ensure_finalizer(&api, obj)
        .await
        .map_err(|e| LoopError::Finalizer(format!("adding the finalizer: {e}")))?
    else {
        return Ok(Action::await_change());
    };
    let result = finalizer(&api, FINALIZER, obj, |event| {
        let ctx = ctx.clone();
        let api = api.clone();
        async move {
            match event {
                FinalizerEvent::Apply(obj) => apply(&api, &ctx, obj).await,
                FinalizerEvent::Cleanup(obj) => {
                    let key = object_key(obj.as_ref());
                    ctx.written().remove(&key);
                    guarded(ctx.reconciler.cleanup(obj.as_ref()), &key).await??;
                    Ok(Action::await_change())
                }
            }
        }
    })
    .await;
    match result {
        Ok(action) => Ok(action),
        Err(
            kube::runtime::finalizer::Error::ApplyFailed(e)
            | kube::runtime::finalizer::Error::CleanupFailed(e),
        ) => {
            match e {
                LoopError::Reconcile(r) => {
                    // The status already says what failed; back off and retry.
                    // A retry interval comes from the spec and is bounded;
                    // the backoff is the operator's own setting.
                    let after = r
                        .retry_after
                        .map(bounded)
                        .unwrap_or_else(|| backoff(&ctx, &key));
                    tracing::info!(object = %key, error = %r.message, retry_in = ?after, "reconcile failed");
                    Ok(Action::requeue(after))
                }
                other => Err(other),
            }
        }
        Err(e) => Err(LoopError::Finalizer(e.to_string())),
    }
}

/// `obj` if it carries [`FINALIZER`] (or is being deleted): reconcile it.
/// Otherwise the finalizer is added and `None` returned: the watch event of
/// that write brings the object back for its reconcile. The patch tests the
/// finalizer list it extends, so a concurrent change to the list is never
/// lost; when the test fails because `obj` was a stale copy (a trigger
/// arrived before the watch delivered an earlier pass's finalizer), the
/// object is read again and, unless it has the finalizer by now, patched
/// against what was read.
pub async fn ensure_finalizer<K: Kind>(
    api: &Api<K>,
    obj: Arc<K>,
) -> Result<Option<Arc<K>>, kube::Error> {
    let name = obj.name_any();
    let has = |o: &K| {
        o.meta().deletion_timestamp.is_some() || o.finalizers().iter().any(|f| f == FINALIZER)
    };
    if has(&obj) {
        return Ok(Some(obj));
    }
    let mut current = obj;
    let mut attempts = 0;
    loop {
        let test = match current.meta().finalizers.as_deref() {
            None => Value::Null,
            Some(list) => serde_json::json!(list),
        };
        let ops = if current.finalizers().is_empty() {
            serde_json::json!([
                {"op": "test", "path": "/metadata/finalizers", "value": test},
                {"op": "add", "path": "/metadata/finalizers", "value": [FINALIZER]},
            ])
        } else {
            serde_json::json!([
                {"op": "test", "path": "/metadata/finalizers", "value": test},
                {"op": "add", "path": "/metadata/finalizers/-", "value": FINALIZER},
            ])
        };
        let patch: json_patch::Patch =
            serde_json::from_value(ops).map_err(kube::Error::SerdeError)?;
        match api
            .patch(&name, &PatchParams::default(), &Patch::Json::<()>(patch))
            .await
        {
            Ok(_) => return Ok(None),
            // A failed test is 422 (Kubernetes) and some servers answer a
            // conflict: read the object as it is now, a few times at most.
            Err(kube::Error::Api(e)) if (e.code == 422 || e.code == 409) && attempts < 3 => {
                attempts += 1;
                let fresh = api.get(&name).await?;
                if has(&fresh) {
                    // Added by an earlier pass; its event is on the way.
                    return Ok(None);
                }
                current = Arc::new(fresh);
            }
            Err(e) => return Err(e),
        }
    }
}

fn backoff<K: Kind, R: Reconciler<K>>(ctx: &Context<K, R>, key: &str) -> Duration {
    let mut failures = ctx.failures.lock().unwrap_or_else(|e| e.into_inner());
    let n = failures.entry(key.to_string()).or_insert(0);
    *n = n.saturating_add(1);
    crate::backoff::Backoff::new(ctx.config.backoff_base, ctx.config.backoff_max)
        .delay(n.saturating_sub(1))
}

async fn apply<K: Kind, R: Reconciler<K>>(
    api: &Api<K>,
    ctx: &Context<K, R>,
    obj: Arc<K>,
) -> Result<Action, LoopError> {
    let key = object_key(obj.as_ref());
    if obj.suspended() {
        tracing::debug!(object = %key, "reconciliation is suspended for this object");
        return Ok(Action::await_change());
    }
    let obj = ctx.current(obj, &key);
    // Written through a deprecated API version: warned about, and reconciled
    // with its deprecated fields folded into their replacements.
    let mut working = match crate::deprecation::storage_view(&ctx.client, obj.as_ref()).await {
        Ok(Some(converted)) => converted,
        Ok(None) => (*obj).clone(),
        Err(message) => return Err(LoopError::Reconcile(ReconcileError::new(message))),
    };
    let started = std::time::Instant::now();
    let in_flight = ctx.config.metrics.start_reconcile();
    let outcome = guarded(ctx.reconciler.reconcile(&mut working), &key).await;
    let outcome = match outcome {
        Ok(outcome) => outcome,
        Err(panicked) => {
            // `working` may be half-updated: start again from the object.
            working = (*obj).clone();
            let generation = obj.meta().generation;
            ferroflux_api::conditions::mark_failed(
                working.conditions_mut(),
                PANICKED,
                &panicked.message,
                generation,
                ferroflux_api::conditions::now(),
            );
            Err(panicked)
        }
    };
    drop(in_flight);
    let labels = crate::metrics::ObjectLabels {
        kind: K::kind(&()).to_string(),
        name: working.name_any(),
        namespace: working.namespace().unwrap_or_default(),
    };
    ctx.config
        .metrics
        .observe_reconcile(labels.clone(), started.elapsed());
    if let Some(ready) =
        ferroflux_api::conditions::get(working.conditions(), ferroflux_api::conditions::READY)
    {
        ctx.config
            .metrics
            .set_condition(&labels, ferroflux_api::conditions::READY, &ready.status);
    }
    // The object's generation and the reconcile request it answered are
    // recorded whether or not the reconcile succeeded, as Flux does.
    working.set_observed_generation(obj.meta().generation);
    if let Some(requested) = obj.annotations().get(RECONCILE_REQUEST_ANNOTATION) {
        working.set_last_handled_reconcile_at(Some(requested.clone()));
    }
    crate::interval::record_adjustment(&mut working, obj.meta().generation);
    if write_status_if_changed(api, obj.as_ref(), &working).await? {
        let w = Written {
            uid: working.meta().uid.clone(),
            status: status_value(&working),
        };
        ctx.remember(key.clone(), w);
    }
    let outcome = outcome?;
    ctx.failures
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(&key);
    Ok(match outcome {
        Outcome::Interval => match working.interval() {
            Some(interval) => {
                Action::requeue(bounded(jittered(bounded(interval), ctx.config.jitter)))
            }
            None => Action::await_change(),
        },
        Outcome::After(d) => Action::requeue(bounded(d)),
        Outcome::AwaitChange => Action::await_change(),
    })
}

/// Reason of the Ready=False condition an object gets when its reconcile
/// panicked.
pub const PANICKED: &str = "ReconcilePanicked";

/// Runs a reconcile or cleanup so that a panic in it (a bug, reachable from
/// some input) fails that object's reconcile instead of the whole process,
/// where it would crash-loop on the same object after every restart.
async fn guarded<T>(work: impl Future<Output = T>, key: &str) -> Result<T, ReconcileError> {
    use futures::FutureExt;
    std::panic::AssertUnwindSafe(work)
        .catch_unwind()
        .await
        .map_err(|payload| {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            // The panic text stays in the log (the default hook printed it
            // already); the status gets no text that came from the input.
            tracing::error!(object = %key, panic = %first_line(&what), "reconcile panicked");
            ReconcileError::new(
                "the controller hit an internal error (a panic) while reconciling this object; \
                 other objects are unaffected; see the controller log",
            )
        })
}

fn first_line(text: &str) -> String {
    text.lines()
        .next()
        .unwrap_or_default()
        .chars()
        .take(200)
        .collect()
}

/// `interval` moved by up to ±`fraction` of itself.
pub fn jittered(interval: Duration, fraction: f64) -> Duration {
    if fraction <= 0.0 {
        return interval;
    }
    let spread = interval.as_secs_f64() * fraction;
    let offset = (fastrand::f64() * 2.0 - 1.0) * spread;
    Duration::from_secs_f64((interval.as_secs_f64() + offset).max(0.0))
}

/// Writes `new`'s status when it differs from `old`'s, as a JSON patch of
/// exactly what changed (so concurrent writers of other fields are untouched
/// and a no-op reconcile writes nothing).
pub async fn write_status_if_changed<K: Kind>(
    api: &Api<K>,
    old: &K,
    new: &K,
) -> Result<bool, kube::Error> {
    let (before, after) = (status_value(old), status_value(new));
    if before == after {
        return Ok(false);
    }
    let ops: Vec<json_patch::PatchOperation> = if before.is_null() || !before.is_object() {
        vec![json_patch::PatchOperation::Add(json_patch::AddOperation {
            path: "/status".parse().unwrap_or_default(),
            value: after,
        })]
    } else {
        json_patch::diff(&before, &after)
            .0
            .into_iter()
            .filter_map(prefix_status)
            .collect()
    };
    let patch = json_patch::Patch(ops);
    api.patch_status(
        &old.name_any(),
        &PatchParams::default(),
        &Patch::Json::<()>(patch),
    )
    .await?;
    Ok(true)
}

fn prefix_status(op: json_patch::PatchOperation) -> Option<json_patch::PatchOperation> {
    use json_patch::PatchOperation as Op;
    let fix = |p: &jsonptr::PointerBuf| -> Option<jsonptr::PointerBuf> {
        format!("/status{}", p.as_str()).parse().ok()
    };
    Some(match op {
        Op::Add(mut o) => {
            o.path = fix(&o.path)?;
            Op::Add(o)
        }
        Op::Remove(mut o) => {
            o.path = fix(&o.path)?;
            Op::Remove(o)
        }
        Op::Replace(mut o) => {
            o.path = fix(&o.path)?;
            Op::Replace(o)
        }
        Op::Move(mut o) => {
            o.path = fix(&o.path)?;
            o.from = fix(&o.from)?;
            Op::Move(o)
        }
        Op::Copy(mut o) => {
            o.path = fix(&o.path)?;
            o.from = fix(&o.from)?;
            Op::Copy(o)
        }
        Op::Test(mut o) => {
            o.path = fix(&o.path)?;
            Op::Test(o)
        }
    })
}

fn error_policy<K: Kind, R: Reconciler<K>>(
    obj: Arc<K>,
    err: &LoopError,
    ctx: Arc<Context<K, R>>,
) -> Action {
    let key = object_key(obj.as_ref());
    let after = backoff(&ctx, &key);
    tracing::warn!(object = %key, error = %err, retry_in = ?after, "reconcile error");
    Action::requeue(after)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferroflux_api::source::v1::GitRepository;
    use serde_json::json;

    fn repo(uid: &str, status: Value) -> GitRepository {
        serde_json::from_value(json!({
            "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
            "metadata": {"name": "r", "namespace": "ns", "uid": uid},
            "spec": {"url": "https://example.com/r", "interval": "1m"},
            "status": status,
        }))
        .unwrap()
    }

    #[test]
    fn a_cache_behind_the_last_write_gets_the_written_status() {
        let written = Written {
            uid: Some("u1".into()),
            status: json!({"observedGeneration": 2}),
        };
        // Behind: the cache still has the status from before the write.
        let stale = repo("u1", json!({"observedGeneration": 1}));
        let fresher = with_written_status(&stale, &written).expect("overlaid");
        assert_eq!(status_value(&fresher), written.status);
        assert_eq!(fresher.metadata.name.as_deref(), Some("r"));
        // Caught up: nothing to do.
        let current = repo("u1", json!({"observedGeneration": 2}));
        assert!(with_written_status(&current, &written).is_none());
        // Another object of the same name: its own status holds.
        let recreated = repo("u2", json!({}));
        assert!(with_written_status(&recreated, &written).is_none());
    }

    /// The cached copy loses the field sets, not who wrote the object
    /// through which apiVersion (the deprecation warnings read that).
    #[test]
    fn the_cache_drops_field_sets_and_keeps_the_writers() {
        let mut obj: GitRepository = serde_json::from_value(json!({
            "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
            "metadata": {"name": "r", "namespace": "ns", "managedFields": [
                {"manager": "kubectl", "operation": "Apply",
                 "apiVersion": "source.toolkit.fluxcd.io/v1beta2", "fieldsType": "FieldsV1",
                 "fieldsV1": {"f:spec": {"f:url": {}, "f:interval": {}}}},
                {"manager": "source-controller", "operation": "Update", "subresource": "status",
                 "apiVersion": "source.toolkit.fluxcd.io/v1", "fieldsType": "FieldsV1",
                 "fieldsV1": {"f:status": {"f:artifact": {}}}}]},
            "spec": {"url": "https://example.com/r", "interval": "1m"}
        }))
        .unwrap();
        let before = obj.metadata.managed_fields.clone().unwrap();
        drop_managed_field_sets(&mut obj);
        let after = obj.metadata.managed_fields.as_deref().unwrap();
        assert_eq!(after.len(), 2);
        assert!(after.iter().all(|e| e.fields_v1.is_none()));
        for (a, b) in after.iter().zip(&before) {
            assert_eq!((&a.manager, &a.api_version), (&b.manager, &b.api_version));
            assert_eq!(a.subresource, b.subresource);
        }
        let written = ferroflux_api::deprecation::written_through(
            "source.toolkit.fluxcd.io",
            "GitRepository",
            after,
        );
        assert!(written.is_some(), "the v1beta2 write is still seen");
        // No managedFields stays none.
        let mut bare = repo("u", json!({}));
        drop_managed_field_sets(&mut bare);
        assert!(bare.metadata.managed_fields.is_none());
    }
}
