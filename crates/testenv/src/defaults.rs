//! The defaults kube-apiserver fills into built-in kinds on every write and
//! dry-run (k8s.io/api's `SetDefaults_*` functions), limited to the fields
//! controllers, health checks and drift detection read.

use serde_json::{Map, Value, json};

/// Fills the defaults of a built-in object of `group`/`kind` in place.
pub fn apply(group: &str, kind: &str, obj: &mut Value) {
    match (group, kind) {
        ("apps", "Deployment") => deployment(obj),
        ("apps", "ReplicaSet") => {
            let spec = object(obj, "spec");
            set(spec, "replicas", json!(1));
            pod_template(spec);
        }
        ("apps", "StatefulSet") => stateful_set(obj),
        ("apps", "DaemonSet") => daemon_set(obj),
        ("", "ReplicationController") => {
            let spec = object(obj, "spec");
            set(spec, "replicas", json!(1));
            pod_template(spec);
        }
        ("batch", "Job") => job(object(obj, "spec")),
        ("batch", "CronJob") => cron_job(obj),
        ("", "Pod") => {
            let spec = object(obj, "spec");
            pod_spec(spec);
            // The ServiceAccount admission plugin, on every pod a real cluster runs.
            if !spec.contains_key("serviceAccountName") {
                let sa = spec
                    .get("serviceAccount")
                    .cloned()
                    .unwrap_or_else(|| json!("default"));
                spec.insert("serviceAccountName".into(), sa);
            }
            if !spec.contains_key("serviceAccount") {
                let sa = spec["serviceAccountName"].clone();
                spec.insert("serviceAccount".into(), sa);
            }
        }
        ("", "Service") => service(obj),
        ("", "Secret") => {
            if let Some(map) = obj.as_object_mut() {
                set(map, "type", json!("Opaque"));
            }
        }
        ("", "PersistentVolumeClaim") => {
            set(object(obj, "spec"), "volumeMode", json!("Filesystem"));
        }
        ("rbac.authorization.k8s.io", "RoleBinding" | "ClusterRoleBinding") => {
            // SetDefaults_Subject: users and groups belong to the RBAC group.
            if let Some(subjects) = obj.get_mut("subjects").and_then(Value::as_array_mut) {
                for s in subjects.iter_mut().filter_map(Value::as_object_mut) {
                    let api_group = match s.get("kind").and_then(Value::as_str) {
                        Some("User" | "Group") => "rbac.authorization.k8s.io",
                        _ => "",
                    };
                    if s.get("apiGroup").is_none_or(|g| g.as_str() == Some(""))
                        && !api_group.is_empty()
                    {
                        s.insert("apiGroup".into(), json!(api_group));
                    }
                }
            }
        }
        _ => {}
    }
}

/// The object at `map[key]`, created empty when absent (or not an object).
fn object<'a>(value: &'a mut Value, key: &str) -> &'a mut Map<String, Value> {
    if !value.is_object() {
        *value = json!({});
    }
    let map = value.as_object_mut().expect("made an object above");
    let entry = map.entry(key.to_string()).or_insert_with(|| json!({}));
    if !entry.is_object() {
        *entry = json!({});
    }
    entry.as_object_mut().expect("made an object above")
}

fn child<'a>(map: &'a mut Map<String, Value>, key: &str) -> &'a mut Map<String, Value> {
    let entry = map.entry(key.to_string()).or_insert_with(|| json!({}));
    if !entry.is_object() {
        *entry = json!({});
    }
    entry.as_object_mut().expect("made an object above")
}

fn set(map: &mut Map<String, Value>, key: &str, value: Value) {
    if map.get(key).is_none_or(Value::is_null) {
        map.insert(key.to_string(), value);
    }
}

/// `set` for string enums, where the empty string also means unset.
fn set_str(map: &mut Map<String, Value>, key: &str, value: &str) {
    if map
        .get(key)
        .is_none_or(|v| v.is_null() || v.as_str() == Some(""))
    {
        map.insert(key.to_string(), json!(value));
    }
}

