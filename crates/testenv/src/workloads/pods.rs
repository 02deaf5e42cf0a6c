//! Pods as kubelet runs them, one step per delay: a new Pod is `Pending`
//! (the API server's doing, see [`created_status`]); the next step schedules
//! it on [`NODE_NAME`] and starts its containers (`Running`, `Ready`); the
//! next one ends them, unless `restartPolicy` is `Always` and no exit code
//! was asked for (a server that runs until deleted).
//!
//! Ending with exit code 0 makes a `Never`/`OnFailure` Pod `Succeeded`; a
//! non-zero code makes a `Never` Pod `Failed`. A container of an `OnFailure`
//! Pod that fails (or of an `Always` Pod that exits at all) is restarted as
//! kubelet does: `restartCount` grows, the container waits in
//! `CrashLoopBackOff` with the exit in `lastState`, and the wait doubles each
//! time (from one delay, up to [`MAX_BACKOFF_FACTOR`] delays), so a crash loop
//! writes ever more rarely.
//!
//! Conditions (`PodReadyToStartContainers`, `Initialized`, `Ready`,
//! `ContainersReady`, `PodScheduled`) and container statuses have the shape
//! kubelet writes, so health checks (kstatus) judge them as on a cluster.
//! Not simulated: probes, sidecar init containers, image pulls, evictions,
//! `activeDeadlineSeconds`.

use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU32, Ordering};

use serde_json::{Value, json};

use super::{EXIT_CODE_ANNOTATION, FAIL_ANNOTATION};
use crate::objects;
use crate::store::{Key, Store};

/// The node simulated Pods are scheduled on.
pub const NODE_NAME: &str = "testenv-node";

/// The node's address (`status.hostIP`).
pub const HOST_IP: &str = "10.0.0.10";

/// The longest restart back-off, in delays (kubelet: 10 s doubling up to 5 min).
pub const MAX_BACKOFF_FACTOR: u32 = 32;

/// The status the API server gives a Pod it creates.
pub fn created_status(pod: &Value) -> Value {
    json!({"phase": "Pending", "qosClass": qos_class(&pod["spec"])})
}

/// The QoS class of a Pod spec: `BestEffort` without any requests or limits,
/// `Guaranteed` when every container limits CPU and memory and requests no
/// other amount, `Burstable` otherwise.
fn qos_class(spec: &Value) -> &'static str {
    let containers = spec["containers"]
        .as_array()
        .into_iter()
        .chain(spec["initContainers"].as_array())
        .flatten();
    let (mut any, mut guaranteed) = (false, true);
    for c in containers {
        for resource in ["cpu", "memory"] {
            let request = &c["resources"]["requests"][resource];
            let limit = &c["resources"]["limits"][resource];
            any |= !request.is_null() || !limit.is_null();
            // A request left out defaults to the limit.
            guaranteed &= !limit.is_null() && (request.is_null() || request == limit);
        }
    }
    match (any, guaranteed) {
        (false, _) => "BestEffort",
        (true, true) => "Guaranteed",
        (true, false) => "Burstable",
    }
}

/// How the test asked the Pod's containers to exit: `None` when it did not.
fn asked_exit(pod: &Value) -> Option<Result<i32, String>> {
    let annotations = &pod["metadata"]["annotations"];
    if let Some(v) = annotations[EXIT_CODE_ANNOTATION].as_str() {
        return Some(v.trim().parse::<i32>().map_err(|_| {
            format!(
                "testenv: annotation {EXIT_CODE_ANNOTATION} must be an integer exit code, got {v:?}"
            )
        }));
    }
    (annotations[FAIL_ANNOTATION].as_str() == Some("true")).then_some(Ok(1))
}

fn restart_policy(pod: &Value) -> &str {
    pod["spec"]["restartPolicy"].as_str().unwrap_or("Always")
}

/// The Job that controls this Pod, if any.
pub(super) fn controlling_job(pod: &Value, namespace: &str) -> Option<Key> {
    pod["metadata"]["ownerReferences"]
        .as_array()?
        .iter()
        .find(|r| {
            r["controller"] == true
                && r["kind"] == "Job"
                && r["apiVersion"]
                    .as_str()
                    .is_some_and(|v| v.starts_with("batch/"))
        })
        .and_then(|r| r["name"].as_str())
        .map(|name| Key::new("batch", "jobs", namespace, name))
}

