//! Impersonated requests are authorized by RBAC.

use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use kube::api::{Api, PostParams};
use serde_json::json;

use crate::{env_with_namespaces, status};

#[tokio::test]
async fn namespaced_role_allows_its_namespace_only() {
    let (env, admin) = env_with_namespaces(&["team-a", "team-b"]).await;
    let role: Role = serde_json::from_value(json!({
        "metadata": {"name": "deployer", "namespace": "team-a"},
        "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "create", "update", "patch", "delete"]}]
    }))
    .unwrap();
    Api::<Role>::namespaced(admin.clone(), "team-a")
        .create(&PostParams::default(), &role)
        .await
        .unwrap();
    let binding: RoleBinding = serde_json::from_value(json!({
        "metadata": {"name": "deployer", "namespace": "team-a"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "deployer"},
        "subjects": [{"kind": "ServiceAccount", "name": "deployer", "namespace": "team-a"}]
    }))
    .unwrap();
    Api::<RoleBinding>::namespaced(admin, "team-a")
        .create(&PostParams::default(), &binding)
        .await
        .unwrap();

    let sa = env
        .client_as("system:serviceaccount:team-a:deployer", &[])
        .await
        .unwrap();
    let cm: ConfigMap = serde_json::from_value(json!({"metadata": {"name": "c"}})).unwrap();
    Api::<ConfigMap>::namespaced(sa.clone(), "team-a")
        .create(&PostParams::default(), &cm)
        .await
        .expect("allowed in its own namespace");
    let denied = status(
        Api::<ConfigMap>::namespaced(sa.clone(), "team-b")
            .create(&PostParams::default(), &cm)
            .await,
    );
    assert_eq!((denied.code, denied.reason.as_str()), (403, "Forbidden"));
    assert_eq!(
        denied.message,
        "configmaps is forbidden: User \"system:serviceaccount:team-a:deployer\" cannot create resource \"configmaps\" in API group \"\" in the namespace \"team-b\""
    );
    let cluster = status(Api::<Namespace>::all(sa).list(&Default::default()).await);
    assert_eq!(cluster.code, 403);
    assert!(
        cluster.message.ends_with("at the cluster scope"),
        "{}",
        cluster.message
    );
}
