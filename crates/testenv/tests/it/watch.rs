//! Watches: raw watch events, resume and 410, kube-runtime's watcher and a
//! kube-runtime Controller.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::json;

use crate::env_with_namespaces;

fn cm(name: &str, v: &str) -> ConfigMap {
    serde_json::from_value(
        json!({"metadata": {"name": name, "labels": {"v": v}}, "data": {"v": v}}),
    )
    .unwrap()
}

async fn next_event(
    stream: &mut (impl futures::Stream<Item = Result<WatchEvent<ConfigMap>, kube::Error>> + Unpin),
) -> WatchEvent<ConfigMap> {
    tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .expect("an event arrives")
        .expect("stream open")
        .expect("event decodes")
}

fn describe(e: &WatchEvent<ConfigMap>) -> String {
    match e {
        WatchEvent::Added(o) => format!("ADDED {}", o.metadata.name.clone().unwrap()),
        WatchEvent::Modified(o) => format!("MODIFIED {}", o.metadata.name.clone().unwrap()),
        WatchEvent::Deleted(o) => format!("DELETED {}", o.metadata.name.clone().unwrap()),
        WatchEvent::Bookmark(_) => "BOOKMARK".into(),
        WatchEvent::Error(e) => format!("ERROR {}", e.code),
    }
}

#[tokio::test]
async fn raw_watch_sees_every_change_in_order() {
    let (_env, client) = env_with_namespaces(&["w"]).await;
    let api: Api<ConfigMap> = Api::namespaced(client, "w");
    let start = api
        .list(&Default::default())
        .await
        .unwrap()
        .metadata
        .resource_version
        .unwrap();
    let mut stream = api
        .watch(&WatchParams::default(), &start)
        .await
        .unwrap()
        .boxed();
    api.create(&PostParams::default(), &cm("a", "1"))
        .await
        .unwrap();
    api.patch(
        "a",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"v": "2"}})),
    )
    .await
    .unwrap();
    api.delete("a", &DeleteParams::default()).await.unwrap();
    let mut seen = Vec::new();
    for _ in 0..3 {
        seen.push(describe(&next_event(&mut stream).await));
    }
    assert_eq!(seen, ["ADDED a", "MODIFIED a", "DELETED a"]);
}

#[tokio::test]
async fn watch_resumes_from_a_resource_version() {
    let (_env, client) = env_with_namespaces(&["r"]).await;
    let api: Api<ConfigMap> = Api::namespaced(client, "r");
    let a = api
        .create(&PostParams::default(), &cm("a", "1"))
        .await
        .unwrap();
    api.create(&PostParams::default(), &cm("b", "1"))
        .await
        .unwrap();
    api.patch(
        "a",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"v": "2"}})),
    )
    .await
    .unwrap();
    // Resuming after a's creation replays exactly what came later.
    let rv = a.metadata.resource_version.unwrap();
    let mut stream = api
        .watch(&WatchParams::default(), &rv)
        .await
        .unwrap()
        .boxed();
    assert_eq!(describe(&next_event(&mut stream).await), "ADDED b");
    assert_eq!(describe(&next_event(&mut stream).await), "MODIFIED a");
}

#[tokio::test]
async fn label_selector_watch_reports_transitions() {
    let (_env, client) = env_with_namespaces(&["t"]).await;
    let api: Api<ConfigMap> = Api::namespaced(client, "t");
    let start = api
        .list(&Default::default())
        .await
        .unwrap()
        .metadata
        .resource_version
        .unwrap();
    let mut stream = api
        .watch(&WatchParams::default().labels("v=on"), &start)
        .await
        .unwrap()
        .boxed();
    api.create(&PostParams::default(), &cm("x", "off"))
        .await
        .unwrap();
    api.patch(
        "x",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {"v": "on"}}})),
    )
    .await
    .unwrap();
    api.patch(
        "x",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {"v": "off"}}})),
    )
    .await
    .unwrap();
    assert_eq!(
        describe(&next_event(&mut stream).await),
        "ADDED x",
        "starts matching"
    );
    assert_eq!(
        describe(&next_event(&mut stream).await),
        "DELETED x",
        "stops matching"
    );
}

