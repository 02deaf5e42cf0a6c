//! Which identity reads what (as Flux): the source, the dependencies, the
//! `substituteFrom` objects and the decryption Secret are read with the
//! controller's own identity; only applying, pruning and health checks
//! impersonate the tenant. A tenant allowed nothing but ConfigMaps in its
//! namespace still gets its Kustomization Ready.

use ferroflux_api::kustomize::v1::Kustomization;
use ferroflux_api::source::v1::GitRepository;
use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use serde_json::json;

use crate::support::{Setup, apply_as_admin, harness, ks};

const TENANT: &str = "system:serviceaccount:team:tenant";

#[tokio::test]
async fn tenant_without_rights_on_sources_dependencies_or_secrets_gets_ready() {
    let h = harness(Setup::default()).await;
    apply_as_admin(
        &h.client,
        vec![
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}}),
            json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "tenant", "namespace": "team"}}),
            // ConfigMaps in its namespace and nothing else: no GitRepository,
            // no Kustomization, no Secret.
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                "metadata": {"name": "configmaps-only", "namespace": "team"},
                "rules": [{"apiGroups": [""], "resources": ["configmaps"],
                           "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"]}]}),
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                "metadata": {"name": "tenant", "namespace": "team"},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "configmaps-only"},
                "subjects": [{"kind": "ServiceAccount", "name": "tenant", "namespace": "team"}]}),
            json!({"apiVersion": "v1", "kind": "Secret",
                "metadata": {"name": "team-vars", "namespace": "team"},
                "stringData": {"greeting": "hello from a secret"}}),
        ],
    )
    .await;

    // The premise: testenv enforces RBAC, and the tenant may read none of
    // what the controller reads for it.
    let as_tenant = h.env.client_as(TENANT, &[]).await.unwrap();
    let forbidden = |r: Result<Option<()>, kube::Error>, what: &str| match r {
        Err(kube::Error::Api(s)) if s.code == 403 => {}
        other => panic!("the tenant was not refused {what}: {other:?}"),
    };
    forbidden(
        Api::<GitRepository>::namespaced(as_tenant.clone(), "team")
            .get_opt("app")
            .await
            .map(|o| o.map(|_| ())),
        "a GitRepository",
    );
    forbidden(
        Api::<Kustomization>::namespaced(as_tenant.clone(), "team")
            .get_opt("base")
            .await
            .map(|o| o.map(|_| ())),
        "a Kustomization",
    );
    forbidden(
        Api::<Secret>::namespaced(as_tenant, "team")
            .get_opt("team-vars")
            .await
            .map(|o| o.map(|_| ())),
        "a Secret",
    );

    let repo = h.repo("team");
    repo.write(
        "base/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: base\n  namespace: team\ndata:\n  layer: base\n",
    )
    .unwrap();
    repo.write(
        "app/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\n  namespace: team\ndata:\n  greeting: ${greeting}\n",
    )
    .unwrap();
    let commit = repo.commit("team: first").unwrap();
    h.git_repository("team", "app", "team", "1h").await;
    let tenant = json!({"serviceAccountName": "tenant"});
    h.kustomization(ks("team", "base", "app", "./base", tenant.clone()))
        .await;
    h.kustomization(ks(
        "team",
        "app",
        "app",
        "./app",
        json!({
            "serviceAccountName": "tenant",
            "dependsOn": [{"name": "base"}],
            "postBuild": {"substituteFrom": [{"kind": "Secret", "name": "team-vars"}]}
        }),
    ))
    .await;

    h.wait_applied("team", "base", &commit).await;
    h.wait_applied("team", "app", &commit).await;
    let cm = h.get("v1", "ConfigMap", "team", "app").await.unwrap();
    assert_eq!(cm["data"]["greeting"], "hello from a secret");
    // Applied as the tenant: the apply went through its RoleBinding (a
    // Forbidden would have kept the Kustomization from Ready), and what
    // the tenant may not write is still refused.
    repo.write(
        "app/secret.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: planted\n  namespace: team\nstringData:\n  k: v\n",
    )
    .unwrap();
    let bad = repo.commit("team: a secret").unwrap();
    let sources: Api<GitRepository> = Api::namespaced(h.client.clone(), "team");
    h.request(&sources, "app", "second").await;
    let k = h
        .wait_ks("team", "app", "the Secret refused", |k| {
            crate::support::not_ready_with(k, "Secret/team/planted")
                && k.status
                    .as_ref()
                    .and_then(|s| s.last_attempted_revision.as_deref())
                    .is_some_and(|r| r.ends_with(&bad))
        })
        .await;
    let msg = crate::support::ready_message(&k);
    assert!(msg.contains(TENANT), "{msg}");
    assert!(h.get("v1", "Secret", "team", "planted").await.is_none());
}
