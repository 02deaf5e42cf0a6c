//! A Kustomization from an OCIRepository: `ferroflux push artifact` puts
//! the manifests in Debian's `docker-registry`, source-controller makes
//! them an artifact, kustomize-controller applies them; a new push of the
//! tag is applied after a `requestedAt`, and what it no longer holds is
//! pruned.

use std::path::{Path, PathBuf};
use std::process::Command;

use ferroflux_testsupport::oci_registry::{self, Registry};
use kube::api::{Api, ApiResource, DynamicObject};

use crate::support::{E2e, Kind, ready};

/// The `ferroflux` binary beside the controllers this test runs.
fn ferroflux_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("the test executable");
    let mut dir = exe.parent().map(Path::to_path_buf).unwrap_or_default();
    if dir.ends_with("deps") {
        dir.pop();
    }
    let bin = dir.join("ferroflux");
    assert!(
        bin.exists(),
        "{} is missing: build it with `cargo build --bins -p ferroflux-cli` (same profile and target directory)",
        bin.display()
    );
    bin
}

fn push(registry: &Registry, dir: &Path, revision: &str) {
    let out = Command::new(ferroflux_bin())
        .args([
            "push",
            "artifact",
            &format!("{}:production", registry.url("manifests/app")),
        ])
        .arg("--path")
        .arg(dir)
        .args([
            "--source",
            "https://git.example/app.git",
            "--revision",
            revision,
            "--insecure-registry",
        ])
        .output()
        .expect("running ferroflux push artifact");
    assert!(
        out.status.success(),
        "ferroflux push artifact failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn write_app(dir: &Path, greeting: &str, extra: bool) {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir.join("app")).unwrap();
    std::fs::write(
        dir.join("app/namespace.yaml"),
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: from-oci\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("app/config.yaml"),
        format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: config\n  namespace: from-oci\ndata:\n  greeting: \"{greeting}\"\n"
        ),
    )
    .unwrap();
    if extra {
        std::fs::write(
            dir.join("app/old.yaml"),
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: old\n  namespace: from-oci\ndata:\n  greeting: bye\n",
        )
        .unwrap();
    }
}

fn flux_yaml(url: &str) -> String {
    format!(
        r#"apiVersion: source.toolkit.fluxcd.io/v1
kind: OCIRepository
metadata:
  name: manifests
  namespace: flux-system
spec:
  interval: 1h
  url: {url}
  insecure: true
  ref:
    tag: production
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: from-oci
  namespace: flux-system
spec:
  interval: 1h
  path: ./app
  prune: true
  timeout: 1m
  sourceRef:
    kind: OCIRepository
    name: manifests
"#
    )
}

fn oci_api(e2e: &E2e) -> Api<DynamicObject> {
    let ar = ApiResource {
        group: "source.toolkit.fluxcd.io".into(),
        version: "v1".into(),
        api_version: "source.toolkit.fluxcd.io/v1".into(),
        kind: "OCIRepository".into(),
        plural: "ocirepositories".into(),
    };
    Api::namespaced_with(e2e.client.clone(), "flux-system", &ar)
}

/// Waits until the OCIRepository's artifact has a revision other than
/// `not`, then until the Kustomization applied it; returns it.
async fn applied_revision(e2e: &E2e, not: Option<&str>) -> String {
    let api = oci_api(e2e);
    let revision = e2e
        .wait("the OCIRepository's new artifact", || async {
            let o = api
                .get_opt("manifests")
                .await
                .expect("reading the OCIRepository")
                .map(|o| serde_json::to_value(o).expect("JSON"));
            match o
                .as_ref()
                .and_then(|o| o["status"]["artifact"]["revision"].as_str())
            {
                Some(r) if ready(o.as_ref().unwrap()) && Some(r) != not => Ok(r.to_string()),
                _ => Err(format!(
                    "{:#}",
                    o.map(|o| o["status"].clone()).unwrap_or_default()
                )),
            }
        })
        .await;
    assert!(revision.starts_with("production@sha256:"), "{revision}");
    e2e.wait(
        "the Kustomization at the OCIRepository's revision",
        || async {
            let k = e2e
                .get(Kind::Kustomization, "flux-system", "from-oci")
                .await;
            match &k {
                Some(k) if ready(k) && k["status"]["lastAppliedRevision"] == revision.as_str() => {
                    Ok(())
                }
                _ => Err(format!(
                    "{:#}",
                    k.map(|k| k["status"].clone()).unwrap_or_default()
                )),
            }
        },
    )
    .await;
    revision
}

async fn greeting(e2e: &E2e, name: &str) -> Option<String> {
    e2e.get(Kind::ConfigMap, "from-oci", name)
        .await
        .and_then(|c| c["data"]["greeting"].as_str().map(str::to_string))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kustomization_from_a_pushed_oci_artifact_is_applied_and_follows_the_tag() {
    if !oci_registry::available() {
        return;
    }
    let registry = Registry::start();
    let work = tempfile::tempdir().unwrap();
    let src = work.path().join("src");
    write_app(&src, "hello", true);
    push(
        &registry,
        &src,
        "main@sha1:1111111111111111111111111111111111111111",
    );
    let e2e = E2e::start().await;
    e2e.apply(&flux_yaml(&registry.url("manifests/app"))).await;
    let first = applied_revision(&e2e, None).await;
    assert_eq!(greeting(&e2e, "config").await.as_deref(), Some("hello"));
    assert_eq!(greeting(&e2e, "old").await.as_deref(), Some("bye"));
    let o = oci_api(&e2e).get("manifests").await.unwrap();
    let o = serde_json::to_value(o).unwrap();
    assert_eq!(
        o["status"]["artifact"]["metadata"]["org.opencontainers.image.revision"],
        "main@sha1:1111111111111111111111111111111111111111"
    );

    // A new push of the tag; a requested reconcile (not the 1h interval)
    // brings it, and the object it no longer holds is pruned.
    write_app(&src, "hello again", false);
    push(
        &registry,
        &src,
        "main@sha1:2222222222222222222222222222222222222222",
    );
    for object in ["ocirepository/manifests", "kustomization/from-oci"] {
        let (ok, out, err) = e2e
            .kubectl(
                &[
                    "annotate",
                    "--overwrite",
                    "-n",
                    "flux-system",
                    object,
                    "reconcile.fluxcd.io/requestedAt=now-2",
                ],
                None,
            )
            .await;
        assert!(ok, "kubectl annotate {object}: {out}{err}");
    }
    let second = applied_revision(&e2e, Some(&first)).await;
    assert_ne!(first, second);
    e2e.wait("the new greeting and the pruned object", || async {
        let (g, old) = (greeting(&e2e, "config").await, greeting(&e2e, "old").await);
        if g.as_deref() == Some("hello again") && old.is_none() {
            Ok(())
        } else {
            Err(format!("greeting {g:?}, old {old:?}"))
        }
    })
    .await;
}
