//! `--watch-all-namespaces=false`: only the runtime namespace's Alerts,
//! Providers and Receivers are acted on.

use ferroflux_api::notification::v1::Receiver;
use ferroflux_api::notification::v1beta3::{Alert, Provider};
use kube::Api;
use serde_json::json;

use crate::sink::Sink;
use crate::{Env, event, wait_ready};

#[tokio::test]
async fn only_the_watched_namespace_is_served() {
    let env = Env::start_with(&["watched", "other"], |o| {
        o.watch_namespace = Some("watched".to_string());
    })
    .await;
    let sink = Sink::start().await;
    for ns in ["watched", "other"] {
        env.create::<Provider>(
            ns,
            json!({"metadata": {"name": "hook"}, "spec": {"type": "generic", "address": sink.url}}),
        )
        .await;
        env.create::<Alert>(
            ns,
            json!({"metadata": {"name": "hook"},
                   "spec": {"providerRef": {"name": "hook"}, "eventSources": [{"kind": "GitRepository", "name": "*"}]}}),
        )
        .await;
        env.secret(ns, "token", &[("token", "t0ken")]).await;
        env.create::<Receiver>(
            ns,
            json!({"metadata": {"name": "hook"},
                   "spec": {"type": "generic", "secretRef": {"name": "token"},
                            "resources": [{"kind": "GitRepository", "name": "x"}]}}),
        )
        .await;
    }
    wait_ready::<Alert>(&env.client, "watched", "hook", "True").await;
    wait_ready::<Receiver>(&env.client, "watched", "hook", "True").await;

    for ns in ["other", "watched"] {
        let (code, _) = env
            .post_event(&event(
                "GitRepository",
                ns,
                "podinfo",
                "info",
                &format!("from {ns}"),
            ))
            .await;
        assert_eq!(code, 202);
    }
    env.settle().await;
    let got = sink.wait_for(1).await;
    assert_eq!(got.len(), 1, "only the watched namespace's Alert delivers");
    assert_eq!(got[0].json()["involvedObject"]["namespace"], "watched");

    // Objects elsewhere are never reconciled: no status at all.
    let alert = Api::<Alert>::namespaced(env.client.clone(), "other")
        .get("hook")
        .await
        .expect("alert");
    assert!(alert.status.is_none(), "{:?}", alert.status);
    let receiver = Api::<Receiver>::namespaced(env.client.clone(), "other")
        .get("hook")
        .await
        .expect("receiver");
    // (The CRD defaults `status.observedGeneration` to -1.)
    assert!(
        receiver
            .status
            .as_ref()
            .is_none_or(|s| s.conditions.is_empty() && s.webhook_path.is_none()),
        "{:?}",
        receiver.status
    );
}
