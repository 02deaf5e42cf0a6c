//! Waits that are not failures: a source that has not published its
//! artifact yet, woken by the source watch.

use ferroflux_api::conditions::{self, ObjectWithConditions};
use ferroflux_api::event::Severity;
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