/// Takes the Pod at `key` one step further; returns what to step next and
/// after how many delays (the Pod itself, its Job at once).
pub(super) fn step(store: &Store, key: &Key) -> Vec<(Key, u32)> {
    let mut txn = store.txn();
    let Some(pod) = txn.get(key) else {
        return Vec::new();
    };
    if !pod["metadata"]["deletionTimestamp"].is_null() {
        return Vec::new();
    }
    let Some((updated, again)) = advance(&pod, &objects::now()) else {
        return Vec::new();
    };
    txn.put(key.clone(), updated);
    let mut next: Vec<(Key, u32)> = again.map(|f| (key.clone(), f)).into_iter().collect();
    next.extend(controlling_job(&pod, &key.namespace).map(|job| (job, 0)));
    next
}

/// The Pod after its next step and, if another step follows, after how many
/// delays; `None` when nothing more happens to it.
pub fn advance(pod: &Value, now: &str) -> Option<(Value, Option<u32>)> {
    let status = &pod["status"];
    match status["phase"].as_str().unwrap_or("") {
        "Succeeded" | "Failed" => None,
        "Running" if crash_looping(status) => Some(start(pod, now)),
        "Running" => exit(pod, now),
        _ => Some(start(pod, now)),
    }
}

fn crash_looping(status: &Value) -> bool {
    status["containerStatuses"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["state"]["waiting"]["reason"] == "CrashLoopBackOff")
}

fn container_names(pod: &Value, field: &str) -> Vec<(String, String)> {
    pod["spec"][field]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            (
                c["name"].as_str().unwrap_or("").to_string(),
                c["image"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

/// What kubelet reports as the pulled image's ID: the image by digest
/// (here a digest made up from the name, stable across steps).
fn image_id(image: &str) -> String {
    let mut digest = String::new();
    for salt in 0u8..4 {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (salt, image).hash(&mut h);
        digest.push_str(&format!("{:016x}", h.finish()));
    }
    let repo = image.split('@').next().unwrap_or(image);
    let repo = match repo.rsplit_once(':') {
        Some((r, tag)) if !tag.contains('/') => r,
        _ => repo,
    };
    format!("{repo}@sha256:{digest}")
}

fn container_id() -> String {
    let a = uuid::Uuid::new_v4().simple().to_string();
    let b = uuid::Uuid::new_v4().simple().to_string();
    format!("containerd://{a}{b}")
}

/// A fresh Pod IP from 10.244.0.0/16.
fn pod_ip() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed) % 65_000 + 2;
    format!("10.244.{}.{}", n / 256, n % 256)
}

/// One condition, keeping its previous transition time when its status did not change.
fn condition(
    previous: &Value,
    type_: &str,
    ok: bool,
    why: Option<(&str, &str)>,
    now: &str,
) -> Value {
    let status = if ok { "True" } else { "False" };
    let since = previous["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["type"] == type_ && c["status"] == status)
        .and_then(|c| c["lastTransitionTime"].as_str())
        .unwrap_or(now);
    let mut c = json!({"type": type_, "status": status, "lastProbeTime": null, "lastTransitionTime": since});
    if let Some((reason, message)) = why {
        c["reason"] = json!(reason);
        if !message.is_empty() {
            c["message"] = json!(message);
        }
    }
    c
}

/// The conditions of a scheduled Pod: `sandbox` (PodReadyToStartContainers),
/// `ready` (Ready and ContainersReady, else `why` they are not).
fn conditions(previous: &Value, sandbox: bool, ready: bool, why: (&str, &str), now: &str) -> Value {
    let why = (!ready).then_some(why);
    json!([
        condition(previous, "PodReadyToStartContainers", sandbox, None, now),
        condition(previous, "Initialized", true, None, now),
        condition(previous, "Ready", ready, why, now),
        condition(previous, "ContainersReady", ready, why, now),
        condition(previous, "PodScheduled", true, None, now),
    ])
}

/// The previous status of container `name`, from `containerStatuses`.
fn previous_container<'a>(status: &'a Value, name: &str) -> &'a Value {
    status["containerStatuses"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["name"] == name))
        .unwrap_or(&Value::Null)
}