fn deployment(obj: &mut Value) {
    let spec = object(obj, "spec");
    set(spec, "replicas", json!(1));
    let strategy = child(spec, "strategy");
    set_str(strategy, "type", "RollingUpdate");
    if strategy["type"] == "RollingUpdate" {
        let rolling = child(strategy, "rollingUpdate");
        set(rolling, "maxUnavailable", json!("25%"));
        set(rolling, "maxSurge", json!("25%"));
    }
    set(spec, "revisionHistoryLimit", json!(10));
    set(spec, "progressDeadlineSeconds", json!(600));
    pod_template(spec);
}

fn stateful_set(obj: &mut Value) {
    let spec = object(obj, "spec");
    set(spec, "replicas", json!(1));
    set_str(spec, "podManagementPolicy", "OrderedReady");
    let strategy = child(spec, "updateStrategy");
    set_str(strategy, "type", "RollingUpdate");
    if strategy["type"] == "RollingUpdate" {
        set(child(strategy, "rollingUpdate"), "partition", json!(0));
    }
    set(spec, "revisionHistoryLimit", json!(10));
    let retention = child(spec, "persistentVolumeClaimRetentionPolicy");
    set_str(retention, "whenDeleted", "Retain");
    set_str(retention, "whenScaled", "Retain");
    pod_template(spec);
}

fn daemon_set(obj: &mut Value) {
    let spec = object(obj, "spec");
    let strategy = child(spec, "updateStrategy");
    set_str(strategy, "type", "RollingUpdate");
    if strategy["type"] == "RollingUpdate" {
        let rolling = child(strategy, "rollingUpdate");
        set(rolling, "maxUnavailable", json!(1));
        set(rolling, "maxSurge", json!(0));
    }
    set(spec, "revisionHistoryLimit", json!(10));
    pod_template(spec);
}

fn job(spec: &mut Map<String, Value>) {
    let unset = |m: &Map<String, Value>, k: &str| m.get(k).is_none_or(Value::is_null);
    if unset(spec, "completions") && unset(spec, "parallelism") {
        spec.insert("completions".into(), json!(1));
        spec.insert("parallelism".into(), json!(1));
    }
    set(spec, "parallelism", json!(1));
    if unset(spec, "backoffLimit") {
        let limit = if unset(spec, "backoffLimitPerIndex") {
            6
        } else {
            i32::MAX as i64
        };
        spec.insert("backoffLimit".into(), json!(limit));
    }
    set_str(spec, "completionMode", "NonIndexed");
    set(spec, "suspend", json!(false));
    if unset(spec, "podFailurePolicy") {
        set_str(spec, "podReplacementPolicy", "TerminatingOrFailed");
    }
    pod_template(spec);
}

fn cron_job(obj: &mut Value) {
    let spec = object(obj, "spec");
    set_str(spec, "concurrencyPolicy", "Allow");
    set(spec, "suspend", json!(false));
    set(spec, "successfulJobsHistoryLimit", json!(3));
    set(spec, "failedJobsHistoryLimit", json!(1));
    let job_spec = child(child(spec, "jobTemplate"), "spec");
    job(job_spec);
}

/// The pod template under a workload's spec.
fn pod_template(spec: &mut Map<String, Value>) {
    if let Some(template) = spec.get_mut("template").and_then(Value::as_object_mut) {
        pod_spec(child(template, "spec"));
    }
}

fn pod_spec(spec: &mut Map<String, Value>) {
    set_str(spec, "restartPolicy", "Always");
    set_str(spec, "dnsPolicy", "ClusterFirst");
    set(spec, "terminationGracePeriodSeconds", json!(30));
    set(spec, "securityContext", json!({}));
    set_str(spec, "schedulerName", "default-scheduler");
    set(spec, "enableServiceLinks", json!(true));
    for list in ["initContainers", "containers", "ephemeralContainers"] {
        if let Some(containers) = spec.get_mut(list).and_then(Value::as_array_mut) {
            for c in containers.iter_mut().filter_map(Value::as_object_mut) {
                container(c);
            }
        }
    }
    if let Some(volumes) = spec.get_mut("volumes").and_then(Value::as_array_mut) {
        for v in volumes.iter_mut().filter_map(Value::as_object_mut) {
            for source in ["configMap", "secret", "downwardAPI", "projected"] {
                if let Some(s) = v.get_mut(source).and_then(Value::as_object_mut) {
                    set(s, "defaultMode", json!(420));
                }
            }
            let has_source = v.keys().any(|k| k != "name");
            if !has_source {
                v.insert("emptyDir".into(), json!({}));
            }
        }
    }
}

