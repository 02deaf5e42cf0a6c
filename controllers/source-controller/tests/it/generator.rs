//! ArtifactGenerator end to end in one process: a GitRepository from a real
//! Git server (`git http-backend`) and a Bucket from moto, composed and
//! split into ExternalArtifacts served by the artifact server; a new
//! commit regenerates through the watch; removed artifacts are deleted;
//! hostile copy operations stall naming the operation.

use std::collections::BTreeMap;
use std::time::Duration;

use ferroflux_api::conditions::{self, ObjectWithConditions};
use ferroflux_api::source::Source;
use ferroflux_api::source::v1::{ExternalArtifact, GitRepository};
use ferroflux_api::source_extensions::v1beta1::{ArtifactGenerator, GENERATOR_LABEL};
use ferroflux_runtime::controller::LoopConfig;
use ferroflux_testenv::TestEnv;
use ferroflux_testsupport::git::ServerAuth;
use ferroflux_testsupport::s3::S3Server;
use k8s_openapi::api::core::v1::{Namespace, Secret};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde_json::json;
use sha2::Digest;

use crate::git::fixtures::{Fixture, HttpServer};

const NS: &str = "flux-system";

struct Harness {
    _env: TestEnv,
    client: kube::Client,
    storage: tempfile::TempDir,
    _cache: tempfile::TempDir,
    _controller: source_controller::Running,
}

async fn harness() -> Harness {
    harness_with(false).await
}

/// A harness whose source-controller runs with `--no-cross-namespace-refs`
/// set to `no_cross_namespace_refs`.
async fn harness_with(no_cross_namespace_refs: bool) -> Harness {
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
    let storage = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let controller = source_controller::start(
        client.clone(),
        source_controller::Config {
            storage_path: storage.path().to_path_buf(),
            storage_addr: "127.0.0.1:0".to_string(),
            storage_adv_addr: None,
            artifact_retention_records: source_controller::storage::DEFAULT_RETENTION,
            no_cross_namespace_refs,
            git_cache_path: cache.path().to_path_buf(),
            limits: Default::default(),
            scratch: None,
            events_addr: None,
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
        _env: env,
        client,
        storage,
        _cache: cache,
        _controller: controller,
    }
}

impl Harness {
    async fn apply(&self, obj: serde_json::Value) {
        let ar = match obj["kind"].as_str() {
            Some("ArtifactGenerator") => kube::core::ApiResource::erase::<ArtifactGenerator>(&()),
            Some("Bucket") => {
                kube::core::ApiResource::erase::<ferroflux_api::source::v1::Bucket>(&())
            }
            Some("Secret") => kube::core::ApiResource::erase::<Secret>(&()),
            Some("OCIRepository") => {
                kube::core::ApiResource::erase::<ferroflux_api::source::v1::OCIRepository>(&())
            }
            _ => kube::core::ApiResource::erase::<GitRepository>(&()),
        };
        let api: Api<kube::core::DynamicObject> =
            Api::namespaced_with(self.client.clone(), NS, &ar);
        let name = obj["metadata"]["name"].as_str().unwrap().to_string();
        api.patch(
            &name,
            &PatchParams::apply("test").force(),
            &Patch::Apply(&obj),
        )
        .await
        .unwrap();
    }

    async fn wait<K, F>(&self, name: &str, what: &str, check: F) -> K
    where
        K: kube::Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
            + Clone
            + serde::de::DeserializeOwned
            + std::fmt::Debug
            + Send
            + 'static,
        F: Fn(&K) -> bool,
    {
        let api: Api<K> = Api::namespaced(self.client.clone(), NS);
        // A watch of the object says when it got there; the minute is only
        // the bound after which the test gives up.
        let reached = kube::runtime::wait::await_condition(api.clone(), name, |o: Option<&K>| {
            o.is_some_and(&check)
        });
        match tokio::time::timeout(Duration::from_secs(60), reached).await {
            Ok(Ok(Some(o))) => o,
            _ => panic!("{name} never reached: {what}: {:?}", api.get(name).await),
        }
    }

    /// The files of an ExternalArtifact's artifact, fetched from its URL
    /// and checked against its digest.
    async fn files(&self, ea: &ExternalArtifact) -> BTreeMap<String, String> {
        let artifact = ea.artifact().expect("an artifact");
        ferroflux_runtime::tls::install_crypto_provider();
        let bytes = reqwest::get(&artifact.url)
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert_eq!(
            Some(format!(
                "sha256:{}",
                hex::encode(sha2::Sha256::digest(&bytes))
            )),
            artifact.digest
        );
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("x");
        ferroflux_runtime::artifact::extract(&bytes[..], &dest, &Default::default()).unwrap();
        let mut out = BTreeMap::new();
        let mut stack = vec![dest.clone()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                } else {
                    let rel = p.strip_prefix(&dest).unwrap().display().to_string();
                    out.insert(rel, std::fs::read_to_string(&p).unwrap_or_default());
                }
            }
        }
        out
    }
}