/// Resuming a selector-filtered watch replays from the history, which keeps only what
/// selectors see of each previous state: transitions are still ADDED/DELETED, changes of a
/// matching object MODIFIED, with the whole object sent.
#[tokio::test]
async fn resumed_label_selector_watch_replays_transitions_from_history() {
    let (_env, client) = env_with_namespaces(&["r"]).await;
    let api: Api<ConfigMap> = Api::namespaced(client, "r");
    let start = api
        .list(&Default::default())
        .await
        .unwrap()
        .metadata
        .resource_version
        .unwrap();
    api.create(&PostParams::default(), &cm("x", "off"))
        .await
        .unwrap();
    for patch in [
        json!({"metadata": {"labels": {"v": "on"}}}),
        json!({"data": {"v": "changed"}}),
        json!({"metadata": {"labels": {"v": "off"}}}),
        json!({"data": {"v": "unseen"}}),
    ] {
        api.patch("x", &PatchParams::default(), &Patch::Merge(patch))
            .await
            .unwrap();
    }
    let mut stream = api
        .watch(&WatchParams::default().labels("v=on"), &start)
        .await
        .unwrap()
        .boxed();
    let mut seen = Vec::new();
    for _ in 0..3 {
        let event = next_event(&mut stream).await;
        let data = match &event {
            WatchEvent::Added(o) | WatchEvent::Modified(o) | WatchEvent::Deleted(o) => {
                o.data.clone().unwrap_or_default()["v"].clone()
            }
            _ => String::new(),
        };
        seen.push(format!("{} {data}", describe(&event)));
    }
    assert_eq!(
        seen,
        ["ADDED x off", "MODIFIED x changed", "DELETED x changed"]
    );
}

#[tokio::test]
async fn compacted_resource_version_is_gone() {
    let (env, client) = env_with_namespaces(&["g"]).await;
    // Compaction is forced by writing straight into the store; a real
    // cluster compacts on its own schedule.
    let Some(server) = env.server() else { return };
    let api: Api<ConfigMap> = Api::namespaced(client, "g");
    api.create(&PostParams::default(), &cm("a", "0"))
        .await
        .unwrap();
    // Push the first events out of the bounded history.
    for i in 0..(ferroflux_testenv::store::DEFAULT_HISTORY + 5) {
        let mut txn = server.store.txn();
        let key = ferroflux_testenv::store::Key::new("", "configmaps", "g", "churn");
        txn.put(key, json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "churn", "namespace": "g"}, "data": {"i": i.to_string()}}));
    }
    let mut stream = api
        .watch(&WatchParams::default(), "3")
        .await
        .unwrap()
        .boxed();
    match next_event(&mut stream).await {
        WatchEvent::Error(e) => {
            assert_eq!(e.code, 410);
            assert_eq!(e.reason, "Expired");
            assert!(
                e.message.starts_with("too old resource version: 3"),
                "{}",
                e.message
            );
        }
        other => panic!("expected 410, got {}", describe(&other)),
    }
}

#[tokio::test]
async fn kube_runtime_watcher_streams_objects() {
    let (_env, client) = env_with_namespaces(&["kw"]).await;
    let api: Api<ConfigMap> = Api::namespaced(client, "kw");
    api.create(&PostParams::default(), &cm("before", "1"))
        .await
        .unwrap();
    let mut objects = watcher(api.clone(), watcher::Config::default())
        .applied_objects()
        .boxed();
    let first = tokio::time::timeout(Duration::from_secs(10), objects.try_next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(first.metadata.name.as_deref(), Some("before"));
    api.create(&PostParams::default(), &cm("after", "1"))
        .await
        .unwrap();
    let second = tokio::time::timeout(Duration::from_secs(10), objects.try_next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(second.metadata.name.as_deref(), Some("after"));
}

#[tokio::test]
async fn kube_runtime_controller_sees_creates_updates_and_deletes() {
    let (_env, client) = env_with_namespaces(&["ctl"]).await;
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), "ctl");
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let ctx = seen.clone();
    let controller = Controller::new(api.clone(), watcher::Config::default())
        .run(
            |obj: Arc<ConfigMap>, seen: Arc<Arc<Mutex<Vec<String>>>>| async move {
                let name = obj.metadata.name.clone().unwrap_or_default();
                let v = obj
                    .data
                    .as_ref()
                    .and_then(|d| d.get("v").cloned())
                    .unwrap_or_default();
                seen.lock().unwrap().push(format!("{name}={v}"));
                Ok::<_, kube::Error>(Action::await_change())
            },
            |_obj, _err, _ctx| Action::await_change(),
            Arc::new(ctx),
        )
        .for_each(|_| async {});
    let handle = tokio::spawn(controller);

    async fn wait_for(seen: &Arc<Mutex<Vec<String>>>, want: &str) {
        for _ in 0..200 {
            if seen.lock().unwrap().iter().any(|s| s == want) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("reconcile never saw {want}: {:?}", seen.lock().unwrap());
    }
    api.create(&PostParams::default(), &cm("app", "1"))
        .await
        .unwrap();
    wait_for(&seen, "app=1").await;
    api.patch(
        "app",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"v": "2"}})),
    )
    .await
    .unwrap();
    wait_for(&seen, "app=2").await;
    // A deletion makes the controller forget the object; a new one with the
    // same name is reconciled afresh.
    api.delete("app", &DeleteParams::default()).await.unwrap();
    api.create(&PostParams::default(), &cm("app", "3"))
        .await
        .unwrap();
    wait_for(&seen, "app=3").await;
    handle.abort();
}

