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

const PASSWORD: &str = "helm-Pa55word-9d2e";

struct Harness {
    _env: TestEnv,
    client: kube::Client,
    repos: Api<HelmRepository>,
    storage_root: PathBuf,
    events: Sink,
    _dirs: Vec<tempfile::TempDir>,
    _controller: source_controller::Running,
}

async fn harness() -> Harness {
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

async fn secret(client: &kube::Client, name: &str, data: serde_json::Value) {
    let s: Secret =
        serde_json::from_value(json!({"metadata": {"name": name}, "stringData": data})).unwrap();
    Api::<Secret>::namespaced(client.clone(), "flux-system")
        .create(&PostParams::default(), &s)
        .await
        .unwrap();
}

fn helm_repo(name: &str, spec: serde_json::Value) -> HelmRepository {
    serde_json::from_value(json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "HelmRepository",
        "metadata": {"name": name, "namespace": "flux-system"},
        "spec": spec,
    }))
    .unwrap()
}

async fn wait_for<K>(api: &Api<K>, name: &str, what: &str, check: impl Fn(&K) -> bool) -> K
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

fn ready_reason<K: ObjectWithConditions>(o: &K) -> Option<(bool, String, String)> {
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
