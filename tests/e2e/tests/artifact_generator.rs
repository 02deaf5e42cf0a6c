//! Source decomposition, as source-watcher's docs show it, with the
//! binaries: a monorepo GitRepository, an ArtifactGenerator splitting it
//! into one ExternalArtifact per app, and a Kustomization per app built
//! from its ExternalArtifact. A commit that changes one app gives only
//! that app's artifact a new revision, and only its Kustomization applies.

use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind};
use serde_json::Value;

use crate::support::{E2e, Kind, ready};

fn config_map(ns: &str, greeting: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: {ns}\ndata:\n  greeting: \"{greeting}\"\n"
    )
}

fn flux_yaml(url: &str) -> String {
    let mut out = format!(
        r#"apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: monorepo
  namespace: flux-system
spec:
  interval: 1h
  url: {url}
  ref:
    branch: main
---
apiVersion: source.extensions.fluxcd.io/v1beta1
kind: ArtifactGenerator
metadata:
  name: apps
  namespace: flux-system
spec:
  sources:
    - alias: repo
      kind: GitRepository
      name: monorepo
  artifacts:
    - name: frontend
      originRevision: "@repo"
      copy:
        - from: "@repo/deploy/frontend/**"
          to: "@artifact/"
    - name: backend
      originRevision: "@repo"
      copy:
        - from: "@repo/deploy/backend/**"
          to: "@artifact/"
          exclude: ["*.md"]
"#
    );
    for app in ["frontend", "backend"] {
        out.push_str(&format!(
            r#"---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: {app}
  namespace: flux-system
spec:
  interval: 1h
  path: ./
  prune: true
  timeout: 1m
  sourceRef:
    kind: ExternalArtifact
    name: {app}
"#
        ));
    }
    out
}

async fn external_artifact(e2e: &E2e, name: &str) -> Option<Value> {
    let gvk = GroupVersionKind::gvk("source.toolkit.fluxcd.io", "v1", "ExternalArtifact");
    let ar = ApiResource::from_gvk_with_plural(&gvk, "externalartifacts");
    let api: Api<DynamicObject> = Api::namespaced_with(e2e.client.clone(), "flux-system", &ar);
    api.get_opt(name)
        .await
        .expect("reading the ExternalArtifact")
        .map(|o| serde_json::to_value(o).expect("JSON"))
}

/// Waits until the Kustomization `app` applied its ExternalArtifact's
/// revision, other than `not`; returns that revision.
async fn applied(e2e: &E2e, app: &str, not: Option<&str>) -> String {
    e2e.wait(
        &format!("Kustomization {app} at a new ExternalArtifact revision"),
        || async {
            let ea = external_artifact(e2e, app).await;
            let k = e2e.get(Kind::Kustomization, "flux-system", app).await;
            let revision = ea
                .as_ref()
                .and_then(|ea| ea["status"]["artifact"]["revision"].as_str())
                .map(str::to_string);
            match (&k, revision) {
                (Some(k), Some(r))
                    if ready(k)
                        && k["status"]["lastAppliedRevision"] == r.as_str()
                        && Some(r.as_str()) != not =>
                {
                    Ok(r)
                }
                _ => Err(format!(
                    "ExternalArtifact: {:#}\nKustomization: {:#}",
                    ea.unwrap_or_default()["status"],
                    k.unwrap_or_default()["status"]
                )),
            }
        },
    )
    .await
}

async fn greeting(e2e: &E2e, ns: &str) -> Option<String> {
    e2e.get(Kind::ConfigMap, ns, "settings")
        .await
        .and_then(|c| c["data"]["greeting"].as_str().map(str::to_string))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_generator_splits_a_monorepo_into_external_artifacts_kustomizations_apply() {
    let e2e = E2e::start().await;
    let repo = e2e.repo("monorepo");
    repo.write("deploy/frontend/app.yaml", &config_map("frontend", "hello"))
        .expect("writing");
    repo.write("deploy/backend/app.yaml", &config_map("backend", "hello"))
        .expect("writing");
    repo.write("deploy/backend/README.md", "not a manifest")
        .expect("writing");
    let first = repo.commit("first").expect("commit");
    let out = e2e.apply(&flux_yaml(&e2e.git.url("monorepo"))).await;
    assert!(
        out.contains("artifactgenerator.source.extensions.fluxcd.io/apps created"),
        "{out}"
    );

    let frontend = applied(&e2e, "frontend", None).await;
    let backend = applied(&e2e, "backend", None).await;
    assert!(frontend.starts_with("latest@sha256:"), "{frontend}");
    assert_ne!(frontend, backend);
    assert_eq!(greeting(&e2e, "frontend").await.as_deref(), Some("hello"));
    assert_eq!(greeting(&e2e, "backend").await.as_deref(), Some("hello"));
    // The origin revision is the monorepo's commit.
    let ea = external_artifact(&e2e, "backend").await.unwrap();
    assert_eq!(
        ea["status"]["artifact"]["metadata"]["org.opencontainers.image.revision"],
        format!("main@sha1:{first}").as_str()
    );

    // Only the frontend changes: only its artifact gets a new revision.
    repo.write(
        "deploy/frontend/app.yaml",
        &config_map("frontend", "bonjour"),
    )
    .expect("writing");
    repo.commit("frontend only").expect("commit");
    let (ok, _, err) = e2e
        .kubectl(
            &[
                "annotate",
                "--overwrite",
                "-n",
                "flux-system",
                "gitrepository/monorepo",
                "reconcile.fluxcd.io/requestedAt=now",
            ],
            None,
        )
        .await;
    assert!(ok, "{err}");
    let next = applied(&e2e, "frontend", Some(&frontend)).await;
    assert_ne!(next, frontend);
    assert_eq!(greeting(&e2e, "frontend").await.as_deref(), Some("bonjour"));
    let ea = external_artifact(&e2e, "backend").await.unwrap();
    assert_eq!(ea["status"]["artifact"]["revision"], backend.as_str());
    let k = e2e
        .get(Kind::Kustomization, "flux-system", "backend")
        .await
        .unwrap();
    assert_eq!(k["status"]["lastAppliedRevision"], backend.as_str());
}
