//! The Bucket reconciler against moto's S3 server (started per test from
//! the peer venv), written to with boto3: revisions as Flux computes them,
//! changes picked up downloading only what changed, prefix and ignore
//! rules, wrong credentials, a server that is down, hostile keys and size
//! limits.

use std::collections::BTreeSet;
use std::io::Read;
use std::path::PathBuf;
use std::time::Duration;

use ferroflux_api::conditions::{self, ObjectWithConditions};
use ferroflux_api::source::v1::Bucket;
use ferroflux_runtime::controller::LoopConfig;
use ferroflux_runtime::events::FluxEvent;
use ferroflux_testenv::TestEnv;
use ferroflux_testsupport::s3::{self, S3Server};
use ferroflux_testsupport::sink::Sink;
use k8s_openapi::api::core::v1::{Event, Namespace, Secret};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde_json::json;
use sha2::Digest;
use source_controller::git::CheckoutLimits;

const NS: &str = "flux-system";
/// Per-object limit of the harness (the total is four times it).
const OBJECT_LIMIT: u64 = 1 << 20;

struct Harness {
    _env: TestEnv,
    client: kube::Client,
    buckets: Api<Bucket>,
    events: Sink,
    dirs: Vec<tempfile::TempDir>,
    _controller: source_controller::Running,
}

async fn harness() -> Harness {
    let env = TestEnv::start().await.unwrap();
    let client = env.client().await.unwrap();
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    for crd in ferroflux_api::crds::all().unwrap() {
        crds.create(&PostParams::default(), &crd).await.unwrap();
    }
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": NS}})).unwrap();
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &ns)
        .await
        .unwrap();
    let storage_dir = tempfile::tempdir().unwrap();
    let cache_dir = tempfile::tempdir().unwrap();
    let events = Sink::answering(202, "").await;
    let controller = source_controller::start(
        client.clone(),
        source_controller::Config {
            storage_path: storage_dir.path().to_path_buf(),
            storage_addr: "127.0.0.1:0".to_string(),
            storage_adv_addr: None,
            artifact_retention_records: source_controller::storage::DEFAULT_RETENTION,
            no_cross_namespace_refs: false,
            git_cache_path: cache_dir.path().to_path_buf(),
            limits: CheckoutLimits {
                max_size: 4 * OBJECT_LIMIT,
                file_max_size: OBJECT_LIMIT,
            },
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
        buckets: Api::namespaced(client.clone(), NS),
        client,
        _env: env,
        events,
        dirs: vec![storage_dir, cache_dir],
        _controller: controller,
    }
}

impl Harness {
    async fn secret(&self, name: &str, access: &str, secret: &str) {
        let s: Secret = serde_json::from_value(json!({
            "metadata": {"name": name},
            "stringData": {"accesskey": access, "secretkey": secret}
        }))
        .unwrap();
        Api::<Secret>::namespaced(self.client.clone(), NS)
            .create(&PostParams::default(), &s)
            .await
            .unwrap();
    }

    /// A Bucket on `server` (its keys in a Secret of the same name).
    async fn bucket_on(
        &self,
        name: &str,
        server: &S3Server,
        bucket: &str,
        extra: serde_json::Value,
    ) {
        let mut spec = json!({
            "bucketName": bucket, "endpoint": server.endpoint(), "insecure": true,
            "interval": "1h", "timeout": "20s",
        });
        if let (Some(a), Some(s)) = (&server.access_key, &server.secret_key) {
            self.secret(name, a, s).await;
            spec["secretRef"] = json!({"name": name});
        }
        merge(&mut spec, extra);
        self.create(name, spec).await;
    }

    async fn create(&self, name: &str, spec: serde_json::Value) {
        let b: Bucket = serde_json::from_value(json!({
            "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "Bucket",
            "metadata": {"name": name, "namespace": NS},
            "spec": spec,
        }))
        .unwrap();
        self.buckets
            .create(&PostParams::default(), &b)
            .await
            .unwrap();
    }

