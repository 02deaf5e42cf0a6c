//! Prune: deleting what left the set, in reverse apply order, sparing what
//! is marked to be kept or now belongs to someone else.

use std::collections::BTreeMap;

use futures::StreamExt;
use kube::api::{Api, DeleteParams, DynamicObject, PropagationPolicy};
use serde_json::Value;

use crate::changeset::{Action, ChangeSet};
use crate::error::SsaError;
use crate::manager::Manager;
use crate::object::ObjMeta;
use crate::order::{Stage, apply_order, stage_of};

/// Annotation (or label) `disabled` that keeps an object when it leaves the set.
pub const PRUNE_ANNOTATION: &str = "kustomize.toolkit.fluxcd.io/prune";

/// How a prune is done.
#[derive(Debug, Clone, Default)]
pub struct DeleteOptions {
    /// Only objects whose labels include all of these are deleted (the
    /// owner labels the applier put on them); empty: no such check.
    pub owner_labels: BTreeMap<String, String>,
    /// Requests in flight at once.
    pub concurrency: usize,
}

impl Manager {
    /// Deletes `objects` (those that still exist, are not marked
    /// `prune: disabled` and carry the owner labels), resources first and
    /// cluster definitions last, and says what happened to each.
    pub async fn delete_all(
        &self,
        objects: &[ObjMeta],
        opts: &DeleteOptions,
    ) -> Result<ChangeSet, SsaError> {
        let mut ordered: Vec<ObjMeta> = objects.to_vec();
        ordered.sort_by(apply_order);
        ordered.reverse();
        let mut cs = ChangeSet::default();
        for stage in [
            Stage::Resources,
            Stage::ClassDefinitions,
            Stage::ClusterDefinitions,
        ] {
            let batch: Vec<ObjMeta> = ordered
                .iter()
                .filter(|o| stage_of(o) == stage)
                .cloned()
                .collect();
            // Owned items keep the futures free of borrowed closure
            // arguments, which callers need for `Send` futures.
            let results: Vec<(ObjMeta, Result<Option<Action>, SsaError>)> =
                futures::stream::iter(batch.into_iter().map(|o| async move {
                    let r = self.delete_one(&o, opts).await;
                    (o, r)
                }))
                .buffered(opts.concurrency.max(1))
                .collect()
                .await;
            for (o, r) in results {
                if let Some(action) = r? {
                    cs.push(o, action);
                }
            }
        }
        Ok(cs)
    }

    async fn delete_one(
        &self,
        meta: &ObjMeta,
        opts: &DeleteOptions,
    ) -> Result<Option<Action>, SsaError> {
        let Some(resolved) = self
            .resolver
            .resolve(&meta.api_version(), &meta.kind)
            .await?
        else {
            // The kind is no longer served, so no such object can exist.
            return Ok(None);
        };
        let api: Api<DynamicObject> = if resolved.namespaced {
            Api::namespaced_with(self.client.clone(), &meta.namespace, &resolved.resource)
        } else {
            Api::all_with(self.client.clone(), &resolved.resource)
        };
        let Some(live) = api
            .get_opt(&meta.name)
            .await
            .map_err(|e| SsaError::api(meta, "get", e))?
        else {
            return Ok(None);
        };
        let live = serde_json::to_value(live).unwrap_or(Value::Null);
        let meta_str = |field: &str, key: &str| {
            live.get("metadata")
                .and_then(|m| m.get(field))
                .and_then(|m| m.get(key))
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        if meta_str("annotations", PRUNE_ANNOTATION).as_deref() == Some("disabled")
            || meta_str("labels", PRUNE_ANNOTATION).as_deref() == Some("disabled")
        {
            return Ok(Some(Action::Skipped));
        }
        if opts
            .owner_labels
            .iter()
            .any(|(k, v)| meta_str("labels", k).as_deref() != Some(v.as_str()))
        {
            return Ok(Some(Action::Skipped));
        }
        if live.pointer("/metadata/deletionTimestamp").is_some() {
            return Ok(Some(Action::Deleted));
        }
        let params = DeleteParams {
            propagation_policy: Some(PropagationPolicy::Background),
            ..Default::default()
        };
        match api.delete(&meta.name, &params).await {
            Ok(_) => Ok(Some(Action::Deleted)),
            Err(kube::Error::Api(s)) if s.code == 404 => Ok(None),
            Err(e) => Err(SsaError::api(meta, "delete", e)),
        }
    }
}
