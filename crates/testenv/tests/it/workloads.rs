//! Workload simulation: off by default; when on, workloads report rolled out
//! (or failed, when annotated) after the delay, Pods run and end as kubelet
//! would, Jobs run their Pods as the job controller would.

use std::time::Duration;

use ferroflux_testenv::workloads::{EXIT_CODE_ANNOTATION, FAIL_ANNOTATION};
use ferroflux_testenv::{Options, TestEnv};
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::batch::v1::{Job, JobCondition};
use k8s_openapi::api::core::v1::{Pod, PodCondition};
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams};
use serde_json::{Value, json};

fn deployment(name: &str, fail: bool) -> Deployment {
    let mut d = json!({
        "metadata": {"name": name},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}
    });
    if fail {
        d["metadata"]["annotations"] =
            json!({ferroflux_testenv::workloads::FAIL_ANNOTATION: "true"});
    }
    serde_json::from_value(d).unwrap()
}

async fn wait_status<T, F>(api: &Api<T>, name: &str, done: F) -> T
where
    T: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
    F: Fn(&T) -> bool,
{
    for _ in 0..200 {
        let obj = api.get(name).await.unwrap();
        if done(&obj) {
            return obj;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("{name} never reached the expected status");
}

#[tokio::test]
async fn workloads_roll_out_or_fail_when_simulated() {
    let env = TestEnv::start_with(
        "127.0.0.1:0",
        Options {
            simulate_workloads: Some(Duration::from_millis(50)),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let client = env.client().await.unwrap();
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "default");
    deployments
        .create(&PostParams::default(), &deployment("good", false))
        .await
        .unwrap();
    deployments
        .create(&PostParams::default(), &deployment("bad", true))
        .await
        .unwrap();
    let good = wait_status(&deployments, "good", |d| {
        d.status
            .as_ref()
            .is_some_and(|s| s.observed_generation == Some(1))
    })
    .await;
    let s = good.status.unwrap();
    assert_eq!(
        (s.ready_replicas, s.updated_replicas, s.available_replicas),
        (Some(2), Some(2), Some(2))
    );
    let bad = wait_status(&deployments, "bad", |d| d.status.is_some()).await;
    let conds = bad.status.unwrap().conditions.unwrap();
    assert!(
        conds
            .iter()
            .any(|c| c.type_.as_deref() == Some("Progressing")
                && c.status.as_deref() == Some("False")
                && c.reason.as_deref() == Some("ProgressDeadlineExceeded"))
    );

    // A new generation is reported again.
    deployments
        .patch(
            "good",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 3}})),
        )
        .await
        .unwrap();
    let good = wait_status(&deployments, "good", |d| {
        d.status
            .as_ref()
            .is_some_and(|s| s.observed_generation == Some(2))
    })
    .await;
    assert_eq!(good.status.unwrap().ready_replicas, Some(3));

    let jobs: Api<Job> = Api::namespaced(client, "default");
    let job: Job = serde_json::from_value(json!({"metadata": {"name": "once"}, "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}}}})).unwrap();
    jobs.create(&PostParams::default(), &job).await.unwrap();
    let done = until(&jobs, "once", finished).await;
    let st = done.status.unwrap();
    assert_eq!(st.succeeded, Some(1));
    assert!(
        st.conditions
            .unwrap()
            .iter()
            .any(|c| c.type_ == "Complete" && c.status == "True")
    );
}

#[tokio::test]
async fn workloads_are_left_alone_by_default() {
    let env = TestEnv::start().await.unwrap();
    let client = env.client().await.unwrap();
    let deployments: Api<Deployment> = Api::namespaced(client, "default");
    deployments
        .create(&PostParams::default(), &deployment("idle", false))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(deployments.get("idle").await.unwrap().status.is_none());
}

async fn simulated(delay_ms: u64) -> (TestEnv, kube::Client) {
    let env = TestEnv::start_with(
        "127.0.0.1:0",
        Options {
            simulate_workloads: Some(Duration::from_millis(delay_ms)),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let client = env.client().await.unwrap();
    (env, client)
}

/// Waits (on a watch) until `done` holds for the object, within 20 s.
async fn until<T, F>(api: &Api<T>, name: &str, done: F) -> T
where
    T: kube::Resource
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug
        + Send
        + Sync
        + 'static,
    F: Fn(&T) -> bool,
{
    let cond = move |o: Option<&T>| o.is_some_and(&done);
    tokio::time::timeout(
        Duration::from_secs(20),
        kube::runtime::wait::await_condition(api.clone(), name, cond),
    )
    .await
    .unwrap_or_else(|_| panic!("{name} never reached the expected state"))
    .unwrap()
    .unwrap()
}

fn phase(p: &Pod) -> &str {
    p.status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or("")
}

fn pod_condition<'a>(p: &'a Pod, t: &str) -> Option<&'a PodCondition> {
    p.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == t)
}

fn pod(name: &str, policy: &str, exit_code: Option<&str>) -> Pod {
    let mut p = json!({"metadata": {"name": name},
        "spec": {"restartPolicy": policy, "containers": [{"name": "test", "image": "busybox", "command": ["true"]}]}});
    if let Some(code) = exit_code {
        p["metadata"]["annotations"] = json!({EXIT_CODE_ANNOTATION: code});
    }
    serde_json::from_value(p).unwrap()
}

/// A Pod goes Pending → Running → Succeeded (or Failed, as asked), each state
/// with what kubelet reports, seen in that order by a watch.
#[tokio::test]
async fn pods_run_then_succeed_or_fail_as_asked() {
    let (_env, client) = simulated(30).await;
    let pods: Api<Pod> = Api::namespaced(client, "default");
    let mut events = pods
        .watch(&WatchParams::default().fields("metadata.name=ok"), "0")
        .await
        .unwrap()
        .boxed();
    let created = pods
        .create(&PostParams::default(), &pod("ok", "Never", None))
        .await
        .unwrap();
    assert_eq!(phase(&created), "Pending");
    assert_eq!(
        created.status.as_ref().unwrap().qos_class.as_deref(),
        Some("BestEffort")
    );
    let mut phases = Vec::new();
    while let Some(ev) = events.try_next().await.unwrap() {
        if let WatchEvent::Added(p) | WatchEvent::Modified(p) = ev {
            phases.push(phase(&p).to_string());
            if phase(&p) == "Running" {
                assert_eq!(
                    pod_condition(&p, "Ready").map(|c| c.status.as_str()),
                    Some("True")
                );
                let c = &p
                    .status
                    .as_ref()
                    .unwrap()
                    .container_statuses
                    .as_ref()
                    .unwrap()[0];
                assert!(c.ready && c.state.as_ref().unwrap().running.is_some());
                assert_eq!(
                    p.spec.as_ref().unwrap().node_name.as_deref(),
                    Some(ferroflux_testenv::workloads::pods::NODE_NAME)
                );
            }
            if phase(&p) == "Succeeded" {
                let s = p.status.as_ref().unwrap();
                let t = s.container_statuses.as_ref().unwrap()[0]
                    .state
                    .as_ref()
                    .unwrap()
                    .terminated
                    .clone()
                    .unwrap();
                assert_eq!((t.exit_code, t.reason.as_deref()), (0, Some("Completed")));
                assert_eq!(
                    pod_condition(&p, "Ready").and_then(|c| c.reason.as_deref()),
                    Some("PodCompleted")
                );
                assert!(s.pod_ip.is_some() && s.start_time.is_some());
                break;
            }
        }
    }
    assert_eq!(phases, ["Pending", "Running", "Succeeded"]);

    pods.create(&PostParams::default(), &pod("bad", "Never", Some("3")))
        .await
        .unwrap();
    let bad = until(&pods, "bad", |p| phase(p) == "Failed").await;
    let t = bad.status.unwrap().container_statuses.unwrap()[0]
        .state
        .clone()
        .unwrap()
        .terminated
        .unwrap();
    assert_eq!((t.exit_code, t.reason.as_deref()), (3, Some("Error")));

    // restartPolicy Always: a server, running and Ready until deleted.
    pods.create(&PostParams::default(), &pod("server", "Always", None))
        .await
        .unwrap();
    until(&pods, "server", |p| phase(p) == "Running").await;
    // An OnFailure Pod that fails is restarted by kubelet, not Failed.
    pods.create(
        &PostParams::default(),
        &pod("crashy", "OnFailure", Some("1")),
    )
    .await
    .unwrap();
    let crashed = until(&pods, "crashy", |p| {
        p.status
            .as_ref()
            .and_then(|s| s.container_statuses.as_ref())
            .is_some_and(|cs| cs[0].restart_count >= 1)
    })
    .await;
    assert_eq!(phase(&crashed), "Running");
    // Several steps later, the server still runs.
    assert_eq!(phase(&pods.get("server").await.unwrap()), "Running");
}

fn job(name: &str, backoff_limit: i64, policy: &str, pod_annotations: Value) -> Job {
    serde_json::from_value(json!({"metadata": {"name": name},
        "spec": {"backoffLimit": backoff_limit, "template": {
            "metadata": {"labels": {"app": name}, "annotations": pod_annotations},
            "spec": {"restartPolicy": policy, "containers": [{"name": "hook", "image": "busybox"}]}}}}))
    .unwrap()
}

fn job_condition<'a>(j: &'a Job, t: &str) -> Option<&'a JobCondition> {
    j.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == t && c.status == "True")
}

