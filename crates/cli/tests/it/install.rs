//! The install manifests: `ferroflux kustomize build config/default` renders
//! them and they apply to the test API server as a cluster would take them.

use std::process::Command;
use std::sync::Arc;

use ferroflux_ssa::{Action, ApplyOptions, Manager, Resolver};
use ferroflux_testenv::TestEnv;
use serde_json::Value;

#[tokio::test]
async fn config_default_renders_with_ferroflux_and_applies() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/default");
    let out = Command::new(env!("CARGO_BIN_EXE_ferroflux"))
        .args(["kustomize", "build"])
        .arg(&root)
        .output()
        .expect("ferroflux runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let docs: Vec<Value> = text
        .split("\n---\n")
        .filter(|d| !d.trim().is_empty())
        .map(|d| serde_yaml::from_str(d).unwrap())
        .collect();

    let env = TestEnv::start().await.unwrap();
    let client = env.client().await.unwrap();
    let manager = Manager::new(
        client.clone(),
        Arc::new(Resolver::new(client)),
        "install-test",
    );
    let cs = manager
        .apply_all_staged(docs.clone(), &ApplyOptions::default())
        .await
        .expect("config/default applies");
    assert_eq!(cs.count(Action::Created), docs.len(), "{cs}");

    let by = |kind: &str, name: &str| -> &Value {
        docs.iter()
            .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
            .unwrap_or_else(|| panic!("{kind}/{name} is not installed"))
    };
    for controller in [
        "source-controller",
        "kustomize-controller",
        "helm-controller",
        "notification-controller",
    ] {
        let d = by("Deployment", controller);
        assert_eq!(d["metadata"]["namespace"], "flux-system");
        let pod = &d["spec"]["template"]["spec"];
        assert_eq!(pod["serviceAccountName"], controller);
        assert_eq!(pod["securityContext"]["runAsNonRoot"], true, "{controller}");
        let c = &pod["containers"][0];
        assert_eq!(
            c["securityContext"]["readOnlyRootFilesystem"], true,
            "{controller}"
        );
        assert_eq!(
            c["securityContext"]["allowPrivilegeEscalation"], false,
            "{controller}"
        );
        for field in ["requests", "limits"] {
            assert!(
                c["resources"][field]["memory"].is_string(),
                "{controller}: no memory {field}"
            );
        }
        assert_eq!(
            c["readinessProbe"]["httpGet"]["path"], "/readyz",
            "{controller}"
        );
        assert_eq!(
            c["livenessProbe"]["httpGet"]["path"], "/healthz",
            "{controller}"
        );
        by("ServiceAccount", controller);
    }
    for policy in ["allow-egress", "allow-scraping", "allow-webhooks"] {
        assert_eq!(
            by("NetworkPolicy", policy)["metadata"]["namespace"],
            "flux-system"
        );
    }
    // kustomize- and helm-controller may apply anything and impersonate tenants.
    for controller in ["kustomize-controller", "helm-controller"] {
        let binding = docs
            .iter()
            .find(|d| {
                d["kind"] == "ClusterRoleBinding"
                    && d["roleRef"]["name"] == "cluster-admin"
                    && d["subjects"].as_array().is_some_and(|s| {
                        s.iter().any(|s| {
                            s["kind"] == "ServiceAccount"
                                && s["name"] == controller
                                && s["namespace"] == "flux-system"
                        })
                    })
            })
            .unwrap_or_else(|| panic!("no cluster-admin ClusterRoleBinding for {controller}"));
        assert_eq!(binding["roleRef"]["kind"], "ClusterRole", "{controller}");
    }
    // helm-controller creates and owns the HelmCharts of `spec.chart`.
    let role = by("ClusterRole", "ferroflux-helm-controller");
    let rules = role["rules"].as_array().expect("rules");
    assert!(
        rules.iter().any(|r| {
            r["resources"]
                .as_array()
                .is_some_and(|x| x.contains(&"helmcharts".into()))
                && r["verbs"]
                    .as_array()
                    .is_some_and(|v| v.contains(&"create".into()))
        }),
        "helm-controller may not create HelmCharts: {rules:#?}"
    );
    let crds = docs
        .iter()
        .filter(|d| d["kind"] == "CustomResourceDefinition")
        .count();
    assert_eq!(crds, ferroflux_api::crds::all().unwrap().len());
}
