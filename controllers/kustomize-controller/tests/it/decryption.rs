//! SOPS decryption end to end: a Git repository holding files the real sops encrypted
//! (the shared conformance fixtures), a decryption Secret with age keys, and the
//! cluster afterwards. Decrypted values must land in the Secrets and nowhere else
//! (status, events); failures leave the previous revision's objects untouched.

use base64::Engine as _;
use serde_json::{Value, json};

use crate::support::*;

fn fixture(path: &str) -> String {
    let base = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(
        "../../../shared/conformance/sops/flux-kustomize-controller/internal/controller/testdata/sops",
    );
    std::fs::read_to_string(base.join(path)).unwrap_or_else(|e| panic!("fixture {path}: {e}"))
}

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// Secret entry `key` of `default/name`, decoded.
async fn secret_value(h: &Harness, name: &str, key: &str) -> Option<String> {
    let s = h.get("v1", "Secret", "default", name).await?;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(s["data"][key].as_str()?)
        .ok()?;
    String::from_utf8(raw).ok()
}

const KUSTOMIZATION: &str = "apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: default
resources:
- secret.yaml
- cm.yaml
generatorOptions:
  disableNameSuffixHash: true
secretGenerator:
- name: app-env
  envs:
  - app.env
";

fn cm(v: &str) -> String {
    format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: plain\ndata:\n  v: {v}\n")
}

async fn keys_secret(h: &Harness, entries: Value) {
    apply_as_admin(
        &h.client,
        vec![json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "sops-keys", "namespace": "flux-system"},
            "data": entries,
        })],
    )
    .await;
}

fn decryption() -> Value {
    json!({"decryption": {"provider": "sops", "secretRef": {"name": "sops-keys"}}})
}

#[tokio::test]
async fn encrypted_secret_and_env_file_land_decrypted_and_nowhere_else() {
    let h = harness(Setup::default()).await;
    keys_secret(
        &h,
        json!({
            "age.agekey": b64(&fixture("keys/age.txt")),
            "global.agekey": b64(&fixture("keys/age-global.txt")),
        }),
    )
    .await;
    let repo = h.repo("app");
    repo.write("deploy/kustomization.yaml", KUSTOMIZATION)
        .unwrap();
    // An encrypted Secret manifest (age, the global key) and an encrypted dotenv file
    // (age, the other key) for the generator.
    repo.write("deploy/secret.yaml", &fixture("global/secret.yaml"))
        .unwrap();
    repo.write("deploy/app.env", &fixture("envs/env.env"))
        .unwrap();
    repo.write("deploy/cm.yaml", &cm("one")).unwrap();
    let commit = repo.commit("encrypted").unwrap();
    h.git_repository("flux-system", "app", "app", "1h").await;
    h.kustomization(ks("flux-system", "app", "app", "./deploy", decryption()))
        .await;
    let k = h.wait_applied("flux-system", "app", &commit).await;

    assert_eq!(
        secret_value(&h, "global-age-secret", "key")
            .await
            .as_deref(),
        Some("global-value")
    );
    assert_eq!(
        secret_value(&h, "app-env", "key").await.as_deref(),
        Some("value")
    );
    let s = h
        .get("v1", "Secret", "default", "global-age-secret")
        .await
        .unwrap();
    assert!(s.get("sops").is_none(), "{s:#}");

    // Neither the values nor their base64 are in the status or any event.
    let status = serde_json::to_string(&k.status).unwrap();
    let events = serde_json::to_string(&h.events.parsed::<Value>()).unwrap();
    for needle in [
        "global-value",
        &b64("global-value"),
        "key=value",
        &b64("value"),
    ] {
        assert!(!status.contains(needle), "status holds {needle}: {status}");
        assert!(!events.contains(needle), "events hold {needle}: {events}");
    }
}

