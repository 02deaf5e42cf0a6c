//! The Kustomization reconciler: source artifact → build → substitute →
//! staged apply (as the tenant) → prune → health → status and events.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use ferroflux_api::conditions::{self, ObjectWithConditions, reasons};
use ferroflux_api::event::Severity;
use ferroflux_api::kustomize::v1::Kustomization;
use ferroflux_runtime::artifact::{ArtifactClient, Limits};
use ferroflux_runtime::controller::{Outcome, ReconcileError, Reconciler};
use ferroflux_runtime::events::Recorder;
use ferroflux_runtime::verdict::{self, Announcement, Retry, Step, Verdict};
use ferroflux_ssa::health::Status as HealthStatus;
use ferroflux_ssa::{
    Action, ApplyOptions, ChangeSet, DeleteOptions, HealthWatcher, Inventory, Manager, ObjMeta,
    SsaError,
};
use kube::ResourceExt;
use kube::runtime::reflector::ObjectRef;
use serde_json::Value;

use crate::decryption::Decryptor;
use crate::source::{self, SourceError};
use ferroflux_ssa::clients::{ClientError, Clients, Target};

/// The reason of a Kustomization whose SOPS decryption failed (Flux's).
pub const DECRYPTION_FAILED: &str = "DecryptionFailed";

/// The field manager of every apply, as Flux's.
pub const FIELD_MANAGER: &str = "kustomize-controller";
/// Label naming the Kustomization that applied an object.
pub const NAME_LABEL: &str = "kustomize.toolkit.fluxcd.io/name";
/// Label naming that Kustomization's namespace.
pub const NAMESPACE_LABEL: &str = "kustomize.toolkit.fluxcd.io/namespace";

/// How the reconciler behaves (from flags).
#[derive(Debug, Clone)]
pub struct Options {
    /// Refuse `sourceRef`/`dependsOn` in other namespaces.
    pub no_cross_namespace_refs: bool,
    /// How long to wait before checking dependencies again.
    pub requeue_dependency: Duration,
    /// Requests in flight at once while applying one Kustomization.
    pub apply_concurrency: usize,
    /// How often readiness is polled during health checks when no watch
    /// tells (a remote cluster, a watch still starting or failing).
    pub health_poll: Duration,
    /// How often readiness is looked at while the watches of the objects'
    /// kinds are running: a safety net only, events end the wait.
    pub health_safety_poll: Duration,
    /// Limits on extracted artifacts.
    pub limits: Limits,
    /// Where artifacts are unpacked (a fresh temporary directory each time).
    pub work_dir: Option<PathBuf>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            no_cross_namespace_refs: false,
            requeue_dependency: Duration::from_secs(30),
            apply_concurrency: 16,
            health_poll: Duration::from_secs(2),
            health_safety_poll: Duration::from_secs(60),
            limits: Limits::default(),
            work_dir: None,
        }
    }
}

/// Wakes Kustomizations waiting for health when an object they wait for
/// changes status (one watch per kind, shared by all).
pub type HealthWakeups = HealthWatcher<ObjectRef<Kustomization>>;

/// Reconciles Kustomizations.
pub struct KustomizationReconciler {
    clients: Clients,
    artifacts: ArtifactClient,
    recorder: Recorder,
    options: Options,
    health: Option<HealthWakeups>,
    /// Health waits in progress: a Kustomization whose objects are applied
    /// but not ready yet gives its worker back and is judged again when an
    /// object changes (or at the safety poll, or the deadline). Lost on a
    /// restart, which only costs one full reconcile.
    parked: Mutex<HashMap<ObjectRef<Kustomization>, Parked>>,
}

/// A health wait in progress.
#[derive(Debug, Clone)]
struct Parked {
    uid: Option<String>,
    generation: Option<i64>,
    requested_at: Option<String>,
    /// The revision applied.
    revision: String,
    /// The objects not ready yet.
    pending: Vec<ObjMeta>,
    /// When the reconcile that applied started.
    started: Instant,
    /// When the health checks started.
    health_started: Instant,
    /// When `spec.timeout` runs out.
    deadline: Instant,
    /// Publish "Reconciliation finished" when ready.
    announce: bool,
    /// The applied objects are on the controller's own cluster, so the
    /// shared watches see them (not through a kubeConfig).
    local: bool,
}

/// What the health checks found.
enum Judged {
    Healthy,
    Failed(SsaError),
    Pending(Vec<ObjMeta>, SsaError),
}

