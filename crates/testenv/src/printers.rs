//! The table columns kube-apiserver prints for built-in kinds (what `kubectl
//! get` shows), and its default `Name`/`Created At` table for kinds without
//! a printer.

use k8s_openapi::jiff::Timestamp;
use serde_json::{Value, json};

/// One column: its definition and how a row's cell is computed.
pub struct Column {
    /// Header, e.g. `Up-to-date`.
    pub name: &'static str,
    /// `string`, `integer` or `date`.
    pub kind: &'static str,
    /// `name` for the name column, else empty.
    pub format: &'static str,
    /// 0 shows in `kubectl get`, 1 only with `-o wide`.
    pub priority: i64,
    /// The cell of an object.
    pub cell: fn(&Value, Timestamp) -> Value,
}

impl Column {
    /// The `columnDefinitions` entry.
    pub fn definition(&self) -> Value {
        json!({
            "name": self.name,
            "type": self.kind,
            "format": self.format,
            "description": "",
            "priority": self.priority,
        })
    }
}

const fn col(
    name: &'static str,
    kind: &'static str,
    priority: i64,
    cell: fn(&Value, Timestamp) -> Value,
) -> Column {
    Column {
        name,
        kind,
        format: if matches!(name.as_bytes(), b"Name") {
            "name"
        } else {
            ""
        },
        priority,
        cell,
    }
}

fn name(o: &Value, _: Timestamp) -> Value {
    o["metadata"]["name"].clone()
}

fn age(o: &Value, now: Timestamp) -> Value {
    json!(since(o["metadata"]["creationTimestamp"].as_str(), now))
}

fn int(v: &Value) -> Value {
    json!(v.as_i64().unwrap_or(0))
}

fn none_if_empty(s: String) -> Value {
    json!(if s.is_empty() {
        "<none>".to_string()
    } else {
        s
    })
}

/// kube's `HumanDuration` of the time since `ts` (`<unknown>` without one).
pub fn since(ts: Option<&str>, now: Timestamp) -> String {
    let Some(then) = ts.and_then(|t| t.parse::<Timestamp>().ok()) else {
        return "<unknown>".into();
    };
    human_duration((now.as_second() - then.as_second()).max(0))
}

/// kube's `duration.HumanDuration`.
pub fn human_duration(secs: i64) -> String {
    let minutes = secs / 60;
    let hours = secs / 3600;
    let days = hours / 24;
    if secs < 60 * 2 {
        format!("{secs}s")
    } else if minutes < 10 {
        match secs % 60 {
            0 => format!("{minutes}m"),
            s => format!("{minutes}m{s}s"),
        }
    } else if hours < 3 {
        format!("{minutes}m")
    } else if hours < 8 {
        match minutes % 60 {
            0 => format!("{hours}h"),
            m => format!("{hours}h{m}m"),
        }
    } else if hours < 48 {
        format!("{hours}h")
    } else if hours < 24 * 8 {
        match hours % 24 {
            0 => format!("{days}d"),
            h => format!("{days}d{h}h"),
        }
    } else if hours < 24 * 365 * 2 {
        format!("{days}d")
    } else if hours < 24 * 365 * 8 {
        let years = days / 365;
        match days % 365 {
            0 => format!("{years}y"),
            d => format!("{years}y{d}d"),
        }
    } else {
        format!("{}y", days / 365)
    }
}

fn containers(o: &Value) -> &Value {
    &o["spec"]["template"]["spec"]["containers"]
}

fn joined(list: &Value, field: &str) -> String {
    list.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|c| c[field].as_str())
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default()
}

fn template_containers(o: &Value, _: Timestamp) -> Value {
    json!(joined(containers(o), "name"))
}

fn template_images(o: &Value, _: Timestamp) -> Value {
    json!(joined(containers(o), "image"))
}

fn selector(o: &Value, _: Timestamp) -> Value {
    let sel = &o["spec"]["selector"];
    let mut parts: Vec<String> = Vec::new();
    let labels = sel.get("matchLabels").unwrap_or(sel);
    if let Some(m) = labels.as_object() {
        for (k, v) in m {
            if let Some(v) = v.as_str() {
                parts.push(format!("{k}={v}"));
            }
        }
    }
    if let Some(exprs) = sel["matchExpressions"].as_array() {
        for e in exprs {
            let values: Vec<&str> = e["values"]
                .as_array()
                .map(|v| v.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let key = e["key"].as_str().unwrap_or("");
            parts.push(match e["operator"].as_str().unwrap_or("") {
                "In" => format!("{key} in ({})", values.join(",")),
                "NotIn" => format!("{key} notin ({})", values.join(",")),
                "Exists" => key.to_string(),
                _ => format!("!{key}"),
            });
        }
    }
    none_if_empty(parts.join(","))
}

fn pod_ready(o: &Value, _: Timestamp) -> Value {
    let total = o["spec"]["containers"].as_array().map_or(0, Vec::len);
    let ready = o["status"]["containerStatuses"]
        .as_array()
        .map_or(0, |s| s.iter().filter(|c| c["ready"] == true).count());
    json!(format!("{ready}/{total}"))
}

fn pod_status(o: &Value, _: Timestamp) -> Value {
    let status = &o["status"];
    let mut reason = status["reason"]
        .as_str()
        .or_else(|| status["phase"].as_str())
        .unwrap_or("")
        .to_string();
    let inits = o["spec"]["initContainers"].as_array().map_or(0, Vec::len);
    let mut initializing = false;
    if let Some(list) = status["initContainerStatuses"].as_array() {
        for (i, c) in list.iter().enumerate() {
            let state = &c["state"];
            if state["terminated"]["exitCode"] == 0 && state["terminated"].is_object() {
                continue;
            }
            reason = if let Some(r) = state["terminated"]["reason"].as_str() {
                format!("Init:{r}")
            } else if let Some(r) = state["waiting"]["reason"]
                .as_str()
                .filter(|r| *r != "PodInitializing")
            {
                format!("Init:{r}")
            } else {
                format!("Init:{i}/{inits}")
            };
            initializing = true;
            break;
        }
    }
    if !initializing && let Some(list) = status["containerStatuses"].as_array() {
        for c in list.iter().rev() {
            let state = &c["state"];
            if let Some(r) = state["waiting"]["reason"].as_str() {
                reason = r.to_string();
            } else if let Some(r) = state["terminated"]["reason"].as_str() {
                reason = r.to_string();
            }
        }
    }
    if !o["metadata"]["deletionTimestamp"].is_null() {
        reason = "Terminating".into();
    }
    json!(reason)
}

fn pod_restarts(o: &Value, _: Timestamp) -> Value {
    let n: i64 = o["status"]["containerStatuses"].as_array().map_or(0, |s| {
        s.iter().filter_map(|c| c["restartCount"].as_i64()).sum()
    });
    json!(n.to_string())
}

fn pod_ip(o: &Value, _: Timestamp) -> Value {
    none_if_empty(o["status"]["podIP"].as_str().unwrap_or("").to_string())
}

fn pod_node(o: &Value, _: Timestamp) -> Value {
    none_if_empty(o["spec"]["nodeName"].as_str().unwrap_or("").to_string())
}

fn pod_nominated(o: &Value, _: Timestamp) -> Value {
    none_if_empty(
        o["status"]["nominatedNodeName"]
            .as_str()
            .unwrap_or("")
            .to_string(),
    )
}

fn pod_gates(o: &Value, _: Timestamp) -> Value {
    let gates = o["spec"]["readinessGates"].as_array().map_or(0, Vec::len);
    if gates == 0 {
        return json!("<none>");
    }
    let met = o["status"]["conditions"].as_array().map_or(0, |cs| {
        o["spec"]["readinessGates"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|g| {
                cs.iter()
                    .any(|c| c["type"] == g["conditionType"] && c["status"] == "True")
            })
            .count()
    });
    json!(format!("{met}/{gates}"))
}

fn replicas_ready(o: &Value, _: Timestamp) -> Value {
    let want = o["spec"]["replicas"].as_i64().unwrap_or(0);
    let ready = o["status"]["readyReplicas"].as_i64().unwrap_or(0);
    json!(format!("{ready}/{want}"))
}

fn svc_type(o: &Value, _: Timestamp) -> Value {
    o["spec"]["type"].clone()
}

fn svc_cluster_ip(o: &Value, _: Timestamp) -> Value {
    none_if_empty(o["spec"]["clusterIP"].as_str().unwrap_or("").to_string())
}

fn svc_external_ip(o: &Value, _: Timestamp) -> Value {
    let spec = &o["spec"];
    let external: Vec<String> = spec["externalIPs"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    match spec["type"].as_str().unwrap_or("ClusterIP") {
        "ExternalName" => json!(spec["externalName"].as_str().unwrap_or("")),
        "LoadBalancer" => {
            let mut ips: Vec<String> = o["status"]["loadBalancer"]["ingress"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|i| i["ip"].as_str().or_else(|| i["hostname"].as_str()))
                        .map(String::from)
                        .collect()
                })
                .unwrap_or_default();
            ips.extend(external);
            if ips.is_empty() {
                json!("<pending>")
            } else {
                json!(ips.join(","))
            }
        }
        _ => none_if_empty(external.join(",")),
    }
}

