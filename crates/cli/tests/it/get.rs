//! `ferroflux get` as a user runs it: flux's columns and messages, the
//! namespace flags, filters, `-o yaml|json`, `--watch`, and the one-line
//! errors for what is not there.

use std::process::Stdio;

use ferroflux_cli::kinds;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::cluster::{Cluster, ferroflux, ready};

const SHA: &str = "44157ecd84c0d78b17e4d7b43f2a7bb316372d6c";

async fn fixture() -> Cluster {
    let c = Cluster::start().await;
    c.create(
        &kinds::GIT_REPOSITORY,
        "flux-system",
        "podinfo",
        json!({"url": "https://github.com/stefanprodan/podinfo", "interval": "1m", "ref": {"branch": "master"}}),
        json!({
            "artifact": {"revision": format!("master@sha1:{SHA}"), "path": "p", "url": "http://x/p",
                         "digest": "sha256:00", "lastUpdateTime": "2026-01-01T00:00:00Z"},
            "conditions": ready("True", "Succeeded", &format!("stored artifact for revision 'master@sha1:{SHA}'")),
        }),
    )
    .await;
    c.create(
        &kinds::KUSTOMIZATION,
        "flux-system",
        "apps",
        json!({"interval": "10m", "path": "./apps", "prune": true, "suspend": true,
               "sourceRef": {"kind": "GitRepository", "name": "podinfo"}}),
        json!({
            "lastAppliedRevision": format!("master@sha1:{SHA}"),
            "conditions": ready("False", "BuildFailed", "kustomization path not found"),
        }),
    )
    .await;
    c.create(
        &kinds::KUSTOMIZATION,
        "flux-system",
        "infra",
        json!({"interval": "10m", "path": "./infra", "prune": true,
               "sourceRef": {"kind": "GitRepository", "name": "podinfo"}}),
        json!({
            "lastAppliedRevision": format!("master@sha1:{SHA}"),
            "conditions": ready("True", "ReconciliationSucceeded", &format!("Applied revision: master@sha1:{SHA}")),
        }),
    )
    .await;
    // Another namespace, not ready yet (no status).
    c.create(
        &kinds::KUSTOMIZATION,
        "apps",
        "tenant",
        json!({"interval": "10m", "path": "./", "prune": false,
               "sourceRef": {"kind": "GitRepository", "name": "podinfo", "namespace": "flux-system"}}),
        json!({}),
    )
    .await;
    c.create(
        &kinds::HELM_RELEASE,
        "apps",
        "web",
        json!({"interval": "5m", "chart": {"spec": {"chart": "podinfo",
               "sourceRef": {"kind": "HelmRepository", "name": "podinfo", "namespace": "flux-system"}}}}),
        json!({
            "history": [{"chartVersion": "6.5.4", "chartName": "podinfo", "name": "web", "namespace": "apps",
                         "version": 1, "status": "deployed", "digest": "sha256:00", "configDigest": "sha256:00",
                         "firstDeployed": "2026-01-01T00:00:00Z", "lastDeployed": "2026-01-01T00:00:00Z"}],
            "conditions": ready("True", "InstallSucceeded", "Helm install succeeded for release apps/web.v1 with chart podinfo@6.5.4"),
        }),
    )
    .await;
    c.create(
        &kinds::PROVIDER,
        "flux-system",
        "slack",
        json!({"type": "slack", "channel": "general"}),
        json!({}),
    )
    .await;
    c
}

