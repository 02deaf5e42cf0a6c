//! The OCIRepository reconciler in one process against Debian's
//! `docker-registry`: each reference form and its revision, new tags,
//! idle polls, credentials and TLS, a registry that is down, and hostile
//! layers (pushed to the real registry, which stores any blob) or content
//! that does not match its digest (from a tiny fake registry: the real one
//! refuses to serve such content).

use std::io::Read;
use std::path::PathBuf;
use std::time::Duration;

use ferroflux_api::conditions::{self, ObjectWithConditions};
use ferroflux_api::source::v1::OCIRepository;
use ferroflux_oci::artifact::{self, CONTENT_MEDIA_TYPE, Metadata};
use ferroflux_oci::{Client, ClientOptions, Credentials, Manifest, Repository};
use ferroflux_runtime::controller::LoopConfig;
use ferroflux_testenv::TestEnv;
use ferroflux_testsupport::oci_registry::{self, Registry, RegistryOptions};
use ferroflux_testsupport::sink::Sink;
use ferroflux_testsupport::tls::TestCerts;
use k8s_openapi::api::core::v1::{Namespace, Secret};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;

const PASSWORD: &str = "oci-Pa55word-4e7b";
/// The harness's artifact and layer size limit.
const MAX_SIZE: u64 = 4 << 20;

struct Harness {
    _env: TestEnv,
    client: kube::Client,
    api: Api<OCIRepository>,
    storage_root: PathBuf,
    events: Sink,
    _dirs: Vec<tempfile::TempDir>,
    _controller: source_controller::Running,
}

async fn harness() -> Harness {
    let _ = rustls::crypto::ring::default_provider().install_default();
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
            limits: source_controller::git::CheckoutLimits {
                max_size: MAX_SIZE,
                file_max_size: MAX_SIZE,
            },
            scratch: None,
            events_addr: Some(format!("{}/", events.url)),
            loop_config: LoopConfig {
                backoff_base: Duration::from_millis(100),
                backoff_max: Duration::from_millis(500),
                ..Default::default()
            },
            leader: None,
        },
    )
    .await
    .unwrap();
    Harness {
        api: Api::namespaced(client.clone(), "flux-system"),
        client,
        _env: env,
        storage_root: root,
        events,
        _dirs: vec![storage_dir, cache_dir],
        _controller: controller,
    }
}

fn pusher(host: &str, repo: &str, creds: Option<Credentials>, tls: Option<&TestCerts>) -> Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    Client::new(
        Repository::parse_url(&format!("oci://{host}/{repo}")).unwrap(),
        ClientOptions {
            insecure: tls.is_none(),
            ca_certificates: tls
                .map(|t| reqwest::Certificate::from_pem_bundle(&t.ca_pem).unwrap())
                .unwrap_or_default(),
            credentials: creds,
            push: true,
            ..Default::default()
        },
    )
    .unwrap()
}

/// Pushes a Flux artifact holding `deploy/app.yaml` with `marker`.
async fn push_tree(client: &Client, tag: &str, marker: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("deploy")).unwrap();
    std::fs::write(
        dir.path().join("deploy/app.yaml"),
        format!("kind: ConfigMap\nmetadata:\n  name: {marker}\n"),
    )
    .unwrap();
    let meta = Metadata {
        source: Some("https://git.example/app.git".into()),
        revision: Some(format!("main@sha1:{marker}")),
        created: Some("2026-01-01T00:00:00Z".into()),
    };
    artifact::push(client, tag, artifact::pack(dir.path()).unwrap(), &meta)
        .await
        .unwrap()
}

/// Pushes an artifact whose one layer is `layer`, as it is.
async fn push_layer(client: &Client, tag: &str, layer: Vec<u8>) -> String {
    let config = client
        .push_blob(
            artifact::CONFIG_MEDIA_TYPE,
            bytes::Bytes::from_static(b"{}"),
        )
        .await
        .unwrap();
    let layer = client
        .push_blob(CONTENT_MEDIA_TYPE, bytes::Bytes::from(layer))
        .await
        .unwrap();
    let manifest = Manifest {
        schema_version: 2,
        media_type: Some(ferroflux_oci::manifest::OCI_MANIFEST.into()),
        artifact_type: None,
        config,
        layers: vec![layer],
        annotations: Default::default(),
    };
    client.push_manifest(tag, &manifest).await.unwrap()
}

