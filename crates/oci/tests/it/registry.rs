//! Push and pull against Debian's `docker-registry`: plain, with basic
//! auth, with TLS from a test CA; `oras-py` pulls what we push and we pull
//! what it pushes.

use std::path::Path;

use ferroflux_oci::artifact::{self, CONTENT_MEDIA_TYPE, Metadata};
use ferroflux_oci::{Client, ClientOptions, Credentials, OciError, Reference, Repository};
use ferroflux_testsupport::oci_registry::{self, Registry, RegistryOptions};
use ferroflux_testsupport::tls::TestCerts;

const PASSWORD: &str = "reg-Pa55-word-9d1";

fn client(registry: &Registry, repo: &str, creds: Option<Credentials>, push: bool) -> Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let repository = Repository::parse_url(&registry.url(repo)).unwrap();
    Client::new(
        repository,
        ClientOptions {
            insecure: !registry.tls,
            credentials: creds,
            push,
            ..Default::default()
        },
    )
    .unwrap()
}

fn tree(dir: &Path, marker: &str) {
    std::fs::create_dir_all(dir.join("deploy")).unwrap();
    std::fs::write(
        dir.join("deploy/cm.yaml"),
        format!("kind: ConfigMap\n# {marker}\n"),
    )
    .unwrap();
    std::fs::write(dir.join("README.md"), "hello\n").unwrap();
}

fn tag(t: &str) -> Reference {
    Reference::parse_tag(t).unwrap()
}

#[tokio::test]
async fn what_we_push_oras_pulls_and_what_oras_pushes_we_pull() {
    if !oci_registry::available() {
        return;
    }
    let Some(python) = oci_registry::peer_python() else {
        return;
    };
    let registry = Registry::start();
    let work = tempfile::tempdir().unwrap();
    let src = work.path().join("src");
    tree(&src, "one");
    let layer = artifact::pack(&src).unwrap();
    let pusher = client(&registry, "apps/demo", None, true);
    let meta = Metadata {
        source: Some("https://git.example/demo.git".into()),
        revision: Some("main@sha1:0123456789abcdef0123456789abcdef01234567".into()),
        created: Some("2026-01-01T00:00:00Z".into()),
    };
    let digest = artifact::push(&pusher, "v1", layer.clone(), &meta)
        .await
        .unwrap();

    // oras-py reads our manifest and layer.
    let out = work.path().join("oras-out");
    let manifest = oci_registry::oras(
        &python,
        &[
            "pull",
            &registry.host,
            "apps/demo:v1",
            out.to_str().unwrap(),
        ],
    );
    let manifest: serde_json::Value =
        serde_json::from_str(manifest.trim().lines().last().unwrap()).unwrap();
    assert_eq!(manifest["config"]["mediaType"], artifact::CONFIG_MEDIA_TYPE);
    assert_eq!(manifest["layers"][0]["mediaType"], CONTENT_MEDIA_TYPE);
    assert_eq!(
        manifest["annotations"][artifact::SOURCE],
        "https://git.example/demo.git"
    );
    let layer_digest = manifest["layers"][0]["digest"].as_str().unwrap();
    assert_eq!(std::fs::read(out.join(layer_digest)).unwrap(), layer);

    // We read it back by tag and by digest, with the same digest.
    let puller = client(&registry, "apps/demo", None, false);
    let (m, d) = puller.manifest(&tag("v1")).await.unwrap();
    assert_eq!(d, digest);
    assert_eq!(
        m.annotations[artifact::REVISION],
        meta.revision.clone().unwrap()
    );
    let (_, d2) = puller
        .manifest(&Reference::parse_digest(&digest).unwrap())
        .await
        .unwrap();
    assert_eq!(d2, digest);

    // oras-py pushes a tarball of its own; we pull it.
    let other = work.path().join("other.tgz");
    tree(&work.path().join("other"), "two");
    std::fs::write(&other, artifact::pack(&work.path().join("other")).unwrap()).unwrap();
    oci_registry::oras(
        &python,
        &[
            "push",
            &registry.host,
            "apps/demo:v2",
            other.to_str().unwrap(),
            CONTENT_MEDIA_TYPE,
            r#"{"org.opencontainers.image.revision": "v2@sha1:abc"}"#,
        ],
    );
    let dest = work.path().join("pulled.tgz");
    let (m, _, desc) = artifact::pull(&puller, &tag("v2"), &dest, 1 << 20)
        .await
        .unwrap();
    assert_eq!(m.annotations[artifact::REVISION], "v2@sha1:abc");
    assert_eq!(desc.media_type, CONTENT_MEDIA_TYPE);
    assert_eq!(
        std::fs::read(&dest).unwrap(),
        std::fs::read(&other).unwrap()
    );
    let mut tags = puller.tags().await.unwrap();
    tags.sort();
    assert_eq!(tags, ["v1", "v2"]);
}

