//! Health of a live Kubernetes object, judged the way kstatus
//! (`sigs.k8s.io/cli-utils/pkg/kstatus/status`) judges it, because Flux's
//! kustomize-controller decides `wait` and `healthChecks` with kstatus and a
//! Flux user's manifests must pass or fail the same checks here.
//!
//! The order of the checks matters and follows kstatus: properties every
//! object shares (deletion, observed generation, `Reconciling`/`Stalled`)
//! first, then the rules for built-in kinds whose controllers report through
//! counters instead of conditions, then a `Ready` condition, and finally
//! "Current" for anything that gives no signal at all.
//!
//! Input is whatever the API server (or a hostile test) hands over, so
//! nothing here indexes or unwraps blindly: a field of the wrong type either
//! falls back to the default kstatus would use, or, where kstatus would stop
//! with an error, yields [`Status::Unknown`] with a message naming the field.

use std::time::{SystemTime, UNIX_EPOCH};

use ferroflux_gocompat::time::parse_rfc3339;
use serde_json::Value;

/// kstatus-style status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// The object is reconciled and its controller reports it healthy.
    Current,
    /// The object is still converging; waiting longer may make it Current.
    InProgress,
    /// The object's controller reports it cannot make progress without help.
    Failed,
    /// The object is being deleted.
    Terminating,
    /// The object does not exist (the caller passed `null`).
    NotFound,
    /// The object is too malformed to judge.
    Unknown,
}

/// The outcome of [`assess`]: a status plus the sentence shown to users in
/// conditions and events, so it should say what is missing, not just that
/// something is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    /// The verdict.
    pub status: Status,
    /// A human-readable reason for the verdict.
    pub message: String,
}

impl Health {
    fn new(status: Status, message: impl Into<String>) -> Self {
        Health {
            status,
            message: message.into(),
        }
    }
    fn current(message: impl Into<String>) -> Self {
        Self::new(Status::Current, message)
    }
    fn in_progress(message: impl Into<String>) -> Self {
        Self::new(Status::InProgress, message)
    }
    fn failed(message: impl Into<String>) -> Self {
        Self::new(Status::Failed, message)
    }
    fn unknown(message: impl Into<String>) -> Self {
        Self::new(Status::Unknown, message)
    }
}

/// How long a Pod may sit unschedulable before it counts as Failed; the
/// scheduler often needs a moment (or an autoscaler a node), so an early
/// "Unschedulable" is not yet a verdict. kstatus uses the same window.
const SCHEDULE_GRACE_SECS: i64 = 15;

/// Assesses `obj` (a live object as the API server returns it).
///
/// `null` stands for an object the API server no longer has, so callers can
/// pass the result of a GET that returned 404 straight through.
pub fn assess(obj: &Value) -> Health {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    assess_at(obj, now)
}

/// [`assess`] with the clock passed in, so the one time-dependent rule
/// (unschedulable Pods) can be tested deterministically.
fn assess_at(obj: &Value, now_unix: i64) -> Health {
    if obj.is_null() {
        return Health::new(Status::NotFound, "Object not found");
    }
    if !obj.is_object() {
        return Health::unknown("Object is not a JSON object");
    }
    let kind = str_at(obj, &["kind"]).unwrap_or("");
    if let Some(h) = lifecycle(obj, kind) {
        return h;
    }
    let conditions = match parse_conditions(obj) {
        Ok(c) => c,
        Err(e) => return Health::unknown(e),
    };
    if let Some(h) = standard_conditions(&conditions) {
        return h;
    }
    let api_version = str_at(obj, &["apiVersion"]).unwrap_or("");
    // The core group has no group part in apiVersion ("v1").
    let group = match api_version.split_once('/') {
        Some((g, _)) => g,
        None => "",
    };
    // Only the real built-in kinds get the counter-based rules: a CRD that
    // happens to be called "Deployment" in another group does not have the
    // same status fields.
    let by_kind = match (group, kind) {
        ("", "Service") => Some(service(obj)),
        ("", "Pod") => Some(pod(obj, &conditions, now_unix)),
        ("", "PersistentVolumeClaim") => Some(pvc(obj)),
        ("", "Namespace") => namespace(obj),
        ("", "Secret") | ("", "ConfigMap") | ("batch", "CronJob") => {
            Some(Health::current(format!("{kind} has no status to wait for")))
        }
        ("apps" | "extensions", "Deployment") => Some(deployment(obj, &conditions)),
        ("apps", "StatefulSet") => Some(stateful_set(obj)),
        ("apps" | "extensions", "DaemonSet") => Some(daemon_set(obj)),
        ("apps" | "extensions", "ReplicaSet") => Some(replica_set(obj, &conditions)),
        ("batch", "Job") => Some(job(obj, &conditions)),
        ("policy", "PodDisruptionBudget") => Some(Health::current(
            "PodDisruptionBudget has been observed and its allowed disruptions computed",
        )),
        ("apiextensions.k8s.io", "CustomResourceDefinition") => Some(crd(&conditions)),
        _ => None,
    };
    if let Some(h) = by_kind {
        return h;
    }
    if let Some(h) = ready_condition(&conditions) {
        return h;
    }
    Health::current("Object reports no status to wait for; treated as current")
}

/// One entry of `status.conditions`, reduced to the fields the rules read.
#[derive(Debug, Default)]
struct Condition {
    kind: String,
    status: String,
    reason: String,
    message: String,
}

impl Condition {
    fn is(&self, kind: &str, status: &str) -> bool {
        self.kind == kind && self.status == status
    }

    /// The condition's own words, falling back to its reason, so that a
    /// controller that leaves `message` empty still yields something to show.
    fn explanation(&self, fallback: &str) -> String {
        if !self.message.is_empty() {
            self.message.clone()
        } else if !self.reason.is_empty() {
            format!("{fallback}: {}", self.reason)
        } else {
            fallback.to_string()
        }
    }
}

/// Reads `status.conditions`. kstatus decodes conditions into typed structs
/// and gives up on the whole object when that fails, so a condition list of
/// the wrong shape is an error here too rather than silently ignored: a
/// status nobody can read should not pass a health check.
fn parse_conditions(obj: &Value) -> Result<Vec<Condition>, String> {
    let status = match obj.get("status") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Object(s)) => s,
        Some(_) => return Err("status is not an object".to_string()),
    };
    let list = match status.get("conditions") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(l)) => l,
        Some(_) => return Err("status.conditions is not a list".to_string()),
    };
    let mut out = Vec::with_capacity(list.len());
    for (i, item) in list.iter().enumerate() {
        let fields = match item {
            Value::Null => continue,
            Value::Object(f) => f,
            _ => return Err(format!("status.conditions[{i}] is not an object")),
        };
        let text = |name: &str| -> Result<String, String> {
            match fields.get(name) {
                None | Some(Value::Null) => Ok(String::new()),
                Some(Value::String(s)) => Ok(s.clone()),
                Some(_) => Err(format!("status.conditions[{i}].{name} is not a string")),
            }
        };
        out.push(Condition {
            kind: text("type")?,
            status: text("status")?,
            reason: text("reason")?,
            message: text("message")?,
        });
    }
    Ok(out)
}