#[tokio::test]
async fn bad_input_fails_with_decryption_failed_and_keeps_the_previous_revision() {
    let h = harness(Setup::default()).await;
    // Only the global key: the generator's env file (another key) cannot be opened.
    keys_secret(
        &h,
        json!({"global.agekey": b64(&fixture("keys/age-global.txt"))}),
    )
    .await;
    let repo = h.repo("app");
    let plain_kustomization = KUSTOMIZATION.replace(
        "generatorOptions:\n  disableNameSuffixHash: true\nsecretGenerator:\n- name: app-env\n  envs:\n  - app.env\n",
        "",
    );
    repo.write("kustomization.yaml", &plain_kustomization)
        .unwrap();
    repo.write("secret.yaml", &fixture("global/secret.yaml"))
        .unwrap();
    repo.write("cm.yaml", &cm("one")).unwrap();
    let first = repo.commit("first").unwrap();
    h.git_repository("flux-system", "app", "app", "1h").await;
    h.kustomization(ks("flux-system", "app", "app", "./", decryption()))
        .await;
    h.wait_applied("flux-system", "app", &first).await;

    // A file encrypted for a key the Secret does not hold.
    repo.write("kustomization.yaml", KUSTOMIZATION).unwrap();
    repo.write("app.env", &fixture("envs/env.env")).unwrap();
    repo.write("cm.yaml", &cm("two")).unwrap();
    let second = repo.commit("wrong key").unwrap();
    let k = wait_failed(&h, &second, "none of the given age identities matches").await;
    assert!(
        ready_message(&k).contains("'/app.env'"),
        "{}",
        ready_message(&k)
    );
    assert_unchanged(&h).await;

    // A tampered value.
    let tampered = fixture("global/secret.yaml").replacen(
        "key: ENC[AES256_GCM,data:5",
        "key: ENC[AES256_GCM,data:6",
        1,
    );
    assert_ne!(tampered, fixture("global/secret.yaml"));
    repo.write("kustomization.yaml", &plain_kustomization)
        .unwrap();
    repo.write("secret.yaml", &tampered).unwrap();
    let third = repo.commit("tampered value").unwrap();
    wait_failed(&h, &third, "failed authentication").await;
    assert_unchanged(&h).await;

    // A tampered MAC.
    let secret = fixture("global/secret.yaml");
    let at = secret.find("mac: ENC[AES256_GCM,data:").unwrap() + 25;
    let flipped = if &secret[at..at + 1] == "A" { "B" } else { "A" };
    let bad_mac = format!("{}{flipped}{}", &secret[..at], &secret[at + 1..]);
    repo.write("secret.yaml", &bad_mac).unwrap();
    let fourth = repo.commit("tampered mac").unwrap();
    wait_failed(&h, &fourth, "/secret.yaml").await;
    assert_unchanged(&h).await;

    // A huge encrypted file.
    let mut huge = fixture("global/secret.yaml");
    huge.push_str(&format!("# {}\n", "x".repeat(6 << 20)));
    repo.write("secret.yaml", &huge).unwrap();
    let fifth = repo.commit("huge").unwrap();
    wait_failed(&h, &fifth, "larger than the limit").await;
    assert_unchanged(&h).await;
}

/// The first revision's objects, as applied.
async fn assert_unchanged(h: &Harness) {
    let cm = h.get("v1", "ConfigMap", "default", "plain").await.unwrap();
    assert_eq!(cm["data"]["v"], "one", "the previous revision was changed");
    assert_eq!(
        secret_value(h, "global-age-secret", "key").await.as_deref(),
        Some("global-value")
    );
    assert!(h.get("v1", "Secret", "default", "app-env").await.is_none());
}

/// Waits until the Kustomization failed with `DecryptionFailed` at `commit`, naming
/// `needle`.
async fn wait_failed(
    h: &Harness,
    commit: &str,
    needle: &str,
) -> ferroflux_api::kustomize::v1::Kustomization {
    // A push: the source fetches the new commit now.
    let sources: kube::Api<ferroflux_api::source::v1::GitRepository> =
        kube::Api::namespaced(h.client.clone(), "flux-system");
    h.request(&sources, "app", commit).await;
    let suffix = format!("sha1:{commit}");
    let k = h
        .wait_ks("flux-system", "app", needle, |k| {
            not_ready_with(k, needle)
                && k.status
                    .as_ref()
                    .and_then(|s| s.last_attempted_revision.as_deref())
                    .is_some_and(|r| r.ends_with(&suffix))
        })
        .await;
    assert_eq!(reason(&k), "DecryptionFailed");
    k
}

fn reason(k: &ferroflux_api::kustomize::v1::Kustomization) -> String {
    use ferroflux_api::conditions::{self, ObjectWithConditions};
    conditions::get(k.conditions(), conditions::READY)
        .map(|c| c.reason.clone())
        .unwrap_or_default()
}

