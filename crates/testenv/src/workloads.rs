//! Workload simulation (off by default): with no kubelet or controllers,
//! Pods, Deployments, StatefulSets, DaemonSets and Jobs would never report
//! progress. When enabled (`Options::simulate_workloads`), each step below
//! happens one delay after the previous one:
//!
//! - Deployments, StatefulSets and DaemonSets: each new generation gets the
//!   status its controller writes once rolled out.
//! - Pods (see [`pods`]): the API server stores them `Pending`; then they run
//!   (scheduled, containers started, `Ready`); then, unless
//!   `restartPolicy` is `Always`, their containers exit and the Pod is
//!   `Succeeded` or `Failed` with the container statuses kubelet writes.
//! - Jobs (see [`jobs`]): the Job creates its Pods from its template and
//!   counts them as kube's job controller does (`active`, `ready`,
//!   `succeeded`, `failed`, retries up to `backoffLimit`, then the
//!   `Complete` or `Failed` conditions).
//!
//! How a test asks for failure:
//! - [`EXIT_CODE_ANNOTATION`] (`testenv.ferroflux.io/exit-code: "1"`) on a Pod,
//!   a Job or a Job's Pod template: the Pod's containers exit with that code
//!   (`"0"` succeeds; a non-zero code fails a `Never` Pod, and restarts an
//!   `OnFailure`/`Always` one, in CrashLoopBackOff, as kubelet does). On an
//!   `Always` Pod any exit code makes it restart.
//! - [`FAIL_ANNOTATION`] (`testenv.ferroflux.io/fail: "true"`): a Deployment,
//!   StatefulSet or DaemonSet reports a failed rollout; on a Pod or Job it
//!   means exit code 1.

mod jobs;
pub mod pods;

use std::collections::HashSet;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use serde_json::{Value, json};

use crate::objects;
use crate::server::Server;
use crate::store::Key;

/// The annotation that makes a simulated workload fail.
pub const FAIL_ANNOTATION: &str = "testenv.ferroflux.io/fail";

/// The annotation that sets the exit code of a simulated Pod's containers.
pub const EXIT_CODE_ANNOTATION: &str = "testenv.ferroflux.io/exit-code";

/// The kinds the simulation reports on, by (group, plural).
pub fn is_workload(group: &str, plural: &str) -> bool {
    group == "apps" && matches!(plural, "deployments" | "statefulsets" | "daemonsets")
        || group == "batch" && plural == "jobs"
        || group.is_empty() && plural == "pods"
}

/// The simulation: objects waiting for their next step.
pub struct Simulator {
    server: Weak<Server>,
    delay: Duration,
    /// Keys with a step scheduled: a change to one of them while it waits
    /// schedules nothing more, since the step reads the object when it runs.
    scheduled: Mutex<HashSet<Key>>,
}

impl Simulator {
    /// A simulation of the workloads of `server`, one step each `delay`.
    pub fn new(server: Weak<Server>, delay: Duration) -> Arc<Self> {
        Arc::new(Self {
            server,
            delay,
            scheduled: Mutex::new(HashSet::new()),
        })
    }

    /// Schedules the next step of the workload at `key` (it changed).
    pub fn queue(self: &Arc<Self>, key: Key) {
        self.queue_after(key, self.delay);
    }

    fn scheduled(&self) -> std::sync::MutexGuard<'_, HashSet<Key>> {
        self.scheduled.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn queue_after(self: &Arc<Self>, key: Key, delay: Duration) {
        if !self.scheduled().insert(key.clone()) {
            return;
        }
        let sim = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            sim.scheduled().remove(&key);
            if let Some(server) = sim.server.upgrade() {
                sim.step(&server, &key);
            }
        });
    }

    fn step(self: &Arc<Self>, server: &Arc<Server>, key: &Key) {
        let next = match (key.group.as_str(), key.plural.as_str()) {
            ("", "pods") => pods::step(&server.store, key),
            ("batch", "jobs") => jobs::step(&server.store, key),
            _ => {
                settle(server, key);
                Vec::new()
            }
        };
        for (key, factor) in next {
            self.queue_after(key, self.delay * factor);
        }
    }
}

/// Starts the simulation of `server`'s workloads.
pub fn start(server: Weak<Server>, delay: Duration) -> Arc<Simulator> {
    Simulator::new(server, delay)
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
        // daemonsets
        _ => json!({
            "observedGeneration": generation,
            "desiredNumberScheduled": 1,
            "currentNumberScheduled": 1,
            "updatedNumberScheduled": 1,
            "numberReady": if failing { 0 } else { 1 },
            "numberAvailable": if failing { 0 } else { 1 },
            "numberMisscheduled": 0,
        }),
    }
}
