//! Staged server-side apply with drift detection.
//!
//! Every object is first planned: read from the cluster and dry-run applied.
//! Only when every object that can be planned up front has passed is
//! anything written, so a forbidden or invalid object stops the whole
//! revision before any of it lands. Objects whose kind or namespace is
//! created by this very set are planned after the stage that creates them.
//! An object whose dry-run result equals the live object is not written.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use futures::StreamExt;
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams, PropagationPolicy};
use serde_json::Value;

use crate::changeset::{Action, ChangeSet};
use crate::error::SsaError;
use crate::manager::Manager;
use crate::object::ObjMeta;
use crate::order::{Stage, apply_order, stage_of};
use crate::resolve::Resolved;

/// Annotation that changes how an object is applied: `Ignore` (never
/// applied), `IfNotPresent` (created, never updated), `Merge` (applied as usual).
pub const SSA_ANNOTATION: &str = "kustomize.toolkit.fluxcd.io/ssa";
/// Annotation (`Enabled`) that lets an object be recreated when an immutable
/// field changes, even without `force`.
pub const FORCE_ANNOTATION: &str = "kustomize.toolkit.fluxcd.io/force";

/// How a set is applied.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// Recreate objects whose immutable fields changed.
    pub force: bool,
    /// Requests in flight at once within a stage.
    pub concurrency: usize,
    /// How often readiness is polled between stages.
    pub wait_interval: Duration,
    /// How long a stage may take to become ready.
    pub wait_timeout: Duration,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        Self {
            force: false,
            concurrency: 16,
            wait_interval: Duration::from_millis(500),
            wait_timeout: Duration::from_secs(60),
        }
    }
}

/// What the plan decided for one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Create,
    Configure,
    Recreate,
    Keep,
    Skip,
}

struct Item {
    meta: ObjMeta,
    obj: Value,
    stage: Stage,
    resolved: Option<Resolved>,
    step: Option<Step>,
}

fn metadata_value<'a>(obj: &'a Value, field: &str, key: &str) -> Option<&'a str> {
    obj.get("metadata")?.get(field)?.get(key)?.as_str()
}

fn annotated(obj: &Value, key: &str, value: &str) -> bool {
    metadata_value(obj, "annotations", key) == Some(value)
        || metadata_value(obj, "labels", key) == Some(value)
}

fn api_for(client: &kube::Client, resolved: &Resolved, namespace: &str) -> Api<DynamicObject> {
    if resolved.namespaced {
        Api::namespaced_with(client.clone(), namespace, &resolved.resource)
    } else {
        Api::all_with(client.clone(), &resolved.resource)
    }
}

/// Whether the dry-run result differs from the live object in anything but
/// server-owned metadata and status.
pub fn drifted(live: &Value, dry_run: &Value) -> bool {
    let meta = |v: &Value, f: &str| v.get("metadata").and_then(|m| m.get(f)).cloned();
    let empty_as_none =
        |v: Option<Value>| v.filter(|v| v.as_object().is_none_or(|o| !o.is_empty()));
    if empty_as_none(meta(live, "labels")) != empty_as_none(meta(dry_run, "labels"))
        || empty_as_none(meta(live, "annotations")) != empty_as_none(meta(dry_run, "annotations"))
    {
        return true;
    }
    let body = |v: &Value| -> Value {
        let mut v = v.clone();
        if let Some(o) = v.as_object_mut() {
            o.remove("metadata");
            o.remove("status");
        }
        v
    };
    body(live) != body(dry_run)
}