/// Flux's own SOPS test tree, pushed to Git as it is (less the base that needs the
/// network), with its three keys (age, post-quantum age, PGP) in the decryption Secret,
/// reconciles to exactly the Secrets and ConfigMaps its README lists.
#[tokio::test]
async fn fluxs_test_tree_reconciles_to_exactly_its_listed_objects() {
    let h = harness(Setup::default()).await;
    keys_secret(
        &h,
        json!({
            "age.agekey": b64(&fixture("keys/age.txt")),
            "age-pq.agekey": b64(&fixture("keys/age-pq.txt")),
            "pgp.asc": b64(&fixture("keys/pgp.asc")),
        }),
    )
    .await;
    let repo = h.repo("tree");
    let base = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(
        "../../../shared/conformance/sops/flux-kustomize-controller/internal/controller/testdata/sops",
    );
    let mut stack = vec![base.clone()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let rel = p.strip_prefix(&base).unwrap().to_str().unwrap().to_string();
            let mut text = std::fs::read_to_string(&p).unwrap();
            if rel == "kustomization.yaml" {
                text = text.replace("  - remote\n", "");
            }
            repo.write(&rel, &text).unwrap();
        }
    }
    let commit = repo.commit("flux's tree").unwrap();
    h.git_repository("flux-system", "tree", "tree", "1h").await;
    let mut extra = decryption();
    extra["targetNamespace"] = json!("default");
    h.kustomization(ks("flux-system", "tree", "tree", "./", extra))
        .await;
    let k = h.wait_applied("flux-system", "tree", &commit).await;

    let mut applied: Vec<String> = k
        .status
        .as_ref()
        .and_then(|s| s.inventory.as_ref())
        .map(|i| i.entries.iter().map(|e| e.id.clone()).collect())
        .unwrap_or_default();
    applied.sort();
    let secrets = [
        "sops-algo-age",
        "sops-algo-age-pq",
        "sops-algo-pgp",
        "sops-algo-vault",
        "sops-component",
        "sops-envs-secret",
        "sops-files-secret",
        "sops-inside-secret",
    ];
    let configmaps = ["sops-envs-configmap", "sops-files-configmap"];
    let mut want: Vec<String> = secrets
        .iter()
        .chain(["sops-patches-secret"].iter())
        .map(|n| format!("default_{n}__Secret"))
        .chain(configmaps.iter().map(|n| format!("default_{n}__ConfigMap")))
        .collect();
    want.sort();
    assert_eq!(applied, want);
    for name in secrets {
        assert_eq!(
            secret_value(&h, name, "key").await.as_deref(),
            Some("value"),
            "{name}"
        );
    }
    for name in configmaps {
        let cm = h.get("v1", "ConfigMap", "default", name).await.unwrap();
        assert_eq!(cm["data"]["key"], "value", "{name}");
    }
    assert_eq!(
        secret_value(&h, "sops-patches-secret", "key")
            .await
            .as_deref(),
        Some("merge1")
    );
    assert_eq!(
        secret_value(&h, "sops-patches-secret", "merge2")
            .await
            .as_deref(),
        Some("merge2")
    );
}

/// A decryption Secret labelled `reconcile.fluxcd.io/watch: Enabled` that gains the
/// missing key queues the Kustomizations using it at once: with a 1h interval (and so a
/// 1h retry), only the watch can bring the failed Kustomization to Ready.
#[tokio::test]
async fn labelled_decryption_secret_change_reconciles_at_once() {
    let h = harness(Setup::default()).await;
    let keys = |entries: Value| {
        json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {
                "name": "sops-keys", "namespace": "flux-system",
                "labels": {"reconcile.fluxcd.io/watch": "Enabled"},
            },
            "data": entries,
        })
    };
    // Only the global key: the generator's env file (another key) cannot be opened.
    apply_as_admin(
        &h.client,
        vec![keys(
            json!({"global.agekey": b64(&fixture("keys/age-global.txt"))}),
        )],
    )
    .await;
    let repo = h.repo("app");
    repo.write("kustomization.yaml", KUSTOMIZATION).unwrap();
    repo.write("secret.yaml", &fixture("global/secret.yaml"))
        .unwrap();
    repo.write("app.env", &fixture("envs/env.env")).unwrap();
    repo.write("cm.yaml", &cm("one")).unwrap();
    let commit = repo.commit("encrypted").unwrap();
    h.git_repository("flux-system", "app", "app", "1h").await;
    h.kustomization(ks("flux-system", "app", "app", "./", decryption()))
        .await;
    let needle = "none of the given age identities matches";
    h.wait_ks("flux-system", "app", needle, |k| not_ready_with(k, needle))
        .await;
    assert!(h.get("v1", "Secret", "default", "app-env").await.is_none());

    // The key the env file needs is added to the Secret.
    apply_as_admin(
        &h.client,
        vec![keys(json!({
            "global.agekey": b64(&fixture("keys/age-global.txt")),
            "age.agekey": b64(&fixture("keys/age.txt")),
        }))],
    )
    .await;
    h.wait_applied("flux-system", "app", &commit).await;
    assert_eq!(
        secret_value(&h, "app-env", "key").await.as_deref(),
        Some("value")
    );
}