fn svc_ports(o: &Value, _: Timestamp) -> Value {
    let ports: Vec<String> = o["spec"]["ports"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|p| {
                    let proto = p["protocol"].as_str().unwrap_or("TCP");
                    match p["nodePort"].as_i64().filter(|n| *n != 0) {
                        Some(n) => format!("{}:{n}/{proto}", p["port"]),
                        None => format!("{}/{proto}", p["port"]),
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    none_if_empty(ports.join(","))
}

fn svc_selector(o: &Value, _: Timestamp) -> Value {
    let parts: Vec<String> = o["spec"]["selector"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                .collect()
        })
        .unwrap_or_default();
    none_if_empty(parts.join(","))
}

fn has_condition(o: &Value, kind: &str) -> bool {
    o["status"]["conditions"].as_array().is_some_and(|cs| {
        cs.iter()
            .any(|c| c["type"] == kind && c["status"] == "True")
    })
}

fn job_status(o: &Value, _: Timestamp) -> Value {
    let status = if has_condition(o, "Complete") {
        "Complete"
    } else if has_condition(o, "Failed") {
        "Failed"
    } else if !o["metadata"]["deletionTimestamp"].is_null() {
        "Terminating"
    } else if has_condition(o, "SuccessCriteriaMet") {
        "SuccessCriteriaMet"
    } else if has_condition(o, "FailureTarget") {
        "FailureTarget"
    } else if has_condition(o, "Suspended") {
        "Suspended"
    } else {
        "Running"
    };
    json!(status)
}

fn job_completions(o: &Value, _: Timestamp) -> Value {
    let succeeded = o["status"]["succeeded"].as_i64().unwrap_or(0);
    match o["spec"]["completions"].as_i64() {
        Some(c) => json!(format!("{succeeded}/{c}")),
        None => {
            let parallelism = o["spec"]["parallelism"].as_i64().unwrap_or(0);
            if parallelism > 1 {
                json!(format!("{succeeded}/1 of {parallelism}"))
            } else {
                json!(format!("{succeeded}/1"))
            }
        }
    }
}

fn job_duration(o: &Value, now: Timestamp) -> Value {
    let start = o["status"]["startTime"].as_str();
    let Some(start) = start.and_then(|s| s.parse::<Timestamp>().ok()) else {
        return json!("");
    };
    let end = o["status"]["completionTime"]
        .as_str()
        .and_then(|s| s.parse::<Timestamp>().ok())
        .unwrap_or(now);
    json!(human_duration((end.as_second() - start.as_second()).max(0)))
}

fn cron_schedule(o: &Value, _: Timestamp) -> Value {
    o["spec"]["schedule"].clone()
}

fn cron_timezone(o: &Value, _: Timestamp) -> Value {
    none_if_empty(o["spec"]["timeZone"].as_str().unwrap_or("").to_string())
}

fn cron_suspend(o: &Value, _: Timestamp) -> Value {
    json!(if o["spec"]["suspend"] == true {
        "True"
    } else {
        "False"
    })
}

fn cron_active(o: &Value, _: Timestamp) -> Value {
    json!(o["status"]["active"].as_array().map_or(0, Vec::len))
}

fn cron_last(o: &Value, now: Timestamp) -> Value {
    match o["status"]["lastScheduleTime"].as_str() {
        Some(t) => json!(since(Some(t), now)),
        None => json!("<none>"),
    }
}

fn cron_containers(o: &Value, _: Timestamp) -> Value {
    json!(joined(
        &o["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"],
        "name"
    ))
}

fn cron_images(o: &Value, _: Timestamp) -> Value {
    json!(joined(
        &o["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"],
        "image"
    ))
}

fn data_count(o: &Value, _: Timestamp) -> Value {
    let n = o["data"].as_object().map_or(0, |m| m.len())
        + o["binaryData"].as_object().map_or(0, |m| m.len());
    json!(n)
}

/// The `Last Seen`/`First Seen` of an event: the timestamp, else the event
/// time, else (for series) the last observation.
fn event_time(o: &Value, field: &str) -> Option<String> {
    o[field]
        .as_str()
        .or_else(|| {
            o["series"]["lastObservedTime"]
                .as_str()
                .filter(|_| field == "lastTimestamp")
        })
        .or_else(|| o["eventTime"].as_str())
        .or_else(|| o["metadata"]["creationTimestamp"].as_str())
        .map(String::from)
}

fn event_last_seen(o: &Value, now: Timestamp) -> Value {
    let last = since(event_time(o, "lastTimestamp").as_deref(), now);
    let count = o["count"]
        .as_i64()
        .or_else(|| o["series"]["count"].as_i64())
        .unwrap_or(1);
    if count > 1 {
        let first = since(event_time(o, "firstTimestamp").as_deref(), now);
        json!(format!("{last} (x{count} over {first})"))
    } else {
        json!(last)
    }
}

fn event_first_seen(o: &Value, now: Timestamp) -> Value {
    json!(since(event_time(o, "firstTimestamp").as_deref(), now))
}

fn event_object(o: &Value, _: Timestamp) -> Value {
    let obj = &o["involvedObject"];
    json!(format!(
        "{}/{}",
        obj["kind"].as_str().unwrap_or("").to_lowercase(),
        obj["name"].as_str().unwrap_or("")
    ))
}

fn event_source(o: &Value, _: Timestamp) -> Value {
    let component = o["source"]["component"]
        .as_str()
        .or_else(|| o["reportingComponent"].as_str())
        .unwrap_or("");
    let host = o["source"]["host"]
        .as_str()
        .or_else(|| o["reportingInstance"].as_str())
        .unwrap_or("");
    json!(if host.is_empty() {
        component.to_string()
    } else {
        format!("{component}, {host}")
    })
}

fn event_count(o: &Value, _: Timestamp) -> Value {
    int(&o["count"])
}

fn str_or<'a>(v: &'a Value, fallback: &'a str) -> &'a str {
    v.as_str().filter(|s| !s.is_empty()).unwrap_or(fallback)
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// A label selector as `metav1.FormatLabelSelector` prints it.
fn label_selector(sel: &Value, now: Timestamp) -> Value {
    selector(&json!({"spec": {"selector": sel}}), now)
}

/// An int-or-string as Go's `IntOrString.String()`.
fn int_or_string(v: &Value) -> Option<String> {
    match v {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) => Some(s.clone()),
        _ => None,
    }
}

/// `helper.GetAccessModesAsString`: the short names in kube's fixed order.
fn access_modes(modes: &Value) -> Value {
    let have = strings(modes);
    let short: Vec<&str> = [
        ("ReadWriteOnce", "RWO"),
        ("ReadOnlyMany", "ROX"),
        ("ReadWriteMany", "RWX"),
        ("ReadWriteOncePod", "RWOP"),
    ]
    .iter()
    .filter(|(long, _)| have.iter().any(|m| m == long))
    .map(|(_, s)| *s)
    .collect();
    json!(short.join(","))
}

fn load_balancer_ips(ingress: &Value) -> Vec<String> {
    ingress
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|i| {
                    i["ip"]
                        .as_str()
                        .filter(|s| !s.is_empty())
                        .or_else(|| i["hostname"].as_str())
                })
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

fn ingress_hosts(o: &Value, _: Timestamp) -> Value {
    let rules = o["spec"]["rules"].as_array().cloned().unwrap_or_default();
    if rules.is_empty() {
        return json!("*");
    }
    let hosts: Vec<&str> = rules
        .iter()
        .map(|r| r["host"].as_str().filter(|h| !h.is_empty()).unwrap_or("*"))
        .collect();
    // kube lists at most three hosts, then how many more there are.
    if hosts.len() > 3 {
        json!(format!(
            "{} + {} more...",
            hosts[..3].join(","),
            hosts.len() - 3
        ))
    } else {
        json!(hosts.join(","))
    }
}

fn ingress_ports(o: &Value, _: Timestamp) -> Value {
    let tls = o["spec"]["tls"].as_array().is_some_and(|t| !t.is_empty());
    json!(if tls { "80, 443" } else { "80" })
}

fn node_status(o: &Value, _: Timestamp) -> Value {
    let ready = o["status"]["conditions"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["type"] == "Ready"));
    let mut status = vec![match ready.and_then(|c| c["status"].as_str()) {
        Some("True") => "Ready",
        Some("False") => "NotReady",
        _ => "Unknown",
    }];
    if o["spec"]["unschedulable"] == true {
        status.push("SchedulingDisabled");
    }
    json!(status.join(","))
}

fn node_roles(o: &Value, _: Timestamp) -> Value {
    let mut roles: Vec<String> = Vec::new();
    for (k, v) in o["metadata"]["labels"].as_object().into_iter().flatten() {
        if let Some(role) = k.strip_prefix("node-role.kubernetes.io/") {
            if !role.is_empty() {
                roles.push(role.to_string());
            }
        } else if k == "kubernetes.io/role"
            && let Some(role) = v.as_str().filter(|r| !r.is_empty())
        {
            roles.push(role.to_string());
        }
    }
    roles.sort();
    roles.dedup();
    none_if_empty(roles.join(","))
}

fn node_address(o: &Value, kind: &str) -> Value {
    let addr = o["status"]["addresses"]
        .as_array()
        .and_then(|a| a.iter().find(|x| x["type"] == kind))
        .and_then(|x| x["address"].as_str())
        .unwrap_or("");
    none_if_empty(addr.to_string())
}

fn node_info(o: &Value, field: &str) -> Value {
    json!(str_or(&o["status"]["nodeInfo"][field], "<unknown>"))
}

fn terminating_phase(o: &Value) -> Value {
    if o["metadata"]["deletionTimestamp"].is_null() {
        json!(o["status"]["phase"].as_str().unwrap_or(""))
    } else {
        json!("Terminating")
    }
}

fn unset_if_empty(v: &Value) -> Value {
    json!(str_or(v, "<unset>"))
}

fn storage_class_name(o: &Value, _: Timestamp) -> Value {
    let name = o["metadata"]["name"].as_str().unwrap_or("");
    let annotations = &o["metadata"]["annotations"];
    let default = [
        "storageclass.kubernetes.io/is-default-class",
        "storageclass.beta.kubernetes.io/is-default-class",
    ]
    .iter()
    .any(|a| annotations[*a] == "true");
    json!(if default {
        format!("{name} (default)")
    } else {
        name.to_string()
    })
}

/// One metric of an HPA as `formatHPAMetrics` prints it: `current/target`.
fn hpa_metric(spec: &Value, current: Option<&Value>) -> String {
    let quantity = |v: &Value| {
        v.as_str()
            .map(String::from)
            .or_else(|| v.as_i64().map(|n| n.to_string()))
    };
    let unknown = || "<unknown>".to_string();
    match spec["type"].as_str().unwrap_or("") {
        "Resource" | "ContainerResource" => {
            let key = if spec["type"] == "Resource" {
                "resource"
            } else {
                "containerResource"
            };
            let target = &spec[key]["target"];
            let name = spec[key]["name"].as_str().unwrap_or("");
            let cur = current.map(|c| &c[key]["current"]);
            if let Some(util) = target["averageUtilization"].as_i64() {
                let c = cur
                    .and_then(|c| c["averageUtilization"].as_i64())
                    .map_or_else(unknown, |n| format!("{n}%"));
                format!("{name}: {c}/{util}%")
            } else {
                let c = cur
                    .and_then(|c| quantity(&c["averageValue"]))
                    .unwrap_or_else(unknown);
                let t = quantity(&target["averageValue"]).unwrap_or_default();
                format!("{name}: {c}/{t}")
            }
        }
        kind @ ("Pods" | "Object" | "External") => {
            let key = match kind {
                "Pods" => "pods",
                "Object" => "object",
                _ => "external",
            };
            let target = &spec[key]["target"];
            let cur = current.map(|c| &c[key]["current"]);
            let (t, c) = if let Some(t) = quantity(&target["value"]) {
                (t, cur.and_then(|c| quantity(&c["value"])))
            } else {
                let t = quantity(&target["averageValue"]).unwrap_or_default();
                (
                    format!("{t} (avg)"),
                    cur.and_then(|c| quantity(&c["averageValue"])),
                )
            };
            format!("{}/{t}", c.unwrap_or_else(unknown))
        }
        _ => "<unknown type>".to_string(),
    }
}

fn hpa_targets(o: &Value, _: Timestamp) -> Value {
    let specs = o["spec"]["metrics"].as_array().cloned().unwrap_or_default();
    if specs.is_empty() {
        return json!("<none>");
    }
    let currents = o["status"]["currentMetrics"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let list: Vec<String> = specs
        .iter()
        .enumerate()
        .map(|(i, s)| hpa_metric(s, currents.get(i).filter(|c| c["type"] == s["type"])))
        .collect();
    // Without `-o wide` kube shows four metrics and a count of the rest.
    if list.len() > 4 {
        json!(format!(
            "{} + {} more...",
            list[..4].join(", "),
            list.len() - 4
        ))
    } else {
        json!(list.join(", "))
    }
}

fn binding_subjects(o: &Value, kind: &str) -> Value {
    let names: Vec<String> = o["subjects"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| s["kind"] == kind)
        .map(|s| {
            let name = s["name"].as_str().unwrap_or("");
            if kind == "ServiceAccount" {
                format!("{}/{name}", s["namespace"].as_str().unwrap_or(""))
            } else {
                name.to_string()
            }
        })
        .collect();
    json!(names.join(", "))
}

fn quota_column(o: &Value, limits: bool) -> Value {
    let hard = o["status"]["hard"].as_object().cloned().unwrap_or_default();
    // serde_json's map is ordered by key, which is kube's order here.
    let parts: Vec<String> = hard
        .iter()
        .filter(|(k, _)| {
            let mut pieces = k.split('.');
            let is_limit = pieces.next() == Some("limits") && pieces.next().is_some();
            is_limit == limits
        })
        .map(|(k, h)| {
            let used = o["status"]["used"][k].as_str().unwrap_or("0");
            format!("{k}: {used}/{}", h.as_str().unwrap_or(""))
        })
        .collect();
    json!(parts.join(", "))
}

fn webhook_count(o: &Value, _: Timestamp) -> Value {
    json!(o["webhooks"].as_array().map_or(0, Vec::len))
}

/// An `events.k8s.io/v1` Event in the `v1` shape the event printer reads
/// (kube-apiserver prints both through the same internal type).
fn core_event(o: &Value) -> Value {
    json!({
        "metadata": o["metadata"],
        "type": o["type"],
        "reason": o["reason"],
        "message": o["note"],
        "involvedObject": o["regarding"],
        "source": {"component": o["deprecatedSource"]["component"].as_str().or_else(|| o["reportingController"].as_str()),
                   "host": o["deprecatedSource"]["host"].as_str().or_else(|| o["reportingInstance"].as_str())},
        "firstTimestamp": o["deprecatedFirstTimestamp"],
        "lastTimestamp": o["deprecatedLastTimestamp"],
        "count": o["deprecatedCount"],
        "series": o["series"],
        "eventTime": o["eventTime"],
    })
}

/// The columns of a built-in kind, or `None` for the default table.
pub fn columns(group: &str, kind: &str) -> Option<Vec<Column>> {
    let name_col = col("Name", "string", 0, name);
    let age_col = || col("Age", "string", 0, age);
    Some(match (group, kind) {
        ("", "Pod") => vec![
            name_col,
            col("Ready", "string", 0, pod_ready),
            col("Status", "string", 0, pod_status),
            col("Restarts", "string", 0, pod_restarts),
            age_col(),
            col("IP", "string", 1, pod_ip),
            col("Node", "string", 1, pod_node),
            col("Nominated Node", "string", 1, pod_nominated),
            col("Readiness Gates", "string", 1, pod_gates),
        ],
        ("apps", "Deployment") => vec![
            name_col,
            col("Ready", "string", 0, replicas_ready),
            col("Up-to-date", "integer", 0, |o, _| {
                int(&o["status"]["updatedReplicas"])
            }),
            col("Available", "integer", 0, |o, _| {
                int(&o["status"]["availableReplicas"])
            }),
            age_col(),
            col("Containers", "string", 1, template_containers),
            col("Images", "string", 1, template_images),
            col("Selector", "string", 1, selector),
        ],
        ("apps", "ReplicaSet") | ("", "ReplicationController") => vec![
            name_col,
            col("Desired", "integer", 0, |o, _| int(&o["spec"]["replicas"])),
            col("Current", "integer", 0, |o, _| {
                int(&o["status"]["replicas"])
            }),
            col("Ready", "integer", 0, |o, _| {
                int(&o["status"]["readyReplicas"])
            }),
            age_col(),
            col("Containers", "string", 1, template_containers),
            col("Images", "string", 1, template_images),
            col("Selector", "string", 1, selector),
        ],
        ("apps", "StatefulSet") => vec![
            name_col,
            col("Ready", "string", 0, replicas_ready),
            age_col(),
            col("Containers", "string", 1, template_containers),
            col("Images", "string", 1, template_images),
        ],
        ("apps", "DaemonSet") => vec![
            name_col,
            col("Desired", "integer", 0, |o, _| {
                int(&o["status"]["desiredNumberScheduled"])
            }),
            col("Current", "integer", 0, |o, _| {
                int(&o["status"]["currentNumberScheduled"])
            }),
            col("Ready", "integer", 0, |o, _| {
                int(&o["status"]["numberReady"])
            }),
            col("Up-to-date", "integer", 0, |o, _| {
                int(&o["status"]["updatedNumberScheduled"])
            }),
            col("Available", "integer", 0, |o, _| {
                int(&o["status"]["numberAvailable"])
            }),
            col("Node Selector", "string", 0, |o, _| {
                let parts: Vec<String> = o["spec"]["template"]["spec"]["nodeSelector"]
                    .as_object()
                    .map(|m| {
                        m.iter()
                            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                            .collect()
                    })
                    .unwrap_or_default();
                none_if_empty(parts.join(","))
            }),
            age_col(),
            col("Containers", "string", 1, template_containers),
            col("Images", "string", 1, template_images),
            col("Selector", "string", 1, selector),
        ],
        ("", "Service") => vec![
            name_col,
            col("Type", "string", 0, svc_type),
            col("Cluster-IP", "string", 0, svc_cluster_ip),
            col("External-IP", "string", 0, svc_external_ip),
            col("Port(s)", "string", 0, svc_ports),
            age_col(),
            col("Selector", "string", 1, svc_selector),
        ],
        ("batch", "Job") => vec![
            name_col,
            col("Status", "string", 0, job_status),
            col("Completions", "string", 0, job_completions),
            col("Duration", "string", 0, job_duration),
            age_col(),
            col("Containers", "string", 1, template_containers),
            col("Images", "string", 1, template_images),
            col("Selector", "string", 1, selector),
        ],
        ("batch", "CronJob") => vec![
            name_col,
            col("Schedule", "string", 0, cron_schedule),
            col("Timezone", "string", 0, cron_timezone),
            col("Suspend", "boolean", 0, cron_suspend),
            col("Active", "integer", 0, cron_active),
            col("Last Schedule", "string", 0, cron_last),
            age_col(),
            col("Containers", "string", 1, cron_containers),
            col("Images", "string", 1, cron_images),
            col("Selector", "string", 1, |o, t| {
                selector(&json!({"spec": o["spec"]["jobTemplate"]["spec"]}), t)
            }),
        ],
        ("", "ConfigMap") => vec![name_col, col("Data", "integer", 0, data_count), age_col()],
        ("", "Secret") => vec![
            name_col,
            col("Type", "string", 0, |o, _| o["type"].clone()),
            col("Data", "integer", 0, data_count),
            age_col(),
        ],
        ("", "Namespace") => vec![
            name_col,
            col("Status", "string", 0, |o, _| o["status"]["phase"].clone()),
            age_col(),
        ],
        ("", "ServiceAccount") => vec![
            name_col,
            col("Secrets", "integer", 0, |o, _| {
                json!(o["secrets"].as_array().map_or(0, Vec::len))
            }),
            age_col(),
        ],
        ("", "Endpoints") => vec![
            name_col,
            col("Endpoints", "string", 0, |o, _| {
                let mut eps = Vec::new();
                for s in o["subsets"].as_array().into_iter().flatten() {
                    for a in s["addresses"].as_array().into_iter().flatten() {
                        for p in s["ports"].as_array().into_iter().flatten() {
                            eps.push(format!("{}:{}", a["ip"].as_str().unwrap_or(""), p["port"]));
                        }
                    }
                }
                none_if_empty(eps.join(","))
            }),
            age_col(),
        ],
        ("", "Event") => vec![
            col("Last Seen", "string", 0, event_last_seen),
            col("Type", "string", 0, |o, _| o["type"].clone()),
            col("Reason", "string", 0, |o, _| o["reason"].clone()),
            col("Object", "string", 0, event_object),
            col("Subobject", "string", 1, |o, _| {
                json!(o["involvedObject"]["fieldPath"].as_str().unwrap_or(""))
            }),
            col("Source", "string", 1, event_source),
            col("Message", "string", 0, |o, _| o["message"].clone()),
            col("First Seen", "string", 1, event_first_seen),
            col("Count", "string", 1, event_count),
            col("Name", "string", 1, name),
        ],
        ("coordination.k8s.io", "Lease") => vec![
            name_col,
            col("Holder", "string", 0, |o, _| {
                json!(o["spec"]["holderIdentity"].as_str().unwrap_or(""))
            }),
            age_col(),
        ],
        ("rbac.authorization.k8s.io", "RoleBinding" | "ClusterRoleBinding") => vec![
            name_col,
            col("Role", "string", 0, |o, _| {
                json!(format!(
                    "{}/{}",
                    o["roleRef"]["kind"].as_str().unwrap_or(""),
                    o["roleRef"]["name"].as_str().unwrap_or("")
                ))
            }),
            age_col(),
            col("Users", "string", 1, |o, _| binding_subjects(o, "User")),
            col("Groups", "string", 1, |o, _| binding_subjects(o, "Group")),
            col("ServiceAccounts", "string", 1, |o, _| {
                binding_subjects(o, "ServiceAccount")
            }),
        ],
        ("", "PersistentVolumeClaim") => vec![
            name_col,
            col("Status", "string", 0, |o, _| terminating_phase(o)),
            col("Volume", "string", 0, |o, _| {
                json!(o["spec"]["volumeName"].as_str().unwrap_or(""))
            }),
            // Capacity and access modes are the bound volume's, so only shown once bound.
            col("Capacity", "string", 0, |o, _| {
                json!(if str_or(&o["spec"]["volumeName"], "").is_empty() {
                    ""
                } else {
                    o["status"]["capacity"]["storage"].as_str().unwrap_or("")
                })
            }),
            col("Access Modes", "string", 0, |o, _| {
                if str_or(&o["spec"]["volumeName"], "").is_empty() {
                    json!("")
                } else {
                    access_modes(&o["status"]["accessModes"])
                }
            }),
            col("StorageClass", "string", 0, |o, _| {
                json!(o["spec"]["storageClassName"].as_str().unwrap_or(""))
            }),
            col("VolumeAttributesClass", "string", 0, |o, _| {
                unset_if_empty(&o["spec"]["volumeAttributesClassName"])
            }),
            age_col(),
            col("VolumeMode", "string", 1, |o, _| {
                unset_if_empty(&o["spec"]["volumeMode"])
            }),
        ],
        ("events.k8s.io", "Event") => vec![
            col("Last Seen", "string", 0, |o, t| {
                event_last_seen(&core_event(o), t)
            }),
            col("Type", "string", 0, |o, _| o["type"].clone()),
            col("Reason", "string", 0, |o, _| o["reason"].clone()),
            col("Object", "string", 0, |o, t| {
                event_object(&core_event(o), t)
            }),
            col("Subobject", "string", 1, |o, _| {
                json!(o["regarding"]["fieldPath"].as_str().unwrap_or(""))
            }),
            col("Source", "string", 1, |o, t| {
                event_source(&core_event(o), t)
            }),
            col("Message", "string", 0, |o, _| {
                json!(o["note"].as_str().unwrap_or(""))
            }),
            col("First Seen", "string", 1, |o, t| {
                event_first_seen(&core_event(o), t)
            }),
            col("Count", "string", 1, |o, t| event_count(&core_event(o), t)),
            col("Name", "string", 1, name),
        ],
        ("networking.k8s.io", "Ingress") => vec![
            name_col,
            col("Class", "string", 0, |o, _| {
                json!(str_or(&o["spec"]["ingressClassName"], "<none>"))
            }),
            col("Hosts", "string", 0, ingress_hosts),
            col("Address", "string", 0, |o, _| {
                json!(load_balancer_ips(&o["status"]["loadBalancer"]["ingress"]).join(","))
            }),
            col("Ports", "string", 0, ingress_ports),
            age_col(),
        ],
        ("networking.k8s.io", "IngressClass") => vec![
            name_col,
            col("Controller", "string", 0, |o, _| {
                json!(o["spec"]["controller"].as_str().unwrap_or(""))
            }),
            col("Parameters", "string", 0, |o, _| {
                let p = &o["spec"]["parameters"];
                if !p.is_object() {
                    return json!("<none>");
                }
                let mut kind = p["kind"].as_str().unwrap_or("").to_string();
                if let Some(g) = p["apiGroup"].as_str() {
                    kind = format!("{kind}.{g}");
                }
                json!(format!("{kind}/{}", p["name"].as_str().unwrap_or("")))
            }),
            age_col(),
        ],
        ("networking.k8s.io", "NetworkPolicy") => vec![
            name_col,
            col("Pod-Selector", "string", 0, |o, t| {
                label_selector(&o["spec"]["podSelector"], t)
            }),
            age_col(),
        ],
        ("", "Node") => vec![
            name_col,
            col("Status", "string", 0, node_status),
            col("Roles", "string", 0, node_roles),
            age_col(),
            col("Version", "string", 0, |o, _| {
                json!(
                    o["status"]["nodeInfo"]["kubeletVersion"]
                        .as_str()
                        .unwrap_or("")
                )
            }),
            col("Internal-IP", "string", 1, |o, _| {
                node_address(o, "InternalIP")
            }),
            col("External-IP", "string", 1, |o, _| {
                node_address(o, "ExternalIP")
            }),
            col("OS-Image", "string", 1, |o, _| node_info(o, "osImage")),
            col("Kernel-Version", "string", 1, |o, _| {
                node_info(o, "kernelVersion")
            }),
            col("Container-Runtime", "string", 1, |o, _| {
                node_info(o, "containerRuntimeVersion")
            }),
        ],
        ("", "PersistentVolume") => vec![
            name_col,
            col("Capacity", "string", 0, |o, _| {
                json!(o["spec"]["capacity"]["storage"].as_str().unwrap_or(""))
            }),
            col("Access Modes", "string", 0, |o, _| {
                access_modes(&o["spec"]["accessModes"])
            }),
            col("Reclaim Policy", "string", 0, |o, _| {
                json!(
                    o["spec"]["persistentVolumeReclaimPolicy"]
                        .as_str()
                        .unwrap_or("")
                )
            }),
            col("Status", "string", 0, |o, _| terminating_phase(o)),
            col("Claim", "string", 0, |o, _| {
                let c = &o["spec"]["claimRef"];
                json!(if c.is_object() {
                    format!(
                        "{}/{}",
                        c["namespace"].as_str().unwrap_or(""),
                        c["name"].as_str().unwrap_or("")
                    )
                } else {
                    String::new()
                })
            }),
            col("StorageClass", "string", 0, |o, _| {
                json!(o["spec"]["storageClassName"].as_str().unwrap_or(""))
            }),
            col("VolumeAttributesClass", "string", 0, |o, _| {
                unset_if_empty(&o["spec"]["volumeAttributesClassName"])
            }),
            col("Reason", "string", 0, |o, _| {
                json!(o["status"]["reason"].as_str().unwrap_or(""))
            }),
            age_col(),
            col("VolumeMode", "string", 1, |o, _| {
                unset_if_empty(&o["spec"]["volumeMode"])
            }),
        ],
        ("storage.k8s.io", "StorageClass") => vec![
            col("Name", "string", 0, storage_class_name),
            col("Provisioner", "string", 0, |o, _| {
                json!(o["provisioner"].as_str().unwrap_or(""))
            }),
            col("ReclaimPolicy", "string", 0, |o, _| {
                json!(str_or(&o["reclaimPolicy"], "Delete"))
            }),
            col("VolumeBindingMode", "string", 0, |o, _| {
                json!(str_or(&o["volumeBindingMode"], "Immediate"))
            }),
            col("AllowVolumeExpansion", "string", 0, |o, _| {
                json!(o["allowVolumeExpansion"].as_bool().unwrap_or(false))
            }),
            age_col(),
        ],
        ("autoscaling", "HorizontalPodAutoscaler") => vec![
            name_col,
            col("Reference", "string", 0, |o, _| {
                let r = &o["spec"]["scaleTargetRef"];
                json!(format!(
                    "{}/{}",
                    r["kind"].as_str().unwrap_or(""),
                    r["name"].as_str().unwrap_or("")
                ))
            }),
            col("Targets", "string", 0, hpa_targets),
            col("MinPods", "string", 0, |o, _| {
                json!(
                    o["spec"]["minReplicas"]
                        .as_i64()
                        .map_or_else(|| "<unset>".to_string(), |n| n.to_string())
                )
            }),
            col("MaxPods", "integer", 0, |o, _| {
                int(&o["spec"]["maxReplicas"])
            }),
            col("Replicas", "integer", 0, |o, _| {
                int(&o["status"]["currentReplicas"])
            }),
            age_col(),
        ],
        ("policy", "PodDisruptionBudget") => vec![
            name_col,
            col("Min Available", "string", 0, |o, _| {
                json!(int_or_string(&o["spec"]["minAvailable"]).unwrap_or_else(|| "N/A".into()))
            }),
            col("Max Unavailable", "string", 0, |o, _| {
                json!(int_or_string(&o["spec"]["maxUnavailable"]).unwrap_or_else(|| "N/A".into()))
            }),
            col("Allowed Disruptions", "integer", 0, |o, _| {
                int(&o["status"]["disruptionsAllowed"])
            }),
            age_col(),
        ],
        ("", "ResourceQuota") => vec![
            name_col,
            age_col(),
            col("Request", "string", 0, |o, _| quota_column(o, false)),
            col("Limit", "string", 0, |o, _| quota_column(o, true)),
        ],
        ("scheduling.k8s.io", "PriorityClass") => vec![
            name_col,
            col("Value", "integer", 0, |o, _| int(&o["value"])),
            col("Global-Default", "boolean", 0, |o, _| {
                json!(o["globalDefault"].as_bool().unwrap_or(false))
            }),
            age_col(),
            col("PreemptionPolicy", "string", 0, |o, _| {
                json!(o["preemptionPolicy"].as_str().unwrap_or(""))
            }),
        ],
        ("apps", "ControllerRevision") => vec![
            name_col,
            col("Controller", "string", 0, |o, _| {
                let owner = o["metadata"]["ownerReferences"]
                    .as_array()
                    .and_then(|refs| refs.iter().find(|r| r["controller"] == true));
                json!(match owner {
                    Some(r) => {
                        let api_version = r["apiVersion"].as_str().unwrap_or("");
                        let group = api_version.rsplit_once('/').map_or("", |(g, _)| g);
                        let kind = r["kind"].as_str().unwrap_or("").to_lowercase();
                        let kind = if group.is_empty() {
                            kind
                        } else {
                            format!("{kind}.{group}")
                        };
                        format!("{kind}/{}", r["name"].as_str().unwrap_or(""))
                    }
                    None => "<none>".to_string(),
                })
            }),
            col("Revision", "integer", 0, |o, _| int(&o["revision"])),
            age_col(),
        ],
        (
            "admissionregistration.k8s.io",
            "ValidatingWebhookConfiguration" | "MutatingWebhookConfiguration",
        ) => vec![
            name_col,
            col("Webhooks", "integer", 0, webhook_count),
            age_col(),
        ],
        _ => return None,
    })
}

/// kube-apiserver's table for kinds without a printer: the name and the
/// creation timestamp as is.
pub fn default_columns() -> Vec<Column> {
    vec![
        col("Name", "string", 0, name),
        Column {
            name: "Created At",
            kind: "date",
            format: "",
            priority: 0,
            cell: |o, _| o["metadata"]["creationTimestamp"].clone(),
        },
    ]
}

/// The `meta.k8s.io/v1` Table of `items` with `cols`.
pub fn table(cols: &[Column], items: &[Value], rv: u64) -> Value {
    let now = Timestamp::now();
    let defs: Vec<Value> = cols.iter().map(Column::definition).collect();
    let rows: Vec<Value> = items
        .iter()
        .map(|obj| {
            let cells: Vec<Value> = cols.iter().map(|c| (c.cell)(obj, now)).collect();
            json!({
                "cells": cells,
                "object": {
                    "kind": "PartialObjectMetadata",
                    "apiVersion": "meta.k8s.io/v1",
                    "metadata": obj["metadata"],
                }
            })
        })
        .collect();
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": rv.to_string()},
        "columnDefinitions": defs,
        "rows": rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_durations_as_kube_prints_them() {
        assert_eq!(human_duration(5), "5s");
        assert_eq!(human_duration(119), "119s");
        assert_eq!(human_duration(130), "2m10s");
        assert_eq!(human_duration(600), "10m");
        assert_eq!(human_duration(3 * 3600 + 60), "3h1m");
        assert_eq!(human_duration(10 * 3600), "10h");
        assert_eq!(human_duration(3 * 86400 + 3600), "3d1h");
        assert_eq!(human_duration(30 * 86400), "30d");
    }

    fn row(group: &str, kind: &str, obj: &Value) -> Vec<Value> {
        let now: Timestamp = "2026-01-01T00:10:00Z".parse().unwrap();
        columns(group, kind)
            .unwrap()
            .iter()
            .filter(|c| c.priority == 0)
            .map(|c| (c.cell)(obj, now))
            .collect()
    }

    #[test]
    fn events_pods_deployments_services_and_jobs() {
        let ev = json!({"metadata": {"name": "e", "creationTimestamp": "2026-01-01T00:00:00Z"},
            "type": "Warning", "reason": "BackOff", "message": "restarting",
            "involvedObject": {"kind": "Pod", "name": "web-1"},
            "firstTimestamp": "2026-01-01T00:00:00Z", "lastTimestamp": "2026-01-01T00:09:00Z", "count": 4});
        assert_eq!(
            row("", "Event", &ev),
            [
                json!("60s (x4 over 10m)"),
                json!("Warning"),
                json!("BackOff"),
                json!("pod/web-1"),
                json!("restarting")
            ]
        );
        let pod = json!({"metadata": {"name": "p", "creationTimestamp": "2026-01-01T00:00:00Z"},
            "spec": {"containers": [{"name": "a"}, {"name": "b"}]},
            "status": {"phase": "Running", "containerStatuses": [
                {"name": "a", "ready": true, "restartCount": 2, "state": {"running": {}}},
                {"name": "b", "ready": false, "restartCount": 1, "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}});
        assert_eq!(
            row("", "Pod", &pod),
            [
                json!("p"),
                json!("1/2"),
                json!("CrashLoopBackOff"),
                json!("3"),
                json!("10m")
            ]
        );
        let d = json!({"metadata": {"name": "d", "creationTimestamp": "2026-01-01T00:09:00Z"},
            "spec": {"replicas": 3}, "status": {"readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2}});
        assert_eq!(
            row("apps", "Deployment", &d),
            [json!("d"), json!("2/3"), json!(3), json!(2), json!("60s")]
        );
        let s = json!({"metadata": {"name": "s"}, "spec": {"type": "NodePort", "clusterIP": "10.96.0.7",
            "ports": [{"port": 80, "nodePort": 30080, "protocol": "TCP"}, {"port": 53, "protocol": "UDP"}]}});
        assert_eq!(
            row("", "Service", &s),
            [
                json!("s"),
                json!("NodePort"),
                json!("10.96.0.7"),
                json!("<none>"),
                json!("80:30080/TCP,53/UDP"),
                json!("<unknown>")
            ]
        );
        let j = json!({"metadata": {"name": "j"}, "spec": {"completions": 1},
            "status": {"succeeded": 1, "startTime": "2026-01-01T00:00:00Z", "completionTime": "2026-01-01T00:00:42Z",
            "conditions": [{"type": "Complete", "status": "True"}]}});
        assert_eq!(
            row("batch", "Job", &j),
            [
                json!("j"),
                json!("Complete"),
                json!("1/1"),
                json!("42s"),
                json!("<unknown>")
            ]
        );
    }
}

#[cfg(test)]
mod more_kinds {
    use super::*;

    fn cells(group: &str, kind: &str, obj: &Value, wide: bool) -> Vec<Value> {
        let now: Timestamp = "2026-01-01T00:10:00Z".parse().unwrap();
        columns(group, kind)
            .unwrap()
            .iter()
            .filter(|c| wide || c.priority == 0)
            .map(|c| (c.cell)(obj, now))
            .collect()
    }

    fn headers(group: &str, kind: &str) -> Vec<&'static str> {
        columns(group, kind)
            .unwrap()
            .iter()
            .map(|c| c.name)
            .collect()
    }

    #[test]
    fn ingress_hosts_address_and_tls_ports() {
        let ing = json!({"metadata": {"name": "web", "creationTimestamp": "2026-01-01T00:00:00Z"},
            "spec": {"ingressClassName": "nginx", "tls": [{"hosts": ["a.example"]}],
                "rules": [{"host": "a.example"}, {}, {"host": "c.example"}, {"host": "d.example"}]},
            "status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.1"}, {"hostname": "lb.example"}]}}});
        assert_eq!(
            cells("networking.k8s.io", "Ingress", &ing, false),
            [
                json!("web"),
                json!("nginx"),
                json!("a.example,*,c.example + 1 more..."),
                json!("192.0.2.1,lb.example"),
                json!("80, 443"),
                json!("10m")
            ]
        );
        let bare = json!({"metadata": {"name": "b"}, "spec": {}});
        assert_eq!(
            cells("networking.k8s.io", "Ingress", &bare, false)[1..5],
            [json!("<none>"), json!("*"), json!(""), json!("80")]
        );
    }

    #[test]
    fn nodes_with_roles_status_and_wide_details() {
        assert_eq!(
            headers("", "Node"),
            [
                "Name",
                "Status",
                "Roles",
                "Age",
                "Version",
                "Internal-IP",
                "External-IP",
                "OS-Image",
                "Kernel-Version",
                "Container-Runtime"
            ]
        );
        let node = json!({"metadata": {"name": "n1", "labels": {"node-role.kubernetes.io/control-plane": "",
                "node-role.kubernetes.io/worker": "", "kubernetes.io/role": "edge"}},
            "spec": {"unschedulable": true},
            "status": {"conditions": [{"type": "Ready", "status": "False"}],
                "addresses": [{"type": "InternalIP", "address": "10.0.0.4"}],
                "nodeInfo": {"kubeletVersion": "v1.32.0", "osImage": "Debian"}}});
        assert_eq!(
            cells("", "Node", &node, true),
            [
                json!("n1"),
                json!("NotReady,SchedulingDisabled"),
                json!("control-plane,edge,worker"),
                json!("<unknown>"),
                json!("v1.32.0"),
                json!("10.0.0.4"),
                json!("<none>"),
                json!("Debian"),
                json!("<unknown>"),
                json!("<unknown>")
            ]
        );
        let fresh = json!({"metadata": {"name": "n2"}});
        assert_eq!(
            cells("", "Node", &fresh, false)[1..3],
            [json!("Unknown"), json!("<none>")]
        );
    }

    #[test]
    fn volumes_claims_and_storage_classes() {
        let pv = json!({"metadata": {"name": "pv1"}, "spec": {"capacity": {"storage": "5Gi"},
            "accessModes": ["ReadWriteMany", "ReadWriteOnce"], "persistentVolumeReclaimPolicy": "Retain",
            "claimRef": {"namespace": "apps", "name": "data"}, "storageClassName": "fast"},
            "status": {"phase": "Bound"}});
        assert_eq!(
            cells("", "PersistentVolume", &pv, true),
            [
                json!("pv1"),
                json!("5Gi"),
                json!("RWO,RWX"),
                json!("Retain"),
                json!("Bound"),
                json!("apps/data"),
                json!("fast"),
                json!("<unset>"),
                json!(""),
                json!("<unknown>"),
                json!("<unset>")
            ]
        );
        let pending = json!({"metadata": {"name": "data", "deletionTimestamp": "2026-01-01T00:00:00Z"},
            "spec": {"volumeMode": "Filesystem"},
            "status": {"phase": "Pending", "capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"]}});
        assert_eq!(
            cells("", "PersistentVolumeClaim", &pending, true),
            [
                json!("data"),
                json!("Terminating"),
                json!(""),
                json!(""),
                json!(""),
                json!(""),
                json!("<unset>"),
                json!("<unknown>"),
                json!("Filesystem")
            ]
        );
        let sc = json!({"metadata": {"name": "standard", "annotations":
            {"storageclass.kubernetes.io/is-default-class": "true"}}, "provisioner": "rancher.io/local-path",
            "volumeBindingMode": "WaitForFirstConsumer"});
        assert_eq!(
            cells("storage.k8s.io", "StorageClass", &sc, false),
            [
                json!("standard (default)"),
                json!("rancher.io/local-path"),
                json!("Delete"),
                json!("WaitForFirstConsumer"),
                json!(false),
                json!("<unknown>")
            ]
        );
    }

    #[test]
    fn autoscalers_budgets_quotas_and_priorities() {
        let hpa = json!({"metadata": {"name": "web"}, "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"},
            "maxReplicas": 5, "metrics": [
                {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}},
                {"type": "Resource", "resource": {"name": "memory", "target": {"type": "AverageValue", "averageValue": "200Mi"}}},
                {"type": "Pods", "pods": {"metric": {"name": "rps"}, "target": {"type": "AverageValue", "averageValue": "10"}}}]},
            "status": {"currentReplicas": 2, "currentMetrics": [
                {"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 41}}}]}});
        assert_eq!(
            cells("autoscaling", "HorizontalPodAutoscaler", &hpa, false),
            [
                json!("web"),
                json!("Deployment/web"),
                json!("cpu: 41%/80%, memory: <unknown>/200Mi, <unknown>/10 (avg)"),
                json!("<unset>"),
                json!(5),
                json!(2),
                json!("<unknown>")
            ]
        );
        let pdb = json!({"metadata": {"name": "web"}, "spec": {"minAvailable": "50%"}, "status": {"disruptionsAllowed": 1}});
        assert_eq!(
            cells("policy", "PodDisruptionBudget", &pdb, false)[1..4],
            [json!("50%"), json!("N/A"), json!(1)]
        );
        let quota = json!({"metadata": {"name": "q"}, "status": {
            "hard": {"pods": "10", "requests.cpu": "2", "limits.memory": "4Gi", "limits.cpu": "4"},
            "used": {"pods": "3", "limits.cpu": "500m"}}});
        assert_eq!(
            cells("", "ResourceQuota", &quota, false)[2..],
            [
                json!("pods: 3/10, requests.cpu: 0/2"),
                json!("limits.cpu: 500m/4, limits.memory: 0/4Gi")
            ]
        );
        let pc = json!({"metadata": {"name": "high"}, "value": 1000, "globalDefault": true,
            "preemptionPolicy": "Never"});
        assert_eq!(
            cells("scheduling.k8s.io", "PriorityClass", &pc, false),
            [
                json!("high"),
                json!(1000),
                json!(true),
                json!("<unknown>"),
                json!("Never")
            ]
        );
    }

    #[test]
    fn bindings_revisions_webhooks_classes_policies_and_new_events() {
        let crb = json!({"metadata": {"name": "admins"}, "roleRef": {"kind": "ClusterRole", "name": "admin"},
            "subjects": [{"kind": "User", "name": "ann"}, {"kind": "Group", "name": "ops"},
                {"kind": "User", "name": "bob"}, {"kind": "ServiceAccount", "name": "flux", "namespace": "flux-system"}]});
        assert_eq!(
            cells(
                "rbac.authorization.k8s.io",
                "ClusterRoleBinding",
                &crb,
                true
            ),
            [
                json!("admins"),
                json!("ClusterRole/admin"),
                json!("<unknown>"),
                json!("ann, bob"),
                json!("ops"),
                json!("flux-system/flux")
            ]
        );
        let rev = json!({"metadata": {"name": "web-6d4", "ownerReferences": [
            {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "web", "controller": true}]}, "revision": 3});
        assert_eq!(
            cells("apps", "ControllerRevision", &rev, false)[1..3],
            [json!("statefulset.apps/web"), json!(3)]
        );
        let hook = json!({"metadata": {"name": "h"}, "webhooks": [{"name": "a"}, {"name": "b"}]});
        assert_eq!(
            cells(
                "admissionregistration.k8s.io",
                "MutatingWebhookConfiguration",
                &hook,
                false
            )[1],
            json!(2)
        );
        let class = json!({"metadata": {"name": "nginx"}, "spec": {"controller": "k8s.io/ingress-nginx",
            "parameters": {"apiGroup": "k8s.example.com", "kind": "IngressParameters", "name": "p"}}});
        assert_eq!(
            cells("networking.k8s.io", "IngressClass", &class, false)[1..3],
            [
                json!("k8s.io/ingress-nginx"),
                json!("IngressParameters.k8s.example.com/p")
            ]
        );
        let np = json!({"metadata": {"name": "deny"}, "spec": {"podSelector": {}}});
        assert_eq!(
            cells("networking.k8s.io", "NetworkPolicy", &np, false)[1],
            json!("<none>")
        );
        let np = json!({"metadata": {"name": "web"}, "spec": {"podSelector": {"matchLabels": {"app": "web"}}}});
        assert_eq!(
            cells("networking.k8s.io", "NetworkPolicy", &np, false)[1],
            json!("app=web")
        );
        let ev = json!({"metadata": {"name": "e"}, "type": "Normal", "reason": "Pulled", "note": "pulled",
            "regarding": {"kind": "Pod", "name": "web-1"}, "eventTime": "2026-01-01T00:09:00Z",
            "reportingController": "kubelet"});
        assert_eq!(
            cells("events.k8s.io", "Event", &ev, false),
            [
                json!("60s"),
                json!("Normal"),
                json!("Pulled"),
                json!("pod/web-1"),
                json!("pulled")
            ]
        );
        // Roles, cluster roles, limit ranges and CRDs keep kube's Name/Created At table.
        for (g, k) in [
            ("rbac.authorization.k8s.io", "Role"),
            ("rbac.authorization.k8s.io", "ClusterRole"),
            ("", "LimitRange"),
            ("apiextensions.k8s.io", "CustomResourceDefinition"),
        ] {
            assert!(columns(g, k).is_none(), "{k}");
        }
    }
}
