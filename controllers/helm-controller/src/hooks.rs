//! Helm hooks: the chart's `helm.sh/hook` objects run around an action
//! (`pre-install`, `post-upgrade`, `test`, ...), in weight order, each
//! created, waited for when it is a Job or a Pod, and deleted as its
//! `helm.sh/hook-delete-policy` says. Each run is recorded in the hook's
//! `last_run`, as Helm records it in the release.

use std::time::Duration;

use ferroflux_helm::release::{GoTime, Hook, HookExecution};
use ferroflux_ssa::Resolver;
use futures::StreamExt;
use kube::api::{Api, DeleteParams, DynamicObject, PostParams, PropagationPolicy};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use serde_json::Value;

/// Helm's default delete policy when a hook names none.
pub const BEFORE_HOOK_CREATION: &str = "before-hook-creation";
/// Delete the hook object when it succeeded.
pub const HOOK_SUCCEEDED: &str = "hook-succeeded";
/// Delete the hook object when it failed.
pub const HOOK_FAILED: &str = "hook-failed";

/// Where hooks run.
pub struct HookRunner<'a> {
    /// The release's client (possibly impersonating the tenant).
    pub client: &'a kube::Client,
    /// Its discovery.
    pub resolver: &'a Resolver,
    /// The release namespace (for hooks that name none).
    pub namespace: &'a str,
    /// How long each hook may take.
    pub timeout: Duration,
}

/// How one hook ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookResult {
    /// The hook's name.
    pub name: String,
    /// `Succeeded` or `Failed`.
    pub phase: String,
    /// Why it failed.
    pub message: Option<String>,
}

fn policies(h: &Hook) -> Vec<String> {
    if h.delete_policies.is_empty() {
        vec![BEFORE_HOOK_CREATION.to_string()]
    } else {
        h.delete_policies.clone()
    }
}

impl HookRunner<'_> {
    async fn api_for(&self, obj: &Value) -> Result<(Api<DynamicObject>, String), String> {
        let api_version = obj["apiVersion"].as_str().unwrap_or_default();
        let kind = obj["kind"].as_str().unwrap_or_default();
        let name = obj
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let resolved = self
            .resolver
            .resolve(api_version, kind)
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| {
                format!("no matches for kind \"{kind}\" in version \"{api_version}\"")
            })?;
        let api = if resolved.namespaced {
            let ns = obj
                .pointer("/metadata/namespace")
                .and_then(Value::as_str)
                .filter(|n| !n.is_empty())
                .unwrap_or(self.namespace);
            Api::namespaced_with(self.client.clone(), ns, &resolved.resource)
        } else {
            Api::all_with(self.client.clone(), &resolved.resource)
        };
        Ok((api, name))
    }

    /// Deletes a hook object and waits until it is gone.
    async fn delete(&self, api: &Api<DynamicObject>, name: &str) -> Result<(), String> {
        let params = DeleteParams {
            propagation_policy: Some(PropagationPolicy::Background),
            ..DeleteParams::default()
        };
        match api.delete(name, &params).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 404 => return Ok(()),
            Err(e) => return Err(format!("deleting hook {name}: {e}")),
        }
        tokio::time::timeout(self.timeout, deleted(api, name))
            .await
            .map_err(|_| format!("timed out waiting for hook {name} to be deleted"))?
    }

    /// Runs the hooks of `event` among `hooks` (sorted by weight, stable),
    /// recording each run in the hook. Stops at the first failure, whose
    /// message names the hook, as Helm does. `only` filters by name (tests).
    pub async fn run(
        &self,
        hooks: &mut [Hook],
        event: &str,
        only: &(dyn Fn(&str) -> bool + Sync),
    ) -> Result<Vec<HookResult>, String> {
        let mut order: Vec<usize> = (0..hooks.len())
            .filter(|&n| hooks[n].events.iter().any(|e| e == event))
            .filter(|&n| only(&hooks[n].name))
            .collect();
        order.sort_by_key(|&n| hooks[n].weight);
        let mut results = Vec::new();
        for n in order {
            let result = self.run_one(&mut hooks[n], event).await;
            let failed = result.phase != "Succeeded";
            let message = result.message.clone();
            results.push(result);
            if failed {
                return Err(format!(
                    "{event} hook {} failed: {}",
                    hooks[n].path,
                    message.unwrap_or_default()
                ));
            }
        }
        Ok(results)
    }

    async fn run_one(&self, hook: &mut Hook, _event: &str) -> HookResult {
        let done = |hook: &mut Hook, phase: &str, message: Option<String>| {
            hook.last_run.phase = phase.to_string();
            hook.last_run.completed_at = Some(GoTime::now());
            HookResult {
                name: hook.name.clone(),
                phase: phase.to_string(),
                message,
            }
        };
        hook.last_run = HookExecution {
            started_at: Some(GoTime::now()),
            phase: "Running".into(),
            ..HookExecution::default()
        };
        let mut obj: Value = match serde_yaml::from_str(&hook.manifest) {
            Ok(v) => v,
            Err(e) => return done(hook, "Failed", Some(format!("YAML parse error: {e}"))),
        };
        let (api, name) = match self.api_for(&obj).await {
            Ok(x) => x,
            Err(e) => return done(hook, "Failed", Some(e)),
        };
        let policies = policies(hook);
        if policies.iter().any(|p| p == BEFORE_HOOK_CREATION)
            && let Err(e) = self.delete(&api, &name).await
        {
            return done(hook, "Failed", Some(e));
        }
        if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.remove("namespace");
        }
        let created: DynamicObject = match serde_json::from_value(obj) {
            Ok(o) => o,
            Err(e) => return done(hook, "Failed", Some(e.to_string())),
        };
        if let Err(e) = api.create(&PostParams::default(), &created).await {
            return done(hook, "Failed", Some(format!("creating {name}: {e}")));
        }
        let kind = hook.kind.as_str();
        let outcome = if kind == "Job" || kind == "Pod" {
            match tokio::time::timeout(self.timeout, completion(&api, &name, kind)).await {
                Ok(r) => r,
                Err(_) => Err(format!("timed out waiting for {kind} {name} to complete")),
            }
        } else {
            Ok(())
        };
        let (phase, message) = match &outcome {
            Ok(()) => ("Succeeded", None),
            Err(e) => ("Failed", Some(e.clone())),
        };
        let delete_now = match phase {
            "Succeeded" => policies.iter().any(|p| p == HOOK_SUCCEEDED),
            _ => policies.iter().any(|p| p == HOOK_FAILED),
        };
        if delete_now && let Err(e) = self.delete(&api, &name).await {
            tracing::warn!(hook = %name, error = %e, "deleting a finished hook");
        }
        done(hook, phase, message)
    }
}