fn oci_repo(name: &str, url: &str, spec: serde_json::Value) -> OCIRepository {
    let mut full = json!({"url": url, "interval": "1h", "insecure": true});
    for (k, v) in spec.as_object().unwrap() {
        full[k] = v.clone();
    }
    serde_json::from_value(json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "OCIRepository",
        "metadata": {"name": name, "namespace": "flux-system"},
        "spec": full
    }))
    .unwrap()
}

async fn wait_for(
    api: &Api<OCIRepository>,
    name: &str,
    what: &str,
    check: impl Fn(&OCIRepository) -> bool,
) -> OCIRepository {
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
        api.get(name).await.ok().and_then(|o| o.status)
    );
}

fn revision(o: &OCIRepository) -> Option<String> {
    o.status
        .as_ref()?
        .artifact
        .as_ref()
        .map(|a| a.revision.clone())
}

fn ready(o: &OCIRepository) -> Option<(String, String, String)> {
    let c = conditions::get(o.conditions(), conditions::READY)?;
    Some((c.status.clone(), c.reason.clone(), c.message.clone()))
}

fn failed_with(o: &OCIRepository, reason: &str) -> bool {
    ready(o).is_some_and(|(s, r, _)| s == "False" && r == reason)
}

async fn request_reconcile(api: &Api<OCIRepository>, name: &str, token: &str) {
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

/// The names and contents of the files in the artifact served at `url`.
async fn served_files(url: &str) -> Vec<(String, String)> {
    let body = reqwest::get(url).await.unwrap().bytes().await.unwrap();
    let mut out = Vec::new();
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(&body[..]));
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        if entry.header().entry_type().is_file() {
            let name = entry.path().unwrap().display().to_string();
            let mut content = String::new();
            entry.read_to_string(&mut content).unwrap();
            out.push((name, content));
        }
    }
    out
}

async fn docker_secret(client: &kube::Client, name: &str, host: &str, password: &str) {
    let config = json!({"auths": {host: {"username": "flux", "password": password}}});
    let s: Secret = serde_json::from_value(json!({
        "metadata": {"name": name},
        "type": "kubernetes.io/dockerconfigjson",
        "stringData": {".dockerconfigjson": config.to_string()}
    }))
    .unwrap();
    Api::<Secret>::namespaced(client.clone(), "flux-system")
        .create(&PostParams::default(), &s)
        .await
        .unwrap();
}

