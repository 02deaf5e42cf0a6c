//! A Kustomization following its Git repository: commits that add, change
//! and remove objects; the change set in events; no writes when nothing changed.

use std::time::Duration;

use serde_json::json;

use crate::support::{Setup, harness, ks, ready};

const CONFIG: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: apps\ndata:\n  color: blue\n";
const OLD: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: legacy\n  namespace: apps\ndata:\n  x: \"1\"\n";
const NS: &str = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: apps\n";

#[tokio::test]
async fn commits_add_change_and_remove_objects() {
    let h = harness(Setup::default()).await;
    let repo = h.repo("app");
    repo.write("deploy/ns.yaml", NS).unwrap();
    repo.write("deploy/settings.yaml", CONFIG).unwrap();
    repo.write("deploy/legacy.yaml", OLD).unwrap();
    repo.write(
        "deploy/kustomization.yaml",
        "resources: [ns.yaml, settings.yaml, legacy.yaml]\n",
    )
    .unwrap();
    let first = repo.commit("first").unwrap();
    h.git_repository("flux-system", "app", "app", "1h").await;
    h.kustomization(ks("flux-system", "app", "app", "./deploy", json!({})))
        .await;
    let k = h.wait_applied("flux-system", "app", &first).await;
    let status = k.status.unwrap();
    assert_eq!(status.last_attempted_revision, status.last_applied_revision);
    let ids: Vec<String> = status
        .inventory
        .unwrap()
        .entries
        .iter()
        .map(|e| e.id.clone())
        .collect();
    assert_eq!(
        ids,
        [
            "_apps__Namespace",
            "apps_legacy__ConfigMap",
            "apps_settings__ConfigMap"
        ]
    );
    let cm = h.get("v1", "ConfigMap", "apps", "settings").await.unwrap();
    assert_eq!(cm["data"]["color"], "blue");
    assert_eq!(
        cm["metadata"]["labels"]["kustomize.toolkit.fluxcd.io/name"],
        "app"
    );
    assert_eq!(
        cm["metadata"]["labels"]["kustomize.toolkit.fluxcd.io/namespace"],
        "flux-system"
    );
    let created = h.events_for("Kustomization", "app");
    let change_event = created
        .iter()
        .find(|e| e.message.contains("ConfigMap/apps/settings created"))
        .unwrap_or_else(|| panic!("no change-set event: {created:#?}"));
    assert!(
        change_event.message.contains("Namespace/apps created"),
        "{}",
        change_event.message
    );
    assert_eq!(
        change_event
            .metadata
            .get("kustomize.toolkit.fluxcd.io/revision")
            .map(String::as_str),
        Some(format!("main@sha1:{first}").as_str())
    );

    // Second commit: one changed, one added, one removed.
    repo.write("deploy/settings.yaml", &CONFIG.replace("blue", "green"))
        .unwrap();
    repo.remove("deploy/legacy.yaml").unwrap();
    repo.write(
        "deploy/extra.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: extra\n  namespace: apps\nstringData:\n  token: t\n",
    )
    .unwrap();
    repo.write(
        "deploy/kustomization.yaml",
        "resources: [ns.yaml, settings.yaml, extra.yaml]\n",
    )
    .unwrap();
    let second = repo.commit("second").unwrap();
    let sources: kube::Api<ferroflux_api::source::v1::GitRepository> =
        kube::Api::namespaced(h.client.clone(), "flux-system");
    h.request(&sources, "app", "push-1").await;
    h.wait_applied("flux-system", "app", &second).await;
    assert_eq!(
        h.get("v1", "ConfigMap", "apps", "settings").await.unwrap()["data"]["color"],
        "green"
    );
    assert!(h.get("v1", "Secret", "apps", "extra").await.is_some());
    assert!(
        h.get("v1", "ConfigMap", "apps", "legacy").await.is_none(),
        "legacy was not pruned"
    );
    let events = h.events_for("Kustomization", "app");
    let change = events
        .iter()
        .find(|e| e.message.contains("ConfigMap/apps/legacy deleted"))
        .unwrap_or_else(|| panic!("no prune event: {events:#?}"));
    let lines: Vec<&str> = change.message.lines().collect();
    assert!(
        lines.contains(&"ConfigMap/apps/settings configured"),
        "{lines:?}"
    );
    assert!(lines.contains(&"Secret/apps/extra created"), "{lines:?}");
    assert!(!change.message.contains("unchanged"), "{}", change.message);
}

#[tokio::test]
async fn a_no_op_reconcile_writes_nothing() {
    let h = harness(Setup::default()).await;
    let repo = h.repo("app");
    repo.write("ns.yaml", NS).unwrap();
    repo.write("settings.yaml", CONFIG).unwrap();
    let commit = repo.commit("first").unwrap();
    h.git_repository("flux-system", "app", "app", "1h").await;
    h.kustomization(ks(
        "flux-system",
        "app",
        "app",
        "./",
        json!({"interval": "1s"}),
    ))
    .await;
    h.wait_applied("flux-system", "app", &commit).await;
    // Let the first reconciles settle, then count writes over several more.
    let settled = h.reconciles("flux-system", "app") + 1;
    while h.reconciles("flux-system", "app") < settled {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let before = h.writes();
    let start = h.reconciles("flux-system", "app");
    while h.reconciles("flux-system", "app") < start + 3 {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(h.writes(), before, "idle reconciles wrote to the cluster");
    let k = h.kustomizations("flux-system").get("app").await.unwrap();
    assert!(ready(&k));
}