fn finished(j: &Job) -> bool {
    job_condition(j, "Complete").is_some() || job_condition(j, "Failed").is_some()
}

/// A Job creates its Pod (labelled and owned as the job controller does),
/// counts it active then succeeded, and completes.
#[tokio::test]
async fn jobs_run_their_pods_and_complete() {
    let (_env, client) = simulated(30).await;
    let jobs: Api<Job> = Api::namespaced(client.clone(), "default");
    let pods: Api<Pod> = Api::namespaced(client, "default");
    let created = jobs
        .create(&PostParams::default(), &job("hook", 6, "Never", json!({})))
        .await
        .unwrap();
    let uid = created.metadata.uid.clone().unwrap();
    let running = until(&jobs, "hook", |j| {
        j.status.as_ref().is_some_and(|s| s.active == Some(1))
    })
    .await;
    assert!(running.status.unwrap().start_time.is_some());
    let done = until(&jobs, "hook", finished).await;
    let s = done.status.clone().unwrap();
    assert_eq!((s.succeeded, s.failed, s.active), (Some(1), None, None));
    assert!(s.completion_time.is_some());
    let complete = job_condition(&done, "Complete").unwrap();
    assert_eq!(complete.reason.as_deref(), Some("CompletionsReached"));
    assert!(job_condition(&done, "SuccessCriteriaMet").is_some());
    let owned = pods
        .list(&ListParams::default().labels(&format!("batch.kubernetes.io/controller-uid={uid}")))
        .await
        .unwrap()
        .items;
    assert_eq!(owned.len(), 1);
    let p = &owned[0];
    assert_eq!(phase(p), "Succeeded");
    let labels = p.metadata.labels.as_ref().unwrap();
    assert_eq!(
        (labels["job-name"].as_str(), labels["app"].as_str()),
        ("hook", "hook")
    );
    let owner = &p.metadata.owner_references.as_ref().unwrap()[0];
    assert_eq!(
        (owner.kind.as_str(), owner.uid.as_str(), owner.controller),
        ("Job", uid.as_str(), Some(true))
    );
    assert!(p.metadata.name.as_ref().unwrap().starts_with("hook-"));
}

