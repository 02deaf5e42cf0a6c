//! HelmRepository (and HelmChart) against a real chart repository: charts
//! packaged and indexed by the Helm SDK (`helm-python-sdk`), served by a
//! static file server with basic auth or TLS; the controller started as the
//! binary starts it, over the test API server.

use std::path::{Path, PathBuf};
use std::time::Duration;

use ferroflux_api::conditions::{self, ObjectWithConditions};
use ferroflux_api::source::v1::HelmRepository;
use ferroflux_runtime::controller::LoopConfig;
use ferroflux_testenv::TestEnv;
use ferroflux_testsupport::git::ServerAuth;
use ferroflux_testsupport::helm_repo::{self, ChartSpec, StaticServer};
use ferroflux_testsupport::sink::Sink;
use ferroflux_testsupport::tls::TestCerts;
use k8s_openapi::api::core::v1::{Event, Namespace, Secret};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, PostParams};
use serde_json::json;
use sha2::Digest;

pub(crate) const PASSWORD: &str = "helm-Pa55word-9d2e";

pub(crate) struct Harness {
    _env: TestEnv,
    pub(crate) client: kube::Client,
    pub(crate) repos: Api<HelmRepository>,
    pub(crate) storage_root: PathBuf,
    pub(crate) events: Sink,
    _dirs: Vec<tempfile::TempDir>,
    _controller: source_controller::Running,
}

pub(crate) async fn harness() -> Harness {
    let env = TestEnv::start().await.unwrap();
    let client = env.client().await.unwrap();
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    for crd in ferroflux_api::crds::all().unwrap() {
        crds.create(&PostParams::default(), &crd).await.unwrap();
    }
    let ns: Namespace =
        serde_json::from_value(json!({"metadata": {"name": "flux-system"}})).unwrap();
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &ns)
        .await
        .unwrap();
    let storage_dir = tempfile::tempdir().unwrap();
    let cache_dir = tempfile::tempdir().unwrap();
    let root = storage_dir.path().to_path_buf();
    let events = Sink::answering(202, "").await;
    let controller = source_controller::start(
        client.clone(),
        source_controller::Config {
            storage_path: root.clone(),
            storage_addr: "127.0.0.1:0".to_string(),
            storage_adv_addr: None,
            artifact_retention_records: source_controller::storage::DEFAULT_RETENTION,
            no_cross_namespace_refs: false,
            git_cache_path: cache_dir.path().to_path_buf(),
            limits: Default::default(),
            scratch: None,
            events_addr: Some(format!("{}/", events.url)),
            loop_config: LoopConfig {
                backoff_base: Duration::from_millis(100),
                backoff_max: Duration::from_secs(1),
                ..Default::default()
            },
            leader: None,
        },
    )
    .await
    .unwrap();
    Harness {
        repos: Api::namespaced(client.clone(), "flux-system"),
        client,
        _env: env,
        storage_root: root,
        events,
        _dirs: vec![storage_dir, cache_dir],
        _controller: controller,
    }
}

pub(crate) async fn secret(client: &kube::Client, name: &str, data: serde_json::Value) {
    let s: Secret =
        serde_json::from_value(json!({"metadata": {"name": name}, "stringData": data})).unwrap();
    Api::<Secret>::namespaced(client.clone(), "flux-system")
        .create(&PostParams::default(), &s)
        .await
        .unwrap();
}

pub(crate) fn helm_repo(name: &str, spec: serde_json::Value) -> HelmRepository {
    serde_json::from_value(json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "HelmRepository",
        "metadata": {"name": name, "namespace": "flux-system"},
        "spec": spec,
    }))
    .unwrap()
}

pub(crate) async fn wait_for<K>(
    api: &Api<K>,
    name: &str,
    what: &str,
    check: impl Fn(&K) -> bool,
) -> K
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    for _ in 0..600 {
        if let Ok(o) = api.get(name).await
            && check(&o)
        {
            return o;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "{name} never reached: {what}: {:?}",
        api.get(name).await.ok()
    );
}

fn repo_revision(o: &HelmRepository) -> Option<String> {
    o.status
        .as_ref()?
        .artifact
        .as_ref()
        .map(|a| a.revision.clone())
}

