//! The controller's counters on the shared `/metrics` registry.

use ferroflux_api::notification::v1beta3::{Alert, Provider};
use ferroflux_runtime::metrics::Metrics;
use serde_json::json;

use crate::sink::Sink;
use crate::{Env, event, wait_ready};

/// The value of the sample `series` (name and labels, as rendered).
fn sample(text: &str, series: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test]
async fn intake_and_delivery_counters_are_exposed() {
    let ns = "flux-system";
    let metrics = Metrics::new();
    let served = metrics.clone();
    let env = Env::start_with(&[ns], |o| o.metrics = Some(metrics)).await;
    let up = Sink::start().await;
    let down = Sink::answering(500, "unavailable").await;
    env.secret(ns, "hmac", &[("token", "k3y")]).await;
    for (name, spec) in [
        ("up", json!({"type": "slack", "address": up.url})),
        (
            "down",
            json!({"type": "generic-hmac", "address": down.url, "secretRef": {"name": "hmac"}}),
        ),
    ] {
        env.create::<Provider>(ns, json!({"metadata": {"name": name}, "spec": spec}))
            .await;
        env.create::<Alert>(ns, json!({
            "metadata": {"name": name},
            "spec": {"providerRef": {"name": name}, "eventSources": [{"kind": "GitRepository", "name": "*"}]}
        }))
        .await;
    }
    wait_ready::<Alert>(&env.client, ns, "up", "True").await;
    wait_ready::<Alert>(&env.client, ns, "down", "True").await;
    wait_ready::<Provider>(&env.client, ns, "down", "True").await;

    let first = event("GitRepository", ns, "podinfo", "info", "stored artifact");
    let second = event("GitRepository", ns, "podinfo", "info", "another artifact");
    assert_eq!(env.post_event(&first).await.0, 202);
    assert_eq!(env.post_event(&first).await.0, 429, "a duplicate");
    assert_eq!(env.post_event(&second).await.0, 202);
    let mut bad = first.clone();
    bad["severity"] = json!("fatal");
    assert_eq!(env.post_event(&bad).await.0, 400);
    up.wait_for(2).await;
    env.settle().await;

    let text = served.render();
    let expect = [
        (
            "ferroflux_notification_events_total{outcome=\"accepted\"}",
            2,
        ),
        (
            "ferroflux_notification_events_total{outcome=\"duplicate\"}",
            1,
        ),
        (
            "ferroflux_notification_events_total{outcome=\"invalid\"}",
            1,
        ),
        (
            "ferroflux_notification_events_total{outcome=\"rate_limited\"}",
            0,
        ),
        (
            "ferroflux_notification_events_total{outcome=\"dropped\"}",
            0,
        ),
        (
            "ferroflux_notification_deliveries_total{provider_type=\"slack\",outcome=\"delivered\"}",
            2,
        ),
        (
            "ferroflux_notification_deliveries_total{provider_type=\"generic-hmac\",outcome=\"failed\"}",
            2,
        ),
        // Two events, each retried twice (the test's retry policy) before giving up.
        (
            "ferroflux_notification_delivery_retries_total{provider_type=\"generic-hmac\"}",
            4,
        ),
    ];
    for (series, value) in expect {
        assert_eq!(sample(&text, series), Some(value), "{series} in\n{text}");
    }
    // No series for outcomes that never happened, and no object names or
    // addresses in any label.
    assert_eq!(
        sample(
            &text,
            "ferroflux_notification_deliveries_total{provider_type=\"slack\",outcome=\"failed\"}"
        ),
        None
    );
    for line in text
        .lines()
        .filter(|l| l.starts_with("ferroflux_notification_"))
    {
        assert!(
            !line.contains("podinfo") && !line.contains("127.0.0.1") && !line.contains(ns),
            "{line}"
        );
    }
    // The runtime's own metrics share the endpoint.
    assert!(text.contains("ferroflux_reconciles_in_flight"), "{text}");
}