/// Judges `checks` with `manager`'s identity, as kstatus would.
async fn judge(manager: &Manager, checks: &[ObjMeta]) -> Result<Judged, SsaError> {
    let health = manager.health_of(checks).await?;
    let failed: Vec<String> = checks
        .iter()
        .zip(&health)
        .filter(|(_, h)| h.status == HealthStatus::Failed)
        .map(|(o, h)| format!("{o} status: 'Failed': {}", h.message))
        .collect();
    if !failed.is_empty() {
        return Ok(Judged::Failed(SsaError::Unhealthy(failed.join("; "))));
    }
    let (pending, shown): (Vec<ObjMeta>, Vec<String>) = checks
        .iter()
        .zip(&health)
        .filter(|(_, h)| h.status != HealthStatus::Current)
        .map(|(o, h)| (o.clone(), format!("{o} status: '{:?}'", h.status)))
        .unzip();
    if pending.is_empty() {
        Ok(Judged::Healthy)
    } else {
        Ok(Judged::Pending(
            pending,
            SsaError::Timeout(shown.join(", ")),
        ))
    }
}

/// A failure at `revision` (when the reconcile got that far), retried
/// after `spec.retryInterval` (set in [`KustomizationReconciler::conclude`]).
fn failed(reason: &str, message: impl Into<String>, revision: Option<String>) -> Verdict {
    Verdict::failed(reason, message).at_revision(revision)
}

/// No client for the target: stalled when it cannot heal by itself.
fn client_failure(e: ClientError, revision: Option<String>) -> Verdict {
    if !e.is_permanent() {
        return failed(reasons::RECONCILIATION_FAILED, e.to_string(), revision);
    }
    let refused = matches!(e, ClientError::Refused { .. });
    let verdict =
        Verdict::stalled(reasons::RECONCILIATION_FAILED, e.to_string()).at_revision(revision);
    if refused {
        // A kubeconfig Secret can be fixed without touching the spec: look
        // again at the interval instead of waiting for the object to change.
        verdict.retry(Retry::Interval)
    } else {
        verdict
    }
}

/// An event's metadata: the revision, when there is one.
fn revision_metadata(revision: Option<&str>) -> BTreeMap<String, String> {
    revision
        .filter(|r| !r.is_empty())
        .map(|r| BTreeMap::from([("revision".to_string(), r.to_string())]))
        .unwrap_or_default()
}

/// The `reconcile.fluxcd.io/requestedAt` annotation.
fn requested_at(obj: &Kustomization) -> Option<String> {
    obj.annotations()
        .get(ferroflux_api::meta::RECONCILE_REQUEST_ANNOTATION)
        .cloned()
}

/// Ready at `revision`, announcing "Reconciliation finished" when asked.
fn ready_verdict(obj: &Kustomization, revision: &str, started: Instant, announce: bool) -> Verdict {
    let msg = format!("Applied revision: {revision}");
    let verdict = Verdict::ready(reasons::RECONCILIATION_SUCCEEDED, msg);
    if !announce {
        return verdict;
    }
    let took = human(started.elapsed());
    let next = obj.spec.interval.as_std();
    verdict.announce(Announcement {
        reason: reasons::RECONCILIATION_SUCCEEDED.to_string(),
        message: format!(
            "Reconciliation finished in {took}, next run in {}",
            human(next)
        ),
        metadata: revision_metadata(Some(revision)),
    })
}

