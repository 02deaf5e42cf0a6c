//! Helm tests, drift detection, dependsOn, tenancy and uninstall
//! remediation, against testenv with its workload simulation.

use std::time::Duration;

use ferroflux_api::conditions;
use serde_json::json;

use crate::support::{Setup, apply_as_admin, chart, cond, harness, ready, release};

fn simulated() -> Setup {
    Setup {
        simulate_workloads: Some(Duration::from_millis(100)),
        ..Setup::default()
    }
}

/// A chart with a test hook Pod that exits with `.Values.testExit`.
fn tested_chart(version: &str) -> ferroflux_testsupport::helm_repo::ChartSpec {
    chart("tested", version).file(
        "templates/tests/check.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {{ .Release.Name }}-check\n  annotations:\n    helm.sh/hook: test\n    testenv.ferroflux.io/exit-code: {{ .Values.testExit | default 0 | quote }}\nspec:\n  restartPolicy: Never\n  containers: [{name: t, image: busybox}]\n",
    )
}

fn conds(
    hr: &ferroflux_api::helm::v2::HelmRelease,
) -> Vec<k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition> {
    hr.status
        .as_ref()
        .map(|s| s.conditions.clone())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tests_pass_and_fail_as_their_pods_exit() {
    let Some(h) = harness(simulated()).await else {
        return;
    };
    let ns = "tests";
    h.publish(&[tested_chart("1.0.0")]);
    h.namespace_with_repo(ns).await;
    let mut obj = release(ns, "web", "tested", "1.0.0", json!({"testExit": 0}));
    obj["spec"]["test"] = json!({"enable": true});
    h.helm_release(obj.clone()).await;
    let hr = h
        .wait_hr(ns, "web", "tested", |hr| {
            ready(hr) && cond(hr, conditions::TEST_SUCCESS).is_some_and(|c| c.0 == "True")
        })
        .await;
    let (_, reason, message) = cond(&hr, conditions::READY).unwrap();
    assert_eq!(reason, "TestSucceeded");
    assert!(
        message.starts_with("Helm test succeeded for release tests/web.v1 with chart tested@1.0.0"),
        "{message}"
    );
    let snap = &hr.status.as_ref().unwrap().history[0];
    let hooks = snap.test_hooks.as_ref().expect("test results recorded");
    assert_eq!(hooks["web-check"].phase.as_deref(), Some("Succeeded"));

    // A failing test fails the release (no remediation asked: stalled).
    obj["spec"]["values"] = json!({"testExit": 3});
    h.helm_release(obj).await;
    let hr = h
        .wait_hr(ns, "web", "test failed", |hr| {
            cond(hr, conditions::TEST_SUCCESS).is_some_and(|c| c.0 == "False")
                && hr
                    .status
                    .as_ref()
                    .is_some_and(|s| s.history[0].version == 2)
        })
        .await;
    let (_, reason, message) = cond(&hr, conditions::TEST_SUCCESS).unwrap();
    assert_eq!(reason, "TestFailed");
    assert!(message.contains("web-check"), "{message}");
    assert!(!conditions::is_true(&conds(&hr), conditions::READY));
    let hooks = hr.status.as_ref().unwrap().history[0]
        .test_hooks
        .clone()
        .unwrap();
    assert_eq!(hooks["web-check"].phase.as_deref(), Some("Failed"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drift_is_corrected_when_enabled_and_only_reported_in_warn_mode() {
    let Some(h) = harness(Setup::default()).await else {
        return;
    };
    let ns = "drift";
    h.publish(&[chart("demo", "1.0.0")]);
    h.namespace_with_repo(ns).await;
    for (name, mode) in [("fixed", "enabled"), ("warned", "warn")] {
        let mut obj = release(ns, name, "demo", "1.0.0", json!({}));
        obj["spec"]["driftDetection"] = json!({"mode": mode});
        h.helm_release(obj).await;
        h.wait_hr(ns, name, "installed", ready).await;
    }
    for name in ["fixed", "warned"] {
        let cm = format!("{name}-cm");
        kube::Api::<k8s_openapi::api::core::v1::ConfigMap>::namespaced(h.client.clone(), ns)
            .patch(
                &cm,
                &kube::api::PatchParams::default(),
                &kube::api::Patch::Merge(json!({"data": {"greeting": "tampered"}})),
            )
            .await
            .unwrap();
        h.annotate(ns, name, "reconcile.fluxcd.io/requestedAt", "drift-1")
            .await;
    }
    let fixed = h
        .wait_hr(ns, "fixed", "drift handled", |hr| {
            hr.status
                .as_ref()
                .and_then(|s| s.last_handled_reconcile_at.as_deref())
                == Some("drift-1")
        })
        .await;
    let warned = h
        .wait_hr(ns, "warned", "drift handled", |hr| {
            hr.status
                .as_ref()
                .and_then(|s| s.last_handled_reconcile_at.as_deref())
                == Some("drift-1")
        })
        .await;
    let cm = h.get("v1", "ConfigMap", ns, "fixed-cm").await.unwrap();
    assert_eq!(
        cm["data"]["greeting"], "hello",
        "enabled mode corrects the drift"
    );
    let cm = h.get("v1", "ConfigMap", ns, "warned-cm").await.unwrap();
    assert_eq!(
        cm["data"]["greeting"], "tampered",
        "warn mode leaves the cluster alone"
    );
    let (status, reason, message) = cond(&warned, "Drifted").unwrap();
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("True", "DriftDetected")
    );
    assert!(
        message.contains("ConfigMap/drift/warned-cm changed"),
        "{message}"
    );
    assert!(ready(&warned), "warn mode keeps the release ready");
    assert!(ready(&fixed));
    assert!(
        h.events_for("fixed")
            .iter()
            .any(|e| e.reason == "DriftCorrected")
    );
    assert!(
        h.events_for("warned")
            .iter()
            .any(|e| e.reason == "DriftDetected")
    );
    // No new revision for either: drift is not an upgrade.
    assert_eq!(fixed.status.as_ref().unwrap().history[0].version, 1);
    assert_eq!(warned.status.as_ref().unwrap().history[0].version, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_release_waits_for_its_dependencies() {
    let Some(h) = harness(Setup::default()).await else {
        return;
    };
    let ns = "deps";
    h.publish(&[chart("demo", "1.0.0")]);
    h.namespace_with_repo(ns).await;
    let mut back = release(ns, "backend", "demo", "1.0.0", json!({}));
    back["spec"]["suspend"] = json!(true);
    h.helm_release(back.clone()).await;
    let mut front = release(ns, "frontend", "demo", "1.0.0", json!({}));
    front["spec"]["dependsOn"] = json!([{"name": "backend"}]);
    h.helm_release(front).await;
    let hr = h
        .wait_hr(ns, "frontend", "waiting", |hr| {
            cond(hr, conditions::READY).is_some_and(|c| c.1 == "DependencyNotReady")
        })
        .await;
    assert_eq!(
        cond(&hr, conditions::READY).unwrap().2,
        "dependency 'deps/backend' is not ready"
    );
    assert!(h.get("v1", "ConfigMap", ns, "frontend-cm").await.is_none());
    // Once the dependency is ready, the dependent goes at once (the
    // dependency watch; --requeue-dependency is an hour here).
    back["spec"]["suspend"] = json!(false);
    h.helm_release(back).await;
    h.wait_hr(ns, "backend", "installed", ready).await;
    h.wait_hr(ns, "frontend", "installed after its dependency", ready)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_cannot_write_outside_its_namespace() {
    let Some(h) = harness(Setup {
        default_service_account: Some("default".into()),
        ..Setup::default()
    })
    .await
    else {
        return;
    };
    let ns = "tenant";
    h.publish(&[
        chart("demo", "1.0.0"),
        chart("escape", "1.0.0").file(
            "templates/outside.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: planted\n  namespace: kube-system\ndata: {x: y}\n",
        ),
    ]);
    h.namespace_with_repo(ns).await;
    apply_as_admin(
        &h.client,
        vec![
            json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": ns}}),
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                   "metadata": {"name": "tenant-admin", "namespace": ns},
                   "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
                   "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": ns}]}),
        ],
    )
    .await;
    h.helm_release(release(ns, "ok", "demo", "1.0.0", json!({})))
        .await;
    h.wait_hr(ns, "ok", "installed as the tenant", ready).await;
    h.helm_release(release(ns, "bad", "escape", "1.0.0", json!({})))
        .await;
    let hr = h
        .wait_hr(ns, "bad", "refused", |hr| {
            cond(hr, conditions::RELEASED).is_some_and(|c| c.1 == "InstallFailed")
        })
        .await;
    let message = cond(&hr, conditions::RELEASED).unwrap().2;
    assert!(message.contains("kube-system"), "{message}");
    assert!(
        h.get("v1", "ConfigMap", "kube-system", "planted")
            .await
            .is_none()
    );
    assert!(
        h.get("v1", "ConfigMap", ns, "bad-cm").await.is_none(),
        "nothing of a refused release lands"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_upgrade_is_uninstalled_when_asked() {
    let Some(h) = harness(Setup::default()).await else {
        return;
    };
    let ns = "uninst";
    h.publish(&[
        chart("demo", "1.0.0"),
        chart("demo", "2.0.0").file(
            "templates/deploy.yaml",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}-app\nspec:\n  replicas: 1\n  selector:\n    matchLabels: {app: x}\n  template:\n    metadata:\n      labels: {app: x}\n    spec:\n      containers: [{name: c, image: busybox}]\n",
        ),
    ]);
    h.namespace_with_repo(ns).await;
    h.helm_release(release(ns, "web", "demo", "1.0.0", json!({})))
        .await;
    h.wait_hr(ns, "web", "installed", ready).await;
    let mut obj = release(ns, "web", "demo", "2.0.0", json!({}));
    obj["spec"]["timeout"] = json!("2s");
    obj["spec"]["upgrade"] = json!({"remediation": {"strategy": "uninstall", "retries": 0, "remediateLastFailure": true}});
    h.helm_release(obj).await;
    let hr = h
        .wait_hr(ns, "web", "uninstall remediation", |hr| {
            cond(hr, conditions::REMEDIATED).is_some_and(|c| c.1 == "UninstallSucceeded")
        })
        .await;
    assert!(!conditions::is_true(&conds(&hr), conditions::READY));
    assert!(
        cond(&hr, conditions::REMEDIATED)
            .unwrap()
            .2
            .starts_with("Helm uninstall remediation for release uninst/web.v2"),
        "{:?}",
        cond(&hr, conditions::REMEDIATED)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objects_of_nobody_are_taken_over_unless_disabled() {
    let Some(h) = harness(Setup::default()).await else {
        return;
    };
    let ns = "owners";
    h.publish(&[chart("demo", "1.0.0")]);
    h.namespace_with_repo(ns).await;
    for name in ["strict", "taker"] {
        apply_as_admin(
            &h.client,
            vec![json!({"apiVersion": "v1", "kind": "ConfigMap",
                        "metadata": {"name": format!("{name}-cm"), "namespace": ns},
                        "data": {"greeting": "hand-made"}})],
        )
        .await;
    }
    let mut strict = release(ns, "strict", "demo", "1.0.0", json!({}));
    strict["spec"]["install"] = json!({"disableTakeOwnership": true});
    h.helm_release(strict).await;
    h.helm_release(release(ns, "taker", "demo", "1.0.0", json!({})))
        .await;
    let hr = h
        .wait_hr(ns, "strict", "refused", |hr| {
            cond(hr, conditions::RELEASED).is_some_and(|c| c.1 == "InstallFailed")
        })
        .await;
    let message = cond(&hr, conditions::RELEASED).unwrap().2;
    assert!(message.contains("invalid ownership metadata"), "{message}");
    let cm = h.get("v1", "ConfigMap", ns, "strict-cm").await.unwrap();
    assert_eq!(cm["data"]["greeting"], "hand-made");
    h.wait_hr(ns, "taker", "took over", ready).await;
    let cm = h.get("v1", "ConfigMap", ns, "taker-cm").await.unwrap();
    assert_eq!(cm["data"]["greeting"], "hello");
    assert_eq!(
        cm["metadata"]["annotations"]["meta.helm.sh/release-name"],
        "taker"
    );
}

const WIDGET_CRD: &str = "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets.example.com\nspec:\n  group: example.com\n  names: {kind: Widget, plural: widgets, singular: widget, listKind: WidgetList}\n  scope: Namespaced\n  versions:\n  - name: v1\n    served: true\n    storage: true\n    subresources: {status: {}}\n    schema:\n      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_check_exprs_judge_custom_resources() {
    let Some(h) = harness(Setup::default()).await else {
        return;
    };
    let ns = "cel";
    h.publish(&[chart("widgets", "1.0.0")
        .file("templates/crd.yaml", WIDGET_CRD)
        .file(
            "templates/widget.yaml",
            "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: {{ .Release.Name }}-w\nspec: {size: 1}\n",
        )]);
    h.namespace_with_repo(ns).await;
    let mut obj = release(ns, "web", "widgets", "1.0.0", json!({}));
    obj["spec"]["healthCheckExprs"] = json!([{
        "apiVersion": "example.com/v1", "kind": "Widget",
        "current": "status.phase == 'Ready'", "failed": "status.phase == 'Broken'"
    }]);
    h.helm_release(obj.clone()).await;
    // The release waits for the Widget, whose status nobody has set yet.
    let mut widget = None;
    for _ in 0..600 {
        widget = h.get("example.com/v1", "Widget", ns, "web-w").await;
        if widget.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(widget.is_some(), "the Widget was applied");
    let hr = h.releases(ns).get("web").await.unwrap();
    assert!(!ready(&hr), "not ready before the expression holds");
    let resolver = ferroflux_ssa::Resolver::new(h.client.clone());
    let r = resolver
        .resolve("example.com/v1", "Widget")
        .await
        .unwrap()
        .unwrap();
    let api: kube::Api<kube::api::DynamicObject> =
        kube::Api::namespaced_with(h.client.clone(), ns, &r.resource);
    api.patch_status(
        "web-w",
        &kube::api::PatchParams::default(),
        &kube::api::Patch::Merge(json!({"status": {"phase": "Ready"}})),
    )
    .await
    .unwrap();
    h.wait_hr(ns, "web", "ready once the expression holds", ready)
        .await;

    // An invalid expression stalls before anything is done.
    obj["spec"]["healthCheckExprs"][0]["current"] = json!("status.(");
    h.helm_release(obj).await;
    let hr = h
        .wait_hr(ns, "web", "stalled", |hr| {
            cond(hr, conditions::STALLED).is_some_and(|c| c.1 == "InvalidCELExpression")
        })
        .await;
    assert!(
        cond(&hr, conditions::STALLED)
            .unwrap()
            .2
            .contains("healthCheckExprs[0].current")
    );
}
