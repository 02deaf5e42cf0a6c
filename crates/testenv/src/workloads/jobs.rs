//! Jobs as kube's job controller runs them (NonIndexed completion mode): the
//! Job keeps up to `parallelism` (default 1) Pods of its template active
//! until `completions` (default 1) of them have succeeded; each failed Pod,
//! and each restart of an `OnFailure` Pod's containers, counts against
//! `backoffLimit` (default 6), and one failure more than that ends the Job.
//!
//! Its status has the fields and conditions the job controller writes
//! (`startTime`, `active`, `ready`, `succeeded`, `failed`, `terminating`,
//! `uncountedTerminatedPods`; then `SuccessCriteriaMet` + `Complete`, or
//! `FailureTarget` + `Failed` with reason `BackoffLimitExceeded`), and its Pods
//! the labels and controller reference it gives them. The failure
//! annotations of [`super`] on the Job itself are passed on to its Pods.
//! Not simulated: the back-off delay between retries, `suspend`,
//! `activeDeadlineSeconds`, Indexed mode, `podFailurePolicy`,
//! `successPolicy`, `backoffLimitPerIndex`.

use std::sync::Arc;

use serde_json::{Map, Value, json};

use super::{EXIT_CODE_ANNOTATION, FAIL_ANNOTATION, pods};
use crate::objects;
use crate::store::{Key, Store, Txn};

/// Takes the Job at `key` one step further: creates the Pods it lacks, counts
/// the finished ones, ends it. Returns the Pods it created, to be stepped.
pub(super) fn step(store: &Store, key: &Key) -> Vec<(Key, u32)> {
    let mut txn = store.txn();
    let Some(job) = txn.get(key) else {
        return Vec::new();
    };
    let meta = &job["metadata"];
    let Some(uid) = meta["uid"].as_str() else {
        return Vec::new();
    };
    if finished(&job) || !meta["deletionTimestamp"].is_null() || job["spec"]["suspend"] == true {
        return Vec::new();
    }
    let pods: Vec<(Key, Arc<Value>)> = txn
        .list("", "pods", Some(&key.namespace))
        .into_iter()
        .filter(|p| controlled_by(p, uid))
        .map(|p| {
            let name = p["metadata"]["name"].as_str().unwrap_or("").to_string();
            (Key::new("", "pods", &key.namespace, &name), p)
        })
        .collect();
    let count = Counts::of(pods.iter().map(|(_, p)| &**p));
    let spec = &job["spec"];
    let int = |field: &str, default: i64| spec[field].as_i64().unwrap_or(default).max(0);
    let (completions, parallelism, backoff_limit) = (
        int("completions", 1),
        int("parallelism", 1),
        int("backoffLimit", 6),
    );

    let now = objects::now();
    let previous = &job["status"];
    let mut status = Map::new();
    status.insert(
        "startTime".into(),
        json!(previous["startTime"].as_str().unwrap_or(&now)),
    );
    let mut created = Vec::new();
    let active: Vec<&Key> = pods
        .iter()
        .filter(|(_, p)| !terminal(p))
        .map(|(k, _)| k)
        .collect();
    let failed_total = count.failed + count.restarts;
    if count.succeeded >= completions || failed_total > backoff_limit {
        // Done either way: what still runs is stopped.
        let stopped = i64::try_from(active.len()).unwrap_or(i64::MAX);
        for k in active {
            txn.remove(k);
        }
        let success = count.succeeded >= completions;
        if success {
            status.insert("completionTime".into(), json!(now));
        }
        let failed = if success {
            count.failed
        } else {
            count.failed + stopped
        };
        insert_positive(&mut status, "succeeded", count.succeeded);
        insert_positive(&mut status, "failed", failed);
        let (target, end, reason, message) = if success {
            (
                "SuccessCriteriaMet",
                "Complete",
                "CompletionsReached",
                "Reached expected number of succeeded pods",
            )
        } else {
            (
                "FailureTarget",
                "Failed",
                "BackoffLimitExceeded",
                "Job has reached the specified backoff limit",
            )
        };
        status.insert(
            "conditions".into(),
            json!([
                {"type": target, "status": "True", "reason": reason, "message": message, "lastProbeTime": now, "lastTransitionTime": now},
                {"type": end, "status": "True", "reason": reason, "message": message, "lastProbeTime": now, "lastTransitionTime": now}
            ]),
        );
    } else {
        let wanted = parallelism.min(completions - count.succeeded);
        let missing = wanted - i64::try_from(active.len()).unwrap_or(i64::MAX);
        for _ in 0..missing.max(0) {
            if let Some(pod) = create_pod(&mut txn, &job, key, uid, &now) {
                created.push((pod, 1));
            }
        }
        let active = i64::try_from(active.len() + created.len()).unwrap_or(i64::MAX);
        insert_positive(&mut status, "active", active);
        insert_positive(&mut status, "succeeded", count.succeeded);
        insert_positive(&mut status, "failed", count.failed);
    }
    status.insert("ready".into(), json!(count.ready));
    status.insert("terminating".into(), json!(0));
    status.insert("uncountedTerminatedPods".into(), json!({}));
    let status = Value::Object(status);
    if *previous != status {
        let mut updated = (*job).clone();
        updated["status"] = status;
        txn.put(key.clone(), updated);
    }
    created
}