/// Deletion and staleness, which apply to every object whatever its kind and
/// come before reading conditions: a status that describes an older spec (or
/// an object on its way out) says nothing about the object as it now is.
fn lifecycle(obj: &Value, kind: &str) -> Option<Health> {
    match obj.get("metadata") {
        None | Some(Value::Null) | Some(Value::Object(_)) => {}
        Some(_) => return Some(Health::unknown("metadata is not an object")),
    }
    match obj.pointer("/metadata/deletionTimestamp") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) if s.is_empty() => {}
        Some(Value::String(_)) => {
            return Some(Health::new(
                Status::Terminating,
                "Object is being deleted (deletionTimestamp is set)",
            ));
        }
        Some(_) => {
            return Some(Health::unknown(
                "metadata.deletionTimestamp is not a string",
            ));
        }
    }
    let generation = match strict_int(obj, "/metadata/generation") {
        Ok(g) => g,
        Err(e) => return Some(Health::unknown(e)),
    };
    let observed = match strict_int(obj, "/status/observedGeneration") {
        Ok(g) => g,
        Err(e) => return Some(Health::unknown(e)),
    };
    // Without an observedGeneration there is nothing to compare: many kinds
    // never write one. Any mismatch (even an observed generation ahead of
    // the object's) means the status describes some other spec.
    if let (Some(g), Some(o)) = (generation, observed)
        && g != o
    {
        let what = if kind.is_empty() { "Object" } else { kind };
        return Some(Health::in_progress(format!(
            "{what} generation {g} not yet observed by its controller (observed generation {o})"
        )));
    }
    None
}

/// The two conditions kstatus standardises; when present they settle the
/// verdict for any kind, built-in rules included.
fn standard_conditions(conditions: &[Condition]) -> Option<Health> {
    // The first of the two standard conditions in list order wins, as in
    // kstatus; controllers following the convention never set both.
    for c in conditions {
        if c.is("Reconciling", "True") {
            return Some(Health::in_progress(c.explanation("Reconciling")));
        }
        if c.is("Stalled", "True") {
            return Some(Health::failed(c.explanation("Stalled")));
        }
    }
    None
}

/// The fallback for kinds without their own rule: a `Ready` condition, the
/// convention of most operators and of Flux itself. False and Unknown both
/// mean "not yet" (kstatus keeps "Failed" for an explicit `Stalled`), so a
/// Flux object that is Ready=False only fails once it also says Stalled.
fn ready_condition(conditions: &[Condition]) -> Option<Health> {
    for c in conditions.iter().filter(|c| c.kind == "Ready") {
        match c.status.as_str() {
            "True" => return Some(Health::current("Object is Ready")),
            "False" | "Unknown" => {
                return Some(Health::in_progress(c.explanation("Not Ready")));
            }
            // An unrecognised status says nothing; a later Ready entry might.
            _ => {}
        }
    }
    None
}

fn deployment(obj: &Value, conditions: &[Condition]) -> Health {
    // Without progressDeadlineSeconds the controller never reports the
    // rollout as finished through Progressing, so its absence cannot be held
    // against the Deployment. i32::MAX is how the API spells "no deadline".
    let mut progressing = int_at(
        obj,
        &["spec", "progressDeadlineSeconds"],
        i64::from(i32::MAX),
    ) == i64::from(i32::MAX);
    let mut available = false;
    for c in conditions {
        match c.kind.as_str() {
            "Progressing" => {
                // The deployment controller's only way of saying "gave up".
                if c.reason == "ProgressDeadlineExceeded" {
                    let detail = if c.message.is_empty() {
                        String::new()
                    } else {
                        format!(": {}", c.message)
                    };
                    return Health::failed(format!(
                        "Deployment progress deadline exceeded{detail}"
                    ));
                }
                if c.status == "True" && c.reason == "NewReplicaSetAvailable" {
                    progressing = true;
                }
            }
            "Available" if c.status == "True" => available = true,
            _ => {}
        }
    }
    // The controller treats a missing spec.replicas as 1.
    let spec = int_at(obj, &["spec", "replicas"], 1);
    let replicas = int_at(obj, &["status", "replicas"], 0);
    let updated = int_at(obj, &["status", "updatedReplicas"], 0);
    let ready = int_at(obj, &["status", "readyReplicas"], 0);
    let avail = int_at(obj, &["status", "availableReplicas"], 0);
    if spec > replicas {
        return Health::in_progress(format!("Replicas created: {replicas}/{spec}"));
    }
    if spec > updated {
        return Health::in_progress(format!("Replicas updated: {updated}/{spec}"));
    }
    if replicas > spec {
        return Health::in_progress(format!(
            "Old replicas pending termination: {}",
            replicas.saturating_sub(spec)
        ));
    }
    if updated > avail {
        return Health::in_progress(format!("Replicas available: {avail}/{updated}"));
    }
    if spec > ready {
        return Health::in_progress(format!("Ready: {ready}/{spec}"));
    }
    if !progressing {
        return Health::in_progress("Deployment's new ReplicaSet is not yet available");
    }
    if !available {
        return Health::in_progress("Deployment does not report minimum availability");
    }
    Health::current(format!(
        "Deployment is rolled out and available, replicas: {replicas}"
    ))
}

fn stateful_set(obj: &Value) -> Health {
    // With OnDelete the user replaces pods by hand, so no rollout state can
    // be expected to converge on its own.
    if str_at(obj, &["spec", "updateStrategy", "type"]) == Some("OnDelete") {
        return Health::current("StatefulSet uses the OnDelete update strategy; not waited for");
    }
    let spec = int_at(obj, &["spec", "replicas"], 1);
    let replicas = int_at(obj, &["status", "replicas"], 0);
    let ready = int_at(obj, &["status", "readyReplicas"], 0);
    let current = int_at(obj, &["status", "currentReplicas"], 0);
    let updated = int_at(obj, &["status", "updatedReplicas"], 0);
    if spec > replicas {
        return Health::in_progress(format!("Replicas created: {replicas}/{spec}"));
    }
    if spec > ready {
        return Health::in_progress(format!("Ready: {ready}/{spec}"));
    }
    if replicas > spec {
        return Health::in_progress(format!(
            "Replicas pending termination: {}",
            replicas.saturating_sub(spec)
        ));
    }
    // A partitioned rollout only ever updates the ordinals at or above the
    // partition, so "done" means those are updated, not all of them.
    // kstatus uses -1 as "unset"; an explicit -1 is rejected by the API
    // server anyway, so treating it as unset changes nothing real.
    let partition = opt_int_at(
        obj,
        &["spec", "updateStrategy", "rollingUpdate", "partition"],
    )
    .filter(|p| *p != -1);
    if let Some(p) = partition {
        let wanted = spec.saturating_sub(p);
        if updated < wanted {
            return Health::in_progress(format!("Partitioned rollout: updated {updated}/{wanted}"));
        }
        return Health::current(format!(
            "Partitioned rollout complete, updated replicas: {updated}"
        ));
    }
    if spec > current {
        return Health::in_progress(format!("Replicas at current revision: {current}/{spec}"));
    }
    let current_rev = str_at(obj, &["status", "currentRevision"]).unwrap_or("");
    let update_rev = str_at(obj, &["status", "updateRevision"]).unwrap_or("");
    if current_rev != update_rev {
        return Health::in_progress(format!(
            "Rolling out revision {update_rev} (current revision {current_rev})"
        ));
    }
    Health::current(format!("StatefulSet is rolled out, replicas: {replicas}"))
}