#[tokio::test]
async fn basic_auth_over_tls_and_wrong_credentials() {
    if !oci_registry::available() {
        return;
    }
    let certs = TestCerts::new();
    let registry = Registry::start_with(RegistryOptions {
        auth: Some(("flux".into(), PASSWORD.into())),
        tls: Some(certs.clone()),
    });
    let _ = rustls::crypto::ring::default_provider().install_default();
    let repo = Repository::parse_url(&registry.url("secure/app")).unwrap();
    let make = |password: Option<&str>, push: bool, ca: bool| {
        Client::new(
            repo.clone(),
            ClientOptions {
                ca_certificates: if ca {
                    reqwest::Certificate::from_pem_bundle(&certs.ca_pem).unwrap()
                } else {
                    vec![]
                },
                credentials: password.map(|p| Credentials::Basic {
                    username: "flux".into(),
                    password: p.into(),
                }),
                push,
                ..Default::default()
            },
        )
        .unwrap()
    };
    let src = tempfile::tempdir().unwrap();
    tree(src.path(), "tls");
    let digest = artifact::push(
        &make(Some(PASSWORD), true, true),
        "latest",
        artifact::pack(src.path()).unwrap(),
        &Metadata::default(),
    )
    .await
    .unwrap();
    let (_, d) = make(Some(PASSWORD), false, true)
        .manifest(&tag("latest"))
        .await
        .unwrap();
    assert_eq!(d, digest);

    for (password, what) in [
        (Some("wrong-password-77"), "wrong password"),
        (None, "no credentials"),
    ] {
        let err = make(password, false, true)
            .manifest(&tag("latest"))
            .await
            .unwrap_err();
        assert!(err.is_authentication(), "{what}: {err}");
        assert!(!err.to_string().contains("wrong-password-77"), "{err}");
    }
    // Without the CA the server is not trusted.
    let err = make(Some(PASSWORD), false, false)
        .manifest(&tag("latest"))
        .await
        .unwrap_err();
    assert!(matches!(err, OciError::Transport { .. }), "{err}");
}

#[tokio::test]
async fn missing_tags_and_size_limits() {
    if !oci_registry::available() {
        return;
    }
    let registry = Registry::start();
    let c = client(&registry, "limits/app", None, true);
    let err = c.manifest(&tag("nope")).await.unwrap_err();
    assert!(matches!(err, OciError::NotFound { .. }), "{err}");
    let src = tempfile::tempdir().unwrap();
    std::fs::write(src.path().join("big.bin"), vec![7u8; 300_000]).unwrap();
    let layer = artifact::pack(src.path()).unwrap();
    artifact::push(&c, "big", layer, &Metadata::default())
        .await
        .unwrap();
    let dest = src.path().join("out.tgz");
    let err = artifact::pull(&c, &tag("big"), &dest, 100)
        .await
        .unwrap_err();
    assert!(matches!(err, OciError::TooLarge { .. }), "{err}");
    assert!(!dest.exists(), "nothing may be left behind");
}
