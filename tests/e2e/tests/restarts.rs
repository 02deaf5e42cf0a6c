//! Crashes: each controller in turn is killed (SIGKILL) while Git moves on,
//! then started again. Everything a controller knows it must rebuild from
//! the API server: the new commit is applied, nothing in the inventory is
//! lost, what the commit removed is pruned, source-controller's storage
//! holds no duplicate or torn artifact, and notifications flow again.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ferroflux_cli::stack::Component;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::support::{E2e, Kind, TOKEN};

/// Artifacts source-controller keeps per object (`--artifact-retention-records`).
const RETENTION: usize = 2;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_and_restarting_each_controller_loses_nothing() {
    let mut e2e = E2e::start().await;
    let mut app = e2e.install_app().await;
    e2e.assert_app(&app, "hello", &[]).await;
    let dir = e2e
        .stack
        .work_dir()
        .join("artifacts/gitrepository/flux-system/app");
    let mut digests = Digests::default();
    digests.check(&e2e, &dir).await;

    // source-controller, killed with nothing new in Git: after the restart it
    // serves the same artifact (same digest, same files), not a second copy.
    let files = artifact_files(&dir);
    let digest = digests.check(&e2e, &dir).await;
    e2e.restart(Component::SourceController).await;
    wait_reconciled(&e2e, Component::SourceController, "GitRepository", "app").await;
    assert_eq!(
        digests.check(&e2e, &dir).await,
        digest,
        "the artifact after a restart"
    );
    assert_eq!(
        artifact_files(&dir),
        files,
        "storage after a restart with no new commit"
    );

    // source-controller, down while a commit is pushed and the webhook
    // arrives (notification-controller annotates the GitRepository; nobody
    // acts on it until source-controller is back).
    e2e.stack.kill(Component::SourceController).await;
    e2e.change_app(&mut app, "source down", &["sc"]);
    assert_eq!(e2e.github_push(&app.hook, TOKEN, &app.url).await, 200);
    e2e.start_component(Component::SourceController).await;
    e2e.assert_app(&app, "source down", &["old"]).await;
    digests.check(&e2e, &dir).await;

    // kustomize-controller, down while a commit is pushed and the webhook
    // arrives: source-controller stores the new artifact, the cluster stays
    // at the old commit until kustomize-controller is back.
    let before = app.commit.clone();
    e2e.stack.kill(Component::KustomizeController).await;
    e2e.change_app(&mut app, "kustomize down", &["kc"]);
    assert_eq!(e2e.github_push(&app.hook, TOKEN, &app.url).await, 200);
    e2e.wait_artifact("flux-system", "app", &app.commit).await;
    digests.check(&e2e, &dir).await;
    let k = e2e
        .get(Kind::Kustomization, "flux-system", "app")
        .await
        .expect("Kustomization");
    assert!(
        k["status"]["lastAppliedRevision"]
            .as_str()
            .is_some_and(|r| r.ends_with(&before)),
        "applied with kustomize-controller down? {:#}",
        k["status"]
    );
    assert!(
        e2e.get(Kind::ConfigMap, "demo", "kc").await.is_none(),
        "applied with kustomize-controller down"
    );
    e2e.start_component(Component::KustomizeController).await;
    e2e.assert_app(&app, "kustomize down", &["sc"]).await;

    // notification-controller, down while a commit is pushed: no webhook can
    // arrive, so the GitRepository is asked directly (as `flux reconcile
    // source git` does); the commit is applied without it.
    e2e.stack.kill(Component::NotificationController).await;
    e2e.change_app(&mut app, "notification down", &["nc"]);
    request_reconcile(
        &e2e,
        "gitrepository/app",
        "while-notification-controller-is-down",
    )
    .await;
    e2e.assert_app(&app, "notification down", &["kc"]).await;
    digests.check(&e2e, &dir).await;
    e2e.start_component(Component::NotificationController).await;
    // Back: the Receiver serves the same path, Alerts and Providers are
    // rebuilt from the API server, and the next commit is notified.
    let hook = e2e.webhook_path("flux-system", "github").await;
    assert_eq!(hook, app.hook, "the Receiver's path after a restart");
    let commit = e2e.change_app(&mut app, "notification back", &["back"]);
    assert_eq!(e2e.github_push(&app.hook, TOKEN, &app.url).await, 200);
    e2e.assert_app(&app, "notification back", &["nc"]).await;
    digests.check(&e2e, &dir).await;
    let sink = &e2e.sink;
    e2e.wait(
        "notifications for the commit after notification-controller's restart",
        || async {
            let text: String = sink
                .for_commit("Kustomization", &commit)
                .iter()
                .filter_map(|e| e["message"].as_str().map(str::to_string))
                .collect::<Vec<_>>()
                .join("\n");
            let sourced = !sink.for_commit("GitRepository", &commit).is_empty();
            if sourced
                && text.contains("ConfigMap/demo/back created")
                && text.contains("ConfigMap/demo/nc deleted")
            {
                Ok(())
            } else {
                Err(sink.summary())
            }
        },
    )
    .await;
}