fn daemon_set(obj: &Value) -> Health {
    // The daemon set controller always writes both generations once it has
    // looked at the object, so their absence means it has not yet.
    if opt_int_at(obj, &["metadata", "generation"]).is_none() {
        return Health::in_progress("DaemonSet has no metadata.generation yet");
    }
    if opt_int_at(obj, &["status", "observedGeneration"]).is_none() {
        return Health::in_progress("DaemonSet status.observedGeneration not written yet");
    }
    let Some(desired) = opt_int_at(obj, &["status", "desiredNumberScheduled"]) else {
        return Health::in_progress("DaemonSet status.desiredNumberScheduled not written yet");
    };
    let scheduled = int_at(obj, &["status", "currentNumberScheduled"], 0);
    let updated = int_at(obj, &["status", "updatedNumberScheduled"], 0);
    let avail = int_at(obj, &["status", "numberAvailable"], 0);
    let ready = int_at(obj, &["status", "numberReady"], 0);
    if desired > scheduled {
        return Health::in_progress(format!("Nodes scheduled: {scheduled}/{desired}"));
    }
    if desired > updated {
        return Health::in_progress(format!("Nodes updated: {updated}/{desired}"));
    }
    if desired > avail {
        return Health::in_progress(format!("Available: {avail}/{desired}"));
    }
    if desired > ready {
        return Health::in_progress(format!("Ready: {ready}/{desired}"));
    }
    Health::current(format!(
        "DaemonSet is rolled out on all {desired} scheduled nodes"
    ))
}

fn replica_set(obj: &Value, conditions: &[Condition]) -> Health {
    // ReplicaFailure usually means quota or admission trouble that may clear,
    // so kstatus keeps it InProgress rather than Failed.
    if let Some(c) = conditions.iter().find(|c| c.is("ReplicaFailure", "True")) {
        return Health::in_progress(format!(
            "ReplicaSet cannot create pods: {}",
            c.explanation("ReplicaFailure")
        ));
    }
    let spec = int_at(obj, &["spec", "replicas"], 1);
    let replicas = int_at(obj, &["status", "replicas"], 0);
    let ready = int_at(obj, &["status", "readyReplicas"], 0);
    let avail = int_at(obj, &["status", "availableReplicas"], 0);
    let labelled = int_at(obj, &["status", "fullyLabeledReplicas"], 0);
    if spec > labelled {
        return Health::in_progress(format!("Replicas fully labelled: {labelled}/{spec}"));
    }
    if spec > avail {
        return Health::in_progress(format!("Available: {avail}/{spec}"));
    }
    if spec > ready {
        return Health::in_progress(format!("Ready: {ready}/{spec}"));
    }
    if replicas > spec {
        return Health::in_progress(format!(
            "Replicas pending termination: {}",
            replicas.saturating_sub(spec)
        ));
    }
    Health::current(format!("ReplicaSet is available, replicas: {replicas}"))
}

fn job(obj: &Value, conditions: &[Condition]) -> Health {
    let parallelism = int_at(obj, &["spec", "parallelism"], 1);
    let completions = int_at(obj, &["spec", "completions"], parallelism);
    let succeeded = int_at(obj, &["status", "succeeded"], 0);
    let active = int_at(obj, &["status", "active"], 0);
    let failed = int_at(obj, &["status", "failed"], 0);
    let suspended = obj.pointer("/spec/suspend").and_then(Value::as_bool) == Some(true);
    for c in conditions {
        if c.is("Complete", "True") {
            return Health::current(format!(
                "Job completed, succeeded: {succeeded}/{completions}"
            ));
        }
        if c.is("Failed", "True") {
            let why = if c.reason.is_empty() {
                String::new()
            } else {
                format!(" ({})", c.reason)
            };
            return Health::failed(format!(
                "Job failed{why}, failed pods: {failed}, completions wanted: {completions}"
            ));
        }
        // A Job the user suspended is where they want it.
        if c.is("Suspended", "True") && suspended {
            return Health::current("Job is suspended");
        }
    }
    // kstatus counts a Job as Current once it has started: waiting for its
    // completion would make `wait` block on long-running batch work.
    if str_at(obj, &["status", "startTime"]).is_none_or(str::is_empty) {
        return Health::in_progress("Job has not started yet");
    }
    Health::current(format!(
        "Job is running, succeeded: {succeeded}, active: {active}, failed: {failed}"
    ))
}

fn pod(obj: &Value, conditions: &[Condition], now_unix: i64) -> Health {
    match str_at(obj, &["status", "phase"]).unwrap_or("") {
        "Succeeded" => Health::current("Pod completed successfully"),
        // A finished pod will not change any more; kstatus reports it as
        // settled rather than Failed, leaving the judgement to its owner.
        "Failed" => Health::current("Pod completed, but not successfully"),
        "Running" => {
            if conditions.iter().any(|c| c.is("Ready", "True")) {
                return Health::current("Pod is Ready");
            }
            let looping = crash_looping_containers(obj);
            if !looping.is_empty() {
                return Health::failed(format!(
                    "Containers in CrashLoopBackOff: {}",
                    looping.join(", ")
                ));
            }
            Health::in_progress("Pod is running but not Ready")
        }
        "Pending" => {
            let unschedulable = conditions
                .iter()
                .any(|c| c.is("PodScheduled", "False") && c.reason == "Unschedulable");
            if !unschedulable {
                return Health::in_progress("Pod is Pending");
            }
            // A missing or unreadable creation time counts as long ago, as
            // kstatus's zero time does.
            let created = str_at(obj, &["metadata", "creationTimestamp"]).and_then(parse_rfc3339);
            match created {
                Some(t) if now_unix.saturating_sub(t) < SCHEDULE_GRACE_SECS => {
                    Health::in_progress("Pod has not been scheduled yet")
                }
                _ => Health::failed("Pod cannot be scheduled"),
            }
        }
        // The kubelet has not reported yet.
        "" => Health::in_progress("Pod phase not reported yet"),
        other => Health::unknown(format!("Pod has unrecognised phase {other:?}")),
    }
}

/// Names of containers waiting in CrashLoopBackOff; entries of any other
/// shape are skipped, since a half-written status is not evidence of a crash.
fn crash_looping_containers(obj: &Value) -> Vec<String> {
    let Some(list) = obj
        .pointer("/status/containerStatuses")
        .and_then(Value::as_array)
    else {
        return Vec::new();
    };
    list.iter()
        .filter(|cs| {
            cs.pointer("/state/waiting/reason").and_then(Value::as_str) == Some("CrashLoopBackOff")
        })
        .filter_map(|cs| cs.get("name").and_then(Value::as_str).map(str::to_string))
        .collect()
}

fn pvc(obj: &Value) -> Health {
    match str_at(obj, &["status", "phase"]) {
        Some("Bound") => Health::current("PersistentVolumeClaim is Bound"),
        Some(phase) => Health::in_progress(format!(
            "PersistentVolumeClaim is not Bound yet (phase {phase})"
        )),
        None => Health::in_progress("PersistentVolumeClaim is not Bound yet (no phase)"),
    }
}

