//! The everyday loop: Flux objects written as YAML land, a push plus a
//! signed GitHub webhook is applied at once (not at the 1h interval), what
//! Git no longer has is pruned, notifications carry the change set, and an
//! unsigned call does nothing.

use crate::support::{E2e, Kind, TOKEN};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flux_objects_from_yaml_land_and_follow_git() {
    let e2e = E2e::start().await;
    let mut app = e2e.install_app().await;
    let first = app.commit.clone();
    e2e.assert_app(&app, "hello", &[]).await;

    // Change `config`, add `extra`, remove `old`.
    let second = e2e.change_app(&mut app, "hello again", &["extra"]);

    // A call signed with another token: 401, and nothing is asked of the
    // GitRepository (the annotation is the only way a Receiver acts).
    let forged = E2e::sign("not-the-token", &push_body(&app.url));
    let code = e2e
        .post_push(&app.hook, &push_body(&app.url), &forged)
        .await;
    assert_eq!(code, 401, "a webhook with a bad signature");
    let code = e2e.post_push(&app.hook, &push_body(&app.url), "").await;
    assert_eq!(code, 401, "a webhook without a signature");
    let repo = e2e
        .get(Kind::GitRepository, "flux-system", "app")
        .await
        .expect("GitRepository");
    assert!(
        repo["metadata"]["annotations"]["reconcile.fluxcd.io/requestedAt"].is_null(),
        "a refused webhook annotated the GitRepository: {:#}",
        repo["metadata"]
    );
    assert!(
        repo["status"]["artifact"]["revision"]
            .as_str()
            .is_some_and(|r| r.ends_with(&first)),
        "the GitRepository moved without a webhook: {:#}",
        repo["status"]
    );

    // The signed call: 200, the GitRepository is annotated, the commit applied.
    assert_eq!(e2e.github_push(&app.hook, TOKEN, &app.url).await, 200);
    let repo = e2e
        .get(Kind::GitRepository, "flux-system", "app")
        .await
        .expect("GitRepository");
    assert!(
        repo["metadata"]["annotations"]["reconcile.fluxcd.io/requestedAt"].is_string(),
        "the webhook did not annotate the GitRepository: {:#}",
        repo["metadata"]
    );
    let requested = repo["metadata"]["annotations"]["reconcile.fluxcd.io/requestedAt"].clone();
    e2e.assert_app(&app, "hello again", &["old"]).await;
    let repo = e2e
        .get(Kind::GitRepository, "flux-system", "app")
        .await
        .expect("GitRepository");
    assert_eq!(
        repo["status"]["lastHandledReconcileAt"], requested,
        "source-controller did not record the webhook's request"
    );

    // Notifications for the new commit reach the sink: the source's new
    // artifact and the Kustomization's change set.
    let sink = &e2e.sink;
    e2e.wait(
        "a GitRepository notification for the new commit",
        || async {
            let got = sink.for_commit("GitRepository", &second);
            if got.is_empty() {
                Err(sink.summary())
            } else {
                Ok(())
            }
        },
    )
    .await;
    let changes = e2e
        .wait(
            "the change set of the new commit in a notification",
            || async {
                let text: String = sink
                    .for_commit("Kustomization", &second)
                    .iter()
                    .filter_map(|e| e["message"].as_str().map(str::to_string))
                    .collect::<Vec<_>>()
                    .join("\n");
                let all = [
                    "ConfigMap/demo/config configured",
                    "ConfigMap/demo/extra created",
                    "ConfigMap/demo/old deleted",
                ];
                if all.iter().all(|l| text.contains(l)) {
                    Ok(text)
                } else {
                    Err(sink.summary())
                }
            },
        )
        .await;
    assert!(
        !changes.contains("Deployment/demo/web") && !changes.contains("Service/demo/web"),
        "unchanged objects reported as changed:\n{changes}"
    );
    for e in sink.for_commit("Kustomization", &second) {
        assert_eq!(e["reportingController"], "kustomize-controller", "{e:#}");
        assert_eq!(e["involvedObject"]["name"], "app", "{e:#}");
        assert_eq!(e["severity"], "info", "{e:#}");
    }
}

/// A GitHub push payload for `url`.
pub fn push_body(url: &str) -> String {
    serde_json::json!({"ref": "refs/heads/main", "repository": {"clone_url": url}}).to_string()
}
