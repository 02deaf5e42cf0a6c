//! Hostile input from tenants (issue 12): kubeconfigs that would run
//! commands or read the controller's files, credentials that would panic
//! the HTTP stack, SOPS ciphertext that would be applied as is, and a
//! seeded property test over Kustomization specs.

use std::time::Duration;

use ferroflux_api::conditions::{self, ObjectWithConditions};
use ferroflux_api::kustomize::v1::Kustomization;
use ferroflux_runtime::artifact::{ArtifactClient, FetchOptions};
use ferroflux_runtime::controller::Reconciler;
use ferroflux_runtime::events::Recorder;
use ferroflux_testenv::TestEnv;
use kube::api::DeleteParams;
use kustomize_controller::clients::Clients;
use kustomize_controller::reconciler::{KustomizationReconciler, Options};
use serde_json::{Value, json};

use crate::support::{Harness, Setup, apply_as_admin, harness, ks, not_ready_with, ready_message};

fn secret(name: &str, kubeconfig: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Secret",
           "metadata": {"name": name, "namespace": "flux-system"},
           "stringData": {"value": kubeconfig}})
}

fn stalled(k: &Kustomization) -> bool {
    conditions::is_true(k.conditions(), conditions::STALLED)
}

fn reason(k: &Kustomization) -> String {
    conditions::get(k.conditions(), conditions::READY)
        .map(|c| c.reason.clone())
        .unwrap_or_default()
}

/// A repository `app` with one ConfigMap `name`, a GitRepository for it
/// and the commit.
async fn app(h: &Harness, name: &str) -> String {
    let repo = h.repo("app");
    repo.write(
        "cm.yaml",
        &format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: default\ndata:\n  k: v\n"),
    )
    .unwrap();
    let commit = repo.commit("first").unwrap();
    h.git_repository("flux-system", "app", "app", "1h").await;
    commit
}

#[tokio::test]
async fn a_kubeconfig_exec_plugin_never_runs_and_the_object_stalls_naming_it() {
    let h = harness(Setup::default()).await;
    app(&h, "cm").await;
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("pwned");
    let env_server = h.env.url();
    let kubeconfig = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: {env_server}\nusers:\n- name: u\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: /bin/sh\n      args: [\"-c\", \"touch {}\"]\ncontexts:\n- name: x\n  context: {{cluster: c, user: u}}\ncurrent-context: x\n",
        marker.display()
    );
    apply_as_admin(&h.client, vec![secret("exec-kubeconfig", &kubeconfig)]).await;
    h.kustomization(ks(
        "flux-system",
        "app",
        "app",
        "./",
        json!({"kubeConfig": {"secretRef": {"name": "exec-kubeconfig"}}}),
    ))
    .await;
    let k = h
        .wait_ks("flux-system", "app", "stalled on exec", |k| {
            stalled(k) && not_ready_with(k, "users[0].user.exec")
        })
        .await;
    assert!(
        ready_message(&k).contains("--insecure-kubeconfig-exec"),
        "{}",
        ready_message(&k)
    );
    assert!(
        !marker.exists(),
        "the tenant's command ran in the controller"
    );
    assert!(h.get("v1", "ConfigMap", "default", "cm").await.is_none());
}

#[tokio::test]
async fn a_token_file_is_refused() {
    let h = harness(Setup::default()).await;
    app(&h, "cm").await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    std::fs::write(&file, "controller-secret").unwrap();
    let kubeconfig = h.env.kubeconfig_yaml().replace(
        "token: ",
        &format!("tokenFile: {}\n    x-was-token: ", file.display()),
    );
    apply_as_admin(&h.client, vec![secret("file-kubeconfig", &kubeconfig)]).await;
    h.kustomization(ks(
        "flux-system",
        "app",
        "app",
        "./",
        json!({"kubeConfig": {"secretRef": {"name": "file-kubeconfig"}}}),
    ))
    .await;
    let k = h
        .wait_ks("flux-system", "app", "stalled on tokenFile", |k| {
            stalled(k) && not_ready_with(k, "users[0].user.tokenFile")
        })
        .await;
    assert!(!ready_message(&k).contains("controller-secret"));
}

