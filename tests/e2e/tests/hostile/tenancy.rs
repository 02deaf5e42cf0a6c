//! Hostile inputs: impersonation that fails open (the class of Flux's
//! advisories where a tenant's objects were applied with the controller's
//! own rights). A tenant's Kustomization naming a service account that does
//! not exist, or naming none under `--default-service-account`, gets exactly
//! the rights of that (absent) account: none. References to other tenants'
//! namespaces are refused under `--no-cross-namespace-refs`. Nothing of any
//! of them is written, whatever the controller itself may do.

use ferroflux_cli::stack::Component;

use super::{kustomization, wait_failed, wait_ready};
use crate::support::{E2e, Kind};

const TENANT: &str = r#"apiVersion: v1
kind: Namespace
metadata:
  name: tenant
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: default
  namespace: tenant
"#;

fn tenant_source(url: &str) -> String {
    format!(
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: app\n  namespace: tenant\nspec:\n  interval: 1h\n  url: {url}\n  ref:\n    branch: main\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn impersonation_never_falls_back_to_the_controller() {
    let e2e = E2e::start_with(|mut o| {
        o.extra_args.insert(
            Component::KustomizeController,
            vec![
                "--default-service-account=default".into(),
                "--no-cross-namespace-refs=true".into(),
            ],
        );
        o
    })
    .await;
    let repo = e2e.repo("tenant");
    repo.write(
        "app/config.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: grabbed\n  namespace: tenant\ndata:\n  a: b\n",
    )
    .expect("write");
    repo.write(
        "app/role.yaml",
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata:\n  name: tenant-is-admin\nroleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: ClusterRole\n  name: cluster-admin\nsubjects:\n- kind: ServiceAccount\n  name: default\n  namespace: tenant\n",
    )
    .expect("write");
    repo.commit("a tenant reaching for cluster-admin")
        .expect("commit");
    e2e.apply(TENANT).await;
    e2e.apply(&tenant_source(&e2e.git.url("tenant"))).await;
    wait_ready(&e2e, Kind::GitRepository, "tenant", "app").await;
    let source_in_tenant = |name: &str, extra: &str| {
        kustomization("tenant", name, "app", "./app", extra)
            .replace("    namespace: flux-system\n", "    namespace: tenant\n")
    };
    // A service account that does not exist.
    e2e.apply(&source_in_tenant(
        "missing-sa",
        "  serviceAccountName: nobody\n",
    ))
    .await;
    // No service account: `--default-service-account` applies.
    e2e.apply(&source_in_tenant("no-sa", "")).await;
    // A source in another namespace.
    e2e.apply(&kustomization("tenant", "cross", "hostile", "./app", ""))
        .await;

    for name in ["missing-sa", "no-sa"] {
        let (_, message) = wait_failed(&e2e, Kind::Kustomization, "tenant", name).await;
        assert!(
            message.contains("forbidden") || message.contains("Forbidden"),
            "{name}: {message}"
        );
        let user = if name == "missing-sa" {
            "nobody"
        } else {
            "default"
        };
        assert!(
            message.contains(&format!("system:serviceaccount:tenant:{user}")),
            "{name} names who it acted as: {message}"
        );
    }
    let (reason, message) = wait_failed(&e2e, Kind::Kustomization, "tenant", "cross").await;
    assert_eq!(reason, "AccessDenied", "{message}");

    // Nothing written: neither the namespaced object nor the binding.
    assert!(
        e2e.get(Kind::ConfigMap, "tenant", "grabbed")
            .await
            .is_none()
    );
    let (_, out, err) = e2e
        .kubectl(&["get", "clusterrolebinding", "tenant-is-admin"], None)
        .await;
    assert!(
        err.contains("NotFound") || err.contains("not found"),
        "the ClusterRoleBinding must not exist: {out}{err}"
    );
}
