//! Hostile inputs: interval parsing. Flux's pattern accepts `0s` (a
//! reconcile loop with no sleep, one object saturating a core) and numbers
//! too large for any timer (`99999999999999999999h`, which used to make the
//! object unreadable: it was never reconciled and got no status at all).
//! Both are bounded, and the object says so in an `IntervalAdjusted`
//! condition.

use std::time::Duration;

use ferroflux_cli::stack::Component;
use serde_json::Value;

use crate::support::{E2e, Kind, ready};

fn git_repository(name: &str, url: &str, interval: &str) -> String {
    format!(
        r#"apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: {name}
  namespace: flux-system
spec:
  interval: {interval}
  url: {url}
  ref:
    branch: main
"#
    )
}

fn kustomization(name: &str, interval: &str, retry: &str) -> String {
    format!(
        r#"apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: {name}
  namespace: flux-system
spec:
  interval: {interval}
  retryInterval: {retry}
  path: ./app
  prune: true
  sourceRef:
    kind: GitRepository
    name: fast
"#
    )
}

/// The `IntervalAdjusted` condition's (status, reason, message).
fn adjusted(o: &Value) -> Option<(String, String, String)> {
    o["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["type"] == "IntervalAdjusted")
        .map(|c| {
            let s = |k: &str| c[k].as_str().unwrap_or_default().to_string();
            (s("status"), s("reason"), s("message"))
        })
}

/// How many reconciles of `kind` `name` the controller's metrics count.
async fn reconciles(e2e: &E2e, c: Component, kind: &str, name: &str) -> u64 {
    let text = e2e.stack.metrics(c).await.expect("metrics");
    text.lines()
        .filter(|l| l.starts_with("gotk_reconcile_duration_seconds_count"))
        .filter(|l| {
            l.contains(&format!("kind=\"{kind}\"")) && l.contains(&format!("name=\"{name}\""))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .map(|v| v as u64)
        .sum()
}

async fn wait_adjusted(e2e: &E2e, kind: Kind, name: &str, reason: &str) -> Value {
    e2e.wait(
        &format!("{kind:?} {name} Ready with IntervalAdjusted/{reason}"),
        || async {
            match e2e.get(kind, "flux-system", name).await {
                Some(o)
                    if ready(&o)
                        && adjusted(&o).is_some_and(|(s, r, _)| s == "True" && r == reason) =>
                {
                    Ok(o)
                }
                other => Err(format!("{:#}", other.unwrap_or_default()["status"])),
            }
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zero_and_overflowing_intervals_are_bounded_and_reported() {
    let e2e = E2e::start().await;
    let repo = e2e.repo("app");
    repo.write(
        "app/config.yaml",
        &crate::support::config_map("config", "hello"),
    )
    .expect("write");
    repo.write(
        "app/namespace.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: demo\n",
    )
    .expect("write");
    repo.commit("first").expect("commit");
    let url = e2e.git.url("app");

    // `0s` everywhere: raised to the floor, and said so.
    e2e.apply(&git_repository("fast", &url, "0s")).await;
    e2e.apply(&kustomization("fast", "0s", "0s")).await;
    let g = wait_adjusted(&e2e, Kind::GitRepository, "fast", "IntervalTooShort").await;
    let (_, _, message) = adjusted(&g).unwrap_or_default();
    assert_eq!(
        message, "spec.interval 0s is below the minimum; 1s is used",
        "{g:#}"
    );
    let k = wait_adjusted(&e2e, Kind::Kustomization, "fast", "IntervalTooShort").await;
    let (_, _, message) = adjusted(&k).unwrap_or_default();
    assert!(
        message.contains("spec.interval 0s") && message.contains("spec.retryInterval 0s"),
        "{message}"
    );

    // Not a busy loop: over a few seconds each object is reconciled about
    // once a second (it was ~40/s and ~17/s). A slower machine only lowers
    // the counts, so the bound holds however loaded the runner is.
    let window = Duration::from_secs(4);
    let git_before = reconciles(&e2e, Component::SourceController, "GitRepository", "fast").await;
    let ks_before = reconciles(
        &e2e,
        Component::KustomizeController,
        "Kustomization",
        "fast",
    )
    .await;
    let started = std::time::Instant::now();
    tokio::time::sleep(window).await;
    let elapsed = started.elapsed().as_secs() + 1;
    let git_runs =
        reconciles(&e2e, Component::SourceController, "GitRepository", "fast").await - git_before;
    let ks_runs = reconciles(
        &e2e,
        Component::KustomizeController,
        "Kustomization",
        "fast",
    )
    .await
        - ks_before;
    let bound = 2 * elapsed + 2;
    assert!(
        git_runs <= bound,
        "GitRepository reconciled {git_runs} times in {elapsed}s (bound {bound})"
    );
    assert!(
        ks_runs <= bound,
        "Kustomization reconciled {ks_runs} times in {elapsed}s (bound {bound})"
    );

    // Too large for a timer: reconciled, Ready, capped, and the kind keeps
    // working for objects created after it.
    e2e.apply(&git_repository("huge", &url, "99999999999999999999h"))
        .await;
    let g = wait_adjusted(&e2e, Kind::GitRepository, "huge", "IntervalTooLong").await;
    let (_, _, message) = adjusted(&g).unwrap_or_default();
    assert_eq!(
        message, "spec.interval 87600h is above the maximum; 720h is used",
        "{g:#}"
    );
    e2e.apply(&git_repository("after", &url, "10m")).await;
    let after = e2e
        .wait("GitRepository after Ready", || async {
            match e2e.get(Kind::GitRepository, "flux-system", "after").await {
                Some(o) if ready(&o) => Ok(o),
                other => Err(format!("{:#}", other.unwrap_or_default()["status"])),
            }
        })
        .await;
    assert_eq!(adjusted(&after), None, "a normal interval is not adjusted");

    // Fixing the interval removes the condition.
    e2e.apply(&git_repository("fast", &url, "1m")).await;
    e2e.wait("GitRepository fast without IntervalAdjusted", || async {
        match e2e.get(Kind::GitRepository, "flux-system", "fast").await {
            Some(o) if adjusted(&o).is_none() && ready(&o) => Ok(()),
            other => Err(format!("{:#}", other.unwrap_or_default()["status"])),
        }
    })
    .await;
}
