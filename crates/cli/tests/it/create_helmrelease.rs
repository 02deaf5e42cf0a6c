//! `ferroflux create source git` + `ferroflux create helmrelease` run as the
//! binary, without `--export`, against testenv with the real controllers:
//! the command waits for helm-controller, prints Flux's lines, and the
//! release's objects carry the values given with `--values`.

use ferroflux_cli::stack::{Stack, StackError, StackOptions};
use ferroflux_testsupport::git::{GitRepo, GitServer};
use k8s_openapi::api::core::v1::{ConfigMap, Service};

use crate::cluster::ferroflux;

/// A chart whose objects show which values reached the render: the chart's
/// defaults, overridden in part by the values file.
fn write_chart(repo: &GitRepo) -> String {
    let files = [
        (
            "charts/greeter/Chart.yaml",
            "apiVersion: v2\nname: greeter\nversion: 0.3.1\n",
        ),
        (
            "charts/greeter/values.yaml",
            "greeting: hello\nport: 80\nlabels:\n  tier: web\n  team: none\n",
        ),
        (
            "charts/greeter/templates/settings.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-settings\n  labels:\n{{ toYaml .Values.labels | indent 4 }}\ndata:\n  greeting: {{ .Values.greeting | quote }}\n",
        ),
        (
            "charts/greeter/templates/service.yaml",
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: {{ .Release.Name }}\nspec:\n  selector:\n    app: greeter\n  ports:\n  - name: http\n    port: {{ .Values.port }}\n",
        ),
    ];
    for (path, text) in files {
        repo.write(path, text).unwrap();
    }
    repo.commit("chart").unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn created_helmrelease_from_a_git_chart_becomes_ready_with_its_values() {
    let work = tempfile::tempdir().unwrap();
    let git_dir = tempfile::tempdir().unwrap();
    let stack = match Stack::start(StackOptions::beside_current_exe(work.path())).await {
        Ok(s) => s,
        Err(e @ StackError::MissingBinary(_)) => panic!(
            "{e}\nbuild the controllers first: cargo build --bins -p ferroflux-testenv \
             -p source-controller -p kustomize-controller -p helm-controller -p notification-controller"
        ),
        Err(e) => panic!("starting the stack: {e}"),
    };
    let kubeconfig = stack.kubeconfig();
    let client = stack.client().await.unwrap();
    let git = GitServer::start(git_dir.path(), None).unwrap();
    let repo = GitRepo::create(git.root(), "charts").unwrap();
    let sha = write_chart(&repo);

    let run = ferroflux(
        &kubeconfig,
        &[
            "create",
            "source",
            "git",
            "charts",
            &format!("--url={}", git.url("charts")),
            "--branch=main",
            "--timeout=90s",
        ],
    )
    .await;
    run.assert_ok();
    assert!(
        run.stderr
            .ends_with(&format!("✔ fetched revision: main@sha1:{sha}\n")),
        "{}",
        run.stderr
    );

    let values = work.path().join("values.yaml");
    std::fs::write(&values, "greeting: bonjour\nlabels:\n  team: blue\n").unwrap();
    let values_arg = format!("--values={}", values.display());
    let run = ferroflux(
        &kubeconfig,
        &[
            "create",
            "helmrelease",
            "greeter",
            "--source=GitRepository/charts",
            "--chart=./charts/greeter",
            &values_arg,
            "--target-namespace=default",
            "--timeout=90s",
        ],
    )
    .await;
    run.assert_ok();
    assert_eq!(
        run.stderr,
        "✚ generating HelmRelease\n► applying HelmRelease\n✔ HelmRelease created\n\
         ◎ waiting for HelmRelease reconciliation\n✔ HelmRelease greeter is ready\n\
         ✔ applied revision 0.3.1\n"
    );
    assert_eq!(run.stdout, "", "progress goes to stderr only");

    // Installed when create returned, with the file's values over the chart's.
    let cms: kube::Api<ConfigMap> = kube::Api::namespaced(client.clone(), "default");
    let settings = cms
        .get_opt("default-greeter-settings")
        .await
        .unwrap()
        .expect("the chart's ConfigMap is installed");
    assert_eq!(
        settings
            .data
            .unwrap_or_default()
            .get("greeting")
            .map(String::as_str),
        Some("bonjour"),
        "--values overrides the chart's default"
    );
    let labels = settings.metadata.labels.unwrap_or_default();
    assert_eq!(labels.get("team").map(String::as_str), Some("blue"));
    assert_eq!(
        labels.get("tier").map(String::as_str),
        Some("web"),
        "values the file leaves out keep the chart's default"
    );
    assert_eq!(
        labels
            .get("helm.toolkit.fluxcd.io/name")
            .map(String::as_str),
        Some("greeter"),
        "applied by helm-controller for this HelmRelease"
    );
    let services: kube::Api<Service> = kube::Api::namespaced(client.clone(), "default");
    let service = services
        .get_opt("default-greeter")
        .await
        .unwrap()
        .expect("the chart's Service is installed");
    assert_eq!(service.spec.unwrap().ports.unwrap()[0].port, 80);

    // A chart path the source does not hold: exit 1 with the controller's message.
    let run = ferroflux(
        &kubeconfig,
        &[
            "create",
            "helmrelease",
            "missing",
            "--source=GitRepository/charts",
            "--chart=./charts/absent",
            "--target-namespace=default",
            "--timeout=90s",
        ],
    )
    .await;
    assert_eq!(run.code, Some(1), "{}\n{}", run.stdout, run.stderr);
    assert_eq!(
        run.stderr,
        "✚ generating HelmRelease\n► applying HelmRelease\n✔ HelmRelease created\n\
         ◎ waiting for HelmRelease reconciliation\n\
         Error: HelmRelease reconciliation failed: 'HelmChart/flux-system/flux-system-missing \
         is not ready: invalid chart reference: no chart found at path 'charts/absent' in the source'\n"
    );
    stack.shutdown().await;
}