/// Scheduled (if it was not), containers running and ready.
fn start(pod: &Value, now: &str) -> (Value, Option<u32>) {
    let mut updated = pod.clone();
    if updated["spec"]["nodeName"].is_null() {
        updated["spec"]["nodeName"] = json!(NODE_NAME);
    }
    let previous = &pod["status"];
    let ip = previous["podIP"]
        .as_str()
        .map(String::from)
        .unwrap_or_else(pod_ip);
    let containers: Vec<Value> = container_names(pod, "containers")
        .into_iter()
        .map(|(name, image)| {
            let before = previous_container(previous, &name);
            json!({
                "name": name,
                "image": image,
                "imageID": image_id(&image),
                "containerID": container_id(),
                "ready": true,
                "started": true,
                "restartCount": before["restartCount"].as_i64().unwrap_or(0),
                "state": {"running": {"startedAt": now}},
                "lastState": before["lastState"].as_object().cloned().unwrap_or_default(),
            })
        })
        .collect();
    let mut status = json!({
        "phase": "Running",
        "conditions": conditions(previous, true, true, ("", ""), now),
        "hostIP": HOST_IP,
        "hostIPs": [{"ip": HOST_IP}],
        "podIP": ip,
        "podIPs": [{"ip": ip}],
        "startTime": previous["startTime"].as_str().unwrap_or(now),
        "qosClass": previous["qosClass"].as_str().unwrap_or_else(|| qos_class(&pod["spec"])),
        "containerStatuses": containers,
    });
    let init = init_statuses(pod, now);
    if !init.is_empty() {
        status["initContainerStatuses"] = json!(init);
    }
    updated["status"] = status;
    let exits = asked_exit(pod).is_some() || restart_policy(pod) != "Always";
    (updated, exits.then_some(1))
}

/// Init containers (run before the Pod started): completed.
fn init_statuses(pod: &Value, now: &str) -> Vec<Value> {
    container_names(pod, "initContainers")
        .into_iter()
        .map(|(name, image)| {
            let id = container_id();
            json!({
                "name": name,
                "image": image,
                "imageID": image_id(&image),
                "containerID": id,
                "ready": true,
                "started": false,
                "restartCount": 0,
                "state": {"terminated": {"exitCode": 0, "reason": "Completed",
                    "startedAt": now, "finishedAt": now, "containerID": id}},
                "lastState": {},
            })
        })
        .collect()
}