    async fn wait_for(&self, name: &str, what: &str, check: impl Fn(&Bucket) -> bool) -> Bucket {
        for _ in 0..800 {
            if let Ok(o) = self.buckets.get(name).await
                && check(&o)
            {
                return o;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "{name} never reached: {what}: {:?}",
            self.buckets.get(name).await.ok().and_then(|o| o.status)
        );
    }

    async fn wait_ready(&self, name: &str) -> Bucket {
        self.wait_for(name, "Ready=True", |o| {
            conditions::is_true(o.conditions(), conditions::READY) && revision(o).is_some()
        })
        .await
    }

    async fn wait_not_ready(&self, name: &str, reason: &str) -> Bucket {
        self.wait_for(name, &format!("Ready=False ({reason})"), |o| {
            conditions::get(o.conditions(), conditions::READY)
                .is_some_and(|c| c.status == "False" && c.reason == reason)
        })
        .await
    }

    async fn request_reconcile(&self, name: &str, token: &str) {
        self.buckets
            .patch(
                name,
                &PatchParams::default(),
                &Patch::Merge(json!({"metadata": {"annotations": {"reconcile.fluxcd.io/requestedAt": token}}})),
            )
            .await
            .unwrap();
    }

    /// The files of a Bucket's artifact, read from its URL.
    async fn artifact_files(&self, b: &Bucket) -> BTreeSet<(String, Vec<u8>)> {
        let url = &b.status.as_ref().unwrap().artifact.as_ref().unwrap().url;
        let bytes = reqwest::get(url).await.unwrap().bytes().await.unwrap();
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(&bytes[..]));
        let mut files = BTreeSet::new();
        for entry in archive.entries().unwrap() {
            let mut entry = entry.unwrap();
            if entry.header().entry_type().is_file() {
                let path = entry.path().unwrap().to_string_lossy().into_owned();
                let mut content = Vec::new();
                entry.read_to_end(&mut content).unwrap();
                files.insert((path, content));
            }
        }
        files
    }
}

fn merge(into: &mut serde_json::Value, extra: serde_json::Value) {
    if let (Some(into), serde_json::Value::Object(extra)) = (into.as_object_mut(), extra) {
        into.extend(extra);
    }
}

fn revision(o: &Bucket) -> Option<String> {
    o.status
        .as_ref()?
        .artifact
        .as_ref()
        .map(|a| a.revision.clone())
}

/// Flux's revision, computed here from what boto3 lists: the sha256 of the
/// sorted `key etag` lines, ETags unquoted, of the keys `keep` admits.
fn expected_revision(server: &S3Server, bucket: &str, keep: impl Fn(&str) -> bool) -> String {
    let mut lines: Vec<String> = server
        .list(bucket)
        .into_iter()
        .filter(|(k, _)| keep(k))
        .map(|(k, e)| format!("{k} {}\n", e.trim_matches('"')))
        .collect();
    lines.sort();
    format!(
        "sha256:{}",
        hex::encode(sha2::Sha256::digest(lines.concat().as_bytes()))
    )
}

/// GETs of objects (not listings) by Ferroflux's client since `from`.
fn object_gets(server: &S3Server, from: usize) -> Vec<String> {
    server.requests()[from..]
        .iter()
        .filter(|r| {
            r.user_agent.starts_with("ferroflux")
                && r.method == "GET"
                && !r.url.contains("list-type")
        })
        .map(|r| r.url.clone())
        .collect()
}

fn file(path: &str, content: &str) -> (String, Vec<u8>) {
    (path.to_string(), content.as_bytes().to_vec())
}

