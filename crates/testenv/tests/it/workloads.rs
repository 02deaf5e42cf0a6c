//! Workload simulation: off by default; when on, workloads report rolled out
//! (or failed, when annotated) after the delay.

use std::time::Duration;

use ferroflux_testenv::{Options, TestEnv};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::batch::v1::Job;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;

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
    let done = wait_status(&jobs, "once", |j| j.status.is_some()).await;
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