/// Today's failure: the token reached tower-http's bearer layer, which
/// panics on a newline ("token is not valid header"); the reconcile task
/// died with it, on every retry and on deletion.
#[tokio::test]
async fn a_token_with_a_newline_fails_the_object_not_the_controller_and_deletion_completes() {
    let h = harness(Setup::default()).await;
    let commit = app(&h, "cm").await;
    let remote = TestEnv::start().await.unwrap();
    apply_as_admin(
        &h.client,
        vec![secret("remote-kubeconfig", &remote.kubeconfig_yaml())],
    )
    .await;
    h.kustomization(ks(
        "flux-system",
        "bad",
        "app",
        "./",
        json!({"kubeConfig": {"secretRef": {"name": "remote-kubeconfig"}}}),
    ))
    .await;
    h.wait_applied("flux-system", "bad", &commit).await;

    // The Secret now holds a token with a newline in it.
    let token = remote.token().to_string();
    let bad = remote.kubeconfig_yaml().replace(
        &format!("token: {token}"),
        &format!("token: \"{token}\\nX-Injected: 1\""),
    );
    assert_ne!(bad, remote.kubeconfig_yaml());
    apply_as_admin(&h.client, vec![secret("remote-kubeconfig", &bad)]).await;
    h.request(&h.kustomizations("flux-system"), "bad", "after-bad-token")
        .await;
    let k = h
        .wait_ks("flux-system", "bad", "Ready=False naming the token", |k| {
            not_ready_with(k, "users[0].user.token: not a valid HTTP header value")
        })
        .await;
    let msg = ready_message(&k);
    assert!(!msg.contains(&token), "the token leaked: {msg}");
    assert!(
        msg.contains("Secret 'flux-system/remote-kubeconfig'"),
        "{msg}"
    );

    // Others keep reconciling.
    h.kustomization(ks("flux-system", "good", "app", "./", json!({})))
        .await;
    h.wait_applied("flux-system", "good", &commit).await;

    // Deletion completes: the objects cannot be reached, the finalizer goes.
    h.kustomizations("flux-system")
        .delete("bad", &DeleteParams::default())
        .await
        .unwrap();
    h.wait_gone("bad").await;
    assert!(
        h.events_for("Kustomization", "bad")
            .iter()
            .any(|e| e.message.contains("unable to prune")),
        "no event about the objects left in place"
    );
}

#[tokio::test]
async fn a_service_account_name_that_cannot_be_a_header_stalls_its_object() {
    let h = harness(Setup::default()).await;
    app(&h, "cm").await;
    h.kustomization(ks(
        "flux-system",
        "app",
        "app",
        "./",
        json!({"serviceAccountName": "tenant\nImpersonate-Group: system:masters"}),
    ))
    .await;
    h.wait_ks("flux-system", "app", "stalled naming the field", |k| {
        stalled(k) && not_ready_with(k, "spec.serviceAccountName")
    })
    .await;
    assert!(h.get("v1", "ConfigMap", "default", "cm").await.is_none());
}

#[tokio::test]
async fn deletion_completes_when_the_remote_cluster_is_gone() {
    let h = harness(Setup::default()).await;
    let commit = app(&h, "cm").await;
    let remote = TestEnv::start().await.unwrap();
    apply_as_admin(
        &h.client,
        vec![secret("remote-kubeconfig", &remote.kubeconfig_yaml())],
    )
    .await;
    h.kustomization(ks(
        "flux-system",
        "app",
        "app",
        "./",
        json!({"kubeConfig": {"secretRef": {"name": "remote-kubeconfig"}}}),
    ))
    .await;
    h.wait_applied("flux-system", "app", &commit).await;
    drop(remote);
    h.kustomizations("flux-system")
        .delete("app", &DeleteParams::default())
        .await
        .unwrap();
    h.wait_gone("app").await;
}

#[tokio::test]
async fn spec_decryption_fails_closed_and_applies_nothing() {
    let h = harness(Setup::default()).await;
    let repo = h.repo("app");
    repo.write("secret.yaml", SOPS_SECRET).unwrap();
    repo.write(
        "cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: plain\n  namespace: default\n",
    )
    .unwrap();
    repo.commit("first").unwrap();
    h.git_repository("flux-system", "app", "app", "1h").await;

    // Asking for SOPS decryption with a key Secret that does not exist:
    // not ready (the Secret may still come), nothing applied.
    h.kustomization(ks(
        "flux-system",
        "sops",
        "app",
        "./",
        json!({"decryption": {"provider": "sops", "secretRef": {"name": "sops-keys"}}}),
    ))
    .await;
    let k = h
        .wait_ks("flux-system", "sops", "DecryptionFailed", |k| {
            !stalled(k) && not_ready_with(k, "decryption secret 'flux-system/sops-keys' not found")
        })
        .await;
    assert_eq!(reason(&k), "DecryptionFailed");

    // No decryption asked for, but the build holds ciphertext: refused,
    // naming the object.
    h.kustomization(ks("flux-system", "plain", "app", "./", json!({})))
        .await;
    let k = h
        .wait_ks("flux-system", "plain", "refused ciphertext", |k| {
            not_ready_with(k, "Secret/default/db is SOPS-encrypted")
        })
        .await;
    assert_eq!(reason(&k), "DecryptionFailed");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(h.get("v1", "Secret", "default", "db").await.is_none());
    assert!(h.get("v1", "ConfigMap", "default", "plain").await.is_none());
}

