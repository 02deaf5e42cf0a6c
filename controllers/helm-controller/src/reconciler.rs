//! The HelmRelease reconciler: chart and values → the release's state in
//! storage → the next Helm action (install, upgrade, test, rollback or
//! uninstall remediation, unlock, drift correction), repeated until the
//! release is in sync or must wait, then one summary in `Ready` (Flux's
//! "atomic release").

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferroflux_api::conditions::{self, ObjectWithConditions, Status as CondStatus, reasons};
use ferroflux_api::event::Severity;
use ferroflux_api::helm::v2::{
    DriftDetectionMode, HelmRelease, HelmReleaseStatus, ReleaseAction, RemediationStrategy,
    ResourceInventory, ResourceRef,
};
use ferroflux_api::meta::{
    FORCE_REQUEST_ANNOTATION, RECONCILE_REQUEST_ANNOTATION, RESET_REQUEST_ANNOTATION,
};
use ferroflux_helm::chart::LoadLimits;
use ferroflux_helm::release::{History, Record, Status};
use ferroflux_runtime::artifact::ArtifactClient;
use ferroflux_runtime::controller::{Outcome, ReconcileError, Reconciler};
use ferroflux_runtime::events::Recorder;
use ferroflux_runtime::verdict::{self, Retry, Step, Verdict};
use ferroflux_ssa::clients::{ClientError, Clients, Target};
use ferroflux_ssa::{Action, ApplyOptions, Manager, ObjMeta};
use kube::ResourceExt;
use serde_json::Value;
use tokio::sync::Mutex as AsyncMutex;

use crate::actions::{Failed, Release};
use crate::chart::{self, ChartError, LoadedChart, RELEASE_FIELD_MANAGER};
use crate::render::{self, Capabilities};
use crate::snapshot;
use crate::state::{self, State};
use crate::storage::Storage;
use crate::values;
use crate::waits::{CANCELLED, Cancels, Waits};

/// Condition types and reasons of HelmReleases (Flux's).
pub mod helm_reasons {
    /// `Drifted` condition.
    pub const DRIFTED: &str = "Drifted";
    /// Install succeeded.
    pub const INSTALL_SUCCEEDED: &str = "InstallSucceeded";
    /// Install failed.
    pub const INSTALL_FAILED: &str = "InstallFailed";
    /// Upgrade succeeded.
    pub const UPGRADE_SUCCEEDED: &str = "UpgradeSucceeded";
    /// Upgrade failed.
    pub const UPGRADE_FAILED: &str = "UpgradeFailed";
    /// Tests passed.
    pub const TEST_SUCCEEDED: &str = "TestSucceeded";
    /// Tests failed.
    pub const TEST_FAILED: &str = "TestFailed";
    /// Rollback succeeded.
    pub const ROLLBACK_SUCCEEDED: &str = "RollbackSucceeded";
    /// Rollback failed.
    pub const ROLLBACK_FAILED: &str = "RollbackFailed";
    /// Uninstall succeeded.
    pub const UNINSTALL_SUCCEEDED: &str = "UninstallSucceeded";
    /// Uninstall failed.
    pub const UNINSTALL_FAILED: &str = "UninstallFailed";
    /// Retries used up.
    pub const RETRIES_EXCEEDED: &str = "RetriesExceeded";
    /// No revision to roll back to.
    pub const MISSING_ROLLBACK_TARGET: &str = "MissingRollbackTarget";
    /// The cluster differs from the release.
    pub const DRIFT_DETECTED: &str = "DriftDetected";
    /// The cluster matches the release.
    pub const NO_DRIFT_DETECTED: &str = "NoDriftDetected";
    /// The values could not be composed.
    pub const VALUES_ERROR: &str = "ValuesError";
    /// The release storage could not be read.
    pub const GET_LAST_RELEASE_FAILED: &str = "GetLastReleaseFailed";
    /// A pending release was unlocked.
    pub const PENDING_RELEASE: &str = "PendingRelease";
    /// The chart could not be rendered.
    pub const RENDER_FAILED: &str = "RenderFailed";
}
use helm_reasons as hr_reasons;

/// How the reconciler behaves (from flags).
#[derive(Debug, Clone)]
pub struct Options {
    /// Refuse chart and dependency references to other namespaces.
    pub no_cross_namespace_refs: bool,
    /// How long to wait before looking at dependencies or a source again.
    pub requeue_dependency: Duration,
    /// Drift detection of releases that do not set `spec.driftDetection.mode`.
    pub default_drift_mode: DriftDetectionMode,
    /// Requests in flight at once while applying one release.
    pub apply_concurrency: usize,
    /// Limits on chart archives.
    pub chart_limits: LoadLimits,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            no_cross_namespace_refs: false,
            requeue_dependency: Duration::from_secs(30),
            default_drift_mode: DriftDetectionMode::Disabled,
            apply_concurrency: 16,
            chart_limits: LoadLimits::default(),
        }
    }
}

/// Reconciles HelmReleases.
pub struct HelmReleaseReconciler {
    clients: Clients,
    artifacts: ArtifactClient,
    recorder: Recorder,
    options: Options,
    waits: Waits,
    cancels: Cancels,
    gate: crate::gate::Gate,
    capabilities: AsyncMutex<Option<(Instant, Arc<Capabilities>)>>,
}