impl Manager {
    /// Applies `objects` in stages (cluster definitions, class definitions,
    /// the rest), waiting after each of the first two until what it wrote is
    /// ready, and returns what happened to each object in apply order.
    pub async fn apply_all_staged(
        &self,
        objects: Vec<Value>,
        opts: &ApplyOptions,
    ) -> Result<ChangeSet, SsaError> {
        let mut items = self.prepare(objects).await?;
        // Kinds and namespaces this set defines, for objects that need them.
        let defined_kinds: HashSet<(String, String)> = items
            .iter()
            .filter(|i| i.meta.kind == "CustomResourceDefinition")
            .filter_map(|i| {
                let group = i.obj.pointer("/spec/group")?.as_str()?;
                let kind = i.obj.pointer("/spec/names/kind")?.as_str()?;
                Some((group.to_string(), kind.to_string()))
            })
            .collect();
        for i in &items {
            if i.resolved.is_none()
                && !defined_kinds.contains(&(i.meta.group.clone(), i.meta.kind.clone()))
            {
                return Err(unknown_kind(&i.meta));
            }
        }

        // Plan the cluster definitions, then everything that does not wait on them.
        let first: Vec<usize> = (0..items.len())
            .filter(|&n| items[n].stage == Stage::ClusterDefinitions && items[n].resolved.is_some())
            .collect();
        self.plan(&mut items, &first, opts).await?;
        let new_namespaces: HashSet<String> = items
            .iter()
            .filter(|i| i.meta.kind == "Namespace" && i.meta.group.is_empty())
            .filter(|i| i.step == Some(Step::Create))
            .map(|i| i.meta.name.clone())
            .collect();
        let rest: Vec<usize> = (0..items.len())
            .filter(|&n| {
                let i = &items[n];
                i.stage != Stage::ClusterDefinitions
                    && i.resolved.is_some()
                    && !new_namespaces.contains(&i.meta.namespace)
            })
            .collect();
        self.plan(&mut items, &rest, opts).await?;

        let mut changed_kinds: HashSet<(String, String)> = HashSet::new();
        for stage in [
            Stage::ClusterDefinitions,
            Stage::ClassDefinitions,
            Stage::Resources,
        ] {
            // Late planning: kinds and namespaces created by earlier stages,
            // and objects whose CRD just changed (its defaults may differ now).
            let late: Vec<usize> = items
                .iter()
                .enumerate()
                .filter(|(_, i)| i.stage == stage)
                .filter(|(_, i)| {
                    let kind = (i.meta.group.clone(), i.meta.kind.clone());
                    i.step.is_none() || changed_kinds.contains(&kind)
                })
                .map(|(n, _)| n)
                .collect();
            for &n in &late {
                if crd_changed_or_unresolved(&items[n], &changed_kinds) {
                    self.resolver.forget(&items[n].meta.api_version());
                    let resolved = self
                        .resolver
                        .resolve(&items[n].meta.api_version(), &items[n].meta.kind)
                        .await?;
                    match resolved {
                        Some(r) => items[n].resolved = Some(r),
                        None => return Err(unknown_kind(&items[n].meta)),
                    }
                    normalize_scope(&mut items[n])?;
                }
            }
            self.plan(&mut items, &late, opts).await?;

            let writes: Vec<usize> = (0..items.len())
                .filter(|&n| items[n].stage == stage)
                .filter(|&n| {
                    matches!(
                        items[n].step,
                        Some(Step::Create | Step::Configure | Step::Recreate)
                    )
                })
                .collect();
            self.write(&items, &writes, opts).await?;
            for &n in &writes {
                let i = &items[n];
                if i.meta.kind != "CustomResourceDefinition" {
                    continue;
                }
                if let (Some(g), Some(k)) = (
                    i.obj.pointer("/spec/group").and_then(Value::as_str),
                    i.obj.pointer("/spec/names/kind").and_then(Value::as_str),
                ) {
                    changed_kinds.insert((g.to_string(), k.to_string()));
                }
            }
            if stage != Stage::Resources && !writes.is_empty() {
                let metas: Vec<ObjMeta> = writes.iter().map(|&n| items[n].meta.clone()).collect();
                self.wait_for_set(&metas, opts.wait_interval, opts.wait_timeout)
                    .await?;
            }
        }

        let mut cs = ChangeSet::default();
        for i in items {
            let action = match i.step {
                Some(Step::Create | Step::Recreate) => Action::Created,
                Some(Step::Configure) => Action::Configured,
                Some(Step::Skip) => Action::Skipped,
                Some(Step::Keep) | None => Action::Unchanged,
            };
            cs.push(i.meta, action);
        }
        Ok(cs)
    }

