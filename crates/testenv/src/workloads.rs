//! Workload simulation (off by default): with no kubelet or controllers,
//! Deployments, StatefulSets, DaemonSets and Jobs would never report
//! progress. When enabled, each new generation of one gets, after a delay,
//! the status its controller would write once rolled out (or completed).
//! An object annotated `testenv.ferroflux.io/fail: "true"` gets a failing
//! status instead, for health-check tests.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::objects;
use crate::server::Server;
use crate::store::Key;

/// The annotation that makes a simulated workload fail.
pub const FAIL_ANNOTATION: &str = "testenv.ferroflux.io/fail";

/// The kinds the simulation reports on, by (group, plural).
pub fn is_workload(group: &str, plural: &str) -> bool {
    group == "apps" && matches!(plural, "deployments" | "statefulsets" | "daemonsets")
        || group == "batch" && plural == "jobs"
}

/// Starts the simulation task; returns the sender the server queues changed workloads on.
pub fn start(server: std::sync::Weak<Server>, delay: Duration) -> mpsc::UnboundedSender<Key> {
    let (tx, mut rx) = mpsc::unbounded_channel::<Key>();
    tokio::spawn(async move {
        while let Some(key) = rx.recv().await {
            let server = server.clone();
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                if let Some(server) = server.upgrade() {
                    settle(&server, &key);
                }
            });
        }
    });
    tx
}

/// Writes the rolled-out (or failed) status of the workload at `key`, if its
/// current generation has not been reported yet.
fn settle(server: &Arc<Server>, key: &Key) {
    let mut txn = server.store.txn();
    let Some(obj) = txn.get(key) else { return };
    let generation = obj["metadata"]["generation"].as_i64().unwrap_or(1);
    if obj["status"]["observedGeneration"].as_i64() == Some(generation) && !obj["status"].is_null()
    {
        return;
    }
    let failing = obj["metadata"]["annotations"][FAIL_ANNOTATION].as_str() == Some("true");
    let status = status_for(&key.plural, &obj, generation, failing);
    let mut updated = (*obj).clone();
    updated["status"] = status;
    txn.put(key.clone(), updated);
}

fn status_for(plural: &str, obj: &Value, generation: i64, failing: bool) -> Value {
    let now = objects::now();
    let replicas = obj["spec"]["replicas"].as_i64().unwrap_or(1);
    let ready = if failing { 0 } else { replicas };
    match plural {
        "deployments" => {
            let conditions = if failing {
                json!([
                    {"type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable", "message": "Deployment does not have minimum availability.", "lastUpdateTime": now, "lastTransitionTime": now},
                    {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded", "message": "ReplicaSet has timed out progressing.", "lastUpdateTime": now, "lastTransitionTime": now}
                ])
            } else {
                json!([
                    {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable", "message": "Deployment has minimum availability.", "lastUpdateTime": now, "lastTransitionTime": now},
                    {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable", "message": "ReplicaSet has successfully progressed.", "lastUpdateTime": now, "lastTransitionTime": now}
                ])
            };
            let mut s = json!({
                "observedGeneration": generation,
                "replicas": replicas,
                "updatedReplicas": replicas,
                "readyReplicas": ready,
                "availableReplicas": ready,
                "conditions": conditions,
            });
            if failing {
                s["unavailableReplicas"] = json!(replicas);
            }
            s
        }
        "statefulsets" => {
            let revision = format!(
                "{}-{generation}",
                obj["metadata"]["name"].as_str().unwrap_or("")
            );
            json!({
                "observedGeneration": generation,
                "replicas": replicas,
                "readyReplicas": ready,
                "availableReplicas": ready,
                "currentReplicas": replicas,
                "updatedReplicas": replicas,
                "currentRevision": revision,
                "updateRevision": revision,
            })
        }
        "daemonsets" => json!({
            "observedGeneration": generation,
            "desiredNumberScheduled": 1,
            "currentNumberScheduled": 1,
            "updatedNumberScheduled": 1,
            "numberReady": if failing { 0 } else { 1 },
            "numberAvailable": if failing { 0 } else { 1 },
            "numberMisscheduled": 0,
        }),
        _ => {
            if failing {
                json!({
                    "failed": 1,
                    "startTime": now,
                    "conditions": [
                        {"type": "FailureTarget", "status": "True", "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit", "lastProbeTime": now, "lastTransitionTime": now},
                        {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit", "lastProbeTime": now, "lastTransitionTime": now}
                    ]
                })
            } else {
                json!({
                    "succeeded": obj["spec"]["completions"].as_i64().unwrap_or(1),
                    "startTime": now,
                    "completionTime": now,
                    "conditions": [
                        {"type": "SuccessCriteriaMet", "status": "True", "reason": "CompletionsReached", "message": "Reached expected number of succeeded pods", "lastProbeTime": now, "lastTransitionTime": now},
                        {"type": "Complete", "status": "True", "reason": "CompletionsReached", "message": "Reached expected number of succeeded pods", "lastProbeTime": now, "lastTransitionTime": now}
                    ]
                })
            }
        }
    }
}
