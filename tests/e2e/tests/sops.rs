//! SOPS end to end: a Git repository holding a Secret and a secretGenerator `.env` file
//! encrypted by the real sops (the shared conformance fixtures), a decryption Secret
//! with age keys, and the controllers as processes. The cluster gets the decrypted
//! values; the controllers' logs, the Kubernetes events and the Kustomization's status
//! do not.

use serde_json::Value;

use crate::support::{E2e, Kind};

fn fixture(path: &str) -> String {
    let base = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(
        "../../../shared/conformance/sops/flux-kustomize-controller/internal/controller/testdata/sops",
    );
    std::fs::read_to_string(base.join(path)).unwrap_or_else(|e| panic!("fixture {path}: {e}"))
}

/// The plaintexts and their base64, as a Secret's `data` holds them.
const GLOBAL_VALUE: &str = "global-value";
const GLOBAL_VALUE_B64: &str = "Z2xvYmFsLXZhbHVl";
const VALUE_B64: &str = "dmFsdWU=";

async fn kubectl_json(e2e: &E2e, args: &[&str]) -> Value {
    let (ok, out, err) = e2e.kubectl(args, None).await;
    assert!(ok, "kubectl {args:?}: {err}");
    serde_json::from_str(&out).expect("kubectl JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn encrypted_secret_and_env_file_are_applied_decrypted_and_leak_nowhere() {
    let e2e = E2e::start().await;
    let repo = e2e.repo("secrets");
    repo.write(
        "deploy/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: default\nresources:\n- secret.yaml\ngeneratorOptions:\n  disableNameSuffixHash: true\nsecretGenerator:\n- name: app-env\n  envs:\n  - app.env\n",
    )
    .expect("writing");
    repo.write("deploy/secret.yaml", &fixture("global/secret.yaml"))
        .expect("writing");
    repo.write("deploy/app.env", &fixture("envs/env.env"))
        .expect("writing");
    let commit = repo.commit("encrypted").expect("commit");
    let age = serde_json::to_string(&fixture("keys/age.txt")).expect("JSON");
    let global = serde_json::to_string(&fixture("keys/age-global.txt")).expect("JSON");
    e2e.apply(&format!(
        r#"apiVersion: v1
kind: Secret
metadata:
  name: sops-keys
  namespace: flux-system
stringData:
  age.agekey: {age}
  global.agekey: {global}
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: secrets
  namespace: flux-system
spec:
  interval: 1h
  url: {url}
  ref:
    branch: main
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: secrets
  namespace: flux-system
spec:
  interval: 1h
  path: ./deploy
  prune: true
  sourceRef:
    kind: GitRepository
    name: secrets
  decryption:
    provider: sops
    secretRef:
      name: sops-keys
"#,
        url = e2e.git.url("secrets")
    ))
    .await;
    e2e.wait_applied("flux-system", "secrets", &commit).await;

    let global_secret = kubectl_json(
        &e2e,
        &[
            "get",
            "secret",
            "-n",
            "default",
            "global-age-secret",
            "-o",
            "json",
        ],
    )
    .await;
    assert_eq!(global_secret["data"]["key"], GLOBAL_VALUE_B64);
    assert!(global_secret.get("sops").is_none());
    let env_secret = kubectl_json(
        &e2e,
        &["get", "secret", "-n", "default", "app-env", "-o", "json"],
    )
    .await;
    assert_eq!(env_secret["data"]["key"], VALUE_B64);

    // Nowhere else: the Kustomization, the events, the controllers' logs.
    let ks = e2e
        .get(Kind::Kustomization, "flux-system", "secrets")
        .await
        .expect("the Kustomization");
    let events = kubectl_json(&e2e, &["get", "events", "-A", "-o", "json"]).await;
    let logs_dir = e2e.stack.work_dir().join("logs");
    let mut places = vec![
        ("status".to_string(), ks["status"].to_string()),
        ("events".to_string(), events.to_string()),
        (
            "notifications".to_string(),
            e2e.sink
                .received()
                .iter()
                .map(|c| c.value().to_string())
                .collect::<Vec<_>>()
                .join("\n"),
        ),
    ];
    for entry in std::fs::read_dir(&logs_dir).expect("the logs") {
        let path = entry.expect("a log").path();
        // The API server holds the Secret; the controllers must not echo it.
        if path.to_string_lossy().contains("controller") {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            places.push((path.display().to_string(), text));
        }
    }
    assert!(
        places
            .iter()
            .any(|(p, _)| p.contains("kustomize-controller")),
        "no kustomize-controller log in {}",
        logs_dir.display()
    );
    for (place, text) in &places {
        for needle in [GLOBAL_VALUE, GLOBAL_VALUE_B64, "key=value", VALUE_B64] {
            assert!(!text.contains(needle), "{place} holds {needle}");
        }
    }
}