#[tokio::test(flavor = "multi_thread")]
async fn get_prints_fluxs_columns_and_filters() {
    let c = fixture().await;

    let run = c.ferroflux(&["get", "sources", "git"]).await;
    run.assert_ok();
    assert_eq!(
        run.stdout,
        "NAME   \tREVISION            \tSUSPENDED\tREADY\tMESSAGE\n\
         podinfo\tmaster@sha1:44157ecd\tFalse    \tTrue \tstored artifact for revision 'master@sha1:44157ecd'\n"
    );

    let run = c.ferroflux(&["get", "ks"]).await;
    run.assert_ok();
    assert_eq!(
        run.stdout,
        "NAME \tREVISION            \tSUSPENDED\tREADY\tMESSAGE\n\
         apps \tmaster@sha1:44157ecd\tTrue     \tFalse\tkustomization path not found\n\
         infra\tmaster@sha1:44157ecd\tFalse    \tTrue \tApplied revision: master@sha1:44157ecd\n"
    );

    // -n, and an object no controller has seen yet.
    let run = c
        .ferroflux(&["get", "kustomizations", "-n", "apps", "--show-source"])
        .await;
    run.assert_ok();
    assert_eq!(
        run.stdout,
        "NAME  \tSOURCE                           \tREVISION\tSUSPENDED\tREADY\tMESSAGE\n\
         tenant\tGitRepository/flux-system/podinfo\t        \tFalse    \tFalse\twaiting to be reconciled\n"
    );

    // -A adds the namespace column; the HelmRelease's revision is its chart version.
    let run = c.ferroflux(&["get", "helmreleases", "-A"]).await;
    run.assert_ok();
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(
        lines[0].split('\t').map(str::trim).collect::<Vec<_>>(),
        [
            "NAMESPACE",
            "NAME",
            "REVISION",
            "SUSPENDED",
            "READY",
            "MESSAGE"
        ]
    );
    assert_eq!(
        lines[1]
            .split('\t')
            .map(str::trim)
            .take(5)
            .collect::<Vec<_>>(),
        ["apps", "web", "6.5.4", "False", "True"]
    );

    // --status-selector, both forms; --no-header.
    let run = c
        .ferroflux(&[
            "get",
            "ks",
            "--status-selector",
            "ready=false",
            "--no-header",
        ])
        .await;
    run.assert_ok();
    assert_eq!(names(&run.stdout), ["apps"]);
    let run = c
        .ferroflux(&[
            "get",
            "ks",
            "-A",
            "--status-selector",
            "Ready!=True",
            "--no-header",
        ])
        .await;
    run.assert_ok();
    assert_eq!(run.stdout.lines().count(), 2, "{}", run.stdout);
    let run = c
        .ferroflux(&["get", "ks", "--status-selector", "ready"])
        .await;
    assert_eq!(run.code, Some(1));
    assert!(
        run.stderr.contains("type=status or type!=status"),
        "{}",
        run.stderr
    );

    // Flux prints a status-less Provider as ready.
    let run = c.ferroflux(&["get", "alert-providers"]).await;
    run.assert_ok();
    assert_eq!(
        run.stdout,
        "NAME \tREADY\tMESSAGE\nslack\tTrue \tProvider is Ready\n"
    );
}