/// Sets `reconcile.fluxcd.io/requestedAt` with kubectl.
async fn request_reconcile(e2e: &E2e, object: &str, token: &str) {
    let annotation = format!("reconcile.fluxcd.io/requestedAt={token}");
    let (ok, out, err) = e2e
        .kubectl(
            &[
                "annotate",
                "-n",
                "flux-system",
                "--overwrite",
                object,
                &annotation,
            ],
            None,
        )
        .await;
    assert!(ok, "kubectl annotate: {out}{err}");
}

/// Waits until a controller's metrics show a finished reconcile of an object
/// (the counters start at zero with each process).
async fn wait_reconciled(e2e: &E2e, c: Component, kind: &str, name: &str) {
    let needle = format!(
        "gotk_reconcile_duration_seconds_count{{kind=\"{kind}\",name=\"{name}\",namespace=\"flux-system\"}}"
    );
    e2e.wait(
        &format!("{} reconciled {kind} {name}", c.binary()),
        || async {
            let text = e2e.stack.metrics(c).await.map_err(|e| e.to_string())?;
            let count = text
                .lines()
                .find(|l| l.starts_with(&needle))
                .and_then(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
                .unwrap_or_default();
            if count >= 1.0 {
                Ok(())
            } else {
                Err(format!("no {needle} >= 1 in\n{text}"))
            }
        },
    )
    .await;
}

/// The `.tar.gz` files in an object's storage directory (temporary files,
/// `.tmp-*`, left by a killed write are not artifacts).
fn artifact_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            !p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(".tmp-"))
        })
        .collect();
    files.sort();
    files
}

/// Revision → digest of every artifact seen: one revision must always be
/// served as the same archive.
#[derive(Default)]
struct Digests(BTreeMap<String, String>);

impl Digests {
    /// Checks the GitRepository's artifact and its storage directory; returns
    /// the artifact's digest.
    async fn check(&mut self, e2e: &E2e, dir: &Path) -> String {
        let repo: Value = e2e
            .get(Kind::GitRepository, "flux-system", "app")
            .await
            .expect("GitRepository");
        let artifact = &repo["status"]["artifact"];
        let revision = artifact["revision"]
            .as_str()
            .expect("an artifact revision")
            .to_string();
        let digest = artifact["digest"]
            .as_str()
            .expect("an artifact digest")
            .to_string();
        if let Some(seen) = self.0.insert(revision.clone(), digest.clone()) {
            assert_eq!(
                seen, digest,
                "revision {revision} archived twice with different digests"
            );
        }
        let files = artifact_files(dir);
        assert!(
            !files.is_empty() && files.len() <= RETENTION,
            "storage should hold 1..={RETENTION} artifacts: {files:?}"
        );
        let mut names = Vec::new();
        for f in &files {
            let name = f
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .to_string();
            let hex = name
                .strip_suffix(".tar.gz")
                .unwrap_or_else(|| panic!("not an artifact in storage: {}", f.display()));
            let bytes = std::fs::read(f).unwrap_or_else(|e| panic!("reading {}: {e}", f.display()));
            let actual = format!("{:x}", Sha256::digest(&bytes));
            assert_eq!(
                actual,
                hex,
                "{} does not hold what its name says (torn write?)",
                f.display()
            );
            names.push(format!("sha256:{hex}"));
        }
        assert!(
            names.contains(&digest),
            "the current artifact {digest} is not in storage: {files:?}"
        );
        let path = artifact["path"].as_str().unwrap_or_default();
        assert!(
            path.ends_with(&format!("{}.tar.gz", digest.trim_start_matches("sha256:"))),
            "artifact path {path}"
        );
        digest
    }
}
