//! Hostile inputs: notification. A flood of large events aimed at Providers
//! that never answer must not grow notification-controller without bound,
//! deleting those Providers must drop their queues and stop their
//! deliveries, and a flood about many objects must not shut out an event
//! about another one.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use ferroflux_cli::stack::Component;
use futures::StreamExt;
use serde_json::json;

use crate::support::{E2e, Kind, Sink, post, ready};

const NC: Component = Component::NotificationController;
const MIB: u64 = 1 << 20;

/// A TCP peer that accepts connections and never answers; counts the
/// connections accepted and those still open.
struct Silent {
    url: String,
    accepted: Arc<AtomicUsize>,
    open: Arc<AtomicUsize>,
}

impl Silent {
    async fn start() -> Self {
        use tokio::io::AsyncReadExt;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let addr = listener.local_addr().expect("address");
        let accepted = Arc::new(AtomicUsize::new(0));
        let open = Arc::new(AtomicUsize::new(0));
        let (a, o) = (accepted.clone(), open.clone());
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                a.fetch_add(1, Ordering::SeqCst);
                o.fetch_add(1, Ordering::SeqCst);
                let o = o.clone();
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 256 * 1024];
                    while matches!(socket.read(&mut buf).await, Ok(n) if n > 0) {}
                    o.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
        Self {
            url: format!("http://{addr}/"),
            accepted,
            open,
        }
    }
}

fn event(name: &str, message: &str) -> String {
    json!({
        "involvedObject": {"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
            "namespace": "flux-system", "name": name},
        "severity": "info",
        "timestamp": "2026-12-04T10:00:00Z",
        "message": message,
        "reason": "NewArtifact",
        "metadata": {"source.toolkit.fluxcd.io/revision": "main@sha1:731f7eaddfb6af01cb2173e18f0f75b0ba780ef1"},
        "reportingController": "source-controller"
    })
    .to_string()
}

/// A `generic` Provider `name` sending to `address` (with a timeout long
/// enough that a silent peer holds deliveries for the whole test) and an
/// Alert for every GitRepository event.
fn provider_and_alert(name: &str, address: &str) -> String {
    format!(
        r#"apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Provider
metadata:
  name: {name}
  namespace: flux-system
spec:
  type: generic
  address: {address}
  timeout: 10m
---
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Alert
metadata:
  name: {name}
  namespace: flux-system
spec:
  providerRef:
    name: {name}
  eventSeverity: info
  eventSources:
  - kind: GitRepository
    name: '*'
---
"#
    )
}

/// `VmRSS` and `VmHWM` (peak) of a process, in bytes.
fn rss(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
            * 1024
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// The value of the sample `series` (name and labels, as rendered).
fn sample(text: &str, series: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

impl E2e {
    async fn nc_metric(&self, series: &str) -> u64 {
        let text = self.stack.metrics(NC).await.unwrap_or_default();
        sample(&text, series).unwrap_or_else(|| panic!("no {series} in\n{text}"))
    }

    async fn wait_ready_objects(&self, names: &[&str]) {
        for name in names {
            for kind in [Kind::Provider, Kind::Alert] {
                self.wait(&format!("{kind:?} flux-system/{name} Ready"), || async {
                    match self.get(kind, "flux-system", name).await {
                        Some(o) if ready(&o) => Ok(()),
                        other => Err(format!("{:#}", other.unwrap_or_default()["status"])),
                    }
                })
                .await;
            }
        }
    }

    fn events_url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.stack.ports.events)
    }
}

const DELIVERY_BYTES: &str = "ferroflux_notification_queued_bytes{queue=\"delivery\"}";

