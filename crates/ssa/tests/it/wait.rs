use std::sync::Arc;
use std::time::Duration;

use ferroflux_ssa::health::Status;
use ferroflux_ssa::{ApplyOptions, Inventory, Manager, Resolver, SsaError};
use ferroflux_testenv::{Options, TestEnv};

use crate::{FIELD_MANAGER, yaml};

fn deployment(name: &str, fail: bool) -> String {
    let annotations = if fail {
        "\n  annotations:\n    testenv.ferroflux.io/fail: \"true\""
    } else {
        ""
    };
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\n  namespace: default{annotations}\nspec:\n  replicas: 2\n  selector:\n    matchLabels: {{app: {name}}}\n  template:\n    metadata:\n      labels: {{app: {name}}}\n    spec:\n      containers:\n      - {{name: c, image: busybox}}\n"
    )
}

async fn simulated(delay: Option<Duration>) -> (TestEnv, Manager) {
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
        Arc::new(Resolver::new(client)),
        FIELD_MANAGER,
    );
    (env, m)
}

#[tokio::test]
async fn a_rolled_out_deployment_is_current() {
    let (_env, m) = simulated(Some(Duration::from_millis(50))).await;
    let cs = m
        .apply_all_staged(yaml(&deployment("web", false)), &ApplyOptions::default())
        .await
        .unwrap();
    let objs = Inventory::from_change_set(&cs).objects;
    m.wait_for_set(&objs, Duration::from_millis(50), Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(m.health_of(&objs).await.unwrap()[0].status, Status::Current);
}

#[tokio::test]
async fn a_failing_deployment_fails_the_wait_at_once() {
    let (_env, m) = simulated(Some(Duration::from_millis(50))).await;
    let cs = m
        .apply_all_staged(yaml(&deployment("web", true)), &ApplyOptions::default())
        .await
        .unwrap();
    let objs = Inventory::from_change_set(&cs).objects;
    let err = m
        .wait_for_set(&objs, Duration::from_millis(50), Duration::from_secs(60))
        .await
        .unwrap_err();
    assert!(matches!(err, SsaError::Unhealthy(_)), "{err:?}");
    assert!(
        err.to_string()
            .starts_with("Deployment/default/web status: 'Failed'"),
        "{err}"
    );
}

#[tokio::test]
async fn a_deployment_that_never_rolls_out_times_out_naming_it() {
    let (_env, m) = simulated(None).await;
    let cs = m
        .apply_all_staged(yaml(&deployment("web", false)), &ApplyOptions::default())
        .await
        .unwrap();
    let objs = Inventory::from_change_set(&cs).objects;
    let err = m
        .wait_for_set(&objs, Duration::from_millis(20), Duration::from_millis(200))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "timeout waiting for: [Deployment/default/web status: 'InProgress']"
    );
}
