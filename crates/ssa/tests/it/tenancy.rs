//! Applying as a tenant's service account: what its RBAC allows lands,
//! anything else stops the whole set before a single write.

use std::sync::Arc;

use ferroflux_ssa::{Action, ApplyOptions, Manager, Resolver};
use ferroflux_testenv::TestEnv;
use serde_json::json;

use crate::{FIELD_MANAGER, get, writes_so_far, yaml};

/// A server with namespaces `team-a` and `team-b`, and a service account
/// `team-a/deployer` that is admin of `team-a` only; returns a manager
/// impersonating it.
async fn tenant() -> (TestEnv, Manager) {
    let env = TestEnv::start().await.unwrap();
    let admin = Manager::new(
        env.client().await.unwrap(),
        Arc::new(Resolver::new(env.client().await.unwrap())),
        "setup",
    );
    let setup = r#"
apiVersion: v1
kind: Namespace
metadata: {name: team-a}
---
apiVersion: v1
kind: Namespace
metadata: {name: team-b}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: deployer, namespace: team-a}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: deployer-admin, namespace: team-a}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: admin}
subjects:
- {kind: ServiceAccount, name: deployer, namespace: team-a}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: admin}
rules:
- {apiGroups: ["*"], resources: ["*"], verbs: ["*"]}
"#;
    admin
        .apply_all_staged(yaml(setup), &ApplyOptions::default())
        .await
        .unwrap();
    let client = env
        .client_as("system:serviceaccount:team-a:deployer", &[])
        .await
        .unwrap();
    let resolver = Arc::new(Resolver::new(client.clone()));
    (env, Manager::new(client, resolver, FIELD_MANAGER))
}

fn cm(ns: &str, name: &str) -> serde_json::Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": ns}, "data": {"k": "v"}})
}

#[tokio::test]
async fn a_tenant_applies_in_its_own_namespace() {
    let (env, m) = tenant().await;
    let cs = m
        .apply_all_staged(vec![cm("team-a", "one")], &ApplyOptions::default())
        .await
        .unwrap();
    assert_eq!(cs.count(Action::Created), 1);
    assert!(
        get(&env, "v1", "ConfigMap", "team-a", "one")
            .await
            .is_some()
    );
}

#[tokio::test]
async fn another_namespace_is_forbidden_and_nothing_lands() {
    let (env, m) = tenant().await;
    let before = writes_so_far(&env);
    let err = m
        .apply_all_staged(
            vec![cm("team-a", "mine"), cm("team-b", "theirs")],
            &ApplyOptions::default(),
        )
        .await
        .unwrap_err();
    assert!(err.is_forbidden(), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.starts_with("ConfigMap/team-b/theirs get failed (Forbidden)"),
        "{msg}"
    );
    assert!(
        msg.contains("system:serviceaccount:team-a:deployer"),
        "{msg}"
    );
    assert_eq!(writes_so_far(&env), before);
    assert!(
        get(&env, "v1", "ConfigMap", "team-a", "mine")
            .await
            .is_none()
    );
}

#[tokio::test]
async fn a_cluster_scoped_kind_is_forbidden_and_nothing_lands() {
    let (env, m) = tenant().await;
    let before = writes_so_far(&env);
    let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "sneaky"}});
    let err = m
        .apply_all_staged(vec![cm("team-a", "mine"), ns], &ApplyOptions::default())
        .await
        .unwrap_err();
    assert!(err.is_forbidden(), "{err:?}");
    assert!(err.to_string().starts_with("Namespace/sneaky "), "{err}");
    assert_eq!(writes_so_far(&env), before);
    assert!(get(&env, "v1", "Namespace", "", "sneaky").await.is_none());
}