#[tokio::test]
async fn each_reference_form_gives_flux_revisions_and_new_tags_follow() {
    if !oci_registry::available() {
        return;
    }
    let registry = Registry::start();
    let h = harness().await;
    let c = pusher(&registry.host, "org/app", None, None);
    let latest = push_tree(&c, "latest", "latest").await;
    let v100 = push_tree(&c, "1.0.0", "one-zero").await;
    let v110 = push_tree(&c, "1.1.0", "one-one").await;
    push_tree(&c, "2.0.0-rc.1", "two-rc").await;
    let url = registry.url("org/app");
    for (name, spec) in [
        ("by-default", json!({})),
        (
            "by-semver",
            json!({"ref": {"semver": ">=1.0.0 <2.0.0", "tag": "latest"}}),
        ),
        (
            "by-filter",
            json!({"ref": {"semver": ">=1.0.0", "semverFilter": "^1\\.0"}}),
        ),
        (
            "by-digest",
            json!({"ref": {"digest": v100, "semver": "1.x", "tag": "latest"}}),
        ),
    ] {
        h.api
            .create(&PostParams::default(), &oci_repo(name, &url, spec))
            .await
            .unwrap();
    }
    let expect = [
        ("by-default", format!("latest@{latest}"), "latest"),
        ("by-semver", format!("1.1.0@{v110}"), "one-one"),
        ("by-filter", format!("1.0.0@{v100}"), "one-zero"),
        ("by-digest", v100.clone(), "one-zero"),
    ];
    for (name, rev, marker) in &expect {
        let o = wait_for(&h.api, name, rev, |o| revision(o).as_deref() == Some(rev)).await;
        let (status, reason, message) = ready(&o).unwrap();
        assert_eq!((status.as_str(), reason.as_str()), ("True", "Succeeded"));
        assert_eq!(message, format!("stored artifact for revision '{rev}'"));
        let st = o.status.as_ref().unwrap();
        let a = st.artifact.as_ref().unwrap();
        assert!(
            a.path
                .starts_with(&format!("ocirepository/flux-system/{name}/")),
            "{}",
            a.path
        );
        assert_eq!(
            a.metadata[artifact::REVISION],
            format!("main@sha1:{marker}")
        );
        assert_eq!(a.metadata[artifact::SOURCE], "https://git.example/app.git");
        assert_eq!(st.url.as_deref(), Some(a.url.as_str()));
        let files = served_files(&a.url).await;
        assert_eq!(files.len(), 1, "{files:?}");
        assert_eq!(files[0].0, "deploy/app.yaml");
        assert!(files[0].1.contains(&format!("name: {marker}")));
    }
    let events = h.events.events();
    assert!(
        events.iter().any(|e| e["reason"] == "NewArtifact"
            && e["involvedObject"]["kind"] == "OCIRepository"
            && e["metadata"]["source.toolkit.fluxcd.io/revision"] == format!("1.1.0@{v110}")),
        "{events:?}"
    );

    // A new matching version is picked up at once after requestedAt.
    let v120 = push_tree(&c, "1.2.0", "one-two").await;
    request_reconcile(&h.api, "by-semver", "now-1").await;
    let o = wait_for(&h.api, "by-semver", "1.2.0", |o| {
        revision(o) == Some(format!("1.2.0@{v120}"))
    })
    .await;
    assert_eq!(
        o.status.unwrap().last_handled_reconcile_at.as_deref(),
        Some("now-1")
    );
    // The old artifact of by-semver is still kept (retention), the new one served.
    let dir = h.storage_root.join("ocirepository/flux-system/by-semver");
    assert!(std::fs::read_dir(&dir).unwrap().count() >= 2);
}

#[tokio::test]
async fn a_moved_tag_is_polled_and_idle_polls_write_nothing() {
    if !oci_registry::available() {
        return;
    }
    let registry = Registry::start();
    let h = harness().await;
    let c = pusher(&registry.host, "org/poll", None, None);
    let first = push_tree(&c, "stable", "first").await;
    let mut r = oci_repo(
        "poll",
        &registry.url("org/poll"),
        json!({"ref": {"tag": "stable"}}),
    );
    r.spec.interval = "1s".parse().unwrap();
    h.api.create(&PostParams::default(), &r).await.unwrap();
    let o = wait_for(&h.api, "poll", "first", |o| {
        revision(o) == Some(format!("stable@{first}"))
    })
    .await;
    // Several polls of an unchanged tag: no status write at all.
    tokio::time::sleep(Duration::from_millis(3500)).await;
    let idle = h.api.get("poll").await.unwrap();
    assert_eq!(
        idle.metadata.resource_version, o.metadata.resource_version,
        "idle polls wrote the object"
    );
    let moved = push_tree(&c, "stable", "second").await;
    wait_for(&h.api, "poll", "moved tag", |o| {
        revision(o) == Some(format!("stable@{moved}"))
    })
    .await;
}

