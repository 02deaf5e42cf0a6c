//! Waits that are not failures: a source that has not published its
//! artifact yet, woken by the source watch.

use ferroflux_api::conditions::{self, ObjectWithConditions};
use ferroflux_api::event::Severity;
use ferroflux_api::kustomize::v1::Kustomization;
use serde_json::json;

use crate::support::{Setup, harness, ks};

#[tokio::test]
async fn a_source_not_ready_yet_is_a_wait_woken_by_the_source() {
    let h = harness(Setup::default()).await;
    // The repository does not exist yet: the GitRepository has no artifact.
    h.git_repository("flux-system", "late", "late", "1h").await;
    // retryInterval is long: only the source watch can wake it in time.
    h.kustomization(ks(
        "flux-system",
        "app",
        "late",
        "./",
        json!({"retryInterval": "1h"}),
    ))
    .await;
    let k = h
        .wait_ks("flux-system", "app", "waiting for source", |k| {
            conditions::get(k.conditions(), conditions::RECONCILING)
                .is_some_and(|c| c.status == "True" && c.message.contains("waiting for source"))
        })
        .await;
    let ready = conditions::get(k.conditions(), conditions::READY).expect("Ready condition");
    assert_eq!(ready.status, "Unknown", "{ready:?}");
    assert!(
        ready
            .message
            .contains("Source 'GitRepository/flux-system/late' is not ready"),
        "{}",
        ready.message
    );

    // The source publishes: the Kustomization applies at once.
    let repo = h.repo("late");
    repo.write(
        "cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: late\n  namespace: default\n",
    )
    .unwrap();
    let commit = repo.commit("first").unwrap();
    h.request(
        &kube::Api::<ferroflux_api::source::v1::GitRepository>::namespaced(
            h.client.clone(),
            "flux-system",
        ),
        "late",
        "now",
    )
    .await;
    let k = h.wait_applied("flux-system", "app", &commit).await;
    assert!(conditions::get(k.conditions(), conditions::RECONCILING).is_none());
    let errors: Vec<_> = h
        .events_for("Kustomization", "app")
        .into_iter()
        .filter(|e| e.severity == Severity::Error)
        .collect();
    assert!(errors.is_empty(), "error events while waiting: {errors:?}");
}

fn deployment(name: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\n  namespace: default\nspec:\n  replicas: 1\n  selector:\n    matchLabels: {{app: {name}}}\n  template:\n    metadata:\n      labels: {{app: {name}}}\n    spec:\n      containers:\n      - {{name: c, image: busybox}}\n"
    )
}

fn reconciling_with(k: &Kustomization, needle: &str) -> bool {
    conditions::get(k.conditions(), conditions::RECONCILING)
        .is_some_and(|c| c.status == "True" && c.message.contains(needle))
}

/// Health waits give their worker back: at `--concurrent 1`, a
/// Kustomization waiting for an object that is not there does not stop 50
/// others from applying, waiting for their Deployments and becoming Ready,
/// and each wait ends on a watch event (the harness's safety poll is an
/// hour and the timeouts are minutes, so nothing else could end them).
#[tokio::test]
async fn fifty_waits_at_concurrency_one_all_complete_on_events() {
    let h = harness(Setup {
        simulate_workloads: Some(std::time::Duration::from_millis(100)),
        concurrency: Some(1),
        ..Default::default()
    })
    .await;
    const N: usize = 50;
    let repo = h.repo("apps");
    for i in 0..N {
        repo.write(
            &format!("app-{i}/deploy.yaml"),
            &deployment(&format!("app-{i}")),
        )
        .unwrap();
    }
    repo.write(
        "gate/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: gate-owned\n  namespace: default\n",
    )
    .unwrap();
    let commit = repo.commit("apps").unwrap();
    h.git_repository("flux-system", "apps", "apps", "1h").await;

    // The gate waits for a ConfigMap nobody has created yet.
    h.kustomization(ks(
        "flux-system",
        "gate",
        "apps",
        "./gate",
        json!({"timeout": "10m", "healthChecks": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "gate", "namespace": "default"}]}),
    ))
    .await;
    // The timeout is shown as Flux shows it (Go's duration text).
    h.wait_ks("flux-system", "gate", "waiting for health", |k| {
        reconciling_with(k, "Running health checks for revision")
            && reconciling_with(k, "with a timeout of 10m0s")
    })
    .await;

    for i in 0..N {
        h.kustomization(ks(
            "flux-system",
            &format!("app-{i}"),
            "apps",
            &format!("./app-{i}"),
            json!({"wait": true, "timeout": "5m"}),
        ))
        .await;
    }
    for i in 0..N {
        let k = h
            .wait_applied("flux-system", &format!("app-{i}"), &commit)
            .await;
        let healthy =
            conditions::get(k.conditions(), conditions::HEALTHY).expect("Healthy condition");
        assert_eq!(healthy.status, "True", "{healthy:?}");
        let deploy = h
            .get("apps/v1", "Deployment", "default", &format!("app-{i}"))
            .await
            .expect("deployment");
        assert_eq!(
            deploy["status"]["availableReplicas"], 1,
            "Ready before the rollout: {deploy}"
        );
    }
    // All that while, the gate waited without holding the only worker.
    let gate = h.kustomizations("flux-system").get("gate").await.unwrap();
    assert!(
        reconciling_with(&gate, "Running health checks"),
        "{:?}",
        gate.status
    );

    // Its object appears: the watch wakes it.
    crate::support::apply_as_admin(
        &h.client,
        vec![json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "gate", "namespace": "default"}})],
    )
    .await;
    h.wait_applied("flux-system", "gate", &commit).await;
    let successes = h
        .events_for("Kustomization", "gate")
        .into_iter()
        .filter(|e| e.reason == "ReconciliationSucceeded")
        .count();
    assert_eq!(successes, 1, "one success event for the gate");
}