/// The containers exit: the Pod ends, or they restart.
fn exit(pod: &Value, now: &str) -> Option<(Value, Option<u32>)> {
    let asked = asked_exit(pod);
    let policy = restart_policy(pod);
    if asked.is_none() && policy == "Always" {
        return None;
    }
    let (code, message) = match asked {
        Some(Ok(code)) => (code, None),
        Some(Err(message)) => (1, Some(message)),
        None => (0, None),
    };
    let restarts = message.is_none() && (policy == "Always" || policy == "OnFailure" && code != 0);
    let previous = &pod["status"];
    let mut updated = pod.clone();
    let mut status = previous.clone();
    let reason = if code == 0 { "Completed" } else { "Error" };
    let names = container_names(pod, "containers");
    let mut most_restarts = 0;
    let containers: Vec<Value> = names
        .iter()
        .map(|(name, image)| {
            let before = previous_container(previous, name);
            let id = before["containerID"]
                .as_str()
                .map(String::from)
                .unwrap_or_else(container_id);
            let started = before["state"]["running"]["startedAt"]
                .as_str()
                .unwrap_or(now);
            let mut terminated = json!({"exitCode": code, "reason": reason,
                "startedAt": started, "finishedAt": now, "containerID": id});
            if let Some(m) = &message {
                terminated["message"] = json!(m);
            }
            let count = before["restartCount"].as_i64().unwrap_or(0);
            let mut c = json!({
                "name": name,
                "image": image,
                "imageID": image_id(image),
                "containerID": id,
                "ready": false,
                "started": false,
                "restartCount": count,
            });
            if restarts {
                most_restarts = most_restarts.max(count + 1);
                c["restartCount"] = json!(count + 1);
                c["state"] = json!({"waiting": {"reason": "CrashLoopBackOff", "message":
                    format!("back-off restarting failed container {name} in pod {}",
                        pod["metadata"]["name"].as_str().unwrap_or(""))}});
                c["lastState"] = json!({"terminated": terminated});
            } else {
                c["state"] = json!({"terminated": terminated});
                c["lastState"] = before["lastState"].clone();
            }
            c
        })
        .collect();
    let unready: Vec<&str> = names.iter().map(|(n, _)| n.as_str()).collect();
    let unready = format!("containers with unready status: [{}]", unready.join(" "));
    let (phase, why, sandbox) = match (restarts, code) {
        (true, _) => ("Running", ("ContainersNotReady", unready.as_str()), true),
        (false, 0) => ("Succeeded", ("PodCompleted", ""), false),
        (false, _) => ("Failed", ("PodFailed", ""), false),
    };
    status["phase"] = json!(phase);
    status["conditions"] = conditions(previous, sandbox, false, why, now);
    status["containerStatuses"] = json!(containers);
    if let (Some(m), Some(s)) = (&message, status.as_object_mut()) {
        s.insert("reason".into(), json!("InvalidExitCode"));
        s.insert("message".into(), json!(m));
    }
    updated["status"] = status;
    // Restarts back off: 1, 2, 4, ... delays.
    let again = restarts.then(|| {
        let shift = u32::try_from(most_restarts - 1).unwrap_or(u32::MAX).min(5);
        (1u32 << shift).min(MAX_BACKOFF_FACTOR)
    });
    Some((updated, again))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(policy: Option<&str>, annotations: Value) -> Value {
        let mut p = json!({"metadata": {"name": "p", "namespace": "ns", "annotations": annotations},
            "spec": {"containers": [{"name": "main", "image": "busybox:1.36"}, {"name": "side", "image": "nginx"}]}});
        if let Some(policy) = policy {
            p["spec"]["restartPolicy"] = json!(policy);
        }
        p["status"] = created_status(&p);
        p
    }

    fn run(mut p: Value, steps: usize) -> (Value, Vec<Option<u32>>) {
        let mut waits = Vec::new();
        for _ in 0..steps {
            let Some((next, again)) = advance(&p, "2026-01-01T00:00:00Z") else {
                break;
            };
            p = next;
            waits.push(again);
        }
        (p, waits)
    }

    fn cond<'a>(p: &'a Value, t: &str) -> &'a Value {
        p["status"]["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["type"] == t)
            .unwrap()
    }

    #[test]
    fn qos_classes() {
        let spec = |res: Value| json!({"containers": [{"name": "c", "resources": res}]});
        assert_eq!(qos_class(&spec(json!({}))), "BestEffort");
        assert_eq!(
            qos_class(&spec(json!({"limits": {"cpu": "1", "memory": "1Gi"}}))),
            "Guaranteed"
        );
        assert_eq!(
            qos_class(&spec(
                json!({"requests": {"cpu": "1"}, "limits": {"cpu": "2", "memory": "1Gi"}})
            )),
            "Burstable"
        );
        assert_eq!(
            qos_class(&spec(json!({"requests": {"cpu": "1"}}))),
            "Burstable"
        );
    }

    #[test]
    fn a_server_pod_runs_until_deleted() {
        let (p, waits) = run(pod(None, json!({})), 5);
        assert_eq!(waits, [None]);
        assert_eq!(p["status"]["phase"], "Running");
        assert_eq!(p["spec"]["nodeName"], NODE_NAME);
        assert_eq!(cond(&p, "Ready")["status"], "True");
        assert_eq!(
            p["status"]["containerStatuses"][1]["state"]["running"]["startedAt"],
            "2026-01-01T00:00:00Z"
        );
        assert_eq!(
            p["status"]["containerStatuses"][0]["imageID"]
                .as_str()
                .unwrap()
                .split('@')
                .next(),
            Some("busybox")
        );
    }

    #[test]
    fn a_never_pod_succeeds_or_fails_with_the_asked_code() {
        let (p, waits) = run(pod(Some("Never"), json!({})), 5);
        assert_eq!(waits, [Some(1), None]);
        assert_eq!(p["status"]["phase"], "Succeeded");
        let c = &p["status"]["containerStatuses"][0];
        assert_eq!(c["state"]["terminated"]["reason"], "Completed");
        assert_eq!(c["state"]["terminated"]["exitCode"], 0);
        assert_eq!(cond(&p, "Ready")["reason"], "PodCompleted");
        assert_eq!(cond(&p, "PodReadyToStartContainers")["status"], "False");

        let (p, _) = run(pod(Some("Never"), json!({EXIT_CODE_ANNOTATION: "3"})), 5);
        assert_eq!(p["status"]["phase"], "Failed");
        let t = &p["status"]["containerStatuses"][1]["state"]["terminated"];
        assert_eq!(
            (t["exitCode"].as_i64(), t["reason"].as_str()),
            (Some(3), Some("Error"))
        );
        assert_eq!(cond(&p, "Ready")["reason"], "PodFailed");

        let (p, _) = run(pod(Some("Never"), json!({FAIL_ANNOTATION: "true"})), 5);
        assert_eq!(
            p["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"],
            1
        );
    }

    #[test]
    fn a_bad_exit_code_fails_the_pod_and_says_why() {
        let (p, _) = run(
            pod(Some("OnFailure"), json!({EXIT_CODE_ANNOTATION: "one"})),
            5,
        );
        assert_eq!(p["status"]["phase"], "Failed");
        let message = p["status"]["message"].as_str().unwrap();
        assert!(
            message.contains(EXIT_CODE_ANNOTATION) && message.contains("\"one\""),
            "{message}"
        );
    }

    #[test]
    fn on_failure_restarts_with_growing_back_off() {
        let (p, waits) = run(
            pod(Some("OnFailure"), json!({EXIT_CODE_ANNOTATION: "2"})),
            20,
        );
        // start, then (crash, restart) pairs: the crash waits 1, 2, 4, ... delays.
        assert_eq!(
            &waits[..7],
            [
                Some(1),
                Some(1),
                Some(1),
                Some(2),
                Some(1),
                Some(4),
                Some(1)
            ]
        );
        assert!(
            waits
                .iter()
                .all(|w| w.is_some_and(|f| f <= MAX_BACKOFF_FACTOR))
        );
        assert_eq!(p["status"]["phase"], "Running");
        let (crashed, _) = run(
            pod(Some("OnFailure"), json!({EXIT_CODE_ANNOTATION: "2"})),
            2,
        );
        let c = &crashed["status"]["containerStatuses"][0];
        assert_eq!(c["state"]["waiting"]["reason"], "CrashLoopBackOff");
        assert_eq!(c["lastState"]["terminated"]["exitCode"], 2);
        assert_eq!(c["restartCount"], 1);
        assert_eq!(cond(&crashed, "Ready")["reason"], "ContainersNotReady");
        // Restarted: running again, the count and the last exit kept.
        let (restarted, _) = run(crashed, 1);
        let c = &restarted["status"]["containerStatuses"][0];
        assert!(c["state"]["running"].is_object());
        assert_eq!(
            (
                c["restartCount"].as_i64(),
                c["lastState"]["terminated"]["exitCode"].as_i64()
            ),
            (Some(1), Some(2))
        );
        // An OnFailure Pod whose containers exit 0 is done.
        let (p, _) = run(
            pod(Some("OnFailure"), json!({EXIT_CODE_ANNOTATION: "0"})),
            5,
        );
        assert_eq!(p["status"]["phase"], "Succeeded");
    }

    #[test]
    fn transition_times_stay_while_a_condition_holds() {
        let p = pod(Some("Never"), json!({}));
        let (running, _) = advance(&p, "2026-01-01T00:00:00Z").unwrap();
        let (done, _) = advance(&running, "2026-01-01T00:01:00Z").unwrap();
        assert_eq!(
            cond(&done, "PodScheduled")["lastTransitionTime"],
            "2026-01-01T00:00:00Z"
        );
        assert_eq!(
            cond(&done, "Ready")["lastTransitionTime"],
            "2026-01-01T00:01:00Z"
        );
        assert_eq!(done["status"]["startTime"], "2026-01-01T00:00:00Z");
    }

    #[test]
    fn pods_of_a_job_name_it() {
        let p = json!({"metadata": {"ownerReferences": [
            {"apiVersion": "batch/v1", "kind": "Job", "name": "j", "uid": "u", "controller": true}]}});
        assert_eq!(
            controlling_job(&p, "ns"),
            Some(Key::new("batch", "jobs", "ns", "j"))
        );
        let p = json!({"metadata": {"ownerReferences": [
            {"apiVersion": "batch/v1", "kind": "Job", "name": "j", "uid": "u"}]}});
        assert_eq!(controlling_job(&p, "ns"), None);
    }
}
