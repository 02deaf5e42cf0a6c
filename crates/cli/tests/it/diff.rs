//! `ferroflux diff kustomization`: a local change against what is live,
//! shown per object (created, drifted with a diff of exactly the changed
//! fields, deleted by prune), unchanged objects silent, Secret values never
//! printed, and flux's exit codes (1 when anything differs).

use std::path::Path;

use ferroflux_cli::kinds;
use kube::api::{Api, ApiResource, DynamicObject, Patch, PatchParams};
use serde_json::{Value, json};

use crate::cluster::{Cluster, ready};

const OLD_SECRET: &str = "hunter2-old";
const NEW_SECRET: &str = "hunter2-new";

fn write_tree(dir: &Path, greeting: &str, secret: &str, with_gone: bool, with_fresh: bool) {
    let mut resources = vec!["settings.yaml", "same.yaml", "creds.yaml"];
    std::fs::write(
        dir.join("settings.yaml"),
        format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: default\ndata:\n  greeting: {greeting}\n  colour: blue\n"
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("same.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: same\n  namespace: default\ndata:\n  k: v\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("creds.yaml"),
        format!(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\n  namespace: default\nstringData:\n  password: {secret}\n  user: admin\n"
        ),
    )
    .unwrap();
    if with_gone {
        resources.push("gone.yaml");
        std::fs::write(
            dir.join("gone.yaml"),
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: gone\n  namespace: default\n",
        )
        .unwrap();
    }
    if with_fresh {
        resources.push("fresh.yaml");
        std::fs::write(
            dir.join("fresh.yaml"),
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: fresh\n  namespace: default\n",
        )
        .unwrap();
    }
    let list: String = resources.iter().map(|r| format!("- {r}\n")).collect();
    std::fs::write(
        dir.join("kustomization.yaml"),
        format!(
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n{list}"
        ),
    )
    .unwrap();
}

/// Applies what `build kustomization` makes of `dir`, as kustomize-controller
/// would, and records it in the Kustomization's inventory.
async fn deploy(c: &Cluster, dir: &Path) {
    let run = c
        .ferroflux(&[
            "build",
            "kustomization",
            "apps",
            "--path",
            dir.to_str().unwrap(),
        ])
        .await;
    run.assert_ok();
    let mut entries = Vec::new();
    for doc in serde_yaml::Deserializer::from_str(&run.stdout) {
        let obj: Value = serde::Deserialize::deserialize(doc).unwrap();
        let kind = obj["kind"].as_str().unwrap();
        let name = obj["metadata"]["name"].as_str().unwrap();
        let ar = ApiResource {
            group: String::new(),
            version: "v1".into(),
            api_version: "v1".into(),
            kind: kind.into(),
            plural: format!("{}s", kind.to_lowercase()),
        };
        let api: Api<DynamicObject> = Api::namespaced_with(c.client.clone(), "default", &ar);
        api.patch(
            name,
            &PatchParams::apply("kustomize-controller").force(),
            &Patch::Apply(&obj),
        )
        .await
        .unwrap_or_else(|e| panic!("applying {kind}/{name}: {e}"));
        entries.push(json!({"id": format!("default_{name}__{kind}"), "v": "v1"}));
    }
    c.set_status(
        &kinds::KUSTOMIZATION,
        "flux-system",
        "apps",
        json!({"inventory": {"entries": entries}}),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn diff_shows_exactly_what_would_change() {
    let c = Cluster::start().await;
    c.create(
        &kinds::KUSTOMIZATION,
        "flux-system",
        "apps",
        json!({"interval": "10m", "path": "./", "prune": true,
               "sourceRef": {"kind": "GitRepository", "name": "repo"}}),
        json!({"conditions": ready("True", "ReconciliationSucceeded", "ok")}),
    )
    .await;
    let live = tempfile::tempdir().unwrap();
    write_tree(live.path(), "hello", OLD_SECRET, true, false);
    deploy(&c, live.path()).await;

    // The tree as deployed: nothing to show, exit 0.
    let run = c
        .ferroflux(&[
            "diff",
            "kustomization",
            "apps",
            "--path",
            live.path().to_str().unwrap(),
        ])
        .await;
    run.assert_ok();
    assert_eq!(run.stdout, "", "unchanged objects print nothing");

    // One field changed, a Secret changed, one object new, one removed.
    let local = tempfile::tempdir().unwrap();
    write_tree(local.path(), "goodbye", NEW_SECRET, false, true);
    let run = c
        .ferroflux(&[
            "diff",
            "ks",
            "apps",
            "--path",
            local.path().to_str().unwrap(),
        ])
        .await;
    assert_eq!(run.code, Some(1), "{}\n{}", run.stdout, run.stderr);
    assert_eq!(
        run.stderr,
        "Error: identified at least one change, exiting with non-zero exit code\n"
    );
    let headlines: Vec<&str> = run.stdout.lines().filter(|l| l.starts_with('►')).collect();
    assert_eq!(
        headlines,
        [
            "► ConfigMap/default/settings drifted",
            "► Secret/default/creds drifted",
            "► ConfigMap/default/fresh created",
            "► ConfigMap/default/gone deleted",
        ],
        "{}",
        run.stdout
    );
    // The ConfigMap's diff holds the changed field and nothing else changed.
    let changed: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| {
            (l.starts_with('-') || l.starts_with('+'))
                && !l.starts_with("---")
                && !l.starts_with("+++")
        })
        .collect();
    assert_eq!(
        changed,
        [
            "-  greeting: hello",
            "+  greeting: goodbye",
            "-  password: '***** (before)'",
            "+  password: '***** (after)'",
        ],
        "{}",
        run.stdout
    );
    // No Secret value, plain or base64, anywhere.
    use base64::Engine;
    for secret in [OLD_SECRET, NEW_SECRET] {
        let b64 = base64::engine::general_purpose::STANDARD.encode(secret);
        for text in [&run.stdout, &run.stderr] {
            assert!(!text.contains(secret) && !text.contains(&b64), "{text}");
        }
    }
    // Nothing was written: the live ConfigMap keeps its value.
    let cms: Api<k8s_openapi::api::core::v1::ConfigMap> =
        Api::namespaced(c.client.clone(), "default");
    assert_eq!(
        cms.get("settings").await.unwrap().data.unwrap()["greeting"],
        "hello"
    );
    assert!(cms.get_opt("fresh").await.unwrap().is_none());

    // A Kustomization that does not prune reports no deletions.
    let api = kinds::KUSTOMIZATION.api(&c.client, Some("flux-system"));
    api.patch(
        "apps",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"prune": false}})),
    )
    .await
    .unwrap();
    let run = c
        .ferroflux(&[
            "diff",
            "ks",
            "apps",
            "--path",
            local.path().to_str().unwrap(),
        ])
        .await;
    assert_eq!(run.code, Some(1));
    assert!(!run.stdout.contains("deleted"), "{}", run.stdout);

    let run = c
        .ferroflux(&[
            "diff",
            "ks",
            "nope",
            "--path",
            local.path().to_str().unwrap(),
        ])
        .await;
    assert_eq!(run.code, Some(1));
    assert!(run.stderr.contains("nope"), "{}", run.stderr);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
}
