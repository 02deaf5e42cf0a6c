//! `config/notification-controller`: the Deployment's args are flags the
//! binary accepts, the Services reach the right ports, and the ClusterRole
//! lets Receivers patch every kind they may name.

use std::path::Path;
use std::process::Command;

use clap::Parser;
use notification_controller::cli::Args;
use notification_controller::kinds::{default_api_version, split_api_version};
use serde_yaml::Value;

fn rendered() -> Vec<Value> {
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/notification-controller");
    let out = Command::new("kubectl")
        .arg("kustomize")
        .arg(base)
        .output()
        .expect("kubectl is installed (.ci/run installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("UTF-8");
    serde_yaml::Deserializer::from_str(&text)
        .map(|d| serde::Deserialize::deserialize(d).expect("YAML"))
        .collect()
}

fn find<'a>(docs: &'a [Value], kind: &str, name: &str) -> &'a Value {
    docs.iter()
        .find(|d| d["kind"].as_str() == Some(kind) && d["metadata"]["name"].as_str() == Some(name))
        .unwrap_or_else(|| panic!("{kind} {name} is rendered"))
}

fn strings(v: &Value) -> Vec<String> {
    v.as_sequence()
        .map(|s| {
            s.iter()
                .filter_map(|x| x.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn deployment_args_services_and_rbac() {
    let docs = rendered();
    let deploy = find(&docs, "Deployment", "notification-controller");
    let pod = &deploy["spec"]["template"]["spec"];
    assert_eq!(
        pod["serviceAccountName"].as_str(),
        Some("notification-controller")
    );
    let container = &pod["containers"][0];
    let args = strings(&container["args"]);
    let parsed = Args::try_parse_from(std::iter::once("nc".to_string()).chain(args))
        .expect("the Deployment's args parse");
    assert!(parsed.enable_leader_election && parsed.watch_all_namespaces);
    let sc = &container["securityContext"];
    assert_eq!(sc["readOnlyRootFilesystem"].as_bool(), Some(true));
    assert_eq!(sc["runAsNonRoot"].as_bool(), Some(true));
    assert!(container["resources"]["limits"]["memory"].is_string());

    // Each Service's named target port is the container port of the flag's default.
    let port_of = |name: &str| {
        container["ports"]
            .as_sequence()
            .and_then(|ps| ps.iter().find(|p| p["name"].as_str() == Some(name)))
            .and_then(|p| p["containerPort"].as_u64())
            .unwrap_or_else(|| panic!("container port {name}"))
    };
    let defaults = Args::parse_from(["nc"]);
    for (svc, flag) in [
        ("notification-controller", &defaults.events_addr),
        ("webhook-receiver", &defaults.receiver_addr),
    ] {
        let port = &find(&docs, "Service", svc)["spec"]["ports"][0];
        assert_eq!(port["port"].as_u64(), Some(80));
        let target = port["targetPort"].as_str().expect("named target port");
        assert_eq!(format!(":{}", port_of(target)), *flag, "{svc}");
    }
    assert_eq!(format!(":{}", port_of("healthz")), defaults.health_addr);
    assert_eq!(format!(":{}", port_of("http-prom")), defaults.metrics_addr);

    // Receivers patch every Flux kind they know a default apiVersion for.
    let role = find(&docs, "ClusterRole", "ferroflux-notification-controller");
    let rules = role["rules"].as_sequence().expect("rules");
    let allows = |group: &str, resource: &str, verb: &str| {
        rules.iter().any(|r| {
            strings(&r["apiGroups"]).iter().any(|g| g == group)
                && strings(&r["resources"]).iter().any(|x| x == resource)
                && strings(&r["verbs"]).iter().any(|v| v == verb)
        })
    };
    for (kind, resource) in [
        ("Bucket", "buckets"),
        ("GitRepository", "gitrepositories"),
        ("HelmChart", "helmcharts"),
        ("HelmRepository", "helmrepositories"),
        ("OCIRepository", "ocirepositories"),
        ("ExternalArtifact", "externalartifacts"),
        ("Kustomization", "kustomizations"),
        ("HelmRelease", "helmreleases"),
        ("ImageRepository", "imagerepositories"),
        ("ImagePolicy", "imagepolicies"),
        ("ImageUpdateAutomation", "imageupdateautomations"),
        ("ArtifactGenerator", "artifactgenerators"),
    ] {
        let api_version = default_api_version(kind).expect("a Flux kind");
        let (group, _) = split_api_version(api_version);
        assert!(allows(group, resource, "patch"), "patch {resource}.{group}");
        assert!(allows(group, resource, "get"), "get {resource}.{group}");
    }
    for kind in ["alerts", "providers", "receivers"] {
        let group = "notification.toolkit.fluxcd.io";
        assert!(allows(group, kind, "watch"), "{kind}");
        assert!(
            allows(group, &format!("{kind}/status"), "patch"),
            "{kind}/status"
        );
    }
    assert!(allows("", "secrets", "get"));
    assert!(allows("", "events", "create"));
    let lease_role = find(&docs, "Role", "notification-controller-leader-election");
    assert!(
        lease_role["rules"]
            .as_sequence()
            .is_some_and(|rs| rs.iter().any(|r| strings(&r["resources"]) == ["leases"]))
    );
}