#[tokio::test]
async fn credentials_and_tls_wrong_credentials_and_cloud_providers() {
    if !oci_registry::available() {
        return;
    }
    let certs = TestCerts::new();
    let registry = Registry::start_with(RegistryOptions {
        auth: Some(("flux".into(), PASSWORD.into())),
        tls: Some(certs.clone()),
    });
    let h = harness().await;
    let creds = Credentials::Basic {
        username: "flux".into(),
        password: PASSWORD.into(),
    };
    let c = pusher(&registry.host, "private/app", Some(creds), Some(&certs));
    let digest = push_tree(&c, "latest", "private").await;
    docker_secret(&h.client, "good", &registry.host, PASSWORD).await;
    docker_secret(&h.client, "bad", &registry.host, "Wrong-Secret-Value-1").await;
    let ca: Secret = serde_json::from_value(json!({
        "metadata": {"name": "registry-ca"},
        "stringData": {"ca.crt": String::from_utf8(certs.ca_pem.clone()).unwrap()}
    }))
    .unwrap();
    Api::<Secret>::namespaced(h.client.clone(), "flux-system")
        .create(&PostParams::default(), &ca)
        .await
        .unwrap();
    let url = registry.url("private/app");
    for (name, secret) in [("good", "good"), ("bad", "bad")] {
        let r = oci_repo(
            name,
            &url,
            json!({"insecure": false, "secretRef": {"name": secret}, "certSecretRef": {"name": "registry-ca"}}),
        );
        h.api.create(&PostParams::default(), &r).await.unwrap();
    }
    h.api
        .create(
            &PostParams::default(),
            &oci_repo("aws", &url, json!({"provider": "aws"})),
        )
        .await
        .unwrap();
    wait_for(&h.api, "good", "ready over TLS with credentials", |o| {
        revision(o) == Some(format!("latest@{digest}"))
    })
    .await;
    let bad = wait_for(&h.api, "bad", "AuthenticationFailed", |o| {
        failed_with(o, "AuthenticationFailed")
    })
    .await;
    let message = ready(&bad).unwrap().2;
    assert!(message.contains("authentication"), "{message}");
    assert!(
        !message.contains("Wrong-Secret-Value-1") && !message.contains(PASSWORD),
        "{message}"
    );
    assert!(conditions::is_true(
        bad.conditions(),
        conditions::FETCH_FAILED
    ));
    let aws = wait_for(&h.api, "aws", "stalled", |o| {
        conditions::is_true(o.conditions(), conditions::STALLED)
    })
    .await;
    assert!(
        ready(&aws)
            .unwrap()
            .2
            .contains("provider 'aws' is not supported here")
    );
    for e in h.events.received() {
        let text = String::from_utf8_lossy(&e.body).to_string();
        assert!(
            !text.contains("Wrong-Secret-Value-1") && !text.contains(PASSWORD),
            "{text}"
        );
    }
}

#[tokio::test]
async fn a_registry_that_is_down_is_retried_and_others_are_unaffected() {
    if !oci_registry::available() {
        return;
    }
    let mut down = Registry::start();
    let up = Registry::start();
    let h = harness().await;
    let d1 = push_tree(&pusher(&down.host, "org/a", None, None), "latest", "a").await;
    let d2 = push_tree(&pusher(&up.host, "org/b", None, None), "latest", "b").await;
    down.stop();
    h.api
        .create(
            &PostParams::default(),
            &oci_repo("down", &down.url("org/a"), json!({})),
        )
        .await
        .unwrap();
    h.api
        .create(
            &PostParams::default(),
            &oci_repo("up", &up.url("org/b"), json!({})),
        )
        .await
        .unwrap();
    let o = wait_for(&h.api, "down", "pull failure", |o| {
        failed_with(o, "OCIArtifactPullFailed")
    })
    .await;
    assert!(ready(&o).unwrap().2.contains(&down.url("org/a")));
    wait_for(&h.api, "up", "ready", |o| {
        revision(o) == Some(format!("latest@{d2}"))
    })
    .await;
    // Back up: the failed object recovers on its own (backoff retries).
    down.resume();
    wait_for(&h.api, "down", "recovered", |o| {
        revision(o) == Some(format!("latest@{d1}"))
    })
    .await;
}

/// A tar.gz whose entries are written raw (names the tar crate refuses).
fn raw_tar_gz(entries: &[(&str, tar::EntryType, &[u8], &str)]) -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut b = tar::Builder::new(gz);
    for (name, kind, data, link) in entries {
        let mut header = tar::Header::new_old();
        {
            let old = header.as_old_mut();
            old.name[..name.len()].copy_from_slice(name.as_bytes());
            old.linkname[..link.len()].copy_from_slice(link.as_bytes());
        }
        header.set_entry_type(*kind);
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        b.append(&header, *data).unwrap();
    }
    b.into_inner().unwrap().finish().unwrap()
}

/// Deterministic pseudo-random bytes (they do not compress).
fn noise(n: usize) -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