/// How a Job or Pod has ended so far: `Some(Ok)` succeeded, `Some(Err)`
/// failed, `None` still running.
pub fn finished(kind: &str, obj: &Value) -> Option<Result<(), String>> {
    match kind {
        "Job" => {
            let conds = obj.pointer("/status/conditions")?.as_array()?;
            let is = |t: &str| {
                conds
                    .iter()
                    .find(|c| c["type"] == t && c["status"] == "True")
            };
            if is("Complete").is_some() {
                return Some(Ok(()));
            }
            if let Some(c) = is("Failed") {
                return Some(Err(format!(
                    "job failed: {}",
                    c["reason"].as_str().unwrap_or("Failed")
                )));
            }
            None
        }
        _ => match obj.pointer("/status/phase").and_then(Value::as_str) {
            Some("Succeeded") => Some(Ok(())),
            Some("Failed") => Some(Err(format!(
                "pod {} failed",
                obj.pointer("/metadata/name")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
            ))),
            _ => None,
        },
    }
}

/// Waits, on a watch of the one object, until the Job or Pod has ended.
async fn completion(api: &Api<DynamicObject>, name: &str, kind: &str) -> Result<(), String> {
    let config = watcher::Config::default().fields(&format!("metadata.name={name}"));
    let mut events = std::pin::pin!(watcher(api.clone(), config));
    while let Some(event) = events.next().await {
        let obj = match event {
            Ok(Event::Apply(o) | Event::InitApply(o)) => o,
            Ok(Event::Delete(_)) => {
                return Err(format!("{kind} {name} was deleted before it ended"));
            }
            Ok(_) => continue,
            Err(e) => {
                tracing::debug!(error = %e, "hook watch");
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        };
        let v = serde_json::to_value(&obj).unwrap_or(Value::Null);
        if let Some(r) = finished(kind, &v) {
            return r;
        }
    }
    Err(format!("watch of {kind} {name} ended"))
}

use kube::runtime::watcher::watcher;

/// Waits, on a watch of the one object, until `name` is gone.
pub async fn deleted(api: &Api<DynamicObject>, name: &str) -> Result<(), String> {
    let config = watcher::Config::default().fields(&format!("metadata.name={name}"));
    let mut events = std::pin::pin!(watcher(api.clone(), config).default_backoff());
    let mut listed = false;
    while let Some(event) = events.next().await {
        match event {
            Ok(Event::Init) => listed = false,
            Ok(Event::InitApply(_)) => listed = true,
            Ok(Event::InitDone) if !listed => return Ok(()),
            Ok(Event::Delete(_)) => return Ok(()),
            Ok(_) => {}
            Err(e) => tracing::debug!(error = %e, "deletion watch"),
        }
    }
    Err(format!("watch of {name} ended"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn jobs_and_pods_end_as_their_status_says() {
        let job = json!({"status": {"conditions": [{"type": "Complete", "status": "True"}]}});
        assert_eq!(finished("Job", &job), Some(Ok(())));
        let job = json!({"status": {"conditions": [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded"}]}});
        assert_eq!(
            finished("Job", &job),
            Some(Err("job failed: BackoffLimitExceeded".into()))
        );
        assert_eq!(finished("Job", &json!({"status": {}})), None);
        let pod = json!({"metadata": {"name": "t"}, "status": {"phase": "Failed"}});
        assert_eq!(finished("Pod", &pod), Some(Err("pod t failed".into())));
        assert_eq!(
            finished("Pod", &json!({"status": {"phase": "Running"}})),
            None
        );
    }

    #[test]
    fn hooks_default_to_before_hook_creation() {
        let h = Hook::default();
        assert_eq!(policies(&h), vec![BEFORE_HOOK_CREATION.to_string()]);
    }
}
