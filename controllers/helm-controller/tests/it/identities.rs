//! Which identity reads what (as Flux): the chart's source, the HelmChart,
//! the dependencies and `valuesFrom` are read with the controller's own
//! identity; only the release (its objects and Helm's storage) is written
//! as the tenant. A tenant allowed nothing but ConfigMaps and Secrets in its
//! namespace still gets its HelmReleases Ready.

use ferroflux_api::helm::v2::HelmRelease;
use ferroflux_api::source::v1::{HelmChart, HelmRepository};
use kube::Api;
use serde_json::json;

use crate::support::{Setup, apply_as_admin, chart, harness, ready, release};

const TENANT: &str = "system:serviceaccount:hr-tenant:tenant";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenant_without_rights_on_sources_or_releases_gets_ready() {
    let Some(h) = harness(Setup::default()).await else {
        return;
    };
    let ns = "hr-tenant";
    h.publish(&[chart("demo", "1.0.0")]);
    h.namespace_with_repo(ns).await;
    apply_as_admin(
        &h.client,
        vec![
            json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "tenant", "namespace": ns}}),
            // What a release of this chart writes, and Helm's storage: no
            // HelmRelease, HelmChart or HelmRepository.
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                "metadata": {"name": "release-writer", "namespace": ns},
                "rules": [{"apiGroups": [""], "resources": ["configmaps", "secrets"],
                           "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"]}]}),
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                "metadata": {"name": "tenant", "namespace": ns},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "release-writer"},
                "subjects": [{"kind": "ServiceAccount", "name": "tenant", "namespace": ns}]}),
            json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "frontend-values", "namespace": ns},
                "data": {"values.yaml": "greeting: from valuesFrom\n"}}),
        ],
    )
    .await;

    // The premise: testenv enforces RBAC, and the tenant may read none of
    // the Flux objects the controller reads for it.
    let as_tenant = h.env.client_as(TENANT, &[]).await.unwrap();
    let refused = |r: Result<(), kube::Error>, what: &str| match r {
        Err(kube::Error::Api(s)) if s.code == 403 => {}
        other => panic!("the tenant was not refused {what}: {other:?}"),
    };
    refused(
        Api::<HelmRepository>::namespaced(as_tenant.clone(), ns)
            .get("repo")
            .await
            .map(|_| ()),
        "a HelmRepository",
    );
    refused(
        Api::<HelmRelease>::namespaced(as_tenant.clone(), ns)
            .list(&Default::default())
            .await
            .map(|_| ()),
        "HelmReleases",
    );
    refused(
        Api::<HelmChart>::namespaced(as_tenant, ns)
            .list(&Default::default())
            .await
            .map(|_| ()),
        "HelmCharts",
    );

    let mut backend = release(ns, "backend", "demo", "1.0.0", json!({}));
    backend["spec"]["serviceAccountName"] = json!("tenant");
    h.helm_release(backend).await;
    let mut frontend = release(ns, "frontend", "demo", "1.0.0", json!({}));
    frontend["spec"]["serviceAccountName"] = json!("tenant");
    frontend["spec"]["dependsOn"] = json!([{"name": "backend"}]);
    frontend["spec"]["valuesFrom"] = json!([{"kind": "ConfigMap", "name": "frontend-values"}]);
    h.helm_release(frontend).await;

    h.wait_hr(ns, "backend", "installed as the tenant", ready)
        .await;
    h.wait_hr(ns, "frontend", "installed after its dependency", ready)
        .await;
    let cm = h.get("v1", "ConfigMap", ns, "frontend-cm").await.unwrap();
    assert_eq!(cm["data"]["greeting"], "from valuesFrom");
    assert!(h.get("v1", "ConfigMap", ns, "backend-cm").await.is_some());
}
