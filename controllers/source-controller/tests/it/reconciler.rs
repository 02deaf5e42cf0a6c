//! The GitRepository reconciler end to end in one process: the test API
//! server, a real Git server (`git http-backend` with basic auth), storage
//! on disk and the artifact server on a socket.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use ferroflux_api::conditions::{self, FluxObject, ObjectWithConditions};
use ferroflux_api::source::v1::GitRepository;
use ferroflux_runtime::controller::LoopConfig;
use ferroflux_runtime::events::FluxEvent;
use ferroflux_testenv::TestEnv;
use ferroflux_testsupport::sink::Sink;
use k8s_openapi::api::core::v1::{Event, Namespace, Secret};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde_json::json;
use sha2::Digest;

use crate::git::fixtures::{Fixture, HttpServer, ServerAuth};

const PASSWORD: &str = "s3cr3t-Pa55word";

struct Harness {
    _env: TestEnv,
    client: kube::Client,
    repos: Api<GitRepository>,
    storage_root: PathBuf,
    events: Sink,
    _dirs: Vec<tempfile::TempDir>,
    /// Started as the binary starts it; stops when the harness is dropped.
    _controller: source_controller::Running,
}

/// Every log line of this test binary (debug level and up), so tests can
/// check that no secret ever reaches a log.
fn captured_logs() -> &'static Mutex<Vec<u8>> {
    static LOGS: std::sync::OnceLock<&'static Mutex<Vec<u8>>> = std::sync::OnceLock::new();
    LOGS.get_or_init(|| {
        let buf: &'static Mutex<Vec<u8>> = Box::leak(Box::new(Mutex::new(Vec::new())));
        let writer = move || LogWriter(buf);
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("debug"))
            .with_writer(writer)
            .with_ansi(false)
            .try_init();
        buf
    })
}

struct LogWriter(&'static Mutex<Vec<u8>>);

impl std::io::Write for LogWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

async fn harness() -> Harness {
    captured_logs();
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
    let sink = format!("{}/", events.url);
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
            events_addr: Some(sink),
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

async fn secret(client: &kube::Client, name: &str, password: &str) {
    let s: Secret = serde_json::from_value(json!({
        "metadata": {"name": name},
        "stringData": {"username": "flux", "password": password}
    }))
    .unwrap();
    Api::<Secret>::namespaced(client.clone(), "flux-system")
        .create(&PostParams::default(), &s)
        .await
        .unwrap();
}

fn repo(name: &str, url: &str, secret: &str) -> GitRepository {
    serde_json::from_value(json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
        "metadata": {"name": name, "namespace": "flux-system"},
        "spec": {"url": url, "interval": "1h", "ref": {"branch": "master"}, "secretRef": {"name": secret}}
    }))
    .unwrap()
}

