//! Hostile inputs: archives.
//!
//! An artifact is untrusted: whoever controls the bytes behind an artifact
//! URL controls what kustomize-controller unpacks. Artifacts made by GNU tar
//! with an entry climbing out with `..`, an absolute entry, and a symlink
//! pointing out of the root are served from a plain HTTP server and named,
//! with their correct digests, in a (suspended) GitRepository's
//! `status.artifact`; the real kustomize-controller fetches each and refuses
//! it, naming the entry, and writes nothing outside its scratch directory.
//! The full catalogue (hardlinks, devices, write-through-symlink, chains,
//! bombs, PAX tricks, entry counts, corrupt streams) is covered against the
//! extractor itself in `crates/runtime/tests/it/extract.rs`; this is the
//! representative through a real artifact URL.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::support::{E2e, Kind, ready_condition};

/// Runs GNU tar (a real peer) in `dir`.
fn tar(dir: &Path, args: &[&str]) {
    let out = std::process::Command::new("tar")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("GNU tar runs");
    assert!(
        out.status.success(),
        "tar {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Serves `files` (name → bytes) at `http://127.0.0.1:<port>/<name>`.
async fn serve(files: BTreeMap<String, Vec<u8>>) -> String {
    let files = Arc::new(files);
    let app = axum::Router::new()
        .route(
            "/{name}",
            axum::routing::get(
                |axum::extract::Path(name): axum::extract::Path<String>,
                 axum::extract::State(files): axum::extract::State<
                    Arc<BTreeMap<String, Vec<u8>>>,
                >| async move {
                    match files.get(&name) {
                        Some(bytes) => (axum::http::StatusCode::OK, bytes.clone()),
                        None => (axum::http::StatusCode::NOT_FOUND, Vec::new()),
                    }
                },
            ),
        )
        .with_state(files);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}")
}

fn git_repositories(e2e: &E2e) -> Api<DynamicObject> {
    let gvk = GroupVersionKind::gvk("source.toolkit.fluxcd.io", "v1", "GitRepository");
    let ar = ApiResource::from_gvk_with_plural(&gvk, "gitrepositories");
    Api::namespaced_with(e2e.client.clone(), "flux-system", &ar)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_artifacts_are_refused_by_kustomize_controller() {
    let e2e = E2e::start().await;
    let work = tempfile::tempdir().expect("a temporary directory");
    let src = work.path().join("src");
    std::fs::create_dir_all(&src).expect("mkdir");
    std::fs::write(
        src.join("config.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: hostile\n  namespace: default\n",
    )
    .expect("write");
    std::fs::write(work.path().join("escaped-dotdot"), "x").expect("write");
    std::os::unix::fs::symlink("/etc", src.join("etc")).expect("symlink");
    let absolute = format!("/tmp/ferroflux-e2e-absolute-{}", e2e.stack.ports.api);
    let transform = format!("s|^|{absolute}/|");
    // name, what tar is given, the entry the refusal must name.
    let cases: [(&str, Vec<&str>, String); 3] = [
        (
            "dotdot",
            vec![
                "-czPf",
                "../dotdot.tar.gz",
                "config.yaml",
                "../escaped-dotdot",
            ],
            "../escaped-dotdot".to_string(),
        ),
        (
            "absolute",
            vec![
                "-czPf",
                "../absolute.tar.gz",
                "--transform",
                &transform,
                "config.yaml",
            ],
            format!("{absolute}/config.yaml"),
        ),
        (
            "link-out",
            vec!["-czPf", "../link-out.tar.gz", "config.yaml", "etc"],
            "etc".to_string(),
        ),
    ];
    let mut files = BTreeMap::new();
    for (name, args, _) in &cases {
        tar(&src, args);
        let bytes = std::fs::read(work.path().join(format!("{name}.tar.gz"))).expect("the archive");
        files.insert(format!("{name}.tar.gz"), bytes);
    }
    let base = serve(files.clone()).await;

    let repos = git_repositories(&e2e);
    for (name, _, _) in &cases {
        let bytes = &files[&format!("{name}.tar.gz")];
        let digest = hex::encode(Sha256::digest(bytes));
        e2e.apply(&format!(
            "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: {name}\n  namespace: flux-system\nspec:\n  interval: 1h\n  suspend: true\n  url: http://127.0.0.1:1/none.git\n"
        ))
        .await;
        let status = json!({"status": {"artifact": {
            "path": format!("gitrepository/flux-system/{name}/{digest}.tar.gz"),
            "url": format!("{base}/{name}.tar.gz"),
            "revision": format!("main@sha1:{}", "a".repeat(40)),
            "digest": format!("sha256:{digest}"),
            "size": bytes.len(),
            "lastUpdateTime": "2026-01-01T00:00:00Z",
        }}});
        repos
            .patch_status(name, &PatchParams::default(), &Patch::Merge(&status))
            .await
            .unwrap_or_else(|e| panic!("setting the artifact of {name}: {e}"));
        e2e.apply(&format!(
            "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: {name}\n  namespace: flux-system\nspec:\n  interval: 1h\n  path: ./\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: {name}\n"
        ))
        .await;
    }

    for (name, _, entry) in &cases {
        let message = e2e
            .wait(
                &format!("Kustomization flux-system/{name} refusing its artifact"),
                || async {
                    let k = e2e.get(Kind::Kustomization, "flux-system", name).await;
                    match k.as_ref().and_then(ready_condition) {
                        Some((status, _, message))
                            if status == "False" && message.contains("artifact") =>
                        {
                            Ok(message)
                        }
                        _ => Err(format!("{:#}", k.unwrap_or_default()["status"])),
                    }
                },
            )
            .await;
        assert!(
            message.contains(entry.as_str()),
            "{name}: the message should name the entry {entry:?}: {message}"
        );
        // Nothing was applied from it.
        assert!(
            e2e.get(Kind::ConfigMap, "default", "hostile")
                .await
                .is_none(),
            "{name}: a ConfigMap from a refused artifact was applied"
        );
    }

    // Nothing was written outside: not beside the scratch directory, not at
    // the absolute path, not through the link.
    assert!(!Path::new(&absolute).exists(), "{absolute} was written");
    let mut stack = vec![e2e.stack.work_dir().to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = entry.path();
            assert_ne!(
                entry.file_name().to_string_lossy(),
                "escaped-dotdot",
                "written outside the artifact: {}",
                p.display()
            );
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(p);
            }
        }
    }
    let scratch = e2e
        .stack
        .scratch_dir(ferroflux_cli::stack::Component::KustomizeController);
    // (A retry may be at work in there; it leaves nothing once done.)
    e2e.wait("kustomize-controller's scratch directory empty", || async {
        let left: Vec<String> = std::fs::read_dir(&scratch)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n != ".lock")
            .collect();
        if left.is_empty() {
            Ok(())
        } else {
            Err(format!("{left:?}"))
        }
    })
    .await;
}
