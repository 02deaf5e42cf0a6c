//! A slow or failing sink holds up nobody else, and failures show on the
//! objects without secrets.

use ferroflux_api::conditions;
use ferroflux_api::notification::v1beta3::{Alert, Provider};
use serde_json::json;

use crate::sink::Sink;
use crate::{Env, event, wait_ready};

async fn provider_and_alert(
    env: &Env,
    ns: &str,
    name: &str,
    spec: serde_json::Value,
    source: &str,
) {
    env.create::<Provider>(ns, json!({"metadata": {"name": name}, "spec": spec}))
        .await;
    env.create::<Alert>(ns, json!({
        "metadata": {"name": name},
        "spec": {"providerRef": {"name": name}, "eventSources": [{"kind": "GitRepository", "name": source}]}
    }))
    .await;
    wait_ready::<Alert>(&env.client, ns, name, "True").await;
}

#[tokio::test]
async fn a_slow_sink_delays_neither_other_providers_nor_intake() {
    let ns = "flux-system";
    let env = Env::start(&[ns]).await;
    let (slow, gate) = Sink::gated().await;
    let fast = Sink::start().await;
    provider_and_alert(
        &env,
        ns,
        "slow",
        json!({"type": "generic", "address": slow.url, "timeout": "2m"}),
        "*",
    )
    .await;
    provider_and_alert(
        &env,
        ns,
        "fast",
        json!({"type": "slack", "address": fast.url}),
        "*",
    )
    .await;

    // The slow sink holds every answer until the gate opens, so ordering
    // (not timing) shows independence: were deliveries serialised, the
    // fast sink would never hear anything.
    for (i, message) in ["first", "second", "third"].into_iter().enumerate() {
        let (code, _) = env
            .post_event(&event("GitRepository", ns, "podinfo", "info", message))
            .await;
        assert_eq!(code, 202, "intake answers while the slow sink is stuck");
        fast.wait_for(i + 1).await;
    }
    slow.wait_for(1).await;
    assert_eq!(
        slow.answered(),
        0,
        "the slow sink is still holding its answers"
    );
    assert!(!env.controller.stats().is_settled());

    gate.add_permits(100);
    env.settle().await;
    assert_eq!(slow.received().len(), 3);
    assert_eq!(slow.answered(), 3);
    assert_eq!(fast.received().len(), 3);
}

#[tokio::test]
async fn failures_surface_on_provider_and_alert_without_secrets() {
    let ns = "flux-system";
    let env = Env::start(&[ns]).await;
    // A port nobody listens on: bind one, then let it go.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port");
    env.secret(
        ns,
        "down",
        &[(
            "address",
            format!("http://flux:pa55w0rd@127.0.0.1:{port}/hooks/s3cretpath?token=qu3ryt0ken")
                .as_str(),
        )],
    )
    .await;
    provider_and_alert(
        &env,
        ns,
        "down",
        json!({"type": "discord", "secretRef": {"name": "down"}}),
        "*",
    )
    .await;
    let up = Sink::start().await;
    provider_and_alert(
        &env,
        ns,
        "up",
        json!({"type": "generic", "address": up.url}),
        "*",
    )
    .await;

    assert_eq!(
        env.post_event(&event("GitRepository", ns, "podinfo", "error", "boom"))
            .await
            .0,
        202
    );
    up.wait_for(1).await;
    env.settle().await;

    let provider: Provider = wait_ready(&env.client, ns, "down", "False").await;
    let ready = conditions::get(
        ferroflux_api::conditions::ObjectWithConditions::conditions(&provider),
        "Ready",
    )
    .expect("Ready")
    .clone();
    assert_eq!(ready.reason, "NotificationDispatchFailed");
    assert!(
        ready.message.contains("GitRepository/flux-system/podinfo"),
        "{}",
        ready.message
    );
    assert!(
        ready.message.contains(&format!("127.0.0.1:{port}")),
        "{}",
        ready.message
    );
    for secret in ["pa55w0rd", "s3cretpath", "qu3ryt0ken"] {
        assert!(
            !ready.message.contains(secret),
            "secret {secret} leaked: {}",
            ready.message
        );
    }
    let alert: Alert = wait_ready(&env.client, ns, "down", "False").await;
    let alert_ready = conditions::get(
        ferroflux_api::conditions::ObjectWithConditions::conditions(&alert),
        "Ready",
    )
    .expect("Ready");
    assert_eq!(alert_ready.message, ready.message);
    // The healthy Provider is untouched.
    wait_ready::<Provider>(&env.client, ns, "up", "True").await;
}

#[tokio::test]
async fn slack_bot_api_errors_are_reported_and_success_heals() {
    let ns = "flux-system";
    let env = Env::start(&[ns]).await;
    let refusing = Sink::answering(200, r#"{"ok":false,"error":"channel_not_found"}"#).await;
    env.secret(ns, "bot", &[("token", "xoxb-very-secret")])
        .await;
    provider_and_alert(
        &env,
        ns,
        "bot",
        json!({"type": "slack", "channel": "nope", "address": format!("{}/api/chat.postMessage", refusing.url), "secretRef": {"name": "bot"}}),
        "podinfo",
    )
    .await;
    assert_eq!(
        env.post_event(&event("GitRepository", ns, "podinfo", "info", "one"))
            .await
            .0,
        202
    );
    let got = refusing.wait_for(1).await;
    assert_eq!(
        got[0].header("authorization").as_deref(),
        Some("Bearer xoxb-very-secret")
    );
    assert_eq!(got[0].json()["channel"], "nope");
    let provider: Provider = wait_ready(&env.client, ns, "bot", "False").await;
    let message = conditions::get(
        ferroflux_api::conditions::ObjectWithConditions::conditions(&provider),
        "Ready",
    )
    .map(|c| c.message.clone())
    .unwrap_or_default();
    assert!(message.contains("channel_not_found"), "{message}");
    assert!(!message.contains("xoxb-very-secret"), "{message}");

    // The service starts accepting: the next delivery heals both objects,
    // with no spec change involved.
    refusing.answer(200, r#"{"ok":true}"#);
    assert_eq!(
        env.post_event(&event("GitRepository", ns, "podinfo", "info", "two"))
            .await
            .0,
        202
    );
    refusing.wait_for(2).await;
    env.settle().await;
    wait_ready::<Provider>(&env.client, ns, "bot", "True").await;
    wait_ready::<Alert>(&env.client, ns, "bot", "True").await;
}