#[tokio::test]
async fn hostile_layers_are_refused_and_nothing_is_extracted() {
    if !oci_registry::available() {
        return;
    }
    let registry = Registry::start();
    let h = harness().await;
    let c = pusher(&registry.host, "evil/app", None, None);
    let bomb = {
        let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let mut b = tar::Builder::new(gz);
        let mut header = tar::Header::new_gnu();
        let size = 64u64 << 20;
        header.set_size(size);
        header.set_mode(0o644);
        header.set_cksum();
        b.append_data(&mut header, "zeros.bin", std::io::repeat(0).take(size))
            .unwrap();
        b.into_inner().unwrap().finish().unwrap()
    };
    assert!(bomb.len() < (1 << 20), "the bomb is small compressed");
    let cases: Vec<(&str, Vec<u8>, &str, &str)> = vec![
        (
            "dotdot",
            raw_tar_gz(&[
                ("ok.yaml", tar::EntryType::Regular, b"a: 1\n", ""),
                ("../evil.yaml", tar::EntryType::Regular, b"x", ""),
            ]),
            "OCIArtifactLayerOperationFailed",
            "..",
        ),
        (
            "link-out",
            raw_tar_gz(&[("passwd", tar::EntryType::Symlink, b"", "/etc/passwd")]),
            "OCIArtifactLayerOperationFailed",
            "passwd",
        ),
        ("bomb", bomb, "OCIArtifactLayerOperationFailed", "zeros.bin"),
        (
            "oversize",
            noise((MAX_SIZE + 1024) as usize),
            "OCIArtifactPullFailed",
            "exceeds the size limit",
        ),
        (
            "not-a-tarball",
            noise(2048),
            "OCIArtifactLayerOperationFailed",
            "failed to extract layer",
        ),
    ];
    for (tag, layer, _, _) in &cases {
        push_layer(&c, tag, layer.clone()).await;
        h.api
            .create(
                &PostParams::default(),
                &oci_repo(tag, &registry.url("evil/app"), json!({"ref": {"tag": tag}})),
            )
            .await
            .unwrap();
    }
    for (tag, _, reason, needle) in &cases {
        let o = wait_for(&h.api, tag, reason, |o| failed_with(o, reason)).await;
        let message = ready(&o).unwrap().2;
        assert!(message.contains(needle), "{tag}: {message}");
        assert!(revision(&o).is_none(), "{tag}: an artifact was stored");
        let dir = h
            .storage_root
            .join(format!("ocirepository/flux-system/{tag}"));
        let stored = std::fs::read_dir(&dir).map(|d| d.count()).unwrap_or(0);
        assert_eq!(stored, 0, "{tag}: files stored in {}", dir.display());
    }
    assert!(
        !h.storage_root
            .join("ocirepository/flux-system/evil.yaml")
            .exists()
    );
}