/// What runs next.
#[derive(Debug, Clone)]
enum Next {
    Install,
    Upgrade,
    Test,
    Rollback(i64),
    UninstallRemediation,
    Unlock,
    CorrectDrift(Vec<Value>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Release,
    Test,
    Remediate,
    Unlock,
    Drift,
}

impl Next {
    fn kind(&self) -> Kind {
        match self {
            Next::Install | Next::Upgrade => Kind::Release,
            Next::Test => Kind::Test,
            Next::Rollback(_) | Next::UninstallRemediation => Kind::Remediate,
            Next::Unlock => Kind::Unlock,
            Next::CorrectDrift(_) => Kind::Drift,
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Next::Install => "install",
            Next::Upgrade => "upgrade",
            Next::Test => "test",
            Next::Rollback(_) => "rollback",
            Next::UninstallRemediation => "uninstall",
            Next::Unlock => "unlock",
            Next::CorrectDrift(_) => "correct drift",
        }
    }
}

/// Flux's short release names: over 53 characters, the first 40, a dash
/// and the first 12 hex digits of the SHA-256 of the whole name.
pub fn shorten_release_name(name: &str) -> String {
    use sha2::{Digest, Sha256};
    if name.len() <= 53 {
        return name.to_string();
    }
    let sum = hex::encode(Sha256::digest(name.as_bytes()));
    let cut: String = name.chars().take(40).collect();
    format!("{cut}-{}", &sum[..12])
}

fn human(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 60 {
        format!("{}m{}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

fn failed(reason: &str, message: impl Into<String>) -> Verdict {
    Verdict::failed(reason, message)
}

fn client_failure(e: ClientError) -> Verdict {
    if e.is_permanent() {
        Verdict::stalled(reasons::RECONCILIATION_FAILED, e.to_string()).retry(Retry::Interval)
    } else {
        failed(reasons::RECONCILIATION_FAILED, e.to_string())
    }
}

fn set_cond(
    obj: &mut HelmRelease,
    type_: &str,
    status: impl Into<CondStatus>,
    reason: &str,
    message: &str,
) {
    let generation = obj.metadata.generation;
    conditions::set(
        obj.conditions_mut(),
        type_,
        status,
        reason,
        message,
        generation,
        conditions::now(),
    );
}

/// A remediated release that is now where the spec wants it: `Remediated`
/// gives way to `Released` (Flux reports the upgrade as succeeded).
fn remediation_healed(obj: &mut HelmRelease, latest: Option<&Record>) {
    let Some(l) = latest else { return };
    if !conditions::is_true(obj.conditions(), conditions::REMEDIATED) {
        return;
    }
    let msg = format!(
        "Helm upgrade succeeded for release {} with chart {}",
        snapshot::full_name(l),
        snapshot::chart_of(l)
    );
    conditions::remove(obj.conditions_mut(), conditions::REMEDIATED);
    set_cond(
        obj,
        conditions::RELEASED,
        true,
        hr_reasons::UPGRADE_SUCCEEDED,
        &msg,
    );
}

fn status_mut(obj: &mut HelmRelease) -> &mut HelmReleaseStatus {
    obj.status.get_or_insert_with(Default::default)
}

fn metadata(chart: &LoadedChart, record: Option<&Record>) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    let version = record
        .and_then(|r| r.release.chart_version().map(String::from))
        .unwrap_or_else(|| chart.chart.metadata.version.clone());
    m.insert("revision".to_string(), version);
    if !chart.chart.metadata.app_version.is_empty() {
        m.insert(
            "app-version".into(),
            chart.chart.metadata.app_version.clone(),
        );
    }
    if let Some(d) = &chart.oci_digest {
        m.insert("oci-digest".into(), d.clone());
    }
    m
}

impl HelmReleaseReconciler {
    /// A reconciler using `clients` for the clusters, `artifacts` to
    /// download charts, `recorder` for events and `waits` for readiness.
    pub fn new(
        clients: Clients,
        artifacts: ArtifactClient,
        recorder: Recorder,
        options: Options,
        waits: Waits,
        cancels: Cancels,
        gate: crate::gate::Gate,
    ) -> Self {
        HelmReleaseReconciler {
            clients,
            artifacts,
            recorder,
            options,
            waits,
            cancels,
            gate,
            capabilities: AsyncMutex::new(None),
        }
    }

    async fn event(
        &self,
        obj: &HelmRelease,
        severity: Severity,
        reason: &str,
        message: &str,
        meta: BTreeMap<String, String>,
    ) {
        self.recorder
            .publish(obj, severity, reason, message, meta)
            .await;
    }

    fn drift_mode(&self, obj: &HelmRelease) -> DriftDetectionMode {
        obj.spec
            .drift_detection
            .as_ref()
            .and_then(|d| d.mode)
            .unwrap_or(self.options.default_drift_mode)
    }

    async fn target_for(&self, obj: &HelmRelease) -> Result<Target, ClientError> {
        let ns = obj.namespace().unwrap_or_default();
        self.clients
            .for_object(
                &ns,
                obj.spec.service_account_name.as_deref(),
                obj.spec.kube_config.as_ref(),
            )
            .await
    }

    /// `.Capabilities` of the target cluster: the local one is asked once
    /// every ten minutes, a remote one each time.
    async fn capabilities(&self, target: &Target, remote: bool) -> Arc<Capabilities> {
        if !remote {
            let cached = self.capabilities.lock().await;
            if let Some((at, caps)) = cached.as_ref()
                && at.elapsed() < Duration::from_secs(600)
            {
                return caps.clone();
            }
        }
        let caps = Arc::new(discover(&self.clients.local().client).await);
        if !remote {
            *self.capabilities.lock().await = Some((Instant::now(), caps.clone()));
        }
        let _ = target;
        caps
    }

    fn check_references(&self, obj: &HelmRelease) -> Step<()> {
        if !self.options.no_cross_namespace_refs {
            return Ok(());
        }
        if let Some(other) = chart::cross_namespace_reference(obj) {
            return Err(Verdict::stalled(
                reasons::ACCESS_DENIED,
                format!("cannot access {other}, cross-namespace references have been disabled"),
            ));
        }
        let own = obj.namespace().unwrap_or_default();
        if let Some(d) = obj.spec.depends_on.iter().find(|d| {
            d.namespace
                .as_deref()
                .is_some_and(|n| !n.is_empty() && n != own)
        }) {
            return Err(Verdict::stalled(
                reasons::ACCESS_DENIED,
                format!(
                    "cannot access dependency {}/{}, cross-namespace references have been disabled",
                    d.namespace.as_deref().unwrap_or_default(),
                    d.name
                ),
            ));
        }
        Ok(())
    }

    async fn check_dependencies(&self, obj: &HelmRelease) -> Result<(), String> {
        let own = obj.namespace().unwrap_or_default();
        for d in &obj.spec.depends_on {
            let ns = d
                .namespace
                .clone()
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| own.clone());
            let shown = format!("{ns}/{}", d.name);
            let api: kube::Api<HelmRelease> =
                kube::Api::namespaced(self.clients.local().client.clone(), &ns);
            let dep = match api.get_opt(&d.name).await {
                Ok(Some(x)) => x,
                Ok(None) => return Err(format!("dependency '{shown}' not found")),
                Err(e) => return Err(format!("dependency '{shown}': {e}")),
            };
            let status = dep.status.clone().unwrap_or_default();
            if dep.metadata.generation != status.observed_generation
                || !conditions::is_true(&status.conditions, conditions::READY)
            {
                return Err(format!("dependency '{shown}' is not ready"));
            }
        }
        Ok(())
    }

    async fn steps(&self, obj: &mut HelmRelease) -> Step<Verdict> {
        let slot = self.gate.enter().await;
        obj.spec
            .validate()
            .map_err(|e| Verdict::stalled(reasons::RECONCILIATION_FAILED, e.to_string()))?;
        self.check_references(obj)?;
        let health_exprs = ferroflux_ssa::cel::HealthExprs::new(&obj.spec.health_check_exprs)
            .map(Arc::new)
            .map_err(|e| Verdict::stalled(reasons::INVALID_CEL_EXPRESSION, e))?;
        if !obj.spec.depends_on.is_empty()
            && let Err(msg) = self.check_dependencies(obj).await
        {
            return Err(Verdict::waiting(
                reasons::DEPENDENCY_NOT_READY,
                msg,
                self.options.requeue_dependency,
            ));
        }
        let local = self.clients.local().client.clone();
        match chart::ensure_helm_chart(&local, obj).await {
            Ok(hc) => status_mut(obj).helm_chart = hc,
            Err(e) => return Err(failed(reasons::ARTIFACT_FAILED, e.to_string())),
        }
        let source = chart::source_ref(obj)
            .map_err(|e| Verdict::stalled(reasons::ARTIFACT_FAILED, e.to_string()))?;
        let artifact = match chart::artifact(&local, &source).await {
            Ok(a) => a,
            // Reconciling=True while the source works, so a waiting client
            // (`ferroflux create helmrelease`) does not take it for a verdict.
            Err(e @ ChartError::Pending(_)) => {
                return Err(Verdict::progressing(
                    reasons::PROGRESSING,
                    e.to_string(),
                    self.options.requeue_dependency,
                ));
            }
            Err(e @ (ChartError::NotFound(_) | ChartError::NotReady(_))) => {
                return Err(Verdict::waiting(
                    reasons::ARTIFACT_FAILED,
                    e.to_string(),
                    self.options.requeue_dependency,
                ));
            }
            Err(e) => return Err(failed(reasons::ARTIFACT_FAILED, e.to_string())),
        };
        let loaded = chart::load(
            &self.artifacts,
            &source,
            &artifact,
            &self.options.chart_limits,
        )
        .await
        .map_err(|e| failed(reasons::ARTIFACT_FAILED, e.to_string()))?;
        let composed = values::compose(&local, obj)
            .await
            .map_err(|e| failed(hr_reasons::VALUES_ERROR, e.to_string()))?;
        let values_digest = values::digest(&composed);
        let target = self.target_for(obj).await.map_err(client_failure)?;

        let name = shorten_release_name(&obj.release_name());
        ferroflux_helm::release::validate_release_name(&name).map_err(|e| {
            Verdict::stalled(
                reasons::RECONCILIATION_FAILED,
                format!("release name {name:?}: {e}"),
            )
        })?;
        let release_ns = obj.release_namespace().to_string();
        let storage_ns = obj.storage_namespace().to_string();
        self.release_moved(obj, &target, &name, &release_ns).await?;
        status_mut(obj).storage_namespace = Some(storage_ns.clone());

        // A new generation, chart or values, or a reset request, starts
        // the failure counts afresh (as Flux).
        let generation = obj.metadata.generation.unwrap_or_default();
        let chart_version = loaded.chart.metadata.version.clone();
        {
            let annotations = obj.annotations().clone();
            let s = status_mut(obj);
            if s.last_attempted_generation != generation
                || s.last_attempted_revision.as_deref() != Some(chart_version.as_str())
                || s.last_attempted_config_digest.as_deref() != Some(values_digest.as_str())
            {
                s.clear_failures();
            }
            if let Some(reset) = annotations.get(RESET_REQUEST_ANNOTATION)
                && s.last_handled_reset_at.as_deref() != Some(reset.as_str())
            {
                s.clear_failures();
                s.last_handled_reset_at = Some(reset.clone());
            }
            s.last_attempted_generation = generation;
            s.last_attempted_revision = Some(chart_version);
            s.last_attempted_revision_digest = loaded.oci_digest.clone();
            s.last_attempted_config_digest = Some(values_digest.clone());
        }
        let force = {
            let a = obj.annotations();
            match (
                a.get(FORCE_REQUEST_ANNOTATION),
                a.get(RECONCILE_REQUEST_ANNOTATION),
            ) {
                (Some(f), Some(r)) if f == r => {
                    let handled = obj
                        .status
                        .as_ref()
                        .and_then(|s| s.last_handled_force_at.clone());
                    handled.as_deref() != Some(f.as_str())
                }
                _ => false,
            }
        };
        if force {
            let f = obj.annotations().get(FORCE_REQUEST_ANNOTATION).cloned();
            status_mut(obj).last_handled_force_at = f;
        }
        let caps = self
            .capabilities(&target, obj.spec.kube_config.is_some())
            .await;
        let hr_snapshot = obj.clone();
        let key = format!("{}/{}", obj.namespace().unwrap_or_default(), obj.name_any());
        let cancel = self.cancels.begin(&key, generation);
        let release = Release {
            hr: &hr_snapshot,
            name,
            namespace: release_ns,
            storage: Storage::new(target.client.clone(), &storage_ns),
            target: &target,
            waits: &self.waits,
            watch: obj.spec.kube_config.is_none(),
            chart: &loaded,
            values: &composed,
            caps: &caps,
            concurrency: self.options.apply_concurrency,
            cancel: Some(cancel.notify.clone()),
            slot,
            health_exprs,
        };
        self.atomic(obj, &release, &values_digest, force).await
    }

    /// The release name or namespace changed since the last release: the
    /// old release is uninstalled (as Flux does) and the history cleared.
    async fn release_moved(
        &self,
        obj: &mut HelmRelease,
        target: &Target,
        name: &str,
        namespace: &str,
    ) -> Step<()> {
        let Some(cur) = state::latest(obj).cloned() else {
            return Ok(());
        };
        if cur.name == name && cur.namespace == namespace {
            return Ok(());
        }
        let old_storage = obj
            .status
            .as_ref()
            .and_then(|s| s.storage_namespace.clone())
            .unwrap_or_else(|| cur.namespace.clone());
        let storage = Storage::new(target.client.clone(), &old_storage);
        let history = storage
            .history(&cur.name)
            .await
            .map_err(|e| failed(hr_reasons::GET_LAST_RELEASE_FAILED, e.to_string()))?;
        let manager = Manager::new(
            target.client.clone(),
            target.resolver.clone(),
            RELEASE_FIELD_MANAGER,
        );
        if let Some(last) = history.latest() {
            let mut objs =
                crate::objects::parse_manifest(&last.release.manifest).unwrap_or_default();
            let _ = crate::objects::default_namespaces(&mut objs, &target.resolver, &cur.namespace)
                .await;
            let metas = crate::objects::metas(&objs);
            let _ = manager
                .delete_all(
                    &metas,
                    &ferroflux_ssa::DeleteOptions {
                        owner_labels: BTreeMap::new(),
                        concurrency: 8,
                    },
                )
                .await;
            for r in history.records() {
                let _ = storage.delete(&cur.name, r.release.version).await;
            }
        }
        status_mut(obj).history.clear();
        Ok(())
    }

    async fn atomic(
        &self,
        obj: &mut HelmRelease,
        r: &Release<'_>,
        values_digest: &str,
        mut force: bool,
    ) -> Step<Verdict> {
        let mut previous: Vec<Kind> = Vec::new();
        let pr_digest = render::post_renderers_digest(obj);
        let cm_digest = render::common_metadata_digest(obj);
        for _ in 0..10 {
            let history = r
                .history()
                .await
                .map_err(|e| failed(hr_reasons::GET_LAST_RELEASE_FAILED, e))?;
            let digests_changed = {
                let s = obj.status.clone().unwrap_or_default();
                s.observed_generation != obj.metadata.generation
                    && (s.observed_post_renderers_digest != pr_digest
                        || s.observed_common_metadata_digest != cm_digest)
            };
            let st = state::determine(obj, &history, r.chart, values_digest, digests_changed);
            tracing::debug!(release = %r.name, state = ?st, "release state");
            let next = self.action_for(obj, r, &st, &history, force).await?;
            let Some(next) = next else {
                return Ok(self.summarize(obj, true));
            };
            if previous.contains(&next.kind()) {
                return Ok(self.must_requeue(obj));
            }
            let timeout = self.timeout_of(obj, &next);
            let msg = format!(
                "Running '{}' action with timeout of {}",
                next.name(),
                human(timeout)
            );
            tracing::info!(release = %r.name, action = next.name(), "{msg}");
            let ok = self.run(obj, r, &history, next.clone()).await;
            force = false;
            if !ok && r.cancel.as_ref().is_some_and(|_| self.was_cancelled(obj)) {
                // A newer generation is queued: it decides what happens next.
                return Ok(Verdict::progressing(
                    reasons::HEALTH_CHECK_CANCELED,
                    CANCELLED,
                    Duration::from_millis(100),
                ));
            }
            if !ok && let Some(interval) = state::active_retry(obj) {
                let v = self.summarize(obj, false);
                return Ok(retrying(v, Retry::After(interval)));
            }
            if next.kind() == Kind::Remediate {
                let uninstall_after_upgrade = matches!(next, Next::UninstallRemediation)
                    && obj.last_attempted_release_action() == Some(ReleaseAction::Upgrade);
                if !state::retries_exhausted(obj) || uninstall_after_upgrade {
                    return Ok(self.must_requeue(obj));
                }
                return Err(self.retries_exceeded(obj));
            }
            previous.push(next.kind());
        }
        Ok(self.must_requeue(obj))
    }

    /// Whether the action just run gave up its wait for a newer generation
    /// (its failure is then not counted).
    fn was_cancelled(&self, obj: &mut HelmRelease) -> bool {
        let cancelled = conditions::get(obj.conditions(), conditions::RELEASED)
            .is_some_and(|c| c.status == "False" && c.message.ends_with(CANCELLED));
        if cancelled {
            let action = obj.last_attempted_release_action();
            let s = status_mut(obj);
            s.failures = (s.failures - 1).max(0);
            match action {
                Some(ReleaseAction::Install) => {
                    s.install_failures = (s.install_failures - 1).max(0)
                }
                Some(ReleaseAction::Upgrade) => {
                    s.upgrade_failures = (s.upgrade_failures - 1).max(0)
                }
                _ => {}
            }
        }
        cancelled
    }

    fn timeout_of(&self, obj: &HelmRelease, next: &Next) -> Duration {
        let or =
            |t: Option<&ferroflux_api::duration::Duration>| t.map_or(obj.timeout(), |d| d.as_std());
        match next {
            Next::Install => or(obj.install().timeout.as_ref()),
            Next::Upgrade => or(obj.upgrade().timeout.as_ref()),
            Next::Test => or(obj.test().timeout.as_ref()),
            Next::Rollback(_) => or(obj.rollback().timeout.as_ref()),
            Next::UninstallRemediation => or(obj.uninstall().timeout.as_ref()),
            _ => obj.timeout(),
        }
    }

    fn retries_exceeded(&self, obj: &mut HelmRelease) -> Verdict {
        let action = match obj.last_attempted_release_action() {
            Some(ReleaseAction::Install) => "install",
            _ => "upgrade",
        };
        let msg = format!(
            "Failed to {action} after {} attempt(s)",
            state::failure_count(obj)
        );
        // Ready keeps what the last action said; Stalled says why nothing more happens.
        let summary = self.summarize(obj, false);
        let _ = summary;
        Verdict::stalled(hr_reasons::RETRIES_EXCEEDED, msg)
    }

    /// A failure that will be tried again (remediation retries left).
    fn must_requeue(&self, obj: &mut HelmRelease) -> Verdict {
        let v = self.summarize(obj, false);
        match v {
            Verdict::Ready(_) => v,
            other => retrying(other, Retry::Backoff),
        }
    }

    async fn action_for(
        &self,
        obj: &mut HelmRelease,
        r: &Release<'_>,
        st: &State,
        history: &History,
        force: bool,
    ) -> Step<Option<Next>> {
        match st {
            State::InSync => {
                if force {
                    return Ok(Some(Next::Upgrade));
                }
                let latest = history.latest().cloned();
                remediation_healed(obj, latest.as_ref());
                let released = conditions::get(obj.conditions(), conditions::RELEASED).cloned();
                if let (Some(c), Some(l)) = (released, &latest)
                    && c.status != "True"
                {
                    let (reason, verb) = if c.reason == hr_reasons::INSTALL_FAILED {
                        (hr_reasons::INSTALL_SUCCEEDED, "install")
                    } else {
                        (hr_reasons::UPGRADE_SUCCEEDED, "upgrade")
                    };
                    let msg = format!(
                        "Helm {verb} succeeded for release {} with chart {}",
                        snapshot::full_name(l),
                        snapshot::chart_of(l)
                    );
                    set_cond(obj, conditions::RELEASED, true, reason, &msg);
                }
                let mode = self.drift_mode(obj);
                if mode == DriftDetectionMode::Disabled {
                    conditions::remove(obj.conditions_mut(), hr_reasons::DRIFTED);
                    return Ok(None);
                }
                let Some(l) = latest else { return Ok(None) };
                let (drifted, objects) = self.detect_drift(obj, r, &l).await.map_err(|e| {
                    failed(
                        reasons::RECONCILIATION_FAILED,
                        format!("unable to determine cluster state: {e}"),
                    )
                })?;
                if drifted.is_empty() {
                    set_cond(
                        obj,
                        hr_reasons::DRIFTED,
                        false,
                        hr_reasons::NO_DRIFT_DETECTED,
                        "No drift detected against the cluster state",
                    );
                    return Ok(None);
                }
                let msg = format!(
                    "Cluster state of release {} has drifted from the desired state:\n{}",
                    snapshot::full_name(&l),
                    drifted.join("\n")
                );
                let was = conditions::get(obj.conditions(), hr_reasons::DRIFTED)
                    .map(|c| c.message.clone());
                set_cond(
                    obj,
                    hr_reasons::DRIFTED,
                    true,
                    hr_reasons::DRIFT_DETECTED,
                    &msg,
                );
                if was.as_deref() != Some(msg.as_str()) || mode == DriftDetectionMode::Enabled {
                    self.event(
                        obj,
                        Severity::Error,
                        hr_reasons::DRIFT_DETECTED,
                        &msg,
                        metadata(r.chart, Some(&l)),
                    )
                    .await;
                }
                if mode == DriftDetectionMode::Enabled {
                    return Ok(Some(Next::CorrectDrift(objects)));
                }
                Ok(None)
            }
            State::Locked(why) => {
                tracing::info!(release = %r.name, reason = %why, "release locked");
                Ok(Some(Next::Unlock))
            }
            State::Absent(_) => {
                let exhausted = obj
                    .install()
                    .remediation()
                    .retries_exhausted(obj.status.as_ref().map_or(0, |s| s.install_failures));
                if exhausted && !force {
                    return Err(self.retries_exceeded_for(obj, "install"));
                }
                Ok(Some(Next::Install))
            }
            State::Unmanaged(why) => {
                tracing::info!(release = %r.name, reason = %why, "release not managed by this object");
                status_mut(obj).history.clear();
                Ok(Some(Next::Upgrade))
            }
            State::OutOfSync(_) => {
                let exhausted = obj
                    .upgrade()
                    .remediation()
                    .retries_exhausted(obj.status.as_ref().map_or(0, |s| s.upgrade_failures));
                if exhausted && !force {
                    return Err(self.retries_exceeded_for(obj, "upgrade"));
                }
                Ok(Some(Next::Upgrade))
            }
            State::Untested => {
                remediation_healed(obj, history.latest());
                Ok(Some(Next::Test))
            }
            State::Failed(_) => {
                if state::active_retry(obj).is_some() || force {
                    return Ok(Some(Next::Upgrade));
                }
                let action = obj.last_attempted_release_action();
                if !matches!(
                    action,
                    Some(ReleaseAction::Install | ReleaseAction::Upgrade)
                ) {
                    return Ok(Some(Next::Upgrade));
                }
                if state::failure_count(obj) <= 0 {
                    return Ok(Some(Next::Upgrade));
                }
                let (exhausted, last_failure) = match action {
                    Some(ReleaseAction::Install) => {
                        let rem = obj.install().remediation();
                        (
                            state::retries_exhausted(obj),
                            rem.must_remediate_last_failure(),
                        )
                    }
                    _ => {
                        let rem = obj.upgrade().remediation();
                        (
                            state::retries_exhausted(obj),
                            rem.must_remediate_last_failure(),
                        )
                    }
                };
                if exhausted && !last_failure {
                    return Err(self.retries_exceeded(obj));
                }
                let strategy = match action {
                    Some(ReleaseAction::Install) => RemediationStrategy::Uninstall,
                    _ => obj.upgrade().remediation().strategy(),
                };
                match strategy {
                    RemediationStrategy::Uninstall => Ok(Some(Next::UninstallRemediation)),
                    RemediationStrategy::Rollback => {
                        let latest = history.latest().map_or(0, |l| l.release.version);
                        let target = history
                            .records()
                            .iter()
                            .rev()
                            .filter(|rec| rec.release.version < latest)
                            .find(|rec| {
                                matches!(
                                    rec.release.status(),
                                    Some(Status::Deployed | Status::Superseded)
                                )
                            })
                            .map(|rec| rec.release.version);
                        match target {
                            Some(v) => Ok(Some(Next::Rollback(v))),
                            None => Err(Verdict::stalled(
                                hr_reasons::MISSING_ROLLBACK_TARGET,
                                "Failed to perform remediation: missing target release for rollback: cannot remediate failed release",
                            )),
                        }
                    }
                }
            }
        }
    }

    fn retries_exceeded_for(&self, obj: &mut HelmRelease, action: &str) -> Verdict {
        let msg = format!(
            "Failed to {action} after {} attempt(s)",
            state::failure_count(obj)
        );
        Verdict::stalled(hr_reasons::RETRIES_EXCEEDED, msg)
    }

    /// Compares the cluster with the latest release's manifest (a
    /// server-side dry-run per object): the drifted objects, described, and
    /// the objects to apply to correct them.
    async fn detect_drift(
        &self,
        obj: &HelmRelease,
        r: &Release<'_>,
        latest: &Record,
    ) -> Result<(Vec<String>, Vec<Value>), String> {
        let mut objs = crate::objects::parse_manifest(&latest.release.manifest)?;
        crate::objects::default_namespaces(&mut objs, &r.target.resolver, &r.namespace).await?;
        crate::objects::set_ownership(&mut objs, &r.name, &r.namespace);
        let rules = obj
            .spec
            .drift_detection
            .as_ref()
            .map(|d| d.ignore.clone())
            .unwrap_or_default();
        let objs: Vec<Value> = objs
            .into_iter()
            .filter(|o| !crate::drift::opted_out(o))
            .map(|o| crate::drift::without_ignored(o, &rules))
            .collect();
        let manager = Manager::new(
            r.target.client.clone(),
            r.target.resolver.clone(),
            RELEASE_FIELD_MANAGER,
        );
        let plan = manager
            .plan_all(
                objs.clone(),
                &ApplyOptions {
                    concurrency: self.options.apply_concurrency,
                    ..Default::default()
                },
            )
            .await
            .map_err(|e| e.to_string())?;
        let mut drifted = Vec::new();
        let mut fix = Vec::new();
        for (entry, o) in plan.entries.iter().zip(objs.iter()) {
            let _ = o;
            match entry.action {
                Action::Created => drifted.push(format!("{} removed", entry.object)),
                Action::Configured => drifted.push(format!("{} changed", entry.object)),
                _ => continue,
            }
        }
        if !drifted.is_empty() {
            // The plan is in apply order, not input order: correct by identity.
            let wanted: Vec<ObjMeta> = plan
                .entries
                .iter()
                .filter(|e| matches!(e.action, Action::Created | Action::Configured))
                .map(|e| e.object.clone())
                .collect();
            fix = objs
                .into_iter()
                .filter(|o| ObjMeta::of(o).is_ok_and(|m| wanted.iter().any(|w| w.same_object(&m))))
                .collect();
        }
        Ok((drifted, fix))
    }

    /// Runs `next`, recording its outcome in the status and an event.
    /// Returns whether it succeeded.
    async fn run(
        &self,
        obj: &mut HelmRelease,
        r: &Release<'_>,
        history: &History,
        next: Next,
    ) -> bool {
        let started = Instant::now();
        let oci = r.chart.oci_digest.clone();
        let release_display = format!("{}/{}", r.namespace, r.name);
        let chart_display = format!(
            "{}@{}",
            r.chart.chart.metadata.name, r.chart.chart.metadata.version
        );
        let ok = match next {
            Next::Install | Next::Upgrade => {
                let install = matches!(next, Next::Install);
                let action = if install {
                    ReleaseAction::Install
                } else {
                    ReleaseAction::Upgrade
                };
                status_mut(obj).last_attempted_release_action = Some(action);
                let result = if install {
                    r.install(history).await
                } else {
                    r.upgrade(history).await
                };
                let verb = if install { "install" } else { "upgrade" };
                match result {
                    Ok(rec) => {
                        snapshot::record(
                            &mut status_mut(obj).history,
                            snapshot::of(&rec, Some(action), oci.as_deref()),
                        );
                        let msg = format!(
                            "Helm {verb} succeeded for release {} with chart {}",
                            snapshot::full_name(&rec),
                            snapshot::chart_of(&rec)
                        );
                        let reason = if install {
                            hr_reasons::INSTALL_SUCCEEDED
                        } else {
                            hr_reasons::UPGRADE_SUCCEEDED
                        };
                        set_cond(obj, conditions::RELEASED, true, reason, &msg);
                        conditions::remove(obj.conditions_mut(), conditions::REMEDIATED);
                        if obj.test().enable {
                            let m = format!(
                                "Helm release {} with chart {} is awaiting tests",
                                snapshot::full_name(&rec),
                                snapshot::chart_of(&rec)
                            );
                            set_cond(
                                obj,
                                conditions::TEST_SUCCESS,
                                CondStatus::Unknown,
                                reasons::PROGRESSING,
                                &m,
                            );
                        }
                        self.set_inventory(obj, r, &rec).await;
                        self.record_digests(obj);
                        self.event(
                            obj,
                            Severity::Info,
                            reason,
                            &msg,
                            metadata(r.chart, Some(&rec)),
                        )
                        .await;
                        true
                    }
                    Err(Failed { message, record }) => {
                        if let Some(rec) = &record {
                            snapshot::record(
                                &mut status_mut(obj).history,
                                snapshot::of(rec, Some(action), oci.as_deref()),
                            );
                        }
                        let msg = format!(
                            "Helm {verb} failed for release {release_display} with chart {chart_display}: {message}"
                        );
                        let reason = if install {
                            hr_reasons::INSTALL_FAILED
                        } else {
                            hr_reasons::UPGRADE_FAILED
                        };
                        set_cond(obj, conditions::RELEASED, false, reason, &msg);
                        let s = status_mut(obj);
                        s.failures += 1;
                        if install {
                            s.install_failures += 1;
                        } else {
                            s.upgrade_failures += 1;
                        }
                        self.event(
                            obj,
                            Severity::Error,
                            reason,
                            &msg,
                            metadata(r.chart, record.as_ref()),
                        )
                        .await;
                        false
                    }
                }
            }
            Next::Test => match r.test(history).await {
                Ok((rec, results)) => {
                    let mut snap = snapshot::of(&rec, None, oci.as_deref());
                    snap.test_hooks = Some(snapshot::test_hooks(&rec, &results));
                    snapshot::record(&mut status_mut(obj).history, snap);
                    let detail = if results.is_empty() {
                        "no test hooks".to_string()
                    } else {
                        format!("{} test hook(s) completed successfully", results.len())
                    };
                    let msg = format!(
                        "Helm test succeeded for release {} with chart {}: {detail}",
                        snapshot::full_name(&rec),
                        snapshot::chart_of(&rec)
                    );
                    set_cond(
                        obj,
                        conditions::TEST_SUCCESS,
                        true,
                        hr_reasons::TEST_SUCCEEDED,
                        &msg,
                    );
                    self.event(
                        obj,
                        Severity::Info,
                        hr_reasons::TEST_SUCCEEDED,
                        &msg,
                        metadata(r.chart, Some(&rec)),
                    )
                    .await;
                    true
                }
                Err(Failed { message, record }) => {
                    if let Some(rec) = &record {
                        let ran: Vec<crate::hooks::HookResult> = rec
                            .release
                            .hooks
                            .iter()
                            .filter(|h| {
                                h.events.iter().any(|e| e == "test") && !h.last_run.phase.is_empty()
                            })
                            .map(|h| crate::hooks::HookResult {
                                name: h.name.clone(),
                                phase: h.last_run.phase.clone(),
                                message: None,
                            })
                            .collect();
                        let mut snap = snapshot::of(rec, None, oci.as_deref());
                        snap.test_hooks = Some(snapshot::test_hooks(rec, &ran));
                        snapshot::record(&mut status_mut(obj).history, snap);
                    }
                    let full = record
                        .as_ref()
                        .map(snapshot::full_name)
                        .unwrap_or(release_display.clone());
                    let msg = format!(
                        "Helm test failed for release {full} with chart {chart_display}: {message}"
                    );
                    set_cond(
                        obj,
                        conditions::TEST_SUCCESS,
                        false,
                        hr_reasons::TEST_FAILED,
                        &msg,
                    );
                    let ignore = obj.test().ignore_failures;
                    let ignore = match obj.last_attempted_release_action() {
                        Some(ReleaseAction::Install) => obj
                            .install()
                            .remediation()
                            .must_ignore_test_failures(ignore),
                        Some(ReleaseAction::Upgrade) => obj
                            .upgrade()
                            .remediation()
                            .must_ignore_test_failures(ignore),
                        _ => ignore,
                    };
                    if !ignore {
                        let action = obj.last_attempted_release_action();
                        let s = status_mut(obj);
                        s.failures += 1;
                        match action {
                            Some(ReleaseAction::Install) => s.install_failures += 1,
                            Some(ReleaseAction::Upgrade) => s.upgrade_failures += 1,
                            _ => {}
                        }
                    }
                    self.event(
                        obj,
                        Severity::Error,
                        hr_reasons::TEST_FAILED,
                        &msg,
                        metadata(r.chart, record.as_ref()),
                    )
                    .await;
                    ignore
                }
            },
            Next::Rollback(version) => {
                let target = history.get(version).cloned();
                let shown = target.as_ref().map(snapshot::full_name).unwrap_or_default();
                let chart_of = target.as_ref().map(snapshot::chart_of).unwrap_or_default();
                match r.rollback(history, version).await {
                    Ok(rec) => {
                        snapshot::record(
                            &mut status_mut(obj).history,
                            snapshot::of(&rec, Some(ReleaseAction::Rollback), None),
                        );
                        let msg = format!(
                            "Helm rollback to previous release {shown} with chart {chart_of} succeeded"
                        );
                        set_cond(
                            obj,
                            conditions::REMEDIATED,
                            true,
                            hr_reasons::ROLLBACK_SUCCEEDED,
                            &msg,
                        );
                        self.set_inventory(obj, r, &rec).await;
                        self.event(
                            obj,
                            Severity::Info,
                            hr_reasons::ROLLBACK_SUCCEEDED,
                            &msg,
                            metadata(r.chart, Some(&rec)),
                        )
                        .await;
                        true
                    }
                    Err(Failed { message, record }) => {
                        if let Some(rec) = &record {
                            snapshot::record(
                                &mut status_mut(obj).history,
                                snapshot::of(rec, Some(ReleaseAction::Rollback), None),
                            );
                        }
                        let msg = format!(
                            "Helm rollback to previous release {shown} with chart {chart_of} failed: {message}"
                        );
                        set_cond(
                            obj,
                            conditions::REMEDIATED,
                            false,
                            hr_reasons::ROLLBACK_FAILED,
                            &msg,
                        );
                        self.event(
                            obj,
                            Severity::Error,
                            hr_reasons::ROLLBACK_FAILED,
                            &msg,
                            metadata(r.chart, record.as_ref()),
                        )
                        .await;
                        false
                    }
                }
            }
            Next::UninstallRemediation => {
                let latest = history.latest().cloned();
                let shown = latest
                    .as_ref()
                    .map(snapshot::full_name)
                    .unwrap_or(release_display.clone());
                let chart_of = latest
                    .as_ref()
                    .map(snapshot::chart_of)
                    .unwrap_or(chart_display.clone());
                match r.uninstall(history).await {
                    Ok(rec) => {
                        if let Some(rec) = &rec {
                            snapshot::record(
                                &mut status_mut(obj).history,
                                snapshot::of(rec, Some(ReleaseAction::UninstallRemediation), None),
                            );
                        }
                        let msg = format!(
                            "Helm uninstall remediation for release {shown} with chart {chart_of} succeeded"
                        );
                        set_cond(
                            obj,
                            conditions::REMEDIATED,
                            true,
                            hr_reasons::UNINSTALL_SUCCEEDED,
                            &msg,
                        );
                        status_mut(obj).inventory = None;
                        self.event(
                            obj,
                            Severity::Info,
                            hr_reasons::UNINSTALL_SUCCEEDED,
                            &msg,
                            metadata(r.chart, rec.as_ref()),
                        )
                        .await;
                        true
                    }
                    Err(Failed { message, .. }) => {
                        let msg = format!(
                            "Helm uninstall remediation for release {shown} with chart {chart_of} failed: {message}"
                        );
                        set_cond(
                            obj,
                            conditions::REMEDIATED,
                            false,
                            hr_reasons::UNINSTALL_FAILED,
                            &msg,
                        );
                        self.event(
                            obj,
                            Severity::Error,
                            hr_reasons::UNINSTALL_FAILED,
                            &msg,
                            metadata(r.chart, None),
                        )
                        .await;
                        false
                    }
                }
            }
            Next::Unlock => {
                let was = history
                    .latest()
                    .and_then(|l| l.release.status().map(|s| s.as_str().to_string()))
                    .unwrap_or_default();
                match r.unlock(history).await {
                    Ok(rec) => {
                        if state::latest(obj).is_some_and(|s| s.version == rec.release.version) {
                            snapshot::record(
                                &mut status_mut(obj).history,
                                snapshot::of(&rec, None, None),
                            );
                        }
                        let msg = format!(
                            "Unlocked Helm release {} with chart {} in {was} state",
                            snapshot::full_name(&rec),
                            snapshot::chart_of(&rec)
                        );
                        self.event(
                            obj,
                            Severity::Info,
                            hr_reasons::PENDING_RELEASE,
                            &msg,
                            metadata(r.chart, Some(&rec)),
                        )
                        .await;
                        true
                    }
                    Err(Failed { message, .. }) => {
                        let msg = format!(
                            "Unlock of Helm release {release_display} in {was} state failed: {message}"
                        );
                        set_cond(
                            obj,
                            conditions::RELEASED,
                            false,
                            hr_reasons::PENDING_RELEASE,
                            &msg,
                        );
                        false
                    }
                }
            }
            Next::CorrectDrift(objects) => {
                let manager = Manager::new(
                    r.target.client.clone(),
                    r.target.resolver.clone(),
                    RELEASE_FIELD_MANAGER,
                );
                let opts = ApplyOptions {
                    force: obj.upgrade().force,
                    concurrency: self.options.apply_concurrency,
                    ..Default::default()
                };
                let full = history
                    .latest()
                    .map(snapshot::full_name)
                    .unwrap_or(release_display.clone());
                match manager.apply_all_staged(objects, &opts).await {
                    Ok(cs) => {
                        let msg = format!(
                            "Cluster state of release {full} has been corrected:\n{}",
                            cs.changes_summary()
                        );
                        self.event(
                            obj,
                            Severity::Info,
                            "DriftCorrected",
                            &msg,
                            metadata(r.chart, history.latest()),
                        )
                        .await;
                        true
                    }
                    Err(e) => {
                        let msg = format!("Failed to correct cluster state of release {full}: {e}");
                        self.event(
                            obj,
                            Severity::Error,
                            hr_reasons::DRIFT_DETECTED,
                            &msg,
                            metadata(r.chart, history.latest()),
                        )
                        .await;
                        false
                    }
                }
            }
        };
        status_mut(obj).last_attempted_release_action_duration = Some(
            ferroflux_api::duration::Duration::from_std(started.elapsed()),
        );
        ok
    }

    fn record_digests(&self, obj: &mut HelmRelease) {
        let pr = render::post_renderers_digest(obj);
        let cm = render::common_metadata_digest(obj);
        let s = status_mut(obj);
        s.observed_post_renderers_digest = pr;
        s.observed_common_metadata_digest = cm;
    }

    /// `status.inventory`: the objects of the release's manifest.
    async fn set_inventory(&self, obj: &mut HelmRelease, r: &Release<'_>, rec: &Record) {
        let mut objs = crate::objects::parse_manifest(&rec.release.manifest).unwrap_or_default();
        if crate::objects::default_namespaces(&mut objs, &r.target.resolver, &r.namespace)
            .await
            .is_err()
        {
            return;
        }
        let entries = crate::objects::metas(&objs)
            .iter()
            .map(|m| ResourceRef {
                id: m.id(),
                version: m.version.clone(),
            })
            .collect();
        status_mut(obj).inventory = Some(ResourceInventory { entries });
    }

    /// `Ready` from `Remediated`, `TestSuccess` (when tests count) and
    /// `Released`, as Flux summarizes them. `final_` says the release is
    /// where it should be (no further action), so a failure here is not
    /// retried at once.
    fn summarize(&self, obj: &mut HelmRelease, final_: bool) -> Verdict {
        let test = obj.test();
        if !test.enable {
            conditions::remove(obj.conditions_mut(), conditions::TEST_SUCCESS);
        }
        let mut order = vec![conditions::REMEDIATED];
        if test.enable && !test.ignore_failures {
            order.push(conditions::TEST_SUCCESS);
        }
        order.push(conditions::RELEASED);
        let pick = order
            .iter()
            .find_map(|t| conditions::get(obj.conditions(), t).cloned());
        let Some(c) = pick else {
            return Verdict::ready(
                reasons::RECONCILIATION_SUCCEEDED,
                "Release reconciliation succeeded",
            );
        };
        let status = if c.type_ == conditions::REMEDIATED {
            "False"
        } else {
            c.status.as_str()
        };
        match status {
            "True" => Verdict::ready(c.reason.clone(), c.message.clone()),
            "Unknown" => Verdict::progressing(
                reasons::PROGRESSING,
                c.message.clone(),
                Duration::from_secs(1),
            ),
            _ => {
                // The event for this message went out with the action.
                let generation = obj.metadata.generation;
                conditions::mark_failed(
                    obj.conditions_mut(),
                    &c.reason,
                    &c.message,
                    generation,
                    conditions::now(),
                );
                let v = failed(&c.reason, c.message.clone());
                if final_ { v.retry(Retry::Interval) } else { v }
            }
        }
    }

    async fn uninstall_on_delete(&self, obj: &HelmRelease) -> Result<(), ReconcileError> {
        let target = match self.target_for(obj).await {
            Ok(t) => t,
            Err(e) if e.is_permanent() || obj.spec.kube_config.is_some() => {
                tracing::warn!(error = %e, "skipping uninstall on deletion");
                return Ok(());
            }
            Err(e) => return Err(ReconcileError::new(e.to_string())),
        };
        let name = shorten_release_name(&obj.release_name());
        let storage_ns = obj
            .status
            .as_ref()
            .and_then(|s| s.storage_namespace.clone())
            .unwrap_or_else(|| obj.storage_namespace().to_string());
        let storage = Storage::new(target.client.clone(), &storage_ns);
        let history = storage
            .history(&name)
            .await
            .map_err(|e| ReconcileError::new(e.to_string()))?;
        // Only a release this object manages is uninstalled.
        if obj.status.as_ref().is_none_or(|s| s.history.is_empty()) || history.is_empty() {
            return Ok(());
        }
        let empty_chart = LoadedChart {
            chart: ferroflux_helm::chart::Chart {
                metadata: Default::default(),
                templates: vec![],
                files: vec![],
                values: Default::default(),
                raw_values: None,
                schema: None,
                dependencies: vec![],
            },
            source: String::new(),
            revision: String::new(),
            digest: String::new(),
            oci_digest: None,
        };
        let values = serde_json::Map::new();
        let caps = Capabilities::default();
        let release = Release {
            hr: obj,
            name: name.clone(),
            namespace: obj.release_namespace().to_string(),
            storage,
            target: &target,
            waits: &self.waits,
            watch: obj.spec.kube_config.is_none(),
            chart: &empty_chart,
            values: &values,
            caps: &caps,
            concurrency: self.options.apply_concurrency,
            cancel: None,
            slot: self.gate.none(),
            health_exprs: Arc::default(),
        };
        match release.uninstall(&history).await {
            Ok(Some(rec)) => {
                let msg = format!(
                    "Helm uninstall succeeded for release {} with chart {}",
                    snapshot::full_name(&rec),
                    snapshot::chart_of(&rec)
                );
                self.event(
                    obj,
                    Severity::Info,
                    hr_reasons::UNINSTALL_SUCCEEDED,
                    &msg,
                    BTreeMap::new(),
                )
                .await;
                Ok(())
            }
            Ok(None) => Ok(()),
            Err(f) => {
                let msg = format!(
                    "Helm uninstall failed for release {}/{name}: {}",
                    obj.release_namespace(),
                    f.message
                );
                self.event(
                    obj,
                    Severity::Error,
                    hr_reasons::UNINSTALL_FAILED,
                    &msg,
                    BTreeMap::new(),
                )
                .await;
                Err(ReconcileError::new(msg))
            }
        }
    }
}

fn retrying(v: Verdict, retry: Retry) -> Verdict {
    match v {
        Verdict::Failed(_) => v.retry(retry).retrying(),
        other => other,
    }
}

/// The API versions the cluster serves, as Helm lists them for
/// `.Capabilities.APIVersions` (`group/version` and `group/version/Kind`).
pub async fn discover(client: &kube::Client) -> Capabilities {
    let kube_version = client.apiserver_version().await.ok().map(|v| v.git_version);
    let mut versions: Vec<String> = Vec::new();
    if let Ok(core) = client.list_core_api_versions().await {
        for v in core.versions {
            if let Ok(res) = client.list_core_api_resources(&v).await {
                for r in res.resources.iter().filter(|r| !r.name.contains('/')) {
                    versions.push(format!("{v}/{}", r.kind));
                }
            }
            versions.push(v);
        }
    }
    if let Ok(groups) = client.list_api_groups().await {
        for g in groups.groups {
            for v in g.versions {
                if let Ok(res) = client.list_api_group_resources(&v.group_version).await {
                    for r in res.resources.iter().filter(|r| !r.name.contains('/')) {
                        versions.push(format!("{}/{}", v.group_version, r.kind));
                    }
                }
                versions.push(v.group_version);
            }
        }
    }
    versions.sort();
    versions.dedup();
    Capabilities {
        kube_version,
        api_versions: versions,
    }
}

impl Reconciler<HelmRelease> for HelmReleaseReconciler {
    async fn reconcile(&self, obj: &mut HelmRelease) -> Result<Outcome, ReconcileError> {
        let verdict = self.steps(obj).await.unwrap_or_else(|v| v);
        verdict::conclude(obj, verdict, &self.recorder).await
    }

    async fn cleanup(&self, obj: &HelmRelease) -> Result<(), ReconcileError> {
        if !obj.spec.suspend {
            self.uninstall_on_delete(obj).await?;
        }
        if obj.spec.chart.is_some()
            && let Some((ns, name)) = obj
                .status
                .as_ref()
                .and_then(|s| s.helm_chart.clone())
                .and_then(|h| {
                    h.split_once('/')
                        .map(|(a, b)| (a.to_string(), b.to_string()))
                })
        {
            chart::delete_helm_chart(&self.clients.local().client, &ns, &name)
                .await
                .map_err(|e| ReconcileError::new(e.to_string()))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_release_names_are_shortened_as_flux_does() {
        assert_eq!(shorten_release_name("short"), "short");
        let long = "some-front-appended-namespace-release-with-a-very-long-name";
        let s = shorten_release_name(long);
        assert_eq!(s.len(), 53);
        assert!(s.starts_with("some-front-appended-namespace-release-wi-"));
        use sha2::{Digest, Sha256};
        let sum = hex::encode(Sha256::digest(long.as_bytes()));
        assert!(s.ends_with(&sum[..12]));
    }
}