pub(crate) fn ready_reason<K: ObjectWithConditions>(o: &K) -> Option<(bool, String, String)> {
    conditions::get(o.conditions(), conditions::READY)
        .map(|c| (c.status == "True", c.reason.clone(), c.message.clone()))
}

fn sha256_hex(path: &Path) -> String {
    hex::encode(sha2::Sha256::digest(std::fs::read(path).unwrap()))
}

/// A chart directory packaged and indexed by the Helm SDK, or `None` when
/// the peer is missing outside CI.
fn chart_dir(charts: &[ChartSpec]) -> Option<tempfile::TempDir> {
    let python = helm_repo::sdk_python()?;
    let dir = tempfile::tempdir().unwrap();
    helm_repo::package_and_index(&python, dir.path(), charts);
    Some(dir)
}

#[tokio::test]
async fn the_index_is_stored_as_flux_stores_it_and_follows_new_versions() {
    let Some(charts) = chart_dir(&[
        ChartSpec::new("podinfo", "6.0.0"),
        ChartSpec::new("podinfo", "6.0.3"),
        ChartSpec::new("other", "1.0.0"),
    ]) else {
        return;
    };
    let h = harness().await;
    let server = StaticServer::start(
        charts.path(),
        ServerAuth::Basic("flux".into(), PASSWORD.into()),
    );
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
                "podinfo",
                json!({"url": server.url(), "interval": "1s", "secretRef": {"name": "helm-auth"}}),
            ),
        )
        .await
        .unwrap();
    let index_hex = sha256_hex(&charts.path().join("index.yaml"));
    let ready = wait_for(&h.repos, "podinfo", "the index revision", |o| {
        repo_revision(o) == Some(format!("sha256:{index_hex}"))
    })
    .await;
    let (is_ready, reason, _) = ready_reason(&ready).unwrap();
    assert!(is_ready && reason == "Succeeded", "{:?}", ready.status);
    let artifact = ready.status.as_ref().unwrap().artifact.clone().unwrap();
    // As Flux: `index-<revision hex>.yaml`, the index as fetched.
    assert_eq!(
        artifact.path,
        format!("helmrepository/flux-system/podinfo/index-{index_hex}.yaml")
    );
    assert_eq!(
        artifact.digest.as_deref(),
        Some(format!("sha256:{index_hex}").as_str())
    );
    let stored = std::fs::read(h.storage_root.join(&artifact.path)).unwrap();
    assert_eq!(
        stored,
        std::fs::read(charts.path().join("index.yaml")).unwrap()
    );
    let served = reqwest::get(&artifact.url)
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(&served[..], &stored[..]);
    assert_eq!(
        ready.status.as_ref().unwrap().url.as_deref(),
        Some(artifact.url.as_str())
    );
    // Every request carried the credentials; the server saw the index only.
    let requests = server.requests();
    assert!(
        requests
            .iter()
            .all(|r| r.authorized && r.path == "/index.yaml"),
        "{requests:?}"
    );
    let announced = h.events.events().iter().any(|e| {
        e["reason"] == "NewArtifact"
            && e["metadata"]["source.toolkit.fluxcd.io/revision"] == format!("sha256:{index_hex}")
    });
    assert!(announced, "{:?}", h.events.events());

    // Polls of an unchanged index write nothing.
    let polls = server.requests().len();
    wait_for(&h.repos, "podinfo", "two more polls", |_| {
        server.requests().len() >= polls + 2
    })
    .await;
    let idle = h.repos.get("podinfo").await.unwrap();
    assert_eq!(
        idle.metadata.resource_version, ready.metadata.resource_version,
        "idle polls wrote the object"
    );

    // A new chart version: a new index and a new artifact on the next poll.
    let python = helm_repo::sdk_python().unwrap();
    helm_repo::package_and_index(
        &python,
        charts.path(),
        &[ChartSpec::new("podinfo", "6.1.0")],
    );
    let new_hex = sha256_hex(&charts.path().join("index.yaml"));
    assert_ne!(new_hex, index_hex);
    let moved = wait_for(&h.repos, "podinfo", "the new index", |o| {
        repo_revision(o) == Some(format!("sha256:{new_hex}"))
    })
    .await;
    let path = moved.status.unwrap().artifact.unwrap().path;
    assert!(h.storage_root.join(&path).exists());
}

