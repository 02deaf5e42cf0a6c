//! The four manifests of `/work/shared/seed-manifests` (v1beta2 Flux
//! objects from the seed article), applied with kubectl as written except
//! for their GitHub URLs, which point at the local Git server.

use std::path::PathBuf;

use crate::support::{E2e, Kind, ready_condition};

const PROPERTY_BACKEND: &str = r#"apiVersion: v1
kind: Namespace
metadata:
  name: property
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: backend
  namespace: property
spec:
  replicas: 2
  selector:
    matchLabels: {app: backend}
  template:
    metadata:
      labels: {app: backend}
    spec:
      containers:
      - name: backend
        image: ghcr.io/example/property-backend:1.0.0
---
apiVersion: v1
kind: Service
metadata:
  name: backend
  namespace: property
spec:
  selector: {app: backend}
  ports:
  - port: 80
"#;

/// What the platform team creates for the tenant before its GitRepository
/// and Kustomization: the namespace, the service account the Kustomization
/// names, and a RoleBinding to `admin` in the tenant's namespace only.
const TENANT_SETUP: &str = r#"apiVersion: v1
kind: Namespace
metadata:
  name: tenant-alpha
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: tenant-alpha-reconciler
  namespace: tenant-alpha
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: tenant-alpha-reconciler
  namespace: tenant-alpha
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: admin
subjects:
- kind: ServiceAccount
  name: tenant-alpha-reconciler
  namespace: tenant-alpha
"#;

/// A stand-in for Kubernetes' default `admin` ClusterRole, which testenv
/// does not create (a real cluster has it; then this is not applied).
const ADMIN_ROLE: &str = r#"apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: admin
rules:
- apiGroups: ["", "apps", "batch", "networking.k8s.io", "rbac.authorization.k8s.io"]
  resources: ["*"]
  verbs: ["*"]
"#;

fn tenant_config_map(name: &str, ns: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: {ns}\ndata:\n  tenant: alpha\n"
    )
}

