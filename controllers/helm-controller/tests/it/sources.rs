//! Where charts and values come from: valuesFrom (ConfigMaps, Secrets,
//! targetPath, optional, the watch label), post-renderers and common
//! metadata, and a chart from a GitRepository through its HelmChart.

use ferroflux_api::conditions;
use ferroflux_testsupport::git::{GitRepo, GitServer};
use serde_json::json;

use crate::support::{Setup, apply_as_admin, chart, cond, harness, ready, release};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn values_come_from_config_maps_and_secrets_in_order() {
    let Some(h) = harness(Setup::default()).await else {
        return;
    };
    let ns = "vals";
    h.publish(&[chart("demo", "1.0.0")]);
    h.namespace_with_repo(ns).await;
    apply_as_admin(
        &h.client,
        vec![
            json!({"apiVersion": "v1", "kind": "ConfigMap",
                   "metadata": {"name": "base", "namespace": ns, "labels": {"reconcile.fluxcd.io/watch": "Enabled"}},
                   "data": {"values.yaml": "greeting: from-configmap\nextra: 1\n"}}),
            json!({"apiVersion": "v1", "kind": "Secret",
                   "metadata": {"name": "secret-greeting", "namespace": ns},
                   "stringData": {"word": "from-secret"}}),
        ],
    )
    .await;
    let mut obj = release(ns, "web", "demo", "1.0.0", json!({"extra": 2}));
    obj["spec"]["valuesFrom"] = json!([
        {"kind": "ConfigMap", "name": "base"},
        {"kind": "Secret", "name": "secret-greeting", "valuesKey": "word", "targetPath": "greeting"},
        {"kind": "ConfigMap", "name": "missing", "optional": true},
    ]);
    h.helm_release(obj.clone()).await;
    h.wait_hr(ns, "web", "installed", ready).await;
    let cm = h.get("v1", "ConfigMap", ns, "web-cm").await.unwrap();
    assert_eq!(cm["data"]["greeting"], "from-secret", "later entries win");
    let results = h
        .sdk(ns, json!([{"op": "get_values", "name": "web"}]))
        .await;
    assert_eq!(
        crate::support::ok(&results, 0, "get_values"),
        &json!({"greeting": "from-secret", "extra": 2}),
        "inline values are merged last"
    );

    // A change in the labelled ConfigMap upgrades at once (interval is 1h).
    obj["spec"]["valuesFrom"] = json!([{"kind": "ConfigMap", "name": "base"}]);
    h.helm_release(obj.clone()).await;
    h.wait_hr(ns, "web", "upgraded", |hr| {
        ready(hr)
            && hr
                .status
                .as_ref()
                .is_some_and(|s| s.history[0].version == 2)
    })
    .await;
    apply_as_admin(
        &h.client,
        vec![json!({"apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": "base", "namespace": ns, "labels": {"reconcile.fluxcd.io/watch": "Enabled"}},
                    "data": {"values.yaml": "greeting: changed\n"}})],
    )
    .await;
    h.wait_hr(ns, "web", "upgraded on the ConfigMap change", |hr| {
        ready(hr)
            && hr
                .status
                .as_ref()
                .is_some_and(|s| s.history[0].version == 3)
    })
    .await;
    let cm = h.get("v1", "ConfigMap", ns, "web-cm").await.unwrap();
    assert_eq!(cm["data"]["greeting"], "changed");

    // A missing required reference fails without touching the release.
    obj["spec"]["valuesFrom"] = json!([{"kind": "Secret", "name": "nope"}]);
    h.helm_release(obj).await;
    let hr = h
        .wait_hr(ns, "web", "values error", |hr| {
            cond(hr, conditions::READY).is_some_and(|c| c.1 == "ValuesError")
        })
        .await;
    assert!(
        cond(&hr, conditions::READY)
            .unwrap()
            .2
            .contains("Secret 'vals/nope'")
    );
    assert_eq!(hr.status.as_ref().unwrap().history[0].version, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn post_renderers_and_common_metadata_shape_the_objects() {
    let Some(h) = harness(Setup::default()).await else {
        return;
    };
    let ns = "post";
    h.publish(&[chart("demo", "1.0.0")]);
    h.namespace_with_repo(ns).await;
    let mut obj = release(ns, "web", "demo", "1.0.0", json!({}));
    obj["spec"]["commonMetadata"] =
        json!({"labels": {"team": "blue"}, "annotations": {"owner": "ops"}});
    obj["spec"]["postRenderers"] = json!([{"kustomize": {"patches": [{
        "target": {"kind": "ConfigMap"},
        "patch": "- op: add\n  path: /data/patched\n  value: \"yes\"\n"
    }]}}]);
    h.helm_release(obj.clone()).await;
    h.wait_hr(ns, "web", "installed", ready).await;
    let cm = h.get("v1", "ConfigMap", ns, "web-cm").await.unwrap();
    assert_eq!(cm["data"]["patched"], "yes");
    assert_eq!(cm["metadata"]["labels"]["team"], "blue");
    assert_eq!(cm["metadata"]["annotations"]["owner"], "ops");
    // The stored manifest is the post-rendered one (helm get manifest shows it).
    let results = h.sdk(ns, json!([{"op": "status", "name": "web"}])).await;
    let status = crate::support::ok(&results, 0, "status");
    assert!(status.to_string().contains("patched"), "{status}");
    // Changing only the post-renderers upgrades.
    obj["spec"]["postRenderers"][0]["kustomize"]["patches"][0]["patch"] =
        json!("- op: add\n  path: /data/patched\n  value: \"again\"\n");
    h.helm_release(obj).await;
    h.wait_hr(ns, "web", "upgraded", |hr| {
        ready(hr)
            && hr
                .status
                .as_ref()
                .is_some_and(|s| s.history[0].version == 2)
    })
    .await;
    let cm = h.get("v1", "ConfigMap", ns, "web-cm").await.unwrap();
    assert_eq!(cm["data"]["patched"], "again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chart_from_a_git_repository_is_released() {
    let Some(h) = harness(Setup::default()).await else {
        return;
    };
    let ns = "gitchart";
    h.namespace_with_repo(ns).await;
    let git_dir = tempfile::tempdir().unwrap();
    let git = GitServer::start(git_dir.path(), None).unwrap();
    let repo = GitRepo::create(git.root(), "charts").unwrap();
    repo.write(
        "charts/app/Chart.yaml",
        "apiVersion: v2\nname: app\nversion: 0.3.0\n",
    )
    .unwrap();
    repo.write("charts/app/values.yaml", "greeting: from-git\n")
        .unwrap();
    repo.write(
        "charts/app/templates/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-cm\ndata:\n  greeting: {{ .Values.greeting | quote }}\n",
    )
    .unwrap();
    repo.commit("chart").unwrap();
    apply_as_admin(
        &h.client,
        vec![json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
                    "metadata": {"name": "charts", "namespace": ns},
                    "spec": {"url": git.url("charts"), "interval": "1h", "ref": {"branch": "main"}}})],
    )
    .await;
    h.helm_release(json!({
        "apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
        "metadata": {"name": "web", "namespace": ns},
        "spec": {"interval": "1h", "chart": {"spec": {
            "chart": "./charts/app",
            "sourceRef": {"kind": "GitRepository", "name": "charts"}
        }}}
    }))
    .await;
    let hr = h.wait_hr(ns, "web", "installed from Git", ready).await;
    assert_eq!(
        hr.status.as_ref().unwrap().history[0].chart_version,
        "0.3.0"
    );
    let cm = h.get("v1", "ConfigMap", ns, "web-cm").await.unwrap();
    assert_eq!(cm["data"]["greeting"], "from-git");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chart_from_an_oci_repository_records_its_digest() {
    use ferroflux_testsupport::oci_registry::{Registry, available};
    if !available() {
        return;
    }
    let Some(h) = harness(Setup::default()).await else {
        return;
    };
    let ns = "ocichart";
    h.namespace_with_repo(ns).await;
    let registry = Registry::start();
    ferroflux_testsupport::helm_repo::push_oci(
        &h.python,
        &registry.url("charts"),
        &[chart("demo", "1.2.0")],
        None,
    );
    apply_as_admin(
        &h.client,
        vec![json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "OCIRepository",
                    "metadata": {"name": "demo", "namespace": ns},
                    "spec": {"url": registry.url("charts/demo"), "interval": "1h", "insecure": true,
                             "ref": {"tag": "1.2.0"},
                             "layerSelector": {"mediaType": "application/vnd.cncf.helm.chart.content.v1.tar+gzip", "operation": "copy"}}})],
    )
    .await;
    h.helm_release(json!({
        "apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
        "metadata": {"name": "web", "namespace": ns},
        "spec": {"interval": "1h", "chartRef": {"kind": "OCIRepository", "name": "demo"}}
    }))
    .await;
    let hr = h.wait_hr(ns, "web", "installed from OCI", ready).await;
    let snap = &hr.status.as_ref().unwrap().history[0];
    let digest = snap.oci_digest.clone().expect("OCI digest recorded");
    let hex = digest.strip_prefix("sha256:").expect("sha256 digest");
    assert_eq!(snap.chart_version, format!("1.2.0+{}", &hex[..12]));
    assert_eq!(
        hr.status
            .as_ref()
            .unwrap()
            .last_attempted_revision_digest
            .as_deref(),
        Some(digest.as_str())
    );
    assert!(h.get("v1", "ConfigMap", ns, "web-cm").await.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lookup_reads_the_cluster_and_schemas_can_be_skipped() {
    let Some(h) = harness(Setup::default()).await else {
        return;
    };
    let ns = "lookup";
    h.publish(&[
        chart("looker", "1.0.0").file(
            "templates/seen.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-seen\ndata:\n  seed: {{ (lookup \"v1\" \"ConfigMap\" .Release.Namespace \"seed\").data.value | default \"absent\" | quote }}\n  missing: {{ (lookup \"v1\" \"ConfigMap\" .Release.Namespace \"nope\") | len | quote }}\n",
        ),
        chart("strict", "1.0.0").file(
            "values.schema.json",
            r#"{"type": "object", "properties": {"greeting": {"type": "integer"}}}"#,
        ),
    ]);
    h.namespace_with_repo(ns).await;
    apply_as_admin(
        &h.client,
        vec![json!({"apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": "seed", "namespace": ns}, "data": {"value": "from-cluster"}})],
    )
    .await;
    h.helm_release(release(ns, "web", "looker", "1.0.0", json!({})))
        .await;
    h.wait_hr(ns, "web", "installed", ready).await;
    let seen = h.get("v1", "ConfigMap", ns, "web-seen").await.unwrap();
    assert_eq!(seen["data"]["seed"], "from-cluster");
    assert_eq!(seen["data"]["missing"], "0");

    h.helm_release(release(ns, "strict", "strict", "1.0.0", json!({})))
        .await;
    let hr = h
        .wait_hr(ns, "strict", "schema refused", |hr| {
            cond(hr, conditions::RELEASED).is_some_and(|c| c.1 == "InstallFailed")
        })
        .await;
    assert!(
        cond(&hr, conditions::RELEASED)
            .unwrap()
            .2
            .contains("greeting")
    );
    let mut obj = release(ns, "strict", "strict", "1.0.0", json!({}));
    obj["spec"]["install"] = json!({"disableSchemaValidation": true});
    h.helm_release(obj).await;
    h.wait_hr(ns, "strict", "installed without schema validation", ready)
        .await;
}

/// A HelmRelease written as v2beta2 with the old inline post-renderer
/// patches is reconciled as v2 and the patches are kept and applied.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_old_helm_release_keeps_its_legacy_patches() {
    let Some(h) = harness(Setup::default()).await else {
        return;
    };
    let ns = "vintage";
    h.publish(&[chart("demo", "1.0.0")]);
    h.namespace_with_repo(ns).await;
    apply_as_admin(
        &h.client,
        vec![json!({
            "apiVersion": "helm.toolkit.fluxcd.io/v2beta2", "kind": "HelmRelease",
            "metadata": {"name": "web", "namespace": ns},
            "spec": {
                "interval": "1h",
                "chart": {"spec": {"chart": "demo", "version": "1.0.0",
                                    "sourceRef": {"kind": "HelmRepository", "name": "repo"}}},
                "postRenderers": [{"kustomize": {"patchesStrategicMerge": [
                    {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "web-cm"},
                     "data": {"legacy": "kept"}}
                ]}}]
            }
        })],
    )
    .await;
    h.wait_hr(ns, "web", "installed", ready).await;
    let cm = h.get("v1", "ConfigMap", ns, "web-cm").await.unwrap();
    assert_eq!(cm["data"]["legacy"], "kept");
}