const SOPS_SECRET: &str = r#"apiVersion: v1
kind: Secret
metadata:
  name: db
  namespace: default
type: Opaque
stringData:
  password: ENC[AES256_GCM,data:0kWQ0w==,iv:7x8hkC6Cw6k1Oq3qgr5k0Wc1ZDjKcIhS0cO8C1h3cRU=,tag:wY6VSJHAs5lYO4eq+ld3Mg==,type:str]
sops:
  age:
    - recipient: age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p
      enc: |
        -----BEGIN AGE ENCRYPTED FILE-----
        YWdlLWVuY3J5cHRpb24ub3JnL3YxCi0+IFgyNTUxOSBkZXZ0ZXN0Cg==
        -----END AGE ENCRYPTED FILE-----
  lastmodified: "2024-01-01T00:00:00Z"
  mac: ENC[AES256_GCM,data:abc=,iv:abc=,tag:abc=,type:str]
  version: 3.8.1
"#;

impl Harness {
    /// Waits until Kustomization `flux-system/name` is gone.
    async fn wait_gone(&self, name: &str) {
        let api = self.kustomizations("flux-system");
        for _ in 0..600 {
            if api.get_opt(name).await.unwrap().is_none() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "flux-system/{name} was never deleted: {:#?}",
            api.get_opt(name).await.ok().flatten()
        );
    }
}

/// Values for string fields of the spec that have broken parsers and
/// header builders before.
const HOSTILE: &[&str] = &[
    "",
    " ",
    "\n",
    "a\nb",
    "\r",
    "\t",
    "\u{0}",
    "\u{7f}",
    "é",
    "💥",
    "%0a",
    "..",
    "../..",
    "/",
    "*",
    ":",
    "@",
    "[",
    "{",
    "a b",
    "A",
    "-a",
    "a-",
    "a.b",
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
];

/// Durations: Flux's grammar, its edges and garbage.
const DURATIONS: &[&str] = &[
    "0s",
    "1ms",
    "1s",
    "1m",
    "1h",
    "1.5h",
    "0.000001s",
    "99999999999h",
    "18446744073709551615s",
    "1e9h",
    "-1s",
    "1d",
    "",
    "h",
    "1h1h1h1h",
    "9223372036854775807ms",
    "0.0",
    "1.h",
    ".5s",
];

/// Kubeconfigs in the Secrets the generated specs point at: good, and
/// each way one broke a controller.
fn kubeconfigs(env: &TestEnv) -> Vec<(&'static str, String)> {
    let good = env.kubeconfig_yaml();
    let token = env.token().to_string();
    let with_token = |t: &str| good.replace(&format!("token: {token}"), &format!("token: {t}"));
    let with_server = |s: &str| good.replace(&env.url(), s);
    vec![
        ("kc-good", good.clone()),
        ("kc-newline", with_token("\"a\\nb\"")),
        ("kc-cr", with_token("\"a\\rb\"")),
        ("kc-nul", with_token("\"a\\u0000b\"")),
        ("kc-empty-token", with_token("\"\"")),
        ("kc-no-scheme", with_server("127.0.0.1:1")),
        ("kc-path-server", with_server("/nowhere")),
        ("kc-ftp", with_server("ftp://127.0.0.1:1")),
        ("kc-garbage", "{[: \n\t".into()),
        ("kc-empty", String::new()),
        (
            "kc-proxy",
            good.replace("    server:", "    proxy-url: \"h:1\"\n    server:"),
        ),
        (
            "kc-as",
            good.replace("    token:", "    as: \"x\\ny\"\n    token:"),
        ),
        (
            "kc-exec",
            good.replace("    token:", "    exec: {command: /bin/false}\n    x:"),
        ),
    ]
}