/// The seed manifests with every `https://github.com/<owner>/<repo>` URL
/// pointed at `<local server>/<repo>`; the `ssh://` one is kept (see below).
fn seeds(e2e: &E2e) -> Vec<(String, String)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/seed-manifests");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading the seed manifests in {}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 4, "the seed manifests: {files:?}");
    files
        .into_iter()
        .map(|p| {
            let text =
                std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            let rewritten = text
                .lines()
                .map(|l| match l.split_once("url: https://github.com/") {
                    Some((indent, path)) => {
                        let repo = path
                            .trim_end_matches(".git")
                            .rsplit('/')
                            .next()
                            .unwrap_or_default();
                        format!("{indent}url: {}", e2e.git.url(repo))
                    }
                    None => l.to_string(),
                })
                .collect::<Vec<_>>()
                .join("\n");
            (
                p.file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned(),
                rewritten,
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_manifests_apply_against_local_repositories() {
    let e2e = E2e::start().await;

    // The repositories the seeds name.
    let platform = e2e.repo("property-infrastructure");
    platform
        .write(
            "clusters/production/property-backend/backend.yaml",
            PROPERTY_BACKEND,
        )
        .expect("writing");
    let platform_commit = platform.commit("property backend").expect("commit");
    let tenant = e2e.repo("tenant-alpha-infrastructure");
    tenant
        .write(
            "apps/settings.yaml",
            &tenant_config_map("settings", "tenant-alpha"),
        )
        .expect("writing");
    let tenant_commit = tenant.commit("tenant apps").expect("commit");

    // What the seeds reference but do not contain: the tenant's namespace,
    // service account and RoleBinding, and the `property-infrastructure`
    // GitRepository of 01-flux-kustomization.
    let (has_admin, _, _) = e2e.kubectl(&["get", "clusterrole", "admin"], None).await;
    if !has_admin {
        e2e.apply(ADMIN_ROLE).await;
    }
    e2e.apply(TENANT_SETUP).await;
    e2e.apply(&format!(
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: property-infrastructure\n  namespace: flux-system\nspec:\n  interval: 1h\n  url: {}\n  ref:\n    branch: main\n",
        e2e.git.url("property-infrastructure")
    ))
    .await;

    // The seeds, with kubectl, as written (v1beta2, `validation: client`).
    for (name, text) in seeds(&e2e) {
        let out = e2e.apply(&text).await;
        assert!(out.contains(" created"), "{name}: {out}");
    }

    // The platform Kustomization: Ready, its objects land.
    let k = e2e
        .wait_applied("flux-system", "property-backend", &platform_commit)
        .await;
    assert_eq!(
        crate::support::inventory(&k),
        [
            "_property__Namespace",
            "property_backend__Service",
            "property_backend_apps_Deployment"
        ],
        "property-backend's inventory"
    );
    let d = e2e
        .get(Kind::Deployment, "property", "backend")
        .await
        .expect("Deployment property/backend");
    assert_eq!(d["spec"]["replicas"], 2);
    assert!(
        e2e.get(Kind::Service, "property", "backend")
            .await
            .is_some(),
        "Service property/backend"
    );

    // The tenant's: Ready, applied as tenant-alpha-reconciler.
    e2e.wait_applied("tenant-alpha", "tenant-alpha-apps", &tenant_commit)
        .await;
    let cm = e2e
        .get(Kind::ConfigMap, "tenant-alpha", "settings")
        .await
        .expect("ConfigMap tenant-alpha/settings");
    assert_eq!(cm["data"]["tenant"], "alpha");

    // A tenant commit reaching into another namespace is refused by the API
    // server (the service account may not write there): Forbidden, and no
    // part of that revision is applied.
    tenant
        .write(
            "apps/escape.yaml",
            &tenant_config_map("escape", "flux-system"),
        )
        .expect("writing");
    tenant
        .write(
            "apps/second.yaml",
            &tenant_config_map("second", "tenant-alpha"),
        )
        .expect("writing");
    let escape_commit = tenant.commit("reach into flux-system").expect("commit");
    let (ok, out, err) = e2e
        .kubectl(
            &[
                "annotate",
                "-n",
                "tenant-alpha",
                "--overwrite",
                "gitrepository/tenant-alpha-config",
                "reconcile.fluxcd.io/requestedAt=escape",
            ],
            None,
        )
        .await;
    assert!(ok, "kubectl annotate: {out}{err}");
    let k = e2e
        .wait("tenant-alpha-apps refused with Forbidden", || async {
            let k = e2e
                .get(Kind::Kustomization, "tenant-alpha", "tenant-alpha-apps")
                .await
                .unwrap_or_default();
            match ready_condition(&k) {
                Some((status, _, message))
                    if status == "False" && message.contains("Forbidden") =>
                {
                    Ok(k)
                }
                other => Err(format!("{other:?}")),
            }
        })
        .await;
    assert!(
        k["status"]["lastAttemptedRevision"]
            .as_str()
            .is_some_and(|r| r.ends_with(&escape_commit)),
        "{:#}",
        k["status"]
    );
    assert!(
        k["status"]["lastAppliedRevision"]
            .as_str()
            .is_some_and(|r| r.ends_with(&tenant_commit)),
        "{:#}",
        k["status"]
    );
    let (_, _, message) = ready_condition(&k).unwrap_or_default();
    assert!(
        message.contains("escape"),
        "the message should name the refused object: {message}"
    );
    assert!(
        e2e.get(Kind::ConfigMap, "flux-system", "escape")
            .await
            .is_none(),
        "the tenant wrote into flux-system"
    );
    assert!(
        e2e.get(Kind::ConfigMap, "tenant-alpha", "second")
            .await
            .is_none(),
        "part of the refused revision was applied"
    );
    assert!(
        e2e.get(Kind::ConfigMap, "tenant-alpha", "settings")
            .await
            .is_some(),
        "the tenant's objects were lost"
    );

    // 04-gitrepository-ssh is kept as written (ssh://git@github.com with
    // `secretRef: git-ssh-credentials`): pointing it at the local HTTP server
    // and dropping the secretRef would test nothing the others do not. With
    // no such Secret, source-controller must refuse it with a message naming
    // the Secret — before any network access, so this stays hermetic — and
    // keep reconciling everything else (the objects above).
    let repo = e2e
        .wait("secure-config refused for its missing Secret", || async {
            let g = e2e
                .get(Kind::GitRepository, "flux-system", "secure-config")
                .await
                .unwrap_or_default();
            match ready_condition(&g) {
                Some((status, _, _)) if status == "False" => Ok(g),
                other => Err(format!("{other:?}")),
            }
        })
        .await;
    let (_, reason, message) = ready_condition(&repo).unwrap_or_default();
    assert_eq!(reason, "AuthenticationFailed", "{message}");
    assert!(
        message.contains("git-ssh-credentials") && message.contains("not found"),
        "the message should name the missing Secret: {message}"
    );
    assert!(
        repo["status"]["artifact"].is_null(),
        "an artifact without credentials: {:#}",
        repo["status"]
    );
}
