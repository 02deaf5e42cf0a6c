//! `ferroflux tree`: a Kustomization's inventory as a tree, nested
//! Kustomizations and HelmReleases expanded (a HelmRelease from its Helm
//! release record), and hostile inventories and records refused cleanly.

use ferroflux_cli::kinds;
use ferroflux_helm::release::Release;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, PostParams};
use serde_json::{Value, json};

use crate::cluster::{Cluster, ready};

fn inventory(ids: &[&str]) -> Value {
    json!({"entries": ids.iter().map(|id| json!({"id": id, "v": "v1"})).collect::<Vec<_>>()})
}

async fn release_secret(c: &Cluster, ns: &str, name: &str, data: &str) {
    let api: Api<Secret> = Api::namespaced(c.client.clone(), ns);
    let s: Secret = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": name, "namespace": ns, "labels": {"owner": "helm"}},
        "type": "helm.sh/release.v1",
        "stringData": {"release": data},
    }))
    .unwrap();
    api.create(&PostParams::default(), &s)
        .await
        .expect("secret");
}

async fn fixture() -> Cluster {
    let c = Cluster::start().await;
    let ks = |path: &str| {
        json!({"interval": "10m", "path": path, "prune": true,
               "sourceRef": {"kind": "GitRepository", "name": "repo"}})
    };
    c.create(
        &kinds::KUSTOMIZATION,
        "flux-system",
        "root",
        ks("./clusters"),
        json!({
            "conditions": ready("True", "ReconciliationSucceeded", "ok"),
            "inventory": inventory(&[
                "_apps__Namespace",
                "_system__auth-delegator_rbac.authorization.k8s.io_ClusterRoleBinding",
                "flux-system_root_kustomize.toolkit.fluxcd.io_Kustomization",
                "flux-system_apps_kustomize.toolkit.fluxcd.io_Kustomization",
            ]),
        }),
    )
    .await;
    c.create(
        &kinds::KUSTOMIZATION,
        "flux-system",
        "apps",
        ks("./apps"),
        json!({
            "conditions": ready("True", "ReconciliationSucceeded", "ok"),
            "inventory": inventory(&[
                "apps_web_apps_Deployment",
                "apps_web_helm.toolkit.fluxcd.io_HelmRelease",
            ]),
        }),
    )
    .await;
    c.create(
        &kinds::HELM_RELEASE,
        "apps",
        "web",
        json!({"interval": "5m", "chart": {"spec": {"chart": "podinfo",
               "sourceRef": {"kind": "HelmRepository", "name": "podinfo"}}}}),
        json!({
            "storageNamespace": "apps",
            "history": [{"chartVersion": "6.5.4", "chartName": "podinfo", "name": "web", "namespace": "apps",
                         "version": 2, "status": "deployed", "digest": "sha256:00", "configDigest": "sha256:00",
                         "firstDeployed": "2026-01-01T00:00:00Z", "lastDeployed": "2026-01-01T00:00:00Z"}],
            "conditions": ready("True", "UpgradeSucceeded", "ok"),
        }),
    )
    .await;
    let release = Release {
        name: "web".into(),
        namespace: "apps".into(),
        version: 2,
        manifest: "---\n# Source: podinfo/templates/service.yaml\napiVersion: v1\nkind: Service\nmetadata:\n  name: web-podinfo\nspec:\n  ports: []\n---\n# Source: podinfo/templates/role.yaml\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: web-reader\nrules: []\n".into(),
        ..Default::default()
    };
    let data = ferroflux_helm::release::codec::encode(&release).unwrap();
    release_secret(&c, "apps", "sh.helm.release.v1.web.v2", &data).await;
    c
}