    /// What [`Manager::apply_all_staged`] would do to `objects`, without
    /// writing anything: each object is read and dry-run applied, and
    /// reported `Created` (missing, or of a kind the cluster does not serve
    /// yet), `Configured` (drifted), `Unchanged` or `Skipped`. Drift
    /// detection uses it.
    pub async fn plan_all(
        &self,
        objects: Vec<Value>,
        opts: &ApplyOptions,
    ) -> Result<ChangeSet, SsaError> {
        let mut items = self.prepare(objects).await?;
        let resolved: Vec<usize> = (0..items.len())
            .filter(|&n| items[n].resolved.is_some())
            .collect();
        self.plan(&mut items, &resolved, opts).await?;
        let mut cs = ChangeSet::default();
        for i in items {
            let action = match i.step {
                None | Some(Step::Create | Step::Recreate) => Action::Created,
                Some(Step::Configure) => Action::Configured,
                Some(Step::Skip) => Action::Skipped,
                Some(Step::Keep) => Action::Unchanged,
            };
            cs.push(i.meta, action);
        }
        Ok(cs)
    }

    /// Parses, orders and resolves the objects; rejects duplicates.
    async fn prepare(&self, objects: Vec<Value>) -> Result<Vec<Item>, SsaError> {
        let mut items = Vec::with_capacity(objects.len());
        for obj in objects {
            let meta = ObjMeta::of(&obj)?;
            let stage = stage_of(&meta);
            items.push(Item {
                meta,
                obj,
                stage,
                resolved: None,
                step: None,
            });
        }
        items.sort_by(|a, b| apply_order(&a.meta, &b.meta));
        for w in items.windows(2) {
            if w[0].meta.same_object(&w[1].meta) {
                return Err(SsaError::Invalid {
                    subject: w[0].meta.to_string(),
                    message: "the object appears more than once in the set".into(),
                });
            }
        }
        let mut by_version: BTreeMap<(String, String), Option<Resolved>> = BTreeMap::new();
        for i in &mut items {
            let key = (i.meta.api_version(), i.meta.kind.clone());
            if !by_version.contains_key(&key) {
                let r = self.resolver.resolve(&key.0, &key.1).await?;
                by_version.insert(key.clone(), r);
            }
            i.resolved = by_version.get(&key).cloned().flatten();
            if i.resolved.is_some() {
                normalize_scope(i)?;
            }
        }
        Ok(items)
    }

    /// Reads and dry-runs the objects at `which`, setting their step.
    async fn plan(
        &self,
        items: &mut [Item],
        which: &[usize],
        opts: &ApplyOptions,
    ) -> Result<(), SsaError> {
        let steps: Vec<Result<Step, SsaError>> =
            futures::stream::iter(which.iter().copied().map(|n| {
                let item = &items[n];
                self.plan_one(item, opts)
            }))
            .buffered(opts.concurrency.max(1))
            .collect()
            .await;
        for (&n, step) in which.iter().zip(steps) {
            items[n].step = Some(step?);
        }
        Ok(())
    }

    async fn plan_one(&self, item: &Item, opts: &ApplyOptions) -> Result<Step, SsaError> {
        let Some(resolved) = &item.resolved else {
            return Err(unknown_kind(&item.meta));
        };
        let api = api_for(&self.client, resolved, &item.meta.namespace);
        let name = item.meta.name.as_str();
        let dry = PatchParams::apply(&self.field_manager).force().dry_run();
        let patch = Patch::Apply(&item.obj);
        let (live, dry_run) = tokio::join!(api.get_opt(name), api.patch(name, &dry, &patch));
        let live = live
            .map_err(|e| SsaError::api(&item.meta, "get", e))?
            .map(|o| serde_json::to_value(o).unwrap_or(Value::Null));
        let ssa_mode =
            |o: &Value| metadata_value(o, "annotations", SSA_ANNOTATION).map(str::to_string);
        let ignored = |o: &Value| {
            matches!(
                ssa_mode(o).as_deref(),
                Some("Ignore" | "ignore" | "disabled")
            )
        };
        if ignored(&item.obj) || live.as_ref().is_some_and(ignored) {
            return Ok(Step::Skip);
        }
        if live.is_some() && ssa_mode(&item.obj).as_deref() == Some("IfNotPresent") {
            return Ok(Step::Skip);
        }
        let dry_run = match dry_run {
            Ok(o) => serde_json::to_value(o).unwrap_or(Value::Null),
            Err(e) => {
                let err = SsaError::api(&item.meta, "dry-run", e);
                let may_force = opts.force
                    || annotated(&item.obj, FORCE_ANNOTATION, "Enabled")
                    || live
                        .as_ref()
                        .is_some_and(|l| annotated(l, FORCE_ANNOTATION, "Enabled"));
                if live.is_some() && err.is_immutable() && may_force {
                    return Ok(Step::Recreate);
                }
                return Err(err);
            }
        };
        Ok(match live {
            None => Step::Create,
            Some(live) if drifted(&live, &dry_run) => Step::Configure,
            Some(_) => Step::Keep,
        })
    }