#[tokio::test]
async fn the_revision_is_fluxs_and_only_changed_objects_are_downloaded() {
    let Some(server) = S3Server::start() else {
        return;
    };
    let h = harness().await;
    server.create_bucket(
        "manifests",
        &[
            ("a.yaml", b"kind: A"),
            ("dir/b.yaml", b"kind: B"),
            ("README.md", b"# not shipped"),
            ("image.png", b"png"),
            (".sourceignore", b"*.md\n"),
        ],
    );
    h.bucket_on("app", &server, "manifests", json!({"interval": "1s"}))
        .await;
    let ready = h.wait_ready("app").await;
    let expected = expected_revision(&server, "manifests", |k| {
        k != ".sourceignore" && !k.ends_with(".md")
    });
    assert_eq!(revision(&ready).as_deref(), Some(expected.as_str()));
    let ready_cond = conditions::get(ready.conditions(), conditions::READY).unwrap();
    assert_eq!(
        ready_cond.message,
        format!("stored artifact for revision '{expected}'")
    );
    // No default exclusions for buckets (Flux has none): the png ships.
    assert_eq!(
        h.artifact_files(&ready).await,
        BTreeSet::from([
            file("a.yaml", "kind: A"),
            file("dir/b.yaml", "kind: B"),
            file("image.png", "png")
        ])
    );
    let artifact_path = ready
        .status
        .as_ref()
        .unwrap()
        .artifact
        .as_ref()
        .unwrap()
        .path
        .clone();
    assert!(
        artifact_path.starts_with("bucket/flux-system/app/"),
        "{artifact_path}"
    );

    // Idle polls (every second): no object downloaded, nothing written.
    let mark = server.requests().len();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let idle = h.buckets.get("app").await.unwrap();
    assert_eq!(
        idle.metadata.resource_version, ready.metadata.resource_version,
        "idle polls wrote the object"
    );
    assert!(server.requests().len() > mark, "the bucket was polled");
    assert_eq!(
        object_gets(&server, mark),
        Vec::<String>::new(),
        "idle polls downloaded objects"
    );

    // A changed and a new object: a new artifact, only those two downloaded.
    let mark = server.requests().len();
    server.put(
        "manifests",
        &[("a.yaml", b"kind: A2"), ("c.yaml", b"kind: C")],
    );
    h.request_reconcile("app", "now-1").await;
    let changed = h
        .wait_for("app", "the new revision", |o| {
            revision(o).is_some_and(|r| r != expected)
        })
        .await;
    let expected2 = expected_revision(&server, "manifests", |k| {
        k != ".sourceignore" && !k.ends_with(".md")
    });
    assert_eq!(revision(&changed).as_deref(), Some(expected2.as_str()));
    let mut gets = object_gets(&server, mark);
    gets.sort();
    assert_eq!(
        gets,
        vec![
            "/manifests/a.yaml".to_string(),
            "/manifests/c.yaml".to_string()
        ]
    );
    assert_eq!(
        h.artifact_files(&changed).await,
        BTreeSet::from([
            file("a.yaml", "kind: A2"),
            file("c.yaml", "kind: C"),
            file("dir/b.yaml", "kind: B"),
            file("image.png", "png")
        ])
    );
    let announced = h
        .events
        .parsed::<FluxEvent>()
        .iter()
        .filter(|e| e.reason == "NewArtifact" && e.involved_object.kind == "Bucket")
        .count();
    assert!(announced >= 2, "NewArtifact events: {announced}");

    // A deleted object goes from the next artifact.
    server.delete("manifests", "dir/b.yaml");
    h.request_reconcile("app", "now-2").await;
    let shrunk = h
        .wait_for("app", "the deletion", |o| {
            revision(o).is_some_and(|r| r != expected2)
        })
        .await;
    assert!(
        !h.artifact_files(&shrunk)
            .await
            .iter()
            .any(|(p, _)| p == "dir/b.yaml")
    );
}