fn insert_positive(status: &mut Map<String, Value>, field: &str, n: i64) {
    if n > 0 {
        status.insert(field.into(), json!(n));
    }
}

/// Whether the Job has ended (a `Complete` or `Failed` condition holds).
fn finished(job: &Value) -> bool {
    job["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| (c["type"] == "Complete" || c["type"] == "Failed") && c["status"] == "True")
}

fn terminal(pod: &Value) -> bool {
    matches!(
        pod["status"]["phase"].as_str(),
        Some("Succeeded" | "Failed")
    )
}

fn controlled_by(pod: &Value, uid: &str) -> bool {
    pod["metadata"]["ownerReferences"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|r| r["uid"] == uid && r["controller"] == true)
}

/// The job controller's tally of a Job's Pods.
#[derive(Debug, Default, PartialEq, Eq)]
struct Counts {
    succeeded: i64,
    failed: i64,
    /// Container restarts (of `OnFailure` Pods): each one a failure too.
    restarts: i64,
    /// Active Pods whose `Ready` condition holds.
    ready: i64,
}

impl Counts {
    fn of<'a>(pods: impl Iterator<Item = &'a Value>) -> Self {
        let mut c = Counts::default();
        for p in pods {
            let status = &p["status"];
            match status["phase"].as_str() {
                Some("Succeeded") => c.succeeded += 1,
                Some("Failed") => c.failed += 1,
                _ => {
                    let ready = status["conditions"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .any(|c| c["type"] == "Ready" && c["status"] == "True");
                    c.ready += i64::from(ready);
                }
            }
            c.restarts += status["containerStatuses"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|s| s["restartCount"].as_i64())
                .sum::<i64>();
        }
        c
    }
}

/// Creates one Pod of the Job's template; returns its key.
fn create_pod(txn: &mut Txn, job: &Value, key: &Key, uid: &str, now: &str) -> Option<Key> {
    let template = &job["spec"]["template"];
    let job_name = key.name.as_str();
    let prefix = format!("{job_name}-");
    let name = (0..10)
        .map(|_| objects::generate_name(&prefix))
        .find(|n| !txn.contains(&Key::new("", "pods", &key.namespace, n)))?;
    let mut labels = template["metadata"]["labels"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    for (k, v) in [
        ("batch.kubernetes.io/controller-uid", uid),
        ("batch.kubernetes.io/job-name", job_name),
        ("controller-uid", uid),
        ("job-name", job_name),
    ] {
        labels.insert(k.into(), json!(v));
    }
    let mut annotations = template["metadata"]["annotations"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    for a in [EXIT_CODE_ANNOTATION, FAIL_ANNOTATION] {
        if let Some(v) = job["metadata"]["annotations"].get(a) {
            annotations.entry(a).or_insert_with(|| v.clone());
        }
    }
    let mut pod = json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "generateName": prefix,
            "namespace": key.namespace,
            "uid": objects::new_uid(),
            "creationTimestamp": now,
            "labels": labels,
            "ownerReferences": [{"apiVersion": "batch/v1", "kind": "Job", "name": job_name,
                "uid": uid, "controller": true, "blockOwnerDeletion": true}],
        },
        "spec": template["spec"].clone(),
    });
    if !annotations.is_empty() {
        pod["metadata"]["annotations"] = Value::Object(annotations);
    }
    pod["status"] = pods::created_status(&pod);
    let pod_key = Key::new("", "pods", &key.namespace, &name);
    txn.put(pod_key.clone(), pod);
    Some(pod_key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_restarts_as_failures_and_ready_active_pods() {
        let pods = [
            json!({"status": {"phase": "Succeeded"}}),
            json!({"status": {"phase": "Failed", "containerStatuses": [{"restartCount": 0}]}}),
            json!({"status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}],
                "containerStatuses": [{"restartCount": 2}, {"restartCount": 1}]}}),
            json!({"status": {"phase": "Pending"}}),
        ];
        assert_eq!(
            Counts::of(pods.iter()),
            Counts {
                succeeded: 1,
                failed: 1,
                restarts: 3,
                ready: 1
            }
        );
    }
}