/// Property: no Kustomization spec (field values drawn from the lists
/// above, kubeconfigs included) panics a reconcile or a deletion; each
/// ends Ok or Err. Seeded; `SPEC_FUZZ_CASES`/`SPEC_FUZZ_SEED` replay more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_spec_panics_a_reconcile_or_a_cleanup() {
    let cases: u64 = std::env::var("SPEC_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(150);
    let seed: u64 = std::env::var("SPEC_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x5eed_0012);
    let h = harness(Setup::default()).await;
    let commit = app(&h, "fuzzed").await;
    h.kustomization(ks("flux-system", "ready", "app", "./", json!({})))
        .await;
    h.wait_applied("flux-system", "ready", &commit).await;
    let configs = kubeconfigs(&h.env);
    apply_as_admin(
        &h.client,
        configs.iter().map(|(n, y)| secret(n, y)).collect(),
    )
    .await;
    // A reconciler of its own, called directly (no loop to hide a panic).
    let config = kube::Config::from_custom_kubeconfig(
        kube::config::Kubeconfig::from_yaml(&h.env.kubeconfig_yaml()).unwrap(),
        &Default::default(),
    )
    .await
    .unwrap();
    let reconciler = std::sync::Arc::new(KustomizationReconciler::new(
        Clients::new(config, h.client.clone(), None),
        ArtifactClient::new(FetchOptions::default()).unwrap(),
        Recorder::new(h.client.clone(), "kustomize-controller", None),
        Options {
            health_poll: Duration::from_millis(50),
            ..Default::default()
        },
    ));
    let mut rng = Rng(seed | 1);
    let pick = |rng: &mut Rng, list: &[&str]| list[rng.below(list.len())].to_string();
    let mut reached_apply = 0;
    for case in 0..cases {
        let mut spec = json!({"interval": pick(&mut rng, DURATIONS), "path": "./", "prune": rng.below(2) == 0,
                              "sourceRef": {"kind": "GitRepository", "name": "app"}});
        let s = spec.as_object_mut().unwrap();
        for (field, p) in [
            ("timeout", 3),
            ("retryInterval", 3),
            ("serviceAccountName", 4),
            ("targetNamespace", 4),
            ("namePrefix", 5),
            ("kubeConfig", 2),
            ("path", 5),
            ("deletionPolicy", 5),
            ("wait", 3),
            ("healthChecks", 4),
        ] {
            if rng.below(p) != 0 {
                continue;
            }
            let v = match field {
                "timeout" | "retryInterval" => json!(pick(&mut rng, DURATIONS)),
                "kubeConfig" => {
                    json!({"secretRef": {"name": configs[rng.below(configs.len())].0}})
                }
                "wait" => json!(true),
                "healthChecks" => json!([{"apiVersion": "v1", "kind": "ConfigMap",
                                          "name": pick(&mut rng, HOSTILE),
                                          "namespace": pick(&mut rng, &["default", "", "a\nb"])}]),
                "deletionPolicy" => json!(pick(
                    &mut rng,
                    &["MirrorPrune", "Delete", "WaitForTermination", "Orphan"]
                )),
                _ => json!(pick(&mut rng, HOSTILE)),
            };
            s.insert(field.into(), v);
        }
        let obj = json!({"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
                         "metadata": {"name": format!("fuzz-{case}"), "namespace": "flux-system",
                                      "generation": 1, "uid": "00000000-0000-0000-0000-000000000000"},
                         "spec": spec});
        // What the API server would refuse never reaches the controller.
        let Ok(mut k) = serde_json::from_value::<Kustomization>(obj.clone()) else {
            continue;
        };
        let r = reconciler.clone();
        let run = tokio::spawn(async move {
            let result =
                tokio::time::timeout(Duration::from_millis(800), r.reconcile(&mut k)).await;
            let applied = k
                .status
                .as_ref()
                .and_then(|s| s.inventory.as_ref())
                .is_some_and(|i| !i.entries.is_empty());
            // A panic inside kube's request worker (a task of its own)
            // comes back as this error rather than as a panic.
            let msg = ready_message(&k);
            assert!(!msg.contains("worker closed unexpectedly"), "{msg}");
            let cleaned = tokio::time::timeout(Duration::from_secs(10), r.cleanup(&k)).await;
            if let Ok(Err(e)) = cleaned {
                assert!(!e.to_string().contains("worker closed unexpectedly"), "{e}");
            }
            (result.is_ok(), applied)
        });
        match run.await {
            Ok((_, applied)) => reached_apply += usize::from(applied),
            Err(e) => panic!("case {case} (seed {seed}) panicked: {e}\n{obj:#}"),
        }
    }
    assert!(
        reached_apply > 0,
        "no generated spec got as far as applying"
    );
}

/// xorshift64: a seeded generator small enough to keep here.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n.max(1) as u64) as usize
    }
}
