//! Values kube-apiserver allocates when it stores an object: a Service's
//! cluster IP (and IP family fields) and node ports, and a Job's generated
//! selector with its controller-uid and job-name labels.
//!
//! What is taken is read from the stored Services under the write's lock, so
//! deleting a Service (or changing its type) frees its IP and ports without
//! any bookkeeping of its own.

use std::collections::HashSet;
use std::net::Ipv4Addr;

use serde_json::{Map, Value, json};

use crate::errors::ApiError;
use crate::registry::ResourceType;
use crate::store::Txn;

/// The service CIDR, as kubeadm's default `--service-cluster-ip-range`.
pub const SERVICE_CIDR: (Ipv4Addr, u32) = (Ipv4Addr::new(10, 96, 0, 0), 12);

/// kube-apiserver's default `--service-node-port-range`.
pub const NODE_PORTS: std::ops::RangeInclusive<i64> = 30000..=32767;

/// The addresses kube reserves for static assignment at the start of the
/// range (`min(max(16, size/16), 256)`); dynamic allocation prefers the rest.
const STATIC_BAND: u32 = 256;

/// Fills in what the server allocates for `obj` (`existing` on update).
pub fn allocate(
    txn: &Txn,
    rt: &ResourceType,
    existing: Option<&Value>,
    obj: &mut Value,
) -> Result<(), ApiError> {
    if rt.custom.is_some() {
        return Ok(());
    }
    match (rt.group.as_str(), rt.plural.as_str()) {
        ("", "services") => service(txn, existing, obj),
        ("batch", "jobs") if existing.is_none() => {
            job_selector(obj);
            Ok(())
        }
        _ => Ok(()),
    }
}

fn service_type(svc: &Value) -> &str {
    svc["spec"]["type"].as_str().unwrap_or("ClusterIP")
}

fn needs_cluster_ip(svc: &Value) -> bool {
    service_type(svc) != "ExternalName"
}

fn needs_node_ports(svc: &Value) -> bool {
    match service_type(svc) {
        "NodePort" => true,
        "LoadBalancer" => svc["spec"]["allocateLoadBalancerNodePorts"] != false,
        _ => false,
    }
}

fn needs_health_check_port(svc: &Value) -> bool {
    service_type(svc) == "LoadBalancer" && svc["spec"]["externalTrafficPolicy"] == "Local"
}

fn invalid(svc: &Value, causes: Vec<(String, String)>) -> ApiError {
    ApiError::invalid(
        "",
        "Service",
        svc["metadata"]["name"].as_str().unwrap_or(""),
        &causes,
    )
}

/// The IPs and node ports held by every stored Service but `svc` itself.
fn taken(txn: &Txn, svc: &Value) -> (HashSet<Ipv4Addr>, HashSet<i64>) {
    let (ns, name) = (&svc["metadata"]["namespace"], &svc["metadata"]["name"]);
    let mut ips = HashSet::new();
    let mut ports = HashSet::new();
    for other in txn.list("", "services", None) {
        if &other["metadata"]["namespace"] == ns && &other["metadata"]["name"] == name {
            continue;
        }
        let spec = &other["spec"];
        let listed = spec["clusterIPs"].as_array().into_iter().flatten();
        for ip in listed.chain(std::iter::once(&spec["clusterIP"])) {
            if let Some(ip) = ip.as_str().and_then(|s| s.parse().ok()) {
                ips.insert(ip);
            }
        }
        for p in spec["ports"].as_array().into_iter().flatten() {
            if let Some(n) = p["nodePort"].as_i64() {
                ports.insert(n);
            }
        }
        if let Some(n) = spec["healthCheckNodePort"].as_i64() {
            ports.insert(n);
        }
    }
    (ips, ports)
}

fn in_range(ip: Ipv4Addr) -> bool {
    let (base, bits) = SERVICE_CIDR;
    let mask = u32::MAX << (32 - bits);
    u32::from(ip) & mask == u32::from(base)
}

/// The first free address: the dynamic band first, then the static band
/// (never the network or broadcast address).
fn free_ip(taken: &HashSet<Ipv4Addr>) -> Option<Ipv4Addr> {
    let (base, bits) = SERVICE_CIDR;
    let first = u32::from(base);
    let last = first + (1u32 << (32 - bits)) - 1;
    ((first + STATIC_BAND)..last)
        .chain((first + 1)..(first + STATIC_BAND))
        .map(Ipv4Addr::from)
        .find(|ip| !taken.contains(ip))
}

