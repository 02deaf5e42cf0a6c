//! HelmCharts built from a GitRepository (git http-backend) or a Bucket
//! (moto), with dependencies from the same source, from an HTTP chart
//! repository (charts made by the Helm SDK) and from an OCI registry
//! (`docker-registry`, charts pushed by the Helm SDK); and HelmCharts from
//! an OCI HelmRepository. Every packaged artifact is loaded and rendered by
//! the Helm SDK.

use ferroflux_api::conditions::{self, ObjectWithConditions};
use ferroflux_api::source::v1::{Bucket, GitRepository, HelmChart};
use ferroflux_testsupport::git::ServerAuth;
use ferroflux_testsupport::helm_repo::{self, ChartSpec, StaticServer};
use ferroflux_testsupport::oci_registry::{self, Registry, RegistryOptions};
use ferroflux_testsupport::s3::S3Server;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;

use crate::git::fixtures::{Fixture, HttpServer};
use crate::helm::{
    PASSWORD, chart_revision, harness, helm_chart, helm_repo, ready_reason, secret, wait_for,
};

const NS: &str = "flux-system";

async fn create<K>(client: &kube::Client, obj: serde_json::Value)
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + serde::de::DeserializeOwned
        + serde::Serialize
        + std::fmt::Debug,
    K::DynamicType: Default,
{
    let obj: K = serde_json::from_value(obj).unwrap();
    Api::<K>::namespaced(client.clone(), NS)
        .create(&PostParams::default(), &obj)
        .await
        .unwrap();
}

async fn request_reconcile<K>(api: &Api<K>, name: &str, token: &str)
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    api.patch(
        name,
        &PatchParams::default(),
        &Patch::Merge(
            json!({"metadata": {"annotations": {"reconcile.fluxcd.io/requestedAt": token}}}),
        ),
    )
    .await
    .unwrap();
}

async fn patch_spec(api: &Api<HelmChart>, name: &str, spec: serde_json::Value) {
    api.patch(
        name,
        &PatchParams::default(),
        &Patch::Merge(json!({ "spec": spec })),
    )
    .await
    .unwrap();
}

/// Downloads `chart`'s artifact and has the Helm SDK load and render it.
async fn sdk_view(python: &std::path::Path, chart: &HelmChart) -> serde_json::Value {
    let artifact = chart.status.as_ref().unwrap().artifact.clone().unwrap();
    ferroflux_runtime::tls::install_crypto_provider();
    let bytes = reqwest::get(&artifact.url)
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("chart.tgz");
    std::fs::write(&file, &bytes).unwrap();
    helm_repo::sdk_load_and_render(python, &file)
        .unwrap_or_else(|e| panic!("the Helm SDK refused the artifact: {e}"))
}