#[tokio::test]
async fn wrong_credentials_and_a_server_that_is_down() {
    let Some(charts) = chart_dir(&[ChartSpec::new("podinfo", "6.0.0")]) else {
        return;
    };
    let h = harness().await;
    let server = StaticServer::start(
        charts.path(),
        ServerAuth::Basic("flux".into(), PASSWORD.into()),
    );
    let wrong = "not-the-helm-Pa55word";
    secret(
        &h.client,
        "bad-auth",
        json!({"username": "flux", "password": wrong}),
    )
    .await;
    h.repos
        .create(
            &PostParams::default(),
            &helm_repo(
                "locked",
                json!({"url": server.url(), "interval": "1h", "secretRef": {"name": "bad-auth"}}),
            ),
        )
        .await
        .unwrap();
    let failed = wait_for(&h.repos, "locked", "Ready=False", |o| {
        conditions::is_false(o.conditions(), conditions::READY)
    })
    .await;
    let (_, reason, message) = ready_reason(&failed).unwrap();
    assert_eq!(reason, "AuthenticationFailed", "{message}");
    assert!(message.contains("401"), "{message}");
    assert!(conditions::is_true(
        failed.conditions(),
        conditions::FETCH_FAILED
    ));

    // A missing Secret is an authentication failure too, naming the Secret.
    h.repos
        .create(
            &PostParams::default(),
            &helm_repo(
                "nosecret",
                json!({"url": server.url(), "interval": "1h", "secretRef": {"name": "absent"}}),
            ),
        )
        .await
        .unwrap();
    let missing = wait_for(&h.repos, "nosecret", "Ready=False", |o| {
        conditions::is_false(o.conditions(), conditions::READY)
    })
    .await;
    let (_, reason, message) = ready_reason(&missing).unwrap();
    assert_eq!(reason, "AuthenticationFailed");
    assert!(message.contains("absent"), "{message}");

    // A server that is down: Failed and retried; once it is up, ready,
    // while the other objects carry on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    h.repos
        .create(
            &PostParams::default(),
            &helm_repo(
                "down",
                json!({"url": format!("http://127.0.0.1:{port}/"), "interval": "1h"}),
            ),
        )
        .await
        .unwrap();
    let down = wait_for(&h.repos, "down", "Ready=False", |o| {
        conditions::is_false(o.conditions(), conditions::READY)
    })
    .await;
    let (_, reason, message) = ready_reason(&down).unwrap();
    assert_eq!(reason, "Failed", "{message}");
    assert!(
        message.contains("failed to fetch Helm repository index"),
        "{message}"
    );
    let open = StaticServer::start_on(port, charts.path(), ServerAuth::None);
    wait_for(&h.repos, "down", "ready once the server is up", |o| {
        conditions::is_true(o.conditions(), conditions::READY)
    })
    .await;
    assert!(open.requests().iter().any(|r| r.status == 200));

    // No password anywhere: status, Kubernetes events, posted events.
    let everything = serde_json::to_string(&h.repos.get("locked").await.unwrap()).unwrap();
    let kube_events = Api::<Event>::namespaced(h.client.clone(), "flux-system")
        .list(&Default::default())
        .await
        .unwrap();
    let text = everything
        + &serde_json::to_string(&kube_events).unwrap()
        + &serde_json::to_string(&h.events.events()).unwrap();
    assert!(text.contains("AuthenticationFailed"), "{text}");
    assert!(!text.contains(wrong) && !text.contains(PASSWORD));
}