/// `healthCheckExprs`: a custom resource is ready when its CEL expression
/// says so; an invalid expression stalls before anything is applied.
#[tokio::test]
async fn health_check_exprs_judge_custom_resources() {
    let h = harness(Setup::default()).await;
    let repo = h.repo("cel");
    repo.write(
        "crd.yaml",
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: gadgets.example.com\nspec:\n  group: example.com\n  names: {kind: Gadget, plural: gadgets, singular: gadget, listKind: GadgetList}\n  scope: Namespaced\n  versions:\n  - name: v1\n    served: true\n    storage: true\n    subresources: {status: {}}\n    schema:\n      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}\n",
    )
    .unwrap();
    repo.write(
        "gadget.yaml",
        "apiVersion: example.com/v1\nkind: Gadget\nmetadata:\n  name: g\n  namespace: default\nspec: {size: 1}\n",
    )
    .unwrap();
    let commit = repo.commit("gadget").unwrap();
    h.git_repository("flux-system", "cel", "cel", "1h").await;
    let exprs = json!([{"apiVersion": "example.com/v1", "kind": "Gadget",
                        "current": "status.phase == 'Ready'"}]);
    h.kustomization(ks(
        "flux-system",
        "cel",
        "cel",
        "./",
        json!({"wait": true, "timeout": "5m", "healthCheckExprs": exprs}),
    ))
    .await;
    h.wait_ks("flux-system", "cel", "waiting for the Gadget", |k| {
        reconciling_with(k, "Running health checks")
    })
    .await;
    let resolver = ferroflux_ssa::Resolver::new(h.client.clone());
    let r = resolver
        .resolve("example.com/v1", "Gadget")
        .await
        .unwrap()
        .unwrap();
    let api: kube::Api<kube::api::DynamicObject> =
        kube::Api::namespaced_with(h.client.clone(), "default", &r.resource);
    api.patch_status(
        "g",
        &kube::api::PatchParams::default(),
        &kube::api::Patch::Merge(json!({"status": {"phase": "Ready"}})),
    )
    .await
    .unwrap();
    h.wait_applied("flux-system", "cel", &commit).await;

    let bad = json!([{"apiVersion": "example.com/v1", "kind": "Gadget", "current": "status.("}]);
    h.kustomization(ks(
        "flux-system",
        "cel",
        "cel",
        "./",
        json!({"wait": true, "healthCheckExprs": bad}),
    ))
    .await;
    let k = h
        .wait_ks("flux-system", "cel", "stalled", |k| {
            conditions::get(k.conditions(), conditions::STALLED)
                .is_some_and(|c| c.reason == "InvalidCELExpression")
        })
        .await;
    let stalled = conditions::get(k.conditions(), conditions::STALLED).unwrap();
    assert!(
        stalled.message.contains("healthCheckExprs[0].current"),
        "{}",
        stalled.message
    );
}