fn dependency_versions(view: &serde_json::Value) -> Vec<(String, String)> {
    let mut deps: Vec<(String, String)> = view["dependencies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["name"].as_str().unwrap().to_string(),
                d["version"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    deps.sort();
    deps
}

fn is_ready(o: &HelmChart) -> bool {
    conditions::is_true(o.conditions(), conditions::READY)
        && o.status.as_ref().and_then(|s| s.observed_generation) == o.metadata.generation
}

const APP_TEMPLATE: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-app\ndata:\n  greeting: {{ .Values.greeting | quote }}\n  label: {{ include \"common.label\" . | quote }}\n";

#[tokio::test]
async fn a_chart_from_git_is_built_with_local_http_and_oci_dependencies() {
    let Some(python) = helm_repo::sdk_python() else {
        return;
    };
    if !oci_registry::available() {
        return;
    }
    // An HTTP chart repository behind basic auth, and an OCI registry.
    let repo_dir = tempfile::tempdir().unwrap();
    helm_repo::package_and_index(
        &python,
        repo_dir.path(),
        &[
            ChartSpec::new("redis", "1.0.0"),
            ChartSpec::new("redis", "1.0.5"),
            ChartSpec::new("redis", "1.1.0"),
        ],
    );
    let server = StaticServer::start(
        repo_dir.path(),
        ServerAuth::Basic("flux".into(), PASSWORD.into()),
    );
    let registry = Registry::start();
    let oci_url = registry.url("charts");
    helm_repo::push_oci(
        &python,
        &oci_url,
        &[
            ChartSpec::new("cache", "0.4.0"),
            ChartSpec::new("cache", "0.5.0"),
        ],
        None,
    );

    // The chart in Git: a file:// library chart beside it, redis from the
    // HTTP repository, cache from the registry.
    let (fixture, _) = Fixture::new();
    let files = [
        (
            "charts/app/Chart.yaml",
            format!(
                "apiVersion: v2\nname: app\nversion: 0.1.0\ndependencies:\n- name: common\n  version: '>=0.1.0'\n  repository: file://../common\n- name: redis\n  version: '~1.0'\n  repository: {}\n- name: cache\n  version: '0.4.x'\n  repository: {oci_url}\n",
                server.url()
            ),
        ),
        (
            "charts/app/values.yaml",
            "greeting: hello\nredis: {replicas: 2}\n".to_string(),
        ),
        (
            "charts/app/values-prod.yaml",
            "greeting: prod\n".to_string(),
        ),
        ("charts/app/templates/cm.yaml", APP_TEMPLATE.to_string()),
        (
            "charts/common/Chart.yaml",
            "apiVersion: v2\nname: common\nversion: 0.3.0\ntype: library\n".to_string(),
        ),
        (
            "charts/common/templates/_helpers.tpl",
            "{{- define \"common.label\" -}}common-{{ .Chart.Name }}{{- end -}}\n".to_string(),
        ),
    ];
    for (path, text) in &files {
        let p = fixture.work.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    let head = fixture.push_new_commit("chart");
    let git_server = HttpServer::start(&fixture.repos, ServerAuth::None);

    let h = harness().await;
    secret(
        &h.client,
        "helm-auth",
        json!({"username": "flux", "password": PASSWORD}),
    )
    .await;
    h.repos
        .create(
            &PostParams::default(),
            &helm_repo(
                "charts",
                json!({"url": server.url(), "interval": "1h", "secretRef": {"name": "helm-auth"}}),
            ),
        )
        .await
        .unwrap();
    h.repos
        .create(
            &PostParams::default(),
            &helm_repo(
                "registry",
                json!({"url": oci_url, "type": "oci", "insecure": true, "interval": "1h"}),
            ),
        )
        .await
        .unwrap();
    create::<GitRepository>(
        &h.client,
        json!({
            "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
            "metadata": {"name": "repo", "namespace": NS},
            "spec": {"url": git_server.url("repo.git"), "interval": "1h", "ref": {"branch": "master"}},
        }),
    )
    .await;
    let charts: Api<HelmChart> = Api::namespaced(h.client.clone(), NS);
    charts
        .create(
            &PostParams::default(),
            &helm_chart(
                "flux-system-app",
                json!({
                    "chart": "./charts/app",
                    "sourceRef": {"kind": "GitRepository", "name": "repo"},
                    "interval": "1h",
                    "reconcileStrategy": "Revision",
                    "valuesFiles": ["charts/app/values.yaml", "charts/app/values-prod.yaml"],
                }),
            ),
        )
        .await
        .unwrap();

    let ready = wait_for(&charts, "flux-system-app", "Ready", is_ready).await;
    let revision = format!("0.1.0+{}.1", &head[..12]);
    assert_eq!(chart_revision(&ready).as_deref(), Some(revision.as_str()));
    let status = ready.status.clone().unwrap();
    let artifact = status.artifact.clone().unwrap();
    assert_eq!(
        artifact.path,
        format!("helmchart/{NS}/flux-system-app/app-{revision}.tgz")
    );
    assert_eq!(status.url.as_deref(), Some(artifact.url.as_str()));
    assert_eq!(
        status.observed_source_artifact_revision,
        Some(format!("master@sha1:{head}"))
    );
    assert_eq!(status.observed_chart_name.as_deref(), Some("./charts/app"));
    assert_eq!(
        status.observed_values_files,
        ["charts/app/values.yaml", "charts/app/values-prod.yaml"]
    );
    // Flux's words: Ready and ArtifactInStorage say what was built.
    let summary = format!(
        "packaged 'app' chart with version '{revision}' and merged values files [charts/app/values.yaml charts/app/values-prod.yaml]"
    );
    assert_eq!(
        ready_reason(&ready).unwrap(),
        (true, "ChartPackageSucceeded".to_string(), summary.clone())
    );
    let stored = conditions::get(ready.conditions(), conditions::ARTIFACT_IN_STORAGE).unwrap();
    assert_eq!(
        (stored.reason.as_str(), stored.message.as_str()),
        ("ChartPackageSucceeded", summary.as_str())
    );
    assert!(conditions::get(ready.conditions(), conditions::ARTIFACT_OUTDATED).is_none());
    let announced = |events: &[serde_json::Value]| {
        events.iter().any(|e| {
            e["reason"] == "ChartPackageSucceeded"
                && e["message"] == summary.as_str()
                && e["metadata"]["source.toolkit.fluxcd.io/revision"] == revision.as_str()
        })
    };
    for _ in 0..200 {
        if announced(&h.events.events()) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(announced(&h.events.events()), "{:?}", h.events.events());
    // Waiting for the GitRepository's first artifact was no failure.
    assert!(
        !h.events
            .events()
            .iter()
            .any(|e| e["involvedObject"]["kind"] == "HelmChart" && e["severity"] == "error"),
        "{:?}",
        h.events.events()
    );

    // Helm loads the package: every dependency in charts/, merged values,
    // the library's helper and the subcharts' values at work.
    let view = sdk_view(&python, &ready).await;
    assert_eq!(view["metadata"]["version"], revision.as_str());
    assert_eq!(
        dependency_versions(&view),
        [
            ("cache".to_string(), "0.4.0".to_string()),
            ("common".to_string(), "0.3.0".to_string()),
            ("redis".to_string(), "1.0.5".to_string()),
        ]
    );
    assert_eq!(view["values"]["greeting"], "prod");
    let rendered = &view["rendered"];
    let app = rendered["app/templates/cm.yaml"].as_str().unwrap();
    assert!(app.contains("greeting: \"prod\""), "{app}");
    assert!(app.contains("label: \"common-app\""), "{app}");
    // The values files are merged: redis.replicas from values.yaml stays.
    let redis = rendered["app/charts/redis/templates/configmap.yaml"]
        .as_str()
        .unwrap();
    assert!(redis.contains("replicas: \"2\""), "{redis}");
    // The HTTP dependency was fetched with the HelmRepository's credentials.
    assert!(
        server
            .requests()
            .iter()
            .any(|r| r.path.ends_with("redis-1.0.5.tgz") && r.authorized && r.status == 200),
        "{:?}",
        server.requests()
    );

    // A new commit: the Revision strategy makes a new artifact once the
    // GitRepository has it (the HelmChart is woken by the watch).
    std::fs::write(
        fixture.work.join("charts/app/values-prod.yaml"),
        "greeting: prod-2\n",
    )
    .unwrap();
    let head2 = fixture.push_new_commit("values");
    let gits: Api<GitRepository> = Api::namespaced(h.client.clone(), NS);
    request_reconcile(&gits, "repo", "1").await;
    let revision2 = format!("0.1.0+{}.1", &head2[..12]);
    let updated = wait_for(&charts, "flux-system-app", "the new revision", |o| {
        chart_revision(o).as_deref() == Some(revision2.as_str())
    })
    .await;
    let view = sdk_view(&python, &updated).await;
    assert_eq!(view["values"]["greeting"], "prod-2");
}

#[tokio::test]
async fn a_chart_from_a_bucket_follows_its_version_and_bad_paths_stall() {
    let Some(python) = helm_repo::sdk_python() else {
        return;
    };
    let Some(s3) = S3Server::start() else {
        return;
    };
    let chart_yaml = |v: &str| format!("apiVersion: v2\nname: app\nversion: {v}\n");
    // A public chart repository no HelmRepository names: read anonymously.
    let public = tempfile::tempdir().unwrap();
    helm_repo::package_and_index(
        &python,
        public.path(),
        &[ChartSpec::new("db", "2.0.0"), ChartSpec::new("db", "2.1.0")],
    );
    let public_server = StaticServer::start(public.path(), ServerAuth::None);
    let anon_chart = format!(
        "apiVersion: v2\nname: anon\nversion: 3.0.0\ndependencies:\n- name: db\n  version: '~2.0'\n  repository: {}\n",
        public_server.url()
    );
    let template = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndata:\n  v: {{ .Chart.Version | quote }}\n";
    s3.create_bucket(
        "charts",
        &[
            ("app/Chart.yaml", chart_yaml("0.1.0").as_bytes()),
            ("app/templates/cm.yaml", template.as_bytes()),
            (
                "escape/Chart.yaml",
                b"apiVersion: v2\nname: escape\nversion: 1.0.0\ndependencies:\n- name: x\n  version: '*'\n  repository: file://../../../../etc\n",
            ),
            (
                "far/Chart.yaml",
                b"apiVersion: v2\nname: far\nversion: 1.0.0\ndependencies:\n- name: x\n  version: '*'\n  repository: '@stable'\n",
            ),
            ("anon/Chart.yaml", anon_chart.as_bytes()),
        ],
    );
    let h = harness().await;
    secret(
        &h.client,
        "s3",
        json!({"accesskey": s3.access_key.clone().unwrap_or_default(), "secretkey": s3.secret_key.clone().unwrap_or_default()}),
    )
    .await;
    create::<Bucket>(
        &h.client,
        json!({
            "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "Bucket",
            "metadata": {"name": "charts", "namespace": NS},
            "spec": {"bucketName": "charts", "endpoint": s3.endpoint(), "insecure": true,
                     "interval": "1h", "secretRef": {"name": "s3"}},
        }),
    )
    .await;
    let charts: Api<HelmChart> = Api::namespaced(h.client.clone(), NS);
    for (name, path) in [
        ("app", "app"),
        ("escape", "escape"),
        ("far", "far"),
        ("missing", "nope"),
        ("climb", "../app"),
        ("anon", "anon"),
    ] {
        charts
            .create(
                &PostParams::default(),
                &helm_chart(
                    name,
                    json!({"chart": path, "sourceRef": {"kind": "Bucket", "name": "charts"}, "interval": "1h"}),
                ),
            )
            .await
            .unwrap();
    }

    let ready = wait_for(&charts, "app", "Ready", is_ready).await;
    assert_eq!(chart_revision(&ready).as_deref(), Some("0.1.0"));
    assert_eq!(
        ready_reason(&ready).unwrap().2,
        "packaged 'app' chart with version '0.1.0'"
    );
    let first = ready.status.clone().unwrap().artifact.unwrap();
    assert_eq!(first.path, format!("helmchart/{NS}/app/app-0.1.0.tgz"));
    let bucket_revision = ready
        .status
        .as_ref()
        .unwrap()
        .observed_source_artifact_revision
        .clone()
        .unwrap();
    assert!(bucket_revision.starts_with("sha256:"), "{bucket_revision}");
    let view = sdk_view(&python, &ready).await;
    assert!(
        view["rendered"]["app/templates/cm.yaml"]
            .as_str()
            .unwrap()
            .contains("v: \"0.1.0\"")
    );

    // The anonymous dependency: the repository's index and chart fetched
    // without credentials, the newest 2.0.x packaged in.
    let anon = wait_for(&charts, "anon", "Ready", is_ready).await;
    let view = sdk_view(&python, &anon).await;
    assert_eq!(
        dependency_versions(&view),
        [("db".to_string(), "2.0.0".to_string())]
    );
    let asked: Vec<String> = public_server
        .requests()
        .iter()
        .map(|r| r.path.clone())
        .collect();
    assert!(asked.iter().any(|p| p == "/index.yaml"), "{asked:?}");
    assert!(
        asked.iter().any(|p| p.ends_with("db-2.0.0.tgz")),
        "{asked:?}"
    );

    // Bad paths and dependencies: a clear reason, stalled, nothing stored.
    for (name, reason, words) in [
        (
            "escape",
            "InvalidChartReference",
            "points outside the source",
        ),
        ("far", "InvalidChartReference", "repository '@stable'"),
        (
            "missing",
            "InvalidChartReference",
            "no chart found at path 'nope'",
        ),
        (
            "climb",
            "InvalidChartReference",
            "points outside the source",
        ),
    ] {
        let failed = wait_for(&charts, name, "a failure", |o| {
            ready_reason(o).is_some_and(|(ok, _, _)| !ok)
                && conditions::is_true(o.conditions(), conditions::STALLED)
        })
        .await;
        let (_, got_reason, message) = ready_reason(&failed).unwrap();
        assert_eq!(got_reason, reason, "{name}: {message}");
        assert!(message.contains(words), "{name}: {message}");
        assert!(failed.status.as_ref().unwrap().artifact.is_none(), "{name}");
    }
    // The escaping dependency fails after the chart's version was read:
    // the object says a new chart is waiting to be stored.
    let escape = charts.get("escape").await.unwrap();
    let outdated = conditions::get(escape.conditions(), conditions::ARTIFACT_OUTDATED).unwrap();
    assert_eq!(outdated.status, "True");
    assert_eq!(outdated.reason, "NewChart");
    assert!(outdated.message.contains("'1.0.0'"), "{}", outdated.message);

    // The same version with other content: ChartVersion keeps the artifact.
    let buckets: Api<Bucket> = Api::namespaced(h.client.clone(), NS);
    s3.put(
        "charts",
        &[(
            "app/templates/cm.yaml",
            template.replace("v:", "version:").as_bytes(),
        )],
    );
    request_reconcile(&buckets, "charts", "1").await;
    let bucket_moved = |o: &Bucket| {
        o.status
            .as_ref()
            .and_then(|s| s.artifact.as_ref())
            .is_some_and(|a| a.revision != bucket_revision)
    };
    wait_for(&buckets, "charts", "the new object", bucket_moved).await;
    // A version bump makes a new artifact.
    s3.put(
        "charts",
        &[("app/Chart.yaml", chart_yaml("0.2.0").as_bytes())],
    );
    request_reconcile(&buckets, "charts", "2").await;
    let bumped = wait_for(&charts, "app", "version 0.2.0", |o| {
        chart_revision(o).as_deref() == Some("0.2.0")
    })
    .await;
    let view = sdk_view(&python, &bumped).await;
    assert!(
        view["rendered"]["app/templates/cm.yaml"]
            .as_str()
            .unwrap()
            .contains("version: \"0.2.0\"")
    );
    // With the Revision strategy the bucket's digest prefix is the metadata.
    patch_spec(&charts, "app", json!({"reconcileStrategy": "Revision"})).await;
    let by_revision = wait_for(&charts, "app", "a Revision version", |o| {
        is_ready(o) && chart_revision(o).is_some_and(|r| r.starts_with("0.2.0+"))
    })
    .await;
    let src = by_revision
        .status
        .as_ref()
        .unwrap()
        .observed_source_artifact_revision
        .clone()
        .unwrap();
    let hex = src.strip_prefix("sha256:").unwrap();
    assert_eq!(
        chart_revision(&by_revision),
        Some(format!("0.2.0+{}", &hex[..12]))
    );
}

#[tokio::test]
async fn charts_from_an_oci_helm_repository() {
    let Some(python) = helm_repo::sdk_python() else {
        return;
    };
    if !oci_registry::available() {
        return;
    }
    let mut registry = Registry::start_with(RegistryOptions {
        auth: Some(("flux".into(), PASSWORD.into())),
        tls: None,
    });
    let url = registry.url("charts");
    helm_repo::push_oci(
        &python,
        &url,
        &[
            ChartSpec::new("app", "1.0.0").file("values-prod.yaml", "replicas: 5\n"),
            ChartSpec::new("app", "1.2.0"),
            ChartSpec::new("app", "1.3.0+build.1"),
            ChartSpec::new("app", "2.0.0-rc.1"),
        ],
        Some(("flux", PASSWORD)),
    );
    let h = harness().await;
    secret(
        &h.client,
        "oci-auth",
        json!({"username": "flux", "password": PASSWORD}),
    )
    .await;
    secret(
        &h.client,
        "oci-wrong",
        json!({"username": "flux", "password": "not-the-Pa55word"}),
    )
    .await;
    for (name, secret) in [("oci", "oci-auth"), ("oci-wrong", "oci-wrong")] {
        h.repos
            .create(
                &PostParams::default(),
                &helm_repo(
                    name,
                    json!({"url": url, "type": "oci", "insecure": true, "interval": "1h", "secretRef": {"name": secret}}),
                ),
            )
            .await
            .unwrap();
    }
    let charts: Api<HelmChart> = Api::namespaced(h.client.clone(), NS);
    for (name, repo) in [("app", "oci"), ("wrong", "oci-wrong")] {
        charts
            .create(
                &PostParams::default(),
                &helm_chart(
                    name,
                    json!({"chart": "app", "version": "1.x", "interval": "1h",
                           "sourceRef": {"kind": "HelmRepository", "name": repo}}),
                ),
            )
            .await
            .unwrap();
    }

    // The newest 1.x tag; `1.3.0_build.1` in the registry is 1.3.0+build.1.
    let ready = wait_for(&charts, "app", "Ready", is_ready).await;
    assert_eq!(chart_revision(&ready).as_deref(), Some("1.3.0+build.1"));
    let artifact = ready.status.clone().unwrap().artifact.unwrap();
    assert_eq!(
        artifact.path,
        format!("helmchart/{NS}/app/app-1.3.0+build.1.tgz")
    );
    assert_eq!(
        ready_reason(&ready).unwrap(),
        (
            true,
            "ChartPullSucceeded".to_string(),
            "pulled 'app' chart with version '1.3.0+build.1'".to_string()
        )
    );
    let view = sdk_view(&python, &ready).await;
    assert_eq!(view["metadata"]["version"], "1.3.0+build.1");

    // Wrong credentials: AuthenticationFailed, the password nowhere.
    let wrong = wait_for(&charts, "wrong", "a failure", |o| {
        ready_reason(o).is_some_and(|(ok, _, _)| !ok)
    })
    .await;
    let (_, reason, message) = ready_reason(&wrong).unwrap();
    assert_eq!(reason, "AuthenticationFailed", "{message}");
    let text = serde_json::to_string(&wrong).unwrap();
    assert!(!text.contains("not-the-Pa55word") && !text.contains(PASSWORD));

    // A new version in range is picked up at once after requestedAt.
    helm_repo::push_oci(
        &python,
        &url,
        &[ChartSpec::new("app", "1.4.0")],
        Some(("flux", PASSWORD)),
    );
    request_reconcile(&charts, "app", "1").await;
    wait_for(&charts, "app", "1.4.0", |o| {
        chart_revision(o).as_deref() == Some("1.4.0")
    })
    .await;

    // A registry that is down: retried, the new version outdated until it
    // is back, the stored artifact kept.
    registry.stop();
    patch_spec(&charts, "app", json!({"version": "1.2.0"})).await;
    let down = wait_for(&charts, "app", "a failure", |o| {
        o.status.as_ref().and_then(|s| s.observed_generation) == o.metadata.generation
            && ready_reason(o).is_some_and(|(ok, _, _)| !ok)
    })
    .await;
    let (_, reason, message) = ready_reason(&down).unwrap();
    assert_eq!(reason, "Failed", "{message}");
    assert!(message.contains("failed to download chart"), "{message}");
    assert!(!conditions::is_true(down.conditions(), conditions::STALLED));
    let outdated = conditions::get(down.conditions(), conditions::ARTIFACT_OUTDATED).unwrap();
    assert_eq!(
        (outdated.reason.as_str(), outdated.status.as_str()),
        ("NewChart", "True")
    );
    assert_eq!(chart_revision(&down).as_deref(), Some("1.4.0"));
    registry.resume();
    let back = wait_for(&charts, "app", "1.2.0 once the registry is back", |o| {
        is_ready(o) && chart_revision(o).as_deref() == Some("1.2.0")
    })
    .await;
    assert!(conditions::get(back.conditions(), conditions::ARTIFACT_OUTDATED).is_none());

    // An exact version is pulled as it is; values files repackage it.
    patch_spec(
        &charts,
        "app",
        json!({"version": "1.0.0", "valuesFiles": ["values.yaml", "values-prod.yaml"]}),
    )
    .await;
    let exact = wait_for(&charts, "app", "1.0.0 with values", |o| {
        is_ready(o) && chart_revision(o).as_deref() == Some("1.0.0+3")
    })
    .await;
    assert_eq!(
        exact.status.as_ref().unwrap().observed_values_files,
        ["values.yaml", "values-prod.yaml"]
    );
    let view = sdk_view(&python, &exact).await;
    assert_eq!(view["values"]["replicas"], 5);
    assert!(
        view["rendered"]["app/templates/configmap.yaml"]
            .as_str()
            .unwrap()
            .contains("replicas: \"5\"")
    );

    // A range nothing matches stalls with Flux's reason.
    patch_spec(
        &charts,
        "app",
        json!({"version": "9.*", "valuesFiles": null}),
    )
    .await;
    let stalled = wait_for(&charts, "app", "stalled", |o| {
        conditions::is_true(o.conditions(), conditions::STALLED)
    })
    .await;
    let (_, reason, message) = ready_reason(&stalled).unwrap();
    assert_eq!(reason, "InvalidChartReference");
    assert!(
        message.contains("could not locate a version matching provided version string 9.*"),
        "{message}"
    );
    // The last good artifact stays.
    assert_eq!(chart_revision(&stalled).as_deref(), Some("1.0.0+3"));
}

#[tokio::test]
async fn an_oci_helm_repository_over_tls_trusts_its_cert_secret_ref() {
    let Some(python) = helm_repo::sdk_python() else {
        return;
    };
    if !oci_registry::available() {
        return;
    }
    let certs = ferroflux_testsupport::tls::TestCerts::new();
    let registry = Registry::start_with(RegistryOptions {
        auth: None,
        tls: Some(certs.clone()),
    });
    let url = registry.url("charts");
    helm_repo::push_oci_with(
        &python,
        &url,
        &[ChartSpec::new("app", "0.9.0")],
        None,
        Some(&certs.ca()),
    );
    let h = harness().await;
    secret(&h.client, "registry-ca", json!({"ca.crt": certs.ca()})).await;
    for (name, spec) in [
        (
            "trusted",
            json!({"url": url, "type": "oci", "interval": "1h", "certSecretRef": {"name": "registry-ca"}}),
        ),
        (
            "untrusted",
            json!({"url": url, "type": "oci", "interval": "1h"}),
        ),
    ] {
        h.repos
            .create(&PostParams::default(), &helm_repo(name, spec))
            .await
            .unwrap();
    }
    let charts: Api<HelmChart> = Api::namespaced(h.client.clone(), NS);
    for name in ["trusted", "untrusted"] {
        charts
            .create(
                &PostParams::default(),
                &helm_chart(
                    name,
                    json!({"chart": "app", "interval": "1h",
                           "sourceRef": {"kind": "HelmRepository", "name": name}}),
                ),
            )
            .await
            .unwrap();
    }
    let ready = wait_for(&charts, "trusted", "Ready", is_ready).await;
    assert_eq!(chart_revision(&ready).as_deref(), Some("0.9.0"));
    let view = sdk_view(&python, &ready).await;
    assert_eq!(view["metadata"]["name"], "app");
    // Without the CA the registry's certificate is not trusted.
    let refused = wait_for(&charts, "untrusted", "a failure", |o| {
        ready_reason(o).is_some_and(|(ok, _, _)| !ok)
    })
    .await;
    let (_, _, message) = ready_reason(&refused).unwrap();
    assert!(
        message.contains("could not get tags for 'app'"),
        "{message}"
    );
    assert!(refused.status.as_ref().unwrap().artifact.is_none());
}
