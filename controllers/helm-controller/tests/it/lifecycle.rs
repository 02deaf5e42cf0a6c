//! Install, upgrade (new chart version, new values), Helm reading our
//! releases, idle reconciles, remediation and uninstall on deletion.

use std::time::Duration;

use ferroflux_api::conditions;
use kube::api::DeleteParams;
use serde_json::{Value, json};

use crate::support::{Setup, chart, cond, harness, ok, ready, release};

fn statuses(history: &Value) -> Vec<(i64, String)> {
    history
        .as_array()
        .expect("history is a list")
        .iter()
        .map(|h| {
            (
                h["revision"].as_i64().unwrap(),
                h["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn installs_upgrades_and_helm_reads_the_releases() {
    let Some(h) = harness(Setup::default()).await else {
        return;
    };
    let ns = "apps";
    h.publish(&[chart("demo", "1.0.0"), chart("demo", "1.1.0")]);
    h.namespace_with_repo(ns).await;
    h.helm_release(release(ns, "web", "demo", "1.0.0", json!({})))
        .await;
    let hr = h.wait_hr(ns, "web", "installed", ready).await;
    let (_, reason, message) = cond(&hr, conditions::RELEASED).expect("Released");
    assert_eq!(reason, "InstallSucceeded");
    assert_eq!(
        message,
        "Helm install succeeded for release apps/web.v1 with chart demo@1.0.0"
    );
    let status = hr.status.clone().unwrap();
    assert_eq!(status.helm_chart.as_deref(), Some("apps/apps-web"));
    assert_eq!(status.history.len(), 1);
    assert_eq!(status.history[0].version, 1);
    assert_eq!(status.history[0].status, "deployed");
    let ids: Vec<String> = status
        .inventory
        .unwrap()
        .entries
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(ids, vec!["apps_web-cm__ConfigMap".to_string()]);

    let cm = h
        .get("v1", "ConfigMap", ns, "web-cm")
        .await
        .expect("ConfigMap");
    assert_eq!(cm["data"]["greeting"], "hello");
    assert_eq!(cm["data"]["version"], "1.0.0");
    assert_eq!(
        cm["metadata"]["labels"]["helm.toolkit.fluxcd.io/name"],
        "web"
    );
    assert_eq!(
        cm["metadata"]["labels"]["app.kubernetes.io/managed-by"],
        "Helm"
    );
    assert_eq!(
        cm["metadata"]["annotations"]["meta.helm.sh/release-name"],
        "web"
    );

    // A values change upgrades.
    h.helm_release(release(
        ns,
        "web",
        "demo",
        "1.0.0",
        json!({"greeting": "bonjour"}),
    ))
    .await;
    h.wait_hr(ns, "web", "upgraded with new values", |hr| {
        ready(hr)
            && hr
                .status
                .as_ref()
                .is_some_and(|s| s.history.first().is_some_and(|x| x.version == 2))
    })
    .await;
    let cm = h.get("v1", "ConfigMap", ns, "web-cm").await.unwrap();
    assert_eq!(cm["data"]["greeting"], "bonjour");

    // A new chart version upgrades.
    h.helm_release(release(
        ns,
        "web",
        "demo",
        "1.1.0",
        json!({"greeting": "bonjour"}),
    ))
    .await;
    let hr = h
        .wait_hr(ns, "web", "upgraded to 1.1.0", |hr| {
            ready(hr)
                && hr
                    .status
                    .as_ref()
                    .is_some_and(|s| s.history.first().is_some_and(|x| x.version == 3))
        })
        .await;
    let (_, reason, message) = cond(&hr, conditions::READY).unwrap();
    assert_eq!(reason, "UpgradeSucceeded");
    assert_eq!(
        message,
        "Helm upgrade succeeded for release apps/web.v3 with chart demo@1.1.0"
    );
    let cm = h.get("v1", "ConfigMap", ns, "web-cm").await.unwrap();
    assert_eq!(cm["data"]["version"], "1.1.0");

    // Helm itself sees the release, its values and its history.
    let results = h
        .sdk(
            ns,
            json!([
                {"op": "list"},
                {"op": "history", "name": "web"},
                {"op": "get_values", "name": "web"},
            ]),
        )
        .await;
    let list = ok(&results, 0, "list");
    assert_eq!(list[0]["name"], "web");
    assert_eq!(list[0]["revision"], 3);
    assert_eq!(list[0]["status"], "deployed");
    assert_eq!(list[0]["chart_name"], "demo");
    assert_eq!(
        statuses(ok(&results, 1, "history")),
        vec![
            (1, "superseded".to_string()),
            (2, "superseded".to_string()),
            (3, "deployed".to_string())
        ]
    );
    assert_eq!(
        ok(&results, 2, "get_values"),
        &json!({"greeting": "bonjour"})
    );

    let events = h.events_for("web");
    assert!(
        events.iter().any(|e| e.reason == "InstallSucceeded"),
        "install event: {events:?}"
    );
    assert!(events.iter().any(|e| e.reason == "UpgradeSucceeded"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_reconcile_writes_nothing_and_makes_no_revision() {
    let Some(h) = harness(Setup::default()).await else {
        return;
    };
    let ns = "idle";
    h.publish(&[chart("demo", "1.0.0")]);
    h.namespace_with_repo(ns).await;
    let mut obj = release(ns, "quiet", "demo", "1.0.0", json!({"greeting": "hi"}));
    obj["spec"]["interval"] = json!("1s");
    h.helm_release(obj).await;
    h.wait_hr(ns, "quiet", "installed", ready).await;
    let settled = h.reconciles(ns, "quiet") + 1;
    while h.reconciles(ns, "quiet") < settled {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let before = h.writes();
    let start = h.reconciles(ns, "quiet");
    while h.reconciles(ns, "quiet") < start + 3 {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(h.writes(), before, "idle reconciles wrote to the cluster");
    let results = h.sdk(ns, json!([{"op": "history", "name": "quiet"}])).await;
    assert_eq!(
        statuses(ok(&results, 0, "history")),
        vec![(1, "deployed".to_string())]
    );

    // forceAt with the same token as requestedAt forces one upgrade of the
    // in-sync release, once.
    h.annotate(ns, "quiet", "reconcile.fluxcd.io/forceAt", "t1")
        .await;
    h.annotate(ns, "quiet", "reconcile.fluxcd.io/requestedAt", "t1")
        .await;
    let hr = h
        .wait_hr(ns, "quiet", "forced upgrade", |hr| {
            hr.status.as_ref().is_some_and(|s| {
                s.last_handled_force_at.as_deref() == Some("t1")
                    && s.history.first().is_some_and(|x| x.version == 2)
            })
        })
        .await;
    assert!(ready(&hr));
    let start = h.reconciles(ns, "quiet");
    while h.reconciles(ns, "quiet") < start + 2 {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let results = h.sdk(ns, json!([{"op": "history", "name": "quiet"}])).await;
    assert_eq!(
        statuses(ok(&results, 0, "history")),
        vec![(1, "superseded".to_string()), (2, "deployed".to_string())],
        "a force request upgrades once"
    );
}

/// A chart whose version 2 adds a Deployment that never becomes ready
/// (testenv simulates no rollout here), so its upgrade times out.
fn failing_chart() -> ferroflux_testsupport::helm_repo::ChartSpec {
    chart("demo", "2.0.0").file(
        "templates/deploy.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}-app\nspec:\n  replicas: 1\n  selector:\n    matchLabels: {app: x}\n  template:\n    metadata:\n      labels: {app: x}\n    spec:\n      containers: [{name: c, image: busybox}]\n",
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_upgrade_is_rolled_back_until_retries_run_out() {
    let Some(h) = harness(Setup::default()).await else {
        return;
    };
    let ns = "remedy";
    h.publish(&[chart("demo", "1.0.0"), failing_chart()]);
    h.namespace_with_repo(ns).await;
    h.helm_release(release(ns, "web", "demo", "1.0.0", json!({})))
        .await;
    h.wait_hr(ns, "web", "installed", ready).await;
    let mut obj = release(ns, "web", "demo", "2.0.0", json!({}));
    obj["spec"]["timeout"] = json!("2s");
    obj["spec"]["upgrade"] = json!({"remediation": {"retries": 1}});
    h.helm_release(obj).await;
    let hr = h
        .wait_hr(ns, "web", "stalled after retries", |hr| {
            conditions::is_true(
                &hr.status
                    .as_ref()
                    .map(|s| s.conditions.clone())
                    .unwrap_or_default(),
                conditions::STALLED,
            )
        })
        .await;
    let (_, reason, message) = cond(&hr, conditions::STALLED).unwrap();
    assert_eq!(reason, "RetriesExceeded");
    assert_eq!(message, "Failed to upgrade after 2 attempt(s)");
    let (status, reason, _) = cond(&hr, conditions::REMEDIATED).unwrap();
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("True", "RollbackSucceeded")
    );
    assert!(!conditions::is_true(
        hr.status
            .as_ref()
            .map(|s| s.conditions.as_slice())
            .unwrap_or_default(),
        conditions::READY
    ));
    assert_eq!(hr.status.as_ref().unwrap().upgrade_failures, 2);
    // The rollback removed what the failed upgrade added; v1's objects are back.
    assert!(
        h.get("apps/v1", "Deployment", ns, "web-app")
            .await
            .is_none()
    );
    let cm = h.get("v1", "ConfigMap", ns, "web-cm").await.unwrap();
    assert_eq!(cm["data"]["version"], "1.0.0");
    let results = h.sdk(ns, json!([{"op": "history", "name": "web"}])).await;
    let history = statuses(ok(&results, 0, "history"));
    assert_eq!(
        history,
        vec![
            (1, "superseded".to_string()),
            (2, "superseded".to_string()),
            (3, "superseded".to_string()),
            (4, "superseded".to_string()),
            (5, "deployed".to_string())
        ],
        "install, failed upgrade, rollback, failed upgrade, rollback"
    );
    let events = h.events_for("web");
    assert_eq!(
        events
            .iter()
            .filter(|e| e.reason == "UpgradeFailed")
            .count(),
        2,
        "{events:?}"
    );
    assert_eq!(
        events
            .iter()
            .filter(|e| e.reason == "RollbackSucceeded")
            .count(),
        2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_the_helm_release_uninstalls_it() {
    let Some(h) = harness(Setup::default()).await else {
        return;
    };
    let ns = "gone";
    h.publish(&[chart("demo", "1.0.0")]);
    h.namespace_with_repo(ns).await;
    h.helm_release(release(ns, "web", "demo", "1.0.0", json!({})))
        .await;
    h.wait_hr(ns, "web", "installed", ready).await;
    assert!(h.get("v1", "ConfigMap", ns, "web-cm").await.is_some());
    h.releases(ns)
        .delete("web", &DeleteParams::default())
        .await
        .unwrap();
    for _ in 0..600 {
        if h.releases(ns).get_opt("web").await.unwrap().is_none() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        h.releases(ns).get_opt("web").await.unwrap().is_none(),
        "the finalizer never went"
    );
    assert!(
        h.get("v1", "ConfigMap", ns, "web-cm").await.is_none(),
        "objects left behind"
    );
    assert!(
        h.get("source.toolkit.fluxcd.io/v1", "HelmChart", ns, "gone-web")
            .await
            .is_none()
    );
    let results = h.sdk(ns, json!([{"op": "list", "all": true}])).await;
    assert_eq!(
        ok(&results, 0, "list"),
        &json!([]),
        "release records left behind"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_release_helm_installed_is_adopted_and_upgraded() {
    let Some(h) = harness(Setup::default()).await else {
        return;
    };
    let ns = "adopt";
    h.publish(&[chart("demo", "1.0.0")]);
    h.namespace_with_repo(ns).await;
    let archive = h.repo_dir.path().join("demo-1.0.0.tgz");
    let results = h
        .sdk(
            ns,
            json!([{"op": "install", "chart": archive, "name": "web", "values": {"greeting": "from helm"}}]),
        )
        .await;
    ok(&results, 0, "install");
    h.helm_release(release(
        ns,
        "web",
        "demo",
        "1.0.0",
        json!({"greeting": "from flux"}),
    ))
    .await;
    let hr = h.wait_hr(ns, "web", "adopted", ready).await;
    assert_eq!(hr.status.as_ref().unwrap().history[0].version, 2);
    let cm = h.get("v1", "ConfigMap", ns, "web-cm").await.unwrap();
    assert_eq!(cm["data"]["greeting"], "from flux");
    let results = h.sdk(ns, json!([{"op": "history", "name": "web"}])).await;
    assert_eq!(
        statuses(ok(&results, 0, "history")),
        vec![(1, "superseded".to_string()), (2, "deployed".to_string())]
    );

    // Helm upgrades our revision in turn; the HelmRelease notices that the
    // release is no longer the one it made and brings it back to its spec.
    let results = h
        .sdk(
            ns,
            json!([{"op": "upgrade", "chart": archive, "name": "web", "values": {"greeting": "by hand"}}]),
        )
        .await;
    assert_eq!(ok(&results, 0, "upgrade")["revision"], 3);
    h.annotate(ns, "web", "reconcile.fluxcd.io/requestedAt", "after-helm")
        .await;
    let hr = h
        .wait_hr(ns, "web", "taken back", |hr| {
            ready(hr)
                && hr
                    .status
                    .as_ref()
                    .is_some_and(|s| s.history[0].version == 4)
        })
        .await;
    assert_eq!(hr.status.as_ref().unwrap().history[0].status, "deployed");
    let cm = h.get("v1", "ConfigMap", ns, "web-cm").await.unwrap();
    assert_eq!(cm["data"]["greeting"], "from flux");
}

/// Better than Flux: a release waiting on a revision that will never be
/// ready gives way as soon as a new generation arrives, instead of holding
/// on until its timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_generation_cancels_a_wait_in_progress() {
    let Some(h) = harness(Setup::default()).await else {
        return;
    };
    let ns = "cancel";
    h.publish(&[chart("demo", "1.0.0"), failing_chart()]);
    h.namespace_with_repo(ns).await;
    h.helm_release(release(ns, "web", "demo", "1.0.0", json!({})))
        .await;
    h.wait_hr(ns, "web", "installed", ready).await;
    let mut stuck = release(ns, "web", "demo", "2.0.0", json!({}));
    stuck["spec"]["timeout"] = json!("30m");
    h.helm_release(stuck).await;
    // The upgrade is under way once its Deployment exists.
    for _ in 0..600 {
        if h.get("apps/v1", "Deployment", ns, "web-app")
            .await
            .is_some()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        h.get("apps/v1", "Deployment", ns, "web-app")
            .await
            .is_some()
    );
    let mut fixed = release(ns, "web", "demo", "1.0.0", json!({"greeting": "fixed"}));
    fixed["spec"]["timeout"] = json!("30m");
    h.helm_release(fixed).await;
    let hr = h
        .wait_hr(
            ns,
            "web",
            "the fix released long before the 30m timeout",
            |hr| {
                ready(hr)
                    && hr.status.as_ref().is_some_and(|s| {
                        s.history
                            .first()
                            .is_some_and(|x| x.chart_version == "1.0.0" && x.version >= 3)
                    })
            },
        )
        .await;
    assert_eq!(
        hr.status.as_ref().unwrap().upgrade_failures,
        0,
        "a canceled wait is not a failure"
    );
    let cm = h.get("v1", "ConfigMap", ns, "web-cm").await.unwrap();
    assert_eq!(cm["data"]["greeting"], "fixed");
    assert!(
        h.get("apps/v1", "Deployment", ns, "web-app")
            .await
            .is_none()
    );
}

/// Better than Flux: with one work slot (`--concurrent 1`), a release
/// waiting for a rollout that never comes does not keep another from
/// being installed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_release_does_not_hold_up_the_others() {
    let Some(h) = harness(Setup {
        concurrency: Some(1),
        ..Setup::default()
    })
    .await
    else {
        return;
    };
    let ns = "slots";
    h.publish(&[chart("demo", "1.0.0"), failing_chart()]);
    h.namespace_with_repo(ns).await;
    let mut slow = release(ns, "slow", "demo", "2.0.0", json!({}));
    slow["spec"]["timeout"] = json!("30m");
    h.helm_release(slow).await;
    for _ in 0..600 {
        if h.get("apps/v1", "Deployment", ns, "slow-app")
            .await
            .is_some()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        h.get("apps/v1", "Deployment", ns, "slow-app")
            .await
            .is_some()
    );
    h.helm_release(release(ns, "quick", "demo", "1.0.0", json!({})))
        .await;
    h.wait_hr(ns, "quick", "installed while the other waits", ready)
        .await;
    let slow = h.releases(ns).get("slow").await.unwrap();
    assert!(!ready(&slow), "the slow one is still waiting");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renamed_chart_is_reinstalled() {
    let Some(h) = harness(Setup::default()).await else {
        return;
    };
    let ns = "rename";
    h.publish(&[chart("demo", "1.0.0"), chart("other", "1.0.0")]);
    h.namespace_with_repo(ns).await;
    h.helm_release(release(ns, "web", "demo", "1.0.0", json!({})))
        .await;
    h.wait_hr(ns, "web", "installed", ready).await;
    h.helm_release(release(ns, "web", "other", "1.0.0", json!({})))
        .await;
    let hr = h
        .wait_hr(ns, "web", "reinstalled", |hr| {
            ready(hr)
                && hr
                    .status
                    .as_ref()
                    .is_some_and(|s| s.history.first().is_some_and(|x| x.chart_name == "other"))
        })
        .await;
    assert_eq!(
        hr.status.as_ref().unwrap().history[0].version,
        1,
        "a new release, not an upgrade"
    );
    let results = h.sdk(ns, json!([{"op": "history", "name": "web"}])).await;
    assert_eq!(
        statuses(ok(&results, 0, "history")),
        vec![(1, "deployed".to_string())]
    );
}
