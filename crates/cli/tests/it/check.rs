//! `ferroflux check`: passes on a healthy installation, and names what is
//! wrong otherwise (a controller not rolled out, a CRD missing or serving
//! too few versions, no API server), exiting 1.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;

use crate::cluster::{Cluster, ferroflux};

const CONTROLLERS: [&str; 4] = [
    "source-controller",
    "kustomize-controller",
    "helm-controller",
    "notification-controller",
];

async fn deployment(c: &Cluster, name: &str, available: i32) {
    let api: Api<Deployment> = Api::namespaced(c.client.clone(), "flux-system");
    let d: Deployment = serde_json::from_value(json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": "flux-system"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}},
                              "spec": {"containers": [{"name": "manager", "image": format!("ghcr.io/ferroflux/{name}:v0.1.0")}]}}},
    }))
    .unwrap();
    api.create(&PostParams::default(), &d).await.unwrap();
    set_available(c, name, available).await;
}

async fn set_available(c: &Cluster, name: &str, available: i32) {
    let api: Api<Deployment> = Api::namespaced(c.client.clone(), "flux-system");
    let status = json!({"status": {"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1,
                                   "readyReplicas": available, "availableReplicas": available}});
    api.patch_status(name, &PatchParams::default(), &Patch::Merge(&status))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn check_passes_when_healthy_and_names_what_is_not() {
    let c = Cluster::start().await;
    for name in CONTROLLERS {
        deployment(&c, name, 1).await;
    }
    let run = c.ferroflux(&["check"]).await;
    run.assert_ok();
    for line in [
        "► checking prerequisites",
        "✔ kustomize-controller: deployment ready",
        "► ghcr.io/ferroflux/kustomize-controller:v0.1.0",
        "✔ kustomizations.kustomize.toolkit.fluxcd.io/v1",
        "✔ helmreleases.helm.toolkit.fluxcd.io/v2",
        "✔ all checks passed",
    ] {
        assert!(
            run.stderr.lines().any(|l| l == line),
            "no {line:?} in:\n{}",
            run.stderr
        );
    }
    assert!(
        run.stderr.lines().any(|l| l.starts_with("✔ Kubernetes ")),
        "{}",
        run.stderr
    );

    // A controller not rolled out, and a CRD serving too few versions.
    set_available(&c, "kustomize-controller", 0).await;
    let crds: Api<CustomResourceDefinition> = Api::all(c.client.clone());
    let name = "gitrepositories.source.toolkit.fluxcd.io";
    let mut crd = crds.get(name).await.unwrap();
    let storage = crd
        .spec
        .versions
        .iter()
        .find(|v| v.storage)
        .unwrap()
        .name
        .clone();
    for v in crd.spec.versions.iter_mut() {
        v.served = v.storage;
    }
    crd.metadata.managed_fields = None;
    crds.replace(name, &PostParams::default(), &crd)
        .await
        .unwrap();
    let run = c.ferroflux(&["check"]).await;
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "✗ kustomize-controller: deployment not ready: 0/1 replicas available, 1 updated"
        ),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(&format!("✗ {name}: does not serve ")),
        "{}",
        run.stderr
    );
    let line = run
        .stderr
        .lines()
        .find(|l| l.contains("does not serve "))
        .unwrap();
    let listed = line.split("does not serve ").nth(1).unwrap();
    let listed: Vec<&str> = listed.split(" (").next().unwrap().split(", ").collect();
    assert!(
        !listed.is_empty() && !listed.contains(&storage.as_str()),
        "{line}"
    );
    assert!(
        run.stderr.ends_with("Error: check failed\n"),
        "{}",
        run.stderr
    );
    // --pre only asks the API server.
    c.ferroflux(&["check", "--pre"]).await.assert_ok();

    // No API server: one line naming it.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config");
    std::fs::write(
        &path,
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: c\nclusters:\n- name: c\n  cluster:\n    server: http://127.0.0.1:{closed}\ncontexts:\n- name: c\n  context: {{cluster: c, user: u}}\nusers:\n- name: u\n  user: {{}}\n"
        ),
    )
    .unwrap();
    let run = ferroflux(&path, &["check"]).await;
    assert_eq!(run.code, Some(1));
    assert!(
        run.stderr.contains(&format!(
            "cannot reach the Kubernetes API server at http://127.0.0.1:{closed}"
        )),
        "{}",
        run.stderr
    );
}
