//! Memory of the real `notification-controller` binary under large events
//! aimed at Providers that never answer (issue 12): two `generic` Providers
//! whose address is a local TCP listener that accepts and never answers,
//! an Alert each for every GitRepository, then EVENTS distinct events of
//! SIZE bytes POSTed by 4 clients. Prints the intake answers, the drop
//! counters, the queued bytes, and the controller's RSS before, at the
//! peak, after the load and after both Providers are deleted.
//!
//! Usage (see `hack/bench/notification-memory`; `KUBECONFIG` points at a
//! running testenv):
//! `memory_bench <controller-binary> <EVENTS> <SIZE> [controller flags...]`

use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use ferroflux_api::notification::v1beta3::{Alert, Provider};
use futures::StreamExt;
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::Api;
use kube::api::{DeleteParams, PostParams};
use serde_json::json;
use tokio::io::AsyncReadExt;

type Error = Box<dyn std::error::Error + Send + Sync>;

const NS: &str = "flux-system";
const PROVIDERS: [&str; 2] = ["silent-a", "silent-b"];

fn free_port() -> Result<SocketAddr, Error> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?)
}

/// `VmRSS` and `VmHWM` of `pid`, in MiB.
fn rss_mib(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
            / 1024.0
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn event(i: usize, size: usize) -> String {
    let head = format!("{i} stored artifact ");
    let message = format!(
        "{head}{}",
        "x".repeat(size.saturating_sub(head.len() + 400))
    );
    json!({
        "involvedObject": {"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
            "namespace": NS, "name": format!("repo-{i}")},
        "severity": "info",
        "timestamp": "2026-12-04T10:00:00Z",
        "message": message,
        "reason": "NewArtifact",
        "metadata": {"source.toolkit.fluxcd.io/revision": "main@sha1:731f7eaddfb6af01cb2173e18f0f75b0ba780ef1"},
        "reportingController": "source-controller"
    })
    .to_string()
}

async fn metric(http: &reqwest::Client, url: &str, series: &str) -> u64 {
    let text = match http.get(url).send().await {
        Ok(r) => r.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    };
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or(0)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: memory_bench <controller-binary> <EVENTS> <SIZE> [controller flags...]";
    let binary = args.next().ok_or(usage)?;
    let events: usize = args.next().ok_or(usage)?.parse()?;
    let size: usize = args.next().ok_or(usage)?.parse()?;
    let flags: Vec<String> = args.collect();
    let _ = rustls::crypto::ring::default_provider().install_default();

    // The silent peer: accepts, reads, never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let silent = listener.local_addr()?;
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

    let client = kube::Client::try_default().await?;
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    for crd in ferroflux_api::crds::all()? {
        match crds.create(&PostParams::default(), &crd).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 409 => {}
            Err(e) => return Err(e.into()),
        }
    }
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": NS}}))?;
    let _ = namespaces.create(&PostParams::default(), &ns).await;
    let providers: Api<Provider> = Api::namespaced(client.clone(), NS);
    let alerts: Api<Alert> = Api::namespaced(client.clone(), NS);
    for name in PROVIDERS {
        let p: Provider = serde_json::from_value(json!({"metadata": {"name": name},
            "spec": {"type": "generic", "address": format!("http://{silent}/"), "timeout": "10m"}}))?;
        providers.create(&PostParams::default(), &p).await?;
        let a: Alert = serde_json::from_value(json!({"metadata": {"name": name},
            "spec": {"providerRef": {"name": name},
                     "eventSources": [{"kind": "GitRepository", "name": "*"}]}}))?;
        alerts.create(&PostParams::default(), &a).await?;
    }

    let events_addr = free_port()?;
    let metrics_addr = free_port()?;
    let mut child = tokio::process::Command::new(&binary)
        .args([
            format!("--events-addr={events_addr}"),
            format!("--receiver-addr={}", free_port()?),
            format!("--metrics-addr={metrics_addr}"),
            format!("--health-addr={}", free_port()?),
            "--log-level=error".to_string(),
        ])
        .args(&flags)
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let pid = child.id().ok_or("the controller exited at once")?;
    let http = reqwest::Client::new();
    let url = format!("http://{events_addr}/");
    let metrics = format!("http://{metrics_addr}/metrics");

    // Warm up: until a small probe reaches both silent Providers.
    let started = Instant::now();
    let mut probe = 0;
    while accepted.load(Ordering::SeqCst) < 2 {
        if started.elapsed() > Duration::from_secs(60) {
            return Err("no probe event reached the Providers within 60 s".into());
        }
        probe += 1;
        let _ = http
            .post(&url)
            .body(event(1_000_000 + probe, 600))
            .send()
            .await;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (idle, _) = rss_mib(pid);

    // The load.
    let t0 = Instant::now();
    let codes: Vec<u16> = futures::stream::iter(0..events)
        .map(|i| {
            let (http, url) = (http.clone(), url.clone());
            async move {
                match http.post(&url).body(event(i, size)).send().await {
                    Ok(r) => r.status().as_u16(),
                    Err(_) => 0,
                }
            }
        })
        .buffer_unordered(4)
        .collect()
        .await;
    let secs = t0.elapsed().as_secs_f64();
    let count = |code: u16| codes.iter().filter(|c| **c == code).count();
    // Until everything accepted is matched.
    let deadline = Instant::now() + Duration::from_secs(60);
    while metric(
        &http,
        &metrics,
        "ferroflux_notification_queued_bytes{queue=\"intake\"}",
    )
    .await
        > 0
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (loaded, peak) = rss_mib(pid);
    let queued = metric(
        &http,
        &metrics,
        "ferroflux_notification_queued_bytes{queue=\"delivery\"}",
    )
    .await;
    let mut drops = Vec::new();
    for reason in ["provider_queue_full", "total_queue_full", "displaced"] {
        let series = format!("ferroflux_notification_dropped_total{{reason=\"{reason}\"}}");
        drops.push(format!(
            "{reason} {}",
            metric(&http, &metrics, &series).await
        ));
    }

    // Delete both Providers: their queues and deliveries must go.
    for name in PROVIDERS {
        providers.delete(name, &DeleteParams::default()).await?;
    }
    let t1 = Instant::now();
    let deadline = t1 + Duration::from_secs(60);
    while (metric(
        &http,
        &metrics,
        "ferroflux_notification_queued_bytes{queue=\"delivery\"}",
    )
    .await
        > 0
        || open.load(Ordering::SeqCst) > 0)
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let gone_secs = t1.elapsed().as_secs_f64();
    let connections = accepted.load(Ordering::SeqCst);
    let after_delete = metric(
        &http,
        &metrics,
        "ferroflux_notification_queued_bytes{queue=\"delivery\"}",
    )
    .await;
    let deleted = metric(
        &http,
        &metrics,
        "ferroflux_notification_dropped_total{reason=\"provider_deleted\"}",
    )
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (after, peak_end) = rss_mib(pid);
    let new_connections = accepted.load(Ordering::SeqCst) - connections;
    let _ = child.kill().await;

    println!(
        "controller flags: {}",
        if flags.is_empty() {
            "(defaults)".to_string()
        } else {
            flags.join(" ")
        }
    );
    println!(
        "load: {events} events of {size} bytes to 2 silent Providers in {secs:.1} s: {} accepted (202), {} too large (413), {} refused for bytes (503), {} other",
        count(202),
        count(413),
        count(503),
        events - count(202) - count(413) - count(503)
    );
    println!(
        "after the load: delivery queues hold {:.1} MiB; dropped: {}",
        queued as f64 / 1048576.0,
        drops.join(", ")
    );
    println!(
        "Providers deleted: queued bytes {after_delete} after {gone_secs:.2} s, {deleted} notifications dropped as provider_deleted, open connections to the silent peer {}, new connections in the next 3 s {new_connections}",
        open.load(Ordering::SeqCst)
    );
    println!(
        "controller RSS: {idle:.1} MiB idle, {loaded:.1} MiB after the load, {after:.1} MiB 3 s after the deletion; peak {:.1} MiB",
        peak.max(peak_end)
    );
    Ok(())
}
