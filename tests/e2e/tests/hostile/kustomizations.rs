//! Hostile inputs: kustomizations that loop (a base that includes itself
//! through another, the class of Flux's recursive-kustomization advisory)
//! and paths that climb out of the artifact to read the controller's own
//! files (Flux's path-traversal advisories). Each fails its own
//! Kustomization with a message naming what is wrong, nothing of it is
//! applied, the controller keeps running, and a healthy neighbour is
//! applied all the same.

use ferroflux_cli::stack::Component;

use super::{git_repository, kustomization, wait_failed, wait_ready};
use crate::support::{E2e, Kind};

const KUSTOMIZE: &str = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cycles_and_escapes_fail_alone() {
    let e2e = E2e::start().await;
    let repo = e2e.repo("hostile");
    let files = [
        // a → b → a
        (
            "a/kustomization.yaml",
            format!("{KUSTOMIZE}resources:\n- ../b\n"),
        ),
        (
            "b/kustomization.yaml",
            format!("{KUSTOMIZE}resources:\n- ../a\n"),
        ),
        // A directory that includes itself.
        (
            "self/kustomization.yaml",
            format!("{KUSTOMIZE}resources:\n- .\n"),
        ),
        // A resource outside the artifact: the controller's own files.
        (
            "escape/kustomization.yaml",
            format!("{KUSTOMIZE}resources:\n- ../../../../../../../../etc/passwd\n"),
        ),
        // A generator reading a file outside the artifact.
        (
            "generator/kustomization.yaml",
            format!(
                "{KUSTOMIZE}configMapGenerator:\n- name: stolen\n  namespace: demo\n  files:\n  - ../../../../../../../../etc/hostname\n"
            ),
        ),
        (
            "good/namespace.yaml",
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: demo\n".to_string(),
        ),
        (
            "good/config.yaml",
            crate::support::config_map("config", "hello"),
        ),
    ];
    for (path, text) in &files {
        repo.write(path, text).expect("write");
    }
    repo.commit("hostile kustomizations").expect("commit");
    e2e.apply(&git_repository("hostile", &e2e.git.url("hostile")))
        .await;
    let pid = e2e.stack.pid(Component::KustomizeController);
    for (name, path) in [
        ("cycle", "./a"),
        ("self", "./self"),
        ("escape", "./escape"),
        ("generator", "./generator"),
        ("path", "../../../../../../etc"),
        ("good", "./good"),
    ] {
        e2e.apply(&kustomization("flux-system", name, "hostile", path, ""))
            .await;
    }
    wait_ready(&e2e, Kind::Kustomization, "flux-system", "good").await;

    let (_, message) = wait_failed(&e2e, Kind::Kustomization, "flux-system", "cycle").await;
    assert!(message.contains("cycle"), "{message}");
    let (_, message) = wait_failed(&e2e, Kind::Kustomization, "flux-system", "self").await;
    assert!(message.contains("cycle"), "{message}");
    for name in ["escape", "generator", "path"] {
        let (_, message) = wait_failed(&e2e, Kind::Kustomization, "flux-system", name).await;
        assert!(
            message.contains("outside") || message.contains("not in or below"),
            "{name}: {message}"
        );
        assert!(
            !message.contains("root:"),
            "{name}: file content leaked: {message}"
        );
        assert!(
            message.len() < 600,
            "{name}: {} bytes: {message}",
            message.len()
        );
    }
    let (_, names, _) = e2e
        .kubectl(&["get", "configmaps", "-A", "-o", "name"], None)
        .await;
    assert!(
        !names.contains("stolen"),
        "nothing of the generator was applied: {names}"
    );
    assert!(
        super::alive(&e2e, Component::KustomizeController, pid),
        "kustomize-controller kept running"
    );
}