/// A Job whose Pods fail retries them up to backoffLimit, then fails with the
/// job controller's reason; with OnFailure the container restarts count.
#[tokio::test]
async fn failing_jobs_retry_up_to_the_backoff_limit() {
    let (_env, client) = simulated(20).await;
    let jobs: Api<Job> = Api::namespaced(client.clone(), "default");
    let pods: Api<Pod> = Api::namespaced(client, "default");
    jobs.create(
        &PostParams::default(),
        &job("never", 2, "Never", json!({EXIT_CODE_ANNOTATION: "1"})),
    )
    .await
    .unwrap();
    // The Job's own failure annotation reaches its Pods too.
    let mut on_job = job("onfailure", 1, "OnFailure", json!({}));
    on_job.metadata.annotations = Some([(FAIL_ANNOTATION.to_string(), "true".to_string())].into());
    jobs.create(&PostParams::default(), &on_job).await.unwrap();

    let never = until(&jobs, "never", finished).await;
    let failed = job_condition(&never, "Failed").expect("Failed condition");
    assert_eq!(failed.reason.as_deref(), Some("BackoffLimitExceeded"));
    assert!(job_condition(&never, "FailureTarget").is_some());
    assert!(job_condition(&never, "Complete").is_none());
    let s = never.status.unwrap();
    assert_eq!((s.failed, s.succeeded, s.active), (Some(3), None, None));
    // One Pod per try: backoffLimit 2 means three tries, all Failed.
    let tries = pods
        .list(&ListParams::default().labels("job-name=never"))
        .await
        .unwrap()
        .items;
    assert_eq!(tries.len(), 3);
    assert!(tries.iter().all(|p| phase(p) == "Failed"));

    let onfailure = until(&jobs, "onfailure", finished).await;
    assert!(job_condition(&onfailure, "Failed").is_some());
    // The restarted Pod is stopped (removed) and counted failed.
    assert_eq!(onfailure.status.unwrap().failed, Some(1));
    assert!(
        pods.list(&ListParams::default().labels("job-name=onfailure"))
            .await
            .unwrap()
            .items
            .is_empty()
    );
}

/// Parallel Pods until the completions are reached; a Job asked to exit 0 succeeds.
#[tokio::test]
async fn jobs_keep_parallelism_until_completions() {
    let (_env, client) = simulated(20).await;
    let jobs: Api<Job> = Api::namespaced(client.clone(), "default");
    let pods: Api<Pod> = Api::namespaced(client, "default");
    let mut j = job("batch", 6, "Never", json!({EXIT_CODE_ANNOTATION: "0"}));
    let spec = j.spec.as_mut().unwrap();
    spec.completions = Some(3);
    spec.parallelism = Some(2);
    jobs.create(&PostParams::default(), &j).await.unwrap();
    let first = until(&jobs, "batch", |j| {
        j.status.as_ref().is_some_and(|s| s.active.is_some())
    })
    .await;
    assert_eq!(first.status.unwrap().active, Some(2));
    let done = until(&jobs, "batch", finished).await;
    assert!(job_condition(&done, "Complete").is_some());
    assert_eq!(done.status.unwrap().succeeded, Some(3));
    let all = pods
        .list(&ListParams::default().labels("job-name=batch"))
        .await
        .unwrap()
        .items;
    assert_eq!(all.len(), 3);
    assert!(all.iter().all(|p| phase(p) == "Succeeded"));
}