#[tokio::test]
async fn prefix_and_spec_ignore_select_the_objects() {
    let Some(server) = S3Server::start() else {
        return;
    };
    let h = harness().await;
    server.create_bucket(
        "mixed",
        &[
            ("apps/x.yaml", b"x"),
            ("apps/notes.txt", b"n"),
            ("apps/sub/y.yaml", b"y"),
            ("other/z.yaml", b"z"),
            (".sourceignore", b"apps/sub/\n"),
        ],
    );
    h.bucket_on(
        "apps",
        &server,
        "mixed",
        json!({"prefix": "apps/", "ignore": "*.txt\n"}),
    )
    .await;
    let ready = h.wait_ready("apps").await;
    let expected = expected_revision(&server, "mixed", |k| k == "apps/x.yaml");
    assert_eq!(revision(&ready).as_deref(), Some(expected.as_str()));
    assert_eq!(
        h.artifact_files(&ready).await,
        BTreeSet::from([file("apps/x.yaml", "x")])
    );
    assert_eq!(
        ready.status.as_ref().unwrap().observed_ignore.as_deref(),
        Some("*.txt\n")
    );

    // Changing spec.ignore makes a new artifact from the cached objects.
    let mark = server.requests().len();
    h.buckets
        .patch(
            "apps",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"ignore": "*.yaml\n"}})),
        )
        .await
        .unwrap();
    let regenerated = h
        .wait_for("apps", "the new ignore rules", |o| {
            o.status.as_ref().and_then(|s| s.observed_ignore.as_deref()) == Some("*.yaml\n")
        })
        .await;
    assert_eq!(
        h.artifact_files(&regenerated).await,
        BTreeSet::from([file("apps/notes.txt", "n")])
    );
    assert_eq!(
        object_gets(&server, mark),
        vec!["/mixed/apps/notes.txt".to_string()]
    );

    // Deleting the Bucket removes its artifacts and its object cache.
    let artifacts = h.dirs[0].path().join("bucket/flux-system/apps");
    let cache = h.dirs[1].path().join("buckets/flux-system/apps");
    assert!(artifacts.exists() && cache.exists());
    h.buckets
        .delete("apps", &DeleteParams::default())
        .await
        .unwrap();
    for _ in 0..400 {
        if h.buckets.get_opt("apps").await.unwrap().is_none() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        h.buckets.get_opt("apps").await.unwrap().is_none(),
        "the finalizer was not removed"
    );
    assert!(!artifacts.exists(), "artifacts left after deletion");
    assert!(!cache.exists(), "object cache left after deletion");
}

