//! A HelmRelease whose `chartRef` is an ExternalArtifact: the chart is
//! composed by an ArtifactGenerator (source-controller runs in the
//! harness) from a GitRepository, its values merged with a production
//! file, and released as Helm would release it.

use serde_json::json;

use crate::support::{Setup, apply_as_admin, harness, ready};
use ferroflux_testsupport::git::{GitRepo, GitServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chart_from_an_external_artifact_is_released() {
    let Some(h) = harness(Setup::default()).await else {
        return;
    };
    let ns = "eachart";
    h.namespace_with_repo(ns).await;
    let git_dir = tempfile::tempdir().unwrap();
    let git = GitServer::start(git_dir.path(), None).unwrap();
    let repo = GitRepo::create(git.root(), "charts").unwrap();
    repo.write(
        "charts/app/Chart.yaml",
        "apiVersion: v2\nname: app\nversion: 0.4.0\n",
    )
    .unwrap();
    repo.write(
        "charts/app/values.yaml",
        "greeting: from-git\nlabel: base\n",
    )
    .unwrap();
    repo.write(
        "charts/app/templates/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-cm\ndata:\n  greeting: {{ .Values.greeting | quote }}\n  label: {{ .Values.label | quote }}\n",
    )
    .unwrap();
    repo.write("envs/prod/values.yaml", "greeting: from-prod\n")
        .unwrap();
    repo.commit("chart").unwrap();
    apply_as_admin(
        &h.client,
        vec![
            json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
                   "metadata": {"name": "charts", "namespace": ns},
                   "spec": {"url": git.url("charts"), "interval": "1h", "ref": {"branch": "main"}}}),
            json!({"apiVersion": "source.extensions.fluxcd.io/v1beta1", "kind": "ArtifactGenerator",
                   "metadata": {"name": "app", "namespace": ns},
                   "spec": {
                       "sources": [{"alias": "git", "kind": "GitRepository", "name": "charts"}],
                       "artifacts": [{"name": "app-chart", "originRevision": "@git", "copy": [
                           {"from": "@git/charts/app/", "to": "@artifact/"},
                           {"from": "@git/envs/prod/values.yaml", "to": "@artifact/app/values.yaml",
                            "strategy": "Merge"}
                       ]}]
                   }}),
        ],
    )
    .await;
    h.helm_release(json!({
        "apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
        "metadata": {"name": "web", "namespace": ns},
        "spec": {"interval": "1h", "chartRef": {"kind": "ExternalArtifact", "name": "app-chart"}}
    }))
    .await;
    let hr = h
        .wait_hr(ns, "web", "installed from the ExternalArtifact", ready)
        .await;
    let status = hr.status.as_ref().unwrap();
    assert_eq!(status.history[0].chart_version, "0.4.0");
    let ea = h
        .get(
            "source.toolkit.fluxcd.io/v1",
            "ExternalArtifact",
            ns,
            "app-chart",
        )
        .await
        .unwrap();
    let revision = ea["status"]["artifact"]["revision"].as_str().unwrap();
    assert!(revision.starts_with("latest@sha256:"), "{revision}");
    assert_eq!(status.last_attempted_revision.as_deref(), Some("0.4.0"));
    let cm = h.get("v1", "ConfigMap", ns, "web-cm").await.unwrap();
    assert_eq!(cm["data"]["greeting"], "from-prod");
    assert_eq!(cm["data"]["label"], "base");
}
