//! Helm's actions on a release, as Helm v4 performs them and records them
//! in the release storage: install, upgrade, rollback, uninstall, test and
//! unlock. Each returns the record it left, or a failure saying why (with
//! the record, when one was written). Objects are applied with server-side
//! apply as the release's (possibly impersonated) client.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use ferroflux_api::helm::v2::{CrdsPolicy, HelmRelease};
use ferroflux_helm::release::revision::{self, ApplyMethod};
use ferroflux_helm::release::{GoTime, History, Record, Status};
use ferroflux_ssa::clients::Target;
use ferroflux_ssa::{Action, ApplyOptions, DeleteOptions, Manager, ObjMeta};
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, PostParams};
use serde_json::{Map, Value, json};

use crate::chart::{LoadedChart, RELEASE_FIELD_MANAGER};
use crate::hooks::{HookResult, HookRunner};
use crate::objects;
use crate::render::{self, Capabilities, Manifest};
use crate::storage::Storage;
use crate::waits::Waits;

/// How our revisions say they were applied. They are applied server-side
/// (forced, as this controller's field manager), but recorded as
/// client-side: Helm upgrades a release the way its last revision says, and
/// a server-side `helm upgrade` without `--force-conflicts` under Helm's own
/// field manager (the program's name) would then conflict on every field
/// this controller set, while its three-way merge takes the release over
/// cleanly. So `helm upgrade` and `helm rollback` keep working on releases
/// we made, and we take theirs back with a forced apply.
const RECORDED_APPLY_METHOD: ApplyMethod = ApplyMethod::ClientSide;

/// How [`Release::deploy`] deploys a revision.
struct Deploy<'a> {
    /// `install`, `upgrade` or `rollback`: names the hook events.
    action: &'a str,
    hooks: bool,
    wait: bool,
    wait_for_jobs: bool,
    force: bool,
    timeout: Duration,
    /// The previous revision's objects, when what left the chart goes.
    left_over: Option<&'a [Value]>,
}

/// An action that did not complete.
#[derive(Debug)]
pub struct Failed {
    /// What went wrong (Helm's words where it has them).
    pub message: String,
    /// The record the action left (status `failed`), if it wrote one.
    pub record: Option<Record>,
}

impl Failed {
    fn before_record(message: impl Into<String>) -> Self {
        Failed {
            message: message.into(),
            record: None,
        }
    }
}

/// Everything an action needs about one release.
pub struct Release<'a> {
    /// The HelmRelease (spec as read at the start of the reconcile).
    pub hr: &'a HelmRelease,
    /// The Helm release name.
    pub name: String,
    /// The release namespace (where its objects go).
    pub namespace: String,
    /// The release storage (the storage namespace).
    pub storage: Storage,
    /// Client and discovery of the target cluster, as the tenant.
    pub target: &'a Target,
    /// The waits shared by the controller.
    pub waits: &'a Waits,
    /// Whether the shared watches see the target (the local cluster).
    pub watch: bool,
    /// The chart.
    pub chart: &'a LoadedChart,
    /// The composed values.
    pub values: &'a Map<String, Value>,
    /// `.Capabilities` of the target.
    pub caps: &'a Capabilities,
    /// Requests in flight at once while applying.
    pub concurrency: usize,
    /// Notified when a newer generation of the HelmRelease arrives.
    pub cancel: Option<std::sync::Arc<tokio::sync::Notify>>,
    /// The work slot this release holds (`--concurrent` of them): given
    /// back while it only waits for readiness, so a slow release never
    /// holds up the others.
    pub slot: crate::gate::Slot,
    /// `spec.healthCheckExprs`, checked.
    pub health_exprs: std::sync::Arc<ferroflux_ssa::cel::HealthExprs>,
}

fn status_of(record: &Record) -> String {
    record
        .release
        .status()
        .map(|s| s.as_str().to_string())
        .unwrap_or_default()
}

