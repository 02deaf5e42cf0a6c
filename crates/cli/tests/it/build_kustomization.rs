//! `ferroflux build kustomization` on the files the real sops encrypted (shared
//! conformance data), offline (`--dry-run`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use base64::Engine as _;
use serde_json::Value;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(
        "../../../shared/conformance/sops/flux-kustomize-controller/internal/controller/testdata/sops",
    )
}

fn ferroflux(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ferroflux"))
        .args(args)
        // Never a cluster: a kubeconfig that leads nowhere.
        .env("KUBECONFIG", "/nonexistent/kubeconfig")
        .output()
        .unwrap()
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn docs(out: &Output) -> Vec<Value> {
    assert!(
        out.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    serde_yaml::Deserializer::from_str(&text)
        .map(|d| serde::Deserialize::deserialize(d).unwrap())
        .collect()
}

fn find<'a>(objs: &'a [Value], kind: &str, name: &str) -> &'a Value {
    objs.iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("{kind}/{name} not in {objs:#?}"))
}

fn decoded(v: &Value) -> String {
    let raw = base64::engine::general_purpose::STANDARD
        .decode(v.as_str().unwrap())
        .unwrap();
    String::from_utf8(raw).unwrap()
}

#[test]
fn dry_run_decrypts_generator_sources_with_a_key_file() {
    let dir = fixtures().join("envs");
    let before = std::fs::read(dir.join("env.env")).unwrap();
    let out = ferroflux(&[
        "build",
        "kustomization",
        "app",
        "--path",
        path(&dir),
        "--dry-run",
        "--decryption-key",
        path(&fixtures().join("keys/age.txt")),
    ]);
    let objs = docs(&out);
    assert_eq!(objs.len(), 2, "{objs:#?}");
    assert_eq!(
        decoded(&find(&objs, "Secret", "envs-secret")["data"]["key"]),
        "value"
    );
    assert_eq!(
        find(&objs, "ConfigMap", "envs-configmap")["data"]["key"],
        "value"
    );
    // The local files are never written.
    assert_eq!(std::fs::read(dir.join("env.env")).unwrap(), before);
}

#[test]
fn decryption_secret_manifest_and_kustomization_file() {
    let tmp = tempfile::tempdir().unwrap();
    let key = std::fs::read(fixtures().join("keys/age-global.txt")).unwrap();
    let secret = tmp.path().join("keys.yaml");
    std::fs::write(
        &secret,
        format!(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: sops-keys\ndata:\n  global.agekey: {}\n  README: aGVsbG8=\n",
            base64::engine::general_purpose::STANDARD.encode(key)
        ),
    )
    .unwrap();
    let ks = tmp.path().join("ks.yaml");
    std::fs::write(
        &ks,
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: other\n  namespace: flux-system\nspec:\n  interval: 1m\n  prune: true\n  sourceRef: {kind: GitRepository, name: x}\n---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: app\n  namespace: flux-system\nspec:\n  interval: 1m\n  prune: true\n  path: ./ignored\n  targetNamespace: apps\n  commonMetadata:\n    labels: {team: a}\n  sourceRef: {kind: GitRepository, name: x}\n  decryption:\n    provider: sops\n    secretRef: {name: sops-keys}\n",
    )
    .unwrap();
    let out = ferroflux(&[
        "build",
        "ks",
        "app",
        "--path",
        path(&fixtures().join("global")),
        "--kustomization-file",
        ks.to_str().unwrap(),
        "--decryption-secret",
        secret.to_str().unwrap(),
        "--dry-run",
    ]);
    let objs = docs(&out);
    let s = find(&objs, "Secret", "global-age-secret");
    assert_eq!(s["stringData"]["key"], "global-value");
    assert_eq!(s["metadata"]["namespace"], "apps");
    assert_eq!(s["metadata"]["labels"]["team"], "a");
    assert!(s.get("sops").is_none());
}

