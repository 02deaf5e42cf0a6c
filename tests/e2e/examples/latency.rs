//! End-to-end latency and idle memory, run by `hack/bench/e2e`.
//!
//! Starts the whole stack from the release binaries beside this example
//! (testenv + source-, kustomize-, notification-controller as processes),
//! installs the e2e app (GitRepository and Kustomization with a 1h
//! interval, a GitHub Receiver) and then, ITERATIONS times: changes the
//! ConfigMap `demo/config` in Git, pushes, POSTs the signed webhook and
//! waits on a watch until the API server has the new content. Prints
//! p50/p90/max from the push and from the webhook, the same for a peer
//! (`kubectl apply` of the same change, observed the same way), and the
//! idle VmRSS of each process.
//!
//! Usage: latency [ITERATIONS]

#[allow(dead_code)]
#[path = "../tests/support.rs"]
mod support;

use std::time::{Duration, Instant};

use ferroflux_cli::stack::Component;
use futures::StreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, WatchEvent, WatchParams};
use support::{E2e, TOKEN, config_map};

/// VmRSS and VmHWM of a process, in KiB.
/// VmRSS, VmHWM, RssAnon (private memory) and RssFile (mapped files, mostly
/// the executable's own code pages), in KiB.
fn rss_kib(pid: u32) -> (u64, u64, u64, u64) {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        text.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
            .unwrap_or(0)
    };
    (
        field("VmRSS:"),
        field("VmHWM:"),
        field("RssAnon:"),
        field("RssFile:"),
    )
}

fn print_rss(e2e: &E2e, when: &str) {
    println!("idle RSS {when}:");
    for c in [Component::ApiServer]
        .into_iter()
        .chain(Component::CONTROLLERS)
    {
        let (rss, hwm, anon, file) = e2e.stack.pid(c).map(rss_kib).unwrap_or_default();
        let mib = |k: u64| k as f64 / 1024.0;
        println!(
            "  {:<24} VmRSS {:>6.1} MiB = anon {:>5.1} + file {:>5.1}   (peak VmHWM {:>6.1} MiB)",
            c.binary(),
            mib(rss),
            mib(anon),
            mib(file),
            mib(hwm)
        );
    }
}

/// Waits on `stream` until `demo/config` has `greeting`.
async fn observed(
    stream: &mut (impl futures::Stream<Item = kube::Result<WatchEvent<ConfigMap>>> + Unpin),
    greeting: &str,
) {
    let wait = async {
        while let Some(ev) = stream.next().await {
            if let Ok(WatchEvent::Added(cm) | WatchEvent::Modified(cm)) = ev
                && cm.metadata.name.as_deref() == Some("config")
                && cm
                    .data
                    .as_ref()
                    .and_then(|d| d.get("greeting"))
                    .map(String::as_str)
                    == Some(greeting)
            {
                return;
            }
        }
        panic!("the watch ended before {greeting:?} was seen");
    };
    tokio::time::timeout(Duration::from_secs(60), wait)
        .await
        .unwrap_or_else(|_| panic!("{greeting:?} not applied within 60 s"));
}

async fn watch(
    api: &Api<ConfigMap>,
) -> impl futures::Stream<Item = kube::Result<WatchEvent<ConfigMap>>> + Unpin {
    let rv = api
        .get("config")
        .await
        .expect("ConfigMap demo/config")
        .metadata
        .resource_version
        .unwrap_or_default();
    api.watch(
        &WatchParams::default()
            .fields("metadata.name=config")
            .timeout(120),
        &rv,
    )
    .await
    .expect("a watch")
    .boxed()
}

fn stats(label: &str, mut v: Vec<Duration>) {
    v.sort();
    let at = |q: f64| v[((v.len() as f64 * q).ceil() as usize).clamp(1, v.len()) - 1];
    println!(
        "  {label:<44} p50 {:>7.1} ms   p90 {:>7.1} ms   max {:>7.1} ms   (n={})",
        at(0.5).as_secs_f64() * 1e3,
        at(0.9).as_secs_f64() * 1e3,
        v[v.len() - 1].as_secs_f64() * 1e3,
        v.len()
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let iterations: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(20);
    let e2e = E2e::start().await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    print_rss(&e2e, "after start, no Flux objects, 5 s idle");
    let mut app = e2e.install_app().await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    print_rss(&e2e, "after one Kustomization applied and 5 s idle");

    let api: Api<ConfigMap> = Api::namespaced(e2e.client.clone(), "demo");
    let (mut from_push, mut from_hook) = (Vec::new(), Vec::new());
    for i in 0..iterations {
        let greeting = format!("iteration {i}");
        let mut stream = watch(&api).await;
        let t0 = Instant::now();
        e2e.change_app(&mut app, &greeting, &["old"]); // git add, commit, push
        let t_hook = Instant::now();
        assert_eq!(
            e2e.github_push(&app.hook, TOKEN, &app.url).await,
            200,
            "webhook"
        );
        observed(&mut stream, &greeting).await;
        from_push.push(t0.elapsed());
        from_hook.push(t_hook.elapsed());
        // Let the Kustomization finish (status, events) before the next round.
        e2e.wait_applied("flux-system", "app", &app.commit).await;
    }

    // The peer: the same change applied by kubectl, observed the same way.
    let mut peer = Vec::new();
    for i in 0..iterations {
        let greeting = format!("kubectl {i}");
        let mut stream = watch(&api).await;
        let t0 = Instant::now();
        let (ok, out, err) = e2e
            .kubectl(
                &["apply", "--server-side", "--force-conflicts", "-f", "-"],
                Some(&config_map("config", &greeting)),
            )
            .await;
        assert!(ok, "{out}{err}");
        observed(&mut stream, &greeting).await;
        peer.push(t0.elapsed());
    }

    println!("latency until the API server has the changed ConfigMap ({iterations} iterations):");
    stats("ferroflux: git push + webhook -> applied", from_push);
    stats("ferroflux: webhook POST -> applied", from_hook);
    stats("peer: kubectl apply --server-side -> stored", peer);
    tokio::time::sleep(Duration::from_secs(10)).await;
    print_rss(
        &e2e,
        &format!("after the {iterations} iterations and 10 s idle"),
    );
}
