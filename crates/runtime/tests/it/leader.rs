//! Leader election on a Lease in the test API server.

use std::time::Duration;

use ferroflux_runtime::leader::{self, LeaderConfig};
use ferroflux_testenv::TestEnv;
use k8s_openapi::api::coordination::v1::Lease;
use kube::Api;

fn cfg(identity: &str, lease: Duration) -> LeaderConfig {
    LeaderConfig {
        namespace: "default".into(),
        name: "source-controller-leader-election".into(),
        identity: identity.into(),
        lease_duration: lease,
        retry_period: Duration::from_millis(50),
    }
}

#[tokio::test]
async fn one_leader_at_a_time_and_takeover_after_expiry_or_release() {
    let env = TestEnv::start().await.unwrap();
    let client = env.client().await.unwrap();
    let api: Api<Lease> = Api::namespaced(client.clone(), "default");
    let a = cfg("replica-a", Duration::from_secs(1));
    let b = cfg("replica-b", Duration::from_secs(1));
    assert!(leader::try_acquire(&api, &a).await.unwrap());
    assert!(
        !leader::try_acquire(&api, &b).await.unwrap(),
        "a holds a fresh lease"
    );
    assert!(
        leader::try_acquire(&api, &a).await.unwrap(),
        "the holder renews"
    );
    // a stops renewing: after the lease duration b takes over.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert!(leader::try_acquire(&api, &b).await.unwrap());
    let lease = api.get("source-controller-leader-election").await.unwrap();
    let spec = lease.spec.unwrap();
    assert_eq!(spec.holder_identity.as_deref(), Some("replica-b"));
    assert_eq!(spec.lease_transitions, Some(1));
    // b releases: a takes over at once.
    leader::release(client.clone(), &b).await.unwrap();
    assert!(leader::try_acquire(&api, &a).await.unwrap());
}

#[tokio::test]
async fn acquire_waits_and_reports_loss() {
    let env = TestEnv::start().await.unwrap();
    let client = env.client().await.unwrap();
    let api: Api<Lease> = Api::namespaced(client.clone(), "default");
    let a = cfg("replica-a", Duration::from_secs(30));
    let mut lead = leader::acquire(client.clone(), a.clone()).await;
    assert!(*lead.borrow());
    // Another replica steals the lease (as after a partition): a notices.
    let mut lease = api.get(&a.name).await.unwrap();
    lease.spec.as_mut().unwrap().holder_identity = Some("replica-b".into());
    api.replace(&a.name, &Default::default(), &lease)
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(10), lead.changed())
        .await
        .unwrap()
        .unwrap();
    assert!(!*lead.borrow());
}