fn free_port(taken: &HashSet<i64>) -> Option<i64> {
    NODE_PORTS.clone().find(|p| !taken.contains(p))
}

/// kube's `patchAllocatedValues`: an update that leaves out what was
/// allocated keeps it (node ports matched by port name).
fn keep_allocated(old: &Value, new: &mut Value) {
    if needs_cluster_ip(old) && needs_cluster_ip(new) {
        let spec = &mut new["spec"];
        if spec["clusterIP"].as_str().is_none_or(str::is_empty)
            && old["spec"]["clusterIP"].is_string()
        {
            spec["clusterIP"] = old["spec"]["clusterIP"].clone();
        }
        if spec["clusterIPs"].as_array().is_none_or(Vec::is_empty)
            && old["spec"]["clusterIPs"].is_array()
        {
            spec["clusterIPs"] = old["spec"]["clusterIPs"].clone();
        }
    }
    if needs_node_ports(old) && needs_node_ports(new) {
        let old_ports = old["spec"]["ports"].as_array().cloned().unwrap_or_default();
        let used: HashSet<i64> = new["spec"]["ports"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p["nodePort"].as_i64())
            .collect();
        let list = new
            .get_mut("spec")
            .and_then(|s| s.get_mut("ports"))
            .and_then(Value::as_array_mut);
        for p in list.into_iter().flatten() {
            if p["nodePort"].as_i64().unwrap_or(0) != 0 {
                continue;
            }
            let name = p["name"].as_str().unwrap_or("");
            let previous = old_ports
                .iter()
                .find(|o| o["name"].as_str().unwrap_or("") == name)
                .and_then(|o| o["nodePort"].as_i64());
            if let Some(n) = previous.filter(|n| !used.contains(n))
                && let Some(m) = p.as_object_mut()
            {
                m.insert("nodePort".into(), json!(n));
            }
        }
    }
    if needs_health_check_port(old)
        && needs_health_check_port(new)
        && new["spec"]["healthCheckNodePort"].as_i64().unwrap_or(0) == 0
        && old["spec"]["healthCheckNodePort"].is_i64()
    {
        new["spec"]["healthCheckNodePort"] = old["spec"]["healthCheckNodePort"].clone();
    }
}

/// kube's `dropTypeDependentFields`: a type change drops what the new type
/// does not use, when the client left the old value in place.
fn drop_type_dependent(old: &Value, new: &mut Value) {
    let (wants_ip, wants_ports, wants_health) = (
        needs_cluster_ip(new),
        needs_node_ports(new),
        needs_health_check_port(new),
    );
    let Some(spec) = new.get_mut("spec") else {
        return;
    };
    if !wants_ip {
        for f in ["clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"] {
            if spec[f] == old["spec"][f]
                && let Some(m) = spec.as_object_mut()
            {
                m.remove(f);
            }
        }
    }
    if !wants_ports {
        let old_ports = old["spec"]["ports"].as_array().cloned().unwrap_or_default();
        let list = spec.get_mut("ports").and_then(Value::as_array_mut);
        for p in list.into_iter().flatten() {
            let n = p["nodePort"].as_i64();
            if n.is_some()
                && old_ports.iter().any(|o| o["nodePort"].as_i64() == n)
                && let Some(m) = p.as_object_mut()
            {
                m.remove("nodePort");
            }
        }
    }
    if !wants_health
        && spec["healthCheckNodePort"] == old["spec"]["healthCheckNodePort"]
        && let Some(m) = spec.as_object_mut()
    {
        m.remove("healthCheckNodePort");
    }
}