fn ready<K: ObjectWithConditions>(o: &K) -> bool {
    conditions::is_true(o.conditions(), conditions::READY)
}

fn git_repo(name: &str, url: &str) -> serde_json::Value {
    json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
        "metadata": {"name": name, "namespace": NS},
        "spec": {"url": url, "interval": "1h", "ref": {"branch": "master"}}
    })
}

fn generator(
    name: &str,
    sources: serde_json::Value,
    artifacts: serde_json::Value,
) -> serde_json::Value {
    json!({
        "apiVersion": "source.extensions.fluxcd.io/v1beta1", "kind": "ArtifactGenerator",
        "metadata": {"name": name, "namespace": NS},
        "spec": {"sources": sources, "artifacts": artifacts}
    })
}

fn write_files(fixture: &Fixture, files: &[(&str, &str)]) {
    for (path, text) in files {
        let p = fixture.work.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
}

#[tokio::test]
async fn git_and_bucket_compose_and_split_into_external_artifacts() {
    let Some(s3) = S3Server::start() else { return };
    s3.create_bucket(
        "configs",
        &[
            (
                "envs/prod/configmap.yaml",
                b"kind: ConfigMap\nmetadata:\n  name: env\n",
            ),
            ("envs/prod/notes.md", b"notes"),
            ("values-prod.yaml", b"image:\n  tag: 6.7.0\n"),
        ],
    );
    let (fixture, _) = Fixture::new();
    write_files(
        &fixture,
        &[
            ("deploy/app.yaml", "kind: Deployment\n"),
            ("deploy/sub/svc.yaml", "kind: Service\n"),
            ("deploy/README.md", "readme"),
            (
                "chart/values.yaml",
                "image:\n  repository: podinfo\n  tag: 6.0.0\nreplicas: 2\n",
            ),
        ],
    );
    let head = fixture.push_new_commit("first");
    let server = HttpServer::start(&fixture.repos, ServerAuth::None);
    let h = harness().await;
    h.apply(git_repo("monorepo", &server.url("repo.git"))).await;
    let (access, secret) = (
        s3.access_key.clone().unwrap(),
        s3.secret_key.clone().unwrap(),
    );
    h.apply(json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "s3", "namespace": NS},
        "stringData": {"accesskey": access, "secretkey": secret}}))
        .await;
    h.apply(json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "Bucket",
        "metadata": {"name": "configs", "namespace": NS},
        "spec": {"bucketName": "configs", "endpoint": s3.endpoint(), "insecure": true,
                 "interval": "1h", "secretRef": {"name": "s3"}}
    }))
    .await;
    h.apply(generator(
        "app",
        json!([
            {"alias": "git", "kind": "GitRepository", "name": "monorepo"},
            {"alias": "cfg", "kind": "Bucket", "name": "configs", "namespace": NS}
        ]),
        json!([
            {"name": "composite", "copy": [
                {"from": "@git/deploy/**", "to": "@artifact/app/", "exclude": ["*.md"]},
                {"from": "@cfg/envs/prod/*.yaml", "to": "@artifact/app/env/"},
                {"from": "@git/chart/", "to": "@artifact/"},
                {"from": "@cfg/values-prod.yaml", "to": "@artifact/chart/values.yaml", "strategy": "Merge"}
            ]},
            {"name": "version", "revision": "@git", "originRevision": "@git", "copy": [
                {"from": "@git/version.txt", "to": "@artifact/v/version.txt"}
            ]}
        ]),
    ))
    .await;

    let g: ArtifactGenerator = h
        .wait("app", "Ready", |g: &ArtifactGenerator| ready(g))
        .await;
    let status = g.status.clone().unwrap();
    let names: Vec<&str> = status.inventory.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["composite", "version"]);
    assert!(
        status
            .observed_sources_digest
            .unwrap()
            .starts_with("sha256:")
    );

    let composite: ExternalArtifact = h
        .wait("composite", "Ready", |e: &ExternalArtifact| ready(e))
        .await;
    let artifact = composite.artifact().unwrap().clone();
    // latest@<digest of the tarball>, stored under the ExternalArtifact.
    let digest = artifact.digest.clone().unwrap();
    assert_eq!(artifact.revision, format!("latest@{digest}"));
    let hex = digest.strip_prefix("sha256:").unwrap();
    assert_eq!(
        artifact.path,
        format!("externalartifact/{NS}/composite/{hex}.tar.gz")
    );
    assert_eq!(status.inventory[0].digest, digest);
    assert_eq!(status.inventory[0].filename, format!("{hex}.tar.gz"));
    let source_ref = composite.spec.source_ref.clone().unwrap();
    assert_eq!(
        (source_ref.kind.as_str(), source_ref.name.as_str()),
        ("ArtifactGenerator", "app")
    );
    assert_eq!(
        composite.metadata.labels.as_ref().unwrap()[GENERATOR_LABEL],
        g.metadata.uid.clone().unwrap()
    );
    let owner = &composite.metadata.owner_references.as_ref().unwrap()[0];
    assert_eq!(
        (owner.kind.as_str(), owner.controller),
        ("ArtifactGenerator", Some(true))
    );
    let files = h.files(&composite).await;
    assert_eq!(
        files.keys().map(String::as_str).collect::<Vec<_>>(),
        [
            "app/app.yaml",
            "app/env/configmap.yaml",
            "app/sub/svc.yaml",
            "chart/values.yaml"
        ]
    );
    let values: serde_yaml::Value = serde_yaml::from_str(&files["chart/values.yaml"]).unwrap();
    let want: serde_yaml::Value =
        serde_yaml::from_str("image: {repository: podinfo, tag: 6.7.0}\nreplicas: 2").unwrap();
    assert_eq!(values, want);

    let version: ExternalArtifact = h
        .wait("version", "Ready", |e: &ExternalArtifact| ready(e))
        .await;
    let v = version.artifact().unwrap();
    assert_eq!(v.revision, format!("master@sha1:{head}"));
    assert_eq!(
        v.origin_revision(),
        Some(format!("master@sha1:{head}").as_str())
    );
    assert_eq!(h.files(&version).await["v/version.txt"], "first");

    // A new commit: the GitRepository's new artifact wakes the generator
    // (no reconcile requested of it); the composite's content is the same
    // and keeps its revision.
    let next = fixture.push_new_commit("second");
    let repos: Api<GitRepository> = Api::namespaced(h.client.clone(), NS);
    repos
        .patch(
            "monorepo",
            &PatchParams::default(),
            &Patch::Merge(
                json!({"metadata": {"annotations": {"reconcile.fluxcd.io/requestedAt": "1"}}}),
            ),
        )
        .await
        .unwrap();
    let version: ExternalArtifact = h
        .wait("version", "the new commit", |e: &ExternalArtifact| {
            e.revision() == Some(format!("master@sha1:{next}").as_str())
        })
        .await;
    assert_eq!(h.files(&version).await["v/version.txt"], "second");
    let again: ExternalArtifact = Api::namespaced(h.client.clone(), NS)
        .get("composite")
        .await
        .unwrap();
    assert_eq!(again.artifact(), Some(&artifact));

    // An artifact left out of the spec is deleted with its files.
    h.apply(generator(
        "app",
        json!([{"alias": "git", "kind": "GitRepository", "name": "monorepo"}]),
        json!([{"name": "composite", "copy": [{"from": "@git/deploy/**", "to": "@artifact/"}]}]),
    ))
    .await;
    h.wait("app", "one artifact", |g: &ArtifactGenerator| {
        ready(g)
            && g.status
                .as_ref()
                .is_some_and(|s| s.inventory.len() == 1 && s.inventory[0].name == "composite")
    })
    .await;
    let eas: Api<ExternalArtifact> = Api::namespaced(h.client.clone(), NS);
    assert!(eas.get_opt("version").await.unwrap().is_none());
    assert!(
        !h.storage
            .path()
            .join("externalartifact")
            .join(NS)
            .join("version")
            .exists()
    );
    let composite: ExternalArtifact = h
        .wait("composite", "the new content", |e: &ExternalArtifact| {
            e.artifact().is_some_and(|a| a.digest != artifact.digest)
        })
        .await;
    assert!(h.files(&composite).await.contains_key("README.md"));

    // Deleting the generator deletes what it generated.
    Api::<ArtifactGenerator>::namespaced(h.client.clone(), NS)
        .delete("app", &DeleteParams::default())
        .await
        .unwrap();
    let gone = kube::runtime::wait::await_condition(
        eas.clone(),
        "composite",
        |o: Option<&ExternalArtifact>| o.is_none(),
    );
    let _ = tokio::time::timeout(Duration::from_secs(30), gone).await;
    assert!(eas.get_opt("composite").await.unwrap().is_none());
    assert!(
        !h.storage
            .path()
            .join("externalartifact")
            .join(NS)
            .join("composite")
            .exists()
    );
}