impl Release<'_> {
    fn manager(&self) -> Manager {
        Manager::new(
            self.target.client.clone(),
            self.target.resolver.clone(),
            RELEASE_FIELD_MANAGER,
        )
        .with_health_exprs(self.health_exprs.clone())
    }

    fn hooks(&self, timeout: Duration) -> HookRunner<'_> {
        HookRunner {
            client: &self.target.client,
            resolver: &self.target.resolver,
            namespace: &self.namespace,
            timeout,
        }
    }

    /// The release's history in storage.
    pub async fn history(&self) -> Result<History, String> {
        self.storage
            .history(&self.name)
            .await
            .map_err(|e| e.to_string())
    }

    /// Renders on a blocking thread (templates are CPU work, and `lookup`
    /// asks the target cluster synchronously from there).
    async fn render(
        &self,
        values: &Map<String, Value>,
        is_upgrade: bool,
        skip_schema_validation: bool,
    ) -> Result<Manifest, String> {
        let options = render::RenderOptions {
            caps: self.caps.clone(),
            skip_schema_validation,
            lookup: Some(crate::lookup::live(
                self.target.client.clone(),
                self.target.resolver.clone(),
            )),
        };
        let (hr, chart, values) = (self.hr.clone(), self.chart.clone(), values.clone());
        let (name, namespace) = (self.name.clone(), self.namespace.clone());
        tokio::task::spawn_blocking(move || {
            render::render(
                &hr, &chart, &values, &name, &namespace, is_upgrade, &options,
            )
        })
        .await
        .map_err(|e| format!("rendering: {e}"))?
    }

    /// The manifest's objects, namespaced and marked as the release's.
    async fn prepared(&self, objects: &[Value]) -> Result<Vec<Value>, String> {
        let mut objects = objects.to_vec();
        objects::default_namespaces(&mut objects, &self.target.resolver, &self.namespace).await?;
        objects::set_ownership(&mut objects, &self.name, &self.namespace);
        Ok(objects)
    }

    async fn apply(
        &self,
        objects: Vec<Value>,
        force: bool,
    ) -> Result<ferroflux_ssa::ChangeSet, String> {
        let opts = ApplyOptions {
            force,
            concurrency: self.concurrency,
            wait_interval: Duration::from_millis(500),
            wait_timeout: self.hr.timeout(),
        };
        self.manager()
            .apply_all_staged(objects, &opts)
            .await
            .map_err(|e| e.to_string())
    }

    async fn delete(&self, metas: &[ObjMeta]) -> Result<ferroflux_ssa::ChangeSet, String> {
        let opts = DeleteOptions {
            owner_labels: BTreeMap::new(),
            concurrency: self.concurrency,
        };
        self.manager()
            .delete_all(metas, &opts)
            .await
            .map_err(|e| e.to_string())
    }

    async fn wait(&self, objects: &[Value], timeout: Duration, jobs: bool) -> Result<(), String> {
        let metas: Vec<ObjMeta> = objects::metas(objects)
            .into_iter()
            .filter(|m| jobs || !(m.kind == "Job" && m.group == "batch"))
            .collect();
        let manager = self.manager();
        let wait = self.waits.until_ready(
            &manager,
            &metas,
            timeout,
            self.watch,
            self.cancel.as_deref(),
        );
        self.slot.released_while(wait).await
    }

    /// CRDs from the chart's `crds/` as `policy` says.
    async fn crds(&self, manifest: &Manifest, policy: CrdsPolicy) -> Result<(), String> {
        if manifest.crds.is_empty() || policy == CrdsPolicy::Skip {
            return Ok(());
        }
        let mut wanted = manifest.crds.clone();
        if policy == CrdsPolicy::Create {
            // Only those missing: existing CRDs are left as they are.
            let api: Api<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition> =
                Api::all(self.target.client.clone());
            let mut missing = Vec::new();
            for c in wanted {
                let name = c
                    .pointer("/metadata/name")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                match api.get_opt(name).await {
                    Ok(Some(_)) => {}
                    Ok(None) => missing.push(c),
                    Err(e) => return Err(format!("reading CRD {name}: {e}")),
                }
            }
            wanted = missing;
        }
        if wanted.is_empty() {
            return Ok(());
        }
        self.apply(wanted, false).await.map(|_| ())
    }

    /// Refuses objects on the cluster that belong to no release or another
    /// (`disableTakeOwnership`), in Helm's words for `verb`.
    async fn owned(&self, objects: &[Value], verb: &str) -> Result<(), Failed> {
        objects::check_ownership(
            &self.target.client,
            &self.target.resolver,
            objects,
            &self.name,
            &self.namespace,
        )
        .await
        .map_err(|e| Failed::before_record(format!("Unable to continue with {verb}: {e}")))
    }

    async fn create_namespace(&self) -> Result<(), String> {
        let api: Api<Namespace> = Api::all(self.target.client.clone());
        match api.get_opt(&self.namespace).await {
            Ok(Some(_)) => Ok(()),
            Ok(None) => {
                let ns: Namespace = serde_json::from_value(json!({
                    "metadata": {"name": self.namespace}
                }))
                .map_err(|e| e.to_string())?;
                match api.create(&PostParams::default(), &ns).await {
                    Ok(_) => Ok(()),
                    Err(kube::Error::Api(s)) if s.code == 409 => Ok(()),
                    Err(e) => Err(format!("creating namespace {}: {e}", self.namespace)),
                }
            }
            Err(e) => Err(format!("reading namespace {}: {e}", self.namespace)),
        }
    }

    /// Marks `record` failed with `description` and stores it; the failure
    /// to return.
    async fn fail(&self, mut record: Record, description: String, message: String) -> Failed {
        record.release.set_status(Status::Failed, description);
        if let Err(e) = self.storage.update(&record).await {
            tracing::warn!(release = %self.name, error = %e, "recording a failed release");
        }
        Failed {
            message,
            record: Some(record),
        }
    }

    /// Helm's install.
    /// Deploys `objects` as `record` in Helm's order: `pre-<action>` hooks,
    /// apply, removal of what the previous objects had and these lack,
    /// readiness, `post-<action>` hooks. What the apply created is added to
    /// `created` (for `cleanupOnFail`).
    async fn deploy(
        &self,
        record: &mut Record,
        objects: &[Value],
        d: Deploy<'_>,
        created: &mut Vec<ObjMeta>,
    ) -> Result<(), String> {
        let action = d.action;
        if d.hooks {
            self.hooks(d.timeout)
                .run(&mut record.release.hooks, &format!("pre-{action}"), &|_| {
                    true
                })
                .await
                .map_err(|e| format!("pre-{action} hooks failed: {e}"))?;
        }
        let cs = self.apply(objects.to_vec(), d.force).await?;
        created.extend(
            cs.entries
                .iter()
                .filter(|e| e.action == Action::Created)
                .map(|e| e.object.clone()),
        );
        if let Some(old) = d.left_over {
            self.remove_left_over(old, objects).await?;
        }
        if d.wait {
            self.wait(objects, d.timeout, d.wait_for_jobs).await?;
        }
        if d.hooks {
            self.hooks(d.timeout)
                .run(
                    &mut record.release.hooks,
                    &format!("post-{action}"),
                    &|_| true,
                )
                .await
                .map_err(|e| format!("post-{action} hooks failed: {e}"))?;
        }
        Ok(())
    }

    /// Helm's install. Earlier revisions left in storage (an uninstall
    /// that kept its history, a failed install) are replaced as Helm's
    /// `--replace` does: numbered after them, the last one superseded.
    pub async fn install(&self, history: &History) -> Result<Record, Failed> {
        let spec = self.hr.install();
        let timeout = spec
            .timeout
            .as_ref()
            .map_or(self.hr.timeout(), |t| t.as_std());
        let manifest = self
            .render(self.values, false, spec.disable_schema_validation)
            .await
            .map_err(Failed::before_record)?;
        if spec.create_namespace {
            self.create_namespace()
                .await
                .map_err(Failed::before_record)?;
        }
        let policy = if spec.skip_crds {
            CrdsPolicy::Skip
        } else {
            spec.crds_policy()
        };
        self.crds(&manifest, policy)
            .await
            .map_err(|e| Failed::before_record(format!("failed to install CRDs: {e}")))?;
        let objects = self
            .prepared(&manifest.objects)
            .await
            .map_err(Failed::before_record)?;
        if spec.disable_take_ownership {
            self.owned(&objects, "install").await?;
        }
        let mut record = revision::install(
            &self.name,
            &self.namespace,
            manifest.stored.clone(),
            BTreeMap::new(),
            RECORDED_APPLY_METHOD,
            GoTime::now(),
        );
        record
            .release
            .set_status(Status::PendingInstall, "Initial install underway");
        if let Some(last) = history.latest() {
            record.release.version = last.release.version + 1;
            if last.release.status() != Some(&Status::Superseded) {
                let mut l = last.clone();
                l.release.supersede();
                let _ = self.storage.update(&l).await;
            }
        }
        if let Err(e) = self.storage.create(&record).await {
            return Err(Failed::before_record(e.to_string()));
        }
        let deploy = Deploy {
            action: "install",
            hooks: !spec.disable_hooks,
            wait: !spec.disable_wait,
            wait_for_jobs: !spec.disable_wait_for_jobs,
            force: false,
            timeout,
            left_over: None,
        };
        if let Err(e) = self
            .deploy(&mut record, &objects, deploy, &mut Vec::new())
            .await
        {
            let description = format!("Release {:?} failed: {e}", self.name);
            return Err(self.fail(record, description, e).await);
        }
        record
            .release
            .set_status(Status::Deployed, "Install complete");
        self.storage.update(&record).await.map_err(|e| Failed {
            message: e.to_string(),
            record: Some(record.clone()),
        })?;
        let _ = self.storage.prune(&self.name, self.hr.max_history()).await;
        Ok(record)
    }

    /// Helm's upgrade from the latest revision in `history`. When the
    /// chart's name changed and `chartNameChangeStrategy` is `Reinstall`,
    /// the release is uninstalled and installed anew instead (Flux).
    pub async fn upgrade(&self, history: &History) -> Result<Record, Failed> {
        let spec = self.hr.upgrade();
        let renamed = history
            .latest()
            .and_then(|l| l.release.chart_name())
            .is_some_and(|n| !n.is_empty() && n != self.chart.chart.metadata.name);
        if renamed
            && spec.chart_name_change_strategy()
                == ferroflux_api::helm::v2::ChartNameChangeStrategy::Reinstall
        {
            self.uninstall(history).await?;
            let after = self.history().await.map_err(Failed::before_record)?;
            return self.install(&after).await;
        }
        let timeout = spec
            .timeout
            .as_ref()
            .map_or(self.hr.timeout(), |t| t.as_std());
        let Some(last) = history.latest() else {
            return Err(Failed::before_record("no release to upgrade"));
        };
        let current = history.deployed().unwrap_or(last);
        let mut values = self.values.clone();
        if spec.preserve_values {
            let mut base = current.release.config.clone();
            ferroflux_helm::strvals::merge_maps(&mut base, values);
            values = base;
        }
        let manifest = self
            .render(&values, true, spec.disable_schema_validation)
            .await
            .map_err(Failed::before_record)?;
        self.crds(&manifest, spec.crds_policy())
            .await
            .map_err(|e| Failed::before_record(format!("failed to upgrade CRDs: {e}")))?;
        let objects = self
            .prepared(&manifest.objects)
            .await
            .map_err(Failed::before_record)?;
        if spec.disable_take_ownership {
            self.owned(&objects, "update").await?;
        }
        // What the new revision no longer has goes: from the deployed
        // revision, and (better than Helm, which leaves them behind) from a
        // failed one after it.
        let mut old = self.stored_objects(&current.release.manifest).await;
        if last.release.version != current.release.version {
            for o in self.stored_objects(&last.release.manifest).await {
                let known = ObjMeta::of(&o)
                    .is_ok_and(|m| objects::metas(&old).iter().any(|x| x.same_object(&m)));
                if !known {
                    old.push(o);
                }
            }
        }
        let mut record = revision::upgrade(
            last,
            &current.release,
            manifest.stored.clone(),
            &BTreeMap::new(),
            RECORDED_APPLY_METHOD,
            GoTime::now(),
        );
        if let Err(e) = self.storage.create(&record).await {
            return Err(Failed::before_record(e.to_string()));
        }
        let mut created: Vec<ObjMeta> = Vec::new();
        let deploy = Deploy {
            action: "upgrade",
            hooks: !spec.disable_hooks,
            wait: !spec.disable_wait,
            wait_for_jobs: !spec.disable_wait_for_jobs,
            force: spec.force,
            timeout,
            left_over: Some(&old),
        };
        let result = self
            .deploy(&mut record, &objects, deploy, &mut created)
            .await;
        if let Err(e) = result {
            if spec.cleanup_on_fail && !created.is_empty() {
                let _ = self.delete(&created).await;
            }
            let description = format!("Upgrade {:?} failed: {e}", self.name);
            return Err(self.fail(record, description, e).await);
        }
        self.supersede(history, record.release.version).await;
        record
            .release
            .set_status(Status::Deployed, "Upgrade complete");
        self.storage.update(&record).await.map_err(|e| Failed {
            message: e.to_string(),
            record: Some(record.clone()),
        })?;
        let _ = self.storage.prune(&self.name, self.hr.max_history()).await;
        Ok(record)
    }

    /// The objects of a stored manifest, namespaced as they were applied.
    async fn stored_objects(&self, manifest: &str) -> Vec<Value> {
        let mut objs = objects::parse_manifest(manifest).unwrap_or_default();
        if objects::default_namespaces(&mut objs, &self.target.resolver, &self.namespace)
            .await
            .is_err()
        {
            return Vec::new();
        }
        objs
    }

    /// Deletes what the previous manifest had and the new one has not
    /// (except what is marked to be kept), as Helm's upgrade does.
    async fn remove_left_over(&self, old: &[Value], new: &[Value]) -> Result<(), String> {
        let new: Vec<ObjMeta> = objects::metas(new);
        let keep: HashSet<String> = objects::kept(old).iter().map(ObjMeta::id).collect();
        let gone: Vec<ObjMeta> = objects::metas(old)
            .into_iter()
            .filter(|o| !new.iter().any(|n| n.same_object(o)))
            .filter(|o| !keep.contains(&o.id()))
            .collect();
        if gone.is_empty() {
            return Ok(());
        }
        self.delete(&gone).await.map(|_| ())
    }

    /// Marks every deployed revision other than `except` superseded.
    async fn supersede(&self, history: &History, except: i64) {
        for r in history.deployed_all() {
            if r.release.version == except {
                continue;
            }
            let mut r = r.clone();
            r.release.supersede();
            if let Err(e) = self.storage.update(&r).await {
                tracing::warn!(release = %self.name, error = %e, "superseding a revision");
            }
        }
    }

    /// Helm's rollback to `target_version`.
    pub async fn rollback(&self, history: &History, target_version: i64) -> Result<Record, Failed> {
        let spec = self.hr.rollback();
        let timeout = spec
            .timeout
            .as_ref()
            .map_or(self.hr.timeout(), |t| t.as_std());
        let Some(last) = history.latest() else {
            return Err(Failed::before_record("no release to roll back"));
        };
        let Some(target) = history.get(target_version) else {
            return Err(Failed::before_record(format!(
                "release {}.v{target_version} not found",
                self.name
            )));
        };
        let objects = self
            .prepared(
                &objects::parse_manifest(&target.release.manifest)
                    .map_err(Failed::before_record)?,
            )
            .await
            .map_err(Failed::before_record)?;
        let old = self.stored_objects(&last.release.manifest).await;
        let mut record =
            revision::rollback(&last.release, target, RECORDED_APPLY_METHOD, GoTime::now());
        if let Err(e) = self.storage.create(&record).await {
            return Err(Failed::before_record(e.to_string()));
        }
        let deploy = Deploy {
            action: "rollback",
            hooks: !spec.disable_hooks,
            wait: !spec.disable_wait,
            wait_for_jobs: !spec.disable_wait_for_jobs,
            force: spec.force,
            timeout,
            left_over: Some(&old),
        };
        if let Err(e) = self
            .deploy(&mut record, &objects, deploy, &mut Vec::new())
            .await
        {
            let description = format!("Rollback {:?} failed: {e}", self.name);
            return Err(self.fail(record, description, e).await);
        }
        // The failed revision and any deployed one are superseded by the rollback.
        self.supersede(history, record.release.version).await;
        if last.release.status() != Some(&Status::Deployed)
            && last.release.status() != Some(&Status::Superseded)
        {
            let mut l = last.clone();
            l.release.supersede();
            let _ = self.storage.update(&l).await;
        }
        record
            .release
            .set_status(Status::Deployed, format!("Rollback to {target_version}"));
        self.storage.update(&record).await.map_err(|e| Failed {
            message: e.to_string(),
            record: Some(record.clone()),
        })?;
        let _ = self.storage.prune(&self.name, self.hr.max_history()).await;
        Ok(record)
    }

    /// Helm's uninstall of the latest revision; `None` when there was
    /// nothing to uninstall.
    pub async fn uninstall(&self, history: &History) -> Result<Option<Record>, Failed> {
        let spec = self.hr.uninstall();
        let timeout = spec
            .timeout
            .as_ref()
            .map_or(self.hr.timeout(), |t| t.as_std());
        let Some(last) = history.latest() else {
            return Ok(None);
        };
        if last.release.status() == Some(&Status::Uninstalled) {
            return Ok(Some(last.clone()));
        }
        let mut record = last.clone();
        record.release.set_status(
            Status::Uninstalling,
            "Deletion in progress (or silently ignored)",
        );
        self.storage
            .update(&record)
            .await
            .map_err(|e| Failed::before_record(e.to_string()))?;
        let objs = self.stored_objects(&record.release.manifest).await;
        let step = async {
            if !spec.disable_hooks {
                self.hooks(timeout)
                    .run(&mut record.release.hooks, "pre-delete", &|_| true)
                    .await
                    .map_err(|e| format!("pre-delete hooks failed: {e}"))?;
            }
            let keep: HashSet<String> = objects::kept(&objs).iter().map(ObjMeta::id).collect();
            let metas: Vec<ObjMeta> = objects::metas(&objs)
                .into_iter()
                .filter(|o| !keep.contains(&o.id()))
                .collect();
            self.delete(&metas).await?;
            if !spec.disable_wait {
                self.until_gone(&metas, timeout).await?;
            }
            if !spec.disable_hooks {
                self.hooks(timeout)
                    .run(&mut record.release.hooks, "post-delete", &|_| true)
                    .await
                    .map_err(|e| format!("post-delete hooks failed: {e}"))?;
            }
            Ok::<(), String>(())
        };
        if let Err(e) = step.await {
            let description = format!("uninstallation completed with 1 error(s): {e}");
            return Err(self.fail(record, description, e).await);
        }
        record
            .release
            .set_status(Status::Uninstalled, "Uninstallation complete");
        if spec.keep_history {
            self.storage
                .update(&record)
                .await
                .map_err(|e| Failed::before_record(e.to_string()))?;
        } else {
            for r in history.records() {
                self.storage
                    .delete(&self.name, r.release.version)
                    .await
                    .map_err(|e| Failed::before_record(e.to_string()))?;
            }
        }
        Ok(Some(record))
    }

    /// Waits, on watches, until every one of `metas` is gone.
    async fn until_gone(&self, metas: &[ObjMeta], timeout: Duration) -> Result<(), String> {
        let all = async {
            for m in metas {
                let Some(r) = self
                    .target
                    .resolver
                    .resolve(&m.api_version(), &m.kind)
                    .await
                    .map_err(|e| e.to_string())?
                else {
                    continue;
                };
                let api: Api<kube::api::DynamicObject> = if r.namespaced {
                    Api::namespaced_with(self.target.client.clone(), &m.namespace, &r.resource)
                } else {
                    Api::all_with(self.target.client.clone(), &r.resource)
                };
                crate::hooks::deleted(&api, &m.name)
                    .await
                    .map_err(|e| format!("{m}: {e}"))?;
            }
            Ok::<(), String>(())
        };
        tokio::time::timeout(timeout, all)
            .await
            .map_err(|_| "timed out waiting for the release's objects to be deleted".to_string())?
    }

    /// Helm's test of the latest revision: its `test` hooks (filtered by
    /// `spec.test.filters`), each run recorded in the stored release.
    pub async fn test(&self, history: &History) -> Result<(Record, Vec<HookResult>), Failed> {
        let spec = self.hr.test();
        let timeout = spec
            .timeout
            .as_ref()
            .map_or(self.hr.timeout(), |t| t.as_std());
        let Some(last) = history.latest() else {
            return Err(Failed::before_record("no release to test"));
        };
        let mut record = last.clone();
        let filters = spec.filters.clone().unwrap_or_default();
        let selected = move |name: &str| {
            let includes: Vec<&str> = filters
                .iter()
                .filter(|f| !f.exclude)
                .map(|f| f.name.as_str())
                .collect();
            let excluded = filters.iter().any(|f| f.exclude && f.name == name);
            !excluded && (includes.is_empty() || includes.contains(&name))
        };
        let result = self
            .hooks(timeout)
            .run(&mut record.release.hooks, "test", &selected)
            .await;
        if let Err(e) = self.storage.update(&record).await {
            return Err(Failed {
                message: e.to_string(),
                record: Some(record),
            });
        }
        match result {
            Ok(results) => Ok((record, results)),
            Err(e) => Err(Failed {
                message: e,
                record: Some(record),
            }),
        }
    }

    /// Marks a revision left `pending-*` (a controller stopped in the
    /// middle of an action) failed, so the release can move on.
    pub async fn unlock(&self, history: &History) -> Result<Record, Failed> {
        let Some(last) = history.latest() else {
            return Err(Failed::before_record("no release to unlock"));
        };
        let mut record = last.clone();
        let was = status_of(&record);
        record.release.set_status(
            Status::Failed,
            format!("Release unlocked from stale '{was}' state"),
        );
        self.storage
            .update(&record)
            .await
            .map_err(|e| Failed::before_record(e.to_string()))?;
        Ok(record)
    }
}