/// A registry that serves what the real one never would: a manifest whose
/// content does not match the digest announced for it (tag `announced`),
/// and a layer whose bytes do not match its descriptor (tag `layer`).
async fn fake_registry() -> (String, tokio::task::JoinHandle<()>) {
    use axum::http::{HeaderMap, StatusCode, Uri};
    let good_layer = artifact::pack(&{
        let d = tempfile::tempdir().unwrap().keep();
        std::fs::write(d.join("a.yaml"), "a: 1\n").unwrap();
        d
    })
    .unwrap();
    let evil_layer = raw_tar_gz(&[("a.yaml", tar::EntryType::Regular, b"b: 2\n", "")]);
    let served_layer = {
        // Same length as the good layer, other bytes.
        let mut v = evil_layer.clone();
        v.resize(good_layer.len(), 0);
        v
    };
    let desc = |data: &[u8], mt: &str| ferroflux_oci::Descriptor {
        media_type: mt.to_string(),
        digest: ferroflux_oci::client::sha256_digest(data),
        size: data.len() as u64,
        annotations: Default::default(),
    };
    let manifest = Manifest {
        schema_version: 2,
        media_type: Some(ferroflux_oci::manifest::OCI_MANIFEST.into()),
        artifact_type: None,
        config: desc(b"{}", artifact::CONFIG_MEDIA_TYPE),
        layers: vec![desc(&good_layer, CONTENT_MEDIA_TYPE)],
        annotations: Default::default(),
    };
    let body = serde_json::to_vec(&manifest).unwrap();
    let real = ferroflux_oci::client::sha256_digest(&body);
    let wrong = ferroflux_oci::client::sha256_digest(b"something else");
    let app = axum::Router::new().fallback(move |uri: Uri| {
        let (body, served_layer, real, wrong) = (
            body.clone(),
            served_layer.clone(),
            real.clone(),
            wrong.clone(),
        );
        async move {
            let path = uri.path().to_string();
            let mut headers = HeaderMap::new();
            if path.ends_with("/manifests/announced") || path.ends_with("/manifests/layer") {
                let announced = if path.ends_with("announced") {
                    wrong
                } else {
                    real
                };
                headers.insert("docker-content-digest", announced.parse().unwrap());
                headers.insert(
                    "content-type",
                    ferroflux_oci::manifest::OCI_MANIFEST.parse().unwrap(),
                );
                (StatusCode::OK, headers, body)
            } else if path.contains("/blobs/") {
                (StatusCode::OK, headers, served_layer)
            } else {
                (StatusCode::NOT_FOUND, headers, Vec::new())
            }
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (addr.to_string(), task)
}

#[tokio::test]
async fn content_that_does_not_match_its_digest_is_refused() {
    let h = harness().await;
    let (host, _server) = fake_registry().await;
    for tag in ["announced", "layer"] {
        h.api
            .create(
                &PostParams::default(),
                &oci_repo(
                    tag,
                    &format!("oci://{host}/fake/app"),
                    json!({"ref": {"tag": tag}}),
                ),
            )
            .await
            .unwrap();
    }
    for tag in ["announced", "layer"] {
        let o = wait_for(&h.api, tag, "digest mismatch", |o| {
            failed_with(o, "OCIArtifactPullFailed")
        })
        .await;
        let message = ready(&o).unwrap().2;
        assert!(message.contains("digest mismatch"), "{tag}: {message}");
        assert!(revision(&o).is_none());
    }
}

#[tokio::test]
async fn a_registry_that_never_answers_fails_within_the_timeout() {
    let h = harness().await;
    // Accepts connections and reads, never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let host = listener.local_addr().unwrap().to_string();
    let _hung = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    h.api
        .create(
            &PostParams::default(),
            &oci_repo(
                "hung",
                &format!("oci://{host}/org/app"),
                json!({"timeout": "1s"}),
            ),
        )
        .await
        .unwrap();
    let o = wait_for(&h.api, "hung", "timeout", |o| {
        failed_with(o, "OCIArtifactPullFailed")
    })
    .await;
    let message = ready(&o).unwrap().2;
    assert!(message.contains("timed out after 1s"), "{message}");
}

#[tokio::test]
async fn the_copy_operation_stores_the_layer_as_it_is() {
    if !oci_registry::available() {
        return;
    }
    let registry = Registry::start();
    let h = harness().await;
    let c = pusher(&registry.host, "org/copy", None, None);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("chart.yaml"), "name: demo\n").unwrap();
    let layer = artifact::pack(dir.path()).unwrap();
    let digest = push_layer(&c, "v1", layer.clone()).await;
    let r = oci_repo(
        "copy",
        &registry.url("org/copy"),
        json!({"ref": {"tag": "v1"}, "layerSelector": {"mediaType": CONTENT_MEDIA_TYPE, "operation": "copy"}}),
    );
    h.api.create(&PostParams::default(), &r).await.unwrap();
    let o = wait_for(&h.api, "copy", "copied", |o| {
        revision(o) == Some(format!("v1@{digest}"))
    })
    .await;
    let a = o.status.unwrap().artifact.unwrap();
    let hex = digest.trim_start_matches("sha256:");
    assert_eq!(a.path, format!("ocirepository/flux-system/copy/{hex}.tgz"));
    let served = reqwest::get(&a.url).await.unwrap().bytes().await.unwrap();
    assert_eq!(&served[..], &layer[..], "the layer's bytes, unchanged");
    assert_eq!(
        a.digest.as_deref(),
        Some(ferroflux_oci::client::sha256_digest(&layer).as_str())
    );
}