#[tokio::test]
async fn cross_namespace_sources_are_refused_under_the_lockdown_flag() {
    let (fixture, _) = Fixture::new();
    let server = HttpServer::start(&fixture.repos, ServerAuth::None);
    let h = harness_with(true).await;
    h.apply(git_repo("repo", &server.url("repo.git"))).await;
    // Another namespace's source is refused before it is read.
    h.apply(generator(
        "foreign",
        json!([{"alias": "git", "kind": "GitRepository", "name": "repo", "namespace": "tenant-b"}]),
        json!([{"name": "foreign-out", "copy": [{"from": "@git/version.txt", "to": "@artifact/"}]}]),
    ))
    .await;
    let g: ArtifactGenerator = h
        .wait("foreign", "stalled", |g: &ArtifactGenerator| {
            conditions::is_true(g.conditions(), conditions::STALLED)
        })
        .await;
    let c = conditions::get(g.conditions(), conditions::READY).unwrap();
    assert_eq!(
        (c.status.as_str(), c.reason.as_str()),
        ("False", "AccessDenied")
    );
    assert!(
        c.message.contains("GitRepository/tenant-b/repo")
            && c.message
                .contains("cross-namespace references have been blocked"),
        "{}",
        c.message
    );
    let eas: Api<ExternalArtifact> = Api::namespaced(h.client.clone(), NS);
    assert!(eas.get_opt("foreign-out").await.unwrap().is_none());
    // Its own namespace's source (named with or without the namespace) works.
    h.apply(generator(
        "own",
        json!([{"alias": "git", "kind": "GitRepository", "name": "repo", "namespace": NS}]),
        json!([{"name": "own-out", "copy": [{"from": "@git/version.txt", "to": "@artifact/"}]}]),
    ))
    .await;
    h.wait("own-out", "Ready", |e: &ExternalArtifact| ready(e))
        .await;
}

