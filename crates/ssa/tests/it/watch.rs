//! The shared health watches: one watch per kind, waking exactly the
//! waiters of the objects that changed.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use ferroflux_ssa::health::Status;
use ferroflux_ssa::{ApplyOptions, HealthWatcher, Inventory, Manager, ObjMeta, Resolver};
use ferroflux_testenv::{Options, TestEnv};
use futures::{Stream, StreamExt};

use crate::{FIELD_MANAGER, yaml};

async fn env(delay: Option<Duration>) -> (TestEnv, kube::Client, Manager) {
    let env = TestEnv::start_with(
        "127.0.0.1:0",
        Options {
            simulate_workloads: delay,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let client = env.client().await.unwrap();
    let m = Manager::new(
        client.clone(),
        Arc::new(Resolver::new(client.clone())),
        FIELD_MANAGER,
    );
    (env, client, m)
}

fn cm_meta(name: &str) -> ObjMeta {
    ObjMeta {
        group: String::new(),
        kind: "ConfigMap".into(),
        namespace: "default".into(),
        name: name.into(),
        version: "v1".into(),
    }
}

fn cm(name: &str) -> String {
    format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: default\n")
}

/// The next `n` wake-ups (a deadline turns "never" into a failure).
async fn next(wakeups: &mut (impl Stream<Item = String> + Unpin), n: usize) -> BTreeSet<String> {
    let mut got = BTreeSet::new();
    for _ in 0..n {
        let w = tokio::time::timeout(Duration::from_secs(30), wakeups.next())
            .await
            .expect("a wake-up")
            .expect("the stream goes on");
        got.insert(w);
    }
    got
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| s.to_string()).collect()
}

#[tokio::test]
async fn waiters_are_woken_by_the_objects_they_wait_for_only() {
    let (_env, client, m) = env(None).await;
    let (health, wakeups) =
        HealthWatcher::<String>::new(client.clone(), Arc::new(Resolver::new(client)));
    let mut wakeups = Box::pin(wakeups);
    health.watch("one".into(), &[cm_meta("a")]).await.unwrap();
    health
        .watch("two".into(), &[cm_meta("a"), cm_meta("b")])
        .await
        .unwrap();
    // The watch lists the kind: everyone waiting on it looks once.
    assert_eq!(next(&mut wakeups, 2).await, set(&["one", "two"]));
    assert_eq!(health.watched_kinds(), 1, "one watch for the kind");
    assert!(health.watch("one".into(), &[cm_meta("a")]).await.unwrap());

    // An object nobody waits for wakes nobody; `b` wakes only its waiter.
    let opts = ApplyOptions::default();
    m.apply_all_staged(yaml(&cm("unrelated")), &opts)
        .await
        .unwrap();
    m.apply_all_staged(yaml(&cm("b")), &opts).await.unwrap();
    assert_eq!(next(&mut wakeups, 1).await, set(&["two"]));
    // `a` wakes both.
    m.apply_all_staged(yaml(&cm("a")), &opts).await.unwrap();
    assert_eq!(next(&mut wakeups, 2).await, set(&["one", "two"]));

    // A waiter that is done is not woken again.
    health.forget(&"one".to_string());
    m.delete_all(&[cm_meta("a")], &Default::default())
        .await
        .unwrap();
    assert_eq!(next(&mut wakeups, 1).await, set(&["two"]));
}

#[tokio::test]
async fn a_rollout_wakes_the_waiter_of_the_deployment() {
    let (_env, client, m) = env(Some(Duration::from_millis(100))).await;
    let (health, wakeups) =
        HealthWatcher::<String>::new(client.clone(), Arc::new(Resolver::new(client)));
    let mut wakeups = Box::pin(wakeups);
    let cs = m
        .apply_all_staged(
            yaml("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: default\nspec:\n  replicas: 2\n  selector:\n    matchLabels: {app: web}\n  template:\n    metadata:\n      labels: {app: web}\n    spec:\n      containers:\n      - {name: c, image: busybox}\n"),
            &ApplyOptions::default(),
        )
        .await
        .unwrap();
    let objs = Inventory::from_change_set(&cs).objects;
    health.watch("w".into(), &objs).await.unwrap();
    // Judged again at each wake-up only (no polling): Current comes.
    let mut looks = 0;
    loop {
        assert_eq!(next(&mut wakeups, 1).await, set(&["w"]));
        looks += 1;
        if m.health_of(&objs).await.unwrap()[0].status == Status::Current {
            break;
        }
        assert!(looks < 10, "woken {looks} times without the rollout");
    }
}
