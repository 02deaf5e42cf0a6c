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
        ],
        ("", "PersistentVolumeClaim") => vec![
            name_col,
            col("Status", "string", 0, |o, _| o["status"]["phase"].clone()),
            col("Volume", "string", 0, |o, _| {
                json!(o["spec"]["volumeName"].as_str().unwrap_or(""))
            }),
            col("Capacity", "string", 0, |o, _| {
                json!(o["status"]["capacity"]["storage"].as_str().unwrap_or(""))
            }),
            col("Access Modes", "string", 0, |o, _| {
                let modes: Vec<&str> = o["status"]["accessModes"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(Value::as_str)
                            .map(|m| match m {
                                "ReadWriteOnce" => "RWO",
                                "ReadOnlyMany" => "ROX",
                                "ReadWriteMany" => "RWX",
                                "ReadWriteOncePod" => "RWOP",
                                other => other,
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                json!(modes.join(","))
            }),
            col("StorageClass", "string", 0, |o, _| {
                none_if_empty(
                    o["spec"]["storageClassName"]
                        .as_str()
                        .unwrap_or("")
                        .to_string(),
                )
            }),
            col("VolumeAttributesClass", "string", 0, |o, _| {
                none_if_empty(
                    o["spec"]["volumeAttributesClassName"]
                        .as_str()
                        .unwrap_or("")
                        .to_string(),
                )
            }),
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
