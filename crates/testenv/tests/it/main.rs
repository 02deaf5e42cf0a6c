//! Integration tests of the test API server through real clients: kube's
//! typed and dynamic APIs, kube-runtime's watcher and Controller, and kubectl.

mod allocation;
mod apply;
mod crd;
mod crud;
mod hostile;
mod immutable;
mod kubectl;
mod lifecycle;
mod rbac;
mod tables;
mod validation;
mod watch;
mod workloads;

use ferroflux_testenv::TestEnv;
use k8s_openapi::api::core::v1::Namespace;
use kube::Api;
use kube::api::PostParams;

/// Starts a server and creates the given namespaces.
pub async fn env_with_namespaces(namespaces: &[&str]) -> (TestEnv, kube::Client) {
    let env = TestEnv::start().await.expect("testenv starts");
    let client = env.client().await.expect("client");
    let api: Api<Namespace> = Api::all(client.clone());
    for ns in namespaces {
        let obj: Namespace =
            serde_json::from_value(serde_json::json!({"metadata": {"name": ns}})).unwrap();
        api.create(&PostParams::default(), &obj)
            .await
            .expect("namespace created");
    }
    (env, client)
}

/// The in-process store's global resourceVersion, or `None` against a real
/// cluster (where other writers move it all the time).
pub fn global_rv(env: &TestEnv) -> Option<u64> {
    env.server().map(|s| s.store.current_rv())
}

/// The error code of a failed kube call.
pub fn code<T: std::fmt::Debug>(r: Result<T, kube::Error>) -> u16 {
    match r {
        Err(kube::Error::Api(s)) => s.code,
        other => panic!("expected an API error, got {other:?}"),
    }
}

/// The Status of a failed kube call.
pub fn status<T: std::fmt::Debug>(r: Result<T, kube::Error>) -> kube::core::Status {
    match r {
        Err(kube::Error::Api(s)) => *s,
        other => panic!("expected an API error, got {other:?}"),
    }
}