fn human(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        format!("{ms}ms")
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

impl KustomizationReconciler {
    /// A reconciler using `clients` for the cluster, `artifacts` to download
    /// sources and `recorder` for events.
    pub fn new(
        clients: Clients,
        artifacts: ArtifactClient,
        recorder: Recorder,
        options: Options,
    ) -> Self {
        Self {
            clients,
            artifacts,
            recorder,
            options,
            health: None,
            parked: Mutex::new(HashMap::new()),
        }
    }

    /// Ends health waits on events from `health` instead of polling; the
    /// caller feeds `health`'s wake-ups to the reconcile loop.
    pub fn with_health_watcher(mut self, health: HealthWakeups) -> Self {
        self.health = Some(health);
        self
    }

    fn parked(&self) -> MutexGuard<'_, HashMap<ObjectRef<Kustomization>, Parked>> {
        self.parked.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn unpark(&self, key: &ObjectRef<Kustomization>) {
        self.parked().remove(key);
        if let Some(h) = &self.health {
            h.forget(key);
        }
    }

    async fn event(
        &self,
        obj: &Kustomization,
        severity: Severity,
        message: &str,
        revision: Option<&str>,
    ) {
        let reason = conditions::get(obj.conditions(), conditions::READY)
            .map(|c| c.reason.clone())
            .unwrap_or_else(|| format!("{severity:?}"));
        self.recorder
            .publish(obj, severity, &reason, message, revision_metadata(revision))
            .await;
    }

    /// Records how the reconcile ended (conditions, the revision a failure
    /// happened at, its event) and says when to run again. A failure that
    /// can heal is retried after `spec.retryInterval`.
    async fn conclude(
        &self,
        obj: &mut Kustomization,
        mut verdict: Verdict,
    ) -> Result<Outcome, ReconcileError> {
        let retry_interval = obj.spec.retry_interval();
        if let Some(f) = verdict.failure_mut() {
            if let Some(r) = &f.revision {
                obj.status
                    .get_or_insert_with(Default::default)
                    .last_attempted_revision = Some(r.clone());
            }
            if !f.stalled {
                f.retry = Retry::After(retry_interval);
            }
        }
        verdict::conclude(obj, verdict, &self.recorder).await
    }

    async fn run(
        &self,
        obj: &mut Kustomization,
        started: Instant,
    ) -> Result<Outcome, ReconcileError> {
        let verdict = match self.resume(obj).await {
            Some(v) => v,
            None => self.steps(obj, started).await.unwrap_or_else(|v| v),
        };
        self.conclude(obj, verdict).await
    }

    /// Goes on with a health wait parked at the same generation, request
    /// and source revision: only judges health again (no build, no apply).
    /// `None` when there is none, and a full reconcile is due.
    async fn resume(&self, obj: &mut Kustomization) -> Option<Verdict> {
        let key = ObjectRef::from_obj(&*obj);
        let parked = self.parked().get(&key).cloned()?;
        let same = parked.uid == obj.metadata.uid
            && parked.generation == obj.metadata.generation
            && parked.requested_at == requested_at(obj);
        let revision = match source::artifact(&self.clients.local().client, obj).await {
            Ok(a) => Some(a.revision),
            Err(_) => None,
        };
        if !same || revision.as_deref() != Some(parked.revision.as_str()) {
            self.unpark(&key);
            return None;
        }
        let Ok(target) = for_kustomization(&self.clients, obj).await else {
            self.unpark(&key);
            return None;
        };
        let manager = Manager::new(target.client, target.resolver, FIELD_MANAGER)
            .with_health_exprs(health_exprs(obj).ok()?);
        Some(
            self.wait_health(obj, &manager, parked)
                .await
                .unwrap_or_else(|v| v),
        )
    }

    /// Refuses references to other namespaces when the flag says so.
    fn check_references(&self, obj: &Kustomization) -> Step<()> {
        if !self.options.no_cross_namespace_refs {
            return Ok(());
        }
        let ns = obj.namespace().unwrap_or_default();
        if source::source_namespace(obj) != ns {
            let msg = format!(
                "cannot access {}, cross-namespace references have been disabled",
                source::source_display(obj)
            );
            return Err(Verdict::stalled(reasons::ACCESS_DENIED, msg));
        }
        if let Some(d) = obj.spec.depends_on.iter().find(|d| {
            d.namespace
                .as_deref()
                .is_some_and(|n| !n.is_empty() && n != ns)
        }) {
            let msg = format!(
                "cannot access dependency {}/{}, cross-namespace references have been disabled",
                d.namespace.as_deref().unwrap_or_default(),
                d.name
            );
            return Err(Verdict::stalled(reasons::ACCESS_DENIED, msg));
        }
        Ok(())
    }

    /// Downloads the artifact and builds it into the objects to apply.
    async fn build(&self, obj: &Kustomization, artifact: &source::Artifact) -> Step<Vec<Value>> {
        let revision = Some(artifact.revision.clone());
        // Unpacked into a private directory, removed on return.
        let work = match &self.options.work_dir {
            Some(dir) => tempfile::tempdir_in(dir),
            None => tempfile::tempdir(),
        }
        .map_err(|e| {
            failed(
                reasons::ARTIFACT_FAILED,
                format!("creating a work directory: {e}"),
                revision.clone(),
            )
        })?;
        let root = work.path().join("source");
        self.artifacts
            .fetch_and_extract(&artifact.url, &artifact.digest, &root, &self.options.limits)
            .await
            .map_err(|e| {
                let msg = format!("failed to download artifact from {}: {e}", artifact.url);
                failed(reasons::ARTIFACT_FAILED, msg, revision.clone())
            })?;
        // substituteFrom is read with the controller's own identity on its
        // own cluster, as Flux (the tenant only needs rights to apply).
        let vars = crate::vars::gather(&self.clients.local().client, obj)
            .await
            .map_err(|msg| failed(reasons::BUILD_FAILED, msg, revision.clone()))?;
        // The decryption Secret is read with the controller's own identity, as Flux.
        let decryptor = Decryptor::for_kustomization(&self.clients.local().client, obj)
            .await
            .map_err(|e| failed(DECRYPTION_FAILED, e.to_string(), revision.clone()))?;
        let spec = obj.spec.clone();
        let built = tokio::task::spawn_blocking(move || {
            crate::render::render(&root, &spec, &vars, decryptor.as_ref())
        })
        .await
        .map_err(|e| {
            failed(
                reasons::BUILD_FAILED,
                format!("build task: {e}"),
                revision.clone(),
            )
        })?;
        let mut objects = built.map_err(|e| {
            let reason = if e.is_decryption() {
                DECRYPTION_FAILED
            } else {
                reasons::BUILD_FAILED
            };
            failed(reason, e.to_string(), revision.clone())
        })?;
        let name = obj.name_any();
        let ns = obj.namespace().unwrap_or_default();
        for o in &mut objects {
            set_owner_labels(o, &name, &ns);
        }
        Ok(objects)
    }

    async fn steps(&self, obj: &mut Kustomization, started: Instant) -> Step<Verdict> {
        self.check_references(obj)?;
        let exprs = health_exprs(obj)?;
        let ns = obj.namespace().unwrap_or_default();
        let name = obj.name_any();
        let local = self.clients.local().client.clone();
        let artifact = match source::artifact(&local, obj).await {
            Ok(a) => a,
            // Not published yet: a wait, not a failure. The source watch
            // (`watches::watch_sources`) wakes the object when the artifact
            // appears; `retryInterval` is only the safety net.
            Err(e @ SourceError::NotReady(_)) => {
                return Err(Verdict::progressing(
                    reasons::PROGRESSING,
                    format!("waiting for source: {e}"),
                    obj.spec.retry_interval(),
                ));
            }
            Err(e @ SourceError::NotFound(_)) => {
                return Err(Verdict::waiting(
                    reasons::ARTIFACT_FAILED,
                    e.to_string(),
                    obj.spec.retry_interval(),
                ));
            }
            Err(e) => return Err(failed(reasons::ARTIFACT_FAILED, e.to_string(), None)),
        };
        let revision = artifact.revision.clone();
        let at = || Some(revision.clone());

        if !obj.spec.depends_on.is_empty()
            && let Err(msg) = crate::dependencies::check(&local, obj, &revision).await
        {
            tracing::info!(kustomization = %format!("{ns}/{name}"), reason = %msg, "dependencies not ready");
            return Err(Verdict::waiting(
                reasons::DEPENDENCY_NOT_READY,
                msg,
                self.options.requeue_dependency,
            ));
        }

        let target = for_kustomization(&self.clients, obj)
            .await
            .map_err(|e| client_failure(e, at()))?;
        let objects = self.build(obj, &artifact).await?;

        let manager = Manager::new(
            target.client.clone(),
            target.resolver.clone(),
            FIELD_MANAGER,
        )
        .with_health_exprs(exprs);
        let apply_opts = ApplyOptions {
            force: obj.spec.force,
            concurrency: self.options.apply_concurrency,
            wait_interval: self.options.health_poll,
            wait_timeout: obj.spec.timeout(),
        };
        let mut changes = manager
            .apply_all_staged(objects, &apply_opts)
            .await
            .map_err(|e| failed(reasons::RECONCILIATION_FAILED, e.to_string(), at()))?;
        let new_inventory = Inventory::from_change_set(&changes);
        let old_inventory =
            Inventory::from_status(obj.status.as_ref().and_then(|s| s.inventory.as_ref()));
        {
            let status = obj.status.get_or_insert_with(Default::default);
            status.inventory = Some(new_inventory.to_status());
            status.last_attempted_revision = Some(revision.clone());
        }
        if obj.spec.prune {
            let stale = old_inventory.stale(&new_inventory);
            if !stale.is_empty() {
                let pruned = manager
                    .delete_all(
                        &stale,
                        &delete_options(&name, &ns, self.options.apply_concurrency),
                    )
                    .await;
                match pruned {
                    Ok(cs) => changes.extend(cs),
                    Err(e) => {
                        // What failed to go stays in the inventory for the next try.
                        let mut kept = new_inventory.clone();
                        kept.objects.extend(stale);
                        obj.status.get_or_insert_with(Default::default).inventory =
                            Some(kept.to_status());
                        return Err(failed(reasons::PRUNE_FAILED, e.to_string(), at()));
                    }
                }
            }
        }
        let previous_applied = obj
            .status
            .as_ref()
            .and_then(|s| s.last_applied_revision.clone());
        {
            let status = obj.status.get_or_insert_with(Default::default);
            status.last_applied_revision = Some(revision.clone());
            status.last_applied_origin_revision = artifact.origin_revision.clone();
        }
        tracing::info!(
            kustomization = %format!("{ns}/{name}"),
            revision = %revision,
            created = changes.count(Action::Created),
            configured = changes.count(Action::Configured),
            unchanged = changes.count(Action::Unchanged),
            deleted = changes.count(Action::Deleted),
            skipped = changes.count(Action::Skipped),
            "server-side apply completed"
        );
        if changes.has_changes() {
            // Applied and pruned objects, as Flux reports them.
            self.event_changes(obj, &changes, &revision).await;
        }

        let was_ready = conditions::is_true(obj.conditions(), conditions::READY);
        let announce = !was_ready || previous_applied.as_deref() != Some(revision.as_str());
        let checks = self.health_checks(obj, &new_inventory);
        if checks.is_empty() {
            conditions::remove(obj.conditions_mut(), conditions::HEALTHY);
            return Ok(ready_verdict(obj, &revision, started, announce));
        }
        let parked = Parked {
            uid: obj.metadata.uid.clone(),
            generation: obj.metadata.generation,
            requested_at: requested_at(obj),
            revision: revision.clone(),
            pending: checks,
            started,
            health_started: Instant::now(),
            deadline: started + obj.spec.timeout(),
            announce,
            local: obj.spec.kube_config.is_none(),
        };
        self.wait_health(obj, &manager, parked).await
    }

    /// What the health checks look at: every applied object with `wait`,
    /// else the listed `healthChecks`.
    fn health_checks(&self, obj: &Kustomization, inventory: &Inventory) -> Vec<ObjMeta> {
        let ns = obj.namespace().unwrap_or_default();
        if obj.spec.wait {
            inventory.objects.clone()
        } else {
            obj.spec
                .health_checks
                .iter()
                .map(|h| health_target(h, &ns))
                .collect()
        }
    }

    /// Judges the objects of a health wait: ready (the `Healthy`
    /// condition and the ready verdict), failed, timed out, or not yet:
    /// then the wait is parked and the worker given back, and a watch
    /// event on one of the objects (or the safety poll, or the deadline)
    /// brings the Kustomization back to [`Self::resume`].
    async fn wait_health(
        &self,
        obj: &mut Kustomization,
        manager: &Manager,
        mut parked: Parked,
    ) -> Step<Verdict> {
        let key = ObjectRef::from_obj(&*obj);
        let revision = parked.revision.clone();
        let at = || Some(revision.clone());
        let generation = obj.metadata.generation;
        let judging = |e: SsaError| {
            failed(
                reasons::HEALTH_CHECK_FAILED,
                format!("health check failed: {e}"),
                at(),
            )
        };
        let mut judged = judge(manager, &parked.pending).await.map_err(judging)?;
        let mut watched = false;
        if let (Judged::Pending(pending, _), Some(health), true) =
            (&judged, &self.health, parked.local)
        {
            // Watch first, then look again: a change in between is seen
            // by one or the other.
            match health.watch(key.clone(), pending).await {
                Ok(w) => watched = w,
                Err(e) => tracing::debug!(error = %e, "health watch not started"),
            }
            let pending = pending.clone();
            judged = judge(manager, &pending).await.map_err(judging)?;
        }
        let took = human(parked.health_started.elapsed());
        let (healthy, message) = match judged {
            Judged::Healthy => (true, format!("Health check passed in {took}")),
            Judged::Failed(e) => (false, format!("health check failed after {took}: {e}")),
            Judged::Pending(_, e) if Instant::now() >= parked.deadline => {
                (false, format!("health check failed after {took}: {e}"))
            }
            Judged::Pending(pending, _) => {
                parked.pending = pending;
                let now = Instant::now();
                let poll = if watched {
                    self.options.health_safety_poll
                } else {
                    self.options.health_poll
                };
                let after = poll.min(parked.deadline.saturating_duration_since(now));
                // Go's duration text ("5m0s"), as Flux writes it.
                let message = format!(
                    "Running health checks for revision {revision} with a timeout of {}",
                    ferroflux_api::duration::Duration::from_std(obj.spec.timeout())
                );
                conditions::set(
                    obj.conditions_mut(),
                    conditions::HEALTHY,
                    conditions::Status::Unknown,
                    reasons::PROGRESSING,
                    &message,
                    generation,
                    conditions::now(),
                );
                self.parked().insert(key, parked);
                return Ok(Verdict::progressing(reasons::PROGRESSING, message, after));
            }
        };
        self.unpark(&key);
        let reason = if healthy {
            reasons::SUCCEEDED
        } else {
            reasons::HEALTH_CHECK_FAILED
        };
        conditions::set(
            obj.conditions_mut(),
            conditions::HEALTHY,
            healthy,
            reason,
            &message,
            generation,
            conditions::now(),
        );
        if !healthy {
            return Err(failed(reasons::HEALTH_CHECK_FAILED, message, at()));
        }
        Ok(ready_verdict(
            obj,
            &revision,
            parked.started,
            parked.announce,
        ))
    }

    /// Records that the objects of a deleted Kustomization were left in
    /// place because they could not be reached.
    async fn skip_prune(&self, obj: &Kustomization, inventory: &Inventory, why: &str) {
        let ns = obj.namespace().unwrap_or_default();
        let name = obj.name_any();
        let msg = format!(
            "unable to prune {} objects on deletion, they are left in place: {why}",
            inventory.objects.len()
        );
        tracing::error!(kustomization = %format!("{ns}/{name}"), reason = %why, "skipping prune on deletion");
        let revision = obj
            .status
            .as_ref()
            .and_then(|s| s.last_applied_revision.clone());
        self.event(obj, Severity::Error, &msg, revision.as_deref())
            .await;
    }

    async fn event_changes(&self, obj: &Kustomization, changes: &ChangeSet, revision: &str) {
        let mut metadata = BTreeMap::new();
        metadata.insert("revision".to_string(), revision.to_string());
        self.recorder
            .publish(
                obj,
                Severity::Info,
                "Progressing",
                &changes.changes_summary(),
                metadata,
            )
            .await;
    }
}

/// `spec.healthCheckExprs`, checked: an invalid expression stalls the
/// Kustomization before anything is applied (Flux's `InvalidCELExpression`).
fn health_exprs(obj: &Kustomization) -> Step<std::sync::Arc<ferroflux_ssa::cel::HealthExprs>> {
    ferroflux_ssa::cel::HealthExprs::new(&obj.spec.health_check_exprs)
        .map(std::sync::Arc::new)
        .map_err(|e| Verdict::stalled(reasons::INVALID_CEL_EXPRESSION, e))
}

/// The target `ks` is applied to, as its service account.
async fn for_kustomization(clients: &Clients, ks: &Kustomization) -> Result<Target, ClientError> {
    let ns = ks.namespace().unwrap_or_default();
    clients
        .for_object(
            &ns,
            ks.spec.service_account_name.as_deref(),
            ks.spec.kube_config.as_ref(),
        )
        .await
}

/// Can the cluster behind `client` be reached at all? (Its version, with a
/// short timeout; any answer from the server counts.)
async fn reachable(client: &kube::Client) -> Result<(), String> {
    match tokio::time::timeout(Duration::from_secs(15), client.apiserver_version()).await {
        Ok(Ok(_)) | Ok(Err(kube::Error::Api(_))) => Ok(()),
        Ok(Err(e)) => Err(format!("the cluster cannot be reached: {e}")),
        Err(_) => Err("the cluster cannot be reached: no answer in 15s".into()),
    }
}

fn delete_options(name: &str, ns: &str, concurrency: usize) -> DeleteOptions {
    DeleteOptions {
        owner_labels: BTreeMap::from([
            (NAME_LABEL.to_string(), name.to_string()),
            (NAMESPACE_LABEL.to_string(), ns.to_string()),
        ]),
        concurrency,
    }
}

fn health_target(h: &ferroflux_api::meta::NamespacedObjectKindReference, own_ns: &str) -> ObjMeta {
    let (group, version) =
        ferroflux_ssa::split_api_version(h.api_version.as_deref().unwrap_or("v1"));
    ObjMeta {
        group: group.to_string(),
        kind: h.kind.clone(),
        namespace: h.namespace.clone().unwrap_or_else(|| own_ns.to_string()),
        name: h.name.clone(),
        version: version.to_string(),
    }
}

/// Labels every applied object with the Kustomization that owns it, so
/// prune never deletes what another Kustomization has taken over.
fn set_owner_labels(obj: &mut Value, name: &str, ns: &str) {
    let Some(o) = obj.as_object_mut() else { return };
    let meta = o
        .entry("metadata")
        .or_insert_with(|| Value::Object(Default::default()));
    let Some(meta) = meta.as_object_mut() else {
        return;
    };
    let labels = meta
        .entry("labels")
        .or_insert_with(|| Value::Object(Default::default()));
    if !labels.is_object() {
        *labels = Value::Object(Default::default());
    }
    if let Some(l) = labels.as_object_mut() {
        l.insert(NAME_LABEL.into(), Value::String(name.into()));
        l.insert(NAMESPACE_LABEL.into(), Value::String(ns.into()));
    }
}

impl Reconciler<Kustomization> for KustomizationReconciler {
    async fn reconcile(&self, obj: &mut Kustomization) -> Result<Outcome, ReconcileError> {
        let started = Instant::now();
        let timeout = obj.spec.timeout();
        let mut working = obj.clone();
        // The health wait inside gets what is left of `timeout` and reports
        // what it waited for; the grace lets that message win over this one.
        let limit = timeout.saturating_add(Duration::from_secs(5));
        match tokio::time::timeout(limit, self.run(&mut working, started)).await {
            Ok(result) => {
                *obj = working;
                result
            }
            Err(_) => {
                // The inner run may have set partial status; keep the old one
                // and say why it stopped.
                let msg = format!("reconciliation timed out after {}", human(timeout));
                self.conclude(obj, Verdict::failed(reasons::RECONCILIATION_FAILED, msg))
                    .await
            }
        }
    }

    async fn cleanup(&self, obj: &Kustomization) -> Result<(), ReconcileError> {
        use ferroflux_api::kustomize::v1::DeletionPolicy;
        self.unpark(&ObjectRef::from_obj(obj));
        let prune = match obj.spec.deletion_policy() {
            DeletionPolicy::MirrorPrune => obj.spec.prune,
            DeletionPolicy::Delete | DeletionPolicy::WaitForTermination => true,
            DeletionPolicy::Orphan => false,
        };
        if !prune || obj.spec.suspend {
            return Ok(());
        }
        let inventory =
            Inventory::from_status(obj.status.as_ref().and_then(|s| s.inventory.as_ref()));
        if inventory.is_empty() {
            return Ok(());
        }
        // As Flux: when the objects cannot be reached (the kubeconfig is
        // unusable, the remote cluster is gone), say so and let the
        // finalizer go rather than keep the Kustomization forever.
        let target = match for_kustomization(&self.clients, obj).await {
            Ok(t) => t,
            Err(e) if obj.spec.kube_config.is_some() || e.is_permanent() => {
                self.skip_prune(obj, &inventory, &e.to_string()).await;
                return Ok(());
            }
            Err(e) => return Err(ReconcileError::new(e.to_string())),
        };
        if obj.spec.kube_config.is_some()
            && let Err(e) = reachable(&target.client).await
        {
            self.skip_prune(obj, &inventory, &e).await;
            return Ok(());
        }
        let manager = Manager::new(target.client, target.resolver, FIELD_MANAGER);
        let ns = obj.namespace().unwrap_or_default();
        let cs = manager
            .delete_all(
                &inventory.objects,
                &delete_options(&obj.name_any(), &ns, self.options.apply_concurrency),
            )
            .await
            .map_err(|e| ReconcileError::new(format!("pruning on deletion: {e}")))?;
        if cs.has_changes() {
            self.event_changes(
                obj,
                &cs,
                obj.status
                    .as_ref()
                    .and_then(|s| s.last_applied_revision.as_deref())
                    .unwrap_or_default(),
            )
            .await;
        }
        Ok(())
    }
}