fn service(obj: &Value) -> Health {
    // kstatus waits on a LoadBalancer Service only for its cluster IP, not
    // for an external address: clusters without a load-balancer provider
    // (kind, bare metal, test servers) never fill in status.loadBalancer, and
    // Flux's `wait` does not hang on them.
    let ty = str_at(obj, &["spec", "type"]).unwrap_or("ClusterIP");
    if ty == "LoadBalancer" && str_at(obj, &["spec", "clusterIP"]).is_none_or(str::is_empty) {
        return Health::in_progress("LoadBalancer Service has no cluster IP assigned yet");
    }
    Health::current(format!("Service ({ty}) is ready"))
}

/// kstatus has no Namespace rule (a deleted namespace carries a
/// deletionTimestamp, caught earlier); the phase check only guards against a
/// status copied without its metadata. Anything else falls through to the
/// generic rules.
fn namespace(obj: &Value) -> Option<Health> {
    (str_at(obj, &["status", "phase"]) == Some("Terminating"))
        .then(|| Health::new(Status::Terminating, "Namespace is terminating"))
}

fn crd(conditions: &[Condition]) -> Health {
    for c in conditions {
        if c.is("NamesAccepted", "False") {
            return Health::failed(format!(
                "CustomResourceDefinition names not accepted: {}",
                c.explanation("NamesAccepted=False")
            ));
        }
        if c.kind == "Established" {
            // "Installing" is the normal transient state right after creation.
            if c.status == "False" && c.reason != "Installing" {
                return Health::failed(format!(
                    "CustomResourceDefinition not established: {}",
                    c.explanation("Established=False")
                ));
            }
            if c.status == "True" {
                return Health::current("CustomResourceDefinition is established");
            }
        }
    }
    Health::in_progress("CustomResourceDefinition is being installed")
}

/// The value at `path`, walking only through objects.
fn at<'a>(obj: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(obj, |v, key| v.as_object()?.get(*key))
}

fn str_at<'a>(obj: &'a Value, path: &[&str]) -> Option<&'a str> {
    at(obj, path).and_then(Value::as_str)
}

/// An integer field, or `None` when absent or not an integer. Like
/// kstatus's field readers, a value of the wrong type counts as absent.
fn opt_int_at(obj: &Value, path: &[&str]) -> Option<i64> {
    at(obj, path).and_then(Value::as_i64)
}

fn int_at(obj: &Value, path: &[&str], default: i64) -> i64 {
    opt_int_at(obj, path).unwrap_or(default)
}

