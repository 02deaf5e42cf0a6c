//! Waiting until objects are ready, judged by the health module.

use std::time::Duration;

use futures::StreamExt;
use kube::api::{Api, DynamicObject};
use serde_json::Value;

use crate::error::SsaError;
use crate::health::{self, Health, Status};
use crate::manager::Manager;
use crate::object::ObjMeta;

impl Manager {
    /// The health of each object as it is now (`NotFound` when it does not exist).
    pub async fn health_of(&self, objects: &[ObjMeta]) -> Result<Vec<Health>, SsaError> {
        futures::stream::iter(
            objects
                .iter()
                .cloned()
                .map(|o| async move { self.health_one(&o).await }),
        )
        .buffered(16)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect()
    }

    async fn health_one(&self, meta: &ObjMeta) -> Result<Health, SsaError> {
        let not_found = || Health {
            status: Status::NotFound,
            message: "the object does not exist".into(),
        };
        let Some(resolved) = self
            .resolver
            .resolve(&meta.api_version(), &meta.kind)
            .await?
        else {
            return Ok(not_found());
        };
        let api: Api<DynamicObject> = if resolved.namespaced {
            Api::namespaced_with(self.client.clone(), &meta.namespace, &resolved.resource)
        } else {
            Api::all_with(self.client.clone(), &resolved.resource)
        };
        match api.get_opt(&meta.name).await {
            Ok(Some(o)) => {
                let v = serde_json::to_value(o).unwrap_or(Value::Null);
                let custom = self.health_exprs.as_ref().and_then(|e| e.assess(&v));
                Ok(custom.unwrap_or_else(|| health::assess(&v)))
            }
            Ok(None) => Ok(not_found()),
            Err(e) => Err(SsaError::api(meta, "get", e)),
        }
    }

    /// Polls every `interval` until all `objects` are `Current`; fails at
    /// once when one reports `Failed`, and after `timeout` naming those not
    /// ready.
    pub async fn wait_for_set(
        &self,
        objects: &[ObjMeta],
        interval: Duration,
        timeout: Duration,
    ) -> Result<(), SsaError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let health = self.health_of(objects).await?;
            let failed: Vec<String> = objects
                .iter()
                .zip(&health)
                .filter(|(_, h)| h.status == Status::Failed)
                .map(|(o, h)| format!("{o} status: 'Failed': {}", h.message))
                .collect();
            if !failed.is_empty() {
                return Err(SsaError::Unhealthy(failed.join("; ")));
            }
            let pending: Vec<String> = objects
                .iter()
                .zip(&health)
                .filter(|(_, h)| h.status != Status::Current)
                .map(|(o, h)| format!("{o} status: '{:?}'", h.status))
                .collect();
            if pending.is_empty() {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(SsaError::Timeout(pending.join(", ")));
            }
            tokio::time::sleep(interval).await;
        }
    }
}
