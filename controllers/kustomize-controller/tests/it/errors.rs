//! A bad revision fails with a message naming what is wrong, and what the
//! previous revision applied stays as it was.

use ferroflux_api::source::v1::GitRepository;
use kube::Api;
use serde_json::json;

use crate::support::{Harness, Setup, harness, ks, not_ready_with};

const GOOD: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: default\ndata:\n  color: blue\n";

/// A repository whose first commit applied a ConfigMap; returns the harness and repo.
async fn applied() -> (Harness, ferroflux_testsupport::git::GitRepo) {
    let h = harness(Setup::default()).await;
    let repo = h.repo("app");
    repo.write("app/settings.yaml", GOOD).unwrap();
    repo.write("app/kustomization.yaml", "resources: [settings.yaml]\n")
        .unwrap();
    let first = repo.commit("good").unwrap();
    h.git_repository("flux-system", "app", "app", "1h").await;
    h.kustomization(ks("flux-system", "app", "app", "./app", json!({})))
        .await;
    h.wait_applied("flux-system", "app", &first).await;
    (h, repo)
}

/// Pushes the repo's state, asks for a fetch, and waits for Ready=False
/// with `needle` in the message; then checks the old object is untouched.
async fn fails_with(
    h: &Harness,
    repo: &ferroflux_testsupport::git::GitRepo,
    token: &str,
    needle: &str,
) {
    let commit = repo.commit(token).unwrap();
    let sources: Api<GitRepository> = Api::namespaced(h.client.clone(), "flux-system");
    h.request(&sources, "app", token).await;
    let k = h
        .wait_ks("flux-system", "app", needle, |k| {
            not_ready_with(k, needle)
                && k.status
                    .as_ref()
                    .and_then(|s| s.last_attempted_revision.as_deref())
                    .is_some_and(|r| r.ends_with(&commit))
        })
        .await;
    let status = k.status.unwrap();
    assert_ne!(
        status.last_applied_revision, status.last_attempted_revision,
        "a failed revision is not 'applied'"
    );
    let cm = h
        .get("v1", "ConfigMap", "default", "settings")
        .await
        .unwrap();
    assert_eq!(
        cm["data"]["color"], "blue",
        "the previous revision's object changed"
    );
    assert!(
        h.get("v1", "ConfigMap", "default", "sneaked-in")
            .await
            .is_none()
    );
}

const SNEAK: &str =
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: sneaked-in\n  namespace: default\n";

#[tokio::test]
async fn broken_yaml_names_the_file() {
    let (h, repo) = applied().await;
    repo.write("app/settings.yaml", &GOOD.replace("blue", "red"))
        .unwrap();
    repo.write(
        "app/broken.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: [oops\n",
    )
    .unwrap();
    repo.write("app/sneak.yaml", SNEAK).unwrap();
    repo.write(
        "app/kustomization.yaml",
        "resources: [settings.yaml, sneak.yaml, broken.yaml]\n",
    )
    .unwrap();
    fails_with(&h, &repo, "broken-yaml", "broken.yaml").await;
}

#[tokio::test]
async fn an_unknown_kustomization_field_is_named() {
    let (h, repo) = applied().await;
    repo.write("app/settings.yaml", &GOOD.replace("blue", "red"))
        .unwrap();
    repo.write(
        "app/kustomization.yaml",
        "resources: [settings.yaml]\nnamePrefx: oops-\n",
    )
    .unwrap();
    fails_with(&h, &repo, "unknown-field", "unknown field \"namePrefx\"").await;
}

#[tokio::test]
async fn a_kind_without_crd_names_the_object() {
    let (h, repo) = applied().await;
    repo.write("app/settings.yaml", &GOOD.replace("blue", "red"))
        .unwrap();
    repo.write("app/sneak.yaml", SNEAK).unwrap();
    repo.write(
        "app/widget.yaml",
        "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n  namespace: default\n",
    )
    .unwrap();
    repo.write(
        "app/kustomization.yaml",
        "resources: [settings.yaml, sneak.yaml, widget.yaml]\n",
    )
    .unwrap();
    fails_with(
        &h,
        &repo,
        "no-crd",
        "Widget/default/w: no matches for kind \"Widget\" in version \"example.com/v1\"",
    )
    .await;
}

#[tokio::test]
async fn a_missing_path_is_named() {
    let (h, _repo) = applied().await;
    h.kustomization(ks("flux-system", "app", "app", "./nowhere", json!({})))
        .await;
    let k = h
        .wait_ks("flux-system", "app", "path not found", |k| {
            not_ready_with(k, "kustomization path not found")
        })
        .await;
    let msg = crate::support::ready_message(&k);
    assert!(msg.contains("nowhere"), "{msg}");
    let cm = h
        .get("v1", "ConfigMap", "default", "settings")
        .await
        .unwrap();
    assert_eq!(cm["data"]["color"], "blue");
    // Nothing was pruned either: the inventory still holds the ConfigMap.
    let ids: Vec<String> = k
        .status
        .unwrap()
        .inventory
        .unwrap()
        .entries
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(ids, ["default_settings__ConfigMap"]);
}
