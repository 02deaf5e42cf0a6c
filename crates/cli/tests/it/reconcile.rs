//! `ferroflux reconcile`, `suspend`, `resume`, `events` and `tree` against
//! the real controllers (the stack of processes the e2e tests run): a Git
//! repository, a commit pushed, the reconcile asked for and followed to
//! its outcome, and the exit codes a script relies on.

use std::time::Duration;

use ferroflux_cli::kinds;
use ferroflux_cli::stack::{Component, Stack, StackError, StackOptions};
use ferroflux_testsupport::git::{GitRepo, GitServer};
use ferroflux_testsupport::wait::eventually;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, Patch, PatchParams};
use serde_json::{Value, json};

use crate::cluster::{Run, ferroflux};

const LIMIT: Duration = Duration::from_secs(90);

fn config_map(value: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: default\ndata:\n  greeting: {value}\n"
    )
}

async fn apply(client: &kube::Client, kind: &kinds::FluxKind, name: &str, spec: Value) {
    let api = kind.api(client, Some("flux-system"));
    let obj = json!({
        "apiVersion": format!("{}/{}", kind.group, kind.version),
        "kind": kind.kind,
        "metadata": {"name": name, "namespace": "flux-system"},
        "spec": spec,
    });
    api.patch(
        name,
        &PatchParams::apply("cli-test").force(),
        &Patch::Apply(&obj),
    )
    .await
    .unwrap_or_else(|e| panic!("applying {} {name}: {e}", kind.kind));
}

async fn ready(client: &kube::Client, kind: &kinds::FluxKind, name: &str) -> Value {
    let api = kind.api(client, Some("flux-system"));
    eventually(
        &format!("{} {name} to be ready", kind.kind),
        LIMIT,
        async || {
            let o = api.get_opt(name).await.ok()??;
            let v = serde_json::to_value(o).ok()?;
            (kinds::condition(&v, "Ready")?["status"] == "True").then_some(v)
        },
    )
    .await
}

