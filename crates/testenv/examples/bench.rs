//! Throughput and memory of the test API server (`hack/bench/testenv`).
//!
//! Starts the `testenv` binary as a separate process (so its memory is
//! measured alone), then through kube's client: creates N ConfigMaps, lists
//! them, server-side-applies an update to each while a watch counts the
//! events, and finally updates a fixed set of objects U times, sampling the
//! server's RSS to show that memory stays flat.

use std::io::BufRead;
use std::process::{Command, Stdio};
use std::time::Instant;

use futures::{StreamExt, TryStreamExt, stream};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams};
use serde_json::json;

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let objects = arg("--objects", 10_000);
    let updates = arg("--updates", 100_000);
    let concurrency = arg("--concurrency", 16);
    let binary = std::env::var("TESTENV_BIN").unwrap_or_else(|_| "target/release/testenv".into());
    let dir = std::env::temp_dir().join(format!("testenv-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let kubeconfig = dir.join("kubeconfig");
    let mut child = Command::new(&binary)
        .args(["serve", "--port", "0", "--kubeconfig-out"])
        .arg(&kubeconfig)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let pid = child.id();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line)?;
    let rss_start = rss_kib(pid);

    let config = kube::Config::from_custom_kubeconfig(
        serde_yaml::from_str(&std::fs::read_to_string(&kubeconfig)?)?,
        &Default::default(),
    )
    .await?;
    let client = kube::Client::try_from(config)?;
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), "default");

    let cm = |i: usize, v: usize| -> ConfigMap {
        serde_json::from_value(json!({
            "metadata": {"name": format!("cm-{i:05}"), "labels": {"bench": "yes", "shard": (i % 10).to_string()}},
            "data": {"value": v.to_string(), "payload": "x".repeat(200)}
        }))
        .expect("valid ConfigMap")
    };

    // Create.
    let t = Instant::now();
    stream::iter(0..objects)
        .map(|i| {
            let api = api.clone();
            let obj = cm(i, 0);
            async move { api.create(&PostParams::default(), &obj).await }
        })
        .buffer_unordered(concurrency)
        .try_collect::<Vec<_>>()
        .await?;
    let create_s = t.elapsed().as_secs_f64();

    // List (pages of 500, as kube-runtime's watcher does).
    let t = Instant::now();
    let mut listed = 0;
    let mut lp = ListParams::default().limit(500);
    loop {
        let page = api.list(&lp).await?;
        listed += page.items.len();
        match page.metadata.continue_.filter(|c| !c.is_empty()) {
            Some(c) => lp = lp.continue_token(&c),
            None => break,
        }
    }
    let list_s = t.elapsed().as_secs_f64();
    assert_eq!(listed, objects);
    let t = Instant::now();
    let selected = api
        .list(&ListParams::default().labels("shard=3"))
        .await?
        .items
        .len();
    let select_s = t.elapsed().as_secs_f64();

    // Server-side apply an update to every object while a watch counts events.
    let rv = api
        .list(&ListParams::default().limit(1))
        .await?
        .metadata
        .resource_version
        .unwrap_or_default();
    let watch_api = api.clone();
    let watcher = tokio::spawn(async move {
        let mut seen = 0usize;
        let mut s = watch_api.watch(&WatchParams::default(), &rv).await?.boxed();
        while seen < objects {
            match s.try_next().await? {
                Some(WatchEvent::Modified(_)) => seen += 1,
                Some(_) => {}
                None => break,
            }
        }
        Ok::<_, kube::Error>(seen)
    });
    let t = Instant::now();
    stream::iter(0..objects)
        .map(|i| {
            let api = api.clone();
            let patch = json!({
                "apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": format!("cm-{i:05}")},
                "data": {"value": "1", "payload": "x".repeat(200)}
            });
            async move {
                api.patch(
                    &format!("cm-{i:05}"),
                    &PatchParams::apply("bench").force(),
                    &Patch::Apply(patch),
                )
                .await
            }
        })
        .buffer_unordered(concurrency)
        .try_collect::<Vec<_>>()
        .await?;
    let apply_s = t.elapsed().as_secs_f64();
    let watched = watcher.await??;
    let watch_s = t.elapsed().as_secs_f64();
    let rss_loaded = rss_kib(pid);

    // Memory under churn: update the first 1,000 objects over and over.
    let hot = objects.min(1_000);
    let mut samples = Vec::new();
    let t = Instant::now();
    let rounds = updates / hot;
    for round in 0..rounds {
        stream::iter(0..hot)
            .map(|i| {
                let api = api.clone();
                let patch = json!({"data": {"value": (round + 2).to_string()}});
                async move {
                    api.patch(
                        &format!("cm-{i:05}"),
                        &PatchParams::default(),
                        &Patch::Merge(patch),
                    )
                    .await
                }
            })
            .buffer_unordered(concurrency)
            .try_collect::<Vec<_>>()
            .await?;
        if (round + 1) % (rounds / 10).max(1) == 0 {
            samples.push(rss_kib(pid));
        }
    }
    let churn_s = t.elapsed().as_secs_f64();
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);

    println!("objects: {objects}, concurrency: {concurrency}");
    println!(
        "create:  {:>8.0} objects/s ({create_s:.2}s)",
        objects as f64 / create_s
    );
    println!(
        "list:    {:>8.0} objects/s ({list_s:.3}s for {listed} in pages of 500)",
        listed as f64 / list_s
    );
    println!("select:  {select_s:.3}s for a label selector matching {selected}");
    println!(
        "apply:   {:>8.0} applies/s ({apply_s:.2}s)",
        objects as f64 / apply_s
    );
    println!("watch:   {watched} events delivered within {watch_s:.2}s of the first apply");
    println!(
        "churn:   {} merge patches of {hot} objects at {:.0}/s",
        rounds * hot,
        (rounds * hot) as f64 / churn_s
    );
    println!(
        "rss KiB: start {rss_start}, after {objects} objects {rss_loaded}, during churn {samples:?}"
    );
    Ok(())
}
