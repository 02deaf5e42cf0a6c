//! The apply engine against the test API server: staged apply, drift,
//! force, annotations, impersonation, prune and health.

mod apply;
mod prune;
mod tenancy;
mod wait;
mod watch;

use std::sync::Arc;

use ferroflux_ssa::{Manager, Resolver};
use ferroflux_testenv::TestEnv;
use serde_json::Value;

/// The field manager Flux's kustomize-controller applies as.
pub const FIELD_MANAGER: &str = "kustomize-controller";

/// A test server and an admin manager over it.
pub async fn setup() -> (TestEnv, Manager) {
    let env = TestEnv::start().await.expect("testenv starts");
    let client = env.client().await.expect("client");
    let manager = Manager::new(
        client.clone(),
        Arc::new(Resolver::new(client)),
        FIELD_MANAGER,
    );
    (env, manager)
}

/// The in-process store's global resourceVersion: it moves on every write.
pub fn writes_so_far(env: &TestEnv) -> u64 {
    env.server().expect("in-process testenv").store.current_rv()
}

/// Parses a multi-document YAML string.
pub fn yaml(docs: &str) -> Vec<Value> {
    docs.split("\n---\n")
        .filter(|d| !d.trim().is_empty())
        .map(|d| serde_yaml::from_str::<Value>(d).expect("test YAML parses"))
        .collect()
}

/// Reads an object as JSON through the admin client (`None`: not found).
pub async fn get(
    env: &TestEnv,
    api_version: &str,
    kind: &str,
    ns: &str,
    name: &str,
) -> Option<Value> {
    let client = env.client().await.expect("client");
    let resolver = Resolver::new(client.clone());
    let r = resolver
        .resolve(api_version, kind)
        .await
        .expect("discovery")?;
    let api: kube::Api<kube::api::DynamicObject> = if r.namespaced {
        kube::Api::namespaced_with(client, ns, &r.resource)
    } else {
        kube::Api::all_with(client, &r.resource)
    };
    api.get_opt(name)
        .await
        .expect("get")
        .map(|o| serde_json::to_value(o).expect("json"))
}
