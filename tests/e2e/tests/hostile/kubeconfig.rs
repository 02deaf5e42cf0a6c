//! Hostile inputs: kubeconfig. A tenant's `spec.kubeConfig.secretRef`
//! must not run commands in kustomize-controller or make it read its own
//! files (CVE-2022-24817), unless the operator opts in with Flux's flags;
//! a credential that cannot be a header fails its object, never the
//! process, and deleting that object still completes.

use std::path::Path;

use ferroflux_cli::stack::Component;
use serde_json::Value;

use crate::support::{E2e, Kind, ready, ready_condition};

/// The stack's own kubeconfig with the user's `token:` line replaced by
/// `user` (lines indented under `user:`).
fn kubeconfig_with_user(e2e: &E2e, user: &str) -> String {
    let text = std::fs::read_to_string(e2e.stack.kubeconfig()).expect("the stack's kubeconfig");
    let mut out = String::new();
    let mut replaced = false;
    for line in text.lines() {
        if !replaced && line.trim_start().starts_with("token:") {
            out.push_str(user);
            replaced = true;
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    assert!(replaced, "no token line in the stack's kubeconfig:\n{text}");
    out
}

/// YAML of a Secret holding `kubeconfig` and a Kustomization `name`
/// applying `./` of GitRepository `app` through it.
fn tenant_yaml(name: &str, kubeconfig: &str) -> String {
    let kc = serde_json::to_string(kubeconfig).expect("JSON");
    format!(
        r#"apiVersion: v1
kind: Secret
metadata:
  name: {name}-kubeconfig
  namespace: flux-system
stringData:
  value: {kc}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: {name}
  namespace: flux-system
spec:
  interval: 1h
  path: ./
  prune: true
  timeout: 1m
  sourceRef:
    kind: GitRepository
    name: app
  kubeConfig:
    secretRef:
      name: {name}-kubeconfig
"#
    )
}

/// A Git repository `app` holding ConfigMap `default/<cm>` and a
/// GitRepository for it; returns the commit once the artifact is ready.
async fn source(e2e: &E2e, cm: &str) -> String {
    let repo = e2e.repo("app");
    repo.write(
        "cm.yaml",
        &format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {cm}\n  namespace: default\ndata:\n  k: v\n"
        ),
    )
    .expect("writing");
    let commit = repo.commit("first").expect("commit");
    e2e.apply(&format!(
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: app\n  namespace: flux-system\nspec:\n  interval: 1h\n  url: {}\n  ref:\n    branch: main\n",
        e2e.git.url("app")
    ))
    .await;
    e2e.wait_artifact("flux-system", "app", &commit).await;
    commit
}

fn condition(o: &Value, kind: &str) -> Option<(String, String)> {
    o["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["type"] == kind)
        .map(|c| {
            (
                c["status"].as_str().unwrap_or_default().to_string(),
                c["message"].as_str().unwrap_or_default().to_string(),
            )
        })
}

/// Waits until Kustomization `name` is Stalled with a message containing
/// `needle`; returns the message.
async fn wait_stalled(e2e: &E2e, name: &str, needle: &str) -> String {
    e2e.wait(
        &format!("Kustomization {name} Stalled naming {needle}"),
        || async {
            let k = e2e.get(Kind::Kustomization, "flux-system", name).await;
            let k = k.unwrap_or_default();
            match (condition(&k, "Stalled"), ready_condition(&k)) {
                (Some((s, m)), Some((r, _, _)))
                    if s == "True" && r == "False" && m.contains(needle) =>
                {
                    Ok(m)
                }
                _ => Err(format!("{:#}", k["status"])),
            }
        },
    )
    .await
}

/// An exec plugin that touches `marker` and prints a credential.
fn exec_user(marker: &Path) -> String {
    let script = format!(
        "touch {} && echo '{{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",\"status\":{{\"token\":\"from-exec\"}}}}'",
        marker.display()
    );
    format!(
        "    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: /bin/sh\n      args: [\"-c\", {}]",
        serde_json::to_string(&script).expect("JSON")
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exec_plugin_runs_only_with_insecure_kubeconfig_exec() {
    let marker_dir = tempfile::tempdir().expect("tempdir");
    let marker = marker_dir.path().join("exec-ran");

    // Default flags: refused, Stalled naming the field, nothing ran.
    let e2e = E2e::start().await;
    source(&e2e, "exec-cm").await;
    e2e.apply(&tenant_yaml(
        "exec",
        &kubeconfig_with_user(&e2e, &exec_user(&marker)),
    ))
    .await;
    let msg = wait_stalled(&e2e, "exec", "users[0].user.exec").await;
    assert!(msg.contains("--insecure-kubeconfig-exec"), "{msg}");
    assert!(
        !marker.exists(),
        "the tenant's exec command ran in kustomize-controller"
    );
    assert!(
        e2e.get(Kind::ConfigMap, "default", "exec-cm")
            .await
            .is_none()
    );
    drop(e2e);

    // With the flag the operator chose to trust tenants: the plugin runs.
    let e2e = E2e::start_with(|mut o| {
        o.extra_args.insert(
            Component::KustomizeController,
            vec!["--insecure-kubeconfig-exec".into()],
        );
        o
    })
    .await;
    source(&e2e, "exec-cm").await;
    e2e.apply(&tenant_yaml(
        "exec",
        &kubeconfig_with_user(&e2e, &exec_user(&marker)),
    ))
    .await;
    e2e.wait("the allowed exec plugin ran", || async {
        if marker.exists() {
            Ok(())
        } else {
            let k = e2e.get(Kind::Kustomization, "flux-system", "exec").await;
            Err(format!("{:#}", k.unwrap_or_default()["status"]))
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_file_on_the_controllers_disk_is_refused() {
    let e2e = E2e::start().await;
    source(&e2e, "file-cm").await;
    // A file only the controller's machine has, holding a credential.
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("token");
    std::fs::write(&file, "controller-only-credential").expect("writing");
    let user = format!("    tokenFile: {}", file.display());
    e2e.apply(&tenant_yaml("file", &kubeconfig_with_user(&e2e, &user)))
        .await;
    let msg = wait_stalled(&e2e, "file", "users[0].user.tokenFile").await;
    assert!(!msg.contains("controller-only-credential"), "{msg}");
    assert!(
        e2e.get(Kind::ConfigMap, "default", "file-cm")
            .await
            .is_none()
    );
}

/// Is process `pid` running (not gone, not a zombie)?
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().next().map(str::to_string))
        })
        .is_some_and(|state| state != "Z" && state != "X")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_with_a_newline_fails_its_object_not_the_controller() {
    let e2e = E2e::start().await;
    let pid = e2e
        .stack
        .pid(Component::KustomizeController)
        .expect("kustomize-controller runs");
    let commit = source(&e2e, "tenant-cm").await;

    // First a good token: applied, so deletion has an inventory to prune.
    let good = std::fs::read_to_string(e2e.stack.kubeconfig()).expect("kubeconfig");
    e2e.apply(&tenant_yaml("bad", &good)).await;
    e2e.wait_applied("flux-system", "bad", &commit).await;

    // Then a token with a newline in it (a header injection attempt).
    let bad = kubeconfig_with_user(&e2e, "    token: \"s3cr3t-token\\nX-Injected: 1\"");
    e2e.apply(&tenant_yaml("bad", &bad)).await;
    e2e.kubectl(
        &[
            "annotate",
            "--overwrite",
            "-n",
            "flux-system",
            "kustomization/bad",
            "reconcile.fluxcd.io/requestedAt=bad-token",
        ],
        None,
    )
    .await;
    let msg = e2e
        .wait("Kustomization bad Ready=False naming the token", || async {
            let k = e2e
                .get(Kind::Kustomization, "flux-system", "bad")
                .await
                .unwrap_or_default();
            match ready_condition(&k) {
                Some((s, _, m)) if s == "False" && m.contains("users[0].user.token") => Ok(m),
                _ => Err(format!("{:#}", k["status"])),
            }
        })
        .await;
    assert!(msg.contains("not a valid HTTP header value"), "{msg}");
    assert!(!msg.contains("s3cr3t"), "the token leaked: {msg}");

    // Another Kustomization in the same stack still becomes Ready.
    e2e.apply(
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: healthy\n  namespace: flux-system\nspec:\n  interval: 1h\n  path: ./\n  prune: false\n  sourceRef:\n    kind: GitRepository\n    name: app\n",
    )
    .await;
    e2e.wait_applied("flux-system", "healthy", &commit).await;

    // Deleting the bad one completes (its objects cannot be reached).
    let (ok, out, err) = e2e
        .kubectl(
            &[
                "delete",
                "-n",
                "flux-system",
                "kustomization/bad",
                "--wait=false",
            ],
            None,
        )
        .await;
    assert!(ok, "kubectl delete: {out}\n{err}");
    e2e.wait("Kustomization bad deleted", || async {
        match e2e.get(Kind::Kustomization, "flux-system", "bad").await {
            None => Ok(()),
            Some(k) => Err(format!("{:#}", k["metadata"])),
        }
    })
    .await;

    // The same process throughout: never crashed, never restarted.
    assert_eq!(
        e2e.stack.pid(Component::KustomizeController),
        Some(pid),
        "kustomize-controller was restarted"
    );
    assert!(
        alive(pid),
        "kustomize-controller (pid {pid}) is not running"
    );
    let k = e2e
        .get(Kind::Kustomization, "flux-system", "healthy")
        .await
        .expect("healthy");
    assert!(ready(&k), "{:#}", k["status"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spec_decryption_fails_closed() {
    let e2e = E2e::start().await;
    source(&e2e, "sops-cm").await;
    e2e.apply(
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: sops\n  namespace: flux-system\nspec:\n  interval: 1h\n  path: ./\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: app\n  decryption:\n    provider: sops\n    secretRef:\n      name: sops-age\n",
    )
    .await;
    // The key Secret does not exist: not ready (it may still come), nothing applied.
    e2e.wait(
        "Kustomization sops failing on its missing key Secret",
        || async {
            let k = e2e.get(Kind::Kustomization, "flux-system", "sops").await;
            let k = k.unwrap_or_default();
            match ready_condition(&k) {
                Some((r, _, m))
                    if r == "False"
                        && m.contains("decryption secret 'flux-system/sops-age' not found") =>
                {
                    Ok(m)
                }
                _ => Err(format!("{:#}", k["status"])),
            }
        },
    )
    .await;
    let k = e2e
        .get(Kind::Kustomization, "flux-system", "sops")
        .await
        .expect("sops");
    assert_eq!(
        ready_condition(&k).map(|(_, r, _)| r).as_deref(),
        Some("DecryptionFailed")
    );
    assert!(
        e2e.get(Kind::ConfigMap, "default", "sops-cm")
            .await
            .is_none()
    );
}