#[tokio::test]
async fn large_events_to_silent_providers_stay_bounded_and_die_with_the_providers() {
    // The issue's load, smaller: 3 MB events (intake raised to 3 MiB to
    // take them; the default, 1 MiB, refuses them outright) to two
    // Providers that never answer, with the default queue limits (8 MiB per
    // Provider, 32 MiB in total).
    let e2e = E2e::start_with(|mut o| {
        o.extra_args
            .insert(NC, vec!["--max-event-bytes=3MiB".to_string()]);
        o
    })
    .await;
    let silent = Silent::start().await;
    let mut yaml = String::new();
    for name in ["silent-a", "silent-b"] {
        yaml.push_str(&provider_and_alert(name, &silent.url));
    }
    e2e.apply(&yaml).await;
    e2e.wait_ready_objects(&["silent-a", "silent-b"]).await;
    let pid = e2e.stack.pid(NC).expect("notification-controller runs");
    let (before, _) = rss(pid);

    let url = e2e.events_url();
    let padding = "x".repeat(3_000_000);
    let codes: Vec<u16> = futures::stream::iter(0..40)
        .map(|i| {
            let body = event(&format!("repo-{i}"), &format!("{i} {padding}"));
            let url = url.clone();
            async move { post(&url, &[("Content-Type", "application/json")], &body).await }
        })
        .buffer_unordered(2)
        .collect()
        .await;
    let accepted = codes.iter().filter(|c| **c == 202).count();
    // Memory first: every 3 MB event reaches both lanes, and a lane holds
    // at most 8 MiB (about two of them) whatever arrives.
    let (now, peak) = rss(pid);
    eprintln!(
        "notification-controller RSS {} MiB before, {} MiB after {accepted} events of 3 MB, peak {} MiB",
        before / MIB,
        now / MIB,
        peak / MIB
    );
    assert!(
        peak < 128 * MIB,
        "peak RSS {} MiB (before the flood {} MiB)",
        peak / MIB,
        before / MIB
    );
    assert!(
        codes.iter().all(|c| *c == 202 || *c == 503),
        "intake answers 202, or 503 while its bytes are full: {codes:?}"
    );
    assert!(accepted >= 10, "{accepted} of 40 accepted: {codes:?}");
    // Over the limit: 413 with a reason.
    let too_big = event("repo-big", &"y".repeat(3_200_000));
    assert_eq!(post(&url, &[], &too_big).await, 413);
    assert_eq!(
        e2e.nc_metric("ferroflux_notification_events_total{outcome=\"too_large\"}")
            .await,
        1
    );

    // Every accepted event is matched (two notifications each); what did
    // not fit was dropped and counted.
    e2e.wait("drops counted for the full lanes", || async {
        let dropped = e2e
            .nc_metric("ferroflux_notification_dropped_total{reason=\"provider_queue_full\"}")
            .await;
        let queued = e2e.nc_metric(DELIVERY_BYTES).await;
        if dropped > 0 && queued > 0 {
            Ok(())
        } else {
            Err(format!("dropped {dropped}, delivery bytes {queued}"))
        }
    })
    .await;
    let queued = e2e.nc_metric(DELIVERY_BYTES).await;
    assert!(queued <= 16 * MIB, "two lanes of 8 MiB hold {queued} bytes");
    assert!(
        silent.accepted.load(Ordering::SeqCst) > 0,
        "deliveries are in flight"
    );
    let (_, peak) = rss(pid);
    assert!(
        peak < 128 * MIB,
        "peak RSS {} MiB after matching",
        peak / MIB
    );

    // Deleting the Providers drops their queues and stops their deliveries.
    let (ok, out, err) = e2e
        .kubectl(
            &[
                "delete",
                "-n",
                "flux-system",
                "providers.notification.toolkit.fluxcd.io",
                "silent-a",
                "silent-b",
            ],
            None,
        )
        .await;
    assert!(ok, "kubectl delete: {out}\n{err}");
    e2e.wait("the deleted Providers' queues gone", || async {
        let queued = e2e.nc_metric(DELIVERY_BYTES).await;
        let deleted = e2e
            .nc_metric("ferroflux_notification_dropped_total{reason=\"provider_deleted\"}")
            .await;
        let open = silent.open.load(Ordering::SeqCst);
        if queued == 0 && deleted > 0 && open == 0 {
            Ok(())
        } else {
            Err(format!(
                "delivery bytes {queued}, dropped as deleted {deleted}, connections still open {open}"
            ))
        }
    })
    .await;
    let connections = silent.accepted.load(Ordering::SeqCst);
    // Nothing is left to send: a fresh event finds no Alert and no lane.
    assert_eq!(
        post(&url, &[], &event("repo-after", "after the deletion")).await,
        202
    );
    e2e.wait("the last event matched", || async {
        let text = e2e.stack.metrics(NC).await.unwrap_or_default();
        match sample(&text, DELIVERY_BYTES) {
            Some(0) => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    assert_eq!(
        silent.accepted.load(Ordering::SeqCst),
        connections,
        "no delivery to a deleted Provider starts"
    );
}

#[tokio::test]
async fn a_real_event_after_a_flood_about_other_objects_is_delivered() {
    // A lane of 50 (instead of 1,000) keeps the flood small; the Provider's
    // service holds every answer until the flood is over.
    let e2e = E2e::start_with(|mut o| {
        o.extra_args
            .insert(NC, vec!["--provider-queue-size=50".to_string()]);
        o
    })
    .await;
    // Holds every answer until `open`.
    let (sink, _gate) = Sink::gated().await;
    e2e.apply(&provider_and_alert("gated", &sink.url)).await;
    e2e.wait_ready_objects(&["gated"]).await;

    let url = e2e.events_url();
    let codes: Vec<u16> = futures::stream::iter(0..300)
        .map(|i| {
            let body = event(&format!("flood-{i}"), &format!("stored artifact {i}"));
            let url = url.clone();
            async move { post(&url, &[], &body).await }
        })
        .buffer_unordered(8)
        .collect()
        .await;
    assert!(codes.iter().all(|c| *c == 202), "{codes:?}");
    let flood_dropped = e2e.wait("the flood matched and queued", || async {
        let text = e2e.stack.metrics(NC).await.unwrap_or_default();
        let accepted = sample(&text, "ferroflux_notification_events_total{outcome=\"accepted\"}");
        let displaced = sample(&text, "ferroflux_notification_dropped_total{reason=\"displaced\"}");
        let delivery = sample(&text, "ferroflux_notification_deliveries_total{provider_type=\"generic\",outcome=\"dropped\"}");
        // 300 notifications: at most 4 in flight and 50 waiting, the rest dropped.
        let in_flight = sink.names().len();
        match (accepted, delivery) {
            (Some(300), Some(d)) if d >= 245 && in_flight == 4 => Ok(d),
            other => Err(format!("{other:?} displaced {displaced:?}, {in_flight} in flight")),
        }
    })
    .await;

    // The real event, about an object that has nothing waiting.
    assert_eq!(
        post(
            &url,
            &[],
            &event("app", "stored artifact for the real commit")
        )
        .await,
        202
    );
    e2e.wait("the real event matched", || async {
        let text = e2e.stack.metrics(NC).await.unwrap_or_default();
        match sample(
            &text,
            "ferroflux_notification_events_total{outcome=\"accepted\"}",
        ) {
            Some(301) => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    // Matched is not yet queued: wait until the lane's count says so (one
    // more dropped: the real event, or the flood entry it displaced).
    e2e.wait("the real event handled by its lane", || async {
        let text = e2e.stack.metrics(NC).await.unwrap_or_default();
        let dropped = sample(&text, "ferroflux_notification_deliveries_total{provider_type=\"generic\",outcome=\"dropped\"}").unwrap_or(0);
        if dropped > flood_dropped {
            Ok(())
        } else {
            Err(format!("dropped {dropped}"))
        }
    })
    .await;
    sink.open();
    e2e.wait("the real event delivered", || async {
        let names = sink.names();
        if names.iter().any(|n| n == "app") {
            Ok(())
        } else {
            Err(format!("{} received, last {:?}", names.len(), names.last()))
        }
    })
    .await;
}
