//! What kube-apiserver allocates on create, with kubectl as the client: a
//! Service's cluster IP and node ports (unique, kept on update, freed on
//! delete) and a Job's generated selector.

use ferroflux_testenv::TestEnv;
use serde_json::Value;

async fn kubectl(env: &TestEnv, args: &[&str], stdin: Option<&str>) -> (bool, String, String) {
    let run = crate::run_kubectl(env, args, stdin).await;
    (run.ok, run.stdout, run.stderr)
}

async fn apply(env: &TestEnv, extra: &[&str], yaml: &str) {
    let mut args = vec!["apply", "-f", "-"];
    args.extend_from_slice(extra);
    let (ok, _, err) = kubectl(env, &args, Some(yaml)).await;
    assert!(ok, "{err}");
}

async fn get(env: &TestEnv, kind: &str, name: &str) -> Value {
    let (ok, out, err) = kubectl(env, &["get", kind, name, "-o", "json"], None).await;
    assert!(ok, "{err}");
    serde_json::from_str(&out).unwrap()
}

fn service(name: &str, spec: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\n  namespace: default\nspec:\n{spec}"
    )
}

fn in_service_range(ip: &str) -> bool {
    let ip: std::net::Ipv4Addr = ip.parse().unwrap();
    let o = ip.octets();
    o[0] == 10 && (96..112).contains(&o[1])
}