fn container(c: &mut Map<String, Value>) {
    set_str(c, "terminationMessagePath", "/dev/termination-log");
    set_str(c, "terminationMessagePolicy", "File");
    let policy = image_pull_policy(c.get("image").and_then(Value::as_str).unwrap_or(""));
    set_str(c, "imagePullPolicy", policy);
    set(c, "resources", json!({}));
    if let Some(ports) = c.get_mut("ports").and_then(Value::as_array_mut) {
        for p in ports.iter_mut().filter_map(Value::as_object_mut) {
            set_str(p, "protocol", "TCP");
        }
    }
    if let Some(env) = c.get_mut("env").and_then(Value::as_array_mut) {
        for e in env.iter_mut().filter_map(Value::as_object_mut) {
            if let Some(field_ref) = e
                .get_mut("valueFrom")
                .and_then(|v| v.get_mut("fieldRef"))
                .and_then(Value::as_object_mut)
            {
                set_str(field_ref, "apiVersion", "v1");
            }
        }
    }
    for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
        if let Some(p) = c.get_mut(probe).and_then(Value::as_object_mut) {
            set(p, "timeoutSeconds", json!(1));
            set(p, "periodSeconds", json!(10));
            set(p, "successThreshold", json!(1));
            set(p, "failureThreshold", json!(3));
            if let Some(http) = p.get_mut("httpGet").and_then(Value::as_object_mut) {
                set_str(http, "path", "/");
                set_str(http, "scheme", "HTTP");
            }
        }
    }
}

/// `Always` for an image without a tag or tagged `latest`, else `IfNotPresent`
/// (a digest counts as a tag).
fn image_pull_policy(image: &str) -> &'static str {
    if image.contains('@') {
        return "IfNotPresent";
    }
    let last = image.rsplit('/').next().unwrap_or(image);
    match last.split_once(':') {
        Some((_, tag)) if tag != "latest" => "IfNotPresent",
        _ => "Always",
    }
}