fn names(table: &str) -> Vec<String> {
    table
        .lines()
        .map(|l| l.split('\t').next().unwrap_or("").trim().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn get_all_lists_each_kind_with_its_kind_in_the_name() {
    let c = fixture().await;
    let run = c.ferroflux(&["get", "all"]).await;
    run.assert_ok();
    let sections: Vec<&str> = run
        .stdout
        .split("\n\n")
        .filter(|s| !s.trim().is_empty())
        .collect();
    assert_eq!(
        sections.len(),
        3,
        "git, kustomizations, providers:\n{}",
        run.stdout
    );
    assert!(
        sections[0].contains("gitrepository/podinfo\tmaster@sha1:44157ecd"),
        "{}",
        run.stdout
    );
    assert_eq!(
        names(sections[1]),
        ["NAME", "kustomization/apps", "kustomization/infra"]
    );
    assert_eq!(names(sections[2]), ["NAME", "provider/slack"]);
    // Nothing of another namespace unless -A.
    assert!(!run.stdout.contains("helmrelease/web"), "{}", run.stdout);
    let run = c.ferroflux(&["get", "all", "-A"]).await;
    run.assert_ok();
    assert!(run.stdout.contains("helmrelease/web"), "{}", run.stdout);

    let run = c.ferroflux(&["get", "sources", "all", "--no-header"]).await;
    run.assert_ok();
    assert_eq!(names(&run.stdout), ["gitrepository/podinfo", ""]);
}

#[tokio::test(flavor = "multi_thread")]
async fn get_prints_objects_as_yaml_and_json() {
    let c = fixture().await;
    let run = c.ferroflux(&["get", "ks", "apps", "-o", "yaml"]).await;
    run.assert_ok();
    let obj: Value = serde_yaml::from_str(&run.stdout).expect("YAML");
    assert_eq!(obj["apiVersion"], "kustomize.toolkit.fluxcd.io/v1");
    assert_eq!(obj["kind"], "Kustomization");
    assert_eq!(obj["spec"]["path"], "./apps");
    assert_eq!(obj["status"]["conditions"][0]["reason"], "BuildFailed");
    assert!(obj["metadata"].get("managedFields").is_none());

    let run = c.ferroflux(&["get", "all", "-A", "-o", "json"]).await;
    run.assert_ok();
    let list: Value = serde_json::from_str(&run.stdout).expect("JSON");
    assert_eq!(list["kind"], "List");
    let mut got: Vec<String> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            format!(
                "{}/{}",
                o["kind"].as_str().unwrap(),
                o["metadata"]["name"].as_str().unwrap()
            )
        })
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            "GitRepository/podinfo",
            "HelmRelease/web",
            "Kustomization/apps",
            "Kustomization/infra",
            "Kustomization/tenant",
            "Provider/slack"
        ]
    );

    // The output applies back as it is (kubectl is a real client of testenv).
    let run = c
        .ferroflux(&["get", "sources", "git", "podinfo", "-o", "yaml"])
        .await;
    run.assert_ok();
    let mut child = tokio::process::Command::new("kubectl")
        .args(["--kubeconfig"])
        .arg(c.env.kubeconfig_path())
        .args(["apply", "--server-side", "--force-conflicts", "-f", "-"])
        .env("KUBECACHEDIR", tempfile::tempdir().unwrap().path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kubectl is installed (hack/install-peers)");
    use tokio::io::AsyncWriteExt;
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(run.stdout.as_bytes()).await.unwrap();
    drop(stdin);
    let out = child.wait_with_output().await.unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains("gitrepository.source.toolkit.fluxcd.io/podinfo")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn get_names_what_is_missing_in_one_line() {
    let c = fixture().await;
    let run = c.ferroflux(&["get", "ks", "nope"]).await;
    assert_eq!(run.code, Some(1));
    assert_eq!(
        run.stderr,
        "Error: Kustomization object 'nope' not found in \"flux-system\" namespace\n"
    );
    let run = c.ferroflux(&["get", "ks", "nope", "-A"]).await;
    assert_eq!(
        run.stderr,
        "Error: Kustomization object 'nope' not found in any namespace\n"
    );
    let run = c.ferroflux(&["get", "receivers"]).await;
    assert_eq!(run.code, Some(1));
    assert_eq!(
        run.stderr,
        "Error: no Receiver objects found in \"flux-system\" namespace\n"
    );
    let run = c.ferroflux(&["get", "ks", "nope", "-o", "json"]).await;
    assert_eq!(run.code, Some(1));
    assert!(run.stderr.contains("'nope' not found"), "{}", run.stderr);
    // An unknown kind is refused by the parser, naming what it accepts.
    let run = c.ferroflux(&["get", "deployments"]).await;
    assert_eq!(run.code, Some(2));
    assert!(
        run.stderr.contains("unrecognized subcommand 'deployments'"),
        "{}",
        run.stderr
    );
    // Names and namespaces are DNS names: nothing else reaches the API.
    for args in [
        &["get", "ks", "../../secrets"][..],
        &["reconcile", "ks", "a/b"][..],
        &["suspend", "ks", "ok", "Bad"][..],
        &["tree", "ks", "x?y"][..],
        &["get", "ks", "-n", "../kube-system"][..],
    ] {
        let run = c.ferroflux(args).await;
        assert_eq!(run.code, Some(2), "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains("invalid value"), "{}", run.stderr);
    }
    let run = c
        .ferroflux(&["events", "--for", "Kustomization/../x"])
        .await;
    assert_eq!(run.code, Some(1));
    assert!(run.stderr.contains("is not a valid name"), "{}", run.stderr);
    let run = c.ferroflux(&["get", "all", "--watch"]).await;
    assert_eq!(run.code, Some(1));
    assert!(
        run.stderr.contains("expected a single resource type"),
        "{}",
        run.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn connection_flags_choose_the_cluster_and_namespace() {
    let c = fixture().await;
    // A closed port: the error names the server.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let dir = tempfile::tempdir().unwrap();
    let token = c.env.token();
    let kubeconfig = format!(
        "apiVersion: v1\nkind: Config\ncurrent-context: dead\n\
         clusters:\n- name: dead\n  cluster:\n    server: http://127.0.0.1:{closed}\n\
         - name: live\n  cluster:\n    server: {}\n\
         contexts:\n- name: dead\n  context: {{cluster: dead, user: admin}}\n\
         - name: live\n  context: {{cluster: live, user: admin, namespace: apps}}\n\
         users:\n- name: admin\n  user:\n    token: {token}\n",
        c.env.url()
    );
    let path = dir.path().join("config");
    std::fs::write(&path, kubeconfig).unwrap();

    let run = ferroflux(&path, &["get", "ks"]).await;
    assert_eq!(run.code, Some(1));
    assert!(
        run.stderr.contains(&format!(
            "cannot reach the Kubernetes API server at http://127.0.0.1:{closed}"
        )),
        "{}",
        run.stderr
    );
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);

    // --context picks the live cluster; flux-system stays the default namespace.
    let run = ferroflux(&path, &["get", "ks", "--context", "live", "--no-header"]).await;
    run.assert_ok();
    assert_eq!(names(&run.stdout), ["apps", "infra"]);
    // ... unless the context's namespace is asked for.
    let run = ferroflux(
        &path,
        &[
            "get",
            "ks",
            "--context",
            "live",
            "--ns-follows-kube-context",
            "--no-header",
        ],
    )
    .await;
    run.assert_ok();
    assert_eq!(names(&run.stdout), ["tenant"]);
    // --kubeconfig wins over KUBECONFIG.
    let run = ferroflux(
        std::path::Path::new("/nonexistent"),
        &[
            "get",
            "ks",
            "--kubeconfig",
            path.to_str().unwrap(),
            "--context",
            "live",
            "-n",
            "apps",
            "--no-header",
        ],
    )
    .await;
    run.assert_ok();
    assert_eq!(names(&run.stdout), ["tenant"]);

    let run = ferroflux(&path, &["get", "ks", "--context", "nope"]).await;
    assert_eq!(run.code, Some(1));
    assert!(
        run.stderr.contains("context \"nope\" does not exist"),
        "{}",
        run.stderr
    );
    let run = ferroflux(&path, &["get", "ks", "--timeout", "soon"]).await;
    assert_eq!(run.code, Some(2));
    assert!(run.stderr.contains("invalid duration"), "{}", run.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn get_watch_prints_each_change() {
    let c = fixture().await;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_ferroflux"))
        .args(["get", "ks", "infra", "--watch", "--timeout", "2m"])
        .env("KUBECONFIG", c.env.kubeconfig_path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let header = lines.next_line().await.unwrap().expect("a header");
    assert!(header.starts_with("NAME "), "{header}");
    let first = lines.next_line().await.unwrap().expect("the object");
    assert!(first.contains("\tTrue \tApplied revision"), "{first}");
    c.set_status(
        &kinds::KUSTOMIZATION,
        "flux-system",
        "infra",
        json!({"conditions": ready("False", "HealthCheckFailed", "timeout waiting for: [Deployment/apps/web]")}),
    )
    .await;
    let changed = lines.next_line().await.unwrap().expect("the change");
    assert!(changed.starts_with("infra"), "{changed}");
    assert!(
        changed.contains("False\ttimeout waiting for: [Deployment/apps/web]"),
        "{changed}"
    );
    // Other objects' changes are not printed.
    c.set_status(
        &kinds::KUSTOMIZATION,
        "flux-system",
        "apps",
        json!({"lastAppliedRevision": "x"}),
    )
    .await;
    c.set_status(
        &kinds::KUSTOMIZATION,
        "flux-system",
        "infra",
        json!({"lastAppliedRevision": "main@sha1:abc"}),
    )
    .await;
    let next = lines.next_line().await.unwrap().expect("the next change");
    assert!(
        next.starts_with("infra") && next.contains("main@sha1:abc"),
        "{next}"
    );
    child.kill().await.unwrap();
}