#[tokio::test]
async fn services_get_unique_cluster_ips_and_node_ports_kept_on_update_and_freed_on_delete() {
    let env = TestEnv::start().await.unwrap();
    let web = service(
        "web",
        "  selector: {app: web}\n  ports:\n  - {name: http, port: 80}\n",
    );
    let node = service(
        "node",
        "  type: NodePort\n  selector: {app: web}\n  ports:\n  - {name: http, port: 80, nodePort: 30080}\n  - {name: dns, port: 53, protocol: UDP}\n  - {name: dns-tcp, port: 53, protocol: TCP}\n",
    );
    let headless = service(
        "headless",
        "  clusterIP: None\n  selector: {app: web}\n  ports:\n  - {port: 80}\n",
    );
    let external = service(
        "db",
        "  type: ExternalName\n  externalName: db.example.com\n",
    );
    for s in [&web, &node, &headless, &external] {
        apply(&env, &[], s).await;
    }
    let web_obj = get(&env, "svc", "web").await;
    let node_obj = get(&env, "svc", "node").await;
    let web_ip = web_obj["spec"]["clusterIP"].as_str().unwrap().to_string();
    let node_ip = node_obj["spec"]["clusterIP"].as_str().unwrap().to_string();
    assert!(
        in_service_range(&web_ip) && in_service_range(&node_ip),
        "{web_ip} {node_ip}"
    );
    assert_ne!(web_ip, node_ip);
    assert_eq!(web_obj["spec"]["clusterIPs"], serde_json::json!([web_ip]));
    assert_eq!(web_obj["spec"]["ipFamilies"], serde_json::json!(["IPv4"]));
    assert_eq!(web_obj["spec"]["ipFamilyPolicy"], "SingleStack");
    let ports = node_obj["spec"]["ports"].as_array().unwrap();
    assert_eq!(ports[0]["nodePort"], 30080);
    let dns = ports[1]["nodePort"].as_i64().unwrap();
    assert!((30000..=32767).contains(&dns) && dns != 30080, "{dns}");
    // The same port over TCP and UDP shares one node port.
    assert_eq!(ports[2]["nodePort"], dns);
    let headless_obj = get(&env, "svc", "headless").await;
    assert_eq!(
        headless_obj["spec"]["clusterIPs"],
        serde_json::json!(["None"])
    );
    let db = get(&env, "svc", "db").await;
    assert!(db["spec"].get("clusterIP").is_none(), "{db}");

    // kubectl's table shows them.
    let (_, table, _) = kubectl(&env, &["get", "svc", "node", "--no-headers"], None).await;
    assert!(
        table.contains(&node_ip)
            && table.contains("80:30080/TCP")
            && table.contains(&format!("53:{dns}/UDP")),
        "{table}"
    );

    // Re-applying (client-side and server-side) keeps what was allocated;
    // the appliers do not own it.
    let relabelled = node.replace("  name: node\n", "  name: node\n  labels: {tier: edge}\n");
    apply(&env, &[], &relabelled).await;
    apply(&env, &["--server-side", "--force-conflicts"], &relabelled).await;
    let again = get(&env, "svc", "node").await;
    assert_eq!(again["spec"]["clusterIP"], node_obj["spec"]["clusterIP"]);
    assert_eq!(again["spec"]["ports"], node_obj["spec"]["ports"]);
    assert_eq!(again["metadata"]["labels"]["tier"], "edge");
    let (_, managed, _) = kubectl(
        &env,
        &["get", "svc", "node", "-o", "json", "--show-managed-fields"],
        None,
    )
    .await;
    let managed: Value = serde_json::from_str(&managed).unwrap();
    let ssa = managed["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["operation"] == "Apply")
        .expect("an Apply entry");
    assert!(
        ssa["fieldsV1"]["f:spec"].get("f:clusterIP").is_none(),
        "{ssa}"
    );

    // A PUT without the IP keeps it; one changing it is refused.
    let mut replaced = again.clone();
    replaced["spec"]
        .as_object_mut()
        .unwrap()
        .remove("clusterIP");
    replaced["spec"]
        .as_object_mut()
        .unwrap()
        .remove("clusterIPs");
    let (ok, _, err) = kubectl(&env, &["replace", "-f", "-"], Some(&replaced.to_string())).await;
    assert!(ok, "{err}");
    assert_eq!(
        get(&env, "svc", "node").await["spec"]["clusterIP"],
        node_ip.as_str()
    );
    let moved = relabelled.replace(
        "  type: NodePort\n",
        "  type: NodePort\n  clusterIP: 10.96.0.99\n",
    );
    let (ok, _, err) = kubectl(&env, &["apply", "-f", "-"], Some(&moved)).await;
    assert!(!ok && err.contains("may not change once set"), "{err}");

    // Taken values are refused with kube's messages.
    let clash = service(
        "clash",
        &format!(
            "  type: NodePort\n  clusterIP: {web_ip}\n  ports:\n  - {{port: 81, nodePort: 30080}}\n"
        ),
    );
    let (ok, _, err) = kubectl(&env, &["apply", "-f", "-"], Some(&clash)).await;
    assert!(
        !ok && err.contains(&format!(
            "failed to allocate IP {web_ip}: provided IP is already allocated"
        )),
        "{err}"
    );
    let port_clash = service(
        "clash",
        "  type: NodePort\n  ports:\n  - {port: 81, nodePort: 30080}\n",
    );
    let (ok, _, err) = kubectl(&env, &["apply", "-f", "-"], Some(&port_clash)).await;
    assert!(
        !ok && err.contains(
            "spec.ports[0].nodePort: Invalid value: 30080: provided port is already allocated"
        ),
        "{err}"
    );
    let low = service(
        "low",
        "  type: NodePort\n  ports:\n  - {port: 81, nodePort: 80}\n",
    );
    let (ok, _, err) = kubectl(&env, &["apply", "-f", "-"], Some(&low)).await;
    assert!(
        !ok && err.contains("The range of valid ports is 30000-32767"),
        "{err}"
    );
    let outside = service(
        "outside",
        "  clusterIP: 192.168.0.10\n  ports:\n  - {port: 81}\n",
    );
    let (ok, _, err) = kubectl(&env, &["apply", "-f", "-"], Some(&outside)).await;
    assert!(!ok && err.contains("is not in the valid range"), "{err}");

    // Deleting frees the IP and the node port; turning a NodePort Service
    // into a ClusterIP one frees its node ports.
    let (ok, _, err) = kubectl(&env, &["delete", "svc", "web"], None).await;
    assert!(ok, "{err}");
    let (ok, _, err) = kubectl(
        &env,
        &["replace", "-f", "-"],
        Some(&{
            let mut v = get(&env, "svc", "node").await;
            v["spec"]["type"] = "ClusterIP".into();
            v.to_string()
        }),
    )
    .await;
    assert!(ok, "{err}");
    let now_cluster_ip = get(&env, "svc", "node").await;
    assert!(
        now_cluster_ip["spec"]["ports"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p.get("nodePort").is_none()),
        "{now_cluster_ip}"
    );
    let (ok, _, err) = kubectl(&env, &["apply", "-f", "-"], Some(&clash)).await;
    assert!(ok, "freed values are allocatable again: {err}");
    let clash_obj = get(&env, "svc", "clash").await;
    assert_eq!(clash_obj["spec"]["clusterIP"], web_ip.as_str());
    assert_eq!(clash_obj["spec"]["ports"][0]["nodePort"], 30080);

    // A LoadBalancer without node ports for its ports still gets a health
    // check port for `externalTrafficPolicy: Local`.
    let lb = service(
        "lb",
        "  type: LoadBalancer\n  allocateLoadBalancerNodePorts: false\n  externalTrafficPolicy: Local\n  ports:\n  - {port: 443}\n",
    );
    apply(&env, &[], &lb).await;
    let lb_obj = get(&env, "svc", "lb").await;
    assert!(
        lb_obj["spec"]["ports"][0].get("nodePort").is_none(),
        "{lb_obj}"
    );
    let health = lb_obj["spec"]["healthCheckNodePort"].as_i64().unwrap();
    assert!(
        (30000..=32767).contains(&health) && health != 30080,
        "{health}"
    );
}

#[tokio::test]
async fn jobs_get_a_generated_selector_and_labels() {
    let env = TestEnv::start().await.unwrap();
    let job = "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: once\n  namespace: default\nspec:\n  template:\n    metadata:\n      labels: {app: once}\n    spec:\n      restartPolicy: Never\n      containers:\n      - {name: c, image: busybox:1.36}\n";
    apply(&env, &[], job).await;
    let obj = get(&env, "job", "once").await;
    let uid = obj["metadata"]["uid"].as_str().unwrap();
    assert_eq!(
        obj["spec"]["selector"]["matchLabels"],
        serde_json::json!({"batch.kubernetes.io/controller-uid": uid})
    );
    let labels = &obj["spec"]["template"]["metadata"]["labels"];
    assert_eq!(labels["batch.kubernetes.io/job-name"], "once");
    assert_eq!(labels["job-name"], "once");
    assert_eq!(labels["controller-uid"], uid);
    assert_eq!(labels["app"], "once");
    // Re-applying the manifest (which has no selector) is no conflict.
    apply(
        &env,
        &[],
        &job.replace("  name: once\n", "  name: once\n  annotations: {a: b}\n"),
    )
    .await;
    let (ok, out, err) = kubectl(
        &env,
        &["get", "job", "once", "-o", "wide", "--no-headers"],
        None,
    )
    .await;
    assert!(
        ok && out.contains(&format!("batch.kubernetes.io/controller-uid={uid}")),
        "{out}{err}"
    );
}