fn assert_lines(run: &Run, expected: &[&str]) {
    for line in expected {
        assert!(
            run.stderr.lines().any(|l| l == *line),
            "no line {line:?} in:\n{}",
            run.stderr
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn reconcile_suspend_resume_with_the_controllers() {
    let work = tempfile::tempdir().unwrap();
    let git_dir = tempfile::tempdir().unwrap();
    let mut stack = match Stack::start(StackOptions::beside_current_exe(work.path())).await {
        Ok(s) => s,
        Err(e @ StackError::MissingBinary(_)) => panic!(
            "{e}\nbuild the controllers first: cargo build --bins -p ferroflux-testenv \
             -p source-controller -p kustomize-controller -p notification-controller"
        ),
        Err(e) => panic!("starting the stack: {e}"),
    };
    let kubeconfig = stack.kubeconfig();
    let client = stack.client().await.unwrap();
    let git = GitServer::start(git_dir.path(), None).unwrap();
    let repo = GitRepo::create(git.root(), "app").unwrap();
    repo.write("apps/settings.yaml", &config_map("hello"))
        .unwrap();
    repo.commit("first").unwrap();

    apply(
        &client,
        &kinds::GIT_REPOSITORY,
        "app",
        json!({"url": git.url("app"), "interval": "1h", "ref": {"branch": "main"}}),
    )
    .await;
    let ks_spec = |path: &str| {
        json!({"interval": "1h", "path": path, "prune": true,
               "sourceRef": {"kind": "GitRepository", "name": "app"}})
    };
    apply(&client, &kinds::KUSTOMIZATION, "apps", ks_spec("./apps")).await;
    ready(&client, &kinds::KUSTOMIZATION, "apps").await;

    // A new commit, picked up now rather than in an hour.
    repo.write("apps/settings.yaml", &config_map("again"))
        .unwrap();
    let sha = repo.commit("second").unwrap();
    let revision = format!("main@sha1:{sha}");
    let run = ferroflux(&kubeconfig, &["reconcile", "ks", "apps", "--with-source"]).await;
    run.assert_ok();
    assert_lines(
        &run,
        &[
            "► annotating GitRepository app in flux-system namespace",
            "✔ GitRepository annotated",
            "◎ waiting for GitRepository reconciliation",
            &format!("✔ fetched revision {revision}"),
            "► annotating Kustomization apps in flux-system namespace",
            "✔ Kustomization annotated",
            &format!("✔ applied revision {revision}"),
        ],
    );
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let cm = cms.get("settings").await.unwrap();
    assert_eq!(
        cm.data.unwrap()["greeting"],
        "again",
        "applied when the command returned"
    );
    let ks = kinds::KUSTOMIZATION
        .api(&client, Some("flux-system"))
        .get("apps")
        .await
        .unwrap();
    let ks = serde_json::to_value(ks).unwrap();
    assert_eq!(
        ks["status"]["lastHandledReconcileAt"],
        ks["metadata"]["annotations"]["reconcile.fluxcd.io/requestedAt"]
    );

    let run = ferroflux(&kubeconfig, &["get", "ks", "apps", "--no-header"]).await;
    run.assert_ok();
    let cells: Vec<&str> = run.stdout.trim_end().split('\t').map(str::trim).collect();
    let short = format!("main@sha1:{}", &sha[..8]);
    assert_eq!(
        cells[..4],
        ["apps", short.as_str(), "False", "True"],
        "{}",
        run.stdout
    );

    // tree: the inventory the reconcile left.
    let run = ferroflux(&kubeconfig, &["tree", "ks", "apps"]).await;
    run.assert_ok();
    assert_eq!(
        run.stdout,
        "Kustomization/flux-system/apps\n└── ConfigMap/default/settings\n"
    );

    // suspend: reconcile refuses; get shows it; resume reconciles again.
    let run = ferroflux(&kubeconfig, &["suspend", "kustomization", "apps"]).await;
    run.assert_ok();
    assert_lines(
        &run,
        &[
            "► suspending kustomization apps in flux-system namespace",
            "✔ kustomization suspended",
        ],
    );
    let run = ferroflux(&kubeconfig, &["reconcile", "ks", "apps"]).await;
    assert_eq!(run.code, Some(1));
    assert_eq!(run.stderr, "Error: resource is suspended\n");
    let run = ferroflux(&kubeconfig, &["get", "ks", "apps", "--no-header"]).await;
    let cells: Vec<&str> = run.stdout.split('\t').map(str::trim).collect();
    assert_eq!(cells[2], "True", "SUSPENDED: {}", run.stdout);
    let run = ferroflux(&kubeconfig, &["resume", "ks", "apps"]).await;
    run.assert_ok();
    assert_lines(
        &run,
        &[
            "► resuming kustomization apps in flux-system namespace",
            "✔ kustomization resumed",
            "◎ waiting for Kustomization reconciliation",
            "✔ Kustomization apps reconciliation completed",
            &format!("✔ applied revision {revision}"),
        ],
    );

    // A failing reconcile: exit 1 with the controller's message.
    apply(
        &client,
        &kinds::KUSTOMIZATION,
        "broken",
        ks_spec("./missing"),
    )
    .await;
    let run = ferroflux(&kubeconfig, &["reconcile", "ks", "broken"]).await;
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    let last = run.stderr.lines().last().unwrap_or("");
    assert!(
        last.starts_with("Error: Kustomization reconciliation failed: '"),
        "{}",
        run.stderr
    );
    assert!(last.contains("missing"), "the controller's message: {last}");

    // suspend --all, resume --all (no wait by default for several).
    let run = ferroflux(&kubeconfig, &["suspend", "ks", "--all"]).await;
    run.assert_ok();
    assert_eq!(
        run.stderr.matches("✔ kustomization suspended").count(),
        2,
        "{}",
        run.stderr
    );
    let run = ferroflux(&kubeconfig, &["resume", "ks", "apps", "broken", "--wait"]).await;
    assert_eq!(run.code, Some(1), "broken fails to reconcile");
    assert_lines(&run, &["✔ Kustomization apps reconciliation completed"]);
    assert!(
        run.stderr
            .contains("✗ Kustomization broken reconciliation failed: "),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .ends_with("Error: reconciliation failed for 1 Kustomization(s)\n"),
        "{}",
        run.stderr
    );

    // events: the controllers' events for the Kustomization and its source.
    let run = ferroflux(&kubeconfig, &["events", "--for", "Kustomization/apps"]).await;
    run.assert_ok();
    assert!(run.stdout.contains("Kustomization/apps"), "{}", run.stdout);
    assert!(
        !run.stdout.contains("Kustomization/broken"),
        "{}",
        run.stdout
    );

    // A Receiver, reconciled by notification-controller.
    let secrets: Api<k8s_openapi::api::core::v1::Secret> =
        Api::namespaced(client.clone(), "flux-system");
    let token = json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "hook-token", "namespace": "flux-system"},
        "stringData": {"token": "not-a-real-token"}});
    secrets
        .patch(
            "hook-token",
            &PatchParams::apply("cli-test"),
            &Patch::Apply(&token),
        )
        .await
        .unwrap();
    apply(
        &client,
        &kinds::RECEIVER,
        "hook",
        json!({"type": "generic", "secretRef": {"name": "hook-token"},
               "resources": [{"kind": "GitRepository", "name": "app"}]}),
    )
    .await;
    ready(&client, &kinds::RECEIVER, "hook").await;
    let run = ferroflux(&kubeconfig, &["reconcile", "receiver", "hook"]).await;
    run.assert_ok();
    assert_lines(&run, &["✔ Receiver reconciliation completed"]);
    let run = ferroflux(&kubeconfig, &["get", "receivers", "--no-header"]).await;
    run.assert_ok();
    let cells: Vec<&str> = run.stdout.split('\t').map(str::trim).collect();
    assert_eq!(cells[..3], ["hook", "False", "True"], "{}", run.stdout);

    // Not found, and a timeout that names what it waited for.
    let run = ferroflux(&kubeconfig, &["reconcile", "source", "git", "nope"]).await;
    assert_eq!(run.code, Some(1));
    assert_eq!(
        run.stderr,
        "Error: GitRepository object 'nope' not found in \"flux-system\" namespace\n"
    );
    stack.kill(Component::SourceController).await;
    let run = ferroflux(
        &kubeconfig,
        &["reconcile", "source", "git", "app", "--timeout", "2s"],
    )
    .await;
    assert_eq!(run.code, Some(1));
    assert!(
        run.stderr.contains("Error: timed out after 2s waiting for the reconciliation of GitRepository flux-system/app"),
        "{}",
        run.stderr
    );
    stack.shutdown().await;
}