#[test]
fn wrong_key_fails_naming_the_file_without_any_plaintext() {
    let out = ferroflux(&[
        "build",
        "kustomization",
        "app",
        "--path",
        path(&fixtures().join("envs")),
        "--dry-run",
        "--decryption-key",
        path(&fixtures().join("keys/age-global.txt")),
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("'/env.env'"), "{err}");
    assert!(
        err.contains("none of the given age identities matches"),
        "{err}"
    );
    assert!(!err.contains("AGE-SECRET-KEY"), "{err}");
    assert!(out.stdout.is_empty());
}

#[test]
fn without_keys_ciphertext_is_refused() {
    let out = ferroflux(&[
        "build",
        "kustomization",
        "app",
        "--path",
        path(&fixtures().join("global")),
        "--dry-run",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("Secret/default/global-age-secret is SOPS-encrypted"),
        "{err}"
    );
}

#[test]
fn bad_key_file_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("bad.txt");
    std::fs::write(&bad, "AGE-SECRET-KEY-1NOTAKEY\n").unwrap();
    let out = ferroflux(&[
        "build",
        "kustomization",
        "app",
        "--path",
        path(&fixtures().join("envs")),
        "--dry-run",
        "--decryption-key",
        bad.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.txt"), "{err}");
    assert!(!err.contains("NOTAKEY"), "{err}");
}

/// Without `--dry-run`: the Kustomization, its decryption Secret and its
/// `substituteFrom` ConfigMap come from the cluster, as the controller reads them.
#[tokio::test]
async fn from_the_cluster_with_its_decryption_secret_and_variables() {
    use k8s_openapi::api::core::v1::{ConfigMap, Secret};
    use kube::api::{Api, PostParams};

    let c = crate::cluster::Cluster::start().await;
    let key = std::fs::read_to_string(fixtures().join("keys/age-global.txt")).unwrap();
    let secrets: Api<Secret> = Api::namespaced(c.client.clone(), "flux-system");
    let secret: Secret = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "sops-keys"},
        "stringData": {"global.agekey": key},
    }))
    .unwrap();
    secrets
        .create(&PostParams::default(), &secret)
        .await
        .unwrap();
    let cms: Api<ConfigMap> = Api::namespaced(c.client.clone(), "flux-system");
    let cm: ConfigMap = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "vars"}, "data": {"team": "blue"},
    }))
    .unwrap();
    cms.create(&PostParams::default(), &cm).await.unwrap();
    c.create(
        &ferroflux_cli::kinds::KUSTOMIZATION,
        "flux-system",
        "app",
        serde_json::json!({
            "interval": "1m", "prune": true, "path": "./ignored",
            "sourceRef": {"kind": "GitRepository", "name": "x"},
            "commonMetadata": {"labels": {"team": "${team}"}},
            "postBuild": {"substituteFrom": [{"kind": "ConfigMap", "name": "vars"}]},
            "decryption": {"provider": "sops", "secretRef": {"name": "sops-keys"}},
        }),
        serde_json::json!({}),
    )
    .await;
    let run = c
        .ferroflux(&[
            "build",
            "kustomization",
            "app",
            "--path",
            path(&fixtures().join("global")),
        ])
        .await;
    run.assert_ok();
    let objs: Vec<Value> = serde_yaml::Deserializer::from_str(&run.stdout)
        .map(|d| serde::Deserialize::deserialize(d).unwrap())
        .collect();
    let s = find(&objs, "Secret", "global-age-secret");
    assert_eq!(s["stringData"]["key"], "global-value");
    // commonMetadata is set after substitution, as the controller does.
    assert_eq!(s["metadata"]["labels"]["team"], "${team}");

    // A missing decryption Secret is named.
    secrets
        .delete("sops-keys", &Default::default())
        .await
        .unwrap();
    let run = c
        .ferroflux(&[
            "build",
            "kustomization",
            "app",
            "--path",
            path(&fixtures().join("global")),
        ])
        .await;
    assert!(!run.ok());
    assert!(
        run.stderr
            .contains("decryption secret 'flux-system/sops-keys' not found"),
        "{}",
        run.stderr
    );

    // The variables are read from the cluster too.
    cms.delete("vars", &Default::default()).await.unwrap();
    let run = c
        .ferroflux(&[
            "build",
            "kustomization",
            "app",
            "--path",
            path(&fixtures().join("global")),
        ])
        .await;
    assert!(!run.ok());
    assert!(run.stderr.contains("ConfigMap/vars"), "{}", run.stderr);
}

/// Every algorithm of Flux's tree, post-quantum age included, opens with the key files
/// given together.
#[test]
fn dry_run_decrypts_every_algorithm_with_key_files() {
    let keys = fixtures().join("keys");
    let out = ferroflux(&[
        "build",
        "kustomization",
        "app",
        "--path",
        path(&fixtures().join("algorithms")),
        "--dry-run",
        "--decryption-key",
        path(&keys.join("age.txt")),
        "--decryption-key",
        path(&keys.join("age-pq.txt")),
        "--decryption-key",
        path(&keys.join("pgp.asc")),
    ]);
    let objs = docs(&out);
    assert_eq!(objs.len(), 4, "{objs:#?}");
    for name in ["algo-age", "algo-age-pq", "algo-pgp"] {
        let s = find(&objs, "Secret", name);
        let value = s["stringData"]["key"]
            .as_str()
            .map(String::from)
            .unwrap_or_else(|| decoded(&s["data"]["key"]));
        assert_eq!(value, "value", "{name}");
        assert!(s.get("sops").is_none(), "{name}");
    }
}