#[tokio::test]
async fn tls_oci_and_hostile_indexes() {
    let Some(charts) = chart_dir(&[ChartSpec::new("podinfo", "6.0.0")]) else {
        return;
    };
    let h = harness().await;

    // HTTPS with a client certificate, trusted through certSecretRef.
    let certs = TestCerts::new();
    let tls = StaticServer::start_tls(charts.path(), ServerAuth::None, &certs, true);
    secret(
        &h.client,
        "helm-tls",
        json!({"ca.crt": certs.ca(), "tls.crt": certs.client_cert(), "tls.key": certs.client_key()}),
    )
    .await;
    h.repos
        .create(
            &PostParams::default(),
            &helm_repo(
                "tls",
                json!({"url": tls.url(), "interval": "1h", "certSecretRef": {"name": "helm-tls"}}),
            ),
        )
        .await
        .unwrap();
    h.repos
        .create(
            &PostParams::default(),
            &helm_repo("untrusted", json!({"url": tls.url(), "interval": "1h"})),
        )
        .await
        .unwrap();
    wait_for(&h.repos, "tls", "ready over TLS", |o| {
        repo_revision(o).is_some()
    })
    .await;
    let untrusted = wait_for(&h.repos, "untrusted", "Ready=False", |o| {
        conditions::is_false(o.conditions(), conditions::READY)
    })
    .await;
    assert!(repo_revision(&untrusted).is_none());

    // type: oci: only the URL is checked; ready, no artifact.
    h.repos
        .create(
            &PostParams::default(),
            &helm_repo(
                "oci",
                json!({"type": "oci", "url": "oci://127.0.0.1:5000/charts", "interval": "1h"}),
            ),
        )
        .await
        .unwrap();
    let oci = wait_for(&h.repos, "oci", "Ready", |o| {
        conditions::is_true(o.conditions(), conditions::READY)
    })
    .await;
    assert!(repo_revision(&oci).is_none());
    // An oci:// URL on a default repository stalls, as Flux.
    h.repos
        .create(
            &PostParams::default(),
            &helm_repo(
                "wrongtype",
                json!({"url": "oci://127.0.0.1:5000/charts", "interval": "1h"}),
            ),
        )
        .await
        .unwrap();
    let wrong = wait_for(&h.repos, "wrongtype", "Stalled", |o| {
        conditions::is_true(o.conditions(), conditions::STALLED)
    })
    .await;
    assert_eq!(ready_reason(&wrong).unwrap().1, "URLInvalid");

    // Hostile indexes: an alias bomb, one over the size limit, one that is
    // not an index. Each is refused with a clear condition and no artifact.
    let hostile = tempfile::tempdir().unwrap();
    let mut bomb = String::from(
        "apiVersion: v1\nentries:\n  bomb:\n  - &a0 {name: bomb, version: 1.0.0, urls: [x.tgz]}\n",
    );
    let mut prev = "a0".to_string();
    for i in 1..10 {
        bomb.push_str(&format!("  - &a{i} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"));
        prev = format!("a{i}");
    }
    for (dir, content) in [
        ("bomb", bomb.as_bytes().to_vec()),
        ("junk", b"- not\n- an index\n".to_vec()),
    ] {
        std::fs::create_dir_all(hostile.path().join(dir)).unwrap();
        std::fs::write(hostile.path().join(dir).join("index.yaml"), content).unwrap();
    }
    std::fs::create_dir_all(hostile.path().join("huge")).unwrap();
    let huge = std::fs::File::create(hostile.path().join("huge/index.yaml")).unwrap();
    huge.set_len(source_controller::helm::DEFAULT_MAX_INDEX_SIZE + 1)
        .unwrap();
    let server = StaticServer::start(hostile.path(), ServerAuth::None);
    for (name, reason, needle) in [
        (
            "bomb",
            "IndexationFailed",
            "failed to load Helm repository index",
        ),
        (
            "junk",
            "IndexationFailed",
            "failed to load Helm repository index",
        ),
        ("huge", "SizeLimitExceeded", "exceeds the maximum size"),
    ] {
        h.repos
            .create(
                &PostParams::default(),
                &helm_repo(
                    name,
                    json!({"url": format!("{}{name}", server.url()), "interval": "1h"}),
                ),
            )
            .await
            .unwrap();
        let refused = wait_for(&h.repos, name, "Ready=False", |o| {
            conditions::is_false(o.conditions(), conditions::READY)
        })
        .await;
        let (_, got, message) = ready_reason(&refused).unwrap();
        assert_eq!(got, reason, "{name}: {message}");
        assert!(message.contains(needle), "{name}: {message}");
        assert!(repo_revision(&refused).is_none(), "{name}");
        assert!(
            !h.storage_root
                .join(format!("helmrepository/flux-system/{name}"))
                .exists()
        );
    }
}

pub(crate) fn helm_chart(
    name: &str,
    spec: serde_json::Value,
) -> ferroflux_api::source::v1::HelmChart {
    serde_json::from_value(json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "HelmChart",
        "metadata": {"name": name, "namespace": "flux-system"},
        "spec": spec,
    }))
    .unwrap()
}