#[tokio::test]
async fn reflector_store_mirrors_the_server() {
    use kube::runtime::reflector;
    let (_env, client) = env_with_namespaces(&["refl"]).await;
    let api: Api<ConfigMap> = Api::namespaced(client, "refl");
    let (reader, writer) = reflector::store::<ConfigMap>();
    let stream = reflector::reflector(writer, watcher(api.clone(), watcher::Config::default()))
        .applied_objects()
        .for_each(|_| async {});
    let handle = tokio::spawn(stream);
    api.create(&PostParams::default(), &cm("one", "1"))
        .await
        .unwrap();
    api.create(&PostParams::default(), &cm("two", "2"))
        .await
        .unwrap();
    api.delete("one", &DeleteParams::default()).await.unwrap();
    let mut names = Vec::new();
    for _ in 0..200 {
        names = reader
            .state()
            .iter()
            .map(|c| c.metadata.name.clone().unwrap())
            .collect::<Vec<_>>();
        if names == ["two"] {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(names, ["two"]);
    handle.abort();
}

#[tokio::test]
async fn watch_ends_at_its_timeout() {
    let (_env, client) = env_with_namespaces(&["to"]).await;
    let api: Api<ConfigMap> = Api::namespaced(client, "to");
    let params = WatchParams::default().timeout(1);
    let started = std::time::Instant::now();
    let mut stream = api.watch(&params, "0").await.unwrap().boxed();
    // No objects and no changes: the stream closes by itself.
    let next = tokio::time::timeout(Duration::from_secs(20), stream.next())
        .await
        .expect("stream closes");
    assert!(next.is_none());
    assert!(started.elapsed() >= Duration::from_millis(900));
}

#[tokio::test]
async fn delete_collection_honours_selectors() {
    let (_env, client) = env_with_namespaces(&["dc"]).await;
    let api: Api<ConfigMap> = Api::namespaced(client, "dc");
    for (name, v) in [("a", "drop"), ("b", "drop"), ("c", "keep")] {
        api.create(&PostParams::default(), &cm(name, v))
            .await
            .unwrap();
    }
    let lp = kube::api::ListParams::default().labels("v=drop");
    api.delete_collection(&DeleteParams::default(), &lp)
        .await
        .unwrap();
    let left: Vec<String> = api
        .list(&Default::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|c| c.metadata.name.unwrap())
        .collect();
    assert_eq!(left, ["c"]);
}

#[tokio::test]
async fn bookmarks_carry_the_current_resource_version() {
    let env = ferroflux_testenv::TestEnv::start_with(
        "127.0.0.1:0",
        ferroflux_testenv::Options {
            bookmark_interval: Some(Duration::from_millis(100)),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let client = env.client().await.unwrap();
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    let created = api
        .create(&PostParams::default(), &cm("x", "1"))
        .await
        .unwrap();
    let rv = created.metadata.resource_version.clone().unwrap();
    let mut stream = api
        .watch(&WatchParams::default(), &rv)
        .await
        .unwrap()
        .boxed();
    match next_event(&mut stream).await {
        WatchEvent::Bookmark(b) => {
            let at: u64 = b.metadata.resource_version.parse().unwrap();
            assert!(at >= rv.parse::<u64>().unwrap());
        }
        other => panic!("expected a bookmark, got {}", describe(&other)),
    }
    // Without allowWatchBookmarks no bookmark is sent.
    let mut quiet = api
        .watch(&WatchParams::default().disable_bookmarks().timeout(1), &rv)
        .await
        .unwrap()
        .boxed();
    assert!(
        tokio::time::timeout(Duration::from_secs(5), quiet.next())
            .await
            .unwrap()
            .is_none()
    );
}