#[tokio::test]
async fn hostile_copy_operations_stall_naming_the_operation() {
    let (fixture, _) = Fixture::new();
    let server = HttpServer::start(&fixture.repos, ServerAuth::None);
    let h = harness().await;
    h.apply(git_repo("repo", &server.url("repo.git"))).await;
    for (name, from, to, want) in [
        (
            "up",
            "@git/version.txt",
            "@artifact/../../escape.txt",
            "leaves the artifact",
        ),
        (
            "out",
            "@git/../../../etc/passwd",
            "@artifact/",
            "contains '..'",
        ),
        (
            "none",
            "@git/missing/*.yaml",
            "@artifact/",
            "no files match",
        ),
    ] {
        h.apply(generator(
            name,
            json!([{"alias": "git", "kind": "GitRepository", "name": "repo"}]),
            json!([{"name": format!("{name}-out"), "copy": [{"from": from, "to": to}]}]),
        ))
        .await;
        let g: ArtifactGenerator = h
            .wait(name, "stalled", |g: &ArtifactGenerator| {
                conditions::is_true(g.conditions(), conditions::STALLED)
            })
            .await;
        let c = conditions::get(g.conditions(), conditions::READY).unwrap();
        assert_eq!(
            (c.status.as_str(), c.reason.as_str()),
            ("False", "BuildFailed")
        );
        assert!(
            c.message.contains(want) && c.message.contains(from),
            "{}",
            c.message
        );
        let eas: Api<ExternalArtifact> = Api::namespaced(h.client.clone(), NS);
        assert!(eas.get_opt(&format!("{name}-out")).await.unwrap().is_none());
    }
    // A source that does not exist yet is waited for, then used.
    h.apply(generator(
        "later",
        json!([{"alias": "src", "kind": "GitRepository", "name": "later"}]),
        json!([{"name": "later-out", "copy": [{"from": "@src/version.txt", "to": "@artifact/"}]}]),
    ))
    .await;
    h.wait("later", "not ready", |g: &ArtifactGenerator| {
        conditions::get(g.conditions(), conditions::READY).is_some_and(|c| {
            c.status == "False" && c.message.contains("GitRepository/flux-system/later")
        })
    })
    .await;
    h.apply(git_repo("later", &server.url("repo.git"))).await;
    let ea: ExternalArtifact = h
        .wait("later-out", "Ready", |e: &ExternalArtifact| ready(e))
        .await;
    assert!(h.files(&ea).await.contains_key("version.txt"));
    assert!(!h.storage.path().join("escape.txt").exists());
}