fn service(obj: &mut Value) {
    let spec = object(obj, "spec");
    set_str(spec, "type", "ClusterIP");
    let kind = spec["type"].as_str().unwrap_or("").to_string();
    if kind != "ExternalName" {
        set_str(spec, "sessionAffinity", "None");
        set_str(spec, "internalTrafficPolicy", "Cluster");
    }
    if matches!(kind.as_str(), "NodePort" | "LoadBalancer") {
        set_str(spec, "externalTrafficPolicy", "Cluster");
    }
    if kind == "LoadBalancer" {
        set(spec, "allocateLoadBalancerNodePorts", json!(true));
    }
    if let Some(ports) = spec.get_mut("ports").and_then(Value::as_array_mut) {
        for p in ports.iter_mut().filter_map(Value::as_object_mut) {
            set_str(p, "protocol", "TCP");
            if p.get("targetPort")
                .is_none_or(|t| t.is_null() || t == 0 || t == "")
                && let Some(port) = p.get("port").cloned()
            {
                p.insert("targetPort".into(), port);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deployments_get_the_servers_defaults() {
        let mut d = json!({"spec": {"selector": {}, "template": {"spec": {"containers": [
            {"name": "a", "image": "nginx", "ports": [{"containerPort": 80}]},
            {"name": "b", "image": "registry:5000/app:1.2", "imagePullPolicy": "Never"}
        ]}}}});
        apply("apps", "Deployment", &mut d);
        let spec = &d["spec"];
        assert_eq!(spec["replicas"], 1);
        assert_eq!(
            spec["strategy"],
            json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}})
        );
        assert_eq!(spec["revisionHistoryLimit"], 10);
        assert_eq!(spec["progressDeadlineSeconds"], 600);
        let pod = &spec["template"]["spec"];
        assert_eq!(pod["restartPolicy"], "Always");
        assert_eq!(pod["dnsPolicy"], "ClusterFirst");
        assert_eq!(pod["terminationGracePeriodSeconds"], 30);
        assert_eq!(pod["schedulerName"], "default-scheduler");
        let a = &pod["containers"][0];
        assert_eq!(a["imagePullPolicy"], "Always");
        assert_eq!(a["terminationMessagePath"], "/dev/termination-log");
        assert_eq!(a["terminationMessagePolicy"], "File");
        assert_eq!(a["ports"][0]["protocol"], "TCP");
        assert_eq!(
            pod["containers"][1]["imagePullPolicy"], "Never",
            "set values stay"
        );
    }

    #[test]
    fn recreate_gets_no_rolling_update_and_values_stay() {
        let mut d = json!({"spec": {"replicas": 0, "strategy": {"type": "Recreate"}}});
        apply("apps", "Deployment", &mut d);
        assert_eq!(d["spec"]["replicas"], 0);
        assert_eq!(d["spec"]["strategy"], json!({"type": "Recreate"}));
    }

    #[test]
    fn image_pull_policies() {
        assert_eq!(image_pull_policy("nginx"), "Always");
        assert_eq!(image_pull_policy("nginx:latest"), "Always");
        assert_eq!(image_pull_policy("localhost:5000/nginx"), "Always");
        assert_eq!(image_pull_policy("nginx:1.27"), "IfNotPresent");
        assert_eq!(image_pull_policy("nginx@sha256:abc"), "IfNotPresent");
    }

    #[test]
    fn services_jobs_and_cronjobs() {
        let mut s = json!({"spec": {"ports": [{"port": 80}, {"port": 443, "targetPort": "https", "protocol": "UDP"}]}});
        apply("", "Service", &mut s);
        assert_eq!(s["spec"]["type"], "ClusterIP");
        assert_eq!(s["spec"]["sessionAffinity"], "None");
        assert_eq!(
            s["spec"]["ports"][0],
            json!({"port": 80, "protocol": "TCP", "targetPort": 80})
        );
        assert_eq!(s["spec"]["ports"][1]["targetPort"], "https");
        assert_eq!(s["spec"]["ports"][1]["protocol"], "UDP");

        let mut j =
            json!({"spec": {"template": {"spec": {"restartPolicy": "Never", "containers": []}}}});
        apply("batch", "Job", &mut j);
        assert_eq!(j["spec"]["completions"], 1);
        assert_eq!(j["spec"]["parallelism"], 1);
        assert_eq!(j["spec"]["backoffLimit"], 6);
        assert_eq!(j["spec"]["template"]["spec"]["restartPolicy"], "Never");
        let mut j = json!({"spec": {"parallelism": 3}});
        apply("batch", "Job", &mut j);
        assert!(
            j["spec"].get("completions").is_none(),
            "a work queue keeps no completions"
        );

        let mut c = json!({"spec": {"schedule": "* * * * *", "jobTemplate": {"spec": {}}}});
        apply("batch", "CronJob", &mut c);
        assert_eq!(c["spec"]["concurrencyPolicy"], "Allow");
        assert_eq!(c["spec"]["successfulJobsHistoryLimit"], 3);
        assert_eq!(c["spec"]["jobTemplate"]["spec"]["backoffLimit"], 6);
    }

    #[test]
    fn pods_secrets_and_subjects() {
        let mut p = json!({"spec": {"containers": [{"name": "a", "image": "a:1"}]}});
        apply("", "Pod", &mut p);
        assert_eq!(p["spec"]["serviceAccountName"], "default");
        assert_eq!(p["spec"]["restartPolicy"], "Always");
        let mut s = json!({"data": {}});
        apply("", "Secret", &mut s);
        assert_eq!(s["type"], "Opaque");
        let mut b = json!({"subjects": [{"kind": "User", "name": "u"}, {"kind": "ServiceAccount", "name": "sa", "namespace": "x"}]});
        apply("rbac.authorization.k8s.io", "RoleBinding", &mut b);
        assert_eq!(b["subjects"][0]["apiGroup"], "rbac.authorization.k8s.io");
        assert!(b["subjects"][1].get("apiGroup").is_none());
    }
}
