//! Throughput of the real `notification-controller` binary: Flux events
//! POSTed to intake, delivered through an Alert to a `generic` Provider whose
//! address is a local sink in this process. Prints events/s accepted and
//! delivered, intake latency percentiles and the controller's RSS.
//!
//! Usage (see `hack/bench/notification`; `KUBECONFIG` points at a running
//! testenv): `event_bench <controller-binary> [EVENTS] [CONCURRENCY]`

use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use ferroflux_api::notification::v1beta3::{Alert, Provider};
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::Api;
use kube::api::PostParams;
use serde_json::json;

type Error = Box<dyn std::error::Error + Send + Sync>;

const NS: &str = "flux-system";

fn free_port() -> Result<SocketAddr, Error> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?)
}

async fn create<K>(client: &kube::Client, obj: serde_json::Value) -> Result<(), Error>
where
    K: kube::Resource<Scope = kube::core::NamespaceResourceScope, DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + serde::Serialize
        + std::fmt::Debug,
{
    let api: Api<K> = Api::namespaced(client.clone(), NS);
    api.create(&PostParams::default(), &serde_json::from_value(obj)?)
        .await?;
    Ok(())
}

fn rss_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn event(i: u64) -> serde_json::Value {
    json!({
        "involvedObject": {"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
            "namespace": NS, "name": format!("repo-{}", i % 100), "uid": "0b0c4f0e-1"},
        "severity": "info",
        "timestamp": "2026-11-26T10:00:00Z",
        "message": format!("stored artifact for commit 'bench {i}'"),
        "reason": "NewArtifact",
        "metadata": {"source.toolkit.fluxcd.io/revision": "main@sha1:731f7eaddfb6af01cb2173e18f0f75b0ba780ef1"},
        "reportingController": "source-controller",
        "reportingInstance": "source-controller-7c7b47f5f-8bhrp"
    })
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let mut args = std::env::args().skip(1);
    let binary = args
        .next()
        .ok_or("usage: event_bench <controller-binary> [EVENTS] [CONCURRENCY]")?;
    let events: u64 = args
        .next()
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(20_000);
    let concurrency: u64 = args.next().map(|a| a.parse()).transpose()?.unwrap_or(32);
    let _ = rustls::crypto::ring::default_provider().install_default();

    // The sink: counts what it receives.
    let received = Arc::new(AtomicU64::new(0));
    let counter = received.clone();
    let sink = axum::Router::new().route(
        "/",
        axum::routing::post(move |_body: axum::body::Bytes| {
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let sink_addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, sink).await });

    // CRDs, namespace, Provider and Alert in the test API server.
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
    create::<Provider>(
        &client,
        json!({"metadata": {"name": "bench"},
               "spec": {"type": "generic", "address": format!("http://{sink_addr}/")}}),
    )
    .await?;
    create::<Alert>(
        &client,
        json!({"metadata": {"name": "bench"},
               "spec": {"providerRef": {"name": "bench"},
                        "eventSources": [{"kind": "GitRepository", "name": "*"}]}}),
    )
    .await?;

    // The controller binary, as deployed but on loopback ports.
    let events_addr = free_port()?;
    let mut child = tokio::process::Command::new(&binary)
        .args([
            format!("--events-addr={events_addr}"),
            format!("--receiver-addr={}", free_port()?),
            format!("--metrics-addr={}", free_port()?),
            format!("--health-addr={}", free_port()?),
            "--log-level=error".to_string(),
            "--object-event-burst=0".to_string(),
            "--provider-queue-size=100000".to_string(),
        ])
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let pid = child.id().ok_or("the controller exited at once")?;
    let http = reqwest::Client::new();
    let url = format!("http://{events_addr}/");

    // Warm up: until a probe event reaches the sink (the Alert is watched).
    let started = Instant::now();
    let mut probe = 0;
    while received.load(Ordering::SeqCst) == 0 {
        if started.elapsed() > Duration::from_secs(60) {
            return Err("no probe event reached the sink within 60 s".into());
        }
        probe += 1;
        let mut e = event(u64::MAX - probe);
        e["message"] = json!(format!("probe {probe}"));
        let _ = http.post(&url).json(&e).send().await;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = received.load(Ordering::SeqCst);
    let (idle_rss, _) = rss_kib(pid);

    // Load: `concurrency` clients POST `events` distinct events.
    let next = Arc::new(AtomicU64::new(0));
    let t0 = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (http, url, next) = (http.clone(), url.clone(), next.clone());
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut accepted = 0u64;
            loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= events {
                    break;
                }
                let body = event(i);
                let t = Instant::now();
                if let Ok(resp) = http.post(&url).json(&body).send().await
                    && resp.status().as_u16() == 202
                {
                    accepted += 1;
                }
                latencies.push(t.elapsed());
            }
            (accepted, latencies)
        }));
    }
    let mut accepted = 0;
    let mut latencies = Vec::new();
    for w in workers {
        let (a, l) = w.await?;
        accepted += a;
        latencies.extend(l);
    }
    let intake_secs = t0.elapsed().as_secs_f64();
    let (load_rss, _) = rss_kib(pid);
    let deadline = Instant::now() + Duration::from_secs(120);
    while received.load(Ordering::SeqCst) - before < accepted && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let delivered = received.load(Ordering::SeqCst) - before;
    let delivery_secs = t0.elapsed().as_secs_f64();
    let (_, peak_rss) = rss_kib(pid);
    let _ = child.kill().await;

    latencies.sort();
    let pct = |p: f64| {
        let idx =
            ((latencies.len() as f64 * p).ceil() as usize).clamp(1, latencies.len().max(1)) - 1;
        latencies.get(idx).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    println!("events: {events}, concurrency: {concurrency}");
    println!(
        "intake: {accepted} accepted (202) in {intake_secs:.2} s = {:.0} events/s",
        accepted as f64 / intake_secs
    );
    println!(
        "intake latency: p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        pct(0.50),
        pct(0.90),
        pct(0.99),
        pct(1.0)
    );
    println!(
        "delivered to the sink: {delivered} in {delivery_secs:.2} s = {:.0} events/s",
        delivered as f64 / delivery_secs
    );
    println!(
        "controller RSS: {} MiB idle (Alert and Provider loaded), {} MiB after intake, {} MiB peak",
        idle_rss / 1024,
        load_rss / 1024,
        peak_rss / 1024
    );
    Ok(())
}