#[tokio::test(flavor = "multi_thread")]
async fn tree_expands_nested_kustomizations_and_helm_releases() {
    let c = fixture().await;
    let run = c.ferroflux(&["tree", "kustomization", "root"]).await;
    run.assert_ok();
    assert_eq!(
        run.stdout,
        "Kustomization/flux-system/root\n\
         ├── Namespace/apps\n\
         ├── ClusterRoleBinding/system:auth-delegator\n\
         └── Kustomization/flux-system/apps\n    \
             ├── Deployment/apps/web\n    \
             └── HelmRelease/apps/web\n        \
                 ├── Service/apps/web-podinfo\n        \
                 └── ClusterRole/web-reader\n"
    );

    let run = c.ferroflux(&["tree", "ks", "root", "--compact"]).await;
    run.assert_ok();
    assert_eq!(
        run.stdout,
        "Kustomization/flux-system/root\n\
         └── Kustomization/flux-system/apps\n    \
             └── HelmRelease/apps/web\n"
    );

    let run = c
        .ferroflux(&["tree", "helmrelease", "web", "-n", "apps", "-o", "json"])
        .await;
    run.assert_ok();
    let tree: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(tree["resource"]["GroupKind"]["Kind"], "HelmRelease");
    assert_eq!(
        tree["resources"][0]["resource"],
        json!({"Namespace": "apps", "Name": "web-podinfo", "GroupKind": {"Group": "", "Kind": "Service"}})
    );
    assert_eq!(tree["resources"][1]["resource"]["Namespace"], "");

    let run = c.ferroflux(&["tree", "ks", "missing"]).await;
    assert_eq!(run.code, Some(1));
    assert_eq!(
        run.stderr,
        "Error: Kustomization object 'missing' not found in \"flux-system\" namespace\n"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn tree_refuses_hostile_inventories_and_records() {
    let c = fixture().await;
    // Two Kustomizations listing each other: an error, not endless recursion.
    for (name, other) in [("ping", "pong"), ("pong", "ping")] {
        c.create(
            &kinds::KUSTOMIZATION,
            "flux-system",
            name,
            json!({"interval": "1m", "path": "./", "prune": true,
                   "sourceRef": {"kind": "GitRepository", "name": "repo"}}),
            json!({"inventory": inventory(&[&format!("flux-system_{other}_kustomize.toolkit.fluxcd.io_Kustomization")])}),
        )
        .await;
    }
    let run = c.ferroflux(&["tree", "ks", "ping"]).await;
    assert_eq!(run.code, Some(1));
    assert!(run.stderr.contains("nest deeper than"), "{}", run.stderr);
    assert_eq!(run.stderr.lines().count(), 1);

    c.set_status(
        &kinds::KUSTOMIZATION,
        "flux-system",
        "pong",
        json!({"inventory": inventory(&["garbage"])}),
    )
    .await;
    let run = c.ferroflux(&["tree", "ks", "pong"]).await;
    assert_eq!(run.code, Some(1));
    assert!(
        run.stderr
            .contains("unreadable inventory entry \"garbage\""),
        "{}",
        run.stderr
    );

    // A release record that is not Helm's encoding, then a gzip bomb.
    let api: Api<Secret> = Api::namespaced(c.client.clone(), "apps");
    api.delete("sh.helm.release.v1.web.v2", &Default::default())
        .await
        .unwrap();
    release_secret(&c, "apps", "sh.helm.release.v1.web.v2", "%%% not base64").await;
    let run = c.ferroflux(&["tree", "hr", "web", "-n", "apps"]).await;
    assert_eq!(run.code, Some(1));
    assert!(
        run.stderr
            .contains("decoding the Helm storage object apps/sh.helm.release.v1.web.v2"),
        "{}",
        run.stderr
    );

    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![b' '; 1 << 20];
    for _ in 0..40 {
        gz.write_all(&zeros).unwrap();
    }
    use base64::Engine;
    let bomb = base64::engine::general_purpose::STANDARD.encode(gz.finish().unwrap());
    api.delete("sh.helm.release.v1.web.v2", &Default::default())
        .await
        .unwrap();
    release_secret(&c, "apps", "sh.helm.release.v1.web.v2", &bomb).await;
    let run = c.ferroflux(&["tree", "hr", "web", "-n", "apps"]).await;
    assert_eq!(run.code, Some(1));
    assert!(
        run.stderr.contains("decoding the Helm storage object"),
        "{}",
        run.stderr
    );
}