    /// Writes the objects at `which` (apply, or delete and apply for recreations).
    async fn write(
        &self,
        items: &[Item],
        which: &[usize],
        opts: &ApplyOptions,
    ) -> Result<(), SsaError> {
        let results: Vec<Result<(), SsaError>> =
            futures::stream::iter(which.iter().copied().map(|n| {
                let item = &items[n];
                async move {
                    let Some(resolved) = &item.resolved else {
                        return Err(unknown_kind(&item.meta));
                    };
                    let api = api_for(&self.client, resolved, &item.meta.namespace);
                    if item.step == Some(Step::Recreate) {
                        self.recreate_delete(&api, &item.meta, opts).await?;
                    }
                    let params = PatchParams::apply(&self.field_manager).force();
                    api.patch(&item.meta.name, &params, &Patch::Apply(&item.obj))
                        .await
                        .map_err(|e| SsaError::api(&item.meta, "apply", e))?;
                    Ok(())
                }
            }))
            .buffer_unordered(opts.concurrency.max(1))
            .collect()
            .await;
        results.into_iter().collect()
    }

    /// Deletes an object whose immutable fields changed and waits until it is gone.
    async fn recreate_delete(
        &self,
        api: &Api<DynamicObject>,
        meta: &ObjMeta,
        opts: &ApplyOptions,
    ) -> Result<(), SsaError> {
        let params = DeleteParams {
            propagation_policy: Some(PropagationPolicy::Background),
            ..Default::default()
        };
        match api.delete(&meta.name, &params).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 404 => return Ok(()),
            Err(e) => return Err(SsaError::api(meta, "delete", e)),
        }
        let deadline = tokio::time::Instant::now() + opts.wait_timeout;
        loop {
            match api.get_opt(&meta.name).await {
                Ok(None) => return Ok(()),
                Ok(Some(_)) if tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(opts.wait_interval).await;
                }
                Ok(Some(_)) => {
                    return Err(SsaError::Timeout(format!(
                        "{meta} status: 'Terminating' (recreating after an immutable field changed)"
                    )));
                }
                Err(e) => return Err(SsaError::api(meta, "get", e)),
            }
        }
    }
}

fn crd_changed_or_unresolved(item: &Item, changed_kinds: &HashSet<(String, String)>) -> bool {
    item.resolved.is_none()
        || changed_kinds.contains(&(item.meta.group.clone(), item.meta.kind.clone()))
}

fn unknown_kind(meta: &ObjMeta) -> SsaError {
    SsaError::UnknownKind {
        subject: meta.to_string(),
        kind: meta.kind.clone(),
        api_version: meta.api_version(),
    }
}

/// Cluster-scoped objects lose a stray namespace (as kubectl does);
/// namespaced ones must have one.
fn normalize_scope(item: &mut Item) -> Result<(), SsaError> {
    let namespaced = item.resolved.as_ref().is_some_and(|r| r.namespaced);
    if namespaced && item.meta.namespace.is_empty() {
        return Err(SsaError::Invalid {
            subject: item.meta.to_string(),
            message: "namespace not specified (the kind is namespaced)".into(),
        });
    }
    if !namespaced && !item.meta.namespace.is_empty() {
        item.meta.namespace.clear();
        if let Some(m) = item.obj.get_mut("metadata").and_then(Value::as_object_mut) {
            m.remove("namespace");
        }
    }
    Ok(())
}