#[tokio::test]
async fn a_path_pattern_makes_one_artifact_per_directory() {
    let (fixture, _) = Fixture::new();
    write_files(
        &fixture,
        &[
            ("apps/Web/envs/prod/app.yaml", "web: prod\n"),
            ("apps/api/envs/prod/app.yaml", "api: prod\n"),
            ("apps/api/envs/dev/app.yaml", "api: dev\n"),
            ("apps/api/README.md", "not an env\n"),
        ],
    );
    fixture.push_new_commit("apps");
    let server = HttpServer::start(&fixture.repos, ServerAuth::None);
    let h = harness().await;
    h.apply(git_repo("mono", &server.url("repo.git"))).await;
    let mut g = generator(
        "envs",
        json!([{"alias": "git", "kind": "GitRepository", "name": "mono"}]),
        json!([{"name": "{app}-{env}", "copy": [
            {"from": "@git/apps/{app}/envs/{env}/**", "to": "@artifact/"}
        ]}]),
    );
    g["spec"]["pathPattern"] = json!("@git/apps/{app}/envs/{env}");
    g["spec"]["commonMetadata"] = json!({"labels": {"team": "a"}});
    h.apply(g).await;
    let g: ArtifactGenerator = h
        .wait("envs", "Ready", |g: &ArtifactGenerator| ready(g))
        .await;
    let mut names: Vec<String> = g
        .status
        .unwrap()
        .inventory
        .into_iter()
        .map(|r| r.name)
        .collect();
    names.sort();
    assert_eq!(names, ["api-dev", "api-prod", "web-prod"]);
    // Names and labels lowercased; paths as found.
    let web: ExternalArtifact = h
        .wait("web-prod", "Ready", |e: &ExternalArtifact| ready(e))
        .await;
    let labels = web.metadata.labels.clone().unwrap();
    assert_eq!(
        (
            labels["app"].as_str(),
            labels["env"].as_str(),
            labels["team"].as_str()
        ),
        ("web", "prod", "a")
    );
    assert_eq!(labels["app.kubernetes.io/managed-by"], "source-controller");
    let files = h.files(&web).await;
    assert_eq!(files.keys().collect::<Vec<_>>(), ["app.yaml"]);
    assert_eq!(files["app.yaml"], "web: prod\n");

    // A directory that goes away takes its artifact along.
    std::fs::remove_dir_all(fixture.work.join("apps/api/envs/dev")).unwrap();
    fixture.push_new_commit("no dev");
    let repos: Api<GitRepository> = Api::namespaced(h.client.clone(), NS);
    repos
        .patch(
            "mono",
            &PatchParams::default(),
            &Patch::Merge(
                json!({"metadata": {"annotations": {"reconcile.fluxcd.io/requestedAt": "1"}}}),
            ),
        )
        .await
        .unwrap();
    h.wait("envs", "two artifacts", |g: &ArtifactGenerator| {
        g.status.as_ref().is_some_and(|s| s.inventory.len() == 2)
    })
    .await;
    let eas: Api<ExternalArtifact> = Api::namespaced(h.client.clone(), NS);
    assert!(eas.get_opt("api-dev").await.unwrap().is_none());
    assert!(eas.get_opt("api-prod").await.unwrap().is_some());

    // A generated ExternalArtifact deleted by hand is put back.
    let uid = web.metadata.uid.clone();
    eas.delete("web-prod", &DeleteParams::default())
        .await
        .unwrap();
    let back: ExternalArtifact = h
        .wait("web-prod", "re-created", |e: &ExternalArtifact| {
            e.metadata.uid != uid && ready(e)
        })
        .await;
    assert_eq!(
        back.artifact().map(|a| &a.digest),
        web.artifact().map(|a| &a.digest)
    );
}