fn service(txn: &Txn, existing: Option<&Value>, svc: &mut Value) -> Result<(), ApiError> {
    if let Some(old) = existing {
        keep_allocated(old, svc);
        drop_type_dependent(old, svc);
        if needs_cluster_ip(old) && needs_cluster_ip(svc) {
            let before = &old["spec"]["clusterIP"];
            let after = &svc["spec"]["clusterIP"];
            if before.is_string() && after != before {
                let ips = &svc["spec"]["clusterIPs"];
                return Err(invalid(
                    svc,
                    vec![(
                        "spec.clusterIPs[0]".into(),
                        format!(
                            "Invalid value: {}: may not change once set",
                            go_strings(ips, after)
                        ),
                    )],
                ));
            }
        }
    }
    let (ips, ports) = taken(txn, svc);
    if needs_cluster_ip(svc) {
        cluster_ip(svc, &ips)?;
    } else if let Some(m) = svc["spec"].as_object_mut() {
        for f in ["clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"] {
            if m.get(f)
                .is_some_and(|v| v.is_null() || v == "" || v.as_array().is_some_and(Vec::is_empty))
            {
                m.remove(f);
            }
        }
    }
    let ports = if needs_node_ports(svc) {
        node_ports(svc, ports)?
    } else {
        ports
    };
    if needs_health_check_port(svc) {
        health_check_port(svc, &ports)?;
    }
    Ok(())
}

/// Go's `[]string{"a"}` rendering of a `clusterIPs` value for messages.
fn go_strings(list: &Value, single: &Value) -> String {
    let items: Vec<String> = match list.as_array() {
        Some(a) if !a.is_empty() => a
            .iter()
            .map(|v| format!("{:?}", v.as_str().unwrap_or("")))
            .collect(),
        _ => vec![format!("{:?}", single.as_str().unwrap_or(""))],
    };
    format!("[]string{{{}}}", items.join(", "))
}

fn cluster_ip(svc: &mut Value, taken: &HashSet<Ipv4Addr>) -> Result<(), ApiError> {
    let spec = &svc["spec"];
    for (i, fam) in spec["ipFamilies"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        if fam != "IPv4" {
            return Err(invalid(
                svc,
                vec![(
                    format!("spec.ipFamilies[{i}]"),
                    format!("Invalid value: {fam}: not configured on this cluster"),
                )],
            ));
        }
    }
    let requested = spec["clusterIP"]
        .as_str()
        .filter(|s| !s.is_empty())
        .or_else(|| spec["clusterIPs"][0].as_str().filter(|s| !s.is_empty()))
        .map(String::from);
    let headless = requested.as_deref() == Some("None");
    let ip = match requested.as_deref() {
        Some("None") => "None".to_string(),
        Some(text) => {
            let Ok(ip) = text.parse::<Ipv4Addr>() else {
                return Err(invalid(
                    svc,
                    vec![(
                        "spec.clusterIPs[0]".into(),
                        format!(
                            "Invalid value: {text:?}: must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"
                        ),
                    )],
                ));
            };
            let failure = if !in_range(ip) {
                Some(format!(
                    "the provided IP ({ip}) is not in the valid range. The range of valid IPs is {}/{}",
                    SERVICE_CIDR.0, SERVICE_CIDR.1
                ))
            } else if taken.contains(&ip) {
                Some("provided IP is already allocated".to_string())
            } else {
                None
            };
            if let Some(why) = failure {
                return Err(invalid(
                    svc,
                    vec![(
                        "spec.clusterIPs".into(),
                        format!(
                            "Invalid value: []string{{{text:?}}}: failed to allocate IP {ip}: {why}"
                        ),
                    )],
                ));
            }
            ip.to_string()
        }
        None => match free_ip(taken) {
            Some(ip) => ip.to_string(),
            None => {
                return Err(ApiError::internal(
                    "failed to allocate a serviceIP: range is full",
                ));
            }
        },
    };
    let selectorless = svc["spec"]["selector"]
        .as_object()
        .is_none_or(Map::is_empty);
    let spec = spec_mut(svc);
    spec.insert("clusterIP".into(), json!(ip));
    spec.insert("clusterIPs".into(), json!([ip]));
    spec.entry("ipFamilies").or_insert_with(|| json!(["IPv4"]));
    // A headless Service without a selector asks for every family the
    // cluster has; this cluster has one.
    let policy = if headless && selectorless {
        "RequireDualStack"
    } else {
        "SingleStack"
    };
    spec.entry("ipFamilyPolicy")
        .or_insert_with(|| json!(policy));
    Ok(())
}

fn spec_mut(svc: &mut Value) -> &mut Map<String, Value> {
    if !svc["spec"].is_object() {
        svc["spec"] = json!({});
    }
    svc["spec"].as_object_mut().expect("spec is an object")
}