#[tokio::test]
async fn wrong_credentials_fail_authentication_naming_no_secret() {
    let Some(server) = S3Server::start() else {
        return;
    };
    let h = harness().await;
    server.create_bucket("locked", &[("a.yaml", b"a")]);
    let wrong = "wrong-Secret-Key-9c1e7d";
    h.secret("bad-keys", server.access_key.as_deref().unwrap(), wrong)
        .await;
    h.create(
        "locked",
        json!({"bucketName": "locked", "endpoint": server.endpoint(), "insecure": true,
               "interval": "1h", "secretRef": {"name": "bad-keys"}}),
    )
    .await;
    let failed = h.wait_not_ready("locked", "AuthenticationFailed").await;
    let ready = conditions::get(failed.conditions(), conditions::READY).unwrap();
    assert!(
        ready.message.contains("SignatureDoesNotMatch"),
        "{}",
        ready.message
    );
    assert!(conditions::is_true(
        failed.conditions(),
        conditions::FETCH_FAILED
    ));
    let real = server.secret_key.clone().unwrap();
    let everything = serde_json::to_string(&failed).unwrap();
    assert!(
        !everything.contains(wrong) && !everything.contains(&real),
        "{everything}"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let kube_events = Api::<Event>::namespaced(h.client.clone(), NS)
        .list(&Default::default())
        .await
        .unwrap();
    let text = serde_json::to_string(&kube_events).unwrap()
        + &serde_json::to_string(&h.events.parsed::<FluxEvent>()).unwrap();
    assert!(text.contains("AuthenticationFailed"), "{text}");
    assert!(!text.contains(wrong) && !text.contains(&real));

    // A Secret without the keys names what is missing.
    let s: Secret = serde_json::from_value(
        json!({"metadata": {"name": "no-keys"}, "stringData": {"user": "x"}}),
    )
    .unwrap();
    Api::<Secret>::namespaced(h.client.clone(), NS)
        .create(&PostParams::default(), &s)
        .await
        .unwrap();
    h.create(
        "nokeys",
        json!({"bucketName": "locked", "endpoint": server.endpoint(), "insecure": true,
               "interval": "1h", "secretRef": {"name": "no-keys"}}),
    )
    .await;
    let failed = h.wait_not_ready("nokeys", "AuthenticationFailed").await;
    let msg = &conditions::get(failed.conditions(), conditions::READY)
        .unwrap()
        .message;
    assert!(msg.contains("'accesskey' and 'secretkey'"), "{msg}");
}

#[tokio::test]
async fn unsupported_providers_and_plain_http_stall() {
    let h = harness().await;
    for (name, extra, needle) in [
        (
            "gcp",
            json!({"provider": "gcp"}),
            "provider 'gcp' is not supported",
        ),
        (
            "azure",
            json!({"provider": "azure"}),
            "provider 'azure' is not supported",
        ),
        ("aws-irsa", json!({"provider": "aws"}), "not supported here"),
    ] {
        let mut spec = json!({"bucketName": "b", "endpoint": "s3.amazonaws.com", "interval": "1h"});
        merge(&mut spec, extra);
        h.create(name, spec).await;
        let o = h.wait_not_ready(name, "UnsupportedProvider").await;
        assert!(
            conditions::is_true(o.conditions(), conditions::STALLED),
            "{name}"
        );
        let msg = &conditions::get(o.conditions(), conditions::READY)
            .unwrap()
            .message;
        assert!(msg.contains(needle), "{name}: {msg}");
    }
    h.create(
        "plain",
        json!({"bucketName": "b", "endpoint": "http://127.0.0.1:1", "interval": "1h"}),
    )
    .await;
    let o = h
        .wait_not_ready("plain", "InsecureConnectionsDisallowed")
        .await;
    assert!(conditions::is_true(o.conditions(), conditions::STALLED));
}

#[tokio::test]
async fn a_server_that_is_down_is_retried_and_others_go_on() {
    let Some(up) = S3Server::start() else { return };
    let h = harness().await;
    up.create_bucket("live", &[("a.yaml", b"a")]);
    let down_addr = s3::free_port();
    // The keys of a server that is not there yet.
    h.secret("later", "AKIAPLACEHOLDER", "placeholder").await;
    h.create(
        "later",
        json!({"bucketName": "late", "endpoint": down_addr.to_string(), "insecure": true,
               "interval": "1h", "timeout": "5s", "secretRef": {"name": "later"}}),
    )
    .await;
    h.bucket_on("live", &up, "live", json!({})).await;
    let failed = h.wait_not_ready("later", "BucketOperationFailed").await;
    let msg = &conditions::get(failed.conditions(), conditions::READY)
        .unwrap()
        .message;
    assert!(
        msg.contains("listing") || msg.contains(".sourceignore"),
        "{msg}"
    );
    h.wait_ready("live").await;

    // The server comes up: the retries (with backoff) pick it up.
    let late = S3Server::start_on(down_addr, true).unwrap();
    late.create_bucket("late", &[("z.yaml", b"z")]);
    Api::<Secret>::namespaced(h.client.clone(), NS)
        .patch(
            "later",
            &PatchParams::default(),
            &Patch::Merge(json!({"stringData": {
                "accesskey": late.access_key.as_deref().unwrap(),
                "secretkey": late.secret_key.as_deref().unwrap(),
            }})),
        )
        .await
        .unwrap();
    let ready = h.wait_ready("later").await;
    assert_eq!(
        h.artifact_files(&ready).await,
        BTreeSet::from([file("z.yaml", "z")])
    );
    assert!(conditions::get(ready.conditions(), conditions::FETCH_FAILED).is_none());
}

#[tokio::test]
async fn hostile_keys_and_objects_over_the_limits_are_refused() {
    let Some(server) = S3Server::start() else {
        return;
    };
    let h = harness().await;
    server.create_bucket("climb", &[("ok.yaml", b"ok"), ("../escape.yaml", b"pwned")]);
    h.bucket_on("climb", &server, "climb", json!({})).await;
    let o = h.wait_not_ready("climb", "BucketOperationFailed").await;
    let msg = &conditions::get(o.conditions(), conditions::READY)
        .unwrap()
        .message;
    assert!(
        msg.contains("../escape.yaml") && msg.contains(".."),
        "{msg}"
    );
    assert!(revision(&o).is_none());

    // One object over the per-object limit: refused from the listing,
    // before any byte of it is downloaded.
    server.create_bucket("big", &[("small.yaml", b"s")]);
    server.put_sized("big", "huge.bin", OBJECT_LIMIT + 1);
    let mark = server.requests().len();
    h.bucket_on("big", &server, "big", json!({})).await;
    let o = h.wait_not_ready("big", "SizeLimitExceeded").await;
    let msg = &conditions::get(o.conditions(), conditions::READY)
        .unwrap()
        .message;
    assert!(
        msg.contains("huge.bin") && msg.contains(&OBJECT_LIMIT.to_string()),
        "{msg}"
    );
    assert_eq!(object_gets(&server, mark), Vec::<String>::new());

    // Objects under the per-object limit that add up to more than the total.
    server.create_bucket("many", &[]);
    for i in 0..5 {
        server.put_sized("many", &format!("part-{i}.bin"), OBJECT_LIMIT - 10);
    }
    h.bucket_on("many", &server, "many", json!({})).await;
    let o = h.wait_not_ready("many", "SizeLimitExceeded").await;
    let msg = &conditions::get(o.conditions(), conditions::READY)
        .unwrap()
        .message;
    assert!(msg.contains("more than the limit"), "{msg}");

    // Nothing was written outside the storage and cache directories.
    for dir in &h.dirs {
        let parent: PathBuf = dir.path().parent().unwrap().to_path_buf();
        assert!(!parent.join("escape.yaml").exists());
        assert!(!dir.path().join("escape.yaml").exists());
    }
}

#[tokio::test]
async fn https_endpoints_are_trusted_through_cert_secret_ref() {
    let certs = ferroflux_testsupport::tls::TestCerts::new();
    let Some(server) = S3Server::start_tls(&certs) else {
        return;
    };
    let h = harness().await;
    server.create_bucket("tls", &[("a.yaml", b"over TLS")]);
    let ca: Secret = serde_json::from_value(json!({
        "metadata": {"name": "ca"}, "stringData": {"ca.crt": certs.ca()}
    }))
    .unwrap();
    let secrets = Api::<Secret>::namespaced(h.client.clone(), NS);
    secrets.create(&PostParams::default(), &ca).await.unwrap();
    let empty: Secret = serde_json::from_value(
        json!({"metadata": {"name": "empty-tls"}, "stringData": {"x": "y"}}),
    )
    .unwrap();
    secrets
        .create(&PostParams::default(), &empty)
        .await
        .unwrap();

    // HTTPS by default (no scheme, no `insecure`), the CA from certSecretRef.
    h.bucket_on(
        "trusted",
        &server,
        "tls",
        json!({"insecure": false, "certSecretRef": {"name": "ca"}}),
    )
    .await;
    let ready = h.wait_ready("trusted").await;
    assert_eq!(
        h.artifact_files(&ready).await,
        BTreeSet::from([file("a.yaml", "over TLS")])
    );

    // Without the CA the server is not trusted.
    h.bucket_on("untrusted", &server, "tls", json!({"insecure": false}))
        .await;
    let o = h.wait_not_ready("untrusted", "BucketOperationFailed").await;
    let msg = &conditions::get(o.conditions(), conditions::READY)
        .unwrap()
        .message;
    assert!(
        msg.contains("https://") || msg.to_lowercase().contains("certificate"),
        "{msg}"
    );

    // A certSecretRef with no TLS keys names what it lacks.
    h.bucket_on(
        "tls-missing",
        &server,
        "tls",
        json!({"insecure": false, "certSecretRef": {"name": "empty-tls"}}),
    )
    .await;
    let o = h
        .wait_not_ready("tls-missing", "AuthenticationFailed")
        .await;
    let msg = &conditions::get(o.conditions(), conditions::READY)
        .unwrap()
        .message;
    assert!(msg.contains("no TLS configuration"), "{msg}");
}