/// Reads one of the generation fields. kstatus refuses to judge an object
/// whose generation is present but not an integer (it cannot tell whether the
/// status is stale), so that is an error rather than "absent".
fn strict_int(obj: &Value, pointer: &str) -> Result<Option<i64>, String> {
    match obj.pointer(pointer) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => match v.as_i64() {
            Some(i) => Ok(Some(i)),
            None => {
                let field = pointer.trim_start_matches('/').replace('/', ".");
                Err(format!("{field} is not an integer"))
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: &str = "2024-05-01T12:00:00Z";

    fn now() -> i64 {
        parse_rfc3339(NOW).unwrap_or_default()
    }

    fn check(obj: Value) -> Health {
        assess_at(&obj, now())
    }

    fn status(obj: Value) -> Status {
        check(obj).status
    }

    fn deploy(spec: Value, status: Value) -> Value {
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default", "generation": 2},
            "spec": spec, "status": status,
        })
    }

    fn cond(t: &str, s: &str, reason: &str, message: &str) -> Value {
        json!({"type": t, "status": s, "reason": reason, "message": message,
               "lastTransitionTime": NOW})
    }

    fn healthy_deploy_status(n: i64) -> Value {
        json!({
            "observedGeneration": 2, "replicas": n, "updatedReplicas": n,
            "readyReplicas": n, "availableReplicas": n,
            "conditions": [
                cond("Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability."),
                cond("Progressing", "True", "NewReplicaSetAvailable", "ReplicaSet \"web-1\" has successfully progressed."),
            ],
        })
    }

    fn flux(conditions: Value) -> Value {
        json!({
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
            "metadata": {"name": "apps", "namespace": "flux-system", "generation": 4},
            "spec": {"interval": "5m", "path": "./apps", "prune": true},
            "status": {"observedGeneration": 4, "conditions": conditions},
        })
    }

    // ---- generic rules ----

    #[test]
    fn null_is_not_found() {
        assert_eq!(status(Value::Null), Status::NotFound);
    }

    #[test]
    fn deletion_timestamp_wins_over_everything() {
        let mut d = deploy(json!({"replicas": 3}), healthy_deploy_status(3));
        d["metadata"]["deletionTimestamp"] = json!(NOW);
        // Even a malformed status must not hide that the object is going away.
        d["status"]["conditions"] = json!("garbage");
        assert_eq!(status(d), Status::Terminating);
    }

    #[test]
    fn empty_deletion_timestamp_is_ignored() {
        let mut d = deploy(json!({"replicas": 3}), healthy_deploy_status(3));
        d["metadata"]["deletionTimestamp"] = json!("");
        assert_eq!(status(d), Status::Current);
    }

    #[test]
    fn unobserved_generation_is_in_progress() {
        let mut d = deploy(json!({"replicas": 3}), healthy_deploy_status(3));
        d["metadata"]["generation"] = json!(3);
        let h = check(d);
        assert_eq!(h.status, Status::InProgress);
        assert!(h.message.contains("generation 3"), "{}", h.message);
        assert!(h.message.contains("Deployment"), "{}", h.message);
    }

    #[test]
    fn observed_generation_ahead_is_also_in_progress() {
        // kstatus compares for inequality, not just "behind".
        let mut d = deploy(json!({"replicas": 1}), healthy_deploy_status(1));
        d["status"]["observedGeneration"] = json!(5);
        assert_eq!(status(d), Status::InProgress);
    }

    #[test]
    fn missing_observed_generation_skips_generation_check() {
        let s = json!({
            "apiVersion": "example.com/v1", "kind": "Widget",
            "metadata": {"name": "w", "generation": 7},
            "status": {"conditions": [cond("Ready", "True", "Ok", "")]},
        });
        assert_eq!(status(s), Status::Current);
    }

    #[test]
    fn stalled_is_failed_with_its_message() {
        let h = check(flux(json!([
            cond(
                "Ready",
                "False",
                "BuildFailed",
                "kustomize build failed: accumulating resources"
            ),
            cond(
                "Stalled",
                "True",
                "BuildFailed",
                "kustomize build failed: accumulating resources"
            ),
        ])));
        assert_eq!(h.status, Status::Failed);
        assert_eq!(h.message, "kustomize build failed: accumulating resources");
    }

    #[test]
    fn stalled_without_message_uses_reason() {
        let h = check(flux(
            json!([{"type": "Stalled", "status": "True", "reason": "InvalidPath"}]),
        ));
        assert_eq!(h.status, Status::Failed);
        assert!(h.message.contains("InvalidPath"), "{}", h.message);
    }

    #[test]
    fn reconciling_is_in_progress() {
        let h = check(flux(json!([
            cond(
                "Ready",
                "Unknown",
                "Progressing",
                "Reconciliation in progress"
            ),
            cond(
                "Reconciling",
                "True",
                "Progressing",
                "Fetching manifests for revision main@sha1:abc"
            ),
        ])));
        assert_eq!(h.status, Status::InProgress);
        assert_eq!(h.message, "Fetching manifests for revision main@sha1:abc");
    }

    #[test]
    fn reconciling_overrides_kind_rules() {
        // A built-in kind with a healthy counter status still honours the
        // standard condition, as in kstatus.
        let mut d = deploy(json!({"replicas": 1}), healthy_deploy_status(1));
        if let Some(list) = d["status"]["conditions"].as_array_mut() {
            list.push(cond("Reconciling", "True", "Rollout", "rolling"));
        }
        assert_eq!(status(d), Status::InProgress);
    }

    #[test]
    fn ready_true_is_current() {
        let h = check(flux(json!([cond(
            "Ready",
            "True",
            "ReconciliationSucceeded",
            "Applied revision: main@sha1:abc"
        )])));
        assert_eq!(h.status, Status::Current);
    }

    #[test]
    fn ready_false_alone_is_in_progress() {
        // kstatus: only Stalled makes Failed; Ready=False may still recover.
        let h = check(flux(json!([cond(
            "Ready",
            "False",
            "ArtifactFailed",
            "Source artifact not found"
        )])));
        assert_eq!(h.status, Status::InProgress);
        assert_eq!(h.message, "Source artifact not found");
    }

    #[test]
    fn ready_unknown_is_in_progress() {
        let h = check(flux(json!([cond("Ready", "Unknown", "Progressing", "")])));
        assert_eq!(h.status, Status::InProgress);
        assert!(h.message.contains("Progressing"), "{}", h.message);
    }

    #[test]
    fn unknown_kind_without_status_is_current() {
        let obj = json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": "reader"}, "rules": [],
        });
        assert_eq!(status(obj), Status::Current);
    }

    #[test]
    fn always_ready_kinds() {
        for (api, kind) in [
            ("v1", "ConfigMap"),
            ("v1", "Secret"),
            ("batch/v1", "CronJob"),
        ] {
            let obj = json!({"apiVersion": api, "kind": kind, "metadata": {"name": "x"}});
            assert_eq!(status(obj), Status::Current, "{kind}");
        }
    }

    // ---- Deployment ----

    #[test]
    fn deployment_rolled_out_is_current() {
        let h = check(deploy(
            json!({"replicas": 3, "progressDeadlineSeconds": 600}),
            healthy_deploy_status(3),
        ));
        assert_eq!(h.status, Status::Current);
        assert!(h.message.contains("replicas: 3"), "{}", h.message);
    }

    #[test]
    fn deployment_default_replicas_is_one() {
        assert_eq!(
            status(deploy(json!({}), healthy_deploy_status(1))),
            Status::Current
        );
        assert_eq!(
            status(deploy(json!({}), healthy_deploy_status(0))),
            Status::InProgress
        );
    }

    #[test]
    fn deployment_progress_deadline_exceeded_is_failed() {
        let mut s = healthy_deploy_status(3);
        s["conditions"] = json!([
            cond("Available", "True", "MinimumReplicasAvailable", ""),
            cond(
                "Progressing",
                "False",
                "ProgressDeadlineExceeded",
                "ReplicaSet \"web-2\" has timed out progressing."
            ),
        ]);
        let h = check(deploy(json!({"replicas": 3}), s));
        assert_eq!(h.status, Status::Failed);
        assert!(h.message.contains("timed out"), "{}", h.message);
    }

    #[test]
    fn deployment_counter_steps() {
        let base = json!({"observedGeneration": 2, "replicas": 3, "updatedReplicas": 3,
                          "readyReplicas": 3, "availableReplicas": 3});
        let cases: [(&str, Value, &str); 5] = [
            ("replicas", json!(2), "Replicas created: 2/3"),
            ("updatedReplicas", json!(1), "Replicas updated: 1/3"),
            ("replicas", json!(4), "pending termination: 1"),
            ("availableReplicas", json!(2), "Replicas available: 2/3"),
            ("readyReplicas", json!(2), "Ready: 2/3"),
        ];
        for (field, value, want) in cases {
            let mut s = base.clone();
            s[field] = value;
            let h = check(deploy(
                json!({"replicas": 3, "progressDeadlineSeconds": 600}),
                s,
            ));
            assert_eq!(h.status, Status::InProgress, "{field}");
            assert!(h.message.contains(want), "{field}: {}", h.message);
        }
    }

    #[test]
    fn deployment_needs_progressing_when_deadline_set() {
        let mut s = healthy_deploy_status(2);
        s["conditions"] = json!([cond("Available", "True", "MinimumReplicasAvailable", "")]);
        assert_eq!(
            status(deploy(
                json!({"replicas": 2, "progressDeadlineSeconds": 600}),
                s.clone()
            )),
            Status::InProgress
        );
        // Without a deadline the controller never sets Progressing.
        assert_eq!(status(deploy(json!({"replicas": 2}), s)), Status::Current);
    }

    #[test]
    fn deployment_needs_available_condition() {
        let mut s = healthy_deploy_status(2);
        s["conditions"] = json!([
            cond("Available", "False", "MinimumReplicasUnavailable", ""),
            cond("Progressing", "True", "NewReplicaSetAvailable", ""),
        ]);
        let h = check(deploy(json!({"replicas": 2}), s));
        assert_eq!(h.status, Status::InProgress);
        assert!(h.message.contains("availability"), "{}", h.message);
    }

    #[test]
    fn deployment_in_other_group_uses_generic_rules() {
        let obj = json!({
            "apiVersion": "example.com/v1", "kind": "Deployment",
            "metadata": {"name": "x", "generation": 1},
            "spec": {"replicas": 5},
        });
        assert_eq!(status(obj), Status::Current);
    }

    // ---- StatefulSet ----

    fn sts(spec: Value, status: Value) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "StatefulSet",
               "metadata": {"name": "db", "generation": 1}, "spec": spec, "status": status})
    }

    #[test]
    fn statefulset_rules() {
        let ok = json!({"observedGeneration": 1, "replicas": 3, "readyReplicas": 3,
                        "currentReplicas": 3, "updatedReplicas": 3,
                        "currentRevision": "db-1", "updateRevision": "db-1"});
        assert_eq!(
            status(sts(json!({"replicas": 3}), ok.clone())),
            Status::Current
        );

        let mut s = ok.clone();
        s["readyReplicas"] = json!(1);
        let h = check(sts(json!({"replicas": 3}), s));
        assert_eq!(
            (h.status, h.message.as_str()),
            (Status::InProgress, "Ready: 1/3")
        );

        let mut s = ok.clone();
        s["currentReplicas"] = json!(2);
        assert_eq!(status(sts(json!({"replicas": 3}), s)), Status::InProgress);

        let mut s = ok.clone();
        s["updateRevision"] = json!("db-2");
        let h = check(sts(json!({"replicas": 3}), s));
        assert_eq!(h.status, Status::InProgress);
        assert!(h.message.contains("db-2"), "{}", h.message);

        let mut s = ok.clone();
        s["replicas"] = json!(5);
        s["readyReplicas"] = json!(5);
        assert_eq!(status(sts(json!({"replicas": 3}), s)), Status::InProgress);
    }

    #[test]
    fn statefulset_on_delete_is_current() {
        let spec = json!({"replicas": 3, "updateStrategy": {"type": "OnDelete"}});
        assert_eq!(
            status(sts(spec, json!({"observedGeneration": 1}))),
            Status::Current
        );
    }

    #[test]
    fn statefulset_partition() {
        let spec = json!({"replicas": 4, "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 2}}});
        let s = json!({"observedGeneration": 1, "replicas": 4, "readyReplicas": 4,
                       "currentReplicas": 2, "updatedReplicas": 1,
                       "currentRevision": "db-1", "updateRevision": "db-2"});
        let h = check(sts(spec.clone(), s.clone()));
        assert_eq!(h.status, Status::InProgress);
        assert!(h.message.contains("1/2"), "{}", h.message);
        let mut done = s;
        done["updatedReplicas"] = json!(2);
        // Revisions differ by design in a partitioned rollout.
        assert_eq!(status(sts(spec, done)), Status::Current);
    }

    // ---- DaemonSet ----

    fn ds(status: Value) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "DaemonSet",
               "metadata": {"name": "agent", "generation": 1}, "spec": {}, "status": status})
    }

    #[test]
    fn daemonset_rules() {
        let ok = json!({"observedGeneration": 1, "desiredNumberScheduled": 3,
                        "currentNumberScheduled": 3, "updatedNumberScheduled": 3,
                        "numberAvailable": 3, "numberReady": 3});
        assert_eq!(status(ds(ok.clone())), Status::Current);
        for (field, want) in [
            ("currentNumberScheduled", "scheduled: 2/3"),
            ("updatedNumberScheduled", "updated: 2/3"),
            ("numberAvailable", "Available: 2/3"),
            ("numberReady", "Ready: 2/3"),
        ] {
            let mut s = ok.clone();
            s[field] = json!(2);
            let h = check(ds(s));
            assert_eq!(h.status, Status::InProgress, "{field}");
            assert!(h.message.contains(want), "{field}: {}", h.message);
        }
    }

    #[test]
    fn daemonset_requires_generations_and_desired() {
        // No observedGeneration: the controller has not looked yet.
        assert_eq!(
            status(ds(json!({"desiredNumberScheduled": 0}))),
            Status::InProgress
        );
        let h = check(ds(json!({"observedGeneration": 1})));
        assert_eq!(h.status, Status::InProgress);
        assert!(
            h.message.contains("desiredNumberScheduled"),
            "{}",
            h.message
        );
        // Zero desired nodes is a finished rollout.
        assert_eq!(
            status(ds(
                json!({"observedGeneration": 1, "desiredNumberScheduled": 0})
            )),
            Status::Current
        );
    }

    // ---- ReplicaSet ----

    #[test]
    fn replicaset_rules() {
        let rs = |status: Value| {
            json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
                   "metadata": {"name": "web-1", "generation": 1}, "spec": {"replicas": 2}, "status": status})
        };
        let ok = json!({"observedGeneration": 1, "replicas": 2, "fullyLabeledReplicas": 2,
                        "readyReplicas": 2, "availableReplicas": 2});
        assert_eq!(status(rs(ok.clone())), Status::Current);
        let mut s = ok.clone();
        s["availableReplicas"] = json!(1);
        assert_eq!(status(rs(s)), Status::InProgress);
        let mut s = ok.clone();
        s["conditions"] = json!([cond(
            "ReplicaFailure",
            "True",
            "FailedCreate",
            "pods \"web-1-x\" is forbidden: exceeded quota"
        )]);
        let h = check(rs(s));
        assert_eq!(h.status, Status::InProgress);
        assert!(h.message.contains("exceeded quota"), "{}", h.message);
    }

    // ---- Job ----

    fn job_obj(spec: Value, status: Value) -> Value {
        json!({"apiVersion": "batch/v1", "kind": "Job",
               "metadata": {"name": "migrate", "generation": 1}, "spec": spec, "status": status})
    }

    #[test]
    fn job_complete_failed_running_pending() {
        let done = job_obj(
            json!({"completions": 3}),
            json!({"succeeded": 3, "startTime": NOW,
            "conditions": [cond("Complete", "True", "", "")]}),
        );
        let h = check(done);
        assert_eq!(h.status, Status::Current);
        assert!(h.message.contains("3/3"), "{}", h.message);

        let failed = job_obj(
            json!({}),
            json!({"failed": 7, "startTime": NOW,
            "conditions": [cond("Failed", "True", "BackoffLimitExceeded", "Job has reached the specified backoff limit")]}),
        );
        let h = check(failed);
        assert_eq!(h.status, Status::Failed);
        assert!(h.message.contains("BackoffLimitExceeded"), "{}", h.message);

        // kstatus: a started Job is Current even before it completes.
        let running = job_obj(json!({}), json!({"active": 1, "startTime": NOW}));
        assert_eq!(status(running), Status::Current);

        let pending = job_obj(json!({}), json!({}));
        assert_eq!(status(pending), Status::InProgress);
    }

    #[test]
    fn job_suspended_is_current_only_if_spec_says_so() {
        let s = json!({"conditions": [cond("Suspended", "True", "JobSuspended", "")]});
        assert_eq!(
            status(job_obj(json!({"suspend": true}), s.clone())),
            Status::Current
        );
        assert_eq!(
            status(job_obj(json!({"suspend": false}), s)),
            Status::InProgress
        );
    }

    // ---- Pod ----

    fn pod_obj(status: Value) -> Value {
        json!({"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": "p", "creationTimestamp": "2024-05-01T11:00:00Z"},
               "spec": {"containers": [{"name": "app", "image": "nginx"}]}, "status": status})
    }

    #[test]
    fn pod_phases() {
        let ready =
            pod_obj(json!({"phase": "Running", "conditions": [cond("Ready", "True", "", "")]}));
        assert_eq!(status(ready), Status::Current);
        let succeeded = pod_obj(
            json!({"phase": "Succeeded", "conditions": [cond("Ready", "False", "PodCompleted", "")]}),
        );
        assert_eq!(status(succeeded), Status::Current);
        // kstatus treats a finished-but-failed pod as settled.
        assert_eq!(status(pod_obj(json!({"phase": "Failed"}))), Status::Current);
        let not_ready = pod_obj(
            json!({"phase": "Running", "conditions": [cond("Ready", "False", "ContainersNotReady", "")]}),
        );
        assert_eq!(status(not_ready), Status::InProgress);
        assert_eq!(
            status(pod_obj(json!({"phase": "Pending"}))),
            Status::InProgress
        );
        assert_eq!(status(pod_obj(json!({}))), Status::InProgress);
        assert_eq!(
            status(pod_obj(json!({"phase": "Exploded"}))),
            Status::Unknown
        );
    }

    #[test]
    fn pod_crash_loop_is_failed() {
        let p = pod_obj(json!({
            "phase": "Running",
            "conditions": [cond("Ready", "False", "ContainersNotReady", "")],
            "containerStatuses": [
                {"name": "app", "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 5m0s"}}},
                {"name": "sidecar", "state": {"running": {"startedAt": NOW}}},
                "not-an-object",
                {"state": {"waiting": {"reason": "CrashLoopBackOff"}}},
            ],
        }));
        let h = check(p);
        assert_eq!(h.status, Status::Failed);
        assert!(
            h.message.contains("app") && !h.message.contains("sidecar"),
            "{}",
            h.message
        );
    }

    #[test]
    fn pod_unschedulable_after_grace_is_failed() {
        let unsched = json!({"phase": "Pending",
            "conditions": [cond("PodScheduled", "False", "Unschedulable", "0/3 nodes are available")]});
        // Created an hour before NOW.
        assert_eq!(status(pod_obj(unsched.clone())), Status::Failed);
        let mut fresh = pod_obj(unsched.clone());
        fresh["metadata"]["creationTimestamp"] = json!("2024-05-01T11:59:55Z");
        assert_eq!(status(fresh), Status::InProgress);
        // Offsets are honoured: 13:59:50+02:00 is 10 s before NOW.
        let mut offset = pod_obj(unsched.clone());
        offset["metadata"]["creationTimestamp"] = json!("2024-05-01T13:59:50.123+02:00");
        assert_eq!(status(offset), Status::InProgress);
        let mut missing = pod_obj(unsched);
        missing["metadata"]["creationTimestamp"] = json!(12);
        assert_eq!(status(missing), Status::Failed);
    }

    // ---- other built-ins ----

    #[test]
    fn pvc_bound_or_not() {
        let pvc = |phase: Value| {
            json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                   "metadata": {"name": "data"}, "status": {"phase": phase}})
        };
        assert_eq!(status(pvc(json!("Bound"))), Status::Current);
        let h = check(pvc(json!("Pending")));
        assert_eq!(h.status, Status::InProgress);
        assert!(h.message.contains("Pending"), "{}", h.message);
        assert_eq!(status(pvc(json!(null))), Status::InProgress);
    }

    #[test]
    fn service_types() {
        let svc = |spec: Value| json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}, "spec": spec, "status": {"loadBalancer": {}}});
        assert_eq!(
            status(svc(json!({"type": "ClusterIP", "clusterIP": "10.0.0.1"}))),
            Status::Current
        );
        assert_eq!(
            status(svc(
                json!({"type": "ExternalName", "externalName": "example.com"})
            )),
            Status::Current
        );
        assert_eq!(
            status(svc(json!({"ports": [{"port": 80}]}))),
            Status::Current
        );
        // As kstatus: a LoadBalancer waits for its cluster IP, not an ingress.
        assert_eq!(
            status(svc(json!({"type": "LoadBalancer"}))),
            Status::InProgress
        );
        assert_eq!(
            status(svc(
                json!({"type": "LoadBalancer", "clusterIP": "10.0.0.9"})
            )),
            Status::Current
        );
    }

    #[test]
    fn pdb_is_current_once_observed() {
        let pdb = json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
            "metadata": {"name": "p", "generation": 2}, "spec": {"minAvailable": 1},
            "status": {"observedGeneration": 2, "disruptionsAllowed": 0, "currentHealthy": 0,
                       "desiredHealthy": 1, "expectedPods": 1}});
        assert_eq!(status(pdb.clone()), Status::Current);
        let mut stale = pdb;
        stale["status"]["observedGeneration"] = json!(1);
        assert_eq!(status(stale), Status::InProgress);
    }

    #[test]
    fn crd_conditions() {
        let crd = |conds: Value| {
            json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
                   "metadata": {"name": "widgets.example.com", "generation": 1},
                   "status": {"conditions": conds}})
        };
        let est = crd(json!([
            cond("NamesAccepted", "True", "NoConflicts", ""),
            cond("Established", "True", "InitialNamesAccepted", "")
        ]));
        assert_eq!(status(est), Status::Current);
        let conflict = crd(json!([
            cond(
                "NamesAccepted",
                "False",
                "KindConflict",
                "\"Widget\" is already in use"
            ),
            cond(
                "Established",
                "False",
                "NotAccepted",
                "not all names are accepted"
            ),
        ]));
        let h = check(conflict);
        assert_eq!(h.status, Status::Failed);
        assert!(h.message.contains("already in use"), "{}", h.message);
        let installing = crd(json!([cond("Established", "False", "Installing", "")]));
        assert_eq!(status(installing), Status::InProgress);
        assert_eq!(status(crd(json!([]))), Status::InProgress);
    }

    #[test]
    fn namespace_phases() {
        let ns = |meta: Value, phase: &str| json!({"apiVersion": "v1", "kind": "Namespace", "metadata": meta, "status": {"phase": phase}});
        assert_eq!(
            status(ns(json!({"name": "apps"}), "Active")),
            Status::Current
        );
        assert_eq!(
            status(ns(json!({"name": "apps"}), "Terminating")),
            Status::Terminating
        );
        assert_eq!(
            status(ns(
                json!({"name": "apps", "deletionTimestamp": NOW}),
                "Terminating"
            )),
            Status::Terminating
        );
    }

    // ---- testenv simulated workloads (shapes from crates/testenv/src/workloads.rs status_for) ----

    fn testenv_deployment(failing: bool) -> Value {
        let conditions = if failing {
            json!([
                {"type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable", "message": "Deployment does not have minimum availability.", "lastUpdateTime": NOW, "lastTransitionTime": NOW},
                {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded", "message": "ReplicaSet has timed out progressing.", "lastUpdateTime": NOW, "lastTransitionTime": NOW}
            ])
        } else {
            json!([
                {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable", "message": "Deployment has minimum availability.", "lastUpdateTime": NOW, "lastTransitionTime": NOW},
                {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable", "message": "ReplicaSet has successfully progressed.", "lastUpdateTime": NOW, "lastTransitionTime": NOW}
            ])
        };
        let ready = if failing { 0 } else { 2 };
        let mut s = json!({
            "observedGeneration": 1, "replicas": 2, "updatedReplicas": 2,
            "readyReplicas": ready, "availableReplicas": ready, "conditions": conditions,
        });
        if failing {
            s["unavailableReplicas"] = json!(2);
        }
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
               "metadata": {"name": "podinfo", "namespace": "apps", "generation": 1},
               "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "podinfo"}}},
               "status": s})
    }

    #[test]
    fn testenv_deployment_rolled_out_and_failing() {
        assert_eq!(status(testenv_deployment(false)), Status::Current);
        let h = check(testenv_deployment(true));
        assert_eq!(h.status, Status::Failed);
        assert!(h.message.contains("timed out progressing"), "{}", h.message);
    }

    #[test]
    fn testenv_statefulset() {
        let obj = |ready: i64| {
            json!({"apiVersion": "apps/v1", "kind": "StatefulSet",
                   "metadata": {"name": "redis", "generation": 2}, "spec": {"replicas": 3},
                   "status": {"observedGeneration": 2, "replicas": 3, "readyReplicas": ready,
                              "availableReplicas": ready, "currentReplicas": 3, "updatedReplicas": 3,
                              "currentRevision": "redis-2", "updateRevision": "redis-2"}})
        };
        assert_eq!(status(obj(3)), Status::Current);
        // kstatus has no failure signal for StatefulSets: a failing one never
        // becomes Ready and stays InProgress until the caller's timeout.
        let h = check(obj(0));
        assert_eq!(
            (h.status, h.message.as_str()),
            (Status::InProgress, "Ready: 0/3")
        );
    }

    #[test]
    fn testenv_daemonset() {
        let obj = |n: i64| {
            ds(json!({"observedGeneration": 1, "desiredNumberScheduled": 1,
                      "currentNumberScheduled": 1, "updatedNumberScheduled": 1,
                      "numberReady": n, "numberAvailable": n, "numberMisscheduled": 0}))
        };
        assert_eq!(status(obj(1)), Status::Current);
        // Like StatefulSets, DaemonSets have no failure signal in kstatus.
        assert_eq!(status(obj(0)), Status::InProgress);
    }

    #[test]
    fn testenv_job() {
        let ok = job_obj(
            json!({"completions": 2}),
            json!({
            "succeeded": 2, "startTime": NOW, "completionTime": NOW,
            "conditions": [
                {"type": "SuccessCriteriaMet", "status": "True", "reason": "CompletionsReached", "message": "Reached expected number of succeeded pods", "lastProbeTime": NOW, "lastTransitionTime": NOW},
                {"type": "Complete", "status": "True", "reason": "CompletionsReached", "message": "Reached expected number of succeeded pods", "lastProbeTime": NOW, "lastTransitionTime": NOW}
            ]}),
        );
        assert_eq!(status(ok), Status::Current);
        let failing = job_obj(
            json!({}),
            json!({
            "failed": 1, "startTime": NOW,
            "conditions": [
                {"type": "FailureTarget", "status": "True", "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit", "lastProbeTime": NOW, "lastTransitionTime": NOW},
                {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit", "lastProbeTime": NOW, "lastTransitionTime": NOW}
            ]}),
        );
        assert_eq!(status(failing), Status::Failed);
    }

    // ---- hostile input ----

    #[test]
    fn non_objects_never_panic() {
        for v in [
            json!(1),
            json!("Deployment"),
            json!([1, 2]),
            json!(true),
            json!({}),
        ] {
            let h = assess(&v);
            assert!(
                matches!(h.status, Status::Unknown | Status::Current),
                "{v}: {h:?}"
            );
        }
    }

    #[test]
    fn malformed_metadata_and_generations_are_unknown() {
        let cases = [
            json!({"kind": "Deployment", "apiVersion": "apps/v1", "metadata": "oops"}),
            json!({"kind": "Widget", "metadata": {"deletionTimestamp": 5}}),
            json!({"kind": "Widget", "metadata": {"generation": "2"}, "status": {"observedGeneration": 2}}),
            json!({"kind": "Widget", "metadata": {"generation": 2}, "status": {"observedGeneration": 2.5}}),
            json!({"kind": "Widget", "status": "Ready"}),
            json!({"kind": "Widget", "status": {"conditions": {"type": "Ready"}}}),
            json!({"kind": "Widget", "status": {"conditions": ["Ready"]}}),
            json!({"kind": "Widget", "status": {"conditions": [{"type": "Ready", "status": true}]}}),
        ];
        for c in cases {
            let h = check(c.clone());
            assert_eq!(h.status, Status::Unknown, "{c}: {h:?}");
            assert!(!h.message.is_empty());
        }
    }

    #[test]
    fn wrong_typed_counters_fall_back_to_defaults() {
        // Strings and floats count as absent, like kstatus's field readers.
        let s = json!({"observedGeneration": 2, "replicas": "3", "updatedReplicas": 3.0,
                       "readyReplicas": null, "availableReplicas": [3], "conditions": null});
        let h = check(deploy(json!({"replicas": "three"}), s));
        assert_eq!(h.status, Status::InProgress);
        assert!(h.message.contains("0/1"), "{}", h.message);
        let h = check(ds(
            json!({"observedGeneration": 1, "desiredNumberScheduled": "1"}),
        ));
        assert_eq!(h.status, Status::InProgress);
    }

    #[test]
    fn extreme_and_negative_numbers_do_not_overflow() {
        let s = json!({"observedGeneration": 2, "replicas": i64::MAX, "updatedReplicas": i64::MAX,
                       "readyReplicas": -5, "availableReplicas": i64::MIN});
        for spec in [
            json!({"replicas": i64::MIN}),
            json!({"replicas": -1}),
            json!({"replicas": u64::MAX}),
        ] {
            let _ = check(deploy(spec, s.clone()));
        }
        let spec = json!({"replicas": i64::MIN, "updateStrategy": {"rollingUpdate": {"partition": i64::MAX}}});
        let _ = check(sts(
            spec,
            json!({"observedGeneration": 1, "replicas": i64::MAX}),
        ));
        let _ = check(job_obj(
            json!({"completions": -3}),
            json!({"succeeded": -1, "startTime": 7}),
        ));
        let mut p = pod_obj(
            json!({"phase": "Pending", "conditions": [cond("PodScheduled", "False", "Unschedulable", "")]}),
        );
        p["metadata"]["creationTimestamp"] = json!("9999-12-31T23:59:59-23:59");
        let _ = check(p);
        // A negative count is below any sane spec, so it never reads as done.
        let h = check(deploy(
            json!({"replicas": 0}),
            json!({"observedGeneration": 2, "replicas": -1,
            "conditions": [cond("Available", "True", "", ""), cond("Progressing", "True", "NewReplicaSetAvailable", "")]}),
        ));
        assert_eq!(h.status, Status::InProgress, "{h:?}");
    }

    #[test]
    fn odd_shapes_in_kind_rules_do_not_panic() {
        let odd = [
            json!({"apiVersion": "v1", "kind": "Pod", "status": {"phase": 3, "containerStatuses": {"a": 1}}}),
            json!({"apiVersion": "v1", "kind": "Pod", "status": {"phase": "Running", "containerStatuses": [null, {"name": 5, "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}}),
            json!({"apiVersion": "v1", "kind": "Service", "spec": "LoadBalancer"}),
            json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "spec": {"updateStrategy": "OnDelete"}, "status": null}),
            json!({"apiVersion": "batch/v1", "kind": "Job", "spec": {"suspend": "yes"}, "status": {"conditions": [null, {}]}}),
            json!({"apiVersion": 7, "kind": ["Deployment"], "metadata": null}),
            json!({"apiVersion": "/", "kind": "", "metadata": {}}),
        ];
        for v in odd {
            let _ = check(v);
        }
        // A numeric phase counts as no phase at all.
        let h = check(json!({"apiVersion": "v1", "kind": "Pod", "status": {"phase": 3}}));
        assert_eq!(h.status, Status::InProgress);
    }

    #[test]
    fn rfc3339_parsing() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_rfc3339("2000-03-01T00:00:00Z"), Some(951_868_800));
        assert_eq!(parse_rfc3339("1970-01-01T01:00:00+01:00"), Some(0));
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00.5Z"), Some(0));
        for bad in [
            "",
            "yesterday",
            "2024-13-01T00:00:00Z",
            "2024-01-01T00:00:00",
            "2024-01-01T00:00:00+0100",
            "2024-01-01T00:00:00.Z",
            "2024-01-01T00:00:00+-1:00",
            "２０２４-01-01T00:00:00Z",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }
}