/// Checks and fills in the ports' node ports; returns every taken port.
fn node_ports(svc: &mut Value, mut taken: HashSet<i64>) -> Result<HashSet<i64>, ApiError> {
    let mut causes = Vec::new();
    let ports = svc["spec"]["ports"].as_array().cloned().unwrap_or_default();
    // Requested ports first, so allocation never hands one of them out.
    let mut own: HashSet<i64> = HashSet::new();
    for (i, p) in ports.iter().enumerate() {
        let Some(n) = p["nodePort"].as_i64().filter(|n| *n != 0) else {
            continue;
        };
        if !NODE_PORTS.contains(&n) {
            causes.push((
                format!("spec.ports[{i}].nodePort"),
                format!(
                    "Invalid value: {n}: provided port is not in the valid range. The range of valid ports is {}-{}",
                    NODE_PORTS.start(),
                    NODE_PORTS.end()
                ),
            ));
        } else if taken.contains(&n) {
            causes.push((
                format!("spec.ports[{i}].nodePort"),
                format!("Invalid value: {n}: provided port is already allocated"),
            ));
        }
        own.insert(n);
    }
    if !causes.is_empty() {
        return Err(invalid(svc, causes));
    }
    taken.extend(&own);
    let mut assigned: Vec<Option<i64>> = ports
        .iter()
        .map(|p| p["nodePort"].as_i64().filter(|n| *n != 0))
        .collect();
    for i in 0..ports.len() {
        if assigned[i].is_some() {
            continue;
        }
        // The same port number over another protocol shares its node port.
        let sibling = (0..ports.len())
            .find(|&j| j != i && ports[j]["port"] == ports[i]["port"] && assigned[j].is_some())
            .and_then(|j| assigned[j]);
        let n = match sibling.or_else(|| free_port(&taken)) {
            Some(n) => n,
            None => {
                return Err(ApiError::internal(
                    "failed to allocate a nodePort: range is full",
                ));
            }
        };
        taken.insert(n);
        assigned[i] = Some(n);
    }
    if let Some(list) = svc
        .get_mut("spec")
        .and_then(|s| s.get_mut("ports"))
        .and_then(Value::as_array_mut)
    {
        for (p, n) in list.iter_mut().zip(assigned) {
            if let (Some(m), Some(n)) = (p.as_object_mut(), n) {
                m.insert("nodePort".into(), json!(n));
            }
        }
    }
    Ok(taken)
}

/// A LoadBalancer with `externalTrafficPolicy: Local` gets a node port for
/// its health checks (even without node ports for its ports).
fn health_check_port(svc: &mut Value, taken: &HashSet<i64>) -> Result<(), ApiError> {
    if svc["spec"]["healthCheckNodePort"].as_i64().unwrap_or(0) != 0 {
        return Ok(());
    }
    let n = free_port(taken)
        .ok_or_else(|| ApiError::internal("failed to allocate a nodePort: range is full"))?;
    spec_mut(svc).insert("healthCheckNodePort".into(), json!(n));
    Ok(())
}

const CONTROLLER_UID: &str = "batch.kubernetes.io/controller-uid";