#[tokio::test]
async fn an_oci_repository_source_lends_its_revision_and_origin() {
    use ferroflux_oci::artifact::{self, Metadata};
    use ferroflux_oci::{Client, ClientOptions, Repository};
    use ferroflux_testsupport::oci_registry::{self, Registry};
    if !oci_registry::available() {
        return;
    }
    let registry = Registry::start();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = Client::new(
        Repository::parse_url(&format!("oci://{}/org/app", registry.host)).unwrap(),
        ClientOptions {
            insecure: true,
            push: true,
            ..Default::default()
        },
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("manifests")).unwrap();
    std::fs::write(dir.path().join("manifests/app.yaml"), "kind: ConfigMap\n").unwrap();
    let meta = Metadata {
        source: Some("https://git.example/app.git".into()),
        revision: Some("main@sha1:0123456789abcdef".into()),
        created: Some("2026-01-01T00:00:00Z".into()),
    };
    artifact::push(&client, "v1", artifact::pack(dir.path()).unwrap(), &meta)
        .await
        .unwrap();
    let h = harness().await;
    h.apply(json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "OCIRepository",
        "metadata": {"name": "app", "namespace": NS},
        "spec": {"url": format!("oci://{}/org/app", registry.host), "interval": "1h",
                 "insecure": true, "ref": {"tag": "v1"}}
    }))
    .await;
    h.apply(generator(
        "from-oci",
        json!([{"alias": "oci", "kind": "OCIRepository", "name": "app"}]),
        json!([{"name": "oci-out", "revision": "@oci", "originRevision": "@oci", "copy": [
            {"from": "@oci/manifests/*.yaml", "to": "@artifact/deploy/"}
        ]}]),
    ))
    .await;
    let ea: ExternalArtifact = h
        .wait("oci-out", "Ready", |e: &ExternalArtifact| ready(e))
        .await;
    let oci: ferroflux_api::source::v1::OCIRepository = Api::namespaced(h.client.clone(), NS)
        .get("app")
        .await
        .unwrap();
    let a = ea.artifact().unwrap();
    // The OCIRepository's revision (`v1@sha256:<manifest>`), and the Git
    // revision its artifact was pushed from as the origin.
    assert_eq!(Some(a.revision.as_str()), oci.revision());
    assert!(a.revision.starts_with("v1@sha256:"), "{}", a.revision);
    assert_eq!(a.origin_revision(), Some("main@sha1:0123456789abcdef"));
    assert_eq!(h.files(&ea).await["deploy/app.yaml"], "kind: ConfigMap\n");

    // Without originRevision the metadata goes: the status is replaced.
    h.apply(generator(
        "from-oci",
        json!([{"alias": "oci", "kind": "OCIRepository", "name": "app"}]),
        json!([{"name": "oci-out", "revision": "@oci", "copy": [
            {"from": "@oci/manifests/*.yaml", "to": "@artifact/deploy/"}
        ]}]),
    ))
    .await;
    h.wait("oci-out", "no origin revision", |e: &ExternalArtifact| {
        ready(e) && e.artifact().is_some_and(|a| a.origin_revision().is_none())
    })
    .await;
}