pub(crate) fn chart_revision(o: &ferroflux_api::source::v1::HelmChart) -> Option<String> {
    o.status
        .as_ref()?
        .artifact
        .as_ref()
        .map(|a| a.revision.clone())
}

/// The files of a chart archive, by path.
pub(crate) fn tgz_files(bytes: &[u8]) -> std::collections::BTreeMap<String, String> {
    use std::io::Read;
    let mut out = std::collections::BTreeMap::new();
    let mut ar = tar::Archive::new(flate2::read::GzDecoder::new(bytes));
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        let path = e.path().unwrap().to_string_lossy().into_owned();
        let mut text = String::new();
        let _ = e.read_to_string(&mut text);
        out.insert(path, text);
    }
    out
}

#[tokio::test]
async fn charts_follow_the_range_new_versions_and_values_files() {
    let Some(charts) = chart_dir(&[
        ChartSpec::new("podinfo", "6.0.0"),
        ChartSpec::new("podinfo", "6.0.3")
            .file("values-prod.yaml", "replicas: 3\nextra: {on: true}\n"),
        ChartSpec::new("podinfo", "7.0.0-rc.1"),
        ChartSpec::new("other", "1.0.0"),
    ]) else {
        return;
    };
    let h = harness().await;
    let server = StaticServer::start(
        charts.path(),
        ServerAuth::Basic("flux".into(), PASSWORD.into()),
    );
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
                "podinfo",
                json!({"url": server.url(), "interval": "1h", "secretRef": {"name": "helm-auth"}}),
            ),
        )
        .await
        .unwrap();
    let charts_api: Api<ferroflux_api::source::v1::HelmChart> =
        Api::namespaced(h.client.clone(), "flux-system");
    let source = json!({"kind": "HelmRepository", "name": "podinfo"});
    for (name, spec) in [
        (
            "latest",
            json!({"chart": "podinfo", "sourceRef": source, "interval": "1s"}),
        ),
        (
            "six",
            json!({"chart": "podinfo", "version": "6.0.x", "sourceRef": source, "interval": "1h"}),
        ),
        (
            "values",
            json!({"chart": "podinfo", "version": "6.0.3", "sourceRef": source, "interval": "1h",
            "valuesFiles": ["values.yaml", "values-prod.yaml", "missing.yaml"], "ignoreMissingValuesFiles": true}),
        ),
        (
            "strict",
            json!({"chart": "podinfo", "version": "6.0.3", "sourceRef": source, "interval": "1h",
            "valuesFiles": ["values.yaml", "missing.yaml"]}),
        ),
        (
            "nine",
            json!({"chart": "podinfo", "version": "9.*", "sourceRef": source, "interval": "1h"}),
        ),
    ] {
        charts_api
            .create(&PostParams::default(), &helm_chart(name, spec))
            .await
            .unwrap();
    }

    // `*` is the newest stable version; the artifact is the chart as published.
    let latest = wait_for(&charts_api, "latest", "6.0.3", |o| {
        chart_revision(o).as_deref() == Some("6.0.3")
    })
    .await;
    let artifact = latest.status.as_ref().unwrap().artifact.clone().unwrap();
    assert_eq!(
        artifact.path,
        "helmchart/flux-system/latest/podinfo-6.0.3.tgz"
    );
    let published = std::fs::read(charts.path().join("podinfo-6.0.3.tgz")).unwrap();
    assert_eq!(
        std::fs::read(h.storage_root.join(&artifact.path)).unwrap(),
        published
    );
    let st = latest.status.as_ref().unwrap();
    assert_eq!(st.observed_chart_name.as_deref(), Some("podinfo"));
    assert!(
        st.observed_source_artifact_revision
            .as_deref()
            .unwrap()
            .starts_with("sha256:")
    );
    wait_for(&charts_api, "six", "6.0.3", |o| {
        chart_revision(o).as_deref() == Some("6.0.3")
    })
    .await;

    // Values files merged in order and repackaged as <version>+<generation>.
    let values = wait_for(&charts_api, "values", "6.0.3+1", |o| {
        chart_revision(o).as_deref() == Some("6.0.3+1")
    })
    .await;
    let vst = values.status.as_ref().unwrap();
    assert_eq!(
        vst.observed_values_files,
        ["values.yaml", "values-prod.yaml"]
    );
    let vart = vst.artifact.clone().unwrap();
    assert_eq!(
        vart.path,
        "helmchart/flux-system/values/podinfo-6.0.3+1.tgz"
    );
    let files = tgz_files(&std::fs::read(h.storage_root.join(&vart.path)).unwrap());
    let merged: serde_json::Value = serde_yaml::from_str(&files["podinfo/values.yaml"]).unwrap();
    assert_eq!(merged, json!({"replicas": 3, "extra": {"on": true}}));
    assert!(
        files["podinfo/Chart.yaml"].contains("6.0.3+1"),
        "{}",
        files["podinfo/Chart.yaml"]
    );
    assert!(files.contains_key("podinfo/templates/configmap.yaml"));

    let strict = wait_for(&charts_api, "strict", "Ready=False", |o| {
        conditions::is_false(o.conditions(), conditions::READY)
    })
    .await;
    let (_, reason, message) = ready_reason(&strict).unwrap();
    assert_eq!(reason, "ChartPackageError");
    assert!(message.contains("missing.yaml"), "{message}");
    let nine = wait_for(&charts_api, "nine", "Stalled", |o| {
        conditions::is_true(o.conditions(), conditions::STALLED)
    })
    .await;
    let (_, reason, message) = ready_reason(&nine).unwrap();
    assert_eq!(reason, "InvalidChartReference");
    assert!(
        message.contains("no 'podinfo' chart with version matching '9.*' found"),
        "{message}"
    );

    // Polls of an unchanged chart write nothing.
    let before = charts_api.get("latest").await.unwrap();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let idle = charts_api.get("latest").await.unwrap();
    assert_eq!(
        idle.metadata.resource_version, before.metadata.resource_version,
        "idle polls wrote the object"
    );

    // A new version: once the repository is asked to reconcile, its new
    // index wakes the chart, which pulls the new version.
    let python = helm_repo::sdk_python().unwrap();
    helm_repo::package_and_index(
        &python,
        charts.path(),
        &[ChartSpec::new("podinfo", "6.1.0")],
    );
    h.repos
        .patch(
            "podinfo",
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(
                json!({"metadata": {"annotations": {"reconcile.fluxcd.io/requestedAt": "now"}}}),
            ),
        )
        .await
        .unwrap();
    wait_for(&charts_api, "latest", "6.1.0", |o| {
        chart_revision(o).as_deref() == Some("6.1.0")
    })
    .await;
    // The range of `six` still picks 6.0.3.
    assert_eq!(
        chart_revision(&charts_api.get("six").await.unwrap()).as_deref(),
        Some("6.0.3")
    );
}