/// kube's Job `generateSelector`, unless `spec.manualSelector` is true: the
/// template gets the job-name and controller-uid labels (both the
/// `batch.kubernetes.io/` and the legacy keys) and the selector matches the
/// uid. A Job without labels of its own gets its template's, as kube's
/// defaulting gives it.
fn job_selector(job: &mut Value) {
    if job["spec"]["manualSelector"] == true {
        return;
    }
    let name = job["metadata"]["name"].as_str().unwrap_or("").to_string();
    let uid = job["metadata"]["uid"].as_str().unwrap_or("").to_string();
    let user_labels = job["spec"]["template"]["metadata"]["labels"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let mut labels = user_labels.clone();
    for (k, v) in [
        ("job-name", &name),
        ("batch.kubernetes.io/job-name", &name),
        ("controller-uid", &uid),
        (CONTROLLER_UID, &uid),
    ] {
        labels.entry(k).or_insert_with(|| json!(v));
    }
    let spec = spec_mut(job);
    let template = spec.entry("template").or_insert_with(|| json!({}));
    if !template["metadata"].is_object() {
        template["metadata"] = json!({});
    }
    template["metadata"]["labels"] = Value::Object(labels.clone());
    let selector = spec.entry("selector").or_insert_with(|| json!({}));
    if !selector["matchLabels"].is_object() {
        selector["matchLabels"] = json!({});
    }
    if selector["matchLabels"].get(CONTROLLER_UID).is_none() {
        selector["matchLabels"][CONTROLLER_UID] = json!(uid);
    }
    let own = &job["metadata"]["labels"];
    if own.as_object().is_none_or(Map::is_empty) {
        job["metadata"]["labels"] = Value::Object(if user_labels.is_empty() {
            labels
        } else {
            user_labels
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_service_range_and_its_bands() {
        assert!(in_range("10.96.0.1".parse().unwrap()));
        assert!(in_range("10.111.255.254".parse().unwrap()));
        assert!(!in_range("10.112.0.1".parse().unwrap()));
        assert!(!in_range("192.168.0.1".parse().unwrap()));
        let mut taken = HashSet::new();
        assert_eq!(free_ip(&taken), Some("10.96.1.0".parse().unwrap()));
        taken.insert("10.96.1.0".parse().unwrap());
        assert_eq!(free_ip(&taken), Some("10.96.1.1".parse().unwrap()));
        let ports: HashSet<i64> = (30000..30005).collect();
        assert_eq!(free_port(&ports), Some(30005));
        let all: HashSet<i64> = NODE_PORTS.collect();
        assert_eq!(free_port(&all), None);
    }

    #[test]
    fn updates_keep_what_was_allocated_and_type_changes_drop_it() {
        let old = json!({"spec": {"type": "NodePort", "clusterIP": "10.96.1.4", "clusterIPs": ["10.96.1.4"],
            "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack",
            "ports": [{"name": "http", "port": 80, "nodePort": 30001}, {"name": "dns", "port": 53, "nodePort": 30002}]}});
        let mut new = json!({"spec": {"type": "NodePort",
            "ports": [{"name": "dns", "port": 53}, {"name": "http", "port": 8080}]}});
        keep_allocated(&old, &mut new);
        assert_eq!(new["spec"]["clusterIP"], "10.96.1.4");
        assert_eq!(new["spec"]["ports"][0]["nodePort"], 30002);
        assert_eq!(new["spec"]["ports"][1]["nodePort"], 30001);
        let mut external = old.clone();
        external["spec"]["type"] = json!("ExternalName");
        external["spec"]["externalName"] = json!("db.example.com");
        drop_type_dependent(&old, &mut external);
        for f in ["clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"] {
            assert!(external["spec"].get(f).is_none(), "{f}: {external}");
        }
        assert!(external["spec"]["ports"][0].get("nodePort").is_none());
    }

    #[test]
    fn jobs_get_a_generated_selector_unless_manual() {
        let mut job = json!({"metadata": {"name": "once", "uid": "u-1"},
            "spec": {"template": {"metadata": {"labels": {"app": "x"}}, "spec": {}}}});
        job_selector(&mut job);
        assert_eq!(
            job["spec"]["selector"],
            json!({"matchLabels": {"batch.kubernetes.io/controller-uid": "u-1"}})
        );
        assert_eq!(
            job["spec"]["template"]["metadata"]["labels"],
            json!({"app": "x", "job-name": "once", "batch.kubernetes.io/job-name": "once",
                "controller-uid": "u-1", "batch.kubernetes.io/controller-uid": "u-1"})
        );
        assert_eq!(job["metadata"]["labels"], json!({"app": "x"}));
        let mut bare =
            json!({"metadata": {"name": "b", "uid": "u-2"}, "spec": {"template": {"spec": {}}}});
        job_selector(&mut bare);
        assert_eq!(
            bare["metadata"]["labels"]["batch.kubernetes.io/controller-uid"],
            "u-2"
        );
        let mut manual = json!({"metadata": {"name": "m", "uid": "u-3"}, "spec": {"manualSelector": true,
            "selector": {"matchLabels": {"app": "m"}}, "template": {"metadata": {"labels": {"app": "m"}}}}});
        let before = manual.clone();
        job_selector(&mut manual);
        assert_eq!(manual, before);
    }
}