async fn wait_for(
    api: &Api<GitRepository>,
    name: &str,
    what: &str,
    check: impl Fn(&GitRepository) -> bool,
) -> GitRepository {
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

fn revision(o: &GitRepository) -> Option<String> {
    o.status
        .as_ref()?
        .artifact
        .as_ref()
        .map(|a| a.revision.clone())
}

async fn request_reconcile(api: &Api<GitRepository>, name: &str, token: &str) {
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

fn fetches(server: &HttpServer) -> usize {
    server
        .seen()
        .iter()
        .filter(|s| s.command.as_deref() == Some("fetch"))
        .count()
}

#[tokio::test]
async fn artifacts_follow_the_branch_and_are_served() {
    let h = harness().await;
    let (fixture, commits) = Fixture::new();
    // A .sourceignore in the repository keeps `dir/` out of the artifact.
    std::fs::write(fixture.work.join(".sourceignore"), "dir/\n").unwrap();
    let head = fixture.push_new_commit("four");
    let server = HttpServer::start(
        &fixture.repos,
        ServerAuth::Basic("flux".into(), PASSWORD.into()),
    );
    secret(&h.client, "git-auth", PASSWORD).await;
    h.repos
        .create(
            &PostParams::default(),
            &repo("podinfo", &server.url("repo.git"), "git-auth"),
        )
        .await
        .unwrap();

    let ready = wait_for(&h.repos, "podinfo", "Ready", |o| {
        conditions::is_true(o.conditions(), conditions::READY)
    })
    .await;
    let artifact = ready.status.as_ref().unwrap().artifact.clone().unwrap();
    assert_eq!(artifact.revision, format!("master@sha1:{head}"));
    assert_ne!(head, commits.master);
    let digest = artifact.digest.clone().unwrap();
    let hex = digest.strip_prefix("sha256:").unwrap();
    assert_eq!(
        artifact.path,
        format!("gitrepository/flux-system/podinfo/{hex}.tar.gz")
    );
    assert!(conditions::is_true(
        ready.conditions(),
        conditions::ARTIFACT_IN_STORAGE
    ));
    assert_eq!(ready.observed_generation(), Some(1));
    assert_eq!(
        conditions::get(ready.conditions(), conditions::READY)
            .unwrap()
            .message,
        format!("stored artifact for revision 'master@sha1:{head}'")
    );

    // The artifact server serves exactly those bytes.
    ferroflux_runtime::tls::install_crypto_provider();
    let bytes = reqwest::get(&artifact.url)
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(
        format!("sha256:{}", hex::encode(sha2::Sha256::digest(&bytes))),
        digest
    );
    assert_eq!(artifact.size, Some(bytes.len() as i64));
    let unpacked = tempfile::tempdir().unwrap();
    let dest = unpacked.path().join("x");
    ferroflux_runtime::artifact::extract(&bytes[..], &dest, &Default::default()).unwrap();
    assert_eq!(
        std::fs::read_to_string(dest.join("version.txt")).unwrap(),
        "four"
    );
    assert!(!dest.join("dir").exists(), ".sourceignore is honoured");
    assert!(!dest.join(".git").exists());

    // An event announced it, with the revision.
    let new_artifact = h
        .events
        .parsed::<FluxEvent>()
        .into_iter()
        .find(|e| e.reason == "NewArtifact")
        .expect("NewArtifact event");
    assert_eq!(
        new_artifact
            .metadata
            .get("source.toolkit.fluxcd.io/revision")
            .cloned()
            .unwrap_or_else(|| panic!("{:?}", new_artifact.metadata)),
        format!("master@sha1:{head}")
    );

    // Unchanged remote: a requested reconcile lists refs and fetches nothing;
    // the artifact record is untouched.
    let fetches_before = fetches(&server);
    request_reconcile(&h.repos, "podinfo", "t1").await;
    let after = wait_for(&h.repos, "podinfo", "handled t1", |o| {
        o.last_handled_reconcile_at() == Some("t1")
    })
    .await;
    assert_eq!(
        after.status.as_ref().unwrap().artifact,
        Some(artifact.clone())
    );
    assert_eq!(
        fetches(&server),
        fetches_before,
        "no fetch for an unchanged remote"
    );

    // A pushed commit gives a new artifact at once after requestedAt.
    let newer = fixture.push_new_commit("five");
    request_reconcile(&h.repos, "podinfo", "t2").await;
    let updated = wait_for(&h.repos, "podinfo", "new revision", |o| {
        revision(o) == Some(format!("master@sha1:{newer}"))
    })
    .await;
    assert_ne!(
        updated
            .status
            .as_ref()
            .unwrap()
            .artifact
            .as_ref()
            .unwrap()
            .digest
            .as_deref(),
        Some(digest.as_str())
    );

    // Retention keeps two artifacts.
    let newest = fixture.push_new_commit("six");
    request_reconcile(&h.repos, "podinfo", "t3").await;
    wait_for(&h.repos, "podinfo", "third revision", |o| {
        revision(o) == Some(format!("master@sha1:{newest}"))
    })
    .await;
    let dir = h.storage_root.join("gitrepository/flux-system/podinfo");
    let files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tar.gz"))
        .collect();
    assert_eq!(files.len(), 2, "--artifact-retention-records=2");

    // Deleting the object removes its artifacts.
    h.repos
        .delete("podinfo", &DeleteParams::default())
        .await
        .unwrap();
    for _ in 0..200 {
        if !dir.exists() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(!dir.exists(), "artifacts removed on deletion");
}

#[tokio::test]
async fn a_wrong_password_is_reported_without_the_password() {
    let h = harness().await;
    let (fixture, _) = Fixture::new();
    let server = HttpServer::start(
        &fixture.repos,
        ServerAuth::Basic("flux".into(), PASSWORD.into()),
    );
    let wrong = "not-the-Pa55word-xyz";
    secret(&h.client, "bad-auth", wrong).await;
    let url = server.url("repo.git");
    h.repos
        .create(&PostParams::default(), &repo("locked", &url, "bad-auth"))
        .await
        .unwrap();
    let failed = wait_for(&h.repos, "locked", "Ready=False", |o| {
        conditions::is_false(o.conditions(), conditions::READY)
    })
    .await;
    let ready = conditions::get(failed.conditions(), conditions::READY).unwrap();
    assert_eq!(ready.reason, "AuthenticationFailed");
    assert!(ready.message.contains(&url), "{}", ready.message);
    assert!(conditions::is_true(
        failed.conditions(),
        conditions::FETCH_FAILED
    ));
    let everything = serde_json::to_string(&failed).unwrap();
    assert!(
        !everything.contains(wrong) && !everything.contains(PASSWORD),
        "{everything}"
    );
    // Neither the Kubernetes events nor the posted events carry it.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let kube_events = Api::<Event>::namespaced(h.client.clone(), "flux-system")
        .list(&Default::default())
        .await
        .unwrap();
    let text = serde_json::to_string(&kube_events).unwrap()
        + &serde_json::to_string(&h.events.parsed::<FluxEvent>()).unwrap();
    assert!(text.contains("AuthenticationFailed"), "{text}");
    assert!(!text.contains(wrong) && !text.contains(PASSWORD));
    // Nor does any log line (the loop logged the failure at least once).
    let logs = String::from_utf8_lossy(&captured_logs().lock().unwrap()).into_owned();
    assert!(
        logs.contains("AuthenticationFailed") || logs.contains("authentication"),
        "the failure was logged"
    );
    assert!(
        !logs.contains(wrong) && !logs.contains(PASSWORD),
        "a password reached the logs"
    );
    use base64::Engine;
    let encoded = base64::engine::general_purpose::STANDARD.encode(wrong);
    assert!(
        !logs.contains(&encoded),
        "an encoded password reached the logs"
    );
}

#[tokio::test]
async fn the_same_tree_gives_the_same_digest() {
    let h = harness().await;
    let (fixture, _) = Fixture::new();
    let server = HttpServer::start(
        &fixture.repos,
        ServerAuth::Basic("flux".into(), PASSWORD.into()),
    );
    secret(&h.client, "git-auth", PASSWORD).await;
    for name in ["one", "two"] {
        h.repos
            .create(
                &PostParams::default(),
                &repo(name, &server.url("repo.git"), "git-auth"),
            )
            .await
            .unwrap();
    }
    let digest_of = |o: &GitRepository| {
        o.status
            .as_ref()
            .and_then(|s| s.artifact.as_ref())
            .and_then(|a| a.digest.clone())
    };
    let one = wait_for(&h.repos, "one", "artifact", |o| digest_of(o).is_some()).await;
    let two = wait_for(&h.repos, "two", "artifact", |o| digest_of(o).is_some()).await;
    assert_eq!(digest_of(&one), digest_of(&two));
}

#[tokio::test]
async fn a_new_commit_is_picked_up_within_one_interval_and_idle_polls_write_nothing() {
    let h = harness().await;
    let (fixture, commits) = Fixture::new();
    let server = HttpServer::start(
        &fixture.repos,
        ServerAuth::Basic("flux".into(), PASSWORD.into()),
    );
    secret(&h.client, "git-auth", PASSWORD).await;
    let mut r = repo("poll", &server.url("repo.git"), "git-auth");
    r.spec.interval = "1s".parse().unwrap();
    h.repos.create(&PostParams::default(), &r).await.unwrap();
    let first = wait_for(&h.repos, "poll", "first artifact", |o| {
        revision(o) == Some(format!("master@sha1:{}", commits.master))
    })
    .await;
    // Several polls of an unchanged remote: no status write at all.
    tokio::time::sleep(Duration::from_millis(3500)).await;
    let idle = h.repos.get("poll").await.unwrap();
    assert_eq!(
        idle.metadata.resource_version, first.metadata.resource_version,
        "idle polls wrote the object"
    );
    // A pushed commit shows up on the next poll, with no request.
    let pushed = fixture.push_new_commit("polled");
    wait_for(&h.repos, "poll", "pushed revision", |o| {
        revision(o) == Some(format!("master@sha1:{pushed}"))
    })
    .await;
}

#[tokio::test]
async fn includes_are_copied_and_a_bad_semver_range_stalls() {
    let h = harness().await;
    let (fixture, _) = Fixture::new();
    let server = HttpServer::start(
        &fixture.repos,
        ServerAuth::Basic("flux".into(), PASSWORD.into()),
    );
    secret(&h.client, "git-auth", PASSWORD).await;
    h.repos
        .create(
            &PostParams::default(),
            &repo("base", &server.url("repo.git"), "git-auth"),
        )
        .await
        .unwrap();
    wait_for(&h.repos, "base", "artifact", |o| revision(o).is_some()).await;
    let mut with_include = repo("app", &server.url("repo.git"), "git-auth");
    with_include.spec.include = vec![
        serde_json::from_value(
            json!({"repository": {"name": "base"}, "fromPath": "dir", "toPath": "vendor/base"}),
        )
        .unwrap(),
    ];
    h.repos
        .create(&PostParams::default(), &with_include)
        .await
        .unwrap();
    let app = wait_for(&h.repos, "app", "artifact", |o| revision(o).is_some()).await;
    let status = app.status.clone().unwrap();
    assert_eq!(status.included_artifacts.len(), 1);
    assert_eq!(status.observed_include.len(), 1);
    let artifact = status.artifact.unwrap();
    ferroflux_runtime::tls::install_crypto_provider();
    let bytes = reqwest::get(&artifact.url)
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let unpacked = tempfile::tempdir().unwrap();
    let dest = unpacked.path().join("x");
    ferroflux_runtime::artifact::extract(&bytes[..], &dest, &Default::default()).unwrap();
    assert_eq!(
        std::fs::read_to_string(dest.join("vendor/base/nested.yaml")).unwrap(),
        "v: three\n"
    );

    let mut bad = repo("bad-range", &server.url("repo.git"), "git-auth");
    bad.spec.reference =
        Some(serde_json::from_value(json!({"semver": ">= not-a-version"})).unwrap());
    h.repos.create(&PostParams::default(), &bad).await.unwrap();
    let stalled = wait_for(&h.repos, "bad-range", "Stalled", |o| {
        conditions::is_true(o.conditions(), conditions::STALLED)
    })
    .await;
    let ready = conditions::get(stalled.conditions(), conditions::READY).unwrap();
    assert_eq!(ready.status, "False");
    assert!(ready.message.contains("not-a-version"), "{}", ready.message);
}

#[tokio::test]
async fn git_repositories_of_one_url_share_listings_and_a_request_after_a_push_sees_it() {
    let h = harness().await;
    let (fixture, commits) = Fixture::new();
    let server = HttpServer::start(
        &fixture.repos,
        ServerAuth::Basic("flux".into(), PASSWORD.into()),
    );
    secret(&h.client, "git-auth", PASSWORD).await;
    const N: usize = 12;
    for i in 0..N {
        let r = repo(&format!("shared-{i}"), &server.url("repo.git"), "git-auth");
        h.repos.create(&PostParams::default(), &r).await.unwrap();
    }
    let want = format!("master@sha1:{}", commits.master);
    for i in 0..N {
        wait_for(&h.repos, &format!("shared-{i}"), "artifact", |o| {
            revision(o).as_deref() == Some(want.as_str())
        })
        .await;
    }
    let handshakes = |seen: &[crate::git::fixtures::Seen]| {
        seen.iter()
            .filter(|s| s.method == "GET" && s.path.ends_with("/info/refs") && s.status == 200)
            .count()
    };
    let seen = server.seen();
    // Each of them listing would be N; they share (one listing unless the
    // reconciles spread over more than the reuse window).
    assert!(handshakes(&seen) < N / 2, "{} listings", handshakes(&seen));
    assert_eq!(fetches(&server), 1, "{seen:#?}");

    // A push, then a request as a webhook makes it (an RFC 3339 time):
    // every one of them sees the new commit, through fresh listings only.
    let pushed = fixture.push_new_commit("webhook");
    let now = k8s_openapi::jiff::Timestamp::now().to_string();
    for i in 0..N {
        request_reconcile(&h.repos, &format!("shared-{i}"), &now).await;
    }
    let want = format!("master@sha1:{pushed}");
    for i in 0..N {
        wait_for(&h.repos, &format!("shared-{i}"), "pushed revision", |o| {
            revision(o).as_deref() == Some(want.as_str())
        })
        .await;
    }
    assert_eq!(fetches(&server), 2);
}
