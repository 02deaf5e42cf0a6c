//! `ferroflux install` and `uninstall` against the test API server with its
//! workload simulation (Deployments report rolled out): `--export` applies
//! as it is; install, then `check`, then `uninstall` leaves nothing behind.

use std::sync::Arc;

use ferroflux_cli::kinds;
use ferroflux_ssa::{Action, ApplyOptions, Manager, Resolver};
use ferroflux_testenv::{Options, TestEnv};
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams};
use kube::runtime::wait::{await_condition, conditions};
use serde_json::{Value, json};

use crate::cluster::ferroflux;

async fn simulated() -> TestEnv {
    TestEnv::start_with(
        "127.0.0.1:0",
        Options {
            simulate_workloads: Some(std::time::Duration::from_millis(100)),
            ..Options::default()
        },
    )
    .await
    .expect("the test API server")
}

fn docs_of(yaml: &str) -> Vec<Value> {
    yaml.split("---\n")
        .filter(|d| !d.trim().is_empty())
        .map(|d| serde_yaml::from_str(d).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn install_export_applies_and_moves_with_the_flags() {
    let env = TestEnv::start().await.unwrap();
    let run = ferroflux(
        env.kubeconfig_path(),
        &[
            "install",
            "--export",
            "--namespace=gitops",
            "--components=source-controller,kustomize-controller",
            "--network-policy=false",
            "--version=v9.9.9",
            "--log-level=debug",
        ],
    )
    .await;
    run.assert_ok();
    assert!(run.stderr.is_empty(), "{}", run.stderr);
    assert!(
        run.stdout
            .starts_with("---\napiVersion: v1\nkind: Namespace\n"),
        "{}",
        &run.stdout[..200]
    );
    let docs = docs_of(&run.stdout);
    let deployments: Vec<&str> = docs
        .iter()
        .filter(|d| d["kind"] == "Deployment")
        .map(|d| d["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(deployments, ["kustomize-controller", "source-controller"]);
    assert!(!docs.iter().any(|d| d["kind"] == "NetworkPolicy"));
    for d in &docs {
        assert_eq!(
            d["metadata"]["labels"]["app.kubernetes.io/part-of"], "ferroflux",
            "{d}"
        );
        assert_ne!(d["metadata"]["namespace"], "flux-system", "{d}");
    }
    let sc = docs
        .iter()
        .find(|d| d["kind"] == "Deployment" && d["metadata"]["name"] == "source-controller")
        .unwrap();
    let container = &sc["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(
        container["image"],
        "ghcr.io/ferroflux/source-controller:v9.9.9"
    );
    assert!(
        container["args"]
            .as_array()
            .unwrap()
            .contains(&json!("--log-level=debug"))
    );

    let client = env.client().await.unwrap();
    let manager = Manager::new(
        client.clone(),
        Arc::new(Resolver::new(client)),
        "install-export-test",
    );
    let cs = manager
        .apply_all_staged(docs.clone(), &ApplyOptions::default())
        .await
        .expect("the export applies");
    assert_eq!(cs.count(Action::Created), docs.len(), "{cs}");
    let cs = manager
        .apply_all_staged(docs.clone(), &ApplyOptions::default())
        .await
        .unwrap();
    assert_eq!(cs.count(Action::Unchanged), docs.len(), "{cs}");

    // Flags that do not map are refused in one line.
    let run = ferroflux(
        env.kubeconfig_path(),
        &[
            "install",
            "--export",
            "--components-extra=image-automation-controller",
        ],
    )
    .await;
    assert_eq!(run.code, Some(1));
    assert_eq!(
        run.stderr,
        "Error: invalid --components-extra \"image-automation-controller\": Ferroflux has no such component (image automation is not part of it)\n"
    );
    let run = ferroflux(
        env.kubeconfig_path(),
        &["install", "--export", "--registry-creds=bot:hunter2"],
    )
    .await;
    assert_eq!(run.code, Some(1));
    assert!(
        run.stderr
            .contains("--registry-creds requires --image-pull-secret"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("hunter2"), "{}", run.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn install_check_uninstall_leaves_nothing_behind() {
    let env = simulated().await;
    let kubeconfig = env.kubeconfig_path();
    let client = env.client().await.unwrap();

    let run = ferroflux(kubeconfig, &["install", "--timeout=60s"]).await;
    run.assert_ok();
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(
        lines[..4],
        [
            "✚ generating manifests",
            "✔ manifests build completed",
            "► installing components in flux-system namespace",
            "Namespace/flux-system created",
        ],
        "{}",
        run.stderr
    );
    assert!(
        lines
            .contains(&"CustomResourceDefinition/gitrepositories.source.toolkit.fluxcd.io created")
    );
    assert!(lines.contains(&"Deployment/flux-system/helm-controller created"));
    assert!(lines.contains(&"◎ verifying installation"));
    assert!(lines.contains(&"✔ notification-controller: deployment ready"));
    assert_eq!(lines.last(), Some(&"✔ install finished"));

    // Installing again changes nothing.
    let run = ferroflux(kubeconfig, &["install", "--timeout=60s"]).await;
    run.assert_ok();
    assert!(!run.stderr.contains(" created\n"), "{}", run.stderr);
    assert!(!run.stderr.contains(" configured\n"), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("Deployment/flux-system/source-controller unchanged\n")
    );

    let run = ferroflux(kubeconfig, &["check"]).await;
    run.assert_ok();
    assert!(
        run.stderr.ends_with("✔ all checks passed\n"),
        "{}",
        run.stderr
    );

    // A Flux object with a finalizer, as a controller leaves it.
    let git = kinds::GIT_REPOSITORY.api(&client, Some("flux-system"));
    let obj: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
        "metadata": {"name": "app", "namespace": "flux-system",
                     "finalizers": ["finalizers.fluxcd.io"]},
        "spec": {"url": "https://example.com/app.git", "interval": "1m"},
    }))
    .unwrap();
    git.patch("app", &PatchParams::apply("test"), &Patch::Apply(&obj))
        .await
        .unwrap();

    // Without a terminal there is nobody to confirm.
    let run = ferroflux(kubeconfig, &["uninstall"]).await;
    assert_eq!(run.code, Some(1));
    assert_eq!(
        run.stderr,
        "Error: uninstall deletes Ferroflux, its CRDs and every Flux object: pass --silent to confirm\n"
    );
    // A dry run deletes nothing.
    let run = ferroflux(kubeconfig, &["uninstall", "--dry-run"]).await;
    run.assert_ok();
    assert!(
        run.stderr
            .contains("✔ Deployment/flux-system/source-controller deleted (dry run)\n"),
        "{}",
        run.stderr
    );
    assert!(git.get_opt("app").await.unwrap().is_some());

    let ns_api: Api<Namespace> = Api::all(client.clone());
    let ns_uid = ns_api
        .get("flux-system")
        .await
        .unwrap()
        .metadata
        .uid
        .unwrap();
    let run = ferroflux(kubeconfig, &["uninstall", "--silent"]).await;
    run.assert_ok();
    let lines: Vec<&str> = run.stderr.lines().collect();
    for want in [
        "► deleting components in flux-system namespace",
        "✔ Deployment/flux-system/kustomize-controller deleted",
        "✔ ClusterRoleBinding/ferroflux-kustomize-controller deleted",
        "► deleting toolkit.fluxcd.io finalizers in all namespaces",
        "✔ GitRepository/flux-system/app finalizers deleted",
        "► deleting toolkit.fluxcd.io custom resource definitions",
        "✔ CustomResourceDefinition/gitrepositories.source.toolkit.fluxcd.io deleted",
        "✔ Namespace/flux-system deleted",
        "✔ uninstall finished",
    ] {
        assert!(lines.contains(&want), "no {want:?} in:\n{}", run.stderr);
    }

    tokio::time::timeout(
        std::time::Duration::from_secs(30),
        await_condition(
            ns_api.clone(),
            "flux-system",
            conditions::is_deleted(&ns_uid),
        ),
    )
    .await
    .expect("the namespace goes")
    .unwrap();
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let left: Vec<String> = crds
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|c| c.spec.group.ends_with("fluxcd.io"))
        .filter_map(|c| c.metadata.name)
        .collect();
    assert!(left.is_empty(), "CRDs left: {left:?}");
    let selector = ListParams::default().labels("app.kubernetes.io/part-of=ferroflux");
    let roles: Api<ClusterRole> = Api::all(client.clone());
    assert!(roles.list(&selector).await.unwrap().items.is_empty());
    let bindings: Api<ClusterRoleBinding> = Api::all(client.clone());
    assert!(bindings.list(&selector).await.unwrap().items.is_empty());

    // Nothing left to check.
    let run = ferroflux(kubeconfig, &["check"]).await;
    assert_eq!(run.code, Some(1));
    assert!(
        run.stderr
            .contains("✗ source-controller: deployment not found in flux-system namespace"),
        "{}",
        run.stderr
    );
}