/// A gzipped tar of `entries` (path, content), written without the tar
/// crate's path checks so that hostile paths can be made.
fn raw_tgz(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut tar = Vec::new();
    for (path, data) in entries {
        let mut header = [0u8; 512];
        header[..path.len()].copy_from_slice(path.as_bytes());
        header[100..107].copy_from_slice(b"0000644");
        header[108..115].copy_from_slice(b"0000000");
        header[116..123].copy_from_slice(b"0000000");
        header[124..135].copy_from_slice(format!("{:011o}", data.len()).as_bytes());
        header[136..147].copy_from_slice(b"00000000000");
        header[156] = b'0';
        header[257..263].copy_from_slice(b"ustar\0");
        header[263..265].copy_from_slice(b"00");
        header[148..156].copy_from_slice(b"        ");
        let sum: u32 = header.iter().map(|b| *b as u32).sum();
        header[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
        tar.extend_from_slice(&header);
        tar.extend_from_slice(data);
        tar.resize(tar.len().div_ceil(512) * 512, 0);
    }
    tar.resize(tar.len() + 1024, 0);
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&tar).unwrap();
    gz.finish().unwrap()
}

#[tokio::test]
async fn hostile_charts_and_pass_credentials() {
    let h = harness().await;
    let dir = tempfile::tempdir().unwrap();
    let chart_yaml: &[u8] = b"apiVersion: v2\nname: evil\nversion: 1.0.0\n";
    let good = raw_tgz(&[("evil/Chart.yaml", chart_yaml)]);
    std::fs::write(dir.path().join("good-1.0.0.tgz"), &good).unwrap();
    std::fs::write(
        dir.path().join("traversal-1.0.0.tgz"),
        raw_tgz(&[
            ("evil/Chart.yaml", chart_yaml),
            ("evil/../../../tmp/pwned", b"x"),
        ]),
    )
    .unwrap();
    let good_digest = hex::encode(sha2::Sha256::digest(&good));
    // Charts on another host (another port): the repository credentials
    // follow only with passCredentials.
    let cdn_dir = tempfile::tempdir().unwrap();
    std::fs::write(cdn_dir.path().join("good-1.0.0.tgz"), &good).unwrap();
    let cdn = StaticServer::start(cdn_dir.path(), ServerAuth::None);
    let index = format!(
        "apiVersion: v1\nentries:\n  traversal:\n  - name: traversal\n    version: 1.0.0\n    urls: [traversal-1.0.0.tgz]\n  \
         mismatch:\n  - name: mismatch\n    version: 1.0.0\n    digest: {}\n    urls: [good-1.0.0.tgz]\n  \
         elsewhere:\n  - name: elsewhere\n    version: 1.0.0\n    digest: {good_digest}\n    urls: [{}good-1.0.0.tgz]\n",
        "0".repeat(64),
        cdn.url()
    );
    std::fs::write(dir.path().join("index.yaml"), index).unwrap();
    let server = StaticServer::start(
        dir.path(),
        ServerAuth::Basic("flux".into(), PASSWORD.into()),
    );
    secret(
        &h.client,
        "helm-auth",
        json!({"username": "flux", "password": PASSWORD}),
    )
    .await;
    for (name, pass) in [("repo", false), ("passing", true)] {
        h.repos
            .create(
                &PostParams::default(),
                &helm_repo(name, json!({"url": server.url(), "interval": "1h", "secretRef": {"name": "helm-auth"}, "passCredentials": pass})),
            )
            .await
            .unwrap();
    }
    let charts_api: Api<ferroflux_api::source::v1::HelmChart> =
        Api::namespaced(h.client.clone(), "flux-system");
    for (name, chart, repo) in [
        ("traversal", "traversal", "repo"),
        ("mismatch", "mismatch", "repo"),
        ("elsewhere", "elsewhere", "repo"),
    ] {
        charts_api
            .create(&PostParams::default(), &helm_chart(name, json!({"chart": chart, "sourceRef": {"kind": "HelmRepository", "name": repo}, "interval": "1h"})))
            .await
            .unwrap();
    }
    for (name, needle) in [
        ("traversal", "invalid chart archive"),
        ("mismatch", "digest mismatch"),
    ] {
        let refused = wait_for(&charts_api, name, "ChartPullError", |o| {
            ready_reason(o).is_some_and(|(ready, reason, _)| !ready && reason == "ChartPullError")
        })
        .await;
        let (_, _, message) = ready_reason(&refused).unwrap();
        assert!(message.contains(needle), "{name}: {message}");
        assert!(chart_revision(&refused).is_none());
        assert!(
            !h.storage_root
                .join(format!("helmchart/flux-system/{name}"))
                .exists()
        );
    }
    assert!(!Path::new("/tmp/pwned").exists());
    wait_for(&charts_api, "elsewhere", "pulled", |o| {
        chart_revision(o).as_deref() == Some("1.0.0")
    })
    .await;
    assert!(
        cdn.requests().iter().all(|r| !r.authorized),
        "{:?}",
        cdn.requests()
    );
    // With passCredentials the other host gets them.
    wait_for(&h.repos, "passing", "index", |o| repo_revision(o).is_some()).await;
    charts_api
        .create(&PostParams::default(), &helm_chart("passed", json!({"chart": "elsewhere", "sourceRef": {"kind": "HelmRepository", "name": "passing"}, "interval": "1h"})))
        .await
        .unwrap();
    wait_for(&charts_api, "passed", "pulled", |o| {
        chart_revision(o).as_deref() == Some("1.0.0")
    })
    .await;
    assert!(
        cdn.requests().iter().any(|r| r.authorized),
        "{:?}",
        cdn.requests()
    );
}
